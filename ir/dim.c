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

/* The expression engine (below) for what monomials cannot hold. */
static struct kiln_dim dx_binary(char op, struct kiln_dim a, struct kiln_dim b);
static bool dx_div_dim(struct kiln_dim a, struct kiln_dim b, struct kiln_dim *out);
static bool dx_subst_dim(struct kiln_dim d, const char *sym, int64_t value, struct kiln_arena *a,
                         struct kiln_dim *out);

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
    if (kiln_dim_is_expr(a) || kiln_dim_is_expr(b))
        return dx_binary('*', a, b);
    int64_t k;
    if (!kiln_mul_i64(a.n, b.n, &k) || k == KILN_DIM_UNKNOWN)
        return kiln_dim_unknown();
    if (!a.sym && !b.sym)
        return kiln_dim_const(k);
    if (!a.sym || !b.sym) /* an integer times a monomial scales the coefficient */
        return k > 0 ? (struct kiln_dim){k, a.sym ? a.sym : b.sym} : dx_binary('*', a, b);
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
    if (kiln_dim_is_unknown(a) || kiln_dim_is_unknown(b))
        return kiln_dim_unknown();
    return dx_binary('+', a, b); /* unlike terms: an expression */
}

bool
kiln_dim_div_exact(struct kiln_dim a, struct kiln_dim b, struct kiln_dim *out)
{
    if (kiln_dim_is_unknown(a) || kiln_dim_is_unknown(b) || a.n < 0 || b.n <= 0)
        return false;
    if (kiln_dim_is_expr(a) || kiln_dim_is_expr(b)) {
        if (kiln_dim_eq(a, b)) {
            *out = kiln_dim_const(1);
            return true;
        }
        return dx_div_dim(a, b, out);
    }
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
    if (kiln_dim_is_expr(d))
        return dx_subst_dim(d, sym, value, a, out);
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

/* ---------------------------------------------------------------- expression dims */

/*
 * A dim that is neither an integer nor a monomial is an expression (ir.h): a
 * polynomial with integer coefficients over atoms, where an atom is a base
 * symbol, floor(P / k) for a polynomial P and an integer k >= 2, or min/max of
 * two polynomials. Its sym is KILN_DIM_EXPR followed by the canonical encoding
 *
 *   poly := '(' INT (';' INT atom+)* ')'   the constant, then coef * atoms terms
 *   atom := 'S' NAME '\x1f'                 a base symbol
 *         | 'F' INT poly                    floor(poly / INT)
 *         | 'm' poly poly | 'M' poly poly   min, max
 *
 * with the atoms of a term and the terms of a poly sorted by their encodings
 * (memcmp), no zero coefficient, and each atom simplified as far as the rules
 * below go, so that equal encodings mean equal expressions: kiln_dim_eq
 * compares strings, as for monomials. The rules, all exact for integers:
 *   floor((k*A + B) / k) = A + floor(B / k)       coefficients reduced mod k
 *   floor(g*B / g*k) = floor(B / k)               a common factor cancels
 *   floor((floor(X / a) + c) / k) = floor((X + a*c) / (a*k))
 *   min/max(P, Q) = P or Q when P - Q is a constant, or when it is a
 *   polynomial with nonnegative coefficients over nonnegative atoms (dims are
 *   never negative, so every symbol is >= 0).
 * A polynomial that is 0 terms is its constant; one term c*S1*S2... with c >= 1
 * and no constant is the monomial it is; everything else is an expression.
 * The operations work on trees decoded into a scratch arena and encode the
 * result; a result past the caps (terms, atoms, nesting, KILN_DIM_MAX_SYM) or
 * an overflow is unknown.
 */

#define DX_MAX_TERMS 32
#define DX_MAX_ATOMS 16
#define DX_MAX_DEPTH 12

struct dx_poly;

struct dx_atom {
    char kind;        /* 'S', 'F', 'm', 'M' */
    int64_t k;        /* F: the divisor, >= 2 */
    const char *name; /* S: the symbol, len bytes */
    size_t len;
    const struct dx_poly *p, *q; /* F: p; m, M: p and q */
    const char *key;             /* canonical encoding, klen bytes */
    size_t klen;
};

struct dx_term {
    int64_t coef; /* != 0 */
    int n;
    const struct dx_atom *a[DX_MAX_ATOMS]; /* sorted by key */
};

struct dx_poly {
    int64_t c;
    int n;
    struct dx_term *t; /* (n) sorted by their atoms' keys */
    const char *key;   /* canonical encoding */
    size_t klen;
};

struct dx {
    struct kiln_arena *a;
    bool fail;
};

static int
dx_keycmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static int
dx_atom_cmp(const void *pa, const void *pb)
{
    const struct dx_atom *a = *(const struct dx_atom *const *)pa,
                         *b = *(const struct dx_atom *const *)pb;
    return dx_keycmp(a->key, a->klen, b->key, b->klen);
}

/* Order of two terms by their atom lists. */
static int
dx_term_cmp(const struct dx_term *x, const struct dx_term *y)
{
    for (int i = 0; i < x->n && i < y->n; i++) {
        int c = dx_atom_cmp(&x->a[i], &y->a[i]);
        if (c)
            return c;
    }
    return (x->n > y->n) - (x->n < y->n);
}

static int
dx_term_qcmp(const void *a, const void *b)
{
    return dx_term_cmp(a, b);
}

/* A growable byte buffer in the scratch arena, for encodings. */
struct dx_buf {
    char *s;
    size_t n, cap;
};

static void
dx_put(struct dx *x, struct dx_buf *b, const char *s, size_t n)
{
    if (x->fail)
        return;
    if (b->n + n > KILN_DIM_MAX_SYM) {
        x->fail = true;
        return;
    }
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n)
            cap *= 2;
        char *s2 = kiln_arena_grow(x->a, b->s, b->n, cap, 1);
        if (!s2) {
            x->fail = true;
            return;
        }
        b->s = s2;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
}

