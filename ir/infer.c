/*
 * infer.c - type and shape inference: the driver over a graph and the helper
 * API that the per-family shape functions (shape_*.c) use.
 *
 * For each live node in order: check its arity against the op table, check its
 * operands are typed, infer its sub-graphs first (so If/Loop/Scan see typed
 * body outputs), call the op's shape function, then merge with any type that
 * was declared on the outputs beforehand (ONNX value_info / graph outputs).
 *
 * Known integer contents ("known values") of small integer tensors are tracked
 * alongside, per value id, for the duration of one run, so that exporter shape
 * arithmetic (Shape -> Gather -> Concat -> Reshape) yields exact shapes. They are
 * derived data and are not stored in the graph.
 *
 * The algebra on symbolic dims is in dim.c.
 *
 * Cost: one pass over the nodes, O(nodes + values) plus the shape functions.
 */
#include "shape.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Largest constant turned into known values (elements). */
#define KILN_KNOWN_MAX 1024

struct kiln_known {
    struct kiln_dim *vals;
    int64_t n;
    bool set;
};

/* ---------------------------------------------------------------- context accessors */

int
kiln_infer_n_in(const struct kiln_infer_ctx *ic)
{
    return ic->n->n_in;
}

int
kiln_infer_n_out(const struct kiln_infer_ctx *ic)
{
    return ic->n->n_out;
}

const struct kiln_type *
kiln_infer_in(const struct kiln_infer_ctx *ic, int i)
{
    if (i < 0 || i >= ic->n->n_in || ic->n->in[i] < 0)
        return NULL;
    return &ic->g->values[ic->n->in[i]]->type;
}

const struct kiln_tensor *
kiln_infer_in_const(const struct kiln_infer_ctx *ic, int i)
{
    if (i < 0 || i >= ic->n->n_in || ic->n->in[i] < 0)
        return NULL;
    const struct kiln_value *v = ic->g->values[ic->n->in[i]];
    if (v->kind == KILN_VALUE_CAPTURE) {
        /* a captured outer constant is as constant as a local one */
        const struct kiln_graph *g = ic->g;
        while (v->kind == KILN_VALUE_CAPTURE && g->parent) {
            v = g->parent->values[v->outer];
            g = g->parent;
        }
    }
    if (v->kind != KILN_VALUE_CONST || !v->data || !v->data->data)
        return NULL;
    return v->data;
}

bool
kiln_infer_value_known(const struct kiln_infer_ctx *ic, int32_t id, const struct kiln_dim **vals,
                       int64_t *n)
{
    if (id < 0 || !ic->known || id >= ic->n_known || !ic->known[id].set)
        return false;
    *vals = ic->known[id].vals;
    *n = ic->known[id].n;
    return true;
}

bool
kiln_infer_in_known(const struct kiln_infer_ctx *ic, int i, const struct kiln_dim **vals,
                    int64_t *n)
{
    if (i < 0 || i >= ic->n->n_in || ic->n->in[i] < 0)
        return false;
    int32_t id = ic->n->in[i];
    if (ic->known && id < ic->n_known && ic->known[id].set) {
        *vals = ic->known[id].vals;
        *n = ic->known[id].n;
        return true;
    }
    const struct kiln_tensor *t = kiln_infer_in_const(ic, i);
    if (!t || !(kiln_dtype_is_int(t->dtype) || t->dtype == KILN_DT_BOOL) ||
        kiln_dtype_flags(t->dtype) & KILN_DTF_STORAGE)
        return false;
    int64_t numel = kiln_tensor_numel(t);
    if (numel < 0 || numel > KILN_KNOWN_MAX)
        return false;
    struct kiln_dim *d = kiln_arena_array(ic->g->arena, (size_t)(numel ? numel : 1), sizeof *d);
    if (!d)
        return false;
    for (int64_t k = 0; k < numel; k++) {
        int64_t x;
        if (!kiln_tensor_get_i64(t, k, &x))
            return false;
        if (x == KILN_DIM_UNKNOWN)
            return false;         /* INT64_MIN is the unknown marker; such contents stay unknown */
        d[k] = kiln_dim_const(x); /* may be negative: see kiln_dim_is_int */
    }
    if (ic->known && id < ic->n_known) {
        ic->known[id].vals = d;
        ic->known[id].n = numel;
        ic->known[id].set = true;
    }
    *vals = d;
    *n = numel;
    return true;
}

