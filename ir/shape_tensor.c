/*
 * shape_tensor.c - type and shape inference for data movement and shape ops
 * (Reshape, Slice, Gather, Concat, Pad, Resize, ...), constants and ranges,
 * control flow (If, Loop, Scan), the signal ops (DFT, STFT, windows,
 * MelWeightMatrix) and kiln's Fused node; the FLOP counts of Resize and Fused.
 *
 * Contract (see shape.h): each kiln_shape_* function checks its node for the
 * ai.onnx opset in force (ic->opset), sets the type of every present output, and
 * fails through kiln_infer_fail (malformed node) or kiln_infer_unsupported (valid
 * ONNX kiln does not handle). Attribute and input values are hostile until
 * checked: negative or huge sizes, axes out of range or repeated, lists of the
 * wrong length, shape tensors of the wrong rank or dtype, and products that
 * overflow int64 each give a diagnostic, never a crash or undefined behaviour.
 *
 * Shape-like inputs (Reshape's shape, Expand's shape, Slice's starts, Pad's pads,
 * ...) are read through kiln_infer_in_known, so a constant and contents derived
 * by inference (Shape -> Gather -> Concat) work alike. When the contents are not
 * known the output keeps what is certain: its rank when the shape-like input has
 * a static length, otherwise an unranked type.
 *
 * Known-value propagation: Shape, Size, Constant, ConstantOfShape, Range,
 * Gather, Concat, Slice, Split, Squeeze, Unsqueeze and Reshape record the known
 * integer contents of their (small) outputs, so exporter shape arithmetic
 * resolves to exact, possibly symbolic, shapes.
 *
 * Errors that only known contents reveal (a Gather index out of range) are
 * reported in the top graph; inside a sub-graph the node may sit in a branch an
 * If never takes (function expansions such as AffineGrid's do this), so there
 * the contents are simply not propagated. For the same reason an over-long
 * Split-18 num_outputs yields the reference's clamped (possibly empty) parts.
 *
 * Unsupported: string constants (Constant value_string/value_strings) and
 * sparse_value, since kiln has no string dtype or sparse constant values.
 *
 * Cost: linear in the ranks and list lengths involved; control-flow ops are
 * linear in their number of outputs (their bodies are inferred by infer.c first).
 */
#include "shape.h"

#include <math.h>
#include <string.h>

#define MASK(dt) KILN_DT_MASK(KILN_DT_##dt)
/* Most known contents an op here derives: shape vectors are short, and a cap
 * keeps exporter chains over large index tensors from copying them around. */
#define KNOWN_CAP 64
/* Longest integer list (split sizes, pads, ...) read out of a constant tensor. */
#define LIST_CAP 4096
/* Largest size a computed dim may take (keeps later products in int64). */
#define DIM_MAX (INT64_C(1) << 62)

/* ---------------------------------------------------------------- small helpers */

static bool
has_in(const struct kiln_infer_ctx *ic, int i)
{
    return kiln_infer_in(ic, i) != NULL;
}

/* Output i as an unranked tensor of dtype dt. */
static void
set_unranked(struct kiln_infer_ctx *ic, int i, enum kiln_dtype dt)
{
    kiln_infer_set_out(ic, i, dt, -1, NULL);
}

/* Output i of rank r with every dim unknown. */
static void
set_unknown_dims(struct kiln_infer_ctx *ic, int i, enum kiln_dtype dt, int r)
{
    kiln_infer_set_out(ic, i, dt, r, kiln_infer_dims(ic, r));
}

/* Copy n dims (a loop, not memcpy: a rank-0 type may have no dims array). */
static void
copy_dims(struct kiln_dim *to, const struct kiln_dim *from, int n)
{
    for (int i = 0; i < n; i++)
        to[i] = from[i];
}

static void
fill_unknown(struct kiln_dim *d, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = kiln_dim_unknown();
}

/* Dim d of t, or unknown when t is absent, unranked or too short. */
static struct kiln_dim
dim_of(const struct kiln_type *t, int d)
{
    if (!t || t->rank < 0 || d < 0 || d >= t->rank)
        return kiln_dim_unknown();
    return t->dims[d];
}

/* "[2,N,?]" for diagnostics. */
static void
dims_str(const struct kiln_dim *d, int n, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < n && k + 1 < len; i++) {
        char s[48];
        kiln_dim_format(d[i], s, sizeof s);
        k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? "," : "", s);
    }
    if (k + 1 < len)
        snprintf(buf + k, len - k, "]");
}

/* A computed size that must be a valid dim: false when negative or too large. */
static bool
size_ok(int64_t v)
{
    return v >= 0 && v <= DIM_MAX;
}

/* Whether every element of known contents is an exact integer. */
static bool
all_ints(const struct kiln_dim *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!kiln_dim_is_int(v[i]))
            return false;
    return true;
}

/*
 * Join of two dims at a control-flow merge (If branches, a Loop's initial and
 * final carried value): the dim when both agree, unknown when they differ.
 */
static struct kiln_dim
join_dim(struct kiln_dim a, struct kiln_dim b)
{
    return kiln_dim_eq(a, b) ? a : kiln_dim_unknown();
}

/* The join of two types of one dtype into out (dims in the arena). */
static void
join_type(struct kiln_infer_ctx *ic, const struct kiln_type *a, const struct kiln_type *b,
          struct kiln_type *out)
{
    out->dtype = a->dtype;
    if (a->rank < 0 || b->rank < 0 || a->rank != b->rank) {
        out->rank = -1;
        out->dims = NULL;
        return;
    }
    out->rank = a->rank;
    out->dims = kiln_infer_dims(ic, a->rank);
    for (int i = 0; i < a->rank; i++)
        out->dims[i] = join_dim(a->dims[i], b->dims[i]);
}

/* A dim times a non-negative constant: exact (N*2 is 2*N); false when a
 * constant product overflows or passes DIM_MAX. */
static bool
dim_scale(struct kiln_dim d, int64_t k, struct kiln_dim *out)
{
    if (kiln_dim_is_const(d)) {
        int64_t r;
        if (!kiln_mul_i64(d.n, k, &r) || !size_ok(r))
            return false;
        *out = kiln_dim_const(r);
        return true;
    }
    *out = kiln_dim_mul(d, kiln_dim_const(k)); /* unknown if the coefficient overflows */
    return true;
}

/* ONNX dtype attribute `name` (a TensorProto.DataType number) or def when absent. */
static enum kiln_status
dtype_attr(struct kiln_infer_ctx *ic, const char *name, enum kiln_dtype def, enum kiln_dtype *out)
{
    const struct kiln_attr *a = kiln_node_attr(ic->n, name);
    if (!a || a->kind != KILN_ATTR_INT) {
        *out = def;
        return KILN_OK;
    }
    enum kiln_dtype dt = a->i >= INT32_MIN && a->i <= INT32_MAX
                             ? kiln_dtype_from_onnx((int32_t)a->i)
                             : KILN_DT_INVALID;
    if (dt == KILN_DT_INVALID)
        return kiln_infer_fail(ic, "attribute '%s' is %lld, which is not a known dtype", name,
                               (long long)a->i);
    *out = dt;
    return KILN_OK;
}

/* ---------------------------------------------------------------- integer lists */

/*
 * An integer list given by an attribute or a 1-D input (axes, pads, starts,
 * split sizes): its values when known, else perhaps just its length.
 */
struct int_list {
    bool present; /* the attribute or the input exists */
    bool known;   /* v[0..n) hold the values */
    int64_t n;    /* length; -1 when unknown */
    const int64_t *v;
};

static void
list_from_attr(const struct kiln_node *n, const char *name, struct int_list *out)
{
    int64_t len = 0;
    const int64_t *v = kiln_node_attr_ints(n, name, &len);
    out->present = v != NULL;
    out->known = v != NULL;
    out->n = v ? len : -1;
    out->v = v;
}

/* Check that input i (present) has a dtype in mask and is 1-D (or 0-D when
 * scalar_ok); *len gets its static length, or -1. */
static enum kiln_status
check_list_input(struct kiln_infer_ctx *ic, int i, const char *what, uint64_t mask, bool scalar_ok,
                 int64_t *len)
{
    const struct kiln_type *t = kiln_infer_in(ic, i);
    if (!(mask & KILN_DT_MASK(t->dtype)))
        return kiln_infer_fail(ic, "input %d (%s) has dtype %s; it must be an integer tensor", i,
                               what, kiln_dtype_name(t->dtype));
    *len = -1;
    if (t->rank == 0 && scalar_ok)
        *len = 1;
    else if (t->rank >= 0 && t->rank != 1)
        return kiln_infer_fail(ic, "input %d (%s) must be 1-D, got rank %d", i, what, t->rank);
    else if (t->rank == 1 && kiln_dim_is_const(t->dims[0]))
        *len = t->dims[0].n;
    return KILN_OK;
}

/*
 * Input i as an integer list. A constant is read exactly (INT64_MIN included,
 * which Slice uses as "from the end"); otherwise known contents that are all
 * integers count. Absent input: out->present is false.
 */
static enum kiln_status
list_from_input(struct kiln_infer_ctx *ic, int i, const char *what, uint64_t mask, bool scalar_ok,
                struct int_list *out)
{
    out->present = has_in(ic, i);
    out->known = false;
    out->n = -1;
    out->v = NULL;
    if (!out->present)
        return KILN_OK;
    enum kiln_status st = check_list_input(ic, i, what, mask, scalar_ok, &out->n);
    if (st != KILN_OK)
        return st;
    const struct kiln_tensor *t = kiln_infer_in_const(ic, i);
    if (t) {
        int64_t numel = kiln_tensor_numel(t);
        if (numel < 0 || numel > LIST_CAP)
            return KILN_OK;
        int64_t *v = kiln_arena_array(ic->g->arena, (size_t)(numel ? numel : 1), sizeof *v);
        KILN_ASSERT(v);
        for (int64_t k = 0; k < numel; k++)
            if (!kiln_tensor_get_i64(t, k, &v[k]))
                return KILN_OK;
        out->known = true;
        out->n = numel;
        out->v = v;
        return KILN_OK;
    }
    const struct kiln_dim *kv;
    int64_t kn;
    if (!kiln_infer_in_known(ic, i, &kv, &kn) || !all_ints(kv, kn))
        return KILN_OK;
    int64_t *v = kiln_arena_array(ic->g->arena, (size_t)(kn ? kn : 1), sizeof *v);
    KILN_ASSERT(v);
    for (int64_t k = 0; k < kn; k++)
        v[k] = kv[k].n;
    out->known = true;
    out->n = kn;
    out->v = v;
    return KILN_OK;
}

/*
 * A shape-like list (Reshape's shape, Expand's shape, sizes): elements are dims,
 * so symbols from Shape survive. Elements may be negative integers (Reshape's -1)
 * or unknown.
 */
struct dim_list {
    bool present;
    bool known;
    int64_t n;
    const struct kiln_dim *v;
};

static enum kiln_status
dims_from_input(struct kiln_infer_ctx *ic, int i, const char *what, uint64_t mask,
                struct dim_list *out)
{
    out->present = has_in(ic, i);
    out->known = false;
    out->n = -1;
    out->v = NULL;
    if (!out->present)
        return KILN_OK;
    enum kiln_status st = check_list_input(ic, i, what, mask, false, &out->n);
    if (st != KILN_OK)
        return st;
    const struct kiln_dim *kv;
    int64_t kn;
    if (kiln_infer_in_known(ic, i, &kv, &kn)) {
        out->known = true;
        out->n = kn;
        out->v = kv;
    }
    return KILN_OK;
}

static void
dims_from_attr(struct kiln_infer_ctx *ic, const char *name, struct dim_list *out)
{
    int64_t len = 0;
    const int64_t *v = kiln_node_attr_ints(ic->n, name, &len);
    out->present = v != NULL;
    out->known = v != NULL;
    out->n = v ? len : -1;
    out->v = NULL;
    if (!v)
        return;
    struct kiln_dim *d = kiln_infer_dims(ic, (int)(len < LIST_CAP ? len : LIST_CAP));
    for (int64_t k = 0; k < len && k < LIST_CAP; k++)
        d[k] = v[k] == KILN_DIM_UNKNOWN ? kiln_dim_unknown() : kiln_dim_const(v[k]);
    if (len > LIST_CAP)
        out->known = false;
    out->v = d;
}

/*
 * A scalar input (Range's start, OneHot's depth, a window size): rank 0 or a
 * single element. *out gets its value when known (an integer, possibly
 * negative, or a symbol), else unknown. Float constants count, truncated, when
 * float_ok.
 */
static enum kiln_status
read_scalar(struct kiln_infer_ctx *ic, int i, const char *what, uint64_t mask, bool float_ok,
            struct kiln_dim *out)
{
    *out = kiln_dim_unknown();
    const struct kiln_type *t = kiln_infer_need_in(ic, i, what);
    if (!t)
        return KILN_ERR_INVALID;
    if (!(mask & KILN_DT_MASK(t->dtype)))
        return kiln_infer_fail(ic, "input %d (%s) has dtype %s, which this op does not accept", i,
                               what, kiln_dtype_name(t->dtype));
    int64_t numel = kiln_type_numel(t);
    if (t->rank > 1 || (t->rank == 1 && numel >= 0 && numel != 1))
        return kiln_infer_fail(ic, "input %d (%s) must be a scalar", i, what);
    const struct kiln_dim *kv;
    int64_t kn;
    if (kiln_infer_in_known(ic, i, &kv, &kn)) {
        if (kn == 1)
            *out = kv[0];
        return KILN_OK;
    }
    const struct kiln_tensor *c = kiln_infer_in_const(ic, i);
    double x;
    if (float_ok && c && kiln_tensor_numel(c) == 1 && kiln_tensor_get_f64(c, 0, &x) &&
        x > -9.0e18 && x < 9.0e18)
        *out = kiln_dim_const((int64_t)x);
    return KILN_OK;
}

/*
 * Normalize n axes against rank into out[]: each in [-rank, rank), none twice.
 * `what` names the list in diagnostics.
 */
static enum kiln_status
norm_axes(struct kiln_infer_ctx *ic, const int64_t *axes, int64_t n, int rank, const char *what,
          int *out)
{
    if (n > rank)
        return kiln_infer_fail(ic, "%s has %lld entries but the input has rank %d", what,
                               (long long)n, rank);
    bool seen[KILN_MAX_RANK + 1] = {false};
    for (int64_t k = 0; k < n; k++) {
        if (axes[k] < -(int64_t)rank || axes[k] >= rank)
            return kiln_infer_fail(ic, "%s[%lld] is %lld, out of range for rank %d", what,
                                   (long long)k, (long long)axes[k], rank);
        int a = (int)(axes[k] < 0 ? axes[k] + rank : axes[k]);
        if (seen[a])
            return kiln_infer_fail(ic, "%s repeats axis %d", what, a);
        seen[a] = true;
        out[k] = a;
    }
    return KILN_OK;
}

