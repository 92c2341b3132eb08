/*
 * shape_ew.c - type and shape inference for elementwise ops, activations,
 * normalizations, casts, quantization and random ops; their FLOP counts.
 *
 * Contract (see shape.h): each kiln_shape_* function checks its node for the
 * ai.onnx opset in force (ic->opset), sets the type of every present output, and
 * fails through kiln_infer_fail (malformed node) or kiln_infer_unsupported (valid
 * ONNX kiln does not handle). Nothing here trusts an attribute or an input: every
 * list length, axis and dtype id is checked before use, and arithmetic on
 * attribute values goes through the overflow-checked helpers of arena.h.
 *
 * Dtype checks follow the union of the types an op's ONNX versions allow: a
 * model valid under the version it declares must never be rejected here.
 *
 * Known-value propagation: a few ops (Identity, integer Cast, integer
 * Add/Sub/Mul/Div/Mod, integer Max/Min) carry the known contents of small
 * integer tensors through, so exporter shape arithmetic (Shape -> Gather -> Mul
 * -> Concat -> Reshape) resolves. Elements are integers (negative ones too),
 * symbols, or unknown (see kiln_dim_is_int); symbols survive only x*1, x+0,
 * x-0 and x/1, and anything that would overflow or wrap abandons the result.
 *
 * FLOP functions count one operation per output element for elementwise ops
 * (transcendentals included, deliberately simple), and document their model
 * for the rest. They return -1 when a needed dim is not a constant.
 */
#include "shape.h"

#include <string.h>

#define MASK(dt) KILN_DT_MASK(KILN_DT_##dt)
#define MASK_F8 (MASK(F8E4M3FN) | MASK(F8E4M3FNUZ) | MASK(F8E5M2) | MASK(F8E5M2FNUZ))
#define MASK_BOOL MASK(BOOL)
#define MASK_FLOAT_SINT (KILN_DT_MASK_FLOAT | KILN_DT_MASK_SINT)
/* Known integer contents are tracked for tensors this small (exporter shape math). */
#define KNOWN_MAX 64

/* ---------------------------------------------------------------- helpers */

/* Whether t may hold exactly one element: rank 0, or rank 1 whose dim is 1 or not
 * a constant. Unranked passes: nothing contradicts it yet. */
static bool
maybe_scalar(const struct kiln_type *t)
{
    if (t->rank < 0 || t->rank == 0)
        return true;
    if (t->rank > 1)
        return false;
    return !kiln_dim_is_const(t->dims[0]) || t->dims[0].n == 1;
}

/* Require optional input i, when present, to be a one-element tensor. */
static enum kiln_status
check_scalar_in(struct kiln_infer_ctx *ic, int i, const char *what)
{
    const struct kiln_type *t = kiln_infer_in(ic, i);
    if (t && !maybe_scalar(t))
        return kiln_infer_fail(ic, "input %d (%s) must be a scalar, got rank %d", i, what, t->rank);
    return KILN_OK;
}

/* Require optional inputs i and j, when both present, to share a dtype. */
static enum kiln_status
same_dtype_opt(struct kiln_infer_ctx *ic, int i, int j)
{
    if (!kiln_infer_in(ic, i) || !kiln_infer_in(ic, j))
        return KILN_OK;
    return kiln_infer_same_dtype(ic, i, j);
}

/*
 * Map an ONNX TensorProto.DataType id from attribute `attr` to a kiln dtype.
 * Ids ONNX defines but kiln does not (string, complex, float6) are unsupported;
 * anything else is a malformed attribute.
 */
static enum kiln_status
onnx_dtype(struct kiln_infer_ctx *ic, const char *attr, int64_t id, enum kiln_dtype *out)
{
    enum kiln_dtype dt = KILN_DT_INVALID;
    if (id > 0 && id <= INT32_MAX)
        dt = kiln_dtype_from_onnx((int32_t)id);
    if (dt != KILN_DT_INVALID) {
        *out = dt;
        return KILN_OK;
    }
    switch (id) {
    case 8:
        return kiln_infer_unsupported(ic, "%s: string tensors are not supported", attr);
    case 14:
    case 15:
        return kiln_infer_unsupported(ic, "%s: complex tensors are not supported", attr);
    case 27:
    case 28:
        return kiln_infer_unsupported(ic, "%s: float6 tensors are not supported", attr);
    default:
        return kiln_infer_fail(ic, "%s is %lld, which is not an ONNX data type", attr,
                               (long long)id);
    }
}

/* Validate an `axis` attribute (default def) against x's rank, when known; allow_r
 * lets the legacy coerce-to-2-D ops also accept axis == rank. */
static enum kiln_status
check_axis_attr(struct kiln_infer_ctx *ic, const struct kiln_type *x, int64_t def, bool allow_r)
{
    if (x->rank < 0)
        return KILN_OK;
    int64_t axis = kiln_node_attr_int(ic->n, "axis", def);
    if (allow_r && axis == x->rank)
        return KILN_OK;
    int ax;
    return kiln_infer_axis(ic, axis, x->rank, &ax);
}

/* ---------------------------------------------------------------- unary */

/* Dtypes an op of the unary family accepts (union over its ONNX versions). */
static uint64_t
unary_mask(enum kiln_op op)
{
    switch (op) {
    case KILN_OP_ABS:
    case KILN_OP_SIGN:
    case KILN_OP_SHRINK:
    case KILN_OP_ERF: /* Erf-9 took every numeric type; Erf-13 only floats */
    case KILN_OP_CUM_SUM:
    case KILN_OP_CUM_PROD:
        return KILN_DT_MASK_NUMERIC;
    case KILN_OP_NEG:
    case KILN_OP_RELU:
        return MASK_FLOAT_SINT;
    case KILN_OP_NOT:
        return MASK_BOOL;
    case KILN_OP_BITWISE_NOT:
        return KILN_DT_MASK_INT;
    case KILN_OP_IDENTITY:
    case KILN_OP_TRILU:
    case KILN_OP_REVERSE_SEQUENCE:
        return KILN_DT_MASK_ANY;
    default:
        /* activations, transcendentals, rounding, softmax family, normalizations */
        return KILN_DT_MASK_FLOAT;
    }
}

