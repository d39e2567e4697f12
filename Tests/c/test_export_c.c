/*
 * test_export_c.c - smlp_export_c writes a standalone C99 file that compiles on its
 * own with `cc -std=c99 -Wall -Werror -c` (and with -Wextra -pedantic
 * -Wredundant-decls), needs no library beyond <math.h>, and predicts what smlp_predict
 * predicts, for float64 and float32 models, every activation, with and without an
 * input scaler.
 *
 * For each model the test exports the file into a scratch folder, writes a tiny
 * driver that runs <prefix>_predict on a batch of inputs (written into the driver as
 * exact hexadecimal literals) and prints the outputs as exact hexadecimal floats,
 * compiles both with system("cc ..."), runs it, and compares with smlp_predict, for
 * each way of building the file: by default (here the AVX2 copy), <PREFIX>_PLAIN_C,
 * -mavx, <PREFIX>_NO_DISPATCH, -O2 -ffast-math, x87 arithmetic (-mfpmath=387) and as
 * C++ linked into the C driver. The default, -mavx and NO_DISPATCH builds must also
 * print the same bits:
 *
 *   float64: |c - lib| <= 1e-12 * max(1, |c|, |lib|)
 *   float32: |c - lib| <= 1e-5  * max(1, |c|, |lib|)
 *
 * not bit-for-bit, because the generated code sums each z_j = b_j + sum_i x_i W_ij
 * in plain index order while OpenBLAS's gemm blocks, vectorises and uses FMA, so the
 * roundings differ (by a few ulps of the largest term); float32 has 2^29 times
 * larger ulps. Outputs near 0 are compared against 1 (the max(1, ...)): their error
 * is set by the size of the terms summed, not of the result.
 *
 * Every file must also compile as C++ (`c++ -x c++ -Wall -Wextra -Werror`; $CXX,
 * default c++), for one, two and many layers, every activation, both dtypes, with and
 * without a scaler, and odd prefixes ("x_", 64 characters). Half the drivers call
 * <prefix>_predict_scratch with their own scratch instead of <prefix>_predict.
 *
 * It also checks prefixes (NULL gives smlp_model_predict; bad ones are
 * INVALID_ARGUMENT and write nothing), NULL arguments, an unwritable path, and that
 * every exported file links into one program with the others (no clashing symbols).
 * The compiler is $CC (default cc).
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
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
static const char *cc = "cc";
static const char *cxx = "c++";

enum { ROWS = 16, MAX_IN = 120, MAX_OUT = 12 };

struct net {
    const char *name;
    size_t n_sizes;
    size_t sizes[5];
    smlp_activation activations[4];
    smlp_loss loss;
    double slope;
    int scaler;
};

/* Between them: every activation as a hidden layer and identity, tanh, sigmoid,
 * relu, leaky relu and softmax as the output; scalers on most. */
