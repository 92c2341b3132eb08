#!/usr/bin/env python3
"""Outputs whose dims are expressions of the runtime dims (2*N, N*S, N*S*4, and
static and symbolic dims mixed), at several values of the dims, through the
executable driver and through the generated C header, compared with ONNX
Runtime: every shape exactly, every value at 1e-6 (these are data movement
and exact arithmetic). Sizes past the limit must be refused by both, with
KILN_RT_ERR_SIZE (7) from the C API and a message naming the value from the
driver, and a negative dim with status 1.

Usage: check_symbolic_outputs.py --kiln build/kiln --runtime build/runtime --work DIR
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as T, helper as h

NP = {T.FLOAT: np.float32, T.INT64: np.int64, T.FLOAT16: np.float16}


def model(name, nodes, inputs, outputs, inits=()):
    g = h.make_graph(nodes, name, [h.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                     [h.make_tensor_value_info(n, t, None) for n, t in outputs], list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)], producer_name="kiln-test")
    m.ir_version = 8
    return m


def i64(name, vals):
    return h.make_tensor(name, T.INT64, [len(vals)], vals)


# name -> (model, dims to try: a list of {dim: value})
CASES = {
    # y f32[2*N,2]
    "reshape2n": (model("reshape2n", [h.make_node("Reshape", ["x", "s"], ["y"])],
                        [("x", T.FLOAT, ["N", 4])], [("y", T.FLOAT)], [i64("s", [-1, 2])]),
                  [{"N": 1}, {"N": 2}, {"N": 7}, {"N": 1000}, {"N": 0}]),
    # y f32[2*N,4]
    "concat2n": (model("concat2n", [h.make_node("Concat", ["x", "x"], ["y"], axis=0)],
                       [("x", T.FLOAT, ["N", 4])], [("y", T.FLOAT)]),
                 [{"N": 1}, {"N": 3}, {"N": 513}]),
    # y f32[N*S], z f32[N*S*4] (flattened), w f32[N,4*S] (mixed), v f32[2,3*N*S,2] (mixed)
    "products": (model("products",
                       [h.make_node("Reshape", ["x", "rows"], ["y2"]),
                        h.make_node("ReduceSum", ["y2", "last"], ["y"], keepdims=0),
                        h.make_node("Reshape", ["x", "flat"], ["z"]),
                        h.make_node("Flatten", ["x"], ["w"], axis=1),
                        h.make_node("Tile", ["x", "reps"], ["t"]),
                        h.make_node("Reshape", ["t", "s3"], ["v"])],
                       [("x", T.FLOAT, ["N", "S", 4])],
                       [("y", T.FLOAT), ("z", T.FLOAT), ("w", T.FLOAT), ("v", T.FLOAT)],
                       [i64("flat", [-1]), i64("rows", [-1, 4]), i64("last", [1]), i64("reps", [3, 1, 1]),
                        i64("s3", [2, -1, 2])]),
                 [{"N": 1, "S": 1}, {"N": 2, "S": 5}, {"N": 9, "S": 31}, {"N": 64, "S": 3}]),
    # f16 result f16[2*N,2] next to f32[N,2]
    "halves": (model("halves",
                     [h.make_node("Concat", ["x", "x"], ["c"], axis=0),
                      h.make_node("Cast", ["c"], ["z16"], to=T.FLOAT16),
                      h.make_node("Relu", ["x"], ["r"])],
                     [("x", T.FLOAT, ["N", 2])], [("z16", T.FLOAT16), ("r", T.FLOAT)]),
               [{"N": 1}, {"N": 17}, {"N": 1000}]),
}

# The C program: reads the dims from argv and the inputs from raw files, asks
# the header for each output's shape and size, allocates exactly that (so an
# overrun is an ASan error in a sanitized build), runs, writes shape + data.
C_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "%(m)s.h"

static void *
load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(*n ? *n : 1);
    if (fread(p, 1, *n, f) != *n)
        exit(3);
    fclose(f);
    return p;
}

int
main(int argc, char **argv)
{
    (void)argc;
    %(m)s_inputs in;
    memset(&in, 0, sizeof in);
    size_t n;
%(set_inputs)s
%(set_dims)s
    %(m)s_outputs out;
    memset(&out, 0, sizeof out);
    void **slots = (void **)&out;
    void *w = NULL;
    FILE *f = fopen(argv[1], "wb");
    for (int i = 0; i < %(m)s_N_OUTPUTS; i++) {
        int64_t shape[8];
        uint64_t bytes = 0;
        int rc = %(m)s_output_shape(&in, i, shape, &bytes);
        if (rc != 0) { /* and run refuses the same dims the same way */
            printf("output_shape %%d run %%d\n", rc, %(m)s_run(&in, &out, NULL));
            goto done;
        }
        slots[i] = malloc(bytes ? bytes : 1);
        fwrite(&bytes, 8, 1, f);
        fwrite(shape, 8, 8, f);
    }
    uint64_t ws = %(m)s_workspace_size(&in);
    w = ws == UINT64_MAX ? NULL : aligned_alloc(64, ws ? (ws + 63) / 64 * 64 : 64);
    int rc = %(m)s_run(&in, &out, w);
    printf("run %%d\n", rc);
    for (int i = 0; i < %(m)s_N_OUTPUTS && rc == 0; i++) {
        int64_t shape[8];
        uint64_t bytes = 0;
        %(m)s_output_shape(&in, i, shape, &bytes);
        fwrite(slots[i], 1, bytes, f);
    }
done:
    fclose(f);
    free(w);
    for (int i = 0; i < %(m)s_N_OUTPUTS; i++)
        free(slots[i]);
%(free_inputs)s
    return 0;
}
"""


