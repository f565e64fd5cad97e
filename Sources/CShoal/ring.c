// io_uring through liburing: shared and worker-owned rings (see shoal_ring.h).
#define _GNU_SOURCE
#include "shoal_ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <errno.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <time.h>

struct shoal_ring {
    struct io_uring ring;
    pthread_mutex_t submit_lock;
    // A worker's ring has one owner thread, which submits, reaps and waits: no lock, and
    // operations without transient pointers are queued and submitted in a batch by
    // shoal_ring_flush / shoal_ring_wait_owned. Other threads may only call shoal_ring_wake.
    int owned;
    int wake_fd;          // eventfd with a read always armed on the ring (owned rings only)
    uint64_t wake_value;  // the armed read's target
};

// The armed eventfd read completes with this tag; it is consumed (and re-armed) internally.
#define SHOAL_WAKE_TAG UINT64_MAX
// shoal_ring_cancel_all's own completion (no callback is registered under it).
#define SHOAL_CANCEL_TAG (UINT64_MAX - 1)

// A free SQE, submitting what is queued first if the submission queue is full; NULL if still none.
static struct io_uring_sqe *next_sqe(shoal_ring *r) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
    }
    return sqe;
}

shoal_ring *shoal_ring_create(unsigned entries, int *error) {
    shoal_ring *r = calloc(1, sizeof *r);
    if (!r) {
        *error = ENOMEM;
        return NULL;
    }
    int e = io_uring_queue_init(entries, &r->ring, 0);
    if (e < 0) {
        free(r);
        *error = -e;
        return NULL;
    }
    pthread_mutex_init(&r->submit_lock, NULL);
    return r;
}

static int arm_wake(shoal_ring *r) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_read(sqe, r->wake_fd, &r->wake_value, sizeof r->wake_value, 0);
    io_uring_sqe_set_data64(sqe, SHOAL_WAKE_TAG);
    return 0;
}

shoal_ring *shoal_ring_create_owned(unsigned entries, unsigned completion_entries, int *error) {
    shoal_ring *r = calloc(1, sizeof *r);
    if (!r) {
        *error = ENOMEM;
        return NULL;
    }
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = completion_entries;
    int e = io_uring_queue_init_params(entries, &r->ring, &params);
    if (e < 0) {
        free(r);
        *error = -e;
        return NULL;
    }
    r->owned = 1;
    r->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (r->wake_fd < 0 || arm_wake(r) < 0 || io_uring_submit(&r->ring) < 0) {
        *error = errno ? errno : EBUSY;
        if (r->wake_fd >= 0) close(r->wake_fd);
        io_uring_queue_exit(&r->ring);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->submit_lock, NULL);
    return r;
}

void shoal_ring_destroy(shoal_ring *r) {
    io_uring_queue_exit(&r->ring);
    if (r->owned) close(r->wake_fd);
    pthread_mutex_destroy(&r->submit_lock);
    free(r);
}

int shoal_ring_flush(shoal_ring *r) {
    if (io_uring_sq_ready(&r->ring) == 0) return 0;
    return io_uring_submit(&r->ring);
}

int shoal_ring_reap(shoal_ring *r, uint64_t *tags, int32_t *results, unsigned capacity) {
    struct io_uring_cqe *cqes[256];
    if (capacity > 256) capacity = 256;
    unsigned n = io_uring_peek_batch_cqe(&r->ring, cqes, capacity);
    unsigned reported = 0;
    int rearm = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t tag = io_uring_cqe_get_data64(cqes[i]);
        if (tag == SHOAL_WAKE_TAG) {
            rearm = 1;
            continue;
        }
        tags[reported] = tag;
        results[reported] = cqes[i]->res;
        reported++;
    }
    io_uring_cq_advance(&r->ring, n);
    if (rearm) arm_wake(r);
    return (int)reported;
}

int shoal_ring_wait_owned(shoal_ring *r) {
    int e;
    do {
        e = io_uring_submit_and_wait(&r->ring, 1);
    } while (e == -EINTR);
    return e < 0 ? e : 0;
}

void shoal_ring_wake(shoal_ring *r) {
    uint64_t one = 1;
    ssize_t ignored = write(r->wake_fd, &one, sizeof one);
    (void)ignored;
}

int shoal_ring_cancel_all(shoal_ring *r) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(sqe, SHOAL_CANCEL_TAG);
    return io_uring_submit(&r->ring);
}

static __thread void *current_ring;
void shoal_set_current_ring(void *ring) { current_ring = ring; }
void *shoal_current_ring(void) { return current_ring; }

// Gets an SQE (submitting what is queued if the SQ is full), lets `prep` fill it, submits.
// On an owned ring an operation whose arguments all outlive the call (buffers, fds) is only
// queued: the owner submits the batch before it next reaps or waits. Operations that point at
// the caller's stack (paths, open_how, timespecs: the kernel copies them at submission) go at once.
#define SUBMIT_WHEN(r, tag, prep, deferrable)                         \
    do {                                                              \
        if (!(r)->owned) pthread_mutex_lock(&(r)->submit_lock);       \
        struct io_uring_sqe *sqe = next_sqe(r);                       \
        if (!sqe) {                                                   \
            if (!(r)->owned) pthread_mutex_unlock(&(r)->submit_lock); \
            return -EBUSY;                                            \
        }                                                             \
        prep;                                                         \
        io_uring_sqe_set_data64(sqe, (tag));                          \
        int submitted = ((r)->owned && (deferrable)) ? 0 : io_uring_submit(&(r)->ring); \
        if (!(r)->owned) pthread_mutex_unlock(&(r)->submit_lock);     \
        return submitted < 0 ? submitted : 0;                         \
    } while (0)