static void
dx_put_int(struct dx *x, struct dx_buf *b, int64_t v)
{
    char t[24];
    int w = snprintf(t, sizeof t, "%lld", (long long)v);
    dx_put(x, b, t, (size_t)w);
}

/* Sort p's terms and compute its key (terms with the same atoms are merged first
 * by the callers). */
static const struct dx_poly *
dx_finish(struct dx *x, struct dx_poly *p)
{
    if (x->fail)
        return NULL;
    qsort(p->t, (size_t)p->n, sizeof *p->t, dx_term_qcmp);
    struct dx_buf b = {0};
    dx_put(x, &b, "(", 1);
    dx_put_int(x, &b, p->c);
    for (int i = 0; i < p->n; i++) {
        dx_put(x, &b, ";", 1);
        dx_put_int(x, &b, p->t[i].coef);
        for (int j = 0; j < p->t[i].n; j++)
            dx_put(x, &b, p->t[i].a[j]->key, p->t[i].a[j]->klen);
    }
    dx_put(x, &b, ")", 1);
    if (x->fail)
        return NULL;
    p->key = b.s;
    p->klen = b.n;
    return p;
}

static struct dx_poly *
dx_new(struct dx *x, int cap)
{
    struct dx_poly *p = kiln_arena_alloc(x->a, sizeof *p);
    struct dx_term *t = kiln_arena_array(x->a, (size_t)(cap > 0 ? cap : 1), sizeof *t);
    if (!p || !t) {
        x->fail = true;
        return NULL;
    }
    p->t = t;
    return p;
}

static const struct dx_poly *
dx_const(struct dx *x, int64_t c)
{
    struct dx_poly *p = dx_new(x, 0);
    if (!p)
        return NULL;
    p->c = c;
    return dx_finish(x, p);
}

static const struct dx_atom *
dx_atom_new(struct dx *x, char kind, int64_t k, const char *name, size_t len,
            const struct dx_poly *p, const struct dx_poly *q)
{
    struct dx_atom *at = kiln_arena_alloc(x->a, sizeof *at);
    if (!at) {
        x->fail = true;
        return NULL;
    }
    *at = (struct dx_atom){kind, k, name, len, p, q, NULL, 0};
    struct dx_buf b = {0};
    dx_put(x, &b, &kind, 1);
    if (kind == 'S') {
        dx_put(x, &b, name, len);
        dx_put(x, &b, "\x1f", 1);
    } else {
        if (kind == 'F')
            dx_put_int(x, &b, k);
        if (p)
            dx_put(x, &b, p->key, p->klen);
        if (q)
            dx_put(x, &b, q->key, q->klen);
    }
    if (x->fail)
        return NULL;
    at->key = b.s;
    at->klen = b.n;
    return at;
}

/* The polynomial 1 * atom. */
static const struct dx_poly *
dx_of_atom(struct dx *x, const struct dx_atom *at)
{
    struct dx_poly *p = at ? dx_new(x, 1) : NULL;
    if (!p)
        return NULL;
    p->n = 1;
    p->t[0].coef = 1;
    p->t[0].n = 1;
    p->t[0].a[0] = at;
    return dx_finish(x, p);
}

