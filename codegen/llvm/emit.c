/*
 * emit.c - lowered kernels to LLVM IR through the C API, optimized with the
 * new pass manager and written by the target machine (contract in llvm.h).
 *
 * Each lowered kernel becomes an internal function; statements become basic
 * blocks (loops: preheader, condition, body, latch, exit); variables are
 * allocas in the entry block, which mem2reg promotes. Expressions are emitted
 * per statement with a cache keyed by node, so shared sub-expressions (index
 * arithmetic) are built once per statement; no expression spans control flow.
 *
 * Integer division and remainder guard their divisor (ONNX leaves division by
 * zero undefined; a compiled model must not trap on it): x / 0 gives 0.
 * Float-to-integer casts saturate (llvm.fptosi.sat), so out-of-range values
 * and NaN do not produce poison.
 *
 * Complexity: linear in the size of the lowered module, plus LLVM's own passes.
 */
#include "codegen/llvm/llvm.h"
#include "codegen/profile.h"

#include "codegen/llvm/build.h"
#include "codegen/llvm/emitter.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void
kiln_llvm_opts_default(struct kiln_llvm_opts *o)
{
    memset(o, 0, sizeof *o);
    o->opt_level = 3;
    o->pic = true; /* toolchains link position-independent executables by default */
    o->reassoc = true;
}

/* ---------------------------------------------------------------- types */

static bool
is_storage(enum kiln_dtype t)
{
    return (kiln_dtype_flags(t) & KILN_DTF_STORAGE) != 0;
}

static bool
is_subbyte(enum kiln_dtype t)
{
    return kiln_dtype_bits(t) < 8;
}

static LLVMTypeRef
dtype_type(struct emitter *e, enum kiln_dtype t)
{
    if (is_storage(t)) /* the code (float kinds) or the value (int4/int2), in a byte */
        return e->t_i8;
    switch (t) {
    case KILN_DT_BOOL:
        return e->t_i1;
    case KILN_DT_I8:
    case KILN_DT_U8:
        return e->t_i8;
    case KILN_DT_I16:
    case KILN_DT_U16:
        return LLVMInt16TypeInContext(e->ctx);
    case KILN_DT_I32:
    case KILN_DT_U32:
        return e->t_i32;
    case KILN_DT_I64:
    case KILN_DT_U64:
        return e->t_i64;
    case KILN_DT_F16:
        return LLVMHalfTypeInContext(e->ctx);
    case KILN_DT_BF16: /* its bits: LLVM's bfloat promotes through compiler-rt calls */
        return LLVMInt16TypeInContext(e->ctx);
    case KILN_DT_F32:
        return LLVMFloatTypeInContext(e->ctx);
    case KILN_DT_F64:
        return LLVMDoubleTypeInContext(e->ctx);
    default:
        KILN_ASSERT(!"dtype without an LLVM type");
        return NULL;
    }
}

/* A kernel variable's type: its dtype's, or a vector of them. */
static LLVMTypeRef
var_type(struct emitter *e, const struct kiln_lvar *v)
{
    LLVMTypeRef t = dtype_type(e, v->type);
    return v->lanes > 1 ? LLVMVectorType(t, (unsigned)v->lanes) : t;
}

/* In memory, bool is a byte. */
LLVMTypeRef
kiln_llvm_mem_type(struct emitter *e, enum kiln_dtype t)
{
    return t == KILN_DT_BOOL ? e->t_i8 : dtype_type(e, t);
}

static bool
is_signed(enum kiln_dtype t)
{
    return (kiln_dtype_flags(t) & KILN_DTF_SIGNED) != 0;
}

/* ---------------------------------------------------------------- intrinsics and libm */

LLVMValueRef
kiln_llvm_intrinsic(struct emitter *e, const char *name, LLVMTypeRef *types, unsigned n_types,
                    LLVMValueRef *args, unsigned n_args)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    KILN_ASSERT(id != 0);
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->mod, id, types, n_types);
    LLVMTypeRef ft = LLVMIntrinsicGetType(e->ctx, id, types, n_types);
    return LLVMBuildCall2(e->b, ft, f, args, n_args, "");
}

static LLVMValueRef
intrinsic1(struct emitter *e, const char *name, LLVMValueRef x)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    return kiln_llvm_intrinsic(e, name, &t, 1, &x, 1);
}

static LLVMValueRef
intrinsic2(struct emitter *e, const char *name, LLVMValueRef x, LLVMValueRef y)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef args[2] = {x, y};
    return kiln_llvm_intrinsic(e, name, &t, 1, args, 2);
}

/* Constants of scalar or vector type t: every lane `one`, or c. */
static LLVMValueRef
splat_const(LLVMTypeRef t, LLVMValueRef one)
{
    if (LLVMGetTypeKind(t) != LLVMVectorTypeKind)
        return one;
    unsigned n = LLVMGetVectorSize(t);
    LLVMValueRef lanes[64];
    KILN_ASSERT(n <= 64);
    for (unsigned i = 0; i < n; i++)
        lanes[i] = one;
    return LLVMConstVector(lanes, n);
}

static LLVMValueRef
fconst(LLVMTypeRef t, double c)
{
    bool vec = LLVMGetTypeKind(t) == LLVMVectorTypeKind;
    return splat_const(t, LLVMConstReal(vec ? LLVMGetElementType(t) : t, c));
}

static LLVMValueRef
iconst(LLVMTypeRef t, unsigned long long c)
{
    bool vec = LLVMGetTypeKind(t) == LLVMVectorTypeKind;
    return splat_const(t, LLVMConstInt(vec ? LLVMGetElementType(t) : t, c, 0));
}

/* Whether t is f32 or a vector of f32. */
static bool
is_f32(LLVMTypeRef t)
{
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind)
        t = LLVMGetElementType(t);
    return LLVMGetTypeKind(t) == LLVMFloatTypeKind;
}

/*
 * exp of an f32 (or a vector of them) in plain arithmetic, so that loops calling it vectorize (a
 * call to libm's expf stays scalar, and its underflow path sets errno):
 * x = n ln2 + r with |r| <= ln2/2 (ln2 split in a high part exact in f32 and
 * a low part), e^r by its Taylor series to r^7 (truncation below 6e-9
 * relative), times 2^n built in the exponent field, in two halves so that
 * results down to the subnormals come out. x > 88.73 gives inf, x < -103.98
 * gives 0, NaN stays NaN. Within about 1 ulp of a correctly rounded exp.
 */
static LLVMValueRef
exp_f32(struct emitter *e, LLVMValueRef x)
{
    LLVMTypeRef ft = LLVMTypeOf(x), it = LLVMInt32TypeInContext(e->ctx);
    if (LLVMGetTypeKind(ft) == LLVMVectorTypeKind)
        it = LLVMVectorType(it, LLVMGetVectorSize(ft));
    LLVMValueRef lo = fconst(ft, -104.0), hi = fconst(ft, 89.0);
    LLVMValueRef xc = intrinsic2(e, "llvm.maxnum", intrinsic2(e, "llvm.minnum", x, hi), lo);
    LLVMValueRef n =
        intrinsic1(e, "llvm.rint", LLVMBuildFMul(e->b, xc, fconst(ft, 1.44269504088896341), ""));
    LLVMValueRef r =
        LLVMBuildFSub(e->b, xc, LLVMBuildFMul(e->b, n, fconst(ft, 0.693359375), ""), "");
    r = LLVMBuildFSub(e->b, r, LLVMBuildFMul(e->b, n, fconst(ft, -2.12194440054690583e-4), ""), "");
    static const double inv_fact[] = {1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24,
                                      1.0 / 6,    0.5,       1.0,       1.0};
    LLVMValueRef p = fconst(ft, inv_fact[0]);
    for (int i = 1; i < 8; i++)
        p = LLVMBuildFAdd(e->b, LLVMBuildFMul(e->b, p, r, ""), fconst(ft, inv_fact[i]), "");
    LLVMValueRef ni = LLVMBuildFPToSI(e->b, n, it, "");
    LLVMValueRef n1 = LLVMBuildSDiv(e->b, ni, iconst(it, 2), "");
    LLVMValueRef n2 = LLVMBuildSub(e->b, ni, n1, "");
    LLVMValueRef bias = iconst(it, 127), sh = iconst(it, 23);
    LLVMValueRef s1 = LLVMBuildBitCast(
        e->b, LLVMBuildShl(e->b, LLVMBuildAdd(e->b, n1, bias, ""), sh, ""), ft, "");
    LLVMValueRef s2 = LLVMBuildBitCast(
        e->b, LLVMBuildShl(e->b, LLVMBuildAdd(e->b, n2, bias, ""), sh, ""), ft, "");
    LLVMValueRef y = LLVMBuildFMul(e->b, LLVMBuildFMul(e->b, p, s1, ""), s2, "");
    y = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, x, fconst(ft, 88.7228394), ""),
                        fconst(ft, INFINITY), y, "");
    y = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOLT, x, fconst(ft, -103.972084), ""),
                        fconst(ft, 0.0), y, "");
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealUNO, x, x, ""), x, y, "");
}

