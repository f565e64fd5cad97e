import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// Path operations other than open. They must not escape the preopened directory either, but the
/// kernel's mkdirat/unlinkat/renameat/... have no RESOLVE_BENEATH: so the parent directory is
/// opened first with openat2(O_PATH, RESOLVE_BENEATH), and the operation then names only a
/// single, checked final component relative to it.
extension WASIContext {

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

    /// Opens the parent of `path` beneath `directory`, runs `body(parentFD, leaf, finish)`; the
    /// parent is closed when the operation calls `finish` with its result.
    func withParent(_ directory: Descriptor, _ path: String, _ done: Done,
                    _ body: @escaping @Sendable (Int32, String, @escaping @Sendable (Int32) -> Void) -> Void) throws(Errno) {
        guard directory.kind == .directory else { throw .notdir }
        let (parent, leaf) = try Self.split(path)
        ring.open(parent, in: directory.hostFD, flags: Self.openPath | O_DIRECTORY | O_CLOEXEC, resolve: 0x08 | 0x02) { parentFD in
            guard parentFD >= 0 else { return done(parentFD == -EXDEV ? .notcapable : Errno(host: -parentFD)) }
            body(parentFD, leaf) { result in
                Glibc.close(parentFD)
                done(result < 0 ? Errno(host: -result) : .success)
            }
        }
    }

    func addPathFunctions(_ sync: (String, [ValueType], @escaping SyncBody) -> Void, _ async: (String, [ValueType], @escaping AsyncBody) -> Void) {
        let i32 = ValueType.i32, i64 = ValueType.i64
        async("path_create_directory", [i32, i32, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(UInt32(a[0]), requiring: Rights.pathCreateDirectory)
            let path = try m.string(UInt32(a[1]), UInt32(a[2]))
            try self.withParent(d, path, done) { parent, leaf, finish in self.ring.makeDirectory(leaf, in: parent, completion: finish) }
        }
        async("path_remove_directory", [i32, i32, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(UInt32(a[0]), requiring: Rights.pathRemoveDirectory)
            let path = try m.string(UInt32(a[1]), UInt32(a[2]))
            try self.withParent(d, path, done) { parent, leaf, finish in
                self.ring.unlink(leaf, in: parent, removeDirectory: true, completion: finish)
            }
        }
        async("path_unlink_file", [i32, i32, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(UInt32(a[0]), requiring: Rights.pathUnlinkFile)
            let path = try m.string(UInt32(a[1]), UInt32(a[2]))
            guard !path.hasSuffix("/") else { throw .notdir }
            try self.withParent(d, path, done) { parent, leaf, finish in
                self.ring.unlink(leaf, in: parent, removeDirectory: false, completion: finish)
            }
        }
        async("path_symlink", [i32, i32, i32, i32, i32]) { m, a, done throws(Errno) in
            let target = try m.string(UInt32(a[0]), UInt32(a[1]))
            let d = try self.descriptor(UInt32(a[2]), requiring: Rights.pathSymlink)
            let path = try m.string(UInt32(a[3]), UInt32(a[4]))
            // The link's target is only text; following it later still cannot leave the sandbox.
            try self.withParent(d, path, done) { parent, leaf, finish in
                self.ring.symlink(target: target, at: leaf, in: parent, completion: finish)
            }
        }
        // Two parents: open the old one, then the new one, then rename or link between them.
        func twoPaths(_ name: String, link: Bool) {
            async(name, link ? [i32, i32, i32, i32, i32, i32, i32] : [i32, i32, i32, i32, i32, i32]) { m, a, done throws(Errno) in
                let base = link ? 1 : 0  // path_link has lookup flags after the first fd
                let oldDirectory = try self.descriptor(UInt32(a[0]), requiring: link ? Rights.pathLinkSource : Rights.pathRenameSource)
                let oldPath = try m.string(UInt32(a[base + 1]), UInt32(a[base + 2]))
                let newDirectory = try self.descriptor(UInt32(a[base + 3]), requiring: link ? Rights.pathLinkTarget : Rights.pathRenameTarget)
                let newPath = try m.string(UInt32(a[base + 4]), UInt32(a[base + 5]))
                let (newParent, newLeaf) = try Self.split(newPath)
                guard newDirectory.kind == .directory else { throw .notdir }
                try self.withParent(oldDirectory, oldPath, done) { oldParentFD, oldLeaf, finish in
                    self.ring.open(newParent, in: newDirectory.hostFD, flags: Self.openPath | O_DIRECTORY | O_CLOEXEC,
                                   resolve: 0x08 | 0x02) { newParentFD in
                        guard newParentFD >= 0 else { return finish(newParentFD == -EXDEV ? -EXDEV : newParentFD) }
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
        }
        twoPaths("path_rename", link: false)
        twoPaths("path_link", link: true)
        async("path_readlink", [i32, i32, i32, i32, i32, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(UInt32(a[0]), requiring: Rights.pathReadlink)
            let path = try m.string(UInt32(a[1]), UInt32(a[2]))
            let buffer = UInt32(a[3]), length = UInt32(a[4]), result = UInt32(a[5])
            _ = try m.check(buffer, UInt64(length))
            guard d.kind == .directory else { throw .notdir }
            let (parent, leaf) = try Self.split(path)
            self.ring.open(parent, in: d.hostFD, flags: Self.openPath | O_DIRECTORY | O_CLOEXEC, resolve: 0x08 | 0x02) { parentFD in
                guard parentFD >= 0 else { return done(parentFD == -EXDEV ? .notcapable : Errno(host: -parentFD)) }
                // readlinkat is not an io_uring operation; it reads one inode and does not wait on a device.
                var bytes = [UInt8](repeating: 0, count: Int(length))
                let n = leaf.withCString { readlinkat(parentFD, $0, &bytes, Int(length)) }
                let error = errno
                Glibc.close(parentFD)
                guard n >= 0 else { return done(Errno(host: error)) }
                let link = Array(bytes[0..<n])
                done.then { () throws(Errno) in
                    try m.write(buffer, link)
                    try m.storeU32(result, UInt32(n))
                }
            }
        }
        async("path_filestat_set_times", [i32, i32, i32, i32, i64, i64, i32]) { m, a, done throws(Errno) in
            let d = try self.descriptor(UInt32(a[0]), requiring: 1 << 20)  // PATH_FILESTAT_SET_TIMES
            let path = try m.string(UInt32(a[2]), UInt32(a[3]))
            let follow = a[1] & 1 != 0
            let times = [Self.timespecFor(a[4], flags: a[6], setBit: 1, nowBit: 2), Self.timespecFor(a[5], flags: a[6], setBit: 4, nowBit: 8)]
            try self.withParent(d, path, done) { parent, leaf, finish in
                // utimensat is not an io_uring operation; it updates one inode's metadata.
                var t = times
                let r = leaf.withCString { utimensat(parent, $0, &t, follow ? 0 : AT_SYMLINK_NOFOLLOW) }
                finish(r == 0 ? 0 : -errno)
            }
        }
    }
}
