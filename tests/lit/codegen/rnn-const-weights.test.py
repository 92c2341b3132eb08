import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1]
rng = np.random.default_rng(0)


def c(name, shape, scale=0.5):
    return h.make_tensor(name, T.FLOAT, list(shape),
                         (rng.uniform(-1, 1, shape) * scale).astype(np.float32).ravel())


def save(name, op, dirs, hidden, inputs_extra, inits, **attrs):
    G = {"LSTM": 4, "RNN": 1, "GRU": 3}[op]
    I = 12
    ins = [h.make_tensor_value_info("x", T.FLOAT, ["S", "B", I])] + inputs_extra
    inits = [c("w", (dirs, G * hidden, I)), c("r", (dirs, G * hidden, hidden)),
             c("b", (dirs, 2 * G * hidden))] + inits
    names = ["x", "w", "r", "b"] + attrs.pop("extra_inputs", [])
    outs = ["y", "yh"] + (["yc"] if op == "LSTM" else [])
    node = h.make_node(op, names, outs, hidden_size=hidden,
                       direction={1: "forward", 2: "bidirectional"}[dirs], **attrs)
    g = h.make_graph([node], name, ins, [h.make_tensor_value_info(o, T.FLOAT, None) for o in outs],
                     inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 14)])
    m.ir_version = 8
    onnx.save(m, "%s/%s.onnx" % (out, name))


# forward LSTM, H = 16 (4H = 64 gate rows: two column blocks)
save("lstm", "LSTM", 1, 16, [], [])
# bidirectional LSTM with sequence lengths, initial states and peepholes, H = 10
save("lstm_bi", "LSTM", 2, 10,
     [h.make_tensor_value_info("sl", T.INT32, ["B"]),
      h.make_tensor_value_info("h0", T.FLOAT, [2, "B", 10]),
      h.make_tensor_value_info("c0", T.FLOAT, [2, "B", 10])],
     [c("p", (2, 30))], extra_inputs=["sl", "h0", "c0", "p"])
# RNN with Tanh, H = 40; GRU keeps its own projection
save("rnn", "RNN", 1, 40, [], [])
save("gru", "GRU", 2, 16, [], [], linear_before_reset=1)
