import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// The wasi_snapshot_preview1 functions. Reads and writes complete inline when they cannot block
/// (WASIContext+FastPath.swift); otherwise, and for the other I/O, they go through io_uring: the
/// function submits, the guest's fiber parks, the completion resumes it. Metadata calls that
/// never wait on a device (fstat, lseek) are direct system calls.
///
/// Guest input is hostile: every pointer goes through `GuestMemory` (64-bit bounds checks, EFAULT),
/// result pointers are checked before the operation runs (so an I/O is never done and then
/// reported as failed), and every size the host allocates for is bounded by a fixed cap or by the
/// guest's own memory.
extension WASIContext {
    /// O_PATH (not exported by Swift's Glibc module).
    static let openPath: Int32 = 0o10000000

    /// Every function, as a maker: a Function (with its host context) is only built for the names
    /// a module actually imports — a few of the 46, per instance. Each area declares its functions,
    /// with typed parameters (`WASIFunctionTable`), in a file of its own: WASIFunctions+Arguments,
    /// +Clocks, +Descriptors, +Paths, +Poll and +Sockets.
    func makeFunctions(wanted: Set<String>? = nil) -> [String: () -> Function] {
        functionTable(wanted: wanted).makers
    }

    /// The table of this context's functions (all, or only `wanted`), none of them made yet.
    func functionTable(wanted: Set<String>? = nil) -> WASIFunctionTable {
        let table = WASIFunctionTable(wanted: wanted)
        addArgumentFunctions(table)
        addClockFunctions(table)
        addDescriptorFunctions(table)
        addPathFunctions(table)
        addPollFunctions(table)
        addSocketFunctions(table)
        return table
    }

    /// The most one read or write call may move for this guest: the configured cap, and never
    /// more than the guest's whole memory (which no honest iovec list exceeds).
    func transferLimit(_ m: GuestMemory) -> Int {
        Int(min(UInt64(max(0, configuration.maxTransferBytes)), m.size))
    }

    /// The ring half of fd_read (`offset` nil: at the file position) and fd_pread, once the inline
    /// attempt (`readInline`) could not finish the call. A position kept in user space
    /// (`Descriptor.position`) is read at and advanced when the guest resumes, as the inline
    /// path does.
    func read(_ fd: UInt32, _ d: Descriptor, _ m: GuestMemory, iovecs: GuestAddress, count: UInt32, offset: Int64?, result: GuestAddress,
              _ done: Done) throws(Errno) {
        let iovs = try m.iovecs(iovecs, count, limit: transferLimit(m))
        _ = try m.check(result, 4)
        let total = iovs.reduce(0) { $0 + $1.1 }
        // Reads land in a host buffer, then are scattered: the guest memory cannot move while the
        // instance is parked, but one buffer keeps it to one operation.
        let buffer = IOBuffer(count: total)
        nonisolated(unsafe) let targets = iovs
        let advancing = offset == nil && d.position != nil
        ring.read(fd: d.hostFD, into: buffer.pointer, count: total, offset: offset ?? d.position ?? -1) { n in
            guard n >= 0 else { return done(Errno(host: -n)) }
            done.then { () throws(Errno) in
                buffer.scatter(Int(n), into: targets)
                if advancing { try self.table.update(fd) { $0.advance(by: Int(n)) } }
                try m.storeU32(result, UInt32(n))
            }
        }
    }

    /// Whether a stdio descriptor is the host's terminal (wasmtime's test: its filetype is then
    /// character device, else unknown). Captured output and an embedder's stdin buffer are not.
    func stdioIsTerminal(_ d: Descriptor) -> Bool {
        if d.hostFD == 0, case .inherit = configuration.standardInput {} else if d.hostFD == 0 { return false }
        if d.hostFD == 1, case .inherit = configuration.standardOutput {} else if d.hostFD == 1 { return false }
        if d.hostFD == 2, case .inherit = configuration.standardError {} else if d.hostFD == 2 { return false }
        return isatty(d.hostFD) == 1
    }

    /// Whether a host descriptor is a regular file (one whose position may be kept in user
    /// space: see `Descriptor.position`).
    static func isRegularFile(_ fd: Int32) -> Bool {
        var s = stat()
        return fstat(fd, &s) == 0 && (s.st_mode & S_IFMT) == S_IFREG
    }

    /// fdflags APPEND and NONBLOCK, the two a descriptor may carry here.
    static let fdflagAppend: UInt32 = 1, fdflagNonblock: UInt32 = 4

