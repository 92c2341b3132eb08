/*
 * main.c - the driver linked into `kiln compile --emit=exe` artifacts.
 *
 *   ./model [--in NAME=PATH.npy ...] [--out-dir DIR] [--dim NAME=VALUE ...]
 *           [--bench N] [--threads T] [--seed S] [--weights PATH]
 *           [--profile [--ghz G]] [--help]
 *
 * It runs the compiled model (the kiln_model descriptor the model object
 * defines) once: inputs come from .npy files or are seeded pseudo-random;
 * runtime dims come from the input files' shapes, else --dim, else 1. It
 * prints every output (name, dtype, shape, first values), writes them as
 * .npy with --out-dir, and with --bench times repeated runs. --profile (a
 * model compiled with --profile) times each layer over the runs and prints
 * the report of runtime/profile.c.
 *
 * Unlike the rest of runtime/, this is a program: it prints, and exits
 * 0 (ok), 1 (a file or the run failed), 2 (usage). Scripts rely on the
 * options, the exit codes and the last line of --bench:
 * "latency_ms median=X min=Y".
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/kiln_rt.h"

extern const struct kiln_rt_model kiln_model;

enum { EXIT_OK = 0, EXIT_RUN = 1, EXIT_USAGE = 2 };
enum { PRINT_VALUES = 8, ALIGN = 64 };

static const char *prog = "model";

static const char options_text[] =
    "\noptions:\n"
    "  --in NAME=PATH.npy  read input NAME from a .npy file; inputs not given get\n"
    "                      pseudo-random data: floats uniform in [-1, 1), integers\n"
    "                      in [0, 4), bools 0 or 1\n"
    "  --out-dir DIR       write each output to DIR/NAME.npy (DIR is created when\n"
    "                      missing); in NAME, '/' and NUL and a leading '.' become\n"
    "                      '_', and a name already taken gets _K appended (K: the\n"
    "                      output's position)\n"
    "  --dim NAME=VALUE    set a runtime dim; a dim is otherwise taken from the\n"
    "                      shape of an --in file, else 1\n"
    "  --bench N           after one warm-up run, time N runs: prints runs/s, then\n"
    "                      a last line 'latency_ms median=X min=Y'\n"
    "  --threads T         threads for parallel loops (default: the environment\n"
    "                      variable KILN_NUM_THREADS, else the CPU count)\n"
    "  --seed S            seed of the random inputs (default 0)\n"
    "  --weights PATH      the weights file of a model compiled with\n"
    "                      --weights=external (default: beside the executable)\n"
    "  --profile           (a model compiled with --profile) after one warm-up\n"
    "                      run, time each layer over the --bench N runs (default\n"
    "                      10) and print the per-layer report\n"
    "  --ghz G             the clock the report's peak FLOP/s assumes (default: the\n"
    "                      CPU's maximum from sysfs, else /proc/cpuinfo)\n"
    "  --help              this text\n"
    "\n"
    "bf16 tensors are read from and written to .npy files as float32 ('<f4').\n"
    "exit status: 0 ok, 1 the run or a file failed, 2 usage error\n";

/* Where a runtime dim's value came from, for error messages. */
struct dim_source {
    bool set;
    int input; /* -1: --dim */
    int axis;
};

struct driver {
    const struct kiln_rt_model *m;
    const char *weights_path; /* --weights, or NULL: beside the executable */
    const char *exe_path;     /* argv[0] */
    void *weights;            /* external weights, 64-byte aligned */
    const char **in_paths;    /* (n_inputs) NULL: random */
    int64_t *dims;            /* (n_dims) */
    struct dim_source *dim_src;
    int bench;
    bool profile; /* --profile */
    double ghz;   /* --ghz, or 0 */
    uint64_t seed;
    const char *out_dir;
    struct kiln_rt_npy *in_files; /* (n_inputs) */
    void **inputs;                /* (n_inputs) */
    void **outputs;               /* (n_outputs) */
    void *workspace;
};

/* ---------------------------------------------------------------- messages */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *
dim_name(const struct kiln_rt_model *m, int k, char buf[32])
{
    if (m->dim_names && m->dim_names[k] && m->dim_names[k][0])
        return m->dim_names[k];
    snprintf(buf, 32, "d%d", k);
    return buf;
}

/* "f32[N,3]" */
static void
print_type(FILE *f, const struct kiln_rt_model *m, const struct kiln_rt_tensor_desc *t)
{
    char buf[32];
    if (t->type) { /* as kiln prints it, expressions (2*N) included */
        fputs(t->type, f);
        return;
    }
    fprintf(f, "%s[", kiln_rt_dtype_name(t->dtype));
    for (int i = 0; i < t->rank; i++) {
        if (i)
            fputc(',', f);
        if (t->dims[i] >= 0)
            fprintf(f, "%" PRId64, t->dims[i]);
        else if (t->dims[i] == KILN_RT_DIM_EXPR)
            fputc('?', f);
        else
            fputs(dim_name(m, (int)(-1 - t->dims[i]), buf), f);
    }
    fputc(']', f);
}

