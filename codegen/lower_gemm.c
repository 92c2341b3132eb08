/*
 * lower_gemm.c - register-tiled kernels over weights packed at compile time.
 *
 * The micro-kernel: a tile of NR rows by L = 2 x 16 lanes of accumulators
 * held in vector variables (lower.h's vector expressions: they become vector
 * registers, no auto-vectorizer involved), updated per step k by a rank-1
 * product: per row a scalar a[r] splat across the lanes, times two vector
 * loads of a packed panel shared by all rows, 2 * NR vector FMAs (on x86 an
 * embedded-broadcast load, two loads and 16 FMAs for NR = 8). The panel is
 * laid out by the lowering at compile time, [L-block][k][L], zero-filled past
 * the real extent, so every step reads contiguous memory and the lane count
 * is a constant.
 *
 * Convolution (groups 1, constant weights) as an implicit GEMM: the lanes are
 * L output channels, the rows NR output pixels of one image, the steps the
 * (tap, input channel) pairs. A 1x1 convolution with stride 1 and no padding
 * tiles the flattened image and reads the input in place; an unpadded strided
 * one reads it in place too, S columns apart. A padded one first copies the
 * input zero-padded, each row split by column phase (stride S: padded column
 * c at (c % S) * Wq + c / S), and tiles output rows: NR consecutive pixels of
 * a row (NR = 8, or the row when it is narrower) then read consecutive input
 * elements for every tap, with no bounds tests. A row (image) of known length
 * ends in a tile of the remaining pixels; otherwise the last tile starts
 * early, overlapping the one before, and stores only its own pixels. Channels
 * past M are not stored. The tile is turned into one vector of pixels per
 * channel (tile_columns), which goes through the bias and the fused epilogue
 * on vectors (kiln_lb_store_out_lanes); what does not widen stores each
 * element once through kiln_lb_store_out.
 *
 * A 3x3 convolution with stride 1 goes by Winograd's transforms instead, when
 * its channels fit the vectors (wino_*, below): four kernels around the same
 * register tile.
 */
#include <math.h>
#include <string.h>

#include "codegen/lower_build.h"
#include "codegen/lower_ops.h"

/*
 * The tile's shape follows the target (struct kiln_lower_target): two vectors
 * of vl f32 lanes per row (L = 2 vl lanes: 32 on AVX-512, 16 on AVX2, 8 on
 * SSE and NEON), and 8 rows where there are 32 vector registers (16
 * accumulators, 2 panel vectors and a broadcast), 6 where there are 16.
 */
enum { TILE_NV = 2, TILE_NR = 8, PB_RUN = 8 };

/* Software prefetch of the conv tile's panel: how many steps ahead, and the
 * f32 elements per 64-byte cache line. */
enum { PF_AHEAD = 32, CACHE_LINE_F32 = 16 };

struct tile {
    int nr, vl;
    int32_t acc[TILE_NR][TILE_NV];
};

/* The target's lanes per vector, lanes per tile row (L) and rows per tile. */
static void
tile_shape(const struct kiln_lower_ctx *lc, int *vl, int *l, int *nr)
{
    *vl = f32_lanes(lc);
    *l = TILE_NV * *vl;
    *nr = lc->m->target.vector_regs >= 32 ? 8 : 6;
}

static void
tile_zero(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, struct tile *t, int nr,
          enum kiln_dtype ct)
{
    t->nr = nr;
    t->vl = f32_lanes(lc);
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < TILE_NV; v++) {
            t->acc[r][v] = kiln_lk_vvar(lc, ct, t->vl, "acc");
            kiln_lb_set(lc, blk, t->acc[r][v], kiln_lx_splat(lc, fimm(lc, ct, 0), t->vl));
        }
}

/* One step: row r gains a[r] * panel[at, at + L), a scalar broadcast times
 * TILE_NV vector loads shared by all rows. */
static void
tile_step(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, struct tile *t,
          struct kiln_lx *const *a, int32_t panel, struct kiln_lx *at, enum kiln_dtype ct)
{
    int32_t bv[TILE_NV];
    for (int v = 0; v < TILE_NV; v++) {
        bv[v] = kiln_lk_vvar(lc, ct, t->vl, "b");
        kiln_lb_set(lc, blk, bv[v],
                    kiln_lx_vload(lc, panel, add_i(lc, at, IX(lc, v * t->vl)), t->vl));
    }
    for (int r = 0; r < t->nr; r++) {
        int32_t av = kiln_lk_vvar(lc, ct, t->vl, "a");
        kiln_lb_set(lc, blk, av, kiln_lx_splat(lc, a[r], t->vl));
        for (int v = 0; v < TILE_NV; v++)
            accum(lc, blk, t->acc[r][v], KILN_LX_ADD,
                  bin(lc, KILN_LX_MUL, V(lc, av), V(lc, bv[v])));
    }
}

/*
 * Prefetches for a tile step reading panel[at, at + L): the panel PF_AHEAD
 * steps ahead into L1 (a block's first tile streams its panel from memory: a
 * large network's weights do not stay in cache between runs), and the next
 * block's panel (block elements further) at this step into L2: the block's
 * later tiles fetch it while they compute, so that the next block's first
 * tile finds it there. A line past the end is a no-op.
 */
static void
panel_prefetch(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, int32_t panel,
               struct kiln_lx *at, int64_t block)
{
    const int L = TILE_NV * f32_lanes(lc);
    for (int o = 0; o < L; o += CACHE_LINE_F32) {
        kiln_lb_prefetch(lc, blk, panel, add_i(lc, at, IX(lc, PF_AHEAD * L + o)), 1, false);
        kiln_lb_prefetch(lc, blk, panel, add_i(lc, at, IX(lc, block + o)), 2, false);
    }
}

/*
 * nr row vectors of vl lanes by columns: cols[j] gets the rows' lane j (a
 * vector of nr lanes), for every j < vl; false (nothing built) when the rows,
 * rounded up to a power of two R, outnumber the lanes. The R x vl block is
 * transposed by log2(R) butterfly stages: stage s pairs the vectors
 * h = R / 2^(s+1) apart and splits their elements by bit log2(vl) - 1 - s of
 * the lane, two 2-input shuffles per pair, each output ordered by (lane, row).
 * After the stages vector i holds the lanes whose top log2(R) bits are i, R
 * rows each; a last shuffle takes the nr real rows (rows past nr repeat row 0
 * as filler and are dropped).
 */
bool
kiln_lower_transpose_rows(struct kiln_lower_ctx *lc, struct kiln_lblock *blk,
                          struct kiln_lx *const *rows, int nr, int vl, enum kiln_dtype ct,
                          struct kiln_lx **cols)
{
    enum { MAXL = 32 };
    int R = 1, lg = 0, lgvl = 0;
    while (R < nr)
        R *= 2, lg++;
    while ((1 << lgvl) < vl)
        lgvl++;
    if (nr < 2 || R > vl || vl > MAXL)
        return false;
    struct kiln_lx *cur[MAXL];
    uint8_t row[MAXL][MAXL], lane[MAXL][MAXL]; /* what each lane holds */
    for (int r = 0; r < R; r++) {
        cur[r] = rows[r < nr ? r : 0];
        for (int j = 0; j < vl; j++)
            row[r][j] = (uint8_t)r, lane[r][j] = (uint8_t)j;
    }
    for (int s = 0, h = R / 2; h >= 1; s++, h /= 2) {
        const int bit = lgvl - 1 - s;
        for (int i = 0; i < R; i++) {
            if (i & h)
                continue;
            uint8_t nrow[2][MAXL], nlane[2][MAXL];
            int32_t mask[2][MAXL], n[2] = {0, 0};
            /* both inputs' elements, by (lane, row), into the output of their bit */
            for (int j = 0; j < vl; j++)
                for (int r = 0; r < R; r++)
                    for (int src = 0; src < 2; src++) {
                        int at = src ? i + h : i;
                        for (int q = 0; q < vl; q++)
                            if (lane[at][q] == j && row[at][q] == r) {
                                int o = (j >> bit) & 1;
                                nrow[o][n[o]] = (uint8_t)r;
                                nlane[o][n[o]] = (uint8_t)j;
                                mask[o][n[o]++] = src * vl + q;
                            }
                    }
            KILN_ASSERT(n[0] == vl && n[1] == vl);
            struct kiln_lx *a = cur[i], *b = cur[i + h];
            for (int o = 0; o < 2; o++) {
                int32_t sv = kiln_lk_vvar(lc, ct, vl, "tr");
                kiln_lb_set(lc, blk, sv, kiln_lx_shuffle(lc, a, b, mask[o], vl));
                cur[o ? i + h : i] = V(lc, sv);
                memcpy(row[o ? i + h : i], nrow[o], (size_t)vl);
                memcpy(lane[o ? i + h : i], nlane[o], (size_t)vl);
            }
        }
    }
    /* lane j of the vector: vector j >> (lgvl - lg), from (j % (vl / R)) * R */
    for (int j = 0; j < vl; j++) {
        int32_t mask[MAXL];
        int from = (j % (vl / R)) * R;
        for (int r = 0; r < nr; r++)
            mask[r] = from + r;
        struct kiln_lx *src = cur[j >> (lgvl - lg)];
        cols[j] = nr == vl ? src : kiln_lx_shuffle(lc, src, src, mask, nr);
    }
    return true;
}

/* The tile by columns: cols[l] gets the nr rows' lane l (a vector of nr
 * lanes), for every l of the L lanes, each of the row's vectors transposed
 * on its own (kiln_lower_transpose_rows); false when that cannot be. */
static bool
tile_columns(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, const struct tile *t,
             enum kiln_dtype ct, struct kiln_lx **cols)
{
    for (int v = 0; v < TILE_NV; v++) {
        struct kiln_lx *rows[TILE_NR];
        for (int r = 0; r < t->nr; r++)
            rows[r] = V(lc, t->acc[r][v]);
        if (!kiln_lower_transpose_rows(lc, blk, rows, t->nr, t->vl, ct, cols + v * t->vl))
            return false;
    }
    return true;
}

/* Element (r, l) of the tile, a scalar. */
static struct kiln_lx *
tile_at(struct kiln_lower_ctx *lc, const struct tile *t, int r, int l)
{
    return kiln_lx_extract(lc, V(lc, t->acc[r][l / t->vl]), l % t->vl);
}

/*
 * Where a kernel that stores its raw accumulators and then runs the epilogue
 * as a pass (the pass reads each element back and overwrites it) keeps them:
 * the result itself when it is memory of type ct (*in_place; no pass is needed
 * unless there is a bias), else the fused node's result when that fits
 * (kiln_lower_fused_result), else a scratch of numel elements.
 */
static int32_t
raw_accumulator(struct kiln_lower_ctx *lc, int32_t y, enum kiln_dtype ct, struct kiln_lx *numel,
                bool *in_place)
{
    const struct kiln_lbuf *yb = kiln_lower_buf(lc, y);
    *in_place = yb->kind != KILN_LBUF_REG && yb->dtype == ct;
    int32_t acc = *in_place ? y : kiln_lower_fused_result(lc, ct);
    return acc >= 0 ? acc : kiln_lower_slot(lc, kiln_lower_scratch(lc, ct, numel));
}

/*
 * A variable holding where a tile starts: t0, except that a tile that would run
 * past the end starts at limit (end - its size) instead, overlapping the one
 * before; 0 when even the first tile is longer than the extent (limit < 0).
 */
static int32_t
tile_start(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, struct kiln_lx *t0,
           struct kiln_lx *limit, const char *name)
{
    int32_t v = kiln_lk_var(lc, KILN_DT_I64, name);
    kiln_lb_set(lc, blk, v,
                kiln_lx_select(lc, bin(lc, KILN_LX_LT, limit, IX(lc, 0)), IX(lc, 0),
                               kiln_lx_select(lc, bin(lc, KILN_LX_LT, t0, limit), t0, limit)));
    return v;
}

/*
 * A constant 2-D operand t packed for a tile whose lanes (or rows) run along
 * its axis of nb elements (stride sb in t) and whose steps run along the
 * other, of nd (stride sd): panels [nb / l][nd][l], element (b, d) at
 * ((b / l) * nd + d) * l + b % l (nb a multiple of l). Returns the buffer.
 */
static int32_t
pack_panels(struct kiln_lower_ctx *lc, enum kiln_dtype ct, const struct kiln_tensor *t, int64_t nb,
            int64_t sb, int64_t nd, int64_t sd, int l)
{
    void *data;
    /* a last panel of fewer than l lanes is zero-padded to l */
    int32_t buf = kiln_lower_const(lc, ct, (nb + l - 1) / l * l * nd, "packed", &data);
    float *pw = data;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t d = 0; d < nd; d++) {
            double v = 0;
            kiln_tensor_get_f64(t, b * sb + d * sd, &v);
            pw[((b / l) * nd + d) * l + b % l] = (float)v;
        }
    return buf;
}

/*
 * The input of a convolution as its vector kernels read it: a copy
 * [N, C, Hp, S * Wq] of x [N, C, H, W], zero-padded (pad[4] as ONNX orders
 * them), each row split by column phase for the width stride S (padded
 * column cp at (cp % S) * Wq + cp / S, Wq = ceil(Wp / S)): then output column
 * o's tap at padded column o * S + kc is at (kc % S) * Wq + o + kc / S, so
 * consecutive output columns read consecutive elements for every tap.
 */
struct padded {
    struct kiln_lx *H, *W, *Hp, *Wq, *RW; /* x's rows and columns; the copy's (RW = S * Wq) */
    const int64_t *pad;
    int64_t S;
};

static struct padded
padded_shape(struct kiln_lower_ctx *lc, int32_t x, const int64_t *pad, int64_t S)
{
    struct padded p = {
        .H = kiln_lower_dim(lc, x, 2), .W = kiln_lower_dim(lc, x, 3), .pad = pad, .S = S};
    p.Hp = add_i(lc, p.H, IX(lc, pad[0] + pad[2]));
    struct kiln_lx *Wp = add_i(lc, p.W, IX(lc, pad[1] + pad[3]));
    p.Wq = div_i(lc, add_i(lc, Wp, IX(lc, S - 1)), IX(lc, S));
    p.RW = mul_i(lc, p.Wq, IX(lc, S));
    return p;
}

/* Appends to blk the copy of plane q (n * C + c) of x into dst from dst0 on,
 * the padding filled with fill. */
