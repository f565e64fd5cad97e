// Serves a file from the directory the server preopens for this handler as /data (its
// file.data/ directory): ?name= (default greeting.txt). The guest sees nothing else of the host:
// a name that climbs out (../) is refused by WASI, and the handler answers 404.
#include <errno.h>
#include "cgi.h"

int main(void) {
    char name[256], path[300];
    if (!cgi_query("name", name, sizeof name)) strcpy(name, "greeting.txt");
    snprintf(path, sizeof path, "/data/%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        cgi_head(404, "Not Found", "text/plain");
        printf("no such file: %s (%s)\n", name, strerror(e));
        return 0;
    }
    cgi_head(200, "OK", "text/plain");
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, f)) > 0) fwrite(buffer, 1, n, stdout);
    fclose(f);
    return 0;
}
