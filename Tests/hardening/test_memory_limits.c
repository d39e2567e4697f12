/*
 * test_memory_limits.c - a model, batch or file too large for the memory the host
 * process has must give SMLP_ERR_OUT_OF_MEMORY (model unchanged and still usable),
 * never a trap or a kill; and repeated create/free, save/load and thread exits keep
 * memory flat.
 *
 * Each large-memory scenario runs in a forked child whose soft address-space limit
 * (RLIMIT_AS, what `ulimit -v` sets) is lowered to its current size plus a budget, so
 * the allocation that must fail fails at a known point whatever else the machine has.
 * A child that dies by a signal (a Swift runtime trap is SIGILL/SIGTRAP) is reported
 * with the signal (a Swift "Fatal error: failed to allocate" is SIGABRT, a trap
 * SIGILL or SIGTRAP); one that hangs is stopped by alarm() after 120 s. The wrapper
 * Tests/hardening/memory_limits.sh also runs the whole program under `ulimit -v` of
 * 2 GiB, as a host with a memory cap would.
 *
 *   create_1e9_params        smlp_create of ~1e9 parameters (8 GB float64, 4 GB float32)
 *   create_half_fits         parameters fit, the gradient does not: OOM, and what was
 *                            allocated is given back (address space returns)
 *   predict_4gib_workspace   smlp_predict of 65536 rows on a 1-4096-1 net (a 4.3 GB
 *                            inference workspace); also gradients, step and train at
 *                            that size; evaluate works in chunks and succeeds
 *   set_optimizer_no_room    Adam's two state buffers do not fit: OOM, old optimizer kept
 *   save_no_room             smlp_save_to_buffer of a 100M-parameter model (400 MB)
 *                            with 200 MB to spare: OK or OUT_OF_MEMORY; smlp_save of
 *                            it with 100 MB to spare: OK, since it streams the file
 *                            through a 64 KiB buffer (it once needed a 400 MB copy)
 *   load_no_room             smlp_load_from_buffer of an 80 MB image with no room
 *   gradcheck_no_room        smlp_gradcheck with room for its float64 twin but not for
 *                            the copies it makes
 *   train_no_room            smlp_train of 100M rows with no room for the row order
 *   create_free_100k         100,000 x (create, step, predict, free): resident memory
 *                            at 100k within 1 MiB of that at 1k
 *   save_load_10k            10,000 x (save_to_buffer, load_from_buffer, free): same
 *   thread_messages_1k       1,000 threads each leave an error message and exit: same
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "model_util.h"

#define MIB (1024.0 * 1024.0)
static const long FLAT_BOUND_PAGES = 256; /* 1 MiB of 4 KiB pages */

/* ---- Process memory ---------------------------------------------------------------------- */

static size_t vm_size_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL) return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) size = 0;
    fclose(f);
    return (size_t)size * (size_t)sysconf(_SC_PAGESIZE);
}

static long resident_pages(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL) return -1;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
    fclose(f);
    return (long)resident;
}

/* Lowers the soft address-space limit to what is mapped now plus `budget` bytes. */
static void limit_to(size_t budget) {
    struct rlimit r;
    getrlimit(RLIMIT_AS, &r);
    r.rlim_cur = vm_size_bytes() + budget;
    if (r.rlim_max != RLIM_INFINITY && r.rlim_cur > r.rlim_max) r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_AS, &r) != 0) perror("setrlimit");
}

/* ---- Children ------------------------------------------------------------------------------ */

/* A scenario returns 0 when every expectation held; it prints what did not. */
typedef int (*scenario)(void);

static int expect(int ok, const char *what) {
    if (!ok) printf("    FAILED: %s (last error: \"%s\")\n", what, smlp_last_error());
    fflush(stdout);
    return ok ? 0 : 1;
}

static void run_child(const char *name, scenario body) {
    pid_t pid;
    int status = 0;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        alarm(120);
        _exit(body());
    }
    if (pid < 0) {
        CHECK(0, "%s: fork failed: %s", name, strerror(errno));
        return;
    }
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
        CHECK(0, "%s: the process was killed by signal %d (%s)%s", name, WTERMSIG(status), strsignal(WTERMSIG(status)),
              WTERMSIG(status) == SIGILL || WTERMSIG(status) == SIGTRAP || WTERMSIG(status) == SIGABRT
                  ? " - a Swift runtime trap or fatal error (see the \"Fatal error\" line above) instead of "
                    "SMLP_ERR_OUT_OF_MEMORY"
              : WTERMSIG(status) == SIGALRM ? " - it did not finish in 120 s" : "");
    } else {
        CHECK(WEXITSTATUS(status) == 0, "%s: every expectation held (exit status %d)", name, WEXITSTATUS(status));
    }
}

