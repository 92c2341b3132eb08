/*
 * ir.h - kiln's graph IR: dtypes, types, values, nodes, attributes, graphs.
 *
 * Contract:
 *  - A graph owns everything it points to through one arena (struct kiln_arena);
 *    kiln_graph_free releases it all at once, sub-graphs included (they share the
 *    root graph's arena).
 *  - Values are SSA: each is defined once, by a graph input, a constant, a capture
 *    of an enclosing graph's value, or one output slot of one node.
 *  - Nodes and values are referred to by index (int32_t id) wherever a pass may
 *    rewrite the graph. g->values[id] and g->nodes[id] are stable pointers; erased
 *    nodes are tombstoned (n->dead) and compacted by kiln_graph_compact.
 *  - g->nodes is kept in a topological order: every operand of a node is a graph
 *    input, a constant, a capture, or the output of an earlier node.
 *  - Use lists (v->uses) are maintained by the mutation functions below; code
 *    that edits n->in[] directly must call kiln_graph_rebuild_uses.
 *
 * Nothing here aborts on bad user input: functions that can fail on it return
 * enum kiln_status and record a diagnostic on a struct kiln_diag (diag.h).
 * Internal invariants use KILN_ASSERT, which names the pass running and aborts.
 */
#ifndef KILN_IR_H
#define KILN_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

/* ---------------------------------------------------------------- dtypes */

enum kiln_dtype_flags {
    KILN_DTF_FLOAT = 1 << 0,
    KILN_DTF_INT = 1 << 1,
    KILN_DTF_SIGNED = 1 << 2,
    KILN_DTF_BOOL = 1 << 3,
    KILN_DTF_STORAGE = 1 << 4, /* load/print only: no arithmetic promised */
};

enum kiln_dtype {
    KILN_DT_INVALID = 0,
#define KILN_DTYPE(E, name, onnx, bits, flags) KILN_DT_##E,
#include "dtypes.def"
#undef KILN_DTYPE
    KILN_DT_COUNT
};

const char *kiln_dtype_name(enum kiln_dtype dt);                 /* "f32"; "invalid" */
enum kiln_dtype kiln_dtype_from_name(const char *s, size_t len); /* INVALID if none */
enum kiln_dtype kiln_dtype_from_onnx(int32_t onnx_id);           /* INVALID if none */
int32_t kiln_dtype_to_onnx(enum kiln_dtype dt);
int kiln_dtype_bits(enum kiln_dtype dt);
unsigned kiln_dtype_flags(enum kiln_dtype dt);
bool kiln_dtype_is_float(enum kiln_dtype dt);
bool kiln_dtype_is_int(enum kiln_dtype dt); /* integer, not bool */
/* Bytes to store n elements (sub-byte types round up); false on overflow. */
bool kiln_dtype_storage_bytes(enum kiln_dtype dt, int64_t n, uint64_t *bytes);

/* ---------------------------------------------------------------- types */

/*
 * One dimension: a constant (sym == NULL, n >= 0), a symbolic monomial
 * (sym != NULL, n >= 1), an expression (sym starts with KILN_DIM_EXPR, n == 1),
 * or unknown (sym == NULL, n == KILN_DIM_UNKNOWN), printed `?`, for sizes known
 * only at run time that have no name (NonZero's output).
 *
 * An expression is an integer polynomial over base symbols and the atoms
 * floor(P/k) (k >= 2), min(P, Q) and max(P, Q): what convolution, pooling,
 * Pad, Slice, Resize and Range make of symbolic sizes (`floor((W + 1)/2)`,
 * `H + 6`, `min(S, 16)`). Its string is a canonical encoding (dim.c), so equal
 * expressions are byte-equal strings as monomials are; it is printed and parsed
 * in the readable form kiln_dim_format writes.
 *
 * A monomial denotes n * f1 * f2 * ... where the factors f are base symbols
 * (ONNX dim_param names such as "N"): `sym` holds the factors sorted in strcmp
 * order and joined by KILN_DIM_SEP ("N" alone, "N\x1fS" for N*S, "N\x1fN" for
 * N*N) and `n` is the coefficient, 1 for a plain symbol (16*N is {16, "N"}).
 * A base symbol is non-empty and never contains KILN_DIM_SEP, so the factor
 * string of a monomial is canonical: equal monomials have equal coefficients
 * and byte-equal strings, which is what kiln_dim_eq compares. Factor strings
 * live in a graph's arena (freed with it, as base symbols always were) or in
 * the process-wide table of kiln_dim_intern (never freed), where the results
 * of kiln_dim_mul and kiln_dim_div_exact go.
 */
struct kiln_dim {
    int64_t n;
    const char *sym;
};

/* Separator of the factors in kiln_dim.sym (ASCII unit separator); the ONNX
 * frontend and the .kir parser refuse base symbols that contain it. */
#define KILN_DIM_SEP '\x1f'
/* First byte of an expression dim's sym (ASCII record separator); base symbols
 * never start with it. */
