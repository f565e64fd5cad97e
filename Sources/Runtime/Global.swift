import WasmCore

/// A global's storage: inline in its defining instance's vmctx; importers hold its address.
public final class Global: @unchecked Sendable {  // used by one thread at a time, with its store
    public let type: GlobalType
    let address: UnsafeMutableRawPointer
    /// Keeps the storage's owner (the defining instance) alive.
    let owner: AnyObject
    /// The id of the owner's store: the storage is in its vmctx, in a region slot that goes to
    /// another tenant when that store goes away, so only that store may import the global.
    let storeID: UInt64

    init(type: GlobalType, address: UnsafeMutableRawPointer, owner: AnyObject, storeID: UInt64) {
        self.type = type
        self.address = address
        self.owner = owner
        self.storeID = storeID
    }

    public var value: Value {
        get { Value(slot: address.load(as: UInt64.self), type: type.valueType) }
        set {
            precondition(newValue.type == type.valueType, "global of type \(type.valueType) set to \(newValue)")
            address.storeBytes(of: newValue.slot, as: UInt64.self)
        }
    }
}
