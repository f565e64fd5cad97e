#!/usr/bin/env bash
# WASI I/O (issue 17): Shoal against native code and wasmtime's CLI, and optionally against a
# baseline Shoal build, all in one run, min/median/max over ROUNDS rounds (default 3):
#   stream  one guest streaming a 1 GiB page-cached file (Bench/wasi/stream.wasm) in 4 KiB, 64 KiB
#           and 1 MiB reads; the whole command timed (process start, load, run). Both runtimes
#           start from code compiled ahead of the run: Shoal from an artifact (`shoal compile
#           --tier optimized`, or TIER=baseline),
#           wasmtime from a .cwasm (`wasmtime compile`, run with --allow-precompiled), so that
#           neither run includes compiling and both load the same way.
#           "sum": the guest adds up every byte (its compiled loop counts too); "count": I/O only.
#           Wall time, and CPU time (user + system) as "-cpu"
#   many    1,000 concurrent guests, each streaming its own 1 MiB file in 64 KiB reads: Shoal runs
#           them as `--instances 1000` in one process; wasmtime and native as 1,000 processes
#           started 1,000 at a time (xargs -P 1000). Aggregate MiB/s, and the p99 of the time from
#           the batch's start until each guest finished
#   echo    1,000 concurrent loopback connections echoing 1 MiB each (Tests/wasi-programs/echo.wasm
#           against Bench/out/native/echo_threads, a thread per connection; same load generator)
# Usage: Bench/wasi-io.sh [ROUNDS] [BASELINE_SHOAL]
#   BASELINE_SHOAL: a release `shoal` built from another commit, e.g.
#     git worktree add --detach /tmp/base main && (cd /tmp/base && swift build -c release --product shoal --static-swift-stdlib)
#     Bench/wasi-io.sh 3 /tmp/base/.build/release/shoal
# Needs: a release build of this tree (.build/release/shoal), clang-16 (Bench/wasi/build.sh), and
# wasmtime (on PATH, or WASMTIME=/path/to/wasmtime).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
baseline="${2:-}"
shoal=.build/release/shoal
[ -x "$shoal" ] || { echo "build first: swift build -c release --product shoal --static-swift-stdlib"; exit 1; }
wasmtime="${WASMTIME:-$(command -v wasmtime || true)}"
[ -x "$wasmtime" ] || { echo "wasmtime not found (set WASMTIME=/path/to/wasmtime)"; exit 1; }
guests=1000
mkdir -p Bench/out/many
[ -x Bench/out/native/stream ] && [ -x Bench/out/native/echo_client ] || bash Bench/wasi/build.sh > /dev/null
file=Bench/out/stream.bin
[ -f "$file" ] && [ "$(stat -c %s "$file")" -eq 1073741824 ] || head -c 1073741824 /dev/urandom > "$file"
for i in $(seq 0 $((guests - 1))); do
  [ -f "Bench/out/many/f$i" ] || head -c 1048576 /dev/urandom > "Bench/out/many/f$i"
done
expected=$(Bench/out/native/stream "$file")
# The precompiled guests (see the header), made by each runtime being measured.
artifact_of() { echo "Bench/out/stream-$1.shoal"; }
"$wasmtime" compile Bench/wasi/stream.wasm -o Bench/out/stream.cwasm
results=$(mktemp)
cputime=$(mktemp)
trap 'rm -f "$results" "$cputime"' EXIT
ns() { date +%s%N; }
record() { echo "$1 $2 $3" >> "$results"; }  # experiment, who, value

