#!/usr/bin/env python3
"""Differential fuzzing of the whole compiler against ONNX Runtime.

For each seed of a range, gen.generate(seed) builds a random valid ONNX graph
(random ops, attributes, dtypes, static and symbolic dims, broadcasting,
fusion-friendly chains, If and Loop bodies). The graph is run by ONNX Runtime
at one or two bindings of its symbolic dims, then compiled by kiln to an
executable in each mode (-O0, -O3, -O3 --check-bounds by default), run on the
same inputs, and every output is compared with ONNX Runtime's:

  dtype and shape   exactly
  float32           |got - want| <= 1e-3 * |want| + 1e-4 * max(1, max|want|)
  float64           1e-7 and 1e-9, the same way
  float16           2e-2 and 1e-2
  others            exactly; NaN where NaN, inf where inf of the same sign

Each graph ends in one of:

  ok            every mode matched at every binding
  ort-rejected  ONNX Runtime refused or failed to run the graph (not counted
                against kiln; the message is recorded)
  ort-wrong     kiln and ORT differ, and onnx's reference evaluator agrees
                with kiln (ORT miscomputes; recorded, not counted against kiln)
  refused       kiln refused to compile with a clear error (exit 1, "error:");
                recorded with the message: a limitation, not a wrong answer
  MISMATCH      kiln's output differs from ORT's (and from the reference's)
  CRASH         kiln compile or the executable crashed, timed out, exited
                otherwise than 0/1, reported an access out of bounds, or the
                compile printed no error

A MISMATCH or CRASH is minimized (only the failing output kept; then, again and
again, a node's result made a graph input fed with the value ORT computed,
while the failure persists) and written with its inputs to
WORK/found/seed-N/ (model.onnx, min.onnx, *.npy, repro.sh). A MISMATCH is then
blamed on the first node of the minimized graph whose result differs when it
runs alone on ORT's operands; when the reference evaluator agrees with kiln on
that node, the graph is ort-wrong instead (moved to WORK/ort-wrong/). Exit
status 1 when any graph ended MISMATCH or CRASH.

  python3 tests/difffuzz/difffuzz.py --kiln build/kiln --seeds 0:200       # CI's range
  python3 tests/difffuzz/difffuzz.py --kiln build/kiln --seeds 0:20000 --jobs 2   # a campaign
"""
import argparse
import collections
import concurrent.futures as cf
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

MODES = {"O0": ["-O0"], "O2": ["-O2"], "O3": ["-O3"], "O3cb": ["-O3", "--check-bounds"],
         "O0cb": ["-O0", "--check-bounds"]}
TOL = {"float32": (1e-3, 1e-4), "float64": (1e-7, 1e-9), "float16": (2e-2, 1e-2)}


def compare(got, want, prec=None):
    """Why GOT differs from WANT, or None. PREC: the float dtype whose rounding
    the value carries when coarser than its own (an f32 result cast to f64)."""
    if got.dtype != want.dtype:
        return "dtype %s, want %s" % (got.dtype, want.dtype)
    if got.shape != want.shape:
        return "shape %s, want %s" % (list(got.shape), list(want.shape))
    if want.dtype.name not in TOL:
        bad = got != want
        if np.any(bad):
            i = np.argwhere(bad)[0]
            return "%d of %d elements differ (first at %s: %s, want %s)" % (
                int(bad.sum()), got.size, list(i), got[tuple(i)], want[tuple(i)])
        return None
    rtol, atol = TOL[want.dtype.name]
    if prec in TOL:
        rtol, atol = max(rtol, TOL[prec][0]), max(atol, TOL[prec][1])
    g, w = got.astype(np.float64), want.astype(np.float64)
    fin = np.isfinite(w)
    scale = max(1.0, float(np.max(np.abs(w[fin])))) if np.any(fin) else 1.0
    with np.errstate(invalid="ignore"):
        ok = (np.isnan(g) & np.isnan(w)) | (g == w) | (np.abs(g - w) <= rtol * np.abs(w) + atol * scale)
    if not np.all(ok):
        i = np.argwhere(~ok)[0]
        return "%d of %d elements differ (first at %s: %r, want %r)" % (
            int((~ok).sum()), got.size, list(i), g[tuple(i)], w[tuple(i)])
    return None


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %d s" % timeout


def first_error(err):
    for line in err.splitlines():
        if "error" in line:
            return line.strip()[:300]
    return err.strip().splitlines()[0][:300] if err.strip() else "(no message)"


