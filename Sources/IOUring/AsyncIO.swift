/// The asynchronous operations the WASI layer needs, each reporting a result (>= 0) or -errno to
/// its completion. `Ring` is the production implementation (io_uring); tests can inject another
/// (see WASITests' InlineIO), so the WASI layer is testable without a ring.
/// Withdraws an operation that may still be waiting (a poll or a timeout nobody needs any more),
/// so that it does not stay armed in the kernel. Call it where the operation's own completions run
/// (a worker ring's owner thread); cancelling an operation that already completed does nothing.
public struct IOCancellation: Sendable {
    private let action: @Sendable () -> Void
    public init(_ action: @escaping @Sendable () -> Void) { self.action = action }
    public func cancel() { action() }
    /// For operations that completed inline.
    public static let none = IOCancellation {}
}

public protocol AsyncIO: Sendable {
    func read(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int64, completion: @escaping @Sendable (Int32) -> Void)
    func write(fd: Int32, from buffer: UnsafeRawPointer, count: Int, offset: Int64, completion: @escaping @Sendable (Int32) -> Void)
    /// openat2 beneath `directory` with RESOLVE_* flags.
    func open(_ path: String, in directory: Int32, flags: Int32, mode: UInt32, resolve: UInt64, completion: @escaping @Sendable (Int32) -> Void)
    func close(fd: Int32, completion: @escaping @Sendable (Int32) -> Void)
    func sync(fd: Int32, dataOnly: Bool, completion: @escaping @Sendable (Int32) -> Void)
    func makeDirectory(_ path: String, in directory: Int32, mode: UInt32, completion: @escaping @Sendable (Int32) -> Void)
    func unlink(_ path: String, in directory: Int32, removeDirectory: Bool, completion: @escaping @Sendable (Int32) -> Void)
    func rename(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32, completion: @escaping @Sendable (Int32) -> Void)
    func symlink(target: String, at path: String, in directory: Int32, completion: @escaping @Sendable (Int32) -> Void)
    func link(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32, completion: @escaping @Sendable (Int32) -> Void)
    func accept(fd: Int32, completion: @escaping @Sendable (Int32) -> Void)
    func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, flags: Int32, completion: @escaping @Sendable (Int32) -> Void)
    func send(fd: Int32, from buffer: UnsafeRawPointer, count: Int, flags: Int32, completion: @escaping @Sendable (Int32) -> Void)
    func shutdown(fd: Int32, how: Int32, completion: @escaping @Sendable (Int32) -> Void)
    /// Completes when `fd` is ready for any of `events`, with the ready mask.
    func poll(fd: Int32, events: UInt32, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation
    /// Completes after `nanoseconds` (with -ETIME, as an io_uring timeout does).
    func sleep(nanoseconds: UInt64, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation
}

extension Ring: AsyncIO {}

extension AsyncIO {
    public func read(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, completion: @escaping @Sendable (Int32) -> Void) {
        read(fd: fd, into: buffer, count: count, offset: -1, completion: completion)
    }
    public func write(fd: Int32, from buffer: UnsafeRawPointer, count: Int, completion: @escaping @Sendable (Int32) -> Void) {
        write(fd: fd, from: buffer, count: count, offset: -1, completion: completion)
    }
    public func open(_ path: String, in directory: Int32, flags: Int32, resolve: UInt64, completion: @escaping @Sendable (Int32) -> Void) {
        open(path, in: directory, flags: flags, mode: 0, resolve: resolve, completion: completion)
    }
    public func makeDirectory(_ path: String, in directory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        makeDirectory(path, in: directory, mode: 0o755, completion: completion)
    }
}

/// The production `AsyncIO`: each operation goes to the calling thread's worker ring when it has
/// one (a guest running on a scheduler worker), otherwise to `Ring.shared`. The guest's fiber
/// parks right after submitting, so its completion is reaped by that worker between slices.
public struct CurrentRing: AsyncIO {
    public init() {}

    private var ring: Ring { Ring.current ?? Ring.shared }

    public func read(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int64, completion: @escaping @Sendable (Int32) -> Void) {
        ring.read(fd: fd, into: buffer, count: count, offset: offset, completion: completion)
    }
    public func write(fd: Int32, from buffer: UnsafeRawPointer, count: Int, offset: Int64, completion: @escaping @Sendable (Int32) -> Void) {
        ring.write(fd: fd, from: buffer, count: count, offset: offset, completion: completion)
    }
    public func open(_ path: String, in directory: Int32, flags: Int32, mode: UInt32, resolve: UInt64, completion: @escaping @Sendable (Int32) -> Void) {
        ring.open(path, in: directory, flags: flags, mode: mode, resolve: resolve, completion: completion)
    }
    public func close(fd: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.close(fd: fd, completion: completion)
    }
    public func sync(fd: Int32, dataOnly: Bool, completion: @escaping @Sendable (Int32) -> Void) {
        ring.sync(fd: fd, dataOnly: dataOnly, completion: completion)
    }
    public func makeDirectory(_ path: String, in directory: Int32, mode: UInt32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.makeDirectory(path, in: directory, mode: mode, completion: completion)
    }
    public func unlink(_ path: String, in directory: Int32, removeDirectory: Bool, completion: @escaping @Sendable (Int32) -> Void) {
        ring.unlink(path, in: directory, removeDirectory: removeDirectory, completion: completion)
    }
    public func rename(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.rename(old, in: oldDirectory, to: new, in: newDirectory, completion: completion)
    }
    public func symlink(target: String, at path: String, in directory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.symlink(target: target, at: path, in: directory, completion: completion)
    }
    public func link(_ old: String, in oldDirectory: Int32, to new: String, in newDirectory: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.link(old, in: oldDirectory, to: new, in: newDirectory, completion: completion)
    }
    public func accept(fd: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.accept(fd: fd, completion: completion)
    }
    public func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, flags: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.receive(fd: fd, into: buffer, count: count, flags: flags, completion: completion)
    }
    public func send(fd: Int32, from buffer: UnsafeRawPointer, count: Int, flags: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.send(fd: fd, from: buffer, count: count, flags: flags, completion: completion)
    }
    public func shutdown(fd: Int32, how: Int32, completion: @escaping @Sendable (Int32) -> Void) {
        ring.shutdown(fd: fd, how: how, completion: completion)
    }
    public func poll(fd: Int32, events: UInt32, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation {
        ring.poll(fd: fd, events: events, completion: completion)
    }
    public func sleep(nanoseconds: UInt64, completion: @escaping @Sendable (Int32) -> Void) -> IOCancellation {
        ring.sleep(nanoseconds: nanoseconds, completion: completion)
    }
}
