/*
 * lower_ew.c - lowering of elementwise ops: unary math and activations,
 * broadcasting binary ops, comparisons, bitwise ops and Mod, the variadic
 * Max/Min/Sum/Mean, Where, PRelu, Clip, Cast/CastLike, Dropout (inference),
 * the generators (Constant, ConstantOfShape, EyeLike, Range, the windows),
 * quantization (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear) and
 * the random ops.
 *
 * Contract (lower_ops.h): one kernel per node (DynamicQuantizeLinear: two), a
 * loop over every output element (kiln_lower_loop_over), inputs indexed with
 * numpy broadcasting. f16/bf16 compute in f32.
 *
 * Semantics follow the ONNX reference (numpy):
 *  - NaN propagates through Relu, Min/Max, Clip, HardSigmoid; Round is half to
 *    even; integer Div truncates toward zero, x / 0 is 0 (the emitter's guard).
 *  - Float-only math applied to integers (Erf-9, Shrink, Reciprocal through a
 *    cast) computes in f64 and truncates back, as numpy's astype does.
 *  - Mod with fmod=0 takes the divisor's sign (Python's %), for integers and
 *    floats; fmod=1 is C's fmod / truncated remainder.
 *  - Pow of an integer base by an integer exponent is exact (square and
 *    multiply, wrapping like numpy); any float operand computes in f64 unless
 *    both are the same float type.
 *  - BitShift by a negative amount or the width or more gives what the sign
 *    fill alone gives: -1 for a right shift of a negative signed value, else 0.
 *  - Cast is LLVM's conversion: float to integer saturates (NaN gives 0).
 *  - Quantization rounds half to even and saturates to the target's range;
 *    x / scale of two f16 (bf16) tensors is rounded to f16 (bf16) first, as
 *    numpy divides in that type.
 *  - Random ops hash (seed, element index) with splitmix64: the right
 *    distribution and shape, not numpy's stream.
 */
#include <math.h>
#include <string.h>

#include "codegen/lower_ops.h"

#define TWO_PI 6.28318530717958647692

/* ---------------------------------------------------------------- expression helpers */

static struct kiln_lx *
ex_bin(struct kiln_lower_ctx *lc, enum kiln_lx_op op, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, op, a, b);
}

static struct kiln_lx *
ex_add(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_ADD, a, b);
}

static struct kiln_lx *
ex_sub(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_SUB, a, b);
}

static struct kiln_lx *
ex_mul(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_MUL, a, b);
}

static struct kiln_lx *
ex_div(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_DIV, a, b);
}

static struct kiln_lx *
ex_sel(struct kiln_lower_ctx *lc, struct kiln_lx *c, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_select(lc, c, a, b);
}

/* Immediate of x's type. */
static struct kiln_lx *
ex_imm(struct kiln_lower_ctx *lc, const struct kiln_lx *like, double v)
{
    return kiln_lx_imm_f(lc, like->type, v);
}

/* exp(x) - 1: accurate to an ulp of 1, which the activations that use it need. */
static struct kiln_lx *
ex_expm1(struct kiln_lower_ctx *lc, struct kiln_lx *x)
{
    return ex_sub(lc, kiln_lx_unary(lc, KILN_LX_EXP, x), ex_imm(lc, x, 1));
}

/* 1 / (1 + exp(-x)) */
static struct kiln_lx *
ex_sigmoid(struct kiln_lower_ctx *lc, struct kiln_lx *x)
{
    struct kiln_lx *one = ex_imm(lc, x, 1);
    return ex_div(
        lc, one,
        ex_add(lc, one, kiln_lx_unary(lc, KILN_LX_EXP, kiln_lx_unary(lc, KILN_LX_NEG, x))));
}

/* log(1 + exp(x)) without overflow: max(x, 0) + log(1 + exp(-|x|)) (numpy's logaddexp). */
static struct kiln_lx *
ex_softplus(struct kiln_lower_ctx *lc, struct kiln_lx *x)
{
    struct kiln_lx *zero = ex_imm(lc, x, 0), *one = ex_imm(lc, x, 1);
    struct kiln_lx *pos = ex_sel(lc, ex_bin(lc, KILN_LX_GT, x, zero), x, zero);
    struct kiln_lx *t = kiln_lx_unary(
        lc, KILN_LX_EXP, kiln_lx_unary(lc, KILN_LX_NEG, kiln_lx_unary(lc, KILN_LX_ABS, x)));
    return ex_add(lc, pos, kiln_lx_unary(lc, KILN_LX_LOG, ex_add(lc, one, t)));
}

/* Whether dtype t is a signed integer or float. */
static bool
is_signed_dt(enum kiln_dtype t)
{
    return (kiln_dtype_flags(t) & KILN_DTF_SIGNED) != 0;
}

/* Whether slot's dim i is the compile-time constant *n. */
static bool
dim_const(struct kiln_lower_ctx *lc, int32_t slot, int i, int64_t *n)
{
    const struct kiln_lx *d = kiln_lower_dim(lc, slot, i);
    if (d->kind != KILN_LX_IMM)
        return false;
    *n = d->i;
    return true;
}

/* Whether slot holds exactly one element (all dims the constant 1). */
static bool
is_one_element(struct kiln_lower_ctx *lc, int32_t slot)
{
    for (int i = 0; i < kiln_lower_rank(lc, slot); i++) {
        int64_t n;
        if (!dim_const(lc, slot, i, &n) || n != 1)
            return false;
    }
    return true;
}

/*
 * Value conversion to t. f64 to f16/bf16 goes through f32 here: the emitter
 * widens f16/bf16 casts through f32 and cannot narrow f64 on that path.
 */
static struct kiln_lx *
ex_cast(struct kiln_lower_ctx *lc, enum kiln_dtype t, struct kiln_lx *v)
{
    if (v->type == KILN_DT_F64 && (t == KILN_DT_F16 || t == KILN_DT_BF16))
        v = kiln_lx_cast(lc, KILN_DT_F32, v);
    return kiln_lx_cast(lc, t, v);
}

/* Store v converted to slot's dtype (kiln_lb_store_f for values of any type). */
static void
store_cast(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot, struct kiln_lx *idx,
           struct kiln_lx *v)
{
    kiln_lb_store(lc, b, slot, idx, ex_cast(lc, kiln_lower_buf(lc, slot)->dtype, v));
}

/* Load input slot `in` broadcast against the output's per-axis indices (flat:
 * the output element's offset). */
static struct kiln_lx *
load_bcast(struct kiln_lower_ctx *lc, int32_t in, struct kiln_lx **idx, struct kiln_lx *flat,
           int32_t out)
{
    return kiln_lx_load_f(lc, in, kiln_lower_offset_bcast(lc, in, idx, flat, out));
}

/* ---------------------------------------------------------------- counter-based random numbers */

/* splitmix64 of key + (counter + 1) * golden: a u64 hash, counter an i64 expression. */
static struct kiln_lx *
rand_u64(struct kiln_lower_ctx *lc, uint64_t key, struct kiln_lx *counter)
{
    enum kiln_dtype u = KILN_DT_U64;
    struct kiln_lx *c = kiln_lx_cast(lc, u, ex_add(lc, counter, kiln_lx_idx(lc, 1)));
    struct kiln_lx *z = ex_add(lc, kiln_lx_imm_i(lc, u, (int64_t)key),
                               ex_mul(lc, c, kiln_lx_imm_i(lc, u, (int64_t)0x9E3779B97F4A7C15u)));
    static const struct {
        int shift;
        uint64_t mul;
    } rounds[] = {{30, 0xBF58476D1CE4E5B9u}, {27, 0x94D049BB133111EBu}, {31, 0}};
    for (size_t i = 0; i < sizeof rounds / sizeof rounds[0]; i++) {
        z = ex_bin(lc, KILN_LX_XOR, z,
                   ex_bin(lc, KILN_LX_SHR, z, kiln_lx_imm_i(lc, u, rounds[i].shift)));
        if (rounds[i].mul)
            z = ex_mul(lc, z, kiln_lx_imm_i(lc, u, (int64_t)rounds[i].mul));
    }
    return z;
}

