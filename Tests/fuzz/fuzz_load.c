/*
 * fuzz_load.c - a libFuzzer harness for smlp_load_from_buffer, through the C ABI.
 *
 * Every input is handed to smlp_load_from_buffer. A failure must be one of the
 * statuses a bad file can give (BAD_FORMAT, UNSUPPORTED_VERSION, OUT_OF_MEMORY) and
 * must leave *out_model NULL. A model that loads is then used: predict, one training
 * step and one short smlp_train run (their statuses must be OK or NON_FINITE), the
 * metadata read back, and save_to_buffer, whose bytes must load again and save to the
 * very same bytes, with the same predictions bit for bit. Any other outcome aborts,
 * which libFuzzer reports as a crash; AddressSanitizer reports memory errors.
 *
 * A CRC-32 guards every file, so random mutations would almost never get past it. The
 * custom mutator below therefore repairs the trailer (and usually payload_length)
 * after 7 of 8 mutations, so the fuzzer explores the payload parser; the 8th leaves
 * the mutation as it is, to keep exercising the header and checksum checks.
 *
 * A step whose update overflows may leave non-finite parameters or optimizer state
 * (the header's one exception to "a failed call changes nothing"); smlp_save then
 * refuses the model with NON_FINITE, so that every file it writes loads again. The
 * harness accepts exactly that and nothing else.
 *
 * Build and run: Tests/fuzz/run.sh [seconds]
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swiftmlp.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static uint32_t crc_table[256];

static void make_crc_table(void) {
    uint32_t n, c;
    int k;
    for (n = 0; n < 256; n++) {
        c = n;
        for (k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32_ieee(const uint8_t *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    for (i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static void put_le(uint8_t *p, uint64_t value, int bytes) {
    int i;
    for (i = 0; i < bytes; i++) p[i] = (uint8_t)(value >> (8 * i));
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    make_crc_table();
    smlp_set_num_threads(1);
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    size = LLVMFuzzerMutate(data, size, max_size);
    if ((seed & 7) != 0 && size >= 28) {
        if (((seed >> 3) & 3) != 0) put_le(data + 16, (uint64_t)(size - 28), 8);
        put_le(data + size - 4, crc32_ieee(data, size - 4), 4);
    }
    return size;
}

static void fail(const char *what, int status) {
    fprintf(stderr, "fuzz_load: %s (status %d: %s; last error: %s)\n", what, status,
            smlp_status_string((smlp_status)status), smlp_last_error());
    abort();
}

/* Predictions of 3 fixed rows, malloc'd (NULL when the sizes are too big to bother). */
static void *predict_rows(smlp_model *model, const smlp_model_info *info, size_t *bytes) {
    const size_t rows = 3;
    size_t element = info->dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double), i;
    void *x, *out;
    smlp_status status;
    if (info->n_inputs > 100000 || info->n_outputs > 100000) return NULL;
    x = malloc(rows * info->n_inputs * element);
    out = malloc(rows * info->n_outputs * element);
    if (x == NULL || out == NULL) {
        free(x);
        free(out);
        return NULL;
    }
    for (i = 0; i < rows * info->n_inputs; i++) {
        double v = i % 3 == 0 ? 0.0 : (i % 3 == 1 ? 1.5 : -1000.0);
        if (info->dtype == SMLP_FLOAT32) ((float *)x)[i] = (float)v;
        else ((double *)x)[i] = v;
    }
    status = smlp_predict(model, info->dtype, x, rows, info->n_inputs, out, info->n_outputs);
    free(x);
    if (status != SMLP_OK) {
        free(out);
        if (status == SMLP_ERR_OUT_OF_MEMORY) return NULL;
        fail("smlp_predict on a loaded model failed", status);
    }
    *bytes = rows * info->n_outputs * element;
    return out;
}

/* One smlp_step and one short smlp_train on 3 rows. Returns 1 when the step reported
 * SMLP_ERR_NON_FINITE (an overflowed update may then be left in the model). */
static int train_a_little(smlp_model *model, const smlp_model_info *info) {
    int step_non_finite = 0;
    const size_t rows = 3;
    size_t element = info->dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double), i;
    void *x, *y;
    int32_t labels[3];
    smlp_dataset data;
    smlp_train_options options;
    smlp_status status;
    if (info->n_inputs > 10000 || info->n_outputs > 10000) return 0;
    x = calloc(rows * info->n_inputs, element);
    y = calloc(rows * info->n_outputs, element);
    if (x == NULL || y == NULL) {
        free(x);
        free(y);
        return 0;
    }
    for (i = 0; i < rows * info->n_inputs; i++) {
        double v = (double)(i % 5) * 0.25 - 0.5;
        if (info->dtype == SMLP_FLOAT32) ((float *)x)[i] = (float)v;
        else ((double *)x)[i] = v;
    }
    for (i = 0; i < rows; i++) labels[i] = (int32_t)(i % info->n_outputs);
    for (i = 0; i < rows * info->n_outputs; i++) {
        double v = (i % info->n_outputs) == (size_t)labels[i / info->n_outputs] ? 1.0 : 0.0;
        if (info->dtype == SMLP_FLOAT32) ((float *)y)[i] = (float)v;
        else ((double *)y)[i] = v;
    }
    data.dtype = info->dtype;
    data.n_rows = rows;
    data.n_inputs = info->n_inputs;
    data.x = x;
    data.n_outputs = info->n_outputs;
    data.y = info->loss == SMLP_SOFTMAX_CROSS_ENTROPY ? NULL : y;
    data.labels = info->loss == SMLP_SOFTMAX_CROSS_ENTROPY ? labels : NULL;
    status = smlp_step(model, &data, NULL);
    if (status != SMLP_OK && status != SMLP_ERR_NON_FINITE && status != SMLP_ERR_OUT_OF_MEMORY)
        fail("smlp_step on a loaded model", status);
    step_non_finite = status == SMLP_ERR_NON_FINITE;
    smlp_train_options_init(&options);
    options.epochs = 1;
    options.batch_size = 2;
    status = smlp_train(model, &data, &options, NULL);
    if (status != SMLP_OK && status != SMLP_ERR_NON_FINITE && status != SMLP_ERR_OUT_OF_MEMORY)
        fail("smlp_train on a loaded model", status);
    free(x);
    free(y);
    return step_non_finite;
}