bool
kiln_infer_has_out(const struct kiln_infer_ctx *ic, int i)
{
    return i >= 0 && i < ic->n->n_out && ic->n->out[i] >= 0;
}

void
kiln_infer_set_out(struct kiln_infer_ctx *ic, int i, enum kiln_dtype dt, int rank,
                   const struct kiln_dim *dims)
{
    if (!kiln_infer_has_out(ic, i))
        return;
    KILN_ASSERT(rank <= KILN_MAX_RANK);
    struct kiln_value *v = ic->g->values[ic->n->out[i]];
    v->type.dtype = dt;
    v->type.rank = rank;
    v->type.dims =
        kiln_arena_array(ic->g->arena, (size_t)(rank > 0 ? rank : 1), sizeof *v->type.dims);
    KILN_ASSERT(v->type.dims);
    for (int k = 0; k < rank; k++)
        v->type.dims[k] = dims[k];
}

void
kiln_infer_set_out_type(struct kiln_infer_ctx *ic, int i, const struct kiln_type *t)
{
    kiln_infer_set_out(ic, i, t->dtype, t->rank, t->dims);
}

void
kiln_infer_set_out_known(struct kiln_infer_ctx *ic, int i, const struct kiln_dim *vals, int64_t n)
{
    if (!kiln_infer_has_out(ic, i) || !ic->known || n < 0 || n > KILN_KNOWN_MAX)
        return;
    int32_t id = ic->n->out[i];
    if (id >= ic->n_known)
        return;
    struct kiln_dim *d = kiln_arena_array(ic->g->arena, (size_t)(n ? n : 1), sizeof *d);
    KILN_ASSERT(d);
    if (n)
        memcpy(d, vals, (size_t)n * sizeof *d);
    ic->known[id].vals = d;
    ic->known[id].n = n;
    ic->known[id].set = true;
}

static enum kiln_status
infer_vfail(struct kiln_infer_ctx *ic, enum kiln_status st, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    kiln_diag_node(ic->d, ic->n->name, ic->n->id, kiln_op_name(ic->n->op), "%s", msg);
    return st;
}

enum kiln_status
kiln_infer_fail(struct kiln_infer_ctx *ic, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum kiln_status st = infer_vfail(ic, KILN_ERR_INVALID, fmt, ap);
    va_end(ap);
    return st;
}

enum kiln_status
kiln_infer_unsupported(struct kiln_infer_ctx *ic, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum kiln_status st = infer_vfail(ic, KILN_ERR_UNSUPPORTED, fmt, ap);
    va_end(ap);
    return st;
}

struct kiln_dim *
kiln_infer_dims(struct kiln_infer_ctx *ic, int n)
{
    struct kiln_dim *d = kiln_arena_array(ic->g->arena, (size_t)(n > 0 ? n : 1), sizeof *d);
    KILN_ASSERT(d);
    for (int i = 0; i < n; i++)
        d[i] = kiln_dim_unknown();
    return d;
}

const struct kiln_type *
kiln_infer_need_in(struct kiln_infer_ctx *ic, int i, const char *what)
{
    const struct kiln_type *t = kiln_infer_in(ic, i);
    if (!t)
        kiln_infer_fail(ic, "input %d (%s) is required", i, what);
    return t;
}

void
kiln_infer_set_like(struct kiln_infer_ctx *ic, int out, const struct kiln_type *t,
                    enum kiln_dtype dt)
{
    kiln_infer_set_out(ic, out, dt, t->rank, t->rank > 0 ? t->dims : NULL);
}

/* ---------------------------------------------------------------- shared helpers */

static struct kiln_dim simpler_dim(struct kiln_dim a, struct kiln_dim b);

