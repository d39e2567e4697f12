/*
 * test_nonfinite.c - NaN or infinity in a caller's data is reported, and the model
 * stays exactly as it was.
 *
 * For smlp_predict, smlp_gradients, smlp_step, smlp_train (training and validation
 * data), smlp_evaluate and smlp_fit_scaler; for float32 and float64; for NaN, +Inf and
 * -Inf; in x and (where the call takes targets) in y; on a relu network (relu maps NaN
 * to 0, so a bad input need not show in the loss) with and without a scaler:
 *   - the status is SMLP_ERR_NON_FINITE;
 *   - smlp_last_error() names the function and the first bad row ("row 5"), also when
 *     a later row is bad too and when the first bad value is in y and a later one in x;
 *   - the model's saved bytes (parameters, optimizer state, epoch, generator, scaler,
 *     metadata) are unchanged, and smlp_predict did not write out.
 * And the other side: data that are finite but huge (|x| near DBL_MAX, or 1e200 whose
 * square overflows) are not non-finite data; smlp_fit_scaler must either compute the
 * mean and standard deviation (both finite here) or say NON_FINITE - not fail with a
 * status the header does not list, and not silently store std 1 for a column whose
 * spread is 1e200 (fit_scaler_huge_finite).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

enum { ROWS = 8, N_IN = 3, N_OUT = 2 };

static const size_t sizes[3] = {N_IN, 5, N_OUT};
static const smlp_activation acts[2] = {SMLP_RELU, SMLP_SIGMOID};

enum call { PREDICT, GRADIENTS, STEP, TRAIN, TRAIN_VALIDATION, EVALUATE, FIT_SCALER, N_CALLS };
static const char *const call_names[N_CALLS] = {"smlp_predict", "smlp_gradients", "smlp_step", "smlp_train",
                                                "smlp_train", "smlp_evaluate", "smlp_fit_scaler"};
static const char *const call_labels[N_CALLS] = {"predict", "gradients", "step", "train", "train (validation data)",
                                                 "evaluate", "fit_scaler"};

static unsigned char *image(smlp_model *m, size_t *n) {
    unsigned char *bytes;
    *n = 0;
    smlp_save_to_buffer(m, NULL, 0, n);
    bytes = malloc(*n ? *n : 1);
    if (bytes != NULL && smlp_save_to_buffer(m, bytes, *n, n) != SMLP_OK) {
        free(bytes);
        return NULL;
    }
    return bytes;
}

/* 1 when message contains "row <row>" not followed by another digit. */
static int names_row(const char *message, int row) {
    char want[32];
    const char *at = message;
    snprintf(want, sizeof want, "row %d", row);
    while ((at = strstr(at, want)) != NULL) {
        char next = at[strlen(want)];
        if (next < '0' || next > '9') return 1;
        at++;
    }
    return 0;
}

static void put(void *data, smlp_dtype dtype, size_t index, double value) {
    if (dtype == SMLP_FLOAT32) ((float *)data)[index] = (float)value;
    else ((double *)data)[index] = value;
}

/* One case: `bad` at (bad_row, column 1) of x or y, plus a second bad value at a later
 * row (of x if first_in_y, to check that the first bad row is the one named). */