shoals=(new)
[ -n "$baseline" ] && shoals+=(base)
bin_of() { [ "$1" = base ] && echo "$baseline" || echo "$shoal"; }
# Shoal's artifacts come from its optimizing tier (TIER=baseline to measure the other), as
# wasmtime's .cwasm comes from Cranelift; a build older than the tiers compiles with what it has.
tier="${TIER:-optimized}"
for who in "${shoals[@]}"; do
  tier_flag=()
  "$(bin_of "$who")" compile --help | grep -q -- --tier && tier_flag=(--tier "$tier")
  "$(bin_of "$who")" compile "${tier_flag[@]}" Bench/wasi/stream.wasm -o "$(artifact_of "$who")" > /dev/null
  "$(bin_of "$who")" compile "${tier_flag[@]}" --heap bounded Bench/wasi/stream.wasm -o "$(artifact_of "$who-bounded")" > /dev/null
done

# One stream: the command's wall time in ms; the output checked against native's. Mode "sum" is
# the guest summing every byte (its own compute included), "count" the I/O path alone.
# Also its CPU time (user + system, every thread): on a machine shared with other work, CPU time
# moves less with the load than wall time does.
stream_once() {  # who chunk sum|count
  local out t0 t1 want="$expected" cpu
  [ "$3" = count ] && want="1073741824 bytes, sum 0"
  cat "$file" > /dev/null
  t0=$(ns)
  case "$1" in
    native) out=$(/usr/bin/time -f "%U %S" -o "$cputime" Bench/out/native/stream "$file" "$2" "$3") ;;
    wasmtime) out=$(/usr/bin/time -f "%U %S" -o "$cputime" "$wasmtime" run --allow-precompiled --dir Bench/out::/data Bench/out/stream.cwasm /data/stream.bin "$2" "$3") ;;
    *) out=$(/usr/bin/time -f "%U %S" -o "$cputime" "$(bin_of "$1")" run --dir Bench/out::/data "$(artifact_of "$1")" /data/stream.bin "$2" "$3") ;;
  esac
  t1=$(ns)
  [ "$out" = "$want" ] || { echo "$1: OUTPUT MISMATCH: $out" >&2; exit 1; }
  cpu=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$cputime")
  record "stream-$3-$2" "$1" $(( (t1 - t0) / 1000000 ))
  record "stream-$3-$2-cpu" "$1" "$cpu"
}

