/*
 * fake_model.c - a hand-written stand-in for a compiled model, to test the
 * executable driver (runtime/main.c) without the compiler.
 *
 *   inputs   x f32[N,3], y i64[3]
 *   outputs  z f32[N,3] = x * 2 + y (y broadcast over rows)
 *
 * It computes like generated code does: two kernels through
 * kiln_rt_parallel_for, the first writing x * 2 into the workspace. It
 * returns KILN_RT_ERR_ARG when the workspace is not 64-byte aligned or y has
 * a negative element (a model-reported failure, for the driver's exit code).
 *
 * Built with FAKE_ODD_NAMES, the output is named ".z/0" and a copy of it
 * "_z_0", to test how the driver names output files.
 */
#include <stdbool.h>

#include "runtime/kiln_rt.h"

static void
k_double(char *const *bufs, const int64_t *dims, int64_t lo, int64_t hi)
{
    (void)dims;
    const float *x = (const float *)bufs[0];
    float *t = (float *)bufs[1];
    for (int64_t i = lo * 3; i < hi * 3; i++)
        t[i] = x[i] * 2.0f;
}

static void
k_add(char *const *bufs, const int64_t *dims, int64_t lo, int64_t hi)
{
    (void)dims;
    const float *t = (const float *)bufs[0];
    const int64_t *y = (const int64_t *)bufs[1];
    float *z = (float *)bufs[2];
    for (int64_t r = lo; r < hi; r++)
        for (int64_t j = 0; j < 3; j++)
            z[r * 3 + j] = t[r * 3 + j] + (float)y[j];
}

static uint64_t
fake_workspace_size(const int64_t *dims)
{
    return (uint64_t)dims[0] * 3 * sizeof(float);
}

#ifdef FAKE_ODD_NAMES
enum { N_OUT = 2 };
#else
enum { N_OUT = 1 };
#endif

static int
fake_run(void *const *inputs, void *const *outputs, const int64_t *dims, void *workspace)
{
    if (((uintptr_t)workspace & 63) != 0)
        return KILN_RT_ERR_ARG;
    const int64_t *y = inputs[1];
    for (int j = 0; j < 3; j++)
        if (y[j] < 0)
            return KILN_RT_ERR_ARG;
    char *b1[] = {inputs[0], workspace};
    kiln_rt_parallel_for(dims[0], k_double, b1, dims);
    for (int o = 0; o < N_OUT; o++) {
        char *b2[] = {workspace, inputs[1], outputs[o]};
        kiln_rt_parallel_for(dims[0], k_add, b2, dims);
    }
    return KILN_RT_OK;
}

/* The model's shape(): x and z are f32[N,3], y is i64[3]; too large past
 * KILN_RT_MAX_BYTES, as generated code checks. */
static int
fake_shape(int output, int index, const int64_t *dims, int64_t *shape, uint64_t *bytes)
{
    if (!shape || !dims || dims[0] < 0 || index < 0 || index >= (output ? N_OUT : 2))
        return KILN_RT_ERR_ARG;
    bool is_y = !output && index == 1;
    if (!is_y && (uint64_t)dims[0] > KILN_RT_MAX_BYTES / 12)
        return KILN_RT_ERR_SIZE;
    shape[0] = is_y ? 3 : dims[0];
    shape[1] = 3;
    if (bytes)
        *bytes = is_y ? 24 : (uint64_t)dims[0] * 12;
    return KILN_RT_OK;
}

static int
fake_check_sizes(const int64_t *dims, const char **value, double *bytes)
{
    if (!dims || dims[0] < 0)
        return KILN_RT_ERR_ARG;
    if ((uint64_t)dims[0] <= KILN_RT_MAX_BYTES / 12)
        return KILN_RT_OK;
    if (value)
        *value = "x";
    if (bytes)
        *bytes = (double)dims[0] * 12;
    return KILN_RT_ERR_SIZE;
}

static const int64_t x_dims[] = {-1, 3}; /* (N, 3) */
static const int64_t y_dims[] = {3};
static const int64_t z_dims[] = {-1, 3}; /* (N, 3) */
static const struct kiln_rt_tensor_desc fake_inputs[] = {
    {"x", KILN_RT_F32, 2, x_dims, "f32[N,3]"},
    {"y", KILN_RT_I64, 1, y_dims, "i64[3]"},
};
static const struct kiln_rt_tensor_desc fake_outputs[] = {
#ifdef FAKE_ODD_NAMES
    {".z/0", KILN_RT_F32, 2, z_dims, "f32[N,3]"},
    {"_z_0", KILN_RT_F32, 2, z_dims, "f32[N,3]"},
#else
    {"z", KILN_RT_F32, 2, z_dims, "f32[N,3]"},
#endif
};
static const char *const fake_dim_names[] = {"N"};

const struct kiln_rt_model kiln_model = {
    .name = "fake",
    .n_inputs = 2,
    .n_outputs = N_OUT,
    .n_dims = 1,
    .inputs = fake_inputs,
    .outputs = fake_outputs,
    .dim_names = fake_dim_names,
    .workspace_size = fake_workspace_size,
    .run = fake_run,
    .shape = fake_shape,
    .check_sizes = fake_check_sizes,
};
