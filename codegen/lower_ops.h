/*
 * lower_ops.h - private: prototypes of the op lowerings named in lower_ops.def.
 *
 * One file per family, as for shape inference:
 *   lower_ew.c      elementwise ops, activations, Cast, Where, Clip, variadic ops
 *   lower_nn.c      MatMul/Gemm, convolutions, pooling, normalizations, softmax,
 *                   reductions
 *   lower_tensor.c  data movement: Reshape/Flatten/Squeeze (copies), Transpose,
 *                   Concat, Slice, Gather, Pad, ...
 * Each function builds the kernels of lc->n (lc->k is a fresh kernel) and
 * returns KILN_OK, or kiln_lower_unsupported naming what it cannot do.
 */
#ifndef KILN_LOWER_OPS_H
#define KILN_LOWER_OPS_H

#include "codegen/lower.h"

#define KILN_LOWER(OP, fn) enum kiln_status fn(struct kiln_lower_ctx *lc);
#include "codegen/lower_ops.def"
#undef KILN_LOWER

#endif
