/*
 * profile.h - what a profiled artifact knows of its layers (kiln compile
 * --profile, kiln profile).
 *
 * A layer is one node of the top graph: a fused node is one layer, and the
 * kernels of an If or Loop body count toward the control-flow node that runs
 * them. For each the table gives what the report needs beside the time: the
 * op (a fused node lists its body's ops, "Conv+Add+Relu"), the result's type,
 * the FLOPs (the op table's count) and the bytes moved (every operand and
 * result once, weights included: the least traffic the layer can have).
 * FLOPs and bytes are -1 where a dim is symbolic.
 */
#ifndef KILN_PROFILE_H
#define KILN_PROFILE_H

#include "codegen/lower.h"

struct kiln_lprof_layer {
    const char *name; /* the node's name, or its op when it has none */
    char *op;         /* malloc'd */
    char *shape;      /* malloc'd: "f32[1,64,56,56]" */
    int64_t flops, bytes;
    const char *method; /* the method of its main kernel (the last that names one), or "" */
};

struct kiln_lprof {
    struct kiln_lprof_layer *layers;
    int32_t n_layers;
    int32_t *kernel_layer; /* (m->n_kernels) the layer a step's time goes to */
    int64_t params, param_bytes;
};

/* Build the table of m's layers; KILN_ERR_NOMEM or KILN_OK. */
enum kiln_status kiln_lprof_build(const struct kiln_lmodule *m, struct kiln_lprof *p);
void kiln_lprof_free(struct kiln_lprof *p);

#endif
