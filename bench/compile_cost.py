#!/usr/bin/env python3
"""Compile cost against graph size: `kiln compile` wall time and peak memory
on long elementwise chains and a random DAG, beside ONNX Runtime's session
creation (its compile step) on the same model, in the same run.

Models (built here, seeded):
  relu-K    a chain of K Relu nodes on x f32[1,64] (K = 1k, 5k, 20k, 100k)
  mixed-K   a chain of K elementwise ops that nothing folds away (Tanh, Mul by
            a constant, Add a constant, Sin, Sigmoid, Neg, Abs in turn)
  dag-2000  a random DAG of 2,000 nodes on [4,64] values: unary and binary
            elementwise ops on random earlier values (broadcasting [1,64] and
            [4,1] operands), MatMul by [64,64] weights, Softmax, LayerNorm-like
            ReduceMean/Sub, Concat+Split, Transpose pairs

For each: `kiln compile MODEL -o EXE` (the default -O2) timed, its peak RSS
from GNU time (/usr/bin/time); the executable run once and its output compared with ONNX
Runtime's (max abs error); ORT's InferenceSession creation (all graph
optimizations) timed in a child process, whose peak RSS includes Python and
ORT themselves (about 70 MB before any model). Each is run --reps times,
kiln and ORT interleaved; medians are reported.

Usage: bench/compile_cost.py --kiln build/kiln [--reps 3] [--sizes 1000,5000,20000,100000] [--md OUT]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def chain(k, mixed):
    cycle = ["Tanh", "Mul", "Add", "Sin", "Sigmoid", "Neg", "Abs"] if mixed else ["Relu"]
    inits = [numpy_helper.from_array(np.array(0.9, np.float32), "k"),
             numpy_helper.from_array(np.array(0.01, np.float32), "b")] if mixed else []
    nodes, prev = [], "x"
    for i in range(k):
        op = cycle[i % len(cycle)]
        ins = [prev] + (["k"] if op == "Mul" else ["b"] if op == "Add" else [])
        nodes.append(helper.make_node(op, ins, ["t%d" % i]))
        prev = "t%d" % i
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 64])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])


def dag(n, seed=0):
    rng = random.Random(seed)
    nodes, inits, vals = [], [], ["x"]
    cnt = [0]

    def fresh():
        cnt[0] += 1
        return "v%d" % cnt[0]

    def const(a):
        name = "c%d" % len(inits)
        inits.append(numpy_helper.from_array(np.asarray(a, np.float32), name))
        return name

    def pick():
        return vals[len(vals) - 1 - min(int(rng.expovariate(0.3)), len(vals) - 1)]

    def emit(op, ins, **attrs):
        out = fresh()
        nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out

    while len(nodes) < n:
        r = rng.random()
        a = pick()
        if r < 0.35:
            out = emit(rng.choice(["Relu", "Tanh", "Sigmoid", "Neg", "Abs", "Sin", "Erf"]), [a])
        elif r < 0.65:
            b = rng.choice([pick(), const(np.random.default_rng(len(nodes)).uniform(-1, 1, (1, 64))),
                            const(np.random.default_rng(len(nodes)).uniform(-1, 1, (4, 1)))])
            out = emit(rng.choice(["Add", "Sub", "Mul", "Max", "Min"]), [a, b])
        elif r < 0.75:
            w = const(np.random.default_rng(len(nodes)).uniform(-0.125, 0.125, (64, 64)))
            out = emit("MatMul", [a, w])
        elif r < 0.82:
            out = emit("Softmax", [a], axis=-1)
        elif r < 0.89:
            m = emit("ReduceMean", [a, helper_const_axes(inits)], keepdims=1)
            out = emit("Sub", [a, m])
        elif r < 0.95:
            c = emit("Concat", [a, pick()], axis=1)
            o1, o2 = fresh(), fresh()
            nodes.append(helper.make_node("Split", [c], [o1, o2], axis=1, num_outputs=2))
            vals.append(o1)
            out = o2
        else:
            t = emit("Transpose", [a], perm=[1, 0])
            out = emit("Transpose", [t], perm=[1, 0])
        vals.append(out)
    used = {i for nd in nodes for i in nd.input}
    sinks = [v for v in vals if v not in used and v != "x"]
    outs = [helper.make_tensor_value_info(v, TensorProto.FLOAT, [4, 64]) for v in sinks[-8:]]
    g = helper.make_graph(nodes, "dag", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 64])],
                          outs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])


def helper_const_axes(inits):
    name = "axes_last"
    if not any(i.name == name for i in inits):
        inits.append(numpy_helper.from_array(np.array([-1], np.int64), name))
    return name


def run_timed(cmd, timeout):
    """(seconds, peak RSS MB, returncode, stdout, stderr) of CMD run under GNU
    time, whose own small process is what forks it: the peak RSS of a child
    forked from this Python process would start at this process's size (the
    models here take hundreds of MB) and keep it across exec."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(["/usr/bin/time", "-f", "KILN_PEAK_KB %M"] + cmd, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, None, "", "timed out"
    dt = time.perf_counter() - t0
    err, kb = p.stderr, None
    if "KILN_PEAK_KB " in err:
        err, tail = err.rsplit("KILN_PEAK_KB ", 1)
        kb = float(tail.split()[0])
    return dt, kb / 1024.0 if kb else None, p.returncode, p.stdout, err