static const struct net nets[] = {
    {"5-7-6-3 sigmoid/tanh/softmax, scaler", 4, {5, 7, 6, 3}, {SMLP_SIGMOID, SMLP_TANH, SMLP_SOFTMAX},
     SMLP_SOFTMAX_CROSS_ENTROPY, 0.01, 1},
    {"6-8-6-5-2 relu/leaky(0.2)/identity/sigmoid, scaler", 5, {6, 8, 6, 5, 2},
     {SMLP_RELU, SMLP_LEAKY_RELU, SMLP_IDENTITY, SMLP_SIGMOID}, SMLP_BINARY_CROSS_ENTROPY, 0.2, 1},
    {"3-4-2 tanh/identity, no scaler", 3, {3, 4, 2}, {SMLP_TANH, SMLP_IDENTITY}, SMLP_MSE, 0.01, 0},
    {"4-5-3 identity/tanh, scaler", 3, {4, 5, 3}, {SMLP_IDENTITY, SMLP_TANH}, SMLP_MSE, 0.01, 1},
    {"4-6-4 sigmoid/relu, scaler", 3, {4, 6, 4}, {SMLP_SIGMOID, SMLP_RELU}, SMLP_MSE, 0.01, 1},
    {"3-5-2 tanh/leaky(0.05), no scaler", 3, {3, 5, 2}, {SMLP_TANH, SMLP_LEAKY_RELU}, SMLP_MSE, 0.05, 0},
    {"1-1 identity, scaler", 2, {1, 1}, {SMLP_IDENTITY}, SMLP_MSE, 0.01, 1},
    {"40-32-12 relu/softmax, scaler (long sums)", 3, {40, 32, 12}, {SMLP_RELU, SMLP_SOFTMAX},
     SMLP_SOFTMAX_CROSS_ENTROPY, 0.01, 1},
    /* Wide layers: blocks of sixteen vectors, and of eight, four and two after them
     * (118 at 4 or 2 lanes); layers of four outputs after a wide one and after 30
     * inputs (long sums in four parts). */
    {"20-130-3 sigmoid/identity, no scaler", 3, {20, 130, 3}, {SMLP_SIGMOID, SMLP_IDENTITY}, SMLP_MSE, 0.01, 0},
    {"12-118-4 tanh/sigmoid, scaler", 3, {12, 118, 4}, {SMLP_TANH, SMLP_SIGMOID}, SMLP_MSE, 0.01, 1},
    {"30-4-2 sigmoid/sigmoid, scaler", 3, {30, 4, 2}, {SMLP_SIGMOID, SMLP_SIGMOID}, SMLP_MSE, 0.01, 1},
    /* A 120-4 layer, where GCC 12 at -O3 once found undefined behaviour in a loop. */
    {"120-4-2-3 sigmoid, no scaler", 4, {120, 4, 2, 3}, {SMLP_SIGMOID, SMLP_SIGMOID, SMLP_SIGMOID}, SMLP_MSE, 0.01, 0},
    /* One weight layer, no scaler: the generated code needs no scratch at all (the
     * case that once declared an unused buffer). Every activation as the only layer. */
    {"1-1 identity, no scaler", 2, {1, 1}, {SMLP_IDENTITY}, SMLP_MSE, 0.01, 0},
    {"2-2 relu, no scaler", 2, {2, 2}, {SMLP_RELU}, SMLP_MSE, 0.01, 0},
    {"3-2 sigmoid, no scaler", 2, {3, 2}, {SMLP_SIGMOID}, SMLP_BINARY_CROSS_ENTROPY, 0.01, 0},
    {"3-4 softmax, no scaler", 2, {3, 4}, {SMLP_SOFTMAX}, SMLP_SOFTMAX_CROSS_ENTROPY, 0.01, 0},
    {"2-3 tanh, scaler", 2, {2, 3}, {SMLP_TANH}, SMLP_MSE, 0.01, 1},
    {"2-2 leaky(0.3), no scaler", 2, {2, 2}, {SMLP_LEAKY_RELU}, SMLP_MSE, 0.3, 0},
};
enum { N_NETS = sizeof nets / sizeof nets[0] };

static int run(const char *command, const char *log) {
    char full[2048];
    snprintf(full, sizeof full, "%s > '%s' 2>&1", command, log);
    return system(full);
}

static void show_file(const char *path) {
    char line[512];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) return;
    while (fgets(line, sizeof line, f) != NULL && n++ < 20) printf("    | %s", line);
    fclose(f);
}

static int file_contains(const char *path, const char *text) {
    FILE *f = fopen(path, "rb");
    char *buffer;
    long size;
    int found = 0;
    if (f == NULL) return 0;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buffer = malloc((size_t)size + 1);
    if (buffer != NULL && fread(buffer, 1, (size_t)size, f) == (size_t)size) {
        buffer[size] = 0;
        found = strstr(buffer, text) != NULL;
    }
    free(buffer);
    fclose(f);
    return found;
}

static void export_compare(const struct net *net, const char *dt, const char *program, const char *driver,
                           const char *object, const char *log, const char *output, const double *lib,
                           size_t n_out, double tol, const char *flags);

