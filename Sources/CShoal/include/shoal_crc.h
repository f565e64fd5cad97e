// CRC-32C (Castagnoli), the artifact format's checksum.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// CRC-32C of `length` bytes, continuing from `crc` (0 to start). Uses the SSE4.2 crc32
/// instruction when the CPU has it (about 8 bytes per cycle-ish), else a table.
uint32_t shoal_crc32c(uint32_t crc, const void *data, size_t length);

/// The same with the table only (the reference the tests compare the fast path with).
uint32_t shoal_crc32c_portable(uint32_t crc, const void *data, size_t length);
