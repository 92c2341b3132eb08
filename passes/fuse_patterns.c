/*
 * fuse_patterns.c - the pass `fuse-patterns`: normalization and activation
 * sub-graphs that exporters write out op by op become the one ONNX op they
 * compute, which kiln lowers as one kernel (and `fuse` can then take into an
 * epilogue).
 *
 *   gelu-erf       x * 0.5 * (1 + Erf(x / sqrt(2)))  (any operand order, x * 0.7071
 *                  for the division, (x * (1 + Erf)) * 0.5)          -> Gelu(x)
 *   gelu-tanh      0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * Pow(x, 3))))
 *                                                                    -> Gelu(x, approximate=tanh)
 *   layer-norm     (x - Mean(x)) / Sqrt(Var + eps), Var = Mean((x - Mean(x))^2) or
 *                  Mean(x^2) - Mean(x)^2, means over the last axis with keepdims
 *                                                                    -> LayerNormalization(x, 1, 0)
 *   ln-scale       LayerNormalization(...) * c, c a constant [D]      -> its scale times c
 *   ln-bias        LayerNormalization(...) + c                        -> its bias plus c
 *   softmax        Exp(x - ReduceMax(x)) / ReduceSum(Exp(...)), or without the max,
 *                  over one axis with keepdims                       -> Softmax(x, axis)
 *   attention      MatMul(Softmax(MatMul(Q, Kt) / c [+ mask]), V), 4-D operands
 *                                                                    -> Attention(Q, K, V[, mask])
 *                  (rows whose mask is -inf everywhere come out 0, not NaN); this one
 *                  is the pass `fuse-attention` (kiln_pass_fuse_attention)
 *
 * A two-operand Sum counts as an Add (ONNX's function bodies write it so).
 * Constants are matched to 1e-4 relative (exporters round sqrt(2) and friends
 * differently); eps is read from the graph. Every intermediate of a pattern
 * must be used only inside it (and be no graph output), otherwise it stays.
 * Requires: inferred types. Complexity: linear (each match is O(1)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

/* ---------------------------------------------------------------- matching helpers */

#define MAX_INNER 16

/* The nodes a match consumed besides its root. */
struct match {
    struct kiln_node *inner[MAX_INNER];
    int n;
};

static void
take(struct match *mt, struct kiln_node *n)
{
    for (int i = 0; i < mt->n; i++)
        if (mt->inner[i] == n)
            return;
    if (mt->n < MAX_INNER)
        mt->inner[mt->n++] = n;
}

/* The producer of v when it has op `op`, else NULL (a two-operand Sum counts as an Add). */
static struct kiln_node *
def(const struct kiln_graph *g, int32_t v, enum kiln_op op)
{
    struct kiln_node *p = v >= 0 ? kiln_rewrite_producer(g, v) : NULL;
    if (p && op == KILN_OP_ADD && p->op == KILN_OP_SUM && p->n_in == 2)
        return p;
    return p && p->op == op ? p : NULL;
}

/* Whether v is a one-element float constant within 1e-4 (relative) of x. */
static bool
const_near(const struct kiln_graph *g, int32_t v, double x)
{
    const struct kiln_tensor *t = v >= 0 ? kiln_rewrite_const(g, v) : NULL;
    double e;
    if (!t || !kiln_dtype_is_float(t->dtype) || kiln_tensor_numel(t) != 1 ||
        !kiln_tensor_get_f64(t, 0, &e))
        return false;
    return fabs(e - x) <= 1e-4 * fabs(x) + 1e-12;
}

/* Binary n = op(v, c) in either order with c a constant near x: the operand v. */
static int32_t
with_const(const struct kiln_graph *g, const struct kiln_node *n, double x)
{
    if (!n || n->n_in != 2)
        return -1;
    if (const_near(g, n->in[1], x))
        return n->in[0];
    if (const_near(g, n->in[0], x))
        return n->in[1];
    return -1;
}

/*
 * The match stands when every value its inner nodes compute is used only by
 * the root and the inner nodes, and is no graph output.
 */
