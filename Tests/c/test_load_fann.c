/*
 * test_load_fann.c - smlp_load_fann reads FANN 2.x .net files written here in
 * fann_save's exact layout (no libfann needed; test_fann_libfann.sh checks files
 * libfann itself wrote):
 *
 *   - a 2-3-2 network, FANN_SIGMOID_SYMMETRIC hidden (steepness 0.7) and FANN_SIGMOID
 *     output (steepness 0.5), and a 3-4-3-1 network with FANN_LINEAR_PIECE_RECT
 *     (1.3), FANN_LINEAR_PIECE_RECT_LEAKY (0.9) and FANN_LINEAR (2): the model's
 *     predictions equal fann_run's formulas evaluated here in double,
 *     f(s * sum w x), within 1e-12 * max(1, |a|, |b|) in float64 (the two sums run
 *     in different orders and tanh is computed as FANN's 2/(1+exp(-2x)) - 1 here,
 *     each a few ulps) and 1e-5 in float32 (weights and sums rounded to float, ulp
 *     6e-8, over sums of at most 5 terms of size ~1 and two layers);
 *   - the shapes, activations and leaky slope the model reports;
 *   - every refusal names the problem (and the line): NULL arguments, a bad dtype, a
 *     missing file, a file that is not a FANN network, fixed-point and 1.x files,
 *     shortcut (cascade) networks, sparse layers, unsupported and mixed activations,
 *     too few or malformed connections, a bias neuron with inputs, a connection to a
 *     neuron outside the previous layer; *out_model is NULL after each.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static char path[256];

/* The fixed part of a fann_save file between the version line and layer_sizes. */
static const char *settings =
    "learning_rate=0.700000\n"
    "connection_rate=1.000000\n"
    "network_type=%d\n"
    "learning_momentum=0.000000\n"
    "training_algorithm=2\n"
    "train_error_function=1\n"
    "train_stop_function=0\n"
    "cascade_output_change_fraction=0.010000\n"
    "quickprop_decay=-0.000100\n"
    "quickprop_mu=1.750000\n"
    "rprop_increase_factor=1.200000\n"
    "rprop_decrease_factor=0.500000\n"
    "rprop_delta_min=0.000000\n"
    "rprop_delta_max=50.000000\n"
    "rprop_delta_zero=0.100000\n"
    "cascade_output_stagnation_epochs=12\n"
    "cascade_candidate_change_fraction=0.010000\n"
    "cascade_candidate_stagnation_epochs=12\n"
    "cascade_max_out_epochs=150\n"
    "cascade_min_out_epochs=50\n"
    "cascade_max_cand_epochs=150\n"
    "cascade_min_cand_epochs=50\n"
    "cascade_num_candidate_groups=2\n"
    "bit_fail_limit=3.49999994039535522461e-01\n"
    "cascade_candidate_limit=1.00000000000000000000e+03\n"
    "cascade_weight_multiplier=4.00000000000000022204e-01\n"
    "cascade_activation_functions_count=10\n"
    "cascade_activation_functions=3 5 7 8 10 11 14 15 16 17 \n"
    "cascade_activation_steepnesses_count=4\n"
    "cascade_activation_steepnesses=2.50000000000000000000e-01 5.00000000000000000000e-01 "
    "7.50000000000000000000e-01 1.00000000000000000000e+00 \n";

/* A layered network as fann_save writes it. */
struct fann_net {
    size_t n_layers;
    size_t sizes[4];          /* without bias neurons */
    int activation[4];        /* per weight layer (index 1..n_layers-1) */
    double steepness[4];
    double *weights;          /* per receiving neuron: its inputs, bias last */
};

static double weight_value(size_t k) { return 0.9 * sin(1.7 * (double)k + 0.3); }

/* Writes `net` to `path` with the given version line and network_type; `tweak` may
 * replace the neurons or connections text (NULL keeps the generated one). */
