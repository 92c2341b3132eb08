/*
 * test_shapes_tensor.c - unit tests of the data-movement, constant, control-flow
 * and signal shape functions (shape_tensor.c): each case builds a small graph
 * with the ir.h API, runs kiln_graph_infer_shapes and checks the inferred output
 * types, or that a malformed node fails with a specific diagnostic. Also checks
 * the known-value chains exporters emit (Shape -> Gather -> Unsqueeze -> Concat
 * -> Reshape) and the FLOP counts of Resize and Fused.
 *
 * Types are written as in the text IR: "f32[N,3,?]", "i64[]" (scalar),
 * "f32[*]" (unknown rank); a name is a symbol, `16*N*S` a monomial, `?` an
 * unknown dim.
 * Prints one line per failed check and closes with "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/shape.h"

#include "shape_harness.h"

/* A graph input of the given type, in graph g. */
static int32_t
input_in(struct kiln_graph *g, const char *type)
{
    int32_t v = kiln_graph_add_input(g, fresh_name());
    parse_type(type, &g->values[v]->type);
    return v;
}

static int32_t
input(const char *type)
{
    return input_in(G, type);
}

/* A constant in g of dtype dt holding vals[0..n) as shape [n]; rank 0 when n < 0. */
static int32_t
const_in(struct kiln_graph *g, enum kiln_dtype dt, const int64_t *ivals, const float *fvals, int n)
{
    struct kiln_tensor *t = kiln_arena_alloc(G->arena, sizeof *t);
    int cnt = n < 0 ? 1 : n;
    int bytes = kiln_dtype_bits(dt) / 8;
    t->dtype = dt;
    t->rank = n < 0 ? 0 : 1;
    t->dims = kiln_arena_array(G->arena, 1, sizeof *t->dims);
    t->dims[0] = cnt;
    t->nbytes = (uint64_t)cnt * (uint64_t)bytes;
    unsigned char *p = kiln_arena_alloc(G->arena, t->nbytes + 1);
    for (int i = 0; i < cnt; i++) {
        if (dt == KILN_DT_F32) {
            memcpy(p + 4 * i, &fvals[i], 4);
        } else if (dt == KILN_DT_I64) {
            memcpy(p + 8 * i, &ivals[i], 8);
        } else if (dt == KILN_DT_I32) {
            int32_t x = (int32_t)ivals[i];
            memcpy(p + 4 * i, &x, 4);
        } else { /* bool, u8 */
            p[i] = (unsigned char)ivals[i];
        }
    }
    t->data = p;
    return kiln_graph_add_const(g, fresh_name(), t);
}

static int32_t
ci64(const int64_t *vals, int n)
{
    return const_in(G, KILN_DT_I64, vals, NULL, n);
}

static int32_t
scalar_i64(int64_t v)
{
    return const_in(G, KILN_DT_I64, &v, NULL, -1);
}

static int32_t
cf32(const float *vals, int n)
{
    return const_in(G, KILN_DT_F32, NULL, vals, n);
}
static int32_t
scalar_f32(float v)
{
    return const_in(G, KILN_DT_F32, NULL, &v, -1);
}

/* A 1-D bool constant (n >= 0) or a bool scalar (n < 0). */
static int32_t
cbool(const int64_t *vals, int n)
{
    return const_in(G, KILN_DT_BOOL, vals, NULL, n);
}

#define FLOATS(...) (const float[]){__VA_ARGS__}, (int)(sizeof((float[]){__VA_ARGS__}) / 4)

/* A node in g with n_out outputs, all present unless absent_mask has their bit set. */
static struct kiln_node *
node_mask_in(struct kiln_graph *g, enum kiln_op op, int n_out, unsigned absent_mask,
             const int32_t *in, int n_in)
{
    char names[8][32];
    const char *ptrs[8];
    for (int i = 0; i < n_out; i++) {
        snprintf(names[i], sizeof names[i], "%s", fresh_name());
        ptrs[i] = absent_mask & (1u << i) ? NULL : names[i];
    }
    struct kiln_node *n = kiln_graph_add_node(g, op, "n", in, n_in, ptrs, n_out, &D);
    CHECK(n != NULL);
    return n;
}

static struct kiln_node *
node_in(struct kiln_graph *g, enum kiln_op op, int n_out, const int32_t *in, int n_in)
{
    return node_mask_in(g, op, n_out, 0, in, n_in);
}

static struct kiln_node *
node(enum kiln_op op, int n_out, const int32_t *in, int n_in)
{
    return node_mask_in(G, op, n_out, 0, in, n_in);
}

/* Output value id i of n. */
static int32_t
out(const struct kiln_node *n, int i)
{
    return n->out[i];
}

/* Value v of the top graph as seen from sub-graph g (a capture). */
static int32_t
capture(struct kiln_graph *g, int32_t v)
{
    return kiln_graph_resolve_value(g, G->values[v]->name);
}

static void
attr_int(struct kiln_node *n, const char *name, int64_t v)
{
    struct kiln_attr a = {.name = name, .kind = KILN_ATTR_INT, .i = v};
    kiln_node_set_attr(G, n, &a);
}

static void
attr_float(struct kiln_node *n, const char *name, float v)
{
    struct kiln_attr a = {.name = name, .kind = KILN_ATTR_FLOAT, .f = v};
    kiln_node_set_attr(G, n, &a);
}

static void
attr_str(struct kiln_node *n, const char *name, const char *s)
{
    struct kiln_attr a = {.name = name, .kind = KILN_ATTR_STRING};
    a.s = kiln_graph_intern(G, s);
    a.s_len = strlen(s);
    kiln_node_set_attr(G, n, &a);
}

static void
attr_ints(struct kiln_node *n, const char *name, const int64_t *v, int k)
{
    struct kiln_attr a = {.name = name, .kind = KILN_ATTR_INTS, .n = k};
    a.ints = kiln_arena_memdup(G->arena, v, (size_t)(k ? k : 1) * sizeof *v);
    kiln_node_set_attr(G, n, &a);
}

static void
attr_floats(struct kiln_node *n, const char *name, const float *v, int k)
{
    struct kiln_attr a = {.name = name, .kind = KILN_ATTR_FLOATS, .n = k};
    a.floats = kiln_arena_memdup(G->arena, v, (size_t)(k ? k : 1) * sizeof *v);
    kiln_node_set_attr(G, n, &a);
}

static void
attr_graph(struct kiln_node *n, const char *name, struct kiln_graph *g)
{
    struct kiln_attr a = {.name = name, .kind = KILN_ATTR_GRAPH, .g = g};
    kiln_node_set_attr(G, n, &a);
}

/* A one-element tensor attribute of dtype dt (i64 or f32). */
static void
attr_tensor1(struct kiln_node *n, const char *name, enum kiln_dtype dt, double v)
{
    struct kiln_tensor *t = kiln_arena_alloc(G->arena, sizeof *t);
    t->dtype = dt;
    t->rank = 1;
    t->dims = kiln_arena_array(G->arena, 1, sizeof *t->dims);
    t->dims[0] = 1;
    t->nbytes = dt == KILN_DT_I64 ? 8 : 4;
    void *p = kiln_arena_alloc(G->arena, 8);
    if (dt == KILN_DT_I64) {
        int64_t x = (int64_t)v;
        memcpy(p, &x, 8);
    } else {
        float x = (float)v;
        memcpy(p, &x, 4);
    }
    t->data = p;
    struct kiln_attr a = {.name = name, .kind = KILN_ATTR_TENSOR, .t = t};
    kiln_node_set_attr(G, n, &a);
}

static void
run(void)
{
    if (!inferred) {
        status = kiln_graph_infer_shapes(G, &D);
        inferred = true;
    }
}

/* Output i of n has type `want` (and inference succeeded). */
static void
expect_at(const struct kiln_node *n, int i, const char *want, int line)
{
    run();
    char got[256] = "(absent)";
    if (status == KILN_OK && n->out[i] >= 0)
        format_type(&G->values[n->out[i]]->type, got, sizeof got);
    if (status == KILN_OK && strcmp(got, want) == 0) {
        n_pass++;
        return;
    }
    n_fail++;
    printf("FAIL line %d (case at %d): output %d is %s, expected %s\n", line, case_line, i, got,
           want);
    if (status != KILN_OK)
        kiln_diag_print(&D, stdout);
}
#define EXPECT(n, i, want) expect_at(n, i, want, __LINE__)

/* Inference fails with a diagnostic containing needle. */
static void
expect_fail_at(const char *needle, enum kiln_status want, int line)
{
    run();
    if (status == want && kiln_diag_has(&D, needle)) {
        n_pass++;
        return;
    }
    n_fail++;
    printf("FAIL line %d (case at %d): expected %s with \"%s\", got %s\n", line, case_line,
           kiln_status_name(want), needle, kiln_status_name(status));
    kiln_diag_print(&D, stdout);
}
#define EXPECT_FAIL(needle) expect_fail_at(needle, KILN_ERR_INVALID, __LINE__)
#define EXPECT_UNSUPPORTED(needle) expect_fail_at(needle, KILN_ERR_UNSUPPORTED, __LINE__)

/* ---------------------------------------------------------------- Reshape and friends */

