/* What a program learns about its standard streams: fd_fdstat_get's rights and filetype (which
 * wasi-libc's isatty() reads), fd_filestat_get, and the errnos of using a stream the wrong way.
 * Standard output and error are pipes or captured, never terminals, here; standard input's
 * filetype is the host's, so it is not printed. */
#include <stdio.h>
#include <unistd.h>
#include <wasi/api.h>
int main(void) {
    for (int fd = 0; fd < 3; fd++) {
        __wasi_fdstat_t st;
        int e = __wasi_fd_fdstat_get(fd, &st);
        printf("fd %d: fdstat %d base %llx inheriting %llx", fd, e, (unsigned long long)st.fs_rights_base,
               (unsigned long long)st.fs_rights_inheriting);
        if (fd > 0) printf(" type %d", st.fs_filetype);
        printf("\n");
    }
    __wasi_filestat_t fs;
    int e = __wasi_fd_filestat_get(1, &fs);
    printf("stdout filestat: %d type %d size %llu\n", e, fs.filetype, (unsigned long long)fs.size);
    printf("isatty(stdout): %d\n", isatty(1));
    __wasi_filesize_t where;
    printf("seek stdout: %d\n", __wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &where));
    printf("tell stdout: %d\n", __wasi_fd_tell(1, &where));
    fflush(stdout);
    return 0;
}
