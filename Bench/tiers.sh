#!/usr/bin/env bash
# Runs every C kernel (Bench/kernels) compiled by the baseline and by the optimizing tier, checks
# that both give the same checksum, and prints both times, their ratio and the geometric mean.
# Usage: Bench/tiers.sh [guarded|bounded] [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
heap="${1:-guarded}"
repeats="${2:-5}"
nice -n 19 swift build -c release --product KernelBench > /dev/null
.build/release/KernelBench Bench/kernels "$heap" "$repeats" tiers
