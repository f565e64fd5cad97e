import CShoal
import Glibc

/// The inline fast path's system calls: one attempt that completes now or refuses, never sleeps.
///
/// A guest that reads a file already in the page cache, or a socket with data queued, gains
/// nothing from parking on io_uring: its fiber would switch out, the worker would submit and
/// reap, and the fiber would switch back in, for data that was there all along. So the WASI layer
/// first tries the operation here, on the guest's fiber, straight into (or out of) the guest's
/// memory, and submits to the worker's ring only when the kernel says it would have to wait
/// (`-EAGAIN`, or `-EOPNOTSUPP` from a file that cannot promise not to block, such as a terminal).
///
/// RWF_NOWAIT and MSG_DONTWAIT apply to the call, not to the descriptor, so nothing here changes
/// a descriptor's flags (which other users of a shared descriptor would see). Results are byte
/// counts (>= 0) or negative errnos. The iovecs must be valid for the call's duration only: the
/// call is synchronous, which is what lets it target guest memory directly.
public enum NonblockingIO {
    /// preadv2(RWF_NOWAIT). `offset` -1 reads at (and advances) the file position.
    @inlinable
    public static func read(fd: Int32, _ iovecs: UnsafePointer<iovec>, count: Int, offset: Int64) -> Int {
        shoal_nowait_readv(fd, iovecs, Int32(count), offset)
    }

    /// pwritev2(RWF_NOWAIT). `offset` -1 writes at (and advances) the file position.
    @inlinable
    public static func write(fd: Int32, _ iovecs: UnsafePointer<iovec>, count: Int, offset: Int64) -> Int {
        shoal_nowait_writev(fd, iovecs, Int32(count), offset)
    }

    /// recvmsg(MSG_DONTWAIT | flags).
    @inlinable
    public static func receive(fd: Int32, _ iovecs: UnsafePointer<iovec>, count: Int, flags: Int32) -> Int {
        shoal_nowait_recv(fd, iovecs, Int32(count), flags)
    }

    /// sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL | flags): a closed peer is EPIPE, never SIGPIPE.
    @inlinable
    public static func send(fd: Int32, _ iovecs: UnsafePointer<iovec>, count: Int, flags: Int32) -> Int {
        shoal_nowait_send(fd, iovecs, Int32(count), flags)
    }
}
