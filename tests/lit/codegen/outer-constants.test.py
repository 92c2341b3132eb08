import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1]
i64 = lambda n, v: h.make_tensor(n, T.INT64, [len(v)], v)
# branches read initializers of the enclosing graph (ONNX allows it): Slice's
# starts/ends/axes and Reshape's shape, which the lowering needs as constants
then_g = h.make_graph([h.make_node("Slice", ["x", "st", "en", "ax"], ["t"])], "then", [],
                      [h.make_tensor_value_info("t", T.FLOAT, None)])
else_g = h.make_graph([h.make_node("Reshape", ["x", "shape"], ["r"]),
                       h.make_node("Slice", ["r", "st2", "en2", "ax2"], ["e"])], "else", [],
                      [h.make_tensor_value_info("e", T.FLOAT, None)])
g = h.make_graph([h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)], "g",
                 [h.make_tensor_value_info("c", T.BOOL, []),
                  h.make_tensor_value_info("x", T.FLOAT, [4, 6])],
                 [h.make_tensor_value_info("y", T.FLOAT, None)],
                 [i64("st", [1]), i64("en", [3]), i64("ax", [1]), i64("shape", [6, 4]),
                  i64("st2", [1, 0]), i64("en2", [5, 2]), i64("ax2", [0, 1])])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
m.ir_version = 8
onnx.save(m, out + "/outer.onnx")
