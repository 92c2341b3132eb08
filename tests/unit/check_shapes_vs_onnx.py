#!/usr/bin/env python3
"""Compare kiln's shape inference with the ONNX backend node tests.

For every node test of the pinned `onnx` package whose graph uses an op that
ir/shape_ew.c or ir/shape_nn.c infers, this script writes the model to a work
folder, runs `kiln opt MODEL --passes=infer-shapes`, reads the types of the
graph outputs from the printed text IR and compares them with the output types
the test declares (its graph.output), which come from the model's author and
ONNX's own inference.

Before kiln sees a model, the declared output shapes (and any value_info) are
removed, so kiln must infer them rather than inherit them; small integer graph
inputs (<= 64 elements, such as TopK's K or Reduce*'s axes) are turned into
constants holding the test's input data, as an exporter's shape arithmetic
would be, so the ops whose output shape depends on such values can be checked.

Each test gets one verdict:
  ok           every output matches (an ONNX dim that is absent matches anything)
  weaker       kiln is less precise (unknown rank or dim where ONNX has one);
               expected for data-dependent outputs such as NonMaxSuppression's
  mismatch     a dtype, rank or constant dim differs: a bug
  error        kiln failed on a valid model, crashed or timed out: a bug
  unsupported  kiln refused the model with an "unsupported" diagnostic

Exit status 1 when any mismatch or error remains. Usage:
  tests/unit/check_shapes_vs_onnx.py [--kiln build/kiln] [-k SUBSTR] [-v]
      [--all-ops] [--keep-declared] [--no-fold] [--work DIR] [--jobs N]
By default only tests whose every node is one of these families' ops (or a
Constant) are run, so a failure points here; --all-ops takes every test that
uses one of them.
"""
import argparse
import concurrent.futures as cf
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# TensorProto.DataType -> kiln dtype name (ir/dtypes.def)
DTYPES = {
    1: "f32", 2: "u8", 3: "i8", 4: "u16", 5: "i16", 6: "i32", 7: "i64", 9: "bool",
    10: "f16", 11: "f64", 12: "u32", 13: "u64", 16: "bf16", 17: "f8e4m3fn",
    18: "f8e4m3fnuz", 19: "f8e5m2", 20: "f8e5m2fnuz", 21: "u4", 22: "i4", 23: "f4e2m1",
    24: "f8e8m0", 25: "u2", 26: "i2",
}


def family_ops():
    """ONNX op names whose shape function lives in shape_ew.c or shape_nn.c."""
    src = ""
    for f in ("shape_ew.c", "shape_nn.c"):
        with open(os.path.join(ROOT, "ir", f)) as fh:
            src += fh.read()
    fns = set(re.findall(r"^(kiln_shape_\w+)\(", src, re.M))
    ops = set()
    with open(os.path.join(ROOT, "ir", "ops.def")) as fh:
        for m in re.finditer(r"^KILN_OP\((.*)\)\s*$", fh.read(), re.M):
            cols = [c.strip() for c in m.group(1).split(",")]
            if cols[2] == "ONNX" and cols[8] in fns:
                ops.add(cols[1].strip('"'))
    return ops


def onnx_type(tp):
    """(dtype, dims) of a TypeProto; dims None for unknown rank, None entries unknown."""
    tt = tp.tensor_type
    dt = DTYPES.get(tt.elem_type, "?%d" % tt.elem_type)
    if not tt.HasField("shape"):
        return dt, None
    dims = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            dims.append(str(d.dim_value))
        elif d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return dt, dims


def fmt(t):
    dt, dims = t
    if dims is None:
        return dt + "[*]"
    return dt + "[" + ",".join(d if d is not None else "?" for d in dims) + "]"


# ---------------------------------------------------------------- reading kiln's text IR

def split_top(s, sep):
    """Split s at sep characters outside quotes and brackets."""
    out, depth, q, cur = [], 0, False, []
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            if c == "\\" and i + 1 < len(s):
                cur.append(s[i:i + 2])
                i += 2
                continue
            if c == '"':
                q = False
        elif c == '"':
            q = True
        elif c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        elif c == sep and depth == 0:
            out.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def value_name(tok):
    tok = tok.strip()
    if tok[:1] in "%$":
        tok = tok[1:]
    if tok.startswith('"') and tok.endswith('"'):
        tok = bytes(tok[1:-1], "utf-8").decode("unicode_escape")
    return tok


def parse_kir_type(s):
    s = s.strip().strip("()").strip()
    m = re.match(r"([a-z0-9]+)\[([^\]]*)\]", s)
    if not m:
        return None
    dt, body = m.group(1), m.group(2)
    if body == "*":
        return dt, None
    if body == "":
        return dt, []
    return dt, [None if d == "?" else d for d in body.split(",")]


def kir_output_types(text):
    """Map value name -> (dtype, dims) for values defined by nodes, plus the return list."""
    types, ret = {}, []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("return"):
            ret = [value_name(t) for t in split_top(line[len("return"):], ",") if t.strip()]
            continue
        parts = split_top(line, "=")
        if len(parts) < 2 or not parts[0].strip().startswith(("%", "$")):
            continue
        lhs, rhs = parts[0], "=".join(parts[1:])
        rhs = re.sub(r"\s+loc\(.*\)\s*$", "", rhs)
        colons = split_top(rhs, ":")
        if len(colons) < 2:
            continue
        tys = [parse_kir_type(t) for t in split_top(colons[-1], ",")]
        names = [value_name(t) for t in split_top(lhs, ",")]
        for nm, ty in zip(names, tys):
            if ty is not None:
                types[nm] = ty
    return types, ret


