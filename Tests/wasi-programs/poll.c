/* poll() on a socket (poll_oneoff with fd and clock subscriptions): first a timeout, then data. */
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int client = accept(3, NULL, NULL);
    if (client < 0) { perror("accept"); return 1; }
    struct pollfd p = {.fd = client, .events = POLLIN};
    int first = poll(&p, 1, 50);
    printf("timeout first: %s\n", first == 0 ? "yes" : "NO");
    int second = poll(&p, 1, 5000);
    char buffer[16] = {0};
    ssize_t n = second == 1 ? recv(client, buffer, sizeof buffer - 1, 0) : -1;
    printf("readable: %s\n", n > 0 ? buffer : "NO");
    close(client);
    return 0;
}
