/*
 * lower_tensor.c - lowering of data movement and shape ops: the reshaping
 * copies (Reshape, Flatten, Squeeze, Unsqueeze), Transpose, Concat, Split,
 * Slice, the Gather and Scatter families, Pad, CenterCropPad, Tile, Expand,
 * Resize/Upsample, DepthToSpace/SpaceToDepth, Shape, Size, OneHot, Trilu,
 * ReverseSequence, Compress, NonZero, NonMaxSuppression, Col2Im, AffineGrid,
 * GridSample, RoiAlign, MaxRoiPool, DFT, STFT and MelWeightMatrix.
 *
 * Contract (lower_ops.h). Output shapes are known here (inferred or declared,
 * possibly symbolic), so most ops are one parallel loop over the output that
 * computes, per element, where in the input it comes from. Parameters that
 * only decide the output shape (Tile's repeats, Expand's shape, Split's sizes,
 * OneHot's depth, Resize's sizes) are never read. Parameters that decide more
 * (Slice's starts and steps, Pad's pads, Trilu's k, Resize's scales and roi,
 * ...) are folded when they are constants and loaded at run time otherwise;
 * only those that change the loop structure (axes, block shapes) must be
 * constants. Elements of any dtype move with kiln_lx_load/kiln_lb_store; ops
 * that compute do it in the compute type (f32 for f16/bf16), interpolation
 * coordinates and transforms in f64, as the reference does.
 *
 * Indices read from tensors (Gather, Scatter, OneHot, ...) may be int32 or
 * int64 and negative (the axis size is added). Out-of-range indices are
 * undefined in ONNX; here a read yields 0 and a write is skipped, so that a
 * compiled model never touches memory outside its buffers. A select
 * evaluates both arms, so a load is never guarded by one alone: its index is
 * clamped into the buffer, and the load sits in an IF where the buffer may be
 * empty.
 *
 * Ops whose output size depends on the data (Compress, NonZero,
 * NonMaxSuppression) compile when that size is nevertheless known (constant
 * inputs, or a shape the model declares); their kernel is serial. Compress
 * and NonZero check at run time that the data selects the compiled number of
 * elements (kiln_lower_check), NonMaxSuppression the number of boxes it keeps.
 * Unique does not compile.
 * Scatter ops write in index order, so that duplicate indices and reductions
 * give the reference's result: their scatter kernel is serial too (trip NULL).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/lower_ops.h"

/* ---------------------------------------------------------------- expression helpers */

static struct kiln_lx *
imm(struct kiln_lower_ctx *lc, int64_t v)
{
    return kiln_lx_idx(lc, v);
}

static struct kiln_lx *
add_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_ADD, a, b);
}

static struct kiln_lx *
sub_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_SUB, a, b);
}

static struct kiln_lx *
mul_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_MUL, a, b);
}

static struct kiln_lx *
div_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_DIV, a, b);
}

static struct kiln_lx *
rem_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_REM, a, b);
}

static struct kiln_lx *
min_x(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_MIN, a, b);
}

static struct kiln_lx *
max_x(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_MAX, a, b);
}

static struct kiln_lx *
cmp(struct kiln_lower_ctx *lc, enum kiln_lx_op op, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, op, a, b);
}

/* a && b where either may be NULL (true). */
static struct kiln_lx *
and_c(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return kiln_lx_binary(lc, KILN_LX_AND, a, b);
}

static struct kiln_lx *
sel(struct kiln_lower_ctx *lc, struct kiln_lx *c, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_select(lc, c, a, b);
}

static bool
imm_value(const struct kiln_lx *x, int64_t *v)
{
    if (x->kind != KILN_LX_IMM || kiln_dtype_is_float(x->type))
        return false;
    *v = x->i;
    return true;
}

/* Whether x is a constant > 0 (a dim that cannot be empty). */
static bool
imm_positive(const struct kiln_lx *x)
{
    int64_t v;
    return imm_value(x, &v) && v > 0;
}

/* A new local set to v in block b; returns the variable's expression (v itself
 * when it is a constant or a dim). */
static struct kiln_lx *
let(struct kiln_lower_ctx *lc, struct kiln_lblock *b, const char *name, struct kiln_lx *v)
{
    if (v->kind == KILN_LX_IMM || v->kind == KILN_LX_DIM)
        return v; /* nothing to compute once, nothing that changes */
    int32_t var = kiln_lk_var(lc, v->type, name);
    kiln_lb_set(lc, b, var, v);
    return kiln_lx_var(lc, var);
}

/* lo <= v < hi as a bool expression. */
static struct kiln_lx *
in_range(struct kiln_lower_ctx *lc, struct kiln_lx *v, struct kiln_lx *lo, struct kiln_lx *hi)
{
    return and_c(lc, cmp(lc, KILN_LX_GE, v, lo), cmp(lc, KILN_LX_LT, v, hi));
}

/* v clamped into [0, d - 1] (0 when d is 0: callers guard empty buffers). */
static struct kiln_lx *
clamp_index(struct kiln_lower_ctx *lc, struct kiln_lx *v, struct kiln_lx *d)
{
    return max_x(lc, min_x(lc, v, sub_i(lc, d, imm(lc, 1))), imm(lc, 0));
}

/* A possibly negative index v into an axis of size d: v + d when v < 0. */
static struct kiln_lx *
unneg(struct kiln_lower_ctx *lc, struct kiln_lx *v, struct kiln_lx *d)
{
    int64_t c;
    if (imm_value(v, &c))
        return c < 0 ? add_i(lc, v, d) : v;
    return sel(lc, cmp(lc, KILN_LX_LT, v, imm(lc, 0)), add_i(lc, v, d), v);
}

/* Element idx of an integer (or float) tensor slot, as i64. */
static struct kiln_lx *
load_i64(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *idx)
{
    return kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_load(lc, slot, idx));
}

/* The constant v as a value of dtype t. A storage-only type (float8, int4,
 * ...) has no immediates: its value is the compute type's, cast. */
static struct kiln_lx *
const_of(struct kiln_lower_ctx *lc, enum kiln_dtype t, double v)
{
    if (kiln_dtype_flags(t) & KILN_DTF_STORAGE)
        return kiln_lx_cast(lc, t, kiln_lx_imm_f(lc, kiln_lower_compute_type(t), v));
    return kiln_lx_imm_f(lc, t, v);
}

static struct kiln_lx *
zero_of(struct kiln_lower_ctx *lc, enum kiln_dtype t)
{
    return const_of(lc, t, 0.0);
}

/*
 * The condition that the dims of slot on the axes in mask (bit i: axis i) are
 * all > 0; NULL when they are constants that are.
 */
static struct kiln_lx *
positive_dims(struct kiln_lower_ctx *lc, int32_t slot, uint64_t mask)
{
    struct kiln_lx *c = NULL;
    for (int i = 0; i < kiln_lower_rank(lc, slot); i++) {
        struct kiln_lx *d = kiln_lower_dim(lc, slot, i);
        if ((mask >> i & 1) && !imm_positive(d))
            c = and_c(lc, c, cmp(lc, KILN_LX_GT, d, imm(lc, 0)));
    }
    return c;
}

/*
 * Store into y[at] the element of x at per-axis indices xi (rank of x) when
 * `ok` holds (NULL: always), `fill` otherwise. The axes in mask (bit i: axis
 * i) are those whose index the caller computed (ok bounds it, or it is
 * in range by construction); the others come from the output's loop and are
 * in range. The load clamps the computed indices, which keeps it inside x
 * once those axes are not empty: when that is not sure (constant dims > 0),
 * the load sits in an IF on it, else under a select.
 */
static void
store_from(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t y, struct kiln_lx *at,
           int32_t x, struct kiln_lx **xi, struct kiln_lx *ok, struct kiln_lx *fill, uint64_t mask)
{
    int r = kiln_lower_rank(lc, x);
    struct kiln_lx *ci[KILN_MAX_RANK], *guard = positive_dims(lc, x, mask);
    for (int i = 0; i < r; i++)
        ci[i] = ok && (mask >> i & 1) ? clamp_index(lc, xi[i], kiln_lower_dim(lc, x, i)) : xi[i];
    struct kiln_lx *v = kiln_lx_load(lc, x, kiln_lower_offset(lc, x, ci, r));
    if (!guard) {
        kiln_lb_store(lc, b, y, at, ok ? sel(lc, ok, v, fill) : v);
        return;
    }
    struct kiln_ls *iff = kiln_lb_if(lc, b, and_c(lc, guard, ok));
    kiln_lb_store(lc, &iff->body, y, at, v);
    kiln_lb_store(lc, &iff->orelse, y, at, fill);
}

/* Nested serial loops over every element of slot's shape in block b; idx gets
 * the per-axis indices and *flat the row-major index. Returns the innermost block. */
static struct kiln_lblock *
serial_loops(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot, struct kiln_lx **idx,
             struct kiln_lx **flat)
{
    int r = kiln_lower_rank(lc, slot);
    struct kiln_lx *f = imm(lc, 0);
    for (int i = 0; i < r; i++) {
        int32_t v;
        struct kiln_ls *s = kiln_lb_for(lc, b, "i", imm(lc, 0), kiln_lower_dim(lc, slot, i), &v);
        idx[i] = kiln_lx_var(lc, v);
        f = add_i(lc, mul_i(lc, f, kiln_lower_dim(lc, slot, i)), idx[i]);
        b = &s->body;
    }
    *flat = f;
    return b;
}

/* ---------------------------------------------------------------- constant parameters */

static bool
has_in(const struct kiln_lower_ctx *lc, int i)
{
    return i >= 0 && i < lc->n->n_in && lc->n->in[i] >= 0;
}

/* Element count of node input i when it is static (rank <= 1 with a constant dim), else -1. */
static int64_t
in_len(const struct kiln_lower_ctx *lc, int i)
{
    if (!has_in(lc, i))
        return -1;
    const struct kiln_type *t = &lc->g->values[lc->n->in[i]]->type;
    if (t->rank == 0)
        return 1;
    if (t->rank != 1 || !kiln_dim_is_const(t->dims[0]))
        return -1;
    return t->dims[0].n;
}

#define LIST_CAP (2 * KILN_MAX_RANK)

/*
 * A list of integers that is an attribute, a constant input, or an input read
 * at run time: present (given at all), n entries, known (v[] holds them) or
 * loaded from node input `in`.
 */
struct ilist {
    bool present, known;
    int64_t n;
    int in;
    int64_t v[LIST_CAP];
};

static bool
ilist_attr(const struct kiln_lower_ctx *lc, const char *name, struct ilist *l)
{
    int64_t n = 0;
    const int64_t *p = kiln_node_attr_ints(lc->n, name, &n);
    memset(l, 0, sizeof *l);
    l->in = -1;
    if (!p)
        return true;
    if (n > LIST_CAP)
        return false;
    l->present = l->known = true;
    l->n = n;
    memcpy(l->v, p, (size_t)n * sizeof *p);
    return true;
}

/* From node input i; false when its length is not static or too long. */
static bool
ilist_input(const struct kiln_lower_ctx *lc, int i, struct ilist *l)
{
    memset(l, 0, sizeof *l);
    l->in = -1;
    if (!has_in(lc, i))
        return true;
    int64_t n = in_len(lc, i);
    if (n < 0 || n > LIST_CAP)
        return false;
    l->present = true;
    l->n = n;
    l->in = i;
    const struct kiln_tensor *t = kiln_lower_const_in(lc, i);
    if (!t)
        return true;
    for (int64_t k = 0; k < n; k++)
        if (!kiln_tensor_get_i64(t, k, &l->v[k]))
            return true;
    l->known = true;
    return true;
}

/* Entry k as an i64 expression (a load from the input when not known). */
static struct kiln_lx *
ilist_get(struct kiln_lower_ctx *lc, const struct ilist *l, int64_t k)
{
    if (l->known)
        return imm(lc, l->v[k]);
    return load_i64(lc, kiln_lower_in(lc, l->in), imm(lc, k));
}

/* Normalize constant axes in place against rank r; false if one is out of range. */
static bool
norm_axes(int64_t *axes, int64_t n, int r)
{
    for (int64_t k = 0; k < n; k++) {
        if (axes[k] < 0)
            axes[k] += r;
        if (axes[k] < 0 || axes[k] >= r)
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- reshaping copies */

enum kiln_status
kiln_lower_copy(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, flat));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Transpose */

/* The side of a block of transpose_blocked: 16 x 16 f32 is 16 cache lines
 * read and 16 written. */
enum { TRANSPOSE_BLOCK = 16 };
/* The least plane (elements of the two axes) transpose_blocked takes: 256 KB
 * of f32, about the L2 share of a core. */
enum { TRANSPOSE_MIN_PLANE = 64 * 1024 };

/*
 * A transpose that moves the input's innermost axis away from the output's
 * innermost one (output axis a walks it; a 2-D transpose at heart), over
 * dims known at compile time: tasks are blocks of TRANSPOSE_BLOCK x
 * TRANSPOSE_BLOCK elements (f32: of the target's vector lanes, moved by
 * vector loads, shuffles and vector stores) of output axes a and last (the last blocks start
 * early enough to end at the axis' end, overlapping the ones before), so a
 * task reads TRANSPOSE_BLOCK input lines and writes TRANSPOSE_BLOCK output
 * lines. Walking the output row by row instead reads one element per line
 * (and a page per element once the rows are 4 KB apart): a 4096 x 4096
 * transpose ran at 1 GB/s, now 4.9 (124 -> 27 ms). False (nothing built)
 * inside a fused kernel, when an extent is unknown or shorter than a block,
 * or when the plane is smaller than TRANSPOSE_MIN_PLANE.
 */
static bool
transpose_blocked(struct kiln_lower_ctx *lc, int32_t x, int32_t y, const int *perm, int r)
{
    /* f32: blocks of the target's vector lanes, each moved by vector loads,
     * a transpose by shuffles (kiln_lower_transpose_rows) and vector stores */
    const enum kiln_dtype dt = kiln_lower_buf(lc, x)->dtype;
    const int vl = lc->m->target.vector_bits / 32;
    const bool vec = dt == KILN_DT_F32 && vl >= 4 && vl <= 32;
    const int TB = vec ? vl : TRANSPOSE_BLOCK;
    int a = -1;
    for (int i = 0; i < r; i++)
        if (perm[i] == r - 1)
            a = i;
    if (lc->fuse || a < 0 || a == r - 1)
        return false;
    struct kiln_lx *dims[KILN_MAX_RANK];
    for (int i = 0; i < r; i++) {
        dims[i] = kiln_lower_dim(lc, y, i);
        if (dims[i]->kind != KILN_LX_IMM)
            return false;
    }
    const int64_t Ya = dims[a]->i, Yl = dims[r - 1]->i, NA = (Ya + TB - 1) / TB,
                  NL = (Yl + TB - 1) / TB;
    /* a plane that stays in cache does as well walked row by row */
    if (Ya < TB || Yl < TB || Ya * Yl < TRANSPOSE_MIN_PLANE)
        return false;
    int64_t rest = 1;
    for (int i = 0; i < r - 1; i++)
        rest *= i == a ? 1 : dims[i]->i;
    int32_t p, i, j;
    struct kiln_lblock *body = kiln_lk_parallel(lc, imm(lc, rest * NA * NL), &p);
    kiln_lower_method(lc, "blocks of %d x %d%s", TB, TB, vec ? ", transposed by shuffles" : "");
    struct kiln_lx *q = div_i(lc, kiln_lx_var(lc, p), imm(lc, NL)), *yi[KILN_MAX_RANK],
                   *xi[KILN_MAX_RANK];
    struct kiln_lx *starts[2] = {rem_i(lc, q, imm(lc, NA)),
                                 rem_i(lc, kiln_lx_var(lc, p), imm(lc, NL))};
    struct kiln_lx *o = div_i(lc, q, imm(lc, NA)); /* the other axes, flattened */
    for (int k = r - 2; k >= 0; k--) {
        if (k == a)
            continue;
        yi[k] = rem_i(lc, o, dims[k]);
        o = div_i(lc, o, dims[k]);
    }
    /* the block's first element along a and along the last axis */
    int32_t at[2];
    const int64_t ext[2] = {Ya, Yl};
    for (int k = 0; k < 2; k++) {
        struct kiln_lx *b0 = mul_i(lc, starts[k], imm(lc, TB));
        at[k] = kiln_lk_var(lc, KILN_DT_I64, k ? "c0" : "r0");
        kiln_lb_set(lc, body, at[k], min_x(lc, b0, imm(lc, ext[k] - TB)));
    }
    if (vec) {
        /* row jj: the vector of x along its innermost axis (output axis a)
         * for output column c0 + jj; by columns, row ii is the output's
         * along its last axis at a = r0 + ii */
        struct kiln_lx *rows[32], *cols[32];
        for (int jj = 0; jj < TB; jj++) {
            yi[a] = kiln_lx_var(lc, at[0]);
            yi[r - 1] = add_i(lc, kiln_lx_var(lc, at[1]), imm(lc, jj));
            for (int k = 0; k < r; k++)
                xi[perm[k]] = yi[k];
            rows[jj] = kiln_lx_vload(lc, x, kiln_lower_offset(lc, x, xi, r), TB);
        }
        KILN_ASSERT(kiln_lower_transpose_rows(lc, body, rows, TB, TB, dt, cols));
        for (int ii = 0; ii < TB; ii++) {
            yi[a] = add_i(lc, kiln_lx_var(lc, at[0]), imm(lc, ii));
            yi[r - 1] = kiln_lx_var(lc, at[1]);
            kiln_lb_store(lc, body, y, kiln_lower_offset(lc, y, yi, r), cols[ii]);
        }
        return true;
    }
    struct kiln_ls *fi = kiln_lb_for(lc, body, "i", imm(lc, 0), imm(lc, TB), &i);
    struct kiln_ls *fj = kiln_lb_for(lc, &fi->body, "j", imm(lc, 0), imm(lc, TB), &j);
    yi[a] = add_i(lc, kiln_lx_var(lc, at[0]), kiln_lx_var(lc, i));
    yi[r - 1] = add_i(lc, kiln_lx_var(lc, at[1]), kiln_lx_var(lc, j));
    for (int k = 0; k < r; k++)
        xi[perm[k]] = yi[k];
    kiln_lb_store(lc, &fj->body, y, kiln_lower_offset(lc, y, yi, r),
                  kiln_lx_load(lc, x, kiln_lower_offset(lc, x, xi, r)));
    return true;
}

enum kiln_status
kiln_lower_transpose(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int64_t np = 0;
    const int64_t *perm = kiln_node_attr_ints(lc->n, "perm", &np);
    if (perm && np != r)
        return kiln_lower_unsupported(lc, "perm has %lld entries for rank %d", (long long)np, r);
    bool seen[KILN_MAX_RANK] = {false};
    for (int i = 0; perm && i < r; i++) {
        if (perm[i] < 0 || perm[i] >= r || seen[perm[i]])
            return kiln_lower_unsupported(lc, "perm[%d] is %lld, not a permutation", i,
                                          (long long)perm[i]);
        seen[perm[i]] = true;
    }
    int pv[KILN_MAX_RANK];
    for (int i = 0; i < r; i++)
        pv[i] = perm ? (int)perm[i] : r - 1 - i;
    if (transpose_blocked(lc, x, y, pv, r))
        return KILN_OK;
    /* output axis i walks input axis perm[i] */
    struct kiln_lx *idx[KILN_MAX_RANK], *xi[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    for (int i = 0; i < r; i++)
        xi[perm ? perm[i] : r - 1 - i] = idx[i];
    kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, kiln_lower_offset(lc, x, xi, r)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Concat / Split */

/* One kernel per input: copy it into the output at its offset along the axis. */
/*
 * Concat without a copy: when every axis before `axis` has one element, each
 * operand is a contiguous range of the result; operands that are temporaries
 * of this graph, used by nothing else, of the result's type and of sizes known
 * at compile time then become views of their range (kiln_lbuf.alias), which
 * their producers, lowered before, fill in place. No kernel is left. Not in
 * graphs with sub-graphs, whose captures are not counted as uses.
 */
static bool
concat_in_place(struct kiln_lower_ctx *lc, int axis)
{
    const struct kiln_graph *g = lc->g;
    struct kiln_lmodule *m = lc->m;
    const struct kiln_node *n = lc->n;
    int32_t ybuf = lc->k->bufs[kiln_lower_out(lc, 0)];
    const struct kiln_lbuf *yb = &m->bufs[ybuf];
    if (g != m->g || (yb->kind != KILN_LBUF_TEMP && yb->kind != KILN_LBUF_OUTPUT) ||
        yb->alias >= 0 || lc->k->body.n != 0 || m->kernels[m->n_kernels - 1] != lc->k)
        return false;
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t a = 0; a < g->nodes[i]->n_attrs; a++)
            if (g->nodes[i]->attrs[a].kind == KILN_ATTR_GRAPH ||
                g->nodes[i]->attrs[a].kind == KILN_ATTR_GRAPHS)
                return false;
    for (int d = 0; d < yb->rank; d++)
        if (yb->dims[d]->kind != KILN_LX_IMM || (d < axis && yb->dims[d]->i != 1))
            return false;
    int32_t bufs[64];
    if (n->n_in > 64)
        return false;
    for (int j = 0; j < n->n_in; j++) {
        const struct kiln_value *v = n->in[j] >= 0 ? g->values[n->in[j]] : NULL;
        if (!v || v->kind != KILN_VALUE_NODE || v->n_uses != 1 || v->is_output)
            return false;
        bufs[j] = kiln_lower_value_buf(m, g, n->in[j]);
        const struct kiln_lbuf *xb = bufs[j] >= 0 ? &m->bufs[bufs[j]] : NULL;
        if (!xb || xb->kind != KILN_LBUF_TEMP || xb->alias >= 0 || xb->dtype != yb->dtype ||
            xb->rank != yb->rank)
            return false;
        for (int d = 0; d < xb->rank; d++)
            if (xb->dims[d]->kind != KILN_LX_IMM)
                return false;
        for (int i = 0; i < j; i++)
            if (bufs[i] == bufs[j])
                return false;
    }
    /* the operands' ranges, one after another */
    int64_t inner = 1, off = 0;
    for (int d = axis + 1; d < yb->rank; d++)
        inner *= yb->dims[d]->i;
    for (int j = 0; j < n->n_in; j++) {
        m->bufs[bufs[j]].alias = ybuf;
        m->bufs[bufs[j]].alias_off = off;
        off += m->bufs[bufs[j]].dims[axis]->i * inner;
    }
    m->n_kernels--; /* the empty kernel made for this node */
    return true;
}

enum kiln_status
kiln_lower_concat(struct kiln_lower_ctx *lc)
{
    int32_t y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, y);
    int64_t axis = kiln_node_attr_int(lc->n, "axis", lc->g->opset < 4 ? 1 : 0);
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= r)
        return kiln_lower_unsupported(lc, "axis %lld is out of range for rank %d", (long long)axis,
                                      r);
    if (concat_in_place(lc, (int)axis))
        return KILN_OK;
    struct kiln_lx *off = imm(lc, 0);
    for (int j = 0; j < lc->n->n_in; j++) {
        if (j > 0) {
            char sfx[32];
            snprintf(sfx, sizeof sfx, "in%d", j);
            kiln_lower_kernel(lc, sfx);
        }
        int32_t x = kiln_lower_in(lc, j);
        y = kiln_lower_out(lc, 0);
        struct kiln_lx *idx[KILN_MAX_RANK], *flat;
        struct kiln_lblock *b = kiln_lower_loop_over(lc, x, idx, &flat);
        idx[axis] = add_i(lc, idx[axis], off);
        kiln_lb_store(lc, b, y, kiln_lower_offset(lc, y, idx, r), kiln_lx_load(lc, x, flat));
        off = add_i(lc, off, kiln_lower_dim(lc, x, (int)axis));
    }
    return KILN_OK;
}

