/* Integer and table lookups: CRC-32 over a generated buffer. */
#include "kernel.h"
static uint32_t table[256];
static uint8_t buffer[65536];
EXPORT("run") uint32_t run(uint32_t n) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    for (uint32_t i = 0; i < sizeof buffer; i++) buffer[i] = (uint8_t)(i * 31u + (i >> 7));
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t r = 0; r < n; r++)
        for (uint32_t i = 0; i < sizeof buffer; i++) crc = table[(crc ^ buffer[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}
