import Foundation
import IOUring
import Runtime
import ShoalWASI
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The inline fast path (WASIContext+FastPath.swift): reads and writes whose data is already there
/// complete without reaching the ring or parking; those that would wait park on the ring as
/// before; hostile pointers and lengths are refused before anything moves, on either path.
///
/// `CountingIO` counts what reaches the ring and `HostileGuest.parks` counts parks, both read
/// after the calls returned: nothing here depends on timing.
@Suite("WASI inline I/O fast path")
struct FastPathTests {
    /// A guest whose descriptor 3 is one end of a Unix stream socket pair; the test holds the
    /// other. Bytes written to one end are queued at the other before the write returns, so
    /// "data is ready" is a fact, not a race.
    final class SocketGuest {
        let io: CountingIO
        let guest: HostileGuest
        let peer: Int32
        private let guestEnd: Int32

        init() throws {
            var pair: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { throw WASIError("socketpair") }
            guestEnd = pair[0]
            peer = pair[1]
            var configuration = WASIConfiguration(captureOutput: true)
            configuration.sharedListeners = [guestEnd]  // any socket the embedder hands in: guest fd 3
            io = try CountingIO()
            guest = try HostileGuest(heap: .bounded, configuration: configuration, io: io)
        }

        deinit {
            close(peer)
            close(guestEnd)
        }

        func send(_ text: String) { _ = text.withCString { Glibc.send(peer, $0, strlen($0), 0) } }

        /// What the peer has received so far, without waiting.
        func received() -> String {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(peer, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        }
    }

    @Test("A read of a file already in the page cache completes inline, straight into guest memory")
    func cachedFileReadsAreInline() throws {
        let sandbox = try HostDirectory("fastpath")
        defer { sandbox.remove() }
        try sandbox.write("data", "hello, fast path")
        let io = try CountingIO()
        let guest = try HostileGuest(heap: .bounded, configuration: WASIConfiguration(preopens: [(sandbox.path, "/sandbox")],
                                                                                     captureOutput: true), io: io)
        guard case .success(let fd) = try guest.open("data") else { throw WASIError("open data") }
        let submitted = io.submitted, parks = guest.parks

        guest.pokeIovecs(0x1000, [(0x2000, 5), (0x3000, 100)])  // two iovecs: a scatter read
        #expect(try guest.call("fd_read", UInt64(fd), 0x1000, 2, 0x40) == 0)
        #expect(guest.peekU32(0x40) == 16)
        #expect(guest.peek(0x2000, 5) == Array("hello".utf8))
        #expect(guest.peek(0x3000, 11) == Array(", fast path".utf8))
        #expect(try guest.call("fd_read", UInt64(fd), 0x1000, 2, 0x40) == 0)
        #expect(guest.peekU32(0x40) == 0, "end of file, inline too")
        #expect(try guest.call("fd_pread", UInt64(fd), 0x1000, 1, 7, 0x40) == 0)
        #expect(guest.peekU32(0x40) == 5 && guest.peek(0x2000, 5) == Array("fast ".utf8))

        #expect(io.submitted == submitted, "nothing reached the ring")
        #expect(guest.parks == parks, "the guest never parked")
    }

    @Test("Receives with bytes queued and sends with room complete inline; fd_read and fd_write on a socket too")
    func readySocketsAreInline() throws {
        let s = try SocketGuest()
        let guest = s.guest
        s.send("ping")
        guest.pokeIovecs(0x1000, [(0x2000, 64)])
        #expect(try guest.call("sock_recv", 3, 0x1000, 1, 0, 0x40, 0x44) == 0)
        #expect(guest.peekU32(0x40) == 4 && guest.peek(0x2000, 4) == Array("ping".utf8))

        guest.poke(0x2000, "pong")
        guest.pokeIovecs(0x1000, [(0x2000, 4)])
        #expect(try guest.call("sock_send", 3, 0x1000, 1, 0, 0x40) == 0)
        #expect(guest.peekU32(0x40) == 4)
        #expect(s.received() == "pong")

        s.send("more")
        guest.pokeIovecs(0x1000, [(0x3000, 2), (0x3002, 2)])
        #expect(try guest.call("fd_read", 3, 0x1000, 2, 0x40) == 0)
        #expect(guest.peekU32(0x40) == 4 && guest.peek(0x3000, 4) == Array("more".utf8))
        #expect(try guest.call("fd_write", 3, 0x1000, 2, 0x40) == 0)
        #expect(s.received() == "more")

        // MSG_PEEK inline leaves the bytes queued.
        s.send("peek")
        guest.pokeIovecs(0x1000, [(0x2000, 64)])
        #expect(try guest.call("sock_recv", 3, 0x1000, 1, 1, 0x40, 0x44) == 0)
        #expect(try guest.call("sock_recv", 3, 0x1000, 1, 0, 0x40, 0x44) == 0)
        #expect(guest.peekU32(0x40) == 4 && guest.peek(0x2000, 4) == Array("peek".utf8))

        #expect(s.io.submitted == 0, "nothing reached the ring")
        #expect(guest.parks == 0, "the guest never parked")
    }

