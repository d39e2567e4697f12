/*
 * make_corpus.c - writes the seed corpus of the smlp_load_from_buffer fuzzer:
 * small valid model files (every dtype, optimizer, schedule; with and without
 * scaler and metadata) and a few broken ones (truncated, bad checksum, newer major
 * version, absurd layer sizes with a correct checksum, empty).
 *
 *   cc -std=c99 -I include make_corpus.c -L build/lib -lswiftmlp -o make_corpus
 *   ./make_corpus Tests/fuzz/corpus/load
 *
 * Tests/fuzz/run.sh --make-corpus does exactly this. The files are committed; rerun
 * it only when the format changes. Everything is deterministic (fixed seeds), so the
 * same library writes the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swiftmlp.h>

static int failures = 0;

static void fail(const char *what, smlp_status status) {
    fprintf(stderr, "make_corpus: %s: %s (%s)\n", what, smlp_status_string(status), smlp_last_error());
    failures++;
}

static uint32_t crc32_ieee(const unsigned char *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return crc ^ 0xFFFFFFFFu;
}

static void put_le(unsigned char *p, uint64_t value, int bytes) {
    int i;
    for (i = 0; i < bytes; i++) p[i] = (unsigned char)(value >> (8 * i));
}

/* Recomputes the trailer of a whole file image. */
static void fix_crc(unsigned char *file, size_t size) {
    put_le(file + size - 4, crc32_ieee(file, size - 4), 4);
}

static void write_file(const char *dir, const char *name, const unsigned char *bytes, size_t size) {
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(bytes, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        failures++;
        return;
    }
    printf("%-40s %6zu bytes\n", name, size);
}

struct spec {
    const char *name;
    smlp_dtype dtype;
    size_t n_sizes;
    size_t sizes[4];
    smlp_activation activations[3];
    smlp_loss loss;
    smlp_reduction reduction;
    smlp_optimizer optimizer;
    double momentum;
    int nesterov;
    smlp_schedule schedule;
    int scaler;
    int metadata;
    int rprop_plus;
};

static const struct spec specs[] = {
    {"valid_f64_sgd.smlp", SMLP_FLOAT64, 3, {2, 3, 1}, {SMLP_TANH, SMLP_IDENTITY}, SMLP_MSE,
     SMLP_REDUCTION_MEAN, SMLP_SGD, 0, 0, SMLP_SCHEDULE_CONSTANT, 0, 0, 0},
    {"valid_f32_adam_scaler_meta.smlp", SMLP_FLOAT32, 3, {3, 4, 2}, {SMLP_RELU, SMLP_SOFTMAX},
     SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, SMLP_ADAM, 0, 0, SMLP_SCHEDULE_COSINE, 1, 1, 0},
    {"valid_f64_rmsprop_momentum.smlp", SMLP_FLOAT64, 4, {2, 2, 2, 1},
     {SMLP_LEAKY_RELU, SMLP_SIGMOID, SMLP_SIGMOID}, SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_SUM,
     SMLP_RMSPROP, 0.5, 0, SMLP_SCHEDULE_STEP, 1, 0, 0},
    {"valid_f32_sgd_nesterov.smlp", SMLP_FLOAT32, 2, {1, 1}, {SMLP_IDENTITY}, SMLP_MSE,
     SMLP_REDUCTION_SUM, SMLP_SGD, 0.9, 1, SMLP_SCHEDULE_EXPONENTIAL, 0, 1, 0},
    {"valid_f64_adamw.smlp", SMLP_FLOAT64, 3, {2, 2, 3}, {SMLP_SIGMOID, SMLP_SOFTMAX},
     SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, SMLP_ADAMW, 0, 0, SMLP_SCHEDULE_CONSTANT, 1, 1, 0},
    {"valid_f32_rmsprop.smlp", SMLP_FLOAT32, 3, {2, 2, 1}, {SMLP_TANH, SMLP_SIGMOID},
     SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, SMLP_RMSPROP, 0, 0, SMLP_SCHEDULE_CONSTANT, 0, 0, 0},
    {"valid_f64_rprop_plus.smlp", SMLP_FLOAT64, 3, {2, 3, 1}, {SMLP_TANH, SMLP_SIGMOID},
     SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, SMLP_RPROP, 0, 0, SMLP_SCHEDULE_CONSTANT, 1, 0, 1},
    {"valid_f32_rprop.smlp", SMLP_FLOAT32, 3, {3, 4, 2}, {SMLP_RELU, SMLP_SOFTMAX},
     SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, SMLP_RPROP, 0, 0, SMLP_SCHEDULE_CONSTANT, 0, 1, 0},
};

