#!/usr/bin/env bash
# Set up a Debian 12 machine for kiln (idempotent; fast when already done),
# build kiln, and run it on the bundled example model: inspect it, print its
# optimized IR, compile it to an executable, run that and time it.
#
#   bash tools/setup.sh            # deps + build + example
#   KILN_SKIP_DEPS=1 bash ...      # build + example only
set -euo pipefail
cd "$(dirname "$0")/.."

# (qemu-user and the aarch64 cross compiler and libc: the NEON test builds
# aarch64 executables and runs them under qemu-aarch64; clang-19 and its
# runtime libraries build the libFuzzer targets of tests/fuzz/; GNU time gives
# bench/compile_cost.py the peak memory of a compile)
APT_PACKAGES="build-essential cmake pkg-config git llvm-19-dev llvm-19-tools clang-format-19 libonnx-dev
  libprotobuf-c-dev protobuf-c-compiler qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  clang-19 libclang-rt-19-dev time"
# Python: the tests' packages live in the project's own virtual environment
# (.venv/, or $KILN_VENV), made with the python3 on PATH and its venv module.
# (Debian's python3 has a venv module that fails without python3-venv's
# ensurepip, so both are always wanted; another python3 first on PATH is used.)
VENV=${KILN_VENV:-$PWD/.venv}
APT_PACKAGES="$APT_PACKAGES python3 python3-venv"

# The venv holds exactly requirements.lock (names compared case- and
# '-'/'_'-blind): anything else, more or less, and it is made anew.
venv_matches_lock() {
  [ -x "$VENV/bin/python" ] || return 1
  local norm='tr "[:upper:]-" "[:lower:]_" | LC_ALL=C sort'
  diff <(grep -v '^#' requirements.lock | grep . | eval "$norm") \
       <("$VENV/bin/python" -m pip freeze --all --exclude pip --exclude setuptools --exclude wheel \
          2>/dev/null | eval "$norm") > /dev/null
}

if [ -z "${KILN_SKIP_DEPS:-}" ]; then
  missing=""
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
  fi
  if ! venv_matches_lock; then
    echo "setup: making the Python environment $VENV from requirements.lock"
    python3 -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r requirements.lock
    "$VENV/bin/python" -m pip check
    venv_matches_lock || { echo "setup: $VENV does not match requirements.lock" >&2; exit 1; }
  fi
fi
[ -x "$VENV/bin/python" ] || { echo "setup: no Python environment at $VENV (run without KILN_SKIP_DEPS)" >&2; exit 1; }

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython3_EXECUTABLE="$VENV/bin/python" > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" >> build.log 2>&1 || { tail -50 build.log; exit 1; }
grep -h "kiln:" build.log | sort -u || true

echo
echo "== kiln inspect examples/tinynet.onnx"
./build/kiln inspect examples/tinynet.onnx
echo
echo "== kiln opt examples/tinynet.onnx -O3 (the optimized IR)"
./build/kiln opt examples/tinynet.onnx -O3 --verify-each
echo
echo "== kiln compile examples/tinynet.onnx -o build/tinynet (a standalone executable)"
./build/kiln compile examples/tinynet.onnx -o build/tinynet
echo
echo "== build/tinynet --dim N=4 --bench 100 (seeded random input, 4 images)"
./build/tinynet --dim N=4 --bench 100
