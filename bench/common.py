"""common.py - what the bench scripts share: timing a kiln executable and an
ONNX Runtime session the same way (a warm-up, then the median of `runs`
runs), and the pseudo-random inputs a model is fed.

ORT sessions use the thread count asked for, one inter-op thread and all
graph optimizations; a kiln executable times itself (--bench) and reports the
median on its last line.

ORT's intra-op pool threads spin for a while after a run (its default,
session.intra_op.allow_spinning), and they live in this process: a kiln
executable started right after ORT's last run shared the two CPUs with them
and, at 2 threads, measured SqueezeNet at 7.0 ms instead of 3.1 (median of
12, 2026-11-26; 5 ms of waiting was enough). ort_median_ms therefore waits
ORT_SETTLE_S after its runs, so that whatever is timed next has the CPUs.
"""
import re
import subprocess
import time

import numpy as np
import onnx
import onnxruntime as ort


def kiln_median_ms(exe, runs, threads, args=()):
    """Median latency of `exe --bench runs --threads threads ARGS` in ms."""
    cmd = [exe, "--bench", str(runs), "--threads", str(threads)] + list(args)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"latency_ms median=([0-9.]+)", out).group(1))


def ort_session(path, threads):
    so = ort.SessionOptions()
    so.log_severity_level = 3  # warnings (a model's stale declared shapes) are not timings
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


ORT_SETTLE_S = 0.1


def ort_median_ms(sess, feeds, runs):
    """One warm-up run, then the median of `runs` runs, in ms; then ORT's
    pool threads are given ORT_SETTLE_S to stop spinning."""
    sess.run(None, feeds)
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        t.append((time.perf_counter() - t0) * 1e3)
    time.sleep(ORT_SETTLE_S)
    return float(np.median(t))


def random_feeds(path, dims, seed=0):
    """Inputs for every graph input of the model at `path` (initializers
    excluded), symbolic dims from `dims` (else 1): floats uniform in [-1, 1),
    int64 token ids in [0, 1000), and masks (int64 inputs named "*mask*") of
    ones."""
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    rng = np.random.default_rng(seed)
    feeds = {}
    for i in m.graph.input:
        if i.name in inits:
            continue
        tt = i.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else dims.get(d.dim_param, 1)
                 for d in tt.shape.dim]
        if tt.elem_type == onnx.TensorProto.INT64:
            feeds[i.name] = (np.ones(shape, np.int64) if "mask" in i.name
                             else rng.integers(0, 1000, shape).astype(np.int64))
        else:
            feeds[i.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    return feeds
