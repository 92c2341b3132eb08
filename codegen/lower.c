/*
 * lower.c - graph to lowered kernels: buffers, runtime dims, the per-op
 * dispatch table, and the builders op lowerings use (contract in lower.h).
 *
 * Requires: a shape-inferred, verified top-level graph whose dims are
 * constants or monomials over the graph inputs' symbols. Establishes: one
 * buffer per value that is used (inputs, constants, node results, graph
 * outputs; a graph output that is not a node result gets a copy kernel), and
 * one or more kernels per node in node order. Complexity: linear in the graph
 * plus what each op's lowering builds.
 */
#include "codegen/lower.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/lower_ops.h"

/* ---------------------------------------------------------------- the table */

static const kiln_lower_fn lower_table[KILN_OP_COUNT] = {
#define KILN_LOWER(OP, fn) [KILN_OP_##OP] = fn,
#include "codegen/lower_ops.def"
#undef KILN_LOWER
};
_Static_assert(sizeof lower_table / sizeof lower_table[0] == KILN_OP_COUNT,
               "lower_table must cover the op table");

bool
kiln_lower_supports(enum kiln_op op)
{
    if (op == KILN_OP_IF || op == KILN_OP_LOOP || op == KILN_OP_SCAN)
        return true; /* control flow: lowered here, with the bodies' own ops */
    return (unsigned)op < KILN_OP_COUNT && lower_table[op] != NULL;
}

/* ---------------------------------------------------------------- growth */

static void *
grow(struct kiln_arena *a, void *v, int32_t n, int32_t *cap, size_t size)
{
    if (n < *cap)
        return v;
    int32_t c = *cap ? *cap * 2 : 8;
    void *nv = kiln_arena_grow(a, v, (size_t)n, (size_t)c, size);
    KILN_ASSERT(nv);
    *cap = c;
    return nv;
}

/* ---------------------------------------------------------------- expressions */

static struct kiln_lx *
lx_new(struct kiln_arena *a, enum kiln_lx_kind kind, enum kiln_dtype t)
{
    struct kiln_lx *x = kiln_arena_alloc(a, sizeof *x);
    KILN_ASSERT(x);
    x->kind = kind;
    x->type = t;
    x->var = x->dim = x->buf = -1;
    x->lanes = 1;
    return x;
}

static struct kiln_lx *
lx_imm_i(struct kiln_arena *a, enum kiln_dtype t, int64_t v)
{
    struct kiln_lx *x = lx_new(a, KILN_LX_IMM, t);
    x->i = v;
    return x;
}

static bool
is_imm(const struct kiln_lx *x, int64_t v)
{
    return x->kind == KILN_LX_IMM && !kiln_dtype_is_float(x->type) && x->i == v;
}

/* i64 arithmetic with folding, for index math (no lc needed: module arena). */
static struct kiln_lx *
idx_bin(struct kiln_arena *a, enum kiln_lx_op op, struct kiln_lx *x, struct kiln_lx *y)
{
    if (x->kind == KILN_LX_IMM && y->kind == KILN_LX_IMM) {
        int64_t r;
        bool ok = true;
        switch (op) {
        case KILN_LX_ADD:
            ok = kiln_add_i64(x->i, y->i, &r);
            break;
        case KILN_LX_SUB:
            ok = !__builtin_sub_overflow(x->i, y->i, &r);
            break;
        case KILN_LX_MUL:
            ok = kiln_mul_i64(x->i, y->i, &r);
            break;
        case KILN_LX_DIV:
            ok = y->i != 0 && !(x->i == INT64_MIN && y->i == -1);
            r = ok ? x->i / y->i : 0;
            break;
        case KILN_LX_REM:
            ok = y->i != 0 && !(x->i == INT64_MIN && y->i == -1);
            r = ok ? x->i % y->i : 0;
            break;
        case KILN_LX_MIN:
            r = x->i < y->i ? x->i : y->i;
            break;
        case KILN_LX_MAX:
            r = x->i > y->i ? x->i : y->i;
            break;
        default:
            ok = false;
            r = 0;
            break;
        }
        if (ok)
            return lx_imm_i(a, KILN_DT_I64, r);
    }
    if (op == KILN_LX_ADD && is_imm(x, 0))
        return y;
    if ((op == KILN_LX_ADD || op == KILN_LX_SUB) && is_imm(y, 0))
        return x;
    if (op == KILN_LX_MUL && (is_imm(x, 0) || is_imm(y, 1)))
        return x;
    if (op == KILN_LX_MUL && (is_imm(y, 0) || is_imm(x, 1)))
        return y;
    if (op == KILN_LX_DIV && is_imm(y, 1))
        return x;
    if (op == KILN_LX_REM && is_imm(y, 1))
        return lx_imm_i(a, KILN_DT_I64, 0);
    struct kiln_lx *r = lx_new(a, KILN_LX_BINARY, KILN_DT_I64);
    r->op = op;
    r->a = x;
    r->b = y;
    return r;
}

struct kiln_lx *
kiln_lx_imm_i(struct kiln_lower_ctx *lc, enum kiln_dtype t, int64_t v)
{
    if (kiln_dtype_is_float(t))
        return kiln_lx_imm_f(lc, t, (double)v);
    return lx_imm_i(lc->m->arena, t, t == KILN_DT_BOOL ? v != 0 : v);
}

struct kiln_lx *
kiln_lx_imm_f(struct kiln_lower_ctx *lc, enum kiln_dtype t, double v)
{
    if (!kiln_dtype_is_float(t))
        return kiln_lx_imm_i(lc, t, (int64_t)v);
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_IMM, t);
    x->f = v;
    return x;
}

struct kiln_lx *
kiln_lx_idx(struct kiln_lower_ctx *lc, int64_t v)
{
    return lx_imm_i(lc->m->arena, KILN_DT_I64, v);
}

struct kiln_lx *
kiln_lx_var(struct kiln_lower_ctx *lc, int32_t var)
{
    KILN_ASSERT(var >= 0 && var < lc->k->n_vars);
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_VAR, lc->k->vars[var].type);
    x->var = var;
    x->lanes = lc->k->vars[var].lanes;
    return x;
}

struct kiln_lx *
kiln_lx_vload(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *idx, int32_t lanes)
{
    const struct kiln_lbuf *b = kiln_lower_buf(lc, slot);
    KILN_ASSERT(lanes > 1 && idx->type == KILN_DT_I64 && idx->lanes == 1 &&
                b->kind != KILN_LBUF_REG && kiln_dtype_is_float(b->dtype) &&
                kiln_dtype_bits(b->dtype) >= 8);
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_VLOAD, b->dtype);
    x->buf = slot;
    x->a = idx;
    x->lanes = lanes;
    return x;
}

struct kiln_lx *
kiln_lx_splat(struct kiln_lower_ctx *lc, struct kiln_lx *a, int32_t lanes)
{
    KILN_ASSERT(lanes > 1 && a->lanes == 1 && kiln_dtype_is_float(a->type));
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_SPLAT, a->type);
    x->a = a;
    x->lanes = lanes;
    return x;
}

struct kiln_lx *
kiln_lx_extract(struct kiln_lower_ctx *lc, struct kiln_lx *a, int32_t lane)
{
    KILN_ASSERT(a->lanes > 1 && lane >= 0 && lane < a->lanes);
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_EXTRACT, a->type);
    x->a = a;
    x->i = lane;
    return x;
}

struct kiln_lx *
kiln_lx_shuffle(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b,
                const int32_t *mask, int32_t lanes)
{
    KILN_ASSERT(a->lanes > 1 && a->lanes == b->lanes && a->type == b->type && lanes > 1);
    int32_t *mk = kiln_arena_array(lc->m->arena, (size_t)lanes, sizeof *mk);
    KILN_ASSERT(mk);
    for (int32_t j = 0; j < lanes; j++) {
        KILN_ASSERT(mask[j] >= 0 && mask[j] < 2 * a->lanes);
        mk[j] = mask[j];
    }
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_SHUFFLE, a->type);
    x->a = a;
    x->b = b;
    x->mask = mk;
    x->lanes = lanes;
    return x;
}

struct kiln_lx *
kiln_lx_load(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *idx)
{
    KILN_ASSERT(slot >= 0 && slot < lc->k->n_bufs && idx->type == KILN_DT_I64);
    if (kiln_lower_buf(lc, slot)->kind == KILN_LBUF_REG)
        return kiln_lower_fused_load(lc, slot);
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_LOAD, kiln_lower_buf(lc, slot)->dtype);
    x->buf = slot;
    x->a = idx;
    return x;
}

static bool
op_is_compare(enum kiln_lx_op op)
{
    return op >= KILN_LX_EQ && op <= KILN_LX_GE;
}

struct kiln_lx *
kiln_lx_unary(struct kiln_lower_ctx *lc, enum kiln_lx_op op, struct kiln_lx *a)
{
    KILN_ASSERT(op < KILN_LX_ADD);
    KILN_ASSERT(a->lanes == 1 || kiln_lx_vector_op(op, a->type));
    enum kiln_dtype t = (op == KILN_LX_ISNAN || op == KILN_LX_ISINF) ? KILN_DT_BOOL : a->type;
    if (a->kind == KILN_LX_IMM && a->type == KILN_DT_I64 && op == KILN_LX_NEG && a->i != INT64_MIN)
        return lx_imm_i(lc->m->arena, KILN_DT_I64, -a->i);
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_UNARY, t);
    x->op = op;
    x->a = a;
    x->lanes = a->lanes;
    return x;
}

bool
kiln_lx_vector_op(enum kiln_lx_op op, enum kiln_dtype t)
{
    if (t != KILN_DT_F32 && t != KILN_DT_F64)
        return false;
    switch (op) {
    case KILN_LX_EXP: /* in vector arithmetic for f32 (the LLVM backend's exp_f32, erf_f32) */
    case KILN_LX_ERF:
        return t == KILN_DT_F32;
    case KILN_LX_NEG:
    case KILN_LX_ABS:
    case KILN_LX_SQRT:
    case KILN_LX_FLOOR:
    case KILN_LX_CEIL:
    case KILN_LX_ROUND:
    case KILN_LX_TRUNC:
    case KILN_LX_ADD:
    case KILN_LX_SUB:
    case KILN_LX_MUL:
    case KILN_LX_DIV:
    case KILN_LX_MIN:
    case KILN_LX_MAX:
        return true;
    default:
        return op_is_compare(op);
    }
}

