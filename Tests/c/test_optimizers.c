/*
 * test_optimizers.c - smlp_step follows the header's update rules: SGD (momentum,
 * Nesterov), Adam, AdamW, RMSprop (with and without momentum), weight decay on
 * weights only or on biases too, clipping by global norm, and the learning-rate
 * schedules driven by smlp_set_epoch. Each rule is transcribed here from the header
 * and run next to the library for a few steps, with the gradient of every step taken
 * from smlp_gradients on the same batch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

enum { ROWS = 6, N_IN = 3, N_HID = 4, N_OUT = 2, N_PARAMS = 3 * 4 + 4 + 4 * 2 + 2, STEPS = 4 };

static const size_t sizes[3] = {N_IN, N_HID, N_OUT};
static const smlp_activation activations[2] = {SMLP_TANH, SMLP_SIGMOID};
static double x[ROWS * N_IN], y[ROWS * N_OUT], start[N_PARAMS];

static int is_bias(size_t i) { return (i >= 12 && i < 16) || i >= 24; }

/* The reference optimizer: the header's formulas, one parameter at a time. */
struct reference {
    smlp_optimizer_config c;
    double p[N_PARAMS], m[N_PARAMS], v[N_PARAMS];
    int t;
};

static void reference_step(struct reference *r, const double *grad, double lr) {
    const smlp_optimizer_config *c = &r->c;
    double scale = 1, norm = 0;
    size_t i;
    r->t++;
    if (c->clip_norm > 0) {
        for (i = 0; i < N_PARAMS; i++) norm += grad[i] * grad[i];
        norm = sqrt(norm);
        scale = fmin(1.0, c->clip_norm / (norm + 1e-6));
    }
    for (i = 0; i < N_PARAMS; i++) {
        double wd = is_bias(i) && !c->decay_biases ? 0 : c->weight_decay;
        double g = grad[i] * scale, p = r->p[i];
        switch (c->kind) {
        case SMLP_SGD:
            g += wd * p;
            if (c->momentum > 0) {
                r->v[i] = c->momentum * r->v[i] + g;
                g = c->nesterov ? g + c->momentum * r->v[i] : r->v[i];
            }
            p -= lr * g;
            break;
        case SMLP_ADAM:
        case SMLP_ADAMW:
            if (c->kind == SMLP_ADAMW) p *= 1 - lr * wd; else g += wd * p;
            r->m[i] = c->beta1 * r->m[i] + (1 - c->beta1) * g;
            r->v[i] = c->beta2 * r->v[i] + (1 - c->beta2) * g * g;
            p -= (lr / (1 - pow(c->beta1, r->t))) * r->m[i] /
                 (sqrt(r->v[i]) / sqrt(1 - pow(c->beta2, r->t)) + c->epsilon);
            break;
        case SMLP_RMSPROP: {
            double d;
            g += wd * p;
            r->m[i] = c->alpha * r->m[i] + (1 - c->alpha) * g * g;
            d = g / (sqrt(r->m[i]) + c->epsilon);
            if (c->momentum > 0) {
                r->v[i] = c->momentum * r->v[i] + d;
                p -= lr * r->v[i];
            } else {
                p -= lr * d;
            }
            break;
        }
        case SMLP_RPROP: /* test_rprop.c */
            break;
        }
        r->p[i] = p;
    }
}

/* Runs STEPS steps on the library and on the reference; compares after each. */
static void run_case(const char *name, const smlp_optimizer_config *config, size_t epoch, double effective_lr) {
    smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, activations, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
    const smlp_dataset batch = {SMLP_FLOAT64, ROWS, N_IN, x, N_OUT, y, NULL};
    struct reference r;
    double grad[N_PARAMS], now[N_PARAMS], worst = 0;
    smlp_model_info info;
    int s;
    size_t i;
    if (!CHECK(model != NULL, "%s: create", name)) return;
    memset(&r, 0, sizeof r);
    r.c = *config;
    memcpy(r.p, start, sizeof start);
    smlp_set_params(model, SMLP_FLOAT64, start, N_PARAMS);
    if (!CHECK_STATUS(smlp_set_optimizer(model, config), SMLP_OK, "%s: set optimizer", name)) goto done;
    if (epoch > 0) CHECK_STATUS(smlp_set_epoch(model, epoch), SMLP_OK, "%s: set epoch %zu", name, epoch);
    for (s = 0; s < STEPS; s++) {
        if (smlp_gradients(model, &batch, NULL, grad, N_PARAMS) != SMLP_OK ||
            smlp_step(model, &batch, NULL) != SMLP_OK) {
            CHECK(0, "%s: step %d succeeds", name, s + 1);
            goto done;
        }
        reference_step(&r, grad, effective_lr);
        smlp_get_params(model, SMLP_FLOAT64, now, N_PARAMS);
        for (i = 0; i < N_PARAMS; i++) worst = fmax(worst, fabs(now[i] - r.p[i]) / fmax(1, fabs(r.p[i])));
    }
    CHECK(worst < 1e-12, "%s: %d steps follow the header's rule (worst relative difference %.3g)", name, STEPS,
          worst);
    {
        int moved = 0;
        for (i = 0; i < N_PARAMS; i++) moved |= now[i] != start[i];
        CHECK(moved, "%s: the parameters moved", name);
    }
    CHECK(smlp_model_info_get(model, &info) == SMLP_OK && info.epoch == epoch,
          "%s: smlp_step never advances the epoch (%zu)", name, info.epoch);
done:
    smlp_free(model);
}

