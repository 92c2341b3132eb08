/*
 * test_runtime.c - unit tests of the runtime (runtime/kiln_rt.h): status and
 * dtype tables, f16/bf16 conversions, parallel_for (coverage, chunking,
 * concurrent and nested callers, thread counts), .npy round trips for every
 * dtype and ranks 0..4, and hostile .npy files.
 *
 * Built a second time with -fsanitize=thread where the compiler has it.
 * Prints one line per failed check and closes with "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/kiln_rt.h"

#include "tests/unit/check.h"

/* A check inside a loop: counted once per loop, reported with the case. */
#define CHECK_ALL(ok, cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond) && (ok)) {                                                                     \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                 \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            (ok) = false;                                                                          \
        }                                                                                          \
    } while (0)

static char tmpdir[256];

static void
tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static uint64_t rng_state = 0x1234567;

static uint64_t
rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint32_t
bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float
float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---------------------------------------------------------------- tables */

static void
test_tables(void)
{
    CHECK(strcmp(kiln_rt_status_name(KILN_RT_OK), "ok") == 0);
    CHECK(strcmp(kiln_rt_status_name(KILN_RT_ERR_DTYPE), "wrong dtype") == 0);
    CHECK(strcmp(kiln_rt_status_name(99), "unknown status") == 0);
    CHECK(strcmp(kiln_rt_status_name(-1), "unknown status") == 0);
    static const struct {
        int dt;
        size_t size;
        const char *name;
    } t[] = {
        {KILN_RT_F32, 4, "f32"},   {KILN_RT_U8, 1, "u8"},     {KILN_RT_I8, 1, "i8"},
        {KILN_RT_U16, 2, "u16"},   {KILN_RT_I16, 2, "i16"},   {KILN_RT_I32, 4, "i32"},
        {KILN_RT_I64, 8, "i64"},   {KILN_RT_BOOL, 1, "bool"}, {KILN_RT_F16, 2, "f16"},
        {KILN_RT_F64, 8, "f64"},   {KILN_RT_U32, 4, "u32"},   {KILN_RT_U64, 8, "u64"},
        {KILN_RT_BF16, 2, "bf16"},
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_ALL(ok, kiln_rt_dtype_size(t[i].dt) == t[i].size, "dtype %d", t[i].dt);
        CHECK_ALL(ok, strcmp(kiln_rt_dtype_name(t[i].dt), t[i].name) == 0, "dtype %d", t[i].dt);
    }
    CHECK(ok);
    CHECK(kiln_rt_dtype_size(0) == 0 && kiln_rt_dtype_size(8) == 0 && kiln_rt_dtype_size(17) == 0);
    CHECK(strcmp(kiln_rt_dtype_name(8), "?") == 0);
}

/* ---------------------------------------------------------------- f16, bf16 */

