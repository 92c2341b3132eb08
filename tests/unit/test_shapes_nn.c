/*
 * test_shapes_nn.c - unit tests of the elementwise (shape_ew.c) and network-layer
 * (shape_nn.c) shape functions: each case builds a small graph with the ir.h
 * API, runs kiln_graph_infer_shapes and checks the inferred output types, or
 * that a malformed node fails with a specific diagnostic. Also checks a few
 * FLOP counts.
 *
 * Types are written as in the text IR: "f32[N,3,?]", "i64[]" (scalar),
 * "f32[*]" (unknown rank); a name is a symbol, `16*N*S` a monomial, `?` an
 * unknown dim.
 * Prints one line per failed check and closes with "N passed, N failed".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/shape.h"

#include "shape_harness.h"

/* A graph input of the given type. */
static int32_t
input(const char *type)
{
    int32_t v = kiln_graph_add_input(G, fresh_name());
    parse_type(type, &G->values[v]->type);
    return v;
}

/* A constant of dtype dt (i64 or i32) and shape [n] (rank 0 when n < 0). */
static int32_t
const_ints_rank(enum kiln_dtype dt, const int64_t *vals, int n)
{
    struct kiln_tensor *t = kiln_arena_alloc(G->arena, sizeof *t);
    int cnt = n < 0 ? 1 : n;
    t->dtype = dt;
    t->rank = n < 0 ? 0 : 1;
    t->dims = kiln_arena_array(G->arena, 1, sizeof *t->dims);
    t->dims[0] = cnt;
    t->nbytes = (uint64_t)cnt * (dt == KILN_DT_I64 ? 8 : 4);
    unsigned char *p = kiln_arena_alloc(G->arena, t->nbytes + 1);
    for (int i = 0; i < cnt; i++) {
        if (dt == KILN_DT_I64) {
            memcpy(p + 8 * i, &vals[i], 8);
        } else {
            int32_t x = (int32_t)vals[i];
            memcpy(p + 4 * i, &x, 4);
        }
    }
    t->data = p;
    return kiln_graph_add_const(G, fresh_name(), t);
}

/* A 1-D constant holding vals[0..n). */
static int32_t
const_ints(enum kiln_dtype dt, const int64_t *vals, int n)
{
    return const_ints_rank(dt, vals, n);
}

/* A rank-0 constant. */
static int32_t
const_scalar(enum kiln_dtype dt, int64_t v)
{
    return const_ints_rank(dt, &v, -1);
}

/* A node with n_out outputs, all present unless absent_mask has their bit set. */
static struct kiln_node *
node_mask(enum kiln_op op, int n_out, unsigned absent_mask, const int32_t *in, int n_in)
{
    char names[8][32];
    const char *ptrs[8];
    for (int i = 0; i < n_out; i++) {
        snprintf(names[i], sizeof names[i], "%s", fresh_name());
        ptrs[i] = absent_mask & (1u << i) ? NULL : names[i];
    }
    struct kiln_node *n = kiln_graph_add_node(G, op, "n", in, n_in, ptrs, n_out, &D);
    CHECK(n != NULL);
    return n;
}