class ChildDied(Exception):
    """The forked child running ONNX Runtime or the reference evaluator died."""


def in_child(fn, *args):
    """fn(*args) in a forked child (ORT and the reference evaluator run in this
    process's address space: a crash of theirs must not take the fuzzer down).
    An exception of fn is raised again here; a child killed by a signal raises
    ChildDied."""
    import pickle

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(r)
        try:
            try:
                data = pickle.dumps((True, fn(*args)))
            except Exception as e:  # noqa: BLE001 - sent back to the parent
                data = pickle.dumps((False, RuntimeError("%s: %s" % (type(e).__name__, e))))
            with os.fdopen(w, "wb") as f:
                f.write(data)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        raise ChildDied("killed by signal %s" % sig if sig else "exit %d" % os.WEXITSTATUS(status))
    ok, val = pickle.loads(data)
    if not ok:
        raise val
    return val


def ort_run(model_bytes, feeds, outs):
    return in_child(ort_run_here, model_bytes, feeds, outs)


def ort_run_here(model_bytes, feeds, outs):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 4
    sess = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}  # a pruned model may need fewer
    return dict(zip(outs, sess.run(outs, {k: v for k, v in feeds.items() if k in names})))


def ref_run(model, feeds, outs):
    return in_child(ref_run_here, model, feeds, outs)


def ref_run_here(model, feeds, outs):
    from onnx.reference import ReferenceEvaluator

    names = {i.name for i in model.graph.input}
    return dict(zip(outs, ReferenceEvaluator(model).run(outs, {k: v for k, v in feeds.items() if k in names})))


def bindings(g, seed):
    syms = sorted({s for v, _ in g.inputs for d in v.shape for s in d[1]})
    rng = np.random.default_rng(seed)
    envs = []
    for k in range(2 if syms else 1):
        envs.append({s: int(rng.choice([1, 2, 3, 5, 8] if k else [2, 3, 4])) for s in syms})
    return envs


class Kiln:
    """Compiles and runs one model in one mode; every call in its own folder."""

    def __init__(self, kiln, d, timeout):
        self.kiln, self.d, self.timeout = kiln, d, timeout
        self.precs = {}  # output name -> the float dtype its error is bounded by

    def compile(self, path, mode, tag):
        exe = os.path.join(self.d, "%s-%s" % (tag, mode))
        rc, _, err = run([self.kiln, "compile", path, "-o", exe] + MODES[mode], self.timeout)
        if rc == 0:
            return exe, None
        if rc == 1 and "error:" in err and not any(w in err for w in ("internal", "verifier", "assert")):
            return None, ("refused", first_error(err))
        return None, ("CRASH", "compile %s: %s: %s" % (mode, "timed out" if rc is None else "exit %s" % rc,
                                                        first_error(err)))

    def execute(self, exe, feeds, outs, tag):
        od = os.path.join(self.d, tag + "-out")
        shutil.rmtree(od, ignore_errors=True)
        args = [exe, "--out-dir", od]
        for k, (name, a) in enumerate(feeds.items()):
            p = os.path.join(self.d, "%s-in%d.npy" % (tag, k))
            np.save(p, a)
            args += ["--in", "%s=%s" % (name, p)]
        rc, _, err = run(args, self.timeout)
        if rc != 0:
            return None, "run: %s: %s" % ("timed out" if rc is None else "exit %s" % rc, first_error(err))
        res = {}
        for o in outs:
            p = os.path.join(od, o + ".npy")
            if not os.path.exists(p):
                return None, "output %s not written" % o
            res[o] = np.load(p)
        return res, None


def check_model(kiln, model, mode, feeds_list, wants_list, tag):
    """(status, detail) of one model in one mode against the wanted outputs."""
    import onnx

    path = os.path.join(kiln.d, tag + ".onnx")
    onnx.save(model, path)
    outs = [o.name for o in model.graph.output]
    ins = {i.name for i in model.graph.input}  # a pruned model needs fewer than it is given
    exe, why = kiln.compile(path, mode, tag)
    if why:
        return why
    for k, (feeds, wants) in enumerate(zip(feeds_list, wants_list)):
        feeds = {n: a for n, a in feeds.items() if n in ins}
        got, err = kiln.execute(exe, feeds, outs, "%s-%d" % (tag, k))
        if err:
            return "CRASH", "%s at binding %d: %s" % (mode, k, err)
        for o in outs:
            why = compare(got[o], wants[o], kiln.precs.get(o))
            if why:
                return "MISMATCH", "%s at binding %d: output %s: %s" % (mode, k, o, why)
    return "ok", ""


