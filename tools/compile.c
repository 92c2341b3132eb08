/*
 * compile.c - `kiln compile` and `kiln run`.
 *
 *   kiln compile MODEL [-o OUT] [--emit=KIND] [--target=T] [--cpu=C] [--features=F]
 *                [-O0..3] [--passes=LIST] [--dim NAME=VALUE] [--weights=embed|external]
 *
 * -O sets both the graph pipeline and LLVM's level; --passes=LIST replaces the
 * graph pipeline (after inline-defaults,infer-shapes, which codegen needs) and
 * keeps LLVM's, so one can measure what the graph passes do at equal LLVM level.
 *   kiln run MODEL [compile options] [-- options of the executable]
 *   kiln profile MODEL [compile options] [-- options of the executable]
 *
 * compile loads the model, runs the -O pipeline, lowers it (codegen/lower.h)
 * and emits: obj/asm/llvm through the LLVM backend; so and exe by linking
 * that object with the runtime (libkiln_runtime.a, and kiln_rt_main.o for an
 * executable) using the system C compiler as the linker driver; header (the
 * typed C API); loops (the lowered kernels, for reading). run compiles to a
 * temporary executable and runs it with the options after `--` (--in, --out-dir,
 * --bench, ...: runtime/main.c), then removes it. profile is run with
 * --profile at compile time and --profile handed to the executable: the
 * per-layer report (runtime/profile.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/header.h"
#include "codegen/llvm/llvm.h"
#include "codegen/lower.h"
#include "passes/pass.h"
#include "tools/driver.h"

#ifndef KILN_RUNTIME_DIR
#define KILN_RUNTIME_DIR "."
#endif

enum emit_kind { EMIT_OBJ, EMIT_ASM, EMIT_LLVM, EMIT_SO, EMIT_EXE, EMIT_HEADER, EMIT_LOOPS };

static const char *const emit_names[] = {"obj", "asm", "llvm", "so", "exe", "header", "loops"};

struct compile_opts {
    const char *model, *out;
    bool external_weights;        /* --weights=external: OUT.weights beside the artifact */
    struct kiln_pass_opts passes; /* --stats, --ir-dump-dir, --print-ir-after-all, ... */
    int emit;                     /* -1: from the output's extension */
    int opt_level;
    const char *passes_list; /* --passes: the graph pipeline instead of -O's */
    bool no_winograd;        /* --no-winograd */
    struct kiln_llvm_opts llvm;
};

/* Run argv (no shell); 0 when it exits 0. */
static int
run_program(char *const *argv)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "kiln: error: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static const char *
runtime_dir(void)
{
    const char *e = getenv("KILN_RUNTIME_DIR");
    return e && e[0] ? e : KILN_RUNTIME_DIR;
}

/* Link obj into an executable or shared library with the runtime. */
static int
link_artifact(const char *obj, const char *out, bool exe)
{
    char lib[4096], main_o[4096];
    snprintf(lib, sizeof lib, "%s/libkiln_runtime.a", runtime_dir());
    snprintf(main_o, sizeof main_o, "%s/kiln_rt_main.o", runtime_dir());
    if (access(lib, R_OK) != 0 || (exe && access(main_o, R_OK) != 0)) {
        fprintf(stderr,
                "kiln: error: the runtime is not at %s (libkiln_runtime.a%s); set "
                "KILN_RUNTIME_DIR\n",
                runtime_dir(), exe ? ", kiln_rt_main.o" : "");
        return EXIT_COMPILE;
    }
    const char *cc = getenv("CC");
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)(cc && cc[0] ? cc : "cc");
    if (!exe) {
        argv[n++] = "-shared";
        argv[n++] = "-Wl,-z,nodelete"; /* the runtime's parked workers live in this code */
    }
    argv[n++] = "-o";
    argv[n++] = (char *)out;
    argv[n++] = (char *)obj;
    if (exe)
        argv[n++] = main_o;
    argv[n++] = lib;
    argv[n++] = "-lm";
    argv[n++] = "-lpthread";
