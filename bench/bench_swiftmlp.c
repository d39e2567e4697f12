/*
 * bench_swiftmlp.c - swiftmlp from C (smlp_step, plain SGD) and the BLAS roofline,
 * float32 and float64, for every configuration of bench/configs.txt. Prints one
 * JSON line per cell (bench/report.py reads them) and one "meta" line first.
 *
 * The roofline is the exact sequence of cblas_?gemm calls one training step makes,
 * with the shapes, transpose flags, alpha and beta the engine uses (Sources/SwiftMLP/
 * Backpropagation.swift, PlainSGDStep.swift), run back to back on the OpenBLAS this
 * process loaded for libswiftmlp (one copy: the program checks that its own
 * cblas_sgemm and the library's resolve to the same file):
 *   forward, every layer l:         Z_l = A_{l-1} W_l            m=batch n=out k=in   beta 0
 *   backward, l = L-1 .. 0:
 *     l > 0:                        dA  = dZ_l W_l^T             m=batch n=in  k=out  beta 0
 *     plain SGD fused:              W_l = W_l - lr A_{l-1}^T dZ_l m=in   n=out k=batch beta 1
 * (The weight product accumulates into W with beta 1, as the engine's does: with
 * beta 0 OpenBLAS would first zero its output, a pass the engine does not make.)
 * Nothing else: no bias, activation, loss, checks or bias update. A step can only
 * approach it.
 *
 *   bench_swiftmlp CONFIGS_TXT [only=a,b,...]
 * Environment: BENCH_BUDGET, BENCH_WARM, BENCH_THREADS, BENCH_ROUND (labels).
 */
#include "bench_common.h"

#include <dlfcn.h>
#include <cblas.h>

#include "swiftmlp.h"

static void check(smlp_status s, const char *what) {
    if (s != SMLP_OK) {
        fprintf(stderr, "bench_swiftmlp: %s failed: %s (%s)\n", what, smlp_status_string(s),
                smlp_last_error());
        exit(1);
    }
}

/* ---- swiftmlp ------------------------------------------------------------------ */

typedef struct {
    smlp_model *model;
    smlp_dataset batch;
    long failures;
    double loss;
} smlp_ctx;

static void smlp_call(void *p) {
    smlp_ctx *c = p;
    if (smlp_step(c->model, &c->batch, &c->loss) != SMLP_OK) c->failures++;
}

static smlp_model *make_model(const bench_config *cfg, smlp_dtype dtype) {
    smlp_activation acts[MAX_LAYER_SIZES];
    size_t n_layers = cfg->n_sizes - 1;
    int one_output = bench_n_outputs(cfg) == 1;
    for (size_t l = 0; l + 1 < n_layers; l++) acts[l] = SMLP_RELU;
    acts[n_layers - 1] = one_output ? SMLP_SIGMOID : SMLP_SOFTMAX;
    smlp_config config;
    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = cfg->n_sizes;
    config.layer_sizes = cfg->sizes;
    config.activations = acts;
    config.loss = one_output ? SMLP_BINARY_CROSS_ENTROPY : SMLP_SOFTMAX_CROSS_ENTROPY;
    config.reduction = SMLP_REDUCTION_MEAN;
    config.seed = 1;
    smlp_model *model = NULL;
    check(smlp_create(&config, &model), "smlp_create");
    smlp_optimizer_config sgd;
    smlp_optimizer_config_init(&sgd, SMLP_SGD);
    sgd.learning_rate = 0.01;
    sgd.momentum = 0;
    check(smlp_set_optimizer(model, &sgd), "smlp_set_optimizer");
    return model;
}

/* ---- roofline ------------------------------------------------------------------ */

typedef struct {
    int f64;
    size_t n_layers, batch;
    const size_t *sizes;
    void *x;
    void *w[MAX_LAYER_SIZES], *a[MAX_LAYER_SIZES], *dz[MAX_LAYER_SIZES];
    void *upstream;
} roof_ctx;

