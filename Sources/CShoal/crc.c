// CRC-32C for artifact checksums. A checksum, not a MAC: it catches corruption (every single-byte
// change, every burst up to 32 bits); authenticity is the Ed25519 signature's job.
#include "shoal_crc.h"
#include <string.h>

static uint32_t table[256];
static int table_ready;

static void make_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    table_ready = 1;
}

static uint32_t crc_table(uint32_t crc, const uint8_t *p, size_t n) {
    if (!table_ready) make_table();  // idempotent: racing threads write the same values
    while (n--) crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

// Shifting a CRC register over n zero bytes is a multiplication by x^(8n) modulo the
// polynomial (reflected bit order), which lets three independent streams be combined.
#define POLY 0x82F63B78u
static uint32_t multmodp(uint32_t a, uint32_t b) {
    uint32_t m = (uint32_t)1 << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ POLY : b >> 1;
    }
    return p;
}

/// x^(8 * n) mod P: the factor that shifts a register over n bytes.
static uint32_t shift_factor(size_t n) {
    uint32_t x2k = (uint32_t)1 << 30;  // x^1
    for (int k = 0; k < 3; k++) x2k = multmodp(x2k, x2k);  // x^8
    uint32_t p = (uint32_t)1 << 31;  // x^0
    while (n) {
        if (n & 1) p = multmodp(x2k, p);
        x2k = multmodp(x2k, x2k);
        n >>= 1;
    }
    return p;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of 3 cycles and a throughput of 1: one stream waits on
// itself, three interleaved streams keep it busy. Blocks of 3 x 8 KiB are done as three streams
// and combined; the rest as one.
#define BLOCK 8192
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n) {
    static uint32_t block_shift;  // x^(8 * BLOCK) mod P; racing threads store the same value
    if (n >= 3 * BLOCK) {
        if (!block_shift) block_shift = shift_factor(BLOCK);
        while (n >= 3 * BLOCK) {
            uint64_t a = crc, b = 0, c = 0;
            for (size_t i = 0; i < BLOCK; i += 8) {
                uint64_t wa, wb, wc;
                memcpy(&wa, p + i, 8);
                memcpy(&wb, p + BLOCK + i, 8);
                memcpy(&wc, p + 2 * BLOCK + i, 8);
                a = __builtin_ia32_crc32di(a, wa);
                b = __builtin_ia32_crc32di(b, wb);
                c = __builtin_ia32_crc32di(c, wc);
            }
            crc = multmodp(block_shift, multmodp(block_shift, (uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)c;
            p += 3 * BLOCK;
            n -= 3 * BLOCK;
        }
    }
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

/// The table version, for CPUs without SSE4.2 and for tests.
uint32_t shoal_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    return ~crc_table(~crc, data, length);
}

uint32_t shoal_crc32c(uint32_t crc, const void *data, size_t length) {
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return ~crc_hw(crc, data, length);
#endif
    return ~crc_table(crc, data, length);
}
