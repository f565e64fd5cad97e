/* The few wasm_simd128.h intrinsics the hand-written kernels use. Under wasm32 they are clang's
 * own; natively (x86-64 with SSE4.1) each is mapped to the SSE instruction that does the same
 * thing, so one source gives both the WebAssembly kernel and its native baseline. */
#ifndef SHOAL_SIMD_COMPAT_H
#define SHOAL_SIMD_COMPAT_H
#include "../kernels/kernel.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#else
#include <smmintrin.h>
typedef __m128i v128_t;
static inline v128_t wasm_v128_load(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
static inline void wasm_v128_store(void *p, v128_t v) { _mm_storeu_si128((__m128i *)p, v); }
static inline v128_t wasm_i8x16_splat(int8_t x) { return _mm_set1_epi8(x); }
static inline v128_t wasm_i16x8_splat(int16_t x) { return _mm_set1_epi16(x); }
static inline v128_t wasm_i32x4_splat(int32_t x) { return _mm_set1_epi32(x); }
static inline v128_t wasm_i8x16_eq(v128_t a, v128_t b) { return _mm_cmpeq_epi8(a, b); }
static inline v128_t wasm_i8x16_sub(v128_t a, v128_t b) { return _mm_sub_epi8(a, b); }
static inline v128_t wasm_i16x8_add(v128_t a, v128_t b) { return _mm_add_epi16(a, b); }
static inline v128_t wasm_i32x4_add(v128_t a, v128_t b) { return _mm_add_epi32(a, b); }
static inline v128_t wasm_v128_and(v128_t a, v128_t b) { return _mm_and_si128(a, b); }
static inline v128_t wasm_u8x16_shr(v128_t a, uint32_t n) { return _mm_and_si128(_mm_srli_epi16(a, n), _mm_set1_epi8((char)(0xFF >> n))); }
static inline uint32_t wasm_i8x16_bitmask(v128_t a) { return (uint32_t)_mm_movemask_epi8(a); }
static inline v128_t wasm_i32x4_dot_i16x8(v128_t a, v128_t b) { return _mm_madd_epi16(a, b); }
static inline v128_t wasm_u16x8_extend_low_u8x16(v128_t a) { return _mm_cvtepu8_epi16(a); }
static inline v128_t wasm_u16x8_extend_high_u8x16(v128_t a) { return _mm_cvtepu8_epi16(_mm_srli_si128(a, 8)); }
static inline v128_t wasm_u8x16_avgr(v128_t a, v128_t b) { return _mm_avg_epu8(a, b); }
static inline int32_t wasm_i32x4_extract_lane(v128_t a, int i) {
    switch (i) { case 0: return _mm_extract_epi32(a, 0); case 1: return _mm_extract_epi32(a, 1);
                 case 2: return _mm_extract_epi32(a, 2); default: return _mm_extract_epi32(a, 3); }
}
#endif
#endif
