// Entering generated code, with the calling convention checked on the way out.
#pragma once
#include <stdint.h>

/// What the callee-saved state looked like after an entry returned. The entry loads a known
/// canary into each of rbx, rbp and r12-r15 before calling the trampoline; any other value
/// afterwards means generated code (or a stub) broke the System V convention.
typedef struct {
    uint64_t rbx, rbp, r12, r13, r14, r15;
    uint32_t mxcsr_before, fcw_before;  // fcw: x87 control word, zero-extended
    uint32_t mxcsr_after, fcw_after;
} shoal_entry_report;

/// The canary loaded into register `index` (0 = rbx, 1 = rbp, 2..5 = r12..r15).
uint64_t shoal_entry_canary(int index);

/// Whether a report shows every callee-saved register and control word intact.
int shoal_entry_report_ok(const shoal_entry_report *report);

/// Calls a module's entry trampoline `(vmctx, code, slots, count) -> trap code` with canaries in
/// the callee-saved registers, and fills `report`.
uint32_t shoal_call_entry_checked(const void *trampoline, void *vmctx, const void *code, uint64_t *slots,
                                  intptr_t count, shoal_entry_report *report);

/// Calls a module's entry trampoline: (vmctx, code, slots, count) -> trap code (0 = returned).
/// Every call is checked as above; a broken convention is a host memory-safety bug, so it is
/// reported on stderr and the process aborts — unless the calling thread asked to count
/// violations instead (tests).
uint32_t shoal_call_entry(const void *trampoline, void *vmctx, const void *code, uint64_t *slots, intptr_t count);

/// Per-thread counters of checked entries and of violations, and whether a violation aborts.
typedef struct {
    uint64_t checked, violations;
} shoal_entry_stats;
shoal_entry_stats shoal_entry_thread_stats(void);
void shoal_entry_set_violations_fatal(int fatal);

/// Test support: a fake trampoline that returns 0 after overwriting rbx, r12 and MXCSR's rounding
/// mode — what the canary check must catch.
uint32_t shoal_test_clobbering_trampoline(void *vmctx, const void *code, uint64_t *slots, intptr_t count);
