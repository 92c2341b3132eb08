/*
 * text.h - the text form of the IR (.kir): printer and parser.
 *
 * print(parse(print(g))) is byte-identical to print(g) for every graph. The
 * grammar is written down in ir/IR.md.
 *
 * Constants with at most opts->inline_limit elements print inline
 * (`dense<[...]>`, or `hex<"...">` for storage-only dtypes). Larger ones print
 * as a reference: with opts->weights set they are appended to that stream and
 * printed as `blob<"NAME", offset=O, size=S, fnv1a=0x...>`, read back by the
 * parser from NAME relative to the .kir file's folder; without it they print as
 * `elided<size=S, fnv1a=0x...>`, which parses to a tensor with elided = true
 * (shape and checksum known, contents not).
 */
#ifndef KILN_TEXT_H
#define KILN_TEXT_H

#include <stdio.h>

#include "ir.h"

#define KILN_TEXT_VERSION 1

struct kiln_print_opts {
    int64_t inline_limit;     /* elements; default 16 */
    FILE *weights;            /* sink for large constants, or NULL to elide */
    const char *weights_name; /* how the .kir refers to that sink */
    uint64_t weights_offset;  /* bytes already in the sink (appends start here) */
};

void kiln_print_opts_default(struct kiln_print_opts *o);
/* Print g (a top-level graph) as .kir text. Returns KILN_ERR_IO on write failure. */
enum kiln_status kiln_graph_print(const struct kiln_graph *g, FILE *f,
                                  struct kiln_print_opts *opts);

/*
 * Parse .kir text (len bytes, need not be NUL-terminated). `path` names the
 * file for diagnostics ("file:line:col: error: ...") and for resolving blob
 * references. On success *out is a new graph (free with kiln_graph_free).
 */
enum kiln_status kiln_graph_parse(const char *text, size_t len, const char *path,
                                  struct kiln_graph **out, struct kiln_diag *d);
enum kiln_status kiln_graph_parse_file(const char *path, struct kiln_graph **out,
                                       struct kiln_diag *d);

#endif
