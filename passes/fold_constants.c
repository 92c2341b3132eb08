/*
 * fold_constants.c - the pass `fold-constants`: nodes whose operands are all
 * constants (and nodes over their results, transitively) are computed at
 * compile time; the values they produce for the rest of the graph become
 * constants named as the values they replace, and DCE removes the nodes.
 *
 * The evaluator is the compiler's own code generator (opts->eval, set by the
 * driver to the LLVM backend's in-process JIT, codegen/llvm/jit.c): the
 * foldable nodes are copied into a graph without inputs, compiled and run
 * once, so a folded value is bit for bit what the compiled model would have
 * computed. Without an evaluator the pass changes nothing.
 *
 * Foldable: every operand a constant or a foldable node's result; not a
 * random op, control flow or a fused node; every result of static shape, of
 * a dtype that is not storage-only, and at most 16M elements (a fold must not
 * blow the artifact up: a Tile or Expand of a constant to a large shape stays
 * a node when its result exceeds that). When the whole batch cannot be
 * evaluated (an op without a lowering), the nodes are tried one by one in
 * order and the ones that fail stay.
 *
 * Requires: inferred types. Runs on the top graph. Complexity: linear in the
 * graph plus one compilation (or one per foldable node after a failure).
 */
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

#define MAX_FOLD_ELEMENTS (INT64_C(1) << 24)

static bool
result_ok(const struct kiln_value *v)
{
    const struct kiln_type *t = &v->type;
    int64_t n = kiln_type_numel(t);
    return kiln_type_is_static(t) && n >= 0 && n <= MAX_FOLD_ELEMENTS &&
           !(kiln_dtype_flags(t->dtype) & KILN_DTF_STORAGE) && t->dtype != KILN_DT_INVALID;
}

/* Whether n can fold: its operands constants (is_const[v], or with is_const NULL,
 * constants of g now) and its results fit. */
static bool
node_ok(const struct kiln_graph *g, const struct kiln_node *n, const bool *is_const)
{
    unsigned fl = kiln_op_info(n->op)->flags;
    if (fl & (KILN_OPF_RANDOM | KILN_OPF_CONTROL | KILN_OPF_FUSED))
        return false;
    for (int32_t a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].kind == KILN_ATTR_GRAPH || n->attrs[a].kind == KILN_ATTR_GRAPHS)
            return false;
    bool any = false;
    for (int32_t k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        if (!result_ok(g->values[n->out[k]]))
            return false;
        any = true;
    }
    for (int32_t k = 0; k < n->n_in; k++) {
        int32_t v = n->in[k];
        if (v >= 0 && !(is_const ? is_const[v] : kiln_rewrite_const(g, v) != NULL))
            return false;
    }
    return any;
}

/* A tensor of v's (static) type with zeroed storage in g's arena. */
static struct kiln_tensor *
tensor_for(struct kiln_graph *g, const struct kiln_value *v)
{
    struct kiln_tensor *t = kiln_arena_alloc(g->arena, sizeof *t);
    KILN_ASSERT(t);
    t->dtype = v->type.dtype;
    t->rank = v->type.rank;
    t->dims = kiln_arena_array(g->arena, (size_t)(t->rank ? t->rank : 1), sizeof *t->dims);
    KILN_ASSERT(t->dims);
    for (int i = 0; i < t->rank; i++)
        t->dims[i] = v->type.dims[i].n;
    KILN_ASSERT(kiln_dtype_storage_bytes(t->dtype, kiln_type_numel(&v->type), &t->nbytes));
    void *data = kiln_arena_alloc(g->arena, t->nbytes ? (size_t)t->nbytes : 1);
    KILN_ASSERT(data);
    memset(data, 0, t->nbytes ? (size_t)t->nbytes : 1);
    t->data = data;
    return t;
}

/*
 * Evaluate nodes[n] of g (in order) for the values wanted[n_want]; on success
 * each wanted value is replaced by a constant. Returns whether it worked.
 */
