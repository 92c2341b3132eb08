/*
 * dtype.c - status names, dtype sizes and names, f16/bf16 <-> f32.
 *
 * The conversions work on bit patterns (no FPU state, no libm), so they give
 * the same result under any rounding mode and on any host.
 */
#include <string.h>

#include "runtime/kiln_rt.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kiln's runtime needs a little-endian host (.npy data is read and written in place)"
#endif

const char *
kiln_rt_status_name(int status)
{
    switch (status) {
    case KILN_RT_OK:
        return "ok";
    case KILN_RT_ERR_ARG:
        return "bad argument";
    case KILN_RT_ERR_IO:
        return "i/o error";
    case KILN_RT_ERR_FORMAT:
        return "malformed or unsupported .npy file";
    case KILN_RT_ERR_NOMEM:
        return "out of memory";
    case KILN_RT_ERR_DTYPE:
        return "wrong dtype";
    case KILN_RT_ERR_SHAPE:
        return "a data-dependent size differs from the compiled one";
    case KILN_RT_ERR_SIZE:
        return "a size at these dims is too large";
    case KILN_RT_ERR_BOUNDS:
        return "an index out of a buffer's bounds";
    default:
        return "unknown status";
    }
}

size_t
kiln_rt_dtype_size(int dtype)
{
    switch (dtype) {
    case KILN_RT_U8:
    case KILN_RT_I8:
    case KILN_RT_BOOL:
        return 1;
    case KILN_RT_U16:
    case KILN_RT_I16:
    case KILN_RT_F16:
    case KILN_RT_BF16:
        return 2;
    case KILN_RT_F32:
    case KILN_RT_I32:
    case KILN_RT_U32:
        return 4;
    case KILN_RT_F64:
    case KILN_RT_I64:
    case KILN_RT_U64:
        return 8;
    default:
        return 0;
    }
}

const char *
kiln_rt_dtype_name(int dtype)
{
    switch (dtype) {
    case KILN_RT_F32:
        return "f32";
    case KILN_RT_U8:
        return "u8";
    case KILN_RT_I8:
        return "i8";
    case KILN_RT_U16:
        return "u16";
    case KILN_RT_I16:
        return "i16";
    case KILN_RT_I32:
        return "i32";
    case KILN_RT_I64:
        return "i64";
    case KILN_RT_BOOL:
        return "bool";
    case KILN_RT_F16:
        return "f16";
    case KILN_RT_F64:
        return "f64";
    case KILN_RT_U32:
        return "u32";
    case KILN_RT_U64:
        return "u64";
    case KILN_RT_BF16:
        return "bf16";
    default:
        return "?";
    }
}

static uint32_t
f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float
f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float
kiln_rt_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu;
    uint32_t m = h & 0x3ffu;
    if (e == 0x1f) /* inf, nan (payload kept) */
        return f32_from_bits(sign | 0x7f800000u | (m << 13));
    if (e != 0) /* normal: rebias 15 -> 127 */
        return f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
    if (m == 0)
        return f32_from_bits(sign);
    /* subnormal m * 2^-24: normalize into an f32 normal */
    int shift = 0;
    while (!(m & 0x400u)) {
        m <<= 1;
        shift++;
    }
    return f32_from_bits(sign | ((uint32_t)(113 - shift) << 23) | ((m & 0x3ffu) << 13));
}

uint16_t
kiln_rt_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* nan: quiet, top payload bits kept */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* >= 65520 (halfway past the largest half): inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) { /* normal half: rebias 127 -> 15, round off 13 bits */
        uint32_t r = ax - 0x38000000u;
        uint32_t h = r >> 13, rem = r & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    if (ax < 0x33000000u) /* below 2^-25: rounds to zero */
        return sign;
    /* subnormal half: units of 2^-24; a carry into the exponent is right */
    uint32_t e = ax >> 23;
    uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* 14 .. 24 */
    uint32_t h = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u)))
        h++;
    return (uint16_t)(sign | h);
}

float
kiln_rt_bf16_to_f32(uint16_t b)
{
    return f32_from_bits((uint32_t)b << 16);
}

uint16_t
kiln_rt_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* nan: quiet, so truncation cannot make it inf */
        return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u); /* round to nearest even; overflow carries into inf */
    return (uint16_t)(x >> 16);
}
