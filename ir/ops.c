/*
 * ops.c - the op table built from ops.def, op lookup by name, and the attribute
 * schema from op_attrs.def.
 */
#include "shape.h"

#include <string.h>

const struct kiln_op_info kiln_op_table[KILN_OP_COUNT] = {
#define KILN_OP(E, nm, dom, mi, ma, mo, mx, fl, shape, flops)                                      \
    [KILN_OP_##E] = {nm, KILN_DOMAIN_##dom, mi, ma, mo, mx, fl, shape, flops},
#include "ops.def"
#undef KILN_OP
};

static const char *const domain_names[] = {
    [KILN_DOMAIN_ONNX] = "ai.onnx",
    [KILN_DOMAIN_ML] = "ai.onnx.ml",
    [KILN_DOMAIN_MS] = "com.microsoft",
    [KILN_DOMAIN_KILN] = "kiln",
};
_Static_assert(sizeof domain_names / sizeof domain_names[0] == KILN_DOMAIN_COUNT,
               "domain_names must cover enum kiln_domain");

const char *
kiln_op_name(enum kiln_op op)
{
    return (unsigned)op < KILN_OP_COUNT ? kiln_op_table[op].name : "?";
}

const char *
kiln_domain_name(enum kiln_domain d)
{
    return (unsigned)d < KILN_DOMAIN_COUNT ? domain_names[d] : "?";
}

bool
kiln_domain_from_name(const char *s, enum kiln_domain *out)
{
    if (!s[0]) {
        *out = KILN_DOMAIN_ONNX;
        return true;
    }
    for (int i = 0; i < KILN_DOMAIN_COUNT; i++) {
        if (strcmp(s, domain_names[i]) == 0) {
            *out = (enum kiln_domain)i;
            return true;
        }
    }
    return false;
}

/* Sorted index of the table for binary search by (domain, name). */
static int op_index[KILN_OP_COUNT];
static _Atomic int op_index_ready;

static int
op_cmp(enum kiln_domain da, const char *na, enum kiln_domain db, const char *nb)
{
    if (da != db)
        return da < db ? -1 : 1;
    return strcmp(na, nb);
}

static void
op_index_build(void)
{
    /* insertion sort: runs once over ~200 rows */
    for (int i = 0; i < KILN_OP_COUNT; i++) {
        int j = i;
        while (j > 0 &&
               op_cmp(kiln_op_table[op_index[j - 1]].domain, kiln_op_table[op_index[j - 1]].name,
                      kiln_op_table[i].domain, kiln_op_table[i].name) > 0) {
            op_index[j] = op_index[j - 1];
            j--;
        }
        op_index[j] = i;
    }
    op_index_ready = 1;
}

bool
kiln_op_lookup(enum kiln_domain d, const char *name, enum kiln_op *out)
{
    if (!op_index_ready)
        op_index_build(); /* idempotent: a racing second build writes the same array */
    int lo = 0, hi = KILN_OP_COUNT - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const struct kiln_op_info *info = &kiln_op_table[op_index[mid]];
        int c = op_cmp(d, name, info->domain, info->name);
        if (c == 0) {
            *out = (enum kiln_op)op_index[mid];
            return true;
        }
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return false;
}

/* ---------------------------------------------------------------- attribute schema */

struct op_attr {
    enum kiln_op op;
    const char *name;
    enum kiln_attr_kind kind;
};

static const struct op_attr op_attrs[] = {
#define KILN_OP_ATTR(OP, nm, KIND) {KILN_OP_##OP, nm, KILN_ATTR_##KIND},
#include "op_attrs.def"
#undef KILN_OP_ATTR
};

unsigned
kiln_op_attr_kinds(enum kiln_op op, const char *name)
{
    unsigned kinds = 0;
    /* rows are grouped by op in table order; a linear scan is fine at ~400 rows */
    for (size_t i = 0; i < sizeof op_attrs / sizeof op_attrs[0]; i++)
        if (op_attrs[i].op == op && strcmp(op_attrs[i].name, name) == 0)
            kinds |= 1u << op_attrs[i].kind;
    return kinds;
}
