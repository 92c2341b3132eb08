#!/usr/bin/env python3
"""Throughput of kiln's compiled narrowing casts against ONNX Runtime.

For each size n and each chain: a model y = Cast(Cast(x, T), FLOAT) over an f32
input of n elements, with T bf16 (the integer round-to-nearest-even sequence
the LLVM emitter spells, docs/semantics.md) and f16. kiln's executable
(`kiln compile -O3`) times itself with --bench; ONNX Runtime runs the same
model (same thread count, all graph optimizations), interleaved in ROUNDS
rounds of RUNS runs each, the median of the rounds' medians reported. GB/s counts
the f32 bytes read and written (8 n per run).

Usage: bench/casts.py --kiln build/kiln [--sizes 1048576,16777216] [--runs 20] [--rounds 5] [--threads 1]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import kiln_median_ms, ort_median_ms, ort_session  # noqa: E402


def model(n, mid):
    g = h.make_graph([h.make_node("Cast", ["x"], ["m"], to=mid),
                      h.make_node("Cast", ["m"], ["y"], to=T.FLOAT)], "cast",
                     [h.make_tensor_value_info("x", T.FLOAT, [n])],
                     [h.make_tensor_value_info("y", T.FLOAT, [n])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 21)], producer_name="kiln-bench")
    m.ir_version = 10
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--sizes", default="1048576,16777216")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; medians taken")
    a = ap.parse_args()
    print("| chain | n | kiln ms | ORT ms | kiln / ORT | kiln GB/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in a.sizes.split(",")]:
            for name, mid in (("f32->bf16->f32", T.BFLOAT16), ("f32->f16->f32", T.FLOAT16)):
                path = os.path.join(tmp, "m.onnx")
                onnx.save(model(n, mid), path)
                exe = os.path.join(tmp, "m")
                subprocess.run([a.kiln, "compile", path, "-O3", "-o", exe], check=True)
                sess = ort_session(path, a.threads)
                feeds = {"x": np.random.default_rng(0).standard_normal(n).astype(np.float32)}
                ks, os_ = [], []
                for _ in range(a.rounds):  # interleaved: kiln, ORT, kiln, ORT, ...
                    ks.append(kiln_median_ms(exe, a.runs, a.threads))
                    os_.append(ort_median_ms(sess, feeds, a.runs))
                k, o = float(np.median(ks)), float(np.median(os_))
                print("| %s | %d | %.3f | %.3f | %.2f | %.1f |" %
                      (name, n, k, o, k / o, 8 * n / (k * 1e6)))


if __name__ == "__main__":
    main()
