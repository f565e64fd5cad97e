// Fibers and stack limits.
#pragma once
#include <stdint.h>

// // A fiber is a stack of its own on which an instance runs, so that it can stop part-way (yield,
// run out of fuel, park in a host call) and be resumed later, on any thread. A switch saves only
// the callee-saved registers (rbx, rbp, r12-r15), the stack pointer and the MXCSR / x87 control
// words: it happens at a call, where everything else is dead.

/// Why a fiber last returned control to its host.
enum {
    SHOAL_FIBER_RUNNING = 0,
    SHOAL_FIBER_YIELDED = 1,
    SHOAL_FIBER_OUT_OF_FUEL = 2,
    SHOAL_FIBER_PARKED = 3,
    SHOAL_FIBER_FINISHED = 4,
};

typedef struct shoal_fiber {
    void *host_sp;         // the host's saved context while the fiber runs
    void *fiber_sp;        // the fiber's saved context while the host runs
    void *state;           // the store's execution state (RuntimeABI.ExecutionStateLayout)
    uint64_t entry_sp;     // the fiber's own ExecutionState.entrySP while it is switched out
    uint32_t status;       // SHOAL_FIBER_*
    void *owner;           // the Swift Execution running on this fiber (unretained)
    uint32_t cancelling;   // set before a final resume: yield points then trap ("interrupted"),
                           // so the fiber unwinds normally and releases what its frames hold
    uintptr_t stack_guard_low;   // [stack_guard_low, stack_guard_high): the unmapped guard below the fiber's stack,
    uintptr_t stack_guard_high;  // or 0, 0. A fault there in generated code is "call stack exhausted".
} shoal_fiber;

/// Saves the current context on the current stack and its stack pointer in *save, then continues
/// the context saved at `to`.
void shoal_fiber_switch(void **save, void *to);

/// Prepares a new stack (16-byte aligned top) so that the first switch to the returned pointer
/// calls entry(arg). `entry` must never return: it ends by suspending with SHOAL_FIBER_FINISHED.
void *shoal_fiber_prepare(void *stack_top, void (*entry)(void *), void *arg);

/// Host side: runs the fiber until it suspends. Swaps the execution state's entry stack pointer
/// and current-fiber fields so that fibers of one store can be suspended at the same time.
void shoal_fiber_resume(shoal_fiber *fiber);

/// Fiber side: records `status` and switches back to the host.
void shoal_fiber_suspend(shoal_fiber *fiber, uint32_t status);

/// The fiber running on the calling thread's current stack (from the execution state), or NULL.
shoal_fiber *shoal_current_fiber(void *vmctx);

/// Builtins called by generated code (see RuntimeABI.Builtin.yield / .outOfFuel).
uint32_t shoal_builtin_yield(void *vmctx);
uint32_t shoal_builtin_out_of_fuel(void *vmctx);

/// Asks code running with this vmctx to yield at its next function entry or loop header. Safe to
/// call from any thread.
void shoal_request_yield(void *vmctx);

/// The vmctx and execution-state offsets the C side relies on, for a test to compare with RuntimeABI.
typedef struct {
    intptr_t stack_limit, execution_state, real_stack_limit, fuel, state_entry_sp, state_fiber, state_fuel_policy;
    intptr_t memory_base, state_trap_code, state_trap_pc, state_trap_fp, state_backtrace_count;
    intptr_t trap_out_of_bounds_memory, trap_call_stack_exhausted, trap_out_of_fuel, trap_interrupted;
} shoal_abi_offsets;
shoal_abi_offsets shoal_c_abi_offsets(void);

/// Sets the vmctx's real stack limit and its checked limit — unless a yield request is pending
/// (the checked limit is at its maximum), which it keeps. Safe against concurrent requests.
void shoal_set_stack_limit(void *vmctx, uint64_t limit);

/// Drops a pending yield request: the checked limit goes back to the real one.
void shoal_clear_yield_request(void *vmctx);

