/*
 * lower_build.h - private: the short expression and loop builders the op
 * lowerings (codegen/lower_*.c) write their kernels with, over lower.h's
 * kiln_lx_* / kiln_lb_* calls.
 */
#ifndef KILN_LOWER_BUILD_H
#define KILN_LOWER_BUILD_H

#include "codegen/lower.h"

static inline struct kiln_lx *
IX(struct kiln_lower_ctx *lc, int64_t v)
{
    return kiln_lx_idx(lc, v);
}

static inline struct kiln_lx *
V(struct kiln_lower_ctx *lc, int32_t var)
{
    return kiln_lx_var(lc, var);
}

static inline struct kiln_lx *
bin(struct kiln_lower_ctx *lc, enum kiln_lx_op op, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, op, a, b);
}

static inline struct kiln_lx *
add_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_ADD, a, b);
}

static inline struct kiln_lx *
sub_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_SUB, a, b);
}

static inline struct kiln_lx *
mul_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_MUL, a, b);
}

static inline struct kiln_lx *
div_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_DIV, a, b);
}

static inline struct kiln_lx *
rem_i(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return kiln_lx_binary(lc, KILN_LX_REM, a, b);
}

/* a && b, where a NULL means true. */
static inline struct kiln_lx *
land(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b)
{
    return a ? kiln_lx_binary(lc, KILN_LX_AND, a, b) : b;
}

/* 0 <= i < hi (i64). */
static inline struct kiln_lx *
in_range(struct kiln_lower_ctx *lc, struct kiln_lx *i, struct kiln_lx *hi)
{
    return kiln_lx_binary(lc, KILN_LX_AND, kiln_lx_binary(lc, KILN_LX_GE, i, IX(lc, 0)),
                          kiln_lx_binary(lc, KILN_LX_LT, i, hi));
}

/* for (var = 0; var < hi; var++) appended to b. */
static inline struct kiln_ls *
loop(struct kiln_lower_ctx *lc, struct kiln_lblock *b, const char *name, struct kiln_lx *hi,
     int32_t *var)
{
    return kiln_lb_for(lc, b, name, IX(lc, 0), hi, var);
}

static inline struct kiln_lx *
fimm(struct kiln_lower_ctx *lc, enum kiln_dtype t, double v)
{
    return kiln_lx_imm_f(lc, t, v);
}

/* a <op>= b on variable var. */
static inline void
accum(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t var, enum kiln_lx_op op,
      struct kiln_lx *v)
{
    kiln_lb_set(lc, b, var, kiln_lx_binary(lc, op, V(lc, var), v));
}

/* acc[u] += s * buf[at + u * vl, +vl) for u < n: vector accumulators gaining
 * a splat s times consecutive vectors of a row. */
static inline void
accum_row(struct kiln_lower_ctx *lc, struct kiln_lblock *b, const int32_t *acc, int n,
          struct kiln_lx *s, int32_t buf, struct kiln_lx *at, int vl)
{
    for (int u = 0; u < n; u++)
        accum(lc, b, acc[u], KILN_LX_ADD,
              kiln_lx_binary(
                  lc, KILN_LX_MUL, s,
                  kiln_lx_vload(lc, buf,
                                kiln_lx_binary(lc, KILN_LX_ADD, at, kiln_lx_idx(lc, vl * u)), vl)));
}

/* f32 lanes of the target's vector registers (16 for AVX-512, 8 AVX2, 4 SSE/NEON). */
static inline int
f32_lanes(const struct kiln_lower_ctx *lc)
{
    return lc->m->target.vector_bits / 32;
}

#endif
