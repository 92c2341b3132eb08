#!/usr/bin/env python3
"""ONNX backend conformance for kiln's compiled code.

For every test of the ONNX backend test data (the node tests of the pinned
onnx package, materialized into WORK/node as the loader sweep does, and the
shipped simple/, pytorch-converted/, pytorch-operator/ folders), compile the
model to an executable with `kiln compile`, run it on every test_data_set_N
(inputs given as .npy through the executable's --in NAME=PATH options) and
compare every output with the stored one:

  floats   |got - want| <= atol + rtol * |want|, NaN where NaN is expected
           (f32/f64: rtol 1e-3, atol 1e-5 as ONNX's runner; f16/bf16: 1e-2)
  others   exactly

One line per test (PASS / FAIL / SKIP with its reason) and a closing
"N passed, N failed, N skipped". Skips are only for what kiln does not take
by design, each named: training ops (ai.onnx.preview.training) and string
tensors. A model kiln cannot compile (an op without a lowering, a sequence
or optional type, a data-dependent shape) is a FAIL with kiln's message.

Shape inputs: kiln compiles shapes that are known at compile time or
symbolic dims of the inputs. A test that feeds a shape-determining tensor
(Reshape's shape, Tile's repeats, ...) as a graph input is first compiled as
it is; when kiln reports a dim it cannot know, it is compiled again with the
small integer inputs (rank <= 1, at most 64 elements) frozen to the test's
values as initializers, and the result line says "(shape inputs frozen)".

Results go to WORK/results.txt (sorted) and, with --doc, to docs/conformance.md.
"""
import argparse
import concurrent.futures as cf
import glob
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sweep"))
from sweep import materialize_node_tests  # noqa: E402

TRAINING_DOMAINS = ("ai.onnx.preview.training",)


def skip_reason(model):
    """Why a model is out of scope (training ops and string tensors only), or None."""
    from onnx import TensorProto

    for op in model.opset_import:
        if op.domain in TRAINING_DOMAINS:
            return "training op (%s)" % op.domain
    for n in model.graph.node:
        if n.domain in TRAINING_DOMAINS:
            return "training op %s" % n.op_type
    for v in list(model.graph.input) + list(model.graph.output):
        t = v.type
        kind = t.WhichOneof("value")
        if kind == "tensor_type" and t.tensor_type.elem_type == TensorProto.STRING:
            return "string tensor (%s)" % v.name
    for init in model.graph.initializer:
        if init.data_type == TensorProto.STRING:
            return "string tensor (%s)" % init.name
    return None


def collect(work, onnx_data):
    tests = []
    node_root = materialize_node_tests(work)
    for d in sorted(glob.glob(os.path.join(node_root, "*"))):
        if os.path.exists(os.path.join(d, "model.onnx")):
            tests.append(("node/" + os.path.basename(d), d))
    for folder in ("simple", "pytorch-converted", "pytorch-operator"):
        for m in sorted(glob.glob(os.path.join(onnx_data, folder, "*", "model.onnx"))):
            d = os.path.dirname(m)
            tests.append((folder + "/" + os.path.basename(d), d))
    return tests


def tolerance(dtype):
    import numpy as np

    if str(dtype) in ("float16", "bfloat16"):
        return 1e-2, 1e-2
    return 1e-3, 1e-5


def to_numpy_standard(a):
    """The ml_dtypes types numpy's .npy cannot name travel widened, as compiled
    models take and return them (runtime/kiln_rt.h): bf16, float8 and float4 as
    f32, int4/int2 as int8, uint4/uint2 as uint8."""
    import numpy as np

    name = str(a.dtype)
    if name == "bfloat16" or name.startswith("float8") or name.startswith("float4"):
        return a.astype(np.float32)
    if name in ("int4", "int2"):
        return a.astype(np.int8)
    if name in ("uint4", "uint2"):
        return a.astype(np.uint8)
    return a


def compare(name, got, want):
    """None if equal within tolerance, else a short reason."""
    import numpy as np

    if got.shape != want.shape:
        return "%s: shape %s, want %s" % (name, list(got.shape), list(want.shape))
    narrow = str(want.dtype)
    want = to_numpy_standard(want)
    if narrow.startswith("float8") or narrow.startswith("float4"):
        # the stored codes, decoded, are exact: compare exactly (NaN where NaN)
        g, w = got.astype(np.float64), want.astype(np.float64)
        bad = ~((g == w) | (np.isnan(g) & np.isnan(w)))
        return "%s: %d elements differ" % (name, int(bad.sum())) if bad.any() else None
    if want.dtype.kind in "fc" or narrow == "bfloat16":
        rtol, atol = tolerance(narrow)
        g = got.astype(np.float64)
        w = want.astype(np.float64)
        nan_w, nan_g = np.isnan(w), np.isnan(g)
        if (nan_w != nan_g).any():
            return "%s: NaN mismatch at %d elements" % (name, int((nan_w != nan_g).sum()))
        ok = ~nan_w
        inf_w = np.isinf(w) & ok
        if (g[inf_w] != w[inf_w]).any():
            return "%s: inf mismatch" % name
        fin = ok & ~inf_w
        err = np.abs(g[fin] - w[fin])
        bound = atol + rtol * np.abs(w[fin])
        if (err > bound).any():
            i = int(np.argmax(err - bound))
            return "%s: max abs err %.3g (got %r, want %r)" % (
                name, float(err.max()), float(g[fin][i]), float(w[fin][i]))
        return None
    if got.dtype != want.dtype and not (want.dtype == bool and got.dtype in (np.uint8, bool)):
        return "%s: dtype %s, want %s" % (name, got.dtype, want.dtype)
    if (got.astype(want.dtype) != want).any():
        return "%s: %d elements differ" % (name, int((got.astype(want.dtype) != want).sum()))
    return None


