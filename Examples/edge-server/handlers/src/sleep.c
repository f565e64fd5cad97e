// I/O-bound: sleeps ?ms= milliseconds (default 10, at most 60000) with nanosleep, which
// wasi-libc implements with poll_oneoff on a clock. The instance parks while it sleeps: it holds
// its slot, not a thread.
#include <errno.h>
#include <time.h>
#include "cgi.h"

int main(void) {
    char text[16];
    long ms = 10;
    if (cgi_query("ms", text, sizeof text)) {
        char *stop;
        ms = strtol(text, &stop, 10);
        if (*stop != 0 || ms < 0 || ms > 60000) {
            cgi_head(400, "Bad Request", "text/plain");
            printf("ms must be an integer from 0 to 60000\n");
            return 0;
        }
    }
    struct timespec want = {ms / 1000, (ms % 1000) * 1000000L}, left;
    while (nanosleep(&want, &left) != 0 && errno == EINTR) want = left;
    cgi_head(200, "OK", "text/plain");
    printf("slept %ld ms\n", ms);
    return 0;
}
