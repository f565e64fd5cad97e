/// The asynchronous operations the WASI layer needs, each reporting a result (>= 0) or -errno to
/// its completion. `Ring` is the production implementation (io_uring); tests can inject another
/// (see WASITests' InlineIO), so the WASI layer is testable without a ring.
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
    func poll(fd: Int32, events: UInt32, completion: @escaping @Sendable (Int32) -> Void)
    /// Completes after `nanoseconds` (with -ETIME, as an io_uring timeout does).
    func sleep(nanoseconds: UInt64, completion: @escaping @Sendable (Int32) -> Void)
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
