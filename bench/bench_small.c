/*
 * bench_small.c - small networks, one sample at a time (issue 16): swiftmlp against
 * FANN 2.2 and against the FLOP limit of this machine, float32, one thread.
 *
 * Networks: FANN 2.2's benchmark architectures (its benchmarks/ directory) plus the
 * layer sizes of configurations a, c and d of configs.txt; every layer sigmoid, MSE
 * (FANN_ERRORFUNC_LINEAR), inputs uniform in [-1, 1), targets in [0, 1].
 * Rows (each the median of samples, bench_common.h's timing loop):
 *   predict      smlp_predict of one row
 *   step         smlp_step on one row, SGD learning rate 0.1, momentum 0.4
 *   train epoch  smlp_train, one epoch of 1,000 rows at batch 1 (no shuffle), same SGD
 *   export -O2   the file of smlp_export_c compiled with cc -O2 (and -O3
 *                -march=native), <prefix>_predict of one row
 *   fann_run     fann_run of one row
 *   fann_train   fann_train of one row (FANN_TRAIN_INCREMENTAL, lr 0.1, momentum 0.4)
 *   fann epoch   fann_train_epoch over the same 1,000 rows, incremental
 *   FLOP limit   predict: 2 x multiply-adds / peak; step: 2 x (forward + weight
 *                gradient + input gradient of every layer but the first) / peak;
 *                peak = measured FMA throughput of this core (8 independent
 *                256-bit FMA chains in registers; NaN, so no limit, on a CPU
 *                without AVX2 and FMA).
 * Each ratio compares two calls measured together (bench_common.h's measure_group with
 * two contenders): their samples alternate, so a busy neighbour slows both alike, and
 * the ratio is the median over samples of one sample's time over its neighbour's.
 * (Measured one after the other, single cells moved by up to 30 % between runs on a
 * shared machine.) Nothing is asserted about time.
 * Prints JSON lines (kind "small") and, at the end, a Markdown table with the
 * target lines.
 * With BENCH_SMALL_NO_EXP=1 the same networks have no exponential anywhere: every
 * swiftmlp layer SMLP_RELU, every FANN layer FANN_LINEAR_PIECE. What each call then
 * costs is its floor without the sigmoid (docs/performance.md, "The floors
 * under the last eight targets"); the targets printed are then not the issue's.
 *
 *   bench_small WORKDIR [net1,net2,...]   (WORKDIR holds the exported C files)
 */
#include "bench_common.h" /* first: it defines _GNU_SOURCE */

#include <dlfcn.h>
#include <floatfann.h>
#include <swiftmlp.h>

#define EPOCH_ROWS 1000
#define LR 0.1
#define MOMENTUM 0.4

typedef struct { const char *name; const char *sizes; } net_spec;
static const net_spec NETS[] = {
    {"10-16-1", "10-16-1"},   {"32-16-1", "32-16-1"},     {"16-16-1", "16-16-1"},
    {"14-16-3", "14-16-3"},   {"8-4-2", "8-4-2"},         {"120-4-2-3", "120-4-2-3"},
    {"125-32-2", "125-32-2"}, {"8-16-1", "8-16-1"},       {"13-26-1", "13-26-1"},
    {"32-10-1", "32-10-1"},   {"48-96-3", "48-96-3"},     {"82-16-8-19", "82-16-8-19"},
    {"21-16-8-3", "21-16-8-3"}, {"2-20-10-1", "2-20-10-1"}, {"a", "784-128-10"},
    {"c", "64-32-10"},        {"d", "2-4-1"},
};
#define N_NETS (sizeof NETS / sizeof NETS[0])

/* ---- peak ---------------------------------------------------------------------- */
typedef float v8f __attribute__((vector_size(32)));
/* Eight independent FMA chains in eight named registers: an array of accumulators
 * indexed in a loop stayed in memory at -O2, and its store-to-load forwarding, not the
 * FMA units, set the pace (29 GFLOP/s where the registers give ~105). */
