#!/usr/bin/env bash
# Rebuilds the committed WASI test programs (*.wasm) from their C sources with clang-16 and wasi-libc,
# and the C++ ones with libc++ for wasm32 (Debian: libc++-16-dev-wasm32, libc++abi-16-dev-wasm32).
set -euo pipefail
cd "$(dirname "$0")"
for c in *.c; do
  [ "$c" = simd.c ] && continue
  clang-16 --target=wasm32-wasi -O2 "$c" -o "${c%.c}.wasm"
done
# Vectorized: v128 code from the auto-vectorizer and from wasm_simd128.h intrinsics.
clang-16 --target=wasm32-wasi -O3 -msimd128 simd.c -o simd.wasm
for cpp in *.cpp; do
  clang++-16 --target=wasm32-wasi -O2 -fno-exceptions -isystem /usr/include/wasm32-wasi/c++/v1 "$cpp" -o "${cpp%.cpp}.wasm"
done
ls -l *.wasm
