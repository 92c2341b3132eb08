/*
 * check.h - the C unit tests' one assertion: CHECK(cond) counts a pass or
 * prints the failed condition with its line and counts a failure; a test ends
 * by printing "N passed, N failed" from n_pass and n_fail. Included once per
 * test program.
 */
#ifndef KILN_TEST_CHECK_H
#define KILN_TEST_CHECK_H

#include <stdio.h>

static int n_pass, n_fail;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            n_pass++;                                                                              \
        } else {                                                                                   \
            n_fail++;                                                                              \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
        }                                                                                          \
    } while (0)

#endif