/* Exports one model, compiles and runs a driver, compares. */
static void export_case(const struct net *net, smlp_dtype dtype, int index) {
    const int f32 = dtype == SMLP_FLOAT32;
    const char *dt = f32 ? "float32" : "float64", *type = f32 ? "float" : "double";
    const double tol = f32 ? 1e-5 : 1e-12;
    size_t n_in = net->sizes[0], n_out = net->sizes[net->n_sizes - 1], n, i;
    smlp_config config;
    smlp_model *model = NULL;
    double *p = NULL, x[ROWS * MAX_IN], lib[ROWS * MAX_OUT], mean[MAX_IN], std[MAX_IN];
    float *pf = NULL, xf[ROWS * MAX_IN], libf[ROWS * MAX_OUT];
    char prefix[80], source[512], object[512], driver[512], program[512], log[512], output[512], command[2048];
    char flags[128], upper[80];
    FILE *f;
    int status, v;

    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = net->n_sizes;
    config.layer_sizes = net->sizes;
    config.activations = net->activations;
    config.loss = net->loss;
    config.leaky_relu_slope = net->slope;
    config.seed = 100 + (uint64_t)index;
    if (!CHECK(smlp_create(&config, &model) == SMLP_OK, "%s %s: create", net->name, dt)) return;
    n = smlp_param_count(model);
    p = malloc(n * sizeof *p);
    pf = malloc(n * sizeof *pf);
    if (!CHECK(p != NULL && pf != NULL, "allocate")) goto done;

    /* Parameters large enough that every activation's both sides are used. */
    fill_uniform(p, n, 500 + (uint64_t)index, -1.5, 1.5);
    for (i = 0; i < n; i++) pf[i] = (float)p[i];
    CHECK_STATUS(f32 ? smlp_set_params(model, dtype, pf, n) : smlp_set_params(model, dtype, p, n), SMLP_OK,
                 "%s %s: set params", net->name, dt);
    fill_uniform(x, ROWS * n_in, 900 + (uint64_t)index, -3, 3);
    for (i = 0; i < n_in; i++) {
        x[i] = 0;                       /* row 0: all zeros */
        x[n_in + i] = i % 2 ? 40 : -40; /* row 1: saturates sigmoid and tanh both ways */
    }
    for (i = 0; i < ROWS * n_in; i++) xf[i] = (float)x[i];
    if (net->scaler) {
        for (i = 0; i < n_in; i++) {
            mean[i] = 0.3 * (double)i - 0.7;
            std[i] = 0.6 + 0.15 * (double)i;
        }
        CHECK_STATUS(smlp_set_scaler(model, mean, std, n_in), SMLP_OK, "%s %s: set scaler", net->name, dt);
    }
    status = f32 ? smlp_predict(model, dtype, xf, ROWS, n_in, libf, n_out)
                 : smlp_predict(model, dtype, x, ROWS, n_in, lib, n_out);
    if (!CHECK_STATUS(status, SMLP_OK, "%s %s: smlp_predict", net->name, dt)) goto done;
    if (f32) for (i = 0; i < ROWS * n_out; i++) lib[i] = libf[i];

    /* Export. Case 0 in float64 uses the default prefix (NULL). */
    /* Odd prefixes: a trailing underscore, and the longest allowed (64 characters). */
    if (index == 0) snprintf(prefix, sizeof prefix, "smlp_model");
    else if (index == 1) snprintf(prefix, sizeof prefix, "x_");
    else if (index == 2) snprintf(prefix, sizeof prefix, "%.*s", 64, "p64_456789012345678901234567890123456789012345678901234567890123456789");
    else snprintf(prefix, sizeof prefix, "net%d_%s", index, dt);
    snprintf(source, sizeof source, "%s/%s.c", tmpdir, prefix);
    snprintf(object, sizeof object, "%s/%s.o", tmpdir, prefix);
    snprintf(driver, sizeof driver, "%s/%s_driver.c", tmpdir, prefix);
    snprintf(program, sizeof program, "%s/%s_driver", tmpdir, prefix);
    snprintf(log, sizeof log, "%s/%s.log", tmpdir, prefix);
    snprintf(output, sizeof output, "%s/%s.out", tmpdir, prefix);
    CHECK_STATUS(smlp_export_c(model, source, index == 0 ? NULL : prefix), SMLP_OK, "%s %s: smlp_export_c",
                 net->name, dt);
    snprintf(command, sizeof command, "void %s_predict(const %s *x, %s *out)", prefix, type, type);
    CHECK(file_contains(source, command), "%s %s: the file defines %s", net->name, dt, command);
    CHECK(file_contains(source, "_SCRATCH_SIZE") && file_contains(source, "on the stack"),
          "%s %s: the file's comment states its stack use and defines <PREFIX>_SCRATCH_SIZE", net->name, dt);

    /* The generated file alone, as the header promises: C99, -Wall -Werror. */
    snprintf(command, sizeof command, "%s -std=c99 -Wall -Werror -c '%s' -o '%s'", cc, source, object);
    status = run(command, log);
    if (!CHECK(status == 0, "%s %s: `%s` compiles the generated file", net->name, dt, command)) {
        show_file(log);
        goto done;
    }
    /* Strict, and at -O3, where GCC warns of loops it finds undefined behaviour in. */
    snprintf(command, sizeof command,
             "%s -std=c99 -O3 -Wall -Wextra -pedantic -Wredundant-decls -Werror -c '%s' -o '%s.strict.o'", cc, source,
             object);
    status = run(command, log);
    if (!CHECK(status == 0, "%s %s: it compiles with -Wextra -pedantic -Wredundant-decls too", net->name, dt))
        show_file(log);
    snprintf(command, sizeof command, "%s -x c++ -Wall -Wextra -Werror -c '%s' -o '%s.cxx.o'", cxx, source, object);
    status = run(command, log);
    if (!CHECK(status == 0, "%s %s: it compiles as C++ (`%s`)", net->name, dt, command)) show_file(log);

    /* The driver: exact inputs in, exact outputs out. */
    f = fopen(driver, "w");
    if (!CHECK(f != NULL, "write the driver")) goto done;
    /* Odd cases call the caller-scratch variant (its SCRATCH_SIZE is at most 2 * 40 here). */
    fprintf(f, "#include <stdio.h>\nvoid %s_predict(const %s *x, %s *out);\n", prefix, type, type);
    fprintf(f, "void %s_predict_scratch(const %s *x, %s *out, %s *scratch);\nstatic %s scratch[80];\n", prefix, type,
            type, type, type);
    fprintf(f, "static const %s inputs[%d * %zu] = {\n", type, ROWS, n_in);
    for (i = 0; i < ROWS * n_in; i++) fprintf(f, "    %a%s,\n", f32 ? (double)xf[i] : x[i], f32 ? "f" : "");
    fprintf(f, "};\nint main(void) {\n    %s out[%zu];\n    int r, j;\n", type, n_out);
    if (index % 2)
        fprintf(f, "    for (r = 0; r < %d; r++) {\n        %s_predict_scratch(inputs + r * %zu, out, scratch);\n", ROWS,
                prefix, n_in);
    else
        fprintf(f, "    for (r = 0; r < %d; r++) {\n        (void)scratch; %s_predict(inputs + r * %zu, out);\n", ROWS,
                prefix, n_in);
    fprintf(f, "        for (j = 0; j < %zu; j++) printf(\"%%a\\n\", (double)out[j]);\n    }\n", n_out);
    fprintf(f, "    return 0;\n}\n");
    fclose(f);
    /* Each way the file computes its products: as compiled by default (GCC vector
     * types; on this x86 CPU with AVX2, the AVX2 copy chosen at run time), at the
     * default 16-byte width alone (<PREFIX>_NO_DISPATCH), at AVX's width where the
     * compiler may use it (-mavx, where this CPU runs AVX), and the plain loops of
     * other compilers (<PREFIX>_PLAIN_C). */
    {
        size_t k;
        for (k = 0; prefix[k] != 0 && k + 1 < sizeof upper; k++) upper[k] = (char)toupper((unsigned char)prefix[k]);
        upper[k] = 0;
    }
#if defined(__x86_64__)
    /* The default object holds the AVX2 copy (32-byte registers), and the
     * NO_DISPATCH one does not. */
    snprintf(command, sizeof command, "objdump -d '%s' | grep -q ymm", object);
    CHECK(run(command, log) == 0, "%s %s: the default object has an AVX2 copy of the layers", net->name, dt);
#endif
    /* Then two builds the file must survive with the C library's expf/tanhf: -ffast-math
     * (which folds the branch-free exponential's rounding step) and x87 arithmetic
     * (FLT_EVAL_METHOD 2, where GCC refuses a long double times a vector). */
    for (v = 0; v < 6; v++) {
        if (v == 1) {
            snprintf(flags, sizeof flags, "-D%s_PLAIN_C", upper);
        } else if (v == 3) {
            snprintf(flags, sizeof flags, "-D%s_NO_DISPATCH", upper);
        } else if (v == 2) {
            __builtin_cpu_init();
            if (!__builtin_cpu_supports("avx")) continue;
            snprintf(flags, sizeof flags, "-mavx");
        } else if (v == 4) {
            snprintf(flags, sizeof flags, "-O2 -ffast-math");
        } else if (v == 5) {
#if defined(__x86_64__)
            snprintf(flags, sizeof flags, "-mfpmath=387");
#else
            continue;
#endif
        } else {
            flags[0] = 0;
        }
        if (v > 0) {
            snprintf(command, sizeof command, "%s -std=c99 -Wall -Wextra -pedantic -Werror %s -c '%s' -o '%s'", cc,
                     flags, source, object);
            status = run(command, log);
            if (!CHECK(status == 0, "%s %s: it compiles with %s", net->name, dt, flags)) {
                show_file(log);
                continue;
            }
#if defined(__x86_64__)
            if (v == 3) {
                snprintf(command, sizeof command, "objdump -d '%s' | grep -q ymm", object);
                CHECK(run(command, log) != 0, "%s %s: with %s the object has no AVX code", net->name, dt, flags);
            }
#endif
        }
        export_compare(net, dt, program, driver, object, log, output, lib, n_out, tol, flags);
        /* The vector copies sum each output the same way at every width: the AVX2 copy
         * (by default here), the 16-byte one (NO_DISPATCH) and -mavx give the same bits. */
        snprintf(command, sizeof command, v == 0 ? "cp '%s' '%s.default'" : "cmp -s '%s' '%s.default'", output,
                 output);
        if (v == 0 || v == 2 || v == 3)
            CHECK(run(command, log) == 0, "%s %s: %s gives the same bits as the default build", net->name, dt,
                  v == 0 ? "(copy)" : flags);
    }
    /* Compiled as C++, the file's functions keep C linkage: the C driver links with it. */
    snprintf(command, sizeof command, "%s.cxx.o", object);
    export_compare(net, dt, program, driver, command, log, output, lib, n_out, tol, "(compiled as C++)");
done:
    free(p);
    free(pf);
    smlp_free(model);
}

