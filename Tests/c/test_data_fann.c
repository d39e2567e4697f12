/*
 * test_data_fann.c - FANN data files: smlp_data_save_fann writes what
 * smlp_data_load_fann reads back bit for bit (both dtypes, dense targets and labels
 * written one-hot); files in FANN's own layout (trailing spaces, exponent forms,
 * CRLF, blank lines) load; a loaded set trains as it is; every malformed file is
 * BAD_FORMAT with a message naming its line, *out_data NULL and nothing leaked (run
 * it under valgrind: make valgrind does); argument errors; a failed save leaves an
 * existing file untouched.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "model_util.h"

static char tmpdir[256];

static void path_for(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", tmpdir, name); }

static int write_text(const char *name, const char *text) {
    char path[512];
    FILE *f;
    path_for(path, sizeof path, name);
    f = fopen(path, "wb");
    if (f == NULL) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

static char *read_text(const char *name) {
    char path[512], *text;
    long size;
    FILE *f;
    path_for(path, sizeof path, name);
    f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc((size_t)size + 1, 1);
    if (text != NULL && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

/* Loads name from the scratch folder; checks the out_data contract on failure. */
static smlp_status load(const char *name, smlp_dtype dtype, smlp_owned_dataset **out) {
    char path[512];
    smlp_status status;
    path_for(path, sizeof path, name);
    *out = (smlp_owned_dataset *)&status; /* garbage, which a failure must clear */
    status = smlp_data_load_fann(path, dtype, out);
    if (status != SMLP_OK) CHECK(*out == NULL, "%s: *out_data is NULL after a failure", name);
    return status;
}

static void test_round_trip(void) {
    double x[3 * 4], y[3 * 2];
    float xf[3 * 4], yf[3 * 2];
    int32_t labels[3] = {2, 0, 1};
    const double specials[] = {0.1, -1.0 / 3.0, 1e-300, 4.9e-324, 1.7976931348623157e308, -0.0, 12345678.901234567,
                               2.0 / 3.0, 1e22, 5e-7, 0.0, -2.5};
    smlp_dataset d;
    smlp_owned_dataset *back = NULL;
    char path[512];
    size_t i;
    for (i = 0; i < 12; i++) {
        x[i] = specials[i];
        xf[i] = i == 3 || i == 4 || i == 2 ? (float)(1e-40 * (double)(i + 1)) : (float)specials[i];
    }
    for (i = 0; i < 6; i++) {
        y[i] = (double)i / 7.0 - 0.3;
        yf[i] = (float)y[i];
    }
    path_for(path, sizeof path, "round.data");
    d = dense_set(SMLP_FLOAT64, 3, 4, x, 2, y);
    CHECK_STATUS(smlp_data_save_fann(path, &d), SMLP_OK, "save float64");
    if (CHECK_STATUS(load("round.data", SMLP_FLOAT64, &back), SMLP_OK, "load float64")) {
        CHECK(back->data.dtype == SMLP_FLOAT64 && back->data.n_rows == 3 && back->data.n_inputs == 4 &&
                  back->data.n_outputs == 2 && back->data.labels == NULL,
              "shape and dtype");
        CHECK(memcmp(back->data.x, x, sizeof x) == 0 && memcmp(back->data.y, y, sizeof y) == 0,
              "float64 values (0.1, 1/3, subnormals, DBL_MAX, -0.0) come back bit for bit");
        CHECK((((uintptr_t)back->data.x) % 64) == 0, "x is 64-byte aligned");
    }
    smlp_data_free(back);

    d = dense_set(SMLP_FLOAT32, 3, 4, xf, 2, yf);
    CHECK_STATUS(smlp_data_save_fann(path, &d), SMLP_OK, "save float32 over the same file");
    if (CHECK_STATUS(load("round.data", SMLP_FLOAT32, &back), SMLP_OK, "load float32")) {
        CHECK(memcmp(back->data.x, xf, sizeof xf) == 0 && memcmp(back->data.y, yf, sizeof yf) == 0,
              "float32 values (float subnormals too) come back bit for bit");
    }
    smlp_data_free(back);

    d = dense_set(SMLP_FLOAT64, 3, 4, x, 3, NULL);
    d.labels = labels;
    CHECK_STATUS(smlp_data_save_fann(path, &d), SMLP_OK, "save with labels");
    if (CHECK_STATUS(load("round.data", SMLP_FLOAT64, &back), SMLP_OK, "load it")) {
        const double *t = back->data.y;
        CHECK(back->data.n_outputs == 3 && t[2] == 1 && t[0] == 0 && t[1] == 0 && t[3] == 1 && t[4] == 0 &&
                  t[7] == 1 && t[8] == 0,
              "labels are written as one-hot rows");
    }
    smlp_data_free(back);
    smlp_data_free(NULL); /* ignored */
}

/* FANN's own layout: its writer puts a space after every value, FANN 2 writes
 * exponent forms, files may come from Windows. */
