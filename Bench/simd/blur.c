/* Auto-vectorized (plain C, -O2 -msimd128): a 3x3 box blur of an 8-bit grey image, the sums in
 * 16 bits, the division by 9 as a multiply and shift. */
#include "../kernels/kernel.h"
#define W 1024
#define H 512
static uint8_t image[H][W], out[H][W];

static NOINLINE void blur(void) {
    static uint16_t rows[W];
    for (int y = 1; y < H - 1; y++) {
        for (int x = 0; x < W; x++) rows[x] = (uint16_t)(image[y - 1][x] + image[y][x] + image[y + 1][x]);
        for (int x = 1; x < W - 1; x++) out[y][x] = (uint8_t)(((uint32_t)(rows[x - 1] + rows[x] + rows[x + 1]) * 7282u) >> 16);
    }
}

EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t s = 1;
    for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) { s = s * 1103515245u + 12345u; image[y][x] = (uint8_t)(s >> 24); }
    uint32_t checksum = 0;
    for (uint32_t r = 0; r < n; r++) {
        blur();
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) image[y][x] = out[y][x] ^ (uint8_t)r;
        checksum = checksum * 31u + out[H / 2][W / 2] + out[1][1];
    }
    for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) checksum += out[y][x];
    return checksum;
}
