/* Drives a kiln-compiled tinynet through its generated header (lit: compile-tinynet.test). */
#include <stdio.h>
#include <stdlib.h>

#include "tinynet.h"

int
main(void)
{
    enum { N = 2 };
    static float x[N * 3 * 32 * 32], y[N * 10];
    for (int i = 0; i < N * 3 * 32 * 32; i++)
        x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    tinynet_inputs in = {x, N};
    tinynet_outputs out = {y};
    uint64_t ws_size = tinynet_workspace_size(&in);
    printf("workspace %s\n", ws_size > 0 && ws_size % 64 == 0 ? "ok" : "bad");
    void *ws = aligned_alloc(64, ws_size);
    int rc = tinynet_run(&in, &out, ws);
    printf("run %d\n", rc);
    double sum = 0;
    for (int i = 0; i < N * 10; i++)
        sum += y[i];
    printf("sum %.3f\n", sum); /* each row of softmax sums to 1 */
    free(ws);
    /* a missing workspace is refused, not a crash */
    return tinynet_run(&in, &out, NULL) == 1 ? 0 : 1;
}
