/*
 * test_text.c - unit tests of the .kir printer and parser (ir/print.c, ir/parse.c).
 *
 * - every f16 and bf16 bit pattern, and 200k pseudo-random f32 and f64 bit
 *   patterns, survive print -> parse exactly (NaN payloads and -0 included);
 * - attributes of every kind, empty lists, strings holding NUL and high bytes
 *   and nested graphs survive print -> parse -> print byte for byte, and compare
 *   equal field by field;
 * - blobs: large constants written to a weights file read back in place;
 * - symbolic dims (monomials such as 16*N*"seq len") print as kiln_dim_format
 *   spells them, read back equal, and malformed ones are refused;
 * - every prefix of a printed graph is refused with a diagnostic (never a crash),
 *   and only the whole text parses.
 *
 * Prints one line per failed check and closes with "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/ir.h"
#include "ir/text.h"

#include "tests/unit/check.h"

/* Print g into a malloc'd string. */
static char *
print_to_string(const struct kiln_graph *g, struct kiln_print_opts *po, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    enum kiln_status st = kiln_graph_print(g, f, po);
    fclose(f);
    if (st != KILN_OK) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t
rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static struct kiln_tensor *
new_tensor(struct kiln_graph *g, enum kiln_dtype dt, int64_t n)
{
    struct kiln_tensor *t = kiln_arena_alloc(g->arena, sizeof *t);
    t->dtype = dt;
    t->rank = 1;
    t->dims = kiln_arena_alloc(g->arena, sizeof *t->dims);
    t->dims[0] = n;
    kiln_dtype_storage_bytes(dt, n, &t->nbytes);
    t->data = kiln_arena_alloc(g->arena, (size_t)t->nbytes + 1);
    return t;
}

static struct kiln_graph *
reparse(const char *text, size_t len, const char *path)
{
    struct kiln_diag d;
    kiln_diag_init(&d, path);
    struct kiln_graph *g = NULL;
    enum kiln_status st = kiln_graph_parse(text, len, path, &g, &d);
    if (st != KILN_OK)
        kiln_diag_print(&d, stdout);
    kiln_diag_fini(&d);
    return g;
}

/* Constants of every float dtype hold bit patterns that must come back exactly. */
static void
test_float_bits(void)
{
    struct kiln_graph *g = kiln_graph_new("floats");
    g->opsets = kiln_arena_alloc(g->arena, sizeof *g->opsets);
    const int64_t n16 = 65536, n32 = 1 << 17, n64 = 1 << 16;
    struct kiln_tensor *h = new_tensor(g, KILN_DT_F16, n16);
    struct kiln_tensor *b = new_tensor(g, KILN_DT_BF16, n16);
    struct kiln_tensor *f = new_tensor(g, KILN_DT_F32, n32);
    struct kiln_tensor *d = new_tensor(g, KILN_DT_F64, n64);
    for (int64_t i = 0; i < n16; i++) {
        uint16_t v = (uint16_t)i;
        memcpy((char *)h->data + 2 * i, &v, 2);
        memcpy((char *)b->data + 2 * i, &v, 2);
    }
    for (int64_t i = 0; i < n32; i++) {
        uint32_t v = (uint32_t)rng_next();
        if (i < 8) /* the edges: zeros, infinities, the canonical NaN, denormals */
            v = (uint32_t[]){0,           0x80000000u, 0x7f800000u, 0xff800000u,
                             0x7fc00000u, 1,           0x807fffffu, 0x7f7fffffu}[i];
        memcpy((char *)f->data + 4 * i, &v, 4);
    }
    for (int64_t i = 0; i < n64; i++) {
        uint64_t v = rng_next();
        if (i < 4)
            v = (uint64_t[]){0, UINT64_C(0x8000000000000000), UINT64_C(0x7ff8000000000000), 1}[i];
        memcpy((char *)d->data + 8 * i, &v, 8);
    }
    int32_t ids[4] = {kiln_graph_add_const(g, "h", h), kiln_graph_add_const(g, "b", b),
                      kiln_graph_add_const(g, "f", f), kiln_graph_add_const(g, "d", d)};
    for (int i = 0; i < 4; i++)
        kiln_graph_add_output(g, ids[i]);
    struct kiln_print_opts po;
    kiln_print_opts_default(&po);
    po.inline_limit = INT64_MAX;
    size_t len;
    char *text = print_to_string(g, &po, &len);
    CHECK(text != NULL);
    struct kiln_graph *g2 = text ? reparse(text, len, "floats.kir") : NULL;
    CHECK(g2 != NULL);
    if (g2) {
        const struct kiln_tensor *want[4] = {h, b, f, d};
        for (int i = 0; i < 4; i++) {
            const struct kiln_value *v =
                g2->values[kiln_graph_find_value(g2, (char[]){"hbfd"[i], 0})];
            CHECK(v->data && v->data->nbytes == want[i]->nbytes &&
                  memcmp(v->data->data, want[i]->data, (size_t)want[i]->nbytes) == 0);
        }
    }
    free(text);
    kiln_graph_free(g2);
    kiln_graph_free(g);
}

/* A node carrying attributes of every kind; returns the graph. */
static struct kiln_graph *
make_attr_graph(void)
{
    struct kiln_graph *g = kiln_graph_new("attrs");
    g->ir_version = 10;
    g->producer = "test \"quoted\" \x7f";
    g->n_opsets = 1;
    g->opsets = kiln_arena_alloc(g->arena, sizeof *g->opsets);
    g->opsets[0].domain = "";
    g->opsets[0].version = 21;
    g->opset = 21;
    int32_t x = kiln_graph_add_input(g, "x");
    g->values[x]->type.dtype = KILN_DT_F32;
    g->values[x]->type.rank = 2;
    g->values[x]->type.dims = kiln_arena_array(g->arena, 2, sizeof(struct kiln_dim));
    g->values[x]->type.dims[0] = kiln_dim_sym(kiln_graph_intern(g, "batch size"));
    g->values[x]->type.dims[1] = kiln_dim_unknown();
    const char *outs[] = {"y", NULL, "z"};
    struct kiln_node *n = kiln_graph_add_node(g, KILN_OP_SPLIT, "n\x01\xff", &x, 1, outs, 3, NULL);
    /* a sub-graph capturing x */
    struct kiln_graph *sg = kiln_graph_new_sub(g, "sub graph");
    int32_t cx = kiln_graph_resolve_value(sg, "x");
    const char *so[] = {"s"};
    struct kiln_node *sn = kiln_graph_add_node(sg, KILN_OP_NEG, "", &cx, 1, so, 1, NULL);
    sg->values[sn->out[0]]->type = g->values[x]->type;
    kiln_graph_add_output(sg, sn->out[0]);

    struct kiln_tensor *t = new_tensor(g, KILN_DT_I4, 5);
    memcpy((void *)t->data, "\x12\x34\xf5", 3);
    static int64_t ints[] = {INT64_MIN, -1, 0, INT64_MAX};
    static float floats[4];
    uint32_t nanbits = 0x7fa00001u;
    float fl[4] = {-0.0f, 1e-45f, 3.4028235e38f, 0};
    memcpy(&fl[3], &nanbits, 4);
    memcpy(floats, fl, sizeof fl);
    static const char *strings[] = {"a", "", "\"\\\n\t"};
    struct kiln_tensor **tensors = kiln_arena_array(g->arena, 2, sizeof *tensors);
    tensors[0] = t;
    tensors[1] = new_tensor(g, KILN_DT_BOOL, 2);
    memcpy((void *)tensors[1]->data, "\x01\x00", 2);
    struct kiln_graph **graphs = kiln_arena_array(g->arena, 1, sizeof *graphs);
    graphs[0] = sg;
    struct kiln_attr a[] = {
        {.name = "i", .kind = KILN_ATTR_INT, .i = -42},
        {.name = "f", .kind = KILN_ATTR_FLOAT, .f = 0.1f},
        {.name = "s", .kind = KILN_ATTR_STRING, .s = "nul\0inside\x80", .s_len = 11},
        {.name = "t", .kind = KILN_ATTR_TENSOR, .t = t},
        {.name = "g", .kind = KILN_ATTR_GRAPH, .g = sg},
        {.name = "ints", .kind = KILN_ATTR_INTS, .n = 4, .ints = ints},
        {.name = "floats", .kind = KILN_ATTR_FLOATS, .n = 4, .floats = floats},
        {.name = "strings", .kind = KILN_ATTR_STRINGS, .n = 3, .strings = strings},
        {.name = "tensors", .kind = KILN_ATTR_TENSORS, .n = 2, .tensors = tensors},
        {.name = "graphs", .kind = KILN_ATTR_GRAPHS, .n = 1, .graphs = graphs},
        {.name = "e_ints", .kind = KILN_ATTR_INTS, .n = 0},
        {.name = "e_floats", .kind = KILN_ATTR_FLOATS, .n = 0},
        {.name = "e_strings", .kind = KILN_ATTR_STRINGS, .n = 0},
        {.name = "e_tensors", .kind = KILN_ATTR_TENSORS, .n = 0},
        {.name = "e_graphs", .kind = KILN_ATTR_GRAPHS, .n = 0},
        {.name = "odd name!", .kind = KILN_ATTR_INT, .i = 1},
    };
    int32_t na = (int32_t)(sizeof a / sizeof a[0]);
    struct kiln_attr *arr = kiln_arena_array(g->arena, (size_t)na, sizeof *arr);
    memcpy(arr, a, sizeof a);
    CHECK(kiln_node_set_attrs(n, arr, na) == NULL);
    for (int i = 0; i < 3; i += 2)
        g->values[n->out[i]]->type = g->values[x]->type;
    /* annotations on an output */
    struct kiln_value *y = g->values[n->out[0]];
    y->quant = kiln_arena_alloc(g->arena, sizeof *y->quant);
    y->quant->storage = KILN_DT_U8;
    y->quant->axis = 1;
    y->quant->n = 2;
    y->quant->scales = kiln_arena_array(g->arena, 2, sizeof(float));
    y->quant->scales[0] = 0.5f;
    y->quant->scales[1] = 1.0f / 3;
    y->quant->zero_points = kiln_arena_array(g->arena, 2, sizeof(int64_t));
    y->quant->zero_points[1] = 128;
    y->sparsity = kiln_arena_alloc(g->arena, sizeof *y->sparsity);
    y->sparsity->format = KILN_SPARSE_BSR;
    y->sparsity->block_h = 4;
    y->sparsity->block_w = 8;
    y->sparsity->density = 1.0 / 7;
    y->plan = kiln_arena_alloc(g->arena, sizeof *y->plan);
    y->plan->offset = 128;
    y->plan->size = 4096;
    y->plan->first = -1;
    y->plan->last = 3;
    kiln_graph_add_output(g, n->out[0]);
    kiln_graph_add_output(g, n->out[2]);
    return g;
}

static void
test_attrs(void)
{
    struct kiln_graph *g = make_attr_graph();
    size_t len1, len2;
    char *t1 = print_to_string(g, NULL, &len1);
    CHECK(t1 != NULL);
    struct kiln_graph *g2 = t1 ? reparse(t1, len1, "attrs.kir") : NULL;
    CHECK(g2 != NULL);
    if (!g2) {
        printf("%s\n", t1 ? t1 : "");
        free(t1);
        kiln_graph_free(g);
        return;
    }
    char *t2 = print_to_string(g2, NULL, &len2);
    CHECK(t2 && len1 == len2 && memcmp(t1, t2, len1) == 0);
    /* field by field, where the printer might have hidden a loss */
    const struct kiln_node *n = g2->nodes[0];
    CHECK(n->op == KILN_OP_SPLIT && strcmp(n->name, "n\x01\xff") == 0);
    CHECK(n->n_out == 3 && n->out[1] == -1);
    const struct kiln_attr *s = kiln_node_attr(n, "s");
    CHECK(s && s->kind == KILN_ATTR_STRING && s->s_len == 11 &&
          memcmp(s->s, "nul\0inside\x80", 11) == 0);
    int64_t k;
    const float *fl = kiln_node_attr_floats(n, "floats", &k);
    uint32_t bits;
    CHECK(fl && k == 4);
    if (fl) {
        memcpy(&bits, &fl[3], 4);
        CHECK(bits == 0x7fa00001u);
        memcpy(&bits, &fl[0], 4);
        CHECK(bits == 0x80000000u);
    }
    const int64_t *ints = kiln_node_attr_ints(n, "ints", &k);
    CHECK(ints && k == 4 && ints[0] == INT64_MIN && ints[3] == INT64_MAX);
    const struct kiln_attr *e = kiln_node_attr(n, "e_graphs");
    CHECK(e && e->kind == KILN_ATTR_GRAPHS && e->n == 0);
    const struct kiln_tensor *t = kiln_node_attr_tensor(n, "t");
    CHECK(t && t->dtype == KILN_DT_I4 && t->nbytes == 3 && memcmp(t->data, "\x12\x34\xf5", 3) == 0);
    struct kiln_graph *sg = kiln_node_attr_graph(n, "g");
    CHECK(sg && sg->n_captures == 1 && sg->parent == g2 &&
          sg->values[sg->captures[0]]->outer == kiln_graph_find_value(g2, "x"));
    const struct kiln_value *y = g2->values[kiln_graph_find_value(g2, "y")];
    CHECK(y->quant && y->quant->n == 2 && y->quant->scales[1] == 1.0f / 3 &&
          y->quant->zero_points[1] == 128 && y->quant->axis == 1);
    CHECK(y->sparsity && y->sparsity->format == KILN_SPARSE_BSR && y->sparsity->block_w == 8 &&
          y->sparsity->density == 1.0 / 7);
    CHECK(y->plan && y->plan->first == -1 && y->plan->last == 3 && y->plan->offset == 128);
    CHECK(y->type.rank == 2 && y->type.dims[0].sym &&
          strcmp(y->type.dims[0].sym, "batch size") == 0 && kiln_dim_is_unknown(y->type.dims[1]));
    CHECK(strcmp(g2->producer, g->producer) == 0 && g2->opset == 21 && g2->ir_version == 10);

    /* every proper prefix is refused cleanly */
    int refused = 0;
    for (size_t cut = 0; cut + 1 < len1; cut++) {
        struct kiln_diag d;
        kiln_diag_init(&d, "cut.kir");
        struct kiln_graph *gc = NULL;
        enum kiln_status st = kiln_graph_parse(t1, cut, "cut.kir", &gc, &d);
        if (st != KILN_OK && d.n_errors == 1 && gc == NULL)
            refused++;
        kiln_graph_free(gc);
        kiln_diag_fini(&d);
    }
    CHECK(refused == (int)(len1 - 1)); /* every cut short of the closing brace */
    free(t1);
    free(t2);
    kiln_graph_free(g2);
    kiln_graph_free(g);
}

/* Large constants go to the weights file, 64-byte aligned, and read back in place. */
static void
test_blobs(void)
{
    char dir[] = "/tmp/kiln-test-text-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char kir[256], wts[256];
    snprintf(kir, sizeof kir, "%s/m.kir", dir);
    snprintf(wts, sizeof wts, "%s/m.weights", dir);
    struct kiln_graph *g = kiln_graph_new("blobs");
    struct kiln_tensor *a = new_tensor(g, KILN_DT_F32, 100), *b = new_tensor(g, KILN_DT_U8, 33);
    for (int i = 0; i < 100; i++)
        ((float *)a->data)[i] = (float)i * 0.25f;
    memset((void *)b->data, 0xab, 33);
    kiln_graph_add_output(g, kiln_graph_add_const(g, "b", b));
    kiln_graph_add_output(g, kiln_graph_add_const(g, "a", a));
    FILE *kf = fopen(kir, "w"), *wf = fopen(wts, "wb");
    struct kiln_print_opts po;
    kiln_print_opts_default(&po);
    po.weights = wf;
    po.weights_name = "m.weights";
    CHECK(kf && wf && kiln_graph_print(g, kf, &po) == KILN_OK);
    CHECK(po.weights_offset == 64 + 400); /* b at 0 (33 bytes), a at 64 */
    fclose(kf);
    fclose(wf);
    struct kiln_diag d;
    kiln_diag_init(&d, kir);
    struct kiln_graph *g2 = NULL;
    CHECK(kiln_graph_parse_file(kir, &g2, &d) == KILN_OK);
    kiln_diag_print(&d, stdout);
    kiln_diag_fini(&d);
    if (g2) {
        const struct kiln_tensor *a2 = g2->values[kiln_graph_find_value(g2, "a")]->data;
        const struct kiln_tensor *b2 = g2->values[kiln_graph_find_value(g2, "b")]->data;
        CHECK(a2->nbytes == 400 && memcmp(a2->data, a->data, 400) == 0);
        CHECK(((uintptr_t)a2->data & 63) == 0); /* mapped in place, aligned */
        CHECK(b2->nbytes == 33 && memcmp(b2->data, b->data, 33) == 0);
    }
    kiln_graph_free(g2);
    kiln_graph_free(g);
    unlink(kir);
    unlink(wts);
    rmdir(dir);
}

/* Parse text that must load; NULL (with the diagnostic printed) otherwise. */
static struct kiln_graph *
parse_ok(const char *text)
{
    return reparse(text, strlen(text), "dims.kir");
}

/* Parse text that must fail with a diagnostic containing needle. */
static bool
parse_fails(const char *text, const char *needle)
{
    struct kiln_diag d;
    kiln_diag_init(&d, "bad.kir");
    struct kiln_graph *g = NULL;
    enum kiln_status st = kiln_graph_parse(text, strlen(text), "bad.kir", &g, &d);
    bool ok = st != KILN_OK && g == NULL && kiln_diag_has(&d, needle);
    if (!ok)
        kiln_diag_print(&d, stdout);
    kiln_graph_free(g);
    kiln_diag_fini(&d);
    return ok;
}

/* Symbolic dims are monomials: printed `16*N*"seq len"`, read back to equal dims,
 * spelled as kiln_dim_format spells them; only an unquoted '*' joins factors. */
static void
test_dims(void)
{
    struct kiln_graph *g = kiln_graph_new("dims");
    int32_t x = kiln_graph_add_input(g, "x");
    struct kiln_type *t = &g->values[x]->type;
    t->dtype = KILN_DT_F32;
    t->rank = 7;
    t->dims = kiln_arena_array(g->arena, 7, sizeof *t->dims);
    const char *f[] = {"seq len", "N", "2*N", "N", "N", "a\"\\\x01", "_b9"};
    t->dims[0] = kiln_dim_monomial(16, f + 1, 1, g->arena);        /* 16*N */
    t->dims[1] = kiln_dim_monomial(1, f, 2, g->arena);             /* N*"seq len" */
    t->dims[2] = kiln_dim_monomial(1, f + 2, 1, g->arena);         /* "2*N", one symbol */
    t->dims[3] = kiln_dim_monomial(3, f + 2, 3, g->arena);         /* 3*"2*N"*N*N */
    t->dims[4] = kiln_dim_monomial(INT64_MAX, f + 5, 2, g->arena); /* '_' sorts before 'a' */
    t->dims[5] = kiln_dim_const(7);
    t->dims[6] = kiln_dim_unknown();
    kiln_graph_add_output(g, x);
    size_t len1, len2;
    char *t1 = print_to_string(g, NULL, &len1);
    const char *want = "f32[16*N,N*\"seq len\",\"2*N\",3*\"2*N\"*N*N,"
                       "9223372036854775807*_b9*\"a\\\"\\\\\\x01\",7,?]";
    CHECK(t1 && strstr(t1, want));
    /* kiln_dim_format spells each dim as the printer does */
    char buf[128], all[512] = "f32[";
    for (int i = 0; i < t->rank; i++) {
        kiln_dim_format(t->dims[i], buf, sizeof buf);
        strcat(all, buf);
        strcat(all, i + 1 < t->rank ? "," : "]");
    }
    CHECK(strcmp(all, want) == 0);
    struct kiln_graph *g2 = t1 ? reparse(t1, len1, "dims.kir") : NULL;
    CHECK(g2 != NULL);
    if (g2) {
        char *t2 = print_to_string(g2, NULL, &len2);
        CHECK(t2 && len1 == len2 && memcmp(t1, t2, len1) == 0);
        free(t2);
        const struct kiln_type *t2y = &g2->values[kiln_graph_find_value(g2, "x")]->type;
        CHECK(t2y->rank == t->rank);
        for (int i = 0; i < t->rank && i < t2y->rank; i++)
            CHECK(i == 6 ? kiln_dim_is_unknown(t2y->dims[i])
                         : kiln_dim_eq(t2y->dims[i], t->dims[i]));
        CHECK(t2y->dims[2].sym && strcmp(t2y->dims[2].sym, "2*N") == 0 && t2y->dims[2].n == 1);
        kiln_graph_free(g2);
    }
    free(t1);
    kiln_graph_free(g);

    /* factor order and spacing do not matter; a coefficient of 1 is dropped */
    g = parse_ok("kiln 1\n@g(%a: f32[S*N, 4 * \"x y\" * N, 1*N], %b: f32[N*S, 4*\"x y\"*N, N]) {\n"
                 "  return %a, %b\n}\n");
    CHECK(g != NULL);
    if (g) {
        const struct kiln_type *ta = &g->values[g->inputs[0]]->type;
        const struct kiln_type *tb = &g->values[g->inputs[1]]->type;
        CHECK(kiln_type_eq(ta, tb));
        CHECK(ta->dims[1].n == 4 && ta->dims[2].n == 1 && strcmp(ta->dims[0].sym, "N\x1fS") == 0);
        char *txt = print_to_string(g, NULL, NULL);
        CHECK(txt && strstr(txt, "@g(%a: f32[N*S,4*N*\"x y\",N], %b: f32[N*S,4*N*\"x y\",N])"));
        free(txt);
        kiln_graph_free(g);
    }

    /* malformed monomials */
    CHECK(parse_fails("kiln 1\n@g(%a: f32[0*N]) {\n  return %a\n}\n",
                      "bad.kir:2:12: error: the coefficient of a symbolic dim must be >= 1"));
    CHECK(parse_fails("kiln 1\n@g(%a: f32[2*]) {\n  return %a\n}\n",
                      "bad.kir:2:14: error: expected a dim (integer, '?' or symbol), found ']'"));
    CHECK(parse_fails("kiln 1\n@g(%a: f32[N*?]) {\n  return %a\n}\n",
                      "expected a dim (integer, '?' or symbol), found '?'"));
    CHECK(parse_fails("kiln 1\n@g(%a: f32[W - 1 - W]) {\n  return %a\n}\n",
                      "a dim cannot be negative (-1)"));
    CHECK(parse_fails("kiln 1\n@g(%a: f32[floor(W/0)]) {\n  return %a\n}\n", "out of range"));
    CHECK(parse_fails("kiln 1\n@g(%a: f32[min(W 2)]) {\n  return %a\n}\n", "between the operands"));

    /* dim expressions: parsed in any spelling, printed canonically, read back */
    g = parse_ok("kiln 1\n@g(%a: f32[N*4, floor((W + 2*1 - 3)/2) + 1, min(16,S), "
                 "(H + 1)*(H - 1), max(W - 5, 0), floor(W/2) + 2*floor(W/2)]) {\n"
                 "  return %a\n}\n");
    CHECK(g != NULL);
    if (g) {
        char *txt = print_to_string(g, NULL, NULL);
        CHECK(txt && strstr(txt, "@g(%a: f32[4*N,floor((W + 1)/2),min(S, 16),H*H - 1,"
                                 "max(W - 5, 0),3*floor(W/2)])"));
        g2 = txt ? reparse(txt, strlen(txt), "e2.kir") : NULL;
        CHECK(g2 && kiln_type_eq(&g2->values[g2->inputs[0]]->type, &g->values[g->inputs[0]]->type));
        if (g2)
            kiln_graph_free(g2);
        free(txt);
        kiln_graph_free(g);
    }
    CHECK(parse_fails("kiln 1\n@g(%a: f32[\"a\\x1fb\"]) {\n  return %a\n}\n",
                      "dim symbols cannot contain the byte 0x1f"));
    CHECK(parse_fails("kiln 1\n@g(%a: f32[N*\"\"]) {\n  return %a\n}\n",
                      "dim names must be non-empty"));
    char many[512] = "kiln 1\n@g(%a: f32[N";
    for (int i = 0; i < KILN_DIM_MAX_FACTORS; i++)
        strcat(many, "*N");
    strcat(many, "]) {\n  return %a\n}\n");
    CHECK(parse_fails(many, "a symbolic dim has more than 32 factors"));
}

int
main(void)
{
    test_float_bits();
    test_attrs();
    test_blobs();
    test_dims();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail != 0;
}
