/*
 * test_training.c - whole-data-set training through the C contract: smlp_train,
 * smlp_train_options_init, smlp_evaluate, the input scaler (smlp_fit_scaler,
 * smlp_set_scaler, smlp_get_scaler, smlp_clear_scaler), smlp_set_epoch, learning-rate
 * schedules and gradient clipping, each checked against an independent computation:
 *
 *   - shuffling is reproducible (same seed -> bit-identical parameters and loss
 *     curves), a different generator gives a different run, and with shuffle off an
 *     epoch is exactly smlp_step on consecutive batches (the last partial one
 *     included, or dropped with drop_last; batch_size > n is one batch);
 *   - the reported train loss is the mean per-sample loss of the epoch's batches,
 *     recomputed from manual steps, under both reductions;
 *   - early stopping follows patience and min_delta, and restore_best ends with the
 *     parameters of the best epoch (a twin trained best_epoch epochs is identical),
 *     the lowest validation loss even when it improved by less than min_delta;
 *   - the callback sees epochs 1..k in order with the schedule's rate, can stop the
 *     run, and gets SMLP_ERR_BUSY from calls on the model being trained;
 *   - smlp_train is all or nothing: bad data, bad options and a run that diverges
 *     half-way all leave parameters, optimizer state, generator and epoch as they were
 *     (checked against an untouched twin, bit for bit);
 *   - smlp_evaluate equals the loss and accuracy recomputed here from smlp_predict;
 *   - the scaler: population statistics, predict/gradients/train/evaluate equal the
 *     unscaled model on pre-standardised inputs, round trips and rejected values;
 *   - clipping is torch.nn.utils.clip_grad_norm_'s rule on smlp_gradients' gradient;
 *   - the digits example's claim: a 64-64-10 network reaches >= 96% test accuracy.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "model_util.h"
#include "../../examples/digits_data.h"

#define PI_VALUE 3.14159265358979323846
/* Early stopping problem: noise on the training targets, Adam's rate. */
#define ES_NOISE 0.5
#define ES_LR 0.02

/* ---- The regression problem most tests use: 3-5-2 tanh/identity, MSE --------------- */

enum { N_IN = 3, N_HID = 5, N_OUT = 2, ROWS = 23 };

static const size_t reg_sizes[3] = {N_IN, N_HID, N_OUT};
static const smlp_activation reg_acts[2] = {SMLP_TANH, SMLP_IDENTITY};

static double reg_x[ROWS * N_IN], reg_y[ROWS * N_OUT];
static double val_x[ROWS * N_IN], val_y[ROWS * N_OUT];
/* For early stopping: a smooth function of x, plus noise on the training rows only,
 * so that the validation loss falls while the function is learnt and rises once the
 * network starts memorising the noise. */
static double es_y[ROWS * N_OUT], es_val_y[ROWS * N_OUT];

static void smooth_targets(const double *x, double *y, double noise, uint64_t seed) {
    size_t i;
    uint64_t state = seed;
    for (i = 0; i < ROWS; i++) {
        const double *r = x + i * N_IN;
        y[i * N_OUT + 0] = tanh(1.5 * r[0] + r[1]) + noise * test_uniform(&state, -1, 1);
        y[i * N_OUT + 1] = r[1] * r[2] - 0.5 * r[0] + noise * test_uniform(&state, -1, 1);
    }
}

static void make_data(void) {
    fill_uniform(reg_x, ROWS * N_IN, 101, -1, 1);
    fill_uniform(reg_y, ROWS * N_OUT, 102, -1, 1);
    fill_uniform(val_x, ROWS * N_IN, 103, -1, 1);
    fill_uniform(val_y, ROWS * N_OUT, 104, -1, 1);
    smooth_targets(reg_x, es_y, ES_NOISE, 105);
    smooth_targets(val_x, es_val_y, 0.0, 106);
}

static smlp_dataset label_set(size_t rows, size_t n_in, const double *x, size_t n_out,
                              const int32_t *labels) {
    smlp_dataset d = dense_set(SMLP_FLOAT64, rows, n_in, x, n_out, NULL);
    d.labels = labels;
    return d;
}

static smlp_model *reg_model(smlp_reduction reduction, uint64_t seed) {
    return make_model(SMLP_FLOAT64, 3, reg_sizes, reg_acts, SMLP_MSE, reduction, seed);
}

/* Sets an optimizer of the given kind, rate and schedule (other fields default). */
static smlp_status set_opt(smlp_model *model, smlp_optimizer kind, double lr, smlp_schedule schedule,
                           double gamma) {
    smlp_optimizer_config c;
    smlp_optimizer_config_init(&c, kind);
    c.learning_rate = lr;
    c.schedule = schedule;
    c.gamma = gamma;
    c.step_size = 2;
    return smlp_set_optimizer(model, &c);
}

static size_t model_epoch(const smlp_model *model) {
    smlp_model_info info;
    if (smlp_model_info_get(model, &info) != SMLP_OK) return (size_t)-1;
    return info.epoch;
}

static int has_scaler(const smlp_model *model) {
    smlp_model_info info;
    if (smlp_model_info_get(model, &info) != SMLP_OK) return -1;
    return info.has_scaler;
}

static int contains(const char *text, const char *part) { return strstr(text, part) != NULL; }

/* ---- A callback that records every report ------------------------------------------ */

#define MAX_REPORTS 1024

struct recorder {
    size_t count;
    smlp_epoch_report reports[MAX_REPORTS];
    size_t stop_at;           /* return non-zero once epoch >= stop_at (0: never)       */
    smlp_model *self;         /* if set: probe calls on the model being trained         */
    smlp_model *other;        /* if set: a call on another model must work              */
    const smlp_dataset *probe_batch;
    smlp_status get_params_status, step_status, predict_status, set_epoch_status,
        evaluate_status, other_step_status;
    int order_ok;             /* epochs arrive as 1, 2, 3, ...                          */
    void *user_data_seen;
};

static void recorder_init(struct recorder *r) {
    memset(r, 0, sizeof *r);
    r->order_ok = 1;
    r->get_params_status = r->step_status = r->predict_status = r->set_epoch_status =
        r->evaluate_status = r->other_step_status = SMLP_OK;
}

static int record_epoch(const smlp_epoch_report *report, void *user_data) {
    struct recorder *r = (struct recorder *)user_data;
    if (report->epoch != r->count + 1) r->order_ok = 0;
    if (r->count < MAX_REPORTS) r->reports[r->count] = *report;
    r->count++;
    r->user_data_seen = user_data;
    if (r->self != NULL) {
        double params[N_IN * N_HID + N_HID + N_HID * N_OUT + N_OUT], out[N_OUT];
        r->get_params_status =
            smlp_get_params(r->self, SMLP_FLOAT64, params, sizeof params / sizeof params[0]);
        r->step_status = smlp_step(r->self, r->probe_batch, NULL);
        r->predict_status = smlp_predict(r->self, SMLP_FLOAT64, reg_x, 1, N_IN, out, N_OUT);
        r->set_epoch_status = smlp_set_epoch(r->self, 0);
        r->evaluate_status = smlp_evaluate(r->self, r->probe_batch, NULL, NULL);
    }
    if (r->other != NULL) r->other_step_status = smlp_step(r->other, r->probe_batch, NULL);
    return r->stop_at != 0 && report->epoch >= r->stop_at;
}

/* ---- "Nothing changed": compare a model with an untouched twin --------------------- */

/* The two models are in the same state if their parameters, epoch and scaler flag are
 * equal, one more smlp_step on both gives equal parameters (optimizer state: moments,
 * step count) and one more shuffled epoch on both gives equal parameters (generator).
 * Changes both models. */
static void check_same_state(smlp_model *a, smlp_model *b, const char *what) {
    const smlp_dataset probe = dense_set(SMLP_FLOAT64, 6, N_IN, reg_x, N_OUT, reg_y);
    const smlp_dataset all = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_train_options o;
    smlp_train_summary sa, sb;
    CHECK(models_equal(a, b), "%s: parameters equal the untouched twin's", what);
    CHECK(model_epoch(a) == model_epoch(b), "%s: epoch %zu equals the twin's %zu", what, model_epoch(a),
          model_epoch(b));
    CHECK(has_scaler(a) == has_scaler(b), "%s: scaler flag equals the twin's", what);
    CHECK_STATUS(smlp_step(a, &probe, NULL), SMLP_OK, "%s: probe step", what);
    CHECK_STATUS(smlp_step(b, &probe, NULL), SMLP_OK, "%s: probe step (twin)", what);
    CHECK(models_equal(a, b), "%s: one more step gives the twin's parameters (optimizer state unchanged)",
          what);
    smlp_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 4;
    CHECK_STATUS(smlp_train(a, &all, &o, &sa), SMLP_OK, "%s: probe epoch", what);
    CHECK_STATUS(smlp_train(b, &all, &o, &sb), SMLP_OK, "%s: probe epoch (twin)", what);
    CHECK(models_equal(a, b), "%s: one more shuffled epoch gives the twin's parameters (generator unchanged)",
          what);
}

/* ---- Defaults ------------------------------------------------------------------------ */

static void test_defaults(void) {
    smlp_train_options o;
    memset(&o, 0xAB, sizeof o);
    smlp_train_options_init(&o);
    CHECK(o.struct_size == sizeof(smlp_train_options), "struct_size is sizeof(smlp_train_options)");
    CHECK(o.epochs == 10, "default epochs 10 (got %zu)", o.epochs);
    CHECK(o.batch_size == 32, "default batch_size 32 (got %zu)", o.batch_size);
    CHECK(o.shuffle == 1, "default shuffle 1");
    CHECK(o.drop_last == 0, "default drop_last 0");
    CHECK(o.validation == NULL, "default validation NULL");
    CHECK(o.patience == 0, "default patience 0");
    CHECK(o.min_delta == 0.0, "default min_delta 0");
    CHECK(o.restore_best == 1, "default restore_best 1");
    CHECK(o.callback == NULL, "default callback NULL");
    CHECK(o.user_data == NULL, "default user_data NULL");
    (smlp_train_options_init)(NULL); /* must not crash */
    smlp_train_options_init_sized(NULL, sizeof(smlp_train_options));
    CHECK(1, "smlp_train_options_init(NULL) returns");
}

/* ---- Reproducible shuffling ----------------------------------------------------------- */

static void train_recorded(smlp_model *m, const smlp_dataset *d, size_t epochs, size_t batch, int shuffle,
                           struct recorder *r, smlp_train_summary *s, const char *what) {
    smlp_train_options o;
    smlp_train_options_init(&o);
    o.epochs = epochs;
    o.batch_size = batch;
    o.shuffle = shuffle;
    o.callback = record_epoch;
    o.user_data = r;
    recorder_init(r);
    CHECK_STATUS(smlp_train(m, d, &o, s), SMLP_OK, "%s: smlp_train", what);
}

static struct recorder rec_a, rec_b, rec_c;