struct kiln_lx *
kiln_lx_binary(struct kiln_lower_ctx *lc, enum kiln_lx_op op, struct kiln_lx *a, struct kiln_lx *b)
{
    KILN_ASSERT(op >= KILN_LX_ADD && op < KILN_LX_OP_COUNT);
    KILN_ASSERT(a->type == b->type && a->lanes == b->lanes);
    if (a->lanes > 1) {
        KILN_ASSERT(kiln_lx_vector_op(op, a->type));
        struct kiln_lx *v =
            lx_new(lc->m->arena, KILN_LX_BINARY, op_is_compare(op) ? KILN_DT_BOOL : a->type);
        v->op = op;
        v->a = a;
        v->b = b;
        v->lanes = a->lanes;
        return v;
    }
    if (a->type == KILN_DT_I64 && !op_is_compare(op) && op != KILN_LX_POW && op < KILN_LX_AND)
        return idx_bin(lc->m->arena, op, a, b);
    struct kiln_lx *x =
        lx_new(lc->m->arena, KILN_LX_BINARY, op_is_compare(op) ? KILN_DT_BOOL : a->type);
    x->op = op;
    x->a = a;
    x->b = b;
    return x;
}

struct kiln_lx *
kiln_lx_select(struct kiln_lower_ctx *lc, struct kiln_lx *c, struct kiln_lx *a, struct kiln_lx *b)
{
    KILN_ASSERT(c->type == KILN_DT_BOOL && a->type == b->type && a->lanes == b->lanes &&
                c->lanes == a->lanes);
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_SELECT, a->type);
    x->a = c;
    x->b = a;
    x->c = b;
    x->lanes = a->lanes;
    return x;
}

struct kiln_lx *
kiln_lx_cast(struct kiln_lower_ctx *lc, enum kiln_dtype t, struct kiln_lx *a)
{
    if (a->type == t)
        return a;
    KILN_ASSERT(a->lanes == 1);
    if (a->kind == KILN_LX_IMM && !kiln_dtype_is_float(a->type) && t == KILN_DT_I64)
        return lx_imm_i(lc->m->arena, t, a->i);
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_CAST, t);
    x->a = a;
    x->i = 1; /* saturate (float8 targets) */
    return x;
}

struct kiln_lx *
kiln_lx_bitcast(struct kiln_lower_ctx *lc, enum kiln_dtype t, struct kiln_lx *a)
{
    if (a->type == t)
        return a;
    if (t == KILN_DT_BOOL || a->type == KILN_DT_BOOL) /* bytes of 0 or 1 */
        return kiln_lx_cast(lc, t, a);
    KILN_ASSERT(kiln_dtype_bits(t) == kiln_dtype_bits(a->type));
    struct kiln_lx *x = lx_new(lc->m->arena, KILN_LX_BITCAST, t);
    x->a = a;
    return x;
}

enum kiln_dtype
kiln_lower_compute_type(enum kiln_dtype t)
{
    if (t == KILN_DT_F16 || t == KILN_DT_BF16)
        return KILN_DT_F32;
    if (kiln_dtype_flags(t) & KILN_DTF_STORAGE) /* f8, f4: f32; i4/i2: i8; u4/u2: u8 */
        return kiln_dtype_is_float(t)                    ? KILN_DT_F32
               : (kiln_dtype_flags(t) & KILN_DTF_SIGNED) ? KILN_DT_I8
                                                         : KILN_DT_U8;
    return t;
}

struct kiln_lx *
kiln_lx_load_f(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *idx)
{
    struct kiln_lx *x = kiln_lx_load(lc, slot, idx);
    return kiln_lx_cast(lc, kiln_lower_compute_type(x->type), x);
}

void
kiln_lb_store_f(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot, struct kiln_lx *idx,
                struct kiln_lx *val)
{
    kiln_lb_store(lc, b, slot, idx, kiln_lx_cast(lc, kiln_lower_buf(lc, slot)->dtype, val));
}

void
kiln_lb_store_out(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                  struct kiln_lx *idx, struct kiln_lx *val, struct kiln_lx *const *axes)
{
    val = kiln_lx_cast(lc, kiln_lower_buf(lc, slot)->dtype, val);
    if (kiln_lower_buf(lc, slot)->kind == KILN_LBUF_REG)
        kiln_lower_fused_store(lc, b, slot, idx, val, axes);
    else
        kiln_lb_store(lc, b, slot, idx, val);
}

/* ---------------------------------------------------------------- statements */

int32_t
kiln_lk_var(struct kiln_lower_ctx *lc, enum kiln_dtype t, const char *name)
{
    struct kiln_lkernel *k = lc->k;
    k->vars = grow(lc->m->arena, k->vars, k->n_vars, &k->cap_vars, sizeof *k->vars);
    k->vars[k->n_vars].type = t;
    k->vars[k->n_vars].name = kiln_arena_strdup(lc->m->arena, name ? name : "v");
    k->vars[k->n_vars].lanes = 1;
    return k->n_vars++;
}

int32_t
kiln_lk_vvar(struct kiln_lower_ctx *lc, enum kiln_dtype t, int32_t lanes, const char *name)
{
    KILN_ASSERT(lanes > 1 && kiln_dtype_is_float(t));
    int32_t v = kiln_lk_var(lc, t, name);
    lc->k->vars[v].lanes = lanes;
    return v;
}

struct kiln_ls *
kiln_lb_add(struct kiln_lower_ctx *lc, struct kiln_lblock *b, struct kiln_ls *s)
{
    b->s = grow(lc->m->arena, b->s, b->n, &b->cap, sizeof *b->s);
    b->s[b->n++] = s;
    return s;
}

static struct kiln_ls *
ls_new(struct kiln_lower_ctx *lc, enum kiln_ls_kind kind)
{
    struct kiln_ls *s = kiln_arena_alloc(lc->m->arena, sizeof *s);
    KILN_ASSERT(s);
    s->kind = kind;
    s->var = s->buf = -1;
    return s;
}

struct kiln_ls *
kiln_lb_for(struct kiln_lower_ctx *lc, struct kiln_lblock *b, const char *name, struct kiln_lx *lo,
            struct kiln_lx *hi, int32_t *var)
{
    KILN_ASSERT(lo->type == KILN_DT_I64 && hi->type == KILN_DT_I64);
    struct kiln_ls *s = ls_new(lc, KILN_LS_FOR);
    s->var = kiln_lk_var(lc, KILN_DT_I64, name);
    s->lo = lo;
    s->hi = hi;
    if (var)
        *var = s->var;
    return kiln_lb_add(lc, b, s);
}

void
kiln_lb_store(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot, struct kiln_lx *idx,
              struct kiln_lx *val)
{
    KILN_ASSERT(slot >= 0 && slot < lc->k->n_bufs && idx->type == KILN_DT_I64);
    KILN_ASSERT(val->type == kiln_lower_buf(lc, slot)->dtype);
    /* a vector stores its lanes consecutively, into memory only */
    KILN_ASSERT(val->lanes == 1 || (kiln_lower_buf(lc, slot)->kind != KILN_LBUF_REG &&
                                    kiln_dtype_is_float(val->type)));
    if (kiln_lower_buf(lc, slot)->kind == KILN_LBUF_REG) {
        kiln_lower_fused_store(lc, b, slot, idx, val, NULL);
        return;
    }
    struct kiln_ls *s = ls_new(lc, KILN_LS_STORE);
    s->buf = slot;
    s->idx = idx;
    s->val = val;
    kiln_lb_add(lc, b, s);
}

void
kiln_lb_prefetch(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                 struct kiln_lx *idx, int level, bool write)
{
    KILN_ASSERT(level == 1 || level == 2);
    KILN_ASSERT(slot >= 0 && slot < lc->k->n_bufs && idx->type == KILN_DT_I64);
    KILN_ASSERT(kiln_lower_buf(lc, slot)->kind != KILN_LBUF_REG &&
                kiln_dtype_bits(kiln_lower_buf(lc, slot)->dtype) >= 8);
    struct kiln_ls *s = ls_new(lc, KILN_LS_PREFETCH);
    s->buf = slot;
    s->idx = idx;
    s->hints = (unsigned)level | (write ? KILN_LS_PF_WRITE : 0u);
    kiln_lb_add(lc, b, s);
}

void
kiln_lb_set(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t var, struct kiln_lx *val)
{
    KILN_ASSERT(var >= 0 && var < lc->k->n_vars && lc->k->vars[var].type == val->type &&
                lc->k->vars[var].lanes == val->lanes);
    struct kiln_ls *s = ls_new(lc, KILN_LS_SET);
    s->var = var;
    s->val = val;
    kiln_lb_add(lc, b, s);
}

struct kiln_ls *
kiln_lb_if(struct kiln_lower_ctx *lc, struct kiln_lblock *b, struct kiln_lx *cond)
{
    KILN_ASSERT(cond->type == KILN_DT_BOOL);
    struct kiln_ls *s = ls_new(lc, KILN_LS_IF);
    s->cond = cond;
    return kiln_lb_add(lc, b, s);
}

struct kiln_lblock *
kiln_lk_parallel(struct kiln_lower_ctx *lc, struct kiln_lx *trip, int32_t *var)
{
    struct kiln_lkernel *k = lc->k;
    KILN_ASSERT(!k->trip && k->body.n == 0 && trip->type == KILN_DT_I64);
    k->trip = trip;
    k->outer = kiln_lk_var(lc, KILN_DT_I64, "p");
    *var = k->outer;
    return &k->body;
}

/* ---------------------------------------------------------------- kernels and slots */

static const char *
c_ident(struct kiln_arena *a, const char *prefix, int32_t id, const char *s)
{
    size_t n = strlen(s);
    if (n > 48)
        n = 48;
    char *out = kiln_arena_alloc(a, strlen(prefix) + n + 24);
    KILN_ASSERT(out);
    int k = sprintf(out, "%s%d_", prefix, (int)id);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        out[k++] = ok ? c : '_';
    }
    out[k] = 0;
    return out;
}

void
kiln_lower_method(struct kiln_lower_ctx *lc, const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lc->k->method = kiln_arena_strdup(lc->m->arena, buf);
    KILN_ASSERT(lc->k->method);
}

struct kiln_lkernel *
kiln_lower_kernel(struct kiln_lower_ctx *lc, const char *suffix)
{
    struct kiln_lmodule *m = lc->m;
    struct kiln_lkernel *k = kiln_arena_alloc(m->arena, sizeof *k);
    KILN_ASSERT(k);
    const struct kiln_node *n = lc->n;
    char base[160];
    snprintf(base, sizeof base, "%s%s%s",
             n && n->name[0] ? n->name
             : n             ? kiln_op_name(n->op)
                             : "copy",
             suffix ? "_" : "", suffix ? suffix : "");
    k->name = c_ident(m->arena, "k", m->n_kernels, base);
    /* inside a fused node's body, lc->n is a body node: the kernel is the fused node's */
    k->node = lc->fuse && lc->k ? lc->k->node : n ? n->id : -1;
    k->outer = -1;
    k->step = KILN_LSTEP_KERNEL;
    k->cond_buf = k->iter_buf = k->trip_buf = -1;
    m->kernels = grow(m->arena, m->kernels, m->n_kernels, &m->cap_kernels, sizeof *m->kernels);
    m->kernels[m->n_kernels++] = k;
    lc->k = k;
    return k;
}

