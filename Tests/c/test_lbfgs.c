/*
 * test_lbfgs.c - smlp_train with SMLP_TRAIN_LBFGS, and the fields added to
 * smlp_train_options and smlp_train_details with it, through the C contract:
 *
 *   - defaults of the new fields; a struct_size from a program built against the
 *     header before L-BFGS is accepted (the new fields take their defaults) and any
 *     other size is refused;
 *   - a run to the gradient tolerance: the tolerance holds at the final parameters
 *     (recomputed with smlp_gradients), the train loss equals smlp_evaluate's, the
 *     objective falls every iteration, details count iterations and evaluations and
 *     name the reason; two runs are bit-identical; float32 reaches the same minimum;
 *   - weight decay is the documented L2 term: final_objective - final_train_loss is
 *     weight_decay/2 * ||W||^2 computed here from the parameters;
 *   - max_function_evals is met exactly, never exceeded; epochs caps the iterations
 *     and advances the model's epoch count; the callback stops the run;
 *   - validation with restore_best ends at the best iteration's parameters;
 *   - details honours its struct_size (a shorter struct is not written past);
 *   - all or nothing: bad options and a non-finite start leave the parameters and
 *     epoch as they were, and write neither the summary nor the details.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

enum { N_IN = 3, N_HID = 5, N_OUT = 2, ROWS = 23 };

static const size_t sizes[3] = {N_IN, N_HID, N_OUT};
static const smlp_activation acts[2] = {SMLP_TANH, SMLP_IDENTITY};
static double xs[ROWS * N_IN], ys[ROWS * N_OUT], vx[ROWS * N_IN], vy[ROWS * N_OUT];
static float xs_f[ROWS * N_IN], ys_f[ROWS * N_OUT];

static void make_data(void) {
    size_t i;
    fill_uniform(xs, ROWS * N_IN, 11, -1, 1);
    fill_uniform(vx, ROWS * N_IN, 12, -1, 1);
    for (i = 0; i < ROWS; i++) {
        ys[i * N_OUT] = tanh(1.5 * xs[i * N_IN] + xs[i * N_IN + 1]);
        ys[i * N_OUT + 1] = xs[i * N_IN + 1] * xs[i * N_IN + 2] - 0.5 * xs[i * N_IN];
        vy[i * N_OUT] = tanh(1.5 * vx[i * N_IN] + vx[i * N_IN + 1]) + 0.3;
        vy[i * N_OUT + 1] = vx[i * N_IN + 1] * vx[i * N_IN + 2];
    }
    for (i = 0; i < ROWS * N_IN; i++) xs_f[i] = (float)xs[i];
    for (i = 0; i < ROWS * N_OUT; i++) ys_f[i] = (float)ys[i];
}

static smlp_model *model(smlp_dtype dtype) {
    return make_model(dtype, 3, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 7);
}

static smlp_dataset train_set(smlp_dtype dtype) {
    return dtype == SMLP_FLOAT32 ? dense_set(dtype, ROWS, N_IN, xs_f, N_OUT, ys_f)
                                 : dense_set(dtype, ROWS, N_IN, xs, N_OUT, ys);
}

static void lbfgs_options(smlp_train_options *o, smlp_train_details *details, size_t iterations) {
    smlp_train_options_init(o);
    o->method = SMLP_TRAIN_LBFGS;
    o->epochs = iterations;
    memset(details, 0, sizeof *details);
    details->struct_size = sizeof *details;
    o->details = details;
}

struct recorder {
    size_t calls, stop_at;
    double losses[1000];
    double steps[1000];
    int in_order;
};

static int record(const smlp_epoch_report *report, void *user_data) {
    struct recorder *r = user_data;
    if (report->epoch != r->calls + 1) r->in_order = 0;
    if (r->calls < 1000) {
        r->losses[r->calls] = report->train_loss;
        r->steps[r->calls] = report->learning_rate;
    }
    r->calls++;
    return r->stop_at != 0 && r->calls >= r->stop_at;
}

/* max |dF/dp_i| for F = loss + wd/2 ||W||^2, from smlp_gradients and the parameters. */
static double max_abs_gradient(smlp_model *m, const smlp_dataset *d, double wd) {
    double grad[64], p[64], loss, worst = 0;
    size_t i, l, n = smlp_param_count(m);
    smlp_layer_info layer;
    if (n > 64 || smlp_gradients(m, d, &loss, grad, n) != SMLP_OK) return INFINITY;
    if (smlp_get_params(m, SMLP_FLOAT64, p, n) != SMLP_OK) return INFINITY;
    for (l = 0; l < 2; l++) {
        if (smlp_layer_info_get(m, l, &layer) != SMLP_OK) return INFINITY;
        for (i = layer.weight_offset; i < layer.bias_offset; i++) grad[i] += wd * p[i];
    }
    for (i = 0; i < n; i++) worst = fmax(worst, fabs(grad[i]));
    return worst;
}

