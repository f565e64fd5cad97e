#!/usr/bin/env bash
# Disassemble the machine code of a Shoal artifact: every function, or those whose name (from the
# name section) or index matches FUNC. For reading the code generators' output side by side with
# `wasmtime objdump` of a .cwasm; nothing here is checked by tests.
# Usage: Scripts/disasm.sh ARTIFACT [FUNC]     (SHOAL=path/to/shoal, default .build/debug/shoal)
# Needs: objdump (binutils).
set -euo pipefail
artifact="$1"
want="${2:-}"
shoal="${SHOAL:-$(dirname "$0")/../.build/debug/shoal}"
info=$("$shoal" inspect "$artifact")
read -r code_offset code_length < <(echo "$info" | awk '$1 == "code" && $2 == "offset" { print $3, $5 }')
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
dd if="$artifact" of="$tmp" bs=1 skip="$code_offset" count="$code_length" status=none
echo "$info" | awk '/^  func\[/ { print }' | while read -r index size at name; do
  [ -z "$want" ] || [ "$want" = "$name" ] || [ "$want" = "$index" ] || [ "func[$want]" = "$index" ] || continue
  start=$(( ${at#@} ))
  echo "== $index $name ($size bytes at ${at#@})"
  objdump -D -b binary -m i386:x86-64 -M intel --start-address="$start" --stop-address=$(( start + size )) "$tmp" \
    | awk 'NR > 7' | cut -f 2- -d ':' | sed 's/^\t//'
done