/* Op-specific checks of the ops that share kiln_shape_unary. */
static enum kiln_status
unary_extra(struct kiln_infer_ctx *ic, const struct kiln_type *x)
{
    struct kiln_node *n = ic->n;
    enum kiln_status s;
    switch (n->op) {
    case KILN_OP_SOFTMAX:
    case KILN_OP_LOG_SOFTMAX:
    case KILN_OP_HARDMAX:
        /* before 13 the input is coerced to 2-D at `axis` (default 1), so axis == rank
         * is meaningful; from 13 on it is a plain axis, default -1 */
        if (ic->opset < 13)
            return check_axis_attr(ic, x, 1, true);
        return check_axis_attr(ic, x, -1, false);
    case KILN_OP_LRN: {
        int64_t size = kiln_node_attr_int(n, "size", 0);
        if (!kiln_node_attr(n, "size"))
            return kiln_infer_fail(ic, "attribute 'size' is required");
        if (size <= 0)
            return kiln_infer_fail(ic, "size must be positive, got %lld", (long long)size);
        if (x->rank >= 0 && x->rank < 2)
            return kiln_infer_fail(ic, "input 0 must have rank >= 2 (N x C x ...), got %d",
                                   x->rank);
        return KILN_OK;
    }
    case KILN_OP_LP_NORMALIZATION: {
        int64_t p = kiln_node_attr_int(n, "p", 2);
        if (p != 1 && p != 2)
            return kiln_infer_fail(ic, "p must be 1 or 2, got %lld", (long long)p);
        return check_axis_attr(ic, x, -1, false);
    }
    case KILN_OP_RMS_NORMALIZATION:
        if ((s = check_axis_attr(ic, x, -1, false)) != KILN_OK)
            return s;
        if (!kiln_infer_need_in(ic, 1, "scale"))
            return KILN_ERR_INVALID;
        return kiln_infer_require(ic, 1, KILN_DT_MASK_FLOAT);
    case KILN_OP_CUM_SUM:
    case KILN_OP_CUM_PROD: {
        if (!kiln_infer_need_in(ic, 1, "axis"))
            return KILN_ERR_INVALID;
        if ((s = kiln_infer_require(ic, 1, KILN_DT_MASK_INDEX)) != KILN_OK)
            return s;
        if ((s = check_scalar_in(ic, 1, "axis")) != KILN_OK)
            return s;
        const struct kiln_dim *v;
        int64_t nv;
        if (x->rank >= 0 && kiln_infer_in_known(ic, 1, &v, &nv) && nv == 1 &&
            kiln_dim_is_int(v[0])) {
            int ax;
            if (x->rank == 0)
                return kiln_infer_fail(ic, "input 0 must have rank >= 1, got a scalar");
            return kiln_infer_axis(ic, v[0].n, x->rank, &ax);
        }
        return KILN_OK;
    }
    case KILN_OP_TRILU:
        if (x->rank >= 0 && x->rank < 2)
            return kiln_infer_fail(ic, "input 0 must have rank >= 2, got %d", x->rank);
        if (kiln_infer_in(ic, 1)) {
            if ((s = kiln_infer_require(ic, 1, MASK(I64))) != KILN_OK)
                return s;
            return check_scalar_in(ic, 1, "k");
        }
        return KILN_OK;
    case KILN_OP_REVERSE_SEQUENCE: {
        int64_t b = kiln_node_attr_int(n, "batch_axis", 1);
        int64_t t = kiln_node_attr_int(n, "time_axis", 0);
        if ((b != 0 && b != 1) || (t != 0 && t != 1) || b == t)
            return kiln_infer_fail(ic,
                                   "batch_axis (%lld) and time_axis (%lld) must be 0 and 1 "
                                   "in some order",
                                   (long long)b, (long long)t);
        if (x->rank >= 0 && x->rank < 2)
            return kiln_infer_fail(ic, "input 0 must have rank >= 2, got %d", x->rank);
        if (!kiln_infer_need_in(ic, 1, "sequence_lens"))
            return KILN_ERR_INVALID;
        if ((s = kiln_infer_require(ic, 1, MASK(I64))) != KILN_OK)
            return s;
        const struct kiln_type *sl = kiln_infer_in(ic, 1);
        if (sl->rank >= 0 && sl->rank != 1)
            return kiln_infer_fail(ic, "input 1 (sequence_lens) must have rank 1, got %d",
                                   sl->rank);
        if (sl->rank == 1 && x->rank >= 2 && kiln_dim_is_const(sl->dims[0]) &&
            kiln_dim_is_const(x->dims[b]) && sl->dims[0].n != x->dims[b].n)
            return kiln_infer_fail(ic, "sequence_lens has %lld entries but the batch dim is %lld",
                                   (long long)sl->dims[0].n, (long long)x->dims[b].n);
        return KILN_OK;
    }
    case KILN_OP_INSTANCE_NORMALIZATION:
    case KILN_OP_GROUP_NORMALIZATION: {
        if (x->rank >= 0 && x->rank < 2)
            return kiln_infer_fail(ic, "input 0 must have rank >= 2 (N x C x ...), got %d",
                                   x->rank);
        for (int i = 1; i <= 2; i++) {
            if (!kiln_infer_need_in(ic, i, i == 1 ? "scale" : "bias"))
                return KILN_ERR_INVALID;
            if ((s = kiln_infer_require(ic, i, KILN_DT_MASK_FLOAT)) != KILN_OK)
                return s;
            const struct kiln_type *p = kiln_infer_in(ic, i);
            if (p->rank >= 0 && p->rank != 1)
                return kiln_infer_fail(ic, "input %d must have rank 1, got %d", i, p->rank);
        }
        if (n->op == KILN_OP_GROUP_NORMALIZATION) {
            int64_t g = kiln_node_attr_int(n, "num_groups", 0);
            if (!kiln_node_attr(n, "num_groups"))
                return kiln_infer_fail(ic, "attribute 'num_groups' is required");
            if (g <= 0)
                return kiln_infer_fail(ic, "num_groups must be positive, got %lld", (long long)g);
            if (x->rank >= 2 && kiln_dim_is_const(x->dims[1]) && x->dims[1].n % g != 0)
                return kiln_infer_fail(ic, "channels (%lld) not divisible by num_groups (%lld)",
                                       (long long)x->dims[1].n, (long long)g);
        }
        /* scale and bias hold one value per channel; GroupNormalization-18 had one
         * per group instead */
        bool per_group = n->op == KILN_OP_GROUP_NORMALIZATION && ic->opset < 21;
        struct kiln_dim want = per_group ? kiln_dim_const(kiln_node_attr_int(n, "num_groups", 1))
                               : x->rank >= 2 ? x->dims[1]
                                              : kiln_dim_unknown();
        for (int i = 1; i <= 2; i++) {
            const struct kiln_type *p = kiln_infer_in(ic, i);
            if (p->rank == 1 && kiln_dim_is_const(p->dims[0]) && kiln_dim_is_const(want) &&
                p->dims[0].n != want.n)
                return kiln_infer_fail(ic, "input %d has %lld values, expected %lld (%s)", i,
                                       (long long)p->dims[0].n, (long long)want.n,
                                       per_group ? "num_groups" : "channels");
        }
        return KILN_OK;
    }
    default:
        return KILN_OK;
    }
}

enum kiln_status
kiln_shape_unary(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, unary_mask(ic->n->op));
    if (s != KILN_OK)
        return s;
    if ((s = unary_extra(ic, x)) != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, x->dtype);
    const struct kiln_dim *v;
    int64_t nv;
    if (ic->n->op == KILN_OP_IDENTITY) {
        if (kiln_infer_in_known(ic, 0, &v, &nv) && nv <= KNOWN_MAX)
            kiln_infer_set_out_known(ic, 0, v, nv);
    } else if (ic->n->op == KILN_OP_NOT && x->dtype == KILN_DT_BOOL &&
               kiln_infer_in_known(ic, 0, &v, &nv) && nv <= KNOWN_MAX) {
        struct kiln_dim out[KNOWN_MAX];
        for (int64_t i = 0; i < nv; i++) {
            if (!kiln_dim_is_int(v[i]))
                return KILN_OK;
            out[i] = kiln_dim_const(!v[i].n);
        }
        kiln_infer_set_out_known(ic, 0, out, nv);
    }
    return KILN_OK;
}

enum kiln_status
kiln_shape_unary_bool(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT | MASK_F8);
    if (s != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, KILN_DT_BOOL);
    return KILN_OK;
}

enum kiln_status
kiln_shape_clip(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    /* Clip-6 and older: float tensors, bounds as attributes; Clip-11+: numeric
     * tensors, bounds as optional scalar inputs of the same type */
    uint64_t mask = ic->opset < 11 ? KILN_DT_MASK_FLOAT : KILN_DT_MASK_NUMERIC;
    enum kiln_status s = kiln_infer_require(ic, 0, mask);
    if (s != KILN_OK)
        return s;
    if (ic->opset < 11) {
        if (kiln_infer_n_in(ic) > 1)
            return kiln_infer_fail(ic, "Clip-%lld takes 1 input (min/max are attributes), got %d",
                                   (long long)ic->opset, kiln_infer_n_in(ic));
    } else {
        for (int i = 1; i <= 2; i++) {
            if (!kiln_infer_in(ic, i))
                continue;
            if ((s = kiln_infer_same_dtype(ic, 0, i)) != KILN_OK)
                return s;
            if ((s = check_scalar_in(ic, i, i == 1 ? "min" : "max")) != KILN_OK)
                return s;
        }
    }
    kiln_infer_set_like(ic, 0, x, x->dtype);
    return KILN_OK;
}

