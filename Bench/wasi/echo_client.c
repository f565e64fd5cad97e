/* Load generator for the echo benchmark: opens CONNECTIONS concurrent loopback connections, sends
   BYTES on each and reads them back, all multiplexed with poll(); prints the elapsed time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: echo_client HOST PORT CONNECTIONS BYTES\n"); return 2; }
    int n = atoi(argv[3]);
    long bytes = atol(argv[4]);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &sin.sin_addr);
    struct pollfd *fds = calloc(n, sizeof *fds);
    long *sent = calloc(n, sizeof *sent), *received = calloc(n, sizeof *received);
    static char out[65536], in[65536];
    memset(out, 'e', sizeof out);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        fds[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i].fd, (struct sockaddr *)&sin, sizeof sin) != 0) { perror("connect"); return 1; }
        fcntl(fds[i].fd, F_SETFL, O_NONBLOCK);
        fds[i].events = POLLIN | POLLOUT;
    }
    int open = n;
    while (open > 0) {
        if (poll(fds, n, 10000) <= 0) { fprintf(stderr, "stalled with %d connections open\n", open); return 1; }
        for (int i = 0; i < n; i++) {
            if (fds[i].fd < 0) continue;
            if ((fds[i].revents & POLLOUT) && sent[i] < bytes) {
                long chunk = bytes - sent[i] < (long)sizeof out ? bytes - sent[i] : (long)sizeof out;
                ssize_t k = send(fds[i].fd, out, chunk, MSG_NOSIGNAL);
                if (k > 0) sent[i] += k;
                if (sent[i] == bytes) { shutdown(fds[i].fd, SHUT_WR); fds[i].events = POLLIN; }
            }
            if (fds[i].revents & (POLLIN | POLLHUP)) {
                ssize_t k = recv(fds[i].fd, in, sizeof in, 0);
                if (k > 0) received[i] += k;
                if (k == 0 || received[i] >= bytes) {
                    if (received[i] != bytes) { fprintf(stderr, "connection %d: %ld of %ld bytes back\n", i, received[i], bytes); return 1; }
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    open--;
                }
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double seconds = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%d connections x %ld bytes echoed in %.3f s: %.1f MiB/s each way\n", n, bytes, seconds, n * (double)bytes / 1048576 / seconds);
    return 0;
}
