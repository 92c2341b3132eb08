import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1]
rng = np.random.default_rng(0)


def save(name, xshape, wshape, **attrs):
    w = rng.uniform(-1, 1, wshape).astype(np.float32)
    b = rng.uniform(-1, 1, wshape[0]).astype(np.float32)
    g = h.make_graph([h.make_node("Conv", ["x", "w", "b"], ["y"], **attrs)], name,
                     [h.make_tensor_value_info("x", T.FLOAT, xshape)],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [h.make_tensor("w", T.FLOAT, list(w.shape), w.ravel()),
                      h.make_tensor("b", T.FLOAT, [len(b)], b)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, "%s/%s.onnx" % (out, name))


# an STFT-style 1-D convolution: a long kernel, a hop
save("stft", ["N", 1, "L"], [40, 1, 64], strides=[16])
# 1-D with pads, dilation and several input channels
save("dil", ["N", 6, "L"], [9, 6, 3], pads=[2, 1], dilations=[2])
# a 1-D convolution along H written as 2-D with width 1 (kernel [5, 1])
save("col", ["N", 8, "L", 1], [12, 8, 5, 1], pads=[2, 0, 2, 0])
