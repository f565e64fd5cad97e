/// A WebAssembly 2.0 value type: the four number types, the 128-bit vector and the two reference types.
public enum ValueType: UInt8, Sendable, Hashable, CustomStringConvertible {
    case i32 = 0x7F
    case i64 = 0x7E
    case f32 = 0x7D
    case f64 = 0x7C
    case v128 = 0x7B
    case funcref = 0x70
    case externref = 0x6F

    public var isReference: Bool { self == .funcref || self == .externref }
    public var isNumeric: Bool { !isReference && self != .v128 }

    public var description: String {
        switch self {
        case .i32: "i32"
        case .i64: "i64"
        case .f32: "f32"
        case .f64: "f64"
        case .v128: "v128"
        case .funcref: "funcref"
        case .externref: "externref"
        }
    }

    /// Shared one-element arrays, so a block typed by a single value type does not allocate.
    public var asList: [ValueType] {
        switch self {
        case .i32: Self.listI32
        case .i64: Self.listI64
        case .f32: Self.listF32
        case .f64: Self.listF64
        case .v128: Self.listV128
        case .funcref: Self.listFuncref
        case .externref: Self.listExternref
        }
    }
    private static let listI32: [ValueType] = [.i32]
    private static let listI64: [ValueType] = [.i64]
    private static let listF32: [ValueType] = [.f32]
    private static let listF64: [ValueType] = [.f64]
    private static let listV128: [ValueType] = [.v128]
    private static let listFuncref: [ValueType] = [.funcref]
    private static let listExternref: [ValueType] = [.externref]
}

/// The reference types of WebAssembly 2.0 (a subset of `ValueType`).
public enum RefType: UInt8, Sendable, Hashable, CustomStringConvertible {
    case funcref = 0x70
    case externref = 0x6F

    public var valueType: ValueType { self == .funcref ? .funcref : .externref }
    public var description: String { valueType.description }
}
