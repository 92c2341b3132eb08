/*
 * print.c - the .kir printer.
 *
 * Contract (text.h): the output parses back (parse.c) to a graph that prints
 * byte-identically. Everything printed is therefore a pure function of the
 * graph's contents in a fixed order: inputs, captures and outputs in their
 * list order, constants in value-id order, nodes in node order, attributes
 * sorted by name (the node invariant). Floats print as the shortest decimal
 * that reads back to the same bits; NaNs other than the canonical quiet NaN
 * print their bits. The grammar is in ir/IR.md.
 *
 * Large constants go to the weights sink at 64-byte aligned offsets, so that
 * a loader can map the file and use the data in place for any dtype.
 *
 * Complexity: linear in the graph plus the bytes of inline constants.
 */
#include "text.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BLOB_ALIGN 64

struct printer {
    FILE *f;
    struct kiln_print_opts *o;
    bool failed;
};

void
kiln_print_opts_default(struct kiln_print_opts *o)
{
    memset(o, 0, sizeof *o);
    o->inline_limit = 16;
}

static void
put(struct printer *pr, const char *s)
{
    if (fputs(s, pr->f) == EOF)
        pr->failed = true;
}

static void __attribute__((format(printf, 2, 3)))
putf(struct printer *pr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(pr->f, fmt, ap) < 0)
        pr->failed = true;
    va_end(ap);
}

static void
indent(struct printer *pr, int depth)
{
    for (int i = 0; i < depth; i++)
        put(pr, "  ");
}

/* ---------------------------------------------------------------- lexical */

