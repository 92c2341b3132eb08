/*
 * host.c - the host side of a compiled module, around the kernels emit.c
 * builds (emitter.h): the weights (globals, or offsets into a weights file),
 * the size check, shape and workspace-size entry functions (all their size
 * arithmetic checked: a size past KILN_RT_MAX_BYTES or an overflow is an error
 * status naming the value), the run function (workspace offsets from
 * memplan.c, If/Loop steps, the parallel calls of each kernel, --check-bounds
 * reports), the model descriptor the runtime and driver read, and the
 * --profile layer table.
 */
#include "codegen/llvm/emitter.h"

#include <llvm-c/Core.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- module-level pieces */

static LLVMValueRef
const_string(struct emitter *e, const char *s, const char *gname)
{
    LLVMValueRef str = LLVMConstStringInContext(e->ctx, s, (unsigned)strlen(s), 0);
    LLVMValueRef g = LLVMAddGlobal(e->mod, LLVMTypeOf(str), gname);
    LLVMSetInitializer(g, str);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    return g;
}

enum kiln_status
kiln_llvm_emit_weights(struct emitter *e, const struct kiln_llvm_opts *o)
{
    const struct kiln_lmodule *m = e->m;
    FILE *wf = NULL;
    if (e->external && !(wf = fopen(o->weights_path, "wb"))) {
        kiln_diag_error(e->d, "%s: cannot write the weights file", o->weights_path);
        return KILN_ERR_IO;
    }
    static const unsigned char zeros[64];
    uint64_t off = 0;
    bool io_err = false;
    bool *used = malloc((size_t)m->n_bufs + 1);
    KILN_ASSERT(used);
    kiln_lmodule_used_bufs(m, used);
    for (int32_t i = 0; i < m->n_bufs; i++) {
        const struct kiln_lbuf *b = &m->bufs[i];
        if (b->kind != KILN_LBUF_CONST || !used[i])
            continue;
        if (wf) {
            size_t pad = (size_t)((64 - off % 64) % 64);
            io_err |= pad && fwrite(zeros, 1, pad, wf) != pad;
            off += pad;
            e->woff[i] = off;
            io_err |= b->data->nbytes &&
                      fwrite(b->data->data, 1, (size_t)b->data->nbytes, wf) != b->data->nbytes;
            off += b->data->nbytes;
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "w%d", (int)i);
        LLVMValueRef init =
            LLVMConstStringInContext(e->ctx, b->data->data, (unsigned)b->data->nbytes, 1);
        LLVMValueRef g = LLVMAddGlobal(e->mod, LLVMTypeOf(init), name);
        LLVMSetInitializer(g, init);
        LLVMSetGlobalConstant(g, 1);
        LLVMSetLinkage(g, LLVMPrivateLinkage);
        LLVMSetAlignment(g, 64);
        e->consts[i] = g;
    }
    free(used);
    e->wsize = off;
    if (wf && (fclose(wf) != 0 || io_err)) {
        kiln_diag_error(e->d, "%s: writing the weights file failed", o->weights_path);
        return KILN_ERR_IO;
    }
    return KILN_OK;
}

/* An expression over the runtime dims only (sizes, trip counts), in the run or
 * workspace-size function, where no kernel's variables or buffers exist. */
static LLVMValueRef
emit_dims_expr(struct emitter *e, const struct kiln_lx *x)
{
    static const struct kiln_lkernel none;
    e->k = &none;
    kiln_llvm_cache_reset(e);
    return kiln_llvm_emit_lx(e, x);
}

/* Size of a buffer in bytes, rounded up to 64: numel * element size. */
static LLVMValueRef
buf_bytes(struct emitter *e, const struct kiln_lbuf *b)
{
    LLVMValueRef n = LLVMConstInt(e->t_i64, 1, 0);
    for (int r = 0; r < b->rank; r++)
        n = LLVMBuildMul(e->b, n, emit_dims_expr(e, b->dims[r]), "");
    uint64_t bytes = 0;
    kiln_dtype_storage_bytes(b->dtype, 1, &bytes);
    n = LLVMBuildMul(e->b, n, LLVMConstInt(e->t_i64, bytes, 0), "");
    n = LLVMBuildAdd(e->b, n, LLVMConstInt(e->t_i64, 63, 0), "");
    return LLVMBuildAnd(e->b, n, LLVMConstInt(e->t_i64, ~UINT64_C(63), 0), "");
}

/* ---------------------------------------------------------------- checked sizes */

/*
 * x over the runtime dims in overflow-checked arithmetic: *bad |= a signed
 * overflow. Sizes are built of constants, dims, +, - and * (lower.c's
 * dim_expr); the other operators a size may hold (division, min, max) cannot
 * overflow on the operands those give and are emitted as they are.
 */
static LLVMValueRef
dims_checked(struct emitter *e, const struct kiln_lx *x, LLVMValueRef *bad)
{
    const char *name = NULL;
    if (x->kind == KILN_LX_BINARY && x->lanes <= 1 && x->type == KILN_DT_I64)
        name = x->op == KILN_LX_ADD   ? "llvm.sadd.with.overflow"
               : x->op == KILN_LX_SUB ? "llvm.ssub.with.overflow"
               : x->op == KILN_LX_MUL ? "llvm.smul.with.overflow"
                                      : NULL;
    if (!name)
        return emit_dims_expr(e, x);
    LLVMValueRef args[2] = {dims_checked(e, x->a, bad), dims_checked(e, x->b, bad)};
    LLVMValueRef r = kiln_llvm_intrinsic(e, name, &e->t_i64, 1, args, 2);
    *bad = LLVMBuildOr(e->b, *bad, LLVMBuildExtractValue(e->b, r, 1, ""), "");
    return LLVMBuildExtractValue(e->b, r, 0, "");
}

/* x over the runtime dims in double (for a message about a size too large). */
static LLVMValueRef
dims_f64(struct emitter *e, const struct kiln_lx *x)
{
    LLVMTypeRef dt = LLVMDoubleTypeInContext(e->ctx);
    if (x->kind == KILN_LX_BINARY && x->lanes <= 1 &&
        (x->op == KILN_LX_ADD || x->op == KILN_LX_SUB || x->op == KILN_LX_MUL)) {
        LLVMValueRef a = dims_f64(e, x->a), b = dims_f64(e, x->b);
        return x->op == KILN_LX_ADD   ? LLVMBuildFAdd(e->b, a, b, "")
               : x->op == KILN_LX_SUB ? LLVMBuildFSub(e->b, a, b, "")
                                      : LLVMBuildFMul(e->b, a, b, "");
    }
    return LLVMBuildSIToFP(e->b, emit_dims_expr(e, x), dt, "");
}

/*
 * Bytes of buffer b at the runtime dims, checked: *bad |= a dim or product
 * that overflows or a size past KILN_RT_MAX_BYTES (2^48; runtime/kiln_rt.h).
 * An empty buffer (a dim 0) is 0 bytes, whatever its other dims. *approx
 * (may be NULL) gets the size in double.
 */
