/*
 * fold_shapes.c - the pass `fold-shapes`: node results whose integer contents
 * shape inference knows exactly become constants.
 *
 * Exporters compute shapes at run time (Shape -> Gather -> Concat -> Reshape,
 * Equal/Where for grouped attention, Range for positions); when the input
 * shapes are static, inference already knows every such value, and this pass
 * turns them into constants so the chains die in DCE and the consumers see
 * constant operands. Values with a symbolic element (the batch N) stay. The
 * constant takes over the value's name, so dumps keep reading the same.
 * Results that are graph outputs (the interface) or that a sub-graph captures
 * are left alone. Requires: nothing (it runs inference itself). Establishes:
 * no node computes a fully known integer tensor. Complexity: one inference run
 * plus the folded elements.
 */
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

struct folded {
    int32_t value;
    int64_t n;
    int64_t *vals;
};

struct fold_list {
    struct folded *items;
    int32_t n, cap;
};

static void
collect(struct kiln_graph *g, int32_t value, const struct kiln_dim *vals, int64_t n, void *user)
{
    struct fold_list *l = user;
    const struct kiln_value *v = g->values[value];
    int64_t numel = kiln_type_numel(&v->type);
    if (v->is_output || numel != n || n > 4096 ||
        !(kiln_dtype_is_int(v->type.dtype) || v->type.dtype == KILN_DT_BOOL) ||
        (kiln_dtype_flags(v->type.dtype) & KILN_DTF_STORAGE))
        return;
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 16;
        struct folded *it = realloc(l->items, (size_t)cap * sizeof *it);
        KILN_ASSERT(it);
        l->items = it;
        l->cap = cap;
    }
    struct folded *f = &l->items[l->n++];
    f->value = value;
    f->n = n;
    f->vals = malloc((size_t)(n ? n : 1) * sizeof *f->vals);
    KILN_ASSERT(f->vals);
    for (int64_t i = 0; i < n; i++)
        f->vals[i] = vals[i].n;
}

/* A constant tensor of value v's type holding vals. */
static struct kiln_tensor *
make_tensor(struct kiln_graph *g, const struct kiln_value *v, const int64_t *vals, int64_t n)
{
    struct kiln_tensor *t = kiln_arena_alloc(g->arena, sizeof *t);
    KILN_ASSERT(t);
    t->dtype = v->type.dtype;
    t->rank = v->type.rank;
    t->dims = kiln_arena_array(g->arena, (size_t)(t->rank ? t->rank : 1), sizeof *t->dims);
    KILN_ASSERT(t->dims);
    for (int i = 0; i < t->rank; i++)
        t->dims[i] = v->type.dims[i].n;
    KILN_ASSERT(kiln_dtype_storage_bytes(t->dtype, n, &t->nbytes));
    unsigned char *data = kiln_arena_alloc(g->arena, t->nbytes ? (size_t)t->nbytes : 1);
    KILN_ASSERT(data);
    int bytes = kiln_dtype_bits(t->dtype) / 8;
    for (int64_t i = 0; i < n; i++) /* little-endian, truncated to the element width */
        for (int k = 0; k < bytes; k++)
            data[i * bytes + k] = (unsigned char)((uint64_t)vals[i] >> (8 * k));
    t->data = data;
    return t;
}

enum kiln_status
kiln_pass_fold_shapes(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    struct fold_list l = {0};
    enum kiln_status st = kiln_graph_infer_known(g, pc->d, collect, &l);
    bool *captured = kiln_rewrite_captured(g);
    int64_t folded = 0;
    for (int32_t i = 0; i < l.n && st == KILN_OK; i++) {
        struct folded *f = &l.items[i];
        struct kiln_value *v = g->values[f->value];
        if (captured[f->value] || (v->n_uses == 0 && !v->is_output))
            continue;
        int32_t c = kiln_graph_add_const(g, NULL, make_tensor(g, v, f->vals, f->n));
        kiln_graph_swap_names(g, c, f->value); /* the constant reads as the value did */
        kiln_value_replace_uses(g, f->value, c);
        folded++;
    }
    for (int32_t i = 0; i < l.n; i++)
        free(l.items[i].vals);
    free(l.items);
    free(captured);
    kiln_pass_count(pc, "values folded", folded);
    return st;
}
