/*
 * lower_ew.c - lowering of elementwise ops: unary math and activations,
 * broadcasting binary ops and comparisons, Clip.
 *
 * Contract (lower_ops.h): one kernel per node, a loop over every output
 * element (kiln_lower_loop_over), inputs indexed with numpy broadcasting.
 * f16/bf16 compute in f32. Semantics follow the ONNX reference (numpy): NaN
 * propagates through Relu, Min/Max and Clip; integer Div truncates toward
 * zero; Round is half to even.
 */
#include <string.h>

#include "codegen/lower_ops.h"

/* Load input slot `in` broadcast against the output's per-axis indices. */
static struct kiln_lx *
load_bcast(struct kiln_lower_ctx *lc, int32_t in, struct kiln_lx **idx, int out_rank)
{
    return kiln_lx_load_f(lc, in, kiln_lower_offset(lc, in, idx, out_rank));
}

static struct kiln_lx *
unary_value(struct kiln_lower_ctx *lc, enum kiln_op op, struct kiln_lx *x)
{
    enum kiln_dtype t = x->type;
    bool fl = kiln_dtype_is_float(t);
    bool sgn = kiln_dtype_flags(t) & KILN_DTF_SIGNED;
    struct kiln_lx *zero = kiln_lx_imm_i(lc, t, 0), *one = kiln_lx_imm_i(lc, t, 1);
    switch (op) {
    case KILN_OP_IDENTITY:
        return x;
    case KILN_OP_ABS:
        if (fl)
            return kiln_lx_unary(lc, KILN_LX_ABS, x);
        if (!sgn)
            return x;
        return kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_LT, x, zero),
                              kiln_lx_unary(lc, KILN_LX_NEG, x), x);
    case KILN_OP_NEG:
        return kiln_lx_unary(lc, KILN_LX_NEG, x);
    case KILN_OP_NOT:
        return kiln_lx_unary(lc, KILN_LX_NOT, x);
    case KILN_OP_RECIPROCAL:
        return kiln_lx_binary(lc, KILN_LX_DIV, one, x);
    case KILN_OP_RELU:
        if (fl) /* max(x, 0) with NaN kept, as numpy's maximum */
            return kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_LT, x, zero), zero, x);
        return kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_LT, x, zero), zero, x);
    case KILN_OP_SIGMOID:
        return kiln_lx_binary(
            lc, KILN_LX_DIV, one,
            kiln_lx_binary(lc, KILN_LX_ADD, one,
                           kiln_lx_unary(lc, KILN_LX_EXP, kiln_lx_unary(lc, KILN_LX_NEG, x))));
    case KILN_OP_SIGN: {
        struct kiln_lx *m1 = kiln_lx_imm_i(lc, t, sgn ? -1 : 0);
        struct kiln_lx *s =
            kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_GT, x, zero), one,
                           kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_LT, x, zero), m1, zero));
        return fl ? kiln_lx_select(lc, kiln_lx_unary(lc, KILN_LX_ISNAN, x), x, s) : s;
    }
    default:
        break;
    }
    static const struct {
        enum kiln_op op;
        enum kiln_lx_op lx;
    } math[] = {
        {KILN_OP_ACOS, KILN_LX_ACOS}, {KILN_OP_ACOSH, KILN_LX_ACOSH},
        {KILN_OP_ASIN, KILN_LX_ASIN}, {KILN_OP_ASINH, KILN_LX_ASINH},
        {KILN_OP_ATAN, KILN_LX_ATAN}, {KILN_OP_ATANH, KILN_LX_ATANH},
        {KILN_OP_CEIL, KILN_LX_CEIL}, {KILN_OP_COS, KILN_LX_COS},
        {KILN_OP_COSH, KILN_LX_COSH}, {KILN_OP_ERF, KILN_LX_ERF},
        {KILN_OP_EXP, KILN_LX_EXP},   {KILN_OP_FLOOR, KILN_LX_FLOOR},
        {KILN_OP_LOG, KILN_LX_LOG},   {KILN_OP_ROUND, KILN_LX_ROUND},
        {KILN_OP_SIN, KILN_LX_SIN},   {KILN_OP_SINH, KILN_LX_SINH},
        {KILN_OP_SQRT, KILN_LX_SQRT}, {KILN_OP_TAN, KILN_LX_TAN},
        {KILN_OP_TANH, KILN_LX_TANH},
    };
    for (size_t i = 0; i < sizeof math / sizeof math[0]; i++)
        if (math[i].op == op)
            return fl ? kiln_lx_unary(lc, math[i].lx, x) : NULL;
    return NULL;
}

