/*
 * shape.h - private: prototypes of every shape and FLOP function named in ops.def.
 *
 * Shape functions live in one file per family:
 *   shape_ew.c      elementwise, activations, normalization, quantization, random
 *   shape_nn.c      matmul/gemm/einsum, convolutions, pooling, reductions, RNNs,
 *                   attention and other network layers
 *   shape_tensor.c  data movement and shape ops, control flow, signal ops, Fused
 * Each function checks its node for the opset in force (ic->opset) and sets the
 * type of every present output; it fails through kiln_infer_fail (malformed) or
 * kiln_infer_unsupported (valid but not handled). Attribute kinds are already
 * checked against op_attrs.def before a shape function runs.
 */
#ifndef KILN_SHAPE_H
#define KILN_SHAPE_H

#include "ir.h"

#define KILN_OP(E, name, dom, mi, ma, mo, mx, fl, shape, flops)                                    \
    enum kiln_status shape(struct kiln_infer_ctx *ic);                                             \
    int64_t flops(const struct kiln_graph *g, const struct kiln_node *n);
#include "ops.def"
#undef KILN_OP

/* Accepted kinds of an op's attribute: a bit per enum kiln_attr_kind; 0 = unknown attribute. */
unsigned kiln_op_attr_kinds(enum kiln_op op, const char *name);

/* Type of a node's input/output slot (NULL if absent). For FLOP functions. */
const struct kiln_type *kiln_node_in_type(const struct kiln_graph *g, const struct kiln_node *n,
                                          int i);
const struct kiln_type *kiln_node_out_type(const struct kiln_graph *g, const struct kiln_node *n,
                                           int i);

#endif