/* Links the driver with one compiled export, runs it and compares its outputs with
 * smlp_predict's. */
static void export_compare(const struct net *net, const char *dt, const char *program, const char *driver,
                           const char *object, const char *log, const char *output, const double *lib,
                           size_t n_out, double tol, const char *flags) {
    char command[2048];
    double worst = 0;
    size_t got = 0, r, j;
    int status;
    FILE *f;
    snprintf(command, sizeof command, "%s -std=c99 -Wall -Werror -o '%s' '%s' '%s' -lm", cc, program, driver, object);
    status = run(command, log);
    if (!CHECK(status == 0, "%s %s %s: the driver compiles and links with the generated object", net->name, dt,
               flags)) {
        show_file(log);
        return;
    }
    snprintf(command, sizeof command, "'%s'", program);
    status = run(command, output);
    if (!CHECK(status == 0, "%s %s %s: the driver runs", net->name, dt, flags)) return;

    f = fopen(output, "r");
    if (!CHECK(f != NULL, "read the driver's output")) return;
    for (r = 0; r < ROWS; r++) {
        for (j = 0; j < n_out; j++) {
            char line[128];
            double c, ref = lib[r * n_out + j], scale, err;
            if (fgets(line, sizeof line, f) == NULL) break;
            c = strtod(line, NULL);
            got++;
            scale = fabs(ref) > 1 ? fabs(ref) : 1;
            if (fabs(c) > scale) scale = fabs(c);
            err = fabs(c - ref) / scale;
            if (!(err <= worst)) worst = err; /* NaN sticks */
        }
    }
    fclose(f);
    CHECK(got == ROWS * n_out, "%s %s %s: the driver printed %zu values (expected %zu)", net->name, dt, flags, got,
          (size_t)(ROWS * n_out));
    CHECK(worst <= tol,
          "%s %s %s: exported predict matches smlp_predict on %d rows: worst relative error %.3g > %.0e", net->name,
          dt, flags, ROWS, worst, tol);
}