static void test_reproducible(smlp_dtype dtype) {
    const char *dt = dtype == SMLP_FLOAT32 ? "float32" : "float64";
    float xf[ROWS * N_IN], yf[ROWS * N_OUT];
    smlp_model *a = make_model(dtype, 3, reg_sizes, reg_acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 7);
    smlp_model *b = make_model(dtype, 3, reg_sizes, reg_acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 7);
    smlp_model *c = make_model(dtype, 3, reg_sizes, reg_acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 8);
    smlp_model *d = make_model(dtype, 3, reg_sizes, reg_acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 7);
    smlp_train_summary sa, sb, sc, sd;
    smlp_dataset data;
    void *start;
    size_t i;
    int same_curve = 1, curve_differs = 0;
    if (!CHECK(a && b && c && d, "%s: models created", dt)) return;
    for (i = 0; i < ROWS * N_IN; i++) xf[i] = (float)reg_x[i];
    for (i = 0; i < ROWS * N_OUT; i++) yf[i] = (float)reg_y[i];
    data = dtype == SMLP_FLOAT32 ? dense_set(dtype, ROWS, N_IN, xf, N_OUT, yf)
                                 : dense_set(dtype, ROWS, N_IN, reg_x, N_OUT, reg_y);
    /* c has another seed but the same starting parameters as a: only its generator
     * (so its shuffle order) differs. d does not shuffle. */
    start = params_snapshot(a);
    CHECK_STATUS(smlp_set_params(c, dtype, start, smlp_param_count(c)), SMLP_OK, "%s: c gets a's start", dt);
    CHECK(models_equal(a, c), "%s: a and c start equal", dt);
    CHECK(set_opt(a, SMLP_ADAM, 0.01, SMLP_SCHEDULE_CONSTANT, 0.1) == SMLP_OK &&
              set_opt(b, SMLP_ADAM, 0.01, SMLP_SCHEDULE_CONSTANT, 0.1) == SMLP_OK &&
              set_opt(c, SMLP_ADAM, 0.01, SMLP_SCHEDULE_CONSTANT, 0.1) == SMLP_OK &&
              set_opt(d, SMLP_ADAM, 0.01, SMLP_SCHEDULE_CONSTANT, 0.1) == SMLP_OK,
          "%s: optimizers set", dt);

    train_recorded(a, &data, 6, 4, 1, &rec_a, &sa, dt);
    train_recorded(b, &data, 6, 4, 1, &rec_b, &sb, dt);
    CHECK(models_equal(a, b), "%s: same seed, same options: bit-identical parameters", dt);
    CHECK(rec_a.count == 6 && rec_b.count == 6, "%s: 6 reports each", dt);
    for (i = 0; i < 6; i++) {
        if (memcmp(&rec_a.reports[i].train_loss, &rec_b.reports[i].train_loss, sizeof(double)) != 0)
            same_curve = 0;
    }
    CHECK(same_curve, "%s: same seed: bit-identical loss curves", dt);
    CHECK(memcmp(&sa.final_train_loss, &sb.final_train_loss, sizeof(double)) == 0,
          "%s: same final_train_loss", dt);

    train_recorded(c, &data, 6, 4, 1, &rec_c, &sc, dt);
    CHECK(!models_equal(a, c), "%s: another generator seed (same start) gives different parameters", dt);
    for (i = 0; i < 6; i++)
        if (rec_a.reports[i].train_loss != rec_c.reports[i].train_loss) curve_differs = 1;
    CHECK(curve_differs, "%s: another seed gives a different loss curve", dt);

    train_recorded(d, &data, 6, 4, 0, &rec_c, &sd, dt);
    CHECK(!models_equal(a, d), "%s: shuffle off differs from shuffle on", dt);

    /* Resuming: 3 + 3 shuffled epochs, with a save and a load between them, equal
     * the 6 of one call (each epoch's order comes from the generator alone). */
    {
        smlp_model *e = make_model(dtype, 3, reg_sizes, reg_acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 7);
        smlp_model *loaded = NULL;
        void *buffer = NULL;
        size_t size = 0;
        if (CHECK(e != NULL, "%s: model e created", dt)) {
            CHECK(set_opt(e, SMLP_ADAM, 0.01, SMLP_SCHEDULE_CONSTANT, 0.1) == SMLP_OK, "%s: e's optimizer", dt);
            train_recorded(e, &data, 3, 4, 1, &rec_c, &sc, dt);
            CHECK_STATUS(smlp_save_to_buffer(e, NULL, 0, &size), SMLP_OK, "%s: e's size", dt);
            buffer = malloc(size);
            CHECK_STATUS(smlp_save_to_buffer(e, buffer, size, &size), SMLP_OK, "%s: e saved", dt);
            CHECK_STATUS(smlp_load_from_buffer(buffer, size, &loaded), SMLP_OK, "%s: e loaded", dt);
            train_recorded(e, &data, 3, 4, 1, &rec_c, &sc, dt);
            CHECK(models_equal(a, e), "%s: 3 + 3 shuffled epochs in two calls equal 6 in one", dt);
            if (loaded != NULL) {
                train_recorded(loaded, &data, 3, 4, 1, &rec_c, &sc, dt);
                CHECK(models_equal(a, loaded), "%s: 3 epochs, save, load, 3 more equal 6 in one call", dt);
            }
        }
        free(buffer);
        smlp_free(loaded);
        smlp_free(e);
    }
    free(start);
    smlp_free(a);
    smlp_free(b);
    smlp_free(c);
    smlp_free(d);
}

/* ---- Shuffle off: an epoch is smlp_step on consecutive batches ------------------------ */

/* Runs `epochs` epochs by hand: smlp_set_epoch(e) then smlp_step on rows
 * [0, b), [b, 2b), ... (the last one partial unless drop_last), accumulating each
 * epoch's mean per-sample loss into losses[e] the way the header defines it. */
static void manual_epochs(smlp_model *m, size_t epochs, size_t batch, int drop_last,
                          smlp_reduction reduction, double *losses, size_t *steps) {
    size_t e, start;
    *steps = 0;
    for (e = 0; e < epochs; e++) {
        double total = 0;
        size_t seen = 0;
        smlp_set_epoch(m, e);
        for (start = 0; start < ROWS; start += batch) {
            size_t count = ROWS - start < batch ? ROWS - start : batch;
            smlp_dataset d;
            double loss = NAN;
            if (count < batch && drop_last && start > 0) break;
            d = dense_set(SMLP_FLOAT64, count, N_IN, reg_x + start * N_IN, N_OUT, reg_y + start * N_OUT);
            if (smlp_step(m, &d, &loss) != SMLP_OK) loss = NAN;
            (*steps)++;
            total += reduction == SMLP_REDUCTION_MEAN ? loss * (double)count : loss;
            seen += count;
        }
        losses[e] = total / (double)seen;
    }
}

static void test_in_order(size_t batch, int drop_last, smlp_reduction reduction, size_t expected_steps) {
    char what[128];
    smlp_model *t, *m;
    smlp_train_options o;
    smlp_train_summary s;
    smlp_dataset all = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    double manual[3];
    size_t steps, e;
    snprintf(what, sizeof what, "in order, batch %zu%s, %s", batch, drop_last ? ", drop_last" : "",
             reduction == SMLP_REDUCTION_MEAN ? "mean" : "sum");
    t = reg_model(reduction, 11);
    m = reg_model(reduction, 11);
    if (!CHECK(t && m, "%s: models", what)) return;
    /* Adam (its bias correction counts steps) with an exponential schedule (the rate
     * depends on the epoch counter): any extra, missing or reordered step shows. */
    set_opt(t, SMLP_ADAM, 0.02, SMLP_SCHEDULE_EXPONENTIAL, 0.5);
    set_opt(m, SMLP_ADAM, 0.02, SMLP_SCHEDULE_EXPONENTIAL, 0.5);
    smlp_train_options_init(&o);
    o.epochs = 3;
    o.batch_size = batch;
    o.shuffle = 0;
    o.drop_last = drop_last;
    o.callback = record_epoch;
    o.user_data = &rec_a;
    recorder_init(&rec_a);
    CHECK_STATUS(smlp_train(t, &all, &o, &s), SMLP_OK, "%s: train", what);
    manual_epochs(m, 3, batch, drop_last, reduction, manual, &steps);
    CHECK(steps == 3 * expected_steps, "%s: %zu manual steps per epoch", what, expected_steps);
    CHECK(models_equal(t, m), "%s: bit-identical to %zu smlp_step calls per epoch on consecutive batches",
          what, expected_steps);
    CHECK(rec_a.count == 3 && s.epochs_run == 3, "%s: 3 epochs", what);
    for (e = 0; e < 3 && e < rec_a.count; e++) {
        CHECK_CLOSE(rec_a.reports[e].train_loss, manual[e], 1e-15,
                    "%s: epoch %zu train_loss is the mean per-sample loss of its batches", what, e + 1);
    }
    CHECK(s.final_train_loss == rec_a.reports[2].train_loss, "%s: final_train_loss is the last epoch's", what);
    CHECK(model_epoch(t) == 3, "%s: epoch counter advanced to 3", what);
    smlp_free(t);
    smlp_free(m);
}

/* The header: "batch_size >= 1; a larger value means one batch of all rows". */
static void test_huge_batch_size(void) {
    smlp_model *t = reg_model(SMLP_REDUCTION_MEAN, 11), *m = reg_model(SMLP_REDUCTION_MEAN, 11);
    smlp_dataset all = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_train_options o;
    const size_t huge[2] = {(size_t)INT32_MAX + 1, (size_t)-1};
    size_t k;
    if (!CHECK(t && m, "huge batch: models")) return;
    smlp_train_options_init(&o);
    o.epochs = 1;
    o.shuffle = 0;
    CHECK_STATUS(smlp_step(m, &all, NULL), SMLP_OK, "huge batch: one manual step on all rows");
    for (k = 0; k < 2; k++) {
        smlp_model *u = reg_model(SMLP_REDUCTION_MEAN, 11);
        o.batch_size = huge[k];
        CHECK_STATUS(smlp_train(u, &all, &o, NULL), SMLP_OK,
                     "batch_size %zu (> n) is documented as one batch of all rows", huge[k]);
        CHECK(models_equal(u, m), "batch_size %zu: equals one step on all rows", huge[k]);
        smlp_free(u);
    }
    smlp_free(t);
    smlp_free(m);
}

/* ---- Early stopping and restore_best ------------------------------------------------- */

/* Noise to memorise: val loss first falls (the mean), then rises (overfitting). */
static void test_early_stopping(double min_delta, size_t patience) {
    char what[96];
    smlp_dataset train = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, es_y);
    smlp_dataset validation = dense_set(SMLP_FLOAT64, ROWS, N_IN, val_x, N_OUT, es_val_y);
    static const size_t big_sizes[3] = {N_IN, 32, N_OUT};
    smlp_model *m, *twin, *last_twin;
    smlp_train_options o;
    smlp_train_summary s;
    double best = NAN, after = NAN, acc = 0;
    size_t best_epoch = 0, wait = 0, stop = 0, last_improvement = 0, e;
    snprintf(what, sizeof what, "early stopping (patience %zu, min_delta %g)", patience, min_delta);
    m = make_model(SMLP_FLOAT64, 3, big_sizes, reg_acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 5);
    twin = make_model(SMLP_FLOAT64, 3, big_sizes, reg_acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 5);
    last_twin = make_model(SMLP_FLOAT64, 3, big_sizes, reg_acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 5);
    if (!CHECK(m && twin && last_twin, "%s: models", what)) return;
    set_opt(m, SMLP_ADAM, ES_LR, SMLP_SCHEDULE_CONSTANT, 0.1);
    set_opt(twin, SMLP_ADAM, ES_LR, SMLP_SCHEDULE_CONSTANT, 0.1);
    set_opt(last_twin, SMLP_ADAM, ES_LR, SMLP_SCHEDULE_CONSTANT, 0.1);

    smlp_train_options_init(&o);
    o.epochs = 400;
    o.batch_size = 5;
    o.validation = &validation;
    o.patience = patience;
    o.min_delta = min_delta;
    o.restore_best = 1;
    o.callback = record_epoch;
    o.user_data = &rec_a;
    recorder_init(&rec_a);
    CHECK_STATUS(smlp_train(m, &train, &o, &s), SMLP_OK, "%s: train", what);

    /* The rule, replayed on the recorded validation losses: patience counts epochs
     * that do not beat the best so far by more than min_delta; the best epoch is the
     * lowest loss, whatever min_delta says. */
    for (e = 0; e < rec_a.count && e < MAX_REPORTS; e++) {
        double v = rec_a.reports[e].validation_loss;
        int improved = best_epoch == 0 || v < best - min_delta;
        if (best_epoch == 0 || v < best) {
            best = v;
            best_epoch = e + 1;
        }
        if (improved) {
            wait = 0;
            last_improvement = e + 1;
        } else if (++wait >= patience && patience > 0) {
            stop = e + 1;
            break;
        }
    }
    printf("%s: best epoch %zu, stopped after %zu\n", what, s.best_epoch, s.epochs_run);
    CHECK(stop > 0, "%s: the validation loss stopped improving within 400 epochs", what);
    CHECK(s.stopped_early == 1 && s.stopped_by_callback == 0, "%s: stopped_early", what);
    CHECK(s.epochs_run == stop && rec_a.count == stop, "%s: stopped after epoch %zu (ran %zu, %zu reports)",
          what, stop, s.epochs_run, rec_a.count);
    CHECK(s.epochs_run == last_improvement + patience,
          "%s: exactly patience epochs after the last improvement by more than min_delta", what);
    CHECK(s.best_epoch >= last_improvement, "%s: the best epoch is not before that improvement", what);
    CHECK(s.best_epoch == best_epoch, "%s: best_epoch %zu, expected %zu", what, s.best_epoch, best_epoch);
    CHECK(s.best_validation_loss == best, "%s: best_validation_loss is the best epoch's", what);
    CHECK(rec_a.count > 0 && s.final_validation_loss == rec_a.reports[rec_a.count - 1].validation_loss,
          "%s: final_validation_loss is the last epoch's", what);
    CHECK(model_epoch(m) == s.epochs_run, "%s: epoch counter = epochs run", what);
    for (e = 0; e < rec_a.count && e < MAX_REPORTS; e++) {
        if (!isfinite(rec_a.reports[e].validation_loss) || !isnan(rec_a.reports[e].validation_accuracy)) {
            CHECK(0, "%s: epoch %zu: finite validation loss and NaN accuracy (MSE)", what, e + 1);
            break;
        }
    }

    /* restore_best: the validation loss now is the best one, and the parameters are a
     * twin's trained for best_epoch epochs (validation never touches the generator). */
    CHECK_STATUS(smlp_evaluate(m, &validation, &after, &acc), SMLP_OK, "%s: evaluate", what);
    CHECK(after == s.best_validation_loss, "%s: validation loss after training %.17g == best %.17g", what,
          after, s.best_validation_loss);
    CHECK(isnan(acc), "%s: evaluate accuracy is NaN for MSE", what);
    smlp_train_options_init(&o);
    o.epochs = s.best_epoch;
    o.batch_size = 5;
    CHECK_STATUS(smlp_train(twin, &train, &o, NULL), SMLP_OK, "%s: twin", what);
    CHECK(models_equal(m, twin), "%s: restored parameters are bit-identical to a twin trained %zu epochs",
          what, s.best_epoch);

    /* restore_best = 0: the last epoch's parameters. */
    {
        smlp_model *n = make_model(SMLP_FLOAT64, 3, big_sizes, reg_acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 5);
        smlp_train_summary s2;
        set_opt(n, SMLP_ADAM, ES_LR, SMLP_SCHEDULE_CONSTANT, 0.1);
        smlp_train_options_init(&o);
        o.epochs = 400;
        o.batch_size = 5;
        o.validation = &validation;
        o.patience = patience;
        o.min_delta = min_delta;
        o.restore_best = 0;
        CHECK_STATUS(smlp_train(n, &train, &o, &s2), SMLP_OK, "%s: restore_best 0", what);
        CHECK(s2.epochs_run == s.epochs_run && s2.best_epoch == s.best_epoch,
              "%s: restore_best 0 runs the same epochs", what);
        smlp_train_options_init(&o);
        o.epochs = s2.epochs_run;
        o.batch_size = 5;
        CHECK_STATUS(smlp_train(last_twin, &train, &o, NULL), SMLP_OK, "%s: last twin", what);
        CHECK(models_equal(n, last_twin), "%s: restore_best 0 keeps the last epoch's parameters", what);
        CHECK_STATUS(smlp_evaluate(n, &validation, &after, NULL), SMLP_OK, "%s: evaluate", what);
        CHECK(after == s2.final_validation_loss, "%s: restore_best 0: validation loss is the final one", what);
        smlp_free(n);
    }
    smlp_free(m);
    smlp_free(twin);
    smlp_free(last_twin);
}

