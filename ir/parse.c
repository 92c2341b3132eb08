/*
 * parse.c - the .kir parser: text (ir/IR.md) to a graph.
 *
 * Contract (text.h): accepts everything print.c writes and builds the graph
 * that printed it, so print(parse(print(g))) == print(g). Input is untrusted:
 * every error is a diagnostic "FILE:LINE:COL: error: ..." and a status, never
 * a crash; the first error stops the parse. Limits: graphs nest at most
 * KIR_MAX_DEPTH deep, ranks are at most KILN_MAX_RANK, and sizes are
 * overflow-checked. Blob references are resolved relative to the .kir file's
 * folder only (absolute paths and ".." are refused), mapped read-only once per
 * file, and checked against their declared size and FNV-1a checksum.
 *
 * The parser is recursive descent over the raw bytes with one character of
 * lookahead; whitespace and "//" comments separate tokens anywhere.
 * Complexity: linear in the text plus the blob bytes checksummed.
 */
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIR_MAX_DEPTH 64
#define KIR_MAX_TOKEN 4096 /* longest number or identifier */
#define BLOB_ALIGN 64

struct blob_file {
    const char *name;
    const unsigned char *data;
    size_t len;
    struct blob_file *next;
};

struct parser {
    const char *src, *p, *end;
    const char *path;
    struct kiln_diag *d;
    bool failed;
    int depth;
    struct kiln_graph *root;
    struct kiln_arena *a; /* root's arena once it exists; a scratch one before */
    struct blob_file *blobs;
};

static enum kiln_status __attribute__((format(printf, 3, 4)))
perr(struct parser *ps, const char *at, const char *fmt, ...)
{
    if (ps->failed)
        return KILN_ERR_INVALID;
    ps->failed = true;
    if (at < ps->src || at > ps->end)
        at = ps->p;
    int line = 1, col = 1;
    for (const char *c = ps->src; c < at; c++) {
        if (*c == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%d:%d", line, col);
    va_list ap;
    va_start(ap, fmt);
    kiln_diag_vmsg(ps->d, KILN_SEV_ERROR, prefix, fmt, ap);
    va_end(ap);
    return KILN_ERR_INVALID;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        enum kiln_status st_ = (x);                                                                \
        if (st_ != KILN_OK)                                                                        \
            return st_;                                                                            \
    } while (0)

/* ---------------------------------------------------------------- lexing */

static void
skip_ws(struct parser *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            ps->p++;
        } else if (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '/') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
        } else {
            break;
        }
    }
}

/* The next significant character, or 0 at the end. */
static char
peek(struct parser *ps)
{
    skip_ws(ps);
    return ps->p < ps->end ? *ps->p : 0;
}

static bool
accept(struct parser *ps, char c)
{
    if (peek(ps) != c)
        return false;
    ps->p++;
    return true;
}

static const char *
describe_next(struct parser *ps)
{
    static _Thread_local char buf[32];
    if (peek(ps) == 0)
        return "end of file";
    char c = *ps->p;
    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, sizeof buf, "'%c'", c);
    else
        snprintf(buf, sizeof buf, "byte 0x%02x", (unsigned char)c);
    return buf;
}

static enum kiln_status
expect(struct parser *ps, char c, const char *what)
{
    if (accept(ps, c))
        return KILN_OK;
    return perr(ps, ps->p, "expected '%c' %s, found %s", c, what, describe_next(ps));
}

