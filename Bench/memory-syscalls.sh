#!/usr/bin/env bash
# What memory images and slot resets cost at the system-call level (C, clang-16 -O2):
# memcpy into resident pages vs a copy-on-write memfd mapping of the image (4 KiB, 64 KiB, 1 MiB),
# and each step of a slot reset (mincore, madvise across guard mappings, memsets).
# Usage: Bench/memory-syscalls.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p Bench/out
clang-16 -O2 -o Bench/out/memfd Bench/image-copy/memfd.c
clang-16 -O2 -pthread -o Bench/out/reset-syscalls Bench/slot-reset/syscalls.c
for bytes in 4096 65536 1048576; do Bench/out/memfd "$bytes"; done
Bench/out/reset-syscalls
