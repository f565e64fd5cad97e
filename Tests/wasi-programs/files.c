/* Files in a preopened directory: create, write, seek, read back, stat; escaping is refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    FILE *f = fopen("/sandbox/out.txt", "w");
    if (!f) { perror("fopen for writing"); return 1; }
    fprintf(f, "line one\nline two\n");
    fclose(f);
    int fd = open("/sandbox/out.txt", O_RDONLY);
    if (fd < 0) { perror("open"); return 2; }
    char buffer[64] = {0};
    lseek(fd, 5, SEEK_SET);
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    printf("read %zd bytes from offset 5: %s", n, buffer);
    struct stat st;
    fstat(fd, &st);
    printf("size %lld\n", (long long)st.st_size);
    close(fd);
    int escape = open("/sandbox/../../etc/passwd", O_RDONLY);
    printf("escape: %s\n", escape < 0 ? "refused" : "ALLOWED");
    return escape < 0 ? 0 : 3;
}