static void write_net(const struct fann_net *net, const char *version, int network_type,
                      const char *neurons_override, const char *connections_override) {
    FILE *file = fopen(path, "w");
    size_t layer, unit, i, first[5], k = 0;
    if (!file) { perror(path); exit(2); }
    fprintf(file, "%s\n", version);
    fprintf(file, "num_layers=%zu\n", net->n_layers);
    fprintf(file, settings, network_type);
    fprintf(file, "layer_sizes=");
    for (layer = 0; layer < net->n_layers; layer++) fprintf(file, "%zu ", net->sizes[layer] + 1);
    fprintf(file, "\nscale_included=0\n");
    first[0] = 0;
    for (layer = 0; layer < net->n_layers; layer++) first[layer + 1] = first[layer] + net->sizes[layer] + 1;
    fprintf(file, "neurons (num_inputs, activation_function, activation_steepness)=");
    if (neurons_override) {
        fprintf(file, "%s", neurons_override);
    } else {
        for (layer = 0; layer < net->n_layers; layer++) {
            for (unit = 0; unit <= net->sizes[layer]; unit++) {
                int bias = unit == net->sizes[layer];
                if (layer == 0 || bias)
                    fprintf(file, "(0, %d, %.20e) ", layer ? net->activation[layer] : 0, layer ? net->steepness[layer] : 0.0);
                else
                    fprintf(file, "(%zu, %d, %.20e) ", net->sizes[layer - 1] + 1, net->activation[layer], net->steepness[layer]);
            }
        }
    }
    fprintf(file, "\nconnections (connected_to_neuron, weight)=");
    if (connections_override) {
        fprintf(file, "%s", connections_override);
    } else {
        for (layer = 1; layer < net->n_layers; layer++)
            for (unit = 0; unit < net->sizes[layer]; unit++)
                for (i = 0; i <= net->sizes[layer - 1]; i++) {
                    fprintf(file, "(%zu, %.20e) ", first[layer - 1] + i, net->weights[k]);
                    k++;
                }
    }
    fprintf(file, "\n");
    fclose(file);
}

/* fann_run's activations (fann_activation.h), on the steepness-scaled sum. */
static double fann_activation(int code, double x) {
    switch (code) {
    case 0: return x;
    case 3: return 1.0 / (1.0 + exp(-2.0 * x));
    case 5: return 2.0 / (1.0 + exp(-2.0 * x)) - 1.0;
    case 18: return x < 0 ? 0 : x;
    case 19: return x < 0 ? 0.01 * x : x;
    default: return NAN;
    }
}

/* fann_run in double for one sample. */
static void fann_forward(const struct fann_net *net, const double *x, double *out) {
    double values[2][16];
    size_t layer, unit, i, k = 0, n;
    for (i = 0; i < net->sizes[0]; i++) values[0][i] = x[i];
    values[0][net->sizes[0]] = 1.0;
    for (layer = 1; layer < net->n_layers; layer++) {
        const double *in = values[(layer - 1) % 2];
        double *next = values[layer % 2];
        n = net->sizes[layer - 1] + 1;
        for (unit = 0; unit < net->sizes[layer]; unit++) {
            double sum = 0;
            for (i = 0; i < n; i++) sum += net->weights[k++] * in[i];
            next[unit] = fann_activation(net->activation[layer], net->steepness[layer] * sum);
        }
        next[net->sizes[layer]] = 1.0;
    }
    for (i = 0; i < net->sizes[net->n_layers - 1]; i++) out[i] = values[(net->n_layers - 1) % 2][i];
}

