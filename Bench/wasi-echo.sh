#!/usr/bin/env bash
# TCP echo with CONNECTIONS concurrent loopback connections (default 1000), BYTES each (default
# 1 MiB). Shoal: CONNECTIONS instances of Tests/wasi-programs/echo.wasm (one connection each,
# sock_accept/recv/send on io_uring) sharing one listener, on the scheduler. Native: the same echo
# loop, a thread per connection. Same load generator (Bench/wasi/echo_client.c) for both.
set -euo pipefail
cd "$(dirname "$0")/.."
connections="${1:-1000}"
bytes="${2:-1048576}"
bash Bench/wasi/build.sh
swift build -c release --product shoal > /dev/null
port=$((20000 + RANDOM % 20000))
.build/release/shoal run --instances "$connections" --tcplisten "127.0.0.1:$port" Tests/wasi-programs/echo.wasm 1 > /tmp/shoal-echo.txt 2>&1 &
server=$!
sleep 2
echo -n "shoal:  "; Bench/out/native/echo_client 127.0.0.1 "$port" "$connections" "$bytes"
wait $server || { cat /tmp/shoal-echo.txt; exit 1; }
port=$((port + 1))
Bench/out/native/echo_threads "$port" "$connections" &
server=$!
sleep 1
echo -n "native: "; Bench/out/native/echo_client 127.0.0.1 "$port" "$connections" "$bytes"
wait $server
# wasmtime is not compared here: its CLI's --tcplisten gives each process one listener and runs one
# instance, so 1,000 concurrent guests would be 1,000 processes (and its Python package has no
# preopened sockets) — not the same experiment.
echo "wasmtime: not compared (no way to run 1,000 guests on one shared listener in one process)"
