// The smallest handler: greets ?name= (default "world"). Its native twin in the server
// (/native/hello) and its process-per-request build produce the same bytes.
#include "cgi.h"

int main(void) {
    char name[64];
    if (!cgi_query("name", name, sizeof name)) strcpy(name, "world");
    cgi_head(200, "OK", "text/plain");
    printf("Hello, %s!\n", name);
    return 0;
}