/* min_delta larger than any possible gain: no epoch after the first counts as an
 * improvement, so training stops after 1 + patience epochs; but the best epoch is
 * still the one with the lowest validation loss, and restore_best ends with its
 * parameters (regression: min_delta used to pin the best epoch to epoch 1). */
static void test_early_stopping_min_delta_huge(void) {
    smlp_dataset train = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_dataset validation = dense_set(SMLP_FLOAT64, ROWS, N_IN, val_x, N_OUT, val_y);
    smlp_model *m = reg_model(SMLP_REDUCTION_MEAN, 3);
    smlp_model *twin = reg_model(SMLP_REDUCTION_MEAN, 3);
    smlp_train_options o;
    smlp_train_summary s;
    double lowest = INFINITY, after = NAN;
    size_t lowest_epoch = 0, e;
    if (!CHECK(m != NULL && twin != NULL, "min_delta huge: model")) return;
    smlp_train_options_init(&o);
    o.epochs = 50;
    o.validation = &validation;
    o.patience = 3;
    o.min_delta = 1e300;
    o.callback = record_epoch;
    o.user_data = &rec_a;
    recorder_init(&rec_a);
    CHECK_STATUS(smlp_train(m, &train, &o, &s), SMLP_OK, "min_delta huge: train");
    CHECK(s.epochs_run == 4 && s.stopped_early == 1,
          "min_delta 1e300, patience 3: 4 epochs run, stopped early (got %zu, %d)", s.epochs_run,
          s.stopped_early);
    for (e = 0; e < rec_a.count && e < MAX_REPORTS; e++) {
        if (rec_a.reports[e].validation_loss < lowest) {
            lowest = rec_a.reports[e].validation_loss;
            lowest_epoch = e + 1;
        }
    }
    CHECK(lowest_epoch > 1, "min_delta huge: the validation loss improved after epoch 1 (lowest at %zu)",
          lowest_epoch);
    CHECK(s.best_epoch == lowest_epoch && s.best_validation_loss == lowest,
          "min_delta huge: best epoch %zu is the lowest validation loss's, %zu", s.best_epoch, lowest_epoch);
    CHECK_STATUS(smlp_evaluate(m, &validation, &after, NULL), SMLP_OK, "min_delta huge: evaluate");
    CHECK(after == lowest, "min_delta huge: restored parameters give the lowest loss %.17g (got %.17g)",
          lowest, after);
    smlp_train_options_init(&o);
    o.epochs = lowest_epoch;
    CHECK_STATUS(smlp_train(twin, &train, &o, NULL), SMLP_OK, "min_delta huge: twin");
    CHECK(models_equal(m, twin), "min_delta huge: restored parameters are a twin's after %zu epochs",
          lowest_epoch);
    smlp_free(twin);
    o.callback = NULL;
    o.user_data = NULL;
    o.validation = &validation;

    /* patience 0 never stops; without validation best_epoch is the last epoch. */
    o.patience = 0;
    o.epochs = 12;
    CHECK_STATUS(smlp_train(m, &train, &o, &s), SMLP_OK, "patience 0: train");
    CHECK(s.epochs_run == 12 && s.stopped_early == 0, "patience 0 never stops (ran %zu)", s.epochs_run);
    o.validation = NULL;
    o.patience = 2;
    o.epochs = 5;
    CHECK_STATUS(smlp_train(m, &train, &o, &s), SMLP_OK, "no validation: train");
    CHECK(s.epochs_run == 5 && s.best_epoch == 5 && s.stopped_early == 0,
          "no validation: all epochs run, best_epoch is the last");
    CHECK(isnan(s.best_validation_loss) && isnan(s.final_validation_loss),
          "no validation: validation losses are NaN");
    smlp_free(m);
}

/* ---- Callback and schedules -------------------------------------------------------- */

static double expected_rate(smlp_schedule schedule, double lr, size_t e) {
    switch (schedule) {
    case SMLP_SCHEDULE_STEP: return lr * pow(0.5, floor((double)e / 3.0));
    case SMLP_SCHEDULE_EXPONENTIAL: return lr * pow(0.8, (double)e);
    case SMLP_SCHEDULE_COSINE: {
        double t = (double)(e < 4 ? e : 4);
        return 0.01 + (lr - 0.01) * (1 + cos(PI_VALUE * t / 4.0)) / 2;
    }
    case SMLP_SCHEDULE_INVERSE_SCALING: return lr / pow((double)e + 1.0, 0.8);
    default: return lr;
    }
}

static void test_schedule(smlp_schedule schedule, size_t first_epoch) {
    static const char *names[5] = {"constant", "step", "exponential", "cosine", "inverse scaling"};
    smlp_model *m = reg_model(SMLP_REDUCTION_MEAN, 2);
    smlp_dataset all = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_optimizer_config c;
    smlp_train_options o;
    smlp_train_summary s;
    size_t e;
    int ok = 1;
    if (!CHECK(m != NULL, "schedule: model")) return;
    smlp_optimizer_config_init(&c, SMLP_SGD);
    c.learning_rate = 0.2;
    c.schedule = schedule;
    c.step_size = 3;
    c.gamma = schedule == SMLP_SCHEDULE_STEP ? 0.5 : 0.8;
    c.t_max = 4;
    c.min_lr = 0.01;
    CHECK_STATUS(smlp_set_optimizer(m, &c), SMLP_OK, "schedule %s: optimizer", names[schedule]);
    CHECK_STATUS(smlp_set_epoch(m, first_epoch), SMLP_OK, "schedule: set_epoch(%zu)", first_epoch);
    CHECK(model_epoch(m) == first_epoch, "set_epoch(%zu) shows in model info", first_epoch);
    smlp_train_options_init(&o);
    o.epochs = 7;
    o.callback = record_epoch;
    o.user_data = &rec_a;
    recorder_init(&rec_a);
    CHECK_STATUS(smlp_train(m, &all, &o, &s), SMLP_OK, "schedule %s: train", names[schedule]);
    CHECK(rec_a.count == 7 && rec_a.order_ok, "schedule %s: epochs 1..7 reported in order", names[schedule]);
    CHECK(rec_a.user_data_seen == &rec_a, "callback gets user_data unchanged");
    for (e = 0; e < rec_a.count && e < 7; e++) {
        double want = expected_rate(schedule, 0.2, first_epoch + e);
        const smlp_epoch_report *r = &rec_a.reports[e];
        /* Within rounding: the library raises gamma to an integer power by repeated
         * squaring, pow() may round differently. */
        if (fabs(r->learning_rate - want) > 1e-14 * want) {
            ok = 0;
            CHECK(0, "schedule %s from epoch %zu: report %zu has lr %.17g, formula gives %.17g", names[schedule],
                  first_epoch, e + 1, r->learning_rate, want);
        }
        if (!isnan(r->validation_loss) || !isnan(r->validation_accuracy) || !isfinite(r->train_loss)) ok = 0;
    }
    CHECK(ok, "schedule %s from epoch %zu: learning rates follow the formula; validation fields NaN",
          names[schedule], first_epoch);
    CHECK(model_epoch(m) == first_epoch + 7, "schedule: epoch counter advanced by 7");
    smlp_free(m);
}

/* Patience runs out in the epoch whose callback stops the run: both flags are set,
 * and the details' stop_reason is the callback's. */
static void test_callback_and_patience_in_one_epoch(void) {
    smlp_model *m = reg_model(SMLP_REDUCTION_MEAN, 4);
    smlp_dataset all = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_dataset validation = dense_set(SMLP_FLOAT64, ROWS, N_IN, val_x, N_OUT, val_y);
    smlp_train_options o;
    smlp_train_summary s;
    smlp_train_details details = {0};
    if (!CHECK(m != NULL, "callback and patience: model")) return;
    details.struct_size = sizeof details;
    smlp_train_options_init(&o);
    o.epochs = 10;
    o.validation = &validation;
    o.patience = 1;
    o.min_delta = 1e9; /* no epoch improves enough: patience runs out at epoch 2 */
    o.callback = record_epoch;
    o.user_data = &rec_a;
    o.details = &details;
    recorder_init(&rec_a);
    rec_a.stop_at = 2;
    CHECK_STATUS(smlp_train(m, &all, &o, &s), SMLP_OK, "callback and patience: train");
    CHECK(s.epochs_run == 2 && s.stopped_by_callback == 1 && s.stopped_early == 1,
          "both stop in epoch 2: epochs_run %zu, stopped_by_callback %d, stopped_early %d", s.epochs_run,
          s.stopped_by_callback, s.stopped_early);
    CHECK(details.stop_reason == SMLP_STOP_CALLBACK, "the details' stop_reason is the callback (%d)",
          (int)details.stop_reason);
    smlp_free(m);
}

