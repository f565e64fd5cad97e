/* Streams a file through the guest: reads it in chunks (64 KiB, or the size given) and sums its bytes.
   Usage: stream FILE [CHUNK_BYTES] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: stream FILE [CHUNK_BYTES]\n"); return 2; }
    long chunk = argc > 2 ? atol(argv[2]) : 1 << 16;
    if (chunk <= 0 || chunk > (64L << 20)) { fprintf(stderr, "stream: chunk must be 1 byte to 64 MiB\n"); return 2; }
    unsigned char *buffer = malloc((size_t)chunk);
    if (!buffer) { perror("malloc"); return 1; }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 1; }
    unsigned long long total = 0, sum = 0;
    ssize_t n;
    while ((n = read(fd, buffer, (size_t)chunk)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum += buffer[i];
        total += (unsigned long long)n;
    }
    if (n < 0) { perror("read"); return 1; }
    printf("%llu bytes, sum %llu\n", total, sum);
    return 0;
}
