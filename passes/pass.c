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
    {NULL, NULL, NULL},
};

static const char *const level_pipelines[4] = {
    "",                             /* -O0 */
    "inline-defaults,infer-shapes", /* -O1 */
    "inline-defaults,infer-shapes", /* -O2 */
    "inline-defaults,infer-shapes", /* -O3 */
};

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
    struct kiln_pass_ctx pc = {.d = d, .opts = opts, .scratch = kiln_arena_new()};
    if (!pc.scratch)
        return KILN_ERR_NOMEM;
    enum kiln_status st = KILN_OK;
    double total = 0, times[256];
    int n_run = 0;
    for (int i = 0; i < n_passes && st == KILN_OK; i++) {
        const struct kiln_pass_info *info = passes[i];
        if (list_has(opts->print_before, info->name))
            dump_ir(g, out, "Before", info->name);
        pc.pass_name = info->name;
        kiln_current_pass = info->name;
        double t0 = now_ms();
        st = info->fn(&pc, g);
        double dt = now_ms() - t0;
        total += dt;
        kiln_current_pass = NULL;
        kiln_arena_reset(pc.scratch);
        times[n_run++] = dt;
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
    /* one report at the end, as LLVM's -time-passes does, so dumps stay whole */
    if (opts->time_passes) {
        for (int i = 0; i < n_run; i++)
            fprintf(out, "// pass %-24s %10.3f ms\n", passes[i]->name, times[i]);
        fprintf(out, "// pass %-24s %10.3f ms\n", "(total)", total);
    }
    kiln_arena_free(pc.scratch);
    return st;
}
