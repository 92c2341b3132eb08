/*
 * test_onnx.c - unit tests of the ONNX frontend that look inside the graph it
 * builds, where the lit tests (tests/lit/onnx/) see only `kiln inspect`:
 * the bytes of initializers in every typed field, Constant nodes, attributes of
 * every kind, captures, opsets, declared types, inputs with defaults, external
 * data, and every prefix of a valid model (none may crash; run it under ASan).
 *
 * Models are built as protobuf-c structs and packed, so the bytes are exactly
 * what the test says. Prints one line per failed check and closes with
 * "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/onnx.h"
#include "ir/ir.h"
#include "onnx/onnx.pb-c.h"

#include "tests/unit/check.h"

/* ---------------------------------------------------------------- building models */

/* Everything the builders allocate, freed at once by tb_free. */
static void **tb_blocks;
static size_t tb_n, tb_cap;

static void *
tb_alloc(size_t size)
{
    if (tb_n == tb_cap) {
        tb_cap = tb_cap ? tb_cap * 2 : 64;
        tb_blocks = realloc(tb_blocks, tb_cap * sizeof *tb_blocks);
        if (!tb_blocks)
            abort();
    }
    void *p = calloc(1, size ? size : 1);
    if (!p)
        abort();
    return tb_blocks[tb_n++] = p;
}

static void *
tb_dup(const void *p, size_t size)
{
    void *q = tb_alloc(size);
    if (size)
        memcpy(q, p, size);
    return q;
}

static void
tb_free(void)
{
    for (size_t i = 0; i < tb_n; i++)
        free(tb_blocks[i]);
    free(tb_blocks);
    tb_blocks = NULL;
    tb_n = tb_cap = 0;
}

static Onnx__TensorProto *
tb_tensor(const char *name, int32_t dt, int rank, const int64_t *dims)
{
    Onnx__TensorProto *t = tb_alloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = (size_t)rank;
    t->dims = tb_dup(dims, (size_t)rank * sizeof *dims);
    return t;
}

/* A tensor type with dims given as strings: digits are dim_value, "" unknown,
 * anything else a dim_param. */
