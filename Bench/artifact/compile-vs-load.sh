#!/usr/bin/env bash
# Compile time versus load time of large modules: wasmtime's `compile` + `run
# --allow-precompiled` of its .cwasm next to Shoal's `compile` + `run` of
# an artifact, and both runtimes' compile-and-run of the plain .wasm.
#
#   bash Bench/artifact/compile-vs-load.sh [MODULE.wasm ...]
#
# Default modules: Bench/out/cc1.wasm (fetched by Bench/artifact/fetch-cc1.sh if
# missing) and Bench/out/large.wasm when present (bash Bench/large-module/build.sh).
# Every row is RUNS (default 5) process wall times: min / median / max in seconds.
#
# Workloads:
#   cc1.wasm   light: `cc1 --version` (instantiate, print, exit: the run is
#                     almost all compile or load);
#              heavy: cc1 compiling a generated C file (Bench/large-module/gen.py
#                     $CC1_FUNCS functions, default 300) for AVR at -O2; each
#                     runtime's .s is checked against wasmtime's by SHA-256.
#   other      light: --invoke $INVOKE (default: f0, with $INVOKE_ARGS, default
#                     "1 2"), which large.wasm exports.
#
# Environment: RUNS, WASMTIME, SHOAL, CC1_FUNCS, INVOKE, INVOKE_ARGS.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/Bench/out
RUNS=${RUNS:-5}
SHOAL=${SHOAL:-$ROOT/.build/release/shoal}
[ -x "$SHOAL" ] || { echo "no shoal at $SHOAL: swift build -c release --product shoal (or set SHOAL)" >[ -x "$SHOAL" ] || SHOAL=/work/main/.build/release/shoal2; exit 1; }
WASMTIME=${WASMTIME:-$(command -v wasmtime || echo /root/.shoal-peers/lib/python3.11/site-packages/wasmtime_cli/wasmtime)}
CC1_FUNCS=${CC1_FUNCS:-300}
INVOKE=${INVOKE:-f0}
INVOKE_ARGS=${INVOKE_ARGS:-1 2}
FAILED=0

if [ $# -gt 0 ]; then
  MODULES=("$@")
else
  [ -s "$OUT/cc1.wasm" ] || bash "$ROOT/Bench/artifact/fetch-cc1.sh" || exit 1
  MODULES=("$OUT/cc1.wasm")
  [ -s "$OUT/large.wasm" ] && MODULES+=("$OUT/large.wasm")
fi

echo "# compile-vs-load  $(date -u '+%Y-%m-%d %H:%M UTC')  runs=$RUNS"
echo "# machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)  (shared machine: figures are noisy)"
echo "# wasmtime: $("$WASMTIME" --version)   shoal: $SHOAL"

# Does this shoal have the artifact subcommands? `shoal compile --help` alone is
# not enough: the argument parser prints the top-level help and exits 0 for an
# unknown subcommand, so also require `compile` among the listed subcommands.
SHOAL_COMPILE=no
# (The help is captured first: with pipefail, grep -q closing the pipe early
# could make the pipeline fail.)
SHOAL_HELP=$("$SHOAL" --help 2>/dev/null)
if "$SHOAL" compile --help >/dev/null 2>&1 &&
   grep -qE '^[[:space:]]+compile([[:space:]]|$)' <<<"$SHOAL_HELP"; then
  SHOAL_COMPILE=yes
fi
echo "# shoal compile: $([ $SHOAL_COMPILE = yes ] && echo available || echo 'not available yet')"

# row LABEL CMD...: runs CMD $RUNS times (stdout/stderr to $LOG), prints
# min/median/max wall seconds; a non-zero exit is reported and counts as failure
# (except when ALLOW_RC is set to that status).
row() {
  local label=$1; shift
  local times=() i t0 t1 rc
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s.%N)
    "$@" >"$LOG" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    if [ $rc -ne 0 ] && [ "$rc" != "${ALLOW_RC:-0}" ]; then
      printf '  %-50s FAILED (exit %d): %s\n' "$label" $rc "$(tail -c 300 "$LOG" | tr '\n' ' ')"
      FAILED=1
      return 1
    fi
    times+=("$(echo "$t1 - $t0" | bc)")
  done
  local line
  line=$(printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.6f  %-50s min %7.3f  median %7.3f  max %7.3f s\n", m, l, v[1], m, v[NR] }')
  MEDIAN=${line%% *}
  echo "  ${line#*  }"
}

# ratio WHAT SLOW_MEDIAN FAST_MEDIAN: how many times faster the second is.
# (The artifact issue's goal for shoal: loading >= 100x faster than compiling.)
ratio() {
  [ -n "$2" ] && [ -n "$3" ] || return 0
  awk -v w="$1" -v c="$2" -v l="$3" 'BEGIN {
    printf "  => %s: %.1fx (medians)\n", w, (l > 0 ? c / l : 0) }'
}

# check LABEL FILE: compares a run's output with the reference (wasmtime's).
check() {
  local got
  got=$(sha256sum "$2" 2>/dev/null | cut -d' ' -f1)
  if [ "$got" = "$REF_SHA" ]; then
    echo "  $1: output identical to wasmtime's (sha256 ${got:0:16}...)"
  else
    echo "  $1: OUTPUT DIFFERS from wasmtime's (${got:-missing} vs $REF_SHA)"
    FAILED=1
  fi
}

