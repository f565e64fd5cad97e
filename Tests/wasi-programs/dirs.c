/* Directories: create, list, rename, link, symlink, unlink, remove; escapes refused. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static int compare(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }
int main(void) {
    if (mkdir("/sandbox/d", 0755) != 0) { perror("mkdir"); return 1; }
    int fd = open("/sandbox/d/a.txt", O_CREAT | O_WRONLY, 0644);
    write(fd, "abc", 3);
    close(fd);
    if (rename("/sandbox/d/a.txt", "/sandbox/d/b.txt") != 0) { perror("rename"); return 2; }
    if (link("/sandbox/d/b.txt", "/sandbox/d/c.txt") != 0) { perror("link"); return 3; }
    if (symlink("b.txt", "/sandbox/d/s") != 0) { perror("symlink"); return 4; }
    char target[32] = {0};
    readlink("/sandbox/d/s", target, sizeof target - 1);
    struct dirent **list;
    int n = scandir("/sandbox/d", &list, NULL, compare);
    printf("entries:");
    for (int i = 0; i < n; i++) printf(" %s", list[i]->d_name);
    printf("\nlink -> %s\n", target);
    printf("escape mkdir: %s\n", mkdir("/sandbox/../escaped", 0755) == 0 ? "ALLOWED" : "refused");
    printf("escape via symlink: %s\n", (symlink("/etc", "/sandbox/d/etc") == 0 && open("/sandbox/d/etc/passwd", O_RDONLY) >= 0) ? "ALLOWED" : "refused");
    unlink("/sandbox/d/etc");
    unlink("/sandbox/d/s");
    unlink("/sandbox/d/c.txt");
    unlink("/sandbox/d/b.txt");
    printf("rmdir: %s\n", rmdir("/sandbox/d") == 0 ? "ok" : strerror(errno));
    return 0;
}