def prune(model, keep_outputs):
    """MODEL with only KEEP_OUTPUTS and the nodes, inputs and initializers they need."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    need = set(keep_outputs)
    nodes = []  # names a sub-graph reads count as read by its node
    for n in reversed(list(g.node)):
        if any(o in need for o in n.output):
            nodes.append(n)
            need.update(i for i in n.input if i)
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    need.update(subgraph_reads(a.g))
    nodes.reverse()
    del g.node[:]
    g.node.extend(nodes)
    outs = [o for o in g.output if o.name in keep_outputs]
    del g.output[:]
    g.output.extend(outs)
    ins = [i for i in g.input if i.name in need]
    del g.input[:]
    g.input.extend(ins)
    inits = [i for i in g.initializer if i.name in need]
    del g.initializer[:]
    g.initializer.extend(inits)
    return m


def subgraph_reads(sg):
    import onnx

    names = set()
    for n in sg.node:
        names.update(i for i in n.input if i)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                names.update(subgraph_reads(a.g))
    return names


def promote(model, name, arr):
    """MODEL with value NAME made a graph input of ARR's static shape."""
    import onnx
    from onnx import helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    keep = [n for n in g.node if name not in n.output]
    if len(keep) == len(g.node):
        return None
    prod = [n for n in g.node if name in n.output][0]
    if len(prod.output) > 1:
        return None
    del g.node[:]
    g.node.extend(keep)
    g.input.append(helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(arr.dtype),
                                                 list(arr.shape)))
    return prune(m, [o.name for o in g.output])


def intermediates(model, feeds):
    """Every node result of MODEL as ORT computes it on FEEDS, by name."""
    import onnx
    from onnx import helper

    names = [o for n in model.graph.node for o in n.output if o]
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(helper.ValueInfoProto(name=t) for t in names)
    return ort_run(probe.SerializeToString(), feeds, names)


def minimize(kiln, model, mode, feeds_list, wants_list, status, budget=60):
    """A smaller model that fails the same way, with its feeds and wants."""

    def fails(m, fl, wl, tag):
        s, _ = check_model(kiln, m, mode, fl, wl, tag)
        return s == status

    def one_output(cur, fl, wl):
        """CUR cut to the first output that fails alone, if any."""
        outs = [x.name for x in cur.graph.output]
        for o in outs if len(outs) > 1 else []:
            m = prune(cur, [o])
            if fails(m, fl, [{o: w[o]} for w in wl], "min"):
                return m, [{o: w[o]} for w in wl]
        return cur, wl

    cur, fl, wl = model, feeds_list, wants_list
    cur, wl = one_output(cur, fl, wl)
    # the intermediates ORT computes, at every binding
    try:
        inter = [intermediates(cur, f) for f in fl]
    except Exception:
        return cur, fl, wl
    changed, steps = True, 0
    while changed and steps < budget:
        changed = False
        # nearest the output first: one success there drops everything upstream
        for t in reversed([n.output[0] for n in cur.graph.node if len(n.output) == 1]):
            if steps >= budget:
                break
            if t in [o.name for o in cur.graph.output]:
                continue
            m = promote(cur, t, inter[0][t])
            if m is None:
                continue
            names = {i.name for i in m.graph.input}
            nfl = [{k: v for k, v in list(f.items()) + [(t, it[t])] if k in names} for f, it in zip(fl, inter)]
            # a promoted input has bindings-specific static shape: keep one binding when they differ
            if len(nfl) > 1 and inter[0][t].shape != inter[1][t].shape:
                nfl, nwl = nfl[:1], wl[:1]
            else:
                nwl = wl
            steps += 1
            if fails(m, nfl, nwl, "min"):
                cur, fl, wl, changed = m, nfl, nwl, True
                cur, wl = one_output(cur, fl, wl)
                break
    return cur, fl, wl


