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
///
/// The attempts are `InlineHostCall`s: C entries the host stub reaches without the box, the
/// instance, closures or argument arrays (issue 17: at 4 KiB reads those cost more than the
/// system call's own overhead). Each reads its arguments from the call's slots, finds the
/// descriptor in place under the table's lock (`DescriptorTable.withDescriptor`, nothing copied)
/// and writes the errno into slot 0 when it finishes the call.
extension WASIContext {
    /// This context's inline attempt `entry`, for registering with a function.
    func inline(_ entry: InlineHostCall.Entry) -> InlineHostCall { InlineHostCall(entry: entry, target: self) }

    static let fdReadInline: InlineHostCall.Entry = { target, base, size, slots in
        withContext(target, base, size, slots) { context, m, s throws(Errno) in
            try context.readInline(m, fd: s.u32(0), iovecs: s.address(1), count: s.u32(2), offset: nil, result: s.address(3))
        }
    }

    static let fdPreadInline: InlineHostCall.Entry = { target, base, size, slots in
        withContext(target, base, size, slots) { context, m, s throws(Errno) in
            try context.readInline(m, fd: s.u32(0), iovecs: s.address(1), count: s.u32(2), offset: s.offset(3), result: s.address(4))
        }
    }

    static let fdWriteInline: InlineHostCall.Entry = { target, base, size, slots in
        withContext(target, base, size, slots) { context, m, s throws(Errno) in
            try context.writeInline(m, fd: s.u32(0), iovecs: s.address(1), count: s.u32(2), offset: nil, result: s.address(3))
        }
    }

    static let fdPwriteInline: InlineHostCall.Entry = { target, base, size, slots in
        withContext(target, base, size, slots) { context, m, s throws(Errno) in
            try context.writeInline(m, fd: s.u32(0), iovecs: s.address(1), count: s.u32(2), offset: s.offset(3), result: s.address(4))
        }
    }

    /// sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen, ro_flags). Not with WAITALL: a
    /// non-blocking receive would hand back part of what the guest asked to wait for.
    static let sockRecvInline: InlineHostCall.Entry = { target, base, size, slots in
        withContext(target, base, size, slots) { context, m, s throws(Errno) in
            let flags = receiveFlags(s.u32(3))
            let dataLength = s.address(4), outFlags = s.address(5)
            return try context.table.withDescriptor(s.u32(0)) { d throws(Errno) -> Bool in
                guard d.rightsBase & Rights.fdRead == Rights.fdRead else { throw .notcapable }
                guard d.kind == .socket else { throw .notsock }
                guard flags & Int32(MSG_WAITALL) == 0 else { return false }
                let hostFD = d.hostFD
                let n = try context.transfer(m, s.address(1), s.u32(2), check: { () throws(Errno) in
                    _ = try m.check(dataLength, 4)
                    _ = try m.check(outFlags, 2)
                }, attempt: { NonblockingIO.receive(fd: hostFD, $0, count: $1, flags: flags) })
                guard n >= 0 else { return false }
                try m.storeU32(dataLength, UInt32(n))
                try m.storeU16(outFlags, 0)
                return true
            }
        }
    }

    /// sock_send(fd, si_data, si_data_len, si_flags, so_datalen).
    static let sockSendInline: InlineHostCall.Entry = { target, base, size, slots in
        withContext(target, base, size, slots) { context, m, s throws(Errno) in
            let result = s.address(4)
            return try context.table.withDescriptor(s.u32(0)) { d throws(Errno) -> Bool in
                guard d.rightsBase & Rights.fdWrite == Rights.fdWrite else { throw .notcapable }
                guard d.kind == .socket else { throw .notsock }
                let hostFD = d.hostFD
                let n = try context.transfer(m, s.address(1), s.u32(2), check: { () throws(Errno) in _ = try m.check(result, 4) },
                                             attempt: { NonblockingIO.send(fd: hostFD, $0, count: $1, flags: 0) })
                guard n >= 0 else { return false }
                try m.storeU32(result, UInt32(n))
                return true
            }
        }
    }

    /// Runs an inline attempt on the context `target` names, borrowed (the function keeps it
    /// alive: no retain, no release): true when it finished the call, with the errno in slot 0
    /// (0 when `body` returned true, the one it threw otherwise).
    @inline(__always)
    static func withContext(_ target: UnsafeRawPointer, _ base: UnsafeMutableRawPointer?, _ size: UInt64,
                            _ slots: UnsafeMutablePointer<UInt64>,
                            _ body: (WASIContext, GuestMemory, InlineSlots) throws(Errno) -> Bool) -> Bool {
        Unmanaged<WASIContext>.fromOpaque(target)._withUnsafeGuaranteedRef { context in
            do throws(Errno) {
                guard try body(context, GuestMemory(base: base, size: size), InlineSlots(raw: slots)) else { return false }
                slots[0] = 0
            } catch {
                slots[0] = UInt64(error.rawValue)
            }
            return true
        }
    }