/* Horner evaluation of c[0] + c[1] x + ... + c[n-1] x^(n-1) in x's type. */
static LLVMValueRef
poly(struct emitter *e, LLVMValueRef x, const double *c, int n)
{
    LLVMTypeRef ft = LLVMTypeOf(x);
    LLVMValueRef p = fconst(ft, c[n - 1]);
    for (int i = n - 2; i >= 0; i--)
        p = LLVMBuildFAdd(e->b, LLVMBuildFMul(e->b, p, x, ""), fconst(ft, c[i]), "");
    return p;
}

/*
 * erf of an f32 in plain arithmetic (vectorizable, unlike libm's erff). Odd,
 * so computed on |x|: below 1, |x| P(x^2); from 1 to 3.92, 1 - exp(-x^2) Q(|x|);
 * above, 1 (erf rounds to 1 in f32 there). P and Q are least-squares
 * Chebyshev fits made for kiln (erf(x)/x in x^2 on [0, 1], degree 5;
 * erfc(x) e^(x^2) on [1, 4], degree 10): within 1.6e-7 relative, 2 ulp
 * (tests/lit/codegen/math-f32.test).
 */
static LLVMValueRef
erf_f32(struct emitter *e, LLVMValueRef x)
{
    static const double p[] = {1.1283790789901427,    -0.37612264472646911,
                               0.11279986891923963,   -0.026710286848889077,
                               0.0049197795104413012, -0.00056508536645904703};
    static const double q[] = {
        0.99261173046378182,    -1.0839448046784166,    0.87786314067083104,
        -0.54721553254335087,   0.26207021736140568,    -0.094916440339386135,
        0.025372596250686181,   -0.0048285365239329296, 0.00061670311096763311,
        -4.726826683044627e-05, 1.6403539215643027e-06};
    LLVMTypeRef ft = LLVMTypeOf(x);
    LLVMValueRef one = fconst(ft, 1.0);
    LLVMValueRef ax = intrinsic1(e, "llvm.fabs", x);
    LLVMValueRef u = LLVMBuildFMul(e->b, x, x, "");
    LLVMValueRef small = LLVMBuildFMul(e->b, ax, poly(e, u, p, 6), "");
    LLVMValueRef axc = intrinsic2(e, "llvm.minnum", ax, fconst(ft, 4.0));
    LLVMValueRef big = LLVMBuildFSub(
        e->b, one,
        LLVMBuildFMul(e->b, exp_f32(e, LLVMBuildFNeg(e->b, LLVMBuildFMul(e->b, axc, axc, ""), "")),
                      poly(e, axc, q, 11), ""),
        "");
    LLVMValueRef y = LLVMBuildSelect(
        e->b, LLVMBuildFCmp(e->b, LLVMRealOLT, ax, one, ""), small,
        LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOLT, ax, fconst(ft, 3.92), ""), big, one,
                        ""),
        "");
    y = intrinsic2(e, "llvm.copysign", y, x);
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealUNO, x, x, ""), x, y, "");
}

/*
 * tanh of an f32 in plain arithmetic (vectorizable, unlike libm's tanhf). Odd,
 * so computed on |x|: below 0.625, |x| P(x^2), P a least-squares fit of
 * tanh(x)/x in x^2 on [0, 0.625] made for kiln (degree 5, within 4.6e-9
 * relative); above, 1 - 2 / (e^(2|x|) + 1), whose subtraction loses nothing
 * there (the result is at least 0.55) and which reaches 1 as e^(2|x|)
 * overflows. NaN stays NaN. Within about 2 ulp
 * (tests/lit/codegen/math-f32.test).
 */
static LLVMValueRef
tanh_f32(struct emitter *e, LLVMValueRef x)
{
    static const double p[] = {1.0,
                               -0.33333285219564557,
                               0.13331512665017742,
                               -0.05374465790198562,
                               0.02065312451916941,
                               -0.005718962564466133};
    LLVMTypeRef ft = LLVMTypeOf(x);
    LLVMValueRef one = fconst(ft, 1.0);
    LLVMValueRef ax = intrinsic1(e, "llvm.fabs", x);
    LLVMValueRef small = LLVMBuildFMul(e->b, ax, poly(e, LLVMBuildFMul(e->b, x, x, ""), p, 6), "");
    LLVMValueRef ex = exp_f32(e, LLVMBuildFAdd(e->b, ax, ax, ""));
    LLVMValueRef big = LLVMBuildFSub(
        e->b, one, LLVMBuildFDiv(e->b, fconst(ft, 2.0), LLVMBuildFAdd(e->b, ex, one, ""), ""), "");
    LLVMValueRef y = LLVMBuildSelect(
        e->b, LLVMBuildFCmp(e->b, LLVMRealOLT, ax, fconst(ft, 0.625), ""), small, big, "");
    y = intrinsic2(e, "llvm.copysign", y, x);
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealUNO, x, x, ""), x, y, "");
}

/* A libm function of one or two float/double arguments ("tanf" / "tan"). */
static LLVMValueRef
libm(struct emitter *e, const char *base, LLVMValueRef x, LLVMValueRef y)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    bool f32 = LLVMGetTypeKind(t) == LLVMFloatTypeKind;
    char name[32];
    snprintf(name, sizeof name, "%s%s", base, f32 ? "f" : "");
    LLVMTypeRef params[2] = {t, t};
    LLVMTypeRef ft = LLVMFunctionType(t, params, y ? 2 : 1, 0);
    LLVMValueRef f = LLVMGetNamedFunction(e->mod, name);
    if (!f) {
        f = LLVMAddFunction(e->mod, name, ft);
        LLVMSetLinkage(f, LLVMExternalLinkage);
    }
    LLVMValueRef args[2] = {x, y};
    return LLVMBuildCall2(e->b, ft, f, args, y ? 2 : 1, "");
}

/* ---------------------------------------------------------------- expressions */

void
kiln_llvm_cache_reset(struct emitter *e)
{
    if (e->cused) {
        memset(e->ckeys, 0, e->ccap * sizeof *e->ckeys);
        e->cused = 0;
    }
}

static uint32_t
cache_slot(struct emitter *e, const struct kiln_lx *x)
{
    uint32_t h = (uint32_t)(((uintptr_t)x >> 4) * 2654435761u) & (e->ccap - 1);
    while (e->ckeys[h] && e->ckeys[h] != x)
        h = (h + 1) & (e->ccap - 1);
    return h;
}

static void
cache_put(struct emitter *e, const struct kiln_lx *x, LLVMValueRef v)
{
    if ((e->cused + 1) * 2 > e->ccap) {
        uint32_t oc = e->ccap;
        const struct kiln_lx **ok = e->ckeys;
        LLVMValueRef *ov = e->cvals;
        e->ccap = oc ? oc * 2 : 256;
        e->ckeys = calloc(e->ccap, sizeof *e->ckeys);
        e->cvals = calloc(e->ccap, sizeof *e->cvals);
        KILN_ASSERT(e->ckeys && e->cvals);
        e->cused = 0;
        for (uint32_t i = 0; i < oc; i++) {
            if (ok[i]) {
                uint32_t h = cache_slot(e, ok[i]);
                e->ckeys[h] = ok[i];
                e->cvals[h] = ov[i];
                e->cused++;
            }
        }
        free(ok);
        free(ov);
    }
    uint32_t h = cache_slot(e, x);
    if (!e->ckeys[h])
        e->cused++;
    e->ckeys[h] = x;
    e->cvals[h] = v;
}

/* Elements [idx, idx + lanes) of slot's buffer must be inside it; else the
 * kernel records the access and returns. The builder goes on where they are. */
static void
bounds_check(struct emitter *e, int32_t slot, LLVMValueRef idx, int32_t lanes, bool store)
{
    if (!e->check_bounds || !e->extent || !e->extent[slot])
        return;
    LLVMValueRef ext = e->extent[slot];
    LLVMValueRef ok = LLVMBuildICmp(e->b, LLVMIntULT, idx, ext, "");
    if (lanes > 1)
        ok = LLVMBuildAnd(e->b, ok,
                          LLVMBuildICmp(e->b, LLVMIntULE,
                                        LLVMConstInt(e->t_i64, (unsigned long long)lanes, 0),
                                        LLVMBuildSub(e->b, ext, idx, ""), ""),
                          "");
    LLVMBasicBlockRef oob = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "oob");
    LLVMBasicBlockRef fill = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "oob.fill");
    LLVMBasicBlockRef out = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "oob.ret");
    LLVMBasicBlockRef in = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "inb");
    LLVMBuildCondBr(e->b, ok, in, oob);
    LLVMPositionBuilderAtEnd(e->b, oob);
    LLVMValueRef hit = LLVMBuildStructGEP2(e->b, e->t_rec, e->rec, REC_HIT, "");
    LLVMValueRef x = LLVMBuildAtomicCmpXchg(
        e->b, hit, LLVMConstInt(e->t_i32, 0, 0), LLVMConstInt(e->t_i32, 1, 0),
        LLVMAtomicOrderingSequentiallyConsistent, LLVMAtomicOrderingSequentiallyConsistent, 0);
    LLVMBuildCondBr(e->b, LLVMBuildExtractValue(e->b, x, 1, ""), fill, out);
    LLVMPositionBuilderAtEnd(e->b, fill);
    LLVMValueRef fields[5][2] = {
        {LLVMConstInt(e->t_i32, (unsigned long long)slot, 0), NULL},
        {LLVMConstInt(e->t_i32, store, 0), NULL},
        {idx, NULL},
        {LLVMConstInt(e->t_i64, (unsigned long long)lanes, 0), NULL},
        {ext, NULL},
    };
    for (int f = 0; f < 5; f++)
        LLVMBuildStore(e->b, fields[f][0],
                       LLVMBuildStructGEP2(e->b, e->t_rec, e->rec, (unsigned)(REC_SLOT + f), ""));
    LLVMBuildBr(e->b, out);
    LLVMPositionBuilderAtEnd(e->b, out);
    LLVMBuildRetVoid(e->b);
    LLVMPositionBuilderAtEnd(e->b, in);
}