static void test_arguments(void) {
    static const size_t sizes[3] = {2, 3, 1};
    static const smlp_activation acts[2] = {SMLP_TANH, SMLP_SIGMOID};
    smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_BINARY_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 1);
    /* A leading underscore is reserved in C: "_" made "__tanh", which <math.h> declares. */
    static const char *bad[] = {"", "1abc", "a-b", "a b", "caf\xc3\xa9", "a.b", "_x$", "x\n", "_", "_x", "__x", "_Under"};
    char path[512], long_prefix[80];
    struct stat info;
    size_t k;
    if (!CHECK(model != NULL, "model for argument checks")) return;
    snprintf(path, sizeof path, "%s/bad_prefix.c", tmpdir);
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK_STATUS(smlp_export_c(model, path, bad[k]), SMLP_ERR_INVALID_ARGUMENT, "prefix \"%s\"", bad[k]);
    }
    CHECK(strstr(smlp_last_error(), "prefix") != NULL, "the message names the prefix: \"%s\"", smlp_last_error());
    memset(long_prefix, 'p', 65);
    long_prefix[65] = 0;
    CHECK_STATUS(smlp_export_c(model, path, long_prefix), SMLP_ERR_INVALID_ARGUMENT, "a 65-character prefix");
    CHECK(stat(path, &info) != 0 && errno == ENOENT, "a rejected prefix writes no file");
    long_prefix[64] = 0;
    CHECK_STATUS(smlp_export_c(model, path, long_prefix), SMLP_OK, "a 64-character prefix is fine");
    CHECK_STATUS(smlp_export_c(model, path, "Under_score9_"), SMLP_OK, "prefix Under_score9_");
    unlink(path);

    CHECK_STATUS(smlp_export_c(NULL, path, "m"), SMLP_ERR_NULL_ARGUMENT, "NULL model");
    CHECK_STATUS(smlp_export_c(model, NULL, "m"), SMLP_ERR_NULL_ARGUMENT, "NULL path");
    snprintf(path, sizeof path, "%s/no-such-folder/m.c", tmpdir);
    CHECK_STATUS(smlp_export_c(model, path, "m"), SMLP_ERR_IO, "a path in a missing folder");
    smlp_free(model);
}

