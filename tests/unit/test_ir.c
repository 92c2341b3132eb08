/*
 * test_ir.c - unit tests of the IR core: arena, dtypes, graph construction and
 * mutation, name index, captures, topological sort, compaction, the verifier,
 * inference helpers, the algebra of symbolic dims (monomials: mul, add, exact
 * division, binding, the intern table's cap), diagnostics and the pass
 * manager's pipeline parsing.
 *
 * Prints one line per failed check and closes with "N passed, N failed".
 */
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/shape.h"
#include "passes/pass.h"

#include "tests/unit/check.h"

static struct kiln_dim dims_buf[8];

static void
set_type(struct kiln_graph *g, int32_t v, enum kiln_dtype dt, int rank, const int64_t *dims)
{
    struct kiln_value *val = g->values[v];
    val->type.dtype = dt;
    val->type.rank = rank;
    val->type.dims =
        kiln_arena_array(g->arena, (size_t)(rank > 0 ? rank : 1), sizeof(struct kiln_dim));
    for (int i = 0; i < rank; i++)
        val->type.dims[i] = dims[i] >= 0 ? kiln_dim_const(dims[i]) : kiln_dim_unknown();
}

static void
test_arena(void)
{
    struct kiln_arena *a = kiln_arena_new();
    CHECK(a != NULL);
    char *p = kiln_arena_alloc(a, 10);
    CHECK(p && ((uintptr_t)p & 15) == 0);
    CHECK(p[0] == 0 && p[9] == 0);
    int *big = kiln_arena_array(a, 1 << 20, sizeof(int)); /* larger than a chunk */
    CHECK(big && big[(1 << 20) - 1] == 0);
    CHECK(kiln_arena_array(a, SIZE_MAX / 2, 4) == NULL); /* overflow refused */
    CHECK(strcmp(kiln_arena_strndup(a, "abcdef", 3), "abc") == 0);
    int *grown = kiln_arena_grow(a, big, 4, 8, sizeof(int));
    CHECK(grown && grown[3] == 0);
    kiln_arena_reset(a);
    CHECK(kiln_arena_bytes(a) == 0);
    kiln_arena_free(a);
}

static void
test_dtypes(void)
{
    CHECK(kiln_dtype_from_onnx(1) == KILN_DT_F32);
    CHECK(kiln_dtype_from_onnx(16) == KILN_DT_BF16);
    CHECK(kiln_dtype_from_onnx(8) == KILN_DT_INVALID); /* string */
    CHECK(kiln_dtype_from_name("bf16", 4) == KILN_DT_BF16);
    CHECK(kiln_dtype_from_name("f3", 2) == KILN_DT_INVALID);
    CHECK(strcmp(kiln_dtype_name(KILN_DT_I4), "i4") == 0);
    uint64_t b;
    CHECK(kiln_dtype_storage_bytes(KILN_DT_I4, 3, &b) && b == 2);
    CHECK(kiln_dtype_storage_bytes(KILN_DT_F32, 3, &b) && b == 12);
    CHECK(!kiln_dtype_storage_bytes(KILN_DT_F64, INT64_MAX, &b));
    for (int dt = 1; dt < KILN_DT_COUNT; dt++) /* the table round-trips by name and id */
        CHECK(kiln_dtype_from_name(kiln_dtype_name(dt), strlen(kiln_dtype_name(dt))) ==
                  (enum kiln_dtype)dt &&
              kiln_dtype_from_onnx(kiln_dtype_to_onnx(dt)) == (enum kiln_dtype)dt);
}

static void
test_ops(void)
{
    enum kiln_op op;
    CHECK(kiln_op_lookup(KILN_DOMAIN_ONNX, "Conv", &op) && op == KILN_OP_CONV);
    CHECK(kiln_op_lookup(KILN_DOMAIN_ONNX, "Abs", &op) && op == KILN_OP_ABS);
    CHECK(kiln_op_lookup(KILN_DOMAIN_ONNX, "Xor", &op) && op == KILN_OP_XOR);
    CHECK(!kiln_op_lookup(KILN_DOMAIN_ONNX, "Conv2", &op));
    CHECK(!kiln_op_lookup(KILN_DOMAIN_ML, "Conv", &op));
    CHECK(kiln_op_lookup(KILN_DOMAIN_KILN, "Fused", &op) && op == KILN_OP_FUSED);
    for (int i = 0; i < KILN_OP_COUNT; i++) /* every row can be found by its name */
        CHECK(kiln_op_lookup(kiln_op_table[i].domain, kiln_op_table[i].name, &op) &&
              op == (enum kiln_op)i);
    CHECK(kiln_op_attr_kinds(KILN_OP_CONV, "strides") == 1u << KILN_ATTR_INTS);
    CHECK(kiln_op_attr_kinds(KILN_OP_CAST, "to") ==
          ((1u << KILN_ATTR_INT) | (1u << KILN_ATTR_STRING))); /* opset 1 spelled it */
    CHECK(kiln_op_attr_kinds(KILN_OP_CONV, "nonsense") == 0);
    enum kiln_domain dom;
    CHECK(kiln_domain_from_name("", &dom) && dom == KILN_DOMAIN_ONNX);
    CHECK(kiln_domain_from_name("ai.onnx.ml", &dom) && dom == KILN_DOMAIN_ML);
    CHECK(kiln_domain_from_name("com.microsoft", &dom) && dom == KILN_DOMAIN_MS);
    CHECK(!kiln_domain_from_name("com.example", &dom));
    CHECK(kiln_op_lookup(KILN_DOMAIN_MS, "Gelu", &op) && op == KILN_OP_MS_GELU);
    CHECK(kiln_op_lookup(KILN_DOMAIN_ONNX, "Gelu", &op) && op == KILN_OP_GELU);
}

