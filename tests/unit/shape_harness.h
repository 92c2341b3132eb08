/*
 * shape_harness.h - what the shape-function unit tests share: the CHECK
 * counters, a one-graph-per-case builder over the ir.h API, types written as
 * in the text IR ("f32[N,3,?]", "i64[]", "f32[*]", monomials like 16*N*S), and
 * the helpers that run inference and compare. Included by test_shapes_nn.c
 * and test_shapes_tensor.c (each a single translation unit).
 */
#ifndef KILN_SHAPE_HARNESS_H
#define KILN_SHAPE_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/shape.h"

#include "tests/unit/check.h"

/* Array literal plus its length, for value ids and int lists. */
#define IN(...) (const int32_t[]){__VA_ARGS__}, (int)(sizeof((int32_t[]){__VA_ARGS__}) / 4)
#define INTS(...) (const int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / 8)

/* ---------------------------------------------------------------- one case at a time */

static struct kiln_graph *G;
static struct kiln_diag D;
static int n_values;
static bool inferred;
static enum kiln_status status;
static int case_line;

static inline void
begin(int64_t opset, int line)
{
    G = kiln_graph_new("t");
    G->opset = opset;
    kiln_diag_init(&D, "test");
    n_values = 0;
    inferred = false;
    case_line = line;
}
#define BEGIN(opset) begin(opset, __LINE__)

static inline void
end(void)
{
    kiln_graph_free(G);
    kiln_diag_fini(&D);
}

/* Value names are unique across all graphs of a case, so captures are unambiguous. */
static inline const char *
fresh_name(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "v%d", n_values++);
    return buf;
}

/* Parse one dim [p, e): "?", "3", or a monomial "N", "16*N*S" (factors in any order). */
static inline struct kiln_dim
parse_dim(const char *p, const char *e)
{
    if (*p == '?')
        return kiln_dim_unknown();
    int64_t coef = 1;
    if (*p >= '0' && *p <= '9') {
        char *end;
        coef = strtoll(p, &end, 10);
        if (end == e)
            return kiln_dim_const(coef);
        p = end + 1; /* past the '*' */
    }
    char names[KILN_DIM_MAX_FACTORS][32];
    const char *factors[KILN_DIM_MAX_FACTORS];
    int n = 0;
    while (p < e) {
        const char *f = p;
        while (p < e && *p != '*')
            p++;
        snprintf(names[n], sizeof names[n], "%.*s", (int)(p - f), f);
        factors[n] = names[n];
        n++;
        if (p < e)
            p++;
    }
    return kiln_dim_monomial(coef, factors, n, G->arena);
}

/* Parse "f32[N,3,?]" or "f32[16*N,?]" into t (dims in G's arena). */
static inline void
parse_type(const char *s, struct kiln_type *t)
{
    const char *lb = strchr(s, '[');
    t->dtype = kiln_dtype_from_name(s, (size_t)(lb - s));
    t->dims = kiln_arena_array(G->arena, KILN_MAX_RANK, sizeof *t->dims);
    if (strcmp(lb, "[*]") == 0) {
        t->rank = -1;
        return;
    }
    t->rank = 0;
    const char *p = lb + 1;
    while (*p && *p != ']') {
        const char *e = p;
        while (*e != ',' && *e != ']')
            e++;
        t->dims[t->rank++] = parse_dim(p, e);
        p = *e == ',' ? e + 1 : e;
    }
}

static inline void
format_type(const struct kiln_type *t, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "%s[", kiln_dtype_name(t->dtype));
    if (t->rank < 0) {
        snprintf(buf + k, len - k, "*]");
        return;
    }
    for (int i = 0; i < t->rank; i++) {
        char d[128];
        kiln_dim_format(t->dims[i], d, sizeof d);
        k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? "," : "", d);
    }
    snprintf(buf + k, len - k, "]");
}

#endif
