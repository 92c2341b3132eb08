#!/usr/bin/env python3
"""make_attn_rows.py DIR: attn.onnx, attention written out (MatMul, Transpose,
Div, Softmax, MatMul), which fuse-attention turns into Attention, at sizes
that exercise the output row's accumulators (lower_nn.c): heads of 32 (two
16-lane vectors, four keys per step into four sets of accumulators)
  a1 = softmax(q1 k1^T / 4) v1, q1 f32[1,2,5,32], k1, v1 f32[1,2,7,32]:
       7 keys, one step of 4 and 3 keys one by one
  a2 = the same with 8 keys (k2, v2 f32[1,2,8,32]): two steps, no keys left
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
nodes, ins, outs = [], [], []
for i, keys in (("1", 7), ("2", 8)):
    nodes += [
        h.make_node("Transpose", ["k" + i], ["kt" + i], perm=[0, 1, 3, 2]),
        h.make_node("MatMul", ["q" + i, "kt" + i], ["qk" + i]),
        h.make_node("Div", ["qk" + i, "sq"], ["qks" + i]),
        h.make_node("Softmax", ["qks" + i], ["pr" + i], axis=-1),
        h.make_node("MatMul", ["pr" + i, "v" + i], ["a" + i]),
    ]
    ins += [h.make_tensor_value_info("q" + i, T.FLOAT, [1, 2, 5, 32]),
            h.make_tensor_value_info("k" + i, T.FLOAT, [1, 2, keys, 32]),
            h.make_tensor_value_info("v" + i, T.FLOAT, [1, 2, keys, 32])]
    outs.append(h.make_tensor_value_info("a" + i, T.FLOAT, [1, 2, 5, 32]))
g = h.make_graph(nodes, "attn_rows", ins, outs,
                 [nh.from_array(np.array(4.0, np.float32), "sq")])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "attn.onnx"))