/* x -> Relu -> r -> Add(r, x) -> y */
static struct kiln_graph *
build_small(void)
{
    struct kiln_graph *g = kiln_graph_new("small");
    int64_t shape[2] = {2, 3};
    int32_t x = kiln_graph_add_input(g, "x");
    set_type(g, x, KILN_DT_F32, 2, shape);
    const char *rn[] = {"r"};
    struct kiln_node *relu = kiln_graph_add_node(g, KILN_OP_RELU, "relu1", &x, 1, rn, 1, NULL);
    int32_t ins[2] = {relu->out[0], x};
    const char *yn[] = {"y"};
    struct kiln_node *add = kiln_graph_add_node(g, KILN_OP_ADD, "add1", ins, 2, yn, 1, NULL);
    kiln_graph_add_output(g, add->out[0]);
    return g;
}

static void
test_graph(void)
{
    struct kiln_graph *g = build_small();
    struct kiln_diag d;
    kiln_diag_init(&d, "small.onnx");
    CHECK(g->n_nodes == 2 && g->n_values == 3);
    CHECK(kiln_graph_find_value(g, "r") == 1 && kiln_graph_find_value(g, "nope") == -1);
    CHECK(g->values[0]->n_uses == 2);          /* x: Relu and Add */
    CHECK(kiln_graph_add_input(g, "x") == -1); /* names are unique */
    const char *dup[] = {"r"};
    CHECK(kiln_graph_add_node(g, KILN_OP_RELU, "again", (int32_t[]){0}, 1, dup, 1, &d) == NULL);
    CHECK(kiln_diag_has(&d, "small.onnx: node 'again' (Relu): error: value 'r' is defined "
                            "more than once"));
    CHECK(kiln_graph_infer_shapes(g, &d) == KILN_OK);
    CHECK(g->values[2]->type.dtype == KILN_DT_F32 && g->values[2]->type.rank == 2);
    CHECK(kiln_graph_verify(g, &d) == KILN_OK);

    /* many values: the name index rehashes and stays right */
    for (int i = 0; i < 500; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "c%d", i);
        struct kiln_tensor *t = kiln_arena_alloc(g->arena, sizeof *t);
        t->dtype = KILN_DT_F32;
        t->nbytes = 4;
        t->data = kiln_arena_alloc(g->arena, 4);
        CHECK(kiln_graph_add_const(g, nm, t) >= 0);
    }
    CHECK(kiln_graph_find_value(g, "c377") == 3 + 377);
    int32_t fresh = kiln_graph_add_value(g, NULL, KILN_VALUE_NODE);
    CHECK(fresh >= 0 && g->values[fresh]->name[0] == '_');

    /* rewire: y = Add(x, x) leaves r unused; erase Relu and compact */
    struct kiln_node *add = g->nodes[1];
    kiln_node_set_input(g, add, 0, 0);
    CHECK(g->values[1]->n_uses == 0 && g->values[0]->n_uses == 3);
    kiln_graph_erase_node(g, g->nodes[0]);
    kiln_graph_compact(g);
    CHECK(g->n_nodes == 1 && g->nodes[0]->op == KILN_OP_ADD && g->nodes[0]->id == 0);
    CHECK(g->values[kiln_graph_find_value(g, "y")]->producer == 0);
    kiln_diag_fini(&d);
    kiln_graph_free(g);
}

static void
test_sort(void)
{
    struct kiln_graph *g = kiln_graph_new("s");
    struct kiln_diag d;
    kiln_diag_init(&d, "s.onnx");
    int64_t shape[1] = {4};
    int32_t x = kiln_graph_add_input(g, "x");
    set_type(g, x, KILN_DT_F32, 1, shape);
    /* b = Relu(a) is added before a = Relu(x): values must exist first, so build a
     * placeholder and rewire */
    const char *bn[] = {"b"}, *an[] = {"a"};
    struct kiln_node *nb = kiln_graph_add_node(g, KILN_OP_RELU, "nb", &x, 1, bn, 1, &d);
    struct kiln_node *na = kiln_graph_add_node(g, KILN_OP_RELU, "na", &x, 1, an, 1, &d);
    kiln_node_set_input(g, nb, 0, na->out[0]);
    kiln_graph_add_output(g, nb->out[0]);
    CHECK(kiln_graph_verify(g, &d) != KILN_OK); /* out of order */
    CHECK(kiln_diag_has(&d, "not defined before its use"));
    kiln_diag_fini(&d);
    kiln_diag_init(&d, "s.onnx");
    CHECK(kiln_graph_sort(g, &d) == KILN_OK);
    CHECK(g->nodes[0] == na && g->nodes[1] == nb && na->id == 0);
    CHECK(kiln_graph_infer_shapes(g, &d) == KILN_OK);
    CHECK(kiln_graph_verify(g, &d) == KILN_OK);
    /* a cycle: a = Relu(b) */
    kiln_node_set_input(g, na, 0, nb->out[0]);
    CHECK(kiln_graph_sort(g, &d) == KILN_ERR_INVALID);
    CHECK(kiln_diag_has(&d, "the graph has a cycle through this node"));
    kiln_diag_fini(&d);
    kiln_graph_free(g);
}

