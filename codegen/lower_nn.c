/*
 * lower_nn.c - lowering of network layers: Gemm, Conv, BatchNormalization
 * (inference), global pooling, Softmax/LogSoftmax.
 *
 * Contract (lower_ops.h). These are the straightforward loop nests: correct
 * for every shape ONNX allows, parallel over the outermost independent axes,
 * accumulating in the compute type (f32 for f16/bf16). Blocked, vectorized
 * kernels for speed replace them where a pass selects one; these stay as the
 * general case.
 */
#include <string.h>

#include "codegen/lower_ops.h"

/* Product of dims [from, to) of slot. */
static struct kiln_lx *
dims_prod(struct kiln_lower_ctx *lc, int32_t slot, int from, int to)
{
    struct kiln_lx *p = kiln_lx_idx(lc, 1);
    for (int i = from; i < to; i++)
        p = kiln_lx_binary(lc, KILN_LX_MUL, p, kiln_lower_dim(lc, slot, i));
    return p;
}

static struct kiln_lx *
add_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_ADD, a, b);
}

static struct kiln_lx *
mul_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_MUL, a, b);
}

/* ---------------------------------------------------------------- Gemm */

enum kiln_status
kiln_lower_gemm(struct kiln_lower_ctx *lc)
{
    int32_t a = kiln_lower_in(lc, 0), b = kiln_lower_in(lc, 1), c = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    bool ta = kiln_node_attr_int(lc->n, "transA", 0) != 0;
    bool tb = kiln_node_attr_int(lc->n, "transB", 0) != 0;
    float alpha = kiln_node_attr_float(lc->n, "alpha", 1.0f);
    float beta = kiln_node_attr_float(lc->n, "beta", 1.0f);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *M = kiln_lower_dim(lc, y, 0), *N = kiln_lower_dim(lc, y, 1);
    struct kiln_lx *K = kiln_lower_dim(lc, a, ta ? 0 : 1);
    struct kiln_lx *lda = kiln_lower_dim(lc, a, 1), *ldb = kiln_lower_dim(lc, b, 1);
    int32_t i, j, k;
    struct kiln_lblock *rows = kiln_lk_parallel(lc, M, &i);
    struct kiln_ls *fj = kiln_lb_for(lc, rows, "j", kiln_lx_idx(lc, 0), N, &j);
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, &fj->body, acc, kiln_lx_imm_f(lc, ct, 0));
    struct kiln_ls *fk = kiln_lb_for(lc, &fj->body, "k", kiln_lx_idx(lc, 0), K, &k);
    struct kiln_lx *vi = kiln_lx_var(lc, i), *vj = kiln_lx_var(lc, j), *vk = kiln_lx_var(lc, k);
    struct kiln_lx *ia = ta ? add_i(lc, mul_i(lc, vk, lda), vi) : add_i(lc, mul_i(lc, vi, lda), vk);
    struct kiln_lx *ib = tb ? add_i(lc, mul_i(lc, vj, ldb), vk) : add_i(lc, mul_i(lc, vk, ldb), vj);
    struct kiln_lx *prod =
        kiln_lx_binary(lc, KILN_LX_MUL, kiln_lx_load_f(lc, a, ia), kiln_lx_load_f(lc, b, ib));
    kiln_lb_set(lc, &fk->body, acc, kiln_lx_binary(lc, KILN_LX_ADD, kiln_lx_var(lc, acc), prod));
    struct kiln_lx *v = kiln_lx_var(lc, acc);
    if (alpha != 1.0f)
        v = kiln_lx_binary(lc, KILN_LX_MUL, v, kiln_lx_imm_f(lc, ct, alpha));
    if (c >= 0 && beta != 0.0f) {
        struct kiln_lx *ij[2] = {vi, vj};
        struct kiln_lx *cv = kiln_lx_load_f(lc, c, kiln_lower_offset(lc, c, ij, 2));
        if (beta != 1.0f)
            cv = kiln_lx_binary(lc, KILN_LX_MUL, cv, kiln_lx_imm_f(lc, ct, beta));
        v = kiln_lx_binary(lc, KILN_LX_ADD, v, cv);
    }
    kiln_lb_store_f(lc, &fj->body, y, add_i(lc, mul_i(lc, vi, N), vj), v);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Conv */

/* Spatial geometry of a Conv: per spatial axis stride, dilation, kernel, begin pad. */
struct conv_geom {
    int sp; /* spatial rank */
    int64_t stride[KILN_MAX_RANK], dil[KILN_MAX_RANK], pad[KILN_MAX_RANK];
};

