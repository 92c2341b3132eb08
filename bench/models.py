#!/usr/bin/env python3
"""kiln against ONNX Runtime on the models issue 5 names, in one run on one
machine: ResNet-50, MobileNetV2, SqueezeNet (the onnx package's
light_squeezenet), a MiniLM-class encoder at sequence 128 and a GPT-2-class
decoder step (12 layers, KV cache of 127 positions), each at batch 1 and at a
throughput batch, with 1 thread and with all cores.

For every (model, batch) kiln compiles the model once at -O3 with the dims
fixed (--dim), then, per thread count, the kiln executable (--bench) and an
ONNX Runtime session (same thread count, inter-op 1, all graph optimizations)
are timed in alternation, `--rounds` times each, so that machine drift hits
both alike. Each timing is the median of `--runs` runs after a warm-up; the
figure reported is the best round's median. Prints one row per case with the
ratio kiln / ORT (below 1: kiln is faster) and the compile time; --md appends
the table to a file (bench/RESULTS.md).

Usage: bench/models.py --kiln build/kiln [--runs 10] [--rounds 3]
                       [--threads 1,2] [--models resnet50,...] [--md OUT.md]
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

from common import kiln_median_ms, ort_median_ms, ort_session, random_feeds

HERE = os.path.dirname(os.path.abspath(__file__))
LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")

# name, where the model comes from, the batch-1 dims, the throughput batch
MODELS = [
    ("resnet50", "make", {"N": 1}, 8),
    ("mobilenetv2", "make", {"N": 1}, 8),
    ("squeezenet", os.path.join(LIGHT, "light_squeezenet.onnx"), {}, None),
    ("minilm", "make", {"N": 1, "S": 128}, 8),
    ("gpt2_step", "make", {"N": 1, "T": 127}, 8),
]


def in_args(indir, feeds):
    """--in NAME=PATH for each input, from the .npy files written to indir."""
    args = []
    for k in feeds:
        args += ["--in", "%s=%s" % (k, os.path.join(indir, k.replace("/", "_") + ".npy"))]
    return args


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,%d" % (os.cpu_count() or 1))
    ap.add_argument("--models", default=",".join(m[0] for m in MODELS))
    ap.add_argument("--batches", default="1,throughput", help="1, throughput, or both")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "kiln-bench-models"))
    ap.add_argument("--md", help="append the markdown table here")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    wanted = args.models.split(",")
    built = os.path.join(args.work, "models")
    to_make = [m[0] for m in MODELS if m[1] == "make" and m[0] in wanted]
    if to_make:
        subprocess.run([sys.executable, os.path.join(HERE, "..", "tests", "models", "make_models.py"),
                        built] + to_make, check=True)
    rows = []
    for name, src, dims1, tbatch in MODELS:
        if name not in wanted:
            continue
        path = os.path.join(built, name + ".onnx") if src == "make" else src
        cases = []
        if "1" in args.batches.split(","):
            cases.append(dict(dims1))
        if "throughput" in args.batches.split(",") and tbatch:
            d = dict(dims1)
            d["N"] = tbatch
            cases.append(d)
        for dims in cases:
            tag = "%s-%s" % (name, "-".join("%s%d" % kv for kv in sorted(dims.items())))
            exe = os.path.join(args.work, tag)
            cmd = [args.kiln, "compile", path, "-O3", "-o", exe]
            for k, v in dims.items():
                cmd += ["--dim", "%s=%d" % (k, v)]
            t0 = time.time()
            subprocess.run(cmd, check=True)
            compile_s = time.time() - t0
            feeds = random_feeds(path, dims)
            indir = os.path.join(args.work, tag + "-in")
            os.makedirs(indir, exist_ok=True)
            for k, v in feeds.items():
                np.save(os.path.join(indir, k.replace("/", "_") + ".npy"), v)
            for th in threads:
                sess = ort_session(path, th)
                kl, ol = [], []
                for _ in range(args.rounds):
                    kl.append(kiln_median_ms(exe, args.runs, th, in_args(indir, feeds)))
                    ol.append(ort_median_ms(sess, feeds, args.runs))
                del sess
                r = {"model": name, "dims": ",".join("%s=%d" % kv for kv in dims.items()) or "-",
                     "threads": th, "kiln": min(kl), "ort": min(ol), "compile": compile_s}
                rows.append(r)
                print("%-12s %-12s threads=%d  kiln %9.2f ms  ORT %9.2f ms  kiln/ORT %.2f  "
                      "(compile %.1f s)" % (r["model"], r["dims"], th, r["kiln"], r["ort"],
                                             r["kiln"] / r["ort"], compile_s), flush=True)
    lines = ["| model | dims | threads | kiln (ms) | ORT (ms) | kiln / ORT | compile -O3 (s) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append("| %s | %s | %d | %.2f | %.2f | %.2f | %.1f |" % (
            r["model"], r["dims"], r["threads"], r["kiln"], r["ort"], r["kiln"] / r["ort"],
            r["compile"]))
    table = "\n".join(lines)
    print(table)
    if args.md:
        with open(args.md, "a") as f:
            f.write("\n%s, %s, onnxruntime %s; median of %d runs, best of %d interleaved rounds\n\n%s\n"
                    % (time.strftime("%Y-%m-%d"), platform.processor() or platform.machine(),
                       ort.__version__, args.runs, args.rounds, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