static struct kiln_node *
node(enum kiln_op op, int n_out, const int32_t *in, int n_in)
{
    return node_mask(op, n_out, 0, in, n_in);
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
run(void)
{
    if (!inferred) {
        status = kiln_graph_infer_shapes(G, &D);
        inferred = true;
    }
}

/* Output i of n has type `want` (and inference succeeded). */
static void
expect_at(struct kiln_node *n, int i, const char *want, int line)
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

/* ---------------------------------------------------------------- elementwise */

static void
test_unary(void)
{
    BEGIN(17);
    struct kiln_node *n = node(KILN_OP_RELU, 1, IN(input("f32[N,3]")));
    EXPECT(n, 0, "f32[N,3]");
    end();

    BEGIN(17);
    n = node(KILN_OP_EXP, 1, IN(input("f16[*]")));
    EXPECT(n, 0, "f16[*]");
    end();

    BEGIN(17);
    node(KILN_OP_NOT, 1, IN(input("f32[2]")));
    EXPECT_FAIL("input 0 has dtype f32");
    end();

    BEGIN(17);
    node(KILN_OP_SQRT, 1, IN(input("i32[2]")));
    EXPECT_FAIL("input 0 has dtype i32");
    end();

    BEGIN(18);
    node(KILN_OP_BITWISE_NOT, 1, IN(input("f32[2]")));
    EXPECT_FAIL("input 0 has dtype f32");
    end();

    /* Softmax: axis checked against the rank, with the pre-13 coerce rule */
    BEGIN(13);
    n = node(KILN_OP_SOFTMAX, 1, IN(input("f32[2,5]")));
    attr_int(n, "axis", 2);
    EXPECT_FAIL("axis 2 is out of range for rank 2");
    end();

    BEGIN(11);
    n = node(KILN_OP_SOFTMAX, 1, IN(input("f32[2,5]")));
    attr_int(n, "axis", 2);
    EXPECT(n, 0, "f32[2,5]");
    end();

    BEGIN(13);
    n = node(KILN_OP_LOG_SOFTMAX, 1, IN(input("f32[2,5]")));
    attr_int(n, "axis", -3);
    EXPECT_FAIL("axis -3 is out of range for rank 2");
    end();

    BEGIN(20);
    n = node(KILN_OP_IS_NAN, 1, IN(input("f16[N,4]")));
    EXPECT(n, 0, "bool[N,4]");
    end();

    BEGIN(18);
    n = node(KILN_OP_GROUP_NORMALIZATION, 1,
             IN(input("f32[N,6,4]"), input("f32[6]"), input("f32[6]")));
    attr_int(n, "num_groups", 4);
    EXPECT_FAIL("channels (6) not divisible by num_groups (4)");
    end();

    BEGIN(14);
    n = node(KILN_OP_CUM_SUM, 1, IN(input("f32[3,4]"), const_scalar(KILN_DT_I64, 2)));
    EXPECT_FAIL("axis 2 is out of range for rank 2");
    end();
}

static void
test_binary(void)
{
    BEGIN(14);
    struct kiln_node *n = node(KILN_OP_ADD, 1, IN(input("f32[N,1,4]"), input("f32[3,1]")));
    EXPECT(n, 0, "f32[N,3,4]");
    end();

    BEGIN(14);
    n = node(KILN_OP_MUL, 1, IN(input("f32[N]"), input("f32[M]")));
    EXPECT(n, 0, "f32[M]"); /* M == N is assumed, and checked at run time */
    end();

    BEGIN(14);
    n = node(KILN_OP_SUB, 1, IN(input("f32[N,5]"), input("f32[N,1]")));
    EXPECT(n, 0, "f32[N,5]");
    end();

    BEGIN(14);
    node(KILN_OP_ADD, 1, IN(input("f32[2,3]"), input("f32[4]")));
    EXPECT_FAIL("cannot broadcast dimension 3 with 4");
    end();

    BEGIN(14);
    node(KILN_OP_ADD, 1, IN(input("f32[2,3]"), input("f16[3]")));
    EXPECT_FAIL("input 0 has dtype f32 but input 1 has dtype f16");
    end();

    /* opset 6: legacy broadcast=1 with axis */
    BEGIN(6);
    n = node(KILN_OP_ADD, 1, IN(input("f32[2,3,4]"), input("f32[3]")));
    attr_int(n, "broadcast", 1);
    attr_int(n, "axis", 1);
    EXPECT(n, 0, "f32[2,3,4]");
    end();

    BEGIN(6);
    n = node(KILN_OP_ADD, 1, IN(input("f32[2,3,4]"), input("f32[4]")));
    attr_int(n, "broadcast", 1);
    attr_int(n, "axis", 1);
    EXPECT_FAIL("input 1 dim 0 (4) does not match input 0 dim 1 (3)");
    end();

    BEGIN(6);
    node(KILN_OP_ADD, 1, IN(input("f32[2,3,4]"), input("f32[4]")));
    EXPECT_FAIL("set broadcast=1");
    end();

    BEGIN(13);
    n = node(KILN_OP_EQUAL, 1, IN(input("i64[N,1]"), input("i64[3]")));
    EXPECT(n, 0, "bool[N,3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_AND, 1, IN(input("bool[2]"), input("bool[]")));
    EXPECT(n, 0, "bool[2]");
    end();

    BEGIN(15);
    n = node(KILN_OP_POW, 1, IN(input("i32[2,3]"), input("f32[3]")));
    EXPECT(n, 0, "i32[2,3]");
    end();

    BEGIN(16);
    n = node(KILN_OP_WHERE, 1, IN(input("bool[N,1]"), input("f32[1,5]"), input("f32[5]")));
    EXPECT(n, 0, "f32[N,5]");
    end();

    BEGIN(16);
    node(KILN_OP_WHERE, 1, IN(input("f32[N,1]"), input("f32[1,5]"), input("f32[5]")));
    EXPECT_FAIL("input 0 has dtype f32");
    end();

    BEGIN(13);
    n = node(KILN_OP_MOD, 1, IN(input("f32[2]"), input("f32[2]")));
    EXPECT_FAIL("fmod must be 1 for floating-point inputs (f32) before opset 28");
    end();

    BEGIN(11);
    node(KILN_OP_BIT_SHIFT, 1, IN(input("u8[2]"), input("u8[2]")));
    EXPECT_FAIL("attribute 'direction' is required");
    end();

    BEGIN(11);
    n = node(KILN_OP_BIT_SHIFT, 1, IN(input("i8[2]"), input("i8[2]")));
    attr_str(n, "direction", "LEFT");
    EXPECT_FAIL("input 0 has dtype i8"); /* signed types only from BitShift-28 */
    end();

    BEGIN(16);
    n = node(KILN_OP_PRELU, 1, IN(input("f32[N,3,8,8]"), input("f32[3,1,1]")));
    EXPECT(n, 0, "f32[N,3,8,8]");
    end();

    BEGIN(16);
    node(KILN_OP_PRELU, 1, IN(input("f32[N,3,8,8]"), input("f32[4,1,1]")));
    EXPECT_FAIL("input 1 dim 0 (4) does not broadcast to 3");
    end();

    BEGIN(24);
    node(KILN_OP_SWIGLU, 1, IN(input("f32[2,8]"), input("f32[2,7]")));
    EXPECT_FAIL("A and B differ in dim 1 (8 vs 7)");
    end();

    BEGIN(13);
    n = node(KILN_OP_SUM, 1, IN(input("f32[N,1]"), input("f32[3]"), input("f32[1,3]")));
    EXPECT(n, 0, "f32[N,3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_MAX, 1, IN(input("i32[N,1]"), input("i32[4]")));
    EXPECT(n, 0, "i32[N,4]");
    end();
}

/* Known integer contents flow through Add/Mul/Sub/Div/Cast/Identity/Max into TopK's K. */
static void
test_known_values(void)
{
    BEGIN(13);
    int32_t two = const_ints(KILN_DT_I64, INTS(2)), three = const_ints(KILN_DT_I64, INTS(3));
    struct kiln_node *add = node(KILN_OP_ADD, 1, IN(two, three));         /* 5 */
    struct kiln_node *mul = node(KILN_OP_MUL, 1, IN(add->out[0], two));   /* 10 */
    struct kiln_node *sub = node(KILN_OP_SUB, 1, IN(mul->out[0], three)); /* 7 */
    struct kiln_node *div = node(KILN_OP_DIV, 1, IN(sub->out[0], two));   /* 3 */
    struct kiln_node *id = node(KILN_OP_IDENTITY, 1, IN(div->out[0]));
    struct kiln_node *topk = node(KILN_OP_TOPK, 2, IN(input("f32[N,10]"), id->out[0]));
    EXPECT(topk, 0, "f32[N,3]");
    EXPECT(topk, 1, "i64[N,3]");
    end();

    BEGIN(13);
    int32_t k32 = const_ints(KILN_DT_I32, INTS(4));
    struct kiln_node *cast = node(KILN_OP_CAST, 1, IN(k32));
    attr_int(cast, "to", 7);
    struct kiln_node *mx = node(KILN_OP_MAX, 1, IN(cast->out[0], const_ints(KILN_DT_I64, INTS(1))));
    topk = node(KILN_OP_TOPK, 2, IN(input("f32[N,10]"), mx->out[0]));
    EXPECT(topk, 0, "f32[N,4]");
    end();

    /* integer Div truncates toward zero; Mod follows the divisor's sign */
    BEGIN(13);
    int32_t m7 = const_ints(KILN_DT_I64, INTS(-7));
    div = node(KILN_OP_DIV, 1, IN(m7, two = const_ints(KILN_DT_I64, INTS(2)))); /* -3 */
    struct kiln_node *neg =
        node(KILN_OP_MUL, 1, IN(div->out[0], const_ints(KILN_DT_I64, INTS(-1))));
    struct kiln_node *mod = node(KILN_OP_MOD, 1, IN(m7, const_ints(KILN_DT_I64, INTS(5))));
    struct kiln_node *sum = node(KILN_OP_ADD, 1, IN(neg->out[0], mod->out[0])); /* 3 + 3 */
    topk = node(KILN_OP_TOPK, 2, IN(input("f32[N,10]"), sum->out[0]));
    EXPECT(topk, 0, "f32[N,6]");
    end();

    /* a known negative K is an error */
    BEGIN(13);
    sub = node(KILN_OP_SUB, 1,
               IN(const_ints(KILN_DT_I64, INTS(2)), const_ints(KILN_DT_I64, INTS(5))));
    node(KILN_OP_TOPK, 2, IN(input("f32[N,10]"), sub->out[0]));
    EXPECT_FAIL("K must be >= 0, got -3");
    end();

    /* ReduceSum axes computed from constants */
    BEGIN(13);
    sub = node(KILN_OP_SUB, 1,
               IN(const_ints(KILN_DT_I64, INTS(3)), const_ints(KILN_DT_I64, INTS(1))));
    struct kiln_node *r = node(KILN_OP_REDUCE_SUM, 1, IN(input("f32[N,3,4]"), sub->out[0]));
    attr_int(r, "keepdims", 0);
    EXPECT(r, 0, "f32[N,3]");
    end();
}

static void
test_cast_quant(void)
{
    BEGIN(13);
    struct kiln_node *n = node(KILN_OP_CAST, 1, IN(input("f32[N,2]")));
    attr_int(n, "to", 7);
    EXPECT(n, 0, "i64[N,2]");
    end();

    BEGIN(1);
    n = node(KILN_OP_CAST, 1, IN(input("f32[2]")));
    attr_str(n, "to", "INT32");
    EXPECT(n, 0, "i32[2]");
    end();

    BEGIN(13);
    n = node(KILN_OP_CAST, 1, IN(input("f32[2]")));
    attr_int(n, "to", 8);
    EXPECT_UNSUPPORTED("string tensors are not supported");
    end();

    BEGIN(13);
    n = node(KILN_OP_CAST, 1, IN(input("f32[2]")));
    attr_int(n, "to", 99);
    EXPECT_FAIL("to is 99, which is not an ONNX data type");
    end();

    BEGIN(13);
    node(KILN_OP_CAST, 1, IN(input("f32[2]")));
    EXPECT_FAIL("attribute 'to' is required");
    end();

    BEGIN(15);
    n = node(KILN_OP_CAST_LIKE, 1, IN(input("f32[N,2]"), input("f16[7]")));
    EXPECT(n, 0, "f16[N,2]");
    end();

    BEGIN(26);
    n = node(KILN_OP_BIT_CAST, 1, IN(input("f32[3]")));
    attr_int(n, "to", 6);
    EXPECT(n, 0, "i32[3]");
    end();

    BEGIN(26);
    n = node(KILN_OP_BIT_CAST, 1, IN(input("f32[3]")));
    attr_int(n, "to", 5);
    EXPECT_FAIL("widths differ");
    end();

    BEGIN(13);
    n = node(KILN_OP_QUANTIZE_LINEAR, 1, IN(input("f32[N,4]"), input("f32[]")));
    EXPECT(n, 0, "u8[N,4]");
    end();

    BEGIN(21);
    n = node(KILN_OP_QUANTIZE_LINEAR, 1, IN(input("f32[N,4]"), input("f32[]")));
    attr_int(n, "output_dtype", 3);
    EXPECT(n, 0, "i8[N,4]");
    end();

    BEGIN(21);
    n = node(KILN_OP_QUANTIZE_LINEAR, 1, IN(input("f32[N,4]"), input("f32[]"), input("i8[]")));
    attr_int(n, "output_dtype", 2);
    EXPECT_FAIL("output_dtype is u8 but y_zero_point is i8");
    end();

    BEGIN(13);
    n = node(KILN_OP_QUANTIZE_LINEAR, 1, IN(input("f32[2,3,4]"), input("f32[4]"), input("i8[4]")));
    EXPECT_FAIL("scale has 4 values but axis 1 has 3");
    end();

    BEGIN(21); /* blocked quantization along axis 1, blocks of 2 */
    n = node(KILN_OP_QUANTIZE_LINEAR, 1,
             IN(input("f32[4,6]"), input("f32[4,3]"), input("i4[4,3]")));
    attr_int(n, "block_size", 2);
    EXPECT(n, 0, "i4[4,6]");
    end();

    BEGIN(19);
    n = node(KILN_OP_DEQUANTIZE_LINEAR, 1, IN(input("i8[N,4]"), input("f16[]")));
    EXPECT(n, 0, "f16[N,4]");
    end();

    BEGIN(13);
    n = node(KILN_OP_DEQUANTIZE_LINEAR, 1, IN(input("u8[N,4]"), input("f32[]"), input("u8[]")));
    EXPECT(n, 0, "f32[N,4]");
    end();

    BEGIN(13);
    node(KILN_OP_DEQUANTIZE_LINEAR, 1, IN(input("u8[N,4]"), input("f32[]"), input("i8[]")));
    EXPECT_FAIL("input 0 has dtype u8 but input 2 has dtype i8");
    end();

    BEGIN(11);
    n = node(KILN_OP_DYNAMIC_QUANTIZE_LINEAR, 3, IN(input("f32[N,4]")));
    EXPECT(n, 0, "u8[N,4]");
    EXPECT(n, 1, "f32[]");
    EXPECT(n, 2, "u8[]");
    end();

    BEGIN(13);
    node(KILN_OP_CLIP, 1, IN(input("f32[N,4]"), input("f32[2]")));
    EXPECT_FAIL("input 1 (min) must be a scalar");
    end();

    BEGIN(13);
    n = node(KILN_OP_CLIP, 1, IN(input("f32[N,4]"), -1, input("f32[]")));
    EXPECT(n, 0, "f32[N,4]");
    end();

    BEGIN(6);
    n = node(KILN_OP_CLIP, 1, IN(input("f32[N,4]")));
    attr_float(n, "min", -1.0f);
    EXPECT(n, 0, "f32[N,4]");
    end();

    BEGIN(6);
    node(KILN_OP_CLIP, 1, IN(input("f32[N,4]"), input("f32[]")));
    EXPECT_FAIL("Clip-6 takes 1 input (min/max are attributes), got 2");
    end();

    BEGIN(12);
    n = node(KILN_OP_DROPOUT, 2, IN(input("f32[N,4]"), input("f32[]")));
    EXPECT(n, 0, "f32[N,4]");
    EXPECT(n, 1, "bool[N,4]");
    end();

    BEGIN(7);
    n = node(KILN_OP_DROPOUT, 2, IN(input("f32[N,4]")));
    EXPECT(n, 1, "f32[N,4]");
    end();
}

static void
test_random_norm(void)
{
    BEGIN(13);
    struct kiln_node *n = node(KILN_OP_RANDOM_NORMAL, 1, NULL, 0);
    attr_ints(n, "shape", INTS(2, 3));
    EXPECT(n, 0, "f32[2,3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_RANDOM_UNIFORM, 1, NULL, 0);
    attr_ints(n, "shape", INTS(2, -3));
    EXPECT_FAIL("shape[1] is -3");
    end();

    BEGIN(13);
    n = node(KILN_OP_RANDOM_UNIFORM_LIKE, 1, IN(input("i64[4]")));
    EXPECT_FAIL("output type i64 is not allowed here (set dtype)");
    end();

    BEGIN(13);
    n = node(KILN_OP_MULTINOMIAL, 1, IN(input("f32[B,10]")));
    attr_int(n, "sample_size", 5);
    EXPECT(n, 0, "i32[B,5]");
    end();

    BEGIN(15);
    n = node(KILN_OP_BERNOULLI, 1, IN(input("f64[3]")));
    attr_int(n, "dtype", 9);
    EXPECT(n, 0, "bool[3]");
    end();

    BEGIN(15);
    n = node_mask(KILN_OP_BATCH_NORMALIZATION, 3, 0,
                  IN(input("f32[N,3,H,W]"), input("f32[3]"), input("f32[3]"), input("f32[3]"),
                     input("f32[3]")));
    attr_int(n, "training_mode", 1);
    EXPECT(n, 0, "f32[N,3,H,W]");
    EXPECT(n, 1, "f32[3]");
    EXPECT(n, 2, "f32[3]");
    end();

    BEGIN(15);
    node(KILN_OP_BATCH_NORMALIZATION, 3,
         IN(input("f32[N,3,H,W]"), input("f32[3]"), input("f32[3]"), input("f32[3]"),
            input("f32[3]")));
    EXPECT_FAIL("running_mean/running_var outputs need training_mode=1");
    end();

    BEGIN(15);
    node(KILN_OP_BATCH_NORMALIZATION, 1,
         IN(input("f32[N,3,H,W]"), input("f32[4]"), input("f32[3]"), input("f32[3]"),
            input("f32[3]")));
    EXPECT_FAIL("input 1 (scale) has 4 values but there are 3 channels");
    end();

    BEGIN(9);
    n = node(KILN_OP_BATCH_NORMALIZATION, 5,
             IN(input("f32[N,C,4]"), input("f32[C]"), input("f32[C]"), input("f32[C]"),
                input("f32[C]")));
    EXPECT(n, 4, "f32[C]");
    end();

    BEGIN(17);
    n = node(KILN_OP_LAYER_NORMALIZATION, 3, IN(input("f16[2,S,4]"), input("f16[4]")));
    EXPECT(n, 0, "f16[2,S,4]");
    EXPECT(n, 1, "f32[2,S,1]");
    EXPECT(n, 2, "f32[2,S,1]");
    end();

    BEGIN(17);
    n = node(KILN_OP_LAYER_NORMALIZATION, 1, IN(input("f32[2,3,4]"), input("f32[5]")));
    attr_int(n, "axis", 1);
    EXPECT_FAIL("input 1 dim 0 (5) does not broadcast to 4");
    end();
}

/* ---------------------------------------------------------------- network layers */

static void
test_matmul_gemm(void)
{
    static const struct {
        const char *a, *b, *y;
    } mm[] = {
        {"f32[2,3,4]", "f32[4,5]", "f32[2,3,5]"},
        {"f32[4]", "f32[4,5]", "f32[5]"},
        {"f32[3,4]", "f32[4]", "f32[3]"},
        {"f32[4]", "f32[4]", "f32[]"},
        {"f32[B,3,4]", "f32[1,4,6]", "f32[B,3,6]"},
        {"f32[B,S,K]", "f32[K,N]", "f32[B,S,N]"},
        {"f32[*]", "f32[4,5]", "f32[*]"},
        {"f32[2,1,3,4]", "f32[5,4,2]", "f32[2,5,3,2]"},
        /* monomial dims pass through, and K matches when the monomials are equal */
        {"f32[N*S,768]", "f32[768,10]", "f32[N*S,10]"},
        {"f32[2*B,S,4*K]", "f32[4*K,N]", "f32[2*B,S,N]"},
        {"f32[S*N,K]", "f32[1,K,3]", "f32[1,N*S,3]"},
    };
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++) {
        BEGIN(13);
        struct kiln_node *n = node(KILN_OP_MATMUL, 1, IN(input(mm[i].a), input(mm[i].b)));
        EXPECT(n, 0, mm[i].y);
        end();
    }
    BEGIN(13);
    node(KILN_OP_MATMUL, 1, IN(input("f32[3,4]"), input("f32[5,6]")));
    EXPECT_FAIL("inner dims differ: input 0 has K=4, input 1 has K=5");
    end();

    BEGIN(13);
    node(KILN_OP_MATMUL, 1, IN(input("f32[]"), input("f32[5,6]")));
    EXPECT_FAIL("input 0 is a scalar");
    end();

    BEGIN(10);
    struct kiln_node *n = node(KILN_OP_MATMUL_INTEGER, 1, IN(input("u8[M,4]"), input("i8[4,5]")));
    EXPECT(n, 0, "i32[M,5]");
    end();

    BEGIN(10);
    n = node(KILN_OP_QLINEAR_MATMUL, 1,
             IN(input("u8[2,4]"), input("f32[]"), input("u8[]"), input("u8[4,3]"), input("f32[]"),
                input("u8[]"), input("f32[]"), input("i8[]")));
    EXPECT(n, 0, "i8[2,3]");
    end();

    BEGIN(13);
    n = node(KILN_OP_GEMM, 1, IN(input("f32[4,M]"), input("f32[5,4]"), input("f32[5]")));
    attr_int(n, "transA", 1);
    attr_int(n, "transB", 1);
    EXPECT(n, 0, "f32[M,5]");
    end();

    BEGIN(13);
    node(KILN_OP_GEMM, 1, IN(input("f32[3,4]"), input("f32[4,5]"), input("f32[2,5]")));
    EXPECT_FAIL("input 2 (C) dim 0 is 2; it must be 1 or 3");
    end();

    BEGIN(13);
    node(KILN_OP_GEMM, 1, IN(input("f32[3,4]"), input("f32[5,4]")));
    EXPECT_FAIL("inner dims differ: A gives K=4, B gives K=5");
    end();

    BEGIN(13);
    node(KILN_OP_GEMM, 1, IN(input("f32[2,3,4]"), input("f32[4,4]")));
    EXPECT_FAIL("input 0 (A) must have rank 2, got 3");
    end();

    BEGIN(9);
    node(KILN_OP_GEMM, 1, IN(input("f32[3,4]"), input("f32[4,5]")));
    EXPECT_FAIL("input 2 (C) is required before opset 11");
    end();
}

static void
test_einsum(void)
{
    static const struct {
        const char *eq, *a, *b, *y;
    } cases[] = {
        {"ij,jk->ik", "f32[2,3]", "f32[3,4]", "f32[2,4]"},
        {"ij,jk", "f32[2,3]", "f32[3,4]", "f32[2,4]"},
        {"...ij,...jk", "f32[B,2,3]", "f32[3,4]", "f32[B,2,4]"},
        {"bij,bjk->bik", "f32[B,2,3]", "f32[B,3,4]", "f32[B,2,4]"},
        {"i,i->", "f32[5]", "f32[5]", "f32[]"},
        {"ij,kj", "f32[1,3]", "f32[5,3]", "f32[1,5]"},
        {" b i j , b j k -> b k i ", "f32[2,3,4]", "f32[2,4,6]", "f32[2,6,3]"},
        {"...j,j...->...", "f32[7,3]", "f32[3,7]", "f32[7]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        BEGIN(12);
        struct kiln_node *n = node(KILN_OP_EINSUM, 1, IN(input(cases[i].a), input(cases[i].b)));
        attr_str(n, "equation", cases[i].eq);
        EXPECT(n, 0, cases[i].y);
        end();
    }
    BEGIN(12);
    struct kiln_node *n = node(KILN_OP_EINSUM, 1, IN(input("f32[3,3]")));
    attr_str(n, "equation", "ii->i");
    EXPECT(n, 0, "f32[3]");
    end();

    BEGIN(12);
    n = node(KILN_OP_EINSUM, 1, IN(input("f32[2,3]"), input("f32[4,5]")));
    attr_str(n, "equation", "ij,jk->ik");
    EXPECT_FAIL("label 'j' has size 3 in one place and 4 in input 1");
    end();

    BEGIN(12);
    n = node(KILN_OP_EINSUM, 1, IN(input("f32[2,3]")));
    attr_str(n, "equation", "ij->k");
    EXPECT_FAIL("output label 'k' is not in any input");
    end();

    BEGIN(12);
    n = node(KILN_OP_EINSUM, 1, IN(input("f32[2,3,4]")));
    attr_str(n, "equation", "ij->ji");
    EXPECT_FAIL("term 0 of the equation has 2 labels but input 0 has rank 3");
    end();

    BEGIN(12);
    n = node(KILN_OP_EINSUM, 1, IN(input("f32[2,3]")));
    attr_str(n, "equation", "i.j->ij");
    EXPECT_FAIL("malformed or repeated '...'");
    end();
}

static void
test_conv(void)
{
    BEGIN(11);
    struct kiln_node *n = node(
        KILN_OP_CONV, 1, IN(input("f32[N,3,224,224]"), input("f32[64,3,7,7]"), input("f32[64]")));
    attr_ints(n, "strides", INTS(2, 2));
    attr_ints(n, "pads", INTS(3, 3, 3, 3));
    EXPECT(n, 0, "f32[N,64,112,112]");
    end();

    BEGIN(11); /* stride-1 SAME keeps symbolic spatial dims */
    n = node(KILN_OP_CONV, 1, IN(input("f32[N,8,H,W]"), input("f32[16,4,3,3]")));
    attr_int(n, "group", 2);
    attr_str(n, "auto_pad", "SAME_UPPER");
    EXPECT(n, 0, "f32[N,16,H,W]");
    end();

    BEGIN(11); /* explicit pads that compensate the kernel also keep them */
    n = node(KILN_OP_CONV, 1, IN(input("f32[N,8,H,W]"), input("f32[16,8,3,1]")));
    attr_ints(n, "pads", INTS(1, 0, 1, 0));
    EXPECT(n, 0, "f32[N,16,H,W]");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[N,8,H,W]"), input("f32[16,8,3,3]")));
    attr_ints(n, "strides", INTS(2, 2));
    /* floor((H - 3)/2) + 1, exact (coefficients are kept in [0, 2) in the floor) */
    EXPECT(n, 0, "f32[N,16,floor((H + 1)/2) - 1,floor((W + 1)/2) - 1]");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[1,3,9,9]"), input("f32[4,3,3,3]")));
    attr_ints(n, "strides", INTS(2, 2, 2));
    EXPECT_FAIL("strides has 3 values, expected 2 (spatial rank of input 0)");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[1,3,9,9]"), input("f32[4,3,3,3]")));
    attr_ints(n, "strides", INTS(1, 0));
    EXPECT_FAIL("strides[1] is 0; it must be >= 1");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[1,3,9,9]"), input("f32[4,3,3,3]")));
    attr_ints(n, "pads", INTS(1, 1, -5, 1));
    EXPECT_FAIL("pads[2] is -5; it must be >= 0");
    end();

    BEGIN(11);
    node(KILN_OP_CONV, 1, IN(input("f32[1,3,2,2]"), input("f32[4,3,3,3]")));
    EXPECT_FAIL("input size 2 plus pads 0 is smaller than the (dilated) kernel 3");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[1,3,9,9]"), input("f32[4,3,3,3]")));
    attr_ints(n, "dilations", INTS(INT64_MAX, 1));
    EXPECT_FAIL("overflows");
    end();

    BEGIN(11);
    node(KILN_OP_CONV, 1, IN(input("f32[1,4,9,9]"), input("f32[4,3,3,3]")));
    EXPECT_FAIL("X has 4 channels but W expects 3 x group 1");
    end();

    BEGIN(11);
    node(KILN_OP_CONV, 1, IN(input("f32[3,9]"), input("f32[4,3,3]")));
    EXPECT_FAIL("input 0 must have rank >= 3 (N x C x D1 ...), got 2");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[1,3,9,9]"), input("f32[4,3,3,3]")));
    attr_ints(n, "kernel_shape", INTS(5, 5));
    EXPECT_FAIL("kernel_shape[0] is 5 but W's dim 2 is 3");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[1,3,9,9]"), input("f32[4,3,3,3]")));
    attr_str(n, "auto_pad", "SAME_UPPER");
    attr_ints(n, "pads", INTS(1, 1, 1, 1));
    EXPECT_FAIL("pads cannot be used together with auto_pad=SAME_UPPER");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[1,3,9,9]"), input("f32[4,3,3,3]")));
    attr_str(n, "auto_pad", "SAME");
    EXPECT_FAIL("auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got 'SAME'");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[*]"), input("f32[4,3,3,3]")));
    EXPECT(n, 0, "f32[?,4,?,?]");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV, 1, IN(input("f32[1,3,9,9]"), input("f32[4,3,3,3]")));
    attr_int(n, "group", 0);
    EXPECT_FAIL("group must be >= 1, got 0");
    end();

    BEGIN(10);
    n = node(KILN_OP_CONV_INTEGER, 1, IN(input("u8[1,3,9,9]"), input("u8[4,3,3,3]")));
    attr_str(n, "auto_pad", "VALID");
    EXPECT(n, 0, "i32[1,4,7,7]");
    end();

    BEGIN(10);
    n = node(KILN_OP_QLINEAR_CONV, 1,
             IN(input("u8[1,3,9,9]"), input("f32[]"), input("u8[]"), input("i8[4,3,3,3]"),
                input("f32[4]"), input("i8[4]"), input("f32[]"), input("u8[]"), input("i32[4]")));
    attr_ints(n, "pads", INTS(1, 1, 1, 1));
    EXPECT(n, 0, "u8[1,4,9,9]");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV_TRANSPOSE, 1, IN(input("f32[N,3,5,5]"), input("f32[3,2,3,3]")));
    attr_ints(n, "strides", INTS(2, 2));
    EXPECT(n, 0, "f32[N,2,11,11]");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV_TRANSPOSE, 1, IN(input("f32[N,4,5,5]"), input("f32[4,2,3,3]")));
    attr_ints(n, "strides", INTS(2, 2));
    attr_ints(n, "output_padding", INTS(1, 0));
    attr_ints(n, "pads", INTS(1, 1, 1, 1));
    attr_int(n, "group", 2);
    EXPECT(n, 0, "f32[N,4,10,9]");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV_TRANSPOSE, 1, IN(input("f32[N,3,5,5]"), input("f32[3,2,3,3]")));
    attr_ints(n, "output_shape", INTS(10, 12));
    EXPECT(n, 0, "f32[N,2,10,12]");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV_TRANSPOSE, 1, IN(input("f32[N,3,5,5]"), input("f32[3,2,3,3]")));
    attr_str(n, "auto_pad", "SAME_UPPER");
    attr_ints(n, "strides", INTS(2, 3));
    EXPECT(n, 0, "f32[N,2,10,15]");
    end();

    BEGIN(11);
    n = node(KILN_OP_CONV_TRANSPOSE, 1, IN(input("f32[N,3,2,2]"), input("f32[3,2,3,3]")));
    attr_ints(n, "pads", INTS(3, 3, 3, 3));
    EXPECT_FAIL("pads (6) leave an output size of -2");
    end();

    BEGIN(19);
    n = node(KILN_OP_DEFORM_CONV, 1,
             IN(input("f32[N,4,9,9]"), input("f32[8,4,3,3]"), input("f32[N,18,7,7]")));
    EXPECT(n, 0, "f32[N,8,7,7]");
    end();

    BEGIN(19);
    node(KILN_OP_DEFORM_CONV, 1,
         IN(input("f32[N,4,9,9]"), input("f32[8,4,3,3]"), input("f32[N,9,7,7]")));
    EXPECT_FAIL("input 2 (offset) has 9 channels, expected 18");
    end();

    BEGIN(18); /* 5 channels of 2x2 blocks over a 5x5 image: 4x4 = 16 blocks */
    n = node(KILN_OP_COL2IM, 1,
             IN(input("f32[N,20,16]"), const_ints(KILN_DT_I64, INTS(5, 5)),
                const_ints(KILN_DT_I64, INTS(2, 2))));
    EXPECT(n, 0, "f32[N,5,5,5]");
    end();

    BEGIN(18);
    n = node(KILN_OP_COL2IM, 1,
             IN(input("f32[N,20,15]"), const_ints(KILN_DT_I64, INTS(5, 5)),
                const_ints(KILN_DT_I64, INTS(2, 2))));
    EXPECT_FAIL("input dim 2 is 15 but the image holds 16 blocks");
    end();
}