static LLVMValueRef bf16_to_f32(struct emitter *e, LLVMValueRef v);
static LLVMValueRef intrinsic1(struct emitter *e, const char *name, LLVMValueRef x);

/* A runtime conversion of the float8/float4 formats (runtime/convert.c). */
static LLVMValueRef
fp8_call(struct emitter *e, bool decode, enum kiln_dtype t, LLVMValueRef v, bool saturate)
{
    LLVMTypeRef f32 = LLVMFloatTypeInContext(e->ctx);
    LLVMTypeRef params[3] = {e->t_i32, decode ? e->t_i8 : f32, e->t_i32};
    LLVMTypeRef ft = LLVMFunctionType(decode ? f32 : e->t_i8, params, decode ? 2 : 3, 0);
    const char *name = decode ? "kiln_rt_fp8_to_f32" : "kiln_rt_f32_to_fp8";
    LLVMValueRef f = LLVMGetNamedFunction(e->mod, name);
    if (!f)
        f = LLVMAddFunction(e->mod, name, ft);
    LLVMValueRef args[3] = {LLVMConstInt(e->t_i32, (unsigned long long)kiln_dtype_to_onnx(t), 0), v,
                            LLVMConstInt(e->t_i32, saturate, 0)};
    return LLVMBuildCall2(e->b, ft, f, args, decode ? 2 : 3, "");
}

/* Casts that involve a storage-only type: through f32 (float kinds) or i8/u8. */
static LLVMValueRef
storage_cast(struct emitter *e, LLVMValueRef v, enum kiln_dtype from, enum kiln_dtype to,
             bool saturate)
{
    if (from == KILN_DT_BF16) { /* its bits: widen first */
        v = bf16_to_f32(e, v);
        from = KILN_DT_F32;
    }
    if (is_storage(from)) {
        if (kiln_dtype_is_float(from)) {
            v = fp8_call(e, true, from, v, true);
            from = KILN_DT_F32;
        } else {
            from = (kiln_dtype_flags(from) & KILN_DTF_SIGNED) ? KILN_DT_I8 : KILN_DT_U8;
        }
        if (from == to)
            return v;
        if (!is_storage(to))
            return kiln_llvm_emit_cast(e, v, from, to);
    }
    if (kiln_dtype_is_float(to)) {
        v = kiln_llvm_emit_cast(e, v, from, KILN_DT_F32);
        return fp8_call(e, false, to, v, saturate);
    }
    /* int4/int2: the byte value; stores keep the low bits. From floats
     * (docs/semantics.md): truncate toward zero, then keep the low bits as
     * the spec's integer narrowing does; NaN and infinities give 0, and so do
     * magnitudes of 2^63 and more (whose low bits are 0: they are multiples
     * of their ulp, at least 2^40). */
    enum kiln_dtype mid = (kiln_dtype_flags(to) & KILN_DTF_SIGNED) ? KILN_DT_I8 : KILN_DT_U8;
    if (kiln_dtype_is_float(from)) {
        LLVMValueRef w = kiln_llvm_emit_cast(e, v, from, KILN_DT_I64);
        LLVMValueRef fits = LLVMBuildFCmp(e->b, LLVMRealOLT, intrinsic1(e, "llvm.fabs", v),
                                          LLVMConstReal(LLVMTypeOf(v), 0x1p63), "");
        w = LLVMBuildSelect(e->b, fits, w, LLVMConstInt(e->t_i64, 0, 0), "");
        return LLVMBuildTrunc(e->b, w, e->t_i8, "");
    }
    return from == mid ? v : kiln_llvm_emit_cast(e, v, from, mid);
}

/*
 * Any value to bf16 in integer arithmetic, as the runtime's kiln_rt_f32_to_bf16
 * does: through f32 (as ONNX Runtime and ml_dtypes convert f64 and integers),
 * then round to nearest even, a NaN kept and made quiet. LLVM's fptrunc to
 * bfloat is a call to compiler-rt's __truncsfbf2 where the CPU has no
 * conversion instruction (AVX2 hosts; libgcc has no such function); this
 * spelling gives the same bits on every target.
 *
 * A bf16 value is its 16 bits (an i16) in the emitted code: LLVM's bfloat type
 * is legal on few CPUs, and elsewhere its vector selects and shuffles are
 * legalized by promotion to f32 and a truncating call back.
 */
static LLVMValueRef
to_bf16(struct emitter *e, LLVMValueRef v, enum kiln_dtype from)
{
    LLVMTypeRef i32 = e->t_i32;
    v = kiln_llvm_emit_cast(e, v, from, KILN_DT_F32);
    LLVMValueRef x = LLVMBuildBitCast(e->b, v, i32, "");
    LLVMValueRef nan =
        LLVMBuildICmp(e->b, LLVMIntUGT, LLVMBuildAnd(e->b, x, iconst(i32, 0x7fffffffu), ""),
                      iconst(i32, 0x7f800000u), "");
    LLVMValueRef hi = LLVMBuildLShr(e->b, x, iconst(i32, 16), "");
    LLVMValueRef quiet = LLVMBuildOr(e->b, hi, iconst(i32, 0x40), "");
    LLVMValueRef odd = LLVMBuildAnd(e->b, hi, iconst(i32, 1), "");
    LLVMValueRef r = LLVMBuildAdd(e->b, x, LLVMBuildAdd(e->b, odd, iconst(i32, 0x7fff), ""), "");
    r = LLVMBuildSelect(e->b, nan, quiet, LLVMBuildLShr(e->b, r, iconst(i32, 16), ""), "");
    return LLVMBuildTrunc(e->b, r, LLVMInt16TypeInContext(e->ctx), "");
}

/* bf16 bits to the f32 of the same value (exact). */
static LLVMValueRef
bf16_to_f32(struct emitter *e, LLVMValueRef v)
{
    LLVMValueRef w = LLVMBuildZExt(e->b, v, e->t_i32, "");
    w = LLVMBuildShl(e->b, w, iconst(e->t_i32, 16), "");
    return LLVMBuildBitCast(e->b, w, LLVMFloatTypeInContext(e->ctx), "");
}

LLVMValueRef
kiln_llvm_emit_cast(struct emitter *e, LLVMValueRef v, enum kiln_dtype from, enum kiln_dtype to)
{
    if (from == to)
        return v;
    if (from == KILN_DT_BF16) {
        v = bf16_to_f32(e, v);
        if (to == KILN_DT_F32)
            return v;
        from = KILN_DT_F32;
    }
    if (to == KILN_DT_BF16 && !is_storage(from))
        return to_bf16(e, v, from);
    if (is_storage(from) || is_storage(to))
        return storage_cast(e, v, from, to, true);
    LLVMTypeRef tt = dtype_type(e, to);
    bool ff = kiln_dtype_is_float(from), tf = kiln_dtype_is_float(to);
    if (to == KILN_DT_BOOL) {
        if (ff)
            return LLVMBuildFCmp(e->b, LLVMRealUNE, v, LLVMConstReal(LLVMTypeOf(v), 0), "");
        return LLVMBuildICmp(e->b, LLVMIntNE, v, LLVMConstInt(LLVMTypeOf(v), 0, 0), "");
    }
    if (from == KILN_DT_BOOL)
        return tf ? LLVMBuildUIToFP(e->b, v, tt, "") : LLVMBuildZExt(e->b, v, tt, "");
    if (ff && tf) {
        return kiln_dtype_bits(to) > kiln_dtype_bits(from) ? LLVMBuildFPExt(e->b, v, tt, "")
                                                           : LLVMBuildFPTrunc(e->b, v, tt, "");
    }
    if (ff) {
        LLVMTypeRef types[2] = {tt, LLVMTypeOf(v)};
        return kiln_llvm_intrinsic(e, is_signed(to) ? "llvm.fptosi.sat" : "llvm.fptoui.sat", types,
                                   2, &v, 1);
    }
    if (tf)
        return is_signed(from) ? LLVMBuildSIToFP(e->b, v, tt, "")
                               : LLVMBuildUIToFP(e->b, v, tt, "");
    int fb = kiln_dtype_bits(from), tb = kiln_dtype_bits(to);
    if (tb == fb)
        return v;
    if (tb < fb)
        return LLVMBuildTrunc(e->b, v, tt, "");
    return is_signed(from) ? LLVMBuildSExt(e->b, v, tt, "") : LLVMBuildZExt(e->b, v, tt, "");
}

