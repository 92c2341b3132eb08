#!/usr/bin/env python3
"""make_winograd.py DIR: winograd.onnx, 3x3 convolutions that lower_gemm.c
computes by Winograd (stride 1, input channels a multiple of the vector's
lanes, output channels of the tile's), each shape exercising a part:
  y1 = Relu(Conv(x1 f32[1,16,30,30], 64x16x3x3, bias, pad 1))   F(4x4): a partial
       last tile column and row (30 = 7 * 4 + 2), two output channel blocks,
       the Relu fused
  y2 = Relu(Conv(x2 f32[2,32,14,14], 32x32x3x3, pad 1) + r2)     F(4x4), batch 2,
       a residual read in the epilogue
  y3 = Conv(x3 f32[1,16,13,11], 32x16x3x3, bias)                  F(4x4), unpadded,
       odd sizes: output 11x9, rows of 9 in groups of 8 (the last overlaps)
  y4 = Conv(x4 f32[1,8,10,10], 32x8x3x3, pad 1)                   8 input channels:
       Winograd on AVX2 and SSE, not on AVX-512 (16 lanes)
  y5 = Conv(x5 f32[1,16,7,7], 32x16x3x3, pads 1,0,2,2)          F(2x2) (an image
       under 8x8), asymmetric padding: output 8x7
  y6 = Relu(Conv(x6 f32[1,16,8,142], 32x16x3x3, bias, pad 1))    a row of 36 tiles:
       the output kernel's row strip in chunks of 32 tiles, the last from
       tile 4 (overlapping the first)
  y7 = Cast(Conv(x6, 32x16x3x3, pad 1), to f16)                   a narrowing store
       in the epilogue: stored element by element, each once
Weights are seeded normals (scaled by 0.3).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)


def w(name, *shape):
    return nh.from_array(rng.standard_normal(shape).astype(np.float32) * 0.3, name)


inits = [w("w1", 64, 16, 3, 3), w("b1", 64), w("w2", 32, 32, 3, 3), w("w3", 32, 16, 3, 3),
         w("b3", 32), w("w4", 32, 8, 3, 3), w("w5", 32, 16, 3, 3),
         w("w6", 32, 16, 3, 3), w("b6", 32)]
nodes = [
    h.make_node("Conv", ["x1", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
    h.make_node("Relu", ["c1"], ["y1"]),
    h.make_node("Conv", ["x2", "w2"], ["c2"], pads=[1, 1, 1, 1]),
    h.make_node("Add", ["c2", "r2"], ["a2"]),
    h.make_node("Relu", ["a2"], ["y2"]),
    h.make_node("Conv", ["x3", "w3", "b3"], ["y3"]),
    h.make_node("Conv", ["x4", "w4"], ["y4"], pads=[1, 1, 1, 1]),
    h.make_node("Conv", ["x5", "w5"], ["y5"], pads=[1, 0, 2, 2]),
    h.make_node("Conv", ["x6", "w6", "b6"], ["c6"], pads=[1, 1, 1, 1]),
    h.make_node("Relu", ["c6"], ["y6"]),
    h.make_node("Conv", ["x6", "w6"], ["c7"], pads=[1, 1, 1, 1]),
    h.make_node("Cast", ["c7"], ["y7"], to=T.FLOAT16),
]
ins = {"x1": [1, 16, 30, 30], "x2": [2, 32, 14, 14], "r2": [2, 32, 14, 14],
       "x3": [1, 16, 13, 11], "x4": [1, 8, 10, 10],
       "x5": [1, 16, 7, 7], "x6": [1, 16, 8, 142]}
outs = {"y1": [1, 64, 30, 30], "y2": [2, 32, 14, 14], "y3": [1, 32, 11, 9],
        "y4": [1, 32, 10, 10], "y5": [1, 32, 8, 7], "y6": [1, 32, 8, 142],
        "y7": [1, 32, 8, 142]}
g = h.make_graph(nodes, "winograd",
                 [h.make_tensor_value_info(k, T.FLOAT, s) for k, s in ins.items()],
                 [h.make_tensor_value_info(k, T.FLOAT16 if k == "y7" else T.FLOAT, s)
                  for k, s in outs.items()], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "winograd.onnx"))
