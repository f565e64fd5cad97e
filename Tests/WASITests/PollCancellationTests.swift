import Foundation
import IOUring
import ShoalWASI
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// poll_oneoff cancels what it armed once it has its answer: a guest polling a quiet socket with
/// a zero timeout in a loop must not pile up polls in the kernel and callbacks in the host.
@Suite("poll_oneoff leaves nothing armed")
struct PollCancellationTests {
    @Test func aPollLoopOnAQuietSocketLeavesNothingArmed() throws {
        let listener = try WASIContext.listen("127.0.0.1:0")
        defer { close(listener) }
        var configuration = WASIConfiguration(captureOutput: true)
        configuration.sharedListeners = [listener]
        let ring = try Ring(entries: 64)  // its own: nothing else submits to it
        let guest = try HostileGuest(heap: .bounded, configuration: configuration, io: ring)
        // Two subscriptions at 0x100 (48 bytes each): fd_read on the listener (descriptor 3, no
        // client ever connects), and a relative clock with a zero timeout.
        var subscriptions = [UInt8](repeating: 0, count: 96)
        subscriptions[0] = 1  // userdata 1
        subscriptions[8] = 1  // fd_read
        subscriptions[16] = 3  // the listener
        subscriptions[48] = 2  // userdata 2
        subscriptions[56] = 0  // clock
        subscriptions[64] = 1  // CLOCK_MONOTONIC; timeout 0 at 72, precision at 80, flags 0 at 88
        guest.poke(0x100, subscriptions)
        let rounds = 300
        for _ in 0..<rounds {
            #expect(try guest.call("poll_oneoff", 0x100, 0x200, 2, 0x300) == 0)
            #expect(guest.peekU32(0x300) == 1, "the clock fires; the socket never does")
        }
        // The cancelled polls complete (-ECANCELED) on the ring's own thread: wait for that,
        // with a generous bound so that a regression fails instead of hanging.
        var pending = ring.pendingOperations
        for _ in 0..<1_000 where pending > 1 {
            usleep(10_000)
            pending = ring.pendingOperations
        }
        #expect(pending <= 1, "\(pending) operations still armed after \(rounds) calls")
    }
}
