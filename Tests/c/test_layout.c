/*
 * test_layout.c - smlp_param_count, smlp_model_info_get and smlp_layer_info_get
 * against the header's layout: layer l holds W_l (n_in x n_out, row-major) then
 * b_l (n_out), layer after layer, in one contiguous vector.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

static const size_t sizes[4] = {3, 4, 5, 2};
static const smlp_activation activations[3] = {SMLP_RELU, SMLP_LEAKY_RELU, SMLP_SOFTMAX};

static void test_layout(smlp_dtype dtype) {
    smlp_config config;
    smlp_model *model = NULL;
    smlp_model_info info;
    size_t l, expected_count = 0, offset = 0;
    const char *name = dtype == SMLP_FLOAT32 ? "float32" : "float64";

    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = 4;
    config.layer_sizes = sizes;
    config.activations = activations;
    config.loss = SMLP_SOFTMAX_CROSS_ENTROPY;
    config.reduction = SMLP_REDUCTION_SUM;
    config.leaky_relu_slope = 0.25;
    if (!CHECK_STATUS(smlp_create(&config, &model), SMLP_OK, "%s: create 3-4-5-2", name)) return;

    for (l = 0; l < 3; l++) expected_count += sizes[l] * sizes[l + 1] + sizes[l + 1];
    CHECK(expected_count == 3 * 4 + 4 + 4 * 5 + 5 + 5 * 2 + 2, "the formula gives 53");
    CHECK(smlp_param_count(model) == expected_count, "%s: smlp_param_count is %zu, expected %zu", name,
          smlp_param_count(model), expected_count);

    memset(&info, 0xAB, sizeof info);
    CHECK_STATUS(smlp_model_info_get(model, &info), SMLP_OK, "%s: model info", name);
    CHECK(info.dtype == dtype, "%s: info.dtype", name);
    CHECK(info.n_layers == 3, "%s: info.n_layers is %zu, expected 3", name, info.n_layers);
    CHECK(info.n_inputs == 3, "%s: info.n_inputs is %zu, expected 3", name, info.n_inputs);
    CHECK(info.n_outputs == 2, "%s: info.n_outputs is %zu, expected 2", name, info.n_outputs);
    CHECK(info.param_count == expected_count, "%s: info.param_count is %zu", name, info.param_count);
    CHECK(info.loss == SMLP_SOFTMAX_CROSS_ENTROPY, "%s: info.loss", name);
    CHECK(info.reduction == SMLP_REDUCTION_SUM, "%s: info.reduction", name);
    CHECK(info.leaky_relu_slope == 0.25, "%s: info.leaky_relu_slope is %g", name, info.leaky_relu_slope);

    for (l = 0; l < 3; l++) {
        smlp_layer_info layer;
        memset(&layer, 0xAB, sizeof layer);
        if (!CHECK_STATUS(smlp_layer_info_get(model, l, &layer), SMLP_OK, "%s: layer %zu info", name, l)) {
            continue;
        }
        CHECK(layer.n_inputs == sizes[l], "%s: layer %zu n_inputs is %zu", name, l, layer.n_inputs);
        CHECK(layer.n_outputs == sizes[l + 1], "%s: layer %zu n_outputs is %zu", name, l, layer.n_outputs);
        CHECK(layer.activation == activations[l], "%s: layer %zu activation is %d", name, l,
              (int)layer.activation);
        CHECK(layer.weight_offset == offset, "%s: layer %zu weight_offset is %zu, expected %zu (contiguous)",
              name, l, layer.weight_offset, offset);
        CHECK(layer.bias_offset == layer.weight_offset + sizes[l] * sizes[l + 1],
              "%s: layer %zu bias_offset is %zu = weight_offset + n_in*n_out", name, l, layer.bias_offset);
        offset = layer.bias_offset + sizes[l + 1];
    }
    CHECK(offset == expected_count, "%s: the last bias ends at param_count (%zu vs %zu)", name, offset,
          expected_count);

    /* Bad layer index and NULLs. */
    {
        smlp_layer_info layer;
        CHECK_STATUS(smlp_layer_info_get(model, 3, &layer), SMLP_ERR_INVALID_ARGUMENT, "%s: layer 3 of 3", name);
        CHECK(strstr(smlp_last_error(), "smlp_layer_info_get") != NULL, "the message names the function");
        CHECK_STATUS(smlp_layer_info_get(model, SIZE_MAX, &layer), SMLP_ERR_INVALID_ARGUMENT,
                     "%s: layer SIZE_MAX", name);
        CHECK_STATUS(smlp_layer_info_get(model, 0, NULL), SMLP_ERR_NULL_ARGUMENT, "%s: NULL out_info", name);
        CHECK_STATUS(smlp_layer_info_get(NULL, 0, &layer), SMLP_ERR_NULL_ARGUMENT, "%s: NULL model", name);
        CHECK_STATUS(smlp_model_info_get(model, NULL), SMLP_ERR_NULL_ARGUMENT, "%s: model info, NULL out", name);
        CHECK_STATUS(smlp_model_info_get(NULL, &info), SMLP_ERR_NULL_ARGUMENT, "%s: model info, NULL model",
                     name);
    }
    smlp_free(model);
}

/* The smallest network: 1-1, two parameters, one layer. */
static void test_smallest(void) {
    const size_t one[2] = {1, 1};
    const smlp_activation identity[1] = {SMLP_IDENTITY};
    smlp_model *model = make_model(SMLP_FLOAT64, 2, one, identity, SMLP_MSE, SMLP_REDUCTION_MEAN, 0);
    smlp_layer_info layer;
    CHECK(model != NULL, "create 1-1");
    if (model == NULL) return;
    CHECK(smlp_param_count(model) == 2, "1-1 has 2 parameters");
    CHECK_STATUS(smlp_layer_info_get(model, 0, &layer), SMLP_OK, "layer 0 of 1-1");
    CHECK(layer.weight_offset == 0 && layer.bias_offset == 1, "1-1 offsets are 0 and 1");
    CHECK_STATUS(smlp_layer_info_get(model, 1, &layer), SMLP_ERR_INVALID_ARGUMENT, "layer 1 of 1-1");
    smlp_free(model);
}

static void test_param_count_null(void) {
    CHECK(smlp_param_count(NULL) == 0, "smlp_param_count(NULL) returns 0");
    CHECK(strstr(smlp_last_error(), "smlp_param_count") != NULL,
          "smlp_param_count(NULL) sets a message naming it: \"%s\"", smlp_last_error());
}

int main(void) {
    test_layout(SMLP_FLOAT64);
    test_layout(SMLP_FLOAT32);
    test_smallest();
    test_param_count_null();
    return check_summary();
}
