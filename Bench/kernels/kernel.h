/* Shared by every kernel: the exported entry point, and memory helpers without libc. */
#ifndef SHOAL_KERNEL_H
#define SHOAL_KERNEL_H
#include <stdint.h>
#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(name)))
#else
#define EXPORT(name)
#endif
#define NOINLINE __attribute__((noinline))
/* Every kernel defines: uint32_t run(uint32_t n), returning a checksum of its work. */
uint32_t run(uint32_t n);
#endif
