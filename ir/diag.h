/*
 * diag.h - diagnostics and status codes.
 *
 * Two channels, as in QBE: user errors (a bad model, an unsupported op, a bad
 * option) are returned as an enum kiln_status and recorded on a struct kiln_diag
 * sink, which the driver prints; internal invariants use KILN_ASSERT, which
 * names the pass running and aborts, because a compiler bug must be found, not
 * hidden.
 *
 * Message shapes, fixed because tests match them exactly:
 *   FILE: error: MSG                          (file-level)
 *   FILE:LINE:COL: error: MSG                 (text IR positions)
 *   FILE: node 'NAME' (OP): error: MSG        (a node; NAME may be "" -> node #ID)
 */
#ifndef KILN_DIAG_H
#define KILN_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum kiln_status {
    KILN_OK = 0,
    KILN_ERR_INVALID,     /* malformed or inconsistent input */
    KILN_ERR_UNSUPPORTED, /* valid input kiln cannot handle (yet) */
    KILN_ERR_IO,          /* file not found, short read, ... */
    KILN_ERR_NOMEM,       /* allocation failed or a size limit was hit */
    KILN_ERR_INTERNAL,    /* a bug in kiln */
};

const char *kiln_status_name(enum kiln_status s);

enum kiln_severity { KILN_SEV_ERROR, KILN_SEV_WARNING, KILN_SEV_NOTE };

struct kiln_diag_msg {
    enum kiln_severity sev;
    char *text; /* the whole formatted line, without newline */
};

/* A diagnostics sink. Zero-initialize, or kiln_diag_init; kiln_diag_fini frees. */
struct kiln_diag {
    const char *file; /* the input being processed, for the prefix */
    struct kiln_diag_msg *msgs;
    int n_msgs, cap_msgs;
    int n_errors, n_warnings;
    int max_msgs; /* stored messages cap (default 200); errors still counted */
    FILE *echo;   /* when set, each message is also printed here as it arrives */
};

void kiln_diag_init(struct kiln_diag *d, const char *file);
void kiln_diag_fini(struct kiln_diag *d);
void kiln_diag_error(struct kiln_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kiln_diag_warning(struct kiln_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kiln_diag_at(struct kiln_diag *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A node-level error: node_name "" prints as node #id. op_name as in the table. */
void kiln_diag_node(struct kiln_diag *d, const char *node_name, int32_t node_id,
                    const char *op_name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void kiln_diag_vmsg(struct kiln_diag *d, enum kiln_severity sev, const char *prefix,
                    const char *fmt, va_list ap);
void kiln_diag_print(const struct kiln_diag *d, FILE *f);
/* Whether any stored message contains needle (tests). */
bool kiln_diag_has(const struct kiln_diag *d, const char *needle);

/* ---- internal invariants ---- */

/* Name of the pass (or stage) running, reported by KILN_ASSERT. */
extern _Thread_local const char *kiln_current_pass;

_Noreturn void kiln_assert_fail(const char *expr, const char *file, int line);

#define KILN_ASSERT(cond) ((cond) ? (void)0 : kiln_assert_fail(#cond, __FILE__, __LINE__))

#endif
