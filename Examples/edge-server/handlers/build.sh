#!/usr/bin/env bash
# Rebuilds the committed handlers (*.wasm) from src/*.c with clang-16 and wasi-libc.
# Debian: apt-get install -y clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32
# trap.wasm keeps its name section, so that the server's log names the functions of its backtrace.
#
# With --native DIR, builds instead the native programs hello, sleep and json into DIR (cc -O2),
# for the process-per-request baseline (/process/NAME, Scripts/load-test.sh); the .wasm files are
# left as they are.
set -euo pipefail
cd "$(dirname "$0")"
if [ "${1:-}" = --native ]; then
  mkdir -p "$2"
  for name in hello sleep json; do cc -O2 -Wall -Werror "src/$name.c" -o "$2/$name"; done
  exit 0
fi
for c in src/*.c; do
  name=$(basename "${c%.c}")
  strip="-Wl,--strip-all"
  [ "$name" = trap ] && strip=""
  clang-16 --target=wasm32-wasi -O2 -Wall -Werror $strip "$c" -o "$name.wasm"
done
ls -l *.wasm