def blame(kiln, model, mode, fl):
    """The first node of MODEL whose result kiln computes otherwise than ORT,
    judged alone (its operands fed with ORT's values) by the reference
    evaluator: (op, "ort-wrong" when the reference agrees with kiln, else
    "MISMATCH"), or None when no single node shows it or the reference cannot
    run that node."""
    import onnx
    from onnx import helper

    try:
        inter = intermediates(model, fl[0])
    except Exception:
        return None
    for n in model.graph.node:
        if len(n.output) != 1:
            continue
        t = n.output[0]
        one = onnx.ModelProto()
        one.CopyFrom(model)
        g = one.graph
        del g.node[:]
        g.node.extend([n])
        del g.output[:]
        g.output.extend([helper.make_tensor_value_info(t, helper.np_dtype_to_tensor_dtype(inter[t].dtype),
                                                        [None] * inter[t].ndim)])
        feeds = {}
        for i in n.input:
            if not i or any(x.name == i for x in g.initializer):
                continue
            a = fl[0][i] if i in fl[0] else inter.get(i)
            if a is None:
                return None
            feeds[i] = a
        del g.input[:]
        g.input.extend(helper.make_tensor_value_info(i, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape))
                       for i, a in feeds.items())
        one = prune(one, [t])
        st, _ = check_model(kiln, one, mode, [feeds], [{t: inter[t]}], "blame")
        if st != "MISMATCH":
            continue
        try:
            ref = ref_run(one, feeds, [t])
        except Exception:
            return None
        rs, _ = check_model(kiln, one, mode, [feeds], [ref], "blame-ref")
        return n.op_type, "ort-wrong" if rs == "ok" else "MISMATCH"
    return None


