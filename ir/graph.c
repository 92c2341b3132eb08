/*
 * graph.c - graph construction and mutation: values, nodes, uses, name index,
 * captures of enclosing-graph values, topological sort and compaction.
 *
 * Everything is allocated in the root graph's arena. Vectors grow by copying
 * into a larger arena block (the old block is simply abandoned until the graph
 * is freed): graphs are built once and rewritten a little, so the waste is
 * bounded by a factor of two.
 */
#include "shape.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct kiln_mapping {
    void *addr;
    size_t len;
    struct kiln_mapping *next;
};

/* Grow a vector of elements of `size` bytes so that it can hold `need`. */
static void *
vec_reserve(struct kiln_arena *a, void *v, int32_t n, int32_t *cap, int32_t need, size_t size)
{
    if (need <= *cap)
        return v;
    int32_t c = *cap ? *cap : 4;
    while (c < need) {
        KILN_ASSERT(c <= INT32_MAX / 2);
        c *= 2;
    }
    void *nv = kiln_arena_grow(a, v, (size_t)n, (size_t)c, size);
    KILN_ASSERT(nv); /* out of memory building a graph: no recovery path */
    *cap = c;
    return nv;
}

static struct kiln_graph *
graph_alloc(struct kiln_arena *a, const char *name)
{
    struct kiln_graph *g = kiln_arena_alloc(a, sizeof *g);
    if (!g)
        return NULL;
    g->arena = a;
    g->name = kiln_arena_strdup(a, name && name[0] ? name : "main");
    g->producer = "";
    return g;
}

struct kiln_graph *
kiln_graph_new(const char *name)
{
    struct kiln_arena *a = kiln_arena_new();
    if (!a)
        return NULL;
    struct kiln_graph *g = graph_alloc(a, name);
    if (!g)
        kiln_arena_free(a);
    return g;
}

struct kiln_graph *
kiln_graph_new_sub(struct kiln_graph *parent, const char *name)
{
    struct kiln_graph *g = graph_alloc(parent->arena, name);
    KILN_ASSERT(g);
    g->parent = parent;
    g->opset = parent->opset;
    g->opset_ml = parent->opset_ml;
    return g;
}

static struct kiln_graph *
graph_root(struct kiln_graph *g)
{
    while (g->parent)
        g = g->parent;
    return g;
}

void
kiln_graph_free(struct kiln_graph *g)
{
    if (!g)
        return;
    KILN_ASSERT(!g->parent);
    for (struct kiln_mapping *m = g->mappings; m; m = m->next)
        munmap(m->addr, m->len);
    kiln_arena_free(g->arena);
}

void
kiln_graph_add_mapping(struct kiln_graph *g, void *addr, size_t len)
{
    g = graph_root(g);
    struct kiln_mapping *m = kiln_arena_alloc(g->arena, sizeof *m);
    KILN_ASSERT(m);
    m->addr = addr;
    m->len = len;
    m->next = g->mappings;
    g->mappings = m;
}

const char *
kiln_graph_intern_n(struct kiln_graph *g, const char *s, size_t n)
{
    const char *p = kiln_arena_strndup(g->arena, s, n);
    KILN_ASSERT(p);
    return p;
}

const char *
kiln_graph_intern(struct kiln_graph *g, const char *s)
{
    return kiln_graph_intern_n(g, s, strlen(s));
}

/* ---------------------------------------------------------------- name index */

static uint32_t
name_hash(const char *s)
{
    return (uint32_t)kiln_fnv1a64(s, strlen(s));
}

static void name_index_insert(struct kiln_graph *g, int32_t id);

static void
name_index_rehash(struct kiln_graph *g, uint32_t cap)
{
    g->name_index = kiln_arena_array(g->arena, cap, sizeof(int32_t));
    KILN_ASSERT(g->name_index);
    for (uint32_t i = 0; i < cap; i++)
        g->name_index[i] = -1;
    g->name_cap = cap;
    for (int32_t i = 0; i < g->n_values; i++)
        name_index_insert(g, i);
}

