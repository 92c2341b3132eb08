/*
 * threads.c - parallel_for over one process-wide pool of worker threads.
 *
 * Contract (kiln_rt.h): [0, trip) is cut into contiguous chunks, at most
 * POOL_CHUNKS per thread and at most trip / grain; every chunk runs exactly
 * once; the call returns when all have finished. More chunks than threads let
 * whoever is free take the share of a worker that wakes late.
 *
 * How: one caller at a time owns the pool (pool.owner, taken with trylock;
 * whoever fails runs inline). The owner publishes the job under pool.mu,
 * bumps pool.gen and signals up to n - 1 sleeping workers, then claims chunks
 * itself exactly as the workers do: "next chunk" is a counter under pool.mu,
 * so each chunk is claimed once, by whoever comes first, and the owner alone
 * can finish any job. It then watches pool.pending (chunks not yet finished)
 * for POOL_SPIN_MS, and sleeps until it is 0. So no wake-up is ever needed for progress, only for
 * speed: a worker that wakes late finds nothing left and sleeps again.
 *
 * Workers that finish a job watch an atomic copy of pool.gen for 50 us
 * before sleeping on pool.wake, because generated models call parallel_for
 * once per kernel, back to back; the spin is bounded, so idle workers sleep.
 *
 * Every shared field is read and written under pool.mu except the atomics
 * (the thread count, the gen copy the spin reads), so there are no data
 * races; the mutex hand-offs also order the kernels' writes before the
 * owner's return.
 *
 * Workers are created on demand (never more than KILN_RT_MAX_THREADS - 1),
 * detached, with every signal blocked, and never exit. A pthread_atfork
 * handler keeps the pool's locks consistent across fork() and gives the child
 * an empty pool.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/kiln_rt.h"

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long a worker that finished a job watches for the next one before it
 * sleeps, and how many pause instructions between looks at the clock. */
#define POOL_SPIN_MS 0.05
enum { POOL_SPIN_CHECK = 64 };
/* Chunks per thread of a parallel loop (when it has that many iterations). */
enum { POOL_CHUNKS = 2 };

struct pool_job {
    kiln_rt_kernel kernel;
    char *const *bufs;
    const int64_t *dims;
    int64_t trip;
    int n_chunks;
};

static struct {
    pthread_mutex_t owner;     /* held by the caller whose job the pool runs */
    pthread_mutex_t mu;        /* guards every field below but gen_seen */
    pthread_cond_t wake;       /* workers: gen changed */
    pthread_cond_t done;       /* owner: pending reached 0 */
    uintptr_t gen;             /* bumped once per job */
    atomic_uintptr_t gen_seen; /* copy of gen for spinning workers */
    struct pool_job job;
    int next;    /* next unclaimed chunk of job */
    int pending; /* chunks of job not finished */
    int n_workers;
} pool = {
    .owner = PTHREAD_MUTEX_INITIALIZER,
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

static atomic_int threads_set; /* kiln_rt_set_threads; 0 = default */
static int threads_default;    /* written once by rt_init, under pthread_once */
static pthread_once_t rt_once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------- thread count */

static int
clamp_threads(long n)
{
    return n < 1 ? 1 : n > KILN_RT_MAX_THREADS ? KILN_RT_MAX_THREADS : (int)n;
}

/* KILN_NUM_THREADS when it is a positive integer, else 0. */
static long
threads_from_env(void)
{
    const char *s = getenv("KILN_NUM_THREADS");
    if (!s || *s < '0' || *s > '9')
        return 0;
    long n = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        n = n > KILN_RT_MAX_THREADS ? n : n * 10 + (*s - '0'); /* saturates, no overflow */
    return *s == '\0' ? n : 0;
}

/* CPUs this process may run on: the online CPUs, fewer under an affinity mask. */
static long
threads_from_system(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        long a = CPU_COUNT(&set);
        if (a > 0 && (n < 1 || a < n))
            n = a;
    }
#endif
    return n;
}

static void pool_atfork_prepare(void);
static void pool_atfork_parent(void);
static void pool_atfork_child(void);

static void
rt_init(void)
{
    long n = threads_from_env();
    threads_default = clamp_threads(n > 0 ? n : threads_from_system());
    /* Failure only costs fork-safety of the locks; nothing to report it to. */
    (void)pthread_atfork(pool_atfork_prepare, pool_atfork_parent, pool_atfork_child);
}

int
kiln_rt_set_threads(int n)
{
    if (n < 0 || n > KILN_RT_MAX_THREADS)
        return KILN_RT_ERR_ARG;
    atomic_store_explicit(&threads_set, n, memory_order_relaxed);
    return KILN_RT_OK;
}

int
kiln_rt_get_threads(void)
{
    int n = atomic_load_explicit(&threads_set, memory_order_relaxed);
    if (n > 0)
        return n;
    pthread_once(&rt_once, rt_init);
    return threads_default;
}

/* ---------------------------------------------------------------- fork */

static void
pool_atfork_prepare(void)
{
    pthread_mutex_lock(&pool.owner); /* no job runs across fork() */
    pthread_mutex_lock(&pool.mu);
}