/* One kernel per present output, reading its part of the input. */
enum kiln_status
kiln_lower_split(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int64_t axis = kiln_node_attr_int(lc->n, "axis", 0);
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= r)
        return kiln_lower_unsupported(lc, "axis %lld is out of range for rank %d", (long long)axis,
                                      r);
    /* sizes of absent outputs come from the split list */
    struct ilist split;
    bool ok = lc->g->opset >= 13 || (lc->g->opset < 2 && !kiln_node_attr(lc->n, "split"))
                  ? ilist_input(lc, 1, &split)
                  : ilist_attr(lc, "split", &split);
    struct kiln_lx *off = imm(lc, 0);
    bool first = true;
    for (int i = 0; i < lc->n->n_out; i++) {
        struct kiln_lx *size;
        if (lc->n->out[i] < 0) {
            if (i == lc->n->n_out - 1)
                break;
            if (!ok || !split.present || i >= split.n)
                return kiln_lower_unsupported(lc, "output %d is absent and its size unknown", i);
            off = add_i(lc, off, ilist_get(lc, &split, i));
            continue;
        }
        if (!first) {
            char sfx[32];
            snprintf(sfx, sizeof sfx, "out%d", i);
            kiln_lower_kernel(lc, sfx);
        }
        first = false;
        int32_t y = kiln_lower_out(lc, i);
        x = kiln_lower_in(lc, 0);
        size = kiln_lower_dim(lc, y, (int)axis);
        struct kiln_lx *idx[KILN_MAX_RANK], *flat;
        struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
        idx[axis] = add_i(lc, idx[axis], off);
        kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, kiln_lower_offset(lc, x, idx, r)));
        off = add_i(lc, off, size);
    }
    return KILN_OK;
}

/* ---------------------------------------------------------------- Slice */

/*
 * Effective start of a slice of an axis of size d: negative starts count from
 * the end, then clamped to [0, d] for a positive step and [0, d - 1] for a
 * negative one (ONNX's rules; the count of elements is the output's dim).
 */
static struct kiln_lx *
slice_start(struct kiln_lower_ctx *lc, struct kiln_lx *s, struct kiln_lx *step, struct kiln_lx *d)
{
    int64_t sv, stv, dv;
    if (imm_value(s, &sv) && imm_value(step, &stv) && imm_value(d, &dv)) {
        if (sv < 0)
            sv += dv;
        int64_t hi = stv > 0 ? dv : dv - 1;
        sv = sv < 0 ? 0 : sv > hi ? hi : sv;
        return imm(lc, sv < 0 ? 0 : sv);
    }
    s = unneg(lc, s, d);
    struct kiln_lx *pos = max_x(lc, min_x(lc, s, d), imm(lc, 0));
    struct kiln_lx *neg = max_x(lc, min_x(lc, s, sub_i(lc, d, imm(lc, 1))), imm(lc, 0));
    if (imm_value(step, &stv))
        return stv > 0 ? pos : neg;
    return sel(lc, cmp(lc, KILN_LX_GT, step, imm(lc, 0)), pos, neg);
}

enum kiln_status
kiln_lower_slice(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    struct ilist starts, axes, steps;
    bool ok;
    if (lc->g->opset < 10) {
        ok = ilist_attr(lc, "starts", &starts) && ilist_attr(lc, "axes", &axes);
        steps.present = false;
    } else {
        ok = ilist_input(lc, 1, &starts) && ilist_input(lc, 3, &axes) && ilist_input(lc, 4, &steps);
    }
    if (!ok || !starts.present)
        return kiln_lower_unsupported(lc, "starts, axes and steps must have a static length");
    if (axes.present && !axes.known)
        return kiln_lower_unsupported(
            lc, "the lowering depends on the values of axes, which must be a constant");
    int64_t n = starts.n;
    if ((axes.present && axes.n != n) || (steps.present && steps.n != n) || n > r)
        return kiln_lower_unsupported(lc, "starts, axes and steps differ in length");
    if (!axes.present)
        for (int64_t k = 0; k < n; k++)
            axes.v[k] = k;
    if (!norm_axes(axes.v, n, r))
        return kiln_lower_unsupported(lc, "an axis is out of range for rank %d", r);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *xi[KILN_MAX_RANK];
    for (int i = 0; i < r; i++)
        xi[i] = idx[i];
    for (int64_t k = 0; k < n; k++) {
        int a = (int)axes.v[k];
        struct kiln_lx *step = steps.present ? ilist_get(lc, &steps, k) : imm(lc, 1);
        struct kiln_lx *s =
            slice_start(lc, ilist_get(lc, &starts, k), step, kiln_lower_dim(lc, x, a));
        xi[a] = add_i(lc, s, mul_i(lc, idx[a], step));
    }
    kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, kiln_lower_offset(lc, x, xi, r)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Gather family */

/* Gather: y[i.., j.., k..] = x[i.., ind[j..], k..] along `axis`. */
enum kiln_status
kiln_lower_gather(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), ind = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x), q = kiln_lower_rank(lc, ind);
    int64_t axis = kiln_node_attr_int(lc->n, "axis", 0);
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= r)
        return kiln_lower_unsupported(lc, "axis %lld is out of range for rank %d", (long long)axis,
                                      r);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *d = kiln_lower_dim(lc, x, (int)axis);
    struct kiln_lx *v = load_i64(lc, ind, kiln_lower_offset(lc, ind, idx + axis, q));
    struct kiln_lx *xi[KILN_MAX_RANK];
    for (int i = 0; i < axis; i++)
        xi[i] = idx[i];
    xi[axis] = unneg(lc, v, d);
    for (int i = (int)axis + 1; i < r; i++)
        xi[i] = idx[i + q - 1];
    store_from(lc, b, y, flat, x, xi, in_range(lc, xi[axis], imm(lc, 0), d),
               zero_of(lc, kiln_lower_buf(lc, y)->dtype), UINT64_C(1) << axis);
    return KILN_OK;
}

/* GatherElements: y[i] = x[i with axis replaced by ind[i]]. */
enum kiln_status
kiln_lower_gather_elements(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), ind = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int64_t axis = kiln_node_attr_int(lc->n, "axis", 0);
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= r || kiln_lower_rank(lc, y) != r)
        return kiln_lower_unsupported(lc, "axis %lld is out of range for rank %d", (long long)axis,
                                      r);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *d = kiln_lower_dim(lc, x, (int)axis);
    struct kiln_lx *xi[KILN_MAX_RANK];
    for (int i = 0; i < r; i++)
        xi[i] = idx[i];
    xi[axis] = unneg(lc, load_i64(lc, ind, flat), d);
    struct kiln_lx *ok = in_range(lc, xi[axis], imm(lc, 0), d);
    for (int i = 0; i < r; i++) /* x may be smaller than indices on other axes */
        if (i != axis)
            ok = and_c(lc, ok, cmp(lc, KILN_LX_LT, xi[i], kiln_lower_dim(lc, x, i)));
    store_from(lc, b, y, flat, x, xi, ok, zero_of(lc, kiln_lower_buf(lc, y)->dtype), ~UINT64_C(0));
    return KILN_OK;
}

/*
 * GatherND: indices [B.., M.., k] pick slices of x [B.., d1..dk, rest..]; the
 * output is [B.., M.., rest..] (B: batch_dims axes shared by both).
 */
enum kiln_status
kiln_lower_gather_nd(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), ind = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x), q = kiln_lower_rank(lc, ind);
    int64_t bd = kiln_node_attr_int(lc->n, "batch_dims", 0), k;
    if (q < 1 || !imm_value(kiln_lower_dim(lc, ind, q - 1), &k) || bd < 0 || k < 1 || bd + k > r ||
        bd >= q)
        return kiln_lower_unsupported(lc, "indices' last dim must be a constant in [1, rank]");
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    /* row of indices: the output's first q - 1 indices */
    struct kiln_lx *ii[KILN_MAX_RANK], *xi[KILN_MAX_RANK], *ok = NULL;
    for (int i = 0; i < q - 1; i++)
        ii[i] = idx[i];
    for (int i = 0; i < bd; i++)
        xi[i] = idx[i];
    for (int64_t j = 0; j < k; j++) {
        ii[q - 1] = imm(lc, j);
        struct kiln_lx *d = kiln_lower_dim(lc, x, (int)(bd + j));
        struct kiln_lx *v = unneg(lc, load_i64(lc, ind, kiln_lower_offset(lc, ind, ii, q)), d);
        xi[bd + j] = v;
        ok = and_c(lc, ok, in_range(lc, v, imm(lc, 0), d));
    }
    for (int i = (int)(bd + k); i < r; i++)
        xi[i] = idx[q - 1 + i - bd - k];
    store_from(lc, b, y, flat, x, xi, ok, zero_of(lc, kiln_lower_buf(lc, y)->dtype),
               ((UINT64_C(1) << k) - 1) << bd);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Scatter family */

enum scatter_red { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static bool
scatter_reduction(struct kiln_lower_ctx *lc, enum scatter_red *out)
{
    const char *s = kiln_node_attr_string(lc->n, "reduction", "none");
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum scatter_red)i;
            return true;
        }
    }
    return false;
}

/* old combined with new by the reduction, in the compute type. */
static struct kiln_lx *
scatter_combine(struct kiln_lower_ctx *lc, enum scatter_red red, struct kiln_lx *old,
                struct kiln_lx *v)
{
    bool bl = v->type == KILN_DT_BOOL;
    switch (red) {
    case RED_NONE:
        return v;
    case RED_ADD:
        return kiln_lx_binary(lc, bl ? KILN_LX_OR : KILN_LX_ADD, old, v);
    case RED_MUL:
        return kiln_lx_binary(lc, bl ? KILN_LX_AND : KILN_LX_MUL, old, v);
    case RED_MAX:
        return bl ? kiln_lx_binary(lc, KILN_LX_OR, old, v)
                  : kiln_lx_binary(lc, KILN_LX_MAX, old, v);
    case RED_MIN:
        return bl ? kiln_lx_binary(lc, KILN_LX_AND, old, v)
                  : kiln_lx_binary(lc, KILN_LX_MIN, old, v);
    }
    return v;
}

/* The first kernel of a scatter: y = x. Leaves lc->k on a new serial kernel. */
static void
scatter_copy(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, flat));
    kiln_lower_kernel(lc, "scatter");
}

/* Store reduce(y[o], val) into y[o] in block b. */
static void
scatter_store(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t y, struct kiln_lx *o,
              int32_t u, struct kiln_lx *uo, enum scatter_red red)
{
    struct kiln_lx *v = kiln_lx_load_f(lc, u, uo);
    if (red != RED_NONE)
        v = scatter_combine(lc, red, kiln_lx_load_f(lc, y, o), v);
    kiln_lb_store_f(lc, b, y, o, v);
}

/* ScatterElements and Scatter: y[i with axis = ind[i]] (op)= upd[i] for every i of ind. */
enum kiln_status
kiln_lower_scatter_elements(struct kiln_lower_ctx *lc)
{
    enum scatter_red red = RED_NONE;
    if (lc->n->op != KILN_OP_SCATTER && !scatter_reduction(lc, &red))
        return kiln_lower_unsupported(lc, "unknown reduction");
    int r = kiln_lower_rank(lc, kiln_lower_in(lc, 0));
    int64_t axis = kiln_node_attr_int(lc->n, "axis", 0);
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= r)
        return kiln_lower_unsupported(lc, "axis %lld is out of range for rank %d", (long long)axis,
                                      r);
    scatter_copy(lc);
    int32_t ind = kiln_lower_in(lc, 1), u = kiln_lower_in(lc, 2), y = kiln_lower_out(lc, 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = serial_loops(lc, &lc->k->body, ind, idx, &flat);
    struct kiln_lx *d = kiln_lower_dim(lc, y, (int)axis);
    struct kiln_lx *yi[KILN_MAX_RANK], *ok = NULL;
    for (int i = 0; i < r; i++) {
        yi[i] = idx[i];
        if (i != axis)
            ok = and_c(lc, ok, cmp(lc, KILN_LX_LT, idx[i], kiln_lower_dim(lc, y, i)));
    }
    yi[axis] = let(lc, b, "ix", unneg(lc, load_i64(lc, ind, flat), d));
    ok = and_c(lc, ok, in_range(lc, yi[axis], imm(lc, 0), d));
    struct kiln_ls *iff = kiln_lb_if(lc, b, ok);
    scatter_store(lc, &iff->body, y, kiln_lower_offset(lc, y, yi, r), u,
                  kiln_lower_offset(lc, u, idx, r), red);
    return KILN_OK;
}