static void
name_index_insert(struct kiln_graph *g, int32_t id)
{
    uint32_t mask = g->name_cap - 1;
    uint32_t h = name_hash(g->values[id]->name) & mask;
    while (g->name_index[h] >= 0)
        h = (h + 1) & mask;
    g->name_index[h] = id;
}

int32_t
kiln_graph_find_value(const struct kiln_graph *g, const char *name)
{
    if (!g->name_cap)
        return -1;
    uint32_t mask = g->name_cap - 1;
    uint32_t h = name_hash(name) & mask;
    while (g->name_index[h] >= 0) {
        int32_t id = g->name_index[h];
        if (strcmp(g->values[id]->name, name) == 0)
            return id;
        h = (h + 1) & mask;
    }
    return -1;
}

/* ---------------------------------------------------------------- values */

/* The index slot that holds value id, probed from its name's hash (every value
 * is in the index: kiln_graph_add_value inserts it). */
static int32_t *
name_slot(struct kiln_graph *g, int32_t id)
{
    uint32_t mask = g->name_cap - 1;
    uint32_t h = name_hash(g->values[id]->name) & mask;
    while (g->name_index[h] != id) {
        KILN_ASSERT(g->name_index[h] >= 0);
        h = (h + 1) & mask;
    }
    return &g->name_index[h];
}

void
kiln_graph_swap_names(struct kiln_graph *g, int32_t a, int32_t b)
{
    KILN_ASSERT(a >= 0 && a < g->n_values && b >= 0 && b < g->n_values);
    /* the same names in the same slots, under each other's ids: swap the ids of
     * the two slots (constant time; a rebuild here made fusion quadratic) */
    int32_t *sa = name_slot(g, a), *sb = name_slot(g, b);
    const char *t = g->values[a]->name;
    g->values[a]->name = g->values[b]->name;
    g->values[b]->name = t;
    *sa = b;
    *sb = a;
}

int32_t
kiln_graph_add_value(struct kiln_graph *g, const char *name, enum kiln_value_kind kind)
{
    char fresh[32];
    if (!name || !name[0]) {
        /* "_" and digits cannot collide with ONNX's usual names often; loop until unique */
        int32_t k = g->n_values;
        do
            snprintf(fresh, sizeof fresh, "_%d", (int)k++);
        while (kiln_graph_find_value(g, fresh) >= 0);
        name = fresh;
    } else if (kiln_graph_find_value(g, name) >= 0) {
        return -1;
    }
    g->values = vec_reserve(g->arena, g->values, g->n_values, &g->cap_values, g->n_values + 1,
                            sizeof *g->values);
    struct kiln_value *v = kiln_arena_alloc(g->arena, sizeof *v);
    KILN_ASSERT(v);
    v->id = g->n_values;
    v->name = kiln_graph_intern(g, name);
    v->kind = kind;
    v->type.dtype = KILN_DT_INVALID;
    v->type.rank = -1;
    v->producer = -1;
    v->producer_slot = -1;
    v->outer = -1;
    g->values[g->n_values++] = v;
    if ((uint32_t)g->n_values * 2 > g->name_cap)
        name_index_rehash(g, g->name_cap ? g->name_cap * 2 : 64);
    else
        name_index_insert(g, v->id);
    return v->id;
}

static int32_t
graph_add_capture(struct kiln_graph *g, const char *name, int32_t outer)
{
    int32_t id = kiln_graph_add_value(g, name, KILN_VALUE_CAPTURE);
    KILN_ASSERT(id >= 0);
    struct kiln_value *v = g->values[id];
    const struct kiln_value *ov = g->parent->values[outer];
    v->outer = outer;
    v->type = ov->type;
    g->captures = vec_reserve(g->arena, g->captures, g->n_captures, &g->cap_captures,
                              g->n_captures + 1, sizeof *g->captures);
    g->captures[g->n_captures++] = id;
    return id;
}

int32_t
kiln_graph_resolve_value(struct kiln_graph *g, const char *name)
{
    int32_t id = kiln_graph_find_value(g, name);
    if (id >= 0 || !g->parent)
        return id;
    /* capture through every intermediate graph, so each level's dependency is explicit */
    int32_t outer = kiln_graph_resolve_value(g->parent, name);
    if (outer < 0)
        return -1;
    return graph_add_capture(g, name, outer);
}

