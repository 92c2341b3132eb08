/*
 * lower_ops.h - private: prototypes of the op lowerings named in lower_ops.def.
 *
 * One file per family, as for shape inference:
 *   lower_ew.c      elementwise ops, activations, Cast, Where, Clip, variadic ops
 *   lower_nn.c      MatMul/Gemm, convolutions, pooling, normalizations, softmax,
 *                   reductions
 *   lower_tensor.c  data movement: Reshape/Flatten/Squeeze (copies), Transpose,
 *                   Concat, Slice, Gather, Pad, ...
 *   lower_fused.c   kiln.Fused: an anchor (Conv/Gemm/MatMul) or none, then
 *                   elementwise ops, as one kernel
 * Each function builds the kernels of lc->n (lc->k is a fresh kernel) and
 * returns KILN_OK, or kiln_lower_unsupported naming what it cannot do.
 */
#ifndef KILN_LOWER_OPS_H
#define KILN_LOWER_OPS_H

#include "codegen/lower.h"

#define KILN_LOWER(OP, fn) enum kiln_status fn(struct kiln_lower_ctx *lc);
#include "codegen/lower_ops.def"
#undef KILN_LOWER

/* lower.c, for lower_fused.c: the buffer of value v of graph g (-1: none yet),
 * binding one to it, a new buffer of the given kind bound to it (-1 with a
 * diagnostic when its shape cannot be compiled), and an op's lowering. */
int32_t kiln_lower_value_buf(struct kiln_lmodule *m, const struct kiln_graph *g, int32_t v);
void kiln_lower_bind_value(struct kiln_lmodule *m, const struct kiln_graph *g, int32_t v,
                           int32_t buf);
int32_t kiln_lower_add_buf(struct kiln_lower_ctx *lc, const struct kiln_graph *g, int32_t v,
                           enum kiln_lbuf_kind kind);
kiln_lower_fn kiln_lower_fn_of(enum kiln_op op);

/* lower_fused.c, for lower.c's builders while lc->fuse is set: a load of a
 * register buffer (the variable holding the current element), a store to one
 * (sets the variable; at the anchor's result, builds the epilogue), and the
 * loop of the fused kernel that kiln_lower_loop_over hands out instead of a
 * new one (NULL outside the epilogue / elementwise body). */
struct kiln_lx *kiln_lower_fused_load(struct kiln_lower_ctx *lc, int32_t slot);
void kiln_lower_fused_store(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                            struct kiln_lx *idx, struct kiln_lx *val, struct kiln_lx *const *axes);
struct kiln_lblock *kiln_lower_fused_loop(struct kiln_lower_ctx *lc, int32_t slot,
                                          struct kiln_lx **idx, struct kiln_lx **flat);
/* While lowering a fused node's anchor: the slot of the node's one result
 * when it is memory of type ct shaped like the anchor's result, else -1. An
 * anchor that stores its raw results and runs the epilogue as a pass after
 * can keep them there (the pass reads each element, then overwrites it)
 * instead of in a scratch of the same size. */
int32_t kiln_lower_fused_result(struct kiln_lower_ctx *lc, enum kiln_dtype ct);

/* lower_gemm.c, for lower_nn.c's Conv: whether the register-tiled kernel over
 * packed weights takes weight w (constant, float, 4-D) with groups (1) and
 * output width ow (at least 3, a constant), and the
 * kernel itself (x [N,C,H,W], bias a slot or -1, y [N,M,OH,OW]; stride[2],
 * pad[4] as ONNX orders them, dil[2]). */
bool kiln_lower_conv2d_packed_fits(const struct kiln_tensor *w, int64_t groups, int64_t ow);
enum kiln_status kiln_lower_conv2d_packed(struct kiln_lower_ctx *lc, int32_t x,
                                          const struct kiln_tensor *w, int32_t bias, int32_t y,
                                          const int64_t *stride, const int64_t *pad,
                                          const int64_t *dil, enum kiln_dtype ct);
/* The same for MatMul by a constant 2-D B whose columns are a multiple of the
 * tile's (32 on AVX-512), with rows (A's flattened batch and row dims) a constant. */
bool kiln_lower_matmul_packed_fits(const struct kiln_lower_ctx *lc, const struct kiln_tensor *b,
                                   const struct kiln_lx *rows);
/* The same plus beta * C for a bias C of N elements (a Gemm's; bias -1: none). */
enum kiln_status kiln_lower_matmul_packed_bias(struct kiln_lower_ctx *lc, int32_t a,
                                               const struct kiln_tensor *bt, int32_t bias,
                                               float beta, int32_t y, enum kiln_dtype ct);
enum kiln_status kiln_lower_matmul_packed(struct kiln_lower_ctx *lc, int32_t a,
                                          const struct kiln_tensor *b, int32_t y,
                                          enum kiln_dtype ct);
/* nr row vectors of vl lanes of float type ct (nr <= vl, vl <= 32) by
 * columns, built into blk by butterfly shuffles (lower_gemm.c): cols[j] gets
 * the rows' lane j, a vector of nr lanes; false (nothing built) when the rows
 * do not fit. */
bool kiln_lower_transpose_rows(struct kiln_lower_ctx *lc, struct kiln_lblock *blk,
                               struct kiln_lx *const *rows, int nr, int vl, enum kiln_dtype ct,
                               struct kiln_lx **cols);
/* Depthwise convolution (groups = input channels = output channels) of output
 * width ow (at least 4, a constant): vector accumulators along output rows. */
bool kiln_lower_depthwise_fits(int64_t groups, int64_t c, int64_t m, int64_t ow);
enum kiln_status kiln_lower_depthwise(struct kiln_lower_ctx *lc, int32_t x, int32_t w, int32_t bias,
                                      int32_t y, const int64_t *stride, const int64_t *pad,
                                      const int64_t *dil, enum kiln_dtype ct);
/* 2-D MaxPool without Indices by the same kernel (in, out: the spatial dims,
 * constants; pad[4] as ONNX orders them): when every window lies inside the
 * padded input and rows have at least 4 outputs. */
bool kiln_lower_maxpool2d_fits(const int64_t *in, const int64_t *out, const int64_t *kernel,
                               const int64_t *stride, const int64_t *pad, const int64_t *dil);
enum kiln_status kiln_lower_maxpool2d(struct kiln_lower_ctx *lc, int32_t x, int32_t y,
                                      const int64_t *kernel, const int64_t *stride,
                                      const int64_t *pad, const int64_t *dil, enum kiln_dtype ct);

#endif
