import Foundation
import Runtime

/// A single-threaded twin of `Scheduler` with virtual time, for tests and simulations (as
/// swift-nio's EmbeddedEventLoop is to its event loops). It runs the same `SchedulingPolicy` —
/// placement by the power of two choices, two queue levels with a burst limit, admission with a
/// bounded queue, stealing half a victim's queue, cancellation, fuel and wall-time limits — over
/// `workers` virtual workers, on the caller's thread, one slice per `step()`, with time slices
/// measured in fuel so every run is exactly reproducible.
///
/// Each virtual worker has its own clock, which advances by the fuel each of its slices consumes
/// (one unit = one virtual nanosecond). `step()` runs the worker whose clock is earliest among
/// those with work (a discrete-event simulation); a worker with nothing queued steals first, and
/// an idle worker's clock catches up with the time at which it gets work. With one worker this is
/// a plain round-robin twin. Modules must be compiled with fuel (`CompileOptions(fuel: true)`).
public final class DeterministicScheduler {
    public final class Handle {
        public fileprivate(set) var result: Result<[Value], any Error>?
        /// Virtual time of submission and completion.
        public let submittedAt: UInt64
        public fileprivate(set) var finishedAt: UInt64?
        /// The virtual worker it ran on last.
        public fileprivate(set) var worker: Int
        fileprivate let job: TwinJob
        fileprivate init(job: TwinJob, at: UInt64, worker: Int) {
            self.job = job
            submittedAt = at
            self.worker = worker
        }
        public var latency: UInt64? { finishedAt.map { $0 - submittedAt } }
    }

    fileprivate final class TwinJob {
        let module: LoadedModule
        let entry: String
        let arguments: [Value]
        let limits: InstanceLimits
        var store: Store?
        var execution: Execution?
        var consumed: Int64 = 0
        var cancelled = false
        var finished = false
        var parked = false
        var started = false
        init(module: LoadedModule, entry: String, arguments: [Value], limits: InstanceLimits) {
            self.module = module
            self.entry = entry
            self.arguments = arguments
            self.limits = limits
        }
    }

    /// Per-worker totals of a run.
    public struct WorkerStatistics: Sendable {
        public var slices = 0
        public var steals = 0
        public var stolen = 0
        public var longestQueue = 0
    }

    public let slots: Int
    public let admission: SchedulerConfiguration.Admission
    public let sliceFuel: Int64
    let region: Region
    /// The time of the event being processed (the last stepped worker's clock, never decreasing).
    public private(set) var now: UInt64 = 0
    private var clocks: [UInt64]
    private var levels: [RunLevels<FIFO<Handle>>]
    private var waiting = FIFO<Handle>()
    private var parked: [ObjectIdentifier: Handle] = [:]
    private var random: SchedulingPolicy.Random
    public private(set) var live = 0
    public private(set) var yields = 0
    public private(set) var workerStatistics: [WorkerStatistics]
    /// Whether idle workers steal (off: to measure what stealing is worth).
    public let stealing: Bool

    public init(slots: Int, admission: SchedulerConfiguration.Admission = .queue(limit: 1_000_000), sliceFuel: Int64 = 10_000,
                memoryPages: Int = 4, workers: Int = 1, seed: UInt64 = 1, stealing: Bool = true) throws {
        self.stealing = stealing
        precondition(workers >= 1)
        self.slots = slots
        self.admission = admission
        self.sliceFuel = sliceFuel
        region = try Region(Region.Configuration(slotCount: slots, heapMode: .bounded, memoryPages: memoryPages, guardPages: .never,
                                                 shards: workers))
        clocks = Array(repeating: 0, count: workers)
        levels = Array(repeating: RunLevels(fresh: FIFO(), main: FIFO()), count: workers)
        workerStatistics = Array(repeating: WorkerStatistics(), count: workers)
        random = SchedulingPolicy.Random(seed: seed)
    }

    public var workers: Int { clocks.count }

    /// Calls queued on each virtual worker.
    public var queueLengths: [Int] { levels.map(\.count) }

    /// The virtual time of the next slice: the earliest clock among workers with queued calls
    /// (nil when nothing is queued). A driver submitting calls at given times submits those due
    /// before it, after `advance(to:)`.
    public var nextEventTime: UInt64? {
        levels.indices.filter { levels[$0].count > 0 }.map { max(clocks[$0], now) }.min()
    }

    /// Moves virtual time forward to `time` (if it is later than now).
    public func advance(to time: UInt64) {
        if time > now { advance(by: time - now) }
    }