static bool
f16_is_nan(uint16_t h)
{
    return (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
}

static void
test_half(void)
{
    /* Every half widens exactly and narrows back to itself (NaNs stay NaN). */
    bool ok = true;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = kiln_rt_f16_to_f32((uint16_t)h);
        uint16_t back = kiln_rt_f32_to_f16(f);
        if (f16_is_nan((uint16_t)h))
            CHECK_ALL(ok, f != f && f16_is_nan(back) && (back & 0x8000) == (h & 0x8000), "h %x", h);
        else
            CHECK_ALL(ok, back == h, "h %04x -> %08x -> %04x", h, bits_of(f), back);
    }
    CHECK(ok);
    CHECK(kiln_rt_f16_to_f32(0x3c00) == 1.0f);
    CHECK(kiln_rt_f16_to_f32(0xc000) == -2.0f);
    CHECK(kiln_rt_f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(kiln_rt_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(kiln_rt_f32_to_f16(65519.996f) == 0x7bff);
    CHECK(kiln_rt_f32_to_f16(65520.0f) == 0x7c00);
    CHECK(kiln_rt_f32_to_f16(-1e9f) == 0xfc00);
    CHECK(kiln_rt_f32_to_f16(0x1p-25f) == 0x0000);                   /* tie to even: 0 */
    CHECK(kiln_rt_f32_to_f16(float_of(bits_of(0x1p-25f) + 1)) == 1); /* just above: 2^-24 */
    CHECK(kiln_rt_f32_to_f16(0x1.8p-24f) == 2);                      /* 1.5 ulp: tie to 2 */
    CHECK(kiln_rt_f32_to_f16(-0.0f) == 0x8000);
    CHECK(kiln_rt_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);   /* tie to even */
    CHECK(kiln_rt_f32_to_f16(1.0f + 0x1.8p-10f) == 0x3c02); /* tie to even, up */

    /* Between any two adjacent finite halves the midpoint goes to the even
     * one and its f32 neighbours to the nearer one. */
    ok = true;
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float a = kiln_rt_f16_to_f32((uint16_t)h), b = kiln_rt_f16_to_f32((uint16_t)(h + 1));
        float mid = a + (b - a) / 2; /* exact: one more bit than a half */
        uint32_t even = (h & 1) ? h + 1 : h;
        CHECK_ALL(ok, kiln_rt_f32_to_f16(mid) == even, "mid of %04x", h);
        CHECK_ALL(ok, kiln_rt_f32_to_f16(float_of(bits_of(mid) - 1)) == h, "below mid %04x", h);
        CHECK_ALL(ok, kiln_rt_f32_to_f16(float_of(bits_of(mid) + 1)) == h + 1, "above mid %04x", h);
    }
    CHECK(ok);

#if defined(__FLT16_MAX__) && (defined(__x86_64__) || defined(__aarch64__))
    /* The compiler's own conversion as a second oracle on random floats. */
    ok = true;
    for (int i = 0; i < 2000000; i++) {
        float f = float_of((uint32_t)rng());
        _Float16 r = (_Float16)f;
        uint16_t want;
        memcpy(&want, &r, 2);
        uint16_t got = kiln_rt_f32_to_f16(f);
        if (f != f)
            CHECK_ALL(ok, f16_is_nan(got), "nan %08x", bits_of(f));
        else
            CHECK_ALL(ok, got == want, "%08x: %04x, want %04x", bits_of(f), got, want);
    }
    CHECK(ok);
#endif

    ok = true;
    for (uint32_t b = 0; b < 0x10000; b++) {
        float f = kiln_rt_bf16_to_f32((uint16_t)b);
        CHECK_ALL(ok, bits_of(f) == b << 16, "bf %04x", b);
        uint16_t back = kiln_rt_f32_to_bf16(f);
        if (f != f)
            CHECK_ALL(ok, (back & 0x7f80) == 0x7f80 && (back & 0x7f) && (back & 0x40), "nan %x", b);
        else
            CHECK_ALL(ok, back == b, "bf %04x -> %04x", b, back);
    }
    CHECK(ok);
    CHECK(kiln_rt_f32_to_bf16(float_of(0x3f808000)) == 0x3f80); /* tie to even, down */
    CHECK(kiln_rt_f32_to_bf16(float_of(0x3f818000)) == 0x3f82); /* tie to even, up */
    CHECK(kiln_rt_f32_to_bf16(float_of(0x3f808001)) == 0x3f81);
    CHECK(kiln_rt_f32_to_bf16(float_of(0x7f7fffff)) == 0x7f80); /* overflow: inf */
    CHECK(kiln_rt_f32_to_bf16(float_of(0x7f800001)) != 0x7f80); /* signalling nan stays nan */
}

/* ---------------------------------------------------------------- parallel_for */

enum { MAX_CHUNKS = 1024 };

struct chunk_log {
    pthread_mutex_t mu;
    int n;
    int64_t lo[MAX_CHUNKS], hi[MAX_CHUNKS];
    pthread_t who[MAX_CHUNKS];
};

/* bufs[0]: struct chunk_log; bufs[1]: atomic_uchar counts or NULL; dims[0]: magic. */
static void
k_log(char *const *bufs, const int64_t *dims, int64_t lo, int64_t hi)
{
    struct chunk_log *log = (struct chunk_log *)bufs[0];
    atomic_uchar *counts = (atomic_uchar *)bufs[1];
    if (dims[0] != 42)
        return;
    pthread_mutex_lock(&log->mu);
    if (log->n < MAX_CHUNKS) {
        log->lo[log->n] = lo;
        log->hi[log->n] = hi;
        log->who[log->n] = pthread_self();
        log->n++;
    }
    pthread_mutex_unlock(&log->mu);
    if (counts)
        for (int64_t i = lo; i < hi; i++)
            atomic_fetch_add_explicit(&counts[i], 1, memory_order_relaxed);
}

static int
cmp_chunk(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
 * Run one parallel_for and check: the chunks tile [0, trip) (counted per
 * index when trip is small), there are at most want_max of them, each of at
 * least grain iterations unless it is the only one, and sizes differ by at
 * most one. Returns the number of chunks (0 on failure).
 */
static int
run_and_check(int64_t trip, int64_t grain, int want_max, bool *ok)
{
    static const int64_t dims[] = {42};
    struct chunk_log *log = calloc(1, sizeof *log);
    pthread_mutex_init(&log->mu, NULL);
    atomic_uchar *counts = NULL;
    if (trip > 0 && trip <= 1 << 20)
        counts = calloc((size_t)trip, 1);
    char *bufs[] = {(char *)log, (char *)counts};
    kiln_rt_parallel_for_grain(trip, grain, k_log, bufs, dims);
    int n = log->n;
    bool good = true;
    if (trip <= 0) {
        CHECK_ALL(good, n == 0, "trip %lld: %d chunks", (long long)trip, n);
    } else {
        CHECK_ALL(good, n >= 1 && n <= want_max, "trip %lld grain %lld: %d chunks, max %d",
                  (long long)trip, (long long)grain, n, want_max);
        /* pairs (lo, hi) sorted by lo */
        int64_t(*pairs)[2] = calloc((size_t)n + 1, sizeof *pairs);
        for (int i = 0; i < n; i++) {
            pairs[i][0] = log->lo[i];
            pairs[i][1] = log->hi[i];
        }
        qsort(pairs, (size_t)n, sizeof *pairs, cmp_chunk);
        int64_t at = 0, smallest = INT64_MAX, largest = 0;
        for (int i = 0; i < n; i++) {
            CHECK_ALL(good, pairs[i][0] == at && pairs[i][1] > pairs[i][0],
                      "trip %lld: chunk [%lld, %lld) at %lld", (long long)trip,
                      (long long)pairs[i][0], (long long)pairs[i][1], (long long)at);
            int64_t len = pairs[i][1] - pairs[i][0];
            smallest = len < smallest ? len : smallest;
            largest = len > largest ? len : largest;
            at = pairs[i][1];
        }
        CHECK_ALL(good, at == trip, "trip %lld: covered to %lld", (long long)trip, (long long)at);
        if (n > 1) {
            CHECK_ALL(good, smallest >= (grain < 1 ? 1 : grain), "trip %lld grain %lld: chunk %lld",
                      (long long)trip, (long long)grain, (long long)smallest);
            CHECK_ALL(good, largest - smallest <= 1, "trip %lld: chunks %lld..%lld",
                      (long long)trip, (long long)smallest, (long long)largest);
        }
        for (int64_t i = 0; counts && i < trip; i++)
            CHECK_ALL(good, counts[i] == 1, "trip %lld: index %lld ran %d times", (long long)trip,
                      (long long)i, (int)counts[i]);
        free(pairs);
    }
    if (!good)
        *ok = false;
    pthread_mutex_destroy(&log->mu);
    free(log);
    free(counts);
    return good ? n : 0;
}

static void
test_threads_config(void)
{
    /* main() set KILN_NUM_THREADS=3 before the first runtime call. */
    CHECK(kiln_rt_get_threads() == 3);
    CHECK(kiln_rt_set_threads(-1) == KILN_RT_ERR_ARG);
    CHECK(kiln_rt_set_threads(KILN_RT_MAX_THREADS + 1) == KILN_RT_ERR_ARG);
    CHECK(kiln_rt_get_threads() == 3);
    CHECK(kiln_rt_set_threads(5) == KILN_RT_OK && kiln_rt_get_threads() == 5);
    CHECK(kiln_rt_set_threads(0) == KILN_RT_OK && kiln_rt_get_threads() == 3);
}

static void
test_parallel_for(void)
{
    static const int threads[] = {1, 2, 3, 4, 7, 8, 16};
    static const int64_t trips[] = {-5, 0,  1,  2,  3,   4,    5,    7,     8,      9,
                                    15, 16, 17, 31, 100, 1000, 4097, 65537, 1000003};
    static const int64_t grains[] = {0, 1, 3, 64, 1000};
    bool ok = true;
    for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
        kiln_rt_set_threads(threads[ti]);
        for (size_t gi = 0; gi < sizeof grains / sizeof grains[0]; gi++)
            for (size_t ri = 0; ri < sizeof trips / sizeof trips[0]; ri++) {
                int64_t trip = trips[ri], grain = grains[gi] < 1 ? 1 : grains[gi];
                /* two chunks per thread, claimed as they come (threads.c) */
                int64_t per = 2 * (int64_t)threads[ti];
                int64_t want = threads[ti] < 2 ? 1 : trip / grain < per ? trip / grain : per;
                if (want < 1)
                    want = 1;
                int n = run_and_check(trip, grains[gi], (int)want, &ok);
                /* Nothing else uses the pool now: the split is exactly this. */
                CHECK_ALL(ok, trip <= 0 || n == want, "threads %d trip %lld grain %lld: %d chunks",
                          threads[ti], (long long)trip, (long long)grain, n);
            }
    }
    CHECK(ok);

    /* Huge trips: chunk bounds without overflow (the kernel only logs them). */
    ok = true;
    kiln_rt_set_threads(7);
    run_and_check(INT64_MAX, 1, 14, &ok);
    run_and_check(INT64_MAX - 1, INT64_MAX / 3, 3, &ok);
    run_and_check((int64_t)1 << 40, (int64_t)1 << 39, 2, &ok);
    run_and_check(INT64_MAX, INT64_MAX, 1, &ok);
    CHECK(ok);

    kiln_rt_set_threads(0);
}

/* Slow chunks, so that workers surely wake: more than one thread must run some. */
static void
k_slow(char *const *bufs, const int64_t *dims, int64_t lo, int64_t hi)
{
    k_log(bufs, dims, lo, hi);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
}

static void
test_workers_run(void)
{
    kiln_rt_set_threads(4);
    static const int64_t dims[] = {42};
    bool several = false;
    for (int attempt = 0; attempt < 20 && !several; attempt++) {
        struct chunk_log *log = calloc(1, sizeof *log);
        pthread_mutex_init(&log->mu, NULL);
        char *bufs[] = {(char *)log, NULL};
        kiln_rt_parallel_for(4, k_slow, bufs, dims);
        for (int i = 1; i < log->n; i++)
            several |= !pthread_equal(log->who[i], log->who[0]);
        pthread_mutex_destroy(&log->mu);
        free(log);
    }
    CHECK(several);
    kiln_rt_set_threads(0);
}

/* A kernel that calls parallel_for itself: the inner call runs inline. */
struct nested {
    atomic_int inner_total;
};

static void
k_inner(char *const *bufs, const int64_t *dims, int64_t lo, int64_t hi)
{
    (void)dims;
    struct nested *ns = (struct nested *)bufs[0];
    atomic_fetch_add(&ns->inner_total, (int)(hi - lo));
}

static void
k_outer(char *const *bufs, const int64_t *dims, int64_t lo, int64_t hi)
{
    for (int64_t i = lo; i < hi; i++)
        kiln_rt_parallel_for(100, k_inner, bufs, dims);
}

static void
test_nested(void)
{
    kiln_rt_set_threads(4);
    struct nested ns = {0};
    char *bufs[] = {(char *)&ns};
    kiln_rt_parallel_for(16, k_outer, bufs, NULL);
    CHECK(atomic_load(&ns.inner_total) == 1600);
    kiln_rt_set_threads(0);
}

/* Several threads calling parallel_for at once: each call still covers its
 * range exactly once (one gets the pool, the others run inline). */
struct caller_arg {
    int id;
    bool ok;
};

static void *
caller_main(void *p)
{
    struct caller_arg *a = p;
    a->ok = true;
    for (int i = 0; i < 150; i++) {
        int64_t trip = 1 + (a->id * 7919 + i * 104729) % 5000;
        run_and_check(trip, 1 + i % 5, 2 * KILN_RT_MAX_THREADS, &a->ok);
    }
    return NULL;
}

static void
test_concurrent(void)
{
    enum { CALLERS = 6 };
    kiln_rt_set_threads(4);
    pthread_t t[CALLERS];
    struct caller_arg args[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        args[i].id = i;
        CHECK(pthread_create(&t[i], NULL, caller_main, &args[i]) == 0);
    }
    bool ok = true;
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(t[i], NULL);
        ok &= args[i].ok;
    }
    CHECK(ok);
    /* Thread count changes while others run. */
    for (int i = 0; i < CALLERS; i++) {
        args[i].id = i + 100;
        CHECK(pthread_create(&t[i], NULL, caller_main, &args[i]) == 0);
    }
    for (int n = 1; n <= 40; n++) {
        kiln_rt_set_threads(1 + n % 8);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    ok = true;
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(t[i], NULL);
        ok &= args[i].ok;
    }
    CHECK(ok);
    kiln_rt_set_threads(0);
}