    /// The inline half of fd_read (`offset` nil) and fd_pread: true when the call finished here
    /// (the byte count stored at `result`), false when it must park on the ring. fd_read of an
    /// embedder's stdin, a socket at an offset, and a file that refused before never try.
    @inline(__always)
    func readInline(_ m: GuestMemory, fd: UInt32, iovecs: GuestAddress, count: UInt32, offset: UInt64?,
                  result: GuestAddress) throws(Errno) -> Bool {
        try moveInline(.read, m, fd: fd, iovecs: iovecs, count: count, offset: offset, result: result)
    }

    /// The inline half of fd_write and fd_pwrite, as `readInline`. Output the embedder takes
    /// (captured, discarded, streamed) never tries.
    @inline(__always)
    func writeInline(_ m: GuestMemory, fd: UInt32, iovecs: GuestAddress, count: UInt32, offset: UInt64?,
                   result: GuestAddress) throws(Errno) -> Bool {
        try moveInline(.write, m, fd: fd, iovecs: iovecs, count: count, offset: offset, result: result)
    }

    enum Direction { case read, write }

    /// `readInline` and `writeInline`: the same checks and bookkeeping, each with its own right,
    /// its own "refused RWF_NOWAIT before" flag and its own system calls. `direction` is a
    /// constant at both call sites, so the branches on it fold away.
    @inline(__always)
    private func moveInline(_ direction: Direction, _ m: GuestMemory, fd: UInt32, iovecs: GuestAddress, count: UInt32,
                            offset: UInt64?, result: GuestAddress) throws(Errno) -> Bool {
        let positioned = offset != nil
        let reading = direction == .read
        return try table.withDescriptor(fd) { d throws(Errno) -> Bool in
            let right = reading ? Rights.fdRead : Rights.fdWrite
            let needed = positioned ? right | Rights.fdSeek : right
            guard d.rightsBase & needed == needed else { throw .notcapable }
            guard (offset ?? 0) <= UInt64(Int64.max) else { throw .inval }
            guard !d.viaEmbedder else { return false }
            let socket = d.kind == .socket
            let refusedBefore = reading ? d.refusesNowaitReads : d.refusesNowaitWrites
            guard socket ? !positioned : !refusedBefore else { return false }
            let hostFD = d.hostFD
            let at = offset.map { Int64($0) } ?? d.position ?? -1
            let n = try transfer(m, iovecs, count, check: { () throws(Errno) in _ = try m.check(result, 4) }, attempt: {
                switch (reading, socket) {
                case (true, true): NonblockingIO.receive(fd: hostFD, $0, count: $1, flags: 0)
                case (true, false): NonblockingIO.read(fd: hostFD, $0, count: $1, offset: at)
                case (false, true): NonblockingIO.send(fd: hostFD, $0, count: $1, flags: 0)
                case (false, false): NonblockingIO.write(fd: hostFD, $0, count: $1, offset: at)
                }
            })
            guard n >= 0 else {
                if n == -Int(EOPNOTSUPP) {
                    if reading { d.refusesNowaitReads = true } else { d.refusesNowaitWrites = true }
                }
                return false
            }
            if !positioned { d.advance(by: n) }
            try m.storeU32(result, UInt32(n))
            return true
        }
    }

    /// Resolves the guest's iovecs (the same checks and cut as `GuestMemory.iovecs`: EINVAL past
    /// IOV_MAX, EFAULT for any byte out of bounds), runs `check` (the result pointers, before any
    /// data moves), then makes the one non-blocking attempt. Returns the bytes moved, or the
    /// kernel's refusal or error as a negative errno: the call must then park on the ring.
    @inline(__always)
    func transfer(_ m: GuestMemory, _ iovecs: GuestAddress, _ count: UInt32, check: () throws(Errno) -> Void,
                  attempt: (UnsafePointer<iovec>, Int) -> Int) throws(Errno) -> Int {
        guard count <= GuestMemory.maxIovecs else { throw .inval }
        let limit = transferLimit(m)
        // At most IOV_MAX (1,024) entries of 16 bytes; the usual one or two live on the stack.
        return try withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(Int(count), 1)) { buffer throws(Errno) -> Int in
            let used = try m.hostIovecs(iovecs, count, limit: limit, into: buffer)
            try check()
            return attempt(UnsafePointer(buffer.baseAddress!), used)
        }
    }

    /// sock_recv's riflags as recvmsg flags: RECV_PEEK and RECV_WAITALL.
    static func receiveFlags(_ riFlags: UInt32) -> Int32 {
        (riFlags & 1 != 0 ? Int32(MSG_PEEK) : 0) | (riFlags & 2 != 0 ? Int32(MSG_WAITALL) : 0)
    }
}

/// The argument slots of an inline call, read as the Wasm types of its parameters (the same
/// truncating conversions as `WASIParameter`).
struct InlineSlots {
    let raw: UnsafeMutablePointer<UInt64>

    @inline(__always) func u32(_ i: Int) -> UInt32 { UInt32(truncatingIfNeeded: raw[i]) }
    @inline(__always) func address(_ i: Int) -> GuestAddress { GuestAddress(u32(i)) }
    /// An i64 file offset, unchecked (see `readInline`).
    @inline(__always) func offset(_ i: Int) -> UInt64 { raw[i] }
}
