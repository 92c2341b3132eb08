#!/usr/bin/env python3
"""Real-architecture models, compiled by kiln, against ONNX Runtime.

Models: the `light/` models the pinned onnx package ships (AlexNet, DenseNet-121,
Inception v1/v2, ResNet-50, ShuffleNet, SqueezeNet, VGG-19, ZFNet-512: the real
graphs with small weights) and the three built by make_models.py (ResNet-50,
MobileNetV2, a MiniLM-class BERT encoder, with seeded random weights).

Each is compiled with `kiln compile` to an executable, run on seeded inputs
(given as .npy), and every output is compared with ONNX Runtime's (CPU
provider, graph optimizations off, so it computes the model as written):
  max_abs  largest |kiln - ort|
  rel      max_abs / max |ort|   (the criterion: <= 1e-4 for f32)
  cosine   cosine similarity of the flattened outputs
Prints one line per output and closes with "N passed, N failed".
"""
import argparse
import glob
import os
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))


def inputs_for(model, name, dims):
    rng = np.random.default_rng(0)
    inits = {i.name for i in model.graph.initializer}
    feeds = {}
    for i in model.graph.input:
        if i.name in inits:
            continue
        tt = i.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else dims.get(d.dim_param, 1)
                 for d in tt.shape.dim]
        if tt.elem_type == onnx.TensorProto.INT64 and "mask" in i.name:
            a = np.ones(shape, np.int64)
            if a.ndim == 2 and a.shape[0] > 1:
                a[1:, a.shape[1] * 2 // 3:] = 0  # padding in the later rows
            feeds[i.name] = a
        elif tt.elem_type == onnx.TensorProto.INT64:
            feeds[i.name] = rng.integers(0, 1000, shape).astype(np.int64)
        else:
            feeds[i.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    return feeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("-k", "--filter", default="")
    ap.add_argument("--rel", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--opt", help="optimization level to compile at (default: compile's, -O2)")
    ap.add_argument("--check-bounds", action="store_true",
                    help="compile with --check-bounds: an access out of a buffer fails the model")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    built = os.path.join(args.work, "built")
    subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), built], check=True)
    light = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    models = [(os.path.basename(p)[:-5], p, {}) for p in sorted(glob.glob(os.path.join(light, "*.onnx")))]
    models += [("resnet50", os.path.join(built, "resnet50.onnx"), {"N": 2}),
               ("mobilenetv2", os.path.join(built, "mobilenetv2.onnx"), {"N": 2}),
               ("minilm", os.path.join(built, "minilm.onnx"), {"N": 2, "S": 24})]
    passed = failed = 0
    for name, path, dims in models:
        if args.filter not in name:
            continue
        d = os.path.join(args.work, name)
        os.makedirs(os.path.join(d, "in"), exist_ok=True)
        exe = os.path.join(d, "model")
        t0 = time.time()
        opt = (["-O" + args.opt] if args.opt else []) + (["--check-bounds"] if args.check_bounds else [])
        p = subprocess.run([args.kiln, "compile", path, "-o", exe] + opt, capture_output=True,
                           text=True)
        ct = time.time() - t0
        if p.returncode != 0:
            err = [ln for ln in p.stderr.splitlines() if "error" in ln]
            print("FAIL %-28s compile: %s" % (name, (err or ["?"])[0][:160]))
            print("     (%d errors)" % len(err))
            failed += 1
            continue
        model = onnx.load(path)
        feeds = inputs_for(model, name, dims)
        cmd = [exe, "--out-dir", os.path.join(d, "out")]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        for k, v in feeds.items():
            f = os.path.join(d, "in", k.replace("/", "_") + ".npy")
            np.save(f, v)
            cmd += ["--in", "%s=%s" % (k, f)]
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        rt = time.time() - t0
        if r.returncode != 0:
            print("FAIL %-28s run: exit %d: %s" % (name, r.returncode, r.stderr.strip()[:160]))
            failed += 1
            continue
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        want = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(None, feeds)
        ok = True
        for o, w in zip(model.graph.output, want):
            gp = os.path.join(d, "out", o.name.replace("/", "_") + ".npy")
            if not os.path.exists(gp):
                print("FAIL %-28s %s: not written" % (name, o.name))
                ok = False
                continue
            g = np.load(gp)
            if g.shape != w.shape:
                print("FAIL %-28s %s: shape %s, ORT %s" % (name, o.name, g.shape, w.shape))
                ok = False
                continue
            g64, w64 = g.astype(np.float64).ravel(), w.astype(np.float64).ravel()
            mx = float(np.abs(g64 - w64).max()) if g64.size else 0.0
            scale = float(np.abs(w64).max()) if w64.size else 1.0
            rel = mx / scale if scale else mx
            cos = float(np.dot(g64, w64) / (np.linalg.norm(g64) * np.linalg.norm(w64) + 1e-300))
            good = rel <= args.rel
            ok &= good
            print("%s %-28s %-14s %-16s max_abs=%.3g rel=%.3g cosine=%.9f compile=%.1fs run=%.2fs"
                  % ("PASS" if good else "FAIL", name, o.name[:14], str(list(g.shape)), mx, rel, cos, ct, rt))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
