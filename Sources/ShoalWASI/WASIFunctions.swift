import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// The wasi_snapshot_preview1 functions. I/O goes through io_uring: the function submits, the
/// guest's fiber parks, the completion resumes it. Metadata calls that never wait on a device
/// (fstat, lseek) are direct system calls.
///
/// Guest input is hostile: every pointer goes through `GuestMemory` (64-bit bounds checks, EFAULT),
/// result pointers are checked before the operation runs (so an I/O is never done and then
/// reported as failed), and every size the host allocates for is bounded by a fixed cap or by the
/// guest's own memory.
extension WASIContext {
    typealias SyncBody = @Sendable (GuestMemory, Arguments) throws(Errno) -> Void
    typealias AsyncBody = @Sendable (GuestMemory, Arguments, Done) throws(Errno) -> Void

    /// O_PATH (not exported by Swift's Glibc module).
    static let openPath: Int32 = 0o10000000

    /// Every function, as a maker: a Function (with its host context) is only built for the names
    /// a module actually imports — a few of the 46, per instance.
    func makeFunctions() -> [String: () -> Function] {
        var f: [String: () -> Function] = [:]
        func sync(_ name: String, _ params: [ValueType], _ body: @escaping SyncBody) {
            f[name] = { Function(HostFunction(type: FuncType(params: params, results: [.i32])) { caller, args in
                do throws(Errno) {
                    try body(GuestMemory(caller), Arguments(args.map(\.slot)))
                    return [.i32(0)]
                } catch {
                    return [.i32(UInt32(error.rawValue))]
                }
            }) }
        }
        func async(_ name: String, _ params: [ValueType], _ body: @escaping AsyncBody) {
            f[name] = { Function(AsyncHostFunction(type: FuncType(params: params, results: [.i32])) { caller, args, completion in
                do throws(Errno) {
                    try body(GuestMemory(caller), Arguments(args.map(\.slot)), Done(completion: completion))
                } catch {
                    completion.resume(returning: [.i32(UInt32(error.rawValue))])
                }
            }) }
        }
        let i32 = ValueType.i32, i64 = ValueType.i64

        // Arguments and environment.
        let argv = configuration.arguments.map { Array($0.utf8) + [0] }
        let envv = configuration.environment.map { Array("\($0.0)=\($0.1)".utf8) + [0] }
        func sizes(_ list: [[UInt8]]) -> SyncBody {
            { m, a throws(Errno) in
                _ = try m.check(a.address(0), 4)
                _ = try m.check(a.address(1), 4)
                try m.storeU32(a.address(0), UInt32(clamping: list.count))
                try m.storeU32(a.address(1), UInt32(clamping: list.reduce(0) { $0 + $1.count }))
            }
        }
        func fill(_ list: [[UInt8]]) -> SyncBody {
            { m, a throws(Errno) in
                let pointers = a.address(0), strings = a.address(1)
                // Both arrays are checked whole before anything is written: they must fit below
                // the end of memory (computed in 64 bits, so they cannot wrap around to 0).
                _ = try m.check(pointers, UInt64(list.count) * 4)
                _ = try m.check(strings, list.reduce(0) { $0 + UInt64($1.count) })
                var offset: UInt64 = 0
                for (i, item) in list.enumerated() {
                    let string = strings + offset
                    try m.storeU32(pointers.element(UInt64(i), stride: 4), UInt32(truncatingIfNeeded: string.value))
                    try m.write(string, item)
                    offset += UInt64(item.count)
                }
            }
        }
        sync("args_sizes_get", [i32, i32], sizes(argv))
        sync("args_get", [i32, i32], fill(argv))
        sync("environ_sizes_get", [i32, i32], sizes(envv))
        sync("environ_get", [i32, i32], fill(envv))

        // Clocks and randomness.
        @Sendable func clock(_ id: UInt32) throws(Errno) -> clockid_t {
            switch id {
            case 0: return CLOCK_REALTIME
            case 1: return CLOCK_MONOTONIC
            // The process's and the worker thread's CPU time are every tenant's together: a
            // guest must not observe its neighbours' load. Refused as wasmtime does (EBADF).
            case 2, 3: throw .badf
            default: throw .inval
            }
        }
        sync("clock_res_get", [i32, i32]) { m, a throws(Errno) in
            var ts = timespec()
            clock_getres(try clock(a.u32(0)), &ts)
            try m.storeU64(a.address(1), Self.nanoseconds(ts))
        }
        sync("clock_time_get", [i32, i64, i32]) { m, a throws(Errno) in
            var ts = timespec()
            clock_gettime(try clock(a.u32(0)), &ts)
            try m.storeU64(a.address(2), Self.nanoseconds(ts))
        }
        sync("random_get", [i32, i32]) { m, a throws(Errno) in
            // Written straight into guest memory: no host buffer, whatever the length.
            let count = Int(a.u32(1))
            let p = try m.check(a.address(0), UInt64(count))
            var generator = SystemRandomNumberGenerator()  // the OS's CSPRNG (getrandom)
            var filled = 0
            while filled < count {
                var word = generator.next()
                let chunk = min(8, count - filled)
                withUnsafeBytes(of: &word) { (p + filled).copyMemory(from: $0.baseAddress!, byteCount: chunk) }
                filled += chunk
            }
        }

        // Process.
        f["proc_exit"] = { Function(HostFunction(type: FuncType(params: [i32], results: [])) { _, args in
            let code = Int32(bitPattern: UInt32(truncatingIfNeeded: args[0].slot))
            self.recordExit(code)
            throw WASIExit(code: code)
        }) }
        // proc_raise: a signal can only end this instance (there is no handler to run): the
        // instance stops with exit status 128 + signal, as a shell reports a killed process.
        f["proc_raise"] = { Function(HostFunction(type: FuncType(params: [i32], results: [.i32])) { _, args in
            let signal = UInt32(truncatingIfNeeded: args[0].slot)
            guard signal > 0, signal < 32 else { return [.i32(UInt32(Errno.inval.rawValue))] }
            self.recordExit(128 + Int32(signal))
            throw WASIExit(code: 128 + Int32(signal))
        }) }
        // A real yield: parks and comes straight back, so the scheduler runs someone else first.
        async("sched_yield", []) { _, _, done throws(Errno) in done(.success) }

        // Descriptors.
        async("fd_write", [i32, i32, i32, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdWrite)
            let iovs = try m.iovecs(a.address(1), a.u32(2), limit: self.transferLimit(m))
            let resultPointer = a.address(3)
            _ = try m.check(resultPointer, 4)
            if self.configuration.captureOutput, d.kind == .stdio, d.hostFD == 1 || d.hostFD == 2 {
                let buffer = IOBuffer(gathering: iovs)
                let limit = self.configuration.captureLimit
                let stored: Int = self.lock.withLock {
                    let held = d.hostFD == 1 ? self.capturedStdout.count : self.capturedStderr.count
                    let room = max(0, limit - held)
                    let bytes = buffer.bytes.prefix(room)
                    if d.hostFD == 1 { self.capturedStdout += bytes } else { self.capturedStderr += bytes }
                    return bytes.count
                }
                if stored == 0 && buffer.count > 0 { return done(.nospc) }
                try m.storeU32(resultPointer, UInt32(stored))
                return done(.success)
            }
            let buffer = IOBuffer(gathering: iovs)
            self.ring.write(fd: d.hostFD, from: buffer.pointer, count: buffer.count) { result in
                withExtendedLifetime(buffer) {}  // the kernel reads it until now
                if result < 0 { return done(Errno(host: -result)) }
                done.then { () throws(Errno) in try m.storeU32(resultPointer, UInt32(result)) }
            }
        }
        async("fd_read", [i32, i32, i32, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdRead)
            if d.kind == .stdio, d.hostFD == 0, let input = self.configuration.stdin {
                // Standard input from the embedder's buffer.
                let iovs = try m.iovecs(a.address(1), a.u32(2), limit: self.transferLimit(m))
                _ = try m.check(a.address(3), 4)
                let n = self.lock.withLock { () -> Int in
                    var copied = 0
                    for (p, length) in iovs where self.stdinOffset < input.count {
                        let chunk = min(length, input.count - self.stdinOffset)
                        input.withUnsafeBytes { p.copyMemory(from: $0.baseAddress! + self.stdinOffset, byteCount: chunk) }
                        self.stdinOffset += chunk
                        copied += chunk
                    }
                    return copied
                }
                try m.storeU32(a.address(3), UInt32(n))
                return done(.success)
            }
            try self.read(d, m, iovecs: a.address(1), count: a.u32(2), offset: -1, result: a.address(3), done)
        }
        async("fd_pread", [i32, i32, i32, i64, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdRead | Rights.fdSeek)
            guard a.u64(3) <= UInt64(Int64.max) else { throw .inval }
            try self.read(d, m, iovecs: a.address(1), count: a.u32(2), offset: Int64(a.u64(3)), result: a.address(4), done)
        }
        async("fd_pwrite", [i32, i32, i32, i64, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdWrite | Rights.fdSeek)
            guard a.u64(3) <= UInt64(Int64.max) else { throw .inval }
            let iovs = try m.iovecs(a.address(1), a.u32(2), limit: self.transferLimit(m))
            let resultPointer = a.address(4)
            _ = try m.check(resultPointer, 4)
            let buffer = IOBuffer(gathering: iovs)
            self.ring.write(fd: d.hostFD, from: buffer.pointer, count: buffer.count, offset: Int64(a.u64(3))) { result in
                withExtendedLifetime(buffer) {}  // the kernel reads it until now
                if result < 0 { return done(Errno(host: -result)) }
                done.then { () throws(Errno) in try m.storeU32(resultPointer, UInt32(result)) }
            }
        }
        // Closing drops the guest's entry. The host descriptor is closed only if this instance
        // owns it: inherited stdio and shared listeners stay open for everyone else using them
        // (closing them would hand their number to the next open or accept in the process).
        async("fd_close", [i32]) { _, a, done throws(Errno) in
            let d = try self.table.remove(a.fd(0))
            guard let hostFD = self.table.hostDescriptorToClose(d) else { return done(.success) }
            self.ring.close(fd: hostFD) { result in done(result < 0 ? Errno(host: -result) : .success) }
        }
        async("fd_sync", [i32]) { _, a, done throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdSync)
            guard d.kind == .file || d.kind == .directory else { throw .badf }  // not the host's stdio
            self.ring.sync(fd: d.hostFD, dataOnly: false) { result in done(result < 0 ? Errno(host: -result) : .success) }
        }
        async("fd_datasync", [i32]) { _, a, done throws(Errno) in
            let d = try self.descriptor(a.fd(0), requiring: Rights.fdDatasync)
            guard d.kind == .file || d.kind == .directory else { throw .badf }
            self.ring.sync(fd: d.hostFD, dataOnly: true) { result in done(result < 0 ? Errno(host: -result) : .success) }
        }
        sync("fd_seek", [i32, i64, i32, i32]) { m, a throws(Errno) in
            let whence = a.u32(2) & 0xFF
            let d = try self.descriptor(a.fd(0))
            guard d.kind != .stdio, d.kind != .socket else { throw .spipe }  // before rights: stdio holds no seek right
            _ = try self.descriptor(a.fd(0), requiring: (a.u64(1) == 0 && whence == 1) ? Rights.fdTell : Rights.fdSeek)
            guard d.kind == .file else { throw .badf }
            let hostWhence: Int32 = switch whence {
            case 0: SEEK_SET
            case 1: SEEK_CUR
            case 2: SEEK_END
            default: -1
            }
            guard hostWhence >= 0 else { throw .inval }
            _ = try m.check(a.address(3), 8)  // before moving the offset
            let position = lseek(d.hostFD, off_t(Int64(bitPattern: a.u64(1))), hostWhence)
            guard position >= 0 else { throw Errno(host: errno) }
            try m.storeU64(a.address(3), UInt64(position))
        }
        sync("fd_tell", [i32, i32]) { m, a throws(Errno) in
            let d = try self.descriptor(a.fd(0))
            guard d.kind != .directory else { throw .badf }  // as wasmtime; stdio and sockets: ESPIPE
            guard d.kind == .file else { throw .spipe }
            _ = try self.descriptor(a.fd(0), requiring: Rights.fdTell)
            _ = try m.check(a.address(1), 8)
            let position = lseek(d.hostFD, 0, SEEK_CUR)
            guard position >= 0 else { throw Errno(host: errno) }
            try m.storeU64(a.address(1), UInt64(position))
        }
        sync("fd_fdstat_get", [i32, i32]) { m, a throws(Errno) in
            let d = try self.descriptor(a.fd(0))
            let base = a.address(1)
            _ = try m.check(base, 24)
            try m.storeU8(base, d.kind == .stdio ? (self.stdioIsTerminal(d) ? 2 : 0) : Self.filetype(of: d))
            try m.storeU16(base + 2, Self.fdflags(of: d))
            try m.storeU64(base + 8, d.rightsBase)
            try m.storeU64(base + 16, d.rightsInheriting)
        }
        sync("fd_fdstat_set_rights", [i32, i64, i64]) { _, a throws(Errno) in
            let d = try self.descriptor(a.fd(0))
            // Rights can only be dropped.
            guard a.u64(1) & ~d.rightsBase == 0, a.u64(2) & ~d.rightsInheriting == 0 else { throw .notcapable }
            try self.table.update(a.fd(0)) {
                $0.rightsBase = a.u64(1)
                $0.rightsInheriting = a.u64(2)
            }
        }
        sync("fd_filestat_get", [i32, i32]) { m, a throws(Errno) in
            // Stdio holds no FD_FILESTAT_GET (its rights are wasmtime's), but answers as wasmtime does.
            let d = try self.descriptor(a.fd(0))
            if d.kind != .stdio { _ = try self.descriptor(a.fd(0), requiring: Rights.fdFilestatGet) }
            _ = try m.check(a.address(1), 64)
            var s = stat()
            if d.kind == .stdio {
                // The host's stdio may be a file shared with other tenants (a log): its inode,
                // size and times are not this guest's business. wasmtime reports zeros too, and
                // the filetype: character device for a terminal, else unknown.
                s.st_mode = self.stdioIsTerminal(d) ? S_IFCHR : 0
            } else {
                guard fstat(d.hostFD, &s) == 0 else { throw Errno(host: errno) }
            }
            try Self.storeFilestat(m, a.address(1), s)
        }
        sync("fd_prestat_get", [i32, i32]) { m, a throws(Errno) in
            let d = try self.descriptor(a.fd(0))
            guard let name = d.preopenName else { throw .badf }
            let base = a.address(1)
            _ = try m.check(base, 8)
            try m.storeU8(base, 0)
            try m.storeU32(base + 4, UInt32(clamping: name.utf8.count))
        }
        sync("fd_prestat_dir_name", [i32, i32, i32]) { m, a throws(Errno) in
            let d = try self.descriptor(a.fd(0))
            guard let name = d.preopenName else { throw .badf }
            let bytes = Array(name.utf8)
            guard a.u32(2) >= bytes.count else { throw .nametoolong }
            try m.write(a.address(1), bytes)
        }
        async("path_open", [i32, i32, i32, i32, i32, i64, i64, i32, i32]) { m, a, done throws(Errno) in
            let directory = try self.descriptor(a.fd(0), requiring: Rights.pathOpen)
            guard directory.kind == .directory else { throw .notdir }
            let path = try m.path(a.address(2), a.u32(3))
            let oflags = a.u32(4), rightsBase = a.u64(5), rightsInheriting = a.u64(6), fdflags = a.u32(7)
            let resultPointer = a.address(8)
            // A descriptor gets at most what its directory may hand on.
            let grantedBase = rightsBase & directory.rightsInheriting
            let grantedInheriting = rightsInheriting & directory.rightsInheriting
            if oflags & 1 != 0 { _ = try self.descriptor(a.fd(0), requiring: Rights.pathCreateFile) }
            _ = try m.check(resultPointer, 4)
            let wantsRead = rightsBase & Rights.fdRead != 0 || rightsBase & Rights.fdReaddir != 0
            let wantsWrite = rightsBase & Rights.fdWrite != 0 || oflags & 8 != 0
            var flags: Int32 = O_CLOEXEC
            flags |= wantsWrite ? (wantsRead ? O_RDWR : O_WRONLY) : O_RDONLY
            if oflags & 1 != 0 { flags |= O_CREAT }
            if oflags & 2 != 0 { flags |= O_DIRECTORY }
            if oflags & 4 != 0 { flags |= O_EXCL }
            if oflags & 8 != 0 { flags |= O_TRUNC }
            // SYNC, DSYNC and RSYNC are refused rather than dropped (as wasmtime): a program that
            // asks for synchronous writes must not believe it has them.
            guard fdflags & ~(Self.fdflagAppend | Self.fdflagNonblock) == 0 else { throw .notsup }
            if fdflags & Self.fdflagAppend != 0 { flags |= O_APPEND }
            if fdflags & Self.fdflagNonblock != 0 { flags |= O_NONBLOCK }
            if a.u32(1) & 1 == 0 { flags |= O_NOFOLLOW }
            try self.table.reserve()  // EMFILE past the limit, before a host descriptor exists
            // openat2 refuses a mode without O_CREAT.
            self.openBeneath(path, in: directory.hostFD, flags: flags, mode: flags & O_CREAT != 0 ? 0o644 : 0) { result in
                guard case .success(let hostFD) = result else {
                    self.table.cancelReservation()
                    if case .failure(let error) = result { done(error) }
                    return
                }
                var s = stat()
                fstat(hostFD, &s)
                let kind: Descriptor.Kind = (s.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
                // A directory holds directory rights only (no FD_SEEK, FD_READ...), as wasmtime
                // reports: what was asked for beyond them is dropped, not refused.
                let base = kind == .directory ? grantedBase & Rights.directoryBase : grantedBase
                let fd = self.table.insert(reserved: Descriptor(hostFD: hostFD, kind: kind, ownsHostFD: true, rightsBase: base,
                                                                rightsInheriting: grantedInheriting))
                done.then { () throws(Errno) in try m.storeU32(resultPointer, fd) }
            }
        }
        async("path_filestat_get", [i32, i32, i32, i32, i32]) { m, a, done throws(Errno) in
            let directory = try self.descriptor(a.fd(0), requiring: Rights.pathFilestatGet)
            guard directory.kind == .directory else { throw .notdir }
            let path = try m.path(a.address(2), a.u32(3))
            let resultPointer = a.address(4)
            _ = try m.check(resultPointer, 64)
            // The object itself is opened beneath the directory (O_PATH: no access needed, no
            // side effects), following a final symlink only when asked — and then only as far as
            // RESOLVE_BENEATH allows — and stat is taken of that descriptor.
            let flags = Self.openPath | O_CLOEXEC | (a.u32(1) & 1 == 0 ? O_NOFOLLOW : 0)
            self.openBeneath(path, in: directory.hostFD, flags: flags) { result in
                guard case .success(let fd) = result else {
                    if case .failure(let error) = result { done(error) }
                    return
                }
                var s = stat()
                let ok = fstat(fd, &s) == 0
                Glibc.close(fd)
                guard ok else { return done(.io) }
                let status = s
                done.then { () throws(Errno) in try Self.storeFilestat(m, resultPointer, status) }
            }
        }
        async("poll_oneoff", [i32, i32, i32, i32]) { m, a, done throws(Errno) in
            try self.pollOneoff(m, input: a.address(0), output: a.address(1), count: a.u32(2), result: a.address(3), done)
        }
        addPathFunctions(sync, async)
        addDescriptorFunctions(sync, async)
        addSocketFunctions(sync, async)
        return f
    }

