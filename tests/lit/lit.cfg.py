# lit suite configuration for kiln: .kir and .test files, run with the
# substitutions below. The build's lit.site.cfg.py is passed as
# --param kiln_site=PATH (ctest does this).
import os
import shutil
import lit.formats

config.name = "kiln"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".kir", ".test"]
config.excludes = ["Inputs", "make_bad_models.py"]
config.test_source_root = os.path.dirname(__file__)

site = lit_config.params.get("kiln_site")
if not site:
    lit_config.fatal("run through ctest, or pass --param kiln_site=BUILD/tests/lit/lit.site.cfg.py")
exec(open(site).read())  # sets config.kiln_bin, config.filecheck, ...

config.test_exec_root = os.path.join(config.kiln_build, "tests", "lit-out")
config.substitutions.append(("%expect_exit", config.python + " " + os.path.join(config.test_source_root, "Inputs", "expect_exit.py")))
config.substitutions.append(("%kiln", config.kiln_bin))
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%src", config.kiln_source))
config.substitutions.append(("%runtime", os.path.join(config.kiln_build, "runtime")))
config.substitutions.append(("%cflags_san", "-fsanitize=address,undefined" if config.sanitize in ("ON", "1", "TRUE") else ""))
config.environment["PATH"] = os.pathsep.join([config.llvm_bin, config.environment.get("PATH", os.environ.get("PATH", ""))])
for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "HOME", "PYTHONPATH", "KILN_ARENA_DEBUG"):
    if k in os.environ:
        config.environment[k] = os.environ[k]

# aarch64 executables run under qemu-user (NEON code paths; codegen/neon.test):
# the cross compiler, its libc and qemu-aarch64 (tools/setup.sh installs them)
if (shutil.which("qemu-aarch64") and shutil.which("aarch64-linux-gnu-gcc")
        and os.path.isdir("/usr/aarch64-linux-gnu")):
    config.available_features.add("aarch64-qemu")
