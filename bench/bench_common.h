/*
 * bench_common.h - what the C benchmarks in bench/ share: the configurations (read
 * from bench/configs.txt), deterministic data, and the timing loop.
 *
 * Timing (the same rules as bench/pytiming.py):
 *   - warm-up: one call (the first call at a batch size allocates the workspace),
 *     then calls until WARM seconds have passed; their mean estimates t;
 *   - each sample times `inner` back-to-back calls, inner = ceil(100 us / t), so the
 *     clock's resolution and cost never matter, and records the time per call;
 *   - contenders measured together (swiftmlp and the roofline of one config) take
 *     their samples alternately, so a noisy neighbour hits both alike;
 *   - the number of samples is chosen so each contender spends about `budget`
 *     seconds (at least MIN_SAMPLES samples); the result is the median.
 * One process measures one "round"; bench/run.sh runs every process twice and
 * bench/report.py keeps the better median and flags cells whose rounds differ.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LAYER_SIZES 16

typedef struct {
    char name[16];
    size_t n_sizes;
    size_t sizes[MAX_LAYER_SIZES];
    size_t batch;
} bench_config;

__attribute__((unused)) static inline size_t bench_n_outputs(const bench_config *c) { return c->sizes[c->n_sizes - 1]; }

/* Reads "name 784-128-10 64" lines; '#' starts a comment. Returns the count. */
__attribute__((unused)) static int read_configs(const char *path, bench_config *out, int capacity) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < capacity) {
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char name[16], sizes[256];
        unsigned long batch;
        if (sscanf(line, "%15s %255s %lu", name, sizes, &batch) != 3) continue;
        bench_config *c = &out[n];
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", name);
        c->batch = batch;
        for (char *tok = strtok(sizes, "-"); tok && c->n_sizes < MAX_LAYER_SIZES; tok = strtok(NULL, "-"))
            c->sizes[c->n_sizes++] = strtoul(tok, NULL, 10);
        n++;
    }
    fclose(f);
    return n;
}

/* Only the configurations named in `only` (comma-separated), or all when NULL. */
__attribute__((unused)) static int wanted(const char *only, const char *name) {
    if (!only || !*only) return 1;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", only);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        if (strcmp(tok, name) == 0) return 1;
    return 0;
}

/* ---- Deterministic data -------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
__attribute__((unused)) static inline uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in [-1, 1) */
__attribute__((unused)) static inline double rng_uniform(void) { return (double)(rng_next() >> 11) * 0x1.0p-52 - 1.0; }

/* X: batch x n_in uniform in [-1, 1); Y: one-hot rows (class i % n_out) or, for one
 * output, 0/1 targets (XOR of the signs of the first two inputs). Doubles; callers
 * convert. */
__attribute__((unused)) static void make_batch(const bench_config *c, double *x, double *y) {
    size_t n_in = c->sizes[0], n_out = bench_n_outputs(c);
    for (size_t i = 0; i < c->batch * n_in; i++) x[i] = rng_uniform();
    memset(y, 0, sizeof(double) * c->batch * n_out);
    for (size_t r = 0; r < c->batch; r++) {
        if (n_out == 1) {
            int s0 = x[r * n_in] > 0, s1 = n_in > 1 ? x[r * n_in + 1] > 0 : 0;
            y[r] = (double)(s0 ^ s1);
        } else {
            y[r * n_out + (r * 7 + 3) % n_out] = 1.0;
        }
    }
}

/* ---- Timing -------------------------------------------------------------------- */

__attribute__((unused)) static inline double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef void (*bench_fn)(void *ctx);

typedef struct {
    const char *label;
    bench_fn fn;
    void *ctx;
    /* results */
    double estimate;    /* seconds per call from the warm-up */
    long inner;         /* calls per sample */
    int n_samples;
    double median;      /* seconds per call */
    double min;
    double p25, p75;
    /* with exactly two contenders, for the first: the median over samples of
       (its sample / the other's sample taken right next to it) */
    double paired_ratio;
} contender;

typedef struct {
    double budget;      /* seconds of samples per contender */
    double warm;        /* seconds of warm-up per contender */
    double sample_floor;/* seconds a sample lasts at least */
    int min_samples, max_samples;
    double slow_call;   /* a first call slower than this is the whole warm-up */
} timing_opts;

__attribute__((unused)) static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

__attribute__((unused)) static double quantile_sorted(const double *v, int n, double q) {
    if (n == 1) return v[0];
    double pos = q * (n - 1);
    int lo = (int)pos;
    double frac = pos - lo;
    return lo + 1 < n ? v[lo] * (1 - frac) + v[lo + 1] * frac : v[lo];
}