/* ScatterND: for each row j of ind[.., k], y[ind[j], :] (op)= upd[j, :]. */
enum kiln_status
kiln_lower_scatter_nd(struct kiln_lower_ctx *lc)
{
    enum scatter_red red;
    if (!scatter_reduction(lc, &red))
        return kiln_lower_unsupported(lc, "unknown reduction");
    const struct kiln_type *it = &lc->g->values[lc->n->in[1]]->type;
    int r = kiln_lower_rank(lc, kiln_lower_in(lc, 0)), q = it->rank;
    int64_t k = q >= 1 && kiln_dim_is_const(it->dims[q - 1]) ? it->dims[q - 1].n : -1;
    if (k < 0 || k > r)
        return kiln_lower_unsupported(lc, "indices' last dim must be a constant <= rank");
    scatter_copy(lc);
    int32_t ind = kiln_lower_in(lc, 1), u = kiln_lower_in(lc, 2), y = kiln_lower_out(lc, 0);
    struct kiln_lx *rows = kiln_lower_dims_prod(lc, ind, 0, q - 1),
                   *slice = kiln_lower_dims_prod(lc, y, (int)k, r);
    int32_t j, e;
    struct kiln_ls *fr = kiln_lb_for(lc, &lc->k->body, "j", imm(lc, 0), rows, &j);
    struct kiln_lx *vj = kiln_lx_var(lc, j), *base = imm(lc, 0), *ok = NULL;
    for (int64_t t = 0; t < k; t++) {
        struct kiln_lx *d = kiln_lower_dim(lc, y, (int)t);
        struct kiln_lx *v =
            let(lc, &fr->body, "ix",
                unneg(lc, load_i64(lc, ind, add_i(lc, mul_i(lc, vj, imm(lc, k)), imm(lc, t))), d));
        ok = and_c(lc, ok, in_range(lc, v, imm(lc, 0), d));
        base = add_i(lc, mul_i(lc, base, d), v);
    }
    base = mul_i(lc, base, slice);
    struct kiln_lblock *b = &fr->body;
    if (ok)
        b = &kiln_lb_if(lc, b, ok)->body;
    struct kiln_ls *fe = kiln_lb_for(lc, b, "e", imm(lc, 0), slice, &e);
    struct kiln_lx *ve = kiln_lx_var(lc, e);
    scatter_store(lc, &fe->body, y, add_i(lc, base, ve), u, add_i(lc, mul_i(lc, vj, slice), ve),
                  red);
    return KILN_OK;
}

/*
 * TensorScatter: the cache with update written along `axis` from write_indices[b]
 * (0 when absent), modulo the axis in circular mode. One pass over the output:
 * position s takes update[s - w] when that is in [0, len).
 */
enum kiln_status
kiln_lower_tensor_scatter(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), u = kiln_lower_in(lc, 1), wi = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int64_t axis = kiln_node_attr_int(lc->n, "axis", -2);
    if (axis < 0)
        axis += r;
    if (axis < 1 || axis >= r)
        return kiln_lower_unsupported(lc, "axis %lld is out of range for rank %d", (long long)axis,
                                      r);
    bool circ = strcmp(kiln_node_attr_string(lc->n, "mode", "linear"), "circular") == 0;
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *m = kiln_lower_dim(lc, y, (int)axis), *len = kiln_lower_dim(lc, u, (int)axis);
    struct kiln_lx *w = wi >= 0 ? load_i64(lc, wi, idx[0]) : imm(lc, 0);
    struct kiln_lx *t = sub_i(lc, idx[axis], w);
    if (circ)
        t = rem_i(lc, add_i(lc, rem_i(lc, t, m), m), m);
    struct kiln_lx *ui[KILN_MAX_RANK];
    for (int i = 0; i < r; i++)
        ui[i] = i == axis ? t : idx[i];
    struct kiln_ls *iff = kiln_lb_if(lc, b, in_range(lc, t, imm(lc, 0), len));
    kiln_lb_store(lc, &iff->body, y, flat, kiln_lx_load(lc, u, kiln_lower_offset(lc, u, ui, r)));
    kiln_lb_store(lc, &iff->orelse, y, flat, kiln_lx_load(lc, x, flat));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Expand / Tile */

/*
 * Expand: numpy broadcasting of the input to the output's shape. An axis of
 * x that is not known to match the output's may be 1 at run time: its index
 * is min(i, d - 1), which is 0 then and i when the sizes match.
 */
enum kiln_status
kiln_lower_expand(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, y), rx = kiln_lower_rank(lc, x);
    if (rx > r)
        return kiln_lower_unsupported(lc, "the input has rank %d > the output's %d", rx, r);
    struct kiln_lx *idx[KILN_MAX_RANK], *xi[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    for (int i = 0; i < rx; i++) {
        struct kiln_lx *d = kiln_lower_dim(lc, x, i), *o = idx[i + r - rx];
        int64_t v;
        if (imm_value(d, &v) && v == 1)
            xi[i] = NULL;
        else if (kiln_lx_equal(d, kiln_lower_dim(lc, y, i + r - rx)))
            xi[i] = o;
        else
            xi[i] = min_x(lc, o, sub_i(lc, d, imm(lc, 1)));
    }
    kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, kiln_lower_offset(lc, x, xi, rx)));
    return KILN_OK;
}

/* Tile (every version): y[i] = x[i mod dims(x)]; the repeats are in y's shape. */
enum kiln_status
kiln_lower_tile(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    for (int i = 0; i < r; i++)
        idx[i] = rem_i(lc, idx[i], kiln_lower_dim(lc, x, i));
    kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, kiln_lower_offset(lc, x, idx, r)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Pad / CenterCropPad */

enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

/* Source index of output index i (already shifted by the begin pad) in an axis of size d. */
static struct kiln_lx *
pad_source(struct kiln_lower_ctx *lc, enum pad_mode mode, struct kiln_lx *i, struct kiln_lx *d)
{
    switch (mode) {
    case PAD_CONSTANT:
        return i;
    case PAD_EDGE:
        return clamp_index(lc, i, d);
    case PAD_WRAP:
        return rem_i(lc, add_i(lc, rem_i(lc, i, d), d), d);
    case PAD_REFLECT: {
        /* period 2 (d - 1): fold into [0, p), then mirror the upper half */
        struct kiln_lx *p = mul_i(lc, imm(lc, 2), sub_i(lc, d, imm(lc, 1)));
        struct kiln_lx *m = rem_i(lc, add_i(lc, rem_i(lc, i, p), p), p);
        return sel(lc, cmp(lc, KILN_LX_LT, m, d), m, sub_i(lc, p, m));
    }
    }
    return i;
}

enum kiln_status
kiln_lower_pad(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    enum kiln_dtype dt = kiln_lower_buf(lc, y)->dtype;
    const char *ms = kiln_node_attr_string(lc->n, "mode", "constant");
    enum pad_mode mode = strcmp(ms, "reflect") == 0 ? PAD_REFLECT
                         : strcmp(ms, "edge") == 0  ? PAD_EDGE
                         : strcmp(ms, "wrap") == 0  ? PAD_WRAP
                                                    : PAD_CONSTANT;
    struct ilist pads, axes;
    struct kiln_lx *fill = zero_of(lc, dt);
    bool ok;
    if (lc->g->opset < 11) {
        ok = ilist_attr(lc, lc->g->opset < 2 ? "paddings" : "pads", &pads);
        axes.present = false;
        fill = const_of(lc, dt, kiln_node_attr_float(lc->n, "value", 0.0f));
    } else {
        ok = ilist_input(lc, 1, &pads) && ilist_input(lc, 3, &axes);
        if (has_in(lc, 2) && mode == PAD_CONSTANT)
            fill = kiln_lx_load(lc, kiln_lower_in(lc, 2), imm(lc, 0));
    }
    if (!ok || !pads.present)
        return kiln_lower_unsupported(lc, "pads and axes must have a static length");
    if (axes.present && !axes.known)
        return kiln_lower_unsupported(
            lc, "the lowering depends on the values of axes, which must be a constant");
    int64_t na = axes.present ? axes.n : r;
    if (!axes.present)
        for (int i = 0; i < r; i++)
            axes.v[i] = i;
    if (!norm_axes(axes.v, na, r) || pads.n != 2 * na)
        return kiln_lower_unsupported(lc, "pads must have 2 entries per axis");
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *xi[KILN_MAX_RANK], *inside = NULL;
    uint64_t padded = 0;
    for (int i = 0; i < r; i++)
        xi[i] = idx[i];
    for (int64_t k = 0; k < na; k++) {
        int a = (int)axes.v[k];
        if (pads.known && pads.v[k] == 0 && pads.v[k + na] == 0)
            continue; /* an axis left alone */
        padded |= UINT64_C(1) << a;
        struct kiln_lx *d = kiln_lower_dim(lc, x, a);
        struct kiln_lx *i = sub_i(lc, idx[a], ilist_get(lc, &pads, k));
        xi[a] = pad_source(lc, mode, i, d);
        if (mode == PAD_CONSTANT)
            inside = and_c(lc, inside, in_range(lc, i, imm(lc, 0), d));
    }
    store_from(lc, b, y, flat, x, xi, inside, fill, padded);
    return KILN_OK;
}

/* CenterCropPad: each axis cropped or zero-padded around its center. */
enum kiln_status
kiln_lower_center_crop_pad(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *xi[KILN_MAX_RANK], *inside = NULL;
    uint64_t checked = 0;
    for (int a = 0; a < r; a++) {
        struct kiln_lx *d = kiln_lower_dim(lc, x, a), *s = kiln_lower_dim(lc, y, a);
        /* crop: start (d - s) / 2; pad: begin (s - d) / 2; C division truncates, so
         * one expression covers both */
        xi[a] = add_i(lc, idx[a], div_i(lc, sub_i(lc, d, s), imm(lc, 2)));
        int64_t dv, sv;
        if (kiln_lx_equal(d, s) || (imm_value(d, &dv) && imm_value(s, &sv) && sv <= dv))
            continue; /* a crop (or nothing) stays inside */
        inside = and_c(lc, inside, in_range(lc, xi[a], imm(lc, 0), d));
        checked |= UINT64_C(1) << a;
    }
    store_from(lc, b, y, flat, x, xi, inside, zero_of(lc, kiln_lower_buf(lc, y)->dtype), checked);
    return KILN_OK;
}

/* ---------------------------------------------------------------- DepthToSpace / SpaceToDepth */

enum kiln_status
kiln_lower_depth_to_space(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    if (kiln_lower_rank(lc, x) != 4)
        return kiln_lower_unsupported(lc, "input must have rank 4");
    int64_t bs = kiln_node_attr_int(lc->n, "blocksize", 0);
    if (bs < 1)
        return kiln_lower_unsupported(lc, "blocksize must be >= 1");
    bool crd = strcmp(kiln_node_attr_string(lc->n, "mode", "DCR"), "CRD") == 0;
    bool d2s = lc->n->op == KILN_OP_DEPTH_TO_SPACE;
    struct kiln_lx *idx[4], *flat, *xi[4], *B = imm(lc, bs);
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    xi[0] = idx[0];
    if (d2s) {
        struct kiln_lx *c = idx[1], *cn = kiln_lower_dim(lc, y, 1);
        struct kiln_lx *i = rem_i(lc, idx[2], B), *j = rem_i(lc, idx[3], B);
        struct kiln_lx *ij = add_i(lc, mul_i(lc, i, B), j);
        xi[1] =
            crd ? add_i(lc, mul_i(lc, c, imm(lc, bs * bs)), ij) : add_i(lc, mul_i(lc, ij, cn), c);
        xi[2] = div_i(lc, idx[2], B);
        xi[3] = div_i(lc, idx[3], B);
    } else {
        struct kiln_lx *c2 = idx[1], *cn = kiln_lower_dim(lc, x, 1), *c, *i, *j;
        if (crd) {
            c = div_i(lc, c2, imm(lc, bs * bs));
            i = rem_i(lc, div_i(lc, c2, B), B);
            j = rem_i(lc, c2, B);
        } else {
            c = rem_i(lc, c2, cn);
            struct kiln_lx *ij = div_i(lc, c2, cn);
            i = div_i(lc, ij, B);
            j = rem_i(lc, ij, B);
        }
        xi[1] = c;
        xi[2] = add_i(lc, mul_i(lc, idx[2], B), i);
        xi[3] = add_i(lc, mul_i(lc, idx[3], B), j);
    }
    kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, kiln_lower_offset(lc, x, xi, 4)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- Shape / Size */

/* Shape: the input's dims [start, end) as i64, from the dim expressions. */
enum kiln_status
kiln_lower_shape(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int64_t r = kiln_lower_rank(lc, x);
    int64_t s = kiln_node_attr_int(lc->n, "start", 0), e = kiln_node_attr_int(lc->n, "end", r);
    if (s < 0)
        s += r;
    if (e < 0)
        e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    for (int64_t i = s; i < e; i++)
        kiln_lb_store(lc, &lc->k->body, y, imm(lc, i - s), kiln_lower_dim(lc, x, (int)i));
    return KILN_OK;
}

enum kiln_status
kiln_lower_size(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    kiln_lb_store(lc, &lc->k->body, y, imm(lc, 0), kiln_lower_numel(lc, x));
    return KILN_OK;
}

/* ---------------------------------------------------------------- OneHot / Trilu / ReverseSequence
 */

enum kiln_status
kiln_lower_onehot(struct kiln_lower_ctx *lc)
{
    int32_t ind = kiln_lower_in(lc, 0), vals = kiln_lower_in(lc, 2), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, y);
    int64_t axis = kiln_node_attr_int(lc->n, "axis", -1);
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= r)
        return kiln_lower_unsupported(lc, "axis %lld is out of range for rank %d", (long long)axis,
                                      r);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat, *ii[KILN_MAX_RANK];
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    for (int i = 0, j = 0; i < r; i++)
        if (i != axis)
            ii[j++] = idx[i];
    struct kiln_lx *depth = kiln_lower_dim(lc, y, (int)axis);
    struct kiln_lx *v = kiln_lx_load(lc, ind, kiln_lower_offset(lc, ind, ii, r - 1));
    if (kiln_dtype_is_float(v->type)) /* float indices: truncated, as a cast to int64 */
        v = kiln_lx_cast(lc, KILN_DT_F64, v);
    v = unneg(lc, kiln_lx_cast(lc, KILN_DT_I64, v), depth);
    kiln_lb_store(lc, b, y, flat,
                  sel(lc, cmp(lc, KILN_LX_EQ, v, idx[axis]), kiln_lx_load(lc, vals, imm(lc, 1)),
                      kiln_lx_load(lc, vals, imm(lc, 0))));
    return KILN_OK;
}

/* Trilu: keep j - i >= k (upper) or j - i <= k (lower) on the last two axes. */
enum kiln_status
kiln_lower_trilu(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), ks = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    if (r < 2)
        return kiln_lower_unsupported(lc, "input must have rank >= 2");
    bool upper = kiln_node_attr_int(lc->n, "upper", 1) != 0;
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *k = ks >= 0 ? load_i64(lc, ks, imm(lc, 0)) : imm(lc, 0);
    struct kiln_lx *diff = sub_i(lc, idx[r - 1], idx[r - 2]);
    struct kiln_lx *keep = cmp(lc, upper ? KILN_LX_GE : KILN_LX_LE, diff, k);
    kiln_lb_store(
        lc, b, y, flat,
        sel(lc, keep, kiln_lx_load(lc, x, flat), zero_of(lc, kiln_lower_buf(lc, y)->dtype)));
    return KILN_OK;
}

/* ReverseSequence: along time_axis, the first lens[b] elements reversed. */
enum kiln_status
kiln_lower_reverse_sequence(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), lens = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int64_t ba = kiln_node_attr_int(lc->n, "batch_axis", 1);
    int64_t ta = kiln_node_attr_int(lc->n, "time_axis", 0);
    if (ba < 0)
        ba += r;
    if (ta < 0)
        ta += r;
    if (ba < 0 || ba >= r || ta < 0 || ta >= r || ba == ta)
        return kiln_lower_unsupported(lc, "batch_axis and time_axis must be distinct axes");
    struct kiln_lx *idx[KILN_MAX_RANK], *flat, *xi[KILN_MAX_RANK];
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *t = idx[ta], *T = kiln_lower_dim(lc, x, (int)ta);
    struct kiln_lx *len = max_x(lc, min_x(lc, load_i64(lc, lens, idx[ba]), T), imm(lc, 0));
    for (int i = 0; i < r; i++)
        xi[i] = idx[i];
    xi[ta] = sel(lc, cmp(lc, KILN_LX_LT, t, len), sub_i(lc, sub_i(lc, len, imm(lc, 1)), t), t);
    kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, kiln_lower_offset(lc, x, xi, r)));
    return KILN_OK;
}

/*
 * Compress: the slices of x along axis (of the flattened x without one) whose
 * condition is true, in order. Compiled when the output's size is known (a
 * constant condition, or a size the model declares): one serial pass with a
 * counter fills it; a run whose data selects another number of slices than
 * compiled fails with KILN_RT_ERR_SHAPE (kiln_lower_check).
 */
