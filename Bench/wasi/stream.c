/* Streams a file through the guest: reads it in chunks (64 KiB, or the size given, at most 1 MiB)
   and sums its bytes. The buffer is static, so the module's initial memory holds it: `shoal run
   --instances` gives each instance its initial memory only.
   With a third argument "count", it only counts the bytes (sum 0): the I/O path without the
   guest's own per-byte work, which is the code generator's business rather than WASI's.
   Usage: stream FILE [CHUNK_BYTES [count]] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: stream FILE [CHUNK_BYTES [count]]\n"); return 2; }
    long chunk = argc > 2 ? atol(argv[2]) : 1 << 16;
    if (chunk <= 0 || chunk > (1L << 20)) { fprintf(stderr, "stream: chunk must be 1 byte to 1 MiB\n"); return 2; }
    int summing = !(argc > 3 && strcmp(argv[3], "count") == 0);
    static unsigned char buffer[1 << 20];
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 1; }
    unsigned long long total = 0, sum = 0;
    ssize_t n;
    while ((n = read(fd, buffer, (size_t)chunk)) > 0) {
        if (summing)
            for (ssize_t i = 0; i < n; i++) sum += buffer[i];
        total += (unsigned long long)n;
    }
    if (n < 0) { perror("read"); return 1; }
    printf("%llu bytes, sum %llu\n", total, sum);
    return 0;
}
