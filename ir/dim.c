/*
 * dim.c - exact arithmetic on dims (ir.h): constants, monomials over the
 * graph inputs' symbols, and the process-wide intern table of factor strings.
 *
 * Symbolic dims are monomials, coef * f1 * f2 * ... over base symbols (ir.h);
 * the algebra on them (kiln_dim_mul, kiln_dim_add, kiln_dim_div_exact,
 * kiln_dim_subst) is exact or gives unknown, so Reshape's -1, Flatten and the
 * exporters' Shape -> Gather -> Mul -> Concat -> Reshape chains keep `N*S`.
 * Factor strings built without an arena go to a process-wide intern table
 * (a mutex, a fixed cap): past the cap such results are unknown.
 */
#include "ir.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- monomial dims */

/*
 * A symbolic dim is coef * f1 * f2 * ... with its factors sorted and joined by
 * KILN_DIM_SEP (ir.h). The operations below split factor strings into spans,
 * work on those, and build canonical strings back: sorted, joined, and either
 * allocated in an arena or interned process-wide.
 */

/* Process-wide intern table: open addressing over a fixed array, capped so that
 * a hostile model cannot grow it without bound. Entries live until exit. */
#define INTERN_SLOTS 8192 /* power of two, twice the cap: probes stay short */
#define INTERN_MAX 4096
#define INTERN_BYTES (1u << 20)

static pthread_mutex_t intern_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *intern_slots[INTERN_SLOTS];
static size_t intern_count, intern_bytes;

const char *
kiln_dim_intern(const char *s, size_t len)
{
    uint32_t h = (uint32_t)kiln_fnv1a64(s, len);
    const char *r = NULL;
    pthread_mutex_lock(&intern_mu);
    for (uint32_t i = h & (INTERN_SLOTS - 1);; i = (i + 1) & (INTERN_SLOTS - 1)) {
        const char *e = intern_slots[i];
        if (!e) {
            if (intern_count >= INTERN_MAX || len >= INTERN_BYTES - intern_bytes)
                break; /* full: the caller makes the dim unknown */
            char *c = malloc(len + 1);
            if (!c)
                break;
            memcpy(c, s, len);
            c[len] = 0;
            intern_slots[i] = r = c;
            intern_count++;
            intern_bytes += len + 1;
            break;
        }
        if (strncmp(e, s, len) == 0 && e[len] == 0) {
            r = e;
            break;
        }
    }
    pthread_mutex_unlock(&intern_mu);
    return r;
}

/* One factor of a factor string: len bytes at s (not NUL-terminated unless last). */
struct dim_factor {
    const char *s;
    size_t len;
};

/* Split factor string sym into f (room for max); the count, or -1 past max. */
static int
dim_split(const char *sym, struct dim_factor *f, int max)
{
    int n = 0;
    for (const char *p = sym;;) {
        const char *e = strchr(p, KILN_DIM_SEP);
        if (n == max)
            return -1;
        f[n].s = p;
        f[n++].len = e ? (size_t)(e - p) : strlen(p);
        if (!e)
            return n;
        p = e + 1;
    }
}

/* strcmp order of two factors (memcmp compares bytes as unsigned char, as strcmp does). */
static int
factor_cmp(const void *pa, const void *pb)
{
    const struct dim_factor *a = pa, *b = pb;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static bool
factor_is(const struct dim_factor *f, const char *s)
{
    return strncmp(f->s, s, f->len) == 0 && s[f->len] == 0;
}

/* coef * f[0..n) with a canonical factor string in arena a (NULL: interned);
 * sorts f in place. */
static struct kiln_dim
dim_build(int64_t coef, struct dim_factor *f, int n, struct kiln_arena *a)
{
    if (coef < 0 || n > KILN_DIM_MAX_FACTORS)
        return kiln_dim_unknown();
    if (coef == 0 || n == 0)
        return kiln_dim_const(coef);
    /* factors that are a tail of one existing factor string (what division and
     * substitution often leave) are that string from f[0] on: reuse it */
    bool tail = f[n - 1].s[f[n - 1].len] == 0;
    for (int i = 0; i + 1 < n && tail; i++)
        tail = f[i].s[f[i].len] == KILN_DIM_SEP && f[i + 1].s == f[i].s + f[i].len + 1;
    if (tail)
        return (struct kiln_dim){coef, f[0].s};
    qsort(f, (size_t)n, sizeof *f, factor_cmp);
    char buf[KILN_DIM_MAX_SYM];
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (f[i].len == 0 || f[i].len + (i > 0) > sizeof buf - k)
            return kiln_dim_unknown();
        if (i)
            buf[k++] = KILN_DIM_SEP;
        memcpy(buf + k, f[i].s, f[i].len);
        k += f[i].len;
    }
    const char *s = a ? kiln_arena_strndup(a, buf, k) : kiln_dim_intern(buf, k);
    return s ? (struct kiln_dim){coef, s} : kiln_dim_unknown();
}

