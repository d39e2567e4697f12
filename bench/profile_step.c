/*
 * profile_step.c - runs smlp_step on one configuration of bench/configs.txt in a
 * loop, for a profiler (bench/profile.sh runs it under perf or callgrind).
 *
 *   profile_step CONFIGS_TXT NAME float32|float64 STEPS
 */
#include "bench_common.h"

#include "swiftmlp.h"

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s CONFIGS_TXT NAME float32|float64 STEPS\n", argv[0]);
        return 2;
    }
    bench_config configs[32];
    int n = read_configs(argv[1], configs, 32);
    const bench_config *cfg = NULL;
    for (int i = 0; i < n; i++) if (strcmp(configs[i].name, argv[2]) == 0) cfg = &configs[i];
    if (!cfg) { fprintf(stderr, "no configuration %s\n", argv[2]); return 2; }
    int f64 = strcmp(argv[3], "float64") == 0;
    long steps = atol(argv[4]);
    smlp_dtype dtype = f64 ? SMLP_FLOAT64 : SMLP_FLOAT32;

    size_t n_in = cfg->sizes[0], n_out = bench_n_outputs(cfg), L = cfg->n_sizes - 1;
    smlp_activation acts[MAX_LAYER_SIZES];
    for (size_t l = 0; l + 1 < L; l++) acts[l] = SMLP_RELU;
    acts[L - 1] = n_out == 1 ? SMLP_SIGMOID : SMLP_SOFTMAX;
    smlp_config config;
    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = cfg->n_sizes;
    config.layer_sizes = cfg->sizes;
    config.activations = acts;
    config.loss = n_out == 1 ? SMLP_BINARY_CROSS_ENTROPY : SMLP_SOFTMAX_CROSS_ENTROPY;
    smlp_model *model = NULL;
    if (smlp_create(&config, &model) != SMLP_OK) { fprintf(stderr, "%s\n", smlp_last_error()); return 1; }

    double *xd = malloc(sizeof(double) * cfg->batch * n_in), *yd = malloc(sizeof(double) * cfg->batch * n_out);
    make_batch(cfg, xd, yd);
    void *x = xd, *y = yd;
    if (!f64) {
        float *xf = malloc(4 * cfg->batch * n_in), *yf = malloc(4 * cfg->batch * n_out);
        for (size_t i = 0; i < cfg->batch * n_in; i++) xf[i] = (float)xd[i];
        for (size_t i = 0; i < cfg->batch * n_out; i++) yf[i] = (float)yd[i];
        x = xf; y = yf;
    }
    smlp_dataset batch = {dtype, cfg->batch, n_in, x, n_out, y, NULL};
    double t0 = now_seconds(), loss = 0;
    for (long i = 0; i < steps; i++) {
        if (smlp_step(model, &batch, &loss) != SMLP_OK) { fprintf(stderr, "%s\n", smlp_last_error()); return 1; }
    }
    double t = now_seconds() - t0;
    fprintf(stderr, "%s %s: %ld steps, %.3f us a step, loss %.4f\n", cfg->name, argv[3], steps,
            1e6 * t / (double)steps, loss);
    smlp_free(model);
    return 0;
}
