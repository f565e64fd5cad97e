import Foundation
import Runtime

/// A single-threaded twin of `Scheduler` with virtual time, for tests (as swift-nio's
/// EmbeddedEventLoop is to its event loops): the same policies — two-level round robin (calls that
/// have not used a whole slice first, with a burst limit so the others never starve), admission with
/// a bounded queue, cancellation, fuel and wall-time limits — but run on the caller's thread, one
/// slice per `step()`, with time slices measured in fuel so every run is exactly reproducible.
///
/// Virtual time advances by the fuel each slice consumes (one unit = one virtual nanosecond).
/// Modules must be compiled with fuel (`CompileOptions(fuel: true)`).
public final class DeterministicScheduler {
    public final class Handle {
        public fileprivate(set) var result: Result<[Value], any Error>?
        /// Virtual time of submission and completion.
        public let submittedAt: UInt64
        public fileprivate(set) var finishedAt: UInt64?
        fileprivate let job: TwinJob
        fileprivate init(job: TwinJob, at: UInt64) {
            self.job = job
            submittedAt = at
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
        weak var handle: Handle?
        init(module: LoadedModule, entry: String, arguments: [Value], limits: InstanceLimits) {
            self.module = module
            self.entry = entry
            self.arguments = arguments
            self.limits = limits
        }
    }

    public let slots: Int
    public let admission: SchedulerConfiguration.Admission
    public let sliceFuel: Int64
    let region: Region
    public private(set) var now: UInt64 = 0
    private var fresh = FIFO<Handle>()
    private var runQueue = FIFO<Handle>()
    private var freshStreak = 0
    private var waiting = FIFO<Handle>()
    private var parked: [ObjectIdentifier: Handle] = [:]
    public private(set) var live = 0
    public private(set) var yields = 0

    public init(slots: Int, admission: SchedulerConfiguration.Admission = .queue(limit: 1_000_000), sliceFuel: Int64 = 10_000,
                memoryPages: Int = 4) throws {
        self.slots = slots
        self.admission = admission
        self.sliceFuel = sliceFuel
        region = try Region(Region.Configuration(slotCount: slots, heapMode: .bounded, memoryPages: memoryPages))
    }

    @discardableResult
    public func submit(_ module: LoadedModule, entry: String, arguments: [Value] = [], limits: InstanceLimits = InstanceLimits()) -> Handle {
        let handle = Handle(job: TwinJob(module: module, entry: entry, arguments: arguments, limits: limits), at: now)
        handle.job.handle = handle
        if live < slots {
            start(handle)
        } else if case .queue(let limit) = admission, waiting.count < limit {
            waiting.push(handle)
        } else {
            finish(handle, .failure(SchedulerError.overloaded("all \(slots) slots busy")), holdsSlot: false)
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
        expireParked()
    }

    /// Runs one slice of the job at the head of the run queue; false when the queue is empty.
    @discardableResult
    public func step() -> Bool {
        let next: Handle?
        if !fresh.isEmpty && (freshStreak < Scheduler.freshBurst || runQueue.isEmpty) {
            freshStreak += 1
            next = fresh.pop()
        } else {
            freshStreak = 0
            next = runQueue.pop()
        }
        guard let handle = next else { return false }
        let job = handle.job
        if job.finished { return true }
        if job.cancelled { finish(handle, .failure(CancellationError()), holdsSlot: true); return true }
        if let wall = job.limits.wallTime, now - handle.submittedAt >= wall.nanoseconds {
            finish(handle, .failure(SchedulerError.timeLimitExceeded), holdsSlot: true)
            return true
        }
        guard job.store != nil, job.execution != nil else { return true }
        // No local strong references to the store or execution: `finish` must be able to free
        // the slot at once, for the next call it admits.
        let budget = job.limits.fuel.map { min(sliceFuel, max(0, $0 - job.consumed)) } ?? sliceFuel
        job.store!.setFuel(budget)
        let state: Execution.State
        do {
            state = try job.execution!.resume()
        } catch {
            finish(handle, .failure(error), holdsSlot: true)
            return true
        }
        // Fuel left is -1 once exhausted: a slice that ran out consumed budget + 1.
        let used = budget - job.store!.fuel(of: job.store!.allInstances[0])
        job.consumed += used
        now += UInt64(max(used, 1))
        switch state {
        case .yielded:
            yields += 1
            if let fuel = job.limits.fuel, job.consumed > fuel {
                finish(handle, .failure(Trap(code: .outOfFuel)), holdsSlot: true)
            } else {
                runQueue.push(handle)  // used a whole slice
            }
        case .parked:
            job.parked = true
            parked[ObjectIdentifier(handle)] = handle
        case .trapped(let trap): finish(handle, .failure(trap), holdsSlot: true)
        case .exited(let values): finish(handle, .success(values), holdsSlot: true)
        default: finish(handle, .failure(ExecutionError.notResumable("\(state)")), holdsSlot: true)
        }
        expireParked()
        return true
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

    /// Parked calls whose completion arrived go back on the run queue.
    public func pollParked() {
        for (key, handle) in parked {
            if handle.job.execution?.isResumable == true {
                parked[key] = nil
                handle.job.parked = false
                fresh.push(handle)
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

    private func start(_ handle: Handle) {
        live += 1
        let job = handle.job
        do {
            let store = Store(region: region)
            store.fuelPolicy = .yield
            store.memoryPageLimit = job.limits.memoryPages
            let instance = try store.instantiate(job.module) { _, _ in nil }
            guard case .function(let function)? = instance.export(job.entry) else { throw SchedulerError.noSuchFunction(job.entry) }
            job.execution = try Execution(function, arguments: job.arguments)
            job.store = store
            fresh.push(handle)
        } catch {
            finish(handle, .failure(error), holdsSlot: true)
        }
    }

    private func finish(_ handle: Handle, _ result: Result<[Value], any Error>, holdsSlot: Bool) {
        let job = handle.job
        guard !job.finished else { return }
        job.finished = true
        job.execution?.cancel()
        job.execution = nil
        job.store = nil
        handle.result = result
        handle.finishedAt = now
        if holdsSlot {
            live -= 1
            while live < slots, let next = waiting.pop() {
                if next.job.cancelled {
                    finish(next, .failure(CancellationError()), holdsSlot: false)
                } else {
                    start(next)
                }
            }
        }
    }
}