static void
test_captures(void)
{
    struct kiln_graph *g = kiln_graph_new("outer");
    int64_t shape[1] = {3};
    int32_t x = kiln_graph_add_input(g, "x");
    set_type(g, x, KILN_DT_F32, 1, shape);
    struct kiln_graph *then_g = kiln_graph_new_sub(g, "then");
    struct kiln_graph *inner = kiln_graph_new_sub(then_g, "inner");
    int32_t cx = kiln_graph_resolve_value(inner, "x");
    CHECK(cx >= 0 && inner->values[cx]->kind == KILN_VALUE_CAPTURE);
    CHECK(then_g->n_captures == 1 && inner->n_captures == 1); /* captured through the middle */
    CHECK(then_g->values[inner->values[cx]->outer]->outer == x);
    CHECK(kiln_graph_resolve_value(inner, "x") == cx); /* once */
    CHECK(kiln_graph_resolve_value(inner, "zzz") == -1);
    kiln_graph_free(g);
}

static void
test_broadcast(void)
{
    struct kiln_graph *g = kiln_graph_new("b");
    struct kiln_diag d;
    kiln_diag_init(&d, "b.onnx");
    struct kiln_node fake = {.name = "bc", .op = KILN_OP_ADD};
    struct kiln_infer_ctx ic = {.g = g, .n = &fake, .d = &d, .opset = 17};
    struct kiln_dim a3[3] = {kiln_dim_sym("N"), kiln_dim_const(1), kiln_dim_const(5)};
    struct kiln_dim b2[2] = {kiln_dim_const(4), kiln_dim_const(1)};
    struct kiln_type ta = {KILN_DT_F32, 3, a3}, tb = {KILN_DT_F32, 2, b2}, out;
    CHECK(kiln_infer_broadcast(&ic, &ta, &tb, &out) == KILN_OK);
    CHECK(out.rank == 3 && out.dims[0].sym && strcmp(out.dims[0].sym, "N") == 0 &&
          out.dims[1].n == 4 && out.dims[2].n == 5);
    struct kiln_dim c1[1] = {kiln_dim_const(3)};
    struct kiln_type tc = {KILN_DT_F32, 1, c1};
    CHECK(kiln_infer_broadcast(&ic, &ta, &tc, &out) == KILN_ERR_INVALID);
    CHECK(kiln_diag_has(&d, "b.onnx: node 'bc' (Add): error: cannot broadcast dimension 5 "
                            "with 3 (axis 2 of the result)"));
    int ax;
    CHECK(kiln_infer_axis(&ic, -1, 3, &ax) == KILN_OK && ax == 2);
    CHECK(kiln_infer_axis(&ic, 3, 3, &ax) == KILN_ERR_INVALID);
    CHECK(kiln_dim_eq(kiln_dim_mul(a3[0], kiln_dim_const(2)), (struct kiln_dim){2, "N"}));
    CHECK(kiln_dim_eq(kiln_dim_mul(a3[0], kiln_dim_const(1)), a3[0]));
    CHECK(kiln_dim_add(kiln_dim_const(2), kiln_dim_const(3)).n == 5);
    /* a monomial that broadcasts against itself, and against a different one */
    struct kiln_dim m1[1] = {kiln_dim_mul(kiln_dim_sym("N"), kiln_dim_sym("S"))};
    struct kiln_dim m2[1] = {kiln_dim_mul(kiln_dim_sym("S"), kiln_dim_sym("N"))};
    struct kiln_dim m3[1] = {kiln_dim_mul(m1[0], kiln_dim_const(2))};
    struct kiln_type tm1 = {KILN_DT_F32, 1, m1}, tm2 = {KILN_DT_F32, 1, m2};
    struct kiln_type tm3 = {KILN_DT_F32, 1, m3};
    CHECK(kiln_infer_broadcast(&ic, &tm1, &tm2, &out) == KILN_OK &&
          kiln_dim_eq(out.dims[0], m1[0]));
    /* two different symbolic sizes: the simpler one, and their equality is
     * recorded for the artifact to check */
    CHECK(kiln_infer_broadcast(&ic, &tm1, &tm3, &out) == KILN_OK &&
          kiln_dim_eq(out.dims[0], m1[0]));
    CHECK(g->n_assumes == 1 && kiln_dim_eq(g->assumes[0].a, m1[0]) &&
          kiln_dim_eq(g->assumes[0].b, m3[0]));
    CHECK(kiln_infer_broadcast(&ic, &tm3, &tm1, &out) == KILN_OK && g->n_assumes == 1);
    CHECK(kiln_dim_is_int(kiln_dim_const(-1)) && !kiln_dim_is_unknown(kiln_dim_const(-1)));
    (void)dims_buf;
    kiln_diag_fini(&d);
    kiln_graph_free(g);
}