enum kiln_status
kiln_lower_compress(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), c = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    const struct kiln_attr *aa = kiln_node_attr(lc->n, "axis");
    struct kiln_lx *outer, *d, *inner, *dout;
    if (aa) {
        int64_t axis = kiln_node_attr_int(lc->n, "axis", 0);
        if (axis < 0)
            axis += r;
        if (axis < 0 || axis >= r)
            return kiln_lower_unsupported(lc, "axis %lld is out of range for rank %d",
                                          (long long)axis, r);
        outer = kiln_lower_dims_prod(lc, x, 0, (int)axis);
        d = kiln_lower_dim(lc, x, (int)axis);
        inner = kiln_lower_dims_prod(lc, x, (int)axis + 1, r);
        dout = kiln_lower_dim(lc, y, (int)axis);
    } else {
        outer = inner = imm(lc, 1);
        d = kiln_lower_numel(lc, x);
        dout = kiln_lower_numel(lc, y);
    }
    struct kiln_lblock *body = &lc->k->body;
    int32_t cnt = kiln_lk_var(lc, KILN_DT_I64, "n"), i, o, e;
    kiln_lb_set(lc, body, cnt, imm(lc, 0));
    struct kiln_ls *fi =
        kiln_lb_for(lc, body, "i", imm(lc, 0), min_x(lc, d, kiln_lower_numel(lc, c)), &i);
    struct kiln_lx *vi = kiln_lx_var(lc, i), *vc = kiln_lx_var(lc, cnt);
    /* every selected slice is counted; those that fit the compiled size are copied */
    struct kiln_ls *sel =
        kiln_lb_if(lc, &fi->body, kiln_lx_cast(lc, KILN_DT_BOOL, kiln_lx_load(lc, c, vi)));
    struct kiln_ls *iff = kiln_lb_if(lc, &sel->body, cmp(lc, KILN_LX_LT, vc, dout));
    struct kiln_ls *fo = kiln_lb_for(lc, &iff->body, "o", imm(lc, 0), outer, &o);
    struct kiln_ls *fe = kiln_lb_for(lc, &fo->body, "e", imm(lc, 0), inner, &e);
    struct kiln_lx *vo = kiln_lx_var(lc, o), *ve = kiln_lx_var(lc, e);
    kiln_lb_store(
        lc, &fe->body, y, add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vo, dout), vc), inner), ve),
        kiln_lx_load(lc, x, add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vo, d), vi), inner), ve)));
    kiln_lb_set(lc, &sel->body, cnt, add_i(lc, kiln_lx_var(lc, cnt), imm(lc, 1)));
    /* fewer than compiled: zeros past the end (and the check below fails the run) */
    struct kiln_ls *tz = kiln_lb_for(lc, body, "o", imm(lc, 0), outer, &o);
    struct kiln_ls *tj =
        kiln_lb_for(lc, &tz->body, "i", min_x(lc, kiln_lx_var(lc, cnt), dout), dout, &i);
    struct kiln_ls *te = kiln_lb_for(lc, &tj->body, "e", imm(lc, 0), inner, &e);
    kiln_lb_store(
        lc, &te->body, y,
        add_i(lc,
              mul_i(lc, add_i(lc, mul_i(lc, kiln_lx_var(lc, o), dout), kiln_lx_var(lc, i)), inner),
              kiln_lx_var(lc, e)),
        zero_of(lc, kiln_lower_buf(lc, y)->dtype));
    kiln_lower_check(lc, cmp(lc, KILN_LX_EQ, kiln_lx_var(lc, cnt), dout));
    return KILN_OK;
}

/*
 * NonZero: the indices [rank, nnz] of the non-zero elements in row-major
 * order. Compiled when nnz is known (a constant input, or declared): one
 * serial pass; when the data has another number of non-zeros than compiled,
 * the run fails with KILN_RT_ERR_SHAPE (kiln_lower_check).
 */
enum kiln_status
kiln_lower_nonzero(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    struct kiln_lx *nnz = kiln_lower_dim(lc, y, 1);
    int32_t cnt = kiln_lk_var(lc, KILN_DT_I64, "n");
    kiln_lb_set(lc, &lc->k->body, cnt, imm(lc, 0));
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = serial_loops(lc, &lc->k->body, x, idx, &flat);
    struct kiln_lx *vc = kiln_lx_var(lc, cnt);
    struct kiln_lx *v = kiln_lx_load(lc, x, flat);
    /* every non-zero is counted; those that fit the compiled nnz are written */
    struct kiln_ls *nz = kiln_lb_if(lc, b, kiln_lx_cast(lc, KILN_DT_BOOL, v));
    struct kiln_ls *iff = kiln_lb_if(lc, &nz->body, cmp(lc, KILN_LX_LT, vc, nnz));
    for (int a = 0; a < r; a++)
        kiln_lb_store(lc, &iff->body, y, add_i(lc, mul_i(lc, imm(lc, a), nnz), vc), idx[a]);
    kiln_lb_set(lc, &nz->body, cnt, add_i(lc, kiln_lx_var(lc, cnt), imm(lc, 1)));
    for (int a = 0; a < r; a++) { /* fewer than compiled: zeros (and the check fails) */
        int32_t j;
        struct kiln_ls *fj =
            kiln_lb_for(lc, &lc->k->body, "j", min_x(lc, kiln_lx_var(lc, cnt), nnz), nnz, &j);
        kiln_lb_store(lc, &fj->body, y, add_i(lc, mul_i(lc, imm(lc, a), nnz), kiln_lx_var(lc, j)),
                      imm(lc, 0));
    }
    kiln_lower_check(lc, cmp(lc, KILN_LX_EQ, kiln_lx_var(lc, cnt), nnz));
    return KILN_OK;
}

/* ---------------------------------------------------------------- f64 helpers */

static struct kiln_lx *
fimm(struct kiln_lower_ctx *lc, double v)
{
    return kiln_lx_imm_f(lc, KILN_DT_F64, v);
}

static struct kiln_lx *
fbin(struct kiln_lower_ctx *lc, enum kiln_lx_op op, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, op, a, b);
}

/* a * b where either may be NULL (1). */
static struct kiln_lx *
fmul_opt(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return kiln_lx_binary(lc, KILN_LX_MUL, a, b);
}

/* An i64 (or any numeric) expression as f64. */
static struct kiln_lx *
to_f64(struct kiln_lower_ctx *lc, struct kiln_lx *a)
{
    return kiln_lx_cast(lc, KILN_DT_F64, a);
}

/* Element idx of a float (or any numeric) slot, as f64. */
static struct kiln_lx *
load_f64(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *idx)
{
    return to_f64(lc, kiln_lx_load_f(lc, slot, idx));
}

/* Store an f64 result into a slot of any dtype: integers round half to even
 * and saturate, floats clip to the finite range (as the reference's saturate_cast). */
static void
store_f64(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t y, struct kiln_lx *at,
          struct kiln_lx *v)
{
    enum kiln_dtype dt = kiln_lower_buf(lc, y)->dtype;
    if (kiln_dtype_is_int(dt)) {
        v = kiln_lx_unary(lc, KILN_LX_ROUND, v);
    } else if (dt == KILN_DT_F32 || dt == KILN_DT_F16 || dt == KILN_DT_BF16) {
        double big = dt == KILN_DT_F32   ? 3.4028234663852886e38
                     : dt == KILN_DT_F16 ? 65504.0
                                         : 3.3895313892515355e38;
        v = fbin(lc, KILN_LX_MAX, fbin(lc, KILN_LX_MIN, v, fimm(lc, big)), fimm(lc, -big));
    }
    if (dt == KILN_DT_F16 || dt == KILN_DT_BF16)
        v = kiln_lx_cast(lc, KILN_DT_F32, v); /* narrowed in two steps, through f32 */
    kiln_lb_store(lc, b, y, at, kiln_lx_cast(lc, dt, v));
}

/* ---------------------------------------------------------------- Resize / Upsample */

enum rz_mode { RZ_NEAREST, RZ_LINEAR, RZ_CUBIC };
enum rz_ctm {
    CTM_HALF_PIXEL,
    CTM_HALF_PIXEL_SYMMETRIC,
    CTM_PYTORCH_HALF_PIXEL,
    CTM_ALIGN_CORNERS,
    CTM_ASYMMETRIC,
    CTM_TF_CROP_AND_RESIZE,
    CTM_TF_HALF_PIXEL_FOR_NN,
};
enum rz_nearest { NN_ROUND_PREFER_FLOOR, NN_ROUND_PREFER_CEIL, NN_FLOOR, NN_CEIL, NN_SIMPLE };

struct rz_axis {
    bool active;
    bool known;    /* scale is a compile-time constant */
    double scale;  /* when known */
    double window; /* antialias: the scale (or a lower bound) that sizes the tap window */
    int scale_k;   /* else: entry of the scales input (-1: out / in at run time) */
    int roi_k;     /* entry of roi's start (end at roi_k + roi_n); -1 none */
};

struct rz_params {
    enum rz_mode mode;
    enum rz_ctm ctm;
    enum rz_nearest nearest;
    double cubic_a, extrapolation;
    bool exclude, antialias;
    int scales_in, roi_in, roi_n;
    struct rz_axis ax[KILN_MAX_RANK];
};

static bool
str_pick(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

/* The scale of every axis and which axes actually resize. */
static enum kiln_status
resize_params(struct kiln_lower_ctx *lc, int32_t x, int32_t y, struct rz_params *p)
{
    const struct kiln_node *n = lc->n;
    int r = kiln_lower_rank(lc, x);
    bool up = n->op == KILN_OP_UPSAMPLE, v11 = !up && lc->g->opset >= 11;
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    const char *ms = kiln_node_attr_string(n, "mode", "nearest");
    int mi = 0;
    if (strcmp(ms, "bilinear") == 0)
        mi = RZ_LINEAR;
    else if (!str_pick(ms, modes, 3, &mi))
        return kiln_lower_unsupported(lc, "mode '%s'", ms);
    p->mode = (enum rz_mode)mi;
    static const char *const ctms[] = {
        "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",  "align_corners",
        "asymmetric", "tf_crop_and_resize",   "tf_half_pixel_for_nn"};
    int ci = CTM_ASYMMETRIC, ni = NN_SIMPLE;
    if (v11) {
        const char *cs = kiln_node_attr_string(n, "coordinate_transformation_mode", "half_pixel");
        if (!str_pick(cs, ctms, 7, &ci))
            return kiln_lower_unsupported(lc, "coordinate_transformation_mode '%s'", cs);
        static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                          "ceil"};
        const char *ns = kiln_node_attr_string(n, "nearest_mode", "round_prefer_floor");
        if (!str_pick(ns, nms, 4, &ni))
            return kiln_lower_unsupported(lc, "nearest_mode '%s'", ns);
    }
    p->ctm = (enum rz_ctm)ci;
    p->nearest = (enum rz_nearest)ni;
    p->cubic_a = kiln_node_attr_float(n, "cubic_coeff_a", -0.75f);
    p->extrapolation = kiln_node_attr_float(n, "extrapolation_value", 0.0f);
    p->exclude = kiln_node_attr_int(n, "exclude_outside", 0) != 0;
    p->antialias = kiln_node_attr_int(n, "antialias", 0) != 0 && p->mode != RZ_NEAREST;
    p->scales_in = p->roi_in = -1;
    p->roi_n = 0;

    /* the axes scales and sizes refer to */
    int64_t axes[KILN_MAX_RANK], na = r;
    struct ilist al;
    if (!ilist_attr(lc, "axes", &al) || al.n > r)
        return kiln_lower_unsupported(lc, "too many axes");
    if (al.present) {
        na = al.n;
        memcpy(axes, al.v, (size_t)na * sizeof *axes);
        if (!norm_axes(axes, na, r))
            return kiln_lower_unsupported(lc, "an axis is out of range for rank %d", r);
    } else {
        for (int i = 0; i < r; i++)
            axes[i] = i;
    }
    for (int a = 0; a < r; a++)
        p->ax[a] = (struct rz_axis){.known = true, .scale = 1.0, .scale_k = -1, .roi_k = -1};

    /* where the scales come from */
    int scales_in = -1, sizes_in = -1;
    double ascale[KILN_MAX_RANK];
    bool from_attr = false;
    if (up && lc->g->opset < 7) {
        if (r != 4)
            return kiln_lower_unsupported(lc, "Upsample-1 needs a 4-D input");
        ascale[0] = ascale[1] = 1.0;
        ascale[2] = kiln_node_attr_float(n, "height_scale", 1.0f);
        ascale[3] = kiln_node_attr_float(n, "width_scale", 1.0f);
        from_attr = true;
    } else if (up && lc->g->opset < 9) {
        int64_t k = 0;
        const float *f = kiln_node_attr_floats(n, "scales", &k);
        if (!f || k != r)
            return kiln_lower_unsupported(lc, "scales must have one entry per axis");
        for (int a = 0; a < r; a++)
            ascale[a] = f[a];
        from_attr = true;
    } else if (!v11) {
        scales_in = 1;
    } else {
        if (in_len(lc, 1) > 0)
            p->roi_in = 1;
        if (in_len(lc, 3) > 0 || (has_in(lc, 3) && in_len(lc, 3) < 0))
            sizes_in = 3;
        else
            scales_in = 2;
    }
    if (from_attr) {
        for (int a = 0; a < r; a++)
            p->ax[a].scale = ascale[a];
    } else if (sizes_in >= 0) {
        const char *pol = kiln_node_attr_string(n, "keep_aspect_ratio_policy", "stretch");
        if (strcmp(pol, "stretch") == 0) {
            for (int64_t k = 0; k < na; k++) {
                struct rz_axis *ra = &p->ax[axes[k]];
                int64_t iv, ov;
                struct kiln_lx *id = kiln_lower_dim(lc, x, (int)axes[k]);
                struct kiln_lx *od = kiln_lower_dim(lc, y, (int)axes[k]);
                if (imm_value(id, &iv) && imm_value(od, &ov)) {
                    ra->scale = (double)ov / (double)iv;
                } else if (kiln_lx_equal(id, od)) {
                    ra->scale = 1.0;
                } else {
                    ra->known = false; /* out / in at run time */
                }
            }
        } else {
            struct ilist sz;
            if (!ilist_input(lc, sizes_in, &sz) || !sz.known || sz.n != na)
                return kiln_lower_unsupported(lc,
                                              "keep_aspect_ratio_policy '%s' depends on the "
                                              "values of sizes, which must be a constant",
                                              pol);
            bool larger = strcmp(pol, "not_smaller") == 0;
            double s = larger ? 0.0 : __builtin_inf();
            for (int64_t k = 0; k < na; k++) {
                int64_t iv;
                if (!imm_value(kiln_lower_dim(lc, x, (int)axes[k]), &iv))
                    return kiln_lower_unsupported(lc,
                                                  "keep_aspect_ratio_policy '%s' needs "
                                                  "static input dims",
                                                  pol);
                double q = (double)sz.v[k] / (double)iv;
                s = larger ? (q > s ? q : s) : (q < s ? q : s);
            }
            for (int64_t k = 0; k < na; k++)
                p->ax[axes[k]].scale = s;
        }
    } else {
        int64_t len = in_len(lc, scales_in);
        if (len != na)
            return kiln_lower_unsupported(lc, "scales must have a static length of %lld",
                                          (long long)na);
        p->scales_in = scales_in;
        const struct kiln_tensor *t = kiln_lower_const_in(lc, scales_in);
        for (int64_t k = 0; k < na; k++) {
            struct rz_axis *ra = &p->ax[axes[k]];
            double v;
            if (t && kiln_tensor_get_f64(t, k, &v)) {
                ra->scale = v;
            } else {
                ra->known = false;
                ra->scale_k = (int)k;
            }
        }
    }
    if (p->roi_in >= 0) {
        if (in_len(lc, p->roi_in) != 2 * na)
            return kiln_lower_unsupported(lc, "roi must have 2 entries per axis");
        p->roi_n = (int)na;
        for (int64_t k = 0; k < na; k++)
            p->ax[axes[k]].roi_k = (int)k;
    }
    for (int a = 0; a < r; a++) {
        struct rz_axis *ra = &p->ax[a];
        bool same = kiln_lx_equal(kiln_lower_dim(lc, x, a), kiln_lower_dim(lc, y, a));
        bool roi_default = ra->roi_k < 0 || p->ctm != CTM_TF_CROP_AND_RESIZE;
        if (ra->known && ra->scale <= 0)
            return kiln_lower_unsupported(lc, "scale of axis %d is %g; it must be > 0", a,
                                          ra->scale);
        ra->active = !(ra->known && ra->scale == 1.0 && same && roi_default);
        /* antialias widens the window by 1 / scale: a scale read at run time needs a
         * bound, out / in <= scale (out = floor(scale * in)), so the window is wide
         * enough; the taps it adds have weight 0 */
        int64_t iv, ov;
        ra->window = ra->scale;
        if (ra->active && p->antialias && !ra->known) {
            if (!imm_value(kiln_lower_dim(lc, x, a), &iv) ||
                !imm_value(kiln_lower_dim(lc, y, a), &ov) || iv <= 0 || ov <= 0)
                return kiln_lower_unsupported(lc, "antialias depends on the values of scales, "
                                                  "which must be a constant, or on static dims");
            ra->window = (double)ov / (double)iv;
        }
    }
    return KILN_OK;
}

/* Cubic convolution kernel at t >= 0 with coefficient A. */
static struct kiln_lx *
cubic_kernel(struct kiln_lower_ctx *lc, struct kiln_lx *t, double A)
{
    struct kiln_lx *t2 = fbin(lc, KILN_LX_MUL, t, t);
    struct kiln_lx *near = fbin(
        lc, KILN_LX_ADD,
        fbin(lc, KILN_LX_MUL,
             fbin(lc, KILN_LX_SUB, fbin(lc, KILN_LX_MUL, fimm(lc, A + 2), t), fimm(lc, A + 3)), t2),
        fimm(lc, 1.0));
    struct kiln_lx *far = fbin(
        lc, KILN_LX_SUB,
        fbin(
            lc, KILN_LX_MUL,
            fbin(lc, KILN_LX_ADD,
                 fbin(lc, KILN_LX_MUL,
                      fbin(lc, KILN_LX_SUB, fbin(lc, KILN_LX_MUL, fimm(lc, A), t), fimm(lc, 5 * A)),
                      t),
                 fimm(lc, 8 * A)),
            t),
        fimm(lc, 4 * A));
    return sel(lc, cmp(lc, KILN_LX_LE, t, fimm(lc, 1.0)), near,
               sel(lc, cmp(lc, KILN_LX_LT, t, fimm(lc, 2.0)), far, fimm(lc, 0.0)));
}

