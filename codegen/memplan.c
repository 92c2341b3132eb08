/*
 * memplan.c - where the temporaries of a loop module go in the workspace.
 *
 * A temporary lives from the first step (kernel or control-flow marker) that
 * names it to the last; a step inside a loop's body stands for the whole
 * loop, since the body runs again. Temporaries whose lives overlap get
 * disjoint slices, the others may share: largest first, each at the lowest
 * 64-byte aligned offset free of the slices of the temporaries already placed
 * whose lives overlap its own. Every buffer a kernel names is live at that
 * kernel, so the buffers of one kernel are still disjoint (what the alias
 * scopes of the LLVM backend promise), and a layer's result can take the
 * place of inputs that died before it, which keeps the working set of a CNN
 * in cache rather than streaming every activation to memory.
 *
 * A view (kiln_lbuf.alias: a Concat operand written in place) is not placed:
 * it lives within its buffer, whose life it extends. The plan needs each
 * temporary's size at compile time; with a runtime dim in one, the backend
 * lays them out one after another instead.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/lower.h"

struct life {
    int32_t buf, first, last;
    int64_t bytes, off;
};

static void
touch(struct life *l, int32_t step)
{
    if (l->first < 0 || step < l->first)
        l->first = step;
    if (step > l->last)
        l->last = step;
}

static int
by_size(const void *a, const void *b)
{
    const struct life *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->first - y->first;
}

static int
by_off(const void *a, const void *b)
{
    const struct life *x = *(const struct life *const *)a, *y = *(const struct life *const *)b;
    return x->off < y->off ? -1 : x->off > y->off;
}

bool
kiln_lmodule_plan_temps(const struct kiln_lmodule *m, int64_t *offs, int64_t *total)
{
    int32_t *idx = malloc(((size_t)m->n_bufs + 1) * sizeof *idx);
    struct life *l = calloc((size_t)m->n_bufs + 1, sizeof *l);
    struct life **conf = calloc((size_t)m->n_bufs + 1, sizeof *conf);
    KILN_ASSERT(idx && l && conf);
    int32_t n = 0;
    bool ok = true;
    for (int32_t b = 0; b < m->n_bufs && ok; b++) {
        idx[b] = -1;
        const struct kiln_lbuf *lb = &m->bufs[b];
        if (lb->kind != KILN_LBUF_TEMP || lb->alias >= 0)
            continue;
        int64_t elems = 1;
        uint64_t bytes = 0;
        for (int r = 0; r < lb->rank && ok; r++) {
            ok = lb->dims[r]->kind == KILN_LX_IMM && lb->dims[r]->i >= 0;
            ok = ok && !__builtin_mul_overflow(elems, lb->dims[r]->i, &elems);
        }
        /* kiln_lmodule_check_sizes refused sizes past KILN_MAX_BYTES: none overflows here */
        if (!ok || !kiln_dtype_storage_bytes(lb->dtype, elems, &bytes) || bytes > KILN_MAX_BYTES)
            ok = false;
        idx[b] = n;
        l[n++] = (struct life){
            .buf = b, .first = -1, .last = -1, .bytes = (int64_t)((bytes + 63) & ~UINT64_C(63))};
    }
    /* a view (a Concat operand written in place) lives in its buffer's life */
    for (int32_t b = 0; b < m->n_bufs && ok; b++) {
        int32_t t = m->bufs[b].alias;
        while (t >= 0 && m->bufs[t].alias >= 0)
            t = m->bufs[t].alias;
        if (t >= 0)
            idx[b] = idx[t];
    }
    if (ok) {
        for (int32_t s = 0; s < m->n_kernels; s++)
            for (int32_t j = 0; j < m->kernels[s]->n_bufs + 3; j++) {
                int32_t b = kiln_lstep_buf(m->kernels[s], j);
                if (b >= 0 && idx[b] >= 0)
                    touch(&l[idx[b]], s);
            }
        /* a life that meets a loop spans it (again until nothing changes:
         * loops nest) */
        for (bool grew = true; grew;) {
            grew = false;
            for (int32_t s = 0; s < m->n_kernels; s++) {
                const struct kiln_lkernel *k = m->kernels[s];
                if (k->step != KILN_LSTEP_LOOP)
                    continue;
                int32_t end = s + k->n_body;
                for (int32_t i = 0; i < n; i++) {
                    if (l[i].first < 0 || l[i].last < s || l[i].first > end)
                        continue;
                    if (l[i].first > s || l[i].last < end) {
                        l[i].first = l[i].first < s ? l[i].first : s;
                        l[i].last = l[i].last > end ? l[i].last : end;
                        grew = true;
                    }
                }
            }
        }
        qsort(l, (size_t)n, sizeof *l, by_size);
        int64_t top = 0;
        for (int32_t i = 0; i < n; i++) {
            l[i].off = 0;
            if (l[i].first < 0) /* named by no step: never addressed */
                continue;
            int32_t nc = 0;
            for (int32_t j = 0; j < i; j++)
                if (l[j].first >= 0 && l[j].first <= l[i].last && l[i].first <= l[j].last)
                    conf[nc++] = &l[j];
            /* the lowest offset where it fits between the slices in conflict */
            qsort(conf, (size_t)nc, sizeof *conf, by_off);
            int64_t at = 0;
            for (int32_t j = 0; j < nc; j++) {
                if (conf[j]->off >= at + l[i].bytes)
                    break;
                int64_t end = conf[j]->off + conf[j]->bytes;
                at = end > at ? end : at;
            }
            l[i].off = at;
            /* each slice is at most 2^48 bytes and there are fewer than 2^31: no overflow */
            top = at + l[i].bytes > top ? at + l[i].bytes : top;
        }
        for (int32_t i = 0; i < n; i++)
            offs[l[i].buf] = l[i].off;
        for (int32_t b = 0; b < m->n_bufs; b++) /* views: the emitter places them */
            if (m->bufs[b].alias >= 0)
                offs[b] = 0;
        *total = top;
    }
    free(idx);
    free(l);
    free(conf);
    return ok;
}

enum kiln_status
kiln_lmodule_check_sizes(const struct kiln_lmodule *m, struct kiln_diag *d)
{
    for (int32_t b = 0; b < m->n_bufs; b++) {
        const struct kiln_lbuf *lb = &m->bufs[b];
        if (lb->kind == KILN_LBUF_REG || lb->alias >= 0)
            continue;
        int64_t elems = 1;
        bool fixed = true, over = false, empty = false;
        for (int r = 0; r < lb->rank; r++) {
            const struct kiln_lx *x = lb->dims[r];
            if (x->kind != KILN_LX_IMM) {
                fixed = false;
                continue;
            }
            empty |= x->i == 0;
            over |= x->i < 0 || __builtin_mul_overflow(elems, x->i, &elems);
        }
        uint64_t bytes = 0;
        if (empty || !fixed)
            continue; /* a runtime size: the artifact's check_sizes checks it */
        over |= !kiln_dtype_storage_bytes(lb->dtype, elems, &bytes);
        if (over || bytes > KILN_MAX_BYTES) {
            if (over)
                kiln_diag_error(d, "value '%s': its size overflows 64 bits: too large", lb->name);
            else
                kiln_diag_error(d,
                                "value '%s': %llu bytes (2^%.1f): too large (kiln's limit is "
                                "2^48 bytes per buffer)",
                                lb->name, (unsigned long long)bytes, log2((double)bytes));
            return KILN_ERR_UNSUPPORTED;
        }
    }
    return KILN_OK;
}