static void *filled(size_t count, int f64) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (count ? count : 1) * (f64 ? 8 : 4)) != 0) exit(1);
    for (size_t i = 0; i < count; i++) {
        double v = 0.1 * rng_uniform();
        if (f64) ((double *)p)[i] = v; else ((float *)p)[i] = (float)v;
    }
    return p;
}

static void roof_init(roof_ctx *r, const bench_config *cfg, int f64, const void *x) {
    memset(r, 0, sizeof *r);
    r->f64 = f64;
    r->n_layers = cfg->n_sizes - 1;
    r->batch = cfg->batch;
    r->sizes = cfg->sizes;
    r->x = (void *)x;
    size_t widest = 0;
    for (size_t l = 0; l < r->n_layers; l++) {
        size_t in = cfg->sizes[l], out = cfg->sizes[l + 1];
        r->w[l] = filled(in * out, f64);
        r->a[l] = filled(cfg->batch * out, f64);
        r->dz[l] = filled(cfg->batch * out, f64);
        if (l > 0 && in > widest) widest = in;
    }
    r->upstream = filled(cfg->batch * (widest ? widest : 1), f64);
}

static void roof_free(roof_ctx *r) {
    for (size_t l = 0; l < r->n_layers; l++) { free(r->w[l]); free(r->a[l]); free(r->dz[l]); }
    free(r->upstream);
}

#define ROOF_SEQUENCE(T, GEMM)                                                              \
    do {                                                                                    \
        const int n = (int)r->batch;                                                        \
        const T *input = (const T *)r->x;                                                   \
        for (size_t l = 0; l < r->n_layers; l++) {                                          \
            const int in = (int)r->sizes[l], out = (int)r->sizes[l + 1];                    \
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out, in, 1, input, in,       \
                 (const T *)r->w[l], out, 0, (T *)r->a[l], out);                            \
            input = (const T *)r->a[l];                                                     \
        }                                                                                   \
        for (size_t l = r->n_layers; l-- > 0;) {                                            \
            const int in = (int)r->sizes[l], out = (int)r->sizes[l + 1];                    \
            const T *layer_input = l == 0 ? (const T *)r->x : (const T *)r->a[l - 1];       \
            if (l > 0)                                                                      \
                GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, in, out, 1,                \
                     (const T *)r->dz[l], out, (const T *)r->w[l], out, 0,                  \
                     (T *)r->upstream, in);                                                 \
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, n, -1e-6, layer_input,   \
                 in, (const T *)r->dz[l], out, 1, (T *)r->w[l], out);                       \
        }                                                                                   \
    } while (0)

static void roof_call(void *p) {
    roof_ctx *r = p;
    if (r->f64) ROOF_SEQUENCE(double, cblas_dgemm);
    else ROOF_SEQUENCE(float, cblas_sgemm);
}

/* ---- main ---------------------------------------------------------------------- */

static const char *object_of(void *symbol) {
    Dl_info info;
    if (symbol && dladdr(symbol, &info) && info.dli_fname) return info.dli_fname;
    return "?";
}

