/*
 * model_util.h - small helpers shared by the C tests: make a model in one call,
 * deterministic pseudo-random numbers for data and parameters, and parameter
 * snapshots to prove that a failing call changed nothing.
 */
#ifndef SWIFTMLP_TEST_MODEL_UTIL_H
#define SWIFTMLP_TEST_MODEL_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <swiftmlp.h>

/* A model with the given widths and activations (NULL on failure; the caller checks). */
static inline smlp_model *make_model(smlp_dtype dtype, size_t n_sizes, const size_t *sizes,
                                     const smlp_activation *activations, smlp_loss loss,
                                     smlp_reduction reduction, uint64_t seed) {
    smlp_config config;
    smlp_model *model = NULL;
    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = n_sizes;
    config.layer_sizes = sizes;
    config.activations = activations;
    config.loss = loss;
    config.reduction = reduction;
    config.seed = seed;
    if (smlp_create(&config, &model) != SMLP_OK) return NULL;
    return model;
}

/* A batch of dense targets: rows x n_in inputs x and rows x n_out targets y. */
static inline smlp_dataset dense_set(smlp_dtype dtype, size_t rows, size_t n_in, const void *x, size_t n_out,
                                     const void *y) {
    smlp_dataset d;
    d.dtype = dtype;
    d.n_rows = rows;
    d.n_inputs = n_in;
    d.x = x;
    d.n_outputs = n_out;
    d.y = y;
    d.labels = NULL;
    return d;
}

/* A tiny deterministic generator (64-bit LCG, top bits): uniform in [lo, hi). */
static inline double test_uniform(uint64_t *state, double lo, double hi) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (double)(*state >> 11) * (1.0 / 9007199254740992.0);
}

static inline void fill_uniform(double *values, size_t n, uint64_t seed, double lo, double hi) {
    uint64_t state = seed;
    size_t i;
    for (i = 0; i < n; i++) values[i] = test_uniform(&state, lo, hi);
}

static inline void fill_uniform_f(float *values, size_t n, uint64_t seed, double lo, double hi) {
    uint64_t state = seed;
    size_t i;
    for (i = 0; i < n; i++) values[i] = (float)test_uniform(&state, lo, hi);
}

/* A malloc'd copy of the model's parameters in its dtype (NULL on failure). */
static inline void *params_snapshot(const smlp_model *model) {
    smlp_model_info info;
    size_t bytes;
    void *copy;
    if (smlp_model_info_get(model, &info) != SMLP_OK) return NULL;
    bytes = info.param_count * (info.dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double));
    copy = malloc(bytes);
    if (copy == NULL) return NULL;
    if (smlp_get_params(model, info.dtype, copy, info.param_count) != SMLP_OK) {
        free(copy);
        return NULL;
    }
    return copy;
}

/* 1 when the model's parameters are bit-for-bit those in snapshot. */
static inline int params_equal(const smlp_model *model, const void *snapshot) {
    smlp_model_info info;
    void *now = params_snapshot(model);
    int same;
    if (now == NULL || snapshot == NULL || smlp_model_info_get(model, &info) != SMLP_OK) {
        free(now);
        return 0;
    }
    same = memcmp(now, snapshot,
                  info.param_count * (info.dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double))) == 0;
    free(now);
    return same;
}

/* 1 when two models have bit-for-bit equal parameters. */
static inline int models_equal(const smlp_model *a, const smlp_model *b) {
    void *pa = params_snapshot(a);
    int same = pa != NULL && smlp_param_count(a) == smlp_param_count(b) && params_equal(b, pa);
    free(pa);
    return same;
}

#endif /* SWIFTMLP_TEST_MODEL_UTIL_H */