#define KILN_DIM_EXPR '\x1e'
/* Caps that keep monomials small: a product with more factors, or a longer
 * factor string, is unknown. */
#define KILN_DIM_MAX_FACTORS 32
#define KILN_DIM_MAX_SYM 4096

#define KILN_MAX_RANK 32

/* A tensor type. rank < 0 means the rank itself is unknown (printed `[*]`). */
struct kiln_type {
    enum kiln_dtype dtype;
    int rank;
    struct kiln_dim *dims; /* rank entries, in the graph's arena */
};

static inline struct kiln_dim
kiln_dim_const(int64_t n)
{
    struct kiln_dim d = {n, NULL};
    return d;
}
/* Unknown is n == KILN_DIM_UNKNOWN (not merely negative) so that known integer
 * contents (kiln_infer_in_known), which reuse struct kiln_dim, can hold -1 and
 * other negative integers: there, an element is the integer d.n when
 * kiln_dim_is_int(d), a monomial (kiln_dim_is_sym) when d.sym, and unknown
 * otherwise. */
#define KILN_DIM_UNKNOWN INT64_MIN
static inline struct kiln_dim
kiln_dim_unknown(void)
{
    struct kiln_dim d = {KILN_DIM_UNKNOWN, NULL};
    return d;
}
/* For known integer contents: an exact integer, possibly negative. */
static inline bool
kiln_dim_is_int(struct kiln_dim d)
{
    return d.sym == NULL && d.n != KILN_DIM_UNKNOWN;
}
static inline bool
kiln_dim_is_const(struct kiln_dim d)
{
    return d.sym == NULL && d.n >= 0;
}
static inline bool
kiln_dim_is_unknown(struct kiln_dim d)
{
    return d.sym == NULL && d.n == KILN_DIM_UNKNOWN;
}
/* A symbolic dim: a monomial with at least one factor. */
static inline bool
kiln_dim_is_sym(struct kiln_dim d)
{
    return d.sym != NULL;
}
/* The plain symbol s (coefficient 1). s is a base symbol or a canonical factor
 * string, and must outlive every dim that holds it. */
static inline struct kiln_dim
kiln_dim_sym(const char *s)
{
    struct kiln_dim d = {1, s};
    return d;
}
/* Equal constants (>= 0), or equal monomials (same coefficient, same
 * factors); unknown is equal to nothing. N*S equals S*N: both are stored sorted. */
bool kiln_dim_eq(struct kiln_dim a, struct kiln_dim b);
/* Product of all dims when all are constant; -1 otherwise or on overflow. */
int64_t kiln_type_numel(const struct kiln_type *t);
bool kiln_type_is_static(const struct kiln_type *t); /* ranked, all dims constant */
/* Whether a tensor of the type can exist: its size in bytes, over its constant
 * dims and the coefficients of its symbolic ones (each symbol at least 1),
 * fits int64. An empty tensor (a 0 dim) always does; unknown dims count as 1. */
bool kiln_type_size_fits(const struct kiln_type *t);
bool kiln_type_eq(const struct kiln_type *a, const struct kiln_type *b);

/*
 * Exact arithmetic on dims (infer.c). Results are exact or unknown, never
 * approximate, so that every dim the compiler derives is an expression over
 * the graph inputs' symbols that generated code can evaluate at run time. The
 * operands are dims (constants >= 0, monomials, unknown); the integer cases
 * also accept the negative integers of known contents (kiln_dim_is_int).
 * Factor strings a result needs are interned process-wide (kiln_dim_intern).
 */
/* a * b: integers multiply (overflow: unknown); 0 times anything, unknown
 * included, is 0; c * k*F is (c*k)*F for c >= 1; k1*F1 * k2*F2 is
 * (k1*k2)*(F1 F2) with the factors merged. Unknown when an operand is unknown,
 * a negative integer meets a monomial, the coefficient overflows, the result
 * would pass KILN_DIM_MAX_FACTORS or KILN_DIM_MAX_SYM, or the intern table is full. */
struct kiln_dim kiln_dim_mul(struct kiln_dim a, struct kiln_dim b);
/* Merge two dims that must be equal (broadcast-free axes, Concat's other axes):
 * a constant wins over a symbol or unknown, a symbol over unknown, two different
 * symbols give unknown. False when both are constants that differ. */
bool kiln_dim_merge(struct kiln_dim a, struct kiln_dim b, struct kiln_dim *out);
/* a + b: integers add (overflow or a negative sum: unknown); x + 0 is x; like
 * terms add their coefficients (N + 2*N is 3*N); unlike terms give an
 * expression (N + S, W + 6). Unknown when an operand is. */
struct kiln_dim kiln_dim_add(struct kiln_dim a, struct kiln_dim b);
/* a - b, exact: an integer (which may be negative: known contents), a monomial
 * or an expression (W - 1). Unknown when an operand is, or on overflow. */
