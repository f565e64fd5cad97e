// The process-wide SIGSEGV/SIGBUS handler and the registry of generated code it consults.
//
// A fault becomes a WebAssembly trap only when it is one that the compiler planned for:
//   - a heap fault: the PC is a recorded memory-access site of a function (the module's trap-site
//     table) and the fault address lies in the faulting instance's heap reservation (guarded
//     heaps only; bounded code checks every access and never faults on the heap);
//   - a stack fault: the PC is in a function body and the address is in the guard below the
//     running fiber's stack ("call stack exhausted"; the software checks should catch every
//     overflow first, so this is defence in depth).
// Any other fault with the PC in generated code (the trampolines, the trap exit, an unlisted
// instruction, a wild address) is a host bug: it is reported on stderr and the process aborts.
// Faults outside generated code go to the previous handler, or end the process as they would
// have without Shoal. Nothing here allocates, locks or loops: it is async-signal-safe.
#define _GNU_SOURCE
#include "shoal_abi.h"
#include "shoal_signals.h"
#include "shoal_report.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

// MARK: Code-range registry
//
// The handler reads an immutable sorted array through an atomic pointer. Writers (under a mutex)
// build a new array and publish it; the old one is retired to a list and never freed, because a
// handler on another thread may still be reading it. Registrations happen once per loaded module,
// so the retired arrays stay small. The trap-site arrays belong to the registrant, which frees
// them only after unregistering, when no code of theirs can run (and so none can fault).

typedef struct {
    size_t count;
    shoal_code_info ranges[];
} range_table;

static _Atomic(range_table *) current_table = NULL;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static range_table *copy_table(const range_table *old, size_t extra) {
    size_t count = old ? old->count : 0;
    range_table *t = malloc(sizeof(range_table) + sizeof(shoal_code_info) * (count + extra));
    if (!t) return NULL;
    t->count = count;
    if (count) memcpy(t->ranges, old->ranges, sizeof(shoal_code_info) * count);
    return t;
}

int shoal_register_code(const shoal_code_info *info) {
    if (info->start >= info->end || info->functions_start < info->start || info->functions_start > info->end) return -1;
    pthread_mutex_lock(&registry_lock);
    range_table *old = atomic_load(&current_table);
    range_table *t = copy_table(old, 1);
    if (!t) {
        pthread_mutex_unlock(&registry_lock);
        return -1;
    }
    size_t i = t->count;
    while (i > 0 && t->ranges[i - 1].start > info->start) {
        t->ranges[i] = t->ranges[i - 1];
        i--;
    }
    t->ranges[i] = *info;
    t->count++;
    atomic_store(&current_table, t);  // the old table is retired, never freed (see above)
    pthread_mutex_unlock(&registry_lock);
    return 0;
}

void shoal_unregister_code(uintptr_t start) {
    pthread_mutex_lock(&registry_lock);
    range_table *old = atomic_load(&current_table);
    range_table *t = copy_table(old, 0);
    if (t) {
        size_t j = 0;
        for (size_t i = 0; i < t->count; i++)
            if (t->ranges[i].start != start) t->ranges[j++] = t->ranges[i];
        t->count = j;
        atomic_store(&current_table, t);
    }
    pthread_mutex_unlock(&registry_lock);
}

static const shoal_code_info *lookup(uintptr_t pc) {
    range_table *t = atomic_load(&current_table);
    if (!t) return NULL;
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->ranges[mid].end <= pc) lo = mid + 1;
        else hi = mid;
    }
    if (lo < t->count && t->ranges[lo].start <= pc && pc < t->ranges[lo].end) return &t->ranges[lo];
    return NULL;
}

static int is_trap_site(const shoal_code_info *range, uintptr_t pc) {
    uint64_t offset = pc - range->start;
    size_t lo = 0, hi = range->trap_site_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (range->trap_sites[mid] < offset) lo = mid + 1;
        else hi = mid;
    }
    return lo < range->trap_site_count && range->trap_sites[lo] == offset;
}

shoal_fault_kind shoal_classify_fault(uintptr_t pc, uintptr_t address, uintptr_t vmctx) {
    const shoal_code_info *range = lookup(pc);
    if (!range) return SHOAL_FAULT_FOREIGN;
    if (pc < range->functions_start || vmctx == 0 || vmctx % 8 != 0) return SHOAL_FAULT_HOST_BUG;
    if (range->heap_reservation && is_trap_site(range, pc)) {
        uintptr_t base = FIELD(vmctx, VMCTX_MEMORY_BASE, uintptr_t);
        if (base != 0 && address >= base && address - base < range->heap_reservation) return SHOAL_FAULT_HEAP;
    }
    void *state = FIELD(vmctx, VMCTX_EXECUTION_STATE, void *);
    shoal_fiber *fiber = state ? FIELD(state, STATE_FIBER, shoal_fiber *) : NULL;
    if (fiber && address >= fiber->stack_guard_low && address < fiber->stack_guard_high) return SHOAL_FAULT_STACK;
    return SHOAL_FAULT_HOST_BUG;
}

