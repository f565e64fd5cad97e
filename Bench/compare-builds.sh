#!/usr/bin/env bash
# Runs the scheduler-facing benchmarks with two builds of `shoal`, alternately, in one run, so that a
# change is compared with its baseline on the same machine under the same load:
#   stream  one guest reading a 1 GiB file (Bench/wasi/stream.wasm), the whole `shoal run`
#   density 100,000 instances parked in shoal.sleep_ms(5000) (Bench/density/sleeper.wat)
#   echo    1,000 concurrent loopback connections of 1 MiB (Tests/wasi-programs/echo.wasm)
# Usage: Bench/compare-builds.sh BASELINE_SHOAL NEW_SHOAL [ROUNDS]   (release binaries; default 3 rounds)
# Example: git worktree add /tmp/base <commit> && (cd /tmp/base && swift build -c release --product shoal)
#          Bench/compare-builds.sh /tmp/base/.build/release/shoal .build/release/shoal
set -euo pipefail
cd "$(dirname "$0")/.."
base="$1"; new="$2"; rounds="${3:-3}"
mib=1024
mkdir -p Bench/out
file=Bench/out/stream.bin
[ -f "$file" ] && [ "$(stat -c %s "$file")" -eq $((mib * 1048576)) ] || head -c $((mib * 1048576)) /dev/urandom > "$file"
[ -x Bench/out/native/echo_client ] || bash Bench/wasi/build.sh > /dev/null
ns() { date +%s%N; }
for round in $(seq 1 "$rounds"); do
  for which in base new; do
    bin=$base; [ "$which" = new ] && bin=$new
    cat "$file" > /dev/null
    t0=$(ns); "$bin" run --dir Bench/out::/data Bench/wasi/stream.wasm /data/stream.bin > /dev/null; t1=$(ns)
    echo "round $round $which stream_ms $(( (t1 - t0) / 1000000 ))"
    "$bin" run --instances 100000 --guard-pages never --invoke run Bench/density/sleeper.wat 5000 2> /dev/null |
      awk -v r="$round" -v w="$which" '/wall time/ { t = $3 } /bytes\/instance/ { b = $2 } /peak RSS/ { m = $3 }
        END { printf "round %s %s density_wall_s %s density_rss_mib %s density_bytes_per_instance %s\n", r, w, t, m, b }'
    port=$((20000 + RANDOM % 20000))
    "$bin" run --instances 1000 --tcplisten "127.0.0.1:$port" Tests/wasi-programs/echo.wasm 1 > /tmp/compare-echo.txt 2>&1 &
    server=$!
    sleep 2
    out=$(Bench/out/native/echo_client 127.0.0.1 "$port" 1000 1048576)
    wait $server || { cat /tmp/compare-echo.txt; exit 1; }
    echo "round $round $which echo $out"
  done
done