/* ---------------------------------------------------------------- monomial dims */

/* d formatted as the .kir printer writes it. */
static const char *
fmt(struct kiln_dim d)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ & 3];
    kiln_dim_format(d, b, sizeof buf[0]);
    return b;
}

static struct kiln_dim
sym(const char *s)
{
    return kiln_dim_sym(s);
}

static struct kiln_dim
cst(int64_t n)
{
    return kiln_dim_const(n);
}

static void
test_dim_mul(void)
{
    struct kiln_dim n = sym("N"), s = sym("S"), q;
    /* constants fold; 0 absorbs everything, unknown included */
    CHECK(kiln_dim_eq(kiln_dim_mul(cst(6), cst(7)), cst(42)));
    CHECK(kiln_dim_eq(kiln_dim_mul(kiln_dim_unknown(), cst(0)), cst(0)));
    CHECK(kiln_dim_eq(kiln_dim_mul(cst(0), n), cst(0)));
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(kiln_dim_unknown(), n)));
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(cst(2), kiln_dim_unknown())));
    /* const * monomial scales the coefficient; the factor string is kept */
    q = kiln_dim_mul(cst(16), n);
    CHECK(q.n == 16 && q.sym && strcmp(q.sym, "N") == 0 && !strcmp(fmt(q), "16*N"));
    CHECK(kiln_dim_eq(kiln_dim_mul(n, cst(16)), q));
    CHECK(!kiln_dim_eq(q, n) && !kiln_dim_eq(q, cst(16)));
    /* known contents may be negative: -N is an expression */
    q = kiln_dim_mul(cst(-1), n);
    CHECK(kiln_dim_is_expr(q) && !strcmp(fmt(q), "-N") && !kiln_dim_nonneg(q));
    /* monomial * monomial merges factors, sorted: N*S == S*N */
    struct kiln_dim ns = kiln_dim_mul(n, s), sn = kiln_dim_mul(s, n);
    CHECK(ns.n == 1 && ns.sym && strcmp(ns.sym, "N\x1fS") == 0);
    CHECK(kiln_dim_eq(ns, sn) && ns.sym == sn.sym); /* interned: one copy */
    CHECK(!strcmp(fmt(ns), "N*S"));
    struct kiln_dim a = kiln_dim_mul(kiln_dim_mul(cst(3), s), kiln_dim_mul(cst(4), n));
    struct kiln_dim b = kiln_dim_mul(kiln_dim_mul(n, cst(2)), kiln_dim_mul(s, cst(6)));
    CHECK(kiln_dim_eq(a, b) && a.n == 12 && !strcmp(fmt(a), "12*N*S"));
    /* repeated factors stay: N*N, and order within the sort is strcmp order */
    struct kiln_dim nn = kiln_dim_mul(n, n);
    CHECK(!strcmp(fmt(nn), "N*N") && !kiln_dim_eq(nn, n));
    struct kiln_dim mix = kiln_dim_mul(kiln_dim_mul(sym("b"), sym("B")), sym("_x"));
    CHECK(!strcmp(fmt(mix), "B*_x*b")); /* 'B' < '_' < 'b' */
    CHECK(kiln_dim_eq(mix, kiln_dim_mul(sym("_x"), kiln_dim_mul(sym("b"), sym("B")))));
    /* quoting follows the .kir printer */
    CHECK(!strcmp(fmt(kiln_dim_mul(cst(2), sym("seq len"))), "2*\"seq len\""));
    CHECK(!strcmp(fmt(sym("2*N")), "\"2*N\"")); /* one opaque base symbol */
    CHECK(!strcmp(fmt(kiln_dim_mul(sym("2*N"), n)), "\"2*N\"*N"));
    CHECK(!strcmp(fmt(kiln_dim_unknown()), "?") && !strcmp(fmt(cst(-1)), "-1"));
    /* overflow gives unknown, never a wrapped coefficient */
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(cst(INT64_MAX / 2 + 1), cst(2))));
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(cst(INT64_MAX / 2 + 1), kiln_dim_mul(cst(2), n))));
    CHECK(kiln_dim_is_unknown(
        kiln_dim_mul(kiln_dim_mul(cst(INT64_MAX / 3), n), kiln_dim_mul(cst(4), s))));
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(cst(INT64_MIN / 2), cst(2)))); /* the unknown marker */
    int64_t wrap4 = (INT64_C(1) << 62) + 1; /* times 4 wraps around to exactly 4 */
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(cst(wrap4), cst(4))));
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(cst(wrap4), kiln_dim_mul(cst(4), n))));
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(kiln_dim_mul(cst(wrap4), s), kiln_dim_mul(cst(4), n))));
    /* too many factors gives unknown */
    struct kiln_dim p = n;
    for (int i = 1; i < KILN_DIM_MAX_FACTORS; i++)
        p = kiln_dim_mul(p, n);
    CHECK(p.sym && !kiln_dim_is_unknown(p));
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(p, n)));
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(p, p)));
    /* truncation of a long format stays terminated */
    char small[5];
    kiln_dim_format(a, small, sizeof small);
    CHECK(strcmp(small, "12*N") == 0);
}