#ifdef KILN_LINK_EXTRA
    argv[n++] = KILN_LINK_EXTRA;
#endif
    argv[n] = NULL;
    int rc = run_program(argv);
    if (rc != 0) {
        fprintf(stderr, "kiln: error: linking %s failed (%s exited with %d)\n", out, argv[0], rc);
        return EXIT_COMPILE;
    }
    return EXIT_OK;
}

static int
emit_from_ext(const char *out)
{
    static const struct {
        const char *ext;
        int kind;
    } exts[] = {{".o", EMIT_OBJ}, {".s", EMIT_ASM},    {".ll", EMIT_LLVM},
                {".so", EMIT_SO}, {".h", EMIT_HEADER}, {".loops", EMIT_LOOPS}};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (kiln_has_suffix(out, exts[i].ext))
            return exts[i].kind;
    return EMIT_EXE;
}

/* Default output name: the model's base name without extension, plus one for the kind. */
static char *
default_out(const char *model, int kind)
{
    static const char *const ext[] = {".o", ".s", ".ll", ".so", "", ".h", ".loops"};
    const char *base = strrchr(model, '/');
    base = base ? base + 1 : model;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        n = (size_t)(dot - base);
    char *out = malloc(n + 8);
    if (!out)
        return NULL;
    memcpy(out, base, n);
    strcpy(out + n, ext[kind]);
    return out;
}

/* Parse compile options; returns -1 when parsing succeeded, else an exit code. */
static int
parse_compile_opts(int argc, char **argv, struct compile_opts *co, int *stop)
{
    memset(co, 0, sizeof *co);
    co->emit = -1;
    co->opt_level = 2;
    kiln_llvm_opts_default(&co->llvm);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (stop && strcmp(a, "--") == 0) {
            *stop = i + 1;
            break;
        }
        if (strcmp(a, "-o") == 0) {
            if (++i >= argc)
                return kiln_usage_error("%s", "-o needs a file name");
            co->out = argv[i];
        } else if (strncmp(a, "--emit=", 7) == 0) {
            co->emit = -2;
            for (int k = 0; k < (int)(sizeof emit_names / sizeof emit_names[0]); k++)
                if (strcmp(a + 7, emit_names[k]) == 0)
                    co->emit = k;
            if (co->emit == -2)
                return kiln_usage_error("unknown --emit kind '%s' (obj, asm, llvm, so, exe, "
                                        "header, loops)",
                                        a + 7);
        } else if (strncmp(a, "--weights=", 10) == 0) {
            if (strcmp(a + 10, "external") != 0 && strcmp(a + 10, "embed") != 0)
                return kiln_usage_error("--weights takes embed or external, got '%s'", a + 10);
            co->external_weights = strcmp(a + 10, "external") == 0;
        } else if (strcmp(a, "--stats") == 0) {
            co->passes.stats = true;
        } else if (strncmp(a, "--ir-dump-dir=", 14) == 0) {
            co->passes.ir_dump_dir = a + 14;
        } else if (strcmp(a, "--print-ir-after-all") == 0) {
            co->passes.print_after_all = true;
        } else if (strcmp(a, "--time-passes") == 0) {
            co->passes.time_passes = true;
        } else if (strcmp(a, "--verify-each") == 0) {
            co->passes.verify_each = true;
        } else if (strcmp(a, "--profile") == 0) {
            co->llvm.profile = true;
        } else if (strcmp(a, "--check-bounds") == 0) {
            co->llvm.check_bounds = true;
        } else if (strcmp(a, "--strict-fp") == 0) {
            co->llvm.reassoc = false;
        } else if (strcmp(a, "--no-winograd") == 0) {
            co->no_winograd = true;
        } else if (strncmp(a, "--target=", 9) == 0) {
            co->llvm.triple = a + 9;
        } else if (strncmp(a, "--cpu=", 6) == 0) {
            co->llvm.cpu = a + 6;
        } else if (strncmp(a, "--features=", 11) == 0) {
            co->llvm.features = a + 11;
        } else if (strncmp(a, "--passes=", 9) == 0) {
            co->passes_list = a + 9;
        } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
            co->opt_level = a[2] - '0';
        } else if (strcmp(a, "--dim") == 0) {
            if (++i >= argc || !kiln_dim_binding_add(argv[i]))
                return kiln_usage_error("--dim needs NAME=VALUE, got '%s'",
                                        i < argc ? argv[i] : "");
        } else if (strcmp(a, "--allow-newer-opset") == 0) {
            kiln_load_newer_opset = true;
        } else if (strcmp(a, "--strict-shapes") == 0) {
            kiln_load_strict_shapes = true;
        } else if (a[0] == '-' && a[1]) {
            return kiln_usage_error("compile: unknown option '%s'", a);
        } else if (co->model) {
            return kiln_usage_error("compile: more than one input ('%s')", a);
        } else {
            co->model = a;
        }
    }
    if (!co->model)
        return kiln_usage_error("%s", "compile: no input file");
    co->llvm.opt_level = co->opt_level;
    return -1;
}

