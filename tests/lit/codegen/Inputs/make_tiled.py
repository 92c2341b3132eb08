#!/usr/bin/env python3
"""make_tiled.py DIR: models for the register-tiled kernels (codegen/lower_gemm.c),
one per edge of their tiling; every output is compared with ONNX Runtime.

tiled.onnx, input x f32[N,20,11,11] and m f32[N,13,64]:
  c1  3x3, pad 1, 40 channels (a full 32-channel block and a partial one),
      rows of 11 pixels (a row tile of 8 and one that overlaps it) + bias + Relu
  c2  3x3, stride 2, pads 1/0 (asymmetric): 5x5 output, narrow rows (one tile each)
  c3  1x1, stride 1: pointwise tiles over 121 pixels (the last overlaps), + residual Add
  c4  1x1, stride 2, no bias: a phase-split copy without padding, rows of 6
  c5  5x5, dilation 2, pad 4: taps farther apart than the stride
  c6  1x1, 20 -> 16 channels, + bias -> Clip: a short reduction, tiled with the
      lanes along the pixels (121: the last block of 32 overlaps); the bias
      and the Clip run on the vector registers (lower_lanes.c)
  c7  the same tile with a Mul by a row f32[11] broadcast along the width,
      which does not widen (its index divides the pixel): the raw tile, then
      the per-element epilogue pass
  c8  the same tile, no bias, + c6 (a residual read with vector loads) -> Relu
  m1  MatMul [N,13,64] x [64,96] + bias -> GELU: 13 rows (a tile of 8 and an
      overlapping one), three 32-column blocks, the epilogue after the tile
  m2  MatMul [N,13,64] x [64,32] alone: the result stored in place
  d1  depthwise 3x3, pad 1, + bias -> Clip(0, 6): rows of 11 (a chunk of 8
      lanes and one that overlaps it)
  d2  depthwise 3x3, stride 2, no bias: rows of 5 read from the phase-split copy
  d3  depthwise 1x3, no padding, no bias: read in place, stored in place
  at  attention written out (MatMul, Transpose, Div, Add of a mask, Softmax,
      MatMul), which fuse-attention turns into Attention: 32 keys of 16 and a
      16-wide value row, the score and output rows held in vector registers;
      inputs q, k, v f32[N,2,32,16], mask f32[N,1,1,32]
  m3  MatMul [N,13,64] x [64,32] -> Tanh, and d4 depthwise 1x3 -> Tanh: an
      epilogue without a vector form (tanh is a libm call), so the raw tile
      and then the per-element epilogue pass
  p1  MaxPool 3x3, stride 2, pad 1 (ResNet's): the window kernel of the
      depthwise convolution taking the maximum, the plane padded with -inf
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)


def c(name, a):
    return nh.from_array(np.asarray(a, np.float32), name)


inits = [
    c("w1", rng.standard_normal((40, 20, 3, 3)) * 0.2), c("b1", rng.standard_normal(40)),
    c("w2", rng.standard_normal((24, 20, 3, 3)) * 0.2), c("b2", rng.standard_normal(24)),
    c("w3", rng.standard_normal((20, 20, 1, 1)) * 0.3), c("b3", rng.standard_normal(20)),
    c("w4", rng.standard_normal((36, 20, 1, 1)) * 0.3),
    c("w5", rng.standard_normal((33, 20, 5, 5)) * 0.1), c("b5", rng.standard_normal(33)),
    c("w6", rng.standard_normal((16, 20, 1, 1)) * 0.3), c("b6", rng.standard_normal(16)),
    c("w7", rng.standard_normal((16, 20, 1, 1)) * 0.3), c("b7", rng.standard_normal(16)),
    c("r7", rng.standard_normal(11)), c("w8", rng.standard_normal((16, 20, 1, 1)) * 0.3),
    c("wm", rng.standard_normal((64, 96)) * 0.2), c("bm", rng.standard_normal(96)),
    c("wn", rng.standard_normal((64, 32)) * 0.2), c("wo", rng.standard_normal((64, 32)) * 0.2),
    c("wd4", rng.standard_normal((20, 1, 1, 3))),
    c("wd1", rng.standard_normal((20, 1, 3, 3))), c("bd1", rng.standard_normal(20)),
    c("wd2", rng.standard_normal((20, 1, 3, 3))), c("wd3", rng.standard_normal((20, 1, 1, 3))),
    c("lo", np.float32(0)), c("hi", np.float32(6)), c("sq", np.float32(4)),
]
n = h.make_node
nodes = [
    n("Conv", ["x", "w1", "b1"], ["c1c"], name="c1", pads=[1, 1, 1, 1]),
    n("Relu", ["c1c"], ["c1"]),
    n("Conv", ["x", "w2", "b2"], ["c2"], name="c2", strides=[2, 2], pads=[1, 1, 0, 0]),
    n("Conv", ["x", "w3", "b3"], ["c3c"], name="c3"),
    n("Add", ["c3c", "x"], ["c3"]),
    n("Conv", ["x", "w4"], ["c4"], name="c4", strides=[2, 2]),
    n("Conv", ["x", "w5", "b5"], ["c5"], name="c5", pads=[4, 4, 4, 4], dilations=[2, 2]),
    n("Conv", ["x", "w6", "b6"], ["c6c"], name="c6"),
    n("Clip", ["c6c", "lo", "hi"], ["c6"]),
    n("Conv", ["x", "w7", "b7"], ["c7c"], name="c7"),
    n("Mul", ["c7c", "r7"], ["c7"]),
    n("Conv", ["x", "w8"], ["c8c"], name="c8"),
    n("Add", ["c8c", "c6"], ["c8a"]),
    n("Relu", ["c8a"], ["c8"]),
    n("MatMul", ["m", "wm"], ["m1m"], name="m1"),
    n("Add", ["m1m", "bm"], ["m1b"]),
    n("Gelu", ["m1b"], ["m1"], domain=""),
    n("MatMul", ["m", "wn"], ["m2"], name="m2"),
    n("Conv", ["x", "wd1", "bd1"], ["d1c"], name="d1", group=20, pads=[1, 1, 1, 1]),
    n("Clip", ["d1c", "lo", "hi"], ["d1"]),
    n("Conv", ["x", "wd2"], ["d2"], name="d2", group=20, strides=[2, 2]),
    n("Conv", ["x", "wd3"], ["d3"], name="d3", group=20),
    n("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
    n("MatMul", ["q", "kt"], ["qk"]),
    n("Div", ["qk", "sq"], ["qks"]),
    n("Add", ["qks", "mask"], ["qkm"]),
    n("Softmax", ["qkm"], ["pr"], axis=-1),
    n("MatMul", ["pr", "v"], ["at"], name="at"),
    n("MatMul", ["m", "wo"], ["m3m"], name="m3"),
    n("Tanh", ["m3m"], ["m3"]),
    n("Conv", ["x", "wd4"], ["d4c"], name="d4", group=20),
    n("Tanh", ["d4c"], ["d4"]),
    n("MaxPool", ["x"], ["p1"], name="p1", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
]
g = h.make_graph(
    nodes, "tiled",
    [h.make_tensor_value_info("x", T.FLOAT, ["N", 20, 11, 11]),
     h.make_tensor_value_info("m", T.FLOAT, ["N", 13, 64]),
     h.make_tensor_value_info("q", T.FLOAT, ["N", 2, 32, 16]),
     h.make_tensor_value_info("k", T.FLOAT, ["N", 2, 32, 16]),
     h.make_tensor_value_info("v", T.FLOAT, ["N", 2, 32, 16]),
     h.make_tensor_value_info("mask", T.FLOAT, ["N", 1, 1, 32])],
    [h.make_tensor_value_info("c1", T.FLOAT, ["N", 40, 11, 11]),
     h.make_tensor_value_info("c2", T.FLOAT, ["N", 24, 5, 5]),
     h.make_tensor_value_info("c3", T.FLOAT, ["N", 20, 11, 11]),
     h.make_tensor_value_info("c4", T.FLOAT, ["N", 36, 6, 6]),
     h.make_tensor_value_info("c5", T.FLOAT, ["N", 33, 11, 11]),
     h.make_tensor_value_info("c6", T.FLOAT, ["N", 16, 11, 11]),
     h.make_tensor_value_info("c7", T.FLOAT, ["N", 16, 11, 11]),
     h.make_tensor_value_info("c8", T.FLOAT, ["N", 16, 11, 11]),
     h.make_tensor_value_info("m1", T.FLOAT, ["N", 13, 96]),
     h.make_tensor_value_info("m2", T.FLOAT, ["N", 13, 32]),
     h.make_tensor_value_info("d1", T.FLOAT, ["N", 20, 11, 11]),
     h.make_tensor_value_info("d2", T.FLOAT, ["N", 20, 5, 5]),
     h.make_tensor_value_info("d3", T.FLOAT, ["N", 20, 11, 9]),
     h.make_tensor_value_info("at", T.FLOAT, ["N", 2, 32, 16]),
     h.make_tensor_value_info("m3", T.FLOAT, ["N", 13, 32]),
     h.make_tensor_value_info("d4", T.FLOAT, ["N", 20, 11, 9]),
     h.make_tensor_value_info("p1", T.FLOAT, ["N", 20, 6, 6])],
    inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 20)])
m.ir_version = 9
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "tiled.onnx"))
