/*
 * test_rprop.c - SMLP_RPROP follows the header's iRPROP- and iRPROP+ rules step by
 * step (transcribed here from the header, fed the gradient and loss smlp_gradients
 * returns), its settings are checked, a 0.1.0-sized smlp_optimizer_config is still
 * accepted, its state survives save and load exactly, a failed step changes nothing,
 * smlp_apply_gradients refuses iRPROP+, and full-batch smlp_train learns XOR.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

enum { ROWS = 6, N_IN = 3, N_HID = 4, N_OUT = 2, N_PARAMS = 3 * 4 + 4 + 4 * 2 + 2, STEPS = 40 };

static const size_t sizes[3] = {N_IN, N_HID, N_OUT};
static const smlp_activation activations[2] = {SMLP_TANH, SMLP_SIGMOID};
static double x[ROWS * N_IN], y[ROWS * N_OUT], start[N_PARAMS];

/* The header's rules, one parameter at a time, in double. */
struct reference {
    smlp_optimizer_config c;
    double p[N_PARAMS], g_prev[N_PARAMS], d[N_PARAMS], u[N_PARAMS], prev_loss;
    int sign_changes, undos;
};

static void reference_init(struct reference *r, const smlp_optimizer_config *c) {
    size_t i;
    memset(r, 0, sizeof *r);
    r->c = *c;
    memcpy(r->p, start, sizeof start);
    for (i = 0; i < N_PARAMS; i++) r->d[i] = c->rprop_delta0;
    r->prev_loss = INFINITY;
}

static double sign_of(double v) { return (double)((v > 0) - (v < 0)); }

static void reference_step(struct reference *r, const double *grad, double loss) {
    const smlp_optimizer_config *c = &r->c;
    int undo = loss > r->prev_loss, any_undo = 0;
    size_t i;
    for (i = 0; i < N_PARAMS; i++) {
        double g = grad[i], d = r->d[i];
        int s = (g == 0 || r->g_prev[i] == 0) ? 0 : ((g > 0) == (r->g_prev[i] > 0) ? 1 : -1);
        if (s < 0) r->sign_changes++;
        if (c->rprop_variant == SMLP_IRPROP_MINUS) {
            if (s > 0) {
                d *= c->rprop_increase;
            } else if (s < 0) {
                d *= c->rprop_decrease;
                g = 0;
            }
            d = fmin(fmax(d, c->rprop_delta_min), c->rprop_delta_max);
            r->p[i] -= sign_of(g) * d;
            r->g_prev[i] = g;
        } else if (s < 0) {
            d = fmin(fmax(d * c->rprop_decrease, c->rprop_delta_min), c->rprop_delta_max);
            if (undo) {
                r->p[i] -= r->u[i];
                any_undo = 1;
            }
            r->u[i] = 0;
            r->g_prev[i] = 0;
        } else {
            if (s > 0) d *= c->rprop_increase;
            d = fmin(fmax(d, c->rprop_delta_min), c->rprop_delta_max);
            r->u[i] = -sign_of(g) * d;
            r->p[i] += r->u[i];
            r->g_prev[i] = g;
        }
        r->d[i] = d;
    }
    r->undos += any_undo;
    r->prev_loss = loss;
}

static smlp_optimizer_config rprop(smlp_rprop_variant variant) {
    smlp_optimizer_config c;
    smlp_optimizer_config_init(&c, SMLP_RPROP);
    c.rprop_variant = variant;
    return c;
}

