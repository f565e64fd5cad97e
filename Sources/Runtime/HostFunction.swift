import RuntimeABI
import WasmCore

/// A function implemented in Swift that WebAssembly code can import.
public struct HostFunction: Sendable {
    public let type: FuncType
    public let body: @Sendable (Caller, [Value]) throws -> [Value]

    public init(type: FuncType, body: @escaping @Sendable (Caller, [Value]) throws -> [Value]) {
        self.type = type
        self.body = body
    }
}

/// A host function that finishes later: its body starts the work and returns; the instance parks
/// (its fiber switches out, no thread waits) until `completion` is delivered and the execution
/// resumed. It can only be called from code running in an `Execution`.
public struct AsyncHostFunction: Sendable {
    public let type: FuncType
    public let body: @Sendable (Caller, [Value], Completion) -> Void
    /// Tried first, if given: a synchronous attempt that reads the arguments straight from the
    /// call's slots and either finishes the call itself (stores its results with
    /// `HostSlots.setResult` and returns true) or changes nothing the guest can see and returns
    /// false, and `body` runs as usual.
    ///
    /// This is the path for work that usually completes at once (a read of page-cached data, a
    /// socket with bytes queued): it costs no `Completion`, no argument array and no park. The
    /// attempt runs on the guest's fiber, so it may touch guest memory; it must never block.
    public let attempt: (@Sendable (Caller, HostSlots) -> Bool)?
    /// The same kind of attempt in its cheapest form (see `InlineHostCall`), tried before
    /// `attempt`: for the calls a guest makes hundreds of thousands of times a second.
    public let inline: InlineHostCall?

    public init(type: FuncType, inline: InlineHostCall? = nil, attempt: (@Sendable (Caller, HostSlots) -> Bool)? = nil,
                body: @escaping @Sendable (Caller, [Value], Completion) -> Void) {
        precondition(inline == nil || !(type.params.contains(.v128) || type.results.contains(.v128)),
                     "an inline host call reads one slot per value: no v128")
        self.type = type
        self.inline = inline
        self.attempt = attempt
        self.body = body
    }
}

/// The argument and result slots of one host call, as the generated code laid them out: argument
/// `i` in slot `i` on entry, result `i` in slot `i` on return (8 bytes each; see `Value.slot`) —
/// unless the signature has a v128, which takes two slots (see `Value.store(_:into:)`); then
/// `v128Slots` gives each argument's and result's first slot.
/// Valid only during the call it was made for: it points into the calling guest's stack.
public struct HostSlots {
    let base: UnsafeMutablePointer<UInt64>
    let parameterCount: Int
    let resultTypes: [ValueType]
    /// Slot index of each param and each result, for a signature with a v128 (nil: index = slot).
    let v128Slots: (params: [Int], results: [Int])?

    init(base: UnsafeMutablePointer<UInt64>, parameterCount: Int, resultTypes: [ValueType],
         v128Slots: (params: [Int], results: [Int])? = nil) {
        self.base = base
        self.parameterCount = parameterCount
        self.resultTypes = resultTypes
        self.v128Slots = v128Slots
    }

    /// The raw slot of argument `index` (an i32 in its low half; a v128's low half).
    public subscript(index: Int) -> UInt64 {
        precondition(index >= 0 && index < parameterCount, "argument \(index) of \(parameterCount)")
        return base[v128Slots?.params[index] ?? index]
    }

    /// Stores result `index`; its type must be the function's result type there.
    public func setResult(_ index: Int, _ value: Value) {
        precondition(index >= 0 && index < resultTypes.count && resultTypes[index] == value.type,
                     "result \(index) of \(resultTypes) cannot be \(value.type)")
        let slot = v128Slots?.results[index] ?? index
        if case .v128(let v) = value {
            base[slot] = v.low
            base[slot + 1] = v.high
        } else {
            base[slot] = value.slot
        }
    }
}

/// What a host function sees of the instance that called it.
public struct Caller {
    /// The calling instance's memory, if it has one.
    public let memory: LinearMemory?

    /// Reads `count` bytes at a guest address, or nil if any of them is out of bounds.
    public func read(_ address: UInt32, count: UInt32) -> [UInt8]? {
        guard let memory, memory.contains(UInt64(address), count: UInt64(count)) else { return nil }
        return Array(UnsafeRawBufferPointer(rebasing: memory.bytes[Int(address)..<Int(address) + Int(count)]))
    }

    /// Writes bytes at a guest address; false (and nothing written) if out of bounds.
    @discardableResult
    public func write(_ address: UInt32, _ bytes: [UInt8]) -> Bool {
        guard let memory, memory.contains(UInt64(address), count: UInt64(bytes.count)) else { return false }
        bytes.withUnsafeBytes { memory.bytes.baseAddress!.advanced(by: Int(address)).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        return true
    }
}

/// The host context an import slot carries for a host function (see `HostContextLayout`): word 0
/// is the C entry the module's host stub calls, word 1 points back to this box, and words 2 and 3
/// are the function's `InlineHostCall` (entry and target; zero without one), which the stub
/// tries first.
final class HostFunctionBox: @unchecked Sendable {  // immutable after init but for the lazily made funcref
    let function: HostFunction
    let asyncBody: (@Sendable (Caller, [Value], Completion) -> Void)?
    let asyncAttempt: (@Sendable (Caller, HostSlots) -> Bool)?
    /// Keeps the inline call's target alive: the context holds it unretained.
    let inline: InlineHostCall?
    let context: UnsafeMutableRawPointer
    let typeID: UInt32
    /// Each param's and result's slot index when the signature has a v128 (see `HostSlots`).
    let v128Slots: (params: [Int], results: [Int])?
    /// `function.type`'s parameter count and result types, kept apart so that a call reads them
    /// without copying the type (two arrays, retained and released on every call).
    let parameterCount: Int
    let resultTypes: [ValueType]
    /// The funcref record for this function, made the first time a module imports it (its code is
    /// that module's host stub, which every module has).
    var funcRef: UnsafeMutableRawPointer?
    /// Keeps the module whose host stub the funcref uses alive.
    var stubOwner: LoadedModule?