static void print_meta(void) {
    char real_blas[4096] = "?";
    const char *blas_path = object_of((void *)cblas_sgemm);
    if (!realpath(blas_path, real_blas)) snprintf(real_blas, sizeof real_blas, "%s", blas_path);
    /* the copy libswiftmlp resolved: look the symbol up from the library's handle */
    char real_lib_blas[4096] = "?";
    void *handle = dlopen("libswiftmlp.so.0", RTLD_NOW | RTLD_NOLOAD);
    void *sym = handle ? dlsym(handle, "cblas_sgemm") : NULL;
    const char *lib_blas = object_of(sym);
    if (!realpath(lib_blas, real_lib_blas)) snprintf(real_lib_blas, sizeof real_lib_blas, "%s", lib_blas);
    const char *ct = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    const char *nt = getenv("OPENBLAS_NUM_THREADS");
    printf("{\"kind\": \"meta\", \"source\": \"c\", \"threads\": %d, \"openblas_config\": \"%s\", "
           "\"openblas_corename\": \"%s\", \"openblas_num_threads\": %d, \"smlp_num_threads\": %d, "
           "\"openblas_path\": \"%s\", \"openblas_path_of_library\": \"%s\", \"same_blas\": %s, "
           "\"smlp_version\": \"%s\", \"env_OPENBLAS_CORETYPE\": \"%s\", \"env_OPENBLAS_L2_SIZE\": \"%s\", "
           "\"env_OPENBLAS_NUM_THREADS\": \"%s\", \"affinity_cpus\": %d}\n",
           getenv("BENCH_THREADS") ? atoi(getenv("BENCH_THREADS")) : 0, openblas_get_config(),
           openblas_get_corename(), openblas_get_num_threads(), smlp_get_num_threads(), real_blas,
           real_lib_blas, strcmp(real_blas, real_lib_blas) == 0 ? "true" : "false",
           smlp_version_string(), ct ? ct : "(unset)", l2 ? l2 : "(unset)", nt ? nt : "(unset)",
           affinity_cpus());
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFIGS_TXT [only=a,b]\n", argv[0]);
        return 2;
    }
    const char *only = argc > 2 ? argv[2] : NULL;
    bench_config configs[32];
    int n_configs = read_configs(argv[1], configs, 32);
    timing_opts opts = timing_from_env();
    /* The rows' name: bench/run.sh runs this program a second time against the
     * SwiftPM build with BENCH_SWIFTMLP_IMPL=swiftmlp-swiftpm; the roofline
     * rows come from the first run only. */
    const char *impl = getenv("BENCH_SWIFTMLP_IMPL");
    if (!impl || !*impl) impl = "swiftmlp-c";
    int emit_roofline = strcmp(impl, "swiftmlp-c") == 0;
    print_meta();

    for (int ci = 0; ci < n_configs; ci++) {
        const bench_config *cfg = &configs[ci];
        if (!wanted(only, cfg->name)) continue;
        size_t n_in = cfg->sizes[0], n_out = bench_n_outputs(cfg);
        double *xd = malloc(sizeof(double) * cfg->batch * n_in);
        double *yd = malloc(sizeof(double) * cfg->batch * n_out);
        make_batch(cfg, xd, yd);
        float *xf = malloc(sizeof(float) * cfg->batch * n_in);
        float *yf = malloc(sizeof(float) * cfg->batch * n_out);
        for (size_t i = 0; i < cfg->batch * n_in; i++) xf[i] = (float)xd[i];
        for (size_t i = 0; i < cfg->batch * n_out; i++) yf[i] = (float)yd[i];

        for (int f64 = 0; f64 <= 1; f64++) {
            smlp_dtype dtype = f64 ? SMLP_FLOAT64 : SMLP_FLOAT32;
            const char *dname = f64 ? "float64" : "float32";
            smlp_ctx sc = {0};
            sc.model = make_model(cfg, dtype);
            sc.batch.dtype = dtype;
            sc.batch.n_rows = cfg->batch;
            sc.batch.n_inputs = n_in;
            sc.batch.x = f64 ? (const void *)xd : (const void *)xf;
            sc.batch.n_outputs = n_out;
            sc.batch.y = f64 ? (const void *)yd : (const void *)yf;
            sc.batch.labels = NULL;
            roof_ctx rc;
            roof_init(&rc, cfg, f64, f64 ? (const void *)xd : (const void *)xf);

            contender group[2] = {
                {.label = "swiftmlp", .fn = smlp_call, .ctx = &sc},
                {.label = "roofline", .fn = roof_call, .ctx = &rc},
            };
            measure_group(group, 2, &opts);
            char note[128] = "";
            if (sc.failures)
                snprintf(note, sizeof note, "%ld steps failed: %s", sc.failures, smlp_last_error());
            else if (!isfinite(sc.loss))
                snprintf(note, sizeof note, "loss not finite");
            emit(impl, dname, cfg, &group[0], note);
            if (emit_roofline) emit("roofline", dname, cfg, &group[1], "");
            smlp_free(sc.model);
            roof_free(&rc);
        }
        free(xd); free(yd); free(xf); free(yf);
    }
    return 0;
}