/* A uniform f64 in [0, 1) from the top 53 bits of the hash. */
static struct kiln_lx *
rand_unit(struct kiln_lower_ctx *lc, uint64_t key, struct kiln_lx *counter)
{
    struct kiln_lx *h =
        ex_bin(lc, KILN_LX_SHR, rand_u64(lc, key, counter), kiln_lx_imm_i(lc, KILN_DT_U64, 11));
    return ex_mul(lc, kiln_lx_cast(lc, KILN_DT_F64, h),
                  kiln_lx_imm_f(lc, KILN_DT_F64, 1.0 / 9007199254740992.0));
}

/* The hash key of a random op: its seed attribute (float or int), or a fixed one. */
static uint64_t
rand_key(const struct kiln_lower_ctx *lc, uint64_t salt)
{
    const struct kiln_attr *a = kiln_node_attr(lc->n, "seed");
    uint64_t seed = 0x243F6A8885A308D3u; /* no seed: any fixed one is a valid choice */
    if (a && a->kind == KILN_ATTR_FLOAT) {
        double f = a->f;
        memcpy(&seed, &f, sizeof seed);
    } else if (a && a->kind == KILN_ATTR_INT) {
        seed = (uint64_t)a->i;
    }
    return seed * 0xD1B54A32D192ED03u ^ salt;
}

/* ---------------------------------------------------------------- unary */

/* Ops computed in the input's own type, integers included; every other unary op
 * is float math, which integers (Erf-9, Shrink) reach through f64. */
static bool
unary_native(enum kiln_op op)
{
    switch (op) {
    case KILN_OP_IDENTITY:
    case KILN_OP_ABS:
    case KILN_OP_NEG:
    case KILN_OP_NOT:
    case KILN_OP_BITWISE_NOT:
    case KILN_OP_RELU:
    case KILN_OP_SIGN:
        return true;
    default:
        return false;
    }
}

/* GELU: 0.5 x (1 + erf(x / sqrt 2)), or with tanh the approximation
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
static struct kiln_lx *
gelu_value(struct kiln_lower_ctx *lc, struct kiln_lx *x, bool tanh_form)
{
    struct kiln_lx *one = ex_imm(lc, x, 1.0);
    struct kiln_lx *half_x = ex_mul(lc, ex_imm(lc, x, 0.5), x);
    if (tanh_form) {
        struct kiln_lx *x3 = ex_mul(lc, ex_mul(lc, x, x), x);
        struct kiln_lx *in = ex_mul(lc, ex_imm(lc, x, 0.79788456080286535588),
                                    ex_add(lc, x, ex_mul(lc, ex_imm(lc, x, 0.044715), x3)));
        return ex_mul(lc, half_x, ex_add(lc, one, kiln_lx_unary(lc, KILN_LX_TANH, in)));
    }
    struct kiln_lx *e =
        kiln_lx_unary(lc, KILN_LX_ERF, ex_mul(lc, x, ex_imm(lc, x, 0.70710678118654752440)));
    return ex_mul(lc, half_x, ex_add(lc, one, e));
}

/* Activations with attributes; NULL when op is not one. x is a float. */
static struct kiln_lx *
activation_value(struct kiln_lower_ctx *lc, enum kiln_op op, struct kiln_lx *x)
{
    const struct kiln_node *n = lc->n;
    struct kiln_lx *zero = ex_imm(lc, x, 0), *one = ex_imm(lc, x, 1);
    struct kiln_lx *pos = ex_bin(lc, KILN_LX_GT, x, zero);
    switch (op) {
    case KILN_OP_ELU: {
        struct kiln_lx *alpha = ex_imm(lc, x, kiln_node_attr_float(n, "alpha", 1.0f));
        return ex_sel(lc, pos, x, ex_mul(lc, alpha, ex_expm1(lc, x)));
    }
    case KILN_OP_CELU: {
        /* max(0, x) + min(0, alpha * expm1(x / alpha)) */
        struct kiln_lx *alpha = ex_imm(lc, x, kiln_node_attr_float(n, "alpha", 1.0f));
        struct kiln_lx *neg = ex_mul(lc, alpha, ex_expm1(lc, ex_div(lc, x, alpha)));
        return ex_add(lc, ex_bin(lc, KILN_LX_MAX, x, zero), ex_bin(lc, KILN_LX_MIN, neg, zero));
    }
    case KILN_OP_SELU: {
        bool v1 = lc->g->opset < 6; /* Selu-1 had rounder defaults */
        struct kiln_lx *alpha = ex_imm(
            lc, x, kiln_node_attr_float(n, "alpha", v1 ? 1.6732f : 1.67326319217681884765625f));
        struct kiln_lx *gamma = ex_imm(
            lc, x, kiln_node_attr_float(n, "gamma", v1 ? 1.0507f : 1.05070102214813232421875f));
        return ex_mul(lc, gamma, ex_sel(lc, pos, x, ex_mul(lc, alpha, ex_expm1(lc, x))));
    }
    case KILN_OP_LEAKY_RELU: {
        struct kiln_lx *alpha = ex_imm(lc, x, kiln_node_attr_float(n, "alpha", 0.01f));
        return ex_sel(lc, pos, x, ex_mul(lc, alpha, x));
    }
    case KILN_OP_THRESHOLDED_RELU: {
        struct kiln_lx *alpha = ex_imm(lc, x, kiln_node_attr_float(n, "alpha", 1.0f));
        return ex_sel(lc, ex_bin(lc, KILN_LX_GT, x, alpha), x, zero);
    }
    case KILN_OP_HARD_SIGMOID:
    case KILN_OP_HARD_SWISH: {
        /* max(0, min(1, alpha * x + beta)), NaN kept; HardSwish multiplies by x */
        bool swish = op == KILN_OP_HARD_SWISH;
        float a = swish ? 1.0f / 6.0f : kiln_node_attr_float(n, "alpha", 0.2f);
        float b = swish ? 0.5f : kiln_node_attr_float(n, "beta", 0.5f);
        struct kiln_lx *v = ex_add(lc, ex_mul(lc, ex_imm(lc, x, a), x), ex_imm(lc, x, b));
        v = ex_bin(lc, KILN_LX_MAX, zero, ex_bin(lc, KILN_LX_MIN, one, v));
        return swish ? ex_mul(lc, x, v) : v;
    }
    case KILN_OP_SHRINK: {
        struct kiln_lx *bias = ex_imm(lc, x, kiln_node_attr_float(n, "bias", 0.0f));
        float l = kiln_node_attr_float(n, "lambd", 0.5f);
        return ex_sel(
            lc, ex_bin(lc, KILN_LX_LT, x, ex_imm(lc, x, -l)), ex_add(lc, x, bias),
            ex_sel(lc, ex_bin(lc, KILN_LX_GT, x, ex_imm(lc, x, l)), ex_sub(lc, x, bias), zero));
    }
    case KILN_OP_SOFTPLUS:
        return ex_softplus(lc, x);
    case KILN_OP_SOFTSIGN:
        return ex_div(lc, x, ex_add(lc, one, kiln_lx_unary(lc, KILN_LX_ABS, x)));
    case KILN_OP_MISH:
        return ex_mul(lc, x, kiln_lx_unary(lc, KILN_LX_TANH, ex_softplus(lc, x)));
    case KILN_OP_SWISH: {
        struct kiln_lx *alpha = ex_imm(lc, x, kiln_node_attr_float(n, "alpha", 1.0f));
        return ex_mul(lc, x, ex_sigmoid(lc, ex_mul(lc, alpha, x)));
    }
    case KILN_OP_GELU:
        return gelu_value(lc, x,
                          strcmp(kiln_node_attr_string(n, "approximate", "none"), "tanh") == 0);
    case KILN_OP_IS_NAN:
        return kiln_lx_unary(lc, KILN_LX_ISNAN, x);
    case KILN_OP_IS_INF: {
        bool p = kiln_node_attr_int(n, "detect_positive", 1) != 0;
        bool m = kiln_node_attr_int(n, "detect_negative", 1) != 0;
        if (p && m)
            return kiln_lx_unary(lc, KILN_LX_ISINF, x);
        if (!p && !m)
            return kiln_lx_imm_i(lc, KILN_DT_BOOL, 0);
        return ex_bin(lc, KILN_LX_EQ, x, ex_imm(lc, x, p ? INFINITY : -INFINITY));
    }
    default:
        return NULL;
    }
}

/*
 * com.microsoft Gelu (exact), BiasGelu (exact, of A + B) and FastGelu (the
 * tanh form, of X + bias when it has one), as ONNX Runtime's contrib ops
 * define them, over the output with the bias broadcast.
 */