def run_seed(args, seed):
    import onnx

    t0 = time.time()
    res = {"seed": seed, "ops": [], "status": "ok", "detail": ""}
    try:
        g, outs = gen.generate(seed)
        model = g.model(outs)
        res["ops"] = sorted(set(g.ops))
        res["nodes"] = len(g.nodes)
        onnx.checker.check_model(model, full_check=False)
    except Exception as e:  # a generator bug: say so, it is not kiln's
        res.update(status="gen-error", detail="%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200]))
        return res
    out_names = [o.name for o in model.graph.output]
    envs = bindings(g, seed)
    feeds_list = [g.feeds(env, np.random.default_rng(seed * 31 + k)) for k, env in enumerate(envs)]
    mb = model.SerializeToString()
    try:
        wants_list = [ort_run(mb, f, out_names) for f in feeds_list]
    except ChildDied as e:
        res.update(status="ort-rejected", detail="ONNX Runtime crashed (%s)" % e)
        return res
    except Exception as e:
        res.update(status="ort-rejected", detail=str(e).strip().splitlines()[0][:300])
        return res
    d = os.path.join(args.work, "w", "seed-%d" % seed)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    kiln = Kiln(args.kiln, d, args.timeout)
    kiln.precs = g.precisions(out_names)
    try:
        for mode in args.modes:
            status, detail = check_model(kiln, model, mode, feeds_list, wants_list, "g")
            if status == "MISMATCH":
                try:
                    ref = [ref_run(model, f, out_names) for f in feeds_list]
                    rs, _ = check_model(kiln, model, mode, feeds_list, ref, "ref")
                    if rs == "ok":
                        status, detail = "ort-wrong", detail + " (the reference evaluator agrees with kiln)"
                except Exception:
                    pass
            if status != "ok":
                res.update(status=status, detail=detail, mode=mode)
                break
        if res["status"] in ("MISMATCH", "CRASH"):
            found = os.path.join(args.work, "found", "seed-%d" % seed)
            shutil.rmtree(found, ignore_errors=True)
            os.makedirs(found)
            onnx.save(model, os.path.join(found, "model.onnx"))
            mm, fl, wl = (minimize(kiln, model, res["mode"], feeds_list, wants_list, res["status"])
                          if args.minimize else (model, feeds_list, wants_list))
            onnx.save(mm, os.path.join(found, "min.onnx"))
            who = blame(kiln, mm, res["mode"], fl) if res["status"] == "MISMATCH" else None
            if who:
                res["culprit"] = who[0]
                res["detail"] += "; first differing node: %s%s" % (
                    who[0], " (the reference evaluator agrees with kiln there)" if who[1] == "ort-wrong" else "")
                if who[1] == "ort-wrong":  # ORT's error, not kiln's: kept apart
                    res["status"] = "ort-wrong"
                    apart = os.path.join(args.work, "ort-wrong", "seed-%d" % seed)
                    shutil.rmtree(apart, ignore_errors=True)
                    os.makedirs(os.path.dirname(apart), exist_ok=True)
                    os.rename(found, apart)
                    found = apart
            lines = ["#!/bin/sh", "# seed %d: %s %s" % (seed, res["status"], res["detail"]),
                     "# the minimized model, %d nodes; expected outputs (ONNX Runtime) in want*.npy" %
                     len(mm.graph.node), "set -e", "kiln=${KILN:-kiln}",
                     "$kiln compile min.onnx -o min %s" % " ".join(MODES[res["mode"]])]
            for k, (f, w) in enumerate(zip(fl, wl)):
                ins = []
                for name, a in f.items():
                    p = "in%d-%s.npy" % (k, name)
                    np.save(os.path.join(found, p), a)
                    ins.append("--in %s=%s" % (name, p))
                for name, a in w.items():
                    np.save(os.path.join(found, "want%d-%s.npy" % (k, name)), a)
                lines.append("./min %s --out-dir got%d" % (" ".join(ins), k))
            with open(os.path.join(found, "repro.sh"), "w") as fh:
                fh.write("\n".join(lines) + "\n")
            res["min_nodes"] = len(mm.graph.node)
    finally:
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)
    res["secs"] = round(time.time() - t0, 2)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", default="build/difffuzz")
    ap.add_argument("--seeds", default="0:200", help="A:B, the half-open range of seeds")
    ap.add_argument("--modes", default="O0,O3,O3cb", help="comma-separated: " + ",".join(MODES))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--no-minimize", dest="minimize", action="store_false")
    ap.add_argument("--keep", action="store_true", help="keep each seed's working folder")
    ap.add_argument("--report", help="write one JSON line a graph to this file")
    args = ap.parse_args()
    args.kiln = os.path.abspath(args.kiln)
    args.work = os.path.abspath(args.work)
    args.modes = args.modes.split(",")
    for m in args.modes:
        if m not in MODES:
            ap.error("unknown mode %r" % m)
    a, b = (int(x) for x in args.seeds.split(":"))
    os.makedirs(args.work, exist_ok=True)
    counts = collections.Counter()
    ops_ok = collections.Counter()
    refusals = collections.Counter()
    ort_msgs = collections.Counter()
    bad = []
    t0 = time.time()
    rep = open(args.report, "w") if args.report else None
    done = 0
    with cf.ProcessPoolExecutor(args.jobs) as ex:
        futs = [ex.submit(run_seed, args, s) for s in range(a, b)]
        for f in cf.as_completed(futs):
            r = f.result()
            done += 1
            counts[r["status"]] += 1
            if r["status"] == "ok":
                ops_ok.update(r["ops"])
            elif r["status"] == "refused":
                refusals[r["detail"].split(": ", 1)[-1][:120]] += 1
            elif r["status"] == "ort-wrong":
                ort_msgs["miscomputes %s (kiln agrees with the reference evaluator)" %
                         r.get("culprit", "the graph")] += 1
            elif r["status"] == "ort-rejected":
                ort_msgs[r["detail"][:120]] += 1
            elif r["status"] in ("MISMATCH", "CRASH", "gen-error"):
                bad.append(r)
                print("%s seed %d (%s): %s" % (r["status"], r["seed"], r.get("mode", "-"), r["detail"]),
                      file=sys.stderr, flush=True)
            if rep:
                rep.write(json.dumps(r) + "\n")
            if done % 100 == 0 or done == b - a:
                print("difffuzz: %d/%d graphs, %s, %.0f s" % (
                    done, b - a, ", ".join("%s %d" % kv for kv in sorted(counts.items())), time.time() - t0),
                    file=sys.stderr, flush=True)
    if rep:
        rep.close()
    print("graphs %d: %s" % (b - a, ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    print("ops covered by graphs that ran clean: %d (%s)" % (len(ops_ok), " ".join(sorted(ops_ok))))
    if refusals:
        print("kiln refusals:")
        for msg, n in refusals.most_common(20):
            print("  %5d  %s" % (n, msg))
    if ort_msgs:
        print("ONNX Runtime rejections and miscomputations:")
        for msg, n in ort_msgs.most_common(20):
            print("  %5d  %s" % (n, msg))
    for r in sorted(bad, key=lambda r: r["seed"]):
        print("%s seed %d (%s): %s%s" % (r["status"], r["seed"], r.get("mode", "-"), r["detail"],
                                         "; minimized to %d nodes in %s/found/seed-%d" % (
                                             r["min_nodes"], args.work, r["seed"]) if "min_nodes" in r else ""))
    print("%.0f s" % (time.time() - t0))
    return 1 if any(r["status"] in ("MISMATCH", "CRASH", "gen-error") for r in bad) else 0


if __name__ == "__main__":
    sys.exit(main())
