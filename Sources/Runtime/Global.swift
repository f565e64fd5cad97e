import WasmCore

/// A global's storage: inline in its defining instance's vmctx; importers hold its address.
public final class Global: @unchecked Sendable {  // used by one thread at a time, with its store
    public let type: GlobalType
    let address: UnsafeMutableRawPointer
    /// What keeps the storage alive: the defining instance's store, for a global handed to the
    /// host by `Instance.export` (the store owns the instance and its slot). Nil for the store's
    /// own references (its instances' `globals`): those holding the store would be a cycle, and
    /// the store leaked with every memory and slot of its instances.
    let keepAlive: AnyObject?
    /// The id of the owner's store: the storage is in its vmctx, in a region slot that goes to
    /// another tenant when that store goes away, so only that store may import the global.
    let storeID: UInt64

    init(type: GlobalType, address: UnsafeMutableRawPointer, keepAlive: AnyObject?, storeID: UInt64) {
        self.type = type
        self.address = address
        self.keepAlive = keepAlive
        self.storeID = storeID
    }

    /// The same storage, without keeping anything alive (for the store's own references).
    var unretained: Global { Global(type: type, address: address, keepAlive: nil, storeID: storeID) }

    public var value: Value {
        get { Value.load(type.valueType, at: address) }
        set {
            precondition(newValue.type == type.valueType, "global of type \(type.valueType) set to \(newValue)")
            newValue.store(at: address)
        }
    }
}
