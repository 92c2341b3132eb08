/*
 * rewrite.h - the pattern engine: local rewrites in tables indexed by root op,
 * run by one worklist to a fixed point.
 *
 * A pattern names the op at its root and a function that looks at a node of
 * that op and either rewrites the graph around it (returning true) or leaves
 * it untouched (false). The engine starts with every node on the worklist;
 * when a pattern fires, the users of the values it replaced and the producers
 * of the erased node's operands are queued again. It stops when the list is
 * empty or after a cap on applications (10 per node, plus 1000), which only a
 * pattern bug can reach (it is reported as an internal error). Nodes a
 * pattern adds are appended; the engine restores topological order and
 * compacts the graph at the end. Sub-graphs (If/Loop/Scan bodies, fused
 * bodies) are rewritten too, each with its own worklist.
 */
#ifndef KILN_REWRITE_H
#define KILN_REWRITE_H

#include "pass.h"

struct kiln_rewriter;

struct kiln_pattern {
    const char *name; /* also the --stats counter: "identity-removed" */
    enum kiln_op root;
    bool (*apply)(struct kiln_rewriter *rw, struct kiln_node *n);
};

/* Run the patterns on g (and its sub-graphs) to a fixed point. */
enum kiln_status kiln_rewrite_run(struct kiln_pass_ctx *pc, struct kiln_graph *g,
                                  const struct kiln_pattern *pats, int n_pats);

/* For patterns: the graph being rewritten, and edits that keep the worklist right. */
struct kiln_graph *kiln_rewrite_graph(struct kiln_rewriter *rw);
/* Whether value v of the graph being rewritten can be replaced: false when a
 * sub-graph captures it (captures refer to it by name; patterns leave those alone). */
bool kiln_rewrite_replaceable(struct kiln_rewriter *rw, int32_t v);
/* Every use of value `from` (and its graph-output slots) now reads `to`; users are queued.
 * `from` must be replaceable. */
void kiln_rewrite_replace(struct kiln_rewriter *rw, int32_t from, int32_t to);
/* Whether v has no user left: no node reads it, it is not a graph output and
 * no sub-graph captures it (captures have no use entries: a node whose result
 * one captures must stay). */
bool kiln_rewrite_unused(struct kiln_rewriter *rw, int32_t v);
/* Erase n (its outputs must be unused); the producers of its operands are queued. */
void kiln_rewrite_erase(struct kiln_rewriter *rw, struct kiln_node *n);
/* Queue a node for another look. */
void kiln_rewrite_push(struct kiln_rewriter *rw, struct kiln_node *n);

/* Small queries patterns share. */
/* The constant tensor behind value v (a constant, or a capture of one), or NULL. */
const struct kiln_tensor *kiln_rewrite_const(const struct kiln_graph *g, int32_t v);
/* Whether every element of constant tensor t equals x (numeric dtypes). */
bool kiln_tensor_all_equal(const struct kiln_tensor *t, double x);
/* Per value of g (malloc'd, g->n_values entries; free it): whether a direct
 * sub-graph captures it (deeper ones capture through their parent's captures). */
bool *kiln_rewrite_captured(const struct kiln_graph *g);
/* A name for a new value of g saying where it came from, "BASE.SUFFIXk" with the
 * smallest k >= 0 not taken, into buf[cap]; returns buf. */
const char *kiln_rewrite_fresh_name(const struct kiln_graph *g, char *buf, size_t cap,
                                    const char *base, const char *suffix);
/*
 * Append to dst a copy of node n of src: same op, name, attributes and output
 * names and types. Operand value v of src becomes map[v] (-1: absent); the
 * copy's outputs are recorded in map. NULL when an output name is taken in dst.
 */
struct kiln_node *kiln_rewrite_copy_node(struct kiln_graph *dst, const struct kiln_graph *src,
                                         const struct kiln_node *n, int32_t *map);
/* The node producing value v, or NULL. */
struct kiln_node *kiln_rewrite_producer(const struct kiln_graph *g, int32_t v);

#endif