static void check_same_outputs(struct fann_net *net, const char *name) {
    static const smlp_dtype dtypes[2] = {SMLP_FLOAT64, SMLP_FLOAT32};
    size_t t, row, i;
    size_t n_in = net->sizes[0], n_out = net->sizes[net->n_layers - 1];
    write_net(net, "FANN_FLO_2.1", 0, NULL, NULL);
    for (t = 0; t < 2; t++) {
        smlp_model *model = NULL;
        smlp_model_info info;
        double tolerance = dtypes[t] == SMLP_FLOAT64 ? 1e-12 : 1e-5;
        if (!CHECK_STATUS(smlp_load_fann(path, dtypes[t], &model), SMLP_OK, "%s: loads", name)) continue;
        CHECK_STATUS(smlp_model_info_get(model, &info), SMLP_OK, "%s: info", name);
        CHECK(info.dtype == dtypes[t] && info.n_inputs == n_in && info.n_outputs == n_out
              && info.n_layers == net->n_layers - 1 && info.loss == SMLP_MSE && !info.has_scaler,
              "%s: shape, dtype and loss", name);
        CHECK(info.leaky_relu_slope == 0.01, "%s: FANN's leaky slope 0.01", name);
        for (i = 0; i + 1 < net->n_layers; i++) {
            smlp_layer_info layer;
            smlp_layer_info_get(model, i, &layer);
            smlp_activation expected = net->activation[i + 1] == 0 ? SMLP_IDENTITY
                : net->activation[i + 1] == 3 ? SMLP_SIGMOID : net->activation[i + 1] == 5 ? SMLP_TANH
                : net->activation[i + 1] == 18 ? SMLP_RELU : SMLP_LEAKY_RELU;
            CHECK(layer.activation == expected && layer.n_outputs == net->sizes[i + 1],
                  "%s: layer %zu activation %d", name, i, (int)layer.activation);
        }
        for (row = 0; row < 20; row++) {
            double x[8], expected[8], got[8];
            float xf[8], gotf[8];
            for (i = 0; i < n_in; i++) {
                x[i] = 2.5 * sin(0.37 * (double)(row * n_in + i) + 1.1);
                if (dtypes[t] == SMLP_FLOAT32) { xf[i] = (float)x[i]; x[i] = xf[i]; }
            }
            fann_forward(net, x, expected);
            if (dtypes[t] == SMLP_FLOAT64) {
                CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, 1, n_in, got, n_out), SMLP_OK, "%s predict", name);
            } else {
                CHECK_STATUS(smlp_predict(model, SMLP_FLOAT32, xf, 1, n_in, gotf, n_out), SMLP_OK, "%s predict", name);
                for (i = 0; i < n_out; i++) got[i] = gotf[i];
            }
            for (i = 0; i < n_out; i++)
                CHECK_CLOSE(got[i], expected[i], tolerance, "%s %s row %zu output %zu", name,
                            dtypes[t] == SMLP_FLOAT64 ? "float64" : "float32", row, i);
        }
        smlp_free(model);
    }
}

/* Loads `path` expecting `status`, a NULL model, and `fragment` in the message. */
static void expect_refusal(smlp_status status, const char *fragment, const char *what) {
    smlp_model *model = (smlp_model *)&model; /* not NULL: the call must clear it */
    CHECK_STATUS(smlp_load_fann(path, SMLP_FLOAT64, &model), status, "%s", what);
    CHECK(model == NULL, "%s: *out_model is NULL", what);
    CHECK(strstr(smlp_last_error(), fragment) != NULL, "%s: message names \"%s\"", what, fragment);
    if (model && model != (smlp_model *)&model) smlp_free(model);
}

