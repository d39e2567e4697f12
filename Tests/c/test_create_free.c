/*
 * test_create_free.c - smlp_config_init, smlp_create and smlp_free: every bad
 * configuration gets its documented status and leaves *out_model NULL; seeded
 * initialisation is reproducible, float32 is float64 rounded, biases start at zero
 * and weights stay inside the Glorot/He ranges.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

/* A valid 3-4-2 configuration that each case below breaks in one way. */
static size_t base_sizes[3] = {3, 4, 2};
static smlp_activation base_activations[2] = {SMLP_TANH, SMLP_IDENTITY};

static smlp_config base_config(void) {
    smlp_config config;
    smlp_config_init(&config);
    config.n_layer_sizes = 3;
    config.layer_sizes = base_sizes;
    config.activations = base_activations;
    return config;
}

/* smlp_create(config) must fail with `expected` (or `alternative`, when it is not
 * SMLP_OK) and set *out_model to NULL. */
static void expect_create_fails(int line, const smlp_config *config, smlp_status expected,
                                smlp_status alternative, const char *what) {
    int dummy = 0;
    smlp_model *model = (smlp_model *)&dummy;
    smlp_status status = smlp_create(config, &model);
    int ok = status == expected || (alternative != SMLP_OK && status == alternative);
    check_record(ok, __FILE__, line, "smlp_create(&config, &model)",
                 "smlp_create with %s returned %d (%s), expected %s%s%s", what,
                 (int)status, smlp_status_string(status), smlp_status_string(expected),
                 alternative != SMLP_OK ? " or " : "",
                 alternative != SMLP_OK ? smlp_status_string(alternative) : "");
    check_record(model == NULL, __FILE__, line, "smlp_create(&config, &model)",
                 "smlp_create with %s sets *out_model to NULL", what);
    if (status != SMLP_OK) {
        check_record(strstr(smlp_last_error(), "smlp_create") != NULL, __FILE__, line,
                     "smlp_last_error() names the function", "message after %s names smlp_create", what);
    } else if (model != NULL && model != (smlp_model *)&dummy) {
        smlp_free(model);
    }
}

#define EXPECT_FAILS(config, expected, what) \
    expect_create_fails(__LINE__, (config), (expected), SMLP_OK, (what))
#define EXPECT_FAILS_EITHER(config, expected, alternative, what) \
    expect_create_fails(__LINE__, (config), (expected), (alternative), (what))

static void test_config_init(void) {
    smlp_config config;
    memset(&config, 0xAB, sizeof config);
    smlp_config_init(&config);
    CHECK(config.struct_size == sizeof(smlp_config), "struct_size is sizeof(smlp_config)");
    CHECK(config.dtype == SMLP_FLOAT64, "default dtype is SMLP_FLOAT64");
    CHECK(config.n_layer_sizes == 0 && config.layer_sizes == NULL && config.activations == NULL,
          "no layers by default");
    CHECK(config.loss == SMLP_MSE, "default loss is SMLP_MSE");
    CHECK(config.reduction == SMLP_REDUCTION_MEAN, "default reduction is mean");
    CHECK(config.init == SMLP_INIT_AUTO, "default init is SMLP_INIT_AUTO");
    CHECK(config.seed == 0, "default seed is 0");
    CHECK(config.leaky_relu_slope == 0.01, "default leaky slope is 0.01");
    smlp_config_init(NULL);
    CHECK(1, "smlp_config_init(NULL) returns");
}

