#!/usr/bin/env bash
# Load test on loopback: requests/s and p50/p99 latency under wrk with 1,000 connections, for the
# hello handler and for the sleeping (I/O-bound) handler, each served three ways by the same
# release-built server:
#   wasm     /hello, /sleep           a fresh Shoal instance per request (what the server is for)
#   native   /native/hello, /native/sleep   the same logic as Hummingbird routes (the lower bound)
#   process  /process/hello, /process/sleep the same C program built natively, run as a new
#                                           process per request, CGI-style (posix_spawn)
# RUNS rounds (default 3), each running every case once; the table gives min/median/max
# requests/s and the median of the runs' p50 and p99. Non-2xx answers and socket errors are reported, not hidden.
#
#   swift build -c release --product edge-server
#   Scripts/load-test.sh                 # RUNS=3 DURATION=10s CONNECTIONS=1000 SLEEP_MS=10
#
# wrk (apt-get install wrk) and the server share the machine's cores; the figures are for both
# together, as in any single-machine load test.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-3}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-1000}"
sleep_ms="${SLEEP_MS:-10}"
binary="${BINARY:-.build/release/edge-server}"
command -v wrk >/dev/null || { echo "load-test: wrk is needed (apt-get install wrk)" >&2; exit 1; }
[ -x "$binary" ] || { echo "load-test: build first: swift build -c release --product edge-server" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"  # 1,000 connections, their pipes and processes

work=$(mktemp -d)
handlers/build.sh --native "$work/native"
"$binary" handlers --port 0 --slots 4096 --queue 65536 --timeout 30s --process-handlers "$work/native" \
  --log-level notice 2>"$work/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=""
for _ in $(seq 100); do
  port=$(grep 'listening' "$work/server.log" | grep -o '127\.0\.0\.1:[0-9]*' | head -1 | sed 's/.*://' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "load-test: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
url="http://127.0.0.1:$port"

cases=(
  "hello wasm|/hello"
  "hello native|/native/hello"
  "hello process|/process/hello"
  "sleep ${sleep_ms}ms wasm|/sleep?ms=$sleep_ms"
  "sleep ${sleep_ms}ms native|/native/sleep?ms=$sleep_ms"
  "sleep ${sleep_ms}ms process|/process/sleep?ms=$sleep_ms"
)
for c in "${cases[@]}"; do  # every route answers correctly before it is loaded (and is compiled)
  body=$(curl -sf "$url${c#*|}") || { echo "load-test: ${c#*|} failed" >&2; exit 1; }
  case "$body" in "Hello, world!"|"slept $sleep_ms ms") ;; *) echo "load-test: ${c#*|} answered '$body'" >&2; exit 1 ;; esac
done

echo "wrk -t2 -c$connections -d$duration --latency, $runs rounds, each running every case once in turn; $(nproc) cores; $(date -u +%F)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Rounds, not one case after another: whatever else the machine does meanwhile falls on every case.
for r in $(seq "$runs"); do
  for c in "${cases[@]}"; do
    label="${c%%|*}"; path="${c#*|}"
    wrk -t2 -c"$connections" -d"$duration" --timeout 10s --latency "$url$path" > "$work/$label.$r.txt"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); server RSS at the end: $(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$pid/status") MiB"
for c in "${cases[@]}"; do
  label="${c%%|*}"
  python3 - "$label" "$work/$label".*.txt <<'PY'
import re, statistics, sys
label, files = sys.argv[1], sys.argv[2:]
unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
rates, p50s, p99s, bad, errors = [], [], [], 0, 0
for f in files:
    t = open(f).read()
    rates.append(float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)))
    for pct, into in (("50", p50s), ("99", p99s)):
        v, u = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)\b" % pct, t).groups()
        into.append(float(v) * unit[u])
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    bad += int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    errors += sum(map(int, m.groups())) if m else 0
print("%-22s req/s %8.0f / %8.0f / %8.0f   p50 %8.2f ms   p99 %8.2f ms   non-2xx %d   socket errors %d" % (
    label, min(rates), statistics.median(rates), max(rates), statistics.median(p50s), statistics.median(p99s), bad, errors))
PY
done
