/*
 * fann_libfann.c - networks trained and saved by libfann itself load into swiftmlp
 * and predict what fann_run predicts. Built twice by test_fann_libfann.sh: against
 * libdoublefann (-DFANN_DOUBLE: fann_type is double, the model is float64) and
 * against libfloatfann (fann_type is float, the model is float32). Tolerances,
 * relative to max(1, |a|, |b|):
 *   double: 1e-12. Both compute f(s * sum w x) in double from the same weights
 *           (fann_save prints them with %.20e, which round-trips); they differ in the
 *           order of the sums (FANN unrolls by four, OpenBLAS blocks and uses FMA),
 *           in the folded steepness (s*w rounded once) and in tanh (FANN's
 *           2/(1+exp(-2x)) - 1 against tanh): each a few ulps (2e-16) of terms of
 *           size ~1 over two or three layers, far below 1e-12.
 *   float:  1e-5. The same, in float (ulp 6e-8 at 1, and FANN's expf): a few ulps
 *           per layer, which measured below 1e-6; 1e-5 leaves room for other CPUs'
 *           libm without hiding a wrong weight, which moves outputs by > 1e-2.
 *
 * Checked: a 3-5-4-2 network (FANN_SIGMOID_SYMMETRIC steepness 0.7, FANN_SIGMOID
 * 0.4, FANN_LINEAR 1.5) trained with RPROP, and a 2-6-1 (FANN_SIGMOID_SYMMETRIC
 * default steepness, FANN_SIGMOID 0.5) trained incrementally, on 200 inputs each;
 * and that files libfann wrote for a shortcut network, a cascade-trained network, a
 * sparse network and a FANN_GAUSSIAN layer are refused with the reason; and that one
 * fann_train step with FANN's tanh error function is one smlp_step with
 * SMLP_FANN_TANH_ERROR (compare_tanh_error_step).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef FANN_DOUBLE
#include <doublefann.h>
#define MODEL_DTYPE SMLP_FLOAT64
#define TOLERANCE 1e-12
#define KIND "doublefann"
#else
#include <floatfann.h>
#define MODEL_DTYPE SMLP_FLOAT32
#define TOLERANCE 1e-5
#define KIND "floatfann"
#endif

#include "check.h"

static char path[256];

/* y = a smooth function of x, so that training moves the weights somewhere real. */
static struct fann_train_data *make_data(unsigned n_in, unsigned n_out, unsigned rows) {
    struct fann_train_data *data = fann_create_train(rows, n_in, n_out);
    unsigned r, i, j;
    for (r = 0; r < rows; r++) {
        for (i = 0; i < n_in; i++) data->input[r][i] = (fann_type)sin(0.7 * r + 1.3 * i);
        for (j = 0; j < n_out; j++) {
            double s = 0;
            for (i = 0; i < n_in; i++) s += data->input[r][i] * (i + j + 1);
            data->output[r][j] = (fann_type)(0.5 + 0.4 * tanh(0.5 * s));
        }
    }
    return data;
}

static void compare(struct fann *ann, const char *name) {
    unsigned n_in = fann_get_num_input(ann), n_out = fann_get_num_output(ann), row, i;
    smlp_model *model = NULL;
    double worst = 0;
    CHECK(fann_save(ann, path) == 0, "%s: fann_save", name);
    if (!CHECK_STATUS(smlp_load_fann(path, MODEL_DTYPE, &model), SMLP_OK, "%s: smlp_load_fann", name)) return;
    for (row = 0; row < 200; row++) {
        fann_type x[16], got[16], *expected;
        for (i = 0; i < n_in; i++) x[i] = (fann_type)(3.0 * sin(0.91 * (row * n_in + i) + 0.2));
        expected = fann_run(ann, x);
        CHECK_STATUS(smlp_predict(model, MODEL_DTYPE, x, 1, n_in, got, n_out), SMLP_OK, "%s: predict", name);
        for (i = 0; i < n_out; i++) {
            double scale = fmax(1.0, fmax(fabs((double)got[i]), fabs((double)expected[i])));
            double error = fabs((double)got[i] - (double)expected[i]) / scale;
            if (error > worst) worst = error;
            CHECK_CLOSE(got[i], expected[i], TOLERANCE, "%s (%s): row %u output %u", name, KIND, row, i);
        }
    }
    printf("%s (%s): largest relative difference from fann_run over 200 rows: %.3g\n", name, KIND, worst);
    smlp_free(model);
}

