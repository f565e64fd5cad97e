// A JSON transform: reads a flat JSON object from the body and answers it with its keys sorted,
// every string value upper-cased (escapes kept as they are) and a "_fields" count. Malformed JSON
// is a 400, nested values a 422, a body over 64 KiB a 413. Written without a JSON library.
#include <ctype.h>
#include "cgi.h"

enum { MAX_BODY = 64 * 1024, MAX_FIELDS = 256 };

struct field { const char *key; size_t key_len; const char *value; size_t value_len; int is_string; };

static const char *p, *end;

static void ws(void) { while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++; }

/// A string starting at p (at its opening quote): returns its contents' length, or -1.
static long string_token(void) {
    if (p >= end || *p != '"') return -1;
    const char *start = ++p;
    while (p < end && *p != '"') {
        if ((unsigned char)*p < 0x20) return -1;
        if (*p == '\\') {
            if (++p >= end) return -1;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++) if (p + i >= end || !isxdigit((unsigned char)p[i])) return -1;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p)) return -1;
        }
        p++;
    }
    if (p >= end) return -1;
    return (long)(p++ - start);
}

/// A number as JSON's grammar has it; returns its length or -1.
static long number_token(void) {
    const char *start = p;
    if (p < end && *p == '-') p++;
    if (p < end && *p == '0') p++;
    else if (p < end && *p >= '1' && *p <= '9') while (p < end && isdigit((unsigned char)*p)) p++;
    else return -1;
    if (p < end && *p == '.') { p++; if (p >= end || !isdigit((unsigned char)*p)) return -1; while (p < end && isdigit((unsigned char)*p)) p++; }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !isdigit((unsigned char)*p)) return -1;
        while (p < end && isdigit((unsigned char)*p)) p++;
    }
    return (long)(p - start);
}

static int fail(int status, const char *reason, const char *why) {
    cgi_head(status, reason, "application/json");
    printf("{\"error\":\"%s\"}\n", why);
    return 0;
}

static int by_key(const void *a, const void *b) {
    const struct field *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

int main(void) {
    static char body[MAX_BODY + 1];
    size_t size = fread(body, 1, sizeof body, stdin);
    if (size > MAX_BODY) return fail(413, "Payload Too Large", "the body is over 64 KiB");
    static struct field fields[MAX_FIELDS];
    int count = 0;
    p = body; end = body + size;
    ws();
    if (p >= end || *p++ != '{') return fail(400, "Bad Request", "expected an object");
    ws();
    if (p < end && *p == '}') p++;
    else for (;;) {
        if (count == MAX_FIELDS) return fail(422, "Unprocessable Content", "more than 256 fields");
        struct field *f = &fields[count++];
        f->key = p + 1;
        long n = string_token();
        if (n < 0) return fail(400, "Bad Request", "expected a string key");
        f->key_len = (size_t)n;
        ws();
        if (p >= end || *p++ != ':') return fail(400, "Bad Request", "expected ':'");
        ws();
        if (p < end && (*p == '{' || *p == '[')) return fail(422, "Unprocessable Content", "nested values are not supported");
        f->is_string = p < end && *p == '"';
        f->value = f->is_string ? p + 1 : p;
        if (f->is_string) n = string_token();
        else if (end - p >= 4 && (!memcmp(p, "true", 4) || !memcmp(p, "null", 4))) { n = 4; p += 4; }
        else if (end - p >= 5 && !memcmp(p, "false", 5)) { n = 5; p += 5; }
        else n = number_token();
        if (n < 0) return fail(400, "Bad Request", "malformed value");
        f->value_len = (size_t)n;
        ws();
        if (p < end && *p == ',') { p++; ws(); continue; }
        if (p < end && *p == '}') { p++; break; }
        return fail(400, "Bad Request", "expected ',' or '}'");
    }
    ws();
    if (p != end) return fail(400, "Bad Request", "trailing bytes after the object");
    qsort(fields, (size_t)count, sizeof fields[0], by_key);
    for (int i = 1; i < count; i++)
        if (by_key(&fields[i - 1], &fields[i]) == 0) return fail(422, "Unprocessable Content", "duplicate key");

    cgi_head(200, "OK", "application/json");
    printf("{\"_fields\":%d", count);
    for (int i = 0; i < count; i++) {
        printf(",\"%.*s\":", (int)fields[i].key_len, fields[i].key);
        if (!fields[i].is_string) { printf("%.*s", (int)fields[i].value_len, fields[i].value); continue; }
        putchar('"');
        for (size_t j = 0; j < fields[i].value_len; j++) {
            char c = fields[i].value[j];
            if (c == '\\') {  // an escape goes out as it came in
                size_t len = fields[i].value[j + 1] == 'u' ? 6 : 2;
                fwrite(fields[i].value + j, 1, len, stdout);
                j += len - 1;
            } else putchar(c >= 'a' && c <= 'z' ? c - 32 : c);
        }
        putchar('"');
    }
    printf("}\n");
    return 0;
}
