/*
 * trace.c - runs every computing call of the C API on fixed data and seeds and prints
 * everything the library returns, numbers as exact bits (%a), so that two builds of
 * libswiftmlp (the SwiftPM one and the Embedded Swift one) can be compared bit for
 * bit: Tests/embedded/compare.sh builds this program against each and diffs the two
 * traces. Nothing here is checked against an expected value; equality of the traces
 * is the test.
 *
 * Covered, for float32 and float64: initialisation (every activation, init mode and
 * loss), the scaler, gradients and the layer cache, steps of every optimizer (with
 * momentum, Nesterov, weight decay, clipping, each schedule, both RPROP variants),
 * apply_gradients, train with validation and early stopping, L-BFGS training and its
 * details, evaluate, predict, gradcheck, the saved bytes, a reloaded model's
 * predictions, the exported C source, a FANN data file written and read back, and
 * the error messages of calls that fail with numbers in the message.
 *
 *   trace OUTDIR THREADS   (OUTDIR receives the files it writes and reads back;
 *                           THREADS is the OpenBLAS thread count, smlp_set_num_threads)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swiftmlp.h>

static const char *scratch_dir;
static unsigned long lines_written;

static void put_status(const char *what, smlp_status status) {
    printf("%s: status %d", what, (int)status);
    if (status != SMLP_OK) printf(" \"%s\"", smlp_last_error());
    printf("\n");
    lines_written++;
}

/* Values as exact bits; beyond 256 of them, the first 16 and an FNV-1a hash of all. */
static void put_values(const char *what, smlp_dtype dtype, const void *values, size_t n) {
    size_t i, shown = n > 256 ? 16 : n;
    printf("%s:", what);
    if (shown < n) {
        const unsigned char *bytes = values;
        uint64_t hash = 14695981039346656037ULL;
        for (i = 0; i < n * (dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double)); i++)
            hash = (hash ^ bytes[i]) * 1099511628211ULL;
        printf(" %zu values, fnv1a %016llx, first", n, (unsigned long long)hash);
    }
    for (i = 0; i < shown; i++) {
        double v = dtype == SMLP_FLOAT32 ? (double)((const float *)values)[i] : ((const double *)values)[i];
        printf(" %a", v);
    }
    printf("\n");
    lines_written++;
}

static void put_doubles(const char *what, const double *values, size_t n) {
    put_values(what, SMLP_FLOAT64, values, n);
}

/* Bytes in hex; beyond 4096 of them, the first 256 and an FNV-1a hash of all. */
static void put_bytes(const char *what, const unsigned char *bytes, size_t n) {
    size_t i, shown = n > 4096 ? 256 : n;
    printf("%s: %zu bytes ", what, n);
    if (shown < n) {
        uint64_t hash = 14695981039346656037ULL;
        for (i = 0; i < n; i++) hash = (hash ^ bytes[i]) * 1099511628211ULL;
        printf("fnv1a %016llx, first ", (unsigned long long)hash);
    }
    for (i = 0; i < shown; i++) printf("%02x", bytes[i]);
    printf("\n");
    lines_written++;
}

/* Data in the model's type: n values from a 64-bit LCG in [lo, hi). */
static void *make_values(smlp_dtype dtype, size_t n, uint64_t seed, double lo, double hi) {
    size_t i, size = dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double);
    unsigned char *values = malloc(n * size + 1);
    uint64_t state = seed;
    for (i = 0; i < n; i++) {
        double v;
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        v = lo + (hi - lo) * (double)(state >> 11) * (1.0 / 9007199254740992.0);
        if (dtype == SMLP_FLOAT32) ((float *)values)[i] = (float)v;
        else ((double *)values)[i] = v;
    }
    return values;
}

static size_t scalar_size(smlp_dtype dtype) { return dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double); }

