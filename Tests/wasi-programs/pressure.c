// Many values live across calls and deep expressions: the shape of code (compilers, image tools)
// that exposed generated code clobbering callee-saved registers that the entry relied on. The
// checksum is the same natively (gcc/clang on the host) and under any correct WebAssembly runtime.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static uint64_t mix(uint64_t a, uint64_t b) {
    return (a ^ (b >> 7)) * 0x9E3779B97F4A7C15ull + (b << 3);
}

__attribute__((noinline)) static double blend(double a, double b, double c) { return a * 0.5 + b * 0.25 - c * 0.125; }

#define ROUND(x, y) x = mix(x, y)

int main(int argc, char **argv) {
    (void)argv;
    uint64_t v[24];
    for (int i = 0; i < 24; i++) v[i] = (uint64_t)argc * 1000003u + (uint64_t)i * 7919u;
    uint64_t a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
    uint64_t i0 = v[8], j = v[9], k = v[10], l = v[11], m = v[12], n = v[13], o = v[14], p = v[15];
    double x = 1.5, y = 2.25, z = -3.125, w = 0.0;
    for (int r = 0; r < 2000; r++) {
        ROUND(a, p); ROUND(b, a); ROUND(c, b); ROUND(d, c); ROUND(e, d); ROUND(f, e); ROUND(g, f); ROUND(h, g);
        ROUND(i0, h); ROUND(j, i0); ROUND(k, j); ROUND(l, k); ROUND(m, l); ROUND(n, m); ROUND(o, n); ROUND(p, o);
        // One expression with every value live and calls in the middle of it.
        uint64_t t = (a + b * c) ^ (d - e * f) ^ mix(g, h) ^ (i0 + j * k) ^ (l - m * n) ^ mix(o, p) ^
                     ((a ^ h) + (b ^ g) * (c ^ f) + mix(d ^ e, i0 ^ p) + (j ^ o) * (k ^ n) + (l ^ m));
        a ^= t >> 11;
        x = blend(x, y, z) + (double)(t & 0xFF) / 256.0;
        y = blend(y, z, x) - (double)((t >> 8) & 0xFF) / 512.0;
        z = blend(z, x, y) + w;
        w = x * y - z;
    }
    uint64_t sum = a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i0 ^ j ^ k ^ l ^ m ^ n ^ o ^ p;
    printf("%016llx %.6f\n", (unsigned long long)sum, x + y + z + w);
    return 0;
}
