import CShoal
import Foundation
import Glibc
import RuntimeABI
import WasmCore

/// One call of a WebAssembly function running on a fiber (a stack of its own), so that it can stop
/// part-way — yield, run out of fuel, park in an asynchronous host call — and be resumed later, on
/// any thread.
///
/// States and every legal transition (anything else throws `ExecutionError.notResumable`):
///
/// ```
///   ready   --resume()-->  running
///   running -->  yielded(.requested)   a yield was requested (requestYield, e.g. a time slice ended)
///   running -->  yielded(.outOfFuel)   fuel ran out under FuelPolicy.yield; add fuel, then resume
///   running -->  parked                an async host function waits for its Completion
///   running -->  trapped               terminal
///   running -->  exited                terminal: the function returned
///   yielded --resume()-->  running
///   parked  --resume()-->  running     only after the Completion was delivered
/// ```
///
/// `resume()` runs the fiber on the calling thread until it leaves `running`. One thread at a time
/// may call into an execution; requestYield() may be called from any thread. Call `cancel()`
/// before dropping an execution that has not finished: its suspended frames keep it (and what they
/// reference) alive until it unwinds.
public final class Execution: @unchecked Sendable {
    public enum YieldReason: Sendable, Equatable { case requested, outOfFuel }

    public enum State: Sendable {
        case ready
        case running
        case yielded(YieldReason)
        case parked
        case trapped(Trap)
        case exited([Value])

        public var isFinished: Bool {
            switch self {
            case .trapped, .exited: true
            default: false
            }
        }
    }

    public private(set) var state: State = .ready
    let store: Store
    let instance: Instance
    let type: FuncType
    let funcRef: UnsafeMutableRawPointer
    let arguments: [Value]
    /// A function of no parameters and no results run on the fiber before the call: an
    /// instance's deferred start function (see `Store.instantiate(_:runningStart:resolver:)`).
    let first: Function?
    /// Run after `first` and before the call, the same way: a reactor's `_initialize`.
    let initializer: Function?
    let stack: UnsafeMutableRawPointer
    let stackSize: Int
    /// Whether `stack` was mapped for this execution (else it is the instance's region slot's).
    let ownsStack: Bool
    /// The inaccessible (PROT_NONE) range just below the stack, where an overflow faults: the
    /// region slot's stack guard, or the guard mapped with the execution's own stack. Empty when
    /// there is none (a slot of a region created with `GuardPages.never`). The fiber carries the
    /// same range (`shoal_fiber.stack_guard_low/high`) for the signal handler.
    public let stackGuard: Range<UInt>
    let fiber: UnsafeMutablePointer<shoal_fiber>
    /// Every vmctx of the store when the execution was made: where yield requests are posted.
    let vmctxs: [UnsafeMutableRawPointer]
    /// Set while parked in an async host function.
    var completion: Completion?
    /// What the fiber produced when it finished.
    private var outcome: State?

    public static let defaultStackSize = 512 * 1024
    /// The guard below every stack an execution maps itself.
    public static let stackGuardBytes = SlotLayout.defaultGuardBytes
    /// Stack kept free below the WebAssembly frames for host functions and builtins on the fiber.
    public static let hostStackMargin = 128 * 1024