static bool
evaluate(struct kiln_pass_ctx *pc, struct kiln_graph *g, struct kiln_node **nodes, int32_t n,
         const int32_t *wanted, int32_t n_want)
{
    struct kiln_graph *sub = kiln_graph_new("fold");
    KILN_ASSERT(sub);
    sub->opset = g->opset;
    sub->opset_ml = g->opset_ml;
    int32_t *map = calloc((size_t)g->n_values + 1, sizeof *map);
    KILN_ASSERT(map);
    for (int32_t i = 0; i < g->n_values; i++)
        map[i] = -1;
    bool ok = true;
    for (int32_t i = 0; i < n && ok; i++) {
        const struct kiln_node *src = nodes[i];
        for (int32_t k = 0; k < src->n_in && ok; k++) {
            int32_t v = src->in[k];
            if (v >= 0 && map[v] < 0) { /* a constant of g: shared, not copied */
                const struct kiln_tensor *t = kiln_rewrite_const(g, v);
                if (!t) {
                    ok = false;
                    break;
                }
                map[v] = kiln_graph_add_const(sub, g->values[v]->name, (struct kiln_tensor *)t);
                sub->values[map[v]]->type = g->values[v]->type;
            }
        }
        if (ok && !kiln_rewrite_copy_node(sub, g, src, map))
            ok = false;
    }
    struct kiln_tensor *res = calloc((size_t)n_want + 1, sizeof *res);
    KILN_ASSERT(res);
    for (int32_t j = 0; j < n_want && ok; j++) {
        kiln_graph_add_output(sub, map[wanted[j]]);
        res[j] = *tensor_for(g, g->values[wanted[j]]);
    }
    if (ok) {
        struct kiln_diag quiet; /* a failure only means: do not fold these */
        kiln_diag_init(&quiet, NULL);
        ok = pc->opts->eval(sub, res, &quiet) == KILN_OK;
        kiln_diag_fini(&quiet);
    }
    for (int32_t j = 0; j < n_want && ok; j++) {
        struct kiln_tensor *t = kiln_arena_alloc(g->arena, sizeof *t);
        KILN_ASSERT(t);
        *t = res[j];
        int32_t c = kiln_graph_add_const(g, NULL, t);
        g->values[c]->type = g->values[wanted[j]]->type;
        kiln_graph_swap_names(g, c, wanted[j]); /* the constant reads as the value did */
        kiln_value_replace_uses(g, wanted[j], c);
    }
    free(res);
    free(map);
    kiln_graph_free(sub);
    return ok;
}

enum kiln_status
kiln_pass_fold_constants(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    kiln_pass_count(pc, "nodes folded", 0);
    kiln_pass_count(pc, "values folded", 0);
    kiln_pass_count(pc, "not foldable (no lowering)", 0);
    if (!pc->opts->eval)
        return KILN_OK;
    bool *captured = kiln_rewrite_captured(g);
    bool *is_const = calloc((size_t)g->n_values + 1, sizeof *is_const);
    struct kiln_node **nodes = calloc((size_t)g->n_nodes + 1, sizeof *nodes);
    int32_t *wanted = calloc((size_t)g->n_values + 1, sizeof *wanted);
    KILN_ASSERT(is_const && nodes && wanted);
    for (int32_t i = 0; i < g->n_values; i++)
        is_const[i] = kiln_rewrite_const(g, i) != NULL;
    int32_t n = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_node *nd = g->nodes[i];
        if (nd->dead || !node_ok(g, nd, is_const))
            continue;
        nodes[n++] = nd;
        for (int32_t k = 0; k < nd->n_out; k++)
            if (nd->out[k] >= 0)
                is_const[nd->out[k]] = true;
    }
    /* the results something outside the folded set reads */
    bool *inside = calloc((size_t)g->n_nodes + 1, sizeof *inside);
    KILN_ASSERT(inside);
    for (int32_t i = 0; i < n; i++)
        inside[nodes[i]->id] = true;
    int32_t n_want = 0;
    for (int32_t i = 0; i < n; i++) {
        for (int32_t k = 0; k < nodes[i]->n_out; k++) {
            int32_t v = nodes[i]->out[k];
            if (v < 0 || captured[v])
                continue;
            const struct kiln_value *val = g->values[v];
            bool outside = val->is_output;
            for (int32_t u = 0; u < val->n_uses && !outside; u++)
                outside = !inside[val->uses[u].node];
            if (outside)
                wanted[n_want++] = v;
        }
    }
    if (n_want > 0) {
        if (evaluate(pc, g, nodes, n, wanted, n_want)) {
            kiln_pass_count(pc, "nodes folded", n);
            kiln_pass_count(pc, "values folded", n_want);
        } else {
            /* one node at a time: what cannot be evaluated stays, with what needs
             * it (operands are then constants only once their producer folded) */
            for (int32_t i = 0; i < n; i++) {
                struct kiln_node *nd = nodes[i];
                if (!node_ok(g, nd, NULL))
                    continue;
                int32_t outs[64], n_out = 0;
                for (int32_t k = 0; k < nd->n_out && n_out < 64; k++)
                    if (nd->out[k] >= 0 && !captured[nd->out[k]])
                        outs[n_out++] = nd->out[k];
                if (n_out == 0)
                    continue;
                if (evaluate(pc, g, &nd, 1, outs, n_out)) {
                    kiln_pass_count(pc, "nodes folded", 1);
                    kiln_pass_count(pc, "values folded", n_out);
                } else {
                    kiln_pass_count(pc, "not foldable (no lowering)", 1);
                }
            }
        }
    }
    free(inside);
    free(wanted);
    free(nodes);
    free(is_const);
    free(captured);
    return KILN_OK;
}
