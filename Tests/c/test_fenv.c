/*
 * test_fenv.c - every call but the per-row ones (smlp_predict, smlp_step,
 * smlp_gradients) computes in the default floating-point environment whatever the
 * caller's, and gives the caller's back (include/swiftmlp.h, "Floating point"):
 *   - with traps enabled (feenableexcept of invalid, divide-by-zero, overflow,
 *     underflow), calls whose arithmetic meets NaN, infinity, overflow or underflow
 *     return their documented status instead of raising SIGFPE: training on a NaN
 *     input, clipping a gradient whose squared norm overflows, evaluating saturated
 *     units, training XOR to a tiny loss;
 *   - under another rounding mode, or with flush-to-zero and denormals-are-zero set,
 *     the same seed gives the same parameters, a FANN data file reads back the bits
 *     written, and an overflowing training step is NON_FINITE (rounding toward zero
 *     would stop at the largest float);
 *   - after every call, the per-row ones too, the caller's traps, rounding mode and
 *     SSE control word are as they were.
 * A SIGFPE ends the test (no report: run.sh counts that as a failure).
 */
#define _GNU_SOURCE
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "check.h"
#include "model_util.h"

#define TRAPS (FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW)

static const size_t sizes[3] = {2, 4, 1};
static const smlp_activation acts[2] = {SMLP_TANH, SMLP_SIGMOID};
static const double xor_x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, xor_y[4] = {0, 1, 1, 0};

static unsigned control_word(void) {
#if defined(__x86_64__)
    return _mm_getcsr() & 0xFFC0u;
#else
    return 0;
#endif
}

/* Traps on around one call: its status, with the traps and control word checked after. */
#define TRAPPED(call, expected, what)                                                                  \
    do {                                                                                               \
        smlp_status trapped_status;                                                                    \
        unsigned before;                                                                               \
        feenableexcept(TRAPS);                                                                         \
        before = control_word();                                                                       \
        trapped_status = (call);                                                                       \
        CHECK(fegetexcept() == TRAPS && control_word() == before, "%s: the caller's traps are back", what); \
        fedisableexcept(FE_ALL_EXCEPT);                                                                \
        CHECK_STATUS(trapped_status, expected, "%s, with traps on", what);                            \
    } while (0)

static void test_traps(void) {
    smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 7);
    double x[8], g[17];
    smlp_optimizer_config clip;
    smlp_train_options options;
    double evaluated_loss, evaluated_accuracy;
    int i;
    if (!CHECK(model != NULL, "model")) return;
    memcpy(x, xor_x, sizeof x);
    x[7] = NAN;
    smlp_dataset bad = dense_set(SMLP_FLOAT64, 4, 2, x, 1, xor_y);
    smlp_train_options_init(&options);
    options.epochs = 1;
    options.batch_size = 4;
    TRAPPED(smlp_train(model, &bad, &options, NULL), SMLP_ERR_NON_FINITE, "smlp_train on a NaN input");

    /* A gradient whose squared norm overflows, clipped: finite, so OK. */
    smlp_optimizer_config_init(&clip, SMLP_SGD);
    clip.clip_norm = 1;
    CHECK_STATUS(smlp_set_optimizer(model, &clip), SMLP_OK, "clip_norm 1");
    for (i = 0; i < 17; i++) g[i] = 1e200;
    TRAPPED(smlp_apply_gradients(model, SMLP_FLOAT64, g, 17, 1.0), SMLP_OK, "a clipped gradient of norm 4e200");

    /* Logits far past saturation: sigmoid's e^-|z| underflows. */
    for (i = 0; i < 17; i++) g[i] = 300.0;
    CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT64, g, 17), SMLP_OK, "large parameters");
    smlp_dataset xor4 = dense_set(SMLP_FLOAT64, 4, 2, xor_x, 1, xor_y);
    TRAPPED(smlp_evaluate(model, &xor4, &evaluated_loss, &evaluated_accuracy), SMLP_OK, "evaluate saturated units");

    /* XOR trained to a tiny loss with RPROP: outputs and deltas near the underflow range. */
    smlp_free(model);
    model = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 7);
    if (!CHECK(model != NULL, "model")) return;
    smlp_optimizer_config_init(&clip, SMLP_RPROP);
    CHECK_STATUS(smlp_set_optimizer(model, &clip), SMLP_OK, "RPROP");
    options.epochs = 2000;
    options.batch_size = 4;
    options.shuffle = 0;
    smlp_dataset xor = dense_set(SMLP_FLOAT64, 4, 2, xor_x, 1, xor_y);
    TRAPPED(smlp_train(model, &xor, &options, NULL), SMLP_OK, "2,000 RPROP epochs on XOR");
    smlp_free(model);
}

/* Parameters, a prediction (made in the caller's environment) and a FANN data round
 * trip under the current environment. */