/* " N=2, S=8" (nothing for a model without runtime dims) */
static void
print_dims(FILE *f, const struct driver *dr)
{
    char buf[32];
    for (int k = 0; k < dr->m->n_dims; k++)
        fprintf(f, "%s %s=%" PRId64, k ? "," : "", dim_name(dr->m, k, buf), dr->dims[k]);
    if (!dr->m->n_dims)
        fprintf(f, " the fixed dims");
}

static void
print_shape(FILE *f, int rank, const int64_t *dims)
{
    fputc('[', f);
    for (int i = 0; i < rank; i++)
        fprintf(f, i ? ",%" PRId64 : "%" PRId64, dims[i]);
    fputc(']', f);
}

static void
print_help(const struct kiln_rt_model *m)
{
    printf("usage: %s [--in NAME=PATH.npy ...] [--out-dir DIR] [--dim NAME=VALUE ...]\n"
           "       %*s [--bench N] [--threads T] [--seed S] [--weights PATH]\n"
           "       %*s [--profile [--ghz G]] [--help]\n\n",
           prog, (int)strlen(prog), "", (int)strlen(prog), "");
    printf("Runs the model '%s' (compiled by kiln) once and prints its outputs.\n\n",
           m->name ? m->name : "");
    int w = 1;
    for (int i = 0; i < m->n_inputs; i++)
        w = (int)strlen(m->inputs[i].name) > w ? (int)strlen(m->inputs[i].name) : w;
    for (int i = 0; i < m->n_outputs; i++)
        w = (int)strlen(m->outputs[i].name) > w ? (int)strlen(m->outputs[i].name) : w;
    printf("inputs:\n");
    for (int i = 0; i < m->n_inputs; i++) {
        printf("  %-*s  ", w, m->inputs[i].name);
        print_type(stdout, m, &m->inputs[i]);
        putchar('\n');
    }
    printf("outputs:\n");
    for (int i = 0; i < m->n_outputs; i++) {
        printf("  %-*s  ", w, m->outputs[i].name);
        print_type(stdout, m, &m->outputs[i]);
        putchar('\n');
    }
    if (m->n_dims > 0) {
        char buf[32];
        printf("runtime dims:");
        for (int k = 0; k < m->n_dims; k++)
            printf(" %s", dim_name(m, k, buf));
        putchar('\n');
    }
    fputs(options_text, stdout);
}

/* ---------------------------------------------------------------- arguments */

static bool
parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool
parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/*
 * "NAME=VALUE" where NAME is one of n names (the longest that matches, since
 * a name may hold '='). Returns its index and sets *value, or -1.
 */
static int
match_name(const char *arg, int n, const char *(*name_of)(const struct kiln_rt_model *, int),
           const struct kiln_rt_model *m, const char **value)
{
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < n; i++) {
        const char *name = name_of(m, i);
        size_t len = strlen(name);
        if (strncmp(arg, name, len) == 0 && arg[len] == '=' && (best < 0 || len > best_len)) {
            best = i;
            best_len = len;
        }
    }
    if (best >= 0)
        *value = arg + best_len + 1;
    return best;
}

static const char *
input_name(const struct kiln_rt_model *m, int i)
{
    return m->inputs[i].name;
}

static const char *
dim_name_plain(const struct kiln_rt_model *m, int k)
{
    return m->dim_names && m->dim_names[k] ? m->dim_names[k] : "";
}

/* "'x' (inputs: x, y)" for an unknown name */
static void
fail_unknown(const char *what, const char *arg, int n,
             const char *(*name_of)(const struct kiln_rt_model *, int),
             const struct kiln_rt_model *m)
{
    const char *eq = strchr(arg, '=');
    int len = eq ? (int)(eq - arg) : (int)strlen(arg);
    fprintf(stderr, "%s: error: unknown %s '%.*s' (%ss:", prog, what, len, arg, what);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", name_of(m, i));
    fprintf(stderr, "%s)\n", n ? "" : " none");
}

