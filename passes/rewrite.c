/*
 * rewrite.c - the pattern engine (contract in rewrite.h).
 *
 * Complexity: each application is local; the worklist sees each node once
 * plus once per change next to it, so a run is linear in the graph times the
 * (small) number of patterns per op, up to the application cap.
 */
#include "rewrite.h"

#include <stdlib.h>
#include <string.h>

struct kiln_rewriter {
    struct kiln_pass_ctx *pc;
    struct kiln_graph *g;
    int32_t *work; /* node ids */
    int32_t n_work, cap_work;
    bool *queued; /* per node id */
    int32_t cap_queued;
    bool *captured; /* per value id: a sub-graph captures it */
    int32_t n_captured;
};

struct kiln_graph *
kiln_rewrite_graph(struct kiln_rewriter *rw)
{
    return rw->g;
}

void
kiln_rewrite_push(struct kiln_rewriter *rw, struct kiln_node *n)
{
    if (!n || n->dead)
        return;
    if (n->id >= rw->cap_queued) {
        int32_t cap = rw->cap_queued ? rw->cap_queued : 64;
        while (cap <= n->id)
            cap *= 2;
        bool *q = realloc(rw->queued, (size_t)cap * sizeof *q);
        KILN_ASSERT(q);
        memset(q + rw->cap_queued, 0, (size_t)(cap - rw->cap_queued) * sizeof *q);
        rw->queued = q;
        rw->cap_queued = cap;
    }
    if (rw->queued[n->id])
        return;
    if (rw->n_work == rw->cap_work) {
        int32_t cap = rw->cap_work ? rw->cap_work * 2 : 64;
        int32_t *w = realloc(rw->work, (size_t)cap * sizeof *w);
        KILN_ASSERT(w);
        rw->work = w;
        rw->cap_work = cap;
    }
    rw->work[rw->n_work++] = n->id;
    rw->queued[n->id] = true;
}

struct kiln_node *
kiln_rewrite_producer(const struct kiln_graph *g, int32_t v)
{
    if (v < 0)
        return NULL;
    const struct kiln_value *val = g->values[v];
    if (val->kind != KILN_VALUE_NODE || val->producer < 0)
        return NULL;
    struct kiln_node *n = g->nodes[val->producer];
    return n->dead ? NULL : n;
}

/* Mark the values of g that a direct sub-graph captures (deeper ones capture
 * through their parent's captures). */
bool *
kiln_rewrite_captured(const struct kiln_graph *g)
{
    bool *cap = calloc((size_t)g->n_values + 1, sizeof *cap);
    KILN_ASSERT(cap);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_node *n = g->nodes[i];
        for (int32_t a = 0; a <= n->n_attrs; a++) {
            const struct kiln_attr *at = a < n->n_attrs ? &n->attrs[a] : NULL;
            int64_t cnt = !at                            ? (n->body != NULL)
                          : at->kind == KILN_ATTR_GRAPH  ? 1
                          : at->kind == KILN_ATTR_GRAPHS ? at->n
                                                         : 0;
            for (int64_t k = 0; k < cnt; k++) {
                const struct kiln_graph *sg = !at                           ? n->body
                                              : at->kind == KILN_ATTR_GRAPH ? at->g
                                                                            : at->graphs[k];
                for (int32_t c = 0; sg && c < sg->n_captures; c++) {
                    int32_t o = sg->values[sg->captures[c]]->outer;
                    if (o >= 0 && o < g->n_values)
                        cap[o] = true;
                }
            }
        }
    }
    return cap;
}

bool
kiln_rewrite_replaceable(struct kiln_rewriter *rw, int32_t v)
{
    return v >= 0 && v < rw->n_captured && !rw->captured[v];
}

void
kiln_rewrite_replace(struct kiln_rewriter *rw, int32_t from, int32_t to)
{
    struct kiln_graph *g = rw->g;
    const struct kiln_value *v = g->values[from];
    for (int32_t i = 0; i < v->n_uses; i++)
        kiln_rewrite_push(rw, g->nodes[v->uses[i].node]);
    kiln_value_replace_uses(g, from, to);
    kiln_rewrite_push(rw, kiln_rewrite_producer(g, to));
}

bool
kiln_rewrite_unused(struct kiln_rewriter *rw, int32_t v)
{
    const struct kiln_value *val = rw->g->values[v];
    /* values made during the pass (ids past n_captured) no sub-graph captures */
    bool captured = v < rw->n_captured && rw->captured[v];
    return val->n_uses == 0 && !val->is_output && !captured;
}

void
kiln_rewrite_erase(struct kiln_rewriter *rw, struct kiln_node *n)
{
    for (int32_t i = 0; i < n->n_out; i++)
        KILN_ASSERT(n->out[i] < 0 || kiln_rewrite_unused(rw, n->out[i]));
    struct kiln_graph *g = rw->g;
    for (int32_t i = 0; i < n->n_in; i++)
        kiln_rewrite_push(rw, kiln_rewrite_producer(g, n->in[i]));
    kiln_graph_erase_node(g, n);
}

const struct kiln_tensor *
kiln_rewrite_const(const struct kiln_graph *g, int32_t v)
{
    while (v >= 0) {
        const struct kiln_value *val = g->values[v];
        if (val->kind == KILN_VALUE_CONST)
            return val->data && val->data->data ? val->data : NULL;
        if (val->kind != KILN_VALUE_CAPTURE || !g->parent)
            return NULL;
        v = val->outer;
        g = g->parent;
    }
    return NULL;
}