static int snapshot(double *params, double *prediction, double *reread, const char *path) {
    smlp_model *model = make_model(SMLP_FLOAT32, 3, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 11);
    float p[17], in[8], out[4], values[3] = {0.1f, 1.0f / 3, 2.7182817f};
    smlp_owned_dataset *loaded = NULL;
    int i, ok = model != NULL;
    if (!ok) return 0;
    ok &= smlp_get_params(model, SMLP_FLOAT32, p, 17) == SMLP_OK;
    for (i = 0; i < 17; i++) params[i] = p[i];
    for (i = 0; i < 8; i++) in[i] = (float)xor_x[i] * 0.7f + 0.1f;
    ok &= smlp_predict(model, SMLP_FLOAT32, in, 4, 2, out, 1) == SMLP_OK;
    for (i = 0; i < 4; i++) prediction[i] = out[i];
    smlp_dataset data = dense_set(SMLP_FLOAT32, 1, 2, values, 1, values + 2);
    ok &= smlp_data_save_fann(path, &data) == SMLP_OK;
    ok &= smlp_data_load_fann(path, SMLP_FLOAT32, &loaded) == SMLP_OK;
    if (loaded != NULL) {
        const float *x = loaded->data.x, *y = loaded->data.y;
        reread[0] = x[0];
        reread[1] = x[1];
        reread[2] = y[0];
    }
    smlp_data_free(loaded);
    smlp_free(model);
    return ok;
}

static void test_modes(void) {
    char path[256];
    double p0[17], o0[4], r0[3], p[17], o[4], r[3];
    const int modes[3] = {FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
    const char *names[4] = {"FE_DOWNWARD", "FE_UPWARD", "FE_TOWARDZERO", "flush-to-zero and denormals-are-zero"};
    int k;
    snprintf(path, sizeof path, "%s/smlp-fenv-%d.data", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    if (!CHECK(snapshot(p0, o0, r0, path), "the reference snapshot")) return;
    CHECK(r0[0] == 0.1f && r0[1] == 1.0f / 3 && r0[2] == 2.7182817f, "a FANN data file reads back its bits");
    for (k = 0; k < 4; k++) {
        unsigned before;
        if (k == 3) {
#if defined(__x86_64__)
            _mm_setcsr(_mm_getcsr() | 0x8040u); /* FTZ (bit 15) and DAZ (bit 6) */
#else
            continue;
#endif
        } else {
            fesetround(modes[k]);
        }
        before = control_word();
        int ok = snapshot(p, o, r, path);
        CHECK(control_word() == before && (k == 3 || fegetround() == modes[k]), "%s: the caller's mode is back",
              names[k]);
#if defined(__x86_64__)
        _mm_setcsr(_mm_getcsr() & ~0x8040u);
#endif
        fesetround(FE_TONEAREST);
        if (!CHECK(ok, "%s: the calls succeed", names[k])) continue;
        CHECK(memcmp(p, p0, sizeof p) == 0, "%s: the same seed gives the same parameters", names[k]);
        for (int j = 0; j < 4; j++)  /* a few roundings of 2-4-1, each off by an ulp at most */
            CHECK_CLOSE(o[j], o0[j], 1e-6, "%s: prediction %d near the default one", names[k], j);
        CHECK(memcmp(r, r0, sizeof r) == 0, "%s: the FANN data file reads back its bits", names[k]);
    }
    unlink(path);

    /* An update that overflows (p - lr g with lr 3e38 and g of a few units): toward zero
     * it would round to -FLT_MAX, a finite value, and the step would pass. */
    {
        static const smlp_activation linear[2] = {SMLP_IDENTITY, SMLP_IDENTITY};
        smlp_model *model = make_model(SMLP_FLOAT32, 3, sizes, linear, SMLP_MSE, SMLP_REDUCTION_MEAN, 3);
        smlp_optimizer_config sgd;
        float x[8], y[4] = {0, 0, 0, 0}, ones[17];
        int i;
        if (!CHECK(model != NULL, "model")) return;
        for (i = 0; i < 8; i++) x[i] = (float)xor_x[i] + 1;
        for (i = 0; i < 17; i++) ones[i] = 1;
        CHECK_STATUS(smlp_set_params(model, SMLP_FLOAT32, ones, 17), SMLP_OK, "parameters of 1");
        smlp_optimizer_config_init(&sgd, SMLP_SGD);
        sgd.learning_rate = 3e38;
        CHECK_STATUS(smlp_set_optimizer(model, &sgd), SMLP_OK, "a huge learning rate");
        smlp_dataset data = dense_set(SMLP_FLOAT32, 4, 2, x, 1, y);
        smlp_train_options options;
        smlp_train_options_init(&options);
        options.epochs = 1;
        options.batch_size = 4;
        fesetround(FE_TOWARDZERO);
        smlp_status status = smlp_train(model, &data, &options, NULL);
        fesetround(FE_TONEAREST);
        CHECK_STATUS(status, SMLP_ERR_NON_FINITE, "FE_TOWARDZERO: an overflowing training step is NON_FINITE");
        smlp_free(model);
    }
}

int main(void) {
    test_traps();
    test_modes();
    return check_summary();
}
