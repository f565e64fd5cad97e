import Foundation
import Runtime
import Synchronization

/// One submitted call: its instance, its execution and where its result goes.
///
/// Who may touch what: `store`, `execution` and `instantiated` belong to the worker that owns the
/// job (`owner`) — the one it was admitted to, or the one that stole it — and are used on that
/// worker's thread only (the timer reads `execution` under the worker's `SliceWatch` lock while
/// the slice runs). The flags other threads set (cancelled, timed out) and the stage and owner
/// they read are atomic.
final class Job: @unchecked Sendable {
    enum Stage: UInt8 {
        /// In the scheduler's waiting queue: not admitted, holds no slot.
        case waiting
        /// Admitted: counts as live, belongs to a worker (queued, running or parked there).
        case admitted
        /// Done, or cancelled while waiting.
        case finished
    }

    let module: LoadedModule
    /// The export to call; nil: only instantiate and run the start function.
    let entry: String?
    let arguments: [Value]
    let limits: InstanceLimits
    /// This call's own host functions (a WASI context made for it, say): they come first.
    let imports: (@Sendable () throws -> [HostImport])?
    let submitted: UInt64
    let deadline: UInt64?
    private let stageBits = Atomic<UInt8>(Stage.waiting.rawValue)
    /// The index of the worker the job belongs to while admitted.
    private let ownerIndex = Atomic<Int>(0)
    private let cancelledFlag = Atomic<Bool>(false)
    private let timedOutFlag = Atomic<Bool>(false)
    private let reported = Atomic<Bool>(false)
    var store: Store?
    var execution: Execution?
    /// Whether a worker has made the instance (it does so when it first picks the job up).
    var instantiated = false
    /// Where the job is in its worker's parked list (-1: not parked). Its worker's alone.
    var parkedIndex = -1
    private let onFinish: @Sendable (Result<[Value], any Error>) -> Void

    init(module: LoadedModule, entry: String?, arguments: [Value], limits: InstanceLimits,
         imports: (@Sendable () throws -> [HostImport])? = nil, now: UInt64,
         onFinish: @escaping @Sendable (Result<[Value], any Error>) -> Void) {
        self.module = module
        self.imports = imports
        self.entry = entry
        self.arguments = arguments
        self.limits = limits
        submitted = now
        deadline = limits.wallTime.map { now + $0.nanoseconds }
        self.onFinish = onFinish
    }

    var stage: Stage {
        get { Stage(rawValue: stageBits.load(ordering: .sequentiallyConsistent))! }
        set { stageBits.store(newValue.rawValue, ordering: .sequentiallyConsistent) }
    }

    var owner: Int {
        get { ownerIndex.load(ordering: .acquiring) }
        set { ownerIndex.store(newValue, ordering: .releasing) }
    }

    var isCancelled: Bool { cancelledFlag.load(ordering: .sequentiallyConsistent) }
    func markCancelled() { cancelledFlag.store(true, ordering: .sequentiallyConsistent) }

    /// Set by the timer when the wall-time limit passed while the job ran.
    var timedOut: Bool { timedOutFlag.load(ordering: .relaxed) }
    func markTimedOut() { timedOutFlag.store(true, ordering: .relaxed) }

    /// Reports the call's outcome to its submitter, once: the first report wins (a cancelled call
    /// hears at once; whatever its worker reports later is dropped). Any thread.
    func finish(_ result: Result<[Value], any Error>) {
        guard !reported.exchange(true, ordering: .acquiringAndReleasing) else { return }
        onFinish(result)
    }

    /// Makes the instance (in a slot of `region`) and the execution that will run the call. The
    /// first definition of a name wins: the call's own imports, then the per-instance ones, then
    /// the shared ones.
    func instantiate(in region: Region, shard: Int = 0, imports shared: [HostImport] = [],
                     perInstance: (@Sendable () throws -> [HostImport])? = nil) throws {
        let imports = try (self.imports?() ?? []) + (perInstance?() ?? []) + shared
        let store = Store(region: region)
        store.slotShard = shard
        if let fuel = limits.fuel {
            store.initialFuel = fuel
            store.fuelPolicy = .trap
        }
        store.memoryPageLimit = limits.memoryPages
        // The start function is not run here, on the submitting thread, where no time slice or
        // limit reaches it: it runs first on the execution's fiber, like the rest of the guest.
        let instance = try store.instantiate(module, runningStart: false) { module, name -> Extern? in
            guard let host = imports.first(where: { $0.module == module && $0.name == name }) else { return nil }
            return .function(host.function)
        }
        guard let entry else {
            // Nothing to call: the start function is the call (if there is none, the instance
            // was only made, and `execution` stays nil: the call is done).
            execution = try instance.startFunction.map { try Execution($0, arguments: []) }
            self.store = store
            return
        }
        guard case .function(let function)? = instance.export(entry) else { throw SchedulerError.noSuchFunction(entry) }
        // A reactor (an `_initialize` export, as WASI reactors have) is initialized first, on the
        // fiber too, as wasmtime's CLI does before calling into one.
        var initializer: Function?
        if entry != "_initialize", case .function(let initialize)? = instance.export("_initialize") { initializer = initialize }
        execution = try Execution(function, arguments: arguments, first: instance.startFunction, initializer: initializer)
        self.store = store
    }

    /// Drops the instance, which returns its slot to the region. An unfinished execution is
    /// cancelled first, so its fiber unwinds and lets go of the store.
    func release() {
        execution?.cancel()
        execution = nil
        store = nil
    }
}

/// A FIFO queue with O(1) push and pop.
struct FIFO<Element> {
    private var items: [Element?] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { count == 0 }

    mutating func push(_ e: Element) { items.append(e) }

    /// The element `pop` would return.
    var first: Element? { head < items.count ? items[head] : nil }

    mutating func pop() -> Element? {
        guard head < items.count else { return nil }
        let e = items[head]
        items[head] = nil
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return e
    }
}
