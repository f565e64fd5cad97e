#!/usr/bin/env bash
# Rebuilds the committed WASI test programs (*.wasm) from their C sources with clang-16 and wasi-libc.
set -euo pipefail
cd "$(dirname "$0")"
for c in *.c; do
  clang-16 --target=wasm32-wasi -O2 "$c" -o "${c%.c}.wasm"
done
ls -l *.wasm