    @Test("A receive with nothing queued yet (EAGAIN) parks on the ring and completes when data arrives")
    func anEmptySocketParks() throws {
        let s = try SocketGuest()
        s.guest.whileParked = { s.send("late") }
        s.guest.pokeIovecs(0x1000, [(0x2000, 64)])
        #expect(try s.guest.call("sock_recv", 3, 0x1000, 1, 0, 0x40, 0x44) == 0)
        #expect(s.guest.peekU32(0x40) == 4 && s.guest.peek(0x2000, 4) == Array("late".utf8))
        #expect(s.guest.parks == 1)
        #expect(s.io.submitted == 1, "one receive went to the ring")

        // MSG_WAITALL never completes inline with part of what it waits for: it goes to the ring
        // even with some bytes queued, and gets all of them.
        s.send("ab")
        s.guest.whileParked = { s.send("cd") }
        s.guest.pokeIovecs(0x1000, [(0x2000, 4)])
        #expect(try s.guest.call("sock_recv", 3, 0x1000, 1, 2, 0x40, 0x44) == 0)
        #expect(s.guest.peekU32(0x40) == 4 && s.guest.peek(0x2000, 4) == Array("abcd".utf8))
        #expect(s.io.submitted == 2)
    }

    @Test("A FIFO refuses non-blocking reads (EOPNOTSUPP): its reads go to the ring, park while it is empty, and get the data")
    func aFIFOGoesToTheRing() throws {
        let sandbox = try HostDirectory("fastpath-fifo")
        defer { sandbox.remove() }
        try #require(mkfifo("\(sandbox.path)/fifo", 0o600) == 0)
        let writer = Glibc.open("\(sandbox.path)/fifo", O_RDWR | O_NONBLOCK)  // a writer, so the guest's open does not wait
        try #require(writer >= 0)
        defer { close(writer) }
        let io = try CountingIO()
        let guest = try HostileGuest(heap: .bounded, configuration: WASIConfiguration(preopens: [(sandbox.path, "/sandbox")],
                                                                                     captureOutput: true), io: io)
        guard case .success(let fd) = try guest.open("fifo") else { throw WASIError("open fifo") }
        let submitted = io.submitted, parks = guest.parks
        guest.whileParked = { _ = Glibc.write(writer, "piped", 5) }
        guest.pokeIovecs(0x1000, [(0x2000, 64)])
        #expect(try guest.call("fd_read", UInt64(fd), 0x1000, 1, 0x40) == 0)
        #expect(guest.peekU32(0x40) == 5 && guest.peek(0x2000, 5) == Array("piped".utf8))
        #expect(guest.parks == parks + 1, "empty: the read parked until the data came")
        #expect(io.submitted == submitted + 1)
        // With bytes already there the read still goes to the ring (whether it then parks is up to
        // the ring's timing), and gets them.
        guest.whileParked = nil
        _ = Glibc.write(writer, "again", 5)
        #expect(try guest.call("fd_read", UInt64(fd), 0x1000, 1, 0x40) == 0)
        #expect(guest.peekU32(0x40) == 5 && guest.peek(0x2000, 5) == Array("again".utf8))
        #expect(io.submitted == submitted + 2)
    }

