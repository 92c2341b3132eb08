#!/usr/bin/env python3
"""make_gemm_cols.py DIR: gemm.onnx, x f32[2,96] (Gemm with few rows, lower_nn.c):
  y1 = Relu(Gemm(x, W1 [600,96], b1, transB=1))   constant B: column blocks,
                                                  packed [3][96][256], zero past 600
  y2 = Gemm(x, W2 [96,520], c2 [2,520], alpha=0.5, beta=2)
                                                  constant B without transB,
                                                  alpha and a full C
  y3 = Gemm(x, b3 [96,600])                      B an input: column blocks of B
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(5)
n = h.make_node
inits = [
    nh.from_array(rng.standard_normal((600, 96)).astype(np.float32), "W1"),
    nh.from_array(rng.standard_normal(600).astype(np.float32), "b1"),
    nh.from_array(rng.standard_normal((96, 520)).astype(np.float32), "W2"),
    nh.from_array(rng.standard_normal((2, 520)).astype(np.float32), "c2"),
]
nodes = [
    n("Gemm", ["x", "W1", "b1"], ["g1"], transB=1), n("Relu", ["g1"], ["y1"]),
    n("Gemm", ["x", "W2", "c2"], ["y2"], alpha=0.5, beta=2.0),
    n("Gemm", ["x", "b3"], ["y3"]),
]
g = h.make_graph(
    nodes, "gemm_cols",
    [h.make_tensor_value_info("x", T.FLOAT, [2, 96]),
     h.make_tensor_value_info("b3", T.FLOAT, [96, 600])],
    [h.make_tensor_value_info("y1", T.FLOAT, [2, 600]),
     h.make_tensor_value_info("y2", T.FLOAT, [2, 520]),
     h.make_tensor_value_info("y3", T.FLOAT, [2, 600])],
    inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "gemm.onnx"))
