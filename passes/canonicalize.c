/*
 * canonicalize.c - the pass `canonicalize`: local simplifications run to a
 * fixed point by the pattern engine (rewrite.h).
 *
 *   identity            Identity(x) -> x
 *   dropout-inference   Dropout(x) with no mask used, not training -> x
 *   cast-noop           Cast/CastLike to x's own dtype -> x
 *   reshape-noop        Reshape/Flatten/Squeeze/Unsqueeze/Expand whose result has
 *                       x's type -> x
 *   reshape-chain       Reshape(R(x), s) -> Reshape(x, s) for a reshaping R, when
 *                       s is a constant without 0 entries (0 would copy R's dims)
 *   transpose-noop      Transpose(x) with the identity permutation -> x
 *   transpose-pair      Transpose(Transpose(x, p), q) -> Transpose(x, p o q), or x
 *   concat-single       Concat(x) -> x
 *   gemm-transb-const   Gemm(A, B) {transB = 1}, B constant -> Gemm(A, Transpose(B)): the
 *                       kernels walk B by rows; fold-constants computes the Transpose
 *   mul-one, add-zero, sub-zero, div-one, pow-one
 *                       x op c -> x when c is a constant of ones/zeros and the
 *                       result has x's type (broadcasting changes nothing)
 *
 * Requires: inferred types (patterns compare them). Establishes: none of the
 * above remains. A value that a sub-graph captures is left in place.
 * Complexity: linear in the graph (each pattern is O(1) but for constant scans).
 */
#include <string.h>

#include "rewrite.h"

/* Replace n's output `slot` with value `by` and erase n when nothing else uses it. */
static bool
forward(struct kiln_rewriter *rw, struct kiln_node *n, int slot, int32_t by)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    int32_t out = n->out[slot];
    if (out < 0 || by < 0 || !kiln_rewrite_replaceable(rw, out))
        return false;
    if (!kiln_type_eq(&g->values[out]->type, &g->values[by]->type))
        return false;
    for (int32_t i = 0; i < n->n_out; i++) {
        int32_t o = n->out[i];
        if (i != slot && o >= 0 && (g->values[o]->n_uses > 0 || g->values[o]->is_output))
            return false; /* another result is still needed */
    }
    if (g->values[out]->is_output && !g->parent) {
        /* a graph output's name is the model's interface: `by` takes it over, which
         * only a node result that is not itself an output or captured can do */
        const struct kiln_value *bv = g->values[by];
        if (bv->kind != KILN_VALUE_NODE || bv->is_output || !kiln_rewrite_replaceable(rw, by))
            return false;
        kiln_graph_swap_names(g, out, by);
    }
    kiln_rewrite_replace(rw, out, by);
    kiln_rewrite_erase(rw, n);
    return true;
}

static bool
identity(struct kiln_rewriter *rw, struct kiln_node *n)
{
    return forward(rw, n, 0, n->in[0]);
}

static bool
dropout_inference(struct kiln_rewriter *rw, struct kiln_node *n)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    if (g->opset >= 12 && n->n_in >= 3 && n->in[2] >= 0) {
        const struct kiln_tensor *t = kiln_rewrite_const(g, n->in[2]);
        if (!t || !kiln_tensor_all_equal(t, 0))
            return false; /* training mode, or not known to be off */
    }
    if (g->opset < 7 && kiln_node_attr_int(n, "is_test", 0) == 0)
        return false;
    return forward(rw, n, 0, n->in[0]);
}

static bool
cast_noop(struct kiln_rewriter *rw, struct kiln_node *n)
{
    return forward(rw, n, 0, n->in[0]); /* forward checks the types match */
}

static bool
reshape_noop(struct kiln_rewriter *rw, struct kiln_node *n)
{
    return forward(rw, n, 0, n->in[0]);
}

static bool
is_reshaping(enum kiln_op op)
{
    return op == KILN_OP_RESHAPE || op == KILN_OP_FLATTEN || op == KILN_OP_SQUEEZE ||
           op == KILN_OP_UNSQUEEZE;
}

