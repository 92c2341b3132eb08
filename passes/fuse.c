/*
 * fuse.c - the pass `fuse`: epilogue and elementwise fusion into kiln.Fused
 * nodes, each of which the backend compiles to one kernel (codegen/lower_fused.c).
 *
 * A fusion group is an optional anchor (Conv, Gemm or MatMul) and elementwise
 * ops (KILN_OPF_ELEMWISE: activations, arithmetic with broadcasting, Clip,
 * Where, Cast, ...) that all compute values of one shape, the shape of the
 * group's result. Groups grow from a sink: walking the graph backwards, an
 * elementwise node not yet taken starts a group, and the producer of an
 * operand joins it when
 *   - it is elementwise, or it is an anchor and the group has none yet (an
 *     anchor's own operands are not followed: it is the group's source);
 *   - its result has the group's shape (dtypes may differ: Cast, comparisons);
 *   - its result is not a graph output, not captured by a sub-graph, and
 *     every user of it is in the group: the value lives only in registers.
 * A sink whose result a sub-graph captures starts no group (captures refer to
 * the value itself).
 * Joining repeats until nothing joins, or until the group has
 * KILN_FUSE_MAX_MEMBERS nodes: a longer chain becomes several groups, each a
 * kernel of bounded size, so that compile time and memory stay linear in the
 * graph (LLVM's optimizer is superlinear in the length of one kernel's
 * expression: a 20,000-node chain in one kernel took 25-50 s and 3.3 GB; the
 * cost at run time is one store and load of the value between kernels every
 * KILN_FUSE_MAX_MEMBERS ops). Because every member but the sink has all its
 * users inside, the group is convex: replacing it by one node creates no
 * cycle. A group of one node is left alone.
 *
 * The fused node takes the group's operands from outside (in first-use
 * order), returns the sink's result under the sink's name, and holds the
 * members as its body (anchor first, then the rest in graph order), named
 * after the anchor (or the sink), with loc(fused[...]) listing the nodes it
 * replaced. What the group computes is unchanged, op for op.
 *
 * Requires: inferred types. Runs on the top graph. Complexity: linear in the
 * graph for groups of bounded size (each round of a group's growth looks at
 * its members' operands; building a group touches only its members' values).
 */
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

static bool
single_result(const struct kiln_node *n)
{
    if (n->n_out < 1 || n->out[0] < 0)
        return false;
    for (int32_t i = 1; i < n->n_out; i++)
        if (n->out[i] >= 0)
            return false;
    return true;
}

/* An op a fused body can hold after its anchor. */
static bool
is_elementwise(const struct kiln_node *n)
{
    return (kiln_op_info(n->op)->flags & KILN_OPF_ELEMWISE) && n->op != KILN_OP_SWIGLU &&
           !(kiln_op_info(n->op)->flags & KILN_OPF_RANDOM) && single_result(n);
}

static bool
is_anchor(const struct kiln_graph *g, const struct kiln_node *n)
{
    if (n->op != KILN_OP_CONV && n->op != KILN_OP_GEMM && n->op != KILN_OP_MATMUL)
        return false;
    return single_result(n) && kiln_dtype_is_float(g->values[n->out[0]]->type.dtype);
}

/* Same rank and dims (the dtype may differ). */
static bool
same_dims(const struct kiln_type *a, const struct kiln_type *b)
{
    if (a->rank < 0 || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!kiln_dim_eq(a->dims[i], b->dims[i]) || kiln_dim_is_unknown(a->dims[i]))
            return false;
    return true;
}

/* The most nodes one fused group takes (see above); a fused body of this
 * many elementwise ops compiles in about a tenth of a second. */
#define KILN_FUSE_MAX_MEMBERS 256

struct grouping {
    struct kiln_graph *g;
    int32_t *group_of; /* node id -> group id, -1 */
    const bool *captured;
    int32_t *inner; /* value id -> the body's value id while a group is built, else -1 */
    int32_t *ext;   /* the group's operands from outside */
};

/* Whether every user of v is in the group, and none is its anchor: an anchor's
 * operands come from outside (the body computes the anchor first; a member
 * computing its operand, as in Add(MatMul(Relu(x), w), Relu(x)), would be
 * read before it is computed). */
static bool
all_users_in(const struct grouping *gr, int32_t v, int32_t group)
{
    const struct kiln_value *val = gr->g->values[v];
    for (int32_t i = 0; i < val->n_uses; i++)
        if (gr->group_of[val->uses[i].node] != group ||
            is_anchor(gr->g, gr->g->nodes[val->uses[i].node]))
            return false;
    return val->n_uses > 0;
}

