// Non-blocking attempts at the data path of WASI I/O, for the inline fast path (see the IOUring
// module's `NonblockingIO`). Each either completes at once, without sleeping, or fails with
// -EAGAIN (or -EOPNOTSUPP where the file cannot promise not to block), and the caller then hands
// the operation to io_uring. They return a byte count (>= 0) or a negative errno, never set errno.
//
// RWF_NOWAIT and MSG_DONTWAIT make the kernel refuse (EAGAIN) rather than sleep, whatever the
// descriptor's own O_NONBLOCK says, so a scheduler worker never blocks in one of them.
//
// They make the system call themselves rather than through libc's wrappers: those are
// thread-cancellation points, and enabling and disabling asynchronous cancellation around every
// call cost about 3% of a 4 KiB streaming read (perf); nothing here is ever cancelled. On x86-64
// the `syscall` instruction is issued inline, which also skips syscall(2)'s argument shuffle and
// its round trip through errno (the kernel's -errno is already the result we want); elsewhere
// syscall(2) does the same job.
//
// They are `static inline`, here in the header, so that Swift inlines them into the fast path:
// every call frame between a guest and the system call costs a mispredicted return after it
// (issue 17, Docs/BENCHMARKS.md: about 8 ns a frame on a 4 KiB read on the benchmark machine).
#pragma once
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008  // linux/fs.h, which clashes with glibc's headers
#endif

/// System call `n` with up to six arguments: its result, or -errno.
static inline long shoal_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#else
    long ret = syscall(n, a1, a2, a3, a4, a5, a6);
    return ret < 0 ? -errno : ret;
#endif
}

/// preadv2 with RWF_NOWAIT: data already in the page cache (or a pipe's buffer). offset -1: the
/// file position.
static inline long shoal_nowait_readv(int fd, const struct iovec *iov, int count, int64_t offset) {
    // The kernel takes the offset as two longs, low and high; on x86-64 the low one holds all of
    // it (-1: the file's position).
    return shoal_syscall6(SYS_preadv2, fd, (long)iov, count, (long)offset, 0L, RWF_NOWAIT);
}

/// pwritev2 with RWF_NOWAIT. offset -1: the file position.
static inline long shoal_nowait_writev(int fd, const struct iovec *iov, int count, int64_t offset) {
    return shoal_syscall6(SYS_pwritev2, fd, (long)iov, count, (long)offset, 0L, RWF_NOWAIT);
}

/// recvmsg with MSG_DONTWAIT (plus `flags`).
static inline long shoal_nowait_recv(int fd, const struct iovec *iov, int count, int flags) {
    struct msghdr message = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)count};
    return shoal_syscall6(SYS_recvmsg, fd, (long)&message, flags | MSG_DONTWAIT, 0, 0, 0);
}

/// sendmsg with MSG_DONTWAIT | MSG_NOSIGNAL (plus `flags`): a closed peer is EPIPE, never SIGPIPE.
static inline long shoal_nowait_send(int fd, const struct iovec *iov, int count, int flags) {
    struct msghdr message = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)count};
    return shoal_syscall6(SYS_sendmsg, fd, (long)&message, flags | MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0, 0);
}
