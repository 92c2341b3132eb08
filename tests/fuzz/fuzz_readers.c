/*
 * fuzz_readers.c - see fuzz_readers.h.
 */
#define _GNU_SOURCE /* fmemopen, open_memstream */
#include "fuzz_readers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx.h"
#include "ir/text.h"
#include "runtime/kiln_rt.h"

static void
fuzz_fail(const char *what, const char *a, size_t alen, const char *b, size_t blen)
{
    fprintf(stderr, "fuzz: %s\n--- first print (%zu bytes)\n%.*s\n--- second (%zu bytes)\n%.*s\n",
            what, alen, (int)(alen < 4096 ? alen : 4096), a ? a : "", blen,
            (int)(blen < 4096 ? blen : 4096), b ? b : "");
    abort();
}

/* g as .kir text with every constant inline; NULL when printing fails. */
static char *
print_all(const struct kiln_graph *g, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    struct kiln_print_opts po;
    kiln_print_opts_default(&po);
    po.inline_limit = INT64_MAX;
    enum kiln_status st = kiln_graph_print(g, f, &po);
    if (fclose(f) != 0 || st != KILN_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* print(g) parses, verifies and prints to the same bytes. */
static void
check_round_trip(const struct kiln_graph *g)
{
    size_t len1 = 0, len2 = 0;
    char *t1 = print_all(g, &len1);
    if (!t1)
        fuzz_fail("a graph that loaded does not print", NULL, 0, NULL, 0);
    struct kiln_diag d;
    kiln_diag_init(&d, "roundtrip.kir");
    struct kiln_graph *g2 = NULL;
    enum kiln_status st = kiln_graph_parse(t1, len1, "roundtrip.kir", &g2, &d);
    if (st == KILN_OK)
        st = kiln_graph_verify(g2, &d);
    if (st != KILN_OK) {
        kiln_diag_print(&d, stderr);
        fuzz_fail("the printed graph does not parse and verify", t1, len1, NULL, 0);
    }
    char *t2 = print_all(g2, &len2);
    if (!t2 || len1 != len2 || memcmp(t1, t2, len1) != 0)
        fuzz_fail("print(parse(print(g))) differs from print(g)", t1, len1, t2, len2);
    free(t1);
    free(t2);
    kiln_graph_free(g2);
    kiln_diag_fini(&d);
}

void
kiln_fuzz_onnx(const unsigned char *data, size_t len)
{
    struct kiln_diag d;
    kiln_diag_init(&d, "fuzz.onnx");
    struct kiln_graph *g = NULL;
    struct kiln_onnx_opts oo = {0};
    enum kiln_status st = kiln_onnx_load_buffer(data, len, NULL, &oo, &g, &d);
    if (st == KILN_OK) {
        if (kiln_graph_verify(g, &d) != KILN_OK) {
            kiln_diag_print(&d, stderr);
            fuzz_fail("a loaded and typed ONNX graph does not verify", NULL, 0, NULL, 0);
        }
        check_round_trip(g);
    }
    kiln_graph_free(g);
    kiln_diag_fini(&d);
}

void
kiln_fuzz_kir(const unsigned char *data, size_t len)
{
    struct kiln_diag d;
    kiln_diag_init(&d, "fuzz.kir");
    struct kiln_graph *g = NULL;
    enum kiln_status st = kiln_graph_parse((const char *)data, len, "fuzz.kir", &g, &d);
    /* parsed garbage may be ill-typed: the verifier must say so, not crash */
    if (st == KILN_OK && kiln_graph_verify(g, &d) == KILN_OK)
        check_round_trip(g);
    kiln_graph_free(g);
    kiln_diag_fini(&d);
}

void
kiln_fuzz_npy(const unsigned char *data, size_t len)
{
    static const int wants[] = {0, KILN_RT_F32, KILN_RT_BF16};
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
        /* fmemopen of 0 bytes fails on older glibc: give it one, read none */
        FILE *f = fmemopen((void *)(len ? data : (const unsigned char *)""), len ? len : 1, "rb");
        if (!f)
            return;
        if (!len)
            fgetc(f);
        struct kiln_rt_npy t;
        int rc = kiln_rt_npy_read_stream(f, wants[i], &t);
        fclose(f);
        if (rc == KILN_RT_OK) {
            size_t n = kiln_rt_dtype_size(t.dtype);
            for (int k = 0; k < t.rank; k++)
                n *= (size_t)t.dims[k];
            if (n != t.nbytes || (n && !t.data))
                abort(); /* the tensor's size disagrees with its shape */
            volatile unsigned char sink = 0;
            for (size_t k = 0; k < t.nbytes; k++) /* every byte readable */
                sink ^= ((const unsigned char *)t.data)[k];
            (void)sink;
        } else if (t.data || (rc != KILN_RT_ERR_DTYPE && t.rank)) {
            abort(); /* an error leaves *out empty (a dtype mismatch: described) */
        }
        kiln_rt_npy_free(&t);
    }
}
