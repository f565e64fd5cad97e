#!/usr/bin/env bash
# Density: N instances, each parked in a host call (shoal.sleep_ms) for MS milliseconds, all alive
# at once in one bounded region. Usage: Bench/density.sh [N] [MS] [GUARDS]
# (defaults: 100000 5000 never). GUARDS is --guard-pages: never, auto or always; with guards a slot
# costs 6 memory mappings, so always needs vm.max_map_count >= 6 N + what the process has (the
# error says how much); 100,000 slots do not fit the default 65,530.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product shoal > /dev/null
.build/release/shoal run --instances "${1:-100000}" --guard-pages "${3:-never}" --invoke run Bench/density/sleeper.wat "${2:-5000}"