static void put_params(const char *what, smlp_model *model, smlp_dtype dtype) {
    size_t count = smlp_param_count(model);
    void *params = malloc(count * scalar_size(dtype));
    put_status(what, smlp_get_params(model, dtype, params, count));
    put_values(what, dtype, params, count);
    free(params);
}

static void put_file(const char *what, const char *path) {
    FILE *file = fopen(path, "rb");
    unsigned char *buffer = NULL;
    size_t n = 0, capacity = 0;
    if (file) {
        for (;;) {
            if (n == capacity) {
                capacity = capacity ? 2 * capacity : 1 << 16;
                buffer = realloc(buffer, capacity);
                if (!buffer) break;
            }
            {
                size_t got = fread(buffer + n, 1, capacity - n, file);
                if (got == 0) break;
                n += got;
            }
        }
        fclose(file);
    }
    put_bytes(what, buffer ? buffer : (const unsigned char *)"", buffer ? n : 0);
    free(buffer);
}

/* One network shape and loss, run through everything. */
typedef struct trace_case {
    const char *name;
    size_t n_sizes;
    size_t sizes[4];
    smlp_activation activations[3];
    smlp_loss loss;
    smlp_reduction reduction;
    smlp_init init;
    int labels; /* softmax cross-entropy with integer labels instead of rows */
    size_t rows; /* training rows; a third as many validation rows */
} trace_case;

