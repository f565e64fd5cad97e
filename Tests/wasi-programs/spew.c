/* Writes argv[1] MiB of 'x' to standard output, 1 MiB per write (for streaming tests). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    long mib = argc > 1 ? atol(argv[1]) : 1;
    for (long i = 0; i < mib; i++) {
        size_t done = 0;
        while (done < sizeof chunk) {
            ssize_t n = write(1, chunk + done, sizeof chunk - done);
            if (n <= 0) return 1;
            done += (size_t)n;
        }
    }
    return 0;
}
