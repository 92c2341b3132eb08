/*
 * lower_fused.c - lowering of kiln.Fused nodes: one kernel for the whole body.
 *
 * The body (what passes/fuse.c builds) is an optional anchor followed by
 * elementwise ops whose results all have the shape of the fused result:
 *
 *   anchor   Conv, Gemm or MatMul as body node 0. Its own lowering builds the
 *            kernel's loops; where it stores its final result for an output
 *            element (kiln_lb_store_out), the elementwise ops are lowered in
 *            place, on that element: the epilogue runs on the value while it
 *            is in a register, and only the fused result reaches memory.
 *   no anchor one loop nest over the result (kiln_lower_loop_over) in which
 *            every body node is lowered in turn.
 *
 * The elementwise ops are lowered by their usual functions (lower_ew.c): the
 * builders in lower.c consult lc->fuse, so that the values between body ops
 * live in KILN_LBUF_REG buffers, whose stores set a kernel variable and whose
 * loads read it, and kiln_lower_loop_over hands out the loop that exists
 * instead of making one. Operands from outside the body (biases, residuals)
 * are loaded with their broadcasting as in an unfused op.
 *
 * Contract: body inputs are the node's operands in order, body outputs its
 * results; every value the body computes has the shape of the fused result
 * (checked: a body that breaks this is an error naming the node).
 */
#include <string.h>

#include "codegen/lower_ops.h"

struct kiln_lfuse {
    const struct kiln_graph *body;
    const struct kiln_node *anchor;    /* body node 0 when it is a Conv/Gemm/MatMul, else NULL */
    int32_t anchor_buf;                /* module buffer of the anchor's result */
    int32_t result_buf;                /* the fused node's one result, or -1 (several) */
    int32_t *var;                      /* module buffer id -> kernel variable holding it, or -1 */
    const struct kiln_lkernel **var_k; /* the kernel that variable belongs to */
    int32_t n_map;
    /* the loop the elementwise ops are lowered in (set while they are) */
    bool in_loop;
    struct kiln_lblock *blk;
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    int32_t loop_buf;  /* module buffer whose shape the loop covers */
    int32_t epilogues; /* how many store sites of the anchor built the epilogue */
    enum kiln_status st;
};

static bool
is_anchor(enum kiln_op op)
{
    return op == KILN_OP_CONV || op == KILN_OP_GEMM || op == KILN_OP_MATMUL;
}

/* Record the first error (the diagnostic is already made). */
static void
fail(struct kiln_lfuse *f, enum kiln_status st)
{
    if (f->st == KILN_OK)
        f->st = st;
}

static int32_t
slot_buf(const struct kiln_lower_ctx *lc, int32_t slot)
{
    return lc->k->bufs[slot];
}

/* Lower body nodes [from, n) in the loop set up in f (their outputs share its shape). */
static void
lower_elementwise(struct kiln_lower_ctx *lc, struct kiln_lfuse *f, int32_t from)
{
    const struct kiln_node *save = lc->n;
    for (int32_t i = from; i < f->body->n_nodes && f->st == KILN_OK; i++) {
        const struct kiln_node *n = f->body->nodes[i];
        if (n->dead)
            continue;
        lc->n = n;
        kiln_lower_fn fn = kiln_lower_fn_of(n->op);
        if (!fn || is_anchor(n->op) || n->op == KILN_OP_FUSED ||
            !(kiln_op_info(n->op)->flags & KILN_OPF_ELEMWISE)) {
            fail(f, kiln_lower_unsupported(lc,
                                           "a fused body holds %s after its first node; only "
                                           "elementwise ops can follow",
                                           kiln_op_name(n->op)));
            break;
        }
        enum kiln_status st = fn(lc);
        if (st != KILN_OK)
            fail(f, st);
    }
    lc->n = save;
}

struct kiln_lx *
kiln_lower_fused_load(struct kiln_lower_ctx *lc, int32_t slot)
{
    struct kiln_lfuse *f = lc->fuse;
    int32_t buf = slot_buf(lc, slot);
    enum kiln_dtype t = lc->m->bufs[buf].dtype;
    if (f && buf < f->n_map && f->var[buf] >= 0 && f->var_k[buf] == lc->k)
        return kiln_lx_var(lc, f->var[buf]);
    /* read before it was computed in this kernel: a body out of order */
    if (f)
        fail(f, kiln_lower_unsupported(lc, "fused value '%s' is read before it is computed",
                                       lc->m->bufs[buf].name));
    return kiln_lx_imm_i(lc, t, 0);
}

void
kiln_lower_fused_store(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                       struct kiln_lx *idx, struct kiln_lx *val, struct kiln_lx *const *axes)
{
    struct kiln_lfuse *f = lc->fuse;
    int32_t buf = slot_buf(lc, slot);
    KILN_ASSERT(f && buf < f->n_map);
    int32_t v = kiln_lk_var(lc, val->type, lc->m->bufs[buf].name);
    kiln_lb_set(lc, b, v, val);
    f->var[buf] = v;
    f->var_k[buf] = lc->k;
    if (f->in_loop || !f->anchor || lc->n != f->anchor || buf != f->anchor_buf)
        return;
    /* the anchor's result for one element: the epilogue goes here */
    const struct kiln_lbuf *ob = &lc->m->bufs[buf];
    f->in_loop = true;
    f->blk = b;
    f->flat = idx;
    f->loop_buf = buf;
    if (axes)
        memcpy(f->idx, axes, (size_t)ob->rank * sizeof *axes);
    else
        kiln_lower_unflatten(lc, slot, idx, f->idx);
    lower_elementwise(lc, f, 1);
    f->in_loop = false;
    f->epilogues++;
}

