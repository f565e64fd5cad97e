// Writing a report to stderr with nothing but write(2): usable from a signal handler and from
// code that is about to abort because the process's state can no longer be trusted.
#pragma once
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static inline void shoal_report(const char *s) {
    ssize_t ignored = write(STDERR_FILENO, s, strlen(s));
    (void)ignored;
}

/// `label` then `value` as 0x and 16 hex digits.
static inline void shoal_report_hex(const char *label, uint64_t value) {
    char text[19] = "0x";
    for (int i = 0; i < 16; i++) text[2 + i] = "0123456789abcdef"[(value >> (60 - 4 * i)) & 15];
    text[18] = 0;
    shoal_report(label);
    shoal_report(text);
}