    @Test("Bad pointers and lengths are refused before anything moves, though the data is ready")
    func hostileArgumentsWithDataReady() throws {
        let s = try SocketGuest()
        let guest = s.guest
        let end: UInt64 = 65536
        s.send("kept")
        // The data-length or flags pointer out of bounds: EFAULT, and the bytes stay queued.
        guest.pokeIovecs(0x1000, [(0x2000, 64)])
        #expect(try guest.call("sock_recv", 3, 0x1000, 1, 0, end - 2, 0x44) == WASIErrno.fault.value)
        #expect(try guest.call("sock_recv", 3, 0x1000, 1, 0, 0x40, end - 1) == WASIErrno.fault.value)
        #expect(try guest.call("fd_read", 3, 0x1000, 1, 0xFFFF_FFFF) == WASIErrno.fault.value)
        // An iovec straddling the end, one wrapping around 2^32, an iovec array past the end.
        guest.pokeIovecs(0x1100, [(0x2000, 4), (UInt32(end - 2), 4)])
        #expect(try guest.call("sock_recv", 3, 0x1100, 2, 0, 0x40, 0x44) == WASIErrno.fault.value)
        guest.pokeIovecs(0x1200, [(0xFFFF_FFF0, 0x20)])
        #expect(try guest.call("fd_read", 3, 0x1200, 1, 0x40) == WASIErrno.fault.value)
        #expect(try guest.call("fd_read", 3, end - 4, 1, 0x40) == WASIErrno.fault.value)
        #expect(try guest.call("fd_read", 3, 0xFFFF_FFFC, 0xFFFF_FFFF, 0x40) == WASIErrno.inval.value, "past IOV_MAX")
        #expect(try guest.call("sock_recv", 3, 0x1000, 1025, 0, 0x40, 0x44) == WASIErrno.inval.value)
        guest.pokeU32(0x40, 0xDEAD)
        guest.poke(0x2000, [UInt8](repeating: 0xAA, count: 4))
        #expect(guest.peek(0x2000, 4) == [0xAA, 0xAA, 0xAA, 0xAA], "nothing landed")
        // Now a good call gets every byte.
        #expect(try guest.call("sock_recv", 3, 0x1000, 1, 0, 0x40, 0x44) == 0)
        #expect(guest.peekU32(0x40) == 4 && guest.peek(0x2000, 4) == Array("kept".utf8))

        // Sends: a bad result pointer or iovec sends nothing.
        guest.poke(0x2000, "nope")
        guest.pokeIovecs(0x1000, [(0x2000, 4)])
        #expect(try guest.call("sock_send", 3, 0x1000, 1, 0, end - 3) == WASIErrno.fault.value)
        #expect(try guest.call("fd_write", 3, 0x1000, 1, 0xFFFF_FFFF) == WASIErrno.fault.value)
        #expect(try guest.call("fd_write", 3, 0x1100, 2, 0x40) == WASIErrno.fault.value)
        #expect(s.received() == "", "nothing was sent")
        // No iovecs at all: zero bytes, inline.
        #expect(try guest.call("fd_write", 3, 0x1000, 0, 0x40) == 0)
        #expect(guest.peekU32(0x40) == 0)
        #expect(s.io.submitted == 0 && guest.parks == 0)
    }

    @Test("A receive cancelled while parked never writes the guest's memory when its data arrives later")
    func cancelledWhileParked() throws {
        let s = try SocketGuest()
        let guest = s.guest
        guard case .function(let recv)? = guest.instance.export("sock_recv") else { throw WASIError("no sock_recv") }
        let sentinel = [UInt8](repeating: 0x5A, count: 64)
        guest.poke(0x2000, sentinel)
        guest.pokeU32(0x40, 0x1234_5678)
        guest.pokeIovecs(0x1000, [(0x2000, 64)])
        let arguments: [Value] = [.i32(3), .i32(0x1000), .i32(1), .i32(0), .i32(0x40), .i32(0x44)]
        let execution = try Execution(recv, arguments: arguments, stackSize: 4 << 20)
        guard case .parked = try execution.resume() else { throw WASIError("the receive did not park") }
        execution.cancel()
        guard case .trapped = execution.state else { throw WASIError("not trapped after cancel") }
        s.send(String(repeating: "z", count: 64))  // the receive still in the ring completes now
        var pending = s.io.ring.pendingOperations
        for _ in 0..<1_000 where pending > 0 {  // a bound, so that a regression fails instead of hanging
            usleep(5_000)
            pending = s.io.ring.pendingOperations
        }
        #expect(pending == 0, "the ring delivered the late completion")
        #expect(guest.peek(0x2000, 64) == sentinel, "the late data was not copied into the guest")
        #expect(guest.peekU32(0x40) == 0x1234_5678, "nor its length")
    }
}
