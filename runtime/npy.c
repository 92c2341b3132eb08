/*
 * npy.c - .npy files (numpy's format, versions 1.0, 2.0, 3.0) in and out.
 *
 * A file is: the magic "\x93NUMPY", major and minor version bytes, the header
 * length (u16 little-endian in 1.0, u32 in 2.0 and 3.0), the header (a
 * Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline), then the raw C-order data.
 *
 * Reading trusts nothing: the header is parsed by a small recursive-descent
 * reader over its bytes (no NUL termination assumed), sizes are
 * overflow-checked, the data length must match the shape exactly, and a
 * regular file's size is checked before any data buffer is allocated.
 *
 * bf16 (no numpy dtype) travels as '<f4'; see kiln_rt.h.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/kiln_rt.h"

enum {
    NPY_MAGIC_LEN = 6,
    NPY_MAX_HEADER = 1 << 20, /* far above any real header; bounds the allocation */
    NPY_ALIGN = 64,           /* numpy's ARRAY_ALIGN */
    NPY_GROWTH_DIGITS = 21,   /* numpy's GROWTH_AXIS_MAX_DIGITS */
};

static const char npy_magic[NPY_MAGIC_LEN] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* ---------------------------------------------------------------- descr <-> dtype */

static const struct {
    int dtype;
    char descr[4]; /* canonical, as numpy writes it */
} npy_dtypes[] = {
    {KILN_RT_F16, "<f2"}, {KILN_RT_F32, "<f4"}, {KILN_RT_F64, "<f8"}, {KILN_RT_I8, "|i1"},
    {KILN_RT_I16, "<i2"}, {KILN_RT_I32, "<i4"}, {KILN_RT_I64, "<i8"}, {KILN_RT_U8, "|u1"},
    {KILN_RT_U16, "<u2"}, {KILN_RT_U32, "<u4"}, {KILN_RT_U64, "<u8"}, {KILN_RT_BOOL, "|b1"},
};

/* The dtype of a descr string, 0 when refused. */
static int
npy_dtype_from_descr(const char *s, size_t len)
{
    if (len != 3)
        return 0;
    for (size_t i = 0; i < sizeof npy_dtypes / sizeof npy_dtypes[0]; i++) {
        const char *c = npy_dtypes[i].descr;
        if (s[1] != c[1] || s[2] != c[2])
            continue;
        bool one_byte = c[2] == '1';
        /* Byte order: little or native for wide types; irrelevant for bytes. */
        if (s[0] == '<' || s[0] == '=' || (one_byte && (s[0] == '|' || s[0] == '>')))
            return npy_dtypes[i].dtype;
        return 0;
    }
    return 0;
}

static const char *
npy_descr_of(int dtype)
{
    for (size_t i = 0; i < sizeof npy_dtypes / sizeof npy_dtypes[0]; i++)
        if (npy_dtypes[i].dtype == dtype)
            return npy_dtypes[i].descr;
    return NULL;
}

/* ---------------------------------------------------------------- header parsing */

struct npy_header {
    int dtype;
    int rank;
    int64_t dims[KILN_RT_NPY_MAX_RANK];
};

struct npy_lexer {
    const char *p, *end;
};

static void
lex_space(struct npy_lexer *lx)
{
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
        lx->p++;
}

static bool
lex_char(struct npy_lexer *lx, char c)
{
    lex_space(lx);
    if (lx->p < lx->end && *lx->p == c) {
        lx->p++;
        return true;
    }
    return false;
}

/* A quoted string without escapes: *s, *len point into the header. */
static bool
lex_string(struct npy_lexer *lx, const char **s, size_t *len)
{
    lex_space(lx);
    if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"'))
        return false;
    char q = *lx->p++;
    const char *start = lx->p;
    while (lx->p < lx->end && *lx->p != q) {
        if (*lx->p == '\\' || *lx->p == '\n')
            return false;
        lx->p++;
    }
    if (lx->p >= lx->end)
        return false;
    *s = start;
    *len = (size_t)(lx->p - start);
    lx->p++;
    return true;
}

static bool
lex_word(struct npy_lexer *lx, const char *w)
{
    lex_space(lx);
    size_t n = strlen(w);
    if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, w, n) != 0)
        return false;
    const char *after = lx->p + n;
    if (after < lx->end && ((*after >= 'a' && *after <= 'z') || (*after >= 'A' && *after <= 'Z') ||
                            (*after >= '0' && *after <= '9') || *after == '_'))
        return false;
    lx->p = after;
    return true;
}