enum kiln_status
kiln_infer_broadcast(struct kiln_infer_ctx *ic, const struct kiln_type *a,
                     const struct kiln_type *b, struct kiln_type *out)
{
    out->dtype = a->dtype;
    if (a->rank < 0 || b->rank < 0) {
        out->rank = -1;
        out->dims = NULL;
        return KILN_OK;
    }
    int r = a->rank > b->rank ? a->rank : b->rank;
    out->rank = r;
    out->dims = kiln_infer_dims(ic, r);
    for (int i = 0; i < r; i++) {
        int ia = a->rank - r + i, ib = b->rank - r + i;
        struct kiln_dim x = ia >= 0 ? a->dims[ia] : kiln_dim_const(1);
        struct kiln_dim y = ib >= 0 ? b->dims[ib] : kiln_dim_const(1);
        struct kiln_dim o;
        if (kiln_dim_is_const(x) && x.n == 1)
            o = y;
        else if (kiln_dim_is_const(y) && y.n == 1)
            o = x;
        else if (kiln_dim_eq(x, y))
            o = x;
        else if (kiln_dim_is_const(x) && kiln_dim_is_const(y)) {
            char sa[32], sb[32];
            kiln_dim_format(x, sa, sizeof sa);
            kiln_dim_format(y, sb, sizeof sb);
            return kiln_infer_fail(ic,
                                   "cannot broadcast dimension %s with %s (axis %d of the "
                                   "result)",
                                   sa, sb, i);
        } else if (kiln_dim_is_const(x))
            o = x; /* the other side must be x or 1: either way x */
        else if (kiln_dim_is_const(y))
            o = y;
        else if (kiln_dim_is_unknown(x) || kiln_dim_is_unknown(y))
            o = kiln_dim_unknown();
        else {
            /* two different symbolic sizes: equal at run time (checked there;
             * one of them being 1 is refused rather than broadcast) */
            o = simpler_dim(x, y);
            kiln_infer_assume_eq(ic, x, y);
        }
        out->dims[i] = o;
    }
    return KILN_OK;
}

static void
assume(struct kiln_infer_ctx *ic, struct kiln_dim a, struct kiln_dim b, bool ge)
{
    struct kiln_graph *top = ic->g;
    while (top->parent)
        top = top->parent;
    for (int32_t i = 0; i < top->n_assumes; i++) {
        const struct kiln_dim_assume *x = &top->assumes[i];
        if (x->ge == ge && ((kiln_dim_eq(x->a, a) && kiln_dim_eq(x->b, b)) ||
                            (!ge && kiln_dim_eq(x->a, b) && kiln_dim_eq(x->b, a))))
            return;
    }
    if (top->n_assumes == top->cap_assumes) {
        int32_t cap = top->cap_assumes ? top->cap_assumes * 2 : 8;
        struct kiln_dim_assume *p = kiln_arena_grow(top->arena, top->assumes,
                                                    (size_t)top->n_assumes, (size_t)cap, sizeof *p);
        KILN_ASSERT(p);
        top->assumes = p;
        top->cap_assumes = cap;
    }
    top->assumes[top->n_assumes++] = (struct kiln_dim_assume){a, b, ge};
}

void
kiln_infer_assume_eq(struct kiln_infer_ctx *ic, struct kiln_dim a, struct kiln_dim b)
{
    if (kiln_dim_is_unknown(a) || kiln_dim_is_unknown(b) || kiln_dim_eq(a, b))
        return;
    assume(ic, a, b, false);
}

void
kiln_infer_assume_ge(struct kiln_infer_ctx *ic, struct kiln_dim a, struct kiln_dim b)
{
    if (kiln_dim_is_unknown(a) || kiln_dim_is_unknown(b) || kiln_dim_nonneg(kiln_dim_sub(a, b)))
        return;
    assume(ic, a, b, true);
}

/* The simpler of two dims: a constant, a monomial, then the shorter expression. */
static struct kiln_dim
simpler_dim(struct kiln_dim a, struct kiln_dim b)
{
    if (kiln_dim_is_const(a) || kiln_dim_is_const(b))
        return kiln_dim_is_const(a) ? a : b;
    if (kiln_dim_is_expr(a) != kiln_dim_is_expr(b))
        return kiln_dim_is_expr(a) ? b : a;
    size_t la = strlen(a.sym), lb = strlen(b.sym);
    return la < lb || (la == lb && strcmp(a.sym, b.sym) <= 0) ? a : b;
}

bool
kiln_infer_merge(struct kiln_infer_ctx *ic, struct kiln_dim a, struct kiln_dim b,
                 struct kiln_dim *out)
{
    if (kiln_dim_is_unknown(a) || kiln_dim_is_unknown(b) || kiln_dim_eq(a, b) ||
        (kiln_dim_is_const(a) && kiln_dim_is_const(b)))
        return kiln_dim_merge(a, b, out);
    *out = simpler_dim(a, b);
    kiln_infer_assume_eq(ic, a, b);
    return true;
}

