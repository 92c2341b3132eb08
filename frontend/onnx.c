/*
 * onnx.c - the ONNX frontend: ModelProto bytes -> kiln graph (API in onnx.h).
 *
 * Contract:
 *  - Input is untrusted. Before protobuf-c sees the bytes, kiln_onnx_wire_check
 *    (onnx_wire.c) bounds their nesting and decoded size; after it, every count,
 *    size and name is checked here before it is used: dims (sign, rank, product
 *    overflow), data sizes against the shape, external data ranges against the
 *    file. Nothing is allocated that the file's size does not justify.
 *  - Every error goes to the diagnostics sink; nothing here prints or exits.
 *    Unsupported features (ops kiln does not know, string tensors, sparse
 *    tensors, sequence types, ...) are collected over the whole model, sub-graphs
 *    included, so that one run reports them all; then the load fails with
 *    KILN_ERR_UNSUPPORTED. Malformed input stops the load at the first error.
 *  - On success the caller owns a graph whose nodes are in topological order
 *    (every graph, sub-graphs too) and, unless opts->no_infer, typed by
 *    kiln_graph_infer_shapes. On failure *out is NULL and nothing leaks: the
 *    unpacked message, the partial graph and its file mappings are released.
 *
 * How a graph is built (onnx_graph_build), in an order that copes with ONNX
 * files whose nodes are not sorted and with sub-graphs that use values of the
 * enclosing graphs:
 *   1. graph inputs, with their declared types;
 *   2. initializers: an initializer named like an input becomes that input's
 *      default (the input stays overridable), any other one a constant;
 *   3. pass A over the nodes: each node with its outputs but no operands yet, so
 *      that every value of the graph has a name before anything is looked up;
 *      Constant nodes become constant values right away;
 *   4. value_info and graph-output types are put on the values as declarations
 *      (shape inference merges them with what it derives);
 *   5. pass B over the nodes: operands are resolved (through enclosing graphs,
 *      which turns outer values into captures) and attributes converted,
 *      sub-graphs recursively, each with the same steps.
 * Then kiln_graph_sort orders every graph and shape inference runs.
 *
 * Sub-graphs share the root graph's arena; external-data files are mapped once
 * each and the mappings handed to the root graph (kiln_graph_add_mapping).
 * Cost: linear in the size of the model plus the sort and inference.
 */
#include "frontend/onnx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx_wire.h"
#include "ir/shape.h"
#include "onnx/onnx.pb-c.h"

/* raw_data and external data are little-endian; tensors keep ONNX's bytes as they are. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the ONNX frontend assumes a "
                                                          "little-endian host");

/* TensorProto.DataType values kiln has no dtype for, named in diagnostics. */
#define ONNX_DT_STRING 8
#define ONNX_DT_COMPLEX64 14
#define ONNX_DT_COMPLEX128 15

/* An external-data file, mapped read-only once however many tensors use it. */
struct onnx_mapped_file {
    dev_t dev;
    ino_t ino;
    const unsigned char *addr; /* NULL for an empty file */
    uint64_t size;
    struct onnx_mapped_file *next;
};

struct onnx_loader {
    struct kiln_diag *d;
    const struct kiln_onnx_opts *opts; /* never NULL */
    const char *dir;                   /* the model's folder, for external data; NULL forbids it */
    struct kiln_graph *root;
    bool unsupported; /* an unsupported feature was reported: fail once all are found */
    struct onnx_mapped_file *files;
    int32_t *operands; /* scratch for kiln_graph_add_node (all -1) */
    size_t cap_operands;
};

/* Where a diagnostic points: a node, or the file when node is NULL. */
struct onnx_site {
    const char *node; /* ONNX node name ("" prints as node #id) */
    int32_t id;
    const char *op; /* ONNX op_type */
};

/* Whether n bytes can be addressed here (always on 64-bit hosts). */
static bool
onnx_fits_size(uint64_t n)
{
#if SIZE_MAX < UINT64_MAX
    return n <= SIZE_MAX;
#else
    (void)n;
    return true;
#endif
}

static const char *
str0(const char *s)
{
    return s ? s : "";
}

/* Unsupported features are collected rather than fatal, so that one run names them all. */
static bool
onnx_fatal(enum kiln_status st)
{
    return st != KILN_OK && st != KILN_ERR_UNSUPPORTED;
}

static enum kiln_status onnx_fail(struct onnx_loader *l, const struct onnx_site *s,
                                  enum kiln_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record an error at s (node-level) or file-level; returns st. */
static enum kiln_status
onnx_fail(struct onnx_loader *l, const struct onnx_site *s, enum kiln_status st, const char *fmt,
          ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s && s->node)
        kiln_diag_node(l->d, s->node, s->id, s->op, "%s", msg);
    else
        kiln_diag_error(l->d, "%s", msg);
    if (st == KILN_ERR_UNSUPPORTED)
        l->unsupported = true;
    return st;
}

static void onnx_warn(struct onnx_loader *l, const struct onnx_site *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A warning with the same prefix a node error gets, so both read alike. */
static void
onnx_warn(struct onnx_loader *l, const struct onnx_site *s, const char *fmt, ...)
{
    char prefix[512] = "";
    if (s && s->node && s->node[0])
        snprintf(prefix, sizeof prefix, " node '%.400s' (%s)", s->node, s->op);
    else if (s && s->node)
        snprintf(prefix, sizeof prefix, " node #%d (%s)", (int)s->id, s->op);
    va_list ap;
    va_start(ap, fmt);
    kiln_diag_vmsg(l->d, KILN_SEV_WARNING, prefix, fmt, ap);
    va_end(ap);
}

static enum kiln_status
onnx_nomem(struct onnx_loader *l)
{
    kiln_diag_error(l->d, "out of memory");
    return KILN_ERR_NOMEM;
}

/* "[2,3,4]" for diagnostics, cut short with "..." when it does not fit. */
static void
onnx_dims_format(const int64_t *dims, size_t n, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (size_t i = 0; i < n && k < len; i++) {
        if (k + 24 >= len) {
            snprintf(buf + k, len - k, "...");
            k = len;
            break;
        }
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? "," : "", (long long)dims[i]);
    }
    if (k < len)
        snprintf(buf + k, len - k, "]");
}

/* ---------------------------------------------------------------- dtypes */

/*
 * Map a TensorProto.DataType to a kiln dtype. `what` names the tensor or value
 * and `noun` the field ("data type", "element type") in the diagnostic. Zero
 * (UNDEFINED) is the caller's business: it means "not declared" in a type.
 */
static enum kiln_status
onnx_dtype(struct onnx_loader *l, const struct onnx_site *s, const char *what, const char *noun,
           int32_t onnx_id, enum kiln_dtype *out)
{
    enum kiln_dtype dt = onnx_id > 0 ? kiln_dtype_from_onnx(onnx_id) : KILN_DT_INVALID;
    if (dt != KILN_DT_INVALID) {
        *out = dt;
        return KILN_OK;
    }
    const char *name = onnx_id == ONNX_DT_STRING       ? "string"
                       : onnx_id == ONNX_DT_COMPLEX64  ? "complex64"
                       : onnx_id == ONNX_DT_COMPLEX128 ? "complex128"
                                                       : NULL;
    if (name)
        return onnx_fail(l, s, KILN_ERR_UNSUPPORTED, "%s has unsupported %s %s", what, noun, name);
    if (onnx_id == 0)
        return onnx_fail(l, s, KILN_ERR_INVALID, "%s has no %s", what, noun);
    return onnx_fail(l, s, KILN_ERR_INVALID, "%s has unknown %s %d", what, noun, (int)onnx_id);
}

/* ---------------------------------------------------------------- external data */

/* Parse a decimal offset or length of external_data; false unless all digits and in range. */
static bool
onnx_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s[0])
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
            return false;
    }
    *out = v;
    return true;
}

/* Whether a relative path has a ".." component (either separator counts: models
 * written on Windows use backslashes). */
static bool
onnx_path_climbs(const char *path)
{
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        if (*p)
            p++;
    }
    return false;
}