static LLVMValueRef
emit_unary(struct emitter *e, const struct kiln_lx *x, LLVMValueRef a)
{
    enum kiln_dtype t = x->a->type;
    bool fl = kiln_dtype_is_float(t);
    switch (x->op) {
    case KILN_LX_NEG:
        return fl ? LLVMBuildFNeg(e->b, a, "") : LLVMBuildNeg(e->b, a, "");
    case KILN_LX_ABS:
        if (fl)
            return intrinsic1(e, "llvm.fabs", a);
        {
            LLVMValueRef args[2] = {a, LLVMConstInt(e->t_i1, 0, 0)};
            LLVMTypeRef ty = LLVMTypeOf(a);
            return is_signed(t) ? kiln_llvm_intrinsic(e, "llvm.abs", &ty, 1, args, 2) : a;
        }
    case KILN_LX_NOT:
        return LLVMBuildNot(e->b, a, "");
    case KILN_LX_SQRT:
        return intrinsic1(e, "llvm.sqrt", a);
    case KILN_LX_EXP:
        if (is_f32(LLVMTypeOf(a)))
            return exp_f32(e, a);
        return intrinsic1(e, "llvm.exp", a);
    case KILN_LX_LOG:
        return intrinsic1(e, "llvm.log", a);
    case KILN_LX_SIN:
        return intrinsic1(e, "llvm.sin", a);
    case KILN_LX_COS:
        return intrinsic1(e, "llvm.cos", a);
    case KILN_LX_FLOOR:
        return intrinsic1(e, "llvm.floor", a);
    case KILN_LX_CEIL:
        return intrinsic1(e, "llvm.ceil", a);
    case KILN_LX_ROUND:
        return intrinsic1(e, "llvm.roundeven", a);
    case KILN_LX_TRUNC:
        return intrinsic1(e, "llvm.trunc", a);
    case KILN_LX_TAN:
        return libm(e, "tan", a, NULL);
    case KILN_LX_ASIN:
        return libm(e, "asin", a, NULL);
    case KILN_LX_ACOS:
        return libm(e, "acos", a, NULL);
    case KILN_LX_ATAN:
        return libm(e, "atan", a, NULL);
    case KILN_LX_SINH:
        return libm(e, "sinh", a, NULL);
    case KILN_LX_COSH:
        return libm(e, "cosh", a, NULL);
    case KILN_LX_TANH:
        if (is_f32(LLVMTypeOf(a)))
            return tanh_f32(e, a);
        return libm(e, "tanh", a, NULL);
    case KILN_LX_ASINH:
        return libm(e, "asinh", a, NULL);
    case KILN_LX_ACOSH:
        return libm(e, "acosh", a, NULL);
    case KILN_LX_ATANH:
        return libm(e, "atanh", a, NULL);
    case KILN_LX_ERF:
        if (is_f32(LLVMTypeOf(a)))
            return erf_f32(e, a);
        return libm(e, "erf", a, NULL);
    case KILN_LX_ISNAN:
        return LLVMBuildFCmp(e->b, LLVMRealUNO, a, a, "");
    case KILN_LX_ISINF:
        return LLVMBuildFCmp(e->b, LLVMRealOEQ, intrinsic1(e, "llvm.fabs", a),
                             LLVMConstReal(LLVMTypeOf(a), __builtin_inf()), "");
    default:
        KILN_ASSERT(!"not a unary operator");
        return NULL;
    }
}

/* Integer x / y and x % y that never trap: a zero divisor (or INT_MIN / -1)
 * gives 0. */
static LLVMValueRef
safe_idiv(struct emitter *e, bool rem, bool sgn, LLVMValueRef a, LLVMValueRef b)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    if (LLVMIsAConstantInt(b) && LLVMConstIntGetSExtValue(b) != 0 &&
        !(sgn && LLVMConstIntGetSExtValue(b) == -1)) {
        if (rem)
            return sgn ? LLVMBuildSRem(e->b, a, b, "") : LLVMBuildURem(e->b, a, b, "");
        return sgn ? LLVMBuildSDiv(e->b, a, b, "") : LLVMBuildUDiv(e->b, a, b, "");
    }
    LLVMValueRef zero = LLVMConstInt(t, 0, 0), one = LLVMConstInt(t, 1, 0);
    LLVMValueRef bad = LLVMBuildICmp(e->b, LLVMIntEQ, b, zero, "");
    if (sgn) {
        LLVMValueRef m1 = LLVMBuildICmp(e->b, LLVMIntEQ, b, LLVMConstAllOnes(t), "");
        bad = LLVMBuildOr(e->b, bad, m1, "");
    }
    LLVMValueRef safe = LLVMBuildSelect(e->b, bad, one, b, "");
    LLVMValueRef q;
    if (rem)
        q = sgn ? LLVMBuildSRem(e->b, a, safe, "") : LLVMBuildURem(e->b, a, safe, "");
    else
        q = sgn ? LLVMBuildSDiv(e->b, a, safe, "") : LLVMBuildUDiv(e->b, a, safe, "");
    if (sgn) { /* x / -1 is -x and x % -1 is 0, both well defined with wrapping */
        LLVMValueRef m1 = LLVMBuildICmp(e->b, LLVMIntEQ, b, LLVMConstAllOnes(t), "");
        LLVMValueRef alt = rem ? zero : LLVMBuildNeg(e->b, a, "");
        q = LLVMBuildSelect(e->b, m1, alt, q, "");
        LLVMValueRef z = LLVMBuildICmp(e->b, LLVMIntEQ, b, zero, "");
        return LLVMBuildSelect(e->b, z, zero, q, "");
    }
    return LLVMBuildSelect(e->b, bad, zero, q, "");
}

static LLVMValueRef
emit_binary(struct emitter *e, const struct kiln_lx *x, LLVMValueRef a, LLVMValueRef b)
{
    enum kiln_dtype t = x->a->type;
    bool fl = kiln_dtype_is_float(t), sgn = is_signed(t);
    LLVMValueRef r;
    switch (x->op) {
    case KILN_LX_ADD:
        if (!fl)
            return LLVMBuildAdd(e->b, a, b, "");
        r = LLVMBuildFAdd(e->b, a, b, "");
        LLVMSetFastMathFlags(r, e->fmf);
        return r;
    case KILN_LX_SUB:
        if (!fl)
            return LLVMBuildSub(e->b, a, b, "");
        r = LLVMBuildFSub(e->b, a, b, "");
        LLVMSetFastMathFlags(r, e->fmf);
        return r;
    case KILN_LX_MUL:
        if (!fl)
            return LLVMBuildMul(e->b, a, b, "");
        r = LLVMBuildFMul(e->b, a, b, "");
        LLVMSetFastMathFlags(r, e->fmf);
        return r;
    case KILN_LX_DIV:
        return fl ? LLVMBuildFDiv(e->b, a, b, "") : safe_idiv(e, false, sgn, a, b);
    case KILN_LX_REM:
        return fl ? LLVMBuildFRem(e->b, a, b, "") : safe_idiv(e, true, sgn, a, b);
    case KILN_LX_MIN:
        if (fl)
            return intrinsic2(e, "llvm.minimum", a, b);
        return intrinsic2(e, sgn ? "llvm.smin" : "llvm.umin", a, b);
    case KILN_LX_MAX:
        if (fl)
            return intrinsic2(e, "llvm.maximum", a, b);
        return intrinsic2(e, sgn ? "llvm.smax" : "llvm.umax", a, b);
    case KILN_LX_POW:
        return intrinsic2(e, "llvm.pow", a, b);
    case KILN_LX_ATAN2:
        return libm(e, "atan2", a, b);
    case KILN_LX_AND:
        return LLVMBuildAnd(e->b, a, b, "");
    case KILN_LX_OR:
        return LLVMBuildOr(e->b, a, b, "");
    case KILN_LX_XOR:
        return LLVMBuildXor(e->b, a, b, "");
    case KILN_LX_SHL:
    case KILN_LX_SHR: {
        /* a shift by the width or more is poison in LLVM: ONNX's is 0 */
        LLVMTypeRef ty = LLVMTypeOf(a);
        LLVMValueRef w = LLVMConstInt(ty, (unsigned long long)kiln_dtype_bits(t), 0);
        LLVMValueRef big = LLVMBuildICmp(e->b, LLVMIntUGE, b, w, "");
        LLVMValueRef sb = LLVMBuildSelect(e->b, big, LLVMConstInt(ty, 0, 0), b, "");
        LLVMValueRef sh = x->op == KILN_LX_SHL ? LLVMBuildShl(e->b, a, sb, "")
                          : sgn                ? LLVMBuildAShr(e->b, a, sb, "")
                                               : LLVMBuildLShr(e->b, a, sb, "");
        return LLVMBuildSelect(e->b, big, LLVMConstInt(ty, 0, 0), sh, "");
    }
    default:
        break;
    }
    if (fl) {
        static const LLVMRealPredicate fp[] = {LLVMRealOEQ, LLVMRealUNE, LLVMRealOLT,
                                               LLVMRealOLE, LLVMRealOGT, LLVMRealOGE};
        return LLVMBuildFCmp(e->b, fp[x->op - KILN_LX_EQ], a, b, "");
    }
    static const LLVMIntPredicate sp[] = {LLVMIntEQ,  LLVMIntNE,  LLVMIntSLT,
                                          LLVMIntSLE, LLVMIntSGT, LLVMIntSGE};
    static const LLVMIntPredicate up[] = {LLVMIntEQ,  LLVMIntNE,  LLVMIntULT,
                                          LLVMIntULE, LLVMIntUGT, LLVMIntUGE};
    return LLVMBuildICmp(e->b, (sgn ? sp : up)[x->op - KILN_LX_EQ], a, b, "");
}

