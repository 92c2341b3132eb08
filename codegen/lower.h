/*
 * lower.h - lowered kernels: the loop form every backend emits from.
 *
 * kiln_lower_graph turns a shape-inferred graph into a struct kiln_lmodule:
 *
 *   buffers  the graph's inputs, outputs, constants and intermediates; each
 *            has a dtype, a shape whose dims are expressions over the model's
 *            runtime dims, and for constants the data;
 *   kernels  one per node (one per fused node: its body's values between the
 *            ops are registers, lower_fused.c), in execution order. A kernel is a tree of loops
 * over scalar expressions that load and store elements of flat, row-major buffers.
 *
 * Each op's semantics is written once, here (codegen/lower_*.c, one file per
 * op family, dispatched by the table in lower.c indexed by enum kiln_op);
 * backends are thin emitters of this form: codegen/llvm/ builds LLVM IR from
 * it, a CUDA emitter will print CUDA C from it.
 *
 * Calling convention of a kernel, the same for every backend:
 *
 *     void kernel(char *const *bufs, const int64_t *dims, int64_t lo, int64_t hi);
 *
 * bufs[k] is the base address of the kernel's k-th buffer (k indexes
 * kernel->bufs), dims[] holds the model's runtime dims (kiln_lmodule.dims)
 * and [lo, hi) is the range of the kernel's outer loop variable, which
 * ranges over [0, trip) in total: the entry splits it across threads. A kernel
 * whose trip is NULL runs once with lo = 0, hi = 1 and ignores both.
 *
 * Expressions are typed by enum kiln_dtype. Index arithmetic is i64; a
 * comparison yields bool (an i1 in LLVM). Loads and stores move elements of
 * the buffer's dtype; f16 and bf16 values are computed in f32 (the lowering
 * inserts the casts: kiln_lx_load_f/kiln_lx_store_f do it). The storage-only
 * dtypes (float8 kinds, float4, int4/uint4, int2/uint2) load as their code or
 * value and compute as f32 / i8 / u8 after a cast; sub-byte elements are packed
 * low bits first. Inputs and outputs of such a type cross the model's
 * interface widened to that compute type.
 *
 * Everything lives in the module's arena; kiln_lmodule_free releases it.
 */
#ifndef KILN_LOWER_H
#define KILN_LOWER_H

#include "ir/ir.h"

/* ---------------------------------------------------------------- expressions */

enum kiln_lx_kind {
    KILN_LX_IMM,     /* constant: i (integer and bool types) or f (float types) */
    KILN_LX_VAR,     /* a loop variable or local (var) */
    KILN_LX_DIM,     /* runtime dim dims[dim] (i64) */
    KILN_LX_LOAD,    /* element a (i64 index) of kernel buffer buf */
    KILN_LX_UNARY,   /* op(a) */
    KILN_LX_BINARY,  /* op(a, b) */
    KILN_LX_SELECT,  /* a ? b : c (a is bool) */
    KILN_LX_CAST,    /* value conversion of a to type (float<->int truncates toward 0,
                        int->bool is != 0, bool->x is 0 or 1) */
    KILN_LX_BITCAST, /* same bits, reinterpreted (same width) */
    /* vectors (lanes > 1), for register-tiled kernels (codegen/lower_gemm.c) */
    KILN_LX_VLOAD,   /* lanes consecutive elements of buf from index a (the buffer's dtype) */
    KILN_LX_SPLAT,   /* scalar a in every one of lanes */
    KILN_LX_EXTRACT, /* lane i of vector a, a scalar */
    KILN_LX_SHUFFLE, /* lanes picked from vectors a and b (same lanes n): lane j is
                        mask[j] < n ? a[mask[j]] : b[mask[j] - n] */
};

/* Unary and binary operators. Float-only ones say so; the rest are for any
 * numeric type (integer DIV/REM truncate, as C; REM on floats is fmod). */