/* Builds, trains a few steps and serialises one spec; returns a malloc'd image. */
static unsigned char *build(const struct spec *s, size_t *out_size) {
    smlp_config config;
    smlp_optimizer_config opt;
    smlp_model *model = NULL;
    smlp_status status;
    size_t n_in = s->sizes[0], n_out = s->sizes[s->n_sizes - 1], i, size = 0;
    double xd[8 * 4], yd[8 * 4], mean[4], std[4];
    float xf[8 * 4], yf[8 * 4];
    int32_t labels[8];
    smlp_dataset data;
    unsigned char *image;
    int step;

    smlp_config_init(&config);
    config.dtype = s->dtype;
    config.n_layer_sizes = s->n_sizes;
    config.layer_sizes = s->sizes;
    config.activations = s->activations;
    config.loss = s->loss;
    config.reduction = s->reduction;
    config.seed = 42;
    if ((status = smlp_create(&config, &model)) != SMLP_OK) { fail(s->name, status); return NULL; }
    smlp_optimizer_config_init(&opt, s->optimizer);
    opt.momentum = s->momentum;
    opt.nesterov = s->nesterov;
    opt.schedule = s->schedule;
    opt.step_size = 2;
    opt.gamma = 0.5;
    opt.t_max = 7;
    opt.min_lr = 1e-4;
    opt.rprop_variant = s->rprop_plus ? SMLP_IRPROP_PLUS : SMLP_IRPROP_MINUS;
    if ((status = smlp_set_optimizer(model, &opt)) != SMLP_OK) { fail(s->name, status); goto done; }
    for (i = 0; i < 8 * 4; i++) {
        xd[i] = (double)((i * 37) % 11) / 5.0 - 1.0;
        yd[i] = (double)((i * 5) % 2);
        xf[i] = (float)xd[i];
        yf[i] = (float)yd[i];
    }
    for (i = 0; i < 8; i++) labels[i] = (int32_t)(i % n_out);
    if (s->scaler) {
        for (i = 0; i < n_in; i++) { mean[i] = 0.25 * (double)i; std[i] = 1.5 + (double)i; }
        if ((status = smlp_set_scaler(model, mean, std, n_in)) != SMLP_OK) { fail(s->name, status); goto done; }
    }
    if (s->metadata) {
        smlp_set_metadata(model, "feature_names", "a,b,c");
        smlp_set_metadata(model, "trained", "2024-01-01 \xc3\xa9t\xc3\xa9");
    }
    data.dtype = s->dtype;
    data.n_rows = 8;
    data.n_inputs = n_in;
    data.x = s->dtype == SMLP_FLOAT32 ? (const void *)xf : (const void *)xd;
    data.n_outputs = n_out;
    data.y = s->loss == SMLP_SOFTMAX_CROSS_ENTROPY ? NULL
           : (s->dtype == SMLP_FLOAT32 ? (const void *)yf : (const void *)yd);
    data.labels = s->loss == SMLP_SOFTMAX_CROSS_ENTROPY ? labels : NULL;
    for (step = 0; step < 3; step++) {
        if ((status = smlp_step(model, &data, NULL)) != SMLP_OK) { fail(s->name, status); goto done; }
    }
    smlp_set_epoch(model, 3);
    if ((status = smlp_save_to_buffer(model, NULL, 0, &size)) != SMLP_OK) { fail(s->name, status); goto done; }
    image = malloc(size);
    if (image == NULL || (status = smlp_save_to_buffer(model, image, size, &size)) != SMLP_OK) {
        fail(s->name, status);
        free(image);
        goto done;
    }
    smlp_free(model);
    *out_size = size;
    return image;
done:
    smlp_free(model);
    return NULL;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    unsigned char *first = NULL, *copy;
    size_t first_size = 0, size, k;

    for (k = 0; k < sizeof specs / sizeof specs[0]; k++) {
        unsigned char *image = build(&specs[k], &size);
        if (image == NULL) continue;
        write_file(dir, specs[k].name, image, size);
        if (first == NULL) { first = image; first_size = size; } else free(image);
    }
    if (first == NULL) return 1;

    /* Broken ones, all derived from the first (a 2-3-1 float64 model with SGD). */
    copy = malloc(first_size + 16);
    if (copy == NULL) return 1;

    write_file(dir, "broken_empty.smlp", copy, 0);
    write_file(dir, "broken_truncated.smlp", first, first_size - 9);

    memcpy(copy, first, first_size);
    copy[first_size / 2] ^= 0x10;                       /* a flipped bit, stale CRC */
    write_file(dir, "broken_crc.smlp", copy, first_size);

    memcpy(copy, first, first_size);
    put_le(copy + 8, 2, 2);                             /* major 2, CRC fixed up */
    fix_crc(copy, first_size);
    write_file(dir, "broken_major2.smlp", copy, first_size);

    memcpy(copy, first, first_size);
    put_le(copy + 48, (uint64_t)1 << 30, 8);            /* layer sizes 2^30 x 2^30 */
    put_le(copy + 56, (uint64_t)1 << 30, 8);
    fix_crc(copy, first_size);
    write_file(dir, "broken_huge_layers.smlp", copy, first_size);

    /* A newer minor version (1.2) with 8 unknown bytes appended to the payload: valid. */
    memcpy(copy, first, first_size - 4);
    put_le(copy + 10, 2, 2);
    memset(copy + first_size - 4, 0xAB, 8);
    put_le(copy + 16, first_size - 28 + 8, 8);
    fix_crc(copy, first_size + 8);
    write_file(dir, "valid_minor2_trailing.smlp", copy, first_size + 8);

    free(copy);
    free(first);
    return failures == 0 ? 0 : 1;
}