static bool
is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_ident_char(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* An identifier [A-Za-z_][A-Za-z0-9_.]*; *len 0 if none here. */
static const char *
lex_ident(struct parser *ps, size_t *len)
{
    skip_ws(ps);
    const char *s = ps->p;
    if (ps->p < ps->end && is_ident_start((unsigned char)*ps->p)) {
        while (ps->p < ps->end && (is_ident_char((unsigned char)*ps->p) || *ps->p == '.'))
            ps->p++;
    }
    *len = (size_t)(ps->p - s);
    return s;
}

static bool
ident_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* Look at the identifier ahead without consuming it. */
static bool
peek_word(struct parser *ps, const char *word)
{
    const char *save = ps->p;
    size_t len;
    const char *s = lex_ident(ps, &len);
    ps->p = save;
    return ident_is(s, len, word);
}

static enum kiln_status
expect_word(struct parser *ps, const char *word)
{
    skip_ws(ps);
    const char *at = ps->p;
    size_t len;
    const char *s = lex_ident(ps, &len);
    if (ident_is(s, len, word))
        return KILN_OK;
    if (len)
        return perr(ps, at, "expected '%s', found '%.*s'", word, (int)(len > 64 ? 64 : len), s);
    return perr(ps, at, "expected '%s', found %s", word, describe_next(ps));
}

static int
hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A quoted string with escapes \" \\ \n \t \xHH, copied NUL-terminated into the arena. */
static enum kiln_status
lex_string(struct parser *ps, const char **out, size_t *out_len)
{
    if (peek(ps) != '"')
        return perr(ps, ps->p, "expected a quoted string, found %s", describe_next(ps));
    const char *start = ps->p++;
    size_t n = 0;
    /* first pass: validate and measure */
    const char *c = ps->p;
    for (;;) {
        if (c >= ps->end || *c == '\n')
            return perr(ps, start, "unterminated string");
        if (*c == '"')
            break;
        if (*c == '\\') {
            if (c + 1 >= ps->end)
                return perr(ps, start, "unterminated string");
            char e = c[1];
            if (e == 'x') {
                if (c + 3 >= ps->end || hex_digit((unsigned char)c[2]) < 0 ||
                    hex_digit((unsigned char)c[3]) < 0)
                    return perr(ps, c, "\\x needs two hex digits");
                c += 4;
            } else if (e == '"' || e == '\\' || e == 'n' || e == 't') {
                c += 2;
            } else {
                return perr(ps, c, "unknown escape '\\%c' in string",
                            e >= 0x21 && e < 0x7f ? e : '?');
            }
        } else {
            c++;
        }
        n++;
    }
    char *s = kiln_arena_alloc(ps->a, n + 1);
    if (!s)
        return perr(ps, start, "out of memory");
    size_t k = 0;
    for (c = ps->p; *c != '"';) {
        if (*c == '\\') {
            char e = c[1];
            if (e == 'x') {
                s[k++] =
                    (char)(hex_digit((unsigned char)c[2]) * 16 + hex_digit((unsigned char)c[3]));
                c += 4;
            } else {
                s[k++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
                c += 2;
            }
        } else {
            s[k++] = *c++;
        }
    }
    s[k] = 0;
    ps->p = c + 1;
    *out = s;
    if (out_len)
        *out_len = k;
    return KILN_OK;
}

/* A name after a sigil: [A-Za-z0-9_]+ or a quoted string without NUL bytes. */
static enum kiln_status
lex_name(struct parser *ps, const char **out, const char *what)
{
    if (ps->p < ps->end && *ps->p == '"') {
        size_t len;
        TRY(lex_string(ps, out, &len));
        if (len == 0 || strlen(*out) != len)
            return perr(ps, ps->p, "%s names must be non-empty and free of NUL bytes", what);
        return KILN_OK;
    }
    const char *s = ps->p;
    while (ps->p < ps->end && is_ident_char((unsigned char)*ps->p))
        ps->p++;
    if (ps->p == s)
        return perr(ps, s, "expected a %s name", what);
    char *nm = kiln_arena_strndup(ps->a, s, (size_t)(ps->p - s));
    if (!nm)
        return perr(ps, s, "out of memory");
    *out = nm;
    return KILN_OK;
}

/* ---------------------------------------------------------------- numbers */

struct number {
    const char *at;
    bool is_float; /* written with '.', an exponent, inf or nan */
    bool nan_bits_given;
    uint64_t nan_bits;
    char text[80]; /* NUL-terminated copy for strto* */
};

static enum kiln_status
lex_number(struct parser *ps, struct number *num)
{
    skip_ws(ps);
    memset(num, 0, sizeof *num);
    const char *s = ps->p, *c = ps->p;
    num->at = s;
    if (c < ps->end && (*c == '-' || *c == '+'))
        c++;
    if (ps->end - c >= 3 && memcmp(c, "inf", 3) == 0 &&
        !(c + 3 < ps->end && is_ident_char((unsigned char)c[3]))) {
        c += 3;
        num->is_float = true;
    } else if (ps->end - c >= 3 && memcmp(c, "nan", 3) == 0) {
        if (c != s)
            return perr(ps, s, "a NaN is written 'nan' or 'nan(0xBITS)', without a sign");
        c += 3;
        num->is_float = true;
        if (c < ps->end && *c == '(') {
            const char *q = c + 1;
            if (ps->end - q < 3 || q[0] != '0' || q[1] != 'x')
                return perr(ps, c, "expected 'nan(0xBITS)'");
            q += 2;
            uint64_t bits = 0;
            int digits = 0;
            while (q < ps->end && hex_digit((unsigned char)*q) >= 0) {
                if (++digits > 16)
                    return perr(ps, s, "NaN bits do not fit in 64 bits");
                bits = bits * 16 + (uint64_t)hex_digit((unsigned char)*q++);
            }
            if (!digits || q >= ps->end || *q != ')')
                return perr(ps, c, "expected 'nan(0xBITS)'");
            num->nan_bits_given = true;
            num->nan_bits = bits;
            c = q + 1;
        }
        ps->p = c;
        snprintf(num->text, sizeof num->text, "nan");
        return KILN_OK;
    } else {
        const char *digits = c;
        while (c < ps->end && *c >= '0' && *c <= '9')
            c++;
        if (c == digits)
            return perr(ps, s, "expected a number, found %s", describe_next(ps));
        if (c < ps->end && *c == '.') {
            num->is_float = true;
            c++;
            while (c < ps->end && *c >= '0' && *c <= '9')
                c++;
        }
        if (c < ps->end && (*c == 'e' || *c == 'E')) {
            num->is_float = true;
            c++;
            if (c < ps->end && (*c == '-' || *c == '+'))
                c++;
            const char *ed = c;
            while (c < ps->end && *c >= '0' && *c <= '9')
                c++;
            if (c == ed)
                return perr(ps, s, "malformed exponent in number");
        }
    }
    if (c < ps->end && is_ident_char((unsigned char)*c))
        return perr(ps, s, "malformed number");
    if ((size_t)(c - s) >= sizeof num->text)
        return perr(ps, s, "number too long");
    memcpy(num->text, s, (size_t)(c - s));
    num->text[c - s] = 0;
    ps->p = c;
    return KILN_OK;
}

static bool
number_ahead(struct parser *ps)
{
    char c = peek(ps);
    if ((c >= '0' && c <= '9') || c == '-' || c == '+')
        return true;
    return peek_word(ps, "inf") || peek_word(ps, "nan") ||
           (ps->end - ps->p >= 4 && memcmp(ps->p, "nan(", 4) == 0);
}

static enum kiln_status
number_to_i64(struct parser *ps, const struct number *num, int64_t lo, int64_t hi, int64_t *out)
{
    if (num->is_float)
        return perr(ps, num->at, "expected an integer, found '%s'", num->text);
    errno = 0;
    long long v = strtoll(num->text, NULL, 10);
    if (errno || v < lo || v > hi)
        return perr(ps, num->at, "integer %s is out of range [%lld, %lld]", num->text,
                    (long long)lo, (long long)hi);
    *out = v;
    return KILN_OK;
}

static enum kiln_status
parse_i64(struct parser *ps, int64_t lo, int64_t hi, int64_t *out)
{
    struct number num;
    TRY(lex_number(ps, &num));
    return number_to_i64(ps, &num, lo, hi, out);
}

static enum kiln_status
parse_u64(struct parser *ps, uint64_t *out)
{
    struct number num;
    TRY(lex_number(ps, &num));
    if (num.is_float || num.text[0] == '-')
        return perr(ps, num.at, "expected an unsigned integer, found '%s'", num.text);
    errno = 0;
    unsigned long long v = strtoull(num.text, NULL, 10);
    if (errno)
        return perr(ps, num.at, "integer %s is out of range", num.text);
    *out = v;
    return KILN_OK;
}

/* 0x followed by 1-16 hex digits. */
static enum kiln_status
parse_hex_u64(struct parser *ps, uint64_t *out)
{
    skip_ws(ps);
    const char *s = ps->p;
    if (ps->end - s < 3 || s[0] != '0' || s[1] != 'x')
        return perr(ps, s, "expected a hex number 0x...");
    ps->p += 2;
    uint64_t v = 0;
    int digits = 0;
    while (ps->p < ps->end && hex_digit((unsigned char)*ps->p) >= 0) {
        if (++digits > 16)
            return perr(ps, s, "hex number does not fit in 64 bits");
        v = v * 16 + (uint64_t)hex_digit((unsigned char)*ps->p++);
    }
    if (!digits)
        return perr(ps, s, "expected a hex number 0x...");
    *out = v;
    return KILN_OK;
}

static enum kiln_status
number_to_f64(struct parser *ps, const struct number *num, double *out)
{
    if (num->nan_bits_given) {
        uint64_t b = num->nan_bits;
        memcpy(out, &b, 8);
        if (!isnan(*out))
            return perr(ps, num->at, "nan(0x%llx) is not a NaN of f64", (unsigned long long)b);
        return KILN_OK;
    }
    if (strcmp(num->text, "nan") == 0) {
        uint64_t b = UINT64_C(0x7ff8000000000000);
        memcpy(out, &b, 8);
        return KILN_OK;
    }
    errno = 0;
    *out = strtod(num->text, NULL);
    return KILN_OK; /* ERANGE: strtod already gives inf or a denormal/zero, as C does */
}

static enum kiln_status
number_to_f32(struct parser *ps, const struct number *num, float *out)
{
    if (num->nan_bits_given) {
        if (num->nan_bits > UINT32_MAX)
            return perr(ps, num->at, "NaN bits too wide for f32");
        uint32_t b = (uint32_t)num->nan_bits;
        memcpy(out, &b, 4);
        if (!isnan(*out))
            return perr(ps, num->at, "nan(0x%x) is not a NaN of f32", (unsigned)b);
        return KILN_OK;
    }
    if (strcmp(num->text, "nan") == 0) {
        uint32_t b = 0x7fc00000u;
        memcpy(out, &b, 4);
        return KILN_OK;
    }
    *out = strtof(num->text, NULL);
    return KILN_OK;
}

/* f32 to IEEE half, round to nearest even. */
static uint16_t
f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, e = (x >> 23) & 0xffu, m = x & 0x7fffffu;
    if (e == 0xff)
        return (uint16_t)(sign | 0x7c00u | (m ? 0x200u | (m >> 13) : 0));
    int32_t he = (int32_t)e - 127 + 15;
    if (he >= 0x1f)
        return (uint16_t)(sign | 0x7c00u);
    if (he <= 0) {
        if (he < -10)
            return (uint16_t)sign;
        m |= 0x800000u;
        int shift = 14 - he;
        uint32_t hm = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (hm & 1)))
            hm++;
        return (uint16_t)(sign | hm);
    }
    uint32_t h = sign | (uint32_t)he << 10 | (m >> 13), rem = m & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++;
    return (uint16_t)h;
}

static uint16_t
f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

/* ---------------------------------------------------------------- types */

/* dtype name or '?' (untyped). */
static enum kiln_status
parse_dtype(struct parser *ps, enum kiln_dtype *dt, bool allow_untyped)
{
    skip_ws(ps);
    const char *at = ps->p;
    if (allow_untyped && accept(ps, '?')) {
        *dt = KILN_DT_INVALID;
        return KILN_OK;
    }
    size_t len;
    const char *s = lex_ident(ps, &len);
    if (!len)
        return perr(ps, at, "expected a dtype, found %s", describe_next(ps));
    *dt = kiln_dtype_from_name(s, len);
    if (*dt == KILN_DT_INVALID)
        return perr(ps, at, "unknown dtype '%.*s'", (int)(len > 64 ? 64 : len), s);
    return KILN_OK;
}

/*
 * A dim: a sum of terms, each a product of factors, as kiln_dim_format writes
 * it (`16*N*"seq len"`, `floor((W + 1)/2) + 1`, `min(S, 16)`):
 *   sum    := ['-'] term (('+' | '-') term)*
 *   term   := factor ('*' factor)*
 *   factor := INTEGER | SYMBOL | '(' sum ')' | 'floor' '(' sum '/' INTEGER ')'
 *           | 'min' '(' sum ',' sum ')' | 'max' '(' sum ',' sum ')'
 * Only an unquoted '*' separates factors: "2*N" (quoted) is one base symbol,
 * and floor/min/max are functions only when '(' follows. A base symbol cannot
 * be empty nor contain KILN_DIM_SEP. A term of integers and symbols only is a
 * monomial built in the graph's arena, as symbols always were; the rest goes
 * through the dim algebra (dim.c).
 */
static enum kiln_status parse_dim_sum(struct parser *ps, int depth, struct kiln_dim *out);

/* Whether the identifier word, then '(', is next. */
static bool
peek_call(struct parser *ps, const char *word)
{
    if (!peek_word(ps, word))
        return false;
    const char *save = ps->p;
    size_t len;
    lex_ident(ps, &len);
    bool call = peek(ps) == '(';
    ps->p = save;
    return call;
}

static enum kiln_status
parse_dim_call(struct parser *ps, int depth, char fn, struct kiln_dim *out)
{
    size_t len;
    const char *at = ps->p;
    lex_ident(ps, &len);
    TRY(expect(ps, '(', "after the function name"));
    struct kiln_dim a, b;
    TRY(parse_dim_sum(ps, depth + 1, &a));
    if (fn == 'F') {
        TRY(expect(ps, '/', "in floor(...)"));
        int64_t k;
        TRY(parse_i64(ps, 1, INT64_MAX, &k));
        *out = kiln_dim_floordiv(a, k);
    } else {
        TRY(expect(ps, ',', "between the operands"));
        TRY(parse_dim_sum(ps, depth + 1, &b));
        *out = fn == 'm' ? kiln_dim_min(a, b) : kiln_dim_max(a, b);
    }
    TRY(expect(ps, ')', "to close the call"));
    if (kiln_dim_is_unknown(*out))
        return perr(ps, at, "dim expression is larger than kiln's limits");
    return KILN_OK;
}