enum kiln_lx_op {
    /* unary */
    KILN_LX_NEG,
    KILN_LX_ABS,
    KILN_LX_NOT,   /* bool: logical not; integers: bitwise not */
    KILN_LX_SQRT,  /* float */
    KILN_LX_EXP,   /* float */
    KILN_LX_LOG,   /* float */
    KILN_LX_SIN,   /* float */
    KILN_LX_COS,   /* float */
    KILN_LX_TAN,   /* float */
    KILN_LX_ASIN,  /* float */
    KILN_LX_ACOS,  /* float */
    KILN_LX_ATAN,  /* float */
    KILN_LX_SINH,  /* float */
    KILN_LX_COSH,  /* float */
    KILN_LX_TANH,  /* float */
    KILN_LX_ASINH, /* float */
    KILN_LX_ACOSH, /* float */
    KILN_LX_ATANH, /* float */
    KILN_LX_ERF,   /* float */
    KILN_LX_FLOOR, /* float */
    KILN_LX_CEIL,  /* float */
    KILN_LX_ROUND, /* float: to nearest, ties to even */
    KILN_LX_TRUNC, /* float */
    KILN_LX_ISNAN, /* float -> bool */
    KILN_LX_ISINF, /* float -> bool: +inf or -inf */
    /* binary */
    KILN_LX_ADD,
    KILN_LX_SUB,
    KILN_LX_MUL,
    KILN_LX_DIV,
    KILN_LX_REM,
    KILN_LX_MIN,   /* floats: NaN if either is NaN */
    KILN_LX_MAX,   /* floats: NaN if either is NaN */
    KILN_LX_POW,   /* float */
    KILN_LX_ATAN2, /* float */
    KILN_LX_AND,   /* bool: logical; integers: bitwise */
    KILN_LX_OR,
    KILN_LX_XOR,
    KILN_LX_SHL, /* integers */
    KILN_LX_SHR, /* integers: logical for unsigned, arithmetic for signed */
    KILN_LX_EQ,  /* comparisons -> bool; floats compare ordered (NaN != x) */
    KILN_LX_NE,  /* unordered: NaN != NaN is true */
    KILN_LX_LT,
    KILN_LX_LE,
    KILN_LX_GT,
    KILN_LX_GE,
    KILN_LX_OP_COUNT
};

struct kiln_lx {
    enum kiln_lx_kind kind;
    enum kiln_dtype type;
    enum kiln_lx_op op;
    int32_t var; /* VAR */
    int32_t dim; /* DIM */
    int32_t buf; /* LOAD: index into the kernel's bufs */
    struct kiln_lx *a, *b, *c;
    int64_t i;           /* IMM of integer or bool type; EXTRACT: the lane */
    double f;            /* IMM of float type */
    const int32_t *mask; /* SHUFFLE: lanes entries */
    int32_t lanes;       /* 1: a scalar; > 1: a vector of `type` (VLOAD, SPLAT, a vector
                            variable, a SELECT of vectors, and the UNARY and BINARY ops
                            kiln_lx_vector_op allows; a comparison gives a vector of bool) */
};

/* ---------------------------------------------------------------- statements */

enum kiln_ls_kind {
    KILN_LS_FOR,      /* for (var = lo; var < hi; var++) body */
    KILN_LS_STORE,    /* bufs[buf][idx] = val (val's type is the buffer's dtype; a vector
                         val stores its lanes at idx, idx + 1, ...) */
    KILN_LS_SET,      /* var = val */
    KILN_LS_IF,       /* if (cond) body else orelse */
    KILN_LS_PREFETCH, /* a hint, no effect on results: the cache line holding
                         bufs[buf][idx] is read soon (idx may be past the end) */
};

struct kiln_lblock {
    struct kiln_ls **s;
    int32_t n, cap;
};

struct kiln_ls {
    enum kiln_ls_kind kind;
    int32_t var;               /* FOR, SET */
    int32_t buf;               /* STORE, PREFETCH */
    struct kiln_lx *lo, *hi;   /* FOR */
    struct kiln_lx *idx, *val; /* STORE (idx, val), PREFETCH (idx), SET (val) */
    struct kiln_lx *cond;      /* IF */
    struct kiln_lblock body;   /* FOR, IF then */
    struct kiln_lblock orelse; /* IF else */
    unsigned hints;            /* KILN_LS_HINT_* for FOR; PREFETCH: KILN_LS_PF_* */
};

