/* br_table: a small bytecode interpreter whose dispatch is a dense switch. */
#include "kernel.h"
enum { PUSH, ADD, SUB, MUL, DUP, SWAP, JNZ, DEC, DROP, HALT, XOR, SHL };
static const uint8_t program[] = {
    PUSH, 0, PUSH, 100, /* acc, counter */
    DUP, JNZ, 9, HALT, 0,
    /* 9: */ SWAP, PUSH, 3, MUL, PUSH, 1, ADD, PUSH, 5, XOR, SWAP, DEC, PUSH, 0, ADD, DUP, JNZ, 9, DROP, HALT
};
static NOINLINE uint32_t execute(uint32_t count) {
    uint32_t stack[16]; int sp = 0; uint32_t pc = 0;
    stack[sp++] = 0; stack[sp++] = count; pc = 4;
    for (;;) {
        uint8_t op = program[pc++];
        switch (op) {
        case PUSH: stack[sp++] = program[pc++]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case SHL: sp--; stack[sp - 1] <<= (stack[sp] & 31); break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case SWAP: { uint32_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
        case JNZ: { uint8_t target = program[pc++]; if (stack[--sp]) pc = target; break; }
        case DEC: stack[sp - 1]--; break;
        case DROP: sp--; break;
        case HALT: return stack[0];
        default: return 0xFFFFFFFFu;
        }
    }
}
EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++) total += execute(1000 + (i & 7));
    return total;
}