/* FANN's default error function, FANN_ERRORFUNC_TANH, against SMLP_FANN_TANH_ERROR:
 * one fann_train step (incremental, learning rate 0.7, no momentum) on one row gives
 * the weights that one smlp_step of plain SGD at 0.7 gives on a model with that loss
 * and FANN's weights, within TOLERANCE (the same kinds of differences as above, in a
 * forward pass, a backward pass and one update). Steepness 1 (0.5 for FANN_SIGMOID)
 * makes the folded weights FANN's own, so that a step means the same in both; weights
 * in [-0.1, 0.1] keep |a| < 0.98, inside the range where FANN clips the values its
 * derivatives use. The targets put the output errors inside the atanh region and,
 * for a linear output, past FANN's clip at +-17. */
static void compare_tanh_error_step(enum fann_activationfunc_enum output, fann_type steepness,
                                    const fann_type *target, const char *name) {
    fann_type x[3] = {0.5f, -0.8f, 0.3f}, expected[64], got[64];
    size_t sizes[3] = {3, 4, 2}, count = 0, i;
    smlp_activation activations[2] = {SMLP_TANH, SMLP_TANH};
    smlp_model *loaded = NULL, *trained = NULL, *model = NULL;
    smlp_config config;
    smlp_optimizer_config sgd;
    smlp_dataset row = {MODEL_DTYPE, 1, 3, x, 2, target, NULL};
    struct fann *ann = fann_create_standard(3, 3, 4, 2);
    smlp_model_info info;
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_steepness_hidden(ann, 1);
    fann_set_activation_function_output(ann, output);
    fann_set_activation_steepness_output(ann, steepness);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_TANH);
    fann_set_learning_rate(ann, 0.7f);
    fann_set_learning_momentum(ann, 0);
    fann_randomize_weights(ann, -0.1f, 0.1f);
    CHECK(fann_save(ann, path) == 0, "%s: fann_save", name);
    CHECK_STATUS(smlp_load_fann(path, MODEL_DTYPE, &loaded), SMLP_OK, "%s: smlp_load_fann", name);
    fann_train(ann, x, (fann_type *)target);
    CHECK(fann_save(ann, path) == 0, "%s: fann_save after fann_train", name);
    CHECK_STATUS(smlp_load_fann(path, MODEL_DTYPE, &trained), SMLP_OK, "%s: smlp_load_fann after fann_train", name);
    fann_destroy(ann);
    if (!loaded || !trained) goto done;
    activations[1] = output == FANN_LINEAR ? SMLP_IDENTITY : output == FANN_SIGMOID ? SMLP_SIGMOID : SMLP_TANH;
    smlp_config_init(&config);
    config.dtype = MODEL_DTYPE;
    config.n_layer_sizes = 3;
    config.layer_sizes = sizes;
    config.activations = activations;
    config.loss = SMLP_FANN_TANH_ERROR;
    if (!CHECK_STATUS(smlp_create(&config, &model), SMLP_OK, "%s: smlp_create", name)) goto done;
    CHECK_STATUS(smlp_model_info_get(model, &info), SMLP_OK, "%s: info", name);
    count = info.param_count;
    CHECK(count <= 64, "%s: %zu parameters", name, count);
    CHECK_STATUS(smlp_get_params(loaded, MODEL_DTYPE, got, count), SMLP_OK, "%s: get FANN's weights", name);
    CHECK_STATUS(smlp_set_params(model, MODEL_DTYPE, got, count), SMLP_OK, "%s: set them", name);
    smlp_optimizer_config_init(&sgd, SMLP_SGD);
    sgd.learning_rate = (double)0.7f;   /* FANN's float learning rate, as FANN uses it */
    CHECK_STATUS(smlp_set_optimizer(model, &sgd), SMLP_OK, "%s: plain SGD", name);
    CHECK_STATUS(smlp_step(model, &row, NULL), SMLP_OK, "%s: smlp_step", name);
    CHECK_STATUS(smlp_get_params(model, MODEL_DTYPE, got, count), SMLP_OK, "%s: get the stepped weights", name);
    CHECK_STATUS(smlp_get_params(trained, MODEL_DTYPE, expected, count), SMLP_OK, "%s: get FANN's", name);
    for (i = 0; i < count; i++)
        CHECK_CLOSE(got[i], expected[i], TOLERANCE, "%s (%s): parameter %zu after one step", name, KIND, i);
    CHECK_STATUS(smlp_get_params(loaded, MODEL_DTYPE, got, count), SMLP_OK, "%s: get the first weights", name);
    {   /* The step moved every weight of the last layer: the check compares real updates. */
        size_t moved = 0;
        for (i = 0; i < count; i++) moved += got[i] != expected[i];
        CHECK(moved == count, "%s: fann_train moved %zu of %zu parameters", name, moved, count);
    }
    printf("%s (%s): one fann_train step = one smlp_step with SMLP_FANN_TANH_ERROR\n", name, KIND);
