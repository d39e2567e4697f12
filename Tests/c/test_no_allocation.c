/*
 * test_no_allocation.c - the header's promise "after the first call at a given batch
 * size, smlp_predict, smlp_gradients and smlp_step allocate no heap memory".
 *
 * This program defines malloc, calloc, realloc, free, posix_memalign, aligned_alloc,
 * memalign, valloc and pvalloc itself. A definition in the executable takes
 * precedence for every shared library too (the dynamic linker searches the
 * executable first), so libswiftmlp's calls - the statically linked Swift runtime's
 * included - and OpenBLAS's land here. Each forwards to glibc's __libc_* function
 * and, while `counting` is set, counts the call by who made it (its return address
 * lies in libswiftmlp, in libopenblas, or elsewhere), so that a failure says where
 * the allocation comes from. A positive control proves that a library call which
 * must allocate (smlp_create, a larger batch) is seen. smlp_train with L-BFGS is
 * measured between its callbacks: whole iterations after the first make no heap call;
 * and, failing each of its calloc calls in turn, it is shown to roll back from every
 * allocation failure, the mid-run one included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

/* ---- Interposed allocator ------------------------------------------------------------- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

/* Who made a heap call: by the address it returns to. */
enum caller { FROM_SWIFTMLP, FROM_OPENBLAS, FROM_ELSEWHERE, N_CALLERS };
static const char *const caller_names[N_CALLERS] = {"libswiftmlp", "libopenblas", "elsewhere"};

struct range { uintptr_t begin, end; };
static struct range ranges[N_CALLERS - 1][8]; /* loadable segments of the two libraries */
static int n_ranges[N_CALLERS - 1];

static volatile int counting = 0;
static long calls_by[N_CALLERS]; /* allocations and frees while counting */

static int note_library(struct dl_phdr_info *info, size_t size, void *unused) {
    int which = -1, i;
    (void)size;
    (void)unused;
    if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libswiftmlp") != NULL) which = FROM_SWIFTMLP;
    if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libopenblas") != NULL) which = FROM_OPENBLAS;
    if (which < 0) return 0;
    for (i = 0; i < info->dlpi_phnum && n_ranges[which] < 8; i++) {
        if (info->dlpi_phdr[i].p_type != PT_LOAD) continue;
        ranges[which][n_ranges[which]].begin = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
        ranges[which][n_ranges[which]].end = ranges[which][n_ranges[which]].begin + info->dlpi_phdr[i].p_memsz;
        n_ranges[which]++;
    }
    return 0;
}

static void count_call(void *return_address) {
    uintptr_t at = (uintptr_t)return_address;
    int which, i, who = FROM_ELSEWHERE;
    for (which = 0; which < N_CALLERS - 1; which++) {
        for (i = 0; i < n_ranges[which]; i++) {
            if (at >= ranges[which][i].begin && at < ranges[which][i].end) who = which;
        }
    }
    __sync_fetch_and_add(&calls_by[who], 1);
}

#define COUNT() do { if (counting) count_call(__builtin_return_address(0)); } while (0)

void *malloc(size_t size) {
    COUNT();
    return __libc_malloc(size);
}

/* Fault injection for the rollback test: libswiftmlp's calloc calls (every engine
 * buffer: parameters, workspaces, snapshots, L-BFGS history) are counted while
 * `calloc_tracking` is set, and the `calloc_fail_at`-th one returns NULL. */
static volatile int calloc_tracking = 0;
static volatile long calloc_seen = 0, calloc_fail_at = 0;

static int from_swiftmlp(void *return_address) {
    uintptr_t at = (uintptr_t)return_address;
    int i;
    for (i = 0; i < n_ranges[FROM_SWIFTMLP]; i++) {
        if (at >= ranges[FROM_SWIFTMLP][i].begin && at < ranges[FROM_SWIFTMLP][i].end) return 1;
    }
    return 0;
}

void *calloc(size_t count, size_t size) {
    COUNT();
    if (calloc_tracking && from_swiftmlp(__builtin_return_address(0))) {
        if (__sync_add_and_fetch(&calloc_seen, 1) == calloc_fail_at) {
            errno = ENOMEM;
            return NULL;
        }
    }
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    COUNT();
    return __libc_realloc(pointer, size);
}

