/*
 * inline_defaults.c - the pass `inline-defaults`: graph inputs that carry a
 * default value (ONNX initializers also listed as graph inputs, which IR
 * versions before 4 require for every weight) become constants.
 *
 * ONNX lets a caller override such an input; a compiled model treats them as
 * the weights they are, so shape inference can read them (ConstantOfShape's
 * shape, Reshape's target) and codegen embeds them. Inputs without a default
 * are untouched. Requires: nothing. Establishes: no graph input has data.
 * Shape inference must run after it (the -O pipelines do). Complexity: linear
 * in the number of inputs.
 */
#include "pass.h"

enum kiln_status
kiln_pass_inline_defaults(struct kiln_pass_ctx *pc, struct kiln_graph *g)
{
    (void)pc;
    int32_t kept = 0;
    for (int32_t i = 0; i < g->n_inputs; i++) {
        struct kiln_value *v = g->values[g->inputs[i]];
        if (v->data && v->data->data) {
            v->kind = KILN_VALUE_CONST;
            continue;
        }
        g->inputs[kept++] = g->inputs[i];
    }
    g->n_inputs = kept;
    return KILN_OK;
}