static void read_metadata(smlp_model *model) {
    size_t n = smlp_metadata_count(model), i, length;
    static char key[512], value[70000];
    for (i = 0; i < n; i++) {
        smlp_status status = smlp_metadata_key(model, i, key, sizeof key, &length);
        if (status != SMLP_OK) fail("smlp_metadata_key on a loaded model", status);
        if (length == 0 || length > 255 || strlen(key) != length) fail("a loaded metadata key has a bad length", 0);
        status = smlp_get_metadata(model, key, value, sizeof value, &length);
        if (status != SMLP_OK) fail("smlp_get_metadata on a loaded model", status);
        if (length > 65535 || strlen(value) != length) fail("a loaded metadata value has a bad length", 0);
    }
}

/* Saves, reloads, saves again: the two images are equal, so are the predictions. */
static void save_and_reload(smlp_model *model, const smlp_model_info *info) {
    size_t size = 0, size2 = 0, bytes1 = 0, bytes2 = 0;
    uint8_t *image = NULL, *image2 = NULL;
    smlp_model *again = NULL;
    smlp_status status;
    smlp_model_info info2;
    void *p1, *p2;

    status = smlp_save_to_buffer(model, NULL, 0, &size);
    if (status != SMLP_OK) fail("smlp_save_to_buffer size query", status);
    image = malloc(size);
    if (image == NULL) return;
    status = smlp_save_to_buffer(model, image, size, &size);
    if (status != SMLP_OK) fail("smlp_save_to_buffer", status);
    status = smlp_load_from_buffer(image, size, &again);
    if (status != SMLP_OK) fail("a model the library saved does not load", status);
    status = smlp_save_to_buffer(again, NULL, 0, &size2);
    if (status != SMLP_OK) fail("smlp_save_to_buffer size query (reloaded)", status);
    image2 = malloc(size2);
    if (image2 != NULL) {
        status = smlp_save_to_buffer(again, image2, size2, &size2);
        if (status != SMLP_OK) fail("smlp_save_to_buffer (reloaded)", status);
        if (size2 != size || memcmp(image, image2, size) != 0) fail("save -> load -> save changed the bytes", 0);
    }
    if (smlp_model_info_get(again, &info2) != SMLP_OK || info2.param_count != info->param_count)
        fail("the reloaded model has another shape", 0);
    p1 = predict_rows(model, info, &bytes1);
    p2 = predict_rows(again, &info2, &bytes2);
    if (p1 != NULL && p2 != NULL && (bytes1 != bytes2 || memcmp(p1, p2, bytes1) != 0))
        fail("the reloaded model predicts other bits", 0);
    free(p1);
    free(p2);
    free(image);
    free(image2);
    smlp_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    smlp_model *model = (smlp_model *)&model; /* non-NULL: the call must set it */
    smlp_model_info info;
    smlp_status status;
    size_t bytes = 0;
    void *out;

    status = smlp_load_from_buffer(data, size, &model);
    if (status != SMLP_OK) {
        if (model != NULL) fail("a failed load left *out_model non-NULL", status);
        if (status != SMLP_ERR_BAD_FORMAT && status != SMLP_ERR_UNSUPPORTED_VERSION &&
            status != SMLP_ERR_OUT_OF_MEMORY)
            fail("smlp_load_from_buffer returned a status a bad file cannot give", status);
        return 0;
    }
    if (model == NULL) fail("smlp_load_from_buffer returned OK and a NULL model", status);
    status = smlp_model_info_get(model, &info);
    if (status != SMLP_OK) fail("smlp_model_info_get on a loaded model", status);
    if (info.param_count != smlp_param_count(model)) fail("param_count disagrees", 0);
    out = predict_rows(model, &info, &bytes);
    free(out);
    read_metadata(model);
    save_and_reload(model, &info);
    /* The header's one exception: a step whose update overflows returns NON_FINITE and
     * may leave non-finite parameters or optimizer state, which smlp_save refuses
     * (NON_FINITE) so that every saved file loads. Otherwise the model must save and
     * reload exactly. */
    if (train_a_little(model, &info)) {
        size_t size = 0;
        status = smlp_save_to_buffer(model, NULL, 0, &size);
        if (status == SMLP_OK) save_and_reload(model, &info);
        else if (status != SMLP_ERR_NON_FINITE) fail("save after an overflowed step", status);
    } else {
        save_and_reload(model, &info);
    }
    smlp_free(model);
    return 0;
}