void free(void *pointer) {
    if (pointer != NULL) COUNT();
    __libc_free(pointer);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    void *memory;
    COUNT();
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment % sizeof(void *) != 0) return EINVAL;
    memory = __libc_memalign(alignment, size);
    if (memory == NULL) return ENOMEM;
    *out = memory;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    COUNT();
    return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    COUNT();
    return __libc_memalign(alignment, size);
}

void *valloc(size_t size) {
    COUNT();
    return __libc_valloc(size);
}

void *pvalloc(size_t size) {
    COUNT();
    return __libc_pvalloc(size);
}

static void start_counting(void) {
    int i;
    for (i = 0; i < N_CALLERS; i++) __sync_lock_test_and_set(&calls_by[i], 0);
    counting = 1;
    __sync_synchronize();
}

/* Stops counting; returns the total, describes who made the calls, and stores how
 * many came from OpenBLAS in *from_openblas (if not NULL). */
static long stop_counting_described(char *text, size_t capacity, long *from_openblas) {
    long total = 0, n[N_CALLERS];
    int i;
    counting = 0;
    __sync_synchronize();
    for (i = 0; i < N_CALLERS; i++) total += n[i] = __sync_fetch_and_add(&calls_by[i], 0);
    if (text != NULL) {
        snprintf(text, capacity, "%ld heap calls (%s %ld, %s %ld, %s %ld)", total, caller_names[0], n[0],
                 caller_names[1], n[1], caller_names[2], n[2]);
    }
    if (from_openblas != NULL) *from_openblas = n[FROM_OPENBLAS];
    return total;
}

static long stop_counting(void) { return stop_counting_described(NULL, 0, NULL); }

/* ---- Sanity: is anything caught at all? ------------------------------------------------ */

static void test_interposition_works(void) {
    const size_t sizes[3] = {8, 16, 4};
    const smlp_activation acts[2] = {SMLP_RELU, SMLP_SOFTMAX};
    void *volatile sink;
    smlp_model *model;
    long calls;

    start_counting();
    sink = malloc(24);
    free(sink);
    calls = stop_counting();
    CHECK(calls == 2, "an intentional malloc and free in the region are counted (%ld calls)", calls);

    start_counting();
    model = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 1);
    calls = stop_counting();
    CHECK(model != NULL && calls > 0,
          "smlp_create's allocations inside the library are seen (%ld calls): interposition works", calls);
    if (model != NULL) {
        double x[64 * 8] = {0}, out[64 * 4];
        smlp_predict(model, SMLP_FLOAT64, x, 32, 8, out, 4);
        start_counting();
        smlp_predict(model, SMLP_FLOAT64, x, 64, 8, out, 4);
        calls = stop_counting();
        CHECK(calls > 0, "a predict at a new, larger batch size grows the workspace: seen (%ld calls)", calls);
    }
    smlp_free(model);
}

/* ---- The promise ------------------------------------------------------------------------ */

enum targets { DENSE_ONE_HOT, LABELS, DENSE_MSE };
static const char *const target_names[3] = {"one-hot y (softmax CE)", "labels (softmax CE)", "dense y (MSE)"};

enum { N_IN = 8, N_HID = 16, N_OUT = 4, BIG = 32, SMALL = 16, REPEAT = 100, MAX_WIDTH = 64 };

/* A tiny network and a mid-sized one: matrix products of a few thousand and of tens
 * of thousands of multiply-adds take different paths through the matrix code. */
static const size_t shapes[2][3] = {{N_IN, N_HID, N_OUT}, {32, 64, 10}};

/* Heap calls OpenBLAS made inside the measured calls, per dtype (0: float32). They
 * are judged once per dtype at the end, so one root cause is one failure. */
static long openblas_calls[2];