static LLVMValueRef
buf_bytes_checked(struct emitter *e, const struct kiln_lbuf *b, LLVMValueRef *bad,
                  LLVMValueRef *approx)
{
    LLVMValueRef zero = LLVMConstInt(e->t_i64, 0, 0), ovf = LLVMConstInt(e->t_i1, 0, 0);
    LLVMValueRef dbad = LLVMConstInt(e->t_i1, 0, 0); /* a dim itself: bad even when empty */
    LLVMValueRef empty = LLVMConstInt(e->t_i1, 0, 0), n = LLVMConstInt(e->t_i64, 1, 0);
    LLVMTypeRef dt = LLVMDoubleTypeInContext(e->ctx);
    LLVMValueRef f = LLVMConstReal(dt, 1);
    for (int r = 0; r < b->rank; r++) {
        kiln_llvm_cache_reset(e);
        LLVMValueRef d = dims_checked(e, b->dims[r], &dbad);
        empty = LLVMBuildOr(e->b, empty, LLVMBuildICmp(e->b, LLVMIntEQ, d, zero, ""), "");
        dbad = LLVMBuildOr(e->b, dbad, LLVMBuildICmp(e->b, LLVMIntSLT, d, zero, ""), "");
        LLVMValueRef args[2] = {n, d};
        LLVMValueRef m = kiln_llvm_intrinsic(e, "llvm.smul.with.overflow", &e->t_i64, 1, args, 2);
        ovf = LLVMBuildOr(e->b, ovf, LLVMBuildExtractValue(e->b, m, 1, ""), "");
        n = LLVMBuildExtractValue(e->b, m, 0, "");
        if (approx) {
            kiln_llvm_cache_reset(e);
            f = LLVMBuildFMul(e->b, f, dims_f64(e, b->dims[r]), "");
        }
    }
    int bits = kiln_dtype_bits(b->dtype);
    LLVMValueRef args[2] = {n, LLVMConstInt(e->t_i64, (unsigned long long)bits, 0)};
    LLVMValueRef m = kiln_llvm_intrinsic(e, "llvm.umul.with.overflow", &e->t_i64, 1, args, 2);
    ovf = LLVMBuildOr(e->b, ovf, LLVMBuildExtractValue(e->b, m, 1, ""), "");
    LLVMValueRef bytes = LLVMBuildUDiv(
        e->b,
        LLVMBuildAdd(e->b, LLVMBuildExtractValue(e->b, m, 0, ""), LLVMConstInt(e->t_i64, 7, 0), ""),
        LLVMConstInt(e->t_i64, 8, 0), "");
    ovf = LLVMBuildOr(
        e->b, ovf,
        LLVMBuildICmp(e->b, LLVMIntUGT, bytes, LLVMConstInt(e->t_i64, KILN_MAX_BYTES, 0), ""), "");
    LLVMValueRef not_empty = LLVMBuildNot(e->b, empty, "");
    *bad = LLVMBuildOr(e->b, *bad,
                       LLVMBuildOr(e->b, dbad, LLVMBuildAnd(e->b, ovf, not_empty, ""), ""), "");
    if (approx)
        *approx =
            LLVMBuildSelect(e->b, empty, LLVMConstReal(dt, 0),
                            LLVMBuildFMul(e->b, f, LLVMConstReal(dt, (double)bits / 8), ""), "");
    return LLVMBuildSelect(e->b, not_empty, bytes, zero, "");
}

/* Offsets of the temporaries in the workspace: offs[i] for temp buffer i; returns
 * the total. The plan of memplan.c where sizes are constants, else one after another. */
static LLVMValueRef
temp_offsets(struct emitter *e, LLVMValueRef *offs)
{
    if (e->planned) {
        for (int32_t i = 0; offs && i < e->m->n_bufs; i++)
            if (e->m->bufs[i].kind == KILN_LBUF_TEMP)
                offs[i] = LLVMConstInt(e->t_i64, (unsigned long long)e->plan[i], 0);
        return LLVMConstInt(e->t_i64, (unsigned long long)e->plan_total, 0);
    }
    LLVMValueRef off = LLVMConstInt(e->t_i64, 0, 0);
    for (int32_t i = 0; i < e->m->n_bufs; i++) {
        const struct kiln_lbuf *b = &e->m->bufs[i];
        if (b->kind != KILN_LBUF_TEMP || b->alias >= 0)
            continue;
        kiln_llvm_cache_reset(e);
        if (offs)
            offs[i] = off;
        off = LLVMBuildAdd(e->b, off, buf_bytes(e, b), "");
    }
    return off;
}

/* Whether buffer b's size depends on the runtime dims. */
static bool
buf_is_dynamic(const struct kiln_lbuf *b)
{
    for (int r = 0; r < b->rank; r++)
        if (b->dims[r]->kind != KILN_LX_IMM)
            return true;
    return false;
}

/* In fn: return value when cond (i1) holds; the builder continues where it does not. */
static void
ret_if(struct emitter *e, LLVMValueRef fn, LLVMValueRef cond, LLVMValueRef value, const char *name)
{
    LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(e->ctx, fn, name);
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(e->ctx, fn, "ok");
    LLVMBuildCondBr(e->b, cond, bad, ok);
    LLVMPositionBuilderAtEnd(e->b, bad);
    LLVMBuildRet(e->b, value);
    LLVMPositionBuilderAtEnd(e->b, ok);
}

/* In fn, after the dims were loaded: return KILN_RT_ERR_ARG (1) when a runtime dim is
 * negative; the builder continues where they are not. */
static void
refuse_negative_dims(struct emitter *e, LLVMValueRef fn)
{
    LLVMValueRef neg = LLVMConstInt(e->t_i1, 0, 0), zero = LLVMConstInt(e->t_i64, 0, 0);
    for (int32_t i = 0; i < e->m->n_dims; i++)
        neg = LLVMBuildOr(e->b, neg, LLVMBuildICmp(e->b, LLVMIntSLT, e->dims[i], zero, ""), "");
    ret_if(e, fn, neg, LLVMConstInt(e->t_i32, 1, 0), "dims.neg");
}

/* Store v through p unless p is NULL. */
static void
store_if(struct emitter *e, LLVMValueRef fn, LLVMValueRef v, LLVMValueRef p)
{
    LLVMBasicBlockRef st = LLVMAppendBasicBlockInContext(e->ctx, fn, "out.store");
    LLVMBasicBlockRef end = LLVMAppendBasicBlockInContext(e->ctx, fn, "out.end");
    LLVMBuildCondBr(e->b, LLVMBuildIsNull(e->b, p, ""), end, st);
    LLVMPositionBuilderAtEnd(e->b, st);
    LLVMBuildStore(e->b, v, p);
    LLVMBuildBr(e->b, end);
    LLVMPositionBuilderAtEnd(e->b, end);
}

