#!/usr/bin/env python3
"""make_transpose.py DIR: transpose.onnx, transposes that move the input's
innermost axis over planes of at least 64K elements, which lower_tensor.c
moves in blocks (transpose_blocked), and one below that size:
  y1 = Transpose(x1 f32[300,260])                  f32: blocks of vector lanes,
       transposed by shuffles; 300 and 260 are not multiples of 16, so the
       last blocks overlap the ones before
  y2 = Transpose(x2 f32[2,3,300,260], [0,3,1,2])   the same plane under two
       other axes
  y3 = Transpose(x3 i64[300,260])                  not f32: element by element
       in blocks of 16 x 16
  y4 = Transpose(x4 f32[40,30])                    a small plane: row by row
"""
import os
import sys

import onnx
from onnx import TensorProto as T, helper as h

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
nodes = [h.make_node("Transpose", ["x1"], ["y1"]),
         h.make_node("Transpose", ["x2"], ["y2"], perm=[0, 3, 1, 2]),
         h.make_node("Transpose", ["x3"], ["y3"]),
         h.make_node("Transpose", ["x4"], ["y4"])]
ins = [("x1", T.FLOAT, [300, 260]), ("x2", T.FLOAT, [2, 3, 300, 260]),
       ("x3", T.INT64, [300, 260]), ("x4", T.FLOAT, [40, 30])]
outs = [("y1", T.FLOAT, [260, 300]), ("y2", T.FLOAT, [2, 260, 3, 300]),
        ("y3", T.INT64, [260, 300]), ("y4", T.FLOAT, [30, 40])]
g = h.make_graph(nodes, "transpose", [h.make_tensor_value_info(*i) for i in ins],
                 [h.make_tensor_value_info(*o) for o in outs])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "transpose.onnx"))