static void run_case(const trace_case *c, smlp_dtype dtype) {
    const size_t ROWS = c->rows, VALIDATION_ROWS = c->rows / 3;
    smlp_config config;
    smlp_model *model = NULL, *loaded = NULL;
    size_t n_in = c->sizes[0], n_out = c->sizes[c->n_sizes - 1], n_layers = c->n_sizes - 1;
    size_t count, l, size = 0;
    void *x = make_values(dtype, ROWS * n_in, 11, -2, 2);
    void *y = make_values(dtype, ROWS * n_out, 12, c->loss == SMLP_MSE ? -1 : 0, 1);
    void *vx = make_values(dtype, VALIDATION_ROWS * n_in, 13, -2, 2);
    void *vy = make_values(dtype, VALIDATION_ROWS * n_out, 14, c->loss == SMLP_MSE ? -1 : 0, 1);
    void *out = malloc(ROWS * n_out * scalar_size(dtype));
    void *grad;
    int32_t *labels = malloc(ROWS * sizeof *labels);
    int32_t *validation_labels = malloc(VALIDATION_ROWS * sizeof *validation_labels);
    smlp_dataset train, validation;
    double loss = 0, accuracy = 0;
    double *mean = malloc(n_in * sizeof *mean), *std = malloc(n_in * sizeof *std);
    int has_scaler = 0, k;
    char path[4096], label[256];
    unsigned char *bytes;
    smlp_optimizer_config optimizer;
    smlp_train_options options;
    smlp_train_summary summary;

    printf("== %s %s\n", c->name, dtype == SMLP_FLOAT32 ? "float32" : "float64");
    for (k = 0; k < (int)ROWS; k++) labels[k] = (int32_t)((k * 7 + 3) % (int)n_out);
    for (k = 0; k < (int)VALIDATION_ROWS; k++) validation_labels[k] = (int32_t)((k * 5 + 1) % (int)n_out);
    train.dtype = validation.dtype = dtype;
    train.n_rows = ROWS;
    validation.n_rows = VALIDATION_ROWS;
    train.n_inputs = validation.n_inputs = n_in;
    train.n_outputs = validation.n_outputs = n_out;
    train.x = x;
    validation.x = vx;
    train.y = c->labels ? NULL : y;
    validation.y = c->labels ? NULL : vy;
    train.labels = c->labels ? labels : NULL;
    validation.labels = c->labels ? validation_labels : NULL;

    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = c->n_sizes;
    config.layer_sizes = c->sizes;
    config.activations = c->activations;
    config.loss = c->loss;
    config.reduction = c->reduction;
    config.init = c->init;
    config.seed = 20260101;
    config.leaky_relu_slope = 0.03;
    put_status("create", smlp_create(&config, &model));
    if (!model) {
        free(labels);
        free(validation_labels);
        free(mean);
        free(std);
        return;
    }
    count = smlp_param_count(model);
    grad = malloc(count * scalar_size(dtype));
    put_params("initial params", model, dtype);

    put_status("fit_scaler", smlp_fit_scaler(model, dtype, x, ROWS, n_in));
    put_status("get_scaler", smlp_get_scaler(model, mean, std, n_in, &has_scaler));
    put_doubles("scaler mean", mean, n_in);
    put_doubles("scaler std", std, n_in);

    put_status("gradients", smlp_gradients(model, &train, &loss, grad, count));
    put_doubles("gradients loss", &loss, 1);
    put_values("gradients", dtype, grad, count);
    for (l = 0; l < n_layers; l++) {
        smlp_cache_kind kind;
        for (kind = SMLP_CACHE_Z; kind <= SMLP_CACHE_DZ; kind++) {
            size_t width = c->sizes[l + 1];
            void *cache = malloc(ROWS * width * scalar_size(dtype));
            snprintf(label, sizeof label, "cache layer %zu kind %d", l, (int)kind);
            put_status(label, smlp_get_layer_cache(model, l, kind, dtype, cache, ROWS, width));
            put_values(label, dtype, cache, ROWS * width);
            free(cache);
        }
    }

    /* Every optimizer, a few steps each, from where the previous one left off. */
    for (k = 0; k < 9; k++) {
        smlp_optimizer kinds[9] = {SMLP_SGD, SMLP_SGD, SMLP_ADAM, SMLP_ADAMW, SMLP_RMSPROP, SMLP_RMSPROP,
                                   SMLP_RPROP, SMLP_RPROP, SMLP_SGD};
        int step;
        smlp_optimizer_config_init(&optimizer, kinds[k]);
        if (k == 1) {
            optimizer.momentum = 0.9;
            optimizer.nesterov = 1;
            optimizer.clip_norm = 0.5;
            optimizer.weight_decay = 1e-3;
            optimizer.schedule = SMLP_SCHEDULE_STEP;
            optimizer.step_size = 1;
            optimizer.gamma = 0.7;
        } else if (k == 3) {
            optimizer.schedule = SMLP_SCHEDULE_COSINE;
            optimizer.t_max = 5;
            optimizer.min_lr = 1e-4;
            optimizer.decay_biases = 1;
        } else if (k == 4) {
            optimizer.schedule = SMLP_SCHEDULE_EXPONENTIAL;
            optimizer.gamma = 0.9;
            optimizer.weight_decay = 1e-2;
        } else if (k == 5) {
            optimizer.momentum = 0.5;
        } else if (k == 7) {
            optimizer.rprop_variant = SMLP_IRPROP_PLUS;
            optimizer.rprop_delta0 = 0.05;
        } else if (k == 8) {
            optimizer.schedule = SMLP_SCHEDULE_INVERSE_SCALING;
            optimizer.gamma = 0.5;
        }
        snprintf(label, sizeof label, "set_optimizer %d", k);
        put_status(label, smlp_set_optimizer(model, &optimizer));
        put_status("set_epoch", smlp_set_epoch(model, (size_t)k));
        for (step = 0; step < 3; step++) {
            snprintf(label, sizeof label, "step %d.%d", k, step);
            put_status(label, smlp_step(model, &train, &loss));
            put_doubles(label, &loss, 1);
        }
        snprintf(label, sizeof label, "params after optimizer %d", k);
        put_params(label, model, dtype);
    }

    /* Steps on one row each (a batch of one takes the outer-product paths): plain SGD,
     * plain SGD with weight decay (both update the weights inside the backward pass)
     * and SGD with momentum. */
    for (k = 0; k < 3; k++) {
        smlp_dataset row = train;
        int step;
        smlp_optimizer_config_init(&optimizer, SMLP_SGD);
        if (k == 1) optimizer.weight_decay = 1e-3;
        if (k == 2) optimizer.momentum = 0.4;
        snprintf(label, sizeof label, "set_optimizer one-row %d", k);
        put_status(label, smlp_set_optimizer(model, &optimizer));
        row.n_rows = 1;
        for (step = 0; step < 3; step++) {
            row.x = (const char *)x + (size_t)step * n_in * scalar_size(dtype);
            if (c->labels) {
                row.labels = labels + step;
            } else {
                row.y = (const char *)y + (size_t)step * n_out * scalar_size(dtype);
            }
            snprintf(label, sizeof label, "one-row step %d.%d", k, step);
            put_status(label, smlp_step(model, &row, &loss));
            put_doubles(label, &loss, 1);
        }
        snprintf(label, sizeof label, "params after one-row steps %d", k);
        put_params(label, model, dtype);
    }

    put_status("apply_gradients", smlp_apply_gradients(model, dtype, grad, count, 0.25));
    put_params("params after apply_gradients", model, dtype);

    smlp_optimizer_config_init(&optimizer, SMLP_ADAM);
    optimizer.learning_rate = 0.01;
    put_status("set_optimizer adam", smlp_set_optimizer(model, &optimizer));
    smlp_train_options_init(&options);
    options.epochs = 12;
    options.batch_size = 8;
    options.validation = &validation;
    options.patience = 4;
    summary.epochs_run = 0;
    put_status("train", smlp_train(model, &train, &options, &summary));
    printf("summary: %zu %zu %a %a %a %d %d\n", summary.epochs_run, summary.best_epoch,
           summary.best_validation_loss, summary.final_train_loss, summary.final_validation_loss,
           summary.stopped_early, summary.stopped_by_callback);
    put_params("params after train", model, dtype);

    {
        smlp_train_details details;
        memset(&details, 0, sizeof details);
        details.struct_size = sizeof details;
        smlp_train_options_init(&options);
        options.method = SMLP_TRAIN_LBFGS;
        options.epochs = 15;
        options.lbfgs_history = 5;
        options.details = &details;
        put_status("train lbfgs", smlp_train(model, &train, &options, &summary));
        printf("lbfgs summary: %zu %a; details %zu %zu %zu %d %a\n", summary.epochs_run,
               summary.final_train_loss, details.struct_size, details.iterations,
               details.function_evals, (int)details.stop_reason, details.final_objective);
        put_params("params after lbfgs", model, dtype);
    }

    put_status("evaluate", smlp_evaluate(model, &validation, &loss, &accuracy));
    put_doubles("evaluate loss", &loss, 1);
    put_doubles("evaluate accuracy", &accuracy, 1);
    put_status("predict", smlp_predict(model, dtype, x, ROWS, n_in, out, n_out));
    put_values("predict", dtype, out, ROWS * n_out);

    {
        double errors_w[3], errors_b[3];
        smlp_dataset small = train;
        small.n_rows = 5;
        put_status("gradcheck", smlp_gradcheck(model, &small, 1e-6, errors_w, errors_b, n_layers));
        put_doubles("gradcheck w", errors_w, n_layers);
        put_doubles("gradcheck b", errors_b, n_layers);
    }

    put_status("set_metadata", smlp_set_metadata(model, "trace", "embedded vs ordinary"));
    put_status("save_to_buffer size", smlp_save_to_buffer(model, NULL, 0, &size));
    bytes = malloc(size + 1);
    put_status("save_to_buffer", smlp_save_to_buffer(model, bytes, size, &size));
    put_bytes("saved", bytes, size);
    put_status("load_from_buffer", smlp_load_from_buffer(bytes, size, &loaded));
    if (loaded) {
        put_status("predict loaded", smlp_predict(loaded, dtype, vx, VALIDATION_ROWS, n_in, out, n_out));
        put_values("predict loaded", dtype, out, VALIDATION_ROWS * n_out);
        smlp_free(loaded);
    }
    free(bytes);

    snprintf(path, sizeof path, "%s/trace_model.c", scratch_dir);
    put_status("export_c", smlp_export_c(model, path, "traced"));
    put_file("exported C", path);
    {
        smlp_owned_dataset *read = NULL;
        snprintf(path, sizeof path, "%s/trace_data.fann", scratch_dir);
        put_status("data_save_fann", smlp_data_save_fann(path, &validation));
        put_file("FANN data file", path);
        put_status("data_load_fann", smlp_data_load_fann(path, dtype, &read));
        if (read) {
            put_values("FANN data x", dtype, read->data.x, read->data.n_rows * read->data.n_inputs);
            put_values("FANN data y", dtype, read->data.y, read->data.n_rows * read->data.n_outputs);
            smlp_data_free(read);
        }
    }
    snprintf(path, sizeof path, "%s/trace_model.smlp", scratch_dir);
    put_status("save", smlp_save(model, path));
    put_status("load", smlp_load(path, &loaded));
    if (loaded) {
        put_params("params loaded", loaded, dtype);
        smlp_free(loaded);
    }

    /* Failing calls whose messages carry numbers. */
    {
        void *bad = make_values(dtype, ROWS * n_in, 15, -1, 1);
        if (dtype == SMLP_FLOAT32) ((float *)bad)[n_in * 3 + 1] = 1.0f / 0.0f;
        else ((double *)bad)[n_in * 3 + 1] = 0.0 / 0.0;
        put_status("predict non-finite", smlp_predict(model, dtype, bad, ROWS, n_in, out, n_out));
        put_status("predict shape", smlp_predict(model, dtype, x, ROWS, n_in + 1, out, n_out));
        free(bad);
        smlp_optimizer_config_init(&optimizer, SMLP_ADAM);
        optimizer.beta1 = 1.5;
        put_status("set_optimizer beta1", smlp_set_optimizer(model, &optimizer));
        optimizer.beta1 = 0.9;
        optimizer.learning_rate = -0.125;
        put_status("set_optimizer lr", smlp_set_optimizer(model, &optimizer));
        mean[0] = 1e300;
        std[0] = 1e-300;
        put_status("set_scaler", smlp_set_scaler(model, mean, std, n_in));
    }

    smlp_free(model);
    free(x);
    free(y);
    free(vx);
    free(vy);
    free(out);
    free(grad);
    free(labels);
    free(validation_labels);
    free(mean);
    free(std);
}

