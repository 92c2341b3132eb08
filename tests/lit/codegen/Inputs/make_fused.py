#!/usr/bin/env python3
"""make_fused.py DIR: epilogue and elementwise patterns for the fused lowering.

fused.onnx has, side by side:
  y1  Conv + bias -> Add of a per-channel constant -> HardSwish
  y2  Conv (no bias, stride 2) -> LeakyRelu -> SiLU (y * Sigmoid(y))
  y3  Gemm (alpha, beta, C) -> Clip(0, 6) -> Tanh
  y4  batched MatMul -> bias -> GELU as exporters write it -> minus another input
  y5  elementwise only: Where(v > 0, Exp(v), -v) * 3 -> Sqrt(Abs(.))
  y6  Cast to f16 -> Relu -> Mul in f16 -> Cast back to f32
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1)


def c(name, a):
    return nh.from_array(np.asarray(a), name)


inits = [
    c("w1", rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3),
    c("b1", rng.standard_normal(4).astype(np.float32)),
    c("r1", rng.standard_normal((1, 4, 1, 1)).astype(np.float32)),
    c("w2", rng.standard_normal((6, 3, 3, 3)).astype(np.float32) * 0.3),
    c("wg", rng.standard_normal((12, 7)).astype(np.float32)),
    c("cg", rng.standard_normal(7).astype(np.float32)),
    c("lo", np.float32(0)), c("hi", np.float32(6)),
    c("wm", rng.standard_normal((6, 8)).astype(np.float32)),
    c("bm", rng.standard_normal(8).astype(np.float32)),
    c("half", np.float32(0.5)), c("sqrt2", np.float32(np.sqrt(2))), c("one", np.float32(1)),
    c("three", np.float32(3)), c("zero", np.float32(0)),
    c("h2", np.float16(2)),
]
n = h.make_node
nodes = [
    n("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    n("Add", ["c1", "r1"], ["a1"], name="add1"),
    n("HardSwish", ["a1"], ["y1"], name="hswish"),
    n("Conv", ["x", "w2"], ["c2"], name="conv2", strides=[2, 2]),
    n("LeakyRelu", ["c2"], ["l2"], name="leaky", alpha=0.2),
    n("Sigmoid", ["l2"], ["s2"], name="sig"),
    n("Mul", ["l2", "s2"], ["y2"], name="silu"),
    n("Gemm", ["g", "wg", "cg"], ["gm"], name="gemm", alpha=0.5, beta=2.0),
    n("Clip", ["gm", "lo", "hi"], ["cl"], name="relu6"),
    n("Tanh", ["cl"], ["y3"], name="tanh"),
    n("MatMul", ["v", "wm"], ["mm"], name="mm"),
    n("Add", ["mm", "bm"], ["f"], name="bias"),
    n("Mul", ["f", "half"], ["fh"], name="gelu_half"),
    n("Div", ["f", "sqrt2"], ["fd"], name="gelu_div"),
    n("Erf", ["fd"], ["fe"], name="gelu_erf"),
    n("Add", ["fe", "one"], ["fp"], name="gelu_add"),
    n("Mul", ["fh", "fp"], ["ge"], name="gelu"),
    n("Sub", ["ge", "u"], ["y4"], name="resid"),
    n("Greater", ["u", "zero"], ["pos"], name="gt"),
    n("Exp", ["u"], ["ue"], name="exp"),
    n("Neg", ["u"], ["un"], name="neg"),
    n("Where", ["pos", "ue", "un"], ["w"], name="where"),
    n("Mul", ["w", "three"], ["w3"], name="mul3"),
    n("Abs", ["w3"], ["wa"], name="abs"),
    n("Sqrt", ["wa"], ["y5"], name="sqrt"),
    n("Cast", ["u"], ["uh"], name="to_f16", to=T.FLOAT16),
    n("Relu", ["uh"], ["rh"], name="relu_f16"),
    n("Mul", ["rh", "h2"], ["mh"], name="mul_f16"),
    n("Cast", ["mh"], ["y6"], name="to_f32", to=T.FLOAT),
]
vi = h.make_tensor_value_info
g = h.make_graph(
    nodes, "fused",
    [vi("x", T.FLOAT, ["N", 3, 8, 8]), vi("g", T.FLOAT, ["N", 12]), vi("v", T.FLOAT, ["N", 5, 6]),
     vi("u", T.FLOAT, ["N", 5, 8])],
    [vi("y1", T.FLOAT, ["N", 4, 8, 8]), vi("y2", T.FLOAT, ["N", 6, 3, 3]), vi("y3", T.FLOAT, ["N", 7]),
     vi("y4", T.FLOAT, ["N", 5, 8]), vi("y5", T.FLOAT, ["N", 5, 8]), vi("y6", T.FLOAT, ["N", 5, 8])],
    inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "fused.onnx"))