static void
test_pool(void)
{
    BEGIN(12);
    struct kiln_node *n = node(KILN_OP_MAX_POOL, 2, IN(input("f32[N,64,112,112]")));
    attr_ints(n, "kernel_shape", INTS(3, 3));
    attr_ints(n, "strides", INTS(2, 2));
    attr_ints(n, "pads", INTS(1, 1, 1, 1));
    EXPECT(n, 0, "f32[N,64,56,56]");
    EXPECT(n, 1, "i64[N,64,56,56]");
    end();

    /* ceil mode: a last window that starts in the end padding is dropped */
    BEGIN(12);
    n = node(KILN_OP_MAX_POOL, 1, IN(input("f32[1,1,5,5]")));
    attr_ints(n, "kernel_shape", INTS(2, 2));
    attr_ints(n, "strides", INTS(2, 2));
    attr_ints(n, "pads", INTS(1, 1, 1, 1));
    attr_int(n, "ceil_mode", 1);
    EXPECT(n, 0, "f32[1,1,3,3]");
    end();

    BEGIN(12);
    n = node(KILN_OP_AVERAGE_POOL, 1, IN(input("f32[1,1,6,6]")));
    attr_ints(n, "kernel_shape", INTS(3, 3));
    attr_ints(n, "strides", INTS(2, 2));
    attr_ints(n, "pads", INTS(1, 1, 1, 1));
    attr_int(n, "ceil_mode", 1);
    EXPECT(n, 0, "f32[1,1,4,4]");
    end();

    BEGIN(12);
    n = node(KILN_OP_AVERAGE_POOL, 1, IN(input("f32[1,1,7,H]")));
    attr_ints(n, "kernel_shape", INTS(2, 3));
    attr_ints(n, "strides", INTS(3, 1));
    attr_str(n, "auto_pad", "SAME_LOWER");
    EXPECT(n, 0, "f32[1,1,3,H]");
    end();

    BEGIN(12);
    n = node(KILN_OP_MAX_POOL, 1, IN(input("f32[1,1,10]")));
    attr_ints(n, "kernel_shape", INTS(3));
    attr_ints(n, "dilations", INTS(2));
    EXPECT(n, 0, "f32[1,1,6]");
    end();

    BEGIN(12);
    node(KILN_OP_AVERAGE_POOL, 1, IN(input("f32[1,1,5,5]")));
    EXPECT_FAIL("attribute 'kernel_shape' is required");
    end();

    BEGIN(12);
    n = node(KILN_OP_MAX_POOL, 1, IN(input("f32[1,1,5,5]")));
    attr_ints(n, "kernel_shape", INTS(2));
    EXPECT_FAIL("kernel_shape has 1 values, expected 2 (spatial rank of input 0)");
    end();

    BEGIN(12);
    n = node(KILN_OP_MAX_POOL, 1, IN(input("f32[1,1,5,5]")));
    attr_ints(n, "kernel_shape", INTS(2, -2));
    EXPECT_FAIL("kernel_shape[1] is -2; it must be >= 1");
    end();

    BEGIN(12);
    n = node(KILN_OP_MAX_POOL, 1, IN(input("f32[*]")));
    attr_ints(n, "kernel_shape", INTS(2, 2));
    EXPECT(n, 0, "f32[?,?,?,?]");
    end();

    BEGIN(12);
    n = node(KILN_OP_GLOBAL_AVERAGE_POOL, 1, IN(input("f32[N,C,7,7]")));
    EXPECT(n, 0, "f32[N,C,1,1]");
    end();

    BEGIN(12);
    node(KILN_OP_GLOBAL_MAX_POOL, 1, IN(input("f32[5]")));
    EXPECT_FAIL("input 0 must have rank >= 2");
    end();

    BEGIN(11);
    n = node(KILN_OP_MAX_UNPOOL, 1, IN(input("f32[N,3,4,4]"), input("i64[N,3,4,4]")));
    attr_ints(n, "kernel_shape", INTS(2, 2));
    attr_ints(n, "strides", INTS(2, 2));
    EXPECT(n, 0, "f32[N,3,8,8]");
    end();

    BEGIN(11);
    n = node(KILN_OP_MAX_UNPOOL, 1,
             IN(input("f32[N,3,4,4]"), input("i64[N,3,4,4]"),
                const_ints(KILN_DT_I64, INTS(1, 3, 9, 9))));
    attr_ints(n, "kernel_shape", INTS(2, 2));
    EXPECT(n, 0, "f32[1,3,9,9]");
    end();

    BEGIN(10);
    n = node(KILN_OP_ROI_ALIGN, 1, IN(input("f32[N,C,32,32]"), input("f32[R,4]"), input("i64[R]")));
    attr_int(n, "output_height", 7);
    attr_int(n, "output_width", 5);
    EXPECT(n, 0, "f32[R,C,7,5]");
    end();

    BEGIN(10);
    n = node(KILN_OP_MAX_ROI_POOL, 1, IN(input("f32[N,C,32,32]"), input("f32[R,5]")));
    attr_ints(n, "pooled_shape", INTS(2, 0));
    EXPECT_FAIL("pooled_shape values must be >= 1");
    end();
}

