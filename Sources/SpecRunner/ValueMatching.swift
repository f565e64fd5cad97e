import Runtime
import WAT
import WasmCore

/// Conversions between the text format's constants and runtime values, and the spec's result
/// patterns (NaN classes, reference expectations).
enum ValueMatching {
    /// A script argument as a runtime value; nil for a reference the caller cannot resolve.
    static func value(_ constant: WASTConstValue, function: (UInt32) -> Value?) -> Value? {
        switch constant {
        case .i32(let v): .i32(v)
        case .i64(let v): .i64(v)
        case .f32(let v): .f32(bits: v)
        case .f64(let v): .f64(bits: v)
        case .v128(let v): .v128(v128(v.bytes))
        case .refNull(let heap): heap == .abstract(.funcRef) ? .funcref(nil) : .externref(nil)
        case .refFunc(let index): function(index)
        case .refExtern(let v): .externref(UInt64(v))
        case .refHost(let v): .externref(UInt64(v))
        }
    }

    /// Whether `actual` satisfies `expected`.
    static func matches(_ actual: Value, _ expected: WASTExpectValue) -> Bool {
        switch (expected, actual) {
        case (.i32(let e), .i32(let a)): return e == a
        case (.i64(let e), .i64(let a)): return e == a
        case (.f32(let e), .f32(let a)): return e == a
        case (.f64(let e), .f64(let a)): return e == a
        case (.f32CanonicalNaN, .f32(let a)): return a & 0x7FFF_FFFF == 0x7FC0_0000
        case (.f32ArithmeticNaN, .f32(let a)): return a & 0x7FC0_0000 == 0x7FC0_0000
        case (.f64CanonicalNaN, .f64(let a)): return a & 0x7FFF_FFFF_FFFF_FFFF == 0x7FF8_0000_0000_0000
        case (.f64ArithmeticNaN, .f64(let a)):
            return a & 0x7FF8_0000_0000_0000 == 0x7FF8_0000_0000_0000
        case (.refNull(let heap), .funcref(let r)):
            return r == nil && (heap == nil || heap == .abstract(.funcRef))
        case (.refNull(let heap), .externref(let r)):
            return r == nil && (heap == nil || heap == .abstract(.externRef))
        case (.refFunc(let index), .funcref(let r)):
            return r != nil && index == nil  // a specific index cannot be told from a pointer
        case (.refExtern(let v), .externref(let r)):
            guard let r else { return false }
            return v.map { UInt64($0) == r } ?? true
        case (.v128(let e), .v128(let a)):
            return a == v128(e.bytes)
        case (.v128Pattern(let pattern), .v128(let a)):
            return matches(a, pattern)
        case (.either(let options), _):
            return options.contains { matches(actual, $0) }
        default:
            return false
        }
    }

    static func v128(_ bytes: [UInt8]) -> WasmCore.V128 {
        var low: UInt64 = 0, high: UInt64 = 0
        for i in 0..<8 {
            low |= UInt64(bytes[i]) << UInt64(8 * i)
            high |= UInt64(bytes[i + 8]) << UInt64(8 * i)
        }
        return WasmCore.V128(low: low, high: high)
    }

    /// A v128 against a float-lane pattern: lanes marked NaN must hold a NaN, the others the
    /// exact bits. The text parser keeps one mask bit for both `nan:canonical` and
    /// `nan:arithmetic`, so a NaN lane is checked as arithmetic (quiet bit set), which a canonical
    /// NaN also is: a canonical expectation is checked less strictly than the spec's.
    static func matches(_ actual: WasmCore.V128, _ pattern: V128Expectation) -> Bool {
        let bytes = actual.bytes
        let laneSize = pattern.shape == .f64x2 ? 8 : 4
        for lane in 0..<(16 / laneSize) {
            let range = (lane * laneSize)..<((lane + 1) * laneSize)
            if pattern.nanLaneMask & (1 << UInt8(lane)) != 0 {
                var bits: UInt64 = 0
                for (i, b) in bytes[range].enumerated() { bits |= UInt64(b) << UInt64(8 * i) }
                let quiet = laneSize == 8
                    ? bits & 0x7FF8_0000_0000_0000 == 0x7FF8_0000_0000_0000
                    : bits & 0x7FC0_0000 == 0x7FC0_0000
                if !quiet { return false }
            } else if Array(bytes[range]) != Array(pattern.bytes[range]) {
                return false
            }
        }
        return true
    }

    static func describe(_ values: [Value]) -> String {
        "[" + values.map { "\($0)" }.joined(separator: ", ") + "]"
    }
}
