/* Indirect calls: dispatch through a table of function pointers (call_indirect). */
#include "kernel.h"
typedef uint32_t (*op_t)(uint32_t, uint32_t);
static NOINLINE uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static NOINLINE uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ (b * 3u); }
static NOINLINE uint32_t op_rot(uint32_t a, uint32_t b) { return (a << (b & 31)) | (a >> ((32 - b) & 31)); }
static NOINLINE uint32_t op_mul(uint32_t a, uint32_t b) { return a * (b | 1u); }
static op_t volatile ops[4] = { op_add, op_xor, op_rot, op_mul };
EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t x = 7;
    for (uint32_t i = 0; i < n; i++) x = ops[(x ^ i) & 3](x, i);
    return x;
}