static void
test_reduce(void)
{
    BEGIN(13);
    struct kiln_node *n =
        node(KILN_OP_REDUCE_SUM, 1, IN(input("f32[2,3,4]"), const_ints(KILN_DT_I64, INTS(1))));
    attr_int(n, "keepdims", 0);
    EXPECT(n, 0, "f32[2,4]");
    end();

    BEGIN(13);
    n = node(KILN_OP_REDUCE_MEAN, 1, IN(input("f32[N,3,4]")));
    attr_ints(n, "axes", INTS(-1));
    EXPECT(n, 0, "f32[N,3,1]");
    end();

    BEGIN(13);
    n = node(KILN_OP_REDUCE_MAX, 1, IN(input("f32[N,3,4]")));
    attr_int(n, "keepdims", 0);
    EXPECT(n, 0, "f32[]");
    end();

    BEGIN(18);
    n = node(KILN_OP_REDUCE_MEAN, 1, IN(input("f32[N,3,4]")));
    attr_ints(n, "axes", INTS(1));
    EXPECT_FAIL("ReduceMean-18 takes axes as input 1, not an attribute");
    end();

    BEGIN(13);
    node(KILN_OP_REDUCE_MEAN, 1, IN(input("f32[N,3,4]"), const_ints(KILN_DT_I64, INTS(1))));
    EXPECT_FAIL("ReduceMean-13 takes axes as an attribute, not an input");
    end();

    BEGIN(18);
    node(KILN_OP_REDUCE_L2, 1, IN(input("f32[N,3,4]"), const_ints(KILN_DT_I64, INTS(1, -2))));
    EXPECT_FAIL("axis 1 is listed twice in axes");
    end();

    BEGIN(18);
    node(KILN_OP_REDUCE_L1, 1, IN(input("f32[N,3,4]"), const_ints(KILN_DT_I64, INTS(3))));
    EXPECT_FAIL("axis 3 is out of range for rank 3");
    end();

    BEGIN(18);
    n = node(KILN_OP_REDUCE_PROD, 1, IN(input("f32[N,3,4]"), const_ints(KILN_DT_I64, NULL, 0)));
    attr_int(n, "noop_with_empty_axes", 1);
    EXPECT(n, 0, "f32[N,3,4]");
    end();

    BEGIN(18); /* axes not known: keepdims keeps the rank, else the count decides */
    n = node(KILN_OP_REDUCE_SUM_SQUARE, 1, IN(input("f32[N,3,4]"), input("i64[2]")));
    attr_int(n, "keepdims", 0);
    EXPECT(n, 0, "f32[?]");
    end();

    BEGIN(13);
    n = node(KILN_OP_ARG_MAX, 1, IN(input("f32[2,3,4]")));
    attr_int(n, "axis", 1);
    attr_int(n, "keepdims", 0);
    EXPECT(n, 0, "i64[2,4]");
    end();

    BEGIN(13);
    n = node(KILN_OP_ARG_MIN, 1, IN(input("f32[2,3,4]")));
    attr_int(n, "axis", -4);
    EXPECT_FAIL("axis -4 is out of range for rank 3");
    end();

    BEGIN(1);
    n = node(KILN_OP_TOPK, 2, IN(input("f32[N,10]")));
    attr_int(n, "k", 3);
    EXPECT(n, 0, "f32[N,3]");
    EXPECT(n, 1, "i64[N,3]");
    end();

    BEGIN(11);
    n = node(KILN_OP_TOPK, 2, IN(input("f32[N,10]"), const_ints(KILN_DT_I64, INTS(11))));
    EXPECT_FAIL("k (11) is larger than axis 1 (10)");
    end();

    BEGIN(11);
    n = node(KILN_OP_TOPK, 2, IN(input("f32[N,10]"), input("i64[1]")));
    attr_int(n, "axis", 0);
    EXPECT(n, 0, "f32[?,10]");
    end();
}

