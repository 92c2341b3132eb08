/*
 * lower_lanes.c - the epilogue of a register tile on vectors: scalar loop-IR
 * statements, built for the element of one lane, widened to every lane.
 *
 * A tiled kernel holds its results in vector registers, but the fused
 * epilogue (lower_fused.c: the elementwise ops after a Conv or MatMul, lowered
 * by their usual functions) is built per element. kiln_lb_store_out_lanes
 * builds it once, for the element of lane `lane` (a variable), into a block of
 * its own, and then rewrites that block for all lanes at once:
 *
 *   a value that does not depend on the lane   stays scalar; used by a vector
 *                                              op, it is splat
 *   lane + offset (an i64 index)               the first lane's offset
 *   load at lane + offset                      a vector load at offset
 *   an op of lane-dependent values             its vector form
 *                                              (kiln_lx_vector_op)
 *   var = value                                a vector variable
 *   store at lane + offset                     a vector store at offset
 *
 * The lane's placeholder value (a scalar variable standing for lane `lane` of
 * the tile's register) becomes the register itself. Anything else (a
 * division of the lane index, a conversion, a call, a loop or branch in the
 * epilogue) does not widen: the caller then keeps its per-element path.
 */
#include "codegen/lower_build.h"

struct widen {
    struct kiln_lower_ctx *lc;
    int32_t lane, lanes;
    struct kiln_lx **vec; /* var -> its vector value; NULL: the same in every lane */
    int32_t n_vec;
};

static bool
depends(const struct widen *w, const struct kiln_lx *x)
{
    if (!x)
        return false;
    if (x->kind == KILN_LX_VAR)
        return x->var == w->lane || (x->var < w->n_vec && w->vec[x->var]);
    return depends(w, x->a) || depends(w, x->b) || depends(w, x->c);
}

/* For x = lane + (terms free of the lane), through additions and
 * subtractions: those terms; else NULL. */
static struct kiln_lx *
lane_offset(struct widen *w, struct kiln_lx *x)
{
    if (x->kind == KILN_LX_VAR && x->var == w->lane)
        return IX(w->lc, 0);
    if (x->kind != KILN_LX_BINARY || x->type != KILN_DT_I64 || x->lanes != 1)
        return NULL;
    bool da = depends(w, x->a), db = depends(w, x->b);
    if (x->op == KILN_LX_ADD && da != db) {
        struct kiln_lx *o = lane_offset(w, da ? x->a : x->b);
        return o ? add_i(w->lc, o, da ? x->b : x->a) : NULL;
    }
    if (x->op == KILN_LX_SUB && da && !db) {
        struct kiln_lx *o = lane_offset(w, x->a);
        return o ? sub_i(w->lc, o, x->b) : NULL;
    }
    return NULL;
}

static bool
lane_float(enum kiln_dtype t)
{
    return t == KILN_DT_F32 || t == KILN_DT_F64;
}

/* x for every lane (a vector of w->lanes), or NULL when it does not widen. */
static struct kiln_lx *
widen_x(struct widen *w, struct kiln_lx *x)
{
    struct kiln_lower_ctx *lc = w->lc;
    if (!depends(w, x))
        return lane_float(x->type) && x->lanes == 1 ? kiln_lx_splat(lc, x, w->lanes) : NULL;
    switch (x->kind) {
    case KILN_LX_VAR:
        return x->var == w->lane ? NULL : w->vec[x->var];
    case KILN_LX_LOAD: {
        struct kiln_lx *o = lane_float(x->type) ? lane_offset(w, x->a) : NULL;
        return o ? kiln_lx_vload(lc, x->buf, o, w->lanes) : NULL;
    }
    case KILN_LX_UNARY: {
        if (!kiln_lx_vector_op(x->op, x->a->type))
            return NULL;
        struct kiln_lx *a = widen_x(w, x->a);
        return a ? kiln_lx_unary(lc, x->op, a) : NULL;
    }
    case KILN_LX_BINARY: {
        if (!kiln_lx_vector_op(x->op, x->a->type))
            return NULL;
        struct kiln_lx *a = widen_x(w, x->a), *b = a ? widen_x(w, x->b) : NULL;
        return b ? kiln_lx_binary(lc, x->op, a, b) : NULL;
    }
    case KILN_LX_SELECT: {
        /* a condition free of the lane would need a bool splat: not widened */
        struct kiln_lx *c = depends(w, x->a) ? widen_x(w, x->a) : NULL;
        struct kiln_lx *a = c ? widen_x(w, x->b) : NULL, *b = a ? widen_x(w, x->c) : NULL;
        return b ? kiln_lx_select(lc, c, a, b) : NULL;
    }
    default:
        return NULL;
    }
}

