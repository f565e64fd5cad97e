#!/usr/bin/env bash
# Mutation robustness, the long run (see Docs/TESTING.md):
#   bash Scripts/mutants.sh [COUNT] [more `shoal-fuzz mutants` options]
# Decodes, validates and (when valid) compiles COUNT mutants (default 1,000,000) of the spec suite's
# modules in supervised worker processes; a crash or a hang (no progress for 60 s) is reported with
# the mutant's number and the command that rebuilds it, and the mutant is kept in FINDINGS (default
# /tmp/fuzz-findings). Exit status 1 on any crash, hang or validator/compiler disagreement.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
count="${1:-1000000}"
shift $(( $# < 1 ? $# : 1 ))
swift build -c release --product shoal-fuzz
exec .build/release/shoal-fuzz mutants --count "$count" --findings "${FINDINGS:-/tmp/fuzz-findings}" "$@"