enum kiln_status
kiln_shape_dropout(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT | MASK_F8);
    if (s != KILN_OK)
        return s;
    if (ic->opset < 12) {
        if (kiln_infer_n_in(ic) > 1)
            return kiln_infer_fail(ic,
                                   "Dropout-%lld takes 1 input (ratio is an attribute), "
                                   "got %d",
                                   (long long)ic->opset, kiln_infer_n_in(ic));
    } else {
        if (kiln_infer_in(ic, 1)) {
            if ((s = kiln_infer_require(ic, 1, KILN_DT_MASK_FLOAT | MASK_F8)) != KILN_OK)
                return s;
            if ((s = check_scalar_in(ic, 1, "ratio")) != KILN_OK)
                return s;
        }
        if (kiln_infer_in(ic, 2)) {
            if ((s = kiln_infer_require(ic, 2, MASK_BOOL)) != KILN_OK)
                return s;
            if ((s = check_scalar_in(ic, 2, "training_mode")) != KILN_OK)
                return s;
        }
    }
    kiln_infer_set_like(ic, 0, x, x->dtype);
    /* the mask was of the data's type until Dropout-10 made it bool */
    kiln_infer_set_like(ic, 1, x, ic->opset < 10 ? x->dtype : KILN_DT_BOOL);
    return KILN_OK;
}

/* ---------------------------------------------------------------- binary */

/*
 * Legacy broadcasting of the opset < 7 arithmetic and logic ops: with
 * broadcast=1, B's shape must match a contiguous run of A's dims, starting at
 * `axis` (default: aligned to the end), B's dims being equal or 1; with
 * broadcast=0 the shapes must be equal. The result has A's shape.
 */
static enum kiln_status
legacy_broadcast(struct kiln_infer_ctx *ic, const struct kiln_type *a, const struct kiln_type *b,
                 enum kiln_dtype dt)
{
    if (a->rank >= 0 && b->rank >= 0) {
        if (kiln_node_attr_int(ic->n, "broadcast", 0) == 0) {
            if (a->rank != b->rank)
                return kiln_infer_fail(ic,
                                       "inputs have ranks %d and %d; set broadcast=1 to "
                                       "broadcast (opset %lld)",
                                       a->rank, b->rank, (long long)ic->opset);
            for (int i = 0; i < a->rank; i++)
                if (kiln_dim_is_const(a->dims[i]) && kiln_dim_is_const(b->dims[i]) &&
                    a->dims[i].n != b->dims[i].n)
                    return kiln_infer_fail(ic, "dim %d differs (%lld vs %lld) and broadcast=0", i,
                                           (long long)a->dims[i].n, (long long)b->dims[i].n);
        } else {
            if (b->rank > a->rank)
                return kiln_infer_fail(ic, "input 1 has rank %d, more than input 0's %d", b->rank,
                                       a->rank);
            int64_t raw = kiln_node_attr_int(ic->n, "axis", a->rank - b->rank);
            int64_t axis = raw < 0 ? raw + a->rank : raw;
            if (axis < 0 || axis > a->rank - b->rank)
                return kiln_infer_fail(ic,
                                       "axis %lld does not fit input 1 (rank %d) into input "
                                       "0 (rank %d)",
                                       (long long)raw, b->rank, a->rank);
            for (int i = 0; i < b->rank; i++) {
                struct kiln_dim da = a->dims[axis + i], db = b->dims[i];
                if (kiln_dim_is_const(da) && kiln_dim_is_const(db) && db.n != 1 && da.n != db.n)
                    return kiln_infer_fail(ic,
                                           "input 1 dim %d (%lld) does not match input 0 dim "
                                           "%lld (%lld)",
                                           i, (long long)db.n, (long long)(axis + i),
                                           (long long)da.n);
            }
        }
    }
    kiln_infer_set_like(ic, 0, a, dt);
    return KILN_OK;
}

/* Broadcast inputs 0 and 1 into output 0 with dtype dt, per the opset's rules. */
static enum kiln_status
broadcast2(struct kiln_infer_ctx *ic, enum kiln_dtype dt)
{
    const struct kiln_type *a = kiln_infer_in(ic, 0), *b = kiln_infer_in(ic, 1);
    if (ic->opset < 7)
        return legacy_broadcast(ic, a, b, dt);
    struct kiln_type out;
    enum kiln_status s = kiln_infer_broadcast(ic, a, b, &out);
    if (s != KILN_OK)
        return s;
    kiln_infer_set_out(ic, 0, dt, out.rank, out.rank > 0 ? out.dims : NULL);
    return KILN_OK;
}

/* Whether integer v survives a cast to integer dtype dt unchanged. */
static bool
int_fits(int64_t v, enum kiln_dtype dt)
{
    int bits = kiln_dtype_bits(dt);
    bool sig = kiln_dtype_flags(dt) & KILN_DTF_SIGNED;
    if (bits >= 64)
        return sig || v >= 0;
    int64_t lim = (int64_t)1 << (sig ? bits - 1 : bits);
    return sig ? (v >= -lim && v < lim) : (v >= 0 && v < lim);
}

/* Whether a and b are monomials over the same factors (k1*F and k2*F). */
static bool
like_terms(struct kiln_dim a, struct kiln_dim b)
{
    return a.sym && b.sym && (a.sym == b.sym || strcmp(a.sym, b.sym) == 0);
}

/*
 * One element of integer arithmetic on known values (integers, monomials or
 * unknowns); false when it cannot be carried out (overflow, division by zero),
 * which abandons the propagation. Integer Div truncates toward zero as in C;
 * Mod follows the divisor's sign unless fmod=1. Monomials stay exact (N * S is
 * N*S, 3*N - N is 2*N, N*S / S is N) or become unknown: Div divides exactly
 * only (kiln_dim_div_exact), since N / 2 truncates to no monomial.
 */
