#!/usr/bin/env python3
"""GEMM throughput of kiln's compiled MatMul against ONNX Runtime and the CPU's peak.

For each size n (64 ... 2048): a model Y = X @ W with X [n, n] an input and W
[n, n] a constant (weights, as in a real layer) is compiled with `kiln compile
-O3` and timed with the executable's --bench (median of the runs after a
warm-up), interleaved with ONNX Runtime on the same model (same thread count,
all graph optimizations). GFLOP/s counts 2 n^3 per run.

The peak is derived, not measured: FLOP/cycle = 2 (FMA) x FMA pipes x f32
lanes per pipe, times the clock /proc/cpuinfo reports. Lanes per pipe come
from the widest vector ISA the CPU has (AVX-512: 16, AVX2: 8, else 4), except
that AMD's AVX-512 (Zen 4) runs on 256-bit pipes (8). Two FMA pipes per core
(Zen 2-4, Skylake-SP and later); --fma-pipes overrides, --ghz overrides the
clock. The figures are single-thread unless --threads says otherwise.

Usage: bench/gemm.py --kiln build/kiln [--sizes 64,128,...] [--runs 5] [--threads 1] [--md OUT.md]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx

from common import kiln_median_ms, ort_median_ms, ort_session
from onnx import TensorProto as T, helper as h, numpy_helper as nh


def cpu_peak(fma_pipes, ghz):
    flags, vendor, mhz = "", "", 0.0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags") and not flags:
                flags = line
            elif line.startswith("vendor_id") and not vendor:
                vendor = line.split(":")[1].strip()
            elif line.startswith("cpu MHz") and not mhz:
                mhz = float(line.split(":")[1])
    fl = set(flags.split())
    if "avx512f" in fl:
        lanes = 8 if vendor == "AuthenticAMD" else 16
        isa = "AVX-512" + (" (256-bit pipes)" if lanes == 8 else "")
    elif "avx2" in fl:
        lanes, isa = 8, "AVX2"
    else:
        lanes, isa = 4, "SSE/NEON"
    clock = ghz if ghz else mhz / 1000.0
    flop_cycle = 2 * fma_pipes * lanes
    return flop_cycle * clock, "%s, %d FMA pipes x %d f32 lanes x 2 = %d FLOP/cycle at %.2f GHz" % (
        isa, fma_pipes, lanes, flop_cycle, clock)


def model(n, path):
    rng = np.random.default_rng(n)
    w = nh.from_array(rng.standard_normal((n, n)).astype(np.float32), "w")
    g = h.make_graph([h.make_node("MatMul", ["x", "w"], ["y"], name="gemm")], "gemm%d" % n,
                     [h.make_tensor_value_info("x", T.FLOAT, [n, n])],
                     [h.make_tensor_value_info("y", T.FLOAT, [n, n])], [w])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--sizes", default="64,128,256,512,1024,2048")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fma-pipes", type=int, default=2)
    ap.add_argument("--ghz", type=float, default=0.0)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "kiln-gemm"))
    ap.add_argument("--md", help="append the markdown table here")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    peak1, how = cpu_peak(args.fma_pipes, args.ghz)
    peak = peak1 * args.threads
    print("peak: %.1f GFLOP/s per core (%s)" % (peak1, how), flush=True)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        path = os.path.join(args.work, "gemm%d.onnx" % n)
        exe = os.path.join(args.work, "gemm%d" % n)
        model(n, path)
        subprocess.run([args.kiln, "compile", path, "-O3", "-o", exe], check=True)
        runs = max(3, min(args.runs * 20, int(args.runs * (512 / n) ** 3)))
        x = {"x": np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)}
        k, o = [], []
        for _ in range(2):  # interleaved, best median of two rounds
            k.append(kiln_median_ms(exe, runs, args.threads))
            o.append(ort_median_ms(ort_session(path, args.threads), x, runs))
        km, om = min(k), min(o)
        flop = 2.0 * n ** 3
        r = (n, km, flop / km / 1e6, flop / km / 1e6 / peak, om, flop / om / 1e6, km / om)
        rows.append(r)
        print("n=%d kiln %.3f ms %.1f GFLOP/s (%.0f%% of peak), ORT %.3f ms %.1f GFLOP/s, kiln/ORT %.2f"
              % (r[0], r[1], r[2], 100 * r[3], r[4], r[5], r[6]), flush=True)
    lines = ["| n | kiln (ms) | kiln GFLOP/s | % of peak | ORT (ms) | ORT GFLOP/s | kiln / ORT |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append("| %d | %.3f | %.1f | %.0f%% | %.3f | %.1f | %.2f |"
                     % (r[0], r[1], r[2], 100 * r[3], r[4], r[5], r[6]))
    table = "\n".join(lines)
    print(table)
    if args.md:
        with open(args.md, "a") as f:
            f.write("\n%s threads=%d; peak %.1f GFLOP/s per core (%s)\n\n%s\n" % (
                time.strftime("%Y-%m-%d"), args.threads, peak1, how, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
