/*
 * profile.c - the layer table of a profiled artifact (profile.h).
 */
#include "codegen/profile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/shape.h"

/* "f32[1,64,56,56]"; a symbolic dim prints as '?'. */
static char *
type_text(const struct kiln_type *t)
{
    size_t cap = 32 + (size_t)(t ? t->rank : 0) * 21;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    if (!t) {
        snprintf(s, cap, "?");
        return s;
    }
    size_t n = (size_t)snprintf(s, cap, "%s[", kiln_dtype_name(t->dtype));
    for (int i = 0; i < t->rank; i++) {
        const struct kiln_dim d = t->dims[i];
        n += kiln_dim_is_const(d)
                 ? (size_t)snprintf(s + n, cap - n, "%s%" PRId64, i ? "," : "", d.n)
                 : (size_t)snprintf(s + n, cap - n, "%s?", i ? "," : "");
    }
    snprintf(s + n, cap - n, "]");
    return s;
}

/* The op, or a fused node's body ops joined by '+' (at most 6, then "+..."). */
static char *
op_text(const struct kiln_node *n)
{
    if (!n->body)
        return strdup(kiln_op_name(n->op));
    size_t cap = 160;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t len = 0;
    int shown = 0;
    s[0] = '\0';
    for (int32_t i = 0; i < n->body->n_nodes; i++) {
        const struct kiln_node *b = n->body->nodes[i];
        if (b->dead)
            continue;
        const char *name = shown == 6 ? "..." : kiln_op_name(b->op);
        if (shown > 6 || len + strlen(name) + 2 >= cap)
            break;
        len += (size_t)snprintf(s + len, cap - len, "%s%s", shown ? "+" : "", name);
        shown++;
    }
    return s;
}

/* Bytes of one value of g, or -1 when its type is not static. */
static int64_t
value_bytes(const struct kiln_graph *g, int32_t v)
{
    const struct kiln_type *t = &g->values[v]->type;
    int64_t numel = kiln_type_numel(t);
    uint64_t bytes;
    if (numel < 0 || !kiln_dtype_storage_bytes(t->dtype, numel, &bytes) || bytes > INT64_MAX)
        return -1;
    return (int64_t)bytes;
}

static int64_t
node_bytes(const struct kiln_graph *g, const struct kiln_node *n)
{
    int64_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        int32_t count = pass ? n->n_out : n->n_in;
        const int32_t *ids = pass ? n->out : n->in;
        for (int32_t i = 0; i < count; i++) {
            if (ids[i] < 0)
                continue;
            int64_t b = value_bytes(g, ids[i]);
            if (b < 0 || !kiln_add_i64(total, b, &total))
                return -1;
        }
    }
    return total;
}

/* Steps [from, to) go to layer `owner`, or (owner < 0) each to its own node's. */
static void
assign_steps(const struct kiln_lmodule *m, int32_t *node_of, int32_t from, int32_t to,
             int32_t owner)
{
    for (int32_t i = from; i < to; i++) {
        const struct kiln_lkernel *k = m->kernels[i];
        int32_t self = owner >= 0 ? owner : k->node;
        node_of[i] = self;
        int32_t body = k->step == KILN_LSTEP_IF     ? k->n_then + k->n_else
                       : k->step == KILN_LSTEP_LOOP ? k->n_body
                                                    : 0;
        if (body > 0) {
            assign_steps(m, node_of, i + 1, i + 1 + body, self);
            i += body;
        }
    }
}

static void
count_params(const struct kiln_graph *g, struct kiln_lprof *p)
{
    for (int32_t v = 0; v < g->n_values; v++) {
        const struct kiln_value *val = g->values[v];
        if (val->kind == KILN_VALUE_CONST && val->data && val->n_uses > 0) {
            p->params += kiln_tensor_numel(val->data);
            p->param_bytes += (int64_t)val->data->nbytes;
        }
    }
}

enum kiln_status
kiln_lprof_build(const struct kiln_lmodule *m, struct kiln_lprof *p)
{
    const struct kiln_graph *g = m->g;
    memset(p, 0, sizeof *p);
    int32_t *node_of = calloc((size_t)m->n_kernels + 1, sizeof *node_of);
    int32_t *layer_of_node = malloc(((size_t)g->n_nodes + 1) * sizeof *layer_of_node);
    p->kernel_layer = calloc((size_t)m->n_kernels + 1, sizeof *p->kernel_layer);
    p->layers = calloc((size_t)m->n_kernels + 1, sizeof *p->layers);
    enum kiln_status st = KILN_OK;
    if (!node_of || !layer_of_node || !p->kernel_layer || !p->layers) {
        st = KILN_ERR_NOMEM;
        goto out;
    }
    for (int32_t i = 0; i < g->n_nodes; i++)
        layer_of_node[i] = -1;
    assign_steps(m, node_of, 0, m->n_kernels, -1);
    for (int32_t i = 0; i < m->n_kernels; i++) {
        int32_t id = node_of[i];
        if (id < 0 || id >= g->n_nodes) { /* a copy kernel of no node: a layer of its own */
            p->kernel_layer[i] = p->n_layers;
            struct kiln_lprof_layer *l = &p->layers[p->n_layers++];
            l->name = m->kernels[i]->name;
            l->op = strdup("copy");
            l->shape = strdup("");
            l->flops = 0;
            l->bytes = -1;
            if (!l->op || !l->shape)
                st = KILN_ERR_NOMEM;
            continue;
        }
        if (layer_of_node[id] < 0) {
            const struct kiln_node *n = g->nodes[id];
            layer_of_node[id] = p->n_layers;
            struct kiln_lprof_layer *l = &p->layers[p->n_layers++];
            l->name = n->name[0] ? n->name : kiln_op_name(n->op);
            l->op = op_text(n);
            l->shape =
                type_text(n->n_out > 0 && n->out[0] >= 0 ? &g->values[n->out[0]]->type : NULL);
            l->flops = kiln_op_info(n->op)->flops(g, n);
            l->bytes = node_bytes(g, n);
            if (!l->op || !l->shape)
                st = KILN_ERR_NOMEM;
        }
        p->kernel_layer[i] = layer_of_node[id];
        if (m->kernels[i]->method && strncmp(m->kernels[i]->method, "input copy", 10) != 0)
            p->layers[layer_of_node[id]].method = m->kernels[i]->method;
    }
    for (int32_t i = 0; i < p->n_layers; i++)
        if (!p->layers[i].method)
            p->layers[i].method = "";
    /* the weights the graph uses (not the packed copies kernels read), a
     * fused body's own constants included */
    count_params(g, p);
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->dead && g->nodes[i]->body)
            count_params(g->nodes[i]->body, p);
out:
    free(node_of);
    free(layer_of_node);
    if (st != KILN_OK)
        kiln_lprof_free(p);
    return st;
}

void
kiln_lprof_free(struct kiln_lprof *p)
{
    for (int32_t i = 0; p->layers && i < p->n_layers; i++) {
        free(p->layers[i].op);
        free(p->layers[i].shape);
    }
    free(p->layers);
    free(p->kernel_layer);
    memset(p, 0, sizeof *p);
}
