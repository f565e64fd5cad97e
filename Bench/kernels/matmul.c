/* Floating point: dense double-precision matrix multiply. */
#include "kernel.h"
#define N 128
static double a[N][N], b[N][N], c[N][N];
EXPORT("run") uint32_t run(uint32_t n) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { a[i][j] = (double)(i + j) * 0.5; b[i][j] = (double)(i - j) * 0.25; }
    double sum = 0;
    for (uint32_t r = 0; r < n; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
                c[i][j] = s;
            }
        sum += c[r % N][(r * 7) % N];
        a[r % N][r % N] += 1.0;
    }
    return (uint32_t)(int64_t)sum;
}