struct kiln_dim kiln_dim_sub(struct kiln_dim a, struct kiln_dim b);
/* a + c for an integer c of either sign. */
struct kiln_dim kiln_dim_add_int(struct kiln_dim a, int64_t c);
/* floor(a / k) and ceil(a / k) for k >= 1, exact (simplified: floor((2*W + 3)/2)
 * is W + 1); unknown for k < 1 or an unknown a. */
struct kiln_dim kiln_dim_floordiv(struct kiln_dim a, int64_t k);
struct kiln_dim kiln_dim_ceildiv(struct kiln_dim a, int64_t k);
/* min(a, b), max(a, b): decided when a - b is a constant or provably of one
 * sign (every symbol >= 0), an expression otherwise. */
struct kiln_dim kiln_dim_min(struct kiln_dim a, struct kiln_dim b);
struct kiln_dim kiln_dim_max(struct kiln_dim a, struct kiln_dim b);
/* Whether d >= 0 whatever its symbols' values (each >= 0). */
bool kiln_dim_nonneg(struct kiln_dim d);
bool kiln_dim_is_expr(struct kiln_dim d);
/*
 * A dim as a tree, for code generators that evaluate it at run time: INT
 * (value k), SYM (base symbol sym, len bytes, pointing into d's string), ADD
 * and MUL of n >= 2 args, FLOOR_DIV of args[0] by k >= 2 (rounding toward
 * minus infinity), MIN and MAX of 2 args. Allocated in a; NULL for an unknown
 * dim or out of memory.
 */
enum kiln_dim_tree_op {
    KILN_DIM_TREE_INT,
    KILN_DIM_TREE_SYM,
    KILN_DIM_TREE_ADD,
    KILN_DIM_TREE_MUL,
    KILN_DIM_TREE_FLOOR_DIV,
    KILN_DIM_TREE_MIN,
    KILN_DIM_TREE_MAX,
};
struct kiln_dim_tree {
    enum kiln_dim_tree_op op;
    bool nonneg; /* FLOOR_DIV: args[0] >= 0 for every value of the symbols (plain division) */
    int64_t k;
    const char *sym;
    size_t len;
    int n;
    const struct kiln_dim_tree **args;
};
const struct kiln_dim_tree *kiln_dim_tree(struct kiln_dim d, struct kiln_arena *a);
/* Exact quotient a / b of dims: true with *out = q when a == q * b for a dim q,
 * that is, b's coefficient divides a's and b's factors are a sub-multiset of
 * a's (16*N*S / 4*S is 4*N; N / N is 1; 0 / b is 0 for any b != 0). False (and
 * *out untouched) otherwise: b is 0, negative or unknown, a is unknown or
 * negative, a remainder is left (7 / 2, 3*N / 2), b has a factor a lacks (N / S,
 * 16 / N), or the intern table is full. Which failures are user errors (two
 * constants that do not divide) is the caller's call. */
bool kiln_dim_div_exact(struct kiln_dim a, struct kiln_dim b, struct kiln_dim *out);
/*
 * The monomial coef * factors[0] * ... * factors[n-1]: the factors are base
 * symbols in any order (NUL-terminated, non-empty, without KILN_DIM_SEP). n == 0
 * or coef == 0 give the constant coef. The factor string is allocated in arena
 * a, or interned process-wide when a is NULL (a single factor with a == NULL
 * is interned too). Unknown when coef < 0, a factor is malformed, the caps
 * are passed, or allocation fails.
 */
struct kiln_dim kiln_dim_monomial(int64_t coef, const char *const *factors, int n,
                                  struct kiln_arena *a);
/*
 * Substitute value (>= 0) for the base symbol sym in d: a monomial k*F whose
 * factors hold sym j times becomes (k * value^j) * (F without sym), a constant
 * when no factor is left. True when d holds sym (then *out is the result,
 * unknown on overflow or a negative value); false, *out untouched, otherwise.
 * A factor string that remains is allocated in arena a (NULL: interned).
 */
bool kiln_dim_subst(struct kiln_dim d, const char *sym, int64_t value, struct kiln_arena *a,
                    struct kiln_dim *out);
/*
 * Intern a canonical factor string (len bytes, no NUL) in a process-wide table
 * guarded by a mutex, so that dims built without an arena (kiln_dim_mul) still
 * outlive their graph. Returns the shared copy, or NULL once the table holds
 * 4096 strings or 1 MiB: a hostile model cannot grow it without bound, and
 * arithmetic that needs a new string past that point yields unknown dims.
 */
const char *kiln_dim_intern(const char *s, size_t len);
/* Format d as the .kir printer does: `16`, `?`, `N`, `16*N*S`, `2*"seq len"`
 * (coefficient omitted when 1; a factor bare when it is an identifier not
 * starting with a digit, quoted with the .kir escapes otherwise). Integers of
 * known contents print as they are (`-1`). Truncated to len - 1 bytes and
 * always NUL-terminated when len > 0. */
void kiln_dim_format(struct kiln_dim d, char *buf, size_t len);
/* Format t as the .kir printer does: `f32[2*N,4]`, `f32[*]` for an unknown
 * rank; truncated and terminated as kiln_dim_format. */