/* The mapping of the file open on fd, made (and given to the root graph) on first use. */
static enum kiln_status
onnx_map_file(struct onnx_loader *l, const struct onnx_site *s, const char *what,
              const char *location, int fd, const struct onnx_mapped_file **out)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return onnx_fail(l, s, KILN_ERR_IO, "%s: cannot read external data '%s': %s", what,
                         location, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return onnx_fail(l, s, KILN_ERR_IO, "%s: external data '%s' is not a regular file", what,
                         location);
    for (const struct onnx_mapped_file *f = l->files; f; f = f->next) {
        if (f->dev == st.st_dev && f->ino == st.st_ino) {
            *out = f;
            return KILN_OK;
        }
    }
    struct onnx_mapped_file *f = calloc(1, sizeof *f);
    if (!f)
        return onnx_nomem(l);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = (uint64_t)st.st_size;
    if (!onnx_fits_size(f->size)) {
        free(f);
        return onnx_fail(l, s, KILN_ERR_IO, "%s: external data '%s' is too large to map", what,
                         location);
    }
    if (f->size > 0) {
        void *addr = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (addr == MAP_FAILED) {
            free(f);
            return onnx_fail(l, s, KILN_ERR_IO, "%s: cannot map external data '%s': %s", what,
                             location, strerror(errno));
        }
        kiln_graph_add_mapping(l->root, addr, (size_t)f->size);
        f->addr = addr;
    }
    f->next = l->files;
    l->files = f;
    *out = f;
    return KILN_OK;
}

/*
 * Point *data at a tensor's external bytes: external_data's location (relative
 * to the model's folder, never absolute, never climbing out with ".."), offset
 * (default 0) and length (default: to the end of the file), checked against the
 * file and against the nbytes the tensor's shape needs.
 */
static enum kiln_status
onnx_external_data(struct onnx_loader *l, const struct onnx_site *s, const char *what,
                   const Onnx__TensorProto *tp, uint64_t nbytes, const void **data)
{
    if (!l->dir)
        return onnx_fail(l, s, KILN_ERR_INVALID,
                         "%s has external data, which needs the model's folder (load the model "
                         "from its file)",
                         what);
    const char *location = NULL, *offset_s = NULL, *length_s = NULL;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *key = str0(tp->external_data[i]->key);
        const char *value = str0(tp->external_data[i]->value);
        if (strcmp(key, "location") == 0)
            location = value;
        else if (strcmp(key, "offset") == 0)
            offset_s = value;
        else if (strcmp(key, "length") == 0)
            length_s = value;
        /* "checksum" and others are advisory: the bounds checks below are what matter */
    }
    if (!location || !location[0])
        return onnx_fail(l, s, KILN_ERR_INVALID, "%s has external data without a location", what);
    if (location[0] == '/' || location[0] == '\\')
        return onnx_fail(l, s, KILN_ERR_INVALID,
                         "%s: external data path '%s' is absolute; it must be relative to the "
                         "model's folder",
                         what, location);
    if (onnx_path_climbs(location))
        return onnx_fail(l, s, KILN_ERR_INVALID,
                         "%s: external data path '%s' leaves the model's folder", what, location);
    uint64_t offset = 0, length = 0;
    if (offset_s && !onnx_parse_u64(offset_s, &offset))
        return onnx_fail(l, s, KILN_ERR_INVALID, "%s: external data offset '%s' is not a number",
                         what, offset_s);
    if (length_s && !onnx_parse_u64(length_s, &length))
        return onnx_fail(l, s, KILN_ERR_INVALID, "%s: external data length '%s' is not a number",
                         what, length_s);

    size_t dir_len = strlen(l->dir), loc_len = strlen(location), path_len;
    if (!kiln_add_size(dir_len, loc_len, &path_len) || !kiln_add_size(path_len, 2, &path_len))
        return onnx_nomem(l);
    char *path = malloc(path_len);
    if (!path)
        return onnx_nomem(l);
    snprintf(path, path_len, "%s/%s", l->dir, location);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return onnx_fail(l, s, KILN_ERR_IO, "%s: cannot open external data '%s': %s", what,
                         location, strerror(errno));
    const struct onnx_mapped_file *f = NULL;
    enum kiln_status st = onnx_map_file(l, s, what, location, fd, &f);
    close(fd);
    if (st != KILN_OK)
        return st;

    uint64_t end;
    if (!length_s)
        length = offset <= f->size ? f->size - offset : 0;
    if (offset > f->size || __builtin_add_overflow(offset, length, &end) || end > f->size)
        return onnx_fail(l, s, KILN_ERR_INVALID,
                         "%s: external data '%s' (offset %llu, length %llu) runs past the end of "
                         "the file (%llu bytes)",
                         what, location, (unsigned long long)offset, (unsigned long long)length,
                         (unsigned long long)f->size);
    if (length != nbytes)
        return onnx_fail(l, s, KILN_ERR_INVALID,
                         "%s: external data '%s' holds %llu bytes but its shape needs %llu", what,
                         location, (unsigned long long)length, (unsigned long long)nbytes);
    if (nbytes == 0) {
        /* an empty tensor still gets non-NULL data: NULL means "elided" elsewhere */
        *data = kiln_arena_alloc(l->root->arena, 1);
        return *data ? KILN_OK : onnx_nomem(l);
    }
    *data = f->addr + offset;
    return KILN_OK;
}

/* ---------------------------------------------------------------- tensors */

/* Fill t->data from the typed field ONNX keeps t's dtype in (float_data, ...). */
static enum kiln_status
onnx_tensor_typed(struct onnx_loader *l, const struct onnx_site *s, const char *what,
                  const Onnx__TensorProto *tp, struct kiln_tensor *t, int64_t numel)
{
    struct field {
        const char *name;
        size_t n;
    } fields[] = {
        {"float_data", tp->n_float_data},   {"int32_data", tp->n_int32_data},
        {"int64_data", tp->n_int64_data},   {"double_data", tp->n_double_data},
        {"uint64_data", tp->n_uint64_data}, {"string_data", tp->n_string_data},
    };
    int want;
    switch (t->dtype) {
    case KILN_DT_F32:
        want = 0;
        break;
    case KILN_DT_I64:
        want = 2;
        break;
    case KILN_DT_F64:
        want = 3;
        break;
    case KILN_DT_U32:
    case KILN_DT_U64:
        want = 4;
        break;
    default: /* every other dtype, sub-byte ones packed a byte per entry */
        want = 1;
        break;
    }
    for (int i = 0; i < (int)(sizeof fields / sizeof fields[0]); i++)
        if (i != want && fields[i].n)
            return onnx_fail(l, s, KILN_ERR_INVALID, "%s is %s but has values in %s (expected %s)",
                             what, kiln_dtype_name(t->dtype), fields[i].name, fields[want].name);
    int bits = kiln_dtype_bits(t->dtype);
    /* ONNX packs sub-byte elements into bytes and stores one byte per int32_data entry */
    uint64_t entries = bits >= 8 ? (uint64_t)numel : t->nbytes;
    size_t have = fields[want].n;
    char dims[128];
    onnx_dims_format(t->dims, (size_t)t->rank, dims, sizeof dims);
    if (have == 0 && entries > 0)
        return onnx_fail(l, s, KILN_ERR_INVALID, "%s has no data for its %lld elements (shape %s)",
                         what, (long long)numel, dims);
    if (have != entries) {
        if (bits < 8)
            return onnx_fail(l, s, KILN_ERR_INVALID,
                             "%s: %s holds %zu entries but the %lld %s elements of shape %s pack "
                             "into %llu",
                             what, fields[want].name, have, (long long)numel,
                             kiln_dtype_name(t->dtype), dims, (unsigned long long)entries);
        return onnx_fail(l, s, KILN_ERR_INVALID,
                         "%s: %s holds %zu values but its shape %s has %lld elements", what,
                         fields[want].name, have, dims, (long long)numel);
    }
    unsigned char *p = kiln_arena_alloc(l->root->arena, t->nbytes ? (size_t)t->nbytes : 1);
    if (!p)
        return onnx_nomem(l);
    if (have == 0) {
        t->data = p; /* an empty tensor: its typed field may be NULL */
        return KILN_OK;
    }
    switch (t->dtype) {
    case KILN_DT_F32:
        memcpy(p, tp->float_data, (size_t)t->nbytes);
        break;
    case KILN_DT_I64:
        memcpy(p, tp->int64_data, (size_t)t->nbytes);
        break;
    case KILN_DT_F64:
        memcpy(p, tp->double_data, (size_t)t->nbytes);
        break;
    case KILN_DT_U64:
        memcpy(p, tp->uint64_data, (size_t)t->nbytes);
        break;
    case KILN_DT_U32:
        for (size_t i = 0; i < have; i++) {
            uint32_t v = (uint32_t)tp->uint64_data[i];
            memcpy(p + i * 4, &v, 4);
        }
        break;
    default: {
        /* the low bytes of each entry, little-endian: f16/bf16/f8 bit patterns and
         * narrow integers alike */
        size_t esz = bits >= 8 ? (size_t)bits / 8 : 1;
        for (size_t i = 0; i < have; i++) {
            uint32_t v = (uint32_t)tp->int32_data[i];
            memcpy(p + i * esz, &v, esz);
        }
        break;
    }
    }
    t->data = p;
    return KILN_OK;
}