/* Sub-byte elements: element i is bits [(i % per) * w, +w) of byte i / per, low first. */
static void
subbyte_addr(struct emitter *e, enum kiln_dtype t, LLVMValueRef base, LLVMValueRef idx,
             LLVMValueRef *ptr, LLVMValueRef *shift)
{
    int w = kiln_dtype_bits(t), per = 8 / w;
    LLVMValueRef byte = LLVMBuildSDiv(e->b, idx, LLVMConstInt(e->t_i64, (unsigned)per, 0), "");
    LLVMValueRef pos = LLVMBuildSRem(e->b, idx, LLVMConstInt(e->t_i64, (unsigned)per, 0), "");
    *ptr = LLVMBuildGEP2(e->b, e->t_i8, base, &byte, 1, "");
    *shift = LLVMBuildTrunc(
        e->b, LLVMBuildMul(e->b, pos, LLVMConstInt(e->t_i64, (unsigned)w, 0), ""), e->t_i8, "");
}

static LLVMValueRef
load_subbyte(struct emitter *e, enum kiln_dtype t, LLVMValueRef base, LLVMValueRef idx)
{
    LLVMValueRef p, sh;
    subbyte_addr(e, t, base, idx, &p, &sh);
    int w = kiln_dtype_bits(t);
    LLVMValueRef v = LLVMBuildLShr(e->b, LLVMBuildLoad2(e->b, e->t_i8, p, ""), sh, "");
    v = LLVMBuildAnd(e->b, v, LLVMConstInt(e->t_i8, (1u << w) - 1, 0), "");
    if ((kiln_dtype_flags(t) & KILN_DTF_SIGNED) && !kiln_dtype_is_float(t)) {
        LLVMValueRef up = LLVMConstInt(e->t_i8, (unsigned)(8 - w), 0);
        v = LLVMBuildAShr(e->b, LLVMBuildShl(e->b, v, up, ""), up, "");
    }
    return v;
}

/* Two atomic read-modify-writes, so neighbours stored by other threads survive. */
static void
store_subbyte(struct emitter *e, enum kiln_dtype t, LLVMValueRef base, LLVMValueRef idx,
              LLVMValueRef v)
{
    LLVMValueRef p, sh;
    subbyte_addr(e, t, base, idx, &p, &sh);
    int w = kiln_dtype_bits(t);
    LLVMValueRef mask = LLVMConstInt(e->t_i8, (1u << w) - 1, 0);
    LLVMValueRef bits = LLVMBuildShl(e->b, LLVMBuildAnd(e->b, v, mask, ""), sh, "");
    LLVMValueRef clear = LLVMBuildNot(e->b, LLVMBuildShl(e->b, mask, sh, ""), "");
    LLVMBuildAtomicRMW(e->b, LLVMAtomicRMWBinOpAnd, p, clear, LLVMAtomicOrderingMonotonic, 0);
    LLVMBuildAtomicRMW(e->b, LLVMAtomicRMWBinOpOr, p, bits, LLVMAtomicOrderingMonotonic, 0);
}

static void tag_access(struct emitter *e, LLVMValueRef inst, int32_t slot);

LLVMValueRef
kiln_llvm_emit_lx(struct emitter *e, const struct kiln_lx *x)
{
    uint32_t h = e->ccap ? cache_slot(e, x) : 0;
    if (e->ccap && e->ckeys[h] == x)
        return e->cvals[h];
    LLVMValueRef v = NULL;
    switch (x->kind) {
    case KILN_LX_IMM:
        if (is_storage(x->type) && kiln_dtype_is_float(x->type))
            v = fp8_call(e, false, x->type, LLVMConstReal(LLVMFloatTypeInContext(e->ctx), x->f),
                         true);
        else if (x->type == KILN_DT_BF16) /* folds to a constant */
            v = to_bf16(e, LLVMConstReal(LLVMDoubleTypeInContext(e->ctx), x->f), KILN_DT_F64);
        else if (kiln_dtype_is_float(x->type))
            v = LLVMConstReal(dtype_type(e, x->type), x->f);
        else
            v = LLVMConstInt(dtype_type(e, x->type), (unsigned long long)x->i, is_signed(x->type));
        break;
    case KILN_LX_VAR:
        v = LLVMBuildLoad2(e->b, var_type(e, &e->k->vars[x->var]), e->vars[x->var], "");
        break;
    case KILN_LX_VLOAD: {
        LLVMTypeRef et = kiln_llvm_mem_type(e, x->type);
        LLVMValueRef idx = kiln_llvm_emit_lx(e, x->a);
        bounds_check(e, x->buf, idx, x->lanes, false);
        LLVMValueRef p = LLVMBuildGEP2(e->b, et, e->bases[x->buf], &idx, 1, "");
        v = LLVMBuildLoad2(e->b, LLVMVectorType(et, (unsigned)x->lanes), p, "");
        LLVMSetAlignment(v, (unsigned)(kiln_dtype_bits(x->type) / 8));
        tag_access(e, v, x->buf);
        break;
    }
    case KILN_LX_SPLAT: {
        LLVMValueRef a = kiln_llvm_emit_lx(e, x->a);
        LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(a), (unsigned)x->lanes);
        LLVMValueRef one =
            LLVMBuildInsertElement(e->b, LLVMGetUndef(vt), a, LLVMConstInt(e->t_i32, 0, 0), "");
        LLVMValueRef mask = LLVMConstNull(LLVMVectorType(e->t_i32, (unsigned)x->lanes));
        v = LLVMBuildShuffleVector(e->b, one, LLVMGetUndef(vt), mask, "");
        break;
    }
    case KILN_LX_SHUFFLE: {
        LLVMValueRef a = kiln_llvm_emit_lx(e, x->a), b = kiln_llvm_emit_lx(e, x->b), mk[64];
        KILN_ASSERT(x->lanes <= 64);
        for (int32_t j = 0; j < x->lanes; j++)
            mk[j] = LLVMConstInt(e->t_i32, (unsigned long long)x->mask[j], 0);
        v = LLVMBuildShuffleVector(e->b, a, b, LLVMConstVector(mk, (unsigned)x->lanes), "");
        break;
    }
    case KILN_LX_EXTRACT:
        v = LLVMBuildExtractElement(e->b, kiln_llvm_emit_lx(e, x->a),
                                    LLVMConstInt(e->t_i32, (unsigned long long)x->i, 0), "");
        break;
    case KILN_LX_DIM:
        v = e->dims[x->dim];
        break;
    case KILN_LX_LOAD: {
        LLVMTypeRef mt = kiln_llvm_mem_type(e, x->type);
        LLVMValueRef idx = kiln_llvm_emit_lx(e, x->a);
        bounds_check(e, x->buf, idx, 1, false);
        if (is_subbyte(x->type)) {
            v = load_subbyte(e, x->type, e->bases[x->buf], idx);
            break;
        }
        LLVMValueRef p = LLVMBuildGEP2(e->b, mt, e->bases[x->buf], &idx, 1, "");
        v = LLVMBuildLoad2(e->b, mt, p, "");
        tag_access(e, v, x->buf);
        if (x->type == KILN_DT_BOOL)
            v = LLVMBuildICmp(e->b, LLVMIntNE, v, LLVMConstInt(e->t_i8, 0, 0), "");
        break;
    }
    case KILN_LX_UNARY:
        v = emit_unary(e, x, kiln_llvm_emit_lx(e, x->a));
        break;
    case KILN_LX_BINARY: {
        LLVMValueRef a = kiln_llvm_emit_lx(e, x->a), b = kiln_llvm_emit_lx(e, x->b);
        v = emit_binary(e, x, a, b);
        break;
    }
    case KILN_LX_SELECT: {
        LLVMValueRef c = kiln_llvm_emit_lx(e, x->a), a = kiln_llvm_emit_lx(e, x->b),
                     b = kiln_llvm_emit_lx(e, x->c);
        v = LLVMBuildSelect(e->b, c, a, b, "");
        break;
    }
    case KILN_LX_CAST:
        if (is_storage(x->type) && x->a->type != x->type)
            v = storage_cast(e, kiln_llvm_emit_lx(e, x->a), x->a->type, x->type, x->i != 0);
        else
            v = kiln_llvm_emit_cast(e, kiln_llvm_emit_lx(e, x->a), x->a->type, x->type);
        break;
    case KILN_LX_BITCAST:
        v = LLVMBuildBitCast(e->b, kiln_llvm_emit_lx(e, x->a), dtype_type(e, x->type), "");
        break;
    }
    cache_put(e, x, v);
    return v;
}