static size_t model_epoch(const smlp_model *m) {
    smlp_model_info info;
    return smlp_model_info_get(m, &info) == SMLP_OK ? info.epoch : (size_t)-1;
}

/* ---- Defaults and struct sizes ------------------------------------------------------- */

static void test_defaults_and_sizes(void) {
    smlp_train_options o;
    smlp_train_summary s;
    smlp_model *a = model(SMLP_FLOAT64), *b = model(SMLP_FLOAT64);
    smlp_dataset d = train_set(SMLP_FLOAT64);
    memset(&o, 0xAB, sizeof o);
    smlp_train_options_init(&o);
    CHECK(o.method == SMLP_TRAIN_MINIBATCH, "default method SMLP_TRAIN_MINIBATCH");
    CHECK(o.lbfgs_history == 10, "default lbfgs_history 10 (got %zu)", o.lbfgs_history);
    CHECK(o.tolerance_grad == 1e-5, "default tolerance_grad 1e-5 (got %g)", o.tolerance_grad);
    CHECK(o.tolerance_change == 2.220446049250313e-9, "default tolerance_change (got %g)", o.tolerance_change);
    CHECK(o.max_function_evals == 15000, "default max_function_evals 15000 (got %zu)", o.max_function_evals);
    CHECK(o.details == NULL, "default details NULL");
    if (!CHECK(a != NULL && b != NULL, "models")) return;

    /* A caller built before L-BFGS: its struct ends at user_data and it sets that size.
     * Garbage after it must not be read: the run equals a default mini-batch run. */
    o.epochs = 3;
    o.shuffle = 0;
    o.struct_size = offsetof(smlp_train_options, method);
    o.method = (smlp_train_method)77;
    o.lbfgs_history = 0;
    o.details = (smlp_train_details *)(uintptr_t)0x10;
    CHECK_STATUS(smlp_train(a, &d, &o, &s), SMLP_OK, "the pre-L-BFGS struct_size (%zu) is accepted", o.struct_size);
    smlp_train_options_init(&o);
    o.epochs = 3;
    o.shuffle = 0;
    CHECK_STATUS(smlp_train(b, &d, &o, &s), SMLP_OK, "the same run with the full struct");
    CHECK(models_equal(a, b), "the short struct trains as the defaults of the new fields say (mini-batch)");
    o.struct_size = offsetof(smlp_train_options, method) + 8;
    CHECK_STATUS(smlp_train(a, &d, &o, &s), SMLP_ERR_INVALID_ARGUMENT, "another struct_size is refused");
    CHECK(strstr(smlp_last_error(), "struct_size") != NULL, "the message names struct_size: %s", smlp_last_error());
    smlp_free(a);
    smlp_free(b);
}

/* ---- A run to convergence -------------------------------------------------------------- */