/* p + s*q. */
static const struct dx_poly *
dx_add(struct dx *x, const struct dx_poly *p, const struct dx_poly *q, int64_t s)
{
    if (x->fail || !p || !q)
        return NULL;
    struct dx_poly *r = dx_new(x, p->n + q->n);
    if (!r)
        return NULL;
    int64_t qc;
    if (!kiln_mul_i64(q->c, s, &qc) || !kiln_add_i64(p->c, qc, &r->c)) {
        x->fail = true;
        return NULL;
    }
    int i = 0, j = 0;
    while (i < p->n || j < q->n) {
        int c = i == p->n ? 1 : j == q->n ? -1 : dx_term_cmp(&p->t[i], &q->t[j]);
        struct dx_term t;
        if (c < 0) {
            t = p->t[i++];
        } else {
            t = q->t[j];
            if (!kiln_mul_i64(q->t[j++].coef, s, &t.coef)) {
                x->fail = true;
                return NULL;
            }
            if (c == 0 && !kiln_add_i64(t.coef, p->t[i++].coef, &t.coef)) {
                x->fail = true;
                return NULL;
            }
        }
        if (t.coef)
            r->t[r->n++] = t;
    }
    if (r->n > DX_MAX_TERMS) {
        x->fail = true;
        return NULL;
    }
    return dx_finish(x, r);
}

/* k * p. */
static const struct dx_poly *
dx_scale(struct dx *x, const struct dx_poly *p, int64_t k)
{
    return dx_add(x, dx_const(x, 0), p, k);
}

/* p * q, expanded. */
static const struct dx_poly *
dx_mul(struct dx *x, const struct dx_poly *p, const struct dx_poly *q)
{
    if (x->fail || !p || !q)
        return NULL;
    const struct dx_poly *r = dx_scale(x, q, p->c);
    for (int i = 0; i < p->n && r; i++) {
        struct dx_poly *s = dx_new(x, q->n + 1);
        if (!s)
            return NULL;
        /* p->t[i] * q->c */
        if (q->c) {
            s->t[s->n] = p->t[i];
            if (!kiln_mul_i64(p->t[i].coef, q->c, &s->t[s->n].coef)) {
                x->fail = true;
                return NULL;
            }
            s->n++;
        }
        for (int j = 0; j < q->n; j++) {
            struct dx_term t;
            if (p->t[i].n + q->t[j].n > DX_MAX_ATOMS ||
                !kiln_mul_i64(p->t[i].coef, q->t[j].coef, &t.coef)) {
                x->fail = true;
                return NULL;
            }
            t.n = 0;
            for (int k = 0; k < p->t[i].n; k++)
                t.a[t.n++] = p->t[i].a[k];
            for (int k = 0; k < q->t[j].n; k++)
                t.a[t.n++] = q->t[j].a[k];
            qsort(t.a, (size_t)t.n, sizeof t.a[0], dx_atom_cmp);
            s->t[s->n++] = t;
        }
        /* the products of one term of p are distinct (q's terms are); sorting
         * them is enough before the merge into r */
        r = dx_add(x, r, dx_finish(x, s), 1);
    }
    return r;
}

static int64_t
dx_floordiv_i(int64_t a, int64_t k)
{
    int64_t q = a / k;
    return q - (a % k != 0 && (a < 0) != (k < 0));
}

/* gcd of |a| and |b| (INT64_MIN counts as INT64_MAX: only a common factor > 1
 * matters to the caller, and it must divide both exactly, which it checks) */
