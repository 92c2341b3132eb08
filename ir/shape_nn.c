/*
 * shape_nn.c - type and shape inference for network layers: matmul, gemm,
 * einsum, convolutions, pooling, reductions, top-k, recurrent layers,
 * attention, detection and sampling ops; their FLOP counts.
 *
 * Contract (see shape.h): each kiln_shape_* function checks its node for the
 * ai.onnx opset in force (ic->opset), sets the type of every present output, and
 * fails through kiln_infer_fail (malformed node) or kiln_infer_unsupported (valid
 * ONNX kiln does not handle). Attribute and input values are hostile until
 * checked: list lengths, signs, zero strides, windows larger than their input
 * and overflowing products each give a diagnostic, never a crash.
 *
 * Symbolic dims: a dim that passes through unchanged keeps its symbol (batch N
 * through Conv); arithmetic on a symbol gives an unknown dim, except the cases
 * that provably return it (a stride-1 window with "same" padding).
 *
 * FLOP functions count a multiply-add as 2 and return -1 when a needed dim is
 * not a constant; each documents its model.
 */
#include "shape.h"

#include <string.h>

#define MASK(dt) KILN_DT_MASK(KILN_DT_##dt)
#define MASK_F8 (MASK(F8E4M3FN) | MASK(F8E4M3FNUZ) | MASK(F8E5M2) | MASK(F8E5M2FNUZ))
#define MASK_Q8 (MASK(I8) | MASK(U8))
/* MatMul/Gemm: floats and the 32/64-bit integers */
#define MASK_MATMUL (KILN_DT_MASK_FLOAT | MASK(I32) | MASK(I64) | MASK(U32) | MASK(U64))

/* ---------------------------------------------------------------- helpers */

/* Scratch dims for an output of rank n (a rank-0 request still gets a valid pointer). */
static struct kiln_dim *
new_dims(struct kiln_infer_ctx *ic, int n)
{
    return kiln_infer_dims(ic, n > 0 ? n : 1);
}

/* Fail unless t (input i) is unranked or has rank r. */
static enum kiln_status
want_rank(struct kiln_infer_ctx *ic, const struct kiln_type *t, int i, int r, const char *what)
{
    if (t && t->rank >= 0 && t->rank != r)
        return kiln_infer_fail(ic, "input %d (%s) must have rank %d, got %d", i, what, r, t->rank);
    return KILN_OK;
}

/* Dim d of t, or unknown when t is absent, unranked or too short. */
static struct kiln_dim
dim_of(const struct kiln_type *t, int d)
{
    if (!t || t->rank < 0 || d < 0 || d >= t->rank)
        return kiln_dim_unknown();
    return t->dims[d];
}

/* Merge *acc with d (which must be equal) or fail naming what disagrees. */
static enum kiln_status
unify(struct kiln_infer_ctx *ic, struct kiln_dim *acc, struct kiln_dim d, const char *what)
{
    struct kiln_dim m;
    if (!kiln_infer_merge(ic, *acc, d, &m))
        return kiln_infer_fail(ic, "%s: %lld vs %lld", what, (long long)acc->n, (long long)d.n);
    *acc = m;
    return KILN_OK;
}

/* A dim divided by a positive constant, exactly (kiln_dim_div_exact: 768 / 12 is
 * 64, 12*N / 4 is 3*N). False when a constant does not divide; a symbolic dim
 * that does not (N / 4: it may at run time) gives unknown. */
static bool
dim_div(struct kiln_dim d, int64_t k, struct kiln_dim *out)
{
    if (kiln_dim_div_exact(d, kiln_dim_const(k), out))
        return true;
    if (kiln_dim_is_const(d))
        return false;
    *out = kiln_dim_unknown();
    return true;
}

/* A known integer value used as a dim: a constant >= 0 or a symbol; else unknown. */
static struct kiln_dim
known_dim(struct kiln_dim v)
{
    return kiln_dim_is_const(v) || v.sym ? v : kiln_dim_unknown();
}

/* Product of dims [from, to) of t when all constant; -1 otherwise or on overflow. */
static int64_t
dims_product(const struct kiln_type *t, int from, int to)
{
    int64_t p = 1;
    if (!t || t->rank < to)
        return -1;
    for (int i = from; i < to; i++)
        if (!kiln_dim_is_const(t->dims[i]) || !kiln_mul_i64(p, t->dims[i].n, &p))
            return -1;
    return p;
}

/* Checked a * b * c ... for FLOP counts: -1 once any factor is negative or it overflows. */
static int64_t
flops_mul(int64_t acc, int64_t f)
{
    if (acc < 0 || f < 0 || !kiln_mul_i64(acc, f, &acc))
        return -1;
    return acc;
}

static int64_t
flops_add(int64_t a, int64_t b)
{
    if (a < 0 || b < 0 || !kiln_add_i64(a, b, &a))
        return -1;
    return a;
}

/* ---------------------------------------------------------------- matmul */

/*
 * numpy matmul of a and b into output 0 with dtype dt: 1-D operands gain and
 * then lose a unit dim, batch dims broadcast, inner dims must agree.
 */
static enum kiln_status
matmul_into(struct kiln_infer_ctx *ic, const struct kiln_type *a, int ai, const struct kiln_type *b,
            int bi, enum kiln_dtype dt)
{
    if (a->rank < 0 || b->rank < 0) {
        kiln_infer_set_out(ic, 0, dt, -1, NULL);
        return KILN_OK;
    }
    if (a->rank == 0 || b->rank == 0)
        return kiln_infer_fail(ic, "input %d is a scalar; MatMul needs rank >= 1",
                               a->rank == 0 ? ai : bi);
    struct kiln_dim ka = a->dims[a->rank - 1];
    struct kiln_dim kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    if (kiln_dim_is_const(ka) && kiln_dim_is_const(kb) && ka.n != kb.n)
        return kiln_infer_fail(ic, "inner dims differ: input %d has K=%lld, input %d has K=%lld",
                               ai, (long long)ka.n, bi, (long long)kb.n);
    /* broadcast the batch dims (everything but the last two) */
    struct kiln_type ba = {a->dtype, a->rank > 2 ? a->rank - 2 : 0, a->dims};
    struct kiln_type bb = {b->dtype, b->rank > 2 ? b->rank - 2 : 0, b->dims};
    struct kiln_type batch;
    enum kiln_status s = kiln_infer_broadcast(ic, &ba, &bb, &batch);
    if (s != KILN_OK)
        return s;
    int rank = batch.rank + (a->rank >= 2) + (b->rank >= 2);
    if (rank > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "result rank %d exceeds kiln's %d", rank, KILN_MAX_RANK);
    struct kiln_dim *d = new_dims(ic, rank);
    if (!d)
        return KILN_ERR_NOMEM;
    int r = 0;
    for (int i = 0; i < batch.rank; i++)
        d[r++] = batch.dims[i];
    if (a->rank >= 2)
        d[r++] = a->dims[a->rank - 2];
    if (b->rank >= 2)
        d[r++] = b->dims[b->rank - 1];
    kiln_infer_set_out(ic, 0, dt, rank, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_matmul(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *a = kiln_infer_need_in(ic, 0, "A"), *b = kiln_infer_need_in(ic, 1, "B");
    if (!a || !b)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, MASK_MATMUL);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s != KILN_OK)
        return s;
    return matmul_into(ic, a, 0, b, 1, a->dtype);
}

/* Zero point input zi, when present, has the dtype of its data input di. */
static enum kiln_status
check_zero_point(struct kiln_infer_ctx *ic, int zi, int di)
{
    const struct kiln_type *z = kiln_infer_in(ic, zi);
    if (!z)
        return KILN_OK;
    if (z->rank > 1)
        return kiln_infer_fail(ic, "input %d (zero point) must be a scalar or 1-D, got rank %d", zi,
                               z->rank);
    return kiln_infer_same_dtype(ic, zi, di);
}

enum kiln_status
kiln_shape_matmul_integer(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *a = kiln_infer_need_in(ic, 0, "A"), *b = kiln_infer_need_in(ic, 1, "B");
    if (!a || !b)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, MASK_Q8);
    if (s == KILN_OK)
        s = kiln_infer_require(ic, 1, MASK_Q8);
    if (s == KILN_OK)
        s = check_zero_point(ic, 2, 0);
    if (s == KILN_OK)
        s = check_zero_point(ic, 3, 1);
    if (s != KILN_OK)
        return s;
    return matmul_into(ic, a, 0, b, 1, KILN_DT_I32);
}

enum kiln_status
kiln_shape_qlinear_matmul(struct kiln_infer_ctx *ic)
{
    static const char *const names[] = {"a",       "a_scale",      "a_zero_point", "b",
                                        "b_scale", "b_zero_point", "y_scale",      "y_zero_point"};
    for (int i = 0; i < 8; i++)
        if (!kiln_infer_need_in(ic, i, names[i]))
            return KILN_ERR_INVALID;
    enum kiln_status s;
    static const int quantized[] = {0, 3, 7}; /* a, b, y_zero_point */
    for (int i = 0; i < 3; i++)
        if ((s = kiln_infer_require(ic, quantized[i], MASK_Q8 | MASK_F8)) != KILN_OK)
            return s;
    static const int scales[] = {1, 4, 6};
    for (int i = 0; i < 3; i++)
        if ((s = kiln_infer_require(ic, scales[i], KILN_DT_MASK_FLOAT)) != KILN_OK)
            return s;
    if ((s = kiln_infer_same_dtype(ic, 2, 0)) != KILN_OK ||
        (s = kiln_infer_same_dtype(ic, 5, 3)) != KILN_OK)
        return s;
    return matmul_into(ic, kiln_infer_in(ic, 0), 0, kiln_infer_in(ic, 3), 3,
                       kiln_infer_in(ic, 7)->dtype);
}

enum kiln_status
kiln_shape_gemm(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *a = kiln_infer_need_in(ic, 0, "A"), *b = kiln_infer_need_in(ic, 1, "B");
    if (!a || !b)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, MASK_MATMUL);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s != KILN_OK)
        return s;
    const struct kiln_type *c = kiln_infer_in(ic, 2);
    if (!c && ic->opset < 11)
        return kiln_infer_fail(ic, "input 2 (C) is required before opset 11");
    if (c && (s = kiln_infer_same_dtype(ic, 0, 2)) != KILN_OK)
        return s;
    if ((s = want_rank(ic, a, 0, 2, "A")) != KILN_OK ||
        (s = want_rank(ic, b, 1, 2, "B")) != KILN_OK)
        return s;
    bool ta = kiln_node_attr_int(ic->n, "transA", 0) != 0;
    bool tb = kiln_node_attr_int(ic->n, "transB", 0) != 0;
    struct kiln_dim m = dim_of(a, ta ? 1 : 0), ka = dim_of(a, ta ? 0 : 1);
    struct kiln_dim kb = dim_of(b, tb ? 1 : 0), nn = dim_of(b, tb ? 0 : 1);
    if (kiln_dim_is_const(ka) && kiln_dim_is_const(kb) && ka.n != kb.n)
        return kiln_infer_fail(ic, "inner dims differ: A gives K=%lld, B gives K=%lld%s",
                               (long long)ka.n, (long long)kb.n,
                               ta || tb ? " (after transA/transB)" : "");
    struct kiln_dim d[2] = {m, nn};
    /* C broadcasts one way to (M, N): a scalar, [N], [1, N], [M, 1], [M, N] */
    if (c && c->rank >= 0) {
        if (c->rank > 2)
            return kiln_infer_fail(ic, "input 2 (C) has rank %d; it must broadcast to (M, N)",
                                   c->rank);
        for (int i = 0; i < c->rank; i++) {
            struct kiln_dim dc = c->dims[i], dy = d[2 - c->rank + i];
            if (kiln_dim_is_const(dc) && dc.n != 1 && kiln_dim_is_const(dy) && dy.n != dc.n)
                return kiln_infer_fail(ic, "input 2 (C) dim %d is %lld; it must be 1 or %lld", i,
                                       (long long)dc.n, (long long)dy.n);
            /* a C dim that is not 1 pins M or N where A and B leave it open */
            if (kiln_dim_is_const(dc) && dc.n != 1 && !kiln_dim_is_const(dy))
                d[2 - c->rank + i] = dc;
        }
    }
    kiln_infer_set_out(ic, 0, a->dtype, 2, d);
    return KILN_OK;
}

/* ---------------------------------------------------------------- einsum */

#define EINSUM_LABELS 52 /* a-z, A-Z */

static char
einsum_char(int l)
{
    return (char)(l < 26 ? 'a' + l : 'A' + (l - 26));
}

static int
einsum_label(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + (c - 'A');
    return -1;
}

/* One parsed operand term: its labels in order and where "..." sits (-1: none). */
struct einsum_term {
    int labels[KILN_MAX_RANK];
    int n_labels;
    int ellipsis;
};

/* Parse one term from s[0..len) (spaces already removed). */
static enum kiln_status
einsum_parse_term(struct kiln_infer_ctx *ic, const char *s, size_t len, struct einsum_term *t)
{
    t->n_labels = 0;
    t->ellipsis = -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (t->ellipsis >= 0 || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return kiln_infer_fail(ic, "equation: malformed or repeated '...' in a term");
            t->ellipsis = t->n_labels;
            i += 2;
            continue;
        }
        int l = einsum_label(s[i]);
        if (l < 0)
            return kiln_infer_fail(ic, "equation: unexpected character '%c'", s[i]);
        if (t->n_labels == KILN_MAX_RANK)
            return kiln_infer_fail(ic, "equation: a term has more than %d labels", KILN_MAX_RANK);
        t->labels[t->n_labels++] = l;
    }
    return KILN_OK;
}

