#!/usr/bin/env python3
"""Tests of the executable driver (runtime/main.c) through fake_model.

fake_model (tests/runtime/fake_model.c) has inputs x f32[N,3] and y i64[3]
and the output z f32[N,3] = x * 2 + y; fake_model_names is the same model
with outputs named ".z/0" and "_z_0" (file-name sanitizing).

    test_driver.py --model PATH --model-names PATH --work DIR

Ends with a bounded fuzzing pass: --flag-runs random argument vectors
(seeded) over every flag, good, malformed and hostile values and .npy files.

Prints one line per failed check and closes with "N passed, N failed".
"""
import argparse
import io
import os
import re
import shutil
import subprocess
import sys

import numpy as np

passed = 0
failed = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}" + (f"\n  {detail}" if detail else ""))


def run(exe, *args, env=None):
    p = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, env=env)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--model-names", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--flag-runs", default=300, help="random argument vectors to try")
    a = ap.parse_args()
    exe = a.model
    work = a.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    def path(name):
        return os.path.join(work, name)

    def save(name, arr):
        np.save(path(name), arr)
        return path(name)

    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = np.array([1, 2, 3], dtype=np.int64)
    save("x.npy", x)
    save("y.npy", y)

    # ---- --help
    rc, out, err = run(exe, "--help")
    check(rc == 0, "--help exits 0", err)
    for want in ["usage:", "x  f32[N,3]", "y  i64[3]", "z  f32[N,3]", "runtime dims: N",
                 "--in NAME=PATH.npy", "--out-dir DIR", "--dim NAME=VALUE", "--bench N",
                 "--threads T", "--seed S", "--help", "'/'", "leading '.'",
                 "latency_ms median=X min=Y", "bf16"]:
        check(want in out, f"--help mentions {want!r}", out)
    rc, out2, _ = run(exe, "--bench", "3", "-h")
    check(rc == 0 and out2 == out, "-h anywhere prints the help")

    # ---- a run from files
    rc, out, err = run(exe, "--in", "x=" + path("x.npy"), "--in=y=" + path("y.npy"),
                       "--out-dir", path("out"))
    check(rc == 0, "run from files exits 0", err)
    want = x * 2 + y.astype(np.float32)
    z = np.load(path("out/z.npy")) if os.path.exists(path("out/z.npy")) else None
    check(z is not None and z.dtype == np.float32 and z.shape == (4, 3)
          and np.array_equal(z, want), "out/z.npy is x * 2 + y", repr(z))
    check("dims: N=4" in out, "prints the dims", out)
    line = next((l for l in out.splitlines() if l.startswith("z: ")), "")
    m = re.match(r"^z: f32\[4,3\] = \[(.*), \.\.\.\]$", line)
    check(m is not None, "prints name, dtype, shape, values", out)
    if m:
        vals = [float(v) for v in m.group(1).split(", ")]
        check(len(vals) == 8 and np.allclose(vals, want.ravel()[:8], rtol=1e-5),
              "prints the first 8 values", line)
    # numpy.save writes the same bytes
    if z is not None:
        buf = io.BytesIO()
        np.save(buf, want)
        with open(path("out/z.npy"), "rb") as f:
            check(f.read() == buf.getvalue(), "the .npy file is byte for byte numpy.save's")

    # ---- random inputs, seeds, --dim, threads
    rc, out, err = run(exe, "--out-dir", path("r0"))
    check(rc == 0, "random run exits 0", err)
    r0 = np.load(path("r0/z.npy"))
    check(r0.shape == (1, 3) and "dims: N=1" in out, "unset dims are 1", out)
    rc, _, _ = run(exe, "--out-dir", path("r0b"), "--seed", "0")
    check(np.array_equal(np.load(path("r0b/z.npy")), r0), "default seed is 0, deterministic")
    rc, _, _ = run(exe, "--out-dir", path("r5"), "--seed=5", "--dim", "N=1000", "--threads", "3")
    r5 = np.load(path("r5/z.npy"))
    check(r5.shape == (1000, 3), "--dim sets N", repr(r5.shape))
    # z = 2x + y with x in [-1, 1) and y in [0, 4): z - y is 2x, y an integer
    yy = np.floor((r5 + 2) / 2)  # not exact; check the range only
    check(float(r5.min()) >= -2 and float(r5.max()) < 5 and yy.size > 0,
          "random floats in [-1, 1), ints in [0, 4)", f"{r5.min()} {r5.max()}")
    rc, _, _ = run(exe, "--out-dir", path("r5b"), "--seed", "5", "--dim=N=1000", "--threads=1")
    check(np.array_equal(np.load(path("r5b/z.npy")), r5), "seeded data is the same at 1 thread")
    rc, _, _ = run(exe, "--out-dir", path("r6"), "--seed", "6", "--dim", "N=1000")
    check(not np.array_equal(np.load(path("r6/z.npy")), r5), "another seed, other data")
    # x given, y random: consistent with x
    xb = rng.uniform(-1, 1, (50000, 3)).astype(np.float32)
    save("xb.npy", xb)
    rc, out, err = run(exe, "--in", "x=" + path("xb.npy"), "--out-dir", path("big"),
                       "--threads", "4")
    zb = np.load(path("big/z.npy"))
    yr = np.round(zb[0] - xb[0] * 2).astype(np.float32)  # the random y
    check(rc == 0 and zb.shape == (50000, 3) and np.all((yr >= 0) & (yr < 4))
          and np.array_equal(zb, xb * 2 + yr),
          "x from a file, y random, many rows over 4 threads", err)
    # N = 0
    save("x0.npy", np.zeros((0, 3), np.float32))
    rc, out, err = run(exe, "--in", "x=" + path("x0.npy"), "--out-dir", path("n0"))
    check(rc == 0 and "z: f32[0,3] = []" in out
          and np.load(path("n0/z.npy")).shape == (0, 3), "an empty input", out + err)
    # --dim agreeing with a file is fine
    rc, _, err = run(exe, "--in", "x=" + path("x.npy"), "--dim", "N=4")
    check(rc == 0, "--dim agreeing with the file", err)

    # ---- --bench
    rc, out, err = run(exe, "--bench", "5", "--dim", "N=64")
    lines = out.strip().splitlines()
    check(rc == 0, "--bench exits 0", err)
    check(bool(lines) and re.fullmatch(r"latency_ms median=\d+\.\d{3} min=\d+\.\d{3}", lines[-1]),
          "--bench's last line", out)
    check(len(lines) >= 2 and "runs/s" in lines[-2], "--bench prints runs/s", out)
    if lines:
        mm = re.fullmatch(r"latency_ms median=(\S+) min=(\S+)", lines[-1])
        check(mm is not None and float(mm.group(2)) <= float(mm.group(1)), "min <= median")

    # ---- errors of files and runs: exit 1, a message naming the input and axis
    def expect(code, args, pattern, what):
        rc, out, err = run(exe, *args)
        check(rc == code and re.search(pattern, err) is not None, what,
              f"exit {rc}, stderr: {err.strip()}")

    save("x42.npy", np.zeros((4, 2), np.float32))
    expect(1, ["--in", "x=" + path("x42.npy")], r"input 'x' axis 1: .* has 2, the model wants 3",
           "a fixed dim mismatch")
    save("x12.npy", np.zeros((12,), np.float32))
    expect(1, ["--in", "x=" + path("x12.npy")], r"input 'x': .*rank 1.*rank 2", "a rank mismatch")
    save("x64.npy", np.zeros((4, 3), np.float64))
    expect(1, ["--in", "x=" + path("x64.npy")], r"input 'x': .* holds f64\[4,3\].*f32\[N,3\]",
           "a dtype mismatch")
    expect(1, ["--in", "x=" + path("x.npy"), "--dim", "N=3"],
           r"input 'x' axis 0 \(dim 'N'\): .* has 4, but N = 3 from --dim", "--dim disagreeing")
    save("y4.npy", np.zeros((4,), np.int64))
    expect(1, ["--in", "y=" + path("y4.npy")], r"input 'y' axis 0: .* has 4, the model wants 3",
           "a fixed dim of the second input")
    expect(1, ["--in", "x=" + path("nope.npy")], r"input 'x': cannot read .*nope\.npy",
           "a missing file")
    with open(path("junk.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00junk")
    expect(1, ["--in", "x=" + path("junk.npy")], r"input 'x': .*junk\.npy: malformed",
           "a malformed file")
    save("yneg.npy", np.array([-1, 0, 0], np.int64))
    expect(1, ["--in", "y=" + path("yneg.npy")], r"run failed: bad argument",
           "a run the model refuses")
    with open(path("afile"), "w") as f:
        f.write("x")
    expect(1, ["--out-dir", path("afile/sub")], r"cannot create --out-dir", "a bad --out-dir")

    # ---- usage errors: exit 2
    for args, pattern in [
        (["--frobnicate"], r"unknown argument '--frobnicate'"),
        (["positional"], r"unknown argument 'positional'"),
        (["--in", "x"], r"--in wants NAME=PATH"),
        (["--in", "q=" + path("x.npy")], r"unknown input 'q' \(inputs: x, y\)"),
        (["--in", "x=" + path("x.npy"), "--in", "x=" + path("x.npy")], r"'x' is given twice"),
        (["--in"], r"--in needs a value"),
        (["--dim", "M=3"], r"unknown dim 'M' \(dims: N\)"),
        (["--dim", "N=-1"], r"--dim N: '-1' is not"),
        (["--dim", "N=abc"], r"--dim N: 'abc' is not"),
        (["--bench", "0"], r"--bench wants a positive"),
        (["--bench", "x"], r"--bench wants a positive"),
        (["--threads", "0"], r"--threads wants 1 to"),
        (["--seed", "-3"], r"--seed wants"),
        (["--out-dir"], r"--out-dir needs a value"),
    ]:
        expect(2, args, pattern, f"usage error {args}")

    # ---- output file names
    rc, out, err = run(a.model_names, "--in", "x=" + path("x.npy"), "--in", "y=" + path("y.npy"),
                       "--out-dir", path("names"))
    files = sorted(os.listdir(path("names"))) if os.path.isdir(path("names")) else []
    check(rc == 0 and files == ["_z_0.npy", "_z_0_1.npy"], "output names sanitized, no clash",
          f"{files} {err}")
    if rc == 0 and len(files) == 2:
        check(all(np.array_equal(np.load(path("names/" + f)), want) for f in files),
              "both name variants hold z")

    # ---- random argument vectors (a bounded fuzzing pass over the flags and
    # the .npy reader): each run must end with 0, 1 or 2 and a message for
    # every failure, never with a signal or a sanitizer report
    fuzz_flags(exe, work, path, save, rng, int(a.flag_runs))

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def npy_variants(path, save, rng):
    """Well-formed, wrong and hostile .npy files for --in."""
    files = [save("fx_ok.npy", rng.standard_normal((5, 3)).astype(np.float32)),
             save("fx_wrongdt.npy", np.ones((4, 3), np.float64)),
             save("fx_rank1.npy", np.ones(3, np.float32)),
             save("fx_empty.npy", np.ones((0, 3), np.float32)),
             save("fy_ok.npy", np.array([1, 2, 3], np.int64)),
             save("fy_i32.npy", np.array([1, 2, 3], np.int32))]
    good = open(path("fx_ok.npy"), "rb").read()

    def raw(shape, data=b"\0" * 60, descr="<f4"):
        text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
        text += " " * (63 - (len(text) + 10) % 64) + "\n"
        return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode() + data
    hostile = {
        "fx_trunc.npy": good[:len(good) // 2],
        "fx_long.npy": good + b"\0" * 7,
        "fx_hugeshape.npy": raw("(1099511627776, 1099511627776)"),
        "fx_bigdim.npy": raw("(4611686018427387904, 3)"),
        "fx_overflow.npy": raw("(99999999999999999999, 3)"),
        "fx_neg.npy": raw("(-5, 3)"),
        "fx_n5x4.npy": raw("(5, 4)", b"\0" * 80),
        "fx_descr.npy": raw("(5, 3)", descr="<c8"),
        "fx_garbage.npy": bytes(rng.integers(0, 256, 200, dtype=np.uint8)),
        "fx_zero.npy": b"",
        "fx_magic.npy": b"\x93NUMPY\x03\x00\xff\xff\xff\xff{",
    }
    for name, data in hostile.items():
        with open(path(name), "wb") as f:
            f.write(data)
        files.append(path(name))
    files.append(path("does_not_exist.npy"))
    files.append(os.path.dirname(path("x")))  # a directory, not a file
    return files


def fuzz_flags(exe, work, path, save, rng, runs):
    files = npy_variants(path, save, rng)
    nums = ["0", "1", "2", "3", "-1", "1000", "4096", "1000000001", "99999999999999999999",
            "9223372036854775807", "0x10", "", " 1", "1e3", "nan", "abc", "2=3"]
    def value(flag):
        if flag == "--in":
            name = rng.choice(["x", "y", "z", "", "x=x", "X"])
            return name + "=" + str(rng.choice(files + [""]))
        if flag == "--dim":
            return str(rng.choice(["N", "M", "", "N=N"])) + "=" + str(rng.choice(nums))
        if flag == "--out-dir":
            return str(rng.choice([path("fz_out"), "", path("fx_ok.npy"), "/proc/kiln-nope"]))
        if flag == "--ghz":
            return str(rng.choice(["3.0", "0", "-1", "1e400", "nan", "100", "0.5x"]))
        if flag == "--weights":
            return str(rng.choice([path("fx_ok.npy"), path("does_not_exist.npy"), ""]))
        return str(rng.choice(nums))
    flags = ["--in", "--dim", "--out-dir", "--bench", "--threads", "--seed", "--weights",
             "--ghz", "--profile", "--unknown", "-", "--", "--in=", "--bench="]
    for k in range(runs):
        args = []
        for _ in range(int(rng.integers(0, 6))):
            flag = str(rng.choice(flags))
            if flag.endswith("="):
                args.append(flag + value(flag[:-1]))
            elif flag in ("--profile", "--unknown", "-", "--"):
                args.append(flag)
            elif rng.random() < 0.3:
                args.append(flag + "=" + value(flag))
            else:
                args += [flag, value(flag)] if rng.random() < 0.95 else [flag]
        # keep the runs short: no huge benchmarks or batches
        if any(v in ("1000000001", "99999999999999999999", "9223372036854775807", "4096", "1000")
               for v in args) and "--bench" in " ".join(args):
            continue
        try:
            p = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            check(False, f"random flags {args} finish within 60 s")
            continue
        bad = [m for m in ("AddressSanitizer", "runtime error:", "LeakSanitizer") if m in p.stderr]
        check(p.returncode in (0, 1, 2) and not bad,
              f"random flags {args}: exit {p.returncode} (0, 1 or 2, no sanitizer report)",
              p.stderr[-2000:])
        if p.returncode != 0:
            check("error:" in p.stderr, f"random flags {args}: exit {p.returncode} says why",
                  p.stderr[-500:])


if __name__ == "__main__":
    sys.exit(main())