/* Load, optimize, lower. Prints diagnostics. */
static int
build_module(const struct compile_opts *co, struct kiln_graph **g, struct kiln_lmodule **m)
{
    struct kiln_diag d;
    kiln_diag_init(&d, co->model);
    enum kiln_status st = kiln_load_input(co->model, g, &d);
    if (st == KILN_OK) {
        struct kiln_pass_opts po = co->passes;
        po.eval = kiln_llvm_eval_graph; /* fold-constants runs the JIT */
        /* codegen needs the defaults inlined and shapes inferred at every level */
        const char *pl = co->opt_level == 0 ? "inline-defaults,infer-shapes"
                                            : kiln_pass_pipeline_for_level(co->opt_level);
        char custom[1024];
        if (co->passes_list) {
            snprintf(custom, sizeof custom, "inline-defaults,infer-shapes%s%s",
                     co->passes_list[0] ? "," : "", co->passes_list);
            pl = custom;
        }
        st = kiln_pass_run_pipeline(*g, pl, &po, &d);
    }
    if (st == KILN_OK) {
        struct kiln_lower_target t; /* the tiles follow the target's vector registers */
        kiln_llvm_vector_shape(&co->llvm, &t);
        t.winograd = t.winograd && !co->no_winograd;
        st = kiln_lower_graph_for(*g, &t, m, &d);
    }
    kiln_diag_print(&d, stderr);
    kiln_diag_fini(&d);
    return st == KILN_OK ? EXIT_OK : EXIT_COMPILE;
}

/* Emit m as `kind` into `out`. */
static int
emit_artifact(const struct compile_opts *co, struct kiln_lmodule *m, int kind, const char *out)
{
    struct kiln_diag d;
    kiln_diag_init(&d, co->model);
    int rc = EXIT_OK;
    if (kind == EMIT_HEADER || kind == EMIT_LOOPS) {
        FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
        if (!f) {
            fprintf(stderr, "%s: error: cannot write: %s\n", out, strerror(errno));
            kiln_diag_fini(&d);
            return EXIT_COMPILE;
        }
        if (kind == EMIT_HEADER)
            rc = kiln_emit_header(m, co->model, co->external_weights, f) == KILN_OK ? EXIT_OK
                                                                                    : EXIT_COMPILE;
        else
            kiln_lmodule_print(m, f);
        if (f != stdout && fclose(f) != 0)
            rc = EXIT_COMPILE;
        kiln_diag_fini(&d);
        return rc;
    }
    struct kiln_llvm_opts lo = co->llvm;
    enum kiln_llvm_emit ek = kind == EMIT_ASM    ? KILN_LLVM_EMIT_ASM
                             : kind == EMIT_LLVM ? KILN_LLVM_EMIT_IR
                                                 : KILN_LLVM_EMIT_OBJ;
    char tmp[] = "/tmp/kiln-XXXXXX.o";
    const char *obj = out;
    if (kind == EMIT_SO || kind == EMIT_EXE) {
        int fd = mkstemps(tmp, 2);
        if (fd < 0) {
            fprintf(stderr, "kiln: error: cannot create a temporary file: %s\n", strerror(errno));
            kiln_diag_fini(&d);
            return EXIT_COMPILE;
        }
        close(fd);
        obj = tmp;
        lo.pic = true;
        lo.exe_entry = kind == EMIT_EXE;
    }
    /* external weights go to OUT.weights; the artifact names the file without its folder */
    char *wpath = NULL;
    if (co->external_weights) {
        wpath = malloc(strlen(out) + 16);
        if (!wpath) {
            kiln_diag_fini(&d);
            return EXIT_COMPILE;
        }
        sprintf(wpath, "%s.weights", out);
        const char *slash = strrchr(wpath, '/');
        lo.weights_path = wpath;
        lo.weights_name = slash ? slash + 1 : wpath;
    }
    enum kiln_status st = kiln_llvm_emit(m, &lo, ek, obj, &d);
    free(wpath);
    kiln_diag_print(&d, stderr);
    kiln_diag_fini(&d);
    if (st != KILN_OK)
        rc = EXIT_COMPILE;
    else if (kind == EMIT_SO || kind == EMIT_EXE)
        rc = link_artifact(obj, out, kind == EMIT_EXE);
    if (obj == tmp)
        unlink(tmp);
    return rc;
}