enum kiln_status
kiln_shape_einsum(struct kiln_infer_ctx *ic)
{
    const char *eq = kiln_node_attr_string(ic->n, "equation", NULL);
    if (!eq)
        return kiln_infer_fail(ic, "attribute 'equation' is required");
    int n_in = kiln_infer_n_in(ic);
    enum kiln_status s;
    for (int i = 0; i < n_in; i++) {
        if (!kiln_infer_need_in(ic, i, "Inputs"))
            return KILN_ERR_INVALID;
        if ((s = kiln_infer_require(ic, i, KILN_DT_MASK_NUMERIC)) != KILN_OK)
            return s;
        if (i > 0 && (s = kiln_infer_same_dtype(ic, 0, i)) != KILN_OK)
            return s;
    }
    /* drop whitespace, which the equation may contain anywhere */
    size_t eq_len = strlen(eq);
    char *buf = kiln_arena_alloc(ic->g->arena, eq_len + 1);
    if (!buf)
        return KILN_ERR_NOMEM;
    size_t len = 0;
    for (size_t i = 0; i < eq_len; i++)
        if (eq[i] != ' ' && eq[i] != '\t' && eq[i] != '\n')
            buf[len++] = eq[i];
    buf[len] = 0;
    const char *arrow = strstr(buf, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - buf) : len;

    /* per label: its dim (merged over every occurrence) and occurrence count */
    struct kiln_dim label_dim[EINSUM_LABELS];
    int label_count[EINSUM_LABELS] = {0};
    for (int l = 0; l < EINSUM_LABELS; l++)
        label_dim[l] = kiln_dim_const(1); /* a size-1 start merges with anything below */
    bool label_seen[EINSUM_LABELS] = {false};
    struct kiln_type ell = {KILN_DT_INVALID, 0, NULL}; /* broadcast of the "..." dims */
    bool ell_rank_known = true, any_ellipsis = false;

    int term = 0;
    size_t start = 0;
    for (size_t i = 0; i <= lhs_len; i++) {
        if (i < lhs_len && buf[i] != ',')
            continue;
        if (term >= n_in)
            return kiln_infer_fail(ic, "equation has more terms than the %d inputs", n_in);
        struct einsum_term t;
        if ((s = einsum_parse_term(ic, buf + start, i - start, &t)) != KILN_OK)
            return s;
        const struct kiln_type *x = kiln_infer_in(ic, term);
        int ell_rank = -1;
        if (x->rank >= 0) {
            ell_rank = x->rank - t.n_labels;
            if (t.ellipsis < 0 ? ell_rank != 0 : ell_rank < 0)
                return kiln_infer_fail(ic,
                                       "term %d of the equation has %d labels%s but input %d "
                                       "has rank %d",
                                       term, t.n_labels, t.ellipsis >= 0 ? " and '...'" : "", term,
                                       x->rank);
        }
        for (int k = 0; k < t.n_labels; k++) {
            int l = t.labels[k];
            int pos = k < t.ellipsis || t.ellipsis < 0 ? k : k + ell_rank;
            struct kiln_dim d = x->rank >= 0 ? x->dims[pos] : kiln_dim_unknown();
            label_count[l]++;
            if (!label_seen[l]) {
                label_dim[l] = d;
                label_seen[l] = true;
            } else if (kiln_dim_is_const(d) && d.n == 1) {
                /* a 1 broadcasts against the label's other occurrences */
            } else if (kiln_dim_is_const(label_dim[l]) && label_dim[l].n == 1) {
                label_dim[l] = d;
            } else if (!kiln_infer_merge(ic, label_dim[l], d, &label_dim[l])) {
                return kiln_infer_fail(ic,
                                       "label '%c' has size %lld in one place and %lld in "
                                       "input %d",
                                       einsum_char(l), (long long)label_dim[l].n, (long long)d.n,
                                       term);
            }
        }
        if (t.ellipsis >= 0) {
            any_ellipsis = true;
            if (ell_rank < 0) {
                ell_rank_known = false;
            } else {
                struct kiln_type part = {x->dtype, ell_rank, x->dims + t.ellipsis}, next;
                if ((s = kiln_infer_broadcast(ic, &ell, &part, &next)) != KILN_OK)
                    return s;
                ell = next;
            }
        }
        term++;
        start = i + 1;
    }
    if (term != n_in)
        return kiln_infer_fail(ic, "equation has %d terms but the node has %d inputs", term, n_in);

    struct einsum_term out;
    if (arrow) {
        if ((s = einsum_parse_term(ic, arrow + 2, len - lhs_len - 2, &out)) != KILN_OK)
            return s;
        bool used[EINSUM_LABELS] = {false};
        for (int k = 0; k < out.n_labels; k++) {
            int l = out.labels[k];
            if (!label_seen[l] || used[l])
                return kiln_infer_fail(ic, "output label '%c' is %s", einsum_char(l),
                                       used[l] ? "repeated" : "not in any input");
            used[l] = true;
        }
        if (out.ellipsis >= 0 && !any_ellipsis)
            out.ellipsis = -1; /* "..." over inputs without one stands for no dims */
        else if (out.ellipsis < 0 && any_ellipsis && ell_rank_known && ell.rank > 0)
            return kiln_infer_fail(ic, "the inputs' '...' dims must appear in the output");
    } else {
        /* implicit output: "..." first, then labels seen exactly once, sorted */
        out.n_labels = 0;
        out.ellipsis = any_ellipsis ? 0 : -1;
        for (int l = 0; l < EINSUM_LABELS; l++)
            if (label_count[l] == 1)
                out.labels[out.n_labels++] = l;
    }
    if (out.ellipsis >= 0 && !ell_rank_known) {
        kiln_infer_set_out(ic, 0, kiln_infer_in(ic, 0)->dtype, -1, NULL);
        return KILN_OK;
    }
    int ell_rank = out.ellipsis >= 0 ? ell.rank : 0;
    int rank = out.n_labels + ell_rank;
    if (rank > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "result rank %d exceeds kiln's %d", rank, KILN_MAX_RANK);
    struct kiln_dim *d = new_dims(ic, rank);
    if (!d)
        return KILN_ERR_NOMEM;
    int r = 0;
    for (int k = 0; k <= out.n_labels; k++) {
        if (k == out.ellipsis)
            for (int e = 0; e < ell_rank; e++)
                d[r++] = ell.dims[e];
        if (k < out.n_labels)
            d[r++] = label_dim[out.labels[k]];
    }
    kiln_infer_set_out(ic, 0, kiln_infer_in(ic, 0)->dtype, rank, d);
    return KILN_OK;
}

/* ---------------------------------------------------------------- windows */