def freeze_shape_inputs(model, data_dir):
    """A copy of model whose small integer inputs are initializers holding the test's values."""
    import onnx
    from onnx import numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    inputs = [i.name for i in m.graph.input]
    frozen = []
    for j, name in enumerate(inputs):
        p = os.path.join(data_dir, "input_%d.pb" % j)
        if not os.path.exists(p):
            continue
        t = onnx.TensorProto()
        t.ParseFromString(open(p, "rb").read())
        a = numpy_helper.to_array(t)
        if a.dtype.kind in "iu" and a.ndim <= 1 and a.size <= 64:
            init = numpy_helper.from_array(a, name)
            m.graph.initializer.append(init)
            frozen.append(name)
    keep = [i for i in m.graph.input if i.name not in frozen]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    return m, frozen


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", "timeout"


def first_error(err):
    for line in err.splitlines():
        if "error:" in line:
            return line.split("error:", 1)[1].strip()[:200]
    return (err.strip().splitlines() or ["(no message)"])[-1][:200]


OPT = []  # extra compile flags (--opt)


def run_test(kiln, name, d, work, timeout):
    import numpy as np
    import onnx
    from onnx import numpy_helper

    out = os.path.join(work, "t", name.replace("/", "__"))
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    model = onnx.load(os.path.join(d, "model.onnx"))
    why = skip_reason(model)
    if why:
        shutil.rmtree(out, ignore_errors=True)
        return "SKIP", why
    sets = sorted(glob.glob(os.path.join(d, "test_data_set_*")))
    if not sets:
        return "SKIP", "no test data"
    exe = os.path.join(out, "model")
    note = ""
    rc, _, err = run([kiln, "compile", os.path.join(d, "model.onnx"), "-o", exe] + OPT, timeout)
    if rc == 1 and ("not known at compile time" in err or "depends on" in err):
        frozen_model, frozen = freeze_shape_inputs(model, sets[0])
        if frozen:
            fm = os.path.join(out, "model.onnx")
            onnx.save(frozen_model, fm)
            rc, _, err = run([kiln, "compile", fm, "-o", exe] + OPT, timeout)
            note = " (shape inputs frozen)"
    else:
        frozen = []
    if rc is None:
        return "FAIL", "compile timed out"
    if rc != 0:
        return "FAIL", "compile: " + first_error(err)
    in_names = [i.name for i in model.graph.input
                if i.name not in {x.name for x in model.graph.initializer}]
    out_names = [o.name for o in model.graph.output]
    for ds in sets:
        args = [exe, "--out-dir", os.path.join(out, "o")]
        for j, nm in enumerate(in_names):
            p = os.path.join(ds, "input_%d.pb" % j)
            if not os.path.exists(p) or nm in frozen:
                continue
            t = onnx.TensorProto()
            t.ParseFromString(open(p, "rb").read())
            npy = os.path.join(out, "in_%d.npy" % j)
            np.save(npy, to_numpy_standard(numpy_helper.to_array(t)))
            args += ["--in", "%s=%s" % (nm, npy)]
        shutil.rmtree(os.path.join(out, "o"), ignore_errors=True)
        rc, _, err = run(args, timeout)
        if rc is None:
            return "FAIL", "run timed out" + note
        if rc != 0:
            return "FAIL", "run: exit %d: %s%s" % (rc, first_error(err), note)
        for j, nm in enumerate(out_names):
            p = os.path.join(ds, "output_%d.pb" % j)
            if not os.path.exists(p):
                continue
            t = onnx.TensorProto()
            t.ParseFromString(open(p, "rb").read())
            want = numpy_helper.to_array(t)
            fname = re.sub(r"^\.", "_", nm.replace("/", "_"))
            gp = os.path.join(out, "o", fname + ".npy")
            if not os.path.exists(gp):
                return "FAIL", "output %s not written%s" % (nm, note)
            why = compare(nm, np.load(gp), want)
            if why:
                return "FAIL", why + note
    shutil.rmtree(out, ignore_errors=True)
    return "PASS", note.strip()