static bool
known_arith(const struct kiln_node *n, struct kiln_dim a, struct kiln_dim b, struct kiln_dim *r)
{
    bool ia = kiln_dim_is_int(a), ib = kiln_dim_is_int(b);
    int64_t v;
    struct kiln_dim q;
    switch (n->op) {
    case KILN_OP_ADD:
        if (ia && ib) {
            if (!kiln_add_i64(a.n, b.n, &v))
                return false;
            *r = kiln_dim_const(v);
        } else {
            *r = kiln_dim_add(a, b); /* x + 0 keeps x, like terms add */
        }
        return true;
    case KILN_OP_MUL:
        if (ia && ib) {
            if (!kiln_mul_i64(a.n, b.n, &v))
                return false;
            *r = kiln_dim_const(v);
        } else {
            *r = kiln_dim_mul(a, b); /* monomials multiply, x * 0 is 0 */
        }
        return true;
    case KILN_OP_SUB:
        if (ia && ib) {
            if (__builtin_sub_overflow(a.n, b.n, &v))
                return false;
            *r = kiln_dim_const(v);
        } else if (ib && b.n == 0) {
            *r = a;
        } else if (like_terms(a, b) && a.n >= b.n) {
            *r = a.n == b.n ? kiln_dim_const(0) : (struct kiln_dim){a.n - b.n, a.sym};
        } else {
            *r = kiln_dim_unknown();
        }
        return true;
    case KILN_OP_DIV:
    case KILN_OP_MOD:
        if (ib && b.n == 0)
            return false;
        if (ia && ib) {
            if (b.n == -1) /* INT64_MIN / -1 overflows; x % -1 is 0 */
                return n->op == KILN_OP_MOD ? (*r = kiln_dim_const(0), true)
                                            : a.n != INT64_MIN && (*r = kiln_dim_const(-a.n), true);
            v = n->op == KILN_OP_DIV ? a.n / b.n : a.n % b.n;
            if (n->op == KILN_OP_MOD && !kiln_node_attr_int(n, "fmod", 0) && v != 0 &&
                (v < 0) != (b.n < 0))
                v += b.n;
            *r = kiln_dim_const(v);
        } else if (kiln_dim_div_exact(a, b, &q)) {
            *r = n->op == KILN_OP_DIV ? q : kiln_dim_const(0); /* b divides a: no remainder */
        } else if (n->op == KILN_OP_MOD && ib && b.n == 1) {
            *r = kiln_dim_const(0);
        } else {
            *r = kiln_dim_unknown();
        }
        return true;
    case KILN_OP_AND:
    case KILN_OP_OR:
    case KILN_OP_XOR: /* bools as 0/1 */
        if (!ia || !ib)
            return false;
        *r = kiln_dim_const(n->op == KILN_OP_AND  ? (a.n && b.n)
                            : n->op == KILN_OP_OR ? (a.n || b.n)
                                                  : (!a.n != !b.n));
        return true;
    case KILN_OP_EQUAL:
        if (ia && ib)
            *r = kiln_dim_const(a.n == b.n);
        else if (kiln_dim_eq(a, b))
            *r = kiln_dim_const(1); /* the same symbol: equal whatever its value */
        else
            return false;
        return true;
    case KILN_OP_LESS:
    case KILN_OP_LESS_OR_EQUAL:
    case KILN_OP_GREATER:
    case KILN_OP_GREATER_OR_EQUAL:
        if (!ia || !ib)
            return false;
        *r = kiln_dim_const(n->op == KILN_OP_LESS            ? a.n < b.n
                            : n->op == KILN_OP_LESS_OR_EQUAL ? a.n <= b.n
                            : n->op == KILN_OP_GREATER       ? a.n > b.n
                                                             : a.n >= b.n);
        return true;
    case KILN_OP_MAX:
    case KILN_OP_MIN:
        if (ia && ib)
            *r = kiln_dim_const((n->op == KILN_OP_MAX) == (a.n > b.n) ? a.n : b.n);
        else if (like_terms(a, b)) /* the factors are >= 0: the coefficients decide */
            *r = (n->op == KILN_OP_MAX) == (a.n > b.n) ? a : b;
        else
            *r = kiln_dim_eq(a, b) ? a : kiln_dim_unknown();
        return true;
    default:
        return false;
    }
}

/*
 * Fold the op over the known contents of inputs [0, n_in) into output 0, when
 * every input is known, at most 1-D and small. Inputs broadcast as vectors (a
 * one-element input against any length); results must fit the integer dtype.
 */
static void
propagate_known(struct kiln_infer_ctx *ic, int n_in)
{
    const struct kiln_type *t0 = kiln_infer_in(ic, 0);
    if (!t0 || !(kiln_dtype_is_int(t0->dtype) || t0->dtype == KILN_DT_BOOL) ||
        kiln_dtype_flags(t0->dtype) & KILN_DTF_STORAGE)
        return;
    /* comparisons and logic ops give bools: their results always fit */
    enum kiln_op op = ic->n->op;
    bool to_bool = op == KILN_OP_EQUAL || op == KILN_OP_LESS || op == KILN_OP_LESS_OR_EQUAL ||
                   op == KILN_OP_GREATER || op == KILN_OP_GREATER_OR_EQUAL ||
                   t0->dtype == KILN_DT_BOOL;
    struct kiln_dim acc[KNOWN_MAX], res[KNOWN_MAX];
    int64_t n_acc = 0;
    for (int i = 0; i < n_in; i++) {
        const struct kiln_type *t = kiln_infer_in(ic, i);
        const struct kiln_dim *v;
        int64_t nv;
        if (!t || t->rank < 0 || t->rank > 1 || !kiln_infer_in_known(ic, i, &v, &nv) || nv < 1 ||
            nv > KNOWN_MAX)
            return;
        if (i == 0) {
            memcpy(acc, v, (size_t)nv * sizeof *acc);
            n_acc = nv;
            continue;
        }
        if (nv != n_acc && nv != 1 && n_acc != 1)
            return;
        int64_t n_res = nv > n_acc ? nv : n_acc;
        for (int64_t j = 0; j < n_res; j++) {
            if (!known_arith(ic->n, acc[n_acc == 1 ? 0 : j], v[nv == 1 ? 0 : j], &res[j]))
                return;
            if (!to_bool && kiln_dim_is_int(res[j]) && !int_fits(res[j].n, t0->dtype))
                return; /* the tensor's own arithmetic would wrap */
        }
        memcpy(acc, res, (size_t)n_res * sizeof *acc);
        n_acc = n_res;
    }
    /* the output must hold exactly these elements (a rank-0 result holds one) */
    const struct kiln_type *o = kiln_node_out_type(ic->g, ic->n, 0);
    if (!o || o->rank < 0 || kiln_type_numel(o) != n_acc)
        return;
    kiln_infer_set_out_known(ic, 0, acc, n_acc);
}

/* com.microsoft Gelu (X), FastGelu (X, optional bias) and BiasGelu (A, B): the
 * float input, broadcast with the bias where there is one. */
enum kiln_status
kiln_shape_ms_gelu(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status st = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (st != KILN_OK)
        return st;
    const struct kiln_type *b = kiln_infer_in(ic, 1);
    if (!b) {
        kiln_infer_set_like(ic, 0, x, x->dtype);
        return KILN_OK;
    }
    if ((st = kiln_infer_same_dtype(ic, 0, 1)) != KILN_OK)
        return st;
    struct kiln_type out;
    if ((st = kiln_infer_broadcast(ic, x, b, &out)) != KILN_OK)
        return st;
    kiln_infer_set_out_type(ic, 0, &out);
    return KILN_OK;
}

enum kiln_status
kiln_shape_binary(struct kiln_infer_ctx *ic)
{
    enum kiln_op op = ic->n->op;
    uint64_t mask;
    enum kiln_dtype out_dt = KILN_DT_INVALID;
    if (!kiln_infer_need_in(ic, 0, "A") || !kiln_infer_need_in(ic, 1, "B"))
        return KILN_ERR_INVALID;
    switch (op) {
    case KILN_OP_AND:
    case KILN_OP_OR:
    case KILN_OP_XOR:
        mask = MASK_BOOL;
        break;
    case KILN_OP_BITWISE_AND:
    case KILN_OP_BITWISE_OR:
    case KILN_OP_BITWISE_XOR:
        mask = KILN_DT_MASK_INT;
        break;
    case KILN_OP_BIT_SHIFT: {
        /* unsigned only until BitShift-28 added the signed integers */
        mask = ic->opset < 28 ? KILN_DT_MASK_UINT : KILN_DT_MASK_INT;
        const char *dir = kiln_node_attr_string(ic->n, "direction", NULL);
        if (!dir)
            return kiln_infer_fail(ic, "attribute 'direction' is required");
        if (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
            return kiln_infer_fail(ic, "direction must be LEFT or RIGHT, got '%s'", dir);
        break;
    }
    default: /* Add, Sub, Mul, Div, Mod */
        mask = KILN_DT_MASK_NUMERIC;
        break;
    }
    enum kiln_status s = kiln_infer_require(ic, 0, mask);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s != KILN_OK)
        return s;
    out_dt = kiln_infer_in(ic, 0)->dtype;
    /* Mod-28 defined fmod=0 (floored) for floats too; before, floats needed fmod=1 */
    if (op == KILN_OP_MOD && kiln_dtype_is_float(out_dt) && ic->opset < 28 &&
        kiln_node_attr_int(ic->n, "fmod", 0) == 0)
        return kiln_infer_fail(ic,
                               "fmod must be 1 for floating-point inputs (%s) before opset "
                               "28",
                               kiln_dtype_name(out_dt));
    if ((s = broadcast2(ic, out_dt)) != KILN_OK)
        return s;
    if (op == KILN_OP_ADD || op == KILN_OP_SUB || op == KILN_OP_MUL || op == KILN_OP_DIV ||
        op == KILN_OP_MOD || op == KILN_OP_AND || op == KILN_OP_OR || op == KILN_OP_XOR)
        propagate_known(ic, 2);
    return KILN_OK;
}