__attribute__((target("avx2,fma"), noinline)) static double fma_peak_loop(long n) {
    v8f x = {1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f};
    v8f y = {1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f};
    v8f a0 = y, a1 = y * 2.0f, a2 = y * 3.0f, a3 = y * 4.0f, a4 = y * 5.0f, a5 = y * 6.0f, a6 = y * 7.0f,
        a7 = y * 8.0f;
    for (long r = 0; r < n; r++) {
        __asm__("vfmadd231ps %8, %9, %0\n\tvfmadd231ps %8, %9, %1\n\t"
                "vfmadd231ps %8, %9, %2\n\tvfmadd231ps %8, %9, %3\n\t"
                "vfmadd231ps %8, %9, %4\n\tvfmadd231ps %8, %9, %5\n\t"
                "vfmadd231ps %8, %9, %6\n\tvfmadd231ps %8, %9, %7"
                : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7)
                : "x"(y), "x"(x));
    }
    v8f total = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    float s = 0;
    for (int k = 0; k < 8; k++) s += total[k];
    return s;
}
/* Floating-point operations per second of one core (an FMA is two). */
static double measure_peak(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("fma") || !__builtin_cpu_supports("avx2")) return NAN;
    double best = 0;
    for (int k = 0; k < 7; k++) {
        long n = 2000000;
        double t0 = now_seconds();
        volatile double sink = fma_peak_loop(n);
        (void)sink;
        double t = now_seconds() - t0;
        double flops = (double)n * 8 * 8 * 2 / t;
        if (flops > best) best = flops;
    }
    return best;
}

/* ---- contexts ------------------------------------------------------------------ */
typedef void (*export_fn)(const float *x, float *out);
typedef struct {
    smlp_model *model;
    struct fann *ann;
    struct fann_train_data *epoch_data;
    float *x, *y, *out;   /* EPOCH_ROWS rows; the single-row calls cycle through them */
    size_t n_in, n_out, row;
    smlp_dataset one, all;
    smlp_train_options topts;
    export_fn exported[2];
    int failed;
} ctx_t;

static inline float *row_x(ctx_t *c) { return c->x + c->row * c->n_in; }
static inline float *row_y(ctx_t *c) { return c->y + c->row * c->n_out; }
static inline void next_row(ctx_t *c) { c->row = c->row + 1 == EPOCH_ROWS ? 0 : c->row + 1; }

static void do_predict(void *p) {
    ctx_t *c = p;
    if (smlp_predict(c->model, SMLP_FLOAT32, row_x(c), 1, c->n_in, c->out, c->n_out) != SMLP_OK) c->failed = 1;
    next_row(c);
}
static void do_step(void *p) {
    ctx_t *c = p;
    c->one.x = row_x(c);
    c->one.y = row_y(c);
    if (smlp_step(c->model, &c->one, NULL) != SMLP_OK) c->failed = 1;
    next_row(c);
}
static void do_train(void *p) {
    ctx_t *c = p;
    if (smlp_train(c->model, &c->all, &c->topts, NULL) != SMLP_OK) c->failed = 1;
}
static void do_export0(void *p) { ctx_t *c = p; c->exported[0](row_x(c), c->out); next_row(c); }
static void do_export1(void *p) { ctx_t *c = p; c->exported[1](row_x(c), c->out); next_row(c); }
static void do_fann_run(void *p) {
    ctx_t *c = p;
    fann_type *o = fann_run(c->ann, row_x(c));
    c->out[0] = o[0];
    next_row(c);
}
static void do_fann_train(void *p) {
    ctx_t *c = p;
    fann_train(c->ann, row_x(c), row_y(c));
    next_row(c);
}
static void do_fann_epoch(void *p) {
    ctx_t *c = p;
    fann_train_epoch(c->ann, c->epoch_data);
}