enum kiln_ls_hints {
    KILN_LS_HINT_VECTORIZE = 1 << 0, /* innermost, contiguous: ask for vectorization */
    KILN_LS_HINT_UNROLL = 1 << 1,
    /* a loop whose body is already a register tile (lower_gemm.c): the loop
     * vectorizer must leave it alone (it would widen every accumulator into a
     * reduction over the loop); the body is vectorized across its statements */
    KILN_LS_HINT_NO_VECTORIZE = 1 << 2,
};

/* A PREFETCH's hints: the cache level (1 or 2), and for a line written. */
enum { KILN_LS_PF_LEVEL = 3, KILN_LS_PF_WRITE = 1 << 2 };

/* ---------------------------------------------------------------- kernels, buffers, module */

struct kiln_lvar {
    enum kiln_dtype type;
    const char *name; /* for dumps: "i0", "acc" */
    int32_t lanes;    /* 1, or a vector variable's lane count */
};

/*
 * The module's kernel list is also its control flow: besides plain kernels it
 * holds markers for If, Loop and Scan, whose bodies are the kernels that
 * follow them (n_then + n_else, or n_body). Markers have no statements.
 */
enum kiln_lstep {
    KILN_LSTEP_KERNEL, /* run the kernel */
    KILN_LSTEP_IF,     /* cond_buf[0] ? the next n_then steps : the n_else after them */
    KILN_LSTEP_LOOP,   /* for iter in [0, trip) while cond_buf[0]: iter_buf[0] = iter; the next
                          n_body steps */
    KILN_LSTEP_CHECK,  /* unless cond_buf[0]: stop, run returns KILN_RT_ERR_SHAPE (a size that
                          depends on the data differs from the one compiled) */
};

struct kiln_lkernel {
    enum kiln_lstep step;
    int32_t n_then, n_else, n_body; /* IF, LOOP: steps in the branches / body */
    int32_t cond_buf;               /* IF, LOOP: module buffer of a bool scalar, or -1 */
    int32_t iter_buf;               /* LOOP: module buffer of an i64 scalar, or -1 */
    int32_t trip_buf;               /* LOOP: module buffer of an integer scalar, or -1 */
    struct kiln_lx *trip_dims;      /* LOOP: trip count over runtime dims, or NULL */
    const char *name;               /* unique in the module, a C identifier: "k3_conv1" */
    int32_t node;                   /* graph node id it lowers (diagnostics, profiling) */
    const char *method; /* how the lowering computes the node, when it chose among several:
                           "tile 8 px x 32 ch, packed weights"; printed by --emit=loops
                           and kiln profile; NULL for the one way an op has */
    int32_t *bufs;      /* module buffer ids, in parameter order */
    int32_t n_bufs, cap_bufs;
    struct kiln_lvar *vars;
    int32_t n_vars, cap_vars;
    unsigned hints;       /* KILN_LK_HINT_* */
    int32_t outer;        /* var of the outer (parallel) loop; -1 when trip is NULL */
    struct kiln_lx *trip; /* total iterations of the outer loop, or NULL: serial */
    struct kiln_lblock body;
};

enum kiln_lk_hints {
    /*
     * Backends tell the optimizer that accesses to different buffers never
     * overlap (buffers are distinct allocations or disjoint workspace slices;
     * the run function's inputs and outputs must not overlap either). A kernel
     * with this hint goes without: the register-tiled convolution's scalar
     * epilogue, whose strided stores LLVM would otherwise turn into gathers and
     * scatters that cost more than they save.
     */
    KILN_LK_HINT_MAY_ALIAS = 1 << 0,
};

enum kiln_lbuf_kind {
    KILN_LBUF_INPUT,  /* a graph input: the caller's memory, read-only */
    KILN_LBUF_OUTPUT, /* a graph output: the caller's memory */
    KILN_LBUF_CONST,  /* weights: read-only data embedded in (or beside) the artifact */
    KILN_LBUF_TEMP,   /* an intermediate: a slice of the workspace */
    KILN_LBUF_REG,    /* an intermediate inside a fused kernel: held in a local variable
                         per element, never in memory (no workspace, a NULL parameter) */
    KILN_LBUF_LOCAL,  /* a kernel's private memory of a constant size: each call of the
                         kernel body (one thread's share of the parallel loop) has its own
                         on the stack, reused by the tasks of that share (a NULL parameter) */
};

