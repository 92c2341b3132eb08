/*
 * emitter.h - private to codegen/llvm: the state of one module's emission and
 * the functions its two halves share. emit.c turns lowered kernels into LLVM
 * functions (types, intrinsics, expressions, statements, loops) and drives
 * the build (target machine, optimization, output); host.c builds the host
 * side around them (weights, the checked size, shape and workspace functions,
 * the run function that calls the kernels, the model descriptor, the profile
 * table).
 */
#ifndef KILN_LLVM_EMITTER_H
#define KILN_LLVM_EMITTER_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <stdbool.h>
#include <stdint.h>

#include "codegen/llvm/llvm.h"
#include "codegen/profile.h"

struct emitter {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    const struct kiln_lmodule *m;
    struct kiln_diag *d;
    LLVMTypeRef t_ptr, t_i1, t_i8, t_i32, t_i64, t_void, t_kernel;
    LLVMValueRef *consts;  /* per module buffer: the weight global, or NULL */
    uint64_t *woff;        /* external weights: per module buffer, its offset in the file */
    int64_t *plan;         /* memplan.c's offsets per module buffer (made once), */
    int64_t plan_total;    /* the workspace it needs, */
    bool planned;          /* and whether the sizes allowed one */
    uint64_t wsize;        /* external weights: the file's size */
    LLVMFastMathFlags fmf; /* on float add/sub/mul */
    bool external;
    /* the function being built */
    LLVMValueRef fn;
    const struct kiln_lkernel *k;
    LLVMValueRef *vars;  /* allocas, per kernel variable */
    LLVMValueRef *bases; /* per kernel slot: the buffer's base pointer */
    /* per kernel slot: !alias.scope and !noalias lists (distinct buffers never
     * overlap, so every access says so: loop-invariant loads are hoisted past
     * stores and loops vectorize without runtime checks) */
    LLVMValueRef *scope, *noalias;
    unsigned md_scope, md_noalias;
    LLVMValueRef *dims; /* per runtime dim: its i64 value */
    /* --profile: the layer table, the global of per-layer times, the clock */
    const struct kiln_lprof *prof;
    LLVMValueRef prof_ms, now_fn;
    LLVMTypeRef now_t;
    /* --check-bounds: the record type, and in a kernel its pointer and the
     * extent (elements) of each slot's buffer (NULL: not checked) */
    bool check_bounds;
    LLVMTypeRef t_rec;
    LLVMValueRef rec;
    LLVMValueRef *extent;
    /* per-statement expression cache */
    const struct kiln_lx **ckeys;
    LLVMValueRef *cvals;
    uint32_t ccap, cused;
};

/*
 * --check-bounds: the record a kernel leaves when it stops at an access out
 * of its buffer, { i32 hit, i32 slot, i32 store, i64 index, i64 lanes,
 * i64 extent }: the run function passes it after the kernel's buffers, the
 * first violating thread claims it (hit 0 -> 1) and fills it, and run reads
 * it after the kernel returns (kiln_rt_bounds_set, KILN_RT_ERR_BOUNDS).
 */
enum { REC_HIT, REC_SLOT, REC_STORE, REC_INDEX, REC_LANES, REC_EXTENT };

/* The functions a descriptor points to. */
struct entry_fns {
    LLVMValueRef workspace_size, run, shape, check_sizes;
};

/* emit.c: kernels */
/* The type of a dtype in memory (bool is a byte). */
LLVMTypeRef kiln_llvm_mem_type(struct emitter *e, enum kiln_dtype t);
/* A call of the overloaded intrinsic NAME on TYPES with ARGS. */
LLVMValueRef kiln_llvm_intrinsic(struct emitter *e, const char *name, LLVMTypeRef *types,
                                 unsigned n_types, LLVMValueRef *args, unsigned n_args);
/* Forget the expressions of the statement before (a new statement or block). */
void kiln_llvm_cache_reset(struct emitter *e);
/* V converted from dtype FROM to TO, with the IR's semantics (lower.h). */
LLVMValueRef kiln_llvm_emit_cast(struct emitter *e, LLVMValueRef v, enum kiln_dtype from,
                                 enum kiln_dtype to);
/* Expression X in the current block, shared sub-expressions from the cache. */
LLVMValueRef kiln_llvm_emit_lx(struct emitter *e, const struct kiln_lx *x);
/* e->dims[] loaded from the i64 array DIMS_PTR (the runtime dims). */
void kiln_llvm_load_dims(struct emitter *e, LLVMValueRef dims_ptr);

/* host.c: the entry functions and the module-level data */
/* The weights: globals of the constants, or offsets into the weights file. */
enum kiln_status kiln_llvm_emit_weights(struct emitter *e, const struct kiln_llvm_opts *o);
/* NAME_check_sizes: every runtime size checked against KILN_RT_MAX_BYTES. */
LLVMValueRef kiln_llvm_emit_check_sizes(struct emitter *e);
/* NAME_workspace_size: the planned workspace at the given dims. */
LLVMValueRef kiln_llvm_emit_workspace_size(struct emitter *e, LLVMValueRef check_fn);
/* NAME_shape: an output's dims and bytes at the given dims. */
LLVMValueRef kiln_llvm_emit_shape(struct emitter *e);
/* NAME_run: the steps of the module, each kernel called on its buffers. */
LLVMValueRef kiln_llvm_emit_run(struct emitter *e, LLVMValueRef *kernels, LLVMValueRef check_fn);
/* The model descriptor (kiln_rt_model) pointing at the entry functions. */
void kiln_llvm_emit_descriptor(struct emitter *e, const struct entry_fns *fns, LLVMValueRef profile,
                               bool exe_entry, const char *weights_name);
/* --profile: the layer table and the per-layer times global. */
LLVMValueRef kiln_llvm_emit_profile(struct emitter *e, LLVMTargetMachineRef tm);

#endif
