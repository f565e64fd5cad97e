/* Direct calls: many small non-inlined functions with several arguments. */
#include "kernel.h"
static NOINLINE uint32_t mix(uint32_t a, uint32_t b, uint32_t c) { return (a ^ (b << 3)) + c * 7u; }
static NOINLINE uint32_t step(uint32_t x, uint32_t i) { return mix(x, i, x >> 5) ^ mix(i, x, 3u); }
EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t x = 1;
    for (uint32_t i = 0; i < n; i++) x = step(x, i);
    return x;
}
