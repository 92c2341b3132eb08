/*
 * kiln.c - the command-line driver.
 *
 *   kiln inspect MODEL            what a model is: I/O, opsets, op histogram, parameters, FLOPs
 *   kiln opt MODEL|FILE.kir ...   run a pass pipeline and print the text IR
 *   kiln ops [--markdown]         the op table (docs/ops.md is generated from it)
 *
 * Exit codes: 0 success, 1 the input could not be compiled (diagnostics on
 * stderr), 2 bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/llvm.h"
#include "codegen/lower.h"
#include "frontend/onnx.h"
#include "ir/ir.h"
#include "ir/text.h"
#include "passes/pass.h"
#include "tools/driver.h"

#ifndef KILN_VERSION
#define KILN_VERSION "0.0.0"
#endif

static const char usage_text[] =
    "usage: kiln <command> [options]\n"
    "\n"
    "commands:\n"
    "  inspect MODEL            inputs, outputs, opsets, op histogram, parameters, FLOPs\n"
    "  opt INPUT [options]      run a pass pipeline on an .onnx or .kir file, print .kir\n"
    "  ops [--markdown]         list the operators kiln knows\n"
    "  compile MODEL [options]  compile to an object, library, executable, header, ...\n"
    "  run MODEL [options] [-- RUN-OPTIONS]\n"
    "                           compile to a temporary executable and run it\n"
    "  profile MODEL [options] [-- RUN-OPTIONS]\n"
    "                           the same, timing every layer: per layer op, shape,\n"
    "                           FLOPs, bytes, time, GFLOP/s, GB/s, % of peak, share,\n"
    "                           roofline bound; totals (RUN-OPTIONS: --bench N runs,\n"
    "                           --threads T, --ghz G)\n"
    "\n"
    "options of inspect and opt:\n"
    "  --dim NAME=VALUE         bind a symbolic dim (e.g. the batch N) to a value\n"
    "  --strict-shapes          a declared shape (value_info, graph output) that shape\n"
    "                           inference contradicts is an error (default: a warning\n"
    "                           naming both, and the inferred shape is used)\n"
    "  --allow-newer-opset      load a model importing an ai.onnx/ai.onnx.ml opset newer\n"
    "                           than kiln's newest (28/5), its ops read as the newest's\n"
    "                           (a warning instead of an error; compile takes it too)\n"
    "\n"
    "options of opt:\n"
    "  -o FILE                  write the IR to FILE instead of stdout\n"
    "  --passes=LIST            comma-separated pass pipeline (default: none)\n"
    "  -O0 .. -O3               a named pipeline\n"
    "  --print-ir-after-all     print the IR after every pass (to stderr)\n"
    "  --print-ir-after=NAMES   print the IR after the named passes\n"
    "  --print-ir-before=NAMES  print the IR before the named passes\n"
    "  --verify-each            run the verifier after every pass\n"
    "  --time-passes            print the time each pass took\n"
    "  --stats                  per pass: nodes before and after, and what it changed\n"
    "  --ir-dump-dir=DIR        write the IR before the first pass and after each one to\n"
    "                           DIR/NN-PASS.kir (diff consecutive files to see a pass)\n"
    "  --weights-file=FILE      write constants larger than --inline-limit to FILE and\n"
    "                           refer to it by file name (keep it beside the .kir);\n"
    "                           without it they are elided to size and checksum\n"
    "  --inline-limit=N         print constants of at most N elements inline (default 16)\n"
    "  --split-input-file       a .kir holding cases separated by '// -----' lines:\n"
    "                           compile each on its own (for tests)\n"
    "  --list-passes            list the passes and exit\n"
    "\n"
    "options of compile (and run):\n"
    "  -o FILE                  output; its extension picks --emit (.o .s .ll .h .so, else exe)\n"
    "  --emit=KIND              obj, asm, llvm, so, exe, header, loops (the lowered kernels)\n"
    "  --target=TRIPLE          cross compile (default: the host)\n"
    "  --cpu=NAME --features=F  target CPU and features (default: the host's)\n"
    "  -O0 .. -O3               optimization level (default -O2)\n"
    "  --passes=LIST            graph passes instead of the level's (LLVM keeps the level)\n"
    "  --stats, --ir-dump-dir=DIR, --print-ir-after-all, --time-passes, --verify-each\n"
    "                           as for opt, on the compile pipeline\n"
    "  --dim NAME=VALUE         fix a symbolic dim at compile time\n"
    "  --check-bounds           check every load and store of the generated code against\n"
    "                           its buffer; a violation stops the run with an error naming\n"
    "                           the kernel, the buffer and the index (slow: for testing)\n"
    "  --strict-fp              evaluate float sums in program order (no reassociation\n"
    "                           or FMA contraction, no Winograd; slower, bit-reproducible)\n"
    "  --no-winograd            compute 3x3 convolutions directly, not by Winograd's\n"
    "                           transforms (whose rounding differs from the direct sum's)\n"
    "  --profile                time every layer (the executable's --profile prints it)\n"
    "  --weights=external       write the weights to OUT.weights instead of embedding them\n"
    "                           (the run function then takes them as one more input)\n"
    "\n"
    "  --help                   this text\n"
    "  --version                the version\n"
    "\n"
    "exit status: 0 ok, 1 compile error, 2 usage error\n";

int
kiln_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "kiln: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nrun 'kiln --help' for usage\n");
    return EXIT_USAGE;
}

bool
kiln_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Symbolic dims bound on the command line (--dim N=1), applied after loading. */
struct dim_binding {
    const char *name;
    int64_t value;
};
static struct dim_binding dim_bindings[32];
static int n_dim_bindings;

