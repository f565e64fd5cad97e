/* A TCP echo server on a preopened listening socket (fd 3, from --tcplisten): serves argv[1]
   connections one after another, echoing each until the client closes. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int connections = argc > 1 ? atoi(argv[1]) : 1;
    for (int c = 0; c < connections; c++) {
        int client = accept(3, NULL, NULL);
        if (client < 0) { perror("accept"); return 1; }
        char buffer[4096];
        ssize_t n;
        while ((n = recv(client, buffer, sizeof buffer, 0)) > 0) {
            ssize_t sent = 0;
            while (sent < n) {
                ssize_t k = send(client, buffer + sent, n - sent, 0);
                if (k <= 0) { perror("send"); return 2; }
                sent += k;
            }
        }
        shutdown(client, SHUT_RDWR);
        close(client);
    }
    printf("served %d\n", connections);
    return 0;
}
