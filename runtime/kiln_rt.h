/*
 * kiln_rt.h - the runtime every kiln artifact links (statically).
 *
 * It depends on libc, libm and pthreads only; it never aborts and never
 * prints (except the executable driver, runtime/main.c, which is a program,
 * and kiln_rt_profile_report, which writes to the stream it is handed);
 * functions return enum kiln_rt_status. It needs a little-endian host.
 *
 * Pieces (one file each):
 *   - status and dtype names, f16/bf16 conversions (runtime/dtype.c);
 *   - the model descriptor (struct kiln_rt_model) that compiled code exports,
 *     which the executable driver and bindings use to find inputs, outputs,
 *     runtime dims and the workspace size;
 *   - parallel_for over a process-wide thread pool, used by generated kernels
 *     for their outer loops (runtime/threads.c);
 *   - .npy reading and writing (runtime/npy.c);
 *   - a monotonic clock (runtime/clock.c);
 *   - the report of a profiled model (runtime/profile.c).
 *
 * Linking an executable: model.o, then runtime/main.c's object (the driver,
 * which defines main), then libkiln_runtime.a, then -lpthread -lm.
 */
#ifndef KILN_RT_H
#define KILN_RT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum kiln_rt_status {
    KILN_RT_OK = 0,
    KILN_RT_ERR_ARG = 1,    /* a bad argument: null pointer, dim out of range, shape mismatch */
    KILN_RT_ERR_IO = 2,     /* file could not be read or written */
    KILN_RT_ERR_FORMAT = 3, /* a malformed or unsupported .npy file */
    KILN_RT_ERR_NOMEM = 4,
    KILN_RT_ERR_DTYPE = 5,  /* a well-formed .npy file of another dtype than asked for */
    KILN_RT_ERR_SHAPE = 6,  /* a size that depends on the data (NonZero, Compress) differs from
                               the one the model was compiled for */
    KILN_RT_ERR_SIZE = 7,   /* at these runtime dims a buffer's size overflows 64 bits or passes
                               KILN_RT_MAX_BYTES */
    KILN_RT_ERR_BOUNDS = 8, /* kiln compile --check-bounds: a kernel indexed past a buffer */
};

/*
 * The largest buffer (an input, an output, a temporary) and the largest
 * workspace a compiled model accepts, in bytes: 2^48, the user address space
 * of x86-64 and AArch64. Runtime dims that make any size larger, or make its
 * arithmetic overflow, are refused with KILN_RT_ERR_SIZE before anything is
 * touched; the compiler refuses a model whose fixed sizes pass it.
 */
#define KILN_RT_MAX_BYTES (UINT64_C(1) << 48)

/* "ok", "bad argument", ...; "unknown status" for anything else. */
const char *kiln_rt_status_name(int status);

/* Element types, numbered as ONNX's TensorProto.DataType. */
enum kiln_rt_dtype {
    KILN_RT_F32 = 1,
    KILN_RT_U8 = 2,
    KILN_RT_I8 = 3,
    KILN_RT_U16 = 4,
    KILN_RT_I16 = 5,
    KILN_RT_I32 = 6,
    KILN_RT_I64 = 7,
    KILN_RT_BOOL = 9, /* one byte, 0 or 1 */
    KILN_RT_F16 = 10,
    KILN_RT_F64 = 11,
    KILN_RT_U32 = 12,
    KILN_RT_U64 = 13,
    KILN_RT_BF16 = 16,
    /* storage-only types: compiled models take and return them widened (f32 for
     * the float ones, i8/u8 for the integer ones), but their constants and
     * intermediates are stored packed and converted by the functions below */
    KILN_RT_F8E4M3FN = 17,
    KILN_RT_F8E4M3FNUZ = 18,
    KILN_RT_F8E5M2 = 19,
    KILN_RT_F8E5M2FNUZ = 20,
    KILN_RT_U4 = 21,
    KILN_RT_I4 = 22,
    KILN_RT_F4E2M1 = 23,
    KILN_RT_F8E8M0 = 24,
    KILN_RT_U2 = 25,
    KILN_RT_I2 = 26,
};

/* The 8- and 4-bit float formats to and from f32 (runtime/convert.c). Decoding is
 * exact; encoding rounds to nearest even and, on overflow, gives the largest finite
 * value when saturate is set, else infinity (e5m2) or NaN. For F4E2M1 the code is
 * in the low 4 bits. */