static void test_fann_layout_and_training(void) {
    smlp_owned_dataset *d = NULL;
    smlp_model *model = NULL;
    static const size_t sizes[3] = {2, 4, 1};
    static const smlp_activation acts[2] = {SMLP_TANH, SMLP_SIGMOID};
    smlp_optimizer_config c;
    smlp_train_options o;
    double accuracy = 0;
    CHECK(write_text("xor.data",
                     "4 2 1\n"
                     "-1.00000000000000000000e+00 -1.00000000000000000000e+00 \n"
                     "0 \n"
                     "-1 1 \n"
                     "1 \n"
                     "\n"
                     "1\t-1\r\n"
                     "1.0\r\n"
                     "+1 1e0 \n"
                     "0.000\n"
                     "\n\n"),
          "write xor.data");
    if (!CHECK_STATUS(load("xor.data", SMLP_FLOAT64, &d), SMLP_OK, "FANN's layout loads")) return;
    {
        const double *x = d->data.x, *y = d->data.y;
        CHECK(x[0] == -1 && x[1] == -1 && x[2] == -1 && x[3] == 1 && x[4] == 1 && x[5] == -1 && x[6] == 1 &&
                  x[7] == 1 && y[0] == 0 && y[1] == 1 && y[2] == 1 && y[3] == 0,
              "with trailing spaces, tabs, CRLF, blank lines, exponents and signs");
    }
    model = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 1);
    smlp_optimizer_config_init(&c, SMLP_RPROP);
    smlp_train_options_init(&o);
    o.epochs = 200;
    o.batch_size = 4;
    if (CHECK(model != NULL, "create") && smlp_set_optimizer(model, &c) == SMLP_OK) {
        CHECK_STATUS(smlp_train(model, &d->data, &o, NULL), SMLP_OK, "the loaded set trains as it is");
        smlp_evaluate(model, &d->data, NULL, &accuracy);
        CHECK(accuracy == 1.0, "and XOR is learnt (accuracy %g)", accuracy);
    }
    smlp_free(model);
    smlp_data_free(d);
}

struct malformed {
    const char *name, *text, *line;
};

static void test_malformed(void) {
    static const struct malformed cases[] = {
        {"empty file", "", "empty"},
        {"blank file", "\n  \n", "empty"},
        {"two numbers on line 1", "2 2\n1 1\n1\n", "line 1"},
        {"words on line 1", "rows inputs outputs\n", "line 1"},
        {"negative count", "2 -1 1\n", "line 1"},
        {"zero rows", "0 2 1\n", "line 1"},
        {"a fraction as count", "1.5 2 1\n", "line 1"},
        {"a huge header on a small file", "1000000000 1000 1000\n1 2\n", "line 1"},
        {"counts that overflow", "2147483647 2147483647 2147483647\n", "line 1"},
        {"a count above 2^31-1", "2147483648 1 1\n", "line 1"},
        {"too few inputs", "2 2 1\n0 0\n0\n0\n1\n", "line 4: expected the 2 input values of row 1, found 1"},
        {"too many outputs", "2 2 1\n0 0\n0 1\n0 1\n1\n", "line 3: expected the 1 output values of row 0, found 2"},
        {"not a number", "1 2 1\n0 x1\n0\n", "line 2"},
        {"a comma decimal", "1 2 1\n0,5 1\n0\n", "line 2"},
        {"nan", "1 2 1\n0 nan\n0\n", "line 2"},
        {"inf", "1 2 1\n0 1\n-inf\n", "line 3"},
        {"overflow", "1 2 1\n0 1e400\n0\n", "line 2"},
        {"a missing row", "3 2 1\n0.000 0.000\n0.000\n1.000 1.000\n0.000\n", "line 6: the file ends"},
        {"a missing output line", "1 2 1\n0 0\n", "line 3: the file ends"},
        {"data after the last row", "1 2 1\n0 0\n0\n7\n", "line 4: more data"},
        {"a NUL byte", "1 2 1\n0 \0 0\n0\n", "line 2"},
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        smlp_owned_dataset *d = NULL;
        char name[64];
        snprintf(name, sizeof name, "bad_%zu.data", k);
        if (!CHECK(write_text(name, cases[k].text), "write %s", cases[k].name)) continue;
        if (strcmp(cases[k].name, "a NUL byte") == 0) { /* fputs stops at NUL: write the bytes */
            char path[512];
            FILE *f;
            path_for(path, sizeof path, name);
            f = fopen(path, "wb");
            if (f != NULL) {
                fwrite("1 2 1\n0 \0 0\n0\n", 1, 14, f);
                fclose(f);
            }
        }
        CHECK_STATUS(load(name, SMLP_FLOAT64, &d), SMLP_ERR_BAD_FORMAT, "%s is BAD_FORMAT", cases[k].name);
        CHECK(strstr(smlp_last_error(), cases[k].line) != NULL, "%s: the message says \"%s\": \"%s\"",
              cases[k].name, cases[k].line, smlp_last_error());
        smlp_data_free(d);
    }
    {
        smlp_owned_dataset *d = NULL;
        CHECK(write_text("float_overflow.data", "1 1 1\n1e39\n0\n"), "write");
        CHECK_STATUS(load("float_overflow.data", SMLP_FLOAT32, &d), SMLP_ERR_BAD_FORMAT, "1e39 overflows float");
        CHECK(strstr(smlp_last_error(), "not finite in float") != NULL, "says so: \"%s\"", smlp_last_error());
        CHECK_STATUS(load("float_overflow.data", SMLP_FLOAT64, &d), SMLP_OK, "but fits a double");
        smlp_data_free(d);
    }
}

