import CShoal
import Foundation

/// An io_uring. Guest I/O never blocks a pool thread: the guest's fiber parks, its operation runs
/// in the kernel, and the operation's callback (which resumes the fiber) runs when it completes.
///
/// Two kinds, chosen by measurement (Docs/BENCHMARKS.md, "io_uring topology"):
/// - A **worker ring** (`Ring.worker()`) belongs to one scheduler worker thread. Guests running on
///   that worker submit to it; the worker submits in batches and runs the callbacks itself between
///   time slices, and sleeps in the ring when it has nothing to run. No thread hand-off: a
///   completion whose callback re-queues the guest usually has it resumed by the same worker.
/// - The **shared ring** (`Ring.shared`) serves every other thread (an embedder calling
///   `Execution.resume()` directly): any thread submits under a lock and one completion thread
///   runs the callbacks. Each operation pays a thread hand-off, about 5 µs.
///
/// `CurrentRing` picks between them per call.
public final class Ring: @unchecked Sendable {  // callbacks under `lock`; an owned ring is used by its owner thread only
    let ring: OpaquePointer
    /// Owned by one worker thread: no completion thread; the owner calls `drain`/`wait`.
    public let isWorkerRing: Bool
    private let lock = NSLock()
    private var callbacks: [UInt64: @Sendable (Int32) -> Void] = [:]
    private var nextTag: UInt64 = 1
    private var thread: Thread?
    /// Where `drain` reaps completions into (worker rings; reused so draining allocates nothing).
    private let reapTags = UnsafeMutablePointer<UInt64>.allocate(capacity: Ring.reapBatch)
    private let reapResults = UnsafeMutablePointer<Int32>.allocate(capacity: Ring.reapBatch)
    private static let reapBatch = 64

    /// A process-wide ring with a completion thread, made on first use.
    public static let shared: Ring = {
        do {
            return try Ring(entries: 4096)
        } catch {
            fatalError("io_uring is not available: \(error)")
        }
    }()

    /// A shared ring: any thread submits, a completion thread of its own runs the callbacks.
    public init(entries: UInt32 = 1024) throws {
        var error: Int32 = 0
        guard let ring = shoal_ring_create(entries, &error) else {
            throw RingError(operation: "io_uring_queue_init", errno: error)
        }
        self.ring = ring
        isWorkerRing = false
        let thread = Thread { [unowned self] in self.complete() }
        thread.name = "shoal-io-uring"
        self.thread = thread
        thread.start()
    }

    private init(owned ring: OpaquePointer) {
        self.ring = ring
        isWorkerRing = true
    }

    /// A ring for the calling thread alone (see the type's comment). The completion queue is
    /// sized for many parked operations: tens of thousands of guests may sleep on one worker.
    public static func worker(entries: UInt32 = 1024, completionEntries: UInt32 = 65_536) throws -> Ring {
        var error: Int32 = 0
        guard let ring = shoal_ring_create_owned(entries, completionEntries, &error) else {
            throw RingError(operation: "io_uring_queue_init_params", errno: error)
        }
        return Ring(owned: ring)
    }

