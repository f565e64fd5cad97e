import CShoal
import Foundation

/// One io_uring shared by every instance: any thread submits, one completion thread delivers
/// results to the callbacks. Guest I/O never blocks a pool thread: the guest's fiber parks, its
/// operation runs in the kernel, and the callback wakes it.
///
/// Shared ring plus a completion thread (the other option was a ring per pool thread):
/// fibers migrate between pool threads and a parked instance is on no thread at all, so a
/// per-thread ring would need the same hand-off to get completions back to whoever resumes it.
public final class Ring: @unchecked Sendable {  // submission is serialised in C; callbacks under `lock`
    let ring: OpaquePointer
    private let lock = NSLock()
    private var callbacks: [UInt64: @Sendable (Int32) -> Void] = [:]
    private var nextTag: UInt64 = 1
    private var thread: Thread?
    private var stopping = false

    /// A process-wide ring, made on first use.
    public static let shared: Ring = {
        do {
            return try Ring(entries: 4096)
        } catch {
            fatalError("io_uring is not available: \(error)")
        }
    }()

    public init(entries: UInt32 = 1024) throws {
        var error: Int32 = 0
        guard let ring = shoal_ring_create(entries, &error) else {
            throw RingError(operation: "io_uring_queue_init", errno: error)
        }
        self.ring = ring
        let thread = Thread { [unowned self] in self.complete() }
        thread.name = "shoal-io-uring"
        self.thread = thread
        thread.start()
    }

    /// Registers the callback for a new tag, then submits; a failed submission reports at once.
    private func submit(_ callback: @escaping @Sendable (Int32) -> Void, _ operation: (UInt64) -> Int32) {
        let tag: UInt64 = lock.withLock {
            let tag = nextTag
            nextTag += 1
            callbacks[tag] = callback
            return tag
        }
        let result = operation(tag)
        if result < 0 {
            let callback = lock.withLock { callbacks.removeValue(forKey: tag) }
            callback?(result)
        }
    }

    private func complete() {
        while true {
            var tag: UInt64 = 0
            var result: Int32 = 0
            guard shoal_ring_wait(ring, &tag, &result) == 0 else { continue }
            let callback = lock.withLock { callbacks.removeValue(forKey: tag) }
            callback?(result)
            if lock.withLock({ stopping && callbacks.isEmpty }) { return }
        }
    }

    // MARK: Operations. Results are byte counts or fds (>= 0), or -errno.

    /// Reads into `buffer`, which must stay valid until `completion` runs. offset -1: current position.
    public func read(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int64 = -1,
                     completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_read(ring, $0, fd, buffer, UInt32(clamping: count), offset) }
    }

    /// Writes from `buffer`, which must stay valid until `completion` runs. offset -1: current position.
    public func write(fd: Int32, from buffer: UnsafeRawPointer, count: Int, offset: Int64 = -1,
                      completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_write(ring, $0, fd, buffer, UInt32(clamping: count), offset) }
    }

    /// openat2 relative to `directory` with RESOLVE_* flags (e.g. RESOLVE_BENEATH).
    public func open(_ path: String, in directory: Int32, flags: Int32, mode: UInt32 = 0, resolve: UInt64,
                     completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { tag in
            path.withCString { shoal_ring_openat2(ring, tag, directory, $0, UInt64(UInt32(bitPattern: flags)), UInt64(mode), resolve) }
        }
    }

    public func close(fd: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_close(ring, $0, fd) }
    }

    public func sync(fd: Int32, dataOnly: Bool, completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_fsync(ring, $0, fd, dataOnly ? 1 : 0) }
    }

    public func makeDirectory(_ path: String, in directory: Int32, mode: UInt32 = 0o755, completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { tag in path.withCString { shoal_ring_mkdirat(ring, tag, directory, $0, mode) } }
    }

    /// unlinkat; `removeDirectory` adds AT_REMOVEDIR.
    public func unlink(_ path: String, in directory: Int32, removeDirectory: Bool, completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { tag in path.withCString { shoal_ring_unlinkat(ring, tag, directory, $0, removeDirectory ? 0x200 : 0) } }
    }

    public func rename(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32,
                       completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { tag in
            old.withCString { o in new.withCString { n in shoal_ring_renameat(ring, tag, oldDirectory, o, newDirectory, n) } }
        }
    }

    public func symlink(target: String, at path: String, in directory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { tag in
            target.withCString { t in path.withCString { p in shoal_ring_symlinkat(ring, tag, t, directory, p) } }
        }
    }

    public func link(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32,
                     completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { tag in
            old.withCString { o in new.withCString { n in shoal_ring_linkat(ring, tag, oldDirectory, o, newDirectory, n) } }
        }
    }

    public func accept(fd: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_accept(ring, $0, fd) }
    }

    /// Receives into `buffer`, which must stay valid until `completion` runs.
    public func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, flags: Int32,
                        completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_recv(ring, $0, fd, buffer, UInt32(clamping: count), flags) }
    }

    /// Sends from `buffer`, which must stay valid until `completion` runs (never raises SIGPIPE).
    public func send(fd: Int32, from buffer: UnsafeRawPointer, count: Int, flags: Int32,
                     completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_send(ring, $0, fd, buffer, UInt32(clamping: count), flags) }
    }

    public func shutdown(fd: Int32, how: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_shutdown(ring, $0, fd, how) }
    }

    /// Completes when `fd` is ready for any of `events` (POLLIN, POLLOUT, ...), with the ready mask.
    public func poll(fd: Int32, events: UInt32, completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_poll(ring, $0, fd, events) }
    }

    /// A no-op: completes at once (for measuring the ring's own overhead).
    public func nop(completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_nop(ring, $0) }
    }

    /// Completes after `nanoseconds` with -ETIME (the normal outcome of a timeout).
    public func sleep(nanoseconds: UInt64, completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_timeout(ring, $0, nanoseconds) }
    }
}

public struct RingError: Error, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public var description: String { "\(operation) failed: \(String(cString: strerror(errno)))" }
}
