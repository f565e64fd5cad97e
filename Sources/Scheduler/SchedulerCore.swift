import Foundation
import Logging
import Metrics
import Runtime
import Synchronization

/// What a scheduler's workers share: the configuration, the region, engine-wide admission, the
/// list of workers (to steal from and to route wake-ups to) and metrics. Nothing here is a lock on
/// the park, unpark or enqueue path: those touch one worker's own state, or its inbox.
final class SchedulerCore: @unchecked Sendable {  // immutable after init but `workers`, set once before any worker runs
    let configuration: SchedulerConfiguration
    let region: Region
    let admission: Admission
    let logger: Logger
    private(set) var workers: [Worker] = []
    /// Workers asleep (or about to be): lets a busy worker skip looking for one to wake.
    let sleepers = Atomic<Int>(0)
    let stopped = Atomic<Bool>(false)
    /// Wakes the scheduler's timer from a doze (see `Scheduler.tick`).
    let timerBell = TimerBell()
    /// Workers whose loop has ended (the timer runs until all have: a slice running at shutdown
    /// must still be ended for its worker to see the stop).
    let workersEnded = Atomic<Int>(0)
    private let placementSeed = Atomic<UInt64>(0x853C_49E6_748F_EA9B)

    let yieldCounter = Counter(label: "shoal_yields_total")
    let trapCounter = Counter(label: "shoal_traps_total")
    let completedCounter = Counter(label: "shoal_instances_completed_total")

    init(configuration: SchedulerConfiguration, region: Region, logger: Logger) {
        self.configuration = configuration
        self.region = region
        self.logger = logger
        admission = Admission(slots: configuration.slots, policy: configuration.admission)
    }

    func attach(_ workers: [Worker]) { self.workers = workers }

    func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Hands an admitted call to a worker: the less loaded of two (`SchedulingPolicy.place`).
    func place(_ job: Job) {
        var chosen = 0
        if configuration.placement == .powerOfTwoChoices {
            var state = placementSeed.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
            chosen = SchedulingPolicy.place(workers: workers.count, random: SchedulingPolicy.Random.mix(&state)) {
                let w = workers[$0]
                return SchedulingPolicy.Load(freshQueued: w.counters.pendingAdmits.load(ordering: .relaxed) + w.freshQueue.count,
                                             busySince: w.counters.sliceStart.load(ordering: .relaxed))
            }
        }
        let worker = workers[chosen]
        job.owner = chosen
        worker.counters.pendingAdmits.add(1, ordering: .relaxed)
        if !worker.executor.send(.admit(job)) {  // the worker has stopped
            worker.counters.pendingAdmits.subtract(1, ordering: .relaxed)
            admission.forget()
            job.stage = .finished
            job.finish(.failure(SchedulerError.shutDown))
        }
    }

    /// A parked instance's completion arrived, on whatever thread delivered it: on its worker's
    /// own thread (its ring's completions, the common case) the worker takes it back directly;
    /// from anywhere else, by a message.
    func unpark(_ job: Job, owner: Int) {
        let worker = workers[owner]
        if Worker.current === worker {
            worker.onOwnThread { $0.unpark(job) }
        } else {
            worker.executor.send(.unpark(job))
        }
    }

    /// Wakes one sleeping worker (to steal what a busy one has queued).
    func wakeIdleWorker() {
        guard sleepers.load(ordering: .relaxed) > 0 else { return }
        for worker in workers where worker.executor.sleeping.load(ordering: .relaxed) {
            worker.executor.wake()
            return
        }
    }

    /// Whether any worker other than `index` has calls queued (that an idle one could steal).
    func workExists(besides index: Int) -> Bool {
        for (i, worker) in workers.enumerated() where i != index {
            if worker.freshQueue.stealable > 0 || worker.mainQueue.stealable > 0 { return true }
        }
        return false
    }
}
