/* The native baseline for the echo benchmark: the same echo loop as Tests/wasi-programs/echo.c,
   one thread per connection, on a listening socket at PORT; serves CONNECTIONS connections. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
static void *serve(void *arg) {
    int client = (int)(long)arg;
    char buffer[4096];
    ssize_t n;
    while ((n = recv(client, buffer, sizeof buffer, 0)) > 0) {
        ssize_t sent = 0;
        while (sent < n) { ssize_t k = send(client, buffer + sent, n - sent, MSG_NOSIGNAL); if (k <= 0) break; sent += k; }
    }
    shutdown(client, SHUT_RDWR);
    close(client);
    return NULL;
}
int main(int argc, char **argv) {
    int port = atoi(argv[1]), connections = atoi(argv[2]);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) || listen(fd, 4096)) { perror("listen"); return 1; }
    pthread_t *threads = calloc(connections, sizeof *threads);
    for (int i = 0; i < connections; i++) {
        int client = accept(fd, NULL, NULL);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        pthread_create(&threads[i], &attr, serve, (void *)(long)client);
    }
    for (int i = 0; i < connections; i++) pthread_join(threads[i], NULL);
    return 0;
}
