/*
 * test_predict.c - smlp_predict is exactly the header's forward pass,
 *     Z_l = A_{l-1} W_l + 1 b_l,  A_l = activation_l(Z_l),
 * recomputed here by hand from the parameters we set, for every activation, in
 * float64 (within 1e-12) and float32 (within 1e-5); and every bad call is rejected.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

#define MAX_WIDTH 16

struct net {
    const char *name;
    size_t n_sizes;
    size_t sizes[4];
    smlp_activation activations[3];
    smlp_loss loss;
    double slope;
};

static const struct net nets[] = {
    {"3-5-4-2 sigmoid/tanh/identity", 4, {3, 5, 4, 2}, {SMLP_SIGMOID, SMLP_TANH, SMLP_IDENTITY}, SMLP_MSE, 0.01},
    {"3-5-4-3 relu/leaky(0.2)/softmax", 4, {3, 5, 4, 3}, {SMLP_RELU, SMLP_LEAKY_RELU, SMLP_SOFTMAX},
     SMLP_SOFTMAX_CROSS_ENTROPY, 0.2},
    {"3-6-2 leaky(0.3)/sigmoid", 3, {3, 6, 2}, {SMLP_LEAKY_RELU, SMLP_SIGMOID}, SMLP_BINARY_CROSS_ENTROPY, 0.3},
    {"4-3 identity", 2, {4, 3}, {SMLP_IDENTITY}, SMLP_MSE, 0.01},
};

static double activate(smlp_activation f, double z, double slope) {
    switch (f) {
    case SMLP_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case SMLP_TANH: return tanh(z);
    case SMLP_RELU: return z > 0 ? z : 0;
    case SMLP_LEAKY_RELU: return z > 0 ? z : slope * z;
    default: return z; /* identity; softmax is done per row below */
    }
}

/* The forward pass of one row, straight from the header's layout formula. */
static void forward_row(const struct net *net, const double *p, const double *x, double *out) {
    double a[MAX_WIDTH], z[MAX_WIDTH];
    size_t l, i, j, offset = 0;
    memcpy(a, x, net->sizes[0] * sizeof *a);
    for (l = 0; l + 1 < net->n_sizes; l++) {
        size_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const double *w = p + offset, *b = p + offset + n_in * n_out;
        for (j = 0; j < n_out; j++) {
            z[j] = b[j];
            for (i = 0; i < n_in; i++) z[j] += a[i] * w[i * n_out + j];
        }
        if (net->activations[l] == SMLP_SOFTMAX) {
            double top = z[0], total = 0;
            for (j = 1; j < n_out; j++) if (z[j] > top) top = z[j];
            for (j = 0; j < n_out; j++) total += (a[j] = exp(z[j] - top));
            for (j = 0; j < n_out; j++) a[j] /= total;
        } else {
            for (j = 0; j < n_out; j++) a[j] = activate(net->activations[l], z[j], net->slope);
        }
        offset += n_in * n_out + n_out;
    }
    memcpy(out, a, net->sizes[net->n_sizes - 1] * sizeof *out);
}

static smlp_model *create(const struct net *net, smlp_dtype dtype) {
    smlp_config config;
    smlp_model *model = NULL;
    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = net->n_sizes;
    config.layer_sizes = net->sizes;
    config.activations = net->activations;
    config.loss = net->loss;
    config.leaky_relu_slope = net->slope;
    if (smlp_create(&config, &model) != SMLP_OK) return NULL;
    return model;
}

enum { ROWS = 9 };