/*
 * Convert a TensorProto (an initializer, or a tensor attribute) into a tensor in
 * the root arena. `what` names it in diagnostics ("initializer 'w'").
 */
static enum kiln_status
onnx_tensor_convert(struct onnx_loader *l, const struct onnx_site *s, const char *what,
                    const Onnx__TensorProto *tp, struct kiln_tensor **out)
{
    struct kiln_arena *a = l->root->arena;
    enum kiln_dtype dt;
    enum kiln_status st =
        onnx_dtype(l, s, what, "data type", tp->has_data_type ? tp->data_type : 0, &dt);
    if (st != KILN_OK)
        return st;
    if (tp->n_dims > KILN_MAX_RANK)
        return onnx_fail(l, s, KILN_ERR_INVALID, "%s has rank %zu; kiln supports at most %d", what,
                         tp->n_dims, KILN_MAX_RANK);
    char dims[128];
    onnx_dims_format(tp->dims, tp->n_dims, dims, sizeof dims);
    int64_t numel = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return onnx_fail(l, s, KILN_ERR_INVALID, "%s has a negative dim (%lld at axis %zu)",
                             what, (long long)tp->dims[i], i);
        if (!kiln_mul_i64(numel, tp->dims[i], &numel))
            return onnx_fail(l, s, KILN_ERR_INVALID,
                             "%s has shape %s, whose element count overflows 64 bits", what, dims);
    }
    uint64_t nbytes;
    if (!kiln_dtype_storage_bytes(dt, numel, &nbytes) || !onnx_fits_size(nbytes))
        return onnx_fail(l, s, KILN_ERR_INVALID,
                         "%s has shape %s, whose size in bytes overflows 64 bits", what, dims);
    if (tp->segment)
        return onnx_fail(l, s, KILN_ERR_UNSUPPORTED,
                         "%s is a segment of a larger tensor, which is unsupported", what);

    struct kiln_tensor *t = kiln_arena_alloc(a, sizeof *t);
    int64_t *tdims = kiln_arena_array(a, tp->n_dims ? tp->n_dims : 1, sizeof *tdims);
    if (!t || !tdims)
        return onnx_nomem(l);
    if (tp->n_dims)
        memcpy(tdims, tp->dims, tp->n_dims * sizeof *tdims);
    t->dtype = dt;
    t->rank = (int)tp->n_dims;
    t->dims = tdims;
    t->nbytes = nbytes;

    size_t n_typed = tp->n_float_data + tp->n_int32_data + tp->n_int64_data + tp->n_double_data +
                     tp->n_uint64_data + tp->n_string_data;
    if (tp->has_data_location && tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT &&
        tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return onnx_fail(l, s, KILN_ERR_INVALID, "%s has unknown data_location %d", what,
                         (int)tp->data_location);
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if (tp->has_raw_data || n_typed)
            return onnx_fail(l, s, KILN_ERR_INVALID, "%s has external data and inline data too",
                             what);
        st = onnx_external_data(l, s, what, tp, nbytes, &t->data);
    } else if (tp->has_raw_data) {
        if (n_typed)
            return onnx_fail(l, s, KILN_ERR_INVALID, "%s has both raw_data and typed data", what);
        if (tp->raw_data.len != nbytes)
            return onnx_fail(l, s, KILN_ERR_INVALID,
                             "%s: raw_data holds %zu bytes but its shape %s of %s needs %llu", what,
                             tp->raw_data.len, dims, kiln_dtype_name(dt),
                             (unsigned long long)nbytes);
        t->data = kiln_arena_memdup(a, tp->raw_data.data, (size_t)nbytes);
        st = t->data ? KILN_OK : onnx_nomem(l);
    } else {
        st = onnx_tensor_typed(l, s, what, tp, t, numel);
    }
    if (st != KILN_OK)
        return st;
    *out = t;
    return KILN_OK;
}

/* ---------------------------------------------------------------- types */

/*
 * Convert a declared type (ValueInfoProto.type). No type, or a tensor type with
 * no element type, leaves t->dtype INVALID ("not declared"); no shape leaves the
 * rank unknown. Only tensor types are supported.
 */
static enum kiln_status
onnx_type_convert(struct onnx_loader *l, struct kiln_graph *g, const char *what,
                  const Onnx__TypeProto *tp, struct kiln_type *t, const char *input)
{
    t->dtype = KILN_DT_INVALID;
    t->rank = -1;
    t->dims = NULL;
    if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET)
        return KILN_OK;
    const char *kind = NULL;
    switch (tp->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
        break;
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
        kind = "sequence";
        break;
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
        kind = "map";
        break;
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
        kind = "optional";
        break;
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
        kind = "sparse_tensor";
        break;
    default:
        kind = "unknown";
        break;
    }
    if (kind)
        return onnx_fail(l, NULL, KILN_ERR_UNSUPPORTED,
                         "%s has unsupported type %s (kiln supports tensors only)", what, kind);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt)
        return KILN_OK;
    enum kiln_dtype dt = KILN_DT_INVALID;
    if (tt->has_elem_type && tt->elem_type != 0) {
        enum kiln_status st = onnx_dtype(l, NULL, what, "element type", tt->elem_type, &dt);
        if (st != KILN_OK)
            return st;
    }
    if (!tt->shape) {
        t->dtype = dt;
        return KILN_OK;
    }
    const Onnx__TensorShapeProto *sh = tt->shape;
    if (sh->n_dim > KILN_MAX_RANK)
        return onnx_fail(l, NULL, KILN_ERR_INVALID, "%s has rank %zu; kiln supports at most %d",
                         what, sh->n_dim, KILN_MAX_RANK);
    struct kiln_dim *dims = kiln_arena_array(g->arena, sh->n_dim ? sh->n_dim : 1, sizeof *dims);
    if (!dims)
        return onnx_nomem(l);
    for (size_t i = 0; i < sh->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = sh->dim[i];
        bool has_value = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        bool named = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                     dim->dim_param && dim->dim_param[0] && strcmp(dim->dim_param, "?") != 0;
        if (has_value && dim->dim_value >= 0) {
            dims[i] = kiln_dim_const(dim->dim_value);
        } else if (!named && input) {
            /* -1, '?', an empty or absent dim of a model input: a size chosen
             * at run time, as ONNX Runtime reads it, named INPUT:AXIS so that
             * --dim can bind it */
            char nm[512];
            snprintf(nm, sizeof nm, "%.400s:%zu", input, i);
            if (strchr(nm, KILN_DIM_SEP))
                return onnx_fail(l, NULL, KILN_ERR_UNSUPPORTED,
                                 "%s has a name that contains the byte 0x1f, which kiln "
                                 "reserves to join the factors of symbolic dims",
                                 what);
            dims[i] = kiln_dim_sym(kiln_graph_intern(g, nm));
        } else if (has_value) {
            dims[i] = kiln_dim_unknown(); /* a declared -1 says "not known" */
        } else if (named) {
            /* the separator of a monomial's factors cannot be part of a base symbol */
            if (strchr(dim->dim_param, KILN_DIM_SEP))
                return onnx_fail(l, NULL, KILN_ERR_UNSUPPORTED,
                                 "%s has a dim_param at axis %zu that contains the byte 0x1f, "
                                 "which kiln reserves to join the factors of symbolic dims",
                                 what, i);
            dims[i] = kiln_dim_sym(kiln_graph_intern(g, dim->dim_param));
        } else {
            dims[i] = kiln_dim_unknown(); /* neither, or an empty dim_param: no name */
        }
    }
    t->dtype = dt;
    t->rank = (int)sh->n_dim;
    t->dims = dims;
    return KILN_OK;
}