static int64_t
dx_gcd(int64_t a, int64_t b)
{
    a = a == INT64_MIN ? INT64_MAX : a < 0 ? -a : a;
    b = b == INT64_MIN ? INT64_MAX : b < 0 ? -b : b;
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* floor(p / k), k >= 1. */
static const struct dx_poly *
dx_floor(struct dx *x, const struct dx_poly *p, int64_t k, int depth)
{
    if (x->fail || !p)
        return NULL;
    if (k < 1 || depth > DX_MAX_DEPTH) {
        x->fail = true;
        return NULL;
    }
    if (k == 1)
        return p;
    /* p = k*Q + R with R's coefficients in [0, k) */
    struct dx_poly *q = dx_new(x, p->n), *r = dx_new(x, p->n);
    if (!q || !r)
        return NULL;
    /* c = k * floor(c / k) + (c mod k), each in checked arithmetic (k * floor(c / k)
     * can pass INT64_MIN for a c near it) */
    int64_t qk;
    q->c = dx_floordiv_i(p->c, k);
    if (!kiln_mul_i64(q->c, k, &qk) || __builtin_sub_overflow(p->c, qk, &r->c)) {
        x->fail = true;
        return NULL;
    }
    for (int i = 0; i < p->n; i++) {
        struct dx_term t = p->t[i];
        int64_t c = dx_floordiv_i(t.coef, k);
        t.coef = c;
        if (c)
            q->t[q->n++] = t;
        if (!kiln_mul_i64(c, k, &qk) || __builtin_sub_overflow(p->t[i].coef, qk, &t.coef)) {
            x->fail = true;
            return NULL;
        }
        if (t.coef)
            r->t[r->n++] = t;
    }
    const struct dx_poly *qq = dx_finish(x, q);
    if (!r->n) /* 0 <= R < k */
        return qq;
    /* a common factor of R and k cancels */
    int64_t g = dx_gcd(k, r->c);
    for (int i = 0; i < r->n; i++)
        g = dx_gcd(g, r->t[i].coef);
    if (g > 1) {
        r->c /= g;
        for (int i = 0; i < r->n; i++)
            r->t[i].coef /= g;
        k /= g;
    }
    const struct dx_poly *rr = dx_finish(x, r);
    if (!rr)
        return NULL;
    if (k == 1)
        return dx_add(x, qq, rr, 1);
    /* floor((floor(X / a) + c) / k) = floor((X + a*c) / (a*k)) */
    if (r->n == 1 && r->t[0].coef == 1 && r->t[0].n == 1 && r->t[0].a[0]->kind == 'F') {
        const struct dx_atom *in = r->t[0].a[0];
        int64_t ac, ak;
        if (kiln_mul_i64(in->k, r->c, &ac) && kiln_mul_i64(in->k, k, &ak))
            return dx_add(x, qq, dx_floor(x, dx_add(x, in->p, dx_const(x, ac), 1), ak, depth + 1),
                          1);
    }
    return dx_add(x, qq, dx_of_atom(x, dx_atom_new(x, 'F', k, NULL, 0, rr, NULL)), 1);
}

/* Whether p >= 0 for every value of its symbols (each >= 0): nonnegative
 * coefficients over atoms that are themselves nonnegative. */
static bool
dx_nonneg(const struct dx_poly *p, int depth)
{
    if (p->c < 0 || depth > DX_MAX_DEPTH)
        return false;
    for (int i = 0; i < p->n; i++) {
        if (p->t[i].coef < 0)
            return false;
        for (int j = 0; j < p->t[i].n; j++) {
            const struct dx_atom *at = p->t[i].a[j];
            if (at->kind == 'F' && !dx_nonneg(at->p, depth + 1))
                return false;
            if (at->kind == 'm' && !(dx_nonneg(at->p, depth + 1) && dx_nonneg(at->q, depth + 1)))
                return false;
            if (at->kind == 'M' && !(dx_nonneg(at->p, depth + 1) || dx_nonneg(at->q, depth + 1)))
                return false;
        }
    }
    return true;
}

/* min (kind 'm') or max ('M') of p and q. */
static const struct dx_poly *
dx_minmax(struct dx *x, char kind, const struct dx_poly *p, const struct dx_poly *q)
{
    if (x->fail || !p || !q)
        return NULL;
    const struct dx_poly *d = dx_add(x, p, q, -1);
    if (!d)
        return NULL;
    if (d->n == 0)
        return (d->c >= 0) == (kind == 'M') ? p : q;
    if (dx_nonneg(d, 0))
        return kind == 'M' ? p : q;
    const struct dx_poly *e = dx_add(x, q, p, -1);
    if (e && dx_nonneg(e, 0))
        return kind == 'M' ? q : p;
    if (dx_keycmp(p->key, p->klen, q->key, q->klen) > 0) {
        const struct dx_poly *t = p;
        p = q;
        q = t;
    }
    return dx_of_atom(x, dx_atom_new(x, kind, 0, NULL, 0, p, q));
}

/* ---- decoding */

struct dx_in {
    const char *s, *end;
};

static bool
dx_read_int(struct dx_in *in, int64_t *v)
{
    const char *p = in->s;
    bool neg = p < in->end && *p == '-';
    p += neg;
    if (p == in->end || *p < '0' || *p > '9')
        return false;
    uint64_t u = 0;
    for (; p < in->end && *p >= '0' && *p <= '9'; p++) {
        if (u > (UINT64_MAX - 9) / 10)
            return false;
        u = u * 10 + (uint64_t)(*p - '0');
    }
    if (u > (uint64_t)INT64_MAX + neg)
        return false;
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    in->s = p;
    return true;
}

static const struct dx_poly *dx_read_poly(struct dx *x, struct dx_in *in, int depth);

static const struct dx_atom *
dx_read_atom(struct dx *x, struct dx_in *in, int depth)
{
    if (in->s == in->end)
        return NULL;
    char kind = *in->s++;
    if (kind == 'S') {
        const char *e = memchr(in->s, KILN_DIM_SEP, (size_t)(in->end - in->s));
        if (!e || e == in->s)
            return NULL;
        const char *name = in->s;
        in->s = e + 1;
        return dx_atom_new(x, 'S', 0, name, (size_t)(e - name), NULL, NULL);
    }
    int64_t k = 0;
    if (kind == 'F' && !dx_read_int(in, &k))
        return NULL;
    if (kind != 'F' && kind != 'm' && kind != 'M')
        return NULL;
    const struct dx_poly *p = dx_read_poly(x, in, depth + 1);
    const struct dx_poly *q = kind != 'F' && p ? dx_read_poly(x, in, depth + 1) : NULL;
    if (!p || (kind != 'F' && !q))
        return NULL;
    return dx_atom_new(x, kind, k, NULL, 0, p, q);
}

static const struct dx_poly *
dx_read_poly(struct dx *x, struct dx_in *in, int depth)
{
    if (depth > DX_MAX_DEPTH || in->s == in->end || *in->s != '(')
        return NULL;
    in->s++;
    struct dx_poly *p = dx_new(x, DX_MAX_TERMS);
    if (!p || !dx_read_int(in, &p->c))
        return NULL;
    while (in->s < in->end && *in->s == ';') {
        in->s++;
        if (p->n == DX_MAX_TERMS)
            return NULL;
        struct dx_term *t = &p->t[p->n++];
        if (!dx_read_int(in, &t->coef))
            return NULL;
        while (in->s < in->end && *in->s != ';' && *in->s != ')') {
            if (t->n == DX_MAX_ATOMS)
                return NULL;
            if (!(t->a[t->n++] = dx_read_atom(x, in, depth)))
                return NULL;
        }
    }
    if (in->s == in->end || *in->s != ')')
        return NULL;
    in->s++;
    return dx_finish(x, p);
}

/* The polynomial of a dim; NULL for an unknown dim (or a malformed one). */
static const struct dx_poly *
dx_of_dim(struct dx *x, struct kiln_dim d)
{
    if (kiln_dim_is_unknown(d))
        return NULL;
    if (!d.sym)
        return dx_const(x, d.n);
    if (d.sym[0] == KILN_DIM_EXPR) {
        struct dx_in in = {d.sym + 1, d.sym + strlen(d.sym)};
        const struct dx_poly *p = dx_read_poly(x, &in, 0);
        return p && in.s == in.end ? p : NULL;
    }
    struct dim_factor f[KILN_DIM_MAX_FACTORS];
    int n = dim_split(d.sym, f, KILN_DIM_MAX_FACTORS);
    if (n < 0 || n > DX_MAX_ATOMS)
        return NULL;
    struct dx_poly *p = dx_new(x, 1);
    if (!p)
        return NULL;
    p->n = 1;
    p->t[0].coef = d.n;
    for (int i = 0; i < n; i++)
        if (!(p->t[0].a[p->t[0].n++] = dx_atom_new(x, 'S', 0, f[i].s, f[i].len, NULL, NULL)))
            return NULL;
    qsort(p->t[0].a, (size_t)n, sizeof p->t[0].a[0], dx_atom_cmp);
    return dx_finish(x, p);
}

/* The dim of a polynomial: an integer, a monomial or an expression (interned
 * when a is NULL, else in a). Unknown on failure. */
static struct kiln_dim
dx_to_dim(struct dx *x, const struct dx_poly *p, struct kiln_arena *a)
{
    if (x->fail || !p)
        return kiln_dim_unknown();
    if (p->n == 0)
        return p->c == KILN_DIM_UNKNOWN ? kiln_dim_unknown() : kiln_dim_const(p->c);
    if (p->c == 0 && p->n == 1 && p->t[0].coef >= 1) {
        bool syms = true;
        for (int i = 0; i < p->t[0].n && syms; i++)
            syms = p->t[0].a[i]->kind == 'S';
        if (syms) {
            struct dim_factor f[DX_MAX_ATOMS];
            for (int i = 0; i < p->t[0].n; i++)
                f[i] = (struct dim_factor){p->t[0].a[i]->name, p->t[0].a[i]->len};
            return dim_build(p->t[0].coef, f, p->t[0].n, a);
        }
    }
    if (p->klen + 1 > KILN_DIM_MAX_SYM)
        return kiln_dim_unknown();
    char buf[KILN_DIM_MAX_SYM + 1];
    buf[0] = KILN_DIM_EXPR;
    memcpy(buf + 1, p->key, p->klen);
    const char *s = a ? kiln_arena_strndup(a, buf, p->klen + 1) : kiln_dim_intern(buf, p->klen + 1);
    return s ? (struct kiln_dim){1, s} : kiln_dim_unknown();
}

static bool
dx_begin(struct dx *x)
{
    x->fail = false;
    x->a = kiln_arena_new();
    return x->a != NULL;
}

static struct kiln_dim
dx_end(struct dx *x, const struct dx_poly *p, struct kiln_arena *a)
{
    struct kiln_dim d = dx_to_dim(x, p, a);
    kiln_arena_free(x->a);
    return d;
}

/* op applied to a and b: '+', '-', '*', 'm' (min), 'M' (max). */
static struct kiln_dim
dx_binary(char op, struct kiln_dim a, struct kiln_dim b)
{
    struct dx x;
    if (!dx_begin(&x))
        return kiln_dim_unknown();
    const struct dx_poly *p = dx_of_dim(&x, a), *q = dx_of_dim(&x, b), *r = NULL;
    if (p && q) {
        if (op == '+' || op == '-')
            r = dx_add(&x, p, q, op == '+' ? 1 : -1);
        else if (op == '*')
            r = dx_mul(&x, p, q);
        else
            r = dx_minmax(&x, op, p, q);
    }
    return dx_end(&x, r, NULL);
}

bool
kiln_dim_is_expr(struct kiln_dim d)
{
    return d.sym && d.sym[0] == KILN_DIM_EXPR;
}

struct kiln_dim
kiln_dim_sub(struct kiln_dim a, struct kiln_dim b)
{
    if (kiln_dim_is_int(a) && kiln_dim_is_int(b)) {
        int64_t r;
        return __builtin_sub_overflow(a.n, b.n, &r) || r == KILN_DIM_UNKNOWN ? kiln_dim_unknown()
                                                                             : kiln_dim_const(r);
    }
    if (kiln_dim_is_int(b) && b.n == 0)
        return a;
    return dx_binary('-', a, b);
}

struct kiln_dim
kiln_dim_min(struct kiln_dim a, struct kiln_dim b)
{
    if (kiln_dim_is_int(a) && kiln_dim_is_int(b))
        return a.n < b.n ? a : b;
    return dx_binary('m', a, b);
}

struct kiln_dim
kiln_dim_max(struct kiln_dim a, struct kiln_dim b)
{
    if (kiln_dim_is_int(a) && kiln_dim_is_int(b))
        return a.n > b.n ? a : b;
    return dx_binary('M', a, b);
}

struct kiln_dim
kiln_dim_floordiv(struct kiln_dim a, int64_t k)
{
    if (k < 1 || kiln_dim_is_unknown(a))
        return kiln_dim_unknown();
    if (kiln_dim_is_int(a))
        return kiln_dim_const(dx_floordiv_i(a.n, k));
    if (k == 1)
        return a;
    struct dx x;
    if (!dx_begin(&x))
        return kiln_dim_unknown();
    return dx_end(&x, dx_floor(&x, dx_of_dim(&x, a), k, 0), NULL);
}

struct kiln_dim
kiln_dim_ceildiv(struct kiln_dim a, int64_t k)
{
    if (k < 1)
        return kiln_dim_unknown();
    return kiln_dim_floordiv(kiln_dim_add_int(a, k - 1), k);
}

struct kiln_dim
kiln_dim_add_int(struct kiln_dim a, int64_t c)
{
    if (kiln_dim_is_int(a)) {
        int64_t r;
        return kiln_add_i64(a.n, c, &r) && r != KILN_DIM_UNKNOWN ? kiln_dim_const(r)
                                                                 : kiln_dim_unknown();
    }
    if (c == INT64_MIN || c == KILN_DIM_UNKNOWN)
        return kiln_dim_unknown();
    return c >= 0 ? kiln_dim_add(a, kiln_dim_const(c)) : kiln_dim_sub(a, kiln_dim_const(-c));
}

bool
kiln_dim_nonneg(struct kiln_dim d)
{
    if (kiln_dim_is_unknown(d))
        return false;
    if (!kiln_dim_is_expr(d))
        return d.n >= 0;
    struct dx x;
    if (!dx_begin(&x))
        return false;
    const struct dx_poly *p = dx_of_dim(&x, d);
    bool r = p && dx_nonneg(p, 0);
    kiln_arena_free(x.a);
    return r;
}

/* Substitute value for sym in p; NULL on failure. */
static const struct dx_poly *
dx_subst(struct dx *x, const struct dx_poly *p, const char *sym, size_t len, int64_t value,
         bool *hit, int depth)
{
    if (!p || depth > DX_MAX_DEPTH)
        return NULL;
    const struct dx_poly *r = dx_const(x, p->c);
    for (int i = 0; i < p->n && r; i++) {
        const struct dx_poly *t = dx_const(x, p->t[i].coef);
        for (int j = 0; j < p->t[i].n && t; j++) {
            const struct dx_atom *at = p->t[i].a[j];
            const struct dx_poly *f;
            if (at->kind == 'S') {
                bool h = at->len == len && memcmp(at->name, sym, len) == 0;
                *hit |= h;
                f = h ? dx_const(x, value) : dx_of_atom(x, at);
            } else if (at->kind == 'F') {
                f = dx_floor(x, dx_subst(x, at->p, sym, len, value, hit, depth + 1), at->k, 0);
            } else {
                f = dx_minmax(x, at->kind, dx_subst(x, at->p, sym, len, value, hit, depth + 1),
                              dx_subst(x, at->q, sym, len, value, hit, depth + 1));
            }
            t = dx_mul(x, t, f);
        }
        r = dx_add(x, r, t, 1);
    }
    return r;
}

/*
 * a / b exactly, where b is one term k * B (a constant, a monomial or a
 * one-term expression such as 82*N*floor(W/8)): every term of a has a
 * coefficient k divides and holds the atoms of B, and a has no constant
 * term unless B is a constant.
 */
static bool
dx_div_dim(struct kiln_dim a, struct kiln_dim b, struct kiln_dim *out)
{
    struct dx x;
    if (!dx_begin(&x))
        return false;
    const struct dx_poly *p = dx_of_dim(&x, a), *q = dx_of_dim(&x, b);
    bool ok = p && q && ((q->n == 0 && q->c >= 1) || (q->n == 1 && q->c == 0 && q->t[0].coef >= 1));
    int64_t k = ok ? (q->n ? q->t[0].coef : q->c) : 1;
    struct dx_poly *r = ok ? dx_new(&x, p->n) : NULL;
    ok = ok && r && p->c % k == 0 && (q->n == 0 || p->c == 0);
    if (ok)
        r->c = p->c / k;
    for (int i = 0; ok && i < p->n; i++) {
        struct dx_term t = p->t[i];
        ok = t.coef % k == 0;
        t.coef /= k;
        /* remove B's atoms from t (both sorted by key) */
        int keep = 0, j = 0, nb = q->n ? q->t[0].n : 0;
        for (int m = 0; ok && m < p->t[i].n; m++) {
            int c = j < nb ? dx_atom_cmp(&p->t[i].a[m], &q->t[0].a[j]) : -1;
            if (c > 0)
                ok = false;
            else if (c == 0)
                j++;
            else
                t.a[keep++] = p->t[i].a[m];
        }
        ok = ok && j == nb;
        t.n = keep;
        if (ok && t.n == 0) { /* a constant term of the quotient */
            ok = kiln_add_i64(r->c, t.coef, &r->c);
            continue;
        }
        if (ok)
            r->t[r->n++] = t;
    }
    struct kiln_dim d = ok ? dx_to_dim(&x, dx_add(&x, dx_const(&x, 0), dx_finish(&x, r), 1), NULL)
                           : kiln_dim_unknown();
    kiln_arena_free(x.a);
    if (kiln_dim_is_unknown(d))
        return false;
    *out = d;
    return true;
}

static bool
dx_subst_dim(struct kiln_dim d, const char *sym, int64_t value, struct kiln_arena *a,
             struct kiln_dim *out)
{
    struct dx x;
    if (!dx_begin(&x))
        return false;
    bool hit = false;
    const struct dx_poly *p =
        dx_subst(&x, dx_of_dim(&x, d), sym, strlen(sym), value < 0 ? 0 : value, &hit, 0);
    if (hit)
        *out = value < 0 ? kiln_dim_unknown() : dx_to_dim(&x, p, a);
    kiln_arena_free(x.a);
    return hit;
}

/* ---- trees for code generators */

static const struct kiln_dim_tree *
tree_new(struct kiln_arena *a, enum kiln_dim_tree_op op, int64_t k, int n)
{
    struct kiln_dim_tree *t = kiln_arena_alloc(a, sizeof *t);
    const struct kiln_dim_tree **args = n ? kiln_arena_array(a, (size_t)n, sizeof *args) : NULL;
    if (!t || (n && !args))
        return NULL;
    t->op = op;
    t->k = k;
    t->n = n;
    t->args = args;
    return t;
}

static const struct kiln_dim_tree *tree_of_poly(struct kiln_arena *a, const struct dx_poly *p);

static const struct kiln_dim_tree *
tree_of_atom(struct kiln_arena *a, const struct dx_atom *at)
{
    if (at->kind == 'S') {
        struct kiln_dim_tree *t = (struct kiln_dim_tree *)tree_new(a, KILN_DIM_TREE_SYM, 0, 0);
        if (t) {
            t->sym = at->name;
            t->len = at->len;
        }
        return t;
    }
    enum kiln_dim_tree_op op = at->kind == 'F'   ? KILN_DIM_TREE_FLOOR_DIV
                               : at->kind == 'm' ? KILN_DIM_TREE_MIN
                                                 : KILN_DIM_TREE_MAX;
    const struct kiln_dim_tree *t = tree_new(a, op, at->k, at->kind == 'F' ? 1 : 2);
    if (!t)
        return NULL;
    ((struct kiln_dim_tree *)t)->nonneg = at->kind == 'F' && dx_nonneg(at->p, 0);
    const struct kiln_dim_tree **args = (const struct kiln_dim_tree **)t->args;
    if (!(args[0] = tree_of_poly(a, at->p)))
        return NULL;
    if (at->kind != 'F' && !(args[1] = tree_of_poly(a, at->q)))
        return NULL;
    return t;
}

static const struct kiln_dim_tree *
tree_of_poly(struct kiln_arena *a, const struct dx_poly *p)
{
    int n = p->n + (p->c != 0 || p->n == 0);
    const struct kiln_dim_tree *sum = n > 1 ? tree_new(a, KILN_DIM_TREE_ADD, 0, n) : NULL;
    if (n > 1 && !sum)
        return NULL;
    const struct kiln_dim_tree *one = NULL;
    for (int i = 0; i < p->n; i++) {
        const struct dx_term *t = &p->t[i];
        int m = t->n + (t->coef != 1);
        const struct kiln_dim_tree *prod = m > 1 ? tree_new(a, KILN_DIM_TREE_MUL, 0, m) : NULL;
        if (m > 1 && !prod)
            return NULL;
        int k = 0;
        const struct kiln_dim_tree *f = NULL;
        if (t->coef != 1) {
            f = tree_new(a, KILN_DIM_TREE_INT, t->coef, 0);
            if (!f)
                return NULL;
            if (prod)
                ((const struct kiln_dim_tree **)prod->args)[k++] = f;
        }
        for (int j = 0; j < t->n; j++) {
            f = tree_of_atom(a, t->a[j]);
            if (!f)
                return NULL;
            if (prod)
                ((const struct kiln_dim_tree **)prod->args)[k++] = f;
        }
        one = prod ? prod : f;
        if (sum)
            ((const struct kiln_dim_tree **)sum->args)[i] = one;
    }
    if (p->c != 0 || p->n == 0) {
        one = tree_new(a, KILN_DIM_TREE_INT, p->c, 0);
        if (!one)
            return NULL;
        if (sum)
            ((const struct kiln_dim_tree **)sum->args)[n - 1] = one;
    }
    return sum ? sum : one;
}

const struct kiln_dim_tree *
kiln_dim_tree(struct kiln_dim d, struct kiln_arena *a)
{
    struct dx x;
    if (kiln_dim_is_unknown(d) || !dx_begin(&x))
        return NULL;
    /* the tree's symbols point into d.sym, which outlives it; the scratch
     * arena's keys are not referenced */
    const struct dx_poly *p = dx_of_dim(&x, d);
    const struct kiln_dim_tree *t = p ? tree_of_poly(a, p) : NULL;
    kiln_arena_free(x.a);
    return t;
}

/* ---- printing */

static size_t dx_format_poly(const struct dx_poly *p, char *buf, size_t len, size_t k);

static size_t
dx_format_atom(const struct dx_atom *at, char *buf, size_t len, size_t k)
{
    if (at->kind == 'S') {
        struct dim_factor f = {at->name, at->len};
        return factor_format(&f, buf, len, k);
    }
    if (at->kind == 'F') {
        bool paren = at->p->n + (at->p->c != 0) > 1 ||
                     (at->p->n == 1 && (at->p->t[0].n > 1 || at->p->t[0].coef != 1));
        k = emit(buf, len, k, "floor(%s", paren ? "(" : "");
        k = dx_format_poly(at->p, buf, len, k);
        return emit(buf, len, k, "%s/%lld)", paren ? ")" : "", (long long)at->k);
    }
    k = emit(buf, len, k, "%s(", at->kind == 'm' ? "min" : "max");
    k = dx_format_poly(at->p, buf, len, k);
    k = emit(buf, len, k, ", ");
    k = dx_format_poly(at->q, buf, len, k);
    return emit(buf, len, k, ")");
}

/* Terms in their canonical order, the constant last: `floor((W + 1)/2) + 1`. */
static size_t
dx_format_poly(const struct dx_poly *p, char *buf, size_t len, size_t k)
{
    for (int i = 0; i < p->n; i++) {
        int64_t c = p->t[i].coef;
        uint64_t mag = c < 0 ? 0 - (uint64_t)c : (uint64_t)c;
        if (i)
            k = emit(buf, len, k, c < 0 ? " - " : " + ");
        else if (c < 0)
            k = emit(buf, len, k, "-");
        if (mag != 1)
            k = emit(buf, len, k, "%llu*", (unsigned long long)mag);
        for (int j = 0; j < p->t[i].n; j++) {
            if (j)
                k = emit(buf, len, k, "*");
            k = dx_format_atom(p->t[i].a[j], buf, len, k);
        }
    }
    if (p->n == 0)
        return emit(buf, len, k, "%lld", (long long)p->c);
    if (p->c) {
        uint64_t mag = p->c < 0 ? 0 - (uint64_t)p->c : (uint64_t)p->c;
        k = emit(buf, len, k, "%s%llu", p->c < 0 ? " - " : " + ", (unsigned long long)mag);
    }
    return k;
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
    if (kiln_dim_is_expr(d)) {
        struct dx x;
        const struct dx_poly *p = dx_begin(&x) ? dx_of_dim(&x, d) : NULL;
        if (p)
            dx_format_poly(p, buf, len, 0);
        else
            emit(buf, len, 0, "?");
        if (x.a)
            kiln_arena_free(x.a);
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
