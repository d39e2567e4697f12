/*
 * bench_fann.c - FANN 2.2 (Debian libfann-dev) on the configurations of
 * bench/configs.txt: the closest network FANN can build, trained in batch mode on a
 * training set of exactly one batch, so one fann_train_epoch is one step (forward
 * and backward per sample, then one weight update).
 *
 * Compiled twice by bench/run.sh: against libfloatfann (float32, -DBENCH_FANN_FLOAT)
 * and libdoublefann (float64, -DBENCH_FANN_DOUBLE); the two cannot share a process.
 *
 * What differs from swiftmlp's network (reported with every row):
 *   - hidden layers FANN_LINEAR_PIECE (max(0, min(1, x)), the closest to ReLU FANN
 *     2.2 has: no ReLU);
 *   - output FANN_LINEAR with the MSE error (FANN_ERRORFUNC_LINEAR) instead of
 *     softmax + cross-entropy: FANN has neither; the output delta z - y has the same
 *     shape and cost as softmax-CE's a - y; the one-output network uses FANN_SIGMOID
 *     with MSE instead of sigmoid + binary cross-entropy;
 *   - FANN computes sample by sample with its own loops (no BLAS, one thread), and
 *     keeps a bias neuron per layer instead of a bias vector.
 *
 *   bench_fann CONFIGS_TXT [only=a,b,...]
 */
#include "bench_common.h" /* first: it defines _GNU_SOURCE */

#if defined(BENCH_FANN_DOUBLE)
#include <doublefann.h>
#define DTYPE_NAME "float64"
#else
#include <floatfann.h>
#define DTYPE_NAME "float32"
#endif

typedef struct {
    struct fann *ann;
    struct fann_train_data *data;
    float mse;
} fann_ctx;

static void fann_call(void *p) {
    fann_ctx *c = p;
    c->mse = fann_train_epoch(c->ann, c->data);
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
    opts.min_samples = 3; /* FANN on the big configurations takes seconds a step */
    opts.slow_call = 0.5; /* and has nothing to warm up beyond one call */
    const char *max_step = getenv("BENCH_FANN_MAX_STEP"); /* one step only when slower */
    const char *skip_macs = getenv("BENCH_FANN_SKIP_MACS"); /* skip bigger configurations */

    printf("{\"kind\": \"meta\", \"source\": \"fann-%s\", \"fann\": \"2.2 (%s)\"}\n", DTYPE_NAME,
#if defined(BENCH_FANN_DOUBLE)
           "libdoublefann"
#else
           "libfloatfann"
#endif
    );
    for (int ci = 0; ci < n_configs; ci++) {
        const bench_config *cfg = &configs[ci];
        if (!wanted(only, cfg->name)) continue;
        size_t n_in = cfg->sizes[0], n_out = bench_n_outputs(cfg);
        double macs = 0;
        for (size_t i = 0; i + 1 < cfg->n_sizes; i++) macs += (double)cfg->sizes[i] * cfg->sizes[i + 1];
        macs *= (double)cfg->batch;
        if (skip_macs && atof(skip_macs) > 0 && macs > atof(skip_macs)) {
            emit_missing("fann", DTYPE_NAME, cfg, "skipped in --quick (FANN takes seconds a step here)");
            continue;
        }
        unsigned int layers[MAX_LAYER_SIZES];
        for (size_t i = 0; i < cfg->n_sizes; i++) layers[i] = (unsigned int)cfg->sizes[i];
        struct fann *ann = fann_create_standard_array((unsigned int)cfg->n_sizes, layers);
        if (!ann) { fprintf(stderr, "fann_create_standard_array failed\n"); return 1; }
        fann_set_activation_function_hidden(ann, FANN_LINEAR_PIECE);
        fann_set_activation_function_output(ann, n_out == 1 ? FANN_SIGMOID : FANN_LINEAR);
        fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
        fann_set_training_algorithm(ann, FANN_TRAIN_BATCH);
        fann_set_learning_rate(ann, 0.01f);
        fann_randomize_weights(ann, -0.1f, 0.1f);

        double *xd = malloc(sizeof(double) * cfg->batch * n_in);
        double *yd = malloc(sizeof(double) * cfg->batch * n_out);
        make_batch(cfg, xd, yd);
        struct fann_train_data *data =
            fann_create_train((unsigned int)cfg->batch, (unsigned int)n_in, (unsigned int)n_out);
        for (size_t r = 0; r < cfg->batch; r++) {
            for (size_t i = 0; i < n_in; i++) data->input[r][i] = (fann_type)xd[r * n_in + i];
            for (size_t j = 0; j < n_out; j++) data->output[r][j] = (fann_type)yd[r * n_out + j];
        }
        fann_ctx ctx = {ann, data, 0};

        /* One timed step first. A configuration slower than BENCH_FANN_MAX_STEP a step
         * (FANN on e takes seconds) reports that one step instead of a median. */
        double t0 = now_seconds();
        fann_call(&ctx);
        double first = now_seconds() - t0;
        if (max_step && atof(max_step) > 0 && first > atof(max_step)) {
            contender c = {.label = "fann", .median = first, .min = first, .p25 = first,
                           .p75 = first, .n_samples = 1, .inner = 1, .paired_ratio = NAN};
            emit("fann", DTYPE_NAME, cfg, &c, "one step only (slower than BENCH_FANN_MAX_STEP)");
        } else {
            contender c = {.label = "fann", .fn = fann_call, .ctx = &ctx};
            measure_group(&c, 1, &opts);
            emit("fann", DTYPE_NAME, cfg, &c, "");
        }
        fann_destroy_train(data);
        fann_destroy(ann);
        free(xd); free(yd);
    }
    return 0;
}
