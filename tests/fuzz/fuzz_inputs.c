/*
 * fuzz_inputs.c - deterministic mutation fuzzing of the three readers of
 * untrusted bytes: the ONNX loader (with shape inference), the .kir parser and
 * the runtime's .npy reader (tests/fuzz/fuzz_readers.h, which also holds the
 * round-trip checks).
 *
 * For each seed file given on the command line, run ITERATIONS mutants
 * (truncations, byte flips, runs of 0xff, inserted and deleted spans,
 * duplicated spans) with a fixed PRNG seed, through the reader the file's
 * extension selects, then print "N passed, N failed". A mutant passes when the
 * reader returns any status without crashing and the checks hold; a failed
 * check aborts, and so does a memory error in the sanitizer build, where this
 * test has its worth. The coverage-guided libFuzzer targets (libfuzzer_main.c)
 * go further; this one runs with any compiler, the same every time.
 *
 * usage: fuzz_inputs [--iterations N] SEED.onnx|SEED.kir|SEED.npy ...
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_readers.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t
rng_next(void)
{
    /* xorshift64*: deterministic across runs and machines */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static size_t
rng_below(size_t n)
{
    return n ? (size_t)(rng_next() % n) : 0;
}

/* Write a mutant of seed into out (capacity cap); returns its length. */
static size_t
mutate(const unsigned char *seed, size_t len, unsigned char *out, size_t cap)
{
    size_t n = len < cap ? len : cap;
    memcpy(out, seed, n);
    int edits = 1 + (int)rng_below(4);
    for (int e = 0; e < edits && n > 0; e++) {
        size_t at = rng_below(n), span = 1 + rng_below(16);
        switch (rng_below(6)) {
        case 0: /* truncate */
            n = at;
            break;
        case 1: /* flip bits */
            out[at] ^= (unsigned char)(1u << rng_below(8));
            break;
        case 2: /* 0xff run: huge varints and lengths */
            for (size_t k = at; k < n && k < at + span; k++)
                out[k] = 0xff;
            break;
        case 3: /* random byte */
            out[at] = (unsigned char)rng_next();
            break;
        case 4: /* delete a span */
            if (at + span > n)
                span = n - at;
            memmove(out + at, out + at + span, n - at - span);
            n -= span;
            break;
        case 5: /* duplicate a span */
            if (at + span > n)
                span = n - at;
            if (n + span <= cap) {
                memmove(out + at + span, out + at, n - at);
                n += span;
            }
            break;
        }
    }
    return n;
}

static unsigned char *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

int
main(int argc, char **argv)
{
    long iterations = 2000;
    int n_pass = 0, n_fail = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            iterations = strtol(argv[++i], NULL, 10);
            continue;
        }
        size_t len;
        unsigned char *seed = read_all(argv[i], &len);
        if (!seed) {
            printf("FAIL cannot read seed %s\n", argv[i]);
            n_fail++;
            continue;
        }
        size_t plen = strlen(argv[i]);
        const char *ext = plen > 4 ? argv[i] + plen - 4 : "";
        void (*reader)(const unsigned char *, size_t) = strcmp(ext, ".kir") == 0   ? kiln_fuzz_kir
                                                        : strcmp(ext, ".npy") == 0 ? kiln_fuzz_npy
                                                                                   : kiln_fuzz_onnx;
        size_t cap = len + 4096;
        unsigned char *buf = malloc(cap);
        reader(seed, len); /* the seed itself */
        for (long k = 0; k < iterations && buf; k++) {
            size_t n = mutate(seed, len, buf, cap);
            /* exact-size copy so ASan sees reads past the end of the input */
            unsigned char *exact = malloc(n ? n : 1);
            memcpy(exact, buf, n);
            reader(exact, n);
            free(exact);
        }
        free(buf);
        free(seed);
        n_pass++;
        printf("ok %s (%ld mutants)\n", argv[i], iterations);
    }
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail != 0;
}