/* Exports the model, compiles it with `flags` and loads <prefix>_predict. */
static export_fn compile_export(smlp_model *model, const char *dir, const char *tag, const char *flags, int k) {
    char src[1024], so[1024], cmd[4096], prefix[64];
    snprintf(prefix, sizeof prefix, "bench_%s_%d", tag, k);
    for (char *q = prefix; *q; q++) if (*q == '-') *q = '_';
    snprintf(src, sizeof src, "%s/%s.c", dir, prefix);
    snprintf(so, sizeof so, "%s/%s.so", dir, prefix);
    if (smlp_export_c(model, src, prefix) != SMLP_OK) {
        fprintf(stderr, "smlp_export_c: %s\n", smlp_last_error());
        return NULL;
    }
    const char *cc = getenv("CC") ? getenv("CC") : "cc";
    snprintf(cmd, sizeof cmd, "%s %s -shared -fPIC -o %s %s -lm", cc, flags, so, src);
    if (system(cmd) != 0) return NULL;
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h) return NULL;
    char sym[128];
    snprintf(sym, sizeof sym, "%s_predict", prefix);
    return (export_fn)dlsym(h, sym);
}

typedef struct {
    const char *name;
    size_t macs, first_macs;
    double t[8];     /* seconds per call: predict step train export2 export3 fann_run fann_train fann_epoch */
    double ratio[5]; /* paired ratios, PAIRS order */
} result_row;

enum { T_PREDICT, T_STEP, T_TRAIN, T_EXP2, T_EXP3, T_FRUN, T_FTRAIN, T_FEPOCH };
static const char *ROW_IMPL[] = {"predict", "step", "train_epoch", "export_O2", "export_O3_native",
                                 "fann_run", "fann_train", "fann_epoch"};

/* The pairs the targets compare, measured together: the reference's time over the
 * contender's (FANN's over swiftmlp's; smlp_predict's over the exported file's). */
