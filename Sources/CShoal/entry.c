// Entering generated code: shoal_call_entry and its register canaries (see shoal_entry.h).
#define _GNU_SOURCE
#include "shoal_entry.h"
#include "shoal_report.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CANARY(n) "0x5A0E7C11A2700" #n "0"

// shoal_call_entry_checked(rdi trampoline, rsi vmctx, rdx code, rcx slots, r8 count, r9 report)
// Frame: the six callee-saved registers, the report pointer, then 16 bytes whose first 8 hold the
// control words from before the call (7 pushes + 16 keep rsp 16-byte aligned at the call). The
// caller's control words are put back afterwards whatever the callee did.
__asm__(
    ".text\n"
    ".globl shoal_call_entry_checked\n"
    ".type shoal_call_entry_checked, @function\n"
    "shoal_call_entry_checked:\n"
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  pushq %r9\n"
    "  subq $16, %rsp\n"
    "  stmxcsr (%rsp)\n"
    "  fnstcw 4(%rsp)\n"
    "  movq %rdi, %rax\n"
    "  movq %rsi, %rdi\n"
    "  movq %rdx, %rsi\n"
    "  movq %rcx, %rdx\n"
    "  movq %r8, %rcx\n"
    "  movabsq $" CANARY(1) ", %rbx\n"
    "  movabsq $" CANARY(2) ", %rbp\n"
    "  movabsq $" CANARY(3) ", %r12\n"
    "  movabsq $" CANARY(4) ", %r13\n"
    "  movabsq $" CANARY(5) ", %r14\n"
    "  movabsq $" CANARY(6) ", %r15\n"
    "  callq *%rax\n"
    "  movq 16(%rsp), %r9\n"
    "  movq %rbx, 0(%r9)\n"
    "  movq %rbp, 8(%r9)\n"
    "  movq %r12, 16(%r9)\n"
    "  movq %r13, 24(%r9)\n"
    "  movq %r14, 32(%r9)\n"
    "  movq %r15, 40(%r9)\n"
    "  movl (%rsp), %r10d\n"
    "  movl %r10d, 48(%r9)\n"
    "  movzwl 4(%rsp), %r10d\n"
    "  movl %r10d, 52(%r9)\n"
    "  stmxcsr 56(%r9)\n"
    "  movl $0, 60(%r9)\n"
    "  fnstcw 60(%r9)\n"
    "  ldmxcsr (%rsp)\n"
    "  fldcw 4(%rsp)\n"
    "  addq $24, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".size shoal_call_entry_checked, .-shoal_call_entry_checked\n"
    // The fake, broken trampoline for the canary's own test.
    ".globl shoal_test_clobbering_trampoline\n"
    ".type shoal_test_clobbering_trampoline, @function\n"
    "shoal_test_clobbering_trampoline:\n"
    "  movq $1, %rbx\n"
    "  movq $2, %r12\n"
    "  subq $8, %rsp\n"
    "  stmxcsr (%rsp)\n"
    "  orl $0x6000, (%rsp)\n"  // rounding: toward zero
    "  ldmxcsr (%rsp)\n"
    "  addq $8, %rsp\n"
    "  xorl %eax, %eax\n"
    "  ret\n"
    ".size shoal_test_clobbering_trampoline, .-shoal_test_clobbering_trampoline\n");

// MXCSR's control bits (rounding, flush-to-zero, denormals-are-zero, exception masks). Bits 0-5
// are sticky exception flags that any floating-point arithmetic may set: not part of the contract.
#define MXCSR_CONTROL 0xFFC0u

static const uint64_t canaries[6] = {0x5A0E7C11A27001ull * 16, 0x5A0E7C11A27002ull * 16, 0x5A0E7C11A27003ull * 16,
                                     0x5A0E7C11A27004ull * 16, 0x5A0E7C11A27005ull * 16, 0x5A0E7C11A27006ull * 16};

uint64_t shoal_entry_canary(int index) { return index >= 0 && index < 6 ? canaries[index] : 0; }

int shoal_entry_report_ok(const shoal_entry_report *r) {
    return r->rbx == canaries[0] && r->rbp == canaries[1] && r->r12 == canaries[2] && r->r13 == canaries[3] &&
           r->r14 == canaries[4] && r->r15 == canaries[5] &&
           (r->mxcsr_before & MXCSR_CONTROL) == (r->mxcsr_after & MXCSR_CONTROL) &&
           r->fcw_before == r->fcw_after;
}

static __thread shoal_entry_stats stats;
static __thread int violations_not_fatal;

shoal_entry_stats shoal_entry_thread_stats(void) { return stats; }
void shoal_entry_set_violations_fatal(int fatal) { violations_not_fatal = !fatal; }

static void put_report(const shoal_entry_report *r) {
    shoal_report_hex(" rbx=", r->rbx);
    shoal_report_hex(" rbp=", r->rbp);
    shoal_report_hex(" r12=", r->r12);
    shoal_report_hex(" r13=", r->r13);
    shoal_report_hex(" r14=", r->r14);
    shoal_report_hex(" r15=", r->r15);
    shoal_report_hex(" mxcsr=", r->mxcsr_before);
    shoal_report_hex("->", r->mxcsr_after);
    shoal_report_hex(" fcw=", r->fcw_before);
    shoal_report_hex("->", r->fcw_after);
    shoal_report("\n");
}

uint32_t shoal_call_entry(const void *trampoline, void *vmctx, const void *code, uint64_t *slots, intptr_t count) {
    shoal_entry_report report;
    uint32_t result = shoal_call_entry_checked(trampoline, vmctx, code, slots, count, &report);
    // The fiber may have moved to another thread while it ran: these are this thread's counters.
    stats.checked++;
    if (!shoal_entry_report_ok(&report)) {
        stats.violations++;
        if (!violations_not_fatal) {
            shoal_report("shoal: fatal: generated code did not preserve a callee-saved register or the MXCSR/x87 control "
                "words across an entry (a bug in Shoal's code generator):");
            put_report(&report);
            abort();
        }
    }
    return result;
}
