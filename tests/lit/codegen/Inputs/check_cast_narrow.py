#!/usr/bin/env python3
"""check_cast_narrow.py make DIR | check DIR [--ort]

The casts whose numbers ONNX leaves to the implementation, against kiln's
definition (docs/semantics.md) computed here in plain Python:
  - float -> int4/uint4/int2/uint2: truncate toward zero, keep the low bits
    (two's complement); NaN, infinities and magnitudes of 2^63 and more give 0;
  - integer -> int4/int2: keep the low bits (the spec's integer narrowing);
  - f32 / f64 / integers -> bf16: through f32, round to nearest even, NaN
    quieted (the runtime's kiln_rt_f32_to_bf16); bf16 -> f16 and bf16 -> int4.
`make` writes DIR/cast.onnx and its inputs; `check` compares DIR/out/*.npy
(a compiled executable's outputs) with the definition and prints one line per
output, then "N passed, N failed"; with --ort it also reports where ONNX
Runtime agrees (integral inputs in range, and bf16).
"""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h

F_VALUES = ([float(v) for v in range(-9, 16)] +
            [0.5, -0.5, 1.5, 2.5, -8.5, 7.5, 7.99, -7.99, -0.0, 1e-40, 65504.0, 1e10, -1e10,
             2.0**62, 2.0**63, -2.0**63, 3e38, float("nan"), float("inf"), float("-inf"),
             1.00390625, 1.01171875, -1.00390625, 3.3961e38])
D_VALUES = F_VALUES + [2.0**40 + 3, -(2.0**40) - 5, 1.0000000596046448, 1e300, -1e300]
I_VALUES = list(range(-20, 20)) + [2**31 - 1, -2**31, 123456789, -98765, 16777217]

NARROW = {"INT4": (4, True), "UINT4": (4, False), "INT2": (2, True), "UINT2": (2, False)}
OUTPUTS = [  # name, input, ONNX type(s) in order
    ("i4", "xf", ["INT4"]), ("u4", "xf", ["UINT4"]), ("i2", "xf", ["INT2"]), ("u2", "xf", ["UINT2"]),
    ("i4d", "xd", ["INT4"]), ("u2d", "xd", ["UINT2"]), ("i4i", "xi", ["INT4"]),
    ("u4i", "xi", ["UINT4"]), ("i2i", "xi", ["INT2"]),
    ("b", "xf", ["BFLOAT16"]), ("bd", "xd", ["BFLOAT16"]), ("bi", "xi", ["BFLOAT16"]),
    ("bh", "xf", ["BFLOAT16", "FLOAT16"]), ("bi4", "xf", ["BFLOAT16", "INT4"]),
]


def narrow(x, bits, signed):
    if isinstance(x, float):
        if not math.isfinite(x) or abs(x) >= 2.0**63:
            return 0
        x = math.trunc(x)
    low = x & ((1 << bits) - 1)
    return low - (1 << bits) if signed and low >= 1 << (bits - 1) else low


def bf16_bits(f32):
    b = int(np.array(f32, np.float32).view(np.uint32))
    if (b & 0x7fffffff) > 0x7f800000:
        return (b >> 16) | 0x40
    return ((b + 0x7fff + ((b >> 16) & 1)) >> 16) & 0xffff


def bf16_value(bits):
    return float(np.array(bits << 16, np.uint32).view(np.float32))


def expected(name):
    src, types = next((s, t) for n, s, t in OUTPUTS if n == name)
    vals = {"xf": [float(np.float32(v)) for v in F_VALUES], "xd": D_VALUES, "xi": I_VALUES}[src]
    out = []
    for v in vals:
        if types[0] == "BFLOAT16":
            v = bf16_value(bf16_bits(float(np.float32(v))))  # integers and f64 through f32
            if len(types) == 1:
                out.append(v)
            elif types[1] == "FLOAT16":
                out.append(float(np.float16(v)))
            else:
                out.append(narrow(v, 4, True))
        else:
            out.append(narrow(v, *NARROW[types[0]]))
    return out


def make(d):
    os.makedirs(d, exist_ok=True)
    nodes, outs = [], []
    for name, src, types in OUTPUTS:
        cur = src
        for k, t in enumerate(types):
            nxt = name if k == len(types) - 1 else name + "_" + str(k)
            nodes.append(h.make_node("Cast", [cur], [nxt], name="cast_" + nxt, to=getattr(T, t)))
            cur = nxt
        outs.append(h.make_tensor_value_info(name, getattr(T, types[-1]), None))
    ins = [h.make_tensor_value_info("xf", T.FLOAT, [len(F_VALUES)]),
           h.make_tensor_value_info("xd", T.DOUBLE, [len(D_VALUES)]),
           h.make_tensor_value_info("xi", T.INT64, [len(I_VALUES)])]
    m = h.make_model(h.make_graph(nodes, "casts", ins, outs),
                     opset_imports=[h.make_opsetid("", 25)], producer_name="kiln-tests")
    m.ir_version = 11
    onnx.save(m, os.path.join(d, "cast.onnx"))
    np.save(os.path.join(d, "xf.npy"), np.array(F_VALUES, np.float32))
    np.save(os.path.join(d, "xd.npy"), np.array(D_VALUES, np.float64))
    np.save(os.path.join(d, "xi.npy"), np.array(I_VALUES, np.int64))


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def check(d, ort):
    passed = failed = 0
    sess = None
    if ort:
        import onnxruntime
        # ORT's Python API has no numpy type for int4 or bf16 results: each
        # output widened to f32 (exact) by one more Cast
        m = onnx.load(os.path.join(d, "cast.onnx"))
        for o in m.graph.output:
            m.graph.node.append(h.make_node("Cast", [o.name], [o.name + "_f"], to=T.FLOAT))
            o.name += "_f"
            o.type.tensor_type.elem_type = T.FLOAT
        sess = onnxruntime.InferenceSession(m.SerializeToString(),
                                            providers=["CPUExecutionProvider"])
        feeds = {k: np.load(os.path.join(d, k + ".npy")) for k in ("xf", "xd", "xi")}
        ort_out = dict(zip([o.name[:-2] for o in sess.get_outputs()], sess.run(None, feeds)))
    for name, src, types in OUTPUTS:
        got = np.load(os.path.join(d, "out", name + ".npy")).astype(np.float64).tolist()
        want = expected(name)
        bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if not same(float(g), float(w))]
        if len(got) != len(want) or bad:
            failed += 1
            print("FAIL %s: %d of %d differ, first at %s (got %s, want %s)" %
                  (name, len(bad), len(want), *(bad[0] if bad else ("size", len(got), len(want)))))
        else:
            passed += 1
            print("ok %s (%s, %d values)" % (name, "->".join(types), len(want)))
        if sess is not None:
            o = ort_out[name].astype(np.float64).tolist()
            vals = {"xf": F_VALUES, "xd": D_VALUES, "xi": I_VALUES}[src]
            diff = [vals[i] for i, (g, w) in enumerate(zip(o, want)) if not same(float(g), float(w))]
            print("  ort %s: agrees on %d of %d%s" % (name, len(want) - len(diff), len(want),
                  "" if not diff else ", not on inputs %s" % diff[:12]))
    print("%d passed, %d failed" % (passed, failed))
    return failed == 0


if __name__ == "__main__":
    np.seterr(all="ignore")  # the definition's own casts overflow on purpose
    if len(sys.argv) < 3 or sys.argv[1] not in ("make", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(0 if check(sys.argv[2], "--ort" in sys.argv) else 1)
