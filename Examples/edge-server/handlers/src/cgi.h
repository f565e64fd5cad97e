// The little CGI a handler needs: the request arrives as environment variables (REQUEST_METHOD,
// PATH_INFO, QUERY_STRING, CONTENT_LENGTH, HTTP_*) and standard input (the body); the response
// is written to standard output as header lines, an empty line, and the body.
//
// The same sources build for wasm32-wasi (the server runs them in Shoal instances) and natively
// (the process-per-request baseline in Scripts/load-test.sh).
#ifndef EDGE_CGI_H
#define EDGE_CGI_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// The value of `name` in QUERY_STRING, percent-decoded into `out` (at most `size` - 1 bytes),
/// or NULL when the query has no such parameter.
static inline const char *cgi_query(const char *name, char *out, size_t size) {
    const char *q = getenv("QUERY_STRING");
    if (q == NULL || size == 0) return NULL;
    size_t n = strlen(name);
    while (*q) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len > n && strncmp(q, name, n) == 0 && q[n] == '=') {
            size_t o = 0;
            for (size_t i = n + 1; i < len && o + 1 < size; i++) {
                char c = q[i];
                if (c == '+') c = ' ';
                else if (c == '%' && i + 2 < len) {
                    char hex[3] = {q[i + 1], q[i + 2], 0};
                    char *stop;
                    long v = strtol(hex, &stop, 16);
                    if (*stop == 0) { c = (char)v; i += 2; }
                }
                out[o++] = c;
            }
            out[o] = 0;
            return out;
        }
        if (!end) break;
        q = end + 1;
    }
    return NULL;
}

/// Writes the response head: a status, a content type, the empty line.
static inline void cgi_head(int status, const char *reason, const char *type) {
    printf("Status: %d %s\r\nContent-Type: %s\r\n\r\n", status, reason, type);
}

#endif