/* Every generated object in one program: no symbol of one clashes with another's. */
static void test_link_together(void) {
    char command[1024], log[512], main_file[512];
    FILE *f;
    snprintf(main_file, sizeof main_file, "%s/main_all.c", tmpdir);
    snprintf(log, sizeof log, "%s/main_all.log", tmpdir);
    f = fopen(main_file, "w");
    if (!CHECK(f != NULL, "write main_all.c")) return;
    fprintf(f, "int main(void) { return 0; }\n");
    fclose(f);
    snprintf(command, sizeof command, "cd '%s' && %s -std=c99 -o main_all main_all.c $(ls *.o | grep -v 'strict\\|cxx') -lm",
             tmpdir, cc);
    CHECK(run(command, log) == 0, "all %d exported models link into one program", 2 * N_NETS);
}

int main(void) {
    char command[400];
    const char *base = getenv("TMPDIR");
    int n, t;
    if (getenv("CC") != NULL && *getenv("CC") != 0) cc = getenv("CC");
    if (getenv("CXX") != NULL && *getenv("CXX") != 0) cxx = getenv("CXX");
    snprintf(tmpdir, sizeof tmpdir, "%s/smlp-export-XXXXXX", base != NULL && *base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        printf("cannot create a scratch folder: %s\n", strerror(errno));
        check_failed_count++;
        return check_summary();
    }
    for (t = 0; t < 2; t++)
        for (n = 0; n < N_NETS; n++) export_case(&nets[n], t ? SMLP_FLOAT32 : SMLP_FLOAT64, t * N_NETS + n);
    test_link_together();
    test_arguments();
    snprintf(command, sizeof command, "rm -rf '%s'", tmpdir);
    if (system(command) != 0) printf("note: could not remove %s\n", tmpdir);
    return check_summary();
}
