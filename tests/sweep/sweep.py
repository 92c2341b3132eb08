#!/usr/bin/env python3
"""Loader sweep over the ONNX backend test models.

Every model must either load and round-trip through the text form
(print(parse(print(g))) == print(g), byte for byte, weights included), or be
refused with a clear "unsupported" diagnostic. Any crash, sanitizer report,
hang or other error fails the sweep, as does a load rate below --min-load.

Models come from the pinned `onnx` package (see README):
  * node tests, materialized into WORK/node/<test>/ with the package's own
    loader (onnx.backend.test.loader.load_model_tests(kind="node")), as
    model.onnx plus test_data_set_N/{input,output}_K.pb — recent onnx releases
    build these in memory instead of shipping them;
  * the shipped folders simple/, pytorch-converted/, pytorch-operator/ (and
    node/ where an installed version still has it), and light/*.onnx.

Per-model results go to WORK/results.txt (sorted, one line each) so that a
regression shows up in a diff. Closes with "N passed, N failed".
"""
import argparse
import concurrent.futures as cf
import glob
import os
import shutil
import subprocess
import sys
import warnings


def materialize_node_tests(work):
    """Write the onnx package's node tests to WORK/node once per onnx version."""
    import onnx
    import onnx.backend.test.loader as loader
    from onnx import numpy_helper

    root = os.path.join(work, "node")
    stamp = os.path.join(root, ".onnx-version")
    tag = onnx.__version__ + " (tensor protos kept)"
    if os.path.exists(stamp) and open(stamp).read() == tag:
        return root
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tests = loader.load_model_tests(kind="node")
    for t in tests:
        d = os.path.join(root, t.name)
        os.makedirs(d, exist_ok=True)
        onnx.save(t.model, os.path.join(d, "model.onnx"))
        for k, (inputs, outputs) in enumerate(t.data_sets or []):
            ds = os.path.join(d, f"test_data_set_{k}")
            os.makedirs(ds, exist_ok=True)
            for kind, arrays in (("input", inputs), ("output", outputs)):
                for j, a in enumerate(arrays):
                    if isinstance(a, onnx.TensorProto):  # the loader's int4/float4 data
                        tp = a
                    else:
                        try:
                            tp = numpy_helper.from_array(a)
                        except Exception:  # sequences/optionals: not tensors
                            continue
                    with open(os.path.join(ds, f"{kind}_{j}.pb"), "wb") as f:
                        f.write(tp.SerializeToString())
    with open(stamp, "w") as f:
        f.write(tag)
    return root


def collect_models(work):
    import onnx

    data = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    models = []
    node_root = materialize_node_tests(work)
    for m in sorted(glob.glob(os.path.join(node_root, "*", "model.onnx"))):
        models.append(("node/" + os.path.basename(os.path.dirname(m)), m))
    for folder in ("node", "simple", "pytorch-converted", "pytorch-operator"):
        for m in sorted(glob.glob(os.path.join(data, folder, "*", "model.onnx"))):
            prefix = f"{folder}-shipped/" if folder == "node" else f"{folder}/"
            models.append((prefix + os.path.basename(os.path.dirname(m)), m))
    for m in sorted(glob.glob(os.path.join(data, "light", "*.onnx"))):
        models.append(("light/" + os.path.basename(m)[:-5], m))
    return models


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                           timeout=timeout)
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        return None, "timeout"


def check_model(kiln, name, path, work, timeout):
    """Returns (status, detail): loaded | unsupported | error | crash."""
    out = os.path.join(work, "rt", name.replace("/", "__"))
    a, b = os.path.join(out, "a"), os.path.join(out, "b")
    os.makedirs(a, exist_ok=True)
    os.makedirs(b, exist_ok=True)
    rc, err = run([kiln, "opt", path, "-o", os.path.join(a, "m.kir"),
                   "--weights-file=" + os.path.join(a, "w.bin")], timeout)
    if rc is None or rc not in (0, 1) or any(s in err for s in SANITIZER_MARKS):
        return "crash", f"rc={rc} " + err.strip().replace("\n", " | ")[:300]
    if rc == 1:
        first = err.strip().splitlines()[0] if err.strip() else "(no diagnostic)"
        if "unsupported" in err:
            return "unsupported", first[len(path) + 2:] if first.startswith(path) else first
        return "error", first
    rc, err = run([kiln, "opt", os.path.join(a, "m.kir"), "-o", os.path.join(b, "m.kir"),
                   "--weights-file=" + os.path.join(b, "w.bin")], timeout)
    if rc is None or rc not in (0, 1) or any(s in err for s in SANITIZER_MARKS):
        return "crash", "re-parse: " + err.strip().replace("\n", " | ")[:300]
    if rc != 0:
        return "error", "re-parse failed: " + err.strip().splitlines()[0]
    for f in ("m.kir", "w.bin"):
        if open(os.path.join(a, f), "rb").read() != open(os.path.join(b, f), "rb").read():
            return "error", f"round trip changed {f}"
    shutil.rmtree(out, ignore_errors=True)
    return "loaded", ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--min-load", type=float, default=0.90)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--filter", default="", help="only models whose name contains this")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    models = [m for m in collect_models(args.work) if args.filter in m[0]]
    results = {}
    with cf.ThreadPoolExecutor(args.jobs) as ex:
        futs = {ex.submit(check_model, args.kiln, n, p, args.work, args.timeout): n
                for n, p in models}
        for f in cf.as_completed(futs):
            results[futs[f]] = f.result()
    counts = {"loaded": 0, "unsupported": 0, "error": 0, "crash": 0}
    lines = []
    for name in sorted(results):
        st, detail = results[name]
        counts[st] += 1
        lines.append(f"{st:12s} {name}" + (f"  {detail}" if detail else ""))
    with open(os.path.join(args.work, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for ln in lines:
        if not ln.startswith(("loaded", "unsupported")):
            print(ln)
    total = len(models)
    rate = counts["loaded"] / total if total else 0.0
    print(f"models: {total}, loaded and round-tripped: {counts['loaded']} ({100 * rate:.1f}%), "
          f"refused as unsupported: {counts['unsupported']}, errors: {counts['error']}, "
          f"crashes: {counts['crash']}")
    print(f"per-model results: {os.path.join(args.work, 'results.txt')}")
    ok = counts["crash"] == 0 and counts["error"] == 0 and rate >= args.min_load and total > 0
    if rate < args.min_load:
        print(f"load rate {100 * rate:.1f}% is below the required {100 * args.min_load:.0f}%")
    failed = counts["crash"] + counts["error"]
    print(f"{total - failed} passed, {failed} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
