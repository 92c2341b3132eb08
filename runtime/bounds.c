/*
 * bounds.c - the report of kiln compile --check-bounds: the generated run
 * function records here the access that stopped it, before it returns
 * KILN_RT_ERR_BOUNDS; the caller reads it on the same thread.
 */
#include "runtime/kiln_rt.h"

#include <stdio.h>

static _Thread_local struct kiln_rt_bounds last;
static _Thread_local int have_last;
/* copies: the names may live in code that is unloaded after the run (a JIT) */
static _Thread_local char kernel_name[256], buffer_name[256];

const struct kiln_rt_bounds *
kiln_rt_bounds_last(void)
{
    return have_last ? &last : NULL;
}

void
kiln_rt_bounds_set(const char *kernel, const char *buffer, int64_t index, int64_t lanes,
                   int64_t extent, int store)
{
    snprintf(kernel_name, sizeof kernel_name, "%s", kernel ? kernel : "?");
    snprintf(buffer_name, sizeof buffer_name, "%s", buffer ? buffer : "?");
    last = (struct kiln_rt_bounds){kernel_name, buffer_name, index, lanes, extent, store};
    have_last = 1;
}
