/* Hand-written SIMD (wasm_simd128.h): dot products of 16-bit vectors with 32-bit sums
 * (i32x4.dot_i16x8_s; pmaddwd natively), as in fixed-point filters. */
#include "simd_compat.h"
static int16_t a[4096], b[4096];

EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t x = 99;
    for (int i = 0; i < 4096; i++) {
        x = x * 1103515245u + 12345u; a[i] = (int16_t)(x >> 16);
        x = x * 1103515245u + 12345u; b[i] = (int16_t)(x >> 16);
    }
    uint32_t checksum = 0;
    for (uint32_t r = 0; r < n; r++) {
        v128_t sum = wasm_i32x4_splat(0);
        for (int i = 0; i < 4096; i += 8)
            sum = wasm_i32x4_add(sum, wasm_i32x4_dot_i16x8(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        uint32_t s = (uint32_t)wasm_i32x4_extract_lane(sum, 0) + (uint32_t)wasm_i32x4_extract_lane(sum, 1) +
                     (uint32_t)wasm_i32x4_extract_lane(sum, 2) + (uint32_t)wasm_i32x4_extract_lane(sum, 3);
        checksum = checksum * 17u + s;
        a[r & 4095] = (int16_t)s;  /* the next round differs */
    }
    return checksum;
}