    /// The fdflags of a descriptor, from its open file description: APPEND and NONBLOCK as they
    /// were set at open or by fd_fdstat_set_flags. The host's stdio is not this guest's: 0.
    static func fdflags(of d: Descriptor) -> UInt16 {
        guard d.kind != .stdio else { return 0 }
        let flags = fcntl(d.hostFD, F_GETFL)
        guard flags >= 0 else { return 0 }
        return (flags & O_APPEND != 0 ? UInt16(fdflagAppend) : 0) | (flags & O_NONBLOCK != 0 ? UInt16(fdflagNonblock) : 0)
    }

    static func filetype(of d: Descriptor) -> UInt8 {
        switch d.kind {
        case .directory: return 3
        case .file: return 4
        case .stdio: return 2
        case .socket: return 6
        }
    }

    /// A timespec in nanoseconds; times before 1970 (or negative garbage) read as 0 rather than
    /// trapping in a conversion.
    static func nanoseconds(_ t: timespec) -> UInt64 {
        UInt64(max(0, t.tv_sec)).multipliedReportingOverflow(by: 1_000_000_000).partialValue &+ UInt64(max(0, t.tv_nsec))
    }

    static func storeFilestat(_ m: GuestMemory, _ base: GuestAddress, _ s: stat) throws(Errno) {
        _ = try m.check(base, 64)
        let type: UInt8 = switch s.st_mode & S_IFMT {
        case S_IFDIR: 3
        case S_IFREG: 4
        case S_IFCHR: 2
        case S_IFBLK: 1
        case S_IFLNK: 7
        case S_IFSOCK: 6
        default: 0
        }
        try m.storeU64(base, UInt64(truncatingIfNeeded: s.st_dev))
        try m.storeU64(base + 8, UInt64(truncatingIfNeeded: s.st_ino))
        try m.storeU8(base + 16, type)
        try m.storeU64(base + 24, UInt64(truncatingIfNeeded: s.st_nlink))
        try m.storeU64(base + 32, UInt64(truncatingIfNeeded: s.st_size))
        try m.storeU64(base + 40, nanoseconds(s.st_atim))
        try m.storeU64(base + 48, nanoseconds(s.st_mtim))
        try m.storeU64(base + 56, nanoseconds(s.st_ctim))
    }
}

/// A host-side I/O buffer handed to io_uring and back: owned by exactly one operation at a time,
/// which frees it when its completion arrives.
/// A host-side I/O buffer: the kernel reads into or writes from it, never from guest memory, so
/// nothing the kernel does lands in a slot that may have changed owner. Freed when the last
/// closure holding it (the ring's callback, the deferred copy-out) is gone.
final class IOBuffer: @unchecked Sendable {  // the kernel and then one fiber use it, in turn
    let pointer: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
    }

    /// The guest's iovecs gathered in order: the one copy a write makes.
    convenience init(gathering sources: [(UnsafeMutableRawPointer, Int)]) {
        self.init(count: sources.reduce(0) { $0 + $1.1 })
        var offset = 0
        for (p, length) in sources {
            (pointer + offset).copyMemory(from: p, byteCount: length)
            offset += length
        }
    }

    deinit { pointer.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }

    /// Copies the first `count` bytes out to the guest's iovecs, in order.
    func scatter(_ count: Int, into targets: [(UnsafeMutableRawPointer, Int)]) {
        var copied = 0
        for (p, length) in targets where copied < count {
            let chunk = min(length, count - copied)
            p.copyMemory(from: pointer + copied, byteCount: chunk)
            copied += chunk
        }
    }
}

/// How an asynchronous WASI function reports: `done(errno)` from any thread, or `done.then {…}`
/// when the result must be written into guest memory — that work runs on the guest's fiber when
/// it resumes, never on the completion's thread, so an instance cancelled while its I/O was in
/// flight never has its (reused) memory written.
struct Done: Sendable {
    let completion: Completion

    func callAsFunction(_ errno: Errno) { completion.resume(returning: Done.result(errno)) }

    /// A function's results for success, made once: the inline fast path reports every call
    /// with it, and a fresh one-element array per call would be an allocation per operation.
    static let success: [Value] = [.i32(0)]

    static func result(_ errno: Errno) -> [Value] { errno == .success ? success : [.i32(UInt32(errno.rawValue))] }

    func then(_ work: @escaping @Sendable () throws(Errno) -> Void) {
        completion.resume(running: {
            do throws(Errno) {
                try work()
                return [.i32(0)]
            } catch {
                return [.i32(UInt32(error.rawValue))]
            }
        })
    }
}