static void
put_quoted(struct printer *pr, const char *s, size_t len)
{
    put(pr, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            put(pr, "\\\"");
        else if (c == '\\')
            put(pr, "\\\\");
        else if (c == '\n')
            put(pr, "\\n");
        else if (c == '\t')
            put(pr, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            putf(pr, "\\x%02x", c);
        else if (fputc(c, pr->f) == EOF)
            pr->failed = true;
    }
    put(pr, "\"");
}

static bool
is_bare_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A value or graph name: bare when it is [A-Za-z0-9_]+, quoted otherwise. */
static void
put_name(struct printer *pr, const char *s)
{
    bool bare = s[0] != 0;
    for (const char *c = s; *c && bare; c++)
        bare = is_bare_char((unsigned char)*c);
    if (bare)
        put(pr, s);
    else
        put_quoted(pr, s, strlen(s));
}

static void
put_ref(struct printer *pr, const struct kiln_graph *g, int32_t id)
{
    if (id < 0) {
        put(pr, "_");
        return;
    }
    const struct kiln_value *v = g->values[id];
    put(pr, v->kind == KILN_VALUE_CONST ? "$" : "%");
    put_name(pr, v->name);
}

/* A dim symbol (one factor, len bytes): bare when it is an identifier not
 * starting with a digit, quoted otherwise. */
static void
put_sym(struct printer *pr, const char *s, size_t len)
{
    bool bare = len != 0 && !(s[0] >= '0' && s[0] <= '9');
    for (size_t i = 0; i < len && bare; i++)
        bare = is_bare_char((unsigned char)s[i]);
    if (bare)
        putf(pr, "%.*s", (int)len, s);
    else
        put_quoted(pr, s, len);
}

/* A symbolic dim: the monomial `16*N*S`, coefficient omitted when 1, factors
 * in their stored (sorted) order; kiln_dim_format writes the same text. */
static void
put_monomial(struct printer *pr, struct kiln_dim d)
{
    if (d.n != 1)
        putf(pr, "%" PRId64 "*", d.n);
    for (const char *p = d.sym;;) {
        const char *e = strchr(p, KILN_DIM_SEP);
        put_sym(pr, p, e ? (size_t)(e - p) : strlen(p));
        if (!e)
            break;
        put(pr, "*");
        p = e + 1;
    }
}

/* Shortest decimal that strtof/strtod reads back exactly; always marked as a
 * float (a '.', an exponent, inf or nan) so it never reads as an integer. */
static void
fmt_real(char *buf, size_t cap, double x, bool single)
{
    if (isinf(x)) {
        snprintf(buf, cap, "%s", x < 0 ? "-inf" : "inf");
        return;
    }
    int max = single ? 9 : 17;
    for (int prec = 1; prec <= max; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (single ? strtof(buf, NULL) == (float)x : strtod(buf, NULL) == x)
            break;
    }
    if (!strpbrk(buf, ".en"))
        strncat(buf, ".0", cap - strlen(buf) - 1);
}

static void
put_f32(struct printer *pr, float x)
{
    char buf[64];
    if (isnan(x)) {
        uint32_t bits;
        memcpy(&bits, &x, 4);
        if (bits == 0x7fc00000u)
            put(pr, "nan");
        else
            putf(pr, "nan(0x%08" PRIx32 ")", bits);
        return;
    }
    fmt_real(buf, sizeof buf, x, true);
    put(pr, buf);
}

static void
put_f64(struct printer *pr, double x)
{
    char buf[64];
    if (isnan(x)) {
        uint64_t bits;
        memcpy(&bits, &x, 8);
        if (bits == UINT64_C(0x7ff8000000000000))
            put(pr, "nan");
        else
            putf(pr, "nan(0x%016" PRIx64 ")", bits);
        return;
    }
    fmt_real(buf, sizeof buf, x, false);
    put(pr, buf);
}

/* ---------------------------------------------------------------- types */

static void
put_type(struct printer *pr, const struct kiln_type *t)
{
    put(pr, t->dtype == KILN_DT_INVALID ? "?" : kiln_dtype_name(t->dtype));
    if (t->rank < 0) {
        put(pr, "[*]");
        return;
    }
    put(pr, "[");
    for (int i = 0; i < t->rank; i++) {
        if (i)
            put(pr, ",");
        struct kiln_dim dm = t->dims[i];
        if (kiln_dim_is_expr(dm)) {
            char buf[KILN_DIM_MAX_SYM * 2];
            kiln_dim_format(dm, buf, sizeof buf);
            put(pr, buf);
        } else if (dm.sym)
            put_monomial(pr, dm);
        else if (dm.n >= 0)
            putf(pr, "%" PRId64, dm.n);
        else
            put(pr, "?");
    }
    put(pr, "]");
}

static const char *const sparse_names[] = {
    [KILN_SPARSE_NONE] = "none",
    [KILN_SPARSE_CSR] = "csr",
    [KILN_SPARSE_BSR] = "bsr",
    [KILN_SPARSE_NM] = "nm",
};

/* The annotation suffixes of a value: <q ...>, <sparse ...>, <mem ...>. */
static void
put_annotations(struct printer *pr, const struct kiln_value *v)
{
    if (v->quant) {
        const struct kiln_quant *q = v->quant;
        putf(pr, " <q %s, axis=%d, scales=[", kiln_dtype_name(q->storage), q->axis);
        for (int64_t i = 0; i < q->n; i++) {
            if (i)
                put(pr, ", ");
            put_f32(pr, q->scales[i]);
        }
        put(pr, "], zero_points=[");
        for (int64_t i = 0; i < q->n; i++)
            putf(pr, "%s%" PRId64, i ? ", " : "", q->zero_points[i]);
        put(pr, "]>");
    }
    if (v->sparsity && (unsigned)v->sparsity->format <= KILN_SPARSE_NM) {
        const struct kiln_sparsity *s = v->sparsity;
        putf(pr, " <sparse %s", sparse_names[s->format]);
        if (s->format == KILN_SPARSE_BSR)
            putf(pr, " %dx%d", s->block_h, s->block_w);
        else if (s->format == KILN_SPARSE_NM)
            putf(pr, " %d:%d", s->block_h, s->block_w);
        put(pr, ", density=");
        put_f64(pr, s->density);
        put(pr, ">");
    }
    if (v->plan)
        putf(pr, " <mem offset=%" PRId64 ", size=%" PRId64 ", live=[%d, %d]>", v->plan->offset,
             v->plan->size, (int)v->plan->first, (int)v->plan->last);
}

/* ---------------------------------------------------------------- tensors */

static void
put_element(struct printer *pr, const struct kiln_tensor *t, int64_t i)
{
    const unsigned char *b = t->data;
    switch (t->dtype) {
    case KILN_DT_F32: {
        float x;
        memcpy(&x, b + i * 4, 4);
        put_f32(pr, x);
        break;
    }
    case KILN_DT_F64: {
        double x;
        memcpy(&x, b + i * 8, 8);
        put_f64(pr, x);
        break;
    }
    case KILN_DT_F16:
    case KILN_DT_BF16: {
        uint16_t h;
        memcpy(&h, b + i * 2, 2);
        bool nan = t->dtype == KILN_DT_F16 ? (h & 0x7c00) == 0x7c00 && (h & 0x3ff)
                                           : (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        uint16_t canon = t->dtype == KILN_DT_F16 ? 0x7e00 : 0x7fc0;
        if (nan) {
            if (h == canon)
                put(pr, "nan");
            else
                putf(pr, "nan(0x%04x)", h);
        } else {
            double x = 0;
            kiln_tensor_get_f64(t, i, &x);
            put_f32(pr, (float)x); /* exact: every f16/bf16 is an f32 */
        }
        break;
    }
    case KILN_DT_BOOL:
        put(pr, b[i] ? "true" : "false");
        break;
    case KILN_DT_U64: {
        uint64_t x;
        memcpy(&x, b + i * 8, 8);
        putf(pr, "%" PRIu64, x);
        break;
    }
    default: {
        int64_t x = 0;
        kiln_tensor_get_i64(t, i, &x);
        putf(pr, "%" PRId64, x);
        break;
    }
    }
}

static void
put_blob(struct printer *pr, const struct kiln_tensor *t)
{
    struct kiln_print_opts *o = pr->o;
    static const unsigned char zeros[BLOB_ALIGN];
    size_t pad = (size_t)((BLOB_ALIGN - o->weights_offset % BLOB_ALIGN) % BLOB_ALIGN);
    if (pad && fwrite(zeros, 1, pad, o->weights) != pad)
        pr->failed = true;
    o->weights_offset += pad;
    if (t->nbytes && fwrite(t->data, 1, (size_t)t->nbytes, o->weights) != t->nbytes)
        pr->failed = true;
    put(pr, "blob<");
    const char *wn = o->weights_name ? o->weights_name : "weights.bin";
    put_quoted(pr, wn, strlen(wn));
    putf(pr, ", offset=%" PRIu64 ", size=%" PRIu64 ", fnv1a=0x%016" PRIx64 ">", o->weights_offset,
         t->nbytes, kiln_fnv1a64(t->data, (size_t)t->nbytes));
    o->weights_offset += t->nbytes;
}

/* The contents of a constant: dense<[...]>, hex<"...">, blob<...> or elided<...>. */
static void
put_payload(struct printer *pr, const struct kiln_tensor *t)
{
    int64_t numel = kiln_tensor_numel(t);
    if (t->elided || !t->data || numel < 0) {
        putf(pr, "elided<size=%" PRIu64 ", fnv1a=0x%016" PRIx64 ">", t->nbytes,
             t->elided ? t->checksum : 0);
        return;
    }
    if (numel > pr->o->inline_limit) {
        if (pr->o->weights)
            put_blob(pr, t);
        else
            putf(pr, "elided<size=%" PRIu64 ", fnv1a=0x%016" PRIx64 ">", t->nbytes,
                 kiln_fnv1a64(t->data, (size_t)t->nbytes));
        return;
    }
    if (kiln_dtype_flags(t->dtype) & KILN_DTF_STORAGE) {
        put(pr, "hex<\"");
        const unsigned char *b = t->data;
        for (uint64_t i = 0; i < t->nbytes; i++)
            putf(pr, "%02x", b[i]);
        put(pr, "\">");
        return;
    }
    put(pr, "dense<[");
    for (int64_t i = 0; i < numel; i++) {
        if (i)
            put(pr, ", ");
        put_element(pr, t, i);
    }
    put(pr, "]>");
}

static void
put_tensor(struct printer *pr, const struct kiln_tensor *t)
{
    putf(pr, "%s[", kiln_dtype_name(t->dtype));
    for (int i = 0; i < t->rank; i++)
        putf(pr, "%s%" PRId64, i ? "," : "", t->dims[i]);
    put(pr, "] ");
    put_payload(pr, t);
}

/* ---------------------------------------------------------------- graphs */

static void put_graph(struct printer *pr, const struct kiln_graph *g, int depth);

static const char *const empty_list_names[KILN_ATTR_COUNT] = {
    [KILN_ATTR_INTS] = "ints[]",       [KILN_ATTR_FLOATS] = "floats[]",
    [KILN_ATTR_STRINGS] = "strings[]", [KILN_ATTR_TENSORS] = "tensors[]",
    [KILN_ATTR_GRAPHS] = "graphs[]",
};

static void
put_attr_value(struct printer *pr, const struct kiln_attr *a, int depth)
{
    switch (a->kind) {
    case KILN_ATTR_INT:
        putf(pr, "%" PRId64, a->i);
        return;
    case KILN_ATTR_FLOAT:
        put_f32(pr, a->f);
        return;
    case KILN_ATTR_STRING:
        put_quoted(pr, a->s, a->s_len);
        return;
    case KILN_ATTR_TENSOR:
        put_tensor(pr, a->t);
        return;
    case KILN_ATTR_GRAPH:
        put_graph(pr, a->g, depth);
        return;
    default:
        break;
    }
    if (a->n == 0) {
        put(pr, empty_list_names[a->kind]);
        return;
    }
    put(pr, "[");
    for (int64_t i = 0; i < a->n; i++) {
        if (i)
            put(pr, ", ");
        switch (a->kind) {
        case KILN_ATTR_INTS:
            putf(pr, "%" PRId64, a->ints[i]);
            break;
        case KILN_ATTR_FLOATS:
            put_f32(pr, a->floats[i]);
            break;
        case KILN_ATTR_STRINGS:
            put_quoted(pr, a->strings[i], strlen(a->strings[i]));
            break;
        case KILN_ATTR_TENSORS:
            put_tensor(pr, a->tensors[i]);
            break;
        case KILN_ATTR_GRAPHS:
            put_graph(pr, a->graphs[i], depth);
            break;
        default:
            break;
        }
    }
    put(pr, "]");
}

static void
put_op_name(struct printer *pr, enum kiln_op op)
{
    const struct kiln_op_info *oi = kiln_op_info(op);
    if (oi->domain == KILN_DOMAIN_ML)
        put(pr, "ml.");
    else if (oi->domain == KILN_DOMAIN_MS)
        put(pr, "ms.");
    else if (oi->domain == KILN_DOMAIN_KILN)
        put(pr, "kiln.");
    put(pr, oi->name);
}

static void
put_node(struct printer *pr, const struct kiln_graph *g, const struct kiln_node *n, int depth)
{
    indent(pr, depth);
    if (n->n_out) {
        for (int32_t i = 0; i < n->n_out; i++) {
            if (i)
                put(pr, ", ");
            put_ref(pr, g, n->out[i]);
        }
        put(pr, " = ");
    }
    put_op_name(pr, n->op);
    put(pr, "(");
    for (int32_t i = 0; i < n->n_in; i++) {
        if (i)
            put(pr, ", ");
        put_ref(pr, g, n->in[i]);
    }
    put(pr, ")");
    if (n->n_attrs) {
        put(pr, " {");
        for (int32_t i = 0; i < n->n_attrs; i++) {
            put(pr, i ? ", " : "");
            put_name(pr, n->attrs[i].name);
            put(pr, " = ");
            put_attr_value(pr, &n->attrs[i], depth + 1);
        }
        put(pr, "}");
    }
    bool first = true;
    for (int32_t i = 0; i < n->n_out; i++) {
        if (n->out[i] < 0)
            continue;
        put(pr, first ? " : " : ", ");
        first = false;
        const struct kiln_value *v = g->values[n->out[i]];
        put_type(pr, &v->type);
        put_annotations(pr, v);
    }
    if (n->name[0] || n->n_fused_locs) {
        put(pr, " loc(");
        if (n->name[0])
            put_quoted(pr, n->name, strlen(n->name));
        if (n->n_fused_locs) {
            put(pr, n->name[0] ? ", fused[" : "fused[");
            for (int32_t i = 0; i < n->n_fused_locs; i++) {
                put(pr, i ? ", " : "");
                put_quoted(pr, n->fused_locs[i], strlen(n->fused_locs[i]));
            }
            put(pr, "]");
        }
        put(pr, ")");
    }
    if (n->body) {
        put(pr, " body ");
        put_graph(pr, n->body, depth);
    }
    put(pr, "\n");
}

/* "@name(params) captures(...) {" ... "}" with body lines at depth + 1. */
static void
put_graph(struct printer *pr, const struct kiln_graph *g, int depth)
{
    put(pr, "@");
    put_name(pr, g->name);
    put(pr, "(");
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const struct kiln_value *v = g->values[g->inputs[i]];
        put(pr, i ? ", %" : "%");
        put_name(pr, v->name);
        put(pr, ": ");
        put_type(pr, &v->type);
        put_annotations(pr, v);
        if (v->data) {
            put(pr, " = ");
            put_payload(pr, v->data);
        }
    }
    put(pr, ")");
    if (g->n_captures) {
        put(pr, " captures(");
        for (int32_t i = 0; i < g->n_captures; i++) {
            put(pr, i ? ", %" : "%");
            put_name(pr, g->values[g->captures[i]]->name);
        }
        put(pr, ")");
    }
    put(pr, " {\n");
    for (int32_t i = 0; i < g->n_values; i++) {
        const struct kiln_value *v = g->values[i];
        if (v->kind != KILN_VALUE_CONST || !v->data || v->dead)
            continue;
        indent(pr, depth + 1);
        put(pr, "$");
        put_name(pr, v->name);
        put(pr, " = const ");
        put_type(pr, &v->type);
        put_annotations(pr, v);
        put(pr, " ");
        put_payload(pr, v->data);
        put(pr, "\n");
    }
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->dead)
            put_node(pr, g, g->nodes[i], depth + 1);
    indent(pr, depth + 1);
    put(pr, "return");
    for (int32_t i = 0; i < g->n_outputs; i++) {
        put(pr, i ? ", " : " ");
        put_ref(pr, g, g->outputs[i]);
    }
    put(pr, "\n");
    indent(pr, depth);
    put(pr, "}");
}

enum kiln_status
kiln_graph_print(const struct kiln_graph *g, FILE *f, struct kiln_print_opts *opts)
{
    struct kiln_print_opts def;
    if (!opts) {
        kiln_print_opts_default(&def);
        opts = &def;
    }
    struct printer pr = {f, opts, false};
    putf(&pr, "kiln %d\n", KILN_TEXT_VERSION);
    if (g->ir_version)
        putf(&pr, "ir_version %" PRId64 "\n", g->ir_version);
    if (g->producer && g->producer[0]) {
        put(&pr, "producer ");
        put_quoted(&pr, g->producer, strlen(g->producer));
        put(&pr, "\n");
    }
    if (g->n_opsets) {
        put(&pr, "opset");
        for (int32_t i = 0; i < g->n_opsets; i++) {
            put(&pr, i ? ", " : " ");
            put_quoted(&pr, g->opsets[i].domain, strlen(g->opsets[i].domain));
            putf(&pr, " %" PRId64, g->opsets[i].version);
        }
        put(&pr, "\n");
    }
    put(&pr, "\n");
    put_graph(&pr, g, 0);
    put(&pr, "\n");
    return pr.failed ? KILN_ERR_IO : KILN_OK;
}
