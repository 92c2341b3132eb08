/*
 * llvm.h - the LLVM CPU backend: lowered kernels (codegen/lower.h) to an
 * object file, assembly or LLVM IR through the LLVM C API.
 *
 * The module it builds for a lowered model NAME exports:
 *
 *   int      NAME_run_v(void *const *inputs, void *const *outputs,
 *                       const int64_t *dims, void *workspace);
 *   uint64_t NAME_workspace_size_v(const int64_t *dims);
 *   const struct kiln_rt_model NAME_model;       (runtime/kiln_rt.h)
 *   const struct kiln_rt_model kiln_model;       (with opts->exe_entry, for runtime/main.c)
 *
 * (the typed NAME_run and NAME_workspace_size of the generated header,
 * codegen/header.c, wrap these). Kernels are internal functions with the calling convention of
 * lower.h; a kernel with a parallel outer loop is run through kiln_rt_parallel_for. The workspace
 * holds every intermediate at 64-byte aligned offsets computed from the runtime dims. Weights are
 * private constant globals.
 */
#ifndef KILN_LLVM_H
#define KILN_LLVM_H

#include "codegen/lower.h"

enum kiln_llvm_emit {
    KILN_LLVM_EMIT_OBJ, /* relocatable object (.o) */
    KILN_LLVM_EMIT_ASM, /* assembly (.s) */
    KILN_LLVM_EMIT_IR,  /* LLVM IR text (.ll), after optimization */
};

struct kiln_llvm_opts {
    const char *triple;   /* NULL: the host's */
    const char *cpu;      /* NULL: the host's (with triple given: "generic") */
    const char *features; /* NULL: the host's (with triple given: "") */
    int opt_level;        /* 0..3: the new pass manager's default<On> */
    bool exe_entry;       /* also define kiln_model for runtime/main.c */
    bool pic;             /* position-independent code (shared libraries) */
    /* Let LLVM reassociate float adds and multiplies and contract them into
     * FMAs (vectorized reductions; results move in the last bits). NaN, inf
     * and signed-zero semantics are kept. Default: on. */
    bool reassoc;
    /* External weights: write the constants to this file (64-byte aligned
     * blobs) instead of embedding them; run() then takes the file's contents
     * as inputs[n_inputs], and the descriptor names weights_name. */
    const char *weights_path;
    const char *weights_name;
    /* Time every layer: the run function adds each layer's time to a table
     * the descriptor's profile field points to (runtime/kiln_rt.h,
     * struct kiln_rt_profile; kiln profile reads it). */
    bool profile;
    /* The generated code's sanitizer: every load and store of the loop IR
     * checks its index against its buffer's extent; on a violation the kernel
     * stops and run() returns KILN_RT_ERR_BOUNDS, the kernel, buffer and index
     * left for kiln_rt_bounds_last (runtime/kiln_rt.h). */
    bool check_bounds;
};

void kiln_llvm_opts_default(struct kiln_llvm_opts *o);

/* Build, optimize and write m to path. Errors (bad triple, LLVM verifier
 * failure, write failure) are diagnostics. */
enum kiln_status kiln_llvm_emit(const struct kiln_lmodule *m, const struct kiln_llvm_opts *o,
                                enum kiln_llvm_emit kind, const char *path, struct kiln_diag *d);

/*
 * Compile m for the host in this process (ORC LLJIT) and run it once:
 * inputs/outputs/dims as NAME_run_v takes them, *rc its status. For constant
 * folding, where writing files and linking would be out of place. o: the
 * options (the host's target is kept), or NULL: the defaults at -O1.
 */
enum kiln_status kiln_llvm_jit_run(const struct kiln_lmodule *m, const struct kiln_llvm_opts *o,
                                   void *const *inputs, void *const *outputs, const int64_t *dims,
                                   int *rc, struct kiln_diag *d);
/*
 * Evaluate g, a graph without inputs (constants and the nodes over them), by
 * lowering it and running it with kiln_llvm_jit_run. outs[j] describes graph
 * output j with its data allocated (static shape, the output's dtype, not a
 * storage-only one); the results are written there. The evaluator of the
 * fold-constants pass (passes/pass.h, kiln_eval_fn).
 */
enum kiln_status kiln_llvm_eval_graph(const struct kiln_graph *g, struct kiln_tensor *outs,
                                      struct kiln_diag *d);

/*
 * The vector registers of o's target, for the lowering's tiles: from the
 * features (o->features, else the host's when o names no triple), else from
 * the CPU name (--cpu without --features: known x86 families), else the
 * triple's baseline (aarch64: NEON, 128 bits, 32 registers; x86: SSE, 128
 * bits, 16 registers).
 */
void kiln_llvm_vector_shape(const struct kiln_llvm_opts *o, struct kiln_lower_target *t);

/* The host's triple, CPU and features (for --version and the header comment). */
void kiln_llvm_host(char *triple, size_t tn, char *cpu, size_t cn);

#endif
