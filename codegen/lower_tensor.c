/*
 * lower_tensor.c - lowering of data movement: the reshaping ops (Reshape,
 * Flatten, Squeeze, Unsqueeze), which keep the row-major order and so copy
 * element for element.
 *
 * Contract (lower_ops.h). A later memory pass makes these views of their
 * input instead of copies; the copy is the general case.
 */
#include "codegen/lower_ops.h"

enum kiln_status
kiln_lower_copy(struct kiln_lower_ctx *lc)
{
    int32_t x = kiln_lower_in(lc, 0), y = kiln_lower_out(lc, 0);
    struct kiln_lx *idx[KILN_MAX_RANK], *flat;
    struct kiln_lblock *b = kiln_lower_loop_over(lc, y, idx, &flat);
    kiln_lb_store(lc, b, y, flat, kiln_lx_load(lc, x, flat));
    return KILN_OK;
}