static void
pool_atfork_parent(void)
{
    pthread_mutex_unlock(&pool.mu);
    pthread_mutex_unlock(&pool.owner);
}

static void
pool_atfork_child(void)
{
    /* The workers do not exist here; their waits on the condition variables
     * must not count either, so everything starts afresh. */
    pool.owner = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    pool.mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    pool.wake = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
    pool.done = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
    pool.n_workers = 0;
    pool.next = pool.pending = 0;
}

/* ---------------------------------------------------------------- the pool */

/* Claim and run chunks of the current job until none is left. Called and
 * returns with pool.mu held; drops it while a kernel runs. */
static void
pool_run_chunks_locked(void)
{
    while (pool.next < pool.job.n_chunks) {
        int c = pool.next++;
        struct pool_job j = pool.job;
        pthread_mutex_unlock(&pool.mu);

        int64_t base = j.trip / j.n_chunks, rem = j.trip % j.n_chunks;
        int64_t lo = c * base + (c < rem ? c : rem);
        int64_t hi = lo + base + (c < rem ? 1 : 0);
        j.kernel(j.bufs, j.dims, lo, hi);

        pthread_mutex_lock(&pool.mu);
        if (--pool.pending == 0)
            pthread_cond_signal(&pool.done);
    }
}

/* Watch for a job after seen for POOL_SPIN_MS at most. */
static void
pool_spin(uintptr_t seen)
{
    double until = kiln_rt_now_ms() + POOL_SPIN_MS;
    for (;;) {
        for (int i = 0; i < POOL_SPIN_CHECK; i++) {
            if (atomic_load_explicit(&pool.gen_seen, memory_order_relaxed) != seen)
                return;
            CPU_RELAX();
        }
        if (kiln_rt_now_ms() > until)
            return;
    }
}

static void *
pool_worker(void *arg)
{
    uintptr_t seen = (uintptr_t)arg; /* the gen before the job it was made for */
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        if (pool.gen == seen) {
            pthread_mutex_unlock(&pool.mu);
            pool_spin(seen);
            pthread_mutex_lock(&pool.mu);
            while (pool.gen == seen)
                pthread_cond_wait(&pool.wake, &pool.mu);
        }
        seen = pool.gen;
        pool_run_chunks_locked();
    }
    return NULL; /* not reached */
}

/* Start workers until there are want; returns how many there are. */
static int
pool_grow_locked(int want)
{
    if (pool.n_workers >= want)
        return pool.n_workers;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return pool.n_workers;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* workers inherit: no signal lands on them */
    while (pool.n_workers < want) {
        pthread_t t;
        if (pthread_create(&t, &attr, pool_worker, (void *)pool.gen) != 0)
            break; /* fewer threads; the owner covers what is not taken */
        pool.n_workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return pool.n_workers;
}

void
kiln_rt_parallel_for_grain(int64_t trip, int64_t grain, kiln_rt_kernel kernel, char *const *bufs,
                           const int64_t *dims)
{
    if (trip <= 0 || !kernel)
        return;
    if (grain < 1)
        grain = 1;
    int n = kiln_rt_get_threads();
    if (trip / grain < n)
        n = (int)(trip / grain);
    if (n < 2 || pthread_mutex_trylock(&pool.owner) != 0) {
        kernel(bufs, dims, 0, trip);
        return;
    }
    pthread_once(&rt_once, rt_init); /* the atfork handler before the first worker */
    pthread_mutex_lock(&pool.mu);
    int workers = pool_grow_locked(n - 1);
    if (workers < n - 1)
        n = workers + 1;
    if (n < 2) {
        pthread_mutex_unlock(&pool.mu);
        pthread_mutex_unlock(&pool.owner);
        kernel(bufs, dims, 0, trip);
        return;
    }
    /* more chunks than threads, claimed as they come: a worker that wakes
     * late leaves its share to whoever is free */
    int chunks = trip / grain < (int64_t)n * POOL_CHUNKS ? (int)(trip / grain) : n * POOL_CHUNKS;
    pool.job = (struct pool_job){kernel, bufs, dims, trip, chunks};
    pool.next = 0;
    pool.pending = chunks;
    pool.gen++;
    atomic_store_explicit(&pool.gen_seen, pool.gen, memory_order_relaxed);
    for (int i = 1; i < n; i++)
        pthread_cond_signal(&pool.wake);
    pool_run_chunks_locked();
    /* the last chunks are short: watch for them before sleeping */
    double until = pool.pending > 0 ? kiln_rt_now_ms() + POOL_SPIN_MS : 0;
    while (pool.pending > 0 && kiln_rt_now_ms() < until) {
        pthread_mutex_unlock(&pool.mu);
        for (int i = 0; i < POOL_SPIN_CHECK; i++)
            CPU_RELAX();
        pthread_mutex_lock(&pool.mu);
    }
    while (pool.pending > 0)
        pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    pthread_mutex_unlock(&pool.owner);
}

void
kiln_rt_parallel_for(int64_t trip, kiln_rt_kernel kernel, char *const *bufs, const int64_t *dims)
{
    kiln_rt_parallel_for_grain(trip, 1, kernel, bufs, dims);
}