int32_t
kiln_graph_add_input(struct kiln_graph *g, const char *name)
{
    int32_t id = kiln_graph_add_value(g, name, KILN_VALUE_INPUT);
    if (id < 0)
        return -1;
    g->inputs = vec_reserve(g->arena, g->inputs, g->n_inputs, &g->cap_inputs, g->n_inputs + 1,
                            sizeof *g->inputs);
    g->inputs[g->n_inputs++] = id;
    return id;
}

void
kiln_graph_add_output(struct kiln_graph *g, int32_t value)
{
    KILN_ASSERT(value >= 0 && value < g->n_values);
    g->outputs = vec_reserve(g->arena, g->outputs, g->n_outputs, &g->cap_outputs, g->n_outputs + 1,
                             sizeof *g->outputs);
    g->outputs[g->n_outputs++] = value;
    g->values[value]->is_output = true;
}

int32_t
kiln_graph_add_const(struct kiln_graph *g, const char *name, struct kiln_tensor *t)
{
    int32_t id = kiln_graph_add_value(g, name, KILN_VALUE_CONST);
    if (id < 0)
        return -1;
    struct kiln_value *v = g->values[id];
    v->data = t;
    v->type.dtype = t->dtype;
    v->type.rank = t->rank;
    v->type.dims =
        kiln_arena_array(g->arena, (size_t)(t->rank > 0 ? t->rank : 1), sizeof *v->type.dims);
    KILN_ASSERT(v->type.dims);
    for (int i = 0; i < t->rank; i++)
        v->type.dims[i] = kiln_dim_const(t->dims[i]);
    return id;
}

/* ---------------------------------------------------------------- uses */

static void
use_add(struct kiln_graph *g, int32_t value, int32_t node, int32_t slot)
{
    struct kiln_value *v = g->values[value];
    v->uses =
        vec_reserve(g->arena, v->uses, v->n_uses, &v->cap_uses, v->n_uses + 1, sizeof *v->uses);
    v->uses[v->n_uses].node = node;
    v->uses[v->n_uses].slot = slot;
    v->n_uses++;
}

static void
use_remove(struct kiln_graph *g, int32_t value, int32_t node, int32_t slot)
{
    struct kiln_value *v = g->values[value];
    for (int32_t i = 0; i < v->n_uses; i++) {
        if (v->uses[i].node == node && v->uses[i].slot == slot) {
            v->uses[i] = v->uses[--v->n_uses];
            return;
        }
    }
    KILN_ASSERT(!"use list out of sync");
}

/* ---------------------------------------------------------------- nodes */

static int
str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A name that occurs twice among the non-empty names, or NULL; O(n log n). */
static const char *
first_duplicate(const char *const *names, int32_t n)
{
    if (n <= 16) {
        for (int32_t i = 0; i < n; i++)
            for (int32_t j = 0; j < i && names[i] && names[i][0]; j++)
                if (names[j] && strcmp(names[i], names[j]) == 0)
                    return names[i];
        return NULL;
    }
    const char **s = malloc((size_t)n * sizeof *s);
    KILN_ASSERT(s);
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (names[i] && names[i][0])
            s[k++] = names[i];
    qsort(s, (size_t)k, sizeof *s, str_ptr_cmp);
    const char *dup = NULL;
    for (int32_t i = 1; i < k && !dup; i++)
        if (strcmp(s[i], s[i - 1]) == 0)
            dup = s[i];
    free(s);
    return dup;
}