/* Checks one measured region: nothing but OpenBLAS may have touched the heap. */
static void check_region(const char *name, const char *function, long total, long from_openblas,
                         const char *text, int f32, int line) {
    check_record(total - from_openblas == 0, __FILE__, line, text,
                 "%s: %s x%d at %d and %d rows: libswiftmlp (with its Swift runtime) makes no heap call",
                 name, function, 2 * REPEAT, BIG, SMALL);
    openblas_calls[f32 ? 0 : 1] += from_openblas;
}

static void test_no_allocation(const size_t *sizes, smlp_dtype dtype, smlp_optimizer kind, enum targets targets,
                               int scaler) {
    const size_t n_in = sizes[0], n_out = sizes[2];
    const smlp_activation softmax_acts[2] = {SMLP_RELU, SMLP_SOFTMAX}, mse_acts[2] = {SMLP_TANH, SMLP_SIGMOID};
    const int f32 = dtype == SMLP_FLOAT32;
    const size_t scalar = f32 ? sizeof(float) : sizeof(double);
    smlp_model *model = make_model(dtype, 3, sizes, targets == DENSE_MSE ? mse_acts : softmax_acts,
                                   targets == DENSE_MSE ? SMLP_MSE : SMLP_SOFTMAX_CROSS_ENTROPY,
                                   SMLP_REDUCTION_MEAN, 5);
    size_t n_params = smlp_param_count(model), i;
    double xd[BIG * MAX_WIDTH], yd[BIG * MAX_WIDTH]; /* every width in shapes is <= MAX_WIDTH */
    void *x = malloc(BIG * n_in * scalar), *y = malloc(BIG * n_out * scalar), *out = malloc(BIG * n_out * scalar);
    void *grad = malloc(n_params * scalar);
    int32_t labels[BIG];
    smlp_optimizer_config opt;
    smlp_dataset big, small;
    long calls, from_openblas;
    char text[160];
    int r, failures = 0;
    char name[160];

    snprintf(name, sizeof name, "%zu-%zu-%zu, %s, %s, %s%s", sizes[0], sizes[1], sizes[2],
             f32 ? "float32" : "float64", kind == SMLP_SGD ? "SGD momentum" : "Adam", target_names[targets], scaler ? ", scaler" : "");
    if (!CHECK(model != NULL && x && y && out && grad, "%s: set up", name)) return;

    fill_uniform(xd, BIG * n_in, 3, -2, 2);
    for (i = 0; i < BIG; i++) labels[i] = (int32_t)(i % n_out);
    for (i = 0; i < BIG * n_out; i++) {
        yd[i] = targets == DENSE_MSE ? 0.25 : (double)(labels[i / n_out] == (int32_t)(i % n_out));
    }
    for (i = 0; i < BIG * n_in; i++) {
        if (f32) ((float *)x)[i] = (float)xd[i]; else ((double *)x)[i] = xd[i];
    }
    for (i = 0; i < BIG * n_out; i++) {
        if (f32) ((float *)y)[i] = (float)yd[i]; else ((double *)y)[i] = yd[i];
    }

    smlp_optimizer_config_init(&opt, kind);
    if (kind == SMLP_SGD) opt.momentum = 0.9;
    CHECK_STATUS(smlp_set_optimizer(model, &opt), SMLP_OK, "%s: set optimizer", name);
    if (scaler) CHECK_STATUS(smlp_fit_scaler(model, dtype, x, BIG, n_in), SMLP_OK, "%s: fit scaler", name);

    big.dtype = dtype;
    big.n_rows = BIG;
    big.n_inputs = n_in;
    big.x = x;
    big.n_outputs = n_out;
    big.y = targets == LABELS ? NULL : y;
    big.labels = targets == LABELS ? labels : NULL;
    small = big;
    small.n_rows = SMALL;

    /* Warm-up: one call each at the larger batch size. */
    failures += smlp_predict(model, dtype, x, BIG, n_in, out, n_out) != SMLP_OK;
    failures += smlp_gradients(model, &big, NULL, grad, n_params) != SMLP_OK;
    failures += smlp_step(model, &big, NULL) != SMLP_OK;
    CHECK(failures == 0, "%s: warm-up calls succeed", name);

    start_counting();
    for (r = 0; r < REPEAT; r++) {
        failures += smlp_predict(model, dtype, x, BIG, n_in, out, n_out) != SMLP_OK;
        failures += smlp_predict(model, dtype, x, SMALL, n_in, out, n_out) != SMLP_OK;
    }
    calls = stop_counting_described(text, sizeof text, &from_openblas);
    check_region(name, "smlp_predict", calls, from_openblas, text, f32, __LINE__);
    start_counting();
    for (r = 0; r < REPEAT; r++) {
        failures += smlp_gradients(model, &big, NULL, grad, n_params) != SMLP_OK;
        failures += smlp_gradients(model, &small, NULL, grad, n_params) != SMLP_OK;
    }
    calls = stop_counting_described(text, sizeof text, &from_openblas);
    check_region(name, "smlp_gradients", calls, from_openblas, text, f32, __LINE__);
    start_counting();
    for (r = 0; r < REPEAT; r++) {
        failures += smlp_step(model, &big, NULL) != SMLP_OK;
        failures += smlp_step(model, &small, NULL) != SMLP_OK;
    }
    calls = stop_counting_described(text, sizeof text, &from_openblas);
    check_region(name, "smlp_step", calls, from_openblas, text, f32, __LINE__);

    CHECK(failures == 0, "%s: all %d measured calls succeed", name, 6 * REPEAT);
    free(x);
    free(y);
    free(out);
    free(grad);
    smlp_free(model);
}

