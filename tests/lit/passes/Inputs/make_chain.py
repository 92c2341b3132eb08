#!/usr/bin/env python3
"""make_chain.py DIR N: DIR/chain.onnx, a chain of N elementwise ops on x f32[N,16]
(Tanh, Mul by 0.9, Add 0.01, Sin, Sigmoid, ... in turn: nothing folds away),
for the fused-group cap of the fuse pass."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
cycle = ["Tanh", "Mul", "Add", "Sin", "Sigmoid", "Neg", "Abs"]
nodes, inits, prev = [], [], "x"
inits.append(numpy_helper.from_array(np.array(0.9, np.float32), "k"))
inits.append(numpy_helper.from_array(np.array(0.01, np.float32), "b"))
for i in range(n):
    op = cycle[i % len(cycle)]
    ins = [prev] + (["k"] if op == "Mul" else ["b"] if op == "Add" else [])
    nodes.append(helper.make_node(op, ins, ["t%d" % i], name="n%d" % i))
    prev = "t%d" % i
g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                      [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["N", 16])], inits)
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)]), os.path.join(d, "chain.onnx"))