enum kiln_status
kiln_shape_pow(struct kiln_infer_ctx *ic)
{
    if (!kiln_infer_need_in(ic, 0, "X") || !kiln_infer_need_in(ic, 1, "Y"))
        return KILN_ERR_INVALID;
    enum kiln_status s;
    if (ic->opset < 12) {
        /* Pow-7 and older: float base and exponent of one type */
        if ((s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT)) != KILN_OK ||
            (s = kiln_infer_same_dtype(ic, 0, 1)) != KILN_OK)
            return s;
    } else {
        if ((s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT | MASK(I32) | MASK(I64))) !=
                KILN_OK ||
            (s = kiln_infer_require(ic, 1, KILN_DT_MASK_NUMERIC)) != KILN_OK)
            return s;
    }
    return broadcast2(ic, kiln_infer_in(ic, 0)->dtype);
}

/* Whether b broadcasts to a without changing a's shape (ONNX unidirectional). */
static enum kiln_status
check_unidirectional(struct kiln_infer_ctx *ic, const struct kiln_type *a,
                     const struct kiln_type *b, int bi)
{
    if (a->rank < 0 || b->rank < 0)
        return KILN_OK;
    if (b->rank > a->rank)
        return kiln_infer_fail(ic, "input %d has rank %d, more than the %d it broadcasts to", bi,
                               b->rank, a->rank);
    for (int i = 0; i < b->rank; i++) {
        struct kiln_dim db = b->dims[i], da = a->dims[a->rank - b->rank + i];
        if (kiln_dim_is_const(db) && db.n != 1 && kiln_dim_is_const(da) && da.n != db.n)
            return kiln_infer_fail(ic, "input %d dim %d (%lld) does not broadcast to %lld", bi, i,
                                   (long long)db.n, (long long)da.n);
    }
    return KILN_OK;
}

enum kiln_status
kiln_shape_prelu(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X"),
                           *sl = kiln_infer_need_in(ic, 1, "slope");
    if (!x || !sl)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT | KILN_DT_MASK_INT);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    /* PRelu-6 and older: slope is 1-D of C or a single element; later: unidirectional
     * broadcasting. Both reduce to the same check for the shapes seen in practice. */
    if (s == KILN_OK && ic->opset >= 7)
        s = check_unidirectional(ic, x, sl, 1);
    if (s != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, x->dtype);
    return KILN_OK;
}

enum kiln_status
kiln_shape_swiglu(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *a = kiln_infer_need_in(ic, 0, "A"), *b = kiln_infer_need_in(ic, 1, "B");
    if (!a || !b)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s != KILN_OK)
        return s;
    if (a->rank < 0 || b->rank < 0) {
        kiln_infer_set_like(ic, 0, a->rank >= 0 ? a : b, a->dtype);
        return KILN_OK;
    }
    /* no broadcasting: A and B must have one shape */
    if (a->rank != b->rank)
        return kiln_infer_fail(ic, "A has rank %d and B rank %d; SwiGLU does not broadcast",
                               a->rank, b->rank);
    struct kiln_dim *d = kiln_infer_dims(ic, a->rank + 1);
    if (!d)
        return KILN_ERR_NOMEM;
    for (int i = 0; i < a->rank; i++)
        if (!kiln_infer_merge(ic, a->dims[i], b->dims[i], &d[i]))
            return kiln_infer_fail(ic, "A and B differ in dim %d (%lld vs %lld)", i,
                                   (long long)a->dims[i].n, (long long)b->dims[i].n);
    kiln_infer_set_out(ic, 0, a->dtype, a->rank, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_compare(struct kiln_infer_ctx *ic)
{
    if (!kiln_infer_need_in(ic, 0, "A") || !kiln_infer_need_in(ic, 1, "B"))
        return KILN_ERR_INVALID;
    /* Equal compares bools too (Equal-11+); the ordering comparisons numbers only */
    uint64_t mask = KILN_DT_MASK_NUMERIC;
    if (ic->n->op == KILN_OP_EQUAL)
        mask |= MASK_BOOL;
    enum kiln_status s = kiln_infer_require(ic, 0, mask);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s != KILN_OK)
        return s;
    if ((s = broadcast2(ic, KILN_DT_BOOL)) != KILN_OK)
        return s;
    propagate_known(ic, 2); /* shape arithmetic: Equal(num_heads, kv_num_heads) */
    return KILN_OK;
}

enum kiln_status
kiln_shape_variadic(struct kiln_infer_ctx *ic)
{
    enum kiln_op op = ic->n->op;
    int n_in = kiln_infer_n_in(ic);
    if (n_in < 1)
        return kiln_infer_fail(ic, "needs at least 1 input");
    /* Max/Min take any number (Max-12+); Sum/Mean only floats */
    uint64_t mask =
        (op == KILN_OP_MAX || op == KILN_OP_MIN) ? KILN_DT_MASK_NUMERIC : KILN_DT_MASK_FLOAT;
    enum kiln_status s;
    for (int i = 0; i < n_in; i++) {
        if (!kiln_infer_need_in(ic, i, "data"))
            return KILN_ERR_INVALID;
        if ((s = kiln_infer_require(ic, i, mask)) != KILN_OK)
            return s;
        if (i > 0 && (s = kiln_infer_same_dtype(ic, 0, i)) != KILN_OK)
            return s;
    }
    /* before opset 8 all inputs had one shape; broadcasting them checks that too,
     * and accepts only more */
    struct kiln_type acc = *kiln_infer_in(ic, 0);
    for (int i = 1; i < n_in; i++) {
        struct kiln_type next;
        if ((s = kiln_infer_broadcast(ic, &acc, kiln_infer_in(ic, i), &next)) != KILN_OK)
            return s;
        acc = next;
    }
    kiln_infer_set_out(ic, 0, acc.dtype, acc.rank, acc.rank > 0 ? acc.dims : NULL);
    if (op == KILN_OP_MAX || op == KILN_OP_MIN)
        propagate_known(ic, n_in);
    return KILN_OK;
}

