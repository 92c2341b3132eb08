import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1]
rng = np.random.default_rng(0)


def model(name, c, m, k, weight_input=False, **attrs):
    w = rng.uniform(-1, 1, (c, m, k, k)).astype(np.float32)
    b = rng.uniform(-1, 1, m).astype(np.float32)
    inits = [h.make_tensor("b", T.FLOAT, [m], b)]
    inputs = [h.make_tensor_value_info("x", T.FLOAT, [1, c, 5, "W"])]
    if weight_input:
        inputs.append(h.make_tensor_value_info("w", T.FLOAT, list(w.shape)))
    else:
        inits.append(h.make_tensor("w", T.FLOAT, list(w.shape), w.ravel()))
    node = h.make_node("ConvTranspose", ["x", "w", "b"], ["y"], kernel_shape=[k, k], **attrs)
    g = h.make_graph([node], name, inputs, [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    mo = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    mo.ir_version = 8
    onnx.save(mo, "%s/%s.onnx" % (out, name))


model("up", 16, 8, 2, strides=[2, 2])
model("overlap", 8, 6, 3, strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])
model("dilated", 4, 5, 3, strides=[1, 2], dilations=[2, 1], pads=[0, 1, 2, 0])
model("w_input", 16, 8, 2, weight_input=True, strides=[2, 2])
