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

// MARK: Fibers
//
// A fiber is a stack of its own on which an instance runs, so that it can stop part-way (yield,
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
    uintptr_t stack_guard_low;   // [low, high): the PROT_NONE guard just below the fiber's stack,
    uintptr_t stack_guard_high;  // where an overflow faults (low == high: the stack has none)
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
} shoal_abi_offsets;
shoal_abi_offsets shoal_c_abi_offsets(void);

/// Sets the vmctx's real stack limit and its checked limit — unless a yield request is pending
/// (the checked limit is at its maximum), which it keeps. Safe against concurrent requests.
void shoal_set_stack_limit(void *vmctx, uint64_t limit);

/// Drops a pending yield request: the checked limit goes back to the real one.
void shoal_clear_yield_request(void *vmctx);

// MARK: io_uring (liburing)
//
// One shared ring: any thread submits (under a mutex), one completion thread waits. Every
// operation carries a 64-bit tag that comes back with its result (a negative errno on failure).
// Paths, open_how and timespecs are copied by the kernel when the operation is submitted, which
// happens inside these calls, so callers' buffers for them need not outlive the call; data
// buffers (read/write) must stay valid until the completion arrives.

typedef struct shoal_ring shoal_ring;

shoal_ring *shoal_ring_create(unsigned entries, int *error);
void shoal_ring_destroy(shoal_ring *ring);
int shoal_ring_read(shoal_ring *ring, uint64_t tag, int fd, void *buffer, unsigned length, int64_t offset);
int shoal_ring_write(shoal_ring *ring, uint64_t tag, int fd, const void *buffer, unsigned length, int64_t offset);
int shoal_ring_openat2(shoal_ring *ring, uint64_t tag, int dirfd, const char *path, uint64_t flags, uint64_t mode,
                       uint64_t resolve);
int shoal_ring_close(shoal_ring *ring, uint64_t tag, int fd);
int shoal_ring_fsync(shoal_ring *ring, uint64_t tag, int fd, int datasync);
int shoal_ring_timeout(shoal_ring *ring, uint64_t tag, uint64_t nanoseconds);
int shoal_ring_nop(shoal_ring *ring, uint64_t tag);
/// Blocks until one completion arrives; returns 0 and fills tag/result, or a negative errno.
int shoal_ring_wait(shoal_ring *ring, uint64_t *tag, int32_t *result);

/// A ring owned by one thread (a scheduler worker): no submission lock; buffer-only operations are
/// queued and submitted in batches. `completion_entries` sizes the CQ (parked operations can far
/// outnumber SQ entries). An eventfd read is kept armed so other threads can wake the owner.
shoal_ring *shoal_ring_create_owned(unsigned entries, unsigned completion_entries, int *error);
/// Submits queued operations (owner only). Returns the number submitted or -errno.
int shoal_ring_flush(shoal_ring *ring);
/// Takes up to `capacity` completions without blocking (owner only); wake-ups are consumed here.
int shoal_ring_reap(shoal_ring *ring, uint64_t *tags, int32_t *results, unsigned capacity);
/// Submits queued operations and blocks until a completion or a wake-up arrives (owner only).
int shoal_ring_wait_owned(shoal_ring *ring);
/// Wakes the owner from shoal_ring_wait_owned (any thread; async-signal-safe).
void shoal_ring_wake(shoal_ring *ring);
/// Asks the kernel to cancel every operation in flight (owner only); each still completes.
int shoal_ring_cancel_all(shoal_ring *ring);
/// The calling thread's ring (an opaque owner pointer set by the scheduler's worker), or NULL.
void shoal_set_current_ring(void *ring);
void *shoal_current_ring(void);
int shoal_ring_mkdirat(shoal_ring *ring, uint64_t tag, int dirfd, const char *path, unsigned mode);
int shoal_ring_unlinkat(shoal_ring *ring, uint64_t tag, int dirfd, const char *path, int flags);
int shoal_ring_renameat(shoal_ring *ring, uint64_t tag, int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int shoal_ring_symlinkat(shoal_ring *ring, uint64_t tag, const char *target, int newdirfd, const char *linkpath);
int shoal_ring_linkat(shoal_ring *ring, uint64_t tag, int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int shoal_ring_accept(shoal_ring *ring, uint64_t tag, int fd);
int shoal_ring_recv(shoal_ring *ring, uint64_t tag, int fd, void *buffer, unsigned length, int flags);
int shoal_ring_send(shoal_ring *ring, uint64_t tag, int fd, const void *buffer, unsigned length, int flags);
int shoal_ring_shutdown(shoal_ring *ring, uint64_t tag, int fd, int how);
/// Completes when `fd` has any of `events` (POLLIN, POLLOUT...); the result is the ready mask.
int shoal_ring_poll(shoal_ring *ring, uint64_t tag, int fd, unsigned events);