/* Expressions: floor/ceil division by constants, sums, min/max (dim.c). */
static void
test_dim_expr(void)
{
    struct kiln_dim w = sym("W"), h = sym("H"), e, f;
    /* a strided convolution: floor((W + 2*1 - 3)/2) + 1 = floor((W + 1)/2) */
    e = kiln_dim_add_int(kiln_dim_floordiv(kiln_dim_add_int(w, -1), 2), 1);
    CHECK(kiln_dim_is_expr(e) && !strcmp(fmt(e), "floor((W + 1)/2)"));
    CHECK(kiln_dim_eq(e, kiln_dim_ceildiv(w, 2))); /* ceil(W/2) is the same dim */
    /* coefficients reduce modulo the divisor; exact quotients leave no floor */
    CHECK(!strcmp(fmt(kiln_dim_floordiv(kiln_dim_add_int(kiln_dim_mul(cst(4), w), 7), 2)),
                  "2*W + 3"));
    CHECK(kiln_dim_eq(kiln_dim_floordiv(kiln_dim_mul(cst(6), w), 3), kiln_dim_mul(cst(2), w)));
    CHECK(!strcmp(fmt(kiln_dim_floordiv(kiln_dim_add_int(kiln_dim_mul(cst(3), w), 5), 2)),
                  "floor((W + 1)/2) + W + 2"));
    /* a common factor cancels: floor((2*W + 2)/4) = floor((W + 1)/2) */
    CHECK(kiln_dim_eq(kiln_dim_floordiv(kiln_dim_add_int(kiln_dim_mul(cst(2), w), 2), 4), e));
    /* nested floors merge: floor(floor(W/2)/2) = floor(W/4) */
    f = kiln_dim_floordiv(kiln_dim_floordiv(w, 2), 2);
    CHECK(kiln_dim_eq(f, kiln_dim_floordiv(w, 4)) && !strcmp(fmt(f), "floor(W/4)"));
    f = kiln_dim_floordiv(kiln_dim_add_int(kiln_dim_floordiv(w, 2), 1), 3); /* (W + 2)/6 */
    CHECK(kiln_dim_eq(f, kiln_dim_floordiv(kiln_dim_add_int(w, 2), 6)));
    /* sums and differences stay exact and cancel */
    f = kiln_dim_sub(kiln_dim_add(w, h), h);
    CHECK(kiln_dim_eq(f, w) && !kiln_dim_is_expr(f));
    CHECK(kiln_dim_eq(kiln_dim_sub(e, e), cst(0)));
    CHECK(!strcmp(fmt(kiln_dim_sub(w, cst(1))), "W - 1"));
    CHECK(kiln_dim_eq(kiln_dim_add_int(kiln_dim_add_int(w, 6), -6), w));
    /* products expand */
    f = kiln_dim_mul(kiln_dim_add_int(w, 1), kiln_dim_add_int(h, 2));
    CHECK(!strcmp(fmt(f), "H + H*W + 2*W + 2"));
    CHECK(kiln_dim_eq(f, kiln_dim_mul(kiln_dim_add_int(h, 2), kiln_dim_add_int(w, 1))));
    CHECK(kiln_dim_eq(kiln_dim_mul(e, cst(0)), cst(0)));
    /* exact division of an expression by a constant */
    struct kiln_dim q = cst(99);
    CHECK(kiln_dim_div_exact(kiln_dim_add_int(kiln_dim_mul(cst(4), w), 8), cst(4), &q) &&
          kiln_dim_eq(q, kiln_dim_add_int(w, 2)));
    CHECK(!kiln_dim_div_exact(kiln_dim_add_int(w, 8), cst(4), &q));
    CHECK(kiln_dim_div_exact(e, e, &q) && kiln_dim_eq(q, cst(1)));
    /* by a term: (82*N*floor(H/8)*floor(W/8)) / (82*N), Reshape's -1 of a detector head */
    struct kiln_dim hw = kiln_dim_mul(kiln_dim_floordiv(h, 8), kiln_dim_floordiv(w, 8));
    struct kiln_dim n82 = kiln_dim_mul(cst(82), sym("N"));
    CHECK(kiln_dim_div_exact(kiln_dim_mul(n82, hw), n82, &q) && kiln_dim_eq(q, hw));
    CHECK(kiln_dim_div_exact(kiln_dim_mul(n82, hw), kiln_dim_floordiv(w, 8), &q) &&
          kiln_dim_eq(q, kiln_dim_mul(n82, kiln_dim_floordiv(h, 8))));
    CHECK(!kiln_dim_div_exact(kiln_dim_mul(n82, hw), kiln_dim_mul(cst(3), sym("N")), &q));
    CHECK(!kiln_dim_div_exact(kiln_dim_add(hw, cst(1)), kiln_dim_floordiv(w, 8), &q));
    /* min/max decide what they can: a constant difference, or one sign */
    CHECK(kiln_dim_eq(kiln_dim_min(w, kiln_dim_add_int(w, 3)), w));
    CHECK(kiln_dim_eq(kiln_dim_max(w, kiln_dim_add_int(w, -3)), w));
    CHECK(kiln_dim_eq(kiln_dim_max(kiln_dim_add(w, h), h), kiln_dim_add(w, h)));
    CHECK(kiln_dim_eq(kiln_dim_max(w, cst(0)), w));
    f = kiln_dim_min(w, cst(16));
    CHECK(kiln_dim_is_expr(f) && !strcmp(fmt(f), "min(W, 16)"));
    CHECK(kiln_dim_eq(f, kiln_dim_min(cst(16), w)));
    CHECK(!strcmp(fmt(kiln_dim_max(kiln_dim_sub(w, cst(5)), cst(0))), "max(W - 5, 0)"));
    CHECK(kiln_dim_nonneg(e) && kiln_dim_nonneg(f) && !kiln_dim_nonneg(kiln_dim_sub(w, h)));
    /* substitution evaluates: W = 7 gives floor(8/2) = 4 */
    CHECK(kiln_dim_subst(e, "W", 7, NULL, &q) && kiln_dim_eq(q, cst(4)));
    CHECK(!kiln_dim_subst(e, "H", 7, NULL, &q));
    CHECK(kiln_dim_subst(kiln_dim_min(w, cst(16)), "W", 40, NULL, &q) && kiln_dim_eq(q, cst(16)));
    f = kiln_dim_mul(kiln_dim_ceildiv(w, 2), h);
    CHECK(kiln_dim_subst(f, "H", 3, NULL, &q) &&
          kiln_dim_eq(q, kiln_dim_mul(cst(3), kiln_dim_ceildiv(w, 2))));
    CHECK(kiln_dim_subst(q, "W", 5, NULL, &q) && kiln_dim_eq(q, cst(9)));
    /* the tree codegen reads: floor((W + 1)/2) is FLOOR_DIV(ADD(W, 1), 2) */
    struct kiln_arena *a = kiln_arena_new();
    const struct kiln_dim_tree *t = kiln_dim_tree(e, a);
    CHECK(t && t->op == KILN_DIM_TREE_FLOOR_DIV && t->k == 2 && t->n == 1);
    CHECK(t && t->args[0]->op == KILN_DIM_TREE_ADD && t->args[0]->n == 2 &&
          t->args[0]->args[0]->op == KILN_DIM_TREE_SYM && t->args[0]->args[0]->len == 1 &&
          t->args[0]->args[0]->sym[0] == 'W' && t->args[0]->args[1]->op == KILN_DIM_TREE_INT &&
          t->args[0]->args[1]->k == 1);
    t = kiln_dim_tree(kiln_dim_mul(cst(16), w), a);
    CHECK(t && t->op == KILN_DIM_TREE_MUL && t->n == 2 && t->args[0]->k == 16);
    t = kiln_dim_tree(cst(5), a);
    CHECK(t && t->op == KILN_DIM_TREE_INT && t->k == 5);
    CHECK(!kiln_dim_tree(kiln_dim_unknown(), a));
    kiln_arena_free(a);
    /* unknown stays unknown; floor by < 1 is unknown */
    CHECK(kiln_dim_is_unknown(kiln_dim_floordiv(kiln_dim_unknown(), 2)));
    CHECK(kiln_dim_is_unknown(kiln_dim_floordiv(w, 0)));
    CHECK(kiln_dim_floordiv(cst(-3), 2).n == -2); /* known contents: toward -inf */
    /* a product too large for the caps is unknown, never wrong */
    f = kiln_dim_add_int(w, 1);
    for (int i = 0; i < 8; i++)
        f = kiln_dim_mul(f, kiln_dim_add(f, h));
    CHECK(kiln_dim_is_unknown(f));
}