for WASM in "${MODULES[@]}"; do
  [ -s "$WASM" ] || { echo "missing $WASM"; FAILED=1; continue; }
  NAME=$(basename "$WASM" .wasm)
  WORK=$OUT/artifact-$NAME
  rm -rf "$WORK"; mkdir -p "$WORK"
  LOG=$WORK/last.log
  CWASM=$WORK/$NAME.cwasm
  echo
  echo "## $NAME.wasm: $(stat -c %s "$WASM") bytes, sha256 $(sha256sum "$WASM" | cut -c1-16)..."

  if [ "$NAME" = cc1 ]; then
    python3 "$ROOT/Bench/large-module/gen.py" "$CC1_FUNCS" >"$WORK/in.c"
    LIGHT=(--version)
    HEAVY=(-quiet -w -O2 -mmcu=avr5 /in.c -o /out.s)
    DIRARG=(--dir "$WORK::/")
    echo "  heavy input: gen.py $CC1_FUNCS -> in.c, $(stat -c %s "$WORK/in.c") bytes; cc1 ${HEAVY[*]}"
  else
    LIGHT=(--invoke "$INVOKE")
    HEAVY=()
    DIRARG=()
  fi
  # Arguments after the module: for --invoke the export goes before the module.
  light_wt()  { if [ "${LIGHT[0]}" = --invoke ]; then "$WASMTIME" run "$@" "${LIGHT[@]}" "$MOD" $INVOKE_ARGS; else "$WASMTIME" run "$@" "$MOD" "${LIGHT[@]}"; fi; }
  light_sh()  { if [ "${LIGHT[0]}" = --invoke ]; then "$SHOAL" run "${LIGHT[@]}" "$MOD" $INVOKE_ARGS; else "$SHOAL" run "$MOD" "${LIGHT[@]}"; fi; }

  echo "### wasmtime"
  # `wasmtime compile` does not use the CLI's compilation cache; `run` does by
  # default, so every compile-and-run row below passes -C cache=n.
  WT_COMPILE= WT_LOAD=
  row "wasmtime compile -> .cwasm" "$WASMTIME" compile "$WASM" -o "$CWASM" &&
    WT_COMPILE=$MEDIAN &&
    echo "  .cwasm: $(stat -c %s "$CWASM") bytes ($(file -b "$CWASM" 2>/dev/null | cut -c1-60))"
  MOD=$CWASM; row "wasmtime run --allow-precompiled .cwasm (light)" light_wt --allow-precompiled && WT_LOAD=$MEDIAN
  ratio "wasmtime compile / run .cwasm (light)" "$WT_COMPILE" "$WT_LOAD"
  MOD=$WASM;  row "wasmtime run -C cache=n .wasm (light)" light_wt -C cache=n &&
    ratio "wasmtime run .wasm / run .cwasm (light)" "$MEDIAN" "$WT_LOAD"
  if [ ${#HEAVY[@]} -gt 0 ]; then
    "$WASMTIME" run -C cache=n "${DIRARG[@]}" "$WASM" "${HEAVY[@]}" >"$LOG" 2>&1 || { echo "  wasmtime heavy run failed: $(tail -c 300 "$LOG")"; FAILED=1; }
    REF_SHA=$(sha256sum "$WORK/out.s" 2>/dev/null | cut -d' ' -f1)
    echo "  reference out.s (wasmtime): $(stat -c %s "$WORK/out.s" 2>/dev/null) bytes, sha256 ${REF_SHA:0:16}..."
    rm -f "$WORK/out.s"
    row "wasmtime run --allow-precompiled .cwasm (heavy)" "$WASMTIME" run --allow-precompiled "${DIRARG[@]}" "$CWASM" "${HEAVY[@]}" && check "cwasm heavy" "$WORK/out.s"
    rm -f "$WORK/out.s"
    row "wasmtime run -C cache=n .wasm (heavy)" "$WASMTIME" run -C cache=n "${DIRARG[@]}" "$WASM" "${HEAVY[@]}" && check "wasm heavy" "$WORK/out.s"
  fi

  echo "### shoal"
  SH_COMPILE= SH_LOAD=
  echo "  --- artifact (compile once, load many) ---"
  if [ $SHOAL_COMPILE = yes ]; then
    ART=$WORK/$NAME.shoal
    row "shoal compile -> .shoal" "$SHOAL" compile "$WASM" -o "$ART" &&
      SH_COMPILE=$MEDIAN && echo "  .shoal: $(stat -c %s "$ART") bytes"
    MOD=$ART; row "shoal run .shoal (light)" light_sh && SH_LOAD=$MEDIAN
    ratio "shoal compile / run .shoal (light)" "$SH_COMPILE" "$SH_LOAD"
    if [ ${#HEAVY[@]} -gt 0 ]; then
      rm -f "$WORK/out.s"
      row "shoal run .shoal (heavy)" "$SHOAL" run "${DIRARG[@]}" "$ART" "${HEAVY[@]}" && check "shoal artifact heavy" "$WORK/out.s"
    fi
  else
    echo "  shoal compile / shoal run X.shoal: not available yet"
  fi
  echo "  --- compile in memory + run (what shoal does today) ---"
  MOD=$WASM; row "shoal run .wasm (light)" light_sh &&
    [ $SHOAL_COMPILE = yes ] && ratio "shoal run .wasm / run .shoal (light)" "$MEDIAN" "$SH_LOAD"
  if [ ${#HEAVY[@]} -gt 0 ]; then
    rm -f "$WORK/out.s"
    row "shoal run .wasm (heavy)" "$SHOAL" run "${DIRARG[@]}" "$WASM" "${HEAVY[@]}" && check "shoal heavy" "$WORK/out.s"
  fi
done
echo
[ $FAILED = 0 ] && echo "compile-vs-load: done" || echo "compile-vs-load: some rows failed"
exit $FAILED