static Onnx__ValueInfoProto *
tb_value_info(const char *name, int32_t elem, int rank, const char *const *dims)
{
    Onnx__ValueInfoProto *vi = tb_alloc(sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = (char *)name;
    if (elem < 0)
        return vi; /* no type at all */
    Onnx__TypeProto *tp = tb_alloc(sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = tb_alloc(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sh = tb_alloc(sizeof *sh);
        onnx__tensor_shape_proto__init(sh);
        sh->n_dim = (size_t)rank;
        sh->dim = tb_alloc((size_t)rank * sizeof *sh->dim);
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = tb_alloc(sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (dims[i][0] >= '0' && dims[i][0] <= '9') {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = atoll(dims[i]);
            } else if (dims[i][0]) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = (char *)dims[i];
            }
            sh->dim[i] = d;
        }
        tt->shape = sh;
    }
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

static Onnx__AttributeProto *
tb_attr(const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = tb_alloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = type;
    return a;
}

static Onnx__NodeProto *
tb_node(const char *op, const char *name, int n_in, const char *const *in, int n_out,
        const char *const *out)
{
    Onnx__NodeProto *n = tb_alloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->n_input = (size_t)n_in;
    n->input = tb_dup(in, (size_t)n_in * sizeof *in);
    n->n_output = (size_t)n_out;
    n->output = tb_dup(out, (size_t)n_out * sizeof *out);
    return n;
}

static void
tb_node_attr(Onnx__NodeProto *n, Onnx__AttributeProto *a)
{
    Onnx__AttributeProto **na = tb_alloc((n->n_attribute + 1) * sizeof *na);
    if (n->n_attribute)
        memcpy(na, n->attribute, n->n_attribute * sizeof *na);
    na[n->n_attribute++] = a;
    n->attribute = na;
}

static Onnx__GraphProto *
tb_graph(const char *name)
{
    Onnx__GraphProto *g = tb_alloc(sizeof *g);
    onnx__graph_proto__init(g);
    g->name = (char *)name;
    return g;
}

/* Append p to the repeated field (*n, *v) of pointers. */
static void
tb_push(size_t *n, void ***v, void *p)
{
    void **nv = tb_alloc((*n + 1) * sizeof *nv);
    if (*n)
        memcpy(nv, *v, *n * sizeof *nv);
    nv[(*n)++] = p;
    *v = nv;
}

#define TB_PUSH(n, v, p) tb_push(&(n), (void ***)&(v), (p))

/* Pack a model with the given graph and one ai.onnx import of version `opset`. */
static uint8_t *
tb_pack(Onnx__GraphProto *g, int64_t opset, size_t *len)
{
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.producer_name = "test";
    m.producer_version = "1.0";
    Onnx__OperatorSetIdProto *op = tb_alloc(sizeof *op);
    onnx__operator_set_id_proto__init(op);
    op->domain = "";
    op->has_version = 1;
    op->version = opset;
    TB_PUSH(m.n_opset_import, m.opset_import, op);
    m.graph = g;
    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = tb_alloc(*len);
    onnx__model_proto__pack(&m, buf);
    return buf;
}

/* Load buf; d is initialized here and must be finished by the caller. */
static enum kiln_status
load(const uint8_t *buf, size_t len, const char *dir, bool infer, struct kiln_graph **g,
     struct kiln_diag *d)
{
    kiln_diag_init(d, "t.onnx");
    struct kiln_onnx_opts o = {.no_infer = !infer};
    return kiln_onnx_load_buffer(buf, len, dir, &o, g, d);
}

static const struct kiln_value *
value_named(const struct kiln_graph *g, const char *name)
{
    return kiln_value(g, kiln_graph_find_value(g, name));
}

static bool
bytes_are(const struct kiln_value *v, const char *hex)
{
    if (!v || !v->data || !v->data->data || v->data->nbytes * 2 != strlen(hex))
        return false;
    const unsigned char *p = v->data->data;
    for (uint64_t i = 0; i < v->data->nbytes; i++) {
        char two[3];
        snprintf(two, sizeof two, "%02x", p[i]);
        if (memcmp(two, hex + 2 * i, 2) != 0)
            return false;
    }
    return true;
}

/* A graph x:f32[2,3] -> Relu -> y, ready for initializers and more. */
static Onnx__GraphProto *
tb_relu_graph(void)
{
    static const char *const dims[] = {"2", "3"};
    Onnx__GraphProto *g = tb_graph("g");
    TB_PUSH(g->n_input, g->input, tb_value_info("x", 1, 2, dims));
    TB_PUSH(g->n_output, g->output, tb_value_info("y", 1, 2, dims));
    static const char *const in[] = {"x"}, *const out[] = {"y"};
    TB_PUSH(g->n_node, g->node, tb_node("Relu", "relu", 1, in, 1, out));
    return g;
}

/* ---------------------------------------------------------------- tests */

static void
test_typed_fields(void)
{
    Onnx__GraphProto *g = tb_relu_graph();
    int64_t two = 2, three = 3;
    Onnx__TensorProto *t;

    static float f32[] = {1.5f, -2.0f};
    t = tb_tensor("f32", 1, 1, &two);
    t->n_float_data = 2;
    t->float_data = f32;
    TB_PUSH(g->n_initializer, g->initializer, t);

    static double f64[] = {1.5, -2.0};
    t = tb_tensor("f64", 11, 1, &two);
    t->n_double_data = 2;
    t->double_data = f64;
    TB_PUSH(g->n_initializer, g->initializer, t);

    static int64_t i64[] = {-((int64_t)1 << 40), 7};
    t = tb_tensor("i64", 7, 1, &two);
    t->n_int64_data = 2;
    t->int64_data = i64;
    TB_PUSH(g->n_initializer, g->initializer, t);

    static uint64_t u64[] = {5, (uint64_t)1 << 63};
    t = tb_tensor("u64", 13, 1, &two);
    t->n_uint64_data = 2;
    t->uint64_data = u64;
    TB_PUSH(g->n_initializer, g->initializer, t);

    static uint64_t u32[] = {5, 4000000000u};
    t = tb_tensor("u32", 12, 1, &two);
    t->n_uint64_data = 2;
    t->uint64_data = u32;
    TB_PUSH(g->n_initializer, g->initializer, t);

    /* the int32_data family: one element per entry, low bytes kept */
    static const struct {
        const char *name;
        int32_t dt;
        int32_t vals[2];
    } narrow[] = {
        {"i32", 6, {-5, 7}},
        {"i16", 5, {-5, 7}},
        {"i8", 3, {-5, 7}},
        {"u8", 2, {5, 250}},
        {"u16", 4, {5, 65000}},
        {"b", 9, {1, 0}},
        {"f16", 10, {0x3e00, 0xc000}},
        {"bf16", 16, {0x3fc0, 0xc000}},
        {"f8", 17, {0x3c, 0xc0}},
    };
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++) {
        t = tb_tensor(narrow[i].name, narrow[i].dt, 1, &two);
        t->n_int32_data = 2;
        t->int32_data = (int32_t *)narrow[i].vals;
        TB_PUSH(g->n_initializer, g->initializer, t);
    }
    /* 4-bit: three elements packed into two bytes, one byte per entry */
    static int32_t i4[] = {0x7f, 0x02};
    t = tb_tensor("i4", 22, 1, &three);
    t->n_int32_data = 2;
    t->int32_data = i4;
    TB_PUSH(g->n_initializer, g->initializer, t);

    static const uint8_t raw[] = {0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40};
    t = tb_tensor("raw", 1, 1, &two);
    t->has_raw_data = 1;
    t->raw_data.len = sizeof raw;
    t->raw_data.data = (uint8_t *)raw;
    TB_PUSH(g->n_initializer, g->initializer, t);

    int64_t empty_dims[] = {0, 3};
    TB_PUSH(g->n_initializer, g->initializer, tb_tensor("empty", 1, 2, empty_dims));

    size_t len;
    uint8_t *buf = tb_pack(g, 17, &len);
    struct kiln_graph *kg = NULL;
    struct kiln_diag d;
    CHECK(load(buf, len, NULL, true, &kg, &d) == KILN_OK);
    CHECK(d.n_msgs == 0);
    if (kg) {
        CHECK(bytes_are(value_named(kg, "f32"), "0000c03f000000c0"));
        CHECK(bytes_are(value_named(kg, "f64"), "000000000000f83f00000000000000c0"));
        CHECK(bytes_are(value_named(kg, "i64"), "0000000000ffffff0700000000000000"));
        CHECK(bytes_are(value_named(kg, "u64"), "05000000000000000000000000000080"));
        CHECK(bytes_are(value_named(kg, "u32"), "0500000000286bee"));
        CHECK(bytes_are(value_named(kg, "i32"), "fbffffff07000000"));
        CHECK(bytes_are(value_named(kg, "i16"), "fbff0700"));
        CHECK(bytes_are(value_named(kg, "i8"), "fb07"));
        CHECK(bytes_are(value_named(kg, "u8"), "05fa"));
        CHECK(bytes_are(value_named(kg, "u16"), "0500e8fd"));
        CHECK(bytes_are(value_named(kg, "b"), "0100"));
        CHECK(bytes_are(value_named(kg, "f16"), "003e00c0"));
        CHECK(bytes_are(value_named(kg, "bf16"), "c03f00c0"));
        CHECK(bytes_are(value_named(kg, "f8"), "3cc0"));
        CHECK(bytes_are(value_named(kg, "i4"), "7f02"));
        CHECK(bytes_are(value_named(kg, "raw"), "0000404000008040"));
        const struct kiln_value *e = value_named(kg, "empty");
        CHECK(e && e->kind == KILN_VALUE_CONST && e->data->nbytes == 0 && e->data->data);
        CHECK(e && e->type.rank == 2 && e->type.dims[0].n == 0 && e->type.dims[1].n == 3);
        const struct kiln_value *f = value_named(kg, "f8");
        CHECK(f && f->type.dtype == KILN_DT_F8E4M3FN);
    }
    kiln_graph_free(kg);
    kiln_diag_fini(&d);

    /* one value too few in float_data, and raw_data of the wrong size */
    ((Onnx__TensorProto *)g->initializer[0])->n_float_data = 1;
    buf = tb_pack(g, 17, &len);
    CHECK(load(buf, len, NULL, false, &kg, &d) == KILN_ERR_INVALID && !kg);
    CHECK(kiln_diag_has(&d, "t.onnx: error: initializer 'f32': float_data holds 1 values but its "
                            "shape [2] has 2 elements"));
    kiln_diag_fini(&d);
    tb_free();
}

static void
test_constants_and_sort(void)
{
    static const char *const dims6[] = {"6"}, *const dims32[] = {"3", "2"};
    Onnx__GraphProto *g = tb_graph("g");
    TB_PUSH(g->n_input, g->input, tb_value_info("x", 1, 1, dims6));
    TB_PUSH(g->n_output, g->output, tb_value_info("y", 1, 2, dims32));
    static const char *const add_in[] = {"x", "k"}, *const add_out[] = {"a"};
    static const char *const rs_in[] = {"a", "shape"}, *const rs_out[] = {"y"};
    /* users first, the constants they read after them */
    TB_PUSH(g->n_node, g->node, tb_node("Reshape", "reshape", 2, rs_in, 1, rs_out));
    TB_PUSH(g->n_node, g->node, tb_node("Add", "add", 2, add_in, 1, add_out));
    static const char *const k_out[] = {"k"}, *const s_out[] = {"shape"}, *const f_out[] = {"f"};
    static float floats[] = {1, 2, 3, 4, 5, 6};
    static int64_t ints[] = {3, 2};
    Onnx__NodeProto *c = tb_node("Constant", "", 0, NULL, 1, k_out);
    Onnx__AttributeProto *a =
        tb_attr("value_floats", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = 6;
    a->floats = floats;
    tb_node_attr(c, a);
    TB_PUSH(g->n_node, g->node, c);
    c = tb_node("Constant", "", 0, NULL, 1, s_out);
    a = tb_attr("value_ints", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = 2;
    a->ints = ints;
    tb_node_attr(c, a);
    TB_PUSH(g->n_node, g->node, c);
    c = tb_node("Constant", "", 0, NULL, 1, f_out);
    a = tb_attr("value_float", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = 0.5f;
    tb_node_attr(c, a);
    TB_PUSH(g->n_node, g->node, c);

    size_t len;
    uint8_t *buf = tb_pack(g, 17, &len);
    struct kiln_graph *kg = NULL;
    struct kiln_diag d;
    CHECK(load(buf, len, NULL, false, &kg, &d) == KILN_OK);
    if (kg) {
        CHECK(kg->n_nodes == 2); /* the constants are values, not nodes */
        CHECK(kg->nodes[0]->op == KILN_OP_ADD && kg->nodes[1]->op == KILN_OP_RESHAPE);
        CHECK(strcmp(kg->nodes[0]->name, "add") == 0);
        const struct kiln_value *k = value_named(kg, "k"), *s = value_named(kg, "shape");
        CHECK(k && k->kind == KILN_VALUE_CONST && k->type.dtype == KILN_DT_F32);
        CHECK(k && k->type.rank == 1 && k->type.dims[0].n == 6);
        CHECK(bytes_are(s, "03000000000000000200000000000000"));
        const struct kiln_value *f = value_named(kg, "f");
        CHECK(f && f->type.rank == 0 && bytes_are(f, "0000003f"));
        CHECK(strcmp(kg->producer, "test 1.0") == 0 && kg->ir_version == 8);
    }
    kiln_graph_free(kg);
    kiln_diag_fini(&d);
    tb_free();
}

static void
test_attribute_kinds(void)
{
    Onnx__GraphProto *g = tb_relu_graph();
    Onnx__NodeProto *n = g->node[0];
    Onnx__AttributeProto *a;
    a = tb_attr("an_int", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = -42;
    tb_node_attr(n, a);
    a = tb_attr("a_float", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = 0.25f;
    tb_node_attr(n, a);
    a = tb_attr("a_string", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = 3;
    a->s.data = (uint8_t *)"a\0b"; /* bytes, not C strings */
    tb_node_attr(n, a);
    static int64_t ints[] = {1, 2, 3};
    a = tb_attr("ints", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = 3;
    a->ints = ints;
    tb_node_attr(n, a);
    static float floats[] = {0.5f};
    a = tb_attr("floats", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = 1;
    a->floats = floats;
    tb_node_attr(n, a);
    static ProtobufCBinaryData strings[] = {{2, (uint8_t *)"hi"}, {0, NULL}};
    a = tb_attr("strings", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = 2;
    a->strings = strings;
    tb_node_attr(n, a);
    int64_t one = 1;
    static int64_t iv[] = {9};
    Onnx__TensorProto *t = tb_tensor("", 7, 1, &one);
    t->n_int64_data = 1;
    t->int64_data = iv;
    a = tb_attr("a_tensor", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = t;
    tb_node_attr(n, a);
    a = tb_attr("tensors", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS);
    TB_PUSH(a->n_tensors, a->tensors, t);
    TB_PUSH(a->n_tensors, a->tensors, t);
    tb_node_attr(n, a);
    /* a sub-graph that reads the main graph's x: a capture */
    static const char *const sx[] = {"x"}, *const sy[] = {"sy"};
    Onnx__GraphProto *sub = tb_graph("sub");
    TB_PUSH(sub->n_node, sub->node, tb_node("Neg", "neg", 1, sx, 1, sy));
    TB_PUSH(sub->n_output, sub->output, tb_value_info("sy", -1, -1, NULL));
    a = tb_attr("a_graph", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    a->g = sub;
    tb_node_attr(n, a);
    a = tb_attr("graphs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS);
    TB_PUSH(a->n_graphs, a->graphs, sub);
    tb_node_attr(n, a);
    /* IR 1 models leave `type` unset: the field holding a value decides */
    a = tb_attr("untyped", 0);
    a->has_type = 0;
    a->has_i = 1;
    a->i = 5;
    tb_node_attr(n, a);

    size_t len;
    uint8_t *buf = tb_pack(g, 17, &len);
    struct kiln_graph *kg = NULL;
    struct kiln_diag d;
    CHECK(load(buf, len, NULL, false, &kg, &d) == KILN_OK);
    CHECK(d.n_warnings == 11 && d.n_errors == 0); /* Relu takes none of them */
    CHECK(kiln_diag_has(&d, "t.onnx: node 'relu' (Relu): warning: unknown attribute 'an_int' "
                            "(kept)"));
    if (kg) {
        const struct kiln_node *kn = kg->nodes[0];
        CHECK(kn->n_attrs == 11);
        for (int32_t i = 1; i < kn->n_attrs; i++)
            CHECK(strcmp(kn->attrs[i - 1].name, kn->attrs[i].name) < 0);
        CHECK(kiln_node_attr_int(kn, "an_int", 0) == -42);
        CHECK(kiln_node_attr_int(kn, "untyped", 0) == 5);
        CHECK(kiln_node_attr_float(kn, "a_float", 0) == 0.25f);
        const struct kiln_attr *s = kiln_node_attr(kn, "a_string");
        CHECK(s && s->kind == KILN_ATTR_STRING && s->s_len == 3 && memcmp(s->s, "a\0b", 4) == 0);
        int64_t nl;
        const int64_t *il = kiln_node_attr_ints(kn, "ints", &nl);
        CHECK(il && nl == 3 && il[2] == 3);
        const float *fl = kiln_node_attr_floats(kn, "floats", &nl);
        CHECK(fl && nl == 1 && fl[0] == 0.5f);
        const struct kiln_attr *ss = kiln_node_attr(kn, "strings");
        CHECK(ss && ss->n == 2 && strcmp(ss->strings[0], "hi") == 0 && ss->strings[1][0] == 0);
        const struct kiln_tensor *kt = kiln_node_attr_tensor(kn, "a_tensor");
        int64_t x;
        CHECK(kt && kt->dtype == KILN_DT_I64 && kiln_tensor_get_i64(kt, 0, &x) && x == 9);
        const struct kiln_attr *ts = kiln_node_attr(kn, "tensors");
        CHECK(ts && ts->kind == KILN_ATTR_TENSORS && ts->n == 2 && ts->tensors[1]->nbytes == 8);
        struct kiln_graph *sg = kiln_node_attr_graph(kn, "a_graph");
        CHECK(sg && sg->parent == kg && strcmp(sg->name, "sub") == 0);
        CHECK(sg && sg->n_captures == 1 && sg->n_nodes == 1 && sg->n_outputs == 1);
        if (sg && sg->n_captures == 1) {
            const struct kiln_value *cap = sg->values[sg->captures[0]];
            CHECK(cap->kind == KILN_VALUE_CAPTURE && strcmp(cap->name, "x") == 0);
            CHECK(cap->outer == kiln_graph_find_value(kg, "x"));
        }
        const struct kiln_attr *gs = kiln_node_attr(kn, "graphs");
        CHECK(gs && gs->kind == KILN_ATTR_GRAPHS && gs->n == 1 && gs->graphs[0]->parent == kg);
    }
    kiln_graph_free(kg);
    kiln_diag_fini(&d);

    /* the wrong kind for an attribute the schema knows is an error */
    a = tb_attr("alpha", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    n->op_type = "LeakyRelu";
    n->n_attribute = 0;
    tb_node_attr(n, a);
    buf = tb_pack(g, 17, &len);
    CHECK(load(buf, len, NULL, false, &kg, &d) == KILN_ERR_INVALID);
    CHECK(kiln_diag_has(&d, "t.onnx: node 'relu' (LeakyRelu): error: attribute 'alpha' is of "
                            "kind ints, but LeakyRelu takes float"));
    kiln_diag_fini(&d);
    tb_free();
}

static void
test_declarations(void)
{
    /* x: f32[N,3]; scale: an input with a default; value_info on the middle value */
    static const char *const nd[] = {"N", "3"}, *const d3[] = {"3"}, *const unk[] = {"N", ""};
    Onnx__GraphProto *g = tb_graph("g");
    TB_PUSH(g->n_input, g->input, tb_value_info("x", 1, 2, nd));
    TB_PUSH(g->n_input, g->input, tb_value_info("scale", 1, 1, d3));
    TB_PUSH(g->n_output, g->output, tb_value_info("y", 1, 2, nd));
    TB_PUSH(g->n_value_info, g->value_info, tb_value_info("m", 1, 2, unk));
    static const char *const mul_in[] = {"x", "scale"}, *const mul_out[] = {"m"};
    static const char *const relu_in[] = {"m"}, *const relu_out[] = {"y"};
    TB_PUSH(g->n_node, g->node, tb_node("Mul", "mul", 2, mul_in, 1, mul_out));
    TB_PUSH(g->n_node, g->node, tb_node("Relu", "relu", 1, relu_in, 1, relu_out));
    int64_t three = 3;
    static float sv[] = {2, 2, 2};
    Onnx__TensorProto *t = tb_tensor("scale", 1, 1, &three);
    t->n_float_data = 3;
    t->float_data = sv;
    TB_PUSH(g->n_initializer, g->initializer, t);

    size_t len;
    uint8_t *buf = tb_pack(g, 17, &len);
    struct kiln_graph *kg = NULL;
    struct kiln_diag d;
    CHECK(load(buf, len, NULL, false, &kg, &d) == KILN_OK);
    if (kg) {
        CHECK(kg->n_inputs == 2);
        const struct kiln_value *s = value_named(kg, "scale");
        CHECK(s && s->kind == KILN_VALUE_INPUT && s->data && s->data->nbytes == 12);
        const struct kiln_value *x = value_named(kg, "x");
        CHECK(x && x->type.rank == 2 && x->type.dims[0].sym && !strcmp(x->type.dims[0].sym, "N"));
        /* declared before inference, unknown dim kept unknown */
        const struct kiln_value *m = value_named(kg, "m");
        CHECK(m && m->type.dtype == KILN_DT_F32 && m->type.rank == 2);
        CHECK(m && kiln_dim_is_unknown(m->type.dims[1]) && m->type.dims[0].sym);
        CHECK(kg->opset == 17 && kg->n_opsets == 1 && kg->opsets[0].domain[0] == 0);
    }
    kiln_graph_free(kg);
    kiln_diag_fini(&d);

    /* a default that contradicts the declared input type */
    ((Onnx__TensorProto *)g->initializer[0])->dims[0] = 4;
    static float sv4[] = {1, 2, 3, 4};
    ((Onnx__TensorProto *)g->initializer[0])->n_float_data = 4;
    ((Onnx__TensorProto *)g->initializer[0])->float_data = sv4;
    buf = tb_pack(g, 17, &len);
    CHECK(load(buf, len, NULL, false, &kg, &d) == KILN_ERR_INVALID);
    CHECK(kiln_diag_has(&d, "graph input 'scale' is declared with dim 3 at axis 0 but its "
                            "initializer has 4"));
    kiln_diag_fini(&d);
    tb_free();
}

static void
test_external_data(void)
{
    char dir[] = "/tmp/kiln-test-onnx-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/w.bin", dir);
    FILE *f = fopen(path, "wb");
    float vals[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(f && fwrite(vals, sizeof vals, 1, f) == 1);
    if (f)
        fclose(f);

    Onnx__GraphProto *g = tb_relu_graph();
    int64_t two = 2;
    const char *offsets[] = {"0", "16"};
    const char *names[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        Onnx__TensorProto *t = tb_tensor(names[i], 1, 1, &two);
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        const char *kv[][2] = {{"location", "w.bin"}, {"offset", offsets[i]}, {"length", "8"}};
        for (int k = 0; k < 3; k++) {
            Onnx__StringStringEntryProto *e = tb_alloc(sizeof *e);
            onnx__string_string_entry_proto__init(e);
            e->key = (char *)kv[k][0];
            e->value = (char *)kv[k][1];
            TB_PUSH(t->n_external_data, t->external_data, e);
        }
        TB_PUSH(g->n_initializer, g->initializer, t);
    }
    size_t len;
    uint8_t *buf = tb_pack(g, 17, &len);
    struct kiln_graph *kg = NULL;
    struct kiln_diag d;
    CHECK(load(buf, len, dir, false, &kg, &d) == KILN_OK);
    if (kg) {
        const struct kiln_value *a = value_named(kg, "a"), *b = value_named(kg, "b");
        CHECK(bytes_are(a, "0000803f00000040") && bytes_are(b, "0000a0400000c040"));
        /* one mapping for both: b lies 16 bytes after a in it */
        CHECK(a && b && (const char *)b->data->data - (const char *)a->data->data == 16);
    }
    kiln_graph_free(kg);
    kiln_diag_fini(&d);

    /* without a folder (a buffer, not a file) external data cannot be resolved */
    CHECK(load(buf, len, NULL, false, &kg, &d) == KILN_ERR_INVALID);
    CHECK(kiln_diag_has(&d, "initializer 'a' has external data, which needs the model's folder"));
    kiln_diag_fini(&d);
    unlink(path);
    rmdir(dir);
    tb_free();
}

static void
test_unsupported_collected(void)
{
    Onnx__GraphProto *g = tb_relu_graph();
    static const char *const in[] = {"y"}, *const out1[] = {"z"}, *const out2[] = {"w"};
    TB_PUSH(g->n_node, g->node, tb_node("Mystery", "m1", 1, in, 1, out1));
    Onnx__NodeProto *n = tb_node("Enigma", "", 1, out1, 1, out2);
    n->domain = "com.example";
    TB_PUSH(g->n_node, g->node, n);
    size_t len;
    uint8_t *buf = tb_pack(g, 13, &len);
    struct kiln_graph *kg = NULL;
    struct kiln_diag d;
    CHECK(load(buf, len, NULL, true, &kg, &d) == KILN_ERR_UNSUPPORTED && !kg);
    CHECK(d.n_errors == 2);
    CHECK(kiln_diag_has(&d, "t.onnx: node 'm1' (Mystery): error: unsupported op 'Mystery' "
                            "(domain 'ai.onnx', opset 13)"));
    CHECK(kiln_diag_has(&d, "t.onnx: node #2 (Enigma): error: unsupported op 'Enigma' "
                            "(domain 'com.example', opset 0)"));
    kiln_diag_fini(&d);
    tb_free();
}

static void
test_every_prefix(void)
{
    /* a model with sub-graphs, types and tensors; each of its prefixes must be
     * refused or loaded without a crash or a leak */
    Onnx__GraphProto *g = tb_relu_graph();
    int64_t two = 2;
    static float fv[] = {1, 2};
    Onnx__TensorProto *t = tb_tensor("w", 1, 1, &two);
    t->n_float_data = 2;
    t->float_data = fv;
    TB_PUSH(g->n_initializer, g->initializer, t);
    Onnx__AttributeProto *a = tb_attr("a_graph", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    a->g = tb_relu_graph();
    tb_node_attr(g->node[0], a);
    size_t len;
    uint8_t *buf = tb_pack(g, 17, &len);
    int ok = 0;
    for (size_t n = 0; n <= len; n++) {
        uint8_t *exact = malloc(n ? n : 1); /* exact size: ASan sees reads past the end */
        memcpy(exact, buf, n);
        struct kiln_graph *kg = NULL;
        struct kiln_diag d;
        enum kiln_status st = load(exact, n, NULL, false, &kg, &d);
        ok += st == KILN_OK;
        CHECK((st == KILN_OK) == (kg != NULL));
        CHECK(st == KILN_OK || d.n_errors > 0);
        kiln_graph_free(kg);
        kiln_diag_fini(&d);
        free(exact);
    }
    CHECK(ok >= 1); /* the whole model at least */
    tb_free();
}

int
main(void)
{
    test_typed_fields();
    test_constants_and_sort();
    test_attribute_kinds();
    test_declarations();
    test_external_data();
    test_unsupported_collected();
    test_every_prefix();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail != 0;
}