static bool
self_contained(struct kiln_rewriter *rw, const struct kiln_node *root, const struct match *mt)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    if (mt->n >= MAX_INNER)
        return false;
    for (int i = 0; i < mt->n; i++) {
        const struct kiln_node *n = mt->inner[i];
        for (int32_t k = 0; k < n->n_out; k++) {
            int32_t v = n->out[k];
            if (v < 0)
                continue;
            const struct kiln_value *val = g->values[v];
            if (val->is_output || !kiln_rewrite_replaceable(rw, v))
                return false;
            for (int32_t u = 0; u < val->n_uses; u++) {
                const struct kiln_node *user = g->nodes[val->uses[u].node];
                bool in = user == root;
                for (int j = 0; j < mt->n && !in; j++)
                    in = mt->inner[j] == user;
                if (!in)
                    return false;
            }
        }
    }
    return kiln_rewrite_replaceable(rw, root->out[0]);
}

static int
by_id_desc(const void *a, const void *b)
{
    const struct kiln_node *x = *(struct kiln_node *const *)a, *y = *(struct kiln_node *const *)b;
    return (x->id < y->id) - (x->id > y->id);
}

/* A new node of op over ins replacing root's result (which it names), attributes attrs. */
static struct kiln_node *
replace_root(struct kiln_rewriter *rw, struct kiln_node *root, struct match *mt, enum kiln_op op,
             const int32_t *ins, int n_ins, struct kiln_attr *attrs, int n_attrs)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    int32_t from = root->out[0];
    char name[300];
    const char *outs[1] = {
        kiln_rewrite_fresh_name(g, name, sizeof name, g->values[from]->name, kiln_op_name(op))};
    struct kiln_node *n = kiln_graph_add_node(g, op, root->name, ins, n_ins, outs, 1, NULL);
    KILN_ASSERT(n);
    if (n_attrs)
        KILN_ASSERT(!kiln_node_set_attrs(n, attrs, n_attrs));
    int32_t to = n->out[0];
    g->values[to]->type = g->values[from]->type;
    kiln_graph_swap_names(g, from, to);
    kiln_rewrite_replace(rw, from, to);
    kiln_rewrite_erase(rw, root);
    /* consumers before producers, so each is unused when it goes */
    qsort(mt->inner, (size_t)mt->n, sizeof *mt->inner, by_id_desc);
    for (int i = 0; i < mt->n; i++)
        kiln_rewrite_erase(rw, mt->inner[i]);
    kiln_rewrite_push(rw, n);
    return n;
}

static struct kiln_attr *
attrs_new(struct kiln_graph *g, int n)
{
    struct kiln_attr *a = kiln_arena_array(g->arena, (size_t)n, sizeof *a);
    KILN_ASSERT(a);
    return a;
}

/*
 * The one axis a Reduce* node n reduces, normalized to [0, rank), when it keeps
 * dims; -1 otherwise. Axes come from input 1 (ReduceSum-13, the rest from 18)
 * or the attribute.
 */
static int
reduce_axis(const struct kiln_graph *g, const struct kiln_node *n)
{
    const struct kiln_type *t = &g->values[n->in[0]]->type;
    if (t->rank < 1 || kiln_node_attr_int(n, "keepdims", 1) != 1)
        return -1;
    int64_t axis, len = 0;
    if (n->n_in > 1 && n->in[1] >= 0) {
        const struct kiln_tensor *at = kiln_rewrite_const(g, n->in[1]);
        if (!at || kiln_tensor_numel(at) != 1 || !kiln_tensor_get_i64(at, 0, &axis))
            return -1;
    } else {
        const int64_t *a = kiln_node_attr_ints(n, "axes", &len);
        if (!a || len != 1)
            return -1;
        axis = a[0];
    }
    if (axis < 0)
        axis += t->rank;
    return axis >= 0 && axis < t->rank ? (int)axis : -1;
}

/* ---------------------------------------------------------------- GELU */