static void test_converges(void) {
    smlp_train_options o;
    smlp_train_details det;
    smlp_train_summary s;
    smlp_optimizer_config c;
    struct recorder rec;
    smlp_model *m = model(SMLP_FLOAT64), *twin = model(SMLP_FLOAT64);
    smlp_dataset d = train_set(SMLP_FLOAT64);
    double loss, accuracy;
    size_t k;
    int falling = 1;
    if (!CHECK(m != NULL && twin != NULL, "models")) return;
    /* A little weight decay gives the fit a well-conditioned minimum (without it the
     * loss creeps towards 0 and no tolerance is reached in 1000 iterations). */
    smlp_optimizer_config_init(&c, SMLP_SGD);
    c.weight_decay = 1e-3;
    CHECK_STATUS(smlp_set_optimizer(m, &c), SMLP_OK, "weight decay");
    CHECK_STATUS(smlp_set_optimizer(twin, &c), SMLP_OK, "weight decay (twin)");
    memset(&rec, 0, sizeof rec);
    rec.in_order = 1;
    lbfgs_options(&o, &det, 1000);
    o.tolerance_grad = 1e-7;
    o.tolerance_change = 0;
    o.callback = record;
    o.user_data = &rec;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "L-BFGS to tolerance_grad 1e-7");
    CHECK(det.stop_reason == SMLP_STOP_GRADIENT_TOLERANCE, "stopped on the gradient (reason %d)", (int)det.stop_reason);
    CHECK(det.struct_size == sizeof det, "details.struct_size stays sizeof (got %zu)", det.struct_size);
    CHECK(det.iterations == s.epochs_run && det.iterations == rec.calls && rec.in_order,
          "iterations (%zu) = epochs_run (%zu) = callbacks in order (%zu)", det.iterations, s.epochs_run, rec.calls);
    CHECK(det.iterations > 5 && det.iterations < 1000, "took a plausible number of iterations (%zu)", det.iterations);
    CHECK(det.function_evals > det.iterations, "evaluations (%zu) > iterations: the initial one and the searches",
          det.function_evals);
    CHECK(model_epoch(m) == det.iterations, "the model's epoch count advanced once per iteration");
    CHECK(max_abs_gradient(m, &d, 1e-3) <= 1e-7, "max |dF/dp| at the final parameters <= 1e-7 (%g)",
          max_abs_gradient(m, &d, 1e-3));
    CHECK_STATUS(smlp_evaluate(m, &d, &loss, &accuracy), SMLP_OK, "evaluate");
    CHECK_CLOSE(s.final_train_loss, loss, 1e-15, "final_train_loss is the loss at the final parameters");
    CHECK(det.final_objective > s.final_train_loss, "with weight decay F exceeds the mean loss");
    CHECK(s.final_train_loss < 0.01, "the smooth targets are fitted (loss %g)", s.final_train_loss);
    for (k = 0; k < rec.calls && k < 1000; k++) {
        if (!(rec.steps[k] > 0)) falling = 0;
    }
    CHECK(falling, "every accepted step (the report's learning_rate) is > 0");
    CHECK(isnan(s.best_validation_loss) && s.best_epoch == s.epochs_run, "no validation: best epoch is the last");

    o.callback = NULL;
    CHECK_STATUS(smlp_train(twin, &d, &o, &s), SMLP_OK, "the same run again");
    CHECK(models_equal(m, twin), "same seed, same run: bit-identical parameters");
    smlp_free(m);
    smlp_free(twin);

    /* Without weight decay the reported loss is F: it falls every iteration. */
    m = model(SMLP_FLOAT64);
    if (!CHECK(m != NULL, "model")) return;
    memset(&rec, 0, sizeof rec);
    lbfgs_options(&o, &det, 200);
    o.tolerance_grad = 0;
    o.tolerance_change = 0;
    o.callback = record;
    o.user_data = &rec;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "200 iterations without weight decay");
    CHECK(rec.calls == 200, "all 200 ran (%zu)", rec.calls);
    falling = 1;
    for (k = 1; k < rec.calls && k < 1000; k++) {
        if (!(rec.losses[k] < rec.losses[k - 1])) falling = 0;
    }
    CHECK(falling, "the loss falls every iteration");
    smlp_free(m);
}