/* A non-negative decimal integer (Python 2's 'L' suffix allowed). */
static bool
lex_int(struct npy_lexer *lx, int64_t *v)
{
    lex_space(lx);
    if (lx->p >= lx->end || *lx->p < '0' || *lx->p > '9')
        return false;
    int64_t x = 0;
    while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
        if (x > (INT64_MAX - (*lx->p - '0')) / 10)
            return false;
        x = x * 10 + (*lx->p - '0');
        lx->p++;
    }
    if (lx->p < lx->end && *lx->p == 'L')
        lx->p++;
    *v = x;
    return true;
}

/* '(' [int {',' int} [',']] ')' */
static bool
lex_shape(struct npy_lexer *lx, struct npy_header *h)
{
    if (!lex_char(lx, '('))
        return false;
    h->rank = 0;
    if (lex_char(lx, ')'))
        return true;
    for (;;) {
        if (h->rank == KILN_RT_NPY_MAX_RANK || !lex_int(lx, &h->dims[h->rank]))
            return false;
        h->rank++;
        if (lex_char(lx, ')'))
            return true;
        if (!lex_char(lx, ','))
            return false;
        if (lex_char(lx, ')'))
            return true;
    }
}

/* The header dict: exactly the keys descr, fortran_order, shape, each once. */
static int
npy_parse_header(const char *text, size_t len, struct npy_header *h)
{
    struct npy_lexer lx = {text, text + len};
    bool seen_descr = false, seen_order = false, seen_shape = false;
    if (!lex_char(&lx, '{'))
        return KILN_RT_ERR_FORMAT;
    while (!lex_char(&lx, '}')) {
        const char *key;
        size_t klen;
        if (!lex_string(&lx, &key, &klen) || !lex_char(&lx, ':'))
            return KILN_RT_ERR_FORMAT;
        if (klen == 5 && memcmp(key, "descr", 5) == 0 && !seen_descr) {
            const char *d;
            size_t dlen;
            if (!lex_string(&lx, &d, &dlen) || !(h->dtype = npy_dtype_from_descr(d, dlen)))
                return KILN_RT_ERR_FORMAT;
            seen_descr = true;
        } else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0 && !seen_order) {
            if (!lex_word(&lx, "False")) /* True, or anything else: refused */
                return KILN_RT_ERR_FORMAT;
            seen_order = true;
        } else if (klen == 5 && memcmp(key, "shape", 5) == 0 && !seen_shape) {
            if (!lex_shape(&lx, h))
                return KILN_RT_ERR_FORMAT;
            seen_shape = true;
        } else {
            return KILN_RT_ERR_FORMAT; /* unknown or repeated key */
        }
        if (lex_char(&lx, '}'))
            break;
        if (!lex_char(&lx, ','))
            return KILN_RT_ERR_FORMAT;
    }
    lex_space(&lx);
    if (lx.p != lx.end || !seen_descr || !seen_order || !seen_shape)
        return KILN_RT_ERR_FORMAT;
    return KILN_RT_OK;
}

/* Bytes of a tensor; false when the size does not fit. */
static bool
npy_nbytes(int dtype, int rank, const int64_t *dims, size_t *out)
{
    size_t n = kiln_rt_dtype_size(dtype);
    bool empty = false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
        empty |= dims[i] == 0;
    }
    if (empty) {
        *out = 0;
        return true;
    }
    for (int i = 0; i < rank; i++)
        if (__builtin_mul_overflow(n, (uint64_t)dims[i], &n))
            return false;
    if (n > (size_t)PTRDIFF_MAX)
        return false;
    *out = n;
    return true;
}

/* 64-byte aligned, never NULL for 0 bytes. */
static void *
npy_alloc(size_t nbytes)
{
    size_t size = (nbytes + NPY_ALIGN - 1) & ~(size_t)(NPY_ALIGN - 1);
    return aligned_alloc(NPY_ALIGN, size ? size : NPY_ALIGN);
}

/* ---------------------------------------------------------------- reading */

static int
npy_read_header(FILE *f, struct npy_header *h, long *data_off)
{
    unsigned char pre[NPY_MAGIC_LEN + 2 + 4];
    if (fread(pre, 1, NPY_MAGIC_LEN + 2, f) != NPY_MAGIC_LEN + 2)
        return ferror(f) ? KILN_RT_ERR_IO : KILN_RT_ERR_FORMAT;
    if (memcmp(pre, npy_magic, NPY_MAGIC_LEN) != 0)
        return KILN_RT_ERR_FORMAT;
    int major = pre[NPY_MAGIC_LEN], minor = pre[NPY_MAGIC_LEN + 1];
    if (major < 1 || major > 3 || minor != 0)
        return KILN_RT_ERR_FORMAT;
    size_t len_bytes = major == 1 ? 2 : 4;
    unsigned char *lb = pre + NPY_MAGIC_LEN + 2;
    if (fread(lb, 1, len_bytes, f) != len_bytes)
        return ferror(f) ? KILN_RT_ERR_IO : KILN_RT_ERR_FORMAT;
    uint32_t hlen = (uint32_t)lb[0] | (uint32_t)lb[1] << 8;
    if (len_bytes == 4)
        hlen |= (uint32_t)lb[2] << 16 | (uint32_t)lb[3] << 24;
    if (hlen == 0 || hlen > NPY_MAX_HEADER)
        return KILN_RT_ERR_FORMAT;
    char *text = malloc(hlen);
    if (!text)
        return KILN_RT_ERR_NOMEM;
    int rc = KILN_RT_OK;
    if (fread(text, 1, hlen, f) != hlen)
        rc = ferror(f) ? KILN_RT_ERR_IO : KILN_RT_ERR_FORMAT;
    else
        rc = npy_parse_header(text, hlen, h);
    free(text);
    *data_off = (long)(NPY_MAGIC_LEN + 2 + len_bytes + hlen);
    return rc;
}

