/*
 * clock.c - a monotonic clock for benchmarks and timings.
 */
#define _POSIX_C_SOURCE 200809L

#include <time.h>

#include "runtime/kiln_rt.h"

double
kiln_rt_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0.0;
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}