/* Per active axis, what the interpolation needs (variables of the element's block). */
struct rz_tap {
    struct kiln_lx *base;  /* i64: the tap window starts at base + start */
    struct kiln_lx *ratio; /* f64 in (0, 1] */
    int64_t start, n;      /* taps [start, start + n) relative to base */
    struct kiln_lx *sc;    /* kernel scale: min(scale, 1) with antialias, else NULL (1) */
    struct kiln_lx *sum;   /* f64 normalizer, or NULL */
};

static struct kiln_lx *
rz_weight(struct kiln_lower_ctx *lc, const struct rz_params *p, const struct rz_tap *tp,
          struct kiln_lx *k)
{
    struct kiln_lx *d =
        fbin(lc, KILN_LX_SUB, to_f64(lc, add_i(lc, imm(lc, tp->start), k)), tp->ratio);
    if (tp->sc)
        d = fbin(lc, KILN_LX_MUL, d, tp->sc);
    struct kiln_lx *t = kiln_lx_unary(lc, KILN_LX_ABS, d);
    if (p->mode == RZ_CUBIC)
        return cubic_kernel(lc, t, p->cubic_a);
    return fbin(lc, KILN_LX_MAX, fbin(lc, KILN_LX_SUB, fimm(lc, 1.0), t), fimm(lc, 0.0));
}

enum kiln_status
kiln_lower_resize(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    struct rz_params p;
    enum kiln_status st = resize_params(lc, x, y, &p);
    if (st != KILN_OK)
        return st;
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *xi[KILN_MAX_RANK], *extrap = NULL, *inside = NULL;
    struct rz_tap taps[KILN_MAX_RANK];
    uint64_t active = 0; /* the other axes copy the output's index */
    for (int a = 0; a < r; a++) {
        xi[a] = idx[a];
        const struct rz_axis *ra = &p.ax[a];
        if (!ra->active)
            continue;
        active |= UINT64_C(1) << a;
        if (p.mode == RZ_NEAREST && p.ctm == CTM_ASYMMETRIC && p.nearest == NN_FLOOR && ra->known &&
            ra->scale >= 1.0 && ra->scale == floor(ra->scale) && ra->scale <= 64 && !p.exclude) {
            /* an integral upscale, asymmetric, floor: source index y / k, no
             * float arithmetic (it is in range: y < k * in) */
            xi[a] = let(lc, b, "ix", div_i(lc, idx[a], imm(lc, (int64_t)ra->scale)));
            continue;
        }
        struct kiln_lx *inw = to_f64(lc, kiln_lower_dim(lc, x, a));
        struct kiln_lx *outi = to_f64(lc, kiln_lower_dim(lc, y, a));
        struct kiln_lx *sc =
            ra->known          ? fimm(lc, ra->scale)
            : ra->scale_k >= 0 ? load_f64(lc, kiln_lower_in(lc, p.scales_in), imm(lc, ra->scale_k))
                               : fbin(lc, KILN_LX_DIV, outi, inw);
        sc = let(lc, b, "scale", sc);
        struct kiln_lx *yf = to_f64(lc, idx[a]);
        struct kiln_lx *outw = fbin(lc, KILN_LX_MUL, sc, inw);
        struct kiln_lx *one = fimm(lc, 1.0), *half = fimm(lc, 0.5);
        struct kiln_lx *hp =
            fbin(lc, KILN_LX_SUB, fbin(lc, KILN_LX_DIV, fbin(lc, KILN_LX_ADD, yf, half), sc), half);
        struct kiln_lx *xo = NULL;
        switch (p.ctm) {
        case CTM_HALF_PIXEL:
            xo = hp;
            break;
        case CTM_HALF_PIXEL_SYMMETRIC: {
            struct kiln_lx *adj = fbin(lc, KILN_LX_DIV, outi, outw);
            struct kiln_lx *off = fbin(lc, KILN_LX_MUL, fbin(lc, KILN_LX_DIV, inw, fimm(lc, 2.0)),
                                       fbin(lc, KILN_LX_SUB, one, adj));
            xo = fbin(lc, KILN_LX_ADD, off, hp);
            break;
        }
        case CTM_PYTORCH_HALF_PIXEL:
            xo = sel(lc, cmp(lc, KILN_LX_EQ, outw, one), fimm(lc, -0.5), hp);
            break;
        case CTM_ALIGN_CORNERS:
            xo = sel(lc, cmp(lc, KILN_LX_EQ, outw, one), fimm(lc, 0.0),
                     fbin(lc, KILN_LX_DIV,
                          fbin(lc, KILN_LX_MUL, yf, fbin(lc, KILN_LX_SUB, inw, one)),
                          fbin(lc, KILN_LX_SUB, outw, one)));
            break;
        case CTM_ASYMMETRIC:
            xo = fbin(lc, KILN_LX_DIV, yf, sc);
            break;
        case CTM_TF_HALF_PIXEL_FOR_NN:
            xo = fbin(lc, KILN_LX_DIV, fbin(lc, KILN_LX_ADD, yf, half), sc);
            break;
        case CTM_TF_CROP_AND_RESIZE: {
            struct kiln_lx *r0 = fimm(lc, 0.0), *r1 = one;
            if (ra->roi_k >= 0) {
                int32_t roi = kiln_lower_in(lc, p.roi_in);
                r0 = load_f64(lc, roi, imm(lc, ra->roi_k));
                r1 = load_f64(lc, roi, imm(lc, ra->roi_k + p.roi_n));
            }
            struct kiln_lx *span = fbin(lc, KILN_LX_MUL, fbin(lc, KILN_LX_SUB, r1, r0),
                                        fbin(lc, KILN_LX_SUB, inw, one));
            xo = sel(lc, cmp(lc, KILN_LX_EQ, outw, one), fbin(lc, KILN_LX_DIV, span, fimm(lc, 2.0)),
                     fbin(lc, KILN_LX_DIV, fbin(lc, KILN_LX_MUL, yf, span),
                          fbin(lc, KILN_LX_SUB, outw, one)));
            xo = fbin(lc, KILN_LX_ADD, xo,
                      fbin(lc, KILN_LX_MUL, r0, fbin(lc, KILN_LX_SUB, inw, one)));
            break;
        }
        }
        xo = let(lc, b, "x", xo);
        if (p.ctm == CTM_TF_CROP_AND_RESIZE) {
            struct kiln_lx *out =
                kiln_lx_binary(lc, KILN_LX_OR, cmp(lc, KILN_LX_LT, xo, fimm(lc, 0.0)),
                               cmp(lc, KILN_LX_GT, xo, fbin(lc, KILN_LX_SUB, inw, one)));
            extrap = extrap ? kiln_lx_binary(lc, KILN_LX_OR, extrap, out) : out;
        }
        struct kiln_lx *fl = kiln_lx_unary(lc, KILN_LX_FLOOR, xo);
        struct kiln_lx *isint = cmp(lc, KILN_LX_EQ, xo, fl);
        struct kiln_lx *ratio =
            let(lc, b, "ratio", sel(lc, isint, one, fbin(lc, KILN_LX_SUB, xo, fl)));
        struct kiln_lx *d = kiln_lower_dim(lc, x, a);
        if (p.mode == RZ_NEAREST) {
            struct kiln_lx *upc;
            switch (p.nearest) {
            case NN_ROUND_PREFER_FLOOR:
                upc = cmp(lc, KILN_LX_GT, ratio, half);
                break;
            case NN_ROUND_PREFER_CEIL:
                upc = cmp(lc, KILN_LX_GE, ratio, half);
                break;
            case NN_FLOOR:
                upc = kiln_lx_imm_i(lc, KILN_DT_BOOL, 0);
                break;
            case NN_CEIL:
                upc = kiln_lx_imm_i(lc, KILN_DT_BOOL, 1);
                break;
            default: /* Resize-10 / Upsample: ceil when downsampling, else floor */
                upc = cmp(lc, KILN_LX_LT, sc, one);
                break;
            }
            struct kiln_lx *fi = kiln_lx_cast(lc, KILN_DT_I64, fl);
            struct kiln_lx *i =
                sel(lc, isint, fi, add_i(lc, fi, kiln_lx_cast(lc, KILN_DT_I64, upc)));
            if (p.exclude) /* the pixel's weight is 0 when it is outside */
                inside = and_c(lc, inside, in_range(lc, i, imm(lc, 0), d));
            xi[a] = let(lc, b, "ix", clamp_index(lc, i, d));
            continue;
        }
        struct rz_tap *tp = &taps[a];
        tp->ratio = ratio;
        tp->base =
            let(lc, b, "base", kiln_lx_cast(lc, KILN_DT_I64, fbin(lc, KILN_LX_SUB, xo, ratio)));
        tp->sc = NULL;
        double support = p.mode == RZ_CUBIC ? 2.0 : 1.0;
        tp->start = p.mode == RZ_CUBIC ? -1 : 0;
        if (p.antialias && ra->window < 1.0) {
            tp->sc = ra->known ? fimm(lc, ra->scale) : fbin(lc, KILN_LX_MIN, sc, one);
            tp->start = (int64_t)floor(-support / ra->window) + 1;
        }
        tp->n = 2 - 2 * tp->start;
        tp->sum = NULL;
        if (p.antialias || p.exclude) {
            int32_t s = kiln_lk_var(lc, KILN_DT_F64, "wsum"), k;
            kiln_lb_set(lc, b, s, fimm(lc, 0.0));
            struct kiln_ls *fk = kiln_lb_for(lc, b, "t", imm(lc, 0), imm(lc, tp->n), &k);
            struct kiln_lx *vk = kiln_lx_var(lc, k), *w = rz_weight(lc, &p, tp, vk);
            if (p.exclude) {
                struct kiln_lx *ti = add_i(lc, add_i(lc, tp->base, imm(lc, tp->start)), vk);
                w = sel(lc, in_range(lc, ti, imm(lc, 0), d), w, fimm(lc, 0.0));
            }
            kiln_lb_set(lc, &fk->body, s, fbin(lc, KILN_LX_ADD, kiln_lx_var(lc, s), w));
            struct kiln_lx *sv = kiln_lx_var(lc, s);
            tp->sum = sel(lc, cmp(lc, KILN_LX_EQ, sv, fimm(lc, 0.0)), one, sv);
        }
    }
    enum kiln_dtype dt = kiln_lower_buf(lc, y)->dtype;
    if (p.mode == RZ_NEAREST) {
        struct kiln_lx *ev = const_of(lc, dt, p.extrapolation);
        if (extrap) {
            struct kiln_ls *iff = kiln_lb_if(lc, b, extrap);
            kiln_lb_store(lc, &iff->body, y, flat, ev);
            b = &iff->orelse;
        }
        store_from(lc, b, y, flat, x, xi, inside, zero_of(lc, dt), active);
        return KILN_OK;
    }
    /* an empty input has no taps to load (the output is then empty too, unless the
     * model is malformed): keep the loads out of reach */
    struct kiln_lx *guard = positive_dims(lc, x, active);
    if (guard) {
        struct kiln_ls *iff = kiln_lb_if(lc, b, guard);
        kiln_lb_store(lc, &iff->orelse, y, flat, zero_of(lc, kiln_lower_buf(lc, y)->dtype));
        b = &iff->body;
    }
    /* sum over the taps of every active axis of the weights' product times x */
    int32_t acc = kiln_lk_var(lc, KILN_DT_F64, "acc");
    kiln_lb_set(lc, b, acc, fimm(lc, 0.0));
    struct kiln_lblock *inner = b;
    struct kiln_lx *w = NULL, *norm = NULL;
    for (int a = 0; a < r; a++) {
        if (!p.ax[a].active)
            continue;
        struct rz_tap *tp = &taps[a];
        int32_t k;
        struct kiln_ls *fk = kiln_lb_for(lc, inner, "t", imm(lc, 0), imm(lc, tp->n), &k);
        inner = &fk->body;
        struct kiln_lx *vk = kiln_lx_var(lc, k), *d = kiln_lower_dim(lc, x, a);
        struct kiln_lx *ti = add_i(lc, add_i(lc, tp->base, imm(lc, tp->start)), vk);
        struct kiln_lx *wa = rz_weight(lc, &p, tp, vk);
        if (p.exclude)
            wa = sel(lc, in_range(lc, ti, imm(lc, 0), d), wa, fimm(lc, 0.0));
        w = fmul_opt(lc, w, wa);
        norm = fmul_opt(lc, norm, tp->sum);
        xi[a] = clamp_index(lc, ti, d);
    }
    struct kiln_lx *v = load_f64(lc, x, kiln_lower_offset(lc, x, xi, r));
    kiln_lb_set(lc, inner, acc, fbin(lc, KILN_LX_ADD, kiln_lx_var(lc, acc), fmul_opt(lc, w, v)));
    struct kiln_lx *res = kiln_lx_var(lc, acc);
    if (norm)
        res = fbin(lc, KILN_LX_DIV, res, norm);
    if (extrap)
        res = sel(lc, extrap, fimm(lc, p.extrapolation), res);
    store_f64(lc, b, y, flat, res);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Col2Im */

/*
 * Col2Im: y[n, c, p..] sums x[n, c * K + kk, col] over the block offsets kk
 * whose column position col lands on p (p = col * stride - pad + kk * dil).
 */
enum kiln_status
kiln_lower_col2im(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, y), k = r - 2;
    struct ilist blk;
    if (k < 1 || !ilist_input(lc, 2, &blk) || !blk.known || blk.n != k)
        return kiln_lower_unsupported(lc, "the lowering depends on the values of block_shape, "
                                          "which must be a constant");
    int64_t nd = 0, np = 0, ns = 0;
    const int64_t *dil = kiln_node_attr_ints(lc->n, "dilations", &nd);
    const int64_t *pads = kiln_node_attr_ints(lc->n, "pads", &np);
    const int64_t *str = kiln_node_attr_ints(lc->n, "strides", &ns);
    if ((dil && nd != k) || (pads && np != 2 * k) || (str && ns != k))
        return kiln_lower_unsupported(lc, "dilations, pads and strides need one entry per axis");
    int64_t K = 1;
    for (int i = 0; i < k; i++)
        K *= blk.v[i];
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, b, acc, kiln_lx_imm_f(lc, ct, 0));
    struct kiln_lblock *in = b;
    struct kiln_lx *kk = imm(lc, 0), *col = imm(lc, 0), *ok = NULL;
    for (int i = 0; i < k; i++) {
        int64_t s = str ? str[i] : 1, dl = dil ? dil[i] : 1, pb = pads ? pads[i] : 0;
        int64_t pe = pads ? pads[i + k] : 0;
        int32_t v;
        struct kiln_ls *f = kiln_lb_for(lc, in, "k", imm(lc, 0), imm(lc, blk.v[i]), &v);
        in = &f->body;
        struct kiln_lx *vk = kiln_lx_var(lc, v), *img = kiln_lower_dim(lc, y, i + 2);
        struct kiln_lx *ncol = add_i(
            lc,
            div_i(lc, sub_i(lc, add_i(lc, img, imm(lc, pb + pe)), imm(lc, dl * (blk.v[i] - 1) + 1)),
                  imm(lc, s)),
            imm(lc, 1));
        struct kiln_lx *num =
            sub_i(lc, add_i(lc, idx[i + 2], imm(lc, pb)), mul_i(lc, vk, imm(lc, dl)));
        struct kiln_lx *ci = div_i(lc, num, imm(lc, s));
        ok = and_c(lc, ok, cmp(lc, KILN_LX_GE, num, imm(lc, 0)));
        if (s != 1)
            ok = and_c(lc, ok, cmp(lc, KILN_LX_EQ, rem_i(lc, num, imm(lc, s)), imm(lc, 0)));
        ok = and_c(lc, ok, cmp(lc, KILN_LX_LT, ci, ncol));
        kk = add_i(lc, mul_i(lc, kk, imm(lc, blk.v[i])), vk);
        col = add_i(lc, mul_i(lc, col, ncol), ci);
    }
    struct kiln_lx *xi[3] = {idx[0], add_i(lc, mul_i(lc, idx[1], imm(lc, K)), kk), col};
    struct kiln_ls *iff = kiln_lb_if(lc, in, ok);
    kiln_lb_set(lc, &iff->body, acc,
                kiln_lx_binary(lc, KILN_LX_ADD, kiln_lx_var(lc, acc),
                               kiln_lx_load_f(lc, x, kiln_lower_offset(lc, x, xi, 3))));
    kiln_lb_store_f(lc, b, y, flat, kiln_lx_var(lc, acc));
    return KILN_OK;
}

/* ---------------------------------------------------------------- AffineGrid / GridSample */

/* Normalized coordinate of position i in an axis of size s: the centers of s
 * cells spanning [-1, 1] (or its corners with align_corners). */
static struct kiln_lx *
affine_base(struct kiln_lower_ctx *lc, struct kiln_lx *i, struct kiln_lx *s, bool align)
{
    struct kiln_lx *fi = to_f64(lc, i), *fs = to_f64(lc, s), *one = fimm(lc, 1.0);
    if (align) {
        struct kiln_lx *den = fbin(lc, KILN_LX_SUB, fs, one);
        struct kiln_lx *v =
            fbin(lc, KILN_LX_SUB,
                 fbin(lc, KILN_LX_DIV, fbin(lc, KILN_LX_MUL, fi, fimm(lc, 2.0)), den), one);
        return sel(lc, cmp(lc, KILN_LX_LE, s, imm(lc, 1)), fimm(lc, -1.0), v);
    }
    return fbin(lc, KILN_LX_SUB,
                fbin(lc, KILN_LX_DIV,
                     fbin(lc, KILN_LX_ADD, fbin(lc, KILN_LX_MUL, fi, fimm(lc, 2.0)), one), fs),
                one);
}

