/*
 * test_persistence.c - saving and loading models (smlp_save, smlp_load,
 * smlp_save_to_buffer, smlp_load_from_buffer) and the metadata API, against the
 * header's contract and docs/format.md:
 *
 *   - round trips through a file and through a buffer for every activation, loss,
 *     reduction, dtype, optimizer (SGD plain/momentum/Nesterov, Adam, AdamW, RMSprop
 *     plain/momentum, iRPROP-, iRPROP+), schedule and init, with steps taken, a scaler and metadata set: the
 *     file is exactly the buffer, a loaded model re-serialises to the same bytes,
 *     predicts the same bits, and training resumed from it continues bit for bit as
 *     the model that never stopped;
 *   - a walker written from docs/format.md alone finds every field where the page says;
 *   - every bad file: truncated at every length, every single-bit flip, wrong magic,
 *     newer or zero major version, trailing bytes (allowed only from a newer minor),
 *     absurd sizes with a correct CRC (rejected fast, without allocating), bad enum
 *     codes and values (also values a double holds but the model's type does not);
 *     directories, missing paths, devices, NULL arguments;
 *   - whatever smlp_save writes loads again, even after an overflowing step;
 *   - 1.0 files (written before the RPROP section existed) still load;
 *   - metadata set/get/replace/remove, order, limits, capacities;
 *     save_to_buffer capacities; no temporary file is left behind.
 * The atomic-write guarantee under failing writes is in test_atomic_save.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "model_util.h"

static char tmpdir[256];

/* ---- Small helpers: bytes, files, CRC ------------------------------------------ */

static uint32_t crc32_ieee(const unsigned char *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) crc = (crc & 1u) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return crc ^ 0xFFFFFFFFu;
}

