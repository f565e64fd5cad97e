#!/usr/bin/env bash
# Issue 18: the compiler tiers against native code and wasmtime, in one run, min/median/max over
# ROUNDS rounds (default 3).
#   kernels  the C kernels of Bench/kernels, each a whole process from precompiled code:
#            native (clang-16 -O2), `shoal run --invoke run` of an artifact from
#            `shoal compile --tier baseline` and `--tier optimized`, and wasmtime (Cranelift) from
#            a .cwasm; every checksum must equal native's. Per kernel and geomean, per tier.
#   compile  compile throughput (MB of wasm per second of wall time, whole `compile` command) of
#            Bench/out/large.wasm (Bench/large-module/build.sh) and, when present, the 24 MB
#            Bench/out/cc1.wasm (Bench/artifact/fetch-cc1.sh), per Shoal tier, against
#            `wasmtime compile` with Cranelift and with Winch.
#   first    time to first response of a large program, per tier and under --tier auto: the whole
#            `shoal run --tier X Bench/out/cc1.wasm --version` (compile from source, no cache,
#            instantiate, print, exit). Under auto the optimizing tier compiles in the background
#            meanwhile and is abandoned at exit. Skipped (loudly) without cc1.wasm.
# Usage: Bench/tiers-wasmtime.sh [ROUNDS] [HEAP]   (HEAP: guarded (default) or bounded)
# Needs: a release build (.build/release/shoal, or SHOAL=...), clang-16, wasmtime (on PATH or WASMTIME=...).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
heap="${2:-guarded}"
shoal="${SHOAL:-.build/release/shoal}"
[ -x "$shoal" ] || { echo "build first: swift build -c release --product shoal --static-swift-stdlib"; exit 1; }
wasmtime="${WASMTIME:-$(command -v wasmtime || true)}"
[ -x "$wasmtime" ] || { echo "wasmtime not found (set WASMTIME=/path/to/wasmtime)"; exit 1; }
[ -x Bench/out/native/fib ] || bash Bench/kernels/build.sh > /dev/null
[ -s Bench/out/large.wasm ] || bash Bench/large-module/build.sh > /dev/null
mkdir -p Bench/out/tiers
# N per kernel: Bench/KernelBench's sizes (a native run of about 0.05-0.2 s), times 3, so that
# process start is a small part of every run.
kernels="calls:75000000 crc32:1800 fib:37 hash64:90000000 indirect:120000000 interp:15000 mandelbrot:12000 matmul:150 nbody:6000000 quicksort:45 sieve:90"
tiers="baseline optimized"
for entry in $kernels; do
  k=${entry%%:*}
  for tier in $tiers; do "$shoal" compile --tier "$tier" --heap "$heap" "Bench/kernels/$k.wasm" -o "Bench/out/tiers/$k-$tier.shoal"; done
  "$wasmtime" compile "Bench/kernels/$k.wasm" -o "Bench/out/tiers/$k.cwasm"
