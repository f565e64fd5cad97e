/* Clocks, randomness and sleeping (poll_oneoff). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int ms = argc > 1 ? atoi(argv[1]) : 100;
    usleep(ms * 1000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long elapsed = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    unsigned char random[16];
    arc4random_buf(random, sizeof random);
    int nonzero = 0;
    for (int i = 0; i < 16; i++) nonzero |= random[i];
    printf("slept %s; random %s\n", elapsed >= ms ? "long enough" : "TOO SHORT", nonzero ? "ok" : "ALL ZERO");
    return 0;
}
