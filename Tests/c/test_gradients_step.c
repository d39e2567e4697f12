/*
 * test_gradients_step.c - smlp_gradients against central finite differences of its
 * own loss, for MSE, binary and softmax cross-entropy, mean and sum reduction, dense
 * one-hot targets and integer labels; smlp_step with plain SGD is p - lr*g exactly
 * and a batch of one is the online update; every failing call (bad labels, bad
 * targets, NaN data, bad shapes, bad optimizer settings) returns its documented
 * status and changes nothing - not the parameters, not the optimizer state; plain
 * SGD steps taken in place equal steps forced out of place, bit for bit, and are
 * refused the same way.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

enum { ROWS = 5, N_IN = 3, N_HID = 4, N_OUT = 2, N_PARAMS = 3 * 4 + 4 + 4 * 2 + 2 };

static const size_t sizes[3] = {N_IN, N_HID, N_OUT};

struct problem {
    const char *name;
    smlp_activation activations[2];
    smlp_loss loss;
};

static const struct problem problems[3] = {
    {"MSE, tanh/sigmoid", {SMLP_TANH, SMLP_SIGMOID}, SMLP_MSE},
    {"BCE, tanh/sigmoid", {SMLP_TANH, SMLP_SIGMOID}, SMLP_BINARY_CROSS_ENTROPY},
    {"softmax CE, tanh/softmax", {SMLP_TANH, SMLP_SOFTMAX}, SMLP_SOFTMAX_CROSS_ENTROPY},
};

/* The data every test uses: x in (-1, 1), labels, and y = one-hot(labels) for the
 * softmax problem, soft targets in (0, 1) otherwise. */
static double x[ROWS * N_IN], y_soft[ROWS * N_OUT], y_onehot[ROWS * N_OUT];
static const int32_t labels[ROWS] = {0, 1, 1, 0, 1};
static double start[N_PARAMS];

static void make_data(void) {
    size_t i;
    fill_uniform(x, ROWS * N_IN, 31, -1, 1);
    fill_uniform(y_soft, ROWS * N_OUT, 32, 0.05, 0.95);
    for (i = 0; i < ROWS; i++) {
        y_onehot[i * N_OUT + 0] = labels[i] == 0;
        y_onehot[i * N_OUT + 1] = labels[i] == 1;
    }
    fill_uniform(start, N_PARAMS, 33, -1, 1);
}

static smlp_dataset dense(const struct problem *p, size_t rows, const double *xs, const double *ys) {
    smlp_dataset d;
    d.dtype = SMLP_FLOAT64;
    d.n_rows = rows;
    d.n_inputs = N_IN;
    d.x = xs;
    d.n_outputs = N_OUT;
    d.y = ys != NULL ? ys : (p->loss == SMLP_SOFTMAX_CROSS_ENTROPY ? y_onehot : y_soft);
    d.labels = NULL;
    return d;
}

static smlp_model *problem_model(const struct problem *p, smlp_reduction reduction) {
    smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, p->activations, p->loss, reduction, 9);
    if (model != NULL && smlp_set_params(model, SMLP_FLOAT64, start, N_PARAMS) != SMLP_OK) {
        smlp_free(model);
        return NULL;
    }
    return model;
}

/* ---- Finite differences ------------------------------------------------------------ */

static double loss_at(smlp_model *model, const smlp_dataset *batch, const double *params) {
    double loss = NAN;
    if (smlp_set_params(model, SMLP_FLOAT64, params, N_PARAMS) != SMLP_OK) return NAN;
    if (smlp_gradients(model, batch, &loss, NULL, 0) != SMLP_OK) return NAN;
    return loss;
}

static void test_finite_differences(const struct problem *p, smlp_reduction reduction) {
    const char *red = reduction == SMLP_REDUCTION_MEAN ? "mean" : "sum";
    const double h = 1e-6;
    smlp_model *model = problem_model(p, reduction);
    smlp_dataset batch = dense(p, ROWS, x, NULL);
    double grad[N_PARAMS], probe[N_PARAMS], loss = NAN, worst = 0;
    size_t i, worst_index = 0;
    if (!CHECK(model != NULL, "%s, %s: create", p->name, red)) return;
    CHECK_STATUS(smlp_gradients(model, &batch, &loss, grad, N_PARAMS), SMLP_OK, "%s, %s: gradients", p->name, red);
    CHECK(isfinite(loss) && loss > 0, "%s, %s: loss %g is finite and positive", p->name, red, loss);
    CHECK(params_equal(model, start), "%s, %s: smlp_gradients changed no parameter", p->name, red);
    for (i = 0; i < N_PARAMS; i++) {
        double plus, minus, fd, err;
        memcpy(probe, start, sizeof probe);
        probe[i] += h;
        plus = loss_at(model, &batch, probe);
        probe[i] = start[i] - h;
        minus = loss_at(model, &batch, probe);
        fd = (plus - minus) / (2 * h);
        /* Relative error, with a floor of 1e-2 on the scale so that a near-zero
         * gradient is judged on an absolute 1e-8 (the differences of losses near 1
         * at step 1e-6 carry ~1e-9 of rounding noise). */
        err = fabs(grad[i] - fd) / fmax(fmax(fabs(grad[i]), fabs(fd)), 1e-2);
        if (!(err <= worst)) {
            worst = err;
            worst_index = i;
        }
    }
    CHECK(worst < 1e-6, "%s, %s: gradient matches central differences: worst relative error %.3g at %zu",
          p->name, red, worst, worst_index);
    smlp_free(model);
}