static smlp_model *model_of(smlp_dtype dtype, size_t a, size_t b, size_t c, smlp_activation last) {
    size_t sizes[3];
    smlp_activation acts[2];
    sizes[0] = a;
    sizes[1] = b;
    sizes[2] = c;
    acts[0] = SMLP_TANH;
    acts[1] = last;
    return make_model(dtype, c ? 3 : 2, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 1);
}

/* ---- Scenarios -------------------------------------------------------------------------------- */

static int create_1e9_params(void) {
    int failures = 0, d;
    limit_to((size_t)1 << 30);
    for (d = 0; d < 2; d++) {
        smlp_config c;
        size_t sizes[2] = {1000, 1000000}; /* 1.001e9 parameters */
        smlp_activation acts[1] = {SMLP_IDENTITY};
        smlp_model *m = (smlp_model *)0x1;
        smlp_status st;
        smlp_config_init(&c);
        c.dtype = d ? SMLP_FLOAT32 : SMLP_FLOAT64;
        c.n_layer_sizes = 2;
        c.layer_sizes = sizes;
        c.activations = acts;
        st = smlp_create(&c, &m);
        printf("    create 1000-1000000 %s: %s \"%s\"\n", d ? "float32" : "float64", smlp_status_string(st),
               smlp_last_error());
        failures += expect(st == SMLP_ERR_OUT_OF_MEMORY, "smlp_create of 1e9 parameters gives OUT_OF_MEMORY");
        failures += expect(m == NULL, "*out_model is NULL after the failure");
        failures += expect(strstr(smlp_last_error(), "smlp_create") != NULL, "the message names smlp_create");
    }
    return failures;
}

static int create_half_fits(void) {
    size_t sizes[2] = {1000, 100000}; /* 1.001e8 parameters: 800 MB per float64 buffer */
    smlp_activation acts[1] = {SMLP_IDENTITY};
    smlp_model *m = (smlp_model *)0x1, *small;
    smlp_config c;
    smlp_status st;
    size_t before;
    int failures = 0, k;
    limit_to((size_t)1200 << 20);
    before = vm_size_bytes();
    smlp_config_init(&c);
    c.n_layer_sizes = 2;
    c.layer_sizes = sizes;
    c.activations = acts;
    for (k = 0; k < 3; k++) {
        st = smlp_create(&c, &m);
        failures += expect(st == SMLP_ERR_OUT_OF_MEMORY && m == NULL,
                           "parameters fit but the gradient does not: OUT_OF_MEMORY, *out_model NULL");
    }
    printf("    %s; address space %+.1f MiB after 3 tries\n", smlp_last_error(),
           ((double)vm_size_bytes() - (double)before) / MIB);
    /* (glibc may keep a 64 MiB arena it reserved while retrying: allow 128 MiB.) */
    failures += expect(vm_size_bytes() < before + ((size_t)128 << 20),
                       "the parameters allocated before the failure were given back");
    small = model_of(SMLP_FLOAT64, 3, 4, 1, SMLP_IDENTITY);
    failures += expect(small != NULL, "a small model can still be created");
    smlp_free(small);
    return failures;
}