/* On bad: store the name and approximate bytes (where asked) and return
 * KILN_RT_ERR_SIZE (7); the builder continues where it is not. */
static void
size_fail(struct emitter *e, LLVMValueRef fn, LLVMValueRef bad, const char *what, int32_t id,
          LLVMValueRef approx)
{
    LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(e->ctx, fn, "size.bad");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(e->ctx, fn, "size.ok");
    LLVMBuildCondBr(e->b, bad, fail, ok);
    LLVMPositionBuilderAtEnd(e->b, fail);
    char gname[48];
    snprintf(gname, sizeof gname, "size.name%d", (int)id);
    store_if(e, fn, const_string(e, what, gname), LLVMGetParam(fn, 1));
    store_if(e, fn, approx, LLVMGetParam(fn, 2));
    LLVMBuildRet(e->b, LLVMConstInt(e->t_i32, 7, 0));
    LLVMPositionBuilderAtEnd(e->b, ok);
}

/*
 * int NAME_check_sizes_v(const int64_t *dims, const char **value, double *bytes):
 * every size that depends on the runtime dims (inputs, outputs, temporaries,
 * the workspace they sum to) in checked arithmetic (kiln_rt.h). Fixed sizes
 * were checked at compile time (kiln_lmodule_check_sizes).
 */
LLVMValueRef
kiln_llvm_emit_check_sizes(struct emitter *e)
{
    const struct kiln_lmodule *m = e->m;
    char name[256];
    snprintf(name, sizeof name, "%s_check_sizes_v", m->name);
    LLVMTypeRef params[3] = {e->t_ptr, e->t_ptr, e->t_ptr};
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, LLVMFunctionType(e->t_i32, params, 3, 0));
    e->fn = fn;
    LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, fn, "entry"));
    if (m->n_dims) {
        ret_if(e, fn, LLVMBuildIsNull(e->b, LLVMGetParam(fn, 0), ""), LLVMConstInt(e->t_i32, 1, 0),
               "dims.null");
        kiln_llvm_load_dims(e, LLVMGetParam(fn, 0));
        refuse_negative_dims(e, fn);
    }
    /* dims the model requires equal (Concat's other axes, broadcast operands):
     * KILN_RT_ERR_ARG, *value saying which */
    for (int32_t i = 0; i < m->n_assumes; i++) {
        const struct kiln_lassume *as = &m->assumes[i];
        LLVMValueRef x = emit_dims_expr(e, as->a), y = emit_dims_expr(e, as->b);
        LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(e->ctx, fn, "assume.bad");
        LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(e->ctx, fn, "assume.ok");
        LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, as->ge ? LLVMIntSLT : LLVMIntNE, x, y, ""), fail,
                        ok);
        LLVMPositionBuilderAtEnd(e->b, fail);
        char gname[48];
        snprintf(gname, sizeof gname, "assume.text%d", (int)i);
        store_if(e, fn, const_string(e, as->text, gname), LLVMGetParam(fn, 1));
        LLVMBuildRet(e->b, LLVMConstInt(e->t_i32, 1, 0));
        LLVMPositionBuilderAtEnd(e->b, ok);
    }
    LLVMTypeRef dt = LLVMDoubleTypeInContext(e->ctx);
    LLVMValueRef total = LLVMConstInt(e->t_i64, 0, 0), tbad = LLVMConstInt(e->t_i1, 0, 0);
    LLVMValueRef tf = LLVMConstReal(dt, 0);
    for (int32_t i = 0; i < m->n_bufs; i++) {
        const struct kiln_lbuf *b = &m->bufs[i];
        bool io = b->kind == KILN_LBUF_INPUT || b->kind == KILN_LBUF_OUTPUT;
        bool temp = b->kind == KILN_LBUF_TEMP && b->alias < 0;
        if (!(io || temp) || !buf_is_dynamic(b))
            continue;
        LLVMValueRef bad = LLVMConstInt(e->t_i1, 0, 0), approx;
        LLVMValueRef bytes = buf_bytes_checked(e, b, &bad, &approx);
        size_fail(e, fn, bad, b->name, i, approx);
        if (!temp || e->planned)
            continue;
        /* temporaries one after another, each rounded up to 64 (temp_offsets) */
        LLVMValueRef r =
            LLVMBuildAnd(e->b, LLVMBuildAdd(e->b, bytes, LLVMConstInt(e->t_i64, 63, 0), ""),
                         LLVMConstInt(e->t_i64, ~UINT64_C(63), 0), "");
        LLVMValueRef args[2] = {total, r};
        LLVMValueRef s = kiln_llvm_intrinsic(e, "llvm.uadd.with.overflow", &e->t_i64, 1, args, 2);
        tbad = LLVMBuildOr(e->b, tbad, LLVMBuildExtractValue(e->b, s, 1, ""), "");
        total = LLVMBuildExtractValue(e->b, s, 0, "");
        tf = LLVMBuildFAdd(e->b, tf, approx, "");
    }
    if (!e->planned) { /* fixed temporaries count too */
        for (int32_t i = 0; i < m->n_bufs; i++) {
            const struct kiln_lbuf *b = &m->bufs[i];
            if (b->kind != KILN_LBUF_TEMP || b->alias >= 0 || buf_is_dynamic(b))
                continue;
            kiln_llvm_cache_reset(e);
            LLVMValueRef r = buf_bytes(e, b);
            LLVMValueRef args[2] = {total, r};
            LLVMValueRef s =
                kiln_llvm_intrinsic(e, "llvm.uadd.with.overflow", &e->t_i64, 1, args, 2);
            tbad = LLVMBuildOr(e->b, tbad, LLVMBuildExtractValue(e->b, s, 1, ""), "");
            total = LLVMBuildExtractValue(e->b, s, 0, "");
            tf = LLVMBuildFAdd(e->b, tf, LLVMBuildUIToFP(e->b, r, dt, ""), "");
        }
        tbad = LLVMBuildOr(
            e->b, tbad,
            LLVMBuildICmp(e->b, LLVMIntUGT, total, LLVMConstInt(e->t_i64, KILN_MAX_BYTES, 0), ""),
            "");
        size_fail(e, fn, tbad, "the workspace", m->n_bufs, tf);
    }
    LLVMBuildRet(e->b, LLVMConstInt(e->t_i32, 0, 0));
    return fn;
}

/* Call check_sizes(dims, NULL, NULL) in the function being built. */
static LLVMValueRef
call_check_sizes(struct emitter *e, LLVMValueRef check_fn, LLVMValueRef dims)
{
    LLVMTypeRef params[3] = {e->t_ptr, e->t_ptr, e->t_ptr};
    LLVMValueRef null = LLVMConstNull(e->t_ptr);
    LLVMValueRef args[3] = {dims, null, null};
    return LLVMBuildCall2(e->b, LLVMFunctionType(e->t_i32, params, 3, 0), check_fn, args, 3, "");
}

