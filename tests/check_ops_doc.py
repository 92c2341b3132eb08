#!/usr/bin/env python3
"""Fail when docs/ops.md differs from `kiln ops --markdown` (the op table is the source)."""
import subprocess, sys
kiln, doc = sys.argv[1], sys.argv[2]
want = subprocess.run([kiln, "ops", "--markdown"], check=True, capture_output=True, text=True).stdout
have = open(doc).read() if __import__("os").path.exists(doc) else ""
if want != have:
    print(f"{doc} is stale: regenerate with `kiln ops --markdown > docs/ops.md`")
    sys.exit(1)
print("docs/ops.md matches the op table")