static int32_t
kernel_slot(struct kiln_lower_ctx *lc, int32_t buf)
{
    struct kiln_lkernel *k = lc->k;
    for (int32_t i = 0; i < k->n_bufs; i++)
        if (k->bufs[i] == buf)
            return i;
    k->bufs = grow(lc->m->arena, k->bufs, k->n_bufs, &k->cap_bufs, sizeof *k->bufs);
    k->bufs[k->n_bufs] = buf;
    return k->n_bufs++;
}

static int32_t value_buf(struct kiln_lmodule *m, const struct kiln_graph *g, int32_t v);

int32_t
kiln_lower_in(struct kiln_lower_ctx *lc, int i)
{
    if (i < 0 || i >= lc->n->n_in || lc->n->in[i] < 0)
        return -1;
    int32_t b = value_buf(lc->m, lc->g, lc->n->in[i]);
    KILN_ASSERT(b >= 0);
    return kernel_slot(lc, b);
}

int32_t
kiln_lower_out(struct kiln_lower_ctx *lc, int i)
{
    if (i < 0 || i >= lc->n->n_out || lc->n->out[i] < 0)
        return -1;
    int32_t b = value_buf(lc->m, lc->g, lc->n->out[i]);
    KILN_ASSERT(b >= 0);
    return kernel_slot(lc, b);
}

int32_t
kiln_lower_slot(struct kiln_lower_ctx *lc, int32_t buf)
{
    KILN_ASSERT(buf >= 0 && buf < lc->m->n_bufs);
    return kernel_slot(lc, buf);
}

/* A new rank-1 buffer of numel elements of type t for the node being lowered,
 * named NODE_SUFFIXk (k: its id); returns its id. */
static int32_t
new_node_buf(struct kiln_lower_ctx *lc, enum kiln_lbuf_kind kind, enum kiln_dtype t,
             struct kiln_lx *numel, const char *suffix)
{
    struct kiln_lmodule *m = lc->m;
    m->bufs = grow(m->arena, m->bufs, m->n_bufs, &m->cap_bufs, sizeof *m->bufs);
    struct kiln_lbuf *b = &m->bufs[m->n_bufs];
    memset(b, 0, sizeof *b);
    char name[160];
    snprintf(name, sizeof name, "%.100s_%s%d", lc->n && lc->n->name[0] ? lc->n->name : "node",
             suffix, (int)m->n_bufs);
    b->name = kiln_arena_strdup(m->arena, name);
    b->kind = kind;
    b->dtype = t;
    b->rank = 1;
    b->value = -1;
    b->io = -1;
    b->alias = -1;
    b->dims = kiln_arena_array(m->arena, 1, sizeof *b->dims);
    KILN_ASSERT(b->name && b->dims && numel->type == KILN_DT_I64);
    b->dims[0] = numel;
    return m->n_bufs++;
}

int32_t
kiln_lower_scratch(struct kiln_lower_ctx *lc, enum kiln_dtype t, struct kiln_lx *numel)
{
    return new_node_buf(lc, KILN_LBUF_TEMP, t, numel, "scratch");
}

int32_t
kiln_lower_scratch_nd(struct kiln_lower_ctx *lc, enum kiln_dtype t, int rank,
                      struct kiln_lx *const *dims)
{
    KILN_ASSERT(rank >= 1 && rank <= KILN_MAX_RANK);
    struct kiln_lx *numel = dims[0];
    for (int i = 1; i < rank; i++)
        numel = idx_bin(lc->m->arena, KILN_LX_MUL, numel, dims[i]);
    int32_t id = new_node_buf(lc, KILN_LBUF_TEMP, t, numel, "scratch");
    struct kiln_lbuf *b = &lc->m->bufs[id];
    b->rank = rank;
    b->dims = kiln_arena_array(lc->m->arena, (size_t)rank, sizeof *b->dims);
    KILN_ASSERT(b->dims);
    for (int i = 0; i < rank; i++)
        b->dims[i] = dims[i];
    return id;
}

const struct kiln_tensor *
kiln_lower_const_in(const struct kiln_lower_ctx *lc, int i)
{
    if (i < 0 || i >= lc->n->n_in || lc->n->in[i] < 0)
        return NULL;
    const struct kiln_graph *g = lc->g;
    const struct kiln_value *v = g->values[lc->n->in[i]];
    /* a sub-graph's capture of an outer constant is as constant as a local one */
    while (v->kind == KILN_VALUE_CAPTURE && g->parent) {
        v = g->parent->values[v->outer];
        g = g->parent;
    }
    if (v->kind == KILN_VALUE_CONST)
        return v->data && v->data->data ? v->data : NULL;
    /* inside a fused node: the fused node's constant operand */
    int32_t b = lc->fuse ? kiln_lower_value_buf(lc->m, lc->g, lc->n->in[i]) : -1;
    const struct kiln_lbuf *buf = b >= 0 ? &lc->m->bufs[b] : NULL;
    return buf && buf->kind == KILN_LBUF_CONST && buf->data && buf->data->data ? buf->data : NULL;
}

int32_t
kiln_lower_view(struct kiln_lower_ctx *lc, int32_t slot, int rank, struct kiln_lx *const *dims)
{
    const struct kiln_lbuf *base = kiln_lower_buf(lc, slot);
    int32_t base_id = lc->k->bufs[slot];
    KILN_ASSERT(base->kind != KILN_LBUF_REG && base->kind != KILN_LBUF_LOCAL);
    int32_t id = kiln_lower_scratch_nd(lc, base->dtype, rank, dims);
    lc->m->bufs[id].alias = base_id;
    lc->m->bufs[id].alias_off = 0;
    return kiln_lower_slot(lc, id);
}

int32_t
kiln_lower_local(struct kiln_lower_ctx *lc, enum kiln_dtype t, int64_t numel)
{
    KILN_ASSERT(numel > 0);
    return new_node_buf(lc, KILN_LBUF_LOCAL, t, kiln_lx_idx(lc, numel), "local");
}

int32_t
kiln_lower_const(struct kiln_lower_ctx *lc, enum kiln_dtype t, int64_t numel, const char *suffix,
                 void **data)
{
    struct kiln_lmodule *m = lc->m;
    uint64_t nbytes;
    KILN_ASSERT(numel > 0 && kiln_dtype_storage_bytes(t, numel, &nbytes));
    struct kiln_tensor *tn = kiln_arena_alloc(m->arena, sizeof *tn);
    int64_t *dims = kiln_arena_alloc(m->arena, sizeof *dims);
    void *bytes = kiln_arena_alloc(m->arena, (size_t)nbytes);
    KILN_ASSERT(tn && dims && bytes);
    memset(tn, 0, sizeof *tn);
    memset(bytes, 0, (size_t)nbytes);
    dims[0] = numel;
    tn->dtype = t;
    tn->rank = 1;
    tn->dims = dims;
    tn->nbytes = nbytes;
    tn->data = bytes;
    int32_t b = new_node_buf(lc, KILN_LBUF_CONST, t, kiln_lx_idx(lc, numel), suffix);
    m->bufs[b].data = tn;
    *data = bytes;
    return b;
}

void
kiln_lower_check(struct kiln_lower_ctx *lc, struct kiln_lx *ok)
{
    KILN_ASSERT(!lc->k->trip && ok->type == KILN_DT_BOOL);
    int32_t buf = kiln_lower_scratch(lc, KILN_DT_BOOL, kiln_lx_idx(lc, 1));
    kiln_lb_store(lc, &lc->k->body, kiln_lower_slot(lc, buf), kiln_lx_idx(lc, 0), ok);
    struct kiln_lkernel *k = kiln_lower_kernel(lc, "check");
    k->step = KILN_LSTEP_CHECK;
    k->cond_buf = buf;
}

const struct kiln_lbuf *
kiln_lower_buf(const struct kiln_lower_ctx *lc, int32_t slot)
{
    KILN_ASSERT(slot >= 0 && slot < lc->k->n_bufs);
    return &lc->m->bufs[lc->k->bufs[slot]];
}

enum kiln_status
kiln_lower_unsupported(struct kiln_lower_ctx *lc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kiln_diag_node(lc->d, lc->n->name, lc->n->id, kiln_op_name(lc->n->op), "%s", msg);
    return KILN_ERR_UNSUPPORTED;
}

/* ---------------------------------------------------------------- shapes */

int
kiln_lower_rank(const struct kiln_lower_ctx *lc, int32_t slot)
{
    return kiln_lower_buf(lc, slot)->rank;
}

struct kiln_lx *
kiln_lower_dim(struct kiln_lower_ctx *lc, int32_t slot, int i)
{
    const struct kiln_lbuf *b = kiln_lower_buf(lc, slot);
    KILN_ASSERT(i >= 0 && i < b->rank);
    return b->dims[i];
}

struct kiln_lx *
kiln_lower_dims_prod(struct kiln_lower_ctx *lc, int32_t slot, int from, int to)
{
    const struct kiln_lbuf *b = kiln_lower_buf(lc, slot);
    KILN_ASSERT(from >= 0 && to <= b->rank);
    struct kiln_lx *n = kiln_lx_idx(lc, 1);
    for (int i = from; i < to; i++)
        n = idx_bin(lc->m->arena, KILN_LX_MUL, n, b->dims[i]);
    return n;
}

struct kiln_lx *
kiln_lower_numel(struct kiln_lower_ctx *lc, int32_t slot)
{
    return kiln_lower_dims_prod(lc, slot, 0, kiln_lower_buf(lc, slot)->rank);
}

bool
kiln_lx_equal(const struct kiln_lx *x, const struct kiln_lx *y)
{
    if (x == y)
        return true;
    if (!x || !y || x->kind != y->kind || x->type != y->type)
        return false;
    switch (x->kind) {
    case KILN_LX_IMM:
        return x->i == y->i && x->f == y->f;
    case KILN_LX_DIM:
        return x->dim == y->dim;
    case KILN_LX_BINARY:
        return x->op == y->op && kiln_lx_equal(x->a, y->a) && kiln_lx_equal(x->b, y->b);
    case KILN_LX_SELECT: /* the floor divisions of dim expressions */
        return x->lanes == y->lanes && kiln_lx_equal(x->a, y->a) && kiln_lx_equal(x->b, y->b) &&
               kiln_lx_equal(x->c, y->c);
    default:
        return false;
    }
}