/* Parse NAME=VALUE of --dim; false on a malformed binding. */
bool
kiln_dim_binding_add(const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || n_dim_bindings == 32)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(eq + 1, &end, 10);
    if (errno || *end || v < 0 || end == eq + 1)
        return false;
    static char names[32][64];
    size_t len = (size_t)(eq - spec);
    if (len >= sizeof names[0])
        return false;
    memcpy(names[n_dim_bindings], spec, len);
    names[n_dim_bindings][len] = 0;
    dim_bindings[n_dim_bindings].name = names[n_dim_bindings];
    dim_bindings[n_dim_bindings].value = v;
    n_dim_bindings++;
    return true;
}

static enum kiln_status
apply_dim_bindings(struct kiln_graph *g, struct kiln_diag *d)
{
    if (!n_dim_bindings)
        return KILN_OK;
    for (int i = 0; i < n_dim_bindings; i++) {
        const char *name = dim_bindings[i].name;
        if (kiln_graph_bind_dim(g, name, dim_bindings[i].value) != 0)
            continue;
        /* INPUT:AXIS names the symbol at that axis of a graph input, whatever its name */
        const char *colon = strrchr(name, ':');
        const char *sym = NULL;
        if (colon && colon[1]) {
            char *end;
            long ax = strtol(colon + 1, &end, 10);
            for (int32_t k = 0; !*end && ax >= 0 && k < g->n_inputs && !sym; k++) {
                const struct kiln_value *v = g->values[g->inputs[k]];
                if (strlen(v->name) == (size_t)(colon - name) &&
                    memcmp(v->name, name, (size_t)(colon - name)) == 0 && ax < v->type.rank) {
                    struct kiln_dim dm = v->type.dims[ax];
                    if (dm.sym && dm.n == 1 && !kiln_dim_is_expr(dm) &&
                        !strchr(dm.sym, KILN_DIM_SEP))
                        sym = dm.sym;
                    else {
                        kiln_diag_error(d, "--dim %s: axis %ld of input '%s' is not a symbolic dim",
                                        name, ax, v->name);
                        return KILN_ERR_INVALID;
                    }
                }
            }
        }
        if (!sym || kiln_graph_bind_dim(g, sym, dim_bindings[i].value) == 0) {
            kiln_diag_error(d, "--dim %s: the model has no symbolic dim named '%s'", name, name);
            return KILN_ERR_INVALID;
        }
    }
    return kiln_graph_infer_shapes(g, d);
}

