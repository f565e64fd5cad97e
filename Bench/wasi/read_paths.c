/* Issue 17: what one 4 KiB read of a page-cached file costs by each non-blocking path a runtime
 * could take, next to plain read(2), in a multithreaded process (as Shoal's is: the kernel then
 * takes a reference on the file per call). Reads FILE from start to end in CHUNK-byte reads.
 *   read            read(2) at the kernel's position (what a native program does; may block)
 *   preadv2         preadv2(RWF_NOWAIT) at an offset kept in user space (Shoal's inline path)
 *   uring           an io_uring read, submitted and waited for one at a time
 *   uring-fixed     the same with a registered file
 *   uring-fixedbuf  the same with a registered file and a registered buffer
 *   depthN          preadv2 as above, made from N (0-8) nested calls of functions that do nothing
 *                   else: what each frame between a program's loop and the system call costs
 *                   (the returns after a system call are mispredicted on some machines, so a
 *                   runtime's host-call layers are paid per frame, not only per instruction)
 * Usage: read_paths FILE MODE [CHUNK]   Prints: MODE BYTES MS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void *idle(void *unused) { (void)unused; pause(); return NULL; }

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A non-blocking read the kernel refused (EAGAIN): Shoal would park the guest and read on its
 * ring; here a plain pread stands in. Even a fully cached file sees a few (a folio locked for a
 * moment by reclaim or migration), so they are counted and reported, not treated as the end. */
static unsigned long refusals;

static ssize_t refused(int fd, char *buf, size_t chunk, off_t off) {
    refusals++;
    return pread(fd, buf, chunk, off);
}

/* The depth experiment: nest(k) calls nest(k - 1) ... nest(0) makes the read. noinline and the
 * empty asm keep the compiler from flattening or tail-calling the chain. */
static int depth_fd;
static char *depth_buf;
static size_t depth_chunk;

__attribute__((noinline)) static ssize_t nest(int k, off_t off) {
    if (k == 0) {
        struct iovec iov = { depth_buf, depth_chunk };
        return preadv2(depth_fd, &iov, 1, off, RWF_NOWAIT);
    }
    ssize_t n = nest(k - 1, off);
    __asm__ volatile("" ::: "memory");
    return n;
}

static unsigned long long by_ring(int fd, char *buf, size_t chunk, const char *mode) {
    struct io_uring ring;
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (io_uring_queue_init_params(64, &ring, &p) < 0) {
        p.flags = 0;
        if (io_uring_queue_init_params(64, &ring, &p) < 0) { perror("io_uring"); exit(1); }
    }
    int fixed = strcmp(mode, "uring") != 0, fixed_buf = strcmp(mode, "uring-fixedbuf") == 0;
    struct iovec whole = { buf, chunk };
    if (fixed && io_uring_register_files(&ring, &fd, 1) < 0) { perror("register files"); exit(1); }
    if (fixed_buf && io_uring_register_buffers(&ring, &whole, 1) < 0) { perror("register buffers"); exit(1); }
    unsigned long long total = 0;
    for (off_t off = 0;;) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        if (fixed_buf) io_uring_prep_read_fixed(sqe, 0, buf, chunk, off, 0);
        else io_uring_prep_read(sqe, fixed ? 0 : fd, buf, chunk, off);
        if (fixed) sqe->flags |= IOSQE_FIXED_FILE;
        io_uring_submit_and_wait(&ring, 1);
        struct io_uring_cqe *cqe;
        if (io_uring_peek_cqe(&ring, &cqe) != 0) { fprintf(stderr, "no completion\n"); exit(1); }
        int n = cqe->res;
        io_uring_cqe_seen(&ring, cqe);
        if (n <= 0) break;
        off += n;
        total += n;
    }
    io_uring_queue_exit(&ring);
    return total;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s FILE MODE [CHUNK]\n", argv[0]); return 2; }
    const char *mode = argv[2];
    size_t chunk = argc > 3 ? strtoul(argv[3], NULL, 10) : 4096;
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 1; }
    char *buf = aligned_alloc(4096, (chunk + 4095) / 4096 * 4096);
    unsigned long long total = 0;
    double t0 = now_ms();
    if (strcmp(mode, "read") == 0) {
        ssize_t n;
        while ((n = read(fd, buf, chunk)) > 0) total += n;
    } else if (strcmp(mode, "preadv2") == 0) {
        for (off_t off = 0;;) {
            struct iovec iov = { buf, chunk };
            ssize_t n = preadv2(fd, &iov, 1, off, RWF_NOWAIT);
            if (n < 0) n = refused(fd, buf, chunk, off);
            if (n <= 0) break;
            off += n;
            total += n;
        }
    } else if (strncmp(mode, "depth", 5) == 0) {
        int k = atoi(mode + 5);
        if (k < 0 || k > 8) { fprintf(stderr, "depth 0-8\n"); return 2; }
        depth_fd = fd, depth_buf = buf, depth_chunk = chunk;
        for (off_t off = 0;;) {
            ssize_t n = nest(k, off);
            if (n < 0) n = refused(fd, buf, chunk, off);
            if (n <= 0) break;
            off += n;
            total += n;
        }
    } else if (strncmp(mode, "uring", 5) == 0) {
        total = by_ring(fd, buf, chunk, mode);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    printf("%s %llu %.1f\n", mode, total, now_ms() - t0);
    if (refusals) fprintf(stderr, "%s: %lu non-blocking reads refused (read by pread instead)\n", mode, refusals);
    return 0;
}