enum kiln_status
kiln_lower_unary(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *v = unary_value(lc, lc->n->op, kiln_lx_load_f(lc, x, flat));
    if (!v)
        return kiln_lower_unsupported(lc, "%s is not defined for %s", kiln_op_name(lc->n->op),
                                      kiln_dtype_name(kiln_lower_buf(lc, x)->dtype));
    kiln_lb_store_f(lc, b, y, flat, v);
    return KILN_OK;
}

enum kiln_status
kiln_lower_binary(struct kiln_lower_ctx *lc)
{
    int32_t a = kiln_lower_in(lc, 0), bb = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, y);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *blk = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *va = load_bcast(lc, a, idx, r), *vb = load_bcast(lc, bb, idx, r);
    enum kiln_op op = lc->n->op;
    if (op == KILN_OP_POW) {
        /* the exponent may have another type: compute in the base's */
        enum kiln_dtype t = va->type;
        if (!kiln_dtype_is_float(t)) {
            va = kiln_lx_cast(lc, KILN_DT_F64, va);
            vb = kiln_lx_cast(lc, KILN_DT_F64, vb);
            kiln_lb_store_f(lc, blk, y, flat,
                            kiln_lx_cast(lc, t, kiln_lx_binary(lc, KILN_LX_POW, va, vb)));
            return KILN_OK;
        }
        vb = kiln_lx_cast(lc, t, vb);
        kiln_lb_store_f(lc, blk, y, flat, kiln_lx_binary(lc, KILN_LX_POW, va, vb));
        return KILN_OK;
    }
    static const struct {
        enum kiln_op op;
        enum kiln_lx_op lx;
    } ops[] = {
        {KILN_OP_ADD, KILN_LX_ADD},    {KILN_OP_SUB, KILN_LX_SUB},
        {KILN_OP_MUL, KILN_LX_MUL},    {KILN_OP_DIV, KILN_LX_DIV},
        {KILN_OP_AND, KILN_LX_AND},    {KILN_OP_OR, KILN_LX_OR},
        {KILN_OP_XOR, KILN_LX_XOR},    {KILN_OP_EQUAL, KILN_LX_EQ},
        {KILN_OP_LESS, KILN_LX_LT},    {KILN_OP_LESS_OR_EQUAL, KILN_LX_LE},
        {KILN_OP_GREATER, KILN_LX_GT}, {KILN_OP_GREATER_OR_EQUAL, KILN_LX_GE},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (ops[i].op == op) {
            kiln_lb_store_f(lc, blk, y, flat, kiln_lx_binary(lc, ops[i].lx, va, vb));
            return KILN_OK;
        }
    }
    return kiln_lower_unsupported(lc, "no binary lowering for %s", kiln_op_name(op));
}

/* Clip: bounds from inputs 1 and 2 (opset 11+) or attributes min/max (6). */
enum kiln_status
kiln_lower_clip(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int32_t lo_s = kiln_lower_in(lc, 1), hi_s = kiln_lower_in(lc, 2);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *v = kiln_lx_load_f(lc, x, flat);
    enum kiln_dtype t = v->type;
    struct kiln_lx *lo = NULL, *hi = NULL;
    if (lc->g->opset < 11) {
        const struct kiln_attr *a = kiln_node_attr(lc->n, "min");
        if (a)
            lo = kiln_lx_imm_f(lc, t, a->f);
        if ((a = kiln_node_attr(lc->n, "max")))
            hi = kiln_lx_imm_f(lc, t, a->f);
    } else {
        if (lo_s >= 0)
            lo = kiln_lx_load_f(lc, lo_s, kiln_lx_idx(lc, 0));
        if (hi_s >= 0)
            hi = kiln_lx_load_f(lc, hi_s, kiln_lx_idx(lc, 0));
    }
    /* comparisons with NaN are false, so a NaN input passes through */
    if (lo)
        v = kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_LT, v, lo), lo, v);
    if (hi)
        v = kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_GT, v, hi), hi, v);
    kiln_lb_store_f(lc, b, y, flat, v);
    return KILN_OK;
}