/* A term: its integer and symbol factors are gathered into a monomial (coef,
 * factors) and any other factor multiplies the result. */
static enum kiln_status
parse_dim_term(struct parser *ps, int depth, struct kiln_dim *out)
{
    const char *factors[KILN_DIM_MAX_FACTORS];
    const char *at = ps->p;
    int n = 0;
    int64_t coef = 1;
    bool have_coef = false, other = false;
    struct kiln_dim rest = kiln_dim_const(1);
    if (depth > 16)
        return perr(ps, at, "dim expression nests too deeply");
    do {
        char c = peek(ps);
        const char *f_at = ps->p;
        struct kiln_dim f;
        if (c >= '0' && c <= '9') {
            int64_t v;
            TRY(parse_i64(ps, 0, INT64_MAX, &v));
            if (!kiln_mul_i64(coef, v, &coef))
                return perr(ps, f_at, "dim coefficient overflows");
            have_coef = true;
            continue;
        }
        if (c == '(') {
            ps->p++;
            TRY(parse_dim_sum(ps, depth + 1, &f));
            TRY(expect(ps, ')', "to close the parenthesis"));
        } else if (peek_call(ps, "floor")) {
            TRY(parse_dim_call(ps, depth, 'F', &f));
        } else if (peek_call(ps, "min")) {
            TRY(parse_dim_call(ps, depth, 'm', &f));
        } else if (peek_call(ps, "max")) {
            TRY(parse_dim_call(ps, depth, 'M', &f));
        } else if (c == '"' || is_ident_start((unsigned char)c)) {
            if (n == KILN_DIM_MAX_FACTORS)
                return perr(ps, at, "a symbolic dim has more than %d factors",
                            KILN_DIM_MAX_FACTORS);
            TRY(lex_name(ps, &factors[n], "dim"));
            if (strchr(factors[n], KILN_DIM_SEP))
                return perr(ps, f_at, "dim symbols cannot contain the byte 0x1f");
            n++;
            continue;
        } else {
            return perr(ps, ps->p, "expected a dim (integer, '?' or symbol), found %s",
                        describe_next(ps));
        }
        rest = kiln_dim_mul(rest, f);
        other = true;
    } while (accept(ps, '*'));
    if (n && have_coef && coef < 1 && !other)
        return perr(ps, at, "the coefficient of a symbolic dim must be >= 1");
    if (!n && !other && coef == INT64_MAX) /* a coefficient may be INT64_MAX, a dim not */
        return perr(ps, at, "integer %lld is out of range [0, %lld]", (long long)coef,
                    (long long)(INT64_MAX - 1));
    *out = n ? kiln_dim_monomial(coef, factors, n, ps->a) : kiln_dim_const(coef);
    if (n && kiln_dim_is_unknown(*out))
        return perr(ps, at, "symbolic dim is longer than %d bytes", KILN_DIM_MAX_SYM);
    if (other)
        *out = kiln_dim_mul(*out, rest);
    if (kiln_dim_is_unknown(*out))
        return perr(ps, at, "dim expression is larger than kiln's limits");
    return KILN_OK;
}

static enum kiln_status
parse_dim_sum(struct parser *ps, int depth, struct kiln_dim *out)
{
    const char *at = ps->p;
    bool neg = accept(ps, '-');
    TRY(parse_dim_term(ps, depth, out));
    if (neg)
        *out = kiln_dim_sub(kiln_dim_const(0), *out);
    for (;;) {
        char c = peek(ps);
        if (c != '+' && c != '-')
            break;
        ps->p++;
        struct kiln_dim t;
        TRY(parse_dim_term(ps, depth, &t));
        *out = c == '+' ? kiln_dim_add(*out, t) : kiln_dim_sub(*out, t);
        if (kiln_dim_is_unknown(*out))
            return perr(ps, at, "dim expression is larger than kiln's limits");
    }
    return KILN_OK;
}

/* A value type: DTYPE[dims] or DTYPE[*]; a dim is '?' or a dim expression
 * (parse_dim_sum) that is not a negative integer. */
static enum kiln_status
parse_type(struct parser *ps, struct kiln_type *t)
{
    TRY(parse_dtype(ps, &t->dtype, true));
    TRY(expect(ps, '[', "to open the dims"));
    if (accept(ps, '*')) {
        t->rank = -1;
        t->dims = NULL;
        return expect(ps, ']', "after '[*'");
    }
    struct kiln_dim dims[KILN_MAX_RANK];
    int rank = 0;
    if (!accept(ps, ']')) {
        do {
            if (rank == KILN_MAX_RANK)
                return perr(ps, ps->p, "rank exceeds %d", KILN_MAX_RANK);
            char c = peek(ps);
            const char *at = ps->p;
            if (c == '?') {
                ps->p++;
                dims[rank++] = kiln_dim_unknown();
            } else if ((c >= '0' && c <= '9') || c == '"' || c == '(' || c == '-' ||
                       is_ident_start((unsigned char)c)) {
                TRY(parse_dim_sum(ps, 0, &dims[rank]));
                if (kiln_dim_is_int(dims[rank]) && dims[rank].n < 0)
                    return perr(ps, at, "a dim cannot be negative (%lld)", (long long)dims[rank].n);
                rank++;
            } else {
                return perr(ps, ps->p, "expected a dim (integer, '?' or symbol), found %s",
                            describe_next(ps));
            }
        } while (accept(ps, ','));
        TRY(expect(ps, ']', "to close the dims"));
    }
    t->rank = rank;
    t->dims = kiln_arena_array(ps->a, (size_t)(rank ? rank : 1), sizeof *t->dims);
    if (!t->dims)
        return perr(ps, ps->p, "out of memory");
    memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
    return KILN_OK;
}

static enum kiln_status
parse_key(struct parser *ps, const char *key)
{
    TRY(expect_word(ps, key));
    return expect(ps, '=', "after the key");
}

static enum kiln_status
parse_quant(struct parser *ps, struct kiln_value *v)
{
    struct kiln_quant *q = kiln_arena_alloc(ps->a, sizeof *q);
    if (!q)
        return perr(ps, ps->p, "out of memory");
    TRY(parse_dtype(ps, &q->storage, false));
    TRY(expect(ps, ',', "after the storage dtype"));
    int64_t axis;
    TRY(parse_key(ps, "axis"));
    TRY(parse_i64(ps, -1, KILN_MAX_RANK - 1, &axis));
    q->axis = (int)axis;
    TRY(expect(ps, ',', "after the axis"));
    TRY(parse_key(ps, "scales"));
    TRY(expect(ps, '[', "to open the scales"));
    /* count first, then fill: the text is at hand, so scan it twice */
    const char *list = ps->p;
    int64_t n = 0;
    if (!accept(ps, ']')) {
        do {
            struct number num;
            TRY(lex_number(ps, &num));
            n++;
        } while (accept(ps, ','));
        TRY(expect(ps, ']', "to close the scales"));
    }
    q->n = n;
    q->scales = kiln_arena_array(ps->a, (size_t)(n ? n : 1), sizeof *q->scales);
    q->zero_points = kiln_arena_array(ps->a, (size_t)(n ? n : 1), sizeof *q->zero_points);
    if (!q->scales || !q->zero_points)
        return perr(ps, ps->p, "out of memory");
    const char *after = ps->p;
    ps->p = list;
    for (int64_t i = 0; i < n; i++) {
        struct number num;
        TRY(lex_number(ps, &num));
        TRY(number_to_f32(ps, &num, &q->scales[i]));
        accept(ps, ',');
    }
    ps->p = after;
    TRY(expect(ps, ',', "after the scales"));
    TRY(parse_key(ps, "zero_points"));
    TRY(expect(ps, '[', "to open the zero points"));
    int64_t k = 0;
    if (!accept(ps, ']')) {
        do {
            int64_t zp;
            TRY(parse_i64(ps, INT64_MIN, INT64_MAX, &zp));
            if (k == n)
                return perr(ps, ps->p, "more zero points than scales (%lld)", (long long)n);
            q->zero_points[k++] = zp;
        } while (accept(ps, ','));
        TRY(expect(ps, ']', "to close the zero points"));
    }
    if (k != n)
        return perr(ps, ps->p, "%lld zero points for %lld scales", (long long)k, (long long)n);
    v->quant = q;
    return KILN_OK;
}