/* uint64_t NAME_workspace_size_v(const int64_t *dims): UINT64_MAX where check_sizes fails. */
LLVMValueRef
kiln_llvm_emit_workspace_size(struct emitter *e, LLVMValueRef check_fn)
{
    char name[256];
    snprintf(name, sizeof name, "%s_workspace_size_v", e->m->name);
    LLVMTypeRef ft = LLVMFunctionType(e->t_i64, &e->t_ptr, 1, 0);
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, ft);
    e->fn = fn;
    LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, fn, "entry"));
    LLVMValueRef rc = call_check_sizes(e, check_fn, LLVMGetParam(fn, 0));
    ret_if(e, fn, LLVMBuildICmp(e->b, LLVMIntNE, rc, LLVMConstInt(e->t_i32, 0, 0), ""),
           LLVMConstInt(e->t_i64, UINT64_MAX, 0), "too_large");
    kiln_llvm_load_dims(e, LLVMGetParam(fn, 0));
    LLVMBuildRet(e->b, temp_offsets(e, NULL));
    return fn;
}

/*
 * int NAME_shape_v(int output, int index, const int64_t *dims, int64_t *shape,
 * uint64_t *bytes): one input's or output's shape and size at the runtime
 * dims, checked (kiln_rt.h).
 */
LLVMValueRef
kiln_llvm_emit_shape(struct emitter *e)
{
    const struct kiln_lmodule *m = e->m;
    char name[256];
    snprintf(name, sizeof name, "%s_shape_v", m->name);
    LLVMTypeRef params[5] = {e->t_i32, e->t_i32, e->t_ptr, e->t_ptr, e->t_ptr};
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, LLVMFunctionType(e->t_i32, params, 5, 0));
    e->fn = fn;
    LLVMValueRef which = LLVMGetParam(fn, 0), index = LLVMGetParam(fn, 1);
    LLVMValueRef shape = LLVMGetParam(fn, 3), bytes_out = LLVMGetParam(fn, 4);
    LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, fn, "entry"));
    LLVMValueRef bad = LLVMBuildIsNull(e->b, shape, "");
    if (m->n_dims)
        bad = LLVMBuildOr(e->b, bad, LLVMBuildIsNull(e->b, LLVMGetParam(fn, 2), ""), "");
    ret_if(e, fn, bad, LLVMConstInt(e->t_i32, 1, 0), "bad_arg");
    if (m->n_dims) {
        kiln_llvm_load_dims(e, LLVMGetParam(fn, 2));
        refuse_negative_dims(e, fn);
    }
    for (int32_t i = 0; i < m->n_bufs; i++) {
        const struct kiln_lbuf *b = &m->bufs[i];
        if ((b->kind != KILN_LBUF_INPUT && b->kind != KILN_LBUF_OUTPUT) || b->io < 0)
            continue;
        LLVMValueRef is = LLVMBuildAnd(
            e->b,
            LLVMBuildICmp(e->b, LLVMIntEQ, which,
                          LLVMConstInt(e->t_i32, b->kind == KILN_LBUF_OUTPUT, 0), ""),
            LLVMBuildICmp(e->b, LLVMIntEQ, index, LLVMConstInt(e->t_i32, (unsigned)b->io, 0), ""),
            "");
        LLVMBasicBlockRef here = LLVMAppendBasicBlockInContext(e->ctx, fn, b->name);
        LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(e->ctx, fn, "next");
        LLVMBuildCondBr(e->b, is, here, next);
        LLVMPositionBuilderAtEnd(e->b, here);
        LLVMValueRef over = LLVMConstInt(e->t_i1, 0, 0);
        LLVMValueRef bytes = buf_bytes_checked(e, b, &over, NULL);
        ret_if(e, fn, over, LLVMConstInt(e->t_i32, 7, 0), "too_large");
        for (int r = 0; r < b->rank; r++) {
            kiln_llvm_cache_reset(e);
            LLVMValueRef ix = LLVMConstInt(e->t_i64, (unsigned long long)r, 0);
            LLVMBuildStore(e->b, emit_dims_expr(e, b->dims[r]),
                           LLVMBuildGEP2(e->b, e->t_i64, shape, &ix, 1, ""));
        }
        store_if(e, fn, bytes, bytes_out);
        LLVMBuildRet(e->b, LLVMConstInt(e->t_i32, 0, 0));
        LLVMPositionBuilderAtEnd(e->b, next);
    }
    LLVMBuildRet(e->b, LLVMConstInt(e->t_i32, 1, 0));
    return fn;
}

/* A view's base: its buffer's plus its offset (views of views resolved on the
 * way; the buffer's own pointer is already in ptrs unless it is a view). */
static LLVMValueRef
view_ptr(struct emitter *e, LLVMValueRef *ptrs, int32_t i)
{
    const struct kiln_lbuf *b = &e->m->bufs[i];
    if (b->alias < 0)
        return ptrs[i];
    uint64_t bytes = 0;
    KILN_ASSERT(kiln_dtype_storage_bytes(b->dtype, b->alias_off, &bytes));
    LLVMValueRef off = LLVMConstInt(e->t_i64, bytes, 0);
    return LLVMBuildGEP2(e->b, e->t_i8, view_ptr(e, ptrs, b->alias), &off, 1, b->name);
}

/* What the run function's step emitter needs. */
struct run_ctx {
    LLVMValueRef *kernels; /* per step: the kernel function (NULL for markers) */
    LLVMValueRef *ptrs;    /* per module buffer: its base pointer */
    LLVMValueRef arr;      /* the parameter array handed to kernels */
    LLVMTypeRef arr_t;
    LLVMValueRef dims_arg;
    LLVMValueRef pf;
    LLVMTypeRef pf_t;
    LLVMValueRef rec; /* --check-bounds: the record kernels fill */
};

/* --check-bounds, after kernel step i returned: when it left a record, report
 * it (kiln_rt_bounds_set: the kernel's and the buffer's names) and return
 * KILN_RT_ERR_BOUNDS (8). */