enum pad_mode { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

/* Spatial window attributes of a convolution or pooling node, validated. */
struct window {
    int n; /* spatial rank */
    int64_t kernel[KILN_MAX_RANK];
    bool kernel_known[KILN_MAX_RANK]; /* false: W's dim is symbolic/unknown */
    int64_t stride[KILN_MAX_RANK];
    int64_t dilation[KILN_MAX_RANK];
    int64_t pad_begin[KILN_MAX_RANK], pad_end[KILN_MAX_RANK];
    enum pad_mode mode;
    bool ceil_mode;
};

/* Read list attribute `name` of n values (2n when twice) into out, each >= min;
 * def fills it when absent. */
static enum kiln_status
read_ints(struct kiln_infer_ctx *ic, const char *name, int n, int64_t min, int64_t def,
          int64_t *out)
{
    int64_t len;
    const int64_t *v = kiln_node_attr_ints(ic->n, name, &len);
    if (!kiln_node_attr(ic->n, name)) {
        for (int i = 0; i < n; i++)
            out[i] = def;
        return KILN_OK;
    }
    if (len != n)
        return kiln_infer_fail(ic, "%s has %lld values, expected %d (%sspatial rank of input 0)",
                               name, (long long)len, n,
                               strcmp(name, "pads") == 0 ? "twice the " : "");
    for (int i = 0; i < n; i++) {
        if (v[i] < min)
            return kiln_infer_fail(ic, "%s[%d] is %lld; it must be >= %lld", name, i,
                                   (long long)v[i], (long long)min);
        out[i] = v[i];
    }
    return KILN_OK;
}

/*
 * Read strides, dilations, pads, auto_pad and (if has_ceil) ceil_mode for n
 * spatial axes. The kernel is filled by the caller.
 */
static enum kiln_status
read_window(struct kiln_infer_ctx *ic, int n, bool has_auto_pad, bool has_ceil, struct window *w)
{
    enum kiln_status s;
    int64_t pads[2 * KILN_MAX_RANK];
    w->n = n;
    if ((s = read_ints(ic, "strides", n, 1, 1, w->stride)) != KILN_OK ||
        (s = read_ints(ic, "dilations", n, 1, 1, w->dilation)) != KILN_OK ||
        (s = read_ints(ic, "pads", 2 * n, 0, 0, pads)) != KILN_OK)
        return s;
    for (int i = 0; i < n; i++) {
        w->pad_begin[i] = pads[i];
        w->pad_end[i] = pads[n + i];
    }
    w->mode = PAD_NOTSET;
    const char *ap = has_auto_pad ? kiln_node_attr_string(ic->n, "auto_pad", "NOTSET") : "NOTSET";
    if (strcmp(ap, "SAME_UPPER") == 0)
        w->mode = PAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        w->mode = PAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        w->mode = PAD_VALID;
    else if (strcmp(ap, "NOTSET") != 0)
        return kiln_infer_fail(ic,
                               "auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, "
                               "got '%s'",
                               ap);
    if (w->mode != PAD_NOTSET) {
        /* pads and auto_pad exclude each other; all-zero pads say nothing, and
         * exporters do write them */
        for (int i = 0; i < 2 * n; i++)
            if (pads[i] != 0)
                return kiln_infer_fail(ic, "pads cannot be used together with auto_pad=%s", ap);
    }
    int64_t cm = has_ceil ? kiln_node_attr_int(ic->n, "ceil_mode", 0) : 0;
    if (cm != 0 && cm != 1)
        return kiln_infer_fail(ic, "ceil_mode must be 0 or 1, got %lld", (long long)cm);
    w->ceil_mode = cm == 1;
    return KILN_OK;
}

/* (kernel - 1) * dilation + 1 for axis i, or false on overflow. */
static bool
effective_kernel(const struct window *w, int i, int64_t *out)
{
    int64_t e;
    if (!kiln_mul_i64(w->kernel[i] - 1, w->dilation[i], &e) || !kiln_add_i64(e, 1, &e))
        return false;
    *out = e;
    return true;
}

/* ceil(a / b) for a >= 0, b > 0, without overflow. */
static int64_t
ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

/* Output size of spatial axis i of a convolution or pooling window over input dim in. */
static enum kiln_status
window_out(struct kiln_infer_ctx *ic, const struct window *w, int i, struct kiln_dim in,
           struct kiln_dim *out)
{
    int64_t s = w->stride[i];
    if (w->mode == PAD_SAME_UPPER || w->mode == PAD_SAME_LOWER) {
        /* ceil(in / stride), whatever the kernel */
        if (kiln_dim_is_const(in))
            *out = kiln_dim_const(ceil_div(in.n, s));
        else
            *out = kiln_dim_ceildiv(in, s);
        return KILN_OK;
    }
    if (!w->kernel_known[i]) {
        *out = kiln_dim_unknown();
        return KILN_OK;
    }
    int64_t ek, pads;
    if (!effective_kernel(w, i, &ek))
        return kiln_infer_fail(ic, "kernel_shape[%d] (%lld) times dilations[%d] (%lld) overflows",
                               i, (long long)w->kernel[i], i, (long long)w->dilation[i]);
    if (!kiln_add_i64(w->pad_begin[i], w->pad_end[i], &pads))
        return kiln_infer_fail(ic, "pads of spatial axis %d overflow", i);
    if (!kiln_dim_is_const(in)) {
        /* floor((in + pads - ek) / s) + 1, or in ceil mode ceil(...) + 1 less a
         * last window that would start in the end padding: at most
         * ceil((in + pad_begin) / s) windows start before the input's end. (A
         * size that comes out below 1 at run time is refused there.) */
        int64_t pe;
        if (__builtin_sub_overflow(pads, ek, &pe))
            return kiln_infer_fail(ic, "pads of spatial axis %d overflow", i);
        struct kiln_dim span = kiln_dim_add_int(in, pe);
        kiln_infer_assume_ge(ic, kiln_dim_add_int(in, pads), kiln_dim_const(ek));
        if (!w->ceil_mode) {
            *out = kiln_dim_add_int(kiln_dim_floordiv(span, s), 1);
        } else {
            *out = kiln_dim_min(kiln_dim_add_int(kiln_dim_ceildiv(span, s), 1),
                                kiln_dim_ceildiv(kiln_dim_add_int(in, w->pad_begin[i]), s));
        }
        return KILN_OK;
    }
    int64_t total;
    if (!kiln_add_i64(in.n, pads, &total))
        return kiln_infer_fail(ic, "spatial axis %d: input %lld plus pads %lld overflows", i,
                               (long long)in.n, (long long)pads);
    if (total < ek)
        return kiln_infer_fail(ic,
                               "spatial axis %d: input size %lld plus pads %lld is smaller "
                               "than the (dilated) kernel %lld",
                               i, (long long)in.n, (long long)pads, (long long)ek);
    int64_t span = total - ek;
    int64_t o = (w->ceil_mode ? ceil_div(span, s) : span / s) + 1;
    /* in ceil mode, a last window that would start inside the end padding is dropped
     * (a start past INT64_MAX is past the padding too) */
    int64_t last;
    if (w->ceil_mode && (!kiln_mul_i64(o - 1, s, &last) || last >= in.n + w->pad_begin[i]))
        o--;
    *out = kiln_dim_const(o);
    return KILN_OK;
}

/*
 * Fill w's kernel from the kernel_shape attribute and/or the weight's spatial
 * dims (wt may be NULL or unranked). When both exist they must agree.
 */
static enum kiln_status
read_kernel(struct kiln_infer_ctx *ic, struct window *w, const struct kiln_type *wt, bool required)
{
    int n = w->n;
    bool from_w = wt && wt->rank == n + 2;
    if (kiln_node_attr(ic->n, "kernel_shape")) {
        enum kiln_status s = read_ints(ic, "kernel_shape", n, 1, 1, w->kernel);
        if (s != KILN_OK)
            return s;
        for (int i = 0; i < n; i++) {
            w->kernel_known[i] = true;
            struct kiln_dim d = from_w ? wt->dims[2 + i] : kiln_dim_unknown();
            if (kiln_dim_is_const(d) && d.n != w->kernel[i])
                return kiln_infer_fail(ic, "kernel_shape[%d] is %lld but W's dim %d is %lld", i,
                                       (long long)w->kernel[i], 2 + i, (long long)d.n);
        }
        return KILN_OK;
    }
    if (required)
        return kiln_infer_fail(ic, "attribute 'kernel_shape' is required");
    for (int i = 0; i < n; i++) {
        struct kiln_dim d = from_w ? wt->dims[2 + i] : kiln_dim_unknown();
        w->kernel_known[i] = kiln_dim_is_const(d);
        w->kernel[i] = w->kernel_known[i] ? d.n : 1;
        if (w->kernel_known[i] && d.n < 1)
            return kiln_infer_fail(ic, "W's spatial dim %d is %lld; kernels must be >= 1", i,
                                   (long long)d.n);
    }
    return KILN_OK;
}

/* Check that x is [N, C, D1..Dn] with n >= 1; false with a diagnostic otherwise. */
static enum kiln_status
check_image(struct kiln_infer_ctx *ic, const struct kiln_type *x, int xi)
{
    if (x->rank >= 0 && x->rank < 3)
        return kiln_infer_fail(ic, "input %d must have rank >= 3 (N x C x D1 ...), got %d", xi,
                               x->rank);
    if (x->rank > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "input %d has rank %d, more than kiln's %d", xi, x->rank,
                               KILN_MAX_RANK);
    return KILN_OK;
}

/* ---------------------------------------------------------------- convolutions */

/*
 * Shared by Conv, ConvInteger, QLinearConv and DeformConv: X [N, C, D...],
 * W [M, C/group, k...], optional bias [M]; output [N, M, out...] of dtype dt.
 */
static enum kiln_status
conv_into(struct kiln_infer_ctx *ic, int xi, int wi, int bi, enum kiln_dtype dt, bool has_auto_pad,
          struct window *w)
{
    const struct kiln_type *x = kiln_infer_in(ic, xi), *wt = kiln_infer_in(ic, wi);
    enum kiln_status s;
    if ((s = check_image(ic, x, xi)) != KILN_OK || (s = check_image(ic, wt, wi)) != KILN_OK)
        return s;
    if (x->rank >= 0 && wt->rank >= 0 && x->rank != wt->rank)
        return kiln_infer_fail(ic, "W (input %d) has rank %d but X has rank %d", wi, wt->rank,
                               x->rank);
    int rank = x->rank >= 0 ? x->rank : wt->rank;
    int64_t group = kiln_node_attr_int(ic->n, "group", 1);
    if (group < 1)
        return kiln_infer_fail(ic, "group must be >= 1, got %lld", (long long)group);
    struct kiln_dim c = dim_of(x, 1), cw = dim_of(wt, 1), m = dim_of(wt, 0);
    if (kiln_dim_is_const(c) && kiln_dim_is_const(cw)) {
        int64_t want;
        if (!kiln_mul_i64(cw.n, group, &want) || want != c.n)
            return kiln_infer_fail(ic, "X has %lld channels but W expects %lld x group %lld",
                                   (long long)c.n, (long long)cw.n, (long long)group);
    }
    if (kiln_dim_is_const(m) && m.n % group != 0)
        return kiln_infer_fail(ic, "output channels (%lld) not divisible by group (%lld)",
                               (long long)m.n, (long long)group);
    const struct kiln_type *b = bi >= 0 ? kiln_infer_in(ic, bi) : NULL;
    if (b) {
        if ((s = want_rank(ic, b, bi, 1, "B")) != KILN_OK)
            return s;
        if (b->rank == 1 &&
            (s = unify(ic, &m, b->dims[0], "bias length vs output channels")) != KILN_OK)
            return s;
    }
    if (rank < 0) {
        kiln_infer_set_out(ic, 0, dt, -1, NULL);
        return KILN_OK;
    }
    if ((s = read_window(ic, rank - 2, has_auto_pad, false, w)) != KILN_OK ||
        (s = read_kernel(ic, w, wt, false)) != KILN_OK)
        return s;
    struct kiln_dim *d = new_dims(ic, rank);
    if (!d)
        return KILN_ERR_NOMEM;
    d[0] = dim_of(x, 0);
    d[1] = m;
    for (int i = 0; i < w->n; i++)
        if ((s = window_out(ic, w, i, dim_of(x, 2 + i), &d[2 + i])) != KILN_OK)
            return s;
    kiln_infer_set_out(ic, 0, dt, rank, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_conv(struct kiln_infer_ctx *ic)
{
    if (!kiln_infer_need_in(ic, 0, "X") || !kiln_infer_need_in(ic, 1, "W"))
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s == KILN_OK && kiln_infer_in(ic, 2))
        s = kiln_infer_same_dtype(ic, 0, 2);
    if (s != KILN_OK)
        return s;
    struct window w;
    return conv_into(ic, 0, 1, 2, kiln_infer_in(ic, 0)->dtype, true, &w);
}

enum kiln_status
kiln_shape_conv_integer(struct kiln_infer_ctx *ic)
{
    if (!kiln_infer_need_in(ic, 0, "x") || !kiln_infer_need_in(ic, 1, "w"))
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, MASK_Q8);
    if (s == KILN_OK)
        s = kiln_infer_require(ic, 1, MASK_Q8);
    if (s == KILN_OK)
        s = check_zero_point(ic, 2, 0);
    if (s == KILN_OK)
        s = check_zero_point(ic, 3, 1);
    if (s != KILN_OK)
        return s;
    struct window w;
    return conv_into(ic, 0, 1, -1, KILN_DT_I32, true, &w);
}

enum kiln_status
kiln_shape_qlinear_conv(struct kiln_infer_ctx *ic)
{
    static const char *const names[] = {"x",       "x_scale",      "x_zero_point", "w",
                                        "w_scale", "w_zero_point", "y_scale",      "y_zero_point"};
    for (int i = 0; i < 8; i++)
        if (!kiln_infer_need_in(ic, i, names[i]))
            return KILN_ERR_INVALID;
    enum kiln_status s;
    if ((s = kiln_infer_require(ic, 0, MASK_Q8)) != KILN_OK ||
        (s = kiln_infer_require(ic, 3, MASK_Q8)) != KILN_OK ||
        (s = kiln_infer_require(ic, 7, MASK_Q8)) != KILN_OK ||
        (s = kiln_infer_same_dtype(ic, 2, 0)) != KILN_OK ||
        (s = kiln_infer_same_dtype(ic, 5, 3)) != KILN_OK)
        return s;
    static const int scales[] = {1, 4, 6};
    for (int i = 0; i < 3; i++)
        if ((s = kiln_infer_require(ic, scales[i], MASK(F32))) != KILN_OK)
            return s;
    if (kiln_infer_in(ic, 8) && (s = kiln_infer_require(ic, 8, MASK(I32))) != KILN_OK)
        return s;
    struct window w;
    return conv_into(ic, 0, 3, 8, kiln_infer_in(ic, 7)->dtype, true, &w);
}

enum kiln_status
kiln_shape_deform_conv(struct kiln_infer_ctx *ic)
{
    if (!kiln_infer_need_in(ic, 0, "X") || !kiln_infer_need_in(ic, 1, "W") ||
        !kiln_infer_need_in(ic, 2, "offset"))
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    for (int i = 1; i < 5 && s == KILN_OK; i++)
        if (kiln_infer_in(ic, i))
            s = kiln_infer_same_dtype(ic, 0, i);
    if (s != KILN_OK)
        return s;
    int64_t og = kiln_node_attr_int(ic->n, "offset_group", 1);
    if (og < 1)
        return kiln_infer_fail(ic, "offset_group must be >= 1, got %lld", (long long)og);
    struct kiln_dim c = dim_of(kiln_infer_in(ic, 0), 1);
    if (kiln_dim_is_const(c) && c.n % og != 0)
        return kiln_infer_fail(ic, "channels (%lld) not divisible by offset_group (%lld)",
                               (long long)c.n, (long long)og);
    struct window w;
    if ((s = conv_into(ic, 0, 1, 3, kiln_infer_in(ic, 0)->dtype, false, &w)) != KILN_OK)
        return s;
    /* offset is [N, offset_group * 2 * prod(kernel), out...] and mask the same with
     * one value per kernel tap instead of 2: their dims must match the output */
    const struct kiln_type *y = kiln_node_out_type(ic->g, ic->n, 0);
    if (!y || y->rank < 0)
        return KILN_OK;
    struct kiln_dim *d = new_dims(ic, y->rank);
    if (!d)
        return KILN_ERR_NOMEM;
    memcpy(d, y->dims, (size_t)y->rank * sizeof *d);
    int64_t taps = og;
    for (int i = 0; i < w.n; i++)
        taps = w.kernel_known[i] ? flops_mul(taps, w.kernel[i]) : -1;
    for (int k = 2; k <= 4; k += 2) {
        const struct kiln_type *o = kiln_infer_in(ic, k);
        const char *what = k == 2 ? "offset" : "mask";
        if (!o || o->rank < 0)
            continue;
        if (o->rank != y->rank)
            return kiln_infer_fail(ic, "input %d (%s) has rank %d, expected %d", k, what, o->rank,
                                   y->rank);
        int64_t per = k == 2 ? flops_mul(taps, 2) : taps;
        if (per >= 0 && kiln_dim_is_const(o->dims[1]) && o->dims[1].n != per)
            return kiln_infer_fail(ic, "input %d (%s) has %lld channels, expected %lld", k, what,
                                   (long long)o->dims[1].n, (long long)per);
        if ((s = unify(ic, &d[0], o->dims[0], "batch of offset/mask vs X")) != KILN_OK)
            return s;
        for (int i = 2; i < y->rank; i++)
            if ((s = unify(ic, &d[i], o->dims[i], "offset/mask spatial dim vs output")) != KILN_OK)
                return s;
    }
    kiln_infer_set_out(ic, 0, y->dtype, y->rank, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_conv_transpose(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X"),
                           *wt = kiln_infer_need_in(ic, 1, "W");
    if (!x || !wt)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s == KILN_OK && kiln_infer_in(ic, 2))
        s = kiln_infer_same_dtype(ic, 0, 2);
    if (s == KILN_OK)
        s = check_image(ic, x, 0);
    if (s == KILN_OK)
        s = check_image(ic, wt, 1);
    if (s != KILN_OK)
        return s;
    if (x->rank >= 0 && wt->rank >= 0 && x->rank != wt->rank)
        return kiln_infer_fail(ic, "W has rank %d but X has rank %d", wt->rank, x->rank);
    int rank = x->rank >= 0 ? x->rank : wt->rank;
    int64_t group = kiln_node_attr_int(ic->n, "group", 1);
    if (group < 1)
        return kiln_infer_fail(ic, "group must be >= 1, got %lld", (long long)group);
    /* W is [C, M/group, k...] */
    struct kiln_dim c = dim_of(x, 1);
    if ((s = unify(ic, &c, dim_of(wt, 0), "X channels vs W dim 0")) != KILN_OK)
        return s;
    if (kiln_dim_is_const(c) && c.n % group != 0)
        return kiln_infer_fail(ic, "input channels (%lld) not divisible by group (%lld)",
                               (long long)c.n, (long long)group);
    struct kiln_dim m = dim_of(wt, 1);
    if (kiln_dim_is_const(m)) {
        int64_t mm;
        if (!kiln_mul_i64(m.n, group, &mm))
            return kiln_infer_fail(ic, "output channels overflow");
        m = kiln_dim_const(mm);
    } else {
        m = kiln_dim_mul(m, kiln_dim_const(group)); /* exact: M*2 is 2*M */
    }
    const struct kiln_type *b = kiln_infer_in(ic, 2);
    if (b && (s = want_rank(ic, b, 2, 1, "B")) != KILN_OK)
        return s;
    if (b && b->rank == 1 &&
        (s = unify(ic, &m, b->dims[0], "bias length vs output channels")) != KILN_OK)
        return s;
    if (rank < 0) {
        kiln_infer_set_out(ic, 0, x->dtype, -1, NULL);
        return KILN_OK;
    }
    struct window w;
    int n = rank - 2;
    int64_t outpad[KILN_MAX_RANK], oshape[KILN_MAX_RANK + 2];
    if ((s = read_window(ic, n, true, false, &w)) != KILN_OK ||
        (s = read_kernel(ic, &w, wt, false)) != KILN_OK ||
        (s = read_ints(ic, "output_padding", n, 0, 0, outpad)) != KILN_OK)
        return s;
    struct kiln_dim *d = new_dims(ic, rank);
    if (!d)
        return KILN_ERR_NOMEM;
    d[0] = dim_of(x, 0);
    d[1] = m;
    int64_t os_len = 0;
    const int64_t *os = kiln_node_attr_ints(ic->n, "output_shape", &os_len);
    if (kiln_node_attr(ic->n, "output_shape")) {
        /* spatial dims only, per the spec; some exporters also write N and C */
        if (os_len != n && os_len != n + 2)
            return kiln_infer_fail(ic,
                                   "output_shape has %lld values, expected %d (spatial rank "
                                   "of input 0)",
                                   (long long)os_len, n);
        for (int i = 0; i < n; i++) {
            oshape[i] = os[os_len - n + i];
            if (oshape[i] < 1)
                return kiln_infer_fail(ic, "output_shape[%d] is %lld; it must be >= 1",
                                       (int)(os_len - n + i), (long long)oshape[i]);
            d[2 + i] = kiln_dim_const(oshape[i]);
        }
        kiln_infer_set_out(ic, 0, x->dtype, rank, d);
        return KILN_OK;
    }
    for (int i = 0; i < n; i++) {
        struct kiln_dim in = dim_of(x, 2 + i);
        int64_t st = w.stride[i];
        if (w.mode == PAD_SAME_UPPER || w.mode == PAD_SAME_LOWER) {
            /* the output is the input times the stride */
            int64_t o;
            if (kiln_dim_is_const(in)) {
                if (!kiln_mul_i64(in.n, st, &o))
                    return kiln_infer_fail(ic, "spatial axis %d: output size overflows", i);
                d[2 + i] = kiln_dim_const(o);
            } else {
                d[2 + i] = kiln_dim_mul(in, kiln_dim_const(st)); /* H*2 is 2*H */
            }
            continue;
        }
        if (!w.kernel_known[i]) {
            d[2 + i] = kiln_dim_unknown();
            continue;
        }
        /* stride * (in - 1) + output_padding + effective kernel - pads */
        int64_t ek, grow, pads;
        if (!effective_kernel(&w, i, &ek) || !kiln_add_i64(ek, outpad[i], &grow) ||
            !kiln_add_i64(w.pad_begin[i], w.pad_end[i], &pads))
            return kiln_infer_fail(ic,
                                   "spatial axis %d: kernel, dilation, output_padding or "
                                   "pads overflow",
                                   i);
        if (!kiln_dim_is_const(in)) {
            /* st * (in - 1) + grow - pads */
            int64_t gp;
            if (__builtin_sub_overflow(grow, pads, &gp))
                return kiln_infer_fail(ic, "spatial axis %d: output size overflows", i);
            d[2 + i] =
                kiln_dim_add_int(kiln_dim_mul(kiln_dim_add_int(in, -1), kiln_dim_const(st)), gp);
            continue;
        }
        int64_t o;
        if (in.n < 1)
            return kiln_infer_fail(ic, "spatial axis %d: input size is %lld", i, (long long)in.n);
        if (!kiln_mul_i64(st, in.n - 1, &o) || !kiln_add_i64(o, grow, &o))
            return kiln_infer_fail(ic, "spatial axis %d: output size overflows", i);
        o -= pads;
        if (o < 1)
            return kiln_infer_fail(ic,
                                   "spatial axis %d: pads (%lld) leave an output size of "
                                   "%lld",
                                   i, (long long)pads, (long long)o);
        d[2 + i] = kiln_dim_const(o);
    }
    kiln_infer_set_out(ic, 0, x->dtype, rank, d);
    return KILN_OK;
}

/* Known values of a 1-D int64 input as plain integers; false unless all are constants. */
static bool
known_ints(struct kiln_infer_ctx *ic, int i, int64_t *out, int64_t max, int64_t *n)
{
    const struct kiln_dim *v;
    int64_t nv;
    if (!kiln_infer_in_known(ic, i, &v, &nv) || nv > max)
        return false;
    for (int64_t k = 0; k < nv; k++) {
        if (!kiln_dim_is_int(v[k]))
            return false;
        out[k] = v[k].n;
    }
    *n = nv;
    return true;
}

enum kiln_status
kiln_shape_col2im(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input");
    const struct kiln_type *img = kiln_infer_need_in(ic, 1, "image_shape");
    const struct kiln_type *blk = kiln_infer_need_in(ic, 2, "block_shape");
    if (!x || !img || !blk)
        return KILN_ERR_INVALID;
    enum kiln_status s;
    if ((s = kiln_infer_require(ic, 1, MASK(I64))) != KILN_OK ||
        (s = kiln_infer_require(ic, 2, MASK(I64))) != KILN_OK ||
        (s = want_rank(ic, x, 0, 3, "input")) != KILN_OK ||
        (s = want_rank(ic, img, 1, 1, "image_shape")) != KILN_OK ||
        (s = want_rank(ic, blk, 2, 1, "block_shape")) != KILN_OK)
        return s;
    struct kiln_dim nd = dim_of(img, 0);
    if ((s = unify(ic, &nd, dim_of(blk, 0), "image_shape vs block_shape length")) != KILN_OK)
        return s;
    if (!kiln_dim_is_const(nd)) {
        kiln_infer_set_out(ic, 0, x->dtype, -1, NULL);
        return KILN_OK;
    }
    if (nd.n < 1 || nd.n > KILN_MAX_RANK - 2)
        return kiln_infer_fail(ic, "image_shape has %lld values; expected 1 to %d", (long long)nd.n,
                               KILN_MAX_RANK - 2);
    int n = (int)nd.n;
    struct window w;
    if ((s = read_window(ic, n, false, false, &w)) != KILN_OK)
        return s;
    int64_t image[KILN_MAX_RANK], block[KILN_MAX_RANK], cnt;
    bool img_known = known_ints(ic, 1, image, n, &cnt) && cnt == n;
    bool blk_known = known_ints(ic, 2, block, n, &cnt) && cnt == n;
    struct kiln_dim *d = new_dims(ic, n + 2);
    if (!d)
        return KILN_ERR_NOMEM;
    d[0] = dim_of(x, 0);
    d[1] = kiln_dim_unknown();
    int64_t prod_blk = 1, blocks = 1;
    for (int i = 0; i < n; i++) {
        if (img_known && image[i] < 1)
            return kiln_infer_fail(ic, "image_shape[%d] is %lld; it must be >= 1", i,
                                   (long long)image[i]);
        if (blk_known && block[i] < 1)
            return kiln_infer_fail(ic, "block_shape[%d] is %lld; it must be >= 1", i,
                                   (long long)block[i]);
        d[2 + i] = img_known ? kiln_dim_const(image[i]) : kiln_dim_unknown();
        if (blk_known) {
            prod_blk = flops_mul(prod_blk, block[i]);
            w.kernel[i] = block[i];
            w.kernel_known[i] = true;
            struct kiln_dim o;
            if (img_known) {
                if ((s = window_out(ic, &w, i, d[2 + i], &o)) != KILN_OK)
                    return s;
                blocks = flops_mul(blocks, o.n);
            }
        }
    }
    if (blk_known) {
        struct kiln_dim cb = dim_of(x, 1);
        if (prod_blk < 0)
            return kiln_infer_fail(ic, "block_shape product overflows");
        if (!dim_div(cb, prod_blk, &d[1]))
            return kiln_infer_fail(ic,
                                   "input dim 1 (%lld) is not a multiple of the block size "
                                   "product %lld",
                                   (long long)cb.n, (long long)prod_blk);
        struct kiln_dim l = dim_of(x, 2);
        if (img_known && kiln_dim_is_const(l) && blocks >= 0 && l.n != blocks)
            return kiln_infer_fail(ic, "input dim 2 is %lld but the image holds %lld blocks",
                                   (long long)l.n, (long long)blocks);
    }
    kiln_infer_set_out(ic, 0, x->dtype, n + 2, d);
    return KILN_OK;
}

/* ---------------------------------------------------------------- pooling */

enum kiln_status
kiln_shape_pool(struct kiln_infer_ctx *ic)
{
    enum kiln_op op = ic->n->op;
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    uint64_t mask = KILN_DT_MASK_FLOAT | (op == KILN_OP_MAX_POOL ? MASK_Q8 : 0);
    enum kiln_status s = kiln_infer_require(ic, 0, mask);
    if (s == KILN_OK)
        s = check_image(ic, x, 0);
    if (s != KILN_OK)
        return s;
    int64_t klen;
    kiln_node_attr_ints(ic->n, "kernel_shape", &klen);
    if (!kiln_node_attr(ic->n, "kernel_shape"))
        return kiln_infer_fail(ic, "attribute 'kernel_shape' is required");
    if (x->rank >= 0 && klen != x->rank - 2)
        return kiln_infer_fail(ic,
                               "kernel_shape has %lld values, expected %d (spatial rank of "
                               "input 0)",
                               (long long)klen, x->rank - 2);
    if (klen < 1 || klen > KILN_MAX_RANK - 2)
        return kiln_infer_fail(ic, "kernel_shape has %lld values; expected 1 to %d",
                               (long long)klen, KILN_MAX_RANK - 2);
    int n = (int)klen;
    if (op == KILN_OP_MAX_POOL) {
        int64_t so = kiln_node_attr_int(ic->n, "storage_order", 0);
        if (so != 0 && so != 1)
            return kiln_infer_fail(ic, "storage_order must be 0 or 1, got %lld", (long long)so);
        if (kiln_infer_has_out(ic, 1) && ic->opset < 8)
            return kiln_infer_fail(ic, "the Indices output needs opset 8, this is %lld",
                                   (long long)ic->opset);
    }
    if (op == KILN_OP_LP_POOL && kiln_node_attr_int(ic->n, "p", 2) < 1 &&
        kiln_node_attr(ic->n, "p") && kiln_node_attr(ic->n, "p")->kind == KILN_ATTR_INT)
        return kiln_infer_fail(ic, "p must be >= 1, got %lld",
                               (long long)kiln_node_attr_int(ic->n, "p", 2));
    struct window w;
    if ((s = read_window(ic, n, true, true, &w)) != KILN_OK ||
        (s = read_kernel(ic, &w, NULL, true)) != KILN_OK)
        return s;
    struct kiln_dim *d = new_dims(ic, n + 2);
    if (!d)
        return KILN_ERR_NOMEM;
    d[0] = dim_of(x, 0);
    d[1] = dim_of(x, 1);
    for (int i = 0; i < n; i++)
        if ((s = window_out(ic, &w, i, dim_of(x, 2 + i), &d[2 + i])) != KILN_OK)
            return s;
    kiln_infer_set_out(ic, 0, x->dtype, n + 2, d);
    kiln_infer_set_out(ic, 1, KILN_DT_I64, n + 2, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_global_pool(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s != KILN_OK)
        return s;
    if (x->rank >= 0 && x->rank < 2)
        return kiln_infer_fail(ic, "input 0 must have rank >= 2 (N x C x ...), got %d", x->rank);
    if (x->rank < 0) {
        kiln_infer_set_out(ic, 0, x->dtype, -1, NULL);
        return KILN_OK;
    }
    struct kiln_dim *d = new_dims(ic, x->rank);
    if (!d)
        return KILN_ERR_NOMEM;
    for (int i = 0; i < x->rank; i++)
        d[i] = i < 2 ? x->dims[i] : kiln_dim_const(1);
    kiln_infer_set_out(ic, 0, x->dtype, x->rank, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_max_unpool(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X"),
                           *ix = kiln_infer_need_in(ic, 1, "I");
    if (!x || !ix)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_require(ic, 1, MASK(I64));
    if (s == KILN_OK)
        s = check_image(ic, x, 0);
    if (s != KILN_OK)
        return s;
    if (x->rank >= 0 && ix->rank >= 0 && ix->rank != x->rank)
        return kiln_infer_fail(ic, "I has rank %d but X has rank %d", ix->rank, x->rank);
    const struct kiln_type *os = kiln_infer_in(ic, 2);
    if (os) {
        /* an explicit output shape decides, its values if known, else its length */
        if ((s = kiln_infer_require(ic, 2, MASK(I64))) != KILN_OK ||
            (s = want_rank(ic, os, 2, 1, "output_shape")) != KILN_OK)
            return s;
        const struct kiln_dim *v;
        int64_t nv;
        int rank = x->rank;
        if (os->rank == 1 && kiln_dim_is_const(os->dims[0])) {
            if (rank >= 0 && os->dims[0].n != rank)
                return kiln_infer_fail(ic, "output_shape has %lld values but X has rank %d",
                                       (long long)os->dims[0].n, rank);
            if (os->dims[0].n > KILN_MAX_RANK)
                return kiln_infer_fail(ic, "output_shape has %lld values, more than kiln's %d",
                                       (long long)os->dims[0].n, KILN_MAX_RANK);
            rank = (int)os->dims[0].n;
        }
        if (rank < 0) {
            kiln_infer_set_out(ic, 0, x->dtype, -1, NULL);
            return KILN_OK;
        }
        struct kiln_dim *d = new_dims(ic, rank);
        if (!d)
            return KILN_ERR_NOMEM;
        bool known = kiln_infer_in_known(ic, 2, &v, &nv) && nv == rank;
        for (int i = 0; i < rank; i++) {
            if (known && kiln_dim_is_int(v[i]) && v[i].n < 0)
                return kiln_infer_fail(ic, "output_shape[%d] is %lld", i, (long long)v[i].n);
            d[i] = known ? known_dim(v[i]) : kiln_dim_unknown();
        }
        kiln_infer_set_out(ic, 0, x->dtype, rank, d);
        return KILN_OK;
    }
    int64_t klen;
    kiln_node_attr_ints(ic->n, "kernel_shape", &klen);
    if (!kiln_node_attr(ic->n, "kernel_shape"))
        return kiln_infer_fail(ic, "attribute 'kernel_shape' is required");
    if (klen < 1 || klen > KILN_MAX_RANK - 2 || (x->rank >= 0 && klen != x->rank - 2))
        return kiln_infer_fail(ic,
                               "kernel_shape has %lld values, expected %d (spatial rank of "
                               "input 0)",
                               (long long)klen, x->rank >= 0 ? x->rank - 2 : 2);
    int n = (int)klen;
    struct window w;
    if ((s = read_window(ic, n, false, false, &w)) != KILN_OK ||
        (s = read_kernel(ic, &w, NULL, true)) != KILN_OK)
        return s;
    struct kiln_dim *d = new_dims(ic, n + 2);
    if (!d)
        return KILN_ERR_NOMEM;
    d[0] = dim_of(x, 0);
    d[1] = dim_of(x, 1);
    for (int i = 0; i < n; i++) {
        /* (in - 1) * stride + kernel - pads: the inverse of the pooling window */
        struct kiln_dim in = dim_of(x, 2 + i);
        int64_t o, pads;
        if (!kiln_dim_is_const(in)) {
            d[2 + i] = kiln_dim_unknown();
            continue;
        }
        if (in.n < 1 || !kiln_mul_i64(in.n - 1, w.stride[i], &o) ||
            !kiln_add_i64(o, w.kernel[i], &o) || !kiln_add_i64(w.pad_begin[i], w.pad_end[i], &pads))
            return kiln_infer_fail(ic, "spatial axis %d: output size overflows or input is empty",
                                   i);
        if (o - pads < 1)
            return kiln_infer_fail(ic,
                                   "spatial axis %d: pads (%lld) leave an output size of "
                                   "%lld",
                                   i, (long long)pads, (long long)(o - pads));
        d[2 + i] = kiln_dim_const(o - pads);
    }
    kiln_infer_set_out(ic, 0, x->dtype, n + 2, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_max_roi_pool(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X"),
                           *rois = kiln_infer_need_in(ic, 1, "rois");
    if (!x || !rois)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s == KILN_OK)
        s = want_rank(ic, x, 0, 4, "X");
    if (s == KILN_OK)
        s = want_rank(ic, rois, 1, 2, "rois");
    if (s != KILN_OK)
        return s;
    struct kiln_dim five = dim_of(rois, 1);
    if (kiln_dim_is_const(five) && five.n != 5)
        return kiln_infer_fail(ic, "rois must be [num_rois, 5], got dim 1 = %lld",
                               (long long)five.n);
    int64_t len;
    const int64_t *ps = kiln_node_attr_ints(ic->n, "pooled_shape", &len);
    if (!kiln_node_attr(ic->n, "pooled_shape"))
        return kiln_infer_fail(ic, "attribute 'pooled_shape' is required");
    if (len != 2)
        return kiln_infer_fail(ic, "pooled_shape has %lld values, expected 2", (long long)len);
    if (ps[0] < 1 || ps[1] < 1)
        return kiln_infer_fail(ic, "pooled_shape values must be >= 1, got [%lld, %lld]",
                               (long long)ps[0], (long long)ps[1]);
    struct kiln_dim d[4] = {dim_of(rois, 0), dim_of(x, 1), kiln_dim_const(ps[0]),
                            kiln_dim_const(ps[1])};
    kiln_infer_set_out(ic, 0, x->dtype, 4, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_roi_align(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X"),
                           *rois = kiln_infer_need_in(ic, 1, "rois");
    const struct kiln_type *bi = kiln_infer_need_in(ic, 2, "batch_indices");
    if (!x || !rois || !bi)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s == KILN_OK)
        s = kiln_infer_require(ic, 2, MASK(I64));
    if (s == KILN_OK)
        s = want_rank(ic, x, 0, 4, "X");
    if (s == KILN_OK)
        s = want_rank(ic, rois, 1, 2, "rois");
    if (s == KILN_OK)
        s = want_rank(ic, bi, 2, 1, "batch_indices");
    if (s != KILN_OK)
        return s;
    struct kiln_dim four = dim_of(rois, 1);
    if (kiln_dim_is_const(four) && four.n != 4)
        return kiln_infer_fail(ic, "rois must be [num_rois, 4], got dim 1 = %lld",
                               (long long)four.n);
    const char *mode = kiln_node_attr_string(ic->n, "mode", "avg");
    if (strcmp(mode, "avg") != 0 && strcmp(mode, "max") != 0)
        return kiln_infer_fail(ic, "mode must be avg or max, got '%s'", mode);
    const char *ctm = kiln_node_attr_string(ic->n, "coordinate_transformation_mode", "half_pixel");
    if (strcmp(ctm, "half_pixel") != 0 && strcmp(ctm, "output_half_pixel") != 0)
        return kiln_infer_fail(ic,
                               "coordinate_transformation_mode must be half_pixel or "
                               "output_half_pixel, got '%s'",
                               ctm);
    int64_t oh = kiln_node_attr_int(ic->n, "output_height", 1);
    int64_t ow = kiln_node_attr_int(ic->n, "output_width", 1);
    if (oh < 1 || ow < 1)
        return kiln_infer_fail(ic,
                               "output_height and output_width must be >= 1, got %lld and "
                               "%lld",
                               (long long)oh, (long long)ow);
    if (kiln_node_attr_int(ic->n, "sampling_ratio", 0) < 0)
        return kiln_infer_fail(ic, "sampling_ratio must be >= 0");
    struct kiln_dim nr = dim_of(rois, 0);
    if ((s = unify(ic, &nr, dim_of(bi, 0), "rois count vs batch_indices length")) != KILN_OK)
        return s;
    struct kiln_dim d[4] = {nr, dim_of(x, 1), kiln_dim_const(oh), kiln_dim_const(ow)};
    kiln_infer_set_out(ic, 0, x->dtype, 4, d);
    return KILN_OK;
}

/* ---------------------------------------------------------------- reductions */

/* Reduce x over the axes flagged in `reduce` into output 0 with dtype dt. */
static enum kiln_status
reduce_into(struct kiln_infer_ctx *ic, const struct kiln_type *x, const bool *reduce, bool keepdims,
            enum kiln_dtype dt)
{
    struct kiln_dim *d = new_dims(ic, x->rank);
    if (!d)
        return KILN_ERR_NOMEM;
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!reduce[i])
            d[r++] = x->dims[i];
        else if (keepdims)
            d[r++] = kiln_dim_const(1);
    }
    kiln_infer_set_out(ic, 0, dt, r, d);
    return KILN_OK;
}

/*
 * NegativeLogLikelihoodLoss (12, 13, 22) and SoftmaxCrossEntropyLoss (12, 13):
 * scores (N, C, d1..dk), targets (N, d1..dk) of int32/int64, an optional
 * per-class weight (C). The loss is (N, d1..dk) with reduction "none" and a
 * scalar with "mean" (the default) or "sum"; SoftmaxCrossEntropyLoss's
 * optional second output, the log-probabilities, has the scores' shape.
 */
enum kiln_status
kiln_shape_loss(struct kiln_infer_ctx *ic)
{
    bool sce = ic->n->op == KILN_OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, sce ? "scores" : "input");
    const struct kiln_type *t = x ? kiln_infer_need_in(ic, 1, sce ? "labels" : "target") : NULL;
    if (!t)
        return KILN_ERR_INVALID;
    enum kiln_status st = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (st == KILN_OK)
        st = kiln_infer_require(ic, 1, KILN_DT_MASK_INDEX);
    if (st == KILN_OK && kiln_infer_in(ic, 2))
        st = kiln_infer_same_dtype(ic, 0, 2);
    if (st != KILN_OK)
        return st;
    const char *red = kiln_node_attr_string(ic->n, "reduction", "mean");
    bool none = strcmp(red, "none") == 0;
    if (!none && strcmp(red, "mean") != 0 && strcmp(red, "sum") != 0)
        return kiln_infer_fail(ic, "reduction must be none, mean or sum, got '%s'", red);
    if (x->rank >= 0 && x->rank < 2)
        return kiln_infer_fail(ic, "input 0 must have rank >= 2 (N, C, ...), got %d", x->rank);
    if (x->rank >= 0 && t->rank >= 0 && t->rank != x->rank - 1)
        return kiln_infer_fail(ic, "input 1 must have rank %d (the scores' rank minus C), got %d",
                               x->rank - 1, t->rank);
    int r = x->rank >= 0 ? x->rank - 1 : t->rank;
    struct kiln_dim *d = new_dims(ic, r);
    for (int i = 0; i < r; i++) {
        d[i] = dim_of(t, i);
        if ((st = unify(ic, &d[i], dim_of(x, i ? i + 1 : 0), "scores and targets disagree")))
            return st;
    }
    const struct kiln_type *w = kiln_infer_in(ic, 2);
    if (w) {
        if ((st = want_rank(ic, w, 2, 1, "weight")) != KILN_OK)
            return st;
        struct kiln_dim c = dim_of(x, 1);
        if ((st = unify(ic, &c, dim_of(w, 0), "weight length and class count C")))
            return st;
    }
    enum kiln_dtype dt = x->dtype;
    if (none)
        kiln_infer_set_out(ic, 0, dt, r, d);
    else
        kiln_infer_set_out(ic, 0, dt, 0, NULL);
    if (sce)
        kiln_infer_set_like(ic, 1, x, dt);
    return KILN_OK;
}

/* The loss ops: a log-softmax (5 operations per score, SoftmaxCrossEntropyLoss
 * only), then a gather, weight and reduction per target (about 3). */
int64_t
kiln_flops_loss(const struct kiln_graph *g, const struct kiln_node *n)
{
    const struct kiln_type *x = kiln_node_in_type(g, n, 0), *t = kiln_node_in_type(g, n, 1);
    int64_t xe = x ? kiln_type_numel(x) : -1, te = t ? kiln_type_numel(t) : -1;
    int64_t f = flops_mul(te, 3);
    if (n->op == KILN_OP_SOFTMAX_CROSS_ENTROPY_LOSS)
        f = flops_add(f, flops_mul(xe, 5));
    return f;
}

enum kiln_status
kiln_shape_reduce(struct kiln_infer_ctx *ic)
{
    enum kiln_op op = ic->n->op;
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    uint64_t mask = KILN_DT_MASK_NUMERIC;
    if (op == KILN_OP_REDUCE_MAX || op == KILN_OP_REDUCE_MIN)
        mask |= MASK(BOOL); /* ReduceMax/Min-20 */
    enum kiln_status s = kiln_infer_require(ic, 0, mask);
    if (s != KILN_OK)
        return s;
    /* axes moved from attribute to input: ReduceSum at 13, the others at 18 */
    int64_t since = op == KILN_OP_REDUCE_SUM ? 13 : 18;
    bool axes_input = ic->opset >= since;
    bool keepdims = kiln_node_attr_int(ic->n, "keepdims", 1) != 0;
    bool noop = axes_input && kiln_node_attr_int(ic->n, "noop_with_empty_axes", 0) != 0;
    int64_t axes[KILN_MAX_RANK];
    int64_t n_axes = 0;
    bool axes_known = true;
    if (!axes_input) {
        if (kiln_infer_n_in(ic) > 1)
            return kiln_infer_fail(ic, "%s-%lld takes axes as an attribute, not an input",
                                   kiln_op_name(op), (long long)ic->opset);
        const int64_t *a = kiln_node_attr_ints(ic->n, "axes", &n_axes);
        if (n_axes > KILN_MAX_RANK)
            return kiln_infer_fail(ic, "axes has %lld values, more than kiln's rank limit %d",
                                   (long long)n_axes, KILN_MAX_RANK);
        if (n_axes > 0)
            memcpy(axes, a, (size_t)n_axes * sizeof *axes);
    } else {
        if (kiln_node_attr(ic->n, "axes"))
            return kiln_infer_fail(ic, "%s-%lld takes axes as input 1, not an attribute",
                                   kiln_op_name(op), (long long)ic->opset);
        const struct kiln_type *at = kiln_infer_in(ic, 1);
        if (at) {
            if ((s = kiln_infer_require(ic, 1, MASK(I64))) != KILN_OK ||
                (s = want_rank(ic, at, 1, 1, "axes")) != KILN_OK)
                return s;
            const struct kiln_dim *v;
            int64_t nv;
            if (kiln_infer_in_known(ic, 1, &v, &nv) && nv <= KILN_MAX_RANK) {
                n_axes = nv;
                for (int64_t i = 0; i < nv; i++) {
                    if (!kiln_dim_is_int(v[i]))
                        axes_known = false;
                    axes[i] = v[i].n;
                }
            } else {
                axes_known = false;
                /* an empty axes tensor is as good as a known one */
                if (at->rank == 1 && kiln_dim_is_const(at->dims[0]) && at->dims[0].n == 0)
                    axes_known = true;
                else if (at->rank == 1 && kiln_dim_is_const(at->dims[0]))
                    n_axes = at->dims[0].n;
                else
                    n_axes = -1;
            }
        }
    }
    if (axes_known && n_axes == 0 && noop) {
        kiln_infer_set_like(ic, 0, x, x->dtype);
        return KILN_OK;
    }
    if (x->rank < 0) {
        kiln_infer_set_out(ic, 0, x->dtype, -1, NULL);
        return KILN_OK;
    }
    if (!axes_known) {
        /* which axes is unknown: keepdims keeps the rank, else their count decides it */
        int rank = keepdims                           ? x->rank
                   : n_axes >= 0 && n_axes <= x->rank ? x->rank - (int)n_axes
                                                      : -1;
        struct kiln_dim *d = new_dims(ic, rank);
        if (!d)
            return KILN_ERR_NOMEM;
        for (int i = 0; i < rank; i++)
            d[i] = kiln_dim_unknown();
        kiln_infer_set_out(ic, 0, x->dtype, rank, d);
        return KILN_OK;
    }
    bool reduce[KILN_MAX_RANK] = {false};
    if (x->rank > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "input rank %d exceeds kiln's %d", x->rank, KILN_MAX_RANK);
    for (int i = 0; i < x->rank; i++)
        reduce[i] = n_axes == 0;
    for (int64_t i = 0; i < n_axes; i++) {
        int ax;
        if ((s = kiln_infer_axis(ic, axes[i], x->rank, &ax)) != KILN_OK)
            return s;
        if (reduce[ax])
            return kiln_infer_fail(ic, "axis %d is listed twice in axes", ax);
        reduce[ax] = true;
    }
    return reduce_into(ic, x, reduce, keepdims, x->dtype);
}

enum kiln_status
kiln_shape_arg_reduce(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "data");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_NUMERIC);
    if (s != KILN_OK)
        return s;
    bool keepdims = kiln_node_attr_int(ic->n, "keepdims", 1) != 0;
    if (x->rank < 0) {
        kiln_infer_set_out(ic, 0, KILN_DT_I64, -1, NULL);
        return KILN_OK;
    }
    if (x->rank > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "input rank %d exceeds kiln's %d", x->rank, KILN_MAX_RANK);
    int ax;
    if ((s = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", 0), x->rank, &ax)) != KILN_OK)
        return s;
    bool reduce[KILN_MAX_RANK] = {false};
    reduce[ax] = true;
    return reduce_into(ic, x, reduce, keepdims, KILN_DT_I64);
}

enum kiln_status
kiln_shape_topk(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_NUMERIC);
    if (s != KILN_OK)
        return s;
    struct kiln_dim k = kiln_dim_unknown();
    if (ic->opset < 10) {
        if (kiln_infer_n_in(ic) > 1)
            return kiln_infer_fail(ic, "TopK-1 takes k as an attribute, not an input");
        if (!kiln_node_attr(ic->n, "k"))
            return kiln_infer_fail(ic, "attribute 'k' is required");
        int64_t kv = kiln_node_attr_int(ic->n, "k", 0);
        if (kv < 0)
            return kiln_infer_fail(ic, "k must be >= 0, got %lld", (long long)kv);
        k = kiln_dim_const(kv);
    } else {
        const struct kiln_type *kt = kiln_infer_need_in(ic, 1, "K");
        if (!kt)
            return KILN_ERR_INVALID;
        if ((s = kiln_infer_require(ic, 1, MASK(I64))) != KILN_OK)
            return s;
        if (kt->rank > 1 || (kt->rank == 1 && kiln_dim_is_const(kt->dims[0]) && kt->dims[0].n != 1))
            return kiln_infer_fail(ic, "input 1 (K) must hold a single value");
        const struct kiln_dim *v;
        int64_t nv;
        if (kiln_infer_in_known(ic, 1, &v, &nv) && nv == 1) {
            if (kiln_dim_is_int(v[0]) && v[0].n < 0)
                return kiln_infer_fail(ic, "K must be >= 0, got %lld", (long long)v[0].n);
            k = known_dim(v[0]);
        }
    }
    if (x->rank < 0) {
        kiln_infer_set_out(ic, 0, x->dtype, -1, NULL);
        kiln_infer_set_out(ic, 1, KILN_DT_I64, -1, NULL);
        return KILN_OK;
    }
    int ax;
    if ((s = kiln_infer_axis(ic, kiln_node_attr_int(ic->n, "axis", -1), x->rank, &ax)) != KILN_OK)
        return s;
    struct kiln_dim da = x->dims[ax];
    if (kiln_dim_is_const(k) && kiln_dim_is_const(da) && k.n > da.n)
        return kiln_infer_fail(ic, "k (%lld) is larger than axis %d (%lld)", (long long)k.n, ax,
                               (long long)da.n);
    struct kiln_dim *d = new_dims(ic, x->rank);
    if (!d)
        return KILN_ERR_NOMEM;
    for (int i = 0; i < x->rank; i++)
        d[i] = i == ax ? k : x->dims[i];
    kiln_infer_set_out(ic, 0, x->dtype, x->rank, d);
    kiln_infer_set_out(ic, 1, KILN_DT_I64, x->rank, d);
    return KILN_OK;
}

/* ---------------------------------------------------------------- recurrent */

/* Gates per op: RNN 1, GRU 3 (z, r, h), LSTM 4 (i, o, f, c). */
static int
rnn_gates(enum kiln_op op)
{
    return op == KILN_OP_LSTM ? 4 : op == KILN_OP_GRU ? 3 : 1;
}

enum kiln_status
kiln_shape_rnn(struct kiln_infer_ctx *ic)
{
    enum kiln_op op = ic->n->op;
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X"), *w = kiln_infer_need_in(ic, 1, "W");
    const struct kiln_type *r = kiln_infer_need_in(ic, 2, "R");
    if (!x || !w || !r)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    int n_in = kiln_infer_n_in(ic);
    for (int i = 1; i < n_in && s == KILN_OK; i++)
        if (i != 4 && kiln_infer_in(ic, i)) /* 4 is sequence_lens */
            s = kiln_infer_same_dtype(ic, 0, i);
    if (s == KILN_OK && kiln_infer_in(ic, 4))
        s = kiln_infer_require(ic, 4, MASK(I32));
    if (s != KILN_OK)
        return s;
    int max_in = op == KILN_OP_LSTM ? 8 : 6;
    if (n_in > max_in)
        return kiln_infer_fail(ic, "%s has at most %d inputs, got %d", kiln_op_name(op), max_in,
                               n_in);
    const char *dir = kiln_node_attr_string(ic->n, "direction", "forward");
    int64_t nd;
    if (strcmp(dir, "forward") == 0 || strcmp(dir, "reverse") == 0)
        nd = 1;
    else if (strcmp(dir, "bidirectional") == 0)
        nd = 2;
    else
        return kiln_infer_fail(ic,
                               "direction must be forward, reverse or bidirectional, got "
                               "'%s'",
                               dir);
    int64_t layout = kiln_node_attr_int(ic->n, "layout", 0);
    if (layout != 0 && layout != 1)
        return kiln_infer_fail(ic, "layout must be 0 or 1, got %lld", (long long)layout);
    if (layout == 1 && ic->opset < 14)
        return kiln_infer_fail(ic, "layout=1 needs opset 14, this is %lld", (long long)ic->opset);
    if ((s = want_rank(ic, x, 0, 3, "X")) != KILN_OK ||
        (s = want_rank(ic, w, 1, 3, "W")) != KILN_OK ||
        (s = want_rank(ic, r, 2, 3, "R")) != KILN_OK)
        return s;
    int g = rnn_gates(op);
    /* hidden size: the attribute, else R's last dim */
    struct kiln_dim h = dim_of(r, 2);
    if (kiln_node_attr(ic->n, "hidden_size")) {
        int64_t hs = kiln_node_attr_int(ic->n, "hidden_size", 0);
        if (hs < 1)
            return kiln_infer_fail(ic, "hidden_size must be >= 1, got %lld", (long long)hs);
        if ((s = unify(ic, &h, kiln_dim_const(hs), "R's last dim vs hidden_size")) != KILN_OK)
            return s;
    }
    struct kiln_dim gh =
        kiln_dim_is_const(h) ? kiln_dim_const(0) : kiln_dim_mul(h, kiln_dim_const(g));
    if (kiln_dim_is_const(h) && !kiln_mul_i64(h.n, g, &gh.n))
        return kiln_infer_fail(ic, "hidden_size overflows");
    struct kiln_dim ndir = kiln_dim_const(nd);
    struct kiln_dim seq = dim_of(x, layout ? 1 : 0), batch = dim_of(x, layout ? 0 : 1);
    struct kiln_dim isz = dim_of(x, 2);
    if ((s = unify(ic, &ndir, dim_of(w, 0), "num_directions vs W dim 0")) != KILN_OK ||
        (s = unify(ic, &ndir, dim_of(r, 0), "num_directions vs R dim 0")) != KILN_OK ||
        (s = unify(ic, &gh, dim_of(w, 1), "gates x hidden_size vs W dim 1")) != KILN_OK ||
        (s = unify(ic, &gh, dim_of(r, 1), "gates x hidden_size vs R dim 1")) != KILN_OK ||
        (s = unify(ic, &isz, dim_of(w, 2), "input_size (X dim 2) vs W dim 2")) != KILN_OK)
        return s;
    if (!kiln_dim_is_const(h) && kiln_dim_is_const(gh) && gh.n % g == 0)
        h = kiln_dim_const(gh.n / g);
    const struct kiln_type *b = kiln_infer_in(ic, 3);
    if (b) {
        struct kiln_dim b2 = kiln_dim_mul(kiln_dim_const(2), gh);
        if ((s = want_rank(ic, b, 3, 2, "B")) != KILN_OK ||
            (s = unify(ic, &ndir, dim_of(b, 0), "num_directions vs B dim 0")) != KILN_OK ||
            (s = unify(ic, &b2, dim_of(b, 1), "2 x gates x hidden_size vs B dim 1")) != KILN_OK)
            return s;
    }
    const struct kiln_type *sl = kiln_infer_in(ic, 4);
    if (sl && ((s = want_rank(ic, sl, 4, 1, "sequence_lens")) != KILN_OK ||
               (s = unify(ic, &batch, dim_of(sl, 0), "batch vs sequence_lens")) != KILN_OK))
        return s;
    /* initial_h (5) and, for LSTM, initial_c (6): [nd, batch, h], or [batch, nd, h] */
    for (int i = 5; i <= (op == KILN_OP_LSTM ? 6 : 5); i++) {
        const struct kiln_type *init = kiln_infer_in(ic, i);
        if (!init)
            continue;
        if ((s = want_rank(ic, init, i, 3, i == 5 ? "initial_h" : "initial_c")) != KILN_OK ||
            (s = unify(ic, &ndir, dim_of(init, layout ? 1 : 0),
                       "num_directions vs initial "
                       "state")) != KILN_OK ||
            (s = unify(ic, &batch, dim_of(init, layout ? 0 : 1), "batch vs initial state")) !=
                KILN_OK ||
            (s = unify(ic, &h, dim_of(init, 2), "hidden_size vs initial state")) != KILN_OK)
            return s;
    }
    if (op == KILN_OP_LSTM && kiln_infer_in(ic, 7)) {
        const struct kiln_type *p = kiln_infer_in(ic, 7);
        struct kiln_dim h3 = kiln_dim_mul(kiln_dim_const(3), h);
        if ((s = want_rank(ic, p, 7, 2, "P")) != KILN_OK ||
            (s = unify(ic, &h3, dim_of(p, 1), "3 x hidden_size vs P dim 1")) != KILN_OK)
            return s;
    }
    enum kiln_dtype dt = x->dtype;
    struct kiln_dim y[4], yh[3];
    if (layout == 0) {
        y[0] = seq, y[1] = ndir, y[2] = batch, y[3] = h;
        yh[0] = ndir, yh[1] = batch, yh[2] = h;
    } else {
        y[0] = batch, y[1] = seq, y[2] = ndir, y[3] = h;
        yh[0] = batch, yh[1] = ndir, yh[2] = h;
    }
    kiln_infer_set_out(ic, 0, dt, 4, y);
    kiln_infer_set_out(ic, 1, dt, 3, yh);
    kiln_infer_set_out(ic, 2, dt, 3, yh);
    return KILN_OK;
}

/* ---------------------------------------------------------------- attention */

/*
 * Heads, sequence length and head size of one Attention operand: 4-D is
 * [B, heads, seq, head]; 3-D is [B, seq, heads * head] with heads from an
 * attribute (0 when absent, which 3-D operands may not be).
 */
struct heads {
    struct kiln_dim batch, heads, seq, size;
};

static enum kiln_status
attention_operand(struct kiln_infer_ctx *ic, const struct kiln_type *t, int i, const char *attr,
                  struct heads *h)
{
    if (t->rank >= 0 && t->rank != 3 && t->rank != 4)
        return kiln_infer_fail(ic, "input %d must be 3-D or 4-D, got rank %d", i, t->rank);
    int64_t nh = kiln_node_attr_int(ic->n, attr, 0);
    bool has = kiln_node_attr(ic->n, attr) != NULL;
    if (has && nh < 1)
        return kiln_infer_fail(ic, "%s must be >= 1, got %lld", attr, (long long)nh);
    if (t->rank < 0) {
        h->batch = h->heads = h->seq = h->size = kiln_dim_unknown();
        if (has)
            h->heads = kiln_dim_const(nh);
        return KILN_OK;
    }
    h->batch = t->dims[0];
    if (t->rank == 4) {
        h->heads = t->dims[1];
        h->seq = t->dims[2];
        h->size = t->dims[3];
        return KILN_OK;
    }
    if (!has)
        return kiln_infer_fail(ic, "input %d is 3-D, which needs attribute '%s'", i, attr);
    h->heads = kiln_dim_const(nh);
    h->seq = t->dims[1];
    if (!dim_div(t->dims[2], nh, &h->size))
        return kiln_infer_fail(ic, "input %d hidden size %lld is not a multiple of %s (%lld)", i,
                               (long long)t->dims[2].n, attr, (long long)nh);
    return KILN_OK;
}

enum kiln_status
kiln_shape_attention(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *q = kiln_infer_need_in(ic, 0, "Q"), *k = kiln_infer_need_in(ic, 1, "K");
    const struct kiln_type *v = kiln_infer_need_in(ic, 2, "V");
    if (!q || !k || !v)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s == KILN_OK)
        s = kiln_infer_require(ic, 2, KILN_DT_MASK_FLOAT);
    if (s != KILN_OK)
        return s;
    struct heads hq, hk, hv;
    if ((s = attention_operand(ic, q, 0, "q_num_heads", &hq)) != KILN_OK ||
        (s = attention_operand(ic, k, 1, "kv_num_heads", &hk)) != KILN_OK ||
        (s = attention_operand(ic, v, 2, "kv_num_heads", &hv)) != KILN_OK)
        return s;
    struct kiln_dim batch = hq.batch, kvh = hk.heads, kvs = hk.seq, hs = hq.size;
    if ((s = unify(ic, &batch, hk.batch, "batch of Q vs K")) != KILN_OK ||
        (s = unify(ic, &batch, hv.batch, "batch of Q vs V")) != KILN_OK ||
        (s = unify(ic, &kvh, hv.heads, "kv heads of K vs V")) != KILN_OK ||
        (s = unify(ic, &kvs, hv.seq, "sequence length of K vs V")) != KILN_OK ||
        (s = unify(ic, &hs, hk.size, "head size of Q vs K")) != KILN_OK)
        return s;
    if (kiln_dim_is_const(hq.heads) && kiln_dim_is_const(kvh) &&
        (kvh.n == 0 || hq.heads.n % kvh.n != 0))
        return kiln_infer_fail(ic, "q heads (%lld) must be a multiple of kv heads (%lld)",
                               (long long)hq.heads.n, (long long)kvh.n);
    /* past_key/past_value: [B, kv_heads, past_seq, head]; they come in a pair */
    const struct kiln_type *pk = kiln_infer_in(ic, 4), *pv = kiln_infer_in(ic, 5);
    if (!pk != !pv)
        return kiln_infer_fail(ic, "past_key and past_value must be given together");
    if (kiln_infer_has_out(ic, 1) != kiln_infer_has_out(ic, 2))
        return kiln_infer_fail(ic, "present_key and present_value must be produced together");
    if (kiln_infer_in(ic, 3)) {
        const struct kiln_type *m = kiln_infer_in(ic, 3);
        if ((s = kiln_infer_require(ic, 3, KILN_DT_MASK_NUMERIC | KILN_DT_MASK(KILN_DT_BOOL))) !=
            KILN_OK)
            return s;
        if (m->rank > 4)
            return kiln_infer_fail(ic, "attn_mask has rank %d; it must broadcast to 4-D", m->rank);
    }
    if (kiln_infer_in(ic, 6) && (s = kiln_infer_require(ic, 6, MASK(I64))) != KILN_OK)
        return s;
    struct kiln_dim total = kvs;
    if (pk) {
        if ((s = kiln_infer_same_dtype(ic, 4, 0)) != KILN_OK ||
            (s = kiln_infer_same_dtype(ic, 5, 2)) != KILN_OK ||
            (s = want_rank(ic, pk, 4, 4, "past_key")) != KILN_OK ||
            (s = want_rank(ic, pv, 5, 4, "past_value")) != KILN_OK)
            return s;
        struct kiln_dim past = dim_of(pk, 2);
        if ((s = unify(ic, &past, dim_of(pv, 2), "past sequence of past_key vs past_value")) !=
                KILN_OK ||
            (s = unify(ic, &batch, dim_of(pk, 0), "batch vs past_key")) != KILN_OK ||
            (s = unify(ic, &kvh, dim_of(pk, 1), "kv heads vs past_key")) != KILN_OK ||
            (s = unify(ic, &hs, dim_of(pk, 3), "head size vs past_key")) != KILN_OK ||
            (s = unify(ic, &hv.size, dim_of(pv, 3), "v head size vs past_value")) != KILN_OK)
            return s;
        total = kiln_dim_add(past, kvs);
    }
    /* Y follows Q's layout with V's head size */
    if (q->rank == 3) {
        struct kiln_dim hid = kiln_dim_mul(hq.heads, hv.size);
        struct kiln_dim y[3] = {batch, hq.seq, hid};
        kiln_infer_set_out(ic, 0, q->dtype, 3, y);
    } else if (q->rank == 4) {
        struct kiln_dim y[4] = {batch, hq.heads, hq.seq, hv.size};
        kiln_infer_set_out(ic, 0, q->dtype, 4, y);
    } else {
        kiln_infer_set_out(ic, 0, q->dtype, -1, NULL);
    }
    struct kiln_dim pkd[4] = {batch, kvh, total, hs};
    struct kiln_dim pvd[4] = {batch, kvh, total, hv.size};
    struct kiln_dim qkd[4] = {batch, hq.heads, hq.seq, total};
    kiln_infer_set_out(ic, 1, k->dtype, 4, pkd);
    kiln_infer_set_out(ic, 2, v->dtype, 4, pvd);
    kiln_infer_set_out(ic, 3, q->dtype, 4, qkd);
    return KILN_OK;
}

enum kiln_status
kiln_shape_rotary_embedding(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x || !kiln_infer_need_in(ic, 1, "cos_cache") || !kiln_infer_need_in(ic, 2, "sin_cache"))
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 1);
    if (s == KILN_OK)
        s = kiln_infer_same_dtype(ic, 0, 2);
    if (s != KILN_OK)
        return s;
    if (x->rank >= 0 && x->rank != 3 && x->rank != 4)
        return kiln_infer_fail(ic, "input 0 must be 3-D or 4-D, got rank %d", x->rank);
    int64_t nh = kiln_node_attr_int(ic->n, "num_heads", 0);
    if (nh < 0)
        return kiln_infer_fail(ic, "num_heads must be >= 0, got %lld", (long long)nh);
    if (x->rank == 3 && nh == 0)
        return kiln_infer_fail(ic, "a 3-D input needs attribute 'num_heads'");
    if (x->rank == 3 && kiln_dim_is_const(x->dims[2]) && x->dims[2].n % nh != 0)
        return kiln_infer_fail(ic, "hidden size %lld is not a multiple of num_heads %lld",
                               (long long)x->dims[2].n, (long long)nh);
    if (kiln_node_attr_int(ic->n, "rotary_embedding_dim", 0) < 0)
        return kiln_infer_fail(ic, "rotary_embedding_dim must be >= 0");
    const struct kiln_type *pos = kiln_infer_in(ic, 3);
    int cache_rank = pos ? 2 : 3; /* caches are indexed by position ids, or per token */
    if (pos && ((s = kiln_infer_require(ic, 3, MASK(I64))) != KILN_OK ||
                (s = want_rank(ic, pos, 3, 2, "position_ids")) != KILN_OK))
        return s;
    if ((s = want_rank(ic, kiln_infer_in(ic, 1), 1, cache_rank, "cos_cache")) != KILN_OK ||
        (s = want_rank(ic, kiln_infer_in(ic, 2), 2, cache_rank, "sin_cache")) != KILN_OK)
        return s;
    kiln_infer_set_like(ic, 0, x, x->dtype);
    return KILN_OK;
}