struct kiln_dim
kiln_dim_monomial(int64_t coef, const char *const *factors, int n, struct kiln_arena *a)
{
    if (coef < 0 || n < 0 || n > KILN_DIM_MAX_FACTORS)
        return kiln_dim_unknown();
    struct dim_factor f[KILN_DIM_MAX_FACTORS];
    for (int i = 0; i < n; i++) {
        f[i].s = factors[i];
        f[i].len = strlen(factors[i]);
        if (f[i].len == 0 || memchr(f[i].s, KILN_DIM_SEP, f[i].len))
            return kiln_dim_unknown();
    }
    if (n == 1 && coef != 0) {
        /* a copy, never the caller's pointer: its lifetime is the caller's */
        const char *s =
            a ? kiln_arena_strndup(a, f[0].s, f[0].len) : kiln_dim_intern(f[0].s, f[0].len);
        return s ? (struct kiln_dim){coef, s} : kiln_dim_unknown();
    }
    return dim_build(coef, f, n, a);
}

bool
kiln_dim_merge(struct kiln_dim a, struct kiln_dim b, struct kiln_dim *out)
{
    if (kiln_dim_is_const(a) && kiln_dim_is_const(b)) {
        *out = a;
        return a.n == b.n;
    }
    if (kiln_dim_is_const(a) || kiln_dim_is_unknown(b))
        *out = a;
    else if (kiln_dim_is_const(b) || kiln_dim_is_unknown(a))
        *out = b;
    else
        *out = kiln_dim_eq(a, b) ? a : kiln_dim_unknown();
    return true;
}

struct kiln_dim
kiln_dim_mul(struct kiln_dim a, struct kiln_dim b)
{
    if ((kiln_dim_is_int(a) && a.n == 0) || (kiln_dim_is_int(b) && b.n == 0))
        return kiln_dim_const(0); /* even an unknown dim times 0 is 0 */
    if (kiln_dim_is_unknown(a) || kiln_dim_is_unknown(b))
        return kiln_dim_unknown();
    int64_t k;
    if (!kiln_mul_i64(a.n, b.n, &k) || k == KILN_DIM_UNKNOWN)
        return kiln_dim_unknown();
    if (!a.sym && !b.sym)
        return kiln_dim_const(k);
    if (!a.sym || !b.sym) /* an integer times a monomial scales the coefficient */
        return k > 0 ? (struct kiln_dim){k, a.sym ? a.sym : b.sym} : kiln_dim_unknown();
    struct dim_factor f[2 * KILN_DIM_MAX_FACTORS];
    int na = dim_split(a.sym, f, KILN_DIM_MAX_FACTORS);
    int nb = na < 0 ? -1 : dim_split(b.sym, f + na, KILN_DIM_MAX_FACTORS);
    if (nb < 0)
        return kiln_dim_unknown();
    return dim_build(k, f, na + nb, NULL);
}

struct kiln_dim
kiln_dim_add(struct kiln_dim a, struct kiln_dim b)
{
    int64_t r;
    if (kiln_dim_is_int(a) && kiln_dim_is_int(b))
        return kiln_add_i64(a.n, b.n, &r) && r >= 0 ? kiln_dim_const(r) : kiln_dim_unknown();
    if (kiln_dim_is_int(a) && a.n == 0)
        return b;
    if (kiln_dim_is_int(b) && b.n == 0)
        return a;
    if (a.sym && b.sym && (a.sym == b.sym || strcmp(a.sym, b.sym) == 0) &&
        kiln_add_i64(a.n, b.n, &r))
        return (struct kiln_dim){r, a.sym}; /* like terms: k1*F + k2*F = (k1+k2)*F */
    return kiln_dim_unknown();
}