/* Bytes read at once from a stream of unknown size: the buffer grows with
 * what arrives, so a header that claims terabytes costs nothing until the
 * data is really there. */
#define NPY_STREAM_CHUNK ((size_t)1 << 24)

/* Read exactly nbytes of data at the current position, then expect EOF. */
static int
npy_read_data(FILE *f, long data_off, size_t nbytes, void **out)
{
    struct stat st;
    int fd = fileno(f);
    bool known = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (known) {
        /* Known size: refuse a short or long file before allocating. */
        if (st.st_size < data_off || (uint64_t)(st.st_size - data_off) != (uint64_t)nbytes)
            return KILN_RT_ERR_FORMAT;
    }
    /* A pipe or an in-memory stream: allocate as the data arrives. */
    size_t cap = known || nbytes <= NPY_STREAM_CHUNK ? nbytes : NPY_STREAM_CHUNK;
    unsigned char *data = npy_alloc(cap);
    if (!data)
        return KILN_RT_ERR_NOMEM;
    size_t have = 0;
    int rc = KILN_RT_OK;
    while (have < nbytes) {
        if (have == cap) {
            size_t grown = cap > nbytes / 2 ? nbytes : 2 * cap;
            unsigned char *bigger = npy_alloc(grown);
            if (!bigger) {
                rc = KILN_RT_ERR_NOMEM;
                break;
            }
            memcpy(bigger, data, have);
            free(data);
            data = bigger;
            cap = grown;
        }
        size_t got = fread(data + have, 1, cap - have, f);
        have += got;
        if (got == 0) {
            rc = ferror(f) ? KILN_RT_ERR_IO : KILN_RT_ERR_FORMAT; /* short */
            break;
        }
    }
    if (rc == KILN_RT_OK && fgetc(f) != EOF) /* trailing bytes */
        rc = KILN_RT_ERR_FORMAT;
    if (rc == KILN_RT_OK && ferror(f))
        rc = KILN_RT_ERR_IO;
    if (rc != KILN_RT_OK) {
        free(data);
        return rc;
    }
    *out = data;
    return KILN_RT_OK;
}

/* bf16 from f32 data; frees src. */
static int
npy_narrow_bf16(struct kiln_rt_npy *t)
{
    size_t n = t->nbytes / 4;
    uint16_t *dst = npy_alloc(n * 2);
    if (!dst)
        return KILN_RT_ERR_NOMEM;
    const float *src = t->data;
    for (size_t i = 0; i < n; i++)
        dst[i] = kiln_rt_f32_to_bf16(src[i]);
    free(t->data);
    t->data = dst;
    t->nbytes = n * 2;
    t->dtype = KILN_RT_BF16;
    return KILN_RT_OK;
}

/* want 0: any dtype. */
static int
npy_fread(FILE *f, int want, struct kiln_rt_npy *out)
{
    struct npy_header h = {0};
    long data_off = 0;
    int rc = npy_read_header(f, &h, &data_off);
    size_t nbytes = 0;
    if (rc == KILN_RT_OK && !npy_nbytes(h.dtype, h.rank, h.dims, &nbytes))
        rc = KILN_RT_ERR_FORMAT;
    int file_want = want == KILN_RT_BF16 ? KILN_RT_F32 : want;
    if (rc == KILN_RT_OK && want && h.dtype != file_want) {
        out->dtype = h.dtype;
        out->rank = h.rank;
        memcpy(out->dims, h.dims, sizeof(int64_t) * (size_t)h.rank);
        return KILN_RT_ERR_DTYPE;
    }
    void *data = NULL;
    if (rc == KILN_RT_OK)
        rc = npy_read_data(f, data_off, nbytes, &data);
    if (rc != KILN_RT_OK)
        return rc;
    out->dtype = h.dtype;
    out->rank = h.rank;
    memcpy(out->dims, h.dims, sizeof(int64_t) * (size_t)h.rank);
    out->data = data;
    out->nbytes = nbytes;
    if (want == KILN_RT_BF16 && (rc = npy_narrow_bf16(out)) != KILN_RT_OK)
        kiln_rt_npy_free(out);
    return rc;
}