static void
copy_plane(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, int32_t x, struct kiln_lx *q,
           const struct padded *pp, int32_t dst, struct kiln_lx *dst0, struct kiln_lx *fill,
           enum kiln_dtype ct)
{
    const int64_t S = pp->S, *pad = pp->pad;
    int32_t ih, iw;
    struct kiln_ls *fr = loop(lc, blk, "ih", pp->Hp, &ih);
    struct kiln_lx *row = sub_i(lc, V(lc, ih), IX(lc, pad[0]));
    struct kiln_lx *at = add_i(lc, dst0, mul_i(lc, V(lc, ih), pp->RW));
    /* inside rows: slot j of phase ph is padded column j * S + ph. The slots
     * whose S columns are all inside the image, [lo, hi), copy with no test:
     * one loop over j storing every phase (its loads, consecutive columns, are
     * one interleaved group LLVM vectorizes with wide loads and shuffles).
     * The slots before and after, per phase, take the fill outside the image
     * by a select. Outside rows: the fill. */
    struct kiln_ls *in = kiln_lb_if(lc, &fr->body, in_range(lc, row, pp->H));
    struct kiln_lx *srow = mul_i(lc, add_i(lc, mul_i(lc, q, pp->H), row), pp->W);
    struct kiln_lx *lo = IX(lc, (pad[1] + S - 1) / S);
    struct kiln_lx *hi = div_i(lc, add_i(lc, pp->W, IX(lc, pad[1])), IX(lc, S));
    if (hi->kind == KILN_LX_IMM)
        hi = hi->i < lo->i ? lo : hi;
    else
        hi = kiln_lx_select(lc, bin(lc, KILN_LX_LT, hi, lo), lo, hi);
    /* the widest vectors the interior fills: the target's, 8 or 4 lanes */
    int vl = f32_lanes(lc);
    while (vl > 4 && hi->kind == KILN_LX_IMM && hi->i - lo->i < vl)
        vl /= 2;
    struct kiln_lblock *body = NULL;
    bool vec = S <= 2 && vl > 1 && vl <= 64 && hi->kind == KILN_LX_IMM && hi->i - lo->i >= vl &&
               kiln_lower_buf(lc, x)->dtype == ct;
    if (vec) {
        /* known bounds: vectors of vl slots, S loads of consecutive columns
         * each, split by phase with shuffles; the last starts at hi - vl,
         * overlapping the one before (its slots are stored again, the same) */
        int32_t even[64], odd[64];
        for (int j = 0; j < vl; j++)
            even[j] = 2 * j, odd[j] = 2 * j + 1;
        for (int64_t j = lo->i; j < hi->i; j += vl) {
            int64_t j0 = j + vl <= hi->i ? j : hi->i - vl;
            struct kiln_lx *src = add_i(lc, srow, IX(lc, j0 * S - pad[1]));
            struct kiln_lx *v0 = kiln_lx_vload(lc, x, src, vl);
            if (S == 1) {
                kiln_lb_store(lc, &in->body, dst, add_i(lc, at, IX(lc, j0)), v0);
                continue;
            }
            struct kiln_lx *v1 = kiln_lx_vload(lc, x, add_i(lc, src, IX(lc, vl)), vl);
            kiln_lb_store(lc, &in->body, dst, add_i(lc, at, IX(lc, j0)),
                          kiln_lx_shuffle(lc, v0, v1, even, vl));
            kiln_lb_store(lc, &in->body, dst, add_i(lc, at, add_i(lc, pp->Wq, IX(lc, j0))),
                          kiln_lx_shuffle(lc, v0, v1, odd, vl));
        }
    }
    for (int64_t ph = 0; ph < S && !vec; ph++) {
        if (ph == 0) {
            struct kiln_ls *fi = kiln_lb_for(lc, &in->body, "iw", lo, hi, &iw);
            fi->hints |= KILN_LS_HINT_VECTORIZE;
            body = &fi->body;
        }
        struct kiln_lx *col =
            sub_i(lc, add_i(lc, mul_i(lc, V(lc, iw), IX(lc, S)), IX(lc, ph)), IX(lc, pad[1]));
        kiln_lb_store(lc, body, dst,
                      add_i(lc, at, add_i(lc, mul_i(lc, IX(lc, ph), pp->Wq), V(lc, iw))),
                      kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, x, add_i(lc, srow, col))));
    }
    for (int side = 0; side < 2; side++)
        for (int64_t ph = 0; ph < S; ph++) {
            struct kiln_ls *f1 = side ? kiln_lb_for(lc, &in->body, "iw", hi, pp->Wq, &iw)
                                      : kiln_lb_for(lc, &in->body, "iw", IX(lc, 0), lo, &iw);
            struct kiln_lx *col =
                sub_i(lc, add_i(lc, mul_i(lc, V(lc, iw), IX(lc, S)), IX(lc, ph)), IX(lc, pad[1]));
            struct kiln_lx *inside = in_range(lc, col, pp->W);
            struct kiln_lx *safe = kiln_lx_select(lc, inside, col, IX(lc, 0));
            struct kiln_lx *v = kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, x, add_i(lc, srow, safe)));
            kiln_lb_store(lc, &f1->body, dst,
                          add_i(lc, at, add_i(lc, mul_i(lc, IX(lc, ph), pp->Wq), V(lc, iw))),
                          kiln_lx_select(lc, inside, v, fill));
        }
    struct kiln_ls *f3 = loop(lc, &in->orelse, "iw", pp->RW, &iw);
    f3->hints |= KILN_LS_HINT_VECTORIZE;
    kiln_lb_store(lc, &f3->body, dst, add_i(lc, at, V(lc, iw)), fill);
}

/* The whole copy as a kernel of its own, in lc->k (a fresh kernel); returns
 * the scratch buffer; *Hp and *RW get the copy's row count and row length. */
static int32_t
input_copy(struct kiln_lower_ctx *lc, int32_t x, struct kiln_lx *C, const int64_t *pad, int64_t S,
           enum kiln_dtype ct, struct kiln_lx **Hp_out, struct kiln_lx **RW_out)
{
    struct padded pp = padded_shape(lc, x, pad, S);
    struct kiln_lx *Nn = kiln_lower_dim(lc, x, 0), *HWp = mul_i(lc, pp.Hp, pp.RW);
    int32_t xpb = kiln_lower_scratch(lc, ct, mul_i(lc, mul_i(lc, Nn, C), HWp));
    int32_t q;
    struct kiln_lblock *pb = kiln_lk_parallel(lc, mul_i(lc, Nn, C), &q);
    kiln_lower_method(lc, "input copy: zero-padded, rows split by column phase (stride %lld)",
                      (long long)S);
    copy_plane(lc, pb, x, V(lc, q), &pp, kiln_lower_slot(lc, xpb), mul_i(lc, V(lc, q), HWp),
               fimm(lc, ct, 0), ct);
    *Hp_out = pp.Hp;
    *RW_out = pp.RW;
    return xpb;
}

/*
 * The accumulation of a pixel-block tile: NR channels from mb * NR (weights
 * packed as [M / NR][C][NR] in wp) by L pixels from p0 of image vn of x (P
 * pixels a plane), over the C input channels, each step prefetching the next
 * pixel block's input into L2 (a step reads a new row, C rows a plane apart,
 * which the hardware prefetchers do not follow).
 */
static void
pointwise_step(struct kiln_lower_ctx *lc, struct kiln_lblock *body, struct tile *t, int32_t wp,
               int32_t x, struct kiln_lx *vn, struct kiln_lx *mb, int64_t C, struct kiln_lx *P,
               int32_t p0, enum kiln_dtype ct)
{
    int vl, L, NR;
    tile_shape(lc, &vl, &L, &NR);
    int32_t c;
    tile_zero(lc, body, t, NR, ct);
    struct kiln_ls *fc = loop(lc, body, "c", IX(lc, C), &c);
    fc->hints |= KILN_LS_HINT_NO_VECTORIZE;
    struct kiln_lx *a[TILE_NR];
    struct kiln_lx *wat = mul_i(lc, add_i(lc, mul_i(lc, mb, IX(lc, C)), V(lc, c)), IX(lc, NR));
    for (int r = 0; r < NR; r++)
        a[r] = kiln_lx_load(lc, wp, add_i(lc, wat, IX(lc, r)));
    struct kiln_lx *xat =
        add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vn, IX(lc, C)), V(lc, c)), P), V(lc, p0));
    tile_step(lc, &fc->body, t, a, x, xat, ct);
    for (int o = 0; o < L; o += CACHE_LINE_F32)
        kiln_lb_prefetch(lc, &fc->body, x, add_i(lc, xat, IX(lc, L + o)), 2, false);
}

/*
 * The stores of a pixel-block tile (NR channels from mb * NR by L pixels from
 * p0 of image vn, P pixels an image): each row's vectors, plus the bias,
 * through the epilogue on vectors; failing that, into the accumulator with
 * vector stores and (unless it is the result itself) an epilogue pass over
 * the row.
 */
static void
pointwise_store(struct kiln_lower_ctx *lc, struct kiln_lblock *body, const struct tile *tp,
                int32_t y, int32_t bias, struct kiln_lx *vn, struct kiln_lx *mb, int64_t M,
                struct kiln_lx *P, int32_t p0, enum kiln_dtype ct)
{
    int vl, L, NR;
    tile_shape(lc, &vl, &L, &NR);
    const struct tile t = *tp;
    struct kiln_lx *Nn = kiln_lower_dim(lc, y, 0), *OW = kiln_lower_dim(lc, y, 3);
    int32_t lane = kiln_lk_var(lc, KILN_DT_I64, "lane"), acc = -1;
    bool in_place = false;
    for (int r = 0; r < NR; r++) {
        struct kiln_lx *m = add_i(lc, mul_i(lc, mb, IX(lc, NR)), IX(lc, r));
        struct kiln_lx *abase =
            add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vn, IX(lc, M)), m), P), V(lc, p0));
        struct kiln_lx *bv = NULL;
        if (bias >= 0)
            bv = kiln_lx_splat(lc, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, m)), vl);
        bool wide = true;
        for (int v = 0; v < TILE_NV && wide; v++) {
            struct kiln_lx *val = V(lc, t.acc[r][v]);
            if (bv)
                val = bin(lc, KILN_LX_ADD, val, bv);
            struct kiln_lx *off = IX(lc, v * vl);
            struct kiln_lx *pix = add_i(lc, add_i(lc, V(lc, p0), off), V(lc, lane));
            struct kiln_lx *yi[4] = {vn, m, div_i(lc, pix, OW), rem_i(lc, pix, OW)};
            wide = kiln_lb_store_out_lanes(
                lc, body, y, add_i(lc, add_i(lc, abase, off), V(lc, lane)), val, yi, lane);
        }
        if (wide)
            continue;
        if (acc < 0)
            acc = raw_accumulator(lc, y, ct, mul_i(lc, Nn, mul_i(lc, IX(lc, M), P)), &in_place);
        for (int v = 0; v < TILE_NV; v++) {
            struct kiln_lx *val = V(lc, t.acc[r][v]);
            if (bv)
                val = bin(lc, KILN_LX_ADD, val, bv);
            kiln_lb_store(lc, body, acc, add_i(lc, abase, IX(lc, v * vl)), val);
        }
        if (in_place)
            continue;
        int32_t j;
        struct kiln_ls *fe = loop(lc, body, "j", IX(lc, L), &j);
        fe->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *pix = add_i(lc, V(lc, p0), V(lc, j));
        struct kiln_lx *at = add_i(lc, abase, V(lc, j));
        struct kiln_lx *yi[4] = {vn, m, div_i(lc, pix, OW), rem_i(lc, pix, OW)};
        kiln_lb_store_out(lc, &fe->body, y, at, kiln_lx_load(lc, acc, at), yi);
    }
}

/*
 * pointwise (below) for an image of P pixels known only at run time: tasks of
 * PB_RUN / 2 whole pixel blocks of one channel block, and per (n, channel
 * block) one more task for the pixels past the last whole block (fewer than
 * L; all of them when the image is smaller than a block), a dot product per
 * pixel and channel through the epilogue.
 */
static enum kiln_status
pointwise_rt(struct kiln_lower_ctx *lc, int32_t x, const struct kiln_tensor *wt, int32_t bias,
             int32_t y, struct kiln_lx *P, enum kiln_dtype ct)
{
    int vl, L, NR;
    tile_shape(lc, &vl, &L, &NR);
    const int64_t M = wt->dims[0], C = wt->dims[1], MB = M / NR, SB = PB_RUN / 2;
    int32_t wp = kiln_lower_slot(lc, pack_panels(lc, ct, wt, M, C, C, 1, NR));
    struct kiln_lx *Nn = kiln_lower_dim(lc, y, 0), *OW = kiln_lower_dim(lc, y, 3);
    struct kiln_lx *PBF = div_i(lc, P, IX(lc, L)); /* whole blocks */
    struct kiln_lx *PBS =
        add_i(lc, div_i(lc, add_i(lc, PBF, IX(lc, SB - 1)), IX(lc, SB)), IX(lc, 1));
    int32_t p, tt;
    struct kiln_lblock *task = kiln_lk_parallel(lc, mul_i(lc, Nn, mul_i(lc, PBS, IX(lc, MB))), &p);
    kiln_lower_method(lc,
                      "1x1 GEMM tile %d ch x %d px, packed weights, pixels past the last "
                      "block one by one",
                      NR, L);
    struct kiln_lx *mb = rem_i(lc, V(lc, p), IX(lc, MB));
    struct kiln_lx *nsb = div_i(lc, V(lc, p), IX(lc, MB));
    struct kiln_lx *vn = div_i(lc, nsb, PBS), *sbi = rem_i(lc, nsb, PBS);
    struct kiln_ls *split =
        kiln_lb_if(lc, task, bin(lc, KILN_LX_LT, sbi, sub_i(lc, PBS, IX(lc, 1))));
    /* whole blocks */
    struct kiln_ls *ft = loop(lc, &split->body, "t", IX(lc, SB), &tt);
    ft->hints |= KILN_LS_HINT_NO_VECTORIZE;
    struct kiln_lx *pb = add_i(lc, mul_i(lc, sbi, IX(lc, SB)), V(lc, tt));
    struct kiln_lblock *body = &kiln_lb_if(lc, &ft->body, bin(lc, KILN_LX_LT, pb, PBF))->body;
    int32_t p0 = kiln_lk_var(lc, KILN_DT_I64, "pix");
    kiln_lb_set(lc, body, p0, mul_i(lc, pb, IX(lc, L)));
    struct tile t;
    pointwise_step(lc, body, &t, wp, x, vn, mb, C, P, p0, ct);
    pointwise_store(lc, body, &t, y, bias, vn, mb, M, P, p0, ct);
    /* the pixels past the last whole block, for the block's NR channels */
    struct kiln_lblock *rb = &split->orelse;
    int32_t jp, r, cc;
    struct kiln_ls *fp = kiln_lb_for(lc, rb, "q", mul_i(lc, PBF, IX(lc, L)), P, &jp);
    struct kiln_ls *fr = loop(lc, &fp->body, "r", IX(lc, NR), &r);
    struct kiln_lx *m = add_i(lc, mul_i(lc, mb, IX(lc, NR)), V(lc, r));
    int32_t dot = kiln_lk_var(lc, ct, "dot");
    kiln_lb_set(lc, &fr->body, dot,
                bias >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, m)) : fimm(lc, ct, 0));
    struct kiln_ls *fcc = loop(lc, &fr->body, "c", IX(lc, C), &cc);
    accum(
        lc, &fcc->body, dot, KILN_LX_ADD,
        bin(lc, KILN_LX_MUL,
            kiln_lx_load(
                lc, wp,
                add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, mb, IX(lc, C)), V(lc, cc)), IX(lc, NR)),
                      V(lc, r))),
            kiln_lx_cast(lc, ct,
                         kiln_lx_load_f(
                             lc, x,
                             add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vn, IX(lc, C)), V(lc, cc)), P),
                                   V(lc, jp))))));
    struct kiln_lx *yat =
        add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vn, IX(lc, M)), m), P), V(lc, jp));
    struct kiln_lx *yi[4] = {vn, m, div_i(lc, V(lc, jp), OW), rem_i(lc, V(lc, jp), OW)};
    kiln_lb_store_out(lc, &fr->body, y, yat, V(lc, dot), yi);
    return KILN_OK;
}

