#!/usr/bin/env python3
"""Compare kiln's shape inference with the ONNX backend node tests.

What it checks: for each node test of the installed `onnx` package that uses an
op whose shape function is in ir/shape_ew.c, ir/shape_nn.c or ir/shape_tensor.c
(elementwise, NN, tensor/control-flow/signal ops), the type kiln infers for
every graph output must agree with the type the test declares in graph.output
(from the test's author and ONNX's own inference).

How: each model is written to a work folder with its declared output shapes and
value_info removed (in sub-graphs too; the inputs of bodies stay typed), so
kiln must infer them rather than inherit them. Small graph inputs (at most 64
elements, rank <= 1: Reshape's shape, TopK's K, Resize's scales, Range's
bounds, ...) become initializers holding the test's data, as they would be
constants in an exported model, so ops whose output shape depends on such
values are checked exactly. Then `kiln opt MODEL --passes=verify` loads it
(loading runs shape inference; the verifier re-runs every shape function and
checks it agrees) and the output types are read from the printed text IR
(grammar in ir/IR.md): statements are joined across lines by bracket depth, so
nodes with sub-graphs (If, Loop, Scan) or a fused body are read whole, and `_`
results (absent optional outputs) have no entry in the `: T, ...` type list.

Verdicts, one line per test (the ok ones only with -v), then a summary line
"N ok, N weaker, N mismatch, N error, N unsupported":
  ok           every output matches (a dim ONNX leaves open or names with a
               symbol matches any dim kiln prints)
  weaker       kiln knows less (unknown rank, or ? or a symbol where ONNX has a
               number); expected for outputs whose size depends on data
  mismatch     a dtype, rank or constant dim differs, or no type: a bug
  error        kiln failed on a valid model, crashed or timed out: a bug
  unsupported  kiln refused the model with an "unsupported" diagnostic

Tests taken: those that use an op of --family (ew, nn, tensor, or all, the
default) and whose every node is an op with a shape function in those three
files (or Constant), so a failure points at them; --all-ops takes every test
that uses one of the family's ops, whatever else it uses. -k narrows by name.

Usage:
  tests/unit/check_shapes_vs_onnx.py [--kiln build/kiln] [--family ew|nn|tensor|all]
      [-k SUBSTR] [-v] [--all-ops] [--keep-declared] [--no-fold] [--no-verify]
      [--work DIR] [--jobs N] [--timeout SECONDS]
Exit status 0 when no mismatch or error remains, 1 otherwise, 2 when kiln is
not built.
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

# --family name -> the file holding its shape functions
FAMILIES = {"ew": "shape_ew.c", "nn": "shape_nn.c", "tensor": "shape_tensor.c"}

# TensorProto.DataType -> kiln's dtype spelling (ir/dtypes.def)
DTYPE_NAMES = {
    1: "f32", 2: "u8", 3: "i8", 4: "u16", 5: "i16", 6: "i32", 7: "i64", 9: "bool",
    10: "f16", 11: "f64", 12: "u32", 13: "u64", 16: "bf16", 17: "f8e4m3fn",
    18: "f8e4m3fnuz", 19: "f8e5m2", 20: "f8e5m2fnuz", 21: "u4", 22: "i4", 23: "f4e2m1",
    24: "f8e8m0", 25: "u2", 26: "i2",
}

FOLD_MAX = 64  # largest graph input turned into an initializer


def family_ops():
    """{family: set of ONNX op names whose shape function is in that family's file}."""
    with open(os.path.join(ROOT, "ir", "ops.def")) as f:
        rows = [[c.strip() for c in row.split(",")]
                for row in re.findall(r"^KILN_OP\((.*)\)\s*$", f.read(), re.M)]
    fams = {}
    for fam, fname in FAMILIES.items():
        with open(os.path.join(ROOT, "ir", fname)) as f:
            defined = set(re.findall(r"^(kiln_shape_\w+)\(", f.read(), re.M))
        fams[fam] = {cols[1].strip('"') for cols in rows
                     if cols[2] == "ONNX" and cols[8] in defined}
    return fams


# ---------------------------------------------------------------- ONNX types

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


# ---------------------------------------------------------------- reading the text IR

def skip_string(s, i):
    """Index just past the quoted string that starts at s[i] ('"')."""
    i += 1
    while i < len(s) and s[i] != '"':
        i += 2 if s[i] == "\\" else 1
    return i + 1


def unquote(tok):
    """Value of a STRING token: escapes \\" \\\\ \\n \\t \\xHH, bytes read as UTF-8."""
    body, out, i = tok[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            e = body[i + 1]
            if e == "x" and re.match(r"[0-9A-Fa-f]{2}", body[i + 2:i + 4]):
                out.append(int(body[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"n": b"\n", "t": b"\t"}.get(e, e.encode())
            i += 2
            continue
        out += c.encode()
        i += 1
    return out.decode("utf-8", "replace")


def top_level(s, angles=True):
    """Yield (index, char) for the characters of s outside quoted strings and
    outside brackets (an opening or closing bracket of the top level included).
    With angles, < > count as brackets too (annotations, payloads)."""
    opens, closes = ("([{<", ")]}>") if angles else ("([{", ")]}")
    depth, i = 0, 0
    while i < len(s):
        c = s[i]
        if c == '"':
            if depth == 0:
                yield i, c
            i = skip_string(s, i)
            continue
        if c in opens:
            if depth == 0:
                yield i, c
            depth += 1
        elif c in closes:
            depth -= 1
            if depth == 0:
                yield i, c
        elif depth == 0:
            yield i, c
        i += 1


def split_top(s, sep, angles=True):
    """Split s at the sep characters of the top level."""
    parts, start = [], 0
    for i, c in top_level(s, angles):
        if c == sep:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return parts


def find_top(s, sep, start=0):
    """Index of the first top-level sep in s at or after start, or -1."""
    for i, c in top_level(s):
        if i >= start and c == sep:
            return i
    return -1


def closing(s, i):
    """Index of the bracket that closes the one at s[i] (( [ { only)."""
    depth = 0
    while i < len(s):
        c = s[i]
        if c == '"':
            i = skip_string(s, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(s)


def strip_comments(text):
    """Drop `//` comments (outside strings) up to the end of their line."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == '"':
            j = skip_string(text, i)
            out.append(text[i:j])
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = len(text) if j < 0 else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def statements(text):
    """The statements of a graph body or file: lines joined while a ( [ { is open,
    so a node with sub-graph attributes or a fused body is one statement."""
    return [st.strip() for st in split_top(text, "\n", angles=False) if st.strip()]


def value_name(tok):
    tok = tok.strip()
    if tok[:1] in ("%", "$"):
        tok = tok[1:].strip()
    if len(tok) >= 2 and tok[0] == '"' and tok[-1] == '"':
        return unquote(tok)
    return tok


def parse_type(s):
    """'f32[N,3,?] <annotations>' -> ('f32', ['N', '3', None]); None if s is not a type."""
    s = s.strip()
    m = re.match(r"([a-z][a-z0-9]*|\?)\s*\[", s)
    if not m:
        return None
    body = s[m.end():closing(s, m.end() - 1)].strip()
    if body == "*":
        return (m.group(1), None)
    if body == "":
        return (m.group(1), [])
    dims = []
    for d in split_top(body, ","):
        d = d.strip()
        dims.append(None if d == "?" else unquote(d) if d.startswith('"') else d)
    return (m.group(1), dims)


def types_end(rhs, start):
    """Where a node's type list that starts at rhs[start] ends: at `loc(`, `body`
    or the end of the statement."""
    for i, _ in top_level(rhs):
        if i > start and rhs[i - 1].isspace() and \
                re.match(r"loc\s*\(|body\s*@", rhs[i:i + 16]):
            return i
    return len(rhs)


def read_graph(g):
    """Read `@name(params) captures(...)? {body}`: returns (types, returns), where
    types maps value name -> (dtype, dims) for the graph's params, constants and
    node results, then (where the name is not taken) the values of its sub-graphs,
    and returns lists the names the graph returns."""
    own, nested, ret = {}, {}, []
    i = skip_string(g, 1) if g[1:2] == '"' else re.match(r"@[A-Za-z0-9_]*", g).end()
    p = g.find("(", i)
    if p < 0:
        return own, ret
    q = closing(g, p)
    for param in split_top(g[p + 1:q], ","):
        c = find_top(param, ":")
        if c > 0:
            ty = parse_type(param[c + 1:])
            if ty is not None:
                own[value_name(param[:c])] = ty
    b = q + 1
    m = re.match(r"\s*captures\s*\(", g[b:])
    if m:
        b = closing(g, b + m.end() - 1) + 1
    b = g.find("{", b)
    if b < 0:
        return own, ret
    for st in statements(g[b + 1:closing(g, b)]):
        read_statement(st, own, nested, ret)
    for name, ty in nested.items():
        own.setdefault(name, ty)
    return own, ret


def sub_graphs(s):
    """The sub-graphs (`@name(...) ... {...}` texts) in a statement, outermost only."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == '"':
            i = skip_string(s, i)
        elif c == "@":
            j = skip_string(s, i + 1) if s[i + 1:i + 2] == '"' else \
                re.match(r"@[A-Za-z0-9_]*", s[i:]).end() + i
            p = s.find("(", j)
            if p < 0:
                break
            end = closing(s, p) + 1
            m = re.match(r"\s*captures\s*\(", s[end:])
            if m:
                end = closing(s, end + m.end() - 1) + 1
            b = s.find("{", end)
            end = closing(s, b) + 1 if b >= 0 else len(s)
            out.append(s[i:end])
            i = end
        else:
            i += 1
    return out


def read_statement(st, own, nested, ret):
    """Record the types one statement of a graph body defines."""
    if re.match(r"return(\s|$)", st):
        ret[:] = [value_name(t) for t in split_top(st[len("return"):], ",") if t.strip()]
        return
    eq = find_top(st, "=")
    if eq < 0:
        lhs, rhs = "", st  # a node without results
    else:
        lhs, rhs = st[:eq], st[eq + 1:]
    results = [t.strip() for t in split_top(lhs, ",")] if lhs.strip() else []
    if not all(t == "_" or t[:1] in ("%", "$") for t in results):
        return  # not a definition
    names = [value_name(t) for t in results if t != "_"]  # `_`: absent, no type
    rhs = rhs.strip()
    if re.match(r"const\s", rhs):  # `$c = const f32[2] dense<...>`
        ty = parse_type(rhs[len("const"):])
        if names and ty is not None:
            own[names[0]] = ty
        return
    for sg in sub_graphs(rhs):
        types, _ = read_graph(sg)
        for name, ty in types.items():
            nested.setdefault(name, ty)
    colon = find_top(rhs, ":")
    if colon < 0:
        return
    tys = [parse_type(t) for t in split_top(rhs[colon + 1:types_end(rhs, colon)], ",")]
    for name, ty in zip(names, tys):
        if ty is not None:
            own[name] = ty


def read_kir(text):
    """(types, returns) of the main graph of a printed .kir file (see read_graph)."""
    for st in statements(strip_comments(text)):
        if st.startswith("@"):
            return read_graph(st)
    return {}, []


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
        data, keep = test.data_sets[0][0], []
        for k, vi in enumerate(list(g.input)):
            arr = data[k] if k < len(data) else None
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
    """Run kiln on one model; (verdict, note)."""
    cmd = [kiln, "opt", path]
    if not args.no_verify:
        cmd.append("--passes=verify")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                           timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return "error", "timed out"
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines() or ["exit status %d" % r.returncode]
        if r.returncode < 0 or "Sanitizer" in r.stderr or "runtime error" in r.stderr:
            return "error", "crashed: " + lines[-1]
        first = next((ln for ln in lines if "error" in ln), lines[0])
        if "unsupported" in r.stderr or "not supported" in r.stderr:
            return "unsupported", first
        return "error", first
    types, ret = read_kir(r.stdout)
    verdicts, notes = [], []
    for k, (name, w) in enumerate(want):
        # the type of the k-th returned value: that is the k-th graph output
        got = types.get(ret[k]) if len(ret) == len(want) else types.get(name)
        v, why = judge(w, got)
        verdicts.append(v)
        if v != "ok":
            notes.append("%s: want %s got %s%s" % (name, show(w), show(got),
                                                  " (%s)" % why if why else ""))
    for v in ("mismatch", "weaker"):
        if v in verdicts:
            return v, "; ".join(notes)
    return "ok", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"),
                    help="the kiln binary (default: build/kiln)")
    ap.add_argument("--family", choices=sorted(FAMILIES) + ["all"], default="all",
                    help="only tests using ops of ir/shape_FAMILY.c (default: all)")
    ap.add_argument("-k", dest="filter", help="only tests whose name contains this")
    ap.add_argument("-v", action="store_true", help="also list the tests that pass")
    ap.add_argument("--all-ops", action="store_true",
                    help="take every test that uses one of the family's ops, "
                         "whatever else it uses")
    ap.add_argument("--keep-declared", action="store_true",
                    help="leave the declared output shapes and value_info in the model")
    ap.add_argument("--no-fold", action="store_true",
                    help="keep small inputs as graph inputs instead of initializers")
    ap.add_argument("--no-verify", action="store_true",
                    help="run `kiln opt` without --passes=verify")
    ap.add_argument("--work", help="keep the models in this folder (default: a temp dir)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                    help="kiln processes at once (default: the CPU count)")
    ap.add_argument("--timeout", type=float, default=60,
                    help="seconds allowed to one kiln run (default 60)")
    args = ap.parse_args()

    if not os.access(args.kiln, os.X_OK):
        print("check_shapes_vs_onnx: %s not found; build kiln first" % args.kiln)
        return 2
    import onnx.backend.test.loader as loader

    fams = family_ops()
    known = set().union(*fams.values())
    wanted = known if args.family == "all" else fams[args.family]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tests = loader.load_model_tests(kind="node")
    chosen = []
    for t in tests:
        if t.model is None or (args.filter and args.filter not in t.name):
            continue
        nodes = t.model.graph.node
        used = {n.op_type for n in nodes if n.domain in ("", "ai.onnx")}
        if not used & wanted:
            continue
        if not args.all_ops and (any(n.domain not in ("", "ai.onnx") for n in nodes)
                                 or used - known - {"Constant"}):
            continue
        chosen.append(t)

    work = args.work or tempfile.mkdtemp(prefix="kiln-shapes-")
    results = []
    try:
        with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
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