static bool
reshape_chain(struct kiln_rewriter *rw, struct kiln_node *n)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    struct kiln_node *in = kiln_rewrite_producer(g, n->in[0]);
    if (!in || !is_reshaping(in->op) || n->n_in < 2)
        return false;
    const struct kiln_tensor *s = kiln_rewrite_const(g, n->in[1]);
    if (!s || kiln_node_attr_int(n, "allowzero", 0))
        return false;
    int64_t k = kiln_tensor_numel(s);
    for (int64_t i = 0; i < k; i++) {
        int64_t x;
        if (!kiln_tensor_get_i64(s, i, &x) || x == 0)
            return false;
    }
    kiln_node_set_input(g, n, 0, in->in[0]);
    kiln_rewrite_push(rw, n);
    kiln_rewrite_push(rw, in);
    if (kiln_rewrite_unused(rw, in->out[0]))
        kiln_rewrite_erase(rw, in);
    return true;
}

/* The permutation of a Transpose node (default: reversed axes); false if unknown. */
static bool
transpose_perm(const struct kiln_graph *g, const struct kiln_node *n, int64_t *perm, int *rank)
{
    const struct kiln_type *t = &g->values[n->in[0]]->type;
    if (t->rank < 0)
        return false;
    *rank = t->rank;
    int64_t len;
    const int64_t *p = kiln_node_attr_ints(n, "perm", &len);
    for (int i = 0; i < t->rank; i++)
        perm[i] = p ? (i < len ? p[i] : -1) : t->rank - 1 - i;
    return !p || len == t->rank;
}

static bool
transpose_noop(struct kiln_rewriter *rw, struct kiln_node *n)
{
    int64_t perm[KILN_MAX_RANK];
    int r;
    if (!transpose_perm(kiln_rewrite_graph(rw), n, perm, &r))
        return false;
    for (int i = 0; i < r; i++)
        if (perm[i] != i)
            return false;
    return forward(rw, n, 0, n->in[0]);
}

static bool
transpose_pair(struct kiln_rewriter *rw, struct kiln_node *n)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    struct kiln_node *in = kiln_rewrite_producer(g, n->in[0]);
    if (!in || in->op != KILN_OP_TRANSPOSE)
        return false;
    int64_t p[KILN_MAX_RANK], q[KILN_MAX_RANK], c[KILN_MAX_RANK];
    int rp, rq;
    if (!transpose_perm(g, in, p, &rp) || !transpose_perm(g, n, q, &rq) || rp != rq)
        return false;
    bool ident = true;
    for (int i = 0; i < rq; i++) {
        if (q[i] < 0 || q[i] >= rp)
            return false;
        c[i] = p[q[i]]; /* out[i] = mid[q[i]] = x[p[q[i]]] */
        ident &= c[i] == i;
    }
    if (ident && forward(rw, n, 0, in->in[0])) {
        if (kiln_rewrite_unused(rw, in->out[0]))
            kiln_rewrite_erase(rw, in);
        return true;
    }
    if (ident)
        return false;
    /* one transpose with the composed permutation */
    int64_t *perm = kiln_arena_array(g->arena, (size_t)rq, sizeof *perm);
    KILN_ASSERT(perm);
    memcpy(perm, c, (size_t)rq * sizeof *perm);
    struct kiln_attr a = {.name = "perm", .kind = KILN_ATTR_INTS, .n = rq, .ints = perm};
    kiln_node_set_attr(g, n, &a);
    kiln_node_set_input(g, n, 0, in->in[0]);
    kiln_rewrite_push(rw, n);
    kiln_rewrite_push(rw, in);
    if (kiln_rewrite_unused(rw, in->out[0]))
        kiln_rewrite_erase(rw, in);
    return true;
}

static bool
concat_single(struct kiln_rewriter *rw, struct kiln_node *n)
{
    return n->n_in == 1 && forward(rw, n, 0, n->in[0]);
}

/* x op c -> x when c is all `neutral`; `either` for commutative ops (c op x too). */
static bool
neutral_operand(struct kiln_rewriter *rw, struct kiln_node *n, double neutral, bool either)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    for (int side = 1; side >= (either ? 0 : 1); side--) {
        const struct kiln_tensor *c = kiln_rewrite_const(g, n->in[side]);
        if (c && kiln_tensor_all_equal(c, neutral) && forward(rw, n, 0, n->in[1 - side]))
            return true;
    }
    return false;
}

static bool
mul_one(struct kiln_rewriter *rw, struct kiln_node *n)
{
    return neutral_operand(rw, n, 1.0, true);
}

static bool
add_zero(struct kiln_rewriter *rw, struct kiln_node *n)
{
    return neutral_operand(rw, n, 0.0, true);
}