/* fork() while the pool has workers: the child gets a working pool of its own
 * (a deadlock there is killed by alarm and fails the check). ThreadSanitizer
 * does not support threads after a multi-threaded fork, so not under it. */
#if defined(__SANITIZE_THREAD__)
#define KILN_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KILN_TEST_TSAN 1
#endif
#endif

static void
test_fork(void)
{
#ifndef KILN_TEST_TSAN
    kiln_rt_set_threads(4);
    bool ok = true;
    run_and_check(1000, 1, 8, &ok); /* workers exist now */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        bool child_ok = true;
        for (int i = 0; i < 50; i++)
            child_ok &= run_and_check(1000 + i, 1, 8, &child_ok) == 8;
        _exit(child_ok ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    CHECK(ok && run_and_check(1000, 1, 8, &ok) == 8 && ok); /* the parent's pool still works */
    kiln_rt_set_threads(0);
#endif
}

/* ---------------------------------------------------------------- .npy */

static const int all_dtypes[] = {KILN_RT_F32, KILN_RT_U8,  KILN_RT_I8,  KILN_RT_U16,
                                 KILN_RT_I16, KILN_RT_I32, KILN_RT_I64, KILN_RT_BOOL,
                                 KILN_RT_F16, KILN_RT_F64, KILN_RT_U32, KILN_RT_U64};

static void
fill_bytes(void *p, size_t n, int dtype)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)rng();
    if (dtype == KILN_RT_BOOL)
        for (size_t i = 0; i < n; i++)
            b[i] &= 1;
}

