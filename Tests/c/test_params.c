/*
 * test_params.c - smlp_get_params / smlp_set_params: exact round trips in both
 * dtypes, every bad call rejected with its status and the model left exactly as it
 * was, and optimizer state kept across smlp_set_params.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

static const size_t sizes[3] = {3, 4, 2};
static const smlp_activation activations[2] = {SMLP_TANH, SMLP_SIGMOID};

static void test_round_trip_f64(void) {
    smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, activations, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
    size_t n = smlp_param_count(model);
    double *in = malloc(n * sizeof *in), *out = malloc((n + 1) * sizeof *out);
    CHECK(model != NULL && n == 26, "create 3-4-2 (26 parameters)");
    if (model == NULL || in == NULL || out == NULL) return;
    fill_uniform(in, n, 11, -3, 3);
    in[0] = -0.0;
    in[1] = 1e-308;      /* a subnormal-adjacent value survives the copy */
    in[2] = 1.7976931348623157e308;
    out[n] = 42.0;       /* a guard past the end */
    CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT64, in, n), SMLP_OK, "set 26 doubles");
    CHECK_STATUS(smlp_get_params(model, SMLP_FLOAT64, out, n), SMLP_OK, "get 26 doubles");
    CHECK(memcmp(in, out, n * sizeof *in) == 0, "float64 round trip is bit-exact (incl. -0.0, DBL_MAX)");
    CHECK(out[n] == 42.0, "smlp_get_params writes exactly count scalars");
    free(in);
    free(out);
    smlp_free(model);
}

static void test_round_trip_f32(void) {
    smlp_model *model = make_model(SMLP_FLOAT32, 3, sizes, activations, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
    size_t n = smlp_param_count(model);
    float *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    CHECK(model != NULL, "create a float32 3-4-2");
    if (model == NULL || in == NULL || out == NULL) return;
    fill_uniform_f(in, n, 12, -3, 3);
    CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT32, in, n), SMLP_OK, "set 26 floats");
    CHECK_STATUS(smlp_get_params(model, SMLP_FLOAT32, out, n), SMLP_OK, "get 26 floats");
    CHECK(memcmp(in, out, n * sizeof *in) == 0, "float32 round trip is bit-exact");
    {
        double wide[26];
        CHECK_STATUS(smlp_get_params(model, SMLP_FLOAT64, wide, n), SMLP_ERR_DTYPE_MISMATCH,
                     "get doubles from a float32 model");
        CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT64, wide, n), SMLP_ERR_DTYPE_MISMATCH,
                     "set doubles on a float32 model");
        CHECK(params_equal(model, in), "float32 model unchanged after a dtype mismatch");
    }
    in[5] = NAN;
    CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT32, in, n), SMLP_ERR_NON_FINITE, "set a float NaN");
    CHECK(params_equal(model, out), "float32 model unchanged after a NaN");
    free(in);
    free(out);
    smlp_free(model);
}

