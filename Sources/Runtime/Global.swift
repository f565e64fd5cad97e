import WasmCore

/// A global's storage: inline in its defining instance's vmctx; importers hold its address.
public final class Global: @unchecked Sendable {  // used by one thread at a time, with its store
    public let type: GlobalType
    let address: UnsafeMutableRawPointer
    /// Keeps the storage's owner (the defining instance) alive.
    let owner: AnyObject

    init(type: GlobalType, address: UnsafeMutableRawPointer, owner: AnyObject) {
        self.type = type
        self.address = address
        self.owner = owner
    }

    public var value: Value {
        get { Value(slot: address.load(as: UInt64.self), type: type.valueType) }
        set {
            precondition(newValue.type == type.valueType, "global of type \(type.valueType) set to \(newValue)")
            address.storeBytes(of: newValue.slot, as: UInt64.self)
        }
    }
}