def write_doc(path, results, counts, onnx_version):
    import collections

    by_status = collections.Counter(s for s, _ in results.values())
    reasons = collections.Counter()
    for st, why in results.values():
        if st == "FAIL":
            reasons[re.sub(r"node '[^']*'", "node X", why.split(":")[0] + ":" + ":".join(why.split(":")[1:2]))[:90]] += 1
    with open(path, "w") as f:
        f.write("# Conformance\n\n")
        f.write("Generated by `tests/conformance/conformance.py --doc`; do not edit.\n\n")
        import ml_dtypes
        f.write("The ONNX backend tests of onnx %s, compiled by kiln's LLVM CPU backend to\n"
                "executables and compared with the stored outputs.\n\n" % onnx_version)
        f.write("The expected outputs of `test_cast*_to_INT4`, `UINT4`, `INT2` and `UINT2`\n"
                "are written by onnx with ml_dtypes (%s here, pinned in\n"
                "`requirements.lock`), whose float -> 4/2-bit conversion of out-of-range\n"
                "values changed in 0.7.0; the specification leaves them undefined, and\n"
                "kiln's definition (truncate, keep the low bits) is the one ml_dtypes 0.5.4\n"
                "and 0.6.0 compute: `docs/semantics.md`.\n\n" % ml_dtypes.__version__)
        total = len(results)
        runnable = total - by_status["SKIP"]
        f.write("| | tests |\n| --- | --- |\n")
        for k in ("PASS", "FAIL", "SKIP"):
            f.write("| %s | %d |\n" % (k.lower(), by_status[k]))
        f.write("| pass rate (excluding skips) | %.1f%% |\n\n" % (100.0 * by_status["PASS"] / max(runnable, 1)))
        f.write("## Most common failures\n\n| count | reason |\n| --- | --- |\n")
        for why, c in reasons.most_common(40):
            f.write("| %d | %s |\n" % (c, why.replace("|", "\\|")))
        f.write("\n## Every test\n\n```\n")
        for name in sorted(results):
            st, why = results[name]
            f.write("%-5s %s%s\n" % (st, name, ("  " + why) if why else ""))
        f.write("```\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--opt", help="optimization level to compile at (default: compile's, -O2)")
    ap.add_argument("-k", "--filter", default="", help="only tests whose name contains this")
    ap.add_argument("--check-bounds", action="store_true",
                    help="compile with --check-bounds: an access out of a buffer fails the test")
    ap.add_argument("--doc", help="write the markdown report here (docs/conformance.md)")
    ap.add_argument("--min-pass", type=float, default=0.0,
                    help="fail when the pass rate (excluding skips) is below this")
    ap.add_argument("--expect", help="a report written by --doc: fail when a test it lists "
                    "as passing does not pass now (a regression), naming each")
    args = ap.parse_args()
    if args.opt:
        OPT.append("-O" + args.opt)
    if args.check_bounds:
        OPT.append("--check-bounds")
    import onnx

    os.makedirs(args.work, exist_ok=True)
    data = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    tests = [t for t in collect(args.work, data) if args.filter in t[0]]
    results = {}
    t0 = time.time()
    with cf.ThreadPoolExecutor(args.jobs) as ex:
        futs = {ex.submit(run_test, os.path.abspath(args.kiln), n, d, args.work, args.timeout): n
                for n, d in tests}
        for f in cf.as_completed(futs):
            n = futs[f]
            try:
                results[n] = f.result()
            except Exception as e:  # a harness bug must not hide the rest
                results[n] = ("FAIL", "harness: %r" % e)
    lines = []
    for name in sorted(results):
        st, why = results[name]
        lines.append("%-5s %s%s" % (st, name, ("  " + why) if why else ""))
    with open(os.path.join(args.work, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for ln in lines:
        print(ln)
    counts = {k: sum(1 for s, _ in results.values() if s == k) for k in ("PASS", "FAIL", "SKIP")}
    if args.doc:
        write_doc(args.doc, results, counts, onnx.__version__)
    runnable = counts["PASS"] + counts["FAIL"]
    rate = counts["PASS"] / runnable if runnable else 0.0
    print("pass rate %.1f%% of %d runnable tests (%.0f s)" % (100 * rate, runnable, time.time() - t0))
    print("%d passed, %d failed, %d skipped" % (counts["PASS"], counts["FAIL"], counts["SKIP"]))
    regressed = []
    if args.expect:
        with open(args.expect) as f:
            passing = [ln.split()[1] for ln in f if ln.startswith("PASS ")]
        regressed = [n for n in passing
                     if n in results and results[n][0] != "PASS" and args.filter in n]
        for n in regressed:
            print("REGRESSION %s: passed in %s, now %s  %s" % (n, args.expect, results[n][0],
                                                              results[n][1]))
        print("%d regressions against %s" % (len(regressed), args.expect))
    return 0 if rate >= args.min_pass and not regressed else 1


if __name__ == "__main__":
    sys.exit(main())