struct kiln_lbuf {
    const char *name; /* the value's name (ONNX's) */
    enum kiln_lbuf_kind kind;
    enum kiln_dtype dtype;
    int rank;
    struct kiln_lx **dims;          /* rank i64 expressions over runtime dims */
    int32_t value;                  /* graph value id */
    int32_t io;                     /* INPUT/OUTPUT: position in the graph's inputs/outputs */
    const struct kiln_tensor *data; /* CONST */
    int32_t alias;     /* TEMP: -1, or the buffer whose memory from element alias_off on this
                          one is (a Concat input written in place into the result) */
    int64_t alias_off; /* elements of alias's dtype */
};

/* A runtime dim: a symbolic dim of the graph's inputs (e.g. the batch N). */
struct kiln_ldim {
    const char *name;
    int32_t input; /* the first graph input that has it */
    int axis;      /* and its axis there */
};

/*
 * What the lowering knows of the target: the shape of its vector registers,
 * which the register-tiled kernels (codegen/lower_gemm.c) size their tiles
 * and vectors by. The backend derives it (codegen/llvm: kiln_llvm_vector_shape).
 */
struct kiln_lower_target {
    int vector_bits; /* 512 (AVX-512), 256 (AVX2), 128 (SSE, NEON) */
    int vector_regs; /* 32 (AVX-512, NEON), 16 (AVX2, SSE) */
    bool winograd;   /* 3x3 convolutions may use Winograd's minimal filtering (lower_gemm.c),
                        whose rounding differs from the direct sum's; off under --strict-fp
                        and --no-winograd */
};

/* Two runtime-dim expressions the model requires equal (kiln_graph.assumes),
 * checked before a run; text says which, as the user reads it. */
struct kiln_lassume {
    struct kiln_lx *a, *b;
    const char *text;
    bool ge; /* a >= b, else a == b */
};

struct kiln_lmodule {
    struct kiln_arena *arena;
    struct kiln_lower_target target;
    const char *name; /* a C identifier made from the graph's name */
    const struct kiln_graph *g;
    struct kiln_ldim *dims;
    int32_t n_dims, cap_dims;
    struct kiln_lbuf *bufs;
    int32_t n_bufs, cap_bufs;
    int32_t *value_buf;               /* top graph value id -> buffer id (-1 none) */
    struct kiln_lgraph_map *sub_maps; /* the same for sub-graphs (lower.c) */
    struct kiln_lkernel **kernels;
    int32_t n_kernels, cap_kernels;
    struct kiln_lassume *assumes;
    int32_t n_assumes;
};

/*
 * Lower g (shape-inferred and verified). Every node's op must have a lowering
 * and every dim must be a constant or a symbol of a graph input; otherwise the
 * error names the node (all such nodes are reported, then it fails).
 */
enum kiln_status kiln_lower_graph(const struct kiln_graph *g, struct kiln_lmodule **out,
                                  struct kiln_diag *d);
/* The same for a target (NULL: 512-bit vectors, 32 registers). */
enum kiln_status kiln_lower_graph_for(const struct kiln_graph *g, const struct kiln_lower_target *t,
                                      struct kiln_lmodule **out, struct kiln_diag *d);
void kiln_lmodule_free(struct kiln_lmodule *m);
/* used[b] for every module buffer: whether a kernel (or a control-flow step)
 * reads or writes it, or it is an input or output; a constant only where a
 * statement reads it. Constants that no kernel reads (weights a kernel packed
 * into a copy of its own, though its signature may still name them) are not
 * emitted, and kernels get a null pointer for them. */
void kiln_lmodule_used_bufs(const struct kiln_lmodule *m, bool *used);
/* The module buffers step k names, i in [0, n_bufs + 3): its kernel buffers,
 * then its condition, iteration and trip buffers (-1 where it has none). */