enum kiln_status
kiln_lower_ms_gelu(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), bias = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *blk = kiln_lower_loop_over(lc, y, idx, &flat);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *v = kiln_lx_cast(lc, ct, load_bcast(lc, x, idx, flat, y));
    if (bias >= 0)
        v = ex_add(lc, v, kiln_lx_cast(lc, ct, load_bcast(lc, bias, idx, flat, y)));
    store_cast(lc, blk, y, flat, gelu_value(lc, v, lc->n->op == KILN_OP_MS_FAST_GELU));
    return KILN_OK;
}

static struct kiln_lx *
unary_value(struct kiln_lower_ctx *lc, enum kiln_op op, struct kiln_lx *x)
{
    if (!kiln_dtype_is_float(x->type) && x->type != KILN_DT_BOOL && !unary_native(op))
        x = kiln_lx_cast(lc, KILN_DT_F64, x);
    enum kiln_dtype t = x->type;
    bool fl = kiln_dtype_is_float(t);
    bool sgn = is_signed_dt(t);
    struct kiln_lx *zero = kiln_lx_imm_i(lc, t, 0), *one = kiln_lx_imm_i(lc, t, 1);
    switch (op) {
    case KILN_OP_IDENTITY:
        return x;
    case KILN_OP_ABS:
        if (fl)
            return kiln_lx_unary(lc, KILN_LX_ABS, x);
        if (!sgn)
            return x;
        return ex_sel(lc, ex_bin(lc, KILN_LX_LT, x, zero), kiln_lx_unary(lc, KILN_LX_NEG, x), x);
    case KILN_OP_NEG:
        return kiln_lx_unary(lc, KILN_LX_NEG, x);
    case KILN_OP_NOT:
    case KILN_OP_BITWISE_NOT:
        return kiln_lx_unary(lc, KILN_LX_NOT, x);
    case KILN_OP_RECIPROCAL:
        return ex_div(lc, one, x);
    case KILN_OP_RELU:
        /* max(x, 0) with NaN kept, as numpy's maximum: NaN < 0 is false */
        return ex_sel(lc, ex_bin(lc, KILN_LX_LT, x, zero), zero, x);
    case KILN_OP_SIGMOID:
        return ex_sigmoid(lc, x);
    case KILN_OP_SIGN: {
        struct kiln_lx *m1 = kiln_lx_imm_i(lc, t, sgn ? -1 : 0);
        struct kiln_lx *s = ex_sel(lc, ex_bin(lc, KILN_LX_GT, x, zero), one,
                                   ex_sel(lc, ex_bin(lc, KILN_LX_LT, x, zero), m1, zero));
        return fl ? ex_sel(lc, kiln_lx_unary(lc, KILN_LX_ISNAN, x), x, s) : s;
    }
    default:
        break;
    }
    if (!fl)
        return NULL;
    struct kiln_lx *v = activation_value(lc, op, x);
    if (v)
        return v;
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
            return kiln_lx_unary(lc, math[i].lx, x);
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
    store_cast(lc, b, y, flat, v);
    return KILN_OK;
}

/* ---------------------------------------------------------------- binary */

/*
 * Offset of the second operand of a binary op. Opset < 7 with broadcast=1
 * aligns B's dims with A's starting at `axis` (default: the trailing dims);
 * otherwise numpy broadcasting, which also covers equal shapes.
 */
static struct kiln_lx *
second_offset(struct kiln_lower_ctx *lc, int32_t b, struct kiln_lx **idx, struct kiln_lx *flat,
              int32_t out)
{
    int out_rank = kiln_lower_rank(lc, out);
    int br = kiln_lower_rank(lc, b);
    if (lc->g->opset < 7 && kiln_node_attr_int(lc->n, "broadcast", 0) != 0 && br <= out_rank) {
        int64_t axis = kiln_node_attr_int(lc->n, "axis", out_rank - br);
        if (axis < 0)
            axis += out_rank;
        if (axis >= 0 && axis + br <= out_rank)
            return kiln_lower_offset(lc, b, idx + axis, br);
    }
    return kiln_lower_offset_bcast(lc, b, idx, flat, out);
}

/*
 * Integer base ** integer exponent, exactly and wrapping like numpy: square and
 * multiply over the exponent's 64 bits in statements appended to blk. A negative
 * exponent gives the integer part of the true power (1, +-1 for a base of -1, else 0).
 */
static struct kiln_lx *
int_pow(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, struct kiln_lx *base,
        struct kiln_lx *expo)
{
    enum kiln_dtype t = base->type;
    struct kiln_lx *e64 = kiln_lx_cast(lc, KILN_DT_I64, expo);
    int32_t acc = kiln_lk_var(lc, t, "pw"), b = kiln_lk_var(lc, t, "sq");
    int32_t e = kiln_lk_var(lc, KILN_DT_I64, "e");
    kiln_lb_set(lc, blk, acc, kiln_lx_imm_i(lc, t, 1));
    kiln_lb_set(lc, blk, b, base);
    kiln_lb_set(lc, blk, e, e64);
    struct kiln_ls *f = kiln_lb_for(lc, blk, "k", kiln_lx_idx(lc, 0), kiln_lx_idx(lc, 64), NULL);
    struct kiln_lx *odd =
        ex_bin(lc, KILN_LX_NE, ex_bin(lc, KILN_LX_AND, kiln_lx_var(lc, e), kiln_lx_idx(lc, 1)),
               kiln_lx_idx(lc, 0));
    kiln_lb_set(lc, &f->body, acc,
                ex_sel(lc, odd, ex_mul(lc, kiln_lx_var(lc, acc), kiln_lx_var(lc, b)),
                       kiln_lx_var(lc, acc)));
    kiln_lb_set(lc, &f->body, b, ex_mul(lc, kiln_lx_var(lc, b), kiln_lx_var(lc, b)));
    kiln_lb_set(lc, &f->body, e, ex_bin(lc, KILN_LX_SHR, kiln_lx_var(lc, e), kiln_lx_idx(lc, 1)));
    if (!is_signed_dt(expo->type))
        return kiln_lx_var(lc, acc);
    struct kiln_lx *one = kiln_lx_imm_i(lc, t, 1);
    struct kiln_lx *neg_val =
        ex_sel(lc, ex_bin(lc, KILN_LX_EQ, base, one), one, kiln_lx_imm_i(lc, t, 0));
    if (is_signed_dt(t)) {
        struct kiln_lx *odd_e = ex_bin(
            lc, KILN_LX_NE, ex_bin(lc, KILN_LX_AND, e64, kiln_lx_idx(lc, 1)), kiln_lx_idx(lc, 0));
        struct kiln_lx *m1 = kiln_lx_imm_i(lc, t, -1);
        neg_val = ex_sel(lc, ex_bin(lc, KILN_LX_EQ, base, m1), ex_sel(lc, odd_e, m1, one), neg_val);
    }
    return ex_sel(lc, ex_bin(lc, KILN_LX_LT, e64, kiln_lx_idx(lc, 0)), neg_val,
                  kiln_lx_var(lc, acc));
}

/* Pow's value; the exponent may have another type than the base. */
static struct kiln_lx *
pow_value(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, struct kiln_lx *a, struct kiln_lx *b)
{
    bool fa = kiln_dtype_is_float(a->type), fb = kiln_dtype_is_float(b->type);
    if (!fa && !fb)
        return int_pow(lc, blk, a, b);
    enum kiln_dtype t = fa && fb && a->type == b->type ? a->type : KILN_DT_F64;
    return kiln_lx_binary(lc, KILN_LX_POW, kiln_lx_cast(lc, t, a), kiln_lx_cast(lc, t, b));
}

