import Foundation
import IOUring

/// A real ring that counts the data operations submitted to it (under a lock, so the counts are
/// exact once the calls returned): a WASI call that completed inline never reaches it.
final class CountingIO: AsyncIO, @unchecked Sendable {  // `counts` under `lock`; the ring is thread-safe
    let ring: Ring
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    init() throws { ring = try Ring(entries: 64) }

    /// Data operations (reads, writes, receives, sends) submitted so far.
    var submitted: Int { lock.withLock { counts.values.reduce(0, +) } }

    private func count(_ name: String) { lock.withLock { counts[name, default: 0] += 1 } }

    func read(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int64, completion: @escaping @Sendable (Int32) -> Void) {
        self.count("read")
        ring.read(fd: fd, into: buffer, count: count, offset: offset, completion: completion)
    }
    func write(fd: Int32, from buffer: UnsafeRawPointer, count: Int, offset: Int64, completion: @escaping @Sendable (Int32) -> Void) {
        self.count("write")
        ring.write(fd: fd, from: buffer, count: count, offset: offset, completion: completion)
    }
    func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, flags: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        self.count("receive")
        ring.receive(fd: fd, into: buffer, count: count, flags: flags, completion: completion)
    }
    func send(fd: Int32, from buffer: UnsafeRawPointer, count: Int, flags: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        self.count("send")
        ring.send(fd: fd, from: buffer, count: count, flags: flags, completion: completion)
    }

    // Everything else goes to the ring uncounted.
    func open(_ path: String, in directory: Int32, flags: Int32, mode: UInt32, resolve: UInt64, completion: @escaping @Sendable (Int32) -> Void) {
        ring.open(path, in: directory, flags: flags, mode: mode, resolve: resolve, completion: completion)
    }
    func close(fd: Int32, completion: @escaping @Sendable (Int32) -> Void) { ring.close(fd: fd, completion: completion) }
    func sync(fd: Int32, dataOnly: Bool, completion: @escaping @Sendable (Int32) -> Void) {
        ring.sync(fd: fd, dataOnly: dataOnly, completion: completion)
    }
    func makeDirectory(_ path: String, in directory: Int32, mode: UInt32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.makeDirectory(path, in: directory, mode: mode, completion: completion)
    }
    func unlink(_ path: String, in directory: Int32, removeDirectory: Bool, completion: @escaping @Sendable (Int32) -> Void) {
        ring.unlink(path, in: directory, removeDirectory: removeDirectory, completion: completion)
    }
    func rename(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.rename(old, in: oldDirectory, to: new, in: newDirectory, completion: completion)
    }
    func symlink(target: String, at path: String, in directory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.symlink(target: target, at: path, in: directory, completion: completion)
    }
    func link(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.link(old, in: oldDirectory, to: new, in: newDirectory, completion: completion)
    }
    func accept(fd: Int32, completion: @escaping @Sendable (Int32) -> Void) { ring.accept(fd: fd, completion: completion) }
    func shutdown(fd: Int32, how: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.shutdown(fd: fd, how: how, completion: completion)
    }
    func poll(fd: Int32, events: UInt32, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation {
        ring.poll(fd: fd, events: events, completion: completion)
    }
    func sleep(nanoseconds: UInt64, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation {
        ring.sleep(nanoseconds: nanoseconds, completion: completion)
    }
}