/* ---------------------------------------------------------------- opsets and ops */

static bool
onnx_domain_is_default(const char *domain)
{
    return !domain[0] || strcmp(domain, "ai.onnx") == 0;
}

/* The version the model imports for domain ("" and "ai.onnx" alike), 0 if none. */
static int64_t
onnx_domain_version(const struct kiln_graph *root, const char *domain)
{
    bool def = onnx_domain_is_default(domain);
    for (int32_t i = 0; i < root->n_opsets; i++) {
        const char *dm = root->opsets[i].domain;
        if (def ? onnx_domain_is_default(dm) : strcmp(dm, domain) == 0)
            return root->opsets[i].version;
    }
    return 0;
}

/* Models import a handful of domains; the lookups by domain are linear, so a
 * hostile list of millions is refused rather than searched. */
#define ONNX_MAX_OPSET_IMPORTS 1024

static enum kiln_status
onnx_model_opsets(struct onnx_loader *l, const Onnx__ModelProto *m)
{
    struct kiln_graph *g = l->root;
    if (m->n_opset_import > ONNX_MAX_OPSET_IMPORTS)
        return onnx_fail(l, NULL, KILN_ERR_UNSUPPORTED,
                         "the model has %zu opset imports; kiln accepts at most %d",
                         m->n_opset_import, ONNX_MAX_OPSET_IMPORTS);
    /* one spare slot for the implied ai.onnx 1 of models older than opset imports */
    g->opsets = kiln_arena_array(g->arena, m->n_opset_import + 1, sizeof *g->opsets);
    if (!g->opsets)
        return onnx_nomem(l);
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *op = m->opset_import[i];
        const char *domain = str0(op->domain);
        if (!op->has_version || op->version < 1)
            return onnx_fail(l, NULL, KILN_ERR_INVALID,
                             "the model's import of domain '%s' has no valid version",
                             onnx_domain_is_default(domain) ? "ai.onnx" : domain);
        int64_t seen = onnx_domain_version(g, domain);
        if (seen == op->version)
            continue; /* a repeat, as model-merging tools leave behind: harmless */
        if (seen != 0)
            return onnx_fail(l, NULL, KILN_ERR_INVALID,
                             "the model imports domain '%s' twice, as versions %lld and %lld",
                             onnx_domain_is_default(domain) ? "ai.onnx" : domain, (long long)seen,
                             (long long)op->version);
        bool def = onnx_domain_is_default(domain), ml = strcmp(domain, "ai.onnx.ml") == 0;
        int64_t newest = def ? KILN_OPSET_ONNX_MAX : ml ? KILN_OPSET_ML_MAX : 0;
        if (newest && op->version > newest) {
            const char *name = def ? "ai.onnx" : domain;
            if (!l->opts->allow_newer_opset)
                return onnx_fail(l, NULL, KILN_ERR_UNSUPPORTED,
                                 "the model imports domain '%s' version %lld; the newest kiln "
                                 "supports is %lld (--allow-newer-opset reads its ops as "
                                 "version %lld's)",
                                 name, (long long)op->version, (long long)newest,
                                 (long long)newest);
            onnx_warn(l, NULL,
                      "the model imports domain '%s' version %lld, newer than the newest kiln "
                      "supports (%lld); its ops are read as version %lld's",
                      name, (long long)op->version, (long long)newest, (long long)newest);
        }
        g->opsets[g->n_opsets].domain = kiln_graph_intern(g, domain);
        g->opsets[g->n_opsets].version = op->version;
        g->n_opsets++;
        if (def)
            g->opset = op->version;
        else if (ml)
            g->opset_ml = op->version;
    }
    if (!g->opset && g->ir_version < 3) {
        /* IR versions 1 and 2 predate opset_import; their operators are opset 1 */
        g->opsets[g->n_opsets].domain = kiln_graph_intern(g, "");
        g->opsets[g->n_opsets].version = 1;
        g->n_opsets++;
        g->opset = 1;
    }
    return KILN_OK;
}

/*
 * The kiln op of a node. An op kiln does not know (in any domain but ai.onnx and
 * ai.onnx.ml, always) is reported and *known set false; the caller goes on.
 */
static enum kiln_status
onnx_node_op(struct onnx_loader *l, const Onnx__NodeProto *np, int32_t id, enum kiln_op *op,
             bool *known)
{
    const char *type = str0(np->op_type), *domain = str0(np->domain);
    struct onnx_site s = {str0(np->name), id, type[0] ? type : "?"};
    *known = false;
    if (!type[0])
        return onnx_fail(l, &s, KILN_ERR_INVALID, "node has no op_type");
    bool def = onnx_domain_is_default(domain);
    int64_t version = onnx_domain_version(l->root, domain);
    if (def && version == 0)
        return onnx_fail(l, &s, KILN_ERR_INVALID,
                         "node uses domain 'ai.onnx', which the model does not import");
    enum kiln_domain kd = KILN_DOMAIN_ONNX;
    if (def || strcmp(domain, "ai.onnx.ml") == 0 || strcmp(domain, "com.microsoft") == 0) {
        kd = def                                 ? KILN_DOMAIN_ONNX
             : strcmp(domain, "ai.onnx.ml") == 0 ? KILN_DOMAIN_ML
                                                 : KILN_DOMAIN_MS;
        *known = kiln_op_lookup(kd, type, op);
    }
    if (!*known)
        onnx_fail(l, &s, KILN_ERR_UNSUPPORTED, "unsupported op '%s' (domain '%s', opset %lld)",
                  type, def ? "ai.onnx" : domain, (long long)version);
    return KILN_OK;
}

/* Report the unsupported ops inside the sub-graphs of a node kiln does not know
 * (it is not built, but its sub-graphs' ops belong in the one-run report). */
static enum kiln_status
onnx_scan_ops(struct onnx_loader *l, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        enum kiln_op op;
        bool known;
        enum kiln_status st = onnx_node_op(l, np, (int32_t)i, &op, &known);
        if (st != KILN_OK)
            return st;
        for (size_t k = 0; k < np->n_attribute; k++) {
            const Onnx__AttributeProto *ap = np->attribute[k];
            if (ap->g && (st = onnx_scan_ops(l, ap->g)) != KILN_OK)
                return st;
            for (size_t j = 0; j < ap->n_graphs; j++)
                if ((st = onnx_scan_ops(l, ap->graphs[j])) != KILN_OK)
                    return st;
        }
    }
    return KILN_OK;
}

/* ---------------------------------------------------------------- attributes */

static enum kiln_status onnx_graph_build(struct onnx_loader *l, struct kiln_graph *g,
                                         const Onnx__GraphProto *gp, int depth);

/* The kind of an attribute; old models (IR 1) leave `type` unset, so then the
 * field that holds a value decides. */
static enum kiln_status
onnx_attr_kind(struct onnx_loader *l, const struct onnx_site *s, const Onnx__AttributeProto *ap,
               enum kiln_attr_kind *kind)
{
    const char *name = str0(ap->name);
    int type = ap->has_type ? (int)ap->type : 0;
    if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) {
        type = ap->has_f              ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
               : ap->has_i            ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
               : ap->has_s            ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING
               : ap->t                ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
               : ap->g                ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH
               : ap->sparse_tensor    ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR
               : ap->tp               ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO
               : ap->n_floats         ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
               : ap->n_ints           ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
               : ap->n_strings        ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS
               : ap->n_tensors        ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS
               : ap->n_graphs         ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS
               : ap->n_sparse_tensors ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS
               : ap->n_type_protos    ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS
                                      : 0;
    }
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        *kind = KILN_ATTR_FLOAT;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        *kind = KILN_ATTR_INT;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        *kind = KILN_ATTR_STRING;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        *kind = KILN_ATTR_TENSOR;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
        *kind = KILN_ATTR_GRAPH;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        *kind = KILN_ATTR_FLOATS;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        *kind = KILN_ATTR_INTS;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
        *kind = KILN_ATTR_STRINGS;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS:
        *kind = KILN_ATTR_TENSORS;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
        *kind = KILN_ATTR_GRAPHS;
        return KILN_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: {
        /* named as onnx.proto's AttributeType spells them */
        const char *tn =
            type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR    ? "SPARSE_TENSOR"
            : type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS ? "SPARSE_TENSORS"
            : type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO     ? "TYPE_PROTO"
                                                                            : "TYPE_PROTOS";
        return onnx_fail(l, s, KILN_ERR_UNSUPPORTED, "attribute '%s' has unsupported type %s", name,
                         tn);
    }
    case 0:
        return onnx_fail(l, s, KILN_ERR_INVALID, "attribute '%s' has no type and no value", name);
    default:
        return onnx_fail(l, s, KILN_ERR_INVALID, "attribute '%s' has unknown type %d", name, type);
    }
}

