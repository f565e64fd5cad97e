/* Hand-written SIMD (wasm_simd128.h): a 16-bucket histogram of a byte buffer (by high nibble).
 * Each bucket's count is kept in 16 byte lanes: compare all 16 lanes with the bucket number and
 * subtract the mask (-1 per match); the byte counters are widened into 32-bit totals every 255
 * blocks, before they can wrap. */
#include "simd_compat.h"
static uint8_t buffer[1 << 16];
static uint32_t totals[16];

static void flush(v128_t counts[16]) {
    for (int b = 0; b < 16; b++) {
        uint8_t lanes[16];
        wasm_v128_store(lanes, counts[b]);
        for (int i = 0; i < 16; i++) totals[b] += lanes[i];
        counts[b] = wasm_i8x16_splat(0);
    }
}

EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t x = 12345;
    for (uint32_t i = 0; i < sizeof buffer; i++) { x = x * 1103515245u + 12345u; buffer[i] = (uint8_t)(x >> 23); }
    for (int b = 0; b < 16; b++) totals[b] = 0;
    v128_t counts[16];
    for (int b = 0; b < 16; b++) counts[b] = wasm_i8x16_splat(0);
    for (uint32_t r = 0; r < n; r++) {
        int pending = 0;
        for (uint32_t i = 0; i < sizeof buffer; i += 16) {
            v128_t nibbles = wasm_u8x16_shr(wasm_v128_load(buffer + i), 4);
            for (int b = 0; b < 16; b++) counts[b] = wasm_i8x16_sub(counts[b], wasm_i8x16_eq(nibbles, wasm_i8x16_splat((int8_t)b)));
            if (++pending == 255) { flush(counts); pending = 0; }
        }
        flush(counts);
    }
    uint32_t checksum = 0;
    for (int b = 0; b < 16; b++) checksum = checksum * 31u + totals[b];
    return checksum;
}
