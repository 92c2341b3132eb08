/*
 * profile.c - the per-layer report of a model compiled with --profile.
 *
 * The model's run() adds each layer's time to its profile's ms[]; this file
 * turns those sums into the table `kiln profile` prints. The peak it compares
 * with is the target's FLOP per cycle (from the compiler) times the clock
 * (sysfs cpuinfo_max_freq, else the highest "cpu MHz" of /proc/cpuinfo, else
 * the caller's) times the threads; the bandwidth of the roofline is measured
 * here by copying a buffer larger than the last-level cache.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kiln_rt.h"

/* The CPU's highest clock in GHz, and where it came from; 0 when unknown. */
static double
cpu_ghz(const char **source)
{
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "r");
    if (f) {
        long long khz = 0;
        int ok = fscanf(f, "%lld", &khz);
        fclose(f);
        if (ok == 1 && khz > 0) {
            *source = "cpufreq max";
            return (double)khz / 1e6;
        }
    }
    f = fopen("/proc/cpuinfo", "r");
    double best = 0;
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            const char *colon = strchr(line, ':');
            double mhz;
            if (strncmp(line, "cpu MHz", 7) == 0 && colon && sscanf(colon + 1, "%lf", &mhz) == 1 &&
                mhz > best)
                best = mhz;
        }
        fclose(f);
    }
    *source = "/proc/cpuinfo";
    return best / 1e3;
}

/* Memory bandwidth in GB/s: the best of 5 copies of 64 MiB (read + write). */
static double
measure_gbs(void)
{
    size_t n = (size_t)64 << 20;
    char *a = malloc(n), *b = malloc(n);
    double best = 0;
    if (a && b) {
        memset(a, 1, n);
        memset(b, 2, n);
        for (int r = 0; r < 5; r++) {
            double t0 = kiln_rt_now_ms();
            memcpy(b, a, n);
            double ms = kiln_rt_now_ms() - t0;
            a[r] = b[n - 1 - (size_t)r]; /* keep the copies */
            if (ms > 0 && 2.0 * (double)n / (ms * 1e6) > best)
                best = 2.0 * (double)n / (ms * 1e6);
        }
    }
    free(a);
    free(b);
    return best;
}

static void
human_count(char *buf, size_t n, double v)
{
    if (v >= 1e9)
        snprintf(buf, n, "%.2f G", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, n, "%.2f M", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, n, "%.2f k", v / 1e3);
    else
        snprintf(buf, n, "%.0f", v);
}

struct op_total {
    const char *op;
    double ms, flops;
    int count;
};

