/*
 * lower_nn.c - lowering of network layers: Gemm and MatMul (float, integer,
 * QLinear), convolutions (Conv, ConvInteger, QLinearConv, ConvTranspose,
 * DeformConv, CausalConvWithState), pooling (average, max with indices, Lp,
 * global, MaxUnpool), reductions and ArgMax/ArgMin, normalizations (batch,
 * layer, instance, group, RMS, LRN, Lp, mean-variance), Softmax, LogSoftmax,
 * Hardmax, TopK, CumSum/CumProd, the loss ops, Einsum, Det, SwiGLU,
 * RotaryEmbedding, Attention, LinearAttention and the recurrent layers (RNN,
 * GRU, LSTM).
 *
 * Contract (lower_ops.h). These are the straightforward loop nests: correct
 * for every shape ONNX allows, parallel over the outermost independent axes,
 * accumulating in the compute type (f32 for f16/bf16). Reductions run their
 * innermost loop over the last reduced axis, contiguous where the layout
 * allows. Blocked, vectorized kernels for speed replace them where a pass
 * selects one; these stay as the general case.
 *
 * Semantics follow the ONNX spec for every opset version, and its reference
 * implementation where the spec is silent; where the two disagree (Softmax
 * and Hardmax before opset 13 coerce to 2-D, LRN sums over channels,
 * LpNormalization takes |x|^p) the spec wins, as in ONNX Runtime. Values that
 * became inputs (reduction axes, CumSum's axis) must be constants; reduction
 * axes computed at run time are read off the inferred shapes when those say
 * which they are. TopK's k is its output's extent. Ops that need scratch
 * memory (Det, Attention, LinearAttention, the recurrent layers) get
 * workspace buffers of their own (scratch_buf), sized from the node's shapes.
 */
#include <math.h>
#include <string.h>

#include "codegen/lower_build.h"
#include "codegen/lower_ops.h"

/* ---------------------------------------------------------------- small builders */

/* Whether expression x is the i64 immediate v. */
static bool
is_imm(const struct kiln_lx *x, int64_t v)
{
    return x->kind == KILN_LX_IMM && !kiln_dtype_is_float(x->type) && x->i == v;
}

/* Whether slot holds exactly one element (a scalar or all dims 1). */
static bool
is_single(struct kiln_lower_ctx *lc, int32_t slot)
{
    return is_imm(kiln_lower_numel(lc, slot), 1);
}

/* Whether two dim expressions are known to be equal. */
static bool
same_dim(const struct kiln_lx *a, const struct kiln_lx *b)
{
    if (a == b)
        return true;
    if (a->kind != b->kind)
        return false;
    if (a->kind == KILN_LX_IMM)
        return a->i == b->i;
    if (a->kind == KILN_LX_DIM)
        return a->dim == b->dim;
    if (a->kind == KILN_LX_BINARY)
        return a->op == b->op && same_dim(a->a, b->a) && same_dim(a->b, b->b);
    return false;
}

/* The smallest and largest values of type t (floats: -inf/+inf). */
static struct kiln_lx *
lowest(struct kiln_lower_ctx *lc, enum kiln_dtype t)
{
    if (kiln_dtype_is_float(t))
        return fimm(lc, t, -INFINITY);
    if (t == KILN_DT_BOOL || !(kiln_dtype_flags(t) & KILN_DTF_SIGNED))
        return kiln_lx_imm_i(lc, t, 0);
    int bits = kiln_dtype_bits(t);
    return kiln_lx_imm_i(lc, t, bits >= 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1)));
}

static struct kiln_lx *
highest(struct kiln_lower_ctx *lc, enum kiln_dtype t)
{
    if (kiln_dtype_is_float(t))
        return fimm(lc, t, INFINITY);
    if (t == KILN_DT_BOOL)
        return kiln_lx_imm_i(lc, t, 1);
    int bits = kiln_dtype_bits(t);
    if (!(kiln_dtype_flags(t) & KILN_DTF_SIGNED))
        return kiln_lx_imm_i(lc, t, bits >= 64 ? -1 : (INT64_C(1) << bits) - 1);
    return kiln_lx_imm_i(lc, t, bits >= 64 ? INT64_MAX : (INT64_C(1) << (bits - 1)) - 1);
}

/* max/min of two values; floats propagate NaN as numpy's maximum does. */
static struct kiln_lx *
vmax(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    if (a->type == KILN_DT_BOOL)
        return kiln_lx_binary(lc, KILN_LX_OR, a, b);
    return kiln_lx_binary(lc, KILN_LX_MAX, a, b);
}

static struct kiln_lx *
vmin(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    if (a->type == KILN_DT_BOOL)
        return kiln_lx_binary(lc, KILN_LX_AND, a, b);
    return kiln_lx_binary(lc, KILN_LX_MIN, a, b);
}

/* x clamped to [lo, hi] (same type). */
static struct kiln_lx *
clamp(struct kiln_lower_ctx *lc, struct kiln_lx *x, struct kiln_lx *lo, struct kiln_lx *hi)
{
    x = kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_LT, x, lo), lo, x);
    return kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_GT, x, hi), hi, x);
}

static int
norm_axis(int64_t axis, int rank)
{
    if (axis < 0)
        axis += rank;
    if (axis < 0)
        axis = 0;
    if (axis > rank)
        axis = rank;
    return (int)axis;
}

static bool
has_input(const struct kiln_lower_ctx *lc, int i)
{
    return i < lc->n->n_in && lc->n->in[i] >= 0;
}

/*
 * Integer contents of constant input i into out[max]; *n gets the count, -1
 * when the input is absent. Fails (naming the input) when it is present but
 * not a constant kiln can read.
 */
static enum kiln_status
const_ints(struct kiln_lower_ctx *lc, int i, const char *what, int64_t *out, int max, int *n)
{
    *n = -1;
    if (!has_input(lc, i))
        return KILN_OK;
    const struct kiln_tensor *t = kiln_lower_const_in(lc, i);
    if (!t)
        return kiln_lower_unsupported(lc, "%s depends on a runtime input; kiln needs a constant",
                                      what);
    int64_t cnt = kiln_tensor_numel(t);
    if (cnt < 0 || cnt > max)
        return kiln_lower_unsupported(lc, "%s has too many elements", what);
    for (int64_t j = 0; j < cnt; j++)
        if (!kiln_tensor_get_i64(t, j, &out[j]))
            return kiln_lower_unsupported(lc, "%s is not an integer tensor", what);
    *n = (int)cnt;
    return KILN_OK;
}

/* Round a value through type t (f16/bf16: what a computation in t would hold). */
static struct kiln_lx *
round_to(struct kiln_lower_ctx *lc, enum kiln_dtype t, struct kiln_lx *x)
{
    if (t == x->type)
        return x;
    return kiln_lx_cast(lc, x->type, kiln_lx_cast(lc, t, x));
}

/*
 * An axis of a tensor seen as [outer, len, inner]: the loop over outer*inner
 * positions (one variable p), and the flat index of element i along the axis.
 */
struct axis_view {
    struct kiln_lx *outer, *len, *inner;
    struct kiln_lx *base; /* flat index of element 0 along the axis, for position p */
};

static void
axis_view(struct kiln_lower_ctx *lc, int32_t slot, int axis, struct kiln_lx *p,
          struct axis_view *av)
{
    int r = kiln_lower_rank(lc, slot);
    av->outer = kiln_lower_dims_prod(lc, slot, 0, axis);
    av->len = r > 0 ? kiln_lower_dim(lc, slot, axis) : IX(lc, 1);
    av->inner = kiln_lower_dims_prod(lc, slot, axis + 1, r > 0 ? r : 0);
    if (p) {
        struct kiln_lx *po = div_i(lc, p, av->inner), *pi = rem_i(lc, p, av->inner);
        av->base = add_i(lc, mul_i(lc, mul_i(lc, po, av->len), av->inner), pi);
    }
}

static struct kiln_lx *
axis_at(struct kiln_lower_ctx *lc, const struct axis_view *av, struct kiln_lx *i)
{
    return add_i(lc, av->base, mul_i(lc, i, av->inner));
}

/* Split flat over the extents dims[n] (row-major) into idx[n]. */
static void
unflatten(struct kiln_lower_ctx *lc, struct kiln_lx *flat, struct kiln_lx *const *dims, int n,
          struct kiln_lx **idx)
{
    for (int i = n - 1; i >= 0; i--) {
        if (i == 0) {
            idx[i] = flat;
        } else {
            idx[i] = rem_i(lc, flat, dims[i]);
            flat = div_i(lc, flat, dims[i]);
        }
    }
}

/* ---------------------------------------------------------------- Gemm */

static enum kiln_status gemm_dense(struct kiln_lower_ctx *lc, enum kiln_dtype ct);

/* Columns per task of a Gemm with few rows (gemm_dense). */
enum { GEMM_COLS = 256 };

enum kiln_status
kiln_lower_gemm(struct kiln_lower_ctx *lc)
{
    if (kiln_dtype_is_float(
            kiln_lower_compute_type(kiln_lower_buf(lc, kiln_lower_out(lc, 0))->dtype)))
        return gemm_dense(
            lc, kiln_lower_compute_type(kiln_lower_buf(lc, kiln_lower_out(lc, 0))->dtype));
    int32_t a = kiln_lower_in(lc, 0), b = kiln_lower_in(lc, 1), c = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    bool ta = kiln_node_attr_int(lc->n, "transA", 0) != 0;
    bool tb = kiln_node_attr_int(lc->n, "transB", 0) != 0;
    float alpha = kiln_node_attr_float(lc->n, "alpha", 1.0f);
    float beta = kiln_node_attr_float(lc->n, "beta", 1.0f);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    bool fl = kiln_dtype_is_float(ct);
    struct kiln_lx *M = kiln_lower_dim(lc, y, 0), *N = kiln_lower_dim(lc, y, 1);
    struct kiln_lx *K = kiln_lower_dim(lc, a, ta ? 0 : 1);
    struct kiln_lx *lda = kiln_lower_dim(lc, a, 1), *ldb = kiln_lower_dim(lc, b, 1);
    int32_t i, j, k;
    struct kiln_lblock *rows = kiln_lk_parallel(lc, M, &i);
    struct kiln_ls *fj = loop(lc, rows, "j", N, &j);
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, &fj->body, acc, fimm(lc, ct, 0));
    struct kiln_ls *fk = loop(lc, &fj->body, "k", K, &k);
    struct kiln_lx *vi = V(lc, i), *vj = V(lc, j), *vk = V(lc, k);
    struct kiln_lx *ia = ta ? add_i(lc, mul_i(lc, vk, lda), vi) : add_i(lc, mul_i(lc, vi, lda), vk);
    struct kiln_lx *ib = tb ? add_i(lc, mul_i(lc, vj, ldb), vk) : add_i(lc, mul_i(lc, vk, ldb), vj);
    struct kiln_lx *prod = bin(lc, KILN_LX_MUL, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, a, ia)),
                               kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, b, ib)));
    accum(lc, &fk->body, acc, KILN_LX_ADD, prod);
    /* integer Gemm with a scale computes the epilogue in f64, as numpy would */
    enum kiln_dtype et = fl || (alpha == 1.0f && beta == 1.0f) ? ct : KILN_DT_F64;
    struct kiln_lx *v = kiln_lx_cast(lc, et, V(lc, acc));
    if (alpha != 1.0f)
        v = bin(lc, KILN_LX_MUL, v, fimm(lc, et, alpha));
    if (c >= 0 && beta != 0.0f) {
        struct kiln_lx *ij[2] = {vi, vj};
        struct kiln_lx *cv =
            kiln_lx_cast(lc, et, kiln_lx_load_f(lc, c, kiln_lower_offset(lc, c, ij, 2)));
        if (beta != 1.0f)
            cv = bin(lc, KILN_LX_MUL, cv, fimm(lc, et, beta));
        v = bin(lc, KILN_LX_ADD, v, cv);
    }
    struct kiln_lx *yij[2] = {vi, vj};
    kiln_lb_store_out(lc, &fj->body, y, add_i(lc, mul_i(lc, vi, N), vj), kiln_lx_cast(lc, ct, v),
                      yij);
    return KILN_OK;
}

/* ---------------------------------------------------------------- MatMul family */

/* Element of a zero-point or scale input that is a scalar or indexed by `at`. */
static struct kiln_lx *
per_index(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *at)
{
    return kiln_lx_load_f(lc, slot, is_single(lc, slot) ? IX(lc, 0) : at);
}

/*
 * (q - zp) as i32 for the integer ops; zp may be absent (-1).
 */
static struct kiln_lx *
dezero(struct kiln_lower_ctx *lc, struct kiln_lx *q, int32_t zp, struct kiln_lx *at)
{
    struct kiln_lx *v = kiln_lx_cast(lc, KILN_DT_I32, q);
    if (zp >= 0)
        v = bin(lc, KILN_LX_SUB, v, kiln_lx_cast(lc, KILN_DT_I32, per_index(lc, zp, at)));
    return v;
}

/*
 * The QLinear epilogue: saturate(rint(acc * (sa * sb / sy)) + zy) into the
 * output's type. The multiplier is computed in the scales' own type (as the
 * reference does in numpy), the rest in f64.
 */
static struct kiln_lx *
requantize(struct kiln_lower_ctx *lc, struct kiln_lx *acc, struct kiln_lx *sa, struct kiln_lx *sb,
           struct kiln_lx *sy, struct kiln_lx *zy, enum kiln_dtype st, enum kiln_dtype yt)
{
    struct kiln_lx *mult = round_to(lc, st, bin(lc, KILN_LX_MUL, sa, sb));
    mult = round_to(lc, st, bin(lc, KILN_LX_DIV, mult, sy));
    struct kiln_lx *d = bin(lc, KILN_LX_MUL, kiln_lx_cast(lc, KILN_DT_F64, acc),
                            kiln_lx_cast(lc, KILN_DT_F64, mult));
    if (zy)
        d = bin(lc, KILN_LX_ADD, d, kiln_lx_cast(lc, KILN_DT_F64, zy));
    d = kiln_lx_unary(lc, KILN_LX_ROUND, d);
    d = clamp(lc, d, kiln_lx_cast(lc, KILN_DT_F64, lowest(lc, yt)),
              kiln_lx_cast(lc, KILN_DT_F64, highest(lc, yt)));
    return kiln_lx_cast(lc, yt, d);
}

/*
 * The buffer a float GEMM-like kernel accumulates its result in: the output
 * itself when it is memory of the compute type, else a scratch of the
 * output's size (a fused node's register result, or f16/bf16 outputs). The
 * epilogue pass then reads each element back once, while its row or plane
 * is still in cache, and stores it through kiln_lb_store_out. *in_place says
 * whether the accumulator is the output (no epilogue pass needed).
 */
static int32_t
accumulator(struct kiln_lower_ctx *lc, int32_t y, enum kiln_dtype ct, bool *in_place)
{
    const struct kiln_lbuf *yb = kiln_lower_buf(lc, y);
    *in_place = yb->kind != KILN_LBUF_REG && yb->dtype == ct;
    if (*in_place)
        return y;
    return kiln_lower_slot(lc, kiln_lower_scratch(lc, ct, kiln_lower_numel(lc, y)));
}

/*
 * Rows rows[0..nr) of a row-major product (A [R, K] rows, B [K, N] weights)
 * accumulated in acc (row i at i * N) and stored through the epilogue: the
 * rows are cleared, then for each k (four at a time, then the rest) every
 * row gains a[row, k] * b[k, :], the B values loaded once for all rows, a
 * contiguous, vectorizable update; then each element is stored once.
 */
static void
rows_product(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, struct kiln_lx *const *rows,
             int nr, int32_t a, int32_t b, int32_t acc, int32_t y, bool in_place, struct kiln_lx *K,
             struct kiln_lx *N, enum kiln_dtype ct)
{
    int32_t j, k;
    for (int r = 0; r < nr; r++) {
        struct kiln_ls *f0 = loop(lc, blk, "j", N, &j);
        f0->hints |= KILN_LS_HINT_VECTORIZE;
        kiln_lb_store(lc, &f0->body, acc, add_i(lc, mul_i(lc, rows[r], N), V(lc, j)),
                      fimm(lc, ct, 0));
    }
    struct kiln_lx *K4 = mul_i(lc, div_i(lc, K, IX(lc, 4)), IX(lc, 4));
    for (int pass = 0; pass < 2; pass++) {
        int step = pass == 0 ? 4 : 1;
        struct kiln_ls *fk = pass == 0
                                 ? kiln_lb_for(lc, blk, "k", IX(lc, 0), div_i(lc, K, IX(lc, 4)), &k)
                                 : kiln_lb_for(lc, blk, "k", K4, K, &k);
        struct kiln_lx *k0 = pass == 0 ? mul_i(lc, V(lc, k), IX(lc, 4)) : V(lc, k);
        int32_t av[4][4];
        for (int r = 0; r < nr; r++)
            for (int u = 0; u < step; u++) {
                av[r][u] = kiln_lk_var(lc, ct, "a");
                struct kiln_lx *at = add_i(lc, mul_i(lc, rows[r], K), add_i(lc, k0, IX(lc, u)));
                kiln_lb_set(lc, &fk->body, av[r][u],
                            kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, a, at)));
            }
        struct kiln_ls *fj = loop(lc, &fk->body, "j", N, &j);
        fj->hints |= KILN_LS_HINT_VECTORIZE;
        int32_t bv[4];
        for (int u = 0; u < step; u++) {
            bv[u] = kiln_lk_var(lc, ct, "b");
            struct kiln_lx *at = add_i(lc, mul_i(lc, add_i(lc, k0, IX(lc, u)), N), V(lc, j));
            kiln_lb_set(lc, &fj->body, bv[u], kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, b, at)));
        }
        for (int r = 0; r < nr; r++) {
            struct kiln_lx *at = add_i(lc, mul_i(lc, rows[r], N), V(lc, j));
            struct kiln_lx *sum = kiln_lx_load(lc, acc, at);
            for (int u = 0; u < step; u++)
                sum =
                    bin(lc, KILN_LX_ADD, sum, bin(lc, KILN_LX_MUL, V(lc, av[r][u]), V(lc, bv[u])));
            kiln_lb_store(lc, &fj->body, acc, at, sum);
        }
    }
    if (in_place)
        return;
    int ry = kiln_lower_rank(lc, y);
    for (int r = 0; r < nr; r++) {
        struct kiln_ls *fe = loop(lc, blk, "j", N, &j);
        struct kiln_lx *at = add_i(lc, mul_i(lc, rows[r], N), V(lc, j));
        /* the row's axes from the row number (loop-invariant: hoisted), then j */
        struct kiln_lx *yi[KILN_MAX_RANK], *ydims[KILN_MAX_RANK];
        for (int d = 0; d < ry - 1; d++)
            ydims[d] = kiln_lower_dim(lc, y, d);
        unflatten(lc, rows[r], ydims, ry - 1, yi);
        yi[ry - 1] = V(lc, j);
        kiln_lb_store_out(lc, &fe->body, y, at, kiln_lx_load(lc, acc, at), yi);
    }
}

/*
 * Float MatMul of rows by a 2-D B (weights), A's batch dims those of the
 * output: the R = batch * M rows are one row-major [R, K] matrix. Four rows
 * per task share every B load; the R % 4 rows left take a task each.
 */
static enum kiln_status
matmul_rows(struct kiln_lower_ctx *lc, int32_t a, int32_t b, int32_t y, enum kiln_dtype ct)
{
    int ra = kiln_lower_rank(lc, a);
    struct kiln_lx *K = kiln_lower_dim(lc, a, ra - 1), *N = kiln_lower_dim(lc, b, 1);
    struct kiln_lx *R = kiln_lower_dims_prod(lc, a, 0, ra - 1);
    bool in_place;
    int32_t acc = accumulator(lc, y, ct, &in_place);
    struct kiln_lx *R4 = div_i(lc, R, IX(lc, 4));
    int32_t p;
    struct kiln_lblock *body =
        kiln_lk_parallel(lc, add_i(lc, R4, sub_i(lc, R, mul_i(lc, R4, IX(lc, 4)))), &p);
    kiln_lower_method(lc, "rows of A, 4 per task");
    struct kiln_ls *split = kiln_lb_if(lc, body, bin(lc, KILN_LX_LT, V(lc, p), R4));
    struct kiln_lx *rows[4];
    for (int r = 0; r < 4; r++)
        rows[r] = add_i(lc, mul_i(lc, V(lc, p), IX(lc, 4)), IX(lc, r));
    rows_product(lc, &split->body, rows, 4, a, b, acc, y, in_place, K, N, ct);
    struct kiln_lx *tail = add_i(lc, mul_i(lc, R4, IX(lc, 4)), sub_i(lc, V(lc, p), R4));
    rows_product(lc, &split->orelse, &tail, 1, a, b, acc, y, in_place, K, N, ct);
    return KILN_OK;
}

/*
 * Float MatMul with both operands at least 2-D, in i-k-j order: per output
 * row, the row is cleared, then for each k (four at a time) the row gains
 * a[i,k] * b[k,:], a contiguous, vectorizable update of the row in cache;
 * the epilogue pass stores the row. Replaces a dot product per element that
 * walked B by columns.
 */
static enum kiln_status
matmul_dense(struct kiln_lower_ctx *lc, int32_t a, int32_t b, int32_t y, enum kiln_dtype ct)
{
    int ra = kiln_lower_rank(lc, a), rb = kiln_lower_rank(lc, b), ry = kiln_lower_rank(lc, y);
    struct kiln_lx *M = kiln_lower_dim(lc, a, ra - 2), *K = kiln_lower_dim(lc, a, ra - 1);
    struct kiln_lx *N = kiln_lower_dim(lc, b, rb - 1);
    int nb = ry - 2;
    struct kiln_lx *bdims[KILN_MAX_RANK], *bi[KILN_MAX_RANK + 2];
    for (int d = 0; d < nb; d++)
        bdims[d] = kiln_lower_dim(lc, y, d);
    bool in_place;
    int32_t acc = accumulator(lc, y, ct, &in_place);
    int32_t p, j, k;
    struct kiln_lblock *body =
        kiln_lk_parallel(lc, mul_i(lc, kiln_lower_dims_prod(lc, y, 0, nb), M), &p);
    struct kiln_lx *vi = rem_i(lc, V(lc, p), M);
    unflatten(lc, div_i(lc, V(lc, p), M), bdims, nb, bi);
    struct kiln_lx *row = mul_i(lc, V(lc, p), N);
    struct kiln_ls *f0 = loop(lc, body, "j", N, &j);
    f0->hints |= KILN_LS_HINT_VECTORIZE;
    kiln_lb_store(lc, &f0->body, acc, add_i(lc, row, V(lc, j)), fimm(lc, ct, 0));
    /* A's element (i, k) and B's (k, j), with the batch dims broadcast */
    struct kiln_lx *ia[KILN_MAX_RANK + 2], *ib[KILN_MAX_RANK + 2];
    for (int d = 0; d < nb; d++)
        ia[d] = ib[d] = bi[d];
    bool a_rows = ra == nb + 2;
    for (int d = 0; a_rows && d < nb; d++)
        a_rows = same_dim(kiln_lower_dim(lc, a, d), bdims[d]);
    /* k in steps of 4, then the rest: four products per update of the row */
    struct kiln_lx *K4 = mul_i(lc, div_i(lc, K, IX(lc, 4)), IX(lc, 4));
    for (int pass = 0; pass < 2; pass++) {
        int step = pass == 0 ? 4 : 1;
        struct kiln_ls *fk =
            pass == 0 ? kiln_lb_for(lc, body, "k", IX(lc, 0), div_i(lc, K, IX(lc, 4)), &k)
                      : kiln_lb_for(lc, body, "k", K4, K, &k);
        struct kiln_lx *k0 = pass == 0 ? mul_i(lc, V(lc, k), IX(lc, 4)) : V(lc, k);
        int32_t av[4];
        struct kiln_lx *boff[4];
        for (int u = 0; u < step; u++) {
            struct kiln_lx *kk = add_i(lc, k0, IX(lc, u));
            ia[nb] = vi;
            ia[nb + 1] = kk;
            struct kiln_lx *aoff = a_rows ? add_i(lc, mul_i(lc, V(lc, p), K), kk)
                                          : kiln_lower_offset(lc, a, ia, nb + 2);
            av[u] = kiln_lk_var(lc, ct, "a");
            kiln_lb_set(lc, &fk->body, av[u], kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, a, aoff)));
            ib[nb] = kk;
            ib[nb + 1] = IX(lc, 0);
            boff[u] = kiln_lower_offset(lc, b, ib, nb + 2);
        }
        struct kiln_ls *fj = loop(lc, &fk->body, "j", N, &j);
        fj->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *at = add_i(lc, row, V(lc, j));
        struct kiln_lx *sum = kiln_lx_load(lc, acc, at);
        for (int u = 0; u < step; u++) {
            struct kiln_lx *bv =
                kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, b, add_i(lc, boff[u], V(lc, j))));
            sum = bin(lc, KILN_LX_ADD, sum, bin(lc, KILN_LX_MUL, V(lc, av[u]), bv));
        }
        kiln_lb_store(lc, &fj->body, acc, at, sum);
    }
    if (in_place)
        return KILN_OK;
    struct kiln_ls *fe = loop(lc, body, "j", N, &j);
    struct kiln_lx *yi[KILN_MAX_RANK + 2];
    for (int d = 0; d < nb; d++)
        yi[d] = bi[d];
    yi[nb] = vi;
    yi[nb + 1] = V(lc, j);
    struct kiln_lx *at = add_i(lc, row, V(lc, j));
    kiln_lb_store_out(lc, &fe->body, y, at, kiln_lx_load(lc, acc, at), yi);
    return KILN_OK;
}

/*
 * Float Gemm: Y = alpha * A' B' + beta * C in the same i-k-j order as
 * matmul_dense (B' walked by rows when transB = 0; canonicalize turns a
 * constant B with transB = 1 into a transposed constant), then an epilogue
 * pass applying alpha, beta * C and the fused ops.
 */
static enum kiln_status
gemm_dense(struct kiln_lower_ctx *lc, enum kiln_dtype ct)
{
    int32_t a = kiln_lower_in(lc, 0), c = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    bool ta = kiln_node_attr_int(lc->n, "transA", 0) != 0;
    bool tb = kiln_node_attr_int(lc->n, "transB", 0) != 0;
    float alpha = kiln_node_attr_float(lc->n, "alpha", 1.0f);
    float beta = kiln_node_attr_float(lc->n, "beta", 1.0f);
    /* constant weights (canonicalize made them [K, N]) and no bias or a bias
     * of N: the packed GEMM kernel, bias and epilogue on its register tile */
    const struct kiln_tensor *wc = kiln_lower_const_in(lc, 1);
    const struct kiln_lx *cn =
        c >= 0 ? kiln_lower_dims_prod(lc, c, 0, kiln_lower_rank(lc, c)) : NULL;
    if (ct == KILN_DT_F32 && !ta && !tb && alpha == 1.0f && wc && wc->rank == 2 &&
        kiln_lower_buf(lc, a)->dtype == ct &&
        (c < 0 || beta == 0.0f ||
         (kiln_lower_buf(lc, c)->dtype == ct && cn->kind == KILN_LX_IMM && cn->i == wc->dims[1] &&
          (kiln_lower_rank(lc, c) == 1 ||
           (kiln_lower_rank(lc, c) == 2 && cn->i == kiln_lower_dim(lc, c, 1)->i)))) &&
        kiln_lower_matmul_packed_fits(lc, wc, kiln_lower_dim(lc, a, 0)))
        return kiln_lower_matmul_packed_bias(lc, a, wc, beta == 0.0f ? -1 : c, beta, y, ct);
    struct kiln_lx *M = kiln_lower_dim(lc, y, 0), *N = kiln_lower_dim(lc, y, 1);
    struct kiln_lx *K = kiln_lower_dim(lc, a, ta ? 0 : 1);
    struct kiln_lx *lda = kiln_lower_dim(lc, a, 1);
    bool in_place;
    int32_t acc = accumulator(lc, y, ct, &in_place);
    /* with few rows (a classifier at a small batch), tasks are blocks of
     * GEMM_COLS columns, so that every thread has work */
    const int64_t NB =
        M->kind == KILN_LX_IMM && N->kind == KILN_LX_IMM && M->i < 16 && N->i >= 2 * GEMM_COLS
            ? (N->i + GEMM_COLS - 1) / GEMM_COLS
            : 1;
    /* a constant B read by column blocks: packed at compile time as
     * [NB][K][GEMM_COLS] (zero past N), so that a task streams contiguous
     * memory; the packed copy replaces B */
    const struct kiln_tensor *bt =
        NB > 1 && ct == KILN_DT_F32 && K->kind == KILN_LX_IMM ? kiln_lower_const_in(lc, 1) : NULL;
    if (bt && bt->rank != 2)
        bt = NULL;
    int32_t b;
    if (bt) {
        void *data;
        int32_t pb = kiln_lower_const(lc, ct, NB * K->i * GEMM_COLS, "packed", &data);
        float *pw = data;
        for (int64_t kk = 0; kk < K->i; kk++)
            for (int64_t jj = 0; jj < N->i; jj++) {
                double v = 0;
                kiln_tensor_get_f64(bt, tb ? jj * K->i + kk : kk * N->i + jj, &v);
                pw[((jj / GEMM_COLS) * K->i + kk) * GEMM_COLS + jj % GEMM_COLS] = (float)v;
            }
        b = kiln_lower_slot(lc, pb);
    } else {
        b = kiln_lower_in(lc, 1);
    }
    /* a task: one row (over every column), or a column block of all M rows
     * (each B element loaded once for the M rows) */
    int32_t p, j, k;
    struct kiln_lblock *body = kiln_lk_parallel(lc, NB > 1 ? IX(lc, NB) : M, &p);
    const int nrows = NB > 1 ? (int)M->i : 1;
    struct kiln_lx *rows[16];
    for (int r = 0; r < nrows; r++)
        rows[r] = NB > 1 ? IX(lc, r) : V(lc, p);
    struct kiln_lx *j0 = IX(lc, 0), *j1 = N;
    if (NB > 1) {
        j0 = mul_i(lc, V(lc, p), IX(lc, GEMM_COLS));
        j1 = kiln_lx_select(lc, bin(lc, KILN_LX_LT, add_i(lc, j0, IX(lc, GEMM_COLS)), N),
                            add_i(lc, j0, IX(lc, GEMM_COLS)), N);
    }
    for (int r = 0; r < nrows; r++) {
        struct kiln_ls *f0 = kiln_lb_for(lc, body, "j", j0, j1, &j);
        f0->hints |= KILN_LS_HINT_VECTORIZE;
        kiln_lb_store(lc, &f0->body, acc, add_i(lc, mul_i(lc, rows[r], N), V(lc, j)),
                      fimm(lc, ct, 0));
    }
    if (NB > 1)
        kiln_lower_method(lc, "%d row%s in blocks of %d columns%s", nrows, nrows > 1 ? "s" : "",
                          GEMM_COLS, bt ? ", packed weights" : "");
    struct kiln_ls *fk = loop(lc, body, "k", K, &k);
    int32_t av[16];
    for (int r = 0; r < nrows; r++) {
        struct kiln_lx *ia = ta ? add_i(lc, mul_i(lc, V(lc, k), lda), rows[r])
                                : add_i(lc, mul_i(lc, rows[r], lda), V(lc, k));
        av[r] = kiln_lk_var(lc, ct, "a");
        kiln_lb_set(lc, &fk->body, av[r], kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, a, ia)));
    }
    struct kiln_ls *fj = kiln_lb_for(lc, &fk->body, "j", j0, j1, &j);
    fj->hints |= KILN_LS_HINT_VECTORIZE;
    struct kiln_lx *ib;
    if (bt)
        ib = add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, V(lc, p), K), V(lc, k)), IX(lc, GEMM_COLS)),
                   sub_i(lc, V(lc, j), j0));
    else
        ib = tb ? add_i(lc, mul_i(lc, V(lc, j), kiln_lower_dim(lc, b, 1)), V(lc, k))
                : add_i(lc, mul_i(lc, V(lc, k), kiln_lower_dim(lc, b, 1)), V(lc, j));
    int32_t bv = kiln_lk_var(lc, ct, "b");
    kiln_lb_set(lc, &fj->body, bv, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, b, ib)));
    for (int r = 0; r < nrows; r++) {
        struct kiln_lx *at = add_i(lc, mul_i(lc, rows[r], N), V(lc, j));
        kiln_lb_store(lc, &fj->body, acc, at,
                      bin(lc, KILN_LX_ADD, kiln_lx_load(lc, acc, at),
                          bin(lc, KILN_LX_MUL, V(lc, av[r]), V(lc, bv))));
    }
    bool with_c = c >= 0 && beta != 0.0f;
    if (in_place && alpha == 1.0f && !with_c)
        return KILN_OK;
    for (int r = 0; r < nrows; r++) {
        struct kiln_ls *fe = kiln_lb_for(lc, body, "j", j0, j1, &j);
        struct kiln_lx *ij[2] = {rows[r], V(lc, j)};
        struct kiln_lx *ea = add_i(lc, mul_i(lc, rows[r], N), V(lc, j));
        struct kiln_lx *v = kiln_lx_load(lc, acc, ea);
        if (alpha != 1.0f)
            v = bin(lc, KILN_LX_MUL, v, fimm(lc, ct, alpha));
        if (with_c) {
            struct kiln_lx *cv =
                kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, c, kiln_lower_offset(lc, c, ij, 2)));
            if (beta != 1.0f)
                cv = bin(lc, KILN_LX_MUL, cv, fimm(lc, ct, beta));
            v = bin(lc, KILN_LX_ADD, v, cv);
        }
        kiln_lb_store_out(lc, &fe->body, y, ea, v, ij);
    }
    return KILN_OK;
}