static int predict_4gib_workspace(void) {
    enum { ROWS = 65536 };
    smlp_model *m = model_of(SMLP_FLOAT64, 1, 4096, 1, SMLP_IDENTITY);
    double *x = calloc(ROWS, sizeof(double)), *y = calloc(ROWS, sizeof(double)), *out = malloc(ROWS * sizeof(double));
    void *before;
    smlp_dataset d;
    smlp_train_options o;
    smlp_status st;
    double loss = 0, acc = 0;
    int failures = 0, i, untouched = 1;
    if (m == NULL || x == NULL || y == NULL || out == NULL) return expect(0, "setup");
    for (i = 0; i < ROWS; i++) {
        x[i] = (i % 100) / 50.0 - 1;
        y[i] = x[i] * 0.5;
        out[i] = 12345.0;
    }
    smlp_predict(m, SMLP_FLOAT64, x, 8, 1, out + ROWS - 8, 1); /* warm up at 8 rows */
    for (i = 0; i < 8; i++) out[ROWS - 8 + i] = 12345.0;
    before = params_snapshot(m);
    limit_to((size_t)1 << 30);
    st = smlp_predict(m, SMLP_FLOAT64, x, ROWS, 1, out, 1);
    printf("    predict 65536 rows: %s \"%s\"\n", smlp_status_string(st), smlp_last_error());
    failures += expect(st == SMLP_ERR_OUT_OF_MEMORY, "predict needing a 4.3 GB workspace gives OUT_OF_MEMORY");
    for (i = 0; i < ROWS; i++) untouched &= out[i] == 12345.0;
    failures += expect(untouched, "out was not written");
    failures += expect(smlp_predict(m, SMLP_FLOAT64, x, 8, 1, out, 1) == SMLP_OK, "a small predict still works");
    d.dtype = SMLP_FLOAT64;
    d.n_rows = ROWS;
    d.n_inputs = 1;
    d.x = x;
    d.n_outputs = 1;
    d.y = y;
    d.labels = NULL;
    st = smlp_gradients(m, &d, &loss, NULL, 0);
    failures += expect(st == SMLP_ERR_OUT_OF_MEMORY, "gradients at 65536 rows gives OUT_OF_MEMORY");
    st = smlp_step(m, &d, &loss);
    failures += expect(st == SMLP_ERR_OUT_OF_MEMORY, "step at 65536 rows gives OUT_OF_MEMORY");
    smlp_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = ROWS;
    st = smlp_train(m, &d, &o, NULL);
    failures += expect(st == SMLP_ERR_OUT_OF_MEMORY, "train with 65536-row batches gives OUT_OF_MEMORY");
    failures += expect(params_equal(m, before), "the parameters are unchanged after the three failures");
    st = smlp_evaluate(m, &d, &loss, &acc);
    failures += expect(st == SMLP_OK && loss == loss, "evaluate of 65536 rows works (it runs in chunks)");
    d.n_rows = 64;
    failures += expect(smlp_step(m, &d, &loss) == SMLP_OK, "a 64-row step still works");
    free(before);
    smlp_free(m);
    free(x);
    free(y);
    free(out);
    return failures;
}

static int set_optimizer_no_room(void) {
    smlp_model *m = model_of(SMLP_FLOAT64, 1000, 40000, 0, SMLP_IDENTITY); /* 40M params, 640 MB */
    smlp_optimizer_config adam;
    size_t n = 0;
    int failures = 0;
    if (m == NULL) return expect(0, "setup: create a 40M-parameter model");
    limit_to((size_t)500 << 20);
    smlp_optimizer_config_init(&adam, SMLP_ADAM);
    failures += expect(smlp_set_optimizer(m, &adam) == SMLP_ERR_OUT_OF_MEMORY,
                       "Adam's 640 MB of state in a 500 MB budget gives OUT_OF_MEMORY");
    (void)n;
    smlp_free(m);
    return failures;
}

static int save_no_room(void) {
    smlp_model *m = model_of(SMLP_FLOAT32, 1000, 100000, 0, SMLP_IDENTITY); /* 100M params: 400 MB each */
    size_t n = 0;
    smlp_status st;
    void *buffer;
    int failures = 0;
    char path[64];
    if (m == NULL) return expect(0, "setup: create a 100M-parameter model");
    st = smlp_save_to_buffer(m, NULL, 0, &n);
    printf("    size query: %s, %zu bytes\n", smlp_status_string(st), n);
    buffer = malloc(n ? n : 1); /* the caller's buffer is there; the library's copy is not */
    if (buffer == NULL) return expect(0, "setup: the caller's buffer");
    limit_to((size_t)200 << 20);
    st = smlp_save_to_buffer(m, buffer, n, &n);
    printf("    save_to_buffer with 200 MB to spare: %s \"%s\"\n", smlp_status_string(st), smlp_last_error());
    failures += expect(st == SMLP_OK || st == SMLP_ERR_OUT_OF_MEMORY, "save_to_buffer gives OK or OUT_OF_MEMORY");
    free(buffer);
    buffer = NULL;
    limit_to((size_t)100 << 20);
    snprintf(path, sizeof path, "/tmp/smlp_memlimit_%d.smlp", (int)getpid());
    st = smlp_save(m, path);
    printf("    smlp_save of %zu bytes with 100 MB to spare: %s \"%s\"\n", n, smlp_status_string(st), smlp_last_error());
    {
        struct stat info;
        failures += expect(st == SMLP_OK && stat(path, &info) == 0 && (size_t)info.st_size == n,
                           "smlp_save streams: OK, and the file has every byte");
    }
    unlink(path);
    smlp_free(m);
    return failures;
}