enum kiln_status
kiln_shape_linear_attention(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *q = kiln_infer_need_in(ic, 0, "query"),
                           *k = kiln_infer_need_in(ic, 1, "key");
    const struct kiln_type *v = kiln_infer_need_in(ic, 2, "value");
    if (!q || !k || !v)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    for (int i = 1; i < 6 && s == KILN_OK; i++)
        if (i != 3 && kiln_infer_in(ic, i))
            s = kiln_infer_same_dtype(ic, 0, i);
    if (s == KILN_OK && kiln_infer_in(ic, 3))
        s = kiln_infer_require(ic, 3, KILN_DT_MASK_FLOAT);
    if (s != KILN_OK)
        return s;
    if (!kiln_node_attr(ic->n, "q_num_heads") || !kiln_node_attr(ic->n, "kv_num_heads"))
        return kiln_infer_fail(ic, "attributes 'q_num_heads' and 'kv_num_heads' are required");
    int64_t hq = kiln_node_attr_int(ic->n, "q_num_heads", 0);
    int64_t hkv = kiln_node_attr_int(ic->n, "kv_num_heads", 0);
    if (hq < 1 || hkv < 1 || hq % hkv != 0)
        return kiln_infer_fail(ic,
                               "q_num_heads (%lld) must be a positive multiple of "
                               "kv_num_heads (%lld)",
                               (long long)hq, (long long)hkv);
    const char *rule = kiln_node_attr_string(ic->n, "update_rule", "gated_delta");
    if (strcmp(rule, "linear") != 0 && strcmp(rule, "gated") != 0 && strcmp(rule, "delta") != 0 &&
        strcmp(rule, "gated_delta") != 0)
        return kiln_infer_fail(ic,
                               "update_rule must be linear, gated, delta or gated_delta, "
                               "got '%s'",
                               rule);
    if ((s = want_rank(ic, q, 0, 3, "query")) != KILN_OK ||
        (s = want_rank(ic, k, 1, 3, "key")) != KILN_OK ||
        (s = want_rank(ic, v, 2, 3, "value")) != KILN_OK)
        return s;
    struct kiln_dim b = dim_of(q, 0), t = dim_of(q, 1), dk, dk2, dv;
    if (!dim_div(dim_of(q, 2), hq, &dk) || !dim_div(dim_of(k, 2), hkv, &dk2) ||
        !dim_div(dim_of(v, 2), hkv, &dv))
        return kiln_infer_fail(ic, "packed head dims of query/key/value are not multiples of "
                                   "their head counts");
    if ((s = unify(ic, &b, dim_of(k, 0), "batch of query vs key")) != KILN_OK ||
        (s = unify(ic, &b, dim_of(v, 0), "batch of query vs value")) != KILN_OK ||
        (s = unify(ic, &t, dim_of(k, 1), "sequence of query vs key")) != KILN_OK ||
        (s = unify(ic, &t, dim_of(v, 1), "sequence of query vs value")) != KILN_OK ||
        (s = unify(ic, &dk, dk2, "key head size of query vs key")) != KILN_OK)
        return s;
    const struct kiln_type *ps = kiln_infer_in(ic, 3);
    struct kiln_dim hkvd = kiln_dim_const(hkv);
    if (ps && ((s = want_rank(ic, ps, 3, 4, "past_state")) != KILN_OK ||
               (s = unify(ic, &b, dim_of(ps, 0), "batch vs past_state")) != KILN_OK ||
               (s = unify(ic, &hkvd, dim_of(ps, 1), "kv heads vs past_state")) != KILN_OK ||
               (s = unify(ic, &dk, dim_of(ps, 2), "key head size vs past_state")) != KILN_OK ||
               (s = unify(ic, &dv, dim_of(ps, 3), "value head size vs past_state")) != KILN_OK))
        return s;
    struct kiln_dim y[3] = {b, t, kiln_dim_mul(kiln_dim_const(hq), dv)};
    struct kiln_dim st[4] = {b, hkvd, dk, dv};
    kiln_infer_set_out(ic, 0, q->dtype, 3, y);
    kiln_infer_set_out(ic, 1, ps ? ps->dtype : q->dtype, 4, st);
    return KILN_OK;
}