/* 1 + Erf(x / sqrt 2) (or x * 1/sqrt 2): its x, or -1. */
static int32_t
erf_term(const struct kiln_graph *g, int32_t v, struct match *mt)
{
    struct kiln_node *add = def(g, v, KILN_OP_ADD);
    int32_t e = with_const(g, add, 1.0);
    struct kiln_node *erf = def(g, e, KILN_OP_ERF);
    if (!erf)
        return -1;
    int32_t arg = erf->in[0], x = -1;
    struct kiln_node *d = def(g, arg, KILN_OP_DIV), *m = def(g, arg, KILN_OP_MUL);
    if (d && const_near(g, d->in[1], M_SQRT2))
        x = d->in[0];
    else if (m)
        x = with_const(g, m, M_SQRT1_2);
    if (x < 0)
        return -1;
    take(mt, add);
    take(mt, erf);
    take(mt, d ? d : m);
    return x;
}

/* 1 + Tanh(sqrt(2/pi) * (x + 0.044715 * Pow(x, 3))): its x, or -1. */
static int32_t
tanh_term(const struct kiln_graph *g, int32_t v, struct match *mt)
{
    struct kiln_node *add = def(g, v, KILN_OP_ADD);
    struct kiln_node *th = def(g, with_const(g, add, 1.0), KILN_OP_TANH);
    if (!th)
        return -1;
    struct kiln_node *sc = def(g, th->in[0], KILN_OP_MUL);
    struct kiln_node *inner = def(g, with_const(g, sc, sqrt(2.0 / M_PI)), KILN_OP_ADD);
    if (!inner)
        return -1;
    for (int i = 0; i < 2; i++) {
        int32_t x = inner->in[i];
        struct kiln_node *cube_mul = def(g, inner->in[1 - i], KILN_OP_MUL);
        struct kiln_node *pw = def(g, with_const(g, cube_mul, 0.044715), KILN_OP_POW);
        if (!pw || pw->in[0] != x || !const_near(g, pw->in[1], 3.0))
            continue;
        take(mt, add);
        take(mt, th);
        take(mt, sc);
        take(mt, inner);
        take(mt, cube_mul);
        take(mt, pw);
        return x;
    }
    return -1;
}

static int32_t
gelu_term(const struct kiln_graph *g, int32_t v, struct match *mt, bool *tanh_form)
{
    int32_t x = erf_term(g, v, mt);
    *tanh_form = false;
    if (x < 0 && (x = tanh_term(g, v, mt)) >= 0)
        *tanh_form = true;
    return x;
}