static void
test_dim_add_div(void)
{
    struct kiln_dim n = sym("N"), s = sym("S"), q = cst(99);
    struct kiln_dim ns = kiln_dim_mul(n, s), n16 = kiln_dim_mul(cst(16), n);
    /* add: constants, x + 0, like terms; unlike terms make an expression */
    CHECK(kiln_dim_eq(kiln_dim_add(n, cst(0)), n) && kiln_dim_eq(kiln_dim_add(cst(0), ns), ns));
    CHECK(kiln_dim_eq(kiln_dim_add(n, kiln_dim_mul(cst(2), n)), kiln_dim_mul(cst(3), n)));
    CHECK(kiln_dim_is_expr(kiln_dim_add(n, s)) && !strcmp(fmt(kiln_dim_add(n, s)), "N + S"));
    CHECK(kiln_dim_eq(kiln_dim_add(n, s), kiln_dim_add(s, n)));
    CHECK(!strcmp(fmt(kiln_dim_add(n, cst(1))), "N + 1"));
    CHECK(!strcmp(fmt(kiln_dim_add(n, ns)), "N + N*S"));
    CHECK(kiln_dim_is_unknown(kiln_dim_add(n, kiln_dim_unknown())));
    CHECK(kiln_dim_is_unknown(kiln_dim_add(cst(INT64_MAX), cst(1))));
    CHECK(kiln_dim_is_unknown(kiln_dim_add(kiln_dim_mul(cst(INT64_MAX), n), n)));
    /* exact division */
    CHECK(kiln_dim_div_exact(cst(42), cst(7), &q) && kiln_dim_eq(q, cst(6)));
    CHECK(kiln_dim_div_exact(n16, cst(4), &q) && kiln_dim_eq(q, kiln_dim_mul(cst(4), n)));
    CHECK(kiln_dim_div_exact(n16, cst(16), &q) && kiln_dim_eq(q, n));
    CHECK(kiln_dim_div_exact(n16, n, &q) && kiln_dim_eq(q, cst(16)));
    CHECK(kiln_dim_div_exact(n16, kiln_dim_mul(cst(8), n), &q) && kiln_dim_eq(q, cst(2)));
    CHECK(kiln_dim_div_exact(ns, s, &q) && kiln_dim_eq(q, n));
    CHECK(kiln_dim_div_exact(ns, n, &q) && kiln_dim_eq(q, s));
    CHECK(kiln_dim_div_exact(kiln_dim_mul(s, n), ns, &q) && kiln_dim_eq(q, cst(1)));
    struct kiln_dim big = kiln_dim_mul(kiln_dim_mul(cst(768), ns), sym("H"));
    CHECK(kiln_dim_div_exact(big, kiln_dim_mul(cst(12), kiln_dim_mul(sym("H"), n)), &q) &&
          !strcmp(fmt(q), "64*S"));
    struct kiln_dim nnn = kiln_dim_mul(kiln_dim_mul(n, n), s);
    CHECK(kiln_dim_div_exact(nnn, n, &q) && kiln_dim_eq(q, ns)); /* one N cancels, once */
    CHECK(kiln_dim_div_exact(cst(0), ns, &q) && kiln_dim_eq(q, cst(0)));
    /* failures leave *out alone */
    q = cst(99);
    CHECK(!kiln_dim_div_exact(cst(7), cst(2), &q));                  /* remainder */
    CHECK(!kiln_dim_div_exact(cst(7), cst(0), &q));                  /* by zero */
    CHECK(!kiln_dim_div_exact(n, cst(0), &q));                       /* by zero */
    CHECK(!kiln_dim_div_exact(kiln_dim_mul(cst(3), n), cst(2), &q)); /* coefficient remainder */
    CHECK(!kiln_dim_div_exact(n, s, &q));                            /* factor missing */
    CHECK(!kiln_dim_div_exact(n, ns, &q));                           /* divisor has more factors */
    CHECK(!kiln_dim_div_exact(ns, kiln_dim_mul(n, n), &q));          /* N twice, a has it once */
    CHECK(!kiln_dim_div_exact(cst(16), n, &q));                      /* constant by a monomial */
    CHECK(!kiln_dim_div_exact(n, kiln_dim_mul(cst(2), n), &q));
    CHECK(!kiln_dim_div_exact(kiln_dim_unknown(), cst(1), &q));
    CHECK(!kiln_dim_div_exact(n, kiln_dim_unknown(), &q));
    CHECK(!kiln_dim_div_exact(cst(-4), cst(2), &q) && !kiln_dim_div_exact(cst(4), cst(-2), &q));
    CHECK(kiln_dim_eq(q, cst(99)));
}