/* AffineGrid: y[n, (d,) h, w, j] = theta[n, j, :] . (x_w, y_h, (z_d,) 1). */
enum kiln_status
kiln_lower_affine_grid(struct kiln_lower_ctx *lc)
{
    int32_t th = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, y), sp = r - 2;
    if (sp != 2 && sp != 3)
        return kiln_lower_unsupported(lc, "the grid must be 2-D or 3-D");
    bool align = kiln_node_attr_int(lc->n, "align_corners", 0) != 0;
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *j = idx[r - 1];
    /* theta row j: [n, j, 0..sp] with sp + 1 columns */
    struct kiln_lx *row = mul_i(lc, add_i(lc, mul_i(lc, idx[0], imm(lc, sp)), j), imm(lc, sp + 1));
    struct kiln_lx *v = load_f64(lc, th, add_i(lc, row, imm(lc, sp)));
    for (int c = 0; c < sp; c++) {
        int axis = sp - c; /* column c multiplies the coordinate of axis (w, h, d) */
        struct kiln_lx *g = affine_base(lc, idx[axis], kiln_lower_dim(lc, y, axis), align);
        v = fbin(lc, KILN_LX_ADD, v,
                 fbin(lc, KILN_LX_MUL, load_f64(lc, th, add_i(lc, row, imm(lc, c))), g));
    }
    store_f64(lc, b, y, flat, v);
    return KILN_OK;
}

/* Reflect x into [lo, hi] by the nearer border, repeatedly (GridSample). */
static struct kiln_lx *
gs_reflect(struct kiln_lower_ctx *lc, struct kiln_lx *x, struct kiln_lx *lo, struct kiln_lx *hi)
{
    struct kiln_lx *rng = fbin(lc, KILN_LX_SUB, hi, lo);
    struct kiln_lx *below = cmp(lc, KILN_LX_LT, x, lo), *above = cmp(lc, KILN_LX_GT, x, hi);
    struct kiln_lx *dx = sel(lc, below, fbin(lc, KILN_LX_SUB, lo, x), fbin(lc, KILN_LX_SUB, x, hi));
    struct kiln_lx *n = kiln_lx_cast(lc, KILN_DT_I64, fbin(lc, KILN_LX_DIV, dx, rng));
    struct kiln_lx *rm = fbin(lc, KILN_LX_SUB, dx, fbin(lc, KILN_LX_MUL, to_f64(lc, n), rng));
    struct kiln_lx *even = cmp(lc, KILN_LX_EQ, rem_i(lc, n, imm(lc, 2)), imm(lc, 0));
    struct kiln_lx *lo_r = fbin(lc, KILN_LX_ADD, lo, rm), *hi_r = fbin(lc, KILN_LX_SUB, hi, rm);
    struct kiln_lx *v =
        sel(lc, below, sel(lc, even, lo_r, hi_r), sel(lc, above, sel(lc, even, hi_r, lo_r), x));
    return sel(lc, cmp(lc, KILN_LX_GT, rng, fimm(lc, 0.0)), v, lo);
}

enum gs_pad { GS_ZEROS, GS_BORDER, GS_REFLECTION };

/*
 * GridSample: y[n, c, o..] samples x[n, c] at the point grid[n, o..] (normalized
 * to [-1, 1], last component first), nearest, (multi)linear or cubic, with
 * zeros/border/reflection outside.
 */
enum kiln_status
kiln_lower_grid_sample(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), gr = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x), sp = r - 2;
    if (sp < 1 || kiln_lower_rank(lc, gr) != r)
        return kiln_lower_unsupported(lc, "grid must have rank %d", r);
    const char *ms =
        kiln_node_attr_string(lc->n, "mode", lc->g->opset < 20 ? "bilinear" : "linear");
    enum rz_mode mode = RZ_LINEAR;
    if (strcmp(ms, "nearest") == 0)
        mode = RZ_NEAREST;
    else if (strcmp(ms, "cubic") == 0 || strcmp(ms, "bicubic") == 0)
        mode = RZ_CUBIC;
    else if (strcmp(ms, "linear") != 0 && strcmp(ms, "bilinear") != 0)
        return kiln_lower_unsupported(lc, "mode '%s'", ms);
    const char *ps = kiln_node_attr_string(lc->n, "padding_mode", "zeros");
    enum gs_pad pad = strcmp(ps, "border") == 0       ? GS_BORDER
                      : strcmp(ps, "reflection") == 0 ? GS_REFLECTION
                                                      : GS_ZEROS;
    bool align = kiln_node_attr_int(lc->n, "align_corners", 0) != 0;
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *guard = positive_dims(lc, x, ~UINT64_C(3)); /* n, c: the output's */
    if (guard) {
        struct kiln_ls *iff = kiln_lb_if(lc, b, guard);
        kiln_lb_store(lc, &iff->orelse, y, flat, zero_of(lc, kiln_lower_buf(lc, y)->dtype));
        b = &iff->body;
    }
    struct kiln_lx *one = fimm(lc, 1.0), *half = fimm(lc, 0.5);
    struct kiln_lx *pos[KILN_MAX_RANK], *lo[KILN_MAX_RANK], *hi[KILN_MAX_RANK];
    for (int i = 0; i < sp; i++) {
        struct kiln_lx *d = to_f64(lc, kiln_lower_dim(lc, x, i + 2));
        /* grid [N, O1..Ok, k]: the output's spatial indices, then the component */
        struct kiln_lx *gv[KILN_MAX_RANK + 1];
        gv[0] = idx[0];
        for (int t = 0; t < sp; t++)
            gv[t + 1] = idx[t + 2];
        gv[sp + 1] = imm(lc, sp - 1 - i);
        struct kiln_lx *nv = load_f64(lc, gr, kiln_lower_offset(lc, gr, gv, sp + 2));
        struct kiln_lx *p;
        if (align) {
            p = fbin(lc, KILN_LX_MUL,
                     fbin(lc, KILN_LX_DIV, fbin(lc, KILN_LX_ADD, nv, one), fimm(lc, 2.0)),
                     fbin(lc, KILN_LX_SUB, d, one));
            lo[i] = fimm(lc, 0.0);
            hi[i] = fbin(lc, KILN_LX_SUB, d, one);
        } else {
            p = fbin(lc, KILN_LX_DIV,
                     fbin(lc, KILN_LX_SUB, fbin(lc, KILN_LX_MUL, fbin(lc, KILN_LX_ADD, nv, one), d),
                          one),
                     fimm(lc, 2.0));
            lo[i] = fimm(lc, -0.5);
            hi[i] = fbin(lc, KILN_LX_SUB, d, half);
        }
        if (mode == RZ_NEAREST)
            p = kiln_lx_unary(lc, KILN_LX_ROUND, p);
        p = let(lc, b, "p", p);
        if (pad == GS_BORDER) {
            struct kiln_lx *out = kiln_lx_binary(lc, KILN_LX_OR, cmp(lc, KILN_LX_LT, p, lo[i]),
                                                 cmp(lc, KILN_LX_GT, p, hi[i]));
            p = sel(lc, out,
                    fbin(lc, KILN_LX_MAX, fbin(lc, KILN_LX_MIN, p, fbin(lc, KILN_LX_SUB, d, one)),
                         fimm(lc, 0.0)),
                    p);
        } else if (pad == GS_REFLECTION) {
            p = gs_reflect(lc, p, lo[i], hi[i]);
        }
        pos[i] = let(lc, b, "p", p);
    }
    /* the value of x[n, c] at integer position ii (per axis), with padding */
    struct kiln_lx *xi[KILN_MAX_RANK], *ok = NULL;
    xi[0] = idx[0];
    xi[1] = idx[1];
    if (mode == RZ_NEAREST) {
        for (int i = 0; i < sp; i++) {
            struct kiln_lx *d = kiln_lower_dim(lc, x, i + 2);
            struct kiln_lx *ii = kiln_lx_cast(lc, KILN_DT_I64, pos[i]);
            if (pad == GS_ZEROS)
                ok = and_c(lc, ok, in_range(lc, ii, imm(lc, 0), d));
            else if (pad == GS_REFLECTION)
                ii = kiln_lx_cast(lc, KILN_DT_I64, gs_reflect(lc, to_f64(lc, ii), lo[i], hi[i]));
            xi[i + 2] = clamp_index(lc, ii, d);
        }
        struct kiln_lx *v = kiln_lx_load(lc, x, kiln_lower_offset(lc, x, xi, r));
        if (ok)
            v = sel(lc, ok, v, zero_of(lc, v->type));
        kiln_lb_store(lc, b, y, flat, v);
        return KILN_OK;
    }
    int32_t acc = kiln_lk_var(lc, KILN_DT_F64, "acc");
    kiln_lb_set(lc, b, acc, fimm(lc, 0.0));
    struct kiln_lblock *in = b;
    struct kiln_lx *w = one;
    int64_t start = mode == RZ_CUBIC ? -1 : 0, n = mode == RZ_CUBIC ? 4 : 2;
    struct kiln_lx *ratios[KILN_MAX_RANK], *bases[KILN_MAX_RANK];
    for (int i = 0; i < sp; i++) { /* all set before the tap loops start */
        struct kiln_lx *fl = kiln_lx_unary(lc, KILN_LX_FLOOR, pos[i]);
        ratios[i] = let(lc, b, "ratio", fbin(lc, KILN_LX_SUB, pos[i], fl));
        bases[i] = let(lc, b, "base", kiln_lx_cast(lc, KILN_DT_I64, fl));
    }
    for (int i = 0; i < sp; i++) {
        struct kiln_lx *d = kiln_lower_dim(lc, x, i + 2);
        struct kiln_lx *ratio = ratios[i], *base = bases[i];
        int32_t kv;
        struct kiln_ls *fk = kiln_lb_for(lc, in, "t", imm(lc, 0), imm(lc, n), &kv);
        in = &fk->body;
        struct kiln_lx *vk = kiln_lx_var(lc, kv);
        struct kiln_lx *dist =
            kiln_lx_unary(lc, KILN_LX_ABS,
                          fbin(lc, KILN_LX_SUB, to_f64(lc, add_i(lc, imm(lc, start), vk)), ratio));
        struct kiln_lx *wa =
            mode == RZ_CUBIC
                ? cubic_kernel(lc, dist, -0.75)
                : fbin(lc, KILN_LX_MAX, fbin(lc, KILN_LX_SUB, one, dist), fimm(lc, 0.0));
        w = fbin(lc, KILN_LX_MUL, w, wa);
        struct kiln_lx *ii = add_i(lc, add_i(lc, base, imm(lc, start)), vk);
        if (pad == GS_ZEROS)
            ok = and_c(lc, ok, in_range(lc, ii, imm(lc, 0), d));
        else if (pad == GS_REFLECTION)
            ii = kiln_lx_cast(lc, KILN_DT_I64, gs_reflect(lc, to_f64(lc, ii), lo[i], hi[i]));
        xi[i + 2] = clamp_index(lc, ii, d);
    }
    struct kiln_lx *v = load_f64(lc, x, kiln_lower_offset(lc, x, xi, r));
    if (ok)
        v = sel(lc, ok, v, fimm(lc, 0.0));
    kiln_lb_set(lc, in, acc,
                fbin(lc, KILN_LX_ADD, kiln_lx_var(lc, acc), fbin(lc, KILN_LX_MUL, w, v)));
    store_f64(lc, b, y, flat, kiln_lx_var(lc, acc));
    return KILN_OK;
}

/* ---------------------------------------------------------------- RoiAlign / MaxRoiPool */

/*
 * RoiAlign: y[r, c, ph, pw] averages (or maxes) bilinear samples of
 * x[batch[r], c] on a grid inside bin (ph, pw) of roi r, as the reference
 * (Caffe2/ORT) does: samples outside [-1, size] count as 0, the grid is
 * sampling_ratio or ceil(roi size / bins) per axis.
 */
enum kiln_status
kiln_lower_roi_align(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), rois = kiln_lower_in(lc, 1), bi = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    if (kiln_lower_rank(lc, x) != 4)
        return kiln_lower_unsupported(lc, "input must have rank 4");
    bool maxm = strcmp(kiln_node_attr_string(lc->n, "mode", "avg"), "max") == 0;
    int64_t sr = kiln_node_attr_int(lc->n, "sampling_ratio", 0);
    double scale = kiln_node_attr_float(lc->n, "spatial_scale", 1.0f);
    bool hp = lc->g->opset >= 16 &&
              strcmp(kiln_node_attr_string(lc->n, "coordinate_transformation_mode", "half_pixel"),
                     "half_pixel") == 0;
    struct kiln_lx *idx[4], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *guard = positive_dims(lc, x, 13); /* batch, h, w: computed */
    if (guard) {
        struct kiln_ls *iff = kiln_lb_if(lc, b, guard);
        kiln_lb_store(lc, &iff->orelse, y, flat, zero_of(lc, kiln_lower_buf(lc, y)->dtype));
        b = &iff->body;
    }
    struct kiln_lx *H = kiln_lower_dim(lc, x, 2), *W = kiln_lower_dim(lc, x, 3);
    struct kiln_lx *fH = to_f64(lc, H), *fW = to_f64(lc, W);
    struct kiln_lx *PH = to_f64(lc, kiln_lower_dim(lc, y, 2)),
                   *PW = to_f64(lc, kiln_lower_dim(lc, y, 3));
    struct kiln_lx *rr = mul_i(lc, idx[0], kiln_lower_dim(lc, rois, 1));
    struct kiln_lx *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = fbin(
            lc, KILN_LX_SUB,
            fbin(lc, KILN_LX_MUL, load_f64(lc, rois, add_i(lc, rr, imm(lc, i))), fimm(lc, scale)),
            fimm(lc, hp ? 0.5 : 0.0));
    struct kiln_lx *sw = let(lc, b, "x0", c[0]), *sh = let(lc, b, "y0", c[1]);
    struct kiln_lx *rw = fbin(lc, KILN_LX_SUB, c[2], sw), *rh = fbin(lc, KILN_LX_SUB, c[3], sh);
    if (!hp) {
        rw = fbin(lc, KILN_LX_MAX, rw, fimm(lc, 1.0));
        rh = fbin(lc, KILN_LX_MAX, rh, fimm(lc, 1.0));
    }
    struct kiln_lx *bh = let(lc, b, "bh", fbin(lc, KILN_LX_DIV, rh, PH));
    struct kiln_lx *bw = let(lc, b, "bw", fbin(lc, KILN_LX_DIV, rw, PW));
    struct kiln_lx *gh =
        sr > 0 ? imm(lc, sr) : kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_unary(lc, KILN_LX_CEIL, bh));
    struct kiln_lx *gw =
        sr > 0 ? imm(lc, sr) : kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_unary(lc, KILN_LX_CEIL, bw));
    gh = let(lc, b, "gh", gh);
    gw = let(lc, b, "gw", gw);
    struct kiln_lx *batch = clamp_index(lc, load_i64(lc, bi, idx[0]), kiln_lower_dim(lc, x, 0));
    struct kiln_lx *plane =
        mul_i(lc, add_i(lc, mul_i(lc, batch, kiln_lower_dim(lc, x, 1)), idx[1]), mul_i(lc, H, W));
    plane = let(lc, b, "plane", plane);
    int32_t acc = kiln_lk_var(lc, KILN_DT_F64, "acc"), iy, ix;
    kiln_lb_set(lc, b, acc, fimm(lc, maxm ? -__builtin_inf() : 0.0));
    struct kiln_ls *fy = kiln_lb_for(lc, b, "iy", imm(lc, 0), gh, &iy);
    struct kiln_ls *fx = kiln_lb_for(lc, &fy->body, "ix", imm(lc, 0), gw, &ix);
    struct kiln_lblock *in = &fx->body;
    struct kiln_lx *half = fimm(lc, 0.5), *one = fimm(lc, 1.0);
    struct kiln_lx *yy = fbin(
        lc, KILN_LX_ADD, fbin(lc, KILN_LX_ADD, sh, fbin(lc, KILN_LX_MUL, to_f64(lc, idx[2]), bh)),
        fbin(
            lc, KILN_LX_DIV,
            fbin(lc, KILN_LX_MUL, fbin(lc, KILN_LX_ADD, to_f64(lc, kiln_lx_var(lc, iy)), half), bh),
            to_f64(lc, gh)));
    struct kiln_lx *xx = fbin(
        lc, KILN_LX_ADD, fbin(lc, KILN_LX_ADD, sw, fbin(lc, KILN_LX_MUL, to_f64(lc, idx[3]), bw)),
        fbin(
            lc, KILN_LX_DIV,
            fbin(lc, KILN_LX_MUL, fbin(lc, KILN_LX_ADD, to_f64(lc, kiln_lx_var(lc, ix)), half), bw),
            to_f64(lc, gw)));
    yy = let(lc, in, "yy", yy);
    xx = let(lc, in, "xx", xx);
    struct kiln_lx *out =
        kiln_lx_binary(lc, KILN_LX_OR,
                       kiln_lx_binary(lc, KILN_LX_OR, cmp(lc, KILN_LX_LT, yy, fimm(lc, -1.0)),
                                      cmp(lc, KILN_LX_GT, yy, fH)),
                       kiln_lx_binary(lc, KILN_LX_OR, cmp(lc, KILN_LX_LT, xx, fimm(lc, -1.0)),
                                      cmp(lc, KILN_LX_GT, xx, fW)));
    struct kiln_lx *lw[2][2], *pos[2][2];
    struct kiln_lx *dims[2] = {H, W}, *coord[2] = {yy, xx}, *low[2], *high[2], *l[2];
    for (int a = 0; a < 2; a++) {
        struct kiln_lx *v = fbin(lc, KILN_LX_MAX, coord[a], fimm(lc, 0.0));
        struct kiln_lx *vl = kiln_lx_cast(lc, KILN_DT_I64, v);
        struct kiln_lx *last = sub_i(lc, dims[a], imm(lc, 1));
        struct kiln_lx *edge = cmp(lc, KILN_LX_GE, vl, last);
        low[a] = let(lc, in, "lo", sel(lc, edge, last, vl));
        high[a] = sel(lc, edge, last, add_i(lc, vl, imm(lc, 1)));
        l[a] = let(lc, in, "l",
                   sel(lc, edge, fimm(lc, 0.0), fbin(lc, KILN_LX_SUB, v, to_f64(lc, vl))));
    }
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            struct kiln_lx *wy = i ? l[0] : fbin(lc, KILN_LX_SUB, one, l[0]);
            struct kiln_lx *wx = j ? l[1] : fbin(lc, KILN_LX_SUB, one, l[1]);
            lw[i][j] = sel(lc, out, fimm(lc, 0.0), fbin(lc, KILN_LX_MUL, wy, wx));
            struct kiln_lx *p = add_i(lc, mul_i(lc, i ? high[0] : low[0], W), j ? high[1] : low[1]);
            pos[i][j] = add_i(lc, plane, sel(lc, out, imm(lc, 0), p));
        }
    }
    struct kiln_lx *v = NULL;
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            struct kiln_lx *t = fbin(lc, KILN_LX_MUL, lw[i][j], load_f64(lc, x, pos[i][j]));
            v = !v ? t : fbin(lc, maxm ? KILN_LX_MAX : KILN_LX_ADD, v, t);
        }
    }
    struct kiln_lx *a = kiln_lx_var(lc, acc);
    kiln_lb_set(lc, in, acc, fbin(lc, maxm ? KILN_LX_MAX : KILN_LX_ADD, a, v));
    struct kiln_lx *cnt = mul_i(lc, gh, gw);
    struct kiln_lx *res =
        maxm ? sel(lc, cmp(lc, KILN_LX_GT, cnt, imm(lc, 0)), kiln_lx_var(lc, acc), fimm(lc, 0.0))
             : fbin(lc, KILN_LX_DIV, kiln_lx_var(lc, acc), to_f64(lc, max_x(lc, cnt, imm(lc, 1))));
    store_f64(lc, b, y, flat, res);
    return KILN_OK;
}

