import Foundation
import IOUring
#if canImport(Glibc)
import Glibc
#endif

/// A test double for the WASI layer's I/O: every operation runs at once on the calling thread
/// with plain system calls, and its completion is called before the function returns (so the
/// guest never actually parks). Sleeps complete at once too and are recorded, which makes
/// poll_oneoff's arithmetic observable. Path safety is emulated coarsely (no "..", no absolute
/// paths) — the real containment is openat2's, tested with the ring.
final class InlineIO: AsyncIO, @unchecked Sendable {
    private let lock = NSLock()
    private var sleepRecord: [UInt64] = []
    var sleeps: [UInt64] { lock.withLock { sleepRecord } }

    private func result(_ r: Int) -> Int32 { r < 0 ? -errno : Int32(r) }
    private func beneath(_ path: String) -> Bool { !path.hasPrefix("/") && !path.split(separator: "/").contains("..") }

    func read(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int64, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(offset < 0 ? Glibc.read(fd, buffer, count) : pread(fd, buffer, count, off_t(offset))))
    }
    func write(fd: Int32, from buffer: UnsafeRawPointer, count: Int, offset: Int64, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(offset < 0 ? Glibc.write(fd, buffer, count) : pwrite(fd, buffer, count, off_t(offset))))
    }
    func open(_ path: String, in directory: Int32, flags: Int32, mode: UInt32, resolve: UInt64, completion: @escaping @Sendable (Int32) -> Void) {
        guard beneath(path) else { return completion(-EXDEV) }
        completion(result(Int(openat(directory, path, flags, mode_t(mode)))))
    }
    func close(fd: Int32, completion: @escaping @Sendable (Int32) -> Void) { completion(result(Int(Glibc.close(fd)))) }
    func sync(fd: Int32, dataOnly: Bool, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(Int(dataOnly ? fdatasync(fd) : fsync(fd))))
    }
    func makeDirectory(_ path: String, in directory: Int32, mode: UInt32, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(Int(mkdirat(directory, path, mode_t(mode)))))
    }
    func unlink(_ path: String, in directory: Int32, removeDirectory: Bool, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(Int(unlinkat(directory, path, removeDirectory ? AT_REMOVEDIR : 0))))
    }
    func rename(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(Int(renameat(oldDirectory, old, newDirectory, new))))
    }
    func symlink(target: String, at path: String, in directory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(Int(symlinkat(target, directory, path))))
    }
    func link(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(Int(linkat(oldDirectory, old, newDirectory, new, 0))))
    }
    func accept(fd: Int32, completion: @escaping @Sendable (Int32) -> Void) { completion(result(Int(Glibc.accept(fd, nil, nil)))) }
    func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, flags: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(recv(fd, buffer, count, flags)))
    }
    func send(fd: Int32, from buffer: UnsafeRawPointer, count: Int, flags: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(Glibc.send(fd, buffer, count, flags | Int32(MSG_NOSIGNAL))))
    }
    func shutdown(fd: Int32, how: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        completion(result(Int(Glibc.shutdown(fd, how))))
    }
    func poll(fd: Int32, events: UInt32, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation {
        var descriptor = pollfd(fd: fd, events: Int16(truncatingIfNeeded: events), revents: 0)
        let n = Glibc.poll(&descriptor, 1, -1)
        completion(n < 0 ? -errno : Int32(descriptor.revents))
        return .none
    }
    func sleep(nanoseconds: UInt64, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation {
        lock.withLock { sleepRecord.append(nanoseconds) }
        completion(-ETIME)
        return .none
    }
}