static struct kiln_lx *
offset_of(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *const *idx, int bcast_rank,
          const struct kiln_lbuf *out)
{
    const struct kiln_lbuf *b = kiln_lower_buf(lc, slot);
    int shift = bcast_rank > b->rank ? bcast_rank - b->rank : 0;
    int out_shift = out && bcast_rank > out->rank ? bcast_rank - out->rank : 0;
    struct kiln_arena *a = lc->m->arena;
    struct kiln_lx *off = lx_imm_i(a, KILN_DT_I64, 0);
    for (int i = 0; i < b->rank; i++) {
        off = idx_bin(a, KILN_LX_MUL, off, b->dims[i]);
        struct kiln_lx *ix = idx[i + shift];
        if (!ix || is_imm(b->dims[i], 1))
            continue;
        if (out && b->dims[i]->kind != KILN_LX_IMM &&
            !kiln_lx_equal(b->dims[i], out->dims[i + shift - out_shift])) {
            /* a runtime dim that may be 1 where the output's is larger: then every
             * index reads element 0 (the test is loop-invariant; LLVM hoists it) */
            struct kiln_lx *one = lx_new(a, KILN_LX_BINARY, KILN_DT_BOOL);
            one->op = KILN_LX_EQ;
            one->a = b->dims[i];
            one->b = lx_imm_i(a, KILN_DT_I64, 1);
            struct kiln_lx *sel = lx_new(a, KILN_LX_SELECT, KILN_DT_I64);
            sel->a = one;
            sel->b = lx_imm_i(a, KILN_DT_I64, 0);
            sel->c = ix;
            ix = sel;
        }
        off = idx_bin(a, KILN_LX_ADD, off, ix);
    }
    return off;
}

struct kiln_lx *
kiln_lower_offset(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *const *idx,
                  int bcast_rank)
{
    return offset_of(lc, slot, idx, bcast_rank, NULL);
}

void
kiln_lbuf_type_text(const struct kiln_lmodule *m, const struct kiln_lbuf *b, char *buf, size_t len)
{
    struct kiln_type t = m->g->values[b->value]->type;
    t.dtype = b->dtype;
    kiln_type_format(&t, buf, len);
}

bool
kiln_lbuf_same_shape(const struct kiln_lbuf *x, const struct kiln_lbuf *y)
{
    if (x->rank != y->rank)
        return false;
    for (int i = 0; i < x->rank; i++)
        if (!kiln_lx_equal(x->dims[i], y->dims[i]))
            return false;
    return true;
}

struct kiln_lx *
kiln_lower_offset_bcast(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *const *idx,
                        struct kiln_lx *flat, int32_t out_slot)
{
    const struct kiln_lbuf *out = kiln_lower_buf(lc, out_slot);
    if (flat && kiln_lbuf_same_shape(kiln_lower_buf(lc, slot), out))
        return flat;
    return offset_of(lc, slot, idx, out->rank, out);
}

void
kiln_lower_unflatten(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *flat,
                     struct kiln_lx **idx)
{
    const struct kiln_lbuf *b = kiln_lower_buf(lc, slot);
    struct kiln_arena *a = lc->m->arena;
    for (int i = b->rank - 1; i >= 0; i--) {
        if (i == 0) {
            idx[i] = flat;
        } else {
            idx[i] = idx_bin(a, KILN_LX_REM, flat, b->dims[i]);
            flat = idx_bin(a, KILN_LX_DIV, flat, b->dims[i]);
        }
    }
}

struct kiln_lblock *
kiln_lower_loop_over(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx **idx,
                     struct kiln_lx **flat)
{
    if (lc->fuse) { /* inside a fused kernel: the loop already exists */
        struct kiln_lblock *in_fused = kiln_lower_fused_loop(lc, slot, idx, flat);
        if (in_fused)
            return in_fused;
    }
    const struct kiln_lbuf *b = kiln_lower_buf(lc, slot);
    struct kiln_arena *a = lc->m->arena;
    int r = b->rank;
    if (r == 0) {
        int32_t p;
        struct kiln_lblock *blk = kiln_lk_parallel(lc, kiln_lx_idx(lc, 1), &p);
        *flat = kiln_lx_idx(lc, 0);
        return blk;
    }
    /* rows: every axis but the last, flattened, in parallel; the last axis inside */
    struct kiln_lx *rows = kiln_lx_idx(lc, 1);
    for (int i = 0; i < r - 1; i++)
        rows = idx_bin(a, KILN_LX_MUL, rows, b->dims[i]);
    int32_t p, j;
    struct kiln_lblock *outer = kiln_lk_parallel(lc, rows, &p);
    struct kiln_lx *pv = kiln_lx_var(lc, p);
    for (int i = r - 2; i >= 0; i--) {
        if (i == 0) {
            idx[i] = pv;
        } else {
            idx[i] = idx_bin(a, KILN_LX_REM, pv, b->dims[i]);
            pv = idx_bin(a, KILN_LX_DIV, pv, b->dims[i]);
        }
    }
    struct kiln_ls *inner = kiln_lb_for(lc, outer, "j", kiln_lx_idx(lc, 0), b->dims[r - 1], &j);
    inner->hints |= KILN_LS_HINT_VECTORIZE;
    idx[r - 1] = kiln_lx_var(lc, j);
    *flat = idx_bin(a, KILN_LX_ADD, idx_bin(a, KILN_LX_MUL, kiln_lx_var(lc, p), b->dims[r - 1]),
                    idx[r - 1]);
    return &inner->body;
}

/* ---------------------------------------------------------------- buffers and dims */

/* Runtime dim index of base symbol s (registered from the graph inputs), or -1. */
static int32_t
dim_index(const struct kiln_lmodule *m, const char *s, size_t len)
{
    for (int32_t i = 0; i < m->n_dims; i++)
        if (strlen(m->dims[i].name) == len && memcmp(m->dims[i].name, s, len) == 0)
            return i;
    return -1;
}

/* A dim tree (kiln_dim_tree) as an i64 expression over the runtime dims. NULL
 * if a symbol is not a runtime dim. Floor division rounds toward minus
 * infinity: q = a / k, minus 1 where the remainder is negative. */
static struct kiln_lx *
dim_tree_expr(struct kiln_lmodule *m, const struct kiln_dim_tree *t)
{
    struct kiln_arena *a = m->arena;
    struct kiln_lx *e = NULL, *x;
    switch (t->op) {
    case KILN_DIM_TREE_INT:
        return lx_imm_i(a, KILN_DT_I64, t->k);
    case KILN_DIM_TREE_SYM: {
        int32_t k = dim_index(m, t->sym, t->len);
        if (k < 0)
            return NULL;
        x = lx_new(a, KILN_LX_DIM, KILN_DT_I64);
        x->dim = k;
        return x;
    }
    case KILN_DIM_TREE_ADD:
    case KILN_DIM_TREE_MUL:
    case KILN_DIM_TREE_MIN:
    case KILN_DIM_TREE_MAX: {
        enum kiln_lx_op op = t->op == KILN_DIM_TREE_ADD   ? KILN_LX_ADD
                             : t->op == KILN_DIM_TREE_MUL ? KILN_LX_MUL
                             : t->op == KILN_DIM_TREE_MIN ? KILN_LX_MIN
                                                          : KILN_LX_MAX;
        for (int i = 0; i < t->n; i++) {
            if (!(x = dim_tree_expr(m, t->args[i])))
                return NULL;
            e = e ? idx_bin(a, op, e, x) : x;
        }
        return e;
    }
    case KILN_DIM_TREE_FLOOR_DIV: {
        if (!(x = dim_tree_expr(m, t->args[0])))
            return NULL;
        struct kiln_lx *k = lx_imm_i(a, KILN_DT_I64, t->k);
        struct kiln_lx *q = idx_bin(a, KILN_LX_DIV, x, k);
        if (t->nonneg) /* a numerator that cannot be negative: truncation is floor */
            return q;
        struct kiln_lx *neg = lx_new(a, KILN_LX_BINARY, KILN_DT_BOOL);
        neg->op = KILN_LX_LT;
        neg->a = idx_bin(a, KILN_LX_REM, x, k);
        neg->b = lx_imm_i(a, KILN_DT_I64, 0);
        struct kiln_lx *sel = lx_new(a, KILN_LX_SELECT, KILN_DT_I64);
        sel->a = neg;
        sel->b = idx_bin(a, KILN_LX_SUB, q, lx_imm_i(a, KILN_DT_I64, 1));
        sel->c = q;
        return sel;
    }
    }
    return NULL;
}

/* A dim as an i64 expression: a constant, or its tree over the runtime dims.
 * NULL if it is unknown or a symbol is not a runtime dim. */
static struct kiln_lx *
dim_expr(struct kiln_lmodule *m, struct kiln_dim d)
{
    if (kiln_dim_is_const(d))
        return lx_imm_i(m->arena, KILN_DT_I64, d.n);
    if (!d.sym)
        return NULL;
    const struct kiln_dim_tree *t = kiln_dim_tree(d, m->arena);
    return t ? dim_tree_expr(m, t) : NULL;
}

static void
register_input_dims(struct kiln_lmodule *m, const struct kiln_graph *g)
{
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const struct kiln_type *t = &g->values[g->inputs[i]]->type;
        for (int ax = 0; ax < t->rank; ax++) {
            struct kiln_dim d = t->dims[ax];
            if (!d.sym || (d.n > 1) || kiln_dim_is_expr(d) || strchr(d.sym, '\x1f') ||
                dim_index(m, d.sym, strlen(d.sym)) >= 0)
                continue;
            m->dims = grow(m->arena, m->dims, m->n_dims, &m->cap_dims, sizeof *m->dims);
            m->dims[m->n_dims].name = d.sym;
            m->dims[m->n_dims].input = i;
            m->dims[m->n_dims].axis = ax;
            m->n_dims++;
        }
    }
}

/* The dim equalities the model requires (kiln_graph.assumes) as checks over the
 * runtime dims. One whose sides are different constants (after --dim) can
 * never hold: an error. One over a symbol that is not a runtime dim cannot be
 * checked, and the values that have it fail to lower anyway. */
static enum kiln_status
register_assumes(struct kiln_lmodule *m, const struct kiln_graph *g, struct kiln_diag *d)
{
    m->assumes = kiln_arena_array(m->arena, (size_t)g->n_assumes + 1, sizeof *m->assumes);
    KILN_ASSERT(m->assumes);
    for (int32_t i = 0; i < g->n_assumes; i++) {
        struct kiln_dim x = g->assumes[i].a, y = g->assumes[i].b;
        char sa[512], sb[512];
        kiln_dim_format(x, sa, sizeof sa);
        kiln_dim_format(y, sb, sizeof sb);
        bool ge = g->assumes[i].ge;
        if (kiln_dim_is_int(x) && kiln_dim_is_int(y)) {
            if (ge ? x.n >= y.n : x.n == y.n)
                continue;
            kiln_diag_error(d, "the model requires dims %s and %s to be %s", sa, sb,
                            ge ? "in that order (the first at least the second)" : "equal");
            return KILN_ERR_INVALID;
        }
        struct kiln_lx *ea = dim_expr(m, x), *eb = dim_expr(m, y);
        if (!ea || !eb)
            continue;
        size_t n = strlen(sa) + strlen(sb) + 8;
        char *text = kiln_arena_alloc(m->arena, n);
        KILN_ASSERT(text);
        snprintf(text, n, "%s %s %s", sa, ge ? ">=" : "==", sb);
        m->assumes[m->n_assumes++] = (struct kiln_lassume){ea, eb, text, ge};
    }
    return KILN_OK;
}