static int load_no_room(void) {
    smlp_model *m = model_of(SMLP_FLOAT32, 1000, 20000, 0, SMLP_IDENTITY), *again = (smlp_model *)0x1;
    size_t n = 0;
    void *image;
    smlp_status st;
    int failures = 0;
    if (m == NULL) return expect(0, "setup");
    smlp_save_to_buffer(m, NULL, 0, &n);
    image = malloc(n);
    if (image == NULL || smlp_save_to_buffer(m, image, n, &n) != SMLP_OK) return expect(0, "setup: save");
    smlp_free(m);
    limit_to((size_t)100 << 20);
    st = smlp_load_from_buffer(image, n, &again);
    printf("    load of %.0f MB with 100 MB to spare: %s \"%s\"\n", n / 1e6, smlp_status_string(st), smlp_last_error());
    failures += expect(st == SMLP_ERR_OUT_OF_MEMORY && again == NULL, "load gives OUT_OF_MEMORY and NULL");
    free(image);
    return failures;
}

static int gradcheck_no_room(void) {
    /* 40M float64 parameters: the model is 640 MB, its float64 twin another 640 MB
     * (allowed: 800 MB budget), the copies gradcheck then makes another 320 MB+. */
    smlp_model *m = model_of(SMLP_FLOAT64, 1000, 40000, 0, SMLP_IDENTITY);
    double x[1000] = {0}, y[40000] = {0}, ew[1], eb[1];
    smlp_dataset d;
    smlp_status st;
    int failures = 0;
    if (m == NULL) return expect(0, "setup");
    d.dtype = SMLP_FLOAT64;
    d.n_rows = 1;
    d.n_inputs = 1000;
    d.x = x;
    d.n_outputs = 40000;
    d.y = y;
    d.labels = NULL;
    limit_to((size_t)800 << 20);
    st = smlp_gradcheck(m, &d, 1e-6, ew, eb, 1);
    printf("    gradcheck of 40M parameters with 800 MB to spare: %s \"%s\"\n", smlp_status_string(st),
           smlp_last_error());
    failures += expect(st == SMLP_ERR_OUT_OF_MEMORY, "gradcheck gives OUT_OF_MEMORY");
    smlp_free(m);
    return failures;
}

static int train_no_room(void) {
    /* 100M rows of 1 float input and 1 float target (800 MB of the caller's data, in
     * calloc'd pages that reading does not make resident); the row order alone would
     * need 800 MB more; 300 MB are left. */
    const size_t rows = 100000000;
    smlp_model *m = model_of(SMLP_FLOAT32, 1, 2, 1, SMLP_IDENTITY);
    float *x = calloc(rows, sizeof(float)), *y = calloc(rows, sizeof(float));
    smlp_dataset d;
    smlp_train_options o;
    smlp_status st;
    void *before;
    int failures = 0;
    if (m == NULL || x == NULL || y == NULL) return expect(0, "setup");
    before = params_snapshot(m);
    d.dtype = SMLP_FLOAT32;
    d.n_rows = rows;
    d.n_inputs = 1;
    d.x = x;
    d.n_outputs = 1;
    d.y = y;
    d.labels = NULL;
    smlp_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = 1 << 20;
    limit_to((size_t)300 << 20);
    st = smlp_train(m, &d, &o, NULL);
    printf("    train on 100M rows with 300 MB to spare: %s \"%s\"\n", smlp_status_string(st), smlp_last_error());
    failures += expect(st == SMLP_ERR_OUT_OF_MEMORY, "train gives OUT_OF_MEMORY");
    failures += expect(params_equal(m, before), "the parameters are unchanged");
    free(before);
    smlp_free(m);
    free(x);
    free(y);
    return failures;
}

/* ---- Flat memory -------------------------------------------------------------------------- */

static const size_t small_sizes[3] = {4, 8, 3};
static const smlp_activation small_acts[2] = {SMLP_RELU, SMLP_SOFTMAX};

static int create_free_100k(void) {
    double x[16 * 4], out[16 * 3];
    int32_t labels[16];
    smlp_dataset d;
    long at1k = 0, at50k = 0, at100k;
    int k, failures = 0;
    fill_uniform(x, 64, 5, -1, 1);
    for (k = 0; k < 16; k++) labels[k] = k % 3;
    d.dtype = SMLP_FLOAT64;
    d.n_rows = 16;
    d.n_inputs = 4;
    d.x = x;
    d.n_outputs = 3;
    d.y = NULL;
    d.labels = labels;
    for (k = 1; k <= 100000; k++) {
        smlp_model *m = make_model(k % 2 ? SMLP_FLOAT64 : SMLP_FLOAT32, 3, small_sizes, small_acts,
                                   SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, (uint64_t)k);
        if (m == NULL) return expect(0, "create");
        if (k % 2) {
            if (smlp_step(m, &d, NULL) != SMLP_OK || smlp_predict(m, SMLP_FLOAT64, x, 16, 4, out, 3) != SMLP_OK)
                failures++;
        }
        smlp_free(m);
        if (k == 1000) at1k = resident_pages();
        if (k == 50000) at50k = resident_pages();
    }
    at100k = resident_pages();
    printf("    resident: %.2f MiB at 1k, %+ld pages at 50k, %+ld pages at 100k\n", at1k * 4096 / MIB, at50k - at1k,
           at100k - at1k);
    failures += expect(at100k - at1k <= FLAT_BOUND_PAGES, "100k create/step/predict/free: resident memory grew < 1 MiB");
    return failures;
}

