#!/usr/bin/env bash
# Rebuilds the WASI benchmark programs (committed .wasm) and their native twins (Bench/out/native).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/../out/native"
for c in "$here"/*.c; do
  name="$(basename "$c" .c)"
  clang-16 --target=wasm32-wasi -O2 "$c" -o "$here/$name.wasm"
  clang-16 -O2 "$c" -o "$here/../out/native/$name"
done