/* The type a storage-only type crosses the model's interface as; others unchanged. */
static enum kiln_dtype
interface_type(enum kiln_dtype t)
{
    return kiln_dtype_flags(t) & KILN_DTF_STORAGE ? kiln_lower_compute_type(t) : t;
}

static int32_t
add_buf(struct kiln_lmodule *m, const struct kiln_graph *g, int32_t value, enum kiln_lbuf_kind kind,
        struct kiln_diag *d)
{
    const struct kiln_value *v = g->values[value];
    const struct kiln_type *t = &v->type;
    if (t->dtype == KILN_DT_INVALID || t->rank < 0) {
        kiln_diag_error(d, "value '%s' has no known rank: kiln cannot compile it", v->name);
        return -1;
    }
    m->bufs = grow(m->arena, m->bufs, m->n_bufs, &m->cap_bufs, sizeof *m->bufs);
    struct kiln_lbuf *b = &m->bufs[m->n_bufs];
    memset(b, 0, sizeof *b);
    b->name = v->name;
    b->kind = kind;
    /* storage-only types cross the interface widened (lower.h) */
    b->dtype =
        kind == KILN_LBUF_INPUT || kind == KILN_LBUF_OUTPUT ? interface_type(t->dtype) : t->dtype;
    b->rank = t->rank;
    b->value = value;
    b->io = -1;
    b->alias = -1;
    b->data = kind == KILN_LBUF_CONST ? v->data : NULL;
    b->dims = kiln_arena_array(m->arena, (size_t)(t->rank ? t->rank : 1), sizeof *b->dims);
    KILN_ASSERT(b->dims);
    for (int i = 0; i < t->rank; i++) {
        b->dims[i] = dim_expr(m, t->dims[i]);
        if (!b->dims[i]) {
            char dim[256];
            kiln_dim_format(t->dims[i], dim, sizeof dim);
            if (t->dims[i].sym)
                kiln_diag_error(d,
                                "value '%s': dim %d (%s) uses a symbol that is not a dim of "
                                "any graph input; bind it with --dim NAME=VALUE",
                                v->name, i, dim);
            else
                kiln_diag_error(d,
                                "value '%s': dim %d is not known at compile time: it depends "
                                "on the values of the data, or on shape arithmetic kiln cannot "
                                "follow; kiln compiles shapes that are expressions of the graph "
                                "inputs' dims",
                                v->name, i);
            return -1;
        }
    }
    return m->n_bufs++;
}

/* ---------------------------------------------------------------- value -> buffer maps */

/* A sub-graph's value -> buffer map (the top graph's is m->value_buf). */
struct kiln_lgraph_map {
    const struct kiln_graph *g;
    int32_t *buf;
    struct kiln_lgraph_map *next;
};

static int32_t *
graph_map(struct kiln_lmodule *m, const struct kiln_graph *g)
{
    if (g == m->g)
        return m->value_buf;
    for (struct kiln_lgraph_map *p = m->sub_maps; p; p = p->next)
        if (p->g == g)
            return p->buf;
    struct kiln_lgraph_map *p = kiln_arena_alloc(m->arena, sizeof *p);
    KILN_ASSERT(p);
    p->g = g;
    p->buf = kiln_arena_array(m->arena, (size_t)g->n_values + 1, sizeof *p->buf);
    KILN_ASSERT(p->buf);
    for (int32_t i = 0; i < g->n_values; i++)
        p->buf[i] = -1;
    p->next = m->sub_maps;
    m->sub_maps = p;
    return p->buf;
}

/* Buffer of value v of graph g; a capture resolves to the enclosing graph's. */
static int32_t
value_buf(struct kiln_lmodule *m, const struct kiln_graph *g, int32_t v)
{
    const struct kiln_value *val = g->values[v];
    if (val->kind == KILN_VALUE_CAPTURE && g->parent)
        return value_buf(m, g->parent, val->outer);
    return graph_map(m, g)[v];
}

int32_t
kiln_lower_value_buf(struct kiln_lmodule *m, const struct kiln_graph *g, int32_t v)
{
    return value_buf(m, g, v);
}

void
kiln_lower_bind_value(struct kiln_lmodule *m, const struct kiln_graph *g, int32_t v, int32_t buf)
{
    graph_map(m, g)[v] = buf;
}

int32_t
kiln_lower_add_buf(struct kiln_lower_ctx *lc, const struct kiln_graph *g, int32_t v,
                   enum kiln_lbuf_kind kind)
{
    int32_t b = add_buf(lc->m, g, v, kind, lc->d);
    if (b >= 0)
        graph_map(lc->m, g)[v] = b;
    return b;
}

kiln_lower_fn
kiln_lower_fn_of(enum kiln_op op)
{
    return (unsigned)op < KILN_OP_COUNT ? lower_table[op] : NULL;
}

/* ---------------------------------------------------------------- the driver */

/* Marks in seen[] the kernel slots x loads from. */
static void
lx_slots(const struct kiln_lx *x, bool *seen)
{
    for (; x; x = x->c) {
        if (x->kind == KILN_LX_LOAD || x->kind == KILN_LX_VLOAD)
            seen[x->buf] = true;
        lx_slots(x->a, seen);
        lx_slots(x->b, seen);
    }
}

/* Marks in seen[] the kernel slots blk's statements load from or store to. */
static void
block_slots(const struct kiln_lblock *blk, bool *seen)
{
    for (int32_t i = 0; i < blk->n; i++) {
        const struct kiln_ls *s = blk->s[i];
        if (s->kind == KILN_LS_STORE || s->kind == KILN_LS_PREFETCH)
            seen[s->buf] = true;
        const struct kiln_lx *xs[] = {s->lo, s->hi, s->idx, s->val, s->cond};
        for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++)
            lx_slots(xs[j], seen);
        block_slots(&s->body, seen);
        block_slots(&s->orelse, seen);
    }
}

void
kiln_lmodule_used_bufs(const struct kiln_lmodule *m, bool *used)
{
    memset(used, 0, (size_t)m->n_bufs * sizeof *used);
    for (int32_t i = 0; i < m->n_kernels; i++) {
        const struct kiln_lkernel *k = m->kernels[i];
        /* a constant counts where a statement reads it: a lowering that packs
         * its weights still has the original's slot in its signature */
        bool *seen = calloc((size_t)k->n_bufs + 1, sizeof *seen);
        KILN_ASSERT(seen);
        block_slots(&k->body, seen);
        for (int32_t j = 0; j < k->n_bufs + 3; j++) {
            int32_t b = kiln_lstep_buf(k, j);
            if (b >= 0 && (j >= k->n_bufs || seen[j] || m->bufs[b].kind != KILN_LBUF_CONST))
                used[b] = true;
        }
        free(seen);
    }
    for (int32_t b = 0; b < m->n_bufs; b++)
        if (m->bufs[b].kind == KILN_LBUF_INPUT || m->bufs[b].kind == KILN_LBUF_OUTPUT)
            used[b] = true;
}

void
kiln_lmodule_free(struct kiln_lmodule *m)
{
    if (m)
        kiln_arena_free(m->arena);
}

static const char *
module_name(struct kiln_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = kiln_arena_alloc(a, n + 2);
    KILN_ASSERT(out);
    size_t k = 0;
    if (!(s[0] >= 'a' && s[0] <= 'z') && !(s[0] >= 'A' && s[0] <= 'Z') && s[0] != '_')
        out[k++] = 'm';
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        out[k++] = ok ? c : '_';
    }
    out[k] = 0;
    return out;
}

/* A kernel copying every element of buffer `from` to buffer `to` (same numel),
 * converting between a storage type and its interface type where they differ. */
static void
copy_kernel(struct kiln_lower_ctx *lc, int32_t from, int32_t to)
{
    kiln_lower_kernel(lc, "copy");
    int32_t s_from = kernel_slot(lc, from), s_to = kernel_slot(lc, to);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, s_to, idx, &flat);
    kiln_lb_store(lc, b, s_to, flat,
                  kiln_lx_cast(lc, lc->m->bufs[to].dtype, kiln_lx_load(lc, s_from, flat)));
}

/* A kernel storing one immediate in element 0 of a scalar buffer. */
static void
fill_kernel(struct kiln_lower_ctx *lc, int32_t buf, int64_t v)
{
    kiln_lower_kernel(lc, "init");
    int32_t s = kernel_slot(lc, buf);
    kiln_lb_store(lc, &lc->k->body, s, kiln_lx_idx(lc, 0),
                  kiln_lx_imm_i(lc, lc->m->bufs[buf].dtype, v));
}

/* A scalar temporary of dtype t, not tied to a graph value. */
static int32_t
scalar_temp(struct kiln_lmodule *m, const char *name, enum kiln_dtype t)
{
    m->bufs = grow(m->arena, m->bufs, m->n_bufs, &m->cap_bufs, sizeof *m->bufs);
    struct kiln_lbuf *b = &m->bufs[m->n_bufs];
    memset(b, 0, sizeof *b);
    b->name = kiln_arena_strdup(m->arena, name);
    b->kind = KILN_LBUF_TEMP;
    b->dtype = t;
    b->value = -1;
    b->io = -1;
    b->alias = -1;
    b->dims = kiln_arena_alloc(m->arena, sizeof *b->dims);
    KILN_ASSERT(b->dims);
    return m->n_bufs++;
}

/* A marker step (If, Loop) for node n; returns its index in m->kernels. */
static int32_t
marker(struct kiln_lower_ctx *lc, enum kiln_lstep step)
{
    struct kiln_lkernel *k = kiln_lower_kernel(lc, step == KILN_LSTEP_IF ? "if" : "loop");
    k->step = step;
    return lc->m->n_kernels - 1;
}

static enum kiln_status lower_nodes(struct kiln_lower_ctx *lc, const struct kiln_graph *g,
                                    const int32_t *out_of);

/* Buffers for a sub-graph's constants, and its nodes lowered. */
static enum kiln_status
lower_body(struct kiln_lower_ctx *lc, const struct kiln_graph *body)
{
    struct kiln_lmodule *m = lc->m;
    int32_t *map = graph_map(m, body);
    for (int32_t i = 0; i < body->n_values; i++) {
        const struct kiln_value *v = body->values[i];
        if (v->kind != KILN_VALUE_CONST || !(v->n_uses > 0 || v->is_output))
            continue;
        if (!v->data || !v->data->data) {
            kiln_diag_error(lc->d, "constant '%s' has no data", v->name);
            return KILN_ERR_INVALID;
        }
        if ((map[i] = add_buf(m, body, i, KILN_LBUF_CONST, lc->d)) < 0)
            return KILN_ERR_UNSUPPORTED;
    }
    return lower_nodes(lc, body, NULL);
}

/* Give sub-graph input `in` the buffer `buf` (a node's input or output, or a temp). */
static void
bind_input(struct kiln_lmodule *m, const struct kiln_graph *body, int32_t k, int32_t buf)
{
    graph_map(m, body)[body->inputs[k]] = buf;
}