static void test_forward(const struct net *net, smlp_dtype dtype) {
    const int f32 = dtype == SMLP_FLOAT32;
    const double tol = f32 ? 1e-5 : 1e-12;
    smlp_model *model = create(net, dtype);
    size_t n = smlp_param_count(model), n_in = net->sizes[0], n_out = net->sizes[net->n_sizes - 1];
    double *p = malloc(n * sizeof *p), x[ROWS * MAX_WIDTH], out[ROWS * MAX_WIDTH], ref[MAX_WIDTH];
    float *pf = malloc(n * sizeof *pf), xf[ROWS * MAX_WIDTH], outf[ROWS * MAX_WIDTH];
    size_t i, r, j;
    smlp_status status;
    double worst = 0;
    const char *dt = f32 ? "float32" : "float64";
    if (!CHECK(model != NULL && p != NULL && pf != NULL, "%s %s: create", net->name, dt)) return;

    fill_uniform(p, n, 101, -1.5, 1.5);
    fill_uniform(x, ROWS * n_in, 202, -2, 2);
    /* Row 1 is all zeros: the first layer's outputs are its activated biases. */
    for (i = 0; i < n_in; i++) x[n_in + i] = 0;
    if (f32) {
        /* Round data and parameters to float first, then compute the reference in
         * double from exactly the values the model sees. */
        for (i = 0; i < n; i++) p[i] = pf[i] = (float)p[i];
        for (i = 0; i < ROWS * n_in; i++) x[i] = xf[i] = (float)x[i];
        status = smlp_set_params(model, SMLP_FLOAT32, pf, n);
    } else {
        status = smlp_set_params(model, SMLP_FLOAT64, p, n);
    }
    CHECK_STATUS(status, SMLP_OK, "%s %s: set params", net->name, dt);
    status = f32 ? smlp_predict(model, SMLP_FLOAT32, xf, ROWS, n_in, outf, n_out)
                 : smlp_predict(model, SMLP_FLOAT64, x, ROWS, n_in, out, n_out);
    if (!CHECK_STATUS(status, SMLP_OK, "%s %s: predict %d rows", net->name, dt, ROWS)) goto done;
    if (f32) for (i = 0; i < ROWS * n_out; i++) out[i] = outf[i];

    for (r = 0; r < ROWS; r++) {
        double sum = 0;
        forward_row(net, p, x + r * n_in, ref);
        for (j = 0; j < n_out; j++) {
            double scale = fabs(ref[j]) > 1 ? fabs(ref[j]) : 1;
            double err = fabs(out[r * n_out + j] - ref[j]) / scale;
            if (!(err <= worst)) worst = err;
            sum += out[r * n_out + j];
        }
        if (net->activations[net->n_sizes - 2] == SMLP_SOFTMAX) {
            CHECK_NEAR(sum, 1.0, f32 ? 1e-6 : 1e-12, "%s %s: softmax row %zu sums to 1", net->name, dt, r);
        }
    }
    CHECK(worst <= tol, "%s %s: predict matches the hand-computed forward pass: worst relative error %.3g > %.0e",
          net->name, dt, worst, tol);

    /* Read-only: predict left the parameters alone. */
    CHECK(params_equal(model, f32 ? (void *)pf : (void *)p), "%s %s: predict changed no parameter", net->name, dt);
done:
    free(p);
    free(pf);
    smlp_free(model);
}

/* A big batch, then a small one: the workspace grows and shrinking back is fine. */
static void test_batch_sizes(void) {
    const struct net *net = &nets[1];
    smlp_model *model = create(net, SMLP_FLOAT64);
    enum { BIG = 300 };
    double *x = malloc(BIG * 3 * sizeof *x), *big = malloc(BIG * 3 * sizeof *big), small[5 * 3], one[3];
    size_t r, j;
    int same = 1;
    if (!CHECK(model != NULL && x != NULL && big != NULL, "create for batch sizes")) return;
    fill_uniform(x, BIG * 3, 7, -2, 2);
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 5, 3, small, 3), SMLP_OK, "predict 5 rows");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, BIG, 3, big, 3), SMLP_OK, "predict %d rows", BIG);
    for (r = 0; r < 5; r++) for (j = 0; j < 3; j++) if (fabs(small[r * 3 + j] - big[r * 3 + j]) > 1e-14) same = 0;
    CHECK(same, "rows predicted in a batch of 5 and of %d agree", BIG);
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x + 3 * (BIG - 1), 1, 3, one, 3), SMLP_OK, "predict 1 row");
    for (j = 0; j < 3; j++) if (fabs(one[j] - big[3 * (BIG - 1) + j]) > 1e-14) same = 0;
    CHECK(same, "the last row alone agrees with the batch of %d", BIG);
    free(x);
    free(big);
    smlp_free(model);
}

/* A softmax output's bits do not depend on the batch: each row predicted alone gives
 * exactly the bits it gets in a batch of 37. The products are exact here (inputs are
 * small integers, parameters multiples of 1/4), so the logits are the same bits
 * whatever OpenBLAS's blocking; what is left is the engine's vectorised exponential,
 * which a batch runs mostly in its vector body and a single 7-wide row entirely in
 * its scalar remainder (VectorExponential.swift). Checked here, on the release
 * library, because a debug build does not vectorise that loop. */