enum kiln_status
kiln_infer_axis(struct kiln_infer_ctx *ic, int64_t axis, int rank, int *out)
{
    if (rank < 0 || axis < -(int64_t)rank || axis >= rank)
        return kiln_infer_fail(ic, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return KILN_OK;
}

enum kiln_status
kiln_infer_require(struct kiln_infer_ctx *ic, int i, uint64_t dtype_mask)
{
    const struct kiln_type *t = kiln_infer_in(ic, i);
    if (!t)
        return kiln_infer_fail(ic, "input %d is required", i);
    if (!(dtype_mask & KILN_DT_MASK(t->dtype)))
        return kiln_infer_fail(ic, "input %d has dtype %s, which this op does not accept", i,
                               kiln_dtype_name(t->dtype));
    return KILN_OK;
}

enum kiln_status
kiln_infer_same_dtype(struct kiln_infer_ctx *ic, int i, int j)
{
    const struct kiln_type *a = kiln_infer_in(ic, i), *b = kiln_infer_in(ic, j);
    if (!a || !b)
        return kiln_infer_fail(ic, "input %d is required", !a ? i : j);
    if (a->dtype != b->dtype)
        return kiln_infer_fail(ic, "input %d has dtype %s but input %d has dtype %s", i,
                               kiln_dtype_name(a->dtype), j, kiln_dtype_name(b->dtype));
    return KILN_OK;
}

/* ---------------------------------------------------------------- the driver */

/* A declared type that inference contradicts: an error under strict_shapes
 * (of the top graph), else a warning naming both, and the inferred type stays. */
static enum kiln_status
declared_conflict(struct kiln_infer_ctx *ic, const struct kiln_value *v,
                  const struct kiln_type *decl)
{
    char a[256], b[256];
    kiln_type_format(decl, a, sizeof a);
    kiln_type_format(&v->type, b, sizeof b);
    const struct kiln_graph *top = ic->g;
    while (top->parent)
        top = top->parent;
    if (top->strict_shapes)
        return kiln_infer_fail(ic, "value '%s' is declared %s but its producer yields %s", v->name,
                               a, b);
    kiln_diag_warning(ic->d,
                      "node '%s' (%s): value '%s' is declared %s but its producer yields %s; "
                      "using the inferred type (--strict-shapes makes this an error)",
                      ic->n->name ? ic->n->name : "", kiln_op_name(ic->n->op), v->name, a, b);
    return KILN_OK;
}

/* Merge a declared type into the inferred one (in place): declared dims fill
 * what inference leaves unknown; a contradiction goes to declared_conflict. */
static enum kiln_status
infer_merge_declared(struct kiln_infer_ctx *ic, struct kiln_value *v, const struct kiln_type *decl)
{
    struct kiln_type *t = &v->type;
    if (decl->dtype == KILN_DT_INVALID)
        return KILN_OK;
    if (t->dtype == KILN_DT_INVALID) {
        *t = *decl;
        return KILN_OK;
    }
    if (t->dtype != decl->dtype) {
        char a[256], b[256];
        kiln_type_format(decl, a, sizeof a);
        kiln_type_format(t, b, sizeof b);
        return kiln_infer_fail(ic, "value '%s' is declared %s but its producer yields %s", v->name,
                               a, b);
    }
    if (decl->rank < 0)
        return KILN_OK;
    if (t->rank < 0) {
        *t = *decl;
        return KILN_OK;
    }
    if (t->rank != decl->rank)
        return declared_conflict(ic, v, decl);
    for (int i = 0; i < t->rank; i++) {
        struct kiln_dim x = t->dims[i], y = decl->dims[i];
        if (kiln_dim_is_const(x) && kiln_dim_is_const(y) && x.n != y.n)
            return declared_conflict(ic, v, decl);
    }
    for (int i = 0; i < t->rank; i++)
        if (kiln_dim_is_unknown(t->dims[i]))
            t->dims[i] = decl->dims[i];
    return KILN_OK;
}

static enum kiln_status infer_graph(struct kiln_graph *g, struct kiln_diag *d, int depth);

/* Give untyped Loop/Scan body inputs the types the node implies. */
static void
infer_body_inputs(struct kiln_graph *g, struct kiln_node *n, struct kiln_graph *body)
{
    struct kiln_arena *a = g->arena;
    if (n->op == KILN_OP_LOOP) {
        for (int32_t i = 0; i < body->n_inputs; i++) {
            struct kiln_value *bv = body->values[body->inputs[i]];
            if (bv->type.dtype != KILN_DT_INVALID)
                continue;
            if (i < 2) {
                bv->type.dtype = i == 0 ? KILN_DT_I64 : KILN_DT_BOOL;
                bv->type.rank = 0;
            } else if (i < n->n_in && n->in[i] >= 0) {
                bv->type = g->values[n->in[i]]->type;
            }
        }
    } else if (n->op == KILN_OP_SCAN && g->opset >= 9) {
        int64_t n_scan = kiln_node_attr_int(n, "num_scan_inputs", 0);
        if (n_scan < 0 || n_scan > n->n_in)
            return; /* the Scan shape function reports it */
        int64_t n_state = n->n_in - n_scan, n_axes = 0;
        const int64_t *axes = kiln_node_attr_ints(n, "scan_input_axes", &n_axes);
        for (int32_t i = 0; i < body->n_inputs && i < n->n_in; i++) {
            struct kiln_value *bv = body->values[body->inputs[i]];
            if (bv->type.dtype != KILN_DT_INVALID || n->in[i] < 0)
                continue;
            const struct kiln_type *t = &g->values[n->in[i]]->type;
            if (i < n_state || t->rank <= 0) {
                bv->type = *t;
                continue;
            }
            int64_t k = i - n_state, ax = axes && k < n_axes ? axes[k] : 0;
            if (ax < 0)
                ax += t->rank;
            if (ax < 0 || ax >= t->rank)
                continue; /* the Scan shape function reports it */
            bv->type.dtype = t->dtype;
            bv->type.rank = t->rank - 1;
            bv->type.dims = kiln_arena_array(a, (size_t)t->rank, sizeof *bv->type.dims);
            KILN_ASSERT(bv->type.dims);
            for (int r = 0, o = 0; r < t->rank; r++)
                if (r != ax)
                    bv->type.dims[o++] = t->dims[r];
        }
    }
}

static enum kiln_status
infer_subgraphs(struct kiln_graph *g, struct kiln_node *n, struct kiln_diag *d, int depth)
{
    for (int32_t i = 0; i < n->n_attrs; i++) {
        struct kiln_attr *at = &n->attrs[i];
        int64_t cnt = at->kind == KILN_ATTR_GRAPH ? 1 : at->kind == KILN_ATTR_GRAPHS ? at->n : 0;
        for (int64_t k = 0; k < cnt; k++) {
            struct kiln_graph *sg = at->kind == KILN_ATTR_GRAPH ? at->g : at->graphs[k];
            if (!sg)
                continue;
            infer_body_inputs(g, n, sg);
            enum kiln_status st = infer_graph(sg, d, depth + 1);
            if (st != KILN_OK)
                return st;
        }
    }
    if (n->body)
        return infer_graph(n->body, d, depth + 1);
    return KILN_OK;
}

static enum kiln_status
infer_node(struct kiln_infer_ctx *ic, int depth)
{
    struct kiln_node *n = ic->n;
    struct kiln_graph *g = ic->g;
    const struct kiln_op_info *info = kiln_op_info(n->op);
    if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in))
        return kiln_infer_fail(ic, "has %d inputs; the op takes %d to %d", (int)n->n_in,
                               info->min_in, info->max_in);
    if (n->n_out < info->min_out || (info->max_out >= 0 && n->n_out > info->max_out))
        return kiln_infer_fail(ic, "has %d outputs; the op gives %d to %d", (int)n->n_out,
                               info->min_out, info->max_out);
    for (int32_t i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0)
            continue;
        const struct kiln_value *v = g->values[n->in[i]];
        if (v->type.dtype == KILN_DT_INVALID)
            return kiln_infer_fail(ic, "input %d ('%s') has no type", (int)i, v->name);
    }
    enum kiln_status st = infer_subgraphs(g, n, ic->d, depth);
    if (st != KILN_OK)
        return st;

    /* keep declared output types aside; the shape function overwrites them */
    struct kiln_type decl[64];
    int32_t n_decl = n->n_out < 64 ? n->n_out : 64;
    for (int32_t i = 0; i < n_decl; i++) {
        decl[i].dtype = KILN_DT_INVALID;
        decl[i].rank = -1;
        if (n->out[i] >= 0) {
            decl[i] = g->values[n->out[i]]->type;
            g->values[n->out[i]]->type.dtype = KILN_DT_INVALID;
            g->values[n->out[i]]->type.rank = -1;
        }
    }
    const char *saved = kiln_current_pass;
    kiln_current_pass = "shape-inference";
    st = info->shape(ic);
    kiln_current_pass = saved;
    if (st != KILN_OK)
        return st;
    for (int32_t i = 0; i < n->n_out; i++) {
        if (n->out[i] < 0)
            continue;
        struct kiln_value *v = g->values[n->out[i]];
        if (i < n_decl) {
            st = infer_merge_declared(ic, v, &decl[i]);
            if (st != KILN_OK)
                return st;
        }
        if (v->type.dtype == KILN_DT_INVALID)
            return kiln_infer_fail(ic, "could not infer the type of output %d ('%s')", (int)i,
                                   v->name);
        if (!kiln_type_size_fits(&v->type)) {
            /* every shape function's result passes here: a dim product no
             * buffer can hold is refused at compile time, naming the node */
            char buf[512];
            kiln_type_format(&v->type, buf, sizeof buf);
            return kiln_infer_fail(ic, "output %d ('%s') has type %s, whose size overflows 64 bits",
                                   (int)i, v->name, buf);
        }
    }
    return KILN_OK;
}

