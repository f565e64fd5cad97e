// Never finishes: a request handler with an infinite loop. Only the request's limits (wall time,
// fuel) end it; meanwhile other requests keep being served.
#include "cgi.h"

int main(void) {
    volatile unsigned long counter = 0;
    for (;;) counter++;
}
