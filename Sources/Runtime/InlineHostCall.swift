/// The cheapest form of an asynchronous host function's inline attempt: a C function and the
/// object it works on, called by the module's host stub itself (`HostContextLayout.inlineEntry`)
/// with the caller's memory and the call's slots, before anything else of the host-call
/// machinery runs.
///
/// A closure `attempt` (`AsyncHostFunction.attempt`) is reached through the host function's box,
/// the calling instance, a `Caller` and a `HostSlots`: a few retains and releases, closure
/// contexts and dynamic checks, about a hundred nanoseconds a call. That is nothing next to a
/// park, but it is most of what separates a guest's 4 KiB page-cached read from a native one
/// (issue 17). This form costs two loads and an indirect call: the entry reads its arguments from
/// the slots itself and, when it finishes the call, writes its results there itself.
///
/// The contract is `attempt`'s: the entry runs on the guest's fiber (so it may touch guest
/// memory), must never block, and either finishes the call — stores every result (result `i` in
/// slot `i`, 8 bytes each, an i32 zero-extended) and returns true — or changes nothing the guest
/// can see and returns false, and the function's body runs as usual. Functions whose signature
/// has a v128 cannot have one (their slots are not one per value).
public struct InlineHostCall: @unchecked Sendable {  // `target` is only ever passed back to `entry`
    /// (target, the caller's memory base (nil: it has none), its size in bytes, the call's
    /// argument-and-result slots) -> whether the call finished.
    public typealias Entry = @convention(c) (
        _ target: UnsafeRawPointer, _ memoryBase: UnsafeMutableRawPointer?, _ memorySize: UInt64,
        _ slots: UnsafeMutablePointer<UInt64>
    ) -> Bool

    public let entry: Entry
    /// What `entry` receives as its first argument, unretained: the host function keeps it alive
    /// for as long as any module can call it.
    public let target: AnyObject

    public init(entry: Entry, target: AnyObject) {
        self.entry = entry
        self.target = target
    }
}
