#!/usr/bin/env bash
# Runs every kernel natively (clang-16 -O2) and under Shoal (release build), and prints per-kernel
# ratios and their geometric mean. Usage: Bench/kernels.sh [guarded|bounded] [repeats] [baseline|optimized]
set -euo pipefail
cd "$(dirname "$0")/.."
heap="${1:-guarded}"
repeats="${2:-5}"
tier="${3:-baseline}"
[ -x Bench/out/native/fib ] || bash Bench/kernels/build.sh > /dev/null
swift build -c release --product KernelBench > /dev/null
declare -A native
while read -r name n; do
  set -- $(Bench/out/native/"$name" "$n" "$repeats")
  native[$name]="$1 $2"
done <<'SIZES'
calls 25000000
crc32 600
fib 35
hash64 30000000
indirect 40000000
interp 5000
mandelbrot 4000
matmul 50
nbody 2000000
quicksort 15
sieve 30
SIZES
printf "%-11s %12s %12s %7s\n" kernel native_ms shoal_ms ratio
.build/release/KernelBench Bench/kernels "$heap" "$repeats" "$tier" | while read -r name checksum ns rest; do
  if [ "$name" = compile ]; then echo "$name $checksum $ns $rest"; continue; fi
  set -- ${native[$name]}
  if [ "$1" != "$checksum" ]; then echo "$name: CHECKSUM MISMATCH native $1 shoal $checksum"; continue; fi
  awk -v k="$name" -v a="$2" -v b="$ns" 'BEGIN { printf "%-11s %12.2f %12.2f %7.2f\n", k, a/1e6, b/1e6, b/a }'
  echo "$name $2 $ns" >> /tmp/shoal-kernels.$$
done
awk '{ s += log($3/$2); n++ } END { printf "geomean ratio (shoal/native): %.2f over %d kernels\n", exp(s/n), n }' /tmp/shoal-kernels.$$
rm -f /tmp/shoal-kernels.$$