// MARK: Signal handler

static struct sigaction previous_segv, previous_bus;

static void chain(int sig, siginfo_t *info, void *context) {
    struct sigaction *previous = sig == SIGSEGV ? &previous_segv : &previous_bus;
    // sa_handler and sa_sigaction share storage: test for the two dispositions first, since a
    // previous SIG_DFL may well carry SA_SIGINFO in its flags.
    if (previous->sa_handler == SIG_DFL || previous->sa_handler == SIG_IGN) {
        // Restore the default action and return: the fault happens again and ends the process
        // as it would have without Shoal. (sigaction is async-signal-safe.)
        struct sigaction fallback;
        memset(&fallback, 0, sizeof fallback);
        fallback.sa_handler = SIG_DFL;
        sigemptyset(&fallback.sa_mask);
        sigaction(sig, &fallback, NULL);
    } else if (previous->sa_flags & SA_SIGINFO) {
        previous->sa_sigaction(sig, info, context);
    } else {
        previous->sa_handler(sig);
    }
}


static void fatal(int sig, uintptr_t pc, uintptr_t address) {
    shoal_report(sig == SIGBUS ? "shoal: fatal: SIGBUS" : "shoal: fatal: SIGSEGV");
    shoal_report_hex(" in generated code that is not a WebAssembly trap (a bug in Shoal, not in the guest): pc ", pc);
    shoal_report_hex(", address ", address);
    shoal_report("\n");
    abort();
}

static void handler(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    greg_t *registers = uc->uc_mcontext.gregs;
    uintptr_t pc = (uintptr_t)registers[REG_RIP];
    uintptr_t address = (uintptr_t)info->si_addr;
    uintptr_t vmctx = (uintptr_t)registers[REG_R14];  // pinned in every function body
    switch (shoal_classify_fault(pc, address, vmctx)) {
    case SHOAL_FAULT_FOREIGN:
        chain(sig, info, context);
        return;
    case SHOAL_FAULT_HEAP: {
        const shoal_code_info *range = lookup(pc);
        registers[REG_RSI] = TRAP_OUT_OF_BOUNDS_MEMORY;
        registers[REG_RDX] = (greg_t)pc;
        registers[REG_RIP] = (greg_t)range->trap_exit;
        return;
    }
    case SHOAL_FAULT_STACK: {
        // No stack is left to run the trap exit's recordTrap on: record the trap here (no
        // backtrace) and resume at the entry trampoline's exit, which resets rsp to the entry.
        const shoal_code_info *range = lookup(pc);
        void *state = FIELD(vmctx, VMCTX_EXECUTION_STATE, void *);
        FIELD(state, STATE_TRAP_CODE, uint64_t) = TRAP_CALL_STACK_EXHAUSTED;
        FIELD(state, STATE_TRAP_PC, uint64_t) = pc;
        FIELD(state, STATE_TRAP_FP, uint64_t) = 0;
        FIELD(state, STATE_BACKTRACE_COUNT, uint64_t) = 0;
        registers[REG_RAX] = TRAP_CALL_STACK_EXHAUSTED;
        registers[REG_RIP] = (greg_t)range->entry_exit;
        return;
    }
    case SHOAL_FAULT_HOST_BUG:
        fatal(sig, pc, address);
    }
}

static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static void install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous_segv);
    sigaction(SIGBUS, &action, &previous_bus);
}

void shoal_install_signal_handlers(void) { pthread_once(&install_once, install); }

// MARK: Threads

static __thread int has_alternate_stack = 0;

void shoal_ensure_alternate_signal_stack(void) {
    if (has_alternate_stack) return;
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) {
        has_alternate_stack = 1;
        return;
    }
    size_t size = 64 * 1024;
    void *memory = malloc(size);  // lives as long as the thread; one per thread
    if (!memory) return;
    stack_t stack = {.ss_sp = memory, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&stack, NULL) == 0) has_alternate_stack = 1;
}

int shoal_thread_stack_bounds(uintptr_t *low, uintptr_t *high) {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return -1;
    void *address;
    size_t size;
    int result = pthread_attr_getstack(&attr, &address, &size);
    pthread_attr_destroy(&attr);
    if (result != 0) return -1;
    *low = (uintptr_t)address;
    *high = (uintptr_t)address + size;
    return 0;
}