/* Calls that fail outside a model's life, with numbers and lists in their messages. */
static void run_errors(void) {
    static const size_t huge[4] = {2147483647, 2147483647, 2147483647, 1};
    static const size_t zero[3] = {3, 0, 1};
    static const size_t small[3] = {2, 3, 1};
    static const smlp_activation activations[3] = {SMLP_TANH, SMLP_TANH, SMLP_IDENTITY};
    static const unsigned char garbage[64] = {'S', 'M', 'L', 'P', 1, 2, 3};
    smlp_config config;
    smlp_model *model = NULL;
    smlp_optimizer_config optimizer;
    double x[8] = {1e3, -2e3, 3e3, 4e3, -5e3, 6e3, 7e3, -8e3}, y[4] = {1e6, -1e6, 1e6, 2e6}, loss = 0;
    smlp_dataset batch;
    int k;
    char label[64];

    printf("== errors\n");
    smlp_config_init(&config);
    config.n_layer_sizes = 4;
    config.layer_sizes = huge;
    config.activations = activations;
    put_status("create huge", smlp_create(&config, &model));
    config.n_layer_sizes = 3;
    config.layer_sizes = zero;
    put_status("create zero width", smlp_create(&config, &model));
    put_status("set_num_threads 0", smlp_set_num_threads(0));
    put_status("load garbage", smlp_load_from_buffer(garbage, sizeof garbage, &model));

    config.layer_sizes = small;
    config.seed = 7;
    put_status("create small", smlp_create(&config, &model));
    if (!model) return;
    smlp_optimizer_config_init(&optimizer, SMLP_SGD);
    optimizer.learning_rate = 1e200;
    put_status("set_optimizer huge lr", smlp_set_optimizer(model, &optimizer));
    batch.dtype = SMLP_FLOAT64;
    batch.n_rows = 4;
    batch.n_inputs = 2;
    batch.x = x;
    batch.n_outputs = 1;
    batch.y = y;
    batch.labels = NULL;
    for (k = 0; k < 4; k++) {
        snprintf(label, sizeof label, "diverging step %d", k);
        put_status(label, smlp_step(model, &batch, &loss));
        put_doubles(label, &loss, 1);
    }
    put_params("params after divergence", model, SMLP_FLOAT64);
    smlp_free(model);
}

