import Foundation
import Synchronization
import Testing
@testable import Scheduler

/// The timer's doze (`TimerBell`): it ends when a producer rings, and does not begin when work is
/// already there. A doze that missed its ring would sleep for two minutes and fail the time limit.
@Suite("timer bell")
struct TimerBellTests {
    @Test(.timeLimit(.minutes(1)))
    func aRingEndsADoze() {
        let bell = TimerBell()
        let done = Atomic<Bool>(false)
        let producer = Thread {
            while !done.load(ordering: .acquiring) {
                bell.ring()
                usleep(1_000)
            }
        }
        producer.start()
        bell.doze(nanoseconds: 120_000_000_000) { false }
        done.store(true, ordering: .releasing)
    }

    @Test(.timeLimit(.minutes(1)))
    func workAlreadyWaitingSkipsTheDoze() {
        let bell = TimerBell()
        var looked = 0
        bell.doze(nanoseconds: 120_000_000_000) { looked += 1; return true }
        #expect(looked == 1)
    }
}
