import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1]
rng = np.random.default_rng(0)


def save(name, nodes, inputs, inits):
    g = h.make_graph(nodes, name, inputs, [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, "%s/%s.onnx" % (out, name))


def const(name, shape):
    return h.make_tensor(name, T.FLOAT, list(shape), rng.uniform(-1, 1, shape).astype(np.float32).ravel())


x = [h.make_tensor_value_info("x", T.FLOAT, ["M", 48])]
# Gemm: N = 70 (two full blocks of 32 and a partial one), a bias of N, beta 0.5,
# constant B given transposed (canonicalize makes it [K, N]), then Relu (an epilogue)
save("gemm", [h.make_node("Gemm", ["x", "b", "c"], ["g"], transB=1, beta=0.5),
              h.make_node("Relu", ["g"], ["y"])], x, [const("b", (70, 48)), const("c", (70,))])
# Gemm with a [1, N] bias and no epilogue, N = 40
save("gemm_row", [h.make_node("Gemm", ["x", "b", "c"], ["y"])], x,
     [const("b", (48, 40)), const("c", (1, 40))])
# MatMul over batch dims with runtime rows, N = 33
save("matmul", [h.make_node("MatMul", ["x3", "b"], ["y"])],
     [h.make_tensor_value_info("x3", T.FLOAT, [2, "M", 48])], [const("b", (48, 33))])