/* Mod: fmod=1 is the truncated remainder; fmod=0 takes the divisor's sign. */
static struct kiln_lx *
mod_value(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    struct kiln_lx *r = ex_bin(lc, KILN_LX_REM, a, b);
    if (kiln_node_attr_int(lc->n, "fmod", 0) != 0 || !is_signed_dt(a->type))
        return r;
    struct kiln_lx *zero = ex_imm(lc, a, 0);
    struct kiln_lx *fix = ex_bin(
        lc, KILN_LX_AND, ex_bin(lc, KILN_LX_NE, r, zero),
        ex_bin(lc, KILN_LX_NE, ex_bin(lc, KILN_LX_LT, r, zero), ex_bin(lc, KILN_LX_LT, b, zero)));
    struct kiln_lx *v = ex_sel(lc, fix, ex_add(lc, r, b), r);
    if (kiln_dtype_is_float(a->type)) /* a zero result takes the divisor's sign too */
        v = ex_sel(lc, ex_bin(lc, KILN_LX_EQ, r, zero),
                   ex_sel(lc, ex_bin(lc, KILN_LX_LT, b, zero), ex_imm(lc, a, -0.0), zero), v);
    return v;
}

/* BitShift: shifts by a negative amount or by the width or more give the sign fill. */
static struct kiln_lx *
shift_value(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    bool left = strcmp(kiln_node_attr_string(lc->n, "direction", "LEFT"), "LEFT") == 0;
    if (left || !is_signed_dt(a->type)) /* the emitter gives 0 for out-of-range amounts */
        return ex_bin(lc, left ? KILN_LX_SHL : KILN_LX_SHR, a, b);
    int bits = kiln_dtype_bits(a->type);
    struct kiln_lx *out = ex_bin(lc, KILN_LX_OR, ex_bin(lc, KILN_LX_LT, b, ex_imm(lc, b, 0)),
                                 ex_bin(lc, KILN_LX_GE, b, ex_imm(lc, b, bits)));
    return ex_bin(lc, KILN_LX_SHR, a, ex_sel(lc, out, ex_imm(lc, b, bits - 1), b));
}

enum kiln_status
kiln_lower_binary(struct kiln_lower_ctx *lc)
{
    int32_t a = kiln_lower_in(lc, 0), bb = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *blk = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *va = load_bcast(lc, a, idx, flat, y);
    struct kiln_lx *vb = kiln_lx_load_f(lc, bb, second_offset(lc, bb, idx, flat, y));
    enum kiln_op op = lc->n->op;
    struct kiln_lx *v = NULL;
    static const struct {
        enum kiln_op op;
        enum kiln_lx_op lx;
    } ops[] = {
        {KILN_OP_ADD, KILN_LX_ADD},
        {KILN_OP_SUB, KILN_LX_SUB},
        {KILN_OP_MUL, KILN_LX_MUL},
        {KILN_OP_DIV, KILN_LX_DIV},
        {KILN_OP_AND, KILN_LX_AND},
        {KILN_OP_OR, KILN_LX_OR},
        {KILN_OP_XOR, KILN_LX_XOR},
        {KILN_OP_BITWISE_AND, KILN_LX_AND},
        {KILN_OP_BITWISE_OR, KILN_LX_OR},
        {KILN_OP_BITWISE_XOR, KILN_LX_XOR},
        {KILN_OP_EQUAL, KILN_LX_EQ},
        {KILN_OP_LESS, KILN_LX_LT},
        {KILN_OP_LESS_OR_EQUAL, KILN_LX_LE},
        {KILN_OP_GREATER, KILN_LX_GT},
        {KILN_OP_GREATER_OR_EQUAL, KILN_LX_GE},
    };
    const struct kiln_tensor *ex = op == KILN_OP_POW ? kiln_lower_const_in(lc, 1) : NULL;
    double e2 = 0;
    if (ex && kiln_tensor_numel(ex) == 1 && kiln_tensor_get_f64(ex, 0, &e2) && e2 == 2.0 &&
        kiln_dtype_is_float(va->type) && kiln_dtype_is_float(ex->dtype)) {
        /* x^2 is x*x exactly (the one rounding of the product), and vectorizes */
        struct kiln_lx *sq = kiln_lx_cast(lc, vb->type != va->type ? KILN_DT_F64 : va->type, va);
        v = ex_bin(lc, KILN_LX_MUL, sq, sq);
    } else if (op == KILN_OP_POW) {
        v = pow_value(lc, blk, va, vb);
    } else if (va->type != vb->type) {
        return kiln_lower_unsupported(lc, "operands of different types (%s, %s)",
                                      kiln_dtype_name(va->type), kiln_dtype_name(vb->type));
    } else if (op == KILN_OP_MOD) {
        v = mod_value(lc, va, vb);
    } else if (op == KILN_OP_BIT_SHIFT) {
        v = shift_value(lc, va, vb);
    } else {
        for (size_t i = 0; i < sizeof ops / sizeof ops[0] && !v; i++)
            if (ops[i].op == op)
                v = ex_bin(lc, ops[i].lx, va, vb);
    }
    if (!v)
        return kiln_lower_unsupported(lc, "no binary lowering for %s", kiln_op_name(op));
    store_cast(lc, blk, y, flat, v);
    return KILN_OK;
}

/* ---------------------------------------------------------------- variadic, Where, PRelu */

/* Max, Min, Sum, Mean over any number of inputs, all broadcast to the output. */
enum kiln_status
kiln_lower_variadic(struct kiln_lower_ctx *lc)
{
    int32_t y = kiln_lower_out(lc, 0);
    enum kiln_op op = lc->n->op;
    enum kiln_lx_op lx = op == KILN_OP_MAX   ? KILN_LX_MAX
                         : op == KILN_OP_MIN ? KILN_LX_MIN
                                             : KILN_LX_ADD;
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *blk = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *acc = NULL;
    int count = 0;
    for (int i = 0; i < lc->n->n_in; i++) {
        int32_t s = kiln_lower_in(lc, i);
        if (s < 0)
            continue;
        struct kiln_lx *v = load_bcast(lc, s, idx, flat, y);
        acc = acc ? ex_bin(lc, lx, acc, v) : v;
        count++;
    }
    if (!acc)
        return kiln_lower_unsupported(lc, "%s needs at least one input", kiln_op_name(op));
    if (op == KILN_OP_MEAN)
        acc = ex_div(lc, acc, ex_imm(lc, acc, count));
    store_cast(lc, blk, y, flat, acc);
    return KILN_OK;
}

enum kiln_status
kiln_lower_where(struct kiln_lower_ctx *lc)
{
    int32_t c = kiln_lower_in(lc, 0), a = kiln_lower_in(lc, 1), b = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *blk = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *vc = kiln_lx_load(lc, c, kiln_lower_offset_bcast(lc, c, idx, flat, y));
    struct kiln_lx *va = kiln_lx_load(lc, a, kiln_lower_offset_bcast(lc, a, idx, flat, y));
    struct kiln_lx *vb = kiln_lx_load(lc, b, kiln_lower_offset_bcast(lc, b, idx, flat, y));
    kiln_lb_store(lc, blk, y, flat, ex_sel(lc, kiln_lx_cast(lc, KILN_DT_BOOL, vc), va, vb));
    return KILN_OK;
}

/*
 * PRelu: the slope broadcasts to X numpy-style (PRelu-7 on). Failing that (and
 * before 7), a 1-D slope of C values runs along the channel axis 1, or along
 * the one axis of X with that extent (the reference's fallback).
 */
enum kiln_status
kiln_lower_prelu(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), s = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, y), sr = kiln_lower_rank(lc, s);
    bool numpy = sr <= r;
    for (int i = 0; i < sr && numpy; i++) {
        int64_t ds, dx;
        if (dim_const(lc, s, i, &ds) && ds != 1 && (!dim_const(lc, x, r - sr + i, &dx) || dx != ds))
            numpy = false;
    }
    int axis = -1;
    if ((!numpy || lc->g->opset < 7) && sr == 1 && !is_one_element(lc, s)) {
        int64_t ds, dx;
        if (!dim_const(lc, s, 0, &ds))
            return kiln_lower_unsupported(lc, "slope of symbolic length");
        if (lc->g->opset < 7 && r >= 2 && dim_const(lc, x, 1, &dx) && dx == ds) {
            axis = 1;
        } else {
            int found = 0;
            for (int i = 0; i < r; i++)
                if (dim_const(lc, x, i, &dx) && dx == ds) {
                    axis = i;
                    found++;
                }
            if (found != 1 && !numpy)
                return kiln_lower_unsupported(lc, "slope of %lld values does not broadcast to X",
                                              (long long)ds);
            if (found != 1)
                axis = -1;
        }
    } else if (!numpy && !is_one_element(lc, s)) {
        return kiln_lower_unsupported(lc, "slope does not broadcast to X");
    }
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *blk = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *vx = kiln_lx_load_f(lc, x, flat);
    struct kiln_lx *soff = axis >= 0               ? idx[axis]
                           : is_one_element(lc, s) ? kiln_lx_idx(lc, 0)
                                                   : kiln_lower_offset_bcast(lc, s, idx, flat, y);
    struct kiln_lx *vs = kiln_lx_load_f(lc, s, soff);
    store_cast(lc, blk, y, flat,
               ex_sel(lc, ex_bin(lc, KILN_LX_GT, vx, ex_imm(lc, vx, 0)), vx, ex_mul(lc, vx, vs)));
    return KILN_OK;
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
        v = ex_sel(lc, ex_bin(lc, KILN_LX_LT, v, lo), lo, v);
    if (hi)
        v = ex_sel(lc, ex_bin(lc, KILN_LX_GT, v, hi), hi, v);
    store_cast(lc, b, y, flat, v);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Cast, Dropout */