static void test_bad_configs(void) {
    smlp_config config = base_config();
    const size_t zero_first[3] = {0, 4, 2}, zero_middle[3] = {3, 0, 2}, zero_last[3] = {3, 4, 0};
    const size_t huge_width[3] = {3, SIZE_MAX, 2};
    const size_t overflow_half[2] = {SIZE_MAX / 2, 4};
    const size_t big = 2147483647u; /* 2^31 - 1: each layer ~2^62 parameters */
    const size_t overflow_sum[4] = {big, big, big, big};
    const smlp_activation unknown_activation[2] = {(smlp_activation)99, SMLP_IDENTITY};
    const smlp_activation softmax_hidden[2] = {SMLP_SOFTMAX, SMLP_SOFTMAX};
    const smlp_activation identity_out[2] = {SMLP_TANH, SMLP_IDENTITY};
    const smlp_activation softmax_out[2] = {SMLP_TANH, SMLP_SOFTMAX};
    const smlp_activation sigmoid_out[2] = {SMLP_TANH, SMLP_SIGMOID};
    int dummy = 0;
    smlp_model *model = (smlp_model *)&dummy;

    CHECK_STATUS(smlp_create(NULL, &model), SMLP_ERR_NULL_ARGUMENT, "NULL config");
    CHECK(model == NULL, "NULL config sets *out_model to NULL");
    CHECK_STATUS(smlp_create(&config, NULL), SMLP_ERR_NULL_ARGUMENT, "NULL out_model");

    config = base_config(); config.struct_size = sizeof(smlp_config) - 1;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "struct_size one too small");
    config = base_config(); config.struct_size = 0;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "struct_size 0");
    config = base_config(); config.struct_size = sizeof(smlp_config) + 8;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "struct_size too large");

    config = base_config(); config.n_layer_sizes = 0;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "n_layer_sizes 0");
    config = base_config(); config.n_layer_sizes = 1;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "n_layer_sizes 1");
    config = base_config(); config.layer_sizes = NULL;
    EXPECT_FAILS(&config, SMLP_ERR_NULL_ARGUMENT, "NULL layer_sizes");
    config = base_config(); config.activations = NULL;
    EXPECT_FAILS(&config, SMLP_ERR_NULL_ARGUMENT, "NULL activations");

    config = base_config(); config.layer_sizes = zero_first;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "a zero input width");
    config = base_config(); config.layer_sizes = zero_middle;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "a zero hidden width");
    config = base_config(); config.layer_sizes = zero_last;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "a zero output width");
    /* SIZE_MAX is both an absurd width and an overflowing count; either status fits. */
    config = base_config(); config.layer_sizes = huge_width;
    EXPECT_FAILS_EITHER(&config, SMLP_ERR_OUT_OF_MEMORY, SMLP_ERR_INVALID_ARGUMENT, "a SIZE_MAX width");
    /* The header: a width above 2147483647 (OpenBLAS's 32-bit dimension) is an
     * INVALID_ARGUMENT, checked before the parameter count. */
    config = base_config(); config.n_layer_sizes = 2; config.layer_sizes = overflow_half;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "layer sizes {SIZE_MAX/2, 4} (width above the BLAS limit)");
    {
        const smlp_activation four[3] = {SMLP_TANH, SMLP_TANH, SMLP_IDENTITY};
        config = base_config(); config.n_layer_sizes = 4; config.layer_sizes = overflow_sum;
        config.activations = four;
        EXPECT_FAILS(&config, SMLP_ERR_OUT_OF_MEMORY,
                     "layer sizes {2^31-1 x 4} (the sum of the layer counts overflows)");
    }

    config = base_config(); config.activations = unknown_activation;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "activation 99");
    config = base_config(); config.loss = (smlp_loss)99;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "loss 99");
    config = base_config(); config.reduction = (smlp_reduction)99;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "reduction 99");
    config = base_config(); config.init = (smlp_init)99;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "init 99");
    config = base_config(); config.dtype = (smlp_dtype)99;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "dtype 99");
    config = base_config(); config.dtype = (smlp_dtype)0;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "dtype 0");

    config = base_config(); config.activations = softmax_hidden; config.loss = SMLP_SOFTMAX_CROSS_ENTROPY;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "softmax before the last layer");
    config = base_config(); config.activations = identity_out; config.loss = SMLP_BINARY_CROSS_ENTROPY;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "BCE with an identity output");
    config = base_config(); config.activations = softmax_out; config.loss = SMLP_BINARY_CROSS_ENTROPY;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "BCE with a softmax output");
    config = base_config(); config.activations = sigmoid_out; config.loss = SMLP_SOFTMAX_CROSS_ENTROPY;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "softmax CE with a sigmoid output");
    config = base_config(); config.activations = identity_out; config.loss = SMLP_SOFTMAX_CROSS_ENTROPY;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "softmax CE with an identity output");

    config = base_config(); config.leaky_relu_slope = -0.1;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "negative leaky slope");
    config = base_config(); config.leaky_relu_slope = NAN;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "NaN leaky slope");
    config = base_config(); config.leaky_relu_slope = INFINITY;
    EXPECT_FAILS(&config, SMLP_ERR_INVALID_ARGUMENT, "infinite leaky slope");

    /* The good cases right next to the bad ones. */
    config = base_config(); config.leaky_relu_slope = 0;
    model = NULL;
    CHECK_STATUS(smlp_create(&config, &model), SMLP_OK, "slope 0 is allowed");
    smlp_free(model);
    config = base_config(); config.activations = sigmoid_out; config.loss = SMLP_BINARY_CROSS_ENTROPY;
    model = NULL;
    CHECK_STATUS(smlp_create(&config, &model), SMLP_OK, "BCE with a sigmoid output");
    smlp_free(model);
    config = base_config(); config.activations = softmax_out; config.loss = SMLP_SOFTMAX_CROSS_ENTROPY;
    model = NULL;
    CHECK_STATUS(smlp_create(&config, &model), SMLP_OK, "softmax CE with a softmax output");
    smlp_free(model);
}

