// Fibers: stack switching, the yield and fuel builtins, and stack limits (see shoal_fiber.h).
#define _GNU_SOURCE
#include "shoal_abi.h"
#include "shoal_fiber.h"

#include <stdint.h>

shoal_abi_offsets shoal_c_abi_offsets(void) {
    return (shoal_abi_offsets){VMCTX_STACK_LIMIT, VMCTX_EXECUTION_STATE, VMCTX_REAL_STACK_LIMIT, VMCTX_FUEL,
                               STATE_ENTRY_SP, STATE_FIBER, STATE_FUEL_POLICY, VMCTX_MEMORY_BASE, STATE_TRAP_CODE,
                               STATE_TRAP_PC, STATE_TRAP_FP, STATE_BACKTRACE_COUNT, TRAP_OUT_OF_BOUNDS_MEMORY,
                               TRAP_CALL_STACK_EXHAUSTED, TRAP_OUT_OF_FUEL, TRAP_INTERRUPTED};
}

__asm__(
    ".text\n"
    ".globl shoal_fiber_switch\n"
    ".type shoal_fiber_switch, @function\n"
    "shoal_fiber_switch:\n"          // rdi = save, rsi = to
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  subq $8, %rsp\n"
    "  stmxcsr (%rsp)\n"
    "  fnstcw 4(%rsp)\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  ldmxcsr (%rsp)\n"
    "  fldcw 4(%rsp)\n"
    "  addq $8, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".size shoal_fiber_switch, .-shoal_fiber_switch\n"
    // First code run on a new fiber: entry (r12) called with arg (r13); entry never returns.
    ".globl shoal_fiber_start\n"
    ".type shoal_fiber_start, @function\n"
    "shoal_fiber_start:\n"
    "  movq %r13, %rdi\n"
    "  callq *%r12\n"
    "  ud2\n"
    ".size shoal_fiber_start, .-shoal_fiber_start\n");

extern void shoal_fiber_start(void);

void *shoal_fiber_prepare(void *stack_top, void (*entry)(void *), void *arg) {
    uint64_t *top = (uint64_t *)((uintptr_t)stack_top & ~(uintptr_t)15);
    // The frame shoal_fiber_switch pops, from its saved stack pointer upwards. After `ret` into
    // shoal_fiber_start, rsp = top: 16-byte aligned for its call.
    top[-1] = (uint64_t)(uintptr_t)shoal_fiber_start;  // return address
    top[-2] = 0;                                      // rbp
    top[-3] = 0;                                      // rbx
    top[-4] = (uint64_t)(uintptr_t)entry;             // r12
    top[-5] = (uint64_t)(uintptr_t)arg;               // r13
    top[-6] = 0;                                      // r14
    top[-7] = 0;                                      // r15
    uint32_t *control = (uint32_t *)&top[-8];
    control[0] = 0x1F80;                              // MXCSR: all exceptions masked, round to nearest
    control[1] = 0x037F;                              // x87 control word: the default
    return &top[-8];
}

void shoal_fiber_resume(shoal_fiber *fiber) {
    void *state = fiber->state;
    void *previous_fiber = FIELD(state, STATE_FIBER, void *);
    uint64_t host_entry_sp = FIELD(state, STATE_ENTRY_SP, uint64_t);
    FIELD(state, STATE_FIBER, void *) = fiber;
    FIELD(state, STATE_ENTRY_SP, uint64_t) = fiber->entry_sp;
    fiber->status = SHOAL_FIBER_RUNNING;
    shoal_fiber_switch(&fiber->host_sp, fiber->fiber_sp);
    fiber->entry_sp = FIELD(state, STATE_ENTRY_SP, uint64_t);
    FIELD(state, STATE_ENTRY_SP, uint64_t) = host_entry_sp;
    FIELD(state, STATE_FIBER, void *) = previous_fiber;
}

void shoal_fiber_suspend(shoal_fiber *fiber, uint32_t status) {
    fiber->status = status;
    shoal_fiber_switch(&fiber->fiber_sp, fiber->host_sp);
}

shoal_fiber *shoal_current_fiber(void *vmctx) {
    void *state = FIELD(vmctx, VMCTX_EXECUTION_STATE, void *);
    return FIELD(state, STATE_FIBER, shoal_fiber *);
}

uint32_t shoal_builtin_yield(void *vmctx) {
    // The request has been seen: put the real limit back before anything else runs.
    __atomic_store_n(&FIELD(vmctx, VMCTX_STACK_LIMIT, uint64_t), FIELD(vmctx, VMCTX_REAL_STACK_LIMIT, uint64_t),
                     __ATOMIC_RELAXED);
    shoal_fiber *fiber = shoal_current_fiber(vmctx);
    if (!fiber || fiber->cancelling) return TRAP_INTERRUPTED;
    shoal_fiber_suspend(fiber, SHOAL_FIBER_YIELDED);
    return fiber->cancelling ? TRAP_INTERRUPTED : 0;
}

uint32_t shoal_builtin_out_of_fuel(void *vmctx) {
    void *state = FIELD(vmctx, VMCTX_EXECUTION_STATE, void *);
    shoal_fiber *fiber = FIELD(state, STATE_FIBER, shoal_fiber *);
    if (!fiber || FIELD(state, STATE_FUEL_POLICY, uint64_t) == 0) return TRAP_OUT_OF_FUEL;
    if (fiber->cancelling) return TRAP_INTERRUPTED;
    shoal_fiber_suspend(fiber, SHOAL_FIBER_OUT_OF_FUEL);
    return fiber->cancelling ? TRAP_INTERRUPTED : 0;
}

void shoal_request_yield(void *vmctx) {
    __atomic_store_n(&FIELD(vmctx, VMCTX_STACK_LIMIT, uint64_t), UINT64_MAX, __ATOMIC_RELAXED);
}

void shoal_set_stack_limit(void *vmctx, uint64_t limit) {
    FIELD(vmctx, VMCTX_REAL_STACK_LIMIT, uint64_t) = limit;
    uint64_t *checked = &FIELD(vmctx, VMCTX_STACK_LIMIT, uint64_t);
    uint64_t current = __atomic_load_n(checked, __ATOMIC_RELAXED);
    while (current != UINT64_MAX &&
           !__atomic_compare_exchange_n(checked, &current, limit, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

void shoal_clear_yield_request(void *vmctx) {
    __atomic_store_n(&FIELD(vmctx, VMCTX_STACK_LIMIT, uint64_t), FIELD(vmctx, VMCTX_REAL_STACK_LIMIT, uint64_t),
                     __ATOMIC_RELAXED);
}
