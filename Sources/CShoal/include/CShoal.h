// The only C in Shoal: what Swift cannot do safely or at all. A process-wide signal handler that
// turns faults in generated code into traps, the registry of code ranges it consults, and small
// thread helpers. Everything the handler touches is async-signal-safe.
#pragma once
#include <stdint.h>

/// Installs the SIGSEGV/SIGBUS handler once per process (idempotent, thread-safe).
void shoal_install_signal_handlers(void);

/// Registers [start, end) as generated code whose faults go to `trap_exit` (with the trap code in
/// rsi and the faulting PC in rdx). Returns 0, or -1 if the registry is full.
int shoal_register_code(uintptr_t start, uintptr_t end, uintptr_t trap_exit);
void shoal_unregister_code(uintptr_t start);

/// Gives the calling thread an alternate signal stack if it has none.
void shoal_ensure_alternate_signal_stack(void);

/// The calling thread's stack: [*low, *high).
int shoal_thread_stack_bounds(uintptr_t *low, uintptr_t *high);

/// Calls a module's entry trampoline: (vmctx, code, slots, count) -> trap code (0 = returned).
uint32_t shoal_call_entry(const void *trampoline, void *vmctx, const void *code, uint64_t *slots, intptr_t count);
