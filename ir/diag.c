/*
 * diag.c - the diagnostics sink and the internal-assertion channel.
 *
 * Messages are formatted once into their final text (prefix included), so the
 * driver and tests see exactly what a user sees. The sink stores at most
 * max_msgs messages (a hostile model could otherwise produce millions) but
 * counts every error, and says how many it dropped when printing.
 */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

_Thread_local const char *kiln_current_pass;

static const char *const status_names[] = {
    [KILN_OK] = "ok",
    [KILN_ERR_INVALID] = "invalid input",
    [KILN_ERR_UNSUPPORTED] = "unsupported",
    [KILN_ERR_IO] = "i/o error",
    [KILN_ERR_NOMEM] = "out of memory",
    [KILN_ERR_INTERNAL] = "internal error",
};
_Static_assert(sizeof status_names / sizeof status_names[0] == KILN_ERR_INTERNAL + 1,
               "status_names must cover enum kiln_status");

const char *
kiln_status_name(enum kiln_status s)
{
    return (unsigned)s <= KILN_ERR_INTERNAL ? status_names[s] : "?";
}

void
kiln_diag_init(struct kiln_diag *d, const char *file)
{
    memset(d, 0, sizeof *d);
    d->file = file;
    d->max_msgs = 200;
}

void
kiln_diag_fini(struct kiln_diag *d)
{
    for (int i = 0; i < d->n_msgs; i++)
        free(d->msgs[i].text);
    free(d->msgs);
    d->msgs = NULL;
    d->n_msgs = d->cap_msgs = 0;
}

static const char *const sev_names[] = {"error", "warning", "note"};

void
kiln_diag_vmsg(struct kiln_diag *d, enum kiln_severity sev, const char *prefix, const char *fmt,
               va_list ap)
{
    if (!d)
        return;
    if (sev == KILN_SEV_ERROR)
        d->n_errors++;
    else if (sev == KILN_SEV_WARNING)
        d->n_warnings++;
    int max = d->max_msgs > 0 ? d->max_msgs : 200;
    if (d->n_msgs >= max)
        return;
    char body[2048];
    vsnprintf(body, sizeof body, fmt, ap);
    const char *file = d->file ? d->file : "kiln";
    size_t need = strlen(file) + strlen(prefix) + strlen(body) + 32;
    char *text = malloc(need);
    if (!text)
        return;
    snprintf(text, need, "%s%s%s: %s: %s", file, *prefix ? ":" : "", prefix, sev_names[sev], body);
    if (d->n_msgs == d->cap_msgs) {
        int cap = d->cap_msgs ? d->cap_msgs * 2 : 8;
        struct kiln_diag_msg *m = realloc(d->msgs, (size_t)cap * sizeof *m);
        if (!m) {
            free(text);
            return;
        }
        d->msgs = m;
        d->cap_msgs = cap;
    }
    d->msgs[d->n_msgs].sev = sev;
    d->msgs[d->n_msgs].text = text;
    d->n_msgs++;
    if (d->echo)
        fprintf(d->echo, "%s\n", text);
}

void
kiln_diag_error(struct kiln_diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kiln_diag_vmsg(d, KILN_SEV_ERROR, "", fmt, ap);
    va_end(ap);
}

void
kiln_diag_warning(struct kiln_diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kiln_diag_vmsg(d, KILN_SEV_WARNING, "", fmt, ap);
    va_end(ap);
}

void
kiln_diag_at(struct kiln_diag *d, int line, int col, const char *fmt, ...)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%d:%d", line, col);
    va_list ap;
    va_start(ap, fmt);
    kiln_diag_vmsg(d, KILN_SEV_ERROR, prefix, fmt, ap);
    va_end(ap);
}

void
kiln_diag_node(struct kiln_diag *d, const char *node_name, int32_t node_id, const char *op_name,
               const char *fmt, ...)
{
    char prefix[512];
    if (node_name && node_name[0])
        snprintf(prefix, sizeof prefix, " node '%.400s' (%s)", node_name, op_name);
    else
        snprintf(prefix, sizeof prefix, " node #%d (%s)", (int)node_id, op_name);
    va_list ap;
    va_start(ap, fmt);
    kiln_diag_vmsg(d, KILN_SEV_ERROR, prefix, fmt, ap);
    va_end(ap);
}

void
kiln_diag_print(const struct kiln_diag *d, FILE *f)
{
    for (int i = 0; i < d->n_msgs; i++)
        fprintf(f, "%s\n", d->msgs[i].text);
    int shown = 0;
    for (int i = 0; i < d->n_msgs; i++)
        shown += d->msgs[i].sev == KILN_SEV_ERROR;
    if (d->n_errors > shown)
        fprintf(f, "%s: note: %d more errors not shown\n", d->file ? d->file : "kiln",
                d->n_errors - shown);
}

bool
kiln_diag_has(const struct kiln_diag *d, const char *needle)
{
    for (int i = 0; i < d->n_msgs; i++)
        if (strstr(d->msgs[i].text, needle))
            return true;
    return false;
}

_Noreturn void
kiln_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "kiln: internal error%s%s: %s:%d: assertion '%s' failed\n",
            kiln_current_pass ? " in pass " : "", kiln_current_pass ? kiln_current_pass : "", file,
            line, expr);
    abort();
}
