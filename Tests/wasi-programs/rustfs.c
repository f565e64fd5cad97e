/* What Rust's std (library/std/src/sys/fs/wasi.rs) asks of WASI, call for call: OpenOptions'
 * default rights (FD_READ|FD_READDIR for read, FD_WRITE|FD_DATASYNC|FD_ALLOCATE|
 * FD_FILESTAT_SET_SIZE for write, plus its fixed set), SYMLINK_FOLLOW, and "." relative to the
 * preopen for the preopen itself (fs::read_dir("/sandbox")). Prints each errno, so its output can
 * be compared with wasmtime's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>
#define R(x) __WASI_RIGHTS_##x
static const __wasi_rights_t fixed = R(FD_ADVISE) | R(FD_FDSTAT_SET_FLAGS) | R(FD_FILESTAT_GET) | R(FD_FILESTAT_SET_TIMES) |
    R(FD_SEEK) | R(FD_SYNC) | R(FD_TELL) | R(PATH_CREATE_DIRECTORY) | R(PATH_CREATE_FILE) | R(PATH_FILESTAT_GET) |
    R(PATH_LINK_SOURCE) | R(PATH_LINK_TARGET) | R(PATH_OPEN) | R(PATH_READLINK) | R(PATH_REMOVE_DIRECTORY) |
    R(PATH_RENAME_SOURCE) | R(PATH_RENAME_TARGET) | R(PATH_SYMLINK) | R(PATH_UNLINK_FILE) | R(POLL_FD_READWRITE);
static const __wasi_rights_t reading = R(FD_READ) | R(FD_READDIR);
static const __wasi_rights_t writing = R(FD_WRITE) | R(FD_DATASYNC) | R(FD_ALLOCATE) | R(FD_FILESTAT_SET_SIZE);

static int open_at(__wasi_fd_t dir, const char *path, __wasi_oflags_t oflags, __wasi_rights_t rights, __wasi_fd_t *fd) {
    return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags, rights, rights, 0, fd);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The entries in name order (the host's order is its own). */
static void list(__wasi_fd_t dir) {
    char buffer[512], names[16][32];
    char *sorted[16];
    __wasi_size_t used;
    int e = __wasi_fd_readdir(dir, (uint8_t *)buffer, sizeof buffer, 0, &used), count = 0;
    for (size_t at = 0; e == 0 && count < 16 && at + sizeof(__wasi_dirent_t) <= used;) {
        __wasi_dirent_t d;
        memcpy(&d, buffer + at, sizeof d);
        snprintf(names[count], sizeof names[count], "%.*s", (int)d.d_namlen, buffer + at + sizeof d);
        sorted[count] = names[count];
        count++;
        at += sizeof d + d.d_namlen;
    }
    qsort(sorted, count, sizeof sorted[0], by_name);
    printf("  readdir: %d, entries:", e);
    for (int i = 0; i < count; i++) printf(" %s", sorted[i]);
    printf("\n");
}

int main(void) {
    __wasi_fdstat_t st;
    __wasi_fd_t root, file, sub;
    int e = __wasi_fd_fdstat_get(3, &st);
    printf("preopen fdstat: %d type %d base %llx inheriting %llx\n", e, st.fs_filetype,
           (unsigned long long)st.fs_rights_base, (unsigned long long)st.fs_rights_inheriting);
    /* fs::write("/sandbox/hello.txt", ...): File::create = write + create + truncate. */
    e = open_at(3, "hello.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, fixed | writing, &file);
    printf("File::create: %d\n", e);
    __wasi_ciovec_t out = {(const uint8_t *)"from rust\n", 10};
    __wasi_size_t n = 0;
    e = __wasi_fd_write(file, &out, 1, &n);
    printf("  write: %d (%lu bytes)\n", e, n);
    __wasi_fd_close(file);
    /* fs::create_dir_all("/sandbox/a/b") */
    printf("create_dir a: %d\n", __wasi_path_create_directory(3, "a"));
    printf("create_dir a/b: %d\n", __wasi_path_create_directory(3, "a/b"));
    /* fs::read_dir("/sandbox"): the preopen itself, as ".". */
    e = open_at(3, ".", __WASI_OFLAGS_DIRECTORY, fixed | reading, &root);
    printf("read_dir(\"/sandbox\"): %d\n", e);
    if (e == 0) list(root);
    /* fs::read_dir("/sandbox/a") and a file opened through the opened directory. */
    e = open_at(3, "a", __WASI_OFLAGS_DIRECTORY, fixed | reading, &sub);
    printf("read_dir(\"/sandbox/a\"): %d\n", e);
    if (e == 0) list(sub);
    /* fs::read_to_string("/sandbox/hello.txt") */
    e = open_at(3, "hello.txt", 0, fixed | reading, &file);
    char text[32] = {0};
    __wasi_iovec_t in = {(uint8_t *)text, sizeof text - 1};
    if (e == 0) e = __wasi_fd_read(file, &in, 1, &n);
    printf("read_to_string: %d: %s", e, text);
    /* fs::metadata("/sandbox/a") */
    __wasi_filestat_t meta;
    e = __wasi_path_filestat_get(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "a", &meta);
    printf("metadata(a): %d, type %d\n", e, meta.filetype);
    /* OpenOptions::new().read(true).write(true) on a directory: EISDIR, as wasmtime and POSIX. */
    printf("open . read+write as a directory: %d\n", open_at(3, ".", __WASI_OFLAGS_DIRECTORY, fixed | reading | writing, &file));
    /* fs::remove_dir_all("/sandbox/a"): open it (no follow), remove what is inside, then it. */
    e = __wasi_path_open(3, 0, "a", __WASI_OFLAGS_DIRECTORY, fixed | reading, fixed | reading, 0, &sub);
    printf("remove_dir_all: open %d", e);
    printf(", rmdir b %d", __wasi_path_remove_directory(sub, "b"));
    printf(", rmdir a %d\n", __wasi_path_remove_directory(3, "a"));
    printf("remove_file: %d\n", __wasi_path_unlink_file(3, "hello.txt"));
    list(root);
    return 0;
}
