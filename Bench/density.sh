#!/usr/bin/env bash
# Density: N instances, each parked in a host call (shoal.sleep_ms) for MS milliseconds, all alive
# at once in one bounded region. Usage: Bench/density.sh [N] [MS]  (defaults: 100000 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product shoal > /dev/null
.build/release/shoal run --instances "${1:-100000}" --invoke run Bench/density/sleeper.wat "${2:-5000}"
