#!/usr/bin/env python3
"""Write the fuzz seed models in seeds/: sub-graphs with captures (If, Loop),
every attribute kind, initializers in typed fields, dim_params, value_info."""
import os
import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
os.makedirs(here, exist_ok=True)

then_g = h.make_graph([h.make_node("Add", ["x", "w"], ["t"])], "then", [],
                      [h.make_tensor_value_info("t", T.FLOAT, ["N", 4])])
else_g = h.make_graph([h.make_node("Sub", ["x", "w"], ["e"])], "else", [],
                      [h.make_tensor_value_info("e", T.FLOAT, ["N", 4])])
body = h.make_graph(
    [h.make_node("Identity", ["cond_in"], ["cond_out"]),
     h.make_node("Mul", ["acc_in", "w"], ["acc_out"]),
     h.make_node("Identity", ["acc_out"], ["scan_out"])],
    "body",
    [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("cond_in", T.BOOL, []),
     h.make_tensor_value_info("acc_in", T.FLOAT, ["N", 4])],
    [h.make_tensor_value_info("cond_out", T.BOOL, []),
     h.make_tensor_value_info("acc_out", T.FLOAT, ["N", 4]),
     h.make_tensor_value_info("scan_out", T.FLOAT, ["N", 4])])
w = h.make_tensor("w", T.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])  # float_data, not raw
trip = numpy_helper.from_array(np.array(3, dtype=np.int64), "trip")
c = numpy_helper.from_array(np.array(True), "c")
nodes = [
    h.make_node("If", ["c"], ["y_if"], name="branch", then_branch=then_g, else_branch=else_g),
    h.make_node("Loop", ["trip", "", "y_if"], ["y_loop", "scans"], name="loop", body=body),
    h.make_node("Constant", [], ["shape"], value_ints=[-1, 2]),
    h.make_node("Reshape", ["y_loop", "shape"], ["y"], name="reshape"),
    h.make_node("LeakyRelu", ["y"], ["z"], name="lrelu", alpha=0.25),
    h.make_node("Cast", ["z"], ["z16"], name="cast", to=T.FLOAT16),
]
g = h.make_graph(nodes, "control", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])],
                 [h.make_tensor_value_info("z16", T.FLOAT16, ["R", 2]),
                  h.make_tensor_value_info("scans", T.FLOAT, [3, "N", 4])],
                 [w, trip, c], value_info=[h.make_tensor_value_info("y_if", T.FLOAT, ["N", 4])])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)], producer_name="kiln-fuzz-seeds")
m.ir_version = 8
onnx.save(m, os.path.join(here, "control.onnx"))
print("wrote", os.path.join(here, "control.onnx"))
