/*
 * tensor.c - constant tensor helpers: element access and checksums.
 */
#include "ir.h"

#include <string.h>

int64_t
kiln_tensor_numel(const struct kiln_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] < 0 || !kiln_mul_i64(n, t->dims[i], &n))
            return -1;
    return n;
}

uint64_t
kiln_fnv1a64(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static float
half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static bool
tensor_in_range(const struct kiln_tensor *t, int64_t i)
{
    if (!t->data || i < 0)
        return false;
    uint64_t need;
    return kiln_dtype_storage_bytes(t->dtype, i + 1, &need) && need <= t->nbytes;
}

bool
kiln_tensor_get_f64(const struct kiln_tensor *t, int64_t i, double *out)
{
    if (!tensor_in_range(t, i))
        return false;
    const unsigned char *p = t->data;
    switch (t->dtype) {
#define GET(DT, CT)                                                                                \
    case DT: {                                                                                     \
        CT v;                                                                                      \
        memcpy(&v, p + (size_t)i * sizeof v, sizeof v);                                            \
        *out = (double)v;                                                                          \
        return true;                                                                               \
    }
        GET(KILN_DT_F32, float)
        GET(KILN_DT_F64, double)
        GET(KILN_DT_I8, int8_t)
        GET(KILN_DT_U8, uint8_t)
        GET(KILN_DT_I16, int16_t)
        GET(KILN_DT_U16, uint16_t)
        GET(KILN_DT_I32, int32_t)
        GET(KILN_DT_U32, uint32_t)
        GET(KILN_DT_I64, int64_t)
        GET(KILN_DT_U64, uint64_t)
        GET(KILN_DT_BOOL, uint8_t)
#undef GET
    case KILN_DT_F16: {
        uint16_t h;
        memcpy(&h, p + (size_t)i * 2, 2);
        *out = half_to_float(h);
        return true;
    }
    case KILN_DT_BF16: {
        uint16_t h;
        memcpy(&h, p + (size_t)i * 2, 2);
        uint32_t bits = (uint32_t)h << 16;
        float f;
        memcpy(&f, &bits, 4);
        *out = f;
        return true;
    }
    default:
        return false;
    }
}

bool
kiln_tensor_get_i64(const struct kiln_tensor *t, int64_t i, int64_t *out)
{
    if (!tensor_in_range(t, i))
        return false;
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case KILN_DT_I64: {
        int64_t v;
        memcpy(&v, p + (size_t)i * 8, 8);
        *out = v;
        return true;
    }
    case KILN_DT_U64: {
        uint64_t v;
        memcpy(&v, p + (size_t)i * 8, 8);
        *out = (int64_t)v;
        return true;
    }
    default: {
        double d;
        if (!kiln_tensor_get_f64(t, i, &d))
            return false;
        if (!(d >= -9.2e18 && d <= 9.2e18)) /* NaN or out of int64 range */
            return false;
        *out = (int64_t)d;
        return true;
    }
    }
}
