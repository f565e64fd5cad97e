// Non-blocking attempts for the WASI inline fast path (shoal_nowait.h). Plain system calls:
// RWF_NOWAIT and MSG_DONTWAIT make the kernel refuse (EAGAIN) rather than sleep, whatever the
// descriptor's own O_NONBLOCK says, so a scheduler worker never blocks in one of them.
// They go through syscall(2) rather than libc's wrappers: those are thread-cancellation points,
// and enabling and disabling asynchronous cancellation around every call cost about 3% of a
// 4 KiB streaming read (perf); nothing here is ever cancelled.
#define _GNU_SOURCE
#include "shoal_nowait.h"

#include <errno.h>
#include <linux/fs.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static long result(long n) { return n < 0 ? -errno : n; }

long shoal_nowait_readv(int fd, const struct iovec *iov, int count, int64_t offset) {
    // The kernel takes the offset as two longs, low and high; on x86-64 the low one holds all of
    // it (-1: the file's position).
    return result(syscall(SYS_preadv2, fd, iov, count, (long)offset, 0L, RWF_NOWAIT));
}

long shoal_nowait_writev(int fd, const struct iovec *iov, int count, int64_t offset) {
    return result(syscall(SYS_pwritev2, fd, iov, count, (long)offset, 0L, RWF_NOWAIT));
}

long shoal_nowait_recv(int fd, const struct iovec *iov, int count, int flags) {
    struct msghdr message = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)count};
    return result(syscall(SYS_recvmsg, fd, &message, flags | MSG_DONTWAIT));
}

long shoal_nowait_send(int fd, const struct iovec *iov, int count, int flags) {
    struct msghdr message = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)count};
    return result(syscall(SYS_sendmsg, fd, &message, flags | MSG_DONTWAIT | MSG_NOSIGNAL));
}