/* A new temp for value v of graph g (a sub-graph's input). */
static int32_t
value_temp(struct kiln_lower_ctx *lc, const struct kiln_graph *g, int32_t v)
{
    int32_t b = add_buf(lc->m, g, v, KILN_LBUF_TEMP, lc->d);
    if (b >= 0)
        graph_map(lc->m, g)[v] = b;
    return b;
}

static int32_t
node_buf(struct kiln_lower_ctx *lc, const struct kiln_graph *g, int32_t v)
{
    return v < 0 ? -1 : value_buf(lc->m, g, v);
}

/* If: each branch's kernels, then copies of its outputs into the node's. */
static enum kiln_status
lower_if(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    const struct kiln_graph *g = lc->g;
    const struct kiln_graph *br[2] = {kiln_node_attr_graph(n, "then_branch"),
                                      kiln_node_attr_graph(n, "else_branch")};
    if (!br[0] || !br[1])
        return kiln_lower_unsupported(lc, "If without both branches");
    int32_t mk = marker(lc, KILN_LSTEP_IF);
    lc->m->kernels[mk]->cond_buf = node_buf(lc, g, n->in[0]);
    for (int b = 0; b < 2; b++) {
        int32_t first = lc->m->n_kernels;
        enum kiln_status st = lower_body(lc, br[b]);
        if (st != KILN_OK)
            return st;
        for (int32_t j = 0; j < n->n_out; j++) {
            if (n->out[j] < 0)
                continue;
            lc->g = br[b];
            lc->n = n;
            copy_kernel(lc, value_buf(lc->m, br[b], br[b]->outputs[j]), node_buf(lc, g, n->out[j]));
        }
        lc->g = g;
        lc->n = n;
        int32_t count = lc->m->n_kernels - first;
        if (b == 0)
            lc->m->kernels[mk]->n_then = count;
        else
            lc->m->kernels[mk]->n_else = count;
    }
    return KILN_OK;
}

/*
 * A kernel moving the slice at position iter[0] along `axis` of buffer
 * `whole` (counted from the far end when `reverse`) to or from buffer `slice`,
 * which has whole's shape without that axis: Scan's inputs and outputs, and
 * Loop's scan outputs. `what` and `j` name the operand in a diagnostic.
 */
static enum kiln_status
slice_kernel(struct kiln_lower_ctx *lc, int32_t whole, int32_t slice, int32_t iter, int64_t axis,
             bool reverse, bool into_slice, const char *what, int j)
{
    struct kiln_lmodule *m = lc->m;
    int r = m->bufs[whole].rank;
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= r || m->bufs[slice].rank != r - 1)
        return kiln_lower_unsupported(lc, "%s %d: axis or rank mismatch", what, j);
    kiln_lower_kernel(lc, into_slice ? "scan_in" : "scan_out");
    int32_t s_whole = kernel_slot(lc, whole), s_slice = kernel_slot(lc, slice);
    int32_t s_it = kernel_slot(lc, iter);
    struct kiln_lx *idx[KILN_MAX_RANK], *full[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, s_slice, idx, &flat);
    struct kiln_lx *pos = kiln_lx_load(lc, s_it, kiln_lx_idx(lc, 0));
    if (reverse)
        pos = kiln_lx_binary(lc, KILN_LX_SUB,
                             kiln_lx_binary(lc, KILN_LX_SUB, kiln_lower_dim(lc, s_whole, (int)axis),
                                            kiln_lx_idx(lc, 1)),
                             pos);
    for (int a = 0, k = 0; a < r; a++)
        full[a] = a == axis ? pos : idx[k++];
    struct kiln_lx *at = kiln_lower_offset(lc, s_whole, full, r);
    if (into_slice)
        kiln_lb_store(lc, b, s_slice, flat, kiln_lx_load(lc, s_whole, at));
    else
        kiln_lb_store(lc, b, s_whole, at, kiln_lx_load(lc, s_slice, flat));
    return KILN_OK;
}

/*
 * Loop: the carried values live in the node's output buffers (initialized from
 * the initial values), the body's cond and iteration number in scalar temps;
 * each iteration ends copying the body's results back and appending its scan
 * outputs at row `iter`. Scan outputs need a static trip count (M constant or
 * a runtime dim, and no cond that could stop early), which shape inference
 * has then put in the output's type.
 */
static enum kiln_status
lower_loop(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    const struct kiln_graph *g = lc->g;
    struct kiln_lmodule *m = lc->m;
    const struct kiln_graph *body = kiln_node_attr_graph(n, "body");
    if (!body)
        return kiln_lower_unsupported(lc, "Loop without a body");
    int n_carried = n->n_in - 2, n_scan = n->n_out - n_carried;
    if (body->n_inputs != n_carried + 2 || body->n_outputs != n_carried + 1 + n_scan)
        return kiln_lower_unsupported(lc, "Loop body arity does not match the node");
    for (int j = 0; j < n_carried; j++)
        if (n->out[j] < 0)
            return kiln_lower_unsupported(lc, "Loop with an absent carried output");
    int32_t iter = scalar_temp(m, "iter", KILN_DT_I64);
    int32_t cond = scalar_temp(m, "cond", KILN_DT_BOOL);
    /* before the loop: cond = input cond or true; carried = initial values */
    if (n->in[1] >= 0)
        copy_kernel(lc, node_buf(lc, g, n->in[1]), cond);
    else
        fill_kernel(lc, cond, 1);
    for (int j = 0; j < n_carried; j++)
        copy_kernel(lc, node_buf(lc, g, n->in[j + 2]), node_buf(lc, g, n->out[j]));
    int32_t mk = marker(lc, KILN_LSTEP_LOOP);
    m->kernels[mk]->iter_buf = iter;
    m->kernels[mk]->cond_buf = cond;
    m->kernels[mk]->trip_buf = node_buf(lc, g, n->in[0]);
    bind_input(m, body, 0, iter);
    if (value_temp(lc, body, body->inputs[1]) < 0)
        return KILN_ERR_UNSUPPORTED;
    int32_t first = m->n_kernels;
    copy_kernel(lc, cond, graph_map(m, body)[body->inputs[1]]);
    for (int j = 0; j < n_carried; j++)
        bind_input(m, body, j + 2, node_buf(lc, g, n->out[j]));
    enum kiln_status st = lower_body(lc, body);
    if (st != KILN_OK)
        return st;
    lc->g = body;
    lc->n = n;
    /* results first into the body's buffers, then back into the carried ones: a
     * body output that is a body input must not be overwritten before it is read */
    copy_kernel(lc, value_buf(m, body, body->outputs[0]), cond);
    for (int j = 0; j < n_carried; j++) {
        int32_t from = value_buf(m, body, body->outputs[j + 1]);
        int32_t to = node_buf(lc, g, n->out[j]);
        if (from != to)
            copy_kernel(lc, from, to);
    }
    for (int j = 0; j < n_scan; j++) {
        int32_t out = node_buf(lc, g, n->out[n_carried + j]);
        if (out < 0)
            continue;
        int32_t from = value_buf(m, body, body->outputs[1 + n_carried + j]);
        st = slice_kernel(lc, out, from, iter, 0, false, false, "scan output", j);
        if (st != KILN_OK)
            return st;
    }
    lc->g = g;
    m->kernels[mk]->n_body = m->n_kernels - first;
    return KILN_OK;
}

/*
 * Scan (opset 9+): states live in the node's state outputs; each iteration
 * copies slice `iter` (or its mirror, for reverse directions) of every scan
 * input into the body's input, runs the body, copies the states back and
 * writes the scan output slices.
 */
static enum kiln_status
lower_scan(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    const struct kiln_graph *g = lc->g;
    struct kiln_lmodule *m = lc->m;
    if (g->opset < 9)
        return kiln_lower_unsupported(lc, "Scan before opset 9 (batch axis, sequence_lens)");
    const struct kiln_graph *body = kiln_node_attr_graph(n, "body");
    int64_t n_scan_in = kiln_node_attr_int(n, "num_scan_inputs", 0);
    int n_state = n->n_in - (int)n_scan_in, n_scan_out = n->n_out - n_state;
    if (!body || n_scan_in < 1 || n_state < 0 || n_scan_out < 0 || body->n_inputs != n->n_in ||
        body->n_outputs != n->n_out)
        return kiln_lower_unsupported(lc, "Scan body arity does not match the node");
    enum kiln_status st;
    int64_t len;
    const int64_t *in_axes = kiln_node_attr_ints(n, "scan_input_axes", &len);
    const int64_t *in_dirs = kiln_node_attr_ints(n, "scan_input_directions", &len);
    const int64_t *out_axes = kiln_node_attr_ints(n, "scan_output_axes", &len);
    const int64_t *out_dirs = kiln_node_attr_ints(n, "scan_output_directions", &len);
    for (int j = 0; j < n_state; j++)
        if (n->out[j] < 0)
            return kiln_lower_unsupported(lc, "Scan with an absent state output");
    int32_t iter = scalar_temp(m, "iter", KILN_DT_I64);
    for (int j = 0; j < n_state; j++)
        copy_kernel(lc, node_buf(lc, g, n->in[j]), node_buf(lc, g, n->out[j]));
    /* trip: the scan axis of the first scan input */
    int32_t first_in = node_buf(lc, g, n->in[n_state]);
    const struct kiln_lbuf *fb = &m->bufs[first_in];
    int64_t ax0 = in_axes ? in_axes[0] : 0;
    if (ax0 < 0)
        ax0 += fb->rank;
    if (ax0 < 0 || ax0 >= fb->rank)
        return kiln_lower_unsupported(lc, "scan_input_axes out of range");
    int32_t mk = marker(lc, KILN_LSTEP_LOOP);
    m->kernels[mk]->iter_buf = iter;
    m->kernels[mk]->trip_dims = fb->dims[ax0];
    int32_t first = m->n_kernels;
    for (int j = 0; j < n_state; j++)
        bind_input(m, body, j, node_buf(lc, g, n->out[j]));
    for (int j = 0; j < n_scan_in; j++) {
        int32_t src = node_buf(lc, g, n->in[n_state + j]);
        int32_t dst = value_temp(lc, body, body->inputs[n_state + j]);
        if (dst < 0)
            return KILN_ERR_UNSUPPORTED;
        st = slice_kernel(lc, src, dst, iter, in_axes ? in_axes[j] : 0, in_dirs && in_dirs[j], true,
                          "scan input", j);
        if (st != KILN_OK)
            return st;
    }
    if ((st = lower_body(lc, body)) != KILN_OK)
        return st;
    lc->g = body;
    lc->n = n;
    for (int j = 0; j < n_state; j++) {
        int32_t from = value_buf(m, body, body->outputs[j]), to = node_buf(lc, g, n->out[j]);
        if (from != to)
            copy_kernel(lc, from, to);
    }
    for (int j = 0; j < n_scan_out; j++) {
        int32_t dst = node_buf(lc, g, n->out[n_state + j]);
        if (dst < 0)
            continue;
        int32_t src = value_buf(m, body, body->outputs[n_state + j]);
        st = slice_kernel(lc, dst, src, iter, out_axes ? out_axes[j] : 0, out_dirs && out_dirs[j],
                          false, "scan output", j);
        if (st != KILN_OK)
            return st;
    }
    lc->g = g;
    m->kernels[mk]->n_body = m->n_kernels - first;
    return KILN_OK;
}

