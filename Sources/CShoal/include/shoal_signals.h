// The signal handler that turns planned faults in generated code into traps (see signals.c for
// which faults qualify), the registry of generated code it consults, and thread helpers.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// Installs the SIGSEGV/SIGBUS handler once per process (idempotent, thread-safe).
void shoal_install_signal_handlers(void);

/// What the handler knows of one loaded module's code.
typedef struct {
    uintptr_t start, end;          // [start, end): the whole module's code
    uintptr_t functions_start;     // function bodies start here; below are the stubs
    uintptr_t trap_exit;           // heap faults resume here (rsi = trap code, rdx = pc)
    uintptr_t entry_exit;          // stack faults resume here (eax = trap code): the entry
                                   // trampoline's common exit, which resets rsp to the entry
    const uint32_t *trap_sites;    // sorted offsets from `start` of instructions that may fault
    size_t trap_site_count;        // on the heap; owned by the registrant
    uint64_t heap_reservation;     // bytes from the memory base a heap fault may hit; 0 when the
                                   // code checks every access (bounded heaps)
} shoal_code_info;

/// Registers a module's code. Returns 0, or -1 if the range is malformed or memory is short.
int shoal_register_code(const shoal_code_info *info);
void shoal_unregister_code(uintptr_t start);

typedef enum {
    SHOAL_FAULT_FOREIGN = 0,   // not in generated code: someone else's fault
    SHOAL_FAULT_HEAP = 1,      // a planned heap access out of bounds: "out of bounds memory access"
    SHOAL_FAULT_STACK = 2,     // the guard below a fiber's stack: "call stack exhausted"
    SHOAL_FAULT_HOST_BUG = 3,  // anything else in generated code: abort
} shoal_fault_kind;

/// How the handler classifies a fault at `pc` touching `address` with `vmctx` in r14 (exposed
/// for tests; it reads the vmctx only for PCs in function bodies).
shoal_fault_kind shoal_classify_fault(uintptr_t pc, uintptr_t address, uintptr_t vmctx);

/// Gives the calling thread an alternate signal stack if it has none.
void shoal_ensure_alternate_signal_stack(void);

/// The calling thread's stack: [*low, *high).
int shoal_thread_stack_bounds(uintptr_t *low, uintptr_t *high);
