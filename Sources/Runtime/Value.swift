import WasmCore

/// A reference to a function as generated code sees it: the address of its `FuncRefLayout` record.
public struct FunctionReference: Hashable, Sendable {
    public let address: UInt
    public init(address: UInt) { self.address = address }
}

/// A WebAssembly value crossing between Swift and generated code.
///
/// Floats are carried as bit patterns so NaN payloads survive. In a slot (8 bytes), i32 and f32 use
/// the low half; a null reference is 0; an externref is stored as its value plus one. A v128 takes
/// two consecutive slots (low half first): see `ValueType.slotCount` and `Value.store(_:into:)`.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case i32(UInt32)
    case i64(UInt64)
    case f32(bits: UInt32)
    case f64(bits: UInt64)
    case funcref(FunctionReference?)
    case externref(UInt64?)
    case v128(V128)

    public var type: ValueType {
        switch self {
        case .i32: .i32
        case .i64: .i64
        case .f32: .f32
        case .f64: .f64
        case .funcref: .funcref
        case .externref: .externref
        case .v128: .v128
        }
    }

    /// The slot encoding.
    public var slot: UInt64 {
        switch self {
        case .i32(let v): UInt64(v)
        case .i64(let v): v
        case .f32(let bits): UInt64(bits)
        case .f64(let bits): bits
        case .funcref(let r): UInt64(r?.address ?? 0)
        case .externref(let v): v.map { $0 &+ 1 } ?? 0
        case .v128(let v): v.low  // the first of its two slots; see `store(_:into:)`
        }
    }

    public init(slot: UInt64, type: ValueType) {
        switch type {
        case .i32: self = .i32(UInt32(truncatingIfNeeded: slot))
        case .i64: self = .i64(slot)
        case .f32: self = .f32(bits: UInt32(truncatingIfNeeded: slot))
        case .f64: self = .f64(bits: slot)
        case .funcref: self = .funcref(slot == 0 ? nil : FunctionReference(address: UInt(slot)))
        case .externref: self = .externref(slot == 0 ? nil : slot &- 1)
        case .v128: self = .v128(V128(low: slot, high: 0))  // one slot holds only the low half: see `load(_:from:)`
        }
    }

    public var description: String {
        switch self {
        case .i32(let v): "i32:\(v)"
        case .i64(let v): "i64:\(v)"
        case .f32(let bits): "f32:\(Float(bitPattern: bits))"
        case .f64(let bits): "f64:\(Double(bitPattern: bits))"
        case .funcref(let r): r == nil ? "ref.null func" : "ref.func"
        case .externref(let v): v.map { "ref.extern \($0)" } ?? "ref.null extern"
        case .v128(let v): "v128:" + v.bytes.map { String($0, radix: 16) }.joined(separator: " ")
        }
    }
}

extension ValueType {
    /// How many 8-byte slots a value of this type takes where values cross between Swift and
    /// generated code (entry slots, host-function slots, a function's param/result area): two
    /// for v128, one for everything else.
    public var slotCount: Int { self == .v128 ? 2 : 1 }
}

extension Value {
    /// Slots that `types` take, laid out one after another.
    public static func slotCount(_ types: [ValueType]) -> Int { types.reduce(0) { $0 + $1.slotCount } }

    /// Writes `values` into consecutive slots (a v128 into two, low half first).
    public static func store(_ values: [Value], into slots: UnsafeMutablePointer<UInt64>) {
        var at = 0
        for value in values {
            if case .v128(let v) = value {
                slots[at] = v.low
                slots[at + 1] = v.high
                at += 2
            } else {
                slots[at] = value.slot
                at += 1
            }
        }
    }

    /// Reads values of `types` from consecutive slots (the layout `store(_:into:)` writes).
    public static func load(_ types: [ValueType], from slots: UnsafePointer<UInt64>) -> [Value] {
        var at = 0
        return types.map { type in
            defer { at += type.slotCount }
            if type == .v128 { return .v128(V128(low: slots[at], high: slots[at + 1])) }
            return Value(slot: slots[at], type: type)
        }
    }

    /// Reads a value stored at `address` in a global's 16-byte storage layout.
    static func load(_ type: ValueType, at address: UnsafeRawPointer) -> Value {
        if type == .v128 {
            return .v128(V128(low: address.load(as: UInt64.self), high: address.load(fromByteOffset: 8, as: UInt64.self)))
        }
        return Value(slot: address.load(as: UInt64.self), type: type)
    }

    /// Writes the value at `address` (16 bytes for v128, else one slot).
    func store(at address: UnsafeMutableRawPointer) {
        if case .v128(let v) = self {
            address.storeBytes(of: v.low, as: UInt64.self)
            address.storeBytes(of: v.high, toByteOffset: 8, as: UInt64.self)
        } else {
            address.storeBytes(of: slot, as: UInt64.self)
        }
    }
}
