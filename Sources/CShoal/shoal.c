#define _GNU_SOURCE
#include "CShoal.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

// MARK: Code-range registry
//
// The handler reads an immutable sorted array through an atomic pointer. Writers (under a mutex)
// build a new array and publish it; the old one is retired to a list and never freed, because a
// handler on another thread may still be reading it. Registrations happen once per loaded module,
// so the retired arrays stay small.

typedef struct {
    uintptr_t start, end, trap_exit;
} code_range;

typedef struct {
    size_t count;
    code_range ranges[];
} range_table;

static _Atomic(range_table *) current_table = NULL;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static range_table *copy_table(const range_table *old, size_t extra) {
    size_t count = old ? old->count : 0;
    range_table *t = malloc(sizeof(range_table) + sizeof(code_range) * (count + extra));
    if (!t) return NULL;
    t->count = count;
    if (count) memcpy(t->ranges, old->ranges, sizeof(code_range) * count);
    return t;
}

int shoal_register_code(uintptr_t start, uintptr_t end, uintptr_t trap_exit) {
    pthread_mutex_lock(&registry_lock);
    range_table *old = atomic_load(&current_table);
    range_table *t = copy_table(old, 1);
    if (!t) {
        pthread_mutex_unlock(&registry_lock);
        return -1;
    }
    size_t i = t->count;
    while (i > 0 && t->ranges[i - 1].start > start) {
        t->ranges[i] = t->ranges[i - 1];
        i--;
    }
    t->ranges[i] = (code_range){start, end, trap_exit};
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

static const code_range *lookup(uintptr_t pc) {
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

// MARK: Signal handler

#define TRAP_OUT_OF_BOUNDS_MEMORY 5

static struct sigaction previous_segv, previous_bus;

static void chain(int sig, siginfo_t *info, void *context) {
    struct sigaction *previous = sig == SIGSEGV ? &previous_segv : &previous_bus;
    if (previous->sa_flags & SA_SIGINFO) {
        previous->sa_sigaction(sig, info, context);
    } else if (previous->sa_handler == SIG_DFL || previous->sa_handler == SIG_IGN) {
        // Restore the default action and return: the fault happens again and ends the process
        // as it would have without Shoal.
        signal(sig, SIG_DFL);
    } else {
        previous->sa_handler(sig);
    }
}

// Async-signal-safe: reads an immutable table and rewrites the interrupted context.
static void handler(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    const code_range *range = lookup(pc);
    if (!range) {
        chain(sig, info, context);
        return;
    }
    uc->uc_mcontext.gregs[REG_RSI] = TRAP_OUT_OF_BOUNDS_MEMORY;
    uc->uc_mcontext.gregs[REG_RDX] = (greg_t)pc;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)range->trap_exit;
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

typedef uint32_t (*entry_fn)(void *, const void *, uint64_t *, intptr_t);

uint32_t shoal_call_entry(const void *trampoline, void *vmctx, const void *code, uint64_t *slots, intptr_t count) {
    return ((entry_fn)trampoline)(vmctx, code, slots, count);
}