/* ---- Reductions, labels, per-sample sums ------------------------------------------- */

static int gradients_of(smlp_model *model, const smlp_dataset *batch, double *loss, double *grad) {
    return smlp_gradients(model, batch, loss, grad, N_PARAMS) == SMLP_OK;
}

static void test_sum_is_n_times_mean(const struct problem *p) {
    smlp_model *mean = problem_model(p, SMLP_REDUCTION_MEAN), *sum = problem_model(p, SMLP_REDUCTION_SUM);
    smlp_dataset batch = dense(p, ROWS, x, NULL);
    double gm[N_PARAMS], gs[N_PARAMS], lm = NAN, ls = NAN, worst = 0;
    size_t i;
    if (!CHECK(mean && sum, "%s: create mean and sum models", p->name)) return;
    CHECK(gradients_of(mean, &batch, &lm, gm) && gradients_of(sum, &batch, &ls, gs), "%s: both gradients", p->name);
    CHECK_CLOSE(ls, ROWS * lm, 1e-14, "%s: sum loss = n * mean loss", p->name);
    for (i = 0; i < N_PARAMS; i++) worst = fmax(worst, fabs(gs[i] - ROWS * gm[i]) / fmax(1, fabs(gs[i])));
    CHECK(worst < 1e-14, "%s: sum gradient = n * mean gradient (worst %.3g)", p->name, worst);
    smlp_free(mean);
    smlp_free(sum);
}

/* Sum reduction: the gradient of a batch is the sum of the gradients of its rows -
 * in particular each bias gradient is the column sum of dZ over the batch. */
static void test_batch_is_sum_of_samples(const struct problem *p) {
    smlp_model *model = problem_model(p, SMLP_REDUCTION_SUM);
    smlp_dataset batch = dense(p, ROWS, x, NULL);
    double g[N_PARAMS], one[N_PARAMS], total[N_PARAMS] = {0}, loss = 0, one_loss = 0, loss_total = 0, worst = 0;
    size_t r, i, l;
    if (!CHECK(model != NULL, "%s: create", p->name)) return;
    CHECK(gradients_of(model, &batch, &loss, g), "%s: batch gradient", p->name);
    for (r = 0; r < ROWS; r++) {
        smlp_dataset single = dense(p, 1, x + r * N_IN, (const double *)batch.y + r * N_OUT);
        CHECK(gradients_of(model, &single, &one_loss, one), "%s: gradient of row %zu", p->name, r);
        for (i = 0; i < N_PARAMS; i++) total[i] += one[i];
        loss_total += one_loss;
    }
    CHECK_CLOSE(loss, loss_total, 1e-14, "%s: batch loss = sum of per-row losses", p->name);
    for (l = 0; l < 2; l++) {
        smlp_layer_info info;
        smlp_layer_info_get(model, l, &info);
        worst = 0;
        for (i = info.bias_offset; i < info.bias_offset + info.n_outputs; i++) {
            worst = fmax(worst, fabs(g[i] - total[i]) / fmax(1, fabs(g[i])));
        }
        CHECK(worst < 1e-14, "%s: layer %zu bias gradient = sum of per-sample bias gradients (worst %.3g)",
              p->name, l, worst);
        worst = 0;
        for (i = info.weight_offset; i < info.bias_offset; i++) {
            worst = fmax(worst, fabs(g[i] - total[i]) / fmax(1, fabs(g[i])));
        }
        CHECK(worst < 1e-14, "%s: layer %zu weight gradient = sum of per-sample ones (worst %.3g)", p->name, l,
              worst);
    }
    smlp_free(model);
}

static void test_labels_equal_one_hot(smlp_reduction reduction) {
    const struct problem *p = &problems[2];
    smlp_model *model = problem_model(p, reduction);
    smlp_dataset one_hot = dense(p, ROWS, x, y_onehot), by_label = one_hot;
    double g1[N_PARAMS], g2[N_PARAMS], l1 = NAN, l2 = NAN, worst = 0;
    size_t i;
    if (!CHECK(model != NULL, "labels: create")) return;
    by_label.y = NULL;
    by_label.labels = labels;
    CHECK(gradients_of(model, &one_hot, &l1, g1), "labels: one-hot gradient");
    CHECK(gradients_of(model, &by_label, &l2, g2), "labels: label gradient");
    CHECK_CLOSE(l1, l2, 1e-15, "softmax CE (%s): one-hot and label losses agree",
                reduction == SMLP_REDUCTION_MEAN ? "mean" : "sum");
    for (i = 0; i < N_PARAMS; i++) worst = fmax(worst, fabs(g1[i] - g2[i]));
    CHECK(worst < 1e-15, "softmax CE (%s): one-hot and label gradients agree (worst %.3g)",
          reduction == SMLP_REDUCTION_MEAN ? "mean" : "sum", worst);
    smlp_free(model);
}

