#!/usr/bin/env bash
# Installs the system packages Shoal's build, tests, examples and benchmarks use, on Debian.
# Swift itself is expected on PATH (or at /opt/swift/usr/bin). Safe to run again: installed packages
# are skipped.
set -euo pipefail

packages=(
  clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32   # C test programs and benchmark kernels -> wasm32
  libc++-16-dev-wasm32 libc++abi-16-dev-wasm32           # C++ test programs -> wasm32
  binutils                                              # objdump, to check the assembler's encodings
  liburing-dev                                          # io_uring, for WASI I/O
  wrk curl                                              # the edge server's soak and load tests (Examples/edge-server)
)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Optional: wasmtime's Python package, the reference for the differential WASI tests and the
# side-by-side stream benchmark (they skip, loudly, without it). Best effort: no pip, no failure.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import wasmtime" 2>/dev/null; then
  python3 -m pip install -q wasmtime >/dev/null 2>&1 || echo "note: could not pip install wasmtime; differential WASI tests will be skipped" >&2
fi

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  echo "note: add /opt/swift/usr/bin to PATH" >&2
fi
echo "dependencies installed: ${packages[*]}"