float kiln_rt_fp8_to_f32(int dtype, uint8_t code);
uint8_t kiln_rt_f32_to_fp8(int dtype, float x, int saturate);

size_t kiln_rt_dtype_size(int dtype);      /* bytes per element; 0 if unknown */
const char *kiln_rt_dtype_name(int dtype); /* "f32", ... (the IR's spelling); "?" if unknown */

/* IEEE half and bfloat16 <-> f32. Narrowing rounds to nearest even; NaN stays
 * NaN (quiet), overflow gives infinity. */
float kiln_rt_f16_to_f32(uint16_t h);
uint16_t kiln_rt_f32_to_f16(float f);
float kiln_rt_bf16_to_f32(uint16_t b);
uint16_t kiln_rt_f32_to_bf16(float f);

/* ---------------------------------------------------------------- model descriptor */

/*
 * One input or output. dims[i] >= 0 is a fixed extent; KILN_RT_DIM_EXPR is
 * an expression of the runtime dims (2*N, N*S*4), which the model's shape()
 * evaluates; any other dims[i] < 0 is the runtime dim number -1 - dims[i] (an
 * index into the model's dim_names and the dims array passed to run).
 * type is the type as kiln prints it, "f32[2*N,4]".
 */
#define KILN_RT_DIM_EXPR INT64_MIN
struct kiln_rt_tensor_desc {
    const char *name;
    int dtype;
    int rank;
    const int64_t *dims; /* (rank) */
    const char *type;
};

/*
 * What a compiled model exports. run() takes one pointer per input and per
 * output (caller-owned, row-major, contiguous, no two overlapping: the
 * generated code assumes distinct buffers never alias), the runtime dims, and a
 * workspace of at least workspace_size(dims) bytes, 64-byte aligned; it
 * returns 0 or a kiln_rt_status. Each caller brings its own workspace, so
 * concurrent runs are safe.
 */
struct kiln_rt_model {
    const char *name;
    int n_inputs, n_outputs, n_dims;
    const struct kiln_rt_tensor_desc *inputs;  /* (n_inputs) */
    const struct kiln_rt_tensor_desc *outputs; /* (n_outputs) */
    const char *const *dim_names;              /* (n_dims) */
    uint64_t (*workspace_size)(const int64_t *dims);
    int (*run)(void *const *inputs, void *const *outputs, const int64_t *dims, void *workspace);
    /*
     * External weights (kiln compile --weights=external): the file written
     * beside the artifact (a name without folders) and its exact size. run()
     * then takes the file's contents, 64-byte aligned, as inputs[n_inputs].
     * NULL and 0 when the weights are embedded in the artifact.
     */
    const char *weights_file;
    uint64_t weights_size;
    /* kiln compile --profile: the layer table and the time run() spent in
     * each layer; NULL in an artifact compiled without it. */
    const struct kiln_rt_profile *profile;
    /*
     * The shape of input (output 0) or output (output 1) number index at
     * these runtime dims, into shape (its rank entries), every dim evaluated
     * in overflow-checked arithmetic; bytes (may be NULL) gets its size.
     * Returns 0, KILN_RT_ERR_ARG (no such tensor, a negative runtime dim) or
     * KILN_RT_ERR_SIZE (a dim or the size overflows, or the size passes
     * KILN_RT_MAX_BYTES). A caller allocates outputs by it.
     */
    int (*shape)(int output, int index, const int64_t *dims, int64_t *shape, uint64_t *bytes);
    /*
     * Every size the model computes at these runtime dims (inputs, outputs,
     * temporaries, the workspace), checked as shape() checks: 0, or
     * KILN_RT_ERR_ARG (a negative dim, or dims the model requires equal that
     * differ: then *value, if not NULL, says which, "floor((H + 1)/2)*2 == H")
     * or KILN_RT_ERR_SIZE with *value (may be
     * NULL) the name of the first value too large ("the workspace" for the
     * sum) and *bytes (may be NULL) its size in bytes, approximately. run()
     * checks the same first and returns the same status; workspace_size()
     * returns UINT64_MAX where this fails.
     */
    int (*check_sizes)(const int64_t *dims, const char **value, double *bytes);
};

/* ---------------------------------------------------------------- bounds */

