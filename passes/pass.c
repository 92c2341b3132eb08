/*
 * pass.c - the pass table and the pipeline runner.
 *
 * The optimization passes proper (canonicalization, fusion, precision,
 * memory) arrive with their own files; this file holds the manager and the
 * two passes every pipeline can use from the start: re-running shape
 * inference and the verifier.
 */
#include "pass.h"

#include <string.h>
#include <time.h>

#include "../ir/text.h"

const struct kiln_pass_info kiln_pass_table[] = {
    {"infer-shapes", kiln_pass_infer_shapes, "re-run type and shape inference"},
    {"verify", kiln_pass_verify, "check the IR's invariants"},
    {"inline-defaults", kiln_pass_inline_defaults,
     "turn graph inputs with a default (initializers listed as inputs) into constants"},
    {"canonicalize", kiln_pass_canonicalize,
     "local simplifications to a fixed point: no-op removal, cancelling pairs, x*1, x+0"},
    {"cse", kiln_pass_cse, "merge identical nodes and identical constants"},
    {"fold-shapes", kiln_pass_fold_shapes,
     "replace results whose integer contents inference knows (shape arithmetic) by constants"},
    {"fold-constants", kiln_pass_fold_constants,
     "compute nodes whose operands are all constants at compile time (with the compiled code "
     "itself, through the driver's evaluator)"},
    {"fuse-conv-bn", kiln_pass_fuse_conv_bn,
     "fold an inference BatchNormalization into the Conv/ConvTranspose before it"},
    {"fuse-patterns", kiln_pass_fuse_patterns,
     "decomposed GELU, LayerNormalization and Softmax (as exporters write them) become the "
     "one op each computes"},
    {"fuse-attention", kiln_pass_fuse_attention,
     "MatMul-scale-mask-Softmax-MatMul over 4-D operands becomes one Attention op"},
    {"fuse", kiln_pass_fuse,
     "fuse Conv/Gemm/MatMul with the elementwise ops after them (epilogues), and elementwise "
     "ops with each other, into kiln.Fused nodes compiled as one kernel each"},
    {"dce", kiln_pass_dce, "remove nodes and constants nothing uses"},
    {NULL, NULL, NULL},
};

/* -O2 and -O3: canonicalize before the folds and fusions (they match canonical
 * forms) and again after fuse-attention (the Transposes it adds cancel) */
#define KILN_PIPELINE_O2                                                                           \
    "inline-defaults,infer-shapes,fold-shapes,canonicalize,cse,fold-constants,fuse-conv-bn,"       \
    "fuse-patterns,fuse-attention,canonicalize,dce,fuse"

static const char *const level_pipelines[4] = {
    "",                             /* -O0 */
    "inline-defaults,infer-shapes", /* -O1 */
    KILN_PIPELINE_O2,               /* -O2 */
    KILN_PIPELINE_O2,               /* -O3 */
};

const struct kiln_pass_order kiln_pass_orders[] = {
    {"infer-shapes", "fold-shapes", "fold-shapes reads the known values inference computes"},
    {"canonicalize", "fold-constants",
     "a CastLike of a constant to an input's type is a constant only once canonicalize has "
     "removed the no-op cast"},
    {"fold-constants", "fuse-patterns",
     "patterns match constants (sqrt(2), epsilon) that exporters compute from other constants"},
    {"fuse-conv-bn", "fuse",
     "fuse takes the Conv into an epilogue group and leaves the BatchNormalization (not "
     "elementwise) behind"},
    {"fuse-patterns", "fuse-attention",
     "attention matches a Softmax op, which fuse-patterns makes of a decomposed one"},
    {"fuse-attention", "fuse", "fuse would take the attention's MatMuls as anchors of epilogues"},
    {"fuse-patterns", "fuse",
     "fuse swallows a decomposed GELU or LayerNorm into elementwise groups the patterns no "
     "longer see"},
    {NULL, NULL, NULL},
};

/* Position of the first `name` in pipeline at or after token index `from`, or -1. */
static int
pipeline_find(const char *pipeline, const char *name, int from)
{
    size_t len = strlen(name);
    int idx = 0;
    for (const char *p = pipeline; *p; idx++) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (idx >= from && n == len && memcmp(p, name, n) == 0)
            return idx;
        if (!e)
            break;
        p = e + 1;
    }
    return -1;
}

const struct kiln_pass_order *
kiln_pass_pipeline_check(const char *pipeline)
{
    if (!pipeline)
        return NULL;
    for (const struct kiln_pass_order *o = kiln_pass_orders; o->before; o++) {
        int b = pipeline_find(pipeline, o->before, 0);
        int a = pipeline_find(pipeline, o->after, 0);
        if (b >= 0 && a >= 0 && a < b)
            return o;
    }
    return NULL;
}

const char *
kiln_pass_pipeline_for_level(int level)
{
    return level >= 0 && level <= 3 ? level_pipelines[level] : NULL;
}

