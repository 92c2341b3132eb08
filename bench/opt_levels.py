#!/usr/bin/env python3
"""What kiln's graph optimizations do to real models: nodes, kernels and latency
at -O0 and -O3, and ONNX Runtime's latency on the same machine in the same run.

For each model (ResNet-50, MobileNetV2, the MiniLM-class encoder built by
tests/models/make_models.py with seeded weights): compile at -O0 and -O3, count
graph nodes after the pipeline (--stats) and kernels in the lowered module
(--emit=loops), then time the executables (--bench, median of N runs after a
warm-up) interleaved with ONNX Runtime (same thread count, all its graph
optimizations on), so that machine drift hits all of them alike. A third
build, `-O3 --passes=` (LLVM at O3, no graph passes), separates what the graph
passes (folding, fusion) gain from what LLVM's optimizations gain.

Usage: bench/opt_levels.py --kiln build/kiln [--runs 20] [--threads 1] [--md OUT.md]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import onnx

from common import kiln_median_ms, ort_median_ms, ort_session, random_feeds

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = [("resnet50", {"N": 1}), ("mobilenetv2", {"N": 1}), ("minilm", {"N": 1, "S": 128})]


def kiln_latency(exe, dims, runs, threads):
    return kiln_median_ms(exe, runs, threads,
                          [a for k, v in dims.items() for a in ("--dim", "%s=%d" % (k, v))])


def ort_latency(path, dims, runs, threads):
    return ort_median_ms(ort_session(path, threads), random_feeds(path, dims), runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "kiln-bench"))
    ap.add_argument("--md", help="append the markdown table here")
    args = ap.parse_args()
    built = os.path.join(args.work, "models")
    subprocess.run([sys.executable, os.path.join(HERE, "..", "tests", "models", "make_models.py"),
                    built], check=True)
    rows = []
    for name, dims in MODELS:
        path = os.path.join(built, name + ".onnx")
        r = {"model": name}
        exe = os.path.join(args.work, "%s-O3-nograph" % name)
        subprocess.run([args.kiln, "compile", path, "-O3", "--passes=", "-o", exe], check=True)
        for lvl in ("0", "3"):
            exe = os.path.join(args.work, "%s-O%s" % (name, lvl))
            t0 = time.time()
            p = subprocess.run([args.kiln, "compile", path, "-O" + lvl, "--stats", "-o", exe],
                               capture_output=True, text=True, check=True)
            r["compile" + lvl] = time.time() - t0
            counts = re.findall(r"^// \S+\s+(\d+)\s+(\d+)", p.stderr, re.M)
            r["nodes" + lvl] = int(counts[-1][1]) if counts else len(onnx.load(path).graph.node)
            loops = subprocess.run([args.kiln, "compile", path, "-O" + lvl, "--emit=loops", "-o", "-"],
                                   capture_output=True, text=True, check=True).stdout
            r["kernels" + lvl] = len(re.findall(r"^kernel ", loops, re.M))
        # interleave the timings: kiln -O0, kiln -O3, ORT, twice, keep the best median
        lat = {"0": [], "3-nograph": [], "3": [], "ort": []}
        for _ in range(2):
            for lvl in ("0", "3-nograph", "3"):
                lat[lvl].append(kiln_latency(os.path.join(args.work, "%s-O%s" % (name, lvl)), dims,
                                             args.runs, args.threads))
            lat["ort"].append(ort_latency(path, dims, args.runs, args.threads))
        r.update({"lat0": min(lat["0"]), "lat3n": min(lat["3-nograph"]), "lat3": min(lat["3"]),
                  "ort": min(lat["ort"])})
        rows.append(r)
        print(r, flush=True)
    dimtxt = ", ".join("%s %s" % (n, ",".join("%s=%d" % kv for kv in d.items())) for n, d in MODELS)
    lines = ["| model | nodes -O0 | nodes -O3 | kernels -O0 | kernels -O3 | compile -O3 (s) "
             "| kiln -O0 (ms) | kiln -O3, no graph passes (ms) | kiln -O3 (ms) | ORT (ms) "
             "| kiln -O3 / ORT |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append("| %s | %d | %d | %d | %d | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            r["model"], r["nodes0"], r["nodes3"], r["kernels0"], r["kernels3"], r["compile3"],
            r["lat0"], r["lat3n"], r["lat3"], r["ort"], r["lat3"] / r["ort"]))
    table = "\n".join(lines)
    print(table)
    if args.md:
        with open(args.md, "a") as f:
            f.write("\n%s threads=%d, %d runs, median; %s\n\n%s\n" % (
                time.strftime("%Y-%m-%d"), args.threads, args.runs, dimtxt, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