static enum kiln_status
conv_geom(struct kiln_lower_ctx *lc, const struct kiln_type *xt, const struct kiln_type *wt,
          struct conv_geom *cg)
{
    const struct kiln_node *n = lc->n;
    cg->sp = xt->rank - 2;
    int64_t len;
    const int64_t *s = kiln_node_attr_ints(n, "strides", &len);
    const int64_t *dl = kiln_node_attr_ints(n, "dilations", &len);
    const int64_t *p = kiln_node_attr_ints(n, "pads", &len);
    const char *ap = kiln_node_attr_string(n, "auto_pad", "NOTSET");
    for (int i = 0; i < cg->sp; i++) {
        cg->stride[i] = s ? s[i] : 1;
        cg->dil[i] = dl ? dl[i] : 1;
        cg->pad[i] = 0;
        if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
            struct kiln_dim in = xt->dims[i + 2], k = wt->dims[i + 2];
            if (!kiln_dim_is_const(in) || !kiln_dim_is_const(k))
                return kiln_lower_unsupported(lc, "auto_pad %s with a symbolic spatial dim", ap);
            int64_t out = (in.n + cg->stride[i] - 1) / cg->stride[i];
            int64_t total = (out - 1) * cg->stride[i] + (k.n - 1) * cg->dil[i] + 1 - in.n;
            if (total < 0)
                total = 0;
            cg->pad[i] = ap[5] == 'U' ? total / 2 : total - total / 2;
        } else if (strcmp(ap, "VALID") != 0 && p) {
            cg->pad[i] = p[i];
        }
    }
    return KILN_OK;
}

enum kiln_status
kiln_lower_conv(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *n = lc->n;
    const struct kiln_graph *g = lc->g;
    const struct kiln_type *xt = &g->values[n->in[0]]->type, *wt = &g->values[n->in[1]]->type;
    struct conv_geom cg;
    enum kiln_status st = conv_geom(lc, xt, wt, &cg);
    if (st != KILN_OK)
        return st;
    int32_t x = kiln_lower_in(lc, 0), w = kiln_lower_in(lc, 1), bias = kiln_lower_in(lc, 2);
    int32_t y = kiln_lower_out(lc, 0);
    int64_t groups = kiln_node_attr_int(n, "group", 1);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    int sp = cg.sp;
    struct kiln_lx *M = kiln_lower_dim(lc, y, 1), *Cg = kiln_lower_dim(lc, w, 1);
    struct kiln_lx *Mg = kiln_lx_binary(lc, KILN_LX_DIV, M, kiln_lx_idx(lc, groups));
    /* parallel over (n, m) pairs */
    int32_t p;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, kiln_lower_dim(lc, y, 0), M), &p);
    struct kiln_lx *vn = kiln_lx_binary(lc, KILN_LX_DIV, kiln_lx_var(lc, p), M);
    struct kiln_lx *vm = kiln_lx_binary(lc, KILN_LX_REM, kiln_lx_var(lc, p), M);
    struct kiln_lx *grp = kiln_lx_binary(lc, KILN_LX_DIV, vm, Mg);
    /* output spatial loops */
    struct kiln_lx *o[KILN_MAX_RANK];
    struct kiln_lblock *blk = body;
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f =
            kiln_lb_for(lc, blk, "o", kiln_lx_idx(lc, 0), kiln_lower_dim(lc, y, i + 2), &v);
        o[i] = kiln_lx_var(lc, v);
        blk = &f->body;
    }
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, blk, acc, bias >= 0 ? kiln_lx_load_f(lc, bias, vm) : kiln_lx_imm_f(lc, ct, 0));
    int32_t vc;
    struct kiln_ls *fc = kiln_lb_for(lc, blk, "c", kiln_lx_idx(lc, 0), Cg, &vc);
    struct kiln_lblock *kb = &fc->body;
    struct kiln_lx *kv[KILN_MAX_RANK], *ix[KILN_MAX_RANK];
    for (int i = 0; i < sp; i++) {
        int32_t v;
        struct kiln_ls *f =
            kiln_lb_for(lc, kb, "k", kiln_lx_idx(lc, 0), kiln_lower_dim(lc, w, i + 2), &v);
        kv[i] = kiln_lx_var(lc, v);
        kb = &f->body;
    }
    struct kiln_lx *inside = NULL;
    for (int i = 0; i < sp; i++) {
        ix[i] = kiln_lx_binary(lc, KILN_LX_ADD,
                               kiln_lx_binary(lc, KILN_LX_SUB,
                                              mul_i(lc, o[i], kiln_lx_idx(lc, cg.stride[i])),
                                              kiln_lx_idx(lc, cg.pad[i])),
                               mul_i(lc, kv[i], kiln_lx_idx(lc, cg.dil[i])));
        struct kiln_lx *ok = kiln_lx_binary(
            lc, KILN_LX_AND, kiln_lx_binary(lc, KILN_LX_GE, ix[i], kiln_lx_idx(lc, 0)),
            kiln_lx_binary(lc, KILN_LX_LT, ix[i], kiln_lower_dim(lc, x, i + 2)));
        inside = inside ? kiln_lx_binary(lc, KILN_LX_AND, inside, ok) : ok;
    }
    struct kiln_lx *ch = add_i(lc, mul_i(lc, grp, Cg), kiln_lx_var(lc, vc));
    struct kiln_lx *xi[KILN_MAX_RANK], *wi[KILN_MAX_RANK];
    xi[0] = vn;
    xi[1] = ch;
    wi[0] = vm;
    wi[1] = kiln_lx_var(lc, vc);
    for (int i = 0; i < sp; i++) {
        xi[i + 2] = ix[i];
        wi[i + 2] = kv[i];
    }
    struct kiln_lx *prod =
        kiln_lx_binary(lc, KILN_LX_MUL, kiln_lx_load_f(lc, x, kiln_lower_offset(lc, x, xi, sp + 2)),
                       kiln_lx_load_f(lc, w, kiln_lower_offset(lc, w, wi, sp + 2)));
    struct kiln_lblock *acc_blk = kb;
    if (inside) {
        struct kiln_ls *iff = kiln_lb_if(lc, kb, inside);
        acc_blk = &iff->body;
    }
    kiln_lb_set(lc, acc_blk, acc, kiln_lx_binary(lc, KILN_LX_ADD, kiln_lx_var(lc, acc), prod));
    struct kiln_lx *yi[KILN_MAX_RANK];
    yi[0] = vn;
    yi[1] = vm;
    for (int i = 0; i < sp; i++)
        yi[i + 2] = o[i];
    kiln_lb_store_f(lc, blk, y, kiln_lower_offset(lc, y, yi, sp + 2), kiln_lx_var(lc, acc));
    return KILN_OK;
}

