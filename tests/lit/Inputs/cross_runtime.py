#!/usr/bin/env python3
"""cross_runtime.py SRC OUT CC: the runtime library an artifact links
(libkiln_runtime.a and kiln_rt_main.o, as runtime/CMakeLists.txt builds them)
compiled by the cross compiler CC into OUT, for `kiln compile --target=...`
with KILN_RUNTIME_DIR=OUT and CC=CC. The sources are the ones
runtime/CMakeLists.txt lists in KILN_RUNTIME_SOURCES."""
import os
import re
import subprocess
import sys

src, out, cc = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
cmake = open(os.path.join(src, "runtime", "CMakeLists.txt")).read()
names = re.search(r"set\(KILN_RUNTIME_SOURCES ([^)]*)\)", cmake).group(1).split()
flags = ["-O2", "-fPIC", "-std=c11", "-I" + src]
objs = []
for n in names:
    o = os.path.join(out, n.replace(".c", ".o"))
    subprocess.run([cc] + flags + ["-c", os.path.join(src, "runtime", n), "-o", o], check=True)
    objs.append(o)
ar = cc[:-3] + "ar" if cc.endswith("gcc") else "ar"
lib = os.path.join(out, "libkiln_runtime.a")
if os.path.exists(lib):
    os.remove(lib)
subprocess.run([ar, "rcs", lib] + objs, check=True)
subprocess.run([cc] + flags + ["-c", os.path.join(src, "runtime", "main.c"), "-o",
                               os.path.join(out, "kiln_rt_main.o")], check=True)
