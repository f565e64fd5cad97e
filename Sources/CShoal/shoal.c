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

// MARK: Fibers

// Offsets into the vmctx and the execution state; RuntimeABI is the definition, and a test
// (ABIAgreementTests) checks these against it.
#define VMCTX_STACK_LIMIT 16
#define VMCTX_EXECUTION_STATE 24
#define VMCTX_REAL_STACK_LIMIT 56
#define VMCTX_FUEL 64
#define STATE_ENTRY_SP 0
#define STATE_FIBER 32
#define STATE_FUEL_POLICY 40
#define TRAP_OUT_OF_FUEL 14
#define TRAP_INTERRUPTED 15

shoal_abi_offsets shoal_c_abi_offsets(void) {
    return (shoal_abi_offsets){VMCTX_STACK_LIMIT, VMCTX_EXECUTION_STATE, VMCTX_REAL_STACK_LIMIT, VMCTX_FUEL,
                               STATE_ENTRY_SP, STATE_FIBER, STATE_FUEL_POLICY};
}

#define FIELD(base, offset, type) (*(type *)((char *)(base) + (offset)))

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

// MARK: io_uring

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <errno.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <time.h>

struct shoal_ring {
    struct io_uring ring;
    pthread_mutex_t submit_lock;
    // A worker's ring has one owner thread, which submits, reaps and waits: no lock, and
    // operations without transient pointers are queued and submitted in a batch by
    // shoal_ring_flush / shoal_ring_wait_owned. Other threads may only call shoal_ring_wake.
    int owned;
    int wake_fd;          // eventfd with a read always armed on the ring (owned rings only)
    uint64_t wake_value;  // the armed read's target
};

// The armed eventfd read completes with this tag; it is consumed (and re-armed) internally.
#define SHOAL_WAKE_TAG UINT64_MAX
// shoal_ring_cancel_all's own completion (no callback is registered under it).
#define SHOAL_CANCEL_TAG (UINT64_MAX - 1)

// A free SQE, submitting what is queued first if the submission queue is full; NULL if still none.
static struct io_uring_sqe *next_sqe(shoal_ring *r) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
    }
    return sqe;
}

shoal_ring *shoal_ring_create(unsigned entries, int *error) {
    shoal_ring *r = calloc(1, sizeof *r);
    if (!r) {
        *error = ENOMEM;
        return NULL;
    }
    int e = io_uring_queue_init(entries, &r->ring, 0);
    if (e < 0) {
        free(r);
        *error = -e;
        return NULL;
    }
    pthread_mutex_init(&r->submit_lock, NULL);
    return r;
}

static int arm_wake(shoal_ring *r) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_read(sqe, r->wake_fd, &r->wake_value, sizeof r->wake_value, 0);
    io_uring_sqe_set_data64(sqe, SHOAL_WAKE_TAG);
    return 0;
}

shoal_ring *shoal_ring_create_owned(unsigned entries, unsigned completion_entries, int *error) {
    shoal_ring *r = calloc(1, sizeof *r);
    if (!r) {
        *error = ENOMEM;
        return NULL;
    }
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = completion_entries;
    int e = io_uring_queue_init_params(entries, &r->ring, &params);
    if (e < 0) {
        free(r);
        *error = -e;
        return NULL;
    }
    r->owned = 1;
    r->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (r->wake_fd < 0 || arm_wake(r) < 0 || io_uring_submit(&r->ring) < 0) {
        *error = errno ? errno : EBUSY;
        if (r->wake_fd >= 0) close(r->wake_fd);
        io_uring_queue_exit(&r->ring);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->submit_lock, NULL);
    return r;
}

void shoal_ring_destroy(shoal_ring *r) {
    io_uring_queue_exit(&r->ring);
    if (r->owned) close(r->wake_fd);
    pthread_mutex_destroy(&r->submit_lock);
    free(r);
}

int shoal_ring_flush(shoal_ring *r) {
    if (io_uring_sq_ready(&r->ring) == 0) return 0;
    return io_uring_submit(&r->ring);
}

int shoal_ring_reap(shoal_ring *r, uint64_t *tags, int32_t *results, unsigned capacity) {
    struct io_uring_cqe *cqes[256];
    if (capacity > 256) capacity = 256;
    unsigned n = io_uring_peek_batch_cqe(&r->ring, cqes, capacity);
    unsigned reported = 0;
    int rearm = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t tag = io_uring_cqe_get_data64(cqes[i]);
        if (tag == SHOAL_WAKE_TAG) {
            rearm = 1;
            continue;
        }
        tags[reported] = tag;
        results[reported] = cqes[i]->res;
        reported++;
    }
    io_uring_cq_advance(&r->ring, n);
    if (rearm) arm_wake(r);
    return (int)reported;
}

int shoal_ring_wait_owned(shoal_ring *r) {
    int e;
    do {
        e = io_uring_submit_and_wait(&r->ring, 1);
    } while (e == -EINTR);
    return e < 0 ? e : 0;
}

void shoal_ring_wake(shoal_ring *r) {
    uint64_t one = 1;
    ssize_t ignored = write(r->wake_fd, &one, sizeof one);
    (void)ignored;
}

int shoal_ring_cancel_all(shoal_ring *r) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(sqe, SHOAL_CANCEL_TAG);
    return io_uring_submit(&r->ring);
}

static __thread void *current_ring;
void shoal_set_current_ring(void *ring) { current_ring = ring; }
void *shoal_current_ring(void) { return current_ring; }