static smlp_optimizer_config make(smlp_optimizer kind, double lr) {
    smlp_optimizer_config c;
    smlp_optimizer_config_init(&c, kind);
    c.learning_rate = lr;
    return c;
}

int main(void) {
    smlp_optimizer_config c;
    const double pi = 3.14159265358979323846;
    fill_uniform(x, ROWS * N_IN, 41, -1, 1);
    fill_uniform(y, ROWS * N_OUT, 42, 0, 1);
    fill_uniform(start, N_PARAMS, 43, -1, 1);

    c = make(SMLP_SGD, 0.5);
    run_case("plain SGD", &c, 0, 0.5);
    c = make(SMLP_SGD, 0.3); c.momentum = 0.9;
    run_case("SGD momentum 0.9", &c, 0, 0.3);
    c = make(SMLP_SGD, 0.3); c.momentum = 0.8; c.nesterov = 1;
    run_case("SGD Nesterov 0.8", &c, 0, 0.3);
    c = make(SMLP_SGD, 0.3); c.weight_decay = 0.2;
    run_case("SGD weight decay, weights only", &c, 0, 0.3);
    c = make(SMLP_SGD, 0.3); c.weight_decay = 0.2; c.decay_biases = 1;
    run_case("SGD weight decay, biases too", &c, 0, 0.3);
    c = make(SMLP_SGD, 0.3); c.clip_norm = 0.01;
    run_case("SGD clipped to norm 0.01", &c, 0, 0.3);
    c = make(SMLP_SGD, 0.3); c.clip_norm = 1000;
    run_case("SGD clip_norm 1000 (no effect)", &c, 0, 0.3);
    c = make(SMLP_ADAM, 0.05);
    run_case("Adam", &c, 0, 0.05);
    c = make(SMLP_ADAM, 0.05); c.weight_decay = 0.1; c.beta1 = 0.8; c.beta2 = 0.99;
    run_case("Adam with L2 weight decay", &c, 0, 0.05);
    c = make(SMLP_ADAM, 0.05); c.clip_norm = 0.01;
    run_case("Adam clipped", &c, 0, 0.05);
    c = make(SMLP_ADAMW, 0.05); c.weight_decay = 0.3;
    run_case("AdamW", &c, 0, 0.05);
    c = make(SMLP_ADAMW, 0.05); c.weight_decay = 0.3; c.decay_biases = 1;
    run_case("AdamW, biases decayed", &c, 0, 0.05);
    c = make(SMLP_RMSPROP, 0.01);
    run_case("RMSprop", &c, 0, 0.01);
    c = make(SMLP_RMSPROP, 0.01); c.momentum = 0.5; c.weight_decay = 0.05;
    run_case("RMSprop momentum and decay", &c, 0, 0.01);

    /* Schedules: the rate at epoch e (set with smlp_set_epoch; steps keep it). */
    c = make(SMLP_SGD, 0.4); c.schedule = SMLP_SCHEDULE_STEP; c.step_size = 2; c.gamma = 0.5;
    run_case("StepLR at epoch 5", &c, 5, 0.4 * 0.25);
    c = make(SMLP_SGD, 0.4); c.schedule = SMLP_SCHEDULE_EXPONENTIAL; c.gamma = 0.9;
    run_case("ExponentialLR at epoch 3", &c, 3, 0.4 * 0.9 * 0.9 * 0.9);
    c = make(SMLP_SGD, 0.4); c.schedule = SMLP_SCHEDULE_COSINE; c.t_max = 10; c.min_lr = 0.01;
    run_case("CosineAnnealingLR at epoch 4", &c, 4, 0.01 + (0.4 - 0.01) * (1 + cos(pi * 4 / 10)) / 2);
    c = make(SMLP_SGD, 0.4); c.schedule = SMLP_SCHEDULE_COSINE; c.t_max = 10; c.min_lr = 0.01;
    run_case("CosineAnnealingLR after t_max", &c, 25, 0.01);
    c = make(SMLP_SGD, 0.4); c.schedule = SMLP_SCHEDULE_INVERSE_SCALING; c.gamma = 0.5;
    run_case("inverse scaling at epoch 8", &c, 8, 0.4 / 3.0);
    return check_summary();
}
