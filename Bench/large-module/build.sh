#!/usr/bin/env bash
# Builds Bench/out/large.wasm (a few MB of code) from a generated C program with clang-16.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../out"
mkdir -p "$out"
python3 "$here/gen.py" "${1:-6000}" > "$out/large.c"
clang-16 --target=wasm32 -O2 -w -nostdlib -Wl,--no-entry -Wl,--export-all -Wl,--allow-undefined \
  "$out/large.c" -o "$out/large.wasm"
ls -l "$out/large.wasm"