/* ---- smlp_step ----------------------------------------------------------------------- */

/* Plain SGD: p_new = p - lr*g, bit for bit, with g from smlp_gradients. The default
 * optimizer is plain SGD with lr 0.01. */
static void test_sgd_step_exact(void) {
    const struct problem *p = &problems[0];
    smlp_model *model = problem_model(p, SMLP_REDUCTION_MEAN);
    smlp_dataset batch = dense(p, ROWS, x, NULL);
    smlp_optimizer_config sgd;
    double g[N_PARAMS], before[N_PARAMS], expected[N_PARAMS], loss_g = NAN, loss_s = NAN;
    size_t i;
    int round;
    if (!CHECK(model != NULL, "sgd: create")) return;
    for (round = 0; round < 2; round++) {
        double lr = round == 0 ? 0.01 : 0.3;
        if (round == 1) {
            smlp_optimizer_config_init(&sgd, SMLP_SGD);
            sgd.learning_rate = lr;
            CHECK_STATUS(smlp_set_optimizer(model, &sgd), SMLP_OK, "plain SGD, lr 0.3");
        }
        smlp_get_params(model, SMLP_FLOAT64, before, N_PARAMS);
        CHECK(gradients_of(model, &batch, &loss_g, g), "sgd: gradient before the step");
        CHECK_STATUS(smlp_step(model, &batch, &loss_s), SMLP_OK, "sgd: step (lr %g)", lr);
        CHECK(loss_s == loss_g, "sgd: step reports the loss before the update (%.17g vs %.17g)", loss_s, loss_g);
        for (i = 0; i < N_PARAMS; i++) expected[i] = before[i] - lr * g[i];
        CHECK(params_equal(model, expected), "sgd: params after the step are exactly p - %g*g%s", lr,
              round == 0 ? " (the default optimizer)" : "");
    }
    smlp_free(model);
}

static void test_sgd_step_exact_f32(void) {
    const struct problem *p = &problems[1];
    smlp_model *model = make_model(SMLP_FLOAT32, 3, sizes, p->activations, p->loss, SMLP_REDUCTION_MEAN, 4);
    float xf[ROWS * N_IN], yf[ROWS * N_OUT], g[N_PARAMS], before[N_PARAMS], expected[N_PARAMS];
    const smlp_dataset batch = {SMLP_FLOAT32, ROWS, N_IN, xf, N_OUT, yf, NULL};
    smlp_optimizer_config sgd;
    const float lr = 0.25f;
    size_t i;
    if (!CHECK(model != NULL, "sgd f32: create")) return;
    for (i = 0; i < ROWS * N_IN; i++) xf[i] = (float)x[i];
    for (i = 0; i < ROWS * N_OUT; i++) yf[i] = (float)y_soft[i];
    smlp_optimizer_config_init(&sgd, SMLP_SGD);
    sgd.learning_rate = lr;
    CHECK_STATUS(smlp_set_optimizer(model, &sgd), SMLP_OK, "sgd f32: set");
    smlp_get_params(model, SMLP_FLOAT32, before, N_PARAMS);
    CHECK_STATUS(smlp_gradients(model, &batch, NULL, g, N_PARAMS), SMLP_OK, "sgd f32: gradients");
    CHECK_STATUS(smlp_step(model, &batch, NULL), SMLP_OK, "sgd f32: step");
    for (i = 0; i < N_PARAMS; i++) expected[i] = before[i] - lr * g[i];
    CHECK(params_equal(model, expected), "sgd f32: params after the step are exactly p - lr*g in float");
    smlp_free(model);
}

/* A batch of one, MSE, tanh hidden and identity output: the classic online update
 *   dz2 = a2 - y,  dz1 = (W2 dz2) * (1 - h^2),  b -= lr*dz,  W -= lr * input^T dz. */