static void test_callback_stops_and_busy(void) {
    smlp_model *m = reg_model(SMLP_REDUCTION_MEAN, 4), *twin = reg_model(SMLP_REDUCTION_MEAN, 4);
    smlp_model *other = reg_model(SMLP_REDUCTION_MEAN, 5);
    smlp_dataset all = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_dataset probe = dense_set(SMLP_FLOAT64, 4, N_IN, reg_x, N_OUT, reg_y);
    smlp_train_options o;
    smlp_train_summary s;
    void *other_before;
    if (!CHECK(m && twin && other, "callback: models")) return;
    other_before = params_snapshot(other);
    smlp_train_options_init(&o);
    o.epochs = 10;
    o.batch_size = 5;
    o.callback = record_epoch;
    o.user_data = &rec_a;
    recorder_init(&rec_a);
    rec_a.stop_at = 3;
    rec_a.self = m;
    rec_a.other = other;
    rec_a.probe_batch = &probe;
    CHECK_STATUS(smlp_train(m, &all, &o, &s), SMLP_OK, "callback: train");
    CHECK(rec_a.count == 3, "callback returning non-zero at epoch 3 stops there (%zu calls)", rec_a.count);
    CHECK(s.epochs_run == 3 && s.stopped_by_callback == 1 && s.stopped_early == 0,
          "summary: epochs_run 3, stopped_by_callback");
    CHECK(model_epoch(m) == 3, "epoch counter is 3 after 3 epochs");
    CHECK(rec_a.get_params_status == SMLP_ERR_BUSY, "inside the callback smlp_get_params on the same model: BUSY (got %d)",
          (int)rec_a.get_params_status);
    CHECK(rec_a.step_status == SMLP_ERR_BUSY, "inside the callback smlp_step on the same model: BUSY");
    CHECK(rec_a.predict_status == SMLP_ERR_BUSY, "inside the callback smlp_predict on the same model: BUSY");
    CHECK(rec_a.set_epoch_status == SMLP_ERR_BUSY, "inside the callback smlp_set_epoch on the same model: BUSY");
    CHECK(rec_a.evaluate_status == SMLP_ERR_BUSY, "inside the callback smlp_evaluate on the same model: BUSY");
    CHECK(rec_a.other_step_status == SMLP_OK, "inside the callback another model works");
    CHECK(!params_equal(other, other_before), "the other model did step");
    /* The refused calls changed nothing: m equals a twin trained 3 epochs. */
    o.epochs = 3;
    o.callback = NULL;
    o.user_data = NULL;
    CHECK_STATUS(smlp_train(twin, &all, &o, NULL), SMLP_OK, "callback: twin");
    CHECK(models_equal(m, twin), "stopped run equals a twin trained 3 epochs (BUSY calls changed nothing)");
    free(other_before);
    smlp_free(m);
    smlp_free(twin);
    smlp_free(other);
}

/* ---- All or nothing ----------------------------------------------------------------- */

/* Two models in the same non-trivial state: Adam with an exponential schedule, after
 * two shuffled epochs, so moments, step count, epoch and generator all matter. */
static void make_twins(smlp_model **a, smlp_model **b) {
    smlp_dataset all = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_train_options o;
    *a = reg_model(SMLP_REDUCTION_MEAN, 21);
    *b = reg_model(SMLP_REDUCTION_MEAN, 21);
    if (*a == NULL || *b == NULL) return;
    set_opt(*a, SMLP_ADAM, 0.01, SMLP_SCHEDULE_EXPONENTIAL, 0.7);
    set_opt(*b, SMLP_ADAM, 0.01, SMLP_SCHEDULE_EXPONENTIAL, 0.7);
    smlp_train_options_init(&o);
    o.epochs = 2;
    o.batch_size = 6;
    smlp_train(*a, &all, &o, NULL);
    smlp_train(*b, &all, &o, NULL);
}

static void test_non_finite_data(void) {
    static const struct {
        const char *name;
        int in_x;          /* else in y */
        int in_validation; /* else in the training set */
        double value;
    } cases[] = {
        {"NaN in x row 7", 1, 0, NAN},
        {"+inf in y row 7", 0, 0, INFINITY},
        {"-inf in x row 7", 1, 0, -INFINITY},
        {"NaN in validation x row 7", 1, 1, NAN},
        {"NaN in validation y row 7", 0, 1, NAN},
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double x[ROWS * N_IN], y[ROWS * N_OUT];
        smlp_dataset good = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
        smlp_dataset bad = dense_set(SMLP_FLOAT64, ROWS, N_IN, x, N_OUT, y);
        smlp_model *a, *b;
        smlp_train_options o;
        smlp_train_summary s;
        memcpy(x, reg_x, sizeof x);
        memcpy(y, reg_y, sizeof y);
        if (cases[k].in_x) x[7 * N_IN + 1] = cases[k].value;
        else y[7 * N_OUT + 1] = cases[k].value;
        make_twins(&a, &b);
        if (!CHECK(a && b, "%s: twins", cases[k].name)) continue;
        smlp_train_options_init(&o);
        o.epochs = 3;
        o.batch_size = 4;
        o.callback = record_epoch;
        o.user_data = &rec_a;
        recorder_init(&rec_a);
        o.validation = cases[k].in_validation ? &bad : NULL;
        CHECK_STATUS(smlp_train(a, cases[k].in_validation ? &good : &bad, &o, &s), SMLP_ERR_NON_FINITE,
                     "%s: smlp_train", cases[k].name);
        CHECK(contains(smlp_last_error(), "row 7 "), "%s: the message names row 7: \"%s\"", cases[k].name,
              smlp_last_error());
        if (cases[k].in_validation)
            CHECK(contains(smlp_last_error(), "validation"), "%s: the message names the validation data",
                  cases[k].name);
        CHECK(rec_a.count == 0, "%s: no epoch ran (data are checked up front)", cases[k].name);
        check_same_state(a, b, cases[k].name);
        smlp_free(a);
        smlp_free(b);
    }
}

/* A learning rate that doubles every epoch (exponential schedule, gamma 2) on MSE with
 * large targets: the first epochs are fine, then the loss overflows. */
static void test_divergence_mid_run(void) {
    double y_big[ROWS * N_OUT];
    smlp_dataset all = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_dataset big = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, y_big);
    smlp_model *a = reg_model(SMLP_REDUCTION_MEAN, 31), *b = reg_model(SMLP_REDUCTION_MEAN, 31);
    smlp_optimizer_config c;
    smlp_train_options o;
    smlp_train_summary s;
    void *before;
    size_t i;
    if (!CHECK(a && b, "divergence: models")) return;
    for (i = 0; i < ROWS * N_OUT; i++) y_big[i] = 1000.0 * reg_y[i];
    smlp_optimizer_config_init(&c, SMLP_SGD);
    c.learning_rate = 0.001;
    c.momentum = 0.5;
    c.schedule = SMLP_SCHEDULE_EXPONENTIAL;
    c.gamma = 2.0;
    CHECK_STATUS(smlp_set_optimizer(a, &c), SMLP_OK, "divergence: optimizer");
    CHECK_STATUS(smlp_set_optimizer(b, &c), SMLP_OK, "divergence: optimizer (twin)");
    /* Some state first: two finite epochs on the ordinary targets. */
    smlp_train_options_init(&o);
    o.epochs = 2;
    o.batch_size = 5;
    CHECK_STATUS(smlp_train(a, &all, &o, NULL), SMLP_OK, "divergence: warm-up");
    CHECK_STATUS(smlp_train(b, &all, &o, NULL), SMLP_OK, "divergence: warm-up (twin)");
    CHECK_STATUS(smlp_set_epoch(a, 0), SMLP_OK, "divergence: set_epoch 0");
    CHECK_STATUS(smlp_set_epoch(b, 0), SMLP_OK, "divergence: set_epoch 0 (twin)");
    before = params_snapshot(a);

    o.epochs = 500;
    o.callback = record_epoch;
    o.user_data = &rec_a;
    recorder_init(&rec_a);
    CHECK_STATUS(smlp_train(a, &big, &o, &s), SMLP_ERR_NON_FINITE, "divergence: smlp_train fails");
    printf("divergence: NON_FINITE after %zu finished epochs: %s\n", rec_a.count, smlp_last_error());
    CHECK(rec_a.count >= 2, "divergence: it failed mid-run, after %zu finished epochs", rec_a.count);
    CHECK(rec_a.count < 500, "divergence: it did not run to the end");
    CHECK(contains(smlp_last_error(), "finite"), "divergence: the message says what: \"%s\"",
          smlp_last_error());
    CHECK(params_equal(a, before), "divergence: parameters restored");
    CHECK(model_epoch(a) == 0, "divergence: epoch restored to 0 (got %zu)", model_epoch(a));
    check_same_state(a, b, "divergence");
    free(before);
    smlp_free(a);
    smlp_free(b);
}

/* A run whose very last update overflows: the loss and gradient of that batch were
 * finite, so nothing stops the update, and smlp_train returns SMLP_OK with infinite
 * parameters (which smlp_set_params would refuse). All or nothing should cover it:
 * either finite parameters, or NON_FINITE with the parameters restored. */