/*
 * MatMul, MatMulInteger, QLinearMatMul: numpy matmul semantics (1-D operands
 * promoted and their axis removed, batch dims broadcast). Parallel over the
 * output rows of every batch; the reduction runs in an accumulator.
 */
enum kiln_status
kiln_lower_matmul(struct kiln_lower_ctx *lc)
{
    enum kiln_op op = lc->n->op;
    bool q = op == KILN_OP_QLINEAR_MATMUL, integer = op == KILN_OP_MATMUL_INTEGER;
    int32_t a = kiln_lower_in(lc, 0), b = kiln_lower_in(lc, q ? 3 : 1), y = kiln_lower_out(lc, 0);
    int32_t azp = -1, bzp = -1, as = -1, bs = -1, ys = -1, yzp = -1;
    if (integer) {
        azp = kiln_lower_in(lc, 2);
        bzp = kiln_lower_in(lc, 3);
    } else if (q) {
        as = kiln_lower_in(lc, 1);
        azp = kiln_lower_in(lc, 2);
        bs = kiln_lower_in(lc, 4);
        bzp = kiln_lower_in(lc, 5);
        ys = kiln_lower_in(lc, 6);
        yzp = kiln_lower_in(lc, 7);
    }
    int ra = kiln_lower_rank(lc, a), rb = kiln_lower_rank(lc, b), ry = kiln_lower_rank(lc, y);
    enum kiln_dtype yt = kiln_lower_buf(lc, y)->dtype;
    enum kiln_dtype ct = integer || q ? KILN_DT_I32 : kiln_lower_compute_type(yt);
    if (!integer && !q && kiln_dtype_is_float(ct) && ra >= 2 && rb == 2 && ry == ra) {
        bool rows_ok = true; /* A's batch dims are the output's: rows flatten */
        for (int d = 0; d < ra - 2 && rows_ok; d++)
            rows_ok = same_dim(kiln_lower_dim(lc, a, d), kiln_lower_dim(lc, y, d));
        const struct kiln_tensor *bt = kiln_lower_const_in(lc, 1);
        if (rows_ok && ct == KILN_DT_F32 &&
            kiln_lower_matmul_packed_fits(lc, bt, kiln_lower_dims_prod(lc, a, 0, ra - 1)))
            return kiln_lower_matmul_packed(lc, a, bt, y, ct);
        if (rows_ok)
            return matmul_rows(lc, a, b, y, ct);
    }
    if (!integer && !q && kiln_dtype_is_float(ct) && ra >= 2 && rb >= 2)
        return matmul_dense(lc, a, b, y, ct);
    struct kiln_lx *M = ra >= 2 ? kiln_lower_dim(lc, a, ra - 2) : IX(lc, 1);
    struct kiln_lx *K = kiln_lower_dim(lc, a, ra - 1);
    struct kiln_lx *N = rb >= 2 ? kiln_lower_dim(lc, b, rb - 1) : IX(lc, 1);
    int nb = ry - (ra >= 2) - (rb >= 2);
    if (nb < 0)
        nb = 0;
    struct kiln_lx *bdims[KILN_MAX_RANK], *bi[KILN_MAX_RANK + 2];
    for (int d = 0; d < nb; d++)
        bdims[d] = kiln_lower_dim(lc, y, d);
    struct kiln_lx *batches = kiln_lower_dims_prod(lc, y, 0, nb);
    int32_t p, j, k;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, batches, M), &p);
    struct kiln_lx *vi = rem_i(lc, V(lc, p), M);
    unflatten(lc, div_i(lc, V(lc, p), M), bdims, nb, bi);
    struct kiln_ls *fj = loop(lc, body, "j", N, &j);
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, &fj->body, acc, fimm(lc, ct, 0));
    struct kiln_ls *fk = loop(lc, &fj->body, "k", K, &k);
    struct kiln_lx *vj = V(lc, j), *vk = V(lc, k);
    struct kiln_lx *ia[KILN_MAX_RANK + 2], *ib[KILN_MAX_RANK + 2];
    for (int d = 0; d < nb; d++)
        ia[d] = ib[d] = bi[d];
    ia[nb] = vi;
    ia[nb + 1] = vk;
    ib[nb] = vk;
    ib[nb + 1] = vj;
    /* A's rows follow the output's when its batch dims are the output's */
    bool a_rows = ra == nb + 2;
    for (int d = 0; a_rows && d < nb; d++)
        a_rows = same_dim(kiln_lower_dim(lc, a, d), bdims[d]);
    struct kiln_lx *aoff =
        a_rows ? add_i(lc, mul_i(lc, V(lc, p), K), vk) : kiln_lower_offset(lc, a, ia, nb + 2);
    struct kiln_lx *la = kiln_lx_load_f(lc, a, aoff);
    struct kiln_lx *lb = kiln_lx_load_f(lc, b, rb == 1 ? vk : kiln_lower_offset(lc, b, ib, nb + 2));
    if (integer || q) {
        la = dezero(lc, la, azp, vi);
        lb = dezero(lc, lb, bzp, vj);
    } else {
        la = kiln_lx_cast(lc, ct, la);
        lb = kiln_lx_cast(lc, ct, lb);
    }
    accum(lc, &fk->body, acc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, la, lb));
    struct kiln_lx *res = V(lc, acc);
    if (q) {
        enum kiln_dtype st = kiln_lower_buf(lc, as)->dtype;
        enum kiln_dtype sct = kiln_lower_compute_type(st);
        res = requantize(lc, res, kiln_lx_cast(lc, sct, per_index(lc, as, vi)),
                         kiln_lx_cast(lc, sct, per_index(lc, bs, vj)),
                         kiln_lx_cast(lc, sct, per_index(lc, ys, IX(lc, 0))),
                         yzp >= 0 ? per_index(lc, yzp, IX(lc, 0)) : NULL, st, yt);
    }
    /* the output is [batch..., M?, N?] row-major: row p, column j */
    struct kiln_lx *yi[KILN_MAX_RANK + 2];
    int k_y = 0;
    for (int d = 0; d < nb; d++)
        yi[k_y++] = bi[d];
    if (ra >= 2)
        yi[k_y++] = vi;
    if (rb >= 2)
        yi[k_y++] = vj;
    kiln_lb_store_out(lc, &fj->body, y, rb >= 2 ? add_i(lc, mul_i(lc, V(lc, p), N), vj) : V(lc, p),
                      res, k_y == ry ? yi : NULL);
    return KILN_OK;
}

/* ---------------------------------------------------------------- convolution geometry */

/* Spatial geometry of a convolution or pooling window, per spatial axis. */
struct conv_geom {
    int sp; /* spatial rank */
    int64_t stride[KILN_MAX_RANK], dil[KILN_MAX_RANK];
    int64_t pad[KILN_MAX_RANK];     /* at the beginning */
    int64_t pad_end[KILN_MAX_RANK]; /* at the end */
    int64_t kernel[KILN_MAX_RANK];  /* -1 where it is not a constant */
    /* the pads as expressions: the constants above, or, for auto_pad SAME_*
     * over a size known at run time only (dyn), computed from it there; pad[]
     * and pad_end[] are then meaningless and the kernels that need constant
     * pads are not used */
    struct kiln_lx *padx[KILN_MAX_RANK], *pad_endx[KILN_MAX_RANK];
    bool dyn;
};

/*
 * Strides, dilations and pads of node n over input type xt, with the kernel
 * extents kernel[sp] (-1 unknown). auto_pad SAME_* derives the pads from
 * ceil(in / stride) outputs: constants for a constant size, expressions of
 * the runtime dims otherwise (cg->dyn).
 */
static enum kiln_status
conv_geom(struct kiln_lower_ctx *lc, const struct kiln_type *xt, const int64_t *kernel,
          struct conv_geom *cg)
{
    const struct kiln_node *n = lc->n;
    cg->sp = xt->rank - 2;
    cg->dyn = false;
    int64_t ls, ld, lp;
    const int64_t *s = kiln_node_attr_ints(n, "strides", &ls);
    const int64_t *dl = kiln_node_attr_ints(n, "dilations", &ld);
    const int64_t *p = kiln_node_attr_ints(n, "pads", &lp);
    const char *ap = kiln_node_attr_string(n, "auto_pad", "NOTSET");
    bool same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0;
    for (int i = 0; i < cg->sp; i++) {
        cg->stride[i] = s && i < ls ? s[i] : 1;
        cg->dil[i] = dl && i < ld ? dl[i] : 1;
        cg->kernel[i] = kernel[i];
        cg->pad[i] = cg->pad_end[i] = 0;
        if (same && kernel[i] >= 0 && !kiln_dim_is_const(xt->dims[i + 2])) {
            /* total = max((ceil(in / s) - 1) * s + (k - 1) * d + 1 - in, 0) */
            struct kiln_lx *in = kiln_lower_dim(lc, kiln_lower_in(lc, 0), i + 2);
            int64_t st = cg->stride[i], ek = (kernel[i] - 1) * cg->dil[i] + 1;
            struct kiln_lx *out = div_i(lc, add_i(lc, in, IX(lc, st - 1)), IX(lc, st));
            struct kiln_lx *total = sub_i(
                lc, add_i(lc, mul_i(lc, sub_i(lc, out, IX(lc, 1)), IX(lc, st)), IX(lc, ek)), in);
            total = kiln_lx_select(lc, bin(lc, KILN_LX_LT, total, IX(lc, 0)), IX(lc, 0), total);
            struct kiln_lx *half = div_i(lc, total, IX(lc, 2));
            cg->padx[i] = ap[5] == 'U' ? half : sub_i(lc, total, half);
            cg->pad_endx[i] = sub_i(lc, total, cg->padx[i]);
            cg->dyn = true;
            cg->pad[i] = cg->pad_end[i] = 0;
            continue;
        }
        if (same) {
            struct kiln_dim in = xt->dims[i + 2];
            if (!kiln_dim_is_const(in) || kernel[i] < 0)
                return kiln_lower_unsupported(lc,
                                              "auto_pad %s with a kernel size known at run "
                                              "time only",
                                              ap);
            int64_t out = (in.n + cg->stride[i] - 1) / cg->stride[i];
            int64_t total = (out - 1) * cg->stride[i] + (kernel[i] - 1) * cg->dil[i] + 1 - in.n;
            if (total < 0)
                total = 0;
            cg->pad[i] = ap[5] == 'U' ? total / 2 : total - total / 2;
            cg->pad_end[i] = total - cg->pad[i];
        } else if (strcmp(ap, "VALID") != 0 && p) {
            cg->pad[i] = i < lp ? p[i] : 0;
            cg->pad_end[i] = cg->sp + i < lp ? p[cg->sp + i] : 0;
        }
        cg->padx[i] = IX(lc, cg->pad[i]);
        cg->pad_endx[i] = IX(lc, cg->pad_end[i]);
    }
    return KILN_OK;
}

/* Kernel extents of a convolution: the weight's spatial dims (input wi). */
static void
weight_kernel(const struct kiln_lower_ctx *lc, int wi, int64_t *kernel, int sp)
{
    const struct kiln_type *wt = &lc->g->values[lc->n->in[wi]]->type;
    for (int i = 0; i < sp; i++) {
        struct kiln_dim d = i + 2 < wt->rank ? wt->dims[i + 2] : kiln_dim_unknown();
        kernel[i] = kiln_dim_is_const(d) ? d.n : -1;
    }
}

/* ---------------------------------------------------------------- Conv, ConvInteger, QLinearConv
 */

/*
 * A 1-D convolution ([N, C, L] by [M, C, K]), or a 2-D one whose width is 1
 * with a kernel of width 1 ([N, C, H, 1] by [M, C, K, 1]: a 1-D convolution
 * along H written as 2-D), by the packed 2-D kernel over views of the same
 * memory as one row: x as [N, C, 1, L], y as [N, M, 1, OL], the weights as
 * [M, C, 1, K], strides, pads and dilations moved to the width. False (and
 * nothing emitted) where that does not apply.
 */
static bool
conv_as_rows(struct kiln_lower_ctx *lc, int32_t x, int32_t y, int32_t bias,
             const struct conv_geom *cg, int64_t groups)
{
    const struct kiln_tensor *wt = kiln_lower_const_in(lc, 1);
    int rank = kiln_lower_rank(lc, x);
    if (!wt || groups != 1 || cg->dyn || !kiln_dtype_is_float(wt->dtype) || wt->rank != rank ||
        kiln_lower_buf(lc, x)->dtype != KILN_DT_F32 || kiln_lower_buf(lc, y)->kind == KILN_LBUF_REG)
        return false;
    int ax; /* the spatial axis that runs */
    if (rank == 3) {
        ax = 0;
    } else if (rank == 4 && wt->dims[3] == 1 && is_imm(kiln_lower_dim(lc, x, 3), 1) &&
               is_imm(kiln_lower_dim(lc, y, 3), 1) && cg->pad[1] == 0 && cg->pad_end[1] == 0) {
        ax = 0;
    } else {
        return false;
    }
    struct kiln_lx *OL = kiln_lower_dim(lc, y, 2 + ax);
    if (is_imm(OL, 0) || (OL->kind == KILN_LX_IMM && OL->i < 3))
        return false;
    struct kiln_lmodule *m = lc->m;
    struct kiln_tensor *w4 = kiln_arena_alloc(m->arena, sizeof *w4);
    int64_t *d4 = kiln_arena_array(m->arena, 4, sizeof *d4);
    KILN_ASSERT(w4 && d4);
    *w4 = *wt;
    d4[0] = wt->dims[0];
    d4[1] = wt->dims[1];
    d4[2] = 1;
    d4[3] = wt->dims[2];
    w4->rank = 4;
    w4->dims = d4;
    if (!kiln_lower_conv2d_packed_fits(w4, 1, OL->kind == KILN_LX_IMM ? OL->i : -1))
        return false;
    struct kiln_lx *xd[4] = {kiln_lower_dim(lc, x, 0), kiln_lower_dim(lc, x, 1), IX(lc, 1),
                             kiln_lower_dim(lc, x, 2)};
    struct kiln_lx *yd[4] = {kiln_lower_dim(lc, y, 0), kiln_lower_dim(lc, y, 1), IX(lc, 1), OL};
    int32_t xv = kiln_lower_view(lc, x, 4, xd), yv = kiln_lower_view(lc, y, 4, yd);
    const int64_t stride[2] = {1, cg->stride[ax]}, dil[2] = {1, cg->dil[ax]};
    const int64_t pads[4] = {0, cg->pad[ax], 0, cg->pad_end[ax]};
    enum kiln_status st =
        kiln_lower_conv2d_packed(lc, xv, w4, bias, yv, stride, pads, dil, KILN_DT_F32);
    KILN_ASSERT(st == KILN_OK);
    return true;
}

/* ceil(a / s) and floor(a / s) for s > 0 (i64; a of either sign). */
static struct kiln_lx *
ceil_div(struct kiln_lower_ctx *lc, struct kiln_lx *a, int64_t s)
{
    struct kiln_lx *pos = div_i(lc, add_i(lc, a, IX(lc, s - 1)), IX(lc, s));
    struct kiln_lx *neg = sub_i(lc, IX(lc, 0), div_i(lc, sub_i(lc, IX(lc, 0), a), IX(lc, s)));
    return kiln_lx_select(lc, bin(lc, KILN_LX_GE, a, IX(lc, 0)), pos, neg);
}

static struct kiln_lx *
floor_div(struct kiln_lower_ctx *lc, struct kiln_lx *a, int64_t s)
{
    struct kiln_lx *pos = div_i(lc, a, IX(lc, s));
    struct kiln_lx *neg = sub_i(
        lc, IX(lc, 0), div_i(lc, add_i(lc, sub_i(lc, IX(lc, 0), a), IX(lc, s - 1)), IX(lc, s)));
    return kiln_lx_select(lc, bin(lc, KILN_LX_GE, a, IX(lc, 0)), pos, neg);
}

/*
 * The output positions o in [0, out) whose tap k lands inside an input of
 * extent in: o * stride - pad + k * dil in [0, in). *lo, *hi (hi may be <= lo).
 */
static void
tap_range(struct kiln_lower_ctx *lc, struct kiln_lx *k, int64_t stride, struct kiln_lx *pad,
          int64_t dil, struct kiln_lx *in, struct kiln_lx *out, struct kiln_lx **lo,
          struct kiln_lx **hi)
{
    struct kiln_lx *a = sub_i(lc, pad, mul_i(lc, k, IX(lc, dil)));
    struct kiln_lx *l = ceil_div(lc, a, stride);
    struct kiln_lx *h =
        add_i(lc, floor_div(lc, add_i(lc, sub_i(lc, in, IX(lc, 1)), a), stride), IX(lc, 1));
    *lo = kiln_lx_select(lc, bin(lc, KILN_LX_LT, l, IX(lc, 0)), IX(lc, 0), l);
    *hi = kiln_lx_select(lc, bin(lc, KILN_LX_GT, h, out), out, h);
}

/*
 * Float 2-D convolution, direct, with the output planes of one n and MR
 * output channels (4 when the group's channel count allows, else 1) as the
 * accumulators: per tap and block of four input channels, each plane gains
 * w0 * shifted input0 + ... + w3 * shifted input3, over the output positions
 * whose tap lands inside the input (computed bounds, no test per element;
 * padding contributes nothing): a contiguous, vectorizable update for stride
 * 1, whose input values serve all MR planes. The planes (OH*OW values each)
 * stay in cache; the epilogue pass stores them through kiln_lb_store_out.
 * Depthwise convolutions are the case Cg = 1, MR = 1.
 */
static enum kiln_status
conv2d_dense(struct kiln_lower_ctx *lc, int32_t x, int32_t w, int32_t bias, int32_t y,
             int64_t groups, const struct conv_geom *cg, enum kiln_dtype ct)
{
    struct kiln_lx *M = kiln_lower_dim(lc, y, 1), *Cg = kiln_lower_dim(lc, w, 1);
    struct kiln_lx *Mg = div_i(lc, M, IX(lc, groups));
    struct kiln_lx *OH = kiln_lower_dim(lc, y, 2), *OW = kiln_lower_dim(lc, y, 3);
    struct kiln_lx *H = kiln_lower_dim(lc, x, 2), *W = kiln_lower_dim(lc, x, 3);
    struct kiln_lx *KH = kiln_lower_dim(lc, w, 2), *KW = kiln_lower_dim(lc, w, 3);
    struct kiln_lx *C = kiln_lower_dim(lc, x, 1);
    /* MR output channels per task: they share every input load */
    int MR = Mg->kind == KILN_LX_IMM && Mg->i % 4 == 0 && !(Cg->kind == KILN_LX_IMM && Cg->i < 4)
                 ? 4
                 : 1;
    bool in_place;
    int32_t acc = accumulator(lc, y, ct, &in_place);
    int32_t p, oh, ow, c, kh, kw;
    struct kiln_lx *blocks = div_i(lc, M, IX(lc, MR));
    struct kiln_lblock *body =
        kiln_lk_parallel(lc, mul_i(lc, kiln_lower_dim(lc, y, 0), blocks), &p);
    const bool depthwise = MR == 1 && Cg->kind == KILN_LX_IMM && Cg->i == 1;
    if (depthwise)
        kiln_lower_method(lc, "direct depthwise, row by row");
    else
        kiln_lower_method(lc, "direct, %d output planes per task", MR);
    struct kiln_lx *vn = div_i(lc, V(lc, p), blocks);
    struct kiln_lx *m0 = mul_i(lc, rem_i(lc, V(lc, p), blocks), IX(lc, MR));
    struct kiln_lx *grp = groups == 1 ? IX(lc, 0) : div_i(lc, m0, Mg);
    struct kiln_lx *ohw = mul_i(lc, OH, OW);
    struct kiln_lx *vm[4], *plane[4];
    for (int r = 0; r < MR; r++) {
        vm[r] = add_i(lc, m0, IX(lc, r));
        /* with MR = 1, p itself is n * M + m */
        plane[r] = mul_i(lc, MR == 1 ? V(lc, p) : add_i(lc, mul_i(lc, vn, M), vm[r]), ohw);
    }
    if (depthwise) {
        /* one input channel per output: row by row, each output row taking
         * every tap while it is in L1, then its epilogue */
        struct kiln_lx *ch = groups == 1 ? IX(lc, 0) : grp;
        struct kiln_lx *xplane = mul_i(lc, add_i(lc, mul_i(lc, vn, C), ch), mul_i(lc, H, W));
        struct kiln_ls *f1 = loop(lc, body, "o", OH, &oh);
        struct kiln_lx *row = add_i(lc, plane[0], mul_i(lc, V(lc, oh), OW));
        struct kiln_ls *f2 = loop(lc, &f1->body, "o", OW, &ow);
        f2->hints |= KILN_LS_HINT_VECTORIZE;
        kiln_lb_store(lc, &f2->body, acc, add_i(lc, row, V(lc, ow)),
                      bias >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, vm[0]))
                                : fimm(lc, ct, 0));
        struct kiln_ls *fkh = loop(lc, &f1->body, "k", KH, &kh);
        struct kiln_lx *ih =
            add_i(lc, sub_i(lc, mul_i(lc, V(lc, oh), IX(lc, cg->stride[0])), cg->padx[0]),
                  mul_i(lc, V(lc, kh), IX(lc, cg->dil[0])));
        struct kiln_lblock *in =
            &kiln_lb_if(lc, &fkh->body,
                        land(lc, bin(lc, KILN_LX_GE, ih, IX(lc, 0)), bin(lc, KILN_LX_LT, ih, H)))
                 ->body;
        struct kiln_ls *fkw = loop(lc, in, "k", KW, &kw);
        struct kiln_lx *ow_lo, *ow_hi;
        tap_range(lc, V(lc, kw), cg->stride[1], cg->padx[1], cg->dil[1], W, OW, &ow_lo, &ow_hi);
        int32_t wv = kiln_lk_var(lc, ct, "w");
        kiln_lb_set(
            lc, &fkw->body, wv,
            kiln_lx_cast(
                lc, ct,
                kiln_lx_load_f(lc, w,
                               add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vm[0], KH), V(lc, kh)), KW),
                                     V(lc, kw)))));
        struct kiln_ls *g2 = kiln_lb_for(lc, &fkw->body, "o", ow_lo, ow_hi, &ow);
        g2->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *iw =
            add_i(lc, sub_i(lc, mul_i(lc, V(lc, ow), IX(lc, cg->stride[1])), cg->padx[1]),
                  mul_i(lc, V(lc, kw), IX(lc, cg->dil[1])));
        struct kiln_lx *at = add_i(lc, row, V(lc, ow));
        kiln_lb_store(
            lc, &g2->body, acc, at,
            bin(lc, KILN_LX_ADD, kiln_lx_load(lc, acc, at),
                bin(lc, KILN_LX_MUL, V(lc, wv),
                    kiln_lx_cast(lc, ct,
                                 kiln_lx_load_f(
                                     lc, x, add_i(lc, xplane, add_i(lc, mul_i(lc, ih, W), iw)))))));
        if (!in_place) {
            struct kiln_ls *e2 = loop(lc, &f1->body, "o", OW, &ow);
            e2->hints |= KILN_LS_HINT_VECTORIZE;
            struct kiln_lx *ea = add_i(lc, row, V(lc, ow));
            struct kiln_lx *yi[4] = {vn, vm[0], V(lc, oh), V(lc, ow)};
            kiln_lb_store_out(lc, &e2->body, y, ea, kiln_lx_load(lc, acc, ea), yi);
        }
        return KILN_OK;
    }
    /* the planes start at the bias (or 0) */
    for (int r = 0; r < MR; r++) {
        struct kiln_ls *f1 = loop(lc, body, "o", OH, &oh);
        struct kiln_ls *f2 = loop(lc, &f1->body, "o", OW, &ow);
        f2->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *init =
            bias >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, vm[r])) : fimm(lc, ct, 0);
        kiln_lb_store(lc, &f2->body, acc,
                      add_i(lc, plane[r], add_i(lc, mul_i(lc, V(lc, oh), OW), V(lc, ow))), init);
    }
    /* per block of input channels (four, then one at a time) and tap */
    struct kiln_lx *C4 = mul_i(lc, div_i(lc, Cg, IX(lc, 4)), IX(lc, 4));
    for (int pass = 0; pass < 2; pass++) {
        int step = pass == 0 ? 4 : 1;
        struct kiln_ls *fc =
            pass == 0 ? kiln_lb_for(lc, body, "c", IX(lc, 0), div_i(lc, Cg, IX(lc, 4)), &c)
                      : kiln_lb_for(lc, body, "c", C4, Cg, &c);
        struct kiln_lx *c0 = pass == 0 ? mul_i(lc, V(lc, c), IX(lc, 4)) : V(lc, c);
        struct kiln_ls *fkh = loop(lc, &fc->body, "k", KH, &kh);
        struct kiln_lx *oh_lo, *oh_hi, *ow_lo, *ow_hi;
        tap_range(lc, V(lc, kh), cg->stride[0], cg->padx[0], cg->dil[0], H, OH, &oh_lo, &oh_hi);
        struct kiln_ls *fkw = loop(lc, &fkh->body, "k", KW, &kw);
        tap_range(lc, V(lc, kw), cg->stride[1], cg->padx[1], cg->dil[1], W, OW, &ow_lo, &ow_hi);
        int32_t wv[4][4];
        struct kiln_lx *xplane[4];
        for (int u = 0; u < step; u++) {
            struct kiln_lx *cu = add_i(lc, c0, IX(lc, u));
            struct kiln_lx *ch = add_i(lc, mul_i(lc, grp, Cg), cu);
            xplane[u] = mul_i(lc, add_i(lc, mul_i(lc, vn, C), ch), mul_i(lc, H, W));
            for (int r = 0; r < MR; r++) {
                struct kiln_lx *woff = add_i(
                    lc,
                    mul_i(lc,
                          add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vm[r], Cg), cu), KH), V(lc, kh)),
                          KW),
                    V(lc, kw));
                wv[r][u] = kiln_lk_var(lc, ct, "w");
                kiln_lb_set(lc, &fkw->body, wv[r][u],
                            kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, w, woff)));
            }
        }
        struct kiln_ls *g1 = kiln_lb_for(lc, &fkw->body, "o", oh_lo, oh_hi, &oh);
        struct kiln_lx *ih =
            add_i(lc, sub_i(lc, mul_i(lc, V(lc, oh), IX(lc, cg->stride[0])), cg->padx[0]),
                  mul_i(lc, V(lc, kh), IX(lc, cg->dil[0])));
        struct kiln_ls *g2 = kiln_lb_for(lc, &g1->body, "o", ow_lo, ow_hi, &ow);
        g2->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *iw =
            add_i(lc, sub_i(lc, mul_i(lc, V(lc, ow), IX(lc, cg->stride[1])), cg->padx[1]),
                  mul_i(lc, V(lc, kw), IX(lc, cg->dil[1])));
        int32_t xv[4];
        for (int u = 0; u < step; u++) {
            xv[u] = kiln_lk_var(lc, ct, "x");
            kiln_lb_set(
                lc, &g2->body, xv[u],
                kiln_lx_cast(
                    lc, ct,
                    kiln_lx_load_f(lc, x, add_i(lc, xplane[u], add_i(lc, mul_i(lc, ih, W), iw)))));
        }
        for (int r = 0; r < MR; r++) {
            struct kiln_lx *at =
                add_i(lc, plane[r], add_i(lc, mul_i(lc, V(lc, oh), OW), V(lc, ow)));
            struct kiln_lx *sum = kiln_lx_load(lc, acc, at);
            for (int u = 0; u < step; u++)
                sum =
                    bin(lc, KILN_LX_ADD, sum, bin(lc, KILN_LX_MUL, V(lc, wv[r][u]), V(lc, xv[u])));
            kiln_lb_store(lc, &g2->body, acc, at, sum);
        }
    }
    if (in_place)
        return KILN_OK;
    /* the epilogue pass: each element once, while the planes are in cache */
    for (int r = 0; r < MR; r++) {
        struct kiln_ls *e1 = loop(lc, body, "o", OH, &oh);
        struct kiln_ls *e2 = loop(lc, &e1->body, "o", OW, &ow);
        struct kiln_lx *ea = add_i(lc, plane[r], add_i(lc, mul_i(lc, V(lc, oh), OW), V(lc, ow)));
        struct kiln_lx *yi[4] = {vn, vm[r], V(lc, oh), V(lc, ow)};
        kiln_lb_store_out(lc, &e2->body, y, ea, kiln_lx_load(lc, acc, ea), yi);
    }
    return KILN_OK;
}