static void test_online_update(void) {
    const smlp_activation acts[2] = {SMLP_TANH, SMLP_IDENTITY};
    smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 5);
    const double *w1 = start, *b1 = start + 12, *w2 = start + 16, *b2 = start + 24;
    const double lr = 0.1, *xi = x, *yi = y_soft;
    const smlp_dataset one = {SMLP_FLOAT64, 1, N_IN, x, N_OUT, y_soft, NULL};
    double h[N_HID], dz1[N_HID], dz2[N_OUT], expected[N_PARAMS], after[N_PARAMS], worst_b = 0, worst_w = 0;
    smlp_optimizer_config sgd;
    size_t i, j;
    if (!CHECK(model != NULL, "online: create")) return;
    smlp_set_params(model, SMLP_FLOAT64, start, N_PARAMS);
    smlp_optimizer_config_init(&sgd, SMLP_SGD);
    sgd.learning_rate = lr;
    smlp_set_optimizer(model, &sgd);
    for (j = 0; j < N_HID; j++) {
        double z = b1[j];
        for (i = 0; i < N_IN; i++) z += xi[i] * w1[i * N_HID + j];
        h[j] = tanh(z);
    }
    for (j = 0; j < N_OUT; j++) {
        double z = b2[j];
        for (i = 0; i < N_HID; i++) z += h[i] * w2[i * N_OUT + j];
        dz2[j] = z - yi[j];
    }
    for (i = 0; i < N_HID; i++) {
        double back = 0;
        for (j = 0; j < N_OUT; j++) back += w2[i * N_OUT + j] * dz2[j];
        dz1[i] = back * (1 - h[i] * h[i]);
    }
    memcpy(expected, start, sizeof expected);
    for (j = 0; j < N_HID; j++) expected[12 + j] -= lr * dz1[j];
    for (j = 0; j < N_OUT; j++) expected[24 + j] -= lr * dz2[j];
    for (i = 0; i < N_IN; i++) for (j = 0; j < N_HID; j++) expected[i * N_HID + j] -= lr * xi[i] * dz1[j];
    for (i = 0; i < N_HID; i++) for (j = 0; j < N_OUT; j++) expected[16 + i * N_OUT + j] -= lr * h[i] * dz2[j];
    CHECK_STATUS(smlp_step(model, &one, NULL), SMLP_OK, "online: step on one row");
    smlp_get_params(model, SMLP_FLOAT64, after, N_PARAMS);
    for (i = 0; i < N_PARAMS; i++) {
        int is_bias = (i >= 12 && i < 16) || i >= 24;
        double err = fabs(after[i] - expected[i]);
        if (is_bias) worst_b = fmax(worst_b, err); else worst_w = fmax(worst_w, err);
    }
    CHECK(worst_b < 1e-14, "online: biases follow b -= lr*dz (worst %.3g)", worst_b);
    CHECK(worst_w < 1e-14, "online: weights follow W -= lr*input^T dz (worst %.3g)", worst_w);
    smlp_free(model);
}

/* ---- Failures change nothing ----------------------------------------------------------- */

struct bad_batch {
    const char *what;
    smlp_dataset batch;
    smlp_status expected;
};

static double x_nan[ROWS * N_IN], x_inf[ROWS * N_IN], y_nan[ROWS * N_OUT];
static const int32_t labels_high[ROWS] = {0, 1, 2, 0, 1}, labels_negative[ROWS] = {0, -1, 1, 0, 1};
static float xf[ROWS * N_IN], yf[ROWS * N_OUT];

/* Appends one bad batch, a copy of base, and returns it for the one change that
 * makes it bad. */
static smlp_dataset *add_bad(struct bad_batch *out, size_t *n, const char *what, smlp_status expected,
                             smlp_dataset base) {
    out[*n].what = what;
    out[*n].batch = base;
    out[*n].expected = expected;
    return &out[(*n)++].batch;
}

/* Every way a batch can be wrong, each alone, on the softmax cross-entropy model. */
static size_t bad_batches(struct bad_batch *out) {
    const struct problem *p = &problems[2];
    smlp_dataset good = dense(p, ROWS, x, y_onehot), by_label = good, *d;
    size_t n = 0;
    by_label.y = NULL;
    by_label.labels = labels;
    memcpy(x_nan, x, sizeof x_nan);
    x_nan[7] = NAN;
    memcpy(x_inf, x, sizeof x_inf);
    x_inf[2] = -INFINITY;
    memcpy(y_nan, y_onehot, sizeof y_nan);
    y_nan[9] = NAN;
    add_bad(out, &n, "label 2 of 2 classes", SMLP_ERR_INVALID_ARGUMENT, by_label)->labels = labels_high;
    add_bad(out, &n, "label -1", SMLP_ERR_INVALID_ARGUMENT, by_label)->labels = labels_negative;
    add_bad(out, &n, "both y and labels", SMLP_ERR_INVALID_ARGUMENT, good)->labels = labels;
    add_bad(out, &n, "neither y nor labels", SMLP_ERR_INVALID_ARGUMENT, good)->y = NULL;
    add_bad(out, &n, "NaN in x", SMLP_ERR_NON_FINITE, good)->x = x_nan;
    add_bad(out, &n, "-Inf in x", SMLP_ERR_NON_FINITE, good)->x = x_inf;
    add_bad(out, &n, "NaN in x, labels", SMLP_ERR_NON_FINITE, by_label)->x = x_nan;
    add_bad(out, &n, "NaN in y", SMLP_ERR_NON_FINITE, good)->y = y_nan;
    add_bad(out, &n, "n_inputs 2 of 3", SMLP_ERR_SHAPE_MISMATCH, good)->n_inputs = 2;
    add_bad(out, &n, "n_outputs 3 of 2", SMLP_ERR_SHAPE_MISMATCH, good)->n_outputs = 3;
    add_bad(out, &n, "n_rows 0", SMLP_ERR_SHAPE_MISMATCH, good)->n_rows = 0;
    d = add_bad(out, &n, "float32 data", SMLP_ERR_DTYPE_MISMATCH, good);
    d->dtype = SMLP_FLOAT32;
    d->x = xf;
    d->y = yf;
    add_bad(out, &n, "dtype 99", SMLP_ERR_DTYPE_MISMATCH, good)->dtype = (smlp_dtype)99;
    add_bad(out, &n, "NULL x", SMLP_ERR_NULL_ARGUMENT, good)->x = NULL;
    return n;
}