static void test_float32(void) {
    smlp_train_options o;
    smlp_train_details det;
    smlp_train_summary s32, s64;
    smlp_model *a = model(SMLP_FLOAT32), *b = model(SMLP_FLOAT64);
    smlp_dataset d32 = train_set(SMLP_FLOAT32), d64 = train_set(SMLP_FLOAT64);
    if (!CHECK(a != NULL && b != NULL, "models")) return;
    lbfgs_options(&o, &det, 2000);
    o.tolerance_grad = 1e-4;
    CHECK_STATUS(smlp_train(a, &d32, &o, &s32), SMLP_OK, "float32 L-BFGS");
    CHECK_STATUS(smlp_train(b, &d64, &o, &s64), SMLP_OK, "float64 L-BFGS");
    /* Float's rounding changes the path; both end near the same minimum of a fit
     * whose loss is ~1e-3, to within the gradient tolerance's reach. */
    CHECK_NEAR(s32.final_train_loss, s64.final_train_loss, 1e-3, "float32 (%g) and float64 (%g) reach the same loss",
               s32.final_train_loss, s64.final_train_loss);
    smlp_free(a);
    smlp_free(b);
}

/* ---- Weight decay ---------------------------------------------------------------------- */

static void test_weight_decay(void) {
    smlp_train_options o;
    smlp_train_details det;
    smlp_train_summary s;
    smlp_optimizer_config c;
    smlp_layer_info layer;
    smlp_model *m = model(SMLP_FLOAT64);
    smlp_dataset d = train_set(SMLP_FLOAT64);
    double p[64], squares = 0, wd = 0.02;
    size_t l, i;
    if (!CHECK(m != NULL, "model")) return;
    smlp_optimizer_config_init(&c, SMLP_SGD);
    c.weight_decay = wd;
    CHECK_STATUS(smlp_set_optimizer(m, &c), SMLP_OK, "SGD with weight_decay");
    lbfgs_options(&o, &det, 500);
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "L-BFGS with weight decay");
    CHECK_STATUS(smlp_get_params(m, SMLP_FLOAT64, p, smlp_param_count(m)), SMLP_OK, "params");
    for (l = 0; l < 2; l++) {
        CHECK_STATUS(smlp_layer_info_get(m, l, &layer), SMLP_OK, "layer info");
        for (i = 0; i < layer.n_inputs * layer.n_outputs; i++) squares += p[layer.weight_offset + i] * p[layer.weight_offset + i];
    }
    CHECK_CLOSE(det.final_objective - s.final_train_loss, 0.5 * wd * squares, 1e-12,
                "F - loss = wd/2 ||W||^2 over the weights (%g vs %g)", det.final_objective - s.final_train_loss,
                0.5 * wd * squares);
    CHECK(det.stop_reason == SMLP_STOP_GRADIENT_TOLERANCE || det.stop_reason == SMLP_STOP_LOSS_CHANGE,
          "converged (reason %d)", (int)det.stop_reason);
    smlp_free(m);
}

/* ---- Limits ---------------------------------------------------------------------------- */