/* ---------------------------------------------------------------- statements */

static void emit_block(struct emitter *e, const struct kiln_lblock *blk);

/* for (*var = lo; *var < hi; ++*var) body, at the builder's position. */
/* A self-referential metadata node {self, ops...} (loop ids, alias scopes and domains must
 * name themselves, as LLVM wants). */
static LLVMMetadataRef
self_node(struct emitter *e, LLVMMetadataRef *ops, int n)
{
    LLVMMetadataRef all[4];
    KILN_ASSERT(n >= 0 && n < 4);
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(e->ctx, NULL, 0);
    all[0] = tmp;
    for (int i = 0; i < n; i++)
        all[i + 1] = ops[i];
    LLVMMetadataRef node = LLVMMDNodeInContext2(e->ctx, all, (size_t)n + 1);
    LLVMMetadataReplaceAllUsesWith(tmp, node);
    return node;
}

/* !llvm.loop on a latch branch: vectorize.width 1, interleave.count 1 (the
 * loop vectorizer leaves the loop alone). */
static void
no_vectorize(struct emitter *e, LLVMValueRef latch)
{
    LLVMMetadataRef one = LLVMValueAsMetadata(LLVMConstInt(e->t_i32, 1, 0));
    LLVMMetadataRef w[2] = {LLVMMDStringInContext2(e->ctx, "llvm.loop.vectorize.width", 25), one};
    LLVMMetadataRef ic[2] = {LLVMMDStringInContext2(e->ctx, "llvm.loop.interleave.count", 26), one};
    LLVMMetadataRef ops[2] = {LLVMMDNodeInContext2(e->ctx, w, 2),
                              LLVMMDNodeInContext2(e->ctx, ic, 2)};
    LLVMMetadataRef self = self_node(e, ops, 2);
    LLVMSetMetadata(latch, LLVMGetMDKindIDInContext(e->ctx, "llvm.loop", 9),
                    LLVMMetadataAsValue(e->ctx, self));
}

static void
emit_counted_loop(struct emitter *e, LLVMValueRef var, LLVMValueRef lo, LLVMValueRef hi,
                  const struct kiln_lblock *body_stmts, const char *name, unsigned hints)
{
    char label[32];
    LLVMBuildStore(e->b, lo, var);
    snprintf(label, sizeof label, "%s.cond", name);
    LLVMBasicBlockRef cond = LLVMAppendBasicBlockInContext(e->ctx, e->fn, label);
    snprintf(label, sizeof label, "%s.body", name);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(e->ctx, e->fn, label);
    snprintf(label, sizeof label, "%s.end", name);
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(e->ctx, e->fn, label);
    LLVMBuildBr(e->b, cond);
    LLVMPositionBuilderAtEnd(e->b, cond);
    LLVMValueRef iv = LLVMBuildLoad2(e->b, e->t_i64, var, "i");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, iv, hi, ""), body, exit);
    LLVMPositionBuilderAtEnd(e->b, body);
    emit_block(e, body_stmts);
    kiln_llvm_cache_reset(e);
    LLVMValueRef cur = LLVMBuildLoad2(e->b, e->t_i64, var, "");
    LLVMBuildStore(e->b, LLVMBuildNSWAdd(e->b, cur, LLVMConstInt(e->t_i64, 1, 0), ""), var);
    LLVMValueRef latch = LLVMBuildBr(e->b, cond);
    if (hints & KILN_LS_HINT_NO_VECTORIZE)
        no_vectorize(e, latch);
    LLVMPositionBuilderAtEnd(e->b, exit);
}

static void
emit_for(struct emitter *e, const struct kiln_ls *s)
{
    kiln_llvm_cache_reset(e);
    LLVMValueRef lo = kiln_llvm_emit_lx(e, s->lo), hi = kiln_llvm_emit_lx(e, s->hi);
    emit_counted_loop(e, e->vars[s->var], lo, hi, &s->body, "for", s->hints);
}

static void
emit_stmt(struct emitter *e, const struct kiln_ls *s)
{
    switch (s->kind) {
    case KILN_LS_FOR:
        emit_for(e, s);
        break;
    case KILN_LS_STORE: {
        kiln_llvm_cache_reset(e);
        const struct kiln_lbuf *buf = &e->m->bufs[e->k->bufs[s->buf]];
        LLVMTypeRef mt = kiln_llvm_mem_type(e, buf->dtype);
        LLVMValueRef idx = kiln_llvm_emit_lx(e, s->idx), val = kiln_llvm_emit_lx(e, s->val);
        bounds_check(e, s->buf, idx, s->val->lanes, true);
        if (is_subbyte(buf->dtype)) {
            store_subbyte(e, buf->dtype, e->bases[s->buf], idx, val);
            break;
        }
        if (buf->dtype == KILN_DT_BOOL)
            val = LLVMBuildZExt(e->b, val, e->t_i8, "");
        LLVMValueRef p = LLVMBuildGEP2(e->b, mt, e->bases[s->buf], &idx, 1, "");
        LLVMValueRef st = LLVMBuildStore(e->b, val, p);
        tag_access(e, st, s->buf);
        if (s->val->lanes > 1)
            LLVMSetAlignment(st, (unsigned)(kiln_dtype_bits(buf->dtype) / 8));
        break;
    }
    case KILN_LS_PREFETCH: {
        /* llvm.prefetch(address, read or write, locality, data): locality 3
         * is L1 (x86 prefetcht0), 2 is L2 (prefetcht1); a write is prefetchw */
        const struct kiln_lbuf *buf = &e->m->bufs[e->k->bufs[s->buf]];
        LLVMValueRef idx = kiln_llvm_emit_lx(e, s->idx);
        LLVMValueRef args[4] = {
            LLVMBuildGEP2(e->b, kiln_llvm_mem_type(e, buf->dtype), e->bases[s->buf], &idx, 1, ""),
            LLVMConstInt(e->t_i32, (s->hints & KILN_LS_PF_WRITE) != 0, 0),
            LLVMConstInt(e->t_i32, 4 - (s->hints & KILN_LS_PF_LEVEL), 0),
            LLVMConstInt(e->t_i32, 1, 0)};
        kiln_llvm_intrinsic(e, "llvm.prefetch", &e->t_ptr, 1, args, 4);
        break;
    }
    case KILN_LS_SET:
        kiln_llvm_cache_reset(e);
        LLVMBuildStore(e->b, kiln_llvm_emit_lx(e, s->val), e->vars[s->var]);
        break;
    case KILN_LS_IF: {
        kiln_llvm_cache_reset(e);
        LLVMValueRef c = kiln_llvm_emit_lx(e, s->cond);
        LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "if.then");
        LLVMBasicBlockRef els = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "if.else");
        LLVMBasicBlockRef end = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "if.end");
        LLVMBuildCondBr(e->b, c, then, els);
        LLVMPositionBuilderAtEnd(e->b, then);
        emit_block(e, &s->body);
        LLVMBuildBr(e->b, end);
        LLVMPositionBuilderAtEnd(e->b, els);
        emit_block(e, &s->orelse);
        LLVMBuildBr(e->b, end);
        LLVMPositionBuilderAtEnd(e->b, end);
        break;
    }
    }
    kiln_llvm_cache_reset(e);
}

static void
emit_block(struct emitter *e, const struct kiln_lblock *blk)
{
    for (int32_t i = 0; i < blk->n; i++)
        emit_stmt(e, blk->s[i]);
}

/* Load every runtime dim from the dims pointer at the start of a function. */
void
kiln_llvm_load_dims(struct emitter *e, LLVMValueRef dims_ptr)
{
    for (int32_t i = 0; i < e->m->n_dims; i++) {
        LLVMValueRef ix = LLVMConstInt(e->t_i64, (unsigned long long)i, 0);
        LLVMValueRef p = LLVMBuildGEP2(e->b, e->t_i64, dims_ptr, &ix, 1, "");
        e->dims[i] = LLVMBuildLoad2(e->b, e->t_i64, p, e->m->dims[i].name);
    }
}

