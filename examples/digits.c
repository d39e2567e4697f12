/*
 * digits.c - a real data set: 8x8 handwritten digits (1,437 training and 360 test
 * images, from UCI via scikit-learn; see examples/data/README.md). Trains a 64-64-10
 * network (ReLU hidden layer, softmax output, cross-entropy on integer labels) with
 * Adam, standardising the pixels with a scaler kept inside the model, holding out 20%
 * of the training data for early stopping, printing one line per epoch, then the test
 * accuracy.
 *
 *   cc digits.c $(pkg-config --cflags --libs swiftmlp) -o digits   (digits_data.h beside it)
 *   ./digits [data-folder]        (default: examples/data)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digits_data.h"
#include "swiftmlp.h"

static void check(smlp_status status, const char *what) {
    if (status != SMLP_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, smlp_status_string(status), smlp_last_error());
        exit(1);
    }
}

/* Called by smlp_train after every epoch; returning 0 lets training go on. */
static int print_epoch(const smlp_epoch_report *report, void *user_data) {
    (void)user_data;
    printf("epoch %2zu  lr %.4f  train loss %.4f  validation loss %.4f  validation accuracy %.2f%%\n",
           report->epoch, report->learning_rate, report->train_loss, report->validation_loss,
           100.0 * report->validation_accuracy);
    return 0;
}

int main(int argc, char **argv) {
    const char *folder = argc > 1 ? argv[1] : "examples/data";
    char train_path[1024], test_path[1024];
    snprintf(train_path, sizeof train_path, "%s/digits_train.csv", folder);
    snprintf(test_path, sizeof test_path, "%s/digits_test.csv", folder);

    double *train_x = NULL, *test_x = NULL;
    int32_t *train_y = NULL, *test_y = NULL;
    size_t n_train = 0, n_test = 0;
    if (digits_load_csv(train_path, &train_x, &train_y, &n_train) != 0 ||
        digits_load_csv(test_path, &test_x, &test_y, &n_test) != 0) {
        return 1;
    }

    const size_t sizes[] = {DIGITS_N_FEATURES, 64, DIGITS_N_CLASSES};
    const smlp_activation activations[] = {SMLP_RELU, SMLP_SOFTMAX};
    smlp_config config;
    smlp_config_init(&config);
    config.dtype = SMLP_FLOAT64;
    config.n_layer_sizes = 3;
    config.layer_sizes = sizes;
    config.activations = activations;
    config.loss = SMLP_SOFTMAX_CROSS_ENTROPY;
    config.seed = 2024;

    smlp_model *model = NULL;
    check(smlp_create(&config, &model), "smlp_create");

    smlp_optimizer_config adam;
    smlp_optimizer_config_init(&adam, SMLP_ADAM);
    adam.learning_rate = 0.003;
    adam.schedule = SMLP_SCHEDULE_COSINE;
    adam.t_max = 30;
    check(smlp_set_optimizer(model, &adam), "smlp_set_optimizer");


    /* The training file is already in random order: its last 20% is held out as
     * validation data for early stopping, and the test set is only used at the end. */
    const size_t n_fit = n_train - n_train / 5, n_validation = n_train / 5;
    const smlp_dataset fit = {SMLP_FLOAT64, n_fit, DIGITS_N_FEATURES, train_x,
                              DIGITS_N_CLASSES, NULL, train_y};
    const smlp_dataset validation = {SMLP_FLOAT64, n_validation, DIGITS_N_FEATURES,
                                     train_x + n_fit * DIGITS_N_FEATURES, DIGITS_N_CLASSES,
                                     NULL, train_y + n_fit};
    const smlp_dataset test = {SMLP_FLOAT64, n_test, DIGITS_N_FEATURES, test_x,
                               DIGITS_N_CLASSES, NULL, test_y};

    /* Standardise each pixel with statistics of the data it is fitted on; the model
     * keeps them and applies them in every later call, including predict. */
    check(smlp_fit_scaler(model, SMLP_FLOAT64, train_x, n_fit, DIGITS_N_FEATURES), "smlp_fit_scaler");

    smlp_train_options options;
    smlp_train_options_init(&options);
    options.epochs = 30;
    options.batch_size = 32;
    options.validation = &validation;
    options.patience = 8;          /* stop after 8 epochs without a better validation loss */
    options.restore_best = 1;      /* and keep the best epoch's parameters */
    options.callback = print_epoch;

    clock_t start = clock();
    smlp_train_summary summary;
    check(smlp_train(model, &fit, &options, &summary), "smlp_train");
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;

    double test_loss = 0, test_accuracy = 0;
    check(smlp_evaluate(model, &test, &test_loss, &test_accuracy), "smlp_evaluate");
    /* stopped_early says patience ran out; that can happen in the very last epoch. */
    const char *stop = !summary.stopped_early                   ? ""
                       : summary.epochs_run < options.epochs ? ", stopped early (patience ran out)"
                                                               : ", patience ran out in the last epoch";
    printf("trained %zu epochs in %.2f s of CPU time%s; kept epoch %zu (validation loss %.4f)\n",
           summary.epochs_run, seconds, stop, summary.best_epoch, summary.best_validation_loss);
    printf("test loss %.4f, test accuracy %.2f%% (%zu images)\n", test_loss, 100.0 * test_accuracy, n_test);

    smlp_free(model);
    free(train_x);
    free(train_y);
    free(test_x);
    free(test_y);
    if (test_accuracy < 0.96) {
        fprintf(stderr, "test accuracy below the 96%% this example promises\n");
        return 1;
    }
    return 0;
}
