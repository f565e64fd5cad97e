/* stdout, stderr, arguments, environment and the exit code. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    printf("hello from wasi\n");
    for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    fprintf(stderr, "to stderr\n");
    return argc > 1 ? atoi(argv[argc - 1]) : 0;
}