static void test_last_update_overflows(void) {
    static const size_t sizes[2] = {1, 1};
    static const smlp_activation acts[1] = {SMLP_IDENTITY};
    /* Plain SGD (whose update is out of place and changes nothing when it would
     * overflow) and momentum SGD (whose overflow is smlp_step's documented
     * exception, which smlp_train must roll back). */
    static const double momenta[2] = {0.0, 0.5};
    const double x[1] = {1e5}, y[1] = {-1e5};
    smlp_dataset d = dense_set(SMLP_FLOAT64, 1, 1, x, 1, y);
    size_t k;
    for (k = 0; k < 2; k++) {
        smlp_model *m = make_model(SMLP_FLOAT64, 2, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
        smlp_optimizer_config c;
        smlp_train_options o;
        double before[2], after[2];
        smlp_status status;
        if (!CHECK(m != NULL, "overflowing update: model")) return;
        smlp_optimizer_config_init(&c, SMLP_SGD);
        c.learning_rate = 1e300;
        c.momentum = momenta[k];
        CHECK_STATUS(smlp_set_optimizer(m, &c), SMLP_OK, "overflowing update: optimizer (momentum %g)", momenta[k]);
        smlp_get_params(m, SMLP_FLOAT64, before, 2);
        smlp_train_options_init(&o);
        o.epochs = 1;
        status = smlp_train(m, &d, &o, NULL);
        smlp_get_params(m, SMLP_FLOAT64, after, 2);
        if (status == SMLP_OK) {
            CHECK(isfinite(after[0]) && isfinite(after[1]),
                  "smlp_train (momentum %g) returned SMLP_OK but left non-finite parameters (%g, %g); they were (%g, %g)",
                  momenta[k], after[0], after[1], before[0], before[1]);
        } else {
            CHECK(status == SMLP_ERR_NON_FINITE && memcmp(before, after, sizeof before) == 0,
                  "overflowing update (momentum %g): NON_FINITE and nothing changed (status %d)", momenta[k],
                  (int)status);
        }
        smlp_free(m);
    }
}

/* ---- Bad options and bad data: clear status, message, nothing changed ----------------- */

static void test_bad_arguments(void) {
    enum { CLS = 3 };
    static const size_t cls_sizes[3] = {N_IN, 4, CLS};
    static const smlp_activation cls_acts[2] = {SMLP_TANH, SMLP_SOFTMAX};
    int32_t labels[ROWS], bad_labels[ROWS], neg_labels[ROWS];
    float xf[ROWS * N_IN], yf[ROWS * N_OUT];
    smlp_dataset good = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_dataset val = dense_set(SMLP_FLOAT64, ROWS, N_IN, val_x, N_OUT, val_y);
    smlp_model *a, *b, *c;
    smlp_train_options o;
    smlp_train_summary s;
    void *before;
    size_t i, before_epoch;
    for (i = 0; i < ROWS; i++) labels[i] = bad_labels[i] = neg_labels[i] = (int32_t)(i % CLS);
    bad_labels[5] = CLS;
    neg_labels[5] = -1;
    for (i = 0; i < ROWS * N_IN; i++) xf[i] = (float)reg_x[i];
    for (i = 0; i < ROWS * N_OUT; i++) yf[i] = (float)reg_y[i];
    make_twins(&a, &b);
    if (!CHECK(a && b, "bad arguments: twins")) return;
    before = params_snapshot(a);
    before_epoch = model_epoch(a);

#define EXPECT_FAIL(opts, data, status, part, ...)                                                    \
    do {                                                                                              \
        recorder_init(&rec_a);                                                                        \
        (opts).callback = record_epoch;                                                               \
        (opts).user_data = &rec_a;                                                                    \
        CHECK_STATUS(smlp_train(a, (data), &(opts), &s), (status), __VA_ARGS__);                      \
        CHECK(contains(smlp_last_error(), (part)), "message names \"%s\": \"%s\"", (part),            \
              smlp_last_error());                                                                     \
        CHECK(params_equal(a, before) && model_epoch(a) == before_epoch && rec_a.count == 0,          \
              "nothing changed and no epoch ran");                                                    \
    } while (0)

    smlp_train_options_init(&o); o.epochs = 0;
    EXPECT_FAIL(o, &good, SMLP_ERR_INVALID_ARGUMENT, "epochs", "epochs 0");
    smlp_train_options_init(&o); o.batch_size = 0;
    EXPECT_FAIL(o, &good, SMLP_ERR_INVALID_ARGUMENT, "batch_size", "batch_size 0");
    smlp_train_options_init(&o); o.min_delta = NAN;
    EXPECT_FAIL(o, &good, SMLP_ERR_INVALID_ARGUMENT, "min_delta", "min_delta NaN");
    smlp_train_options_init(&o); o.min_delta = -1e-3;
    EXPECT_FAIL(o, &good, SMLP_ERR_INVALID_ARGUMENT, "min_delta", "min_delta negative");
    smlp_train_options_init(&o); o.struct_size = sizeof o - 1;
    EXPECT_FAIL(o, &good, SMLP_ERR_INVALID_ARGUMENT, "struct_size", "struct_size - 1");
    smlp_train_options_init(&o); o.struct_size = 0;
    EXPECT_FAIL(o, &good, SMLP_ERR_INVALID_ARGUMENT, "struct_size", "struct_size 0");
    smlp_train_options_init(&o); o.struct_size = sizeof o + 8;
    EXPECT_FAIL(o, &good, SMLP_ERR_INVALID_ARGUMENT, "struct_size", "struct_size + 8");

    /* Validation data. */
    {
        smlp_dataset v = dense_set(SMLP_FLOAT32, ROWS, N_IN, xf, N_OUT, yf);
        smlp_train_options_init(&o); o.validation = &v;
        EXPECT_FAIL(o, &good, SMLP_ERR_DTYPE_MISMATCH, "validation", "validation float32 on a float64 model");
        v = val; v.n_inputs = N_IN + 1;
        smlp_train_options_init(&o); o.validation = &v;
        EXPECT_FAIL(o, &good, SMLP_ERR_SHAPE_MISMATCH, "n_inputs", "validation with n_inputs 4");
        v = val; v.n_outputs = N_OUT + 1;
        smlp_train_options_init(&o); o.validation = &v;
        EXPECT_FAIL(o, &good, SMLP_ERR_SHAPE_MISMATCH, "n_outputs", "validation with n_outputs 3");
        v = val; v.n_rows = 0;
        smlp_train_options_init(&o); o.validation = &v;
        EXPECT_FAIL(o, &good, SMLP_ERR_SHAPE_MISMATCH, "n_rows", "validation with 0 rows");
        v = val; v.x = NULL;
        smlp_train_options_init(&o); o.validation = &v;
        EXPECT_FAIL(o, &good, SMLP_ERR_NULL_ARGUMENT, "x", "validation x NULL");
        v = val; v.y = NULL;
        smlp_train_options_init(&o); o.validation = &v;
        /* As smlp_gradients documents: "INVALID_ARGUMENT (... both or neither of y and labels)". */
        EXPECT_FAIL(o, &good, SMLP_ERR_INVALID_ARGUMENT, "validation", "validation with neither y nor labels");
    }
    /* Training data. */
    {
        smlp_dataset d = dense_set(SMLP_FLOAT32, ROWS, N_IN, xf, N_OUT, yf);
        smlp_train_options_init(&o);
        EXPECT_FAIL(o, &d, SMLP_ERR_DTYPE_MISMATCH, "dtype", "train float32 on a float64 model");
        d = good; d.n_inputs = 2;
        EXPECT_FAIL(o, &d, SMLP_ERR_SHAPE_MISMATCH, "n_inputs", "train with n_inputs 2");
        d = good; d.n_rows = 0;
        EXPECT_FAIL(o, &d, SMLP_ERR_SHAPE_MISMATCH, "n_rows", "train with 0 rows");
        d = good; d.labels = labels;
        EXPECT_FAIL(o, &d, SMLP_ERR_INVALID_ARGUMENT, "both", "train with both y and labels");
        d = good; d.y = NULL;
        EXPECT_FAIL(o, &d, SMLP_ERR_INVALID_ARGUMENT, "neither", "train with neither y nor labels");
        d = good; d.y = NULL; d.labels = labels;
        EXPECT_FAIL(o, &d, SMLP_ERR_INVALID_ARGUMENT, "softmax", "labels on an MSE model");
    }
    smlp_train_options_init(&o);
    CHECK_STATUS(smlp_train(NULL, &good, &o, &s), SMLP_ERR_NULL_ARGUMENT, "NULL model");
    CHECK_STATUS(smlp_train(a, NULL, &o, &s), SMLP_ERR_NULL_ARGUMENT, "NULL train");
    CHECK_STATUS(smlp_train(a, &good, NULL, &s), SMLP_ERR_NULL_ARGUMENT, "NULL options");
    CHECK(params_equal(a, before), "NULL arguments changed nothing");
    check_same_state(a, b, "bad options");

    /* Labels out of range, in the training and in the validation set. */
    c = make_model(SMLP_FLOAT64, 3, cls_sizes, cls_acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 3);
    if (CHECK(c != NULL, "classifier")) {
        smlp_dataset ok = label_set(ROWS, N_IN, reg_x, CLS, labels);
        smlp_dataset bad = label_set(ROWS, N_IN, reg_x, CLS, bad_labels);
        smlp_dataset neg = label_set(ROWS, N_IN, reg_x, CLS, neg_labels);
        void *c_before = params_snapshot(c);
        smlp_train_options_init(&o);
        CHECK_STATUS(smlp_train(c, &bad, &o, &s), SMLP_ERR_INVALID_ARGUMENT, "label 3 of 3 classes in row 5");
        CHECK(contains(smlp_last_error(), "row 5"), "message names row 5: \"%s\"", smlp_last_error());
        CHECK_STATUS(smlp_train(c, &neg, &o, &s), SMLP_ERR_INVALID_ARGUMENT, "label -1 in row 5");
        CHECK(contains(smlp_last_error(), "row 5"), "message names row 5: \"%s\"", smlp_last_error());
        o.validation = &bad;
        CHECK_STATUS(smlp_train(c, &ok, &o, &s), SMLP_ERR_INVALID_ARGUMENT, "validation label out of range");
        CHECK(params_equal(c, c_before) && model_epoch(c) == 0, "bad labels changed nothing");
        free(c_before);
        smlp_free(c);
    }
#undef EXPECT_FAIL
    free(before);
    smlp_free(a);
    smlp_free(b);
}

/* ---- evaluate against predict ---------------------------------------------------------- */

struct eval_case {
    const char *name;
    size_t sizes[3];
    smlp_activation acts[2];
    smlp_loss loss;
    smlp_reduction reduction;
    int use_labels;
};

static void test_evaluate_case(const struct eval_case *ec, size_t rows) {
    const size_t n_in = ec->sizes[0], k = ec->sizes[2];
    double *x = malloc(rows * n_in * sizeof *x), *y = calloc(rows * k, sizeof *y);
    double *out = malloc(rows * k * sizeof *out);
    int32_t *labels = malloc(rows * sizeof *labels);
    smlp_model *m = make_model(SMLP_FLOAT64, 3, ec->sizes, ec->acts, ec->loss, ec->reduction, 17);
    smlp_dataset d;
    smlp_train_options o;
    double loss = NAN, acc = NAN, want_loss = 0, got_only_loss = NAN;
    size_t i, j, correct = 0;
    uint64_t state = 99;
    void *before;
    if (!CHECK(x && y && out && labels && m, "%s: setup", ec->name)) goto done;
    fill_uniform(x, rows * n_in, 55, -2, 2);
    for (i = 0; i < rows; i++) {
        labels[i] = (int32_t)(test_uniform(&state, 0, (double)k));
        if (ec->loss == SMLP_BINARY_CROSS_ENTROPY) {
            for (j = 0; j < k; j++) y[i * k + j] = test_uniform(&state, 0, 1) < 0.5 ? 0.0 : 1.0;
        } else if (ec->loss == SMLP_SOFTMAX_CROSS_ENTROPY) {
            y[i * k + (size_t)labels[i]] = 1.0;
        } else if (ec->loss == SMLP_POISSON) {
            for (j = 0; j < k; j++) y[i * k + j] = floor(test_uniform(&state, 0, 4)); /* counts 0..3 */
        } else {
            for (j = 0; j < k; j++) y[i * k + j] = test_uniform(&state, -1, 1);
        }
    }
    d = ec->use_labels ? label_set(rows, n_in, x, k, labels) : dense_set(SMLP_FLOAT64, rows, n_in, x, k, y);
    /* Train a little so that the accuracy is neither 0 nor 1. */
    smlp_train_options_init(&o);
    o.epochs = 2;
    CHECK_STATUS(smlp_train(m, &d, &o, NULL), SMLP_OK, "%s: train", ec->name);
    before = params_snapshot(m);
    CHECK_STATUS(smlp_evaluate(m, &d, &loss, &acc), SMLP_OK, "%s: evaluate", ec->name);
    CHECK(smlp_cached_rows(m) == 0, "%s: evaluate invalidates the layer cache", ec->name);
    CHECK(params_equal(m, before), "%s: evaluate changes no parameter", ec->name);
    CHECK_STATUS(smlp_predict(m, SMLP_FLOAT64, x, rows, n_in, out, k), SMLP_OK, "%s: predict", ec->name);
    for (i = 0; i < rows; i++) {
        const double *a = out + i * k, *t = y + i * k;
        double l = 0;
        int right = 1;
        size_t best = 0, target = 0;
        for (j = 0; j < k; j++) {
            switch (ec->loss) {
            case SMLP_MSE: l += 0.5 * (a[j] - t[j]) * (a[j] - t[j]); break;
            case SMLP_BINARY_CROSS_ENTROPY:
                l -= t[j] * log(a[j]) + (1 - t[j]) * log(1 - a[j]);
                if ((a[j] > 0.5) != (t[j] > 0.5)) right = 0;
                break;
            case SMLP_SOFTMAX_CROSS_ENTROPY:
                l -= t[j] * log(a[j]);
                if (a[j] > a[best]) best = j;
                if (t[j] > t[target]) target = j;
                break;
            case SMLP_POISSON: /* a is z, the log of the mean */
                l += exp(a[j]) - t[j] * a[j] + (t[j] > 0 ? t[j] * log(t[j]) : 0.0) - t[j];
                break;
            case SMLP_FANN_TANH_ERROR: { /* tanh output: the error halved, |e| < 1 */
                const double e = (a[j] - t[j]) / 2;
                l += 2 * (2 * e * atanh(e) + log((1 - e) * (1 + e)));
                break;
            }
            }
        }
        if (ec->loss == SMLP_SOFTMAX_CROSS_ENTROPY) right = best == target;
        want_loss += l;
        if (right) correct++;
    }
    want_loss /= (double)rows;
    CHECK_CLOSE(loss, want_loss, 1e-12, "%s, %zu rows: loss is the mean per-sample loss of predict's outputs",
                ec->name, rows);
    if (ec->loss == SMLP_MSE || ec->loss == SMLP_POISSON || ec->loss == SMLP_FANN_TANH_ERROR) {
        CHECK(isnan(acc), "%s: accuracy is NaN for the regression losses", ec->name);
    } else {
        double want_acc = (double)correct / (double)rows;
        CHECK(acc == want_acc, "%s, %zu rows: accuracy %.17g equals %.17g from predict", ec->name, rows, acc,
              want_acc);
        CHECK(correct > 0 && correct < rows, "%s: accuracy is informative (%zu of %zu)", ec->name, correct, rows);
    }
    CHECK_STATUS(smlp_evaluate(m, &d, &got_only_loss, NULL), SMLP_OK, "%s: accuracy NULL", ec->name);
    CHECK(got_only_loss == loss, "%s: same loss with out_accuracy NULL", ec->name);
    CHECK_STATUS(smlp_evaluate(m, &d, NULL, NULL), SMLP_OK, "%s: both outputs NULL", ec->name);
    free(before);
done:
    smlp_free(m);
    free(x);
    free(y);
    free(out);
    free(labels);
}

static void test_evaluate(void) {
    static const struct eval_case cases[] = {
        {"MSE tanh/identity", {3, 5, 2}, {SMLP_TANH, SMLP_IDENTITY}, SMLP_MSE, SMLP_REDUCTION_MEAN, 0},
        {"MSE, sum reduction", {3, 5, 2}, {SMLP_TANH, SMLP_IDENTITY}, SMLP_MSE, SMLP_REDUCTION_SUM, 0},
        {"Poisson tanh/identity", {3, 5, 2}, {SMLP_TANH, SMLP_IDENTITY}, SMLP_POISSON, SMLP_REDUCTION_MEAN, 0},
        {"FANN tanh error tanh/tanh", {3, 5, 2}, {SMLP_TANH, SMLP_TANH}, SMLP_FANN_TANH_ERROR, SMLP_REDUCTION_MEAN, 0},
        {"BCE tanh/sigmoid", {3, 5, 2}, {SMLP_TANH, SMLP_SIGMOID}, SMLP_BINARY_CROSS_ENTROPY,
         SMLP_REDUCTION_MEAN, 0},
        {"BCE, sum reduction", {3, 5, 2}, {SMLP_TANH, SMLP_SIGMOID}, SMLP_BINARY_CROSS_ENTROPY,
         SMLP_REDUCTION_SUM, 0},
        {"softmax CE, labels", {3, 6, 4}, {SMLP_RELU, SMLP_SOFTMAX}, SMLP_SOFTMAX_CROSS_ENTROPY,
         SMLP_REDUCTION_MEAN, 1},
        {"softmax CE, one-hot y", {3, 6, 4}, {SMLP_RELU, SMLP_SOFTMAX}, SMLP_SOFTMAX_CROSS_ENTROPY,
         SMLP_REDUCTION_MEAN, 0},
        {"softmax CE, labels, sum", {3, 6, 4}, {SMLP_RELU, SMLP_SOFTMAX}, SMLP_SOFTMAX_CROSS_ENTROPY,
         SMLP_REDUCTION_SUM, 1},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_evaluate_case(&cases[i], 40);
        test_evaluate_case(&cases[i], 2500); /* more rows than one evaluation chunk */
    }
}

static void test_evaluate_errors(void) {
    enum { CLS = 3 };
    static const size_t cls_sizes[3] = {N_IN, 4, CLS};
    static const smlp_activation cls_acts[2] = {SMLP_TANH, SMLP_SOFTMAX};
    int32_t labels[ROWS];
    float xf[ROWS * N_IN];
    smlp_model *m = make_model(SMLP_FLOAT64, 3, cls_sizes, cls_acts, SMLP_SOFTMAX_CROSS_ENTROPY,
                               SMLP_REDUCTION_MEAN, 3);
    smlp_dataset d;
    double loss = 12345, acc = 6789;
    size_t i;
    if (!CHECK(m != NULL, "evaluate errors: model")) return;
    for (i = 0; i < ROWS; i++) labels[i] = (int32_t)(i % CLS);
    for (i = 0; i < ROWS * N_IN; i++) xf[i] = (float)reg_x[i];
    labels[9] = CLS;
    d = label_set(ROWS, N_IN, reg_x, CLS, labels);
    CHECK_STATUS(smlp_evaluate(m, &d, &loss, &acc), SMLP_ERR_INVALID_ARGUMENT, "evaluate: label out of range");
    CHECK(contains(smlp_last_error(), "row 9"), "evaluate: message names row 9: \"%s\"", smlp_last_error());
    CHECK(loss == 12345 && acc == 6789, "evaluate: outputs untouched on failure");
    labels[9] = 0;
    d = label_set(ROWS, N_IN, reg_x, CLS, labels);
    d.dtype = SMLP_FLOAT32;
    d.x = xf;
    CHECK_STATUS(smlp_evaluate(m, &d, &loss, &acc), SMLP_ERR_DTYPE_MISMATCH, "evaluate: float32 data");
    d = label_set(ROWS, N_IN, reg_x, CLS, labels);
    d.n_inputs = 2;
    CHECK_STATUS(smlp_evaluate(m, &d, &loss, &acc), SMLP_ERR_SHAPE_MISMATCH, "evaluate: n_inputs 2");
    d = label_set(ROWS, N_IN, reg_x, CLS, labels);
    d.n_rows = 0;
    CHECK_STATUS(smlp_evaluate(m, &d, &loss, &acc), SMLP_ERR_SHAPE_MISMATCH, "evaluate: 0 rows");
    CHECK_STATUS(smlp_evaluate(m, NULL, &loss, &acc), SMLP_ERR_NULL_ARGUMENT, "evaluate: NULL data");
    CHECK_STATUS(smlp_evaluate(NULL, &d, &loss, &acc), SMLP_ERR_NULL_ARGUMENT, "evaluate: NULL model");
    smlp_free(m);
}

/* The header: "Calls that reuse the workspace (predict does not; evaluate and train
 * do) invalidate the cache." */
static void test_train_invalidates_cache(void) {
    smlp_model *m = reg_model(SMLP_REDUCTION_MEAN, 1);
    smlp_dataset all = dense_set(SMLP_FLOAT64, ROWS, N_IN, reg_x, N_OUT, reg_y);
    smlp_train_options o;
    if (!CHECK(m != NULL, "cache: model")) return;
    CHECK_STATUS(smlp_step(m, &all, NULL), SMLP_OK, "cache: a step fills the cache");
    CHECK(smlp_cached_rows(m) == ROWS, "cache: %d rows cached after a step", ROWS);
    smlp_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 5;
    CHECK_STATUS(smlp_train(m, &all, &o, NULL), SMLP_OK, "cache: train");
    CHECK(smlp_cached_rows(m) == 0, "smlp_train invalidates the layer cache (smlp_cached_rows is %zu)",
          smlp_cached_rows(m));
    smlp_free(m);
}

/* ---- The scaler ---------------------------------------------------------------------- */

enum { SC_ROWS = 10, SC_IN = 4 };

static void scaler_data(double *x) {
    size_t i;
    fill_uniform(x, SC_ROWS * SC_IN, 77, -3, 5);
    for (i = 0; i < SC_ROWS; i++) {
        x[i * SC_IN + 1] = 2.5;              /* constant, exactly representable sums */
        x[i * SC_IN + 3] = 1000.0 + 10.0 * x[i * SC_IN + 3]; /* offset and scale */
    }
}

static smlp_model *scaler_model(smlp_dtype dtype, uint64_t seed) {
    static const size_t sizes[3] = {SC_IN, 5, 2};
    static const smlp_activation acts[2] = {SMLP_TANH, SMLP_SIGMOID};
    return make_model(dtype, 3, sizes, acts, SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, seed);
}

static void test_fit_scaler(void) {
    double x[SC_ROWS * SC_IN], mean[SC_IN], var[SC_IN], got_mean[SC_IN], got_std[SC_IN];
    smlp_model *m = scaler_model(SMLP_FLOAT64, 1);
    int has = -1;
    size_t i, j;
    if (!CHECK(m != NULL, "fit_scaler: model")) return;
    scaler_data(x);
    CHECK_STATUS(smlp_get_scaler(m, got_mean, got_std, SC_IN, &has), SMLP_OK, "get_scaler without one");
    CHECK(has == 0 && has_scaler(m) == 0, "a new model has no scaler");
    CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT64, x, SC_ROWS, SC_IN), SMLP_OK, "fit_scaler");
    CHECK(has_scaler(m) == 1, "model info: has_scaler after fit");
    CHECK_STATUS(smlp_get_scaler(m, got_mean, got_std, SC_IN, &has), SMLP_OK, "get_scaler");
    CHECK(has == 1, "get_scaler: has 1");
    /* Population statistics, two-pass, in long double. */
    for (j = 0; j < SC_IN; j++) {
        long double s = 0, q = 0;
        for (i = 0; i < SC_ROWS; i++) s += x[i * SC_IN + j];
        mean[j] = (double)(s / SC_ROWS);
        for (i = 0; i < SC_ROWS; i++) {
            long double dev = x[i * SC_IN + j] - s / SC_ROWS;
            q += dev * dev;
        }
        var[j] = (double)(q / SC_ROWS);
    }
    for (j = 0; j < SC_IN; j++) {
        CHECK_CLOSE(got_mean[j], mean[j], 1e-15, "feature %zu: mean", j);
        if (j == 1) {
            CHECK(got_std[j] == 1.0, "feature 1 is constant: std is 1 (got %.17g)", got_std[j]);
        } else {
            CHECK_CLOSE(got_std[j], sqrt(var[j]), 1e-14, "feature %zu: population std (divides by n)", j);
            CHECK(fabs(got_std[j] - sqrt(var[j] * SC_ROWS / (SC_ROWS - 1))) > 1e-6 * got_std[j],
                  "feature %zu: not the sample std", j);
        }
    }
    smlp_free(m);
}