static void one_case(smlp_dtype dtype, int with_scaler, enum call call, int in_y, double bad, int bad_row) {
    size_t e = dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double);
    double xs[ROWS * N_IN], ys[ROWS * N_OUT];
    void *x = malloc(ROWS * N_IN * e), *y = malloc(ROWS * N_OUT * e), *gx = malloc(ROWS * N_IN * e);
    void *gy = malloc(ROWS * N_OUT * e), *out = malloc(ROWS * N_OUT * e), *sentinel = malloc(ROWS * N_OUT * e);
    smlp_model *m = make_model(dtype, 3, sizes, acts, SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 17);
    smlp_optimizer_config adam;
    smlp_dataset d, good;
    smlp_train_options o;
    unsigned char *before = NULL, *after = NULL;
    size_t n_before = 0, n_after = 0, i;
    smlp_status st = SMLP_OK;
    double loss = 0, acc = 0;
    char what[160];
    int later_row = bad_row + 1 < ROWS ? bad_row + 1 : -1;
    snprintf(what, sizeof what, "%s %s%s: %g in %s row %d", dtype == SMLP_FLOAT32 ? "float32" : "float64",
             call_labels[call], with_scaler ? " (scaler)" : "", bad, in_y ? "y" : "x", bad_row);
    if (!CHECK(m && x && y && gx && gy && out && sentinel, "%s: setup", what)) goto done;
    fill_uniform(xs, ROWS * N_IN, 3, -2, 2);
    fill_uniform(ys, ROWS * N_OUT, 4, 0, 1);
    for (i = 0; i < ROWS * N_IN; i++) put(x, dtype, i, xs[i]), put(gx, dtype, i, xs[i]);
    for (i = 0; i < ROWS * N_OUT; i++) put(y, dtype, i, ys[i] > 0.5), put(gy, dtype, i, ys[i] > 0.5);
    if (in_y) {
        put(y, dtype, (size_t)bad_row * N_OUT + 1, bad);
        if (later_row >= 0) put(x, dtype, (size_t)later_row * N_IN + 2, bad); /* later, in x */
    } else {
        put(x, dtype, (size_t)bad_row * N_IN + 1, bad);
        if (later_row >= 0) put(x, dtype, (size_t)later_row * N_IN, -bad);
    }
    memset(out, 0x5A, ROWS * N_OUT * e);
    memcpy(sentinel, out, ROWS * N_OUT * e);
    /* A model with some history: Adam state, an epoch, metadata, maybe a scaler. */
    smlp_optimizer_config_init(&adam, SMLP_ADAM);
    smlp_set_optimizer(m, &adam);
    good.dtype = dtype;
    good.n_rows = ROWS;
    good.n_inputs = N_IN;
    good.x = gx;
    good.n_outputs = N_OUT;
    good.y = gy;
    good.labels = NULL;
    if (with_scaler) smlp_fit_scaler(m, dtype, gx, ROWS, N_IN);
    smlp_step(m, &good, NULL);
    smlp_set_epoch(m, 4);
    smlp_set_metadata(m, "case", what);
    before = image(m, &n_before);
    d = good;
    d.x = x;
    d.y = y;
    smlp_train_options_init(&o);
    o.epochs = 2;
    o.batch_size = 3;
    switch (call) {
    case PREDICT: st = smlp_predict(m, dtype, x, ROWS, N_IN, out, N_OUT); break;
    case GRADIENTS: st = smlp_gradients(m, &d, &loss, NULL, 0); break;
    case STEP: st = smlp_step(m, &d, &loss); break;
    case TRAIN: st = smlp_train(m, &d, &o, NULL); break;
    case TRAIN_VALIDATION:
        o.validation = &d;
        st = smlp_train(m, &good, &o, NULL);
        break;
    case EVALUATE: st = smlp_evaluate(m, &d, &loss, &acc); break;
    default: st = smlp_fit_scaler(m, dtype, x, ROWS, N_IN); break;
    }
    CHECK_STATUS(st, SMLP_ERR_NON_FINITE, "%s", what);
    if (st != SMLP_OK) {
        const char *message = smlp_last_error();
        CHECK(strncmp(message, call_names[call], strlen(call_names[call])) == 0, "%s: the message names %s", what,
              call_names[call]);
        CHECK(names_row(message, bad_row), "%s: the message names the first bad row, %d", what, bad_row);
        if (call == TRAIN_VALIDATION)
            CHECK(strstr(message, "validation") != NULL, "%s: the message says it is the validation data", what);
    }
    after = image(m, &n_after);
    CHECK(before != NULL && after != NULL && n_before == n_after && memcmp(before, after, n_before) == 0,
          "%s: the model is unchanged (saved bytes equal)", what);
    if (call == PREDICT) CHECK(memcmp(out, sentinel, ROWS * N_OUT * e) == 0, "%s: out was not written", what);
done:
    free(before);
    free(after);
    free(x);
    free(y);
    free(gx);
    free(gy);
    free(out);
    free(sentinel);
    smlp_free(m);
}

