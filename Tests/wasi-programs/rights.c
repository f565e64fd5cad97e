/* Rights: a descriptor opened for reading cannot write, one opened for writing cannot read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    int fd = open("/sandbox/r.txt", O_CREAT | O_WRONLY, 0644);
    char c;
    ssize_t r = read(fd, &c, 1);
    printf("read on write-only: %s\n", r < 0 ? "refused" : "ALLOWED");
    write(fd, "x", 1);
    close(fd);
    fd = open("/sandbox/r.txt", O_RDONLY);
    ssize_t w = write(fd, "y", 1);
    printf("write on read-only: %s\n", w < 0 ? "refused" : "ALLOWED");
    return 0;
}