static void
test_dim_bind(void)
{
    struct kiln_graph *g = kiln_graph_new("bind");
    int32_t x = kiln_graph_add_input(g, "x");
    struct kiln_type *t = &g->values[x]->type;
    t->dtype = KILN_DT_F32;
    t->rank = 6;
    t->dims = kiln_arena_array(g->arena, 6, sizeof *t->dims);
    const char *f_ns[] = {"N", "S"}, *f_nns[] = {"S", "N", "N"};
    t->dims[0] = kiln_dim_monomial(16, f_ns, 1, g->arena);    /* 16*N */
    t->dims[1] = kiln_dim_monomial(1, f_ns, 2, g->arena);     /* N*S */
    t->dims[2] = kiln_dim_monomial(3, f_nns, 3, g->arena);    /* 3*N*N*S */
    t->dims[3] = kiln_dim_monomial(1, f_ns + 1, 1, g->arena); /* S */
    t->dims[4] = kiln_dim_const(5);
    t->dims[5] = kiln_dim_monomial(1, (const char *[]){"NN"}, 1, g->arena); /* not N */
    CHECK(!strcmp(fmt(t->dims[2]), "3*N*N*S") && !strcmp(fmt(t->dims[1]), "N*S"));
    CHECK(kiln_graph_bind_dim(g, "N", 4) == 3);
    CHECK(kiln_dim_eq(t->dims[0], cst(64)));
    CHECK(!strcmp(fmt(t->dims[1]), "4*S") &&
          kiln_dim_eq(t->dims[1], kiln_dim_mul(cst(4), sym("S"))));
    CHECK(!strcmp(fmt(t->dims[2]), "48*S"));
    CHECK(!strcmp(fmt(t->dims[3]), "S") && !strcmp(fmt(t->dims[5]), "NN"));
    CHECK(kiln_graph_bind_dim(g, "N", 4) == 0); /* nothing left to bind */
    CHECK(kiln_graph_bind_dim(g, "S", 0) == 3);
    CHECK(kiln_dim_eq(t->dims[1], cst(0)) && kiln_dim_eq(t->dims[2], cst(0)) &&
          kiln_dim_eq(t->dims[3], cst(0)));
    /* a value whose power overflows becomes unknown, and still counts */
    t->dims[0] = kiln_dim_monomial(2, f_nns + 1, 2, g->arena); /* 2*N*N */
    CHECK(kiln_graph_bind_dim(g, "N", INT64_C(1) << 31) == 1);
    CHECK(kiln_dim_is_unknown(t->dims[0]));
    /* kiln_dim_subst directly */
    struct kiln_dim r = cst(1);
    CHECK(!kiln_dim_subst(cst(3), "N", 2, NULL, &r) && kiln_dim_eq(r, cst(1)));
    CHECK(
        kiln_dim_subst(kiln_dim_mul(kiln_dim_mul(cst(5), sym("N")), sym("T")), "T", 3, NULL, &r) &&
        kiln_dim_eq(r, kiln_dim_mul(cst(15), sym("N"))));
    /* kiln_dim_monomial refuses malformed factors */
    CHECK(kiln_dim_is_unknown(kiln_dim_monomial(1, (const char *[]){""}, 1, NULL)));
    CHECK(kiln_dim_is_unknown(kiln_dim_monomial(1,
                                                (const char *[]){"a\x1f"
                                                                 "b"},
                                                1, NULL)));
    CHECK(kiln_dim_is_unknown(kiln_dim_monomial(-2, f_ns, 1, NULL)));
    CHECK(kiln_dim_eq(kiln_dim_monomial(0, f_ns, 2, NULL), cst(0)));
    CHECK(kiln_dim_eq(kiln_dim_monomial(7, f_ns, 0, NULL), cst(7)));
    kiln_graph_free(g);
}