static void test_softmax_bits_any_batch(smlp_dtype dtype) {
    static const struct net net = {"4-7 softmax", 2, {4, 7}, {SMLP_SOFTMAX}, SMLP_SOFTMAX_CROSS_ENTROPY, 0.01};
    enum { BATCH = 37, IN = 4, OUT = 7 };
    const int f32 = dtype == SMLP_FLOAT32;
    const char *dt = f32 ? "float32" : "float64";
    const size_t width = f32 ? sizeof(float) : sizeof(double);
    smlp_model *model = create(&net, dtype);
    size_t n = IN * OUT + OUT, i, r;
    double p[IN * OUT + OUT], x[BATCH * IN];
    float pf[IN * OUT + OUT], xf[BATCH * IN];
    unsigned char batch[BATCH * OUT * sizeof(double)], one[OUT * sizeof(double)];
    int same = 1;
    uint64_t state = 99;
    if (!CHECK(model != NULL, "%s: create 4-7 softmax", dt)) return;
    for (i = 0; i < n; i++) p[i] = pf[i] = (float)(floor(test_uniform(&state, -8, 9)) / 4);
    for (i = 0; i < BATCH * IN; i++) x[i] = xf[i] = (float)floor(test_uniform(&state, -3, 4));
    CHECK_STATUS(f32 ? smlp_set_params(model, SMLP_FLOAT32, pf, n) : smlp_set_params(model, SMLP_FLOAT64, p, n),
                 SMLP_OK, "%s: set params", dt);
    CHECK_STATUS(smlp_predict(model, dtype, f32 ? (void *)xf : (void *)x, BATCH, IN, batch, OUT), SMLP_OK,
                 "%s: predict %d rows", dt, BATCH);
    for (r = 0; r < BATCH; r++) {
        const void *row = f32 ? (const void *)(xf + r * IN) : (const void *)(x + r * IN);
        if (smlp_predict(model, dtype, row, 1, IN, one, OUT) != SMLP_OK) { same = 0; break; }
        if (memcmp(one, batch + r * OUT * width, OUT * width) != 0) same = 0;
    }
    CHECK(same, "%s: every softmax row alone has the bits it has in a batch of %d", dt, BATCH);
    smlp_free(model);
}

/* relu maps a NaN or -inf pre-activation to +0 in the release library, where its
 * loops are vectorised (Activation.swift writes relu as Scalar.maximum(x, 0); a debug
 * build does not vectorise it), in prediction (in place, no Z kept) and in the
 * training forward pass at one BLAS thread (Z updated in place) and at two (the
 * product in a buffer of its own). Finite inputs and parameters: the identity layer
 * 1 -> 2 gives A0 = (+inf, -inf) (10 * big overflows), and the relu layer 2 -> 64,
 * a product OpenBLAS computes, sums them: inf - inf = NaN for odd units, -inf - inf
 * = -inf for even ones (exactly, in any order, with or without FMA). Every relu
 * output is then +0 and the prediction is exactly the last bias. A training pass
 * then fails (dW1 = A0^T dZ1 has inf * 0), but leaves its Z and A cached. */