static smlp_model *fresh_model(smlp_dtype dtype) {
    smlp_model *model = make_model(dtype, 3, sizes, activations, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
    if (model != NULL && dtype == SMLP_FLOAT64) smlp_set_params(model, SMLP_FLOAT64, start, N_PARAMS);
    return model;
}

/* STEPS library steps next to the reference: the same double operations in the same
 * order, so the parameters must agree bit for bit, not just closely. */
static void run_case(const char *name, const smlp_optimizer_config *config, int want_undo) {
    smlp_model *model = fresh_model(SMLP_FLOAT64);
    const smlp_dataset batch = {SMLP_FLOAT64, ROWS, N_IN, x, N_OUT, y, NULL};
    struct reference r;
    double grad[N_PARAMS], now[N_PARAMS], loss = 0, step_loss = 0;
    int s, same = 1;
    if (!CHECK(model != NULL, "%s: create", name)) return;
    reference_init(&r, config);
    if (!CHECK_STATUS(smlp_set_optimizer(model, config), SMLP_OK, "%s: set optimizer", name)) goto done;
    for (s = 0; s < STEPS && same; s++) {
        if (smlp_gradients(model, &batch, &loss, grad, N_PARAMS) != SMLP_OK ||
            smlp_step(model, &batch, &step_loss) != SMLP_OK) {
            CHECK(0, "%s: step %d succeeds", name, s + 1);
            goto done;
        }
        reference_step(&r, grad, loss);
        smlp_get_params(model, SMLP_FLOAT64, now, N_PARAMS);
        same = memcmp(now, r.p, sizeof now) == 0 && loss == step_loss;
    }
    CHECK(same, "%s: %d steps equal the header's rule bit for bit (first difference at step %d)", name, STEPS, s);
    CHECK(r.sign_changes > 0, "%s: the run has sign changes (%d), so the shrinking branch ran", name,
          r.sign_changes);
    if (want_undo) CHECK(r.undos > 0, "%s: the loss rose after a sign change %d times: undo ran", name, r.undos);
done:
    smlp_free(model);
}

static void check_defaults(void) {
    smlp_optimizer_config c;
    smlp_optimizer_config_init(&c, SMLP_RPROP);
    CHECK(c.kind == SMLP_RPROP && c.rprop_variant == SMLP_IRPROP_MINUS && c.rprop_increase == 1.2 &&
              c.rprop_decrease == 0.5 && c.rprop_delta0 == 0.1 && c.rprop_delta_min == 1e-6 &&
              c.rprop_delta_max == 50 && c.weight_decay == 0,
          "RPROP defaults: iRPROP-, 1.2, 0.5, delta0 0.1, [1e-6, 50], no weight decay");
    smlp_optimizer_config_init(&c, SMLP_ADAM);
    CHECK(c.rprop_delta0 == 0.1 && c.rprop_variant == SMLP_IRPROP_MINUS, "other kinds get the RPROP defaults too");
}

static void check_invalid(void) {
    static const struct {
        const char *field;
        int which;
        double value;
    } cases[] = {
        {"rprop_increase", 0, 1.0},     {"rprop_increase", 0, NAN},     {"rprop_increase", 0, INFINITY},
        {"rprop_decrease", 1, 1.0},     {"rprop_decrease", 1, 0.0},     {"rprop_decrease", 1, NAN},
        {"rprop_delta0", 2, 0.0},       {"rprop_delta0", 2, 60.0},      {"rprop_delta0", 2, NAN},
        {"rprop_delta_min", 3, -1e-9},  {"rprop_delta_min", 3, 51.0},   {"rprop_delta_min", 3, NAN},
        {"rprop_delta_max", 4, INFINITY}, {"rprop_delta_max", 4, 0.0},  {"rprop_delta_max", 4, NAN},
        {"weight_decay", 5, 0.01},
    };
    smlp_model *model = fresh_model(SMLP_FLOAT64);
    smlp_model *float_model = fresh_model(SMLP_FLOAT32);
    smlp_optimizer_config good = rprop(SMLP_IRPROP_PLUS), c;
    size_t k;
    if (!CHECK(model != NULL && float_model != NULL, "create")) goto done;
    CHECK_STATUS(smlp_set_optimizer(model, &good), SMLP_OK, "a valid RPROP config");
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        c = good;
        switch (cases[k].which) {
        case 0: c.rprop_increase = cases[k].value; break;
        case 1: c.rprop_decrease = cases[k].value; break;
        case 2: c.rprop_delta0 = cases[k].value; break;
        case 3: c.rprop_delta_min = cases[k].value; break;
        case 4: c.rprop_delta_max = cases[k].value; break;
        default: c.weight_decay = cases[k].value; break;
        }
        CHECK_STATUS(smlp_set_optimizer(model, &c), SMLP_ERR_INVALID_ARGUMENT, "%s = %g is refused",
                     cases[k].field, cases[k].value);
        CHECK(strstr(smlp_last_error(), cases[k].field) != NULL, "the message names %s", cases[k].field);
    }
    c = good;
    c.rprop_variant = (smlp_rprop_variant)7;
    CHECK_STATUS(smlp_set_optimizer(model, &c), SMLP_ERR_INVALID_ARGUMENT, "variant 7 is refused");
    CHECK(strstr(smlp_last_error(), "rprop_variant") != NULL, "the message names rprop_variant");
    c = good;
    c.rprop_delta_max = 1e300;
    c.rprop_delta0 = 1e200;
    CHECK_STATUS(smlp_set_optimizer(model, &c), SMLP_OK, "delta_max 1e300 is fine in double");
    CHECK_STATUS(smlp_set_optimizer(float_model, &c), SMLP_ERR_INVALID_ARGUMENT, "but overflows float");
    c = good;
    c.rprop_delta_min = 0;
    c.rprop_delta0 = 1e-50;
    CHECK_STATUS(smlp_set_optimizer(float_model, &c), SMLP_ERR_INVALID_ARGUMENT, "delta0 1e-50 is 0 in float");
    /* A learning rate, schedule or momentum is allowed and has no effect. */
    c = good;
    c.learning_rate = 123;
    c.momentum = 0.9;
    c.schedule = SMLP_SCHEDULE_EXPONENTIAL;
    CHECK_STATUS(smlp_set_optimizer(model, &c), SMLP_OK, "lr, momentum and schedule are accepted (unused)");
done:
    smlp_free(model);
    smlp_free(float_model);
}

