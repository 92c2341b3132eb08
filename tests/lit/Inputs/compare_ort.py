#!/usr/bin/env python3
"""compare_ort.py MODEL OUT_DIR [--inputs DIR] [--dim N=V ...] [--rtol R]

Runs MODEL with ONNX Runtime on the inputs in DIR (NAME.npy per graph input; made
with a fixed seed when DIR has none, and written there for the compiled model to
read) and compares every output with OUT_DIR/NAME.npy written by a kiln-compiled
executable. Prints max abs / max rel error and cosine similarity per output;
exits 1 when an output is missing, differs in shape or exceeds the tolerance.
"""
import argparse
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("out_dir")
ap.add_argument("--inputs")
ap.add_argument("--dim", action="append", default=[])
ap.add_argument("--rtol", type=float, default=1e-4)
ap.add_argument("--atol", type=float, default=1e-5)
ap.add_argument("--rtol-for", action="append", default=[], metavar="NAME=R",
                help="another rtol for one output (f16 results: ORT rounds casts its own way)")
ap.add_argument("--make-inputs", action="store_true", help="only write the inputs")
a = ap.parse_args()
dims = dict(d.split("=") for d in a.dim)
m = onnx.load(a.model)
inits = {i.name for i in m.graph.initializer}
rng = np.random.default_rng(0)
feeds = {}
types = {1: np.float32, 7: np.int64, 6: np.int32, 11: np.float64, 9: np.bool_}
for i in m.graph.input:
    if i.name in inits:
        continue
    tt = i.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else int(dims.get(d.dim_param, 1))
             for d in tt.shape.dim]
    p = os.path.join(a.inputs, i.name + ".npy") if a.inputs else None
    if p and os.path.exists(p):
        feeds[i.name] = np.load(p)
        continue
    dt = types[tt.elem_type]
    x = (rng.uniform(-1, 1, shape) if dt in (np.float32, np.float64) else rng.integers(0, 4, shape)).astype(dt)
    feeds[i.name] = x
    if a.inputs:
        os.makedirs(a.inputs, exist_ok=True)
        np.save(p, x)
if a.make_inputs:
    sys.exit(0)
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
want = sess.run(None, feeds)
bad = 0
for o, w in zip(m.graph.output, want):
    p = os.path.join(a.out_dir, o.name + ".npy")
    if not os.path.exists(p):
        print(f"{o.name}: missing {p}")
        bad += 1
        continue
    g = np.load(p)
    if g.shape != w.shape:
        print(f"{o.name}: shape {g.shape}, ORT {w.shape}")
        bad += 1
        continue
    g64, w64 = g.astype(np.float64).ravel(), w.astype(np.float64).ravel()
    err = np.abs(g64 - w64)
    rel = err / np.maximum(np.abs(w64), 1e-30)
    cos = float(np.dot(g64, w64) / (np.linalg.norm(g64) * np.linalg.norm(w64) + 1e-300))
    rtol = float(dict(r.split("=") for r in a.rtol_for).get(o.name, a.rtol))
    ok = bool(np.all(err <= a.atol + rtol * np.abs(w64)))
    print(f"{o.name}: {list(g.shape)} max_abs={err.max():.3g} max_rel={rel.max():.3g} cosine={cos:.9f} {'ok' if ok else 'MISMATCH'}")
    bad += not ok
sys.exit(1 if bad else 0)
