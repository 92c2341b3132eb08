#!/usr/bin/env python3
"""make_bad_models.py OUTDIR [NAME...]: write the ONNX models the frontend's lit
tests load, malformed and hostile ones and a few well-formed ones that exercise
less common features, as OUTDIR/NAME.onnx (plus side files for external data).
With NAMEs, only those models are written.

Models that the onnx helpers refuse to build (a file cut short, nesting 100
levels deep, a field repeated) are written as raw protobuf bytes with the small
encoder below; field numbers are those of onnx.proto.
"""
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

OPSET = 17


def model(nodes, inputs, outputs, inits=(), value_info=(), opsets=None, name="g", ir=8):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits), value_info=list(value_info))
    m = h.make_model(g, opset_imports=opsets or [h.make_opsetid("", OPSET)],
                     producer_name="kiln-tests")
    m.ir_version = ir
    return m


def vi(name, dt=T.FLOAT, shape=(2, 3)):
    return h.make_tensor_value_info(name, dt, list(shape) if shape is not None else None)


def tensor(name, dt, dims, raw=None):
    """A TensorProto as given, sizes unchecked (the helpers refuse bad ones)."""
    t = T(name=name, data_type=dt, dims=list(dims))
    if raw is not None:
        t.raw_data = raw
    return t


def relu_model(inits=(), extra_nodes=()):
    """x -> Relu -> y, plus whatever the case adds."""
    return model([h.make_node("Relu", ["x"], ["y"], name="relu"), *extra_nodes],
                 [vi("x")], [vi("y")], inits)


