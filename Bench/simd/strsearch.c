/* Hand-written SIMD (wasm_simd128.h): counts a 4-byte needle in a text. Sixteen candidate
 * positions at a time are compared on the needle's first and last bytes (two compares, an and,
 * a bitmask); only positions where both match are checked in full. */
#include "simd_compat.h"
static uint8_t text[1 << 18];
static const uint8_t needle[4] = {'s', 'h', 'o', 'a'};

static uint32_t count(void) {
    const v128_t first = wasm_i8x16_splat((int8_t)needle[0]), last = wasm_i8x16_splat((int8_t)needle[3]);
    uint32_t found = 0;
    for (uint32_t i = 0; i + 16 + 3 <= sizeof text; i += 16) {
        v128_t a = wasm_i8x16_eq(wasm_v128_load(text + i), first);
        v128_t b = wasm_i8x16_eq(wasm_v128_load(text + i + 3), last);
        uint32_t mask = wasm_i8x16_bitmask(wasm_v128_and(a, b));
        while (mask) {
            uint32_t at = i + (uint32_t)__builtin_ctz(mask);
            if (text[at + 1] == needle[1] && text[at + 2] == needle[2]) found++;
            mask &= mask - 1;
        }
    }
    return found;
}

EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t x = 7, total = 0;
    for (uint32_t r = 0; r < n; r++) {
        /* A new text each round: letters from a small alphabet, so partial matches are common. */
        for (uint32_t i = 0; i < sizeof text; i++) { x = x * 1664525u + 1013904223u; text[i] = "shoa lt"[(x >> 24) % 7]; }
        total += count();
    }
    return total;
}