static void test_free_and_borrowed_arrays(void) {
    smlp_config config = base_config();
    size_t *sizes = malloc(3 * sizeof *sizes);
    smlp_activation *activations = malloc(2 * sizeof *activations);
    smlp_model *model = NULL;
    const double x[3] = {0.5, -1, 2};
    double out[2];
    smlp_free(NULL);
    CHECK(1, "smlp_free(NULL) returns");
    if (sizes == NULL || activations == NULL) {
        CHECK(0, "malloc");
        return;
    }
    memcpy(sizes, base_sizes, sizeof base_sizes);
    memcpy(activations, base_activations, sizeof base_activations);
    config.layer_sizes = sizes;
    config.activations = activations;
    CHECK_STATUS(smlp_create(&config, &model), SMLP_OK, "create from heap arrays");
    memset(sizes, 0, 3 * sizeof *sizes);
    free(sizes);
    free(activations);
    CHECK(smlp_param_count(model) == 3 * 4 + 4 + 4 * 2 + 2, "the model copied its layer sizes");
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 1, 3, out, 2), SMLP_OK,
                 "predict after the config arrays were freed");
    smlp_free(model);
}

/* ---- Initialisation -------------------------------------------------------------- */

static const size_t init_sizes[4] = {20, 30, 25, 10};
static const smlp_activation init_activations[3] = {SMLP_LEAKY_RELU, SMLP_TANH, SMLP_RELU};

static smlp_model *init_model(smlp_dtype dtype, smlp_init init, uint64_t seed) {
    smlp_config config;
    smlp_model *model = NULL;
    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = 4;
    config.layer_sizes = init_sizes;
    config.activations = init_activations;
    config.init = init;
    config.seed = seed;
    if (smlp_create(&config, &model) != SMLP_OK) return NULL;
    return model;
}

/* Every |w| < r and max |w| > 0.9 r (hundreds of draws make that certain), and
 * every bias exactly 0. he_layers is a bit mask of the layers that should use He. */
static void check_ranges(smlp_model *model, unsigned he_layers, const char *what) {
    double *p = params_snapshot(model);
    size_t l, i;
    if (p == NULL) {
        CHECK(0, "%s: read parameters", what);
        return;
    }
    for (l = 0; l < 3; l++) {
        smlp_layer_info info;
        double r, largest = 0;
        int inside = 1, biases_zero = 1;
        if (smlp_layer_info_get(model, l, &info) != SMLP_OK) {
            CHECK(0, "%s: layer info %zu", what, l);
            continue;
        }
        r = (he_layers >> l) & 1 ? sqrt(6.0 / (double)info.n_inputs)
                                  : sqrt(6.0 / (double)(info.n_inputs + info.n_outputs));
        for (i = 0; i < info.n_inputs * info.n_outputs; i++) {
            double w = fabs(p[info.weight_offset + i]);
            if (!(w < r)) inside = 0;
            if (w > largest) largest = w;
        }
        for (i = 0; i < info.n_outputs; i++) {
            if (p[info.bias_offset + i] != 0.0) biases_zero = 0;
        }
        CHECK(inside, "%s: layer %zu weights all inside (-r, r), r = %g (%s)", what, l, r,
              (he_layers >> l) & 1 ? "He" : "Glorot");
        CHECK(largest > 0.9 * r, "%s: layer %zu weights span the range: max |w| = %g, r = %g", what, l,
              largest, r);
        CHECK(biases_zero, "%s: layer %zu biases start at zero", what, l);
    }
    free(p);
}