bool
kiln_tensor_all_equal(const struct kiln_tensor *t, double x)
{
    int64_t n = kiln_tensor_numel(t);
    if (n < 0 || !t->data)
        return false;
    for (int64_t i = 0; i < n; i++) {
        double e;
        if (!kiln_tensor_get_f64(t, i, &e) || e != x)
            return false;
    }
    return true;
}

/* One graph: every node queued, patterns applied until nothing changes. */
static enum kiln_status
rewrite_graph(struct kiln_pass_ctx *pc, struct kiln_graph *g, const struct kiln_pattern *pats,
              int n_pats, const int *first, const int *next, int depth)
{
    /* sub-graphs first: a body's simplifications can enable the parent's */
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_node *n = g->nodes[i];
        for (int32_t a = 0; a < n->n_attrs; a++) {
            struct kiln_attr *at = &n->attrs[a];
            int64_t cnt = at->kind == KILN_ATTR_GRAPH    ? 1
                          : at->kind == KILN_ATTR_GRAPHS ? at->n
                                                         : 0;
            for (int64_t k = 0; k < cnt && depth < 64; k++) {
                struct kiln_graph *sg = at->kind == KILN_ATTR_GRAPH ? at->g : at->graphs[k];
                if (!sg)
                    continue;
                enum kiln_status st = rewrite_graph(pc, sg, pats, n_pats, first, next, depth + 1);
                if (st != KILN_OK)
                    return st;
            }
        }
        if (n->body && depth < 64) {
            enum kiln_status st = rewrite_graph(pc, n->body, pats, n_pats, first, next, depth + 1);
            if (st != KILN_OK)
                return st;
        }
    }
    struct kiln_rewriter rw = {
        .pc = pc, .g = g, .captured = kiln_rewrite_captured(g), .n_captured = g->n_values};
    /* reverse order so that the first node is looked at first */
    for (int32_t i = g->n_nodes - 1; i >= 0; i--)
        kiln_rewrite_push(&rw, g->nodes[i]);
    int64_t cap = 10 * (int64_t)g->n_nodes + 1000, applied = 0;
    bool changed = false;
    while (rw.n_work > 0) {
        int32_t id = rw.work[--rw.n_work];
        rw.queued[id] = false;
        struct kiln_node *n = g->nodes[id];
        if (n->dead)
            continue;
        for (int p = first[n->op]; p >= 0; p = next[p]) {
            if (pats[p].apply(&rw, n)) {
                kiln_pass_count(pc, pats[p].name, 1);
                changed = true;
                if (++applied > cap) {
                    kiln_diag_error(pc->d,
                                    "internal error: pass '%s' did not converge (pattern '%s' "
                                    "keeps firing)",
                                    pc->pass_name, pats[p].name);
                    free(rw.work);
                    free(rw.queued);
                    free(rw.captured);
                    return KILN_ERR_INTERNAL;
                }
                break; /* the node may be gone or changed: look again from the list */
            }
        }
    }
    free(rw.work);
    free(rw.queued);
    free(rw.captured);
    if (!changed)
        return KILN_OK;
    kiln_graph_compact(g);
    return kiln_graph_sort(g, pc->d);
}

enum kiln_status
kiln_rewrite_run(struct kiln_pass_ctx *pc, struct kiln_graph *g, const struct kiln_pattern *pats,
                 int n_pats)
{
    /* the table indexed by root op: first[op] -> next[] chains, in table order */
    int first[KILN_OP_COUNT], *next = calloc((size_t)n_pats + 1, sizeof *next);
    KILN_ASSERT(next);
    for (int i = 0; i < KILN_OP_COUNT; i++)
        first[i] = -1;
    for (int p = n_pats - 1; p >= 0; p--) {
        next[p] = first[pats[p].root];
        first[pats[p].root] = p;
    }
    enum kiln_status st = rewrite_graph(pc, g, pats, n_pats, first, next, 0);
    free(next);
    return st;
}

const char *
kiln_rewrite_fresh_name(const struct kiln_graph *g, char *buf, size_t cap, const char *base,
                        const char *suffix)
{
    for (int k = 0;; k++) {
        snprintf(buf, cap, "%.200s.%s%d", base, suffix, k);
        if (kiln_graph_find_value(g, buf) < 0)
            return buf;
    }
}

struct kiln_node *
kiln_rewrite_copy_node(struct kiln_graph *dst, const struct kiln_graph *src,
                       const struct kiln_node *n, int32_t *map)
{
    int32_t ins[64];
    const char *outs[64];
    if (n->n_in > 64 || n->n_out > 64)
        return NULL;
    for (int32_t k = 0; k < n->n_in; k++)
        ins[k] = n->in[k] >= 0 ? map[n->in[k]] : -1;
    for (int32_t k = 0; k < n->n_out; k++)
        outs[k] = n->out[k] >= 0 ? src->values[n->out[k]]->name : NULL;
    struct kiln_node *c =
        kiln_graph_add_node(dst, n->op, n->name, ins, n->n_in, outs, n->n_out, NULL);
    if (!c)
        return NULL;
    if (n->n_attrs) {
        struct kiln_attr *attrs = kiln_arena_array(dst->arena, (size_t)n->n_attrs, sizeof *attrs);
        KILN_ASSERT(attrs);
        memcpy(attrs, n->attrs, (size_t)n->n_attrs * sizeof *attrs);
        KILN_ASSERT(!kiln_node_set_attrs(c, attrs, n->n_attrs));
    }
    for (int32_t k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        dst->values[c->out[k]]->type = src->values[n->out[k]]->type;
        map[n->out[k]] = c->out[k];
    }
    return c;
}
