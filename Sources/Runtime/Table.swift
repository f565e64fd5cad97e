import Glibc
import RuntimeABI
import WasmCore

/// A table of references. Generated code reads it through a `TableLayout` block (elements pointer
/// and size), which stays put while the element storage may be reallocated on growth.
public final class Table: @unchecked Sendable {  // used by one thread at a time, with its store
    public let type: TableType
    let block: UnsafeMutableRawPointer
    private(set) var elements: UnsafeMutablePointer<UInt64>
    private var capacity: Int
    let maximum: UInt64
    /// The id of the store whose instance made this table (nil: made by the host). Its funcrefs
    /// point into that store's instances, so only that store may import it.
    var storeID: UInt64?
    /// Growth beyond this many elements is refused (as the spec allows), so a hostile
    /// `table.grow` cannot make the host allocate gigabytes.
    static let hardLimit: UInt64 = 10_000_000

    public init(type: TableType) throws {
        self.type = type
        maximum = min(type.limits.max ?? UInt64(UInt32.max), Self.hardLimit)
        guard type.limits.min <= maximum else { throw RuntimeError("table of \(type.limits.min) elements is too large") }
        capacity = max(Int(type.limits.min), 1)
        elements = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        elements.initialize(repeating: 0, count: capacity)
        block = UnsafeMutableRawPointer.allocate(byteCount: TableLayout.byteSize, alignment: 16)
        block.storeBytes(of: UInt(bitPattern: elements), toByteOffset: TableLayout.elements, as: UInt.self)
        block.storeBytes(of: type.limits.min, toByteOffset: TableLayout.size, as: UInt64.self)
    }

    deinit {
        elements.deallocate()
        block.deallocate()
    }

    public var size: UInt64 { block.load(fromByteOffset: TableLayout.size, as: UInt64.self) }

    func setSize(_ n: UInt64) { block.storeBytes(of: n, toByteOffset: TableLayout.size, as: UInt64.self) }

    var elementType: ValueType { type.elementType.valueType }

    public func get(_ index: UInt64) -> Value? {
        guard index < size else { return nil }
        return Value(slot: elements[Int(index)], type: elementType)
    }

    @discardableResult
    public func set(_ index: UInt64, _ value: Value) -> Bool {
        guard index < size else { return false }
        elements[Int(index)] = value.slot
        return true
    }

    /// The old size, or nil when the table cannot grow that far.
    func grow(by delta: UInt64, initial: UInt64) -> UInt64? {
        let old = size
        guard delta <= maximum, old + delta <= maximum else { return nil }
        let new = Int(old + delta)
        if new > capacity {
            let newCapacity = max(new, capacity * 2)
            let storage = UnsafeMutablePointer<UInt64>.allocate(capacity: newCapacity)
            storage.initialize(from: elements, count: Int(old))
            (storage + Int(old)).initialize(repeating: 0, count: newCapacity - Int(old))
            elements.deallocate()
            elements = storage
            capacity = newCapacity
            block.storeBytes(of: UInt(bitPattern: elements), toByteOffset: TableLayout.elements, as: UInt.self)
        }
        for i in Int(old)..<new { elements[i] = initial }
        setSize(UInt64(new))
        return old
    }

    func fill(_ start: UInt64, _ value: UInt64, count: UInt64) -> Bool {
        guard start <= size, count <= size - start else { return false }
        for i in 0..<Int(count) { elements[Int(start) + i] = value }
        return true
    }

    func write(_ start: UInt64, _ values: ArraySlice<UInt64>) -> Bool {
        let count = UInt64(values.count)
        guard start <= size, count <= size - start else { return false }
        for (i, v) in values.enumerated() { elements[Int(start) + i] = v }
        return true
    }

    static func copy(from source: Table, _ s: UInt64, to destination: Table, _ d: UInt64, count: UInt64) -> Bool {
        guard s <= source.size, count <= source.size - s, d <= destination.size, count <= destination.size - d else { return false }
        (destination.elements + Int(d)).update(from: source.elements + Int(s), count: Int(count))
        return true
    }
}
