#!/usr/bin/env python3
"""make_control_flow.py DIR: models with If, Loop and Scan for the control-flow lit test.

  if.onnx    y = If(flag > 0, then: x * 2, else: x - 1), with x f32[N,3], flag f32[]
  loop.onnx  a Loop of M = 4 (a constant) iterations carrying an accumulator
             (acc += x) and emitting acc * x at each step as a scan output
  scan.onnx  a Scan running a cumulative sum over the rows of x f32[5,3],
             forward, and a second scan input read in reverse
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))


# If
then_g = h.make_graph([h.make_node("Mul", ["x", "two"], ["t"])], "then_b", [],
                      [h.make_tensor_value_info("t", T.FLOAT, ["N", 3])])
else_g = h.make_graph([h.make_node("Sub", ["x", "one"], ["e"])], "else_b", [],
                      [h.make_tensor_value_info("e", T.FLOAT, ["N", 3])])
save("if", [
    h.make_node("Greater", ["flag", "zero"], ["c"]),
    h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g),
], [h.make_tensor_value_info("x", T.FLOAT, ["N", 3]), h.make_tensor_value_info("flag", T.FLOAT, [])],
    [h.make_tensor_value_info("y", T.FLOAT, ["N", 3])],
    [nh.from_array(np.float32(2), "two"), nh.from_array(np.float32(1), "one"),
     nh.from_array(np.float32(0), "zero")])

# Loop
body = h.make_graph([
    h.make_node("Identity", ["cond_in"], ["cond_out"]),
    h.make_node("Add", ["acc_in", "x"], ["acc_out"]),
    h.make_node("Mul", ["acc_out", "x"], ["step"]),
], "body", [h.make_tensor_value_info("i", T.INT64, []),
            h.make_tensor_value_info("cond_in", T.BOOL, []),
            h.make_tensor_value_info("acc_in", T.FLOAT, [3])],
    [h.make_tensor_value_info("cond_out", T.BOOL, []),
     h.make_tensor_value_info("acc_out", T.FLOAT, [3]),
     h.make_tensor_value_info("step", T.FLOAT, [3])])
save("loop", [h.make_node("Loop", ["M", "", "acc0"], ["acc", "steps"], body=body)],
     [h.make_tensor_value_info("x", T.FLOAT, [3]), h.make_tensor_value_info("acc0", T.FLOAT, [3])],
     [h.make_tensor_value_info("acc", T.FLOAT, [3]),
      h.make_tensor_value_info("steps", T.FLOAT, [4, 3])],
     [nh.from_array(np.int64(4), "M")])

# Scan
sbody = h.make_graph([
    h.make_node("Add", ["s_in", "row"], ["s_out"]),
    h.make_node("Mul", ["s_out", "rrow"], ["o"]),
], "sbody", [h.make_tensor_value_info("s_in", T.FLOAT, [3]),
             h.make_tensor_value_info("row", T.FLOAT, [3]),
             h.make_tensor_value_info("rrow", T.FLOAT, [3])],
    [h.make_tensor_value_info("s_out", T.FLOAT, [3]), h.make_tensor_value_info("o", T.FLOAT, [3])])
save("scan", [h.make_node("Scan", ["s0", "x", "x"], ["s", "ys"], body=sbody, num_scan_inputs=2,
                          scan_input_directions=[0, 1])],
     [h.make_tensor_value_info("s0", T.FLOAT, [3]), h.make_tensor_value_info("x", T.FLOAT, [5, 3])],
     [h.make_tensor_value_info("s", T.FLOAT, [3]), h.make_tensor_value_info("ys", T.FLOAT, [5, 3])])
