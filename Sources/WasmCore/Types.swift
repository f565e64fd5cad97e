/// A function signature.
public struct FuncType: Sendable, Hashable, CustomStringConvertible {
    public var params: [ValueType]
    public var results: [ValueType]

    public init(params: [ValueType], results: [ValueType]) {
        self.params = params
        self.results = results
    }

    public var description: String {
        "[\(params.map(\.description).joined(separator: " "))] -> [\(results.map(\.description).joined(separator: " "))]"
    }
}

/// Size limits of a memory (in 64 KiB pages) or a table (in elements).
public struct Limits: Sendable, Hashable {
    public var min: UInt64
    public var max: UInt64?

    public init(min: UInt64, max: UInt64? = nil) {
        self.min = min
        self.max = max
    }
}

public struct MemoryType: Sendable, Hashable {
    public var limits: Limits
    public init(limits: Limits) { self.limits = limits }

    /// 65,536 pages of 64 KiB: the whole 32-bit address space.
    public static let maxPages: UInt64 = 65_536
    public static let pageSize: Int = 65_536
}

public struct TableType: Sendable, Hashable {
    public var elementType: RefType
    public var limits: Limits
    public init(elementType: RefType, limits: Limits) {
        self.elementType = elementType
        self.limits = limits
    }
}

public struct GlobalType: Sendable, Hashable {
    public var valueType: ValueType
    public var isMutable: Bool
    public init(valueType: ValueType, isMutable: Bool) {
        self.valueType = valueType
        self.isMutable = isMutable
    }
}

/// The kind of an import or export.
public enum ExternalKind: UInt8, Sendable, Hashable {
    case function = 0
    case table = 1
    case memory = 2
    case global = 3
}

/// The type of a block: empty, one result, or a function type given by index (multi-value).
public enum BlockType: Sendable, Hashable {
    case empty
    case value(ValueType)
    case typeIndex(UInt32)
}

/// The 16 bytes of a v128 constant or shuffle mask, in memory (little-endian) order.
public struct V128: Sendable, Hashable {
    public var low: UInt64
    public var high: UInt64
    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    public var bytes: [UInt8] {
        var result = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            result[i] = UInt8(truncatingIfNeeded: low >> UInt64(8 * i))
            result[i + 8] = UInt8(truncatingIfNeeded: high >> UInt64(8 * i))
        }
        return result
    }
}
