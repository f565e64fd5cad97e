// Non-blocking attempts at the data path of WASI I/O, for the inline fast path (see the IOUring
// module's `NonblockingIO`). Each either completes at once, without sleeping, or fails with
// -EAGAIN (or -EOPNOTSUPP where the file cannot promise not to block), and the caller then hands
// the operation to io_uring. They return a byte count (>= 0) or a negative errno, never set errno.
#pragma once
#include <stdint.h>

struct iovec;

/// preadv2 with RWF_NOWAIT: data already in the page cache (or a pipe's buffer). offset -1: the
/// file position.
long shoal_nowait_readv(int fd, const struct iovec *iov, int count, int64_t offset);
/// pwritev2 with RWF_NOWAIT. offset -1: the file position.
long shoal_nowait_writev(int fd, const struct iovec *iov, int count, int64_t offset);
/// recvmsg with MSG_DONTWAIT (plus `flags`).
long shoal_nowait_recv(int fd, const struct iovec *iov, int count, int flags);
/// sendmsg with MSG_DONTWAIT | MSG_NOSIGNAL (plus `flags`).
long shoal_nowait_send(int fd, const struct iovec *iov, int count, int flags);