static void test_failures_change_nothing(void) {
    const struct problem *p = &problems[2];
    struct bad_batch bad[16];
    size_t n_bad = bad_batches(bad), i;
    smlp_model *model = problem_model(p, SMLP_REDUCTION_MEAN);
    smlp_dataset good = dense(p, ROWS, x, y_onehot);
    double grad[N_PARAMS + 1], loss = 12345;
    if (!CHECK(model != NULL, "failures: create")) return;
    for (i = 0; i < n_bad; i++) {
        CHECK_STATUS(smlp_gradients(model, &bad[i].batch, &loss, grad, N_PARAMS), bad[i].expected,
                     "smlp_gradients with %s", bad[i].what);
        CHECK(strstr(smlp_last_error(), "smlp_gradients") != NULL, "message names smlp_gradients (%s)",
              bad[i].what);
        CHECK(params_equal(model, start), "params unchanged after smlp_gradients with %s", bad[i].what);
        CHECK_STATUS(smlp_step(model, &bad[i].batch, &loss), bad[i].expected, "smlp_step with %s", bad[i].what);
        CHECK(strstr(smlp_last_error(), "smlp_step") != NULL, "message names smlp_step (%s)", bad[i].what);
        CHECK(params_equal(model, start), "params unchanged after smlp_step with %s", bad[i].what);
    }
    CHECK(loss == 12345, "no failing call wrote *out_loss");
    /* Arguments of smlp_gradients itself. */
    CHECK_STATUS(smlp_gradients(NULL, &good, &loss, grad, N_PARAMS), SMLP_ERR_NULL_ARGUMENT, "gradients: NULL model");
    CHECK_STATUS(smlp_gradients(model, NULL, &loss, grad, N_PARAMS), SMLP_ERR_NULL_ARGUMENT, "gradients: NULL batch");
    CHECK_STATUS(smlp_gradients(model, &good, &loss, NULL, N_PARAMS), SMLP_ERR_NULL_ARGUMENT,
                 "gradients: NULL grad with count %d", N_PARAMS);
    CHECK_STATUS(smlp_gradients(model, &good, &loss, grad, N_PARAMS - 1), SMLP_ERR_SHAPE_MISMATCH,
                 "gradients: count - 1");
    CHECK_STATUS(smlp_gradients(model, &good, &loss, grad, N_PARAMS + 1), SMLP_ERR_SHAPE_MISMATCH,
                 "gradients: count + 1");
    CHECK_STATUS(smlp_gradients(model, &good, NULL, NULL, 0), SMLP_OK, "gradients: loss only (grad NULL, count 0)");
    CHECK_STATUS(smlp_gradients(model, &good, NULL, grad, N_PARAMS), SMLP_OK, "gradients: out_loss NULL");
    CHECK_STATUS(smlp_step(NULL, &good, &loss), SMLP_ERR_NULL_ARGUMENT, "step: NULL model");
    CHECK_STATUS(smlp_step(model, NULL, &loss), SMLP_ERR_NULL_ARGUMENT, "step: NULL batch");
    CHECK(params_equal(model, start), "params unchanged after the argument checks");
    smlp_free(model);

    /* Labels on a model that is not softmax cross-entropy. */
    model = problem_model(&problems[0], SMLP_REDUCTION_MEAN);
    {
        smlp_dataset by_label = dense(&problems[0], ROWS, x, NULL);
        by_label.y = NULL;
        by_label.labels = labels;
        CHECK_STATUS(smlp_step(model, &by_label, NULL), SMLP_ERR_INVALID_ARGUMENT, "labels with MSE");
        CHECK(params_equal(model, start), "params unchanged after labels with MSE");
    }
    smlp_free(model);

    /* NaN input behind a relu: relu(NaN) is 0, so only the gradient shows it. */
    {
        const smlp_activation relu[2] = {SMLP_RELU, SMLP_IDENTITY};
        smlp_model *r = make_model(SMLP_FLOAT64, 3, sizes, relu, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
        smlp_dataset nan_x = dense(&problems[0], ROWS, x_nan, y_soft);
        void *snap = params_snapshot(r);
        CHECK_STATUS(smlp_step(r, &nan_x, NULL), SMLP_ERR_NON_FINITE, "relu network: NaN in x");
        CHECK(params_equal(r, snap), "relu network: params unchanged after NaN in x");
        free(snap);
        smlp_free(r);
    }
    /* A diverged model: finite data, infinite loss. */
    {
        const smlp_activation acts[2] = {SMLP_TANH, SMLP_IDENTITY};
        smlp_model *d = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
        double huge[N_PARAMS];
        smlp_dataset batch = dense(&problems[0], ROWS, x, y_soft);
        for (i = 0; i < N_PARAMS; i++) huge[i] = 1e300;
        smlp_set_params(d, SMLP_FLOAT64, huge, N_PARAMS);
        CHECK_STATUS(smlp_step(d, &batch, NULL), SMLP_ERR_NON_FINITE, "diverged model: infinite loss");
        CHECK(params_equal(d, huge), "diverged model: params unchanged");
        smlp_free(d);
    }
}

/* Plain SGD with its update fused into the backward pass (PlainSGDStep.swift), on a
 * network whose first layer's products go to BLAS: free steps equal steps taken after
 * smlp_set_params of the same values, bit for bit (a step's bits depend only on the
 * parameters and the batch); an update that would overflow and a NaN input behind a
 * relu are refused with the parameters unchanged and leave no trace. */
enum { BIG_ROWS = 24, BIG_IN = 30, BIG_HID = 40, BIG_OUT = 6 };

static void set_sgd(smlp_model *model, double lr) {
    smlp_optimizer_config sgd;
    smlp_optimizer_config_init(&sgd, SMLP_SGD);
    sgd.learning_rate = lr;
    CHECK_STATUS(smlp_set_optimizer(model, &sgd), SMLP_OK, "fused SGD: set lr %g", lr);
}

static void test_fused_sgd(smlp_dtype dtype) {
    static const size_t big_sizes[3] = {BIG_IN, BIG_HID, BIG_OUT};
    static const smlp_activation relu[2] = {SMLP_RELU, SMLP_IDENTITY};
    static double xd[BIG_ROWS * BIG_IN], yd[BIG_ROWS * BIG_OUT], far[BIG_ROWS * BIG_OUT];
    static float xs[BIG_ROWS * BIG_IN], ys[BIG_ROWS * BIG_OUT], fars[BIG_ROWS * BIG_OUT];
    const char *name = dtype == SMLP_FLOAT32 ? "float32" : "float64";
    const int f32 = dtype == SMLP_FLOAT32;
    smlp_model *free_steps = make_model(dtype, 3, big_sizes, relu, SMLP_MSE, SMLP_REDUCTION_SUM, 8);
    smlp_model *forced = make_model(dtype, 3, big_sizes, relu, SMLP_MSE, SMLP_REDUCTION_SUM, 8);
    smlp_dataset good, overflowing;
    size_t i, n_params;
    int step, all_equal = 1;
    double saved;
    float saved_f;
    void *params, *snap;
    if (!CHECK(free_steps && forced, "fused SGD %s: create", name)) return;
    fill_uniform(xd, BIG_ROWS * BIG_IN, 41, -1, 1);
    fill_uniform(yd, BIG_ROWS * BIG_OUT, 42, 0, 1);
    for (i = 0; i < BIG_ROWS * BIG_OUT; i++) far[i] = yd[i] + 1000;
    for (i = 0; i < BIG_ROWS * BIG_IN; i++) xs[i] = (float)xd[i];
    for (i = 0; i < BIG_ROWS * BIG_OUT; i++) {
        ys[i] = (float)yd[i];
        fars[i] = (float)far[i];
    }
    good = dense_set(dtype, BIG_ROWS, BIG_IN, f32 ? (const void *)xs : xd, BIG_OUT, f32 ? (const void *)ys : yd);
    overflowing = good;
    overflowing.y = f32 ? (const void *)fars : far;
    set_sgd(free_steps, 0.01);
    set_sgd(forced, 0.01);
    n_params = smlp_param_count(forced);
    for (step = 0; step < 6; step++) {
        params = params_snapshot(forced);
        CHECK_STATUS(smlp_set_params(forced, dtype, params, n_params), SMLP_OK, "fused SGD %s: set params", name);
        free(params);
        CHECK_STATUS(smlp_step(free_steps, &good, NULL), SMLP_OK, "fused SGD %s: step %d", name, step);
        CHECK_STATUS(smlp_step(forced, &good, NULL), SMLP_OK, "fused SGD %s: forced step %d", name, step);
        all_equal = all_equal && models_equal(free_steps, forced);
    }
    CHECK(all_equal, "fused SGD %s: 6 steps equal 6 steps after set_params, bit for bit", name);

    snap = params_snapshot(free_steps);
    set_sgd(free_steps, f32 ? 3.4e38 / 4 : 1.79e308 / 4);
    CHECK_STATUS(smlp_step(free_steps, &overflowing, NULL), SMLP_ERR_NON_FINITE,
                 "fused SGD %s: an update that overflows", name);
    CHECK(params_equal(free_steps, snap), "fused SGD %s: params unchanged after the overflow", name);
    set_sgd(free_steps, 0.01);
    set_sgd(forced, 0.01);
    saved = xd[7];
    saved_f = xs[7];
    if (f32) xs[7] = NAN; else xd[7] = NAN;
    CHECK_STATUS(smlp_step(free_steps, &good, NULL), SMLP_ERR_NON_FINITE, "fused SGD %s: NaN behind a relu", name);
    CHECK(strstr(smlp_last_error(), "input row 0 column 7") != NULL, "fused SGD %s: message names the NaN: %s",
          name, smlp_last_error());
    CHECK(params_equal(free_steps, snap), "fused SGD %s: params unchanged after the NaN", name);
    xd[7] = saved;
    xs[7] = saved_f;
    for (step = 0; step < 2; step++) {
        CHECK_STATUS(smlp_step(free_steps, &good, NULL), SMLP_OK, "fused SGD %s: step after refusals", name);
        CHECK_STATUS(smlp_step(forced, &good, NULL), SMLP_OK, "fused SGD %s: twin step", name);
    }
    CHECK(models_equal(free_steps, forced), "fused SGD %s: the refused steps left no trace", name);
    free(snap);
    smlp_free(free_steps);
    smlp_free(forced);
}

/* A failing step must not advance the optimizer: step, every failing step, step on
 * one model equals step, step on its twin, bit for bit - for SGD with momentum and
 * for Adam (whose bias correction counts steps). */
static void test_failures_keep_optimizer_state(smlp_optimizer kind) {
    const struct problem *p = &problems[2];
    struct bad_batch bad[16];
    size_t n_bad = bad_batches(bad), i;
    smlp_model *a = problem_model(p, SMLP_REDUCTION_MEAN), *b = problem_model(p, SMLP_REDUCTION_MEAN);
    smlp_dataset good = dense(p, ROWS, x, y_onehot);
    smlp_optimizer_config opt;
    const char *name = kind == SMLP_SGD ? "SGD momentum" : "Adam";
    double grad[N_PARAMS];
    if (!CHECK(a && b, "%s twins: create", name)) return;
    smlp_optimizer_config_init(&opt, kind);
    opt.learning_rate = 0.1;
    if (kind == SMLP_SGD) opt.momentum = 0.9;
    CHECK(smlp_set_optimizer(a, &opt) == SMLP_OK && smlp_set_optimizer(b, &opt) == SMLP_OK, "%s: set", name);
    CHECK(smlp_step(a, &good, NULL) == SMLP_OK && smlp_step(b, &good, NULL) == SMLP_OK, "%s: first steps", name);
    for (i = 0; i < n_bad; i++) {
        smlp_step(a, &bad[i].batch, NULL);
        smlp_gradients(a, &bad[i].batch, NULL, grad, N_PARAMS);
    }
    /* A successful smlp_gradients does not touch the optimizer either. */
    CHECK_STATUS(smlp_gradients(a, &good, NULL, grad, N_PARAMS), SMLP_OK, "%s: gradients in between", name);
    CHECK(smlp_step(a, &good, NULL) == SMLP_OK && smlp_step(b, &good, NULL) == SMLP_OK, "%s: second steps", name);
    CHECK(models_equal(a, b), "%s: %zu failing steps and a gradient call in between changed nothing (bit-for-bit twin)",
          name, n_bad);
    smlp_free(a);
    smlp_free(b);
}

/* ---- Optimizer settings ------------------------------------------------------------------ */

static void test_optimizer_config_init(void) {
    smlp_optimizer_config c;
    smlp_optimizer_config_init(&c, SMLP_SGD);
    CHECK(c.struct_size == sizeof c && c.kind == SMLP_SGD && c.learning_rate == 0.01 && c.momentum == 0 &&
              c.nesterov == 0 && c.weight_decay == 0 && c.decay_biases == 0 && c.clip_norm == 0,
          "SGD defaults: lr 0.01, no momentum, no Nesterov, no decay, no clipping");
    smlp_optimizer_config_init(&c, SMLP_ADAM);
    CHECK(c.kind == SMLP_ADAM && c.learning_rate == 0.001 && c.beta1 == 0.9 && c.beta2 == 0.999 &&
              c.epsilon == 1e-8 && c.weight_decay == 0,
          "Adam defaults: lr 0.001, betas (0.9, 0.999), eps 1e-8");
    smlp_optimizer_config_init(&c, SMLP_ADAMW);
    CHECK(c.kind == SMLP_ADAMW && c.learning_rate == 0.001 && c.weight_decay == 0.01 && c.decay_biases == 0,
          "AdamW defaults: lr 0.001, weight decay 0.01, weights only");
    smlp_optimizer_config_init(&c, SMLP_RMSPROP);
    CHECK(c.kind == SMLP_RMSPROP && c.learning_rate == 0.01 && c.alpha == 0.99 && c.epsilon == 1e-8 &&
              c.momentum == 0,
          "RMSprop defaults: lr 0.01, alpha 0.99, eps 1e-8, momentum 0");
    smlp_optimizer_config_init(&c, (smlp_optimizer)99);
    CHECK(c.kind == (smlp_optimizer)99 && c.learning_rate == 0.01, "unknown kind: SGD defaults, kind kept");
    (smlp_optimizer_config_init)(NULL, SMLP_SGD);
    smlp_optimizer_config_init_sized(NULL, SMLP_SGD, sizeof(smlp_optimizer_config));
    CHECK(1, "smlp_optimizer_config_init(NULL) returns");
}

static void test_bad_optimizer_settings(void) {
    const struct problem *p = &problems[0];
    smlp_model *a = problem_model(p, SMLP_REDUCTION_MEAN), *b = problem_model(p, SMLP_REDUCTION_MEAN);
    smlp_dataset good = dense(p, ROWS, x, NULL);
    smlp_optimizer_config momentum, c;
    void *snap;
    if (!CHECK(a && b, "optimizer settings: create")) return;
    smlp_optimizer_config_init(&momentum, SMLP_SGD);
    momentum.learning_rate = 0.2;
    momentum.momentum = 0.9;
    CHECK(smlp_set_optimizer(a, &momentum) == SMLP_OK && smlp_set_optimizer(b, &momentum) == SMLP_OK,
          "SGD momentum on both twins");
    CHECK(smlp_step(a, &good, NULL) == SMLP_OK && smlp_step(b, &good, NULL) == SMLP_OK, "a first step on both");
    snap = params_snapshot(a);

#define BAD_OPT(kind_, field_assignment, what)                                                       \
    do {                                                                                             \
        smlp_optimizer_config_init(&c, kind_);                                                       \
        field_assignment;                                                                            \
        CHECK_STATUS(smlp_set_optimizer(a, &c), SMLP_ERR_INVALID_ARGUMENT, "set_optimizer: %s", what); \
        CHECK(strstr(smlp_last_error(), "smlp_set_optimizer") != NULL, "message names the function (%s)", what); \
    } while (0)
    BAD_OPT(SMLP_SGD, c.learning_rate = -0.1, "negative learning rate");
    BAD_OPT(SMLP_SGD, c.learning_rate = 0, "zero learning rate");
    BAD_OPT(SMLP_SGD, c.learning_rate = NAN, "NaN learning rate");
    BAD_OPT(SMLP_SGD, c.learning_rate = INFINITY, "infinite learning rate");
    BAD_OPT(SMLP_SGD, c.momentum = NAN, "NaN momentum");
    BAD_OPT(SMLP_SGD, c.momentum = 1.0, "momentum 1.0");
    BAD_OPT(SMLP_SGD, c.momentum = -0.5, "negative momentum");
    BAD_OPT(SMLP_SGD, c.nesterov = 1, "Nesterov without momentum");
    BAD_OPT(SMLP_SGD, c.struct_size = sizeof c - 8, "struct_size too small");
    BAD_OPT(SMLP_SGD, c.struct_size = 0, "struct_size 0");
    BAD_OPT(SMLP_SGD, c.kind = (smlp_optimizer)99, "kind 99");
    BAD_OPT((smlp_optimizer)99, (void)0, "kind 99 from smlp_optimizer_config_init");
    BAD_OPT(SMLP_ADAM, c.beta1 = 1.0, "beta1 1.0");
    BAD_OPT(SMLP_ADAM, c.beta2 = NAN, "NaN beta2");
    BAD_OPT(SMLP_ADAM, c.epsilon = 0, "epsilon 0");
    BAD_OPT(SMLP_RMSPROP, c.alpha = 1.0, "alpha 1.0");
    BAD_OPT(SMLP_ADAMW, c.weight_decay = -0.01, "negative weight decay");
    BAD_OPT(SMLP_SGD, c.clip_norm = -1, "negative clip_norm");
    BAD_OPT(SMLP_SGD, c.clip_norm = NAN, "NaN clip_norm");
#undef BAD_OPT
    CHECK_STATUS(smlp_set_optimizer(NULL, &momentum), SMLP_ERR_NULL_ARGUMENT, "set_optimizer: NULL model");
    CHECK_STATUS(smlp_set_optimizer(a, NULL), SMLP_ERR_NULL_ARGUMENT, "set_optimizer: NULL config");
    CHECK(params_equal(a, snap), "failing set_optimizer calls changed no parameter");
    CHECK(smlp_step(a, &good, NULL) == SMLP_OK && smlp_step(b, &good, NULL) == SMLP_OK, "a second step on both");
    CHECK(models_equal(a, b), "failing set_optimizer calls kept the optimizer and its momentum (twin, bit for bit)");
    free(snap);
    smlp_free(a);
    smlp_free(b);
}

int main(void) {
    size_t i;
    make_data();
    for (i = 0; i < 3; i++) {
        test_finite_differences(&problems[i], SMLP_REDUCTION_MEAN);
        test_finite_differences(&problems[i], SMLP_REDUCTION_SUM);
        test_sum_is_n_times_mean(&problems[i]);
        test_batch_is_sum_of_samples(&problems[i]);
    }
    test_labels_equal_one_hot(SMLP_REDUCTION_MEAN);
    test_labels_equal_one_hot(SMLP_REDUCTION_SUM);
    test_sgd_step_exact();
    test_sgd_step_exact_f32();
    test_online_update();
    test_failures_change_nothing();
    test_fused_sgd(SMLP_FLOAT64);
    test_fused_sgd(SMLP_FLOAT32);
    test_failures_keep_optimizer_state(SMLP_SGD);
    test_failures_keep_optimizer_state(SMLP_ADAM);
    test_optimizer_config_init();
    test_bad_optimizer_settings();
    return check_summary();
}