static const struct { int reference, contender; } PAIRS[] = {
    {T_FRUN, T_PREDICT}, {T_FTRAIN, T_STEP}, {T_FEPOCH, T_TRAIN}, {T_PREDICT, T_EXP2}, {T_PREDICT, T_EXP3},
};
enum { P_PREDICT, P_STEP, P_EPOCH, P_EXP2, P_EXP3, N_PAIRS };

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s WORKDIR [net,...]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1], *only = argc > 2 ? argv[2] : NULL;
    timing_opts opts = timing_from_env();
    opts.min_samples = opts.min_samples < 5 ? 5 : opts.min_samples;
    const char *no_exp_env = getenv("BENCH_SMALL_NO_EXP");
    int no_exp = no_exp_env && strcmp(no_exp_env, "1") == 0;
    double peak = measure_peak();
    printf("{\"kind\": \"small-meta\", \"peak_flops\": %.6g, \"no_exp\": %d}\n", peak, no_exp);
    result_row rows[N_NETS];
    size_t n_rows = 0;

    for (size_t ni = 0; ni < N_NETS; ni++) {
        if (!wanted(only, NETS[ni].name)) continue;
        bench_config cfg;
        memset(&cfg, 0, sizeof cfg);
        char sizes[64];
        snprintf(sizes, sizeof sizes, "%s", NETS[ni].sizes);
        for (char *tok = strtok(sizes, "-"); tok; tok = strtok(NULL, "-")) cfg.sizes[cfg.n_sizes++] = strtoul(tok, NULL, 10);
        snprintf(cfg.name, sizeof cfg.name, "%s", NETS[ni].name);
        cfg.batch = 1;

        ctx_t c;
        memset(&c, 0, sizeof c);
        c.n_in = cfg.sizes[0];
        c.n_out = cfg.sizes[cfg.n_sizes - 1];
        c.x = malloc(sizeof(float) * EPOCH_ROWS * c.n_in);
        c.y = malloc(sizeof(float) * EPOCH_ROWS * c.n_out);
        c.out = malloc(sizeof(float) * c.n_out);
        for (size_t r = 0; r < EPOCH_ROWS; r++) {
            for (size_t i = 0; i < c.n_in; i++) c.x[r * c.n_in + i] = (float)rng_uniform();
            for (size_t j = 0; j < c.n_out; j++) c.y[r * c.n_out + j] = (float)(0.5 + 0.5 * rng_uniform());
        }
        result_row *rr = &rows[n_rows++];
        memset(rr, 0, sizeof *rr);
        rr->name = NETS[ni].name;
        for (size_t l = 0; l + 1 < cfg.n_sizes; l++) {
            size_t m = cfg.sizes[l] * cfg.sizes[l + 1];
            rr->macs += m;
            if (l == 0) rr->first_macs = m;
        }

        /* swiftmlp model */
        smlp_activation acts[MAX_LAYER_SIZES];
        for (size_t l = 0; l + 1 < cfg.n_sizes; l++) acts[l] = no_exp ? SMLP_RELU : SMLP_SIGMOID;
        smlp_config mc;
        smlp_config_init(&mc);
        mc.dtype = SMLP_FLOAT32;
        mc.n_layer_sizes = cfg.n_sizes;
        mc.layer_sizes = cfg.sizes;
        mc.activations = acts;
        mc.loss = SMLP_MSE;
        mc.seed = 1;
        if (smlp_create(&mc, &c.model) != SMLP_OK) { fprintf(stderr, "smlp_create: %s\n", smlp_last_error()); return 1; }
        smlp_optimizer_config oc;
        smlp_optimizer_config_init(&oc, SMLP_SGD);
        oc.learning_rate = LR;
        oc.momentum = MOMENTUM;
        if (smlp_set_optimizer(c.model, &oc) != SMLP_OK) { fprintf(stderr, "%s\n", smlp_last_error()); return 1; }
        c.one = (smlp_dataset){SMLP_FLOAT32, 1, c.n_in, c.x, c.n_out, c.y, NULL};
        c.all = (smlp_dataset){SMLP_FLOAT32, EPOCH_ROWS, c.n_in, c.x, c.n_out, c.y, NULL};
        smlp_train_options_init(&c.topts);
        c.topts.epochs = 1;
        c.topts.batch_size = 1;
        c.topts.shuffle = 0;
        c.exported[0] = compile_export(c.model, dir, NETS[ni].name, "-O2", 0);
        c.exported[1] = compile_export(c.model, dir, NETS[ni].name, "-O3 -march=native", 1);

        /* FANN network */
        unsigned int layers[MAX_LAYER_SIZES];
        for (size_t i = 0; i < cfg.n_sizes; i++) layers[i] = (unsigned int)cfg.sizes[i];
        c.ann = fann_create_standard_array((unsigned int)cfg.n_sizes, layers);
        fann_set_activation_function_hidden(c.ann, no_exp ? FANN_LINEAR_PIECE : FANN_SIGMOID);
        fann_set_activation_function_output(c.ann, no_exp ? FANN_LINEAR_PIECE : FANN_SIGMOID);
        fann_set_train_error_function(c.ann, FANN_ERRORFUNC_LINEAR);
        fann_set_training_algorithm(c.ann, FANN_TRAIN_INCREMENTAL);
        fann_set_learning_rate(c.ann, (float)LR);
        fann_set_learning_momentum(c.ann, (float)MOMENTUM);
        fann_randomize_weights(c.ann, -0.1f, 0.1f);
        c.epoch_data = fann_create_train(EPOCH_ROWS, (unsigned int)c.n_in, (unsigned int)c.n_out);
        for (size_t r = 0; r < EPOCH_ROWS; r++) {
            memcpy(c.epoch_data->input[r], c.x + r * c.n_in, sizeof(float) * c.n_in);
            memcpy(c.epoch_data->output[r], c.y + r * c.n_out, sizeof(float) * c.n_out);
        }

        bench_fn fns[] = {do_predict, do_step, do_train, do_export0, do_export1, do_fann_run, do_fann_train, do_fann_epoch};
        for (int k = 0; k < 8; k++) rr->t[k] = NAN;
        for (int p = 0; p < N_PAIRS; p++) {
            int ref = PAIRS[p].reference, con = PAIRS[p].contender;
            rr->ratio[p] = NAN;
            if ((con == T_EXP2 && !c.exported[0]) || (con == T_EXP3 && !c.exported[1])) continue;
            contender ct[2] = {{.label = ROW_IMPL[ref], .fn = fns[ref], .ctx = &c},
                               {.label = ROW_IMPL[con], .fn = fns[con], .ctx = &c}};
            c.failed = 0;
            c.row = 0;
            measure_group(ct, 2, &opts);
            if (c.failed) {
                fprintf(stderr, "%s %s/%s failed: %s\n", NETS[ni].name, ROW_IMPL[ref], ROW_IMPL[con], smlp_last_error());
                continue;
            }
            rr->ratio[p] = ct[0].paired_ratio;
            /* Each call's time (and JSON line) from the first pair it is measured in. */
            for (int i = 0; i < 2; i++) {
                int k = i == 0 ? ref : con;
                if (!isnan(rr->t[k])) continue;
                rr->t[k] = ct[i].median;
                emit(ROW_IMPL[k], "float32", &cfg, &ct[i], "small");
            }
        }
        smlp_free(c.model);
        fann_destroy_train(c.epoch_data);
        fann_destroy(c.ann);
        free(c.x); free(c.y); free(c.out);
    }

    /* ---- table ---- */
    printf("\n## Small networks, one sample at a time (float32, 1 thread%s)\n\n",
           no_exp ? "; BENCH_SMALL_NO_EXP: relu and FANN_LINEAR_PIECE layers, no sigmoid" : "");
    printf("Peak of this core: %.1f GFLOP/s (measured FMA throughput). Times per call (medians); ratios "
           "in brackets are FANN's time / swiftmlp's (predict: fann_run; step: fann_train; "
           "epoch: FANN's incremental epoch), export: smlp_predict / the export's time, each the median "
           "of paired samples of the two calls measured together.\n\n", peak / 1e9);
    printf("| network | predict | step | train epoch (1000 rows) | export -O2 | export -O3 native | fann_run | fann_train | fann epoch | FLOP limit predict / step |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    int pass = 0, total = 0;
    char fails[8192] = "";
    for (size_t i = 0; i < n_rows; i++) {
        result_row *r = &rows[i];
        double lp = 2.0 * r->macs / peak, ls = 2.0 * (3.0 * r->macs - r->first_macs) / peak;
        double *t = r->t;
        printf("| %s | %.2f µs (%.2f×) | %.2f µs (%.2f×) | %.0f µs (%.2f×) | %.2f µs (%.2f×) | %.2f µs (%.2f×) | %.2f µs | %.2f µs | %.0f µs | %.3f / %.3f µs |\n",
               r->name, t[T_PREDICT] * 1e6, r->ratio[P_PREDICT], t[T_STEP] * 1e6, r->ratio[P_STEP],
               t[T_TRAIN] * 1e6, r->ratio[P_EPOCH], t[T_EXP2] * 1e6, r->ratio[P_EXP2],
               t[T_EXP3] * 1e6, r->ratio[P_EXP3], t[T_FRUN] * 1e6, t[T_FTRAIN] * 1e6, t[T_FEPOCH] * 1e6,
               lp * 1e6, ls * 1e6);
        struct { const char *what; double v, need; } checks[] = {
            {"predict >= 3x faster than fann_run", r->ratio[P_PREDICT], 3.0},
            {"step >= 2x faster than fann_train", r->ratio[P_STEP], 2.0},
            {"train epoch >= 2x faster than FANN's", r->ratio[P_EPOCH], 2.0},
            {"export -O2 at least as fast as predict", r->ratio[P_EXP2], 1.0},
        };
        for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++) {
            total++;
            if (checks[k].v >= checks[k].need) pass++;
            else {
                size_t len = strlen(fails);
                snprintf(fails + len, sizeof fails - len, "- FAIL %s: %s (%.2f×)\n", r->name, checks[k].what, checks[k].v);
            }
        }
    }
    printf("\nTargets: %d of %d pass.\n%s", pass, total, fails);
    return 0;
}