/* Cast and CastLike: the output buffer's dtype is the target ("saturate" only
 * concerns float8, which kiln does not compute with). */
enum kiln_status
kiln_lower_cast(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *c = kiln_lx_cast(lc, kiln_lower_buf(lc, y)->dtype, kiln_lx_load(lc, x, flat));
    if (c->kind == KILN_LX_CAST) /* float8 overflow: largest finite, or inf/NaN */
        c->i = kiln_node_attr_int(lc->n, "saturate", 1) != 0;
    kiln_lb_store(lc, b, y, flat, c);
    return KILN_OK;
}

/* BitCast (opset 26): the same bits, another type of the same width. */
enum kiln_status
kiln_lower_bitcast(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    enum kiln_dtype from = kiln_lower_buf(lc, x)->dtype, to = kiln_lower_buf(lc, y)->dtype;
    if (kiln_dtype_bits(from) != kiln_dtype_bits(to) || kiln_dtype_bits(from) < 8)
        return kiln_lower_unsupported(lc,
                                      "BitCast from %s to %s (widths differ or are below a byte)",
                                      kiln_dtype_name(from), kiln_dtype_name(to));
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    kiln_lb_store(lc, b, y, flat, kiln_lx_bitcast(lc, to, kiln_lx_load(lc, x, flat)));
    return KILN_OK;
}

/*
 * Dropout. Inference (every opset before 12, and training_mode absent or a
 * constant false) copies the input and sets the mask to true (ones before
 * Dropout-10, whose mask had the data's type). A constant true training_mode is
 * refused: kiln compiles inference. A training_mode only known at run time
 * selects between the copy and a random mask (kiln's generator, seeded by
 * `seed`) scaled by 1 / (1 - ratio).
 */
enum kiln_status
kiln_lower_dropout(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0), m = kiln_lower_out(lc, 1);
    int32_t ratio = -1, train = -1;
    if (lc->g->opset >= 12) {
        const struct kiln_tensor *t = kiln_lower_const_in(lc, 2);
        int64_t on = 0;
        if (t && kiln_tensor_get_i64(t, 0, &on) && on)
            return kiln_lower_unsupported(lc, "training_mode is true; kiln compiles inference");
        if (!t && lc->n->n_in > 2 && lc->n->in[2] >= 0) {
            train = kiln_lower_in(lc, 2);
            ratio = kiln_lower_in(lc, 1);
        }
    }
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *v = kiln_lx_load_f(lc, x, flat);
    struct kiln_lx *keep = kiln_lx_imm_i(lc, KILN_DT_BOOL, 1);
    if (train >= 0) {
        struct kiln_lx *on = kiln_lx_load(lc, train, kiln_lx_idx(lc, 0));
        struct kiln_lx *p = ratio >= 0 ? kiln_lx_cast(lc, KILN_DT_F64,
                                                      kiln_lx_load_f(lc, ratio, kiln_lx_idx(lc, 0)))
                                       : kiln_lx_imm_f(lc, KILN_DT_F64, 0.5);
        struct kiln_lx *u = rand_unit(lc, rand_key(lc, 0xD0), flat);
        struct kiln_lx *kept = ex_bin(lc, KILN_LX_GE, u, p);
        struct kiln_lx *scale = kiln_lx_cast(
            lc, v->type,
            ex_div(lc, kiln_lx_imm_f(lc, KILN_DT_F64, 1), ex_sub(lc, ex_imm(lc, p, 1), p)));
        v = ex_sel(lc, on, ex_sel(lc, kept, ex_mul(lc, v, scale), ex_imm(lc, v, 0)), v);
        keep = ex_sel(lc, on, kept, keep);
    }
    store_cast(lc, b, y, flat, v);
    if (m >= 0)
        store_cast(lc, b, m, flat, keep);
    return KILN_OK;
}

/* ---------------------------------------------------------------- generators */

/* Element i of tensor t as an immediate of type `to`'s compute type; false if unreadable. */
static bool
tensor_imm(struct kiln_lower_ctx *lc, const struct kiln_tensor *t, int64_t i, enum kiln_dtype to,
           struct kiln_lx **out)
{
    enum kiln_dtype ct = kiln_lower_compute_type(to);
    if (kiln_dtype_is_float(t->dtype)) {
        double f;
        if (!kiln_tensor_get_f64(t, i, &f))
            return false;
        if (kiln_dtype_is_float(ct))
            *out = kiln_lx_imm_f(lc, ct, f);
        else
            *out = kiln_lx_cast(lc, ct, kiln_lx_imm_f(lc, KILN_DT_F64, f));
        return true;
    }
    int64_t v;
    if (!kiln_tensor_get_i64(t, i, &v))
        return false;
    if (kiln_dtype_is_float(ct) && t->dtype == KILN_DT_U64)
        *out = kiln_lx_imm_f(lc, ct, (double)(uint64_t)v);
    else
        *out = kiln_lx_imm_i(lc, ct, v);
    return true;
}

/* Largest Constant a node may hold as stores of immediates (a bigger one should
 * have become a constant value, as the ONNX frontend makes them). */
#define CONSTANT_MAX_ELEMS 4096

/* A Constant node (a .kir graph can keep one): its value stored element by element. */
enum kiln_status
kiln_lower_constant(struct kiln_lower_ctx *lc)
{
    int32_t y = kiln_lower_out(lc, 0);
    enum kiln_dtype to = kiln_lower_buf(lc, y)->dtype, ct = kiln_lower_compute_type(to);
    const struct kiln_attr *a = NULL;
    static const char *const names[] = {"value", "value_float", "value_floats", "value_int",
                                        "value_ints"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !a; i++)
        a = kiln_node_attr(lc->n, names[i]);
    if (!a)
        return kiln_lower_unsupported(lc, "no value attribute kiln can compile");
    int64_t n = a->kind == KILN_ATTR_TENSOR ? (a->t ? kiln_tensor_numel(a->t) : -1)
                : a->kind == KILN_ATTR_INTS || a->kind == KILN_ATTR_FLOATS ? a->n
                                                                           : 1;
    if (n < 0 || n > CONSTANT_MAX_ELEMS || (a->kind == KILN_ATTR_TENSOR && !a->t->data))
        return kiln_lower_unsupported(lc, "constant of %lld elements: fold it into a weight",
                                      (long long)n);
    int32_t p;
    struct kiln_lblock *b = kiln_lk_parallel(lc, kiln_lx_idx(lc, 1), &p);
    for (int64_t i = 0; i < n; i++) {
        struct kiln_lx *v = NULL;
        switch (a->kind) {
        case KILN_ATTR_TENSOR:
            if (!tensor_imm(lc, a->t, i, to, &v))
                return kiln_lower_unsupported(lc, "cannot read the value's %s elements",
                                              kiln_dtype_name(a->t->dtype));
            break;
        case KILN_ATTR_FLOAT:
            v = kiln_lx_imm_f(lc, ct, a->f);
            break;
        case KILN_ATTR_FLOATS:
            v = kiln_lx_imm_f(lc, ct, a->floats[i]);
            break;
        case KILN_ATTR_INT:
            v = kiln_lx_imm_i(lc, ct, a->i);
            break;
        case KILN_ATTR_INTS:
            v = kiln_lx_imm_i(lc, ct, a->ints[i]);
            break;
        default:
            return kiln_lower_unsupported(lc, "value attribute of kind %s",
                                          kiln_attr_kind_name(a->kind));
        }
        store_cast(lc, b, y, kiln_lx_idx(lc, i), v);
    }
    return KILN_OK;
}