#define SUBMIT(r, tag, prep) SUBMIT_WHEN(r, tag, prep, 0)
#define QUEUE(r, tag, prep) SUBMIT_WHEN(r, tag, prep, 1)

int shoal_ring_read(shoal_ring *r, uint64_t tag, int fd, void *buffer, unsigned length, int64_t offset) {
    QUEUE(r, tag, io_uring_prep_read(sqe, fd, buffer, length, (__u64)offset));
}

int shoal_ring_write(shoal_ring *r, uint64_t tag, int fd, const void *buffer, unsigned length, int64_t offset) {
    QUEUE(r, tag, io_uring_prep_write(sqe, fd, buffer, length, (__u64)offset));
}

int shoal_ring_openat2(shoal_ring *r, uint64_t tag, int dirfd, const char *path, uint64_t flags, uint64_t mode,
                       uint64_t resolve) {
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    SUBMIT(r, tag, io_uring_prep_openat2(sqe, dirfd, path, &how));
}

int shoal_ring_close(shoal_ring *r, uint64_t tag, int fd) { QUEUE(r, tag, io_uring_prep_close(sqe, fd)); }

int shoal_ring_fsync(shoal_ring *r, uint64_t tag, int fd, int datasync) {
    QUEUE(r, tag, io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0));
}

int shoal_ring_timeout(shoal_ring *r, uint64_t tag, uint64_t nanoseconds) {
    struct __kernel_timespec ts = {.tv_sec = (long long)(nanoseconds / 1000000000ull),
                                   .tv_nsec = (long long)(nanoseconds % 1000000000ull)};
    SUBMIT(r, tag, io_uring_prep_timeout(sqe, &ts, 0, 0));
}

int shoal_ring_nop(shoal_ring *r, uint64_t tag) { QUEUE(r, tag, io_uring_prep_nop(sqe)); }

int shoal_ring_wait(shoal_ring *r, uint64_t *tag, int32_t *result) {
    struct io_uring_cqe *cqe;
    int e;
    do {
        e = io_uring_wait_cqe(&r->ring, &cqe);
    } while (e == -EINTR);
    if (e < 0) return e;
    *tag = io_uring_cqe_get_data64(cqe);
    *result = cqe->res;
    io_uring_cqe_seen(&r->ring, cqe);
    return 0;
}

// Path operations copy their paths at submission (getname in the kernel's prep), like openat2.
int shoal_ring_mkdirat(shoal_ring *r, uint64_t tag, int dirfd, const char *path, unsigned mode) {
    SUBMIT(r, tag, io_uring_prep_mkdirat(sqe, dirfd, path, mode));
}
int shoal_ring_unlinkat(shoal_ring *r, uint64_t tag, int dirfd, const char *path, int flags) {
    SUBMIT(r, tag, io_uring_prep_unlinkat(sqe, dirfd, path, flags));
}
int shoal_ring_renameat(shoal_ring *r, uint64_t tag, int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    SUBMIT(r, tag, io_uring_prep_renameat(sqe, olddirfd, oldpath, newdirfd, newpath, 0));
}
int shoal_ring_symlinkat(shoal_ring *r, uint64_t tag, const char *target, int newdirfd, const char *linkpath) {
    SUBMIT(r, tag, io_uring_prep_symlinkat(sqe, target, newdirfd, linkpath));
}
int shoal_ring_linkat(shoal_ring *r, uint64_t tag, int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    SUBMIT(r, tag, io_uring_prep_linkat(sqe, olddirfd, oldpath, newdirfd, newpath, 0));
}
int shoal_ring_accept(shoal_ring *r, uint64_t tag, int fd) {
    QUEUE(r, tag, io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC));
}
int shoal_ring_recv(shoal_ring *r, uint64_t tag, int fd, void *buffer, unsigned length, int flags) {
    QUEUE(r, tag, io_uring_prep_recv(sqe, fd, buffer, length, flags));
}
int shoal_ring_send(shoal_ring *r, uint64_t tag, int fd, const void *buffer, unsigned length, int flags) {
    QUEUE(r, tag, io_uring_prep_send(sqe, fd, buffer, length, flags | MSG_NOSIGNAL));
}
int shoal_ring_shutdown(shoal_ring *r, uint64_t tag, int fd, int how) {
    QUEUE(r, tag, io_uring_prep_shutdown(sqe, fd, how));
}

int shoal_ring_cancel(shoal_ring *r, uint64_t target) {
    QUEUE(r, SHOAL_CANCEL_TAG, io_uring_prep_cancel64(sqe, target, 0));
}

int shoal_ring_poll(shoal_ring *r, uint64_t tag, int fd, unsigned events) {
    QUEUE(r, tag, io_uring_prep_poll_add(sqe, fd, events));
}
