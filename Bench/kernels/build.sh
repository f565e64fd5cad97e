#!/usr/bin/env bash
# Rebuilds the committed kernel modules (*.wasm) from their C sources with clang-16, and the native
# builds (into Bench/out/native, not committed) used as the baseline.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../out/native"
mkdir -p "$out"
for c in "$here"/*.c; do
  name="$(basename "$c" .c)"
  [ "$name" = native_main ] && continue
  clang-16 --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,-z,stack-size=1048576 "$c" -o "$here/$name.wasm"
  clang-16 -O2 "$c" "$here/native_main.c" -o "$out/$name" -lm
done
ls -l "$here"/*.wasm
