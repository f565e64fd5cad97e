// Memory images: copying into pages that stay resident (what Shoal does) against mapping the image
// copy-on-write from a memfd (what Wasmtime can do), per instantiation. Usage: memfd BYTES
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
    size_t image = argc > 1 ? strtoul(argv[1], 0, 0) : 1 << 20, memory = 16 << 16;
    int rounds = 2000;
    char *data = malloc(image); memset(data, 0x5a, image);
    int fd = memfd_create("image", 0); ftruncate(fd, memory); pwrite(fd, data, image, 0);
    char *slot = mmap(0, memory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char *kept = mmap(0, memory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    double *a = malloc(rounds * sizeof(double)), *b = malloc(rounds * sizeof(double)), *c = malloc(rounds * sizeof(double));
    for (int i = 0; i < rounds; i++) {
        // (a) what Shoal does: copy into pages that stay resident, then zero them on release
        double t0 = now();
        memcpy(kept, data, image);
        double t1 = now();
        memset(kept, 0, image);
        a[i] = t1 - t0;
        // (b) CoW mapping of the image, the guest then reads every image page (c: and writes each)
        t0 = now();
        mmap(slot, memory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
        volatile char sink = 0;
        for (size_t p = 0; p < image; p += 4096) sink += slot[p];
        t1 = now();
        for (size_t p = 0; p < image; p += 4096) slot[p] = 1;
        double t2 = now();
        mmap(slot, memory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);  // release
        b[i] = t1 - t0; c[i] = t2 - t0;
    }
    qsort(a, rounds, sizeof(double), cmp); qsort(b, rounds, sizeof(double), cmp); qsort(c, rounds, sizeof(double), cmp);
    printf("image %zu bytes: memcpy into resident pages %.2f us; memfd CoW map + read every page %.2f us; + write every page %.2f us (medians)\n",
           image, a[rounds / 2] / 1e3, b[rounds / 2] / 1e3, c[rounds / 2] / 1e3);
}