/* Check a kind against the op's schema (op_attrs.def): the wrong kind is an
 * error, an attribute the schema does not list a warning (it is kept). */
static enum kiln_status
onnx_attr_check(struct onnx_loader *l, const struct onnx_site *s, enum kiln_op op, const char *name,
                enum kiln_attr_kind kind)
{
    if (kiln_op_info(op)->domain != KILN_DOMAIN_ONNX)
        return KILN_OK; /* op_attrs.def lists ai.onnx ops only */
    unsigned kinds = kiln_op_attr_kinds(op, name);
    if (!kinds) {
        onnx_warn(l, s, "unknown attribute '%s' (kept)", name);
        return KILN_OK;
    }
    if (kinds & (1u << kind))
        return KILN_OK;
    char want[160] = "";
    size_t k = 0;
    for (int i = 0; i < KILN_ATTR_COUNT && k < sizeof want; i++)
        if (kinds & (1u << i))
            k += (size_t)snprintf(want + k, sizeof want - k, "%s%s", k ? " or " : "",
                                  kiln_attr_kind_name((enum kiln_attr_kind)i));
    return onnx_fail(l, s, KILN_ERR_INVALID, "attribute '%s' is of kind %s, but %s takes %s", name,
                     kiln_attr_kind_name(kind), kiln_op_name(op), want);
}

static enum kiln_status
onnx_subgraph_build(struct onnx_loader *l, struct kiln_graph *parent, const char *attr_name,
                    const Onnx__GraphProto *gp, int depth, struct kiln_graph **out)
{
    if (depth > KILN_ONNX_MAX_DEPTH) /* the wire check refuses this first */
        return onnx_fail(l, NULL, KILN_ERR_UNSUPPORTED, "graphs nest deeper than %d levels",
                         KILN_ONNX_MAX_DEPTH);
    struct kiln_graph *sg =
        kiln_graph_new_sub(parent, gp->name && gp->name[0] ? gp->name : attr_name);
    *out = sg;
    return onnx_graph_build(l, sg, gp, depth);
}

/* Convert an attribute's value (its kind already checked) into a. */
static enum kiln_status
onnx_attr_value(struct onnx_loader *l, struct kiln_graph *g, const struct onnx_site *s,
                const Onnx__AttributeProto *ap, enum kiln_attr_kind kind, int depth,
                struct kiln_attr *a)
{
    struct kiln_arena *ar = g->arena;
    const char *name = str0(ap->name);
    char what[512];
    snprintf(what, sizeof what, "attribute '%.400s'", name);
    a->name = kiln_graph_intern(g, name);
    a->kind = kind;
    enum kiln_status st = KILN_OK;
    switch (kind) {
    case KILN_ATTR_INT:
        a->i = ap->i;
        break;
    case KILN_ATTR_FLOAT:
        a->f = ap->f;
        break;
    case KILN_ATTR_STRING:
        /* bytes, NUL-terminated with the exact length kept */
        a->s = kiln_graph_intern_n(g, ap->s.data ? (const char *)ap->s.data : "", ap->s.len);
        a->s_len = ap->s.len;
        break;
    case KILN_ATTR_TENSOR:
        if (!ap->t)
            return onnx_fail(l, s, KILN_ERR_INVALID, "%s has no tensor", what);
        st = onnx_tensor_convert(l, s, what, ap->t, &a->t);
        break;
    case KILN_ATTR_GRAPH:
        if (!ap->g)
            return onnx_fail(l, s, KILN_ERR_INVALID, "%s has no graph", what);
        st = onnx_subgraph_build(l, g, name, ap->g, depth + 1, &a->g);
        break;
    case KILN_ATTR_INTS:
        a->n = (int64_t)ap->n_ints;
        a->ints = kiln_arena_array(ar, ap->n_ints ? ap->n_ints : 1, sizeof *a->ints);
        if (!a->ints)
            return onnx_nomem(l);
        if (ap->n_ints)
            memcpy(a->ints, ap->ints, ap->n_ints * sizeof *a->ints);
        break;
    case KILN_ATTR_FLOATS:
        a->n = (int64_t)ap->n_floats;
        a->floats = kiln_arena_array(ar, ap->n_floats ? ap->n_floats : 1, sizeof *a->floats);
        if (!a->floats)
            return onnx_nomem(l);
        if (ap->n_floats)
            memcpy(a->floats, ap->floats, ap->n_floats * sizeof *a->floats);
        break;
    case KILN_ATTR_STRINGS:
        a->n = (int64_t)ap->n_strings;
        a->strings = kiln_arena_array(ar, ap->n_strings ? ap->n_strings : 1, sizeof *a->strings);
        if (!a->strings)
            return onnx_nomem(l);
        for (size_t i = 0; i < ap->n_strings; i++)
            a->strings[i] =
                kiln_graph_intern_n(g, ap->strings[i].data ? (const char *)ap->strings[i].data : "",
                                    ap->strings[i].len);
        break;
    case KILN_ATTR_TENSORS:
        a->n = (int64_t)ap->n_tensors;
        a->tensors = kiln_arena_array(ar, ap->n_tensors ? ap->n_tensors : 1, sizeof *a->tensors);
        if (!a->tensors)
            return onnx_nomem(l);
        for (size_t i = 0; i < ap->n_tensors && st == KILN_OK; i++) {
            char what_i[600];
            snprintf(what_i, sizeof what_i, "%s (tensor #%zu)", what, i);
            st = onnx_tensor_convert(l, s, what_i, ap->tensors[i], &a->tensors[i]);
        }
        break;
    case KILN_ATTR_GRAPHS:
        a->n = (int64_t)ap->n_graphs;
        a->graphs = kiln_arena_array(ar, ap->n_graphs ? ap->n_graphs : 1, sizeof *a->graphs);
        if (!a->graphs)
            return onnx_nomem(l);
        for (size_t i = 0; i < ap->n_graphs && !onnx_fatal(st); i++)
            st = onnx_subgraph_build(l, g, name, ap->graphs[i], depth + 1, &a->graphs[i]);
        break;
    case KILN_ATTR_COUNT:
        KILN_ASSERT(!"not a kind");
    }
    return st;
}

/* Convert one attribute of node n into a (set on the node by the caller). */
static enum kiln_status
onnx_node_attr(struct onnx_loader *l, struct kiln_graph *g, const struct kiln_node *n,
               const struct onnx_site *s, const Onnx__AttributeProto *ap, int depth,
               struct kiln_attr *a)
{
    const char *name = str0(ap->name);
    if (ap->ref_attr_name && ap->ref_attr_name[0])
        return onnx_fail(l, s, KILN_ERR_INVALID,
                         "attribute '%s' refers to function attribute '%s', which only a "
                         "function body may do",
                         name, ap->ref_attr_name);
    enum kiln_attr_kind kind;
    enum kiln_status st = onnx_attr_kind(l, s, ap, &kind);
    if (st == KILN_OK)
        st = onnx_attr_check(l, s, n->op, name, kind);
    if (st == KILN_OK)
        st = onnx_attr_value(l, g, s, ap, kind, depth, a);
    return st;
}

static int
onnx_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Convert a node's attributes and give them to it sorted, all at once: setting
 * them one by one (kiln_node_set_attr) copies the array each time, which a node
 * with very many attributes would make quadratic.
 */