static void
bounds_after_call(struct emitter *e, struct run_ctx *rc, int32_t i)
{
    const struct kiln_lkernel *k = e->m->kernels[i];
    LLVMValueRef hit = LLVMBuildLoad2(
        e->b, e->t_i32, LLVMBuildStructGEP2(e->b, e->t_rec, rc->rec, REC_HIT, ""), "");
    LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "bounds.bad");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "bounds.ok");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntNE, hit, LLVMConstInt(e->t_i32, 0, 0), ""),
                    bad, ok);
    LLVMPositionBuilderAtEnd(e->b, bad);
    char gname[64];
    LLVMValueRef *names = calloc((size_t)k->n_bufs + 1, sizeof *names);
    KILN_ASSERT(names);
    for (int32_t s = 0; s < k->n_bufs; s++) {
        snprintf(gname, sizeof gname, "bounds.buf%d.%d", (int)i, (int)s);
        names[s] = const_string(e, e->m->bufs[k->bufs[s]].name, gname);
    }
    LLVMValueRef arr = LLVMConstArray2(e->t_ptr, names, (uint64_t)k->n_bufs);
    free(names);
    snprintf(gname, sizeof gname, "bounds.bufs%d", (int)i);
    LLVMValueRef table = LLVMAddGlobal(e->mod, LLVMTypeOf(arr), gname);
    LLVMSetInitializer(table, arr);
    LLVMSetGlobalConstant(table, 1);
    LLVMSetLinkage(table, LLVMPrivateLinkage);
    LLVMValueRef slot = LLVMBuildZExt(
        e->b,
        LLVMBuildLoad2(e->b, e->t_i32, LLVMBuildStructGEP2(e->b, e->t_rec, rc->rec, REC_SLOT, ""),
                       ""),
        e->t_i64, "");
    LLVMValueRef buf =
        LLVMBuildLoad2(e->b, e->t_ptr, LLVMBuildGEP2(e->b, e->t_ptr, table, &slot, 1, ""), "");
    snprintf(gname, sizeof gname, "bounds.kernel%d", (int)i);
    LLVMValueRef args[6] = {
        const_string(e, k->name, gname),
        buf,
        LLVMBuildLoad2(e->b, e->t_i64, LLVMBuildStructGEP2(e->b, e->t_rec, rc->rec, REC_INDEX, ""),
                       ""),
        LLVMBuildLoad2(e->b, e->t_i64, LLVMBuildStructGEP2(e->b, e->t_rec, rc->rec, REC_LANES, ""),
                       ""),
        LLVMBuildLoad2(e->b, e->t_i64, LLVMBuildStructGEP2(e->b, e->t_rec, rc->rec, REC_EXTENT, ""),
                       ""),
        LLVMBuildLoad2(e->b, e->t_i32, LLVMBuildStructGEP2(e->b, e->t_rec, rc->rec, REC_STORE, ""),
                       "")};
    LLVMTypeRef params[6] = {e->t_ptr, e->t_ptr, e->t_i64, e->t_i64, e->t_i64, e->t_i32};
    LLVMTypeRef ft = LLVMFunctionType(e->t_void, params, 6, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(e->mod, "kiln_rt_bounds_set");
    if (!fn)
        fn = LLVMAddFunction(e->mod, "kiln_rt_bounds_set", ft);
    LLVMBuildCall2(e->b, ft, fn, args, 6, "");
    LLVMBuildRet(e->b, LLVMConstInt(e->t_i32, 8, 0)); /* KILN_RT_ERR_BOUNDS */
    LLVMPositionBuilderAtEnd(e->b, ok);
}

static void
emit_kernel_call(struct emitter *e, struct run_ctx *rc, int32_t i)
{
    const struct kiln_lkernel *k = e->m->kernels[i];
    for (int32_t s = 0; s < k->n_bufs; s++) {
        LLVMValueRef ix[2] = {LLVMConstInt(e->t_i64, 0, 0),
                              LLVMConstInt(e->t_i64, (unsigned long long)s, 0)};
        LLVMBuildStore(e->b, rc->ptrs[k->bufs[s]],
                       LLVMBuildGEP2(e->b, rc->arr_t, rc->arr, ix, 2, ""));
    }
    if (e->check_bounds) {
        LLVMValueRef ix[2] = {LLVMConstInt(e->t_i64, 0, 0),
                              LLVMConstInt(e->t_i64, (unsigned long long)k->n_bufs, 0)};
        LLVMBuildStore(e->b, rc->rec, LLVMBuildGEP2(e->b, rc->arr_t, rc->arr, ix, 2, ""));
    }
    LLVMValueRef t0 = e->prof ? LLVMBuildCall2(e->b, e->now_t, e->now_fn, NULL, 0, "t0") : NULL;
    if (k->trip) {
        LLVMValueRef args[4] = {emit_dims_expr(e, k->trip), rc->kernels[i], rc->arr, rc->dims_arg};
        LLVMBuildCall2(e->b, rc->pf_t, rc->pf, args, 4, "");
    } else {
        LLVMValueRef args[4] = {rc->arr, rc->dims_arg, LLVMConstInt(e->t_i64, 0, 0),
                                LLVMConstInt(e->t_i64, 1, 0)};
        LLVMBuildCall2(e->b, e->t_kernel, rc->kernels[i], args, 4, "");
    }
    if (e->prof) { /* ms[layer] += now - t0 */
        LLVMTypeRef dt = LLVMDoubleTypeInContext(e->ctx);
        LLVMValueRef t1 = LLVMBuildCall2(e->b, e->now_t, e->now_fn, NULL, 0, "t1");
        LLVMValueRef ix = LLVMConstInt(e->t_i64, (unsigned long long)e->prof->kernel_layer[i], 0);
        LLVMValueRef slot = LLVMBuildGEP2(e->b, dt, e->prof_ms, &ix, 1, "");
        LLVMValueRef sum = LLVMBuildFAdd(e->b, LLVMBuildLoad2(e->b, dt, slot, ""),
                                         LLVMBuildFSub(e->b, t1, t0, ""), "");
        LLVMBuildStore(e->b, sum, slot);
    }
    if (e->check_bounds)
        bounds_after_call(e, rc, i);
}

/* Element 0 of a scalar buffer, as i1 (bool) or i64 (integers). */
static LLVMValueRef
load_scalar(struct emitter *e, struct run_ctx *rc, int32_t buf, bool as_bool)
{
    const struct kiln_lbuf *b = &e->m->bufs[buf];
    LLVMTypeRef mt = kiln_llvm_mem_type(e, b->dtype);
    LLVMValueRef v = LLVMBuildLoad2(e->b, mt, rc->ptrs[buf], "");
    if (as_bool)
        return LLVMBuildICmp(e->b, LLVMIntNE, v, LLVMConstInt(mt, 0, 0), "");
    return kiln_llvm_emit_cast(e, v, b->dtype, KILN_DT_I64);
}