enum kiln_status
kiln_shape_causal_conv_with_state(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "input"),
                           *w = kiln_infer_need_in(ic, 1, "weight");
    if (!x || !w)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    for (int i = 1; i < 4 && s == KILN_OK; i++)
        if (kiln_infer_in(ic, i))
            s = kiln_infer_same_dtype(ic, 0, i);
    if (s == KILN_OK)
        s = want_rank(ic, x, 0, 3, "input");
    if (s == KILN_OK)
        s = want_rank(ic, w, 1, 3, "weight");
    if (s != KILN_OK)
        return s;
    const char *act = kiln_node_attr_string(ic->n, "activation", "none");
    if (strcmp(act, "none") != 0 && strcmp(act, "silu") != 0 && strcmp(act, "swish") != 0)
        return kiln_infer_fail(ic, "activation must be none, silu or swish, got '%s'", act);
    struct kiln_dim b = dim_of(x, 0), c = dim_of(x, 1), one = dim_of(w, 1), k = dim_of(w, 2);
    if (kiln_dim_is_const(one) && one.n != 1)
        return kiln_infer_fail(ic,
                               "weight must be [channels, 1, k] (depthwise), got dim 1 = "
                               "%lld",
                               (long long)one.n);
    if (kiln_dim_is_const(k) && k.n < 1)
        return kiln_infer_fail(ic, "kernel size must be >= 1, got %lld", (long long)k.n);
    if ((s = unify(ic, &c, dim_of(w, 0), "channels of input vs weight")) != KILN_OK)
        return s;
    const struct kiln_type *bias = kiln_infer_in(ic, 2), *past = kiln_infer_in(ic, 3);
    if (bias && ((s = want_rank(ic, bias, 2, 1, "bias")) != KILN_OK ||
                 (s = unify(ic, &c, dim_of(bias, 0), "channels vs bias")) != KILN_OK))
        return s;
    struct kiln_dim km1 = kiln_dim_is_const(k) ? kiln_dim_const(k.n - 1) : kiln_dim_unknown();
    if (past && ((s = want_rank(ic, past, 3, 3, "past_state")) != KILN_OK ||
                 (s = unify(ic, &b, dim_of(past, 0), "batch vs past_state")) != KILN_OK ||
                 (s = unify(ic, &c, dim_of(past, 1), "channels vs past_state")) != KILN_OK ||
                 (s = unify(ic, &km1, dim_of(past, 2), "k - 1 vs past_state")) != KILN_OK))
        return s;
    struct kiln_dim y[3] = {b, c, dim_of(x, 2)};
    struct kiln_dim st[3] = {b, c, km1};
    kiln_infer_set_out(ic, 0, x->dtype, x->rank < 0 ? -1 : 3, y);
    kiln_infer_set_out(ic, 1, x->dtype, 3, st);
    return KILN_OK;
}