/*
 * A 1x1 convolution with stride 1 over few input channels or a large image
 * (see kiln_lower_conv2d_packed): the GEMM Y[n] [M, P] = W [M, C] x X[n] [C, P] with the lanes
 * along the pixels, the layout's contiguous axis. A tile is nr output
 * channels (rows; the weights packed at compile time as [M / nr][C][nr], so a
 * step reads the tile's weights from one cache line) by L pixels (two vector
 * loads of the input row, read in place). A task is a run of pixel blocks of
 * one channel block (n, run, channel block; the channel block fastest: they
 * share the input run); each step prefetches the next pixel block's input
 * into L2. The last pixel block starts at P - L, overlapping the
 * one before (the shared pixels are computed and stored twice, with the same
 * values). Each row of the tile goes through the bias and the fused epilogue
 * on vectors (kiln_lb_store_out_lanes); failing that, the raw tile goes to the
 * result itself (or the fused node's result) with vector stores, and the
 * epilogue pass reads each element back and overwrites it.
 */
static enum kiln_status
pointwise(struct kiln_lower_ctx *lc, int32_t x, const struct kiln_tensor *wt, int32_t bias,
          int32_t y, int64_t P, enum kiln_dtype ct)
{
    int vl, L, NR;
    tile_shape(lc, &vl, &L, &NR);
    const int64_t M = wt->dims[0], C = wt->dims[1], MB = M / NR, PB = (P + L - 1) / L;
    int32_t wp = kiln_lower_slot(lc, pack_panels(lc, ct, wt, M, C, C, 1, NR));
    struct kiln_lx *Nn = kiln_lower_dim(lc, y, 0);
    /* a task: SB consecutive pixel blocks of one channel block, so that its
     * output rows and input rows are runs of SB * L pixels (prefetchable):
     * up to PB_RUN blocks, a divisor of PB from PB_RUN / 2 up when there is
     * one, else as even a split as PB_RUN allows (tasks of equal size share
     * out evenly among threads) */
    int64_t SB = PB < PB_RUN ? PB : 0;
    for (int64_t d = PB_RUN; !SB && d >= PB_RUN / 2; d--)
        SB = PB % d ? 0 : d;
    if (!SB)
        SB = (PB + (PB + PB_RUN - 1) / PB_RUN - 1) / ((PB + PB_RUN - 1) / PB_RUN);
    const int64_t PBS = (PB + SB - 1) / SB;
    int32_t p, tt;
    struct kiln_lblock *task = kiln_lk_parallel(lc, mul_i(lc, Nn, IX(lc, PBS * MB)), &p);
    kiln_lower_method(lc, "1x1 GEMM tile %d ch x %d px, packed weights", NR, L);
    struct kiln_lx *mb = rem_i(lc, V(lc, p), IX(lc, MB));
    struct kiln_lx *nsb = div_i(lc, V(lc, p), IX(lc, MB));
    struct kiln_lx *vn = div_i(lc, nsb, IX(lc, PBS));
    struct kiln_ls *ft = loop(lc, task, "t", IX(lc, SB), &tt);
    ft->hints |= KILN_LS_HINT_NO_VECTORIZE;
    struct kiln_lx *pb = add_i(lc, mul_i(lc, rem_i(lc, nsb, IX(lc, PBS)), IX(lc, SB)), V(lc, tt));
    struct kiln_lblock *body =
        PB % SB ? &kiln_lb_if(lc, &ft->body, bin(lc, KILN_LX_LT, pb, IX(lc, PB)))->body : &ft->body;
    int32_t p0 = tile_start(lc, body, mul_i(lc, pb, IX(lc, L)), IX(lc, P - L), "pix");
    struct tile t;
    pointwise_step(lc, body, &t, wp, x, vn, mb, C, IX(lc, P), p0, ct);
    /* each row's vectors through the epilogue on vectors; failing that, raw
     * into the accumulator and the epilogue pass over the row */
    const int32_t epi0 = body->n;
    pointwise_store(lc, body, &t, y, bias, vn, mb, M, IX(lc, P), p0, ct);
    /* the next pixel block's epilogue operands and results into L2 */
    kiln_lb_prefetch_vectors(lc, body, body, epi0, IX(lc, L), 2, true);
    return KILN_OK;
}

/* What one tile of kiln_lower_conv2d_packed needs from the kernel around it. */
struct conv_tiling {
    struct kiln_lower_ctx *lc;
    int64_t C, KH, KW, K, M, MB, S;
    int L;
    bool pointwise, strided, scalar_epilogue;
    const int64_t *stride, *dil;
    enum kiln_dtype ct;
    int32_t x, xs, y, bias, panel, ohv; /* x: -1 when xs is the copy */
    struct kiln_lx *vn, *mb, *OW, *P, *RW, *HWp, *span;
};

/*
 * One tile of nr pixels starting at pixel `base` (a variable) of the row (or
 * the flattened image), appended to body: the accumulators, the taps and
 * channels, then the epilogue, which stores the pixels from t0 on (those
 * before belong to the tile before, which this one overlaps).
 */
static void
conv_tile(struct conv_tiling *g, struct kiln_lblock *body, int nr, int32_t base, struct kiln_lx *t0)
{
    struct kiln_lower_ctx *lc = g->lc;
    const int64_t C = g->C, KH = g->KH, KW = g->KW, K = g->K, M = g->M, MB = g->MB, S = g->S;
    const int TILE_L = g->L;
    const bool pointwise = g->pointwise;
    const int64_t *stride = g->stride, *dil = g->dil;
    const enum kiln_dtype ct = g->ct;
    const int32_t x = g->x, xs = g->xs, y = g->y, bias = g->bias, panel = g->panel, ohv = g->ohv;
    struct kiln_lx *vn = g->vn, *mb = g->mb, *OW = g->OW, *P = g->P, *M_ = IX(lc, M);
    struct kiln_lx *RW = g->RW, *HWp = g->HWp, *span = g->span;
    struct kiln_lx *xbase = mul_i(lc, mul_i(lc, vn, IX(lc, C)), HWp);
    struct tile t;
    tile_zero(lc, body, &t, nr, ct);

    /* per tap, the tile's input offset; then the channels */
    int32_t kh, kw, c;
    struct kiln_ls *fkh = loop(lc, body, "kh", IX(lc, KH), &kh);
    struct kiln_ls *fkw = loop(lc, &fkh->body, "kw", IX(lc, KW), &kw);
    struct kiln_lblock *tap = &fkw->body;
    struct kiln_lx *tap_base;
    if (pointwise) {
        tap_base = add_i(lc, xbase, V(lc, base));
    } else if (g->strided) {
        struct kiln_lx *row = add_i(lc, mul_i(lc, V(lc, ohv), IX(lc, stride[0])),
                                    mul_i(lc, V(lc, kh), IX(lc, dil[0])));
        struct kiln_lx *col =
            add_i(lc, mul_i(lc, V(lc, base), IX(lc, S)), mul_i(lc, V(lc, kw), IX(lc, dil[1])));
        tap_base = add_i(lc, xbase, add_i(lc, mul_i(lc, row, RW), col));
    } else {
        struct kiln_lx *row = add_i(lc, mul_i(lc, V(lc, ohv), IX(lc, stride[0])),
                                    mul_i(lc, V(lc, kh), IX(lc, dil[0])));
        struct kiln_lx *kc = mul_i(lc, V(lc, kw), IX(lc, dil[1]));
        struct kiln_lx *col = add_i(lc, add_i(lc, V(lc, base), div_i(lc, kc, IX(lc, S))),
                                    mul_i(lc, rem_i(lc, kc, IX(lc, S)), div_i(lc, RW, IX(lc, S))));
        tap_base = add_i(lc, xbase, add_i(lc, mul_i(lc, row, RW), col));
    }
    int32_t tb = kiln_lk_var(lc, KILN_DT_I64, "tap");
    kiln_lb_set(lc, tap, tb, tap_base);
    struct kiln_ls *fc = loop(lc, tap, "c", IX(lc, C), &c);
    fc->hints |= KILN_LS_HINT_NO_VECTORIZE;
    struct kiln_lx *a[TILE_NR];
    struct kiln_lx *at = add_i(lc, V(lc, tb), mul_i(lc, V(lc, c), HWp));
    for (int r = 0; r < nr; r++) {
        struct kiln_lx *xi = add_i(lc, at, IX(lc, g->strided ? r * S : r));
        a[r] = x >= 0 ? kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, xs, xi)) : kiln_lx_load(lc, xs, xi);
    }
    /* read in place (not a copy just written): the next tile's input (nr
     * pixels on in the row) into L2, as in pointwise */
    if (x >= 0)
        kiln_lb_prefetch(lc, &fc->body, xs, add_i(lc, at, IX(lc, nr * (g->strided ? S : 1))), 2,
                         false);
    struct kiln_lx *k = add_i(
        lc, mul_i(lc, add_i(lc, mul_i(lc, V(lc, kh), IX(lc, KW)), V(lc, kw)), IX(lc, C)), V(lc, c));
    struct kiln_lx *pat = mul_i(lc, add_i(lc, mul_i(lc, mb, IX(lc, K)), k), IX(lc, TILE_L));
    tile_step(lc, &fc->body, &t, a, panel, pat, ct);
    panel_prefetch(lc, &fc->body, panel, pat, K * TILE_L);

    /* the epilogue on vectors: the tile by columns (a channel's nr pixels,
     * consecutive in memory), each through kiln_lb_store_out_lanes; the
     * pixels the tile shares with the one before are stored again, with the
     * same values */
    struct kiln_lx *cols[2 * 32];
    struct kiln_lblock wide = {0};
    bool vec = TILE_L <= 64 && tile_columns(lc, &wide, &t, ct, cols);
    int32_t lane = kiln_lk_var(lc, KILN_DT_I64, "lane");
    struct kiln_lx *px = add_i(lc, V(lc, base), V(lc, lane));
    struct kiln_lx *vpoh = pointwise ? div_i(lc, px, OW) : V(lc, ohv);
    struct kiln_lx *vpow = pointwise ? rem_i(lc, px, OW) : px;
    struct kiln_lx *vpix = pointwise ? px : add_i(lc, mul_i(lc, V(lc, ohv), OW), px);
    for (int l = 0; l < TILE_L && vec && (MB > 1 || l < M); l++) {
        struct kiln_lx *m = add_i(lc, mul_i(lc, mb, IX(lc, TILE_L)), IX(lc, l));
        struct kiln_lblock *lb = &wide;
        if (M % TILE_L && MB > 1)
            lb = &kiln_lb_if(lc, lb, bin(lc, KILN_LX_LT, m, M_))->body;
        struct kiln_lx *val = cols[l];
        if (bias >= 0)
            val = bin(lc, KILN_LX_ADD, val,
                      kiln_lx_splat(lc, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, m)), nr));
        struct kiln_lx *yat = add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vn, M_), m), P), vpix);
        struct kiln_lx *yi[4] = {vn, m, vpoh, vpow};
        vec = kiln_lb_store_out_lanes(lc, lb, y, yat, val, yi, lane);
    }
    if (vec) {
        for (int32_t i = 0; i < wide.n; i++)
            kiln_lb_add(lc, body, wide.s[i]);
        /* the next tile's epilogue operands and results (nr pixels on) into L2 */
        kiln_lb_prefetch_vectors(lc, body, &wide, 0, IX(lc, nr), 2, true);
        return;
    }
    g->scalar_epilogue = true;
    /* else each element once, own pixels and real channels only */
    for (int r = 0; r < nr; r++) {
        struct kiln_lx *pr = add_i(lc, V(lc, base), IX(lc, r));
        struct kiln_lx *mine = land(lc, bin(lc, KILN_LX_LT, pr, span), bin(lc, KILN_LX_GE, pr, t0));
        struct kiln_lblock *sb = &kiln_lb_if(lc, body, mine)->body;
        struct kiln_lx *poh = pointwise ? div_i(lc, pr, OW) : V(lc, ohv);
        struct kiln_lx *pow_ = pointwise ? rem_i(lc, pr, OW) : pr;
        struct kiln_lx *pix = pointwise ? pr : add_i(lc, mul_i(lc, V(lc, ohv), OW), pr);
        for (int l = 0; l < TILE_L; l++) {
            struct kiln_lx *m = add_i(lc, mul_i(lc, mb, IX(lc, TILE_L)), IX(lc, l));
            struct kiln_lblock *lb = sb;
            if (M % TILE_L)
                lb = &kiln_lb_if(lc, sb, bin(lc, KILN_LX_LT, m, M_))->body;
            struct kiln_lx *val = tile_at(lc, &t, r, l);
            if (bias >= 0)
                val = bin(lc, KILN_LX_ADD, val, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, m)));
            struct kiln_lx *yat = add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, vn, M_), m), P), pix);
            struct kiln_lx *yi[4] = {vn, m, poh, pow_};
            kiln_lb_store_out(lc, lb, y, yat, val, yi);
        }
    }
}

