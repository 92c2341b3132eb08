#!/usr/bin/env python3
"""make_chain.py DIR: chain.onnx, y = x @ W1 @ W2 @ W3 @ W4 with x f32[64,64]
(the workspace plan of codegen/memplan.c: three temporaries of 16 KB in a row,
of which the first and the third can share)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(3)
ws = [nh.from_array((rng.standard_normal((64, 64)) * 0.125).astype(np.float32), "w%d" % i)
      for i in range(1, 5)]
nodes = [h.make_node("MatMul", ["x" if i == 1 else "t%d" % (i - 1), "w%d" % i],
                     ["y" if i == 4 else "t%d" % i], name="mm%d" % i) for i in range(1, 5)]
g = h.make_graph(nodes, "chain", [h.make_tensor_value_info("x", T.FLOAT, [64, 64])],
                 [h.make_tensor_value_info("y", T.FLOAT, [64, 64])], ws)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "chain.onnx"))