int main(void) {
    double weights_a[9 + 8], weights_b[16 + 15 + 4];
    size_t k;
    struct fann_net a = {3, {2, 3, 2}, {0, 5, 3}, {0, 0.7, 0.5}, weights_a};
    struct fann_net b = {4, {3, 4, 3, 1}, {0, 18, 19, 0}, {0, 1.3, 0.9, 2.0}, weights_b};
    smlp_model *model = NULL;
    FILE *file;

    snprintf(path, sizeof path, "/tmp/swiftmlp_test_load_fann_%ld.net", (long)getpid());
    for (k = 0; k < sizeof weights_a / sizeof *weights_a; k++) weights_a[k] = weight_value(k);
    for (k = 0; k < sizeof weights_b / sizeof *weights_b; k++) weights_b[k] = weight_value(k + 100);

    check_same_outputs(&a, "2-3-2 tanh(0.7)/sigmoid(0.5)");
    check_same_outputs(&b, "3-4-3-1 relu(1.3)/leaky(0.9)/linear(2)");

    /* FANN_FLO_2.0 files have no scale_included line; the reader does not need it. */
    write_net(&a, "FANN_FLO_2.0", 0, NULL, NULL);
    CHECK_STATUS(smlp_load_fann(path, SMLP_FLOAT64, &model), SMLP_OK, "FANN_FLO_2.0 loads");
    smlp_free(model);
    model = NULL;

    /* Arguments. */
    CHECK_STATUS(smlp_load_fann(NULL, SMLP_FLOAT64, &model), SMLP_ERR_NULL_ARGUMENT, "NULL path");
    CHECK_STATUS(smlp_load_fann(path, SMLP_FLOAT64, NULL), SMLP_ERR_NULL_ARGUMENT, "NULL out_model");
    CHECK(strstr(smlp_last_error(), "out_model") != NULL, "the message names out_model");
    CHECK_STATUS(smlp_load_fann(path, (smlp_dtype)7, &model), SMLP_ERR_INVALID_ARGUMENT, "dtype 7");
    CHECK(strstr(smlp_last_error(), "dtype") != NULL, "the message names dtype");
    CHECK_STATUS(smlp_load_fann("/nonexistent/x.net", SMLP_FLOAT64, &model), SMLP_ERR_IO, "missing file");
    CHECK_STATUS(smlp_load_fann("/tmp", SMLP_FLOAT64, &model), SMLP_ERR_IO, "a directory");

    /* Not FANN, fixed point, 1.x. */
    file = fopen(path, "w");
    fprintf(file, "SMLPMODL garbage\n");
    fclose(file);
    expect_refusal(SMLP_ERR_BAD_FORMAT, "line 1", "not a FANN file");
    write_net(&a, "FANN_FIX_2.0", 0, NULL, NULL);
    expect_refusal(SMLP_ERR_UNSUPPORTED_VERSION, "fixed-point", "FANN_FIX_2.0");
    write_net(&a, "FANN_FLO_1.1", 0, NULL, NULL);
    expect_refusal(SMLP_ERR_UNSUPPORTED_VERSION, "1.x", "FANN_FLO_1.1");

    /* Shortcut (and so cascade) networks: network_type=1 is on line 5. */
    write_net(&a, "FANN_FLO_2.1", 1, NULL, NULL);
    expect_refusal(SMLP_ERR_INVALID_ARGUMENT, "line 5: network_type=1", "shortcut network");

    /* The neurons line is line 35 (version, num_layers, 30 settings, layer_sizes,
     * scale_included, then neurons); connections line 36. */
    /* Sparse: hidden neuron 4 has 2 of its 3 inputs. */
    write_net(&a, "FANN_FLO_2.1", 0,
              "(0, 0, 0.0) (0, 0, 0.0) (0, 0, 0.0) (3, 5, 0.7) (2, 5, 0.7) (3, 5, 0.7) (0, 5, 0.7) "
              "(4, 3, 0.5) (4, 3, 0.5) (0, 3, 0.5) ", NULL);
    expect_refusal(SMLP_ERR_INVALID_ARGUMENT, "line 35: neuron 4 (layer 1) has 2 connections", "sparse layer");
    CHECK(strstr(smlp_last_error(), "sparse") != NULL, "the message says sparse");

    /* Unsupported activation: FANN_GAUSSIAN (7) on output neuron 8. */
    write_net(&a, "FANN_FLO_2.1", 0,
              "(0, 0, 0.0) (0, 0, 0.0) (0, 0, 0.0) (3, 5, 0.7) (3, 5, 0.7) (3, 5, 0.7) (0, 5, 0.7) "
              "(4, 3, 0.5) (4, 7, 0.5) (0, 3, 0.5) ", NULL);
    expect_refusal(SMLP_ERR_INVALID_ARGUMENT, "line 35: neuron 8 (layer 2) uses activation 7 (FANN_GAUSSIAN)",
                   "FANN_GAUSSIAN");
    /* Stepwise sigmoid is an approximation swiftmlp does not have either. */
    write_net(&a, "FANN_FLO_2.1", 0,
              "(0, 0, 0.0) (0, 0, 0.0) (0, 0, 0.0) (3, 4, 0.7) (3, 4, 0.7) (3, 4, 0.7) (0, 4, 0.7) "
              "(4, 3, 0.5) (4, 3, 0.5) (0, 3, 0.5) ", NULL);
    expect_refusal(SMLP_ERR_INVALID_ARGUMENT, "FANN_SIGMOID_STEPWISE", "FANN_SIGMOID_STEPWISE");

    /* A negative steepness: fann_run's clamp to +-150/s makes the neuron constant. */
    write_net(&a, "FANN_FLO_2.1", 0,
              "(0, 0, 0.0) (0, 0, 0.0) (0, 0, 0.0) (3, 5, 0.7) (3, 5, 0.7) (3, 5, 0.7) (0, 5, 0.7) "
              "(4, 3, -0.5) (4, 3, 0.5) (0, 3, 0.5) ", NULL);
    expect_refusal(SMLP_ERR_INVALID_ARGUMENT, "line 35: neuron 7 (layer 2) has steepness -0.5",
                   "negative steepness");

    /* Two activations in one layer. */
    write_net(&a, "FANN_FLO_2.1", 0,
              "(0, 0, 0.0) (0, 0, 0.0) (0, 0, 0.0) (3, 5, 0.7) (3, 3, 0.7) (3, 5, 0.7) (0, 5, 0.7) "
              "(4, 3, 0.5) (4, 3, 0.5) (0, 3, 0.5) ", NULL);
    expect_refusal(SMLP_ERR_INVALID_ARGUMENT, "line 35: layer 1 mixes activations", "mixed activations");

    /* A bias neuron with inputs. */
    write_net(&a, "FANN_FLO_2.1", 0,
              "(0, 0, 0.0) (0, 0, 0.0) (0, 0, 0.0) (3, 5, 0.7) (3, 5, 0.7) (3, 5, 0.7) (3, 5, 0.7) "
              "(4, 3, 0.5) (4, 3, 0.5) (0, 3, 0.5) ", NULL);
    expect_refusal(SMLP_ERR_BAD_FORMAT, "the bias of layer 1", "bias neuron with inputs");

    /* Too few neurons for layer_sizes. */
    write_net(&a, "FANN_FLO_2.1", 0, "(0, 0, 0.0) (0, 0, 0.0) ", NULL);
    expect_refusal(SMLP_ERR_BAD_FORMAT, "line 35: 2 neurons listed", "too few neurons");

    /* Connections: too few, malformed, a source outside the previous layer. */
    write_net(&a, "FANN_FLO_2.1", 0, NULL, "(0, 0.5) (1, 0.25) ");
    expect_refusal(SMLP_ERR_BAD_FORMAT, "line 36: 2 connections listed", "too few connections");
    write_net(&a, "FANN_FLO_2.1", 0, NULL,
              "(0, 0.5) (1, 0.25) (2, zzz) (0, 1) (1, 1) (2, 1) (0, 1) (1, 1) (2, 1) "
              "(3, 1) (4, 1) (5, 1) (6, 1) (3, 1) (4, 1) (5, 1) (6, 1) ");
    expect_refusal(SMLP_ERR_BAD_FORMAT, "line 36: weight of connection 2", "a weight that is not a number");
    write_net(&a, "FANN_FLO_2.1", 0, NULL,
              "(0, 0.5) (1, 0.25) (7, 1) (0, 1) (1, 1) (2, 1) (0, 1) (1, 1) (2, 1) "
              "(3, 1) (4, 1) (5, 1) (6, 1) (3, 1) (4, 1) (5, 1) (6, 1) ");
    expect_refusal(SMLP_ERR_INVALID_ARGUMENT, "line 36: connection 2 links neuron 3 (layer 1) to neuron 7",
                   "a connection that skips a layer");
    write_net(&a, "FANN_FLO_2.1", 0, NULL,
              "(0, 0.5) (0, 0.25) (2, 1) (0, 1) (1, 1) (2, 1) (0, 1) (1, 1) (2, 1) "
              "(3, 1) (4, 1) (5, 1) (6, 1) (3, 1) (4, 1) (5, 1) (6, 1) ");
    expect_refusal(SMLP_ERR_INVALID_ARGUMENT, "connection 1 links neuron 3", "a repeated connection");
    write_net(&a, "FANN_FLO_2.1", 0, NULL,
              "(0, 0.5) (1, 0.25) (2, 1) (0, 1) (1, 1) (2, 1) (0, 1) (1, 1) (2, 1) "
              "(3, 1) (4, 1) (5, 1) (6, 1) (3, 1) (4, 1) (5, 1) (6, 1e39) ");
    CHECK_STATUS(smlp_load_fann(path, SMLP_FLOAT32, &model), SMLP_ERR_INVALID_ARGUMENT,
                 "a weight beyond float's range in a float32 model");
    CHECK(model == NULL && strstr(smlp_last_error(), "overflows float") != NULL, "the message says it overflows float");
    CHECK_STATUS(smlp_load_fann(path, SMLP_FLOAT64, &model), SMLP_OK, "the same file in float64");
    smlp_free(model);

    unlink(path);
    return check_summary();
}
