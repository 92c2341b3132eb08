#!/usr/bin/env python3
"""expect_exit.py CODE CMD...: run CMD, succeed iff it exits with CODE (lit has no $?)."""
import subprocess, sys
want = int(sys.argv[1])
rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
if rc != want:
    print(f"expected exit status {want}, got {rc}: {' '.join(sys.argv[2:])}")
    sys.exit(1)