/* Verify a parsed .kir graph and apply the --dim bindings; frees it on failure. */
static enum kiln_status
finish_load(enum kiln_status st, struct kiln_graph **g, struct kiln_diag *d, bool verify)
{
    if (st == KILN_OK && verify)
        st = kiln_graph_verify(*g, d);
    if (st == KILN_OK)
        st = apply_dim_bindings(*g, d);
    if (st != KILN_OK) {
        kiln_graph_free(*g);
        *g = NULL;
    }
    return st;
}

bool kiln_load_newer_opset;
bool kiln_load_strict_shapes;

/* Load an .onnx or .kir file (a .kir is verified: it may be hand-written). */
enum kiln_status
kiln_load_input(const char *path, struct kiln_graph **g, struct kiln_diag *d)
{
    if (kiln_has_suffix(path, ".kir"))
        return finish_load(kiln_graph_parse_file(path, g, d), g, d, true);
    struct kiln_onnx_opts oo = {.allow_newer_opset = kiln_load_newer_opset,
                                .strict_shapes = kiln_load_strict_shapes};
    return finish_load(kiln_onnx_load_file(path, &oo, g, d), g, d, false);
}

/* ---------------------------------------------------------------- inspect */

static void
print_type(FILE *f, const struct kiln_type *t)
{
    char buf[8192];
    kiln_type_format(t, buf, sizeof buf); /* as the .kir printer writes it */
    fputs(buf, f);
}

static void
print_count(FILE *f, double x, const char *unit)
{
    const char *prefix[] = {"", "K", "M", "G", "T", "P"};
    int k = 0;
    while (x >= 1000 && k < 5) {
        x /= 1000;
        k++;
    }
    fprintf(f, k ? "%.2f %s%s" : "%.0f %s%s", x, prefix[k], unit);
}

static int
cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: kiln inspect MODEL [--dim NAME=VALUE ...] [--allow-newer-opset]\n");
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--dim") == 0) {
            if (++i >= argc || !kiln_dim_binding_add(argv[i]))
                return kiln_usage_error("--dim needs NAME=VALUE, got '%s'",
                                        i < argc ? argv[i] : "");
            continue;
        }
        if (strcmp(argv[i], "--allow-newer-opset") == 0) {
            kiln_load_newer_opset = true;
            continue;
        }
        if (strcmp(argv[i], "--strict-shapes") == 0) {
            kiln_load_strict_shapes = true;
            continue;
        }
        if (argv[i][0] == '-')
            return kiln_usage_error("inspect: unknown option '%s'", argv[i]);
        if (path)
            return kiln_usage_error("inspect: more than one input ('%s')", argv[i]);
        path = argv[i];
    }
    if (!path)
        return kiln_usage_error("%s", "inspect: no input file");
    struct kiln_diag d;
    kiln_diag_init(&d, path);
    struct kiln_graph *g = NULL;
    enum kiln_status st = kiln_load_input(path, &g, &d);
    kiln_diag_print(&d, stderr);
    kiln_diag_fini(&d);
    if (st != KILN_OK)
        return EXIT_COMPILE;

    printf("model: %s\n", path);
    printf("ir_version: %" PRId64 "\n", g->ir_version);
    if (g->producer && g->producer[0])
        printf("producer: %s\n", g->producer);
    printf("opsets:");
    for (int32_t i = 0; i < g->n_opsets; i++)
        printf("%s %s %" PRId64, i ? "," : "",
               g->opsets[i].domain[0] ? g->opsets[i].domain : "ai.onnx", g->opsets[i].version);
    printf("\n");
    printf("inputs:\n");
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const struct kiln_value *v = g->values[g->inputs[i]];
        printf("  %-24s ", v->name);
        print_type(stdout, &v->type);
        printf("%s\n", v->data ? "  (has a default)" : "");
    }
    printf("outputs:\n");
    for (int32_t i = 0; i < g->n_outputs; i++) {
        const struct kiln_value *v = g->values[g->outputs[i]];
        printf("  %-24s ", v->name);
        print_type(stdout, &v->type);
        printf("\n");
    }
    struct kiln_graph_stats *s = calloc(1, sizeof *s);
    if (!s) {
        kiln_graph_free(g);
        return EXIT_COMPILE;
    }
    kiln_graph_stats(g, s);
    printf("nodes: %" PRId64 "\n", s->nodes);
    printf("ops:\n");
    /* most frequent first, then by name */
    for (;;) {
        int best = -1;
        for (int op = 0; op < KILN_OP_COUNT; op++)
            if (s->op_count[op] > 0 && (best < 0 || s->op_count[op] > s->op_count[best]))
                best = op;
        if (best < 0)
            break;
        printf("  %-24s %" PRId64 "\n", kiln_op_name((enum kiln_op)best), s->op_count[best]);
        s->op_count[best] = 0;
    }
    printf("parameters: %" PRId64 " (", s->params);
    print_count(stdout, (double)s->param_bytes, "B");
    printf(")\n");
    printf("flops: ");
    print_count(stdout, (double)(s->flops > 0 ? s->flops : 0), "FLOP");
    if (s->flops_unknown_nodes)
        printf(" (plus %" PRId64 " nodes whose count depends on symbolic dims)",
               s->flops_unknown_nodes);
    printf("\n");
    free(s);
    kiln_graph_free(g);
    return EXIT_OK;
}

