#!/usr/bin/env python3
"""Check kiln's tensor/control-flow/signal shape inference against the ONNX node tests.

Takes the backend node tests of the installed `onnx` package whose ops have
their shape function in ir/shape_tensor.c (Reshape, Slice, Gather, Pad, Resize,
If, Loop, Scan, DFT, ...), writes each model to a work folder, runs
`kiln opt MODEL --passes=verify` (loading runs shape inference; the verifier
re-runs every shape function and checks it agrees) and compares the type kiln
prints for each graph output with the type the test declares.

Before kiln sees a model its declared output shapes and value_info are removed
(sub-graphs' too, except the inputs of bodies), so kiln must infer them. Small
graph inputs (at most 64 elements, rank <= 1) become initializers holding the
test's data, as they would be constants or derived values in an exported
model; that lets the ops whose output shape depends on such values (Reshape's
shape, Resize's scales, Range's bounds, Pad's pads) be checked exactly.

Verdicts, one per test:
  ok           every output matches (a dim ONNX leaves open matches anything,
               a symbol where ONNX has a number counts as weaker)
  weaker       kiln knows less (unknown rank or dim); expected for outputs whose
               size depends on data (NonZero, Unique, Compress with a runtime
               condition)
  mismatch     dtype, rank or a constant dim differs: a bug
  error        kiln failed on a valid model, crashed or timed out: a bug
  unsupported  kiln refused the model with an "unsupported" diagnostic

Usage:
  tests/unit/check_tensor_shapes_vs_onnx.py [--kiln build/kiln] [-k SUBSTR] [-v]
      [--all-ops] [--keep-declared] [--no-fold] [--no-verify] [--work DIR] [--jobs N]
Exit status: 0 when nothing is a mismatch or an error, 1 otherwise, 2 when kiln
is not built.
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

# TensorProto.DataType -> kiln's dtype spelling (ir/dtypes.def)
DTYPE_NAMES = {
    1: "f32", 2: "u8", 3: "i8", 4: "u16", 5: "i16", 6: "i32", 7: "i64", 9: "bool",
    10: "f16", 11: "f64", 12: "u32", 13: "u64", 16: "bf16", 17: "f8e4m3fn",
    18: "f8e4m3fnuz", 19: "f8e5m2", 20: "f8e5m2fnuz", 21: "u4", 22: "i4", 23: "f4e2m1",
    24: "f8e8m0", 25: "u2", 26: "i2",
}

FOLD_MAX = 64  # largest graph input turned into an initializer


def tensor_ops():
    """ONNX op names whose shape function is defined in ir/shape_tensor.c."""
    with open(os.path.join(ROOT, "ir", "shape_tensor.c")) as f:
        defined = set(re.findall(r"^(kiln_shape_\w+)\(", f.read(), re.M))
    ops = set()
    with open(os.path.join(ROOT, "ir", "ops.def")) as f:
        for row in re.findall(r"^KILN_OP\((.*)\)\s*$", f.read(), re.M):
            cols = [c.strip() for c in row.split(",")]
            if cols[2] == "ONNX" and cols[8] in defined:
                ops.add(cols[1].strip('"'))
    return ops


# ---------------------------------------------------------------- types

def type_of_proto(tp):
    """(dtype, dims) of an ONNX TypeProto; dims is None when the rank is unknown,
    and an entry is an int string, a symbol, or None (unknown)."""
    if not tp.HasField("tensor_type"):
        return ("non-tensor", None)
    tt = tp.tensor_type
    dt = DTYPE_NAMES.get(tt.elem_type, "onnx%d" % tt.elem_type)
    if not tt.HasField("shape"):
        return (dt, None)
    dims = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            dims.append(str(d.dim_value))
        elif d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return (dt, dims)


def show(t):
    if t is None:
        return "nothing"
    dt, dims = t
    if dims is None:
        return dt + "[*]"
    return "%s[%s]" % (dt, ",".join("?" if d is None else d for d in dims))


def parse_type(s):
    """'f32[N,3,?]' -> ('f32', ['N', '3', None]); None if s is not a type."""
    m = re.match(r"\s*\(?\s*([a-z][a-z0-9]*)\[([^\]]*)\]", s)
    if not m:
        return None
    body = m.group(2).strip()
    if body == "*":
        return (m.group(1), None)
    if body == "":
        return (m.group(1), [])
    return (m.group(1), [None if d.strip() == "?" else d.strip() for d in body.split(",")])


# ---------------------------------------------------------------- reading the text IR

def outside(s, seps):
    """Split s at characters in seps that are outside quotes and brackets."""
    parts, cur, depth, quoted, i = [], [], 0, False, 0
    while i < len(s):
        c = s[i]
        if quoted:
            cur.append(c)
            if c == "\\" and i + 1 < len(s):
                cur.append(s[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
            cur.append(c)
        elif c in "([{<":
            depth += 1
            cur.append(c)
        elif c in ")]}>":
            depth -= 1
            cur.append(c)
        elif c in seps and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def ir_name(tok):
    tok = tok.strip()
    if tok[:1] in ("%", "$"):
        tok = tok[1:]
    if len(tok) >= 2 and tok[0] == '"' and tok[-1] == '"':
        tok = bytes(tok[1:-1], "utf-8").decode("unicode_escape")
    return tok


def value_types(text):
    """Value name -> type for every line that defines values (`%a, %b = Op(...) : T, U`).
    Sub-graph lines are read too; their names do not collide with the top graph's
    outputs in the node tests."""
    types = {}
    for raw in text.splitlines():
        line = raw.strip()
        lhs_rhs = outside(line, "=")
        if len(lhs_rhs) < 2 or lhs_rhs[0].strip()[:1] not in ("%", "$"):
            continue
        lhs, rhs = lhs_rhs[0], "=".join(lhs_rhs[1:])
        rhs = re.sub(r"\s+loc\(.*\)\s*$", "", rhs)
        if rhs.strip().startswith("const "):  # `$c = const f32[2] dense<...>`
            ty = parse_type(rhs.strip()[len("const "):])
            if ty is not None:
                types.setdefault(ir_name(lhs), ty)
            continue
        pieces = outside(rhs, ":")
        if len(pieces) < 2:
            continue
        tys = [parse_type(t) for t in outside(pieces[-1].strip().strip("()"), ",")]
        for name, ty in zip(outside(lhs, ","), tys):
            if ty is not None:
                types.setdefault(ir_name(name), ty)
    return types


# ---------------------------------------------------------------- verdicts

def judge(want, got):
    """(verdict, reason) for one output."""
    if got is None:
        return "mismatch", "no type printed"
    if want[0] != got[0]:
        return "mismatch", "dtype"
    if want[1] is None:
        return "ok", ""
    if got[1] is None:
        return "weaker", "rank unknown"
    if len(want[1]) != len(got[1]):
        return "mismatch", "rank"
    verdict = "ok"
    for w, g in zip(want[1], got[1]):
        if w is None or w == g:
            continue
        if w.isdigit():
            if g is not None and g.isdigit():
                return "mismatch", "dim"
            verdict = "weaker"
        # ONNX has a symbol: any kiln dim is at least as precise
    return verdict, ""


# ---------------------------------------------------------------- preparing models

def strip_declared(graph):
    """Remove the shapes kiln must infer: value_info and output shapes, in sub-graphs
    too (their inputs stay: Scan-8 bodies need them typed)."""
    del graph.value_info[:]
    for o in graph.output:
        if o.type.HasField("tensor_type"):
            o.type.tensor_type.ClearField("shape")
    for node in graph.node:
        for a in node.attribute:
            if a.HasField("g"):
                strip_declared(a.g)
            for sg in a.graphs:
                strip_declared(sg)


def prepare(test, work, args):
    """Write the model kiln reads; return (path, [(output name, declared type)])."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto()
    model.CopyFrom(test.model)
    g = model.graph
    want = [(o.name, type_of_proto(o.type)) for o in g.output]
    if not args.keep_declared:
        strip_declared(g)
    if not args.no_fold and test.data_sets:
        keep = []
        for vi, arr in zip(list(g.input), test.data_sets[0][0]):
            if isinstance(arr, np.generic):
                arr = np.asarray(arr)  # numpy scalars: a 0-D tensor
            if isinstance(arr, np.ndarray) and arr.size <= FOLD_MAX and arr.ndim <= 1 \
                    and arr.dtype.kind in "biuf":
                g.initializer.append(numpy_helper.from_array(arr, vi.name))
            else:
                keep.append(vi)
        del g.input[:]
        g.input.extend(keep)
    folder = os.path.join(work, test.name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    onnx.save(model, path)
    return path, want


def check(kiln, path, want, args):
    cmd = [kiln, "opt", path]
    if not args.no_verify:
        cmd.append("--passes=verify")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return "error", "timed out"
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines() or ["exit status %d" % r.returncode]
        if r.returncode < 0 or "Sanitizer" in r.stderr or "runtime error" in r.stderr:
            return "error", "crashed: " + lines[-1]
        if "unsupported" in r.stderr or "not supported" in r.stderr:
            return "unsupported", lines[0]
        return "error", lines[0]
    got = value_types(r.stdout)
    verdicts, notes = [], []
    for name, w in want:
        v, why = judge(w, got.get(name))
        verdicts.append(v)
        if v != "ok":
            notes.append("%s: want %s got %s%s" % (name, show(w), show(got.get(name)),
                                                  " (%s)" % why if why else ""))
    for v in ("mismatch", "weaker"):
        if v in verdicts:
            return v, "; ".join(notes)
    return "ok", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    ap.add_argument("--work", help="keep the models in this folder (default: a temp dir)")
    ap.add_argument("-k", dest="filter", help="only tests whose name contains this")
    ap.add_argument("-v", action="store_true", help="also list the tests that pass")
    ap.add_argument("--all-ops", action="store_true",
                    help="take every test that uses one of these ops, whatever else it uses")
    ap.add_argument("--keep-declared", action="store_true",
                    help="leave the declared output shapes and value_info in the model")
    ap.add_argument("--no-fold", action="store_true",
                    help="keep small inputs as graph inputs instead of initializers")
    ap.add_argument("--no-verify", action="store_true", help="skip the verifier pass")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()

    if not os.access(args.kiln, os.X_OK):
        print("check_tensor_shapes_vs_onnx: %s not found; build kiln first" % args.kiln)
        return 2
    import onnx.backend.test.loader as loader

    ops = tensor_ops()
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
        if not args.all_ops and (any(n.domain not in ("", "ai.onnx") for n in nodes)
                                 or used - ops - {"Constant"}):
            continue
        chosen.append(t)

    work = args.work or tempfile.mkdtemp(prefix="kiln-tensor-shapes-")
    results = []
    try:
        with cf.ThreadPoolExecutor(max_workers=args.jobs) as ex:
            futs = {}
            for t in chosen:
                try:
                    path, want = prepare(t, work, args)
                except Exception as e:  # a test the installed onnx cannot re-save
                    results.append((t.name, "error", "prepare: %s" % e))
                    continue
                futs[ex.submit(check, args.kiln, path, want, args)] = t.name
            for f in cf.as_completed(futs):
                v, note = f.result()
                results.append((futs[f], v, note))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    counts = {}
    for name, v, note in sorted(results):
        counts[v] = counts.get(v, 0) + 1
        if v != "ok" or args.v:
            print("%-11s %s%s" % (v, name, ": " + note if note else ""))
    order = ("ok", "weaker", "mismatch", "error", "unsupported")
    print(", ".join("%d %s" % (counts.get(k, 0), k) for k in order))
    return 1 if counts.get("mismatch") or counts.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
