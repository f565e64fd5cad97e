#!/usr/bin/env bash
# Rebuilds the committed programs (*.wasm) from their C sources with clang-16 and wasi-libc.
# Debian/Ubuntu: apt-get install -y clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32
set -euo pipefail
cd "$(dirname "$0")"
for c in *.c; do
  clang-16 --target=wasm32-wasi -O2 -Wl,--strip-all "$c" -o "${c%.c}.wasm"
done
ls -l *.wasm
