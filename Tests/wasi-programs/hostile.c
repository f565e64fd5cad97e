/* A hostile program: through ordinary libc calls it tries to leave its sandbox (/sandbox, where the
   test put symlinks to a file outside: abs, and to a missing one: missing), to change that file's
   times, and to use up descriptors. One line per attempt. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static const char *outcome(int r) { return r == 0 ? "ALLOWED" : strerror(errno); }
int main(void) {
    struct timespec times[2] = {{1000, 0}, {2000, 0}};
    struct stat st;
    printf("utimensat through a symlink: %s\n", outcome(utimensat(AT_FDCWD, "/sandbox/abs", times, 0)));
    printf("stat through a symlink: %s\n", outcome(stat("/sandbox/abs", &st)));
    printf("stat through a symlink to nothing: %s\n", outcome(stat("/sandbox/missing", &st)));
    printf("open through a symlink: %s\n", outcome(open("/sandbox/abs", O_RDONLY) >= 0 ? 0 : -1));
    printf("open ..: %s\n", outcome(open("/sandbox/../etc/passwd", O_RDONLY) >= 0 ? 0 : -1));
    printf("hard link through a symlink: %s\n", outcome(linkat(AT_FDCWD, "/sandbox/abs", AT_FDCWD, "/sandbox/h", AT_SYMLINK_FOLLOW)));
    printf("rename out: %s\n", outcome(rename("/sandbox/f.txt", "/sandbox/../f.txt")));
    printf("utimensat on the link itself: %s\n", outcome(utimensat(AT_FDCWD, "/sandbox/abs", times, AT_SYMLINK_NOFOLLOW)));
    int opened = 0;
    while (open("/sandbox/f.txt", O_RDONLY) >= 0) opened++;
    printf("opened %d descriptors, then: %s\n", opened, strerror(errno));
    return 0;
}