/* ---------------------------------------------------------------- detection, linear algebra */

enum kiln_status
kiln_shape_nms(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *boxes = kiln_infer_need_in(ic, 0, "boxes"),
                           *scores = kiln_infer_need_in(ic, 1, "scores");
    if (!boxes || !scores)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, MASK(F32));
    if (s == KILN_OK)
        s = kiln_infer_require(ic, 1, MASK(F32));
    if (s == KILN_OK && kiln_infer_in(ic, 2))
        s = kiln_infer_require(ic, 2, MASK(I64));
    for (int i = 3; i <= 4 && s == KILN_OK; i++)
        if (kiln_infer_in(ic, i))
            s = kiln_infer_require(ic, i, MASK(F32));
    if (s == KILN_OK)
        s = want_rank(ic, boxes, 0, 3, "boxes");
    if (s == KILN_OK)
        s = want_rank(ic, scores, 1, 3, "scores");
    if (s != KILN_OK)
        return s;
    int64_t cpb = kiln_node_attr_int(ic->n, "center_point_box", 0);
    if (cpb != 0 && cpb != 1)
        return kiln_infer_fail(ic, "center_point_box must be 0 or 1, got %lld", (long long)cpb);
    struct kiln_dim four = dim_of(boxes, 2), nb = dim_of(boxes, 0), sp = dim_of(boxes, 1);
    if (kiln_dim_is_const(four) && four.n != 4)
        return kiln_infer_fail(ic,
                               "boxes must be [num_batches, spatial_dimension, 4], got dim 2 "
                               "= %lld",
                               (long long)four.n);
    if ((s = unify(ic, &nb, dim_of(scores, 0), "num_batches of boxes vs scores")) != KILN_OK ||
        (s = unify(ic, &sp, dim_of(scores, 2), "spatial_dimension of boxes vs scores")) != KILN_OK)
        return s;
    /* the number of selected boxes is data-dependent */
    struct kiln_dim d[2] = {kiln_dim_unknown(), kiln_dim_const(3)};
    kiln_infer_set_out(ic, 0, KILN_DT_I64, 2, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_det(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X");
    if (!x)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s != KILN_OK)
        return s;
    if (x->rank < 0) {
        kiln_infer_set_out(ic, 0, x->dtype, -1, NULL);
        return KILN_OK;
    }
    if (x->rank < 2)
        return kiln_infer_fail(ic, "input must be [..., M, M] (rank >= 2), got rank %d", x->rank);
    struct kiln_dim m = x->dims[x->rank - 2];
    if ((s = unify(ic, &m, x->dims[x->rank - 1], "Det needs square matrices")) != KILN_OK)
        return s;
    kiln_infer_set_out(ic, 0, x->dtype, x->rank - 2, x->dims);
    return KILN_OK;
}