/* Append statement s, widened, to dst; false when it does not widen. */
static bool
widen_s(struct widen *w, struct kiln_lblock *dst, const struct kiln_ls *s)
{
    struct kiln_lower_ctx *lc = w->lc;
    if (s->kind == KILN_LS_SET) {
        if (!depends(w, s->val)) {
            w->vec[s->var] = NULL;
            kiln_lb_set(lc, dst, s->var, s->val);
            return true;
        }
        struct kiln_lx *v = widen_x(w, s->val);
        if (!v || !lane_float(v->type))
            return false;
        int32_t vv = kiln_lk_vvar(lc, v->type, w->lanes, lc->k->vars[s->var].name);
        kiln_lb_set(lc, dst, vv, v);
        w->vec[s->var] = V(lc, vv);
        return true;
    }
    if (s->kind == KILN_LS_STORE) {
        struct kiln_lx *o = lane_offset(w, s->idx);
        struct kiln_lx *v = o ? widen_x(w, s->val) : NULL;
        if (!v || !lane_float(v->type))
            return false;
        kiln_lb_store(lc, dst, s->buf, o, v);
        return true;
    }
    return false;
}

bool
kiln_lb_store_out_lanes(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                        struct kiln_lx *idx, struct kiln_lx *val, struct kiln_lx *const *axes,
                        int32_t lane)
{
    KILN_ASSERT(val->lanes > 1 && axes && lane >= 0 && lane < lc->k->n_vars);
    if (!lane_float(val->type) || kiln_lower_buf(lc, slot)->dtype != val->type)
        return false;
    /* the lane's element, built as usual into a block of its own */
    int32_t one = kiln_lk_var(lc, val->type, "lane_value");
    struct kiln_lblock scalar = {0};
    kiln_lb_store_out(lc, &scalar, slot, idx, V(lc, one), axes);
    struct widen w = {.lc = lc, .lane = lane, .lanes = val->lanes, .n_vec = lc->k->n_vars};
    w.vec = kiln_arena_array(lc->m->arena, (size_t)w.n_vec, sizeof *w.vec);
    KILN_ASSERT(w.vec);
    w.vec[one] = val;
    struct kiln_lblock wide = {0};
    for (int32_t i = 0; i < scalar.n; i++)
        if (!widen_s(&w, &wide, scalar.s[i]))
            return false;
    for (int32_t i = 0; i < wide.n; i++)
        kiln_lb_add(lc, b, wide.s[i]);
    return true;
}

static void
prefetch_x(struct kiln_lower_ctx *lc, struct kiln_lblock *dst, const struct kiln_lx *x,
           struct kiln_lx *ahead, int level)
{
    if (!x)
        return;
    if (x->kind == KILN_LX_VLOAD && kiln_lower_buf(lc, x->buf)->kind != KILN_LBUF_REG &&
        kiln_dtype_bits(x->type) >= 8)
        kiln_lb_prefetch(lc, dst, x->buf, add_i(lc, x->a, ahead), level, false);
    prefetch_x(lc, dst, x->a, ahead, level);
    prefetch_x(lc, dst, x->b, ahead, level);
    prefetch_x(lc, dst, x->c, ahead, level);
}

void
kiln_lb_prefetch_vectors(struct kiln_lower_ctx *lc, struct kiln_lblock *dst,
                         const struct kiln_lblock *src, int32_t from, struct kiln_lx *ahead,
                         int level, bool stores)
{
    const int32_t end = src->n; /* dst may be src */
    for (int32_t i = from; i < end; i++) {
        const struct kiln_ls *s = src->s[i];
        switch (s->kind) {
        case KILN_LS_SET:
            prefetch_x(lc, dst, s->val, ahead, level);
            break;
        case KILN_LS_STORE:
            prefetch_x(lc, dst, s->val, ahead, level);
            if (stores && s->val->lanes > 1)
                kiln_lb_prefetch(lc, dst, s->buf, add_i(lc, s->idx, ahead), level, true);
            break;
        case KILN_LS_IF:
            prefetch_x(lc, dst, s->cond, ahead, level);
            kiln_lb_prefetch_vectors(lc, dst, &s->body, 0, ahead, level, stores);
            kiln_lb_prefetch_vectors(lc, dst, &s->orelse, 0, ahead, level, stores);
            break;
        default:
            break;
        }
    }
}
