import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// Path operations. Nothing may reach outside the preopened directory, and nothing may follow a
/// symlink out of it, so every path is resolved by the kernel with openat2(RESOLVE_BENEATH |
/// RESOLVE_NO_MAGICLINKS), relative to the directory:
///
/// - Operations on the object a path names — open, stat, set times — open that object itself
///   beneath the directory (O_PATH, so no access is needed and nothing happens to it; following a
///   final symlink only when the guest asked, and then only as far as RESOLVE_BENEATH allows) and
///   work on the descriptor: fstat, utimensat(fd, "", AT_EMPTY_PATH). A plain
///   `utimensat(parent, leaf, 0)` would follow a final symlink to anywhere on the host.
/// - Operations on a name — mkdir, unlink, rmdir, rename, link, symlink, readlink — have no
///   RESOLVE_BENEATH of their own: the parent directory is opened beneath first (O_PATH), and the
///   operation names a single final component relative to it, which none of them follows.
///
/// An escape — "..", an absolute path, a symlink that leaves — is EXDEV from the kernel, reported
/// as ENOTCAPABLE. The kernel refuses it before looking at anything outside, so the answer is the
/// same whether or not the outside path exists: errno reveals nothing about the host.
extension WASIContext {
    /// RESOLVE_BENEATH (0x08): no "..", absolute path or symlink may leave the directory.
    /// RESOLVE_NO_MAGICLINKS (0x02): no /proc-style jumps.
    static let resolveBeneath: UInt64 = 0x08 | 0x02
    /// AT_EMPTY_PATH (not exported by Swift's Glibc module): operate on the descriptor itself.
    static let atEmptyPath: Int32 = 0x1000

    /// The WASI errno for a failed resolution: EXDEV (an escape) is ENOTCAPABLE.
    static func sandboxErrno(_ hostErrno: Int32) -> Errno { hostErrno == EXDEV ? .notcapable : Errno(host: hostErrno) }

    /// openat2 of `path` beneath `directory`: the new host descriptor, or the errno.
    func openBeneath(_ path: String, in directory: Int32, flags: Int32, mode: UInt32 = 0,
                     _ completion: @escaping @Sendable (Result<Int32, Errno>) -> Void) {
        ring.open(path, in: directory, flags: flags, mode: mode, resolve: Self.resolveBeneath) { result in
            completion(result >= 0 ? .success(result) : .failure(Self.sandboxErrno(-result)))
        }
    }

