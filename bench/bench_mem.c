/*
 * bench_mem.c - peak resident memory of training one configuration (default e at its
 * batch, 512) against the memory the training state needs by count.
 *
 * The parent runs two fresh children (fork + exec of this program) per dtype and
 * reads each one's peak resident set (ru_maxrss) from wait4():
 *   baseline  loads libswiftmlp and OpenBLAS, allocates and fills the batch, steps a
 *             2-4-1 model once and runs one 512x512x512 gemm (starts the runtime,
 *             the BLAS threads and buffers; its matrices stay allocated); creates
 *             no large model;
 *   train     the same, then creates the model and runs 8 smlp_step calls.
 * net = train - baseline is what training the model added. It is compared with the
 * counted sum:
 *   parameters P + gradients P + optimizer state (plain SGD: 0)
 *   + activations: Z, A and dZ of every layer for the batch (3 * batch * sum(n_out))
 *   + the input-gradient scratch (batch * widest input of layers 1..L-1)
 * Prints one JSON line per dtype.
 *
 *   bench_mem CONFIGS_TXT [config=e]
 */
#include "bench_common.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cblas.h>

#include "swiftmlp.h"

static void check(smlp_status s, const char *what) {
    if (s != SMLP_OK) {
        fprintf(stderr, "bench_mem: %s failed: %s (%s)\n", what, smlp_status_string(s), smlp_last_error());
        exit(1);
    }
}

static smlp_model *create(smlp_dtype dtype, size_t n_sizes, const size_t *sizes) {
    smlp_activation acts[MAX_LAYER_SIZES];
    int one = sizes[n_sizes - 1] == 1;
    for (size_t l = 0; l + 2 < n_sizes; l++) acts[l] = SMLP_RELU;
    acts[n_sizes - 2] = one ? SMLP_SIGMOID : SMLP_SOFTMAX;
    smlp_config config;
    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = n_sizes;
    config.layer_sizes = sizes;
    config.activations = acts;
    config.loss = one ? SMLP_BINARY_CROSS_ENTROPY : SMLP_SOFTMAX_CROSS_ENTROPY;
    smlp_model *m = NULL;
    check(smlp_create(&config, &m), "smlp_create");
    return m;
}

static int child(const bench_config *cfg, int f64, int train) {
    smlp_dtype dtype = f64 ? SMLP_FLOAT64 : SMLP_FLOAT32;
    size_t es = f64 ? 8 : 4, n_in = cfg->sizes[0], n_out = bench_n_outputs(cfg);
    double *xd = malloc(sizeof(double) * cfg->batch * n_in), *yd = malloc(sizeof(double) * cfg->batch * n_out);
    make_batch(cfg, xd, yd);
    void *x = xd, *y = yd;
    if (!f64) {
        float *xf = malloc(4 * cfg->batch * n_in), *yf = malloc(4 * cfg->batch * n_out);
        for (size_t i = 0; i < cfg->batch * n_in; i++) xf[i] = (float)xd[i];
        for (size_t i = 0; i < cfg->batch * n_out; i++) yf[i] = (float)yd[i];
        free(xd); free(yd);
        x = xf; y = yf;
    }
    (void)es;
    /* runtime, BLAS threads and buffers: a tiny model and one mid-sized gemm */
    const size_t tiny_sizes[] = {2, 4, 1};
    smlp_model *tiny = create(dtype, 3, tiny_sizes);
    double tx[8] = {0, 0, 0, 1, 1, 0, 1, 1}, ty[4] = {0, 1, 1, 0};
    float txf[8], tyf[4];
    for (int i = 0; i < 8; i++) txf[i] = (float)tx[i];
    for (int i = 0; i < 4; i++) tyf[i] = (float)ty[i];
    smlp_dataset tb = {dtype, 4, 2, f64 ? (void *)tx : (void *)txf, 1, f64 ? (void *)ty : (void *)tyf, NULL};
    check(smlp_step(tiny, &tb, NULL), "smlp_step (tiny)");
    {
        size_t n = 512;
        /* kept until exit, so both children hold them at their peak */
        void *a = calloc(n * n, 8), *b = calloc(n * n, 8), *c = calloc(n * n, 8);
        if (f64) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1, a, (int)n, b, (int)n, 0, c, (int)n);
        else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1, a, (int)n, b, (int)n, 0, c, (int)n);
    }
    if (train) {
        smlp_model *m = create(dtype, cfg->n_sizes, cfg->sizes);
        smlp_dataset batch = {dtype, cfg->batch, n_in, x, n_out, y, NULL};
        for (int i = 0; i < 8; i++) check(smlp_step(m, &batch, NULL), "smlp_step");
        smlp_free(m);
    }
    smlp_free(tiny);
    return 0;
}

