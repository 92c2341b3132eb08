/*
 * test_passes.c - unit tests of the pass manager's tables (passes/pass.c).
 *
 * - every -O pipeline names passes that exist and keeps every ordering
 *   constraint of kiln_pass_orders;
 * - every constraint names passes of the table, and a pipeline that breaks
 *   one is caught (and one that has only one side of it is not);
 * - pass names are unique.
 *
 * Prints one line per failed check and closes with "N passed, N failed".
 */
#include <stdio.h>
#include <string.h>

#include "passes/pass.h"

#include "tests/unit/check.h"

/* Whether every comma-separated name of pipeline is in the pass table. */
static bool
all_known(const char *pipeline)
{
    char name[128];
    for (const char *p = pipeline; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || n >= sizeof name)
            return false;
        memcpy(name, p, n);
        name[n] = 0;
        if (!kiln_pass_find(name))
            return false;
        if (!e)
            break;
        p = e + 1;
    }
    return true;
}

int
main(void)
{
    for (int level = 0; level <= 3; level++) {
        const char *pl = kiln_pass_pipeline_for_level(level);
        CHECK(pl != NULL);
        if (!pl)
            continue;
        CHECK(all_known(pl));
        const struct kiln_pass_order *o = kiln_pass_pipeline_check(pl);
        if (o)
            printf("-O%d breaks: %s before %s\n", level, o->before, o->after);
        CHECK(o == NULL);
    }
    CHECK(kiln_pass_pipeline_for_level(4) == NULL);
    for (const struct kiln_pass_order *o = kiln_pass_orders; o->before; o++) {
        CHECK(kiln_pass_find(o->before) && kiln_pass_find(o->after) && o->why && o->why[0]);
        char pl[256];
        snprintf(pl, sizeof pl, "%s,%s", o->after, o->before);
        CHECK(kiln_pass_pipeline_check(pl) == o);
        snprintf(pl, sizeof pl, "%s,%s", o->before, o->after);
        CHECK(kiln_pass_pipeline_check(pl) == NULL);
        CHECK(kiln_pass_pipeline_check(o->after) == NULL); /* one side only */
    }
    CHECK(kiln_pass_pipeline_check("fuse,dce,fuse-patterns") != NULL);
    CHECK(kiln_pass_pipeline_check("") == NULL);
    for (const struct kiln_pass_info *a = kiln_pass_table; a->name; a++)
        for (const struct kiln_pass_info *b = a + 1; b->name; b++)
            CHECK(strcmp(a->name, b->name) != 0);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