enum kiln_status
kiln_shape_grid_sample(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *x = kiln_infer_need_in(ic, 0, "X"),
                           *grid = kiln_infer_need_in(ic, 1, "grid");
    if (!x || !grid)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 1, KILN_DT_MASK_FLOAT);
    if (s != KILN_OK)
        return s;
    const char *mode = kiln_node_attr_string(ic->n, "mode", ic->opset < 20 ? "bilinear" : "linear");
    static const char *const modes[] = {"bilinear", "nearest", "bicubic", "linear", "cubic"};
    bool ok = false;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        ok |= strcmp(mode, modes[i]) == 0;
    if (!ok)
        return kiln_infer_fail(ic,
                               "mode must be linear, nearest or cubic (bilinear/bicubic "
                               "before opset 20), got '%s'",
                               mode);
    const char *pm = kiln_node_attr_string(ic->n, "padding_mode", "zeros");
    if (strcmp(pm, "zeros") != 0 && strcmp(pm, "border") != 0 && strcmp(pm, "reflection") != 0)
        return kiln_infer_fail(ic, "padding_mode must be zeros, border or reflection, got '%s'",
                               pm);
    if ((s = check_image(ic, x, 0)) != KILN_OK)
        return s;
    /* GridSample-16 was 2-D only; 20 made it N-D */
    int rank = x->rank >= 0 ? x->rank : grid->rank;
    if (ic->opset < 20 && rank >= 0 && rank != 4)
        return kiln_infer_fail(ic, "GridSample-%lld takes 4-D input, got rank %d",
                               (long long)ic->opset, rank);
    if (x->rank >= 0 && grid->rank >= 0 && grid->rank != x->rank)
        return kiln_infer_fail(ic, "grid has rank %d but X has rank %d", grid->rank, x->rank);
    if (rank < 0) {
        kiln_infer_set_out(ic, 0, x->dtype, -1, NULL);
        return KILN_OK;
    }
    if (rank < 3 || rank > KILN_MAX_RANK)
        return kiln_infer_fail(ic, "grid rank %d is out of range", rank);
    struct kiln_dim r = dim_of(grid, rank - 1);
    if (kiln_dim_is_const(r) && r.n != rank - 2)
        return kiln_infer_fail(ic, "grid's last dim is %lld, expected %d (spatial rank)",
                               (long long)r.n, rank - 2);
    struct kiln_dim *d = new_dims(ic, rank);
    if (!d)
        return KILN_ERR_NOMEM;
    d[0] = dim_of(x, 0);
    if ((s = unify(ic, &d[0], dim_of(grid, 0), "batch of X vs grid")) != KILN_OK)
        return s;
    d[1] = dim_of(x, 1);
    for (int i = 2; i < rank; i++)
        d[i] = dim_of(grid, i - 1);
    kiln_infer_set_out(ic, 0, x->dtype, rank, d);
    return KILN_OK;
}

