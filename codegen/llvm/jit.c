/*
 * jit.c - run a lowered module in the compiler's own process (ORC LLJIT),
 * and on top of it the evaluator that constant folding uses: a graph of
 * constants is lowered, compiled for the host and run once, so every op kiln
 * compiles folds with the semantics of its compiled code (one definition of
 * each op, not a second interpreter).
 *
 * The module calls the runtime (kiln_rt_parallel_for, the float8
 * conversions): those are defined in the JIT as this process's own copies;
 * libm and libc come from the process's symbols.
 */
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/build.h"
#include "runtime/kiln_rt.h"

/* Report an LLVM error (consumed) as a diagnostic; true if there was one. */
static bool
jit_failed(LLVMErrorRef err, const char *what, struct kiln_diag *d)
{
    if (!err)
        return false;
    char *msg = LLVMGetErrorMessage(err);
    kiln_diag_error(d, "JIT: %s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return true;
}

static LLVMErrorRef
define_runtime(LLVMOrcLLJITRef jit, LLVMOrcJITDylibRef jd)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } syms[] = {
        {"kiln_rt_parallel_for", (void (*)(void))kiln_rt_parallel_for},
        {"kiln_rt_fp8_to_f32", (void (*)(void))kiln_rt_fp8_to_f32},
        {"kiln_rt_f32_to_fp8", (void (*)(void))kiln_rt_f32_to_fp8},
        {"kiln_rt_bounds_set", (void (*)(void))kiln_rt_bounds_set},
    };
    enum { N = sizeof syms / sizeof syms[0] };
    LLVMOrcCSymbolMapPair pairs[N];
    LLVMJITSymbolFlags flags = {
        LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable, 0};
    for (int i = 0; i < N; i++) {
        pairs[i].Name = LLVMOrcLLJITMangleAndIntern(jit, syms[i].name);
        pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)syms[i].fn;
        pairs[i].Sym.Flags = flags;
    }
    return LLVMOrcJITDylibDefine(jd, LLVMOrcAbsoluteSymbols(pairs, N));
}

enum kiln_status
kiln_llvm_jit_run(const struct kiln_lmodule *m, const struct kiln_llvm_opts *opts,
                  void *const *inputs, void *const *outputs, const int64_t *dims, int *rc,
                  struct kiln_diag *d)
{
    struct kiln_llvm_opts o;
    kiln_llvm_opts_default(&o);
    o.opt_level = 1; /* run once: compile time matters more than speed */
    if (opts) {
        o = *opts;
        o.triple = o.cpu = o.features = NULL; /* it runs here */
        o.exe_entry = false;
        o.weights_path = NULL;
    }
    char *triple = NULL;
    LLVMTargetMachineRef tm = kiln_llvm_target_machine(&o, d, &triple);
    if (!tm) {
        free(triple);
        return KILN_ERR_UNSUPPORTED;
    }
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = NULL;
    enum kiln_status st =
        kiln_llvm_build(m, &o, LLVMOrcThreadSafeContextGetContext(tsc), tm, triple, &mod, d);
    LLVMDisposeTargetMachine(tm);
    free(triple);
    LLVMOrcLLJITRef jit = NULL;
    if (st == KILN_OK && jit_failed(LLVMOrcCreateLLJIT(&jit, LLVMOrcCreateLLJITBuilder()),
                                    "cannot create the JIT", d)) {
        jit = NULL;
        st = KILN_ERR_INTERNAL;
    }
    if (st != KILN_OK) {
        if (mod)
            LLVMDisposeModule(mod);
        LLVMOrcDisposeThreadSafeContext(tsc);
        return st;
    }
    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(jit);
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    if (jit_failed(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                       &gen, LLVMOrcLLJITGetGlobalPrefix(jit), NULL, NULL),
                   "process symbols", d) ||
        (LLVMOrcJITDylibAddGenerator(jd, gen), jit_failed(define_runtime(jit, jd), "runtime", d)) ||
        jit_failed(LLVMOrcLLJITAddLLVMIRModule(jit, jd, LLVMOrcCreateNewThreadSafeModule(mod, tsc)),
                   "adding the module", d)) {
        st = KILN_ERR_INTERNAL;
    }
    LLVMOrcDisposeThreadSafeContext(tsc); /* the module holds its own reference */
    LLVMOrcExecutorAddress run_at = 0, ws_at = 0;
    char name[300];
    if (st == KILN_OK) {
        snprintf(name, sizeof name, "%s_run_v", m->name);
        if (jit_failed(LLVMOrcLLJITLookup(jit, &run_at, name), name, d))
            st = KILN_ERR_INTERNAL;
        snprintf(name, sizeof name, "%s_workspace_size_v", m->name);
        if (st == KILN_OK && jit_failed(LLVMOrcLLJITLookup(jit, &ws_at, name), name, d))
            st = KILN_ERR_INTERNAL;
    }
    if (st == KILN_OK) {
        uint64_t (*ws_size)(const int64_t *) = (uint64_t (*)(const int64_t *))(uintptr_t)ws_at;
        int (*run)(void *const *, void *const *, const int64_t *, void *) =
            (int (*)(void *const *, void *const *, const int64_t *, void *))(uintptr_t)run_at;
        uint64_t bytes = ws_size(dims);
        void *ws = bytes ? aligned_alloc(64, (bytes + 63) & ~(uint64_t)63) : NULL;
        if (bytes && !ws) {
            kiln_diag_error(d, "JIT: out of memory for a %llu-byte workspace",
                            (unsigned long long)bytes);
            st = KILN_ERR_NOMEM;
        } else {
            *rc = run(inputs, outputs, dims, ws);
        }
        free(ws);
    }
    jit_failed(LLVMOrcDisposeLLJIT(jit), "disposing of the JIT", d);
    return st;
}

enum kiln_status
kiln_llvm_eval_graph(const struct kiln_graph *g, struct kiln_tensor *outs, struct kiln_diag *d)
{
    if (g->n_inputs != 0) {
        kiln_diag_error(d, "internal error: a graph to evaluate has inputs");
        return KILN_ERR_INTERNAL;
    }
    struct kiln_lmodule *m = NULL;
    struct kiln_lower_target t;
    kiln_llvm_vector_shape(NULL, &t);
    enum kiln_status st = kiln_lower_graph_for(g, &t, &m, d);
    if (st != KILN_OK)
        return st;
    void **out_ptrs = calloc((size_t)g->n_outputs + 1, sizeof *out_ptrs);
    KILN_ASSERT(out_ptrs);
    for (int32_t j = 0; j < g->n_outputs; j++)
        out_ptrs[j] = (void *)(uintptr_t)outs[j].data; /* the caller allocated it */
    int rc = 0;
    void *no_inputs[1] = {NULL}; /* run_v wants arrays, even empty ones */
    int64_t no_dims[1] = {0};
    st = kiln_llvm_jit_run(m, NULL, no_inputs, out_ptrs, no_dims, &rc, d);
    if (st == KILN_OK && rc != 0) {
        kiln_diag_error(d, "evaluating constants: the compiled code returned status %d", rc);
        st = KILN_ERR_INTERNAL;
    }
    free(out_ptrs);
    kiln_lmodule_free(m);
    return st;
}