static void
test_reshape(void)
{
    BEGIN(17);
    struct kiln_node *n = node(KILN_OP_RESHAPE, 1, IN(input("f32[2,3,4]"), ci64(INTS(4, -1))));
    EXPECT(n, 0, "f32[4,6]");
    end();

    /* 0 copies the input dim, -1 takes the rest, a symbol cancels on both sides */
    BEGIN(17);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[N,12,64]"), ci64(INTS(0, -1))));
    EXPECT(n, 0, "f32[N,768]");
    end();

    BEGIN(17);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[N,12,64]"), ci64(INTS(-1, 768))));
    EXPECT(n, 0, "f32[N,768]");
    end();

    BEGIN(17);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[N,M,4]"), ci64(INTS(-1, 2))));
    EXPECT(n, 0, "f32[2*M*N,2]"); /* 4*M*N / 2, factors sorted */
    end();

    /* allowzero: 0 is a real zero-sized dim */
    BEGIN(14);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[0,4]"), ci64(INTS(4, 0))));
    attr_int(n, "allowzero", 1);
    EXPECT(n, 0, "f32[4,0]");
    end();

    BEGIN(14);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[0,4]"), ci64(INTS(0, -1))));
    attr_int(n, "allowzero", 1);
    EXPECT_FAIL("shape has both 0 and -1 entries with allowzero=1");
    end();

    BEGIN(17);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[2,3]"), ci64(INTS(-1, -1))));
    EXPECT_FAIL("shape has two -1 entries");
    end();

    BEGIN(17);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[2,3]"), ci64(INTS(4, 2))));
    EXPECT_FAIL("cannot reshape 6 elements into shape [4,2] (8 elements)");
    end();

    BEGIN(17);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[2,3]"), ci64(INTS(4, -1))));
    EXPECT_FAIL("cannot reshape 6 elements into shape [4,-1]");
    end();

    BEGIN(17);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[2,3]"), ci64(INTS(-2, 3))));
    EXPECT_FAIL("shape[0] is -2; entries must be >= -1");
    end();

    BEGIN(17);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[6]"), ci64(INTS(2, 0, 3))));
    EXPECT_FAIL("shape[1] is 0 (copy the input dim) but the input has rank 1");
    end();

    BEGIN(17);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[6]"), input("i32[2]")));
    EXPECT_FAIL("input 1 (shape) has dtype i32");
    end();

    BEGIN(17);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[6]"), input("i64[2,1]")));
    EXPECT_FAIL("input 1 (shape) must be 1-D, got rank 2");
    end();

    /* a runtime shape of static length gives the rank only */
    BEGIN(17);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[6]"), input("i64[3]")));
    EXPECT(n, 0, "f32[?,?,?]");
    end();

    BEGIN(17);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[6]"), input("i64[K]")));
    EXPECT(n, 0, "f32[*]");
    end();

    /* before opset 5 the shape is an attribute */
    BEGIN(4);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[6,2]")));
    attr_ints(n, "shape", INTS(3, -1));
    EXPECT(n, 0, "f32[3,4]");
    end();

    BEGIN(4);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[6,2]")));
    EXPECT_FAIL("attribute 'shape' is required before opset 5");
    end();

    BEGIN(17);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[0,3]"), ci64(INTS(0, -1))));
    EXPECT_FAIL("cannot infer the -1 entry: the other entries multiply to 0");
    end();
}

/* The exporter chain that must resolve exactly, batch symbol included. */
static void
test_shape_chain(void)
{
    BEGIN(17);
    int32_t x = input("f32[N,12,64]");
    struct kiln_node *shape = node(KILN_OP_SHAPE, 1, IN(x));
    struct kiln_node *gather = node(KILN_OP_GATHER, 1, IN(out(shape, 0), scalar_i64(0)));
    struct kiln_node *unsq = node(KILN_OP_UNSQUEEZE, 1, IN(out(gather, 0), ci64(INTS(0))));
    struct kiln_node *cat = node(KILN_OP_CONCAT, 1, IN(out(unsq, 0), ci64(INTS(768))));
    attr_int(cat, "axis", 0);
    struct kiln_node *r = node(KILN_OP_RESHAPE, 1, IN(x, out(cat, 0)));
    EXPECT(shape, 0, "i64[3]");
    EXPECT(gather, 0, "i64[]");
    EXPECT(unsq, 0, "i64[1]");
    EXPECT(cat, 0, "i64[2]");
    EXPECT(r, 0, "f32[N,768]");
    end();

    /* the same at opset 11: Unsqueeze axes as an attribute */
    BEGIN(11);
    x = input("f32[B,S,8]");
    shape = node(KILN_OP_SHAPE, 1, IN(x));
    struct kiln_node *g0 = node(KILN_OP_GATHER, 1, IN(out(shape, 0), scalar_i64(0)));
    struct kiln_node *g1 = node(KILN_OP_GATHER, 1, IN(out(shape, 0), scalar_i64(1)));
    struct kiln_node *u0 = node(KILN_OP_UNSQUEEZE, 1, IN(out(g0, 0)));
    attr_ints(u0, "axes", INTS(0));
    struct kiln_node *u1 = node(KILN_OP_UNSQUEEZE, 1, IN(out(g1, 0)));
    attr_ints(u1, "axes", INTS(0));
    cat = node(KILN_OP_CONCAT, 1, IN(out(u0, 0), out(u1, 0), ci64(INTS(2, 4))));
    attr_int(cat, "axis", 0);
    r = node(KILN_OP_RESHAPE, 1, IN(x, out(cat, 0)));
    struct kiln_node *ex = node(KILN_OP_EXPAND, 1, IN(input("f32[1,1,2,4]"), out(cat, 0)));
    struct kiln_node *cos = node(KILN_OP_CONSTANT_OF_SHAPE, 1, IN(out(cat, 0)));
    EXPECT(r, 0, "f32[B,S,2,4]");
    EXPECT(ex, 0, "f32[B,S,2,4]");
    EXPECT(cos, 0, "f32[B,S,2,4]");
    end();

    /* Slice of a shape, Range over a symbolic length, Size of a symbolic tensor */
    BEGIN(13);
    x = input("f32[N,T,16]");
    shape = node(KILN_OP_SHAPE, 1, IN(x));
    struct kiln_node *sl = node(KILN_OP_SLICE, 1, IN(out(shape, 0), ci64(INTS(0)), ci64(INTS(2))));
    struct kiln_node *cat2 = node(KILN_OP_CONCAT, 1, IN(out(sl, 0), ci64(INTS(4, 4))));
    attr_int(cat2, "axis", 0);
    r = node(KILN_OP_RESHAPE, 1, IN(x, out(cat2, 0)));
    g1 = node(KILN_OP_GATHER, 1, IN(out(shape, 0), scalar_i64(1)));
    struct kiln_node *rng = node(KILN_OP_RANGE, 1, IN(scalar_i64(0), out(g1, 0), scalar_i64(1)));
    struct kiln_node *sz = node(KILN_OP_SIZE, 1, IN(input("f32[N,1]")));
    struct kiln_node *usz = node(KILN_OP_UNSQUEEZE, 1, IN(out(sz, 0), ci64(INTS(0))));
    struct kiln_node *r2 = node(KILN_OP_RESHAPE, 1, IN(input("f32[N]"), out(usz, 0)));
    EXPECT(r, 0, "f32[N,T,4,4]");
    EXPECT(rng, 0, "i64[T]");
    EXPECT(r2, 0, "f32[N]");
    end();

    /* a 0-D shape tensor is malformed */
    BEGIN(13);
    sz = node(KILN_OP_SIZE, 1, IN(input("f32[N,1]")));
    node(KILN_OP_RESHAPE, 1, IN(input("f32[N]"), out(sz, 0)));
    EXPECT_FAIL("input 1 (shape) must be 1-D, got rank 0");
    end();
}

/*
 * Symbolic dims as monomials: element counts, flattening and the BERT/GPT-2
 * exporter chain Shape -> Gather -> Mul -> Concat -> Reshape keep exact dims
 * (N*S), and the ops downstream keep them. Inexact results stay unknown.
 */
