#!/usr/bin/env bash
# Rebuilds the WASI benchmark programs (committed .wasm) and the native programs (Bench/out/native).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/../out/native"
clang-16 --target=wasm32-wasi -O2 "$here/stream.c" -o "$here/stream.wasm"
clang-16 -O2 "$here/stream.c" -o "$here/../out/native/stream"
clang-16 -O2 "$here/echo_client.c" -o "$here/../out/native/echo_client"
clang-16 -O2 -pthread "$here/echo_threads.c" -o "$here/../out/native/echo_threads"