/* C's round(): halfway cases away from zero. */
static struct kiln_lx *
round_away(struct kiln_lower_ctx *lc, struct kiln_lx *v)
{
    struct kiln_lx *h = fimm(lc, 0.5);
    return sel(lc, cmp(lc, KILN_LX_GE, v, fimm(lc, 0.0)),
               kiln_lx_unary(lc, KILN_LX_FLOOR, fbin(lc, KILN_LX_ADD, v, h)),
               kiln_lx_unary(lc, KILN_LX_CEIL, fbin(lc, KILN_LX_SUB, v, h)));
}

/*
 * MaxRoiPool (Caffe's ROI pooling): rois [R, 5] = (batch, x1, y1, x2, y2),
 * scaled and rounded; bin (ph, pw) is the max over its cells, 0 when empty.
 */
enum kiln_status
kiln_lower_max_roi_pool(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), rois = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    if (kiln_lower_rank(lc, x) != 4)
        return kiln_lower_unsupported(lc, "input must have rank 4");
    double scale = kiln_node_attr_float(lc->n, "spatial_scale", 1.0f);
    struct kiln_lx *idx[4], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *H = kiln_lower_dim(lc, x, 2), *W = kiln_lower_dim(lc, x, 3);
    struct kiln_lx *rr = mul_i(lc, idx[0], kiln_lower_dim(lc, rois, 1));
    struct kiln_lx *rv[5];
    for (int i = 0; i < 5; i++) {
        struct kiln_lx *v = load_f64(lc, rois, add_i(lc, rr, imm(lc, i)));
        rv[i] = i == 0
                    ? kiln_lx_cast(lc, KILN_DT_I64, v)
                    : let(lc, b, "roi",
                          kiln_lx_cast(lc, KILN_DT_I64,
                                       round_away(lc, fbin(lc, KILN_LX_MUL, v, fimm(lc, scale)))));
    }
    struct kiln_lx *batch = clamp_index(lc, rv[0], kiln_lower_dim(lc, x, 0));
    struct kiln_lx *P[2] = {kiln_lower_dim(lc, y, 2), kiln_lower_dim(lc, y, 3)};
    struct kiln_lx *D[2] = {H, W}, *lo[2], *hi[2];
    for (int a = 0; a < 2; a++) {
        struct kiln_lx *s = rv[2 - a], *e = rv[4 - a]; /* h: y1, y2; w: x1, x2 */
        struct kiln_lx *len = max_x(lc, add_i(lc, sub_i(lc, e, s), imm(lc, 1)), imm(lc, 1));
        struct kiln_lx *bin = fbin(lc, KILN_LX_DIV, to_f64(lc, len), to_f64(lc, P[a]));
        struct kiln_lx *p = to_f64(lc, idx[2 + a]);
        struct kiln_lx *st = kiln_lx_cast(
            lc, KILN_DT_I64, kiln_lx_unary(lc, KILN_LX_FLOOR, fbin(lc, KILN_LX_MUL, p, bin)));
        struct kiln_lx *en = kiln_lx_cast(
            lc, KILN_DT_I64,
            kiln_lx_unary(lc, KILN_LX_CEIL,
                          fbin(lc, KILN_LX_MUL, fbin(lc, KILN_LX_ADD, p, fimm(lc, 1.0)), bin)));
        lo[a] = let(lc, b, "lo", min_x(lc, max_x(lc, add_i(lc, st, s), imm(lc, 0)), D[a]));
        hi[a] = let(lc, b, "hi", min_x(lc, max_x(lc, add_i(lc, en, s), imm(lc, 0)), D[a]));
    }
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    int32_t acc = kiln_lk_var(lc, ct, "acc"), vh, vw;
    kiln_lb_set(lc, b, acc, kiln_lx_imm_f(lc, ct, -__builtin_inf()));
    struct kiln_ls *fh = kiln_lb_for(lc, b, "h", lo[0], hi[0], &vh);
    struct kiln_ls *fw = kiln_lb_for(lc, &fh->body, "w", lo[1], hi[1], &vw);
    struct kiln_lx *xi[4] = {batch, idx[1], kiln_lx_var(lc, vh), kiln_lx_var(lc, vw)};
    struct kiln_lx *v = kiln_lx_load_f(lc, x, kiln_lower_offset(lc, x, xi, 4)),
                   *a = kiln_lx_var(lc, acc);
    kiln_lb_set(lc, &fw->body, acc, sel(lc, cmp(lc, KILN_LX_GT, v, a), v, a));
    struct kiln_lx *empty = kiln_lx_binary(lc, KILN_LX_OR, cmp(lc, KILN_LX_LE, hi[0], lo[0]),
                                           cmp(lc, KILN_LX_LE, hi[1], lo[1]));
    kiln_lb_store_f(lc, b, y, flat, sel(lc, empty, kiln_lx_imm_f(lc, ct, 0), kiln_lx_var(lc, acc)));
    return KILN_OK;
}

/* ---------------------------------------------------------------- DFT / STFT / MelWeightMatrix */

#define TWO_PI 6.283185307179586476925286766559
#define LN_10 2.302585092994045684017991454684

/* Parallel loop over the first `lead` axes of slot (all but its last ones);
 * idx[0..lead) receives their indices. */
static struct kiln_lblock *
loop_over_lead(struct kiln_lower_ctx *lc, int32_t slot, int lead, struct kiln_lx **idx)
{
    int32_t p;
    struct kiln_lblock *b = kiln_lk_parallel(lc, kiln_lower_dims_prod(lc, slot, 0, lead), &p);
    struct kiln_lx *v = kiln_lx_var(lc, p);
    for (int i = lead - 1; i >= 0; i--) {
        if (i == 0) {
            idx[i] = v;
        } else {
            idx[i] = rem_i(lc, v, kiln_lower_dim(lc, slot, i));
            v = div_i(lc, v, kiln_lower_dim(lc, slot, i));
        }
    }
    return b;
}

/* The angle 2 pi (k t mod L) / L, signed. */
static struct kiln_lx *
dft_angle(struct kiln_lower_ctx *lc, struct kiln_lx *k, struct kiln_lx *t, struct kiln_lx *L,
          bool positive)
{
    struct kiln_lx *m = rem_i(lc, mul_i(lc, k, t), L);
    struct kiln_lx *a = fbin(lc, KILN_LX_DIV,
                             fbin(lc, KILN_LX_MUL, to_f64(lc, m), fimm(lc, TWO_PI)), to_f64(lc, L));
    return positive ? a : kiln_lx_unary(lc, KILN_LX_NEG, a);
}

/* acc += (re + i im) * e^(i a) */
static void
cmul_acc(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t are, int32_t aim,
         struct kiln_lx *re, struct kiln_lx *im, struct kiln_lx *a)
{
    struct kiln_lx *c = kiln_lx_unary(lc, KILN_LX_COS, a), *s = kiln_lx_unary(lc, KILN_LX_SIN, a);
    struct kiln_lx *pr = fbin(lc, KILN_LX_MUL, re, c), *pi = fbin(lc, KILN_LX_MUL, re, s);
    if (im) {
        pr = fbin(lc, KILN_LX_SUB, pr, fbin(lc, KILN_LX_MUL, im, s));
        pi = fbin(lc, KILN_LX_ADD, pi, fbin(lc, KILN_LX_MUL, im, c));
    }
    kiln_lb_set(lc, b, are, fbin(lc, KILN_LX_ADD, kiln_lx_var(lc, are), pr));
    kiln_lb_set(lc, b, aim, fbin(lc, KILN_LX_ADD, kiln_lx_var(lc, aim), pi));
}

/*
 * DFT (17, 20): the discrete Fourier transform along `axis` of a real
 * ([..., 1]) or complex ([..., 2]) signal, zero-padded or truncated to
 * dft_length; inverse divides by the length; onesided keeps the first
 * L/2 + 1 bins, or (inverse) takes a one-sided spectrum to a real signal.
 * A direct O(L^2) sum per transform, in f64.
 */
enum kiln_status
kiln_lower_dft(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    int64_t axis, cin, cout;
    if (lc->g->opset < 20) {
        axis = kiln_node_attr_int(lc->n, "axis", 1);
    } else if (has_in(lc, 2)) {
        struct ilist al;
        if (!ilist_input(lc, 2, &al) || !al.known || al.n != 1)
            return kiln_lower_unsupported(lc, "the lowering depends on the value of axis, which "
                                              "must be a constant");
        axis = al.v[0];
    } else {
        axis = -2;
    }
    if (axis < 0)
        axis += r;
    if (r < 2 || axis < 0 || axis >= r - 1 || kiln_lower_rank(lc, y) != r ||
        !imm_value(kiln_lower_dim(lc, x, r - 1), &cin) ||
        !imm_value(kiln_lower_dim(lc, y, r - 1), &cout) || cin < 1 || cin > 2 || cout < 1 ||
        cout > 2)
        return kiln_lower_unsupported(lc, "the signal must be [..., 1] or [..., 2] with the "
                                          "axis before the last");
    bool inv = kiln_node_attr_int(lc->n, "inverse", 0) != 0;
    bool one = kiln_node_attr_int(lc->n, "onesided", 0) != 0;
    struct kiln_lx *nin = kiln_lower_dim(lc, x, (int)axis), *L;
    if (has_in(lc, 1) && in_len(lc, 1) == 1)
        L = load_i64(lc, kiln_lower_in(lc, 1), imm(lc, 0));
    else if (inv && one)
        L = mul_i(lc, imm(lc, 2), sub_i(lc, nin, imm(lc, 1)));
    else
        L = nin;
    struct kiln_lx *idx[KILN_MAX_RANK];
    struct kiln_lblock *b = loop_over_lead(lc, y, r - 1, idx);
    L = let(lc, b, "L", L);
    struct kiln_lx *k = idx[axis];
    int32_t are = kiln_lk_var(lc, KILN_DT_F64, "re"), aim = kiln_lk_var(lc, KILN_DT_F64, "im"), t;
    kiln_lb_set(lc, b, are, fimm(lc, 0.0));
    kiln_lb_set(lc, b, aim, fimm(lc, 0.0));
    struct kiln_lx *xi[KILN_MAX_RANK];
    for (int i = 0; i < r - 1; i++)
        xi[i] = idx[i];
    if (inv && one) {
        /* the full spectrum is Hermitian: bin m > L/2 is conj(bin L - m) */
        struct kiln_ls *ft = kiln_lb_for(lc, b, "m", imm(lc, 0), L, &t);
        struct kiln_lx *m = kiln_lx_var(lc, t);
        struct kiln_lx *low = cmp(lc, KILN_LX_LE, m, div_i(lc, L, imm(lc, 2)));
        struct kiln_lx *j = let(lc, &ft->body, "j", sel(lc, low, m, sub_i(lc, L, m)));
        struct kiln_lx *have = cmp(lc, KILN_LX_LT, j, nin);
        xi[axis] = clamp_index(lc, j, nin);
        xi[r - 1] = imm(lc, 0);
        struct kiln_lx *re =
            sel(lc, have, load_f64(lc, x, kiln_lower_offset(lc, x, xi, r)), fimm(lc, 0.0));
        struct kiln_lx *im = NULL;
        if (cin == 2) {
            xi[r - 1] = imm(lc, 1);
            im = sel(lc, have, load_f64(lc, x, kiln_lower_offset(lc, x, xi, r)), fimm(lc, 0.0));
            im = sel(lc, low, im, kiln_lx_unary(lc, KILN_LX_NEG, im));
        }
        cmul_acc(lc, &ft->body, are, aim, re, im, dft_angle(lc, m, k, L, true));
    } else {
        struct kiln_ls *ft = kiln_lb_for(lc, b, "t", imm(lc, 0), min_x(lc, nin, L), &t);
        struct kiln_lx *vt = kiln_lx_var(lc, t);
        xi[axis] = vt;
        xi[r - 1] = imm(lc, 0);
        struct kiln_lx *re = load_f64(lc, x, kiln_lower_offset(lc, x, xi, r)), *im = NULL;
        if (cin == 2) {
            xi[r - 1] = imm(lc, 1);
            im = load_f64(lc, x, kiln_lower_offset(lc, x, xi, r));
        }
        cmul_acc(lc, &ft->body, are, aim, re, im, dft_angle(lc, k, vt, L, inv));
    }
    struct kiln_lx *vr = kiln_lx_var(lc, are), *vi = kiln_lx_var(lc, aim);
    if (inv) {
        vr = fbin(lc, KILN_LX_DIV, vr, to_f64(lc, L));
        vi = fbin(lc, KILN_LX_DIV, vi, to_f64(lc, L));
    }
    idx[r - 1] = imm(lc, 0);
    store_f64(lc, b, y, kiln_lower_offset(lc, y, idx, r), vr);
    if (cout == 2) {
        idx[r - 1] = imm(lc, 1);
        store_f64(lc, b, y, kiln_lower_offset(lc, y, idx, r), vi);
    }
    return KILN_OK;
}

/*
 * STFT: y[b, f, k] is the DFT (length frame_length) of frame f of the signal,
 * x[b, f * frame_step + t] times window[t] (zero past the signal's end).
 */
enum kiln_status
kiln_lower_stft(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int64_t cin;
    if (kiln_lower_rank(lc, x) != 3 || kiln_lower_rank(lc, y) != 4 ||
        !imm_value(kiln_lower_dim(lc, x, 2), &cin) || cin < 1 || cin > 2)
        return kiln_lower_unsupported(lc, "the signal must be [batch, length, 1 or 2]");
    int32_t win = has_in(lc, 2) ? kiln_lower_in(lc, 2) : -1;
    struct kiln_lx *S = kiln_lower_dim(lc, x, 1), *L;
    if (has_in(lc, 3) && in_len(lc, 3) == 1)
        L = load_i64(lc, kiln_lower_in(lc, 3), imm(lc, 0));
    else if (win >= 0)
        L = kiln_lower_dim(lc, win, 0);
    else
        L = S;
    struct kiln_lx *idx[4];
    struct kiln_lblock *b = loop_over_lead(lc, y, 3, idx);
    L = let(lc, b, "L", L);
    struct kiln_lx *hop = load_i64(lc, kiln_lower_in(lc, 1), imm(lc, 0));
    struct kiln_lx *from = let(lc, b, "s0", mul_i(lc, idx[1], hop));
    int32_t are = kiln_lk_var(lc, KILN_DT_F64, "re"), aim = kiln_lk_var(lc, KILN_DT_F64, "im"), t;
    kiln_lb_set(lc, b, are, fimm(lc, 0.0));
    kiln_lb_set(lc, b, aim, fimm(lc, 0.0));
    /* t runs while the frame is inside the signal (and the window) */
    struct kiln_lx *n = min_x(lc, L, max_x(lc, sub_i(lc, S, from), imm(lc, 0)));
    if (win >= 0)
        n = min_x(lc, n, kiln_lower_dim(lc, win, 0));
    struct kiln_ls *ft = kiln_lb_for(lc, b, "t", imm(lc, 0), n, &t);
    struct kiln_lx *vt = kiln_lx_var(lc, t);
    struct kiln_lx *xi[3] = {idx[0], add_i(lc, from, vt), imm(lc, 0)};
    struct kiln_lx *re = load_f64(lc, x, kiln_lower_offset(lc, x, xi, 3)), *im = NULL;
    if (cin == 2) {
        xi[2] = imm(lc, 1);
        im = load_f64(lc, x, kiln_lower_offset(lc, x, xi, 3));
    }
    if (win >= 0) {
        struct kiln_lx *w = load_f64(lc, win, vt);
        re = fbin(lc, KILN_LX_MUL, re, w);
        if (im)
            im = fbin(lc, KILN_LX_MUL, im, w);
    }
    cmul_acc(lc, &ft->body, are, aim, re, im, dft_angle(lc, idx[2], vt, L, false));
    idx[3] = imm(lc, 0);
    store_f64(lc, b, y, kiln_lower_offset(lc, y, idx, 4), kiln_lx_var(lc, are));
    idx[3] = imm(lc, 1);
    store_f64(lc, b, y, kiln_lower_offset(lc, y, idx, 4), kiln_lx_var(lc, aim));
    return KILN_OK;
}