    @discardableResult
    public func submit(_ module: LoadedModule, entry: String, arguments: [Value] = [], limits: InstanceLimits = InstanceLimits()) -> Handle {
        let worker = SchedulingPolicy.place(workers: workers, random: random.next()) {
            SchedulingPolicy.Load(freshQueued: levels[$0].fresh.count, busySince: levels[$0].count == 0 ? 0 : clocks[$0])
        }
        let handle = Handle(job: TwinJob(module: module, entry: entry, arguments: arguments, limits: limits), at: now, worker: worker)
        switch SchedulingPolicy.admit(live: live, slots: slots, waiting: waiting.count, admission: admission) {
        case .admit: start(handle, on: worker)
        case .wait: waiting.push(handle)
        case .refuse(let reason): finish(handle, .failure(SchedulerError.overloaded(reason)), holdsSlot: false)
        }
        return handle
    }

    public func cancel(_ handle: Handle) {
        handle.job.cancelled = true
        if parked.removeValue(forKey: ObjectIdentifier(handle)) != nil { finish(handle, .failure(CancellationError()), holdsSlot: true) }
    }

    /// Moves virtual time forward without running anything (e.g. while everything is parked).
    public func advance(by nanoseconds: UInt64) {
        now += nanoseconds
        for w in clocks.indices { clocks[w] = max(clocks[w], now) }
        expireParked()
    }

    /// Runs one slice on the earliest worker with work (stealing first if its own queues are
    /// empty); false when nothing anywhere is runnable.
    @discardableResult
    public func step() -> Bool {
        guard let worker = nextWorker() else { return false }
        now = max(now, clocks[worker])
        clocks[worker] = now
        if levels[worker].count == 0 {
            steal(into: worker)
        } else if stealing, SchedulingPolicy.takesFreshWorkFromOthers(freshEmpty: levels[worker].fresh.isEmpty,
                                                                    mainEmpty: levels[worker].main.isEmpty) {
            steal(into: worker, freshOnly: true)
        }
        guard let handle = levels[worker].pop() else { return false }
        workerStatistics[worker].slices += 1
        handle.worker = worker
        runSlice(handle, on: worker)
        expireParked()
        return true
    }

    /// The worker that runs next: the earliest clock among workers with queued calls; if none
    /// has any, nothing runs. An idle worker competes too, with its clock raised to the time of
    /// the earliest queued work, so it steals when it would be free first.
    private func nextWorker() -> Int? {
        let busy = levels.indices.filter { levels[$0].count > 0 }
        guard let earliest = busy.min(by: { clocks[$0] < clocks[$1] }) else { return nil }
        // Every busy worker is busy until its clock: an idle worker free no later than the earliest
        // of them takes work from one busy beyond that time (its queued calls would otherwise wait).
        guard stealing, levels.count > 1 else { return earliest }
        let idle = levels.indices.filter { levels[$0].count == 0 }
        if let thief = idle.min(by: { clocks[$0] < clocks[$1] }) {
            let free = max(clocks[thief], now)
            if free <= clocks[earliest], busy.contains(where: { clocks[$0] > free }) { return thief }
        }
        return earliest
    }

    private func steal(into thief: Int, freshOnly: Bool = false) {
        guard workers > 1 else { return }
        for victim in SchedulingPolicy.victims(of: thief, workers: workers, random: random.next()) {
            var level = SchedulingPolicy.Level.fresh
            var n = SchedulingPolicy.stealCount(queued: levels[victim].fresh.count)
            if n == 0 && freshOnly { continue }
            if n == 0 {
                level = .main
                n = SchedulingPolicy.stealCount(queued: levels[victim].main.count)
            }
            guard n > 0, clocks[victim] > now else { continue }  // a victim not busy runs its own calls
            for _ in 0..<n {
                let taken = level == .fresh ? levels[victim].fresh.pop() : levels[victim].main.pop()
                if let taken { levels[thief].push(taken, level) }
            }
            workerStatistics[thief].steals += 1
            workerStatistics[thief].stolen += n
            return
        }
    }

