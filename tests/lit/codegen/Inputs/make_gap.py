#!/usr/bin/env python3
"""make_gap.py DIR: gap.onnx (GlobalAveragePool, lower_nn.c):
  y1 = GlobalAveragePool(x1 f32[2,8,7,7])    49 per plane: 3 vectors and 1 element
  y2 = GlobalAveragePool(x2 f32[2,4,3,3])    9 per plane: shorter than a vector
  y3 = GlobalAveragePool(x3 f32[1,3,16,16])  256 per plane: 16 vectors, no rest
"""
import os
import sys

import onnx
from onnx import TensorProto as T, helper as h

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
shapes = {"1": [2, 8, 7, 7], "2": [2, 4, 3, 3], "3": [1, 3, 16, 16]}
nodes = [h.make_node("GlobalAveragePool", ["x" + k], ["y" + k]) for k in shapes]
g = h.make_graph(
    nodes, "gap",
    [h.make_tensor_value_info("x" + k, T.FLOAT, s) for k, s in shapes.items()],
    [h.make_tensor_value_info("y" + k, T.FLOAT, s[:2] + [1, 1]) for k, s in shapes.items()])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "gap.onnx"))