static int
npy_read(const char *path, int want, struct kiln_rt_npy *out)
{
    if (!out)
        return KILN_RT_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!path || (want && !kiln_rt_dtype_size(want)))
        return KILN_RT_ERR_ARG;
    FILE *f = fopen(path, "rb");
    if (!f)
        return KILN_RT_ERR_IO;
    int rc = npy_fread(f, want, out);
    fclose(f);
    return rc;
}

int
kiln_rt_npy_read_stream(FILE *f, int dtype, struct kiln_rt_npy *out)
{
    if (!out)
        return KILN_RT_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!f || (dtype && !kiln_rt_dtype_size(dtype)))
        return KILN_RT_ERR_ARG;
    return npy_fread(f, dtype, out);
}

int
kiln_rt_npy_read(const char *path, struct kiln_rt_npy *out)
{
    return npy_read(path, 0, out);
}

int
kiln_rt_npy_read_as(const char *path, int dtype, struct kiln_rt_npy *out)
{
    if (!kiln_rt_dtype_size(dtype)) {
        if (out)
            memset(out, 0, sizeof *out);
        return KILN_RT_ERR_ARG;
    }
    return npy_read(path, dtype, out);
}

void
kiln_rt_npy_free(struct kiln_rt_npy *t)
{
    if (!t)
        return;
    free(t->data);
    memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- writing */

/* The header numpy.save writes for (dtype, shape), format 1.0; returns its
 * length including magic, version and length field. buf holds 4096 bytes. */
static size_t
npy_format_header(char *buf, const char *descr, int rank, const int64_t *dims)
{
    char *p = buf + NPY_MAGIC_LEN + 4;
    char *start = p;
    p += sprintf(p, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < rank; i++)
        p += sprintf(p, i ? ", %lld" : "%lld", (long long)dims[i]);
    p += sprintf(p, rank == 1 ? ",), }" : "), }");
    if (rank > 0) { /* numpy leaves room to grow the first axis in place */
        int digits = snprintf(NULL, 0, "%lld", (long long)dims[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++)
            *p++ = ' ';
    }
    size_t hlen = (size_t)(p - start) + 1; /* + the final newline */
    size_t pad = NPY_ALIGN - (NPY_MAGIC_LEN + 4 + hlen) % NPY_ALIGN;
    memset(p, ' ', pad);
    p += pad;
    *p++ = '\n';
    memcpy(buf, npy_magic, NPY_MAGIC_LEN);
    buf[NPY_MAGIC_LEN] = 1;
    buf[NPY_MAGIC_LEN + 1] = 0;
    buf[NPY_MAGIC_LEN + 2] = (char)((hlen + pad) & 0xff);
    buf[NPY_MAGIC_LEN + 3] = (char)((hlen + pad) >> 8);
    return (size_t)(p - buf);
}

static bool
npy_write_bf16(FILE *f, const uint16_t *src, size_t n)
{
    float chunk[1024];
    while (n > 0) {
        size_t k = n < 1024 ? n : 1024;
        for (size_t i = 0; i < k; i++)
            chunk[i] = kiln_rt_bf16_to_f32(src[i]);
        if (fwrite(chunk, sizeof(float), k, f) != k)
            return false;
        src += k;
        n -= k;
    }
    return true;
}

int
kiln_rt_npy_write(const char *path, int dtype, int rank, const int64_t *dims, const void *data)
{
    const char *descr = npy_descr_of(dtype == KILN_RT_BF16 ? KILN_RT_F32 : dtype);
    size_t nbytes;
    if (!path || !descr || rank < 0 || rank > KILN_RT_NPY_MAX_RANK || (rank > 0 && !dims) ||
        !npy_nbytes(dtype, rank, dims, &nbytes) || (nbytes > 0 && !data))
        return KILN_RT_ERR_ARG;
    /* 32 dims of up to 19 digits and ", " stay far below 4096 and v1's 65535. */
    char header[4096];
    size_t hsize = npy_format_header(header, descr, rank, dims);
    FILE *f = fopen(path, "wb");
    if (!f)
        return KILN_RT_ERR_IO;
    bool ok = fwrite(header, 1, hsize, f) == hsize;
    if (ok && dtype == KILN_RT_BF16)
        ok = npy_write_bf16(f, data, nbytes / 2);
    else if (ok && nbytes > 0)
        ok = fwrite(data, 1, nbytes, f) == nbytes;
    if (fclose(f) != 0)
        ok = false;
    return ok ? KILN_RT_OK : KILN_RT_ERR_IO;
}