/* ---------------------------------------------------------------- opt */

struct opt_job {
    const char *path, *pipeline;
    struct kiln_pass_opts *po;
    struct kiln_print_opts *pr;
    FILE *out;
};

/*
 * Load one input (the file, or with text != NULL one chunk of a split .kir
 * file, preceded by `line` - 1 newlines so diagnostics carry the file's own
 * line numbers), run the pipeline, print the IR. Returns an exit code.
 */
static int
opt_one(struct opt_job *job, const char *text, size_t len, int line)
{
    struct kiln_diag d;
    kiln_diag_init(&d, job->path);
    struct kiln_graph *g = NULL;
    enum kiln_status st;
    if (text) {
        size_t pad = (size_t)(line - 1), n = pad + len;
        char *buf = malloc(n ? n : 1);
        if (!buf) {
            kiln_diag_error(&d, "out of memory");
            st = KILN_ERR_NOMEM;
        } else {
            memset(buf, '\n', pad);
            memcpy(buf + pad, text, len);
            st = finish_load(kiln_graph_parse(buf, n, job->path, &g, &d), &g, &d, true);
            free(buf);
        }
    } else {
        st = kiln_load_input(job->path, &g, &d);
    }
    if (st == KILN_OK)
        st = kiln_pass_run_pipeline(g, job->pipeline, job->po, &d);
    kiln_diag_print(&d, stderr);
    kiln_diag_fini(&d);
    if (st == KILN_OK && kiln_graph_print(g, job->out, job->pr) != KILN_OK) {
        fprintf(stderr, "kiln: error: writing the IR failed\n");
        st = KILN_ERR_IO;
    }
    kiln_graph_free(g);
    return st == KILN_OK ? EXIT_OK : EXIT_COMPILE;
}

static bool
is_split_marker(const char *line, const char *end)
{
    while (line < end && (*line == ' ' || *line == '\t'))
        line++;
    return end - line >= 8 && memcmp(line, "// -----", 8) == 0;
}

/*
 * --split-input-file, as in mlir-opt: the .kir file holds several cases
 * separated by lines starting with "// -----"; each is loaded and compiled on
 * its own, a failing case does not stop the others, and the outputs are
 * separated by the same marker.
 */
