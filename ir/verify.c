/*
 * verify.c - the IR verifier, run after every pass under --verify-each (and in
 * debug builds).
 *
 * Checks, reporting every violation found (not only the first):
 *  - values: ids match their slots, names are non-empty and indexed, kinds are
 *    consistent (a node output names its producer and slot; a constant has
 *    data; a capture points into the parent graph), types are well formed and
 *    their sizes fit 64 bits;
 *  - nodes: operands exist and are defined earlier (topological order),
 *    operand/result counts fit the op table, attributes have a kind the op's
 *    schema (op_attrs.def) accepts, use lists match the operands;
 *  - types agree with the op's shape function: re-running it must not
 *    contradict a stored dtype, rank or constant dim;
 *  - sub-graphs, recursively.
 * Cost: O(nodes + values + uses) plus one shape-function call per node.
 */
#include "shape.h"

#include <string.h>

struct verify {
    struct kiln_diag *d;
    int errors;
};

static void
vfail_value(struct verify *vf, const struct kiln_graph *g, const struct kiln_value *v,
            const char *what)
{
    kiln_diag_error(vf->d, "verifier: graph '%s': value '%s': %s", g->name, v->name, what);
    vf->errors++;
}

static void
vfail_node(struct verify *vf, const struct kiln_graph *g, const struct kiln_node *n,
           const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    kiln_diag_node(vf->d, n->name, n->id, kiln_op_name(n->op), "verifier: graph '%s': %s", g->name,
                   msg);
    vf->errors++;
}

static bool
type_well_formed(const struct kiln_type *t)
{
    if (t->dtype <= KILN_DT_INVALID || t->dtype >= KILN_DT_COUNT)
        return false;
    if (t->rank > KILN_MAX_RANK || (t->rank > 0 && !t->dims))
        return false;
    for (int i = 0; i < t->rank; i++) {
        struct kiln_dim d = t->dims[i];
        if (!d.sym && d.n < 0 && d.n != KILN_DIM_UNKNOWN)
            return false;
    }
    return true;
}

/* Whether the freshly inferred type contradicts the stored one. */
static bool
type_contradicts(const struct kiln_type *stored, const struct kiln_type *fresh)
{
    if (fresh->dtype == KILN_DT_INVALID)
        return false;
    if (stored->dtype != fresh->dtype)
        return true;
    if (fresh->rank < 0 || stored->rank < 0)
        return false;
    if (stored->rank != fresh->rank)
        return true;
    for (int i = 0; i < fresh->rank; i++)
        if (kiln_dim_is_const(fresh->dims[i]) && kiln_dim_is_const(stored->dims[i]) &&
            fresh->dims[i].n != stored->dims[i].n)
            return true;
    return false;
}

static void verify_graph(struct verify *vf, struct kiln_graph *g, int depth);

static void
verify_node_types(struct verify *vf, struct kiln_graph *g, struct kiln_node *n)
{
    for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && g->values[n->in[i]]->type.dtype == KILN_DT_INVALID)
            return; /* reported as an untyped value already */
    struct kiln_type saved[64];
    int32_t k = n->n_out < 64 ? n->n_out : 64;
    for (int32_t i = 0; i < k; i++)
        if (n->out[i] >= 0)
            saved[i] = g->values[n->out[i]]->type;
    struct kiln_diag quiet;
    kiln_diag_init(&quiet, vf->d->file);
    struct kiln_infer_ctx ic = {.g = g, .n = n, .d = &quiet, .opset = g->opset};
    enum kiln_status st = kiln_op_info(n->op)->shape(&ic);
    for (int32_t i = 0; i < k; i++) {
        if (n->out[i] < 0)
            continue;
        struct kiln_value *v = g->values[n->out[i]];
        if (st == KILN_OK && type_contradicts(&saved[i], &v->type)) {
            char msg[256];
            snprintf(msg, sizeof msg, "output %d ('%%s') has a type its op does not produce",
                     (int)i);
            v->type = saved[i];
            vfail_node(vf, g, n, msg, v->name);
        }
        v->type = saved[i];
    }
    if (st != KILN_OK) {
        const char *why = quiet.n_msgs ? quiet.msgs[0].text : kiln_status_name(st);
        vfail_node(vf, g, n, "its shape function rejects it: %s", why);
    }
    kiln_diag_fini(&quiet);
}

