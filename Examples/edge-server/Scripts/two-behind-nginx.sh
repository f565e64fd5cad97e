#!/usr/bin/env bash
# Beyond one process: starts two edge servers on loopback sharing one artifact cache directory,
# puts nginx in front of them, checks the sharing, and load-tests the pair through nginx against
# one server alone (Docs/DEPLOYMENT.md).
#
#   swift build -c release --product edge-server
#   Scripts/two-behind-nginx.sh            # DURATION=10s CONNECTIONS=1000 RUNS=3
#
# Checks, and fails if any does not hold:
#   - the first server compiles hello and writes the artifact; the second loads that artifact from
#     the shared directory instead of compiling (edge_compile_* on each one's /metrics);
#   - through nginx, both servers serve requests, and every answer is a 200.
# Needs nginx (apt-get install nginx), wrk and curl. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${BINARY:-.build/release/edge-server}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-1000}"
runs="${RUNS:-3}"
for tool in nginx wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "two-behind-nginx: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done
[ -x "$binary" ] || { echo "two-behind-nginx: build first: swift build -c release --product edge-server" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"  # 1,000 connections, their pipes and processes

work=$(mktemp -d)
chmod 755 "$work"
mkdir -p "$work/cache" "$work/tmp" && chmod 777 "$work/tmp"
pids=()
cleanup() {
  [ -f "$work/nginx.pid" ] && nginx -p "$work" -c "$work/nginx.conf" -s stop 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
metric() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 == name { printf "%d\n", $2 }'; }

a=$(free_port); b=$(free_port); front=$(free_port)
for port in $a $b; do
  "$binary" handlers --port "$port" --cache-directory "$work/cache" --slots 4096 --queue 65536 --log-level warning \
    2>"$work/edge-$port.log" &
  pids+=($!)
done
for port in $a $b; do  # readiness, as a load balancer or Kubernetes would ask it: /metrics answers
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/metrics" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$port/metrics" >/dev/null || { echo "server on $port not ready" >&2; cat "$work/edge-$port.log" >&2; exit 1; }
done

# The shared cache: a compiles hello and stores the artifact; b, asked next, loads it from disk.
[ "$(curl -sf "http://127.0.0.1:$a/hello")" = "Hello, world!" ]
[ "$(curl -sf "http://127.0.0.1:$b/hello")" = "Hello, world!" ]
echo "cache directory: $(ls "$work/cache" | wc -l) artifact(s)"
echo "server a: compilations $(metric $a edge_compile_compilations), disk writes $(metric $a edge_compile_disk_writes), disk hits $(metric $a edge_compile_disk_hits)"
echo "server b: compilations $(metric $b edge_compile_compilations), disk writes $(metric $b edge_compile_disk_writes), disk hits $(metric $b edge_compile_disk_hits)"
[ "$(metric $a edge_compile_compilations)" = 1 ] && [ "$(metric $a edge_compile_disk_writes)" = 1 ] \
  && [ "$(metric $b edge_compile_compilations)" = 0 ] && [ "$(metric $b edge_compile_disk_hits)" = 1 ] \
  || { echo "two-behind-nginx: FAILED: the second server did not load the first one's artifact" >&2; exit 1; }

user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat > "$work/nginx.conf" <<CONF
$user_line
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  upstream edge {
    least_conn;
    server 127.0.0.1:$a max_fails=0;
    server 127.0.0.1:$b max_fails=0;
    keepalive 512;
  }
  server {
    listen 127.0.0.1:$front backlog=4096;
    location / {
      proxy_pass http://edge;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_503;
    }
  }
}
CONF
nginx -p "$work" -c "$work/nginx.conf"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$front/hello" >/dev/null && break; sleep 0.1; done
[ "$(curl -sf "http://127.0.0.1:$front/hello")" = "Hello, world!" ] || { echo "nginx does not answer" >&2; cat "$work/nginx-error.log" >&2; exit 1; }

summary() {  # label, wrk outputs...
  python3 - "$@" <<'PY'
import re, statistics, sys
label, files = sys.argv[1], sys.argv[2:]
unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
rates, p50, p99, bad, errors = [], [], [], 0, 0
for f in files:
    t = open(f).read()
    rates.append(float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)))
    for pct, into in (("50", p50), ("99", p99)):
        v, u = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)\b" % pct, t).groups()
        into.append(float(v) * unit[u])
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t); bad += int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t); errors += sum(map(int, m.groups())) if m else 0
print("%-38s req/s %8.0f / %8.0f / %8.0f   p50 %7.2f ms   p99 %7.2f ms   non-2xx %d   socket errors %d" % (
    label, min(rates), statistics.median(rates), max(rates), statistics.median(p50), statistics.median(p99), bad, errors))
sys.exit(1 if bad else 0)
PY
}
echo "wrk -t2 -c$connections -d$duration --latency, $runs rounds alternating the two (min / median / max); $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
paths=("/hello" "/sleep?ms=10")
for r in $(seq "$runs"); do
  for i in "${!paths[@]}"; do
    wrk -t2 -c"$connections" -d"$duration" --timeout 10s --latency "http://127.0.0.1:$a${paths[$i]}" > "$work/one.$i.$r.txt"
    wrk -t2 -c"$connections" -d"$duration" --timeout 10s --latency "http://127.0.0.1:$front${paths[$i]}" > "$work/two.$i.$r.txt"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!paths[@]}"; do
  summary "one server, direct ${paths[$i]}" "$work"/one.$i.*.txt
  summary "two servers behind nginx ${paths[$i]}" "$work"/two.$i.*.txt
done
ok_a=$(curl -sf "http://127.0.0.1:$a/metrics" | awk '/^edge_requests_total\{handler="hello",result="ok"\}/ { printf "%d", $2 }')
ok_b=$(curl -sf "http://127.0.0.1:$b/metrics" | awk '/^edge_requests_total\{handler="hello",result="ok"\}/ { printf "%d", $2 }')
echo "hello requests served: server a $ok_a (it also took the direct runs), server b $ok_b"
[ "${ok_b:-0}" -gt 1 ] || { echo "two-behind-nginx: FAILED: nginx sent nothing to server b" >&2; exit 1; }
echo "two-behind-nginx: ok"
