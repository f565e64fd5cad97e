import Glibc
import Synchronization

/// How the scheduler's timer sleeps while no slice needs ending: instead of waking every tick, it
/// dozes until a message reaches a worker (`ring`, from `WorkerExecutor.send`) or `longest` passes.
///
/// While every worker either idles or runs a call alone, with nothing queued, parked or arriving
/// and no wall-time limit to watch, a tick has nothing to do: slices are not ended
/// (`SchedulingPolicy.endsSlice`). Waking every millisecond anyway cost a single run about 270
/// context switches a quarter-second (wasmtime's process: 8).
///
/// No lost wake-up: the timer sets `dozing`, then looks for waiting work once more, then sleeps
/// (all under the lock); a producer makes its work visible (an inbox push), then reads `dozing`
/// and, if set, signals under the lock. Both sides order their store before their load with a
/// sequentially consistent fence, so either the timer sees the work or the producer sees the flag.
final class TimerBell: @unchecked Sendable {  // `lock` guards the sleep; `dozing` is atomic
    private let lock = SchedulerLock()
    private let dozing = Atomic<Bool>(false)

    /// The longest doze: a bound on a wake-up that could ever be missed, not a tick.
    static let longest: UInt64 = 50_000_000

    /// Producers, after making work visible. Costs one fence and one load when the timer is awake.
    func ring() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard dozing.load(ordering: .relaxed) else { return }
        lock.lock()
        lock.signal()
        lock.unlock()
    }

    /// The timer: sleeps up to `nanoseconds` unless `workWaits()` (checked after announcing the
    /// doze) says something is already there, or a producer rings meanwhile.
    func doze(nanoseconds: UInt64, unless workWaits: () -> Bool) {
        lock.lock()
        dozing.store(true, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if !workWaits() { lock.wait(nanoseconds: nanoseconds) }
        dozing.store(false, ordering: .relaxed)
        lock.unlock()
    }
}