static inline int32_t
kiln_lstep_buf(const struct kiln_lkernel *k, int32_t i)
{
    if (i < k->n_bufs)
        return k->bufs[i];
    i -= k->n_bufs;
    return i == 0 ? k->cond_buf : i == 1 ? k->iter_buf : k->trip_buf;
}
/* b's type as kiln prints it ("f32[2*N,4]"), with the dtype b has (the one an
 * input or output crosses the interface as): the descriptor's and the header's text. */
void kiln_lbuf_type_text(const struct kiln_lmodule *m, const struct kiln_lbuf *b, char *buf,
                         size_t len);
/* Whether buffers x and y have the same shape (rank and every dim). */
bool kiln_lbuf_same_shape(const struct kiln_lbuf *x, const struct kiln_lbuf *y);
/*
 * The workspace plan (codegen/memplan.c): offs[b] for every temporary b, so
 * that temporaries alive at the same step never overlap and the others may
 * share; *total the workspace's size. False when a temporary's size is not a
 * compile-time constant (then lay them out one after another).
 */
bool kiln_lmodule_plan_temps(const struct kiln_lmodule *m, int64_t *offs, int64_t *total);
/*
 * The largest buffer, and the largest workspace, kiln compiles: 2^48 bytes
 * (runtime/kiln_rt.h: KILN_RT_MAX_BYTES). kiln_lmodule_check_sizes refuses a
 * module with a fixed-size buffer past it (naming the value); sizes that
 * depend on runtime dims are checked by the artifact when it runs.
 */
#define KILN_MAX_BYTES (UINT64_C(1) << 48)
enum kiln_status kiln_lmodule_check_sizes(const struct kiln_lmodule *m, struct kiln_diag *d);
/* Whether op has a lowering (for kiln ops and the docs). */
bool kiln_lower_supports(enum kiln_op op);
/* Print the module in a readable C-like form (kiln compile --emit=loops). */
void kiln_lmodule_print(const struct kiln_lmodule *m, FILE *f);
/*
 * A text that equals another kernel's exactly when the two compile to the same
 * function: statements, types and immediates (floats exactly), with buffers
 * as kernel slots and dtypes instead of names. Backends emit one function per
 * signature (ResNet's repeated blocks share their kernels). malloc'd; NULL
 * when out of memory.
 */
char *kiln_lkernel_signature(const struct kiln_lmodule *m, const struct kiln_lkernel *k);

/* ---------------------------------------------------------------- building (for lowerings) */

struct kiln_lfuse;

/* Context handed to an op's lowering function. */
struct kiln_lower_ctx {
    struct kiln_lmodule *m;
    const struct kiln_graph *g;
    const struct kiln_node *n;
    struct kiln_lkernel *k; /* the kernel being built (one per node; more via kiln_lower_kernel) */
    struct kiln_diag *d;
    struct kiln_lfuse *fuse; /* while lowering a fused node's body (lower_fused.c), else NULL */
};

typedef enum kiln_status (*kiln_lower_fn)(struct kiln_lower_ctx *lc);

