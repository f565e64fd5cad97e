// The system calls of a slot reset, one by one, on a slot laid out as a guarded region slot is
// (context | guard | stack | guard | memory | guard: six mappings). Usage: syscalls
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static void *idle(void *a) { for (;;) pause(); }
#define K 1024
int main(void) {
    pthread_t t; pthread_create(&t, 0, idle, 0);
    // slot: ctx 16K | guard 64K | stack 256K | guard 112K | memory 64K | guard 64K
    size_t ctx = 0, g1 = 16*K, st = 80*K, g2 = 336*K, mem = 448*K, g3 = 512*K, size = 576*K;
    char *s = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    mprotect(s + g1, 64*K, PROT_NONE); mprotect(s + g2, 112*K, PROT_NONE); mprotect(s + g3, 64*K, PROT_NONE);
    unsigned char v[512];
    int n = 100000;
    double a = 0, b = 0, c = 0, d = 0, e = 0;
    for (int i = 0; i < n; i++) {
        s[ctx] = 1; s[g2 - 4096] = 1; s[g2 - 8192] = 1; s[mem] = 1;   // the tenant touched these
        double t0 = now();
        memset(s, 0, 4096);
        double t1 = now();
        mincore(s + g2 - 16*K, 16*K + 112*K + 64*K, v);
        double t2 = now();
        madvise(s + 4096, g2 - 16*K + 8192 - 4096, MADV_DONTNEED);  // ctx tail .. hot low (2 pages)
        double t3 = now();
        memset(s + g2 - 8192, 0, 8192); memset(s + mem, 0, 4096);
        double t4 = now();
        madvise(s + mem + 4096, 60*K, MADV_DONTNEED);
        double t5 = now();
        a += t1 - t0; b += t2 - t1; c += t3 - t2; d += t4 - t3; e += t5 - t4;
    }
    // The same probe and drop within one mapping (a region without guards).
    char *flat = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    double f = 0, g = 0;
    for (int i = 0; i < n; i++) {
        flat[g2 - 4096] = 1; flat[mem] = 1;
        double t0 = now();
        mincore(flat + g2 - 16*K, 16*K + 112*K + 64*K, v);
        double t1 = now();
        madvise(flat + 4096, g2 - 16*K + 8192 - 4096, MADV_DONTNEED);
        double t2 = now();
        f += t1 - t0; g += t2 - t1;
    }
    printf("one mapping: mincore 48 pages %.0f ns, madvise cold span %.0f ns\n", f/n, g/n);
    printf("six mappings: memset ctx %.0f ns, mincore 48 pages %.0f ns, madvise cold span %.0f ns, memsets %.0f ns, madvise memory %.0f ns\n", a/n, b/n, c/n, d/n, e/n);
}