static void
test_rnn(void)
{
    BEGIN(14);
    struct kiln_node *n = node(
        KILN_OP_LSTM, 3, IN(input("f32[T,B,10]"), input("f32[1,80,10]"), input("f32[1,80,20]")));
    attr_int(n, "hidden_size", 20);
    EXPECT(n, 0, "f32[T,1,B,20]");
    EXPECT(n, 1, "f32[1,B,20]");
    EXPECT(n, 2, "f32[1,B,20]");
    end();

    BEGIN(14);
    n = node(KILN_OP_GRU, 2,
             IN(input("f32[B,T,10]"), input("f32[2,60,10]"), input("f32[2,60,20]"),
                input("f32[2,120]")));
    attr_str(n, "direction", "bidirectional");
    attr_int(n, "layout", 1);
    EXPECT(n, 0, "f32[B,T,2,20]");
    EXPECT(n, 1, "f32[B,2,20]");
    end();

    BEGIN(14);
    n = node_mask(KILN_OP_RNN, 2, 1u,
                  IN(input("f32[T,B,10]"), input("f32[1,20,10]"), input("f32[1,20,20]")));
    EXPECT(n, 1, "f32[1,B,20]");
    end();

    BEGIN(14);
    n = node(KILN_OP_GRU, 2,
             IN(input("f32[T,B,10]"), input("f32[1,60,10]"), input("f32[1,60,20]")));
    attr_str(n, "direction", "bidirectional");
    EXPECT_FAIL("num_directions vs W dim 0: 2 vs 1");
    end();

    BEGIN(14);
    n = node(KILN_OP_LSTM, 3,
             IN(input("f32[T,B,10]"), input("f32[1,80,12]"), input("f32[1,80,20]")));
    EXPECT_FAIL("input_size (X dim 2) vs W dim 2: 10 vs 12");
    end();

    BEGIN(14);
    n = node(KILN_OP_RNN, 2,
             IN(input("f32[T,B,10]"), input("f32[1,20,10]"), input("f32[1,20,20]")));
    attr_str(n, "direction", "sideways");
    EXPECT_FAIL("direction must be forward, reverse or bidirectional, got 'sideways'");
    end();
}

