#!/usr/bin/env python3
"""make_seeds.py: the fuzzers' seed inputs.

  make_seeds.py
      rewrite the committed seeds in seeds/ that fuzz_inputs (the deterministic
      fuzzer) mutates: control.onnx (sub-graphs with captures, If, Loop, every
      attribute kind, typed-field initializers, dim_params, value_info) and a
      few .npy files (format versions 1.0, 2.0 and 3.0, several dtypes).
  make_seeds.py --out DIR [--kir-from DIR] [--kiln KILN]
      write the libFuzzer seed corpora: DIR/onnx (every ONNX node-test model of
      the pinned onnx package, the committed seeds, examples/tinynet.onnx),
      DIR/kir (every '// -----' case of the .kir files under --kir-from, and,
      with --kiln, the text form `kiln opt` prints for a sample of the ONNX
      seeds), DIR/npy (.npy files of every dtype the runtime reads, ranks 0-4,
      empty ones, all three format versions).
"""
import argparse
import glob
import hashlib
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def control_model():
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
                     [w, trip, c],
                     value_info=[h.make_tensor_value_info("y_if", T.FLOAT, ["N", 4])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)], producer_name="kiln-fuzz-seeds")
    m.ir_version = 8
    return m


def npy_bytes(a, version):
    import io
    f = io.BytesIO()
    np.lib.format.write_array(f, a, version=version, allow_pickle=False)
    return f.getvalue()


def npy_seeds(all_dtypes):
    """(name, bytes) of .npy files."""
    rng = np.random.default_rng(7)
    dtypes = ["<f4", "<f2", "|i1", "<i8", "|b1"]
    if all_dtypes:
        dtypes = ["<f2", "<f4", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8",
                  "|b1"]
    shapes = [(), (3,), (2, 3), (2, 0, 3), (1, 2, 2, 2)] if all_dtypes else [(), (2, 3)]
    out = []
    for dt in dtypes:
        for shape in shapes:
            a = (rng.standard_normal(shape) * 8).astype(np.dtype(dt))
            for version in ((1, 0), (2, 0), (3, 0)) if all_dtypes else ((1, 0),):
                name = "%s_%s_v%d" % (dt[1:], "x".join(map(str, shape)) or "scalar", version[0])
                out.append((name, npy_bytes(a, version)))
    if not all_dtypes:
        out.append(("f4_2x3_v3", npy_bytes(np.ones((2, 3), np.float32), (3, 0))))
    return out


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def kir_cases(root):
    """Every '// -----' case of every .kir under root, as bytes."""
    for path in sorted(glob.glob(os.path.join(root, "**", "*.kir"), recursive=True)):
        text = open(path, "rb").read()
        for case in text.split(b"\n// -----\n"):
            if case.strip():
                yield case


def corpora(out, kir_from, kiln):
    from onnx.backend.test import loader
    for sub in ("onnx", "kir", "npy"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    models = [("tinynet", open(os.path.join(ROOT, "examples", "tinynet.onnx"), "rb").read()),
              ("control", control_model().SerializeToString())]
    for case in loader.load_model_tests(kind="node"):
        onnx_file = os.path.join(case.model_dir or "", "model.onnx")
        if case.model_dir and os.path.exists(onnx_file):
            models.append((case.name, open(onnx_file, "rb").read()))
        elif case.model is not None:
            models.append((case.name, case.model.SerializeToString()))
    for name, data in models:
        write(os.path.join(out, "onnx", name + ".onnx"), data)
    n_kir = 0
    if kir_from:
        for case in kir_cases(kir_from):
            write(os.path.join(out, "kir", hashlib.sha1(case).hexdigest()[:16] + ".kir"), case)
            n_kir += 1
    if kiln and os.path.exists(kiln):
        # the text form of every 4th model (sorted by name: all op families)
        for name, _ in sorted(models)[::4]:
            src = os.path.join(out, "onnx", name + ".onnx")
            r = subprocess.run([kiln, "opt", src, "--inline-limit=64"], capture_output=True,
                               timeout=60)
            if r.returncode == 0 and len(r.stdout) < (1 << 20):
                write(os.path.join(out, "kir", name + ".kir"), r.stdout)
                n_kir += 1
    for name, data in npy_seeds(True):
        write(os.path.join(out, "npy", name + ".npy"), data)
    print("make_seeds: %s: %d onnx, %d kir, %d npy" % (out, len(models), n_kir,
                                                       len(os.listdir(os.path.join(out, "npy")))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", help="write the libFuzzer corpora here")
    ap.add_argument("--kir-from", help="a folder whose .kir files (and cases) seed the kir corpus")
    ap.add_argument("--kiln", default=os.environ.get("KILN_FUZZ_KILN"),
                    help="kiln binary: add the .kir text of a sample of the ONNX seeds "
                         "(default: $KILN_FUZZ_KILN)")
    args = ap.parse_args()
    if args.out:
        corpora(args.out, args.kir_from, args.kiln)
        return
    seeds = os.path.join(HERE, "seeds")
    os.makedirs(seeds, exist_ok=True)
    onnx.save(control_model(), os.path.join(seeds, "control.onnx"))
    for name, data in npy_seeds(False):
        write(os.path.join(seeds, name + ".npy"), data)
    print("make_seeds: wrote", seeds)


if __name__ == "__main__":
    sys.exit(main())