static bool
gelu(struct kiln_rewriter *rw, struct kiln_node *root)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    if (root->n_in != 2 || !kiln_dtype_is_float(g->values[root->out[0]]->type.dtype))
        return false;
    for (int i = 0; i < 2; i++) {
        struct match mt = {.n = 0};
        bool tf;
        int32_t x = -1;
        int32_t a = root->in[i], b = root->in[1 - i];
        /* (x * 0.5) * term */
        struct kiln_node *half = def(g, a, KILN_OP_MUL);
        int32_t hx = with_const(g, half, 0.5);
        if (hx >= 0 && (x = gelu_term(g, b, &mt, &tf)) == hx) {
            take(&mt, half);
        } else {
            /* (x * term) * 0.5 */
            mt.n = 0;
            x = -1;
            struct kiln_node *xm = def(g, a, KILN_OP_MUL);
            if (!xm || !const_near(g, b, 0.5))
                continue;
            for (int k = 0; k < 2 && x < 0; k++) {
                mt.n = 0;
                if (gelu_term(g, xm->in[1 - k], &mt, &tf) == xm->in[k])
                    x = xm->in[k];
            }
            if (x < 0)
                continue;
            take(&mt, xm);
        }
        if (!kiln_type_eq(&g->values[x]->type, &g->values[root->out[0]]->type) ||
            !self_contained(rw, root, &mt))
            continue;
        struct kiln_attr *at = NULL;
        int n_at = 0;
        if (tf) {
            at = attrs_new(g, 1);
            at[0] = (struct kiln_attr){
                .name = "approximate", .kind = KILN_ATTR_STRING, .s = "tanh", .s_len = 4};
            n_at = 1;
        }
        replace_root(rw, root, &mt, KILN_OP_GELU, &x, 1, at, n_at);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------- LayerNormalization */

/* A constant f32 tensor of `len` elements, all `v`, named after `base`. */
static int32_t
filled_const(struct kiln_graph *g, const char *base, const char *what, int64_t len, float v)
{
    struct kiln_tensor *t = kiln_arena_alloc(g->arena, sizeof *t);
    KILN_ASSERT(t);
    t->dtype = KILN_DT_F32;
    t->rank = 1;
    t->dims = kiln_arena_array(g->arena, 1, sizeof *t->dims);
    KILN_ASSERT(t->dims);
    t->dims[0] = len;
    t->nbytes = (uint64_t)len * 4;
    float *d = kiln_arena_array(g->arena, (size_t)len, sizeof *d);
    KILN_ASSERT(d);
    for (int64_t i = 0; i < len; i++)
        d[i] = v;
    t->data = d;
    char name[300];
    return kiln_graph_add_const(g, kiln_rewrite_fresh_name(g, name, sizeof name, base, what), t);
}

/* v = Pow(of, 2) or Mul(of, of): its node, else NULL. */
static struct kiln_node *
square_of(const struct kiln_graph *g, int32_t v, int32_t of)
{
    struct kiln_node *pw = def(g, v, KILN_OP_POW), *mul = def(g, v, KILN_OP_MUL);
    if (pw && pw->in[0] == of && const_near(g, pw->in[1], 2.0))
        return pw;
    if (mul && mul->in[0] == of && mul->in[1] == of)
        return mul;
    return NULL;
}

static bool
layer_norm(struct kiln_rewriter *rw, struct kiln_node *root)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    struct match mt = {.n = 0};
    const struct kiln_type *yt = &g->values[root->out[0]]->type;
    if (yt->dtype != KILN_DT_F32 || yt->rank < 1 || !kiln_dim_is_const(yt->dims[yt->rank - 1]))
        return false;
    int last = yt->rank - 1;
    struct kiln_node *sub = def(g, root->in[0], KILN_OP_SUB);
    struct kiln_node *sq = def(g, root->in[1], KILN_OP_SQRT);
    if (!sub || !sq)
        return false;
    int32_t x = sub->in[0];
    struct kiln_node *mean = def(g, sub->in[1], KILN_OP_REDUCE_MEAN);
    if (!mean || mean->in[0] != x || reduce_axis(g, mean) != last)
        return false;
    struct kiln_node *add = def(g, sq->in[0], KILN_OP_ADD);
    if (!add)
        return false;
    /* Var + eps: eps is the constant operand */
    int k = kiln_rewrite_const(g, add->in[1]) ? 0 : kiln_rewrite_const(g, add->in[0]) ? 1 : -1;
    if (k < 0)
        return false;
    const struct kiln_tensor *eps_t = kiln_rewrite_const(g, add->in[1 - k]);
    double eps;
    if (!eps_t || kiln_tensor_numel(eps_t) != 1 || !kiln_tensor_get_f64(eps_t, 0, &eps) ||
        !(eps >= 0))
        return false;
    /* the variance: Mean((x - mean)^2), or Mean(x^2) - mean^2 */
    struct kiln_node *var = def(g, add->in[k], KILN_OP_REDUCE_MEAN);
    struct kiln_node *vsub = var ? NULL : def(g, add->in[k], KILN_OP_SUB), *msq = NULL;
    int32_t sq_of = sub->out[0];
    if (vsub) {
        var = def(g, vsub->in[0], KILN_OP_REDUCE_MEAN);
        msq = square_of(g, vsub->in[1], mean->out[0]);
        sq_of = x;
        if (!msq)
            return false;
    }
    if (!var || reduce_axis(g, var) != last)
        return false;
    struct kiln_node *xsq = square_of(g, var->in[0], sq_of);
    if (!xsq || !kiln_type_eq(&g->values[x]->type, yt))
        return false;
    take(&mt, sub);
    take(&mt, mean);
    take(&mt, sq);
    take(&mt, add);
    take(&mt, var);
    take(&mt, xsq);
    if (vsub) {
        take(&mt, vsub);
        take(&mt, msq);
    }
    if (!self_contained(rw, root, &mt))
        return false;
    int64_t d = yt->dims[last].n;
    const char *base = g->values[root->out[0]]->name;
    int32_t ins[3] = {x, filled_const(g, base, "scale", d, 1.0f),
                      filled_const(g, base, "bias", d, 0.0f)};
    struct kiln_attr *at = attrs_new(g, 2);
    at[0] = (struct kiln_attr){.name = "axis", .kind = KILN_ATTR_INT, .i = -1};
    at[1] = (struct kiln_attr){.name = "epsilon", .kind = KILN_ATTR_FLOAT, .f = (float)eps};
    replace_root(rw, root, &mt, KILN_OP_LAYER_NORMALIZATION, ins, 3, at, 2);
    return true;
}