static void
test_npy_roundtrip(void)
{
    static const int64_t shapes[][4] = {{0}, {5}, {2, 3}, {1, 4, 2}, {3, 1, 2, 5}};
    static const int64_t empty[][4] = {{0, 3}, {2, 0, 4}};
    char path[512];
    tmp_path(path, sizeof path, "rt.npy");
    bool ok = true;
    for (size_t d = 0; d < sizeof all_dtypes / sizeof all_dtypes[0]; d++) {
        int dt = all_dtypes[d];
        for (int rank = 0; rank <= 4; rank++) {
            const int64_t *dims = shapes[rank];
            size_t n = 1;
            for (int i = 0; i < rank; i++)
                n *= (size_t)dims[i];
            size_t nbytes = n * kiln_rt_dtype_size(dt);
            unsigned char *data = malloc(nbytes);
            fill_bytes(data, nbytes, dt);
            int rc = kiln_rt_npy_write(path, dt, rank, rank ? dims : NULL, data);
            CHECK_ALL(ok, rc == KILN_RT_OK, "write %s rank %d: %d", kiln_rt_dtype_name(dt), rank,
                      rc);
            struct kiln_rt_npy t;
            rc = kiln_rt_npy_read(path, &t);
            CHECK_ALL(ok, rc == KILN_RT_OK, "read %s rank %d: %d", kiln_rt_dtype_name(dt), rank,
                      rc);
            CHECK_ALL(ok, t.dtype == dt && t.rank == rank && t.nbytes == nbytes,
                      "%s rank %d: got %d rank %d", kiln_rt_dtype_name(dt), rank, t.dtype, t.rank);
            CHECK_ALL(ok, ((uintptr_t)t.data & 63) == 0, "alignment");
            for (int i = 0; i < rank && i < t.rank; i++)
                CHECK_ALL(ok, t.dims[i] == dims[i], "dim %d", i);
            CHECK_ALL(ok, t.data && memcmp(t.data, data, nbytes) == 0, "%s rank %d data",
                      kiln_rt_dtype_name(dt), rank);
            kiln_rt_npy_free(&t);
            CHECK_ALL(ok, t.data == NULL, "free");
            /* read_as: the same dtype reads, another one says what it found */
            rc = kiln_rt_npy_read_as(path, dt, &t);
            CHECK_ALL(ok, rc == KILN_RT_OK && t.dtype == dt, "read_as %s", kiln_rt_dtype_name(dt));
            kiln_rt_npy_free(&t);
            int other = dt == KILN_RT_I64 ? KILN_RT_F32 : KILN_RT_I64;
            rc = kiln_rt_npy_read_as(path, other, &t);
            CHECK_ALL(ok, rc == KILN_RT_ERR_DTYPE && t.dtype == dt && t.rank == rank && !t.data,
                      "read_as %s as %s: %d", kiln_rt_dtype_name(dt), kiln_rt_dtype_name(other),
                      rc);
            kiln_rt_npy_free(&t);
            free(data);
        }
        for (size_t e = 0; e < 2; e++) { /* empty tensors */
            int rank = e ? 3 : 2;
            int rc = kiln_rt_npy_write(path, dt, rank, empty[e], NULL);
            struct kiln_rt_npy t;
            int rc2 = kiln_rt_npy_read(path, &t);
            CHECK_ALL(ok,
                      rc == KILN_RT_OK && rc2 == KILN_RT_OK && t.nbytes == 0 && t.data &&
                          t.rank == rank && t.dims[1] == empty[e][1],
                      "empty %s rank %d", kiln_rt_dtype_name(dt), rank);
            kiln_rt_npy_free(&t);
        }
    }
    CHECK(ok);

    /* Exactly numpy.save's bytes (numpy 2.x pads room for the first axis to grow). */
    static const int64_t d23[] = {2, 3};
    float f6[6] = {0};
    CHECK(kiln_rt_npy_write(path, KILN_RT_F32, 2, d23, f6) == KILN_RT_OK);
    FILE *f = fopen(path, "rb");
    char buf[256] = {0};
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char want[] = "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (2, 3), }                                                     "
                        "     \n";
    CHECK(got == 128 + 24 && memcmp(buf, want, 128) == 0);
    /* More of numpy 2.4's headers: the dict, then spaces and '\n' up to size. */
    static const struct {
        int dtype, rank;
        int64_t dims[20];
        const char *dict;
        size_t size;
    } np_headers[] = {
        {KILN_RT_BOOL, 0, {0}, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", 128},
        {KILN_RT_F16, 1, {7}, "{'descr': '<f2', 'fortran_order': False, 'shape': (7,), }", 128},
        {KILN_RT_U64,
         4,
         {123456789012, 0, 1, 2},
         "{'descr': '<u8', 'fortran_order': False, 'shape': (123456789012, 0, 1, 2), }",
         128},
        {KILN_RT_I8,
         20,
         {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
         "{'descr': '|i1', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
         "1, 1, 1, 1, 1, 1, 1, 1), }",
         192},
    };
    for (size_t i = 0; i < sizeof np_headers / sizeof np_headers[0]; i++) {
        char expect[256];
        size_t size = np_headers[i].size, dl = strlen(np_headers[i].dict);
        memcpy(expect, "\x93NUMPY\x01\x00", 8);
        expect[8] = (char)((size - 10) & 0xff);
        expect[9] = (char)((size - 10) >> 8);
        memcpy(expect + 10, np_headers[i].dict, dl);
        memset(expect + 10 + dl, ' ', size - 11 - dl);
        expect[size - 1] = '\n';
        char zeros[16] = {0}; /* the largest case is 7 f16 */
        CHECK(kiln_rt_npy_write(path, np_headers[i].dtype, np_headers[i].rank, np_headers[i].dims,
                                zeros) == KILN_RT_OK);
        f = fopen(path, "rb");
        got = fread(buf, 1, sizeof buf, f);
        fclose(f);
        CHECK(got >= size && memcmp(buf, expect, size) == 0);
    }

    /* bf16 travels as '<f4' */
    uint16_t bf[6] = {0x3f80, 0xbf00, 0x0000, 0x7f80, 0x4049, 0x0001};
    CHECK(kiln_rt_npy_write(path, KILN_RT_BF16, 2, d23, bf) == KILN_RT_OK);
    struct kiln_rt_npy t;
    CHECK(kiln_rt_npy_read(path, &t) == KILN_RT_OK && t.dtype == KILN_RT_F32 && t.nbytes == 24);
    CHECK(t.data && ((float *)t.data)[0] == 1.0f && ((float *)t.data)[1] == -0.5f &&
          bits_of(((float *)t.data)[5]) == 0x00010000);
    kiln_rt_npy_free(&t);
    CHECK(kiln_rt_npy_read_as(path, KILN_RT_BF16, &t) == KILN_RT_OK && t.dtype == KILN_RT_BF16 &&
          t.nbytes == 12 && t.rank == 2 && t.data && memcmp(t.data, bf, 12) == 0);
    kiln_rt_npy_free(&t);
    /* '<u2' is not taken for bf16 */
    CHECK(kiln_rt_npy_write(path, KILN_RT_U16, 2, d23, bf) == KILN_RT_OK);
    CHECK(kiln_rt_npy_read_as(path, KILN_RT_BF16, &t) == KILN_RT_ERR_DTYPE &&
          t.dtype == KILN_RT_U16);
    kiln_rt_npy_free(&t);

    /* Bad arguments and paths. */
    CHECK(kiln_rt_npy_write(path, 0, 1, d23, f6) == KILN_RT_ERR_ARG);
    CHECK(kiln_rt_npy_write(path, KILN_RT_F32, -1, d23, f6) == KILN_RT_ERR_ARG);
    CHECK(kiln_rt_npy_write(path, KILN_RT_F32, 33, d23, f6) == KILN_RT_ERR_ARG);
    CHECK(kiln_rt_npy_write(path, KILN_RT_F32, 2, d23, NULL) == KILN_RT_ERR_ARG);
    static const int64_t neg[] = {-2};
    CHECK(kiln_rt_npy_write(path, KILN_RT_F32, 1, neg, f6) == KILN_RT_ERR_ARG);
    static const int64_t huge[] = {INT64_MAX, 4};
    CHECK(kiln_rt_npy_write(path, KILN_RT_F32, 2, huge, f6) == KILN_RT_ERR_ARG);
    CHECK(kiln_rt_npy_write(NULL, KILN_RT_F32, 2, d23, f6) == KILN_RT_ERR_ARG);
    char nodir[512];
    tmp_path(nodir, sizeof nodir, "no/such/dir.npy");
    CHECK(kiln_rt_npy_write(nodir, KILN_RT_F32, 2, d23, f6) == KILN_RT_ERR_IO);
    CHECK(kiln_rt_npy_read(nodir, &t) == KILN_RT_ERR_IO && t.data == NULL);
    CHECK(kiln_rt_npy_read(tmpdir, &t) == KILN_RT_ERR_IO); /* a directory */
    CHECK(kiln_rt_npy_read(NULL, &t) == KILN_RT_ERR_ARG);
    CHECK(kiln_rt_npy_read(path, NULL) == KILN_RT_ERR_ARG);
    CHECK(kiln_rt_npy_read_as(path, 8, &t) == KILN_RT_ERR_ARG);
    kiln_rt_npy_free(NULL);
    remove(path);
}

/* Write a file with the given header dict (version major) and data bytes. */
static void
write_raw(const char *path, int major, const char *dict, size_t data_len)
{
    FILE *f = fopen(path, "wb");
    size_t hl = strlen(dict);
    fwrite("\x93NUMPY", 1, 6, f);
    fputc(major, f);
    fputc(0, f);
    if (major == 1) {
        fputc((int)(hl & 0xff), f);
        fputc((int)(hl >> 8), f);
    } else {
        for (int i = 0; i < 4; i++)
            fputc((int)((hl >> (8 * i)) & 0xff), f);
    }
    fwrite(dict, 1, hl, f);
    for (size_t i = 0; i < data_len; i++)
        fputc((int)(i & 0xff), f);
    fclose(f);
}

static int
read_status(const char *path)
{
    struct kiln_rt_npy t;
    int rc = kiln_rt_npy_read(path, &t);
    if (rc != KILN_RT_OK && (t.data || t.rank))
        return -100; /* an error must leave *out empty */
    kiln_rt_npy_free(&t);
    return rc;
}

static void
write_bytes(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static void
test_npy_hostile(void)
{
    char path[512];
    tmp_path(path, sizeof path, "bad.npy");
    /* Well-formed variants the reader accepts. */
    write_raw(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
    CHECK(read_status(path) == KILN_RT_OK);
    write_raw(path, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
    CHECK(read_status(path) == KILN_RT_OK);
    write_raw(path, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
    CHECK(read_status(path) == KILN_RT_OK);
    write_raw(path, 1, "{\"shape\": (6,), \"fortran_order\": False, \"descr\": \"=f4\"}", 24);
    CHECK(read_status(path) == KILN_RT_OK);
    write_raw(path, 1, "{'descr':'<i8','fortran_order':False,'shape':(3L,)}  \n", 24);
    CHECK(read_status(path) == KILN_RT_OK);
    write_raw(path, 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (4,), }", 4);
    CHECK(read_status(path) == KILN_RT_OK);
    write_raw(path, 1, "{'descr': '>b1', 'fortran_order': False, 'shape': (4,), }", 4);
    CHECK(read_status(path) == KILN_RT_OK); /* byte order is irrelevant for bytes */

    static const struct {
        int major;
        const char *dict;
        size_t data;
    } bad[] = {
        {1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24},
        {1, "{'descr': '|f4', 'fortran_order': False, 'shape': (2, 3), }", 24},
        {1, "{'descr': 'f4', 'fortran_order': False, 'shape': (2, 3), }", 24},
        {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24},
        {1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", 24},
        {1, "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", 24},
        {1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", 24},
        {1, "{'descr': '<V2', 'fortran_order': False, 'shape': (3,), }", 6},
        {1, "{'descr': '<U4', 'fortran_order': False, 'shape': (3,), }", 48},
        {1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", 12},
        {1, "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (3,), }", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 24},
        {1, "{'descr': '<u1', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, }", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (,), }", 24},
        {1, "{'descr': '<f4', 'fortran_order': False}", 24},
        {1, "{'descr': '<f4', 'shape': (2, 3)}", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24},
        {1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", 24},
        {1, "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }", 24},
        {1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3), }", 24},
        {1, "{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24},
        {1, "{'descr': '<f4',, 'fortran_order': False, 'shape': (2, 3), }", 24},
        {1, "('descr', '<f4')", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ", 24},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 23}, /* short */
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 25}, /* long */
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0},
        {4, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24},
        {0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24},
        {1, "", 24},
        {1,
         "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
         "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }",
         4}, /* rank 33 */
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_raw(path, bad[i].major, bad[i].dict, bad[i].data);
        int rc = read_status(path);
        CHECK_ALL(ok, rc == KILN_RT_ERR_FORMAT, "case %zu (%s): %d", i, bad[i].dict, rc);
    }
    CHECK(ok);

    /* The header with a NUL in it, and a minor version that is not 0. */
    unsigned char raw[128];
    static const char good[] = "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }";
    size_t gl = strlen(good);
    memcpy(raw, "\x93NUMPY\x01\x00", 8);
    raw[8] = (unsigned char)gl;
    raw[9] = 0;
    memcpy(raw + 10, good, gl);
    raw[10 + gl] = 7;
    raw[11 + gl] = 9;
    write_bytes(path, raw, 12 + gl);
    CHECK(read_status(path) == KILN_RT_OK);
    raw[20] = 0;
    write_bytes(path, raw, 12 + gl);
    CHECK(read_status(path) == KILN_RT_ERR_FORMAT);
    raw[20] = good[10];
    raw[7] = 1;
    write_bytes(path, raw, 12 + gl);
    CHECK(read_status(path) == KILN_RT_ERR_FORMAT);
    raw[7] = 0;
    raw[0] = 0x92; /* wrong magic */
    write_bytes(path, raw, 12 + gl);
    CHECK(read_status(path) == KILN_RT_ERR_FORMAT);
    raw[0] = 0x93;
    raw[8] = 0xff; /* header length beyond the file */
    write_bytes(path, raw, 12 + gl);
    CHECK(read_status(path) == KILN_RT_ERR_FORMAT);

    /* Every truncation of a valid file is refused. */
    static const int64_t d[] = {3, 5};
    double v[15] = {0};
    CHECK(kiln_rt_npy_write(path, KILN_RT_F64, 2, d, v) == KILN_RT_OK);
    FILE *f = fopen(path, "rb");
    unsigned char whole[512];
    size_t n = fread(whole, 1, sizeof whole, f);
    fclose(f);
    CHECK(n == 128 + 120);
    char cut[512];
    tmp_path(cut, sizeof cut, "cut.npy");
    ok = true;
    for (size_t len = 0; len < n; len++) {
        write_bytes(cut, whole, len);
        int rc = read_status(cut);
        CHECK_ALL(ok, rc == KILN_RT_ERR_FORMAT, "truncated to %zu: %d", len, rc);
    }
    CHECK(ok);

    /* Random byte mutations of the header: any status, never a crash, and a
     * success is a consistent tensor. */
    ok = true;
    for (int i = 0; i < 3000; i++) {
        unsigned char m[512];
        memcpy(m, whole, n);
        int flips = 1 + (int)(rng() % 4);
        for (int k = 0; k < flips; k++)
            m[rng() % 128] = (unsigned char)rng();
        write_bytes(cut, m, n);
        struct kiln_rt_npy t;
        int rc = kiln_rt_npy_read(cut, &t);
        if (rc == KILN_RT_OK) {
            size_t elems = 1;
            for (int a = 0; a < t.rank; a++)
                elems *= (size_t)t.dims[a];
            CHECK_ALL(ok,
                      t.data && elems * kiln_rt_dtype_size(t.dtype) == t.nbytes &&
                          t.nbytes == n - 128,
                      "mutation %d", i);
        } else {
            CHECK_ALL(ok, !t.data && rc > 0 && rc <= KILN_RT_ERR_DTYPE, "mutation %d: %d", i, rc);
        }
        kiln_rt_npy_free(&t);
    }
    CHECK(ok);
    remove(cut);
    remove(path);
}

/* ---------------------------------------------------------------- clock */

static void
test_clock(void)
{
    double a = kiln_rt_now_ms();
    struct timespec ts = {0, 3000000};
    nanosleep(&ts, NULL);
    double b = kiln_rt_now_ms();
    CHECK(a > 0 && b - a >= 2.5 && b - a < 10000);
}

int
main(void)
{
    /* Before any runtime call: the default thread count reads it once. */
    setenv("KILN_NUM_THREADS", "3", 1);
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/kiln_rt_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("cannot make a temporary directory\n");
        return 1;
    }
    test_tables();
    test_half();
    test_threads_config();
    test_parallel_for();
    test_workers_run();
    test_nested();
    test_concurrent();
    test_fork();
    test_npy_roundtrip();
    test_npy_hostile();
    test_clock();
    rmdir(tmpdir);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