static enum kiln_status infer_graph_known(struct kiln_graph *g, struct kiln_diag *d, int depth,
                                          kiln_known_fn fn, void *user);

static enum kiln_status
infer_graph(struct kiln_graph *g, struct kiln_diag *d, int depth)
{
    return infer_graph_known(g, d, depth, NULL, NULL);
}

static enum kiln_status
infer_graph_known(struct kiln_graph *g, struct kiln_diag *d, int depth, kiln_known_fn fn,
                  void *user)
{
    if (depth > 64) {
        kiln_diag_error(d, "sub-graphs nest deeper than 64 levels");
        return KILN_ERR_INVALID;
    }
    /* captured values take the (now known) types of what they capture */
    for (int32_t i = 0; i < g->n_captures; i++) {
        struct kiln_value *v = g->values[g->captures[i]];
        v->type = g->parent->values[v->outer]->type;
    }
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const struct kiln_value *v = g->values[g->inputs[i]];
        if (v->type.dtype == KILN_DT_INVALID && !g->parent) {
            kiln_diag_error(d, "graph input '%s' has no type", v->name);
            return KILN_ERR_INVALID;
        }
        if (!kiln_type_size_fits(&v->type)) {
            char buf[512];
            kiln_type_format(&v->type, buf, sizeof buf);
            kiln_diag_error(d, "graph input '%s' has type %s, whose size overflows 64 bits",
                            v->name, buf);
            return KILN_ERR_INVALID;
        }
    }
    struct kiln_infer_ctx ic = {.g = g, .d = d, .opset = g->opset};
    ic.known = calloc((size_t)g->n_values + 1, sizeof *ic.known);
    if (!ic.known)
        return KILN_ERR_NOMEM;
    ic.n_known = g->n_values; /* values added during the run get no known contents */
    enum kiln_status st = KILN_OK;
    for (int32_t i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        if (g->nodes[i]->dead)
            continue;
        ic.n = g->nodes[i];
        st = infer_node(&ic, depth);
    }
    /* node results whose contents are known integers (no symbols) */
    for (int32_t i = 0; fn && st == KILN_OK && i < ic.n_known; i++) {
        const struct kiln_known *k = &ic.known[i];
        if (!k->set || g->values[i]->kind != KILN_VALUE_NODE)
            continue;
        bool ints = true;
        for (int64_t j = 0; j < k->n && ints; j++)
            ints = kiln_dim_is_int(k->vals[j]);
        if (ints)
            fn(g, i, k->vals, k->n, user);
    }
    free(ic.known);
    return st;
}

enum kiln_status
kiln_graph_infer_known(struct kiln_graph *g, struct kiln_diag *d, kiln_known_fn fn, void *user)
{
    return infer_graph_known(g, d, 0, fn, user);
}

enum kiln_status
kiln_graph_infer_shapes(struct kiln_graph *g, struct kiln_diag *d)
{
    return infer_graph(g, d, 0);
}