/*
 * Lower every node of g in order. Node results get buffers first: a graph
 * output of the top graph (out_of[v] >= 0) writes the caller's memory.
 * Unsupported nodes are all reported; the first failure is returned.
 */
static enum kiln_status
lower_nodes(struct kiln_lower_ctx *lc, const struct kiln_graph *g, const int32_t *out_of)
{
    struct kiln_lmodule *m = lc->m;
    int32_t *map = graph_map(m, g);
    enum kiln_status st = KILN_OK;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_node *n = g->nodes[i];
        if (n->dead)
            continue;
        bool ok = true;
        /* an operand without a buffer was reported where it was made: skip the user */
        int32_t missing = -1;
        for (int32_t k = 0; k < n->n_in && missing < 0; k++)
            if (n->in[k] >= 0 && value_buf(m, g, n->in[k]) < 0)
                missing = n->in[k];
        if (missing >= 0) {
            if (lc->d->n_errors == 0) /* nothing said why yet: a bug, but say which value */
                kiln_diag_node(lc->d, n->name, n->id, kiln_op_name(n->op),
                               "internal error: operand '%s' has no buffer",
                               g->values[missing]->name);
            st = st == KILN_OK ? KILN_ERR_INTERNAL : st;
            continue;
        }
        for (int32_t k = 0; k < n->n_out; k++) {
            int32_t v = n->out[k];
            if (v < 0)
                continue;
            bool is_out = out_of && out_of[v] >= 0;
            int32_t b = add_buf(m, g, v, is_out ? KILN_LBUF_OUTPUT : KILN_LBUF_TEMP, lc->d);
            if (b < 0) {
                ok = false;
                continue;
            }
            m->bufs[b].io = is_out ? out_of[v] : -1;
            map[v] = b;
        }
        if (!ok) {
            st = st == KILN_OK ? KILN_ERR_UNSUPPORTED : st;
            continue;
        }
        lc->g = g;
        lc->n = n;
        enum kiln_status s;
        if (n->op == KILN_OP_IF)
            s = lower_if(lc);
        else if (n->op == KILN_OP_LOOP)
            s = lower_loop(lc);
        else if (n->op == KILN_OP_SCAN)
            s = lower_scan(lc);
        else if (!lower_table[n->op])
            s = kiln_lower_unsupported(lc, "kiln cannot compile %s yet (opset %lld)",
                                       kiln_op_name(n->op), (long long)g->opset);
        else {
            kiln_lower_kernel(lc, NULL);
            s = lower_table[n->op](lc);
        }
        lc->g = g;
        if (s != KILN_OK && st == KILN_OK)
            st = s; /* keep going: report every node kiln cannot compile */
    }
    return st;
}

/* Mark the values of `top` that sub-graphs of g (at any depth) capture. */
static void
mark_captured(const struct kiln_graph *top, const struct kiln_graph *g, bool *captured)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_node *n = g->nodes[i];
        for (int32_t a = 0; a < n->n_attrs; a++) {
            const struct kiln_attr *at = &n->attrs[a];
            int64_t cnt = at->kind == KILN_ATTR_GRAPH    ? 1
                          : at->kind == KILN_ATTR_GRAPHS ? at->n
                                                         : 0;
            for (int64_t k = 0; k < cnt; k++) {
                const struct kiln_graph *sg = at->kind == KILN_ATTR_GRAPH ? at->g : at->graphs[k];
                if (!sg)
                    continue;
                for (int32_t c = 0; c < sg->n_captures; c++) {
                    /* follow the capture chain up to the top graph */
                    const struct kiln_graph *cg = sg;
                    int32_t v = sg->captures[c];
                    while (cg != top && cg->values[v]->kind == KILN_VALUE_CAPTURE && cg->parent) {
                        v = cg->values[v]->outer;
                        cg = cg->parent;
                    }
                    if (cg == top)
                        captured[v] = true;
                }
                mark_captured(top, sg, captured);
            }
        }
    }
}

enum kiln_status
kiln_lower_graph(const struct kiln_graph *g, struct kiln_lmodule **out, struct kiln_diag *d)
{
    return kiln_lower_graph_for(g, NULL, out, d);
}

enum kiln_status
kiln_lower_graph_for(const struct kiln_graph *g, const struct kiln_lower_target *target,
                     struct kiln_lmodule **out, struct kiln_diag *d)
{
    *out = NULL;
    struct kiln_arena *a = kiln_arena_new();
    if (!a)
        return KILN_ERR_NOMEM;
    struct kiln_lmodule *m = kiln_arena_alloc(a, sizeof *m);
    KILN_ASSERT(m);
    m->arena = a;
    m->target.vector_bits = target && target->vector_bits >= 128 ? target->vector_bits : 512;
    m->target.vector_regs = target && target->vector_regs >= 16 ? target->vector_regs : 32;
    m->target.winograd = !target || target->winograd;
    m->g = g;
    m->name = module_name(a, g->name);
    m->value_buf = kiln_arena_array(a, (size_t)g->n_values + 1, sizeof *m->value_buf);
    KILN_ASSERT(m->value_buf);
    for (int32_t i = 0; i < g->n_values; i++)
        m->value_buf[i] = -1;
    register_input_dims(m, g);

    enum kiln_status st = register_assumes(m, g, d);
    int32_t *storage_in = kiln_arena_array(a, (size_t)g->n_inputs + 1, sizeof *storage_in);
    KILN_ASSERT(storage_in);
    for (int32_t i = 0; i < g->n_inputs; i++) {
        storage_in[i] = -1;
        int32_t b = add_buf(m, g, g->inputs[i], KILN_LBUF_INPUT, d);
        if (b < 0) {
            st = KILN_ERR_UNSUPPORTED;
            continue;
        }
        m->bufs[b].io = i;
        m->value_buf[g->inputs[i]] = b;
        if (kiln_dtype_flags(g->values[g->inputs[i]]->type.dtype) & KILN_DTF_STORAGE) {
            /* the caller passes it widened: narrow it into a storage temp first */
            int32_t t = add_buf(m, g, g->inputs[i], KILN_LBUF_TEMP, d);
            KILN_ASSERT(t >= 0);
            storage_in[i] = b;
            m->value_buf[g->inputs[i]] = t;
        }
    }
    bool *captured = kiln_arena_array(a, (size_t)g->n_values + 1, sizeof *captured);
    KILN_ASSERT(captured);
    mark_captured(g, g, captured);
    for (int32_t i = 0; i < g->n_values; i++) {
        const struct kiln_value *v = g->values[i];
        if (v->kind == KILN_VALUE_CONST && (v->n_uses > 0 || v->is_output || captured[i])) {
            if (!v->data || !v->data->data) {
                kiln_diag_error(d, "constant '%s' has no data (elided in a text dump?)", v->name);
                st = KILN_ERR_INVALID;
                continue;
            }
            int32_t b = add_buf(m, g, i, KILN_LBUF_CONST, d);
            if (b < 0)
                st = KILN_ERR_UNSUPPORTED;
            else
                m->value_buf[i] = b;
        }
    }
    if (st != KILN_OK) {
        kiln_lmodule_free(m);
        return st;
    }
    /* node results that are graph outputs go straight to the caller's memory */
    int32_t *out_of = kiln_arena_array(a, (size_t)g->n_values + 1, sizeof *out_of);
    KILN_ASSERT(out_of);
    for (int32_t i = 0; i < g->n_values; i++)
        out_of[i] = -1;
    for (int32_t j = 0; j < g->n_outputs; j++) {
        int32_t v = g->outputs[j];
        /* a storage-type result is widened by a copy at the end instead */
        if (g->values[v]->kind == KILN_VALUE_NODE && out_of[v] < 0 &&
            !(kiln_dtype_flags(g->values[v]->type.dtype) & KILN_DTF_STORAGE))
            out_of[v] = j;
    }
    struct kiln_lower_ctx lc = {.m = m, .g = g, .d = d};
    for (int32_t i = 0; i < g->n_inputs; i++)
        if (storage_in[i] >= 0)
            copy_kernel(&lc, storage_in[i], m->value_buf[g->inputs[i]]);
    st = lower_nodes(&lc, g, out_of);
    /* a graph output that is not a node result (an input, a constant, an output
     * listed twice) gets its own buffer and a copy kernel */
    for (int32_t j = 0; j < g->n_outputs && st == KILN_OK; j++) {
        int32_t v = g->outputs[j];
        if (out_of[v] == j)
            continue;
        int32_t b = add_buf(m, g, v, KILN_LBUF_OUTPUT, d);
        if (b < 0) {
            st = KILN_ERR_UNSUPPORTED;
            break;
        }
        m->bufs[b].io = j;
        lc.g = g;
        lc.n = NULL;
        copy_kernel(&lc, m->value_buf[v], b);
    }
    if (st == KILN_OK)
        st = kiln_lmodule_check_sizes(m, d);
    if (st != KILN_OK) {
        kiln_lmodule_free(m);
        return st;
    }
    *out = m;
    return KILN_OK;
}

/* ---------------------------------------------------------------- printing */

static const char *const lx_op_names[KILN_LX_OP_COUNT] = {
    [KILN_LX_NEG] = "-",       [KILN_LX_ABS] = "abs",     [KILN_LX_NOT] = "!",
    [KILN_LX_SQRT] = "sqrt",   [KILN_LX_EXP] = "exp",     [KILN_LX_LOG] = "log",
    [KILN_LX_SIN] = "sin",     [KILN_LX_COS] = "cos",     [KILN_LX_TAN] = "tan",
    [KILN_LX_ASIN] = "asin",   [KILN_LX_ACOS] = "acos",   [KILN_LX_ATAN] = "atan",
    [KILN_LX_SINH] = "sinh",   [KILN_LX_COSH] = "cosh",   [KILN_LX_TANH] = "tanh",
    [KILN_LX_ASINH] = "asinh", [KILN_LX_ACOSH] = "acosh", [KILN_LX_ATANH] = "atanh",
    [KILN_LX_ERF] = "erf",     [KILN_LX_FLOOR] = "floor", [KILN_LX_CEIL] = "ceil",
    [KILN_LX_ROUND] = "round", [KILN_LX_TRUNC] = "trunc", [KILN_LX_ISNAN] = "isnan",
    [KILN_LX_ISINF] = "isinf", [KILN_LX_ADD] = "+",       [KILN_LX_SUB] = "-",
    [KILN_LX_MUL] = "*",       [KILN_LX_DIV] = "/",       [KILN_LX_REM] = "%",
    [KILN_LX_MIN] = "min",     [KILN_LX_MAX] = "max",     [KILN_LX_POW] = "pow",
    [KILN_LX_ATAN2] = "atan2", [KILN_LX_AND] = "&",       [KILN_LX_OR] = "|",
    [KILN_LX_XOR] = "^",       [KILN_LX_SHL] = "<<",      [KILN_LX_SHR] = ">>",
    [KILN_LX_EQ] = "==",       [KILN_LX_NE] = "!=",       [KILN_LX_LT] = "<",
    [KILN_LX_LE] = "<=",       [KILN_LX_GT] = ">",        [KILN_LX_GE] = ">=",
};
_Static_assert(sizeof lx_op_names / sizeof lx_op_names[0] == KILN_LX_OP_COUNT, "lx op names");

