import Glibc

/// A glibc *adaptive* mutex (and a condition variable), which spins briefly before sleeping in the
/// kernel, for the scheduler's few short critical sections that are not lock-free: a worker's
/// `SliceWatch` (the worker and the timer) and `Admission`'s waiting queue (only when every slot is
/// busy). A plain mutex (NSLock, NSCondition) puts the loser to sleep in a futex at once, and the
/// wake-up costs microseconds: when this was the scheduler's one lock, that was the largest item
/// in the TCP echo benchmark's profile.
///
/// The pthread objects live in manually allocated memory because they must not move.
final class SchedulerLock: @unchecked Sendable {  // a mutex: that is its purpose
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        var conditionAttributes = pthread_condattr_t()
        pthread_condattr_init(&conditionAttributes)
        pthread_condattr_setclock(&conditionAttributes, CLOCK_MONOTONIC)  // timed waits immune to clock changes
        pthread_cond_init(cond, &conditionAttributes)
        pthread_condattr_destroy(&conditionAttributes)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Sleeps until signalled; the lock must be held, and is held again on return.
    func wait() { pthread_cond_wait(cond, mutex) }
    /// Sleeps until signalled or `nanoseconds` have passed (or spuriously); as `wait()`.
    func wait(nanoseconds: UInt64) {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = UInt64(deadline.tv_nsec) + nanoseconds
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(cond, mutex, &deadline)
    }
    func signal() { pthread_cond_signal(cond) }
    func broadcast() { pthread_cond_broadcast(cond) }
}