static enum kiln_status
onnx_node_attrs(struct onnx_loader *l, struct kiln_graph *g, struct kiln_node *n,
                const struct onnx_site *s, const Onnx__NodeProto *np, int depth)
{
    size_t count = np->n_attribute;
    if (!count)
        return KILN_OK;
    /* names first, sorted, so that a repeat is found before anything is converted */
    const char **names = malloc(count * sizeof *names);
    if (!names)
        return onnx_nomem(l);
    for (size_t i = 0; i < count; i++)
        names[i] = str0(np->attribute[i]->name);
    qsort(names, count, sizeof *names, onnx_name_cmp);
    enum kiln_status st = KILN_OK;
    if (!names[0][0])
        st = onnx_fail(l, s, KILN_ERR_INVALID, "an attribute has no name");
    for (size_t i = 1; i < count && st == KILN_OK; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            st = onnx_fail(l, s, KILN_ERR_INVALID, "attribute '%s' is given more than once",
                           names[i]);
    free(names);
    if (st != KILN_OK)
        return st;
    struct kiln_attr *attrs = kiln_arena_array(g->arena, count, sizeof *attrs);
    if (!attrs)
        return onnx_nomem(l);
    int32_t n_attrs = 0;
    for (size_t i = 0; i < count && !onnx_fatal(st); i++) {
        enum kiln_status ast = onnx_node_attr(l, g, n, s, np->attribute[i], depth, &attrs[n_attrs]);
        if (ast == KILN_OK)
            n_attrs++;
        else
            st = ast; /* unsupported ones are left out; the load fails at the end */
    }
    if (onnx_fatal(st))
        return st;
    const char *dup = kiln_node_set_attrs(n, attrs, n_attrs);
    KILN_ASSERT(!dup); /* names were checked unique above */
    return KILN_OK;
}

/* ---------------------------------------------------------------- nodes */

/*
 * Define `name` as a value nothing produces, standing in for the output of
 * something unsupported, so that later uses still resolve while the loader goes
 * on collecting unsupported features. Such a graph is never handed out.
 */
static enum kiln_status
onnx_placeholder(struct onnx_loader *l, struct kiln_graph *g, const struct onnx_site *s,
                 const char *name)
{
    if (!name[0] || kiln_graph_add_value(g, name, KILN_VALUE_NODE) >= 0)
        return KILN_OK;
    return onnx_fail(l, s, KILN_ERR_INVALID, "value '%s' is defined more than once", name);
}

/* The attributes Constant takes for its one value, each with the kind it must
 * have; kept here rather than read from op_attrs.def because the conversion below
 * depends on exactly these (and the schema there leaves sparse_value out). */
static const struct {
    const char *name;
    int kind; /* enum kiln_attr_kind; -1: a sparse tensor, which kiln does not read */
} onnx_constant_values[] = {
    {"value", KILN_ATTR_TENSOR},          {"value_float", KILN_ATTR_FLOAT},
    {"value_floats", KILN_ATTR_FLOATS},   {"value_int", KILN_ATTR_INT},
    {"value_ints", KILN_ATTR_INTS},       {"value_string", KILN_ATTR_STRING},
    {"value_strings", KILN_ATTR_STRINGS}, {"sparse_value", -1},
};

/* A scalar (rank 0) or 1-D tensor of n elements of size esz copied from p. */
static struct kiln_tensor *
onnx_tensor_small(struct kiln_graph *g, enum kiln_dtype dt, int rank, int64_t n, const void *p,
                  size_t esz)
{
    struct kiln_tensor *t = kiln_arena_alloc(g->arena, sizeof *t);
    int64_t *dims = kiln_arena_alloc(g->arena, sizeof *dims);
    unsigned char *data = kiln_arena_array(g->arena, n ? (size_t)n : 1, esz);
    if (!t || !dims || !data)
        return NULL;
    dims[0] = n;
    if (n)
        memcpy(data, p, (size_t)n * esz);
    t->dtype = dt;
    t->rank = rank;
    t->dims = dims;
    t->nbytes = (uint64_t)n * esz;
    t->data = data;
    return t;
}

/* A Constant node becomes a constant value named like its output. */
static enum kiln_status
onnx_constant_build(struct onnx_loader *l, struct kiln_graph *g, const Onnx__NodeProto *np,
                    int32_t id)
{
    struct onnx_site s = {str0(np->name), id, "Constant"};
    if (np->n_input)
        return onnx_fail(l, &s, KILN_ERR_INVALID, "Constant takes no inputs; this one has %zu",
                         np->n_input);
    if (np->n_output != 1)
        return onnx_fail(l, &s, KILN_ERR_INVALID,
                         "Constant has %zu outputs; it must have exactly 1", np->n_output);
    const char *out = str0(np->output[0]);
    const Onnx__AttributeProto *val = NULL;
    enum kiln_attr_kind val_kind = KILN_ATTR_INT;
    int n_val = 0;
    enum kiln_status st = KILN_OK;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *ap = np->attribute[i];
        const char *name = str0(ap->name);
        size_t k = 0, n_names = sizeof onnx_constant_values / sizeof onnx_constant_values[0];
        while (k < n_names && strcmp(name, onnx_constant_values[k].name) != 0)
            k++;
        if (k == n_names) {
            onnx_warn(l, &s, "unknown attribute '%s' (ignored)", name);
            continue;
        }
        n_val++;
        enum kiln_attr_kind kind;
        enum kiln_status ast = onnx_attr_kind(l, &s, ap, &kind);
        if (ast == KILN_OK && onnx_constant_values[k].kind < 0)
            ast = onnx_fail(l, &s, KILN_ERR_UNSUPPORTED,
                            "attribute '%s': sparse constants are unsupported", name);
        else if (ast == KILN_OK && (int)kind != onnx_constant_values[k].kind)
            ast = onnx_fail(l, &s, KILN_ERR_INVALID,
                            "attribute '%s' is of kind %s, but Constant takes %s", name,
                            kiln_attr_kind_name(kind),
                            kiln_attr_kind_name((enum kiln_attr_kind)onnx_constant_values[k].kind));
        if (onnx_fatal(ast))
            return ast;
        if (ast != KILN_OK)
            st = ast;
        val = ap;
        val_kind = kind;
    }
    if (st == KILN_OK && n_val != 1)
        return onnx_fail(l, &s, KILN_ERR_INVALID,
                         "Constant needs exactly one value attribute; it has %d", n_val);
    const char *vname = val ? str0(val->name) : "";
    if (st == KILN_OK && strncmp(vname, "value_string", 12) == 0)
        st = onnx_fail(l, &s, KILN_ERR_UNSUPPORTED,
                       "attribute '%s': string constants are unsupported", vname);
    if (st != KILN_OK) /* unsupported: its output still needs a name */
        return onnx_placeholder(l, g, &s, out);

    struct kiln_tensor *t = NULL;
    switch (val_kind) {
    case KILN_ATTR_TENSOR: {
        if (!val->t)
            return onnx_fail(l, &s, KILN_ERR_INVALID, "attribute 'value' has no tensor");
        st = onnx_tensor_convert(l, &s, "attribute 'value'", val->t, &t);
        if (st == KILN_ERR_UNSUPPORTED)
            return onnx_placeholder(l, g, &s, out);
        if (st != KILN_OK)
            return st;
        break;
    }
    case KILN_ATTR_FLOAT:
        t = onnx_tensor_small(g, KILN_DT_F32, 0, 1, &val->f, sizeof val->f);
        break;
    case KILN_ATTR_FLOATS:
        t = onnx_tensor_small(g, KILN_DT_F32, 1, (int64_t)val->n_floats, val->floats,
                              sizeof(float));
        break;
    case KILN_ATTR_INT:
        t = onnx_tensor_small(g, KILN_DT_I64, 0, 1, &val->i, sizeof val->i);
        break;
    case KILN_ATTR_INTS:
        t = onnx_tensor_small(g, KILN_DT_I64, 1, (int64_t)val->n_ints, val->ints, sizeof(int64_t));
        break;
    default:
        KILN_ASSERT(!"kind checked against the Constant schema");
    }
    if (!t)
        return onnx_nomem(l);
    if (!out[0])
        return KILN_OK; /* an absent output: nothing can use it */
    if (kiln_graph_add_const(g, out, t) < 0)
        return onnx_fail(l, &s, KILN_ERR_INVALID, "value '%s' is defined more than once", out);
    return KILN_OK;
}

/* ---------------------------------------------------------------- graphs */

/* Attach an initializer as the default of graph input v, checking it fits the
 * declared type (which may be more general: the input stays overridable). */
