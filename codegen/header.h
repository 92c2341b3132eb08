/*
 * header.h - the typed C header of a compiled model (kiln compile --emit=header).
 */
#ifndef KILN_HEADER_H
#define KILN_HEADER_H

#include <stdio.h>

#include "codegen/lower.h"

/* Write the header of m to f; source names the model file in its comment. */
enum kiln_status kiln_emit_header(const struct kiln_lmodule *m, const char *source, FILE *f);

#endif