/* ConstantOfShape: the output's shape is known (shape inference); fill it. */
enum kiln_status
kiln_lower_constant_of_shape(struct kiln_lower_ctx *lc)
{
    int32_t y = kiln_lower_out(lc, 0);
    enum kiln_dtype to = kiln_lower_buf(lc, y)->dtype;
    const struct kiln_tensor *t = kiln_node_attr_tensor(lc->n, "value");
    struct kiln_lx *v = kiln_lx_imm_i(lc, kiln_lower_compute_type(to), 0);
    if (t && !tensor_imm(lc, t, 0, to, &v))
        return kiln_lower_unsupported(lc, "cannot read a %s value", kiln_dtype_name(t->dtype));
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    store_cast(lc, b, y, flat, v);
    return KILN_OK;
}

/* EyeLike: ones on the k-th diagonal of a 2-D output. */
enum kiln_status
kiln_lower_eye_like(struct kiln_lower_ctx *lc)
{
    int32_t y = kiln_lower_out(lc, 0);
    if (kiln_lower_rank(lc, y) != 2)
        return kiln_lower_unsupported(lc, "output of rank %d (EyeLike is 2-D)",
                                      kiln_lower_rank(lc, y));
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    int64_t k = kiln_node_attr_int(lc->n, "k", 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *on = ex_bin(lc, KILN_LX_EQ, ex_sub(lc, idx[1], idx[0]), kiln_lx_idx(lc, k));
    store_cast(lc, b, y, flat, ex_sel(lc, on, kiln_lx_imm_i(lc, ct, 1), kiln_lx_imm_i(lc, ct, 0)));
    return KILN_OK;
}

/* Range: start + i * delta, integers in their type, floats in f64 (numpy's arange). */
enum kiln_status
kiln_lower_range(struct kiln_lower_ctx *lc)
{
    int32_t s = kiln_lower_in(lc, 0), d = kiln_lower_in(lc, 2), y = kiln_lower_out(lc, 0);
    enum kiln_dtype t = kiln_lower_buf(lc, y)->dtype;
    enum kiln_dtype ct = kiln_dtype_is_float(t) ? KILN_DT_F64 : t;
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *start = kiln_lx_cast(lc, ct, kiln_lx_load(lc, s, kiln_lx_idx(lc, 0)));
    struct kiln_lx *delta = kiln_lx_cast(lc, ct, kiln_lx_load(lc, d, kiln_lx_idx(lc, 0)));
    store_cast(lc, b, y, flat, ex_add(lc, start, ex_mul(lc, kiln_lx_cast(lc, ct, flat), delta)));
    return KILN_OK;
}

/*
 * BlackmanWindow, HammingWindow, HannWindow of `size` points (the output's
 * length): periodic divides by size, symmetric by size - 1. Computed in f64 in
 * the reference's order of operations, so that integer outputs truncate alike.
 */
enum kiln_status
kiln_lower_window(struct kiln_lower_ctx *lc)
{
    int32_t y = kiln_lower_out(lc, 0);
    if (kiln_lower_rank(lc, y) != 1)
        return kiln_lower_unsupported(lc, "output of rank %d (a window is 1-D)",
                                      kiln_lower_rank(lc, y));
    bool periodic = kiln_node_attr_int(lc->n, "periodic", 1) != 0;
    enum kiln_dtype f = KILN_DT_F64;
    struct kiln_lx *size = kiln_lx_cast(lc, f, kiln_lower_dim(lc, y, 0));
    struct kiln_lx *n1 = periodic ? size : ex_sub(lc, size, kiln_lx_imm_f(lc, f, 1));
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *n = kiln_lx_cast(lc, f, flat), *v;
    switch (lc->n->op) {
    case KILN_OP_BLACKMAN_WINDOW: {
        /* cos(2 pi n / N1) * -0.5 + cos(4 pi n / N1) * 0.08 + 0.42 */
        struct kiln_lx *c1 = kiln_lx_unary(
            lc, KILN_LX_COS, ex_div(lc, ex_mul(lc, n, kiln_lx_imm_f(lc, f, TWO_PI)), n1));
        struct kiln_lx *c2 = kiln_lx_unary(
            lc, KILN_LX_COS, ex_div(lc, ex_mul(lc, n, kiln_lx_imm_f(lc, f, 2 * TWO_PI)), n1));
        v = ex_add(lc,
                   ex_add(lc, ex_mul(lc, c1, kiln_lx_imm_f(lc, f, -0.5)),
                          ex_mul(lc, c2, kiln_lx_imm_f(lc, f, 0.08))),
                   kiln_lx_imm_f(lc, f, 0.42));
        break;
    }
    case KILN_OP_HAMMING_WINDOW: {
        /* alpha - cos(n pi 2 / N1) * (1 - alpha), alpha = 25/46 */
        double alpha = 25.0 / 46.0;
        struct kiln_lx *x = ex_div(
            lc,
            ex_mul(lc, ex_mul(lc, n, kiln_lx_imm_f(lc, f, TWO_PI / 2)), kiln_lx_imm_f(lc, f, 2)),
            n1);
        v = ex_sub(lc, kiln_lx_imm_f(lc, f, alpha),
                   ex_mul(lc, kiln_lx_unary(lc, KILN_LX_COS, x), kiln_lx_imm_f(lc, f, 1 - alpha)));
        break;
    }
    default: { /* Hann: sin(n pi / N1) ^ 2 */
        struct kiln_lx *sn = kiln_lx_unary(
            lc, KILN_LX_SIN, ex_div(lc, ex_mul(lc, n, kiln_lx_imm_f(lc, f, TWO_PI / 2)), n1));
        v = ex_mul(lc, sn, sn);
        break;
    }
    }
    store_cast(lc, b, y, flat, v);
    return KILN_OK;
}

/* ---------------------------------------------------------------- quantization */

/*
 * Offset of the quantization parameter in slot p (scale or zero point) for the
 * element of x at idx (rank xr): per tensor when axis < 0 or p has one element;
 * without block_size a 1-D parameter runs along `axis`; with block_size, the
 * parameter has x's rank and its axis `axis` counts blocks.
 */
static struct kiln_lx *
qparam_offset(struct kiln_lower_ctx *lc, int32_t p, struct kiln_lx **idx, int xr, int axis,
              int64_t block)
{
    if (axis < 0 || kiln_lower_rank(lc, p) == 0 || is_one_element(lc, p))
        return kiln_lx_idx(lc, 0);
    if (block <= 0)
        return idx[axis];
    struct kiln_lx *bi[KILN_MAX_RANK];
    for (int i = 0; i < xr; i++)
        bi[i] = i == axis ? ex_div(lc, idx[i], kiln_lx_idx(lc, block)) : idx[i];
    return kiln_lower_offset(lc, p, bi, xr);
}

/*
 * The quantization axis of x (rank xr) for scale slot s, normalized; -1 when the
 * scale is per tensor. False when a per-axis or blocked scale's axis is out of range.
 */
static bool
quant_axis(struct kiln_lower_ctx *lc, int32_t s, int xr, int *axis)
{
    *axis = -1;
    if (kiln_lower_rank(lc, s) == 0 || is_one_element(lc, s) || xr == 0)
        return true;
    int64_t a = kiln_node_attr_int(lc->n, "axis", 1);
    if (a < 0)
        a += xr;
    *axis = (int)a;
    return a >= 0 && a < xr;
}

/* Saturating conversion of the float v (already rounded) to integer type t. */
static struct kiln_lx *
saturate_to(struct kiln_lower_ctx *lc, struct kiln_lx *v, enum kiln_dtype t)
{
    int bits = kiln_dtype_bits(t);
    double lo = is_signed_dt(t) ? -ldexp(1, bits - 1) : 0;
    double hi = is_signed_dt(t) ? ldexp(1, bits - 1) - 1 : ldexp(1, bits) - 1;
    if (bits < 64) { /* 64-bit bounds are not floats: the saturating cast clamps */
        v = ex_bin(lc, KILN_LX_MAX, v, ex_imm(lc, v, lo));
        v = ex_bin(lc, KILN_LX_MIN, v, ex_imm(lc, v, hi));
    }
    return kiln_lx_cast(lc, t, v);
}

/* Round v to dtype t and back (numpy computing in f16/bf16). */
static struct kiln_lx *
round_through(struct kiln_lower_ctx *lc, struct kiln_lx *v, enum kiln_dtype t)
{
    return kiln_lx_cast(lc, v->type, kiln_lx_cast(lc, t, v));
}

/*
 * QuantizeLinear: y = saturate(round_half_even(x / scale) + zero_point), per
 * tensor, per axis or blocked. The division happens in the `precision` type
 * (23+) or in numpy's type for x and scale: their own when both are one f16 or
 * bf16 type, f64 for an int32 x or an f64 operand, f32 otherwise.
 */
enum kiln_status
kiln_lower_quantize_linear(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), s = kiln_lower_in(lc, 1), z = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    enum kiln_dtype to = kiln_lower_buf(lc, y)->dtype;
    enum kiln_dtype xt = kiln_lower_buf(lc, x)->dtype, st = kiln_lower_buf(lc, s)->dtype;
    int xr = kiln_lower_rank(lc, x), axis;
    if (!quant_axis(lc, s, xr, &axis))
        return kiln_lower_unsupported(lc, "axis out of range");
    int64_t block = kiln_node_attr_int(lc->n, "block_size", 0);
    if (kiln_dtype_is_float(to)) {
        /* float8/float4: y = cast(x / scale + zero_point), rounding and saturating in
         * the cast (the runtime's converter) */
        struct kiln_lx *idx[KILN_MAX_RANK], *flat;
        struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
        struct kiln_lx *q =
            ex_div(lc, kiln_lx_cast(lc, KILN_DT_F32, kiln_lx_load_f(lc, x, flat)),
                   kiln_lx_cast(lc, KILN_DT_F32,
                                kiln_lx_load_f(lc, s, qparam_offset(lc, s, idx, xr, axis, block))));
        if (z >= 0)
            q = ex_add(
                lc, q,
                kiln_lx_cast(lc, KILN_DT_F32,
                             kiln_lx_load(lc, z, qparam_offset(lc, z, idx, xr, axis, block))));
        kiln_lb_store(lc, b, y, flat, kiln_lx_cast(lc, to, q));
        return KILN_OK;
    }
    if (!kiln_dtype_is_int(to))
        return kiln_lower_unsupported(lc, "quantizing to %s", kiln_dtype_name(to));
    enum kiln_dtype div_t = KILN_DT_F32, round_t = KILN_DT_INVALID;
    int64_t prec = kiln_node_attr_int(lc->n, "precision", 0);
    enum kiln_dtype pt = prec ? kiln_dtype_from_onnx((int32_t)prec) : KILN_DT_INVALID;
    if (prec && !kiln_dtype_is_float(pt))
        return kiln_lower_unsupported(lc, "precision %lld", (long long)prec);
    if (pt != KILN_DT_INVALID) {
        div_t = kiln_lower_compute_type(pt);
        if (pt != div_t)
            round_t = pt;
    } else if (xt == KILN_DT_I32 || xt == KILN_DT_F64 || st == KILN_DT_F64 || st == KILN_DT_I32) {
        div_t = KILN_DT_F64;
    } else if (xt == st && (xt == KILN_DT_F16 || xt == KILN_DT_BF16)) {
        round_t = xt;
    }
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *vx = kiln_lx_cast(lc, div_t, kiln_lx_load_f(lc, x, flat));
    struct kiln_lx *vs =
        kiln_lx_cast(lc, div_t, kiln_lx_load_f(lc, s, qparam_offset(lc, s, idx, xr, axis, block)));
    if (round_t != KILN_DT_INVALID) {
        vx = round_through(lc, vx, round_t);
        vs = round_through(lc, vs, round_t);
    }
    struct kiln_lx *q = ex_div(lc, vx, vs);
    if (round_t != KILN_DT_INVALID)
        q = round_through(lc, q, round_t);
    /* round in f64 so that adding the zero point is exact */
    q = kiln_lx_unary(lc, KILN_LX_ROUND, kiln_lx_cast(lc, KILN_DT_F64, q));
    if (z >= 0)
        q = ex_add(lc, q,
                   kiln_lx_cast(lc, KILN_DT_F64,
                                kiln_lx_load(lc, z, qparam_offset(lc, z, idx, xr, axis, block))));
    kiln_lb_store(lc, b, y, flat, saturate_to(lc, q, to));
    return KILN_OK;
}