    /// The most one read or write call may move for this guest: the configured cap, and never
    /// more than the guest's whole memory (which no honest iovec list exceeds).
    func transferLimit(_ m: GuestMemory) -> Int {
        Int(min(UInt64(max(0, configuration.maxTransferBytes)), m.size))
    }

    func read(_ d: Descriptor, _ m: GuestMemory, iovecs: GuestAddress, count: UInt32, offset: Int64, result: GuestAddress,
              _ done: Done) throws(Errno) {
        let iovs = try m.iovecs(iovecs, count, limit: transferLimit(m))
        _ = try m.check(result, 4)
        let total = iovs.reduce(0) { $0 + $1.1 }
        // Reads land in a host buffer, then are scattered: the guest memory cannot move while the
        // instance is parked, but one buffer keeps it to one operation.
        let buffer = IOBuffer(count: total)
        nonisolated(unsafe) let targets = iovs
        ring.read(fd: d.hostFD, into: buffer.pointer, count: total, offset: offset) { n in
            guard n >= 0 else { return done(Errno(host: -n)) }
            done.then { () throws(Errno) in
                buffer.scatter(Int(n), into: targets)
                try m.storeU32(result, UInt32(n))
            }
        }
    }

    /// poll_oneoff. Regular files and stdio are always ready, so their subscriptions are reported
    /// at once; sockets wait with io_uring poll operations and clocks with an io_uring timeout.
    /// The first completion ends the call with every event ready by then and cancels the
    /// operations still armed (a guest polling a quiet socket in a loop would otherwise pile up
    /// polls in the kernel and callbacks in the host); their late completions find the call
    /// finished and are dropped.
    func pollOneoff(_ m: GuestMemory, input: GuestAddress, output: GuestAddress, count: UInt32, result: GuestAddress,
                    _ done: Done) throws(Errno) {
        guard count > 0, count <= 4096 else { throw .inval }
        _ = try m.check(input, UInt64(count) * 48)
        _ = try m.check(output, UInt64(count) * 32)
        _ = try m.check(result, 4)
        var clocks: [(userdata: UInt64, timeout: UInt64)] = []
        var ready: [Event] = []
        var waits: [(userdata: UInt64, type: UInt8, fd: Int32)] = []
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let realtime = Self.nanoseconds(now)
        clock_gettime(CLOCK_MONOTONIC, &now)
        let monotonic = Self.nanoseconds(now)
        for i in 0..<UInt64(count) {
            let p = try m.check(input.element(i, stride: 48), 48)
            let userdata = p.loadUnaligned(as: UInt64.self)
            let tag = p.load(fromByteOffset: 8, as: UInt8.self)
            switch tag {
            case 0:
                let id = p.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
                var timeout = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                let flags = p.loadUnaligned(fromByteOffset: 40, as: UInt16.self)
                if flags & 1 != 0 {  // absolute time
                    let base = id == 0 ? realtime : monotonic
                    timeout = timeout > base ? timeout - base : 0
                }
                clocks.append((userdata, timeout))
            case 1, 2:
                let fd = p.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
                do throws(Errno) {
                    // Stdio holds only FD_READ (stdin) or FD_WRITE: that is what polling it needs.
                    let d = try descriptor(fd)
                    let right = d.kind != .stdio ? Rights.pollFdReadwrite : tag == 1 ? Rights.fdRead : Rights.fdWrite
                    _ = try descriptor(fd, requiring: right)
                    if d.kind == .socket {
                        waits.append((userdata, tag, d.hostFD))
                    } else {
                        ready.append(Event(userdata: userdata, error: 0, type: tag, hangup: false))
                    }
                } catch {
                    ready.append(Event(userdata: userdata, error: error.rawValue, type: tag, hangup: false))
                }
            default:
                throw .inval
            }
        }
        if !ready.isEmpty {
            try Self.writeEvents(m, ready, output: output, result: result)
            return done(.success)
        }
        let call = PollCall()
        let finish: @Sendable ([Event]) -> Void = { events in
            guard let armed = call.finish() else { return }
            for operation in armed { operation.cancel() }
            done.then { () throws(Errno) in try Self.writeEvents(m, events, output: output, result: result) }
        }
        for wait in waits {
            let events: UInt32 = wait.type == 1 ? UInt32(POLLIN) : UInt32(POLLOUT)
            call.armed(ring.poll(fd: wait.fd, events: events) { mask in
                let hangup = mask > 0 && Int16(truncatingIfNeeded: mask) & Int16(POLLHUP) != 0
                let error: UInt16 = mask < 0 ? Errno(host: -mask).rawValue : 0
                finish([Event(userdata: wait.userdata, error: error, type: wait.type, hangup: hangup)])
            })
        }
        if let shortest = clocks.min(by: { $0.timeout < $1.timeout }) {
            let due = clocks.filter { $0.timeout <= shortest.timeout }.map { Event(userdata: $0.userdata, error: 0, type: 0, hangup: false) }
            call.armed(ring.sleep(nanoseconds: shortest.timeout) { _ in finish(due) })
        }
    }

