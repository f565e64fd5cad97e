#!/usr/bin/env bash
# Issue 17: the cost of one page-cached read by each non-blocking path (Bench/wasi/read_paths.c),
# next to read(2): min / median / max over ROUNDS rounds of reading the 1 GiB Bench/out/stream.bin
# (made by Bench/wasi-io.sh, or here) in CHUNK-byte reads. Answers whether registered files or
# buffers on io_uring would beat preadv2(RWF_NOWAIT) for guest reads that cannot block.
# depthN is preadv2 reached through N extra call frames (see read_paths.c).
# Usage: Bench/read-paths.sh [ROUNDS] [CHUNK]     (MODES="read depth0 ..." for a subset)
# Needs: clang-16 (or cc), liburing-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
chunk="${2:-4096}"
mkdir -p Bench/out/native
"$(command -v clang-16 || echo cc)" -O2 -pthread Bench/wasi/read_paths.c -o Bench/out/native/read_paths -luring
file=Bench/out/stream.bin
[ -f "$file" ] && [ "$(stat -c %s "$file")" -eq 1073741824 ] || head -c 1073741824 /dev/urandom > "$file"
cat "$file" > /dev/null  # into the page cache
modes="${MODES:-read preadv2 uring uring-fixed uring-fixedbuf depth0 depth2 depth4 depth6}"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for _ in $(seq 1 "$rounds"); do
  for m in $modes; do
    out=$(Bench/out/native/read_paths "$file" "$m" "$chunk")
    [ "$(echo "$out" | cut -d' ' -f2)" = 1073741824 ] || { echo "$m: short read ($out)" >&2; exit 1; }
    echo "$out" >> "$results"
  done
done
echo "mode             min    median  max     (ms, $rounds rounds, $chunk-byte reads of 1 GiB)"
for m in $modes; do
  grep "^$m " "$results" | cut -d' ' -f3 | sort -n | awk -v m="$m" '{ v[NR] = $1 } END { printf "%-15s %7.1f %7.1f %7.1f\n", m, v[1], v[int((NR + 1) / 2)], v[NR] }'
done