    /// Runs on the instance's region slot stack when it has one (and `stackSize` is not given),
    /// else on a stack mapped for this execution. `first`, a WebAssembly function of the same
    /// store taking and returning nothing (a deferred start function), runs on the fiber before
    /// the call, under the same yields, limits and cancellation; if it traps, so does the
    /// execution, and the call does not run. `initializer` (a reactor's `_initialize`) runs
    /// after `first` in the same way.
    public init(_ function: Function, arguments: [Value], stackSize: Int? = nil, first: Function? = nil,
                initializer: Function? = nil) throws {
        guard case .wasm(let instance, let funcRef) = function.kind else {
            throw RuntimeError("only WebAssembly functions run on fibers")
        }
        for before in [first, initializer].compactMap({ $0 }) {
            if case .wasm(let beforeInstance, _) = before.kind, beforeInstance.store !== instance.store {
                throw RuntimeError("the function run first must belong to the same store")
            }
            guard before.type.params.isEmpty, before.type.results.isEmpty else {
                throw RuntimeError("the function run first must take and return nothing, not \(before.type)")
            }
        }
        self.first = first
        self.initializer = initializer
        guard arguments.count == function.type.params.count, zip(arguments, function.type.params).allSatisfy({ $0.type == $1 }) else {
            throw RuntimeError("arguments \(arguments) do not match \(function.type)")
        }
        self.instance = instance
        self.store = instance.store
        self.type = function.type
        self.funcRef = funcRef
        self.arguments = arguments
        if stackSize == nil, let slot = instance.slot {
            self.stackSize = slot.region.layout.stackBytes
            stack = slot.stack
            stackGuard = slot.stackGuard
            ownsStack = false
        } else {
            // The guard and the stack in one mapping: inaccessible, then the stack opened above it.
            let size = ((stackSize ?? Self.defaultStackSize) + 4095) / 4096 * 4096
            let guardBytes = Self.stackGuardBytes
            guard size >= 2 * Self.hostStackMargin else { throw RuntimeError("fiber stack of \(size) bytes is too small") }
            guard let mapping = mmap(nil, guardBytes + size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
                  mapping != MAP_FAILED
            else { throw RuntimeError("cannot map a fiber stack of \(size) bytes") }
            guard mprotect(mapping + guardBytes, size, PROT_READ | PROT_WRITE) == 0 else {
                munmap(mapping, guardBytes + size)
                throw RuntimeError("cannot map a fiber stack of \(size) bytes")
            }
            self.stackSize = size
            stack = mapping + guardBytes
            stackGuard = UInt(bitPattern: mapping)..<UInt(bitPattern: stack)
            ownsStack = true
        }
        guard self.stackSize >= 2 * Self.hostStackMargin else {
            throw RuntimeError("fiber stack of \(self.stackSize) bytes is too small")
        }
        fiber = UnsafeMutablePointer<shoal_fiber>.allocate(capacity: 1)
        fiber.initialize(to: shoal_fiber())
        vmctxs = store.instances.map(\.vmctx)
        fiber.pointee.state = store.state
        fiber.pointee.owner = Unmanaged.passUnretained(self).toOpaque()
        fiber.pointee.stack_guard_low = stackGuard.lowerBound
        fiber.pointee.stack_guard_high = stackGuard.upperBound
        fiber.pointee.fiber_sp = shoal_fiber_prepare(stack + self.stackSize, fiberEntry, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        if ownsStack { munmap(stack - Self.stackGuardBytes, Self.stackGuardBytes + stackSize) }
        fiber.deallocate()
    }

    /// Runs until the execution yields, parks, traps or returns, and says which.
    @discardableResult
    public func resume() throws -> State {
        switch state {
        case .ready, .yielded: break
        case .parked:
            guard completion?.isDelivered == true else { throw ExecutionError.notResumable("parked: its completion has not arrived") }
        case .running: throw ExecutionError.notResumable("already running")
        case .trapped, .exited: throw ExecutionError.notResumable("finished")
        }
        shoal_install_signal_handlers()
        shoal_ensure_alternate_signal_stack()
        let limit = UInt(bitPattern: stack) + UInt(Self.hostStackMargin)
        for vmctx in vmctxs { shoal_set_stack_limit(vmctx, UInt64(limit)) }  // keeps a pending yield request
        state = .running
        shoal_fiber_resume(fiber)
        // A request is for the slice that just ended: do not let it stop the next execution that
        // runs with these vmctxs (only the one that yielded was cleared by the yield itself).
        for vmctx in vmctxs { shoal_clear_yield_request(vmctx) }
        switch Int(fiber.pointee.status) {
        case Int(SHOAL_FIBER_YIELDED): state = .yielded(.requested)
        case Int(SHOAL_FIBER_OUT_OF_FUEL): state = .yielded(.outOfFuel)
        case Int(SHOAL_FIBER_PARKED): state = .parked
        default: state = outcome ?? .trapped(Trap(code: .unreachable, message: "fiber ended without an outcome"))
        }
        return state
    }

    /// Stops a suspended execution for good: it is resumed once more with its yield points (and
    /// a pending async host call) failing, so it traps with "interrupted" and its fiber unwinds
    /// normally, releasing everything its frames hold. Dropping a suspended execution without
    /// this would leak what those frames reference. No effect on a finished execution; an
    /// execution that never started just becomes trapped.
    public func cancel() {
        switch state {
        case .trapped, .exited, .running:
            return
        case .ready:
            state = .trapped(Trap(code: .interrupted))
        case .yielded, .parked:
            fiber.pointee.cancelling = 1
            let limit = UInt(bitPattern: stack) + UInt(Self.hostStackMargin)
            for vmctx in vmctxs { shoal_set_stack_limit(vmctx, UInt64(limit)) }
            state = .running
            shoal_fiber_resume(fiber)
            for vmctx in vmctxs { shoal_clear_yield_request(vmctx) }
            state = outcome ?? .trapped(Trap(code: .interrupted))
        }
    }

    /// Calls `body` once a parked execution can be resumed (its completion arrived), or at once if
    /// it is not parked. Lets a scheduler put it back on its run queue without polling.
    public func whenResumable(_ body: @escaping @Sendable () -> Void) {
        if case .parked = state, let completion {
            completion.whenDelivered(body)
        } else {
            body()
        }
    }

    /// Whether `resume()` would run it now (a parked execution only once its completion arrived).
    public var isResumable: Bool {
        switch state {
        case .ready, .yielded: true
        case .parked: completion?.isDelivered == true
        default: false
        }
    }

    /// The store the execution's instance belongs to.
    public var owningStore: Store { store }

    /// Asks the running code to yield at its next function entry or loop header. Any thread.
    public func requestYield() {
        for vmctx in vmctxs { shoal_request_yield(vmctx) }
    }

    /// Runs the call to completion, resuming after every yield (a convenience for callers that do
    /// not schedule).
    public func run() throws -> [Value] {
        while true {
            switch try resume() {
            case .exited(let values): return values
            case .trapped(let trap): throw trap
            case .parked: throw ExecutionError.notResumable("parked: run() cannot wait for a completion")
            default: continue
            }
        }
    }

    /// Runs a function of no parameters and results before the call, on the fiber; false (with
    /// the outcome set) when it traps.
    private func runBefore(_ before: Function) -> Bool {
        switch before.kind {
        case .wasm(let beforeInstance, let beforeFuncRef):
            var none: UInt64 = 0
            let (code, vmctx) = FuncRefRecord(beforeFuncRef).entry
            let trapCode = shoal_call_entry(beforeInstance.module.entryTrampoline, vmctx, code, &none, 1)
            if trapCode != 0 {
                outcome = .trapped(store.trap(code: trapCode))
                return false
            }
        case .host:  // a start function that is an imported host function
            do {
                _ = try before.invoke([])
            } catch {
                outcome = .trapped(error as? Trap ?? Trap(code: .hostError, message: "\(error)", underlying: error))
                return false
            }
        }
        return true
    }

    /// Runs on the fiber: `first` if there is one, then the call itself, through the module's
    /// entry trampoline.
    fileprivate func runOnFiber() {
        for before in [first, initializer].compactMap({ $0 }) where !runBefore(before) { return }
        var slots = [UInt64](repeating: 0, count: max(Value.slotCount(type.params), Value.slotCount(type.results), 1))
        slots.withUnsafeMutableBufferPointer { Value.store(arguments, into: $0.baseAddress!) }
        let (code, vmctx) = FuncRefRecord(funcRef).entry
        let trapCode = slots.withUnsafeMutableBufferPointer {
            shoal_call_entry(instance.module.entryTrampoline, vmctx, code, $0.baseAddress!, $0.count)
        }
        if trapCode != 0 {
            outcome = .trapped(store.trap(code: trapCode))
        } else {
            outcome = .exited(slots.withUnsafeBufferPointer { Value.load(type.results, from: $0.baseAddress!) })
        }
    }

    /// The execution running on the fiber that `vmctx`'s store is currently in, if any.
    static func current(vmctx: UnsafeMutableRawPointer) -> Execution? {
        guard let fiber = shoal_current_fiber(vmctx), let owner = fiber.pointee.owner else { return nil }
        return Unmanaged<Execution>.fromOpaque(owner).takeUnretainedValue()
    }

    /// Parks the fiber until `completion` is delivered and the execution resumed (called on the fiber).
    /// Returns false when the execution was cancelled while parked.
    func park(on completion: Completion) -> Bool {
        self.completion = completion
        if !completion.isDelivered { shoal_fiber_suspend(fiber, UInt32(SHOAL_FIBER_PARKED)) }
        self.completion = nil
        return fiber.pointee.cancelling == 0
    }
}

/// The first Swift code on a new fiber: run the call, record the outcome, hand control back for good.
/// The final switch never returns, so no strong reference may still be held when it happens (it
/// would never be released): the Swift work is done in a function that returns first.
private let fiberEntry: @convention(c) (UnsafeMutableRawPointer?) -> Void = { argument in
    let fiber = runExecution(argument!)
    shoal_fiber_suspend(fiber, UInt32(SHOAL_FIBER_FINISHED))
    fatalError("a finished fiber was resumed")
}

@inline(never)
private func runExecution(_ argument: UnsafeMutableRawPointer) -> UnsafeMutablePointer<shoal_fiber> {
    let execution = Unmanaged<Execution>.fromOpaque(argument).takeUnretainedValue()
    execution.runOnFiber()
    return execution.fiber
}

public enum ExecutionError: Error, CustomStringConvertible {
    case notResumable(String)
    public var description: String {
        switch self {
        case .notResumable(let why): "execution cannot be resumed: \(why)"
        }
    }
}

/// How an async host function hands its result back, from any thread.
public final class Completion: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<[Value], any Error>?
    private var work: (@Sendable () throws -> [Value])?
    private var onDelivery: (@Sendable () -> Void)?

    init() {}

    var isDelivered: Bool { lock.withLock { result != nil } }
    var delivered: Result<[Value], any Error>? { lock.withLock { result } }

    public func resume(returning values: [Value]) { deliver(.success(values)) }
    public func resume(throwing error: any Error) { deliver(.failure(error)) }

    /// Delivers a result that `work` computes on the guest's fiber when the execution resumes.
    /// Completions that write guest memory use this: an I/O completion can arrive after its
    /// instance was cancelled and its slot handed to another instance, but `work` only runs if
    /// the instance resumes, so it never writes memory that is no longer the instance's.
    /// (A cancelled execution drops `work` unrun, with whatever it holds.)
    public func resume(running work: @escaping @Sendable () throws -> [Value]) { deliver(.success([]), work: work) }

    /// The delivered results, running the deferred work if there is any (on the guest's fiber).
    func results() throws -> [Value]? {
        let (delivered, work) = lock.withLock { (result, self.work) }
        if let work { return try work() }
        return try delivered?.get()
    }

    /// Called once the result is delivered (at once if it already is): lets a scheduler know
    /// the parked execution can be resumed.
    public func whenDelivered(_ body: @escaping @Sendable () -> Void) {
        let now: Bool = lock.withLock {
            if result != nil { return true }
            onDelivery = body
            return false
        }
        if now { body() }
    }

    private func deliver(_ value: Result<[Value], any Error>, work: (@Sendable () throws -> [Value])? = nil) {
        let callback: (@Sendable () -> Void)? = lock.withLock {
            guard result == nil else { return nil }
            result = value
            self.work = work
            defer { onDelivery = nil }
            return onDelivery
        }
        callback?()
    }
}
