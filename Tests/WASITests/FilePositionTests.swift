import Foundation
import IOUring
import Runtime
import ShoalWASI
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// File positions of regular files the guest opened itself, which are kept in user space and read
/// and written at explicit offsets (`Descriptor.position`): every call that uses or moves a
/// position must agree with what the kernel's own position would have done — reads and writes
/// inline or through the ring, seeks, tells, preads and pwrites, append mode on and off,
/// renumbering.
@Suite("WASI file positions")
struct FilePositionTests {
    /// A guest with the test's directory preopened at fd 3, and helpers for the calls used here.
    final class FileGuest {
        let sandbox: HostDirectory
        let io: CountingIO
        let guest: HostileGuest

        init(_ label: String) throws {
            sandbox = try HostDirectory(label)
            io = try CountingIO()
            guest = try HostileGuest(heap: .bounded, configuration: WASIConfiguration(preopens: [(sandbox.path, "/sandbox")],
                                                                                     captureOutput: true), io: io)
        }

        deinit { sandbox.remove() }

        /// Opens `name` for reading and writing, in append mode if asked.
        func open(_ name: String, append: Bool = false) throws -> UInt64 {
            guest.poke(0x100, name)
            let all = WASIRights.all
            let errno = try guest.call("path_open", 3, 1, 0x100, UInt64(name.utf8.count), 0, all & ~WASIRights.fdReaddir, all,
                                       append ? 1 : 0, 0x900)
            guard errno == 0 else { throw WASIErrno(errno) }
            return UInt64(guest.peekU32(0x900))
        }

        func read(_ fd: UInt64, _ count: UInt32) throws -> String {
            guest.pokeIovecs(0x1000, [(0x2000, count)])
            let errno = try guest.call("fd_read", fd, 0x1000, 1, 0x40)
            guard errno == 0 else { throw WASIErrno(errno) }
            return String(decoding: guest.peek(0x2000, Int(guest.peekU32(0x40))), as: UTF8.self)
        }

        func pread(_ fd: UInt64, _ count: UInt32, at offset: UInt64) throws -> String {
            guest.pokeIovecs(0x1000, [(0x2000, count)])
            let errno = try guest.call("fd_pread", fd, 0x1000, 1, offset, 0x40)
            guard errno == 0 else { throw WASIErrno(errno) }
            return String(decoding: guest.peek(0x2000, Int(guest.peekU32(0x40))), as: UTF8.self)
        }

        func write(_ fd: UInt64, _ text: String) throws {
            guest.poke(0x3000, text)
            guest.pokeIovecs(0x1000, [(0x3000, UInt32(text.utf8.count))])
            let errno = try guest.call("fd_write", fd, 0x1000, 1, 0x40)
            guard errno == 0, guest.peekU32(0x40) == text.utf8.count else { throw WASIErrno(errno) }
        }

        func pwrite(_ fd: UInt64, _ text: String, at offset: UInt64) throws {
            guest.poke(0x3000, text)
            guest.pokeIovecs(0x1000, [(0x3000, UInt32(text.utf8.count))])
            let errno = try guest.call("fd_pwrite", fd, 0x1000, 1, offset, 0x40)
            guard errno == 0, guest.peekU32(0x40) == text.utf8.count else { throw WASIErrno(errno) }
        }

        /// fd_seek's new position, or its errno.
        func seek(_ fd: UInt64, _ offset: Int64, _ whence: UInt64) throws -> Result<UInt64, WASIErrno> {
            let errno = try guest.call("fd_seek", fd, UInt64(bitPattern: offset), whence, 0x48)
            return errno == 0 ? .success(peekU64(0x48)) : .failure(WASIErrno(errno))
        }

        func tell(_ fd: UInt64) throws -> UInt64 {
            let errno = try guest.call("fd_tell", fd, 0x48)
            guard errno == 0 else { throw WASIErrno(errno) }
            return peekU64(0x48)
        }

        func setFlags(_ fd: UInt64, append: Bool) throws {
            let errno = try guest.call("fd_fdstat_set_flags", fd, append ? 1 : 0)
            guard errno == 0 else { throw WASIErrno(errno) }
        }

        func peekU64(_ address: UInt64) -> UInt64 {
            guest.peek(address, 8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        }

        func contents(_ name: String) throws -> String { try String(contentsOfFile: "\(sandbox.path)/\(name)", encoding: .utf8) }
    }