# ---------------------------------------------------------------- comparing

def compare(want, got):
    """Verdict for one output: ok, weaker or mismatch (with a reason)."""
    if got is None:
        return "mismatch", "no type printed"
    if want[0] != got[0]:
        return "mismatch", "dtype"
    if want[1] is None:
        return "ok", ""
    if got[1] is None:
        return "weaker", "unknown rank"
    if len(want[1]) != len(got[1]):
        return "mismatch", "rank"
    verdict = "ok"
    for w, g in zip(want[1], got[1]):
        if w is None or w == g:
            continue
        if w.isdigit() and g is not None and g.isdigit():
            return "mismatch", "dim"
        if w.isdigit() or g is None:
            verdict = "weaker"
        # ONNX symbol vs kiln constant or another symbol: kiln knows at least as much
    return verdict, ""


# ---------------------------------------------------------------- preparing models

def prepare(test, work, args):
    """Write the model kiln will see; returns (path, expected output types)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(test.model)
    g = m.graph
    want = [(o.name, onnx_type(o.type)) for o in g.output]
    if not args.keep_declared:
        for o in g.output:
            o.type.tensor_type.ClearField("shape")
        del g.value_info[:]
    if not args.no_fold and test.data_sets:
        inputs = list(g.input)
        keep = []
        for vi, arr in zip(inputs, test.data_sets[0][0]):
            arr = np.asarray(arr) if not isinstance(arr, (list, dict)) else None
            et = vi.type.tensor_type.elem_type
            if arr is not None and et in (6, 7) and arr.size <= 64 and arr.ndim <= 1:
                g.initializer.append(numpy_helper.from_array(arr, vi.name))
            else:
                keep.append(vi)
        del g.input[:]
        g.input.extend(keep)
    d = os.path.join(work, test.name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "model.onnx")
    onnx.save(m, path)
    return path, want


def run_one(kiln, path, want, timeout):
    try:
        r = subprocess.run([kiln, "opt", path, "--passes=infer-shapes"], capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "error", "timed out"
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or ["exit status %d" % r.returncode])[-1]
        if r.returncode < 0 or "Sanitizer" in r.stderr or "runtime error" in r.stderr:
            return "error", "crashed: " + msg
        if "unsupported" in r.stderr or "not supported" in r.stderr:
            return "unsupported", msg
        return "error", msg
    types, _ = kir_output_types(r.stdout)
    verdicts, notes = [], []
    for name, w in want:
        g = types.get(name)
        v, why = compare(w, g)
        verdicts.append(v)
        if v != "ok":
            notes.append("%s: want %s got %s%s" % (name, fmt(w), fmt(g) if g else "nothing",
                                                  " (%s)" % why if why else ""))
    for v in ("mismatch", "weaker"):
        if v in verdicts:
            return v, "; ".join(notes)
    return "ok", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    ap.add_argument("--work", default=None, help="folder for the models (default: a temp dir)")
    ap.add_argument("-k", dest="filter", default=None, help="only tests whose name has this")
    ap.add_argument("-v", action="store_true", help="also list the tests that match")
    ap.add_argument("--all-ops", action="store_true",
                    help="take every test using one of these ops, whatever else it uses")
    ap.add_argument("--keep-declared", action="store_true",
                    help="leave the declared output shapes in the model")
    ap.add_argument("--no-fold", action="store_true",
                    help="keep small integer inputs as inputs instead of constants")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()

    if not os.access(args.kiln, os.X_OK):
        print("check_shapes_vs_onnx: %s not found; build kiln first" % args.kiln)
        return 2
    import onnx.backend.test.loader as loader

    ops = family_ops()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tests = loader.load_model_tests(kind="node")
    chosen = []
    for t in tests:
        if t.model is None or (args.filter and args.filter not in t.name):
            continue
        nodes = t.model.graph.node
        used = {n.op_type for n in nodes if n.domain in ("", "ai.onnx")}
        if not used & ops:
            continue
        if not args.all_ops:
            if any(n.domain not in ("", "ai.onnx") for n in nodes):
                continue
            if used - ops - {"Constant"}:
                continue
        chosen.append(t)

    work = args.work or tempfile.mkdtemp(prefix="kiln-shapes-")
    counts = {}
    results = []
    try:
        with cf.ThreadPoolExecutor(max_workers=args.jobs) as ex:
            futs = {}
            for t in chosen:
                path, want = prepare(t, work, args)
                futs[ex.submit(run_one, args.kiln, path, want, args.timeout)] = t.name
            for f in cf.as_completed(futs):
                verdict, note = f.result()
                results.append((futs[f], verdict, note))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    for name, verdict, note in sorted(results):
        counts[verdict] = counts.get(verdict, 0) + 1
        if verdict != "ok" or args.v:
            print("%-11s %s%s" % (verdict, name, ": " + note if note else ""))
    order = ("ok", "weaker", "mismatch", "error", "unsupported")
    print(", ".join("%d %s" % (counts.get(k, 0), k) for k in order))
    return 1 if counts.get("mismatch") or counts.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