/* ---------------------------------------------------------------- Winograd 3x3 convolution */

/*
 * Winograd's minimal filtering, F(m x m, 3 x 3) (Lavin and Gray, 2015), for a
 * 3x3 convolution with stride 1, no dilation and one group: an output tile of
 * m x m pixels is A^T [(G g G^T) . (B^T d B)] A, where d is the a x a input
 * patch under it (a = m + 2), g the 3x3 filter and . the elementwise product.
 * The product runs over the input channels as a * a independent GEMMs, one
 * per element xi of the transformed tile: M[xi] (tiles x out channels) =
 * V[xi] (tiles x in channels) U[xi] (in x out channels). F(4x4) does
 * 36 / 144 of the direct method's multiplications per output pixel, F(2x2)
 * 16 / 36. Four kernels:
 *
 *   copy:   x, zero-padded to the tiles' extent, channels interleaved in
 *           blocks of vl ([n][C / vl][Hp][Wp][vl]): a patch element of vl
 *           channels is one vector load (rows of at least vl columns go
 *           through a vl x vl transpose by shuffles);
 *   input:  per (n, channel block, tile row), each tile's B^T d B on vectors
 *           of vl channels, stored tile-major, V[n][tile][xi][C] (a tile's
 *           a * a vectors within a few KB);
 *   gemm:   per (n, xi, channel block of L, 8 tiles) the register tile of
 *           conv_tile (tiles as rows, L output channels as lanes, steps over
 *           C) against U packed at compile time [xi][M / L][C][L], into
 *           M[n][tile][xi][M];
 *   output: per (n, channel block of L, tile row), each tile's A^T M A on
 *           vectors of vl channels into a row strip of the tile row
 *           ([m][m * TW][L], the kernel's own stack memory; a row of more
 *           than WINO_STRIP_BYTES in chunks of tiles), then per output
 *           row, G pixels at a time, the strip by columns (tile_columns: a
 *           channel's G pixels in one vector) through the bias and the fused
 *           epilogue (kiln_lb_store_out_lanes), like conv_tile's.
 *
 * The transforms are the matrices below applied to vectors, each product a
 * vector variable; terms with a zero coefficient are left out and +-1 is an
 * add or a subtract. The weights' transform is done at compile time in double.
 */
/* the most input patch elements per side; the output kernel's row strip
 * (on the stack) at most this long, in bytes */
enum { WINO_AMAX = 6, WINO_STRIP_BYTES = 64 * 1024 };

struct wino {
    int m, a;                  /* output tile m x m, input patch a x a */
    const double *bt, *g, *at; /* B^T [a][a], G [a][3], A^T [m][a] */
};

static const double WINO_BT4[36] = {4, 0,  -5, 0, 1, 0, 0, -4, -4, 1,  1, 0, 0, 4, -4, -1, 1, 0,
                                    0, -2, -1, 2, 1, 0, 0, 2,  -1, -2, 1, 0, 0, 4, 0,  -5, 0, 1};
static const double WINO_G4[18] = {1.0 / 4,  0,         0,        -1.0 / 6, -1.0 / 6, -1.0 / 6,
                                   -1.0 / 6, 1.0 / 6,   -1.0 / 6, 1.0 / 24, 1.0 / 12, 1.0 / 6,
                                   1.0 / 24, -1.0 / 12, 1.0 / 6,  0,        0,        1};
static const double WINO_AT4[24] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0,
                                    0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1};
static const double WINO_BT2[16] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const double WINO_G2[12] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
static const double WINO_AT2[8] = {1, 1, 1, 0, 0, 1, -1, -1};

/* sum over k < n of coef[k] * v[k * stride], v vectors of vl lanes: from the
 * first positive term on, adding or subtracting the others (times |coef|) */
static struct kiln_lx *
wino_combo(struct kiln_lower_ctx *lc, const double *coef, struct kiln_lx *const *v, int stride,
           int n, int vl, enum kiln_dtype ct)
{
    int first = 0;
    while (first < n - 1 && coef[first] <= 0)
        first++;
    struct kiln_lx *s = v[first * stride];
    if (coef[first] != 1)
        s = bin(lc, KILN_LX_MUL, s, kiln_lx_splat(lc, fimm(lc, ct, coef[first]), vl));
    for (int k = 0; k < n; k++) {
        double c = coef[k];
        if (c == 0 || k == first)
            continue;
        struct kiln_lx *term = v[k * stride];
        if (fabs(c) != 1)
            term = bin(lc, KILN_LX_MUL, term, kiln_lx_splat(lc, fimm(lc, ct, fabs(c)), vl));
        s = bin(lc, c < 0 ? KILN_LX_SUB : KILN_LX_ADD, s, term);
    }
    return s;
}

/* out[i * r + j] = sum over k, l < a of t[i][k] in[k * a + l] t[j][l], i, j < r:
 * t [r][a] applied to the columns of the a x a vectors in, then to the rows */
static void
wino_transform(struct kiln_lower_ctx *lc, struct kiln_lblock *blk, const double *t, int r, int a,
               struct kiln_lx *const *in, struct kiln_lx **out, int vl, enum kiln_dtype ct)
{
    struct kiln_lx *mid[WINO_AMAX * WINO_AMAX];
    for (int i = 0; i < r; i++)
        for (int l = 0; l < a; l++) {
            int32_t v = kiln_lk_vvar(lc, ct, vl, "wt");
            kiln_lb_set(lc, blk, v, wino_combo(lc, t + i * a, in + l, a, a, vl, ct));
            mid[i * a + l] = V(lc, v);
        }
    for (int i = 0; i < r; i++)
        for (int j = 0; j < r; j++) {
            int32_t v = kiln_lk_vvar(lc, ct, vl, "wt");
            kiln_lb_set(lc, blk, v, wino_combo(lc, t + j * a, mid + i * a, 1, a, vl, ct));
            out[i * r + j] = V(lc, v);
        }
}

/* The shapes the four kernels share. */
struct wino_shape {
    struct wino w;
    int vl, L, nr, A2;         /* lanes, tile lanes, tile rows, a * a */
    int64_t C, M, CB, MB;      /* channels in / out, their blocks of vl / L */
    int64_t OH, OW, TH, TW, T; /* output, tiles per column / row / image */
    int64_t CT;                /* tiles per chunk of the output kernel's row strip */
    int64_t H, W;              /* the input's rows and columns */
    int64_t Hp, Wp;            /* the padded copy's rows and columns */
    struct kiln_lx *Nn;
};

/*
 * Whether kiln_lower_conv2d_packed computes the convolution by Winograd, and
 * which tile: a 3x3 with stride 1, no dilation, input channels in blocks of
 * vl and output channels in blocks of L, an f32 output of at least 4x4 known
 * at compile time. F(4x4) from 8x8 up, F(2x2) below, where a 4x4 tile wastes
 * more of the image and each transformed weight (4x the filter's size for
 * F(4x4), 16 / 9 for F(2x2)) serves fewer tiles. The padded copy's Hp x Wp
 * (the tiles' extent plus the 2-pixel halo) always covers the rows and
 * columns the outputs read; the copy tests each against the image.
 */
static bool
wino_choose(struct kiln_lower_ctx *lc, int32_t x, const struct kiln_tensor *wt, int32_t y,
            const int64_t *stride, const int64_t *dil, enum kiln_dtype ct, struct wino_shape *s)
{
    int nrmax;
    tile_shape(lc, &s->vl, &s->L, &nrmax);
    s->C = wt->dims[1];
    s->M = wt->dims[0];
    struct kiln_lx *H = kiln_lower_dim(lc, x, 2), *W = kiln_lower_dim(lc, x, 3);
    struct kiln_lx *OH = kiln_lower_dim(lc, y, 2), *OW = kiln_lower_dim(lc, y, 3);
    if (!lc->m->target.winograd || wt->dims[2] != 3 || wt->dims[3] != 3 || stride[0] != 1 ||
        stride[1] != 1 || dil[0] != 1 || dil[1] != 1 || ct != KILN_DT_F32 ||
        kiln_lower_buf(lc, x)->dtype != ct || s->C % s->vl || s->M % s->L ||
        H->kind != KILN_LX_IMM || W->kind != KILN_LX_IMM || OH->kind != KILN_LX_IMM ||
        OW->kind != KILN_LX_IMM || OH->i < 4 || OW->i < 4)
        return false;
    bool f4 = OH->i >= 8 && OW->i >= 8;
    s->w = f4 ? (struct wino){4, 6, WINO_BT4, WINO_G4, WINO_AT4}
              : (struct wino){2, 4, WINO_BT2, WINO_G2, WINO_AT2};
    const int m = s->w.m;
    s->A2 = s->w.a * s->w.a;
    s->OH = OH->i;
    s->OW = OW->i;
    s->TH = (s->OH + m - 1) / m;
    s->TW = (s->OW + m - 1) / m;
    s->T = s->TH * s->TW;
    s->Hp = s->TH * m + 2;
    s->Wp = s->TW * m + 2;
    s->CB = s->C / s->vl;
    s->MB = s->M / s->L;
    s->H = H->i;
    s->W = W->i;
    s->nr = s->T < nrmax ? (int)s->T : nrmax;
    s->Nn = kiln_lower_dim(lc, y, 0);
    /* the output kernel's row strip in chunks of at most WINO_STRIP_BYTES
     * (a tile's m x m x L f32, 2 KB at most, always fits) */
    const int64_t per_tile = (int64_t)m * m * s->L * 4;
    s->CT = s->TW * per_tile <= WINO_STRIP_BYTES ? s->TW : WINO_STRIP_BYTES / per_tile;
    return true;
}

/* Kernel 1 of wino_conv (in lc->k): the padded, channel-interleaved copy. */
static int32_t
wino_copy(struct kiln_lower_ctx *lc, const struct wino_shape *s, int32_t x, const int64_t *pad,
          enum kiln_dtype ct)
{
    const int vl = s->vl;
    const int64_t H = s->H, W = s->W;
    int32_t xb = kiln_lower_scratch(lc, ct, mul_i(lc, s->Nn, IX(lc, s->C * s->Hp * s->Wp)));
    int32_t dst = kiln_lower_slot(lc, xb);
    int32_t p, wp, l;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, s->Nn, IX(lc, s->CB * s->Hp)), &p);
    kiln_lower_method(lc, "Winograd F(%dx%d, 3x3): input copy, zero-padded, %d-channel blocks",
                      s->w.m, s->w.m, vl);
    struct kiln_lx *q = div_i(lc, V(lc, p), IX(lc, s->Hp)); /* n * CB + cb */
    struct kiln_lx *row = sub_i(lc, rem_i(lc, V(lc, p), IX(lc, s->Hp)), IX(lc, pad[0]));
    struct kiln_lx *dst0 = mul_i(lc, V(lc, p), IX(lc, s->Wp * vl));
    struct kiln_ls *in = kiln_lb_if(lc, body, in_range(lc, row, IX(lc, H)));
    struct kiln_lx *rowat = mul_i(
        lc, add_i(lc, mul_i(lc, mul_i(lc, q, IX(lc, vl)), IX(lc, H)), row), IX(lc, W)); /* c0 */
    if (W >= vl) {
        /* inside rows of at least vl columns: per vl columns (the last chunk
         * ends at the row's end, overlapping the one before), a vector load
         * of each of the vl channels' rows, transposed by shuffles into a
         * vector of the vl channels per column; zero vectors in the padding */
        int32_t j, wz;
        struct kiln_ls *fj = loop(lc, &in->body, "chunk", IX(lc, (W + vl - 1) / vl), &j);
        fj->hints |= KILN_LS_HINT_NO_VECTORIZE;
        int32_t w0 =
            tile_start(lc, &fj->body, mul_i(lc, V(lc, j), IX(lc, vl)), IX(lc, W - vl), "w");
        struct kiln_lx *rows[32] = {0}, *cols[32] = {0};
        for (int c = 0; c < vl; c++)
            rows[c] =
                kiln_lx_vload(lc, x, add_i(lc, rowat, add_i(lc, IX(lc, c * H * W), V(lc, w0))), vl);
        KILN_ASSERT(kiln_lower_transpose_rows(lc, &fj->body, rows, vl, vl, ct, cols));
        for (int i = 0; i < vl; i++)
            kiln_lb_store(
                lc, &fj->body, dst,
                add_i(lc, dst0, mul_i(lc, add_i(lc, V(lc, w0), IX(lc, pad[1] + i)), IX(lc, vl))),
                cols[i]);
        struct kiln_lx *zero = kiln_lx_splat(lc, fimm(lc, ct, 0), vl);
        for (int side = 0; side < 2; side++) {
            struct kiln_ls *fz =
                side ? kiln_lb_for(lc, &in->body, "wp", IX(lc, pad[1] + W), IX(lc, s->Wp), &wz)
                     : loop(lc, &in->body, "wp", IX(lc, pad[1]), &wz);
            kiln_lb_store(lc, &fz->body, dst, add_i(lc, dst0, mul_i(lc, V(lc, wz), IX(lc, vl))),
                          zero);
        }
    } else {
        /* narrower: per column, the vl channels (planes apart) */
        struct kiln_ls *fw = loop(lc, &in->body, "wp", IX(lc, s->Wp), &wp);
        struct kiln_ls *fl = loop(lc, &fw->body, "l", IX(lc, vl), &l);
        fl->hints |= KILN_LS_HINT_VECTORIZE;
        struct kiln_lx *col = sub_i(lc, V(lc, wp), IX(lc, pad[1]));
        struct kiln_lx *inside = in_range(lc, col, IX(lc, W));
        struct kiln_lx *src = add_i(lc, add_i(lc, rowat, mul_i(lc, V(lc, l), IX(lc, H * W))),
                                    kiln_lx_select(lc, inside, col, IX(lc, 0)));
        kiln_lb_store(lc, &fl->body, dst,
                      add_i(lc, dst0, add_i(lc, mul_i(lc, V(lc, wp), IX(lc, vl)), V(lc, l))),
                      kiln_lx_select(lc, inside, kiln_lx_load(lc, x, src), fimm(lc, ct, 0)));
    }
    struct kiln_ls *fz = loop(lc, &in->orelse, "j", IX(lc, s->Wp * vl), &l);
    fz->hints |= KILN_LS_HINT_VECTORIZE;
    kiln_lb_store(lc, &fz->body, dst, add_i(lc, dst0, V(lc, l)), fimm(lc, ct, 0));
    return xb;
}