/*
 * LayerNormalization(x, s, b) then * c or + c, c a constant of the normalized
 * length (or one element): the scale and bias absorb it.
 */
static bool
ln_affine(struct kiln_rewriter *rw, struct kiln_node *root)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    bool scale = root->op == KILN_OP_MUL;
    for (int i = 0; i < 2; i++) {
        struct kiln_node *ln = def(g, root->in[i], KILN_OP_LAYER_NORMALIZATION);
        const struct kiln_tensor *c = kiln_rewrite_const(g, root->in[1 - i]);
        if (!ln || !c || c->dtype != KILN_DT_F32 || ln->n_in < 2)
            continue;
        const struct kiln_value *lv = g->values[ln->out[0]];
        if (lv->n_uses != 1 || lv->is_output || ln->n_out > 1 || lv->type.dtype != KILN_DT_F32 ||
            (kiln_node_attr_int(ln, "axis", -1) != -1 &&
             kiln_node_attr_int(ln, "axis", -1) != lv->type.rank - 1) ||
            !kiln_type_eq(&lv->type, &g->values[root->out[0]]->type))
            continue;
        const struct kiln_type *t = &lv->type;
        int64_t d = t->dims[t->rank - 1].n;
        int64_t cn = kiln_tensor_numel(c);
        bool fits = cn == 1 || (cn == d && c->rank >= 1 && c->dims[c->rank - 1] == d);
        const struct kiln_tensor *s = kiln_rewrite_const(g, ln->in[1]);
        const struct kiln_tensor *b =
            ln->n_in > 2 && ln->in[2] >= 0 ? kiln_rewrite_const(g, ln->in[2]) : NULL;
        if (!fits || !s || kiln_tensor_numel(s) != d || s->dtype != KILN_DT_F32 ||
            (ln->n_in > 2 && ln->in[2] >= 0 && (!b || kiln_tensor_numel(b) != d)) ||
            !kiln_dim_is_const(t->dims[t->rank - 1]))
            continue;
        const char *base = g->values[root->out[0]]->name;
        int32_t ns = filled_const(g, base, "scale", d, 0), nb = filled_const(g, base, "bias", d, 0);
        float *sd = (float *)g->values[ns]->data->data, *bd = (float *)g->values[nb]->data->data;
        for (int64_t j = 0; j < d; j++) {
            double sv, bv = 0, cv;
            kiln_tensor_get_f64(s, j, &sv);
            if (b)
                kiln_tensor_get_f64(b, j, &bv);
            kiln_tensor_get_f64(c, cn == 1 ? 0 : j, &cv);
            sd[j] = (float)(scale ? sv * cv : sv);
            bd[j] = (float)(scale ? bv * cv : bv + cv);
        }
        struct match mt = {.n = 0};
        take(&mt, ln);
        struct kiln_attr *at = attrs_new(g, ln->n_attrs ? ln->n_attrs : 1);
        memcpy(at, ln->attrs, (size_t)ln->n_attrs * sizeof *at);
        int32_t ins[3] = {ln->in[0], ns, nb};
        replace_root(rw, root, &mt, KILN_OP_LAYER_NORMALIZATION, ins, 3, at, ln->n_attrs);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------- Softmax */

static bool
softmax(struct kiln_rewriter *rw, struct kiln_node *root)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    struct match mt = {.n = 0};
    struct kiln_node *ex = def(g, root->in[0], KILN_OP_EXP);
    struct kiln_node *sum = def(g, root->in[1], KILN_OP_REDUCE_SUM);
    const struct kiln_type *yt = &g->values[root->out[0]]->type;
    if (!ex || !sum || sum->in[0] != ex->out[0] || !kiln_dtype_is_float(yt->dtype))
        return false;
    int axis = reduce_axis(g, sum);
    if (axis < 0)
        return false;
    int32_t x = ex->in[0];
    struct kiln_node *sub = def(g, x, KILN_OP_SUB);
    struct kiln_node *mx = sub ? def(g, sub->in[1], KILN_OP_REDUCE_MAX) : NULL;
    if (mx && mx->in[0] == sub->in[0] && reduce_axis(g, mx) == axis) {
        x = sub->in[0];
        take(&mt, sub);
        take(&mt, mx);
    }
    take(&mt, ex);
    take(&mt, sum);
    /* before opset 13 Softmax flattens from its axis on: the same only for the last */
    if ((g->opset < 13 && axis != yt->rank - 1) || !kiln_type_eq(&g->values[x]->type, yt) ||
        !self_contained(rw, root, &mt))
        return false;
    struct kiln_attr *at = attrs_new(g, 1);
    at[0] = (struct kiln_attr){.name = "axis", .kind = KILN_ATTR_INT, .i = axis};
    replace_root(rw, root, &mt, KILN_OP_SOFTMAX, &x, 1, at, 1);
    return true;
}