void kiln_type_format(const struct kiln_type *t, char *buf, size_t len);

/* ---------------------------------------------------------------- tensors */

/*
 * Constant tensor contents, row-major, little-endian, sub-byte types packed low
 * nibble first. `data` points into the graph's arena or into a file mapping the
 * graph owns (external data), read-only either way. A tensor whose data was
 * elided in a text dump has data == NULL and elided == true: its size and
 * checksum are known, its contents are not.
 */
struct kiln_tensor {
    enum kiln_dtype dtype;
    int rank;
    int64_t *dims;
    uint64_t nbytes;
    const void *data;
    bool elided;
    uint64_t checksum; /* FNV-1a 64 of the bytes; valid when elided or after kiln_tensor_checksum */
};

int64_t kiln_tensor_numel(const struct kiln_tensor *t);
uint64_t kiln_fnv1a64(const void *p, size_t n);
/* Element i as double / int64 (any numeric dtype except STORAGE ones); false if not readable. */
bool kiln_tensor_get_f64(const struct kiln_tensor *t, int64_t i, double *out);
bool kiln_tensor_get_i64(const struct kiln_tensor *t, int64_t i, int64_t *out);

/* ---------------------------------------------------------------- annotations */

/* Quantization parameters of a value: real = scale * (q - zero_point). */
struct kiln_quant {
    enum kiln_dtype storage; /* i8, u8, i4, ... */
    int axis;                /* -1: per tensor; otherwise the channel axis */
    int64_t n;               /* number of (scale, zero point) pairs */
    float *scales;
    int64_t *zero_points;
};

enum kiln_sparse_format {
    KILN_SPARSE_NONE = 0,
    KILN_SPARSE_CSR, /* compressed sparse rows of the 2-D view */
    KILN_SPARSE_BSR, /* block sparse rows, block = block_h x block_w */
    KILN_SPARSE_NM,  /* structured N:M along the reduction axis (e.g. 2:4) */
};

struct kiln_sparsity {
    enum kiln_sparse_format format;
    double density;       /* nonzeros / elements, 0..1 */
    int block_h, block_w; /* BSR block, or N and M for NM */
};

/* Where a value lives after memory planning. */
struct kiln_mem_plan {
    int64_t offset; /* bytes into the activation arena */
    int64_t size;   /* bytes */
    int32_t first;  /* index of the node that defines it (-1: graph input) */
    int32_t last;   /* index of the last node that reads it */
};

/* ---------------------------------------------------------------- attributes */

enum kiln_attr_kind {
    KILN_ATTR_INT,
    KILN_ATTR_FLOAT,
    KILN_ATTR_STRING,
    KILN_ATTR_TENSOR,
    KILN_ATTR_GRAPH,
    KILN_ATTR_INTS,
    KILN_ATTR_FLOATS,
    KILN_ATTR_STRINGS,
    KILN_ATTR_TENSORS,
    KILN_ATTR_GRAPHS,
    KILN_ATTR_COUNT
};

struct kiln_graph;

/* A typed attribute. Strings may hold any bytes: s is NUL-terminated and s_len exact. */
struct kiln_attr {
    const char *name;
    enum kiln_attr_kind kind;
    int64_t n; /* element count for the list kinds */
    union {
        int64_t i;
        float f;
        struct {
            const char *s;
            size_t s_len;
        };
        struct kiln_tensor *t;
        struct kiln_graph *g;
        int64_t *ints;
        float *floats;
        const char **strings; /* NUL-terminated each */
        struct kiln_tensor **tensors;
        struct kiln_graph **graphs;
    };
};

const char *kiln_attr_kind_name(enum kiln_attr_kind k); /* "int", "ints", ... */

/* ---------------------------------------------------------------- ops */

enum kiln_domain {
    KILN_DOMAIN_ONNX, /* "" or "ai.onnx" */
    KILN_DOMAIN_ML,   /* "ai.onnx.ml" */
    KILN_DOMAIN_MS,   /* "com.microsoft": the contrib ops ONNX Runtime's tools write */
    KILN_DOMAIN_KILN, /* kiln-internal ops */
    KILN_DOMAIN_COUNT
};

enum kiln_op_flags {
    KILN_OPF_ELEMWISE = 1 << 0,    /* output element i depends on input elements i only */
    KILN_OPF_COMMUTATIVE = 1 << 1, /* inputs may be swapped */
    KILN_OPF_BROADCAST = 1 << 2,   /* numpy multidirectional broadcasting */
    KILN_OPF_QUANT = 1 << 3,       /* works on quantized tensors */
    KILN_OPF_CONTROL = 1 << 4,     /* holds sub-graphs (If, Loop, Scan) */
    KILN_OPF_RANDOM = 1 << 5,      /* output is random: never folded or CSE'd */
    KILN_OPF_FUSED = 1 << 6,       /* a fused node with a body */
};

enum kiln_op {
#define KILN_OP(E, name, dom, mi, ma, mo, mx, fl, shape, flops) KILN_OP_##E,
#include "ops.def"
#undef KILN_OP
    KILN_OP_COUNT
};