static void put_le(unsigned char *p, uint64_t value, int bytes) {
    int i;
    for (i = 0; i < bytes; i++) p[i] = (unsigned char)(value >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes) {
    uint64_t value = 0;
    int i;
    for (i = 0; i < bytes; i++) value |= (uint64_t)p[i] << (8 * i);
    return value;
}

/* Recomputes the CRC-32 trailer of a whole file image. */
static void fix_crc(unsigned char *image, size_t size) {
    put_le(image + size - 4, crc32_ieee(image, size - 4), 4);
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void path_in_tmp(char *out, size_t capacity, const char *name) {
    snprintf(out, capacity, "%s/%s", tmpdir, name);
}

static int write_bytes(const char *path, const void *bytes, size_t size) {
    FILE *f = fopen(path, "wb");
    int ok;
    if (f == NULL) return 0;
    ok = size == 0 || fwrite(bytes, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* The whole file, malloc'd (size in *size), or NULL. */
static unsigned char *read_bytes(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    unsigned char *bytes = NULL;
    long length;
    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (length = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        bytes = malloc((size_t)length + 1);
        if (bytes != NULL && fread(bytes, 1, (size_t)length, f) != (size_t)length) {
            free(bytes);
            bytes = NULL;
        }
        *size = (size_t)length;
    }
    fclose(f);
    return bytes;
}

/* The model serialised with smlp_save_to_buffer (malloc'd), or NULL. */
static unsigned char *serialize(smlp_model *model, size_t *size) {
    unsigned char *bytes;
    size_t needed = 0, written = 0;
    if (smlp_save_to_buffer(model, NULL, 0, &needed) != SMLP_OK) return NULL;
    bytes = malloc(needed);
    if (bytes == NULL) return NULL;
    if (smlp_save_to_buffer(model, bytes, needed, &written) != SMLP_OK || written != needed) {
        free(bytes);
        return NULL;
    }
    *size = needed;
    return bytes;
}

/* 1 when two models serialise to the same bytes (so every piece of state agrees). */
static int same_serialization(smlp_model *a, smlp_model *b) {
    size_t na = 0, nb = 0;
    unsigned char *x = serialize(a, &na), *y = serialize(b, &nb);
    int same = x != NULL && y != NULL && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* ---- A walker over the format, written from docs/format.md alone -------------- */

struct fields {
    size_t n_sizes;           /* L                                          */
    size_t sizes_at;          /* file offset of layer_sizes[0]              */
    size_t activations_at;
    size_t optimizer_at;      /* the kind byte                              */
    size_t training_at;       /* epoch                                      */
    size_t scaler_at;         /* has_scaler                                 */
    size_t param_count_at;
    size_t params_at;
    size_t buffers_at;        /* n_buffers                                  */
    size_t metadata_at;       /* count                                      */
    size_t first_key_at;      /* key_len of entry 0 (if any)                */
    size_t rprop_at;          /* 1.1: rprop_variant (0 in a 1.0 image)      */
    size_t end;               /* where the known fields end                 */
    size_t scalar_bytes;      /* |T|                                        */
    uint64_t param_count;
};

/* Walks a 1.0 or 1.1 image; 1 when every field is where the page says and the
 * metadata (1.0) or the RPROP section after it (1.1) ends exactly at the trailer. */
static int walk(const unsigned char *f, size_t size, struct fields *w) {
    size_t at = 24, limit, i, n_in, count, buffers;
    uint64_t p = 0;
    memset(w, 0, sizeof *w);
    if (size < 28 || get_le(f + 16, 8) + 28 != size) return 0;
    limit = size - 4;
#define NEED(n) do { if ((n) > limit - at) return 0; } while (0)
    NEED(24);
    w->scalar_bytes = f[at] == 1 ? 4 : f[at] == 2 ? 8 : 0;
    if (w->scalar_bytes == 0) return 0;
    w->n_sizes = (size_t)get_le(f + at + 20, 4);
    at += 24;
    w->sizes_at = at;
    if (w->n_sizes < 2 || w->n_sizes > 64) return 0;  /* the tests' models are small */
    NEED(9 * w->n_sizes - 1);
    n_in = (size_t)get_le(f + at, 8);
    for (i = 0; i + 1 < w->n_sizes; i++) {
        uint64_t a = get_le(f + at + 8 * i, 8), b = get_le(f + at + 8 * (i + 1), 8);
        p += a * b + b;
    }
    at += 8 * w->n_sizes;
    w->activations_at = at;
    at += w->n_sizes - 1;
    w->optimizer_at = at;
    NEED(108);
    at += 108;
    w->training_at = at;
    NEED(40);
    at += 40;
    w->scaler_at = at;
    NEED(1);
    at += 1 + (f[at] == 1 ? 16 * n_in : 0);
    w->param_count_at = at;
    NEED(8);
    w->param_count = get_le(f + at, 8);
    if (w->param_count != p) return 0;
    at += 8;
    w->params_at = at;
    NEED(p * w->scalar_bytes);
    at += (size_t)p * w->scalar_bytes;
    w->buffers_at = at;
    NEED(1);
    buffers = f[at];
    at += 1;
    NEED(buffers * p * w->scalar_bytes);
    at += buffers * (size_t)p * w->scalar_bytes;
    w->metadata_at = at;
    NEED(4);
    count = (size_t)get_le(f + at, 4);
    at += 4;
    w->first_key_at = at;
    for (i = 0; i < count; i++) {
        size_t key, value;
        NEED(2);
        key = (size_t)get_le(f + at, 2);
        at += 2;
        NEED(key + 4);
        at += key;
        value = (size_t)get_le(f + at, 4);
        at += 4;
        NEED(value);
        at += value;
    }
    if (get_le(f + 10, 2) >= 1) {
        w->rprop_at = at;
        NEED(49);
        at += 49;
    }
#undef NEED
    w->end = at;
    return at == limit;
}

/* The file offset of the optimizer kind byte (0 when the image does not walk). */
static size_t w_optimizer_kind_offset(const unsigned char *image, size_t size) {
    struct fields w;
    return walk(image, size, &w) ? w.optimizer_at : 0;
}

/* ---- Load helpers that also check the out_model contract ------------------------ */

/* Loads from a buffer; on failure checks *out_model was set to NULL (else returns a
 * sentinel status 1000). The model, if any, is freed. */
static smlp_status try_load_buffer(const void *bytes, size_t size) {
    smlp_model *model = (smlp_model *)&model; /* a non-NULL sentinel */
    smlp_status status = smlp_load_from_buffer(bytes, size, &model);
    if (status == SMLP_OK) {
        smlp_free(model);
        return status;
    }
    return model == NULL ? status : (smlp_status)1000;
}

static smlp_status try_load_file(const char *path) {
    smlp_model *model = (smlp_model *)&model;
    smlp_status status = smlp_load(path, &model);
    if (status == SMLP_OK) {
        smlp_free(model);
        return status;
    }
    return model == NULL ? status : (smlp_status)1000;
}

/* ---- Round trips ----------------------------------------------------------------- */

enum { ROWS = 10, PRED_ROWS = 7, MAX_IN = 4, MAX_OUT = 3 };

struct net {
    const char *name;
    size_t n_sizes;
    size_t sizes[4];
    smlp_activation activations[3];
    smlp_loss loss;
    int use_labels;           /* softmax CE: integer labels instead of one-hot y */
};

/* Between them: every activation (hidden and output), every loss, labels and rows. */
static const struct net nets[] = {
    {"MSE 4-6-5-2 sigmoid/tanh/identity", 4, {4, 6, 5, 2}, {SMLP_SIGMOID, SMLP_TANH, SMLP_IDENTITY}, SMLP_MSE, 0},
    {"MSE 4-5-3 relu/tanh", 3, {4, 5, 3}, {SMLP_RELU, SMLP_TANH}, SMLP_MSE, 0},
    {"BCE 4-6-5-2 leaky/relu/sigmoid", 4, {4, 6, 5, 2}, {SMLP_LEAKY_RELU, SMLP_RELU, SMLP_SIGMOID},
     SMLP_BINARY_CROSS_ENTROPY, 0},
    {"SCE 4-5-3 tanh/softmax (labels)", 3, {4, 5, 3}, {SMLP_TANH, SMLP_SOFTMAX}, SMLP_SOFTMAX_CROSS_ENTROPY, 1},
    {"SCE 4-6-6-3 identity/leaky/softmax (one-hot)", 4, {4, 6, 6, 3},
     {SMLP_IDENTITY, SMLP_LEAKY_RELU, SMLP_SOFTMAX}, SMLP_SOFTMAX_CROSS_ENTROPY, 0},
};
enum { N_NETS = sizeof nets / sizeof nets[0] };

struct opt {
    const char *name;
    smlp_optimizer kind;
    double momentum;
    int nesterov;
    int rprop_plus;
};

static const struct opt opts[] = {
    {"SGD", SMLP_SGD, 0, 0, 0},
    {"SGD momentum", SMLP_SGD, 0.9, 0, 0},
    {"SGD Nesterov", SMLP_SGD, 0.8, 1, 0},
    {"Adam", SMLP_ADAM, 0, 0, 0},
    {"AdamW", SMLP_ADAMW, 0, 0, 0},
    {"RMSprop", SMLP_RMSPROP, 0, 0, 0},
    {"RMSprop momentum", SMLP_RMSPROP, 0.5, 0, 0},
    {"iRPROP-", SMLP_RPROP, 0, 0, 0},
    {"iRPROP+", SMLP_RPROP, 0, 0, 1},
};
enum { N_OPTS = sizeof opts / sizeof opts[0] };

static const char *schedule_names[5] = {"constant", "step", "exponential", "cosine", "inverse scaling"};

/* Data for one net, in both dtypes. */
struct data {
    double x[ROWS * MAX_IN], y[ROWS * MAX_OUT], px[PRED_ROWS * MAX_IN];
    float xf[ROWS * MAX_IN], yf[ROWS * MAX_OUT], pxf[PRED_ROWS * MAX_IN];
    int32_t labels[ROWS];
    smlp_dataset set;
};

static void make_data(const struct net *net, smlp_dtype dtype, struct data *d, uint64_t seed) {
    size_t n_in = net->sizes[0], n_out = net->sizes[net->n_sizes - 1], i, j;
    fill_uniform(d->x, ROWS * n_in, seed, -2, 2);
    fill_uniform(d->px, PRED_ROWS * n_in, seed + 1, -2, 2);
    fill_uniform(d->y, ROWS * n_out, seed + 2, -1, 1);
    for (i = 0; i < ROWS; i++) {
        d->labels[i] = (int32_t)((i * 7 + seed) % n_out);
        for (j = 0; j < n_out; j++) {
            double *y = &d->y[i * n_out + j];
            if (net->loss == SMLP_BINARY_CROSS_ENTROPY) *y = *y > 0 ? 1 : 0;
            if (net->loss == SMLP_SOFTMAX_CROSS_ENTROPY) *y = (int32_t)j == d->labels[i] ? 1 : 0;
        }
    }
    for (i = 0; i < ROWS * n_in; i++) d->xf[i] = (float)d->x[i];
    for (i = 0; i < ROWS * n_out; i++) d->yf[i] = (float)d->y[i];
    for (i = 0; i < PRED_ROWS * n_in; i++) d->pxf[i] = (float)d->px[i];
    d->set.dtype = dtype;
    d->set.n_rows = ROWS;
    d->set.n_inputs = n_in;
    d->set.x = dtype == SMLP_FLOAT32 ? (const void *)d->xf : (const void *)d->x;
    d->set.n_outputs = n_out;
    d->set.y = net->use_labels ? NULL : (dtype == SMLP_FLOAT32 ? (const void *)d->yf : (const void *)d->y);
    d->set.labels = net->use_labels ? d->labels : NULL;
}

/* Some training: an smlp_train run (shuffling, so the generator moves; epochs, so the
 * schedule moves) and single steps. */
static smlp_status train_some(smlp_model *model, struct data *d, size_t epochs, int steps) {
    smlp_train_options options;
    smlp_status status;
    int k;
    smlp_train_options_init(&options);
    options.epochs = epochs;
    options.batch_size = 4;
    options.shuffle = 1;
    status = smlp_train(model, &d->set, &options, NULL);
    for (k = 0; status == SMLP_OK && k < steps; k++) status = smlp_step(model, &d->set, NULL);
    return status;
}

/* Predictions of PRED_ROWS rows as raw bytes (malloc'd), or NULL. */
static void *predict_bytes(smlp_model *model, const struct net *net, smlp_dtype dtype, struct data *d,
                           size_t *bytes) {
    size_t n_in = net->sizes[0], n_out = net->sizes[net->n_sizes - 1];
    size_t element = dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double);
    void *out = calloc(PRED_ROWS * n_out, element);
    const void *x = dtype == SMLP_FLOAT32 ? (const void *)d->pxf : (const void *)d->px;
    if (out == NULL || smlp_predict(model, dtype, x, PRED_ROWS, n_in, out, n_out) != SMLP_OK) {
        free(out);
        return NULL;
    }
    *bytes = PRED_ROWS * n_out * element;
    return out;
}

static int same_info(smlp_model *a, smlp_model *b) {
    smlp_model_info x, y;
    if (smlp_model_info_get(a, &x) != SMLP_OK || smlp_model_info_get(b, &y) != SMLP_OK) return 0;
    return x.dtype == y.dtype && x.n_layers == y.n_layers && x.n_inputs == y.n_inputs &&
           x.n_outputs == y.n_outputs && x.param_count == y.param_count && x.loss == y.loss &&
           x.reduction == y.reduction && memcmp(&x.leaky_relu_slope, &y.leaky_relu_slope, sizeof(double)) == 0 &&
           x.epoch == y.epoch && x.has_scaler == y.has_scaler;
}

static int same_metadata(smlp_model *a, smlp_model *b) {
    size_t n = smlp_metadata_count(a), i, la, lb;
    static char ka[300], kb[300], va[70000], vb[70000];
    if (n != smlp_metadata_count(b)) return 0;
    for (i = 0; i < n; i++) {
        if (smlp_metadata_key(a, i, ka, sizeof ka, &la) != SMLP_OK) return 0;
        if (smlp_metadata_key(b, i, kb, sizeof kb, &lb) != SMLP_OK) return 0;
        if (la != lb || strcmp(ka, kb) != 0) return 0;
        if (smlp_get_metadata(a, ka, va, sizeof va, &la) != SMLP_OK) return 0;
        if (smlp_get_metadata(b, kb, vb, sizeof vb, &lb) != SMLP_OK) return 0;
        if (la != lb || memcmp(va, vb, la + 1) != 0) return 0;
    }
    return 1;
}

static int same_scaler(smlp_model *a, smlp_model *b, size_t n_in) {
    double ma[MAX_IN], sa[MAX_IN], mb[MAX_IN], sb[MAX_IN];
    int ha = -1, hb = -2;
    if (smlp_get_scaler(a, ma, sa, n_in, &ha) != SMLP_OK) return 0;
    if (smlp_get_scaler(b, mb, sb, n_in, &hb) != SMLP_OK) return 0;
    if (ha != hb) return 0;
    return !ha || (memcmp(ma, mb, n_in * sizeof(double)) == 0 && memcmp(sa, sb, n_in * sizeof(double)) == 0);
}

static void round_trip(const struct net *net, const struct opt *opt, smlp_dtype dtype, int index) {
    const char *dt = dtype == SMLP_FLOAT32 ? "float32" : "float64";
    const smlp_reduction reduction = (index & 1) ? SMLP_REDUCTION_SUM : SMLP_REDUCTION_MEAN;
    const smlp_schedule schedule = (smlp_schedule)(index % 5);
    const size_t n_in = net->sizes[0];
    char label[256], path[512] = "";
    smlp_model *model = NULL, *from_file = NULL, *from_buffer = NULL;
    smlp_optimizer_config oc;
    smlp_config config;
    struct data d;
    unsigned char *image = NULL, *file = NULL, *again = NULL;
    size_t size = 0, file_size = 0, again_size = 0, pred_bytes = 0, i;
    void *pa = NULL, *pb = NULL, *pc = NULL;
    struct fields w;
    double mean[MAX_IN], std[MAX_IN];
    int ok;

    snprintf(label, sizeof label, "%s, %s, %s, %s, %s schedule, init %d", net->name, opt->name, dt,
             reduction == SMLP_REDUCTION_SUM ? "sum" : "mean", schedule_names[schedule], index % 3);
    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = net->n_sizes;
    config.layer_sizes = net->sizes;
    config.activations = net->activations;
    config.loss = net->loss;
    config.reduction = reduction;
    config.init = (smlp_init)(index % 3);
    config.seed = 1000 + (uint64_t)index;
    config.leaky_relu_slope = 0.01 * (double)(1 + index % 7);
    if (!CHECK_STATUS(smlp_create(&config, &model), SMLP_OK, "%s: create", label)) return;
    make_data(net, dtype, &d, 77 + (uint64_t)index);

    smlp_optimizer_config_init(&oc, opt->kind);
    oc.momentum = opt->momentum;
    oc.nesterov = opt->nesterov;
    oc.learning_rate = opt->kind == SMLP_SGD ? 0.05 : 0.01;
    oc.weight_decay = (index % 3 && opt->kind != SMLP_RPROP) ? 0.001 : oc.weight_decay;
    oc.rprop_variant = opt->rprop_plus ? SMLP_IRPROP_PLUS : SMLP_IRPROP_MINUS;
    oc.decay_biases = index % 2;
    oc.clip_norm = (index % 5 == 0) ? 0.5 : 0;
    oc.schedule = schedule;
    oc.step_size = 1;
    oc.gamma = 0.7;
    oc.t_max = 5;
    oc.min_lr = 1e-4;
    for (i = 0; i < n_in; i++) {
        mean[i] = 0.1 * (double)i - 0.2;
        std[i] = 0.5 + 0.25 * (double)i;
    }
    ok = smlp_set_optimizer(model, &oc) == SMLP_OK &&
         ((index % 3 == 2) ? smlp_fit_scaler(model, dtype, d.set.x, ROWS, n_in)
                           : smlp_set_scaler(model, mean, std, n_in)) == SMLP_OK &&
         smlp_set_metadata(model, "name", label) == SMLP_OK &&
         smlp_set_metadata(model, "unicode \xe2\x9c\x93", "caf\xc3\xa9 \xf0\x9f\x98\x80") == SMLP_OK &&
         smlp_set_metadata(model, "empty", "") == SMLP_OK &&
         smlp_set_epoch(model, 2) == SMLP_OK && train_some(model, &d, 2, 2) == SMLP_OK;
    if (!CHECK(ok, "%s: set optimizer, scaler, metadata, epoch, train 2 epochs + 2 steps", label)) goto done;

    /* Save both ways: the file is byte for byte the buffer. */
    snprintf(path, sizeof path, "%s/round_%d.smlp", tmpdir, index);
    CHECK_STATUS(smlp_save(model, path), SMLP_OK, "%s: save", label);
    image = serialize(model, &size);
    file = read_bytes(path, &file_size);
    if (!CHECK(image != NULL && file != NULL, "%s: save_to_buffer and read the file back", label)) goto done;
    CHECK(file_size == size && memcmp(file, image, size) == 0, "%s: the file (%zu bytes) is the buffer (%zu)",
          label, file_size, size);
    CHECK(walk(image, size, &w) && get_le(image + 8, 2) == 1 && get_le(image + 10, 2) == 1 &&
              get_le(image + 12, 4) == 0 && get_le(image + size - 4, 4) == crc32_ieee(image, size - 4) &&
              image[w.buffers_at] == (opt->kind == SMLP_SGD ? (opt->momentum > 0 ? 1 : 0)
                                      : opt->kind == SMLP_RMSPROP ? (opt->momentum > 0 ? 2 : 1)
                                      : opt->kind == SMLP_RPROP ? 2 + opt->rprop_plus : 2) &&
              image[w.rprop_at] == opt->rprop_plus &&
              image[w.scaler_at] == 1 && get_le(image + w.metadata_at, 4) == 3 &&
              get_le(image + w.training_at, 8) == 4 &&
              get_le(image + w.optimizer_at + 100, 8) == (uint64_t)(2 * ((ROWS + 3) / 4) + 2),
          "%s: version 1.1, flags 0, CRC-32 trailer, and every field where docs/format.md says "
          "(optimizer buffers, scaler, 3 metadata entries, epoch 4, step_count %d)", label,
          2 * ((ROWS + 3) / 4) + 2);

    /* Load both ways. */
    CHECK_STATUS(smlp_load(path, &from_file), SMLP_OK, "%s: load the file", label);
    CHECK_STATUS(smlp_load_from_buffer(image, size, &from_buffer), SMLP_OK, "%s: load the buffer", label);
    if (from_file == NULL || from_buffer == NULL) goto done;

    again = serialize(from_file, &again_size);
    CHECK(again != NULL && again_size == size && memcmp(again, image, size) == 0,
          "%s: the loaded model saves to the same bytes (all state restored)", label);
    CHECK(same_serialization(from_buffer, model), "%s: the model loaded from the buffer saves to the same bytes",
          label);
    CHECK(same_info(model, from_file) && same_info(model, from_buffer), "%s: model info equal after load", label);
    CHECK(same_metadata(model, from_file) && same_metadata(model, from_buffer),
          "%s: metadata (keys, order, values) equal after load", label);
    CHECK(same_scaler(model, from_file, n_in) && same_scaler(model, from_buffer, n_in),
          "%s: scaler equal after load", label);
    CHECK(models_equal(model, from_file) && models_equal(model, from_buffer), "%s: parameters equal after load",
          label);

    pa = predict_bytes(model, net, dtype, &d, &pred_bytes);
    pb = predict_bytes(from_file, net, dtype, &d, &pred_bytes);
    pc = predict_bytes(from_buffer, net, dtype, &d, &pred_bytes);
    CHECK(pa != NULL && pb != NULL && pc != NULL && memcmp(pa, pb, pred_bytes) == 0 &&
              memcmp(pa, pc, pred_bytes) == 0,
          "%s: predictions equal bit for bit after load (memcmp)", label);

    /* Resume: the same training on the original and on both copies. */
    ok = train_some(model, &d, 2, 3) == SMLP_OK && train_some(from_file, &d, 2, 3) == SMLP_OK &&
         train_some(from_buffer, &d, 2, 3) == SMLP_OK;
    if (CHECK(ok, "%s: resume training (2 more epochs + 3 steps) on all three", label)) {
        CHECK(models_equal(model, from_file) && models_equal(model, from_buffer),
              "%s: resumed training gives bit-identical parameters", label);
        CHECK(same_serialization(model, from_file) && same_serialization(model, from_buffer),
              "%s: and bit-identical optimizer state, epoch and generator (same saved bytes)", label);
    }
done:
    free(pa);
    free(pb);
    free(pc);
    free(image);
    free(file);
    free(again);
    smlp_free(model);
    smlp_free(from_file);
    smlp_free(from_buffer);
    if (path[0] != 0) unlink(path);
}

static void test_round_trips(void) {
    int n, o, t, index = 0;
    for (t = 0; t < 2; t++)
        for (n = 0; n < N_NETS; n++)
            for (o = 0; o < N_OPTS; o++)
                round_trip(&nets[n], &opts[o], t ? SMLP_FLOAT32 : SMLP_FLOAT64, index++);
}

/* A model with no scaler and no metadata also round-trips, and so does one with the
 * largest metadata allowed (1024 keys, a 255-byte key, a 65535-byte value). */
static void test_round_trip_extremes(void) {
    static const size_t sizes[2] = {1, 1};
    static const smlp_activation acts[1] = {SMLP_IDENTITY};
    smlp_model *model = make_model(SMLP_FLOAT32, 2, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 5), *copy = NULL;
    unsigned char *image = NULL;
    size_t size = 0, i;
    char key[300], *value = malloc(65536);
    int ok = 1;
    if (!CHECK(model != NULL && value != NULL, "1-1 model")) goto done;
    image = serialize(model, &size);
    CHECK(image != NULL && smlp_load_from_buffer(image, size, &copy) == SMLP_OK && same_serialization(model, copy),
          "a 1-1 float32 model without scaler or metadata round-trips (%zu bytes)", size);
    smlp_free(copy);
    copy = NULL;
    free(image);
    {
        /* Keys are bytes: two spellings of "cafe" with an acute e are two keys. */
        char got[8] = "";
        size_t length = 0;
        ok &= smlp_set_metadata(model, "caf\xc3\xa9", "one") == SMLP_OK &&
              smlp_set_metadata(model, "cafe\xcc\x81", "two") == SMLP_OK;
        CHECK(ok && smlp_metadata_count(model) == 2 &&
                  smlp_get_metadata(model, "cafe\xcc\x81", got, sizeof got, &length) == SMLP_OK &&
                  strcmp(got, "two") == 0 &&
                  smlp_get_metadata(model, "caf\xc3\xa9", got, sizeof got, &length) == SMLP_OK &&
                  strcmp(got, "one") == 0,
              "metadata keys compare byte for byte (precomposed and decomposed spellings are two keys)");
        ok &= smlp_set_metadata(model, "caf\xc3\xa9", NULL) == SMLP_OK &&
              smlp_set_metadata(model, "cafe\xcc\x81", NULL) == SMLP_OK && smlp_metadata_count(model) == 0;
    }
    memset(value, 'v', 65535);
    value[65535] = 0;
    memset(key, 'k', 255);
    key[255] = 0;
    ok &= smlp_set_metadata(model, key, value) == SMLP_OK;
    for (i = 1; i < 1024 && ok; i++) {
        char k[32];
        snprintf(k, sizeof k, "key %zu", i);
        ok &= smlp_set_metadata(model, k, k) == SMLP_OK;
    }
    CHECK(ok && smlp_metadata_count(model) == 1024, "1024 metadata keys, one of 255 bytes with a 65535-byte value");
    image = serialize(model, &size);
    CHECK(image != NULL && smlp_load_from_buffer(image, size, &copy) == SMLP_OK && same_serialization(model, copy) &&
              same_metadata(model, copy),
          "the largest metadata allowed round-trips (%zu bytes)", size);
    free(image);
done:
    free(value);
    smlp_free(copy);
    smlp_free(model);
}

/* ---- Bad files ------------------------------------------------------------------- */

/* The model the bad-file tests corrupt: float64 3-4-2 softmax with Adam (two state
 * buffers), a scaler and two metadata entries, so every section is present. */
static unsigned char *reference_image(size_t *size, smlp_dtype dtype) {
    static const size_t sizes[3] = {3, 4, 2};
    static const smlp_activation acts[2] = {SMLP_TANH, SMLP_SOFTMAX};
    smlp_model *model = make_model(dtype, 3, sizes, acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 9);
    smlp_optimizer_config oc;
    double mean[3] = {0.5, -1, 2}, std[3] = {1, 2, 0.5}, x[6 * 3];
    float xf[6 * 3];
    int32_t labels[6] = {0, 1, 1, 0, 1, 0};
    smlp_dataset set;
    unsigned char *image = NULL;
    size_t i;
    if (model == NULL) return NULL;
    fill_uniform(x, 18, 3, -1, 1);
    for (i = 0; i < 18; i++) xf[i] = (float)x[i];
    set.dtype = dtype;
    set.n_rows = 6;
    set.n_inputs = 3;
    set.x = dtype == SMLP_FLOAT32 ? (const void *)xf : (const void *)x;
    set.n_outputs = 2;
    set.y = NULL;
    set.labels = labels;
    smlp_optimizer_config_init(&oc, SMLP_ADAM);
    if (smlp_set_optimizer(model, &oc) == SMLP_OK && smlp_set_scaler(model, mean, std, 3) == SMLP_OK &&
        smlp_set_metadata(model, "k1", "value one") == SMLP_OK && smlp_set_metadata(model, "k2", "v2") == SMLP_OK &&
        smlp_step(model, &set, NULL) == SMLP_OK && smlp_step(model, &set, NULL) == SMLP_OK)
        image = serialize(model, size);
    smlp_free(model);
    return image;
}

static void test_truncation(void) {
    size_t size = 0, length, bad_buffer = 0, bad_file = 0, first_buffer = SIZE_MAX, first_file = SIZE_MAX;
    unsigned char *image = reference_image(&size, SMLP_FLOAT64);
    char path[512];
    smlp_status status;
    if (!CHECK(image != NULL, "reference model for truncation")) return;
    path_in_tmp(path, sizeof path, "truncated.smlp");
    for (length = 0; length < size; length++) {
        status = try_load_buffer(image, length);
        if (status != SMLP_ERR_BAD_FORMAT) {
            bad_buffer++;
            if (first_buffer == SIZE_MAX) first_buffer = length;
        }
        if (!write_bytes(path, image, length)) {
            bad_file++;
            continue;
        }
        status = try_load_file(path);
        if (status != SMLP_ERR_BAD_FORMAT) {
            bad_file++;
            if (first_file == SIZE_MAX) first_file = length;
        }
    }
    unlink(path);
    CHECK(bad_buffer == 0,
          "smlp_load_from_buffer of the first 0..%zu bytes of a %zu-byte model: BAD_FORMAT and *out_model NULL "
          "every time; %zu lengths were not (first: %zu)", size - 1, size, bad_buffer, first_buffer);
    CHECK(bad_file == 0,
          "smlp_load of files truncated to 0..%zu bytes: BAD_FORMAT and *out_model NULL every time; "
          "%zu lengths were not (first: %zu)", size - 1, bad_file, first_file);
    CHECK_STATUS(try_load_buffer(image, size), SMLP_OK, "the untruncated image loads");
    free(image);
}

static void test_bit_flips(smlp_dtype dtype) {
    size_t size = 0, position, wrong = 0, ok_count = 0, first = SIZE_MAX;
    unsigned char *image = reference_image(&size, dtype);
    smlp_status status, expected;
    int bit, first_bit = -1, first_status = 0;
    char path[512];
    size_t file_wrong = 0;
    if (!CHECK(image != NULL, "reference model for bit flips")) return;
    for (position = 0; position < size; position++) {
        for (bit = 0; bit < 8; bit++) {
            image[position] ^= (unsigned char)(1u << bit);
            /* The major version is checked before the CRC (docs/format.md, 8). */
            expected = (position == 8 || position == 9) ? SMLP_ERR_UNSUPPORTED_VERSION : SMLP_ERR_BAD_FORMAT;
            status = try_load_buffer(image, size);
            if (status == SMLP_OK) ok_count++;
            if (status != expected) {
                wrong++;
                if (first == SIZE_MAX) {
                    first = position;
                    first_bit = bit;
                    first_status = (int)status;
                }
            }
            image[position] ^= (unsigned char)(1u << bit);
        }
    }
    CHECK(ok_count == 0, "%s: no single-bit flip in %zu bytes loads (%zu did)",
          dtype == SMLP_FLOAT32 ? "float32" : "float64", size, ok_count);
    CHECK(wrong == 0,
          "%s: every single-bit flip gives UNSUPPORTED_VERSION in the major version (bytes 8-9) and BAD_FORMAT "
          "elsewhere, with *out_model NULL; %zu of %zu did not (first: byte %zu bit %d gave %d)",
          dtype == SMLP_FLOAT32 ? "float32" : "float64", wrong, 8 * size, first, first_bit, first_status);
    /* The same through files, one bit per byte. */
    path_in_tmp(path, sizeof path, "flipped.smlp");
    for (position = 0; position < size; position++) {
        image[position] ^= 0x40;
        expected = (position == 8 || position == 9) ? SMLP_ERR_UNSUPPORTED_VERSION : SMLP_ERR_BAD_FORMAT;
        if (!write_bytes(path, image, size) || try_load_file(path) != expected) file_wrong++;
        image[position] ^= 0x40;
    }
    unlink(path);
    CHECK(file_wrong == 0, "smlp_load of files with a flipped bit in each byte: %zu wrong statuses", file_wrong);
    free(image);
}

/* Loads a patched copy of image (CRC recomputed unless keep_crc) and checks status,
 * that *out_model is NULL, and that the call returned within a second. */
static void expect_patched(const unsigned char *image, size_t size, size_t offset, uint64_t value, int bytes,
                           smlp_status expected, const char *what) {
    unsigned char *copy = malloc(size);
    double start, elapsed;
    smlp_status status;
    if (copy == NULL) return;
    memcpy(copy, image, size);
    put_le(copy + offset, value, bytes);
    fix_crc(copy, size);
    start = now_seconds();
    status = try_load_buffer(copy, size);
    elapsed = now_seconds() - start;
    CHECK_STATUS(status, expected, "%s (correct CRC)", what);
    CHECK(elapsed < 1.0, "%s: rejected in %.3f s, so nothing big was allocated or scanned", what, elapsed);
    free(copy);
}

/* Files of format 1.0, written before the RPROP section existed, still load: the
 * committed seed files an earlier library wrote, and the 1.1 image of a model with
 * its RPROP section cut off (a 1.0 file of the same model). A 1.0 file cannot hold
 * RPROP, and a 1.1 file cut short of its section is truncated. */
static void test_older_versions(void) {
    static const char *const old_files[] = {
        "Tests/fuzz/corpus/load/valid_f64_sgd.smlp", "Tests/fuzz/corpus/load/valid_f32_adam_scaler_meta.smlp",
        "Tests/fuzz/corpus/load/valid_f64_rmsprop_momentum.smlp", "Tests/fuzz/corpus/load/valid_f32_sgd_nesterov.smlp",
        "Tests/fuzz/corpus/load/valid_f64_adamw.smlp", "Tests/fuzz/corpus/load/valid_f32_rmsprop.smlp",
    };
    size_t size = 0, file_size = 0, k;
    unsigned char *image = reference_image(&size, SMLP_FLOAT64), *file, *old;
    smlp_model *model = NULL, *current = NULL;
    for (k = 0; k < sizeof old_files / sizeof old_files[0]; k++) {
        file = read_bytes(old_files[k], &file_size);
        if (!CHECK(file != NULL && file_size > 28 && get_le(file + 10, 2) == 0, "%s is a 1.0 file", old_files[k])) {
            free(file);
            continue;
        }
        CHECK_STATUS(smlp_load_from_buffer(file, file_size, &model), SMLP_OK, "%s (format 1.0) loads", old_files[k]);
        smlp_free(model);
        model = NULL;
        free(file);
    }
    if (!CHECK(image != NULL && (old = malloc(size)) != NULL, "reference model for older versions")) {
        free(image);
        return;
    }
    memcpy(old, image, size - 4 - 49);
    put_le(old + 10, 0, 2);
    put_le(old + 16, size - 28 - 49, 8);
    fix_crc(old, size - 49);
    CHECK_STATUS(smlp_load_from_buffer(old, size - 49, &model), SMLP_OK, "the model as a 1.0 file loads");
    CHECK(model != NULL && smlp_load_from_buffer(image, size, &current) == SMLP_OK &&
              same_serialization(model, current),
          "and is the same model as the 1.1 file (the RPROP fields get their defaults)");
    put_le(old + 10, 1, 2);
    fix_crc(old, size - 49);
    CHECK_STATUS(try_load_buffer(old, size - 49), SMLP_ERR_BAD_FORMAT, "a 1.1 file without its RPROP section");
    CHECK(strstr(smlp_last_error(), "rprop") != NULL, "names the missing field: \"%s\"", smlp_last_error());
    put_le(old + 10, 0, 2);
    old[w_optimizer_kind_offset(image, size)] = 4;
    fix_crc(old, size - 49);
    CHECK_STATUS(try_load_buffer(old, size - 49), SMLP_ERR_BAD_FORMAT, "a 1.0 file claiming RPROP");
    CHECK(strstr(smlp_last_error(), "1.1") != NULL, "says RPROP needs 1.1: \"%s\"", smlp_last_error());
    smlp_free(model);
    smlp_free(current);
    free(old);
    free(image);
}

static void test_headers(void) {
    size_t size = 0, i;
    unsigned char *image = reference_image(&size, SMLP_FLOAT64), *longer = NULL;
    smlp_model *model = NULL, *plain = NULL;
    if (!CHECK(image != NULL, "reference model for header tests")) return;

    for (i = 0; i < 8; i++) {
        char what[64];
        snprintf(what, sizeof what, "wrong magic byte %zu", i);
        expect_patched(image, size, i, image[i] ^ 0x20, 1, SMLP_ERR_BAD_FORMAT, what);
    }
    CHECK_STATUS(try_load_buffer("SMLPMODX\1\0\0\0", 12), SMLP_ERR_BAD_FORMAT, "12 bytes of near-magic");
    expect_patched(image, size, 8, 2, 2, SMLP_ERR_UNSUPPORTED_VERSION, "major version 2");
    CHECK(strstr(smlp_last_error(), "version 2.1") != NULL, "the message names version 2.1: \"%s\"",
          smlp_last_error());
    expect_patched(image, size, 8, 0xFFFF, 2, SMLP_ERR_UNSUPPORTED_VERSION, "major version 65535");
    expect_patched(image, size, 8, 0, 2, SMLP_ERR_UNSUPPORTED_VERSION, "major version 0 (never existed)");
    {
        /* Major 2 is rejected before the rest is looked at: even with garbage after
         * the header (and a wrong CRC) the answer is UNSUPPORTED_VERSION. */
        unsigned char *copy = malloc(size);
        if (copy != NULL) {
            memcpy(copy, image, size);
            put_le(copy + 8, 2, 2);
            memset(copy + 24, 0xEE, size - 24);
            CHECK_STATUS(try_load_buffer(copy, size), SMLP_ERR_UNSUPPORTED_VERSION,
                         "major version 2 with a different layout after the header");
            free(copy);
        }
    }
    expect_patched(image, size, 10, 2, 2, SMLP_OK, "minor version 2 without new fields");
    expect_patched(image, size, 10, 0xFFFF, 2, SMLP_OK, "minor version 65535 without new fields");
    expect_patched(image, size, 12, 0xDEADBEEF, 4, SMLP_OK, "non-zero flags (reserved, ignored by 1.0 readers)");

    /* A newer minor may append payload fields; readers ignore them. The same bytes in
     * a 1.1 file are corruption. */
    longer = malloc(size + 13);
    if (longer != NULL) {
        memcpy(longer, image, size - 4);
        memset(longer + size - 4, 0x5A, 13);
        put_le(longer + 16, size - 28 + 13, 8);
        put_le(longer + 10, 2, 2);
        fix_crc(longer, size + 13);
        CHECK_STATUS(smlp_load_from_buffer(longer, size + 13, &model), SMLP_OK,
                     "version 1.2 with 13 unknown bytes after the RPROP section loads");
        if (model != NULL) {
            CHECK(smlp_load_from_buffer(image, size, &plain) == SMLP_OK && same_serialization(model, plain),
                  "and gives the same model as the 1.1 file (the extra bytes are ignored)");
        }
        put_le(longer + 10, 1, 2);
        fix_crc(longer, size + 13);
        CHECK_STATUS(try_load_buffer(longer, size + 13), SMLP_ERR_BAD_FORMAT,
                     "version 1.1 with 13 bytes after the RPROP section is BAD_FORMAT");
        /* Bytes after the trailer, payload_length unchanged. */
        memcpy(longer, image, size);
        memset(longer + size, 0, 13);
        CHECK_STATUS(try_load_buffer(longer, size + 1), SMLP_ERR_BAD_FORMAT, "one byte after the trailer");
        CHECK_STATUS(try_load_buffer(longer, size + 13), SMLP_ERR_BAD_FORMAT, "13 bytes after the trailer");
    }
    expect_patched(image, size, 16, size - 28 - 1, 8, SMLP_ERR_BAD_FORMAT, "payload_length one too small");
    expect_patched(image, size, 16, size - 28 + 1, 8, SMLP_ERR_BAD_FORMAT, "payload_length one too large");
    expect_patched(image, size, 16, (uint64_t)1 << 63, 8, SMLP_ERR_BAD_FORMAT, "payload_length 2^63");
    expect_patched(image, size, 16, UINT64_MAX, 8, SMLP_ERR_BAD_FORMAT, "payload_length 2^64-1");
    expect_patched(image, size, 16, UINT64_MAX - 27, 8, SMLP_ERR_BAD_FORMAT,
                   "payload_length 2^64-28 (payload_length + 28 wraps to 0)");
    {
        unsigned char *copy = malloc(size);
        if (copy != NULL) {
            memcpy(copy, image, size);
            copy[size - 1] ^= 0x01;
            CHECK_STATUS(try_load_buffer(copy, size), SMLP_ERR_BAD_FORMAT, "a wrong CRC-32");
            CHECK(strstr(smlp_last_error(), "checksum") != NULL, "the message says checksum: \"%s\"",
                  smlp_last_error());
            free(copy);
        }
    }
    free(longer);
    smlp_free(model);
    smlp_free(plain);
    free(image);
}

static void test_absurd_values(smlp_dtype dtype) {
    size_t size = 0;
    unsigned char *image = reference_image(&size, dtype);
    struct fields w;
    size_t o;
    char what[160];
    const char *dt = dtype == SMLP_FLOAT32 ? "float32" : "float64";
    if (!CHECK(image != NULL && walk(image, size, &w), "%s: reference model for absurd values, walked", dt)) {
        free(image);
        return;
    }
    o = w.optimizer_at;
#define BAD(offset, value, bytes, text)                                                          \
    do {                                                                                         \
        snprintf(what, sizeof what, "%s: %s", dt, text);                                         \
        expect_patched(image, size, (offset), (value), (bytes), SMLP_ERR_BAD_FORMAT, what);      \
    } while (0)
    /* Sizes that would need absurd memory: rejected before allocating. */
    BAD(w.sizes_at, (uint64_t)1 << 30, 8, "input width 2^30 (2^32 first-layer weights)");
    {
        unsigned char *copy = malloc(size);
        if (copy != NULL) {
            double start, elapsed;
            memcpy(copy, image, size);
            put_le(copy + w.sizes_at, (uint64_t)1 << 30, 8);
            put_le(copy + w.sizes_at + 8, (uint64_t)1 << 30, 8);
            put_le(copy + w.sizes_at + 16, (uint64_t)1 << 30, 8);
            fix_crc(copy, size);
            start = now_seconds();
            CHECK_STATUS(try_load_buffer(copy, size), SMLP_ERR_BAD_FORMAT,
                         "%s: layer sizes 2^30, 2^30, 2^30 (2^61 parameters) with a correct CRC", dt);
            elapsed = now_seconds() - start;
            CHECK(elapsed < 1.0, "%s: rejected in %.4f s, without allocating", dt, elapsed);
            free(copy);
        }
    }
    BAD(w.sizes_at + 8, 0x7FFFFFFF, 8, "hidden width 2^31-1");
    BAD(w.sizes_at + 8, (uint64_t)1 << 31, 8, "hidden width 2^31 (above the largest BLAS dimension)");
    BAD(w.sizes_at + 8, (uint64_t)1 << 40, 8, "hidden width 2^40");
    BAD(w.sizes_at + 8, UINT64_MAX, 8, "hidden width 2^64-1");
    BAD(w.sizes_at + 8, 0, 8, "hidden width 0");
    BAD(w.sizes_at - 4, 0xFFFFFFFFu, 4, "n_layer_sizes 2^32-1");
    BAD(w.sizes_at - 4, 1u << 20, 4, "n_layer_sizes 2^20 (more than the file holds)");
    BAD(w.sizes_at - 4, (1u << 20) + 1, 4, "n_layer_sizes 2^20+1");
    BAD(w.sizes_at - 4, 1, 4, "n_layer_sizes 1");
    BAD(w.sizes_at - 4, 0, 4, "n_layer_sizes 0");
    BAD(w.sizes_at - 4, 4, 4, "n_layer_sizes 4 (one more than stored)");
    BAD(w.param_count_at, (uint64_t)1 << 60, 8, "param_count 2^60");
    BAD(w.param_count_at, w.param_count + 1, 8, "param_count one more than the layer sizes give");
    BAD(w.param_count_at, w.param_count - 1, 8, "param_count one less");
    BAD(w.buffers_at, 1, 1, "1 optimizer buffer for Adam (needs 2)");
    BAD(w.buffers_at, 3, 1, "3 optimizer buffers");
    BAD(w.buffers_at, 255, 1, "255 optimizer buffers");
    BAD(w.metadata_at, 0xFFFFFFFFu, 4, "metadata count 2^32-1");
    BAD(w.metadata_at, 1025, 4, "metadata count 1025");
    BAD(w.metadata_at, 3, 4, "metadata count 3 of 2 stored");
    BAD(w.metadata_at, 1, 4, "metadata count 1 of 2 stored (trailing bytes in a 1.0 file)");
    BAD(w.first_key_at, 0, 2, "metadata key length 0");
    BAD(w.first_key_at, 256, 2, "metadata key length 256");
    BAD(w.first_key_at, 0xFFFF, 2, "metadata key length 65535");
    BAD(w.first_key_at + 2 + 2, 0xFFFFFFFFu, 4, "metadata value length 2^32-1");
    BAD(w.first_key_at + 2 + 2, 65536, 4, "metadata value length 65536");
    BAD(w.first_key_at + 2, 0, 1, "a NUL byte in a metadata key");
    BAD(w.first_key_at + 2, 0xFF, 1, "invalid UTF-8 in a metadata key");
    BAD(w.first_key_at + 2 + 2 + 4, 0xC3, 1, "invalid UTF-8 in a metadata value");
    /* Enum codes and values out of range. */
    BAD(24, 0, 1, "dtype 0");
    BAD(24, 3, 1, "dtype 3");
    BAD(25, 5, 1, "loss 5");
    BAD(25, 0xFF, 1, "loss 255");
    BAD(26, 2, 1, "reduction 2");
    BAD(27, 3, 1, "init 3");
    BAD(25, 1, 1, "binary cross-entropy with a softmax output");
    BAD(w.activations_at, 6, 1, "activation 6");
    BAD(w.activations_at, 5, 1, "softmax on a hidden layer");
    BAD(w.activations_at + 1, 1, 1, "sigmoid output with softmax cross-entropy");
    BAD(36, 0xBFF0000000000000ull, 8, "leaky_relu_slope -1");
    BAD(36, 0x7FF8000000000000ull, 8, "leaky_relu_slope NaN");
    BAD(o + 0, 5, 1, "optimizer kind 5");
    BAD(o + 3, 5, 1, "schedule 5");
    BAD(o + 1, 1, 1, "nesterov with Adam");
    BAD(o + 4, 0, 8, "learning_rate 0");
    BAD(o + 4, 0x7FF0000000000000ull, 8, "learning_rate +inf");
    BAD(o + 4, 0x7FF8000000000000ull, 8, "learning_rate NaN");
    BAD(o + 12, 0x3FF0000000000000ull, 8, "momentum 1");
    BAD(o + 20, 0x3FF0000000000000ull, 8, "beta1 1");
    BAD(o + 28, 0xBFF0000000000000ull, 8, "beta2 -1");
    BAD(o + 36, 0, 8, "epsilon 0");
    BAD(o + 44, 0x3FF0000000000000ull, 8, "alpha 1");
    BAD(o + 52, 0xBFF0000000000000ull, 8, "weight_decay -1");
    BAD(o + 60, 0x7FF8000000000000ull, 8, "clip_norm NaN");
    BAD(o + 84, (uint64_t)1 << 40, 8, "step_size 2^40");
    BAD(o + 92, UINT64_MAX, 8, "t_max 2^64-1");
    BAD(o + 100, UINT64_MAX, 8, "step_count 2^64-1");
    BAD(w.training_at, UINT64_MAX, 8, "epoch 2^64-1");
    /* Values valid as doubles that the model's type cannot hold: the loader must say
     * BAD_FORMAT (a load never returns INVALID_ARGUMENT). */
    if (dtype == SMLP_FLOAT32) {
        BAD(o + 4, 0x4812000000000000ull, 8, "learning_rate 1.5e39 (overflows float)");
        BAD(o + 52, 0x60A0000000000000ull, 8, "weight_decay 2^523 (overflows float)");
        BAD(o + 36, 0x3590000000000000ull, 8, "epsilon 2^-166 (0 in float)");
        BAD(36, 0x4812000000000000ull, 8, "leaky_relu_slope 1.5e39 (overflows float)");
    }
    {
        /* learning_rate * weight_decay overflows even a double. */
        unsigned char *copy = malloc(size);
        if (copy != NULL) {
            memcpy(copy, image, size);
            put_le(copy + o + 4, 0x6970000000000000ull, 8);  /* 2^664 */
            put_le(copy + o + 52, 0x6970000000000000ull, 8);
            fix_crc(copy, size);
            CHECK_STATUS(try_load_buffer(copy, size), SMLP_ERR_BAD_FORMAT,
                         "%s: learning_rate 2^664 and weight_decay 2^664 (their product overflows)", dt);
            free(copy);
        }
    }
    {
        unsigned char *copy = malloc(size);
        if (copy != NULL) {
            memcpy(copy, image, size);
            memset(copy + w.training_at + 8, 0, 32);
            fix_crc(copy, size);
            CHECK_STATUS(try_load_buffer(copy, size), SMLP_ERR_BAD_FORMAT, "%s: an all-zero generator state", dt);
            /* Schedules: step with step_size 0, cosine with t_max 0, gamma 0. */
            memcpy(copy, image, size);
            put_le(copy + o + 3, 1, 1);
            put_le(copy + o + 84, 0, 8);
            fix_crc(copy, size);
            CHECK_STATUS(try_load_buffer(copy, size), SMLP_ERR_BAD_FORMAT, "%s: step schedule with step_size 0", dt);
            memcpy(copy, image, size);
            put_le(copy + o + 3, 3, 1);
            put_le(copy + o + 92, 0, 8);
            fix_crc(copy, size);
            CHECK_STATUS(try_load_buffer(copy, size), SMLP_ERR_BAD_FORMAT, "%s: cosine schedule with t_max 0", dt);
            memcpy(copy, image, size);
            put_le(copy + o + 3, 2, 1);
            put_le(copy + o + 68, 0, 8);
            fix_crc(copy, size);
            CHECK_STATUS(try_load_buffer(copy, size), SMLP_ERR_BAD_FORMAT, "%s: exponential schedule with gamma 0", dt);
            free(copy);
        }
    }
    BAD(w.scaler_at, 2, 1, "scaler flag 2");
    BAD(w.scaler_at + 1 + 24, 0, 8, "scaler std[0] = 0");
    BAD(w.scaler_at + 1 + 24, 0xBFF0000000000000ull, 8, "scaler std[0] = -1");
    BAD(w.scaler_at + 1, 0x7FF0000000000000ull, 8, "scaler mean[0] = +inf");
    BAD(w.scaler_at, 0, 1, "scaler flag 0 with the scaler bytes still there");
    if (dtype == SMLP_FLOAT64) {
        BAD(w.params_at + 8, 0x7FF8000000000000ull, 8, "a NaN parameter");
        BAD(w.params_at, 0xFFF0000000000000ull, 8, "a -inf parameter");
    } else {
        BAD(w.params_at + 4, 0x7FC00000u, 4, "a NaN parameter");
        BAD(w.params_at, 0x7F800000u, 4, "a +inf parameter");
    }
#undef BAD
    /* Optimizer state may hold any value (it is not checked); the dtype byte may
     * not change the scalar size under the data. */
    {
        unsigned char *copy = malloc(size);
        if (copy != NULL) {
            memcpy(copy, image, size);
            copy[24] = dtype == SMLP_FLOAT32 ? 2 : 1;
            fix_crc(copy, size);
            CHECK_STATUS(try_load_buffer(copy, size), SMLP_ERR_BAD_FORMAT,
                         "%s: the dtype byte switched to the other dtype", dt);
            free(copy);
        }
    }
    free(image);
}

/* A file that claims huge sizes through smlp_load: rejected fast from a small file. */
static void test_absurd_file(void) {
    size_t size = 0;
    unsigned char *image = reference_image(&size, SMLP_FLOAT64);
    struct fields w;
    char path[512];
    double start, elapsed;
    if (!CHECK(image != NULL && walk(image, size, &w), "reference model for the absurd file")) {
        free(image);
        return;
    }
    put_le(image + w.sizes_at, (uint64_t)1 << 30, 8);
    put_le(image + w.sizes_at + 8, (uint64_t)1 << 30, 8);
    fix_crc(image, size);
    path_in_tmp(path, sizeof path, "absurd.smlp");
    CHECK(write_bytes(path, image, size), "write the absurd file");
    start = now_seconds();
    CHECK_STATUS(try_load_file(path), SMLP_ERR_BAD_FORMAT, "smlp_load of a %zu-byte file claiming 2^60 parameters", size);
    elapsed = now_seconds() - start;
    CHECK(elapsed < 1.0, "rejected in %.4f s", elapsed);
    unlink(path);
    free(image);
}

/* Whatever smlp_save writes, smlp_load reads: also after a step whose update
 * overflowed. With momentum SGD that is the header's documented exception: the
 * overflowed parameters stay in the model and smlp_save must refuse it (NON_FINITE).
 * With plain SGD the failed step changes nothing, so the model saves and loads. */
static void test_save_after_overflow(void) {
    static const size_t sizes[2] = {2, 1};
    static const smlp_activation acts[1] = {SMLP_IDENTITY};
    static const double momenta[2] = {0.0, 0.5};
    size_t k;
    for (k = 0; k < 2; k++) {
        smlp_model *model = make_model(SMLP_FLOAT64, 2, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
        smlp_optimizer_config oc;
        double x[2] = {1e3, -1e3}, y[1] = {5}, before[3], after[3];
        smlp_dataset set = dense_set(SMLP_FLOAT64, 1, 2, x, 1, y);
        smlp_status step, save, load;
        char path[512];
        int finite;
        if (!CHECK(model != NULL, "model for the overflow test")) return;
        smlp_optimizer_config_init(&oc, SMLP_SGD);
        oc.learning_rate = 1e308;
        oc.momentum = momenta[k];
        CHECK_STATUS(smlp_set_optimizer(model, &oc), SMLP_OK, "SGD with learning_rate 1e308, momentum %g", momenta[k]);
        smlp_get_params(model, SMLP_FLOAT64, before, 3);
        step = smlp_step(model, &set, NULL);
        CHECK(step == SMLP_ERR_NON_FINITE, "the overflowing step (momentum %g) returns NON_FINITE (%d)", momenta[k],
              (int)step);
        smlp_get_params(model, SMLP_FLOAT64, after, 3);
        finite = isfinite(after[0]) && isfinite(after[1]) && isfinite(after[2]);
        if (momenta[k] == 0.0)
            CHECK(memcmp(before, after, sizeof before) == 0, "plain SGD: the overflowing step changed nothing");
        else
            CHECK(!finite, "momentum SGD: the documented exception leaves the overflowed parameters");
        path_in_tmp(path, sizeof path, "overflowed.smlp");
        save = smlp_save(model, path);
        CHECK(finite ? save == SMLP_OK : save == SMLP_ERR_NON_FINITE,
              "smlp_save of a model with %s parameters returns %s (got %d: %s)", finite ? "finite" : "non-finite",
              finite ? "OK" : "NON_FINITE", (int)save, smlp_last_error());
        load = save == SMLP_OK ? try_load_file(path) : SMLP_OK;
        CHECK(load == SMLP_OK,
              "a file smlp_save wrote (status %d) after an overflowing step loads again: smlp_load gave %d (%s)",
              (int)save, (int)load, smlp_status_string(load));
        unlink(path);
        smlp_free(model);
    }
}

/* ---- Paths and NULL arguments ------------------------------------------------------ */

static void test_paths_and_nulls(void) {
    static const size_t sizes[2] = {2, 1};
    static const smlp_activation acts[1] = {SMLP_SIGMOID};
    smlp_model *model = make_model(SMLP_FLOAT64, 2, sizes, acts, SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 3);
    smlp_model *out = (smlp_model *)&out;
    char path[512], missing[512], in_missing_dir[512], folder[512];
    unsigned char *image;
    size_t size = 0, got = 0;
    struct stat info;
    if (!CHECK(model != NULL, "model for path tests")) return;

    out = (smlp_model *)&out;
    CHECK_STATUS(smlp_load(tmpdir, &out), SMLP_ERR_IO, "smlp_load of a directory");
    CHECK(out == NULL, "*out_model NULL after loading a directory");
    CHECK(strstr(smlp_last_error(), "smlp_load") != NULL, "the message names smlp_load: \"%s\"", smlp_last_error());
    path_in_tmp(missing, sizeof missing, "no-such-file.smlp");
    out = (smlp_model *)&out;
    CHECK_STATUS(smlp_load(missing, &out), SMLP_ERR_IO, "smlp_load of a missing file");
    CHECK(out == NULL, "*out_model NULL after a missing file");
    CHECK(strstr(smlp_last_error(), "No such file") != NULL, "the message has the OS error: \"%s\"", smlp_last_error());
    CHECK_STATUS(try_load_file(""), SMLP_ERR_IO, "smlp_load of the empty path");
    if (stat("/dev/null", &info) == 0) CHECK_STATUS(try_load_file("/dev/null"), SMLP_ERR_IO, "smlp_load of a device");
    path_in_tmp(path, sizeof path, "empty.smlp");
    CHECK(write_bytes(path, "", 0), "write an empty file");
    CHECK_STATUS(try_load_file(path), SMLP_ERR_BAD_FORMAT, "smlp_load of an empty file");
    unlink(path);

    snprintf(in_missing_dir, sizeof in_missing_dir, "%s/no-such-dir/model.smlp", tmpdir);
    CHECK_STATUS(smlp_save(model, in_missing_dir), SMLP_ERR_IO, "smlp_save into a missing folder");
    CHECK(strstr(smlp_last_error(), "No such file") != NULL, "the message has the OS error: \"%s\"", smlp_last_error());
    path_in_tmp(folder, sizeof folder, "a-folder");
    CHECK(mkdir(folder, 0755) == 0, "make a folder");
    CHECK_STATUS(smlp_save(model, folder), SMLP_ERR_IO, "smlp_save onto an existing folder (rename fails)");
    CHECK(stat(folder, &info) == 0 && S_ISDIR(info.st_mode), "the folder is still a folder");
    rmdir(folder);
    CHECK_STATUS(smlp_save(model, ""), SMLP_ERR_IO, "smlp_save to the empty path");

    /* NULL arguments. */
    CHECK_STATUS(smlp_save(NULL, missing), SMLP_ERR_NULL_ARGUMENT, "smlp_save NULL model");
    CHECK_STATUS(smlp_save(model, NULL), SMLP_ERR_NULL_ARGUMENT, "smlp_save NULL path");
    out = (smlp_model *)&out;
    CHECK_STATUS(smlp_load(NULL, &out), SMLP_ERR_NULL_ARGUMENT, "smlp_load NULL path");
    CHECK(out == NULL, "*out_model NULL after smlp_load(NULL, ...)");
    CHECK_STATUS(smlp_load(missing, NULL), SMLP_ERR_NULL_ARGUMENT, "smlp_load NULL out_model");
    CHECK_STATUS(smlp_save_to_buffer(NULL, NULL, 0, &size), SMLP_ERR_NULL_ARGUMENT, "save_to_buffer NULL model");
    CHECK_STATUS(smlp_save_to_buffer(model, NULL, 0, NULL), SMLP_ERR_NULL_ARGUMENT, "save_to_buffer NULL out_size");
    image = serialize(model, &size);
    if (CHECK(image != NULL, "serialise the small model")) {
        out = (smlp_model *)&out;
        CHECK_STATUS(smlp_load_from_buffer(NULL, size, &out), SMLP_ERR_NULL_ARGUMENT, "load_from_buffer NULL buffer");
        CHECK(out == NULL, "*out_model NULL after a NULL buffer");
        CHECK_STATUS(smlp_load_from_buffer(NULL, 0, &out), SMLP_ERR_NULL_ARGUMENT, "load_from_buffer NULL buffer, size 0");
        CHECK_STATUS(smlp_load_from_buffer(image, size, NULL), SMLP_ERR_NULL_ARGUMENT,
                     "load_from_buffer NULL out_model");
        CHECK_STATUS(try_load_buffer(image, 0), SMLP_ERR_BAD_FORMAT, "load_from_buffer of 0 bytes");

        /* save_to_buffer capacities. */
        {
            unsigned char *buffer = malloc(size + 16);
            size_t i;
            int untouched = 1;
            if (buffer != NULL) {
                memset(buffer, 0xA5, size + 16);
                got = 0;
                CHECK_STATUS(smlp_save_to_buffer(model, buffer, size - 1, &got), SMLP_ERR_SHAPE_MISMATCH,
                             "save_to_buffer with capacity size-1");
                CHECK(got == size, "the size is still reported (%zu, expected %zu)", got, size);
                got = 0;
                CHECK_STATUS(smlp_save_to_buffer(model, buffer, 0, &got), SMLP_ERR_SHAPE_MISMATCH,
                             "save_to_buffer with capacity 0 and a buffer");
                CHECK(got == size, "the size is reported with capacity 0 (%zu)", got);
                for (i = 0; i < size + 16; i++) if (buffer[i] != 0xA5) untouched = 0;
                CHECK(untouched, "a too-small capacity writes nothing");
                got = 0;
                CHECK_STATUS(smlp_save_to_buffer(model, NULL, 12345, &got), SMLP_OK,
                             "save_to_buffer with buffer NULL (capacity ignored)");
                CHECK(got == size, "reports the size %zu", got);
                CHECK_STATUS(smlp_save_to_buffer(model, buffer, size + 16, &got), SMLP_OK,
                             "save_to_buffer with room to spare");
                untouched = 1;
                for (i = size; i < size + 16; i++) if (buffer[i] != 0xA5) untouched = 0;
                CHECK(got == size && memcmp(buffer, image, size) == 0 && untouched,
                      "writes exactly the %zu bytes and nothing after them", size);
                CHECK_STATUS(smlp_save_to_buffer(model, buffer, size, &got), SMLP_OK,
                             "save_to_buffer with the exact capacity");
                free(buffer);
            }
        }
        free(image);
    }
    smlp_free(model);
}

/* ---- Metadata API ----------------------------------------------------------------- */

static int key_at(smlp_model *model, size_t index, const char *expected) {
    char buffer[300];
    size_t length = 0;
    return smlp_metadata_key(model, index, buffer, sizeof buffer, &length) == SMLP_OK &&
           length == strlen(expected) && strcmp(buffer, expected) == 0;
}

static int value_of(smlp_model *model, const char *key, const char *expected) {
    char buffer[300];
    size_t length = 0;
    return smlp_get_metadata(model, key, buffer, sizeof buffer, &length) == SMLP_OK &&
           length == strlen(expected) && strcmp(buffer, expected) == 0;
}

static void test_metadata(void) {
    static const size_t sizes[2] = {2, 2};
    static const smlp_activation acts[1] = {SMLP_TANH};
    smlp_model *model = make_model(SMLP_FLOAT64, 2, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 3);
    char buffer[64], long_key[300], *long_value = malloc(65537);
    size_t length = 0, i;
    int ok;
    if (!CHECK(model != NULL && long_value != NULL, "model for metadata tests")) return;

    CHECK(smlp_metadata_count(model) == 0, "a new model has no metadata");
    CHECK_STATUS(smlp_set_metadata(model, "alpha", "1"), SMLP_OK, "set alpha");
    CHECK_STATUS(smlp_set_metadata(model, "beta", "two"), SMLP_OK, "set beta");
    CHECK_STATUS(smlp_set_metadata(model, "gamma", "\xce\xb3 three"), SMLP_OK, "set gamma (UTF-8 value)");
    CHECK(smlp_metadata_count(model) == 3, "count 3");
    CHECK(key_at(model, 0, "alpha") && key_at(model, 1, "beta") && key_at(model, 2, "gamma"),
          "keys in insertion order");
    CHECK(value_of(model, "alpha", "1") && value_of(model, "beta", "two") && value_of(model, "gamma", "\xce\xb3 three"),
          "values read back");

    CHECK_STATUS(smlp_set_metadata(model, "beta", "replaced value"), SMLP_OK, "replace beta");
    CHECK(smlp_metadata_count(model) == 3 && key_at(model, 1, "beta") && value_of(model, "beta", "replaced value"),
          "replacing keeps the count and the key's position");
    CHECK_STATUS(smlp_set_metadata(model, "alpha", NULL), SMLP_OK, "remove alpha (NULL value)");
    CHECK(smlp_metadata_count(model) == 2 && key_at(model, 0, "beta") && key_at(model, 1, "gamma"),
          "removal keeps the order of the others");
    CHECK_STATUS(smlp_get_metadata(model, "alpha", buffer, sizeof buffer, &length), SMLP_ERR_INVALID_ARGUMENT,
                 "get a removed key");
    CHECK_STATUS(smlp_set_metadata(model, "alpha", "back"), SMLP_OK, "set alpha again");
    CHECK(key_at(model, 2, "alpha"), "a re-added key goes to the end");
    CHECK_STATUS(smlp_set_metadata(model, "not there", NULL), SMLP_OK, "removing a missing key is fine");
    CHECK(smlp_metadata_count(model) == 3, "and changes nothing");
    CHECK_STATUS(smlp_set_metadata(model, "empty", ""), SMLP_OK, "an empty value");
    CHECK(value_of(model, "empty", ""), "reads back as \"\" with length 0");

    /* Lengths and capacities. */
    length = 0;
    CHECK_STATUS(smlp_get_metadata(model, "beta", NULL, 0, &length), SMLP_OK, "length only (buffer NULL)");
    CHECK(length == 14, "length of \"replaced value\" is 14 (got %zu)", length);
    memset(buffer, '#', sizeof buffer);
    length = 0;
    CHECK_STATUS(smlp_get_metadata(model, "beta", buffer, 14, &length), SMLP_ERR_SHAPE_MISMATCH,
                 "capacity 14 for 14 bytes + NUL");
    CHECK(length == 14, "the length is still set (%zu)", length);
    CHECK_STATUS(smlp_get_metadata(model, "beta", buffer, 15, &length), SMLP_OK, "capacity 15 is enough");
    CHECK(strcmp(buffer, "replaced value") == 0, "copied with its NUL");
    length = 0;
    CHECK_STATUS(smlp_metadata_key(model, 1, buffer, 5, &length), SMLP_ERR_SHAPE_MISMATCH,
                 "metadata_key capacity 5 for \"gamma\"");
    CHECK(length == 5, "the key length is still set (%zu)", length);
    CHECK_STATUS(smlp_metadata_key(model, 1, NULL, 0, &length), SMLP_OK, "key length only");
    CHECK_STATUS(smlp_metadata_key(model, 4, buffer, sizeof buffer, &length), SMLP_ERR_INVALID_ARGUMENT,
                 "key index 4 of 4");
    CHECK_STATUS(smlp_metadata_key(model, (size_t)-1, buffer, sizeof buffer, &length), SMLP_ERR_INVALID_ARGUMENT,
                 "key index SIZE_MAX");
    CHECK_STATUS(smlp_get_metadata(model, "nope", buffer, sizeof buffer, &length), SMLP_ERR_INVALID_ARGUMENT,
                 "get a missing key");

    /* Bad keys and values. */
    CHECK_STATUS(smlp_set_metadata(model, "", "x"), SMLP_ERR_INVALID_ARGUMENT, "empty key");
    memset(long_key, 'k', 256);
    long_key[256] = 0;
    CHECK_STATUS(smlp_set_metadata(model, long_key, "x"), SMLP_ERR_INVALID_ARGUMENT, "256-byte key");
    long_key[255] = 0;
    CHECK_STATUS(smlp_set_metadata(model, long_key, "x"), SMLP_OK, "255-byte key");
    CHECK_STATUS(smlp_set_metadata(model, long_key, NULL), SMLP_OK, "remove it");
    CHECK_STATUS(smlp_set_metadata(model, "bad utf8 \xff", "x"), SMLP_ERR_INVALID_ARGUMENT, "a key that is not UTF-8");
    CHECK_STATUS(smlp_set_metadata(model, "k", "bad \xc3"), SMLP_ERR_INVALID_ARGUMENT, "a value that is not UTF-8");
    memset(long_value, 'v', 65536);
    long_value[65536] = 0;
    CHECK_STATUS(smlp_set_metadata(model, "big", long_value), SMLP_ERR_INVALID_ARGUMENT, "65536-byte value");
    long_value[65535] = 0;
    CHECK_STATUS(smlp_set_metadata(model, "big", long_value), SMLP_OK, "65535-byte value");
    CHECK_STATUS(smlp_get_metadata(model, "big", NULL, 0, &length), SMLP_OK, "its length");
    CHECK(length == 65535, "is 65535 (%zu)", length);
    CHECK(smlp_metadata_count(model) == 5, "failed sets changed nothing (count 5: beta gamma alpha empty big)");
    CHECK(key_at(model, 0, "beta") && key_at(model, 1, "gamma") && key_at(model, 2, "alpha") &&
              key_at(model, 3, "empty") && key_at(model, 4, "big"),
          "order beta, gamma, alpha, empty, big");

    /* At most 1024 keys. */
    ok = 1;
    for (i = smlp_metadata_count(model); i < 1024 && ok; i++) {
        char key[32];
        snprintf(key, sizeof key, "filler %zu", i);
        ok = smlp_set_metadata(model, key, "f") == SMLP_OK;
    }
    CHECK(ok && smlp_metadata_count(model) == 1024, "1024 keys are allowed");
    CHECK_STATUS(smlp_set_metadata(model, "one too many", "x"), SMLP_ERR_INVALID_ARGUMENT, "the 1025th key");
    CHECK_STATUS(smlp_set_metadata(model, "beta", "still replaceable"), SMLP_OK, "replacing at 1024 keys works");
    CHECK(smlp_metadata_count(model) == 1024, "count stays 1024");

    /* NULL arguments. */
    CHECK_STATUS(smlp_set_metadata(NULL, "k", "v"), SMLP_ERR_NULL_ARGUMENT, "set_metadata NULL model");
    CHECK_STATUS(smlp_set_metadata(model, NULL, "v"), SMLP_ERR_NULL_ARGUMENT, "set_metadata NULL key");
    CHECK_STATUS(smlp_get_metadata(NULL, "k", buffer, sizeof buffer, &length), SMLP_ERR_NULL_ARGUMENT,
                 "get_metadata NULL model");
    CHECK_STATUS(smlp_get_metadata(model, NULL, buffer, sizeof buffer, &length), SMLP_ERR_NULL_ARGUMENT,
                 "get_metadata NULL key");
    CHECK_STATUS(smlp_get_metadata(model, "beta", buffer, sizeof buffer, NULL), SMLP_ERR_NULL_ARGUMENT,
                 "get_metadata NULL out_length");
    CHECK_STATUS(smlp_metadata_key(NULL, 0, buffer, sizeof buffer, &length), SMLP_ERR_NULL_ARGUMENT,
                 "metadata_key NULL model");
    CHECK_STATUS(smlp_metadata_key(model, 0, buffer, sizeof buffer, NULL), SMLP_ERR_NULL_ARGUMENT,
                 "metadata_key NULL out_length");
    CHECK(smlp_metadata_count(NULL) == 0, "metadata_count(NULL) is 0");
    free(long_value);
    smlp_free(model);
}

/* The tests leave no temporary files (".smlp-" plus 12 characters) behind. */
static void test_no_leftovers(void) {
    DIR *dir = opendir(tmpdir);
    struct dirent *entry;
    int leftovers = 0;
    if (!CHECK(dir != NULL, "open the scratch folder")) return;
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, ".smlp-", 6) == 0) {
            printf("    leftover: %s\n", entry->d_name);
            leftovers++;
        }
    }
    closedir(dir);
    CHECK(leftovers == 0, "no temporary files left in the scratch folder (%d)", leftovers);
}

int main(void) {
    char command[400];
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/smlp-persistence-XXXXXX", base != NULL && *base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        printf("cannot create a scratch folder: %s\n", strerror(errno));
        check_failed_count++;
        return check_summary();
    }
    test_round_trips();
    test_round_trip_extremes();
    test_truncation();
    test_bit_flips(SMLP_FLOAT64);
    test_bit_flips(SMLP_FLOAT32);
    test_headers();
    test_older_versions();
    test_absurd_values(SMLP_FLOAT64);
    test_absurd_values(SMLP_FLOAT32);
    test_absurd_file();
    test_save_after_overflow();
    test_paths_and_nulls();
    test_metadata();
    test_no_leftovers();

    snprintf(command, sizeof command, "rm -rf '%s'", tmpdir);
    if (system(command) != 0) printf("note: could not remove %s\n", tmpdir);
    return check_summary();
}