/*
 * Direct convolution. Parallel over (n, m) pairs; loops over the output
 * positions, then the group's input channels and the kernel window, with
 * out-of-image taps skipped (zero padding; the integer forms skip them too,
 * which is padding with the zero point).
 */
enum kiln_status
kiln_lower_conv(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    enum kiln_op op = n->op;
    bool q = op == KILN_OP_QLINEAR_CONV, integer = op == KILN_OP_CONV_INTEGER;
    int wi = q ? 3 : 1;
    const struct kiln_type *xt = &lc->g->values[n->in[0]]->type;
    int64_t kernel[KILN_MAX_RANK];
    weight_kernel(lc, wi, kernel, xt->rank - 2);
    struct conv_geom cg;
    enum kiln_status st = conv_geom(lc, xt, kernel, &cg);
    if (st != KILN_OK)
        return st;
    /* kernel slots in input order, then the output */
    int32_t in[9];
    for (int i = 0; i < 9; i++)
        in[i] = kiln_lower_in(lc, i);
    int32_t y = kiln_lower_out(lc, 0);
    int32_t x = in[0], w = in[wi], bias = -1, xzp = -1, wzp = -1, xs = -1, ws = -1, ys = -1;
    int32_t yzp = -1;
    if (integer) {
        xzp = in[2];
        wzp = in[3];
    } else if (q) {
        xs = in[1];
        xzp = in[2];
        ws = in[4];
        wzp = in[5];
        ys = in[6];
        yzp = in[7];
        bias = in[8];
    } else {
        bias = in[2];
    }
    int64_t groups = kiln_node_attr_int(n, "group", 1);
    enum kiln_dtype yt = kiln_lower_buf(lc, y)->dtype;
    enum kiln_dtype ct = integer || q ? KILN_DT_I32 : kiln_lower_compute_type(yt);
    int sp = cg.sp;
    const struct kiln_type *yty = &lc->g->values[n->out[0]]->type;
    if (!integer && !q && ct == KILN_DT_F32 && !lc->fuse &&
        conv_as_rows(lc, x, y, bias, &cg, groups))
        return KILN_OK;
    if (!integer && !q && sp == 2 && ct == KILN_DT_F32 && yty->rank == 4 && !cg.dyn &&
        kiln_lower_conv2d_packed_fits(kiln_lower_const_in(lc, wi), groups,
                                      kiln_dim_is_const(yty->dims[3]) ? yty->dims[3].n : -1)) {
        int64_t pads[4] = {cg.pad[0], cg.pad[1], cg.pad_end[0], cg.pad_end[1]};
        return kiln_lower_conv2d_packed(lc, x, kiln_lower_const_in(lc, wi), bias, y, cg.stride,
                                        pads, cg.dil, ct);
    }
    if (!integer && !q && sp == 2 && ct == KILN_DT_F32 && yty->rank == 4 && !cg.dyn &&
        kiln_dim_is_const(yty->dims[1]) && kiln_dim_is_const(yty->dims[3]) &&
        kiln_dim_is_const(xt->dims[1]) &&
        kiln_lower_depthwise_fits(groups, xt->dims[1].n, yty->dims[1].n, yty->dims[3].n)) {
        int64_t pads[4] = {cg.pad[0], cg.pad[1], cg.pad_end[0], cg.pad_end[1]};
        return kiln_lower_depthwise(lc, x, w, bias, y, cg.stride, pads, cg.dil, ct);
    }
    if (!integer && !q && sp == 2 && groups >= 1)
        return conv2d_dense(lc, x, w, bias, y, groups, &cg, ct);
    struct kiln_lx *M = kiln_lower_dim(lc, y, 1), *Cg = kiln_lower_dim(lc, w, 1);
    struct kiln_lx *Mg = div_i(lc, M, IX(lc, groups));
    int32_t p;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, kiln_lower_dim(lc, y, 0), M), &p);
    struct kiln_lx *vn = div_i(lc, V(lc, p), M), *vm = rem_i(lc, V(lc, p), M);
    struct kiln_lx *grp = groups == 1 ? IX(lc, 0) : div_i(lc, vm, Mg);
    struct kiln_lx *o[KILN_MAX_RANK];
    struct kiln_lblock *blk = body;
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f = loop(lc, blk, "o", kiln_lower_dim(lc, y, i + 2), &v);
        o[i] = V(lc, v);
        blk = &f->body;
    }
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    struct kiln_lx *init = fimm(lc, ct, 0);
    if (bias >= 0)
        init = kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, vm));
    kiln_lb_set(lc, blk, acc, init);
    int32_t vc;
    struct kiln_ls *fc = loop(lc, blk, "c", Cg, &vc);
    struct kiln_lblock *kb = &fc->body;
    struct kiln_lx *kv[KILN_MAX_RANK], *ix[KILN_MAX_RANK];
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f = loop(lc, kb, "k", kiln_lower_dim(lc, w, i + 2), &v);
        kv[i] = V(lc, v);
        kb = &f->body;
    }
    struct kiln_lx *inside = NULL;
    for (int i = 0; i < sp; i++) {
        ix[i] = add_i(lc, sub_i(lc, mul_i(lc, o[i], IX(lc, cg.stride[i])), cg.padx[i]),
                      mul_i(lc, kv[i], IX(lc, cg.dil[i])));
        if (cg.dyn || cg.pad[i] != 0 || cg.pad_end[i] != 0)
            inside = land(lc, inside, in_range(lc, ix[i], kiln_lower_dim(lc, x, i + 2)));
    }
    struct kiln_lx *ch = add_i(lc, mul_i(lc, grp, Cg), V(lc, vc));
    struct kiln_lx *xi[KILN_MAX_RANK], *wi_[KILN_MAX_RANK];
    xi[0] = vn;
    xi[1] = ch;
    wi_[0] = vm;
    wi_[1] = V(lc, vc);
    for (int i = 0; i < sp; i++) {
        xi[i + 2] = ix[i];
        wi_[i + 2] = kv[i];
    }
    struct kiln_lx *lx = kiln_lx_load_f(lc, x, kiln_lower_offset(lc, x, xi, sp + 2));
    struct kiln_lx *lw = kiln_lx_load_f(lc, w, kiln_lower_offset(lc, w, wi_, sp + 2));
    if (integer || q) {
        lx = dezero(lc, lx, xzp, IX(lc, 0));
        lw = dezero(lc, lw, wzp, vm);
    }
    struct kiln_lx *prod = bin(lc, KILN_LX_MUL, lx, lw);
    struct kiln_lblock *acc_blk = kb;
    if (inside)
        acc_blk = &kiln_lb_if(lc, kb, inside)->body;
    accum(lc, acc_blk, acc, KILN_LX_ADD, prod);
    /* output row p = n * M + m, then the spatial position */
    struct kiln_lx *yi[KILN_MAX_RANK];
    yi[0] = yi[1] = NULL;
    for (int i = 0; i < sp; i++)
        yi[i + 2] = o[i];
    struct kiln_lx *yat = add_i(lc, mul_i(lc, V(lc, p), kiln_lower_dims_prod(lc, y, 2, sp + 2)),
                                kiln_lower_offset(lc, y, yi, sp + 2));
    struct kiln_lx *res = V(lc, acc);
    if (q) {
        enum kiln_dtype sdt = kiln_lower_buf(lc, xs)->dtype;
        enum kiln_dtype sct = kiln_lower_compute_type(sdt);
        res = requantize(lc, res, kiln_lx_cast(lc, sct, per_index(lc, xs, IX(lc, 0))),
                         kiln_lx_cast(lc, sct, per_index(lc, ws, vm)),
                         kiln_lx_cast(lc, sct, per_index(lc, ys, IX(lc, 0))),
                         yzp >= 0 ? per_index(lc, yzp, IX(lc, 0)) : NULL, sdt, yt);
    }
    yi[0] = vn;
    yi[1] = vm;
    kiln_lb_store_out(lc, blk, y, yat, res, yi);
    return KILN_OK;
}

/* ---------------------------------------------------------------- ConvTranspose */

/*
 * A constant f32 tensor of the given dims whose elements are the rows x cols
 * block of src from element off on, transposed: element (j, i) of the copy,
 * at j * rows + i, is src[off + i * cols + j]. In the module's arena.
 */
static const struct kiln_tensor *
const_transposed(struct kiln_lower_ctx *lc, const struct kiln_tensor *src, int64_t off,
                 int64_t rows, int64_t cols, int rank, const int64_t *dims)
{
    struct kiln_arena *a = lc->m->arena;
    struct kiln_tensor *t = kiln_arena_alloc(a, sizeof *t);
    int64_t *d = kiln_arena_array(a, (size_t)rank, sizeof *d);
    float *v = kiln_arena_array(a, (size_t)(rows * cols), sizeof *v);
    KILN_ASSERT(t && d && v);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double e = 0;
            kiln_tensor_get_f64(src, off + i * cols + j, &e);
            v[j * rows + i] = (float)e;
        }
    memcpy(d, dims, (size_t)rank * sizeof *d);
    *t = (struct kiln_tensor){.dtype = KILN_DT_F32,
                              .rank = rank,
                              .dims = d,
                              .nbytes = (uint64_t)(rows * cols) * 4,
                              .data = v};
    return t;
}

/*
 * A 2-D transposed convolution with constant weights w [C, M, KH, KW] as a
 * GEMM and a gather: first T [N, M*KH*KW, H, W] = w' x x, a 1x1 convolution
 * by the packed kernel with w' [(m*KH + a)*KW + b][c] = w[c][m][a][b] (all
 * the multiply-adds), then y[n][m][oy][ox] = bias[m] + the sum of T over the
 * taps (a, b) that land on (oy, ox): iy = (oy + pad - a*dil) / stride where
 * that divides and is in range (col2im, as a gather: no two taps write one
 * element, so the kernel is parallel and exact in any order the taps come).
 */
static enum kiln_status
conv_transpose_gemm(struct kiln_lower_ctx *lc, int32_t x, const struct kiln_tensor *wt,
                    int32_t bias, int32_t y, const int64_t *stride, const int64_t *pad,
                    const int64_t *dil, enum kiln_dtype ct)
{
    const int64_t C = wt->dims[0], Mo = wt->dims[1], KH = wt->dims[2], KW = wt->dims[3];
    const int64_t MK = Mo * KH * KW;
    /* w' as a [MK, C, 1, 1] f32 tensor: w [C, MK] transposed */
    const int64_t d2[4] = {MK, C, 1, 1};
    const struct kiln_tensor *w2 = const_transposed(lc, wt, 0, C, MK, 4, d2);
    struct kiln_lx *td[4] = {kiln_lower_dim(lc, x, 0), IX(lc, MK), kiln_lower_dim(lc, x, 2),
                             kiln_lower_dim(lc, x, 3)};
    int32_t tb = kiln_lower_scratch_nd(lc, ct, 4, td);
    const int64_t one[2] = {1, 1}, zero[4] = {0, 0, 0, 0};
    enum kiln_status st =
        kiln_lower_conv2d_packed(lc, x, w2, -1, kiln_lower_slot(lc, tb), one, zero, one, ct);
    if (st != KILN_OK)
        return st;
    /* the gather, in a kernel of its own: one task per output row (n, m, oy) */
    kiln_lower_kernel(lc, "col2im");
    int32_t t = kiln_lower_slot(lc, tb);
    y = kiln_lower_out(lc, 0);
    bias = kiln_lower_in(lc, 2);
    struct kiln_lx *Nn = kiln_lower_dim(lc, y, 0), *OH = kiln_lower_dim(lc, y, 2);
    struct kiln_lx *OW = kiln_lower_dim(lc, y, 3), *H = td[2], *W = td[3];
    int32_t p;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, mul_i(lc, Nn, IX(lc, Mo)), OH), &p);
    kiln_lower_method(lc,
                      "GEMM by packed weights (%lld x %lld), then a col2im gather of %lld "
                      "taps",
                      (long long)MK, (long long)C, (long long)(KH * KW));
    struct kiln_lx *voy = rem_i(lc, V(lc, p), OH), *nm = div_i(lc, V(lc, p), OH);
    struct kiln_lx *vm = rem_i(lc, nm, IX(lc, Mo)), *vn = div_i(lc, nm, IX(lc, Mo));
    int32_t ox;
    struct kiln_ls *fx = loop(lc, body, "ox", OW, &ox);
    struct kiln_lblock *blk = &fx->body;
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, blk, acc,
                bias >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, vm)) : fimm(lc, ct, 0));
    for (int64_t a = 0; a < KH; a++)
        for (int64_t b = 0; b < KW; b++) {
            struct kiln_lx *ty = sub_i(lc, add_i(lc, voy, IX(lc, pad[0])), IX(lc, a * dil[0]));
            struct kiln_lx *tx =
                sub_i(lc, add_i(lc, V(lc, ox), IX(lc, pad[1])), IX(lc, b * dil[1]));
            struct kiln_lx *ok =
                land(lc, bin(lc, KILN_LX_GE, ty, IX(lc, 0)), bin(lc, KILN_LX_GE, tx, IX(lc, 0)));
            if (stride[0] != 1)
                ok = land(lc, ok, bin(lc, KILN_LX_EQ, rem_i(lc, ty, IX(lc, stride[0])), IX(lc, 0)));
            if (stride[1] != 1)
                ok = land(lc, ok, bin(lc, KILN_LX_EQ, rem_i(lc, tx, IX(lc, stride[1])), IX(lc, 0)));
            struct kiln_lx *iy = div_i(lc, ty, IX(lc, stride[0]));
            struct kiln_lx *ix = div_i(lc, tx, IX(lc, stride[1]));
            ok = land(lc, ok, land(lc, bin(lc, KILN_LX_LT, iy, H), bin(lc, KILN_LX_LT, ix, W)));
            struct kiln_lx *ch = add_i(lc, mul_i(lc, vm, IX(lc, KH * KW)), IX(lc, a * KW + b));
            struct kiln_lx *at = add_i(
                lc,
                mul_i(lc, add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vn, IX(lc, MK)), ch), H), iy), W),
                ix);
            struct kiln_lblock *ab = &kiln_lb_if(lc, blk, ok)->body;
            accum(lc, ab, acc, KILN_LX_ADD, kiln_lx_load_f(lc, t, at));
        }
    struct kiln_lx *yat = add_i(lc, mul_i(lc, V(lc, p), OW), V(lc, ox));
    kiln_lb_store_f(lc, blk, y, yat, V(lc, acc));
    return KILN_OK;
}

/*
 * Gather form of the transposed convolution: output position o receives
 * x[i] * w[k] wherever o = i * stride - pad + k * dilation. Pads come from
 * `pads`, or, with auto_pad SAME_* or an output_shape, from the total padding
 * stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - out.
 */
enum kiln_status
kiln_lower_conv_transpose(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    const struct kiln_type *xt = &lc->g->values[n->in[0]]->type;
    int sp = xt->rank - 2;
    int64_t kernel[KILN_MAX_RANK];
    weight_kernel(lc, 1, kernel, sp);
    int64_t ls, ld, lp, lop, los;
    const int64_t *s = kiln_node_attr_ints(n, "strides", &ls);
    const int64_t *dl = kiln_node_attr_ints(n, "dilations", &ld);
    const int64_t *pads = kiln_node_attr_ints(n, "pads", &lp);
    const int64_t *opad = kiln_node_attr_ints(n, "output_padding", &lop);
    const int64_t *oshape = kiln_node_attr_ints(n, "output_shape", &los);
    const char *ap = kiln_node_attr_string(n, "auto_pad", "NOTSET");
    bool same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0;
    int64_t stride[KILN_MAX_RANK], dil[KILN_MAX_RANK], pad[KILN_MAX_RANK];
    for (int i = 0; i < sp; i++) {
        stride[i] = s && i < ls ? s[i] : 1;
        dil[i] = dl && i < ld ? dl[i] : 1;
        pad[i] = 0;
        if (pads && !same && strcmp(ap, "VALID") != 0) {
            pad[i] = i < lp ? pads[i] : 0;
        } else if (same || oshape) {
            struct kiln_dim in = xt->dims[i + 2];
            int64_t out;
            if (oshape && los >= sp)
                out = oshape[los - sp + i];
            else if (kiln_dim_is_const(in))
                out = in.n * stride[i];
            else
                out = -1;
            if (!kiln_dim_is_const(in) || kernel[i] < 0 || out < 0)
                return kiln_lower_unsupported(lc, "derived pads with a symbolic spatial dim");
            int64_t total = stride[i] * (in.n - 1) + (opad && i < lop ? opad[i] : 0) +
                            (kernel[i] - 1) * dil[i] + 1 - out;
            /* floor division, as the reference's Python does */
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
            pad[i] = strcmp(ap, "SAME_UPPER") == 0 ? half : total - half;
        }
    }
    int32_t x = kiln_lower_in(lc, 0), w = kiln_lower_in(lc, 1), bias = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    int64_t groups = kiln_node_attr_int(n, "group", 1);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    const struct kiln_tensor *wt = kiln_lower_const_in(lc, 1);
    if (sp == 2 && groups == 1 && ct == KILN_DT_F32 && kiln_lower_buf(lc, x)->dtype == ct && wt &&
        wt->rank == 4 && kiln_dtype_is_float(wt->dtype)) {
        struct kiln_dim xw = xt->dims[3];
        int64_t C = wt->dims[0], Mo = wt->dims[1], KH = wt->dims[2], KW = wt->dims[3];
        int64_t MK = Mo * KH * KW;
        if (C > 0 && MK > 0 && MK <= (INT64_C(1) << 24) &&
            kiln_lower_conv2d_packed_fits(wt, 1, kiln_dim_is_const(xw) ? xw.n : -1))
            return conv_transpose_gemm(lc, x, wt, bias, y, stride, pad, dil, ct);
    }
    struct kiln_lx *M = kiln_lower_dim(lc, y, 1), *Mg = kiln_lower_dim(lc, w, 1);
    struct kiln_lx *Cg = div_i(lc, kiln_lower_dim(lc, x, 1), IX(lc, groups));
    int32_t p;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, kiln_lower_dim(lc, y, 0), M), &p);
    struct kiln_lx *vn = div_i(lc, V(lc, p), M), *vm = rem_i(lc, V(lc, p), M);
    struct kiln_lx *grp = div_i(lc, vm, Mg), *ml = rem_i(lc, vm, Mg);
    struct kiln_lx *o[KILN_MAX_RANK];
    struct kiln_lblock *blk = body;
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f = loop(lc, blk, "o", kiln_lower_dim(lc, y, i + 2), &v);
        o[i] = V(lc, v);
        blk = &f->body;
    }
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, blk, acc,
                bias >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, vm)) : fimm(lc, ct, 0));
    int32_t vc;
    struct kiln_ls *fc = loop(lc, blk, "c", Cg, &vc);
    struct kiln_lblock *kb = &fc->body;
    struct kiln_lx *kv[KILN_MAX_RANK], *ix[KILN_MAX_RANK];
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f = loop(lc, kb, "k", kiln_lower_dim(lc, w, i + 2), &v);
        kv[i] = V(lc, v);
        kb = &f->body;
    }
    struct kiln_lx *ok = NULL;
    for (int i = 0; i < sp; i++) {
        struct kiln_lx *t =
            sub_i(lc, add_i(lc, o[i], IX(lc, pad[i])), mul_i(lc, kv[i], IX(lc, dil[i])));
        struct kiln_lx *c = bin(lc, KILN_LX_GE, t, IX(lc, 0));
        if (stride[i] != 1)
            c = land(lc, c, bin(lc, KILN_LX_EQ, rem_i(lc, t, IX(lc, stride[i])), IX(lc, 0)));
        ix[i] = div_i(lc, t, IX(lc, stride[i]));
        c = land(lc, c, bin(lc, KILN_LX_LT, ix[i], kiln_lower_dim(lc, x, i + 2)));
        ok = land(lc, ok, c);
    }
    struct kiln_lx *ch = add_i(lc, mul_i(lc, grp, Cg), V(lc, vc));
    struct kiln_lx *xi[KILN_MAX_RANK], *wix[KILN_MAX_RANK];
    xi[0] = vn;
    xi[1] = ch;
    wix[0] = ch;
    wix[1] = ml;
    for (int i = 0; i < sp; i++) {
        xi[i + 2] = ix[i];
        wix[i + 2] = kv[i];
    }
    struct kiln_lx *prod =
        bin(lc, KILN_LX_MUL, kiln_lx_load_f(lc, x, kiln_lower_offset(lc, x, xi, sp + 2)),
            kiln_lx_load_f(lc, w, kiln_lower_offset(lc, w, wix, sp + 2)));
    struct kiln_lblock *ab = ok ? &kiln_lb_if(lc, kb, ok)->body : kb;
    accum(lc, ab, acc, KILN_LX_ADD, prod);
    /* output row p = n * M + m, then the spatial position */
    struct kiln_lx *yi[KILN_MAX_RANK];
    yi[0] = yi[1] = NULL;
    for (int i = 0; i < sp; i++)
        yi[i + 2] = o[i];
    struct kiln_lx *yat = add_i(lc, mul_i(lc, V(lc, p), kiln_lower_dims_prod(lc, y, 2, sp + 2)),
                                kiln_lower_offset(lc, y, yi, sp + 2));
    kiln_lb_store_f(lc, blk, y, yat, V(lc, acc));
    return KILN_OK;
}

/* ---------------------------------------------------------------- pooling */

/* The Lp pooling/normalization exponent: an int (newer opsets) or a float (opset 1). */
static double
attr_p(const struct kiln_node *n, double def)
{
    const struct kiln_attr *a = kiln_node_attr(n, "p");
    if (!a)
        return def;
    if (a->kind == KILN_ATTR_INT)
        return (double)a->i;
    if (a->kind == KILN_ATTR_FLOAT)
        return a->f;
    return def;
}

/* |v|^p, with the common exponents spelled out. */
static struct kiln_lx *
abs_pow(struct kiln_lower_ctx *lc, struct kiln_lx *v, double p)
{
    struct kiln_lx *a = kiln_lx_unary(lc, KILN_LX_ABS, v);
    if (p == 1.0)
        return a;
    if (p == 2.0)
        return bin(lc, KILN_LX_MUL, v, v);
    return bin(lc, KILN_LX_POW, a, fimm(lc, v->type, p));
}

/* s^(1/p), the inverse of abs_pow's sum. */
static struct kiln_lx *
root_p(struct kiln_lower_ctx *lc, struct kiln_lx *s, double p)
{
    if (p == 1.0)
        return s;
    if (p == 2.0)
        return kiln_lx_unary(lc, KILN_LX_SQRT, s);
    return bin(lc, KILN_LX_POW, s, fimm(lc, s->type, 1.0 / p));
}

/*
 * AveragePool, MaxPool (with the optional Indices output), LpPool. Window
 * position o covers input positions o * stride - pad + k * dilation; taps
 * outside the input are skipped. Average divides by the taps inside the input
 * or, with count_include_pad, by the taps inside the padded input (ceil_mode
 * windows may reach past it: those taps count for neither).
 */
enum kiln_status
kiln_lower_pool(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    enum kiln_op op = n->op;
    const struct kiln_type *xt = &lc->g->values[n->in[0]]->type;
    int sp = xt->rank - 2;
    int64_t lk;
    const int64_t *ks = kiln_node_attr_ints(n, "kernel_shape", &lk);
    if (!ks || lk < sp)
        return kiln_lower_unsupported(lc, "kernel_shape is required");
    int64_t kernel[KILN_MAX_RANK];
    for (int i = 0; i < sp; i++)
        kernel[i] = ks[i];
    struct conv_geom cg;
    enum kiln_status st = conv_geom(lc, xt, kernel, &cg);
    if (st != KILN_OK)
        return st;
    bool avg = op == KILN_OP_AVERAGE_POOL, mx = op == KILN_OP_MAX_POOL;
    bool incl = kiln_node_attr_int(n, "count_include_pad", 0) != 0;
    bool col_major = kiln_node_attr_int(n, "storage_order", 0) != 0;
    double pp = attr_p(n, 2.0);
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int32_t ind = mx ? kiln_lower_out(lc, 1) : -1;
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    /* 2-D MaxPool over f32 with constant sizes: the vector window kernel */
    const struct kiln_type *yty = &lc->g->values[n->out[0]]->type;
    if (mx && ind < 0 && sp == 2 && !cg.dyn && ct == KILN_DT_F32 &&
        kiln_lower_buf(lc, y)->dtype == ct && kiln_dim_is_const(xt->dims[2]) &&
        kiln_dim_is_const(xt->dims[3]) && kiln_dim_is_const(yty->dims[2]) &&
        kiln_dim_is_const(yty->dims[3])) {
        int64_t in[2] = {xt->dims[2].n, xt->dims[3].n}, out[2] = {yty->dims[2].n, yty->dims[3].n};
        int64_t pads[4] = {cg.pad[0], cg.pad[1], cg.pad_end[0], cg.pad_end[1]};
        if (kiln_lower_maxpool2d_fits(in, out, kernel, cg.stride, pads, cg.dil))
            return kiln_lower_maxpool2d(lc, x, y, kernel, cg.stride, pads, cg.dil, ct);
    }
    int32_t p;
    struct kiln_lblock *body = kiln_lk_parallel(lc, kiln_lower_dims_prod(lc, y, 0, 2), &p);
    struct kiln_lx *o[KILN_MAX_RANK];
    struct kiln_lblock *blk = body;
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f = loop(lc, blk, "o", kiln_lower_dim(lc, y, i + 2), &v);
        o[i] = V(lc, v);
        blk = &f->body;
    }
    int32_t acc = kiln_lk_var(lc, ct, "acc"), cnt = -1, arg = -1;
    kiln_lb_set(lc, blk, acc, mx ? lowest(lc, ct) : fimm(lc, ct, 0));
    if (avg) {
        cnt = kiln_lk_var(lc, KILN_DT_I64, "cnt");
        kiln_lb_set(lc, blk, cnt, IX(lc, 0));
    }
    if (ind >= 0) {
        arg = kiln_lk_var(lc, KILN_DT_I64, "arg");
        kiln_lb_set(lc, blk, arg, IX(lc, 0));
    }
    struct kiln_lblock *kb = blk;
    struct kiln_lx *ix[KILN_MAX_RANK], *inside = NULL, *padded = NULL;
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f = loop(lc, kb, "k", IX(lc, kernel[i]), &v);
        kb = &f->body;
        ix[i] = add_i(lc, sub_i(lc, mul_i(lc, o[i], IX(lc, cg.stride[i])), cg.padx[i]),
                      mul_i(lc, V(lc, v), IX(lc, cg.dil[i])));
        struct kiln_lx *in = kiln_lower_dim(lc, x, i + 2);
        inside = land(lc, inside, in_range(lc, ix[i], in));
        padded = land(lc, padded, bin(lc, KILN_LX_LT, ix[i], add_i(lc, in, cg.pad_endx[i])));
    }
    if (avg && incl)
        accum(lc, &kiln_lb_if(lc, kb, padded)->body, cnt, KILN_LX_ADD, IX(lc, 1));
    struct kiln_lblock *ib = &kiln_lb_if(lc, kb, inside)->body;
    struct kiln_lx *xi[KILN_MAX_RANK];
    xi[0] = NULL;
    xi[1] = NULL;
    for (int i = 0; i < sp; i++)
        xi[i + 2] = ix[i];
    struct kiln_lx *S = kiln_lower_dims_prod(lc, x, 2, sp + 2);
    struct kiln_lx *at = add_i(lc, mul_i(lc, V(lc, p), S), kiln_lower_offset(lc, x, xi, sp + 2));
    struct kiln_lx *v = kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, x, at));
    if (mx) {
        struct kiln_ls *better = kiln_lb_if(lc, ib, bin(lc, KILN_LX_GT, v, V(lc, acc)));
        kiln_lb_set(lc, &better->body, acc, v);
        if (arg >= 0) {
            struct kiln_lx *flat;
            if (col_major) {
                flat = IX(lc, 0);
                struct kiln_lx *stride = IX(lc, 1);
                for (int i = 0; i < sp; i++) {
                    flat = add_i(lc, flat, mul_i(lc, ix[i], stride));
                    stride = mul_i(lc, stride, kiln_lower_dim(lc, x, i + 2));
                }
                flat = add_i(lc, mul_i(lc, V(lc, p), S), flat);
            } else {
                flat = at;
            }
            kiln_lb_set(lc, &better->body, arg, flat);
        }
    } else if (avg) {
        accum(lc, ib, acc, KILN_LX_ADD, v);
        if (!incl)
            accum(lc, ib, cnt, KILN_LX_ADD, IX(lc, 1));
    } else {
        accum(lc, ib, acc, KILN_LX_ADD, abs_pow(lc, v, pp));
    }
    struct kiln_lx *yi[KILN_MAX_RANK];
    yi[0] = NULL;
    yi[1] = NULL;
    for (int i = 0; i < sp; i++)
        yi[i + 2] = o[i];
    struct kiln_lx *yat = add_i(lc, mul_i(lc, V(lc, p), kiln_lower_dims_prod(lc, y, 2, sp + 2)),
                                kiln_lower_offset(lc, y, yi, sp + 2));
    struct kiln_lx *res = V(lc, acc);
    if (avg)
        res = bin(lc, KILN_LX_DIV, res, kiln_lx_cast(lc, ct, V(lc, cnt)));
    else if (!mx)
        res = root_p(lc, res, pp);
    kiln_lb_store_f(lc, blk, y, yat, res);
    if (ind >= 0)
        kiln_lb_store(lc, blk, ind, yat,
                      kiln_lx_cast(lc, kiln_lower_buf(lc, ind)->dtype, V(lc, arg)));
    return KILN_OK;
}