/* Kernel 2: per (n, channel block, tile row) the tiles' B^T d B into V. */
static void
wino_input(struct kiln_lower_ctx *lc, const struct wino_shape *s, int32_t xb, int32_t vb,
           enum kiln_dtype ct)
{
    const int vl = s->vl, m = s->w.m, a = s->w.a;
    int32_t src = kiln_lower_slot(lc, xb), dst = kiln_lower_slot(lc, vb);
    int32_t p, tw;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, s->Nn, IX(lc, s->CB * s->TH)), &p);
    kiln_lower_method(lc, "Winograd F(%dx%d, 3x3): input transform, %d channels per vector", m, m,
                      vl);
    struct kiln_lx *q = div_i(lc, V(lc, p), IX(lc, s->TH)); /* n * CB + cb */
    struct kiln_lx *th = rem_i(lc, V(lc, p), IX(lc, s->TH));
    struct kiln_lx *n = div_i(lc, q, IX(lc, s->CB)), *cb = rem_i(lc, q, IX(lc, s->CB));
    struct kiln_ls *ft = loop(lc, body, "tw", IX(lc, s->TW), &tw);
    ft->hints |= KILN_LS_HINT_NO_VECTORIZE;
    struct kiln_lx *at =
        mul_i(lc,
              add_i(lc,
                    mul_i(lc, add_i(lc, mul_i(lc, q, IX(lc, s->Hp)), mul_i(lc, th, IX(lc, m))),
                          IX(lc, s->Wp)),
                    mul_i(lc, V(lc, tw), IX(lc, m))),
              IX(lc, vl));
    int32_t atv = kiln_lk_var(lc, KILN_DT_I64, "at");
    kiln_lb_set(lc, &ft->body, atv, at);
    struct kiln_lx *d[WINO_AMAX * WINO_AMAX], *v[WINO_AMAX * WINO_AMAX];
    for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++)
            d[i * a + j] =
                kiln_lx_vload(lc, src, add_i(lc, V(lc, atv), IX(lc, (i * s->Wp + j) * vl)), vl);
    wino_transform(lc, &ft->body, s->w.bt, a, a, d, v, vl, ct);
    struct kiln_lx *tile = add_i(lc, mul_i(lc, th, IX(lc, s->TW)), V(lc, tw));
    /* V[n][tile][xi][C]: a tile's a * a vectors within a few KB */
    struct kiln_lx *ntile = mul_i(lc, add_i(lc, mul_i(lc, n, IX(lc, s->T)), tile), IX(lc, s->A2));
    for (int xi = 0; xi < s->A2; xi++) {
        struct kiln_lx *to = add_i(lc, mul_i(lc, add_i(lc, ntile, IX(lc, xi)), IX(lc, s->C)),
                                   mul_i(lc, cb, IX(lc, vl)));
        kiln_lb_store(lc, &ft->body, dst, to, v[xi]);
    }
}

/* Kernel 3: the a * a GEMMs, M[n][xi][tile][M] = V[n][xi][tile][C] U[xi]. */
static void
wino_gemm(struct kiln_lower_ctx *lc, const struct wino_shape *s, const struct kiln_tensor *wt,
          int32_t vb, int32_t mbuf, enum kiln_dtype ct)
{
    const int vl = s->vl, L = s->L, a = s->w.a;
    const int64_t C = s->C, M = s->M, MB = s->MB, T = s->T;
    /* U[xi][m][c] = (G g G^T)[xi], packed [xi][mb][c][L] */
    void *data;
    int32_t ub = kiln_lower_const(lc, ct, s->A2 * M * C, "winograd", &data);
    float *pu = data;
    const double *G = s->w.g;
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t c = 0; c < C; c++) {
            double g[9], gg[WINO_AMAX * 3];
            for (int k = 0; k < 9; k++) {
                g[k] = 0;
                kiln_tensor_get_f64(wt, (mo * C + c) * 9 + k, &g[k]);
            }
            for (int i = 0; i < a; i++) /* G g */
                for (int k = 0; k < 3; k++)
                    gg[i * 3 + k] =
                        G[i * 3] * g[k] + G[i * 3 + 1] * g[3 + k] + G[i * 3 + 2] * g[6 + k];
            for (int i = 0; i < a; i++) /* (G g) G^T */
                for (int j = 0; j < a; j++) {
                    double u = gg[i * 3] * G[j * 3] + gg[i * 3 + 1] * G[j * 3 + 1] +
                               gg[i * 3 + 2] * G[j * 3 + 2];
                    int64_t xi = i * a + j;
                    pu[((xi * MB + mo / L) * C + c) * L + mo % L] = (float)u;
                }
        }
    const int nr = s->nr;
    const int64_t TT = (T + nr - 1) / nr;
    int32_t src = kiln_lower_slot(lc, vb), dst = kiln_lower_slot(lc, mbuf),
            panel = kiln_lower_slot(lc, ub);
    int32_t p, c;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, s->Nn, IX(lc, s->A2 * MB * TT)), &p);
    kiln_lower_method(lc, "Winograd F(%dx%d, 3x3): %d GEMMs, tile %d tiles x %d ch, packed weights",
                      s->w.m, s->w.m, s->A2, nr, L);
    struct kiln_lx *tt = rem_i(lc, V(lc, p), IX(lc, TT));
    struct kiln_lx *r1 = div_i(lc, V(lc, p), IX(lc, TT));
    struct kiln_lx *mb = rem_i(lc, r1, IX(lc, MB));
    struct kiln_lx *nxi = div_i(lc, r1, IX(lc, MB)); /* n * A2 + xi */
    struct kiln_lx *xi = rem_i(lc, nxi, IX(lc, s->A2)), *n = div_i(lc, nxi, IX(lc, s->A2));
    int32_t row0 = tile_start(lc, body, mul_i(lc, tt, IX(lc, nr)), IX(lc, T - nr), "row");
    /* row r: element xi of tile row0 + r, at (n * T + row0 + r) * A2 + xi */
    struct kiln_lx *rows =
        add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, n, IX(lc, T)), V(lc, row0)), IX(lc, s->A2)), xi);
    struct tile t;
    tile_zero(lc, body, &t, nr, ct);
    struct kiln_ls *fc = loop(lc, body, "c", IX(lc, C), &c);
    fc->hints |= KILN_LS_HINT_NO_VECTORIZE;
    struct kiln_lx *av[TILE_NR] = {0};
    for (int r = 0; r < nr; r++)
        av[r] = kiln_lx_load(
            lc, src, add_i(lc, mul_i(lc, add_i(lc, rows, IX(lc, r * s->A2)), IX(lc, C)), V(lc, c)));
    struct kiln_lx *pat = mul_i(
        lc, add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, xi, IX(lc, MB)), mb), IX(lc, C)), V(lc, c)),
        IX(lc, L));
    tile_step(lc, &fc->body, &t, av, panel, pat, ct);
    panel_prefetch(lc, &fc->body, panel, pat, C * L);
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < TILE_NV; v++)
            kiln_lb_store(lc, body, dst,
                          add_i(lc, mul_i(lc, add_i(lc, rows, IX(lc, r * s->A2)), IX(lc, M)),
                                add_i(lc, mul_i(lc, mb, IX(lc, L)), IX(lc, v * vl))),
                          V(lc, t.acc[r][v]));
}

/* The flat index of output element (n, m, oh, ow) = yi[0..3]. */
static struct kiln_lx *
wino_out_at(struct kiln_lower_ctx *lc, const struct wino_shape *s, struct kiln_lx *const *yi)
{
    struct kiln_lx *plane = add_i(lc, mul_i(lc, yi[0], IX(lc, s->M)), yi[1]);
    return add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, plane, IX(lc, s->OH)), yi[2]), IX(lc, s->OW)),
                 yi[3]);
}

/* Kernel 4: per (n, channel block, tile row) the tiles' A^T M A, then the
 * output rows through the bias and the epilogue. */
static void
wino_output(struct kiln_lower_ctx *lc, const struct wino_shape *s, int32_t mbuf, int32_t y,
            int32_t bias, enum kiln_dtype ct)
{
    const int vl = s->vl, L = s->L, m = s->w.m, a = s->w.a;
    const int64_t M = s->M, MB = s->MB, OH = s->OH, OW = s->OW, CT = s->CT, SW = m * CT;
    const int64_t NC = (s->TW + CT - 1) / CT;
    int32_t src = kiln_lower_slot(lc, mbuf);
    int32_t strip = kiln_lower_slot(lc, kiln_lower_local(lc, ct, m * SW * L));
    int32_t p, tw, g, ck;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, s->Nn, IX(lc, MB * s->TH)), &p);
    lc->k->hints |= KILN_LK_HINT_MAY_ALIAS; /* keep a scalar epilogue scalar */
    struct kiln_lx *th = rem_i(lc, V(lc, p), IX(lc, s->TH));
    struct kiln_lx *q = div_i(lc, V(lc, p), IX(lc, s->TH));
    struct kiln_lx *n = div_i(lc, q, IX(lc, MB)), *mb = rem_i(lc, q, IX(lc, MB));
    /* a wide tile row in chunks of CT tiles (the last ends at the row's end,
     * overlapping the one before): pixels [px_lo, px_hi) of the row, its own
     * from `nominal` on */
    struct kiln_lx *tw0 = IX(lc, 0), *nominal = IX(lc, 0);
    if (NC > 1) {
        struct kiln_ls *fk = loop(lc, body, "chunk", IX(lc, NC), &ck);
        fk->hints |= KILN_LS_HINT_NO_VECTORIZE;
        body = &fk->body;
        nominal = mul_i(lc, V(lc, ck), IX(lc, CT * m));
        tw0 =
            V(lc, tile_start(lc, body, mul_i(lc, V(lc, ck), IX(lc, CT)), IX(lc, s->TW - CT), "tw"));
    }
    struct kiln_lx *px_lo = mul_i(lc, tw0, IX(lc, m));
    struct kiln_lx *end = add_i(lc, px_lo, IX(lc, SW));
    struct kiln_lx *px_hi =
        NC > 1 ? kiln_lx_select(lc, bin(lc, KILN_LX_LT, end, IX(lc, OW)), end, IX(lc, OW))
               : IX(lc, OW);
    /* the chunk's tiles into the strip */
    struct kiln_ls *ft = loop(lc, body, "tw", IX(lc, CT), &tw);
    ft->hints |= KILN_LS_HINT_NO_VECTORIZE;
    struct kiln_lx *tile = add_i(lc, mul_i(lc, th, IX(lc, s->TW)), add_i(lc, tw0, V(lc, tw)));
    struct kiln_lx *ntile = mul_i(lc, add_i(lc, mul_i(lc, n, IX(lc, s->T)), tile), IX(lc, s->A2));
    for (int v = 0; v < TILE_NV; v++) {
        struct kiln_lx *mv[WINO_AMAX * WINO_AMAX], *yv[4 * 4];
        for (int xi = 0; xi < s->A2; xi++) {
            struct kiln_lx *from = add_i(lc, mul_i(lc, add_i(lc, ntile, IX(lc, xi)), IX(lc, M)),
                                         add_i(lc, mul_i(lc, mb, IX(lc, L)), IX(lc, v * vl)));
            mv[xi] = kiln_lx_vload(lc, src, from, vl);
        }
        wino_transform(lc, &ft->body, s->w.at, m, a, mv, yv, vl, ct);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                kiln_lb_store(
                    lc, &ft->body, strip,
                    add_i(lc,
                          mul_i(lc, add_i(lc, IX(lc, i * SW + j), mul_i(lc, V(lc, tw), IX(lc, m))),
                                IX(lc, L)),
                          IX(lc, v * vl)),
                    yv[i * m + j]);
    }
    /* per output row of the tile row, G pixels at a time (the last G end at
     * the chunk's end, overlapping the ones before) */
    const int64_t span = SW < OW ? SW : OW;
    const int64_t g_px = span < TILE_NR ? span : TILE_NR;
    const int G = (int)(g_px < vl ? g_px : vl); /* pixels per group */
    const int64_t NG = (span + G - 1) / G;
    bool vec = true;
    for (int i = 0; i < m; i++) {
        struct kiln_lx *oh = add_i(lc, mul_i(lc, th, IX(lc, m)), IX(lc, i));
        struct kiln_lblock *rb = body;
        if (OH % m && i >= OH % m)
            rb = &kiln_lb_if(lc, rb, bin(lc, KILN_LX_LT, oh, IX(lc, OH)))->body;
        struct kiln_ls *fg = loop(lc, rb, "g", IX(lc, NG), &g);
        fg->hints |= KILN_LS_HINT_NO_VECTORIZE;
        struct kiln_lx *g0 = add_i(lc, px_lo, mul_i(lc, V(lc, g), IX(lc, G)));
        int32_t ow0 = tile_start(lc, &fg->body, g0, sub_i(lc, px_hi, IX(lc, G)), "ow");
        struct kiln_lx *at0 = sub_i(lc, V(lc, ow0), px_lo); /* in the strip */
        struct tile t = {.nr = G, .vl = vl};
        for (int r = 0; r < G; r++)
            for (int v = 0; v < TILE_NV; v++) {
                t.acc[r][v] = kiln_lk_vvar(lc, ct, vl, "px");
                kiln_lb_set(lc, &fg->body, t.acc[r][v],
                            kiln_lx_vload(
                                lc, strip,
                                add_i(lc, mul_i(lc, add_i(lc, IX(lc, i * SW + r), at0), IX(lc, L)),
                                      IX(lc, v * vl)),
                                vl));
            }
        struct kiln_lx *cols[2 * 32];
        struct kiln_lblock wide = {0};
        int32_t lane = kiln_lk_var(lc, KILN_DT_I64, "lane");
        struct kiln_lx *pix = add_i(lc, V(lc, ow0), V(lc, lane));
        vec = vec && L <= 64 && tile_columns(lc, &wide, &t, ct, cols);
        for (int l = 0; l < L && vec; l++) {
            struct kiln_lx *mo = add_i(lc, mul_i(lc, mb, IX(lc, L)), IX(lc, l));
            struct kiln_lx *val = cols[l];
            if (bias >= 0)
                val = bin(lc, KILN_LX_ADD, val,
                          kiln_lx_splat(lc, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, mo)), G));
            struct kiln_lx *yi[4] = {n, mo, oh, pix};
            vec = kiln_lb_store_out_lanes(lc, &wide, y, wino_out_at(lc, s, yi), val, yi, lane);
        }
        if (vec) {
            for (int32_t k = 0; k < wide.n; k++)
                kiln_lb_add(lc, &fg->body, wide.s[k]);
            continue;
        }
        /* else each element once: the group's own pixels (from g0 on, and
         * from the chunk's nominal start on) */
        for (int r = 0; r < G; r++) {
            struct kiln_lx *pr = add_i(lc, V(lc, ow0), IX(lc, r));
            struct kiln_lx *own = bin(lc, KILN_LX_GE, pr, g0);
            if (NC > 1)
                own = land(lc, own, bin(lc, KILN_LX_GE, pr, nominal));
            struct kiln_lblock *sb = &kiln_lb_if(lc, &fg->body, own)->body;
            for (int l = 0; l < L; l++) {
                struct kiln_lx *mo = add_i(lc, mul_i(lc, mb, IX(lc, L)), IX(lc, l));
                struct kiln_lx *val = tile_at(lc, &t, r, l);
                if (bias >= 0)
                    val = bin(lc, KILN_LX_ADD, val,
                              kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, mo)));
                struct kiln_lx *yi[4] = {n, mo, oh, pr};
                kiln_lb_store_out(lc, sb, y, wino_out_at(lc, s, yi), val, yi);
            }
        }
    }
    if (vec)
        lc->k->hints &= ~(unsigned)KILN_LK_HINT_MAY_ALIAS;
    kiln_lower_method(lc, "Winograd F(%dx%d, 3x3): output transform, %d ch x %d px%s", m, m, L, G,
                      vec ? "" : ", scalar epilogue");
}

