#!/usr/bin/env bash
# Memory stays flat: starts the edge server on loopback, warms it up, records its resident set
# (RSS), sends REQUESTS more requests (default 100,000) cycling through hello, the JSON transform,
# the preopened file, a trap and a 1 ms sleep (Scripts/mix.lua), and records the RSS again. Fails
# if it grew by more than LIMIT_MIB (default 16 MiB), if any request got an answer other than the
# expected one (read from the server's own /metrics), or if the server died.
#
#   Scripts/soak.sh [.build/debug/edge-server] [REQUESTS]
# Needs wrk (apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/debug/edge-server}"
requests="${2:-100000}"
limit_mib="${LIMIT_MIB:-16}"
command -v wrk >/dev/null || { echo "soak: wrk is needed (apt-get install wrk)" >&2; exit 1; }
[ -x "$binary" ] || { echo "soak: no server binary at $binary (swift build first)" >&2; exit 1; }

log=$(mktemp)
"$binary" handlers --port 0 --log-level notice --slots 256 --queue 4096 --timeout 5s 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 100); do
  port=$(grep 'listening' "$log" | grep -o '127\.0\.0\.1:[0-9]*' | head -1 | sed 's/.*://' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "soak: the server did not start" >&2; cat "$log" >&2; exit 1; }
url="http://127.0.0.1:$port"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
# The sum of edge_requests_total over all handlers and results (or those matching $1).
served() { curl -sf "$url/metrics" | awk -v m="${1:-}" '/^edge_requests_total\{/ && index($0, m) { s += $2 } END { printf "%d\n", s }'; }

wrk -t2 -c32 -d3s -s Scripts/mix.lua "$url" >/dev/null
before_kib=$(rss_kib)
start_count=$(served)
target=$((start_count + requests))
began=$(date +%s.%N)
while [ "$(served)" -lt "$target" ]; do
  wrk -t2 -c32 -d2s -s Scripts/mix.lua "$url" >/dev/null
  kill -0 $pid 2>/dev/null || { echo "soak: the server died" >&2; cat "$log" >&2; exit 1; }
done
elapsed=$(echo "$(date +%s.%N) - $began" | bc)
after_kib=$(rss_kib)
total=$(($(served) - start_count))

metrics=$(curl -sf "$url/metrics")
unexpected=$(echo "$metrics" | grep '^edge_requests_total{' | grep -v 'result="ok"' | grep -v 'handler="trap",result="trap"' \
  | grep -v 'handler="json",result="ok"' | awk '$2 > 0' || true)
growth_kib=$((after_kib - before_kib))
printf 'soak: %d requests in %.1f s after warm-up; RSS %d MiB -> %d MiB (%+d KiB)\n' \
  "$total" "$elapsed" $((before_kib / 1024)) $((after_kib / 1024)) "$growth_kib"
echo "$metrics" | grep '^edge_requests_total{' | sed 's/^/  /'
if [ -n "$unexpected" ]; then
  echo "soak: FAILED: unexpected results:" >&2; echo "$unexpected" >&2; exit 1
fi
if [ "$growth_kib" -gt $((limit_mib * 1024)) ]; then
  echo "soak: FAILED: RSS grew by more than $limit_mib MiB" >&2; exit 1
fi
echo "soak: ok"
