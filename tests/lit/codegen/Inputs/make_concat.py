#!/usr/bin/env python3
"""make_concat.py DIR: concat.onnx, x f32[1,3,4,5] (Concat in place, lower_tensor.c):
  c = Concat(Relu(x), Sigmoid(x), axis 1)      operands written into c's ranges
  e = Concat(c, Tanh(x), axis 1); y1 = Exp(e)  a view of a view
  y2 = Concat(Neg(x), Abs(x), axis 2)          axis 1 has 3 elements: a copy
  y3 = Concat(Floor(x), Ceil(x), axis 0)       the result is a graph output
"""
import os
import sys

import onnx
from onnx import TensorProto as T, helper as h

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
n = h.make_node
nodes = [
    n("Relu", ["x"], ["a"]), n("Sigmoid", ["x"], ["b"]),
    n("Concat", ["a", "b"], ["c"], axis=1),
    n("Tanh", ["x"], ["d"]),
    n("Concat", ["c", "d"], ["e"], axis=1),
    n("Exp", ["e"], ["y1"]),
    n("Neg", ["x"], ["f"]), n("Abs", ["x"], ["g"]),
    n("Concat", ["f", "g"], ["y2"], axis=2),
    n("Floor", ["x"], ["i"]), n("Ceil", ["x"], ["j"]),
    n("Concat", ["i", "j"], ["y3"], axis=0),
]
g = h.make_graph(nodes, "concat", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 4, 5])],
                 [h.make_tensor_value_info("y1", T.FLOAT, [1, 9, 4, 5]),
                  h.make_tensor_value_info("y2", T.FLOAT, [1, 3, 8, 5]),
                  h.make_tensor_value_info("y3", T.FLOAT, [2, 3, 4, 5])])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "concat.onnx"))
