import Foundation
import Runtime

/// One submitted call: its instance, its execution and where its result goes. The phase and flags
/// are read and written under the owning scheduler's lock; `execution` is used only by the thread
/// that runs the job's current slice.
final class Job: @unchecked Sendable {
    enum Phase { case waiting, queued, running, parked, finished }

    let module: LoadedModule
    /// The export to call; nil: only instantiate and run the start function.
    let entry: String?
    let arguments: [Value]
    let limits: InstanceLimits
    /// This call's own host functions (a WASI context made for it, say): they come first.
    let imports: (@Sendable () throws -> [HostImport])?
    let submitted: UInt64
    let deadline: UInt64?
    var phase: Phase = .waiting
    var store: Store?
    var execution: Execution?
    var sliceStart: UInt64 = 0
    var cancelled = false
    /// Whether a worker has made the instance (it does so when it first picks the job up).
    var instantiated = false
    var timedOut = false
    var onFinish: (@Sendable (Result<[Value], any Error>) -> Void)?

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

    /// Makes the instance (in a slot of `region`) and the execution that will run the call. The
    /// first definition of a name wins: the call's own imports, then the per-instance ones, then
    /// the shared ones.
    func instantiate(in region: Region, imports shared: [HostImport] = [], perInstance: (@Sendable () throws -> [HostImport])? = nil) throws {
        let imports = try (self.imports?() ?? []) + (perInstance?() ?? []) + shared
        let store = Store(region: region)
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