    @Test("Reads, writes, seeks and tells in any mix move one position; preads and pwrites leave it alone")
    func mixedCallsShareOnePosition() throws {
        let f = try FileGuest("position-mix")
        try f.sandbox.write("data", "0123456789")
        let fd = try f.open("data")
        #expect(try f.tell(fd) == 0)
        #expect(try f.read(fd, 4) == "0123")
        #expect(try f.tell(fd) == 4)
        #expect(try f.pread(fd, 2, at: 8) == "89")
        #expect(try f.tell(fd) == 4, "pread does not move the position")
        try f.write(fd, "AB")
        #expect(try f.tell(fd) == 6)
        #expect(try f.seek(fd, -3, 1) == .success(3))
        #expect(try f.read(fd, 3) == "3AB")
        #expect(try f.seek(fd, 0, 2) == .success(10))
        try f.write(fd, "XY")
        #expect(try f.tell(fd) == 12)
        try f.pwrite(fd, "Q", at: 0)
        #expect(try f.tell(fd) == 12, "pwrite does not move the position")
        #expect(try f.seek(fd, -1, 0) == .failure(.inval))
        #expect(try f.seek(fd, -13, 1) == .failure(.inval))
        #expect(try f.tell(fd) == 12, "a failed seek leaves the position")
        #expect(try f.read(fd, 4) == "", "end of file")
        #expect(try f.seek(fd, 2, 0) == .success(2))
        #expect(try f.seek(fd, 0, 1) == .success(2), "SEEK_CUR 0 is a tell")
        #expect(try f.read(fd, 100) == "23AB6789XY")
        #expect(try f.contents("data") == "Q123AB6789XY")
        // Past the end: reads find nothing, a write leaves a hole.
        #expect(try f.seek(fd, 14, 0) == .success(14))
        #expect(try f.read(fd, 4) == "")
        try f.write(fd, "!")
        #expect(try f.tell(fd) == 15)
        #expect(try f.contents("data") == "Q123AB6789XY\0\0!")
    }

    @Test("Append mode writes at the end whatever the position, and hands the position over when it is switched on or off")
    func appendMode() throws {
        let f = try FileGuest("position-append")
        try f.sandbox.write("log", "12345")
        let fd = try f.open("log", append: true)
        #expect(try f.tell(fd) == 0)
        #expect(try f.read(fd, 2) == "12")
        try f.write(fd, "ab")
        #expect(try f.tell(fd) == 7, "after an append, the end")
        #expect(try f.contents("log") == "12345ab")
        try f.setFlags(fd, append: false)
        #expect(try f.tell(fd) == 7)
        #expect(try f.seek(fd, 0, 0) == .success(0))
        try f.write(fd, "X")
        #expect(try f.tell(fd) == 1)
        #expect(try f.contents("log") == "X2345ab")
        try f.setFlags(fd, append: true)
        #expect(try f.tell(fd) == 1, "switching append on keeps the position until the next write")
        #expect(try f.read(fd, 2) == "23")
        try f.write(fd, "Z")
        #expect(try f.tell(fd) == 8)
        #expect(try f.contents("log") == "X2345abZ")
        try f.setFlags(fd, append: false)
        #expect(try f.seek(fd, -2, 1) == .success(6))
        #expect(try f.read(fd, 10) == "bZ")
    }

    @Test("A renumbered descriptor keeps its position")
    func renumberKeepsThePosition() throws {
        let f = try FileGuest("position-renumber")
        try f.sandbox.write("a", "abcdef")
        try f.sandbox.write("b", "uvwxyz")
        let a = try f.open("a"), b = try f.open("b")
        #expect(try f.read(a, 2) == "ab")
        #expect(try f.read(b, 1) == "u")
        #expect(try f.guest.call("fd_renumber", a, b) == 0)
        #expect(try f.tell(b) == 2)
        #expect(try f.read(b, 2) == "cd")
        #expect(try f.guest.call("fd_tell", a, 0x48) == WASIErrno.badf.value)
    }

