#!/usr/bin/env python3
"""make_patterns.py DIR: a transformer block written out op by op, for fuse-patterns.

patterns.onnx: x [N,S,16] -> LayerNorm as exporters write it (mean, x - mean,
Pow 2, mean, + eps, Sqrt, Div, * gamma, + beta) -> MatMul + bias -> GELU (tanh
form, Pow 3) -> MatMul -> scores = h h^T / 4 -> Softmax written out (ReduceMax,
Sub, Exp, ReduceSum, Div; ReduceSum with its axes as an input, opset 13+).
Then attention over 2 heads of hdn, as BERT exports write it: Q, K^T and V
from Reshape + Transpose, MatMul, Div by sqrt(8), + an additive mask input
[N,1,1,S], Softmax, MatMul with V.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2)


def c(name, a):
    return nh.from_array(np.asarray(a), name)


inits = [
    c("two", np.float32(2)), c("eps", np.float32(1e-5)), c("three", np.float32(3)),
    c("gamma", rng.uniform(0.5, 1.5, 16).astype(np.float32)),
    c("beta", rng.standard_normal(16).astype(np.float32)),
    c("w1", (rng.standard_normal((16, 32)) * 0.3).astype(np.float32)),
    c("b1", rng.standard_normal(32).astype(np.float32)),
    c("w2", (rng.standard_normal((32, 16)) * 0.3).astype(np.float32)),
    c("half", np.float32(0.5)), c("one", np.float32(1)),
    c("k", np.float32(np.sqrt(2 / np.pi))), c("c3", np.float32(0.044715)),
    c("scale", np.float32(4)), c("last", np.array([-1], np.int64)),
    c("split", np.array([0, 0, 2, 8], np.int64)), c("sqrt8", np.float32(np.sqrt(8))),
]
n = h.make_node
nodes = [
    n("ReduceMean", ["x"], ["m"], axes=[-1]),
    n("Sub", ["x", "m"], ["d"]),
    n("Pow", ["d", "two"], ["d2"]),
    n("ReduceMean", ["d2"], ["v"], axes=[-1]),
    n("Add", ["v", "eps"], ["ve"]),
    n("Sqrt", ["ve"], ["sd"]),
    n("Div", ["d", "sd"], ["nrm"]),
    n("Mul", ["nrm", "gamma"], ["ng"]),
    n("Add", ["ng", "beta"], ["ln"]),
    n("MatMul", ["ln", "w1"], ["f0"]),
    n("Add", ["f0", "b1"], ["f"]),
    n("Pow", ["f", "three"], ["f3"]),
    n("Mul", ["c3", "f3"], ["cf3"]),
    n("Add", ["f", "cf3"], ["inner"]),
    n("Mul", ["k", "inner"], ["targ"]),
    n("Tanh", ["targ"], ["t"]),
    n("Add", ["one", "t"], ["pt"]),
    n("Mul", ["half", "f"], ["hf"]),
    n("Mul", ["hf", "pt"], ["g"]),
    n("MatMul", ["g", "w2"], ["hdn"]),
    n("Transpose", ["hdn"], ["hT"], perm=[0, 2, 1]),
    n("MatMul", ["hdn", "hT"], ["s0"]),
    n("Div", ["s0", "scale"], ["s"]),
    n("ReduceMax", ["s"], ["mx"], axes=[-1]),
    n("Sub", ["s", "mx"], ["sz"]),
    n("Exp", ["sz"], ["e"]),
    n("ReduceSum", ["e", "last"], ["se"]),
    n("Div", ["e", "se"], ["y"]),
    n("Reshape", ["hdn", "split"], ["h4"]),
    n("Transpose", ["h4"], ["q4"], perm=[0, 2, 1, 3]),
    n("Transpose", ["h4"], ["kt4"], perm=[0, 2, 3, 1]),
    n("MatMul", ["q4", "kt4"], ["qk"]),
    n("Div", ["qk", "sqrt8"], ["qks"]),
    n("Add", ["qks", "mask"], ["qkm"]),
    n("Softmax", ["qkm"], ["probs"], axis=-1),
    n("MatMul", ["probs", "q4"], ["att"]),
]
vi = h.make_tensor_value_info
g = h.make_graph(nodes, "patterns",
                 [vi("x", T.FLOAT, ["N", "S", 16]), vi("mask", T.FLOAT, ["N", 1, 1, "S"])],
                 [vi("y", T.FLOAT, ["N", "S", "S"]), vi("hdn", T.FLOAT, ["N", "S", 16]),
                  vi("att", T.FLOAT, ["N", 2, "S", 8])], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "patterns.onnx"))
