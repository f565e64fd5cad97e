import CShoal
import Foundation
import IOUring
import Runtime
import Synchronization

/// One scheduler worker: an actor whose executor is its own thread (`WorkerExecutor`). It owns,
/// as actor-isolated state, its run queue levels, its parked instances and its io_uring, and its
/// instances take their slots from its shard of the region first.
///
/// Its thread runs `loop()`, an isolated method, for the scheduler's lifetime: the loop, the
/// completions its ring runs and the host functions of its guests (all on that thread) reach the
/// worker's state directly or through `assumeIsolated` — no hop, no lock. Other threads reach it
/// through its inbox (`WorkerMessage`): new calls, wake-ups of its parked instances from other
/// threads, cancellations, and tasks that `await` the actor.
///
/// The only state other workers touch is lock-free: the stealable queue levels (`StealQueue`), the
/// counters, and the slice watch the timer reads under its per-worker lock.
actor Worker {
    nonisolated let index: Int
    nonisolated let executor: WorkerExecutor
    nonisolated let counters = WorkerCounters()
    nonisolated let watch = SliceWatch()
    /// The queue levels (stealable by other workers, pushed and popped by this one).
    nonisolated let freshQueue = StealQueue()
    nonisolated let mainQueue = StealQueue()
    private unowned let core: SchedulerCore
    private var levels: RunLevels<StealQueue>
    /// Parked instances, densely (each knows its index: `Job.parkedIndex`), so parking and waking
    /// cost no hashing.
    private var parked: [Job] = []
    private var stopping = false
    private var random: SchedulingPolicy.Random
    /// While the ring's completions run (`reaping`): instances they wake, queued only once the
    /// completions are counted (so a statistic never lags behind a call it finished), all at once.
    private var woken: [Job] = []
    private var reaping = false

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Whether anything waits for this worker's loop (read by the timer, from atomics): messages
    /// in its inbox, calls queued or being placed here, or parked instances (whose completions and
    /// time limits the loop handles between slices).
    nonisolated var hasWaitingWork: Bool {
        !executor.inbox.isEmpty || !freshQueue.isEmpty || !mainQueue.isEmpty
            || counters.pendingAdmits.load(ordering: .relaxed) > 0 || counters.parked.load(ordering: .relaxed) > 0
    }

    init(index: Int, core: SchedulerCore) {
        self.index = index
        self.core = core
        executor = WorkerExecutor(timer: core.timerBell)
        levels = RunLevels(fresh: freshQueue, main: mainQueue)
        random = SchedulingPolicy.Random(seed: UInt64(index) &* 0x2545_F491_4F6C_DD1D &+ 1)
    }

    /// The worker whose thread this is, if any.
    static var current: Worker? {
        shoal_current_worker().map { Unmanaged<Worker>.fromOpaque($0).takeUnretainedValue() }
    }

    // MARK: The loop

    /// The worker's life: handle messages, run the ring's completions, run the next slice; when
    /// there is nothing, steal; when there is nothing to steal, sleep in the ring.
    func loop() {
        shoal_set_current_worker(Unmanaged.passUnretained(self).toOpaque())
        defer { shoal_set_current_worker(nil) }
        while !stopping {
            executor.inbox.drain { handle($0) }
            if stopping { break }
            if let ring = executor.ring { reap { ring.drain() } }
            if SchedulingPolicy.takesFreshWorkFromOthers(freshEmpty: levels.fresh.isEmpty, mainEmpty: levels.main.isEmpty) {
                _ = steal(freshOnly: true)
            }
            if let job = levels.pop() {
                if !levels.fresh.isEmpty || !levels.main.isEmpty { core.wakeIdleWorker() }  // work is waiting
                runSlice(job)
                continue
            }
            if steal() { continue }
            idle()
        }
        stopHere()
    }

    private func handle(_ message: WorkerMessage) {
        switch message {
        case .admit(let job):
            counters.pendingAdmits.subtract(1, ordering: .relaxed)
            enqueue(job, .fresh)
        case .unpark(let job): unpark(job)
        case .cancel(let job): cancelHere(job)
        case .sweep: sweep()
        case .stop: stopping = true
        case .run(let job): executor.run(job)
        }
    }

    /// Runs the ring's completions through `body`, counting them before the instances they wake
    /// can run anywhere.
    private func reap(_ body: () -> Int) {
        reaping = true
        let ran = body()
        reaping = false
        if ran > 0 { counters.ringCompletions.add(ran, ordering: .relaxed) }
        guard !woken.isEmpty else { return }
        for job in woken { enqueue(job, .fresh) }
        woken.removeAll(keepingCapacity: true)
    }

    private func park(_ job: Job) {
        job.parkedIndex = parked.count
        parked.append(job)
        counters.parked.add(1, ordering: .relaxed)
    }

    /// Takes `job` off the parked set; false if it is not parked here.
    private func unparkIfParked(_ job: Job) -> Bool {
        let i = job.parkedIndex
        guard i >= 0, i < parked.count, parked[i] === job else { return false }
        let last = parked.removeLast()
        if i < parked.count {
            parked[i] = last
            last.parkedIndex = i
        }
        job.parkedIndex = -1
        counters.parked.subtract(1, ordering: .relaxed)
        return true
    }

    private func idle() {
        executor.sleeping.store(true, ordering: .sequentiallyConsistent)
        core.sleepers.add(1, ordering: .sequentiallyConsistent)
        defer {
            executor.sleeping.store(false, ordering: .sequentiallyConsistent)
            core.sleepers.subtract(1, ordering: .sequentiallyConsistent)
        }
        // Checked after announcing the sleep: whoever adds work from now on wakes this worker.
        guard executor.inbox.isEmpty, !core.workExists(besides: index) else { return }
        if let ring = executor.ring {
            reap { ring.wait() }
        } else {
            executor.sleepWithoutRing()
        }
    }

    /// Takes runnable calls from another worker (only new ones: `freshOnly`); false if there were none.
    private func steal(freshOnly: Bool = false) -> Bool {
        let workers = core.workers.count
        guard workers > 1 else { return false }
        let random = random.next()
        for k in 0..<(workers - 1) {
            let other = core.workers[SchedulingPolicy.victim(k, of: index, workers: workers, random: random)]
            if freshOnly && other.freshQueue.stealable == 0 { continue }
            var taken = other.freshQueue.steal()
            var level = SchedulingPolicy.Level.fresh
            if taken.isEmpty && !freshOnly {
                taken = other.mainQueue.steal()
                level = .main
            }
            guard !taken.isEmpty else { continue }
            counters.steals.add(1, ordering: .relaxed)
            counters.stolen.add(taken.count, ordering: .relaxed)
            for job in taken { enqueue(job, level) }
            return true
        }
        return false
    }

    // MARK: Slices

    private func enqueue(_ job: Job, _ level: SchedulingPolicy.Level) {
        job.owner = index
        levels.push(job, level)
    }

    private func runSlice(_ job: Job) {
        if job.isCancelled {
            retire(job, .failure(CancellationError()))
            return
        }
        if !job.instantiated {
            job.instantiated = true
            guard makeInstance(job) else { return }
        }
        let start = core.now()
        watch.begin(job, at: start)
        if job.deadline != nil { core.timerBell.ring() }  // a dozing timer must watch this limit
        counters.sliceStart.store(start, ordering: .relaxed)
        let outcome = Result { try job.execution!.resume() }
        counters.sliceStart.store(0, ordering: .relaxed)
        watch.end()
        afterSlice(job, outcome)
    }

    /// Makes a job's instance on this worker, in its shard; false if the job ended instead
    /// (instantiation failed — a link error, a trap in a data segment — or there was nothing to
    /// call after it).
    private func makeInstance(_ job: Job) -> Bool {
        do {
            try job.instantiate(in: core.region, shard: index, imports: core.configuration.hostFunctions,
                                perInstance: core.configuration.instanceImports)
        } catch {
            retire(job, .failure(error))
            return false
        }
        if job.execution == nil {  // only instantiated (no entry, no start function): done
            retire(job, .success([]))
            return false
        }
        return true
    }

    private func afterSlice(_ job: Job, _ outcome: Result<Execution.State, any Error>) {
        switch outcome {
        case .success(.parked):
            if job.isCancelled {
                retire(job, .failure(CancellationError()))
                return
            }
            park(job)
            job.execution?.whenResumable { [core, index] in core.unpark(job, owner: index) }
        case .success(.yielded):
            counters.yields.add(1, ordering: .relaxed)
            core.yieldCounter.increment()
            switch SchedulingPolicy.afterYield(cancelled: job.isCancelled, timedOut: job.timedOut, now: core.now(),
                                               deadline: job.deadline, fuelLimit: nil, fuelConsumed: 0) {
            case .requeue: enqueue(job, .main)  // used a whole slice: to the back of the main level
            case .cancel: retire(job, .failure(CancellationError()))
            case .timeLimit, .outOfFuel: retire(job, .failure(SchedulerError.timeLimitExceeded))
            }
        case .success(.trapped(let trap)):
            counters.traps.add(1, ordering: .relaxed)
            core.trapCounter.increment()
            retire(job, .failure(trap))
        case .success(.exited(let values)):
            retire(job, .success(values))
        case .success(let other):
            retire(job, .failure(ExecutionError.notResumable("a slice ended in state \(other)")))
        case .failure(let error):
            retire(job, .failure(error))
        }
    }

    /// A parked instance of this worker can resume.
    func unpark(_ job: Job) {
        guard unparkIfParked(job) else { return }  // cancelled or expired meanwhile
        if reaping {
            woken.append(job)
        } else {
            enqueue(job, .fresh)
        }
    }

    private func cancelHere(_ job: Job) {
        if unparkIfParked(job) {
            retire(job, .failure(CancellationError()))
        } else if job.owner != index, job.stage == .admitted {
            core.workers[job.owner].executor.send(.cancel(job))  // stolen meanwhile: its new owner parks it
        }
        // Otherwise it is queued or running here: the flag stops it when it next comes up.
    }

    private func sweep() {
        let now = core.now()
        let expired = parked.filter { $0.deadline.map { now >= $0 } == true }
        for job in expired where unparkIfParked(job) { retire(job, .failure(SchedulerError.timeLimitExceeded)) }
    }

    /// A job that held a slot is done: free the slot (first, so the region has it back before
    /// anyone sees the lower count), report, and queue any waiting calls that admits.
    private func retire(_ job: Job, _ result: Result<[Value], any Error>) {
        job.release()
        job.stage = .finished
        counters.completed.add(1, ordering: .relaxed)
        core.completedCounter.increment()
        job.finish(result)
        for admitted in core.admission.release() {
            if stopping {
                core.admission.forget()
                admitted.finish(.failure(SchedulerError.shutDown))
            } else {
                enqueue(admitted, .fresh)
            }
        }
    }

    /// Shutdown: every call still here ends with `shutDown`; messages still in the inbox are
    /// answered; later ones are refused by the closed inbox (their senders answer them).
    private func stopHere() {
        stopping = true
        for message in executor.inbox.close() {
            switch message {
            case .admit(let job):
                counters.pendingAdmits.subtract(1, ordering: .relaxed)
                core.admission.forget()
                job.stage = .finished
                job.finish(.failure(SchedulerError.shutDown))
            case .run(let job): executor.run(job)
            case .unpark, .cancel, .sweep, .stop: break
            }
        }
        while let job = levels.pop() {
            retire(job, .failure(SchedulerError.shutDown))
        }
        for job in parked where unparkIfParked(job) { retire(job, .failure(SchedulerError.shutDown)) }
        core.workersEnded.add(1, ordering: .sequentiallyConsistent)
    }

    /// Runs `body` isolated to this worker, from code already on the worker's thread that the
    /// compiler cannot see is (a completion callback run by the worker's ring inside its loop).
    /// What `assumeIsolated` does, with the check made on the thread's identity: the standard
    /// check asks the concurrency runtime, which on a thread with no current task costs ~190 ns
    /// (measured), as much as a quarter of a whole park-and-wake. The precondition keeps it safe.
    nonisolated func onOwnThread<T>(_ body: (isolated Worker) -> T) -> T {
        precondition(executor.isCurrent, "not on worker \(index)'s thread")
        return withoutActuallyEscaping(body) { escapable in
            unsafeBitCast(escapable, to: ((Worker) -> T).self)(self)
        }
    }

    /// This worker's counters, read on its own executor (an `await` from elsewhere hops here).
    func snapshot() -> Scheduler.WorkerSnapshot {
        Scheduler.WorkerSnapshot(queued: levels.count, parked: parked.count, completed: counters.completed.load(ordering: .relaxed),
                                 steals: counters.steals.load(ordering: .relaxed), stolen: counters.stolen.load(ordering: .relaxed))
    }
}

/// A worker's counters: written by the worker (`pendingAdmits` also by whoever places a call there),
/// read by anyone. Atomic, so a reader never sees a torn or stale-forever value.
final class WorkerCounters: Sendable {
    /// Calls placed here still in the inbox (for placement: they will be new calls here).
    let pendingAdmits = Atomic<Int>(0)
    /// When the current slice began (0: not running one), for placement.
    let sliceStart = Atomic<UInt64>(0)
    let parked = Atomic<Int>(0)
    let completed = Atomic<Int>(0)
    let traps = Atomic<Int>(0)
    let yields = Atomic<Int>(0)
    /// Thefts this worker made, and calls it took by them.
    let steals = Atomic<Int>(0)
    let stolen = Atomic<Int>(0)
    let ringCompletions = Atomic<Int>(0)
}