/* GlobalAveragePool, GlobalMaxPool, GlobalLpPool: one value per (n, c). */
enum kiln_status
kiln_lower_global_pool(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    enum kiln_op op = lc->n->op;
    bool avg = op == KILN_OP_GLOBAL_AVERAGE_POOL, lp = op == KILN_OP_GLOBAL_LP_POOL;
    double pp = attr_p(lc->n, 2.0);
    int r = kiln_lower_rank(lc, x);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *S = kiln_lower_dims_prod(lc, x, 2, r);
    int32_t p, s;
    struct kiln_lblock *body = kiln_lk_parallel(lc, kiln_lower_dims_prod(lc, x, 0, 2), &p);
    const int vl = f32_lanes(lc);
    if (avg && ct == KILN_DT_F32 && kiln_lower_buf(lc, x)->dtype == ct && S->kind == KILN_LX_IMM &&
        S->i >= vl && vl >= 4 && vl <= 16) {
        /* a plane of known size: vector partial sums of its vl-element
         * pieces, added pairwise by halves (log2 vl shuffles), then the rest;
         * a scalar chain over a 7x7 plane waits on 49 dependent adds */
        kiln_lower_method(lc, "%d-lane partial sums", vl);
        struct kiln_lx *base = mul_i(lc, V(lc, p), S);
        int32_t sv = kiln_lk_vvar(lc, ct, vl, "sum"), q;
        kiln_lb_set(lc, body, sv, kiln_lx_splat(lc, fimm(lc, ct, 0), vl));
        struct kiln_ls *fq = loop(lc, body, "q", IX(lc, S->i / vl), &q);
        fq->hints |= KILN_LS_HINT_NO_VECTORIZE;
        accum(lc, &fq->body, sv, KILN_LX_ADD,
              kiln_lx_vload(lc, x, add_i(lc, base, mul_i(lc, V(lc, q), IX(lc, vl))), vl));
        for (int h = vl / 2; h >= 1; h /= 2) {
            int32_t mask[16];
            for (int j = 0; j < vl; j++)
                mask[j] = j < h ? j + h : j;
            int32_t nv = kiln_lk_vvar(lc, ct, vl, "sum");
            kiln_lb_set(lc, body, nv,
                        bin(lc, KILN_LX_ADD, V(lc, sv),
                            kiln_lx_shuffle(lc, V(lc, sv), V(lc, sv), mask, vl)));
            sv = nv;
        }
        struct kiln_lx *tot = kiln_lx_extract(lc, V(lc, sv), 0);
        for (int64_t i = S->i - S->i % vl; i < S->i; i++)
            tot = bin(lc, KILN_LX_ADD, tot, kiln_lx_load(lc, x, add_i(lc, base, IX(lc, i))));
        kiln_lb_store_f(lc, body, y, V(lc, p), bin(lc, KILN_LX_DIV, tot, kiln_lx_cast(lc, ct, S)));
        return KILN_OK;
    }
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, body, acc, avg || lp ? fimm(lc, ct, 0) : lowest(lc, ct));
    struct kiln_ls *fs = loop(lc, body, "s", S, &s);
    fs->hints |= KILN_LS_HINT_VECTORIZE;
    struct kiln_lx *v =
        kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, x, add_i(lc, mul_i(lc, V(lc, p), S), V(lc, s))));
    struct kiln_lx *a = V(lc, acc);
    kiln_lb_set(lc, &fs->body, acc,
                avg  ? bin(lc, KILN_LX_ADD, a, v)
                : lp ? bin(lc, KILN_LX_ADD, a, abs_pow(lc, v, pp))
                     : vmax(lc, v, a));
    struct kiln_lx *res = V(lc, acc);
    if (avg)
        res = bin(lc, KILN_LX_DIV, res, kiln_lx_cast(lc, ct, S));
    else if (lp)
        res = root_p(lc, res, pp);
    kiln_lb_store_f(lc, body, y, V(lc, p), res);
    return KILN_OK;
}

/*
 * MaxUnpool: zeros, then each X element written at its flat index, which is
 * relative to the default output shape (in - 1) * stride - pads + kernel; an
 * explicit, larger output_shape holds that shape in its leading corner.
 */
enum kiln_status
kiln_lower_max_unpool(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    int32_t x = kiln_lower_in(lc, 0), ind = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x), sp = r - 2;
    int64_t lk, ls, lp;
    const int64_t *ks = kiln_node_attr_ints(n, "kernel_shape", &lk);
    const int64_t *s = kiln_node_attr_ints(n, "strides", &ls);
    const int64_t *pads = kiln_node_attr_ints(n, "pads", &lp);
    if (!ks || lk < sp)
        return kiln_lower_unsupported(lc, "kernel_shape is required");
    /* zero fill */
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    kiln_lb_store_f(lc, b, y, flat,
                    fimm(lc, kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype), 0));
    /* scatter, serially: indices may collide */
    kiln_lower_kernel(lc, "scatter");
    x = kiln_lower_in(lc, 0);
    ind = kiln_lower_in(lc, 1);
    y = kiln_lower_out(lc, 0);
    struct kiln_lx *dd[KILN_MAX_RANK], *ci[KILN_MAX_RANK];
    dd[0] = kiln_lower_dim(lc, x, 0);
    dd[1] = kiln_lower_dim(lc, x, 1);
    for (int i = 0; i < sp; i++) {
        struct kiln_lx *in = kiln_lower_dim(lc, x, i + 2);
        int64_t pb = pads && i < lp ? pads[i] : 0, pe = pads && sp + i < lp ? pads[sp + i] : 0;
        dd[i + 2] = add_i(lc, mul_i(lc, sub_i(lc, in, IX(lc, 1)), IX(lc, s && i < ls ? s[i] : 1)),
                          IX(lc, ks[i] - pb - pe));
    }
    int32_t e;
    struct kiln_ls *fe = loop(lc, &lc->k->body, "e", kiln_lower_numel(lc, x), &e);
    struct kiln_lx *iv = kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_load(lc, ind, V(lc, e)));
    unflatten(lc, iv, dd, r, ci);
    struct kiln_lx *ok = bin(lc, KILN_LX_GE, iv, IX(lc, 0));
    for (int i = 0; i < r; i++)
        ok = land(lc, ok, bin(lc, KILN_LX_LT, ci[i], kiln_lower_dim(lc, y, i)));
    struct kiln_lblock *wb = &kiln_lb_if(lc, &fe->body, ok)->body;
    kiln_lb_store(lc, wb, y, kiln_lower_offset(lc, y, ci, r), kiln_lx_load(lc, x, V(lc, e)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- reductions */

/*
 * The reduced axes of a Reduce* node into mask[r]: `axes` is an attribute
 * before opset 13 (ReduceSum) or 18 (the others) and a constant input after.
 * No axes reduce everything, unless noop_with_empty_axes, which reduces none
 * (the op then maps each element alone: ReduceSumSquare squares it).
 */
/*
 * Reduced axes read off the shapes, for axes computed at run time whose
 * values shape inference knew: with keepdims the reduced axes are those of
 * extent 1 in the output (reducing an axis of extent 1 or not is the same);
 * without, the output dims must embed in the input's in exactly one way.
 */
static bool
mask_from_shapes(struct kiln_lower_ctx *lc, int32_t x, int32_t y, bool *mask)
{
    int r = kiln_lower_rank(lc, x), ro = kiln_lower_rank(lc, y);
    if (ro == r) {
        for (int i = 0; i < r; i++)
            mask[i] = is_imm(kiln_lower_dim(lc, y, i), 1);
        return true;
    }
    if (ro > r)
        return false;
    /* ways[i][j]: embeddings of output dims [j, ro) into input dims [i, r) */
    int64_t ways[KILN_MAX_RANK + 1][KILN_MAX_RANK + 1] = {{0}};
    for (int i = r; i >= 0; i--) {
        for (int j = ro; j >= 0; j--) {
            if (j == ro)
                ways[i][j] = 1;
            else if (i == r)
                ways[i][j] = 0;
            else
                ways[i][j] =
                    ways[i + 1][j] + (same_dim(kiln_lower_dim(lc, x, i), kiln_lower_dim(lc, y, j))
                                          ? ways[i + 1][j + 1]
                                          : 0);
            if (ways[i][j] > 2)
                ways[i][j] = 2;
        }
    }
    if (ways[0][0] != 1)
        return false;
    for (int i = 0, j = 0; i < r; i++) {
        bool take = j < ro && same_dim(kiln_lower_dim(lc, x, i), kiln_lower_dim(lc, y, j)) &&
                    ways[i + 1][j + 1] == 1;
        mask[i] = !take;
        j += take;
    }
    return true;
}

static enum kiln_status
reduce_axes(struct kiln_lower_ctx *lc, int r, bool *mask)
{
    enum kiln_op op = lc->n->op;
    bool from_input = op == KILN_OP_REDUCE_SUM ? lc->g->opset >= 13 : lc->g->opset >= 18;
    int64_t ax[KILN_MAX_RANK];
    int na = 0;
    if (from_input) {
        if (has_input(lc, 1) && !kiln_lower_const_in(lc, 1)) {
            int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
            if (mask_from_shapes(lc, x, y, mask))
                return KILN_OK;
        }
        enum kiln_status st = const_ints(lc, 1, "axes", ax, KILN_MAX_RANK, &na);
        if (st != KILN_OK)
            return st;
    } else {
        int64_t len;
        const int64_t *a = kiln_node_attr_ints(lc->n, "axes", &len);
        if (a && len <= KILN_MAX_RANK) {
            for (int64_t i = 0; i < len; i++)
                ax[i] = a[i];
            na = (int)len;
        }
    }
    bool noop = kiln_node_attr_int(lc->n, "noop_with_empty_axes", 0) != 0;
    for (int i = 0; i < r; i++)
        mask[i] = na <= 0 && !noop;
    for (int i = 0; i < na; i++)
        mask[norm_axis(ax[i], r)] = true;
    return KILN_OK;
}

/*
 * Parallel loop over the kept axes of slot x (those not in mask), then nested
 * loops over the reduced ones; idx[r] gets every axis's index. Returns the
 * body of the parallel loop in *outer and the innermost block.
 */
static struct kiln_lblock *
reduce_parallel(struct kiln_lower_ctx *lc, int32_t x, const bool *mask, struct kiln_lx **idx,
                int32_t *p)
{
    int r = kiln_lower_rank(lc, x);
    struct kiln_lx *kd[KILN_MAX_RANK] = {NULL}, *ki[KILN_MAX_RANK];
    int nk = 0;
    struct kiln_lx *trip = IX(lc, 1);
    for (int i = 0; i < r; i++) {
        if (!mask[i]) {
            kd[nk++] = kiln_lower_dim(lc, x, i);
            trip = mul_i(lc, trip, kiln_lower_dim(lc, x, i));
        }
    }
    struct kiln_lblock *body = kiln_lk_parallel(lc, trip, p);
    unflatten(lc, V(lc, *p), kd, nk, ki);
    for (int i = 0, j = 0; i < r; i++)
        idx[i] = mask[i] ? NULL : ki[j++];
    return body;
}

static struct kiln_lblock *
reduce_nest(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t x, const bool *mask,
            struct kiln_lx **idx)
{
    int r = kiln_lower_rank(lc, x);
    for (int i = 0; i < r; i++) {
        if (mask[i]) {
            int32_t v;
            struct kiln_ls *f = loop(lc, b, "r", kiln_lower_dim(lc, x, i), &v);
            idx[i] = V(lc, v);
            b = &f->body;
        }
    }
    return b;
}

static struct kiln_lx *
reduced_count(struct kiln_lower_ctx *lc, int32_t x, const bool *mask)
{
    struct kiln_lx *c = IX(lc, 1);
    for (int i = 0; i < kiln_lower_rank(lc, x); i++)
        if (mask[i])
            c = mul_i(lc, c, kiln_lower_dim(lc, x, i));
    return c;
}

enum kiln_status
kiln_lower_reduce(struct kiln_lower_ctx *lc)
{
    enum kiln_op op = lc->n->op;
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    bool mask[KILN_MAX_RANK];
    enum kiln_status st = reduce_axes(lc, r, mask);
    if (st != KILN_OK)
        return st;
    enum kiln_dtype xt = kiln_lower_buf(lc, x)->dtype;
    enum kiln_dtype ct = kiln_lower_compute_type(xt);
    bool transcend =
        op == KILN_OP_REDUCE_L2 || op == KILN_OP_REDUCE_LOG_SUM || op == KILN_OP_REDUCE_LOG_SUM_EXP;
    if (transcend && !kiln_dtype_is_float(ct))
        ct = KILN_DT_F64;
    struct kiln_lx *idx[KILN_MAX_RANK];
    int32_t p;
    struct kiln_lblock *body = reduce_parallel(lc, x, mask, idx, &p);
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    struct kiln_lx *shift = NULL;
    if (op == KILN_OP_REDUCE_LOG_SUM_EXP) {
        /* max first, so exp cannot overflow; an infinite max (or none) shifts by 0 */
        int32_t mx = kiln_lk_var(lc, ct, "max");
        kiln_lb_set(lc, body, mx, lowest(lc, ct));
        struct kiln_lblock *ib = reduce_nest(lc, body, x, mask, idx);
        struct kiln_lx *v =
            kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, x, kiln_lower_offset(lc, x, idx, r)));
        kiln_lb_set(lc, ib, mx, vmax(lc, V(lc, mx), v));
        shift = kiln_lx_select(lc, kiln_lx_unary(lc, KILN_LX_ISINF, V(lc, mx)), fimm(lc, ct, 0),
                               V(lc, mx));
        int32_t sh = kiln_lk_var(lc, ct, "shift");
        kiln_lb_set(lc, body, sh, shift);
        shift = V(lc, sh);
    }
    struct kiln_lx *init = fimm(lc, ct, 0);
    if (op == KILN_OP_REDUCE_PROD)
        init = kiln_lx_imm_i(lc, ct, 1);
    else if (op == KILN_OP_REDUCE_MAX)
        init = lowest(lc, ct);
    else if (op == KILN_OP_REDUCE_MIN)
        init = highest(lc, ct);
    kiln_lb_set(lc, body, acc, init);
    struct kiln_lblock *ib = reduce_nest(lc, body, x, mask, idx);
    struct kiln_lx *v =
        kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, x, kiln_lower_offset(lc, x, idx, r)));
    struct kiln_lx *a = V(lc, acc), *nv;
    switch (op) {
    case KILN_OP_REDUCE_PROD:
        nv = bin(lc, KILN_LX_MUL, a, v);
        break;
    case KILN_OP_REDUCE_MAX:
        nv = vmax(lc, a, v);
        break;
    case KILN_OP_REDUCE_MIN:
        nv = vmin(lc, a, v);
        break;
    case KILN_OP_REDUCE_L1:
        nv = bin(lc, KILN_LX_ADD, a, kiln_lx_unary(lc, KILN_LX_ABS, v));
        break;
    case KILN_OP_REDUCE_L2:
    case KILN_OP_REDUCE_SUM_SQUARE:
        nv = bin(lc, KILN_LX_ADD, a, bin(lc, KILN_LX_MUL, v, v));
        break;
    case KILN_OP_REDUCE_LOG_SUM_EXP:
        nv =
            bin(lc, KILN_LX_ADD, a, kiln_lx_unary(lc, KILN_LX_EXP, bin(lc, KILN_LX_SUB, v, shift)));
        break;
    default:
        nv = bin(lc, KILN_LX_ADD, a, v);
        break;
    }
    kiln_lb_set(lc, ib, acc, nv);
    struct kiln_lx *res = V(lc, acc);
    switch (op) {
    case KILN_OP_REDUCE_MEAN: {
        struct kiln_lx *cnt = reduced_count(lc, x, mask);
        if (kiln_dtype_is_float(ct))
            res = bin(lc, KILN_LX_DIV, res, kiln_lx_cast(lc, ct, cnt));
        else /* numpy: the integer sum divided as a float, truncated back */
            res = kiln_lx_cast(lc, ct,
                               bin(lc, KILN_LX_DIV, kiln_lx_cast(lc, KILN_DT_F64, res),
                                   kiln_lx_cast(lc, KILN_DT_F64, cnt)));
        break;
    }
    case KILN_OP_REDUCE_L2:
        res = kiln_lx_unary(lc, KILN_LX_SQRT, res);
        break;
    case KILN_OP_REDUCE_LOG_SUM:
        res = kiln_lx_unary(lc, KILN_LX_LOG, res);
        break;
    case KILN_OP_REDUCE_LOG_SUM_EXP:
        res = bin(lc, KILN_LX_ADD, kiln_lx_unary(lc, KILN_LX_LOG, res), shift);
        break;
    default:
        break;
    }
    kiln_lb_store_f(lc, body, y, V(lc, p), kiln_lx_cast(lc, kiln_lower_compute_type(xt), res));
    return KILN_OK;
}

/* ArgMax/ArgMin along `axis`: the first extreme (the last with select_last_index);
 * NaN counts as the extreme, as numpy's argmax/argmin. */
enum kiln_status
kiln_lower_arg_reduce(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int axis = norm_axis(kiln_node_attr_int(lc->n, "axis", 0), r);
    bool last = kiln_node_attr_int(lc->n, "select_last_index", 0) != 0;
    bool mx = lc->n->op == KILN_OP_ARG_MAX;
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, x)->dtype);
    int32_t p, i;
    struct axis_view av;
    axis_view(lc, x, axis, NULL, &av);
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, av.outer, av.inner), &p);
    axis_view(lc, x, axis, V(lc, p), &av);
    int32_t best = kiln_lk_var(lc, ct, "best"), arg = kiln_lk_var(lc, KILN_DT_I64, "arg");
    kiln_lb_set(lc, body, best, kiln_lx_load_f(lc, x, av.base));
    kiln_lb_set(lc, body, arg, IX(lc, 0));
    struct kiln_ls *f = kiln_lb_for(lc, body, "i", IX(lc, 1), av.len, &i);
    struct kiln_lx *v = kiln_lx_load_f(lc, x, axis_at(lc, &av, V(lc, i)));
    enum kiln_lx_op cmp = mx ? (last ? KILN_LX_GE : KILN_LX_GT) : (last ? KILN_LX_LE : KILN_LX_LT);
    struct kiln_lx *c = bin(lc, cmp, v, V(lc, best));
    if (kiln_dtype_is_float(ct)) {
        struct kiln_lx *vn = kiln_lx_unary(lc, KILN_LX_ISNAN, v);
        if (!last)
            vn = bin(lc, KILN_LX_AND, vn,
                     kiln_lx_unary(lc, KILN_LX_NOT, kiln_lx_unary(lc, KILN_LX_ISNAN, V(lc, best))));
        c = bin(lc, KILN_LX_OR, c, vn);
    }
    struct kiln_ls *u = kiln_lb_if(lc, &f->body, c);
    kiln_lb_set(lc, &u->body, best, v);
    kiln_lb_set(lc, &u->body, arg, V(lc, i));
    kiln_lb_store(lc, body, y, V(lc, p),
                  kiln_lx_cast(lc, kiln_lower_buf(lc, y)->dtype, V(lc, arg)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Softmax, LogSoftmax, Hardmax */

/*
 * Opset 13+: along `axis` (default -1). Before 13: the input is coerced to 2-D
 * at `axis` (default 1) and normalized over the whole second dimension.
 */
static void
softmax_view(struct kiln_lower_ctx *lc, int32_t x, struct kiln_lx **outer, struct kiln_lx **len,
             struct kiln_lx **inner)
{
    int r = kiln_lower_rank(lc, x);
    bool v13 = lc->g->opset >= 13;
    int axis = norm_axis(kiln_node_attr_int(lc->n, "axis", v13 ? -1 : 1), r);
    if (r == 0)
        axis = 0;
    *outer = kiln_lower_dims_prod(lc, x, 0, axis);
    *len = v13 ? kiln_lower_dims_prod(lc, x, axis, axis + (r > 0))
               : kiln_lower_dims_prod(lc, x, axis, r);
    *inner = v13 ? kiln_lower_dims_prod(lc, x, axis + (r > 0), r) : IX(lc, 1);
}

enum kiln_status
kiln_lower_softmax(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    bool logsm = lc->n->op == KILN_OP_LOG_SOFTMAX;
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *outer, *len, *inner;
    softmax_view(lc, x, &outer, &len, &inner);
    int32_t p, i;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, outer, inner), &p);
    struct kiln_lx *po = div_i(lc, V(lc, p), inner), *pi = rem_i(lc, V(lc, p), inner);
    struct kiln_lx *base = add_i(lc, mul_i(lc, mul_i(lc, po, len), inner), pi);
    int32_t mx = kiln_lk_var(lc, ct, "max"), sum = kiln_lk_var(lc, ct, "sum");
    kiln_lb_set(lc, body, mx, fimm(lc, ct, -INFINITY));
    struct kiln_ls *f1 = loop(lc, body, "i", len, &i);
    struct kiln_lx *at = add_i(lc, base, mul_i(lc, V(lc, i), inner));
    struct kiln_lx *v = kiln_lx_load_f(lc, x, at), *m = V(lc, mx);
    kiln_lb_set(lc, &f1->body, mx, kiln_lx_select(lc, bin(lc, KILN_LX_GT, v, m), v, m));
    kiln_lb_set(lc, body, sum, fimm(lc, ct, 0));
    struct kiln_ls *f2 = loop(lc, body, "i", len, &i);
    at = add_i(lc, base, mul_i(lc, V(lc, i), inner));
    struct kiln_lx *e =
        kiln_lx_unary(lc, KILN_LX_EXP, bin(lc, KILN_LX_SUB, kiln_lx_load_f(lc, x, at), V(lc, mx)));
    accum(lc, &f2->body, sum, KILN_LX_ADD, e);
    struct kiln_ls *f3 = loop(lc, body, "i", len, &i);
    at = add_i(lc, base, mul_i(lc, V(lc, i), inner));
    struct kiln_lx *d = bin(lc, KILN_LX_SUB, kiln_lx_load_f(lc, x, at), V(lc, mx));
    struct kiln_lx *res = logsm
                              ? bin(lc, KILN_LX_SUB, d, kiln_lx_unary(lc, KILN_LX_LOG, V(lc, sum)))
                              : bin(lc, KILN_LX_DIV, kiln_lx_unary(lc, KILN_LX_EXP, d), V(lc, sum));
    kiln_lb_store_f(lc, &f3->body, y, at, res);
    return KILN_OK;
}

/* Hardmax: 1 at the first maximum along the axis (as Softmax's), 0 elsewhere. */
enum kiln_status
kiln_lower_hardmax(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *outer, *len, *inner;
    softmax_view(lc, x, &outer, &len, &inner);
    int32_t p, i;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, outer, inner), &p);
    struct kiln_lx *po = div_i(lc, V(lc, p), inner), *pi = rem_i(lc, V(lc, p), inner);
    struct kiln_lx *base = add_i(lc, mul_i(lc, mul_i(lc, po, len), inner), pi);
    int32_t best = kiln_lk_var(lc, ct, "best"), arg = kiln_lk_var(lc, KILN_DT_I64, "arg");
    kiln_lb_set(lc, body, best, lowest(lc, ct));
    kiln_lb_set(lc, body, arg, IX(lc, 0));
    struct kiln_ls *f1 = loop(lc, body, "i", len, &i);
    struct kiln_lx *v = kiln_lx_load_f(lc, x, add_i(lc, base, mul_i(lc, V(lc, i), inner)));
    struct kiln_ls *u = kiln_lb_if(lc, &f1->body, bin(lc, KILN_LX_GT, v, V(lc, best)));
    kiln_lb_set(lc, &u->body, best, v);
    kiln_lb_set(lc, &u->body, arg, V(lc, i));
    struct kiln_ls *f2 = loop(lc, body, "i", len, &i);
    struct kiln_lx *at = add_i(lc, base, mul_i(lc, V(lc, i), inner));
    kiln_lb_store_f(lc, &f2->body, y, at,
                    kiln_lx_select(lc, bin(lc, KILN_LX_EQ, V(lc, i), V(lc, arg)), fimm(lc, ct, 1),
                                   fimm(lc, ct, 0)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- CumSum, CumProd */

enum kiln_status
kiln_lower_cumulative(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int64_t ax[1];
    int na;
    enum kiln_status st = const_ints(lc, 1, "axis", ax, 1, &na);
    if (st != KILN_OK)
        return st;
    if (na != 1)
        return kiln_lower_unsupported(lc, "axis must hold one value");
    int axis = norm_axis(ax[0], r);
    bool excl = kiln_node_attr_int(lc->n, "exclusive", 0) != 0;
    bool rev = kiln_node_attr_int(lc->n, "reverse", 0) != 0;
    bool prod = lc->n->op == KILN_OP_CUM_PROD;
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct axis_view av;
    axis_view(lc, x, axis, NULL, &av);
    int32_t p, i;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, av.outer, av.inner), &p);
    axis_view(lc, x, axis, V(lc, p), &av);
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, body, acc, kiln_lx_imm_i(lc, ct, prod ? 1 : 0));
    struct kiln_ls *f = loop(lc, body, "i", av.len, &i);
    struct kiln_lx *j = rev ? sub_i(lc, sub_i(lc, av.len, IX(lc, 1)), V(lc, i)) : V(lc, i);
    struct kiln_lx *at = axis_at(lc, &av, j);
    enum kiln_lx_op op = prod ? KILN_LX_MUL : KILN_LX_ADD;
    if (excl)
        kiln_lb_store_f(lc, &f->body, y, at, V(lc, acc));
    accum(lc, &f->body, acc, op, kiln_lx_load_f(lc, x, at));
    if (!excl)
        kiln_lb_store_f(lc, &f->body, y, at, V(lc, acc));
    return KILN_OK;
}

/* ---------------------------------------------------------------- TopK */

/*
 * TopK by rank: element i's rank is the number of elements that come before it
 * (greater, or equal with a smaller index, for largest); ranks below k are
 * written at their rank. That is the sorted order with ties by index, without
 * scratch memory, in O(n^2) per row.
 */
