// io_uring through liburing, for WASI I/O (the IOUring module wraps it).
#pragma once
#include <stdint.h>

// One shared ring: any thread submits (under a mutex), one completion thread waits. Every
// operation carries a 64-bit tag that comes back with its result (a negative errno on failure).
// Paths, open_how and timespecs are copied by the kernel when the operation is submitted, which
// happens inside these calls, so callers' buffers for them need not outlive the call; data
// buffers (read/write) must stay valid until the completion arrives.

typedef struct shoal_ring shoal_ring;

shoal_ring *shoal_ring_create(unsigned entries, int *error);
void shoal_ring_destroy(shoal_ring *ring);
int shoal_ring_read(shoal_ring *ring, uint64_t tag, int fd, void *buffer, unsigned length, int64_t offset);
int shoal_ring_write(shoal_ring *ring, uint64_t tag, int fd, const void *buffer, unsigned length, int64_t offset);
int shoal_ring_openat2(shoal_ring *ring, uint64_t tag, int dirfd, const char *path, uint64_t flags, uint64_t mode,
                       uint64_t resolve);
int shoal_ring_close(shoal_ring *ring, uint64_t tag, int fd);
int shoal_ring_fsync(shoal_ring *ring, uint64_t tag, int fd, int datasync);
int shoal_ring_timeout(shoal_ring *ring, uint64_t tag, uint64_t nanoseconds);
int shoal_ring_nop(shoal_ring *ring, uint64_t tag);
/// Blocks until one completion arrives; returns 0 and fills tag/result, or a negative errno.
int shoal_ring_wait(shoal_ring *ring, uint64_t *tag, int32_t *result);

/// A ring owned by one thread (a scheduler worker): no submission lock; buffer-only operations are
/// queued and submitted in batches. `completion_entries` sizes the CQ (parked operations can far
/// outnumber SQ entries). An eventfd read is kept armed so other threads can wake the owner.
shoal_ring *shoal_ring_create_owned(unsigned entries, unsigned completion_entries, int *error);
/// Submits queued operations (owner only). Returns the number submitted or -errno.
int shoal_ring_flush(shoal_ring *ring);
/// Takes up to `capacity` completions without blocking (owner only); wake-ups are consumed here.
int shoal_ring_reap(shoal_ring *ring, uint64_t *tags, int32_t *results, unsigned capacity);
/// Submits queued operations and blocks until a completion or a wake-up arrives (owner only).
int shoal_ring_wait_owned(shoal_ring *ring);
/// Wakes the owner from shoal_ring_wait_owned (any thread; async-signal-safe).
void shoal_ring_wake(shoal_ring *ring);
/// Asks the kernel to cancel every operation in flight (owner only); each still completes.
int shoal_ring_cancel_all(shoal_ring *ring);
/// Asks the kernel to cancel the operation submitted with `target` (which then completes with
/// -ECANCELED, or not at all if it already completed). The cancel's own completion is dropped.
/// On an owned ring, owner only.
int shoal_ring_cancel(shoal_ring *ring, uint64_t target);
/// The calling thread's ring (an opaque owner pointer set by the scheduler's worker), or NULL.
void shoal_set_current_ring(void *ring);
void *shoal_current_ring(void);
int shoal_ring_mkdirat(shoal_ring *ring, uint64_t tag, int dirfd, const char *path, unsigned mode);
int shoal_ring_unlinkat(shoal_ring *ring, uint64_t tag, int dirfd, const char *path, int flags);
int shoal_ring_renameat(shoal_ring *ring, uint64_t tag, int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int shoal_ring_symlinkat(shoal_ring *ring, uint64_t tag, const char *target, int newdirfd, const char *linkpath);
int shoal_ring_linkat(shoal_ring *ring, uint64_t tag, int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int shoal_ring_accept(shoal_ring *ring, uint64_t tag, int fd);
int shoal_ring_recv(shoal_ring *ring, uint64_t tag, int fd, void *buffer, unsigned length, int flags);
int shoal_ring_send(shoal_ring *ring, uint64_t tag, int fd, const void *buffer, unsigned length, int flags);
int shoal_ring_shutdown(shoal_ring *ring, uint64_t tag, int fd, int how);
/// Completes when `fd` has any of `events` (POLLIN, POLLOUT...); the result is the ready mask.
int shoal_ring_poll(shoal_ring *ring, uint64_t tag, int fd, unsigned events);
