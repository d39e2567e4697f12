/*
 * xor.c - the smallest useful network: 2 inputs, 4 tanh hidden units, 1 sigmoid
 * output, trained on the four XOR rows with binary cross-entropy and full-batch SGD
 * with momentum. Prints the loss as it falls, then the four predictions.
 *
 *   cc xor.c $(pkg-config --cflags --libs swiftmlp) -o xor && ./xor
 * (Installed under a PREFIX the loader does not search, e.g. $HOME/.local, add
 * -Wl,-rpath,$(pkg-config --variable=libdir swiftmlp), as README.md shows.)
 */
#include <stdio.h>
#include <stdlib.h>

#include "swiftmlp.h"

/* Print the library's message and stop when a call fails. */
static void check(smlp_status status, const char *what) {
    if (status != SMLP_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, smlp_status_string(status), smlp_last_error());
        exit(1);
    }
}

int main(void) {
    /* The four XOR cases: x is 4 x 2, y is 4 x 1, both row-major doubles. */
    const double x[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1};
    const double y[4 * 1] = {0, 1, 1, 0};

    const size_t sizes[] = {2, 4, 1};
    const smlp_activation activations[] = {SMLP_TANH, SMLP_SIGMOID};
    smlp_config config;
    smlp_config_init(&config);
    config.dtype = SMLP_FLOAT64;
    config.n_layer_sizes = 3;
    config.layer_sizes = sizes;
    config.activations = activations;
    config.loss = SMLP_BINARY_CROSS_ENTROPY;
    config.seed = 42;

    smlp_model *model = NULL;
    check(smlp_create(&config, &model), "smlp_create");

    smlp_optimizer_config sgd;
    smlp_optimizer_config_init(&sgd, SMLP_SGD);
    sgd.learning_rate = 0.5;
    sgd.momentum = 0.9;
    check(smlp_set_optimizer(model, &sgd), "smlp_set_optimizer");

    /* The whole data set is one batch; labels are given as dense 0/1 targets. */
    const smlp_dataset batch = {SMLP_FLOAT64, 4, 2, x, 1, y, NULL};
    printf("libswiftmlp %s, %zu parameters\n", smlp_version_string(), smlp_param_count(model));
    double loss = 0;
    for (int epoch = 1; epoch <= 500; epoch++) {
        check(smlp_step(model, &batch, &loss), "smlp_step");
        if (epoch == 1 || epoch % 50 == 0) printf("epoch %3d  loss %.6f\n", epoch, loss);
    }

    double predictions[4];
    check(smlp_predict(model, SMLP_FLOAT64, x, 4, 2, predictions, 1), "smlp_predict");
    int correct = 0;
    for (int i = 0; i < 4; i++) {
        int predicted = predictions[i] > 0.5;
        correct += predicted == (int)y[i];
        printf("%g XOR %g = %g   predicted %.4f\n", x[2 * i], x[2 * i + 1], y[i], predictions[i]);
    }
    printf("%d of 4 correct\n", correct);
    smlp_free(model);
    return correct == 4 ? 0 : 1;
}