enum kiln_status
kiln_lower_topk(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), yv = kiln_lower_out(lc, 0), yi = kiln_lower_out(lc, 1);
    int r = kiln_lower_rank(lc, x);
    int axis = norm_axis(kiln_node_attr_int(lc->n, "axis", -1), r);
    bool largest = kiln_node_attr_int(lc->n, "largest", 1) != 0;
    int32_t ref = yv >= 0 ? yv : yi;
    struct kiln_lx *k = kiln_lower_dim(lc, ref, axis);
    struct axis_view ax, ay;
    axis_view(lc, x, axis, NULL, &ax);
    int32_t p, i, j;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, ax.outer, ax.inner), &p);
    axis_view(lc, x, axis, V(lc, p), &ax);
    axis_view(lc, ref, axis, V(lc, p), &ay);
    struct kiln_ls *fi = loop(lc, body, "i", ax.len, &i);
    struct kiln_lx *vi = kiln_lx_load_f(lc, x, axis_at(lc, &ax, V(lc, i)));
    int32_t cur = kiln_lk_var(lc, vi->type, "v"), rank = kiln_lk_var(lc, KILN_DT_I64, "rank");
    kiln_lb_set(lc, &fi->body, cur, vi);
    kiln_lb_set(lc, &fi->body, rank, IX(lc, 0));
    struct kiln_ls *fj = loop(lc, &fi->body, "j", ax.len, &j);
    struct kiln_lx *vj = kiln_lx_load_f(lc, x, axis_at(lc, &ax, V(lc, j)));
    struct kiln_lx *before =
        bin(lc, KILN_LX_OR, bin(lc, largest ? KILN_LX_GT : KILN_LX_LT, vj, V(lc, cur)),
            bin(lc, KILN_LX_AND, bin(lc, KILN_LX_EQ, vj, V(lc, cur)),
                bin(lc, KILN_LX_LT, V(lc, j), V(lc, i))));
    accum(lc, &fj->body, rank, KILN_LX_ADD, kiln_lx_select(lc, before, IX(lc, 1), IX(lc, 0)));
    struct kiln_ls *w = kiln_lb_if(lc, &fi->body, bin(lc, KILN_LX_LT, V(lc, rank), k));
    struct kiln_lx *at = axis_at(lc, &ay, V(lc, rank));
    if (yv >= 0)
        kiln_lb_store_f(lc, &w->body, yv, at, V(lc, cur));
    if (yi >= 0)
        kiln_lb_store(lc, &w->body, yi, at,
                      kiln_lx_cast(lc, kiln_lower_buf(lc, yi)->dtype, V(lc, i)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- BatchNormalization */

static struct kiln_lx *
normalize(struct kiln_lower_ctx *lc, struct kiln_lx *v, struct kiln_lx *mean, struct kiln_lx *var,
          double eps)
{
    enum kiln_dtype t = v->type;
    return bin(lc, KILN_LX_DIV, bin(lc, KILN_LX_SUB, v, mean),
               kiln_lx_unary(lc, KILN_LX_SQRT, bin(lc, KILN_LX_ADD, var, fimm(lc, t, eps))));
}

/*
 * Inference: per-channel statistics from the inputs. Training mode (opset 14,
 * training_mode = 1): the batch's own mean and (population) variance, and the
 * running statistics mean * momentum + batch * (1 - momentum) as outputs 1, 2.
 */
enum kiln_status
kiln_lower_batch_norm(struct kiln_lower_ctx *lc)
{
    bool training = kiln_node_attr_int(lc->n, "training_mode", 0) != 0;
    bool extra = false;
    for (int i = 1; i < lc->n->n_out; i++)
        extra |= lc->n->out[i] >= 0;
    if (extra && !training)
        return kiln_lower_unsupported(lc, "training-mode outputs (running statistics)");
    if (training && lc->g->opset < 14)
        return kiln_lower_unsupported(lc, "training mode before opset 14");
    int32_t x = kiln_lower_in(lc, 0), sc = kiln_lower_in(lc, 1), bi = kiln_lower_in(lc, 2);
    int32_t mean = kiln_lower_in(lc, 3), var = kiln_lower_in(lc, 4), y = kiln_lower_out(lc, 0);
    float eps = kiln_node_attr_float(lc->n, "epsilon", 1e-5f);
    if (!training) {
        struct kiln_lx *idx[KILN_MAX_RANK], *flat;
        struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
        struct kiln_lx *c = kiln_lower_rank(lc, y) > 1 ? idx[1] : IX(lc, 0);
        /* spatial = 0 (before opset 9): statistics per activation, [C, D1, ...] */
        if (kiln_lower_rank(lc, sc) > 1)
            c = rem_i(lc, flat, kiln_lower_numel(lc, sc));
        struct kiln_lx *v = kiln_lx_load_f(lc, x, flat);
        struct kiln_lx *r =
            bin(lc, KILN_LX_ADD,
                bin(lc, KILN_LX_MUL, kiln_lx_load_f(lc, sc, c),
                    normalize(lc, v, kiln_lx_load_f(lc, mean, c), kiln_lx_load_f(lc, var, c), eps)),
                kiln_lx_load_f(lc, bi, c));
        kiln_lb_store_f(lc, b, y, flat, r);
        return KILN_OK;
    }
    float mom = kiln_node_attr_float(lc->n, "momentum", 0.9f);
    int32_t rm = kiln_lower_out(lc, 1), rv = kiln_lower_out(lc, 2);
    int r = kiln_lower_rank(lc, x);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *N = kiln_lower_dim(lc, x, 0), *C = kiln_lower_dim(lc, x, 1);
    struct kiln_lx *S = kiln_lower_dims_prod(lc, x, 2, r);
    int32_t c, in, is;
    struct kiln_lblock *body = kiln_lk_parallel(lc, C, &c);
    int32_t sum = kiln_lk_var(lc, ct, "sum"), sq = kiln_lk_var(lc, ct, "sq");
    struct kiln_lx *cnt = kiln_lx_cast(lc, ct, mul_i(lc, N, S));
    kiln_lb_set(lc, body, sum, fimm(lc, ct, 0));
    struct kiln_ls *fn = loop(lc, body, "n", N, &in);
    struct kiln_ls *fs = loop(lc, &fn->body, "s", S, &is);
    struct kiln_lx *at =
        add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, V(lc, in), C), V(lc, c)), S), V(lc, is));
    accum(lc, &fs->body, sum, KILN_LX_ADD, kiln_lx_load_f(lc, x, at));
    int32_t mu = kiln_lk_var(lc, ct, "mean");
    kiln_lb_set(lc, body, mu, bin(lc, KILN_LX_DIV, V(lc, sum), cnt));
    kiln_lb_set(lc, body, sq, fimm(lc, ct, 0));
    fn = loop(lc, body, "n", N, &in);
    fs = loop(lc, &fn->body, "s", S, &is);
    at = add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, V(lc, in), C), V(lc, c)), S), V(lc, is));
    struct kiln_lx *d = bin(lc, KILN_LX_SUB, kiln_lx_load_f(lc, x, at), V(lc, mu));
    accum(lc, &fs->body, sq, KILN_LX_ADD, bin(lc, KILN_LX_MUL, d, d));
    int32_t va = kiln_lk_var(lc, ct, "var");
    kiln_lb_set(lc, body, va, bin(lc, KILN_LX_DIV, V(lc, sq), cnt));
    fn = loop(lc, body, "n", N, &in);
    fs = loop(lc, &fn->body, "s", S, &is);
    at = add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, V(lc, in), C), V(lc, c)), S), V(lc, is));
    struct kiln_lx *res =
        bin(lc, KILN_LX_ADD,
            bin(lc, KILN_LX_MUL, kiln_lx_load_f(lc, sc, V(lc, c)),
                normalize(lc, kiln_lx_load_f(lc, x, at), V(lc, mu), V(lc, va), eps)),
            kiln_lx_load_f(lc, bi, V(lc, c)));
    kiln_lb_store_f(lc, &fs->body, y, at, res);
    struct kiln_lx *m = fimm(lc, ct, mom), *m1 = fimm(lc, ct, 1.0 - (double)mom);
    if (rm >= 0)
        kiln_lb_store_f(lc, body, rm, V(lc, c),
                        bin(lc, KILN_LX_ADD,
                            bin(lc, KILN_LX_MUL, kiln_lx_load_f(lc, mean, V(lc, c)), m),
                            bin(lc, KILN_LX_MUL, V(lc, mu), m1)));
    if (rv >= 0)
        kiln_lb_store_f(lc, body, rv, V(lc, c),
                        bin(lc, KILN_LX_ADD,
                            bin(lc, KILN_LX_MUL, kiln_lx_load_f(lc, var, V(lc, c)), m),
                            bin(lc, KILN_LX_MUL, V(lc, va), m1)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Layer, RMS normalization */

/*
 * Element of `slot` (broadcast, right-aligned, against dims [axis, r) of x)
 * for the flat index j over those dims.
 */
static struct kiln_lx *
load_inner(struct kiln_lower_ctx *lc, int32_t slot, int32_t x, int axis, struct kiln_lx *j)
{
    int r = kiln_lower_rank(lc, x), rs = kiln_lower_rank(lc, slot), n = r - axis;
    bool same = rs == n;
    for (int i = 0; same && i < n; i++)
        same = same_dim(kiln_lower_dim(lc, slot, i), kiln_lower_dim(lc, x, axis + i));
    if (same)
        return kiln_lx_load_f(lc, slot, j);
    if (is_single(lc, slot))
        return kiln_lx_load_f(lc, slot, IX(lc, 0));
    struct kiln_lx *dims[KILN_MAX_RANK], *idx[KILN_MAX_RANK];
    for (int i = 0; i < n; i++)
        dims[i] = kiln_lower_dim(lc, x, axis + i);
    unflatten(lc, j, dims, n, idx);
    return kiln_lx_load_f(lc, slot, kiln_lower_offset(lc, slot, idx, n));
}

/*
 * LayerNormalization (Mean and InvStdDev optional outputs) and
 * RMSNormalization: statistics over dims [axis, r) of each row, then the
 * scale (and bias) broadcast over those dims.
 */
enum kiln_status
kiln_lower_layer_norm(struct kiln_lower_ctx *lc)
{
    bool rms = lc->n->op == KILN_OP_RMS_NORMALIZATION;
    int32_t x = kiln_lower_in(lc, 0), sc = kiln_lower_in(lc, 1);
    int32_t bi = rms ? -1 : kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0), om = rms ? -1 : kiln_lower_out(lc, 1);
    int32_t oi = rms ? -1 : kiln_lower_out(lc, 2);
    int r = kiln_lower_rank(lc, x);
    int axis = norm_axis(kiln_node_attr_int(lc->n, "axis", -1), r);
    float eps = kiln_node_attr_float(lc->n, "epsilon", 1e-5f);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, x)->dtype);
    struct kiln_lx *outer = kiln_lower_dims_prod(lc, x, 0, axis),
                   *inner = kiln_lower_dims_prod(lc, x, axis, r);
    struct kiln_lx *cnt = kiln_lx_cast(lc, ct, inner);
    int32_t p, j;
    struct kiln_lblock *body = kiln_lk_parallel(lc, outer, &p);
    struct kiln_lx *base = mul_i(lc, V(lc, p), inner);
    int32_t mu = kiln_lk_var(lc, ct, "mean"), acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, body, mu, fimm(lc, ct, 0));
    if (!rms) {
        kiln_lb_set(lc, body, acc, fimm(lc, ct, 0));
        struct kiln_ls *f = loop(lc, body, "j", inner, &j);
        accum(lc, &f->body, acc, KILN_LX_ADD,
              kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, x, add_i(lc, base, V(lc, j)))));
        kiln_lb_set(lc, body, mu, bin(lc, KILN_LX_DIV, V(lc, acc), cnt));
    }
    kiln_lb_set(lc, body, acc, fimm(lc, ct, 0));
    struct kiln_ls *f = loop(lc, body, "j", inner, &j);
    struct kiln_lx *d =
        bin(lc, KILN_LX_SUB, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, x, add_i(lc, base, V(lc, j)))),
            V(lc, mu));
    accum(lc, &f->body, acc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, d, d));
    int32_t inv = kiln_lk_var(lc, ct, "inv");
    kiln_lb_set(lc, body, inv,
                bin(lc, KILN_LX_DIV, fimm(lc, ct, 1),
                    kiln_lx_unary(lc, KILN_LX_SQRT,
                                  bin(lc, KILN_LX_ADD, bin(lc, KILN_LX_DIV, V(lc, acc), cnt),
                                      fimm(lc, ct, eps)))));
    f = loop(lc, body, "j", inner, &j);
    f->hints |= KILN_LS_HINT_VECTORIZE;
    struct kiln_lx *at = add_i(lc, base, V(lc, j));
    struct kiln_lx *v =
        bin(lc, KILN_LX_MUL,
            bin(lc, KILN_LX_SUB, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, x, at)), V(lc, mu)),
            V(lc, inv));
    v = bin(lc, KILN_LX_MUL, v, kiln_lx_cast(lc, ct, load_inner(lc, sc, x, axis, V(lc, j))));
    if (bi >= 0)
        v = bin(lc, KILN_LX_ADD, v, kiln_lx_cast(lc, ct, load_inner(lc, bi, x, axis, V(lc, j))));
    kiln_lb_store_f(lc, &f->body, y, at, v);
    if (om >= 0)
        kiln_lb_store_f(lc, body, om, V(lc, p), V(lc, mu));
    if (oi >= 0)
        kiln_lb_store_f(lc, body, oi, V(lc, p), V(lc, inv));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Instance, Group normalization */

/*
 * Statistics over blocks of `len` contiguous elements (one per parallel
 * iteration p), then y = scale[c] * norm + bias[c] where c = chan(p, j).
 */
enum kiln_status
kiln_lower_group_norm(struct kiln_lower_ctx *lc)
{
    bool inst = lc->n->op == KILN_OP_INSTANCE_NORMALIZATION;
    int32_t x = kiln_lower_in(lc, 0), sc = kiln_lower_in(lc, 1), bi = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    float eps = kiln_node_attr_float(lc->n, "epsilon", 1e-5f);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, x)->dtype);
    struct kiln_lx *C = kiln_lower_dim(lc, x, 1), *S = kiln_lower_dims_prod(lc, x, 2, r);
    struct kiln_lx *G = inst ? C : IX(lc, kiln_node_attr_int(lc->n, "num_groups", 1));
    struct kiln_lx *Cg = div_i(lc, C, G);
    struct kiln_lx *len = mul_i(lc, Cg, S);
    bool per_group = !inst && lc->g->opset < 21;
    int32_t p, j;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, kiln_lower_dim(lc, x, 0), G), &p);
    struct kiln_lx *base = mul_i(lc, V(lc, p), len), *cnt = kiln_lx_cast(lc, ct, len);
    int32_t mu = kiln_lk_var(lc, ct, "mean"), acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, body, acc, fimm(lc, ct, 0));
    struct kiln_ls *f = loop(lc, body, "j", len, &j);
    accum(lc, &f->body, acc, KILN_LX_ADD, kiln_lx_load_f(lc, x, add_i(lc, base, V(lc, j))));
    kiln_lb_set(lc, body, mu, bin(lc, KILN_LX_DIV, V(lc, acc), cnt));
    kiln_lb_set(lc, body, acc, fimm(lc, ct, 0));
    f = loop(lc, body, "j", len, &j);
    struct kiln_lx *d =
        bin(lc, KILN_LX_SUB, kiln_lx_load_f(lc, x, add_i(lc, base, V(lc, j))), V(lc, mu));
    accum(lc, &f->body, acc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, d, d));
    int32_t va = kiln_lk_var(lc, ct, "var");
    kiln_lb_set(lc, body, va, bin(lc, KILN_LX_DIV, V(lc, acc), cnt));
    f = loop(lc, body, "j", len, &j);
    struct kiln_lx *at = add_i(lc, base, V(lc, j));
    struct kiln_lx *g = rem_i(lc, V(lc, p), G);
    struct kiln_lx *c = per_group ? g : add_i(lc, mul_i(lc, g, Cg), div_i(lc, V(lc, j), S));
    struct kiln_lx *v = normalize(lc, kiln_lx_load_f(lc, x, at), V(lc, mu), V(lc, va), eps);
    v = bin(lc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, kiln_lx_load_f(lc, sc, c), v),
            kiln_lx_load_f(lc, bi, c));
    kiln_lb_store_f(lc, &f->body, y, at, v);
    return KILN_OK;
}

/* ---------------------------------------------------------------- LRN */

enum kiln_status
kiln_lower_lrn(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int64_t size = kiln_node_attr_int(lc->n, "size", 1);
    double alpha = kiln_node_attr_float(lc->n, "alpha", 1e-4f);
    double beta = kiln_node_attr_float(lc->n, "beta", 0.75f);
    double bias = kiln_node_attr_float(lc->n, "bias", 1.0f);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *C = kiln_lower_dim(lc, x, 1), *S = kiln_lower_dims_prod(lc, x, 2, r);
    int64_t c1 = (size - 1) / 2, c2 = (size - 1) - c1 + 1;
    int32_t p, s, cc;
    struct kiln_lblock *body = kiln_lk_parallel(lc, kiln_lower_dims_prod(lc, x, 0, 2), &p);
    struct kiln_lx *vn = div_i(lc, V(lc, p), C), *vc = rem_i(lc, V(lc, p), C);
    struct kiln_ls *fs = loop(lc, body, "s", S, &s);
    int32_t acc = kiln_lk_var(lc, ct, "sq");
    kiln_lb_set(lc, &fs->body, acc, fimm(lc, ct, 0));
    struct kiln_lx *lo = bin(lc, KILN_LX_MAX, IX(lc, 0), sub_i(lc, vc, IX(lc, c1)));
    struct kiln_lx *hi = bin(lc, KILN_LX_MIN, C, add_i(lc, vc, IX(lc, c2)));
    struct kiln_ls *fc = kiln_lb_for(lc, &fs->body, "c", lo, hi, &cc);
    struct kiln_lx *xv = kiln_lx_load_f(
        lc, x, add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vn, C), V(lc, cc)), S), V(lc, s)));
    accum(lc, &fc->body, acc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, xv, xv));
    struct kiln_lx *at = add_i(lc, mul_i(lc, V(lc, p), S), V(lc, s));
    struct kiln_lx *den =
        bin(lc, KILN_LX_POW,
            bin(lc, KILN_LX_ADD, fimm(lc, ct, bias),
                bin(lc, KILN_LX_MUL, fimm(lc, ct, alpha / (double)size), V(lc, acc))),
            fimm(lc, ct, beta));
    kiln_lb_store_f(lc, &fs->body, y, at, bin(lc, KILN_LX_DIV, kiln_lx_load_f(lc, x, at), den));
    return KILN_OK;
}

/* ---------------------------------------------------------------- LpNormalization */

enum kiln_status
kiln_lower_lp_norm(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int axis = norm_axis(kiln_node_attr_int(lc->n, "axis", -1), r);
    double pp = attr_p(lc->n, 2.0);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct axis_view av;
    axis_view(lc, x, axis, NULL, &av);
    int32_t p, i;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, av.outer, av.inner), &p);
    axis_view(lc, x, axis, V(lc, p), &av);
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, body, acc, fimm(lc, ct, 0));
    struct kiln_ls *f = loop(lc, body, "i", av.len, &i);
    accum(lc, &f->body, acc, KILN_LX_ADD,
          abs_pow(lc, kiln_lx_load_f(lc, x, axis_at(lc, &av, V(lc, i))), pp));
    int32_t nrm = kiln_lk_var(lc, ct, "norm");
    kiln_lb_set(lc, body, nrm, root_p(lc, V(lc, acc), pp));
    f = loop(lc, body, "i", av.len, &i);
    struct kiln_lx *at = axis_at(lc, &av, V(lc, i));
    struct kiln_lx *zero = fimm(lc, ct, 0);
    kiln_lb_store_f(lc, &f->body, y, at,
                    kiln_lx_select(lc, bin(lc, KILN_LX_EQ, V(lc, nrm), zero), zero,
                                   bin(lc, KILN_LX_DIV, kiln_lx_load_f(lc, x, at), V(lc, nrm))));
    return KILN_OK;
}

/* ---------------------------------------------------------------- MeanVarianceNormalization */

/* (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) over `axes` (default 0, 2, 3). */
enum kiln_status
kiln_lower_mvn(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int64_t len;
    const int64_t *axes = kiln_node_attr_ints(lc->n, "axes", &len);
    static const int64_t def[] = {0, 2, 3};
    if (!axes) {
        axes = def;
        len = 3;
    }
    bool mask[KILN_MAX_RANK] = {false};
    for (int64_t i = 0; i < len; i++) {
        int a = norm_axis(axes[i], r);
        if (a < r)
            mask[a] = true;
    }
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *idx[KILN_MAX_RANK];
    int32_t p;
    struct kiln_lblock *body = reduce_parallel(lc, x, mask, idx, &p);
    struct kiln_lx *cnt = kiln_lx_cast(lc, ct, reduced_count(lc, x, mask));
    int32_t s1 = kiln_lk_var(lc, ct, "sum"), s2 = kiln_lk_var(lc, ct, "sumsq");
    kiln_lb_set(lc, body, s1, fimm(lc, ct, 0));
    kiln_lb_set(lc, body, s2, fimm(lc, ct, 0));
    struct kiln_lblock *ib = reduce_nest(lc, body, x, mask, idx);
    struct kiln_lx *v = kiln_lx_load_f(lc, x, kiln_lower_offset(lc, x, idx, r));
    accum(lc, ib, s1, KILN_LX_ADD, v);
    accum(lc, ib, s2, KILN_LX_ADD, bin(lc, KILN_LX_MUL, v, v));
    int32_t mu = kiln_lk_var(lc, ct, "mean"), sd = kiln_lk_var(lc, ct, "std");
    kiln_lb_set(lc, body, mu, bin(lc, KILN_LX_DIV, V(lc, s1), cnt));
    kiln_lb_set(lc, body, sd,
                bin(lc, KILN_LX_ADD,
                    kiln_lx_unary(lc, KILN_LX_SQRT,
                                  bin(lc, KILN_LX_SUB, bin(lc, KILN_LX_DIV, V(lc, s2), cnt),
                                      bin(lc, KILN_LX_MUL, V(lc, mu), V(lc, mu)))),
                    fimm(lc, ct, 1e-9)));
    ib = reduce_nest(lc, body, x, mask, idx);
    struct kiln_lx *at = kiln_lower_offset(lc, x, idx, r);
    kiln_lb_store_f(lc, ib, y, at,
                    bin(lc, KILN_LX_DIV, bin(lc, KILN_LX_SUB, kiln_lx_load_f(lc, x, at), V(lc, mu)),
                        V(lc, sd)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- NegativeLogLikelihoodLoss,
 * SoftmaxCrossEntropyLoss */

/*
 * The loss of one (n, d) position: -logp(t) * w[t], and its weight w[t]; both 0
 * for target == ignore_index. logp(t) comes from `logp` (x itself for NLL).
 */
struct loss_ctx {
    int32_t x, t, w;
    bool has_ii;
    int64_t ii;
    struct kiln_lx *C, *D;
    enum kiln_dtype ct;
};

typedef struct kiln_lx *(*logp_fn)(struct kiln_lower_ctx *lc, const struct loss_ctx *l,
                                   struct kiln_lblock *b, struct kiln_lx *n, struct kiln_lx *d,
                                   struct kiln_lx *c);

/* Emit into b: loss and weight variables of position (n, d). */
static void
loss_at(struct kiln_lower_ctx *lc, const struct loss_ctx *l, struct kiln_lblock *b,
        struct kiln_lx *n, struct kiln_lx *d, logp_fn logp, int32_t loss, int32_t wt)
{
    struct kiln_lx *tv =
        kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_load(lc, l->t, add_i(lc, mul_i(lc, n, l->D), d)));
    int32_t tvar = kiln_lk_var(lc, KILN_DT_I64, "t");
    kiln_lb_set(lc, b, tvar, tv);
    kiln_lb_set(lc, b, loss, fimm(lc, l->ct, 0));
    kiln_lb_set(lc, b, wt, fimm(lc, l->ct, 0));
    struct kiln_lblock *ok = b;
    if (l->has_ii)
        ok = &kiln_lb_if(lc, b, bin(lc, KILN_LX_NE, V(lc, tvar), IX(lc, l->ii)))->body;
    struct kiln_lx *w = l->w >= 0 ? kiln_lx_cast(lc, l->ct, kiln_lx_load_f(lc, l->w, V(lc, tvar)))
                                  : fimm(lc, l->ct, 1);
    kiln_lb_set(lc, ok, wt, w);
    struct kiln_lx *lp = logp(lc, l, ok, n, d, V(lc, tvar));
    kiln_lb_set(lc, ok, loss, bin(lc, KILN_LX_MUL, kiln_lx_unary(lc, KILN_LX_NEG, lp), V(lc, wt)));
}

static struct kiln_lx *
logp_input(struct kiln_lower_ctx *lc, const struct loss_ctx *l, struct kiln_lblock *b,
           struct kiln_lx *n, struct kiln_lx *d, struct kiln_lx *c)
{
    (void)b;
    struct kiln_lx *at = add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, n, l->C), c), l->D), d);
    return kiln_lx_cast(lc, l->ct, kiln_lx_load_f(lc, l->x, at));
}

/* log_softmax over the class axis, at class c: x[c] - max - log(sum exp(x - max)). */
static struct kiln_lx *
logp_softmax(struct kiln_lower_ctx *lc, const struct loss_ctx *l, struct kiln_lblock *b,
             struct kiln_lx *n, struct kiln_lx *d, struct kiln_lx *c)
{
    int32_t mx = kiln_lk_var(lc, l->ct, "max"), sum = kiln_lk_var(lc, l->ct, "sum"), k;
    struct kiln_lx *base = add_i(lc, mul_i(lc, mul_i(lc, n, l->C), l->D), d);
    kiln_lb_set(lc, b, mx, fimm(lc, l->ct, -INFINITY));
    struct kiln_ls *f = loop(lc, b, "c", l->C, &k);
    struct kiln_lx *v = kiln_lx_cast(
        lc, l->ct, kiln_lx_load_f(lc, l->x, add_i(lc, base, mul_i(lc, V(lc, k), l->D))));
    kiln_lb_set(lc, &f->body, mx,
                kiln_lx_select(lc, bin(lc, KILN_LX_GT, v, V(lc, mx)), v, V(lc, mx)));
    kiln_lb_set(lc, b, sum, fimm(lc, l->ct, 0));
    f = loop(lc, b, "c", l->C, &k);
    v = kiln_lx_cast(lc, l->ct,
                     kiln_lx_load_f(lc, l->x, add_i(lc, base, mul_i(lc, V(lc, k), l->D))));
    accum(lc, &f->body, sum, KILN_LX_ADD,
          kiln_lx_unary(lc, KILN_LX_EXP, bin(lc, KILN_LX_SUB, v, V(lc, mx))));
    struct kiln_lx *xc =
        kiln_lx_cast(lc, l->ct, kiln_lx_load_f(lc, l->x, add_i(lc, base, mul_i(lc, c, l->D))));
    return bin(lc, KILN_LX_SUB, bin(lc, KILN_LX_SUB, xc, V(lc, mx)),
               kiln_lx_unary(lc, KILN_LX_LOG, V(lc, sum)));
}

enum kiln_status
kiln_lower_loss(struct kiln_lower_ctx *lc)
{
    bool sce = lc->n->op == KILN_OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    const char *red = kiln_node_attr_string(lc->n, "reduction", "mean");
    int mode = strcmp(red, "none") == 0 ? 0 : strcmp(red, "sum") == 0 ? 1 : 2;
    struct loss_ctx l;
    l.x = kiln_lower_in(lc, 0);
    l.t = kiln_lower_in(lc, 1);
    l.w = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0), lpo = sce ? kiln_lower_out(lc, 1) : -1;
    const struct kiln_attr *ia = kiln_node_attr(lc->n, "ignore_index");
    l.has_ii = ia && ia->kind == KILN_ATTR_INT;
    l.ii = l.has_ii ? ia->i : 0;
    int r = kiln_lower_rank(lc, l.x);
    l.C = kiln_lower_dim(lc, l.x, 1);
    l.D = kiln_lower_dims_prod(lc, l.x, 2, r);
    l.ct = kiln_lower_compute_type(kiln_lower_buf(lc, l.x)->dtype);
    struct kiln_lx *N = kiln_lower_dim(lc, l.x, 0);
    logp_fn lp = sce ? logp_softmax : logp_input;
    if (lpo >= 0) {
        /* the log_prob output: log_softmax over the class axis */
        int32_t p, k;
        struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, N, l.D), &p);
        struct kiln_lx *n = div_i(lc, V(lc, p), l.D), *d = rem_i(lc, V(lc, p), l.D);
        int32_t mx = kiln_lk_var(lc, l.ct, "max"), sum = kiln_lk_var(lc, l.ct, "sum");
        struct kiln_lx *base = add_i(lc, mul_i(lc, mul_i(lc, n, l.C), l.D), d);
        kiln_lb_set(lc, body, mx, fimm(lc, l.ct, -INFINITY));
        struct kiln_ls *f = loop(lc, body, "c", l.C, &k);
        struct kiln_lx *at = add_i(lc, base, mul_i(lc, V(lc, k), l.D));
        struct kiln_lx *v = kiln_lx_cast(lc, l.ct, kiln_lx_load_f(lc, l.x, at));
        kiln_lb_set(lc, &f->body, mx,
                    kiln_lx_select(lc, bin(lc, KILN_LX_GT, v, V(lc, mx)), v, V(lc, mx)));
        kiln_lb_set(lc, body, sum, fimm(lc, l.ct, 0));
        f = loop(lc, body, "c", l.C, &k);
        at = add_i(lc, base, mul_i(lc, V(lc, k), l.D));
        v = kiln_lx_cast(lc, l.ct, kiln_lx_load_f(lc, l.x, at));
        accum(lc, &f->body, sum, KILN_LX_ADD,
              kiln_lx_unary(lc, KILN_LX_EXP, bin(lc, KILN_LX_SUB, v, V(lc, mx))));
        f = loop(lc, body, "c", l.C, &k);
        at = add_i(lc, base, mul_i(lc, V(lc, k), l.D));
        v = kiln_lx_cast(lc, l.ct, kiln_lx_load_f(lc, l.x, at));
        kiln_lb_store_f(lc, &f->body, lpo, at,
                        bin(lc, KILN_LX_SUB, bin(lc, KILN_LX_SUB, v, V(lc, mx)),
                            kiln_lx_unary(lc, KILN_LX_LOG, V(lc, sum))));
        kiln_lower_kernel(lc, "loss");
        l.x = kiln_lower_in(lc, 0);
        l.t = kiln_lower_in(lc, 1);
        l.w = kiln_lower_in(lc, 2);
        y = kiln_lower_out(lc, 0);
    }
    int32_t loss = kiln_lk_var(lc, l.ct, "loss"), wt = kiln_lk_var(lc, l.ct, "w");
    if (mode == 0) {
        int32_t p;
        struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, N, l.D), &p);
        loss_at(lc, &l, body, div_i(lc, V(lc, p), l.D), rem_i(lc, V(lc, p), l.D), lp, loss, wt);
        kiln_lb_store_f(lc, body, y, V(lc, p), V(lc, loss));
        return KILN_OK;
    }
    int32_t p, in, id;
    struct kiln_lblock *body = kiln_lk_parallel(lc, IX(lc, 1), &p);
    int32_t sl = kiln_lk_var(lc, l.ct, "sum_loss"), sw = kiln_lk_var(lc, l.ct, "sum_w");
    kiln_lb_set(lc, body, sl, fimm(lc, l.ct, 0));
    kiln_lb_set(lc, body, sw, fimm(lc, l.ct, 0));
    struct kiln_ls *fn = loop(lc, body, "n", N, &in);
    struct kiln_ls *fd = loop(lc, &fn->body, "d", l.D, &id);
    loss_at(lc, &l, &fd->body, V(lc, in), V(lc, id), lp, loss, wt);
    accum(lc, &fd->body, sl, KILN_LX_ADD, V(lc, loss));
    accum(lc, &fd->body, sw, KILN_LX_ADD, V(lc, wt));
    struct kiln_lx *res = V(lc, sl);
    if (mode == 2)
        res = bin(lc, KILN_LX_DIV, res, V(lc, sw));
    kiln_lb_store_f(lc, body, y, IX(lc, 0), res);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Einsum */

#define EINSUM_LABELS 64 /* 52 letters, then up to 12 ellipsis dims */

static int
einsum_label(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + c - 'A';
    return -1;
}

/*
 * Parse one term of an einsum equation into labels (ellipsis dims get ids
 * 52.. right-aligned to `ell` dims total). Returns the label count or -1.
 * *n_ell receives how many ellipsis dims the term spans for an operand of
 * the given rank (ignored for the output: rank < 0 means ell dims).
 */
static int
einsum_term(const char *s, size_t len, int rank, int ell, int *labels, int *n_ell)
{
    int letters = 0;
    bool has_ell = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return -1;
            has_ell = true;
            i += 2;
        } else if (einsum_label(s[i]) >= 0) {
            letters++;
        } else if (s[i] != ' ') {
            return -1;
        }
    }
    int ne = has_ell ? (rank >= 0 ? rank - letters : ell) : 0;
    if (ne < 0 || ne > ell)
        return -1;
    *n_ell = ne;
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            for (int e = 0; e < ne; e++)
                labels[n++] = 52 + ell - ne + e;
            i += 2;
        } else if (einsum_label(s[i]) >= 0) {
            labels[n++] = einsum_label(s[i]);
        }
    }
    return n;
}

