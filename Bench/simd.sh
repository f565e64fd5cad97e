#!/usr/bin/env bash
# The SIMD kernels (Bench/simd: histogram, strsearch and dot written with wasm_simd128.h
# intrinsics; blur and saxpy plain C that clang vectorizes) under Shoal, wasmtime and natively
# (clang-16 -O2 -msse4.1), in one run, min/median/max over ROUNDS rounds (default 3).
# Each run is a whole process: native, `shoal run --invoke run KERNEL.shoal N` and
# `wasmtime run --allow-precompiled --invoke run KERNEL.cwasm N`, both runtimes starting from
# code compiled before the run (shoal compile, wasmtime compile). Every run's checksum must equal
# native's. N is chosen so that a native run takes about 0.3 s on the bench machine.
# Usage: Bench/simd.sh [ROUNDS] [HEAP]   (HEAP: guarded (default) or bounded)
# Needs: a release build (.build/release/shoal), clang-16, and wasmtime (on PATH or WASMTIME=...).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
heap="${2:-guarded}"
shoal="${SHOAL:-.build/release/shoal}"
[ -x "$shoal" ] || { echo "build first: swift build -c release --product shoal --static-swift-stdlib"; exit 1; }
wasmtime="${WASMTIME:-$(command -v wasmtime || true)}"
[ -x "$wasmtime" ] || { echo "wasmtime not found (set WASMTIME=/path/to/wasmtime)"; exit 1; }
[ -x Bench/out/native-simd/dot ] || bash Bench/simd/build.sh > /dev/null
mkdir -p Bench/out/simd
kernels="histogram:10000 strsearch:300 dot:200000 blur:500 saxpy:60000"
for entry in $kernels; do
  k=${entry%%:*}
  "$shoal" compile --heap "$heap" "Bench/simd/$k.wasm" -o "Bench/out/simd/$k.shoal"
  "$wasmtime" compile "Bench/simd/$k.wasm" -o "Bench/out/simd/$k.cwasm"
done
results=$(mktemp)
trap 'rm -f "$results"' EXIT
ns() { date +%s%N; }
for round in $(seq 1 "$rounds"); do
  echo "round $round" >&2
  for entry in $kernels; do
    k=${entry%%:*} n=${entry##*:}
    t0=$(ns); want=$(Bench/out/native-simd/"$k" "$n" 1 | cut -d' ' -f1); t1=$(ns)
    echo "$k native $(( (t1 - t0) / 1000000 ))" >> "$results"
    t0=$(ns); got=$("$shoal" run --invoke run "Bench/out/simd/$k.shoal" "$n"); t1=$(ns)
    # Both runtimes print an i32 result as a signed number; native prints it unsigned.
    [ "$(( got & 0xFFFFFFFF ))" = "$want" ] || { echo "$k: shoal checksum $got, native $want" >&2; exit 1; }
    echo "$k shoal $(( (t1 - t0) / 1000000 ))" >> "$results"
    t0=$(ns); got=$("$wasmtime" run --allow-precompiled --invoke run "Bench/out/simd/$k.cwasm" "$n" 2> /dev/null); t1=$(ns)
    [ "$(( got & 0xFFFFFFFF ))" = "$want" ] || { echo "$k: wasmtime checksum $got, native $want" >&2; exit 1; }
    echo "$k wasmtime $(( (t1 - t0) / 1000000 ))" >> "$results"
  done
done
echo "kernel     who        min  median    max  (ms, whole process; heap $heap)"
sort -k1,1 -k2,2 -k3,3n "$results" | awk '
  function flush() { if (n) { printf "%-10s %-8s %6d %7d %6d\n", k, w, v[1], v[int((n + 1) / 2)], v[n]; med[k " " w] = v[int((n + 1) / 2)]; names[k] = 1 } }
  { if ($1 " " $2 != k " " w) { flush(); n = 0; k = $1; w = $2 } v[++n] = $3 }
  END {
    flush(); print ""
    for (k in names) {
      printf "%-10s shoal/native %.2fx  wasmtime/native %.2fx  shoal/wasmtime %.2fx\n", k,
        med[k " shoal"] / med[k " native"], med[k " wasmtime"] / med[k " native"], med[k " shoal"] / med[k " wasmtime"]
      s += log(med[k " shoal"] / med[k " native"]); t += log(med[k " wasmtime"] / med[k " native"]); c++
    }
    printf "geomean    shoal/native %.2fx  wasmtime/native %.2fx  shoal/wasmtime %.2fx  (%d kernels, medians)\n", exp(s / c), exp(t / c), exp((s - t) / c), c
  }'
