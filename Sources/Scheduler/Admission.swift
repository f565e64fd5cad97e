import Synchronization

/// Engine-wide admission: how many calls hold a slot (`live`, an atomic counter, changed without a
/// lock on every admission and retirement) and the queue of calls waiting for one. The queue has a
/// lock of its own, taken only when every slot is busy — when calls wait anyway — never on the
/// park, unpark or enqueue path.
///
/// No lost wake-up between a call that starts waiting and a slot that frees at the same moment:
/// the waiter counts itself in `waitingCount` and then re-reads `live`; the retirer lowers `live`
/// and then reads `waitingCount` (all sequentially consistent), so at least one of them sees the
/// other and admits the waiter.
final class Admission: @unchecked Sendable {  // counters atomic, `waiting` under `lock`
    let slots: Int
    let policy: SchedulerConfiguration.Admission
    private let liveCount = Atomic<Int>(0)
    private let waitingCount = Atomic<Int>(0)
    private let lock = SchedulerLock()
    private var waiting = FIFO<Job>()
    private let stopped = Atomic<Bool>(false)

    init(slots: Int, policy: SchedulerConfiguration.Admission) {
        self.slots = slots
        self.policy = policy
    }

    var live: Int { liveCount.load(ordering: .relaxed) }
    var waitingCalls: Int { waitingCount.load(ordering: .relaxed) }

    enum Outcome {
        /// Counted as live: place it on a worker.
        case admitted
        /// In the waiting queue (`admitted` lists calls that the re-check admitted instead).
        case waiting(admitted: [Job])
        case refused(String)
    }

    /// A new call. Lock-free while a slot is free.
    func submit(_ job: Job) -> Outcome {
        if stopped.load(ordering: .relaxed) { return .refused("shut down") }
        var live = liveCount.load(ordering: .relaxed)
        while live < slots {
            let (exchanged, current) = liveCount.compareExchange(expected: live, desired: live + 1, ordering: .sequentiallyConsistent)
            if exchanged {
                job.stage = .admitted
                return .admitted
            }
            live = current
        }
        lock.lock()
        switch SchedulingPolicy.admit(live: slots, slots: slots, waiting: waiting.count, admission: policy) {
        case .refuse(let reason):
            lock.unlock()
            return .refused(reason)
        case .wait, .admit:
            waiting.push(job)
            waitingCount.add(1, ordering: .sequentiallyConsistent)
            let admitted = admitWaitingLocked()
            lock.unlock()
            return .waiting(admitted: admitted)
        }
    }

    /// A call gave its slot back; returns waiting calls it admitted (to be queued by the caller).
    func release() -> [Job] {
        liveCount.subtract(1, ordering: .sequentiallyConsistent)
        guard waitingCount.load(ordering: .sequentiallyConsistent) > 0, !stopped.load(ordering: .relaxed) else { return [] }
        lock.lock()
        defer { lock.unlock() }
        return admitWaitingLocked()
    }

    /// A call that was admitted but never got a slot (its worker had stopped).
    func forget() { liveCount.subtract(1, ordering: .sequentiallyConsistent) }

    private func admitWaitingLocked() -> [Job] {
        var admitted: [Job] = []
        while !stopped.load(ordering: .relaxed), let next = peekLive() {
            var live = liveCount.load(ordering: .sequentiallyConsistent)
            var got = false
            while live < slots {
                let (exchanged, current) = liveCount.compareExchange(expected: live, desired: live + 1, ordering: .sequentiallyConsistent)
                if exchanged {
                    got = true
                    break
                }
                live = current
            }
            guard got else { break }
            _ = waiting.pop()
            waitingCount.subtract(1, ordering: .sequentiallyConsistent)
            next.stage = .admitted
            admitted.append(next)
        }
        return admitted
    }

    /// The first waiting call that was not cancelled (cancelled ones are dropped here).
    private func peekLive() -> Job? {
        while let first = waiting.first {
            if first.stage == .waiting { return first }
            _ = waiting.pop()
            waitingCount.subtract(1, ordering: .sequentiallyConsistent)
        }
        return nil
    }

    /// Cancels a waiting call: true if it was still waiting (it then never gets a slot).
    func cancelWaiting(_ job: Job) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard job.stage == .waiting else { return false }
        job.stage = .finished
        return true
    }

    /// Stops admitting; returns the calls that were waiting.
    func stop() -> [Job] {
        stopped.store(true, ordering: .sequentiallyConsistent)
        lock.lock()
        defer { lock.unlock() }
        var pending: [Job] = []
        while let job = waiting.pop() {
            if job.stage == .waiting {
                job.stage = .finished
                pending.append(job)
            }
        }
        waitingCount.store(0, ordering: .sequentiallyConsistent)
        return pending
    }
}