def build_c(kiln, runtime, work, name, m, cc_flags):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name + ".onnx")
    onnx.save(m, path)
    for ext in ("h", "o"):
        subprocess.run([kiln, "compile", path, "-o", os.path.join(d, name + "." + ext)], check=True)
    subprocess.run([kiln, "compile", path, "-o", os.path.join(d, name + ".exe")], check=True)
    dims = sorted({p for i in m.graph.input for p in
                   (x.dim_param for x in i.type.tensor_type.shape.dim) if p})
    set_inputs = "\n".join("    in.%s = load(argv[%d], &n);" % (i.name, 2 + k)
                           for k, i in enumerate(m.graph.input))
    free_inputs = "\n".join("    free((void *)in.%s);" % i.name for i in m.graph.input)
    base = 2 + len(m.graph.input)
    set_dims = "\n".join("    in.%s = atoll(argv[%d]);" % (dn, base + k) for k, dn in enumerate(dims))
    src = os.path.join(d, "main.c")
    with open(src, "w") as f:
        f.write(C_MAIN % {"m": name, "set_inputs": set_inputs, "set_dims": set_dims,
                          "free_inputs": free_inputs})
    exe = os.path.join(d, "api")
    subprocess.run(["cc", "-O1", "-Wall", "-Werror", *cc_flags, "-I" + d, "-o", exe, src,
                    os.path.join(d, name + ".o"), os.path.join(runtime, "libkiln_runtime.a"),
                    "-lm", "-lpthread"], check=True)
    return d, path, dims