bool
kiln_dim_div_exact(struct kiln_dim a, struct kiln_dim b, struct kiln_dim *out)
{
    if (kiln_dim_is_unknown(a) || kiln_dim_is_unknown(b) || a.n < 0 || b.n <= 0)
        return false;
    if (!a.sym && a.n == 0) {
        *out = kiln_dim_const(0);
        return true;
    }
    if (a.n % b.n != 0)
        return false;
    int64_t k = a.n / b.n;
    if (!b.sym) {
        *out = (struct kiln_dim){k, a.sym};
        return true;
    }
    if (!a.sym)
        return false;
    if (a.sym == b.sym || strcmp(a.sym, b.sym) == 0) {
        *out = kiln_dim_const(k);
        return true;
    }
    /* both sorted: walk them together, keeping a's factors that b does not cancel */
    struct dim_factor fa[KILN_DIM_MAX_FACTORS], fb[KILN_DIM_MAX_FACTORS];
    int na = dim_split(a.sym, fa, KILN_DIM_MAX_FACTORS);
    int nb = dim_split(b.sym, fb, KILN_DIM_MAX_FACTORS);
    if (na < 0 || nb < 0 || nb > na)
        return false;
    int keep = 0, j = 0;
    for (int i = 0; i < na; i++) {
        int c = j < nb ? factor_cmp(&fa[i], &fb[j]) : -1;
        if (c > 0)
            return false; /* fb[j] is not among a's factors */
        if (c == 0)
            j++;
        else
            fa[keep++] = fa[i];
    }
    if (j < nb)
        return false;
    struct kiln_dim q = dim_build(k, fa, keep, NULL);
    if (kiln_dim_is_unknown(q))
        return false;
    *out = q;
    return true;
}

bool
kiln_dim_subst(struct kiln_dim d, const char *sym, int64_t value, struct kiln_arena *a,
               struct kiln_dim *out)
{
    if (!d.sym)
        return false;
    struct dim_factor f[KILN_DIM_MAX_FACTORS];
    int n = dim_split(d.sym, f, KILN_DIM_MAX_FACTORS);
    if (n < 0)
        return false; /* no well-formed dim has that many factors */
    int keep = 0, hits = 0;
    for (int i = 0; i < n; i++) {
        if (factor_is(&f[i], sym))
            hits++;
        else
            f[keep++] = f[i];
    }
    if (!hits)
        return false;
    int64_t k = d.n;
    bool ok = value >= 0;
    for (int i = 0; i < hits && ok; i++)
        ok = kiln_mul_i64(k, value, &k);
    *out = ok ? dim_build(k, f, keep, a) : kiln_dim_unknown(); /* f stays sorted */
    return true;
}

/* Append to buf at offset k as snprintf would; returns the new offset, which
 * keeps counting past len so that truncation is harmless. */
static size_t __attribute__((format(printf, 4, 5)))
emit(char *buf, size_t len, size_t k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + (k < len ? k : len), k < len ? len - k : 0, fmt, ap);
    va_end(ap);
    return k + (w > 0 ? (size_t)w : 0);
}

/* A factor as the .kir printer writes a symbol: bare when it is an identifier
 * not starting with a digit, otherwise quoted with the .kir escapes. */
static size_t
factor_format(const struct dim_factor *f, char *buf, size_t len, size_t k)
{
    bool bare = f->len > 0 && !(f->s[0] >= '0' && f->s[0] <= '9');
    for (size_t i = 0; i < f->len && bare; i++) {
        char c = f->s[i];
        bare =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }
    if (bare)
        return emit(buf, len, k, "%.*s", (int)f->len, f->s);
    k = emit(buf, len, k, "\"");
    for (size_t i = 0; i < f->len; i++) {
        unsigned char c = (unsigned char)f->s[i];
        if (c == '"' || c == '\\')
            k = emit(buf, len, k, "\\%c", c);
        else if (c == '\n')
            k = emit(buf, len, k, "\\n");
        else if (c == '\t')
            k = emit(buf, len, k, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            k = emit(buf, len, k, "\\x%02x", c);
        else
            k = emit(buf, len, k, "%c", c);
    }
    return emit(buf, len, k, "\"");
}

void
kiln_dim_format(struct kiln_dim d, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = 0;
    if (!d.sym) {
        if (d.n != KILN_DIM_UNKNOWN)
            emit(buf, len, 0, "%lld", (long long)d.n);
        else
            emit(buf, len, 0, "?");
        return;
    }
    size_t k = d.n != 1 ? emit(buf, len, 0, "%lld*", (long long)d.n) : 0;
    for (const char *p = d.sym;;) {
        const char *e = strchr(p, KILN_DIM_SEP);
        struct dim_factor f = {p, e ? (size_t)(e - p) : strlen(p)};
        k = factor_format(&f, buf, len, k);
        if (!e)
            break;
        k = emit(buf, len, k, "*");
        p = e + 1;
    }
}

void
kiln_type_format(const struct kiln_type *t, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "%s[", kiln_dtype_name(t->dtype));
    if (t->rank < 0) {
        snprintf(buf + k, len > k ? len - k : 0, "*]");
        return;
    }
    for (int i = 0; i < t->rank && k < len; i++) {
        char d[128];
        kiln_dim_format(t->dims[i], d, sizeof d);
        k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? "," : "", d);
    }
    if (k < len)
        snprintf(buf + k, len - k, "]");
}