static enum kiln_status
onnx_input_default(struct onnx_loader *l, struct kiln_value *v, struct kiln_tensor *t)
{
    struct kiln_type *ty = &v->type;
    if (ty->dtype == KILN_DT_INVALID) {
        ty->dtype = t->dtype;
        ty->rank = t->rank;
        ty->dims =
            kiln_arena_array(l->root->arena, t->rank ? (size_t)t->rank : 1, sizeof *ty->dims);
        if (!ty->dims)
            return onnx_nomem(l);
        for (int i = 0; i < t->rank; i++)
            ty->dims[i] = kiln_dim_const(t->dims[i]);
    } else if (ty->dtype != t->dtype) {
        return onnx_fail(l, NULL, KILN_ERR_INVALID,
                         "graph input '%s' is declared %s but its initializer holds %s", v->name,
                         kiln_dtype_name(ty->dtype), kiln_dtype_name(t->dtype));
    } else if (ty->rank >= 0 && ty->rank != t->rank) {
        return onnx_fail(l, NULL, KILN_ERR_INVALID,
                         "graph input '%s' is declared with rank %d but its initializer has "
                         "rank %d",
                         v->name, ty->rank, t->rank);
    } else {
        for (int i = 0; i < ty->rank; i++)
            if (kiln_dim_is_const(ty->dims[i]) && ty->dims[i].n != t->dims[i])
                return onnx_fail(l, NULL, KILN_ERR_INVALID,
                                 "graph input '%s' is declared with dim %lld at axis %d but its "
                                 "initializer has %lld",
                                 v->name, (long long)ty->dims[i].n, i, (long long)t->dims[i]);
    }
    v->data = t;
    return KILN_OK;
}

static enum kiln_status
onnx_graph_inputs(struct onnx_loader *l, struct kiln_graph *g, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = str0(vi->name);
        if (!name[0])
            return onnx_fail(l, NULL, KILN_ERR_INVALID, "graph '%s': input #%zu has no name",
                             g->name, i);
        int32_t id = kiln_graph_add_input(g, name);
        if (id < 0)
            return onnx_fail(l, NULL, KILN_ERR_INVALID,
                             "graph '%s': input '%s' is defined more than once", g->name, name);
        char what[512];
        snprintf(what, sizeof what, "graph input '%.400s'", name);
        enum kiln_status st = onnx_type_convert(l, g, what, vi->type, &g->values[id]->type,
                                                g == l->root ? name : NULL);
        if (onnx_fatal(st))
            return st;
    }
    return KILN_OK;
}

static enum kiln_status
onnx_graph_initializers(struct onnx_loader *l, struct kiln_graph *g, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = str0(tp->name);
        if (!name[0])
            return onnx_fail(l, NULL, KILN_ERR_INVALID, "graph '%s': initializer #%zu has no name",
                             g->name, i);
        char what[512];
        snprintf(what, sizeof what, "initializer '%.400s'", name);
        struct kiln_tensor *t = NULL;
        enum kiln_status st = onnx_tensor_convert(l, NULL, what, tp, &t);
        if (onnx_fatal(st))
            return st;
        int32_t id = kiln_graph_find_value(g, name);
        struct kiln_value *v = kiln_value(g, id);
        if (v && (v->kind != KILN_VALUE_INPUT || v->data))
            return onnx_fail(l, NULL, KILN_ERR_INVALID,
                             "graph '%s': initializer '%s' is defined more than once", g->name,
                             name);
        if (st == KILN_ERR_UNSUPPORTED) {
            if (!v)
                st = onnx_placeholder(l, g, NULL, name);
        } else if (st == KILN_OK) {
            if (v)
                st = onnx_input_default(l, v, t);
            else if (kiln_graph_add_const(g, name, t) < 0)
                KILN_ASSERT(!"the name was free a moment ago");
        }
        if (onnx_fatal(st))
            return st;
    }
    for (size_t i = 0; i < gp->n_sparse_initializer; i++) {
        const Onnx__SparseTensorProto *sp = gp->sparse_initializer[i];
        const char *name = sp->values ? str0(sp->values->name) : "";
        onnx_fail(l, NULL, KILN_ERR_UNSUPPORTED,
                  "sparse initializer '%s' is unsupported (kiln reads dense tensors only)", name);
        if (kiln_graph_find_value(g, name) < 0) {
            enum kiln_status st = onnx_placeholder(l, g, NULL, name);
            if (st != KILN_OK)
                return st;
        }
    }
    return KILN_OK;
}

/* Put value_info and graph-output types on the values as declarations. */
static enum kiln_status
onnx_graph_declared(struct onnx_loader *l, struct kiln_graph *g, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        struct kiln_value *v = kiln_value(g, kiln_graph_find_value(g, str0(vi->name)));
        /* entries for values that no node here produces (stale, or inputs) say nothing new */
        if (!v || v->kind != KILN_VALUE_NODE || v->producer < 0)
            continue;
        char what[512];
        snprintf(what, sizeof what, "value '%.400s'", v->name);
        enum kiln_status st = onnx_type_convert(l, g, what, vi->type, &v->type, NULL);
        if (onnx_fatal(st))
            return st;
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        const char *name = str0(vi->name);
        if (!name[0])
            return onnx_fail(l, NULL, KILN_ERR_INVALID, "graph '%s': output #%zu has no name",
                             g->name, i);
        int32_t id = kiln_graph_resolve_value(g, name);
        if (id < 0)
            return onnx_fail(l, NULL, KILN_ERR_INVALID,
                             "graph '%s': output '%s' is not defined by any input, initializer "
                             "or node",
                             g->name, name);
        char what[512];
        snprintf(what, sizeof what, "graph output '%.400s'", name);
        struct kiln_type decl;
        enum kiln_status st = onnx_type_convert(l, g, what, vi->type, &decl, NULL);
        if (onnx_fatal(st))
            return st;
        struct kiln_value *v = g->values[id];
        /* a node output takes the declaration (inference merges it); inputs,
         * constants and captures keep the type they have, unless they have none */
        if (st == KILN_OK && decl.dtype != KILN_DT_INVALID &&
            (v->kind == KILN_VALUE_NODE || v->type.dtype == KILN_DT_INVALID))
            v->type = decl;
        kiln_graph_add_output(g, id);
    }
    return KILN_OK;
}

/* Pass A for one node: the node and its outputs (operands come in pass B). */
static enum kiln_status
onnx_node_create(struct onnx_loader *l, struct kiln_graph *g, const Onnx__NodeProto *np, int32_t id,
                 struct kiln_node **out)
{
    *out = NULL;
    enum kiln_op op;
    bool known;
    enum kiln_status st = onnx_node_op(l, np, id, &op, &known);
    if (st != KILN_OK)
        return st;
    struct onnx_site s = {str0(np->name), id, str0(np->op_type)};
    if (!known) {
        for (size_t k = 0; k < np->n_output; k++)
            if ((st = onnx_placeholder(l, g, &s, str0(np->output[k]))) != KILN_OK)
                return st;
        return KILN_OK;
    }
    if (op == KILN_OP_CONSTANT)
        return onnx_constant_build(l, g, np, id);
    if (np->n_input > INT32_MAX || np->n_output > INT32_MAX || np->n_attribute > INT32_MAX)
        return onnx_fail(l, &s, KILN_ERR_INVALID,
                         "node has too many inputs, outputs or attributes");
    if (np->n_input > l->cap_operands) {
        int32_t *p = realloc(l->operands, np->n_input * sizeof *p);
        if (!p)
            return onnx_nomem(l);
        l->operands = p;
        l->cap_operands = np->n_input;
    }
    for (size_t k = 0; k < np->n_input; k++)
        l->operands[k] = -1;
    /* checked here too so that an unnamed node is numbered as in the file */
    for (size_t k = 0; k < np->n_output; k++) {
        const char *name = str0(np->output[k]);
        if (name[0] && kiln_graph_find_value(g, name) >= 0)
            return onnx_fail(l, &s, KILN_ERR_INVALID, "value '%s' is defined more than once", name);
    }
    /* protobuf-c never leaves NULL entries in a repeated string field */
    *out = kiln_graph_add_node(g, op, s.node, l->operands, (int32_t)np->n_input,
                               (const char *const *)np->output, (int32_t)np->n_output, l->d);
    return *out ? KILN_OK : KILN_ERR_INVALID; /* a name defined twice, reported */
}

