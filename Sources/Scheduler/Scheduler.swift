import CShoal
import Foundation
import IOUring
import Logging
import Metrics
import Runtime
import RuntimeABI
import ServiceLifecycle
import Synchronization

/// Runs WebAssembly calls, one instance each, on a pool of worker threads the size of the machine.
/// Its threads keep it alive: call `shutdown()` when done (or run it as a `Service`).
///
/// Each worker is an actor (`Worker`) running on its own thread, which owns a shard of the
/// region's slots, two queue levels, its parked instances and an io_uring. A new call is admitted
/// engine-wide (an atomic count of live instances; a waiting queue when every slot is busy) and
/// placed on the less loaded of two workers; the worker makes its instance and runs it for at most
/// a time slice at a time (`SchedulingPolicy`); an instance that yields goes to the back of the
/// worker's main level, one that parks in an async host function waits off the queues until its
/// completion arrives — normally on the worker's own ring, which wakes it with no hop and no lock.
/// An idle worker steals half of a busy one's queued calls. No lock is shared by the workers on the
/// park, unpark or enqueue path (Docs/ARCHITECTURE.md lists what is shared and why it is safe).
public final class Scheduler: @unchecked Sendable {  // immutable after init; shared state lives in `core` and the workers
    public var configuration: SchedulerConfiguration { core.configuration }
    /// The slots the scheduler's instances live in (one shard per worker).
    public var region: Region { core.region }
    let core: SchedulerCore
    private let workers: [Worker]
    private let queuedGauge = Gauge(label: "shoal_instances_queued")
    public static let freshBurst = SchedulingPolicy.freshBurst

    /// Totals since the scheduler started.
    public struct Statistics: Sendable {
        public var completed = 0
        public var traps = 0
        public var yields = 0
        /// I/O completions the workers ran from their own rings.
        public var ringCompletions = 0
        /// Times an idle worker took calls from another, and the calls it took.
        public var steals = 0
        public var stolen = 0
    }

    /// Summed over the workers' atomic counters: each is exact, the sum a snapshot.
    public var statistics: Statistics {
        var s = Statistics()
        for worker in workers {
            let c = worker.counters
            s.completed += c.completed.load(ordering: .relaxed)
            s.traps += c.traps.load(ordering: .relaxed)
            s.yields += c.yields.load(ordering: .relaxed)
            s.ringCompletions += c.ringCompletions.load(ordering: .relaxed)
            s.steals += c.steals.load(ordering: .relaxed)
            s.stolen += c.stolen.load(ordering: .relaxed)
        }
        return s
    }

    /// One worker's view, taken on the worker's own executor (an actor hop: exact for that worker).
    public struct WorkerSnapshot: Sendable {
        public var queued: Int
        public var parked: Int
        public var completed: Int
        public var steals: Int
        public var stolen: Int
    }

    /// Every worker's state, each read on its own thread.
    public func workerSnapshots() async -> [WorkerSnapshot] {
        var all: [WorkerSnapshot] = []
        for worker in workers { all.append(await worker.snapshot()) }
        return all
    }

