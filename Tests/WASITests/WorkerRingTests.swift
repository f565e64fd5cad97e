import Foundation
import Glibc
import IOUring
import Testing

/// A worker ring belongs to the thread that drives it: operations are batched until it drains or
/// waits, callbacks run on that thread, another thread can only wake it, and closing it cancels
/// what is still in flight.
@Suite("io_uring worker rings")
struct WorkerRingTests {
    final class Log: @unchecked Sendable {
        let lock = NSLock()
        var results: [Int32] = []
        var threads: [pthread_t] = []
        func add(_ r: Int32) { lock.withLock { results.append(r); threads.append(pthread_self()) } }
        var snapshot: ([Int32], [pthread_t]) { lock.withLock { (results, threads) } }
    }

    @Test func operationsCompleteOnTheOwningThread() throws {
        let ring = try Ring.worker()
        Ring.setCurrent(ring)
        defer { Ring.setCurrent(nil) }
        #expect(Ring.current === ring)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let log = Log()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        defer { buffer.deallocate() }
        CurrentRing().read(fd: fds[0], into: buffer, count: 16) { log.add($0) }
        #expect(ring.inFlight == 1)
        #expect(ring.drain() == 0)  // nothing written yet: still pending
        #expect(write(fds[1], "hello", 5) == 5)
        var ran = 0
        while ran == 0 { ran = ring.wait() }
        let (results, threads) = log.snapshot
        #expect(results == [5])
        #expect(threads.count == 1 && pthread_equal(threads[0], pthread_self()) != 0)
        #expect(String(decoding: UnsafeRawBufferPointer(start: buffer, count: 5), as: UTF8.self) == "hello")
        #expect(ring.close())
    }

    @Test func anotherThreadWakesASleepingOwner() throws {
        let ring = try Ring.worker()
        let waker = Thread {
            usleep(20_000)
            ring.wake()
        }
        let start = ContinuousClock.now
        waker.start()
        #expect(ring.wait() == 0)  // woken, no completion
        #expect(ContinuousClock.now - start >= .milliseconds(15))
        #expect(ring.close())
    }

    @Test func timeoutsAndCloseCancelsWhatIsInFlight() throws {
        let ring = try Ring.worker()
        let log = Log()
        ring.sleep(nanoseconds: 1_000_000) { log.add($0) }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        ring.poll(fd: fds[0], events: UInt32(POLLIN)) { log.add($0) }  // never ready
        while log.snapshot.0.isEmpty { ring.wait() }
        #expect(log.snapshot.0 == [-ETIME])
        #expect(ring.inFlight == 1)
        #expect(ring.close())  // the poll is cancelled and reports before the ring goes
        #expect(log.snapshot.0 == [-ETIME, -ECANCELED])
    }

    @Test func threadsWithoutAWorkerRingUseTheSharedOne() throws {
        #expect(Ring.current == nil)
        let done = DispatchSemaphore(value: 0)
        _ = CurrentRing().sleep(nanoseconds: 1_000) { _ in done.signal() }
        #expect(done.wait(timeout: .now() + 5) == .success)
    }
}
