import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// The descriptor functions, fd_*: reads and writes complete inline when they cannot block, else
/// go through io_uring (see WASIContext+FastPath.swift); metadata calls are direct system calls.
extension WASIContext {
    func addDescriptorFunctions(_ f: WASIFunctionTable) {
        // Every read and write first tries to finish inline (`inline`, WASIContext+FastPath.swift);
        // the body runs only when that attempt could not: it parks the guest on the ring.
        f.async("fd_write", inline: inline(Self.fdWriteInline)) {
            (m: GuestMemory, fd: FD, iovecs: GuestAddress, iovsCount: GuestSize, resultPointer: GuestAddress,
              done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdWrite)
            if let output = self.standardOutput(of: d) {
                let iovs = try m.iovecs(iovecs, iovsCount.value, limit: self.transferLimit(m))
                _ = try m.check(resultPointer, 4)
                return try self.writeStandard(output, stream: d.hostFD, Self.gather(iovs), m, resultPointer, done)
            }
            let iovs = try m.iovecs(iovecs, iovsCount.value, limit: self.transferLimit(m))
            _ = try m.check(resultPointer, 4)
            let buffer = IOBuffer(gathering: iovs)
            // At the position kept in user space, if any (`Descriptor.position`), advanced when
            // the guest resumes; else at the kernel's.
            let position = d.position
            self.ring.write(fd: d.hostFD, from: buffer.pointer, count: buffer.count, offset: position ?? -1) { result in
                withExtendedLifetime(buffer) {}  // the kernel reads it until now
                if result < 0 { return done(Errno(host: -result)) }
                done.then { () throws(Errno) in
                    if position != nil { try self.table.update(fd.value) { $0.advance(by: Int(result)) } }
                    try m.storeU32(resultPointer, UInt32(result))
                }
            }
        }
        f.async("fd_read", inline: inline(Self.fdReadInline)) {
            (m: GuestMemory, fd: FD, iovecs: GuestAddress, iovsCount: GuestSize, result: GuestAddress,
              done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdRead)
            if self.readsEmbedderInput(d) {
                let iovs = try m.iovecs(iovecs, iovsCount.value, limit: self.transferLimit(m))
                _ = try m.check(result, 4)
                return try self.readStandardInput(iovs, m, result, done)
            }
            try self.read(fd.value, d, m, iovecs: iovecs, count: iovsCount.value, offset: nil, result: result, done)
        }
        f.async("fd_pread", inline: inline(Self.fdPreadInline)) {
            (m: GuestMemory, fd: FD, iovecs: GuestAddress, iovsCount: GuestSize, offset: UInt64,
              result: GuestAddress, done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdRead | Rights.fdSeek)
            guard offset <= UInt64(Int64.max) else { throw .inval }
            try self.read(fd.value, d, m, iovecs: iovecs, count: iovsCount.value, offset: Int64(offset), result: result, done)
        }
        f.async("fd_pwrite", inline: inline(Self.fdPwriteInline)) {
            (m: GuestMemory, fd: FD, iovecs: GuestAddress, iovsCount: GuestSize, offset: UInt64,
              resultPointer: GuestAddress, done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdWrite | Rights.fdSeek)
            guard offset <= UInt64(Int64.max) else { throw .inval }
            let iovs = try m.iovecs(iovecs, iovsCount.value, limit: self.transferLimit(m))
            _ = try m.check(resultPointer, 4)
            let buffer = IOBuffer(gathering: iovs)
            self.ring.write(fd: d.hostFD, from: buffer.pointer, count: buffer.count, offset: Int64(offset)) { result in
                withExtendedLifetime(buffer) {}  // the kernel reads it until now
                if result < 0 { return done(Errno(host: -result)) }
                done.then { () throws(Errno) in try m.storeU32(resultPointer, UInt32(result)) }
            }
        }
        // Closing drops the guest's entry. The host descriptor is closed only if this instance
        // owns it: inherited stdio and shared listeners stay open for everyone else using them
        // (closing them would hand their number to the next open or accept in the process).
        f.async("fd_close") { (_: GuestMemory, fd: FD, done: Done) throws(Errno) in
            let d = try self.table.remove(fd.value)
            guard let hostFD = self.table.hostDescriptorToClose(d) else { return done(.success) }
            self.ring.close(fd: hostFD) { result in done(result < 0 ? Errno(host: -result) : .success) }
        }
        f.async("fd_sync") { (_: GuestMemory, fd: FD, done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdSync)
            guard d.kind == .file || d.kind == .directory else { throw .badf }  // not the host's stdio
            self.ring.sync(fd: d.hostFD, dataOnly: false) { result in done(result < 0 ? Errno(host: -result) : .success) }
        }
        f.async("fd_datasync") { (_: GuestMemory, fd: FD, done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdDatasync)
            guard d.kind == .file || d.kind == .directory else { throw .badf }
            self.ring.sync(fd: d.hostFD, dataOnly: true) { result in done(result < 0 ? Errno(host: -result) : .success) }
        }
        f.sync("fd_seek") { (m: GuestMemory, fd: FD, offset: UInt64, rawWhence: UInt32, result: GuestAddress) throws(Errno) in
            let whence = rawWhence & 0xFF
            let d = try self.descriptor(fd.value)
            guard d.kind != .stdio, d.kind != .socket else { throw .spipe }  // before rights: stdio holds no seek right
            _ = try self.descriptor(fd.value, requiring: (offset == 0 && whence == 1) ? Rights.fdTell : Rights.fdSeek)
            guard d.kind == .file else { throw .badf }
            let hostWhence: Int32 = switch whence {
            case 0: SEEK_SET
            case 1: SEEK_CUR
            case 2: SEEK_END
            default: -1
            }
            guard hostWhence >= 0 else { throw .inval }
            _ = try m.check(result, 8)  // before moving the offset
            // A position kept in user space goes to the kernel first, so that the seek (its
            // checks, its SEEK_CUR and SEEK_END) is the kernel's; its result comes back here.
            if let kept = d.position, lseek(d.hostFD, off_t(kept), SEEK_SET) < 0 { throw Errno(host: errno) }
            let position = lseek(d.hostFD, off_t(Int64(bitPattern: offset)), hostWhence)
            guard position >= 0 else { throw Errno(host: errno) }
            if d.position != nil { try self.table.update(fd.value) { $0.position = Int64(position) } }
            try m.storeU64(result, UInt64(position))
        }
        f.sync("fd_tell") { (m: GuestMemory, fd: FD, result: GuestAddress) throws(Errno) in
            let d = try self.descriptor(fd.value)
            guard d.kind != .directory else { throw .badf }  // as wasmtime; stdio and sockets: ESPIPE
            guard d.kind == .file else { throw .spipe }
            _ = try self.descriptor(fd.value, requiring: Rights.fdTell)
            _ = try m.check(result, 8)
            if let kept = d.position { return try m.storeU64(result, UInt64(kept)) }
            let position = lseek(d.hostFD, 0, SEEK_CUR)
            guard position >= 0 else { throw Errno(host: errno) }
            try m.storeU64(result, UInt64(position))
        }
        f.sync("fd_fdstat_get") { (m: GuestMemory, fd: FD, base: GuestAddress) throws(Errno) in
            let d = try self.descriptor(fd.value)
            _ = try m.check(base, 24)
            try m.storeU8(base, d.kind == .stdio ? (self.stdioIsTerminal(d) ? 2 : 0) : Self.filetype(of: d))
            try m.storeU16(base + 2, Self.fdflags(of: d))
            try m.storeU64(base + 8, d.rightsBase)
            try m.storeU64(base + 16, d.rightsInheriting)
        }
        f.sync("fd_fdstat_set_rights") { (_: GuestMemory, fd: FD, rightsBase: UInt64, rightsInheriting: UInt64) throws(Errno) in
            let d = try self.descriptor(fd.value)
            // Rights can only be dropped.
            guard rightsBase & ~d.rightsBase == 0, rightsInheriting & ~d.rightsInheriting == 0 else { throw .notcapable }
            try self.table.update(fd.value) {
                $0.rightsBase = rightsBase
                $0.rightsInheriting = rightsInheriting
            }
        }
        f.sync("fd_filestat_get") { (m: GuestMemory, fd: FD, result: GuestAddress) throws(Errno) in
            // Stdio holds no FD_FILESTAT_GET (its rights are wasmtime's), but answers as wasmtime does.
            let d = try self.descriptor(fd.value)
            if d.kind != .stdio { _ = try self.descriptor(fd.value, requiring: Rights.fdFilestatGet) }
            _ = try m.check(result, 64)
            var s = stat()
            if d.kind == .stdio {
                // The host's stdio may be a file shared with other tenants (a log): its inode,
                // size and times are not this guest's business. wasmtime reports zeros too, and
                // the filetype: character device for a terminal, else unknown.
                s.st_mode = self.stdioIsTerminal(d) ? S_IFCHR : 0
            } else {
                guard fstat(d.hostFD, &s) == 0 else { throw Errno(host: errno) }
            }
            try Self.storeFilestat(m, result, s)
        }
        f.sync("fd_prestat_get") { (m: GuestMemory, fd: FD, base: GuestAddress) throws(Errno) in
            let d = try self.descriptor(fd.value)
            guard let name = d.preopenName else { throw .badf }
            _ = try m.check(base, 8)
            try m.storeU8(base, 0)
            try m.storeU32(base + 4, UInt32(clamping: name.utf8.count))
        }
        f.sync("fd_prestat_dir_name") { (m: GuestMemory, fd: FD, path: GuestAddress, pathLength: GuestSize) throws(Errno) in
            let d = try self.descriptor(fd.value)
            guard let name = d.preopenName else { throw .badf }
            let bytes = Array(name.utf8)
            guard pathLength.value >= bytes.count else { throw .nametoolong }
            try m.write(path, bytes)
        }
        // Descriptor calls that change metadata or list directories. None of them waits on a device's
        // data path (io_uring has no getdents, ftruncate or fallocate-with-mode here), so they are direct
        // system calls on the pool thread, each bounded by one inode operation.
        f.sync("fd_readdir") { (m: GuestMemory, fd: FD, buffer: GuestAddress, length: GuestSize, cookie: UInt64,
                                result: GuestAddress) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdReaddir)
            guard d.kind == .directory else { throw .notdir }
            _ = try m.check(buffer, UInt64(length.value))
            _ = try m.check(result, 4)
            let entries = try Self.listDirectory(d.hostFD)
            var out: [UInt8] = []
            var index = cookie
            while index < UInt64(entries.count) && out.count < Int(length.value) {
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
            let written = min(out.count, Int(length.value))
            try m.write(buffer, Array(out[0..<written]))
            try m.storeU32(result, UInt32(written))
        }
        // Renumbering a descriptor onto itself is a no-op (not "close it, then move it"). The
        // descriptor displaced from `to` is closed on the host only if this instance owned it.
        f.sync("fd_renumber") { (_: GuestMemory, fd: FD, to: FD) throws(Errno) in
            if let displaced = try self.table.renumber(from: fd.value, to: to.value) { self.table.closeIfOwned(displaced) }
        }
        f.sync("fd_filestat_set_size") { (_: GuestMemory, fd: FD, size: UInt64) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdFilestatSetSize)
            guard d.kind == .file else { throw .inval }
            guard size <= UInt64(Int64.max), ftruncate(d.hostFD, off_t(size)) == 0 else { throw Errno(host: errno) }
        }
        f.sync("fd_allocate") { (_: GuestMemory, fd: FD, offset: UInt64, length: UInt64) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdAllocate)
            guard d.kind == .file else { throw .badf }
            guard offset <= UInt64(Int64.max), length <= UInt64(Int64.max) else { throw .inval }
            let e = posix_fallocate(d.hostFD, off_t(offset), off_t(length))
            guard e == 0 else { throw Errno(host: e) }
        }
        f.sync("fd_advise") { (_: GuestMemory, fd: FD, offset: UInt64, length: UInt64, advice: UInt32) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdAdvise)
            guard d.kind == .file else { throw .badf }
            guard advice <= 5 else { throw .inval }
            // Advice is a hint: accepted and passed on where the kernel takes it.
            _ = posix_fadvise(d.hostFD, off_t(Int64(bitPattern: offset)), off_t(Int64(bitPattern: length)), Int32(advice))
        }
        f.sync("fd_filestat_set_times") { (_: GuestMemory, fd: FD, atime: UInt64, mtime: UInt64,
                                           fstFlags: UInt32) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdFilestatSetTimes)
            // Not the host's stdio (perhaps a file shared with other tenants), not a socket.
            guard d.kind == .file || d.kind == .directory else { throw .badf }
            var times = try Self.timespecs(atime: atime, mtime: mtime, flags: fstFlags)
            guard futimens(d.hostFD, &times) == 0 else { throw Errno(host: errno) }
        }
        f.sync("fd_fdstat_set_flags") { (_: GuestMemory, fd: FD, wanted: UInt32) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdFdstatSetFlags)
            // File status flags belong to the open file description: on inherited stdio or a
            // shared listener they would change it for every other user of the host descriptor.
            guard d.kind == .file || d.kind == .socket, d.ownsHostFD else { throw .badf }
            // APPEND and NONBLOCK can change on an open descriptor; SYNC, DSYNC and RSYNC cannot
            // (EINVAL, as wasmtime).
            guard wanted & ~(Self.fdflagAppend | Self.fdflagNonblock) == 0 else { throw .inval }
            let current = fcntl(d.hostFD, F_GETFL)
            guard current >= 0 else { throw Errno(host: errno) }
            var flags = current & ~(O_APPEND | O_NONBLOCK)
            if wanted & Self.fdflagAppend != 0 { flags |= O_APPEND }
            if wanted & Self.fdflagNonblock != 0 { flags |= O_NONBLOCK }
            // Into append mode, a position kept in user space goes back to the kernel, which
            // alone knows where each append ends; out of it, a regular file's comes back here.
            let appending = flags & O_APPEND != 0
            if appending, let kept = d.position, lseek(d.hostFD, off_t(kept), SEEK_SET) < 0 { throw Errno(host: errno) }
            guard fcntl(d.hostFD, F_SETFL, flags) == 0 else { throw Errno(host: errno) }
            if appending {
                try self.table.update(fd.value) { $0.position = nil }
            } else if d.position == nil, d.kind == .file, Self.isRegularFile(d.hostFD) {
                let position = lseek(d.hostFD, 0, SEEK_CUR)
                if position >= 0 { try self.table.update(fd.value) { $0.position = Int64(position) } }
            }
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
}
