#!/usr/bin/env bash
# Rebuilds the guest (guest.c -> ../Sources/embed/guest.wasm) with clang-16 and wasm-ld-16: plain
# wasm32, no libc, no entry point; the imports are named in the source, the export too.
# Debian/Ubuntu: apt-get install -y clang-16 lld-16
set -euo pipefail
cd "$(dirname "$0")"
clang-16 --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export=handle \
  guest.c -o ../Sources/embed/guest.wasm
ls -l ../Sources/embed/guest.wasm