/* One alias scope per kernel slot, each access in its own and no other's. */
static void
alias_scopes(struct emitter *e, const struct kiln_lkernel *k)
{
    int32_t n = k->n_bufs;
    e->scope = calloc((size_t)n + 1, sizeof *e->scope);
    e->noalias = calloc((size_t)n + 1, sizeof *e->noalias);
    LLVMMetadataRef *sc = calloc((size_t)n + 1, sizeof *sc);
    LLVMMetadataRef *others = calloc((size_t)n + 1, sizeof *others);
    KILN_ASSERT(e->scope && e->noalias && sc && others);
    e->md_scope = LLVMGetMDKindIDInContext(e->ctx, "alias.scope", 11);
    e->md_noalias = LLVMGetMDKindIDInContext(e->ctx, "noalias", 7);
    LLVMMetadataRef name = LLVMMDStringInContext2(e->ctx, k->name, strlen(k->name));
    LLVMMetadataRef domain = self_node(e, &name, 1);
    for (int32_t i = 0; i < n; i++)
        sc[i] = self_node(e, &domain, 1);
    for (int32_t i = 0; i < n; i++) {
        int32_t m = 0;
        for (int32_t j = 0; j < n; j++)
            if (j != i)
                others[m++] = sc[j];
        e->scope[i] = LLVMMetadataAsValue(e->ctx, LLVMMDNodeInContext2(e->ctx, &sc[i], 1));
        e->noalias[i] =
            LLVMMetadataAsValue(e->ctx, LLVMMDNodeInContext2(e->ctx, others, (size_t)m));
    }
    free(sc);
    free(others);
}

/* Tag a load or store of kernel slot `slot`. */
static void
tag_access(struct emitter *e, LLVMValueRef inst, int32_t slot)
{
    if (!e->scope)
        return;
    LLVMSetMetadata(inst, e->md_scope, e->scope[slot]);
    LLVMSetMetadata(inst, e->md_noalias, e->noalias[slot]);
}

static LLVMValueRef
emit_kernel(struct emitter *e, const struct kiln_lkernel *k)
{
    LLVMValueRef fn = LLVMAddFunction(e->mod, k->name, e->t_kernel);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    e->fn = fn;
    e->k = k;
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(e->b, entry);
    LLVMValueRef bufs = LLVMGetParam(fn, 0), dims = LLVMGetParam(fn, 1);
    e->vars = calloc((size_t)k->n_vars + 1, sizeof *e->vars);
    e->bases = calloc((size_t)k->n_bufs + 1, sizeof *e->bases);
    KILN_ASSERT(e->vars && e->bases);
    for (int32_t i = 0; i < k->n_vars; i++)
        e->vars[i] = LLVMBuildAlloca(e->b, var_type(e, &k->vars[i]), k->vars[i].name);
    for (int32_t i = 0; i < k->n_bufs; i++) {
        const struct kiln_lbuf *b = &e->m->bufs[k->bufs[i]];
        if (b->kind == KILN_LBUF_LOCAL) { /* this call's own, cache-line aligned */
            KILN_ASSERT(b->rank == 1 && b->dims[0]->kind == KILN_LX_IMM);
            LLVMTypeRef at =
                LLVMArrayType2(kiln_llvm_mem_type(e, b->dtype), (uint64_t)b->dims[0]->i);
            e->bases[i] = LLVMBuildAlloca(e->b, at, b->name);
            LLVMSetAlignment(e->bases[i], 64);
            continue;
        }
        LLVMValueRef ix = LLVMConstInt(e->t_i64, (unsigned long long)i, 0);
        LLVMValueRef p = LLVMBuildGEP2(e->b, e->t_ptr, bufs, &ix, 1, "");
        e->bases[i] = LLVMBuildLoad2(e->b, e->t_ptr, p, b->name);
    }
    kiln_llvm_load_dims(e, dims);
    if (e->check_bounds) { /* the record after the buffers; each buffer's extent */
        LLVMValueRef ix = LLVMConstInt(e->t_i64, (unsigned long long)k->n_bufs, 0);
        e->rec = LLVMBuildLoad2(e->b, e->t_ptr, LLVMBuildGEP2(e->b, e->t_ptr, bufs, &ix, 1, ""),
                                "bounds");
        e->extent = calloc((size_t)k->n_bufs + 1, sizeof *e->extent);
        KILN_ASSERT(e->extent);
        for (int32_t i = 0; i < k->n_bufs; i++) {
            const struct kiln_lbuf *b = &e->m->bufs[k->bufs[i]];
            if (b->kind == KILN_LBUF_REG)
                continue;
            LLVMValueRef n = LLVMConstInt(e->t_i64, 1, 0);
            for (int r = 0; r < b->rank; r++) {
                kiln_llvm_cache_reset(e);
                n = LLVMBuildMul(e->b, n, kiln_llvm_emit_lx(e, b->dims[r]), "");
            }
            e->extent[i] = n;
        }
    }
    if (!(k->hints & KILN_LK_HINT_MAY_ALIAS))
        alias_scopes(e, k);
    kiln_llvm_cache_reset(e);
    if (k->trip) {
        /* the thread's share of the outer loop: [lo, hi) */
        emit_counted_loop(e, e->vars[k->outer], LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), &k->body,
                          "outer", 0);
    } else {
        emit_block(e, &k->body);
    }
    LLVMBuildRetVoid(e->b);
    free(e->vars);
    free(e->bases);
    free(e->scope);
    free(e->noalias);
    free(e->extent);
    e->vars = e->bases = e->scope = e->noalias = e->extent = NULL;
    return fn;
}

/* ---------------------------------------------------------------- target and driver */

static void
init_llvm_targets(void)
{
    static bool done;
    if (done)
        return;
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    LLVMInitializeAllAsmParsers();
    done = true;
}

void
kiln_llvm_vector_shape(const struct kiln_llvm_opts *o, struct kiln_lower_target *t)
{
    char *host = NULL, *host_triple = NULL;
    const char *feat = o ? o->features : NULL;
    const char *triple = o ? o->triple : NULL;
    if (!feat && !triple && !(o && o->cpu))
        feat = host = LLVMGetHostCPUFeatures();
    if (!triple)
        triple = host_triple = LLVMGetDefaultTargetTriple();
    bool arm = strncmp(triple, "aarch64", 7) == 0 || strncmp(triple, "arm64", 5) == 0;
    t->vector_bits = 128;
    t->vector_regs = arm ? 32 : 16;
    t->winograd = !o || o->reassoc;
    if (feat && strstr(feat, "+avx512f")) {
        t->vector_bits = 512;
        t->vector_regs = 32;
    } else if (feat && strstr(feat, "+avx")) {
        t->vector_bits = 256;
    } else if (!feat && o && o->cpu && !arm) {
        static const char *const v4[] = {"skylake-avx512", "cascadelake",   "cooperlake",
                                         "icelake",        "tigerlake",     "rocketlake",
                                         "sapphirerapids", "emeraldrapids", "graniterapids",
                                         "znver4",         "znver5",        "x86-64-v4"};
        static const char *const v3[] = {"haswell",    "broadwell",  "skylake",     "alderlake",
                                         "raptorlake", "meteorlake", "znver1",      "znver2",
                                         "znver3",     "x86-64-v3",  "sandybridge", "ivybridge"};
        for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++)
            if (strncmp(o->cpu, v4[i], strlen(v4[i])) == 0) {
                t->vector_bits = 512;
                t->vector_regs = 32;
            }
        for (size_t i = 0; i < sizeof v3 / sizeof v3[0] && t->vector_bits == 128; i++)
            if (strncmp(o->cpu, v3[i], strlen(v3[i])) == 0)
                t->vector_bits = 256;
    }
    if (host)
        LLVMDisposeMessage(host);
    if (host_triple)
        LLVMDisposeMessage(host_triple);
}

void
kiln_llvm_host(char *triple, size_t tn, char *cpu, size_t cn)
{
    char *t = LLVMGetDefaultTargetTriple(), *c = LLVMGetHostCPUName();
    snprintf(triple, tn, "%s", t);
    snprintf(cpu, cn, "%s", c);
    LLVMDisposeMessage(t);
    LLVMDisposeMessage(c);
}