enum kiln_status
kiln_lower_einsum(struct kiln_lower_ctx *lc)
{
    const char *eq = kiln_node_attr_string(lc->n, "equation", "");
    int nin = lc->n->n_in;
    int32_t y = kiln_lower_out(lc, 0);
    int32_t ins[KILN_MAX_RANK];
    if (nin > KILN_MAX_RANK)
        return kiln_lower_unsupported(lc, "too many operands");
    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : strlen(eq);
    /* the terms of the left-hand side */
    const char *ts[KILN_MAX_RANK];
    size_t tl[KILN_MAX_RANK];
    int nt = 0;
    for (const char *s = eq; s <= eq + lhs_len && nt < KILN_MAX_RANK;) {
        const char *c = memchr(s, ',', (size_t)(eq + lhs_len - s));
        size_t l = c ? (size_t)(c - s) : (size_t)(eq + lhs_len - s);
        ts[nt] = s;
        tl[nt++] = l;
        if (!c)
            break;
        s = c + 1;
    }
    if (nt != nin)
        return kiln_lower_unsupported(lc, "equation '%s' does not match %d inputs", eq, nin);
    /* ellipsis width: the most dims any operand's ellipsis spans */
    int ell = 0, lab[KILN_MAX_RANK][KILN_MAX_RANK], nl[KILN_MAX_RANK];
    for (int i = 0; i < nin; i++) {
        ins[i] = kiln_lower_in(lc, i);
        int r = kiln_lower_rank(lc, ins[i]), letters = 0;
        bool e = false;
        for (size_t j = 0; j < tl[i]; j++) {
            letters += einsum_label(ts[i][j]) >= 0;
            e |= ts[i][j] == '.';
        }
        if (e && r - letters > ell)
            ell = r - letters;
    }
    if (ell > EINSUM_LABELS - 52)
        return kiln_lower_unsupported(lc, "ellipsis spans too many dims");
    int count[EINSUM_LABELS] = {0};
    struct kiln_lx *extent[EINSUM_LABELS] = {NULL};
    for (int i = 0; i < nin; i++) {
        int ne, r = kiln_lower_rank(lc, ins[i]);
        nl[i] = einsum_term(ts[i], tl[i], r, ell, lab[i], &ne);
        if (nl[i] != r)
            return kiln_lower_unsupported(lc, "equation '%s' does not match input %d's rank", eq,
                                          i);
        for (int j = 0; j < r; j++) {
            int L = lab[i][j];
            count[L]++;
            struct kiln_lx *d = kiln_lower_dim(lc, ins[i], j);
            if (!extent[L] || (is_imm(extent[L], 1) && !is_imm(d, 1)))
                extent[L] = d;
        }
    }
    int out[KILN_MAX_RANK], no = 0;
    if (arrow) {
        int ne;
        const char *o = arrow + 2;
        no = einsum_term(o, strlen(o), -1, ell, out, &ne);
        if (no < 0)
            return kiln_lower_unsupported(lc, "cannot parse equation '%s'", eq);
    } else {
        for (int e = 0; e < ell; e++)
            out[no++] = 52 + e;
        for (int L = 0; L < 52; L++) /* ASCII order: upper case first */
            if (count[(L + 26) % 52] == 1)
                out[no++] = (L + 26) % 52;
    }
    if (no != kiln_lower_rank(lc, y))
        return kiln_lower_unsupported(lc, "equation '%s' does not match the output rank", eq);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *var[EINSUM_LABELS] = {NULL};
    int32_t p;
    struct kiln_lblock *body = kiln_lk_parallel(lc, kiln_lower_numel(lc, y), &p);
    struct kiln_lx *od[KILN_MAX_RANK] = {NULL}, *oi[KILN_MAX_RANK];
    for (int i = 0; i < no; i++)
        od[i] = kiln_lower_dim(lc, y, i);
    unflatten(lc, V(lc, p), od, no, oi);
    for (int i = 0; i < no; i++)
        var[out[i]] = oi[i];
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, body, acc, fimm(lc, ct, 0));
    struct kiln_lblock *b = body;
    for (int L = 0; L < EINSUM_LABELS; L++) {
        if (count[L] && !var[L]) {
            int32_t v;
            struct kiln_ls *f = loop(lc, b, "r", extent[L], &v);
            var[L] = V(lc, v);
            b = &f->body;
        }
    }
    struct kiln_lx *prod = NULL;
    for (int i = 0; i < nin; i++) {
        struct kiln_lx *idx[KILN_MAX_RANK];
        for (int j = 0; j < nl[i]; j++)
            idx[j] = var[lab[i][j]];
        struct kiln_lx *v = kiln_lx_cast(
            lc, ct, kiln_lx_load_f(lc, ins[i], kiln_lower_offset(lc, ins[i], idx, nl[i])));
        prod = prod ? bin(lc, KILN_LX_MUL, prod, v) : v;
    }
    accum(lc, b, acc, KILN_LX_ADD, prod);
    kiln_lb_store_f(lc, body, y, V(lc, p), V(lc, acc));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Det */

/*
 * Determinant of each trailing M x M matrix by LU decomposition with partial
 * pivoting, in f64, on a private copy (a scratch buffer of batch * M * M).
 */
enum kiln_status
kiln_lower_det(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    enum kiln_dtype ft = KILN_DT_F64;
    struct kiln_lx *M = kiln_lower_dim(lc, x, r - 1), *MM = mul_i(lc, M, M);
    struct kiln_lx *batch = kiln_lower_dims_prod(lc, x, 0, r - 2);
    int32_t sb = kiln_lower_scratch(lc, ft, kiln_lower_numel(lc, x));
    int32_t s = kiln_lower_slot(lc, sb);
    int32_t b, i, j, k;
    struct kiln_lblock *body = kiln_lk_parallel(lc, batch, &b);
    struct kiln_lx *base = mul_i(lc, V(lc, b), MM);
    struct kiln_ls *fi = loop(lc, body, "i", MM, &i);
    kiln_lb_store(lc, &fi->body, s, add_i(lc, base, V(lc, i)),
                  kiln_lx_cast(lc, ft, kiln_lx_load_f(lc, x, add_i(lc, base, V(lc, i)))));
#define AT(row, col) add_i(lc, base, add_i(lc, mul_i(lc, (row), M), (col)))
    int32_t det = kiln_lk_var(lc, ft, "det"), piv = kiln_lk_var(lc, KILN_DT_I64, "piv");
    int32_t best = kiln_lk_var(lc, ft, "best"), tmp = kiln_lk_var(lc, ft, "tmp");
    int32_t fac = kiln_lk_var(lc, ft, "f");
    kiln_lb_set(lc, body, det, fimm(lc, ft, 1));
    struct kiln_ls *fk = loop(lc, body, "k", M, &k);
    struct kiln_lblock *kb = &fk->body;
    struct kiln_lx *vk = V(lc, k);
    kiln_lb_set(lc, kb, piv, vk);
    kiln_lb_set(lc, kb, best, kiln_lx_unary(lc, KILN_LX_ABS, kiln_lx_load(lc, s, AT(vk, vk))));
    struct kiln_ls *fp = kiln_lb_for(lc, kb, "i", add_i(lc, vk, IX(lc, 1)), M, &i);
    struct kiln_lx *cand = kiln_lx_unary(lc, KILN_LX_ABS, kiln_lx_load(lc, s, AT(V(lc, i), vk)));
    struct kiln_ls *u = kiln_lb_if(lc, &fp->body, bin(lc, KILN_LX_GT, cand, V(lc, best)));
    kiln_lb_set(lc, &u->body, best, cand);
    kiln_lb_set(lc, &u->body, piv, V(lc, i));
    struct kiln_ls *sw = kiln_lb_if(lc, kb, bin(lc, KILN_LX_NE, V(lc, piv), vk));
    struct kiln_ls *fs = loop(lc, &sw->body, "j", M, &j);
    kiln_lb_set(lc, &fs->body, tmp, kiln_lx_load(lc, s, AT(vk, V(lc, j))));
    kiln_lb_store(lc, &fs->body, s, AT(vk, V(lc, j)),
                  kiln_lx_load(lc, s, AT(V(lc, piv), V(lc, j))));
    kiln_lb_store(lc, &fs->body, s, AT(V(lc, piv), V(lc, j)), V(lc, tmp));
    kiln_lb_set(lc, &sw->body, det, kiln_lx_unary(lc, KILN_LX_NEG, V(lc, det)));
    struct kiln_lx *pv = kiln_lx_load(lc, s, AT(vk, vk));
    accum(lc, kb, det, KILN_LX_MUL, pv);
    struct kiln_ls *nz = kiln_lb_if(lc, kb, bin(lc, KILN_LX_NE, pv, fimm(lc, ft, 0)));
    struct kiln_ls *fr = kiln_lb_for(lc, &nz->body, "i", add_i(lc, vk, IX(lc, 1)), M, &i);
    kiln_lb_set(lc, &fr->body, fac,
                bin(lc, KILN_LX_DIV, kiln_lx_load(lc, s, AT(V(lc, i), vk)),
                    kiln_lx_load(lc, s, AT(vk, vk))));
    struct kiln_ls *fc = kiln_lb_for(lc, &fr->body, "j", add_i(lc, vk, IX(lc, 1)), M, &j);
    kiln_lb_store(lc, &fc->body, s, AT(V(lc, i), V(lc, j)),
                  bin(lc, KILN_LX_SUB, kiln_lx_load(lc, s, AT(V(lc, i), V(lc, j))),
                      bin(lc, KILN_LX_MUL, V(lc, fac), kiln_lx_load(lc, s, AT(vk, V(lc, j))))));
#undef AT
    kiln_lb_store_f(
        lc, body, y, V(lc, b),
        kiln_lx_cast(lc, kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype), V(lc, det)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- SwiGLU, RotaryEmbedding */

/* Y = A * sigmoid(alpha * A) * B. */
enum kiln_status
kiln_lower_swiglu(struct kiln_lower_ctx *lc)
{
    int32_t a = kiln_lower_in(lc, 0), b = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    double alpha = kiln_node_attr_float(lc->n, "alpha", 1.0f);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *blk = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *va = kiln_lx_load_f(lc, a, flat);
    enum kiln_dtype t = va->type;
    struct kiln_lx *one = fimm(lc, t, 1);
    struct kiln_lx *sg =
        bin(lc, KILN_LX_DIV, one,
            bin(lc, KILN_LX_ADD, one,
                kiln_lx_unary(
                    lc, KILN_LX_EXP,
                    kiln_lx_unary(lc, KILN_LX_NEG, bin(lc, KILN_LX_MUL, fimm(lc, t, alpha), va)))));
    kiln_lb_store_f(
        lc, blk, y, flat,
        bin(lc, KILN_LX_MUL, bin(lc, KILN_LX_MUL, va, sg), kiln_lx_load_f(lc, b, flat)));
    return KILN_OK;
}

/*
 * RoPE: within the first rotary_embedding_dim elements of each head, pairs
 * (d, d + half) (or (2i, 2i + 1) interleaved) are rotated by the angle of the
 * token's position: cos/sin from the caches, indexed by position_ids[b, s]
 * (2-D caches) or by (b, s) (3-D caches).
 */
enum kiln_status
kiln_lower_rotary(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), cs = kiln_lower_in(lc, 1), sn = kiln_lower_in(lc, 2);
    int32_t pos = kiln_lower_in(lc, 3), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    bool inter = kiln_node_attr_int(lc->n, "interleaved", 0) != 0;
    int64_t rot = kiln_node_attr_int(lc->n, "rotary_embedding_dim", 0);
    int64_t nh = kiln_node_attr_int(lc->n, "num_heads", 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *blk = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *b = idx[0], *s, *d, *D;
    if (r == 4) {
        s = idx[2];
        d = idx[3];
        D = kiln_lower_dim(lc, x, 3);
    } else {
        if (nh <= 0)
            return kiln_lower_unsupported(lc, "3-D input needs num_heads");
        s = idx[1];
        D = div_i(lc, kiln_lower_dim(lc, x, 2), IX(lc, nh));
        d = rem_i(lc, idx[2], D);
    }
    struct kiln_lx *R = rot > 0 ? IX(lc, rot) : D, *half = div_i(lc, R, IX(lc, 2));
    struct kiln_ls *in = kiln_lb_if(lc, blk, bin(lc, KILN_LX_LT, d, R));
    struct kiln_lblock *rb = &in->body;
    struct kiln_lx *first, *ci, *partner;
    if (inter) {
        first = bin(lc, KILN_LX_EQ, rem_i(lc, d, IX(lc, 2)), IX(lc, 0));
        ci = div_i(lc, d, IX(lc, 2));
        partner = kiln_lx_select(lc, first, add_i(lc, flat, IX(lc, 1)), sub_i(lc, flat, IX(lc, 1)));
    } else {
        first = bin(lc, KILN_LX_LT, d, half);
        ci = kiln_lx_select(lc, first, d, sub_i(lc, d, half));
        partner = kiln_lx_select(lc, first, add_i(lc, flat, half), sub_i(lc, flat, half));
    }
    struct kiln_lx *crow;
    if (pos >= 0) {
        struct kiln_lx *pi = add_i(lc, mul_i(lc, b, kiln_lower_dim(lc, pos, 1)), s);
        crow = kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_load(lc, pos, pi));
    } else {
        crow = add_i(lc, mul_i(lc, b, kiln_lower_dim(lc, cs, 1)), s);
    }
    int rc = kiln_lower_rank(lc, cs);
    struct kiln_lx *cat = add_i(lc, mul_i(lc, crow, kiln_lower_dim(lc, cs, rc - 1)), ci);
    struct kiln_lx *c = kiln_lx_load_f(lc, cs, cat), *sv = kiln_lx_load_f(lc, sn, cat);
    struct kiln_lx *xv = kiln_lx_load_f(lc, x, flat), *xp = kiln_lx_load_f(lc, x, partner);
    struct kiln_lx *sx = bin(lc, KILN_LX_MUL, sv, xp);
    struct kiln_lx *res =
        kiln_lx_select(lc, first, bin(lc, KILN_LX_SUB, bin(lc, KILN_LX_MUL, c, xv), sx),
                       bin(lc, KILN_LX_ADD, sx, bin(lc, KILN_LX_MUL, c, xv)));
    kiln_lb_store_f(lc, rb, y, flat, res);
    kiln_lb_store(lc, &in->orelse, y, flat, kiln_lx_load(lc, x, flat));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Attention */

/* Where a [B, H, S, D] tensor (4-D) or its [B, S, H * D] form (3-D) keeps element (b, h, s, d). */
struct heads_view {
    int32_t slot;
    bool r3;
    struct kiln_lx *H, *S, *D;
};

static struct kiln_lx *
heads_at(struct kiln_lower_ctx *lc, const struct heads_view *hv, struct kiln_lx *b,
         struct kiln_lx *h, struct kiln_lx *s, struct kiln_lx *d)
{
    if (hv->r3)
        return add_i(lc,
                     add_i(lc,
                           mul_i(lc, add_i(lc, mul_i(lc, b, hv->S), s), mul_i(lc, hv->H, hv->D)),
                           mul_i(lc, h, hv->D)),
                     d);
    return add_i(
        lc, mul_i(lc, add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, b, hv->H), h), hv->S), s), hv->D), d);
}

static void
heads_view(struct kiln_lower_ctx *lc, int32_t slot, int64_t heads, struct heads_view *hv)
{
    hv->slot = slot;
    hv->r3 = kiln_lower_rank(lc, slot) == 3;
    if (hv->r3) {
        hv->H = IX(lc, heads);
        hv->S = kiln_lower_dim(lc, slot, 1);
        hv->D = div_i(lc, kiln_lower_dim(lc, slot, 2), hv->H);
    } else {
        hv->H = kiln_lower_dim(lc, slot, 1);
        hv->S = kiln_lower_dim(lc, slot, 2);
        hv->D = kiln_lower_dim(lc, slot, 3);
    }
}

/*
 * Attention (opsets 23-25), following the reference: present K/V are past
 * concatenated with the new K/V (written to the present outputs, or to a
 * scratch buffer); per query row, scores q.k with sqrt(scale) applied to both
 * sides, softcap, the additive bias (attn_mask padded with -inf past its
 * length, causal and sliding-window frontiers offset by the cached length,
 * nonpad_kv_seqlen padding), a softmax whose fully masked rows are 0, then
 * the weighted sum of V. GQA maps query head h to kv head h / (Hq / Hkv).
 */
enum kiln_status
kiln_lower_attention(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    int32_t q = kiln_lower_in(lc, 0), k = kiln_lower_in(lc, 1), v = kiln_lower_in(lc, 2);
    int32_t mask = kiln_lower_in(lc, 3), pk = kiln_lower_in(lc, 4), pv = kiln_lower_in(lc, 5);
    int32_t nonpad = kiln_lower_in(lc, 6);
    int32_t y = kiln_lower_out(lc, 0), ok_ = kiln_lower_out(lc, 1), ov = kiln_lower_out(lc, 2);
    int32_t oqk = kiln_lower_out(lc, 3);
    bool r3 = kiln_lower_rank(lc, q) == 3;
    int64_t qh = kiln_node_attr_int(n, "q_num_heads", 0),
            kvh = kiln_node_attr_int(n, "kv_num_heads", 0);
    if (r3 && (qh <= 0 || kvh <= 0))
        return kiln_lower_unsupported(lc, "3-D inputs need q_num_heads and kv_num_heads");
    if ((pk >= 0) != (pv >= 0))
        return kiln_lower_unsupported(lc, "past_key and past_value go together");
    bool causal = kiln_node_attr_int(n, "is_causal", 0) != 0;
    int64_t mode = kiln_node_attr_int(n, "qk_matmul_output_mode", 0);
    double softcap = kiln_node_attr_float(n, "softcap", 0.0f);
    int64_t lw = kiln_node_attr_int(n, "left_window_size", -1);
    int64_t rw = kiln_node_attr_int(n, "right_window_size", -1);
    struct heads_view hq, hk, hvv;
    heads_view(lc, q, qh, &hq);
    heads_view(lc, k, kvh, &hk);
    heads_view(lc, v, kvh, &hvv);
    enum kiln_dtype xt = kiln_lower_buf(lc, q)->dtype, ct = kiln_lower_compute_type(xt);
    struct kiln_lx *B = kiln_lower_dim(lc, q, 0), *Hq = hq.H, *Sq = hq.S, *D = hq.D;
    struct kiln_lx *Hkv = hk.H, *Dv = hvv.D;
    struct kiln_lx *P = pk >= 0 ? kiln_lower_dim(lc, pk, 2) : IX(lc, 0);
    struct kiln_lx *T = add_i(lc, P, hk.S);
    double scale = 1.0;
    const struct kiln_attr *sa = kiln_node_attr(n, "scale");
    const struct kiln_type *qt = &lc->g->values[n->in[0]]->type;
    if (sa && sa->kind == KILN_ATTR_FLOAT) {
        scale = sa->f;
    } else {
        struct kiln_dim last = qt->dims[qt->rank - 1];
        if (!kiln_dim_is_const(last))
            return kiln_lower_unsupported(lc, "a symbolic head size needs the scale attribute");
        int64_t hd = r3 ? last.n / qh : last.n;
        scale = 1.0 / sqrt((double)hd);
    }
    /* present K and V: the outputs, or scratch; without a past or a present
     * output, 4-D K and V already have that layout and are read in place */
    struct kiln_lx *kvn = mul_i(lc, mul_i(lc, B, Hkv), T);
    bool direct_k = pk < 0 && ok_ < 0 && !hk.r3, direct_v = pv < 0 && ov < 0 && !hvv.r3;
    int32_t kb = -1, vb = -1;
    if (ok_ >= 0)
        kb = lc->k->bufs[ok_];
    else if (direct_k)
        kb = lc->k->bufs[k];
    else
        kb = kiln_lower_scratch(lc, kiln_lower_buf(lc, k)->dtype, mul_i(lc, kvn, D));
    if (ov >= 0)
        vb = lc->k->bufs[ov];
    else if (direct_v)
        vb = lc->k->bufs[v];
    else
        vb = kiln_lower_scratch(lc, kiln_lower_buf(lc, v)->dtype, mul_i(lc, kvn, Dv));
    int32_t sb = kiln_lower_scratch(lc, ct, mul_i(lc, mul_i(lc, mul_i(lc, B, Hq), Sq), T));
    if (!direct_k || !direct_v) {
        int32_t kc = kiln_lower_slot(lc, kb), vc = kiln_lower_slot(lc, vb);
        int32_t p, d;
        struct kiln_lblock *body = kiln_lk_parallel(lc, kvn, &p);
        struct kiln_lx *t = rem_i(lc, V(lc, p), T), *bh = div_i(lc, V(lc, p), T);
        struct kiln_lx *b = div_i(lc, bh, Hkv), *h = rem_i(lc, bh, Hkv);
        struct kiln_ls *past = kiln_lb_if(lc, body, bin(lc, KILN_LX_LT, t, P));
        for (int which = 0; which < 2; which++) {
            if (which ? direct_v : direct_k)
                continue;
            int32_t dst = which ? vc : kc, src = which ? v : k, ps = which ? pv : pk;
            const struct heads_view *hv = which ? &hvv : &hk;
            struct kiln_lx *DD = which ? Dv : D;
            if (ps >= 0) {
                struct kiln_ls *f = loop(lc, &past->body, "d", DD, &d);
                struct kiln_lx *at =
                    add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, bh, P), t), DD), V(lc, d));
                kiln_lb_store(lc, &f->body, dst, add_i(lc, mul_i(lc, V(lc, p), DD), V(lc, d)),
                              kiln_lx_load(lc, ps, at));
            }
            struct kiln_ls *f = loop(lc, &past->orelse, "d", DD, &d);
            kiln_lb_store(lc, &f->body, dst, add_i(lc, mul_i(lc, V(lc, p), DD), V(lc, d)),
                          kiln_lx_load(lc, src, heads_at(lc, hv, b, h, sub_i(lc, t, P), V(lc, d))));
        }
    }
    /* f32 without softcap or a scores output: the scores of a query row are
     * accumulated over d, vectorized over t, from a [B, Hkv, D, T] copy of K
     * made by a kernel of its own (rather than one dot product of D per t) */
    bool fast = xt == KILN_DT_F32 && softcap <= 0 && oqk < 0;
    int32_t ktb = -1;
    if (fast) {
        ktb = kiln_lower_scratch(lc, ct, mul_i(lc, kvn, D));
        if (!direct_k || !direct_v)
            kiln_lower_kernel(lc, "kt");
        int32_t kts = kiln_lower_slot(lc, ktb), kcs = kiln_lower_slot(lc, kb), pp, dd;
        struct kiln_lblock *kbody = kiln_lk_parallel(lc, kvn, &pp);
        struct kiln_lx *tt = rem_i(lc, V(lc, pp), T), *bhk = div_i(lc, V(lc, pp), T);
        struct kiln_ls *fd = loop(lc, kbody, "d", D, &dd);
        kiln_lb_store(lc, &fd->body, kts,
                      add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, bhk, D), V(lc, dd)), T), tt),
                      kiln_lx_load(lc, kcs, add_i(lc, mul_i(lc, V(lc, pp), D), V(lc, dd))));
        kiln_lower_kernel(lc, "attn");
    } else if (!direct_k || !direct_v) {
        kiln_lower_kernel(lc, "attn");
    }
    q = kiln_lower_in(lc, 0);
    mask = kiln_lower_in(lc, 3);
    nonpad = kiln_lower_in(lc, 6);
    y = kiln_lower_out(lc, 0);
    oqk = kiln_lower_out(lc, 3);
    hq.slot = q;
    int32_t kc = kiln_lower_slot(lc, kb), vc = kiln_lower_slot(lc, vb),
            sc = kiln_lower_slot(lc, sb);
    int32_t p, t, d;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, mul_i(lc, B, Hq), Sq), &p);
    kiln_lower_method(lc, fast ? "per query row, K^T copy" : "per query row");
    struct kiln_lx *s = rem_i(lc, V(lc, p), Sq), *bh = div_i(lc, V(lc, p), Sq);
    struct kiln_lx *b = div_i(lc, bh, Hq), *h = rem_i(lc, bh, Hq);
    struct kiln_lx *hkv = div_i(lc, h, div_i(lc, Hq, Hkv));
    struct kiln_lx *kvrow = add_i(lc, mul_i(lc, b, Hkv), hkv);
    struct kiln_lx *ninf = fimm(lc, ct, -INFINITY), *zero = fimm(lc, ct, 0);
    struct kiln_lx *sqs = round_to(lc, xt, fimm(lc, ct, sqrt(scale)));
    int64_t smp = kiln_node_attr_int(n, "softmax_precision", 0);
    enum kiln_dtype smt = smp ? kiln_dtype_from_onnx((int32_t)smp) : xt;
    if (smt == KILN_DT_INVALID || !kiln_dtype_is_float(smt))
        smt = xt;
    int32_t mx = kiln_lk_var(lc, ct, "max"), bmx = kiln_lk_var(lc, ct, "bias_max");
    int32_t acc = kiln_lk_var(lc, ct, "acc"), bias = kiln_lk_var(lc, ct, "bias");
    int32_t score = kiln_lk_var(lc, ct, "score");
    kiln_lb_set(lc, body, mx, ninf);
    kiln_lb_set(lc, body, bmx, ninf);
    /* the causal / window frontier offset */
    struct kiln_lx *off = pk >= 0 ? P : IX(lc, 0);
    if (pk < 0 && nonpad >= 0)
        off = sub_i(lc, kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_load(lc, nonpad, b)), Sq);
    struct kiln_lx *sv;
    struct kiln_ls *ft;
    struct kiln_lblock *tb;
    struct kiln_lx *vt;
    /* the score row in vector registers when it is at most 16 vectors */
    const int VL = f32_lanes(lc);
    int nvt =
        fast && T->kind == KILN_LX_IMM && T->i % VL == 0 && T->i <= 16 * VL ? (int)(T->i / VL) : 0;
    if (nvt)
        kiln_lower_method(lc, "per query row, K^T copy, score and output rows in %d-lane vectors",
                          VL);
    if (nvt) {
        /* scores[t] = sum_d (q[d] * scale) * Kt[d, t]: per d, q[d] splat times the
         * row of Kt, into nvt vector accumulators; then the row to the scratch */
        int32_t kts = kiln_lower_slot(lc, ktb), sacc[16];
        for (int u = 0; u < nvt; u++) {
            sacc[u] = kiln_lk_vvar(lc, ct, VL, "s");
            kiln_lb_set(lc, body, sacc[u], kiln_lx_splat(lc, zero, VL));
        }
        struct kiln_ls *fd = loop(lc, body, "d", D, &d);
        fd->hints |= KILN_LS_HINT_NO_VECTORIZE;
        int32_t qs = kiln_lk_vvar(lc, ct, VL, "q");
        kiln_lb_set(lc, &fd->body, qs,
                    kiln_lx_splat(lc,
                                  bin(lc, KILN_LX_MUL,
                                      kiln_lx_load_f(lc, q, heads_at(lc, &hq, b, h, s, V(lc, d))),
                                      fimm(lc, ct, scale)),
                                  VL));
        struct kiln_lx *krow = mul_i(lc, add_i(lc, mul_i(lc, kvrow, D), V(lc, d)), T);
        accum_row(lc, &fd->body, sacc, nvt, V(lc, qs), kts, krow, VL);
        for (int u = 0; u < nvt; u++)
            kiln_lb_store(lc, body, sc, add_i(lc, mul_i(lc, V(lc, p), T), IX(lc, VL * u)),
                          V(lc, sacc[u]));
        ft = loop(lc, body, "t", T, &t);
        tb = &ft->body;
        vt = V(lc, t);
        sv = kiln_lx_load(lc, sc, add_i(lc, mul_i(lc, V(lc, p), T), vt));
    } else if (fast) {
        /* scores[t] = sum_d (q[d] * scale) * Kt[d, t], the row in the scratch */
        int32_t kts = kiln_lower_slot(lc, ktb), qd = kiln_lk_var(lc, ct, "q");
        struct kiln_ls *f0 = loop(lc, body, "t", T, &t);
        f0->hints |= KILN_LS_HINT_VECTORIZE;
        kiln_lb_store(lc, &f0->body, sc, add_i(lc, mul_i(lc, V(lc, p), T), V(lc, t)), zero);
        struct kiln_ls *fd = loop(lc, body, "d", D, &d);
        kiln_lb_set(lc, &fd->body, qd,
                    bin(lc, KILN_LX_MUL,
                        kiln_lx_load_f(lc, q, heads_at(lc, &hq, b, h, s, V(lc, d))),
                        fimm(lc, ct, scale)));
        struct kiln_ls *f1 = loop(lc, &fd->body, "t", T, &t);
        f1->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *at = add_i(lc, mul_i(lc, V(lc, p), T), V(lc, t));
        kiln_lb_store(
            lc, &f1->body, sc, at,
            bin(lc, KILN_LX_ADD, kiln_lx_load(lc, sc, at),
                bin(lc, KILN_LX_MUL, V(lc, qd),
                    kiln_lx_load(lc, kts,
                                 add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, kvrow, D), V(lc, d)), T),
                                       V(lc, t))))));
        ft = loop(lc, body, "t", T, &t);
        tb = &ft->body;
        vt = V(lc, t);
        sv = kiln_lx_load(lc, sc, add_i(lc, mul_i(lc, V(lc, p), T), vt));
    } else {
        ft = loop(lc, body, "t", T, &t);
        tb = &ft->body;
        vt = V(lc, t);
        kiln_lb_set(lc, tb, acc, zero);
        struct kiln_ls *fd = loop(lc, tb, "d", D, &d);
        struct kiln_lx *qv = round_to(
            lc, xt,
            bin(lc, KILN_LX_MUL, kiln_lx_load_f(lc, q, heads_at(lc, &hq, b, h, s, V(lc, d))), sqs));
        struct kiln_lx *kv = round_to(
            lc, xt,
            bin(lc, KILN_LX_MUL,
                kiln_lx_load_f(
                    lc, kc, add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, kvrow, T), vt), D), V(lc, d))),
                sqs));
        accum(lc, &fd->body, acc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, qv, kv));
        sv = round_to(lc, xt, V(lc, acc));
    }
    if (softcap > 0)
        sv = round_to(
            lc, xt,
            bin(lc, KILN_LX_MUL, fimm(lc, ct, softcap),
                kiln_lx_unary(lc, KILN_LX_TANH, bin(lc, KILN_LX_DIV, sv, fimm(lc, ct, softcap)))));
    kiln_lb_set(lc, tb, score, sv);
    kiln_lb_set(lc, tb, bias, zero);
    if (mask >= 0) {
        int rm = kiln_lower_rank(lc, mask);
        struct kiln_lx *Lm = kiln_lower_dim(lc, mask, rm - 1);
        bool full = same_dim(Lm, T);
        struct kiln_lx *tcl = full ? vt : bin(lc, KILN_LX_MIN, vt, sub_i(lc, Lm, IX(lc, 1)));
        struct kiln_lx *mi[4] = {b, h, s, tcl};
        struct kiln_lx *mv = kiln_lx_load(lc, mask, kiln_lower_offset(lc, mask, mi, 4));
        struct kiln_lx *m = mv->type == KILN_DT_BOOL
                                ? kiln_lx_select(lc, mv, zero, ninf)
                                : kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, mask, mv->a));
        if (!full)
            m = kiln_lx_select(lc, bin(lc, KILN_LX_LT, vt, Lm), m, ninf);
        accum(lc, tb, bias, KILN_LX_ADD, m);
    }
    if (causal)
        accum(lc, tb, bias, KILN_LX_ADD,
              kiln_lx_select(lc, bin(lc, KILN_LX_LE, vt, add_i(lc, s, off)), zero, ninf));
    if (lw >= 0 || rw >= 0) {
        struct kiln_lx *diff = sub_i(lc, add_i(lc, s, off), vt), *allowed = NULL;
        if (lw >= 0)
            allowed = land(lc, allowed, bin(lc, KILN_LX_LE, diff, IX(lc, lw)));
        if (rw >= 0)
            allowed =
                land(lc, allowed, bin(lc, KILN_LX_LE, sub_i(lc, IX(lc, 0), diff), IX(lc, rw)));
        accum(lc, tb, bias, KILN_LX_ADD, kiln_lx_select(lc, allowed, zero, ninf));
    }
    if (nonpad >= 0)
        accum(lc, tb, bias, KILN_LX_ADD,
              kiln_lx_select(lc,
                             bin(lc, KILN_LX_LT, vt,
                                 kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_load(lc, nonpad, b))),
                             zero, ninf));
    struct kiln_lx *qb = round_to(lc, xt, bin(lc, KILN_LX_ADD, V(lc, score), V(lc, bias)));
    struct kiln_lx *sat = add_i(lc, mul_i(lc, V(lc, p), T), vt);
    kiln_lb_store(lc, tb, sc, sat, qb);
    kiln_lb_set(lc, tb, mx, vmax(lc, V(lc, mx), kiln_lx_load(lc, sc, sat)));
    kiln_lb_set(lc, tb, bmx, vmax(lc, V(lc, bmx), V(lc, bias)));
    if (oqk >= 0 && mode != 3)
        kiln_lb_store_f(lc, tb, oqk, sat, mode == 2 ? kiln_lx_load(lc, sc, sat) : V(lc, score));
    /* softmax; a row whose max is -inf shifts by 0, a zero sum divides by 1 */
    struct kiln_lx *safe =
        kiln_lx_select(lc, bin(lc, KILN_LX_EQ, V(lc, mx), ninf), zero, V(lc, mx));
    kiln_lb_set(lc, body, mx, safe);
    kiln_lb_set(lc, body, acc, zero);
    ft = loop(lc, body, "t", T, &t);
    sat = add_i(lc, mul_i(lc, V(lc, p), T), V(lc, t));
    /* in softmax_precision's type, else the inputs' (as the reference rounds) */
    struct kiln_lx *e = round_to(
        lc, smt,
        kiln_lx_unary(
            lc, KILN_LX_EXP,
            round_to(lc, smt, bin(lc, KILN_LX_SUB, kiln_lx_load(lc, sc, sat), V(lc, mx)))));
    kiln_lb_store(lc, &ft->body, sc, sat, e);
    kiln_lb_set(lc, &ft->body, acc,
                round_to(lc, smt, bin(lc, KILN_LX_ADD, V(lc, acc), kiln_lx_load(lc, sc, sat))));
    kiln_lb_set(
        lc, body, acc,
        kiln_lx_select(lc, bin(lc, KILN_LX_EQ, V(lc, acc), zero), fimm(lc, ct, 1), V(lc, acc)));
    ft = loop(lc, body, "t", T, &t);
    sat = add_i(lc, mul_i(lc, V(lc, p), T), V(lc, t));
    struct kiln_lx *pr = kiln_lx_select(
        lc, bin(lc, KILN_LX_EQ, V(lc, bmx), ninf), zero,
        round_to(lc, smt, bin(lc, KILN_LX_DIV, kiln_lx_load(lc, sc, sat), V(lc, acc))));
    kiln_lb_store(lc, &ft->body, sc, sat, round_to(lc, xt, pr));
    if (oqk >= 0 && mode == 3)
        kiln_lb_store_f(lc, &ft->body, oqk, sat, kiln_lx_load(lc, sc, sat));
    /* Y = P V */
    struct heads_view hy = hvv;
    hy.slot = y;
    hy.H = Hq;
    hy.S = Sq;
    int32_t dv;
    int nvd = Dv->kind == KILN_LX_IMM && Dv->i % VL == 0 && Dv->i <= 16 * VL &&
                      kiln_lower_buf(lc, y)->dtype == ct && kiln_dtype_is_float(ct) &&
                      kiln_lower_buf(lc, vc)->dtype == ct
                  ? (int)(Dv->i / VL)
                  : 0;
    if (nvd) {
        /* y[s, :] = sum_t p[t] * v[t, :]: the output row in vector
         * accumulators, p[t] splat times V's row. A row of few vectors takes
         * UT keys per step into UT sets of them (UT * nvd >= 8 chains of
         * FMAs, so that their latency overlaps), keys past the last full
         * step go to the first set, and the sets are added; then the row
         * to y */
        const int UT = nvd >= 8 ? 1 : nvd >= 4 ? 2 : 4;
        int32_t yacc[4][16];
        for (int ks = 0; ks < UT; ks++)
            for (int u = 0; u < nvd; u++) {
                yacc[ks][u] = kiln_lk_vvar(lc, ct, VL, "y");
                kiln_lb_set(lc, body, yacc[ks][u], kiln_lx_splat(lc, zero, VL));
            }
        struct kiln_lx *full_t = mul_i(lc, div_i(lc, T, IX(lc, UT)), IX(lc, UT));
        for (int pass = 0; pass < (UT > 1 ? 2 : 1); pass++) {
            /* pass 0: UT keys per step; pass 1: the keys left, one per step */
            if (pass && T->kind == KILN_LX_IMM && T->i % UT == 0)
                break;
            int nk = pass ? 1 : UT;
            ft = pass ? kiln_lb_for(lc, body, "t", full_t, T, &t)
                      : loop(lc, body, "t", UT > 1 ? div_i(lc, T, IX(lc, UT)) : T, &t);
            ft->hints |= KILN_LS_HINT_NO_VECTORIZE;
            for (int ks = 0; ks < nk; ks++) {
                struct kiln_lx *tk = pass || UT == 1
                                         ? V(lc, t)
                                         : add_i(lc, mul_i(lc, V(lc, t), IX(lc, UT)), IX(lc, ks));
                sat = add_i(lc, mul_i(lc, V(lc, p), T), tk);
                int32_t ps = kiln_lk_vvar(lc, ct, VL, "p");
                kiln_lb_set(lc, &ft->body, ps, kiln_lx_splat(lc, kiln_lx_load(lc, sc, sat), VL));
                struct kiln_lx *vrow = mul_i(lc, add_i(lc, mul_i(lc, kvrow, T), tk), Dv);
                accum_row(lc, &ft->body, yacc[ks], nvd, V(lc, ps), vc, vrow, VL);
            }
        }
        for (int ks = 1; ks < UT; ks++)
            for (int u = 0; u < nvd; u++)
                accum(lc, body, yacc[0][u], KILN_LX_ADD, V(lc, yacc[ks][u]));
        for (int u = 0; u < nvd; u++)
            kiln_lb_store(lc, body, y, heads_at(lc, &hy, b, h, s, IX(lc, VL * u)),
                          V(lc, yacc[0][u]));
        return KILN_OK;
    }
    if (kiln_lower_buf(lc, y)->dtype == ct) {
        /* the output row is the accumulator: y[s, :] += p[t] * v[t, :], contiguous
         * and vectorized over Dv (rather than a dot product down V's columns) */
        struct kiln_ls *f0 = loop(lc, body, "dv", Dv, &dv);
        f0->hints |= KILN_LS_HINT_VECTORIZE;
        kiln_lb_store(lc, &f0->body, y, heads_at(lc, &hy, b, h, s, V(lc, dv)), zero);
        ft = loop(lc, body, "t", T, &t);
        sat = add_i(lc, mul_i(lc, V(lc, p), T), V(lc, t));
        int32_t pt = kiln_lk_var(lc, ct, "p");
        kiln_lb_set(lc, &ft->body, pt, kiln_lx_load(lc, sc, sat));
        struct kiln_ls *fv = loop(lc, &ft->body, "dv", Dv, &dv);
        fv->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *yat = heads_at(lc, &hy, b, h, s, V(lc, dv));
        struct kiln_lx *vv = kiln_lx_load_f(
            lc, vc, add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, kvrow, T), V(lc, t)), Dv), V(lc, dv)));
        kiln_lb_store(
            lc, &fv->body, y, yat,
            bin(lc, KILN_LX_ADD, kiln_lx_load(lc, y, yat), bin(lc, KILN_LX_MUL, V(lc, pt), vv)));
        return KILN_OK;
    }
    struct kiln_ls *fv = loop(lc, body, "dv", Dv, &dv);
    kiln_lb_set(lc, &fv->body, acc, zero);
    ft = loop(lc, &fv->body, "t", T, &t);
    sat = add_i(lc, mul_i(lc, V(lc, p), T), V(lc, t));
    struct kiln_lx *vv = kiln_lx_load_f(
        lc, vc, add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, kvrow, T), V(lc, t)), Dv), V(lc, dv)));
    accum(lc, &ft->body, acc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, kiln_lx_load(lc, sc, sat), vv));
    kiln_lb_store_f(lc, &fv->body, y, heads_at(lc, &hy, b, h, s, V(lc, dv)), V(lc, acc));
    return KILN_OK;
}

