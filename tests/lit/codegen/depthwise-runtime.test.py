import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1]
rng = np.random.default_rng(0)
w = rng.uniform(-1, 1, (24, 1, 3, 3)).astype(np.float32)
b = rng.uniform(-1, 1, 24).astype(np.float32)
inits = [h.make_tensor("w", T.FLOAT, list(w.shape), w.ravel()), h.make_tensor("b", T.FLOAT, [24], b)]
x = [h.make_tensor_value_info("x", T.FLOAT, ["N", 24, "H", "W"])]
for name, attrs in [("s1", dict(pads=[1, 1, 1, 1])), ("s2", dict(pads=[1, 1, 1, 1], strides=[2, 2]))]:
    nodes = [h.make_node("Conv", ["x", "w", "b"], ["c"], group=24, **attrs),
             h.make_node("HardSigmoid", ["c"], ["hs"]), h.make_node("Mul", ["c", "hs"], ["y"])]
    g = h.make_graph(nodes, name, x, [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, "%s/%s.onnx" % (out, name))