static long run_child(const char *self, const char *configs, const char *name, int f64, int train) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(1); }
    if (pid == 0) {
        execl(self, self, configs, name, "--child", f64 ? "f64" : "f32", train ? "train" : "baseline", (char *)NULL);
        perror("execl");
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) { perror("wait4"); exit(1); }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_mem: child (%s) failed\n", train ? "train" : "baseline");
        return -1;
    }
    return ru.ru_maxrss; /* KiB on Linux */
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s CONFIGS_TXT [config]\n", argv[0]); return 2; }
    const char *name = argc > 2 ? argv[2] : "e";
    bench_config configs[32];
    int n = read_configs(argv[1], configs, 32);
    const bench_config *cfg = NULL;
    for (int i = 0; i < n; i++) if (strcmp(configs[i].name, name) == 0) cfg = &configs[i];
    if (!cfg) { fprintf(stderr, "bench_mem: no configuration %s\n", name); return 2; }
    if (argc > 5 && strcmp(argv[3], "--child") == 0)
        return child(cfg, strcmp(argv[4], "f64") == 0, strcmp(argv[5], "train") == 0);

    size_t L = cfg->n_sizes - 1, params = 0, outs = 0, widest = 0;
    for (size_t l = 0; l < L; l++) {
        params += cfg->sizes[l] * cfg->sizes[l + 1] + cfg->sizes[l + 1];
        outs += cfg->sizes[l + 1];
        if (l > 0 && cfg->sizes[l] > widest) widest = cfg->sizes[l];
    }
    for (int f64 = 0; f64 <= 1; f64++) {
        size_t es = f64 ? 8 : 4;
        double p_bytes = (double)params * es, g_bytes = p_bytes, opt_bytes = 0;
        double act_bytes = 3.0 * cfg->batch * outs * es, scratch_bytes = (double)cfg->batch * widest * es;
        double counted = p_bytes + g_bytes + opt_bytes + act_bytes + scratch_bytes;
        long base = run_child(argv[0], argv[1], name, f64, 0);
        long peak = run_child(argv[0], argv[1], name, f64, 1);
        double net = (double)(peak - base) * 1024.0;
        printf("{\"kind\": \"memory\", \"config\": \"%s\", \"batch\": %zu, \"dtype\": \"%s\", "
               "\"params_bytes\": %.0f, \"grads_bytes\": %.0f, \"optimizer_bytes\": %.0f, "
               "\"activations_bytes\": %.0f, \"scratch_bytes\": %.0f, \"counted_bytes\": %.0f, "
               "\"baseline_rss_bytes\": %.0f, \"peak_rss_bytes\": %.0f, \"net_bytes\": %.0f, "
               "\"ratio\": %.4f}\n",
               cfg->name, cfg->batch, f64 ? "float64" : "float32", p_bytes, g_bytes, opt_bytes,
               act_bytes, scratch_bytes, counted, base * 1024.0, peak * 1024.0, net,
               (base > 0 && peak > 0) ? net / counted : -1.0);
        fflush(stdout);
    }
    return 0;
}