enum kiln_status
kiln_shape_where(struct kiln_infer_ctx *ic)
{
    if (!kiln_infer_need_in(ic, 0, "condition") || !kiln_infer_need_in(ic, 1, "X") ||
        !kiln_infer_need_in(ic, 2, "Y"))
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, MASK_BOOL);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 1, 2);
    if (s != KILN_OK)
        return s;
    struct kiln_type ab, abc;
    if ((s = kiln_infer_broadcast(ic, kiln_infer_in(ic, 0), kiln_infer_in(ic, 1), &ab)) !=
            KILN_OK ||
        (s = kiln_infer_broadcast(ic, &ab, kiln_infer_in(ic, 2), &abc)) != KILN_OK)
        return s;
    kiln_infer_set_out(ic, 0, kiln_infer_in(ic, 1)->dtype, abc.rank,
                       abc.rank > 0 ? abc.dims : NULL);
    /* known condition and operands (at most 1-D): the selected elements */
    const struct kiln_dim *c, *x, *y;
    int64_t nc, nx, ny;
    if (abc.rank <= 1 && kiln_infer_in_known(ic, 0, &c, &nc) &&
        kiln_infer_in_known(ic, 1, &x, &nx) && kiln_infer_in_known(ic, 2, &y, &ny)) {
        int64_t n = nc > nx ? nc : nx;
        n = ny > n ? ny : n;
        if (n >= 1 && n <= KNOWN_MAX && (nc == n || nc == 1) && (nx == n || nx == 1) &&
            (ny == n || ny == 1) && kiln_type_numel(&abc) == n) {
            struct kiln_dim out[KNOWN_MAX];
            for (int64_t j = 0; j < n; j++) {
                struct kiln_dim cj = c[nc == 1 ? 0 : j];
                if (!kiln_dim_is_int(cj))
                    return KILN_OK;
                out[j] = cj.n ? x[nx == 1 ? 0 : j] : y[ny == 1 ? 0 : j];
            }
            kiln_infer_set_out_known(ic, 0, out, n);
        }
    }
    return KILN_OK;
}

/* ---------------------------------------------------------------- casts */

/* Cast-1..5 spelled `to` as a TensorProto.DataType name. */
static const struct {
    const char *name;
    enum kiln_dtype dt;
} cast_names[] = {
    {"FLOAT", KILN_DT_F32},     {"UINT8", KILN_DT_U8},   {"INT8", KILN_DT_I8},
    {"UINT16", KILN_DT_U16},    {"INT16", KILN_DT_I16},  {"INT32", KILN_DT_I32},
    {"INT64", KILN_DT_I64},     {"BOOL", KILN_DT_BOOL},  {"FLOAT16", KILN_DT_F16},
    {"DOUBLE", KILN_DT_F64},    {"UINT32", KILN_DT_U32}, {"UINT64", KILN_DT_U64},
    {"BFLOAT16", KILN_DT_BF16},
};

/* The `to` attribute of Cast / BitCast as a kiln dtype. */
static enum kiln_status
cast_target(struct kiln_infer_ctx *ic, enum kiln_dtype *out)
{
    const struct kiln_attr *a = kiln_node_attr(ic->n, "to");
    if (!a)
        return kiln_infer_fail(ic, "attribute 'to' is required");
    if (a->kind == KILN_ATTR_INT)
        return onnx_dtype(ic, "to", a->i, out);
    if (a->kind != KILN_ATTR_STRING)
        return kiln_infer_fail(ic,
                               "attribute 'to' must be an int (or a type name before "
                               "opset 6), got %s",
                               kiln_attr_kind_name(a->kind));
    for (size_t i = 0; i < sizeof cast_names / sizeof cast_names[0]; i++) {
        if (strcmp(a->s, cast_names[i].name) == 0) {
            *out = cast_names[i].dt;
            return KILN_OK;
        }
    }
    if (strcmp(a->s, "STRING") == 0 || strncmp(a->s, "COMPLEX", 7) == 0)
        return kiln_infer_unsupported(ic, "Cast to %s is not supported", a->s);
    return kiln_infer_fail(ic, "to is '%s', which is not an ONNX data type name", a->s);
}

enum kiln_status
kiln_shape_cast(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_dtype to = KILN_DT_INVALID;
    enum kiln_status s = cast_target(ic, &to);
    if (s != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, to);
    /* integer to integer: known contents survive where the values fit */
    const struct kiln_dim *v;
    int64_t nv;
    if (kiln_dtype_is_int(x->dtype) && kiln_dtype_is_int(to) &&
        kiln_infer_in_known(ic, 0, &v, &nv) && nv <= KNOWN_MAX) {
        struct kiln_dim out[KNOWN_MAX];
        for (int64_t i = 0; i < nv; i++) {
            out[i] = v[i];
            if (v[i].sym) {
                /* a dim fits 32 bits in practice; narrower casts may wrap it */
                if (kiln_dtype_bits(to) < 32)
                    out[i] = kiln_dim_unknown();
            } else if (kiln_dim_is_int(v[i]) && !int_fits(v[i].n, to)) {
                return KILN_OK; /* the cast wraps or truncates it */
            }
        }
        kiln_infer_set_out_known(ic, 0, out, nv);
    }
    return KILN_OK;
}

enum kiln_status
kiln_shape_castlike(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input"),
                           *like = kiln_infer_need_in(ic, 1, "target_type");
    if (!x || !like)
        return KILN_ERR_INVALID;
    kiln_infer_set_like(ic, 0, x, like->dtype);
    return KILN_OK;
}

enum kiln_status
kiln_shape_bitcast(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_dtype to = KILN_DT_INVALID;
    enum kiln_status s = cast_target(ic, &to);
    if (s != KILN_OK)
        return s;
    if (kiln_dtype_bits(to) != kiln_dtype_bits(x->dtype))
        return kiln_infer_fail(ic, "BitCast from %s (%d bits) to %s (%d bits): widths differ",
                               kiln_dtype_name(x->dtype), kiln_dtype_bits(x->dtype),
                               kiln_dtype_name(to), kiln_dtype_bits(to));
    kiln_infer_set_like(ic, 0, x, to);
    return KILN_OK;
}

/* ---------------------------------------------------------------- quantization */

#define MASK_QUANT                                                                                 \
    (MASK(I8) | MASK(U8) | MASK(I16) | MASK(U16) | MASK(I4) | MASK(U4) | MASK(I2) | MASK(U2) |     \
     MASK(F4E2M1) | MASK_F8)

/*
 * Check the scale (input si) against x for per-tensor, per-axis and blocked
 * quantization, and the zero point (input zi, optional) against the scale.
 */
static enum kiln_status
check_quant_params(struct kiln_infer_ctx *ic, const struct kiln_type *x, int si, int zi)
{
    const struct kiln_type *sc = kiln_infer_in(ic, si), *zp = kiln_infer_in(ic, zi);
    /* one-element scale and zero point are per tensor whatever their ranks ([] vs [1]) */
    bool per_tensor = zp && maybe_scalar(sc) && maybe_scalar(zp);
    if (zp && !per_tensor && sc->rank >= 0 && zp->rank >= 0) {
        if (zp->rank != sc->rank)
            return kiln_infer_fail(ic,
                                   "zero point (rank %d) and scale (rank %d) must have one "
                                   "shape",
                                   zp->rank, sc->rank);
        for (int i = 0; i < sc->rank; i++)
            if (kiln_dim_is_const(zp->dims[i]) && kiln_dim_is_const(sc->dims[i]) &&
                zp->dims[i].n != sc->dims[i].n)
                return kiln_infer_fail(ic, "zero point and scale differ in dim %d (%lld vs %lld)",
                                       i, (long long)zp->dims[i].n, (long long)sc->dims[i].n);
    }
    int64_t block = kiln_node_attr_int(ic->n, "block_size", 0);
    if (block < 0)
        return kiln_infer_fail(ic, "block_size must be >= 0, got %lld", (long long)block);
    if (sc->rank < 0 || x->rank < 0)
        return KILN_OK;
    if (sc->rank == 0 ||
        (sc->rank == 1 && kiln_dim_is_const(sc->dims[0]) && sc->dims[0].n == 1 && block == 0))
        return KILN_OK; /* per tensor */
    if (ic->opset < 13)
        return kiln_infer_fail(ic, "scale must be a scalar before opset 13, got rank %d", sc->rank);
    int ax;
    enum kiln_status s = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", 1), x->rank, &ax);
    if (s != KILN_OK)
        return s;
    if (block == 0) {
        if (sc->rank != 1)
            return kiln_infer_fail(ic,
                                   "per-axis scale must be 1-D, got rank %d (set block_size "
                                   "for blocked quantization)",
                                   sc->rank);
        if (kiln_dim_is_const(sc->dims[0]) && kiln_dim_is_const(x->dims[ax]) &&
            sc->dims[0].n != x->dims[ax].n)
            return kiln_infer_fail(ic, "scale has %lld values but axis %d has %lld",
                                   (long long)sc->dims[0].n, ax, (long long)x->dims[ax].n);
        return KILN_OK;
    }
    if (sc->rank != x->rank)
        return kiln_infer_fail(ic, "blocked scale must have the input's rank %d, got %d", x->rank,
                               sc->rank);
    for (int i = 0; i < x->rank; i++) {
        struct kiln_dim dx = x->dims[i], ds = sc->dims[i];
        if (!kiln_dim_is_const(dx) || !kiln_dim_is_const(ds))
            continue;
        int64_t want = i == ax ? dx.n / block + (dx.n % block != 0) : dx.n;
        if (ds.n != want)
            return kiln_infer_fail(ic, "blocked scale dim %d is %lld, expected %lld", i,
                                   (long long)ds.n, (long long)want);
    }
    return KILN_OK;
}