/* Grow group `gid` from its sink; members[] gets its nodes, returns how many. */
static int32_t
grow(struct grouping *gr, struct kiln_node *sink, int32_t gid, struct kiln_node **members)
{
    struct kiln_graph *g = gr->g;
    const struct kiln_type *shape = &g->values[sink->out[0]]->type;
    int32_t n = 0;
    members[n++] = sink;
    gr->group_of[sink->id] = gid;
    bool has_anchor = false, changed = true;
    while (changed && n < KILN_FUSE_MAX_MEMBERS) {
        changed = false;
        for (int32_t m = 0; m < n && n < KILN_FUSE_MAX_MEMBERS; m++) {
            const struct kiln_node *mem = members[m];
            if (is_anchor(g, mem))
                continue; /* the source: its operands stay outside */
            for (int32_t k = 0; k < mem->n_in && n < KILN_FUSE_MAX_MEMBERS; k++) {
                int32_t v = mem->in[k];
                struct kiln_node *p = v >= 0 ? kiln_rewrite_producer(g, v) : NULL;
                if (!p || gr->group_of[p->id] >= 0)
                    continue;
                bool anchor = is_anchor(g, p);
                if (!(is_elementwise(p) || (anchor && !has_anchor)))
                    continue;
                const struct kiln_value *pv = g->values[p->out[0]];
                if (pv->is_output || gr->captured[p->out[0]] || !same_dims(&pv->type, shape))
                    continue;
                /* provisionally in, to count uses from the group */
                gr->group_of[p->id] = gid;
                if (!all_users_in(gr, p->out[0], gid)) {
                    gr->group_of[p->id] = -1;
                    continue;
                }
                members[n++] = p;
                has_anchor |= anchor;
                changed = true;
            }
        }
    }
    return n;
}

