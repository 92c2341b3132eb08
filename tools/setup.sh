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
# aarch64 executables and runs them under qemu-aarch64)
APT_PACKAGES="build-essential cmake pkg-config git llvm-19-dev llvm-19-tools clang-format-19 libonnx-dev
  libprotobuf-c-dev protobuf-c-compiler qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
# a Python with pip is expected; Debian's own is used where there is none
command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 ||
  APT_PACKAGES="$APT_PACKAGES python3 python3-pip python3-venv"

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
  if ! python3 - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
want = dict(l.split("==") for l in open("requirements.txt") if "==" in l and not l.startswith("#"))
sys.exit(any(version(k) != v.strip() for k, v in want.items()))
PY
  then
    echo "setup: installing Python packages from requirements.txt"
    python3 -m pip install -q --disable-pip-version-check -r requirements.txt
  fi
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
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