/* "AxB" with A, B decimal in [0, INT32_MAX], no spaces. */
static enum kiln_status
scan_dim_pair(struct parser *ps, char sep, int64_t *a, int64_t *b)
{
    const char *s = ps->p;
    int64_t *outs[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (k) {
            if (ps->p >= ps->end || *ps->p != sep)
                return perr(ps, s, "expected a block shape HxW");
            ps->p++;
        }
        int64_t v = 0;
        const char *d = ps->p;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            v = v * 10 + (*ps->p++ - '0');
            if (v > INT32_MAX)
                return perr(ps, s, "block size out of range");
        }
        if (ps->p == d)
            return perr(ps, s, "expected a block shape HxW");
        *outs[k] = v;
    }
    return KILN_OK;
}

static enum kiln_status
parse_sparse(struct parser *ps, struct kiln_value *v)
{
    struct kiln_sparsity *s = kiln_arena_alloc(ps->a, sizeof *s);
    if (!s)
        return perr(ps, ps->p, "out of memory");
    skip_ws(ps);
    const char *at = ps->p;
    size_t len;
    const char *w = lex_ident(ps, &len);
    if (ident_is(w, len, "csr") || ident_is(w, len, "none")) {
        s->format = w[0] == 'c' ? KILN_SPARSE_CSR : KILN_SPARSE_NONE;
    } else if (ident_is(w, len, "bsr") || ident_is(w, len, "nm")) {
        bool bsr = w[0] == 'b';
        s->format = bsr ? KILN_SPARSE_BSR : KILN_SPARSE_NM;
        int64_t h, wd;
        if (bsr) {
            /* "4x8": digits, 'x', digits, as one token */
            skip_ws(ps);
            const char *bat = ps->p;
            TRY(scan_dim_pair(ps, 'x', &h, &wd));
            if (h < 1 || wd < 1)
                return perr(ps, bat, "block sizes must be positive");
        } else {
            TRY(parse_i64(ps, 1, INT32_MAX, &h));
            TRY(expect(ps, ':', "in N:M"));
            TRY(parse_i64(ps, 1, INT32_MAX, &wd));
        }
        s->block_h = (int)h;
        s->block_w = (int)wd;
    } else {
        return perr(ps, at, "unknown sparse format (expected csr, bsr, nm or none)");
    }
    TRY(expect(ps, ',', "after the sparse format"));
    TRY(parse_key(ps, "density"));
    struct number num;
    TRY(lex_number(ps, &num));
    TRY(number_to_f64(ps, &num, &s->density));
    if (!(s->density >= 0 && s->density <= 1))
        return perr(ps, num.at, "density must be in [0, 1]");
    v->sparsity = s;
    return KILN_OK;
}

static enum kiln_status
parse_mem(struct parser *ps, struct kiln_value *v)
{
    struct kiln_mem_plan *m = kiln_arena_alloc(ps->a, sizeof *m);
    if (!m)
        return perr(ps, ps->p, "out of memory");
    int64_t first, last;
    TRY(parse_key(ps, "offset"));
    TRY(parse_i64(ps, 0, INT64_MAX, &m->offset));
    TRY(expect(ps, ',', "after the offset"));
    TRY(parse_key(ps, "size"));
    TRY(parse_i64(ps, 0, INT64_MAX, &m->size));
    TRY(expect(ps, ',', "after the size"));
    TRY(parse_key(ps, "live"));
    TRY(expect(ps, '[', "to open the live range"));
    TRY(parse_i64(ps, -1, INT32_MAX, &first));
    TRY(expect(ps, ',', "in the live range"));
    TRY(parse_i64(ps, -1, INT32_MAX, &last));
    TRY(expect(ps, ']', "to close the live range"));
    m->first = (int32_t)first;
    m->last = (int32_t)last;
    v->plan = m;
    return KILN_OK;
}

/* Zero or more " <q ...>", " <sparse ...>", " <mem ...>" suffixes. */
static enum kiln_status
parse_annotations(struct parser *ps, struct kiln_value *v)
{
    while (accept(ps, '<')) {
        skip_ws(ps);
        const char *at = ps->p;
        size_t len;
        const char *w = lex_ident(ps, &len);
        if (ident_is(w, len, "q") && !v->quant)
            TRY(parse_quant(ps, v));
        else if (ident_is(w, len, "sparse") && !v->sparsity)
            TRY(parse_sparse(ps, v));
        else if (ident_is(w, len, "mem") && !v->plan)
            TRY(parse_mem(ps, v));
        else if (ident_is(w, len, "q") || ident_is(w, len, "sparse") || ident_is(w, len, "mem"))
            return perr(ps, at, "annotation '%.*s' given twice", (int)len, w);
        else
            return perr(ps, at, "unknown annotation (expected q, sparse or mem)");
        TRY(expect(ps, '>', "to close the annotation"));
    }
    return KILN_OK;
}

/* ---------------------------------------------------------------- tensors */

static enum kiln_status
blob_map(struct parser *ps, const char *at, const char *name, struct blob_file **out)
{
    for (struct blob_file *b = ps->blobs; b; b = b->next) {
        if (strcmp(b->name, name) == 0) {
            *out = b;
            return KILN_OK;
        }
    }
    if (name[0] == '/' || !name[0])
        return perr(ps, at, "blob file '%s': only paths relative to the .kir file are allowed",
                    name);
    for (const char *c = name; *c;) {
        const char *e = strchr(c, '/');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        if (len == 2 && c[0] == '.' && c[1] == '.')
            return perr(ps, at, "blob file '%s': '..' is not allowed in blob paths", name);
        c += len + (e ? 1 : 0);
    }
    const char *slash = strrchr(ps->path, '/');
    size_t dir = slash ? (size_t)(slash - ps->path) + 1 : 0;
    size_t need = dir + strlen(name) + 1;
    char *full = malloc(need);
    if (!full)
        return perr(ps, at, "out of memory");
    memcpy(full, ps->path, dir);
    strcpy(full + dir, name);
    int fd = open(full, O_RDONLY);
    if (fd < 0) {
        perr(ps, at, "cannot open blob file '%s': %s", full, strerror(errno));
        free(full);
        return KILN_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        perr(ps, at, "blob file '%s' is not a regular file", full);
        free(full);
        return KILN_ERR_IO;
    }
    free(full);
    struct blob_file *b = kiln_arena_alloc(ps->a, sizeof *b);
    if (!b) {
        close(fd);
        return perr(ps, at, "out of memory");
    }
    b->name = kiln_arena_strdup(ps->a, name);
    b->len = (size_t)st.st_size;
    if (b->len) {
        void *m = mmap(NULL, b->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            perr(ps, at, "cannot map blob file '%s': %s", name, strerror(errno));
            return KILN_ERR_IO;
        }
        kiln_graph_add_mapping(ps->root, m, b->len);
        b->data = m;
    }
    close(fd);
    b->next = ps->blobs;
    ps->blobs = b;
    *out = b;
    return KILN_OK;
}

static enum kiln_status
parse_dense(struct parser *ps, struct kiln_tensor *t, int64_t numel)
{
    /* Each element takes at least one character and a comma: a type that
     * promises more than the text can hold is refused before its buffer is
     * allocated (found by fuzzing: dense<[3, -4]> typed i64[2^37] asked for
     * a terabyte). */
    if (numel > 0 && (uint64_t)(numel - 1) > (uint64_t)(ps->end - ps->p) / 2)
        return perr(ps, ps->p, "dense<> for %lld elements, but only %lld bytes of text remain",
                    (long long)numel, (long long)(ps->end - ps->p));
    unsigned char *buf = kiln_arena_alloc(ps->a, t->nbytes ? (size_t)t->nbytes : 1);
    if (!buf)
        return perr(ps, ps->p, "out of memory");
    TRY(expect(ps, '[', "to open the elements"));
    int64_t i = 0;
    if (!accept(ps, ']')) {
        do {
            skip_ws(ps);
            const char *at = ps->p;
            if (i == numel)
                return perr(ps, at, "more than %lld elements for the type", (long long)numel);
            if (t->dtype == KILN_DT_BOOL) {
                size_t len;
                const char *w = lex_ident(ps, &len);
                if (ident_is(w, len, "true"))
                    buf[i] = 1;
                else if (ident_is(w, len, "false"))
                    buf[i] = 0;
                else
                    return perr(ps, at, "expected true or false");
                i++;
                continue;
            }
            struct number num;
            TRY(lex_number(ps, &num));
            switch (t->dtype) {
            case KILN_DT_F32: {
                float f;
                TRY(number_to_f32(ps, &num, &f));
                memcpy(buf + i * 4, &f, 4);
                break;
            }
            case KILN_DT_F64: {
                double x;
                TRY(number_to_f64(ps, &num, &x));
                memcpy(buf + i * 8, &x, 8);
                break;
            }
            case KILN_DT_F16:
            case KILN_DT_BF16: {
                uint16_t h;
                if (num.nan_bits_given) {
                    if (num.nan_bits > 0xffff)
                        return perr(ps, at, "NaN bits too wide for %s", kiln_dtype_name(t->dtype));
                    h = (uint16_t)num.nan_bits;
                    bool nan = t->dtype == KILN_DT_F16 ? (h & 0x7c00) == 0x7c00 && (h & 0x3ff)
                                                       : (h & 0x7f80) == 0x7f80 && (h & 0x7f);
                    if (!nan)
                        return perr(ps, at, "nan(0x%x) is not a NaN of %s", h,
                                    kiln_dtype_name(t->dtype));
                } else if (strcmp(num.text, "nan") == 0) {
                    h = t->dtype == KILN_DT_F16 ? 0x7e00 : 0x7fc0;
                } else {
                    float f = strtof(num.text, NULL);
                    h = t->dtype == KILN_DT_F16 ? f32_to_f16(f) : f32_to_bf16(f);
                }
                memcpy(buf + i * 2, &h, 2);
                break;
            }
            case KILN_DT_U64: {
                if (num.is_float || num.text[0] == '-')
                    return perr(ps, at, "expected an unsigned integer, found '%s'", num.text);
                errno = 0;
                unsigned long long x = strtoull(num.text, NULL, 10);
                if (errno)
                    return perr(ps, at, "integer %s is out of range for u64", num.text);
                uint64_t u = x;
                memcpy(buf + i * 8, &u, 8);
                break;
            }
            default: {
                int64_t lo, hi;
                int bits = kiln_dtype_bits(t->dtype);
                if (kiln_dtype_flags(t->dtype) & KILN_DTF_SIGNED) {
                    hi = bits == 64 ? INT64_MAX : (INT64_C(1) << (bits - 1)) - 1;
                    lo = -hi - 1;
                } else {
                    lo = 0;
                    hi = (INT64_C(1) << bits) - 1;
                }
                int64_t x = 0;
                TRY(number_to_i64(ps, &num, lo, hi, &x));
                /* little-endian two's complement of the element width */
                for (int k = 0; k < bits / 8; k++)
                    buf[i * (bits / 8) + k] = (unsigned char)((uint64_t)x >> (8 * k));
                break;
            }
            }
            i++;
        } while (accept(ps, ','));
        TRY(expect(ps, ']', "to close the elements"));
    }
    if (i != numel)
        return perr(ps, ps->p, "%lld elements for a type of %lld", (long long)i, (long long)numel);
    t->data = buf;
    return KILN_OK;
}

