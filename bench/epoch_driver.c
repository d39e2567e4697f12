/*
 * epoch_driver.c - one network of bench_small.c's "train epoch" row, for profiling:
 * the same model, data and options (sigmoid layers, MSE, SGD lr 0.1 momentum 0.4,
 * 1,000 rows, batch 1, no shuffle), then `epochs` smlp_train calls of one epoch each
 * (or, with "step", 1,000 smlp_step calls per epoch over the same rows). Prints the
 * wall time of each call group and how many parameters are subnormal at the end.
 * Run under valgrind --tool=callgrind to count instructions (bench/profile_epoch.sh).
 *
 *   epoch_driver SIZES [epochs] [train|step]     e.g. epoch_driver 48-96-3 3
 */
#include "bench_common.h"

#include <swiftmlp.h>

#define ROWS 1000

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s SIZES [epochs] [train|step]\n", argv[0]); return 2; }
    size_t sizes[MAX_LAYER_SIZES], n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", argv[1]);
    for (char *t = strtok(buf, "-"); t && n < MAX_LAYER_SIZES; t = strtok(NULL, "-")) sizes[n++] = strtoul(t, NULL, 10);
    int epochs = argc > 2 ? atoi(argv[2]) : 1;
    int stepping = argc > 3 && strcmp(argv[3], "step") == 0;
    size_t n_in = sizes[0], n_out = sizes[n - 1];
    float *x = malloc(sizeof(float) * ROWS * n_in), *y = malloc(sizeof(float) * ROWS * n_out);
    for (size_t r = 0; r < ROWS; r++) {
        for (size_t i = 0; i < n_in; i++) x[r * n_in + i] = (float)rng_uniform();
        for (size_t j = 0; j < n_out; j++) y[r * n_out + j] = (float)(0.5 + 0.5 * rng_uniform());
    }
    smlp_activation acts[MAX_LAYER_SIZES];
    for (size_t l = 0; l + 1 < n; l++) acts[l] = SMLP_SIGMOID;
    smlp_config mc;
    smlp_config_init(&mc);
    mc.dtype = SMLP_FLOAT32;
    mc.n_layer_sizes = n;
    mc.layer_sizes = sizes;
    mc.activations = acts;
    mc.loss = SMLP_MSE;
    mc.seed = 1;
    smlp_model *model;
    if (smlp_create(&mc, &model) != SMLP_OK) { fprintf(stderr, "%s\n", smlp_last_error()); return 1; }
    smlp_optimizer_config oc;
    smlp_optimizer_config_init(&oc, SMLP_SGD);
    oc.learning_rate = 0.1;
    oc.momentum = 0.4;
    if (smlp_set_optimizer(model, &oc) != SMLP_OK) { fprintf(stderr, "%s\n", smlp_last_error()); return 1; }
    smlp_dataset all = {SMLP_FLOAT32, ROWS, n_in, x, n_out, y, NULL};
    smlp_train_options to;
    smlp_train_options_init(&to);
    to.epochs = 1;
    to.batch_size = 1;
    to.shuffle = 0;
    for (int e = 0; e < epochs; e++) {
        double t0 = now_seconds(), loss = 0;
        if (stepping) {
            for (size_t r = 0; r < ROWS; r++) {
                smlp_dataset one = {SMLP_FLOAT32, 1, n_in, x + r * n_in, n_out, y + r * n_out, NULL};
                double l;
                if (smlp_step(model, &one, &l) != SMLP_OK) { fprintf(stderr, "%s\n", smlp_last_error()); return 1; }
                loss += l;
            }
            loss /= ROWS;
        } else {
            smlp_train_summary s;
            if (smlp_train(model, &all, &to, &s) != SMLP_OK) { fprintf(stderr, "%s\n", smlp_last_error()); return 1; }
            loss = s.final_train_loss;
        }
        double t = now_seconds() - t0;
        if (e < 3 || e % 100 == 99 || e == epochs - 1) printf("epoch %d: %.0f us, loss %.9g\n", e + 1, t * 1e6, loss);
    }
    size_t count = smlp_param_count(model);
    float *p = malloc(sizeof(float) * count);
    smlp_get_params(model, SMLP_FLOAT32, p, count);
    size_t sub = 0;
    for (size_t i = 0; i < count; i++) if (p[i] != 0 && fabsf(p[i]) < 1.17549435e-38f) sub++;
    printf("parameters: %zu, subnormal: %zu\n", count, sub);
    smlp_free(model);
    return 0;
}
