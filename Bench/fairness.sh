#!/usr/bin/env bash
# Fairness: 10,000 CPU-bound instances plus a stream of short calls; p50/p99 of the short ones.
# Usage: Bench/fairness.sh [cpuBound] [shortCalls] [intervalMs]  (defaults: 10000 500 5)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product SchedulerBench > /dev/null
.build/release/SchedulerBench "${1:-10000}" "${2:-500}" "${3:-5}"
