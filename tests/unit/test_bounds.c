/*
 * test_bounds.c - kiln compile --check-bounds, the generated code's sanitizer
 * (codegen/llvm/emit.c): a lowered module whose kernel is made to store, or
 * load, one element past its buffer must stop with KILN_RT_ERR_BOUNDS and
 * report the kernel, the buffer and the elements (kiln_rt_bounds_last); the
 * untouched module must run clean under the same checks, at the runtime dims
 * given and at 0.
 *
 * Prints one line per failed check and closes with "N passed, N failed".
 */
#include <stdio.h>
#include <string.h>

#include "codegen/llvm/llvm.h"
#include "codegen/lower.h"
#include "ir/arena.h"
#include "ir/ir.h"
#include "ir/text.h"
#include "runtime/kiln_rt.h"

#include "tests/unit/check.h"

static const char *const GRAPH = "kiln 1\n"
                                 "@g(%x: f32[N,8]) {\n"
                                 "  %y = Relu(%x) : f32[N,8]\n"
                                 "  return %y\n"
                                 "}\n";

/* The first STORE of a block (depth first), or NULL. */
static struct kiln_ls *
first_store(struct kiln_lblock *b)
{
    for (int32_t i = 0; i < b->n; i++) {
        struct kiln_ls *s = b->s[i];
        if (s->kind == KILN_LS_STORE)
            return s;
        struct kiln_ls *in = first_store(&s->body);
        if (!in)
            in = first_store(&s->orelse);
        if (in)
            return in;
    }
    return NULL;
}

/* The first LOAD or VLOAD of an expression, or NULL. */
static struct kiln_lx *
first_load(struct kiln_lx *x)
{
    if (!x)
        return NULL;
    if (x->kind == KILN_LX_LOAD || x->kind == KILN_LX_VLOAD)
        return x;
    struct kiln_lx *r = first_load(x->a);
    if (!r)
        r = first_load(x->b);
    if (!r)
        r = first_load(x->c);
    return r;
}

/* idx + k, an i64 expression in m's arena. */
static struct kiln_lx *
shifted(struct kiln_lmodule *m, struct kiln_lx *idx, int64_t k)
{
    struct kiln_lx *c = kiln_arena_alloc(m->arena, sizeof *c);
    struct kiln_lx *s = kiln_arena_alloc(m->arena, sizeof *s);
    memset(c, 0, sizeof *c);
    memset(s, 0, sizeof *s);
    c->kind = KILN_LX_IMM;
    c->type = KILN_DT_I64;
    c->i = k;
    c->lanes = 1;
    s->kind = KILN_LX_BINARY;
    s->type = KILN_DT_I64;
    s->op = KILN_LX_ADD;
    s->a = idx;
    s->b = c;
    s->lanes = 1;
    return s;
}

/* Lower GRAPH; fault 0: as it is, 1: its store one element on, 2: its load. */
static struct kiln_lmodule *
lowered(int fault)
{
    struct kiln_diag d;
    kiln_diag_init(&d, "test_bounds");
    struct kiln_graph *g = NULL;
    struct kiln_lmodule *m = NULL;
    if (kiln_graph_parse(GRAPH, strlen(GRAPH), "g.kir", &g, &d) != KILN_OK ||
        kiln_lower_graph(g, &m, &d) != KILN_OK) {
        kiln_diag_print(&d, stdout);
        kiln_diag_fini(&d);
        kiln_graph_free(g);
        return NULL;
    }
    kiln_diag_fini(&d);
    struct kiln_ls *st = NULL;
    for (int32_t k = 0; k < m->n_kernels && !st; k++)
        st = first_store(&m->kernels[k]->body);
    if (!st)
        return m;
    if (fault == 1)
        st->idx = shifted(m, st->idx, 1);
    struct kiln_lx *ld = first_load(st->val);
    if (fault == 2 && ld)
        ld->a = shifted(m, ld->a, 1);
    return m; /* the graph stays alive with the module (m->g); done() frees both */
}

/* Free a module from lowered() and the graph it was lowered from. */
static void
done(struct kiln_lmodule *m)
{
    struct kiln_graph *g = (struct kiln_graph *)m->g;
    kiln_lmodule_free(m);
    kiln_graph_free(g);
}

static int
run(struct kiln_lmodule *m, int64_t n, float *x, float *y)
{
    struct kiln_llvm_opts o;
    kiln_llvm_opts_default(&o);
    o.check_bounds = true;
    o.opt_level = 2;
    struct kiln_diag d;
    kiln_diag_init(&d, "test_bounds");
    void *ins[1] = {x}, *outs[1] = {y};
    int64_t dims[1] = {n};
    int rc = -1;
    if (kiln_llvm_jit_run(m, &o, ins, outs, dims, &rc, &d) != KILN_OK) {
        kiln_diag_print(&d, stdout);
        rc = -1;
    }
    kiln_diag_fini(&d);
    return rc;
}

int
main(void)
{
    enum { N = 5 };
    float x[N * 8 + 64], y[N * 8 + 64];
    for (int i = 0; i < N * 8 + 64; i++) {
        x[i] = (float)(i % 7) - 3.0f;
        y[i] = -1.0f;
    }
    struct kiln_lmodule *m = lowered(0);
    CHECK(m != NULL);
    if (m) {
        CHECK(run(m, N, x, y) == 0);
        CHECK(kiln_rt_bounds_last() == NULL);
        CHECK(y[N * 8 - 1] == (x[N * 8 - 1] > 0 ? x[N * 8 - 1] : 0) && y[N * 8] == -1.0f);
        CHECK(run(m, 0, x, y) == 0);
        done(m);
    }
    for (int fault = 1; fault <= 2; fault++) {
        m = lowered(fault);
        CHECK(m != NULL);
        if (!m)
            continue;
        int rc = run(m, N, x, y);
        CHECK(rc == KILN_RT_ERR_BOUNDS);
        const struct kiln_rt_bounds *b = kiln_rt_bounds_last();
        CHECK(b != NULL);
        if (b) {
            printf("fault %d: kernel %s %s %s [%lld, %lld) of %lld\n", fault, b->kernel,
                   b->store ? "store" : "load", b->buffer, (long long)b->index,
                   (long long)(b->index + b->lanes), (long long)b->extent);
            CHECK(strstr(b->kernel, "Relu") != NULL);
            CHECK(strcmp(b->buffer, fault == 1 ? "y" : "x") == 0);
            CHECK(b->store == (fault == 1));
            CHECK(b->extent == N * 8);
            CHECK(b->index + b->lanes > b->extent && b->index < b->extent + 1);
        }
        done(m);
    }
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail != 0;
}
