import CShoal
import Foundation
import IOUring
import Logging
import Metrics
import Runtime
import RuntimeABI
import ServiceLifecycle

/// Runs WebAssembly calls, one instance each, on a pool of worker threads the size of the machine.
/// Its threads keep it alive: call `shutdown()` when done (or run it as a `Service`).
///
/// Every call gets an instance in a slot of the scheduler's region and runs on that slot's fiber.
/// A worker runs one instance for at most a time slice, then the next from a FIFO run queue; an
/// instance that yields goes to the back of the queue, one that parks in an async host function
/// waits off the queue until its completion arrives — no thread waits for it. When all slots are
/// taken, new work waits in a bounded queue or is refused (`SchedulerConfiguration.Admission`).
///
/// The run queue and admission state sit behind one lock: a slice is milliseconds long, a queue
/// operation well under a microsecond, so the lock is not where the time goes (an actor hop per
/// slice would cost more than the lock does).
public final class Scheduler: @unchecked Sendable {  // mutable state is guarded by `condition`
    public let configuration: SchedulerConfiguration
    /// The slots the scheduler's instances live in.
    public let region: Region
    let logger: Logger
    let hostFunctions: [HostImport]
    private let condition = SchedulerLock()
    /// Two levels: calls that have not yet used up a slice (new ones, and ones back from a host
    /// call) run before calls that keep using whole slices, so a short request is not queued
    /// behind thousands of CPU-bound ones; every `freshBurst` picks from `fresh`, one comes from
    /// `runQueue`, so the CPU-bound ones never starve.
    private var fresh = FIFO<Job>()
    private var runQueue = FIFO<Job>()
    private var freshStreak = 0
    public static let freshBurst = 4
    private var waiting = FIFO<Job>()
    private var live = 0
    private var running: [Job?]
    /// Each worker's io_uring (nil without `workerRings`), and the workers asleep in theirs.
    private var rings: [Ring?]
    private var sleepers: [Int] = []
    private var parked: [ObjectIdentifier: Job] = [:]
    private var stopped = false
    private var stats = Statistics()