/* DequantizeLinear: y = (x - zero_point) * scale, in f32 (f64 for int32 x, as numpy). */
enum kiln_status
kiln_lower_dequantize_linear(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), s = kiln_lower_in(lc, 1), z = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    enum kiln_dtype xt = kiln_lower_buf(lc, x)->dtype;
    if (!kiln_dtype_is_int(xt) && !(kiln_dtype_flags(xt) & KILN_DTF_STORAGE))
        return kiln_lower_unsupported(lc, "dequantizing %s", kiln_dtype_name(xt));
    int xr = kiln_lower_rank(lc, x), axis;
    if (!quant_axis(lc, s, xr, &axis))
        return kiln_lower_unsupported(lc, "axis out of range");
    int64_t block = kiln_node_attr_int(lc->n, "block_size", 0);
    enum kiln_dtype ct = kiln_dtype_bits(xt) >= 32 ? KILN_DT_F64 : KILN_DT_F32;
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    /* numpy: x.astype(f32) - zero_point */
    struct kiln_lx *v =
        kiln_lx_cast(lc, ct, kiln_lx_cast(lc, KILN_DT_F32, kiln_lx_load(lc, x, flat)));
    if (z >= 0)
        v = ex_sub(
            lc, v,
            kiln_lx_cast(lc, ct, kiln_lx_load(lc, z, qparam_offset(lc, z, idx, xr, axis, block))));
    struct kiln_lx *vs =
        kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, s, qparam_offset(lc, s, idx, xr, axis, block)));
    store_cast(lc, b, y, flat, ex_mul(lc, v, vs));
    return KILN_OK;
}

/*
 * DynamicQuantizeLinear (u8): a serial kernel finds the range [min(0, min x),
 * max(0, max x)], the scale (range / 255, or 1 / 255 for an empty range) and
 * the zero point (round(clamp(-min / scale, 0, 255))), stored in outputs 1 and
 * 2; a second kernel quantizes x with them.
 */
enum kiln_status
kiln_lower_dynamic_quantize_linear(struct kiln_lower_ctx *lc)
{
    for (int i = 1; i < 3; i++)
        if (i >= lc->n->n_out || lc->n->out[i] < 0)
            return kiln_lower_unsupported(lc, "output %d (the scale or zero point) is absent", i);
    enum kiln_dtype f = KILN_DT_F32;
    int32_t x = kiln_lower_in(lc, 0), ys = kiln_lower_out(lc, 1), yz = kiln_lower_out(lc, 2);
    int32_t p, i;
    struct kiln_lblock *body = kiln_lk_parallel(lc, kiln_lx_idx(lc, 1), &p);
    int32_t mn = kiln_lk_var(lc, f, "min"), mx = kiln_lk_var(lc, f, "max");
    kiln_lb_set(lc, body, mn, kiln_lx_imm_f(lc, f, 0));
    kiln_lb_set(lc, body, mx, kiln_lx_imm_f(lc, f, 0));
    struct kiln_ls *fl =
        kiln_lb_for(lc, body, "i", kiln_lx_idx(lc, 0), kiln_lower_numel(lc, x), &i);
    struct kiln_lx *v = kiln_lx_cast(lc, f, kiln_lx_load_f(lc, x, kiln_lx_var(lc, i)));
    kiln_lb_set(lc, &fl->body, mn, ex_bin(lc, KILN_LX_MIN, kiln_lx_var(lc, mn), v));
    kiln_lb_set(lc, &fl->body, mx, ex_bin(lc, KILN_LX_MAX, kiln_lx_var(lc, mx), v));
    struct kiln_lx *vmn = kiln_lx_var(lc, mn), *vmx = kiln_lx_var(lc, mx);
    struct kiln_lx *range =
        ex_sel(lc, ex_bin(lc, KILN_LX_EQ, vmx, vmn), kiln_lx_imm_f(lc, f, 1), ex_sub(lc, vmx, vmn));
    struct kiln_lx *scale = ex_div(lc, range, kiln_lx_imm_f(lc, f, 255));
    store_cast(lc, body, ys, kiln_lx_idx(lc, 0), scale);
    struct kiln_lx *zp = ex_sub(lc, kiln_lx_imm_f(lc, f, 0), ex_div(lc, vmn, scale));
    zp = ex_bin(lc, KILN_LX_MAX, kiln_lx_imm_f(lc, f, 0),
                ex_bin(lc, KILN_LX_MIN, kiln_lx_imm_f(lc, f, 255), zp));
    kiln_lb_store(lc, body, yz, kiln_lx_idx(lc, 0),
                  kiln_lx_cast(lc, KILN_DT_U8, kiln_lx_unary(lc, KILN_LX_ROUND, zp)));

    kiln_lower_kernel(lc, "quantize");
    x = kiln_lower_in(lc, 0);
    int32_t y = kiln_lower_out(lc, 0);
    ys = kiln_lower_out(lc, 1);
    yz = kiln_lower_out(lc, 2);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *s = kiln_lx_cast(lc, f, kiln_lx_load_f(lc, ys, kiln_lx_idx(lc, 0)));
    struct kiln_lx *z = kiln_lx_cast(lc, f, kiln_lx_load(lc, yz, kiln_lx_idx(lc, 0)));
    struct kiln_lx *q =
        ex_add(lc,
               kiln_lx_unary(lc, KILN_LX_ROUND,
                             ex_div(lc, kiln_lx_cast(lc, f, kiln_lx_load_f(lc, x, flat)), s)),
               z);
    kiln_lb_store(lc, b, y, flat, saturate_to(lc, q, KILN_DT_U8));
    return KILN_OK;
}