// Gets an SQE (submitting what is queued if the SQ is full), lets `prep` fill it, submits.
// On an owned ring an operation whose arguments all outlive the call (buffers, fds) is only
// queued: the owner submits the batch before it next reaps or waits. Operations that point at
// the caller's stack (paths, open_how, timespecs: the kernel copies them at submission) go at once.
#define SUBMIT_WHEN(r, tag, prep, deferrable)                         \
    do {                                                              \
        if (!(r)->owned) pthread_mutex_lock(&(r)->submit_lock);       \
        struct io_uring_sqe *sqe = next_sqe(r);                       \
        if (!sqe) {                                                   \
            if (!(r)->owned) pthread_mutex_unlock(&(r)->submit_lock); \
            return -EBUSY;                                            \
        }                                                             \
        prep;                                                         \
        io_uring_sqe_set_data64(sqe, (tag));                          \
        int submitted = ((r)->owned && (deferrable)) ? 0 : io_uring_submit(&(r)->ring); \
        if (!(r)->owned) pthread_mutex_unlock(&(r)->submit_lock);     \
        return submitted < 0 ? submitted : 0;                         \
    } while (0)
#define SUBMIT(r, tag, prep) SUBMIT_WHEN(r, tag, prep, 0)
#define QUEUE(r, tag, prep) SUBMIT_WHEN(r, tag, prep, 1)

int shoal_ring_read(shoal_ring *r, uint64_t tag, int fd, void *buffer, unsigned length, int64_t offset) {
    QUEUE(r, tag, io_uring_prep_read(sqe, fd, buffer, length, (__u64)offset));
}

int shoal_ring_write(shoal_ring *r, uint64_t tag, int fd, const void *buffer, unsigned length, int64_t offset) {
    QUEUE(r, tag, io_uring_prep_write(sqe, fd, buffer, length, (__u64)offset));
}

int shoal_ring_openat2(shoal_ring *r, uint64_t tag, int dirfd, const char *path, uint64_t flags, uint64_t mode,
                       uint64_t resolve) {
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    SUBMIT(r, tag, io_uring_prep_openat2(sqe, dirfd, path, &how));
}

int shoal_ring_close(shoal_ring *r, uint64_t tag, int fd) { QUEUE(r, tag, io_uring_prep_close(sqe, fd)); }

int shoal_ring_fsync(shoal_ring *r, uint64_t tag, int fd, int datasync) {
    QUEUE(r, tag, io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0));
}

int shoal_ring_timeout(shoal_ring *r, uint64_t tag, uint64_t nanoseconds) {
    struct __kernel_timespec ts = {.tv_sec = (long long)(nanoseconds / 1000000000ull),
                                   .tv_nsec = (long long)(nanoseconds % 1000000000ull)};
    SUBMIT(r, tag, io_uring_prep_timeout(sqe, &ts, 0, 0));
}

int shoal_ring_nop(shoal_ring *r, uint64_t tag) { QUEUE(r, tag, io_uring_prep_nop(sqe)); }

int shoal_ring_wait(shoal_ring *r, uint64_t *tag, int32_t *result) {
    struct io_uring_cqe *cqe;
    int e;
    do {
        e = io_uring_wait_cqe(&r->ring, &cqe);
    } while (e == -EINTR);
    if (e < 0) return e;
    *tag = io_uring_cqe_get_data64(cqe);
    *result = cqe->res;
    io_uring_cqe_seen(&r->ring, cqe);
    return 0;
}

// Path operations copy their paths at submission (getname in the kernel's prep), like openat2.
int shoal_ring_mkdirat(shoal_ring *r, uint64_t tag, int dirfd, const char *path, unsigned mode) {
    SUBMIT(r, tag, io_uring_prep_mkdirat(sqe, dirfd, path, mode));
}
int shoal_ring_unlinkat(shoal_ring *r, uint64_t tag, int dirfd, const char *path, int flags) {
    SUBMIT(r, tag, io_uring_prep_unlinkat(sqe, dirfd, path, flags));
}
int shoal_ring_renameat(shoal_ring *r, uint64_t tag, int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    SUBMIT(r, tag, io_uring_prep_renameat(sqe, olddirfd, oldpath, newdirfd, newpath, 0));
}
int shoal_ring_symlinkat(shoal_ring *r, uint64_t tag, const char *target, int newdirfd, const char *linkpath) {
    SUBMIT(r, tag, io_uring_prep_symlinkat(sqe, target, newdirfd, linkpath));
}
int shoal_ring_linkat(shoal_ring *r, uint64_t tag, int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    SUBMIT(r, tag, io_uring_prep_linkat(sqe, olddirfd, oldpath, newdirfd, newpath, 0));
}
int shoal_ring_accept(shoal_ring *r, uint64_t tag, int fd) {
    QUEUE(r, tag, io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC));
}
int shoal_ring_recv(shoal_ring *r, uint64_t tag, int fd, void *buffer, unsigned length, int flags) {
    QUEUE(r, tag, io_uring_prep_recv(sqe, fd, buffer, length, flags));
}
int shoal_ring_send(shoal_ring *r, uint64_t tag, int fd, const void *buffer, unsigned length, int flags) {
    QUEUE(r, tag, io_uring_prep_send(sqe, fd, buffer, length, flags | MSG_NOSIGNAL));
}
int shoal_ring_shutdown(shoal_ring *r, uint64_t tag, int fd, int how) {
    QUEUE(r, tag, io_uring_prep_shutdown(sqe, fd, how));
}

int shoal_ring_poll(shoal_ring *r, uint64_t tag, int fd, unsigned events) {
    QUEUE(r, tag, io_uring_prep_poll_add(sqe, fd, events));
}