/* Steps [from, to) of the module: kernel calls, and If/Loop markers with their bodies. */
static void
emit_steps(struct emitter *e, struct run_ctx *rc, int32_t from, int32_t to)
{
    for (int32_t i = from; i < to; i++) {
        const struct kiln_lkernel *k = e->m->kernels[i];
        if (k->step == KILN_LSTEP_KERNEL) {
            emit_kernel_call(e, rc, i);
            continue;
        }
        if (k->step == KILN_LSTEP_CHECK) {
            LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "check.fail");
            LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "check.ok");
            LLVMBuildCondBr(e->b, load_scalar(e, rc, k->cond_buf, true), ok, fail);
            LLVMPositionBuilderAtEnd(e->b, fail);
            LLVMBuildRet(e->b, LLVMConstInt(e->t_i32, 6, 0)); /* KILN_RT_ERR_SHAPE */
            LLVMPositionBuilderAtEnd(e->b, ok);
            continue;
        }
        if (k->step == KILN_LSTEP_IF) {
            LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "if.then");
            LLVMBasicBlockRef els = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "if.else");
            LLVMBasicBlockRef end = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "if.end");
            LLVMBuildCondBr(e->b, load_scalar(e, rc, k->cond_buf, true), then, els);
            LLVMPositionBuilderAtEnd(e->b, then);
            emit_steps(e, rc, i + 1, i + 1 + k->n_then);
            LLVMBuildBr(e->b, end);
            LLVMPositionBuilderAtEnd(e->b, els);
            emit_steps(e, rc, i + 1 + k->n_then, i + 1 + k->n_then + k->n_else);
            LLVMBuildBr(e->b, end);
            LLVMPositionBuilderAtEnd(e->b, end);
            i += k->n_then + k->n_else;
            continue;
        }
        /* LOOP: for (it = 0; it < trip && cond; it++) { iter = it; body } */
        LLVMValueRef trip = LLVMConstInt(e->t_i64, (unsigned long long)INT64_MAX, 0);
        if (k->trip_dims) {
            trip = emit_dims_expr(e, k->trip_dims);
        } else if (k->trip_buf >= 0) {
            trip = load_scalar(e, rc, k->trip_buf, false);
        }
        LLVMValueRef it = LLVMBuildAlloca(e->b, e->t_i64, "it");
        LLVMBuildStore(e->b, LLVMConstInt(e->t_i64, 0, 0), it);
        LLVMBasicBlockRef cond = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "loop.cond");
        LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "loop.body");
        LLVMBasicBlockRef end = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "loop.end");
        LLVMBuildBr(e->b, cond);
        LLVMPositionBuilderAtEnd(e->b, cond);
        LLVMValueRef iv = LLVMBuildLoad2(e->b, e->t_i64, it, "");
        LLVMValueRef go = LLVMBuildICmp(e->b, LLVMIntSLT, iv, trip, "");
        if (k->cond_buf >= 0)
            go = LLVMBuildAnd(e->b, go, load_scalar(e, rc, k->cond_buf, true), "");
        LLVMBuildCondBr(e->b, go, body, end);
        LLVMPositionBuilderAtEnd(e->b, body);
        if (k->iter_buf >= 0)
            LLVMBuildStore(e->b, iv, rc->ptrs[k->iter_buf]);
        emit_steps(e, rc, i + 1, i + 1 + k->n_body);
        LLVMBuildStore(e->b, LLVMBuildAdd(e->b, iv, LLVMConstInt(e->t_i64, 1, 0), ""), it);
        LLVMBuildBr(e->b, cond);
        LLVMPositionBuilderAtEnd(e->b, end);
        i += k->n_body;
    }
}

LLVMValueRef
kiln_llvm_emit_run(struct emitter *e, LLVMValueRef *kernels, LLVMValueRef check_fn)
{
    const struct kiln_lmodule *m = e->m;
    char name[256];
    snprintf(name, sizeof name, "%s_run_v", m->name);
    LLVMTypeRef params[4] = {e->t_ptr, e->t_ptr, e->t_ptr, e->t_ptr};
    LLVMTypeRef ft = LLVMFunctionType(e->t_i32, params, 4, 0);
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, ft);
    e->fn = fn;
    LLVMValueRef ins = LLVMGetParam(fn, 0), outs = LLVMGetParam(fn, 1);
    LLVMValueRef dims = LLVMGetParam(fn, 2), ws = LLVMGetParam(fn, 3);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->ctx, fn, "entry");
    LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(e->ctx, fn, "bad_args");
    LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(e->ctx, fn, "run");
    LLVMPositionBuilderAtEnd(e->b, entry);
    /* the largest kernel parameter list, reused by every call */
    int32_t max_bufs = 1;
    for (int32_t i = 0; i < m->n_kernels; i++)
        if (m->kernels[i]->n_bufs > max_bufs)
            max_bufs = m->kernels[i]->n_bufs;
    LLVMTypeRef arr_t = LLVMArrayType2(e->t_ptr, (uint64_t)max_bufs + e->check_bounds);
    LLVMValueRef arr = LLVMBuildAlloca(e->b, arr_t, "bufs");
    LLVMValueRef rec = NULL;
    if (e->check_bounds) {
        rec = LLVMBuildAlloca(e->b, e->t_rec, "bounds");
        LLVMBuildStore(e->b, LLVMConstInt(e->t_i32, 0, 0),
                       LLVMBuildStructGEP2(e->b, e->t_rec, rec, REC_HIT, ""));
    }
    LLVMValueRef null = LLVMConstNull(e->t_ptr);
    LLVMValueRef badc = LLVMBuildOr(e->b, LLVMBuildICmp(e->b, LLVMIntEQ, ins, null, ""),
                                    LLVMBuildICmp(e->b, LLVMIntEQ, outs, null, ""), "");
    LLVMValueRef weights = NULL;
    if (m->n_dims)
        badc = LLVMBuildOr(e->b, badc, LLVMBuildICmp(e->b, LLVMIntEQ, dims, null, ""), "");
    LLVMBuildCondBr(e->b, badc, bad, go);
    LLVMPositionBuilderAtEnd(e->b, bad);
    LLVMBuildRet(e->b, LLVMConstInt(e->t_i32, 1, 0)); /* KILN_RT_ERR_ARG */
    LLVMPositionBuilderAtEnd(e->b, go);
    if (e->external) {
        /* the weights come as the input after the last */
        LLVMValueRef ix = LLVMConstInt(e->t_i64, (unsigned long long)m->g->n_inputs, 0);
        weights = LLVMBuildLoad2(e->b, e->t_ptr, LLVMBuildGEP2(e->b, e->t_ptr, ins, &ix, 1, ""),
                                 "weights");
        LLVMBasicBlockRef go_w = LLVMAppendBasicBlockInContext(e->ctx, fn, "run.w");
        LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntEQ, weights, null, ""), bad, go_w);
        LLVMPositionBuilderAtEnd(e->b, go_w);
    }
    /* sizes at these dims, checked before anything is touched */
    LLVMValueRef size_rc = call_check_sizes(e, check_fn, dims);
    ret_if(e, fn, LLVMBuildICmp(e->b, LLVMIntNE, size_rc, LLVMConstInt(e->t_i32, 0, 0), ""),
           size_rc, "size.bad");
    if (m->n_dims)
        kiln_llvm_load_dims(e, dims);
    LLVMValueRef *ptrs = calloc((size_t)m->n_bufs + 1, sizeof *ptrs);
    KILN_ASSERT(ptrs);
    LLVMValueRef total = temp_offsets(e, ptrs);
    /* a workspace is needed only when there are temporaries */
    LLVMBasicBlockRef go2 = LLVMAppendBasicBlockInContext(e->ctx, fn, "run2");
    LLVMValueRef need = LLVMBuildICmp(e->b, LLVMIntNE, total, LLVMConstInt(e->t_i64, 0, 0), "");
    LLVMBuildCondBr(
        e->b, LLVMBuildAnd(e->b, need, LLVMBuildICmp(e->b, LLVMIntEQ, ws, null, ""), ""), bad, go2);
    LLVMPositionBuilderAtEnd(e->b, go2);
    for (int32_t i = 0; i < m->n_bufs; i++) {
        const struct kiln_lbuf *b = &m->bufs[i];
        LLVMValueRef ix;
        switch (b->kind) {
        case KILN_LBUF_INPUT:
        case KILN_LBUF_OUTPUT:
            ix = LLVMConstInt(e->t_i64, (unsigned long long)b->io, 0);
            ptrs[i] = LLVMBuildLoad2(
                e->b, e->t_ptr,
                LLVMBuildGEP2(e->b, e->t_ptr, b->kind == KILN_LBUF_INPUT ? ins : outs, &ix, 1, ""),
                b->name);
            break;
        case KILN_LBUF_CONST:
            if (e->external) {
                LLVMValueRef off = LLVMConstInt(e->t_i64, e->woff[i], 0);
                ptrs[i] = LLVMBuildGEP2(e->b, e->t_i8, weights, &off, 1, b->name);
            } else {
                ptrs[i] = e->consts[i] ? e->consts[i] : null; /* NULL: not emitted, not read */
            }
            break;
        case KILN_LBUF_TEMP: /* a view is placed below */
            if (b->alias < 0)
                ptrs[i] = LLVMBuildGEP2(e->b, e->t_i8, ws, &ptrs[i], 1, b->name);
            break;
        case KILN_LBUF_REG:   /* a fused kernel's local: never addressed */
        case KILN_LBUF_LOCAL: /* on the kernel's stack */
            ptrs[i] = null;
            break;
        }
    }
    for (int32_t i = 0; i < m->n_bufs; i++)
        if (m->bufs[i].alias >= 0)
            ptrs[i] = view_ptr(e, ptrs, i);
    LLVMTypeRef pf_params[4] = {e->t_i64, e->t_ptr, e->t_ptr, e->t_ptr};
    struct run_ctx rc = {
        .kernels = kernels,
        .ptrs = ptrs,
        .arr = arr,
        .arr_t = arr_t,
        .dims_arg = m->n_dims ? dims : null,
        .pf_t = LLVMFunctionType(e->t_void, pf_params, 4, 0),
        .rec = rec,
    };
    rc.pf = LLVMGetNamedFunction(e->mod, "kiln_rt_parallel_for");
    if (!rc.pf)
        rc.pf = LLVMAddFunction(e->mod, "kiln_rt_parallel_for", rc.pf_t);
    emit_steps(e, &rc, 0, m->n_kernels);
    free(ptrs);
    LLVMBuildRet(e->b, LLVMConstInt(e->t_i32, 0, 0));
    return fn;
}