/* A program built against 0.1.0's header passes a smaller struct: it must be read
 * only up to its size (valgrind checks the heap copy below is not overread). */
static void check_legacy_size(void) {
    const size_t legacy = offsetof(smlp_optimizer_config, rprop_variant);
    smlp_model *model = fresh_model(SMLP_FLOAT64);
    smlp_optimizer_config c = rprop(SMLP_IRPROP_MINUS), *old;
    struct reference r;
    const smlp_dataset batch = {SMLP_FLOAT64, ROWS, N_IN, x, N_OUT, y, NULL};
    double grad[N_PARAMS], loss, now[N_PARAMS];
    if (!CHECK(model != NULL, "create")) return;
    old = malloc(legacy);
    if (!CHECK(old != NULL, "malloc")) goto done;
    memcpy(old, &c, legacy);
    old->struct_size = legacy;
    CHECK_STATUS(smlp_set_optimizer(model, old), SMLP_OK, "a 0.1.0-sized config (%zu bytes) is accepted", legacy);
    reference_init(&r, &c); /* the defaults fill the fields it lacks */
    smlp_gradients(model, &batch, &loss, grad, N_PARAMS);
    CHECK_STATUS(smlp_step(model, &batch, NULL), SMLP_OK, "step");
    reference_step(&r, grad, loss);
    smlp_get_params(model, SMLP_FLOAT64, now, N_PARAMS);
    CHECK(memcmp(now, r.p, sizeof now) == 0, "the legacy config runs RPROP with the default settings");
    old->struct_size = legacy + 8;
    CHECK_STATUS(smlp_set_optimizer(model, old), SMLP_ERR_INVALID_ARGUMENT, "any other size is refused");
    CHECK(strstr(smlp_last_error(), "struct_size") != NULL, "the message names struct_size");
    free(old);
done:
    smlp_free(model);
}

static void check_apply_gradients(void) {
    smlp_model *model = fresh_model(SMLP_FLOAT64);
    smlp_optimizer_config c = rprop(SMLP_IRPROP_PLUS);
    double grad[N_PARAMS];
    void *before;
    struct reference r;
    size_t i;
    if (!CHECK(model != NULL, "create")) return;
    for (i = 0; i < N_PARAMS; i++) grad[i] = (i % 3 == 0) ? 0.0 : (i % 2 ? 1.0 : -2.0);
    smlp_set_optimizer(model, &c);
    before = params_snapshot(model);
    CHECK_STATUS(smlp_apply_gradients(model, SMLP_FLOAT64, grad, N_PARAMS, 1.0), SMLP_ERR_INVALID_ARGUMENT,
                 "iRPROP+ refuses a gradient without a loss");
    CHECK(strstr(smlp_last_error(), "iRPROP+") != NULL, "the message says why");
    CHECK(params_equal(model, before), "nothing changed");
    c = rprop(SMLP_IRPROP_MINUS);
    smlp_set_optimizer(model, &c);
    reference_init(&r, &c);
    CHECK_STATUS(smlp_apply_gradients(model, SMLP_FLOAT64, grad, N_PARAMS, 0.5), SMLP_OK, "iRPROP- applies it");
    for (i = 0; i < N_PARAMS; i++) grad[i] *= 0.5;
    reference_step(&r, grad, 0);
    {
        double now[N_PARAMS];
        smlp_get_params(model, SMLP_FLOAT64, now, N_PARAMS);
        CHECK(memcmp(now, r.p, sizeof now) == 0, "as the rule says (a zero gradient does not move)");
        CHECK(now[0] == start[0] && now[1] == start[1] - 0.1 && now[2] == start[2] + 0.1,
              "first step: -sign(g) * delta0");
    }
    free(before);
    smlp_free(model);
}

