import WasmCore

/// A reference to a function as generated code sees it: the address of its `FuncRefLayout` record.
public struct FunctionReference: Hashable, Sendable {
    public let address: UInt
    public init(address: UInt) { self.address = address }
}

/// A WebAssembly value crossing between Swift and generated code.
///
/// Floats are carried as bit patterns so NaN payloads survive. In a slot (8 bytes), i32 and f32 use
/// the low half; a null reference is 0; an externref is stored as its value plus one.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case i32(UInt32)
    case i64(UInt64)
    case f32(bits: UInt32)
    case f64(bits: UInt64)
    case funcref(FunctionReference?)
    case externref(UInt64?)

    public var type: ValueType {
        switch self {
        case .i32: .i32
        case .i64: .i64
        case .f32: .f32
        case .f64: .f64
        case .funcref: .funcref
        case .externref: .externref
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
        case .v128: preconditionFailure("v128 values do not cross the host boundary yet")
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
        }
    }
}