/* Mel scale of hertz h, as the reference computes it (f32, then f64). */
static struct kiln_lx *
mel_of(struct kiln_lower_ctx *lc, struct kiln_lx *h)
{
    struct kiln_lx *q = kiln_lx_binary(lc, KILN_LX_DIV, h, kiln_lx_imm_f(lc, KILN_DT_F32, 700.0));
    struct kiln_lx *l = kiln_lx_unary(
        lc, KILN_LX_LOG, kiln_lx_binary(lc, KILN_LX_ADD, kiln_lx_imm_f(lc, KILN_DT_F32, 1.0), q));
    struct kiln_lx *m = kiln_lx_binary(lc, KILN_LX_MUL, kiln_lx_imm_f(lc, KILN_DT_F32, 2595.0), l);
    return fbin(lc, KILN_LX_DIV, to_f64(lc, m), fimm(lc, LN_10));
}

/*
 * MelWeightMatrix: [dft_length / 2 + 1, num_mel_bins] triangular filters
 * between mel-spaced bin edges fb(i), fb(i + 1), fb(i + 2), computed per element.
 */
enum kiln_status
kiln_lower_mel_weight_matrix(struct kiln_lower_ctx *lc)
{
    int32_t y = kiln_lower_out(lc, 0);
    if (kiln_lower_rank(lc, y) != 2)
        return kiln_lower_unsupported(lc, "the output must be 2-D");
    struct kiln_lx *idx[2], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *nb = kiln_lower_dim(lc, y, 1);
    struct kiln_lx *L = load_i64(lc, kiln_lower_in(lc, 1), imm(lc, 0));
    struct kiln_lx *sr = to_f64(lc, load_i64(lc, kiln_lower_in(lc, 2), imm(lc, 0)));
    struct kiln_lx *lo =
        kiln_lx_cast(lc, KILN_DT_F32, kiln_lx_load_f(lc, kiln_lower_in(lc, 3), imm(lc, 0)));
    struct kiln_lx *hi =
        kiln_lx_cast(lc, KILN_DT_F32, kiln_lx_load_f(lc, kiln_lower_in(lc, 4), imm(lc, 0)));
    struct kiln_lx *lm = let(lc, b, "lowmel", mel_of(lc, lo));
    struct kiln_lx *step = let(lc, b, "step",
                               fbin(lc, KILN_LX_DIV, fbin(lc, KILN_LX_SUB, mel_of(lc, hi), lm),
                                    to_f64(lc, add_i(lc, nb, imm(lc, 2)))));
    struct kiln_lx *fb[3];
    for (int e = 0; e < 3; e++) {
        struct kiln_lx *m =
            fbin(lc, KILN_LX_ADD,
                 fbin(lc, KILN_LX_MUL, to_f64(lc, add_i(lc, idx[1], imm(lc, e))), step), lm);
        struct kiln_lx *hz = fbin(
            lc, KILN_LX_MUL, fimm(lc, 700.0),
            fbin(lc, KILN_LX_SUB,
                 kiln_lx_unary(lc, KILN_LX_EXP,
                               fbin(lc, KILN_LX_MUL, fbin(lc, KILN_LX_DIV, m, fimm(lc, 2595.0)),
                                    fimm(lc, LN_10))),
                 fimm(lc, 1.0)));
        struct kiln_lx *v = fbin(
            lc, KILN_LX_DIV, fbin(lc, KILN_LX_MUL, to_f64(lc, add_i(lc, L, imm(lc, 1))), hz), sr);
        fb[e] =
            let(lc, b, "fb", kiln_lx_cast(lc, KILN_DT_I64, kiln_lx_unary(lc, KILN_LX_FLOOR, v)));
    }
    struct kiln_lx *j = idx[0], *zero = fimm(lc, 0.0), *one = fimm(lc, 1.0);
    struct kiln_lx *lc_ = sub_i(lc, fb[1], fb[0]), *ch = sub_i(lc, fb[2], fb[1]);
    /* rising edge [fb0, fb1] (a spike at fb1 when they coincide), then the
     * falling edge [fb1, fb2), which wins where both apply */
    struct kiln_lx *rise = sel(
        lc, cmp(lc, KILN_LX_EQ, lc_, imm(lc, 0)), sel(lc, cmp(lc, KILN_LX_EQ, j, fb[1]), one, zero),
        sel(lc, and_c(lc, cmp(lc, KILN_LX_GE, j, fb[0]), cmp(lc, KILN_LX_LE, j, fb[1])),
            fbin(lc, KILN_LX_DIV, to_f64(lc, sub_i(lc, j, fb[0])), to_f64(lc, lc_)), zero));
    struct kiln_lx *infall =
        and_c(lc, cmp(lc, KILN_LX_GT, ch, imm(lc, 0)),
              and_c(lc, cmp(lc, KILN_LX_GE, j, fb[1]), cmp(lc, KILN_LX_LT, j, fb[2])));
    struct kiln_lx *fall = fbin(lc, KILN_LX_DIV, to_f64(lc, sub_i(lc, fb[2], j)), to_f64(lc, ch));
    store_f64(lc, b, y, flat, sel(lc, infall, fall, rise));
    return KILN_OK;
}

/* Whether boxes i and j of batch b overlap by more than iou_t (NonMaxSuppression's test). */
static struct kiln_lx *
nms_suppress(struct kiln_lower_ctx *lc, int32_t boxes, struct kiln_lx *base_i,
             struct kiln_lx *base_j, bool center, struct kiln_lx *iou_t)
{
    struct kiln_lx *lo[2][2], *hi[2][2]; /* [box][axis y, x] */
    struct kiln_lx *base[2] = {base_i, base_j};
    for (int k = 0; k < 2; k++) {
        struct kiln_lx *v[4];
        for (int c = 0; c < 4; c++)
            v[c] = kiln_lx_load_f(lc, boxes, add_i(lc, base[k], imm(lc, c)));
        for (int a = 0; a < 2; a++) {
            if (center) { /* [x_center, y_center, width, height] */
                struct kiln_lx *h =
                    kiln_lx_binary(lc, KILN_LX_DIV, v[3 - a], kiln_lx_imm_f(lc, v[0]->type, 2.0));
                lo[k][a] = kiln_lx_binary(lc, KILN_LX_SUB, v[1 - a], h);
                hi[k][a] = kiln_lx_binary(lc, KILN_LX_ADD, v[1 - a], h);
            } else { /* [y1, x1, y2, x2], either corner first */
                lo[k][a] = kiln_lx_binary(lc, KILN_LX_MIN, v[a], v[a + 2]);
                hi[k][a] = kiln_lx_binary(lc, KILN_LX_MAX, v[a], v[a + 2]);
            }
        }
    }
    struct kiln_lx *inter = NULL, *ok = NULL, *area[2] = {NULL, NULL};
    for (int a = 0; a < 2; a++) {
        struct kiln_lx *l = kiln_lx_binary(lc, KILN_LX_MAX, lo[0][a], lo[1][a]);
        struct kiln_lx *h = kiln_lx_binary(lc, KILN_LX_MIN, hi[0][a], hi[1][a]);
        ok = and_c(lc, ok, cmp(lc, KILN_LX_GT, h, l));
        struct kiln_lx *w = kiln_lx_binary(lc, KILN_LX_SUB, h, l);
        inter = inter ? kiln_lx_binary(lc, KILN_LX_MUL, inter, w) : w;
        for (int k = 0; k < 2; k++) {
            struct kiln_lx *e = kiln_lx_binary(lc, KILN_LX_SUB, hi[k][a], lo[k][a]);
            area[k] = area[k] ? kiln_lx_binary(lc, KILN_LX_MUL, area[k], e) : e;
        }
    }
    struct kiln_lx *zero = kiln_lx_imm_f(lc, inter->type, 0.0);
    struct kiln_lx *uni =
        kiln_lx_binary(lc, KILN_LX_SUB, kiln_lx_binary(lc, KILN_LX_ADD, area[0], area[1]), inter);
    ok = and_c(lc, ok, cmp(lc, KILN_LX_GT, inter, zero));
    ok = and_c(lc, ok, cmp(lc, KILN_LX_GT, area[0], zero));
    ok = and_c(lc, ok, cmp(lc, KILN_LX_GT, area[1], zero));
    ok = and_c(lc, ok, cmp(lc, KILN_LX_GT, uni, zero));
    return and_c(lc, ok, cmp(lc, KILN_LX_GT, kiln_lx_binary(lc, KILN_LX_DIV, inter, uni), iou_t));
}

/*
 * NonMaxSuppression, compiled when the number of selected boxes is known (the
 * model declares it): per batch and class, candidates in order of score
 * (descending, then index), each kept unless it overlaps a kept one by more
 * than iou_threshold, up to max_output_boxes_per_class. One serial kernel
 * without scratch memory: the next candidate is found by a scan for the best
 * one after the previous, and the kept boxes are read back from the output.
 * A run that keeps another number of boxes than compiled fails with
 * KILN_RT_ERR_SHAPE (kiln_lower_check).
 */
enum kiln_status
kiln_lower_nms(struct kiln_lower_ctx *lc)
{
    int32_t boxes = kiln_lower_in(lc, 0), scores = kiln_lower_in(lc, 1), y = kiln_lower_out(lc, 0);
    if (kiln_lower_rank(lc, boxes) != 3 || kiln_lower_rank(lc, scores) != 3 ||
        kiln_lower_rank(lc, y) != 2)
        return kiln_lower_unsupported(lc, "boxes and scores must be 3-D");
    bool center = kiln_node_attr_int(lc->n, "center_point_box", 0) != 0;
    struct kiln_lblock *body = &lc->k->body;
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, scores)->dtype);
    struct kiln_lx *B = kiln_lower_dim(lc, scores, 0), *C = kiln_lower_dim(lc, scores, 1);
    struct kiln_lx *N = kiln_lower_dim(lc, scores, 2), *M = kiln_lower_dim(lc, y, 0);
    struct kiln_lx *maxk =
        in_len(lc, 2) == 1 ? max_x(lc, load_i64(lc, kiln_lower_in(lc, 2), imm(lc, 0)), imm(lc, 0))
                           : imm(lc, 0);
    struct kiln_lx *iou_t = in_len(lc, 3) == 1
                                ? kiln_lx_load_f(lc, kiln_lower_in(lc, 3), imm(lc, 0))
                                : kiln_lx_imm_f(lc, ct, 0.0);
    struct kiln_lx *sc_t =
        in_len(lc, 4) == 1 ? kiln_lx_load_f(lc, kiln_lower_in(lc, 4), imm(lc, 0)) : NULL;
    maxk = let(lc, body, "maxk", maxk);
    iou_t = let(lc, body, "iou", kiln_lx_cast(lc, ct, iou_t));
    if (sc_t)
        sc_t = let(lc, body, "thr", kiln_lx_cast(lc, ct, sc_t));
    int32_t total = kiln_lk_var(lc, KILN_DT_I64, "rows"), vb, vc, vs, vi, vr;
    kiln_lb_set(lc, body, total, imm(lc, 0));
    struct kiln_ls *fb = kiln_lb_for(lc, body, "b", imm(lc, 0), B, &vb);
    struct kiln_ls *fc = kiln_lb_for(lc, &fb->body, "c", imm(lc, 0), C, &vc);
    struct kiln_lblock *bc = &fc->body;
    struct kiln_lx *b = kiln_lx_var(lc, vb), *c = kiln_lx_var(lc, vc);
    struct kiln_lx *first = let(lc, bc, "first", kiln_lx_var(lc, total));
    int32_t nsel = kiln_lk_var(lc, KILN_DT_I64, "kept"), ps = kiln_lk_var(lc, ct, "prev_s");
    int32_t pi = kiln_lk_var(lc, KILN_DT_I64, "prev_i");
    kiln_lb_set(lc, bc, nsel, imm(lc, 0));
    kiln_lb_set(lc, bc, ps, kiln_lx_imm_f(lc, ct, __builtin_inf()));
    kiln_lb_set(lc, bc, pi, imm(lc, -1));
    struct kiln_lx *srow = mul_i(lc, add_i(lc, mul_i(lc, b, C), c), N);
    struct kiln_ls *fs = kiln_lb_for(lc, bc, "step", imm(lc, 0), N, &vs);
    struct kiln_lblock *st =
        &kiln_lb_if(lc, &fs->body, cmp(lc, KILN_LX_LT, kiln_lx_var(lc, nsel), maxk))->body;
    /* the best candidate after (prev_s, prev_i) in the order */
    int32_t bs = kiln_lk_var(lc, ct, "best_s"), bi = kiln_lk_var(lc, KILN_DT_I64, "best_i");
    kiln_lb_set(lc, st, bs, kiln_lx_imm_f(lc, ct, -__builtin_inf()));
    kiln_lb_set(lc, st, bi, imm(lc, -1));
    struct kiln_ls *fi = kiln_lb_for(lc, st, "i", imm(lc, 0), N, &vi);
    struct kiln_lx *i = kiln_lx_var(lc, vi);
    struct kiln_lx *s = let(lc, &fi->body, "s", kiln_lx_load_f(lc, scores, add_i(lc, srow, i)));
    struct kiln_lx *vps = kiln_lx_var(lc, ps), *vpi = kiln_lx_var(lc, pi);
    struct kiln_lx *after =
        kiln_lx_binary(lc, KILN_LX_OR, cmp(lc, KILN_LX_LT, s, vps),
                       and_c(lc, cmp(lc, KILN_LX_EQ, s, vps), cmp(lc, KILN_LX_GT, i, vpi)));
    struct kiln_lx *better =
        kiln_lx_binary(lc, KILN_LX_OR, cmp(lc, KILN_LX_LT, kiln_lx_var(lc, bi), imm(lc, 0)),
                       cmp(lc, KILN_LX_GT, s, kiln_lx_var(lc, bs)));
    struct kiln_lx *take = and_c(lc, after, better);
    if (sc_t)
        take = and_c(lc, take, cmp(lc, KILN_LX_GT, s, sc_t));
    struct kiln_ls *tk = kiln_lb_if(lc, &fi->body, take);
    kiln_lb_set(lc, &tk->body, bs, s);
    kiln_lb_set(lc, &tk->body, bi, i);
    /* found one: it is next in order whether kept or not */
    struct kiln_lblock *got =
        &kiln_lb_if(lc, st, cmp(lc, KILN_LX_GE, kiln_lx_var(lc, bi), imm(lc, 0)))->body;
    kiln_lb_set(lc, got, ps, kiln_lx_var(lc, bs));
    kiln_lb_set(lc, got, pi, kiln_lx_var(lc, bi));
    int32_t keep = kiln_lk_var(lc, KILN_DT_BOOL, "keep");
    kiln_lb_set(lc, got, keep, kiln_lx_imm_i(lc, KILN_DT_BOOL, 1));
    struct kiln_lx *nb = kiln_lower_dim(lc, boxes, 1);
    struct kiln_lx *bbase = mul_i(lc, b, mul_i(lc, nb, imm(lc, 4)));
    /* kept rows past the compiled count were not written (the run fails after) */
    struct kiln_ls *fr =
        kiln_lb_for(lc, got, "r", first, min_x(lc, kiln_lx_var(lc, total), M), &vr);
    struct kiln_lx *j = clamp_index(
        lc, kiln_lx_load(lc, y, add_i(lc, mul_i(lc, kiln_lx_var(lc, vr), imm(lc, 3)), imm(lc, 2))),
        nb);
    struct kiln_lx *bi_c = clamp_index(lc, kiln_lx_var(lc, bi), nb);
    struct kiln_lx *sup = nms_suppress(lc, boxes, add_i(lc, bbase, mul_i(lc, bi_c, imm(lc, 4))),
                                       add_i(lc, bbase, mul_i(lc, j, imm(lc, 4))), center, iou_t);
    kiln_lb_set(lc, &kiln_lb_if(lc, &fr->body, sup)->body, keep,
                kiln_lx_imm_i(lc, KILN_DT_BOOL, 0));
    struct kiln_lx *vt = kiln_lx_var(lc, total);
    /* every kept box is counted; those within the compiled row count are written */
    struct kiln_lblock *kept = &kiln_lb_if(lc, got, kiln_lx_var(lc, keep))->body;
    struct kiln_lblock *put = &kiln_lb_if(lc, kept, cmp(lc, KILN_LX_LT, vt, M))->body;
    struct kiln_lx *row = mul_i(lc, vt, imm(lc, 3));
    kiln_lb_store(lc, put, y, row, b);
    kiln_lb_store(lc, put, y, add_i(lc, row, imm(lc, 1)), c);
    kiln_lb_store(lc, put, y, add_i(lc, row, imm(lc, 2)), kiln_lx_var(lc, bi));
    kiln_lb_set(lc, kept, total, add_i(lc, kiln_lx_var(lc, total), imm(lc, 1)));
    kiln_lb_set(lc, kept, nsel, add_i(lc, kiln_lx_var(lc, nsel), imm(lc, 1)));
    /* fewer than compiled: zero rows (and the check below fails the run) */
    struct kiln_ls *fz =
        kiln_lb_for(lc, body, "r", mul_i(lc, min_x(lc, kiln_lx_var(lc, total), M), imm(lc, 3)),
                    mul_i(lc, M, imm(lc, 3)), &vr);
    kiln_lb_store(lc, &fz->body, y, kiln_lx_var(lc, vr), imm(lc, 0));
    kiln_lower_check(lc, cmp(lc, KILN_LX_EQ, kiln_lx_var(lc, total), M));
    return KILN_OK;
}