struct kiln_infer_ctx;
struct kiln_node;

typedef enum kiln_status (*kiln_shape_fn)(struct kiln_infer_ctx *ic);
typedef int64_t (*kiln_flops_fn)(const struct kiln_graph *g, const struct kiln_node *n);

struct kiln_op_info {
    const char *name;
    enum kiln_domain domain;
    int min_in, max_in, min_out, max_out;
    unsigned flags;
    kiln_shape_fn shape;
    kiln_flops_fn flops;
};

extern const struct kiln_op_info kiln_op_table[KILN_OP_COUNT];

static inline const struct kiln_op_info *
kiln_op_info(enum kiln_op op)
{
    return &kiln_op_table[op];
}
const char *kiln_op_name(enum kiln_op op);
const char *kiln_domain_name(enum kiln_domain d); /* "ai.onnx", "ai.onnx.ml", "kiln" */
/* Domain string as ONNX spells it ("" counts as ai.onnx); false if unknown. */
bool kiln_domain_from_name(const char *s, enum kiln_domain *out);
/* Op by name within a domain; false if kiln does not know it. */
bool kiln_op_lookup(enum kiln_domain d, const char *name, enum kiln_op *out);

/* ---------------------------------------------------------------- values and nodes */

enum kiln_value_kind {
    KILN_VALUE_NODE,    /* output of a node */
    KILN_VALUE_INPUT,   /* graph input (data != NULL: an overridable default) */
    KILN_VALUE_CONST,   /* constant: data holds the contents */
    KILN_VALUE_CAPTURE, /* sub-graph reference to an enclosing graph's value */
};

struct kiln_use {
    int32_t node; /* user node id */
    int32_t slot; /* its input index */
};

struct kiln_value {
    int32_t id;
    const char *name; /* unique within its graph; never empty */
    enum kiln_value_kind kind;
    struct kiln_type type;
    int32_t producer;      /* KILN_VALUE_NODE: defining node id; else -1 */
    int32_t producer_slot; /* its output index */
    struct kiln_use *uses;
    int32_t n_uses, cap_uses;
    bool is_output;           /* listed in g->outputs */
    bool dead;                /* removed (by DCE): not printed, not compiled */
    struct kiln_tensor *data; /* CONST contents, or INPUT default */
    int32_t outer;            /* CAPTURE: value id in g->parent */
    struct kiln_quant *quant; /* optional annotations */
    struct kiln_sparsity *sparsity;
    struct kiln_mem_plan *plan;
};

struct kiln_node {
    int32_t id;
    enum kiln_op op;
    const char *name; /* ONNX node name, for diagnostics; "" if it had none */
    int32_t n_in, n_out;
    int32_t *in;  /* value ids; -1 = absent optional input */
    int32_t *out; /* value ids; -1 = absent optional output */
    int32_t n_attrs;
    struct kiln_attr *attrs; /* sorted by name, names unique */
    struct kiln_graph *body; /* KILN_OPF_FUSED: the sub-graph it replaced */
    const char **fused_locs; /* names of the nodes a fused node replaced */
    int32_t n_fused_locs;
    bool dead; /* erased; removed by kiln_graph_compact */
};

/* ---------------------------------------------------------------- graphs */

struct kiln_opset {
    const char *domain; /* as ONNX spells it: "" for ai.onnx */
    int64_t version;
};

/* The newest version of each domain kiln implements (onnx 1.23's opsets): the
 * ops table's arities, attributes and shape functions follow the ONNX schemas
 * up to these. A model importing a newer version is refused by the frontend
 * (its ops may mean something else), unless the user allows it. */
#define KILN_OPSET_ONNX_MAX 28
#define KILN_OPSET_ML_MAX 5

struct kiln_graph {
    struct kiln_arena *arena; /* shared by a graph and all its sub-graphs */
    const char *name;
    struct kiln_graph *parent; /* enclosing graph of a sub-graph; NULL at top */
    struct kiln_value **values;
    int32_t n_values, cap_values;
    struct kiln_node **nodes; /* topological order; dead ones until compacted */
    int32_t n_nodes, cap_nodes;
    int32_t *inputs; /* value ids (KILN_VALUE_INPUT) */
    int32_t n_inputs, cap_inputs;
    int32_t *outputs; /* value ids */
    int32_t n_outputs, cap_outputs;
    int32_t *captures; /* value ids (KILN_VALUE_CAPTURE), in first-use order */
    int32_t n_captures, cap_captures;
    /* model-level facts (top graph only) */
    struct kiln_opset *opsets;
    int32_t n_opsets;
    int64_t opset;    /* ai.onnx version in force (copied into sub-graphs) */
    int64_t opset_ml; /* ai.onnx.ml version, 0 if not imported */
    int64_t ir_version;
    const char *producer; /* producer_name + " " + producer_version, or "" */
    /* a declared type (value_info, graph outputs) that inference contradicts is
     * an error; otherwise a warning, and the inferred type wins */
    bool strict_shapes;
    /* dims the model requires equal that inference could not prove equal
     * (Concat's other axes, broadcast operands, ...): the types use one side,
     * and the generated code checks a == b at run time (top graph only) */
    struct kiln_dim_assume *assumes;
    int32_t n_assumes, cap_assumes;
    /* name -> value id index (open addressing), private to graph.c */
    int32_t *name_index;
    uint32_t name_cap;
    /* file mappings (external weights) released by kiln_graph_free */
    struct kiln_mapping *mappings;
};

