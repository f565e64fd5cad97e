#!/usr/bin/env bash
# Issue 16's before/after, two builds alternately in one run (release builds of both trees):
#   park        ParkBench: park + unpark + enqueue per operation, 2/8/16/32 workers
#   throughput  `shoal run --instances 100000`: a trivial export and a WASI proc_exit(0) command
#   fairness    SchedulerBench: p50/p99 of short calls among 10,000 CPU-bound instances
# (stream, density and echo: Bench/compare-builds.sh with the same two `shoal` binaries.)
# Usage: Bench/scheduler-compare.sh BASE_TREE NEW_TREE [ROUNDS]
#   where each tree has .build/release/{ParkBench,SchedulerBench,shoal}
set -euo pipefail
cd "$(dirname "$0")/.."
base="$1"; new="$2"; rounds="${3:-3}"
mkdir -p Bench/out
trivial=Bench/out/trivial.wat; exit0=Bench/out/exit0.wat
echo '(module (func (export "run") (result i32) i32.const 1))' > "$trivial"
cat > "$exit0" <<'WAT'
(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 0))))
WAT
echo "machine: $(nproc) cores, $(date -u +%F)"
for round in $(seq 1 "$rounds"); do
  for which in base new; do
    tree=$base; [ "$which" = new ] && tree=$new
    "$tree/.build/release/ParkBench" 1000 1000 | awk -v r="$round" -v w="$which" '/workers:/ { printf "round %s %s park_%sw_ns %s\n", r, w, $1, $3 }'
    for program in trivial exit0; do
      file=$trivial; args=(--invoke run); [ $program = exit0 ] && { file=$exit0; args=(); }
      "$tree/.build/release/shoal" run --instances 100000 --guard-pages never "${args[@]}" "$file" 2> /dev/null |
        awk -v r="$round" -v w="$which" -v p=$program '/instances\/s/ { printf "round %s %s %s_per_s %s\n", r, w, p, $2 }'
    done
    [ -x "$tree/.build/release/SchedulerBench" ] &&
      "$tree/.build/release/SchedulerBench" 10000 300 5 | awk -v r="$round" -v w="$which" '/p50|p99/ { printf "round %s %s fairness %s\n", r, w, $0 }'
  done
done
