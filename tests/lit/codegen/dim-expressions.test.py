import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1]
if len(sys.argv) > 2 and sys.argv[2] == "add":
    g = h.make_graph([h.make_node("Add", ["x", "y"], ["z"])], "g",
                     [h.make_tensor_value_info("x", T.FLOAT, ["A"]),
                      h.make_tensor_value_info("y", T.FLOAT, ["B"])],
                     [h.make_tensor_value_info("z", T.FLOAT, None)])
else:
    rng = np.random.default_rng(0)
    w = h.make_tensor("w", T.FLOAT, [4, 2, 3, 3], rng.uniform(-1, 1, 72).astype(np.float32))
    i64 = lambda n, v: h.make_tensor(n, T.INT64, [len(v)], v)
    nodes = [
        h.make_node("Conv", ["x", "w"], ["conv"], pads=[1, 1, 1, 1], strides=[2, 2]),
        h.make_node("MaxPool", ["conv"], ["pool"], kernel_shape=[3, 3], strides=[2, 2],
                    ceil_mode=1),
        h.make_node("Pad", ["pool", "pads"], ["p"], mode="constant"),
        # floor(C/2) rows of a 2x2 pooling and the odd rows of conv: equal
        # sizes, in forms the algebra does not prove equal
        h.make_node("MaxPool", ["conv"], ["pool2"], kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("Slice", ["conv", "st", "en", "ax", "sp"], ["xs"]),
        h.make_node("Concat", ["pool2", "xs"], ["y"], axis=1),
    ]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, [1, 2, "H", "W"])],
                     [h.make_tensor_value_info("y", T.FLOAT, None),
                      h.make_tensor_value_info("p", T.FLOAT, None)],
                     [w, i64("pads", [0, 0, 1, 2, 0, 0, 3, 0]), i64("st", [1, 1]),
                      i64("en", [2**62, 2**62]), i64("ax", [2, 3]), i64("sp", [2, 2])])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
m.ir_version = 8
onnx.save(m, out)