int
kiln_cmd_compile(int argc, char **argv)
{
    struct compile_opts co;
    int rc = parse_compile_opts(argc, argv, &co, NULL);
    if (rc >= 0)
        return rc;
    int kind = co.emit >= 0 ? co.emit : co.out ? emit_from_ext(co.out) : EMIT_EXE;
    char *def = co.out ? NULL : default_out(co.model, kind);
    const char *out = co.out ? co.out : def;
    struct kiln_graph *g = NULL;
    struct kiln_lmodule *m = NULL;
    rc = build_module(&co, &g, &m);
    if (rc == EXIT_OK)
        rc = emit_artifact(&co, m, kind, out);
    kiln_lmodule_free(m);
    kiln_graph_free(g);
    free(def);
    return rc;
}

/* run and profile: compile to a temporary executable, run it with the options
 * after "--" (profile: compiled with --profile and run with --profile first). */
static int
compile_and_run(int argc, char **argv, bool prof)
{
    struct compile_opts co;
    int stop = argc;
    int rc = parse_compile_opts(argc, argv, &co, &stop);
    if (rc >= 0)
        return rc;
    co.llvm.profile = co.llvm.profile || prof;
    char dir[] = "/tmp/kiln-run-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "kiln: error: cannot create a temporary folder: %s\n", strerror(errno));
        return EXIT_COMPILE;
    }
    char exe[64];
    snprintf(exe, sizeof exe, "%s/model", dir);
    struct kiln_graph *g = NULL;
    struct kiln_lmodule *m = NULL;
    rc = build_module(&co, &g, &m);
    if (rc == EXIT_OK)
        rc = emit_artifact(&co, m, EMIT_EXE, exe);
    kiln_lmodule_free(m);
    kiln_graph_free(g);
    if (rc == EXIT_OK) {
        int n = argc - stop;
        char **args = calloc((size_t)n + 3, sizeof *args);
        if (!args) {
            rc = EXIT_COMPILE;
        } else {
            int a = 0;
            args[a++] = exe;
            if (prof)
                args[a++] = "--profile";
            for (int i = 0; i < n; i++)
                args[a++] = argv[stop + i];
            int r = run_program(args);
            rc = r == 0 ? EXIT_OK : r == 2 ? EXIT_USAGE : EXIT_COMPILE;
            free(args);
        }
    }
    unlink(exe);
    rmdir(dir);
    return rc;
}

int
kiln_cmd_run(int argc, char **argv)
{
    return compile_and_run(argc, argv, false);
}

int
kiln_cmd_profile(int argc, char **argv)
{
    return compile_and_run(argc, argv, true);
}