LLVMTargetMachineRef
kiln_llvm_target_machine(const struct kiln_llvm_opts *o, struct kiln_diag *d, char **triple_out)
{
    init_llvm_targets();
    char *triple = o->triple ? strdup(o->triple) : NULL;
    if (!triple) {
        char *t = LLVMGetDefaultTargetTriple();
        triple = strdup(t);
        LLVMDisposeMessage(t);
    }
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &err)) {
        kiln_diag_error(d, "target '%s': %s", triple, err ? err : "unknown");
        LLVMDisposeMessage(err);
        free(triple);
        return NULL;
    }
    char *cpu = NULL, *feat = NULL;
    if (o->cpu)
        cpu = strdup(o->cpu);
    else if (!o->triple) {
        char *c = LLVMGetHostCPUName();
        cpu = strdup(c);
        LLVMDisposeMessage(c);
    } else {
        cpu = strdup("generic");
    }
    if (o->features)
        feat = strdup(o->features);
    else if (!o->triple && !o->cpu) { /* a CPU named: its own features, not the host's */
        char *f = LLVMGetHostCPUFeatures();
        feat = strdup(f);
        LLVMDisposeMessage(f);
    } else {
        feat = strdup("");
    }
    LLVMCodeGenOptLevel lvl = o->opt_level <= 0   ? LLVMCodeGenLevelNone
                              : o->opt_level == 1 ? LLVMCodeGenLevelLess
                              : o->opt_level == 2 ? LLVMCodeGenLevelDefault
                                                  : LLVMCodeGenLevelAggressive;
    LLVMTargetMachineRef tm =
        LLVMCreateTargetMachine(target, triple, cpu, feat, lvl,
                                o->pic ? LLVMRelocPIC : LLVMRelocDefault, LLVMCodeModelDefault);
    free(cpu);
    free(feat);
    if (!tm)
        kiln_diag_error(d, "cannot create a target machine for '%s'", triple);
    *triple_out = triple;
    return tm;
}

enum kiln_status
kiln_llvm_build(const struct kiln_lmodule *m, const struct kiln_llvm_opts *o, LLVMContextRef ctx,
                LLVMTargetMachineRef tm, const char *triple, LLVMModuleRef *mod_out,
                struct kiln_diag *d)
{
    struct emitter e = {.m = m, .d = d};
    e.ctx = ctx;
    e.mod = LLVMModuleCreateWithNameInContext(m->name, e.ctx);
    LLVMSetTarget(e.mod, triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    char *layout = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(e.mod, layout);
    LLVMDisposeMessage(layout);
    LLVMDisposeTargetData(td);
    e.b = LLVMCreateBuilderInContext(e.ctx);
    e.t_ptr = LLVMPointerTypeInContext(e.ctx, 0);
    e.t_i1 = LLVMInt1TypeInContext(e.ctx);
    e.t_i8 = LLVMInt8TypeInContext(e.ctx);
    e.t_i32 = LLVMInt32TypeInContext(e.ctx);
    e.t_i64 = LLVMInt64TypeInContext(e.ctx);
    e.t_void = LLVMVoidTypeInContext(e.ctx);
    LLVMTypeRef kp[4] = {e.t_ptr, e.t_ptr, e.t_i64, e.t_i64};
    e.t_kernel = LLVMFunctionType(e.t_void, kp, 4, 0);
    e.consts = calloc((size_t)m->n_bufs + 1, sizeof *e.consts);
    e.woff = calloc((size_t)m->n_bufs + 1, sizeof *e.woff);
    e.plan = calloc((size_t)m->n_bufs + 1, sizeof *e.plan);
    KILN_ASSERT(e.plan);
    e.planned = kiln_lmodule_plan_temps(m, e.plan, &e.plan_total);
    if (e.planned && (uint64_t)e.plan_total > KILN_MAX_BYTES) {
        kiln_diag_error(d, "the workspace: %lld bytes (2^%.1f): too large (kiln's limit is 2^48)",
                        (long long)e.plan_total, log2((double)e.plan_total));
        free(e.consts);
        free(e.woff);
        free(e.plan);
        LLVMDisposeBuilder(e.b);
        LLVMDisposeModule(e.mod);
        return KILN_ERR_UNSUPPORTED;
    }
    e.external = o->weights_path != NULL;
    e.fmf = o->reassoc ? LLVMFastMathAllowReassoc | LLVMFastMathAllowContract : LLVMFastMathNone;
    e.check_bounds = o->check_bounds;
    LLVMTypeRef rec_fields[6] = {e.t_i32, e.t_i32, e.t_i32, e.t_i64, e.t_i64, e.t_i64};
    e.t_rec = LLVMStructTypeInContext(e.ctx, rec_fields, 6, 0);
    e.dims = calloc((size_t)m->n_dims + 1, sizeof *e.dims);
    LLVMValueRef *kernels = calloc((size_t)m->n_kernels + 1, sizeof *kernels);
    KILN_ASSERT(e.consts && e.woff && e.dims && kernels);
    enum kiln_status st = kiln_llvm_emit_weights(&e, o);
    /* one function per distinct kernel: identical kernels (a network's repeated
     * blocks) share it, which saves LLVM's time and the artifact's size */
    char **sigs = calloc((size_t)m->n_kernels + 1, sizeof *sigs);
    KILN_ASSERT(sigs);
    for (int32_t i = 0; i < m->n_kernels; i++) {
        if (m->kernels[i]->step != KILN_LSTEP_KERNEL)
            continue;
        sigs[i] = kiln_lkernel_signature(m, m->kernels[i]);
        for (int32_t j = 0; j < i && sigs[i] && !kernels[i]; j++)
            if (sigs[j] && strcmp(sigs[i], sigs[j]) == 0)
                kernels[i] = kernels[j];
        if (!kernels[i])
            kernels[i] = emit_kernel(&e, m->kernels[i]);
    }
    for (int32_t i = 0; i < m->n_kernels; i++)
        free(sigs[i]);
    free(sigs);
    struct kiln_lprof prof;
    LLVMValueRef profile = LLVMConstNull(e.t_ptr);
    if (o->profile) {
        if (kiln_lprof_build(m, &prof) != KILN_OK) {
            kiln_diag_error(d, "out of memory building the profile table");
            st = KILN_ERR_NOMEM;
        } else {
            e.prof = &prof;
            profile = kiln_llvm_emit_profile(&e, tm);
        }
    }
    struct entry_fns fns;
    fns.check_sizes = kiln_llvm_emit_check_sizes(&e);
    fns.workspace_size = kiln_llvm_emit_workspace_size(&e, fns.check_sizes);
    fns.run = kiln_llvm_emit_run(&e, kernels, fns.check_sizes);
    fns.shape = kiln_llvm_emit_shape(&e);
    kiln_llvm_emit_descriptor(&e, &fns, profile, o->exe_entry,
                              o->weights_name ? o->weights_name : "weights.bin");
    free(kernels);
    if (e.prof)
        kiln_lprof_free(&prof);

    char *err = NULL;
    if (st == KILN_OK && LLVMVerifyModule(e.mod, LLVMReturnStatusAction, &err)) {
        kiln_diag_error(d, "internal error: the generated LLVM module is invalid: %.400s",
                        err ? err : "");
        st = KILN_ERR_INTERNAL;
    }
    LLVMDisposeMessage(err);
    if (st == KILN_OK) {
        char passes[32];
        snprintf(passes, sizeof passes, "default<O%d>",
                 o->opt_level < 0   ? 0
                 : o->opt_level > 3 ? 3
                                    : o->opt_level);
        LLVMPassBuilderOptionsRef pbo = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(pbo, o->opt_level >= 2);
        LLVMPassBuilderOptionsSetSLPVectorization(pbo, o->opt_level >= 2);
        LLVMErrorRef perr = LLVMRunPasses(e.mod, passes, tm, pbo);
        LLVMDisposePassBuilderOptions(pbo);
        if (perr) {
            char *msg = LLVMGetErrorMessage(perr);
            kiln_diag_error(d, "LLVM passes failed: %s", msg);
            LLVMDisposeErrorMessage(msg);
            st = KILN_ERR_INTERNAL;
        }
    }
    free(e.consts);
    free(e.woff);
    free(e.plan);
    free(e.dims);
    free(e.ckeys);
    free(e.cvals);
    LLVMDisposeBuilder(e.b);
    if (st != KILN_OK) {
        LLVMDisposeModule(e.mod);
        e.mod = NULL;
    }
    *mod_out = e.mod;
    return st;
}

enum kiln_status
kiln_llvm_emit(const struct kiln_lmodule *m, const struct kiln_llvm_opts *o,
               enum kiln_llvm_emit kind, const char *path, struct kiln_diag *d)
{
    struct kiln_llvm_opts def;
    if (!o) {
        kiln_llvm_opts_default(&def);
        o = &def;
    }
    char *triple = NULL;
    LLVMTargetMachineRef tm = kiln_llvm_target_machine(o, d, &triple);
    if (!tm) {
        free(triple);
        return KILN_ERR_UNSUPPORTED;
    }
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = NULL;
    enum kiln_status st = kiln_llvm_build(m, o, ctx, tm, triple, &mod, d);
    char *err = NULL;
    if (st == KILN_OK) {
        if (kind == KILN_LLVM_EMIT_IR) {
            if (LLVMPrintModuleToFile(mod, path, &err)) {
                kiln_diag_error(d, "%s: cannot write: %s", path, err ? err : "");
                st = KILN_ERR_IO;
            }
        } else if (LLVMTargetMachineEmitToFile(
                       tm, mod, (char *)path,
                       kind == KILN_LLVM_EMIT_OBJ ? LLVMObjectFile : LLVMAssemblyFile, &err)) {
            kiln_diag_error(d, "%s: cannot write: %s", path, err ? err : "");
            st = KILN_ERR_IO;
        }
        LLVMDisposeMessage(err);
    }
    if (mod)
        LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    free(triple);
    return st;
}