/* ---- Concurrent predictions on one model ------------------------------------------------- */

/* The Threads section allows any number of concurrent smlp_predict calls on one model,
 * and the Memory section makes no exception for them. Two threads predict at once,
 * after warm-up; counting covers only the time both are inside their loops. */
struct predictor {
    smlp_model *model;
    const float *x;
    float out[BIG * N_OUT];
    int failures;
};

static volatile int ready = 0, go = 0, done = 0;

static void *predict_loop(void *arg) {
    struct predictor *p = arg;
    int r;
    __sync_fetch_and_add(&ready, 1);
    while (!go) { /* spin until both threads are running */ }
    for (r = 0; r < 20000; r++) {
        p->failures += smlp_predict(p->model, SMLP_FLOAT32, p->x, BIG, N_IN, p->out, N_OUT) != SMLP_OK;
    }
    __sync_fetch_and_add(&done, 1);
    return NULL;
}

static void test_concurrent_predict(void) {
    const size_t sizes[3] = {N_IN, N_HID, N_OUT};
    const smlp_activation acts[2] = {SMLP_RELU, SMLP_SOFTMAX};
    smlp_model *model = make_model(SMLP_FLOAT32, 3, sizes, acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 2);
    static float x[BIG * N_IN];
    static struct predictor a, b;
    pthread_t ta, tb;
    long calls;
    char text[160];
    if (!CHECK(model != NULL, "concurrent predict: create")) return;
    fill_uniform_f(x, BIG * N_IN, 4, -1, 1);
    a.model = b.model = model;
    a.x = b.x = x;
    /* Warm-up is per level of concurrency: a first concurrent round lets each thread's
     * prediction slot size its workspace (the header: up to 8 concurrent predictions
     * per model run allocation-free after warm-up). Only the second round counts. */
    pthread_create(&ta, NULL, predict_loop, &a);
    pthread_create(&tb, NULL, predict_loop, &b);
    while (ready < 2) { /* wait until both threads exist */ }
    go = 1;
    while (done < 2) { /* wait for both loops */ }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ready = 0;
    go = 0;
    done = 0;
    pthread_create(&ta, NULL, predict_loop, &a);
    pthread_create(&tb, NULL, predict_loop, &b);
    while (ready < 2) { /* wait until both threads exist */ }
    start_counting();
    go = 1;
    while (done < 2) { /* wait for both loops */ }
    calls = stop_counting_described(text, sizeof text, NULL);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.failures == 0 && b.failures == 0, "concurrent predict: every call succeeds");
    CHECK(calls == 0,
          "concurrent predict: 2 threads x 20000 float32 predictions at a warmed-up batch size made %s "
          "after a concurrent warm-up round", text);
    smlp_free(model);
}