static void fit_scaler_huge_finite(void) {
    /* column 0: DBL_MAX, DBL_MAX        mean DBL_MAX (finite), std 0 -> 1 (constant)
     * column 1: 1e200, -1e200           mean 0, std 1e200 (finite; its square is not)
     * column 2: 1, 2                    mean 1.5, std 0.5                           */
    const double x[2 * 3] = {1.7976931348623157e308, 1e200, 1, 1.7976931348623157e308, -1e200, 2};
    const size_t s3[2] = {3, 1};
    const smlp_activation a1[1] = {SMLP_IDENTITY};
    smlp_model *m = make_model(SMLP_FLOAT64, 2, s3, a1, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
    double mean[3] = {0, 0, 0}, std[3] = {0, 0, 0};
    int has = 0;
    smlp_status st;
    if (!CHECK(m != NULL, "huge finite: create")) return;
    st = smlp_fit_scaler(m, SMLP_FLOAT64, x, 2, 3);
    printf("fit_scaler on finite data near DBL_MAX: %s \"%s\"\n", smlp_status_string(st), st ? smlp_last_error() : "");
    CHECK(st == SMLP_OK || st == SMLP_ERR_NON_FINITE,
          "huge finite: fit_scaler gives OK or NON_FINITE (a status the header lists), not %s", smlp_status_string(st));
    if (st == SMLP_OK && smlp_get_scaler(m, mean, std, 3, &has) == SMLP_OK) {
        CHECK(mean[0] == 1.7976931348623157e308 && std[0] == 1, "huge finite: column of DBL_MAX: mean DBL_MAX, std 1");
        CHECK(mean[2] == 1.5 && std[2] == 0.5, "huge finite: an ordinary column next to it is right");
    }
    smlp_free(m);
    /* Without the DBL_MAX column: (1e200, -1e200) and (1, 2). */
    {
        const double x2[2 * 2] = {1e200, 1, -1e200, 2};
        const size_t s2[2] = {2, 1};
        m = make_model(SMLP_FLOAT64, 2, s2, a1, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
        if (!CHECK(m != NULL, "huge finite: create")) return;
        st = smlp_fit_scaler(m, SMLP_FLOAT64, x2, 2, 2);
        CHECK(st == SMLP_OK || st == SMLP_ERR_NON_FINITE, "huge finite (1e200): fit_scaler gives OK or NON_FINITE, not %s",
              smlp_status_string(st));
        if (st == SMLP_OK && smlp_get_scaler(m, mean, std, 2, &has) == SMLP_OK) {
            printf("fit_scaler on (1e200, -1e200): mean %g, std %g\n", mean[0], std[0]);
            CHECK_CLOSE(std[0], 1e200, 1e-12, "huge finite: the std of (1e200, -1e200) is 1e200, not the constant-column 1");
            CHECK(mean[1] == 1.5 && std[1] == 0.5, "huge finite: an ordinary column next to it is right");
        }
        smlp_free(m);
    }
}

/* After the documented overflow exception (here through smlp_apply_gradients, as the
 * fuzzer found it), a caller restores the last good parameters with smlp_set_params
 * (which keeps the optimizer state, as documented). The model should then be usable
 * again: the next step trains it and it can be saved. Today the overflow has left
 * inf in RMSprop's square average, so every later step fails with NON_FINITE saying
 * "the parameters now hold the overflowed values" (they are the restored, finite
 * ones, unchanged), and smlp_save_to_buffer refuses the model because that state is
 * "inf, which no training run produces" - but an overflowed update produced it. Only
 * smlp_set_optimizer, which the header does not mention for this, recovers it. */
static void overflow_then_set_params(void) {
    const size_t s2[2] = {1, 2};
    const smlp_activation a1[1] = {SMLP_SIGMOID};
    smlp_model *m = make_model(SMLP_FLOAT32, 2, s2, a1, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
    smlp_optimizer_config rms;
    float x[1] = {0.5f}, y[2] = {1.0f, 0.0f}, good[4], grad[4] = {1, 1, 1, 1}, after[4];
    smlp_dataset d;
    smlp_status st;
    size_t n = 0;
    if (!CHECK(m != NULL, "overflow recovery: create")) return;
    smlp_optimizer_config_init(&rms, SMLP_RMSPROP);
    rms.learning_rate = 0.72;
    rms.alpha = 0.14;
    smlp_set_optimizer(m, &rms);
    d.dtype = SMLP_FLOAT32;
    d.n_rows = 1;
    d.n_inputs = 1;
    d.x = x;
    d.n_outputs = 2;
    d.y = y;
    d.labels = NULL;
    CHECK_STATUS(smlp_step(m, &d, NULL), SMLP_OK, "overflow recovery: a first step");
    smlp_get_params(m, SMLP_FLOAT32, good, 4);
    st = smlp_apply_gradients(m, SMLP_FLOAT32, grad, 4, 1e20);
    CHECK_STATUS(st, SMLP_ERR_NON_FINITE, "overflow recovery: a gradient of 1e20 overflows the update (documented)");
    CHECK_STATUS(smlp_set_params(m, SMLP_FLOAT32, good, 4), SMLP_OK, "overflow recovery: restore finite parameters");
    st = smlp_step(m, &d, NULL);
    CHECK_STATUS(st, SMLP_OK, "overflow recovery: the next step succeeds");
    smlp_get_params(m, SMLP_FLOAT32, after, 4);
    CHECK(memcmp(after, good, sizeof good) != 0, "overflow recovery: that step changed the parameters (it trained)");
    st = smlp_save_to_buffer(m, NULL, 0, &n);
    printf("after overflow, set_params and an OK step: save_to_buffer %s \"%s\"\n", smlp_status_string(st),
           st ? smlp_last_error() : "");
    CHECK_STATUS(st, SMLP_OK, "overflow recovery: the model saves");
    smlp_free(m);
}

int main(void) {
    static const double bads[3] = {NAN, INFINITY, -INFINITY};
    static const int rows[3] = {5, 0, ROWS - 1};
    int d, s, c, in_y, b, r;
    for (d = 0; d < 2; d++) {
        for (s = 0; s < 2; s++) {
            for (c = 0; c < N_CALLS; c++) {
                for (in_y = 0; in_y < 2; in_y++) {
                    if (in_y && (c == PREDICT || c == FIT_SCALER)) continue;
                    for (b = 0; b < 3; b++) {
                        for (r = 0; r < 3; r++) {
                            if (s && r > 0) continue; /* the row sweep once, without a scaler */
                            one_case(d ? SMLP_FLOAT32 : SMLP_FLOAT64, s, (enum call)c, in_y, bads[b], rows[r]);
                        }
                    }
                }
            }
        }
    }
    fit_scaler_huge_finite();
    overflow_then_set_params();
    return check_summary();
}
