/*
 * pass.h - the pass manager: a table of named passes and pipelines over it.
 *
 * A pass is `enum kiln_status kiln_pass_X(struct kiln_pass_ctx *pc, struct kiln_graph *g)`.
 * A pipeline is a comma-separated list of pass names ("infer-shapes,verify");
 * -O0..-O3 name pipelines. The manager can print the IR after every pass or
 * after named ones, verify after every pass, and time each pass.
 */
#ifndef KILN_PASS_H
#define KILN_PASS_H

#include <stdio.h>

#include "../ir/ir.h"

/*
 * Computes a graph without inputs (constants and nodes over them) for
 * fold-constants: outs[j] arrives typed for graph output j with its data
 * allocated, and receives the values. The driver supplies the LLVM
 * backend's in-process JIT (codegen/llvm/jit.c); passes know no backend.
 */
typedef enum kiln_status (*kiln_eval_fn)(const struct kiln_graph *g, struct kiln_tensor *outs,
                                         struct kiln_diag *d);

struct kiln_pass_opts {
    kiln_eval_fn eval; /* for fold-constants; NULL: it folds nothing */
    bool verify_each;
    bool print_after_all;
    const char *print_after;  /* comma list of pass names, or NULL */
    const char *print_before; /* comma list of pass names, or NULL */
    FILE *print_to;           /* where IR dumps go (stderr by default) */
    bool time_passes;
    bool stats;              /* per pass: nodes before/after and the rewrites applied */
    const char *ir_dump_dir; /* one numbered .kir per pass here (00-input.kir, 01-NAME.kir...) */
};

#define KILN_PASS_MAX_COUNTERS 32

/* What a pass did, for --stats: named counters ("identity removed": 3). */
struct kiln_pass_counters {
    const char *name[KILN_PASS_MAX_COUNTERS];
    int64_t value[KILN_PASS_MAX_COUNTERS];
    int n;
};

struct kiln_pass_ctx {
    struct kiln_diag *d;
    const struct kiln_pass_opts *opts;
    struct kiln_arena *scratch;         /* reset after every pass */
    const char *pass_name;              /* the pass running */
    struct kiln_pass_counters counters; /* reset before every pass */
};

/* Add n to the pass's counter `what` (a string literal). */
void kiln_pass_count(struct kiln_pass_ctx *pc, const char *what, int64_t n);

typedef enum kiln_status (*kiln_pass_fn)(struct kiln_pass_ctx *pc, struct kiln_graph *g);

struct kiln_pass_info {
    const char *name; /* CLI name: "infer-shapes" */
    kiln_pass_fn fn;
    const char *summary;
};

/*
 * Ordering constraints: wherever a pipeline runs `after`, a `before` must
 * have run earlier in it (when the pipeline has `before` at all). The -O
 * pipelines keep them (tests/unit/test_passes.c); a pipeline given with
 * --passes that breaks one runs, with a warning that gives the reason.
 */
struct kiln_pass_order {
    const char *before, *after;
    const char *why;
};
/* The constraints, terminated by a NULL `before`. */
extern const struct kiln_pass_order kiln_pass_orders[];
/* The first constraint the comma-separated pipeline breaks, or NULL. */
const struct kiln_pass_order *kiln_pass_pipeline_check(const char *pipeline);

/* The pass table, terminated by a NULL name. */
extern const struct kiln_pass_info kiln_pass_table[];
const struct kiln_pass_info *kiln_pass_find(const char *name);
/* The pipeline named by an optimization level 0..3. */
const char *kiln_pass_pipeline_for_level(int level);

/*
 * Run a comma-separated pipeline on g. An unknown pass name fails before any
 * pass runs (`error: unknown pass 'x'`). An empty pipeline runs nothing.
 */
enum kiln_status kiln_pass_run_pipeline(struct kiln_graph *g, const char *pipeline,
                                        const struct kiln_pass_opts *opts, struct kiln_diag *d);

/* Passes. */
enum kiln_status kiln_pass_infer_shapes(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_verify(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_inline_defaults(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_dce(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_cse(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_canonicalize(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_fuse_conv_bn(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_fold_shapes(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_fold_constants(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_fuse_patterns(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_fuse_attention(struct kiln_pass_ctx *pc, struct kiln_graph *g);
enum kiln_status kiln_pass_fuse(struct kiln_pass_ctx *pc, struct kiln_graph *g);

#endif
