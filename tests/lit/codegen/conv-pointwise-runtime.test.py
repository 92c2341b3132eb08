import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1]
rng = np.random.default_rng(0)
w = rng.uniform(-1, 1, (16, 12, 1, 1)).astype(np.float32)
b = rng.uniform(-1, 1, 16).astype(np.float32)
inits = [h.make_tensor("w", T.FLOAT, list(w.shape), w.ravel()), h.make_tensor("b", T.FLOAT, [16], b)]
x = [h.make_tensor_value_info("x", T.FLOAT, ["N", 12, "H", "W"])]
for name, nodes in [("plain", [h.make_node("Conv", ["x", "w", "b"], ["y"])]),
                    ("silu", [h.make_node("Conv", ["x", "w", "b"], ["c"]),
                              h.make_node("Sigmoid", ["c"], ["s"]),
                              h.make_node("Mul", ["c", "s"], ["y"])])]:
    g = h.make_graph(nodes, name, x, [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, "%s/%s.onnx" % (out, name))