/* ---- Where threaded OpenBLAS allocates --------------------------------------------------- */

/* OpenBLAS 0.3.21 runs a product of more than 262144 multiply-adds (m n k) on its
 * threads when it has more than one, and its threaded driver (gemm_driver in
 * driver/level3/level3_thread.c) mallocs MAX_CPU_NUMBER job slots on every such call
 * (512 KiB with Debian's 64) and frees them after: one malloc and one free a product,
 * and exit(1) if the malloc fails. With one thread it allocates nothing. A 256-512-256
 * model at 16 rows has products of 2 097 152 multiply-adds, above that threshold and
 * above the 10^6 below which AVX-512 CPUs use the small-matrix kernels instead, so the
 * counts below hold on every x86-64 CPU: predict does 2 products, a plain-SGD step 5
 * (2 forward, dW and dA of the last layer, dW of the first). */
static void test_threaded_boundary(void) {
    static const size_t sizes[3] = {256, 512, 256};
    static const smlp_activation acts[2] = {SMLP_RELU, SMLP_IDENTITY};
    enum { ROWS = 16, REPS = 5 };
    const int original = smlp_get_num_threads();
    int threads, dtype, i;
    for (dtype = 0; dtype < 2; dtype++) {
        const smlp_dtype dt = dtype ? SMLP_FLOAT64 : SMLP_FLOAT32;
        const size_t bytes = dtype ? sizeof(double) : sizeof(float);
        smlp_model *model = make_model(dt, 3, sizes, acts, SMLP_MSE, SMLP_REDUCTION_MEAN, 3);
        void *x = calloc(ROWS * 256, bytes), *y = calloc(ROWS * 256, bytes), *out = calloc(ROWS * 256, bytes);
        smlp_dataset d = dense_set(dt, ROWS, 256, x, 256, y);
        if (!CHECK(model != NULL && x != NULL && y != NULL && out != NULL, "threaded boundary: setup")) goto next;
        for (threads = 1; threads <= 2; threads++) {
            long total, from_openblas, expected;
            char text[256];
            CHECK_STATUS(smlp_set_num_threads(threads), SMLP_OK, "%d BLAS threads", threads);
            if (smlp_get_num_threads() != threads) {
                printf("note: OpenBLAS runs %d threads, not %d: boundary not measured\n", smlp_get_num_threads(),
                       threads);
                continue;
            }
            smlp_predict(model, dt, x, ROWS, 256, out, 256); /* warm-up */
            smlp_step(model, &d, NULL);
            start_counting();
            for (i = 0; i < REPS; i++) smlp_predict(model, dt, x, ROWS, 256, out, 256);
            total = stop_counting_described(text, sizeof text, &from_openblas);
            expected = threads == 1 ? 0 : 2L * 2 * REPS;
            CHECK(total == from_openblas && from_openblas == expected,
                  "%s, %d thread(s): %d predicts of 16 rows made %s; expected %ld from OpenBLAS (one malloc and one "
                  "free per threaded product) and none from libswiftmlp",
                  dtype ? "float64" : "float32", threads, REPS, text, expected);
            start_counting();
            for (i = 0; i < REPS; i++) smlp_step(model, &d, NULL);
            total = stop_counting_described(text, sizeof text, &from_openblas);
            expected = threads == 1 ? 0 : 2L * 5 * REPS;
            CHECK(total == from_openblas && from_openblas == expected,
                  "%s, %d thread(s): %d steps of 16 rows made %s; expected %ld from OpenBLAS",
                  dtype ? "float64" : "float32", threads, REPS, text, expected);
        }
    next:
        free(x);
        free(y);
        free(out);
        smlp_free(model);
    }
    smlp_set_num_threads(original);
}

/* ---- smlp_train with L-BFGS: no iteration after the first allocates ------------------- */

struct lbfgs_count { long total, from_openblas; char text[160]; size_t last; };

/* Counts the heap calls made between the end of iteration 2 and the end of the last
 * one: whole iterations (line searches, history updates, validation). */