static int
by_id(const void *a, const void *b)
{
    const struct kiln_node *x = *(struct kiln_node *const *)a, *y = *(struct kiln_node *const *)b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Replace the group gid, members[n] (sorted, anchor first), by one kiln.Fused
 * node (returned). Touches only the members and their values. */
static struct kiln_node *
build(struct grouping *gr, int32_t gid, struct kiln_node **members, int32_t n,
      struct kiln_node *sink)
{
    struct kiln_graph *g = gr->g;
    int32_t *ext = gr->ext, *inner = gr->inner;
    /* operands from outside, in first-use order; inner[] marks those seen (-2) */
    int32_t n_ext = 0;
    for (int32_t m = 0; m < n; m++) {
        for (int32_t k = 0; k < members[m]->n_in; k++) {
            int32_t v = members[m]->in[k];
            if (v < 0 || inner[v] != -1)
                continue;
            struct kiln_node *p = kiln_rewrite_producer(g, v);
            if (p && gr->group_of[p->id] == gid)
                continue;
            inner[v] = -2;
            ext[n_ext++] = v;
        }
    }
    const struct kiln_node *head = members[0];
    const char *name = head->name[0] ? head->name : sink->name;
    struct kiln_graph *body = kiln_graph_new_sub(g, name[0] ? name : "fused");
    KILN_ASSERT(body);
    for (int32_t i = 0; i < n_ext; i++) {
        int32_t bi = kiln_graph_add_input(body, g->values[ext[i]]->name);
        KILN_ASSERT(bi >= 0);
        body->values[bi]->type = g->values[ext[i]]->type;
        inner[ext[i]] = bi;
    }
    const char **locs = kiln_arena_array(g->arena, (size_t)n, sizeof *locs);
    KILN_ASSERT(locs);
    for (int32_t m = 0; m < n; m++) {
        const struct kiln_node *src = members[m];
        KILN_ASSERT(kiln_rewrite_copy_node(body, g, src, inner));
        locs[m] = src->name[0] ? src->name : kiln_op_name(src->op);
    }
    int32_t result = sink->out[0];
    kiln_graph_add_output(body, inner[result]);
    /* reset what this group set, for the next one */
    for (int32_t i = 0; i < n_ext; i++)
        inner[ext[i]] = -1;
    for (int32_t m = 0; m < n; m++)
        for (int32_t k = 0; k < members[m]->n_out; k++)
            if (members[m]->out[k] >= 0)
                inner[members[m]->out[k]] = -1;
    /* the fused node, under a temporary name that then swaps with the sink's */
    char tmp[300];
    const char *outs[1] = {
        kiln_rewrite_fresh_name(g, tmp, sizeof tmp, g->values[result]->name, "fused")};
    struct kiln_node *fn = kiln_graph_add_node(g, KILN_OP_FUSED, name, ext, n_ext, outs, 1, NULL);
    KILN_ASSERT(fn);
    fn->body = body;
    fn->fused_locs = locs;
    fn->n_fused_locs = n;
    g->values[fn->out[0]]->type = g->values[result]->type;
    kiln_graph_swap_names(g, result, fn->out[0]);
    kiln_value_replace_uses(g, result, fn->out[0]);
    for (int32_t m = n - 1; m >= 0; m--)
        kiln_graph_erase_node(g, members[m]);
    return fn;
}

enum kiln_status
kiln_pass_fuse(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    /* counters in a fixed order for --stats */
    kiln_pass_count(pc, "epilogue-fused", 0);
    kiln_pass_count(pc, "elementwise-fused", 0);
    kiln_pass_count(pc, "nodes-fused", 0);
    bool *captured = kiln_rewrite_captured(g);
    struct grouping gr = {.g = g, .captured = captured};
    int32_t n_nodes = g->n_nodes;
    /* each group adds one node (ids past n_nodes): room for those too */
    int32_t cap = 2 * n_nodes + 2;
    gr.group_of = kiln_arena_array(pc->scratch, (size_t)cap, sizeof *gr.group_of);
    struct kiln_node **members =
        kiln_arena_array(pc->scratch, (size_t)n_nodes + 1, sizeof *members);
    int32_t *sink_at = kiln_arena_array(pc->scratch, (size_t)n_nodes + 1, sizeof *sink_at);
    struct kiln_node **fused = kiln_arena_array(pc->scratch, (size_t)n_nodes + 1, sizeof *fused);
    /* each group adds one value too (its result): room for those */
    int32_t vcap = g->n_values + n_nodes + 1;
    gr.inner = kiln_arena_array(pc->scratch, (size_t)vcap, sizeof *gr.inner);
    gr.ext = kiln_arena_array(pc->scratch, (size_t)vcap, sizeof *gr.ext);
    KILN_ASSERT(gr.group_of && members && sink_at && fused && gr.inner && gr.ext);
    for (int32_t i = 0; i < vcap; i++)
        gr.inner[i] = -1;
    for (int32_t i = 0; i < cap; i++)
        gr.group_of[i] = i < n_nodes ? -1 : -3; /* fused nodes are never members */
    int32_t groups = 0;
    for (int32_t i = n_nodes - 1; i >= 0; i--) {
        struct kiln_node *sink = g->nodes[i];
        /* a sink that a sub-graph captures keeps its node: captures name the value */
        if (sink->dead || gr.group_of[sink->id] >= 0 || !is_elementwise(sink) ||
            g->values[sink->out[0]]->type.rank < 0 || captured[sink->out[0]])
            continue;
        int32_t n = grow(&gr, sink, groups, members);
        if (n < 2) {
            gr.group_of[sink->id] = -2; /* alone: not fused, but taken */
            continue;
        }
        groups++;
        qsort(members, (size_t)n, sizeof *members, by_id);
        bool anchored = false;
        for (int32_t m = 0; m < n && !anchored; m++) {
            if (is_anchor(g, members[m])) {
                struct kiln_node *a = members[m];
                memmove(members + 1, members, (size_t)m * sizeof *members);
                members[0] = a;
                anchored = true;
            }
        }
        kiln_pass_count(pc, anchored ? "epilogue-fused" : "elementwise-fused", 1);
        kiln_pass_count(pc, "nodes-fused", n);
        sink_at[groups - 1] = i;
        fused[groups - 1] = build(&gr, groups - 1, members, n, sink);
    }
    free(captured);
    if (groups == 0)
        return KILN_OK;
    /* each fused node takes its sink's place in the order, so the kernels keep
     * the model's order. The order stays valid: every operand of a group is
     * computed before some member, so before the sink. */
    for (int32_t k = 0; k < groups; k++) {
        int32_t at = fused[k]->id;
        g->nodes[at] = g->nodes[sink_at[k]];
        g->nodes[sink_at[k]] = fused[k];
    }
    kiln_graph_compact(g);
    return kiln_graph_sort(g, pc->d);
}