/* struct kiln_rt_tensor_desc { const char *name; int dtype; int rank; const int64_t *dims; } */
static LLVMValueRef
tensor_descs(struct emitter *e, bool outputs, int32_t count)
{
    const struct kiln_lmodule *m = e->m;
    LLVMTypeRef fields[5] = {e->t_ptr, e->t_i32, e->t_i32, e->t_ptr, e->t_ptr};
    LLVMTypeRef dt = LLVMStructTypeInContext(e->ctx, fields, 5, 0);
    LLVMValueRef *elems = calloc((size_t)count + 1, sizeof *elems);
    KILN_ASSERT(elems);
    for (int32_t i = 0; i < m->n_bufs; i++) {
        const struct kiln_lbuf *b = &m->bufs[i];
        if (b->kind != (outputs ? KILN_LBUF_OUTPUT : KILN_LBUF_INPUT) || b->io < 0 ||
            b->io >= count)
            continue;
        char gname[64];
        snprintf(gname, sizeof gname, "%s.name%d", outputs ? "out" : "in", (int)b->io);
        LLVMValueRef *dv = calloc((size_t)b->rank + 1, sizeof *dv);
        KILN_ASSERT(dv);
        for (int r = 0; r < b->rank; r++) {
            const struct kiln_lx *x = b->dims[r];
            int64_t v = INT64_MIN; /* KILN_RT_DIM_EXPR: the model's shape() evaluates it */
            if (x->kind == KILN_LX_IMM)
                v = x->i;
            else if (x->kind == KILN_LX_DIM)
                v = -1 - x->dim;
            dv[r] = LLVMConstInt(e->t_i64, (unsigned long long)v, 1);
        }
        LLVMValueRef darr = LLVMConstArray2(e->t_i64, dv, (uint64_t)b->rank);
        snprintf(gname, sizeof gname, "%s.dims%d", outputs ? "out" : "in", (int)b->io);
        LLVMValueRef dg = LLVMAddGlobal(e->mod, LLVMTypeOf(darr), gname);
        LLVMSetInitializer(dg, darr);
        LLVMSetGlobalConstant(dg, 1);
        LLVMSetLinkage(dg, LLVMPrivateLinkage);
        free(dv);
        snprintf(gname, sizeof gname, "%s.name%d", outputs ? "out" : "in", (int)b->io);
        LLVMValueRef name = const_string(e, b->name, gname);
        char text[4096];
        kiln_lbuf_type_text(m, b, text, sizeof text);
        snprintf(gname, sizeof gname, "%s.type%d", outputs ? "out" : "in", (int)b->io);
        LLVMValueRef vals[5] = {
            name, LLVMConstInt(e->t_i32, (unsigned long long)kiln_dtype_to_onnx(b->dtype), 0),
            LLVMConstInt(e->t_i32, (unsigned long long)b->rank, 0), dg,
            const_string(e, text, gname)};
        elems[b->io] = LLVMConstNamedStruct(dt, vals, 5);
    }
    for (int32_t i = 0; i < count; i++)
        if (!elems[i])
            elems[i] = LLVMConstNull(dt);
    LLVMValueRef arr = LLVMConstArray2(dt, elems, (uint64_t)count);
    free(elems);
    LLVMValueRef g =
        LLVMAddGlobal(e->mod, LLVMTypeOf(arr), outputs ? "outputs.desc" : "inputs.desc");
    LLVMSetInitializer(g, arr);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    return g;
}