static int count_iterations(const smlp_epoch_report *report, void *user_data) {
    struct lbfgs_count *c = user_data;
    if (report->epoch == 2) start_counting();
    if (report->epoch == c->last) c->total = stop_counting_described(c->text, sizeof c->text, &c->from_openblas);
    return 0;
}

static void test_lbfgs_no_allocation(smlp_dtype dtype) {
    const size_t sizes[3] = {32, 64, 10};
    const smlp_activation acts[2] = {SMLP_RELU, SMLP_SOFTMAX};
    const int f32 = dtype == SMLP_FLOAT32;
    enum { ROWS = 200, VROWS = 300 };
    static double xd[VROWS * 32];
    static float xf[VROWS * 32];
    static int32_t labels[VROWS];
    smlp_model *model = make_model(dtype, 3, sizes, acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 9);
    smlp_dataset train, validation;
    smlp_train_options o;
    smlp_train_summary s;
    struct lbfgs_count c;
    size_t i;
    if (!CHECK(model != NULL, "L-BFGS model")) return;
    fill_uniform(xd, VROWS * 32, 21, -2, 2);
    for (i = 0; i < VROWS * 32; i++) xf[i] = (float)xd[i];
    for (i = 0; i < VROWS; i++) labels[i] = (int32_t)((xd[i * 32] > 0) + 2 * (xd[i * 32 + 1] > 0));
    train = dense_set(dtype, ROWS, 32, f32 ? (const void *)xf : (const void *)xd, 10, NULL);
    train.labels = labels;
    /* A validation set larger than the training set: its workspace grows in iteration 1. */
    validation = dense_set(dtype, VROWS, 32, f32 ? (const void *)xf : (const void *)xd, 10, NULL);
    validation.labels = labels;
    smlp_train_options_init(&o);
    o.method = SMLP_TRAIN_LBFGS;
    o.epochs = 12;
    o.tolerance_grad = 0;
    o.tolerance_change = 0;
    o.validation = &validation;
    o.callback = count_iterations;
    o.user_data = &c;
    memset(&c, 0, sizeof c);
    c.total = -1;
    c.last = 12;
    CHECK_STATUS(smlp_train(model, &train, &o, &s), SMLP_OK, "L-BFGS, %s", f32 ? "float32" : "float64");
    CHECK(s.epochs_run == 12, "all 12 iterations ran (%zu)", s.epochs_run);
    check_record(c.total >= 0 && c.total - c.from_openblas == 0, __FILE__, __LINE__, c.text,
                 "L-BFGS %s: iterations 3-12 (line searches, history, validation) make no heap call from "
                 "libswiftmlp", f32 ? "float32" : "float64");
    openblas_calls[f32 ? 0 : 1] += c.from_openblas;
    smlp_free(model);
}

/* smlp_train with L-BFGS is all or nothing at every allocation it makes: each of its
 * calloc calls in turn fails (the snapshot, the workspace, the history buffers, the
 * best-parameters copy, and, mid-run, the validation workspace that grows in
 * iteration 1 after the line search has moved the parameters); every such run must
 * return SMLP_ERR_OUT_OF_MEMORY and leave parameters and epoch as they were. */