static void
test_attention(void)
{
    BEGIN(23);
    struct kiln_node *n = node(KILN_OP_ATTENTION, 4,
                               IN(input("f32[2,10,8]"), input("f32[2,3,4]"), input("f32[2,3,6]")));
    attr_int(n, "q_num_heads", 4);
    attr_int(n, "kv_num_heads", 2);
    EXPECT(n, 0, "f32[2,10,12]");
    EXPECT(n, 1, "f32[2,2,3,2]");
    EXPECT(n, 2, "f32[2,2,3,3]");
    EXPECT(n, 3, "f32[2,4,10,3]");
    end();

    BEGIN(23);
    n = node(KILN_OP_ATTENTION, 4,
             IN(input("f32[B,8,S,64]"), input("f32[B,2,S,64]"), input("f32[B,2,S,32]"), -1,
                input("f32[B,2,P,64]"), input("f32[B,2,P,32]")));
    EXPECT(n, 0, "f32[B,8,S,32]");
    EXPECT(n, 1, "f32[B,2,P + S,64]"); /* past + new: an expression dim */
    EXPECT(n, 3, "f32[B,8,S,P + S]");
    end();

    BEGIN(23);
    n = node(KILN_OP_ATTENTION, 1,
             IN(input("f32[B,8,S,64]"), input("f32[B,2,7,64]"), input("f32[B,2,7,32]"), -1,
                input("f32[B,2,5,64]"), input("f32[B,2,5,32]")));
    EXPECT(n, 0, "f32[B,8,S,32]");
    end();

    /* 3-D with monomial hidden sizes: 8*D over 4 heads is 2*D per head, exactly */
    BEGIN(23);
    n = node(KILN_OP_ATTENTION, 4,
             IN(input("f32[B,S,8*D]"), input("f32[B,T,4*D]"), input("f32[B,T,6*D]")));
    attr_int(n, "q_num_heads", 4);
    attr_int(n, "kv_num_heads", 2);
    EXPECT(n, 0, "f32[B,S,12*D]");
    EXPECT(n, 1, "f32[B,2,T,2*D]");
    EXPECT(n, 2, "f32[B,2,T,3*D]");
    end();

    /* a symbolic hidden size that does not divide by the heads: unknown, not an error */
    BEGIN(23);
    n = node(KILN_OP_ATTENTION, 3,
             IN(input("f32[B,S,D]"), input("f32[B,T,D]"), input("f32[B,T,D]")));
    attr_int(n, "q_num_heads", 4);
    attr_int(n, "kv_num_heads", 4);
    EXPECT(n, 0, "f32[B,S,?]");
    EXPECT(n, 1, "f32[B,4,T,?]");
    end();

    BEGIN(23);
    node(KILN_OP_ATTENTION, 1, IN(input("f32[2,10,8]"), input("f32[2,3,4]"), input("f32[2,3,6]")));
    EXPECT_FAIL("input 0 is 3-D, which needs attribute 'q_num_heads'");
    end();

    BEGIN(23);
    node(KILN_OP_ATTENTION, 1,
         IN(input("f32[B,6,S,64]"), input("f32[B,4,S,64]"), input("f32[B,4,S,64]")));
    EXPECT_FAIL("q heads (6) must be a multiple of kv heads (4)");
    end();

    BEGIN(23);
    node(KILN_OP_ATTENTION, 1,
         IN(input("f32[B,8,S,64]"), input("f32[B,2,S,32]"), input("f32[B,2,S,32]")));
    EXPECT_FAIL("head size of Q vs K: 64 vs 32");
    end();

    BEGIN(23);
    n = node(KILN_OP_ROTARY_EMBEDDING, 1,
             IN(input("f32[B,S,64]"), input("f32[M,16]"), input("f32[M,16]"), input("i64[B,S]")));
    attr_int(n, "num_heads", 4);
    EXPECT(n, 0, "f32[B,S,64]");
    end();

    BEGIN(23);
    node(KILN_OP_ROTARY_EMBEDDING, 1,
         IN(input("f32[B,S,64]"), input("f32[M,16]"), input("f32[M,16]")));
    EXPECT_FAIL("a 3-D input needs attribute 'num_heads'");
    end();
}