    private func runSlice(_ handle: Handle, on worker: Int) {
        let job = handle.job
        if job.finished { return }
        if job.cancelled { finish(handle, .failure(CancellationError()), holdsSlot: true); return }
        if let wall = job.limits.wallTime, now - handle.submittedAt >= wall.nanoseconds {
            finish(handle, .failure(SchedulerError.timeLimitExceeded), holdsSlot: true)
            return
        }
        if !job.started {
            job.started = true
            guard instantiate(handle, on: worker) else { return }
        }
        guard job.store != nil, job.execution != nil else { return }
        // No local strong references to the store or execution: `finish` must be able to free
        // the slot at once, for the next call it admits.
        let budget = job.limits.fuel.map { min(sliceFuel, max(0, $0 - job.consumed)) } ?? sliceFuel
        job.store!.setFuel(budget)
        let state: Execution.State
        do {
            state = try job.execution!.resume()
        } catch {
            finish(handle, .failure(error), holdsSlot: true)
            return
        }
        // Fuel left is -1 once exhausted: a slice that ran out consumed budget + 1.
        let used = budget - job.store!.fuel(of: job.store!.allInstances[0])
        job.consumed += used
        clocks[worker] += UInt64(max(used, 1))
        let end = clocks[worker]
        defer {
            // Time moves on to the next event: the end of this slice, or an earlier slice of a
            // worker that is still busy (with one worker, always the end of this slice).
            now = max(now, min(end, nextEventTime ?? end))
        }
        switch state {
        case .yielded:
            yields += 1
            switch SchedulingPolicy.afterYield(cancelled: job.cancelled, timedOut: false, now: now, deadline: nil,
                                               fuelLimit: job.limits.fuel, fuelConsumed: job.consumed) {
            case .requeue: push(handle, .main, on: worker)  // used a whole slice
            case .outOfFuel: finish(handle, .failure(Trap(code: .outOfFuel)), holdsSlot: true, at: end)
            case .cancel: finish(handle, .failure(CancellationError()), holdsSlot: true, at: end)
            case .timeLimit: finish(handle, .failure(SchedulerError.timeLimitExceeded), holdsSlot: true, at: end)
            }
        case .parked:
            job.parked = true
            parked[ObjectIdentifier(handle)] = handle
        case .trapped(let trap): finish(handle, .failure(trap), holdsSlot: true, at: end)
        case .exited(let values): finish(handle, .success(values), holdsSlot: true, at: end)
        default: finish(handle, .failure(ExecutionError.notResumable("\(state)")), holdsSlot: true, at: end)
        }
    }

    private func push(_ handle: Handle, _ level: SchedulingPolicy.Level, on worker: Int) {
        if levels[worker].count == 0 { clocks[worker] = max(clocks[worker], now) }  // an idle worker starts on it now
        levels[worker].push(handle, level)
        workerStatistics[worker].longestQueue = max(workerStatistics[worker].longestQueue, levels[worker].count)
    }

    /// Runs slices until nothing is runnable (parked calls wait for their completions).
    public func runUntilIdle(maxSteps: Int = .max) {
        var steps = 0
        while steps < maxSteps {
            pollParked()
            guard step() else { return }
            steps += 1
        }
    }

    /// Parked calls whose completion arrived go back on their worker's fresh level.
    public func pollParked() {
        for (key, handle) in parked {
            if handle.job.execution?.isResumable == true {
                parked[key] = nil
                handle.job.parked = false
                push(handle, .fresh, on: handle.worker)
            }
        }
    }

    public var parkedCount: Int { parked.count }
    public var waitingCount: Int { waiting.count }

    private func expireParked() {
        for (key, handle) in parked {
            if let wall = handle.job.limits.wallTime, now - handle.submittedAt >= wall.nanoseconds {
                parked[key] = nil
                finish(handle, .failure(SchedulerError.timeLimitExceeded), holdsSlot: true)
            }
        }
    }

    /// Admits a call onto `worker`; its instance is made when the worker first runs it (as the
    /// threaded scheduler does), in that worker's shard.
    private func start(_ handle: Handle, on worker: Int) {
        live += 1
        handle.worker = worker
        push(handle, .fresh, on: worker)
    }

    private func instantiate(_ handle: Handle, on worker: Int) -> Bool {
        let job = handle.job
        do {
            let store = Store(region: region)
            store.slotShard = worker
            store.fuelPolicy = .yield
            store.memoryPageLimit = job.limits.memoryPages
            let instance = try store.instantiate(job.module) { _, _ in nil }
            guard case .function(let function)? = instance.export(job.entry) else { throw SchedulerError.noSuchFunction(job.entry) }
            job.execution = try Execution(function, arguments: job.arguments)
            job.store = store
            return true
        } catch {
            finish(handle, .failure(error), holdsSlot: true)
            return false
        }
    }

    private func finish(_ handle: Handle, _ result: Result<[Value], any Error>, holdsSlot: Bool, at time: UInt64? = nil) {
        let job = handle.job
        guard !job.finished else { return }
        job.finished = true
        job.execution?.cancel()
        job.execution = nil
        job.store = nil
        handle.result = result
        handle.finishedAt = time ?? now
        if holdsSlot {
            live -= 1
            while live < slots, let next = waiting.pop() {
                if next.job.cancelled {
                    finish(next, .failure(CancellationError()), holdsSlot: false)
                } else {
                    start(next, on: handle.worker)  // the slot just freed is in this worker's shard
                }
            }
        }
    }
}
