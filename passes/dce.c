/*
 * dce.c - the pass `dce`: remove nodes whose results nothing uses, and
 * constants nothing uses.
 *
 * A node is dead when none of its present results is used by a live node or
 * listed as a graph output; nodes are visited last to first so a chain dies
 * in one sweep. ONNX inference ops have no side effects, so every op
 * qualifies (random ops included: an unused sample need not be drawn).
 * Sub-graphs are swept too (their outputs are their roots); a value a
 * sub-graph captures counts as used. Graph inputs stay: they are the
 * interface. Establishes: every node and constant is needed. Complexity:
 * linear in the graph.
 */
#include <stdlib.h>

#include "pass.h"

static void
mark_captures(const struct kiln_graph *sg, bool *used, int32_t n_values)
{
    for (int32_t c = 0; sg && c < sg->n_captures; c++) {
        int32_t o = sg->values[sg->captures[c]]->outer;
        if (o >= 0 && o < n_values)
            used[o] = true;
    }
}

static void
dce_graph(struct kiln_pass_ctx *pc, struct kiln_graph *g, int depth)
{
    bool *captured = calloc((size_t)g->n_values + 1, sizeof *captured);
    KILN_ASSERT(captured);
    int64_t nodes = 0, consts = 0;
    for (int32_t i = g->n_nodes - 1; i >= 0; i--) {
        struct kiln_node *n = g->nodes[i];
        if (n->dead)
            continue;
        bool live = false;
        for (int32_t k = 0; k < n->n_out && !live; k++) {
            int32_t v = n->out[k];
            /* users come later in the order: their captures are marked by now */
            live = v >= 0 && (g->values[v]->n_uses > 0 || g->values[v]->is_output || captured[v]);
        }
        if (!live) {
            kiln_graph_erase_node(g, n);
            nodes++;
            continue;
        }
        /* a live node's sub-graphs: sweep them, and keep what they capture */
        for (int32_t a = 0; a < n->n_attrs; a++) {
            struct kiln_attr *at = &n->attrs[a];
            int64_t cnt = at->kind == KILN_ATTR_GRAPH    ? 1
                          : at->kind == KILN_ATTR_GRAPHS ? at->n
                                                         : 0;
            for (int64_t k = 0; k < cnt; k++) {
                struct kiln_graph *sg = at->kind == KILN_ATTR_GRAPH ? at->g : at->graphs[k];
                if (sg && depth < 64)
                    dce_graph(pc, sg, depth + 1);
                mark_captures(sg, captured, g->n_values);
            }
        }
        if (n->body && depth < 64)
            dce_graph(pc, n->body, depth + 1);
        mark_captures(n->body, captured, g->n_values);
    }
    for (int32_t i = 0; i < g->n_values; i++) {
        struct kiln_value *v = g->values[i];
        if (v->kind == KILN_VALUE_CONST && !v->dead && v->n_uses == 0 && !v->is_output &&
            !captured[i]) {
            v->dead = true;
            consts++;
        }
    }
    free(captured);
    if (nodes)
        kiln_graph_compact(g);
    kiln_pass_count(pc, "nodes removed", nodes);
    kiln_pass_count(pc, "constants removed", consts);
}

enum kiln_status
kiln_pass_dce(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    dce_graph(pc, g, 0);
    return KILN_OK;
}