/*
 * kiln compile --check-bounds: what run() stopped at when it returned
 * KILN_RT_ERR_BOUNDS. A kernel (named after its node, "k3_conv1") accessed
 * elements [index, index + lanes) of a buffer (named after its value) of
 * extent elements. Generated code fills it through kiln_rt_bounds_set; it is
 * per thread (the thread that called run).
 */
struct kiln_rt_bounds {
    const char *kernel;
    const char *buffer;
    int64_t index, lanes, extent;
    int store; /* 1 a store, 0 a load */
};
/* The last violation run() reported on this thread, or NULL. */
const struct kiln_rt_bounds *kiln_rt_bounds_last(void);
void kiln_rt_bounds_set(const char *kernel, const char *buffer, int64_t index, int64_t lanes,
                        int64_t extent, int store);

/* ---------------------------------------------------------------- profile */

/* One layer of a profiled model: a node of the graph (a fused node is one). */
struct kiln_rt_layer {
    const char *name;   /* the node's name */
    const char *op;     /* "Conv", or a fused node's ops: "Conv+Add+Relu" */
    const char *shape;  /* the result's type, "f32[1,64,56,56]" ('?': a runtime dim) */
    int64_t flops;      /* -1: unknown (a runtime dim) */
    int64_t bytes;      /* operands and results, each once (weights included); -1: unknown */
    const char *method; /* how kiln computes it, where it chose ("tile 8 px x 32 ch ..."), or "" */
};

/*
 * What `kiln compile --profile` adds to the descriptor. run() adds the time
 * spent in layer i (its kernels, summed over calls) to ms[i]; the caller
 * zeroes ms before the runs it measures. The counters are plain doubles: a
 * profiled model must not be run by two threads at once.
 */
struct kiln_rt_profile {
    int32_t n_layers;
    const struct kiln_rt_layer *layers; /* (n_layers), in execution order */
    double *ms;                         /* (n_layers) */
    int64_t params, param_bytes;        /* the weights: elements and bytes */
    int32_t flop_per_cycle;             /* f32 FLOP per cycle of one core of the target:
                                           vector lanes x 2 (FMA) x FMA pipes */
    const char *cpu;                    /* the target CPU it was compiled for */
};

/* Report options; a zero value is "find out" (clock: the CPU's maximum
 * frequency from sysfs or /proc/cpuinfo; bandwidth: measured by a copy). */
struct kiln_rt_profile_opts {
    double ghz;
    double gbs;
    int threads; /* the threads the runs used (peak = per-core peak x threads) */
};

/*
 * Print the per-layer report of `runs` runs that took total_ms in all: per
 * layer op, shape, FLOPs, bytes, time, GFLOP/s, GB/s, fraction of peak, share
 * of the time and the roofline bound (compute when FLOPs per byte exceed the
 * machine balance, peak / bandwidth; else memory); then the slowest layers,
 * the time per op, and totals (latency, throughput, parameters, activation
 * memory = workspace_bytes). The only runtime function that prints: to f.
 */
int kiln_rt_profile_report(FILE *f, const struct kiln_rt_model *m, int runs, double total_ms,
                           uint64_t workspace_bytes, const struct kiln_rt_profile_opts *o);

/* ---------------------------------------------------------------- threads */

/* A generated kernel: computes outer-loop iterations [lo, hi). */
typedef void (*kiln_rt_kernel)(char *const *bufs, const int64_t *dims, int64_t lo, int64_t hi);

/*
 * Run kernel over [0, trip), split into contiguous chunks that the pool's
 * threads (the calling thread among them) claim as they come: at most two
 * chunks per thread, each of at least grain iterations (grain < 1 counts as
 * 1), sizes differing by at most one. Returns when every chunk is done; the chunks' writes are
 * visible to the caller then. trip <= 0 calls nothing.
 *
 * A trip below 2 * grain, a pool of one thread, or a pool already busy with
 * another caller's work (another thread's parallel_for, or a kernel calling
 * parallel_for from inside one) runs kernel(bufs, dims, 0, trip) inline on
 * the calling thread, so it is always safe to call and never deadlocks.
 *
 * Pick grain so that grain iterations cost some microseconds (waking a worker
 * costs a few): the lowering knows the work per outer iteration. parallel_for
 * is parallel_for_grain with grain 1, right for outer loops whose every
 * iteration is a row or a channel of work.
 *
 * The pool's workers are started on first use and only ever added (never
 * joined); between jobs they sleep on a condition variable. They block every
 * signal. After fork(), the child starts a fresh pool (fork() from inside a
 * kernel is not supported: it waits for the pool).
 */
