/*
 * fuse_conv_bn.c - the pass `fuse-conv-bn`: a BatchNormalization (inference)
 * that follows a Conv or ConvTranspose is folded into the convolution's
 * weights and bias.
 *
 *   y = scale * (conv(x, W) + B - mean) / sqrt(var + eps) + bias
 *     = conv(x, W * k) + (B - mean) * k + bias,   k = scale / sqrt(var + eps)
 *
 * per output channel (W's axis 0 for Conv; axis 1, per group, for
 * ConvTranspose). Conditions: the convolution's result feeds only the BN (and
 * is not a graph output), the BN is in inference form (no statistics outputs,
 * training_mode 0), and W, B and all four BN parameters are f32 or f64
 * constants of the right length. The folded weights are computed in f64 and
 * stored in W's dtype, as new constants (the old ones die in DCE).
 * Requires: inferred types. Complexity: linear in the graph plus the weights.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

static struct kiln_tensor *
new_tensor_like(struct kiln_graph *g, const struct kiln_tensor *t, int rank, const int64_t *dims)
{
    struct kiln_tensor *n = kiln_arena_alloc(g->arena, sizeof *n);
    KILN_ASSERT(n);
    n->dtype = t->dtype;
    n->rank = rank;
    n->dims = kiln_arena_array(g->arena, (size_t)(rank ? rank : 1), sizeof *n->dims);
    KILN_ASSERT(n->dims);
    memcpy(n->dims, dims, (size_t)rank * sizeof *dims);
    int64_t numel = kiln_tensor_numel(n);
    KILN_ASSERT(numel >= 0 && kiln_dtype_storage_bytes(n->dtype, numel, &n->nbytes));
    n->data = kiln_arena_alloc(g->arena, n->nbytes ? (size_t)n->nbytes : 1);
    KILN_ASSERT(n->data);
    return n;
}

static void
put_f64(struct kiln_tensor *t, int64_t i, double v)
{
    if (t->dtype == KILN_DT_F32) {
        float f = (float)v;
        memcpy((char *)t->data + i * 4, &f, 4);
    } else {
        memcpy((char *)t->data + i * 8, &v, 8);
    }
}

/* "BASE.SUFFIX", or "BASE.SUFFIX.K" when taken: names that say where a constant came from. */
static void
unique_name(const struct kiln_graph *g, char *buf, size_t cap, const char *base, const char *suffix)
{
    snprintf(buf, cap, "%.200s.%s", base, suffix);
    for (int k = 2; kiln_graph_find_value(g, buf) >= 0; k++)
        snprintf(buf, cap, "%.200s.%s.%d", base, suffix, k);
}

static bool
float_const(const struct kiln_tensor *t, int64_t len)
{
    return t && (t->dtype == KILN_DT_F32 || t->dtype == KILN_DT_F64) &&
           (len < 0 || kiln_tensor_numel(t) == len);
}