/* ---------------------------------------------------------------- attention */

/* Whether types a and b agree on dims [0, n). */
static bool
lead_dims_eq(const struct kiln_type *a, const struct kiln_type *b, int n)
{
    for (int i = 0; i < n; i++)
        if (!kiln_dim_eq(a->dims[i], b->dims[i]) || kiln_dim_is_unknown(a->dims[i]))
            return false;
    return true;
}

/*
 * MatMul(Softmax(MatMul(Q, Kt) * scale [+ mask]), V) over 4-D [B, H, S, D]
 * operands -> Attention(Q, Transpose(Kt), V[, mask]) {scale}: one kernel
 * that never writes the [S, L] scores out per head. Kt is [B, H, D, L]; the
 * Transpose this adds usually cancels against the exporter's (canonicalize).
 * The scale is a Div or Mul by a constant, or absent (1).
 */
static bool
attention(struct kiln_rewriter *rw, struct kiln_node *root)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    struct match mt = {.n = 0};
    struct kiln_node *sm = def(g, root->in[0], KILN_OP_SOFTMAX);
    const struct kiln_type *yt = &g->values[root->out[0]]->type;
    if (!sm || yt->rank != 4 || !kiln_dtype_is_float(yt->dtype))
        return false;
    int64_t ax = kiln_node_attr_int(sm, "axis", -1);
    if (ax != -1 && ax != 3)
        return false;
    take(&mt, sm);
    int32_t z = sm->in[0], mask = -1;
    struct kiln_node *add = def(g, z, KILN_OP_ADD);
    if (add) { /* the mask is the operand that is not the scaled scores */
        for (int i = 0; i < 2 && mask < 0; i++) {
            struct kiln_node *p = kiln_rewrite_producer(g, add->in[i]);
            if (p && (p->op == KILN_OP_DIV || p->op == KILN_OP_MUL || p->op == KILN_OP_MATMUL)) {
                z = add->in[i];
                mask = add->in[1 - i];
            }
        }
        if (mask < 0)
            return false;
        take(&mt, add);
    }
    double scale = 1.0;
    struct kiln_node *sc = kiln_rewrite_producer(g, z);
    if (sc && (sc->op == KILN_OP_DIV || sc->op == KILN_OP_MUL)) {
        int ci = sc->op == KILN_OP_DIV ? 1 : kiln_rewrite_const(g, sc->in[1]) ? 1 : 0;
        const struct kiln_tensor *ct = kiln_rewrite_const(g, sc->in[ci]);
        double c;
        if (!ct || kiln_tensor_numel(ct) != 1 || !kiln_tensor_get_f64(ct, 0, &c) || c == 0)
            return false;
        scale = sc->op == KILN_OP_DIV ? 1.0 / c : c;
        z = sc->in[1 - ci];
        take(&mt, sc);
    }
    struct kiln_node *qk = def(g, z, KILN_OP_MATMUL);
    if (!qk)
        return false;
    take(&mt, qk);
    int32_t q = qk->in[0], kt = qk->in[1], v = root->in[1];
    const struct kiln_type *qt = &g->values[q]->type, *kt_t = &g->values[kt]->type;
    const struct kiln_type *vt = &g->values[v]->type;
    if (qt->rank != 4 || kt_t->rank != 4 || vt->rank != 4 || qt->dtype != yt->dtype ||
        !lead_dims_eq(qt, kt_t, 2) || !lead_dims_eq(qt, vt, 2) ||
        !kiln_dim_eq(kt_t->dims[3], vt->dims[2]) || !kiln_dim_eq(qt->dims[3], kt_t->dims[2]))
        return false;
    if (mask >= 0) {
        /* Attention pads a mask shorter than L with -inf where Add would broadcast
         * it: the mask must span L itself, and not widen the scores */
        const struct kiln_type *mt_t = &g->values[mask]->type;
        if (mt_t->dtype != qt->dtype || mt_t->rank < 1 || mt_t->rank > 4 ||
            !kiln_dim_eq(mt_t->dims[mt_t->rank - 1], kt_t->dims[3]) ||
            !kiln_type_eq(&g->values[add->out[0]]->type, &g->values[z]->type))
            return false;
    }
    if (!self_contained(rw, root, &mt))
        return false;
    /* K = Kt with its last two axes swapped */
    char name[300];
    const char *outs[1] = {
        kiln_rewrite_fresh_name(g, name, sizeof name, g->values[kt]->name, "kT")};
    struct kiln_node *tr = kiln_graph_add_node(g, KILN_OP_TRANSPOSE, "", &kt, 1, outs, 1, NULL);
    KILN_ASSERT(tr);
    struct kiln_attr *ta = attrs_new(g, 1);
    int64_t *perm = kiln_arena_array(g->arena, 4, sizeof *perm);
    KILN_ASSERT(perm);
    perm[0] = 0, perm[1] = 1, perm[2] = 3, perm[3] = 2;
    ta[0] = (struct kiln_attr){.name = "perm", .kind = KILN_ATTR_INTS, .n = 4, .ints = perm};
    KILN_ASSERT(!kiln_node_set_attrs(tr, ta, 1));
    struct kiln_type *k_t = &g->values[tr->out[0]]->type;
    *k_t = *kt_t;
    k_t->dims = kiln_arena_array(g->arena, 4, sizeof *k_t->dims);
    KILN_ASSERT(k_t->dims);
    memcpy(k_t->dims, kt_t->dims, 4 * sizeof *k_t->dims);
    k_t->dims[2] = kt_t->dims[3];
    k_t->dims[3] = kt_t->dims[2];
    kiln_rewrite_push(rw, tr);
    struct kiln_attr *at = attrs_new(g, 1);
    at[0] = (struct kiln_attr){.name = "scale", .kind = KILN_ATTR_FLOAT, .f = (float)scale};
    int32_t ins[4] = {q, tr->out[0], v, mask};
    replace_root(rw, root, &mt, KILN_OP_ATTENTION, ins, mask >= 0 ? 4 : 3, at, 1);
    return true;
}

static const struct kiln_pattern patterns[] = {
    {"gelu", KILN_OP_MUL, gelu},          {"layer-norm", KILN_OP_DIV, layer_norm},
    {"ln-scale", KILN_OP_MUL, ln_affine}, {"ln-bias", KILN_OP_ADD, ln_affine},
    {"softmax", KILN_OP_DIV, softmax},
};

static const struct kiln_pattern attention_patterns[] = {
    {"attention", KILN_OP_MATMUL, attention},
};

enum kiln_status
kiln_pass_fuse_patterns(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    return kiln_rewrite_run(pc, g, patterns, (int)(sizeof patterns / sizeof patterns[0]));
}

/* The attention pattern as a pass of its own (`fuse-attention`): whether one
 * Attention kernel beats MatMul, Softmax and MatMul kernels depends on the
 * kernels, so the pipelines choose (it shares this file's matchers). */
enum kiln_status
kiln_pass_fuse_attention(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    return kiln_rewrite_run(pc, g, attention_patterns, 1);
}
