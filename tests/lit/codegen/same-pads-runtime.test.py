import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1]
rng = np.random.default_rng(0)
w = rng.uniform(-1, 1, (8, 4, 3, 3)).astype(np.float32)
inits = [h.make_tensor("w", T.FLOAT, list(w.shape), w.ravel())]
nodes = [h.make_node("Conv", ["x", "w"], ["c2"], auto_pad="SAME_UPPER", strides=[2, 2]),
         h.make_node("Conv", ["x", "w"], ["c1"], auto_pad="SAME_LOWER", strides=[1, 2]),
         h.make_node("MaxPool", ["x"], ["p"], auto_pad="SAME_UPPER", kernel_shape=[3, 3],
                     strides=[2, 2]),
         h.make_node("AveragePool", ["x"], ["a"], auto_pad="SAME_LOWER", kernel_shape=[2, 3],
                     strides=[2, 1], count_include_pad=1)]
g = h.make_graph(nodes, "same", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4, "H", "W"])],
                 [h.make_tensor_value_info(n, T.FLOAT, None) for n in ["c2", "c1", "p", "a"]], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
m.ir_version = 8
onnx.save(m, out + "/same.onnx")
