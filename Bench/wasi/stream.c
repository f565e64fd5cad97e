/* Streams a file through the guest: reads it in 64 KiB chunks and sums its bytes. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: stream FILE\n"); return 2; }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 1; }
    static unsigned char buffer[1 << 16];
    unsigned long long total = 0, sum = 0;
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum += buffer[i];
        total += (unsigned long long)n;
    }
    printf("%llu bytes, sum %llu\n", total, sum);
    return 0;
}