/* The convolution by Winograd (wino_choose said yes): four kernels, from lc->k on. */
static enum kiln_status
wino_conv(struct kiln_lower_ctx *lc, const struct wino_shape *s, int32_t x,
          const struct kiln_tensor *wt, int32_t bias, const int64_t *pad, enum kiln_dtype ct)
{
    int32_t xb = wino_copy(lc, s, x, pad, ct);
    struct kiln_lx *planes = mul_i(lc, s->Nn, IX(lc, s->A2 * s->T));
    int32_t vb = kiln_lower_scratch(lc, ct, mul_i(lc, planes, IX(lc, s->C)));
    int32_t mbuf = kiln_lower_scratch(lc, ct, mul_i(lc, planes, IX(lc, s->M)));
    kiln_lower_kernel(lc, "input");
    wino_input(lc, s, xb, vb, ct);
    kiln_lower_kernel(lc, "gemm");
    wino_gemm(lc, s, wt, vb, mbuf, ct);
    kiln_lower_kernel(lc, "output");
    wino_output(lc, s, mbuf, kiln_lower_out(lc, 0), bias >= 0 ? kiln_lower_in(lc, 2) : -1, ct);
    return KILN_OK;
}

bool
kiln_lower_conv2d_packed_fits(const struct kiln_tensor *w, int64_t groups, int64_t ow)
{
    /* ow < 0: a width known at run time only (a row narrower than a tile is
     * then computed pixel by pixel) */
    return w && w->rank == 4 && groups == 1 && kiln_dtype_is_float(w->dtype) && w->dims[0] > 0 &&
           w->dims[1] > 0 && w->dims[2] > 0 && w->dims[3] > 0 && (ow >= 3 || ow == -1);
}

enum kiln_status
kiln_lower_conv2d_packed(struct kiln_lower_ctx *lc, int32_t x, const struct kiln_tensor *wt,
                         int32_t bias, int32_t y, const int64_t *stride, const int64_t *pad,
                         const int64_t *dil, enum kiln_dtype ct)
{
    const int64_t M = wt->dims[0], C = wt->dims[1], KH = wt->dims[2], KW = wt->dims[3];
    int vl, TILE_L, nrmax;
    tile_shape(lc, &vl, &TILE_L, &nrmax);
    struct wino_shape ws;
    if (wino_choose(lc, x, wt, y, stride, dil, ct, &ws))
        return wino_conv(lc, &ws, x, wt, bias, pad, ct);
    /* a 1x1 over a short reduction (at most 48 input channels: MobileNetV2's
     * expansions) or a large image (at least 512 pixels, so that the 32-pixel
     * tiles waste little): pixel lanes, whose epilogue runs on vectors. Measured
     * on ResNet-50: faster from 28x28 up, slower at 14x14 and 7x7 */
    struct kiln_lx *P0 = mul_i(lc, kiln_lower_dim(lc, y, 2), kiln_lower_dim(lc, y, 3));
    if (KH == 1 && KW == 1 && stride[0] == 1 && stride[1] == 1 && !pad[0] && !pad[1] && !pad[2] &&
        !pad[3] && M % nrmax == 0 && P0->kind == KILN_LX_IMM && P0->i >= TILE_L &&
        (C <= 48 || P0->i >= 512) && kiln_lower_buf(lc, x)->dtype == ct)
        return pointwise(lc, x, wt, bias, y, P0->i, ct);
    /* an image whose size is known at run time only: taken to be large (the
     * detectors and OCR models that have one) */
    if (KH == 1 && KW == 1 && stride[0] == 1 && stride[1] == 1 && !pad[0] && !pad[1] && !pad[2] &&
        !pad[3] && M % nrmax == 0 && P0->kind != KILN_LX_IMM && kiln_lower_buf(lc, x)->dtype == ct)
        return pointwise_rt(lc, x, wt, bias, y, P0, ct);
    const int64_t MB = (M + TILE_L - 1) / TILE_L, K = C * KH * KW;
    /* panel[mb][(kh * KW + kw) * C + c][l] = w[mb * L + l][c][kh][kw] */
    void *data;
    int32_t pbuf = kiln_lower_const(lc, ct, MB * K * TILE_L, "packed", &data);
    float *pw = data;
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++) {
                    double v = 0;
                    kiln_tensor_get_f64(wt, ((m * C + c) * KH + kh) * KW + kw, &v);
                    int64_t k = (kh * KW + kw) * C + c;
                    pw[((m / TILE_L) * K + k) * TILE_L + m % TILE_L] = (float)v;
                }

    struct kiln_lx *OH = kiln_lower_dim(lc, y, 2), *OW = kiln_lower_dim(lc, y, 3);
    struct kiln_lx *H = kiln_lower_dim(lc, x, 2), *W = kiln_lower_dim(lc, x, 3);
    struct kiln_lx *P = mul_i(lc, OH, OW), *Nn = kiln_lower_dim(lc, y, 0);
    bool padded = pad[0] || pad[1] || pad[2] || pad[3];
    /* 1x1, stride 1, unpadded, over an image of at least a tile: tiles of the
     * flattened image, read in place; else row tiles of 8 pixels, or the
     * whole row when it is narrower */
    bool pointwise = KH == 1 && KW == 1 && !padded && stride[0] == 1 && stride[1] == 1 &&
                     P->kind == KILN_LX_IMM && P->i >= nrmax;
    const int nr = pointwise || OW->kind != KILN_LX_IMM || OW->i >= nrmax ? nrmax : (int)OW->i;

    /* the input as read: in place, or the copy of input_copy */
    int32_t xs = x;
    const int64_t S = stride[1];
    struct kiln_lx *Hp = H, *RW = W;
    /* unpadded with a stride: read in place, pixel r of a tile S columns
     * after pixel r - 1 (its values are splat one at a time anyway) */
    const bool strided = !pointwise && !padded && S > 1;
    if (!pointwise && padded) {
        /* the buffers (not the node's slots: y may be a view) into the new kernel */
        int32_t ybuf = lc->k->bufs[y], bbuf = bias >= 0 ? lc->k->bufs[bias] : -1;
        int32_t xpb = input_copy(lc, x, IX(lc, C), pad, S, ct, &Hp, &RW);
        kiln_lower_kernel(lc, "tile");
        xs = kiln_lower_slot(lc, xpb);
        x = -1;
        y = kiln_lower_slot(lc, ybuf);
        bias = bbuf >= 0 ? kiln_lower_slot(lc, bbuf) : -1;
    }
    /* tap column kw*dil of output column o is, in a copied row, in phase
     * (kw*dil) % S at o + (kw*dil) / S (S is 1 when the input is read in place) */
    struct kiln_lx *HWp = mul_i(lc, Hp, RW);
    int32_t panel = kiln_lower_slot(lc, pbuf);

    /* tasks: (n, channel block, tile), the tile fastest (consecutive tasks share a panel).
     * Pointwise: tiles of nr consecutive pixels of the flattened image; else nr
     * consecutive pixels of one output row (OW / nr rounded up per row). The last
     * tile starts early enough to end at the row's (image's) end, overlapping the
     * one before; it stores only its own pixels. */
    struct kiln_lx *span = pointwise ? P : OW;
    /* a span of known length that tiles of nr do not cover exactly ends in a
     * tile of the rest (rem pixels) instead of one overlapping the tile before */
    const int64_t rem = span->kind == KILN_LX_IMM ? span->i % nr : 0;
    struct kiln_lx *per = div_i(lc, add_i(lc, span, IX(lc, nr - 1)), IX(lc, nr));
    struct kiln_lx *T = pointwise ? per : mul_i(lc, OH, per);
    int32_t p;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, Nn, mul_i(lc, IX(lc, MB), T)), &p);
    lc->k->hints |= KILN_LK_HINT_MAY_ALIAS; /* keep the strided epilogue scalar */
    kiln_lower_method(lc, "tile %d px x %d ch over %s, packed weights%s", nr, TILE_L,
                      pointwise ? "the flattened image" : "a row",
                      xs != x   ? ", padded phase-split input copy"
                      : strided ? ", strided reads in place"
                                : "");
    struct kiln_lx *tile = rem_i(lc, V(lc, p), T);
    struct kiln_lx *nmb = div_i(lc, V(lc, p), T);
    struct kiln_lx *vn = div_i(lc, nmb, IX(lc, MB)), *mb = rem_i(lc, nmb, IX(lc, MB));
    struct kiln_lx *voh = pointwise ? NULL : div_i(lc, tile, per);
    struct kiln_lx *t0 = mul_i(lc, pointwise ? tile : rem_i(lc, tile, per), IX(lc, nr));
    int32_t ohv = -1;
    if (!pointwise) {
        ohv = kiln_lk_var(lc, KILN_DT_I64, "oh");
        kiln_lb_set(lc, body, ohv, voh);
    }
    struct conv_tiling g = {.lc = lc,
                            .C = C,
                            .KH = KH,
                            .KW = KW,
                            .K = K,
                            .M = M,
                            .MB = MB,
                            .S = S,
                            .L = TILE_L,
                            .pointwise = pointwise,
                            .strided = strided,
                            .stride = stride,
                            .dil = dil,
                            .ct = ct,
                            .x = x,
                            .xs = xs,
                            .y = y,
                            .bias = bias,
                            .panel = panel,
                            .ohv = ohv,
                            .vn = vn,
                            .mb = mb,
                            .OW = OW,
                            .P = P,
                            .RW = RW,
                            .HWp = HWp,
                            .span = span};
    if (rem) {
        /* the last tile of a row (image) covers its rem pixels exactly */
        struct kiln_ls *last = kiln_lb_if(lc, body, bin(lc, KILN_LX_EQ, t0, IX(lc, span->i - rem)));
        int32_t b1 = kiln_lk_var(lc, KILN_DT_I64, "base"),
                b2 = kiln_lk_var(lc, KILN_DT_I64, "base");
        kiln_lb_set(lc, &last->body, b1, t0);
        kiln_lb_set(lc, &last->orelse, b2, t0);
        conv_tile(&g, &last->body, (int)rem, b1, t0);
        conv_tile(&g, &last->orelse, nr, b2, t0);
    } else if (span->kind != KILN_LX_IMM) {
        /* a span known at run time: tiles of nr where it holds one, else one
         * pixel at a time (a row narrower than a tile) */
        struct kiln_ls *wide = kiln_lb_if(lc, body, bin(lc, KILN_LX_GE, span, IX(lc, nr)));
        int32_t base = tile_start(lc, &wide->body, t0, sub_i(lc, span, IX(lc, nr)), "base");
        conv_tile(&g, &wide->body, nr, base, t0);
        int32_t j;
        struct kiln_ls *px = kiln_lb_for(lc, &wide->orelse, "j", IX(lc, 0), span, &j);
        int32_t b1 = kiln_lk_var(lc, KILN_DT_I64, "base");
        kiln_lb_set(lc, &px->body, b1, V(lc, j));
        conv_tile(&g, &px->body, 1, b1, V(lc, j));
    } else {
        int32_t base = tile_start(lc, body, t0, sub_i(lc, span, IX(lc, nr)), "base");
        conv_tile(&g, body, nr, base, t0);
    }
    if (!g.scalar_epilogue)
        lc->k->hints &= ~(unsigned)KILN_LK_HINT_MAY_ALIAS;
    return KILN_OK;
}

/* ---------------------------------------------------------------- MatMul by constant weights */

bool
kiln_lower_matmul_packed_fits(const struct kiln_lower_ctx *lc, const struct kiln_tensor *b,
                              const struct kiln_lx *rows)
{
    int vl, l, nr;
    tile_shape(lc, &vl, &l, &nr);
    (void)nr;
    /* N below a vector tile leaves most lanes idle: the row kernels do better */
    return b && b->rank == 2 && kiln_dtype_is_float(b->dtype) && b->dims[0] > 0 &&
           b->dims[1] >= l && b->dims[1] <= (INT64_C(1) << 30) &&
           (rows->kind != KILN_LX_IMM || rows->i > 0);
}

/*
 * Y [R, N] = A [R, K] (rows of a, a's batch dims flattened) times B [K, N], a
 * constant packed at compile time into panels [ceil(N / L)][K][L] (the last
 * zero-padded), plus beta * C for a bias C of N (Gemm's). Tasks are (column
 * block, row tile), the row tile fastest: consecutive tasks share a panel. A
 * tile of nr rows (8, or R when fewer; the last tile starts at R - nr and
 * keeps only its own rows) accumulates over K in vector registers; each row
 * then goes through the fused epilogue on vectors (kiln_lb_store_out_lanes).
 * Failing that, the tile is stored with vector stores into the accumulator
 * (raw_accumulator) and the epilogue pass reads the rows back once and stores
 * each element through kiln_lb_store_out, a vectorizable loop over the L
 * columns. The last, partial column block (N not a multiple of L) goes
 * through a local tile and stores its own columns one by one. R known only
 * at run time: tiles of 8 rows where there are 8, else one row at a time.
 */
struct mm_packed {
    struct kiln_lower_ctx *lc;
    int32_t a, y, panel, bias;
    float beta;
    int64_t K, N, NB, L;
    int vl, ry;
    bool tail;   /* N % L != 0: block NB - 1 is partial */
    int32_t loc; /* its local row copy (one for every row: they go one by one), -1 until made */
    struct kiln_lx *R;
    enum kiln_dtype ct;
};

