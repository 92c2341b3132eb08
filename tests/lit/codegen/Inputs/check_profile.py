#!/usr/bin/env python3
"""check_profile.py REPORT: the per-layer shares of a kiln profile report add
up to 100% (within rounding), the layer times to the 'layers' total, and each
GFLOP/s figure is MFLOP / ms."""
import re
import sys

text = open(sys.argv[1]).read()
rows = []
for line in text.splitlines():
    m = re.match(r"\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+([0-9.]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+([0-9.]+)%\s+(\S+)(?:\s.*)?$", line)
    if m:
        rows.append(m.groups())
assert rows, "no layer rows"
share = sum(float(r[10]) for r in rows)
assert abs(share - 100.0) < 0.1 * len(rows), "shares add up to %.2f%%" % share
total = float(re.search(r"\(layers ([0-9.]+) ms", text).group(1))
ms = sum(float(r[6]) for r in rows)
assert abs(ms - total) <= 1e-4 * len(rows) + 1e-3 * total, "layer times %.4f vs total %.4f" % (ms, total)
for r in rows:
    mflop, t, gf = r[4], float(r[6]), r[7]
    if mflop != "-" and t > 0.01:
        want = float(mflop) / t  # MFLOP per ms is GFLOP/s
        tol = want * (0.005 / max(float(mflop), 0.005) + 0.0005 / t + 0.01) + 0.01  # print rounding
        assert abs(float(gf) - want) <= tol, "layer %s: %s GFLOP/s, want %.2f" % (r[1], gf, want)
print("ok: %d layers, shares %.1f%%" % (len(rows), share))