static void test_lbfgs_rollback_on_every_allocation_failure(void) {
    const size_t sizes[3] = {6, 8, 3};
    const smlp_activation acts[2] = {SMLP_TANH, SMLP_SOFTMAX};
    enum { ROWS = 20, VROWS = 50 };
    double x[VROWS * 6];
    int32_t labels[VROWS];
    smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 4);
    smlp_dataset train, validation;
    smlp_train_options o;
    smlp_status st;
    long total, k, rolled_back = 0;
    void *before;
    size_t i;
    if (!CHECK(model != NULL, "rollback model")) return;
    fill_uniform(x, VROWS * 6, 31, -1, 1);
    for (i = 0; i < VROWS; i++) labels[i] = (int32_t)(i % 3);
    train = dense_set(SMLP_FLOAT64, ROWS, 6, x, 3, NULL);
    train.labels = labels;
    validation = dense_set(SMLP_FLOAT64, VROWS, 6, x, 3, NULL);
    validation.labels = labels;
    smlp_train_options_init(&o);
    o.method = SMLP_TRAIN_LBFGS;
    o.epochs = 5;
    o.validation = &validation;
    smlp_set_epoch(model, 2);
    before = params_snapshot(model);

    /* A model trained once is the one we roll back to; count a clean run's callocs. */
    {
        smlp_model *twin = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 4);
        calloc_seen = 0;
        calloc_fail_at = 0;
        calloc_tracking = 1;
        st = smlp_train(twin, &train, &o, NULL);
        calloc_tracking = 0;
        total = calloc_seen;
        CHECK(st == SMLP_OK && total >= 5, "a clean L-BFGS run makes its calloc calls (%ld)", total);
        CHECK(!params_equal(twin, before), "and changes the parameters");
        smlp_free(twin);
    }
    /* A fresh model each time: the workspace a failed run grew stays (it is a cache,
     * not state), so a reused model would make fewer calls. */
    for (k = 1; k <= total; k++) {
        smlp_model *fresh = make_model(SMLP_FLOAT64, 3, sizes, acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, 4);
        smlp_model_info info;
        if (!CHECK(fresh != NULL, "fresh model")) break;
        smlp_set_epoch(fresh, 2);
        calloc_seen = 0;
        calloc_fail_at = k;
        calloc_tracking = 1;
        st = smlp_train(fresh, &train, &o, NULL);
        calloc_tracking = 0;
        if (st == SMLP_ERR_OUT_OF_MEMORY && params_equal(fresh, before) && smlp_model_info_get(fresh, &info) == SMLP_OK &&
            info.epoch == 2) {
            rolled_back++;
        } else {
            CHECK(0, "calloc %ld of %ld failing: status %d (%s), parameters %s", k, total, (int)st,
                  smlp_last_error(), params_equal(fresh, before) ? "kept" : "CHANGED");
        }
        smlp_free(fresh);
    }
    CHECK(rolled_back == total, "every one of the %ld calloc failures gave OUT_OF_MEMORY and rolled back (%ld)",
          total, rolled_back);
    calloc_fail_at = 0;
    CHECK_STATUS(smlp_train(model, &train, &o, NULL), SMLP_OK, "after all that, the model trains");
    free(before);
    smlp_free(model);
}

int main(void) {
    int shape, dtype, kind, targets, scaler;
    dl_iterate_phdr(note_library, NULL);
    CHECK(n_ranges[FROM_SWIFTMLP] > 0 && n_ranges[FROM_OPENBLAS] > 0,
          "found libswiftmlp and libopenblas in memory, to attribute heap calls");
    test_interposition_works();
    for (shape = 0; shape < 2; shape++)
        for (dtype = 0; dtype < 2; dtype++)
            for (kind = 0; kind < 2; kind++)
                for (targets = 0; targets < 3; targets++)
                    for (scaler = 0; scaler < 2; scaler++)
                        test_no_allocation(shapes[shape], dtype ? SMLP_FLOAT64 : SMLP_FLOAT32,
                                           kind ? SMLP_ADAM : SMLP_SGD, (enum targets)targets, scaler);
    test_lbfgs_no_allocation(SMLP_FLOAT32);
    test_lbfgs_no_allocation(SMLP_FLOAT64);
    test_lbfgs_rollback_on_every_allocation_failure();
    /* OpenBLAS's own heap calls are reported, not failed: the header says its float64
     * small-matrix kernels on AVX-512 CPUs allocate internally for some shapes, which
     * libswiftmlp cannot change. Everything libswiftmlp does is checked above. */
    for (dtype = 0; dtype < 2; dtype++) {
        printf("note: %s: OpenBLAS itself made %ld heap calls inside the measured calls "
               "(libswiftmlp made none; see the header's Memory note)\n",
               dtype ? "float64" : "float32", openblas_calls[dtype]);
    }
    test_concurrent_predict();
    test_threaded_boundary();
    return check_summary();
}