/* ---------------------------------------------------------------- random */

/* A standard normal from two uniforms (Box-Muller), counter 2i and 2i + 1. */
static struct kiln_lx *
rand_normal(struct kiln_lower_ctx *lc, uint64_t key, struct kiln_lx *i)
{
    enum kiln_dtype f = KILN_DT_F64;
    struct kiln_lx *c = ex_mul(lc, i, kiln_lx_idx(lc, 2));
    struct kiln_lx *u1 = rand_unit(lc, key, c);
    struct kiln_lx *u2 = rand_unit(lc, key, ex_add(lc, c, kiln_lx_idx(lc, 1)));
    struct kiln_lx *r = kiln_lx_unary(
        lc, KILN_LX_SQRT,
        ex_mul(lc, kiln_lx_imm_f(lc, f, -2),
               kiln_lx_unary(lc, KILN_LX_LOG, ex_sub(lc, kiln_lx_imm_f(lc, f, 1), u1))));
    return ex_mul(lc, r,
                  kiln_lx_unary(lc, KILN_LX_COS, ex_mul(lc, kiln_lx_imm_f(lc, f, TWO_PI), u2)));
}

/* RandomNormal, RandomUniform, their *Like forms, and Bernoulli. */
enum kiln_status
kiln_lower_random(struct kiln_lower_ctx *lc)
{
    int32_t y = kiln_lower_out(lc, 0);
    enum kiln_op op = lc->n->op;
    enum kiln_dtype f = KILN_DT_F64;
    uint64_t key = rand_key(lc, (uint64_t)op);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *v;
    if (op == KILN_OP_RANDOM_NORMAL || op == KILN_OP_RANDOM_NORMAL_LIKE) {
        double mean = kiln_node_attr_float(lc->n, "mean", 0.0f);
        double scale = kiln_node_attr_float(lc->n, "scale", 1.0f);
        v = ex_add(lc, kiln_lx_imm_f(lc, f, mean),
                   ex_mul(lc, kiln_lx_imm_f(lc, f, scale), rand_normal(lc, key, flat)));
    } else if (op == KILN_OP_BERNOULLI) {
        int32_t x = kiln_lower_in(lc, 0);
        struct kiln_lx *p = kiln_lx_cast(lc, f, kiln_lx_load_f(lc, x, flat));
        v = ex_sel(lc, ex_bin(lc, KILN_LX_LT, rand_unit(lc, key, flat), p), kiln_lx_imm_f(lc, f, 1),
                   kiln_lx_imm_f(lc, f, 0));
    } else {
        double lo = kiln_node_attr_float(lc->n, "low", 0.0f);
        double hi = kiln_node_attr_float(lc->n, "high", 1.0f);
        v = ex_add(lc, kiln_lx_imm_f(lc, f, lo),
                   ex_mul(lc, kiln_lx_imm_f(lc, f, hi - lo), rand_unit(lc, key, flat)));
    }
    store_cast(lc, b, y, flat, v);
    return KILN_OK;
}

/*
 * Multinomial: for each batch row and sample, draw u in [0, 1) and pick the
 * first class whose running sum of exp(x - max x) passes u times the row's
 * total (the input holds unnormalized log-probabilities).
 */
enum kiln_status
kiln_lower_multinomial(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    if (kiln_lower_rank(lc, x) != 2)
        return kiln_lower_unsupported(lc, "input of rank %d (Multinomial takes [batch, class])",
                                      kiln_lower_rank(lc, x));
    enum kiln_dtype f = KILN_DT_F64;
    uint64_t key = rand_key(lc, (uint64_t)KILN_OP_MULTINOMIAL);
    struct kiln_lx *C = kiln_lower_dim(lc, x, 1), *S = kiln_lower_dim(lc, y, 1);
    int32_t p, c;
    struct kiln_lblock *body = kiln_lk_parallel(lc, kiln_lower_numel(lc, y), &p);
    struct kiln_lx *row = ex_mul(lc, ex_div(lc, kiln_lx_var(lc, p), S), C);
    int32_t mx = kiln_lk_var(lc, f, "max"), total = kiln_lk_var(lc, f, "total");
    int32_t acc = kiln_lk_var(lc, f, "acc"), tv = kiln_lk_var(lc, f, "target");
    int32_t pick = kiln_lk_var(lc, KILN_DT_I64, "pick");
    /* the class loops: max, then sum of exp, then the running sum's pick */
    struct kiln_lblock *loop[3];
    struct kiln_lx *e[3];
    kiln_lb_set(lc, body, mx, kiln_lx_imm_f(lc, f, -INFINITY));
    for (int k = 0; k < 3; k++) {
        if (k == 1)
            kiln_lb_set(lc, body, total, kiln_lx_imm_f(lc, f, 0));
        if (k == 2) {
            kiln_lb_set(lc, body, tv,
                        ex_mul(lc, rand_unit(lc, key, kiln_lx_var(lc, p)), kiln_lx_var(lc, total)));
            kiln_lb_set(lc, body, acc, kiln_lx_imm_f(lc, f, 0));
            kiln_lb_set(lc, body, pick, ex_sub(lc, C, kiln_lx_idx(lc, 1)));
        }
        loop[k] = &kiln_lb_for(lc, body, "c", kiln_lx_idx(lc, 0), C, &c)->body;
        e[k] = kiln_lx_cast(lc, f, kiln_lx_load_f(lc, x, ex_add(lc, row, kiln_lx_var(lc, c))));
        if (k > 0)
            e[k] = kiln_lx_unary(lc, KILN_LX_EXP, ex_sub(lc, e[k], kiln_lx_var(lc, mx)));
        if (k == 0)
            kiln_lb_set(lc, loop[k], mx, ex_bin(lc, KILN_LX_MAX, kiln_lx_var(lc, mx), e[k]));
        else if (k == 1)
            kiln_lb_set(lc, loop[k], total, ex_add(lc, kiln_lx_var(lc, total), e[k]));
    }
    kiln_lb_set(lc, loop[2], acc, ex_add(lc, kiln_lx_var(lc, acc), e[2]));
    /* the first class whose running sum passes the target (pick is still the last) */
    struct kiln_lx *first =
        ex_bin(lc, KILN_LX_AND, ex_bin(lc, KILN_LX_GT, kiln_lx_var(lc, acc), kiln_lx_var(lc, tv)),
               ex_bin(lc, KILN_LX_GT, kiln_lx_var(lc, pick), kiln_lx_var(lc, c)));
    kiln_lb_set(lc, loop[2], pick, ex_sel(lc, first, kiln_lx_var(lc, c), kiln_lx_var(lc, pick)));
    store_cast(lc, body, y, kiln_lx_var(lc, p), kiln_lx_var(lc, pick));
    return KILN_OK;
}