__attribute__((unused)) static void measure_group(contender *cs, int nc, const timing_opts *o) {
    double slowest = 0;
    for (int i = 0; i < nc; i++) {
        contender *c = &cs[i];
        /* first call: allocation, page faults, BLAS thread start */
        double t0 = now_seconds();
        c->fn(c->ctx);
        double first = now_seconds() - t0;
        if (first > o->slow_call) {
            c->estimate = first; /* seconds a call: that call was warm-up enough */
        } else {
            long calls = 0;
            double t;
            t0 = now_seconds();
            do {
                c->fn(c->ctx);
                calls++;
                t = now_seconds() - t0;
            } while (t < o->warm || calls < 2);
            c->estimate = t / calls;
        }
        c->inner = (long)ceil(o->sample_floor / c->estimate);
        if (c->inner < 1) c->inner = 1;
        double per_sample = c->inner * c->estimate;
        if (per_sample > slowest) slowest = per_sample;
    }
    int n = (int)(o->budget / slowest);
    if (n < o->min_samples) n = o->min_samples;
    if (n > o->max_samples) n = o->max_samples;
    double *samples = malloc(sizeof(double) * (size_t)n * (size_t)nc);
    for (int s = 0; s < n; s++) {
        for (int k = 0; k < nc; k++) {
            /* alternate the order too, so neither always runs right after the other */
            int i = (s & 1) ? nc - 1 - k : k;
            contender *c = &cs[i];
            double t0 = now_seconds();
            for (long r = 0; r < c->inner; r++) c->fn(c->ctx);
            samples[(size_t)i * n + s] = (now_seconds() - t0) / (double)c->inner;
        }
    }
    cs[0].paired_ratio = NAN;
    if (nc == 2) {
        double *r = malloc(sizeof(double) * (size_t)n);
        for (int s = 0; s < n; s++) r[s] = samples[s] / samples[(size_t)n + s];
        qsort(r, (size_t)n, sizeof(double), cmp_double);
        cs[0].paired_ratio = quantile_sorted(r, n, 0.5);
        free(r);
    }
    for (int i = 0; i < nc; i++) {
        double *v = samples + (size_t)i * n;
        qsort(v, (size_t)n, sizeof(double), cmp_double);
        cs[i].n_samples = n;
        cs[i].median = quantile_sorted(v, n, 0.5);
        cs[i].min = v[0];
        cs[i].p25 = quantile_sorted(v, n, 0.25);
        cs[i].p75 = quantile_sorted(v, n, 0.75);
    }
    free(samples);
}

/* Budget from the environment that bench/run.sh sets (BENCH_BUDGET seconds). */
__attribute__((unused)) static timing_opts timing_from_env(void) {
    timing_opts o = {0.35, 0.05, 100e-6, 5, 20000, 1.0};
    const char *b = getenv("BENCH_BUDGET");
    if (b && atof(b) > 0) o.budget = atof(b);
    const char *w = getenv("BENCH_WARM");
    if (w && atof(w) > 0) o.warm = atof(w);
    const char *m = getenv("BENCH_MIN_SAMPLES");
    if (m && atoi(m) > 0) o.min_samples = atoi(m);
    return o;
}

/* One JSON line per measured cell; bench/report.py reads them. */
__attribute__((unused)) static void emit(const char *impl, const char *dtype, const bench_config *c, const contender *r,
                 const char *note) {
    int threads = getenv("BENCH_THREADS") ? atoi(getenv("BENCH_THREADS")) : 0;
    int round = getenv("BENCH_ROUND") ? atoi(getenv("BENCH_ROUND")) : 0;
    printf("{\"kind\": \"cell\", \"impl\": \"%s\", \"dtype\": \"%s\", \"config\": \"%s\", "
           "\"threads\": %d, \"round\": %d, \"median\": %.9g, \"min\": %.9g, \"p25\": %.9g, "
           "\"p75\": %.9g, \"samples\": %d, \"inner\": %ld, \"paired_ratio\": %.6g, "
           "\"note\": \"%s\"}\n",
           impl, dtype, c->name, threads, round, r->median, r->min, r->p25, r->p75, r->n_samples,
           r->inner, isnan(r->paired_ratio) ? -1.0 : r->paired_ratio, note ? note : "");
    fflush(stdout);
}

__attribute__((unused)) static void emit_missing(const char *impl, const char *dtype, const bench_config *c, const char *note) {
    int threads = getenv("BENCH_THREADS") ? atoi(getenv("BENCH_THREADS")) : 0;
    int round = getenv("BENCH_ROUND") ? atoi(getenv("BENCH_ROUND")) : 0;
    printf("{\"kind\": \"cell\", \"impl\": \"%s\", \"dtype\": \"%s\", \"config\": \"%s\", "
           "\"threads\": %d, \"round\": %d, \"median\": null, \"note\": \"%s\"}\n",
           impl, dtype, c->name, threads, round, note);
    fflush(stdout);
}

__attribute__((unused)) static int affinity_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    return CPU_COUNT(&set);
}

#endif
