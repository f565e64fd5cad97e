// Built with -msimd128 -O3 (build.sh): the loops below are auto-vectorized to v128 code, and the
// second half uses wasm_simd128.h intrinsics checked against scalar references in the program
// itself. Prints checksums that match the same source built natively without the intrinsics
// part (`cc -O2 -DNO_INTRINSICS simd.c`), then "intrinsics ok" (or the first mismatch).
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#ifndef NO_INTRINSICS
#include <wasm_simd128.h>
#endif

#define N 1003

static uint8_t bytes_a[N], bytes_b[N], bytes_c[N];
static int16_t shorts_a[N], shorts_b[N], shorts_c[N];
static int32_t ints_a[N], ints_b[N], ints_c[N];
static int64_t longs_a[N], longs_c[N];
static float floats_a[N], floats_b[N], floats_c[N];
static double doubles_a[N], doubles_c[N];

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001B3ull; }

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static void fill(void) {
    for (int i = 0; i < N; i++) {
        uint64_t r = next();
        bytes_a[i] = (uint8_t)r;
        bytes_b[i] = (uint8_t)(r >> 8);
        shorts_a[i] = (int16_t)(r >> 16);
        shorts_b[i] = (int16_t)(r >> 32);
        ints_a[i] = (int32_t)r;
        ints_b[i] = (int32_t)(r >> 29);
        longs_a[i] = (int64_t)r;
        floats_a[i] = (float)((int32_t)(r >> 32)) / 65536.0f;
        floats_b[i] = (float)((int16_t)r) / 16.0f;
        doubles_a[i] = (double)(int64_t)r / 4294967296.0;
    }
}

static uint64_t vectorizable(void) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (int i = 0; i < N; i++) {
        unsigned s = bytes_a[i] + bytes_b[i];
        bytes_c[i] = s > 255 ? 255 : (uint8_t)s;                   // add_sat_u
    }
    for (int i = 0; i < N; i++) bytes_c[i] ^= (uint8_t)((bytes_a[i] + bytes_b[i] + 1) >> 1);  // avgr_u
    for (int i = 0; i < N; i++) shorts_c[i] = (int16_t)(shorts_a[i] * shorts_b[i] - (shorts_a[i] >> 3));
    for (int i = 0; i < N; i++) shorts_c[i] = shorts_c[i] < shorts_a[i] ? shorts_c[i] : shorts_a[i];
    for (int i = 0; i < N; i++) ints_c[i] = ints_a[i] * 7 + (ints_b[i] >> 5) - (int32_t)((uint32_t)ints_a[i] >> 11);
    for (int i = 0; i < N; i++) ints_c[i] = ints_c[i] > ints_b[i] ? ints_c[i] : ints_b[i];
    for (int i = 0; i < N; i++) ints_c[i] += shorts_a[i] * (int32_t)shorts_b[i];  // extend + mul
    for (int i = 0; i < N; i++) longs_c[i] = longs_a[i] * 3 + (longs_a[i] >> 7) + (int64_t)ints_a[i];
    for (int i = 0; i < N; i++) floats_c[i] = floats_a[i] * floats_b[i] + floats_a[i] / (fabsf(floats_b[i]) + 1.0f);
    for (int i = 0; i < N; i++) floats_c[i] = floorf(floats_c[i]) + sqrtf(fabsf(floats_a[i]));
    for (int i = 0; i < N; i++) doubles_c[i] = doubles_a[i] * 0.5 + (double)floats_a[i];
    for (int i = 0; i < N; i++) ints_c[i] ^= (int32_t)floats_b[i];  // trunc_sat (in range)
    int64_t sum = 0;
    for (int i = 0; i < N; i++) sum += ints_c[i];  // integer reductions vectorize
    uint32_t bytesum = 0;
    for (int i = 0; i < N; i++) bytesum += bytes_c[i];
    for (int i = 0; i < N; i++) {
        h = mix(h, bytes_c[i]);
        h = mix(h, (uint16_t)shorts_c[i]);
        h = mix(h, (uint32_t)ints_c[i]);
        h = mix(h, (uint64_t)longs_c[i]);
        uint32_t fb;
        memcpy(&fb, &floats_c[i], 4);
        h = mix(h, fb);
        uint64_t db;
        memcpy(&db, &doubles_c[i], 8);
        h = mix(h, db);
    }
    h = mix(h, (uint64_t)sum);
    return mix(h, bytesum);
}

#ifndef NO_INTRINSICS
static int failures = 0;
#define CHECK(cond, what) do { if (!(cond) && failures++ == 0) printf("mismatch: %s\n", what); } while (0)