    /// Totals since the scheduler started.
    public struct Statistics: Sendable {
        public var completed = 0
        public var traps = 0
        public var yields = 0
        /// I/O completions the workers ran from their own rings.
        public var ringCompletions = 0
    }

    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return stats
    }
    private var threads: [Thread] = []

    // Metrics (swift-metrics; a no-op unless the process bootstraps a backend).
    private let liveGauge = Gauge(label: "shoal_instances_live")
    private let queuedGauge = Gauge(label: "shoal_instances_queued")
    private let yieldCounter = Counter(label: "shoal_yields_total")
    private let trapCounter = Counter(label: "shoal_traps_total")
    private let completedCounter = Counter(label: "shoal_instances_completed_total")

    public init(_ configuration: SchedulerConfiguration = SchedulerConfiguration(), logger: Logger = Logger(label: "shoal.scheduler")) throws {
        self.configuration = configuration
        self.logger = logger
        region = try Region(Region.Configuration(slotCount: configuration.slots, heapMode: configuration.heapMode,
                                                 memoryPages: configuration.memoryPages, stackSize: configuration.stackSize,
                                                 guardPages: configuration.guardPages))
        self.hostFunctions = configuration.hostFunctions
        running = Array(repeating: nil, count: max(1, configuration.threads))
        rings = Array(repeating: nil, count: max(1, configuration.threads))
        for worker in 0..<max(1, configuration.threads) {
            let thread = Thread { self.work(worker) }  // the threads keep the scheduler alive until shutdown()
            thread.name = "shoal-worker-\(worker)"
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
        let timer = Thread { self.tick() }
        timer.name = "shoal-timer"
        threads.append(timer)
        timer.start()
        logger.debug("scheduler started", metadata: ["slots": "\(configuration.slots)", "threads": "\(configuration.threads)"])
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
        let job = Job(module: module, entry: entry, arguments: arguments, limits: limits, imports: imports, now: now(),
                      onFinish: completion)
        condition.lock()
        if stopped {
            job.phase = .finished
            condition.unlock()
            finish(job, .failure(SchedulerError.shutDown))
            return Ticket(job: job)
        }
        if live < configuration.slots {
            live += 1
            condition.unlock()
            start(job)
        } else {
            switch configuration.admission {
            case .queue(let limit) where waiting.count < limit:
                waiting.push(job)
                queuedGauge.record(waiting.count)
                condition.unlock()
            case .queue(let limit):
                job.phase = .finished
                condition.unlock()
                finish(job, .failure(SchedulerError.overloaded("all \(configuration.slots) slots busy and \(limit) calls waiting")))
            case .refuse:
                job.phase = .finished
                condition.unlock()
                finish(job, .failure(SchedulerError.overloaded("all \(configuration.slots) slots busy")))
            }
        }
        return Ticket(job: job)
    }

    /// Stops a call wherever it is: waiting, queued, parked or running (at its next yield point).
    public func cancel(_ ticket: Ticket) { cancel(ticket.job) }

    func cancel(_ job: Job) {
        condition.lock()
        job.cancelled = true
        switch job.phase {
        case .running:
            condition.unlock()
            job.execution?.requestYield()  // the worker finishes it when it yields
        case .parked:
            parked[ObjectIdentifier(job)] = nil
            condition.unlock()
            retire(job, .failure(CancellationError()))
        case .waiting:
            job.phase = .finished  // holds no slot; skipped when it comes off the waiting queue
            condition.unlock()
            finish(job, .failure(CancellationError()))
        case .queued:
            // Holds a slot: the worker that pops it retires it. The caller hears now.
            condition.unlock()
            finish(job, .failure(CancellationError()))
        case .finished:
            condition.unlock()
        }
    }

    /// Live instances, calls waiting for a slot, and parked instances.
    public var counts: (live: Int, waiting: Int, parked: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (live, waiting.count, parked.count)
    }

    /// Stops the workers. Calls still waiting or queued finish with `SchedulerError.shutDown`.
    public func shutdown() {
        condition.lock()
        guard !stopped else {
            condition.unlock()
            return
        }
        stopped = true
        var pending: [Job] = []
        while let job = waiting.pop() { pending.append(job) }
        while let job = runQueue.pop() { pending.append(job) }
        while let job = fresh.pop() { pending.append(job) }
        pending += parked.values
        parked.removeAll()
        condition.broadcast()
        let asleep = sleepers.compactMap { rings[$0] }
        sleepers.removeAll()
        condition.unlock()
        for ring in asleep { ring.wake() }
        for job in pending {
            job.phase = .finished
            job.release()
            finish(job, .failure(SchedulerError.shutDown))
        }
        logger.debug("scheduler stopped")
    }

    // MARK: The run loop

    private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Instantiates an admitted job (outside the lock) and queues it.
    /// Queues an admitted job. Its instance is made by the worker that first picks it up
    /// (`makeInstance`), not here: `start` runs on the submitting thread (or on a worker that
    /// just freed a slot), and one submitting thread making every instance was the limit on
    /// short calls per second (Docs/BENCHMARKS.md); the call's own imports (a WASI context) are
    /// then made on a worker too.
    private func start(_ job: Job) {
        liveGauge.record(counts.live)
        enqueue(job)
    }

    /// Makes a job's instance on the worker about to run it; false if the job ended instead
    /// (instantiation failed — a link error, a trap in a data segment — or there was nothing to
    /// call after it).
    private func makeInstance(_ job: Job, _ worker: Int) -> Bool {
        do {
            try job.instantiate(in: region, imports: configuration.hostFunctions, perInstance: configuration.instanceImports)
        } catch {
            afterSlice(job, worker, .failure(error))
            return false
        }
        if job.execution == nil {  // only instantiated (no entry, no start function): done
            afterSlice(job, worker, .success(.exited([])))
            return false
        }
        return true
    }

    private func enqueue(_ job: Job, fresh isFresh: Bool = true) {
        condition.lock()
        enqueueLocked(job, fresh: isFresh)
    }

    /// `enqueue` with the lock already held; releases it.
    private func enqueueLocked(_ job: Job, fresh isFresh: Bool) {
        if stopped {
            live -= 1
            job.phase = .finished
            condition.unlock()
            job.release()
            finish(job, .failure(SchedulerError.shutDown))
            return
        }  // (after shutdown nobody admits more, so the order of release and count does not matter)
        guard job.phase != .finished else {
            condition.unlock()
            return
        }
        job.phase = .queued
        if isFresh { fresh.push(job) } else { runQueue.push(job) }
        let sleeper = sleepers.popLast().flatMap { rings[$0] }
        condition.signal()
        condition.unlock()
        sleeper?.wake()
    }

    private func work(_ worker: Int) {
        var ring: Ring?
        if configuration.workerRings {
            do {
                ring = try Ring.worker()
            } catch {
                logger.warning("no io_uring for worker \(worker), its guests use the shared ring: \(error)")
            }
        }
        Ring.setCurrent(ring)
        condition.lock()
        rings[worker] = ring
        condition.unlock()
        defer {
            Ring.setCurrent(nil)
            if let ring, !ring.close() {
                logger.warning("worker \(worker)'s io_uring still had operations in flight at shutdown; left open")
            }
        }
        while let job = next(worker, ring) {
            if job.cancelled {
                afterSlice(job, worker, .failure(CancellationError()))
                continue
            }
            if !job.instantiated {
                job.instantiated = true
                guard makeInstance(job, worker) else { continue }
            }
            let state: Execution.State
            do {
                state = try job.execution!.resume()
            } catch {
                afterSlice(job, worker, .failure(error))
                continue
            }
            afterSlice(job, worker, .success(state))
        }
    }

    /// The next job for `worker`. Between slices the worker first runs its ring's completions
    /// (which re-queue the guests they resume); with nothing to run it sleeps in its ring, where
    /// either a completion or `enqueue`'s wake-up ends the sleep.
    private func next(_ worker: Int, _ ring: Ring?) -> Job? {
        var ran = ring?.drain() ?? 0
        condition.lock()
        defer { condition.unlock() }
        while true {
            stats.ringCompletions += ran
            ran = 0
            if stopped { return nil }
            let job: Job?
            if !fresh.isEmpty && (freshStreak < Self.freshBurst || runQueue.isEmpty) {
                freshStreak += 1
                job = fresh.pop()
            } else {
                freshStreak = 0
                job = runQueue.pop()
            }
            if let job {
                job.phase = .running
                job.sliceStart = now()
                running[worker] = job
                return job
            }
            if let ring {
                sleepers.append(worker)
                condition.unlock()
                ran = ring.wait()
                condition.lock()
                sleepers.removeAll { $0 == worker }
            } else {
                condition.wait()
            }
        }
    }

    private func afterSlice(_ job: Job, _ worker: Int, _ outcome: Result<Execution.State, any Error>) {
        condition.lock()
        running[worker] = nil
        if case .success(.parked) = outcome {  // the common case with I/O: one lock round
            job.phase = .parked
            parked[ObjectIdentifier(job)] = job
            condition.unlock()
            job.execution?.whenResumable { [weak self] in self?.unpark(job) }
            return
        }
        condition.unlock()
        switch outcome {
        case .failure(let error):
            retire(job, .failure(error))
        case .success(.yielded):
            yieldCounter.increment()
            condition.lock()
            stats.yields += 1
            condition.unlock()
            if job.cancelled {
                retire(job, .failure(CancellationError()))
            } else if job.timedOut || job.deadline.map({ now() >= $0 }) == true {
                retire(job, .failure(SchedulerError.timeLimitExceeded))
            } else {
                enqueue(job, fresh: false)  // used a whole slice: to the back of the main queue
            }
        case .success(.trapped(let trap)):
            trapCounter.increment()
            condition.lock()
            stats.traps += 1
            condition.unlock()
            retire(job, .failure(trap))
        case .success(.exited(let values)):
            retire(job, .success(values))
        case .success(let other):
            retire(job, .failure(ExecutionError.notResumable("a slice ended in state \(other)")))
        }
    }

    private func unpark(_ job: Job) {
        condition.lock()
        guard parked.removeValue(forKey: ObjectIdentifier(job)) != nil else {
            condition.unlock()
            return  // cancelled or shut down meanwhile
        }
        enqueueLocked(job, fresh: true)
    }

    /// A job that held a slot is done: free the slot (first, so the region has it back before
    /// anyone sees the lower count), report, admit the next waiting call.
    private func retire(_ job: Job, _ result: Result<[Value], any Error>) {
        job.release()
        condition.lock()
        live -= 1
        condition.unlock()
        complete(job, result)
    }

    private func complete(_ job: Job, _ result: Result<[Value], any Error>) {
        condition.lock()
        job.phase = .finished
        condition.unlock()
        job.release()
        completedCounter.increment()
        condition.lock()
        stats.completed += 1
        condition.unlock()
        finish(job, result)
        admitWaiting()
    }

    /// Calls the job's completion, once (a cancelled call hears early; later outcomes are dropped).
    private func finish(_ job: Job, _ result: Result<[Value], any Error>) {
        condition.lock()
        let onFinish = job.onFinish
        job.onFinish = nil
        condition.unlock()
        onFinish?(result)
    }

    private func admitWaiting() {
        while true {
            condition.lock()
            guard !stopped, live < configuration.slots, let job = waiting.pop() else {
                queuedGauge.record(waiting.count)
                condition.unlock()
                return
            }
            if job.phase == .finished {  // cancelled while waiting
                condition.unlock()
                continue
            }
            live += 1
            condition.unlock()
            start(job)
        }
    }

    /// Ends time slices and enforces wall-time limits of running (and parked) instances.
    private func tick() {
        let slice = configuration.timeSlice.nanoseconds
        var sweep = 0
        while true {
            usleep(UInt32(max(100, min(slice / 2_000, 10_000))))
            condition.lock()
            if stopped {
                condition.unlock()
                return
            }
            let t = now()
            var expiredParked: [Job] = []
            for case let job? in running {
                if let deadline = job.deadline, t >= deadline { job.timedOut = true }
                if job.timedOut || t - job.sliceStart >= slice { job.execution?.requestYield() }
            }
            sweep += 1
            if sweep % 100 == 0 {
                for job in parked.values where job.deadline.map({ t >= $0 }) == true { expiredParked.append(job) }
                for job in expiredParked { parked[ObjectIdentifier(job)] = nil }
            }
            condition.unlock()
            for job in expiredParked { retire(job, .failure(SchedulerError.timeLimitExceeded)) }
        }
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