enum kiln_status
kiln_shape_quantize_linear(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "x");
    if (!x || !kiln_infer_need_in(ic, 1, "y_scale"))
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT | MASK(I32));
    if (s == KILN_OK)
        s = kiln_infer_require(ic, 1, KILN_DT_MASK_FLOAT | MASK(I32) | MASK(F8E8M0));
    if (s != KILN_OK)
        return s;
    /* output type: output_dtype (21+), else the zero point's, else u8 */
    enum kiln_dtype dt = KILN_DT_U8;
    const struct kiln_type *zp = kiln_infer_in(ic, 2);
    int64_t od = kiln_node_attr_int(ic->n, "output_dtype", 0);
    if (od != 0) {
        if ((s = onnx_dtype(ic, "output_dtype", od, &dt)) != KILN_OK)
            return s;
        if (zp && zp->dtype != dt)
            return kiln_infer_fail(ic, "output_dtype is %s but y_zero_point is %s",
                                   kiln_dtype_name(dt), kiln_dtype_name(zp->dtype));
    } else if (zp) {
        dt = zp->dtype;
    }
    if (!(KILN_DT_MASK(dt) & MASK_QUANT))
        return kiln_infer_fail(ic, "cannot quantize to %s", kiln_dtype_name(dt));
    if ((s = check_quant_params(ic, x, 1, 2)) != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, dt);
    return KILN_OK;
}

enum kiln_status
kiln_shape_dequantize_linear(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "x");
    const struct kiln_type *sc = kiln_infer_need_in(ic, 1, "x_scale");
    if (!x || !sc)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, MASK_QUANT | MASK(I32));
    if (s == KILN_OK)
        s = kiln_infer_require(ic, 1, KILN_DT_MASK_FLOAT | MASK(F8E8M0));
    if (s == KILN_OK)
        s = same_dtype_opt(ic, 0, 2);
    if (s != KILN_OK)
        return s;
    /* output: f32 before 19; the scale's type from 19; output_dtype overrides from 23 */
    enum kiln_dtype dt = ic->opset < 19 ? KILN_DT_F32 : sc->dtype;
    int64_t od = kiln_node_attr_int(ic->n, "output_dtype", 0);
    if (od != 0 && (s = onnx_dtype(ic, "output_dtype", od, &dt)) != KILN_OK)
        return s;
    if (!(KILN_DT_MASK(dt) & KILN_DT_MASK_FLOAT) || dt == KILN_DT_F64)
        return kiln_infer_fail(ic, "output type %s is not f32, f16 or bf16%s", kiln_dtype_name(dt),
                               od == 0 ? " (set output_dtype for this scale type)" : "");
    if ((s = check_quant_params(ic, x, 1, 2)) != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, dt);
    return KILN_OK;
}

enum kiln_status
kiln_shape_dynamic_quantize_linear(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "x");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, MASK(F32));
    if (s != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, KILN_DT_U8);
    kiln_infer_set_out(ic, 1, KILN_DT_F32, 0, NULL);
    kiln_infer_set_out(ic, 2, KILN_DT_U8, 0, NULL);
    return KILN_OK;
}

/* ---------------------------------------------------------------- random */

/* The `dtype` attribute of a random op, if present, checked against mask. */
static enum kiln_status
random_dtype(struct kiln_infer_ctx *ic, enum kiln_dtype def, uint64_t mask, enum kiln_dtype *out)
{
    enum kiln_dtype dt = def;
    if (kiln_node_attr(ic->n, "dtype")) {
        enum kiln_status s = onnx_dtype(ic, "dtype", kiln_node_attr_int(ic->n, "dtype", 0), &dt);
        if (s != KILN_OK)
            return s;
    }
    if (!(KILN_DT_MASK(dt) & mask))
        return kiln_infer_fail(ic, "output type %s is not allowed here%s", kiln_dtype_name(dt),
                               kiln_node_attr(ic->n, "dtype") ? "" : " (set dtype)");
    *out = dt;
    return KILN_OK;
}

