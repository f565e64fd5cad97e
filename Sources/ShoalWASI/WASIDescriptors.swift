import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// Descriptor calls that change metadata or list directories. None of them waits on a device's
/// data path (io_uring has no getdents, ftruncate or fallocate-with-mode here), so they are direct
/// system calls on the pool thread, each bounded by one inode operation.
extension WASIContext {
    func addDescriptorFunctions(_ sync: (String, [ValueType], @escaping SyncBody) -> Void, _ async: (String, [ValueType], @escaping AsyncBody) -> Void) {
        let i32 = ValueType.i32, i64 = ValueType.i64
        sync("fd_readdir", [i32, i32, i32, i64, i32]) { m, a throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdReaddir)
            guard d.kind == .directory else { throw .notdir }
            let buffer = a.address(1), length = a.u32(2), cookie = a.u64(3), result = a.address(4)
            _ = try m.check(buffer, UInt64(length))
            _ = try m.check(result, 4)
            let entries = try Self.listDirectory(d.hostFD)
            var out: [UInt8] = []
            var index = cookie
            while index < UInt64(entries.count) && out.count < Int(length) {
                let (name, inode, type) = entries[Int(index)]
                var header = [UInt8](repeating: 0, count: 24)
                withUnsafeBytes(of: (index + 1).littleEndian) { header.replaceSubrange(0..<8, with: $0) }
                withUnsafeBytes(of: inode.littleEndian) { header.replaceSubrange(8..<16, with: $0) }
                withUnsafeBytes(of: UInt32(name.count).littleEndian) { header.replaceSubrange(16..<20, with: $0) }
                header[20] = type
                out += header + name
                index += 1
            }
            // A full buffer is how the guest learns to ask again from the next cookie.
            let written = min(out.count, Int(length))
            try m.write(buffer, Array(out[0..<written]))
            try m.storeU32(result, UInt32(written))
        }
        // Renumbering a descriptor onto itself is a no-op (not "close it, then move it"). The
        // descriptor displaced from `to` is closed on the host only if this instance owned it.
        sync("fd_renumber", [i32, i32]) { _, a throws(Errno) in
            if let displaced = try self.table.renumber(from: a.fd(0), to: a.fd(1)) { self.table.closeIfOwned(displaced) }
        }
        sync("fd_filestat_set_size", [i32, i64]) { _, a throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdFilestatSetSize)
            guard d.kind == .file else { throw .inval }
            guard a.u64(1) <= UInt64(Int64.max), ftruncate(d.hostFD, off_t(a.u64(1))) == 0 else { throw Errno(host: errno) }
        }
        sync("fd_allocate", [i32, i64, i64]) { _, a throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdAllocate)
            guard d.kind == .file else { throw .badf }
            guard a.u64(1) <= UInt64(Int64.max), a.u64(2) <= UInt64(Int64.max) else { throw .inval }
            let e = posix_fallocate(d.hostFD, off_t(a.u64(1)), off_t(a.u64(2)))
            guard e == 0 else { throw Errno(host: e) }
        }
        sync("fd_advise", [i32, i64, i64, i32]) { _, a throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdAdvise)
            guard d.kind == .file else { throw .badf }
            guard a.u32(3) <= 5 else { throw .inval }
            // Advice is a hint: accepted and passed on where the kernel takes it.
            _ = posix_fadvise(d.hostFD, off_t(Int64(bitPattern: a.u64(1))), off_t(Int64(bitPattern: a.u64(2))), Int32(a.u32(3)))
        }
        sync("fd_filestat_set_times", [i32, i64, i64, i32]) { _, a throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdFilestatSetTimes)
            // Not the host's stdio (perhaps a file shared with other tenants), not a socket.
            guard d.kind == .file || d.kind == .directory else { throw .badf }
            var times = try Self.timespecs(atime: a.u64(1), mtime: a.u64(2), flags: a.u32(3))
            guard futimens(d.hostFD, &times) == 0 else { throw Errno(host: errno) }
        }
        sync("fd_fdstat_set_flags", [i32, i32]) { _, a throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdFdstatSetFlags)
            // File status flags belong to the open file description: on inherited stdio or a
            // shared listener they would change it for every other user of the host descriptor.
            guard d.kind == .file || d.kind == .socket, d.ownsHostFD else { throw .badf }
            // APPEND and NONBLOCK can change on an open descriptor; SYNC, DSYNC and RSYNC cannot
            // (EINVAL, as wasmtime).
            let wanted = a.u32(1)
            guard wanted & ~(Self.fdflagAppend | Self.fdflagNonblock) == 0 else { throw .inval }
            let current = fcntl(d.hostFD, F_GETFL)
            guard current >= 0 else { throw Errno(host: errno) }
            var flags = current & ~(O_APPEND | O_NONBLOCK)
            if wanted & Self.fdflagAppend != 0 { flags |= O_APPEND }
            if wanted & Self.fdflagNonblock != 0 { flags |= O_NONBLOCK }
            guard fcntl(d.hostFD, F_SETFL, flags) == 0 else { throw Errno(host: errno) }
        }
    }

    /// Entries of a directory, "." and ".." included, in a stable order (cookies index into it).
    static func listDirectory(_ fd: Int32) throws(Errno) -> [(name: [UInt8], inode: UInt64, type: UInt8)] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else { throw Errno(host: errno) }
        defer { closedir(dir) }
        rewinddir(dir)
        var entries: [(name: [UInt8], inode: UInt64, type: UInt8)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            let type: UInt8 = switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR): 3
            case Int32(DT_REG): 4
            case Int32(DT_LNK): 7
            case Int32(DT_CHR): 2
            case Int32(DT_BLK): 1
            case Int32(DT_SOCK): 6
            default: 0
            }
            entries.append((name, UInt64(entry.pointee.d_ino), type))
        }
        return entries.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    func addSocketFunctions(_ sync: (String, [ValueType], @escaping SyncBody) -> Void, _ async: (String, [ValueType], @escaping AsyncBody) -> Void) {
        let i32 = ValueType.i32
        async("sock_accept", [i32, i32, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.sockAccept)
            guard d.kind == .socket else { throw .notsock }
            let result = a.address(2)
            _ = try m.check(result, 4)
            try self.table.reserve()  // EMFILE past the limit, before a connection is taken
            self.ring.accept(fd: d.hostFD) { fd in
                guard fd >= 0 else {
                    self.table.cancelReservation()
                    return done(Errno(host: -fd))
                }
                let guestFD = self.table.insert(reserved: Descriptor(hostFD: fd, kind: .socket, ownsHostFD: true))
                done.then { () throws(Errno) in try m.storeU32(result, guestFD) }
            }
        }
        async("sock_recv", [i32, i32, i32, i32, i32, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdRead)
            guard d.kind == .socket else { throw .notsock }
            let iovs = try m.iovecs(a.address(1), a.u32(2), limit: self.transferLimit(m))
            let flags: Int32 = (a.u32(3) & 1 != 0 ? Int32(MSG_PEEK) : 0) | (a.u32(3) & 2 != 0 ? Int32(MSG_WAITALL) : 0)
            let dataLength = a.address(4), outFlags = a.address(5)
            _ = try m.check(dataLength, 4)
            _ = try m.check(outFlags, 2)
            let total = iovs.reduce(0) { $0 + $1.1 }
            let buffer = IOBuffer(count: total)
            nonisolated(unsafe) let targets = iovs
            self.ring.receive(fd: d.hostFD, into: buffer.pointer, count: total, flags: flags) { n in
                guard n >= 0 else { return done(Errno(host: -n)) }
                done.then { () throws(Errno) in
                    buffer.scatter(Int(n), into: targets)
                    try m.storeU32(dataLength, UInt32(n))
                    try m.storeU16(outFlags, 0)
                }
            }
        }
        async("sock_send", [i32, i32, i32, i32, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdWrite)
            guard d.kind == .socket else { throw .notsock }
            let iovs = try m.iovecs(a.address(1), a.u32(2), limit: self.transferLimit(m))
            let result = a.address(4)
            _ = try m.check(result, 4)
            let buffer = IOBuffer(gathering: iovs)
            self.ring.send(fd: d.hostFD, from: buffer.pointer, count: buffer.count, flags: 0) { n in
                withExtendedLifetime(buffer) {}  // the kernel reads it until now
                guard n >= 0 else { return done(Errno(host: -n)) }
                done.then { () throws(Errno) in try m.storeU32(result, UInt32(n)) }
            }
        }
        async("sock_shutdown", [i32, i32]) { _, a, done throws(Errno) in
            // Not a socket is ENOTSOCK whatever its rights (as wasmtime), before the rights check.
            guard try self.descriptor(a.fd(0)).kind == .socket else { throw .notsock }
            let d = try self.descriptor(a.fd(0), requiring: Rights.sockShutdown)
            // shutdown acts on the socket, not the descriptor: on a listener shared with other
            // instances it would stop it for all of them. Only the instance's own sockets.
            guard d.ownsHostFD else { throw .notconn }
            let how: Int32 = switch a.u32(1) & 3 {
            case 1: Int32(SHUT_RD)
            case 2: Int32(SHUT_WR)
            case 3: Int32(SHUT_RDWR)
            default: -1
            }
            guard how >= 0, a.u32(1) & ~3 == 0 else { throw .inval }
            self.ring.shutdown(fd: d.hostFD, how: how) { r in done(r < 0 ? Errno(host: -r) : .success) }
        }
    }
}