/* A constant feature whose value is not exactly representable (0.1): its computed
 * variance is rounding noise (~1e-34), and it must still count as zero variance. */
static void test_fit_scaler_constant_inexact(void) {
    double x[SC_ROWS * SC_IN], got_mean[SC_IN], got_std[SC_IN], out[2 * 2], ref[2 * 2];
    double probe[2 * SC_IN];
    smlp_model *m = scaler_model(SMLP_FLOAT64, 1);
    int has = 0;
    size_t i;
    if (!CHECK(m != NULL, "constant 0.1: model")) return;
    scaler_data(x);
    for (i = 0; i < SC_ROWS; i++) x[i * SC_IN + 2] = 0.1;
    CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT64, x, SC_ROWS, SC_IN), SMLP_OK, "constant 0.1: fit");
    CHECK_STATUS(smlp_get_scaler(m, got_mean, got_std, SC_IN, &has), SMLP_OK, "constant 0.1: get");
    CHECK(got_std[2] == 1.0,
          "a feature equal to 0.1 in every row has zero variance, so std 1 (got %.17g, mean %.17g)", got_std[2],
          got_mean[2]);
    /* Consequence: the standardised value of 0.1 itself should be about 0. */
    memcpy(probe, x, sizeof probe);
    CHECK_STATUS(smlp_predict(m, SMLP_FLOAT64, probe, 2, SC_IN, out, 2), SMLP_OK, "constant 0.1: predict");
    probe[2] = got_mean[2];
    probe[SC_IN + 2] = got_mean[2];
    CHECK_STATUS(smlp_predict(m, SMLP_FLOAT64, probe, 2, SC_IN, ref, 2), SMLP_OK, "constant 0.1: predict at mean");
    CHECK_CLOSE(out[0], ref[0], 1e-9, "constant 0.1: input 0.1 behaves like the feature's mean");
    smlp_free(m);
}

/* The other side of the zero-variance rule: a feature that really varies, on a small
 * scale (values of order 1e-17, say charges in coulombs), keeps its own std.
 * scikit-learn's constant-feature test is relative to the data (var <= n eps var +
 * (n mean eps)^2), so it keeps these too. */
static void test_fit_scaler_small_scale(void) {
    static const double scales[4] = {1e-6, 1e-12, 1e-17, 1e-30};
    double x[SC_ROWS * SC_IN], got_mean[SC_IN], got_std[SC_IN];
    size_t k, i;
    for (k = 0; k < 4; k++) {
        smlp_model *m = scaler_model(SMLP_FLOAT64, 1);
        long double s = 0, q = 0;
        double want;
        int has = 0;
        if (!CHECK(m != NULL, "small scale: model")) return;
        scaler_data(x);
        for (i = 0; i < SC_ROWS; i++) x[i * SC_IN + 2] *= scales[k];
        for (i = 0; i < SC_ROWS; i++) s += x[i * SC_IN + 2];
        for (i = 0; i < SC_ROWS; i++) q += (x[i * SC_IN + 2] - s / SC_ROWS) * (x[i * SC_IN + 2] - s / SC_ROWS);
        want = sqrt((double)(q / SC_ROWS));
        CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT64, x, SC_ROWS, SC_IN), SMLP_OK, "small scale: fit");
        CHECK_STATUS(smlp_get_scaler(m, got_mean, got_std, SC_IN, &has), SMLP_OK, "small scale: get");
        CHECK(fabs(got_std[2] - want) <= 1e-12 * want,
              "a feature of scale %g varies (population std %.17g): it keeps its std, got %.17g", scales[k], want,
              got_std[2]);
        smlp_free(m);
    }
}

