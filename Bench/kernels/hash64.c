/* 64-bit integer arithmetic: a multiply-xorshift hash chain with divisions. */
#include "kernel.h"
EXPORT("run") uint32_t run(uint32_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull, acc = 0;
    for (uint32_t i = 0; i < n; i++) {
        h ^= h >> 33; h *= 0xFF51AFD7ED558CCDull; h ^= h >> 29; h += i;
        acc += h % 1000003ull + (h >> 60) * (h / ((i | 1) + 0ull));
    }
    return (uint32_t)(acc ^ (acc >> 32));
}
