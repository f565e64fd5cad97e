#!/usr/bin/env bash
# Streams a 1 GiB file through a WASI guest (fd_read on io_uring) and through the same C program
# built natively; prints both throughputs and the ratio (and wasmtime's, when it is installed).
# Usage: Bench/wasi-stream.sh [MiB]   (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
mib="${1:-1024}"
mkdir -p Bench/out
file=Bench/out/stream.bin
if [ ! -f "$file" ] || [ "$(stat -c %s "$file")" -ne $((mib * 1048576)) ]; then
  head -c $((mib * 1048576)) /dev/urandom > "$file"
fi
[ -x Bench/out/native/stream ] || bash Bench/wasi/build.sh
swift build -c release --product shoal > /dev/null
cat "$file" > /dev/null  # warm the page cache for both runs
ns() { date +%s%N; }
t0=$(ns); native=$(Bench/out/native/stream "$file"); t1=$(ns)
shoal=$(.build/release/shoal run --dir Bench/out::/data Bench/wasi/stream.wasm /data/stream.bin); t2=$(ns)
echo "native: $native in $(( (t1 - t0) / 1000000 )) ms"
echo "shoal:  $shoal in $(( (t2 - t1) / 1000000 )) ms (including compile and instantiate)"
[ "$native" = "$shoal" ] || { echo "OUTPUT MISMATCH"; exit 1; }
awk -v m="$mib" -v a=$((t1 - t0)) -v b=$((t2 - t1)) 'BEGIN { printf "throughput: native %.0f MiB/s, shoal %.0f MiB/s, ratio %.2fx\n", m / (a / 1e9), m / (b / 1e9), b / a }'
# wasmtime: its CLI when installed, else its Python package (pip install wasmtime) through
# Bench/wasi/wasmtime-run.py; timed the same way (process start, compile, run).
if command -v wasmtime > /dev/null; then
  reference=(wasmtime run)
elif python3 -c "import wasmtime" 2> /dev/null; then
  reference=(python3 Bench/wasi/wasmtime-run.py)
fi
if [ -n "${reference:-}" ]; then
  t3=$(ns); out=$("${reference[@]}" --dir Bench/out::/data Bench/wasi/stream.wasm /data/stream.bin); t4=$(ns)
  [ "$out" = "$native" ] || { echo "WASMTIME OUTPUT MISMATCH: $out"; exit 1; }
  t5=$(ns); "${reference[@]}" Tests/wasi-programs/hello.wasm > /dev/null 2>&1 || true; t6=$(ns)
  awk -v m="$mib" -v c=$((t4 - t3)) -v b=$((t2 - t1)) -v s=$((t6 - t5)) -v who="${reference[*]}" 'BEGIN {
    printf "wasmtime (%s): %.0f MiB/s in %.0f ms (a trivial program takes %.0f ms to start there); shoal/wasmtime time %.2fx\n", who, m / (c / 1e9), c / 1e6, s / 1e6, b / c }'
else
  echo "wasmtime: not installed, neither the CLI nor the Python package (skipped)"
fi