    @Test("Reads that go to the ring (the data is not cached) read at the position and advance it, as inline ones do")
    func ringReadsUseThePosition() throws {
        let f = try FileGuest("position-ring")
        let text = String(repeating: "0123456789abcdef", count: 4096)  // 64 KiB
        try f.sandbox.write("cold", text)
        let fd = try f.open("cold")
        #expect(try f.seek(fd, 5, 0) == .success(5))
        // Out of the page cache: a non-blocking read is refused, and the read goes to the ring.
        try #require(Self.evict("\(f.sandbox.path)/cold"), "the file stayed in the page cache")
        let submitted = f.io.submitted
        #expect(try f.read(fd, 6) == "56789a")
        #expect(f.io.submitted == submitted + 1, "the read went to the ring")
        #expect(try f.tell(fd) == 11)
        #expect(try f.read(fd, 5) == "bcdef")
        #expect(try f.tell(fd) == 16)
    }

    @Test("A file read cancelled while parked on the ring never writes the guest's memory when it completes")
    func cancelledRingReadWritesNothing() throws {
        let f = try FileGuest("position-cancel")
        guard case .function(let read)? = f.guest.instance.export("fd_read") else { throw WASIError("no fd_read") }
        let sentinel = [UInt8](repeating: 0x5A, count: 64)
        // The refused non-blocking attempt starts the kernel's readahead, and on a fast disk the data
        // can be in the page cache by the time the ring gets the read: then the call finishes
        // without parking, and there is nothing to cancel. So a fresh cold file is tried until
        // one read parks (a bound, so that a regression fails instead of looping).
        var parked: Execution?
        for attempt in 0..<10 where parked == nil {
            let name = "cold-\(attempt)"
            try f.sandbox.write(name, String(repeating: "z", count: 65_536))
            let fd = try f.open(name)
            try #require(Self.evict("\(f.sandbox.path)/\(name)"), "the file stayed in the page cache")
            f.guest.poke(0x2000, sentinel)
            f.guest.pokeU32(0x40, 0x1234_5678)
            f.guest.pokeIovecs(0x1000, [(0x2000, 64)])
            let execution = try Execution(read, arguments: [.i32(UInt32(fd)), .i32(0x1000), .i32(1), .i32(0x40)], stackSize: 4 << 20)
            switch try execution.resume() {
            case .parked: parked = execution
            case .exited: continue  // read before it could park: try again
            default: throw WASIError("the read neither parked nor finished: \(execution.state)")
            }
        }
        guard let execution = parked else { throw WASIError("no read parked in 10 attempts") }
        execution.cancel()
        guard case .trapped = execution.state else { throw WASIError("not trapped after cancel") }
        var pending = f.io.ring.pendingOperations
        for _ in 0..<1_000 where pending > 0 {  // a bound, so that a regression fails instead of hanging
            usleep(5_000)
            pending = f.io.ring.pendingOperations
        }
        #expect(pending == 0, "the ring delivered the read")
        #expect(f.guest.peek(0x2000, 64) == sentinel, "the data was not copied into the guest")
        #expect(f.guest.peekU32(0x40) == 0x1234_5678, "nor its length")
    }

    /// Drops the file at `path` from the page cache, so that the next non-blocking read of it is
    /// refused and goes to the ring; false if it stays. posix_fadvise(DONTNEED) is best effort (a
    /// page whose buffers the journal still holds, or one in another CPU's LRU batch, stays
    /// cached), so it is retried until mincore, which reports residency without reading anything
    /// in, shows no page of the file resident.
    static func evict(_ path: String) -> Bool {
        let fd = Glibc.open(path, O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_size > 0 else { return false }
        let size = Int(status.st_size)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for _ in 0..<200 {
            fsync(fd)
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
            guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { return false }
            var resident = [UInt8](repeating: 0, count: (size + page - 1) / page)
            let checked = mincore(map, size, &resident) == 0
            munmap(map, size)
            if checked && !resident.contains(where: { $0 & 1 != 0 }) { return true }
            usleep(10_000)
        }
        return false
    }

    @Test("Writes that go to the ring write at the position and advance it")
    func ringWritesUseThePosition() throws {
        let f = try FileGuest("position-ring-write")
        try f.sandbox.write("w", "----------")
        let fd = try f.open("w")
        #expect(try f.seek(fd, 3, 0) == .success(3))
        for _ in 0..<3 { try f.write(fd, "ab") }  // inline or through the ring, as the file system allows
        #expect(try f.tell(fd) == 9)
        #expect(try f.contents("w") == "---ababab-")
        #expect(try f.read(fd, 4) == "-")
    }
}
