#!/usr/bin/env python3
"""Build examples/tinynet.onnx: a small CNN classifier with seeded random weights.

Conv-BN-Relu, a depthwise-separable block with a residual Add, global average
pooling, Flatten and Gemm, with a symbolic batch dimension N: the shapes and
ops that ResNet/MobileNet-class models are made of, in 20 KB.
"""
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)


def w(name, *shape, scale=0.1):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


inits = [
    w("conv1.w", 16, 3, 3, 3), w("conv1.b", 16),
    numpy_helper.from_array(rng.uniform(0.5, 1.5, 16).astype(np.float32), "bn1.scale"),
    w("bn1.bias", 16), w("bn1.mean", 16),
    numpy_helper.from_array(rng.uniform(0.5, 1.5, 16).astype(np.float32), "bn1.var"),
    w("dw.w", 16, 1, 3, 3), w("dw.b", 16),
    w("pw.w", 16, 16, 1, 1), w("pw.b", 16),
    w("fc.w", 10, 16), w("fc.b", 10),
    numpy_helper.from_array(np.array(0, np.float32), "relu6.min"),
    numpy_helper.from_array(np.array(6, np.float32), "relu6.max"),
]
nodes = [
    helper.make_node("Conv", ["input", "conv1.w", "conv1.b"], ["c1"], name="conv1",
                     kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
    helper.make_node("BatchNormalization", ["c1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"],
                     ["b1"], name="bn1", epsilon=1e-5),
    helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
    helper.make_node("Conv", ["r1", "dw.w", "dw.b"], ["d1"], name="dwconv", group=16,
                     kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("Clip", ["d1", "relu6.min", "relu6.max"], ["d2"], name="relu6"),
    helper.make_node("Conv", ["d2", "pw.w", "pw.b"], ["p1"], name="pwconv", kernel_shape=[1, 1]),
    helper.make_node("Add", ["p1", "r1"], ["res"], name="residual"),
    helper.make_node("GlobalAveragePool", ["res"], ["gap"], name="gap"),
    helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
    helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
    helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
]
graph = helper.make_graph(
    nodes, "tinynet",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="kiln-examples")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tinynet.onnx")
onnx.save(model, out)
print(out)