/* ---------------------------------------------------------------- BatchNormalization */

enum kiln_status
kiln_lower_batch_norm(struct kiln_lower_ctx *lc)
{
    for (int i = 1; i < lc->n->n_out; i++)
        if (lc->n->out[i] >= 0)
            return kiln_lower_unsupported(lc, "training-mode outputs (running statistics)");
    if (kiln_node_attr_int(lc->n, "training_mode", 0))
        return kiln_lower_unsupported(lc, "training_mode = 1");
    int32_t x = kiln_lower_in(lc, 0), sc = kiln_lower_in(lc, 1), bi = kiln_lower_in(lc, 2);
    int32_t mean = kiln_lower_in(lc, 3), var = kiln_lower_in(lc, 4), y = kiln_lower_out(lc, 0);
    float eps = kiln_node_attr_float(lc->n, "epsilon", 1e-5f);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    struct kiln_lx *c = kiln_lower_rank(lc, y) > 1 ? idx[1] : kiln_lx_idx(lc, 0);
    struct kiln_lx *v = kiln_lx_load_f(lc, x, flat);
    enum kiln_dtype t = v->type;
    struct kiln_lx *denom = kiln_lx_unary(
        lc, KILN_LX_SQRT,
        kiln_lx_binary(lc, KILN_LX_ADD, kiln_lx_load_f(lc, var, c), kiln_lx_imm_f(lc, t, eps)));
    struct kiln_lx *r = kiln_lx_binary(
        lc, KILN_LX_ADD,
        kiln_lx_binary(
            lc, KILN_LX_MUL, kiln_lx_load_f(lc, sc, c),
            kiln_lx_binary(lc, KILN_LX_DIV,
                           kiln_lx_binary(lc, KILN_LX_SUB, v, kiln_lx_load_f(lc, mean, c)), denom)),
        kiln_lx_load_f(lc, bi, c));
    kiln_lb_store_f(lc, b, y, flat, r);
    return KILN_OK;
}

/* ---------------------------------------------------------------- global pooling */

enum kiln_status
kiln_lower_global_pool(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    bool avg = lc->n->op == KILN_OP_GLOBAL_AVERAGE_POOL;
    int r = kiln_lower_rank(lc, x);
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *S = dims_prod(lc, x, 2, r);
    int32_t p, s;
    struct kiln_lblock *body = kiln_lk_parallel(lc, dims_prod(lc, x, 0, 2), &p);
    int32_t acc = kiln_lk_var(lc, ct, "acc");
    kiln_lb_set(lc, body, acc, kiln_lx_imm_f(lc, ct, avg ? 0.0 : -__builtin_inf()));
    struct kiln_ls *fs = kiln_lb_for(lc, body, "s", kiln_lx_idx(lc, 0), S, &s);
    struct kiln_lx *v =
        kiln_lx_load_f(lc, x, add_i(lc, mul_i(lc, kiln_lx_var(lc, p), S), kiln_lx_var(lc, s)));
    struct kiln_lx *a = kiln_lx_var(lc, acc);
    kiln_lb_set(lc, &fs->body, acc,
                avg ? kiln_lx_binary(lc, KILN_LX_ADD, a, v)
                    : kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_GT, v, a), v, a));
    struct kiln_lx *res = kiln_lx_var(lc, acc);
    if (avg)
        res = kiln_lx_binary(lc, KILN_LX_DIV, res, kiln_lx_cast(lc, ct, S));
    kiln_lb_store_f(lc, body, y, kiln_lx_var(lc, p), res);
    return KILN_OK;
}

