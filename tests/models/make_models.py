#!/usr/bin/env python3
"""Build real-architecture ONNX models with seeded random weights, offline.

  resnet50.onnx     ResNet-50 v1 (torchvision layout): 7x7 stem, max pool,
                    bottleneck stages [3, 4, 6, 3], global average pool, FC 1000;
                    input f32[N,3,224,224]
  mobilenetv2.onnx  MobileNetV2 1.0: inverted residual blocks with ReLU6 (Clip),
                    depthwise 3x3 convolutions, 1280-wide head, FC 1000;
                    input f32[N,3,224,224]
  minilm.onnx       a BERT/MiniLM-class encoder (6 layers, hidden 384, 12 heads,
                    FFN 1536, GELU via Erf, LayerNormalization, additive attention
                    mask, tanh pooler) as exporters write it; inputs
                    input_ids i64[N,S], attention_mask i64[N,S]
  gpt2_step.onnx    one decoder step of a GPT-2-class model (12 layers, hidden
                    768, 12 heads, FFN 3072, vocabulary 8192) with a KV cache;
                    inputs input_ids i64[N,1], past_key_i / past_value_i
                    f32[N,12,T,64]; outputs the logits and the new cache

The weights are random (numpy seed 0), scaled so activations stay in a sane
range through the depth (He-style fan-in scaling; residual branches damped),
which is what a numerical comparison with ONNX Runtime needs; the graphs are
the real architectures, op for op. Usage: make_models.py OUT_DIR [NAME ...] (default: the first three; gpt2_step
is built on request, it is large: ~340 MB)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.k = [], [], 0

    def name(self, p):
        self.k += 1
        return "%s_%d" % (p, self.k)

    def const(self, arr, p="c"):
        n = self.name(p)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def weight(self, shape, fan_in, gain=2.0, p="w"):
        w = self.rng.standard_normal(shape) * np.sqrt(gain / fan_in)
        return self.const(w.astype(np.float32), p)

    def op(self, op_type, inputs, n_out=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=outs[0], **attrs))
        return outs[0] if n_out == 1 else outs

    # ---- CNN pieces
    def conv_bn(self, x, cin, cout, k, stride=1, group=1, act="relu", gamma=1.0):
        w = self.weight((cout, cin // group, k, k), cin // group * k * k)
        y = self.op("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride],
                    pads=[k // 2] * 4, group=group)
        c = cout
        scale = self.const((gamma * self.rng.uniform(0.8, 1.2, c)).astype(np.float32), "bn_s")
        bias = self.const((0.05 * self.rng.standard_normal(c)).astype(np.float32), "bn_b")
        mean = self.const((0.05 * self.rng.standard_normal(c)).astype(np.float32), "bn_m")
        var = self.const(self.rng.uniform(0.8, 1.2, c).astype(np.float32), "bn_v")
        y = self.op("BatchNormalization", [y, scale, bias, mean, var], epsilon=1e-5)
        if act == "relu":
            y = self.op("Relu", [y])
        elif act == "relu6":
            y = self.op("Clip", [y, self.const(np.float32(0)), self.const(np.float32(6))])
        return y

    def head(self, x, cin, classes=1000):
        y = self.op("GlobalAveragePool", [x])
        y = self.op("Flatten", [y], axis=1)
        w = self.weight((classes, cin), cin, gain=1.0)
        b = self.const(np.zeros(classes, np.float32), "fc_b")
        return self.op("Gemm", [y, w, b], transB=1)

    def model(self, name, inputs, outputs, opset=17):
        g = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="kiln-tests")
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def resnet50():
    b = Builder(0)
    x = "input"
    y = b.conv_bn(x, 3, 64, 7, stride=2)
    y = b.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, (blocks, width) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512])):
        for i in range(blocks):
            stride = 2 if i == 0 and stage > 0 else 1
            cout = width * 4
            t = b.conv_bn(y, cin, width, 1)
            t = b.conv_bn(t, width, width, 3, stride=stride)
            t = b.conv_bn(t, width, cout, 1, act=None, gamma=0.2)  # damped residual branch
            sc = y if (stride == 1 and cin == cout) else b.conv_bn(y, cin, cout, 1, stride=stride, act=None)
            y = b.op("Relu", [b.op("Add", [t, sc])])
            cin = cout
    out = b.head(y, cin)
    return b.model("resnet50",
                   [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
                   [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 1000])])


def mobilenetv2():
    b = Builder(1)
    y = b.conv_bn("input", 3, 32, 3, stride=2, act="relu6")
    cin = 32
    for t, c, n, s in [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                       [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]:
        for i in range(n):
            stride = s if i == 0 else 1
            hid = cin * t
            z = y
            if t != 1:
                z = b.conv_bn(z, cin, hid, 1, act="relu6")
            z = b.conv_bn(z, hid, hid, 3, stride=stride, group=hid, act="relu6")
            z = b.conv_bn(z, hid, c, 1, act=None, gamma=0.5)
            y = b.op("Add", [y, z]) if stride == 1 and cin == c else z
            cin = c
    y = b.conv_bn(y, cin, 1280, 1, act="relu6")
    out = b.head(y, 1280)
    return b.model("mobilenetv2",
                   [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
                   [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 1000])])


def minilm(layers=6, hidden=384, heads=12, ffn=1536, vocab=1000, max_pos=128):
    b = Builder(2)
    dh = hidden // heads

    def dense(x, n_in, n_out, gain=1.0):
        w = b.weight((n_in, n_out), n_in, gain=gain)
        return b.op("Add", [b.op("MatMul", [x, w]), b.const(np.zeros(n_out, np.float32), "bias")])

    def layer_norm(x):
        g = b.const(np.ones(hidden, np.float32), "ln_g")
        be = b.const(np.zeros(hidden, np.float32), "ln_b")
        return b.op("LayerNormalization", [x, g, be], axis=-1, epsilon=1e-12)

    word = b.const((0.02 * b.rng.standard_normal((vocab, hidden))).astype(np.float32), "word_emb")
    pos = b.const((0.02 * b.rng.standard_normal((max_pos, hidden))).astype(np.float32), "pos_emb")
    ids, mask = "input_ids", "attention_mask"
    e = b.op("Gather", [word, ids], axis=0)
    # position ids 0..S-1 from the input's shape, as exporters write it
    seq = b.op("Gather", [b.op("Shape", [ids]), b.const(np.int64(1))], axis=0)
    rng_ = b.op("Range", [b.const(np.int64(0)), seq, b.const(np.int64(1))])
    p = b.op("Gather", [pos, rng_], axis=0)
    h = layer_norm(b.op("Add", [e, p]))
    # additive mask (1 - mask) * -10000, broadcast over heads and query positions
    mf = b.op("Cast", [b.op("Unsqueeze", [mask, b.const(np.array([1, 2], np.int64))])], to=TensorProto.FLOAT)
    madd = b.op("Mul", [b.op("Sub", [b.const(np.float32(1)), mf]), b.const(np.float32(-10000))])
    split_shape = b.const(np.array([0, 0, heads, dh], np.int64), "shape")
    merge_shape = b.const(np.array([0, 0, hidden], np.int64), "shape")
    for _ in range(layers):
        q = b.op("Transpose", [b.op("Reshape", [dense(h, hidden, hidden), split_shape])], perm=[0, 2, 1, 3])
        k = b.op("Transpose", [b.op("Reshape", [dense(h, hidden, hidden), split_shape])], perm=[0, 2, 3, 1])
        v = b.op("Transpose", [b.op("Reshape", [dense(h, hidden, hidden), split_shape])], perm=[0, 2, 1, 3])
        s = b.op("Div", [b.op("MatMul", [q, k]), b.const(np.float32(np.sqrt(dh)))])
        a = b.op("Softmax", [b.op("Add", [s, madd])], axis=-1)
        c = b.op("Reshape", [b.op("Transpose", [b.op("MatMul", [a, v])], perm=[0, 2, 1, 3]), merge_shape])
        h = layer_norm(b.op("Add", [h, dense(c, hidden, hidden, gain=0.5)]))
        f = dense(h, hidden, ffn, gain=2.0)
        gelu = b.op("Mul", [b.op("Mul", [f, b.const(np.float32(0.5))]),
                            b.op("Add", [b.op("Erf", [b.op("Div", [f, b.const(np.float32(np.sqrt(2)))])]),
                                         b.const(np.float32(1))])])
        h = layer_norm(b.op("Add", [h, dense(gelu, ffn, hidden, gain=0.5)]))
    cls = b.op("Gather", [h, b.const(np.int64(0))], axis=1)
    pooled = b.op("Tanh", [b.op("Gemm", [cls, b.weight((hidden, hidden), hidden, gain=1.0),
                                         b.const(np.zeros(hidden, np.float32))])])
    m = b.model("minilm",
                [helper.make_tensor_value_info(ids, TensorProto.INT64, ["N", "S"]),
                 helper.make_tensor_value_info(mask, TensorProto.INT64, ["N", "S"])],
                [helper.make_tensor_value_info(h, TensorProto.FLOAT, ["N", "S", hidden]),
                 helper.make_tensor_value_info(pooled, TensorProto.FLOAT, ["N", hidden])])
    return m


def gpt2_step(layers=12, hidden=768, heads=12, ffn=3072, vocab=8192, max_pos=1024):
    """One decoder step of a GPT-2-class model with a KV cache: the new token
    attends to the T cached positions and itself. Pre-LayerNorm blocks, fused
    QKV projection, GELU (tanh form), tied output embedding. GPT-2 small's
    shapes except the vocabulary (8192 instead of 50257, to keep the file and
    the benchmark's memory small)."""
    b = Builder(3)
    dh = hidden // heads

    def layer_norm(x):
        g = b.const(np.ones(hidden, np.float32), "ln_g")
        be = b.const(np.zeros(hidden, np.float32), "ln_b")
        return b.op("LayerNormalization", [x, g, be], axis=-1, epsilon=1e-5)

    def dense(x, n_in, n_out, gain=1.0):
        w = b.weight((n_in, n_out), n_in, gain=gain)
        return b.op("Add", [b.op("MatMul", [x, w]), b.const(np.zeros(n_out, np.float32), "bias")])

    wte = (0.02 * b.rng.standard_normal((vocab, hidden))).astype(np.float32)
    word = b.const(wte, "wte")
    pos = b.const((0.01 * b.rng.standard_normal((max_pos, hidden))).astype(np.float32), "wpe")
    ids = "input_ids"
    # the new token's position is the cache length T (axis 2 of a past key)
    t = b.op("Gather", [b.op("Shape", ["past_key_0"]), b.const(np.array([2], np.int64))], axis=0)
    h = b.op("Add", [b.op("Gather", [word, ids], axis=0), b.op("Gather", [pos, t], axis=0)])
    split_shape = b.const(np.array([0, 0, heads, dh], np.int64), "shape")
    merge_shape = b.const(np.array([0, 0, hidden], np.int64), "shape")
    inputs = [helper.make_tensor_value_info(ids, TensorProto.INT64, ["N", 1])]
    outputs = []
    presents = []
    for i in range(layers):
        pk, pv = "past_key_%d" % i, "past_value_%d" % i
        inputs += [helper.make_tensor_value_info(pk, TensorProto.FLOAT, ["N", heads, "T", dh]),
                   helper.make_tensor_value_info(pv, TensorProto.FLOAT, ["N", heads, "T", dh])]
        x = layer_norm(h)
        qkv = dense(x, hidden, 3 * hidden)
        q, k, v = b.op("Split", [qkv, b.const(np.array([hidden] * 3, np.int64))], n_out=3, axis=-1)
        q = b.op("Transpose", [b.op("Reshape", [q, split_shape])], perm=[0, 2, 1, 3])
        k = b.op("Transpose", [b.op("Reshape", [k, split_shape])], perm=[0, 2, 1, 3])
        v = b.op("Transpose", [b.op("Reshape", [v, split_shape])], perm=[0, 2, 1, 3])
        k = b.op("Concat", [pk, k], axis=2)
        v = b.op("Concat", [pv, v], axis=2)
        presents += [k, v]
        s = b.op("Div", [b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                         b.const(np.float32(np.sqrt(dh)))])
        a = b.op("Softmax", [s], axis=-1)
        c = b.op("Reshape", [b.op("Transpose", [b.op("MatMul", [a, v])], perm=[0, 2, 1, 3]), merge_shape])
        h = b.op("Add", [h, dense(c, hidden, hidden, gain=0.5)])
        x = layer_norm(h)
        f = dense(x, hidden, ffn, gain=2.0)
        # GELU, tanh form: 0.5 f (1 + tanh(sqrt(2/pi) (f + 0.044715 f^3)))
        inner = b.op("Mul", [b.op("Add", [f, b.op("Mul", [b.op("Mul", [b.op("Mul", [f, f]), f]),
                                                           b.const(np.float32(0.044715))])]),
                             b.const(np.float32(np.sqrt(2 / np.pi)))])
        g = b.op("Mul", [b.op("Mul", [f, b.const(np.float32(0.5))]),
                         b.op("Add", [b.op("Tanh", [inner]), b.const(np.float32(1))])])
        h = b.op("Add", [h, dense(g, ffn, hidden, gain=0.5)])
    h = layer_norm(h)
    logits = b.op("MatMul", [h, b.const(np.ascontiguousarray(wte.T), "wte_t")])
    outputs.append(helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["N", 1, vocab]))
    for i, p in enumerate(presents):
        outputs.append(helper.make_tensor_value_info(p, TensorProto.FLOAT, ["N", heads, None, dh]))
    return b.model("gpt2_step", inputs, outputs)


MODELS = {"resnet50": resnet50, "mobilenetv2": mobilenetv2, "minilm": minilm,
          "gpt2_step": gpt2_step}


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or ["resnet50", "mobilenetv2", "minilm"]
    os.makedirs(out, exist_ok=True)
    stamp = open(__file__, "rb").read()
    for n in names:
        path = os.path.join(out, n + ".onnx")
        tag = path + ".src"
        if os.path.exists(path) and os.path.exists(tag) and open(tag, "rb").read() == stamp:
            continue  # built by this version of the script already
        onnx.save(MODELS[n](), path)
        open(tag, "wb").write(stamp)
        print("wrote", path)


if __name__ == "__main__":
    main()
