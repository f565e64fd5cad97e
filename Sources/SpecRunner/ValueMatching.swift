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

    /// A v128 against a float-lane pattern: lanes marked NaN must hold an arithmetic NaN (quiet
    /// bit set), or the canonical NaN (either sign) where `canonical` has the lane's bit; the
    /// other lanes the exact bits.
    /// For each float-shaped `v128.const` among an `assert_return`'s expected results (in order:
    /// the parser turns each into a `.v128Pattern`), the lanes written `nan:canonical`. The text
    /// parser drops that distinction, so it is read back from the directive's text here.
    static func canonicalNaNLanes(assertReturn text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard let found = text.range(of: "assert_return") else { return [] }
        let start = text.utf8.distance(from: text.utf8.startIndex, to: found.upperBound)
        // Skip the invoke/get s-expression: the results follow it.
        var i = start
        while i < bytes.count && bytes[i] != UInt8(ascii: "(") { i += 1 }
        var depth = 0
        var inString = false
        while i < bytes.count {
            let c = bytes[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 1 } else if c == UInt8(ascii: "\"") { inString = false }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "(") {
                depth += 1
            } else if c == UInt8(ascii: ")") {
                depth -= 1
                if depth == 0 { break }
            }
            i += 1
        }
        let rest = String(decoding: bytes[min(i + 1, bytes.count)...], as: UTF8.self)
        let tokens = rest.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" || $0 == ")" || $0 == "\r" })
        var masks: [UInt8] = []
        var k = 0
        while k < tokens.count {
            defer { k += 1 }
            guard tokens[k] == "v128.const", k + 1 < tokens.count else { continue }
            let lanes = tokens[k + 1] == "f32x4" ? 4 : tokens[k + 1] == "f64x2" ? 2 : 0
            guard lanes > 0 else { continue }
            var mask: UInt8 = 0
            for lane in 0..<lanes where k + 2 + lane < tokens.count && tokens[k + 2 + lane] == "nan:canonical" {
                mask |= 1 << UInt8(lane)
            }
            masks.append(mask)
            k += 1 + lanes
        }
        return masks
    }

    static func matches(_ actual: WasmCore.V128, _ pattern: V128Expectation, canonical: UInt8 = 0) -> Bool {
        let bytes = actual.bytes
        let laneSize = pattern.shape == .f64x2 ? 8 : 4
        for lane in 0..<(16 / laneSize) {
            let range = (lane * laneSize)..<((lane + 1) * laneSize)
            if pattern.nanLaneMask & (1 << UInt8(lane)) != 0 {
                var bits: UInt64 = 0
                for (i, b) in bytes[range].enumerated() { bits |= UInt64(b) << UInt64(8 * i) }
                let ok: Bool
                if canonical & (1 << UInt8(lane)) != 0 {
                    ok = laneSize == 8
                        ? bits & 0x7FFF_FFFF_FFFF_FFFF == 0x7FF8_0000_0000_0000
                        : bits & 0x7FFF_FFFF == 0x7FC0_0000
                } else {
                    ok = laneSize == 8
                        ? bits & 0x7FF8_0000_0000_0000 == 0x7FF8_0000_0000_0000
                        : bits & 0x7FC0_0000 == 0x7FC0_0000
                }
                if !ok { return false }
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