def read_api(path, outs):
    raw = open(path, "rb").read()
    heads, off = [], 0
    for _ in outs:
        nbytes = int(np.frombuffer(raw, np.uint64, 1, off)[0])
        shape = np.frombuffer(raw, np.int64, 8, off + 8)
        heads.append((nbytes, shape))
        off += 72
    res = []
    for (nbytes, shape), (name, dt) in zip(heads, outs):
        res.append((shape, np.frombuffer(raw, dt, nbytes // np.dtype(dt).itemsize, off)))
        off += nbytes
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--runtime", required=True, help="the build's runtime/ (libkiln_runtime.a)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--cflags", default="", help="extra flags for the C harness (sanitizers)")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    failures, checks = [], 0
    rng = np.random.default_rng(0)
    for name, (m, trials) in CASES.items():
        d, path, dims = build_c(a.kiln, a.runtime, a.work, name, m, a.cflags.split())
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        outs = [(o.name, NP[o.type.tensor_type.elem_type]) for o in m.graph.output]
        for trial in trials:
            feeds, files = {}, []
            for i in m.graph.input:
                shape = [x.dim_value if x.HasField("dim_value") else trial[x.dim_param]
                         for x in i.type.tensor_type.shape.dim]
                feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
                p = os.path.join(d, i.name + ".npy")
                np.save(p, feeds[i.name])
                files.append(p)
            want = sess.run(None, feeds)
            tag = "%s %s" % (name, " ".join("%s=%d" % kv for kv in sorted(trial.items())))
            # the driver
            od = os.path.join(d, "out")
            shutil.rmtree(od, ignore_errors=True)
            cmd = [os.path.join(d, name + ".exe"), "--out-dir", od]
            cmd += sum((["--in", "%s=%s" % (i.name, f)] for i, f in zip(m.graph.input, files)), [])
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                failures.append("%s: driver exit %d: %s" % (tag, r.returncode, r.stderr.strip()))
                continue
            # the C API, from raw copies of the same inputs
            raws = []
            for i, f in zip(m.graph.input, files):
                raws.append(f[:-4] + ".raw")
                np.load(f).tofile(raws[-1])
            api_out = os.path.join(d, "api.bin")
            r2 = subprocess.run([os.path.join(d, "api"), api_out, *raws,
                                 *[str(trial[dn]) for dn in dims]], capture_output=True, text=True)
            if r2.returncode != 0 or r2.stdout.strip() != "run 0":
                failures.append("%s: C API: exit %d, %s %s" % (tag, r2.returncode,
                                                               r2.stdout.strip(), r2.stderr.strip()))
                continue
            api = read_api(api_out, outs)
            for k, ((oname, dt), w) in enumerate(zip(outs, want)):
                checks += 1
                fname = oname.replace("/", "_")
                got = np.load(os.path.join(od, fname + ".npy"))
                shape, vals = api[k]
                api_shape = tuple(int(s) for s in shape[:w.ndim])
                if got.shape != w.shape or api_shape != w.shape:
                    failures.append("%s: output %s: ORT %s, driver %s, C API %s" %
                                    (tag, oname, w.shape, got.shape, api_shape))
                    continue
                for who, v in (("driver", got), ("C API", vals.reshape(w.shape))):
                    if not np.allclose(v.astype(np.float64), w.astype(np.float64),
                                       rtol=1e-6, atol=1e-6):
                        failures.append("%s: output %s: %s differs from ORT (max |d| %g)" %
                                        (tag, oname, who, float(np.max(np.abs(
                                            v.astype(np.float64) - w.astype(np.float64))))))
            print("ok   %s" % tag)
        # sizes past the limit and a negative dim: refused by both, never run
        big = {dn: (1 << 47) for dn in dims}
        r = subprocess.run([os.path.join(d, name + ".exe"),
                            *sum((["--dim", "%s=%d" % kv] for kv in big.items()), [])],
                           capture_output=True, text=True)
        checks += 1
        if r.returncode != 1 or "too large" not in r.stderr or "value '" not in r.stderr:
            failures.append("%s: driver at %s: exit %d, %r" % (name, big, r.returncode, r.stderr))
        empty = []
        for i in m.graph.input:
            empty.append(os.path.join(d, i.name + ".empty"))
            open(empty[-1], "wb").close()
        for vals, want in (([str(1 << 47)] * len(dims), "output_shape 7 run 7"),
                           (["-1"] * len(dims), "output_shape 1 run 1")):
            r2 = subprocess.run([os.path.join(d, "api"), os.path.join(d, "api.bin"), *empty, *vals],
                                capture_output=True, text=True)
            checks += 1
            if r2.stdout.strip() != want:
                failures.append("%s: C API at %s: %r, want %r" % (name, vals, r2.stdout, want))
        print("ok   %s: too large and negative dims refused" % name)
    for f in failures:
        print("FAIL " + f)
    print("%d checks, %d failures" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