int
kiln_rt_profile_report(FILE *f, const struct kiln_rt_model *m, int runs, double total_ms,
                       uint64_t workspace_bytes, const struct kiln_rt_profile_opts *o)
{
    const struct kiln_rt_profile *p = m ? m->profile : NULL;
    if (!f || !p || runs <= 0 || !o)
        return KILN_RT_ERR_ARG;
    const char *clock_src = "--ghz";
    double ghz = o->ghz > 0 ? o->ghz : cpu_ghz(&clock_src);
    double gbs = o->gbs > 0 ? o->gbs : measure_gbs();
    int threads = o->threads > 0 ? o->threads : 1;
    double peak = (double)p->flop_per_cycle * ghz * threads; /* GFLOP/s */
    double balance = gbs > 0 ? peak / gbs : 0;               /* FLOP per byte */
    double latency = total_ms / runs, layer_sum = 0, flops_sum = 0;
    int unknown = 0;
    for (int32_t i = 0; i < p->n_layers; i++) {
        layer_sum += p->ms[i] / runs;
        if (p->layers[i].flops >= 0)
            flops_sum += (double)p->layers[i].flops;
        else
            unknown++;
    }

    fprintf(f, "profile of '%s': %d runs on %d thread%s, compiled for %s\n", m->name ? m->name : "",
            runs, threads, threads == 1 ? "" : "s", p->cpu ? p->cpu : "?");
    fprintf(f,
            "peak: %d FLOP/cycle x %.2f GHz (%s) x %d = %.1f GFLOP/s; memory %.1f GB/s (%s); "
            "balance %.1f FLOP/byte\n\n",
            p->flop_per_cycle, ghz, clock_src, threads, peak, gbs,
            o->gbs > 0 ? "given" : "measured", balance);
    int wn = 5, wo = 2, ws = 5;
    for (int32_t i = 0; i < p->n_layers; i++) {
        const struct kiln_rt_layer *l = &p->layers[i];
        wn = (int)strlen(l->name) > wn ? (int)strlen(l->name) : wn;
        wo = (int)strlen(l->op) > wo ? (int)strlen(l->op) : wo;
        ws = (int)strlen(l->shape) > ws ? (int)strlen(l->shape) : ws;
    }
    wn = wn > 28 ? 28 : wn;
    wo = wo > 34 ? 34 : wo;
    fprintf(f, "%4s  %-*s  %-*s  %-*s %9s %9s %9s %8s %7s %6s %6s  %-7s  %s\n", "#", wn, "layer",
            wo, "op", ws, "shape", "MFLOP", "MB", "ms", "GFLOP/s", "GB/s", "%peak", "share",
            "bound", "method");
    for (int32_t i = 0; i < p->n_layers; i++) {
        const struct kiln_rt_layer *l = &p->layers[i];
        double ms = p->ms[i] / runs;
        char mflop[16] = "-", mb[16] = "-", gf[16] = "-", gb[16] = "-", pk[16] = "-";
        const char *bound = "-";
        if (l->flops >= 0)
            snprintf(mflop, sizeof mflop, "%.2f", (double)l->flops / 1e6);
        if (l->bytes >= 0)
            snprintf(mb, sizeof mb, "%.2f", (double)l->bytes / 1e6);
        if (l->flops >= 0 && ms > 0) {
            snprintf(gf, sizeof gf, "%.2f", (double)l->flops / (ms * 1e6));
            snprintf(pk, sizeof pk, "%.1f%%",
                     peak > 0 ? 100.0 * (double)l->flops / (ms * 1e6) / peak : 0.0);
        }
        if (l->bytes >= 0 && ms > 0)
            snprintf(gb, sizeof gb, "%.2f", (double)l->bytes / (ms * 1e6));
        if (l->flops >= 0 && l->bytes > 0 && balance > 0)
            bound = (double)l->flops / (double)l->bytes >= balance ? "compute" : "memory";
        fprintf(f, "%4d  %-*.*s  %-*.*s  %-*s %9s %9s %9.4f %8s %7s %6s %5.1f%%  %-7s  %s\n",
                (int)i, wn, wn, l->name, wo, wo, l->op, ws, l->shape, mflop, mb, ms, gf, gb, pk,
                layer_sum > 0 ? 100.0 * ms / layer_sum : 0.0, bound, l->method ? l->method : "");
    }

    /* the slowest layers, and the time per op */
    int32_t *order = malloc(sizeof *order * (size_t)(p->n_layers + 1));
    struct op_total *ops = calloc((size_t)p->n_layers + 1, sizeof *ops);
    int n_ops = 0;
    if (order && ops) {
        for (int32_t i = 0; i < p->n_layers; i++)
            order[i] = i;
        for (int32_t i = 1; i < p->n_layers; i++) /* insertion sort, by time descending */
            for (int32_t j = i; j > 0 && p->ms[order[j]] > p->ms[order[j - 1]]; j--) {
                int32_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        int top = p->n_layers < 10 ? (int)p->n_layers : 10;
        fprintf(f, "\nslowest layers:\n");
        for (int k = 0; k < top; k++) {
            const struct kiln_rt_layer *l = &p->layers[order[k]];
            double ms = p->ms[order[k]] / runs;
            fprintf(f, "  %4d  %-*.*s  %-*.*s %9.4f ms %5.1f%%", (int)order[k], wn, wn, l->name, wo,
                    wo, l->op, ms, layer_sum > 0 ? 100.0 * ms / layer_sum : 0.0);
            if (l->flops >= 0 && ms > 0 && peak > 0)
                fprintf(f, "  %5.1f%% of peak", 100.0 * (double)l->flops / (ms * 1e6) / peak);
            fputc('\n', f);
        }
        for (int32_t i = 0; i < p->n_layers; i++) {
            const struct kiln_rt_layer *l = &p->layers[i];
            int k = 0;
            while (k < n_ops && strcmp(ops[k].op, l->op) != 0)
                k++;
            if (k == n_ops)
                ops[n_ops++].op = l->op;
            ops[k].ms += p->ms[i] / runs;
            ops[k].flops += l->flops > 0 ? (double)l->flops : 0;
            ops[k].count++;
        }
        for (int i = 1; i < n_ops; i++)
            for (int j = i; j > 0 && ops[j].ms > ops[j - 1].ms; j--) {
                struct op_total t = ops[j];
                ops[j] = ops[j - 1];
                ops[j - 1] = t;
            }
        fprintf(f, "\ntime per op:\n");
        for (int k = 0; k < n_ops; k++)
            fprintf(f, "  %-*.*s %4d x %9.4f ms %5.1f%%  %8.2f GFLOP/s\n", wo, wo, ops[k].op,
                    ops[k].count, ops[k].ms, layer_sum > 0 ? 100.0 * ops[k].ms / layer_sum : 0.0,
                    ops[k].ms > 0 ? ops[k].flops / (ops[k].ms * 1e6) : 0.0);
    }
    free(order);
    free(ops);

    char params[32], flops[32];
    human_count(params, sizeof params, (double)p->params);
    human_count(flops, sizeof flops, flops_sum);
    fprintf(f, "\ntotal:\n");
    fprintf(f, "  latency        %.3f ms per run (layers %.3f ms, outside layers %.3f ms)\n",
            latency, layer_sum, latency - layer_sum);
    fprintf(f, "  throughput     %.2f runs/s, %.2f GFLOP/s (%.1f%% of peak)\n",
            latency > 0 ? 1e3 / latency : 0.0, latency > 0 ? flops_sum / (latency * 1e6) : 0.0,
            latency > 0 && peak > 0 ? 100.0 * flops_sum / (latency * 1e6) / peak : 0.0);
    fprintf(f, "  FLOPs          %sFLOP per run%s\n", flops,
            unknown ? " (some layers unknown: bind runtime dims at compile time with --dim)" : "");
    fprintf(f, "  parameters     %s (%.2f MB)\n", params, (double)p->param_bytes / 1e6);
    fprintf(f, "  activations    %.2f MB of workspace\n", (double)workspace_bytes / 1e6);
    return ferror(f) ? KILN_RT_ERR_IO : KILN_RT_OK;
}