static void test_limits(void) {
    smlp_train_options o;
    smlp_train_details det;
    smlp_train_summary s;
    struct recorder rec;
    smlp_dataset d = train_set(SMLP_FLOAT64);
    const size_t budgets[5] = {1, 2, 5, 17, 60};
    size_t b;
    smlp_model *m;

    for (b = 0; b < 5; b++) {
        m = model(SMLP_FLOAT64);
        lbfgs_options(&o, &det, 100000);
        o.tolerance_grad = 0;
        o.tolerance_change = 0;
        o.max_function_evals = budgets[b];
        CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "budget %zu", budgets[b]);
        CHECK(det.function_evals == budgets[b] && det.stop_reason == SMLP_STOP_MAX_FUNCTION_EVALS,
              "max_function_evals %zu: %zu evaluations, reason %d", budgets[b], det.function_evals, (int)det.stop_reason);
        smlp_free(m);
    }

    m = model(SMLP_FLOAT64);
    smlp_set_epoch(m, 10);
    lbfgs_options(&o, &det, 4);
    o.tolerance_grad = 0;
    o.tolerance_change = 0;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "4 iterations");
    CHECK(det.iterations == 4 && s.epochs_run == 4 && det.stop_reason == SMLP_STOP_MAX_EPOCHS,
          "epochs caps the iterations (%zu, reason %d)", det.iterations, (int)det.stop_reason);
    CHECK(model_epoch(m) == 14, "epoch count 10 + 4 (got %zu)", model_epoch(m));
    CHECK(det.final_objective == s.final_train_loss, "without weight decay F is the mean loss");

    memset(&rec, 0, sizeof rec);
    rec.in_order = 1;
    rec.stop_at = 3;
    lbfgs_options(&o, &det, 100);
    o.callback = record;
    o.user_data = &rec;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "callback stops at 3");
    CHECK(rec.calls == 3 && det.iterations == 3 && s.stopped_by_callback && det.stop_reason == SMLP_STOP_CALLBACK,
          "the callback's stop ends the run after its iteration (%zu calls, reason %d)", rec.calls,
          (int)det.stop_reason);
    smlp_free(m);
}

/* ---- Validation and restore_best -------------------------------------------------------- */

static void test_validation(void) {
    smlp_train_options o;
    smlp_train_details det;
    smlp_train_summary s;
    smlp_model *m = model(SMLP_FLOAT64);
    smlp_dataset d = train_set(SMLP_FLOAT64), v = dense_set(SMLP_FLOAT64, ROWS, N_IN, vx, N_OUT, vy);
    double loss;
    if (!CHECK(m != NULL, "model")) return;
    lbfgs_options(&o, &det, 200);
    o.validation = &v;
    o.patience = 5;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "L-BFGS with validation and patience 5");
    CHECK(s.best_epoch >= 1 && s.best_epoch <= s.epochs_run, "a best iteration (%zu of %zu)", s.best_epoch, s.epochs_run);
    CHECK_STATUS(smlp_evaluate(m, &v, &loss, NULL), SMLP_OK, "evaluate validation");
    CHECK(loss == s.best_validation_loss, "restore_best: the final parameters are the best iteration's (%g vs %g)",
          loss, s.best_validation_loss);
    CHECK(!s.stopped_early || det.stop_reason == SMLP_STOP_EARLY_STOPPING, "stopped_early matches the reason");
    smlp_free(m);
}

/* ---- details' struct_size ----------------------------------------------------------------- */