enum kiln_status
kiln_shape_random(struct kiln_infer_ctx *ic)
{
    int64_t rank;
    const int64_t *shape = kiln_node_attr_ints(ic->n, "shape", &rank);
    if (!shape && !kiln_node_attr(ic->n, "shape"))
        return kiln_infer_fail(ic, "attribute 'shape' is required");
    if (rank > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "shape has %lld dims, more than kiln's %d", (long long)rank,
                               KILN_MAX_RANK);
    enum kiln_dtype dt = KILN_DT_INVALID;
    enum kiln_status s = random_dtype(ic, KILN_DT_F32, KILN_DT_MASK_FLOAT, &dt);
    if (s != KILN_OK)
        return s;
    struct kiln_dim *d = kiln_infer_dims(ic, (int)rank + 1);
    if (!d)
        return KILN_ERR_NOMEM;
    for (int64_t i = 0; i < rank; i++) {
        if (shape[i] < 0)
            return kiln_infer_fail(ic, "shape[%lld] is %lld; dims must be >= 0", (long long)i,
                                   (long long)shape[i]);
        d[i] = kiln_dim_const(shape[i]);
    }
    kiln_infer_set_out(ic, 0, dt, (int)rank, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_random_like(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_dtype dt = KILN_DT_INVALID;
    enum kiln_status s = random_dtype(ic, x->dtype, KILN_DT_MASK_FLOAT, &dt);
    if (s != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, dt);
    return KILN_OK;
}

enum kiln_status
kiln_shape_bernoulli(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    enum kiln_dtype dt = KILN_DT_INVALID;
    if (s == KILN_OK)
        s = random_dtype(ic, x->dtype, KILN_DT_MASK_NUMERIC | MASK_BOOL, &dt);
    if (s != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, dt);
    return KILN_OK;
}

enum kiln_status
kiln_shape_multinomial(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    enum kiln_dtype dt = KILN_DT_INVALID;
    if (s == KILN_OK)
        s = random_dtype(ic, KILN_DT_I32, KILN_DT_MASK_INDEX, &dt);
    if (s != KILN_OK)
        return s;
    int64_t k = kiln_node_attr_int(ic->n, "sample_size", 1);
    if (k < 1)
        return kiln_infer_fail(ic, "sample_size must be >= 1, got %lld", (long long)k);
    if (x->rank >= 0 && x->rank != 2)
        return kiln_infer_fail(ic, "input must be 2-D [batch_size, class_size], got rank %d",
                               x->rank);
    struct kiln_dim d[2] = {x->rank == 2 ? x->dims[0] : kiln_dim_unknown(), kiln_dim_const(k)};
    kiln_infer_set_out(ic, 0, dt, 2, d);
    return KILN_OK;
}

/* ---------------------------------------------------------------- normalization */

enum kiln_status
kiln_shape_batch_norm(struct kiln_infer_ctx *ic)
{
    static const char *const names[] = {"X", "scale", "B", "mean", "var"};
    const struct kiln_type *in[5];
    enum kiln_status s;
    for (int i = 0; i < 5; i++) {
        if (!(in[i] = kiln_infer_need_in(ic, i, names[i])))
            return KILN_ERR_INVALID;
        if ((s = kiln_infer_require(ic, i, KILN_DT_MASK_FLOAT)) != KILN_OK)
            return s;
    }
    /* one type for all until 14 split the statistics' type off, and 15 the scale's */
    if (ic->opset < 14) {
        for (int i = 1; i < 5; i++)
            if ((s = kiln_infer_same_dtype(ic, 0, i)) != KILN_OK)
                return s;
    } else if ((s = kiln_infer_same_dtype(ic, 1, 2)) != KILN_OK ||
               (s = kiln_infer_same_dtype(ic, 3, 4)) != KILN_OK ||
               (ic->opset < 15 && (s = kiln_infer_same_dtype(ic, 0, 1)) != KILN_OK)) {
        return s;
    }
    const struct kiln_type *x = in[0];
    if (x->rank == 0)
        return kiln_infer_fail(ic, "input 0 must have rank >= 1 (N x C x ...), got a scalar");
    int max_out = ic->opset < 14 ? 5 : 3;
    if (kiln_infer_n_out(ic) > max_out)
        return kiln_infer_fail(ic, "BatchNormalization-%lld has at most %d outputs, got %d",
                               (long long)ic->opset, max_out, kiln_infer_n_out(ic));
    bool extra = false;
    for (int i = 1; i < kiln_infer_n_out(ic); i++)
        extra |= kiln_infer_has_out(ic, i);
    if (ic->opset >= 14 && extra && kiln_node_attr_int(ic->n, "training_mode", 0) == 0)
        return kiln_infer_fail(ic, "running_mean/running_var outputs need training_mode=1");
    /* spatial=0 (before 9) normalizes per activation: the parameters then hold
     * C x D1 x ... values; otherwise each is 1-D of C */
    bool spatial = ic->opset >= 9 || kiln_node_attr_int(ic->n, "spatial", 1) != 0;
    struct kiln_dim c = x->rank >= 2   ? x->dims[1]
                        : x->rank == 1 ? kiln_dim_const(1)
                                       : kiln_dim_unknown();
    for (int i = 1; i < 5 && spatial; i++) {
        if (in[i]->rank < 0)
            continue;
        if (in[i]->rank != 1)
            return kiln_infer_fail(ic,
                                   "input %d (%s) must be 1-D of the channel count, got "
                                   "rank %d",
                                   i, names[i], in[i]->rank);
        struct kiln_dim m;
        if (!kiln_infer_merge(ic, c, in[i]->dims[0], &m))
            return kiln_infer_fail(ic,
                                   "input %d (%s) has %lld values but there are %lld "
                                   "channels",
                                   i, names[i], (long long)in[i]->dims[0].n, (long long)c.n);
        c = m;
    }
    kiln_infer_set_like(ic, 0, x, x->dtype);
    for (int i = 1; i < kiln_infer_n_out(ic) && i < 5; i++) {
        const struct kiln_type *stat = in[i % 2 ? 3 : 4]; /* mean for 1 and 3, var for 2, 4 */
        if (spatial)
            kiln_infer_set_out(ic, i, stat->dtype, 1, &c);
        else
            kiln_infer_set_like(ic, i, stat, stat->dtype);
    }
    return KILN_OK;
}

enum kiln_status
kiln_shape_layer_norm(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x || !kiln_infer_need_in(ic, 1, "Scale"))
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s == KILN_OK)
        s = same_dtype_opt(ic, 0, 2);
    if (s != KILN_OK)
        return s;
    /* Mean and InvStdDev are computed in stash_type (default float) */
    enum kiln_dtype stash = KILN_DT_INVALID;
    if ((s = onnx_dtype(ic, "stash_type", kiln_node_attr_int(ic->n, "stash_type", 1), &stash)) !=
        KILN_OK)
        return s;
    if (!(KILN_DT_MASK(stash) & KILN_DT_MASK_FLOAT))
        return kiln_infer_fail(ic, "stash_type %s is not a float type", kiln_dtype_name(stash));
    kiln_infer_set_like(ic, 0, x, x->dtype);
    if (x->rank < 0) {
        kiln_infer_set_out(ic, 1, stash, -1, NULL);
        kiln_infer_set_out(ic, 2, stash, -1, NULL);
        return KILN_OK;
    }
    int ax;
    if ((s = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", -1), x->rank, &ax)) != KILN_OK)
        return s;
    /* the scale (and bias) broadcast to the normalized dims x[axis:] */
    struct kiln_type tail = {x->dtype, x->rank - ax, x->dims + ax};
    for (int i = 1; i <= 2; i++) {
        const struct kiln_type *p = kiln_infer_in(ic, i);
        if (p && (s = check_unidirectional(ic, &tail, p, i)) != KILN_OK)
            return s;
    }
    struct kiln_dim *d = kiln_infer_dims(ic, x->rank);
    if (!d)
        return KILN_ERR_NOMEM;
    for (int i = 0; i < x->rank; i++)
        d[i] = i < ax ? x->dims[i] : kiln_dim_const(1);
    kiln_infer_set_out(ic, 1, stash, x->rank, d);
    kiln_infer_set_out(ic, 2, stash, x->rank, d);
    return KILN_OK;
}

/* ---------------------------------------------------------------- FLOPs */

/* Elements of output i, or -1 when not all dims are constant. */
static int64_t
out_numel(const struct kiln_graph *g, const struct kiln_node *n, int i)
{
    const struct kiln_type *t = kiln_node_out_type(g, n, i);
    return t ? kiln_type_numel(t) : -1;
}

int64_t
kiln_flops_zero(const struct kiln_graph *g, const struct kiln_node *n)
{
    (void)g;
    (void)n;
    return 0;
}

int64_t
kiln_flops_unknown(const struct kiln_graph *g, const struct kiln_node *n)
{
    (void)g;
    (void)n;
    return -1;
}

/* One operation per output element, whatever the op (exp counts as one). */
int64_t
kiln_flops_ew(const struct kiln_graph *g, const struct kiln_node *n)
{
    return out_numel(g, n, 0);
}

/* k inputs combine with k-1 operations per element; Mean adds the division. */
int64_t
kiln_flops_variadic(const struct kiln_graph *g, const struct kiln_node *n)
{
    int64_t e = out_numel(g, n, 0), f;
    int64_t ops = n->n_in - 1 + (n->op == KILN_OP_MEAN);
    if (e < 0 || !kiln_mul_i64(e, ops > 0 ? ops : 0, &f))
        return -1;
    return f;
}

/* Normalizations: about 5 operations per input element (mean, variance, center,
 * scale, shift), whatever the statistics' layout. */
int64_t
kiln_flops_norm(const struct kiln_graph *g, const struct kiln_node *n)
{
    const struct kiln_type *t = kiln_node_in_type(g, n, 0);
    int64_t e = t ? kiln_type_numel(t) : -1, f;
    if (e < 0 || !kiln_mul_i64(e, 5, &f))
        return -1;
    return f;
}

/* Softmax family: max, subtract, exp, sum, divide: 5 operations per element. */
int64_t
kiln_flops_softmax(const struct kiln_graph *g, const struct kiln_node *n)
{
    int64_t e = out_numel(g, n, 0), f;
    if (e < 0 || !kiln_mul_i64(e, 5, &f))
        return -1;
    return f;
}