/* Last: fills the process-wide intern table, after which new products are unknown. */
static void
test_dim_intern_cap(void)
{
    struct kiln_dim ns = kiln_dim_mul(sym("N"), sym("S")); /* interned before the table fills */
    const char *a = kiln_dim_intern("cap\x1ftest", 8);
    CHECK(a && a == kiln_dim_intern("cap\x1ftest", 8) && strcmp(a, "cap\x1ftest") == 0);
    char name[32];
    int added = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "f%d", i);
        if (!kiln_dim_intern(name, strlen(name)))
            break;
        added++;
    }
    CHECK(added > 0 && added < 4096);
    CHECK(kiln_dim_intern("never seen", 10) == NULL);
    CHECK(kiln_dim_intern("cap\x1ftest", 8) == a); /* existing entries still answer */
    CHECK(kiln_dim_eq(kiln_dim_mul(sym("S"), sym("N")), ns));
    CHECK(kiln_dim_is_unknown(kiln_dim_mul(sym("P"), sym("Q"))));
    struct kiln_dim q;
    struct kiln_dim nsz = {1, "N\x1fS\x1fZ"};      /* a canonical N*S*Z */
    CHECK(!kiln_dim_div_exact(nsz, sym("S"), &q)); /* N*Z would be new: no room */
    CHECK(kiln_dim_div_exact(nsz, sym("N"), &q) && !strcmp(fmt(q), "S*Z"));     /* a tail: reused */
    CHECK(kiln_dim_eq(kiln_dim_mul(cst(3), ns), (struct kiln_dim){3, ns.sym})); /* no new string */
}

static void
test_diag_and_passes(void)
{
    struct kiln_diag d;
    kiln_diag_init(&d, "net.kir");
    kiln_diag_at(&d, 12, 5, "expected '%s'", ")");
    CHECK(kiln_diag_has(&d, "net.kir:12:5: error: expected ')'"));
    kiln_diag_node(&d, "", 7, "Conv", "bad");
    CHECK(kiln_diag_has(&d, "net.kir: node #7 (Conv): error: bad"));
    d.max_msgs = 3;
    for (int i = 0; i < 10; i++)
        kiln_diag_error(&d, "flood %d", i);
    CHECK(d.n_msgs == 3 && d.n_errors == 12); /* stored messages capped, errors counted */
    kiln_diag_fini(&d);

    struct kiln_graph *g = build_small();
    kiln_diag_init(&d, "small");
    CHECK(kiln_pass_run_pipeline(g, "infer-shapes,nosuch", NULL, &d) == KILN_ERR_INVALID);
    CHECK(kiln_diag_has(&d, "small: error: unknown pass 'nosuch'"));
    CHECK(g->values[2]->type.dtype == KILN_DT_INVALID); /* nothing ran */
    CHECK(kiln_pass_run_pipeline(g, "infer-shapes,verify", NULL, &d) == KILN_OK);
    CHECK(g->values[2]->type.dtype == KILN_DT_F32);
    CHECK(kiln_pass_run_pipeline(g, "verify,,verify", NULL, &d) == KILN_ERR_INVALID);
    CHECK(kiln_pass_run_pipeline(g, "", NULL, &d) == KILN_OK);
    /* the verifier catches a type the op cannot produce */
    g->values[2]->type.dims[1] = kiln_dim_const(7);
    CHECK(kiln_pass_run_pipeline(g, "verify", NULL, &d) != KILN_OK);
    CHECK(kiln_diag_has(&d, "has a type its op does not produce"));
    kiln_diag_fini(&d);
    kiln_graph_free(g);
}

int
main(void)
{
    test_arena();
    test_dtypes();
    test_ops();
    test_graph();
    test_sort();
    test_captures();
    test_broadcast();
    test_dim_mul();
    test_dim_add_div();
    test_dim_expr();
    test_dim_bind();
    test_diag_and_passes();
    test_dim_intern_cap(); /* last: it fills the intern table */
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail != 0;
}
