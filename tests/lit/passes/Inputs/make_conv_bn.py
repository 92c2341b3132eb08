#!/usr/bin/env python3
"""make_conv_bn.py DIR: Conv/ConvTranspose followed by BatchNormalization, for fuse-conv-bn.

  conv_bn.onnx   Conv (no bias) -> BN -> Relu, and Conv (bias, groups 2) -> BN -> output
  convt_bn.onnx  ConvTranspose (groups 2) -> BN
  shared.onnx    a Conv whose result feeds a BN and a Relu: must not fold
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)


def bn_params(p, c):
    return [nh.from_array(rng.uniform(0.5, 1.5, c).astype(np.float32), p + "s"),
            nh.from_array(rng.standard_normal(c).astype(np.float32), p + "b"),
            nh.from_array(rng.standard_normal(c).astype(np.float32), p + "m"),
            nh.from_array(rng.uniform(0.5, 1.5, c).astype(np.float32), p + "v")]


def save(name, nodes, inputs, outputs, inits):
    g = h.make_graph(nodes, name, inputs, outputs, inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))


w1 = nh.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w1")
w2 = nh.from_array(rng.standard_normal((6, 2, 1, 1)).astype(np.float32), "w2")
b2 = nh.from_array(rng.standard_normal(6).astype(np.float32), "b2")
save("conv_bn", [
    h.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    h.make_node("BatchNormalization", ["c1", "n1s", "n1b", "n1m", "n1v"], ["n1"], name="bn1"),
    h.make_node("Relu", ["n1"], ["r1"], name="relu1"),
    h.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", group=2),
    h.make_node("BatchNormalization", ["c2", "n2s", "n2b", "n2m", "n2v"], ["y"], name="bn2",
                epsilon=1e-3),
], [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, 8, 8])],
    [h.make_tensor_value_info("y", T.FLOAT, ["N", 6, 8, 8])],
    [w1, w2, b2] + bn_params("n1", 4) + bn_params("n2", 6))

wt = nh.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "wt")
save("convt_bn", [
    h.make_node("ConvTranspose", ["x", "wt"], ["c"], name="convt", group=2, strides=[2, 2]),
    h.make_node("BatchNormalization", ["c", "ns", "nb", "nm", "nv"], ["y"], name="bn"),
], [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 5, 5])],
    [h.make_tensor_value_info("y", T.FLOAT, [1, 6, 11, 11])],
    [wt] + bn_params("n", 6))

save("shared", [
    h.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    h.make_node("BatchNormalization", ["c1", "n1s", "n1b", "n1m", "n1v"], ["n1"], name="bn1"),
    h.make_node("Relu", ["c1"], ["r"], name="relu"),
], [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8])],
    [h.make_tensor_value_info("n1", T.FLOAT, [1, 4, 8, 8]),
     h.make_tensor_value_info("r", T.FLOAT, [1, 4, 8, 8])],
    [w1] + bn_params("n1", 4))
