/* Prints what the command line configured: its arguments, an environment variable and a file in
   the preopened directory /sandbox. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    char contents[128] = {0};
    FILE *f = fopen("/sandbox/in.txt", "r");
    if (f) fgets(contents, sizeof contents, f);
    printf("in.txt: %s\n", f ? contents : "(cannot open)");
    return 0;
}