struct kiln_node *
kiln_graph_add_node(struct kiln_graph *g, enum kiln_op op, const char *name, const int32_t *in,
                    int32_t n_in, const char *const *out_names, int32_t n_out, struct kiln_diag *d)
{
    KILN_ASSERT((unsigned)op < KILN_OP_COUNT && n_in >= 0 && n_out >= 0);
    const char *dup = NULL;
    for (int32_t i = 0; i < n_out && !dup; i++) {
        const char *nm = out_names ? out_names[i] : NULL;
        if (nm && nm[0] && kiln_graph_find_value(g, nm) >= 0)
            dup = nm;
    }
    if (!dup && out_names && n_out > 1)
        dup = first_duplicate(out_names, n_out);
    if (dup) {
        kiln_diag_node(d, name ? name : "", g->n_nodes, kiln_op_name(op),
                       "value '%s' is defined more than once", dup);
        return NULL;
    }
    g->nodes = vec_reserve(g->arena, g->nodes, g->n_nodes, &g->cap_nodes, g->n_nodes + 1,
                           sizeof *g->nodes);
    struct kiln_node *n = kiln_arena_alloc(g->arena, sizeof *n);
    KILN_ASSERT(n);
    n->id = g->n_nodes;
    n->op = op;
    n->name = kiln_graph_intern(g, name ? name : "");
    n->n_in = n_in;
    n->n_out = n_out;
    n->in = kiln_arena_array(g->arena, (size_t)(n_in ? n_in : 1), sizeof *n->in);
    n->out = kiln_arena_array(g->arena, (size_t)(n_out ? n_out : 1), sizeof *n->out);
    KILN_ASSERT(n->in && n->out);
    g->nodes[g->n_nodes++] = n;
    for (int32_t i = 0; i < n_in; i++) {
        n->in[i] = in[i];
        if (in[i] >= 0) {
            KILN_ASSERT(in[i] < g->n_values);
            use_add(g, in[i], n->id, i);
        }
    }
    for (int32_t i = 0; i < n_out; i++) {
        const char *nm = out_names ? out_names[i] : NULL;
        if (!nm || !nm[0]) {
            n->out[i] = -1;
            continue;
        }
        int32_t v = kiln_graph_add_value(g, nm, KILN_VALUE_NODE);
        KILN_ASSERT(v >= 0); /* checked above */
        g->values[v]->producer = n->id;
        g->values[v]->producer_slot = i;
        n->out[i] = v;
    }
    return n;
}

void
kiln_node_set_input(struct kiln_graph *g, struct kiln_node *n, int32_t slot, int32_t value)
{
    KILN_ASSERT(slot >= 0 && slot < n->n_in);
    if (n->in[slot] >= 0)
        use_remove(g, n->in[slot], n->id, slot);
    n->in[slot] = value;
    if (value >= 0)
        use_add(g, value, n->id, slot);
}

void
kiln_value_replace_uses(struct kiln_graph *g, int32_t from, int32_t to)
{
    struct kiln_value *v = g->values[from];
    while (v->n_uses > 0) {
        struct kiln_use u = v->uses[v->n_uses - 1];
        kiln_node_set_input(g, g->nodes[u.node], u.slot, to);
    }
    for (int32_t i = 0; i < g->n_outputs; i++) {
        if (g->outputs[i] == from) {
            g->outputs[i] = to;
            g->values[to]->is_output = true;
        }
    }
    v->is_output = false;
    for (int32_t i = 0; i < g->n_outputs; i++)
        v->is_output |= g->outputs[i] == from;
}

void
kiln_graph_erase_node(struct kiln_graph *g, struct kiln_node *n)
{
    for (int32_t i = 0; i < n->n_in; i++) {
        if (n->in[i] >= 0)
            use_remove(g, n->in[i], n->id, i);
        n->in[i] = -1;
    }
    for (int32_t i = 0; i < n->n_out; i++)
        if (n->out[i] >= 0)
            g->values[n->out[i]]->producer = -1;
    n->dead = true;
}

void
kiln_graph_rebuild_uses(struct kiln_graph *g)
{
    for (int32_t i = 0; i < g->n_values; i++)
        g->values[i]->n_uses = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int32_t j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0)
                use_add(g, n->in[j], n->id, j);
    }
}

static void
graph_renumber(struct kiln_graph *g)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_node *n = g->nodes[i];
        n->id = i;
        for (int32_t j = 0; j < n->n_out; j++) {
            if (n->out[j] >= 0) {
                g->values[n->out[j]]->producer = i;
                g->values[n->out[j]]->producer_slot = j;
            }
        }
    }
    kiln_graph_rebuild_uses(g);
}