/* Save after some steps, load, and go on in both: bit-identical, for both variants
 * and dtypes (the step sizes, previous gradients, previous updates and iRPROP+'s
 * previous loss all travel with the file). */
static void check_save_load(smlp_dtype dtype, smlp_rprop_variant variant) {
    float xf[ROWS * N_IN], yf[ROWS * N_OUT];
    const char *name = variant == SMLP_IRPROP_PLUS ? "iRPROP+" : "iRPROP-";
    const char *type = dtype == SMLP_FLOAT32 ? "float32" : "float64";
    smlp_model *model = fresh_model(dtype), *loaded = NULL;
    smlp_optimizer_config c = rprop(variant);
    smlp_dataset batch;
    void *buffer = NULL;
    size_t size = 0, i;
    int s, ok = 1;
    for (i = 0; i < ROWS * N_IN; i++) xf[i] = (float)x[i];
    for (i = 0; i < ROWS * N_OUT; i++) yf[i] = (float)y[i];
    batch = dtype == SMLP_FLOAT32 ? dense_set(dtype, ROWS, N_IN, xf, N_OUT, yf)
                                  : dense_set(dtype, ROWS, N_IN, x, N_OUT, y);
    if (!CHECK(model != NULL, "create")) return;
    c.rprop_delta0 = 0.5; /* big steps: sign changes and (iRPROP+) undos early */
    smlp_set_optimizer(model, &c);
    for (s = 0; s < 7; s++) ok &= smlp_step(model, &batch, NULL) == SMLP_OK;
    CHECK(ok, "%s %s: 7 steps", name, type);
    smlp_save_to_buffer(model, NULL, 0, &size);
    buffer = malloc(size);
    if (!CHECK(buffer != NULL, "malloc")) goto done;
    CHECK_STATUS(smlp_save_to_buffer(model, buffer, size, &size), SMLP_OK, "%s %s: save", name, type);
    CHECK_STATUS(smlp_load_from_buffer(buffer, size, &loaded), SMLP_OK, "%s %s: load", name, type);
    if (loaded == NULL) goto done;
    CHECK(((const unsigned char *)buffer)[10] == 1, "the file is format 1.1");
    for (s = 0; s < 12; s++) {
        ok &= smlp_step(model, &batch, NULL) == SMLP_OK;
        ok &= smlp_step(loaded, &batch, NULL) == SMLP_OK;
    }
    CHECK(ok && models_equal(model, loaded), "%s %s: the loaded model resumes exactly", name, type);
done:
    free(buffer);
    smlp_free(model);
    smlp_free(loaded);
}

/* A step refused for non-finite data changes nothing: the run goes on as if it had
 * never been tried. */
static void check_failed_step(void) {
    double bad_x[ROWS * N_IN];
    smlp_model *a = fresh_model(SMLP_FLOAT64), *b = fresh_model(SMLP_FLOAT64);
    smlp_optimizer_config c = rprop(SMLP_IRPROP_PLUS);
    const smlp_dataset batch = {SMLP_FLOAT64, ROWS, N_IN, x, N_OUT, y, NULL};
    const smlp_dataset bad = {SMLP_FLOAT64, ROWS, N_IN, bad_x, N_OUT, y, NULL};
    int s, ok = 1;
    if (!CHECK(a != NULL && b != NULL, "create")) goto done;
    memcpy(bad_x, x, sizeof bad_x);
    bad_x[4] = NAN;
    smlp_set_optimizer(a, &c);
    smlp_set_optimizer(b, &c);
    for (s = 0; s < 6; s++) {
        ok &= smlp_step(a, &batch, NULL) == SMLP_OK;
        ok &= smlp_step(b, &batch, NULL) == SMLP_OK;
        if (s == 2) CHECK_STATUS(smlp_step(a, &bad, NULL), SMLP_ERR_NON_FINITE, "a NaN input is refused");
    }
    CHECK(ok && models_equal(a, b), "the refused step left parameters and RPROP state as they were");
done:
    smlp_free(a);
    smlp_free(b);
}