/* The stores of one tile row's vectors (columns col0 + [0, L)) to row `row`. */
static void
mm_store_row(struct mm_packed *g, struct kiln_lblock *own, const struct tile *t, int r,
             struct kiln_lx *row, struct kiln_lx *col0, bool partial, int32_t *acc, bool *in_place)
{
    struct kiln_lower_ctx *lc = g->lc;
    const int vl = g->vl;
    const int64_t N = g->N, L = g->L;
    struct kiln_lx *ydims[KILN_MAX_RANK], *yi[KILN_MAX_RANK];
    for (int d = 0; d < g->ry - 1; d++)
        ydims[d] = kiln_lower_dim(lc, g->y, d);
    struct kiln_lx *rest = row;
    for (int d = g->ry - 2; d >= 0; d--) {
        yi[d] = d ? rem_i(lc, rest, ydims[d]) : rest;
        rest = d ? div_i(lc, rest, ydims[d]) : rest;
    }
    struct kiln_lx *rbase = add_i(lc, mul_i(lc, row, IX(lc, N)), col0);
    if (partial) {
        /* the block's own N - col0 columns, through a local copy of the row */
        if (g->loc < 0)
            g->loc = kiln_lower_slot(lc, kiln_lower_local(lc, g->ct, L));
        int32_t loc = g->loc;
        for (int v = 0; v < TILE_NV; v++)
            kiln_lb_store(lc, own, loc, IX(lc, v * vl), V(lc, t->acc[r][v]));
        int32_t j;
        struct kiln_ls *fe = loop(lc, own, "j", IX(lc, N % L), &j);
        struct kiln_lx *val = kiln_lx_load(lc, loc, V(lc, j));
        if (g->bias >= 0)
            val = bin(lc, KILN_LX_ADD, val,
                      bin(lc, KILN_LX_MUL, fimm(lc, g->ct, g->beta),
                          kiln_lx_load_f(lc, g->bias, add_i(lc, col0, V(lc, j)))));
        yi[g->ry - 1] = add_i(lc, col0, V(lc, j));
        kiln_lb_store_out(lc, &fe->body, g->y, add_i(lc, rbase, V(lc, j)), val, yi);
        return;
    }
    int32_t lane = kiln_lk_var(lc, KILN_DT_I64, "lane");
    int32_t vals[TILE_NV];
    for (int v = 0; v < TILE_NV; v++) {
        vals[v] = t->acc[r][v];
        if (g->bias < 0)
            continue;
        vals[v] = kiln_lk_vvar(lc, g->ct, vl, "yb");
        kiln_lb_set(lc, own, vals[v],
                    bin(lc, KILN_LX_ADD, V(lc, t->acc[r][v]),
                        bin(lc, KILN_LX_MUL, kiln_lx_splat(lc, fimm(lc, g->ct, g->beta), vl),
                            kiln_lx_vload(lc, g->bias, add_i(lc, col0, IX(lc, v * vl)), vl))));
    }
    bool wide = true;
    for (int v = 0; v < TILE_NV && wide; v++) {
        struct kiln_lx *off = add_i(lc, IX(lc, v * vl), V(lc, lane));
        yi[g->ry - 1] = add_i(lc, col0, off);
        wide =
            kiln_lb_store_out_lanes(lc, own, g->y, add_i(lc, rbase, off), V(lc, vals[v]), yi, lane);
    }
    if (wide)
        return;
    if (*acc < 0)
        *acc = raw_accumulator(lc, g->y, g->ct, mul_i(lc, g->R, IX(lc, N)), in_place);
    for (int v = 0; v < TILE_NV; v++)
        kiln_lb_store(lc, own, *acc, add_i(lc, rbase, IX(lc, v * vl)), V(lc, vals[v]));
    if (*in_place)
        return;
    int32_t j;
    struct kiln_ls *fe = loop(lc, own, "j", IX(lc, L), &j);
    fe->hints |= KILN_LS_HINT_VECTORIZE;
    struct kiln_lx *at = add_i(lc, rbase, V(lc, j));
    yi[g->ry - 1] = add_i(lc, col0, V(lc, j));
    kiln_lb_store_out(lc, &fe->body, g->y, at, kiln_lx_load(lc, *acc, at), yi);
}

/* One tile of nr rows from row0 (rows before t0 belong to the tile before). */
static void
mm_tile(struct mm_packed *g, struct kiln_lblock *body, int nr, int32_t row0, struct kiln_lx *t0,
        struct kiln_lx *nb, int32_t *acc, bool *in_place)
{
    struct kiln_lower_ctx *lc = g->lc;
    const int64_t K = g->K, L = g->L;
    struct tile t;
    tile_zero(lc, body, &t, nr, g->ct);
    int32_t k;
    struct kiln_ls *fk = loop(lc, body, "k", IX(lc, K), &k);
    fk->hints |= KILN_LS_HINT_NO_VECTORIZE;
    struct kiln_lx *av[TILE_NR] = {0};
    for (int r = 0; r < nr; r++)
        av[r] = kiln_lx_cast(
            lc, g->ct,
            kiln_lx_load_f(
                lc, g->a,
                add_i(lc, mul_i(lc, add_i(lc, V(lc, row0), IX(lc, r)), IX(lc, K)), V(lc, k))));
    tile_step(lc, &fk->body, &t, av, g->panel,
              mul_i(lc, add_i(lc, mul_i(lc, nb, IX(lc, K)), V(lc, k)), IX(lc, L)), g->ct);
    struct kiln_lx *col0 = mul_i(lc, nb, IX(lc, L));
    for (int r = 0; r < nr; r++) {
        struct kiln_lx *row = add_i(lc, V(lc, row0), IX(lc, r));
        struct kiln_lblock *own = &kiln_lb_if(lc, body, bin(lc, KILN_LX_GE, row, t0))->body;
        if (!g->tail) {
            mm_store_row(g, own, &t, r, row, col0, false, acc, in_place);
            continue;
        }
        struct kiln_ls *last = kiln_lb_if(lc, own, bin(lc, KILN_LX_EQ, nb, IX(lc, g->NB - 1)));
        mm_store_row(g, &last->body, &t, r, row, col0, true, acc, in_place);
        mm_store_row(g, &last->orelse, &t, r, row, col0, false, acc, in_place);
    }
}

enum kiln_status
kiln_lower_matmul_packed_bias(struct kiln_lower_ctx *lc, int32_t a, const struct kiln_tensor *bt,
                              int32_t bias, float beta, int32_t y, enum kiln_dtype ct)
{
    int vl, TILE_L, nrmax;
    tile_shape(lc, &vl, &TILE_L, &nrmax);
    const int64_t K = bt->dims[0], N = bt->dims[1], NB = (N + TILE_L - 1) / TILE_L;
    int32_t panel = kiln_lower_slot(lc, pack_panels(lc, ct, bt, N, 1, K, N, TILE_L));
    int ra = kiln_lower_rank(lc, a);
    struct kiln_lx *R = kiln_lower_dims_prod(lc, a, 0, ra - 1);
    const bool fixed = R->kind == KILN_LX_IMM;
    const int nr = fixed && R->i < nrmax ? (int)R->i : nrmax;
    struct kiln_lx *RT = div_i(lc, add_i(lc, R, IX(lc, nr - 1)), IX(lc, nr));
    struct mm_packed g = {.lc = lc,
                          .a = a,
                          .y = y,
                          .panel = panel,
                          .bias = bias,
                          .beta = beta,
                          .K = K,
                          .N = N,
                          .NB = NB,
                          .L = TILE_L,
                          .vl = vl,
                          .ry = kiln_lower_rank(lc, y),
                          .tail = N % TILE_L != 0,
                          .R = R,
                          .ct = ct,
                          .loc = -1};
    int32_t p;
    struct kiln_lblock *body = kiln_lk_parallel(lc, mul_i(lc, IX(lc, NB), RT), &p);
    kiln_lower_method(lc, "GEMM tile %d rows x %d cols, packed weights%s", nr, TILE_L,
                      g.tail ? ", a partial last column block" : "");
    struct kiln_lx *nb = div_i(lc, V(lc, p), RT), *rt = rem_i(lc, V(lc, p), RT);
    struct kiln_lx *t0 = mul_i(lc, rt, IX(lc, nr));
    int32_t acc = -1;
    bool in_place = false;
    if (fixed) {
        int32_t row0 = tile_start(lc, body, t0, IX(lc, R->i - nr), "row");
        mm_tile(&g, body, nr, row0, t0, nb, &acc, &in_place);
        return KILN_OK;
    }
    struct kiln_ls *wide = kiln_lb_if(lc, body, bin(lc, KILN_LX_GE, R, IX(lc, nr)));
    int32_t row0 = tile_start(lc, &wide->body, t0, sub_i(lc, R, IX(lc, nr)), "row");
    mm_tile(&g, &wide->body, nr, row0, t0, nb, &acc, &in_place);
    int32_t r;
    struct kiln_ls *fr = kiln_lb_for(lc, &wide->orelse, "r", IX(lc, 0), R, &r);
    int32_t row1 = kiln_lk_var(lc, KILN_DT_I64, "row");
    kiln_lb_set(lc, &fr->body, row1, V(lc, r));
    mm_tile(&g, &fr->body, 1, row1, V(lc, r), nb, &acc, &in_place);
    return KILN_OK;
}

enum kiln_status
kiln_lower_matmul_packed(struct kiln_lower_ctx *lc, int32_t a, const struct kiln_tensor *bt,
                         int32_t y, enum kiln_dtype ct)
{
    return kiln_lower_matmul_packed_bias(lc, a, bt, -1, 1.0f, y, ct);
}

/* ---------------------------------------------------------------- depthwise convolution */

bool
kiln_lower_depthwise_fits(int64_t groups, int64_t c, int64_t m, int64_t ow)
{
    return groups > 1 && groups == c && m == c && ow >= 4;
}

/* in > acc ? in : acc, the window kernel's NaN-skipping maximum */
static struct kiln_lx *
max_of(struct kiln_lower_ctx *lc, struct kiln_lx *acc, struct kiln_lx *in)
{
    return kiln_lx_select(lc, bin(lc, KILN_LX_GT, in, acc), in, acc);
}

/* The lanes of a window kernel's row vectors for output rows of OW: the
 * target's, or 8 or 4 for narrower rows. */
static int
row_lanes(const struct kiln_lower_ctx *lc, int64_t OW)
{
    const int lanes = f32_lanes(lc);
    return OW >= lanes ? lanes : OW >= 8 ? 8 : 4;
}

/* The chunk starts of an output row of OW: 0, VL, ..., and OW - VL for the
 * rest (overlapping the chunk before); returns their count, or -1 (an error
 * naming `what`) past 64 chunks. */
static int
row_chunks(struct kiln_lower_ctx *lc, int64_t OW, int VL, int64_t *j0, const char *what)
{
    int nch = 0;
    for (int64_t j = 0; j < OW && nch < 64; j += VL)
        j0[nch++] = j + VL <= OW ? j : OW - VL;
    if (nch < 64)
        return nch;
    kiln_lower_unsupported(lc, "a %s output row of %lld pixels", what, (long long)OW);
    return -1;
}

/*
 * A sliding window over each plane, vectorized along output rows: depthwise
 * convolution (one input channel per output channel; w >= 0) or 2-D max
 * pooling (w < 0). A task is one plane (n, c): when the window pads, strides
 * or converts, it first copies its input plane, padded (with 0, or -inf for
 * the maximum) and split by column phase (copy_plane), into a buffer of its
 * own on the stack (kiln_lower_local: reused by every plane of the thread's
 * share, so the copy stays in L1/L2); else it reads the input in place. The
 * taps' weights are splat once per plane (for kernels of at most 49 taps; the
 * taps unrolled). Each output row is covered by chunks of VL lanes (the
 * target's, or 8 or 4 for narrower rows; the last chunk starts at OW - VL,
 * overlapping the one before), each a vector accumulator gaining
 * w[c, kh, kw] * VL consecutive inputs per tap, or taking their maximum
 * (a NaN input is passed over, as the scalar MaxPool does). The bias and the
 * fused epilogue run on the vectors (kiln_lb_store_out_lanes); failing that,
 * the row goes raw to the accumulator (raw_accumulator) and an epilogue pass
 * stores each element through kiln_lb_store_out.
 */
static enum kiln_status
window(struct kiln_lower_ctx *lc, int32_t x, int32_t w, int32_t bias, int32_t y, struct kiln_lx *KH,
       struct kiln_lx *KW, const int64_t *stride, const int64_t *pad, const int64_t *dil,
       enum kiln_dtype ct)
{
    const bool mx = w < 0;
    struct kiln_lx *C = kiln_lower_dim(lc, x, 1);
    struct kiln_lx *OH = kiln_lower_dim(lc, y, 2);
    const int64_t OW = kiln_lower_dim(lc, y, 3)->i, S = stride[1];
    const int VL = row_lanes(lc, OW);
    bool padded = pad[0] || pad[1] || pad[2] || pad[3];
    struct padded pp = padded_shape(lc, x, pad, S);
    struct kiln_lx *HWp = mul_i(lc, pp.Hp, pp.RW);
    bool copied = padded || S > 1 || kiln_lower_buf(lc, x)->dtype != ct;
    /* a plane's copy on the stack when its size is known and modest, else in
     * a workspace scratch of every plane */
    bool local = copied && HWp->kind == KILN_LX_IMM && HWp->i <= 32768;
    struct kiln_lx *planes = mul_i(lc, kiln_lower_dim(lc, y, 0), C);
    int32_t xs = x, p;
    if (copied)
        xs = kiln_lower_slot(lc, local ? kiln_lower_local(lc, ct, HWp->i)
                                       : kiln_lower_scratch(lc, ct, mul_i(lc, planes, HWp)));
    struct kiln_lblock *body = kiln_lk_parallel(lc, planes, &p);
    kiln_lower_method(lc, "%s, %d-lane row vectors%s", mx ? "max pool" : "depthwise", VL,
                      !copied ? ""
                      : local ? ", padded phase-split plane copy on the stack"
                              : ", padded phase-split plane copy");
    struct kiln_lx *q = V(lc, p), *c = rem_i(lc, q, C);
    struct kiln_lx *xbase = local ? IX(lc, 0) : mul_i(lc, q, HWp);
    if (copied)
        copy_plane(lc, body, x, q, &pp, xs, xbase, mx ? fimm(lc, ct, -INFINITY) : fimm(lc, ct, 0),
                   ct);