# 1,000 processes, 1,000 at a time; each prints when it finished (ms since the batch started: the
# same measure as shoal's per-instance latency, from submission to completion). Prints the total
# wall time (ms), and writes the per-process times to $2.
processes_once() {  # native|wasmtime times-file
  local t0 t1
  cat Bench/out/many/* > /dev/null
  t0=$(ns)
  export BATCH_START=$EPOCHREALTIME
  seq 0 $((guests - 1)) | xargs -P "$guests" -I{} bash -c '
    if [ "$0" = wasmtime ]; then "$1" run --allow-precompiled --dir Bench/out/many::/data Bench/out/stream.cwasm /data/f{} > /dev/null
    else Bench/out/native/stream Bench/out/many/f{} > /dev/null; fi
    e=$EPOCHREALTIME
    echo $(( (${e/./} - ${BATCH_START/./}) / 1000 ))' "$1" "$wasmtime" > "$2"
  t1=$(ns)
  echo $(( (t1 - t0) / 1000000 ))
}

many_once() {  # who
  local wall p99 times
  if [ "$1" = native ] || [ "$1" = wasmtime ]; then
    times=$(mktemp)
    wall=$(processes_once "$1" "$times")
    [ "$(wc -l < "$times")" -eq "$guests" ] || { echo "$1: not every process finished" >&2; exit 1; }
    p99=$(sort -n "$times" | awk -v n="$guests" 'NR == int(n * 0.99) { print; exit }')
    rm -f "$times"
  else
    cat Bench/out/many/* > /dev/null
    local t0 t1 out
    t0=$(ns)
    out=$("$(bin_of "$1")" run --instances "$guests" --dir Bench/out/many::/data "$(artifact_of "$1-bounded")" '/data/f{i}' 2> /dev/null)
    t1=$(ns)
    echo "$out" | grep -q "^completed: *$guests\$" || { echo "$1: $out" >&2; exit 1; }
    wall=$(( (t1 - t0) / 1000000 ))
    p99=$(echo "$out" | awk '/latency p99/ { printf "%d", $3 }')
  fi
  record many-wall-ms "$1" "$wall"
  record many-MiB/s "$1" $(( guests * 1000 / wall ))
  record many-p99-ms "$1" "$p99"
}

# Starts the echo server for `who` on a free port and waits until it listens; sets `port` and
# `server` (its pid, a child of this shell so that it can be waited for).
# A server that dies (another program took the port first) is retried on another port; a fixed
# sleep would not do on a loaded machine, and probing with a connection would use up an accept.
start_echo_server() {  # who
  local attempt
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    ss -ltnH "sport = :$port" | grep -q . && continue
    if [ "$1" = native ]; then
      Bench/out/native/echo_threads "$port" "$guests" > /tmp/wasi-io-echo.txt 2>&1 &
    else
      "$(bin_of "$1")" run --instances "$guests" --tcplisten "127.0.0.1:$port" Tests/wasi-programs/echo.wasm 1 > /tmp/wasi-io-echo.txt 2>&1 &
    fi
    server=$!
    for _ in $(seq 1 600); do
      if ss -ltnH "sport = :$port" | grep -q .; then return 0; fi
      kill -0 "$server" 2> /dev/null || break
      sleep 0.1
    done
    kill "$server" 2> /dev/null || true
    wait "$server" 2> /dev/null || true
  done
  echo "could not start the $1 echo server: $(cat /tmp/wasi-io-echo.txt)" >&2
  exit 1
}

echo_once() {  # who
  local out
  start_echo_server "$1"
  sleep 1  # and let the server finish starting (shoal: instantiate its 1,000 instances)
  out=$(Bench/out/native/echo_client 127.0.0.1 "$port" "$guests" 1048576)
  wait "$server" || { cat /tmp/wasi-io-echo.txt; exit 1; }
  record echo-ms "$1" "$(echo "$out" | awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "s:") printf "%d", $i * 1000 }')"
}

for round in $(seq 1 "$rounds"); do
  echo "round $round" >&2
  for mode in sum count; do
    for chunk in 4096 65536 1048576; do
      for who in native "${shoals[@]}" wasmtime; do stream_once "$who" "$chunk" "$mode"; done
    done
  done
  for who in native "${shoals[@]}" wasmtime; do many_once "$who"; done
  for who in native "${shoals[@]}"; do echo_once "$who"; done
done

# min/median/max per experiment and runner, then the ratios of the medians.
echo "experiment        who        min    median    max   (ms, except MiB/s)"
sort -k1,1 -k2,2 -k3,3n "$results" | awk '
  function flush() { if (n) printf "%-17s %-8s %7d %8d %7d\n", key1, key2, v[1], v[int((n + 1) / 2)], v[n]; med[key1 " " key2] = v[int((n + 1) / 2)] }
  { if ($1 " " $2 != key1 " " key2) { flush(); n = 0; key1 = $1; key2 = $2 } v[++n] = $3 }
  END {
    flush()
    print ""
    for (k in med) { split(k, p, " "); if (p[2] == "new") {
      e = p[1]; line = sprintf("%-17s", e)
      if ((e " native") in med && med[e " native"] > 0) line = line sprintf("  new/native %.2fx", e ~ /MiB/ ? med[e " native"] / med[k] : med[k] / med[e " native"])
      if ((e " wasmtime") in med && med[e " wasmtime"] > 0) line = line sprintf("  new/wasmtime %.2fx", e ~ /MiB/ ? med[e " wasmtime"] / med[k] : med[k] / med[e " wasmtime"])
      if ((e " base") in med && med[e " base"] > 0) line = line sprintf("  new/base %.2fx", e ~ /MiB/ ? med[e " base"] / med[k] : med[k] / med[e " base"])
      print line } }
    print "(ratios of medians, as slowdowns: time over time, or throughput over throughput inverted; < 1 is faster)"
  }'