static void
test_misc_nn(void)
{
    BEGIN(11);
    struct kiln_node *n =
        node(KILN_OP_NON_MAX_SUPPRESSION, 1, IN(input("f32[1,6,4]"), input("f32[1,2,6]")));
    EXPECT(n, 0, "i64[?,3]");
    end();

    BEGIN(11);
    node(KILN_OP_NON_MAX_SUPPRESSION, 1, IN(input("f32[1,6,4]"), input("f32[1,2,7]")));
    EXPECT_FAIL("spatial_dimension of boxes vs scores: 6 vs 7");
    end();

    BEGIN(11);
    n = node(KILN_OP_DET, 1, IN(input("f32[B,3,3]")));
    EXPECT(n, 0, "f32[B]");
    end();

    BEGIN(11);
    node(KILN_OP_DET, 1, IN(input("f32[3,4]")));
    EXPECT_FAIL("Det needs square matrices: 3 vs 4");
    end();

    BEGIN(11);
    node(KILN_OP_DET, 1, IN(input("f32[3]")));
    EXPECT_FAIL("rank >= 2");
    end();

    BEGIN(20);
    n = node(KILN_OP_GRID_SAMPLE, 1, IN(input("f32[N,C,H,W]"), input("f32[N,5,6,2]")));
    EXPECT(n, 0, "f32[N,C,5,6]");
    end();

    BEGIN(20);
    node(KILN_OP_GRID_SAMPLE, 1, IN(input("f32[N,C,H,W]"), input("f32[N,5,6,3]")));
    EXPECT_FAIL("grid's last dim is 3, expected 2");
    end();

    BEGIN(20);
    n = node(KILN_OP_AFFINE_GRID, 1,
             IN(input("f32[N,2,3]"), const_ints(KILN_DT_I64, INTS(2, 3, 8, 9))));
    EXPECT(n, 0, "f32[2,8,9,2]");
    end();

    BEGIN(20);
    n = node(KILN_OP_AFFINE_GRID, 1, IN(input("f32[N,3,4]"), input("i64[5]")));
    EXPECT(n, 0, "f32[N,?,?,?,3]");
    end();

    BEGIN(27);
    n = node(KILN_OP_LINEAR_ATTENTION, 2,
             IN(input("f32[B,T,64]"), input("f32[B,T,32]"), input("f32[B,T,48]")));
    attr_int(n, "q_num_heads", 4);
    attr_int(n, "kv_num_heads", 2);
    EXPECT(n, 0, "f32[B,T,96]");
    EXPECT(n, 1, "f32[B,2,16,24]");
    end();

    BEGIN(27);
    n = node(KILN_OP_CAUSAL_CONV_WITH_STATE, 2, IN(input("f32[B,C,L]"), input("f32[C,1,4]")));
    EXPECT(n, 0, "f32[B,C,L]");
    EXPECT(n, 1, "f32[B,C,3]");
    end();
}