static void test_relu_of_nan(smlp_dtype dtype) {
    enum { ROWS = 40, HIDDEN = 64, N = 2 + 2 + 2 * HIDDEN + HIDDEN + HIDDEN + 1 };
    static const struct net net = {"1-2-64-1 identity/relu/identity", 4, {1, 2, HIDDEN, 1},
                                   {SMLP_IDENTITY, SMLP_RELU, SMLP_IDENTITY}, SMLP_MSE, 0.01};
    const int f32 = dtype == SMLP_FLOAT32;
    const char *dt = f32 ? "float32" : "float64";
    const double big = f32 ? 3e38 : 1e308;
    double p[N], x[ROWS], y[ROWS], z[ROWS * HIDDEN], a[2][ROWS * HIDDEN], out[ROWS];
    float pf[N], xf[ROWS], yf[ROWS], zf[ROWS * HIDDEN], af[ROWS * HIDDEN], outf[ROWS];
    size_t i, j, at = 0;
    int saved_threads = smlp_get_num_threads(), threads, exact = 1;
    smlp_model *model = create(&net, dtype);
    if (!CHECK(model != NULL, "%s: create %s", dt, net.name)) return;
    p[at++] = big; p[at++] = -big;                          /* W0 (1 x 2) */
    p[at++] = 0; p[at++] = 0;                               /* b0 */
    for (j = 0; j < HIDDEN; j++) p[at + j] = (j % 2) ? 1 : -1;            /* W1 row 0 */
    for (j = 0; j < HIDDEN; j++) p[at + HIDDEN + j] = 1;                  /* W1 row 1 */
    at += 2 * HIDDEN;
    for (j = 0; j < HIDDEN; j++) p[at++] = 0;               /* b1 */
    for (j = 0; j < HIDDEN; j++) p[at++] = 1.0 / 64;        /* W2 (64 x 1) */
    p[at++] = 0.5;                                          /* b2 */
    for (i = 0; i < N; i++) pf[i] = (float)p[i];
    for (i = 0; i < ROWS; i++) { x[i] = xf[i] = 10; y[i] = yf[i] = 1; }
    CHECK_STATUS(f32 ? smlp_set_params(model, SMLP_FLOAT32, pf, N) : smlp_set_params(model, SMLP_FLOAT64, p, N),
                 SMLP_OK, "%s: set params", dt);
    CHECK_STATUS(smlp_predict(model, dtype, f32 ? (void *)xf : (void *)x, ROWS, 1,
                              f32 ? (void *)outf : (void *)out, 1), SMLP_OK, "%s: predict", dt);
    for (i = 0; i < ROWS; i++) exact &= (f32 ? outf[i] : out[i]) == 0.5;
    CHECK(exact, "%s: predict gives exactly b2 = 0.5 (relu of every NaN and -inf unit is 0), row 0: %g",
          dt, f32 ? outf[0] : out[0]);
    for (threads = 1; threads <= 2; threads++) {
        smlp_dataset batch = {dtype, ROWS, 1, f32 ? (void *)xf : (void *)x, 1, f32 ? (void *)yf : (void *)y, NULL};
        double loss;
        int nan_units = 1, minus_inf_units = 1, zeros = 1;
        CHECK_STATUS(smlp_set_num_threads(threads), SMLP_OK, "%s: %d BLAS threads", dt, threads);
        CHECK_STATUS(smlp_gradients(model, &batch, &loss, NULL, 0), SMLP_ERR_NON_FINITE,
                     "%s %dT: gradients (dW1 = A0^T dZ1 is not finite)", dt, threads);
        CHECK_STATUS(smlp_get_layer_cache(model, 1, SMLP_CACHE_Z, dtype, f32 ? (void *)zf : (void *)z,
                                          ROWS, HIDDEN), SMLP_OK, "%s %dT: Z", dt, threads);
        CHECK_STATUS(smlp_get_layer_cache(model, 1, SMLP_CACHE_A, dtype, f32 ? (void *)af : (void *)a[threads - 1],
                                          ROWS, HIDDEN), SMLP_OK, "%s %dT: A", dt, threads);
        if (f32)
            for (i = 0; i < ROWS * HIDDEN; i++) { z[i] = zf[i]; a[threads - 1][i] = af[i]; }
        for (i = 0; i < ROWS * HIDDEN; i++) {
            if (i % 2) nan_units &= isnan(z[i]) != 0;
            else minus_inf_units &= isinf(z[i]) && z[i] < 0;
            zeros &= a[threads - 1][i] == 0 && !signbit(a[threads - 1][i]);
        }
        CHECK(nan_units, "%s %dT: the odd units' Z is NaN", dt, threads);
        CHECK(minus_inf_units, "%s %dT: the even units' Z is -inf", dt, threads);
        CHECK(zeros, "%s %dT: relu of every NaN and -inf pre-activation is +0", dt, threads);
    }
    smlp_set_num_threads(saved_threads);
    smlp_free(model);
}