/* Record on lc->k how the node is computed (printf-style, kept in the module). */
void kiln_lower_method(struct kiln_lower_ctx *lc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Start another kernel for the same node (ops that need several passes). */
struct kiln_lkernel *kiln_lower_kernel(struct kiln_lower_ctx *lc, const char *suffix);
/* Kernel parameter slot of node input/output i in lc->k (added on first use);
 * -1 when that input/output is absent. */
int32_t kiln_lower_in(struct kiln_lower_ctx *lc, int i);
int32_t kiln_lower_out(struct kiln_lower_ctx *lc, int i);
/*
 * A run-time check that `ok` (a bool expression, evaluated at the end of the
 * current kernel, which must be serial) holds; when it does not, the model's
 * run function stops and returns KILN_RT_ERR_SHAPE. For ops compiled for a
 * size the model declares but the data decides (NonZero, Compress).
 */
void kiln_lower_check(struct kiln_lower_ctx *lc, struct kiln_lx *ok);
/* A scratch buffer of numel elements of type t in the workspace, private to the node
 * (kernels of one node pass partial results through it); returns its module buffer id. */
int32_t kiln_lower_scratch(struct kiln_lower_ctx *lc, enum kiln_dtype t, struct kiln_lx *numel);
/* The constant tensor behind the node's input i: a constant, a sub-graph's
 * capture of an outer one, or (inside a fused node) the fused node's constant
 * operand; NULL otherwise. */
const struct kiln_tensor *kiln_lower_const_in(const struct kiln_lower_ctx *lc, int i);
/* A view of the buffer in kernel slot `slot` with other dims (the same
 * elements, row-major: [N, C, L] as [N, C, 1, L]); returns its slot. */
int32_t kiln_lower_view(struct kiln_lower_ctx *lc, int32_t slot, int rank,
                        struct kiln_lx *const *dims);
/* The same with a shape (rank dims), for kernels that read a temporary's dims. */
int32_t kiln_lower_scratch_nd(struct kiln_lower_ctx *lc, enum kiln_dtype t, int rank,
                              struct kiln_lx *const *dims);
/* A buffer of numel elements of type t private to each call of the current
 * kernel's body (KILN_LBUF_LOCAL: on the stack, so keep it to tens of KB);
 * a task that fills it before reading it needs no workspace, and the data
 * stays in the core's cache. Returns its module buffer id. */
int32_t kiln_lower_local(struct kiln_lower_ctx *lc, enum kiln_dtype t, int64_t numel);
/*
 * A constant the lowering computes at compile time (weights packed for a
 * kernel): numel elements of type t, zeroed, at *data for the caller to fill;
 * returns its module buffer id (named NODE_SUFFIXk). Constants no kernel
 * reads are not emitted, so a packed copy replaces the original weights.
 */
int32_t kiln_lower_const(struct kiln_lower_ctx *lc, enum kiln_dtype t, int64_t numel,
                         const char *suffix, void **data);
/* Kernel slot of module buffer `buf` in lc->k (added on first use). */
int32_t kiln_lower_slot(struct kiln_lower_ctx *lc, int32_t buf);
/* Module buffer behind a kernel slot. */
const struct kiln_lbuf *kiln_lower_buf(const struct kiln_lower_ctx *lc, int32_t slot);
/* Error naming the node: "node 'x' (Op): error: ..."; returns KILN_ERR_UNSUPPORTED. */
enum kiln_status kiln_lower_unsupported(struct kiln_lower_ctx *lc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Variables and statements of lc->k. */
int32_t kiln_lk_var(struct kiln_lower_ctx *lc, enum kiln_dtype t, const char *name);
/* A vector variable of lanes elements of float type t (a register of a tile). */
int32_t kiln_lk_vvar(struct kiln_lower_ctx *lc, enum kiln_dtype t, int32_t lanes, const char *name);
/* Append s to block b; returns s. */
struct kiln_ls *kiln_lb_add(struct kiln_lower_ctx *lc, struct kiln_lblock *b, struct kiln_ls *s);
/* New FOR over [lo, hi) appended to b; returns it (fill ->body). *var gets its variable. */
struct kiln_ls *kiln_lb_for(struct kiln_lower_ctx *lc, struct kiln_lblock *b, const char *name,
                            struct kiln_lx *lo, struct kiln_lx *hi, int32_t *var);
/* bufs[slot][idx] = val; a vector val fills [idx, idx + lanes) (memory buffers only). */
void kiln_lb_store(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                   struct kiln_lx *idx, struct kiln_lx *val);
void kiln_lb_set(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t var,
                 struct kiln_lx *val);
/* A hint that bufs[slot][idx] (a memory buffer) is read (write: written)
 * soon: its cache line is fetched into the cache of the given level (1: L1,
 * 2: L2), nothing else happens (idx may be past the buffer's end). */
void kiln_lb_prefetch(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                      struct kiln_lx *idx, int level, bool write);
struct kiln_ls *kiln_lb_if(struct kiln_lower_ctx *lc, struct kiln_lblock *b, struct kiln_lx *cond);
/*
 * Make the kernel's outer loop: trip iterations, split across threads. Returns
 * the block to fill; *var is the outer index. Call at most once, first.
 */
struct kiln_lblock *kiln_lk_parallel(struct kiln_lower_ctx *lc, struct kiln_lx *trip, int32_t *var);

/* Expressions (constant-folded where both sides are immediates; x*1, x+0 simplified). */
struct kiln_lx *kiln_lx_imm_i(struct kiln_lower_ctx *lc, enum kiln_dtype t, int64_t v);
struct kiln_lx *kiln_lx_imm_f(struct kiln_lower_ctx *lc, enum kiln_dtype t, double v);
struct kiln_lx *kiln_lx_idx(struct kiln_lower_ctx *lc, int64_t v); /* i64 immediate */
struct kiln_lx *kiln_lx_var(struct kiln_lower_ctx *lc, int32_t var);
struct kiln_lx *kiln_lx_load(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *idx);
struct kiln_lx *kiln_lx_unary(struct kiln_lower_ctx *lc, enum kiln_lx_op op, struct kiln_lx *a);
struct kiln_lx *kiln_lx_binary(struct kiln_lower_ctx *lc, enum kiln_lx_op op, struct kiln_lx *a,
                               struct kiln_lx *b);
struct kiln_lx *kiln_lx_select(struct kiln_lower_ctx *lc, struct kiln_lx *c, struct kiln_lx *a,
                               struct kiln_lx *b);
struct kiln_lx *kiln_lx_cast(struct kiln_lower_ctx *lc, enum kiln_dtype t, struct kiln_lx *a);
/* Vectors: lanes consecutive elements of slot (a float buffer, not a register
 * buffer) from idx; scalar a in every lane; lane `lane` of vector a. */
struct kiln_lx *kiln_lx_vload(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *idx,
                              int32_t lanes);
struct kiln_lx *kiln_lx_splat(struct kiln_lower_ctx *lc, struct kiln_lx *a, int32_t lanes);
struct kiln_lx *kiln_lx_extract(struct kiln_lower_ctx *lc, struct kiln_lx *a, int32_t lane);
/* lanes lanes picked from vectors a and b (same type and lanes n): lane j is
 * lane mask[j] of a when below n, else lane mask[j] - n of b (mask is copied). */
struct kiln_lx *kiln_lx_shuffle(struct kiln_lower_ctx *lc, struct kiln_lx *a, struct kiln_lx *b,
                                const int32_t *mask, int32_t lanes);
/* The same bits read as type t (equal widths; bool counts as a byte holding 0 or 1). */
struct kiln_lx *kiln_lx_bitcast(struct kiln_lower_ctx *lc, enum kiln_dtype t, struct kiln_lx *a);
/* Load as the compute type (f16/bf16 widened to f32), store narrowing back. */
struct kiln_lx *kiln_lx_load_f(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *idx);
void kiln_lb_store_f(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                     struct kiln_lx *idx, struct kiln_lx *val);
/* Whether op has a vector form over lanes of t: arithmetic, MIN/MAX and
 * comparisons, the unary ops LLVM has vector intrinsics for (f32 or f64),
 * and EXP and ERF, which backends compute in plain arithmetic (f32). */
bool kiln_lx_vector_op(enum kiln_lx_op op, enum kiln_dtype t);

/*
 * Store an op's final result for output element idx (flat) of slot, narrowing
 * like kiln_lb_store_f; axes[rank] are idx's per-axis indices (NULL: derived
 * from idx). Ops that can anchor a fused node (Conv, Gemm, MatMul) store each
 * output element once through this: when the node is the anchor of a fused
 * node, the epilogue (the body's elementwise ops) is built here, on the value
 * while it is still in a register, and the element goes to the fused result.
 */
void kiln_lb_store_out(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                       struct kiln_lx *idx, struct kiln_lx *val, struct kiln_lx *const *axes);
/*
 * kiln_lb_store_out for val->lanes consecutive output elements at once: idx
 * and axes are the flat and per-axis indices of the element of lane `lane`
 * (an i64 variable of the caller's that appears in them; idx must be
 * lane + an offset free of it, so the lanes are consecutive in memory). The
 * store and the epilogue are built on the lane-0 element and widened
 * (lower_lanes.c): a load whose index is lane + offset becomes a vector load,
 * one that does not depend on the lane a splat, and every op its vector form.
 * Returns false, having added nothing to b, when something does not widen (an
 * op without a vector form, a load strided across the lanes, a narrowing
 * store): the caller then stores lane by lane.
 */
bool kiln_lb_store_out_lanes(struct kiln_lower_ctx *lc, struct kiln_lblock *b, int32_t slot,
                             struct kiln_lx *idx, struct kiln_lx *val, struct kiln_lx *const *axes,
                             int32_t lane);
/*
 * Appends to dst a prefetch, into the cache of `level`, of every vector load
 * from memory in src's statements (from statement `from` on; an epilogue
 * kiln_lb_store_out_lanes built; dst may be src), `ahead` elements further
 * on; with `stores`, of the vector stores' targets too (for writing). A tile's epilogue reads (a
 * residual) and writes rows a plane apart, which the hardware prefetchers do not follow: these
 * fetch the next tile's while it computes.
 */
void kiln_lb_prefetch_vectors(struct kiln_lower_ctx *lc, struct kiln_lblock *dst,
                              const struct kiln_lblock *src, int32_t from, struct kiln_lx *ahead,
                              int level, bool stores);
/* The type f16/bf16 compute in (f32); other types compute as themselves. */
enum kiln_dtype kiln_lower_compute_type(enum kiln_dtype t);

/* Shapes of slots: dim i (i64 expression) and the element count. */
int kiln_lower_rank(const struct kiln_lower_ctx *lc, int32_t slot);
struct kiln_lx *kiln_lower_dim(struct kiln_lower_ctx *lc, int32_t slot, int i);
struct kiln_lx *kiln_lower_numel(struct kiln_lower_ctx *lc, int32_t slot);
/* Product of dims [from, to) of slot (1 when the range is empty). */
struct kiln_lx *kiln_lower_dims_prod(struct kiln_lower_ctx *lc, int32_t slot, int from, int to);
/* Structural equality of index expressions (immediates, runtime dims and
 * arithmetic on them: dims are built separately per buffer). */
bool kiln_lx_equal(const struct kiln_lx *a, const struct kiln_lx *b);
/*
 * Row-major flat index into slot's buffer from per-axis indices idx[rank]
 * (NULL entries count as 0). With bcast_rank > rank, idx has bcast_rank
 * entries and the slot's shape is right-aligned with numpy broadcasting:
 * axes of extent 1 index 0.
 */
struct kiln_lx *kiln_lower_offset(struct kiln_lower_ctx *lc, int32_t slot,
                                  struct kiln_lx *const *idx, int bcast_rank);
/*
 * The same for an operand broadcast to the shape of out_slot (idx has its
 * rank): a runtime dim of the operand that differs from the output's there
 * may be 1 at run time, so it reads element 0 when it is. An operand of the
 * output's very shape reads at flat, the output element's own offset, when
 * it is given (the same offset, without the per-axis indices that a fused
 * epilogue may have made by division, which would keep its loop scalar).
 */
struct kiln_lx *kiln_lower_offset_bcast(struct kiln_lower_ctx *lc, int32_t slot,
                                        struct kiln_lx *const *idx, struct kiln_lx *flat,
                                        int32_t out_slot);
/*
 * The loop nest over every element of slot's shape: parallel over all axes but
 * the last, an inner loop (vectorization hint) over the last. Returns the
 * innermost block; idx[rank] receives per-axis index expressions and *flat the
 * row-major flat index.
 */
struct kiln_lblock *kiln_lower_loop_over(struct kiln_lower_ctx *lc, int32_t slot,
                                         struct kiln_lx **idx, struct kiln_lx **flat);
/*
 * Split flat index `flat` over the dims of slot into per-axis indices (idx[rank]),
 * for ops that loop over all elements of an output with one loop.
 */
void kiln_lower_unflatten(struct kiln_lower_ctx *lc, int32_t slot, struct kiln_lx *flat,
                          struct kiln_lx **idx);

#endif