static void test_arguments(void) {
    smlp_owned_dataset *d = NULL;
    double x[2] = {1, NAN}, y[2] = {0, 1};
    int32_t labels[2] = {0, 2};
    smlp_dataset set = dense_set(SMLP_FLOAT64, 2, 1, x, 1, y);
    char path[512], *before, *after;
    CHECK_STATUS(smlp_data_load_fann(NULL, SMLP_FLOAT64, &d), SMLP_ERR_NULL_ARGUMENT, "NULL path");
    CHECK(d == NULL, "out_data NULL after a NULL path");
    CHECK_STATUS(smlp_data_load_fann("x.data", SMLP_FLOAT64, NULL), SMLP_ERR_NULL_ARGUMENT, "NULL out_data");
    CHECK(write_text("ok.data", "1 1 1\n1\n2\n"), "write ok.data");
    CHECK_STATUS(load("ok.data", (smlp_dtype)3, &d), SMLP_ERR_INVALID_ARGUMENT, "dtype 3");
    CHECK_STATUS(load("no_such.data", SMLP_FLOAT64, &d), SMLP_ERR_IO, "a missing file");
    CHECK(strstr(smlp_last_error(), "No such file") != NULL, "names the OS error: \"%s\"", smlp_last_error());
    CHECK_STATUS(load("", SMLP_FLOAT64, &d), SMLP_ERR_IO, "a directory (the scratch folder itself)");
    CHECK_STATUS(smlp_data_load_fann("\xff\xfe.data", SMLP_FLOAT64, &d), SMLP_ERR_INVALID_ARGUMENT, "path not UTF-8");

    path_for(path, sizeof path, "ok.data");
    before = read_text("ok.data");
    CHECK_STATUS(smlp_data_save_fann(path, &set), SMLP_ERR_NON_FINITE, "a NaN in x");
    CHECK(strstr(smlp_last_error(), "row 1 column 0") != NULL, "names row and column: \"%s\"", smlp_last_error());
    x[1] = 2;
    set.labels = labels;
    CHECK_STATUS(smlp_data_save_fann(path, &set), SMLP_ERR_INVALID_ARGUMENT, "both y and labels");
    set.y = NULL;
    set.n_outputs = 2;
    CHECK_STATUS(smlp_data_save_fann(path, &set), SMLP_ERR_INVALID_ARGUMENT, "a label out of range");
    CHECK(strstr(smlp_last_error(), "row 1") != NULL, "names the row: \"%s\"", smlp_last_error());
    set.labels = NULL;
    CHECK_STATUS(smlp_data_save_fann(path, &set), SMLP_ERR_NULL_ARGUMENT, "neither y nor labels");
    set = dense_set(SMLP_FLOAT64, 0, 1, x, 1, y);
    CHECK_STATUS(smlp_data_save_fann(path, &set), SMLP_ERR_INVALID_ARGUMENT, "0 rows");
    set = dense_set((smlp_dtype)0, 2, 1, x, 1, y);
    CHECK_STATUS(smlp_data_save_fann(path, &set), SMLP_ERR_INVALID_ARGUMENT, "dtype 0");
    set = dense_set(SMLP_FLOAT64, 2, 1, NULL, 1, y);
    CHECK_STATUS(smlp_data_save_fann(path, &set), SMLP_ERR_NULL_ARGUMENT, "x NULL");
    CHECK_STATUS(smlp_data_save_fann(path, NULL), SMLP_ERR_NULL_ARGUMENT, "data NULL");
    set = dense_set(SMLP_FLOAT64, 2, 1, x, 1, y);
    CHECK_STATUS(smlp_data_save_fann(NULL, &set), SMLP_ERR_NULL_ARGUMENT, "path NULL");
    after = read_text("ok.data");
    CHECK(before != NULL && after != NULL && strcmp(before, after) == 0, "the failed saves left the file as it was");
    free(before);
    free(after);
    path_for(path, sizeof path, "");
    CHECK_STATUS(smlp_data_save_fann(path, &set), SMLP_ERR_IO, "saving over a directory");
    path_for(path, sizeof path, "missing_folder/x.data");
    CHECK_STATUS(smlp_data_save_fann(path, &set), SMLP_ERR_IO, "into a missing folder");
}

int main(void) {
    char command[400];
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/smlp-fann-XXXXXX", base != NULL && *base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        printf("cannot create a scratch folder: %s\n", strerror(errno));
        check_failed_count++;
        return check_summary();
    }
    test_round_trip();
    test_fann_layout_and_training();
    test_malformed();
    test_arguments();
    snprintf(command, sizeof command, "rm -rf '%s'", tmpdir);
    if (system(command) != 0) printf("note: could not remove %s\n", tmpdir);
    return check_summary();
}
