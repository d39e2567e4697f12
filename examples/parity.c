/*
 * parity.c - 8-bit parity, the classic hard case for gradient descent: a 8-16-1
 * network (tanh hidden units, sigmoid output, binary cross-entropy) learns whether
 * each of the 256 bit patterns has an odd number of ones, with full-batch RPROP
 * (iRPROP-, FANN's default trainer), until every pattern is right. The bits are
 * given as -1 and +1: inputs centred on 0 suit tanh units (with 0/1 inputs the same
 * run often stalls in a local minimum at 98-99%).
 *
 *   cc parity.c $(pkg-config --cflags --libs swiftmlp) -o parity && ./parity
 *   ./parity parity8.train       # a FANN data file instead (e.g. FANN's datasets/),
 *                                # its 0 inputs read as -1
 * (Under a PREFIX the loader does not search, add -Wl,-rpath as in xor.c.)
 */
#include <stdio.h>
#include <stdlib.h>

#include "swiftmlp.h"

static void check(smlp_status status, const char *what) {
    if (status != SMLP_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, smlp_status_string(status), smlp_last_error());
        exit(1);
    }
}

int main(int argc, char **argv) {
    enum { BITS = 8, ROWS = 1 << BITS, MAX_EPOCHS = 5000, CHUNK = 25 };
    static double x[ROWS * BITS], y[ROWS];
    smlp_owned_dataset *file = NULL;
    double *centred = NULL;
    smlp_dataset data = {SMLP_FLOAT64, ROWS, BITS, x, 1, y, NULL};
    if (argc > 1) {
        check(smlp_data_load_fann(argv[1], SMLP_FLOAT64, &file), "smlp_data_load_fann");
        data = file->data;
        printf("%s: %zu rows, %zu inputs, %zu outputs\n", argv[1], data.n_rows, data.n_inputs, data.n_outputs);
        /* FANN's parity files give the bits as 0 and 1: centred on 0 as below. */
        const size_t n = data.n_rows * data.n_inputs;
        const double *bits = data.x;
        centred = malloc(n * sizeof *centred);
        if (centred == NULL) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < n; i++) centred[i] = bits[i] == 0 ? -1.0 : bits[i];
        data.x = centred;
    } else {
        for (int row = 0; row < ROWS; row++) {
            int ones = 0;
            for (int bit = 0; bit < BITS; bit++) {
                x[row * BITS + bit] = ((row >> bit) & 1) ? 1.0 : -1.0;
                ones += (row >> bit) & 1;
            }
            y[row] = ones % 2;
        }
    }

    const size_t sizes[] = {data.n_inputs, 16, data.n_outputs};
    const smlp_activation activations[] = {SMLP_TANH, SMLP_SIGMOID};
    smlp_config config;
    smlp_config_init(&config);
    config.n_layer_sizes = 3;
    config.layer_sizes = sizes;
    config.activations = activations;
    config.loss = SMLP_BINARY_CROSS_ENTROPY;
    config.seed = 1;
    smlp_model *model = NULL;
    check(smlp_create(&config, &model), "smlp_create");

    smlp_optimizer_config rprop;
    smlp_optimizer_config_init(&rprop, SMLP_RPROP); /* iRPROP-, FANN's step sizes */
    check(smlp_set_optimizer(model, &rprop), "smlp_set_optimizer");

    /* RPROP is a full-batch method: one batch of all rows, one step per epoch. */
    smlp_train_options options;
    smlp_train_options_init(&options);
    options.epochs = CHUNK;
    options.batch_size = data.n_rows;
    options.shuffle = 0;

    double loss = 0, accuracy = 0;
    int epochs = 0;
    while (epochs < MAX_EPOCHS && accuracy < 1.0) {
        check(smlp_train(model, &data, &options, NULL), "smlp_train");
        epochs += CHUNK;
        check(smlp_evaluate(model, &data, &loss, &accuracy), "smlp_evaluate");
        if (epochs % 50 == 0 || accuracy == 1.0)
            printf("epoch %4d  loss %.5f  accuracy %5.1f%%\n", epochs, loss, 100 * accuracy);
    }
    printf(accuracy == 1.0 ? "all %zu patterns right after %d epochs\n"
                           : "%zu patterns, not all right after %d epochs\n", data.n_rows, epochs);
    smlp_free(model);
    smlp_data_free(file);
    free(centred);
    return accuracy == 1.0 ? 0 : 1;
}