static void test_scaler_predict_equivalence(smlp_dtype dtype) {
    const char *dt = dtype == SMLP_FLOAT32 ? "float32" : "float64";
    double x[SC_ROWS * SC_IN], mean[SC_IN], std[SC_IN];
    double xs_div[SC_ROWS * SC_IN], xs_mul[SC_ROWS * SC_IN], o1[SC_ROWS * 2], o2[SC_ROWS * 2], o3[SC_ROWS * 2];
    float xf[SC_ROWS * SC_IN], xfs[SC_ROWS * SC_IN], f1[SC_ROWS * 2], f2[SC_ROWS * 2];
    smlp_model *scaled = scaler_model(dtype, 9), *plain = scaler_model(dtype, 9);
    int has = 0;
    size_t i, j;
    double worst = 0;
    if (!CHECK(scaled && plain, "%s: models", dt)) return;
    scaler_data(x);
    for (i = 0; i < SC_ROWS * SC_IN; i++) xf[i] = (float)x[i];
    if (dtype == SMLP_FLOAT64)
        CHECK_STATUS(smlp_fit_scaler(scaled, dtype, x, SC_ROWS, SC_IN), SMLP_OK, "%s: fit", dt);
    else
        CHECK_STATUS(smlp_fit_scaler(scaled, dtype, xf, SC_ROWS, SC_IN), SMLP_OK, "%s: fit", dt);
    CHECK_STATUS(smlp_get_scaler(scaled, mean, std, SC_IN, &has), SMLP_OK, "%s: get", dt);
    for (i = 0; i < SC_ROWS; i++) {
        for (j = 0; j < SC_IN; j++) {
            size_t k = i * SC_IN + j;
            xs_div[k] = (x[k] - mean[j]) / std[j];
            xs_mul[k] = (x[k] - mean[j]) * (1.0 / std[j]);
            xfs[k] = (xf[k] - (float)mean[j]) * (float)(1.0 / std[j]);
        }
    }
    if (dtype == SMLP_FLOAT64) {
        CHECK_STATUS(smlp_predict(scaled, dtype, x, SC_ROWS, SC_IN, o1, 2), SMLP_OK, "predict scaled");
        CHECK_STATUS(smlp_predict(plain, dtype, xs_div, SC_ROWS, SC_IN, o2, 2), SMLP_OK, "predict plain");
        CHECK_STATUS(smlp_predict(plain, dtype, xs_mul, SC_ROWS, SC_IN, o3, 2), SMLP_OK, "predict plain");
        for (i = 0; i < SC_ROWS * 2; i++) {
            double r = fabs(o1[i] - o2[i]) / fmax(fabs(o1[i]), fabs(o2[i]));
            if (r > worst) worst = r;
        }
        CHECK(worst <= 1e-12, "float64: predict with the scaler = predict on (x - mean) / std within 1e-12 "
              "relative (worst %.3g)", worst);
        /* Not bit-exact against a division because the library multiplies by 1/std;
         * standardising the same way here makes the inputs, so the outputs, identical. */
        CHECK(memcmp(o1, o3, sizeof o1) == 0, "float64: bit-identical to (x - mean) * (1 / std)");
    } else {
        CHECK_STATUS(smlp_predict(scaled, dtype, xf, SC_ROWS, SC_IN, f1, 2), SMLP_OK, "predict scaled");
        CHECK_STATUS(smlp_predict(plain, dtype, xfs, SC_ROWS, SC_IN, f2, 2), SMLP_OK, "predict plain");
        CHECK(memcmp(f1, f2, sizeof f1) == 0,
              "float32: bit-identical to (x - float(mean)) * float(1 / std) computed in float");
    }
    smlp_free(scaled);
    smlp_free(plain);
}

/* gradients, train and evaluate use the scaler too: a model with a scaler on raw data
 * is bit-identical to one without on the same data pre-standardised the library's way. */
static void test_scaler_everywhere(void) {
    double x[SC_ROWS * SC_IN], xs[SC_ROWS * SC_IN], y[SC_ROWS * 2], mean[SC_IN], std[SC_IN];
    double g1[64], g2[64], l1 = NAN, l2 = NAN, a1 = NAN, a2 = NAN;
    smlp_model *scaled = scaler_model(SMLP_FLOAT64, 13), *plain = scaler_model(SMLP_FLOAT64, 13);
    smlp_dataset raw, pre;
    smlp_train_options o;
    size_t i, j, n = smlp_param_count(scaled);
    int has = 0;
    uint64_t state = 5;
    if (!CHECK(scaled && plain && n <= 64, "scaler everywhere: models")) return;
    scaler_data(x);
    for (i = 0; i < SC_ROWS * 2; i++) y[i] = test_uniform(&state, 0, 1) < 0.5 ? 0 : 1;
    CHECK_STATUS(smlp_fit_scaler(scaled, SMLP_FLOAT64, x, SC_ROWS, SC_IN), SMLP_OK, "fit");
    smlp_get_scaler(scaled, mean, std, SC_IN, &has);
    for (i = 0; i < SC_ROWS; i++)
        for (j = 0; j < SC_IN; j++) xs[i * SC_IN + j] = (x[i * SC_IN + j] - mean[j]) * (1.0 / std[j]);
    raw = dense_set(SMLP_FLOAT64, SC_ROWS, SC_IN, x, 2, y);
    pre = dense_set(SMLP_FLOAT64, SC_ROWS, SC_IN, xs, 2, y);
    CHECK_STATUS(smlp_gradients(scaled, &raw, &l1, g1, n), SMLP_OK, "gradients scaled");
    CHECK_STATUS(smlp_gradients(plain, &pre, &l2, g2, n), SMLP_OK, "gradients plain");
    CHECK(l1 == l2 && memcmp(g1, g2, n * sizeof *g1) == 0, "gradients use the scaler (bit-identical)");
    smlp_train_options_init(&o);
    o.epochs = 4;
    o.batch_size = 3;
    o.validation = &raw;
    o.restore_best = 0;
    CHECK_STATUS(smlp_train(scaled, &raw, &o, NULL), SMLP_OK, "train scaled");
    o.validation = &pre;
    CHECK_STATUS(smlp_train(plain, &pre, &o, NULL), SMLP_OK, "train plain");
    CHECK(models_equal(scaled, plain), "train uses the scaler (bit-identical parameters)");
    CHECK_STATUS(smlp_evaluate(scaled, &raw, &l1, &a1), SMLP_OK, "evaluate scaled");
    CHECK_STATUS(smlp_evaluate(plain, &pre, &l2, &a2), SMLP_OK, "evaluate plain");
    CHECK(l1 == l2 && a1 == a2, "evaluate uses the scaler (bit-identical loss and accuracy)");
    CHECK_STATUS(smlp_step(scaled, &raw, &l1), SMLP_OK, "step scaled");
    CHECK_STATUS(smlp_step(plain, &pre, &l2), SMLP_OK, "step plain");
    CHECK(l1 == l2 && models_equal(scaled, plain), "step uses the scaler (bit-identical)");
    smlp_free(scaled);
    smlp_free(plain);
}

static void test_scaler_round_trip_and_errors(void) {
    const double mean[SC_IN] = {0.1, -2.5, 1e6, 3.0};
    const double std[SC_IN] = {0.3, 7.0, 1e-3, 1.0};
    double got_mean[SC_IN], got_std[SC_IN], bad[SC_IN], x[SC_ROWS * SC_IN];
    double o_before[SC_ROWS * 2], o_now[SC_ROWS * 2], o_plain[SC_ROWS * 2];
    float xf[SC_ROWS * SC_IN];
    smlp_model *m = scaler_model(SMLP_FLOAT64, 3), *plain = scaler_model(SMLP_FLOAT64, 3);
    int has = -1;
    size_t k;
    if (!CHECK(m && plain, "scaler round trip: models")) return;
    scaler_data(x);
    for (k = 0; k < SC_ROWS * SC_IN; k++) xf[k] = (float)x[k];
    CHECK_STATUS(smlp_set_scaler(m, mean, std, SC_IN), SMLP_OK, "set_scaler");
    CHECK_STATUS(smlp_get_scaler(m, got_mean, got_std, SC_IN, &has), SMLP_OK, "get_scaler");
    CHECK(has == 1 && memcmp(got_mean, mean, sizeof mean) == 0 && memcmp(got_std, std, sizeof std) == 0,
          "set/get round trip is bit-exact");
    has = -1;
    CHECK_STATUS(smlp_get_scaler(m, NULL, NULL, 0, &has), SMLP_OK, "get_scaler flag only");
    CHECK(has == 1, "get_scaler flag only: 1");
    CHECK_STATUS(smlp_get_scaler(m, got_mean, got_std, SC_IN + 1, &has), SMLP_ERR_SHAPE_MISMATCH,
                 "get_scaler with n_inputs 5");
    CHECK_STATUS(smlp_get_scaler(m, got_mean, got_std, SC_IN, NULL), SMLP_ERR_NULL_ARGUMENT,
                 "get_scaler with out_has_scaler NULL");
    CHECK_STATUS(smlp_get_scaler(NULL, got_mean, got_std, SC_IN, &has), SMLP_ERR_NULL_ARGUMENT,
                 "get_scaler NULL model");
    CHECK_STATUS(smlp_predict(m, SMLP_FLOAT64, x, SC_ROWS, SC_IN, o_before, 2), SMLP_OK, "predict");

    /* Rejected values: status, message, and the scaler in place is unchanged. */
#define EXPECT_SCALER_REJECTED(mp, sp, n, status, part, what)                                          \
    do {                                                                                               \
        CHECK_STATUS(smlp_set_scaler(m, (mp), (sp), (n)), (status), "set_scaler: %s", what);           \
        CHECK(contains(smlp_last_error(), (part)), "set_scaler %s: message names \"%s\": \"%s\"", what, \
              part, smlp_last_error());                                                                \
        has = -1;                                                                                      \
        smlp_get_scaler(m, got_mean, got_std, SC_IN, &has);                                            \
        smlp_predict(m, SMLP_FLOAT64, x, SC_ROWS, SC_IN, o_now, 2);                                    \
        CHECK(has == 1 && memcmp(got_mean, mean, sizeof mean) == 0 &&                                  \
                  memcmp(got_std, std, sizeof std) == 0 && memcmp(o_now, o_before, sizeof o_now) == 0, \
              "set_scaler %s: the previous scaler is unchanged", what);                                \
    } while (0)

    memcpy(bad, std, sizeof bad); bad[2] = 0.0;
    EXPECT_SCALER_REJECTED(mean, bad, SC_IN, SMLP_ERR_INVALID_ARGUMENT, "std[2]", "std 0");
    memcpy(bad, std, sizeof bad); bad[0] = -1.0;
    EXPECT_SCALER_REJECTED(mean, bad, SC_IN, SMLP_ERR_INVALID_ARGUMENT, "std[0]", "std negative");
    memcpy(bad, std, sizeof bad); bad[3] = NAN;
    EXPECT_SCALER_REJECTED(mean, bad, SC_IN, SMLP_ERR_INVALID_ARGUMENT, "std[3]", "std NaN");
    memcpy(bad, std, sizeof bad); bad[1] = INFINITY;
    EXPECT_SCALER_REJECTED(mean, bad, SC_IN, SMLP_ERR_INVALID_ARGUMENT, "std[1]", "std inf");
    memcpy(bad, mean, sizeof bad); bad[1] = NAN;
    EXPECT_SCALER_REJECTED(bad, std, SC_IN, SMLP_ERR_INVALID_ARGUMENT, "mean[1]", "mean NaN");
    memcpy(bad, mean, sizeof bad); bad[0] = -INFINITY;
    EXPECT_SCALER_REJECTED(bad, std, SC_IN, SMLP_ERR_INVALID_ARGUMENT, "mean[0]", "mean -inf");
    EXPECT_SCALER_REJECTED(mean, std, SC_IN - 1, SMLP_ERR_SHAPE_MISMATCH, "n_inputs", "n_inputs 3");
    EXPECT_SCALER_REJECTED(mean, std, SC_IN + 1, SMLP_ERR_SHAPE_MISMATCH, "n_inputs", "n_inputs 5");
    EXPECT_SCALER_REJECTED(NULL, std, SC_IN, SMLP_ERR_NULL_ARGUMENT, "mean", "mean NULL");
    EXPECT_SCALER_REJECTED(mean, NULL, SC_IN, SMLP_ERR_NULL_ARGUMENT, "std", "std NULL");

    /* fit_scaler failures keep the scaler too. */
    x[4 * SC_IN + 2] = NAN;
    CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT64, x, SC_ROWS, SC_IN), SMLP_ERR_NON_FINITE, "fit_scaler NaN");
    CHECK(contains(smlp_last_error(), "row 4"), "fit_scaler NaN: message names row 4: \"%s\"", smlp_last_error());
    scaler_data(x);
    CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT32, xf, SC_ROWS, SC_IN), SMLP_ERR_DTYPE_MISMATCH,
                 "fit_scaler float32 data");
    CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT64, x, SC_ROWS, SC_IN - 1), SMLP_ERR_SHAPE_MISMATCH,
                 "fit_scaler n_inputs 3");
    CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT64, x, 0, SC_IN), SMLP_ERR_SHAPE_MISMATCH, "fit_scaler 0 rows");
    CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT64, NULL, SC_ROWS, SC_IN), SMLP_ERR_NULL_ARGUMENT,
                 "fit_scaler NULL x");
    has = -1;
    smlp_get_scaler(m, got_mean, got_std, SC_IN, &has);
    CHECK(has == 1 && memcmp(got_mean, mean, sizeof mean) == 0 && memcmp(got_std, std, sizeof std) == 0,
          "failed fit_scaler calls left the scaler unchanged");

    /* clear: back to raw inputs. */
    CHECK_STATUS(smlp_clear_scaler(m), SMLP_OK, "clear_scaler");
    has = -1;
    got_mean[0] = 42;
    CHECK_STATUS(smlp_get_scaler(m, got_mean, got_std, SC_IN, &has), SMLP_OK, "get after clear");
    CHECK(has == 0 && got_mean[0] == 42, "after clear: has 0, outputs untouched");
    CHECK(has_scaler(m) == 0, "model info: no scaler after clear");
    CHECK_STATUS(smlp_predict(m, SMLP_FLOAT64, x, SC_ROWS, SC_IN, o_now, 2), SMLP_OK, "predict after clear");
    CHECK_STATUS(smlp_predict(plain, SMLP_FLOAT64, x, SC_ROWS, SC_IN, o_plain, 2), SMLP_OK, "predict plain");
    CHECK(memcmp(o_now, o_plain, sizeof o_now) == 0, "after clear, predict equals a model that never had one");
    CHECK_STATUS(smlp_clear_scaler(m), SMLP_OK, "clear twice is fine");
    CHECK_STATUS(smlp_clear_scaler(NULL), SMLP_ERR_NULL_ARGUMENT, "clear NULL");
    CHECK_STATUS(smlp_set_scaler(NULL, mean, std, SC_IN), SMLP_ERR_NULL_ARGUMENT, "set NULL model");
