/* Native driver: times run(n) (best of REPEATS) and prints "checksum nanoseconds". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kernel.h"
int main(int argc, char **argv) {
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], 0, 10) : 1;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    uint64_t best = UINT64_MAX; uint32_t result = 0;
    for (int r = 0; r < repeats; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        result = run(n);
        clock_gettime(CLOCK_MONOTONIC, &b);
        uint64_t ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)(b.tv_nsec - a.tv_nsec);
        if (ns < best) best = ns;
    }
    printf("%u %llu\n", result, (unsigned long long)best);
    return 0;
}
