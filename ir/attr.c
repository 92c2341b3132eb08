/*
 * attr.c - typed node attributes: sorted insertion and typed getters.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

static const char *const attr_kind_names[] = {
    [KILN_ATTR_INT] = "int",       [KILN_ATTR_FLOAT] = "float",     [KILN_ATTR_STRING] = "string",
    [KILN_ATTR_TENSOR] = "tensor", [KILN_ATTR_GRAPH] = "graph",     [KILN_ATTR_INTS] = "ints",
    [KILN_ATTR_FLOATS] = "floats", [KILN_ATTR_STRINGS] = "strings", [KILN_ATTR_TENSORS] = "tensors",
    [KILN_ATTR_GRAPHS] = "graphs",
};
_Static_assert(sizeof attr_kind_names / sizeof attr_kind_names[0] == KILN_ATTR_COUNT,
               "attr_kind_names must cover enum kiln_attr_kind");

const char *
kiln_attr_kind_name(enum kiln_attr_kind k)
{
    return (unsigned)k < KILN_ATTR_COUNT ? attr_kind_names[k] : "?";
}

void
kiln_node_set_attr(struct kiln_graph *g, struct kiln_node *n, const struct kiln_attr *a)
{
    int lo = 0, hi = n->n_attrs;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(n->attrs[mid].name, a->name);
        if (c == 0) {
            n->attrs[mid] = *a;
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    struct kiln_attr *na = kiln_arena_array(g->arena, (size_t)n->n_attrs + 1, sizeof *na);
    KILN_ASSERT(na);
    if (lo)
        memcpy(na, n->attrs, (size_t)lo * sizeof *na);
    na[lo] = *a;
    if (n->n_attrs > lo)
        memcpy(na + lo + 1, n->attrs + lo, (size_t)(n->n_attrs - lo) * sizeof *na);
    n->attrs = na;
    n->n_attrs++;
}

static int
attr_name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kiln_attr *)a)->name, ((const struct kiln_attr *)b)->name);
}

const char *
kiln_node_set_attrs(struct kiln_node *n, struct kiln_attr *attrs, int32_t count)
{
    if (count > 0)
        qsort(attrs, (size_t)count, sizeof *attrs, attr_name_cmp);
    for (int32_t i = 1; i < count; i++)
        if (strcmp(attrs[i].name, attrs[i - 1].name) == 0)
            return attrs[i].name;
    n->attrs = attrs;
    n->n_attrs = count;
    return NULL;
}

const struct kiln_attr *
kiln_node_attr(const struct kiln_node *n, const char *name)
{
    int lo = 0, hi = n->n_attrs;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(n->attrs[mid].name, name);
        if (c == 0)
            return &n->attrs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int64_t
kiln_node_attr_int(const struct kiln_node *n, const char *name, int64_t def)
{
    const struct kiln_attr *a = kiln_node_attr(n, name);
    return a && a->kind == KILN_ATTR_INT ? a->i : def;
}

float
kiln_node_attr_float(const struct kiln_node *n, const char *name, float def)
{
    const struct kiln_attr *a = kiln_node_attr(n, name);
    if (a && a->kind == KILN_ATTR_FLOAT)
        return a->f;
    return def;
}

const char *
kiln_node_attr_string(const struct kiln_node *n, const char *name, const char *def)
{
    const struct kiln_attr *a = kiln_node_attr(n, name);
    return a && a->kind == KILN_ATTR_STRING ? a->s : def;
}

const int64_t *
kiln_node_attr_ints(const struct kiln_node *n, const char *name, int64_t *len)
{
    const struct kiln_attr *a = kiln_node_attr(n, name);
    if (!a || a->kind != KILN_ATTR_INTS) {
        *len = 0;
        return NULL;
    }
    *len = a->n;
    return a->ints;
}

const float *
kiln_node_attr_floats(const struct kiln_node *n, const char *name, int64_t *len)
{
    const struct kiln_attr *a = kiln_node_attr(n, name);
    if (!a || a->kind != KILN_ATTR_FLOATS) {
        *len = 0;
        return NULL;
    }
    *len = a->n;
    return a->floats;
}

const struct kiln_tensor *
kiln_node_attr_tensor(const struct kiln_node *n, const char *name)
{
    const struct kiln_attr *a = kiln_node_attr(n, name);
    return a && a->kind == KILN_ATTR_TENSOR ? a->t : NULL;
}

struct kiln_graph *
kiln_node_attr_graph(const struct kiln_node *n, const char *name)
{
    const struct kiln_attr *a = kiln_node_attr(n, name);
    return a && a->kind == KILN_ATTR_GRAPH ? a->g : NULL;
}
