// The embed example's guest: a "request handler" with no libc at all.
//
// It pulls its request's bytes from the host (env.input_len / env.input_read, which the host
// defines per call), hashes them, asks the host for two values (env.lookup, an asynchronous
// host function: the guest parks while the host awaits), and returns a checksum the host can
// recompute in Swift. A request larger than its buffer traps (unreachable): the host shows how
// a trapped call comes back.

#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("input_len") int input_len(void);
IMPORT("input_read") void input_read(unsigned char *destination);
IMPORT("lookup") unsigned lookup(unsigned key);

// The largest request this handler accepts.
static unsigned char buffer[16384];

EXPORT("handle") unsigned handle(void) {
    unsigned n = (unsigned)input_len();
    if (n > sizeof buffer) __builtin_trap();  // a request too large: trap, do not overrun
    input_read(buffer);

    // FNV-1a over the request.
    unsigned h = 2166136261u;
    for (unsigned i = 0; i < n; i++) h = (h ^ buffer[i]) * 16777619u;

    // Two "remote" lookups keyed by the hash; the host sleeps 1 ms for each.
    unsigned a = lookup(h & 0xffff);
    unsigned b = lookup(h >> 16);
    return h ^ a ^ (b << 1);
}