static int
opt_split(struct opt_job *job)
{
    FILE *f = fopen(job->path, "rb");
    if (!f) {
        fprintf(stderr, "%s: error: cannot open: %s\n", job->path, strerror(errno));
        return EXIT_COMPILE;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                fprintf(stderr, "%s: error: out of memory\n", job->path);
                return EXIT_COMPILE;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    bool read_err = ferror(f);
    fclose(f);
    if (read_err) {
        free(buf);
        fprintf(stderr, "%s: error: read failed\n", job->path);
        return EXIT_COMPILE;
    }
    int rc = EXIT_OK, line = 1, chunk_line = 1, n_chunks = 0;
    const char *chunk = buf, *end = buf + len;
    for (const char *p = buf; p <= end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if (p == end || is_split_marker(p, eol ? eol : end)) {
            if (n_chunks++)
                fputs("// -----\n", job->out);
            if (opt_one(job, chunk, (size_t)(p - chunk), chunk_line) != EXIT_OK)
                rc = EXIT_COMPILE;
            chunk = next;
            chunk_line = line + 1;
            if (p == end)
                break;
        }
        line++;
        p = next;
    }
    free(buf);
    return rc;
}

static const char *
opt_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int
cmd_opt(int argc, char **argv)
{
    const char *path = NULL, *out_path = NULL, *weights_path = NULL, *pipeline = NULL;
    bool split = false;
    struct kiln_pass_opts po = {.eval = kiln_llvm_eval_graph}; /* fold-constants runs the JIT */
    struct kiln_print_opts pr;
    kiln_print_opts_default(&pr);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--list-passes") == 0) {
            for (const struct kiln_pass_info *p = kiln_pass_table; p->name; p++)
                printf("%-20s %s\n", p->name, p->summary);
            return EXIT_OK;
        } else if (strcmp(a, "-o") == 0) {
            if (++i >= argc)
                return kiln_usage_error("%s", "-o needs a file name");
            out_path = argv[i];
        } else if ((v = opt_value(a, "--passes"))) {
            pipeline = v;
        } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
            pipeline = kiln_pass_pipeline_for_level(a[2] - '0');
        } else if (strcmp(a, "--print-ir-after-all") == 0) {
            po.print_after_all = true;
        } else if ((v = opt_value(a, "--print-ir-after"))) {
            po.print_after = v;
        } else if ((v = opt_value(a, "--print-ir-before"))) {
            po.print_before = v;
        } else if (strcmp(a, "--dim") == 0) {
            if (++i >= argc || !kiln_dim_binding_add(argv[i]))
                return kiln_usage_error("--dim needs NAME=VALUE, got '%s'",
                                        i < argc ? argv[i] : "");
        } else if (strcmp(a, "--split-input-file") == 0) {
            split = true;
        } else if (strcmp(a, "--allow-newer-opset") == 0) {
            kiln_load_newer_opset = true;
        } else if (strcmp(a, "--strict-shapes") == 0) {
            kiln_load_strict_shapes = true;
        } else if (strcmp(a, "--verify-each") == 0) {
            po.verify_each = true;
        } else if (strcmp(a, "--time-passes") == 0) {
            po.time_passes = true;
        } else if (strcmp(a, "--stats") == 0) {
            po.stats = true;
        } else if ((v = opt_value(a, "--ir-dump-dir"))) {
            po.ir_dump_dir = v;
        } else if ((v = opt_value(a, "--weights-file"))) {
            weights_path = v;
        } else if ((v = opt_value(a, "--inline-limit"))) {
            char *end;
            errno = 0;
            long long k = strtoll(v, &end, 10);
            if (errno || *end || k < 0)
                return kiln_usage_error("--inline-limit needs a count, got '%s'", v);
            pr.inline_limit = k;
        } else if (a[0] == '-' && a[1]) {
            return kiln_usage_error("opt: unknown option '%s'", a);
        } else if (path) {
            return kiln_usage_error("opt: more than one input ('%s')", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return kiln_usage_error("%s", "opt: no input file");

    if (split && !kiln_has_suffix(path, ".kir"))
        return kiln_usage_error("--split-input-file needs a .kir input, got '%s'", path);

    FILE *out = stdout, *wf = NULL;
    if (out_path && !(out = fopen(out_path, "w"))) {
        fprintf(stderr, "%s: error: cannot write: %s\n", out_path, strerror(errno));
        return EXIT_COMPILE;
    }
    if (weights_path) {
        if (!(wf = fopen(weights_path, "wb"))) {
            fprintf(stderr, "%s: error: cannot write: %s\n", weights_path, strerror(errno));
            if (out != stdout)
                fclose(out);
            return EXIT_COMPILE;
        }
        const char *base = strrchr(weights_path, '/');
        pr.weights = wf;
        pr.weights_name = base ? base + 1 : weights_path;
    }
    struct opt_job job = {path, pipeline, &po, &pr, out};
    int rc = split ? opt_split(&job) : opt_one(&job, NULL, 0, 0);
    bool io_fail = false;
    if (wf && fclose(wf) != 0)
        io_fail = true;
    if (out != stdout ? fclose(out) != 0 : fflush(stdout) != 0)
        io_fail = true;
    if (io_fail) {
        fprintf(stderr, "kiln: error: writing the IR failed\n");
        rc = EXIT_COMPILE;
    }
    return rc;
}

/* ---------------------------------------------------------------- ops */

static void
arity(char *buf, size_t n, int lo, int hi)
{
    if (hi < 0)
        snprintf(buf, n, "%d+", lo);
    else if (lo == hi)
        snprintf(buf, n, "%d", lo);
    else
        snprintf(buf, n, "%d-%d", lo, hi);
}

static int
cmd_ops(int argc, char **argv)
{
    bool md = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--markdown") == 0)
            md = true;
        else
            return kiln_usage_error("ops: unknown option '%s'", argv[i]);
    }
    static const char *const flag_names[] = {"elementwise", "commutative", "broadcast", "quantized",
                                             "control",     "random",      "fused"};
    int n_cpu = 0;
    for (int op = 0; op < KILN_OP_COUNT; op++)
        n_cpu += kiln_lower_supports((enum kiln_op)op);
    if (md) {
        printf("# Operators\n\n"
               "Generated by `kiln ops --markdown` from the op table (`ir/ops.def`); do not edit.\n"
               "Every op listed has type and shape inference for all of its ONNX opset versions.\n"
               "The cpu column says whether the LLVM CPU backend compiles it "
               "(`codegen/lower_*.def`).\n\n"
               "%d ops, %d compiled for the CPU.\n\n"
               "| op | domain | inputs | outputs | properties | cpu |\n"
               "| --- | --- | --- | --- | --- | --- |\n",
               KILN_OP_COUNT, n_cpu);
    }
    for (int op = 0; op < KILN_OP_COUNT; op++) {
        const struct kiln_op_info *info = kiln_op_info((enum kiln_op)op);
        char in[16], out[16], flags[128] = "";
        arity(in, sizeof in, info->min_in, info->max_in);
        arity(out, sizeof out, info->min_out, info->max_out);
        for (unsigned b = 0; b < sizeof flag_names / sizeof flag_names[0]; b++) {
            if (info->flags & (1u << b)) {
                strcat(flags, flags[0] ? ", " : "");
                strcat(flags, flag_names[b]);
            }
        }
        bool cpu = kiln_lower_supports((enum kiln_op)op);
        if (md)
            printf("| %s | %s | %s | %s | %s | %s |\n", info->name, kiln_domain_name(info->domain),
                   in, out, flags, cpu ? "yes" : "");
        else
            printf("%-28s %-8s in %-5s out %-5s %-4s %s\n", info->name,
                   kiln_domain_name(info->domain), in, out, cpu ? "cpu" : "", flags);
    }
    return EXIT_OK;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("kiln %s (LLVM 19, CUDA %s)\n", KILN_VERSION, KILN_HAVE_CUDA ? "on" : "off");
        return EXIT_OK;
    }
    if (strcmp(cmd, "inspect") == 0)
        return cmd_inspect(argc - 2, argv + 2);
    if (strcmp(cmd, "opt") == 0)
        return cmd_opt(argc - 2, argv + 2);
    if (strcmp(cmd, "ops") == 0)
        return cmd_ops(argc - 2, argv + 2);
    if (strcmp(cmd, "compile") == 0)
        return kiln_cmd_compile(argc - 2, argv + 2);
    if (strcmp(cmd, "run") == 0)
        return kiln_cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "profile") == 0)
        return kiln_cmd_profile(argc - 2, argv + 2);
    return kiln_usage_error("unknown command '%s'", cmd);
}