    /// The worker ring of the calling thread, if it has one.
    public static var current: Ring? {
        shoal_current_ring().map { Unmanaged<Ring>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Makes this worker ring the calling thread's `current` (nil clears it). The caller keeps the
    /// ring alive for as long as it is current.
    public static func setCurrent(_ ring: Ring?) {
        precondition(ring?.isWorkerRing ?? true, "only a worker ring can be a thread's current ring")
        shoal_set_current_ring(ring.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    deinit {
        reapTags.deallocate()
        reapResults.deallocate()
    }

    /// Operations submitted and not yet completed.
    public var inFlight: Int { guarded { callbacks.count } }

    /// Runs `body` under the lock — except on a worker ring, which only its owner thread touches.
    @inline(__always)
    private func guarded<T>(_ body: () -> T) -> T {
        if isWorkerRing { return body() }
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Registers the callback for a new tag, then submits; a failed submission reports at once.
    /// On a worker ring, only its owner thread may submit. Returns the operation's tag.
    @discardableResult
    private func submit(_ callback: @escaping @Sendable (Int32) -> Void, _ operation: (UInt64) -> Int32) -> UInt64 {
        let tag: UInt64 = guarded {
            let tag = nextTag
            nextTag += 1
            callbacks[tag] = callback
            return tag
        }
        let result = operation(tag)
        if result < 0 {
            let callback = guarded { callbacks.removeValue(forKey: tag) }
            callback?(result)
        }
        return tag
    }

    /// Operations submitted whose completion has not run yet (the shared ring's, or the owner's).
    public var pendingOperations: Int { guarded { callbacks.count } }

    /// Cancels an operation of this ring that may still be in flight: it completes with
    /// -ECANCELED (its callback runs), or it has already completed and nothing happens. On a
    /// worker ring, owner thread only — as from one of its own callbacks.
    func cancel(tag: UInt64) {
        let pending = guarded { callbacks[tag] != nil }
        if pending { _ = shoal_ring_cancel(ring, tag) }
    }

    private func complete() {
        while true {
            var tag: UInt64 = 0
            var result: Int32 = 0
            guard shoal_ring_wait(ring, &tag, &result) == 0 else { continue }
            let callback = lock.withLock { callbacks.removeValue(forKey: tag) }
            callback?(result)
        }
    }

    // MARK: Driving a worker ring (owner thread only)

    /// Submits queued operations and runs the callbacks of every completion that has arrived,
    /// without blocking. Returns how many callbacks ran.
    @discardableResult
    public func drain() -> Int {
        precondition(isWorkerRing)
        _ = shoal_ring_flush(ring)
        var ran = 0
        while true {
            let n = Int(shoal_ring_reap(ring, reapTags, reapResults, UInt32(Ring.reapBatch)))
            if n == 0 { return ran }
            for i in 0..<n {
                let callback = callbacks.removeValue(forKey: reapTags[i])  // owner thread: no lock
                callback?(reapResults[i])
            }
            ran += n
            _ = shoal_ring_flush(ring)  // callbacks may have queued follow-up operations
        }
    }

    /// Submits queued operations and sleeps until a completion arrives or `wake()` is called,
    /// then runs the callbacks (as `drain`).
    @discardableResult
    public func wait() -> Int {
        precondition(isWorkerRing)
        _ = shoal_ring_wait_owned(ring)
        return drain()
    }

    /// Ends the owner's `wait()` early. Any thread.
    public func wake() {
        precondition(isWorkerRing)
        shoal_ring_wake(ring)
    }

    /// Cancels what is in flight and waits (up to `timeout`) for every operation to report, so no
    /// buffer is still in the kernel's hands when the callbacks are dropped; then closes the ring.
    /// Returns false (and leaks the ring rather than free memory the kernel may still write) when
    /// operations did not finish in time.
    @discardableResult
    public func close(timeout: Duration = .seconds(2)) -> Bool {
        precondition(isWorkerRing)
        let deadline = ContinuousClock.now + timeout
        if inFlight > 0 { _ = shoal_ring_cancel_all(ring) }
        while inFlight > 0 {
            if ContinuousClock.now >= deadline { return false }
            drain()
            if inFlight > 0 { usleep(1_000) }
        }
        shoal_ring_destroy(ring)
        return true
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
    @discardableResult
    public func poll(fd: Int32, events: UInt32, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation {
        let tag = submit(completion) { shoal_ring_poll(ring, $0, fd, events) }
        return IOCancellation { [self] in cancel(tag: tag) }
    }

    /// A no-op: completes at once (for measuring the ring's own overhead).
    public func nop(completion: @escaping @Sendable (Int32) -> Void) {
        submit(completion) { shoal_ring_nop(ring, $0) }
    }

    /// Completes after `nanoseconds` with -ETIME (the normal outcome of a timeout).
    @discardableResult
    public func sleep(nanoseconds: UInt64, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation {
        let tag = submit(completion) { shoal_ring_timeout(ring, $0, nanoseconds) }
        return IOCancellation { [self] in cancel(tag: tag) }
    }
}

public struct RingError: Error, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public var description: String { "\(operation) failed: \(String(cString: strerror(errno)))" }
}
