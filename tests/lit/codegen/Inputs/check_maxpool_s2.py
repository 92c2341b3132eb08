#!/usr/bin/env python3
"""check_maxpool_s2.py IN OUT: kiln's y1..y3 against the 3x3 stride-2 maximum
computed here, bit for bit: NaN inputs are passed over (a window of NaNs only
gives -inf) and a tie keeps the first value in row-major tap order (so the
sign of a zero follows it)."""
import os
import sys

import numpy as np

ind, outd = sys.argv[1], sys.argv[2]
bad = 0
for k in "123":
    x = np.load(os.path.join(ind, "x%s.npy" % k))
    y = np.load(os.path.join(outd, "y%s.npy" % k))
    n, c, hh, ww = x.shape
    oh, ow = (hh - 3) // 2 + 1, (ww - 3) // 2 + 1
    ref = np.empty((n, c, oh, ow), np.float32)
    for a in range(n):
        for b in range(c):
            for i in range(oh):
                for j in range(ow):
                    m = np.float32(-np.inf)
                    for v in x[a, b, 2 * i:2 * i + 3, 2 * j:2 * j + 3].reshape(-1):
                        if v > m:
                            m = v
                    ref[a, b, i, j] = m
    same = (ref.view(np.uint32) == y.view(np.uint32)).all()
    print("y%s: %s %s" % (k, list(y.shape), "ok" if same else "MISMATCH"))
    bad += not same
sys.exit(1 if bad else 0)
