/* Branches and memory: quicksort of pseudo-random integers, repeated. */
#include "kernel.h"
#define COUNT 100000
static int32_t data[COUNT];
static NOINLINE void sort(int32_t *v, int lo, int hi) {
    while (lo < hi) {
        int32_t pivot = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) { int32_t t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { sort(v, lo, j); lo = i; } else { sort(v, i, hi); hi = j; }
    }
}
EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t seed = 12345, check = 0;
    for (uint32_t r = 0; r < n; r++) {
        for (int i = 0; i < COUNT; i++) { seed = seed * 1103515245u + 12345u; data[i] = (int32_t)(seed >> 1); }
        sort(data, 0, COUNT - 1);
        check += (uint32_t)data[COUNT / 2] ^ (uint32_t)data[7];
    }
    return check;
}