void
kiln_graph_compact(struct kiln_graph *g)
{
    int32_t k = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->dead)
            g->nodes[k++] = g->nodes[i];
    g->n_nodes = k;
    graph_renumber(g);
}

/* ---------------------------------------------------------------- topological sort */

/* Calls f(value id in g) for every value node n reads: operands and the captures of
 * its sub-graphs (attributes of kind graph/graphs, and a fused body). */
static void
node_deps(const struct kiln_graph *g, const struct kiln_node *n, void (*f)(int32_t, void *),
          void *ctx)
{
    for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0)
            f(n->in[i], ctx);
    for (int32_t i = 0; i < n->n_attrs + 1; i++) {
        struct kiln_graph *const *subs;
        int64_t n_subs;
        struct kiln_graph *one;
        if (i == n->n_attrs) {
            one = n->body;
            subs = &one;
            n_subs = one != NULL;
        } else if (n->attrs[i].kind == KILN_ATTR_GRAPH) {
            subs = &n->attrs[i].g;
            n_subs = 1;
        } else if (n->attrs[i].kind == KILN_ATTR_GRAPHS) {
            subs = n->attrs[i].graphs;
            n_subs = n->attrs[i].n;
        } else {
            continue;
        }
        for (int64_t s = 0; s < n_subs; s++) {
            const struct kiln_graph *sg = subs[s];
            if (!sg || sg->parent != g)
                continue;
            for (int32_t c = 0; c < sg->n_captures; c++)
                f(sg->values[sg->captures[c]]->outer, ctx);
        }
    }
}

struct sort_ctx {
    const struct kiln_graph *g;
    int32_t *indeg;
    int32_t self;
    int32_t **succ; /* successor lists per producer node */
    int32_t *n_succ, *cap_succ;
    struct kiln_arena *a;
    int32_t missing; /* a value with kind NODE and no live producer, or -1 */
};

static void
sort_count(int32_t value, void *p)
{
    struct sort_ctx *s = p;
    const struct kiln_value *v = s->g->values[value];
    if (v->kind != KILN_VALUE_NODE)
        return;
    if (v->producer < 0 || s->g->nodes[v->producer]->dead) {
        s->missing = value;
        return;
    }
    int32_t pnode = v->producer;
    s->indeg[s->self]++;
    s->succ[pnode] = vec_reserve(s->a, s->succ[pnode], s->n_succ[pnode], &s->cap_succ[pnode],
                                 s->n_succ[pnode] + 1, sizeof(int32_t));
    s->succ[pnode][s->n_succ[pnode]++] = s->self;
}

/* min-heap of node indices, so that ties keep the original order */
static void
heap_push(int32_t *h, int32_t *n, int32_t x)
{
    int32_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > x) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static int32_t
heap_pop(int32_t *h, int32_t *n)
{
    int32_t top = h[0], x = h[--(*n)], i = 0;
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= x)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = x;
    return top;
}