/* The payload of a constant whose dtype and dims are set in t. */
static enum kiln_status
parse_payload(struct parser *ps, struct kiln_tensor *t)
{
    int64_t numel = kiln_tensor_numel(t);
    if (numel < 0 || !kiln_dtype_storage_bytes(t->dtype, numel, &t->nbytes))
        return perr(ps, ps->p, "tensor size overflows");
    skip_ws(ps);
    const char *at = ps->p;
    size_t len;
    const char *w = lex_ident(ps, &len);
    bool storage = kiln_dtype_flags(t->dtype) & KILN_DTF_STORAGE;
    if (ident_is(w, len, "dense")) {
        if (storage)
            return perr(ps, at, "%s is a storage-only dtype: write its bytes as hex<\"...\">",
                        kiln_dtype_name(t->dtype));
        TRY(expect(ps, '<', "after 'dense'"));
        TRY(parse_dense(ps, t, numel));
    } else if (ident_is(w, len, "hex")) {
        TRY(expect(ps, '<', "after 'hex'"));
        const char *hat = (skip_ws(ps), ps->p);
        const char *s;
        size_t slen;
        TRY(lex_string(ps, &s, &slen));
        if (slen != 2 * t->nbytes)
            return perr(ps, hat, "hex<> holds %zu digits; the type needs %llu bytes", slen,
                        (unsigned long long)t->nbytes);
        unsigned char *buf = kiln_arena_alloc(ps->a, t->nbytes ? (size_t)t->nbytes : 1);
        if (!buf)
            return perr(ps, hat, "out of memory");
        for (uint64_t i = 0; i < t->nbytes; i++) {
            int hi = hex_digit((unsigned char)s[2 * i]),
                lo = hex_digit((unsigned char)s[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return perr(ps, hat, "hex<> holds a non-hex character");
            buf[i] = (unsigned char)(hi * 16 + lo);
        }
        t->data = buf;
    } else if (ident_is(w, len, "blob")) {
        TRY(expect(ps, '<', "after 'blob'"));
        skip_ws(ps);
        const char *nat = ps->p;
        const char *name;
        size_t nlen;
        TRY(lex_string(ps, &name, &nlen));
        if (strlen(name) != nlen)
            return perr(ps, nat, "blob file names cannot hold NUL bytes");
        uint64_t off, size, sum;
        TRY(expect(ps, ',', "after the blob file"));
        TRY(parse_key(ps, "offset"));
        const char *oat = (skip_ws(ps), ps->p);
        TRY(parse_u64(ps, &off));
        TRY(expect(ps, ',', "after the offset"));
        TRY(parse_key(ps, "size"));
        const char *sat = (skip_ws(ps), ps->p);
        TRY(parse_u64(ps, &size));
        TRY(expect(ps, ',', "after the size"));
        TRY(parse_key(ps, "fnv1a"));
        TRY(parse_hex_u64(ps, &sum));
        if (size != t->nbytes)
            return perr(ps, sat, "blob size %llu does not match the type's %llu bytes",
                        (unsigned long long)size, (unsigned long long)t->nbytes);
        if (off % BLOB_ALIGN)
            return perr(ps, oat, "blob offset %llu is not a multiple of %d",
                        (unsigned long long)off, BLOB_ALIGN);
        struct blob_file *b = NULL;
        TRY(blob_map(ps, nat, name, &b));
        if (off > b->len || size > b->len - off)
            return perr(ps, oat, "blob bytes [%llu, +%llu) lie past the end of '%s' (%zu bytes)",
                        (unsigned long long)off, (unsigned long long)size, name, b->len);
        const unsigned char *data = size ? b->data + off : (const unsigned char *)"";
        uint64_t got = kiln_fnv1a64(data, (size_t)size);
        if (got != sum)
            return perr(ps, nat,
                        "blob checksum mismatch in '%s' at offset %llu: "
                        "expected 0x%016llx, the file has 0x%016llx",
                        name, (unsigned long long)off, (unsigned long long)sum,
                        (unsigned long long)got);
        t->data = data;
        t->checksum = sum;
    } else if (ident_is(w, len, "elided")) {
        TRY(expect(ps, '<', "after 'elided'"));
        uint64_t size;
        TRY(parse_key(ps, "size"));
        const char *sat = (skip_ws(ps), ps->p);
        TRY(parse_u64(ps, &size));
        if (size != t->nbytes)
            return perr(ps, sat, "elided size %llu does not match the type's %llu bytes",
                        (unsigned long long)size, (unsigned long long)t->nbytes);
        TRY(expect(ps, ',', "after the size"));
        TRY(parse_key(ps, "fnv1a"));
        TRY(parse_hex_u64(ps, &t->checksum));
        t->elided = true;
        t->data = NULL;
    } else {
        return perr(ps, at, "expected dense<, hex<, blob< or elided<, found %s",
                    len ? "another word" : describe_next(ps));
    }
    return expect(ps, '>', "to close the payload");
}

/* A tensor (attribute or constant): DTYPE[dims] PAYLOAD, dims concrete. */
static enum kiln_status
parse_tensor_typed(struct parser *ps, const struct kiln_type *ty, const char *at,
                   struct kiln_tensor **out)
{
    if (ty->dtype == KILN_DT_INVALID || ty->rank < 0)
        return perr(ps, at, "a tensor needs a dtype and a rank");
    struct kiln_tensor *t = kiln_arena_alloc(ps->a, sizeof *t);
    if (!t)
        return perr(ps, at, "out of memory");
    t->dtype = ty->dtype;
    t->rank = ty->rank;
    t->dims = kiln_arena_array(ps->a, (size_t)(ty->rank ? ty->rank : 1), sizeof *t->dims);
    if (!t->dims)
        return perr(ps, at, "out of memory");
    for (int i = 0; i < ty->rank; i++) {
        if (!kiln_dim_is_const(ty->dims[i]))
            return perr(ps, at, "a tensor's dims must be integers");
        t->dims[i] = ty->dims[i].n;
    }
    TRY(parse_payload(ps, t));
    *out = t;
    return KILN_OK;
}

static enum kiln_status
parse_tensor(struct parser *ps, struct kiln_tensor **out)
{
    skip_ws(ps);
    const char *at = ps->p;
    struct kiln_type ty;
    TRY(parse_type(ps, &ty));
    return parse_tensor_typed(ps, &ty, at, out);
}

/* ---------------------------------------------------------------- graphs */

static enum kiln_status parse_graph(struct parser *ps, struct kiln_graph *parent,
                                    struct kiln_graph **out);

static enum kiln_status
parse_attr_scalar(struct parser *ps, struct kiln_graph *g, struct kiln_attr *a)
{
    char c = peek(ps);
    if (c == '"') {
        a->kind = KILN_ATTR_STRING;
        return lex_string(ps, &a->s, &a->s_len);
    }
    if (c == '@') {
        a->kind = KILN_ATTR_GRAPH;
        return parse_graph(ps, g, &a->g);
    }
    if (number_ahead(ps)) {
        struct number num;
        TRY(lex_number(ps, &num));
        if (num.is_float) {
            a->kind = KILN_ATTR_FLOAT;
            return number_to_f32(ps, &num, &a->f);
        }
        a->kind = KILN_ATTR_INT;
        return number_to_i64(ps, &num, INT64_MIN, INT64_MAX, &a->i);
    }
    a->kind = KILN_ATTR_TENSOR;
    return parse_tensor(ps, &a->t);
}

static const struct {
    const char *word;
    enum kiln_attr_kind kind;
} empty_lists[] = {
    {"ints", KILN_ATTR_INTS},       {"floats", KILN_ATTR_FLOATS}, {"strings", KILN_ATTR_STRINGS},
    {"tensors", KILN_ATTR_TENSORS}, {"graphs", KILN_ATTR_GRAPHS},
};

static enum kiln_status
parse_attr_value(struct parser *ps, struct kiln_graph *g, struct kiln_attr *a)
{
    for (size_t i = 0; i < sizeof empty_lists / sizeof *empty_lists; i++) {
        if (peek_word(ps, empty_lists[i].word)) {
            size_t len;
            lex_ident(ps, &len);
            TRY(expect(ps, '[', "after the list kind"));
            TRY(expect(ps, ']', "(a typed list is only written when empty)"));
            a->kind = empty_lists[i].kind;
            a->n = 0;
            return KILN_OK;
        }
    }
    if (!accept(ps, '['))
        return parse_attr_scalar(ps, g, a);
    const char *list = ps->p;
    if (peek(ps) == ']')
        return perr(ps, ps->p,
                    "an empty list needs its kind: ints[], floats[], strings[], "
                    "tensors[] or graphs[]");
    /* first pass: count and find the element kind */
    int64_t n = 0;
    bool any_float = false;
    enum kiln_attr_kind elem = KILN_ATTR_INT;
    char c = peek(ps);
    bool numeric = number_ahead(ps);
    if (!numeric) {
        elem = c == '"' ? KILN_ATTR_STRINGS : c == '@' ? KILN_ATTR_GRAPHS : KILN_ATTR_TENSORS;
        /* non-numeric lists are parsed in one pass into a growing array */
        void **items = NULL;
        int64_t cap = 0;
        do {
            if (n == cap) {
                int64_t nc = cap ? cap * 2 : 8;
                void **ni = kiln_arena_grow(ps->a, items, (size_t)cap, (size_t)nc, sizeof *ni);
                if (!ni)
                    return perr(ps, ps->p, "out of memory");
                items = ni;
                cap = nc;
            }
            skip_ws(ps);
            const char *at = ps->p;
            if (elem == KILN_ATTR_STRINGS) {
                const char *s;
                size_t len;
                TRY(lex_string(ps, &s, &len));
                if (strlen(s) != len)
                    return perr(ps, at, "strings in a list cannot hold NUL bytes");
                items[n++] = (void *)s;
            } else if (elem == KILN_ATTR_GRAPHS) {
                if (peek(ps) != '@')
                    return perr(ps, at, "expected a graph in a list of graphs");
                struct kiln_graph *sg;
                TRY(parse_graph(ps, g, &sg));
                items[n++] = sg;
            } else {
                struct kiln_tensor *t;
                TRY(parse_tensor(ps, &t));
                items[n++] = t;
            }
        } while (accept(ps, ','));
        TRY(expect(ps, ']', "to close the list"));
        a->kind = elem;
        a->n = n;
        if (elem == KILN_ATTR_STRINGS)
            a->strings = (const char **)items;
        else if (elem == KILN_ATTR_GRAPHS)
            a->graphs = (struct kiln_graph **)items;
        else
            a->tensors = (struct kiln_tensor **)items;
        return KILN_OK;
    }
    do {
        struct number num;
        TRY(lex_number(ps, &num));
        any_float |= num.is_float;
        n++;
    } while (accept(ps, ','));
    TRY(expect(ps, ']', "to close the list"));
    const char *after = ps->p;
    ps->p = list;
    a->n = n;
    if (any_float) {
        a->kind = KILN_ATTR_FLOATS;
        a->floats = kiln_arena_array(ps->a, (size_t)n, sizeof *a->floats);
    } else {
        a->kind = KILN_ATTR_INTS;
        a->ints = kiln_arena_array(ps->a, (size_t)n, sizeof *a->ints);
    }
    if (any_float ? !a->floats : !a->ints)
        return perr(ps, list, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        struct number num;
        TRY(lex_number(ps, &num));
        if (any_float)
            TRY(number_to_f32(ps, &num, &a->floats[i]));
        else
            TRY(number_to_i64(ps, &num, INT64_MIN, INT64_MAX, &a->ints[i]));
        accept(ps, ',');
    }
    ps->p = after;
    return KILN_OK;
}

/* "{name = value, ...}" into an array sorted by name. */
static enum kiln_status
parse_attrs(struct parser *ps, struct kiln_graph *g, struct kiln_attr **out, int32_t *n_out)
{
    struct kiln_attr *attrs = NULL;
    const char **where = NULL;
    int32_t n = 0, cap = 0;
    if (!accept(ps, '}')) {
        do {
            if (n == cap) {
                if (cap >= (1 << 20))
                    return perr(ps, ps->p, "too many attributes on one node");
                int32_t nc = cap ? cap * 2 : 8;
                attrs = kiln_arena_grow(ps->a, attrs, (size_t)cap, (size_t)nc, sizeof *attrs);
                where = kiln_arena_grow(ps->a, where, (size_t)cap, (size_t)nc, sizeof *where);
                if (!attrs || !where)
                    return perr(ps, ps->p, "out of memory");
                cap = nc;
            }
            skip_ws(ps);
            where[n] = ps->p;
            struct kiln_attr *a = &attrs[n];
            TRY(lex_name(ps, &a->name, "attribute"));
            TRY(expect(ps, '=', "after the attribute name"));
            TRY(parse_attr_value(ps, g, a));
            n++;
        } while (accept(ps, ','));
        TRY(expect(ps, '}', "to close the attributes"));
    }
    /* small lists (all real ones) get the duplicate's exact position */
    for (int32_t i = 0; i < n && n <= 64; i++)
        for (int32_t j = 0; j < i; j++)
            if (strcmp(attrs[i].name, attrs[j].name) == 0)
                return perr(ps, where[i], "attribute '%s' given twice", attrs[i].name);
    *out = attrs;
    *n_out = n;
    return KILN_OK;
}

/* "%name", "$name" or "_" (absent); the value must exist in g with the right sigil. */
static enum kiln_status
parse_ref(struct parser *ps, struct kiln_graph *g, int32_t *id)
{
    char c = peek(ps);
    const char *at = ps->p;
    if (c == '_' && !(ps->p + 1 < ps->end && is_ident_char((unsigned char)ps->p[1]))) {
        ps->p++;
        *id = -1;
        return KILN_OK;
    }
    if (c != '%' && c != '$')
        return perr(ps, at, "expected a value (%%name, $name or _), found %s", describe_next(ps));
    ps->p++;
    const char *name;
    TRY(lex_name(ps, &name, "value"));
    int32_t v = kiln_graph_find_value(g, name);
    if (v < 0)
        return perr(ps, at, "unknown value '%c%s'", c, name);
    bool is_const = g->values[v]->kind == KILN_VALUE_CONST;
    if (is_const != (c == '$'))
        return perr(ps, at, "'%c%s' names a %s: write '%c%s'", c, name,
                    is_const ? "constant" : "non-constant value", is_const ? '$' : '%', name);
    *id = v;
    return KILN_OK;
}

static enum kiln_status
parse_op(struct parser *ps, enum kiln_op *op)
{
    skip_ws(ps);
    const char *at = ps->p;
    size_t len;
    const char *s = lex_ident(ps, &len);
    if (!len)
        return perr(ps, at, "expected an op name, found %s", describe_next(ps));
    enum kiln_domain dom = KILN_DOMAIN_ONNX;
    const char *name = s;
    size_t nlen = len;
    if (len > 3 && memcmp(s, "ml.", 3) == 0) {
        dom = KILN_DOMAIN_ML;
        name += 3;
        nlen -= 3;
    } else if (len > 3 && memcmp(s, "ms.", 3) == 0) {
        dom = KILN_DOMAIN_MS;
        name += 3;
        nlen -= 3;
    } else if (len > 5 && memcmp(s, "kiln.", 5) == 0) {
        dom = KILN_DOMAIN_KILN;
        name += 5;
        nlen -= 5;
    }
    char buf[128];
    if (nlen >= sizeof buf ||
        !kiln_op_lookup(dom, (memcpy(buf, name, nlen), buf[nlen] = 0, buf), op))
        return perr(ps, at, "unknown op '%.*s'", (int)(len > 100 ? 100 : len), s);
    return KILN_OK;
}

static enum kiln_status
check_arity(struct parser *ps, const char *at, enum kiln_op op, int32_t n, bool inputs)
{
    const struct kiln_op_info *oi = kiln_op_info(op);
    int lo = inputs ? oi->min_in : oi->min_out, hi = inputs ? oi->max_in : oi->max_out;
    if (n < lo || (hi >= 0 && n > hi)) {
        if (hi < 0)
            return perr(ps, at, "%s takes at least %d %s, got %d", oi->name, lo,
                        inputs ? "operands" : "results", (int)n);
        if (lo == hi)
            return perr(ps, at, "%s takes %d %s, got %d", oi->name, lo,
                        inputs ? (lo == 1 ? "operand" : "operands")
                               : (lo == 1 ? "result" : "results"),
                        (int)n);
        return perr(ps, at, "%s takes %d to %d %s, got %d", oi->name, lo, hi,
                    inputs ? "operands" : "results", (int)n);
    }
    return KILN_OK;
}

/* A growable int32 vector in the arena, for operand and result lists. */
static enum kiln_status
push_i32(struct parser *ps, int32_t **v, int32_t *n, int32_t *cap, int32_t x)
{
    if (*n == *cap) {
        if (*cap >= (1 << 24))
            return perr(ps, ps->p, "list too long");
        int32_t nc = *cap ? *cap * 2 : 8;
        int32_t *nv = kiln_arena_grow(ps->a, *v, (size_t)*cap, (size_t)nc, sizeof *nv);
        if (!nv)
            return perr(ps, ps->p, "out of memory");
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return KILN_OK;
}

static enum kiln_status
parse_loc(struct parser *ps, struct kiln_node *n)
{
    TRY(expect(ps, '(', "after 'loc'"));
    if (peek(ps) == '"') {
        const char *s;
        size_t len;
        skip_ws(ps);
        const char *at = ps->p;
        TRY(lex_string(ps, &s, &len));
        if (strlen(s) != len)
            return perr(ps, at, "node names cannot hold NUL bytes");
        n->name = s;
        if (!accept(ps, ','))
            return expect(ps, ')', "to close loc");
    }
    TRY(expect_word(ps, "fused"));
    TRY(expect(ps, '[', "after 'fused'"));
    const char **locs = NULL;
    int32_t k = 0, cap = 0;
    do {
        if (k == cap) {
            int32_t nc = cap ? cap * 2 : 4;
            if (cap >= (1 << 20))
                return perr(ps, ps->p, "too many fused locations");
            locs = kiln_arena_grow(ps->a, locs, (size_t)cap, (size_t)nc, sizeof *locs);
            if (!locs)
                return perr(ps, ps->p, "out of memory");
            cap = nc;
        }
        skip_ws(ps);
        const char *at = ps->p;
        size_t len;
        TRY(lex_string(ps, &locs[k], &len));
        if (strlen(locs[k]) != len)
            return perr(ps, at, "node names cannot hold NUL bytes");
        k++;
    } while (accept(ps, ','));
    TRY(expect(ps, ']', "to close fused[...]"));
    n->fused_locs = locs;
    n->n_fused_locs = k;
    return expect(ps, ')', "to close loc");
}

/* [results =] OP(operands) [{attrs}] [: types] [loc(...)] [body @g...] */
static enum kiln_status
parse_node(struct parser *ps, struct kiln_graph *g)
{
    const char *at = (skip_ws(ps), ps->p);
    const char **res_names = NULL;
    const char **res_at = NULL;
    int32_t n_res = 0, cap_res = 0;
    char c = peek(ps);
    if (c == '%' ||
        (c == '_' && !(ps->p + 1 < ps->end && is_ident_char((unsigned char)ps->p[1])))) {
        do {
            if (n_res == cap_res) {
                int32_t nc = cap_res ? cap_res * 2 : 4;
                if (cap_res >= (1 << 20))
                    return perr(ps, ps->p, "too many results");
                res_names = kiln_arena_grow(ps->a, res_names, (size_t)cap_res, (size_t)nc,
                                            sizeof *res_names);
                res_at =
                    kiln_arena_grow(ps->a, res_at, (size_t)cap_res, (size_t)nc, sizeof *res_at);
                if (!res_names || !res_at)
                    return perr(ps, ps->p, "out of memory");
                cap_res = nc;
            }
            skip_ws(ps);
            res_at[n_res] = ps->p;
            if (accept(ps, '%')) {
                TRY(lex_name(ps, &res_names[n_res], "value"));
                if (kiln_graph_find_value(g, res_names[n_res]) >= 0)
                    return perr(ps, res_at[n_res], "value '%%%s' is defined twice",
                                res_names[n_res]);
                for (int32_t j = 0; j < n_res; j++)
                    if (res_names[j] && strcmp(res_names[j], res_names[n_res]) == 0)
                        return perr(ps, res_at[n_res], "value '%%%s' is defined twice",
                                    res_names[n_res]);
            } else if (accept(ps, '_')) {
                res_names[n_res] = NULL;
            } else {
                return perr(ps, ps->p, "expected a result (%%name or _), found %s",
                            describe_next(ps));
            }
            n_res++;
        } while (accept(ps, ','));
        TRY(expect(ps, '=', "after the results"));
    }
    skip_ws(ps);
    const char *op_at = ps->p;
    enum kiln_op op;
    TRY(parse_op(ps, &op));
    TRY(expect(ps, '(', "to open the operands"));
    int32_t *ins = NULL, n_in = 0, cap_in = 0;
    if (!accept(ps, ')')) {
        do {
            int32_t v;
            TRY(parse_ref(ps, g, &v));
            TRY(push_i32(ps, &ins, &n_in, &cap_in, v));
        } while (accept(ps, ','));
        TRY(expect(ps, ')', "to close the operands"));
    }
    TRY(check_arity(ps, op_at, op, n_in, true));
    TRY(check_arity(ps, at, op, n_res, false));
    struct kiln_attr *attrs = NULL;
    int32_t n_attrs = 0;
    if (accept(ps, '{')) {
        TRY(parse_attrs(ps, g, &attrs, &n_attrs));
    }
    /* types of the present results */
    int32_t n_present = 0;
    for (int32_t i = 0; i < n_res; i++)
        n_present += res_names[i] != NULL;
    struct kiln_node tmp = {0};
    tmp.name = "";
    struct kiln_value *types = NULL;
    if (n_present) {
        TRY(expect(ps, ':', "before the result types"));
        types = kiln_arena_array(ps->a, (size_t)n_present, sizeof *types);
        if (!types)
            return perr(ps, ps->p, "out of memory");
        for (int32_t i = 0; i < n_present; i++) {
            if (i)
                TRY(expect(ps, ',', "between result types"));
            TRY(parse_type(ps, &types[i].type));
            TRY(parse_annotations(ps, &types[i]));
        }
    } else if (peek(ps) == ':') {
        return perr(ps, ps->p, "types given for a node without results");
    }
    if (peek_word(ps, "loc")) {
        size_t len;
        lex_ident(ps, &len);
        TRY(parse_loc(ps, &tmp));
    }
    struct kiln_graph *body = NULL;
    if (peek_word(ps, "body")) {
        size_t len;
        lex_ident(ps, &len);
        if (peek(ps) != '@')
            return perr(ps, ps->p, "expected a graph after 'body'");
        TRY(parse_graph(ps, g, &body));
    }
    if (body && !(kiln_op_info(op)->flags & KILN_OPF_FUSED))
        return perr(ps, op_at, "only fused ops have a body");
    struct kiln_node *n = kiln_graph_add_node(g, op, tmp.name, ins, n_in, res_names, n_res, ps->d);
    if (!n)
        return perr(ps, at, "cannot add the node");
    const char *dup = kiln_node_set_attrs(n, attrs, n_attrs);
    if (dup)
        return perr(ps, op_at, "attribute '%s' given twice", dup);
    n->fused_locs = tmp.fused_locs;
    n->n_fused_locs = tmp.n_fused_locs;
    n->body = body;
    int32_t k = 0;
    for (int32_t i = 0; i < n_res; i++) {
        if (n->out[i] < 0)
            continue;
        struct kiln_value *v = g->values[n->out[i]];
        v->type = types[k].type;
        v->quant = types[k].quant;
        v->sparsity = types[k].sparsity;
        v->plan = types[k].plan;
        k++;
    }
    return KILN_OK;
}

static enum kiln_status
parse_const(struct parser *ps, struct kiln_graph *g)
{
    const char *at = ps->p;
    ps->p++; /* '$' */
    const char *name;
    TRY(lex_name(ps, &name, "constant"));
    if (kiln_graph_find_value(g, name) >= 0)
        return perr(ps, at, "value '$%s' is defined twice", name);
    TRY(expect(ps, '=', "after the constant's name"));
    TRY(expect_word(ps, "const"));
    skip_ws(ps);
    const char *tat = ps->p;
    struct kiln_type ty;
    struct kiln_value ann = {0};
    TRY(parse_type(ps, &ty));
    TRY(parse_annotations(ps, &ann));
    struct kiln_tensor *t;
    TRY(parse_tensor_typed(ps, &ty, tat, &t));
    int32_t id = kiln_graph_add_const(g, name, t);
    KILN_ASSERT(id >= 0);
    g->values[id]->quant = ann.quant;
    g->values[id]->sparsity = ann.sparsity;
    g->values[id]->plan = ann.plan;
    return KILN_OK;
}

static enum kiln_status
parse_params(struct parser *ps, struct kiln_graph *g)
{
    TRY(expect(ps, '(', "to open the graph's inputs"));
    if (accept(ps, ')'))
        return KILN_OK;
    do {
        skip_ws(ps);
        const char *at = ps->p;
        TRY(expect(ps, '%', "before an input name"));
        const char *name;
        TRY(lex_name(ps, &name, "input"));
        int32_t id = kiln_graph_add_input(g, name);
        if (id < 0)
            return perr(ps, at, "value '%%%s' is defined twice", name);
        TRY(expect(ps, ':', "after the input name"));
        struct kiln_value *v = g->values[id];
        skip_ws(ps);
        const char *tat = ps->p;
        TRY(parse_type(ps, &v->type));
        TRY(parse_annotations(ps, v));
        if (accept(ps, '=')) {
            TRY(parse_tensor_typed(ps, &v->type, tat, &v->data));
            if (v->type.dtype == KILN_DT_INVALID)
                return perr(ps, tat, "an input with a default needs a dtype");
        }
    } while (accept(ps, ','));
    return expect(ps, ')', "to close the graph's inputs");
}

static enum kiln_status
parse_captures(struct parser *ps, struct kiln_graph *g)
{
    TRY(expect(ps, '(', "after 'captures'"));
    do {
        skip_ws(ps);
        const char *at = ps->p;
        TRY(expect(ps, '%', "before a captured name"));
        const char *name;
        TRY(lex_name(ps, &name, "value"));
        if (!g->parent)
            return perr(ps, at, "only sub-graphs capture values");
        if (kiln_graph_find_value(g, name) >= 0)
            return perr(ps, at, "value '%%%s' is defined twice", name);
        if (kiln_graph_find_value(g->parent, name) < 0)
            return perr(ps, at, "captured value '%%%s' is not defined in the enclosing graph",
                        name);
        kiln_graph_resolve_value(g, name);
    } while (accept(ps, ','));
    return expect(ps, ')', "to close the captures");
}

static enum kiln_status
parse_graph(struct parser *ps, struct kiln_graph *parent, struct kiln_graph **out)
{
    skip_ws(ps);
    const char *at = ps->p;
    TRY(expect(ps, '@', "to start a graph"));
    if (++ps->depth > KIR_MAX_DEPTH)
        return perr(ps, at, "graphs nest deeper than %d levels", KIR_MAX_DEPTH);
    const char *name;
    TRY(lex_name(ps, &name, "graph"));
    struct kiln_graph *g;
    if (parent) {
        g = kiln_graph_new_sub(parent, name);
    } else {
        g = ps->root; /* made by the caller so the header facts have a home */
        g->name = kiln_graph_intern(g, name);
    }
    TRY(parse_params(ps, g));
    if (peek_word(ps, "captures")) {
        size_t len;
        lex_ident(ps, &len);
        TRY(parse_captures(ps, g));
    }
    TRY(expect(ps, '{', "to open the graph's body"));
    for (;;) {
        char c = peek(ps);
        if (c == 0)
            return perr(ps, ps->p, "unexpected end of file inside graph '@%s'", name);
        if (c == '$') {
            TRY(parse_const(ps, g));
        } else if (peek_word(ps, "return")) {
            size_t len;
            lex_ident(ps, &len);
            /* outputs up to the closing brace */
            if (peek(ps) != '}') {
                do {
                    skip_ws(ps);
                    const char *rat = ps->p;
                    int32_t v;
                    TRY(parse_ref(ps, g, &v));
                    if (v < 0)
                        return perr(ps, rat, "a graph output cannot be absent");
                    kiln_graph_add_output(g, v);
                } while (accept(ps, ','));
            }
            TRY(expect(ps, '}', "after the return (it ends the graph)"));
            break;
        } else if (c == '}') {
            return perr(ps, ps->p, "graph '@%s' has no return", name);
        } else {
            TRY(parse_node(ps, g));
        }
    }
    ps->depth--;
    *out = g;
    return KILN_OK;
}

/* ---------------------------------------------------------------- header */

static enum kiln_status
parse_header(struct parser *ps)
{
    struct kiln_graph *g = ps->root;
    TRY(expect_word(ps, "kiln"));
    skip_ws(ps);
    const char *vat = ps->p;
    int64_t version;
    TRY(parse_i64(ps, 0, INT32_MAX, &version));
    if (version != KILN_TEXT_VERSION)
        return perr(ps, vat, "unsupported .kir version %lld (this kiln reads version %d)",
                    (long long)version, KILN_TEXT_VERSION);
    if (peek_word(ps, "ir_version")) {
        size_t len;
        lex_ident(ps, &len);
        TRY(parse_i64(ps, 0, INT64_MAX, &g->ir_version));
    }
    if (peek_word(ps, "producer")) {
        size_t len;
        lex_ident(ps, &len);
        skip_ws(ps);
        const char *at = ps->p;
        TRY(lex_string(ps, &g->producer, &len));
        if (strlen(g->producer) != len)
            return perr(ps, at, "the producer cannot hold NUL bytes");
    }
    if (peek_word(ps, "opset")) {
        size_t len;
        lex_ident(ps, &len);
        struct kiln_opset *ops = NULL;
        int32_t cap = 0;
        do {
            if (g->n_opsets == cap) {
                if (cap >= 1024)
                    return perr(ps, ps->p, "more than 1024 opset imports");
                int32_t nc = cap ? cap * 2 : 4;
                ops = kiln_arena_grow(ps->a, ops, (size_t)cap, (size_t)nc, sizeof *ops);
                if (!ops)
                    return perr(ps, ps->p, "out of memory");
                cap = nc;
                g->opsets = ops;
            }
            skip_ws(ps);
            const char *at = ps->p;
            const char *dom;
            TRY(lex_string(ps, &dom, &len));
            int64_t ver;
            TRY(parse_i64(ps, 1, INT64_MAX, &ver));
            bool def = !dom[0] || strcmp(dom, "ai.onnx") == 0;
            for (int32_t i = 0; i < g->n_opsets; i++) {
                const char *o = g->opsets[i].domain;
                if (def ? (!o[0] || strcmp(o, "ai.onnx") == 0) : strcmp(o, dom) == 0)
                    return perr(ps, at, "domain \"%s\" imported twice", dom);
            }
            g->opsets[g->n_opsets].domain = dom;
            g->opsets[g->n_opsets].version = ver;
            g->n_opsets++;
            if (def)
                g->opset = ver;
            else if (strcmp(dom, "ai.onnx.ml") == 0)
                g->opset_ml = ver;
        } while (accept(ps, ','));
    }
    return KILN_OK;
}

enum kiln_status
kiln_graph_parse(const char *text, size_t len, const char *path, struct kiln_graph **out,
                 struct kiln_diag *d)
{
    struct kiln_diag local;
    if (!d) {
        kiln_diag_init(&local, path);
        d = &local;
    }
    const char *saved_file = d->file;
    d->file = path ? path : "<kir>";
    struct parser ps = {
        .src = text, .p = text, .end = text + len, .path = path ? path : "", .d = d};
    *out = NULL;
    ps.root = kiln_graph_new("main");
    enum kiln_status st;
    if (!ps.root) {
        kiln_diag_error(d, "out of memory");
        st = KILN_ERR_NOMEM;
    } else {
        ps.a = ps.root->arena;
        st = parse_header(&ps);
        struct kiln_graph *g = NULL;
        if (st == KILN_OK)
            st = parse_graph(&ps, NULL, &g);
        if (st == KILN_OK && peek(&ps) != 0)
            st = perr(&ps, ps.p, "unexpected %s after the graph", describe_next(&ps));
        if (st == KILN_OK && ps.failed)
            st = KILN_ERR_INVALID;
    }
    d->file = saved_file;
    if (st != KILN_OK) {
        kiln_graph_free(ps.root);
        ps.root = NULL;
    }
    *out = ps.root;
    if (d == &local) {
        kiln_diag_print(d, stderr);
        kiln_diag_fini(d);
    }
    return st;
}

enum kiln_status
kiln_graph_parse_file(const char *path, struct kiln_graph **out, struct kiln_diag *d)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        kiln_diag_error(d, "cannot open: %s", strerror(errno));
        return KILN_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        kiln_diag_error(d, "not a regular file");
        return KILN_ERR_IO;
    }
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        kiln_diag_error(d, "out of memory reading %zu bytes", len);
        return KILN_ERR_NOMEM;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != len) {
        free(buf);
        kiln_diag_error(d, "short read");
        return KILN_ERR_IO;
    }
    enum kiln_status s = kiln_graph_parse(buf, len, path, out, d);
    free(buf);
    return s;
}