    /* the taps' weights, splat once per plane when there are few */
    const bool unroll = KH->kind == KILN_LX_IMM && KW->kind == KILN_LX_IMM && KH->i * KW->i <= 49;
    int32_t wv[49];
    for (int64_t t = 0; unroll && !mx && t < KH->i * KW->i; t++) {
        wv[t] = kiln_lk_vvar(lc, ct, VL, "w");
        struct kiln_lx *woff = add_i(lc, mul_i(lc, c, IX(lc, KH->i * KW->i)), IX(lc, t));
        kiln_lb_set(lc, body, wv[t],
                    kiln_lx_splat(lc, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, w, woff)), VL));
    }
    struct kiln_lx *bv = NULL;
    if (bias >= 0)
        bv = kiln_lx_splat(lc, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, c)), VL);

    int32_t oh;
    struct kiln_lblock *rowb = &loop(lc, body, "oh", OH, &oh)->body;
    /* chunk starts: 0, VL, ..., and OW - VL for the rest */
    int64_t j0[64];
    const int nch = row_chunks(lc, OW, VL, j0, mx ? "max pool" : "depthwise");
    if (nch < 0)
        return KILN_ERR_UNSUPPORTED;
    int32_t av[64];
    for (int i = 0; i < nch; i++) {
        av[i] = kiln_lk_vvar(lc, ct, VL, "acc");
        kiln_lb_set(lc, rowb, av[i], kiln_lx_splat(lc, fimm(lc, ct, mx ? -INFINITY : 0), VL));
    }
    /* tap (kh, kw) of output column o reads copied row oh * S0 + kh * D0, at
     * phase (kw * D1) % S, slot o + (kw * D1) / S */
    struct kiln_lx *row0 =
        add_i(lc, xbase, mul_i(lc, mul_i(lc, V(lc, oh), IX(lc, stride[0])), pp.RW));
    const int64_t ntaps = unroll ? KH->i * KW->i : 1;
    for (int64_t t = 0; t < ntaps; t++) {
        struct kiln_lblock *tap = rowb;
        struct kiln_lx *kh, *kw, *wt = NULL;
        if (unroll) {
            kh = IX(lc, t / KW->i);
            kw = IX(lc, t % KW->i);
            wt = mx ? NULL : V(lc, wv[t]);
        } else {
            int32_t vkh, vkw;
            struct kiln_ls *fkh = loop(lc, rowb, "kh", KH, &vkh);
            struct kiln_ls *fkw = loop(lc, &fkh->body, "kw", KW, &vkw);
            tap = &fkw->body;
            kh = V(lc, vkh);
            kw = V(lc, vkw);
            if (!mx) {
                int32_t w1 = kiln_lk_vvar(lc, ct, VL, "w");
                struct kiln_lx *woff =
                    add_i(lc, mul_i(lc, add_i(lc, mul_i(lc, c, KH), kh), KW), kw);
                kiln_lb_set(
                    lc, tap, w1,
                    kiln_lx_splat(lc, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, w, woff)), VL));
                wt = V(lc, w1);
            }
        }
        struct kiln_lx *kc = mul_i(lc, kw, IX(lc, dil[1]));
        struct kiln_lx *col =
            add_i(lc, div_i(lc, kc, IX(lc, S)), mul_i(lc, rem_i(lc, kc, IX(lc, S)), pp.Wq));
        struct kiln_lx *at =
            add_i(lc, add_i(lc, row0, mul_i(lc, mul_i(lc, kh, IX(lc, dil[0])), pp.RW)), col);
        for (int i = 0; i < nch; i++) {
            struct kiln_lx *in = kiln_lx_vload(lc, xs, add_i(lc, at, IX(lc, j0[i])), VL);
            if (mx)
                kiln_lb_set(lc, tap, av[i], max_of(lc, V(lc, av[i]), in));
            else
                accum(lc, tap, av[i], KILN_LX_ADD, bin(lc, KILN_LX_MUL, wt, in));
        }
    }
    /* the chunks through the epilogue on vectors; failing that, raw into the
     * accumulator, then the epilogue pass over the row */
    struct kiln_lx *obase = mul_i(lc, add_i(lc, mul_i(lc, q, OH), V(lc, oh)), IX(lc, OW));
    int32_t lane = kiln_lk_var(lc, KILN_DT_I64, "lane");
    struct kiln_lx *yn = div_i(lc, q, C);
    bool wide = true;
    for (int i = 0; i < nch && wide; i++) {
        struct kiln_lx *ow = add_i(lc, IX(lc, j0[i]), V(lc, lane));
        struct kiln_lx *yi[4] = {yn, c, V(lc, oh), ow};
        struct kiln_lx *val = bv ? bin(lc, KILN_LX_ADD, V(lc, av[i]), bv) : V(lc, av[i]);
        wide = kiln_lb_store_out_lanes(lc, rowb, y, add_i(lc, obase, ow), val, yi, lane);
    }
    if (wide)
        return KILN_OK;
    bool in_place;
    int32_t acc =
        raw_accumulator(lc, y, ct, mul_i(lc, planes, mul_i(lc, OH, IX(lc, OW))), &in_place);
    for (int i = 0; i < nch; i++)
        kiln_lb_store(lc, rowb, acc, add_i(lc, obase, IX(lc, j0[i])), V(lc, av[i]));
    if (in_place && bias < 0)
        return KILN_OK;
    int32_t j;
    struct kiln_ls *fe = loop(lc, rowb, "j", IX(lc, OW), &j);
    fe->hints |= KILN_LS_HINT_VECTORIZE;
    struct kiln_lx *at = add_i(lc, obase, V(lc, j));
    struct kiln_lx *val = kiln_lx_load(lc, acc, at);
    if (bias >= 0)
        val = bin(lc, KILN_LX_ADD, val, kiln_lx_cast(lc, ct, kiln_lx_load_f(lc, bias, c)));
    struct kiln_lx *yi[4] = {yn, c, V(lc, oh), V(lc, j)};
    kiln_lb_store_out(lc, &fe->body, y, at, val, yi);
    return KILN_OK;
}

enum kiln_status
kiln_lower_depthwise(struct kiln_lower_ctx *lc, int32_t x, int32_t w, int32_t bias, int32_t y,
                     const int64_t *stride, const int64_t *pad, const int64_t *dil,
                     enum kiln_dtype ct)
{
    return window(lc, x, w, bias, y, kiln_lower_dim(lc, w, 2), kiln_lower_dim(lc, w, 3), stride,
                  pad, dil, ct);
}

bool
kiln_lower_maxpool2d_fits(const int64_t *in, const int64_t *out, const int64_t *kernel,
                          const int64_t *stride, const int64_t *pad, const int64_t *dil)
{
    /* every window inside the padded input (ceil_mode may reach past it) */
    for (int i = 0; i < 2; i++)
        if (in[i] < 1 || out[i] < 1 ||
            (out[i] - 1) * stride[i] + (kernel[i] - 1) * dil[i] + 1 > in[i] + pad[i] + pad[i + 2])
            return false;
    return out[1] >= 4;
}

/* What maxpool_s2's row maxima read. */
struct s2_rows {
    struct kiln_lower_ctx *lc;
    int32_t x;
    int VL, nch;
    const int64_t *j0;
    enum kiln_dtype ct;
    int32_t even[64], odd[64], next[64];
    struct kiln_lx *ninf, *plane, *W;
};

/* Appends to blk, per chunk i of input row r, its maximum over the three
 * column taps (a vector variable, into hmax[i]). */
static void
row_max(const struct s2_rows *g, struct kiln_lblock *blk, struct kiln_lx *r, struct kiln_lx **hmax)
{
    struct kiln_lower_ctx *lc = g->lc;
    const int VL = g->VL;
    for (int i = 0; i < g->nch; i++) {
        struct kiln_lx *at =
            add_i(lc, add_i(lc, g->plane, mul_i(lc, r, g->W)), IX(lc, 2 * g->j0[i]));
        struct kiln_lx *a = kiln_lx_vload(lc, g->x, at, VL);
        struct kiln_lx *b = kiln_lx_vload(lc, g->x, add_i(lc, at, IX(lc, VL)), VL);
        int32_t ev = kiln_lk_vvar(lc, g->ct, VL, "even"), hv = kiln_lk_vvar(lc, g->ct, VL, "row");
        kiln_lb_set(lc, blk, ev, kiln_lx_shuffle(lc, a, b, g->even, VL));
        struct kiln_lx *last =
            kiln_lx_splat(lc, kiln_lx_load(lc, g->x, add_i(lc, at, IX(lc, 2 * VL))), VL);
        kiln_lb_set(lc, blk, hv, max_of(lc, g->ninf, V(lc, ev)));
        kiln_lb_set(lc, blk, hv, max_of(lc, V(lc, hv), kiln_lx_shuffle(lc, a, b, g->odd, VL)));
        kiln_lb_set(lc, blk, hv,
                    max_of(lc, V(lc, hv), kiln_lx_shuffle(lc, V(lc, ev), last, g->next, VL)));
        hmax[i] = V(lc, hv);
    }
}

/*
 * MaxPool 3x3, stride 2, no padding or dilation, read in place: a task is a
 * plane; each output row is chunks of VL columns. Per input row and chunk,
 * the row's maximum over the three taps: two vector loads of 2 VL columns
 * split into even and odd columns by shuffles, and the even columns one
 * further (the evens shifted by a lane, the last from a scalar load, which
 * stays inside the row: W >= 2 OW + 1). Output row oh takes the maximum of
 * input rows 2oh, 2oh + 1, 2oh + 2; row 2oh + 2's is carried to the next
 * output row, where it is row 2oh. The taps are taken in the window kernel's
 * order (row by row, left to right), so NaN and ties resolve the same way.
 */
static enum kiln_status
maxpool_s2(struct kiln_lower_ctx *lc, int32_t x, int32_t y, int VL, enum kiln_dtype ct)
{
    struct kiln_lx *C = kiln_lower_dim(lc, x, 1), *H = kiln_lower_dim(lc, x, 2);
    struct kiln_lx *W = kiln_lower_dim(lc, x, 3), *OH = kiln_lower_dim(lc, y, 2);
    const int64_t OW = kiln_lower_dim(lc, y, 3)->i;
    int64_t j0[64];
    const int nch = row_chunks(lc, OW, VL, j0, "max pool");
    if (nch < 0)
        return KILN_ERR_UNSUPPORTED;
    struct kiln_lx *planes = mul_i(lc, kiln_lower_dim(lc, y, 0), C);
    int32_t p, oh;
    struct kiln_lblock *body = kiln_lk_parallel(lc, planes, &p);
    kiln_lower_method(lc,
                      "max pool, %d-lane row vectors, stride-2 columns split by shuffles, "
                      "row maxima carried",
                      VL);
    struct s2_rows g = {.lc = lc, .x = x, .VL = VL, .nch = nch, .j0 = j0, .ct = ct, .W = W};
    for (int j = 0; j < VL; j++)
        g.even[j] = 2 * j, g.odd[j] = 2 * j + 1, g.next[j] = j + 1;
    g.ninf = kiln_lx_splat(lc, fimm(lc, ct, -INFINITY), VL);
    g.plane = mul_i(lc, mul_i(lc, V(lc, p), H), W);
    struct kiln_lx *hmax[64];
    int32_t carry[64];
    row_max(&g, body, IX(lc, 0), hmax);
    for (int i = 0; i < nch; i++) {
        carry[i] = kiln_lk_vvar(lc, ct, VL, "carry");
        kiln_lb_set(lc, body, carry[i], hmax[i]);
    }
    struct kiln_lblock *rowb = &loop(lc, body, "oh", OH, &oh)->body;
    struct kiln_lx *r1 = add_i(lc, mul_i(lc, V(lc, oh), IX(lc, 2)), IX(lc, 1));
    struct kiln_lx *h1[64];
    row_max(&g, rowb, r1, h1);
    row_max(&g, rowb, add_i(lc, r1, IX(lc, 1)), hmax);
    struct kiln_lx *obase = mul_i(lc, add_i(lc, mul_i(lc, V(lc, p), OH), V(lc, oh)), IX(lc, OW));
    int32_t lane = kiln_lk_var(lc, KILN_DT_I64, "lane");
    int32_t out[64];
    for (int i = 0; i < nch; i++) {
        out[i] = kiln_lk_vvar(lc, ct, VL, "max");
        kiln_lb_set(lc, rowb, out[i], max_of(lc, max_of(lc, V(lc, carry[i]), h1[i]), hmax[i]));
        kiln_lb_set(lc, rowb, carry[i], hmax[i]);
    }
    bool wide = true;
    for (int i = 0; i < nch && wide; i++) {
        struct kiln_lx *ow = add_i(lc, IX(lc, j0[i]), V(lc, lane));
        struct kiln_lx *yi[4] = {div_i(lc, V(lc, p), C), rem_i(lc, V(lc, p), C), V(lc, oh), ow};
        wide = kiln_lb_store_out_lanes(lc, rowb, y, add_i(lc, obase, ow), V(lc, out[i]), yi, lane);
    }
    if (wide)
        return KILN_OK;
    /* an epilogue that does not widen: each element through it */
    for (int i = 0; i < nch; i++)
        for (int l = 0; l < VL; l++) {
            struct kiln_lx *ow = IX(lc, j0[i] + l);
            struct kiln_lx *yi[4] = {div_i(lc, V(lc, p), C), rem_i(lc, V(lc, p), C), V(lc, oh), ow};
            kiln_lb_store_out(lc, rowb, y, add_i(lc, obase, ow),
                              kiln_lx_extract(lc, V(lc, out[i]), l), yi);
        }
    return KILN_OK;
}

enum kiln_status
kiln_lower_maxpool2d(struct kiln_lower_ctx *lc, int32_t x, int32_t y, const int64_t *kernel,
                     const int64_t *stride, const int64_t *pad, const int64_t *dil,
                     enum kiln_dtype ct)
{
    const int64_t OW = kiln_lower_dim(lc, y, 3)->i;
    const int VL = row_lanes(lc, OW);
    if (kernel[0] == 3 && kernel[1] == 3 && stride[0] == 2 && stride[1] == 2 && !pad[0] &&
        !pad[1] && !pad[2] && !pad[3] && dil[0] == 1 && dil[1] == 1 &&
        kiln_lower_buf(lc, x)->dtype == ct && ct == KILN_DT_F32 && OW >= VL && VL <= 16)
        return maxpool_s2(lc, x, y, VL, ct);
    return window(lc, x, -1, -1, y, IX(lc, kernel[0]), IX(lc, kernel[1]), stride, pad, dil, ct);
}
