import Runtime
import WAT

/// Conversions between the text format's constants and runtime values, and the spec's result
/// patterns (NaN classes, reference expectations).
enum ValueMatching {
    /// A script argument as a runtime value; nil for values Shoal does not run (v128).
    static func value(_ constant: WASTConstValue, function: (UInt32) -> Value?) -> Value? {
        switch constant {
        case .i32(let v): .i32(v)
        case .i64(let v): .i64(v)
        case .f32(let v): .f32(bits: v)
        case .f64(let v): .f64(bits: v)
        case .v128: nil
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
        case (.either(let options), _):
            return options.contains { matches(actual, $0) }
        default:
            return false
        }
    }

    static func describe(_ values: [Value]) -> String {
        "[" + values.map { "\($0)" }.joined(separator: ", ") + "]"
    }
}