done:
    smlp_free(loaded);
    smlp_free(trained);
    smlp_free(model);
}

static void expect_refused(struct fann *ann, smlp_status status, const char *fragment, const char *name) {
    smlp_model *model = NULL;
    CHECK(fann_save(ann, path) == 0, "%s: fann_save", name);
    CHECK_STATUS(smlp_load_fann(path, MODEL_DTYPE, &model), status, "%s is refused", name);
    CHECK(model == NULL && strstr(smlp_last_error(), fragment) != NULL, "%s: the message says \"%s\"", name, fragment);
    printf("%s: %s\n", name, smlp_last_error());
}

int main(void) {
    struct fann *ann;
    struct fann_train_data *data;
    unsigned epoch;

    snprintf(path, sizeof path, "/tmp/swiftmlp_fann_libfann_%ld.net", (long)getpid());
    fann_set_error_log(NULL, NULL);

    /* 3-5-4-2, three activations, non-default steepnesses, RPROP (batch). */
    ann = fann_create_standard(4, 3, 5, 4, 2);
    fann_randomize_weights(ann, -0.8f, 0.8f);
    fann_set_activation_function_layer(ann, FANN_SIGMOID_SYMMETRIC, 1);
    fann_set_activation_steepness_layer(ann, 0.7f, 1);
    fann_set_activation_function_layer(ann, FANN_SIGMOID, 2);
    fann_set_activation_steepness_layer(ann, 0.4f, 2);
    fann_set_activation_function_output(ann, FANN_LINEAR);
    fann_set_activation_steepness_output(ann, 1.5f);
    data = make_data(3, 2, 64);
    for (epoch = 0; epoch < 50; epoch++) fann_train_epoch(ann, data);
    compare(ann, "3-5-4-2 tanh(0.7)/sigmoid(0.4)/linear(1.5)");
    fann_destroy(ann);
    fann_destroy_train(data);

    /* 2-6-1 with FANN's default steepness 0.5, incremental training. */
    ann = fann_create_standard(3, 2, 6, 1);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
    data = make_data(2, 1, 32);
    for (epoch = 0; epoch < 100; epoch++) fann_train_epoch(ann, data);
    compare(ann, "2-6-1 tanh/sigmoid, default steepness");
    fann_destroy(ann);
    fann_destroy_train(data);

    {   /* FANN's tanh error function, one training step: linear (errors past the
         * clip and inside), symmetric (errors halved) and sigmoid outputs. */
        static const fann_type far[2] = {3.0f, -0.6f}, symmetric[2] = {0.9f, -0.7f}, unit[2] = {1.0f, 0.2f};
        compare_tanh_error_step(FANN_LINEAR, 1, far, "tanh error, linear output");
        compare_tanh_error_step(FANN_SIGMOID_SYMMETRIC, 1, symmetric, "tanh error, tanh output");
        compare_tanh_error_step(FANN_SIGMOID, 0.5f, unit, "tanh error, sigmoid output");
    }

    /* What has no multilayer-perceptron equivalent. */
    ann = fann_create_shortcut(3, 2, 3, 1);
    expect_refused(ann, SMLP_ERR_INVALID_ARGUMENT, "network_type=1", "fann_create_shortcut");
    fann_destroy(ann);

    ann = fann_create_shortcut(2, 2, 1);
    data = make_data(2, 1, 32);
    fann_set_cascade_max_out_epochs(ann, 20);
    fann_set_cascade_max_cand_epochs(ann, 20);
    fann_cascadetrain_on_data(ann, data, 2, 0, 0.0f);
    expect_refused(ann, SMLP_ERR_INVALID_ARGUMENT, "cascade", "fann_cascadetrain_on_data");
    fann_destroy(ann);
    fann_destroy_train(data);

    ann = fann_create_sparse(0.5f, 3, 4, 6, 2);
    expect_refused(ann, SMLP_ERR_INVALID_ARGUMENT, "sparse", "fann_create_sparse(0.5)");
    fann_destroy(ann);

    ann = fann_create_standard(3, 2, 3, 1);
    fann_set_activation_function_hidden(ann, FANN_GAUSSIAN);
    expect_refused(ann, SMLP_ERR_INVALID_ARGUMENT, "FANN_GAUSSIAN", "FANN_GAUSSIAN hidden layer");
    fann_destroy(ann);

    unlink(path);
    return check_summary();
}