/* ---------------------------------------------------------------- Softmax */

/*
 * Opset 13+: along `axis` (default -1). Before 13: the input is coerced to 2-D
 * at `axis` (default 1) and normalized over the whole second dimension.
 */
enum kiln_status
kiln_lower_softmax(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    int r = kiln_lower_rank(lc, x);
    bool v13 = lc->g->opset >= 13;
    int64_t axis = kiln_node_attr_int(lc->n, "axis", v13 ? -1 : 1);
    if (axis < 0)
        axis += r;
    if (r == 0)
        axis = 0;
    bool logsm = lc->n->op == KILN_OP_LOG_SOFTMAX;
    enum kiln_dtype ct = kiln_lower_compute_type(kiln_lower_buf(lc, y)->dtype);
    struct kiln_lx *outer = dims_prod(lc, x, 0, (int)axis);
    struct kiln_lx *len =
        v13 ? dims_prod(lc, x, (int)axis, (int)axis + (r > 0)) : dims_prod(lc, x, (int)axis, r);
    struct kiln_lx *inner = v13 ? dims_prod(lc, x, (int)axis + (r > 0), r) : kiln_lx_idx(lc, 1);
    int32_t p, i;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, outer, inner), &p);
    struct kiln_lx *po = kiln_lx_binary(lc, KILN_LX_DIV, kiln_lx_var(lc, p), inner);
    struct kiln_lx *pi = kiln_lx_binary(lc, KILN_LX_REM, kiln_lx_var(lc, p), inner);
    struct kiln_lx *base = add_i(lc, mul_i(lc, mul_i(lc, po, len), inner), pi);
    int32_t mx = kiln_lk_var(lc, ct, "max"), sum = kiln_lk_var(lc, ct, "sum");
    kiln_lb_set(lc, body, mx, kiln_lx_imm_f(lc, ct, -__builtin_inf()));
    struct kiln_ls *f1 = kiln_lb_for(lc, body, "i", kiln_lx_idx(lc, 0), len, &i);
    struct kiln_lx *at = add_i(lc, base, mul_i(lc, kiln_lx_var(lc, i), inner));
    struct kiln_lx *v = kiln_lx_load_f(lc, x, at), *m = kiln_lx_var(lc, mx);
    kiln_lb_set(lc, &f1->body, mx, kiln_lx_select(lc, kiln_lx_binary(lc, KILN_LX_GT, v, m), v, m));
    kiln_lb_set(lc, body, sum, kiln_lx_imm_f(lc, ct, 0));
    struct kiln_ls *f2 = kiln_lb_for(lc, body, "i", kiln_lx_idx(lc, 0), len, &i);
    at = add_i(lc, base, mul_i(lc, kiln_lx_var(lc, i), inner));
    struct kiln_lx *e = kiln_lx_unary(
        lc, KILN_LX_EXP,
        kiln_lx_binary(lc, KILN_LX_SUB, kiln_lx_load_f(lc, x, at), kiln_lx_var(lc, mx)));
    kiln_lb_set(lc, &f2->body, sum, kiln_lx_binary(lc, KILN_LX_ADD, kiln_lx_var(lc, sum), e));
    struct kiln_ls *f3 = kiln_lb_for(lc, body, "i", kiln_lx_idx(lc, 0), len, &i);
    at = add_i(lc, base, mul_i(lc, kiln_lx_var(lc, i), inner));
    struct kiln_lx *d =
        kiln_lx_binary(lc, KILN_LX_SUB, kiln_lx_load_f(lc, x, at), kiln_lx_var(lc, mx));
    struct kiln_lx *res = logsm
                              ? kiln_lx_binary(lc, KILN_LX_SUB, d,
                                               kiln_lx_unary(lc, KILN_LX_LOG, kiln_lx_var(lc, sum)))
                              : kiln_lx_binary(lc, KILN_LX_DIV, kiln_lx_unary(lc, KILN_LX_EXP, d),
                                               kiln_lx_var(lc, sum));
    kiln_lb_store_f(lc, &f3->body, y, at, res);
    return KILN_OK;
}