static void test_details_size(void) {
    smlp_train_options o;
    struct { smlp_train_details d; unsigned char guard[32]; } big;
    struct { size_t struct_size, iterations; unsigned char guard[sizeof(smlp_train_details)]; } small;
    smlp_train_summary s;
    smlp_model *m = model(SMLP_FLOAT64);
    smlp_dataset d = train_set(SMLP_FLOAT64);
    size_t i;
    int guard_kept = 1;
    if (!CHECK(m != NULL, "model")) return;
    smlp_train_options_init(&o);
    o.method = SMLP_TRAIN_LBFGS;
    o.epochs = 3;
    memset(&small, 0xCD, sizeof small);
    small.struct_size = 2 * sizeof(size_t);
    o.details = (smlp_train_details *)(void *)&small;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "details of an older, shorter layout");
    for (i = 0; i < sizeof small.guard; i++) guard_kept &= small.guard[i] == 0xCD;
    CHECK(guard_kept && small.iterations == 3 && small.struct_size == 2 * sizeof(size_t),
          "only the fields that fit are written (iterations %zu)", small.iterations);
    /* A size that ends inside function_evals: that field is not written in part. */
    memset(&small, 0xCD, sizeof small);
    small.struct_size = 2 * sizeof(size_t) + 4;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "details ending inside a field");
    guard_kept = 1;
    for (i = 0; i < sizeof small.guard; i++) guard_kept &= small.guard[i] == 0xCD;
    CHECK(guard_kept && small.iterations == 3 && small.struct_size == 2 * sizeof(size_t),
          "whole fields only: struct_size says %zu bytes were written", small.struct_size);

    memset(&big, 0xCD, sizeof big);
    big.d.struct_size = sizeof big;
    o.details = &big.d;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_OK, "details of a newer, longer layout");
    guard_kept = 1;
    for (i = 0; i < sizeof big.guard; i++) guard_kept &= big.guard[i] == 0xCD;
    CHECK(guard_kept && big.d.struct_size == sizeof(smlp_train_details) && big.d.iterations == 3,
          "a longer struct gets this library's fields and struct_size");

    small.struct_size = 0;
    o.details = (smlp_train_details *)(void *)&small;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_ERR_INVALID_ARGUMENT, "details.struct_size 0 is refused");
    smlp_free(m);
}

/* ---- All or nothing ------------------------------------------------------------------------- */

static void test_failures_change_nothing(void) {
    smlp_train_options o;
    smlp_train_details det;
    smlp_train_summary s;
    smlp_model *m = model(SMLP_FLOAT64);
    smlp_dataset d = train_set(SMLP_FLOAT64);
    void *before;
    double huge[64];
    size_t i, n, c;
    if (!CHECK(m != NULL, "model")) return;
    smlp_set_epoch(m, 3);
    before = params_snapshot(m);
    for (c = 0; c < 6; c++) {
        lbfgs_options(&o, &det, 10);
        switch (c) {
        case 0: o.lbfgs_history = 0; break;
        case 1: o.tolerance_grad = -1; break;
        case 2: o.tolerance_grad = NAN; break;
        case 3: o.tolerance_change = INFINITY; break;
        case 4: o.max_function_evals = 0; break;
        default: o.method = (smlp_train_method)7; break;
        }
        memset(&s, 0xEE, sizeof s);
        det.iterations = 12345;
        CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_ERR_INVALID_ARGUMENT, "bad option %zu refused", c);
        CHECK(s.epochs_run == (size_t)0xEEEEEEEEEEEEEEEEULL && det.iterations == 12345,
              "bad option %zu: neither summary nor details written", c);
    }
    CHECK(params_equal(m, before) && model_epoch(m) == 3, "bad options: parameters and epoch unchanged");
    free(before);

    /* Parameters so large that the output overflows: the starting loss is infinite. */
    n = smlp_param_count(m);
    for (i = 0; i < n; i++) huge[i] = 1e308;
    CHECK_STATUS(smlp_set_params(m, SMLP_FLOAT64, huge, n), SMLP_OK, "huge parameters");
    before = params_snapshot(m);
    lbfgs_options(&o, &det, 10);
    det.iterations = 12345;
    CHECK_STATUS(smlp_train(m, &d, &o, &s), SMLP_ERR_NON_FINITE, "a non-finite starting loss is refused");
    CHECK(params_equal(m, before) && model_epoch(m) == 3 && det.iterations == 12345,
          "non-finite start: parameters, epoch and details unchanged");
    free(before);
    smlp_free(m);
}

int main(void) {
    make_data();
    test_defaults_and_sizes();
    test_converges();
    test_float32();
    test_weight_decay();
    test_limits();
    test_validation();
    test_details_size();
    test_failures_change_nothing();
    return check_summary();
}