struct kiln_dim_assume {
    struct kiln_dim a, b;
    bool ge; /* a >= b rather than a == b */
};

/* A new empty top-level graph with its own arena; NULL on out of memory. */
struct kiln_graph *kiln_graph_new(const char *name);
/* A new empty sub-graph in parent's arena. */
struct kiln_graph *kiln_graph_new_sub(struct kiln_graph *parent, const char *name);
void kiln_graph_free(struct kiln_graph *g); /* top-level graphs only */

/* Record a file mapping the graph owns (munmap'd by kiln_graph_free). */
void kiln_graph_add_mapping(struct kiln_graph *g, void *addr, size_t len);

/* Intern a string in the graph's arena (symbols, names). */
const char *kiln_graph_intern(struct kiln_graph *g, const char *s);
const char *kiln_graph_intern_n(struct kiln_graph *g, const char *s, size_t n);

/*
 * Add a value named `name` (NULL or "": a fresh unique name is made). Returns its
 * id, or -1 if the name is already taken in this graph. The type starts invalid
 * (dtype INVALID, rank -1) unless set.
 */
int32_t kiln_graph_add_value(struct kiln_graph *g, const char *name, enum kiln_value_kind kind);
int32_t kiln_graph_find_value(const struct kiln_graph *g, const char *name); /* -1 if absent */
/* Exchange the names of values a and b (a rewrite that replaces a graph output keeps
 * the output's name, which is part of the model's interface). O(values). */
void kiln_graph_swap_names(struct kiln_graph *g, int32_t a, int32_t b);
/* Value id in g for name, looking through enclosing graphs: a name found in an
 * ancestor becomes (once) a KILN_VALUE_CAPTURE in g. -1 if no graph has it. */
int32_t kiln_graph_resolve_value(struct kiln_graph *g, const char *name);

int32_t kiln_graph_add_input(struct kiln_graph *g, const char *name); /* KILN_VALUE_INPUT */
void kiln_graph_add_output(struct kiln_graph *g, int32_t value);
/* A constant value holding t (not copied: t must live in g's arena or mappings). */
int32_t kiln_graph_add_const(struct kiln_graph *g, const char *name, struct kiln_tensor *t);

/*
 * Append a node. Inputs are value ids (-1 for absent); outputs are created as new
 * KILN_VALUE_NODE values with the given names (NULL/"" name: absent output when
 * the op allows it, shown by out id -1; pass a name to get a value). Returns the
 * node, or NULL when an output name is taken (diagnostic recorded on d if d).
 */
struct kiln_node *kiln_graph_add_node(struct kiln_graph *g, enum kiln_op op, const char *name,
                                      const int32_t *in, int32_t n_in, const char *const *out_names,
                                      int32_t n_out, struct kiln_diag *d);

void kiln_node_set_input(struct kiln_graph *g, struct kiln_node *n, int32_t slot, int32_t value);
void kiln_value_replace_uses(struct kiln_graph *g, int32_t from, int32_t to);
void kiln_graph_erase_node(struct kiln_graph *g, struct kiln_node *n); /* tombstone */
void kiln_graph_compact(struct kiln_graph *g); /* drop dead nodes, renumber */
void kiln_graph_rebuild_uses(struct kiln_graph *g);
/*
 * Put nodes in a topological order (stable: the existing order is kept where it
 * is already valid). Fails with a diagnostic naming a node on a cycle, or one
 * whose operand no node produces.
 */
enum kiln_status kiln_graph_sort(struct kiln_graph *g, struct kiln_diag *d);

/*
 * Bind the base symbol `sym` to `value` (>= 0) in the type of every value of g,
 * sub-graphs included: each dim whose factors include sym is rewritten by
 * kiln_dim_subst (16*N -> 64 and N*S -> 4*S for N=4). Re-run
 * kiln_graph_infer_shapes afterwards to propagate. Returns how many dims
 * changed (0: no dim has that symbol).
 */
int64_t kiln_graph_bind_dim(struct kiln_graph *g, const char *sym, int64_t value);

static inline struct kiln_value *
kiln_value(const struct kiln_graph *g, int32_t id)
{
    return id >= 0 ? g->values[id] : NULL;
}

/* ---------------------------------------------------------------- attributes on nodes */

/* Set (insert or replace, keeping sorted order) an attribute; `a` is copied shallowly. */
void kiln_node_set_attr(struct kiln_graph *g, struct kiln_node *n, const struct kiln_attr *a);
/* Give n all its attributes at once, in O(k log k): attrs (in g's arena) is taken
 * over and sorted by name. Returns a name that occurs twice (n unchanged), or NULL. */