/* Pass B for one node: operands and attributes. */
static enum kiln_status
onnx_node_finish(struct onnx_loader *l, struct kiln_graph *g, const Onnx__NodeProto *np, int32_t id,
                 struct kiln_node *n, int depth)
{
    struct onnx_site s = {str0(np->name), id, str0(np->op_type)};
    for (size_t k = 0; k < np->n_input; k++) {
        const char *name = str0(np->input[k]);
        if (!name[0])
            continue; /* an absent optional input */
        int32_t v = kiln_graph_resolve_value(g, name);
        if (v < 0)
            return onnx_fail(l, &s, KILN_ERR_INVALID,
                             "input '%s' is not defined by any input, initializer or node", name);
        kiln_node_set_input(g, n, (int32_t)k, v);
    }
    return onnx_node_attrs(l, g, n, &s, np, depth);
}

/* Build g from gp (see the file comment for the order). depth: 1 for the main graph. */
static enum kiln_status
onnx_graph_build(struct onnx_loader *l, struct kiln_graph *g, const Onnx__GraphProto *gp, int depth)
{
    enum kiln_status st = onnx_graph_inputs(l, g, gp);
    if (st == KILN_OK)
        st = onnx_graph_initializers(l, g, gp);
    if (st != KILN_OK)
        return st;
    struct kiln_node **nodes = calloc(gp->n_node ? gp->n_node : 1, sizeof *nodes);
    if (!nodes)
        return onnx_nomem(l);
    for (size_t i = 0; i < gp->n_node && !onnx_fatal(st); i++)
        st = onnx_node_create(l, g, gp->node[i], (int32_t)i, &nodes[i]);
    if (!onnx_fatal(st))
        st = onnx_graph_declared(l, g, gp);
    for (size_t i = 0; i < gp->n_node && !onnx_fatal(st); i++) {
        const Onnx__NodeProto *np = gp->node[i];
        if (nodes[i]) {
            st = onnx_node_finish(l, g, np, (int32_t)i, nodes[i], depth);
            continue;
        }
        /* an unsupported op is not built; what its sub-graphs use still gets reported */
        for (size_t k = 0; k < np->n_attribute && !onnx_fatal(st); k++) {
            const Onnx__AttributeProto *ap = np->attribute[k];
            if (ap->g)
                st = onnx_scan_ops(l, ap->g);
            for (size_t j = 0; j < ap->n_graphs && !onnx_fatal(st); j++)
                st = onnx_scan_ops(l, ap->graphs[j]);
        }
    }
    free(nodes);
    return onnx_fatal(st) ? st : KILN_OK;
}

/* kiln_graph_sort on g and every sub-graph under it. */
static enum kiln_status
onnx_graph_sort_all(struct kiln_graph *g, struct kiln_diag *d)
{
    /* a graph without nodes (an If branch returning an outer value) is sorted already */
    enum kiln_status st = g->n_nodes ? kiln_graph_sort(g, d) : KILN_OK;
    for (int32_t i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        const struct kiln_node *n = g->nodes[i];
        for (int32_t k = 0; k < n->n_attrs && st == KILN_OK; k++) {
            const struct kiln_attr *a = &n->attrs[k];
            if (a->kind == KILN_ATTR_GRAPH)
                st = onnx_graph_sort_all(a->g, d);
            for (int64_t j = 0; a->kind == KILN_ATTR_GRAPHS && j < a->n && st == KILN_OK; j++)
                st = onnx_graph_sort_all(a->graphs[j], d);
        }
    }
    return st;
}

/* ---------------------------------------------------------------- entry points */

static enum kiln_status
onnx_model_build(struct onnx_loader *l, const Onnx__ModelProto *m)
{
    struct kiln_graph *g = l->root;
    g->ir_version = m->has_ir_version ? m->ir_version : 0;
    const char *pn = str0(m->producer_name), *pv = str0(m->producer_version);
    size_t len = strlen(pn) + strlen(pv) + 2;
    char *producer = kiln_arena_alloc(g->arena, len);
    if (!producer)
        return onnx_nomem(l);
    snprintf(producer, len, "%s%s%s", pn, pn[0] && pv[0] ? " " : "", pv);
    g->producer = producer;
    enum kiln_status st = onnx_model_opsets(l, m);
    if (st != KILN_OK)
        return st;
    return onnx_graph_build(l, g, m->graph, 1);
}

enum kiln_status
kiln_onnx_load_buffer(const void *buf, size_t len, const char *dir,
                      const struct kiln_onnx_opts *opts, struct kiln_graph **out,
                      struct kiln_diag *d)
{
    *out = NULL;
    if (len == 0) {
        kiln_diag_error(d, "not an ONNX model (empty file)");
        return KILN_ERR_INVALID;
    }
    enum kiln_status st = kiln_onnx_wire_check(buf, len, d);
    if (st != KILN_OK)
        return st;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m) {
        kiln_diag_error(d, "not an ONNX model (protobuf decoding failed)");
        return KILN_ERR_INVALID;
    }
    if (!m->graph) {
        onnx__model_proto__free_unpacked(m, NULL);
        kiln_diag_error(d, "not an ONNX model (it has no graph)");
        return KILN_ERR_INVALID;
    }
    static const struct kiln_onnx_opts no_opts;
    struct onnx_loader l = {.d = d, .opts = opts ? opts : &no_opts, .dir = dir};
    l.root = kiln_graph_new(m->graph->name);
    if (l.root)
        l.root->strict_shapes = l.opts->strict_shapes;
    st = l.root ? onnx_model_build(&l, m) : onnx_nomem(&l);
    onnx__model_proto__free_unpacked(m, NULL);
    while (l.files) {
        struct onnx_mapped_file *next = l.files->next;
        free(l.files); /* the mappings themselves belong to the graph now */
        l.files = next;
    }
    free(l.operands);
    if (st == KILN_OK && l.unsupported)
        st = KILN_ERR_UNSUPPORTED;
    if (st == KILN_OK)
        st = onnx_graph_sort_all(l.root, d);
    if (st == KILN_OK && !(opts && opts->no_infer))
        st = kiln_graph_infer_shapes(l.root, d);
    if (st != KILN_OK) {
        kiln_graph_free(l.root);
        return st;
    }
    *out = l.root;
    return KILN_OK;
}

/* The folder external data is relative to: the model path up to its last '/'. */
static char *
onnx_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Read a non-regular file (a pipe, /dev/stdin) to its end. */
static unsigned char *
onnx_read_stream(int fd, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            unsigned char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        if (k == 0) {
            *len = n;
            return buf;
        }
        n += (size_t)k;
    }
    free(buf);
    return NULL;
}

enum kiln_status
kiln_onnx_load_file(const char *path, const struct kiln_onnx_opts *opts, struct kiln_graph **out,
                    struct kiln_diag *d)
{
    *out = NULL;
    if (d && !d->file)
        d->file = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        kiln_diag_error(d, "cannot open: %s", strerror(errno));
        return KILN_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(fd);
        kiln_diag_error(d, "cannot read: %s", strerror(err));
        return KILN_ERR_IO;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    bool mapped = false;
    if (S_ISREG(st.st_mode)) {
        if (st.st_size == 0) {
            close(fd);
            kiln_diag_error(d, "not an ONNX model (empty file)");
            return KILN_ERR_INVALID;
        }
        len = (size_t)st.st_size;
        void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int err = errno;
            close(fd);
            kiln_diag_error(d, "cannot read: %s", strerror(err));
            return KILN_ERR_IO;
        }
        buf = p;
        mapped = true;
    } else {
        buf = onnx_read_stream(fd, &len);
        if (!buf) {
            int err = errno;
            close(fd);
            kiln_diag_error(d, "cannot read: %s", strerror(err ? err : ENOMEM));
            return KILN_ERR_IO;
        }
    }
    close(fd);
    char *dir = onnx_dir_of(path);
    enum kiln_status status;
    if (!dir) {
        kiln_diag_error(d, "out of memory");
        status = KILN_ERR_NOMEM;
    } else {
        status = kiln_onnx_load_buffer(buf, len, dir, opts, out, d);
    }
    free(dir);
    if (mapped)
        munmap(buf, len);
    else
        free(buf);
    return status;
}
