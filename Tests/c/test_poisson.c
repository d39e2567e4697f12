/*
 * test_poisson.c - SMLP_POISSON through the C contract, against the header's formula
 * computed here from smlp_predict's output z (the log of the mean):
 *   - it needs an identity output layer (others are SMLP_ERR_INVALID_ARGUMENT);
 *   - the loss of smlp_gradients is (1/n) sum [exp(z) - y z + y log y - y], in float64
 *     and float32, and its gradient agrees with central finite differences;
 *   - training on counts drawn from a log-linear mean lowers the loss towards the
 *     generating model's, smlp_evaluate's accuracy is NaN, and the loss survives a
 *     save/load round trip.
 */
#include <math.h>
#include <stdio.h>

#include "check.h"
#include "model_util.h"

#define ROWS 40
#define N_IN 3
#define N_HID 5
#define N_OUT 2

static double x64[ROWS * N_IN], y64[ROWS * N_OUT];
static float x32[ROWS * N_IN], y32[ROWS * N_OUT];
static const size_t sizes[3] = {N_IN, N_HID, N_OUT};
static const smlp_activation acts[2] = {SMLP_TANH, SMLP_IDENTITY};

/* Counts whose log-mean is linear in x: y = round(exp(0.3 + x0 - 0.5 x1 (+ x2 for the
 * second output))), so 0 appears (y log y taken as 0) and larger counts too. */
static void make_data(void) {
    size_t i, j;
    fill_uniform(x64, ROWS * N_IN, 17, -1.0, 1.0);
    for (i = 0; i < ROWS; i++) {
        const double *x = x64 + i * N_IN;
        y64[i * N_OUT] = floor(exp(0.3 + x[0] - 0.5 * x[1]) + 0.5) - (i % 7 == 0 ? 1 : 0);
        y64[i * N_OUT + 1] = floor(exp(x[2] + 0.5 * x[0]) + 0.5);
        if (y64[i * N_OUT] < 0) y64[i * N_OUT] = 0;
    }
    for (i = 0; i < ROWS * N_IN; i++) x32[i] = (float)x64[i];
    for (j = 0; j < ROWS * N_OUT; j++) y32[j] = (float)y64[j];
}

static double formula_loss(smlp_model *m, smlp_dtype dtype) {
    double z64[ROWS * N_OUT], total = 0;
    float z32[ROWS * N_OUT];
    size_t i;
    if (dtype == SMLP_FLOAT64) {
        CHECK_STATUS(smlp_predict(m, dtype, x64, ROWS, N_IN, z64, N_OUT), SMLP_OK, "predict");
    } else {
        CHECK_STATUS(smlp_predict(m, dtype, x32, ROWS, N_IN, z32, N_OUT), SMLP_OK, "predict f32");
        for (i = 0; i < ROWS * N_OUT; i++) z64[i] = z32[i];
    }
    for (i = 0; i < ROWS * N_OUT; i++) {
        double y = y64[i], z = z64[i];
        total += exp(z) - y * z + (y > 0 ? y * log(y) : 0.0) - y;
    }
    return total / ROWS;
}

static void test_needs_identity_output(void) {
    static const smlp_activation sigmoid_out[2] = {SMLP_TANH, SMLP_SIGMOID};
    smlp_config c;
    smlp_model *m = NULL;
    smlp_config_init(&c);
    c.n_layer_sizes = 3;
    c.layer_sizes = sizes;
    c.activations = sigmoid_out;
    c.loss = SMLP_POISSON;
    CHECK_STATUS(smlp_create(&c, &m), SMLP_ERR_INVALID_ARGUMENT, "poisson with a sigmoid output");
    CHECK(m == NULL, "no model on failure");
    CHECK(strstr(smlp_last_error(), "poisson") != NULL && strstr(smlp_last_error(), "identity") != NULL,
          "the message names the loss and the output it needs: %s", smlp_last_error());
    c.activations = acts;
    CHECK_STATUS(smlp_create(&c, &m), SMLP_OK, "poisson with an identity output");
    smlp_free(m);
}