    public init(_ configuration: SchedulerConfiguration = SchedulerConfiguration(), logger: Logger = Logger(label: "shoal.scheduler")) throws {
        let threads = max(1, configuration.threads)
        let region = try Region(Region.Configuration(slotCount: configuration.slots, heapMode: configuration.heapMode,
                                                     memoryPages: configuration.memoryPages, stackSize: configuration.stackSize,
                                                     guardPages: configuration.guardPages, shards: threads))
        let core = SchedulerCore(configuration: configuration, region: region, logger: logger)
        let workers = (0..<threads).map { Worker(index: $0, core: core) }
        core.attach(workers)
        self.core = core
        self.workers = workers
        let ready = DispatchSemaphore(value: 0)
        for worker in workers {
            let thread = Thread { [core] in Self.threadMain(worker, core, ready) }  // keeps the core alive until shutdown
            thread.name = "shoal-worker-\(worker.index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in workers { ready.wait() }  // every worker has its ring before any call is placed
        let timer = Thread { [core, workers] in Self.tick(core, workers) }
        timer.name = "shoal-timer"
        timer.start()
        logger.debug("scheduler started", metadata: ["slots": "\(configuration.slots)", "threads": "\(threads)"])
    }

    /// The completion queue of a worker's ring: 16 entries for each slot (an instance parks on one
    /// operation at a time but may have a few in flight, e.g. poll_oneoff), from 2,048 up to
    /// 65,536. A ring's queues are allocated, zeroed and mapped when it is made, so a one-slot
    /// engine (`shoal run`) should not pay for the 1 MiB queue that tens of thousands of parked
    /// guests need. Completions beyond it are not lost: the kernel holds them back (NODROP).
    static func workerCompletionEntries(slots: Int) -> UInt32 {
        UInt32(min(65_536, max(2_048, slots.multipliedReportingOverflow(by: 16).overflow ? Int.max : slots * 16)))
    }

    /// A worker's thread: makes its ring, then runs the worker's loop, isolated to the worker (so
    /// the loop, and everything it calls, owns the worker's state).
    private static func threadMain(_ worker: Worker, _ core: SchedulerCore, _ ready: DispatchSemaphore) {
        var ring: Ring?
        if core.configuration.workerRings {
            do {
                ring = try Ring.worker(completionEntries: workerCompletionEntries(slots: core.configuration.slots))
            } catch {
                core.logger.warning("no io_uring for worker \(worker.index), its guests use the shared ring: \(error)")
            }
        }
        Ring.setCurrent(ring)
        worker.executor.attach(ring: ring)
        ready.signal()
        // The loop is entered isolated to the worker, on the worker's own thread, and returns at
        // shutdown. It is deliberately not run as a task: guests' fibers switch stacks under it,
        // and the concurrency runtime keeps per-task state (its stack-discipline allocator, task
        // locals) that code on two interleaved fibers must not share. No task is current on a
        // worker's thread, as on any plain thread.
        worker.assumeIsolated { $0.loop() }
        Ring.setCurrent(nil)
        if let ring, !ring.close() {
            core.logger.warning("worker \(worker.index)'s io_uring still had operations in flight at shutdown; left open")
        }
    }

    // MARK: Submitting work

    /// Runs `entry` of a new instance of `module` and returns its results (a nil `entry` runs
    /// only the module's start function, if it has one). Throws the instance's
    /// Trap, `SchedulerError` (overloaded, time limit, shut down) or CancellationError when the
    /// calling task is cancelled (the instance is stopped and its slot reclaimed).
    ///
    /// `imports` makes this call's own host functions when its instance is made (after
    /// admission, on a worker): they take precedence over the configuration's.
    public func run(_ module: LoadedModule, entry: String?, arguments: [Value] = [], limits: InstanceLimits = InstanceLimits(),
                    imports: (@Sendable () throws -> [HostImport])? = nil)
        async throws -> [Value]
    {
        let box = JobBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Value], any Error>) in
                box.job = submit(module, entry: entry, arguments: arguments, limits: limits, imports: imports) {
                    continuation.resume(with: $0)
                }.job
                if Task.isCancelled, let job = box.job { cancel(job) }
            }
        } onCancel: {
            if let job = box.job { self.cancel(job) }
        }
    }

    /// The callback form of `run`: `completion` is called once, on some thread.
    @discardableResult
    public func submit(_ module: LoadedModule, entry: String?, arguments: [Value] = [], limits: InstanceLimits = InstanceLimits(),
                       imports: (@Sendable () throws -> [HostImport])? = nil,
                       completion: @escaping @Sendable (Result<[Value], any Error>) -> Void) -> Ticket {
        let job = Job(module: module, entry: entry, arguments: arguments, limits: limits, imports: imports, now: core.now(),
                      onFinish: completion)
        if core.stopped.load(ordering: .sequentiallyConsistent) {
            job.stage = .finished
            job.finish(.failure(SchedulerError.shutDown))
            return Ticket(job: job)
        }
        switch core.admission.submit(job) {
        case .admitted:
            core.place(job)
        case .waiting(let admitted):
            queuedGauge.record(core.admission.waitingCalls)
            for other in admitted { core.place(other) }
        case .refused(let reason):
            job.stage = .finished
            job.finish(.failure(core.stopped.load(ordering: .relaxed) ? SchedulerError.shutDown : SchedulerError.overloaded(reason)))
        }
        return Ticket(job: job)
    }

    /// Stops a call wherever it is: waiting, queued, parked or running (at its next yield point).
    /// A waiting call hears `CancellationError` at once; an admitted one when its worker has
    /// stopped it (a parked one at once, a running one at its next yield point).
    public func cancel(_ ticket: Ticket) { cancel(ticket.job) }

    func cancel(_ job: Job) {
        job.markCancelled()
        switch job.stage {
        case .waiting:
            if core.admission.cancelWaiting(job) {
                job.finish(.failure(CancellationError()))
                return
            }
            if job.stage == .admitted { fallthrough }  // admitted meanwhile
        case .admitted:
            let owner = workers[job.owner]
            owner.watch.interrupt(job)
            // The worker answers: a parked instance at once (retired, its slot freed), a queued
            // one when it comes up, a running one at the end of its slice. After shutdown its
            // worker has answered it already.
            owner.executor.send(.cancel(job))
        case .finished:
            return
        }
    }

    /// Live instances, calls waiting for a slot, and parked instances.
    public var counts: (live: Int, waiting: Int, parked: Int) {
        (core.admission.live, core.admission.waitingCalls, workers.reduce(0) { $0 + $1.counters.parked.load(ordering: .relaxed) })
    }

    /// Stops the workers. Calls still waiting, queued or parked finish with `SchedulerError.shutDown`
    /// (a running one at the end of its slice).
    public func shutdown() {
        guard !core.stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
        for job in core.admission.stop() { job.finish(.failure(SchedulerError.shutDown)) }
        for worker in workers { worker.executor.send(.stop) }
        core.logger.debug("scheduler stopped")
    }

    // MARK: The timer

    /// Ends time slices and enforces wall-time limits of running instances (each worker's slice
    /// watch, under that worker's own lock), and every 100 ticks asks the workers with parked
    /// instances to fail those past their limit.
    ///
    /// A slice is ended only when something else waits for a worker (`Worker.hasWaitingWork`):
    /// ending the slice of an instance that runs alone would only requeue it and run it again,
    /// at the cost of a yield every slice (about 2% of a CPU-bound run, Docs/BENCHMARKS.md).
    /// Work that arrives later is seen at the next tick, and the slice, already used up, ends then.
    ///
    /// While nothing waits and no running call has a wall-time limit, the timer dozes instead of
    /// ticking (`TimerBell`), until a message reaches a worker.
    private static func tick(_ core: SchedulerCore, _ workers: [Worker]) {
        let slice = core.configuration.timeSlice.nanoseconds
        var sweep = 0
        var idle = false
        // Until every worker has stopped, not just until shutdown: a worker sees the stop only
        // between slices, so the slice running at shutdown must still be ended.
        while core.workersEnded.load(ordering: .sequentiallyConsistent) < workers.count {
            if idle {
                core.timerBell.doze(nanoseconds: TimerBell.longest) { Self.contended(core, workers) }
            } else {
                usleep(UInt32(max(100, min(slice / 2_000, 10_000))))
            }
            let t = core.now()
            let contended = Self.contended(core, workers)
            var deadlines = false
            for worker in workers { deadlines = worker.watch.check(now: t, slice: slice, contended: contended) || deadlines }
            // Nothing waits and no running call has a wall-time limit: until a message arrives,
            // a tick would do nothing.
            idle = !contended && !deadlines
            sweep += 1
            if sweep % 100 == 0, !core.stopped.load(ordering: .relaxed) {
                for worker in workers where worker.counters.parked.load(ordering: .relaxed) > 0 { worker.executor.send(.sweep) }
            }
        }
    }
}

extension Scheduler {
    /// Whether a worker's loop is wanted: something waits for one, or the scheduler stops.
    fileprivate static func contended(_ core: SchedulerCore, _ workers: [Worker]) -> Bool {
        core.stopped.load(ordering: .relaxed) || workers.contains { $0.hasWaitingWork }
    }
}

/// Identifies a submitted call, for cancelling it.
public struct Ticket: Sendable {
    let job: Job
}

final class JobBox: @unchecked Sendable {  // written once before the cancellation handler can read it
    var job: Job?
}

/// The scheduler as a swift-service-lifecycle service: it runs until graceful shutdown.
extension Scheduler: Service {
    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
    }
}