int main(int argc, char **argv) {
    static const trace_case cases[] = {
        {"mse tanh-identity", 3, {3, 5, 2}, {SMLP_TANH, SMLP_IDENTITY}, SMLP_MSE,
         SMLP_REDUCTION_MEAN, SMLP_INIT_AUTO, 0, 37},
        {"mse relu-leaky-sigmoid sum he", 4, {4, 6, 5, 3}, {SMLP_RELU, SMLP_LEAKY_RELU, SMLP_SIGMOID},
         SMLP_MSE, SMLP_REDUCTION_SUM, SMLP_INIT_HE_UNIFORM, 0, 37},
        {"bce sigmoid glorot", 3, {5, 7, 2}, {SMLP_LEAKY_RELU, SMLP_SIGMOID},
         SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, SMLP_INIT_GLOROT_UNIFORM, 0, 37},
        {"softmax ce rows", 3, {6, 8, 4}, {SMLP_RELU, SMLP_SOFTMAX}, SMLP_SOFTMAX_CROSS_ENTROPY,
         SMLP_REDUCTION_MEAN, SMLP_INIT_AUTO, 0, 37},
        {"softmax ce labels sum", 4, {6, 9, 7, 3}, {SMLP_TANH, SMLP_SIGMOID, SMLP_SOFTMAX},
         SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_SUM, SMLP_INIT_AUTO, 1, 37},
        {"poisson tanh-identity", 3, {4, 6, 3}, {SMLP_TANH, SMLP_IDENTITY}, SMLP_POISSON,
         SMLP_REDUCTION_MEAN, SMLP_INIT_AUTO, 0, 37},
        {"fann tanh error tanh-tanh sum", 3, {4, 6, 3}, {SMLP_TANH, SMLP_TANH}, SMLP_FANN_TANH_ERROR,
         SMLP_REDUCTION_SUM, SMLP_INIT_AUTO, 0, 37},
        /* A first layer of four outputs, wide enough for the x86-64-v3 copy's
         * four-column loops (22 rows of its one-row weight gradient: two left over
         * after blocks of four). */
        {"mse sigmoid four outputs", 3, {22, 4, 3}, {SMLP_SIGMOID, SMLP_SIGMOID}, SMLP_MSE,
         SMLP_REDUCTION_MEAN, SMLP_INIT_AUTO, 0, 37},
        /* Large enough for OpenBLAS to split products over two threads. */
        {"digits-sized relu softmax", 3, {64, 256, 10}, {SMLP_RELU, SMLP_SOFTMAX},
         SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, SMLP_INIT_AUTO, 1, 600},
    };
    size_t i;
    if (argc != 3) {
        fprintf(stderr, "usage: trace OUTDIR THREADS\n");
        return 2;
    }
    scratch_dir = argv[1];
    printf("version %s\n", smlp_version_string());
    put_status("set_num_threads", smlp_set_num_threads(atoi(argv[2])));
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_case(&cases[i], SMLP_FLOAT32);
        run_case(&cases[i], SMLP_FLOAT64);
    }
    run_errors();
    printf("end: %lu lines\n", lines_written);
    return 0;
}
