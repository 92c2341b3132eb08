/*
 * cse.c - the pass `cse`: common-subexpression elimination.
 *
 * Two nodes are the same computation when they have the same op, the same
 * operands (value ids) and equal attributes; the later one's results are
 * replaced by the earlier one's and it is erased. Random ops and nodes with
 * sub-graphs are never merged. Constants with the same dtype, shape and bytes
 * are merged the same way (the later one dies). Values a sub-graph captures
 * are left alone (captures name them). Nodes are visited in topological
 * order, so chains of duplicates collapse in one sweep. Complexity: linear in
 * the graph, through a hash table keyed by (op, operands) and by constant
 * checksums.
 */
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

static uint64_t
mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
    return h;
}

static bool
tensor_eq(const struct kiln_tensor *a, const struct kiln_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || a->nbytes != b->nbytes || !a->data ||
        !b->data)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return memcmp(a->data, b->data, (size_t)a->nbytes) == 0;
}

static bool
attr_eq(const struct kiln_attr *a, const struct kiln_attr *b)
{
    if (strcmp(a->name, b->name) != 0 || a->kind != b->kind)
        return false;
    switch (a->kind) {
    case KILN_ATTR_INT:
        return a->i == b->i;
    case KILN_ATTR_FLOAT:
        return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case KILN_ATTR_STRING:
        return a->s_len == b->s_len && memcmp(a->s, b->s, a->s_len) == 0;
    case KILN_ATTR_TENSOR:
        return tensor_eq(a->t, b->t);
    case KILN_ATTR_INTS:
        return a->n == b->n && (!a->n || memcmp(a->ints, b->ints, (size_t)a->n * 8) == 0);
    case KILN_ATTR_FLOATS:
        return a->n == b->n && (!a->n || memcmp(a->floats, b->floats, (size_t)a->n * 4) == 0);
    case KILN_ATTR_STRINGS:
        if (a->n != b->n)
            return false;
        for (int64_t i = 0; i < a->n; i++)
            if (strcmp(a->strings[i], b->strings[i]) != 0)
                return false;
        return true;
    case KILN_ATTR_TENSORS:
        if (a->n != b->n)
            return false;
        for (int64_t i = 0; i < a->n; i++)
            if (!tensor_eq(a->tensors[i], b->tensors[i]))
                return false;
        return true;
    default:
        return false; /* graphs: never equal here */
    }
}

static bool
mergeable(const struct kiln_node *n)
{
    if (kiln_op_info(n->op)->flags & (KILN_OPF_RANDOM | KILN_OPF_CONTROL | KILN_OPF_FUSED))
        return false;
    for (int32_t i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].kind == KILN_ATTR_GRAPH || n->attrs[i].kind == KILN_ATTR_GRAPHS)
            return false;
    return true;
}

static bool
same_node(const struct kiln_node *a, const struct kiln_node *b)
{
    if (a->op != b->op || a->n_in != b->n_in || a->n_out != b->n_out || a->n_attrs != b->n_attrs)
        return false;
    for (int32_t i = 0; i < a->n_in; i++)
        if (a->in[i] != b->in[i])
            return false;
    for (int32_t i = 0; i < a->n_out; i++)
        if ((a->out[i] < 0) != (b->out[i] < 0))
            return false;
    for (int32_t i = 0; i < a->n_attrs; i++)
        if (!attr_eq(&a->attrs[i], &b->attrs[i]))
            return false;
    return true;
}

/* Whether a result of n is a graph output (its name is the interface: keep n). */
static bool
has_output(const struct kiln_graph *g, const struct kiln_node *n)
{
    for (int32_t k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && g->values[n->out[k]]->is_output)
            return true;
    return false;
}

static uint64_t
node_hash(const struct kiln_node *n)
{
    uint64_t h = mix(0, (uint64_t)n->op);
    for (int32_t i = 0; i < n->n_in; i++)
        h = mix(h, (uint64_t)(int64_t)n->in[i]);
    return h;
}

static void
cse_graph(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    bool *captured = kiln_rewrite_captured(g);
    uint32_t cap = 64;
    while (cap < (uint32_t)(g->n_nodes + g->n_values) * 2)
        cap *= 2;
    int32_t *table = malloc(cap * sizeof *table);
    KILN_ASSERT(table);
    /* constants: key = checksum of the bytes */
    memset(table, 0xff, cap * sizeof *table);
    int64_t merged_consts = 0, merged_nodes = 0;
    for (int32_t i = 0; i < g->n_values; i++) {
        struct kiln_value *v = g->values[i];
        if (v->kind != KILN_VALUE_CONST || v->dead || !v->data || !v->data->data || captured[i] ||
            v->quant || v->sparsity)
            continue;
        uint64_t h = mix(kiln_fnv1a64(v->data->data, (size_t)v->data->nbytes), v->data->dtype);
        for (uint32_t s = (uint32_t)h & (cap - 1);; s = (s + 1) & (cap - 1)) {
            if (table[s] < 0) {
                table[s] = i;
                break;
            }
            struct kiln_value *w = g->values[table[s]];
            if (tensor_eq(w->data, v->data) && !(v->is_output && !g->parent)) {
                kiln_value_replace_uses(g, i, w->id);
                v->dead = !v->is_output;
                merged_consts += v->dead;
                break;
            }
        }
    }
    /* nodes */
    memset(table, 0xff, cap * sizeof *table);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_node *n = g->nodes[i];
        if (n->dead || !mergeable(n))
            continue;
        bool skip = false;
        for (int32_t k = 0; k < n->n_out && !skip; k++)
            skip = n->out[k] >= 0 && captured[n->out[k]];
        if (skip)
            continue;
        uint64_t h = node_hash(n);
        for (uint32_t s = (uint32_t)h & (cap - 1);; s = (s + 1) & (cap - 1)) {
            if (table[s] < 0) {
                table[s] = i;
                break;
            }
            struct kiln_node *m = g->nodes[table[s]];
            if (!m->dead && same_node(m, n) && !(has_output(g, n) && !g->parent)) {
                for (int32_t k = 0; k < n->n_out; k++)
                    if (n->out[k] >= 0)
                        kiln_value_replace_uses(g, n->out[k], m->out[k]);
                kiln_graph_erase_node(g, n);
                merged_nodes++;
                break;
            }
        }
    }
    free(table);
    free(captured);
    if (merged_nodes)
        kiln_graph_compact(g);
    kiln_pass_count(pc, "nodes merged", merged_nodes);
    kiln_pass_count(pc, "constants merged", merged_consts);
}

enum kiln_status
kiln_pass_cse(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    cse_graph(pc, g);
    return KILN_OK;
}