    struct Event: Sendable {
        var userdata: UInt64
        var error: UInt16
        var type: UInt8
        var hangup: Bool
    }

    /// One poll_oneoff call: finished exactly once, and the operations it armed, to cancel then.
    final class PollCall: @unchecked Sendable {  // state under `lock`
        private let lock = NSLock()
        private var finished = false
        private var operations: [IOCancellation] = []

        /// Records an armed operation; one armed after the call finished (a submission that
        /// completed inline ended it) is cancelled at once.
        func armed(_ operation: IOCancellation) {
            let late: Bool = lock.withLock {
                if finished { return true }
                operations.append(operation)
                return false
            }
            if late { operation.cancel() }
        }

        /// Marks the call finished; the operations to cancel the first time, nil afterwards.
        func finish() -> [IOCancellation]? {
            lock.withLock {
                if finished { return nil }
                finished = true
                defer { operations = [] }
                return operations
            }
        }
    }

    static func writeEvents(_ m: GuestMemory, _ events: [Event], output: GuestAddress, result: GuestAddress) throws(Errno) {
        for (i, event) in events.enumerated() {
            let e = output.element(UInt64(i), stride: 32)
            _ = try m.check(e, 32)
            try m.storeU64(e, event.userdata)
            try m.storeU16(e + 8, event.error)
            try m.storeU8(e + 10, event.type)
            try m.storeU64(e + 16, 0)
            try m.storeU16(e + 24, event.hangup ? 1 : 0)
        }
        try m.storeU32(result, UInt32(events.count))
    }

    /// Whether a stdio descriptor is the host's terminal (wasmtime's test: its filetype is then
    /// character device, else unknown). Captured output and an embedder's stdin buffer are not.
    func stdioIsTerminal(_ d: Descriptor) -> Bool {
        if d.hostFD == 0 && configuration.stdin != nil { return false }
        if d.hostFD != 0 && configuration.captureOutput { return false }
        return isatty(d.hostFD) == 1
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

    func callAsFunction(_ errno: Errno) { completion.resume(returning: [.i32(UInt32(errno.rawValue))]) }

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