const char *kiln_node_set_attrs(struct kiln_node *n, struct kiln_attr *attrs, int32_t count);
const struct kiln_attr *kiln_node_attr(const struct kiln_node *n, const char *name);
/* Typed getters: the default when the attribute is absent. A present attribute of
 * the wrong kind is caught by kiln_node_check_attr / the verifier, and reads as
 * the default here. */
int64_t kiln_node_attr_int(const struct kiln_node *n, const char *name, int64_t def);
float kiln_node_attr_float(const struct kiln_node *n, const char *name, float def);
const char *kiln_node_attr_string(const struct kiln_node *n, const char *name, const char *def);
/* List getters: count in *len (0 when absent); NULL when absent. */
const int64_t *kiln_node_attr_ints(const struct kiln_node *n, const char *name, int64_t *len);
const float *kiln_node_attr_floats(const struct kiln_node *n, const char *name, int64_t *len);
const struct kiln_tensor *kiln_node_attr_tensor(const struct kiln_node *n, const char *name);
struct kiln_graph *kiln_node_attr_graph(const struct kiln_node *n, const char *name);

/* ---------------------------------------------------------------- shape inference */

/*
 * Context handed to an op's shape function. Besides types, inference tracks the
 * integer contents of small 1-D/0-D integer tensors where they are known (a
 * constant, Shape of a ranked tensor, and arithmetic on those), as dims, so
 * exporter chains like Shape -> Gather -> Concat -> Reshape resolve to exact
 * (possibly symbolic) shapes.
 */
struct kiln_infer_ctx {
    struct kiln_graph *g;
    struct kiln_node *n;
    struct kiln_diag *d;
    int64_t opset; /* ai.onnx version in force */
    /* known integer contents per value id (private to infer.c) */
    struct kiln_known *known;
    int32_t n_known;
};

int kiln_infer_n_in(const struct kiln_infer_ctx *ic);  /* n->n_in */
int kiln_infer_n_out(const struct kiln_infer_ctx *ic); /* n->n_out */
/* Type of input i; NULL when i is out of range or the input is absent. */
const struct kiln_type *kiln_infer_in(const struct kiln_infer_ctx *ic, int i);
/* Constant tensor behind input i (a KILN_VALUE_CONST with data), or NULL. */
const struct kiln_tensor *kiln_infer_in_const(const struct kiln_infer_ctx *ic, int i);
/* Known integer contents of input i (flattened), or false. *vals lives until the
 * inference run ends. Works for constants of any integer dtype and for values
 * whose contents inference derived. */
/* Known contents of value id of the graph being inferred (not only of the
 * node's inputs): for looking through a producer, such as the Cast of a dim. */
bool kiln_infer_value_known(const struct kiln_infer_ctx *ic, int32_t id,
                            const struct kiln_dim **vals, int64_t *n);
bool kiln_infer_in_known(const struct kiln_infer_ctx *ic, int i, const struct kiln_dim **vals,
                         int64_t *n);
/* Input i, which the op requires: NULL after recording "input i (what) is required". */
const struct kiln_type *kiln_infer_need_in(struct kiln_infer_ctx *ic, int i, const char *what);
/* Output `out` takes t's shape with element type dt (unranked stays unranked). */
void kiln_infer_set_like(struct kiln_infer_ctx *ic, int out, const struct kiln_type *t,
                         enum kiln_dtype dt);
/* Whether output i is present (the node has a value there). */
bool kiln_infer_has_out(const struct kiln_infer_ctx *ic, int i);
/* Set output i's type (dims copied). No-op for an absent output. rank < 0: unranked. */
void kiln_infer_set_out(struct kiln_infer_ctx *ic, int i, enum kiln_dtype dt, int rank,
                        const struct kiln_dim *dims);
void kiln_infer_set_out_type(struct kiln_infer_ctx *ic, int i, const struct kiln_type *t);
/* Record the known integer contents of output i (copied). */
void kiln_infer_set_out_known(struct kiln_infer_ctx *ic, int i, const struct kiln_dim *vals,
                              int64_t n);