enum kiln_status
kiln_graph_sort(struct kiln_graph *g, struct kiln_diag *d)
{
    int32_t n = g->n_nodes;
    struct kiln_arena *a = kiln_arena_new();
    if (!a)
        return KILN_ERR_NOMEM;
    struct sort_ctx s = {.g = g, .a = a, .missing = -1};
    s.indeg = kiln_arena_array(a, (size_t)n + 1, sizeof(int32_t));
    s.succ = kiln_arena_array(a, (size_t)n + 1, sizeof(int32_t *));
    s.n_succ = kiln_arena_array(a, (size_t)n + 1, sizeof(int32_t));
    s.cap_succ = kiln_arena_array(a, (size_t)n + 1, sizeof(int32_t));
    int32_t *heap = kiln_arena_array(a, (size_t)n + 1, sizeof(int32_t));
    int32_t *order = kiln_arena_array(a, (size_t)n + 1, sizeof(int32_t));
    if (!s.indeg || !s.succ || !s.n_succ || !s.cap_succ || !heap || !order) {
        kiln_arena_free(a);
        return KILN_ERR_NOMEM;
    }
    for (int32_t i = 0; i < n; i++) {
        if (g->nodes[i]->dead)
            continue;
        s.self = i;
        node_deps(g, g->nodes[i], sort_count, &s);
        if (s.missing >= 0) {
            const struct kiln_node *bad = g->nodes[i];
            kiln_diag_node(d, bad->name, bad->id, kiln_op_name(bad->op),
                           "operand '%s' is not defined by any node", g->values[s.missing]->name);
            kiln_arena_free(a);
            return KILN_ERR_INVALID;
        }
    }
    int32_t n_heap = 0, n_order = 0, n_live = 0;
    for (int32_t i = 0; i < n; i++) {
        if (g->nodes[i]->dead)
            continue;
        n_live++;
        if (s.indeg[i] == 0)
            heap_push(heap, &n_heap, i);
    }
    while (n_heap > 0) {
        int32_t i = heap_pop(heap, &n_heap);
        order[n_order++] = i;
        for (int32_t k = 0; k < s.n_succ[i]; k++)
            if (--s.indeg[s.succ[i][k]] == 0)
                heap_push(heap, &n_heap, s.succ[i][k]);
    }
    if (n_order != n_live) {
        for (int32_t i = 0; i < n; i++) {
            if (!g->nodes[i]->dead && s.indeg[i] > 0) {
                const struct kiln_node *bad = g->nodes[i];
                kiln_diag_node(d, bad->name, bad->id, kiln_op_name(bad->op),
                               "the graph has a cycle through this node");
                break;
            }
        }
        kiln_arena_free(a);
        return KILN_ERR_INVALID;
    }
    struct kiln_node **sorted = kiln_arena_array(a, (size_t)n + 1, sizeof *sorted);
    if (!sorted) {
        kiln_arena_free(a);
        return KILN_ERR_NOMEM;
    }
    for (int32_t i = 0; i < n_order; i++)
        sorted[i] = g->nodes[order[i]];
    if (n_order)
        memcpy(g->nodes, sorted, (size_t)n_order * sizeof *sorted);
    g->n_nodes = n_order;
    kiln_arena_free(a);
    graph_renumber(g);
    return KILN_OK;
}

/* ---------------------------------------------------------------- symbol binding */

int64_t
kiln_graph_bind_dim(struct kiln_graph *g, const char *sym, int64_t value)
{
    int64_t bound = 0;
    for (int32_t i = 0; i < g->n_values; i++) {
        struct kiln_type *t = &g->values[i]->type;
        for (int r = 0; r < t->rank; r++) {
            /* N=4: 16*N -> 64, N*S -> 4*S (the remaining factors go in g's arena) */
            if (kiln_dim_subst(t->dims[r], sym, value, g->arena, &t->dims[r]))
                bound++;
        }
    }
    for (int32_t i = 0; i < g->n_assumes; i++) {
        kiln_dim_subst(g->assumes[i].a, sym, value, g->arena, &g->assumes[i].a);
        kiln_dim_subst(g->assumes[i].b, sym, value, g->arena, &g->assumes[i].b);
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_node *n = g->nodes[i];
        for (int32_t k = 0; k < n->n_attrs; k++) {
            if (n->attrs[k].kind == KILN_ATTR_GRAPH && n->attrs[k].g)
                bound += kiln_graph_bind_dim(n->attrs[k].g, sym, value);
            for (int64_t j = 0; n->attrs[k].kind == KILN_ATTR_GRAPHS && j < n->attrs[k].n; j++)
                bound += kiln_graph_bind_dim(n->attrs[k].graphs[j], sym, value);
        }
        if (n->body)
            bound += kiln_graph_bind_dim(n->body, sym, value);
    }
    return bound;
}

/* ---------------------------------------------------------------- for FLOP functions */

const struct kiln_type *
kiln_node_in_type(const struct kiln_graph *g, const struct kiln_node *n, int i)
{
    if (i < 0 || i >= n->n_in || n->in[i] < 0)
        return NULL;
    return &g->values[n->in[i]]->type;
}

const struct kiln_type *
kiln_node_out_type(const struct kiln_graph *g, const struct kiln_node *n, int i)
{
    if (i < 0 || i >= n->n_out || n->out[i] < 0)
        return NULL;
    return &g->values[n->out[i]]->type;
}