    convenience init(_ function: AsyncHostFunction) {
        self.init(HostFunction(type: function.type) { _, _ in
            throw RuntimeError("an asynchronous host function was called outside an Execution")
        }, async: function.body, attempt: function.attempt, inline: function.inline)
    }

    init(_ function: HostFunction, async asyncBody: (@Sendable (Caller, [Value], Completion) -> Void)? = nil,
         attempt: (@Sendable (Caller, HostSlots) -> Bool)? = nil, inline: InlineHostCall? = nil) {
        self.function = function
        self.asyncBody = asyncBody
        self.asyncAttempt = attempt
        self.inline = inline
        typeID = TypeRegistry.id(of: function.type)
        let type = function.type
        parameterCount = type.params.count
        resultTypes = type.results
        if type.params.contains(.v128) || type.results.contains(.v128) {
            func indices(_ types: [ValueType]) -> [Int] {
                var at = 0
                return types.map { t in
                    defer { at += t.slotCount }
                    return at
                }
            }
            v128Slots = (indices(type.params), indices(type.results))
        } else {
            v128Slots = nil
        }
        context = UnsafeMutableRawPointer.allocate(byteCount: HostContextLayout.byteSize, alignment: 16)
        context.storeBytes(of: unsafeBitCast(hostEntry, to: UInt.self), toByteOffset: HostContextLayout.entry, as: UInt.self)
        context.storeBytes(of: UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()), toByteOffset: 8, as: UInt.self)
        context.storeBytes(of: inline.map { unsafeBitCast($0.entry, to: UInt.self) } ?? 0,
                           toByteOffset: HostContextLayout.inlineEntry, as: UInt.self)
        context.storeBytes(of: inline.map { UInt(bitPattern: Unmanaged.passUnretained($0.target).toOpaque()) } ?? 0,
                           toByteOffset: HostContextLayout.inlineTarget, as: UInt.self)
    }

    deinit {
        context.deallocate()
        funcRef?.deallocate()
    }

    func reference(stubFrom module: LoadedModule) -> UnsafeMutableRawPointer {
        if let funcRef { return funcRef }
        let record = FuncRefRecord.allocate(count: 1)
        FuncRefRecord(record).set(code: module.hostStub, vmctx: context, typeID: typeID)
        funcRef = record
        stubOwner = module
        return record
    }

    /// Runs the Swift body on slots (arguments in, results out); a thrown error becomes the
    /// `hostError` trap, with the error kept by the caller's store (it becomes `Trap.underlying`).
    func call(caller: Instance?, slots: UnsafeMutablePointer<UInt64>) -> UInt32 {
        if let asyncAttempt, let caller,
           asyncAttempt(Caller(memory: caller.memory), HostSlots(base: slots, parameterCount: parameterCount, resultTypes: resultTypes,
                                                                 v128Slots: v128Slots)) {
            return 0
        }
        let type = function.type
        let arguments = Value.load(type.params, from: slots)
        do {
            let results: [Value]
            if let asyncBody, let caller, let execution = Execution.current(vmctx: caller.vmctx) {
                let completion = Completion()
                asyncBody(Caller(memory: caller.memory), arguments, completion)
                guard execution.park(on: completion), let delivered = try completion.results() else {
                    caller.store.hostError = RuntimeError("interrupted")
                    return TrapCode.interrupted.rawValue
                }
                results = delivered
            } else {
                results = try function.body(Caller(memory: caller?.memory), arguments)
            }
            guard results.count == type.results.count, zip(results, type.results).allSatisfy({ $0.type == $1 }) else {
                caller?.store.hostError = RuntimeError("host function returned \(results), expected \(type.results)")
                return TrapCode.hostError.rawValue
            }
            Value.store(results, into: slots)
            return 0
        } catch {
            caller?.store.hostError = error
            return TrapCode.hostError.rawValue
        }
    }
}

/// The C entry of every host function: (context, caller vmctx, slots) -> trap code.
private let hostEntry: @convention(c) (UnsafeMutableRawPointer, UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt64>) -> UInt32 = {
    context, callerVMContext, slots in
    // The box lives as long as the import slot that names it, and the calling instance as long as
    // its code is on the stack; both outlive the call: borrow them rather than retain and release
    // them on every call.
    Unmanaged<HostFunctionBox>.fromOpaque(UnsafeRawPointer(bitPattern: context.load(fromByteOffset: 8, as: UInt.self))!)
        ._withUnsafeGuaranteedRef { box in
            guard let caller = Instance.unmanaged(vmctx: callerVMContext) else { return box.call(caller: nil, slots: slots) }
            return caller._withUnsafeGuaranteedRef { box.call(caller: $0, slots: slots) }
        }
}