const struct kiln_pass_info *
kiln_pass_find(const char *name)
{
    for (const struct kiln_pass_info *p = kiln_pass_table; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

enum kiln_status
kiln_pass_infer_shapes(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    return kiln_graph_infer_shapes(g, pc->d);
}

enum kiln_status
kiln_pass_verify(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    return kiln_graph_verify(g, pc->d);
}

/* Whether name is an element of the comma list. */
static bool
list_has(const char *list, const char *name)
{
    if (!list)
        return false;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static void
dump_ir(const struct kiln_graph *g, FILE *f, const char *when, const char *pass)
{
    struct kiln_print_opts po;
    kiln_print_opts_default(&po);
    fprintf(f, "// ----- IR Dump %s %s -----\n", when, pass);
    kiln_graph_print(g, f, &po);
}

void
kiln_pass_count(struct kiln_pass_ctx *pc, const char *what, int64_t n)
{
    struct kiln_pass_counters *c = &pc->counters;
    for (int i = 0; i < c->n; i++) {
        if (strcmp(c->name[i], what) == 0) {
            c->value[i] += n;
            return;
        }
    }
    if (c->n < KILN_PASS_MAX_COUNTERS) {
        c->name[c->n] = what;
        c->value[c->n++] = n;
    }
}

/* Live nodes of g and its control-flow sub-graphs, for --stats (a fused node counts
 * once: its body is what it replaced). */
static int64_t
count_nodes(const struct kiln_graph *g)
{
    int64_t n = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_node *nd = g->nodes[i];
        if (nd->dead)
            continue;
        n++;
        for (int32_t a = 0; a < nd->n_attrs; a++)
            if (nd->attrs[a].kind == KILN_ATTR_GRAPH && nd->attrs[a].g)
                n += count_nodes(nd->attrs[a].g);
    }
    return n;
}

/* DIR/NN-NAME.kir, large constants elided (the dumps are for reading and diffing). */
static void
dump_to_dir(const struct kiln_graph *g, const char *dir, int index, const char *name,
            struct kiln_diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%02d-%s.kir", dir, index, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        kiln_diag_warning(d, "--ir-dump-dir: cannot write %s", path);
        return;
    }
    struct kiln_print_opts po;
    kiln_print_opts_default(&po);
    kiln_graph_print(g, f, &po);
    fclose(f);
}

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

enum kiln_status
kiln_pass_run_pipeline(struct kiln_graph *g, const char *pipeline,
                       const struct kiln_pass_opts *opts, struct kiln_diag *d)
{
    struct kiln_pass_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    FILE *out = opts->print_to ? opts->print_to : stderr;
    /* resolve every name first: a typo must not run half a pipeline */
    const struct kiln_pass_info *passes[256];
    int n_passes = 0;
    char name[128];
    for (const char *p = pipeline ? pipeline : ""; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len >= sizeof name) {
            kiln_diag_error(d, "malformed pass pipeline '%s'", pipeline);
            return KILN_ERR_INVALID;
        }
        memcpy(name, p, len);
        name[len] = 0;
        const struct kiln_pass_info *info = kiln_pass_find(name);
        if (!info) {
            kiln_diag_error(d, "unknown pass '%s'", name);
            return KILN_ERR_INVALID;
        }
        if (n_passes == (int)(sizeof passes / sizeof passes[0])) {
            kiln_diag_error(d, "pass pipeline is longer than 256 passes");
            return KILN_ERR_INVALID;
        }
        passes[n_passes++] = info;
        if (!e)
            break;
        p = e + 1;
    }
    const struct kiln_pass_order *broken = kiln_pass_pipeline_check(pipeline);
    if (broken)
        kiln_diag_warning(d, "pass '%s' runs before '%s' in this pipeline: %s", broken->after,
                          broken->before, broken->why);
    struct kiln_pass_ctx pc = {.d = d, .opts = opts, .scratch = kiln_arena_new()};
    if (!pc.scratch)
        return KILN_ERR_NOMEM;
    enum kiln_status st = KILN_OK;
    double total = 0, times[256];
    int64_t before[256], after[256];
    struct kiln_pass_counters counts[256];
    int n_run = 0;
    if (opts->ir_dump_dir)
        dump_to_dir(g, opts->ir_dump_dir, 0, "input", d);
    for (int i = 0; i < n_passes && st == KILN_OK; i++) {
        const struct kiln_pass_info *info = passes[i];
        if (list_has(opts->print_before, info->name))
            dump_ir(g, out, "Before", info->name);
        pc.pass_name = info->name;
        memset(&pc.counters, 0, sizeof pc.counters);
        kiln_current_pass = info->name;
        before[n_run] = count_nodes(g);
        double t0 = now_ms();
        st = info->fn(&pc, g);
        double dt = now_ms() - t0;
        total += dt;
        kiln_current_pass = NULL;
        kiln_arena_reset(pc.scratch);
        after[n_run] = count_nodes(g);
        counts[n_run] = pc.counters;
        times[n_run++] = dt;
        if (opts->ir_dump_dir)
            dump_to_dir(g, opts->ir_dump_dir, i + 1, info->name, d);
        if (st != KILN_OK)
            break;
        if (opts->verify_each) {
            st = kiln_graph_verify(g, d);
            if (st != KILN_OK) {
                kiln_diag_error(d, "the IR is invalid after pass '%s'", info->name);
                break;
            }
        }
        if (opts->print_after_all || list_has(opts->print_after, info->name))
            dump_ir(g, out, "After", info->name);
    }
    if (opts->stats) {
        fprintf(out, "// %-24s %8s %8s  %s\n", "pass", "nodes", "after", "changes");
        for (int i = 0; i < n_run; i++) {
            fprintf(out, "// %-24s %8lld %8lld ", passes[i]->name, (long long)before[i],
                    (long long)after[i]);
            bool first = true;
            for (int k = 0; k < counts[i].n; k++) {
                if (!counts[i].value[k])
                    continue;
                fprintf(out, "%s%s: %lld", first ? " " : ", ", counts[i].name[k],
                        (long long)counts[i].value[k]);
                first = false;
            }
            fprintf(out, "\n");
        }
    }
    /* one report at the end, as LLVM's -time-passes does, so dumps stay whole */
    if (opts->time_passes) {
        for (int i = 0; i < n_run; i++)
            fprintf(out, "// pass %-24s %10.3f ms\n", passes[i]->name, times[i]);
        fprintf(out, "// pass %-24s %10.3f ms\n", "(total)", total);
    }
    kiln_arena_free(pc.scratch);
    return st;
}