ORT_CHILD = r"""
import sys, time, resource
import onnxruntime as ort
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
t0 = time.perf_counter()
s = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
print("session_s %.4f" % (time.perf_counter() - t0))
if len(sys.argv) > 2:
    import numpy as np
    x = np.load(sys.argv[2])
    outs = s.run(None, {"x": x})
    np.savez(sys.argv[3], *outs)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", default="1000,5000,20000,100000")
    ap.add_argument("--dag", type=int, default=2000)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--md")
    a = ap.parse_args()
    kiln = os.path.abspath(a.kiln)
    work = tempfile.mkdtemp(prefix="kiln-compile-cost-")
    cases = []
    for k in [int(s) for s in a.sizes.split(",") if s]:
        cases.append(("relu-%d" % k, k, chain(k, False)))
        cases.append(("mixed-%d" % k, k, chain(k, True)))
    if a.dag:
        cases.append(("dag-%d" % a.dag, a.dag, dag(a.dag)))
    rows = []
    for name, k, model in cases:
        path = os.path.join(work, name + ".onnx")
        onnx.save(model, path)
        exe = os.path.join(work, name)
        shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
        xp = os.path.join(work, "x.npy")
        np.save(xp, x)
        kt, km, ot, om = [], [], [], []
        err = None
        for r in range(a.reps):
            dt, mb, rc, _, e = run_timed([kiln, "compile", path, "-o", exe], a.timeout)
            if rc != 0:
                err = "kiln: " + (e.strip().splitlines() or ["exit %s" % rc])[-1]
                break
            kt.append(dt)
            km.append(mb)
            extra = [xp, os.path.join(work, "ort.npz")] if r == 0 else []
            dt, mb, rc, out, e = run_timed([sys.executable, "-c", ORT_CHILD, path] + extra, a.timeout)
            if rc == 0:
                ot.append(float(out.split("session_s ")[1].split()[0]))
                om.append(mb)
        diff = "-"
        if not err:
            od = os.path.join(work, "o")
            subprocess.run([exe, "--in", "x=" + xp, "--out-dir", od], check=True, capture_output=True)
            if os.path.exists(os.path.join(work, "ort.npz")):
                want = np.load(os.path.join(work, "ort.npz"))
                d = 0.0
                for i, o in enumerate(model.graph.output):
                    got = np.load(os.path.join(od, o.name + ".npy"))
                    d = max(d, float(np.max(np.abs(got - want["arr_%d" % i]))))
                diff = "%.1e" % d
                os.remove(os.path.join(work, "ort.npz"))
        row = (name, k, np.median(kt) if kt else None, np.median(km) if km else None,
               np.median(ot) if ot else None, np.median(om) if om else None, diff, err)
        rows.append(row)
        print("%-12s nodes %6d  kiln %s s %s MB   ORT session %s s %s MB   max|kiln-ORT| %s%s" % (
            name, k, fmt(row[2], "%.2f"), fmt(row[3], "%.0f"), fmt(row[4], "%.2f"), fmt(row[5], "%.0f"), diff,
            "  " + err if err else ""), file=sys.stderr, flush=True)
    lines = ["| model | nodes | kiln compile (s) | kiln peak RSS (MB) | ms/node | ORT session (s) | "
             "ORT peak RSS (MB) | max abs kiln - ORT |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, k, t, m, ot, om, diff, err in rows:
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
            name, k, fmt(t, "%.2f"), fmt(m, "%.0f"), fmt(t and t * 1e3 / k, "%.3f"), fmt(ot, "%.2f"),
            fmt(om, "%.0f"), diff if not err else err))
    print("\n".join(lines))
    if a.md:
        with open(a.md, "w") as f:
            f.write("\n".join(lines) + "\n")


def fmt(v, f):
    return "-" if v is None else f % v


if __name__ == "__main__":
    main()
