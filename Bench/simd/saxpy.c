/* Auto-vectorized (plain C, -O2 -msimd128): single-precision a*x + y over arrays, then a
 * conversion to integers for the checksum. No fused multiply-add on either side
 * (-ffp-contract=off), so native and WebAssembly round identically. */
#include "../kernels/kernel.h"
#define N 8192
static float x[N], y[N];
static int32_t q[N];

static NOINLINE void saxpy(float a) { for (int i = 0; i < N; i++) y[i] = a * x[i] + y[i]; }
static NOINLINE void quantize(void) { for (int i = 0; i < N; i++) q[i] = (int32_t)(y[i] * 16.0f); }

EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t s = 3;
    for (int i = 0; i < N; i++) { s = s * 1103515245u + 12345u; x[i] = (float)(s >> 20) / 4096.0f - 0.5f; y[i] = 0; }
    uint32_t checksum = 0;
    for (uint32_t r = 0; r < n; r++) {
        saxpy(r & 1 ? 0.25f : -0.125f);
        quantize();
        checksum = checksum * 3u + (uint32_t)q[r % N];
    }
    for (int i = 0; i < N; i++) checksum += (uint32_t)q[i];
    return checksum;
}