/* The documented generator: xoshiro256** seeded with four SplitMix64 outputs. Each
 * weight is (2u - 1) r with u = (next() >> 11) * 2^-53, layer by layer, row by row
 * (Sources/SwiftMLP/Model/Initialization.swift; docs/backprop.md per the header). */
struct xoshiro { uint64_t s[4]; };

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void xoshiro_seed(struct xoshiro *g, uint64_t seed) {
    int i;
    for (i = 0; i < 4; i++) {
        uint64_t z;
        seed += 0x9E3779B97F4A7C15ULL;
        z = seed;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        g->s[i] = z ^ (z >> 31);
    }
}

static uint64_t xoshiro_next(struct xoshiro *g) {
    uint64_t result = rotl(g->s[1] * 5, 7) * 9, t = g->s[1] << 17;
    g->s[2] ^= g->s[0];
    g->s[3] ^= g->s[1];
    g->s[1] ^= g->s[2];
    g->s[0] ^= g->s[3];
    g->s[2] ^= t;
    g->s[3] = rotl(g->s[3], 45);
    return result;
}

static void test_initialisation(void) {
    smlp_model *a = init_model(SMLP_FLOAT64, SMLP_INIT_AUTO, 7);
    smlp_model *b = init_model(SMLP_FLOAT64, SMLP_INIT_AUTO, 7);
    smlp_model *c = init_model(SMLP_FLOAT64, SMLP_INIT_AUTO, 8);
    smlp_model *f = init_model(SMLP_FLOAT32, SMLP_INIT_AUTO, 7);
    smlp_model *glorot = init_model(SMLP_FLOAT64, SMLP_INIT_GLOROT_UNIFORM, 3);
    smlp_model *he = init_model(SMLP_FLOAT64, SMLP_INIT_HE_UNIFORM, 3);
    size_t n, i;
    double *pa, *pc;
    float *pf;
    CHECK(a && b && c && f && glorot && he, "create the initialisation models");
    if (!(a && b && c && f && glorot && he)) return;
    n = smlp_param_count(a);
    pa = params_snapshot(a);
    pc = params_snapshot(c);
    pf = params_snapshot(f);

    CHECK(params_equal(b, pa), "same seed gives bit-identical parameters");
    CHECK(pc != NULL && memcmp(pa, pc, n * sizeof(double)) != 0, "a different seed gives different ones");
    {
        int rounded = 1;
        for (i = 0; i < n; i++) {
            if (pf[i] != (float)pa[i]) rounded = 0;
        }
        CHECK(rounded, "float32 parameters are the float64 ones rounded to float (same seed)");
    }
    check_ranges(a, 0x5u, "auto (leaky relu: He, tanh: Glorot, relu: He)");
    check_ranges(glorot, 0x0u, "explicit Glorot");
    check_ranges(he, 0x7u, "explicit He");
    {
        struct xoshiro g;
        int same = 1;
        size_t l;
        xoshiro_seed(&g, 7);
        for (l = 0; l < 3; l++) {
            smlp_layer_info info;
            double r;
            smlp_layer_info_get(a, l, &info);
            r = (l == 1) ? sqrt(6.0 / (double)(info.n_inputs + info.n_outputs))
                         : sqrt(6.0 / (double)info.n_inputs);
            for (i = 0; i < info.n_inputs * info.n_outputs; i++) {
                double u = (double)(xoshiro_next(&g) >> 11) * (1.0 / 9007199254740992.0);
                if (pa[info.weight_offset + i] != (2 * u - 1) * r) same = 0;
            }
        }
        CHECK(same, "weights are the documented xoshiro256**/SplitMix64 draws, bit for bit");
    }
    free(pa);
    free(pc);
    free(pf);
    smlp_free(a);
    smlp_free(b);
    smlp_free(c);
    smlp_free(f);
    smlp_free(glorot);
    smlp_free(he);
}

int main(void) {
    test_config_init();
    test_bad_configs();
    test_free_and_borrowed_arrays();
    test_initialisation();
    return check_summary();
}
