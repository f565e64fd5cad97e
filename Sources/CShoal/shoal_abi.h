// Offsets into the vmctx and the execution state that the C side relies on. RuntimeABI (Swift) is
// the definition; a test (ComponentTests, "C and Swift agree on the ABI") compares these with it
// through shoal_c_abi_offsets(). Offsets into C's own structs are checked here, at compile time.
#pragma once
#include <assert.h>
#include <stddef.h>
#include "shoal_fiber.h"

#define VMCTX_MEMORY_BASE 0
#define VMCTX_STACK_LIMIT 16
#define VMCTX_EXECUTION_STATE 24
#define VMCTX_REAL_STACK_LIMIT 56
#define VMCTX_FUEL 64
#define STATE_ENTRY_SP 0
#define STATE_TRAP_CODE 8
#define STATE_TRAP_PC 16
#define STATE_TRAP_FP 24
#define STATE_FIBER 32
#define STATE_FUEL_POLICY 40
#define STATE_BACKTRACE_COUNT 48

#define TRAP_OUT_OF_BOUNDS_MEMORY 5
#define TRAP_CALL_STACK_EXHAUSTED 10
#define TRAP_OUT_OF_FUEL 14
#define TRAP_INTERRUPTED 15

#define FIELD(base, offset, type) (*(type *)((char *)(base) + (offset)))

// The signal handler reads these fields of a fiber found through the execution state.
static_assert(offsetof(shoal_fiber, stack_guard_low) % 8 == 0, "shoal_fiber.stack_guard_low is a word");
static_assert(sizeof(void *) == 8 && sizeof(uint64_t) == 8, "x86-64 only");