enum kiln_status
kiln_shape_affine_grid(struct kiln_infer_ctx *ic)
{
    const struct kiln_type *theta = kiln_infer_need_in(ic, 0, "theta"),
                           *size = kiln_infer_need_in(ic, 1, "size");
    if (!theta || !size)
        return KILN_ERR_INVALID;
    enum kiln_status s = kiln_infer_require(ic, 0, KILN_DT_MASK_FLOAT);
    if (s == KILN_OK)
        s = kiln_infer_require(ic, 1, MASK(I64));
    if (s == KILN_OK)
        s = want_rank(ic, theta, 0, 3, "theta");
    if (s == KILN_OK)
        s = want_rank(ic, size, 1, 1, "size");
    if (s != KILN_OK)
        return s;
    /* 2-D: theta [N, 2, 3], size [N, C, H, W]; 3-D: theta [N, 3, 4], size [N, C, D, H, W] */
    int sp = -1;
    struct kiln_dim t1 = dim_of(theta, 1), t2 = dim_of(theta, 2), sl = dim_of(size, 0);
    if (kiln_dim_is_const(t1))
        sp = (int)t1.n;
    else if (kiln_dim_is_const(t2))
        sp = (int)t2.n - 1;
    if (kiln_dim_is_const(sl)) {
        if (sl.n != 4 && sl.n != 5)
            return kiln_infer_fail(ic, "size has %lld values, expected 4 or 5", (long long)sl.n);
        if (sp >= 0 && sp != sl.n - 2)
            return kiln_infer_fail(ic, "theta is for %d-D but size has %lld values", sp,
                                   (long long)sl.n);
        sp = (int)sl.n - 2;
    }
    if (sp >= 0 && sp != 2 && sp != 3)
        return kiln_infer_fail(ic, "theta must be [N, 2, 3] or [N, 3, 4]");
    if (sp >= 0 &&
        ((kiln_dim_is_const(t1) && t1.n != sp) || (kiln_dim_is_const(t2) && t2.n != sp + 1)))
        return kiln_infer_fail(ic, "theta must be [N, %d, %d]", sp, sp + 1);
    if (sp < 0) {
        kiln_infer_set_out(ic, 0, theta->dtype, -1, NULL);
        return KILN_OK;
    }
    struct kiln_dim d[5];
    const struct kiln_dim *v;
    int64_t nv;
    bool known = kiln_infer_in_known(ic, 1, &v, &nv) && nv == sp + 2;
    d[0] = dim_of(theta, 0);
    if (known && (s = unify(ic, &d[0], known_dim(v[0]), "batch of theta vs size[0]")) != KILN_OK)
        return s;
    for (int i = 0; i < sp; i++) {
        d[1 + i] = known ? known_dim(v[2 + i]) : kiln_dim_unknown();
        if (known && kiln_dim_is_int(v[2 + i]) && v[2 + i].n < 1)
            return kiln_infer_fail(ic, "size[%d] is %lld; it must be >= 1", 2 + i,
                                   (long long)v[2 + i].n);
    }
    d[1 + sp] = kiln_dim_const(sp);
    kiln_infer_set_out(ic, 0, theta->dtype, sp + 2, d);
    return KILN_OK;
}

/* ---------------------------------------------------------------- FLOPs */

static int64_t
type_numel(const struct kiln_type *t)
{
    return t ? kiln_type_numel(t) : -1;
}

/* 2 * (output elements) * K, K being A's last dim: batch * M * N * K multiply-adds. */
int64_t
kiln_flops_matmul(const struct kiln_graph *g, const struct kiln_node *n)
{
    const struct kiln_type *a = kiln_node_in_type(g, n, 0);
    if (!a || a->rank < 1)
        return -1;
    int64_t k = dims_product(a, a->rank - 1, a->rank);
    return flops_mul(flops_mul(type_numel(kiln_node_out_type(g, n, 0)), k), 2);
}

/* 2 * M * N * K for A * B, plus M * N to add C when present. */
int64_t
kiln_flops_gemm(const struct kiln_graph *g, const struct kiln_node *n)
{
    const struct kiln_type *a = kiln_node_in_type(g, n, 0);
    if (!a || a->rank != 2)
        return -1;
    int ka = kiln_node_attr_int(n, "transA", 0) ? 0 : 1;
    int64_t mn = type_numel(kiln_node_out_type(g, n, 0));
    int64_t f = flops_mul(flops_mul(mn, dims_product(a, ka, ka + 1)), 2);
    return kiln_node_in_type(g, n, 2) ? flops_add(f, mn) : f;
}

/*
 * Conv family: each output element is a dot product over W's [C/group, k...],
 * so 2 * numel(Y) * prod(W dims 1..) = 2*N*Cout*prod(out)*Cin/group*prod(kernel),
 * plus numel(Y) for the bias.
 */
int64_t
kiln_flops_conv(const struct kiln_graph *g, const struct kiln_node *n)
{
    int wi = n->op == KILN_OP_QLINEAR_CONV ? 3 : 1;
    int bi = n->op == KILN_OP_CONV           ? 2
             : n->op == KILN_OP_QLINEAR_CONV ? 8
             : n->op == KILN_OP_DEFORM_CONV  ? 3
                                             : -1;
    const struct kiln_type *w = kiln_node_in_type(g, n, wi);
    if (!w || w->rank < 2)
        return -1;
    int64_t y = type_numel(kiln_node_out_type(g, n, 0));
    int64_t f = flops_mul(flops_mul(y, dims_product(w, 1, w->rank)), 2);
    return bi >= 0 && kiln_node_in_type(g, n, bi) ? flops_add(f, y) : f;
}

/* ConvTranspose: each input element scatters into W's [Cout/group, k...] taps:
 * 2 * numel(X) * prod(W dims 1..), plus numel(Y) for the bias. */
int64_t
kiln_flops_conv_transpose(const struct kiln_graph *g, const struct kiln_node *n)
{
    const struct kiln_type *w = kiln_node_in_type(g, n, 1);
    if (!w || w->rank < 2)
        return -1;
    int64_t x = type_numel(kiln_node_in_type(g, n, 0));
    int64_t f = flops_mul(flops_mul(x, dims_product(w, 1, w->rank)), 2);
    if (kiln_node_in_type(g, n, 2))
        f = flops_add(f, type_numel(kiln_node_out_type(g, n, 0)));
    return f;
}

/* Windowed pooling: one operation per window tap per output element. */
int64_t
kiln_flops_pool(const struct kiln_graph *g, const struct kiln_node *n)
{
    int64_t len;
    const int64_t *k = kiln_node_attr_ints(n, "kernel_shape", &len);
    int64_t f = type_numel(kiln_node_out_type(g, n, 0));
    for (int64_t i = 0; i < len; i++)
        f = flops_mul(f, k[i]);
    return f;
}

/* Reductions, arg-reductions, global pools and TopK: one operation per input element. */
int64_t
kiln_flops_reduce(const struct kiln_graph *g, const struct kiln_node *n)
{
    return type_numel(kiln_node_in_type(g, n, 0));
}

/*
 * RNN/GRU/LSTM: per time step, direction and batch row, the gate projections
 * (2 * G*H * (I + H)) plus about 4 elementwise operations per gate unit
 * (bias adds, activation, state update).
 */
int64_t
kiln_flops_rnn(const struct kiln_graph *g, const struct kiln_node *n)
{
    const struct kiln_type *x = kiln_node_in_type(g, n, 0), *w = kiln_node_in_type(g, n, 1);
    if (!x || !w || x->rank != 3 || w->rank != 3)
        return -1;
    int64_t steps = dims_product(x, 0, 2); /* seq * batch, either layout */
    int64_t nd = dims_product(w, 0, 1);
    int64_t gh = dims_product(w, 1, 2); /* G * H */
    int64_t in = dims_product(x, 2, 3);
    int64_t h = gh >= 0 ? gh / rnn_gates(n->op) : -1;
    int64_t per = flops_mul(flops_mul(gh, flops_add(in, h)), 2);
    per = flops_add(per, flops_mul(gh, 4));
    return flops_mul(flops_mul(per, steps), nd);
}

/*
 * Attention: Q K^T (2 * rows * S_kv * d_k), softmax (5 * rows * S_kv) and
 * P V (2 * rows * S_kv * d_v), with rows = batch * q_heads * q_seq.
 */
int64_t
kiln_flops_attention(const struct kiln_graph *g, const struct kiln_node *n)
{
    const struct kiln_type *q = kiln_node_in_type(g, n, 0), *k = kiln_node_in_type(g, n, 1);
    const struct kiln_type *y = kiln_node_out_type(g, n, 0);
    const struct kiln_type *pk = kiln_node_in_type(g, n, 4);
    if (!q || !k || !y || q->rank < 3 || k->rank < 3)
        return -1;
    int64_t kv = dims_product(k, k->rank == 4 ? 2 : 1, k->rank == 4 ? 3 : 2);
    if (pk && pk->rank == 4)
        kv = flops_add(kv, dims_product(pk, 2, 3));
    /* numel(Q) = rows * d_k and numel(Y) = rows * d_v */
    int64_t qk = flops_mul(flops_mul(type_numel(q), kv), 2);
    int64_t pv = flops_mul(flops_mul(type_numel(y), kv), 2);
    int64_t dk = q->rank == 4 ? dims_product(q, 3, 4) : -1;
    if (q->rank == 3) {
        int64_t heads = kiln_node_attr_int(n, "q_num_heads", 0), hid = dims_product(q, 2, 3);
        dk = heads > 0 && hid >= 0 && hid % heads == 0 ? hid / heads : -1;
    }
    if (dk <= 0)
        return -1;
    int64_t sm = flops_mul(flops_mul(type_numel(q) / dk, kv), 5);
    return flops_add(flops_add(qk, pv), sm);
}