static void
test_monomials(void)
{
    /* -1 is the element count divided exactly by the other entries */
    BEGIN(17);
    struct kiln_node *n = node(KILN_OP_RESHAPE, 1, IN(input("f32[N,4,4]"), ci64(INTS(-1, 16))));
    EXPECT(n, 0, "f32[N,16]");
    end();

    BEGIN(17);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[N,S,64]"), ci64(INTS(-1, 32))));
    EXPECT(n, 0, "f32[2*N*S,32]");
    end();

    BEGIN(17);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[16*N,S]"), ci64(INTS(4, -1))));
    EXPECT(n, 0, "f32[4,4*N*S]");
    end();

    /* not exact: it may divide at run time, so unknown, not an error */
    BEGIN(17);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[N,3]"), ci64(INTS(-1, 2))));
    EXPECT(n, 0, "f32[?,2]");
    end();

    BEGIN(17);
    n = node(KILN_OP_RESHAPE, 1, IN(input("f32[N,S]"), input("i64[2]")));
    EXPECT(n, 0, "f32[?,?]");
    end();

    /* Flatten multiplies each side */
    BEGIN(13);
    n = node(KILN_OP_FLATTEN, 1, IN(input("f32[N,16,1,1]")));
    EXPECT(n, 0, "f32[N,16]");
    end();

    BEGIN(13);
    n = node(KILN_OP_FLATTEN, 1, IN(input("f32[N,S,8,2]")));
    attr_int(n, "axis", 2);
    EXPECT(n, 0, "f32[N*S,16]");
    end();

    /* [N,S,768] -> [N*S,768] -> MatMul/Gemm/Transpose -> back to [N,S,768] */
    BEGIN(17);
    int32_t x = input("f32[N,S,768]");
    struct kiln_node *shape = node(KILN_OP_SHAPE, 1, IN(x));
    struct kiln_node *gn = node(KILN_OP_GATHER, 1, IN(out(shape, 0), scalar_i64(0)));
    struct kiln_node *gs = node(KILN_OP_GATHER, 1, IN(out(shape, 0), scalar_i64(1)));
    struct kiln_node *mul = node(KILN_OP_MUL, 1, IN(out(gn, 0), out(gs, 0)));
    struct kiln_node *u = node(KILN_OP_UNSQUEEZE, 1, IN(out(mul, 0), ci64(INTS(0))));
    struct kiln_node *cat = node(KILN_OP_CONCAT, 1, IN(out(u, 0), ci64(INTS(768))));
    attr_int(cat, "axis", 0);
    struct kiln_node *flat = node(KILN_OP_RESHAPE, 1, IN(x, out(cat, 0)));
    struct kiln_node *mm = node(KILN_OP_MATMUL, 1, IN(out(flat, 0), input("f32[768,3072]")));
    struct kiln_node *gemm =
        node(KILN_OP_GEMM, 1, IN(out(mm, 0), input("f32[768,3072]"), input("f32[768]")));
    attr_int(gemm, "transB", 1);
    struct kiln_node *tr = node(KILN_OP_TRANSPOSE, 1, IN(out(gemm, 0)));
    struct kiln_node *tr2 = node(KILN_OP_TRANSPOSE, 1, IN(out(tr, 0)));
    struct kiln_node *un = node(KILN_OP_UNSQUEEZE, 1, IN(out(gn, 0), ci64(INTS(0))));
    struct kiln_node *us = node(KILN_OP_UNSQUEEZE, 1, IN(out(gs, 0), ci64(INTS(0))));
    struct kiln_node *cat3 = node(KILN_OP_CONCAT, 1, IN(out(un, 0), out(us, 0), ci64(INTS(768))));
    attr_int(cat3, "axis", 0);
    struct kiln_node *back = node(KILN_OP_RESHAPE, 1, IN(out(tr2, 0), out(cat3, 0)));
    /* the same with -1 in the middle: N*S*768 / (N*768) = S */
    struct kiln_node *catm = node(KILN_OP_CONCAT, 1, IN(out(un, 0), ci64(INTS(-1, 768))));
    attr_int(catm, "axis", 0);
    struct kiln_node *back2 = node(KILN_OP_RESHAPE, 1, IN(out(flat, 0), out(catm, 0)));
    /* and heads split: [N*S,768] -> [N,S,12,64] -> [N,12,S,64] */
    struct kiln_node *cat4 = node(KILN_OP_CONCAT, 1, IN(out(un, 0), ci64(INTS(-1, 12, 64))));
    attr_int(cat4, "axis", 0);
    struct kiln_node *heads = node(KILN_OP_RESHAPE, 1, IN(out(flat, 0), out(cat4, 0)));
    struct kiln_node *perm = node(KILN_OP_TRANSPOSE, 1, IN(out(heads, 0)));
    attr_ints(perm, "perm", INTS(0, 2, 1, 3));
    EXPECT(mul, 0, "i64[]");
    EXPECT(flat, 0, "f32[N*S,768]");
    EXPECT(mm, 0, "f32[N*S,3072]");
    EXPECT(gemm, 0, "f32[N*S,768]");
    EXPECT(tr, 0, "f32[768,N*S]");
    EXPECT(tr2, 0, "f32[N*S,768]");
    EXPECT(back, 0, "f32[N,S,768]");
    EXPECT(back2, 0, "f32[N,S,768]");
    EXPECT(heads, 0, "f32[N,S,12,64]");
    EXPECT(perm, 0, "f32[N,12,S,64]");
    CHECK(status == KILN_OK && kiln_graph_verify(G, &D) == KILN_OK);
    end();

    /* known-value arithmetic: Mul, exact Div, Sub and Add of like terms */
    BEGIN(17);
    x = input("f32[N,S,64]");
    shape = node(KILN_OP_SHAPE, 1, IN(x));
    gn = node(KILN_OP_GATHER, 1, IN(out(shape, 0), ci64(INTS(0))));
    gs = node(KILN_OP_GATHER, 1, IN(out(shape, 0), ci64(INTS(1))));
    struct kiln_node *ns = node(KILN_OP_MUL, 1, IN(out(gs, 0), out(gn, 0))); /* S*N */
    struct kiln_node *ns4 = node(KILN_OP_MUL, 1, IN(out(ns, 0), ci64(INTS(4))));
    struct kiln_node *d1 = node(KILN_OP_DIV, 1, IN(out(ns4, 0), out(gs, 0)));   /* 4*N */
    struct kiln_node *d2 = node(KILN_OP_DIV, 1, IN(out(d1, 0), ci64(INTS(2)))); /* 2*N */
    struct kiln_node *d3 = node(KILN_OP_DIV, 1, IN(out(gn, 0), ci64(INTS(2)))); /* N/2: ? */
    struct kiln_node *d4 = node(KILN_OP_DIV, 1, IN(out(gn, 0), out(gs, 0)));    /* N/S: ? */
    struct kiln_node *sub = node(KILN_OP_SUB, 1, IN(out(d1, 0), out(gn, 0)));   /* 3*N */
    struct kiln_node *add = node(KILN_OP_ADD, 1, IN(out(sub, 0), out(d2, 0)));  /* 5*N */
    struct kiln_node *mod = node(KILN_OP_MOD, 1, IN(out(ns4, 0), out(gn, 0)));  /* 0 */
    struct kiln_node *c2 = node(
        KILN_OP_CONCAT, 1,
        IN(out(ns, 0), out(d2, 0), out(d3, 0), out(d4, 0), out(sub, 0), out(add, 0), out(mod, 0)));
    attr_int(c2, "axis", 0);
    struct kiln_node *cos = node(KILN_OP_CONSTANT_OF_SHAPE, 1, IN(out(c2, 0)));
    EXPECT(cos, 0, "f32[N*S,2*N,?,?,3*N,5*N,0]");
    end();

    /* Concat of like dims adds them; Tile and Range scale exactly */
    BEGIN(17);
    n = node(KILN_OP_CONCAT, 1, IN(input("f32[N,4]"), input("f32[2*N,4]")));
    attr_int(n, "axis", 0);
    struct kiln_node *t = node(KILN_OP_TILE, 1, IN(input("f32[N,S]"), ci64(INTS(3, 1))));
    x = input("f32[N,S]");
    shape = node(KILN_OP_SHAPE, 1, IN(x));
    gn = node(KILN_OP_GATHER, 1, IN(out(shape, 0), scalar_i64(0)));
    struct kiln_node *n6 = node(KILN_OP_MUL, 1, IN(out(gn, 0), scalar_i64(6)));
    struct kiln_node *r3 = node(KILN_OP_RANGE, 1, IN(scalar_i64(0), out(n6, 0), scalar_i64(3)));
    struct kiln_node *r4 = node(KILN_OP_RANGE, 1, IN(scalar_i64(0), out(n6, 0), scalar_i64(4)));
    EXPECT(n, 0, "f32[3*N,4]");
    EXPECT(t, 0, "f32[3*N,S]");
    EXPECT(r3, 0, "i64[2*N]");
    EXPECT(r4, 0, "i64[floor((2*N + 3)/4) + N]"); /* ceil(6*N / 4) */
    end();

    /* two constants that do not divide are still an error */
    BEGIN(17);
    node(KILN_OP_RESHAPE, 1, IN(input("f32[N,0,3]"), ci64(INTS(5))));
    EXPECT_FAIL("cannot reshape 0 elements into shape [5] (5 elements)");
    end();
}