/* Record known contents on output i when there are few enough of them. */
static void
set_known(struct kiln_infer_ctx *ic, int i, const struct kiln_dim *v, int64_t n)
{
    if (n >= 0 && n <= KNOWN_CAP)
        kiln_infer_set_out_known(ic, i, v, n);
}

/* Known contents of input i when there are at most KNOWN_CAP of them. */
static bool
small_known(const struct kiln_infer_ctx *ic, int i, const struct kiln_dim **v, int64_t *n)
{
    return kiln_infer_in_known(ic, i, v, n) && *n <= KNOWN_CAP;
}

/* ---------------------------------------------------------------- Reshape */

enum kiln_status
kiln_shape_reshape(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    struct dim_list s;
    if (ic->opset < 5) {
        dims_from_attr(ic, "shape", &s);
        if (!s.present)
            return kiln_infer_fail(ic, "attribute 'shape' is required before opset 5");
    } else {
        if (!has_in(ic, 1))
            return kiln_infer_fail(ic, "input 1 (shape) is required");
        enum kiln_status st = dims_from_input(ic, 1, "shape", MASK(I64), &s);
        if (st != KILN_OK)
            return st;
    }
    if (s.n > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "shape has %lld entries; kiln supports rank up to %d",
                               (long long)s.n, KILN_MAX_RANK);
    if (!s.known) {
        if (s.n < 0)
            set_unranked(ic, 0, x->dtype);
        else
            set_unknown_dims(ic, 0, x->dtype, (int)s.n);
        return KILN_OK;
    }
    bool allowzero = ic->opset >= 14 && kiln_node_attr_int(ic->n, "allowzero", 0) != 0;
    int r = (int)s.n, neg = -1;
    bool has_zero = false;
    struct kiln_dim out[KILN_MAX_RANK];
    for (int i = 0; i < r; i++) {
        struct kiln_dim d = s.v[i];
        out[i] = d;
        if (!kiln_dim_is_int(d))
            continue; /* a symbol, or unknown */
        if (d.n == -1) {
            if (neg >= 0)
                return kiln_infer_fail(ic, "shape has two -1 entries (%d and %d)", neg, i);
            neg = i;
            out[i] = kiln_dim_unknown();
        } else if (d.n < -1) {
            return kiln_infer_fail(ic, "shape[%d] is %lld; entries must be >= -1", i,
                                   (long long)d.n);
        } else if (d.n == 0) {
            has_zero = true;
            if (allowzero)
                continue;
            /* 0 copies the input's dim at the same position */
            if (x->rank >= 0 && i >= x->rank)
                return kiln_infer_fail(ic,
                                       "shape[%d] is 0 (copy the input dim) but the input "
                                       "has rank %d",
                                       i, x->rank);
            out[i] = dim_of(x, i);
        }
    }
    if (allowzero && has_zero && neg >= 0)
        return kiln_infer_fail(ic, "shape has both 0 and -1 entries with allowzero=1");
    if (x->rank >= 0) {
        /* element counts as monomials: [N,4,4] holds 16*N elements, so -1 in
         * [-1,16] is 16*N / 16 = N; anything not exact stays unknown */
        struct kiln_dim pin = kiln_dim_const(1), pout = kiln_dim_const(1);
        for (int i = 0; i < x->rank; i++)
            pin = kiln_dim_mul(pin, x->dims[i]);
        for (int i = 0; i < r; i++)
            if (i != neg)
                pout = kiln_dim_mul(pout, out[i]);
        bool in_static = kiln_dim_is_const(pin), out_static = kiln_dim_is_const(pout);
        char sb[256];
        if (neg < 0 && in_static && out_static && pin.n != pout.n) {
            dims_str(out, r, sb, sizeof sb);
            return kiln_infer_fail(ic, "cannot reshape %lld elements into shape %s (%lld elements)",
                                   (long long)pin.n, sb, (long long)pout.n);
        }
        if (neg >= 0 && out_static && pout.n == 0)
            return kiln_infer_fail(ic, "cannot infer the -1 entry: the other entries multiply "
                                       "to 0");
        if (neg >= 0 && !kiln_dim_div_exact(pin, pout, &out[neg]) && in_static && out_static) {
            dims_str(s.v, r, sb, sizeof sb);
            return kiln_infer_fail(ic, "cannot reshape %lld elements into shape %s",
                                   (long long)pin.n, sb);
        }
    }
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    const struct kiln_dim *kv;
    int64_t kn;
    if (r <= 1 && small_known(ic, 0, &kv, &kn))
        set_known(ic, 0, kv, kn);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Flatten */

enum kiln_status
kiln_shape_flatten(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    int64_t axis = kiln_node_attr_int(ic->n, "axis", 1);
    if (x->rank < 0) {
        set_unknown_dims(ic, 0, x->dtype, 2);
        return KILN_OK;
    }
    /* negative axes arrived in opset 11; the range is [-r, r] (r: all in the outer dim) */
    int64_t lo = ic->opset >= 11 ? -(int64_t)x->rank : 0;
    if (axis < lo || axis > x->rank)
        return kiln_infer_fail(ic, "axis %lld is out of range for rank %d", (long long)axis,
                               x->rank);
    int a = (int)(axis < 0 ? axis + x->rank : axis);
    struct kiln_dim out[2] = {kiln_dim_const(1), kiln_dim_const(1)};
    for (int i = 0; i < x->rank; i++)
        out[i >= a] = kiln_dim_mul(out[i >= a], x->dims[i]);
    kiln_infer_set_out(ic, 0, x->dtype, 2, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Squeeze / Unsqueeze */

/* The axes of Squeeze/Unsqueeze: an attribute before opset 13, an input since. */
static enum kiln_status
squeeze_axes(struct kiln_infer_ctx *ic, struct int_list *axes)
{
    if (ic->opset < 13) {
        list_from_attr(ic->n, "axes", axes);
        return KILN_OK;
    }
    /* a 0-D axes tensor is read as one axis, as runtimes do (function expansions emit it) */
    return list_from_input(ic, 1, "axes", MASK(I64), true, axes);
}

/* Pass known 0-D/1-D contents through a node that only changes the shape. */
static void
forward_known(struct kiln_infer_ctx *ic, const struct kiln_type *x)
{
    const struct kiln_dim *kv;
    int64_t kn;
    if (x->rank >= 0 && x->rank <= 1 && small_known(ic, 0, &kv, &kn))
        set_known(ic, 0, kv, kn);
}

enum kiln_status
kiln_shape_squeeze(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    struct int_list axes;
    enum kiln_status st = squeeze_axes(ic, &axes);
    if (st != KILN_OK)
        return st;
    if (x->rank < 0 || (axes.present && !axes.known)) {
        /* with a static axes length the rank is known even when the input's is not */
        if (x->rank >= 0 && axes.n >= 0 && axes.n <= x->rank)
            set_unknown_dims(ic, 0, x->dtype, x->rank - (int)axes.n);
        else
            set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    bool drop[KILN_MAX_RANK] = {false};
    if (axes.present) {
        int a[KILN_MAX_RANK];
        st = norm_axes(ic, axes.v, axes.n, x->rank, "axes", a);
        if (st != KILN_OK)
            return st;
        for (int64_t k = 0; k < axes.n; k++) {
            struct kiln_dim d = x->dims[a[k]];
            if (kiln_dim_is_const(d) && d.n != 1)
                return kiln_infer_fail(ic, "cannot squeeze axis %d: its size is %lld, not 1", a[k],
                                       (long long)d.n);
            drop[a[k]] = true;
        }
    } else {
        /* every size-1 dim goes; a dim not known to be 1 or not 1 hides the rank */
        for (int i = 0; i < x->rank; i++) {
            if (!kiln_dim_is_const(x->dims[i])) {
                set_unranked(ic, 0, x->dtype);
                return KILN_OK;
            }
            drop[i] = x->dims[i].n == 1;
        }
    }
    struct kiln_dim out[KILN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            out[r++] = x->dims[i];
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    forward_known(ic, x);
    return KILN_OK;
}

enum kiln_status
kiln_shape_unsqueeze(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    struct int_list axes;
    enum kiln_status st = squeeze_axes(ic, &axes);
    if (st != KILN_OK)
        return st;
    if (!axes.present)
        return kiln_infer_fail(ic, ic->opset < 13 ? "attribute 'axes' is required"
                                                  : "input 1 (axes) is required");
    if (axes.n > KILN_MAX_RANK || (x->rank >= 0 && axes.n > KILN_MAX_RANK - x->rank))
        return kiln_infer_fail(ic, "result rank exceeds kiln's %d", KILN_MAX_RANK);
    if (x->rank < 0 || !axes.known) {
        if (x->rank >= 0 && axes.n >= 0)
            set_unknown_dims(ic, 0, x->dtype, x->rank + (int)axes.n);
        else
            set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    int r = x->rank + (int)axes.n;
    int a[KILN_MAX_RANK];
    st = norm_axes(ic, axes.v, axes.n, r, "axes", a);
    if (st != KILN_OK)
        return st;
    bool ins[KILN_MAX_RANK] = {false};
    for (int64_t k = 0; k < axes.n; k++)
        ins[a[k]] = true;
    struct kiln_dim out[KILN_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++)
        out[i] = ins[i] ? kiln_dim_const(1) : x->dims[j++];
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    forward_known(ic, x);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Transpose */

enum kiln_status
kiln_shape_transpose(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    int64_t np = 0;
    const int64_t *perm = kiln_node_attr_ints(ic->n, "perm", &np);
    if (!perm) {
        if (x->rank < 0) {
            set_unranked(ic, 0, x->dtype);
            return KILN_OK;
        }
        struct kiln_dim out[KILN_MAX_RANK];
        for (int i = 0; i < x->rank; i++)
            out[i] = x->dims[x->rank - 1 - i];
        kiln_infer_set_out(ic, 0, x->dtype, x->rank, out);
        return KILN_OK;
    }
    if (np > KILN_MAX_RANK || (x->rank >= 0 && np != x->rank))
        return kiln_infer_fail(ic, "perm has %lld entries but the input has rank %d", (long long)np,
                               x->rank);
    int r = (int)np;
    bool seen[KILN_MAX_RANK] = {false};
    struct kiln_dim out[KILN_MAX_RANK];
    for (int i = 0; i < r; i++) {
        if (perm[i] < 0 || perm[i] >= r)
            return kiln_infer_fail(ic, "perm[%d] is %lld, out of range for rank %d", i,
                                   (long long)perm[i], r);
        if (seen[perm[i]])
            return kiln_infer_fail(ic, "perm repeats axis %lld", (long long)perm[i]);
        seen[perm[i]] = true;
        out[i] = dim_of(x, (int)perm[i]);
    }
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Concat */

enum kiln_status
kiln_shape_concat(struct kiln_infer_ctx *ic)
{
    int n = kiln_infer_n_in(ic);
    if (n < 1)
        return kiln_infer_fail(ic, "needs at least one input");
    int64_t axis;
    if (ic->opset < 4) {
        axis = kiln_node_attr_int(ic->n, "axis", 1);
    } else {
        if (!kiln_node_attr(ic->n, "axis"))
            return kiln_infer_fail(ic, "attribute 'axis' is required");
        axis = kiln_node_attr_int(ic->n, "axis", 0);
    }
    const struct kiln_type *t0 = kiln_infer_need_in(ic, 0, "inputs");
    if (!t0)
        return KILN_ERR_INVALID;
    int rank = -1, rank_from = -1;
    for (int i = 0; i < n; i++) {
        const struct kiln_type *t = kiln_infer_need_in(ic, i, "inputs");
        if (!t)
            return KILN_ERR_INVALID;
        if (t->dtype != t0->dtype)
            return kiln_infer_fail(ic, "input %d has dtype %s but input 0 has dtype %s", i,
                                   kiln_dtype_name(t->dtype), kiln_dtype_name(t0->dtype));
        if (t->rank < 0)
            continue;
        if (rank >= 0 && t->rank != rank)
            return kiln_infer_fail(ic, "input %d has rank %d but input %d has rank %d", i, t->rank,
                                   rank_from, rank);
        rank = t->rank;
        rank_from = i;
    }
    if (rank < 0) {
        set_unranked(ic, 0, t0->dtype);
        return KILN_OK;
    }
    if (rank == 0)
        return kiln_infer_fail(ic, "cannot concatenate scalars");
    int a;
    enum kiln_status st = kiln_infer_axis(ic, axis, rank, &a);
    if (st != KILN_OK)
        return st;
    struct kiln_dim out[KILN_MAX_RANK];
    fill_unknown(out, rank);
    out[a] = kiln_dim_const(0);
    for (int i = 0; i < n; i++) {
        const struct kiln_type *t = kiln_infer_in(ic, i);
        if (t->rank < 0) {
            out[a] = kiln_dim_unknown();
            continue;
        }
        for (int d = 0; d < rank; d++) {
            if (d == a)
                continue;
            if (!kiln_infer_merge(ic, out[d], t->dims[d], &out[d]))
                return kiln_infer_fail(ic,
                                       "input %d has size %lld on axis %d but an earlier "
                                       "input has %lld",
                                       i, (long long)t->dims[d].n, d, (long long)out[d].n);
        }
        int64_t sum;
        if (kiln_dim_is_const(out[a]) && kiln_dim_is_const(t->dims[a]) &&
            (!kiln_add_i64(out[a].n, t->dims[a].n, &sum) || sum > DIM_MAX))
            return kiln_infer_fail(ic, "the inputs' sizes on axis %d add up past %lld", a,
                                   (long long)DIM_MAX);
        out[a] = kiln_dim_add(out[a], t->dims[a]);
    }
    kiln_infer_set_out(ic, 0, t0->dtype, rank, out);

    /* known contents: the concatenation of known 1-D inputs */
    if (rank != 1)
        return KILN_OK;
    struct kiln_dim kv[KNOWN_CAP];
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        const struct kiln_dim *v;
        int64_t k;
        if (!small_known(ic, i, &v, &k) || k > KNOWN_CAP - total)
            return KILN_OK;
        for (int64_t j = 0; j < k; j++)
            kv[total + j] = v[j];
        total += k;
    }
    set_known(ic, 0, kv, total);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Split */

enum kiln_status
kiln_shape_split(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    int n_out = kiln_infer_n_out(ic);
    struct int_list split;
    enum kiln_status st = KILN_OK;
    if (ic->opset >= 13) {
        st = list_from_input(ic, 1, "split", MASK(I64), false, &split);
    } else {
        list_from_attr(ic->n, "split", &split);
        /* Split-1 also took the sizes as an optional second input */
        if (!split.present && ic->opset < 2)
            st = list_from_input(ic, 1, "split", KILN_DT_MASK_INT, false, &split);
    }
    if (st != KILN_OK)
        return st;
    const struct kiln_attr *nattr = ic->opset >= 18 ? kiln_node_attr(ic->n, "num_outputs") : NULL;
    if (nattr && split.present)
        return kiln_infer_fail(ic, "split and num_outputs cannot both be given");
    if (nattr && (nattr->kind != KILN_ATTR_INT || nattr->i != n_out))
        return kiln_infer_fail(ic, "num_outputs is %lld but the node has %d outputs",
                               (long long)nattr->i, n_out);
    if (x->rank < 0) {
        for (int i = 0; i < n_out; i++)
            set_unranked(ic, i, x->dtype);
        return KILN_OK;
    }
    int a;
    st = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", 0), x->rank, &a);
    if (st != KILN_OK)
        return st;
    struct kiln_dim dim = x->dims[a];
    struct kiln_dim *sizes = kiln_infer_dims(ic, n_out);
    if (split.present) {
        if (split.n >= 0 && split.n != n_out)
            return kiln_infer_fail(ic, "split has %lld entries but the node has %d outputs",
                                   (long long)split.n, n_out);
        if (split.known) {
            int64_t sum = 0;
            for (int i = 0; i < n_out; i++) {
                if (!size_ok(split.v[i]))
                    return kiln_infer_fail(ic, "split[%d] is %lld; sizes must be >= 0", i,
                                           (long long)split.v[i]);
                if (!kiln_add_i64(sum, split.v[i], &sum))
                    return kiln_infer_fail(ic, "split sizes overflow");
                sizes[i] = kiln_dim_const(split.v[i]);
            }
            if (kiln_dim_is_const(dim) && sum != dim.n)
                return kiln_infer_fail(ic, "split sizes sum to %lld but axis %d has size %lld",
                                       (long long)sum, a, (long long)dim.n);
        }
    } else if (n_out == 1) {
        sizes[0] = dim;
    } else if (kiln_dim_is_sym(dim)) {
        /* k*F into n equal parts when n divides k (4*N in 2: 2*N each); otherwise
         * the parts depend on F's value: unknown */
        struct kiln_dim part = kiln_dim_unknown(); /* kept when it does not divide */
        kiln_dim_div_exact(dim, kiln_dim_const(n_out), &part);
        for (int i = 0; i < n_out; i++)
            sizes[i] = part;
    } else if (kiln_dim_is_const(dim)) {
        if (dim.n % n_out == 0) {
            for (int i = 0; i < n_out; i++)
                sizes[i] = kiln_dim_const(dim.n / n_out);
        } else if (ic->opset >= 18) {
            /* uneven: parts of ceil(dim / n), the last one smaller. When n does not fit
             * (5 into 4 parts: 2,2,2,-1) the parts are cut at i * chunk clamped to the
             * axis, as the reference does (2,2,1,0); such a Split is often in a branch
             * an If never takes, so it is no error. */
            int64_t chunk = dim.n / n_out + 1;
            for (int i = 0; i < n_out; i++) {
                int64_t lo = (int64_t)i * chunk, hi = lo + chunk;
                lo = lo < dim.n ? lo : dim.n;
                hi = i == n_out - 1 || hi > dim.n ? dim.n : hi;
                sizes[i] = kiln_dim_const(hi - lo);
            }
        } else {
            return kiln_infer_fail(ic,
                                   "axis %d has size %lld, which does not split into %d "
                                   "equal parts",
                                   a, (long long)dim.n, n_out);
        }
    }
    struct kiln_dim out[KILN_MAX_RANK];
    copy_dims(out, x->dims, x->rank);
    for (int i = 0; i < n_out; i++) {
        out[a] = sizes[i];
        kiln_infer_set_out(ic, i, x->dtype, x->rank, out);
    }

    /* known contents of a split 1-D vector (a shape cut into pieces) */
    const struct kiln_dim *kv;
    int64_t kn;
    if (x->rank != 1 || !small_known(ic, 0, &kv, &kn))
        return KILN_OK;
    int64_t off = 0;
    for (int i = 0; i < n_out; i++) {
        if (!kiln_dim_is_const(sizes[i]) || sizes[i].n > kn - off)
            return KILN_OK;
        set_known(ic, i, kv + off, sizes[i].n);
        off += sizes[i].n;
    }
    return KILN_OK;
}

/* ---------------------------------------------------------------- Slice */

/* A start or end this large (either sign) means "to the end": exporters write
 * INT64_MAX, INT32_MAX or their negatives. */
#define SLICE_HUGE INT64_C(2147483647)

/*
 * Clamp start s and end e (in place) for an axis of size d and a non-zero step,
 * per the ONNX rules, and return the number of elements taken.
 */
static int64_t
slice_len(int64_t d, int64_t *s, int64_t *e, int64_t step)
{
    if (*s < 0)
        *s += d; /* cannot overflow: s < 0 <= d */
    if (*e < 0)
        *e += d;
    if (d == 0)
        return 0;
    if (step > 0) {
        *s = *s < 0 ? 0 : *s > d ? d : *s;
        *e = *e < 0 ? 0 : *e > d ? d : *e;
        return *e > *s ? (*e - *s - 1) / step + 1 : 0;
    }
    *s = *s < 0 ? 0 : *s > d - 1 ? d - 1 : *s;
    *e = *e < -1 ? -1 : *e > d - 1 ? d - 1 : *e;
    /* |step| in unsigned arithmetic: step may be INT64_MIN */
    uint64_t m = (uint64_t)0 - (uint64_t)step;
    return *s > *e ? (int64_t)((uint64_t)(*s - *e - 1) / m) + 1 : 0;
}

/* A start or end of a symbolic axis d clamped to [lo_off, d + hi_off]: negative
 * values count from the end, huge ones mean an end. */
static struct kiln_dim
slice_clamp(struct kiln_dim d, int64_t v, int64_t lo, int64_t hi_off)
{
    struct kiln_dim hi = kiln_dim_add_int(d, hi_off);
    if (v >= SLICE_HUGE)
        return hi;
    if (v <= -SLICE_HUGE)
        return kiln_dim_const(lo);
    if (v >= 0)
        return kiln_dim_min(kiln_dim_const(v), hi);
    return kiln_dim_min(kiln_dim_max(kiln_dim_add_int(d, v), kiln_dim_const(lo)), hi);
}

/* slice_len for a symbolic axis d, as an expression; unknown where the algebra
 * gives up. max(..., 0) makes a slice that takes nothing 0, min(..., d) keeps
 * a negative-step slice of an empty axis empty. */
static struct kiln_dim
slice_len_sym(struct kiln_dim d, int64_t s, int64_t e, int64_t step)
{
    if (step == INT64_MIN)
        return kiln_dim_unknown();
    if (step > 0) {
        struct kiln_dim cs = slice_clamp(d, s, 0, 0), ce = slice_clamp(d, e, 0, 0);
        return kiln_dim_max(
            kiln_dim_floordiv(kiln_dim_add_int(kiln_dim_sub(ce, cs), step - 1), step),
            kiln_dim_const(0));
    }
    int64_t m = -step;
    struct kiln_dim cs = slice_clamp(d, s, 0, -1), ce = slice_clamp(d, e, -1, -1);
    struct kiln_dim len = kiln_dim_max(
        kiln_dim_floordiv(kiln_dim_add_int(kiln_dim_sub(cs, ce), m - 1), m), kiln_dim_const(0));
    return kiln_dim_min(len, d);
}

enum kiln_status
kiln_shape_slice(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    struct int_list starts, ends, axes, steps;
    if (ic->opset < 10) {
        list_from_attr(ic->n, "starts", &starts);
        list_from_attr(ic->n, "ends", &ends);
        list_from_attr(ic->n, "axes", &axes);
        steps.present = false;
        if (!starts.present || !ends.present)
            return kiln_infer_fail(ic, "attributes 'starts' and 'ends' are required");
    } else {
        if (!has_in(ic, 1) || !has_in(ic, 2))
            return kiln_infer_fail(ic, "inputs 1 (starts) and 2 (ends) are required");
        const char *names[] = {"starts", "ends", "axes", "steps"};
        struct int_list *lists[] = {&starts, &ends, &axes, &steps};
        for (int i = 0; i < 4; i++) {
            enum kiln_status st =
                list_from_input(ic, i + 1, names[i], KILN_DT_MASK_INDEX, false, lists[i]);
            if (st != KILN_OK)
                return st;
        }
    }
    int64_t n = starts.n >= 0 ? starts.n : ends.n;
    const struct int_list *others[] = {&ends, &axes, &steps};
    const char *other_names[] = {"ends", "axes", "steps"};
    for (int i = 0; i < 3; i++)
        if (others[i]->present && others[i]->n >= 0 && n >= 0 && others[i]->n != n)
            return kiln_infer_fail(ic, "%s has %lld entries but starts has %lld", other_names[i],
                                   (long long)others[i]->n, (long long)n);
    if (x->rank < 0) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    if (n > x->rank && !axes.present)
        return kiln_infer_fail(ic, "starts has %lld entries but the input has rank %d",
                               (long long)n, x->rank);
    struct kiln_dim out[KILN_MAX_RANK];
    copy_dims(out, x->dims, x->rank);
    int ax[KILN_MAX_RANK];
    if (axes.present && axes.known) {
        enum kiln_status st = norm_axes(ic, axes.v, axes.n, x->rank, "axes", ax);
        if (st != KILN_OK)
            return st;
    } else if (!axes.present && n >= 0) {
        for (int i = 0; i < n; i++)
            ax[i] = i;
    } else {
        /* which axes are sliced is not known: any dim may change */
        set_unknown_dims(ic, 0, x->dtype, x->rank);
        return KILN_OK;
    }
    if (n < 0)
        n = axes.n; /* axes known, starts and ends of unknown length and contents */
    bool vals = starts.known && ends.known && (!steps.present || steps.known);
    for (int64_t k = 0; k < n; k++) {
        int a = ax[k];
        if (!vals) {
            out[a] = kiln_dim_unknown();
            continue;
        }
        int64_t s = starts.v[k], e = ends.v[k], step = steps.present ? steps.v[k] : 1;
        if (step == 0)
            return kiln_infer_fail(ic, "steps[%lld] is 0", (long long)k);
        if (kiln_dim_is_const(x->dims[a])) {
            out[a] = kiln_dim_const(slice_len(x->dims[a].n, &s, &e, step));
        } else if ((step == 1 && s == 0 && e >= SLICE_HUGE) ||
                   (step == -1 && (s == -1 || s >= SLICE_HUGE) && e <= -SLICE_HUGE)) {
            out[a] = x->dims[a]; /* the whole axis, forwards or reversed */
        } else {
            out[a] = slice_len_sym(x->dims[a], s, e, step);
        }
    }
    kiln_infer_set_out(ic, 0, x->dtype, x->rank, out);

    /* known contents of a slice of a known 1-D vector */
    const struct kiln_dim *kv;
    int64_t kn;
    if (x->rank != 1 || !vals || n != 1 || !small_known(ic, 0, &kv, &kn))
        return KILN_OK;
    int64_t s = starts.v[0], e = ends.v[0], step = steps.present ? steps.v[0] : 1;
    int64_t len = slice_len(kn, &s, &e, step);
    struct kiln_dim r[KNOWN_CAP];
    for (int64_t i = 0; i < len && i < KNOWN_CAP; i++)
        r[i] = kv[s + i * step];
    set_known(ic, 0, r, len);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Gather family */

enum kiln_status
kiln_shape_gather(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data"),
                           *idx = kiln_infer_need_in(ic, 1, "indices");
    if (!x || !idx)
        return KILN_ERR_INVALID;
    enum kiln_status st = kiln_infer_require(ic, 1, KILN_DT_MASK_INDEX);
    if (st != KILN_OK)
        return st;
    if (x->rank == 0)
        return kiln_infer_fail(ic, "input 0 (data) is a scalar; Gather needs rank >= 1");
    if (x->rank < 0 || idx->rank < 0) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    int a;
    st = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", 0), x->rank, &a);
    if (st != KILN_OK)
        return st;
    int r = x->rank + idx->rank - 1;
    if (r > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "result rank %d exceeds kiln's %d", r, KILN_MAX_RANK);
    struct kiln_dim out[KILN_MAX_RANK];
    int k = 0;
    for (int i = 0; i < a; i++)
        out[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++)
        out[k++] = idx->dims[i];
    for (int i = a + 1; i < x->rank; i++)
        out[k++] = x->dims[i];
    kiln_infer_set_out(ic, 0, x->dtype, r, out);

    /* known contents: picking entries of a known vector (Shape -> Gather) */
    const struct kiln_dim *kv, *iv;
    int64_t kn, in;
    if (x->rank != 1 || idx->rank > 1 || !small_known(ic, 0, &kv, &kn) ||
        !small_known(ic, 1, &iv, &in) || !all_ints(iv, in))
        return KILN_OK;
    struct kiln_dim res[KNOWN_CAP];
    for (int64_t i = 0; i < in; i++) {
        int64_t j = iv[i].n < 0 ? iv[i].n + kn : iv[i].n;
        if ((j < 0 || j >= kn) && ic->g->parent)
            return KILN_OK; /* maybe a branch an If never takes: not provably an error */
        if (j < 0 || j >= kn)
            return kiln_infer_fail(ic, "index %lld is out of range for axis 0 of size %lld",
                                   (long long)iv[i].n, (long long)kn);
        res[i] = kv[j];
    }
    set_known(ic, 0, res, in);
    return KILN_OK;
}

enum kiln_status
kiln_shape_gather_elements(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data"),
                           *idx = kiln_infer_need_in(ic, 1, "indices");
    if (!x || !idx)
        return KILN_ERR_INVALID;
    enum kiln_status st = kiln_infer_require(ic, 1, KILN_DT_MASK_INDEX);
    if (st != KILN_OK)
        return st;
    if (x->rank == 0 || idx->rank == 0)
        return kiln_infer_fail(ic, "data and indices must have rank >= 1");
    if (x->rank >= 0 && idx->rank >= 0 && x->rank != idx->rank)
        return kiln_infer_fail(ic, "indices has rank %d but data has rank %d", idx->rank, x->rank);
    int rank = x->rank >= 0 ? x->rank : idx->rank;
    if (rank >= 0) {
        int a;
        st = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", 0), rank, &a);
        if (st != KILN_OK)
            return st;
    }
    if (idx->rank < 0) {
        if (rank < 0)
            set_unranked(ic, 0, x->dtype);
        else
            set_unknown_dims(ic, 0, x->dtype, rank);
        return KILN_OK;
    }
    kiln_infer_set_out(ic, 0, x->dtype, idx->rank, idx->dims);
    return KILN_OK;
}

enum kiln_status
kiln_shape_gather_nd(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data"),
                           *idx = kiln_infer_need_in(ic, 1, "indices");
    if (!x || !idx)
        return KILN_ERR_INVALID;
    enum kiln_status st = kiln_infer_require(ic, 1, MASK(I64));
    if (st != KILN_OK)
        return st;
    int64_t b = ic->opset >= 12 ? kiln_node_attr_int(ic->n, "batch_dims", 0) : 0;
    if (x->rank == 0 || idx->rank == 0)
        return kiln_infer_fail(ic, "data and indices must have rank >= 1");
    if (b < 0 || (x->rank >= 0 && b >= x->rank) || (idx->rank >= 0 && b >= idx->rank))
        return kiln_infer_fail(ic,
                               "batch_dims %lld must be less than the ranks of data (%d) "
                               "and indices (%d)",
                               (long long)b, x->rank, idx->rank);
    if (x->rank < 0 || idx->rank < 0 || !kiln_dim_is_const(idx->dims[idx->rank - 1])) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    int64_t k = idx->dims[idx->rank - 1].n;
    if (k < 1 || k > x->rank - b)
        return kiln_infer_fail(ic,
                               "indices' last dim is %lld; it must be in [1, %lld] (data "
                               "rank %d minus batch_dims %lld)",
                               (long long)k, (long long)(x->rank - b), x->rank, (long long)b);
    int r = idx->rank - 1 + x->rank - (int)b - (int)k;
    struct kiln_dim out[KILN_MAX_RANK + KILN_MAX_RANK];
    int o = 0;
    for (int i = 0; i < idx->rank - 1; i++) {
        out[o] = idx->dims[i];
        if (i < b && !kiln_infer_merge(ic, x->dims[i], idx->dims[i], &out[o]))
            return kiln_infer_fail(ic, "batch dim %d differs: data has %lld, indices %lld", i,
                                   (long long)x->dims[i].n, (long long)idx->dims[i].n);
        o++;
    }
    for (int i = (int)(b + k); i < x->rank; i++)
        out[o++] = x->dims[i];
    if (r > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "result rank %d exceeds kiln's %d", r, KILN_MAX_RANK);
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Scatter family */

/* ScatterElements/ScatterND `reduction`: which values the opset in force allows. */
static enum kiln_status
check_reduction(struct kiln_infer_ctx *ic)
{
    const char *red = kiln_node_attr_string(ic->n, "reduction", "none");
    bool ok = strcmp(red, "none") == 0 ||
              (ic->opset >= 16 && (strcmp(red, "add") == 0 || strcmp(red, "mul") == 0)) ||
              (ic->opset >= 18 && (strcmp(red, "max") == 0 || strcmp(red, "min") == 0));
    if (!ok)
        return kiln_infer_fail(ic, "reduction '%s' is not supported at opset %lld", red,
                               (long long)ic->opset);
    return KILN_OK;
}

/*
 * Scatter, ScatterElements, ScatterND, TensorScatter: the output is input 0
 * (data, or TensorScatter's past cache) with some elements replaced.
 */
enum kiln_status
kiln_shape_scatter(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status st = KILN_OK;
    enum kiln_op op = ic->n->op;
    if (op == KILN_OP_TENSOR_SCATTER) {
        const struct kiln_type *u = kiln_infer_need_in(ic, 1, "update");
        if (!u)
            return KILN_ERR_INVALID;
        st = kiln_infer_same_dtype(ic, 0, 1);
        if (st == KILN_OK && has_in(ic, 2))
            st = kiln_infer_require(ic, 2, MASK(I64));
        if (st != KILN_OK)
            return st;
        if (x->rank >= 0 && u->rank >= 0 && x->rank != u->rank)
            return kiln_infer_fail(ic, "update has rank %d but the cache has rank %d", u->rank,
                                   x->rank);
        const char *mode = kiln_node_attr_string(ic->n, "mode", "linear");
        if (strcmp(mode, "linear") != 0 && strcmp(mode, "circular") != 0)
            return kiln_infer_fail(ic, "mode '%s' is not 'linear' or 'circular'", mode);
        int a;
        if (x->rank >= 0 && (st = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", -2),
                                                  x->rank, &a)) != KILN_OK)
            return st;
        kiln_infer_set_out_type(ic, 0, x);
        return KILN_OK;
    }
    const struct kiln_type *idx = kiln_infer_need_in(ic, 1, "indices"),
                           *u = kiln_infer_need_in(ic, 2, "updates");
    if (!idx || !u)
        return KILN_ERR_INVALID;
    st = kiln_infer_same_dtype(ic, 0, 2);
    if (st == KILN_OK)
        st = kiln_infer_require(ic, 1, op == KILN_OP_SCATTER_ND ? MASK(I64) : KILN_DT_MASK_INDEX);
    if (st == KILN_OK && op != KILN_OP_SCATTER)
        st = check_reduction(ic);
    if (st != KILN_OK)
        return st;
    if (op == KILN_OP_SCATTER_ND) {
        if (idx->rank == 0)
            return kiln_infer_fail(ic, "indices must have rank >= 1");
        if (x->rank >= 0 && idx->rank > 0 && kiln_dim_is_const(idx->dims[idx->rank - 1])) {
            int64_t k = idx->dims[idx->rank - 1].n;
            if (k > x->rank)
                return kiln_infer_fail(ic, "indices' last dim is %lld but data has rank %d",
                                       (long long)k, x->rank);
            int64_t want = idx->rank - 1 + x->rank - k;
            if (u->rank >= 0 && u->rank != want)
                return kiln_infer_fail(ic, "updates has rank %d; expected %lld", u->rank,
                                       (long long)want);
        }
    } else {
        if (x->rank >= 0 && idx->rank >= 0 && x->rank != idx->rank)
            return kiln_infer_fail(ic, "indices has rank %d but data has rank %d", idx->rank,
                                   x->rank);
        if (idx->rank >= 0 && u->rank >= 0 && idx->rank != u->rank)
            return kiln_infer_fail(ic, "updates has rank %d but indices has rank %d", u->rank,
                                   idx->rank);
        int a;
        if (x->rank > 0 && (st = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", 0), x->rank,
                                                 &a)) != KILN_OK)
            return st;
    }
    kiln_infer_set_out_type(ic, 0, x);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Expand / Tile */

enum kiln_status
kiln_shape_expand(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    if (!has_in(ic, 1))
        return kiln_infer_fail(ic, "input 1 (shape) is required");
    struct dim_list s;
    enum kiln_status st = dims_from_input(ic, 1, "shape", MASK(I64), &s);
    if (st != KILN_OK)
        return st;
    if (s.n > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "shape has %lld entries; kiln supports rank up to %d",
                               (long long)s.n, KILN_MAX_RANK);
    if (x->rank < 0 || s.n < 0) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    struct kiln_type t = {x->dtype, (int)s.n, kiln_infer_dims(ic, (int)s.n)};
    for (int i = 0; s.known && i < t.rank; i++) {
        if (kiln_dim_is_int(s.v[i]) && s.v[i].n < 0)
            return kiln_infer_fail(ic, "shape[%d] is %lld; sizes must be >= 0", i,
                                   (long long)s.v[i].n);
        t.dims[i] = s.v[i];
    }
    /* bidirectional: the shape broadcasts with the input, either may be larger */
    struct kiln_type out;
    st = kiln_infer_broadcast(ic, x, &t, &out);
    if (st != KILN_OK)
        return st;
    kiln_infer_set_out_type(ic, 0, &out);
    return KILN_OK;
}

enum kiln_status
kiln_shape_tile(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    if (!has_in(ic, 1))
        return kiln_infer_fail(ic, "input 1 (repeats) is required");
    enum kiln_status st;
    if (ic->opset < 6) {
        /* Tile-1: scalar `tiles` copies along scalar `axis` */
        struct kiln_dim tiles, axis;
        if (!has_in(ic, 2))
            return kiln_infer_fail(ic, "input 2 (axis) is required before opset 6");
        if ((st = read_scalar(ic, 1, "tiles", KILN_DT_MASK_NUMERIC, true, &tiles)) != KILN_OK ||
            (st = read_scalar(ic, 2, "axis", KILN_DT_MASK_NUMERIC, true, &axis)) != KILN_OK)
            return st;
        if (x->rank < 0) {
            set_unranked(ic, 0, x->dtype);
            return KILN_OK;
        }
        if (!kiln_dim_is_int(axis)) {
            set_unknown_dims(ic, 0, x->dtype, x->rank);
            return KILN_OK;
        }
        int a;
        if ((st = kiln_infer_axis(ic, axis.n, x->rank, &a)) != KILN_OK)
            return st;
        struct kiln_dim out[KILN_MAX_RANK];
        copy_dims(out, x->dims, x->rank);
        if (kiln_dim_is_int(tiles) && tiles.n < 0)
            return kiln_infer_fail(ic, "tiles is %lld; it must be >= 0", (long long)tiles.n);
        if (!kiln_dim_is_int(tiles))
            out[a] = kiln_dim_unknown();
        else if (!dim_scale(out[a], tiles.n, &out[a]))
            return kiln_infer_fail(ic, "axis %d times %lld overflows", a, (long long)tiles.n);
        kiln_infer_set_out(ic, 0, x->dtype, x->rank, out);
        return KILN_OK;
    }
    struct int_list rep;
    if ((st = list_from_input(ic, 1, "repeats", MASK(I64), false, &rep)) != KILN_OK)
        return st;
    if (x->rank >= 0 && rep.n >= 0 && rep.n != x->rank)
        return kiln_infer_fail(ic, "repeats has %lld entries but the input has rank %d",
                               (long long)rep.n, x->rank);
    int r = x->rank >= 0 ? x->rank : (int)(rep.n >= 0 && rep.n <= KILN_MAX_RANK ? rep.n : -1);
    if (r < 0) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    struct kiln_dim out[KILN_MAX_RANK];
    for (int i = 0; i < r; i++) {
        out[i] = dim_of(x, i);
        if (!rep.known) {
            out[i] = kiln_dim_unknown();
            continue;
        }
        if (rep.v[i] < 0)
            return kiln_infer_fail(ic, "repeats[%d] is %lld; it must be >= 0", i,
                                   (long long)rep.v[i]);
        if (!dim_scale(out[i], rep.v[i], &out[i]))
            return kiln_infer_fail(ic, "axis %d times repeats %lld overflows", i,
                                   (long long)rep.v[i]);
    }
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Pad / CenterCropPad */

enum kiln_status
kiln_shape_pad(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    const char *mode = kiln_node_attr_string(ic->n, "mode", "constant");
    if (strcmp(mode, "constant") != 0 && strcmp(mode, "reflect") != 0 &&
        strcmp(mode, "edge") != 0 && !(ic->opset >= 19 && strcmp(mode, "wrap") == 0))
        return kiln_infer_fail(ic, "mode '%s' is not one of constant, reflect, edge%s", mode,
                               ic->opset >= 19 ? ", wrap" : "");
    struct int_list pads, axes = {.present = false};
    enum kiln_status st = KILN_OK;
    if (ic->opset < 11) {
        const char *name = ic->opset < 2 ? "paddings" : "pads";
        list_from_attr(ic->n, name, &pads);
        if (!pads.present)
            return kiln_infer_fail(ic, "attribute '%s' is required", name);
    } else {
        if (!has_in(ic, 1))
            return kiln_infer_fail(ic, "input 1 (pads) is required");
        st = list_from_input(ic, 1, "pads", MASK(I64), false, &pads);
        if (st == KILN_OK && has_in(ic, 2)) {
            const struct kiln_type *cv = kiln_infer_in(ic, 2);
            if (cv->dtype != x->dtype)
                st = kiln_infer_fail(ic, "input 2 (constant_value) has dtype %s but data has %s",
                                     kiln_dtype_name(cv->dtype), kiln_dtype_name(x->dtype));
        }
        if (st == KILN_OK && ic->opset >= 18)
            st = list_from_input(ic, 3, "axes", KILN_DT_MASK_INDEX, false, &axes);
    }
    if (st != KILN_OK)
        return st;
    if (x->rank < 0) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    int r = x->rank, ax[KILN_MAX_RANK];
    int64_t na = r;
    if (axes.present) {
        if (!axes.known) {
            set_unknown_dims(ic, 0, x->dtype, r);
            return KILN_OK;
        }
        na = axes.n;
        if ((st = norm_axes(ic, axes.v, axes.n, r, "axes", ax)) != KILN_OK)
            return st;
    } else {
        for (int i = 0; i < r; i++)
            ax[i] = i;
    }
    if (pads.n >= 0 && pads.n != 2 * na)
        return kiln_infer_fail(ic, "pads has %lld entries; it must have 2 x %lld",
                               (long long)pads.n, (long long)na);
    struct kiln_dim out[KILN_MAX_RANK];
    copy_dims(out, x->dims, r);
    for (int64_t k = 0; k < na; k++) {
        int a = ax[k];
        int64_t total;
        if (!pads.known) {
            out[a] = kiln_dim_unknown();
        } else if (!kiln_add_i64(pads.v[k], pads.v[k + na], &total)) {
            return kiln_infer_fail(ic, "pads of axis %d overflow", a);
        } else if (kiln_dim_is_const(out[a])) {
            int64_t nd;
            if (!kiln_add_i64(out[a].n, total, &nd) || nd < 0 || nd > DIM_MAX)
                return kiln_infer_fail(ic,
                                       "padding axis %d of size %lld by %lld gives an "
                                       "invalid size",
                                       a, (long long)out[a].n, (long long)total);
            out[a] = kiln_dim_const(nd);
        } else {
            out[a] = kiln_dim_add_int(out[a], total); /* H + 6; refused at run time if < 0 */
        }
    }
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    return KILN_OK;
}

enum kiln_status
kiln_shape_center_crop_pad(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input_data");
    if (!x)
        return KILN_ERR_INVALID;
    if (!has_in(ic, 1))
        return kiln_infer_fail(ic, "input 1 (shape) is required");
    struct dim_list s;
    enum kiln_status st = dims_from_input(ic, 1, "shape", KILN_DT_MASK_INDEX, &s);
    if (st != KILN_OK)
        return st;
    if (x->rank < 0) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    int r = x->rank, ax[KILN_MAX_RANK];
    struct int_list axes;
    list_from_attr(ic->n, "axes", &axes);
    int64_t na = r;
    if (axes.present) {
        na = axes.n;
        if ((st = norm_axes(ic, axes.v, axes.n, r, "axes", ax)) != KILN_OK)
            return st;
    } else {
        for (int i = 0; i < r; i++)
            ax[i] = i;
    }
    if (s.n >= 0 && s.n != na)
        return kiln_infer_fail(ic, "shape has %lld entries but there are %lld axes", (long long)s.n,
                               (long long)na);
    struct kiln_dim out[KILN_MAX_RANK];
    copy_dims(out, x->dims, r);
    for (int64_t k = 0; k < na; k++) {
        struct kiln_dim d = s.known ? s.v[k] : kiln_dim_unknown();
        if (kiln_dim_is_int(d) && d.n < 0)
            return kiln_infer_fail(ic, "shape[%lld] is %lld; sizes must be >= 0", (long long)k,
                                   (long long)d.n);
        out[ax[k]] = d;
    }
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Shape / Size */

enum kiln_status
kiln_shape_shape(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    if (x->rank < 0) {
        set_unknown_dims(ic, 0, KILN_DT_I64, 1);
        return KILN_OK;
    }
    int64_t r = x->rank, start = 0, end = r;
    if (ic->opset >= 15) {
        /* start/end select a window of the dims; negative counts from the back, clamped */
        start = kiln_node_attr_int(ic->n, "start", 0);
        end = kiln_node_attr_int(ic->n, "end", r);
        if (start < 0)
            start += r;
        if (end < 0)
            end += r;
        start = start < 0 ? 0 : start > r ? r : start;
        end = end < 0 ? 0 : end > r ? r : end;
        if (end < start)
            end = start;
    }
    struct kiln_dim len = kiln_dim_const(end - start);
    kiln_infer_set_out(ic, 0, KILN_DT_I64, 1, &len);
    /* the contents are the dims themselves: symbols and unknowns included */
    if (end > start)
        set_known(ic, 0, x->dims + start, end - start);
    else
        set_known(ic, 0, &len, 0);
    return KILN_OK;
}

enum kiln_status
kiln_shape_size(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    kiln_infer_set_out(ic, 0, KILN_DT_I64, 0, NULL);
    if (x->rank < 0)
        return KILN_OK;
    struct kiln_dim p = kiln_dim_const(1);
    for (int i = 0; i < x->rank; i++)
        p = kiln_dim_mul(p, x->dims[i]);
    if (!kiln_dim_is_unknown(p))
        set_known(ic, 0, &p, 1);
    return KILN_OK;
}

/* ---------------------------------------------------------------- constants */

/* Known contents of a small constant integer tensor; false if not applicable. */
static bool
tensor_known(const struct kiln_tensor *t, struct kiln_dim *out, int64_t *n)
{
    if (!t->data || !kiln_dtype_is_int(t->dtype) || kiln_dtype_flags(t->dtype) & KILN_DTF_STORAGE)
        return false;
    int64_t numel = kiln_tensor_numel(t);
    if (numel < 0 || numel > KNOWN_CAP)
        return false;
    for (int64_t i = 0; i < numel; i++) {
        int64_t v;
        if (!kiln_tensor_get_i64(t, i, &v) || v == KILN_DIM_UNKNOWN)
            return false;
        out[i] = kiln_dim_const(v);
    }
    *n = numel;
    return true;
}

enum kiln_status
kiln_shape_constant_of_shape(struct kiln_infer_ctx *ic)
{
    if (!has_in(ic, 0))
        return kiln_infer_fail(ic, "input 0 (input) is required");
    struct dim_list s;
    enum kiln_status st = dims_from_input(ic, 0, "input", MASK(I64), &s);
    if (st != KILN_OK)
        return st;
    const struct kiln_tensor *val = kiln_node_attr_tensor(ic->n, "value");
    enum kiln_dtype dt = KILN_DT_F32;
    if (val) {
        if (kiln_tensor_numel(val) != 1)
            return kiln_infer_fail(ic, "attribute 'value' must hold one element, it has %lld",
                                   (long long)kiln_tensor_numel(val));
        dt = val->dtype;
    }
    if (s.n > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "input 0 has %lld entries; kiln supports rank up to %d",
                               (long long)s.n, KILN_MAX_RANK);
    if (!s.known) {
        if (s.n < 0)
            set_unranked(ic, 0, dt);
        else
            set_unknown_dims(ic, 0, dt, (int)s.n);
        return KILN_OK;
    }
    int r = (int)s.n;
    for (int i = 0; i < r; i++)
        if (kiln_dim_is_int(s.v[i]) && s.v[i].n < 0)
            return kiln_infer_fail(ic, "shape[%d] is %lld; sizes must be >= 0", i,
                                   (long long)s.v[i].n);
    kiln_infer_set_out(ic, 0, dt, r, s.v);

    /* a filled integer tensor (often a shape of ones) has known contents */
    struct kiln_type t = {dt, r, (struct kiln_dim *)s.v};
    int64_t numel = kiln_type_numel(&t);
    struct kiln_dim one;
    int64_t n1;
    if (val && numel >= 0 && numel <= KNOWN_CAP && tensor_known(val, &one, &n1)) {
        struct kiln_dim kv[KNOWN_CAP];
        for (int64_t i = 0; i < numel; i++)
            kv[i] = one;
        set_known(ic, 0, kv, numel);
    }
    return KILN_OK;
}

enum kiln_status
kiln_shape_constant(struct kiln_infer_ctx *ic)
{
    static const char *const names[] = {"value",         "value_float", "value_floats",
                                        "value_int",     "value_ints",  "value_string",
                                        "value_strings", "sparse_value"};
    const struct kiln_attr *a = NULL;
    int count = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct kiln_attr *x = kiln_node_attr(ic->n, names[i]);
        if (x) {
            a = x;
            count++;
        }
    }
    if (count != 1)
        return kiln_infer_fail(ic, "needs exactly one value attribute; it has %d", count);
    if (strncmp(a->name, "value_string", 12) == 0)
        return kiln_infer_unsupported(ic, "string constants are not supported (kiln has no "
                                          "string dtype)");
    if (strcmp(a->name, "sparse_value") == 0)
        return kiln_infer_unsupported(ic, "sparse_value constants are not supported");
    struct kiln_dim kv[KNOWN_CAP];
    int64_t kn = -1;
    switch (a->kind) {
    case KILN_ATTR_TENSOR: {
        const struct kiln_tensor *t = a->t;
        if (!t || t->rank < 0 || t->rank > KILN_MAX_RANK)
            return kiln_infer_fail(ic, "attribute 'value' has an invalid rank");
        struct kiln_dim dims[KILN_MAX_RANK];
        for (int i = 0; i < t->rank; i++) {
            if (!size_ok(t->dims[i]))
                return kiln_infer_fail(ic, "attribute 'value' has dim %d of size %lld", i,
                                       (long long)t->dims[i]);
            dims[i] = kiln_dim_const(t->dims[i]);
        }
        kiln_infer_set_out(ic, 0, t->dtype, t->rank, dims);
        if (!tensor_known(t, kv, &kn))
            kn = -1;
        break;
    }
    case KILN_ATTR_FLOAT:
        kiln_infer_set_out(ic, 0, KILN_DT_F32, 0, NULL);
        break;
    case KILN_ATTR_INT:
        kiln_infer_set_out(ic, 0, KILN_DT_I64, 0, NULL);
        if (a->i != KILN_DIM_UNKNOWN) {
            kv[0] = kiln_dim_const(a->i);
            kn = 1;
        }
        break;
    case KILN_ATTR_FLOATS:
    case KILN_ATTR_INTS: {
        struct kiln_dim len = kiln_dim_const(a->n);
        kiln_infer_set_out(ic, 0, a->kind == KILN_ATTR_INTS ? KILN_DT_I64 : KILN_DT_F32, 1, &len);
        if (a->kind == KILN_ATTR_INTS && a->n <= KNOWN_CAP) {
            kn = a->n;
            for (int64_t i = 0; i < a->n; i++)
                if (a->ints[i] == KILN_DIM_UNKNOWN)
                    kn = -1;
                else
                    kv[i] = kiln_dim_const(a->ints[i]);
        }
        break;
    }
    default:
        return kiln_infer_fail(ic, "attribute '%s' has kind %s", a->name,
                               kiln_attr_kind_name(a->kind));
    }
    if (kn >= 0)
        set_known(ic, 0, kv, kn);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Range */

#define MASK_RANGE                                                                                 \
    (MASK(F32) | MASK(F64) | MASK(I16) | MASK(I32) | MASK(I64) | MASK(F16) | MASK(BF16))

/* A scalar's value as a double: a float constant, or known integer contents (a
 * float computed from integers, such as a Cast size); false when not known. */
static bool
scalar_f64(const struct kiln_infer_ctx *ic, int i, double *out)
{
    const struct kiln_tensor *t = kiln_infer_in_const(ic, i);
    if (t)
        return kiln_tensor_numel(t) == 1 && kiln_tensor_get_f64(t, 0, out);
    const struct kiln_dim *kv;
    int64_t kn;
    if (!kiln_infer_in_known(ic, i, &kv, &kn) || kn != 1 || !kiln_dim_is_int(kv[0]))
        return false;
    *out = (double)kv[0].n;
    return true;
}

/* Whether input i is a float Cast of a known integer scalar (a dim): *d. */
static bool
cast_of_dim(const struct kiln_infer_ctx *ic, int i, struct kiln_dim *d)
{
    if (i >= ic->n->n_in || ic->n->in[i] < 0)
        return false;
    const struct kiln_value *v = ic->g->values[ic->n->in[i]];
    if (v->kind != KILN_VALUE_NODE || v->producer < 0)
        return false;
    const struct kiln_node *c = ic->g->nodes[v->producer];
    const struct kiln_dim *kv;
    int64_t kn;
    if (c->op != KILN_OP_CAST || c->n_in < 1 || !kiln_infer_value_known(ic, c->in[0], &kv, &kn) ||
        kn != 1 || kiln_dim_is_unknown(kv[0]))
        return false;
    *d = kv[0];
    return true;
}

enum kiln_status
kiln_shape_range(struct kiln_infer_ctx *ic)
{
    const char *names[] = {"start", "limit", "delta"};
    struct kiln_dim v[3];
    enum kiln_status st;
    for (int i = 0; i < 3; i++)
        if ((st = read_scalar(ic, i, names[i], MASK_RANGE, false, &v[i])) != KILN_OK)
            return st;
    if ((st = kiln_infer_same_dtype(ic, 0, 1)) != KILN_OK ||
        (st = kiln_infer_same_dtype(ic, 0, 2)) != KILN_OK)
        return st;
    enum kiln_dtype dt = kiln_infer_in(ic, 0)->dtype;
    struct kiln_dim len = kiln_dim_unknown();
    if (kiln_dtype_is_int(dt)) {
        if (kiln_dim_is_int(v[2]) && v[2].n == 0)
            return kiln_infer_fail(ic, "delta is 0");
        if (kiln_dim_is_int(v[0]) && kiln_dim_is_int(v[1]) && kiln_dim_is_int(v[2])) {
            int64_t s = v[0].n, l = v[1].n, d = v[2].n, diff;
            if (__builtin_sub_overflow(l, s, &diff) || (d == -1 && diff == INT64_MIN))
                return kiln_infer_fail(ic, "the range length overflows");
            /* ceil(diff / d), clamped at 0 */
            int64_t q = diff / d;
            if (diff % d != 0 && (diff > 0) == (d > 0))
                q++;
            len = kiln_dim_const(q > 0 ? q : 0);
        } else if (kiln_dim_is_int(v[2]) && v[2].n != INT64_MIN && !kiln_dim_is_unknown(v[0]) &&
                   !kiln_dim_is_unknown(v[1])) {
            /* max(ceil((limit - start) / delta), 0): Range(0, 4*N, 2) has 2*N
             * elements, Range(0, W, 2) floor((W + 1)/2) */
            int64_t d = v[2].n, m = d > 0 ? d : -d;
            struct kiln_dim diff = d > 0 ? kiln_dim_sub(v[1], v[0]) : kiln_dim_sub(v[0], v[1]);
            len = kiln_dim_max(kiln_dim_ceildiv(diff, m), kiln_dim_const(0));
        }
    } else {
        double s, l, d;
        struct kiln_dim ld;
        if (scalar_f64(ic, 0, &s) && scalar_f64(ic, 2, &d) && s == floor(s) && d == floor(d) &&
            fabs(s) < 1e9 && d != 0 && fabs(d) < 1e9 && cast_of_dim(ic, 1, &ld)) {
            /* Range(0.0, float(W'), 1.0), the anchor grid of a detector: an
             * integral start and step over a dim cast to float count as
             * integers (exact below 2^24) */
            int64_t si = (int64_t)s, di = (int64_t)d, m = di > 0 ? di : -di;
            struct kiln_dim diff = di > 0 ? kiln_dim_sub(ld, kiln_dim_const(si))
                                          : kiln_dim_sub(kiln_dim_const(si), ld);
            len = kiln_dim_max(kiln_dim_ceildiv(diff, m), kiln_dim_const(0));
        } else if (scalar_f64(ic, 0, &s) && scalar_f64(ic, 1, &l) && scalar_f64(ic, 2, &d)) {
            if (d == 0)
                return kiln_infer_fail(ic, "delta is 0");
            double q = ceil((l - s) / d);
            if (!(q < (double)DIM_MAX)) /* NaN or too many */
                return kiln_infer_fail(ic, "the range length is not a valid size");
            len = kiln_dim_const(q > 0 ? (int64_t)q : 0);
        }
    }
    if (kiln_dim_is_const(len) && len.n > DIM_MAX)
        return kiln_infer_fail(ic, "the range length is not a valid size");
    kiln_infer_set_out(ic, 0, dt, 1, &len);
    if (kiln_dtype_is_int(dt) && kiln_dim_is_const(len) && len.n <= KNOWN_CAP &&
        kiln_dim_is_int(v[0]) && kiln_dim_is_int(v[2])) {
        struct kiln_dim kv[KNOWN_CAP];
        for (int64_t i = 0; i < len.n; i++)
            kv[i] = kiln_dim_const(v[0].n + i * v[2].n); /* stays between start and limit */
        set_known(ic, 0, kv, len.n);
    }
    return KILN_OK;
}

/* ---------------------------------------------------------------- EyeLike / OneHot */

enum kiln_status
kiln_shape_eye_like(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    if (x->rank >= 0 && x->rank != 2)
        return kiln_infer_fail(ic, "input 0 must be 2-D, got rank %d", x->rank);
    enum kiln_dtype dt = KILN_DT_F32;
    enum kiln_status st = dtype_attr(ic, "dtype", x->dtype, &dt);
    if (st != KILN_OK)
        return st;
    if (x->rank < 0)
        set_unknown_dims(ic, 0, dt, 2);
    else
        kiln_infer_set_out(ic, 0, dt, 2, x->dims);
    return KILN_OK;
}

enum kiln_status
kiln_shape_onehot(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *idx = kiln_infer_need_in(ic, 0, "indices"),
                           *vals = kiln_infer_need_in(ic, 2, "values");
    if (!idx || !vals)
        return KILN_ERR_INVALID;
    if (!(KILN_DT_MASK(idx->dtype) & KILN_DT_MASK_NUMERIC))
        return kiln_infer_fail(ic,
                               "input 0 (indices) has dtype %s, which this op does not "
                               "accept",
                               kiln_dtype_name(idx->dtype));
    struct kiln_dim depth;
    enum kiln_status st = read_scalar(ic, 1, "depth", KILN_DT_MASK_NUMERIC, true, &depth);
    if (st != KILN_OK)
        return st;
    if (vals->rank >= 0 && vals->rank != 1)
        return kiln_infer_fail(ic, "input 2 (values) must be 1-D, got rank %d", vals->rank);
    if (vals->rank == 1 && kiln_dim_is_const(vals->dims[0]) && vals->dims[0].n != 2)
        return kiln_infer_fail(ic, "input 2 (values) must hold [off, on], it has %lld elements",
                               (long long)vals->dims[0].n);
    if (kiln_dim_is_int(depth) && depth.n < 0)
        return kiln_infer_fail(ic, "depth is %lld; it must be >= 0", (long long)depth.n);
    if (idx->rank < 0) {
        set_unranked(ic, 0, vals->dtype);
        return KILN_OK;
    }
    int r = idx->rank + 1;
    if (r > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "result rank %d exceeds kiln's %d", r, KILN_MAX_RANK);
    int a;
    if ((st = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", -1), r, &a)) != KILN_OK)
        return st;
    struct kiln_dim out[KILN_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++)
        out[i] = i == a ? depth : idx->dims[j++];
    kiln_infer_set_out(ic, 0, vals->dtype, r, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- data-dependent sizes */

enum kiln_status
kiln_shape_nonzero(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    /* one row of coordinates per input axis, one column per nonzero element: counted
     * when the input is a constant */
    struct kiln_dim out[2] = {x->rank >= 0 ? kiln_dim_const(x->rank) : kiln_dim_unknown(),
                              kiln_dim_unknown()};
    const struct kiln_tensor *c = kiln_infer_in_const(ic, 0);
    int64_t numel = c ? kiln_tensor_numel(c) : -1, count = 0;
    for (int64_t i = 0; i < numel && numel <= LIST_CAP; i++) {
        double v;
        if (!kiln_tensor_get_f64(c, i, &v))
            break;
        count += v != 0;
        if (i == numel - 1)
            out[1] = kiln_dim_const(count);
    }
    kiln_infer_set_out(ic, 0, KILN_DT_I64, 2, out);
    return KILN_OK;
}

enum kiln_status
kiln_shape_unique(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    const struct kiln_attr *axis = kiln_node_attr(ic->n, "axis");
    struct kiln_dim unk = kiln_dim_unknown();
    struct kiln_dim inv = kiln_dim_unknown(); /* length of inverse_indices */
    if (axis) {
        if (x->rank < 0) {
            set_unranked(ic, 0, x->dtype);
        } else {
            int a;
            enum kiln_status st = kiln_infer_axis(ic, axis->i, x->rank, &a);
            if (st != KILN_OK)
                return st;
            struct kiln_dim out[KILN_MAX_RANK];
            copy_dims(out, x->dims, x->rank);
            out[a] = kiln_dim_unknown();
            inv = x->dims[a];
            kiln_infer_set_out(ic, 0, x->dtype, x->rank, out);
        }
    } else {
        /* flattened: one entry of inverse_indices per input element */
        if (x->rank >= 0) {
            inv = kiln_dim_const(1);
            for (int i = 0; i < x->rank; i++)
                inv = kiln_dim_mul(inv, x->dims[i]);
        }
        kiln_infer_set_out(ic, 0, x->dtype, 1, &unk);
    }
    kiln_infer_set_out(ic, 1, KILN_DT_I64, 1, &unk);
    kiln_infer_set_out(ic, 2, KILN_DT_I64, 1, &inv);
    kiln_infer_set_out(ic, 3, KILN_DT_I64, 1, &unk);
    return KILN_OK;
}

enum kiln_status
kiln_shape_compress(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input"),
                           *c = kiln_infer_need_in(ic, 1, "condition");
    if (!x || !c)
        return KILN_ERR_INVALID;
    enum kiln_status st = kiln_infer_require(ic, 1, MASK(BOOL));
    if (st != KILN_OK)
        return st;
    if (c->rank >= 0 && c->rank != 1)
        return kiln_infer_fail(ic, "input 1 (condition) must be 1-D, got rank %d", c->rank);
    /* a known condition gives the exact count of the elements kept */
    struct kiln_dim count = kiln_dim_unknown();
    const struct kiln_dim *kv;
    int64_t kn;
    if (kiln_infer_in_known(ic, 1, &kv, &kn) && all_ints(kv, kn)) {
        int64_t t = 0;
        for (int64_t i = 0; i < kn; i++)
            t += kv[i].n != 0;
        count = kiln_dim_const(t);
    }
    const struct kiln_attr *axis = kiln_node_attr(ic->n, "axis");
    if (!axis) {
        kiln_infer_set_out(ic, 0, x->dtype, 1, &count);
        return KILN_OK;
    }
    if (x->rank < 0) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    int a;
    if ((st = kiln_infer_axis(ic, axis->i, x->rank, &a)) != KILN_OK)
        return st;
    struct kiln_dim out[KILN_MAX_RANK];
    copy_dims(out, x->dims, x->rank);
    out[a] = count;
    kiln_infer_set_out(ic, 0, x->dtype, x->rank, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- DepthToSpace / SpaceToDepth */

/* blocksize and mode of DepthToSpace/SpaceToDepth; *b2 gets blocksize squared. */
static enum kiln_status
block_attrs(struct kiln_infer_ctx *ic, const struct kiln_type *x, int64_t *b, int64_t *b2)
{
    if (x->rank >= 0 && x->rank != 4)
        return kiln_infer_fail(ic, "input 0 must be 4-D (N, C, H, W), got rank %d", x->rank);
    if (!kiln_node_attr(ic->n, "blocksize"))
        return kiln_infer_fail(ic, "attribute 'blocksize' is required");
    *b = kiln_node_attr_int(ic->n, "blocksize", 0);
    if (*b < 1 || !kiln_mul_i64(*b, *b, b2))
        return kiln_infer_fail(ic, "blocksize is %lld; it must be >= 1", (long long)*b);
    const char *mode = kiln_node_attr_string(ic->n, "mode", "DCR");
    if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
        return kiln_infer_fail(ic, "mode '%s' is not DCR or CRD", mode);
    return KILN_OK;
}

/* d / k (k >= 1) for a dim that must divide evenly: exact (2*N / 2 is N), unknown
 * for a symbolic dim that does not divide (N / 2: it may at run time); false
 * (with *out unset) when a constant does not. */
static bool
dim_div_exact(struct kiln_dim d, int64_t k, struct kiln_dim *out)
{
    if (kiln_dim_div_exact(d, kiln_dim_const(k), out))
        return true;
    if (kiln_dim_is_const(d))
        return false;
    *out = kiln_dim_unknown();
    return true;
}

enum kiln_status
kiln_shape_depth_to_space(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    int64_t b, b2;
    enum kiln_status st = block_attrs(ic, x, &b, &b2);
    if (st != KILN_OK)
        return st;
    if (x->rank < 0) {
        set_unknown_dims(ic, 0, x->dtype, 4);
        return KILN_OK;
    }
    struct kiln_dim out[4] = {x->dims[0]};
    if (!dim_div_exact(x->dims[1], b2, &out[1]))
        return kiln_infer_fail(ic, "channels (%lld) are not divisible by blocksize^2 (%lld)",
                               (long long)x->dims[1].n, (long long)b2);
    for (int i = 2; i < 4; i++)
        if (!dim_scale(x->dims[i], b, &out[i]))
            return kiln_infer_fail(ic, "dim %d times blocksize overflows", i);
    kiln_infer_set_out(ic, 0, x->dtype, 4, out);
    return KILN_OK;
}

enum kiln_status
kiln_shape_space_to_depth(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    int64_t b, b2;
    enum kiln_status st = block_attrs(ic, x, &b, &b2);
    if (st != KILN_OK)
        return st;
    if (x->rank < 0) {
        set_unknown_dims(ic, 0, x->dtype, 4);
        return KILN_OK;
    }
    struct kiln_dim out[4] = {x->dims[0]};
    if (!dim_scale(x->dims[1], b2, &out[1]))
        return kiln_infer_fail(ic, "channels times blocksize^2 overflows");
    for (int i = 2; i < 4; i++)
        if (!dim_div_exact(x->dims[i], b, &out[i]))
            return kiln_infer_fail(ic, "dim %d (%lld) is not divisible by blocksize (%lld)", i,
                                   (long long)x->dims[i].n, (long long)b);
    kiln_infer_set_out(ic, 0, x->dtype, 4, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Resize / Upsample */

/* Float scales from a constant input; *n gets the length (-1 if unknown), and
 * *known whether the values were read. */
static enum kiln_status
scales_from_input(struct kiln_infer_ctx *ic, int i, double *v, int64_t *n, bool *known)
{
    const struct kiln_type *t = kiln_infer_in(ic, i);
    *known = false;
    *n = -1;
    if (!(KILN_DT_MASK(t->dtype) & KILN_DT_MASK_FLOAT))
        return kiln_infer_fail(ic, "input %d (scales) has dtype %s; it must be a float tensor", i,
                               kiln_dtype_name(t->dtype));
    if (t->rank >= 0 && t->rank != 1)
        return kiln_infer_fail(ic, "input %d (scales) must be 1-D, got rank %d", i, t->rank);
    if (t->rank == 1 && kiln_dim_is_const(t->dims[0]))
        *n = t->dims[0].n;
    const struct kiln_tensor *c = kiln_infer_in_const(ic, i);
    if (!c)
        return KILN_OK;
    int64_t numel = kiln_tensor_numel(c);
    if (numel < 0 || numel > KILN_MAX_RANK)
        return kiln_infer_fail(ic,
                               "input %d (scales) has %lld entries; kiln supports rank up "
                               "to %d",
                               i, (long long)numel, KILN_MAX_RANK);
    for (int64_t k = 0; k < numel; k++)
        if (!kiln_tensor_get_f64(c, k, &v[k]))
            return KILN_OK;
    *n = numel;
    *known = true;
    return KILN_OK;
}

/* floor(d * s) for a dim d and a positive finite scale s. */
static bool
dim_times_scale(struct kiln_dim d, double s, struct kiln_dim *out)
{
    if (!kiln_dim_is_const(d)) {
        /* a scale that is exactly p/q for a small q: floor(p*d / q) (2.0 gives
         * 2*H, 0.5 floor(H/2)); others have no exact expression */
        *out = kiln_dim_unknown();
        for (int64_t q = 1; q <= 64 && s > 0 && s < 1e6; q++) {
            double p = s * (double)q;
            if (p == floor(p) && p >= 1 && p / (double)q == s) {
                *out = kiln_dim_floordiv(kiln_dim_mul(d, kiln_dim_const((int64_t)p)), q);
                break;
            }
        }
        return true;
    }
    double p = floor((double)d.n * s);
    if (!(p < (double)DIM_MAX))
        return false;
    *out = kiln_dim_const((int64_t)p);
    return true;
}

/*
 * Resize (opset 10+) and Upsample: the output size per axis is either given
 * (sizes, possibly adjusted to keep the aspect ratio) or floor(dim * scale).
 */
enum kiln_status
kiln_shape_resize(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    bool up = ic->n->op == KILN_OP_UPSAMPLE;
    const char *mode = kiln_node_attr_string(ic->n, "mode", "nearest");
    bool mode_ok = strcmp(mode, "nearest") == 0 ||
                   (up ? strcmp(mode, ic->opset < 7 ? "bilinear" : "linear") == 0
                       : strcmp(mode, "linear") == 0 || strcmp(mode, "cubic") == 0);
    if (!mode_ok)
        return kiln_infer_fail(ic, "mode '%s' is not supported by %s-%lld", mode,
                               kiln_op_name(ic->n->op), (long long)ic->opset);
    double sc[KILN_MAX_RANK];
    int64_t n_sc = -1;     /* length of scales; -1 unknown */
    bool have_sc = false;  /* scales (not sizes) decide */
    bool sc_known = false; /* sc[] holds them */
    struct dim_list sizes = {.present = false};
    enum kiln_status st = KILN_OK;
    int scales_in = up || ic->opset < 11 ? 1 : 2;
    if (up && ic->opset < 7) {
        /* Upsample-1: 4-D NCHW with height and width scales as attributes */
        if (x->rank >= 0 && x->rank != 4)
            return kiln_infer_fail(ic, "input 0 must be 4-D, got rank %d", x->rank);
        if (!kiln_node_attr(ic->n, "height_scale") || !kiln_node_attr(ic->n, "width_scale"))
            return kiln_infer_fail(ic, "attributes 'height_scale' and 'width_scale' are "
                                       "required");
        sc[0] = sc[1] = 1.0;
        sc[2] = kiln_node_attr_float(ic->n, "height_scale", 1);
        sc[3] = kiln_node_attr_float(ic->n, "width_scale", 1);
        n_sc = 4;
        have_sc = sc_known = true;
    } else if (up && ic->opset < 9) {
        const float *f = kiln_node_attr_floats(ic->n, "scales", &n_sc);
        if (!f)
            return kiln_infer_fail(ic, "attribute 'scales' is required");
        if (n_sc > KILN_MAX_RANK)
            return kiln_infer_fail(ic, "scales has %lld entries; kiln supports rank up to %d",
                                   (long long)n_sc, KILN_MAX_RANK);
        for (int64_t k = 0; k < n_sc; k++)
            sc[k] = f[k];
        have_sc = sc_known = true;
    } else {
        bool has_scales = has_in(ic, scales_in);
        if (has_scales && (st = scales_from_input(ic, scales_in, sc, &n_sc, &sc_known)) != KILN_OK)
            return st;
        /* opset 11 writes "no scales" as an empty tensor */
        if (has_scales && n_sc == 0)
            has_scales = false;
        if (!up && ic->opset >= 11 && has_in(ic, 3)) {
            if ((st = dims_from_input(ic, 3, "sizes", MASK(I64), &sizes)) != KILN_OK)
                return st;
            if (sizes.n == 0)
                sizes.present = false;
        }
        if (!has_in(ic, scales_in) && (up || ic->opset < 11))
            return kiln_infer_fail(ic, "input %d (scales) is required", scales_in);
        if (has_scales && sizes.present)
            return kiln_infer_fail(ic, "scales and sizes cannot both be given");
        if (!has_scales && !sizes.present)
            return kiln_infer_fail(ic, "one of scales and sizes is required");
        have_sc = has_scales;
    }
    for (int64_t k = 0; have_sc && sc_known && k < n_sc; k++)
        if (!(sc[k] > 0 && sc[k] < 1e15))
            return kiln_infer_fail(ic, "scales[%lld] is %g; scales must be positive and finite",
                                   (long long)k, sc[k]);

    /* the axes the scales or sizes refer to (a subset since Resize-18) */
    struct int_list axes = {.present = false};
    if (!up && ic->opset >= 18)
        list_from_attr(ic->n, "axes", &axes);
    int64_t n_list = have_sc ? n_sc : sizes.n;
    int r = x->rank;
    if (r < 0 && !axes.present && n_list >= 0 && n_list <= KILN_MAX_RANK)
        r = (int)n_list; /* one entry per axis */
    if (r < 0) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    int ax[KILN_MAX_RANK];
    int64_t na = r;
    if (axes.present) {
        na = axes.n;
        if ((st = norm_axes(ic, axes.v, axes.n, r, "axes", ax)) != KILN_OK)
            return st;
    } else {
        for (int i = 0; i < r; i++)
            ax[i] = i;
    }
    if (n_list >= 0 && n_list != na)
        return kiln_infer_fail(ic, "%s has %lld entries; expected %lld",
                               have_sc ? "scales" : "sizes", (long long)n_list, (long long)na);
    struct kiln_dim out[KILN_MAX_RANK];
    for (int i = 0; i < r; i++)
        out[i] = dim_of(x, i);
    if (have_sc) {
        for (int64_t k = 0; k < na; k++) {
            int a = ax[k];
            if (!sc_known)
                out[a] = kiln_dim_unknown();
            else if (!dim_times_scale(out[a], sc[k], &out[a]))
                return kiln_infer_fail(ic, "axis %d scaled by %g overflows", a, sc[k]);
        }
        kiln_infer_set_out(ic, 0, x->dtype, r, out);
        return KILN_OK;
    }
    const char *policy = kiln_node_attr_string(ic->n, "keep_aspect_ratio_policy", "stretch");
    if (ic->opset < 18)
        policy = "stretch";
    bool stretch = strcmp(policy, "stretch") == 0;
    if (!stretch && strcmp(policy, "not_larger") != 0 && strcmp(policy, "not_smaller") != 0)
        return kiln_infer_fail(ic,
                               "keep_aspect_ratio_policy '%s' is not stretch, not_larger "
                               "or not_smaller",
                               policy);
    for (int64_t k = 0; sizes.known && k < na; k++)
        if (kiln_dim_is_int(sizes.v[k]) && sizes.v[k].n < 0)
            return kiln_infer_fail(ic, "sizes[%lld] is %lld; sizes must be >= 0", (long long)k,
                                   (long long)sizes.v[k].n);
    if (stretch) {
        for (int64_t k = 0; k < na; k++)
            out[ax[k]] = sizes.known ? sizes.v[k] : kiln_dim_unknown();
        kiln_infer_set_out(ic, 0, x->dtype, r, out);
        return KILN_OK;
    }
    /* keep the aspect ratio: one scale for all axes, the smallest or largest ratio */
    bool larger = strcmp(policy, "not_larger") == 0, exact = sizes.known;
    double scale = 0;
    for (int64_t k = 0; exact && k < na; k++) {
        struct kiln_dim d = out[ax[k]];
        if (!kiln_dim_is_int(sizes.v[k]) || !kiln_dim_is_const(d) || d.n == 0) {
            exact = false;
            break;
        }
        double ratio = (double)sizes.v[k].n / (double)d.n;
        if (k == 0 || (larger ? ratio < scale : ratio > scale))
            scale = ratio;
    }
    for (int64_t k = 0; k < na; k++) {
        int a = ax[k];
        if (!exact) {
            out[a] = kiln_dim_unknown();
            continue;
        }
        double p = floor(scale * (double)out[a].n + 0.5); /* round half up */
        if (!(p < (double)DIM_MAX))
            return kiln_infer_fail(ic, "axis %d resized to an invalid size", a);
        out[a] = kiln_dim_const((int64_t)p);
    }
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- control flow */

/* Type of output i of sub-graph g, or NULL after a diagnostic if it has none. */
static const struct kiln_type *
body_out(struct kiln_infer_ctx *ic, const struct kiln_graph *g, const char *what, int i)
{
    const struct kiln_type *t = &g->values[g->outputs[i]]->type;
    if (t->dtype == KILN_DT_INVALID) {
        kiln_infer_fail(ic, "%s output %d ('%s') has no type", what, i,
                        g->values[g->outputs[i]]->name);
        return NULL;
    }
    return t;
}

/* A graph attribute the op requires. */
static struct kiln_graph *
need_graph(struct kiln_infer_ctx *ic, const char *name)
{
    struct kiln_graph *g = kiln_node_attr_graph(ic->n, name);
    if (!g)
        kiln_infer_fail(ic, "attribute '%s' (a graph) is required", name);
    return g;
}

/* Input i must hold a single element (rank 0, or static dims multiplying to 1). */
static enum kiln_status
need_single(struct kiln_infer_ctx *ic, int i, const char *what)
{
    const struct kiln_type *t = kiln_infer_in(ic, i);
    int64_t numel = kiln_type_numel(t);
    if (numel >= 0 && numel != 1)
        return kiln_infer_fail(ic, "input %d (%s) must hold one element, it has %lld", i, what,
                               (long long)numel);
    return KILN_OK;
}

enum kiln_status
kiln_shape_if(struct kiln_infer_ctx *ic)
{
    if (!kiln_infer_need_in(ic, 0, "cond"))
        return KILN_ERR_INVALID;
    enum kiln_status st = kiln_infer_require(ic, 0, MASK(BOOL));
    if (st == KILN_OK)
        st = need_single(ic, 0, "cond");
    if (st != KILN_OK)
        return st;
    struct kiln_graph *tg = need_graph(ic, "then_branch");
    struct kiln_graph *eg = tg ? need_graph(ic, "else_branch") : NULL;
    if (!tg || !eg)
        return KILN_ERR_INVALID;
    int n_out = kiln_infer_n_out(ic);
    if (tg->n_outputs != n_out || eg->n_outputs != n_out)
        return kiln_infer_fail(ic,
                               "the node has %d outputs but then_branch has %d and "
                               "else_branch %d",
                               n_out, (int)tg->n_outputs, (int)eg->n_outputs);
    /* a known condition selects one branch: its types are exact */
    const struct kiln_dim *kv;
    int64_t kn;
    int pick = -1;
    if (kiln_infer_in_known(ic, 0, &kv, &kn) && kn == 1 && kiln_dim_is_int(kv[0]))
        pick = kv[0].n != 0;
    for (int i = 0; i < n_out; i++) {
        const struct kiln_type *tt = body_out(ic, tg, "then_branch", i);
        const struct kiln_type *et = tt ? body_out(ic, eg, "else_branch", i) : NULL;
        if (!tt || !et)
            return KILN_ERR_INVALID;
        if (tt->dtype != et->dtype)
            return kiln_infer_fail(ic, "output %d is %s in then_branch but %s in else_branch", i,
                                   kiln_dtype_name(tt->dtype), kiln_dtype_name(et->dtype));
        struct kiln_type j;
        if (pick >= 0)
            j = pick ? *tt : *et;
        else
            join_type(ic, tt, et, &j);
        kiln_infer_set_out_type(ic, i, &j);
    }
    return KILN_OK;
}

/* Output i: the body's final value of a carried variable whose initial type is v0. */
static enum kiln_status
set_carried(struct kiln_infer_ctx *ic, int i, const struct kiln_type *v0,
            const struct kiln_type *fin, const char *what)
{
    if (v0->dtype != fin->dtype)
        return kiln_infer_fail(ic, "%s %d is %s initially but the body yields %s", what, i,
                               kiln_dtype_name(v0->dtype), kiln_dtype_name(fin->dtype));
    /* zero iterations return the initial value: keep only what both agree on */
    struct kiln_type j;
    join_type(ic, v0, fin, &j);
    kiln_infer_set_out_type(ic, i, &j);
    return KILN_OK;
}

/* Output i: per-iteration values of type t stacked along axis `axis` of length len. */
static enum kiln_status
set_stacked(struct kiln_infer_ctx *ic, int i, const struct kiln_type *t, int64_t axis,
            struct kiln_dim len, struct kiln_dim batch, bool has_batch)
{
    if (t->rank < 0) {
        set_unranked(ic, i, t->dtype);
        return KILN_OK;
    }
    int extra = has_batch ? 2 : 1, r = t->rank + extra;
    if (r > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "output %d would have rank %d; kiln supports up to %d", i, r,
                               KILN_MAX_RANK);
    int a;
    if (has_batch) {
        a = 1;
    } else {
        enum kiln_status st = kiln_infer_axis(ic, axis, r, &a);
        if (st != KILN_OK)
            return st;
    }
    struct kiln_dim out[KILN_MAX_RANK];
    for (int k = 0, j = 0; k < r; k++) {
        if (has_batch && k == 0)
            out[k] = batch;
        else if (k == a)
            out[k] = len;
        else
            out[k] = t->dims[j++];
    }
    kiln_infer_set_out(ic, i, t->dtype, r, out);
    return KILN_OK;
}

/* Whether value v of g is value src, directly or through a chain of Identity nodes. */
static bool
passes_through(const struct kiln_graph *g, int32_t v, int32_t src)
{
    for (int hops = 0; hops <= g->n_nodes; hops++) {
        if (v == src)
            return true;
        const struct kiln_value *val = g->values[v];
        if (val->kind != KILN_VALUE_NODE || val->producer < 0 || val->producer >= g->n_nodes)
            return false;
        const struct kiln_node *p = g->nodes[val->producer];
        if (p->op != KILN_OP_IDENTITY || p->n_in < 1 || p->in[0] < 0)
            return false;
        v = p->in[0];
    }
    return false;
}

enum kiln_status
kiln_shape_loop(struct kiln_infer_ctx *ic)
{
    int n_in = kiln_infer_n_in(ic), n_out = kiln_infer_n_out(ic);
    if (n_in < 2)
        return kiln_infer_fail(ic, "needs inputs M and cond (either may be absent), then the "
                                   "loop-carried values");
    enum kiln_status st = KILN_OK;
    if (has_in(ic, 0)) {
        st = kiln_infer_require(ic, 0, MASK(I64));
        if (st == KILN_OK)
            st = need_single(ic, 0, "M");
    }
    if (st == KILN_OK && has_in(ic, 1)) {
        st = kiln_infer_require(ic, 1, MASK(BOOL));
        if (st == KILN_OK)
            st = need_single(ic, 1, "cond");
    }
    if (st != KILN_OK)
        return st;
    struct kiln_graph *body = need_graph(ic, "body");
    if (!body)
        return KILN_ERR_INVALID;
    int n = n_in - 2;
    if (body->n_inputs != n + 2)
        return kiln_infer_fail(ic,
                               "body has %d inputs; expected %d (iteration, cond and %d "
                               "loop-carried values)",
                               (int)body->n_inputs, n + 2, n);
    int k = body->n_outputs - 1 - n;
    if (k < 0)
        return kiln_infer_fail(ic,
                               "body has %d outputs; expected at least %d (cond and %d "
                               "loop-carried values)",
                               (int)body->n_outputs, n + 1, n);
    if (n_out != n + k)
        return kiln_infer_fail(ic,
                               "the node has %d outputs; the body gives %d loop-carried and "
                               "%d scan outputs",
                               n_out, n, k);
    const struct kiln_type *c = body_out(ic, body, "body", 0);
    if (!c)
        return KILN_ERR_INVALID;
    if (c->dtype != KILN_DT_BOOL)
        return kiln_infer_fail(ic, "body output 0 (cond) has dtype %s; it must be bool",
                               kiln_dtype_name(c->dtype));
    for (int i = 0; i < n; i++) {
        const struct kiln_type *v0 = kiln_infer_need_in(ic, 2 + i, "v_initial");
        const struct kiln_type *fin = v0 ? body_out(ic, body, "body", 1 + i) : NULL;
        if (!fin)
            return KILN_ERR_INVALID;
        if ((st = set_carried(ic, i, v0, fin, "loop-carried value")) != KILN_OK)
            return st;
    }
    /* exactly M iterations when nothing can stop the loop early: without a cond input
     * the body's cond is ignored; a cond known true that the body passes through
     * unchanged (function expansions of Range do this) never turns false */
    struct kiln_dim trips = kiln_dim_unknown();
    const struct kiln_dim *kv;
    int64_t kn;
    bool for_loop = !has_in(ic, 1);
    if (!for_loop && kiln_infer_in_known(ic, 1, &kv, &kn) && kn == 1 && kiln_dim_is_int(kv[0]) &&
        kv[0].n != 0)
        for_loop = passes_through(body, body->outputs[0], body->inputs[1]);
    if (for_loop && kiln_infer_in_known(ic, 0, &kv, &kn) && kn == 1) {
        if (kv[0].sym || (kiln_dim_is_int(kv[0]) && size_ok(kv[0].n)))
            trips = kv[0];
        else if (kiln_dim_is_int(kv[0]) && kv[0].n < 0)
            trips = kiln_dim_const(0);
    }
    for (int j = 0; j < k; j++) {
        const struct kiln_type *t = body_out(ic, body, "body", 1 + n + j);
        if (!t)
            return KILN_ERR_INVALID;
        if ((st = set_stacked(ic, n + j, t, 0, trips, trips, false)) != KILN_OK)
            return st;
    }
    return KILN_OK;
}

/* Optional list attribute of exactly `want` entries (directions, axes of Scan). */
static enum kiln_status
scan_list(struct kiln_infer_ctx *ic, const char *name, int want, bool flags, const int64_t **out)
{
    int64_t len = 0;
    *out = kiln_node_attr_ints(ic->n, name, &len);
    if (!*out)
        return KILN_OK;
    if (len != want)
        return kiln_infer_fail(ic, "%s has %lld entries; expected %d", name, (long long)len, want);
    for (int i = 0; flags && i < want; i++)
        if ((*out)[i] != 0 && (*out)[i] != 1)
            return kiln_infer_fail(ic, "%s[%d] is %lld; it must be 0 or 1", name, i,
                                   (long long)(*out)[i]);
    return KILN_OK;
}

enum kiln_status
kiln_shape_scan(struct kiln_infer_ctx *ic)
{
    int n_in = kiln_infer_n_in(ic), n_out = kiln_infer_n_out(ic);
    struct kiln_graph *body = need_graph(ic, "body");
    if (!body)
        return KILN_ERR_INVALID;
    if (!kiln_node_attr(ic->n, "num_scan_inputs"))
        return kiln_infer_fail(ic, "attribute 'num_scan_inputs' is required");
    bool v8 = ic->opset < 9; /* Scan-8: a leading batch axis and optional sequence_lens */
    int first = v8 ? 1 : 0;  /* index of the first state input */
    int64_t m = kiln_node_attr_int(ic->n, "num_scan_inputs", 0);
    if (m < 1 || m > n_in - first)
        return kiln_infer_fail(ic,
                               "num_scan_inputs is %lld; the node has %d state and scan "
                               "inputs",
                               (long long)m, n_in - first);
    int ns = n_in - first - (int)m; /* state variables */
    if (body->n_inputs != ns + m)
        return kiln_infer_fail(ic, "body has %d inputs; expected %d (%d state, %lld scan)",
                               (int)body->n_inputs, ns + (int)m, ns, (long long)m);
    int k = body->n_outputs - ns;
    if (k < 0 || n_out != ns + k)
        return kiln_infer_fail(ic,
                               "the node has %d outputs; the body gives %d state and %d "
                               "scan outputs",
                               n_out, ns, k < 0 ? 0 : k);
    const int64_t *in_axes = NULL, *out_axes = NULL, *dirs = NULL;
    enum kiln_status st;
    if (v8) {
        st = scan_list(ic, "directions", (int)m, true, &dirs);
        if (st == KILN_OK && has_in(ic, 0))
            st = kiln_infer_require(ic, 0, MASK(I64));
    } else {
        st = scan_list(ic, "scan_input_directions", (int)m, true, &dirs);
        if (st == KILN_OK)
            st = scan_list(ic, "scan_output_directions", k, true, &dirs);
        if (st == KILN_OK)
            st = scan_list(ic, "scan_input_axes", (int)m, false, &in_axes);
        if (st == KILN_OK)
            st = scan_list(ic, "scan_output_axes", k, false, &out_axes);
    }
    if (st != KILN_OK)
        return st;
    struct kiln_dim seq = kiln_dim_unknown(), batch = kiln_dim_unknown();
    for (int i = first; i < n_in; i++) {
        const struct kiln_type *t =
            kiln_infer_need_in(ic, i, i - first < ns ? "initial state" : "scan input");
        if (!t)
            return KILN_ERR_INVALID;
        if (t->rank < 0)
            continue;
        if (v8) {
            if (t->rank < 1 || (i - first >= ns && t->rank < 2))
                return kiln_infer_fail(ic,
                                       "input %d has rank %d; Scan-8 inputs lead with the "
                                       "batch axis (and scan inputs the sequence axis)",
                                       i, t->rank);
            if (!kiln_infer_merge(ic, batch, t->dims[0], &batch))
                return kiln_infer_fail(ic, "inputs disagree on the batch size: %lld vs %lld",
                                       (long long)batch.n, (long long)t->dims[0].n);
        }
        if (i - first < ns)
            continue;
        int a = 1;
        if (!v8) {
            if (t->rank == 0)
                return kiln_infer_fail(ic, "scan input %d is a scalar", i);
            int64_t ax = in_axes ? in_axes[i - first - ns] : 0;
            if ((st = kiln_infer_axis(ic, ax, t->rank, &a)) != KILN_OK)
                return st;
        }
        if (!kiln_infer_merge(ic, seq, t->dims[a], &seq))
            return kiln_infer_fail(ic,
                                   "scan inputs disagree on the sequence length: %lld vs "
                                   "%lld",
                                   (long long)seq.n, (long long)t->dims[a].n);
    }
    for (int i = 0; i < ns; i++) {
        const struct kiln_type *v0 = kiln_infer_in(ic, first + i);
        const struct kiln_type *fin = body_out(ic, body, "body", i);
        if (!fin)
            return KILN_ERR_INVALID;
        if (!v8) {
            if ((st = set_carried(ic, i, v0, fin, "state variable")) != KILN_OK)
                return st;
            continue;
        }
        /* Scan-8 states carry the batch axis the body does not see */
        if (v0->dtype != fin->dtype)
            return kiln_infer_fail(ic,
                                   "state variable %d is %s initially but the body yields "
                                   "%s",
                                   i, kiln_dtype_name(v0->dtype), kiln_dtype_name(fin->dtype));
        if (fin->rank < 0 || fin->rank + 1 > KILN_MAX_RANK) {
            set_unranked(ic, i, fin->dtype);
            continue;
        }
        struct kiln_dim out[KILN_MAX_RANK];
        out[0] = batch;
        copy_dims(out + 1, fin->dims, fin->rank);
        kiln_infer_set_out(ic, i, fin->dtype, fin->rank + 1, out);
    }
    for (int j = 0; j < k; j++) {
        const struct kiln_type *t = body_out(ic, body, "body", ns + j);
        if (!t)
            return KILN_ERR_INVALID;
        if ((st = set_stacked(ic, ns + j, t, out_axes ? out_axes[j] : 0, seq, batch, v8)) !=
            KILN_OK)
            return st;
    }
    return KILN_OK;
}

/* ---------------------------------------------------------------- signal processing */

/* A 0/1 int attribute. */
static enum kiln_status
flag_attr(struct kiln_infer_ctx *ic, const char *name, int64_t def, bool *out)
{
    int64_t v = kiln_node_attr_int(ic->n, name, def);
    if (v != 0 && v != 1)
        return kiln_infer_fail(ic, "%s is %lld; it must be 0 or 1", name, (long long)v);
    *out = v != 0;
    return KILN_OK;
}

/* A positive size from a scalar input, or unknown; fails on a known value < min. */
static enum kiln_status
read_size(struct kiln_infer_ctx *ic, int i, const char *what, int64_t min, struct kiln_dim *out)
{
    enum kiln_status st = read_scalar(ic, i, what, KILN_DT_MASK_INDEX, false, out);
    if (st != KILN_OK)
        return st;
    if (kiln_dim_is_int(*out) && (out->n < min || out->n > DIM_MAX))
        return kiln_infer_fail(ic, "%s is %lld; it must be >= %lld", what, (long long)out->n,
                               (long long)min);
    return KILN_OK;
}

enum kiln_status
kiln_shape_dft(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status st = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    bool inverse = false, onesided = false;
    if (st == KILN_OK)
        st = flag_attr(ic, "inverse", 0, &inverse);
    if (st == KILN_OK)
        st = flag_attr(ic, "onesided", 0, &onesided);
    if (st != KILN_OK)
        return st;
    if (x->rank >= 0 && x->rank < 2)
        return kiln_infer_fail(ic,
                               "input 0 has rank %d; it needs a signal axis and a last axis "
                               "of 1 (real) or 2 (complex)",
                               x->rank);
    int r = x->rank;
    if (r > 0 && kiln_dim_is_const(x->dims[r - 1]) && x->dims[r - 1].n != 1 &&
        x->dims[r - 1].n != 2)
        return kiln_infer_fail(ic, "the last dim is %lld; it must be 1 (real) or 2 (complex)",
                               (long long)x->dims[r - 1].n);
    /* the axis: an attribute (default 1) before opset 20, an optional input (default -2) since */
    struct kiln_dim axis = kiln_dim_const(kiln_node_attr_int(ic->n, "axis", 1));
    if (ic->opset >= 20) {
        axis = kiln_dim_const(-2);
        if (has_in(ic, 2) && (st = read_scalar(ic, 2, "axis", MASK(I64), false, &axis)) != KILN_OK)
            return st;
    }
    struct kiln_dim len = kiln_dim_unknown();
    bool has_len = has_in(ic, 1);
    if (has_len && (st = read_size(ic, 1, "dft_length", 1, &len)) != KILN_OK)
        return st;
    if (r < 0) {
        set_unranked(ic, 0, x->dtype);
        return KILN_OK;
    }
    struct kiln_dim out[KILN_MAX_RANK];
    copy_dims(out, x->dims, r);
    out[r - 1] = kiln_dim_const(onesided && inverse ? 1 : 2);
    if (!kiln_dim_is_int(axis)) {
        fill_unknown(out, r - 1); /* which axis is transformed is not known */
        kiln_infer_set_out(ic, 0, x->dtype, r, out);
        return KILN_OK;
    }
    int64_t a = axis.n < 0 ? axis.n + r : axis.n;
    if (a < 0 || a > r - 2)
        return kiln_infer_fail(ic, "axis %lld is out of range: it must be in [-%d, -2] or [0, %d]",
                               (long long)axis.n, r, r - 2);
    struct kiln_dim d = x->dims[a];
    if (!has_len) {
        len = d; /* the signal's own length, or for IRFFT the full length of a half spectrum */
        if (onesided && inverse) {
            if (kiln_dim_is_const(d) && d.n < 2)
                return kiln_infer_fail(ic,
                                       "axis %lld has size %lld; an inverse one-sided DFT "
                                       "needs >= 2",
                                       (long long)a, (long long)d.n);
            len = kiln_dim_is_const(d) ? kiln_dim_const(2 * (d.n - 1)) : kiln_dim_unknown();
        }
    }
    if (onesided && !inverse)
        len = kiln_dim_is_const(len) ? kiln_dim_const(len.n / 2 + 1) : kiln_dim_unknown();
    out[a] = len;
    kiln_infer_set_out(ic, 0, x->dtype, r, out);
    return KILN_OK;
}

enum kiln_status
kiln_shape_stft(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "signal");
    if (!x)
        return KILN_ERR_INVALID;
    bool onesided = true;
    enum kiln_status st = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (st == KILN_OK)
        st = flag_attr(ic, "onesided", 1, &onesided);
    if (st != KILN_OK)
        return st;
    if (x->rank >= 0 && x->rank != 3)
        return kiln_infer_fail(ic,
                               "input 0 (signal) must be [batch, length, 1 or 2], got rank "
                               "%d",
                               x->rank);
    if (x->rank == 3 && kiln_dim_is_const(x->dims[2]) && x->dims[2].n != 1 && x->dims[2].n != 2)
        return kiln_infer_fail(ic, "the signal's last dim is %lld; it must be 1 or 2",
                               (long long)x->dims[2].n);
    struct kiln_dim step, flen = kiln_dim_unknown();
    if ((st = read_size(ic, 1, "frame_step", 1, &step)) != KILN_OK)
        return st;
    const struct kiln_type *w = kiln_infer_in(ic, 2);
    if (w) {
        if ((st = kiln_infer_same_dtype(ic, 0, 2)) != KILN_OK)
            return st;
        if (w->rank >= 0 && w->rank != 1)
            return kiln_infer_fail(ic, "input 2 (window) must be 1-D, got rank %d", w->rank);
    }
    struct kiln_dim sig = dim_of(x, 1), wlen = dim_of(w, 0);
    if (has_in(ic, 3)) {
        if ((st = read_size(ic, 3, "frame_length", 1, &flen)) != KILN_OK)
            return st;
        if (kiln_dim_is_const(flen) && kiln_dim_is_const(wlen) && flen.n != wlen.n)
            return kiln_infer_fail(ic, "frame_length is %lld but the window has %lld entries",
                                   (long long)flen.n, (long long)wlen.n);
        if (!kiln_dim_is_int(flen) && w)
            flen = wlen;
    } else {
        flen = w ? wlen : sig;
    }
    struct kiln_dim frames = kiln_dim_unknown(), bins = kiln_dim_unknown();
    if (kiln_dim_is_const(sig) && kiln_dim_is_const(flen)) {
        if (flen.n > sig.n)
            return kiln_infer_fail(ic, "frame_length %lld is longer than the signal (%lld)",
                                   (long long)flen.n, (long long)sig.n);
        if (kiln_dim_is_const(step))
            frames = kiln_dim_const((sig.n - flen.n) / step.n + 1);
    }
    if (kiln_dim_is_const(flen))
        bins = kiln_dim_const(onesided ? flen.n / 2 + 1 : flen.n);
    else if (!onesided)
        bins = flen;
    struct kiln_dim out[4] = {dim_of(x, 0), frames, bins, kiln_dim_const(2)};
    kiln_infer_set_out(ic, 0, x->dtype, 4, out);
    return KILN_OK;
}

/* HannWindow, HammingWindow, BlackmanWindow: a 1-D window of the requested size. */
enum kiln_status
kiln_shape_window(struct kiln_infer_ctx *ic)
{
    struct kiln_dim size;
    enum kiln_dtype dt = KILN_DT_F32;
    bool periodic = true;
    enum kiln_status st = read_size(ic, 0, "size", 0, &size);
    if (st == KILN_OK)
        st = flag_attr(ic, "periodic", 1, &periodic);
    if (st == KILN_OK)
        st = dtype_attr(ic, "output_datatype", KILN_DT_F32, &dt);
    if (st != KILN_OK)
        return st;
    if (!(KILN_DT_MASK(dt) & KILN_DT_MASK_NUMERIC))
        return kiln_infer_fail(ic, "output_datatype %s is not a numeric dtype",
                               kiln_dtype_name(dt));
    kiln_infer_set_out(ic, 0, dt, 1, &size);
    return KILN_OK;
}

enum kiln_status
kiln_shape_mel_weight_matrix(struct kiln_infer_ctx *ic)
{
    struct kiln_dim bins, len;
    enum kiln_dtype dt = KILN_DT_F32;
    enum kiln_status st = read_size(ic, 0, "num_mel_bins", 0, &bins);
    if (st == KILN_OK)
        st = read_size(ic, 1, "dft_length", 1, &len);
    if (st == KILN_OK && kiln_infer_need_in(ic, 2, "sample_rate"))
        st = kiln_infer_require(ic, 2, KILN_DT_MASK_INDEX);
    else if (st == KILN_OK)
        st = KILN_ERR_INVALID;
    for (int i = 3; i < 5 && st == KILN_OK; i++) {
        if (!kiln_infer_need_in(ic, i, i == 3 ? "lower_edge_hertz" : "upper_edge_hertz"))
            return KILN_ERR_INVALID;
        st = kiln_infer_require(ic, i, KILN_DT_MASK_FLOAT);
    }
    if (st == KILN_OK)
        st = dtype_attr(ic, "output_datatype", KILN_DT_F32, &dt);
    if (st != KILN_OK)
        return st;
    if (!(KILN_DT_MASK(dt) & KILN_DT_MASK_NUMERIC))
        return kiln_infer_fail(ic, "output_datatype %s is not a numeric dtype",
                               kiln_dtype_name(dt));
    /* one row per bin of the one-sided spectrum */
    struct kiln_dim out[2] = {
        kiln_dim_is_const(len) ? kiln_dim_const(len.n / 2 + 1) : kiln_dim_unknown(), bins};
    kiln_infer_set_out(ic, 0, dt, 2, out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Fused */

/* A fused node yields exactly what its body's outputs are (typed by infer.c first). */
enum kiln_status
kiln_shape_fused(struct kiln_infer_ctx *ic)
{
    const struct kiln_graph *body = ic->n->body;
    if (!body)
        return kiln_infer_fail(ic, "the fused node has no body");
    int n_out = kiln_infer_n_out(ic);
    if (body->n_outputs != n_out)
        return kiln_infer_fail(ic, "the node has %d outputs but its body has %d", n_out,
                               (int)body->n_outputs);
    for (int i = 0; i < n_out; i++) {
        const struct kiln_type *t = body_out(ic, body, "body", i);
        if (!t)
            return KILN_ERR_INVALID;
        kiln_infer_set_out_type(ic, i, t);
    }
    return KILN_OK;
}

/* ---------------------------------------------------------------- FLOP counts */

/*
 * Resize/Upsample as a separable filter: per output element and per resized
 * axis, one multiply-add per tap (2 taps for linear, 4 for cubic); nearest
 * copies and counts 0. -1 when a dim is not a constant.
 */
int64_t
kiln_flops_resize(const struct kiln_graph *g, const struct kiln_node *n)
{
    const struct kiln_type *x = kiln_node_in_type(g, n, 0), *y = kiln_node_out_type(g, n, 0);
    if (!x || !y || x->rank != y->rank)
        return -1;
    int64_t numel = kiln_type_numel(y);
    if (numel < 0 || kiln_type_numel(x) < 0)
        return -1;
    const char *mode = kiln_node_attr_string(n, "mode", "nearest");
    int64_t taps = strcmp(mode, "cubic") == 0 ? 4 : strcmp(mode, "nearest") == 0 ? 0 : 2;
    int64_t axes = 0, f;
    for (int i = 0; i < x->rank; i++)
        axes += x->dims[i].n != y->dims[i].n;
    if (!kiln_mul_i64(numel, 2 * taps * axes, &f))
        return -1;
    return f;
}

/* The sum of the body's nodes, as if they ran unfused; -1 if any is unknown. */
int64_t
kiln_flops_fused(const struct kiln_graph *g, const struct kiln_node *n)
{
    (void)g;
    const struct kiln_graph *body = n->body;
    if (!body)
        return -1;
    int64_t total = 0;
    for (int32_t i = 0; i < body->n_nodes; i++) {
        const struct kiln_node *b = body->nodes[i];
        if (b->dead)
            continue;
        int64_t f = kiln_op_info(b->op)->flops(body, b);
        if (f < 0 || !kiln_add_i64(total, f, &total))
            return -1;
    }
    return total;
}