/* Record "node 'x' (Op): error: <msg>" and return KILN_ERR_INVALID. */
enum kiln_status kiln_infer_fail(struct kiln_infer_ctx *ic, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Record an unsupported-feature error (KILN_ERR_UNSUPPORTED). */
enum kiln_status kiln_infer_unsupported(struct kiln_infer_ctx *ic, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Shared helpers for shape functions (infer.c). */
/* Numpy broadcast of two shapes into out (rank = max); fails (with diagnostic) on mismatch. */
enum kiln_status kiln_infer_broadcast(struct kiln_infer_ctx *ic, const struct kiln_type *a,
                                      const struct kiln_type *b, struct kiln_type *out);
/* Normalize axis in [-rank, rank) to [0, rank); fails with a diagnostic if out of range. */
enum kiln_status kiln_infer_axis(struct kiln_infer_ctx *ic, int64_t axis, int rank, int *out);
/* Require input i present with one of the dtypes in the mask (bit = 1 << dtype). */
enum kiln_status kiln_infer_require(struct kiln_infer_ctx *ic, int i, uint64_t dtype_mask);
/* Require inputs i and j to have the same dtype. */
enum kiln_status kiln_infer_same_dtype(struct kiln_infer_ctx *ic, int i, int j);
/*
 * Merge two dims the op requires equal, as kiln_dim_merge, except that two
 * known dims that differ in form (a symbol and a constant, two expressions)
 * give one of them (the constant, else the shorter) and record a == b on the
 * top graph (kiln_graph.assumes), for the generated code to check. False only
 * for two different constants.
 */
bool kiln_infer_merge(struct kiln_infer_ctx *ic, struct kiln_dim a, struct kiln_dim b,
                      struct kiln_dim *out);
/* Record a == b on the top graph (deduplicated; trivial ones dropped). */
void kiln_infer_assume_eq(struct kiln_infer_ctx *ic, struct kiln_dim a, struct kiln_dim b);
/* Record a >= b (a window that must fit its padded input); one that the
 * algebra proves (a - b >= 0 for all symbols) is dropped. */
void kiln_infer_assume_ge(struct kiln_infer_ctx *ic, struct kiln_dim a, struct kiln_dim b);

/* Scratch array of n dims in the graph arena (for building output shapes). */
struct kiln_dim *kiln_infer_dims(struct kiln_infer_ctx *ic, int n);

#define KILN_DT_MASK(dt) (UINT64_C(1) << (dt))
#define KILN_DT_MASK_FLOAT                                                                         \
    (KILN_DT_MASK(KILN_DT_F32) | KILN_DT_MASK(KILN_DT_F16) | KILN_DT_MASK(KILN_DT_BF16) |          \
     KILN_DT_MASK(KILN_DT_F64))
#define KILN_DT_MASK_SINT                                                                          \
    (KILN_DT_MASK(KILN_DT_I8) | KILN_DT_MASK(KILN_DT_I16) | KILN_DT_MASK(KILN_DT_I32) |            \
     KILN_DT_MASK(KILN_DT_I64))
#define KILN_DT_MASK_UINT                                                                          \
    (KILN_DT_MASK(KILN_DT_U8) | KILN_DT_MASK(KILN_DT_U16) | KILN_DT_MASK(KILN_DT_U32) |            \
     KILN_DT_MASK(KILN_DT_U64))
#define KILN_DT_MASK_INT (KILN_DT_MASK_SINT | KILN_DT_MASK_UINT)
#define KILN_DT_MASK_NUMERIC (KILN_DT_MASK_FLOAT | KILN_DT_MASK_INT)
#define KILN_DT_MASK_ANY (~UINT64_C(1)) /* every dtype but INVALID */
#define KILN_DT_MASK_INDEX (KILN_DT_MASK(KILN_DT_I32) | KILN_DT_MASK(KILN_DT_I64))

/*
 * Infer the types of every node output in g (and of sub-graphs), in node order.
 * Declared types already on values (from ONNX value_info or graph outputs) are
 * merged: inferred information wins where known, declared dims fill unknowns,
 * and a contradiction is an error. Stops at the first failing node after
 * reporting it; returns its status.
 */
enum kiln_status kiln_graph_infer_shapes(struct kiln_graph *g, struct kiln_diag *d);
/*
 * The same, then fn(g, value, vals, n, user) for every node result of the top
 * graph whose integer contents inference knows exactly (Shape of a static
 * tensor and the arithmetic on it): vals[0..n) are plain integers (d.n), in
 * row-major order. fn must not change g while inference runs; it is called
 * after, with the inference's data still valid.
 */
typedef void (*kiln_known_fn)(struct kiln_graph *g, int32_t value, const struct kiln_dim *vals,
                              int64_t n, void *user);
enum kiln_status kiln_graph_infer_known(struct kiln_graph *g, struct kiln_diag *d, kiln_known_fn fn,
                                        void *user);

/* ---------------------------------------------------------------- verifier */

/*
 * Check the IR's invariants: SSA, topological order, operand and result counts
 * against the op table, attribute kinds of known attributes, use lists, every
 * value typed, and that the op's shape function accepts the node and agrees
 * with the stored types. Every violation is reported on d.
 */
enum kiln_status kiln_graph_verify(struct kiln_graph *g, struct kiln_diag *d);

/* ---------------------------------------------------------------- statistics */

struct kiln_graph_stats {
    int64_t nodes;
    int64_t op_count[KILN_OP_COUNT];
    int64_t params;       /* elements in constants */
    uint64_t param_bytes; /* bytes of constants */
    int64_t flops;        /* sum over nodes; -1 if any is unknown */
    int64_t flops_unknown_nodes;
};
void kiln_graph_stats(const struct kiln_graph *g, struct kiln_graph_stats *s);

#endif