static void
verify_node(struct verify *vf, struct kiln_graph *g, struct kiln_node *n, int32_t idx, int depth)
{
    const struct kiln_op_info *info = kiln_op_info(n->op);
    if ((unsigned)n->op >= KILN_OP_COUNT) {
        vfail_node(vf, g, n, "%s", "invalid op");
        return;
    }
    if (n->id != idx)
        vfail_node(vf, g, n, "%s", "node id does not match its position");
    if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in))
        vfail_node(vf, g, n, "%s", "operand count outside the op table's range");
    if (n->n_out < info->min_out || (info->max_out >= 0 && n->n_out > info->max_out))
        vfail_node(vf, g, n, "%s", "result count outside the op table's range");
    for (int32_t i = 0; i < n->n_in; i++) {
        int32_t id = n->in[i];
        if (id < 0)
            continue;
        if (id >= g->n_values) {
            vfail_node(vf, g, n, "%s", "operand id out of range");
            continue;
        }
        const struct kiln_value *v = g->values[id];
        if (v->kind == KILN_VALUE_NODE && (v->producer < 0 || v->producer >= idx))
            vfail_node(vf, g, n, "operand '%s' is not defined before its use", v->name);
        bool found = false;
        for (int32_t u = 0; u < v->n_uses && !found; u++)
            found = v->uses[u].node == n->id && v->uses[u].slot == i;
        if (!found)
            vfail_node(vf, g, n, "operand '%s' is missing from its use list", v->name);
    }
    for (int32_t i = 0; i < n->n_out; i++) {
        int32_t id = n->out[i];
        if (id < 0)
            continue;
        if (id >= g->n_values || g->values[id]->producer != n->id ||
            g->values[id]->producer_slot != i)
            vfail_node(vf, g, n, "%s", "result does not name this node as its producer");
    }
    for (int32_t i = 0; i < n->n_attrs; i++) {
        const struct kiln_attr *a = &n->attrs[i];
        if (i > 0 && strcmp(n->attrs[i - 1].name, a->name) >= 0)
            vfail_node(vf, g, n, "attribute '%s' is out of order or repeated", a->name);
        if (info->domain == KILN_DOMAIN_ONNX) {
            unsigned kinds = kiln_op_attr_kinds(n->op, a->name);
            if (kinds && !(kinds & (1u << a->kind)))
                vfail_node(vf, g, n, "attribute '%s' has the wrong kind", a->name);
        }
        if (a->kind == KILN_ATTR_GRAPH && a->g)
            verify_graph(vf, a->g, depth + 1);
        for (int64_t k = 0; a->kind == KILN_ATTR_GRAPHS && k < a->n; k++)
            verify_graph(vf, a->graphs[k], depth + 1);
    }
    if ((info->flags & KILN_OPF_FUSED) && !n->body)
        vfail_node(vf, g, n, "%s", "fused node without a body");
    if (n->body)
        verify_graph(vf, n->body, depth + 1);
    verify_node_types(vf, g, n);
}

static void
verify_graph(struct verify *vf, struct kiln_graph *g, int depth)
{
    if (depth > 64) {
        kiln_diag_error(vf->d, "verifier: sub-graphs nest deeper than 64 levels");
        vf->errors++;
        return;
    }
    int64_t n_uses = 0, n_operands = 0;
    for (int32_t i = 0; i < g->n_values; i++) {
        const struct kiln_value *v = g->values[i];
        if (v->id != i)
            vfail_value(vf, g, v, "id does not match its position");
        if (!v->name || !v->name[0]) {
            kiln_diag_error(vf->d, "verifier: graph '%s': value #%d has no name", g->name, (int)i);
            vf->errors++;
            continue;
        }
        if (kiln_graph_find_value(g, v->name) != i)
            vfail_value(vf, g, v, "name is not unique or not indexed");
        if (!type_well_formed(&v->type))
            vfail_value(vf, g, v, "type is missing or malformed");
        else if (!kiln_type_size_fits(&v->type))
            vfail_value(vf, g, v, "type's size overflows 64 bits");
        switch (v->kind) {
        case KILN_VALUE_NODE:
            if (v->producer >= g->n_nodes ||
                (v->producer >= 0 && g->nodes[v->producer]->out[v->producer_slot] != i))
                vfail_value(vf, g, v, "producer does not list it as an output");
            if (v->producer < 0 && (v->n_uses > 0 || v->is_output))
                vfail_value(vf, g, v, "is used but has no producer");
            break;
        case KILN_VALUE_CONST:
            if (!v->data)
                vfail_value(vf, g, v, "constant without data");
            break;
        case KILN_VALUE_CAPTURE:
            if (!g->parent || v->outer < 0 || v->outer >= g->parent->n_values)
                vfail_value(vf, g, v, "capture does not point into the enclosing graph");
            break;
        case KILN_VALUE_INPUT:
            break;
        }
        n_uses += v->n_uses;
    }
    for (int32_t i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] < 0 || g->inputs[i] >= g->n_values ||
            g->values[g->inputs[i]]->kind != KILN_VALUE_INPUT) {
            kiln_diag_error(vf->d, "verifier: graph '%s': input #%d is not an input value", g->name,
                            (int)i);
            vf->errors++;
        }
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] < 0 || g->outputs[i] >= g->n_values) {
            kiln_diag_error(vf->d, "verifier: graph '%s': output #%d is out of range", g->name,
                            (int)i);
            vf->errors++;
        }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int32_t k = 0; k < n->n_in; k++)
            n_operands += n->in[k] >= 0;
        verify_node(vf, g, n, i, depth);
    }
    if (n_uses != n_operands) {
        kiln_diag_error(vf->d, "verifier: graph '%s': use lists hold %lld uses for %lld operands",
                        g->name, (long long)n_uses, (long long)n_operands);
        vf->errors++;
    }
}

enum kiln_status
kiln_graph_verify(struct kiln_graph *g, struct kiln_diag *d)
{
    struct verify vf = {.d = d};
    verify_graph(&vf, g, 0);
    return vf.errors ? KILN_ERR_INTERNAL : KILN_OK;
}
