/*
 * stats.c - whole-graph statistics for `kiln inspect`: op histogram, parameter
 * count and bytes, FLOPs from the op table.
 */
#include "shape.h"

#include <string.h>

static void
stats_graph(const struct kiln_graph *g, struct kiln_graph_stats *s)
{
    for (int32_t i = 0; i < g->n_values; i++) {
        const struct kiln_value *v = g->values[i];
        if (v->kind == KILN_VALUE_CONST && v->data) {
            int64_t n = kiln_tensor_numel(v->data);
            if (n > 0)
                s->params += n;
            s->param_bytes += v->data->nbytes;
        }
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_node *n = g->nodes[i];
        if (n->dead)
            continue;
        s->nodes++;
        s->op_count[n->op]++;
        int64_t f = kiln_op_info(n->op)->flops(g, n);
        if (f < 0)
            s->flops_unknown_nodes++;
        else if (s->flops >= 0 && !kiln_add_i64(s->flops, f, &s->flops))
            s->flops = -1;
        for (int32_t k = 0; k < n->n_attrs; k++) {
            const struct kiln_attr *a = &n->attrs[k];
            if (a->kind == KILN_ATTR_GRAPH && a->g)
                stats_graph(a->g, s);
            for (int64_t j = 0; a->kind == KILN_ATTR_GRAPHS && j < a->n; j++)
                stats_graph(a->graphs[j], s);
        }
    }
}

void
kiln_graph_stats(const struct kiln_graph *g, struct kiln_graph_stats *s)
{
    memset(s, 0, sizeof *s);
    stats_graph(g, s);
    if (s->flops_unknown_nodes)
        s->flops = s->flops >= 0 ? s->flops : -1;
}
