#!/usr/bin/env bash
# Rebuilds the committed SIMD kernel modules (*.wasm) with clang-16 (-O2 -msimd128), and their
# native baselines (-O2 -msse4.1, into Bench/out/native-simd, not committed). histogram, strsearch
# and dot are written with wasm_simd128.h intrinsics (simd_compat.h maps them to SSE4.1 natively);
# blur and saxpy are plain C that clang vectorizes on both sides. Neither side contracts a*b+c
# into a fused multiply-add, so float results agree bit for bit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../out/native-simd"
mkdir -p "$out"
flags="-O2 -ffp-contract=off"
for c in "$here"/*.c; do
  name="$(basename "$c" .c)"
  clang-16 --target=wasm32 $flags -msimd128 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,-z,stack-size=1048576 "$c" -o "$here/$name.wasm"
  clang-16 $flags -msse4.1 "$c" "$here/../kernels/native_main.c" -o "$out/$name" -lm
done
ls -l "$here"/*.wasm