static void test_loss_and_gradient(smlp_dtype dtype) {
    const char *dt = dtype == SMLP_FLOAT64 ? "float64" : "float32";
    smlp_model *m = make_model(dtype, 3, sizes, acts, SMLP_POISSON, SMLP_REDUCTION_MEAN, 9);
    smlp_dataset d = dtype == SMLP_FLOAT64 ? dense_set(dtype, ROWS, N_IN, x64, N_OUT, y64)
                                           : dense_set(dtype, ROWS, N_IN, x32, N_OUT, y32);
    double loss = NAN, errors_w[2], errors_b[2];
    if (!CHECK(m != NULL, "%s: model", dt)) return;
    CHECK_STATUS(smlp_gradients(m, &d, &loss, NULL, 0), SMLP_OK, "%s: loss", dt);
    /* float64: the same sums in another order (~1e-15); float32: z rounded to float
     * and the library's float arithmetic (~1e-7 relative per term). */
    CHECK_CLOSE(loss, formula_loss(m, dtype), dtype == SMLP_FLOAT64 ? 1e-12 : 1e-5,
                "%s: smlp_gradients' loss is the header's formula", dt);
    if (dtype == SMLP_FLOAT64) {
        CHECK_STATUS(smlp_gradcheck(m, &d, 1e-6, errors_w, errors_b, 2), SMLP_OK, "gradcheck");
        /* smlp_gradcheck's scale: ~1e-8 or less for a correct gradient (tanh is smooth). */
        CHECK(errors_w[0] < 1e-6 && errors_w[1] < 1e-6 && errors_b[0] < 1e-6 && errors_b[1] < 1e-6,
              "gradient against finite differences: %g %g %g %g", errors_w[0], errors_w[1], errors_b[0],
              errors_b[1]);
    }
    smlp_free(m);
}

static void test_training_and_round_trip(void) {
    smlp_model *m = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_POISSON, SMLP_REDUCTION_MEAN, 4);
    smlp_model *again = NULL;
    smlp_dataset d = dense_set(SMLP_FLOAT64, ROWS, N_IN, x64, N_OUT, y64);
    smlp_optimizer_config oc;
    smlp_train_options o;
    smlp_train_summary s;
    double before = NAN, after = NAN, accuracy = 0, loaded = NAN, generating = 0;
    unsigned char buffer[4096];
    size_t size = 0, i;
    if (!CHECK(m != NULL, "training: model")) return;
    /* The loss of the generating means exp(0.3 + x0 - 0.5 x1), exp(x2 + 0.5 x0) (before
     * rounding): what a good fit should come near. */
    for (i = 0; i < ROWS; i++) {
        const double *x = x64 + i * N_IN, *y = y64 + i * N_OUT;
        double z0 = 0.3 + x[0] - 0.5 * x[1], z1 = x[2] + 0.5 * x[0];
        generating += exp(z0) - y[0] * z0 + (y[0] > 0 ? y[0] * log(y[0]) : 0) - y[0];
        generating += exp(z1) - y[1] * z1 + (y[1] > 0 ? y[1] * log(y[1]) : 0) - y[1];
    }
    generating /= ROWS;
    CHECK_STATUS(smlp_evaluate(m, &d, &before, &accuracy), SMLP_OK, "evaluate before");
    CHECK(isnan(accuracy), "accuracy is NaN for SMLP_POISSON");
    smlp_optimizer_config_init(&oc, SMLP_ADAM);
    oc.learning_rate = 0.02;
    CHECK_STATUS(smlp_set_optimizer(m, &oc), SMLP_OK, "adam");
    smlp_train_options_init(&o);
    o.epochs = 400;
    o.batch_size = 10;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "train");
    CHECK_STATUS(smlp_evaluate(m, &d, &after, NULL), SMLP_OK, "evaluate after");
    printf("poisson: loss %.4f -> %.4f (generating means: %.4f)\n", before, after, generating);
    CHECK(after < before && after < 1.25 * generating,
          "training fits the counts: %g -> %g, generating model %g", before, after, generating);
    CHECK_CLOSE(s.final_train_loss, after, 0.2, "the last epoch's mean loss is near the final one");
    CHECK_STATUS(smlp_save_to_buffer(m, buffer, sizeof buffer, &size), SMLP_OK, "save");
    CHECK_STATUS(smlp_load_from_buffer(buffer, size, &again), SMLP_OK, "load");
    if (again != NULL) {
        CHECK_STATUS(smlp_evaluate(again, &d, &loaded, NULL), SMLP_OK, "evaluate loaded");
        CHECK(loaded == after, "the loaded model has the same loss (%.17g vs %.17g)", loaded, after);
        smlp_free(again);
    }
    smlp_free(m);
}

int main(void) {
    make_data();
    test_needs_identity_output();
    test_loss_and_gradient(SMLP_FLOAT64);
    test_loss_and_gradient(SMLP_FLOAT32);
    test_training_and_round_trip();
    return check_summary();
}