static bool
sub_zero(struct kiln_rewriter *rw, struct kiln_node *n)
{
    return neutral_operand(rw, n, 0.0, false);
}

static bool
div_one(struct kiln_rewriter *rw, struct kiln_node *n)
{
    return neutral_operand(rw, n, 1.0, false);
}

/*
 * Gemm(A, B, C) {transB = 1} with B a constant -> Gemm(A, Transpose(B), C): the
 * kernels walk B by rows, and fold-constants computes the Transpose once.
 */
static bool
gemm_transb_const(struct kiln_rewriter *rw, struct kiln_node *n)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    if (kiln_node_attr_int(n, "transB", 0) == 0 || n->n_in < 2 || !kiln_rewrite_const(g, n->in[1]))
        return false;
    const struct kiln_type *bt = &g->values[n->in[1]]->type;
    if (bt->rank != 2)
        return false;
    char name[300];
    const char *outs[1] = {
        kiln_rewrite_fresh_name(g, name, sizeof name, g->values[n->in[1]]->name, "T")};
    struct kiln_node *tr =
        kiln_graph_add_node(g, KILN_OP_TRANSPOSE, "", &n->in[1], 1, outs, 1, NULL);
    KILN_ASSERT(tr);
    struct kiln_attr *pa = kiln_arena_alloc(g->arena, sizeof *pa);
    int64_t *perm = kiln_arena_array(g->arena, 2, sizeof *perm);
    KILN_ASSERT(pa && perm);
    perm[0] = 1;
    perm[1] = 0;
    *pa = (struct kiln_attr){.name = "perm", .kind = KILN_ATTR_INTS, .n = 2, .ints = perm};
    KILN_ASSERT(!kiln_node_set_attrs(tr, pa, 1));
    struct kiln_type *tt = &g->values[tr->out[0]]->type;
    tt->dtype = bt->dtype;
    tt->rank = 2;
    tt->dims = kiln_arena_array(g->arena, 2, sizeof *tt->dims);
    KILN_ASSERT(tt->dims);
    tt->dims[0] = bt->dims[1];
    tt->dims[1] = bt->dims[0];
    /* transB = 0 now: the attribute array is rebuilt without it */
    struct kiln_attr *attrs = kiln_arena_array(g->arena, (size_t)n->n_attrs + 1, sizeof *attrs);
    KILN_ASSERT(attrs);
    int32_t na = 0;
    for (int32_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, "transB") != 0)
            attrs[na++] = n->attrs[i];
    KILN_ASSERT(!kiln_node_set_attrs(n, attrs, na));
    kiln_node_set_input(g, n, 1, tr->out[0]);
    kiln_rewrite_push(rw, tr);
    kiln_rewrite_push(rw, n);
    return true;
}

static const struct kiln_pattern patterns[] = {
    {"gemm-transb-const", KILN_OP_GEMM, gemm_transb_const},
    {"identity", KILN_OP_IDENTITY, identity},
    {"dropout-inference", KILN_OP_DROPOUT, dropout_inference},
    {"cast-noop", KILN_OP_CAST, cast_noop},
    {"cast-noop", KILN_OP_CAST_LIKE, cast_noop},
    {"reshape-chain", KILN_OP_RESHAPE, reshape_chain},
    {"reshape-noop", KILN_OP_RESHAPE, reshape_noop},
    {"reshape-noop", KILN_OP_FLATTEN, reshape_noop},
    {"reshape-noop", KILN_OP_SQUEEZE, reshape_noop},
    {"reshape-noop", KILN_OP_UNSQUEEZE, reshape_noop},
    {"reshape-noop", KILN_OP_EXPAND, reshape_noop},
    {"transpose-noop", KILN_OP_TRANSPOSE, transpose_noop},
    {"transpose-pair", KILN_OP_TRANSPOSE, transpose_pair},
    {"concat-single", KILN_OP_CONCAT, concat_single},
    {"mul-one", KILN_OP_MUL, mul_one},
    {"add-zero", KILN_OP_ADD, add_zero},
    {"sub-zero", KILN_OP_SUB, sub_zero},
    {"div-one", KILN_OP_DIV, div_one},
    {"pow-one", KILN_OP_POW, div_one},
};

enum kiln_status
kiln_pass_canonicalize(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    return kiln_rewrite_run(pc, g, patterns, (int)(sizeof patterns / sizeof patterns[0]));
}