void kiln_rt_parallel_for(int64_t trip, kiln_rt_kernel kernel, char *const *bufs,
                          const int64_t *dims);
void kiln_rt_parallel_for_grain(int64_t trip, int64_t grain, kiln_rt_kernel kernel,
                                char *const *bufs, const int64_t *dims);

#define KILN_RT_MAX_THREADS 256

/*
 * Threads parallel_for uses, the caller included. n >= 1 sets it (at most
 * KILN_RT_MAX_THREADS, else KILN_RT_ERR_ARG), n == 0 restores the default: the
 * KILN_NUM_THREADS environment variable (read once; a value that is not a
 * positive integer is ignored, a larger one clamped), else the CPUs this
 * process may run on. Takes effect at the next parallel_for; safe to call
 * from any thread at any time.
 */
int kiln_rt_set_threads(int n);
int kiln_rt_get_threads(void);

/* ---------------------------------------------------------------- .npy */

#define KILN_RT_NPY_MAX_RANK 32

/*
 * A tensor read from or written to .npy (format versions 1.0, 2.0, 3.0;
 * little-endian, C order). data is malloc'd (64-byte aligned) by
 * kiln_rt_npy_read; release it with kiln_rt_npy_free.
 *
 * descr <-> dtype: '<f2' f16, '<f4' f32, '<f8' f64, '<i2' '<i4' '<i8',
 * '<u2' '<u4' '<u8', '|i1' i8, '|u1' u8, '|b1' bool ('=' is taken as '<';
 * one-byte types accept any byte-order mark). Refused with
 * KILN_RT_ERR_FORMAT: big-endian data, fortran_order True, any other dtype
 * (objects, strings, structured, complex, '<V2'), a header that is not the
 * dict numpy writes, a shape whose size overflows, and data shorter or
 * longer than the shape says.
 *
 * bf16 has no numpy dtype. kiln's convention: a bf16 tensor's .npy file is
 * '<f4' holding the same values. kiln_rt_npy_write widens bf16 to '<f4'
 * (exact); kiln_rt_npy_read_as(path, KILN_RT_BF16, ...) reads '<f4' and
 * narrows to bf16 (round to nearest even). kiln_rt_npy_read never returns
 * KILN_RT_BF16, and '<u2' is never taken for bf16 (nor ml_dtypes' '<V2'):
 * bf16 comes only from f32 data, and only when the caller asks for it.
 */
struct kiln_rt_npy {
    int dtype;
    int rank;
    int64_t dims[KILN_RT_NPY_MAX_RANK]; /* (rank) */
    void *data;                         /* (product of dims) elements of dtype */
    size_t nbytes;
};

/* Read path into *out. On any error *out is empty (data NULL, rank 0). */
int kiln_rt_npy_read(const char *path, struct kiln_rt_npy *out);
/*
 * Read path, which must hold dtype (bf16: '<f4', converted as above). A file
 * of another dtype gives KILN_RT_ERR_DTYPE with out->dtype, rank and dims
 * describing the file (data NULL), so the caller can say what it found.
 */
int kiln_rt_npy_read_as(const char *path, int dtype, struct kiln_rt_npy *out);
/*
 * Read one file's bytes from the stream's current position to its end (a
 * pipe, an in-memory stream): dtype 0 takes any dtype, else as
 * kiln_rt_npy_read_as. The stream is not closed. Data of a stream whose size
 * is unknown is read in chunks, so no allocation runs ahead of the bytes
 * that arrived.
 */
int kiln_rt_npy_read_stream(FILE *f, int dtype, struct kiln_rt_npy *out);
/* Write a version 1.0 file, byte for byte what numpy.save writes (header
 * padded to a multiple of 64 bytes). bf16 is written as '<f4'. */
int kiln_rt_npy_write(const char *path, int dtype, int rank, const int64_t *dims, const void *data);
void kiln_rt_npy_free(struct kiln_rt_npy *t); /* NULL or empty: nothing */

/* ---------------------------------------------------------------- time */

double kiln_rt_now_ms(void); /* monotonic clock, milliseconds */

#ifdef __cplusplus
}
#endif
#endif
