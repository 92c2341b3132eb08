#!/usr/bin/env python3
"""kiln against ONNX Runtime on the real-model suite (tests/realmodels/manifest.json):
published pretrained models from PyPI wheels, each compiled as shipped (default
-O, no flags, its sizes symbolic where the model says so), at batch 1 with one
thread.

The wheels, the model files and the inputs come from tests/realmodels (the
same preprocessing, the same cache). Per model, the kiln executable (--bench)
and an ONNX Runtime session (1 intra-op and 1 inter-op thread, all graph
optimizations) are timed in alternation, `--rounds` times, each timing the
median of `--runs` runs after a warm-up; the figure is the best round's median.
Models that do not compile yet are listed as such. Prints one row per model
with kiln / ORT (below 1: kiln is faster) and the geometric mean over the
models timed; --md appends the table to a file (bench/RESULTS.md).

Usage: bench/realmodels.py --kiln build/kiln [--runs 20] [--rounds 3] [-k NAME] [--md OUT.md]
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import zlib

import numpy as np

from common import kiln_median_ms, ort_median_ms, ort_session

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "realmodels"))
import run_realmodels as rm  # noqa: E402


def cpu_name():
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-k", "--filter", default="")
    ap.add_argument("--cache", default=os.environ.get(
        "KILN_MODEL_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "kiln", "wheels")))
    ap.add_argument("--work", default=None)
    ap.add_argument("--md", help="append the markdown table here")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="kiln-realbench-")
    man = json.load(open(os.path.join(HERE, "..", "tests", "realmodels", "manifest.json")))
    paths = {m["name"]: rm.fetch(args.cache, m["package"], m["version"], m["file"], work)
             for m in man["models"]}
    ctx = {"features": rm.oww_features(paths, np.random.default_rng(0))}
    rows = []
    for m in man["models"]:
        name = m["name"]
        if args.filter not in name:
            continue
        d = os.path.join(work, name)
        os.makedirs(os.path.join(d, "in"), exist_ok=True)
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        feeds = {k: rm.make_input(v, rng, ctx) for k, v in m["inputs"].items()}
        exe = os.path.join(d, "model")
        p = subprocess.run([args.kiln, "compile", paths[name], "-o", exe], capture_output=True,
                           text=True)
        if p.returncode != 0:
            rows.append((name, None, None, "does not compile"))
            print("%-20s does not compile" % name, flush=True)
            continue
        inargs = []
        for k, v in feeds.items():
            f = os.path.join(d, "in", k.replace("/", "_") + ".npy")
            np.save(f, v)
            inargs += ["--in", "%s=%s" % (k, f)]
        sess = ort_session(paths[name], 1)
        kt = ot = float("inf")
        for _ in range(args.rounds):
            kt = min(kt, kiln_median_ms(exe, args.runs, 1, inargs))
            ot = min(ot, ort_median_ms(sess, feeds, args.runs))
        rows.append((name, kt, ot, ""))
        print("%-20s kiln %9.3f ms  ORT %9.3f ms  kiln/ORT %5.2f" % (name, kt, ot, kt / ot),
              flush=True)
    timed = [r for r in rows if r[1] is not None]
    geo = math.exp(sum(math.log(r[1] / r[2]) for r in timed) / len(timed)) if timed else float("nan")
    worst = max(timed, key=lambda r: r[1] / r[2]) if timed else None
    print("geomean kiln/ORT over %d models: %.3f; worst %s %.2f" %
          (len(timed), geo, worst[0] if worst else "-", worst[1] / worst[2] if worst else 0))
    if args.md:
        with open(args.md, "a") as f:
            f.write("\n| model | kiln ms | ORT ms | kiln/ORT |\n|---|---:|---:|---:|\n")
            for name, kt, ot, note in rows:
                f.write("| %s | %s | %s | %s |\n" % (
                    name, "%.3f" % kt if kt else note, "%.3f" % ot if ot else "",
                    "%.2f" % (kt / ot) if kt else ""))
            f.write("| geomean (%d models) | | | %.3f |\n" % (len(timed), geo))
            f.write("\n%s, 1 thread, batch 1, default -O, best of %d rounds of the median of "
                    "%d runs.\n" % (cpu_name(), args.rounds, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