static void
test_flops(void)
{
    BEGIN(11);
    struct kiln_node *conv =
        node(KILN_OP_CONV, 1, IN(input("f32[1,3,8,8]"), input("f32[4,3,3,3]"), input("f32[4]")));
    attr_ints(conv, "pads", INTS(1, 1, 1, 1));
    struct kiln_node *mm = node(KILN_OP_MATMUL, 1, IN(input("f32[2,3,4]"), input("f32[4,5]")));
    struct kiln_node *sym = node(KILN_OP_MATMUL, 1, IN(input("f32[N,4]"), input("f32[4,5]")));
    struct kiln_node *relu = node(KILN_OP_RELU, 1, IN(input("f32[2,5]")));
    struct kiln_node *pool = node(KILN_OP_MAX_POOL, 1, IN(input("f32[1,2,4,4]")));
    attr_ints(pool, "kernel_shape", INTS(2, 2));
    run();
    CHECK(status == KILN_OK);
    /* 2 * (1*4*8*8 outputs) * (3*3*3 taps) + 256 bias adds */
    CHECK(kiln_flops_conv(G, conv) == 2 * 256 * 27 + 256);
    CHECK(kiln_flops_matmul(G, mm) == 2 * 2 * 3 * 5 * 4);
    CHECK(kiln_flops_matmul(G, sym) == -1);
    CHECK(kiln_flops_ew(G, relu) == 10);
    CHECK(kiln_flops_pool(G, pool) == 1 * 2 * 3 * 3 * 4);
    CHECK(kiln_flops_unknown(G, relu) == -1 && kiln_flops_zero(G, relu) == 0);
    end();
}

int
main(void)
{
    test_unary();
    test_binary();
    test_known_values();
    test_cast_quant();
    test_random_norm();
    test_matmul_gemm();
    test_einsum();
    test_conv();
    test_pool();
    test_reduce();
    test_rnn();
    test_attention();
    test_misc_nn();
    test_flops();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail != 0;
}