static void intrinsics(void) {
    for (int i = 0; i + 16 <= N; i += 16) {
        v128_t a = wasm_v128_load(&bytes_a[i]), b = wasm_v128_load(&bytes_b[i]);
        uint8_t out[16];
        wasm_v128_store(out, wasm_i8x16_sub_sat(a, b));
        for (int k = 0; k < 16; k++) {
            int8_t x = (int8_t)bytes_a[i + k], y = (int8_t)bytes_b[i + k];
            int d = x - y;
            CHECK((int8_t)out[k] == (d > 127 ? 127 : d < -128 ? -128 : d), "i8x16.sub_sat_s");
        }
        wasm_v128_store(out, wasm_i8x16_shuffle(a, b, 15, 16, 3, 31, 0, 1, 2, 17, 8, 9, 30, 4, 5, 6, 7, 20));
        CHECK(out[0] == bytes_a[i + 15] && out[1] == bytes_b[i] && out[3] == bytes_b[i + 15] && out[15] == bytes_b[i + 4], "i8x16.shuffle");
        wasm_v128_store(out, wasm_i8x16_swizzle(a, wasm_v128_and(b, wasm_i8x16_splat(0x1F))));
        for (int k = 0; k < 16; k++) {
            int j = bytes_b[i + k] & 0x1F;
            CHECK(out[k] == (j < 16 ? bytes_a[i + j] : 0), "i8x16.swizzle");
        }
        CHECK((uint32_t)wasm_i8x16_bitmask(a) == ({ uint32_t m = 0; for (int k = 0; k < 16; k++) m |= (uint32_t)(bytes_a[i + k] >> 7) << k; m; }), "i8x16.bitmask");
        wasm_v128_store(out, wasm_i8x16_popcnt(a));
        for (int k = 0; k < 16; k++) CHECK(out[k] == __builtin_popcount(bytes_a[i + k]), "i8x16.popcnt");
    }
    for (int i = 0; i + 4 <= N; i += 4) {
        v128_t f = wasm_v128_load(&floats_a[i]), g = wasm_v128_load(&floats_b[i]);
        float out[4];
        int32_t iout[4];
        wasm_v128_store(out, wasm_f32x4_min(f, g));
        for (int k = 0; k < 4; k++) CHECK(out[k] == fminf(floats_a[i + k], floats_b[i + k]), "f32x4.min");
        wasm_v128_store(out, wasm_f32x4_nearest(wasm_f32x4_mul(f, wasm_f32x4_splat(0.001f))));
        for (int k = 0; k < 4; k++) CHECK(out[k] == nearbyintf(floats_a[i + k] * 0.001f), "f32x4.nearest");
        wasm_v128_store(iout, wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_mul(f, wasm_f32x4_splat(1e6f))));
        for (int k = 0; k < 4; k++) {
            float x = floats_a[i + k] * 1e6f;
            int32_t e = x >= 2147483648.0f ? INT32_MAX : x < -2147483648.0f ? INT32_MIN : (int32_t)x;
            CHECK(iout[k] == e, "i32x4.trunc_sat_f32x4_s");
        }
        v128_t s = wasm_v128_load(&shorts_a[i * 2 < N - 8 ? i * 2 : 0]);
        v128_t t = wasm_v128_load(&shorts_b[i * 2 < N - 8 ? i * 2 : 0]);
        wasm_v128_store(iout, wasm_i32x4_dot_i16x8(s, t));
        int base = i * 2 < N - 8 ? i * 2 : 0;
        for (int k = 0; k < 4; k++)
            CHECK(iout[k] == shorts_a[base + 2 * k] * shorts_b[base + 2 * k] + shorts_a[base + 2 * k + 1] * shorts_b[base + 2 * k + 1],
                  "i32x4.dot_i16x8_s");
        int16_t sout[8];
        wasm_v128_store(sout, wasm_i16x8_q15mulr_sat(s, t));
        for (int k = 0; k < 8; k++) {
            int32_t p = (shorts_a[base + k] * shorts_b[base + k] + 0x4000) >> 15;
            CHECK(sout[k] == (p > 32767 ? 32767 : p), "i16x8.q15mulr_sat_s");
        }
    }
    for (int i = 0; i + 2 <= N; i += 2) {
        v128_t x = wasm_v128_load(&longs_a[i]);
        int64_t out[2];
        wasm_v128_store(out, wasm_i64x2_mul(x, wasm_i64x2_shr(x, 3)));
        for (int k = 0; k < 2; k++) CHECK(out[k] == (int64_t)((uint64_t)longs_a[i + k] * (uint64_t)(longs_a[i + k] >> 3)), "i64x2.mul/shr_s");
        wasm_v128_store(out, wasm_i64x2_gt(x, wasm_i64x2_splat(longs_a[0])));
        for (int k = 0; k < 2; k++) CHECK(out[k] == (longs_a[i + k] > longs_a[0] ? -1 : 0), "i64x2.gt_s");
        double d[2];
        wasm_v128_store(d, wasm_f64x2_convert_low_u32x4(x));
        CHECK(d[0] == (double)(uint32_t)longs_a[i] && d[1] == (double)(uint32_t)(longs_a[i] >> 32), "f64x2.convert_low_i32x4_u");
    }
    printf(failures ? "intrinsics: %d mismatches\n" : "intrinsics ok\n", failures);
}
#endif

int main(void) {
    fill();
    printf("%016llx\n", (unsigned long long)vectorizable());
#ifndef NO_INTRINSICS
    intrinsics();
#endif
    return 0;
}