done
results=$(mktemp)
trap 'rm -f "$results"' EXIT
ns() { date +%s%N; }
modules=(Bench/out/large.wasm)
if [ -s Bench/out/cc1.wasm ]; then modules+=(Bench/out/cc1.wasm)
else echo "WARNING: Bench/out/cc1.wasm missing (Bench/artifact/fetch-cc1.sh): no compile or first-response rows for it" >&2; fi
for round in $(seq 1 "$rounds"); do
  echo "round $round" >&2
  for entry in $kernels; do
    k=${entry%%:*} n=${entry##*:}
    t0=$(ns); want=$(Bench/out/native/"$k" "$n" 1 | cut -d' ' -f1); t1=$(ns)
    echo "$k native $(( (t1 - t0) / 1000000 ))" >> "$results"
    for tier in $tiers; do
      t0=$(ns); got=$("$shoal" run --invoke run "Bench/out/tiers/$k-$tier.shoal" "$n"); t1=$(ns)
      # The runtimes print an i32 result as a signed number; native prints it unsigned.
      [ "$(( got & 0xFFFFFFFF ))" = "$want" ] || { echo "$k: shoal $tier checksum $got, native $want" >&2; exit 1; }
      echo "$k $tier $(( (t1 - t0) / 1000000 ))" >> "$results"
    done
    t0=$(ns); got=$("$wasmtime" run --allow-precompiled --invoke run "Bench/out/tiers/$k.cwasm" "$n" 2> /dev/null); t1=$(ns)
    [ "$(( got & 0xFFFFFFFF ))" = "$want" ] || { echo "$k: wasmtime checksum $got, native $want" >&2; exit 1; }
    echo "$k wasmtime $(( (t1 - t0) / 1000000 ))" >> "$results"
  done
  if [ -s Bench/out/cc1.wasm ]; then
    for tier in baseline optimized auto; do
      t0=$(ns); "$shoal" run --tier "$tier" Bench/out/cc1.wasm --version > /dev/null 2>&1; t1=$(ns)
      echo "first-response-cc1 $tier $(( (t1 - t0) / 1000000 ))" >> "$results"
    done
  fi
  for m in "${modules[@]}"; do
    name=compile-$(basename "$m" .wasm)
    for tier in $tiers; do
      t0=$(ns); "$shoal" compile --tier "$tier" --heap "$heap" "$m" -o Bench/out/tiers/module.shoal; t1=$(ns)
      echo "$name shoal-$tier $(( (t1 - t0) / 1000000 ))" >> "$results"
    done
    for compiler in cranelift winch; do
      t0=$(ns); "$wasmtime" compile -C compiler=$compiler "$m" -o Bench/out/tiers/module.cwasm; t1=$(ns)
      echo "$name wasmtime-$compiler $(( (t1 - t0) / 1000000 ))" >> "$results"
    done
  done
done
echo "experiment          who                   min  median     max  (ms, whole process; heap $heap)"
sort -k1,1 -k2,2 -k3,3n "$results" | awk '
  function flush() { if (n) { printf "%-19s %-19s %6d %7d %7d\n", k, w, v[1], v[int((n + 1) / 2)], v[n]; med[k " " w] = v[int((n + 1) / 2)]; if (k !~ /^(compile|first)/) names[k] = 1 } }
  { if ($1 " " $2 != k " " w) { flush(); n = 0; k = $1; w = $2 } v[++n] = $3 }
  END {
    flush(); print ""
    printf "%-11s %9s %10s %9s %13s %14s\n", "kernel", "baseline", "optimized", "wasmtime", "opt/wasmtime", "opt faster?"
    for (k in names) {
      b = med[k " baseline"] / med[k " native"]; o = med[k " optimized"] / med[k " native"]; w = med[k " wasmtime"] / med[k " native"]
      printf "%-11s %8.2fx %9.2fx %8.2fx %12.2fx %14s\n", k, b, o, w, o / w, o < w ? "yes" : "no"
      sb += log(b); so += log(o); sw += log(w); c++; if (o < w) faster++
    }
    printf "%-11s %8.2fx %9.2fx %8.2fx %12.2fx %11d of %d\n", "geomean", exp(sb / c), exp(so / c), exp(sw / c), exp((so - sw) / c), faster, c
    print "(slowdowns against native, medians of whole-process times)"
  }'
for m in "${modules[@]}"; do
  name=compile-$(basename "$m" .wasm); size=$(stat -c %s "$m")
  sort -k1,1 -k2,2 -k3,3n "$results" | awk -v name="$name" -v size="$size" '
    $1 == name { t[$2] = t[$2] " " $3 }
    END { for (w in t) { n = split(t[w], v, " "); printf "%-19s %-19s %8.1f MB/s (median %d ms)\n", name, w, size / 1e6 / (v[int((n + 1) / 2)] / 1000), v[int((n + 1) / 2)] } }'
done