/* ---------------------------------------------------------------- RNN, GRU, LSTM */

/* One activation of the recurrent ops, by its ONNX name. */
struct rnn_act {
    const char *name;
    double alpha, beta;
};

static struct kiln_lx *
sigmoid(struct kiln_lower_ctx *lc, struct kiln_lx *x)
{
    struct kiln_lx *one = fimm(lc, x->type, 1);
    return bin(lc, KILN_LX_DIV, one,
               bin(lc, KILN_LX_ADD, one,
                   kiln_lx_unary(lc, KILN_LX_EXP, kiln_lx_unary(lc, KILN_LX_NEG, x))));
}

static struct kiln_lx *
rnn_activate(struct kiln_lower_ctx *lc, const struct rnn_act *a, struct kiln_lx *x)
{
    enum kiln_dtype t = x->type;
    struct kiln_lx *zero = fimm(lc, t, 0), *one = fimm(lc, t, 1);
    struct kiln_lx *al = fimm(lc, t, a->alpha), *be = fimm(lc, t, a->beta);
    const char *s = a->name;
    if (strcmp(s, "Sigmoid") == 0)
        return sigmoid(lc, x);
    if (strcmp(s, "Tanh") == 0)
        return kiln_lx_unary(lc, KILN_LX_TANH, x);
    if (strcmp(s, "Relu") == 0)
        return kiln_lx_select(lc, bin(lc, KILN_LX_LT, x, zero), zero, x);
    if (strcmp(s, "Affine") == 0)
        return bin(lc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, al, x), be);
    if (strcmp(s, "LeakyRelu") == 0)
        return kiln_lx_select(lc, bin(lc, KILN_LX_LT, x, zero), bin(lc, KILN_LX_MUL, al, x), x);
    if (strcmp(s, "ThresholdedRelu") == 0)
        return kiln_lx_select(lc, bin(lc, KILN_LX_GT, x, al), x, zero);
    if (strcmp(s, "ScaledTanh") == 0)
        return bin(lc, KILN_LX_MUL, al,
                   kiln_lx_unary(lc, KILN_LX_TANH, bin(lc, KILN_LX_MUL, be, x)));
    if (strcmp(s, "HardSigmoid") == 0)
        return clamp(lc, bin(lc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, al, x), be), zero, one);
    if (strcmp(s, "Elu") == 0)
        return kiln_lx_select(
            lc, bin(lc, KILN_LX_LT, x, zero),
            bin(lc, KILN_LX_MUL, al, bin(lc, KILN_LX_SUB, kiln_lx_unary(lc, KILN_LX_EXP, x), one)),
            x);
    if (strcmp(s, "Softsign") == 0)
        return bin(lc, KILN_LX_DIV, x,
                   bin(lc, KILN_LX_ADD, one, kiln_lx_unary(lc, KILN_LX_ABS, x)));
    if (strcmp(s, "Softplus") == 0)
        return kiln_lx_unary(lc, KILN_LX_LOG,
                             bin(lc, KILN_LX_ADD, one, kiln_lx_unary(lc, KILN_LX_EXP, x)));
    return NULL;
}

static bool
same_act(const struct rnn_act *a, const struct rnn_act *b)
{
    return strcmp(a->name, b->name) == 0 && a->alpha == b->alpha && a->beta == b->beta;
}

/* The activations of node n: nf per direction, defaults `def`, alphas and betas
 * consumed in order by the functions that take them. */
static enum kiln_status
rnn_acts(struct kiln_lower_ctx *lc, int nf, int dirs, const char *const *def, struct rnn_act *out)
{
    const struct kiln_attr *a = kiln_node_attr(lc->n, "activations");
    int64_t nal = 0, nbe = 0;
    const float *al = kiln_node_attr_floats(lc->n, "activation_alpha", &nal);
    const float *be = kiln_node_attr_floats(lc->n, "activation_beta", &nbe);
    int ia = 0, ib = 0;
    for (int i = 0; i < nf * dirs; i++) {
        const char *s = def[i % nf];
        if (a && a->kind == KILN_ATTR_STRINGS && a->n > 0)
            s = a->strings[i < a->n ? i : i % a->n];
        out[i].name = s;
        bool ua = strcmp(s, "Affine") == 0 || strcmp(s, "LeakyRelu") == 0 ||
                  strcmp(s, "ThresholdedRelu") == 0 || strcmp(s, "ScaledTanh") == 0 ||
                  strcmp(s, "HardSigmoid") == 0 || strcmp(s, "Elu") == 0;
        bool ub = strcmp(s, "Affine") == 0 || strcmp(s, "ScaledTanh") == 0 ||
                  strcmp(s, "HardSigmoid") == 0;
        double da = strcmp(s, "LeakyRelu") == 0 ? 0.01 : strcmp(s, "HardSigmoid") == 0 ? 0.2 : 1.0;
        double db = strcmp(s, "HardSigmoid") == 0 ? 0.5 : strcmp(s, "Affine") == 0 ? 0.0 : 1.0;
        out[i].alpha = ua && al && ia < nal ? al[ia++] : da;
        out[i].beta = ub && be && ib < nbe ? be[ib++] : db;
        struct kiln_lx probe = {.kind = KILN_LX_IMM, .type = KILN_DT_F32, .lanes = 1};
        if (!rnn_activate(lc, &out[i], &probe))
            return kiln_lower_unsupported(lc, "unknown activation '%s'", s);
    }
    return KILN_OK;
}

/*
 * The input projection of an RNN or LSTM with constant f32 weights W [dirs,
 * G*H, I], for every step in one GEMM per direction (the packed kernel):
 * XW[d] [S*B, G*H] = x [S*B, I] W[d]^T + Wb[d] + Rb[d]. xw[d] gets the
 * scratch buffer's id, or stays -1 where the projection is left to the steps
 * (GRU, whose h gate adds Rb elsewhere; layout 1; weights not constant; a
 * gate width below the kernel's tile). The steps start a kernel of their own.
 */
static enum kiln_status
rnn_input_gemm(struct kiln_lower_ctx *lc, bool gru, bool layout, int dirs, int G, int32_t *xw)
{
    int32_t x = kiln_lower_in(lc, 0), bias = kiln_lower_in(lc, 3);
    const struct kiln_tensor *wt = kiln_lower_const_in(lc, 1);
    const struct kiln_tensor *bt = bias >= 0 ? kiln_lower_const_in(lc, 3) : NULL;
    if (gru || layout || !wt || wt->rank != 3 || wt->dims[0] != dirs ||
        !kiln_dtype_is_float(wt->dtype) || kiln_lower_buf(lc, x)->dtype != KILN_DT_F32 ||
        kiln_lower_rank(lc, x) != 3 || (bias >= 0 && !bt) || wt->dims[1] % G != 0)
        return KILN_OK;
    const int64_t GH = wt->dims[1], I = wt->dims[2];
    const struct kiln_tensor *tb[2];
    const int64_t dims[2] = {I, GH};
    for (int d = 0; d < dirs; d++) {
        tb[d] = const_transposed(lc, wt, d * GH * I, GH, I, 2, dims); /* W[d]^T */
        if (!kiln_lower_matmul_packed_fits(
                lc, tb[d], mul_i(lc, kiln_lower_dim(lc, x, 0), kiln_lower_dim(lc, x, 1))))
            return KILN_OK;
    }
    for (int d = 0; d < dirs; d++) {
        int32_t bb = -1;
        if (bt) {
            void *data;
            bb = kiln_lower_const(lc, KILN_DT_F32, GH, "bias", &data);
            float *bv = data;
            for (int64_t g = 0; g < GH; g++) {
                double wb = 0, rb = 0;
                kiln_tensor_get_f64(bt, d * 2 * GH + g, &wb);
                kiln_tensor_get_f64(bt, d * 2 * GH + GH + g, &rb);
                bv[g] = (float)(wb + rb);
            }
        }
        struct kiln_lx *td[2] = {mul_i(lc, kiln_lower_dim(lc, x, 0), kiln_lower_dim(lc, x, 1)),
                                 IX(lc, GH)};
        xw[d] = kiln_lower_scratch_nd(lc, KILN_DT_F32, 2, td);
        if (d > 0)
            kiln_lower_kernel(lc, "xw");
        enum kiln_status st = kiln_lower_matmul_packed_bias(
            lc, kiln_lower_in(lc, 0), tb[d], bb >= 0 ? kiln_lower_slot(lc, bb) : -1, 1.0f,
            kiln_lower_slot(lc, xw[d]), KILN_DT_F32);
        if (st != KILN_OK)
            return st;
    }
    kiln_lower_kernel(lc, "steps");
    return KILN_OK;
}

/*
 * RNN, GRU, LSTM. One parallel iteration per (direction, batch) runs the
 * whole sequence: the state (and LSTM's cell) and the gate pre-activations
 * live in scratch buffers. Steps past a batch's sequence_lens leave the state
 * alone and write 0 to Y; reverse directions run from its last valid step.
 */
enum kiln_status
kiln_lower_rnn(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    enum kiln_op op = n->op;
    bool gru = op == KILN_OP_GRU, lstm = op == KILN_OP_LSTM;
    int G = lstm ? 4 : gru ? 3 : 1, nf = lstm ? 3 : gru ? 2 : 1;
    const char *dir = kiln_node_attr_string(n, "direction", "forward");
    int dirs = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
    bool rev = strcmp(dir, "reverse") == 0;
    bool layout = kiln_node_attr_int(n, "layout", 0) != 0;
    bool lbr = kiln_node_attr_int(n, "linear_before_reset", 0) != 0;
    bool input_forget = kiln_node_attr_int(n, "input_forget", 0) != 0;
    const struct kiln_attr *clipa = kiln_node_attr(n, "clip");
    double clipv = clipa && clipa->kind == KILN_ATTR_FLOAT ? clipa->f : -1;
    static const char *const d_rnn[] = {"Tanh"}, *const d_gru[] = {"Sigmoid", "Tanh"},
                             *const d_lstm[] = {"Sigmoid", "Tanh", "Tanh"};
    struct rnn_act acts[6];
    enum kiln_status st = rnn_acts(lc, nf, dirs, lstm ? d_lstm : gru ? d_gru : d_rnn, acts);
    if (st != KILN_OK)
        return st;
    /* the input projection of every step at once: XW[d] = x W[d]^T + Wb[d] + Rb[d]
     * by the packed GEMM kernel (LSTM and RNN: every gate row takes both biases) */
    int32_t proj[2] = {-1, -1};
    st = rnn_input_gemm(lc, gru, layout, dirs, G, proj);
    if (st != KILN_OK)
        return st;
    int32_t x = kiln_lower_in(lc, 0), w = kiln_lower_in(lc, 1), r = kiln_lower_in(lc, 2);
    int32_t bias = kiln_lower_in(lc, 3), sl = kiln_lower_in(lc, 4), h0 = kiln_lower_in(lc, 5);
    int32_t c0 = lstm ? kiln_lower_in(lc, 6) : -1, peep = lstm ? kiln_lower_in(lc, 7) : -1;
    int32_t y = kiln_lower_out(lc, 0), yh = kiln_lower_out(lc, 1),
            yc = lstm ? kiln_lower_out(lc, 2) : -1;
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, x)->dtype);
    struct kiln_lx *S = kiln_lower_dim(lc, x, layout ? 1 : 0),
                   *Bn = kiln_lower_dim(lc, x, layout ? 0 : 1);
    struct kiln_lx *I = kiln_lower_dim(lc, x, 2), *H = kiln_lower_dim(lc, r, 2);
    struct kiln_lx *ND = IX(lc, dirs), *GH = mul_i(lc, IX(lc, G), H);
    struct kiln_lx *states = mul_i(lc, ND, Bn);
    int32_t hs = kiln_lower_slot(lc, kiln_lower_scratch(lc, ct, mul_i(lc, states, H)));
    int32_t cs = lstm ? kiln_lower_slot(lc, kiln_lower_scratch(lc, ct, mul_i(lc, states, H))) : -1;
    int32_t gs = kiln_lower_slot(lc, kiln_lower_scratch(lc, ct, mul_i(lc, states, GH)));
    int32_t p, i, j, k;
    struct kiln_lblock *body = kiln_lk_parallel(lc, states, &p);
    struct kiln_lx *d = div_i(lc, V(lc, p), Bn), *b = rem_i(lc, V(lc, p), Bn);
    struct kiln_lx *zero = fimm(lc, ct, 0), *one = fimm(lc, ct, 1);
    /* [dirs, B, H] (layout 1: [B, dirs, H]) offset of (d, b, j) */
    struct kiln_lx *dbh = layout ? add_i(lc, mul_i(lc, b, ND), d) : V(lc, p);
    /* initial state */
    struct kiln_ls *fi = loop(lc, body, "j", H, &j);
    struct kiln_lx *hat = add_i(lc, mul_i(lc, V(lc, p), H), V(lc, j));
    struct kiln_lx *iat = add_i(lc, mul_i(lc, dbh, H), V(lc, j));
    kiln_lb_store(lc, &fi->body, hs, hat,
                  h0 >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, h0, iat)) : zero);
    if (lstm)
        kiln_lb_store(lc, &fi->body, cs, hat,
                      c0 >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, c0, iat)) : zero);
    /* per step */
    struct kiln_ls *fs = loop(lc, body, "i", S, &i);
    struct kiln_lblock *sb = &fs->body;
    struct kiln_lx *L = sl >= 0 ? kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_load(lc, sl, b)) : S;
    int32_t tv = kiln_lk_var(lc, KILN_DT_I64, "t");
    struct kiln_lx *back = sub_i(lc, sub_i(lc, L, IX(lc, 1)), V(lc, i));
    struct kiln_lx *t;
    if (dirs == 2)
        t = kiln_lx_select(lc, bin(lc, KILN_LX_EQ, d, IX(lc, 0)), V(lc, i), back);
    else
        t = rev ? back : V(lc, i);
    struct kiln_ls *valid = kiln_lb_if(lc, sb, bin(lc, KILN_LX_LT, V(lc, i), L));
    struct kiln_lblock *vb = &valid->body;
    kiln_lb_set(lc, vb, tv, t);
    /* x[t, b, :] (layout 1: x[b, t, :]) */
    struct kiln_lx *xrow =
        layout ? add_i(lc, mul_i(lc, b, S), V(lc, tv)) : add_i(lc, mul_i(lc, V(lc, tv), Bn), b);
    struct kiln_lx *gbase = mul_i(lc, V(lc, p), GH), *hbase = mul_i(lc, V(lc, p), H);
    int32_t acc = kiln_lk_var(lc, ct, "acc"), acc2 = kiln_lk_var(lc, ct, "acc2");
    /* pre-activations of every gate row gj (GRU's h gate: only x W + Wb here) */
    /* the recurrent weights transposed, R^T [dirs][H][G*H], for a step that
     * adds h_k times row k to all gate rows at once (vectors along the gates;
     * each gate's sum still runs over k in order) */
    const struct kiln_tensor *rtt = proj[0] >= 0 ? kiln_lower_const_in(lc, 2) : NULL;
    if (rtt && (rtt->rank != 3 || !kiln_dtype_is_float(rtt->dtype) || ct != KILN_DT_F32))
        rtt = NULL;
    if (rtt) {
        const int64_t GHc = rtt->dims[1], Hc = rtt->dims[2];
        void *data;
        int32_t rtb = kiln_lower_const(lc, ct, (int64_t)dirs * Hc * GHc, "rt", &data);
        float *rv = data;
        for (int64_t dd = 0; dd < dirs; dd++)
            for (int64_t g = 0; g < GHc; g++)
                for (int64_t kk = 0; kk < Hc; kk++) {
                    double e = 0;
                    kiln_tensor_get_f64(rtt, (dd * GHc + g) * Hc + kk, &e);
                    rv[(dd * Hc + kk) * GHc + g] = (float)e;
                }
        int32_t rts = kiln_lower_slot(lc, rtb), gj, kk;
        struct kiln_ls *fc = loop(lc, vb, "g", GH, &gj);
        fc->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *at = add_i(lc, mul_i(lc, xrow, GH), V(lc, gj));
        struct kiln_lx *v0 = kiln_lx_load(lc, kiln_lower_slot(lc, proj[0]), at);
        kiln_lb_store(lc, &fc->body, gs, add_i(lc, gbase, V(lc, gj)),
                      dirs == 2 ? kiln_lx_select(lc, bin(lc, KILN_LX_EQ, d, IX(lc, 0)), v0,
                                                 kiln_lx_load(lc, kiln_lower_slot(lc, proj[1]), at))
                                : v0);
        struct kiln_ls *fk2 = loop(lc, vb, "k", H, &kk);
        int32_t hk = kiln_lk_var(lc, ct, "hk");
        kiln_lb_set(lc, &fk2->body, hk, kiln_lx_load(lc, hs, add_i(lc, hbase, V(lc, kk))));
        struct kiln_ls *fg2 = loop(lc, &fk2->body, "g", GH, &gj);
        fg2->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *gat = add_i(lc, gbase, V(lc, gj));
        struct kiln_lx *rat =
            add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, d, H), V(lc, kk)), GH), V(lc, gj));
        kiln_lb_store(lc, &fg2->body, gs, gat,
                      bin(lc, KILN_LX_ADD, kiln_lx_load(lc, gs, gat),
                          bin(lc, KILN_LX_MUL, V(lc, hk), kiln_lx_load(lc, rts, rat))));
    } else {
        int32_t gj;
        struct kiln_ls *fg = loop(lc, vb, "g", GH, &gj);
        struct kiln_lx *row = add_i(lc, mul_i(lc, d, GH), V(lc, gj)); /* W/R row */
        if (proj[0] >= 0) {
            /* the projection computed before the steps, both biases in it */
            struct kiln_lx *at = add_i(lc, mul_i(lc, xrow, GH), V(lc, gj));
            struct kiln_lx *v0 = kiln_lx_load(lc, kiln_lower_slot(lc, proj[0]), at);
            kiln_lb_set(lc, &fg->body, acc,
                        dirs == 2
                            ? kiln_lx_select(lc, bin(lc, KILN_LX_EQ, d, IX(lc, 0)), v0,
                                             kiln_lx_load(lc, kiln_lower_slot(lc, proj[1]), at))
                            : v0);
        } else {
            kiln_lb_set(lc, &fg->body, acc, zero);
            struct kiln_ls *fx = loop(lc, &fg->body, "k", I, &k);
            accum(lc, &fx->body, acc, KILN_LX_ADD,
                  bin(lc, KILN_LX_MUL,
                      kiln_lx_cast(lc, ct,
                                   kiln_lx_load_f(lc, x, add_i(lc, mul_i(lc, xrow, I), V(lc, k)))),
                      kiln_lx_cast(lc, ct,
                                   kiln_lx_load_f(lc, w, add_i(lc, mul_i(lc, row, I), V(lc, k))))));
        }
        struct kiln_lx *wb =
            bias >= 0
                ? kiln_lx_cast(
                      lc, ct,
                      kiln_lx_load_f(lc, bias,
                                     add_i(lc, mul_i(lc, d, mul_i(lc, IX(lc, 2), GH)), V(lc, gj))))
                : zero;
        struct kiln_lx *rb =
            bias >= 0
                ? kiln_lx_cast(lc, ct,
                               kiln_lx_load_f(
                                   lc, bias,
                                   add_i(lc, add_i(lc, mul_i(lc, d, mul_i(lc, IX(lc, 2), GH)), GH),
                                         V(lc, gj))))
                : zero;
        if (proj[0] >= 0)
            wb = rb = zero; /* in the projection */
        kiln_lb_set(lc, &fg->body, acc, bin(lc, KILN_LX_ADD, V(lc, acc), wb));
        /* + h R + Rb, except for GRU's h gate */
        struct kiln_lblock *rblk = &fg->body;
        if (gru)
            rblk = &kiln_lb_if(lc, rblk, bin(lc, KILN_LX_LT, V(lc, gj), mul_i(lc, IX(lc, 2), H)))
                        ->body;
        kiln_lb_set(lc, rblk, acc2, zero);
        struct kiln_ls *fh = loop(lc, rblk, "k", H, &k);
        accum(lc, &fh->body, acc2, KILN_LX_ADD,
              bin(lc, KILN_LX_MUL, kiln_lx_load(lc, hs, add_i(lc, hbase, V(lc, k))),
                  kiln_lx_cast(lc, ct,
                               kiln_lx_load_f(lc, r, add_i(lc, mul_i(lc, row, H), V(lc, k))))));
        kiln_lb_set(lc, rblk, acc,
                    bin(lc, KILN_LX_ADD, V(lc, acc), bin(lc, KILN_LX_ADD, V(lc, acc2), rb)));
        kiln_lb_store(lc, &fg->body, gs, add_i(lc, gbase, V(lc, gj)), V(lc, acc));
    }
    /* activations per direction: picked by d at run time when bidirectional */
