import Glibc
import IOUring
import Runtime

/// The inline fast path of the data-moving calls (fd_read, fd_pread, fd_write, fd_pwrite,
/// sock_recv, sock_send).
///
/// Parking costs a fiber switch out, a submission and a reap by the worker, and a switch back in:
/// for data that is already there (a file in the page cache, a socket with bytes queued, room in
/// a socket's send buffer) that is all overhead. So each call first tries the operation once
/// with a non-blocking system call (`NonblockingIO`: RWF_NOWAIT, MSG_DONTWAIT) and completes inline
/// when it moves anything or reaches end of file; only when the kernel refuses (it would have to
/// wait) or reports any error does the call go to the worker's io_uring and park, exactly as
/// before — so every error the guest sees is still io_uring's.
///
/// The inline attempt moves data straight between the kernel and guest memory through host
/// `iovec`s built on the fiber's stack: no host buffer, no copy of our own, no allocation. That is
/// safe where the parked path's copy-out is not: the call is synchronous on the guest's fiber,
/// so the instance owns its memory for the whole of it (a cancelled instance is not running). The
/// parked path still lands reads in a host buffer and copies them out on the fiber when it
/// resumes (`Done.then`), so a completion never writes into a slot the instance no longer owns.
extension WASIContext {
    /// What a fast path tells its caller: the inline attempt's byte count, or that the call must
    /// go to the ring.
    static let notAttempted = -1

    /// Resolves the guest's iovecs (the same checks and cut as `GuestMemory.iovecs`: EINVAL past
    /// IOV_MAX, EFAULT for any byte out of bounds), runs `check` (the result pointers, before any
    /// data moves), then makes the one non-blocking attempt. Returns the bytes moved, or nil when
    /// the call must park on the ring (refused, failed, or not attempted for this descriptor).
    @inline(__always)
    func transferInline(_ m: GuestMemory, _ iovecs: GuestAddress, _ count: UInt32,
                        check: () throws(Errno) -> Void,
                        attempt: (UnsafePointer<iovec>, Int) -> Int) throws(Errno) -> Int? {
        guard count <= GuestMemory.maxIovecs else { throw .inval }
        let limit = transferLimit(m)
        var failure: Errno?
        // At most IOV_MAX (1,024) entries of 16 bytes; the usual one or two live on the stack.
        let moved = withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(Int(count), 1)) { buffer -> Int in
            do throws(Errno) {
                let used = try m.hostIovecs(iovecs, count, limit: limit, into: buffer)
                try check()
                return attempt(UnsafePointer(buffer.baseAddress!), used)
            } catch {
                failure = error
                return Self.notAttempted
            }
        }
        if let failure { throw failure }
        return moved >= 0 ? moved : nil
    }

    /// One non-blocking read for fd_read/fd_pread on guest descriptor `fd` (`d`): recvmsg on a
    /// socket (which has no file position), preadv2 on anything else, unless the file already
    /// refused (see `Descriptor.refusesNowaitReads`).
    func attemptRead(_ fd: UInt32, _ d: Descriptor, offset: Int64, _ iovecs: UnsafePointer<iovec>, _ count: Int) -> Int {
        if d.kind == .socket {
            return offset < 0 ? NonblockingIO.receive(fd: d.hostFD, iovecs, count: count, flags: 0) : Self.notAttempted
        }
        guard !d.refusesNowaitReads else { return Self.notAttempted }
        let n = NonblockingIO.read(fd: d.hostFD, iovecs, count: count, offset: offset)
        if n == -Int(EOPNOTSUPP) { try? table.update(fd) { $0.refusesNowaitReads = true } }
        return n
    }

    /// One non-blocking write for fd_write/fd_pwrite, as `attemptRead`.
    func attemptWrite(_ fd: UInt32, _ d: Descriptor, offset: Int64, _ iovecs: UnsafePointer<iovec>, _ count: Int) -> Int {
        if d.kind == .socket {
            return offset < 0 ? NonblockingIO.send(fd: d.hostFD, iovecs, count: count, flags: 0) : Self.notAttempted
        }
        guard !d.refusesNowaitWrites else { return Self.notAttempted }
        let n = NonblockingIO.write(fd: d.hostFD, iovecs, count: count, offset: offset)
        if n == -Int(EOPNOTSUPP) { try? table.update(fd) { $0.refusesNowaitWrites = true } }
        return n
    }
}

extension WASIContext {
    /// The inline half of fd_read and fd_pread: true when the call finished here (the byte count
    /// stored at `result`), false when it must park on the ring.
    func readInline(_ fd: UInt32, _ d: Descriptor, _ m: GuestMemory, iovecs: GuestAddress, count: UInt32, offset: Int64,
                    result: GuestAddress) throws(Errno) -> Bool {
        guard let n = try transferInline(m, iovecs, count, check: { () throws(Errno) in _ = try m.check(result, 4) },
                                         attempt: { self.attemptRead(fd, d, offset: offset, $0, $1) }) else { return false }
        try m.storeU32(result, UInt32(n))
        return true
    }

    /// The inline half of fd_write and fd_pwrite, as `readInline`.
    func writeInline(_ fd: UInt32, _ d: Descriptor, _ m: GuestMemory, iovecs: GuestAddress, count: UInt32, offset: Int64,
                     result: GuestAddress) throws(Errno) -> Bool {
        guard let n = try transferInline(m, iovecs, count, check: { () throws(Errno) in _ = try m.check(result, 4) },
                                         attempt: { self.attemptWrite(fd, d, offset: offset, $0, $1) }) else { return false }
        try m.storeU32(result, UInt32(n))
        return true
    }

    /// Whether reads of `d` come from the embedder's stdin (bytes or a stream it gave) rather than
    /// from a host descriptor: those never take the inline path.
    func readsEmbedderInput(_ d: Descriptor) -> Bool {
        guard d.kind == .stdio, d.hostFD == 0 else { return false }
        if case .inherit = configuration.standardInput { return false }
        return true
    }

    /// Where writes to `d` go when it is stdout or stderr and the embedder does not inherit the
    /// host's (captured, discarded or streamed): nil for every descriptor written with a system call.
    func standardOutput(of d: Descriptor) -> WASIOutput? {
        guard d.kind == .stdio, d.hostFD == 1 || d.hostFD == 2 else { return nil }
        let output = d.hostFD == 1 ? configuration.standardOutput : configuration.standardError
        if case .inherit = output { return nil }
        return output
    }

    /// sock_recv's riflags as recvmsg flags: RECV_PEEK and RECV_WAITALL.
    static func receiveFlags(_ riFlags: UInt32) -> Int32 {
        (riFlags & 1 != 0 ? Int32(MSG_PEEK) : 0) | (riFlags & 2 != 0 ? Int32(MSG_WAITALL) : 0)
    }
}
