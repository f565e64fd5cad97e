/* Copies standard input to standard output. */
#include <unistd.h>
int main(void) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(0, buffer, sizeof buffer)) > 0) write(1, buffer, (size_t)n);
    return 0;
}
