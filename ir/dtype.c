/*
 * dtype.c - the dtype table (dtypes.def) and its queries.
 */
#include "ir.h"

#include <string.h>

struct dtype_info {
    const char *name;
    int32_t onnx;
    int bits;
    unsigned flags;
};

static const struct dtype_info dtype_table[] = {
    [KILN_DT_INVALID] = {"invalid", 0, 0, 0},
#define KILN_DTYPE(E, name, onnx, bits, flags) [KILN_DT_##E] = {name, onnx, bits, flags},
#include "dtypes.def"
#undef KILN_DTYPE
};
_Static_assert(sizeof dtype_table / sizeof dtype_table[0] == KILN_DT_COUNT,
               "dtype_table must cover enum kiln_dtype");
_Static_assert(KILN_DT_COUNT <= 64, "dtype masks are 64-bit");

static bool
dtype_valid(enum kiln_dtype dt)
{
    return (unsigned)dt < KILN_DT_COUNT;
}

const char *
kiln_dtype_name(enum kiln_dtype dt)
{
    return dtype_valid(dt) ? dtype_table[dt].name : "invalid";
}

enum kiln_dtype
kiln_dtype_from_name(const char *s, size_t len)
{
    for (int i = 1; i < KILN_DT_COUNT; i++)
        if (strlen(dtype_table[i].name) == len && memcmp(dtype_table[i].name, s, len) == 0)
            return (enum kiln_dtype)i;
    return KILN_DT_INVALID;
}

enum kiln_dtype
kiln_dtype_from_onnx(int32_t onnx_id)
{
    for (int i = 1; i < KILN_DT_COUNT; i++)
        if (dtype_table[i].onnx == onnx_id)
            return (enum kiln_dtype)i;
    return KILN_DT_INVALID;
}

int32_t
kiln_dtype_to_onnx(enum kiln_dtype dt)
{
    return dtype_valid(dt) ? dtype_table[dt].onnx : 0;
}

int
kiln_dtype_bits(enum kiln_dtype dt)
{
    return dtype_valid(dt) ? dtype_table[dt].bits : 0;
}

unsigned
kiln_dtype_flags(enum kiln_dtype dt)
{
    return dtype_valid(dt) ? dtype_table[dt].flags : 0;
}

bool
kiln_dtype_is_float(enum kiln_dtype dt)
{
    return kiln_dtype_flags(dt) & KILN_DTF_FLOAT;
}

bool
kiln_dtype_is_int(enum kiln_dtype dt)
{
    return kiln_dtype_flags(dt) & KILN_DTF_INT;
}

bool
kiln_dtype_storage_bytes(enum kiln_dtype dt, int64_t n, uint64_t *bytes)
{
    int bits = kiln_dtype_bits(dt);
    if (n < 0 || bits == 0)
        return false;
    uint64_t total;
    if (__builtin_mul_overflow((uint64_t)n, (uint64_t)bits, &total))
        return false;
    *bytes = (total + 7) / 8;
    return true;
}

/* ---------------------------------------------------------------- dims and types */

bool
kiln_dim_eq(struct kiln_dim a, struct kiln_dim b)
{
    if (a.sym || b.sym)
        return a.sym && b.sym && a.n == b.n && (a.sym == b.sym || strcmp(a.sym, b.sym) == 0);
    return a.n >= 0 && a.n == b.n;
}

int64_t
kiln_type_numel(const struct kiln_type *t)
{
    if (t->rank < 0)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (!kiln_dim_is_const(t->dims[i]) || !kiln_mul_i64(n, t->dims[i].n, &n))
            return -1;
    }
    return n;
}

bool
kiln_type_size_fits(const struct kiln_type *t)
{
    if (t->rank < 0)
        return true;
    int64_t n = 1;
    bool over = false;
    for (int i = 0; i < t->rank; i++) {
        struct kiln_dim d = t->dims[i];
        if (kiln_dim_is_int(d) && d.n == 0)
            return true; /* empty, whatever the other dims say */
        if (kiln_dim_is_unknown(d) || d.n < 0)
            continue;
        over = over || !kiln_mul_i64(n, d.n, &n);
    }
    int bits = kiln_dtype_bits(t->dtype);
    int64_t bytes;
    return !over && kiln_mul_i64(n, bits > 8 ? bits / 8 : 1, &bytes);
}

bool
kiln_type_is_static(const struct kiln_type *t)
{
    if (t->rank < 0)
        return false;
    for (int i = 0; i < t->rank; i++)
        if (!kiln_dim_is_const(t->dims[i]))
            return false;
    return true;
}

bool
kiln_type_eq(const struct kiln_type *a, const struct kiln_type *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++) {
        struct kiln_dim x = a->dims[i], y = b->dims[i];
        if (kiln_dim_is_unknown(x) && kiln_dim_is_unknown(y))
            continue;
        if (!kiln_dim_eq(x, y))
            return false;
    }
    return true;
}
