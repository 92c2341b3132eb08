#!/usr/bin/env python3
"""make_maxpool_s2.py DIR: maxpool.onnx and inputs in DIR/in, for the in-place
3x3 stride-2 MaxPool (lower_gemm.c maxpool_s2):
  y1 = MaxPool(x1 f32[1,3,111,111])  55 columns: 16-lane chunks, the last overlapping
  y2 = MaxPool(x2 f32[2,2,12,12])    an even width (a column past the last window), 4 lanes
  y3 = MaxPool(x3 f32[1,2,17,17])    8 lanes
The inputs hold NaNs, -inf and signed zeros, so that the NaN-skipping maximum
and its tie order are exercised.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h

out = sys.argv[1]
os.makedirs(os.path.join(out, "in"), exist_ok=True)
shapes = {"1": [1, 3, 111, 111], "2": [2, 2, 12, 12], "3": [1, 2, 17, 17]}
nodes = [h.make_node("MaxPool", ["x" + k], ["y" + k], kernel_shape=[3, 3], strides=[2, 2])
         for k in shapes]
outs = {k: s[:2] + [(s[2] - 3) // 2 + 1, (s[3] - 3) // 2 + 1] for k, s in shapes.items()}
g = h.make_graph(
    nodes, "maxpool_s2",
    [h.make_tensor_value_info("x" + k, T.FLOAT, s) for k, s in shapes.items()],
    [h.make_tensor_value_info("y" + k, T.FLOAT, outs[k]) for k in shapes])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "maxpool.onnx"))
rng = np.random.default_rng(7)
for k, s in shapes.items():
    x = rng.standard_normal(s).astype(np.float32)
    flat = x.reshape(-1)
    idx = rng.choice(flat.size, flat.size // 10, replace=False)
    kinds = rng.integers(0, 4, idx.size)
    flat[idx[kinds == 0]] = np.nan
    flat[idx[kinds == 1]] = -np.inf
    flat[idx[kinds == 2]] = 0.0
    flat[idx[kinds == 3]] = -0.0
    x[0, 0, :3, :3] = np.nan  # a window of NaNs only: -inf
    np.save(os.path.join(out, "in", "x%s.npy" % k), x)