#undef EXPECT_SCALER_REJECTED
    smlp_free(m);
    smlp_free(plain);
}

/* ---- set_epoch ------------------------------------------------------------------------ */

static void test_set_epoch(void) {
    smlp_model *m = reg_model(SMLP_REDUCTION_MEAN, 1);
    if (!CHECK(m != NULL, "set_epoch: model")) return;
    CHECK(model_epoch(m) == 0, "a new model is at epoch 0");
    CHECK_STATUS(smlp_set_epoch(m, 17), SMLP_OK, "set_epoch 17");
    CHECK(model_epoch(m) == 17, "epoch 17 in model info");
    CHECK_STATUS(smlp_set_epoch(NULL, 1), SMLP_ERR_NULL_ARGUMENT, "set_epoch NULL");
    /* The header lists only NULL_ARGUMENT and BUSY: any size_t is an epoch. */
    CHECK_STATUS(smlp_set_epoch(m, (size_t)1 << 63), SMLP_OK, "set_epoch 2^63 (a valid size_t)");
    smlp_free(m);
}

/* ---- Clipping --------------------------------------------------------------------------- */

static void test_clipping(double clip, const char *what) {
    smlp_model *m = reg_model(SMLP_REDUCTION_MEAN, 41);
    smlp_dataset d = dense_set(SMLP_FLOAT64, 8, N_IN, reg_x, N_OUT, reg_y);
    smlp_optimizer_config c;
    double p[64], g[64], after[64], loss = NAN;
    long double sq = 0;
    double norm, scale, worst = 0, lr = 0.3;
    size_t i, n;
    if (!CHECK(m != NULL, "clipping: model")) return;
    n = smlp_param_count(m);
    smlp_optimizer_config_init(&c, SMLP_SGD);
    c.learning_rate = lr;
    c.clip_norm = clip;
    CHECK_STATUS(smlp_set_optimizer(m, &c), SMLP_OK, "%s: optimizer", what);
    CHECK_STATUS(smlp_get_params(m, SMLP_FLOAT64, p, n), SMLP_OK, "%s: params", what);
    CHECK_STATUS(smlp_gradients(m, &d, &loss, g, n), SMLP_OK, "%s: gradients", what);
    for (i = 0; i < n; i++) sq += (long double)g[i] * g[i];
    norm = sqrt((double)sq);
    scale = clip > 0 ? clip / (norm + 1e-6) : 1.0;
    if (scale > 1) scale = 1;
    CHECK_STATUS(smlp_step(m, &d, NULL), SMLP_OK, "%s: step", what);
    CHECK_STATUS(smlp_get_params(m, SMLP_FLOAT64, after, n), SMLP_OK, "%s: params after", what);
    for (i = 0; i < n; i++) {
        double want = p[i] - lr * (g[i] * scale);
        double r = fabs(after[i] - want) / fmax(fabs(want), 1e-300);
        if (r > worst) worst = r;
    }
    CHECK(worst <= 1e-14, "%s (norm %.6g, clip %.6g, scale %.6g): step = p - lr * g * min(1, c / (norm + 1e-6)) "
          "within 1e-14 relative (worst %.3g)", what, norm, clip, scale, worst);
    if (clip > 0 && clip < norm)
        CHECK(scale < 0.5, "%s: the test really clips (scale %.3g)", what, scale);
    smlp_free(m);
}

/* ---- The digits example's claim ---------------------------------------------------------- */

static void data_path(char *out, size_t size, const char *file) {
    const char *here = __FILE__, *cut = strstr(here, "Tests/c/test_training.c");
    if (cut != NULL) snprintf(out, size, "%.*sexamples/data/%s", (int)(cut - here), here, file);
    else snprintf(out, size, "examples/data/%s", file);
}

static void test_digits(void) {
    char train_path[1024], test_path[1024];
    double *train_x = NULL, *test_x = NULL, loss = NAN, accuracy = NAN, seconds;
    int32_t *train_y = NULL, *test_y = NULL;
    size_t n_train = 0, n_test = 0;
    static const size_t sizes[3] = {DIGITS_N_FEATURES, 64, DIGITS_N_CLASSES};
    static const smlp_activation acts[2] = {SMLP_RELU, SMLP_SOFTMAX};
    smlp_model *m;
    smlp_optimizer_config adam;
    smlp_train_options o;
    smlp_train_summary s;
    smlp_dataset train, test;
    clock_t start;
    data_path(train_path, sizeof train_path, "digits_train.csv");
    data_path(test_path, sizeof test_path, "digits_test.csv");
    if (!CHECK(digits_load_csv(train_path, &train_x, &train_y, &n_train) == 0 &&
                   digits_load_csv(test_path, &test_x, &test_y, &n_test) == 0,
               "digits: read %s and %s", train_path, test_path)) {
        free(train_x); free(train_y); free(test_x); free(test_y);
        return;
    }
    CHECK(n_train == 1437 && n_test == 360, "digits: 1437 training and 360 test rows");
    m = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 2024);
    if (CHECK(m != NULL, "digits: model")) {
        start = clock();
        smlp_optimizer_config_init(&adam, SMLP_ADAM);
        adam.learning_rate = 0.003;
        adam.schedule = SMLP_SCHEDULE_COSINE;
        adam.t_max = 30;
        CHECK_STATUS(smlp_set_optimizer(m, &adam), SMLP_OK, "digits: Adam");
        CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT64, train_x, n_train, DIGITS_N_FEATURES), SMLP_OK,
                     "digits: fit_scaler");
        train = label_set(n_train, DIGITS_N_FEATURES, train_x, DIGITS_N_CLASSES, train_y);
        test = label_set(n_test, DIGITS_N_FEATURES, test_x, DIGITS_N_CLASSES, test_y);
        smlp_train_options_init(&o);
        o.epochs = 30;
        o.batch_size = 32;
        CHECK_STATUS(smlp_train(m, &train, &o, &s), SMLP_OK, "digits: train");
        CHECK_STATUS(smlp_evaluate(m, &test, &loss, &accuracy), SMLP_OK, "digits: evaluate");
        seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
        printf("digits: 30 epochs, test loss %.4f, test accuracy %.4f, %.2f s CPU\n", loss, accuracy, seconds);
        CHECK(accuracy >= 0.96, "digits: test accuracy %.4f >= 0.96 as examples/digits.c promises", accuracy);
        /* The time is printed, never asserted: this machine is shared and noisy, and
         * speed is bench/'s business (make bench). */
        smlp_free(m);
    }
    free(train_x);
    free(train_y);
    free(test_x);
    free(test_y);
}

int main(void) {
    make_data();
    test_defaults();
    test_reproducible(SMLP_FLOAT64);
    test_reproducible(SMLP_FLOAT32);
    /* 23 rows: batch 5 is 4 full batches and a partial one of 3. */
    test_in_order(5, 0, SMLP_REDUCTION_MEAN, 5);
    test_in_order(5, 0, SMLP_REDUCTION_SUM, 5);
    test_in_order(5, 1, SMLP_REDUCTION_MEAN, 4);
    test_in_order(5, 1, SMLP_REDUCTION_SUM, 4);
    test_in_order(1, 0, SMLP_REDUCTION_MEAN, 23);
    test_in_order(23, 1, SMLP_REDUCTION_MEAN, 1);
    test_in_order(100, 0, SMLP_REDUCTION_MEAN, 1); /* larger than n: one batch */
    test_in_order(100, 0, SMLP_REDUCTION_SUM, 1);
    test_in_order(100, 1, SMLP_REDUCTION_MEAN, 1); /* "a larger value means one batch of all rows" */
    test_huge_batch_size();
    test_early_stopping(0.0, 5);
    test_early_stopping(1e-3, 3);
    test_early_stopping_min_delta_huge();
    test_schedule(SMLP_SCHEDULE_CONSTANT, 0);
    test_schedule(SMLP_SCHEDULE_STEP, 0);
    test_schedule(SMLP_SCHEDULE_EXPONENTIAL, 0);
    test_schedule(SMLP_SCHEDULE_COSINE, 0);
    test_schedule(SMLP_SCHEDULE_STEP, 2);
    test_schedule(SMLP_SCHEDULE_COSINE, 2);
    test_schedule(SMLP_SCHEDULE_INVERSE_SCALING, 0);
    test_schedule(SMLP_SCHEDULE_INVERSE_SCALING, 1000); /* e = samples seen, as the binding sets it */
    test_callback_stops_and_busy();
    test_callback_and_patience_in_one_epoch();
    test_non_finite_data();
    test_divergence_mid_run();
    test_last_update_overflows();
    test_bad_arguments();
    test_evaluate();
    test_evaluate_errors();
    test_train_invalidates_cache();
    test_fit_scaler();
    test_fit_scaler_constant_inexact();
    test_fit_scaler_small_scale();
    test_scaler_predict_equivalence(SMLP_FLOAT64);
    test_scaler_predict_equivalence(SMLP_FLOAT32);
    test_scaler_everywhere();
    test_scaler_round_trip_and_errors();
    test_set_epoch();
    test_clipping(0.05, "clip 0.05");
    test_clipping(1.0, "clip 1.0");
    test_clipping(1e6, "clip 1e6 (inactive)");
    test_clipping(0.0, "no clipping");
    test_digits();
    return check_summary();
}
