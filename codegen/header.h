/*
 * header.h - the typed C header of a compiled model (kiln compile --emit=header).
 */
#ifndef KILN_HEADER_H
#define KILN_HEADER_H

#include <stdio.h>

#include "codegen/lower.h"

/* Write the header of m to f; source names the model file in its comment. With
 * external_weights, the inputs struct has a `weights` field (the contents of
 * the weights file, 64-byte aligned) that run passes after the last input. */
enum kiln_status kiln_emit_header(const struct kiln_lmodule *m, const char *source,
                                  bool external_weights, FILE *f);

#endif