static void test_bad_inputs(void) {
    const struct net *net = &nets[0];
    smlp_model *model = create(net, SMLP_FLOAT64);
    double x[4 * 3] = {0}, out[4 * 2];
    float xf[4 * 3] = {0}, outf[4 * 2];
    size_t i;
    int untouched = 1;
    if (!CHECK(model != NULL, "create for bad inputs")) return;
    for (i = 0; i < 8; i++) out[i] = 1234.5;
    CHECK_STATUS(smlp_predict(NULL, SMLP_FLOAT64, x, 4, 3, out, 2), SMLP_ERR_NULL_ARGUMENT, "NULL model");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, NULL, 4, 3, out, 2), SMLP_ERR_NULL_ARGUMENT, "NULL x");
    CHECK(strstr(smlp_last_error(), "smlp_predict") != NULL, "the message names smlp_predict");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 4, 3, NULL, 2), SMLP_ERR_NULL_ARGUMENT, "NULL out");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT32, xf, 4, 3, outf, 2), SMLP_ERR_DTYPE_MISMATCH,
                 "float32 data on a float64 model");
    CHECK_STATUS(smlp_predict(model, (smlp_dtype)99, x, 4, 3, out, 2), SMLP_ERR_DTYPE_MISMATCH, "dtype 99");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 4, 2, out, 2), SMLP_ERR_SHAPE_MISMATCH, "n_inputs 2 of 3");
    CHECK(strstr(smlp_last_error(), "n_inputs") != NULL, "the message names n_inputs: \"%s\"", smlp_last_error());
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 3, 4, out, 2), SMLP_ERR_SHAPE_MISMATCH, "n_inputs 4 of 3");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 4, 3, out, 1), SMLP_ERR_SHAPE_MISMATCH, "n_outputs 1 of 2");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 2, 3, out, 3), SMLP_ERR_SHAPE_MISMATCH, "n_outputs 3 of 2");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 0, 3, out, 2), SMLP_ERR_SHAPE_MISMATCH, "n_rows 0");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, SIZE_MAX / 2, 3, out, 2), SMLP_ERR_SHAPE_MISMATCH,
                 "n_rows SIZE_MAX/2 (rows x inputs overflows)");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, SIZE_MAX, 3, out, 2), SMLP_ERR_SHAPE_MISMATCH, "n_rows SIZE_MAX");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 4, SIZE_MAX, out, 2), SMLP_ERR_SHAPE_MISMATCH,
                 "n_inputs SIZE_MAX");
    /* A NaN or infinity in x: NON_FINITE naming row and column, out not written. */
    x[2 * 3 + 1] = NAN;
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 4, 3, out, 2), SMLP_ERR_NON_FINITE, "NaN at row 2, column 1");
    CHECK(strstr(smlp_last_error(), "row 2") != NULL && strstr(smlp_last_error(), "column 1") != NULL,
          "the message names row 2 and column 1: \"%s\"", smlp_last_error());
    x[2 * 3 + 1] = 0;
    x[3 * 3 + 2] = -INFINITY;
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 4, 3, out, 2), SMLP_ERR_NON_FINITE, "-Inf at row 3, column 2");
    x[3 * 3 + 2] = 0;
    xf[0] = INFINITY;
    {
        smlp_model *f = create(net, SMLP_FLOAT32);
        CHECK_STATUS(smlp_predict(f, SMLP_FLOAT32, xf, 4, 3, outf, 2), SMLP_ERR_NON_FINITE, "float32: +Inf in x");
        smlp_free(f);
    }
    for (i = 0; i < 8; i++) if (out[i] != 1234.5) untouched = 0;
    CHECK(untouched, "failed predictions wrote nothing to out");
    {
        smlp_model *f = create(net, SMLP_FLOAT32);
        CHECK_STATUS(smlp_predict(f, SMLP_FLOAT64, x, 4, 3, out, 2), SMLP_ERR_DTYPE_MISMATCH,
                     "float64 data on a float32 model");
        smlp_free(f);
    }
    smlp_free(model);
}

int main(void) {
    size_t i;
    for (i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        test_forward(&nets[i], SMLP_FLOAT64);
        test_forward(&nets[i], SMLP_FLOAT32);
    }
    test_batch_sizes();
    test_softmax_bits_any_batch(SMLP_FLOAT32);
    test_softmax_bits_any_batch(SMLP_FLOAT64);
    test_relu_of_nan(SMLP_FLOAT32);
    test_relu_of_nan(SMLP_FLOAT64);
    test_bad_inputs();
    return check_summary();
}
