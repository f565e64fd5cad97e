import CShoal
import Foundation
import IOUring
import Synchronization

/// The serial executor of one scheduler worker: its jobs run on the worker's own thread, in its
/// loop between time slices — as swift-nio's event loops serve as actor executors. The worker
/// actor (`Worker`) uses it as its `unownedExecutor`, so a task that awaits the worker hops onto
/// the worker's thread through `enqueue`, which puts the job in the worker's inbox and wakes the
/// worker exactly as a new call or an I/O completion does: one wake-up path.
///
/// Sleeping and waking: an idle worker sets `sleeping`, checks its inbox once more, and sleeps in
/// its io_uring (`Ring.wait`, which a completion also ends) or, without rings, on a semaphore.
/// A producer pushes, then clears `sleeping` and wakes the worker if it was set. Both sides use
/// sequentially consistent operations, so either the worker sees the message before sleeping or
/// the producer sees the flag and wakes it: no lost wake-up.
final class WorkerExecutor: SerialExecutor, @unchecked Sendable {  // shared state is atomic or set before the worker starts
    let inbox = Inbox()
    let sleeping = Atomic<Bool>(false)
    /// The scheduler's timer, told of every message: one may mean a slice should end.
    private let timer: TimerBell
    /// The worker's ring, set once by its thread before the scheduler's init returns.
    private(set) var ring: Ring?
    private let semaphore = DispatchSemaphore(value: 0)
    private var thread: pthread_t?
    /// After shutdown the worker's thread is gone: jobs still enqueued run on the enqueuing
    /// thread, one at a time under this lock (`runningClosed` marks that thread for `checkIsolated`).
    private let closedLock = NSLock()
    private let closedRunner = Atomic<UInt>(0)

    init(timer: TimerBell) { self.timer = timer }

    /// Called on the worker's thread when it starts.
    func attach(ring: Ring?) {
        thread = pthread_self()
        self.ring = ring
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        if !send(.run(unowned)) { runClosed(unowned) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    /// Whether the calling thread is the worker's (or runs its jobs after shutdown).
    var isCurrent: Bool {
        if let thread, pthread_equal(thread, pthread_self()) != 0 { return true }
        return closedRunner.load(ordering: .acquiring) == UInt(pthread_self())
    }

    func checkIsolated() {
        precondition(isCurrent, "not on the scheduler worker's thread")
    }

    /// Puts a message in the inbox and wakes the worker; false once the worker has stopped.
    @discardableResult
    func send(_ message: WorkerMessage) -> Bool {
        guard inbox.push(message) else { return false }
        wake()
        timer.ring()
        return true
    }

    /// Ends the worker's sleep, if it sleeps. Any thread.
    func wake() {
        guard sleeping.load(ordering: .sequentiallyConsistent), sleeping.exchange(false, ordering: .sequentiallyConsistent) else { return }
        if let ring { ring.wake() } else { semaphore.signal() }
    }

    /// The worker's thread, without a ring: sleeps until `wake()`.
    func sleepWithoutRing() { semaphore.wait() }

    private func runClosed(_ job: UnownedJob) {
        closedLock.lock()
        closedRunner.store(UInt(pthread_self()), ordering: .releasing)
        job.runSynchronously(on: asUnownedSerialExecutor())
        closedRunner.store(0, ordering: .releasing)
        closedLock.unlock()
    }

    /// Runs a job taken from the inbox (worker's thread).
    func run(_ job: UnownedJob) { job.runSynchronously(on: asUnownedSerialExecutor()) }
}

/// What the scheduler's timer needs to see of a worker's current slice: the job and when its
/// slice began. A small per-worker lock, taken twice per slice by the worker (uncontended but for
/// the timer's visit every tick and a cancellation's), never shared between workers.
final class SliceWatch: @unchecked Sendable {  // guarded by `lock`
    private let lock = SchedulerLock()
    private var job: Job?
    private var start: UInt64 = 0

    func begin(_ job: Job, at now: UInt64) {
        lock.lock()
        self.job = job
        start = now
        lock.unlock()
    }

    func end() {
        lock.lock()
        job = nil
        lock.unlock()
    }

    /// The timer: ends a call past its wall-time limit, and a slice that ran `slice` nanoseconds
    /// if other work is `contended` for (see `SchedulingPolicy.endsSlice`). Returns whether the
    /// running call has a wall-time limit still to watch.
    @discardableResult
    func check(now: UInt64, slice: UInt64, contended: Bool) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let job else { return false }
        if let deadline = job.deadline, now >= deadline { job.markTimedOut() }
        if job.timedOut || SchedulingPolicy.endsSlice(ran: now &- start, slice: slice, contended: contended) {
            job.execution?.requestYield()
        }
        return job.deadline != nil && !job.timedOut
    }

    /// Asks `job` to yield if it is the one running (a cancellation).
    func interrupt(_ job: Job) {
        lock.lock()
        defer { lock.unlock() }
        if self.job === job { job.execution?.requestYield() }
    }
}