# ---------------------------------------------------------------- raw protobuf

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, payload):
    """A field: bytes payload -> length-delimited, int -> varint."""
    if isinstance(payload, int):
        return varint(num << 3) + varint(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def raw_model(graph_bytes, extra=b""):
    opset = field(8, field(1, "") + field(2, OPSET))  # ModelProto.opset_import
    return field(1, 8) + opset + field(7, graph_bytes) + extra  # ir_version, graph


def raw_value_info(name, elem=T.FLOAT, dims=(2,)):
    shape = b"".join(field(1, field(1, d)) for d in dims)  # TensorShapeProto.dim.dim_value
    tt = field(1, elem) + field(2, shape)  # TypeProto.Tensor: elem_type, shape
    return field(1, name) + field(2, field(1, tt))  # ValueInfoProto: name, type.tensor_type


def raw_node(op, inputs, outputs, attrs=b""):
    return (b"".join(field(1, i) for i in inputs) + b"".join(field(2, o) for o in outputs)
            + field(4, op) + attrs)


def raw_graph_attr(name, graph):
    return field(5, field(1, name) + field(20, 5) + field(6, graph))  # type GRAPH, g


def raw_graph(name, nodes, inputs=(), outputs=()):
    return (b"".join(field(1, n) for n in nodes) + field(2, name)
            + b"".join(field(11, i) for i in inputs) + b"".join(field(12, o) for o in outputs))


def nested_if(levels):
    """A main graph whose If's then_branch holds an If whose then_branch holds ...,
    `levels` graphs in all; every branch uses the main graph's x and c."""
    g = raw_graph(f"g{levels}", [raw_node("Identity", ["x"], [f"y{levels}"])],
                  outputs=[raw_value_info(f"y{levels}")])
    for k in range(levels - 1, 0, -1):
        else_g = raw_graph(f"e{k}", [raw_node("Identity", ["x"], [f"e{k}"])],
                           outputs=[raw_value_info(f"e{k}")])
        node = raw_node("If", ["c"], [f"y{k}"],
                        raw_graph_attr("then_branch", g) + raw_graph_attr("else_branch", else_g))
        inputs = [raw_value_info("x"), raw_value_info("c", T.BOOL, ())] if k == 1 else []
        g = raw_graph(f"g{k}", [node], inputs, [raw_value_info(f"y{k}")])
    return g


def nested_sequence(levels):
    """An input whose type is a sequence of a sequence of ... of tensors."""
    t = field(1, field(1, T.FLOAT))  # TypeProto.tensor_type.elem_type
    for _ in range(levels - 1):
        t = field(4, field(1, t))  # TypeProto.sequence_type.elem_type
    info = field(1, "x") + field(2, t)
    return raw_graph("g", [raw_node("Identity", ["x"], ["y"])], [info], [raw_value_info("y")])


# ---------------------------------------------------------------- the cases

def case_truncated(d):
    m = relu_model([numpy_helper.from_array(np.arange(64, dtype=np.float32), "w")])
    b = m.SerializeToString()
    return b[: len(b) // 2]


def case_garbage(d):
    return random.Random(20240501).randbytes(4096)


def case_empty(d):
    return b""


def case_text(d):
    return b"this is not a model, it is a text file\n"


def case_no_graph(d):
    return field(1, 8) + field(2, "kiln-tests")  # ir_version and producer only


def case_deep(d):
    return raw_model(nested_if(100))


def case_deep_65(d):
    return raw_model(nested_if(65))


def case_deep_64(d):
    return raw_model(nested_if(64))


def case_deep_types(d):
    return raw_model(nested_sequence(100))


def case_repeated_graph(d):
    # the graph field twice: protobuf-c would merge the two, which ONNX never needs
    g = nested_if(1)
    return raw_model(g) + field(7, g)


def case_bloat(d):
    # one node with two million empty attributes: 4 MB on disk, but a C struct
    # each once decoded
    attrs = field(5, b"") * 2_000_000
    return raw_model(raw_graph("g", [raw_node("Relu", ["x"], ["y"], attrs)]))


def case_raw_size(d):
    w = tensor("w", T.FLOAT, [2, 3], b"\0" * 20)
    return relu_model([w])


def case_typed_count(d):
    w = tensor("w", T.FLOAT, [2, 2])
    w.float_data.extend([1.0, 2.0, 3.0])
    return relu_model([w])


def case_dims_overflow(d):
    w = tensor("big", T.FLOAT, [2**40, 2**40], b"")
    return relu_model([w])


def case_negative_dim(d):
    w = tensor("neg", T.FLOAT, [-3, 2], b"")
    return relu_model([w])


def case_negative_type_dim(d):
    m = relu_model()
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = -1
    return m


def case_rank(d):
    return model([h.make_node("Relu", ["x"], ["y"])], [vi("x", shape=[1] * 33)], [vi("y")])


def external(name, location, offset=None, length=None, shape=(4, 4)):
    t = tensor(name, T.FLOAT, shape)
    t.data_location = T.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


def case_ext_past_eof(d):
    with open(os.path.join(d, "short.bin"), "wb") as f:
        f.write(b"\0" * 64)
    return relu_model([external("w", "short.bin", 0, 4096, shape=(32, 32))])


def case_ext_offset_past_eof(d):
    with open(os.path.join(d, "short2.bin"), "wb") as f:
        f.write(b"\0" * 64)
    return relu_model([external("w", "short2.bin", 2**64 - 8, 64)])


def case_ext_dotdot(d):
    return relu_model([external("w", "weights/../../w.bin")])


def case_ext_absolute(d):
    return relu_model([external("w", "/etc/passwd")])


def case_ext_missing(d):
    return relu_model([external("w", "no-such-file.bin")])


def case_ext_length(d):
    with open(os.path.join(d, "len.bin"), "wb") as f:
        f.write(b"\0" * 256)
    return relu_model([external("w", "len.bin", 0, 60)])


def case_ext_ok(d):
    """Three tensors in two side files (one of them shared), with offsets and
    lengths, and without (the whole file)."""
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    b = np.arange(6, dtype=np.int64)
    with open(os.path.join(d, "ext_ok.bin"), "wb") as f:
        f.write(a.tobytes())
        f.write(b"\0" * 16)  # padding, as aligned writers leave
        f.write(b.tobytes())
    with open(os.path.join(d, "ext_ok_2.bin"), "wb") as f:
        f.write(np.ones(3, np.float32).tobytes())
    ta = external("a", "ext_ok.bin", 0, 64)
    tb = external("b", "ext_ok.bin", 80, 48, shape=(6,))
    tb.data_type = T.INT64
    tc = external("c", "ext_ok_2.bin", shape=(3,))  # no offset, no length: the whole file
    nodes = [h.make_node("MatMul", ["x", "a"], ["y"], name="mm")]
    return model(nodes, [vi("x", shape=["N", 4])], [vi("y", shape=["N", 4])], [ta, tb, tc])


def case_ext_saved(d):
    """External data as the onnx package writes it (one file for all tensors)."""
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(3, 4), "w")
    b = numpy_helper.from_array(np.ones(4, np.float32), "b")
    nodes = [h.make_node("Gemm", ["x", "w", "b"], ["y"], name="gemm")]
    m = model(nodes, [vi("x", shape=["N", 3])], [vi("y", shape=["N", 4])], [w, b])
    onnx.save_model(m, os.path.join(d, "ext_saved.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="ext_saved.data", size_threshold=0)
    return None  # written already


def case_unknown_ops(d):
    then_g = h.make_graph([h.make_node("Frobnicate", ["y"], ["t"], name="inner")], "then", [],
                          [vi("t")])
    else_g = h.make_graph([h.make_node("Identity", ["y"], ["e"])], "else", [], [vi("e")])
    nodes = [
        h.make_node("FooBar", ["x"], ["y"], name="foo"),
        h.make_node("If", ["c"], ["z"], name="branch", then_branch=then_g, else_branch=else_g),
        h.make_node("Relu", ["z"], ["out"], name="relu"),
    ]
    return model(nodes, [vi("x"), vi("c", T.BOOL, [])], [vi("out")])


def case_unsupported_domain(d):
    nodes = [
        h.make_node("Adagrad", ["r", "t", "x", "g", "hh"], ["x2", "h2"], name="train",
                    domain="ai.onnx.preview.training"),
        h.make_node("FusedGemm", ["x", "x"], ["y"], name="ms", domain="com.microsoft"),
    ]
    opsets = [h.make_opsetid("", OPSET), h.make_opsetid("ai.onnx.preview.training", 1),
              h.make_opsetid("com.microsoft", 1)]
    return model(nodes, [vi(n) for n in ("r", "t", "x", "g", "hh")], [vi("y")], opsets=opsets)


def case_unsupported_many(d):
    """Every kind of unsupported feature in one model: all are reported in one run."""
    sparse = h.make_sparse_tensor(h.make_tensor("sv", T.FLOAT, [1], [1.0]),
                                  h.make_tensor("si", T.INT64, [1], [0]), [4])
    nodes = [
        h.make_node("Constant", [], ["s"], name="str", value_string="hello"),
        h.make_node("Constant", [], ["sp"], name="sparse", sparse_value=sparse),
        h.make_node("Relu", ["x"], ["y"], name="relu"),
    ]
    inits = [h.make_tensor("names", T.STRING, [1], [b"a"])]
    seq = h.make_tensor_sequence_value_info("seq", T.FLOAT, [2])
    return model(nodes, [vi("x"), seq], [vi("y")], inits)


def case_constant_mistyped(d):
    """Constant value attributes of the wrong kind (found by fuzzing)."""
    sparse = h.make_node("Constant", [], ["c1"], name="c1")
    a = sparse.attribute.add()
    a.name, a.type = "sparse_value", onnx.AttributeProto.TENSORS
    a.tensors.append(h.make_tensor("t", T.FLOAT, [1], [1.0]))
    floaty = h.make_node("Constant", [], ["c2"], name="c2", value_float=[1, 2])
    return model([sparse, floaty, h.make_node("Relu", ["x"], ["y"])], [vi("x")], [vi("y")])


def case_wrong_attr_kind(d):
    node = h.make_node("LeakyRelu", ["x"], ["y"], name="lrelu", alpha=[1, 2])
    return model([node], [vi("x")], [vi("y")])


def case_unknown_attr(d):
    node = h.make_node("Relu", ["x"], ["y"], name="relu", flavour="spicy")
    return model([node], [vi("x")], [vi("y")])


def case_duplicate_value(d):
    nodes = [h.make_node("Relu", ["x"], ["y"], name="first"),
             h.make_node("Relu", ["x"], ["y"], name="second")]
    return model(nodes, [vi("x")], [vi("y")])


def case_undefined_input(d):
    nodes = [h.make_node("Add", ["x", "nowhere"], ["y"], name="add")]
    return model(nodes, [vi("x")], [vi("y")])


def case_cycle(d):
    nodes = [h.make_node("Add", ["x", "b"], ["a"], name="n1"),
             h.make_node("Relu", ["a"], ["b"], name="n2"),
             h.make_node("Relu", ["b"], ["y"], name="n3")]
    return model(nodes, [vi("x")], [vi("y")])


def case_string_input(d):
    nodes = [h.make_node("Identity", ["text"], ["y"], name="id")]
    return model(nodes, [vi("text", T.STRING, [1])], [vi("y", T.STRING, [1])])


def case_no_opset(d):
    return model([h.make_node("Relu", ["x"], ["y"])], [vi("x")], [vi("y")],
                 opsets=[h.make_opsetid("ai.onnx.ml", 3)])


def case_opset_999(d):
    return model([h.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x")], [vi("y")],
                 opsets=[h.make_opsetid("", 999)])


def case_opset_ml_6(d):
    """ai.onnx 28 (kiln's newest: accepted), ai.onnx.ml 6 (one past kiln's newest)."""
    return model([h.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x")], [vi("y")],
                 opsets=[h.make_opsetid("", 28), h.make_opsetid("ai.onnx.ml", 6),
                         h.make_opsetid("com.example", 1000)], ir=11)


# Shapes whose element count (or size in bytes) overflows 64 bits, one model per
# family of shape function that multiplies or adds dims: each is refused by
# shape inference, at compile time, naming the node.
def i64(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.int64), name)


def case_overflow_reshape(d):
    """The 192 elements of [2,3,32] reshaped to [2^62, 4]."""
    nodes = [h.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")]
    return model(nodes, [vi("x", shape=(2, 3, 32))], [vi("y", shape=None)],
                 inits=[i64("shape", [2**62, 4])])


def case_overflow_expand(d):
    nodes = [h.make_node("Expand", ["x", "shape"], ["y"], name="expand")]
    return model(nodes, [vi("x", shape=(1, 1))], [vi("y", shape=None)],
                 inits=[i64("shape", [2**40, 2**40])])


def case_expand_past_limit(d):
    """Expand to [2^47, 4]: 2^51 bytes, no overflow, but past kiln's 2^48-byte limit."""
    nodes = [h.make_node("Expand", ["x", "shape"], ["big"], name="expand"),
             h.make_node("ReduceSum", ["big"], ["y"], keepdims=0, name="sum")]
    return model(nodes, [vi("x", shape=(1, 1))], [vi("y", shape=None)],
                 inits=[i64("shape", [2**47, 4])])


def case_expand_runtime(d):
    """Four 1-D inputs a[A] .. d[D]; a scalar expanded to [A,B,C,D], then summed:
    valid, but 2^64 bytes at A=B=C=65536, D=16384 (a wrap to 0 once)."""
    nodes = [h.make_node("Shape", [n], [n + "_s"]) for n in "abcd"]
    nodes += [h.make_node("Concat", [n + "_s" for n in "abcd"], ["shape"], axis=0),
              h.make_node("Expand", ["one", "shape"], ["big"], name="expand"),
              h.make_node("ReduceSum", ["big"], ["y"], keepdims=0, name="sum")]
    return model(nodes, [vi(n, shape=(n.upper(),)) for n in "abcd"], [vi("y", shape=None)],
                 inits=[h.make_tensor("one", T.FLOAT, [], [1.0])])


def case_overflow_tile(d):
    nodes = [h.make_node("Tile", ["x", "repeats"], ["y"], name="tile")]
    return model(nodes, [vi("x", shape=(65536, 65536))], [vi("y", shape=None)],
                 inits=[i64("repeats", [2**20, 2**20])])


def case_overflow_constant_of_shape(d):
    nodes = [h.make_node("ConstantOfShape", ["shape"], ["y"], name="fill")]
    return model(nodes, [], [vi("y", shape=None)], inits=[i64("shape", [2**32, 2**32])])


def case_overflow_resize(d):
    nodes = [h.make_node("Resize", ["x", "", "", "sizes"], ["y"], name="resize")]
    return model(nodes, [vi("x", shape=(1, 1, 2, 2))], [vi("y", shape=None)],
                 inits=[i64("sizes", [1, 1, 2**31, 2**31])])


def case_overflow_resize_scales(d):
    scales = numpy_helper.from_array(np.array([1, 1, 2.0**31, 2.0**31], np.float32), "scales")
    nodes = [h.make_node("Resize", ["x", "", "scales"], ["y"], name="resize")]
    return model(nodes, [vi("x", shape=(1, 1, 2, 2))], [vi("y", shape=None)], inits=[scales])


def case_overflow_pad(d):
    nodes = [h.make_node("Pad", ["x", "pads"], ["y"], name="pad")]
    return model(nodes, [vi("x", shape=(4, 2**30))], [vi("y", shape=None)],
                 inits=[i64("pads", [0, 0, 2**60, 0])])


def case_overflow_range(d):
    """Range(0, 2^61, 1) in f32: 2^61 elements, 2^63 bytes."""
    f32 = lambda n, v: numpy_helper.from_array(np.array(v, np.float32), n)
    nodes = [h.make_node("Range", ["start", "limit", "delta"], ["y"], name="range")]
    return model(nodes, [], [vi("y", shape=None)],
                 inits=[f32("start", 0), f32("limit", 2.0**61), f32("delta", 1)])


def case_overflow_concat(d):
    """Two int8 [2^31, 2^31] halves (2^62 bytes each) joined: 2^63 bytes."""
    nodes = [h.make_node("Concat", ["a", "b"], ["y"], name="concat", axis=1)]
    return model(nodes, [vi("a", T.INT8, (2**31, 2**31)), vi("b", T.INT8, (2**31, 2**31))],
                 [vi("y", T.INT8, None)])


def case_overflow_concat_axis(d):
    """Sizes along the axis that add up past 2^62 (int8: the bytes alone would fit)."""
    nodes = [h.make_node("Concat", ["a", "b"], ["y"], name="concat", axis=0)]
    return model(nodes, [vi("a", T.INT8, (2**62,)), vi("b", T.INT8, (2**62,))],
                 [vi("y", T.INT8, None)])


def case_overflow_input(d):
    """A graph input whose declared shape alone overflows."""
    nodes = [h.make_node("Relu", ["x"], ["y"], name="relu")]
    return model(nodes, [vi("x", shape=(2**62, 4))], [vi("y", shape=None)])


def case_dim_param(d):
    nodes = [h.make_node("Relu", ["x"], ["y"], name="relu")]
    return model(nodes, [vi("x", shape=["batch", 3, None])], [vi("y", shape=["batch", 3, None])])


def case_dim_param_sep(d):
    """A dim_param holding the byte 0x1f, which kiln reserves to join factors."""
    nodes = [h.make_node("Relu", ["x"], ["y"], name="relu")]
    return model(nodes, [vi("x", shape=["a\x1fb", 3])], [vi("y", shape=None)])


def case_dim_monomials(d):
    """The BERT/GPT-2 exporter chain: [N,S,768] -> Shape -> Gather -> Mul ->
    Concat -> Reshape to [N*S,768], a MatMul, and back to [N,S,...] (with -1)."""
    w = numpy_helper.from_array(np.zeros((768, 64), np.float32), "w")
    i0 = numpy_helper.from_array(np.array(0, np.int64), "i0")
    i1 = numpy_helper.from_array(np.array(1, np.int64), "i1")
    ax = numpy_helper.from_array(np.array([0], np.int64), "ax")
    c768 = numpy_helper.from_array(np.array([768], np.int64), "c768")
    tail = numpy_helper.from_array(np.array([-1, 64], np.int64), "tail")
    nodes = [
        h.make_node("Shape", ["x"], ["sh"], name="shape"),
        h.make_node("Gather", ["sh", "i0"], ["n"], name="gn", axis=0),
        h.make_node("Gather", ["sh", "i1"], ["s"], name="gs", axis=0),
        h.make_node("Mul", ["n", "s"], ["ns"], name="mul"),
        h.make_node("Unsqueeze", ["ns", "ax"], ["ns1"], name="u"),
        h.make_node("Concat", ["ns1", "c768"], ["flat_shape"], name="cat", axis=0),
        h.make_node("Reshape", ["x", "flat_shape"], ["flat"], name="flatten"),
        h.make_node("MatMul", ["flat", "w"], ["mm"], name="mm"),
        h.make_node("Unsqueeze", ["n", "ax"], ["n1"], name="un"),
        h.make_node("Concat", ["n1", "tail"], ["back_shape"], name="cat2", axis=0),
        h.make_node("Reshape", ["mm", "back_shape"], ["y"], name="back"),
    ]
    return model(nodes, [vi("x", shape=["N", "S", 768])], [vi("y", shape=None)],
                 [w, i0, i1, ax, c768, tail])


def case_input_default(d):
    """`scale` is an input with a default (it is also an initializer); `bias` is
    an initializer only, so a constant."""
    scale = numpy_helper.from_array(np.full((3,), 2.0, np.float32), "scale")
    bias = h.make_tensor("bias", T.FLOAT, [3], [0.5, 0.5, 0.5])
    nodes = [h.make_node("Mul", ["x", "scale"], ["m"], name="mul"),
             h.make_node("Add", ["m", "bias"], ["y"], name="add")]
    return model(nodes, [vi("x", shape=["N", 3]), vi("scale", shape=[3])],
                 [vi("y", shape=["N", 3])], [scale, bias])


def case_if_capture(d):
    """Both branches use `w` and `x` from the main graph without declaring them."""
    then_g = h.make_graph([h.make_node("Add", ["x", "w"], ["t"], name="then_add")], "then", [],
                          [vi("t", shape=["N", 4])])
    else_g = h.make_graph([h.make_node("Mul", ["x", "w"], ["e"], name="else_mul")], "else", [],
                          [vi("e", shape=["N", 4])])
    w = numpy_helper.from_array(np.ones(4, np.float32), "w")
    nodes = [h.make_node("If", ["c"], ["y"], name="branch", then_branch=then_g,
                         else_branch=else_g)]
    return model(nodes, [vi("x", shape=["N", 4]), vi("c", T.BOOL, [])],
                 [vi("y", shape=["N", 4])], [w])


def case_typed_fields(d):
    """An initializer in every typed field ONNX has, next to raw_data ones."""
    inits = [
        h.make_tensor("f32", T.FLOAT, [2], [1.5, -2.0]),
        h.make_tensor("f64", T.DOUBLE, [2], [1.5, -2.0]),
        h.make_tensor("i64", T.INT64, [2], [-(2**40), 7]),
        h.make_tensor("i32", T.INT32, [2], [-5, 7]),
        h.make_tensor("i16", T.INT16, [2], [-5, 7]),
        h.make_tensor("i8", T.INT8, [2], [-5, 7]),
        h.make_tensor("u8", T.UINT8, [2], [5, 250]),
        h.make_tensor("u16", T.UINT16, [2], [5, 65000]),
        h.make_tensor("u32", T.UINT32, [2], [5, 4000000000]),
        h.make_tensor("u64", T.UINT64, [2], [5, 2**63]),
        h.make_tensor("b", T.BOOL, [2], [True, False]),
        h.make_tensor("f16", T.FLOAT16, [2], np.array([1.5, -2.0], np.float16)),
        h.make_tensor("bf16", T.BFLOAT16, [2], [1.5, -2.0]),
        h.make_tensor("f8", T.FLOAT8E4M3FN, [2], [1.5, -2.0]),
        h.make_tensor("i4", T.INT4, [3], [-1, 7, 2]),
        h.make_tensor("u4", T.UINT4, [3], [1, 15, 2]),
        numpy_helper.from_array(np.array([3.0, 4.0], np.float32), "raw_f32"),
        h.make_tensor("empty", T.FLOAT, [0, 3], []),
    ]
    return relu_model(inits)


def case_constants(d):
    """Constant nodes in every value form, used in an unsorted graph."""
    nodes = [
        h.make_node("Add", ["x", "k_floats"], ["a"], name="add"),
        h.make_node("Reshape", ["a", "k_ints"], ["y"], name="reshape"),
        h.make_node("Constant", [], ["k_floats"], value_floats=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        h.make_node("Constant", [], ["k_ints"], value_ints=[3, 2]),
        h.make_node("Constant", [], ["k_float"], value_float=0.5),
        h.make_node("Constant", [], ["k_int"], value_int=7),
        h.make_node("Constant", [], ["k_t"],
                    value=numpy_helper.from_array(np.zeros((2, 2), np.float32))),
    ]
    return model(nodes, [vi("x", shape=[6])], [vi("y", shape=[3, 2])])


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    names = sys.argv[2:] or sorted(CASES)
    for name in names:
        data = CASES[name](out)
        if data is None:
            continue
        if isinstance(data, onnx.ModelProto):
            data = data.SerializeToString()
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