static bool
fold(struct kiln_rewriter *rw, struct kiln_node *bn)
{
    struct kiln_graph *g = kiln_rewrite_graph(rw);
    for (int32_t i = 1; i < bn->n_out; i++)
        if (bn->out[i] >= 0)
            return false;
    if (kiln_node_attr_int(bn, "training_mode", 0) || bn->n_in < 5)
        return false;
    struct kiln_node *cv = kiln_rewrite_producer(g, bn->in[0]);
    if (!cv || (cv->op != KILN_OP_CONV && cv->op != KILN_OP_CONV_TRANSPOSE))
        return false;
    const struct kiln_value *cy = g->values[cv->out[0]];
    if (cy->n_uses != 1 || cy->is_output || !kiln_rewrite_replaceable(rw, cv->out[0]))
        return false;
    const struct kiln_tensor *w = kiln_rewrite_const(g, cv->in[1]);
    if (!float_const(w, -1) || w->rank < 3)
        return false;
    bool tr = cv->op == KILN_OP_CONV_TRANSPOSE;
    int64_t group = kiln_node_attr_int(cv, "group", 1);
    int64_t m = tr ? w->dims[1] * group : w->dims[0];
    if (group < 1 || m <= 0)
        return false;
    const struct kiln_tensor *b =
        cv->n_in > 2 && cv->in[2] >= 0 ? kiln_rewrite_const(g, cv->in[2]) : NULL;
    if (cv->n_in > 2 && cv->in[2] >= 0 && !float_const(b, m))
        return false;
    const struct kiln_tensor *p[4];
    for (int k = 0; k < 4; k++)
        if (!float_const(p[k] = kiln_rewrite_const(g, bn->in[k + 1]), m))
            return false;
    double eps = kiln_node_attr_float(bn, "epsilon", 1e-5f);
    double *kf = malloc((size_t)m * sizeof *kf);
    KILN_ASSERT(kf);
    struct kiln_tensor *nb = new_tensor_like(g, p[1], 1, &m);
    for (int64_t c = 0; c < m; c++) {
        double sc, bi, mean, var, bias = 0;
        kiln_tensor_get_f64(p[0], c, &sc);
        kiln_tensor_get_f64(p[1], c, &bi);
        kiln_tensor_get_f64(p[2], c, &mean);
        kiln_tensor_get_f64(p[3], c, &var);
        if (b)
            kiln_tensor_get_f64(b, c, &bias);
        kf[c] = sc / sqrt(var + eps);
        put_f64(nb, c, (bias - mean) * kf[c] + bi);
    }
    /* scale W along its output-channel axis */
    struct kiln_tensor *nw = new_tensor_like(g, w, w->rank, w->dims);
    int64_t numel = kiln_tensor_numel(w), inner = 1;
    for (int i = 2; i < w->rank; i++)
        inner *= w->dims[i];
    for (int64_t i = 0; i < numel; i++) {
        int64_t ch;
        if (!tr) {
            ch = i / (w->dims[1] * inner);
        } else { /* [C, M/group, k...]: out channel = group * (M/group) + j */
            int64_t row = i / inner, j = row % w->dims[1], cin = row / w->dims[1];
            int64_t cin_per_group = w->dims[0] / group;
            ch = (cin / (cin_per_group ? cin_per_group : 1)) * w->dims[1] + j;
        }
        double v;
        kiln_tensor_get_f64(w, i, &v);
        put_f64(nw, i, v * kf[ch < m ? ch : 0]);
    }
    free(kf);
    char wname[256], bname[256];
    unique_name(g, wname, sizeof wname, g->values[cv->in[1]]->name, "bn");
    unique_name(g, bname, sizeof bname, g->values[bn->in[2]]->name, "conv");
    int32_t wv = kiln_graph_add_const(g, wname, nw), bv = kiln_graph_add_const(g, bname, nb);
    int32_t from = bn->out[0], to;
    if (cv->n_in > 2) {
        kiln_node_set_input(g, cv, 1, wv);
        kiln_node_set_input(g, cv, 2, bv);
        to = cv->out[0];
        kiln_rewrite_push(rw, cv);
    } else {
        /* no bias operand: a new convolution with one (inputs are fixed per node) */
        char name[256];
        for (int k = 0;; k++) {
            snprintf(name, sizeof name, "%.200s.folded%s%d", g->values[from]->name, k ? "." : "",
                     k);
            if (kiln_graph_find_value(g, name) < 0)
                break;
        }
        const char *outs[1] = {name};
        int32_t ins[3] = {cv->in[0], wv, bv};
        struct kiln_node *nc = kiln_graph_add_node(g, cv->op, cv->name, ins, 3, outs, 1, NULL);
        KILN_ASSERT(nc);
        struct kiln_attr *attrs =
            kiln_arena_array(g->arena, (size_t)cv->n_attrs + 1, sizeof *attrs);
        KILN_ASSERT(attrs);
        memcpy(attrs, cv->attrs, (size_t)cv->n_attrs * sizeof *attrs);
        KILN_ASSERT(!kiln_node_set_attrs(nc, attrs, cv->n_attrs));
        to = nc->out[0];
        g->values[to]->type = g->values[from]->type;
        kiln_rewrite_push(rw, nc);
    }
    /* the convolution now computes the BN's result: it takes over the BN's name too
     * (a graph output's name is the interface; an intermediate's reads better) */
    kiln_graph_swap_names(g, from, to);
    kiln_rewrite_replace(rw, from, to);
    kiln_rewrite_erase(rw, bn);
    if (cv->out[0] != to)
        kiln_rewrite_erase(rw, cv);
    return true;
}

static const struct kiln_pattern patterns[] = {
    {"conv-bn-folded", KILN_OP_BATCH_NORMALIZATION, fold},
};

enum kiln_status
kiln_pass_fuse_conv_bn(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    return kiln_rewrite_run(pc, g, patterns, 1);
}