int32_t
kiln_lower_fused_result(struct kiln_lower_ctx *lc, enum kiln_dtype ct)
{
    const struct kiln_lfuse *f = lc->fuse;
    if (!f || f->result_buf < 0 || f->anchor_buf < 0)
        return -1;
    const struct kiln_lbuf *r = &lc->m->bufs[f->result_buf];
    if (r->kind == KILN_LBUF_REG || r->dtype != ct ||
        !kiln_lbuf_same_shape(r, &lc->m->bufs[f->anchor_buf]))
        return -1;
    return kiln_lower_slot(lc, f->result_buf);
}

struct kiln_lblock *
kiln_lower_fused_loop(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx **idx,
                      struct kiln_lx **flat)
{
    struct kiln_lfuse *f = lc->fuse;
    if (!f->in_loop)
        return NULL;
    int32_t buf = slot_buf(lc, slot);
    if (!kiln_lbuf_same_shape(&lc->m->bufs[buf], &lc->m->bufs[f->loop_buf]))
        fail(f, kiln_lower_unsupported(lc, "fused value '%s' does not have the shape of '%s'",
                                       lc->m->bufs[buf].name, lc->m->bufs[f->loop_buf].name));
    for (int i = 0; i < lc->m->bufs[buf].rank; i++)
        idx[i] = f->idx[i];
    *flat = f->flat;
    return f->blk;
}

enum kiln_status
kiln_lower_fused(struct kiln_lower_ctx *lc)
{
    const struct kiln_node *fn = lc->n;
    const struct kiln_graph *g = lc->g, *body = fn->body;
    struct kiln_lmodule *m = lc->m;
    if (!body || body->n_inputs != fn->n_in || body->n_outputs != fn->n_out || body->n_nodes < 1)
        return kiln_lower_unsupported(lc, "fused node without a body that matches its operands");
    /* body inputs are the node's operands, body outputs its results */
    for (int32_t i = 0; i < fn->n_in; i++) {
        if (fn->in[i] < 0)
            return kiln_lower_unsupported(lc, "fused node with an absent operand");
        kiln_lower_bind_value(m, body, body->inputs[i], kiln_lower_value_buf(m, g, fn->in[i]));
    }
    for (int32_t i = 0; i < body->n_values; i++) {
        const struct kiln_value *v = body->values[i];
        if (v->kind == KILN_VALUE_CONST && v->n_uses > 0 &&
            kiln_lower_add_buf(lc, body, i, KILN_LBUF_CONST) < 0)
            return KILN_ERR_UNSUPPORTED;
    }
    for (int32_t j = 0; j < fn->n_out; j++) {
        const struct kiln_value *bo = body->values[body->outputs[j]];
        if (fn->out[j] < 0 || bo->kind != KILN_VALUE_NODE)
            return kiln_lower_unsupported(
                lc, "fused result %d is absent or not computed by the body", (int)j);
        kiln_lower_bind_value(m, body, body->outputs[j], kiln_lower_value_buf(m, g, fn->out[j]));
    }
    /* every other value the body computes is a register */
    for (int32_t i = 0; i < body->n_nodes; i++) {
        const struct kiln_node *n = body->nodes[i];
        for (int32_t k = 0; k < n->n_out && !n->dead; k++)
            if (n->out[k] >= 0 && kiln_lower_value_buf(m, body, n->out[k]) < 0 &&
                kiln_lower_add_buf(lc, body, n->out[k], KILN_LBUF_REG) < 0)
                return KILN_ERR_UNSUPPORTED;
    }
    struct kiln_lfuse f = {.body = body, .anchor_buf = -1, .loop_buf = -1, .n_map = m->n_bufs};
    f.result_buf = fn->n_out == 1 ? kiln_lower_value_buf(m, g, fn->out[0]) : -1;
    f.var = kiln_arena_array(m->arena, (size_t)m->n_bufs, sizeof *f.var);
    f.var_k = kiln_arena_array(m->arena, (size_t)m->n_bufs, sizeof *f.var_k);
    KILN_ASSERT(f.var && f.var_k);
    for (int32_t i = 0; i < m->n_bufs; i++)
        f.var[i] = -1;
    const struct kiln_node *first = body->nodes[0];
    lc->fuse = &f;
    lc->g = body;
    if (is_anchor(first->op)) {
        f.anchor = first;
        f.anchor_buf = kiln_lower_value_buf(m, body, first->out[0]);
        lc->n = first;
        enum kiln_status st = kiln_lower_fn_of(first->op)(lc);
        if (st != KILN_OK)
            fail(&f, st);
        else if (f.epilogues == 0 && body->n_nodes > 1)
            fail(&f, kiln_lower_unsupported(lc, "%s cannot take an epilogue here",
                                            kiln_op_name(first->op)));
    } else {
        /* one loop over the first result: every body value has its shape */
        int32_t out = kiln_lower_slot(lc, kiln_lower_value_buf(m, g, fn->out[0]));
        struct kiln_lx *flat;
        f.blk = kiln_lower_loop_over(lc, out, f.idx, &flat);
        f.flat = flat;
        f.loop_buf = slot_buf(lc, out);
        f.in_loop = true;
        lower_elementwise(lc, &f, 0);
        f.in_loop = false;
    }
    lc->fuse = NULL;
    lc->g = g;
    lc->n = fn;
    return f.st;
}