static bool
is_infix(enum kiln_lx_op op)
{
    return op >= KILN_LX_ADD && op != KILN_LX_MIN && op != KILN_LX_MAX && op != KILN_LX_POW &&
           op != KILN_LX_ATAN2;
}

/* Opens a reference to kernel slot buf: "name[", or in a signature
 * "#slot:dtype[" (names differ between kernels that are the same). */
static void
print_buf(const struct kiln_lmodule *m, const struct kiln_lkernel *k, int32_t buf, FILE *f,
          bool sig)
{
    if (sig)
        fprintf(f, "#%d:%s[", (int)buf, kiln_dtype_name(m->bufs[k->bufs[buf]].dtype));
    else
        fprintf(f, "%s[", m->bufs[k->bufs[buf]].name);
}

static void
print_lx(const struct kiln_lmodule *m, const struct kiln_lkernel *k, const struct kiln_lx *x,
         FILE *f, bool sig)
{
    switch (x->kind) {
    case KILN_LX_IMM:
        if (kiln_dtype_is_float(x->type))
            fprintf(f, sig ? "%a:%s" : "%.9g", x->f, kiln_dtype_name(x->type));
        else
            fprintf(f, "%lld", (long long)x->i);
        return;
    case KILN_LX_VAR:
        fprintf(f, "%s%d", sig ? "v" : k->vars[x->var].name, (int)x->var);
        return;
    case KILN_LX_DIM:
        fprintf(f, "%s", m->dims[x->dim].name);
        return;
    case KILN_LX_LOAD:
        print_buf(m, k, x->buf, f, sig);
        print_lx(m, k, x->a, f, sig);
        fprintf(f, "]");
        return;
    case KILN_LX_UNARY:
        fprintf(f, "%s(", lx_op_names[x->op]);
        print_lx(m, k, x->a, f, sig);
        fprintf(f, ")");
        return;
    case KILN_LX_BINARY:
        if (is_infix(x->op)) {
            fprintf(f, "(");
            print_lx(m, k, x->a, f, sig);
            fprintf(f, " %s ", lx_op_names[x->op]);
            print_lx(m, k, x->b, f, sig);
            fprintf(f, ")");
        } else {
            fprintf(f, "%s(", lx_op_names[x->op]);
            print_lx(m, k, x->a, f, sig);
            fprintf(f, ", ");
            print_lx(m, k, x->b, f, sig);
            fprintf(f, ")");
        }
        return;
    case KILN_LX_SELECT:
        fprintf(f, "(");
        print_lx(m, k, x->a, f, sig);
        fprintf(f, " ? ");
        print_lx(m, k, x->b, f, sig);
        fprintf(f, " : ");
        print_lx(m, k, x->c, f, sig);
        fprintf(f, ")");
        return;
    case KILN_LX_CAST:
    case KILN_LX_BITCAST:
        fprintf(f, "%s<%s%s>(", x->kind == KILN_LX_CAST ? "cast" : "bitcast",
                kiln_dtype_name(x->type), sig && x->kind == KILN_LX_CAST && x->i ? ",sat" : "");
        print_lx(m, k, x->a, f, sig);
        fprintf(f, ")");
        return;
    case KILN_LX_VLOAD:
        print_buf(m, k, x->buf, f, sig);
        print_lx(m, k, x->a, f, sig);
        fprintf(f, " +: %d]", (int)x->lanes);
        return;
    case KILN_LX_SPLAT:
        fprintf(f, "splat%d(", (int)x->lanes);
        print_lx(m, k, x->a, f, sig);
        fprintf(f, ")");
        return;
    case KILN_LX_EXTRACT:
        print_lx(m, k, x->a, f, sig);
        fprintf(f, ".%d", (int)x->i);
        return;
    case KILN_LX_SHUFFLE:
        fprintf(f, "shuffle(");
        print_lx(m, k, x->a, f, sig);
        fprintf(f, ", ");
        print_lx(m, k, x->b, f, sig);
        fprintf(f, ", [");
        for (int32_t j = 0; j < x->lanes; j++)
            fprintf(f, j ? " %d" : "%d", (int)x->mask[j]);
        fprintf(f, "])");
        return;
    }
}

static void
print_block(const struct kiln_lmodule *m, const struct kiln_lkernel *k, const struct kiln_lblock *b,
            int depth, FILE *f, bool sig)
{
    for (int32_t i = 0; i < b->n; i++) {
        const struct kiln_ls *s = b->s[i];
        fprintf(f, "%*s", 2 * depth, "");
        switch (s->kind) {
        case KILN_LS_FOR:
            fprintf(f, "for %s%d in [", sig ? "v" : k->vars[s->var].name, (int)s->var);
            print_lx(m, k, s->lo, f, sig);
            fprintf(f, ", ");
            print_lx(m, k, s->hi, f, sig);
            fprintf(f, ")%s%s {\n", s->hints & KILN_LS_HINT_VECTORIZE ? " vectorize" : "",
                    sig && (s->hints & KILN_LS_HINT_UNROLL) ? " unroll" : "");
            print_block(m, k, &s->body, depth + 1, f, sig);
            fprintf(f, "%*s}\n", 2 * depth, "");
            break;
        case KILN_LS_STORE:
            print_buf(m, k, s->buf, f, sig);
            print_lx(m, k, s->idx, f, sig);
            if (s->val->lanes > 1)
                fprintf(f, " +: %d", (int)s->val->lanes);
            fprintf(f, "] = ");
            print_lx(m, k, s->val, f, sig);
            fprintf(f, "\n");
            break;
        case KILN_LS_PREFETCH:
            fprintf(f, "prefetch%s L%u ", s->hints & KILN_LS_PF_WRITE ? "w" : "",
                    s->hints & KILN_LS_PF_LEVEL);
            print_buf(m, k, s->buf, f, sig);
            print_lx(m, k, s->idx, f, sig);
            fprintf(f, "]\n");
            break;
        case KILN_LS_SET:
            fprintf(f, "%s%d = ", sig ? "v" : k->vars[s->var].name, (int)s->var);
            print_lx(m, k, s->val, f, sig);
            fprintf(f, "\n");
            break;
        case KILN_LS_IF:
            fprintf(f, "if ");
            print_lx(m, k, s->cond, f, sig);
            fprintf(f, " {\n");
            print_block(m, k, &s->body, depth + 1, f, sig);
            if (s->orelse.n) {
                fprintf(f, "%*s} else {\n", 2 * depth, "");
                print_block(m, k, &s->orelse, depth + 1, f, sig);
            }
            fprintf(f, "%*s}\n", 2 * depth, "");
            break;
        }
    }
}

static const char *const lbuf_kind_names[] = {"input", "output", "const", "temp", "reg", "local"};

void
kiln_lmodule_print(const struct kiln_lmodule *m, FILE *f)
{
    fprintf(f, "module %s\n", m->name);
    for (int32_t i = 0; i < m->n_dims; i++)
        fprintf(f, "dim %s  // input %d axis %d\n", m->dims[i].name, (int)m->dims[i].input,
                m->dims[i].axis);
    for (int32_t i = 0; i < m->n_bufs; i++) {
        const struct kiln_lbuf *b = &m->bufs[i];
        fprintf(f, "%s %s: %s[", lbuf_kind_names[b->kind], b->name, kiln_dtype_name(b->dtype));
        for (int r = 0; r < b->rank; r++) {
            if (r)
                fprintf(f, ",");
            print_lx(m, NULL, b->dims[r], f, false);
        }
        if (b->alias >= 0)
            fprintf(f, "]  // in %s from element %lld\n", m->bufs[b->alias].name,
                    (long long)b->alias_off);
        else
            fprintf(f, "]\n");
    }
    for (int32_t i = 0; i < m->n_kernels; i++) {
        const struct kiln_lkernel *k = m->kernels[i];
        if (k->step == KILN_LSTEP_IF) {
            fprintf(f, "\nif %s  // then: the next %d steps, else: the %d after them\n",
                    m->bufs[k->cond_buf].name, (int)k->n_then, (int)k->n_else);
            continue;
        }
        if (k->step == KILN_LSTEP_CHECK) {
            fprintf(f, "\ncheck %s[0]  // else stop: a data-dependent size differs\n",
                    m->bufs[k->cond_buf].name);
            continue;
        }
        if (k->step == KILN_LSTEP_LOOP) {
            fprintf(f, "\nloop iter=%s", k->iter_buf >= 0 ? m->bufs[k->iter_buf].name : "-");
            if (k->trip_dims) {
                fprintf(f, " trip=");
                print_lx(m, k, k->trip_dims, f, false);
            } else if (k->trip_buf >= 0) {
                fprintf(f, " trip=%s[0]", m->bufs[k->trip_buf].name);
            }
            if (k->cond_buf >= 0)
                fprintf(f, " while=%s[0]", m->bufs[k->cond_buf].name);
            fprintf(f, "  // body: the next %d steps\n", (int)k->n_body);
            continue;
        }
        fprintf(f, "\nkernel %s(", k->name);
        for (int32_t s = 0; s < k->n_bufs; s++)
            fprintf(f, "%s%s", s ? ", " : "", m->bufs[k->bufs[s]].name);
        fprintf(f, ")");
        if (k->trip) {
            fprintf(f, " parallel %s%d in [0, ", k->vars[k->outer].name, (int)k->outer);
            print_lx(m, k, k->trip, f, false);
            fprintf(f, ")");
        }
        fprintf(f, k->method ? " {  // %s\n" : " {\n", k->method);
        print_block(m, k, &k->body, 1, f, false);
        fprintf(f, "}\n");
    }
}

char *
kiln_lkernel_signature(const struct kiln_lmodule *m, const struct kiln_lkernel *k)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "slots %d vars", (int)k->n_bufs);
    for (int32_t i = 0; i < k->n_vars; i++)
        fprintf(f, k->vars[i].lanes > 1 ? " %sx%d" : " %s", kiln_dtype_name(k->vars[i].type),
                (int)k->vars[i].lanes);
    fprintf(f, "\nhints %u outer %d trip ", k->hints, (int)k->outer);
    if (k->trip)
        print_lx(m, k, k->trip, f, true);
    fprintf(f, "\n");
    print_block(m, k, &k->body, 0, f, true);
    fclose(f);
    return buf;
}
