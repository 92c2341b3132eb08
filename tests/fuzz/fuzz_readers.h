/*
 * fuzz_readers.h - the readers of untrusted bytes, each driven once over a
 * buffer with the checks a fuzzer can make besides "no crash": what one
 * reader accepts must print, and what prints must parse back to the same text.
 * A failed check prints what it saw and aborts (these are test harnesses,
 * not library code), so libFuzzer and the deterministic fuzzer both report it.
 *
 * Used by fuzz_inputs.c (deterministic mutations under ctest) and
 * libfuzzer_main.c (one libFuzzer binary per reader).
 */
#ifndef KILN_FUZZ_READERS_H
#define KILN_FUZZ_READERS_H

#include <stddef.h>

/* ONNX loader + shape inference; a loaded graph must verify and round-trip
 * through the text form (print, parse, print: the same bytes). */
void kiln_fuzz_onnx(const unsigned char *data, size_t len);
/* .kir parser + verifier; a graph that parses and verifies must round-trip. */
void kiln_fuzz_kir(const unsigned char *data, size_t len);
/* The runtime's .npy reader over an in-memory stream (sizes unknown, as for
 * a pipe), taking any dtype, then asking for f32 and for bf16. */
void kiln_fuzz_npy(const unsigned char *data, size_t len);

#endif