#define ACT(idx, v)                                                                                \
    (dirs == 2 && !same_act(&acts[(idx)], &acts[nf + (idx)])                                       \
         ? kiln_lx_select(lc, bin(lc, KILN_LX_EQ, d, IX(lc, 0)),                                   \
                          rnn_activate(lc, &acts[(idx)], (v)),                                     \
                          rnn_activate(lc, &acts[nf + (idx)], (v)))                                \
         : rnn_activate(lc, &acts[(idx)], (v)))
#define CLIP(v) (clipv > 0 ? clamp(lc, (v), fimm(lc, ct, -clipv), fimm(lc, ct, clipv)) : (v))
#define GATE(g, jj) kiln_lx_load(lc, gs, add_i(lc, gbase, add_i(lc, mul_i(lc, IX(lc, g), H), (jj))))
    struct kiln_ls *fu;
    struct kiln_lx *vj, *hj;
    if (gru) {
        /* z, r activated in place; then the h gate needs r for every k */
        int32_t jj;
        struct kiln_ls *fz = loop(lc, vb, "j", mul_i(lc, IX(lc, 2), H), &jj);
        struct kiln_lx *at = add_i(lc, gbase, V(lc, jj));
        kiln_lb_store(lc, &fz->body, gs, at, ACT(0, CLIP(kiln_lx_load(lc, gs, at))));
        /* h gate pre-activation into gate 2 */
        int32_t hh;
        struct kiln_ls *fhh = loop(lc, vb, "j", H, &hh);
        struct kiln_lx *hrow =
            add_i(lc, add_i(lc, mul_i(lc, d, GH), mul_i(lc, IX(lc, 2), H)), V(lc, hh));
        struct kiln_lx *rbh =
            bias >= 0
                ? kiln_lx_cast(lc, ct,
                               kiln_lx_load_f(
                                   lc, bias,
                                   add_i(lc, add_i(lc, mul_i(lc, d, mul_i(lc, IX(lc, 2), GH)), GH),
                                         add_i(lc, mul_i(lc, IX(lc, 2), H), V(lc, hh)))))
                : zero;
        kiln_lb_set(lc, &fhh->body, acc2, zero);
        struct kiln_ls *fk = loop(lc, &fhh->body, "k", H, &k);
        struct kiln_lx *hk = kiln_lx_load(lc, hs, add_i(lc, hbase, V(lc, k)));
        struct kiln_lx *rk = GATE(1, V(lc, k));
        struct kiln_lx *rw =
            kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, r, add_i(lc, mul_i(lc, hrow, H), V(lc, k))));
        accum(lc, &fk->body, acc2, KILN_LX_ADD,
              bin(lc, KILN_LX_MUL, lbr ? hk : bin(lc, KILN_LX_MUL, rk, hk), rw));
        struct kiln_lx *hpre;
        struct kiln_lx *xw = GATE(2, V(lc, hh));
        if (lbr)
            hpre = bin(
                lc, KILN_LX_ADD, xw,
                bin(lc, KILN_LX_MUL, GATE(1, V(lc, hh)), bin(lc, KILN_LX_ADD, V(lc, acc2), rbh)));
        else
            hpre = bin(lc, KILN_LX_ADD, xw, bin(lc, KILN_LX_ADD, V(lc, acc2), rbh));
        kiln_lb_store(lc, &fhh->body, gs,
                      add_i(lc, gbase, add_i(lc, mul_i(lc, IX(lc, 2), H), V(lc, hh))),
                      ACT(1, CLIP(hpre)));
        /* H = (1 - z) h + z H */
        fu = loop(lc, vb, "j", H, &j);
        vj = V(lc, j);
        hj = add_i(lc, hbase, vj);
        struct kiln_lx *z = GATE(0, vj), *hc = GATE(2, vj);
        kiln_lb_store(lc, &fu->body, hs, hj,
                      bin(lc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, bin(lc, KILN_LX_SUB, one, z), hc),
                          bin(lc, KILN_LX_MUL, z, kiln_lx_load(lc, hs, hj))));
    } else if (lstm) {
        fu = loop(lc, vb, "j", H, &j);
        fu->hints |= KILN_LS_HINT_VECTORIZE; /* exp and tanh are arithmetic: it vectorizes */
        vj = V(lc, j);
        hj = add_i(lc, hbase, vj);
        struct kiln_lx *cprev = kiln_lx_load(lc, cs, hj);
        struct kiln_lx *pbase = mul_i(lc, d, mul_i(lc, IX(lc, 3), H));
        struct kiln_lx *pi =
            peep >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, peep, add_i(lc, pbase, vj))) : zero;
        struct kiln_lx *po =
            peep >= 0
                ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, peep, add_i(lc, add_i(lc, pbase, H), vj)))
                : zero;
        struct kiln_lx *pf =
            peep >= 0 ? kiln_lx_cast(
                            lc, ct,
                            kiln_lx_load_f(
                                lc, peep, add_i(lc, add_i(lc, pbase, mul_i(lc, IX(lc, 2), H)), vj)))
                      : zero;
        int32_t gi = kiln_lk_var(lc, ct, "i"), gf = kiln_lk_var(lc, ct, "f"),
                gc = kiln_lk_var(lc, ct, "c");
        int32_t cn = kiln_lk_var(lc, ct, "cell");
#define PEEP(g, p, c) (peep >= 0 ? bin(lc, KILN_LX_ADD, (g), bin(lc, KILN_LX_MUL, (p), (c))) : (g))
        kiln_lb_set(lc, &fu->body, gi, ACT(0, CLIP(PEEP(GATE(0, vj), pi, cprev))));
        if (input_forget)
            kiln_lb_set(lc, &fu->body, gf, bin(lc, KILN_LX_SUB, one, V(lc, gi)));
        else
            kiln_lb_set(lc, &fu->body, gf, ACT(0, CLIP(PEEP(GATE(2, vj), pf, cprev))));
        kiln_lb_set(lc, &fu->body, gc, ACT(1, CLIP(GATE(3, vj))));
        kiln_lb_set(lc, &fu->body, cn,
                    bin(lc, KILN_LX_ADD, bin(lc, KILN_LX_MUL, V(lc, gf), cprev),
                        bin(lc, KILN_LX_MUL, V(lc, gi), V(lc, gc))));
        struct kiln_lx *o = ACT(0, CLIP(PEEP(GATE(1, vj), po, V(lc, cn))));
#undef PEEP
        kiln_lb_store(lc, &fu->body, cs, hj, V(lc, cn));
        kiln_lb_store(lc, &fu->body, hs, hj, bin(lc, KILN_LX_MUL, o, ACT(2, V(lc, cn))));
    } else {
        fu = loop(lc, vb, "j", H, &j);
        vj = V(lc, j);
        hj = add_i(lc, hbase, vj);
        kiln_lb_store(lc, &fu->body, hs, hj, ACT(0, CLIP(GATE(0, vj))));
    }
#undef ACT
#undef CLIP
#undef GATE
    /* Y[t, d, b, :] (layout 1: Y[b, t, d, :]) */
    if (y >= 0) {
        struct kiln_lx *yrow_t =
            layout ? add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, b, S), V(lc, tv)), ND), d)
                   : add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, V(lc, tv), ND), d), Bn), b);
        struct kiln_ls *fy = loop(lc, vb, "j", H, &j);
        kiln_lb_store_f(lc, &fy->body, y, add_i(lc, mul_i(lc, yrow_t, H), V(lc, j)),
                        kiln_lx_load(lc, hs, add_i(lc, hbase, V(lc, j))));
        struct kiln_lx *yrow_i =
            layout ? add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, b, S), V(lc, i)), ND), d)
                   : add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, V(lc, i), ND), d), Bn), b);
        struct kiln_ls *fz = loop(lc, &valid->orelse, "j", H, &j);
        kiln_lb_store_f(lc, &fz->body, y, add_i(lc, mul_i(lc, yrow_i, H), V(lc, j)), zero);
    }
    struct kiln_ls *fo = loop(lc, body, "j", H, &j);
    struct kiln_lx *oat = add_i(lc, mul_i(lc, dbh, H), V(lc, j));
    if (yh >= 0)
        kiln_lb_store_f(lc, &fo->body, yh, oat, kiln_lx_load(lc, hs, add_i(lc, hbase, V(lc, j))));
    if (yc >= 0)
        kiln_lb_store_f(lc, &fo->body, yc, oat, kiln_lx_load(lc, cs, add_i(lc, hbase, V(lc, j))));
    return KILN_OK;
}

/* ---------------------------------------------------------------- CausalConvWithState */

/*
 * Depthwise causal 1-D convolution over [past_state (or zeros), input] along
 * time, optional fused SiLU; present_state is the last k - 1 positions of
 * that concatenation.
 */
enum kiln_status
kiln_lower_causal_conv(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), w = kiln_lower_in(lc, 1), bias = kiln_lower_in(lc, 2);
    int32_t past = kiln_lower_in(lc, 3), y = kiln_lower_out(lc, 0), pres = kiln_lower_out(lc, 1);
    const char *act = kiln_node_attr_string(lc->n, "activation", "none");
    bool silu = strcmp(act, "silu") == 0 || strcmp(act, "swish") == 0;
    if (!silu && strcmp(act, "none") != 0)
        return kiln_lower_unsupported(lc, "unknown activation '%s'", act);
    enum kiln_dtype xt = kiln_lower_buf(lc, x)->dtype, ct = kiln_lower_compute_type(xt);
    struct kiln_lx *C = kiln_lower_dim(lc, x, 1), *L = kiln_lower_dim(lc, x, 2);
    struct kiln_lx *K = kiln_lower_dim(lc, w, 2), *K1 = sub_i(lc, K, IX(lc, 1));
    int32_t p, t, k;
    struct kiln_lblock *body = kiln_lk_parallel(lc, kiln_lower_dims_prod(lc, x, 0, 2), &p);
    struct kiln_lx *c = rem_i(lc, V(lc, p), C);
    int32_t tp = kiln_lk_var(lc, KILN_DT_I64, "tp"), v = kiln_lk_var(lc, ct, "v");
    /* padded[tp]: past (or 0) before k - 1, the input after */
#define PADDED(blk, at)                                                                            \
    do {                                                                                           \
        kiln_lb_set(lc, (blk), tp, (at));                                                          \
        struct kiln_ls *ip = kiln_lb_if(lc, (blk), bin(lc, KILN_LX_LT, V(lc, tp), K1));            \
        kiln_lb_set(                                                                               \
            lc, &ip->body, v,                                                                      \
            past >= 0 ? kiln_lx_cast(lc, ct,                                                       \
                                     kiln_lx_load_f(                                               \
                                         lc, past, add_i(lc, mul_i(lc, V(lc, p), K1), V(lc, tp)))) \
                      : fimm(lc, ct, 0));                                                          \
        kiln_lb_set(lc, &ip->orelse, v,                                                            \
                    kiln_lx_cast(                                                                  \
                        lc, ct,                                                                    \
                        kiln_lx_load_f(                                                            \
                            lc, x, add_i(lc, mul_i(lc, V(lc, p), L), sub_i(lc, V(lc, tp), K1))))); \
    } while (0)
    if (y >= 0) {
        struct kiln_ls *ft = loop(lc, body, "t", L, &t);
        int32_t acc = kiln_lk_var(lc, ct, "acc");
        kiln_lb_set(lc, &ft->body, acc,
                    bias >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, c))
                              : fimm(lc, ct, 0));
        struct kiln_ls *fk = loop(lc, &ft->body, "k", K, &k);
        PADDED(&fk->body, add_i(lc, V(lc, t), V(lc, k)));
        accum(lc, &fk->body, acc, KILN_LX_ADD,
              bin(lc, KILN_LX_MUL,
                  kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, w, add_i(lc, mul_i(lc, c, K), V(lc, k)))),
                  V(lc, v)));
        struct kiln_lx *r = round_to(lc, xt, V(lc, acc));
        if (silu)
            r = bin(lc, KILN_LX_MUL, r, sigmoid(lc, r));
        kiln_lb_store_f(lc, &ft->body, y, add_i(lc, mul_i(lc, V(lc, p), L), V(lc, t)), r);
    }
    if (pres >= 0) {
        int32_t s;
        struct kiln_ls *fs = loop(lc, body, "s", K1, &s);
        PADDED(&fs->body, add_i(lc, L, V(lc, s)));
        kiln_lb_store_f(lc, &fs->body, pres, add_i(lc, mul_i(lc, V(lc, p), K1), V(lc, s)),
                        V(lc, v));
    }
#undef PADDED
    return KILN_OK;
}

/* ---------------------------------------------------------------- DeformConv */

/*
 * Deformable convolution: each kernel tap samples the input at its regular
 * position plus a learned offset, by multilinear interpolation with zeros
 * outside the image (GridSample with align_corners), scaled by the optional
 * mask. Offsets are [N, offset_group * K * sp, out...] (K taps, sp
 * coordinates each, in axis order), the mask [N, offset_group * K, out...].
 */
enum kiln_status
kiln_lower_deform_conv(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    const struct kiln_type *xt = &lc->g->values[n->in[0]]->type;
    int sp = xt->rank - 2;
    if (sp < 1 || sp > 3)
        return kiln_lower_unsupported(lc, "%d spatial dims", sp);
    int64_t kernel[KILN_MAX_RANK];
    weight_kernel(lc, 1, kernel, sp);
    struct conv_geom cg;
    enum kiln_status st = conv_geom(lc, xt, kernel, &cg);
    if (st != KILN_OK)
        return st;
    int32_t x = kiln_lower_in(lc, 0), w = kiln_lower_in(lc, 1), off = kiln_lower_in(lc, 2);
    int32_t bias = kiln_lower_in(lc, 3), mask = kiln_lower_in(lc, 4), y = kiln_lower_out(lc, 0);
    int64_t groups = kiln_node_attr_int(n, "group", 1);
    int64_t ogroups = kiln_node_attr_int(n, "offset_group", 1);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *M = kiln_lower_dim(lc, y, 1), *Cg = kiln_lower_dim(lc, w, 1);
    struct kiln_lx *Mg = div_i(lc, M, IX(lc, groups));
    struct kiln_lx *Cog = div_i(lc, kiln_lower_dim(lc, x, 1), IX(lc, ogroups));
    struct kiln_lx *Ktot = kiln_lower_dims_prod(lc, w, 2, sp + 2),
                   *So = kiln_lower_dims_prod(lc, y, 2, sp + 2);
    struct kiln_lx *Si = kiln_lower_dims_prod(lc, x, 2, sp + 2);
    int32_t p;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, kiln_lower_dim(lc, y, 0), M), &p);
    struct kiln_lx *vn = div_i(lc, V(lc, p), M), *vm = rem_i(lc, V(lc, p), M);
    struct kiln_lx *grp = div_i(lc, vm, Mg);
    struct kiln_lx *o[KILN_MAX_RANK], *oi[KILN_MAX_RANK];
    struct kiln_lblock *blk = body;
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f = loop(lc, blk, "o", kiln_lower_dim(lc, y, i + 2), &v);
        o[i] = V(lc, v);
        blk = &f->body;
    }
    oi[0] = oi[1] = NULL;
    for (int i = 0; i < sp; i++)
        oi[i + 2] = o[i];
    struct kiln_lx *opos = kiln_lower_offset(lc, y, oi, sp + 2); /* spatial offset in out */
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, blk, acc,
                bias >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, vm)) : fimm(lc, ct, 0));
    int32_t vc;
    struct kiln_ls *fc = loop(lc, blk, "c", Cg, &vc);
    struct kiln_lx *ch = add_i(lc, mul_i(lc, grp, Cg), V(lc, vc));
    struct kiln_lx *og = div_i(lc, ch, Cog);
    struct kiln_lblock *kb = &fc->body;
    struct kiln_lx *kv[KILN_MAX_RANK], *kflat = IX(lc, 0);
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f = loop(lc, kb, "k", kiln_lower_dim(lc, w, i + 2), &v);
        kv[i] = V(lc, v);
        kflat = add_i(lc, mul_i(lc, kflat, kiln_lower_dim(lc, w, i + 2)), kv[i]);
        kb = &f->body;
    }
    /* sampling position per axis, its floor and fraction */
    int32_t pos[KILN_MAX_RANK], fl[KILN_MAX_RANK];
    struct kiln_lx *offbase =
        mul_i(lc,
              add_i(lc, mul_i(lc, vn, mul_i(lc, IX(lc, ogroups), mul_i(lc, Ktot, IX(lc, sp)))),
                    mul_i(lc, add_i(lc, mul_i(lc, og, Ktot), kflat), IX(lc, sp))),
              So);
    for (int i = 0; i < sp; i++) {
        pos[i] = kiln_lk_var(lc, ct, "pos");
        fl[i] = kiln_lk_var(lc, KILN_DT_I64, "fl");
        struct kiln_lx *base =
            add_i(lc, sub_i(lc, mul_i(lc, o[i], IX(lc, cg.stride[i])), cg.padx[i]),
                  mul_i(lc, kv[i], IX(lc, cg.dil[i])));
        struct kiln_lx *ofs = kiln_lx_cast(
            lc, ct,
            kiln_lx_load_f(lc, off, add_i(lc, add_i(lc, offbase, mul_i(lc, IX(lc, i), So)), opos)));
        kiln_lb_set(lc, kb, pos[i], bin(lc, KILN_LX_ADD, kiln_lx_cast(lc, ct, base), ofs));
        kiln_lb_set(lc, kb, fl[i],
                    kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_unary(lc, KILN_LX_FLOOR, V(lc, pos[i]))));
    }
    /* multilinear interpolation over the 2^sp corners, zeros outside */
    struct kiln_lx *xbase = mul_i(lc, add_i(lc, mul_i(lc, vn, kiln_lower_dim(lc, x, 1)), ch), Si);
    struct kiln_lx *sample = NULL;
    for (int corner = 0; corner < (1 << sp); corner++) {
        struct kiln_lx *wgt = NULL, *ok = NULL, *ci[KILN_MAX_RANK];
        ci[0] = ci[1] = NULL;
        for (int i = 0; i < sp; i++) {
            bool hi = (corner >> i) & 1;
            struct kiln_lx *c = hi ? add_i(lc, V(lc, fl[i]), IX(lc, 1)) : V(lc, fl[i]);
            struct kiln_lx *frac =
                bin(lc, KILN_LX_SUB, V(lc, pos[i]), kiln_lx_cast(lc, ct, V(lc, fl[i])));
            struct kiln_lx *wi = hi ? frac : bin(lc, KILN_LX_SUB, fimm(lc, ct, 1), frac);
            wgt = wgt ? bin(lc, KILN_LX_MUL, wgt, wi) : wi;
            struct kiln_lx *in = kiln_lower_dim(lc, x, i + 2);
            ok = land(lc, ok, in_range(lc, c, in));
            /* clamped, so the load stays in bounds; the select drops it */
            ci[i + 2] =
                bin(lc, KILN_LX_MIN, bin(lc, KILN_LX_MAX, c, IX(lc, 0)), sub_i(lc, in, IX(lc, 1)));
        }
        struct kiln_lx *xv = kiln_lx_cast(
            lc, ct, kiln_lx_load_f(lc, x, add_i(lc, xbase, kiln_lower_offset(lc, x, ci, sp + 2))));
        struct kiln_lx *term =
            kiln_lx_select(lc, ok, bin(lc, KILN_LX_MUL, wgt, xv), fimm(lc, ct, 0));
        sample = sample ? bin(lc, KILN_LX_ADD, sample, term) : term;
    }
    struct kiln_lx *wv = kiln_lx_cast(
        lc, ct,
        kiln_lx_load_f(lc, w,
                       add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vm, Cg), V(lc, vc)), Ktot), kflat)));
    struct kiln_lx *term = bin(lc, KILN_LX_MUL, wv, sample);
    if (mask >= 0) {
        struct kiln_lx *mat = add_i(lc,
                                    mul_i(lc,
                                          add_i(lc, mul_i(lc, vn, mul_i(lc, IX(lc, ogroups), Ktot)),
                                                add_i(lc, mul_i(lc, og, Ktot), kflat)),
                                          So),
                                    opos);
        term = bin(lc, KILN_LX_MUL, term, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, mask, mat)));
    }
    accum(lc, kb, acc, KILN_LX_ADD, term);
    kiln_lb_store_f(lc, blk, y, add_i(lc, mul_i(lc, V(lc, p), So), opos), V(lc, acc));
    return KILN_OK;
}

/* ---------------------------------------------------------------- LinearAttention */

/*
 * The recurrent form of linear attention: per (batch, kv head) a d_k x d_v
 * state in f32, per token optionally decayed by exp(g) (gated rules), the
 * value corrected by beta * (v - S^T k) (delta rules), updated by k v^T and
 * read by each query head of the group: o = scale * q^T S.
 */
enum kiln_status
kiln_lower_linear_attention(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    int64_t qh = kiln_node_attr_int(n, "q_num_heads", 0),
            kvh = kiln_node_attr_int(n, "kv_num_heads", 0);
    const char *rule = kiln_node_attr_string(n, "update_rule", "gated_delta");
    bool gated = strcmp(rule, "gated") == 0 || strcmp(rule, "gated_delta") == 0;
    bool delta = strcmp(rule, "delta") == 0 || strcmp(rule, "gated_delta") == 0;
    if (!gated && !delta && strcmp(rule, "linear") != 0)
        return kiln_lower_unsupported(lc, "unknown update_rule '%s'", rule);
    if (qh <= 0 || kvh <= 0 || qh % kvh != 0)
        return kiln_lower_unsupported(lc,
                                      "q_num_heads must be a positive multiple of kv_num_heads");
    int32_t q = kiln_lower_in(lc, 0), k = kiln_lower_in(lc, 1), v = kiln_lower_in(lc, 2);
    int32_t past = kiln_lower_in(lc, 3), decay = kiln_lower_in(lc, 4), beta = kiln_lower_in(lc, 5);
    int32_t y = kiln_lower_out(lc, 0), pres = kiln_lower_out(lc, 1);
    if ((gated && decay < 0) || (delta && beta < 0))
        return kiln_lower_unsupported(lc, "update_rule '%s' needs its decay/beta inputs", rule);
    const struct kiln_type *qt = &lc->g->values[n->in[0]]->type;
    struct kiln_dim qd = qt->dims[2];
    double scale = kiln_node_attr_float(n, "scale", 0.0f);
    if (scale == 0.0) {
        if (!kiln_dim_is_const(qd))
            return kiln_lower_unsupported(lc, "a symbolic head size needs the scale attribute");
        scale = 1.0 / sqrt((double)(qd.n / qh));
    }
    enum kiln_dtype ft = KILN_DT_F32;
    struct kiln_lx *B = kiln_lower_dim(lc, q, 0), *T = kiln_lower_dim(lc, q, 1);
    struct kiln_lx *Dk = div_i(lc, kiln_lower_dim(lc, q, 2), IX(lc, qh));
    struct kiln_lx *Dv = div_i(lc, kiln_lower_dim(lc, v, 2), IX(lc, kvh));
    struct kiln_lx *Hkv = IX(lc, kvh), *G = IX(lc, qh / kvh), *Hq = IX(lc, qh);
    struct kiln_lx *heads = mul_i(lc, B, Hkv), *SS = mul_i(lc, Dk, Dv);
    int32_t ss = kiln_lower_slot(lc, kiln_lower_scratch(lc, ft, mul_i(lc, heads, SS)));
    int32_t vs = kiln_lower_slot(lc, kiln_lower_scratch(lc, ft, mul_i(lc, heads, Dv)));
    int32_t p, t, d, m, g;
    struct kiln_lblock *body = kiln_lk_parallel(lc, heads, &p);
    struct kiln_lx *b = div_i(lc, V(lc, p), Hkv), *hk = rem_i(lc, V(lc, p), Hkv);
    struct kiln_lx *sbase = mul_i(lc, V(lc, p), SS), *vbase = mul_i(lc, V(lc, p), Dv);
#define SAT(dd, mm) add_i(lc, sbase, add_i(lc, mul_i(lc, (dd), Dv), (mm)))
    struct kiln_ls *fi = loop(lc, body, "i", SS, &d);
    kiln_lb_store(lc, &fi->body, ss, add_i(lc, sbase, V(lc, d)),
                  past >= 0
                      ? kiln_lx_cast(lc, ft, kiln_lx_load_f(lc, past, add_i(lc, sbase, V(lc, d))))
                      : fimm(lc, ft, 0));
    struct kiln_ls *fts = loop(lc, body, "t", T, &t);
    struct kiln_lblock *tb = &fts->body;
    struct kiln_lx *row = add_i(lc, mul_i(lc, b, T), V(lc, t)); /* (b, t) */
    /* x[b, t, head * D + i] */
#define PACKED(slot, head, D, i)                                                                   \
    kiln_lx_cast(lc, ft,                                                                           \
                 kiln_lx_load_f(lc, (slot),                                                        \
                                add_i(lc, mul_i(lc, row, kiln_lower_dim(lc, (slot), 2)),           \
                                      add_i(lc, mul_i(lc, (head), (D)), (i)))))
    if (gated) {
        struct kiln_lx *Ld = kiln_lower_dim(lc, decay, 2);
        bool per_head = same_dim(Ld, Hkv);
        struct kiln_ls *fd = loop(lc, tb, "d", Dk, &d);
        struct kiln_lx *gv =
            per_head ? PACKED(decay, hk, IX(lc, 1), IX(lc, 0)) : PACKED(decay, hk, Dk, V(lc, d));
        int32_t e = kiln_lk_var(lc, ft, "decay");
        kiln_lb_set(lc, &fd->body, e, kiln_lx_unary(lc, KILN_LX_EXP, gv));
        struct kiln_ls *fm = loop(lc, &fd->body, "m", Dv, &m);
        kiln_lb_store(
            lc, &fm->body, ss, SAT(V(lc, d), V(lc, m)),
            bin(lc, KILN_LX_MUL, kiln_lx_load(lc, ss, SAT(V(lc, d), V(lc, m))), V(lc, e)));
    }
    /* the value to write: v, or beta * (v - S^T k) */
    struct kiln_ls *fm = loop(lc, tb, "m", Dv, &m);
    struct kiln_lx *vv = PACKED(v, hk, Dv, V(lc, m));
    if (delta) {
        int32_t r = kiln_lk_var(lc, ft, "retrieved");
        kiln_lb_set(lc, &fm->body, r, fimm(lc, ft, 0));
        struct kiln_ls *fd = loop(lc, &fm->body, "d", Dk, &d);
        accum(lc, &fd->body, r, KILN_LX_ADD,
              bin(lc, KILN_LX_MUL, kiln_lx_load(lc, ss, SAT(V(lc, d), V(lc, m))),
                  PACKED(k, hk, Dk, V(lc, d))));
        struct kiln_lx *Lb = kiln_lower_dim(lc, beta, 2);
        struct kiln_lx *bv = is_imm(Lb, 1) ? PACKED(beta, IX(lc, 0), IX(lc, 1), IX(lc, 0))
                                           : PACKED(beta, hk, IX(lc, 1), IX(lc, 0));
        vv = bin(lc, KILN_LX_MUL, bv, bin(lc, KILN_LX_SUB, vv, V(lc, r)));
    }
    kiln_lb_store(lc, &fm->body, vs, add_i(lc, vbase, V(lc, m)), vv);
    /* S += k v^T */
    struct kiln_ls *fd = loop(lc, tb, "d", Dk, &d);
    struct kiln_ls *fm2 = loop(lc, &fd->body, "m", Dv, &m);
    kiln_lb_store(lc, &fm2->body, ss, SAT(V(lc, d), V(lc, m)),
                  bin(lc, KILN_LX_ADD, kiln_lx_load(lc, ss, SAT(V(lc, d), V(lc, m))),
                      bin(lc, KILN_LX_MUL, PACKED(k, hk, Dk, V(lc, d)),
                          kiln_lx_load(lc, vs, add_i(lc, vbase, V(lc, m))))));
    /* o = scale * q^T S for each query head of the group */
    if (y >= 0) {
        struct kiln_ls *fg = loop(lc, tb, "g", G, &g);
        struct kiln_lx *h = add_i(lc, mul_i(lc, hk, G), V(lc, g));
        struct kiln_ls *fo = loop(lc, &fg->body, "m", Dv, &m);
        int32_t acc = kiln_lk_var(lc, ft, "acc");
        kiln_lb_set(lc, &fo->body, acc, fimm(lc, ft, 0));
        struct kiln_ls *fk = loop(lc, &fo->body, "d", Dk, &d);
        accum(lc, &fk->body, acc, KILN_LX_ADD,
              bin(lc, KILN_LX_MUL, PACKED(q, h, Dk, V(lc, d)),
                  kiln_lx_load(lc, ss, SAT(V(lc, d), V(lc, m)))));
        kiln_lb_store_f(
            lc, &fo->body, y,
            add_i(lc, mul_i(lc, row, mul_i(lc, Hq, Dv)), add_i(lc, mul_i(lc, h, Dv), V(lc, m))),
            bin(lc, KILN_LX_MUL, fimm(lc, ft, scale), V(lc, acc)));
    }
#undef PACKED
    if (pres >= 0) {
        struct kiln_ls *fo = loop(lc, body, "i", SS, &d);
        kiln_lb_store_f(lc, &fo->body, pres, add_i(lc, sbase, V(lc, d)),
                        kiln_lx_load(lc, ss, add_i(lc, sbase, V(lc, d))));
    }
#undef SAT
    return KILN_OK;
}
