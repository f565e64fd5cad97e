// Non-blocking attempts for the WASI inline fast path (shoal_nowait.h). Plain system calls:
// RWF_NOWAIT and MSG_DONTWAIT make the kernel refuse (EAGAIN) rather than sleep, whatever the
// descriptor's own O_NONBLOCK says, so a scheduler worker never blocks in one of them.
#define _GNU_SOURCE
#include "shoal_nowait.h"

#include <errno.h>
#include <linux/fs.h>
#include <sys/socket.h>
#include <sys/uio.h>

static long result(long n) { return n < 0 ? -errno : n; }

long shoal_nowait_readv(int fd, const struct iovec *iov, int count, int64_t offset) {
    return result(preadv2(fd, iov, count, (off_t)offset, RWF_NOWAIT));
}

long shoal_nowait_writev(int fd, const struct iovec *iov, int count, int64_t offset) {
    return result(pwritev2(fd, iov, count, (off_t)offset, RWF_NOWAIT));
}

long shoal_nowait_recv(int fd, const struct iovec *iov, int count, int flags) {
    struct msghdr message = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)count};
    return result(recvmsg(fd, &message, flags | MSG_DONTWAIT));
}

long shoal_nowait_send(int fd, const struct iovec *iov, int count, int flags) {
    struct msghdr message = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)count};
    return result(sendmsg(fd, &message, flags | MSG_DONTWAIT | MSG_NOSIGNAL));
}