static void
test_flatten_squeeze(void)
{
    BEGIN(13);
    struct kiln_node *n = node(KILN_OP_FLATTEN, 1, IN(input("f32[N,3,4]")));
    EXPECT(n, 0, "f32[N,12]");
    end();

    BEGIN(13);
    n = node(KILN_OP_FLATTEN, 1, IN(input("f32[N,3,4]")));
    attr_int(n, "axis", -1);
    EXPECT(n, 0, "f32[3*N,4]");
    end();

    BEGIN(13);
    n = node(KILN_OP_FLATTEN, 1, IN(input("f32[2,3,4]")));
    attr_int(n, "axis", 0);
    EXPECT(n, 0, "f32[1,24]");
    end();

    BEGIN(9);
    n = node(KILN_OP_FLATTEN, 1, IN(input("f32[2,3,4]")));
    attr_int(n, "axis", -1);
    EXPECT_FAIL("axis -1 is out of range for rank 3");
    end();

    BEGIN(13);
    n = node(KILN_OP_SQUEEZE, 1, IN(input("f32[1,N,1,3]"), ci64(INTS(0, -2))));
    EXPECT(n, 0, "f32[N,3]");
    end();

    BEGIN(11);
    n = node(KILN_OP_SQUEEZE, 1, IN(input("f32[1,3,1]")));
    EXPECT(n, 0, "f32[3]");
    end();

    BEGIN(11);
    n = node(KILN_OP_SQUEEZE, 1, IN(input("f32[1,N,3]")));
    EXPECT(n, 0, "f32[*]");
    end();

    BEGIN(13);
    node(KILN_OP_SQUEEZE, 1, IN(input("f32[1,3]"), ci64(INTS(1))));
    EXPECT_FAIL("cannot squeeze axis 1: its size is 3, not 1");
    end();

    BEGIN(13);
    node(KILN_OP_SQUEEZE, 1, IN(input("f32[1,1]"), ci64(INTS(0, -2))));
    EXPECT_FAIL("axes repeats axis 0");
    end();

    BEGIN(13);
    n = node(KILN_OP_UNSQUEEZE, 1, IN(input("f32[N,3]"), ci64(INTS(0, -1))));
    EXPECT(n, 0, "f32[1,N,3,1]");
    end();

    /* 0-D axes count as one axis */
    BEGIN(13);
    n = node(KILN_OP_UNSQUEEZE, 1, IN(input("f32[3]"), scalar_i64(-1)));
    EXPECT(n, 0, "f32[3,1]");
    end();

    BEGIN(13);
    node(KILN_OP_UNSQUEEZE, 1, IN(input("f32[3]"), ci64(INTS(2))));
    EXPECT_FAIL("axes[0] is 2, out of range for rank 2");
    end();

    BEGIN(13);
    node(KILN_OP_UNSQUEEZE, 1, IN(input("f32[3]")));
    EXPECT_FAIL("input 1 (axes) is required");
    end();

    BEGIN(13);
    n = node(KILN_OP_TRANSPOSE, 1, IN(input("f32[N,3,4]")));
    EXPECT(n, 0, "f32[4,3,N]");
    end();

    BEGIN(13);
    n = node(KILN_OP_TRANSPOSE, 1, IN(input("f32[N,3,4]")));
    attr_ints(n, "perm", INTS(0, 2, 1));
    EXPECT(n, 0, "f32[N,4,3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_TRANSPOSE, 1, IN(input("f32[N,3,4]")));
    attr_ints(n, "perm", INTS(0, 2, 2));
    EXPECT_FAIL("perm repeats axis 2");
    end();

    BEGIN(13);
    n = node(KILN_OP_TRANSPOSE, 1, IN(input("f32[N,3,4]")));
    attr_ints(n, "perm", INTS(0, 1));
    EXPECT_FAIL("perm has 2 entries but the input has rank 3");
    end();
}

static void
test_concat_split_slice(void)
{
    BEGIN(13);
    struct kiln_node *n =
        node(KILN_OP_CONCAT, 1, IN(input("f32[N,3]"), input("f32[?,4]"), input("f32[N,1]")));
    attr_int(n, "axis", 1);
    EXPECT(n, 0, "f32[N,8]");
    end();

    BEGIN(13);
    n = node(KILN_OP_CONCAT, 1, IN(input("f32[2,3]"), input("f32[3,3]")));
    attr_int(n, "axis", 1);
    EXPECT_FAIL("input 1 has size 3 on axis 0 but an earlier input has 2");
    end();

    BEGIN(13);
    n = node(KILN_OP_CONCAT, 1, IN(input("f32[2,3]"), input("f32[3]")));
    attr_int(n, "axis", 0);
    EXPECT_FAIL("input 1 has rank 1 but input 0 has rank 2");
    end();

    BEGIN(13);
    node(KILN_OP_CONCAT, 1, IN(input("f32[2,3]"), input("f32[3,3]")));
    EXPECT_FAIL("attribute 'axis' is required");
    end();

    BEGIN(13);
    n = node(KILN_OP_SPLIT, 2, IN(input("f32[N,10]"), ci64(INTS(3, 7))));
    attr_int(n, "axis", 1);
    EXPECT(n, 0, "f32[N,3]");
    EXPECT(n, 1, "f32[N,7]");
    end();

    BEGIN(13);
    n = node(KILN_OP_SPLIT, 2, IN(input("f32[N,10]"), ci64(INTS(3, 6))));
    attr_int(n, "axis", 1);
    EXPECT_FAIL("split sizes sum to 9 but axis 1 has size 10");
    end();

    BEGIN(18);
    n = node(KILN_OP_SPLIT, 3, IN(input("f32[7]")));
    attr_int(n, "num_outputs", 3);
    EXPECT(n, 0, "f32[3]");
    EXPECT(n, 2, "f32[1]");
    end();

    BEGIN(13);
    node(KILN_OP_SPLIT, 3, IN(input("f32[7]")));
    EXPECT_FAIL("axis 0 has size 7, which does not split into 3 equal parts");
    end();

    /* a monomial splits evenly when the parts divide its coefficient (the
     * differential fuzzer's seed 293: Concat x4 then Split in 2) */
    BEGIN(18);
    n = node(KILN_OP_SPLIT, 2, IN(input("f32[4*N,5]")));
    attr_int(n, "num_outputs", 2);
    EXPECT(n, 0, "f32[2*N,5]");
    EXPECT(n, 1, "f32[2*N,5]");
    end();

    BEGIN(13);
    n = node(KILN_OP_SPLIT, 3, IN(input("f32[2*N*S]")));
    EXPECT(n, 0, "f32[?]");
    end();

    /* more parts than fit: cut at multiples of ceil(5/4) and clamped, as the reference */
    BEGIN(18);
    n = node(KILN_OP_SPLIT, 4, IN(input("f32[5]")));
    attr_int(n, "num_outputs", 4);
    EXPECT(n, 0, "f32[2]");
    EXPECT(n, 2, "f32[1]");
    EXPECT(n, 3, "f32[0]");
    end();

    /* a split shape vector keeps its known contents */
    BEGIN(18);
    int32_t sx = input("f32[B,T,C]");
    struct kiln_node *sh = node(KILN_OP_SHAPE, 1, IN(sx));
    n = node(KILN_OP_SPLIT, 2, IN(out(sh, 0), ci64(INTS(2, 1))));
    struct kiln_node *cc = node(KILN_OP_CONCAT, 1, IN(out(n, 1), out(n, 0)));
    attr_int(cc, "axis", 0);
    struct kiln_node *rr = node(KILN_OP_RESHAPE, 1, IN(sx, out(cc, 0)));
    EXPECT(rr, 0, "f32[C,B,T]");
    end();

    BEGIN(18);
    n = node(KILN_OP_SPLIT, 3, IN(input("f32[7]")));
    attr_int(n, "num_outputs", 2);
    EXPECT_FAIL("num_outputs is 2 but the node has 3 outputs");
    end();

    BEGIN(11);
    n = node(KILN_OP_SPLIT, 2, IN(input("f32[4,6]")));
    attr_ints(n, "split", INTS(2, 4));
    attr_int(n, "axis", -1);
    EXPECT(n, 1, "f32[4,4]");
    end();

    /* Slice: negative steps, clamping, the whole-axis idiom on a symbol */
    BEGIN(13);
    n = node(KILN_OP_SLICE, 1,
             IN(input("f32[N,10,8]"), ci64(INTS(0, -1, 1)), ci64(INTS(INT64_MAX, -100, 1000)),
                ci64(INTS(0, 1, 2)), ci64(INTS(1, -2, 3))));
    EXPECT(n, 0, "f32[N,5,3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_SLICE, 1,
             IN(input("f32[N,10]"), ci64(INTS(-1, INT64_MAX)), ci64(INTS(INT64_MIN, 2)),
                ci64(INTS(0, 1)), ci64(INTS(-1, 1))));
    EXPECT(n, 0, "f32[N,0]");
    end();

    BEGIN(13);
    n = node(KILN_OP_SLICE, 1, IN(input("f32[N,10]"), ci64(INTS(2)), ci64(INTS(4))));
    EXPECT(n, 0, "f32[max(0, -min(N, 2) + min(N, 4)),10]"); /* 2 when N >= 4, less below */
    end();

    BEGIN(13);
    n = node(KILN_OP_SLICE, 1,
             IN(input("f32[4,10]"), input("i64[1]"), input("i64[1]"), ci64(INTS(1))));
    EXPECT(n, 0, "f32[4,?]");
    end();

    BEGIN(13);
    node(KILN_OP_SLICE, 1,
         IN(input("f32[4,10]"), ci64(INTS(0)), ci64(INTS(3)), ci64(INTS(1)), ci64(INTS(0))));
    EXPECT_FAIL("steps[0] is 0");
    end();

    BEGIN(13);
    node(KILN_OP_SLICE, 1, IN(input("f32[4,10]"), ci64(INTS(0, 0)), ci64(INTS(3))));
    EXPECT_FAIL("ends has 1 entries but starts has 2");
    end();

    BEGIN(9);
    n = node(KILN_OP_SLICE, 1, IN(input("f32[4,10]")));
    attr_ints(n, "starts", INTS(1));
    attr_ints(n, "ends", INTS(-1));
    attr_ints(n, "axes", INTS(1));
    EXPECT(n, 0, "f32[4,8]");
    end();
}

static void
test_gather_scatter(void)
{
    BEGIN(13);
    struct kiln_node *n = node(KILN_OP_GATHER, 1, IN(input("f32[N,5,6]"), input("i64[2,3]")));
    attr_int(n, "axis", 1);
    EXPECT(n, 0, "f32[N,2,3,6]");
    end();

    BEGIN(13);
    n = node(KILN_OP_GATHER, 1, IN(input("f32[N,5,6]"), input("f32[2]")));
    EXPECT_FAIL("input 1 has dtype f32");
    end();

    BEGIN(13);
    int32_t x = input("f32[A,B,C]");
    struct kiln_node *sh = node(KILN_OP_SHAPE, 1, IN(x));
    node(KILN_OP_GATHER, 1, IN(out(sh, 0), ci64(INTS(3))));
    EXPECT_FAIL("index 3 is out of range for axis 0 of size 3");
    end();

    BEGIN(13);
    n = node(KILN_OP_GATHER_ELEMENTS, 1, IN(input("f32[3,4]"), input("i64[2,4]")));
    attr_int(n, "axis", 0);
    EXPECT(n, 0, "f32[2,4]");
    end();

    BEGIN(13);
    node(KILN_OP_GATHER_ELEMENTS, 1, IN(input("f32[3,4]"), input("i64[2]")));
    EXPECT_FAIL("indices has rank 1 but data has rank 2");
    end();

    BEGIN(13);
    n = node(KILN_OP_GATHER_ND, 1, IN(input("f32[2,3,4]"), input("i64[2,1]")));
    attr_int(n, "batch_dims", 1);
    EXPECT(n, 0, "f32[2,4]");
    end();

    BEGIN(13);
    n = node(KILN_OP_GATHER_ND, 1, IN(input("f32[2,3,4]"), input("i64[5,2]")));
    EXPECT(n, 0, "f32[5,4]");
    end();

    BEGIN(13);
    node(KILN_OP_GATHER_ND, 1, IN(input("f32[2,3]"), input("i64[5,3]")));
    EXPECT_FAIL("indices' last dim is 3; it must be in [1, 2]");
    end();

    BEGIN(18);
    n = node(KILN_OP_SCATTER_ELEMENTS, 1,
             IN(input("f32[N,4]"), input("i64[2,4]"), input("f32[2,4]")));
    attr_str(n, "reduction", "max");
    EXPECT(n, 0, "f32[N,4]");
    end();

    BEGIN(13);
    n = node(KILN_OP_SCATTER_ND, 1, IN(input("f32[4,5]"), input("i64[2,1]"), input("f32[2,5]")));
    EXPECT(n, 0, "f32[4,5]");
    end();

    BEGIN(13);
    node(KILN_OP_SCATTER_ND, 1, IN(input("f32[4,5]"), input("i64[2,1]"), input("f32[2]")));
    EXPECT_FAIL("updates has rank 1; expected 2");
    end();

    BEGIN(24);
    n = node(KILN_OP_TENSOR_SCATTER, 1, IN(input("f16[B,H,64,8]"), input("f16[B,H,1,8]")));
    EXPECT(n, 0, "f16[B,H,64,8]");
    end();
}

static void
test_expand_tile_pad(void)
{
    BEGIN(13);
    struct kiln_node *n = node(KILN_OP_EXPAND, 1, IN(input("f32[3,1]"), ci64(INTS(2, 1, 4))));
    EXPECT(n, 0, "f32[2,3,4]");
    end();

    BEGIN(13);
    n = node(KILN_OP_EXPAND, 1, IN(input("f32[3,1]"), input("i64[2]")));
    EXPECT(n, 0, "f32[3,?]");
    end();

    BEGIN(13);
    node(KILN_OP_EXPAND, 1, IN(input("f32[3,1]"), ci64(INTS(2, 4))));
    EXPECT_FAIL("cannot broadcast dimension 3 with 2");
    end();

    BEGIN(13);
    node(KILN_OP_EXPAND, 1, IN(input("f32[3,1]"), ci64(INTS(-1, 4))));
    EXPECT_FAIL("shape[0] is -1; sizes must be >= 0");
    end();

    BEGIN(13);
    n = node(KILN_OP_TILE, 1, IN(input("f32[N,3]"), ci64(INTS(1, 2))));
    EXPECT(n, 0, "f32[N,6]");
    end();

    BEGIN(13);
    node(KILN_OP_TILE, 1, IN(input("f32[N,3]"), ci64(INTS(1, 2, 3))));
    EXPECT_FAIL("repeats has 3 entries but the input has rank 2");
    end();

    BEGIN(13);
    node(KILN_OP_TILE, 1, IN(input("f32[N,3]"), ci64(INTS(1, -2))));
    EXPECT_FAIL("repeats[1] is -2; it must be >= 0");
    end();

    BEGIN(13);
    n = node(KILN_OP_PAD, 1, IN(input("f32[N,3,5]"), ci64(INTS(0, 1, -1, 0, 2, -1))));
    EXPECT(n, 0, "f32[N,6,3]");
    end();

    BEGIN(13);
    node(KILN_OP_PAD, 1, IN(input("f32[N,3,5]"), ci64(INTS(0, 0, -3, 0, 0, -3))));
    EXPECT_FAIL("padding axis 2 of size 5 by -6 gives an invalid size");
    end();

    BEGIN(13);
    node(KILN_OP_PAD, 1, IN(input("f32[N,3,5]"), ci64(INTS(0, 0, 1, 1))));
    EXPECT_FAIL("pads has 4 entries; it must have 2 x 3");
    end();

    BEGIN(18);
    n = node(KILN_OP_PAD, 1, IN(input("f32[N,3,5]"), ci64(INTS(1, 2)), -1, ci64(INTS(-1))));
    attr_str(n, "mode", "reflect");
    EXPECT(n, 0, "f32[N,3,8]");
    end();

    BEGIN(18);
    n = node(KILN_OP_PAD, 1, IN(input("f32[3]"), ci64(INTS(1, 2))));
    attr_str(n, "mode", "wrap");
    EXPECT_FAIL("mode 'wrap' is not one of constant, reflect, edge");
    end();

    BEGIN(2);
    n = node(KILN_OP_PAD, 1, IN(input("f32[3,4]")));
    attr_ints(n, "pads", INTS(1, 1, 1, 1));
    EXPECT(n, 0, "f32[5,6]");
    end();

    BEGIN(13);
    n = node(KILN_OP_PAD, 1, IN(input("f32[N,3]"), input("i64[4]")));
    EXPECT(n, 0, "f32[?,?]");
    end();

    BEGIN(18);
    n = node(KILN_OP_CENTER_CROP_PAD, 1, IN(input("f32[N,20,10,3]"), ci64(INTS(12, 16))));
    attr_ints(n, "axes", INTS(1, 2));
    EXPECT(n, 0, "f32[N,12,16,3]");
    end();

    BEGIN(18);
    n = node(KILN_OP_CENTER_CROP_PAD, 1, IN(input("f32[N,20,10,3]"), ci64(INTS(12, 16))));
    EXPECT_FAIL("shape has 2 entries but there are 4 axes");
    end();
}

static void
test_constants(void)
{
    BEGIN(15);
    struct kiln_node *n = node(KILN_OP_SHAPE, 1, IN(input("f32[N,3,4,5]")));
    attr_int(n, "start", 1);
    attr_int(n, "end", -1);
    EXPECT(n, 0, "i64[2]");
    end();

    BEGIN(15);
    n = node(KILN_OP_SHAPE, 1, IN(input("f32[N,3]")));
    attr_int(n, "start", 5);
    EXPECT(n, 0, "i64[0]");
    end();

    BEGIN(13);
    n = node(KILN_OP_SIZE, 1, IN(input("f32[N,3]")));
    EXPECT(n, 0, "i64[]");
    end();

    BEGIN(20);
    n = node(KILN_OP_CONSTANT_OF_SHAPE, 1, IN(ci64(INTS(2, 3))));
    attr_tensor1(n, "value", KILN_DT_I64, 1);
    struct kiln_node *r = node(KILN_OP_RESHAPE, 1, IN(input("f32[6]"), ci64(INTS(-1))));
    EXPECT(n, 0, "i64[2,3]");
    EXPECT(r, 0, "f32[6]");
    end();

    /* ConstantOfShape of ones as the shape of an Expand: known contents flow */
    BEGIN(20);
    n = node(KILN_OP_CONSTANT_OF_SHAPE, 1, IN(ci64(INTS(2))));
    attr_tensor1(n, "value", KILN_DT_I64, 1);
    struct kiln_node *ex = node(KILN_OP_EXPAND, 1, IN(input("f32[N,4]"), out(n, 0)));
    EXPECT(ex, 0, "f32[N,4]");
    end();

    BEGIN(20);
    node(KILN_OP_CONSTANT_OF_SHAPE, 1, IN(ci64(INTS(2, -3))));
    EXPECT_FAIL("shape[1] is -3; sizes must be >= 0");
    end();

    BEGIN(20);
    n = node(KILN_OP_CONSTANT_OF_SHAPE, 1, IN(input("i64[3]")));
    EXPECT(n, 0, "f32[?,?,?]");
    end();

    BEGIN(13);
    n = node(KILN_OP_CONSTANT, 1, NULL, 0);
    attr_ints(n, "value_ints", INTS(0, -1, 4));
    r = node(KILN_OP_RESHAPE, 1, IN(input("f32[N,2,8]"), out(n, 0)));
    EXPECT(n, 0, "i64[3]");
    EXPECT(r, 0, "f32[N,4,4]");
    end();

    BEGIN(13);
    n = node(KILN_OP_CONSTANT, 1, NULL, 0);
    attr_float(n, "value_float", 2.5f);
    EXPECT(n, 0, "f32[]");
    end();

    BEGIN(13);
    n = node(KILN_OP_CONSTANT, 1, NULL, 0);
    attr_str(n, "value_string", "hello");
    EXPECT_UNSUPPORTED("string constants are not supported");
    end();

    BEGIN(13);
    n = node(KILN_OP_CONSTANT, 1, NULL, 0);
    attr_float(n, "value_float", 2.5f);
    attr_int(n, "value_int", 2);
    EXPECT_FAIL("needs exactly one value attribute; it has 2");
    end();

    BEGIN(13);
    n = node(KILN_OP_RANGE, 1, IN(scalar_i64(10), scalar_i64(4), scalar_i64(-2)));
    EXPECT(n, 0, "i64[3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_RANGE, 1, IN(scalar_f32(1.0f), scalar_f32(2.0f), scalar_f32(0.3f)));
    EXPECT(n, 0, "f32[4]");
    end();

    BEGIN(13);
    node(KILN_OP_RANGE, 1, IN(scalar_i64(0), scalar_i64(4), scalar_i64(0)));
    EXPECT_FAIL("delta is 0");
    end();

    BEGIN(13);
    node(KILN_OP_RANGE, 1, IN(scalar_i64(INT64_MIN + 1), scalar_i64(INT64_MAX), scalar_i64(1)));
    EXPECT_FAIL("the range length overflows");
    end();

    BEGIN(13);
    node(KILN_OP_RANGE, 1, IN(scalar_i64(0), ci64(INTS(4, 5)), scalar_i64(1)));
    EXPECT_FAIL("input 1 (limit) must be a scalar");
    end();

    /* Range of known integers has known contents: use it as a Reshape shape */
    BEGIN(13);
    n = node(KILN_OP_RANGE, 1, IN(scalar_i64(2), scalar_i64(4), scalar_i64(1)));
    r = node(KILN_OP_RESHAPE, 1, IN(input("f32[6]"), out(n, 0)));
    EXPECT(r, 0, "f32[2,3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_EYE_LIKE, 1, IN(input("f32[N,4]")));
    attr_int(n, "dtype", 7);
    EXPECT(n, 0, "i64[N,4]");
    end();

    BEGIN(13);
    n = node(KILN_OP_EYE_LIKE, 1, IN(input("f32[N,4,4]")));
    EXPECT_FAIL("input 0 must be 2-D, got rank 3");
    end();

    BEGIN(13);
    n = node(KILN_OP_EYE_LIKE, 1, IN(input("f32[4,4]")));
    attr_int(n, "dtype", 999);
    EXPECT_FAIL("attribute 'dtype' is 999, which is not a known dtype");
    end();

    BEGIN(13);
    n = node(KILN_OP_ONEHOT, 1, IN(input("i64[N,5]"), scalar_i64(10), cf32(FLOATS(0.0f, 1.0f))));
    attr_int(n, "axis", 1);
    EXPECT(n, 0, "f32[N,10,5]");
    end();

    BEGIN(13);
    n = node(KILN_OP_ONEHOT, 1, IN(input("i64[N,5]"), scalar_i64(10), cf32(FLOATS(0.0f, 1.0f))));
    attr_int(n, "axis", 3);
    EXPECT_FAIL("axis 3 is out of range for rank 3");
    end();
}

static void
test_data_dependent(void)
{
    BEGIN(13);
    struct kiln_node *n = node(KILN_OP_NONZERO, 1, IN(input("f32[N,3,4]")));
    EXPECT(n, 0, "i64[3,?]");
    end();

    BEGIN(13);
    n = node(KILN_OP_UNIQUE, 4, IN(input("f32[N,3]")));
    EXPECT(n, 0, "f32[?]");
    EXPECT(n, 1, "i64[?]");
    EXPECT(n, 2, "i64[3*N]"); /* one inverse index per input element */
    end();

    BEGIN(13);
    n = node(KILN_OP_UNIQUE, 4, IN(input("f32[2,3]")));
    attr_int(n, "axis", 1);
    EXPECT(n, 0, "f32[2,?]");
    EXPECT(n, 2, "i64[3]");
    EXPECT(n, 3, "i64[?]");
    end();

    BEGIN(13);
    n = node(KILN_OP_COMPRESS, 1, IN(input("f32[N,4]"), cbool(INTS(1, 0, 1, 1))));
    attr_int(n, "axis", 1);
    EXPECT(n, 0, "f32[N,3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_COMPRESS, 1, IN(input("f32[N,4]"), input("bool[4]")));
    EXPECT(n, 0, "f32[?]");
    end();

    BEGIN(13);
    node(KILN_OP_COMPRESS, 1, IN(input("f32[N,4]"), input("i64[4]")));
    EXPECT_FAIL("input 1 has dtype i64");
    end();
}

static void
test_resize(void)
{
    BEGIN(13);
    struct kiln_node *n = node(KILN_OP_DEPTH_TO_SPACE, 1, IN(input("f32[N,8,3,4]")));
    attr_int(n, "blocksize", 2);
    EXPECT(n, 0, "f32[N,2,6,8]");
    end();

    BEGIN(13);
    n = node(KILN_OP_DEPTH_TO_SPACE, 1, IN(input("f32[N,6,3,4]")));
    attr_int(n, "blocksize", 2);
    EXPECT_FAIL("channels (6) are not divisible by blocksize^2 (4)");
    end();

    BEGIN(13);
    n = node(KILN_OP_SPACE_TO_DEPTH, 1, IN(input("f32[N,3,4,6]")));
    attr_int(n, "blocksize", 2);
    EXPECT(n, 0, "f32[N,12,2,3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_SPACE_TO_DEPTH, 1, IN(input("f32[N,3,4,6]")));
    attr_int(n, "blocksize", 0);
    EXPECT_FAIL("blocksize is 0; it must be >= 1");
    end();

    BEGIN(13);
    n = node(KILN_OP_RESIZE, 1,
             IN(input("f32[N,3,5,8]"), -1, cf32(FLOATS(1.0f, 1.0f, 0.6f, 2.0f))));
    EXPECT(n, 0, "f32[N,3,3,16]");
    end();

    BEGIN(13);
    n = node(KILN_OP_RESIZE, 1, IN(input("f32[N,3,5,8]"), -1, -1, ci64(INTS(1, 3, 10, 10))));
    EXPECT(n, 0, "f32[1,3,10,10]");
    end();

    BEGIN(18);
    n = node(KILN_OP_RESIZE, 1, IN(input("f32[N,3,20,10]"), -1, -1, ci64(INTS(8, 8))));
    attr_ints(n, "axes", INTS(2, 3));
    attr_str(n, "keep_aspect_ratio_policy", "not_larger");
    EXPECT(n, 0, "f32[N,3,8,4]");
    end();

    BEGIN(18);
    n = node(KILN_OP_RESIZE, 1, IN(input("f32[N,3,20,10]"), -1, -1, ci64(INTS(8, 8))));
    attr_ints(n, "axes", INTS(2, 3));
    attr_str(n, "keep_aspect_ratio_policy", "not_smaller");
    EXPECT(n, 0, "f32[N,3,16,8]");
    end();

    BEGIN(13);
    node(KILN_OP_RESIZE, 1,
         IN(input("f32[N,3,5,8]"), -1, cf32(FLOATS(1.0f, 1.0f, 2.0f, 2.0f)),
            ci64(INTS(1, 3, 10, 10))));
    EXPECT_FAIL("scales and sizes cannot both be given");
    end();

    BEGIN(13);
    node(KILN_OP_RESIZE, 1, IN(input("f32[N,3,5,8]"), -1, cf32(FLOATS(1.0f, 2.0f))));
    EXPECT_FAIL("scales has 2 entries; expected 4");
    end();

    BEGIN(13);
    node(KILN_OP_RESIZE, 1, IN(input("f32[N,3,5,8]"), -1, cf32(FLOATS(1.0f, 1.0f, 0.0f, 1.0f))));
    EXPECT_FAIL("scales[2] is 0; scales must be positive and finite");
    end();

    BEGIN(13);
    n = node(KILN_OP_RESIZE, 1, IN(input("f32[N,3,5,8]"), -1, input("f32[4]")));
    EXPECT(n, 0, "f32[?,?,?,?]");
    end();

    BEGIN(7);
    n = node(KILN_OP_UPSAMPLE, 1, IN(input("f32[N,3,5,8]")));
    attr_floats(n, "scales", FLOATS(1.0f, 1.0f, 2.0f, 3.0f));
    EXPECT(n, 0, "f32[N,3,10,24]");
    end();

    BEGIN(9);
    n = node(KILN_OP_UPSAMPLE, 1, IN(input("f32[N,3,5,8]"), cf32(FLOATS(1.0f, 1.0f, 2.0f, 2.0f))));
    attr_str(n, "mode", "cubic");
    EXPECT_FAIL("mode 'cubic' is not supported by Upsample-9");
    end();

    /* FLOPs: bilinear 2x upsampling of H and W: 2 axes x 2 taps x 2 per output element */
    BEGIN(13);
    n = node(KILN_OP_RESIZE, 1,
             IN(input("f32[1,3,5,8]"), -1, cf32(FLOATS(1.0f, 1.0f, 2.0f, 2.0f))));
    attr_str(n, "mode", "linear");
    struct kiln_node *nn = node(
        KILN_OP_RESIZE, 1, IN(input("f32[1,3,5,8]"), -1, cf32(FLOATS(1.0f, 1.0f, 2.0f, 2.0f))));
    struct kiln_node *sym = node(
        KILN_OP_RESIZE, 1, IN(input("f32[N,3,5,8]"), -1, cf32(FLOATS(1.0f, 1.0f, 2.0f, 2.0f))));
    run();
    CHECK(status == KILN_OK);
    CHECK(kiln_flops_resize(G, n) == 3 * 10 * 16 * 2 * 2 * 2);
    CHECK(kiln_flops_resize(G, nn) == 0);
    CHECK(kiln_flops_resize(G, sym) == -1);
    end();
}

/* ---------------------------------------------------------------- control flow */

static void
test_if(void)
{
    /* branches of different shapes: equal dims kept, different dims unknown */
    BEGIN(13);
    int32_t x = input("f32[N,4]");
    struct kiln_graph *tg = kiln_graph_new_sub(G, "then");
    struct kiln_graph *eg = kiln_graph_new_sub(G, "else");
    struct kiln_node *t1 = node_in(tg, KILN_OP_RELU, 1, IN(capture(tg, x)));
    struct kiln_node *t2 = node_in(tg, KILN_OP_SHAPE, 1, IN(out(t1, 0)));
    kiln_graph_add_output(tg, out(t1, 0));
    kiln_graph_add_output(tg, out(t2, 0));
    int32_t ex = capture(eg, x);
    struct kiln_node *e1 = node_in(eg, KILN_OP_CONCAT, 1, IN(ex, ex));
    attr_int(e1, "axis", 1);
    struct kiln_node *e2 = node_in(eg, KILN_OP_SHAPE, 1, IN(input_in(eg, "f32[*]")));
    kiln_graph_add_output(eg, out(e1, 0));
    kiln_graph_add_output(eg, out(e2, 0));
    struct kiln_node *n = node(KILN_OP_IF, 2, IN(input("bool[]")));
    attr_graph(n, "then_branch", tg);
    attr_graph(n, "else_branch", eg);
    EXPECT(n, 0, "f32[N,?]");
    EXPECT(n, 1, "i64[?]");
    end();

    /* branches that agree: their type exactly (Flatten of [N,4] is [N,4]) */
    BEGIN(13);
    x = input("f32[N,4]");
    tg = kiln_graph_new_sub(G, "then");
    eg = kiln_graph_new_sub(G, "else");
    kiln_graph_add_output(tg, capture(tg, x));
    struct kiln_node *fl = node_in(eg, KILN_OP_FLATTEN, 1, IN(capture(eg, x)));
    kiln_graph_add_output(eg, out(fl, 0));
    n = node(KILN_OP_IF, 1, IN(input("bool[1]")));
    attr_graph(n, "then_branch", tg);
    attr_graph(n, "else_branch", eg);
    EXPECT(n, 0, "f32[N,4]");
    end();

    /* ranks differ: unranked */
    BEGIN(13);
    x = input("f32[N,4]");
    tg = kiln_graph_new_sub(G, "then");
    eg = kiln_graph_new_sub(G, "else");
    kiln_graph_add_output(tg, capture(tg, x));
    fl = node_in(eg, KILN_OP_FLATTEN, 1, IN(capture(eg, x)));
    attr_int(fl, "axis", 0);
    struct kiln_node *sq =
        node_in(eg, KILN_OP_SQUEEZE, 1,
                IN(out(fl, 0), const_in(eg, KILN_DT_I64, (const int64_t[]){0}, NULL, 1)));
    kiln_graph_add_output(eg, out(sq, 0));
    n = node(KILN_OP_IF, 1, IN(input("bool[]")));
    attr_graph(n, "then_branch", tg);
    attr_graph(n, "else_branch", eg);
    EXPECT(n, 0, "f32[*]");
    end();

    /* a constant condition picks its branch exactly */
    BEGIN(13);
    x = input("f32[N,4]");
    tg = kiln_graph_new_sub(G, "then");
    eg = kiln_graph_new_sub(G, "else");
    kiln_graph_add_output(tg, capture(tg, x));
    e1 = node_in(eg, KILN_OP_TRANSPOSE, 1, IN(capture(eg, x)));
    kiln_graph_add_output(eg, out(e1, 0));
    n = node(KILN_OP_IF, 1, IN(cbool((const int64_t[]){1}, -1)));
    attr_graph(n, "then_branch", tg);
    attr_graph(n, "else_branch", eg);
    EXPECT(n, 0, "f32[N,4]");
    end();

    BEGIN(13);
    x = input("f32[N,4]");
    tg = kiln_graph_new_sub(G, "then");
    eg = kiln_graph_new_sub(G, "else");
    kiln_graph_add_output(tg, capture(tg, x));
    e1 = node_in(eg, KILN_OP_SHAPE, 1, IN(capture(eg, x)));
    kiln_graph_add_output(eg, out(e1, 0));
    n = node(KILN_OP_IF, 1, IN(input("bool[]")));
    attr_graph(n, "then_branch", tg);
    attr_graph(n, "else_branch", eg);
    EXPECT_FAIL("output 0 is f32 in then_branch but i64 in else_branch");
    end();

    BEGIN(13);
    x = input("f32[N,4]");
    tg = kiln_graph_new_sub(G, "then");
    kiln_graph_add_output(tg, capture(tg, x));
    n = node(KILN_OP_IF, 1, IN(input("bool[]")));
    attr_graph(n, "then_branch", tg);
    EXPECT_FAIL("attribute 'else_branch' (a graph) is required");
    end();

    BEGIN(13);
    x = input("f32[N,4]");
    tg = kiln_graph_new_sub(G, "then");
    eg = kiln_graph_new_sub(G, "else");
    kiln_graph_add_output(tg, capture(tg, x));
    kiln_graph_add_output(eg, capture(eg, x));
    n = node(KILN_OP_IF, 1, IN(input("f32[]")));
    attr_graph(n, "then_branch", tg);
    attr_graph(n, "else_branch", eg);
    EXPECT_FAIL("input 0 has dtype f32");
    end();
}

static void
test_loop(void)
{
    /* for i in range(5): y = y + x; also stacks x*i each iteration */
    BEGIN(13);
    int32_t x = input("f32[N,4]");
    struct kiln_graph *body = kiln_graph_new_sub(G, "body");
    kiln_graph_add_input(body, "iter");
    int32_t cin = kiln_graph_add_input(body, "cond_in");
    int32_t y = kiln_graph_add_input(body, "y_in");
    struct kiln_node *add = node_in(body, KILN_OP_ADD, 1, IN(y, capture(body, x)));
    struct kiln_node *id = node_in(body, KILN_OP_IDENTITY, 1, IN(cin));
    struct kiln_node *sc = node_in(body, KILN_OP_RELU, 1, IN(out(add, 0)));
    kiln_graph_add_output(body, out(id, 0));
    kiln_graph_add_output(body, out(add, 0));
    kiln_graph_add_output(body, out(sc, 0));
    struct kiln_node *n = node(KILN_OP_LOOP, 2, IN(scalar_i64(5), -1, input("f32[N,4]")));
    attr_graph(n, "body", body);
    EXPECT(n, 0, "f32[N,4]");
    EXPECT(n, 1, "f32[5,N,4]");
    end();

    /* with a cond input the trip count is unknown; a carried value that grows */
    BEGIN(13);
    x = input("f32[2]");
    body = kiln_graph_new_sub(G, "body");
    kiln_graph_add_input(body, "iter");
    cin = kiln_graph_add_input(body, "cond_in");
    y = kiln_graph_add_input(body, "y_in");
    struct kiln_node *cat = node_in(body, KILN_OP_CONCAT, 1, IN(y, capture(body, x)));
    attr_int(cat, "axis", 0);
    id = node_in(body, KILN_OP_IDENTITY, 1, IN(cin));
    kiln_graph_add_output(body, out(id, 0));
    kiln_graph_add_output(body, out(cat, 0));
    kiln_graph_add_output(body, y);
    n = node(KILN_OP_LOOP, 2, IN(scalar_i64(5), input("bool[]"), input("f32[2]")));
    attr_graph(n, "body", body);
    EXPECT(n, 0, "f32[?]");
    EXPECT(n, 1, "f32[?,2]");
    end();

    /* a cond known true that the body passes through unchanged: still exactly M trips */
    BEGIN(13);
    body = kiln_graph_new_sub(G, "body");
    int32_t iter = kiln_graph_add_input(body, "iter");
    cin = kiln_graph_add_input(body, "cond_in");
    id = node_in(body, KILN_OP_IDENTITY, 1, IN(cin));
    struct kiln_node *id2 = node_in(body, KILN_OP_IDENTITY, 1, IN(out(id, 0)));
    kiln_graph_add_output(body, out(id2, 0));
    kiln_graph_add_output(body, iter);
    n = node(KILN_OP_LOOP, 1, IN(scalar_i64(7), cbool((const int64_t[]){1}, -1)));
    attr_graph(n, "body", body);
    EXPECT(n, 0, "i64[7]");
    end();

    BEGIN(13);
    body = kiln_graph_new_sub(G, "body");
    kiln_graph_add_input(body, "iter");
    cin = kiln_graph_add_input(body, "cond_in");
    kiln_graph_add_output(body, cin);
    n = node(KILN_OP_LOOP, 1, IN(scalar_i64(5), -1, input("f32[2]")));
    attr_graph(n, "body", body);
    EXPECT_FAIL("body has 2 inputs; expected 3");
    end();

    BEGIN(13);
    body = kiln_graph_new_sub(G, "body");
    int32_t i0 = kiln_graph_add_input(body, "iter");
    kiln_graph_add_input(body, "cond_in");
    y = kiln_graph_add_input(body, "y_in");
    kiln_graph_add_output(body, i0);
    kiln_graph_add_output(body, y);
    n = node(KILN_OP_LOOP, 1, IN(scalar_i64(5), -1, input("f32[2]")));
    attr_graph(n, "body", body);
    EXPECT_FAIL("body output 0 (cond) has dtype i64; it must be bool");
    end();

    BEGIN(13);
    body = kiln_graph_new_sub(G, "body");
    kiln_graph_add_input(body, "iter");
    cin = kiln_graph_add_input(body, "cond_in");
    y = kiln_graph_add_input(body, "y_in");
    kiln_graph_add_output(body, cin);
    kiln_graph_add_output(body, y);
    n = node(KILN_OP_LOOP, 1, IN(input("i32[]"), -1, input("f32[2]")));
    attr_graph(n, "body", body);
    EXPECT_FAIL("input 0 has dtype i32");
    end();
}

static void
test_scan(void)
{
    /* running sum over the sequence axis 1, stacking each partial sum on axis 0 */
    BEGIN(16);
    struct kiln_graph *body = kiln_graph_new_sub(G, "body");
    int32_t s = kiln_graph_add_input(body, "s_in");
    int32_t e = kiln_graph_add_input(body, "e_in");
    struct kiln_node *add = node_in(body, KILN_OP_ADD, 1, IN(s, e));
    struct kiln_node *id = node_in(body, KILN_OP_IDENTITY, 1, IN(out(add, 0)));
    kiln_graph_add_output(body, out(add, 0));
    kiln_graph_add_output(body, out(id, 0));
    struct kiln_node *n = node(KILN_OP_SCAN, 2, IN(input("f32[N,4]"), input("f32[N,T,4]")));
    attr_graph(n, "body", body);
    attr_int(n, "num_scan_inputs", 1);
    attr_ints(n, "scan_input_axes", INTS(1));
    attr_ints(n, "scan_output_axes", INTS(-1));
    EXPECT(n, 0, "f32[N,4]");
    EXPECT(n, 1, "f32[N,4,T]");
    end();

    BEGIN(16);
    body = kiln_graph_new_sub(G, "body");
    s = kiln_graph_add_input(body, "s_in");
    e = kiln_graph_add_input(body, "e_in");
    kiln_graph_add_output(body, s);
    n = node(KILN_OP_SCAN, 1, IN(input("f32[4]"), input("f32[T,4]")));
    attr_graph(n, "body", body);
    attr_int(n, "num_scan_inputs", 3);
    EXPECT_FAIL("num_scan_inputs is 3; the node has 2 state and scan inputs");
    end();

    BEGIN(16);
    body = kiln_graph_new_sub(G, "body");
    s = kiln_graph_add_input(body, "s_in");
    e = kiln_graph_add_input(body, "e_in");
    kiln_graph_add_input(body, "e2_in");
    kiln_graph_add_output(body, s);
    n = node(KILN_OP_SCAN, 1, IN(input("f32[4]"), input("f32[3,4]"), input("f32[5,4]")));
    attr_graph(n, "body", body);
    attr_int(n, "num_scan_inputs", 2);
    EXPECT_FAIL("scan inputs disagree on the sequence length: 3 vs 5");
    end();

    /* Scan-8: batch axis first, then the sequence axis */
    BEGIN(8);
    body = kiln_graph_new_sub(G, "body");
    s = input_in(body, "f32[4]");
    e = input_in(body, "f32[4]");
    add = node_in(body, KILN_OP_ADD, 1, IN(s, e));
    kiln_graph_add_output(body, out(add, 0));
    kiln_graph_add_output(body, out(add, 0));
    n = node(KILN_OP_SCAN, 2, IN(-1, input("f32[B,4]"), input("f32[B,T,4]")));
    attr_graph(n, "body", body);
    attr_int(n, "num_scan_inputs", 1);
    EXPECT(n, 0, "f32[B,4]");
    EXPECT(n, 1, "f32[B,T,4]");
    end();
}

/* ---------------------------------------------------------------- signal ops */

static void
test_signal(void)
{
    BEGIN(17);
    struct kiln_node *n = node(KILN_OP_DFT, 1, IN(input("f32[N,16,1]")));
    EXPECT(n, 0, "f32[N,16,2]");
    end();

    BEGIN(17);
    n = node(KILN_OP_DFT, 1, IN(input("f32[N,16,1]"), scalar_i64(20)));
    attr_int(n, "onesided", 1);
    EXPECT(n, 0, "f32[N,11,2]");
    end();

    BEGIN(20);
    n = node(KILN_OP_DFT, 1, IN(input("f32[N,9,4,2]"), -1, scalar_i64(1)));
    attr_int(n, "onesided", 1);
    attr_int(n, "inverse", 1);
    EXPECT(n, 0, "f32[N,16,4,1]");
    end();

    BEGIN(20);
    n = node(KILN_OP_DFT, 1, IN(input("f32[N,16,1]"), -1, scalar_i64(-1)));
    EXPECT_FAIL("axis -1 is out of range");
    end();

    BEGIN(17);
    n = node(KILN_OP_DFT, 1, IN(input("f32[N,16,3]")));
    EXPECT_FAIL("the last dim is 3; it must be 1 (real) or 2 (complex)");
    end();

    BEGIN(17);
    n = node(KILN_OP_STFT, 1, IN(input("f32[2,100,1]"), scalar_i64(10), -1, scalar_i64(20)));
    EXPECT(n, 0, "f32[2,9,11,2]");
    end();

    BEGIN(17);
    n = node(KILN_OP_STFT, 1, IN(input("f32[2,100,1]"), scalar_i64(10), input("f32[16]")));
    attr_int(n, "onesided", 0);
    EXPECT(n, 0, "f32[2,9,16,2]");
    end();

    BEGIN(17);
    node(KILN_OP_STFT, 1, IN(input("f32[2,100,1]"), scalar_i64(0)));
    EXPECT_FAIL("frame_step is 0; it must be >= 1");
    end();

    BEGIN(17);
    n = node(KILN_OP_HANN_WINDOW, 1, IN(scalar_i64(10)));
    attr_int(n, "output_datatype", 11);
    EXPECT(n, 0, "f64[10]");
    end();

    BEGIN(17);
    n = node(KILN_OP_BLACKMAN_WINDOW, 1, IN(input("i32[]")));
    EXPECT(n, 0, "f32[?]");
    end();

    BEGIN(17);
    node(KILN_OP_HAMMING_WINDOW, 1, IN(scalar_i64(-3)));
    EXPECT_FAIL("size is -3; it must be >= 0");
    end();

    BEGIN(17);
    n = node(
        KILN_OP_MEL_WEIGHT_MATRIX, 1,
        IN(scalar_i64(8), scalar_i64(16), scalar_i64(8000), scalar_f32(0.0f), scalar_f32(4000.0f)));
    EXPECT(n, 0, "f32[9,8]");
    end();
}

/* ---------------------------------------------------------------- Fused */

static void
test_fused(void)
{
    BEGIN(17);
    int32_t a = input("f32[2,8]"), b = input("f32[8,4]");
    struct kiln_node *n = node(KILN_OP_FUSED, 2, IN(a, b));
    struct kiln_graph *body = kiln_graph_new_sub(G, "fused");
    int32_t ba = input_in(body, "f32[2,8]"), bb = input_in(body, "f32[8,4]");
    struct kiln_node *mm = node_in(body, KILN_OP_MATMUL, 1, IN(ba, bb));
    struct kiln_node *relu = node_in(body, KILN_OP_RELU, 1, IN(out(mm, 0)));
    struct kiln_node *sh = node_in(body, KILN_OP_SHAPE, 1, IN(out(relu, 0)));
    kiln_graph_add_output(body, out(relu, 0));
    kiln_graph_add_output(body, out(sh, 0));
    n->body = body;
    EXPECT(n, 0, "f32[2,4]");
    EXPECT(n, 1, "i64[2]");
    /* 2*2*4*8 for the MatMul, 8 for the Relu, 0 for Shape */
    CHECK(kiln_flops_fused(G, n) == 2 * 2 * 4 * 8 + 8);
    end();

    BEGIN(17);
    a = input("f32[2,8]");
    n = node(KILN_OP_FUSED, 2, IN(a));
    body = kiln_graph_new_sub(G, "fused");
    ba = input_in(body, "f32[2,8]");
    kiln_graph_add_output(body, ba);
    n->body = body;
    EXPECT_FAIL("the node has 2 outputs but its body has 1");
    end();

    BEGIN(17);
    n = node(KILN_OP_FUSED, 1, IN(input("f32[2]")));
    EXPECT_FAIL("the fused node has no body");
    CHECK(kiln_flops_fused(G, n) == -1);
    end();
}

int
main(void)
{
    test_reshape();
    test_shape_chain();
    test_monomials();
    test_flatten_squeeze();
    test_concat_split_slice();
    test_gather_scatter();
    test_expand_tile_pad();
    test_constants();
    test_data_dependent();
    test_resize();
    test_if();
    test_loop();
    test_scan();
    test_signal();
    test_fused();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail != 0;
}