    /// Splits "a/b/c" into ("a/b", "c"); the leaf may not be empty, "." or "..".
    static func split(_ path: String) throws(Errno) -> (parent: String, leaf: String) {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard !trimmed.isEmpty, !trimmed.hasPrefix("/") else { throw trimmed.isEmpty ? .noent : .notcapable }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: true)
        guard let leaf = parts.last, leaf != ".", leaf != ".." else { throw .notcapable }
        let parent = parts.dropLast().joined(separator: "/")
        return (parent.isEmpty ? "." : parent, String(leaf))
    }

    /// What a trailing slash on a name operation's path means. The operation itself names the
    /// final component without it (the *at calls would follow a final symlink to reach "x/", and
    /// they have no RESOLVE_BENEATH), so the slash's meaning — "x must be a directory, following
    /// symlinks" — is checked first with an O_PATH open beneath the preopen. The answers are
    /// wasmtime 49's: unlink "dir/" is EISDIR, "file/" and "link-to-file/" ENOTDIR anywhere.
    enum TrailingSlash {
        /// path_unlink_file: a directory there is EISDIR; anything else the resolution's errno.
        case unlink
        /// path_remove_directory: must resolve to a directory, then proceeds.
        case removeDirectory
        /// path_readlink: what "x/" resolves to is a directory (EINVAL: not a link) or an errno.
        case readlink
        /// path_link's source: a directory cannot be hard-linked (EPERM).
        case linkSource
        /// path_rename's source, when either name has a trailing slash: it must itself be a
        /// directory (a symlink is ENOTDIR).
        case renameSource
        /// A name to create (path_link's and path_symlink's new name): EEXIST if something is
        /// there, else ENOENT, as the kernel answers "new/".
        case newName
    }

    static func hasTrailingSlash(_ path: String) -> Bool { path.hasSuffix("/") && path.contains { $0 != "/" } }

    /// Checks what a trailing slash on `path` demands (see `TrailingSlash`), then runs `next`;
    /// reports a failure through `done` instead. Without a trailing slash (unless `force`), runs
    /// `next` at once.
    func checkTrailingSlash(_ directory: Descriptor, _ path: String, _ rule: TrailingSlash, force: Bool = false, _ done: Done,
                            then next: @escaping @Sendable () -> Void) {
        guard force || Self.hasTrailingSlash(path), directory.kind == .directory else { return next() }
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        switch rule {
        case .renameSource, .newName:
            openBeneath(String(trimmed), in: directory.hostFD, flags: Self.openPath | O_NOFOLLOW | O_CLOEXEC
                        | (rule == .renameSource ? O_DIRECTORY : 0)) { result in
                switch result {
                case .success(let fd):
                    Glibc.close(fd)
                    if rule == .newName { done(.exist) } else { next() }
                case .failure(let error): done(error == .loop ? .notdir : error)
                }
            }
        case .unlink, .removeDirectory, .readlink, .linkSource:
            openBeneath(String(trimmed) + "/", in: directory.hostFD, flags: Self.openPath | O_DIRECTORY | O_CLOEXEC) { result in
                switch result {
                case .failure(let error): done(error)
                case .success(let fd):
                    Glibc.close(fd)
                    switch rule {
                    case .unlink: done(.isdir)
                    case .readlink: done(.inval)
                    case .linkSource: done(.perm)
                    default: next()
                    }
                }
            }
        }
    }

    /// How an operation on a name reports, closing the parent it was given first: with the
    /// kernel's result (>= 0 or -errno) or with a WASI errno.
    struct ParentFinish: Sendable {
        let parentFD: Int32
        let done: Done

        func callAsFunction(_ result: Int32) {
            Glibc.close(parentFD)
            done(result < 0 ? Errno(host: -result) : .success)
        }

        func fail(_ error: Errno) {
            Glibc.close(parentFD)
            done(error)
        }

        /// As a completion for the ring.
        var completion: @Sendable (Int32) -> Void { { self($0) } }
    }

    /// Opens the parent of `path` beneath `directory` and runs `body(parentFD, leaf, finish)`.
    func withParent(_ directory: Descriptor, _ path: String, _ done: Done,
                    _ body: @escaping @Sendable (Int32, String, ParentFinish) -> Void) throws(Errno) {
        guard directory.kind == .directory else { throw .notdir }
        let (parent, leaf) = try Self.split(path)
        openBeneath(parent, in: directory.hostFD, flags: Self.openPath | O_DIRECTORY | O_CLOEXEC) { opened in
            switch opened {
            case .failure(let error): done(error)
            case .success(let parentFD): body(parentFD, leaf, ParentFinish(parentFD: parentFD, done: done))
            }
        }
    }

    /// The two timespecs of a set-times call. WASI's fstflags: ATIM 1, ATIM_NOW 2, MTIM 4,
    /// MTIM_NOW 8; asking for a time and "now" at once is EINVAL (as wasmtime).
    static func timespecs(atime: UInt64, mtime: UInt64, flags: UInt32) throws(Errno) -> [timespec] {
        func one(_ ns: UInt64, set: Bool, now: Bool) throws(Errno) -> timespec {
            if set && now { throw .inval }
            if now { return timespec(tv_sec: 0, tv_nsec: (1 << 30) - 1) }  // UTIME_NOW
            if set { return timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000)) }
            return timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2)  // UTIME_OMIT
        }
        return [try one(atime, set: flags & 1 != 0, now: flags & 2 != 0), try one(mtime, set: flags & 4 != 0, now: flags & 8 != 0)]
    }

    func addPathFunctions(_ f: WASIFunctionTable) {
        f.async("path_open") { (m: GuestMemory, fd: FD, dirflags: UInt32, pathAddress: GuestAddress, pathLength: GuestSize,
                                oflags: UInt32, rightsBase: UInt64, rightsInheriting: UInt64, fdflags: UInt32,
                                resultPointer: GuestAddress, done: Done) throws(Errno) in
            let directory = try self.descriptor(fd.value, requiring: Rights.pathOpen)
            guard directory.kind == .directory else { throw .notdir }
            let path = try m.path(pathAddress, pathLength.value)
            // A descriptor gets at most what its directory may hand on.
            let grantedBase = rightsBase & directory.rightsInheriting
            let grantedInheriting = rightsInheriting & directory.rightsInheriting
            if oflags & 1 != 0 { _ = try self.descriptor(fd.value, requiring: Rights.pathCreateFile) }
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
            if dirflags & 1 == 0 { flags |= O_NOFOLLOW }
            let appending = flags & O_APPEND != 0
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
                var opened = Descriptor(hostFD: hostFD, kind: kind, ownsHostFD: true, rightsBase: base, rightsInheriting: grantedInheriting)
                // A regular file not in append mode keeps its position here (see `Descriptor.position`).
                if (s.st_mode & S_IFMT) == S_IFREG, !appending { opened.position = 0 }
                let fd = self.table.insert(reserved: opened)
                done.then { () throws(Errno) in try m.storeU32(resultPointer, fd) }
            }
        }
        f.async("path_filestat_get") { (m: GuestMemory, fd: FD, lookupFlags: UInt32, pathAddress: GuestAddress,
                                        pathLength: GuestSize, resultPointer: GuestAddress, done: Done) throws(Errno) in
            let directory = try self.descriptor(fd.value, requiring: Rights.pathFilestatGet)
            guard directory.kind == .directory else { throw .notdir }
            let path = try m.path(pathAddress, pathLength.value)
            _ = try m.check(resultPointer, 64)
            // The object itself is opened beneath the directory (O_PATH: no access needed, no
            // side effects), following a final symlink only when asked — and then only as far as
            // RESOLVE_BENEATH allows — and stat is taken of that descriptor.
            let flags = Self.openPath | O_CLOEXEC | (lookupFlags & 1 == 0 ? O_NOFOLLOW : 0)
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
        f.async("path_create_directory") { (m: GuestMemory, fd: FD, pathAddress: GuestAddress, pathLength: GuestSize,
                                            done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.pathCreateDirectory)
            let path = try m.path(pathAddress, pathLength.value)
            try self.withParent(d, path, done) { parent, leaf, finish in self.ring.makeDirectory(leaf, in: parent, completion: finish.completion) }
        }
        f.async("path_remove_directory") { (m: GuestMemory, fd: FD, pathAddress: GuestAddress, pathLength: GuestSize,
                                            done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.pathRemoveDirectory)
            let path = try m.path(pathAddress, pathLength.value)
            self.checkTrailingSlash(d, path, .removeDirectory, done) {
                do throws(Errno) {
                    try self.withParent(d, path, done) { parent, leaf, finish in
                        self.ring.unlink(leaf, in: parent, removeDirectory: true, completion: finish.completion)
                    }
                } catch { done(error) }
            }
        }
        f.async("path_unlink_file") { (m: GuestMemory, fd: FD, pathAddress: GuestAddress, pathLength: GuestSize,
                                       done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.pathUnlinkFile)
            let path = try m.path(pathAddress, pathLength.value)
            self.checkTrailingSlash(d, path, .unlink, done) {
                do throws(Errno) {
                    try self.withParent(d, path, done) { parent, leaf, finish in
                        self.ring.unlink(leaf, in: parent, removeDirectory: false, completion: finish.completion)
                    }
                } catch { done(error) }
            }
        }
        f.async("path_symlink") { (m: GuestMemory, targetAddress: GuestAddress, targetLength: GuestSize, fd: FD,
                                   pathAddress: GuestAddress, pathLength: GuestSize, done: Done) throws(Errno) in
            let target = try m.path(targetAddress, targetLength.value)
            let d = try self.descriptor(fd.value, requiring: Rights.pathSymlink)
            let path = try m.path(pathAddress, pathLength.value)
            // An absolute target is refused (EPERM, as wasmtime): it can only ever name something
            // outside. A relative target is only text; following it later still cannot leave
            // the sandbox.
            guard !target.hasPrefix("/") else { throw .perm }
            self.checkTrailingSlash(d, path, .newName, done) {
                do throws(Errno) {
                    try self.withParent(d, path, done) { parent, leaf, finish in
                        self.ring.symlink(target: target, at: leaf, in: parent, completion: finish.completion)
                    }
                } catch { done(error) }
            }
        }
        // Two parents: open the old one, then the new one, then rename or link between them.
        // path_link has lookup flags after the first fd; path_rename has none (0 here, unused).
        @Sendable func twoPaths(link: Bool, _ m: GuestMemory, _ oldFD: FD, _ lookupFlags: UInt32, _ oldPathAddress: GuestAddress,
                                _ oldPathLength: GuestSize, _ newFD: FD, _ newPathAddress: GuestAddress, _ newPathLength: GuestSize,
                                _ done: Done) throws(Errno) {
            let oldDirectory = try self.descriptor(oldFD.value, requiring: link ? Rights.pathLinkSource : Rights.pathRenameSource)
            let oldPath = try m.path(oldPathAddress, oldPathLength.value)
            let newDirectory = try self.descriptor(newFD.value, requiring: link ? Rights.pathLinkTarget : Rights.pathRenameTarget)
            let newPath = try m.path(newPathAddress, newPathLength.value)
            // A hard link to what a symlink points to is not made (as wasmtime): linkat's
            // AT_SYMLINK_FOLLOW has no RESOLVE_BENEATH, and the link is made to the name.
            if link, lookupFlags & 1 != 0 { throw .inval }
            let (newParent, newLeaf) = try Self.split(newPath)
            guard newDirectory.kind == .directory else { throw .notdir }
            @Sendable func operate() throws(Errno) {
            try self.withParent(oldDirectory, oldPath, done) { oldParentFD, oldLeaf, finish in
                self.openBeneath(newParent, in: newDirectory.hostFD, flags: Self.openPath | O_DIRECTORY | O_CLOEXEC) { opened in
                    guard case .success(let newParentFD) = opened else {
                        if case .failure(let error) = opened { finish.fail(error) }
                        return
                    }
                    let close: @Sendable (Int32) -> Void = { result in
                        Glibc.close(newParentFD)
                        finish(result)
                    }
                    if link {
                        self.ring.link(oldLeaf, in: oldParentFD, to: newLeaf, in: newParentFD, completion: close)
                    } else {
                        self.ring.rename(oldLeaf, in: oldParentFD, to: newLeaf, in: newParentFD, completion: close)
                    }
                }
            }
            }
            // Trailing slashes: for a rename, one on either name means the source must itself
            // be a directory; for a link, the source may not be one and the new name must
            // not exist.
            self.checkTrailingSlash(oldDirectory, oldPath, link ? .linkSource : .renameSource,
                                    force: !link && Self.hasTrailingSlash(newPath), done) {
                let run: @Sendable () -> Void = {
                    do throws(Errno) { try operate() } catch { done(error) }
                }
                guard link else { return run() }
                self.checkTrailingSlash(newDirectory, newPath, .newName, done, then: run)
            }
        }
        f.async("path_rename") { (m: GuestMemory, oldFD: FD, oldPathAddress: GuestAddress, oldPathLength: GuestSize, newFD: FD,
                                  newPathAddress: GuestAddress, newPathLength: GuestSize, done: Done) throws(Errno) in
            try twoPaths(link: false, m, oldFD, 0, oldPathAddress, oldPathLength, newFD, newPathAddress, newPathLength, done)
        }
        f.async("path_link") { (m: GuestMemory, oldFD: FD, lookupFlags: UInt32, oldPathAddress: GuestAddress,
                                oldPathLength: GuestSize, newFD: FD, newPathAddress: GuestAddress, newPathLength: GuestSize,
                                done: Done) throws(Errno) in
            try twoPaths(link: true, m, oldFD, lookupFlags, oldPathAddress, oldPathLength, newFD, newPathAddress, newPathLength, done)
        }
        f.async("path_readlink") { (m: GuestMemory, fd: FD, pathAddress: GuestAddress, pathLength: GuestSize,
                                    buffer: GuestAddress, length: GuestSize, result: GuestAddress, done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.pathReadlink)
            guard d.kind == .directory else { throw .notdir }
            let path = try m.path(pathAddress, pathLength.value)
            _ = try m.check(buffer, UInt64(length.value))
            _ = try m.check(result, 4)
            let (parent, leaf) = try Self.split(path)
            self.checkTrailingSlash(d, path, .readlink, done) {
            self.openBeneath(parent, in: d.hostFD, flags: Self.openPath | O_DIRECTORY | O_CLOEXEC) { opened in
                guard case .success(let parentFD) = opened else {
                    if case .failure(let error) = opened { done(error) }
                    return
                }
                // readlinkat is not an io_uring operation; it reads one inode and does not wait on
                // a device. The host buffer is PATH_MAX, whatever the guest's buffer: no link is
                // longer. readlinkat does not follow the (final) link it reads.
                var bytes = [UInt8](repeating: 0, count: Int(GuestMemory.maxPathBytes) + 1)
                let n = leaf.withCString { readlinkat(parentFD, $0, &bytes, bytes.count) }
                let error = errno
                Glibc.close(parentFD)
                guard n >= 0 else { return done(Errno(host: error)) }
                let link = Array(bytes[0..<min(n, Int(length.value))])  // truncated to the guest's buffer, as readlink
                done.then { () throws(Errno) in
                    try m.write(buffer, link)
                    try m.storeU32(result, UInt32(link.count))
                }
            }
            }
        }
        f.async("path_filestat_set_times") { (m: GuestMemory, fd: FD, lookupFlags: UInt32, pathAddress: GuestAddress,
                                              pathLength: GuestSize, atime: UInt64, mtime: UInt64, fstFlags: UInt32,
                                              done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.pathFilestatSetTimes)
            guard d.kind == .directory else { throw .notdir }
            let path = try m.path(pathAddress, pathLength.value)
            let times = try Self.timespecs(atime: atime, mtime: mtime, flags: fstFlags)
            // The object is opened beneath the directory (following a final symlink only when
            // asked, and never out), and its times are set through that descriptor.
            let flags = Self.openPath | O_CLOEXEC | (lookupFlags & 1 == 0 ? O_NOFOLLOW : 0)
            self.openBeneath(path, in: d.hostFD, flags: flags) { opened in
                guard case .success(let fd) = opened else {
                    if case .failure(let error) = opened { done(error) }
                    return
                }
                // utimensat is not an io_uring operation; it updates one inode's metadata.
                var t = times
                let r = "".withCString { utimensat(fd, $0, &t, Self.atEmptyPath | AT_SYMLINK_NOFOLLOW) }
                let error = errno
                Glibc.close(fd)
                done(r == 0 ? .success : Errno(host: error))
            }
        }
    }
}
