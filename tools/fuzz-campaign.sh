#!/usr/bin/env bash
# A long libFuzzer campaign over kiln's readers of untrusted bytes: the ONNX
# loader + shape inference (fuzz_onnx), the .kir parser (fuzz_kir) and the
# runtime's .npy reader (fuzz_npy). Builds build-fuzz/ (clang-19, coverage +
# ASan + UBSan) when needed, seeds it as tools/test.sh does, then runs each
# target for SECONDS with JOBS parallel jobs, keeping what it finds in
# build-fuzz/corpus/<target> (crashes, timeouts and OOMs as build-fuzz/found-<target>-*). Prints each
# target's executions; exits 1 if any target found something.
#
#   bash tools/fuzz-campaign.sh [SECONDS per target, default 3600] [JOBS, default nproc]
#   KILN_FUZZ_TARGETS="onnx kir" bash tools/fuzz-campaign.sh 600
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3600}
jobs=${2:-$(nproc)}
VENV=${KILN_VENV:-$PWD/.venv}
[ -x "$VENV/bin/python" ] || { echo "fuzz-campaign: run 'bash tools/setup.sh' first" >&2; exit 1; }
CC=clang-19 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_FUZZ=ON \
  -DPython3_EXECUTABLE="$VENV/bin/python" > /dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_onnx fuzz_kir fuzz_npy > build-fuzz/fuzz-build.log 2>&1 ||
  { tail -30 build-fuzz/fuzz-build.log; exit 1; }
kiln_arg=(); [ -x build/kiln ] && kiln_arg=(--kiln build/kiln)
[ -d build-fuzz/fuzz-seeds/onnx ] ||
  "$VENV/bin/python" tests/fuzz/make_seeds.py --out build-fuzz/fuzz-seeds --kir-from tests/lit "${kiln_arg[@]}"
status=0
for t in ${KILN_FUZZ_TARGETS:-onnx kir npy}; do
  mkdir -p build-fuzz/corpus/$t build-fuzz/campaign/$t
  echo "== fuzz_$t: $secs s, $jobs jobs"
  # -fork: jobs in child processes; a crash is saved and the campaign goes on
  (cd build-fuzz/campaign/$t &&
   ../../tests/fuzz_$t -fork="$jobs" -ignore_crashes=1 -max_total_time="$secs" -timeout=20 \
     -rss_limit_mb=3072 -max_len=1048576 -artifact_prefix=../../found-$t- \
     ../../corpus/$t ../../fuzz-seeds/$t > log.txt 2>&1) || true
  grep -E "^#[0-9]+.*DONE|INFO: fuzzed for|stat::number_of_executed_units" build-fuzz/campaign/$t/log.txt | tail -2 || true
  execs=$(grep -oE "^#[0-9]+" build-fuzz/campaign/$t/log.txt | tail -1 | tr -d '#')
  echo "fuzz_$t: ${execs:-?} executions"
  if ls build-fuzz/found-$t-* > /dev/null 2>&1; then
    echo "fuzz_$t: FOUND: $(ls build-fuzz/found-$t-* | tr '\n' ' ')"
    status=1
  fi
done
exit $status