static int save_load_10k(void) {
    smlp_model *m = make_model(SMLP_FLOAT64, 3, small_sizes, small_acts, SMLP_SOFTMAX_CROSS_ENTROPY,
                               SMLP_REDUCTION_MEAN, 3);
    smlp_optimizer_config adam;
    unsigned char image[4096];
    size_t n = 0;
    long at1k = 0, at10k;
    int k, failures = 0;
    if (m == NULL) return expect(0, "create");
    smlp_optimizer_config_init(&adam, SMLP_ADAM);
    smlp_set_optimizer(m, &adam);
    smlp_set_metadata(m, "feature names", "a,b,c,d");
    {
        double mean[4] = {0, 1, 2, 3}, sd[4] = {1, 1, 2, 2};
        smlp_set_scaler(m, mean, sd, 4);
    }
    for (k = 1; k <= 10000; k++) {
        smlp_model *again = NULL;
        if (smlp_save_to_buffer(m, image, sizeof image, &n) != SMLP_OK ||
            smlp_load_from_buffer(image, n, &again) != SMLP_OK) {
            failures++;
            break;
        }
        smlp_free(m);
        m = again;
        if (k == 1000) at1k = resident_pages();
    }
    at10k = resident_pages();
    printf("    resident: %.2f MiB at 1k, %.2f MiB at 10k (%+ld pages); image %zu bytes\n", at1k * 4096 / MIB,
           at10k * 4096 / MIB, at10k - at1k, n);
    failures += expect(failures == 0, "every save/load succeeded");
    failures += expect(at10k - at1k <= FLAT_BOUND_PAGES, "10k save/load/free: resident memory grew < 1 MiB");
    smlp_free(m);
    return failures;
}

static void *fail_once(void *unused) {
    (void)unused;
    smlp_set_num_threads(0); /* fails: leaves this thread a message */
    return strstr(smlp_last_error(), "smlp_set_num_threads") ? NULL : (void *)1;
}

static int thread_messages_1k(void) {
    long at100 = 0, at1k;
    int k, failures = 0;
    for (k = 1; k <= 1000; k++) {
        pthread_t t;
        void *result = NULL;
        if (pthread_create(&t, NULL, fail_once, NULL) != 0) return expect(0, "pthread_create");
        pthread_join(t, &result);
        failures += result != NULL;
        if (k == 100) at100 = resident_pages();
    }
    at1k = resident_pages();
    printf("    resident: %+ld pages between thread 100 and thread 1000\n", at1k - at100);
    failures += expect(at1k - at100 <= FLAT_BOUND_PAGES, "1000 threads with error messages: resident memory flat");
    return failures;
}

struct named {
    const char *name;
    scenario body;
};

int main(int argc, char **argv) {
    static const struct named all[] = {
        {"create_1e9_params", create_1e9_params},
        {"create_half_fits", create_half_fits},
        {"predict_4gib_workspace", predict_4gib_workspace},
        {"set_optimizer_no_room", set_optimizer_no_room},
        {"save_no_room", save_no_room},
        {"load_no_room", load_no_room},
        {"gradcheck_no_room", gradcheck_no_room},
        {"train_no_room", train_no_room},
        {"create_free_100k", create_free_100k},
        {"save_load_10k", save_load_10k},
        {"thread_messages_1k", thread_messages_1k},
    };
    size_t i;
    struct rlimit r;
    smlp_set_num_threads(1); /* no OpenBLAS pool threads across fork() */
    getrlimit(RLIMIT_AS, &r);
    if (r.rlim_cur == RLIM_INFINITY) printf("address space: unlimited (each scenario sets its own limit)\n");
    else printf("address space: limited to %.0f MiB (each scenario lowers it further)\n", r.rlim_cur / MIB);
    for (i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (argc > 1 && strcmp(argv[1], all[i].name) != 0) continue;
        printf("== %s\n", all[i].name);
        run_child(all[i].name, all[i].body);
    }
    return check_summary();
}