void
kiln_llvm_emit_descriptor(struct emitter *e, const struct entry_fns *fns, LLVMValueRef profile,
                          bool exe_entry, const char *weights_name)
{
    const struct kiln_lmodule *m = e->m;
    const struct kiln_graph *g = m->g;
    LLVMValueRef *dn = calloc((size_t)m->n_dims + 1, sizeof *dn);
    KILN_ASSERT(dn);
    for (int32_t i = 0; i < m->n_dims; i++) {
        char gname[32];
        snprintf(gname, sizeof gname, "dim.name%d", (int)i);
        dn[i] = const_string(e, m->dims[i].name, gname);
    }
    LLVMValueRef dna = LLVMConstArray2(e->t_ptr, dn, (uint64_t)m->n_dims);
    free(dn);
    LLVMValueRef dng = LLVMAddGlobal(e->mod, LLVMTypeOf(dna), "dim.names");
    LLVMSetInitializer(dng, dna);
    LLVMSetGlobalConstant(dng, 1);
    LLVMSetLinkage(dng, LLVMPrivateLinkage);
    LLVMTypeRef fields[14] = {e->t_ptr, e->t_i32, e->t_i32, e->t_i32, e->t_ptr, e->t_ptr, e->t_ptr,
                              e->t_ptr, e->t_ptr, e->t_ptr, e->t_i64, e->t_ptr, e->t_ptr, e->t_ptr};
    LLVMTypeRef mt = LLVMStructTypeInContext(e->ctx, fields, 14, 0);
    LLVMValueRef vals[14] = {
        const_string(e, m->name, "model.name"),
        LLVMConstInt(e->t_i32, (unsigned long long)g->n_inputs, 0),
        LLVMConstInt(e->t_i32, (unsigned long long)g->n_outputs, 0),
        LLVMConstInt(e->t_i32, (unsigned long long)m->n_dims, 0),
        tensor_descs(e, false, g->n_inputs),
        tensor_descs(e, true, g->n_outputs),
        dng,
        fns->workspace_size,
        fns->run,
        e->external ? const_string(e, weights_name, "weights.name") : LLVMConstNull(e->t_ptr),
        LLVMConstInt(e->t_i64, e->wsize, 0),
        profile,
        fns->shape,
        fns->check_sizes,
    };
    LLVMValueRef init = LLVMConstNamedStruct(mt, vals, 14);
    char name[256];
    snprintf(name, sizeof name, "%s_model", m->name);
    LLVMValueRef desc = LLVMAddGlobal(e->mod, mt, name);
    LLVMSetInitializer(desc, init);
    LLVMSetGlobalConstant(desc, 1);
    if (exe_entry) {
        LLVMValueRef alias = LLVMAddGlobal(e->mod, mt, "kiln_model");
        LLVMSetInitializer(alias, init);
        LLVMSetGlobalConstant(alias, 1);
    }
}

/* ---------------------------------------------------------------- profile */

/*
 * f32 FLOP per cycle of one core: vector lanes x 2 (an FMA is two) x FMA
 * pipes, from the target's features. AVX-512 counts two 512-bit pipes except
 * on Zen 4, which runs a 512-bit op on its two 256-bit pipes; AVX2 with FMA
 * two 256-bit pipes; AArch64 two 128-bit NEON pipes; without FMA a multiply
 * and an add pipe. A figure for the report, not a promise of the vendor's.
 */
static int
flop_per_cycle(const char *cpu, const char *features)
{
    bool arm = strstr(features, "+neon") != NULL;
    if (strstr(features, "+avx512f"))
        return strcmp(cpu, "znver4") == 0 ? 32 : 64;
    if (strstr(features, "+fma") && strstr(features, "+avx2"))
        return 32;
    if (strstr(features, "+avx"))
        return 16;
    return arm ? 16 : 8;
}

/* The table of kiln_rt_profile (runtime/kiln_rt.h) and its time array; sets
 * e->prof_ms and the clock function the run function calls. */
LLVMValueRef
kiln_llvm_emit_profile(struct emitter *e, LLVMTargetMachineRef tm)
{
    const struct kiln_lprof *p = e->prof;
    LLVMTypeRef dt = LLVMDoubleTypeInContext(e->ctx);
    LLVMTypeRef ms_t = LLVMArrayType2(dt, (uint64_t)p->n_layers);
    e->prof_ms = LLVMAddGlobal(e->mod, ms_t, "profile.ms");
    LLVMSetInitializer(e->prof_ms, LLVMConstNull(ms_t));
    LLVMSetLinkage(e->prof_ms, LLVMPrivateLinkage);
    e->now_t = LLVMFunctionType(dt, NULL, 0, 0);
    e->now_fn = LLVMAddFunction(e->mod, "kiln_rt_now_ms", e->now_t);

    LLVMTypeRef lf[6] = {e->t_ptr, e->t_ptr, e->t_ptr, e->t_i64, e->t_i64, e->t_ptr};
    LLVMTypeRef lt = LLVMStructTypeInContext(e->ctx, lf, 6, 0);
    LLVMValueRef *ls = calloc((size_t)p->n_layers + 1, sizeof *ls);
    KILN_ASSERT(ls);
    for (int32_t i = 0; i < p->n_layers; i++) {
        const struct kiln_lprof_layer *l = &p->layers[i];
        LLVMValueRef v[6] = {
            const_string(e, l->name, "layer.name"),
            const_string(e, l->op, "layer.op"),
            const_string(e, l->shape, "layer.shape"),
            LLVMConstInt(e->t_i64, (unsigned long long)l->flops, 1),
            LLVMConstInt(e->t_i64, (unsigned long long)l->bytes, 1),
            const_string(e, l->method, "layer.method"),
        };
        ls[i] = LLVMConstNamedStruct(lt, v, 6);
    }
    LLVMValueRef la = LLVMConstArray2(lt, ls, (uint64_t)p->n_layers);
    free(ls);
    LLVMValueRef layers = LLVMAddGlobal(e->mod, LLVMTypeOf(la), "profile.layers");
    LLVMSetInitializer(layers, la);
    LLVMSetGlobalConstant(layers, 1);
    LLVMSetLinkage(layers, LLVMPrivateLinkage);

    char *cpu = LLVMGetTargetMachineCPU(tm), *feat = LLVMGetTargetMachineFeatureString(tm);
    LLVMTypeRef pf[7] = {e->t_i32, e->t_ptr, e->t_ptr, e->t_i64, e->t_i64, e->t_i32, e->t_ptr};
    LLVMTypeRef pt = LLVMStructTypeInContext(e->ctx, pf, 7, 0);
    LLVMValueRef pv[7] = {
        LLVMConstInt(e->t_i32, (unsigned long long)p->n_layers, 0),
        layers,
        e->prof_ms,
        LLVMConstInt(e->t_i64, (unsigned long long)p->params, 0),
        LLVMConstInt(e->t_i64, (unsigned long long)p->param_bytes, 0),
        LLVMConstInt(e->t_i32, (unsigned long long)flop_per_cycle(cpu, feat), 0),
        const_string(e, cpu, "profile.cpu"),
    };
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(feat);
    LLVMValueRef prof = LLVMAddGlobal(e->mod, pt, "profile");
    LLVMSetInitializer(prof, LLVMConstNamedStruct(pt, pv, 7));
    LLVMSetGlobalConstant(prof, 1);
    LLVMSetLinkage(prof, LLVMPrivateLinkage);
    return prof;
}