/* Every failing call leaves the whole parameter vector as it was. */
static void test_failures_change_nothing(void) {
    smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, activations, SMLP_MSE, SMLP_REDUCTION_MEAN, 2);
    size_t n = smlp_param_count(model);
    double *before, bad[27], out[27];
    float floats[26];
    size_t i;
    if (!CHECK(model != NULL, "create 3-4-2")) return;
    before = params_snapshot(model);
    memcpy(bad, before, n * sizeof *bad);
    memset(floats, 0, sizeof floats);

    CHECK_STATUS(smlp_get_params(NULL, SMLP_FLOAT64, out, n), SMLP_ERR_NULL_ARGUMENT, "get: NULL model");
    CHECK_STATUS(smlp_get_params(model, SMLP_FLOAT64, NULL, n), SMLP_ERR_NULL_ARGUMENT, "get: NULL out");
    CHECK_STATUS(smlp_get_params(model, SMLP_FLOAT32, floats, n), SMLP_ERR_DTYPE_MISMATCH, "get: float32 out");
    CHECK_STATUS(smlp_get_params(model, (smlp_dtype)99, out, n), SMLP_ERR_DTYPE_MISMATCH, "get: dtype 99");
    CHECK_STATUS(smlp_get_params(model, SMLP_FLOAT64, out, n - 1), SMLP_ERR_SHAPE_MISMATCH, "get: count - 1");
    CHECK_STATUS(smlp_get_params(model, SMLP_FLOAT64, out, n + 1), SMLP_ERR_SHAPE_MISMATCH, "get: count + 1");
    CHECK_STATUS(smlp_get_params(model, SMLP_FLOAT64, out, 0), SMLP_ERR_SHAPE_MISMATCH, "get: count 0");
    CHECK(params_equal(model, before), "failed gets change nothing");

    bad[3] += 1.0; /* a different, valid vector: any change would show */
    CHECK_STATUS(smlp_set_params(NULL, SMLP_FLOAT64, bad, n), SMLP_ERR_NULL_ARGUMENT, "set: NULL model");
    CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT64, NULL, n), SMLP_ERR_NULL_ARGUMENT, "set: NULL params");
    CHECK(params_equal(model, before), "unchanged after NULL arguments");
    CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT32, floats, n), SMLP_ERR_DTYPE_MISMATCH, "set: float32 data");
    CHECK(params_equal(model, before), "unchanged after a dtype mismatch");
    CHECK_STATUS(smlp_set_params(model, (smlp_dtype)0, bad, n), SMLP_ERR_DTYPE_MISMATCH, "set: dtype 0");
    CHECK(params_equal(model, before), "unchanged after dtype 0");
    CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT64, bad, n - 1), SMLP_ERR_SHAPE_MISMATCH, "set: count - 1");
    CHECK(params_equal(model, before), "unchanged after count - 1");
    CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT64, bad, n + 1), SMLP_ERR_SHAPE_MISMATCH, "set: count + 1");
    CHECK(params_equal(model, before), "unchanged after count + 1");

    /* A non-finite value anywhere, even the last index: nothing is copied. */
    {
        const double poison[3] = {NAN, INFINITY, -INFINITY};
        const size_t where[3] = {0, 17, 25};
        char index_text[16];
        for (i = 0; i < 3; i++) {
            memcpy(bad, before, n * sizeof *bad);
            bad[1] += 1.0;
            bad[where[i]] = poison[i];
            CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT64, bad, n), SMLP_ERR_NON_FINITE,
                         "set: %g at index %zu", poison[i], where[i]);
            CHECK(params_equal(model, before), "unchanged after %g at index %zu", poison[i], where[i]);
            snprintf(index_text, sizeof index_text, "%zu", where[i]);
            CHECK(strstr(smlp_last_error(), index_text) != NULL, "the message names index %zu: \"%s\"",
                  where[i], smlp_last_error());
            CHECK(strstr(smlp_last_error(), "smlp_set_params") != NULL, "the message names smlp_set_params");
        }
    }
    free(before);
    smlp_free(model);
}

/* "Optimizer state (momentum, Adam moments) is kept": setting the parameters to
 * what they already are must not change the next step. */
static void test_set_params_keeps_optimizer_state(void) {
    smlp_model *a = make_model(SMLP_FLOAT64, 3, sizes, activations, SMLP_MSE, SMLP_REDUCTION_MEAN, 3);
    smlp_model *b = make_model(SMLP_FLOAT64, 3, sizes, activations, SMLP_MSE, SMLP_REDUCTION_MEAN, 3);
    smlp_optimizer_config opt;
    double x[4 * 3], y[4 * 2], *now;
    const smlp_dataset batch = {SMLP_FLOAT64, 4, 3, x, 2, y, NULL};
    int k;
    if (!CHECK(a != NULL && b != NULL, "create twin models")) return;
    fill_uniform(x, 12, 5, -1, 1);
    fill_uniform(y, 8, 6, 0, 1);
    smlp_optimizer_config_init(&opt, SMLP_ADAM);
    opt.learning_rate = 0.05;
    CHECK_STATUS(smlp_set_optimizer(a, &opt), SMLP_OK, "Adam on model a");
    CHECK_STATUS(smlp_set_optimizer(b, &opt), SMLP_OK, "Adam on model b");
    for (k = 0; k < 3; k++) {
        CHECK_STATUS(smlp_step(a, &batch, NULL), SMLP_OK, "step a");
        CHECK_STATUS(smlp_step(b, &batch, NULL), SMLP_OK, "step b");
    }
    now = params_snapshot(a);
    CHECK_STATUS(smlp_set_params(a, SMLP_FLOAT64, now, smlp_param_count(a)), SMLP_OK, "set a to itself");
    CHECK_STATUS(smlp_step(a, &batch, NULL), SMLP_OK, "step a again");
    CHECK_STATUS(smlp_step(b, &batch, NULL), SMLP_OK, "step b again");
    CHECK(models_equal(a, b), "smlp_set_params kept the Adam moments and step count");
    free(now);
    smlp_free(a);
    smlp_free(b);
}

int main(void) {
    test_round_trip_f64();
    test_round_trip_f32();
    test_failures_change_nothing();
    test_set_params_keeps_optimizer_state();
    return check_summary();
}
