/*
 * convert.c - the 8-bit and 4-bit float formats ONNX stores (float8 e4m3fn,
 * e4m3fnuz, e5m2, e5m2fnuz, e8m0, float4 e2m1) to and from f32.
 *
 * Compiled kernels call these for every element of such a tensor (kiln keeps
 * them as storage types and computes in f32). Decoding is exact. Encoding
 * rounds to nearest, ties to the even code (e8m0: up, ONNX's default for it),
 * by a binary search over the
 * format's (at most 255) positive finite values, which is obviously right
 * for every format at once. Overflow follows ONNX's Cast: with saturate the
 * largest finite value of the sign, without it infinity where the format has
 * one (e5m2) and NaN otherwise. NaN maps to the format's NaN (float4 e2m1,
 * which has none, gives -0, as ONNX's reference implementation does).
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "runtime/kiln_rt.h"

struct fp_format {
    int ebits, mbits, bias;
    bool has_sign;
    bool fnuz;   /* 0x80 is the NaN; no negative zero, no infinity */
    bool ieee;   /* all-ones exponent is inf/NaN (e5m2) */
    bool fn;     /* all-ones code is NaN, no infinity (e4m3fn) */
    bool no_nan; /* e2m1 */
    int n_codes; /* 256 or 16 */
    /* positive finite values, ascending, and their codes */
    float vals[256];
    uint8_t codes[256];
    int n_vals;
};

static struct fp_format formats[6] = {
    {4, 3, 7, true, false, false, true, false, 256, {0}, {0}, 0},     /* e4m3fn */
    {4, 3, 8, true, true, false, false, false, 256, {0}, {0}, 0},     /* e4m3fnuz */
    {5, 2, 15, true, false, true, false, false, 256, {0}, {0}, 0},    /* e5m2 */
    {5, 2, 16, true, true, false, false, false, 256, {0}, {0}, 0},    /* e5m2fnuz */
    {8, 0, 127, false, false, false, false, false, 256, {0}, {0}, 0}, /* e8m0 */
    {2, 1, 1, true, false, false, false, true, 16, {0}, {0}, 0},      /* e2m1 */
};

static struct fp_format *
format_of(int dtype)
{
    switch (dtype) {
    case KILN_RT_F8E4M3FN:
        return &formats[0];
    case KILN_RT_F8E4M3FNUZ:
        return &formats[1];
    case KILN_RT_F8E5M2:
        return &formats[2];
    case KILN_RT_F8E5M2FNUZ:
        return &formats[3];
    case KILN_RT_F8E8M0:
        return &formats[4];
    case KILN_RT_F4E2M1:
        return &formats[5];
    default:
        return NULL;
    }
}

/* Decode one code; *nan / *inf flag the specials. */
static float
decode(const struct fp_format *f, unsigned code, bool *special)
{
    *special = false;
    unsigned bits = (unsigned)(f->has_sign + f->ebits + f->mbits);
    code &= (1u << bits) - 1;
    if (f->ebits == 8 && f->mbits == 0) { /* e8m0: 2^(e-127), 0xff NaN */
        if (code == 0xff) {
            *special = true;
            return NAN;
        }
        return ldexpf(1.0f, (int)code - 127);
    }
    unsigned sign = f->has_sign ? code >> (f->ebits + f->mbits) : 0;
    unsigned e = (code >> f->mbits) & ((1u << f->ebits) - 1), m = code & ((1u << f->mbits) - 1);
    if (f->fnuz && code == 0x80) {
        *special = true;
        return NAN;
    }
    if (f->fn && e == (1u << f->ebits) - 1 && m == (1u << f->mbits) - 1) {
        *special = true;
        return NAN;
    }
    if (f->ieee && e == (1u << f->ebits) - 1) {
        *special = true;
        return m ? NAN : (sign ? -INFINITY : INFINITY);
    }
    float v = e == 0 ? ldexpf((float)m, 1 - f->bias - f->mbits)
                     : ldexpf(1.0f + ldexpf((float)m, -f->mbits), (int)e - f->bias);
    return sign ? -v : v;
}

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void
build_tables(void)
{
    for (int k = 0; k < 6; k++) {
        struct fp_format *f = &formats[k];
        unsigned half = f->has_sign ? (unsigned)f->n_codes / 2 : (unsigned)f->n_codes;
        f->n_vals = 0;
        for (unsigned c = 0; c < half; c++) { /* positive codes ascend with their values */
            bool special;
            float v = decode(f, c, &special);
            if (!special)
                f->vals[f->n_vals] = v, f->codes[f->n_vals++] = (uint8_t)c;
        }
    }
}

float
kiln_rt_fp8_to_f32(int dtype, uint8_t code)
{
    const struct fp_format *f = format_of(dtype);
    if (!f)
        return NAN;
    bool special;
    return decode(f, code, &special);
}

uint8_t
kiln_rt_f32_to_fp8(int dtype, float x, int saturate)
{
    struct fp_format *f = format_of(dtype);
    if (!f)
        return 0;
    pthread_once(&tables_once, build_tables);
    unsigned sign_bit = f->has_sign ? 1u << (f->ebits + f->mbits) : 0;
    unsigned nan_code = f->fnuz ? 0x80 : f->ebits == 8 ? 0xff : f->ieee ? 0x7f : 0x7f;
    const float *v = f->vals;
    int n = f->n_vals;
    if (isnan(x)) /* float4 e2m1 has no NaN: ONNX's reference gives -0 */
        return (uint8_t)(f->no_nan ? sign_bit : nan_code);
    bool neg = signbit(x) && f->has_sign;
    float a = fabsf(x);
    if (!f->has_sign && signbit(x) && a != 0)
        return (uint8_t)nan_code; /* e8m0 holds no negative numbers */
    uint8_t code;
    if (a > v[n - 1]) {
        /* beyond the largest finite value: it still rounds to it up to half an ulp */
        float ulp = v[n - 1] - v[n - 2];
        float mid = v[n - 1] + ulp / 2;
        bool even = (f->codes[n - 1] & 1) == 0;
        if (saturate || f->no_nan || a < mid || (a == mid && even)) {
            code = f->codes[n - 1];
        } else if (f->ieee) {
            code = (uint8_t)(0x7c); /* infinity */
        } else {
            return (uint8_t)nan_code;
        }
    } else {
        int lo = 0, hi = n - 1; /* v[lo] <= a <= v[hi] */
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (v[mid] <= a)
                lo = mid;
            else
                hi = mid;
        }
        if (a <= v[lo])
            code = f->codes[lo];
        else if (f->ebits == 8)
            code = f->codes[hi]; /* e8m0 rounds up, as ONNX's Cast does by default */
        else {
            float dl = a - v[lo], dh = v[hi] - a;
            code = dl < dh                   ? f->codes[lo]
                   : dh < dl                 ? f->codes[hi]
                   : (f->codes[lo] & 1) == 0 ? f->codes[lo]
                                             : f->codes[hi];
        }
    }
    if (neg && !(f->fnuz && code == 0)) /* fnuz has no negative zero */
        code |= (uint8_t)sign_bit;
    return code;
}
