// The areas the official WASI testsuite covers, in one program compared with wasmtime:
// fd_advise, fd_allocate, fd_filestat_set_size/times, readdir cookies over a large directory,
// renumber, dangling symlinks and trailing slashes, poll_oneoff on a clock, on fds and mixed.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static void show(const char *what, int result) {
    printf("%s: %s\n", what, result == 0 ? "ok" : strerror(errno));
}

int main(void) {
    // fd_advise, fd_allocate, fd_filestat_set_size, fd_filestat_set_times
    int fd = open("/sandbox/data.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 1; }
    show("advise sequential", posix_fadvise(fd, 0, 100, POSIX_FADV_SEQUENTIAL) == 0 ? 0 : (errno = EINVAL, -1));
    __wasi_errno_t w = __wasi_fd_allocate((__wasi_fd_t)fd, 0, 4096);
    printf("allocate 4096: %d\n", w);
    struct stat s;
    fstat(fd, &s);
    printf("size after allocate: %lld\n", (long long)s.st_size);
    show("ftruncate 10", ftruncate(fd, 10));
    fstat(fd, &s);
    printf("size after truncate: %lld\n", (long long)s.st_size);
    struct timespec times[2] = {{.tv_sec = 1000000000, .tv_nsec = 0}, {.tv_sec = 1200000000, .tv_nsec = 500}};
    show("futimens", futimens(fd, times));
    fstat(fd, &s);
    printf("atime %lld mtime %lld.%09ld\n", (long long)s.st_atim.tv_sec, (long long)s.st_mtim.tv_sec, s.st_mtim.tv_nsec);

    // renumber: dup2 onto an open descriptor closes it; onto itself is a no-op
    int other = open("/sandbox/other.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    show("renumber onto itself", __wasi_fd_renumber((__wasi_fd_t)other, (__wasi_fd_t)other) == 0 ? 0 : (errno = EBADF, -1));
    show("renumber", __wasi_fd_renumber((__wasi_fd_t)fd, (__wasi_fd_t)other) == 0 ? 0 : (errno = EBADF, -1));
    printf("old fd after renumber: %s\n", fstat(fd, &s) == 0 ? "open" : strerror(errno));
    close(other);

    // readdir cookies over a large directory
    mkdir("/sandbox/big", 0755);
    for (int i = 0; i < 300; i++) {
        char name[64];
        snprintf(name, sizeof name, "/sandbox/big/entry-%03d", i);
        int f = open(name, O_CREAT | O_WRONLY, 0644);
        close(f);
    }
    DIR *d = opendir("/sandbox/big");
    int count = 0;
    long middle = -1;
    char middleName[64] = "";
    struct dirent *entry;
    while ((entry = readdir(d))) {
        count++;
        if (count == 150) { middle = telldir(d); }
        if (count == 151) { snprintf(middleName, sizeof middleName, "%s", entry->d_name); }
    }
    printf("entries: %d\n", count);
    seekdir(d, middle);
    entry = readdir(d);
    printf("seekdir resumes at the same entry: %s\n", entry && strcmp(entry->d_name, middleName) == 0 ? "yes" : "no");
    closedir(d);

    // dangling symlinks and trailing slashes
    show("symlink dangling", symlink("nowhere", "/sandbox/dangling"));
    printf("stat dangling: %s\n", stat("/sandbox/dangling", &s) == 0 ? "ok" : strerror(errno));
    printf("lstat dangling: %s\n", lstat("/sandbox/dangling", &s) == 0 ? (S_ISLNK(s.st_mode) ? "symlink" : "other") : strerror(errno));
    printf("open dangling O_CREAT|O_EXCL: %s\n", open("/sandbox/dangling", O_CREAT | O_EXCL | O_WRONLY, 0644) >= 0 ? "created" : strerror(errno));
    printf("unlink dangling/: %s\n", unlink("/sandbox/dangling/") == 0 ? "ok" : strerror(errno));
    show("unlink dangling", unlink("/sandbox/dangling"));

    // poll_oneoff: a clock alone, fds alone, both
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    struct timespec nap = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
    show("nanosleep 20ms", nanosleep(&nap, NULL));
    clock_gettime(CLOCK_MONOTONIC, &after);
    long long slept = (after.tv_sec - before.tv_sec) * 1000000000LL + (after.tv_nsec - before.tv_nsec);
    printf("slept at least 20ms: %s\n", slept >= 20 * 1000 * 1000 ? "yes" : "no");
    int file = open("/sandbox/data.bin", O_RDONLY);
    struct pollfd fds[2] = {{.fd = file, .events = POLLRDNORM}, {.fd = 1, .events = POLLWRNORM}};
    int ready = poll(fds, 2, 1000);
    printf("poll file+stdout: %d ready, file %s, stdout %s\n", ready, (fds[0].revents & POLLRDNORM) ? "readable" : "not",
           (fds[1].revents & POLLWRNORM) ? "writable" : "not");
    ready = poll(fds, 1, 0);
    printf("poll file with zero timeout: %d\n", ready);
    close(file);
    return 0;
}