/* Returns -1 to go on, else an exit code. */
static int
parse_args(struct driver *dr, int argc, char **argv)
{
    const struct kiln_rt_model *m = dr->m;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(m);
            return EXIT_OK;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (strcmp(a, "--profile") == 0) {
            dr->profile = true;
            continue;
        }
        static const char *const with_value[] = {"--in",      "--out-dir", "--dim",     "--bench",
                                                 "--threads", "--seed",    "--weights", "--ghz"};
        const char *opt = NULL;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
            size_t len = strlen(with_value[k]);
            if (strncmp(a, with_value[k], len) == 0 && (a[len] == '\0' || a[len] == '=')) {
                opt = with_value[k];
                val = a[len] == '=' ? a + len + 1 : NULL;
                break;
            }
        }
        if (!opt) {
            fail("unknown argument '%s' (try --help)", a);
            return EXIT_USAGE;
        }
        if (!val) {
            if (i + 1 >= argc) {
                fail("%s needs a value (try --help)", opt);
                return EXIT_USAGE;
            }
            val = argv[++i];
        }
        int64_t v;
        if (strcmp(opt, "--in") == 0) {
            const char *path;
            int k = match_name(val, m->n_inputs, input_name, m, &path);
            if (k < 0) {
                if (!strchr(val, '=')) {
                    fail("--in wants NAME=PATH.npy, got '%s'", val);
                    return EXIT_USAGE;
                }
                fail_unknown("input", val, m->n_inputs, input_name, m);
                return EXIT_USAGE;
            }
            if (dr->in_paths[k]) {
                fail("input '%s' is given twice", m->inputs[k].name);
                return EXIT_USAGE;
            }
            if (!*path) {
                fail("--in %s: empty path", m->inputs[k].name);
                return EXIT_USAGE;
            }
            dr->in_paths[k] = path;
        } else if (strcmp(opt, "--dim") == 0) {
            const char *s;
            int k = match_name(val, m->n_dims, dim_name_plain, m, &s);
            if (k < 0) {
                if (!strchr(val, '=')) {
                    fail("--dim wants NAME=VALUE, got '%s'", val);
                    return EXIT_USAGE;
                }
                fail_unknown("dim", val, m->n_dims, dim_name_plain, m);
                return EXIT_USAGE;
            }
            if (!parse_i64(s, 0, INT64_MAX, &v)) {
                fail("--dim %s: '%s' is not a non-negative integer", dim_name_plain(m, k), s);
                return EXIT_USAGE;
            }
            if (dr->dim_src[k].set && dr->dims[k] != v) {
                fail("--dim %s is given twice with different values", dim_name_plain(m, k));
                return EXIT_USAGE;
            }
            dr->dims[k] = v;
            dr->dim_src[k] = (struct dim_source){true, -1, 0};
        } else if (strcmp(opt, "--out-dir") == 0) {
            if (!*val) {
                fail("--out-dir: empty path");
                return EXIT_USAGE;
            }
            dr->out_dir = val;
        } else if (strcmp(opt, "--bench") == 0) {
            if (!parse_i64(val, 1, 1000000000, &v)) {
                fail("--bench wants a positive number of runs, got '%s'", val);
                return EXIT_USAGE;
            }
            dr->bench = (int)v;
        } else if (strcmp(opt, "--threads") == 0) {
            if (!parse_i64(val, 1, KILN_RT_MAX_THREADS, &v)) {
                fail("--threads wants 1 to %d, got '%s'", KILN_RT_MAX_THREADS, val);
                return EXIT_USAGE;
            }
            kiln_rt_set_threads((int)v);
        } else if (strcmp(opt, "--weights") == 0) {
            dr->weights_path = val;
        } else if (strcmp(opt, "--ghz") == 0) {
            char *end;
            errno = 0;
            dr->ghz = strtod(val, &end);
            if (errno || *end || end == val || !(dr->ghz > 0 && dr->ghz < 100)) {
                fail("--ghz wants a clock in GHz, got '%s'", val);
                return EXIT_USAGE;
            }
        } else { /* --seed */
            if (!parse_u64(val, &dr->seed)) {
                fail("--seed wants a non-negative integer, got '%s'", val);
                return EXIT_USAGE;
            }
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- the model descriptor */

/* The compiler made it, but a broken one must give a message, not a crash. */
static bool
model_check(const struct kiln_rt_model *m)
{
    if (!m->run || !m->shape || !m->check_sizes || m->n_inputs < 0 || m->n_outputs < 0 ||
        m->n_dims < 0 || (m->n_inputs && !m->inputs) || (m->n_outputs && !m->outputs)) {
        fail("the model descriptor is malformed (a compiler bug)");
        return false;
    }
    for (int io = 0; io < 2; io++) {
        const struct kiln_rt_tensor_desc *ts = io ? m->outputs : m->inputs;
        const char *what = io ? "output" : "input";
        for (int i = 0; i < (io ? m->n_outputs : m->n_inputs); i++) {
            const struct kiln_rt_tensor_desc *t = &ts[i];
            if (!t->name || t->rank < 0 || t->rank > KILN_RT_NPY_MAX_RANK ||
                (t->rank && !t->dims)) {
                fail("%s %d of the model descriptor is malformed (a compiler bug)", what, i);
                return false;
            }
            if (!kiln_rt_dtype_size(t->dtype)) {
                fail("%s '%s' has dtype %d (ONNX numbering), which the driver cannot handle", what,
                     t->name, t->dtype);
                return false;
            }
            for (int a = 0; a < t->rank; a++)
                if (t->dims[a] < 0 && t->dims[a] != KILN_RT_DIM_EXPR &&
                    -1 - t->dims[a] >= m->n_dims) {
                    fail("%s '%s' axis %d names runtime dim %" PRId64 " of %d (a compiler bug)",
                         what, t->name, a, -1 - t->dims[a], m->n_dims);
                    return false;
                }
        }
    }
    return true;
}

/* The shape of input (io 0) or output (io 1) number i under dr->dims and its
 * size in bytes, as the model computes them: 0 or a kiln_rt_status. */
static int
tensor_shape(const struct driver *dr, int io, int i, int64_t *shape, size_t *nbytes)
{
    uint64_t b = 0;
    int rc = dr->m->shape(io, i, dr->dims, shape, &b);
    if (rc == KILN_RT_OK && b > (uint64_t)PTRDIFF_MAX)
        rc = KILN_RT_ERR_SIZE;
    *nbytes = rc == KILN_RT_OK ? (size_t)b : 0;
    return rc;
}

static void *
alloc_aligned(size_t nbytes)
{
    if (nbytes > SIZE_MAX - ALIGN)
        return NULL;
    size_t size = (nbytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    void *p = aligned_alloc(ALIGN, size ? size : ALIGN);
    if (p)
        memset(p, 0, size ? size : ALIGN);
    return p;
}

/* ---------------------------------------------------------------- inputs */

static uint64_t
splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Floats uniform in [-1, 1) on a grid the dtype holds exactly; ints in [0, 4). */
static void
fill_random(void *data, int dtype, size_t n, uint64_t seed, int input)
{
    uint64_t s = seed ^ (0xd1b54a32d192ed03u * (uint64_t)(input + 1));
    for (size_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(&s);
        uint64_t small = r >> 62;
        switch (dtype) {
        case KILN_RT_F32:
            ((float *)data)[i] = (float)(r >> 40) * 0x1p-23f - 1.0f;
            break;
        case KILN_RT_F64:
            ((double *)data)[i] = (double)(r >> 11) * 0x1p-52 - 1.0;
            break;
        case KILN_RT_F16:
            ((uint16_t *)data)[i] = kiln_rt_f32_to_f16((float)(r >> 53) * 0x1p-10f - 1.0f);
            break;
        case KILN_RT_BF16:
            ((uint16_t *)data)[i] = kiln_rt_f32_to_bf16((float)(r >> 56) * 0x1p-7f - 1.0f);
            break;
        case KILN_RT_BOOL:
            ((uint8_t *)data)[i] = (uint8_t)(r >> 63);
            break;
        case KILN_RT_I8:
        case KILN_RT_U8:
            ((uint8_t *)data)[i] = (uint8_t)small;
            break;
        case KILN_RT_I16:
        case KILN_RT_U16:
            ((uint16_t *)data)[i] = (uint16_t)small;
            break;
        case KILN_RT_I32:
        case KILN_RT_U32:
            ((uint32_t *)data)[i] = (uint32_t)small;
            break;
        default: /* I64, U64 */
            ((uint64_t *)data)[i] = small;
            break;
        }
    }
}

static const char *
dim_source_text(const struct driver *dr, int k, char *buf, size_t cap)
{
    const struct dim_source *s = &dr->dim_src[k];
    if (s->input < 0)
        snprintf(buf, cap, "--dim");
    else
        snprintf(buf, cap, "input '%s' axis %d", dr->m->inputs[s->input].name, s->axis);
    return buf;
}

/* Read the --in files and bind runtime dims from their shapes. */
static int
load_inputs(struct driver *dr)
{
    const struct kiln_rt_model *m = dr->m;
    for (int i = 0; i < m->n_inputs; i++) {
        const struct kiln_rt_tensor_desc *t = &m->inputs[i];
        const char *path = dr->in_paths[i];
        if (!path)
            continue;
        struct kiln_rt_npy *f = &dr->in_files[i];
        int rc = kiln_rt_npy_read_as(path, t->dtype, f);
        if (rc == KILN_RT_ERR_DTYPE) {
            fprintf(stderr, "%s: error: input '%s': %s holds %s", prog, t->name, path,
                    kiln_rt_dtype_name(f->dtype));
            print_shape(stderr, f->rank, f->dims);
            fprintf(stderr, ", the model wants ");
            print_type(stderr, m, t);
            fputc('\n', stderr);
            return EXIT_RUN;
        }
        if (rc == KILN_RT_ERR_IO) {
            fail("input '%s': cannot read %s: %s", t->name, path, strerror(errno));
            return EXIT_RUN;
        }
        if (rc != KILN_RT_OK) {
            fail("input '%s': %s: %s", t->name, path, kiln_rt_status_name(rc));
            return EXIT_RUN;
        }
        if (f->rank != t->rank) {
            fprintf(stderr, "%s: error: input '%s': %s has shape ", prog, t->name, path);
            print_shape(stderr, f->rank, f->dims);
            fprintf(stderr, " (rank %d), the model wants rank %d: ", f->rank, t->rank);
            print_type(stderr, m, t);
            fputc('\n', stderr);
            return EXIT_RUN;
        }
        for (int a = 0; a < t->rank; a++) {
            int64_t got = f->dims[a];
            if (t->dims[a] >= 0) {
                if (got != t->dims[a]) {
                    fprintf(stderr,
                            "%s: error: input '%s' axis %d: %s has %" PRId64
                            ", the model wants %" PRId64 " (",
                            prog, t->name, a, path, got, t->dims[a]);
                    print_type(stderr, m, t);
                    fprintf(stderr, ")\n");
                    return EXIT_RUN;
                }
                continue;
            }
            if (t->dims[a] == KILN_RT_DIM_EXPR)
                continue; /* checked below, once every dim is bound */
            int k = (int)(-1 - t->dims[a]);
            char nb[32], src[256];
            if (dr->dim_src[k].set && dr->dims[k] != got) {
                fail("input '%s' axis %d (dim '%s'): %s has %" PRId64 ", but %s = %" PRId64
                     " from %s",
                     t->name, a, dim_name(m, k, nb), path, got, dim_name(m, k, nb), dr->dims[k],
                     dim_source_text(dr, k, src, sizeof src));
                return EXIT_RUN;
            }
            if (!dr->dim_src[k].set) {
                dr->dims[k] = got;
                dr->dim_src[k] = (struct dim_source){true, i, a};
            }
        }
    }
    for (int k = 0; k < m->n_dims; k++)
        if (!dr->dim_src[k].set)
            dr->dims[k] = 1;
    /* an axis that is an expression of the dims (2*N) must agree with them */
    for (int i = 0; i < m->n_inputs; i++) {
        const struct kiln_rt_tensor_desc *t = &m->inputs[i];
        int64_t want[KILN_RT_NPY_MAX_RANK];
        size_t nbytes;
        if (!dr->in_paths[i] || tensor_shape(dr, 0, i, want, &nbytes) != KILN_RT_OK)
            continue; /* a size too large is reported with the others */
        for (int a = 0; a < t->rank; a++)
            if (want[a] != dr->in_files[i].dims[a]) {
                fprintf(stderr,
                        "%s: error: input '%s' axis %d: %s has %" PRId64
                        ", the model wants %" PRId64 " at",
                        prog, t->name, a, dr->in_paths[i], dr->in_files[i].dims[a], want[a]);
                print_dims(stderr, dr);
                fprintf(stderr, " (");
                print_type(stderr, m, t);
                fprintf(stderr, ")\n");
                return EXIT_RUN;
            }
    }
    return -1;
}

/* Where some size at the bound dims is too large, say which and exit. */
static int
check_sizes(const struct driver *dr)
{
    const char *value = NULL;
    double bytes = 0;
    int rc = dr->m->check_sizes(dr->dims, &value, &bytes);
    if (rc == KILN_RT_OK)
        return -1;
    if (rc == KILN_RT_ERR_SIZE) {
        fprintf(stderr, "%s: error: value '%s': 2^%.1f bytes at", prog, value ? value : "?",
                bytes > 0 ? log2(bytes) : 0.0);
        print_dims(stderr, dr);
        fprintf(stderr, ": too large (the limit is 2^48 bytes)\n");
    } else if (rc == KILN_RT_ERR_ARG && value) {
        fprintf(stderr, "%s: error: the model requires %s, which does not hold at", prog, value);
        print_dims(stderr, dr);
        fprintf(stderr, "\n");
    } else {
        fail("the runtime dims: %s", kiln_rt_status_name(rc));
    }
    return EXIT_RUN;
}

/* Allocate outputs and the random inputs, then the workspace. */
static int
prepare_buffers(struct driver *dr)
{
    const struct kiln_rt_model *m = dr->m;
    int64_t shape[KILN_RT_NPY_MAX_RANK];
    size_t nbytes;
    for (int io = 0; io < 2; io++) {
        int n = io ? m->n_outputs : m->n_inputs;
        for (int i = 0; i < n; i++) {
            const struct kiln_rt_tensor_desc *t = io ? &m->outputs[i] : &m->inputs[i];
            int rc = tensor_shape(dr, io, i, shape, &nbytes);
            if (rc != KILN_RT_OK) {
                fail("%s '%s': %s", io ? "output" : "input", t->name, kiln_rt_status_name(rc));
                return EXIT_RUN;
            }
            if (!io && dr->in_paths[i]) {
                dr->inputs[i] = dr->in_files[i].data;
                continue;
            }
            void *p = alloc_aligned(nbytes);
            if (!p) {
                fail("out of memory (%s '%s', %zu bytes)", io ? "output" : "input", t->name,
                     nbytes);
                return EXIT_RUN;
            }
            if (io)
                dr->outputs[i] = p;
            else {
                dr->inputs[i] = p;
                fill_random(p, t->dtype, nbytes / kiln_rt_dtype_size(t->dtype), dr->seed, i);
            }
        }
    }
    uint64_t ws = m->workspace_size ? m->workspace_size(dr->dims) : 0;
    if (ws > SIZE_MAX || !(dr->workspace = alloc_aligned((size_t)ws))) {
        fail("out of memory (workspace of %" PRIu64 " bytes)", ws);
        return EXIT_RUN;
    }
    return -1;
}

/* ---------------------------------------------------------------- outputs */

static void
print_value(const void *data, int dtype, size_t i)
{
    switch (dtype) {
    case KILN_RT_F32:
        printf("%g", (double)((const float *)data)[i]);
        break;
    case KILN_RT_F64:
        printf("%g", ((const double *)data)[i]);
        break;
    case KILN_RT_F16:
        printf("%g", (double)kiln_rt_f16_to_f32(((const uint16_t *)data)[i]));
        break;
    case KILN_RT_BF16:
        printf("%g", (double)kiln_rt_bf16_to_f32(((const uint16_t *)data)[i]));
        break;
    case KILN_RT_BOOL:
        printf("%s", ((const uint8_t *)data)[i] ? "true" : "false");
        break;
    case KILN_RT_I8:
        printf("%d", ((const int8_t *)data)[i]);
        break;
    case KILN_RT_U8:
        printf("%u", ((const uint8_t *)data)[i]);
        break;
    case KILN_RT_I16:
        printf("%d", ((const int16_t *)data)[i]);
        break;
    case KILN_RT_U16:
        printf("%u", ((const uint16_t *)data)[i]);
        break;
    case KILN_RT_I32:
        printf("%" PRId32, ((const int32_t *)data)[i]);
        break;
    case KILN_RT_U32:
        printf("%" PRIu32, ((const uint32_t *)data)[i]);
        break;
    case KILN_RT_I64:
        printf("%" PRId64, ((const int64_t *)data)[i]);
        break;
    default: /* U64 */
        printf("%" PRIu64, ((const uint64_t *)data)[i]);
        break;
    }
}

/* "z: f32[4,3] = [0.5, -1, ...]" */
static void
print_outputs(const struct driver *dr)
{
    const struct kiln_rt_model *m = dr->m;
    int64_t shape[KILN_RT_NPY_MAX_RANK];
    size_t nbytes;
    for (int i = 0; i < m->n_outputs; i++) {
        const struct kiln_rt_tensor_desc *t = &m->outputs[i];
        tensor_shape(dr, 1, i, shape, &nbytes); /* prepare_buffers succeeded with it */
        size_t n = nbytes / kiln_rt_dtype_size(t->dtype);
        printf("%s: %s", t->name, kiln_rt_dtype_name(t->dtype));
        print_shape(stdout, t->rank, shape);
        printf(" = [");
        for (size_t k = 0; k < n && k < PRINT_VALUES; k++) {
            if (k)
                printf(", ");
            print_value(dr->outputs[i], t->dtype, k);
        }
        printf("%s]\n", n > PRINT_VALUES ? ", ..." : "");
    }
}

/*
 * File names (without .npy) of the outputs, malloc'd: in a name, '/' and a
 * leading '.' become '_' (an empty name is "_"); a name an earlier output
 * already took gets _K appended, K the output's position.
 */
static char **
output_file_names(const struct kiln_rt_model *m)
{
    char **names = calloc((size_t)m->n_outputs + 1, sizeof *names);
    for (int i = 0; names && i < m->n_outputs; i++) {
        const char *name = m->outputs[i].name;
        size_t len = strlen(name);
        char *s = malloc(len + 16); /* room for "_" and "_K" */
        if (!s) {
            for (int j = 0; j < i; j++)
                free(names[j]);
            free(names);
            return NULL;
        }
        for (size_t k = 0; k < len; k++)
            s[k] = name[k] == '/' || (k == 0 && name[k] == '.') ? '_' : name[k];
        if (len == 0)
            s[len++] = '_';
        s[len] = '\0';
        for (int j = 0; j < i; j++)
            if (strcmp(names[j], s) == 0) {
                snprintf(s + len, 16, "_%d", i);
                break;
            }
        names[i] = s;
    }
    return names;
}

static int
write_outputs(const struct driver *dr)
{
    const struct kiln_rt_model *m = dr->m;
    if (mkdir(dr->out_dir, 0777) != 0 && errno != EEXIST) {
        fail("cannot create --out-dir %s: %s", dr->out_dir, strerror(errno));
        return EXIT_RUN;
    }
    char **names = output_file_names(m);
    if (!names) {
        fail("out of memory");
        return EXIT_RUN;
    }
    int64_t shape[KILN_RT_NPY_MAX_RANK];
    size_t nbytes;
    int ret = -1;
    for (int i = 0; i < m->n_outputs && ret < 0; i++) {
        const struct kiln_rt_tensor_desc *t = &m->outputs[i];
        size_t cap = strlen(dr->out_dir) + strlen(names[i]) + 8;
        char *path = malloc(cap);
        if (!path) {
            fail("out of memory");
            ret = EXIT_RUN;
            break;
        }
        snprintf(path, cap, "%s/%s.npy", dr->out_dir, names[i]);
        tensor_shape(dr, 1, i, shape, &nbytes);
        errno = 0;
        int rc = kiln_rt_npy_write(path, t->dtype, t->rank, shape, dr->outputs[i]);
        if (rc != KILN_RT_OK) {
            fail("output '%s': cannot write %s: %s", t->name, path,
                 rc == KILN_RT_ERR_IO && errno ? strerror(errno) : kiln_rt_status_name(rc));
            ret = EXIT_RUN;
        }
        free(path);
    }
    for (int i = 0; i < m->n_outputs; i++)
        free(names[i]);
    free(names);
    return ret;
}

/* ---------------------------------------------------------------- external weights */

/*
 * A model compiled with --weights=external reads its weights from a file: the
 * one --weights names, else the file the model names, beside the executable.
 * Its size must match exactly; it becomes inputs[n_inputs].
 */
static int
load_weights(struct driver *dr)
{
    const struct kiln_rt_model *m = dr->m;
    if (!m->weights_file)
        return -1;
    char *path = NULL;
    if (dr->weights_path) {
        path = strdup(dr->weights_path);
    } else {
        const char *exe = dr->exe_path ? dr->exe_path : "";
        const char *slash = strrchr(exe, '/');
        size_t dir = slash ? (size_t)(slash - exe) + 1 : 0;
        path = malloc(dir + strlen(m->weights_file) + 1);
        if (path) {
            memcpy(path, exe, dir);
            strcpy(path + dir, m->weights_file);
        }
    }
    if (!path) {
        fail("out of memory");
        return EXIT_RUN;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail("weights file %s: %s (give it with --weights PATH)", path, strerror(errno));
        free(path);
        return EXIT_RUN;
    }
    int rc = -1;
    if (m->weights_size > SIZE_MAX || !(dr->weights = alloc_aligned((size_t)m->weights_size))) {
        fail("out of memory (weights of %" PRIu64 " bytes)", m->weights_size);
        rc = EXIT_RUN;
    } else if (m->weights_size &&
               fread(dr->weights, 1, (size_t)m->weights_size, f) != m->weights_size) {
        fail("weights file %s: shorter than the %" PRIu64 " bytes the model was compiled with",
             path, m->weights_size);
        rc = EXIT_RUN;
    } else if (fgetc(f) != EOF) {
        fail("weights file %s: longer than the %" PRIu64 " bytes the model was compiled with", path,
             m->weights_size);
        rc = EXIT_RUN;
    }
    fclose(f);
    free(path);
    if (rc < 0)
        dr->inputs[m->n_inputs] = dr->weights;
    return rc;
}

/* ---------------------------------------------------------------- running */

static int
run_once(const struct driver *dr)
{
    int rc = dr->m->run(dr->inputs, dr->outputs, dr->dims, dr->workspace);
    const struct kiln_rt_bounds *b = kiln_rt_bounds_last();
    if (rc == KILN_RT_ERR_BOUNDS && b) {
        fail("--check-bounds: kernel '%s' %s %s '%s' at elements [%" PRId64 ", %" PRId64
             ") of %" PRId64,
             b->kernel, b->store ? "stored" : "loaded", b->store ? "into" : "from", b->buffer,
             b->index, b->index + b->lanes, b->extent);
        return EXIT_RUN;
    }
    if (rc != KILN_RT_OK) {
        fail("the model's run failed: %s (status %d)", kiln_rt_status_name(rc), rc);
        return EXIT_RUN;
    }
    return -1;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int
bench(const struct driver *dr)
{
    double *lat = malloc(sizeof(double) * (size_t)dr->bench);
    if (!lat) {
        fail("out of memory");
        return EXIT_RUN;
    }
    int rc = run_once(dr); /* warm-up */
    double t0 = kiln_rt_now_ms();
    for (int i = 0; i < dr->bench && rc < 0; i++) {
        double s = kiln_rt_now_ms();
        rc = run_once(dr);
        lat[i] = kiln_rt_now_ms() - s;
    }
    double total = kiln_rt_now_ms() - t0;
    if (rc < 0) {
        qsort(lat, (size_t)dr->bench, sizeof(double), cmp_double);
        int n = dr->bench;
        double median = n % 2 ? lat[n / 2] : (lat[n / 2 - 1] + lat[n / 2]) / 2;
        printf("bench: %d runs on %d threads in %.3f ms: %.1f runs/s\n", n, kiln_rt_get_threads(),
               total, total > 0 ? n / (total / 1e3) : 0.0);
        printf("latency_ms median=%.3f min=%.3f\n", median, lat[0]);
    }
    free(lat);
    return rc;
}

/* --profile: time each layer over the runs, then print the report. */
static int
profile(const struct driver *dr)
{
    const struct kiln_rt_profile *p = dr->m->profile;
    int runs = dr->bench > 0 ? dr->bench : 10;
    int rc = run_once(dr); /* warm-up */
    for (int32_t i = 0; i < p->n_layers; i++)
        p->ms[i] = 0;
    double t0 = kiln_rt_now_ms();
    for (int i = 0; i < runs && rc < 0; i++)
        rc = run_once(dr);
    double total = kiln_rt_now_ms() - t0;
    if (rc >= 0)
        return rc;
    struct kiln_rt_profile_opts o = {.ghz = dr->ghz, .threads = kiln_rt_get_threads()};
    putchar('\n');
    if (kiln_rt_profile_report(stdout, dr->m, runs, total, dr->m->workspace_size(dr->dims), &o) !=
        KILN_RT_OK) {
        fail("cannot write the profile");
        return EXIT_RUN;
    }
    return -1;
}

static void
driver_free(struct driver *dr)
{
    const struct kiln_rt_model *m = dr->m;
    for (int i = 0; m && i < m->n_inputs; i++) {
        if (dr->in_files && dr->in_files[i].data)
            kiln_rt_npy_free(&dr->in_files[i]);
        else if (dr->inputs)
            free(dr->inputs[i]);
    }
    for (int i = 0; m && dr->outputs && i < m->n_outputs; i++)
        free(dr->outputs[i]);
    free(dr->workspace);
    free(dr->weights);
    free(dr->in_paths);
    free(dr->dims);
    free(dr->dim_src);
    free(dr->in_files);
    free(dr->inputs);
    free(dr->outputs);
}

int
main(int argc, char **argv)
{
    if (argc > 0 && argv[0] && argv[0][0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    struct driver dr = {.m = &kiln_model, .exe_path = argc > 0 ? argv[0] : NULL};
    const struct kiln_rt_model *m = dr.m;
    if (!model_check(m))
        return EXIT_RUN;
    size_t ni = (size_t)m->n_inputs + 1, no = (size_t)m->n_outputs + 1, nd = (size_t)m->n_dims + 1;
    dr.in_paths = calloc(ni, sizeof *dr.in_paths);
    dr.in_files = calloc(ni, sizeof *dr.in_files);
    dr.inputs = calloc(ni, sizeof *dr.inputs);
    dr.outputs = calloc(no, sizeof *dr.outputs);
    dr.dims = calloc(nd, sizeof *dr.dims);
    dr.dim_src = calloc(nd, sizeof *dr.dim_src);
    int rc = -1;
    if (!dr.in_paths || !dr.in_files || !dr.inputs || !dr.outputs || !dr.dims || !dr.dim_src) {
        fail("out of memory");
        rc = EXIT_RUN;
    }
    if (rc < 0)
        rc = parse_args(&dr, argc, argv);
    if (rc < 0 && dr.profile && !m->profile) {
        fail("--profile: the model was compiled without --profile (kiln compile --profile, "
             "or kiln profile MODEL)");
        rc = EXIT_USAGE;
    }
    if (rc < 0)
        rc = load_inputs(&dr);
    if (rc < 0)
        rc = check_sizes(&dr);
    if (rc < 0)
        rc = prepare_buffers(&dr);
    if (rc < 0)
        rc = load_weights(&dr);
    if (rc < 0)
        rc = run_once(&dr);
    if (rc < 0) {
        if (m->n_dims > 0) {
            char buf[32];
            printf("dims:");
            for (int k = 0; k < m->n_dims; k++)
                printf(" %s=%" PRId64, dim_name(m, k, buf), dr.dims[k]);
            putchar('\n');
        }
        print_outputs(&dr);
        if (dr.out_dir)
            rc = write_outputs(&dr);
    }
    if (rc < 0 && dr.profile)
        rc = profile(&dr);
    else if (rc < 0 && dr.bench > 0)
        rc = bench(&dr);
    if (rc < 0 && fflush(stdout) != 0) {
        fail("cannot write to stdout");
        rc = EXIT_RUN;
    }
    driver_free(&dr);
    return rc < 0 ? EXIT_OK : rc;
}