/* Full-batch training: XOR with 2-4-1 sigmoid units, as FANN's xor example. */
static void check_train_xor(smlp_dtype dtype, smlp_rprop_variant variant) {
    static const size_t xs[3] = {2, 4, 1};
    static const smlp_activation xa[2] = {SMLP_TANH, SMLP_SIGMOID};
    static const double xd[8] = {0, 0, 0, 1, 1, 0, 1, 1}, yd[4] = {0, 1, 1, 0};
    static const float xfl[8] = {0, 0, 0, 1, 1, 0, 1, 1}, yfl[4] = {0, 1, 1, 0};
    smlp_model *model = make_model(dtype, 3, xs, xa, SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 3);
    smlp_optimizer_config c = rprop(variant);
    smlp_train_options o;
    smlp_train_summary summary;
    smlp_dataset data = dtype == SMLP_FLOAT32 ? dense_set(dtype, 4, 2, xfl, 1, yfl) : dense_set(dtype, 4, 2, xd, 1, yd);
    double accuracy = 0, loss = 1;
    if (!CHECK(model != NULL, "create")) return;
    smlp_set_optimizer(model, &c);
    smlp_train_options_init(&o);
    o.epochs = 300;
    o.batch_size = 4;
    CHECK_STATUS(smlp_train(model, &data, &o, &summary), SMLP_OK, "train");
    smlp_evaluate(model, &data, &loss, &accuracy);
    CHECK(accuracy == 1.0 && loss < 0.05, "%s %s learns XOR in 300 full-batch epochs (loss %g, accuracy %g)",
          variant == SMLP_IRPROP_PLUS ? "iRPROP+" : "iRPROP-", dtype == SMLP_FLOAT32 ? "float32" : "float64",
          loss, accuracy);
    smlp_free(model);
}

int main(void) {
    smlp_optimizer_config c;
    fill_uniform(x, ROWS * N_IN, 41, -1, 1);
    fill_uniform(y, ROWS * N_OUT, 42, 0, 1);
    fill_uniform(start, N_PARAMS, 43, -1, 1);

    check_defaults();
    run_case("iRPROP- defaults", (c = rprop(SMLP_IRPROP_MINUS), &c), 0);
    c = rprop(SMLP_IRPROP_MINUS);
    c.rprop_increase = 1.5; c.rprop_decrease = 0.3; c.rprop_delta0 = 0.05;
    c.rprop_delta_min = 0.01; c.rprop_delta_max = 0.2;
    run_case("iRPROP- tight bounds", &c, 0);
    c = rprop(SMLP_IRPROP_MINUS);
    c.rprop_delta_min = 0; /* FANN's */
    c.clip_norm = 1e-3;    /* scales the gradient, never its sign */
    run_case("iRPROP- delta_min 0, clipped", &c, 0);
    run_case("iRPROP+ defaults", (c = rprop(SMLP_IRPROP_PLUS), &c), 0);
    c = rprop(SMLP_IRPROP_PLUS);
    c.rprop_delta0 = 1.0; c.rprop_increase = 2.0;
    run_case("iRPROP+ large steps", &c, 1);

    check_invalid();
    check_legacy_size();
    check_apply_gradients();
    check_save_load(SMLP_FLOAT64, SMLP_IRPROP_MINUS);
    check_save_load(SMLP_FLOAT64, SMLP_IRPROP_PLUS);
    check_save_load(SMLP_FLOAT32, SMLP_IRPROP_MINUS);
    check_save_load(SMLP_FLOAT32, SMLP_IRPROP_PLUS);
    check_failed_step();
    check_train_xor(SMLP_FLOAT64, SMLP_IRPROP_MINUS);
    check_train_xor(SMLP_FLOAT64, SMLP_IRPROP_PLUS);
    check_train_xor(SMLP_FLOAT32, SMLP_IRPROP_MINUS);
    return check_summary();
}
