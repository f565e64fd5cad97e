#!/usr/bin/env bash
# Differential fuzzing against wasmtime, the long run (see Docs/TESTING.md):
#   bash Scripts/fuzz.sh [MODULES] [SEED] [more `shoal-fuzz diff` options]
# Builds shoal-fuzz (release), generates MODULES modules (default 10,000) with wasm-tools smith from
# SEED (default 1), runs every export under Shoal (guarded and bounded heaps) and wasmtime, and
# shrinks the first finding of each module into FINDINGS (default /tmp/fuzz-findings) as
# NAME.wasm + NAME.wat + NAME.expect, ready to move into Tests/FuzzTests/Regressions.
# Needs wasm-tools and wasmtime: bash ../shared/tools/install-peers.sh (or SHOAL_WASM_TOOLS/SHOAL_WASMTIME).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
modules="${1:-10000}"
seed="${2:-1}"
shift $(( $# < 2 ? $# : 2 ))
swift build -c release --product shoal-fuzz
.build/release/shoal-fuzz tools  # says how to install the tools when they are missing
exec .build/release/shoal-fuzz diff --seed "$seed" --modules "$modules" --shrink --findings "${FINDINGS:-/tmp/fuzz-findings}" "$@"
