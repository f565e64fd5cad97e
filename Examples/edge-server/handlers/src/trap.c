// Traps: an unreachable instruction three calls deep, so that the server's log shows a
// backtrace with names (this module keeps its name section). The client gets only a 500 with
// the request's id.
#include "cgi.h"

__attribute__((noinline)) static void check_invariant(int depth) {
    if (depth > 2) __builtin_trap();
    check_invariant(depth + 1);
}

__attribute__((noinline)) static void handle_request(void) {
    printf("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nthis body is never sent\n");
    check_invariant(0);
}

int main(void) {
    handle_request();
    return 0;
}
