/*
 * test_threads_stress.c - the header's Threads section under load, beyond
 * Tests/c/test_threads.c (which uses a 6-16-3 network whose products are small
 * enough to run as plain loops, so OpenBLAS is never entered from two threads).
 * Here every matrix product goes through OpenBLAS (m*n*k > 4096), and:
 *
 *   own_models        8 threads each create, train (smlp_train with shuffle and
 *                     validation, then smlp_step), predict and save their own model,
 *                     float32 and float64 mixed; results equal the same 8 runs made
 *                     one at a time, bit for bit (parameters, predictions, bytes).
 *   shared_predict    16 threads predict on one model at once (more than its 8
 *                     prediction slots), batch sizes 1..256 mixed, with a scaler;
 *                     every output equals the single-threaded one, bit for bit.
 *   racing_train      two threads call smlp_train (1 epoch, shuffled) on one model
 *                     at once; only OK or BUSY; the model equals k calls replayed
 *                     one at a time, where k is the number of OKs.
 *   racing_apply      two threads call smlp_apply_gradients with the same gradient;
 *                     same replay check (Adam: order-sensitive state included).
 *   not_torn          one thread steps a model 300 times while 3 threads predict and
 *                     read parameters; every successful read equals the model after
 *                     some whole number of steps (never a mix), and the steps seen
 *                     never go backwards.
 *   queries_vs_writes one thread flips the scaler / epoch / metadata while others run
 *                     the queries (model_info_get, param_count, layer_info_get,
 *                     get_scaler, metadata_count): only OK or BUSY, values that
 *                     were really set. (Run under TSan to see the data races.)
 *   last_error        16 threads fail calls with their own values; each thread's
 *                     smlp_last_error() names its own value, never another's.
 *   num_threads       smlp_set_num_threads: 1 and 2 round-trip through
 *                     smlp_get_num_threads; 0, -1, INT_MIN give INVALID_ARGUMENT and
 *                     change nothing; changing it while 4 threads train does not
 *                     crash and every call still succeeds.
 *
 * Build (Tests/hardening/run.sh does it):
 *   cc -std=c99 -ITests/c -Iinclude test_threads_stress.c -Lbuild/lib -lswiftmlp -lpthread -lm
 * STRESS_SCALE=n (default 1) multiplies the iteration counts.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "model_util.h"

enum { N_IN = 32, N_HID = 64, N_OUT = 10, ROWS = 256, BATCH = 64 };
enum { N_PARAMS = N_IN * N_HID + N_HID + N_HID * N_OUT + N_OUT };
enum { N_TRAINERS = 8, N_PREDICTORS = 16 };

static const size_t sizes[3] = {N_IN, N_HID, N_OUT};
static const smlp_activation acts[2] = {SMLP_TANH, SMLP_SOFTMAX};
static double xd[ROWS * N_IN];
static float xf[ROWS * N_IN];
static int32_t labels[ROWS];
static int scale = 1;

static void make_data(void) {
    size_t i;
    fill_uniform(xd, ROWS * N_IN, 4242, -1, 1);
    for (i = 0; i < ROWS * N_IN; i++) xf[i] = (float)xd[i];
    for (i = 0; i < ROWS; i++) {
        double s = xd[i * N_IN] + xd[i * N_IN + 1] - xd[i * N_IN + 2];
        labels[i] = (int32_t)((unsigned)((s + 3.0) * 1.6) % N_OUT);
    }
}

static size_t dsize(smlp_dtype dtype) { return dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double); }
static const void *xs(smlp_dtype dtype) { return dtype == SMLP_FLOAT32 ? (const void *)xf : (const void *)xd; }

static smlp_dataset data_rows(smlp_dtype dtype, size_t first, size_t n) {
    smlp_dataset d;
    d.dtype = dtype;
    d.n_rows = n;
    d.n_inputs = N_IN;
    d.x = (const char *)xs(dtype) + first * N_IN * dsize(dtype);
    d.n_outputs = N_OUT;
    d.y = NULL;
    d.labels = labels + first;
    return d;
}

static smlp_model *new_model(smlp_dtype dtype, uint64_t seed, smlp_optimizer kind) {
    smlp_model *m = make_model(dtype, 3, sizes, acts, SMLP_SOFTMAX_CROSS_ENTROPY, SMLP_REDUCTION_MEAN, seed);
    smlp_optimizer_config opt;
    if (m == NULL) return NULL;
    smlp_optimizer_config_init(&opt, kind);
    if (kind == SMLP_SGD) {
        opt.learning_rate = 0.05;
        opt.momentum = 0.9;
    }
    if (smlp_set_optimizer(m, &opt) != SMLP_OK) {
        smlp_free(m);
        return NULL;
    }
    return m;
}

/* ---- own_models ------------------------------------------------------------------------ */

struct own_run {
    int index;
    int failures;
    int epochs_seen;
    unsigned char params[N_PARAMS * sizeof(double)];
    unsigned char out[ROWS * N_OUT * sizeof(double)];
    unsigned char *saved;
    size_t saved_size;
};

static int count_epochs(const smlp_epoch_report *r, void *user) {
    (void)r;
    ((struct own_run *)user)->epochs_seen++;
    return 0;
}

static void *own_model(void *arg) {
    struct own_run *r = arg;
    smlp_dtype dtype = r->index % 2 ? SMLP_FLOAT32 : SMLP_FLOAT64;
    smlp_model *m = new_model(dtype, 9000 + (uint64_t)r->index, r->index % 3 == 0 ? SMLP_ADAM : SMLP_SGD);
    smlp_dataset train = data_rows(dtype, 0, 192), valid = data_rows(dtype, 192, 64);
    smlp_train_options o;
    size_t s;
    if (m == NULL) {
        r->failures++;
        return NULL;
    }
    r->failures += smlp_fit_scaler(m, dtype, xs(dtype), ROWS, N_IN) != SMLP_OK;
    smlp_train_options_init(&o);
    o.epochs = 3;
    o.batch_size = BATCH;
    o.validation = &valid;
    o.callback = count_epochs;
    o.user_data = r;
    r->failures += smlp_train(m, &train, &o, NULL) != SMLP_OK;
    for (s = 0; s < 20; s++) {
        smlp_dataset b = data_rows(dtype, (s % 4) * BATCH, BATCH);
        r->failures += smlp_step(m, &b, NULL) != SMLP_OK;
    }
    r->failures += smlp_get_params(m, dtype, r->params, N_PARAMS) != SMLP_OK;
    r->failures += smlp_predict(m, dtype, xs(dtype), ROWS, N_IN, r->out, N_OUT) != SMLP_OK;
    r->failures += smlp_save_to_buffer(m, NULL, 0, &r->saved_size) != SMLP_OK;
    r->saved = malloc(r->saved_size);
    if (r->saved == NULL || smlp_save_to_buffer(m, r->saved, r->saved_size, &r->saved_size) != SMLP_OK) r->failures++;
    smlp_free(m);
    return NULL;
}

static void test_own_models(void) {
    static struct own_run serial[N_TRAINERS], parallel[N_TRAINERS];
    pthread_t threads[N_TRAINERS];
    int i, started[N_TRAINERS], rounds, round;
    rounds = scale;
    for (i = 0; i < N_TRAINERS; i++) {
        serial[i].index = i;
        own_model(&serial[i]);
    }
    for (round = 0; round < rounds; round++) {
        int all_equal = 1;
        for (i = 0; i < N_TRAINERS; i++) {
            free(parallel[i].saved);
            memset(&parallel[i], 0, sizeof parallel[i]);
            parallel[i].index = i;
        }
        for (i = 0; i < N_TRAINERS; i++) started[i] = pthread_create(&threads[i], NULL, own_model, &parallel[i]) == 0;
        for (i = 0; i < N_TRAINERS; i++) if (started[i]) pthread_join(threads[i], NULL);
        for (i = 0; i < N_TRAINERS; i++) {
            size_t bytes = dsize(i % 2 ? SMLP_FLOAT32 : SMLP_FLOAT64);
            int same = started[i] && serial[i].failures == 0 && parallel[i].failures == 0 &&
                       memcmp(serial[i].params, parallel[i].params, N_PARAMS * bytes) == 0 &&
                       memcmp(serial[i].out, parallel[i].out, ROWS * N_OUT * bytes) == 0 &&
                       serial[i].saved_size == parallel[i].saved_size &&
                       memcmp(serial[i].saved, parallel[i].saved, serial[i].saved_size) == 0 &&
                       parallel[i].epochs_seen == 3;
            if (!same) all_equal = 0;
            CHECK(same, "own_models round %d, model %d (%s): train+step+predict+save on 8 threads at once equal "
                  "the run done alone, bit for bit (failures %d/%d, epochs %d)", round, i,
                  i % 2 ? "float32" : "float64", serial[i].failures, parallel[i].failures, parallel[i].epochs_seen);
        }
        if (!all_equal) break;
    }
    CHECK(memcmp(serial[0].params, serial[2].params, sizeof serial[0].params) != 0,
          "own_models: different seeds give different models (the comparison means something)");
    for (i = 0; i < N_TRAINERS; i++) {
        free(serial[i].saved);
        free(parallel[i].saved);
    }
}

/* ---- shared_predict ---------------------------------------------------------------------- */

static const size_t predict_rows[4] = {1, 7, 64, 256};
static double expected_out[4][ROWS * N_OUT];

struct predictor {
    smlp_model *model;
    pthread_barrier_t *start;
    int id, calls, not_ok, mismatches;
};

static void *predict_loop(void *arg) {
    struct predictor *p = arg;
    double out[ROWS * N_OUT];
    int k, n = 150 * scale;
    pthread_barrier_wait(p->start);
    for (k = 0; k < n; k++) {
        int which = (k + p->id) % 4;
        size_t rows = predict_rows[which];
        p->calls++;
        if (smlp_predict(p->model, SMLP_FLOAT64, xd, rows, N_IN, out, N_OUT) != SMLP_OK) {
            p->not_ok++;
            continue;
        }
        p->mismatches += memcmp(out, expected_out[which], rows * N_OUT * sizeof(double)) != 0;
    }
    return NULL;
}

static void test_shared_predict(void) {
    smlp_model *m = new_model(SMLP_FLOAT64, 77, SMLP_SGD);
    static struct predictor ps[N_PREDICTORS];
    pthread_t threads[N_PREDICTORS];
    pthread_barrier_t start;
    int i, j, not_ok = 0, mismatches = 0, calls = 0;
    smlp_dataset b = data_rows(SMLP_FLOAT64, 0, BATCH);
    if (!CHECK(m != NULL, "shared_predict: create")) return;
    CHECK_STATUS(smlp_fit_scaler(m, SMLP_FLOAT64, xd, ROWS, N_IN), SMLP_OK, "shared_predict: fit_scaler");
    for (i = 0; i < 5; i++) smlp_step(m, &b, NULL);
    for (j = 0; j < 4; j++) {
        CHECK_STATUS(smlp_predict(m, SMLP_FLOAT64, xd, predict_rows[j], N_IN, expected_out[j], N_OUT), SMLP_OK,
                     "shared_predict: reference for %zu rows", predict_rows[j]);
    }
    pthread_barrier_init(&start, NULL, N_PREDICTORS);
    for (i = 0; i < N_PREDICTORS; i++) {
        ps[i].model = m;
        ps[i].start = &start;
        ps[i].id = i;
        pthread_create(&threads[i], NULL, predict_loop, &ps[i]);
    }
    for (i = 0; i < N_PREDICTORS; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    for (i = 0; i < N_PREDICTORS; i++) {
        not_ok += ps[i].not_ok;
        mismatches += ps[i].mismatches;
        calls += ps[i].calls;
    }
    CHECK(not_ok == 0, "shared_predict: all %d predictions from 16 threads returned SMLP_OK (%d did not)", calls, not_ok);
    CHECK(mismatches == 0, "shared_predict: every output equals the single-threaded one (%d of %d differ)", mismatches,
          calls);
    smlp_free(m);
}

/* ---- racing_train / racing_apply --------------------------------------------------------- */

struct racer {
    smlp_model *model;
    pthread_barrier_t *start;
    int use_apply;
    const double *grad;
    int ok, busy, other, other_status;
};

static void *race_loop(void *arg) {
    struct racer *r = arg;
    smlp_dataset d = data_rows(SMLP_FLOAT64, 0, ROWS);
    smlp_train_options o;
    int k, n = 60 * scale;
    smlp_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = BATCH;
    pthread_barrier_wait(r->start);
    for (k = 0; k < n; k++) {
        smlp_status s = r->use_apply ? smlp_apply_gradients(r->model, SMLP_FLOAT64, r->grad, N_PARAMS, 0.5)
                                     : smlp_train(r->model, &d, &o, NULL);
        if (s == SMLP_OK) {
            r->ok++;
        } else if (s == SMLP_ERR_BUSY) {
            r->busy++;
        } else {
            r->other++;
            r->other_status = (int)s;
        }
        if (k % 3 == 0) sched_yield();
    }
    return NULL;
}

static void race(const char *what, int use_apply) {
    smlp_model *m = new_model(SMLP_FLOAT64, 31, SMLP_ADAM), *twin = new_model(SMLP_FLOAT64, 31, SMLP_ADAM);
    static double grad[N_PARAMS];
    struct racer rs[2];
    pthread_t threads[2];
    pthread_barrier_t start;
    smlp_dataset d = data_rows(SMLP_FLOAT64, 0, ROWS);
    smlp_train_options o;
    double params[N_PARAMS];
    int i, ok, finite = 1;
    if (!CHECK(m != NULL && twin != NULL, "%s: create", what)) return;
    fill_uniform(grad, N_PARAMS, 99, -1, 1);
    memset(rs, 0, sizeof rs);
    pthread_barrier_init(&start, NULL, 2);
    for (i = 0; i < 2; i++) {
        rs[i].model = m;
        rs[i].start = &start;
        rs[i].use_apply = use_apply;
        rs[i].grad = grad;
        pthread_create(&threads[i], NULL, race_loop, &rs[i]);
    }
    for (i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    for (i = 0; i < 2; i++) {
        CHECK(rs[i].other == 0, "%s: thread %d got only OK or BUSY (%d others, e.g. %s)", what, i, rs[i].other,
              smlp_status_string((smlp_status)rs[i].other_status));
    }
    ok = rs[0].ok + rs[1].ok;
    printf("%s: %d OK, %d BUSY\n", what, ok, rs[0].busy + rs[1].busy);
    CHECK(ok > 0, "%s: some calls succeeded", what);
    CHECK_STATUS(smlp_get_params(m, SMLP_FLOAT64, params, N_PARAMS), SMLP_OK, "%s: read params", what);
    for (i = 0; i < N_PARAMS; i++) finite &= isfinite(params[i]) != 0;
    CHECK(finite, "%s: parameters are finite", what);
    smlp_train_options_init(&o);
    o.epochs = 1;
    o.batch_size = BATCH;
    for (i = 0; i < ok; i++) {
        if (use_apply) smlp_apply_gradients(twin, SMLP_FLOAT64, grad, N_PARAMS, 0.5);
        else smlp_train(twin, &d, &o, NULL);
    }
    CHECK(params_equal(twin, params), "%s: the model equals its %d successful calls replayed one at a time", what, ok);
    {
        /* Everything else too: optimizer state, generator, epoch - the saved bytes. */
        size_t na = 0, nb = 0;
        unsigned char *a, *b;
        smlp_save_to_buffer(m, NULL, 0, &na);
        smlp_save_to_buffer(twin, NULL, 0, &nb);
        a = malloc(na);
        b = malloc(nb);
        CHECK(a && b && na == nb && smlp_save_to_buffer(m, a, na, &na) == SMLP_OK &&
                  smlp_save_to_buffer(twin, b, nb, &nb) == SMLP_OK && memcmp(a, b, na) == 0,
              "%s: saved bytes (optimizer state, generator, epoch) equal the replay's", what);
        free(a);
        free(b);
    }
    smlp_free(m);
    smlp_free(twin);
}

/* ---- not_torn ---------------------------------------------------------------------------- */

enum { TORN_STEPS = 300, PROBE_ROWS = 8 };
static double checkpoint_out[TORN_STEPS + 1][PROBE_ROWS * N_OUT];
static double checkpoint_params[TORN_STEPS + 1][N_PARAMS];
static int writer_done = 0; /* read and written with __atomic builtins */
static const struct timespec reader_pause = {0, 20000};

struct torn_reader {
    smlp_model *model;
    int reads, ok, busy, other, torn, backwards, last_seen;
    int param_reads_ok, param_torn;
};

static int find_checkpoint(const double *values, size_t n, int from, int is_params) {
    int k;
    for (k = from; k <= TORN_STEPS; k++) {
        const void *want = is_params ? (const void *)checkpoint_params[k] : (const void *)checkpoint_out[k];
        if (memcmp(values, want, n * sizeof(double)) == 0) return k;
    }
    return -1;
}

static void *torn_reader_loop(void *arg) {
    struct torn_reader *r = arg;
    double out[PROBE_ROWS * N_OUT];
    double params[N_PARAMS];
    int last_params = 0;
    r->last_seen = 0;
    while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE)) {
        smlp_status s = smlp_predict(r->model, SMLP_FLOAT64, xd + 100 * N_IN, PROBE_ROWS, N_IN, out, N_OUT);
        r->reads++;
        if (s == SMLP_OK) {
            int k = find_checkpoint(out, PROBE_ROWS * N_OUT, 0, 0);
            r->ok++;
            if (k < 0) r->torn++;
            else if (k < r->last_seen) r->backwards++;
            else r->last_seen = k;
        } else if (s == SMLP_ERR_BUSY) {
            r->busy++;
        } else {
            r->other++;
        }
        s = smlp_get_params(r->model, SMLP_FLOAT64, params, N_PARAMS);
        if (s == SMLP_OK) {
            int k = find_checkpoint(params, N_PARAMS, last_params, 1);
            r->param_reads_ok++;
            if (k < 0) r->param_torn++;
            else last_params = k;
        } else if (s != SMLP_ERR_BUSY) {
            r->other++;
        }
        /* Writers never wait (they get BUSY), so readers that never pause would starve
         * the writer; a short pause leaves it gaps. */
        nanosleep(&reader_pause, NULL);
    }
    return NULL;
}

static void test_not_torn(void) {
    smlp_model *m = new_model(SMLP_FLOAT64, 55, SMLP_SGD), *twin = new_model(SMLP_FLOAT64, 55, SMLP_SGD);
    struct torn_reader rs[3];
    pthread_t threads[3];
    int i, k, steps_ok = 0, writer_busy = 0, writer_other = 0;
    long attempts = 0;
    if (!CHECK(m != NULL && twin != NULL, "not_torn: create")) return;
    /* The checkpoints: the twin's predictions and parameters after each step. */
    for (k = 0; k <= TORN_STEPS; k++) {
        smlp_dataset b = data_rows(SMLP_FLOAT64, (size_t)(k % 4) * BATCH, BATCH);
        smlp_predict(twin, SMLP_FLOAT64, xd + 100 * N_IN, PROBE_ROWS, N_IN, checkpoint_out[k], N_OUT);
        smlp_get_params(twin, SMLP_FLOAT64, checkpoint_params[k], N_PARAMS);
        if (k < TORN_STEPS) smlp_step(twin, &b, NULL);
    }
    __atomic_store_n(&writer_done, 0, __ATOMIC_RELEASE);
    memset(rs, 0, sizeof rs);
    for (i = 0; i < 3; i++) {
        rs[i].model = m;
        pthread_create(&threads[i], NULL, torn_reader_loop, &rs[i]);
    }
    while (steps_ok < TORN_STEPS && attempts < 20000000L) {
        smlp_dataset b = data_rows(SMLP_FLOAT64, (size_t)(steps_ok % 4) * BATCH, BATCH);
        smlp_status s = smlp_step(m, &b, NULL);
        attempts++;
        if (s == SMLP_OK) {
            steps_ok++;
            nanosleep(&reader_pause, NULL); /* let the readers in between steps */
        } else if (s == SMLP_ERR_BUSY) {
            writer_busy++;
        } else {
            writer_other++;
        }
    }
    __atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
    for (i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    CHECK(steps_ok == TORN_STEPS && writer_other == 0,
          "not_torn: the writer made its %d steps, meeting only BUSY on the way (%d done, %d BUSY, %d other)",
          TORN_STEPS, steps_ok, writer_busy, writer_other);
    CHECK(params_equal(m, checkpoint_params[TORN_STEPS]), "not_torn: the model ends equal to its twin");
    for (i = 0; i < 3; i++) {
        printf("not_torn reader %d: %d predictions OK, %d BUSY, last step seen %d; %d parameter reads OK\n", i,
               rs[i].ok, rs[i].busy, rs[i].last_seen, rs[i].param_reads_ok);
        CHECK(rs[i].other == 0, "not_torn reader %d: predict/get_params gave only OK or BUSY (%d others)", i,
              rs[i].other);
        CHECK(rs[i].torn == 0, "not_torn reader %d: every successful prediction equals the model after a whole "
              "number of steps (%d of %d do not)", i, rs[i].torn, rs[i].ok);
        CHECK(rs[i].backwards == 0, "not_torn reader %d: predictions never go back in time (%d did)", i,
              rs[i].backwards);
        CHECK(rs[i].param_torn == 0, "not_torn reader %d: every successful get_params equals the parameters after a "
              "whole number of steps (%d of %d do not)", i, rs[i].param_torn, rs[i].param_reads_ok);
    }
    smlp_free(m);
    smlp_free(twin);
}

/* ---- queries_vs_writes ------------------------------------------------------------------- */

struct querier {
    smlp_model *model;
    pthread_barrier_t *start;
    int is_writer;
    int other, bad_values, ok, busy;
};

static int queries_stop = 0;

static void *query_loop(void *arg) {
    struct querier *q = arg;
    double mean[N_IN], std[N_IN];
    int k, i;
    for (i = 0; i < N_IN; i++) {
        mean[i] = 0.5 * i;
        std[i] = 1.0 + i;
    }
    pthread_barrier_wait(q->start);
    if (q->is_writer) {
        int n = 200000 * scale;
        for (k = 0; k < n; k++) {
            smlp_status s;
            switch (k % 4) {
            case 0: s = smlp_set_scaler(q->model, mean, std, N_IN); break;
            case 1: s = smlp_clear_scaler(q->model); break;
            case 2: s = smlp_set_epoch(q->model, (size_t)(k % 2 ? 7 : 3)); break;
            default: s = smlp_set_metadata(q->model, "k", k % 8 == 3 ? "a longer value that needs the heap" : NULL);
            }
            if (s == SMLP_OK) q->ok++;
            else if (s == SMLP_ERR_BUSY) q->busy++;
            else q->other++;
        }
        __atomic_store_n(&queries_stop, 1, __ATOMIC_RELEASE);
        return NULL;
    }
    while (!__atomic_load_n(&queries_stop, __ATOMIC_ACQUIRE)) {
        smlp_model_info info;
        smlp_layer_info layer;
        double m2[N_IN], s2[N_IN];
        int has = -1;
        size_t n;
        smlp_status s = smlp_model_info_get(q->model, &info);
        if (s == SMLP_OK) {
            if (info.has_scaler != 0 && info.has_scaler != 1) q->bad_values++;
            if (info.epoch != 0 && info.epoch != 3 && info.epoch != 7) q->bad_values++;
            if (info.param_count != N_PARAMS) q->bad_values++;
        } else if (s != SMLP_ERR_BUSY) {
            q->other++;
        }
        if (smlp_param_count(q->model) != N_PARAMS) q->bad_values++;
        s = smlp_layer_info_get(q->model, 1, &layer);
        if (s == SMLP_OK && (layer.n_inputs != N_HID || layer.n_outputs != N_OUT)) q->bad_values++;
        else if (s != SMLP_OK && s != SMLP_ERR_BUSY) q->other++;
        s = smlp_get_scaler(q->model, m2, s2, N_IN, &has);
        if (s == SMLP_OK) {
            if (has == 1 && (m2[3] != 1.5 || s2[3] != 4.0)) q->bad_values++;
            if (has != 0 && has != 1) q->bad_values++;
        } else if (s != SMLP_ERR_BUSY) {
            q->other++;
        }
        n = smlp_metadata_count(q->model);
        if (n > 1) q->bad_values++;
    }
    return NULL;
}

static void test_queries_vs_writes(void) {
    smlp_model *m = new_model(SMLP_FLOAT64, 12, SMLP_SGD);
    struct querier qs[3];
    pthread_t threads[3];
    pthread_barrier_t start;
    int i;
    if (!CHECK(m != NULL, "queries: create")) return;
    __atomic_store_n(&queries_stop, 0, __ATOMIC_RELEASE);
    memset(qs, 0, sizeof qs);
    pthread_barrier_init(&start, NULL, 3);
    for (i = 0; i < 3; i++) {
        qs[i].model = m;
        qs[i].start = &start;
        qs[i].is_writer = i == 0;
        pthread_create(&threads[i], NULL, query_loop, &qs[i]);
    }
    for (i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    printf("queries_vs_writes: writer %d OK / %d BUSY\n", qs[0].ok, qs[0].busy);
    for (i = 0; i < 3; i++) {
        CHECK(qs[i].other == 0, "queries_vs_writes thread %d: only OK or BUSY (%d others)", i, qs[i].other);
        CHECK(qs[i].bad_values == 0, "queries_vs_writes thread %d: every value read was one really set (%d not)", i,
              qs[i].bad_values);
    }
    smlp_free(m);
}

/* ---- last_error ------------------------------------------------------------------------- */

struct messenger {
    smlp_model *model;
    pthread_barrier_t *start;
    int id, wrong;
};

static void *message_loop(void *arg) {
    struct messenger *p = arg;
    double out[N_OUT];
    char want[64];
    int k, n = 2000 * scale;
    size_t n_inputs = 1000 + (size_t)p->id;
    snprintf(want, sizeof want, "n_inputs is %zu ", n_inputs);
    pthread_barrier_wait(p->start);
    for (k = 0; k < n; k++) {
        if (smlp_predict(p->model, SMLP_FLOAT64, xd, 1, n_inputs, out, N_OUT) != SMLP_ERR_SHAPE_MISMATCH ||
            strstr(smlp_last_error(), want) == NULL) {
            p->wrong++;
        }
        if (k % 16 == 0) sched_yield();
    }
    return NULL;
}

static void test_last_error(void) {
    smlp_model *m = new_model(SMLP_FLOAT64, 1, SMLP_SGD);
    struct messenger ps[16];
    pthread_t threads[16];
    pthread_barrier_t start;
    int i, wrong = 0;
    if (!CHECK(m != NULL, "last_error: create")) return;
    pthread_barrier_init(&start, NULL, 16);
    for (i = 0; i < 16; i++) {
        ps[i].model = m;
        ps[i].start = &start;
        ps[i].id = i;
        ps[i].wrong = 0;
        pthread_create(&threads[i], NULL, message_loop, &ps[i]);
    }
    for (i = 0; i < 16; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    for (i = 0; i < 16; i++) wrong += ps[i].wrong;
    CHECK(wrong == 0, "last_error: 16 threads failing at once each read their own message (%d wrong)", wrong);
    smlp_free(m);
}

/* ---- num_threads ------------------------------------------------------------------------- */

static int trainers_stop = 0;

static void *busy_trainer(void *arg) {
    int *failures = arg;
    smlp_model *m = new_model(SMLP_FLOAT64, 3, SMLP_SGD);
    smlp_dataset b = data_rows(SMLP_FLOAT64, 0, ROWS);
    double out[ROWS * N_OUT];
    if (m == NULL) {
        (*failures)++;
        return NULL;
    }
    while (!__atomic_load_n(&trainers_stop, __ATOMIC_ACQUIRE)) {
        *failures += smlp_step(m, &b, NULL) != SMLP_OK;
        *failures += smlp_predict(m, SMLP_FLOAT64, xd, ROWS, N_IN, out, N_OUT) != SMLP_OK;
    }
    smlp_free(m);
    return NULL;
}

static void test_num_threads(void) {
    int original = smlp_get_num_threads(), i, k;
    static const int bad[3] = {0, -1, INT_MIN};
    pthread_t threads[4];
    int failures[4] = {0, 0, 0, 0}, set_failures = 0;
    CHECK(original >= 1, "num_threads: the default is >= 1 (%d)", original);
    CHECK_STATUS(smlp_set_num_threads(1), SMLP_OK, "num_threads: set 1");
    CHECK(smlp_get_num_threads() == 1, "num_threads: get after set 1 is %d", smlp_get_num_threads());
    CHECK_STATUS(smlp_set_num_threads(2), SMLP_OK, "num_threads: set 2");
    CHECK(smlp_get_num_threads() == 2, "num_threads: get after set 2 is %d", smlp_get_num_threads());
    for (i = 0; i < 3; i++) {
        CHECK_STATUS(smlp_set_num_threads(bad[i]), SMLP_ERR_INVALID_ARGUMENT, "num_threads: set %d", bad[i]);
        CHECK(smlp_get_num_threads() == 2, "num_threads: a rejected set(%d) changed nothing (now %d)", bad[i],
              smlp_get_num_threads());
        CHECK(strstr(smlp_last_error(), "smlp_set_num_threads") != NULL,
              "num_threads: the message names smlp_set_num_threads");
    }
    /* Changing the process-wide count while other threads are inside OpenBLAS. */
    __atomic_store_n(&trainers_stop, 0, __ATOMIC_RELEASE);
    for (i = 0; i < 4; i++) pthread_create(&threads[i], NULL, busy_trainer, &failures[i]);
    for (k = 0; k < 200 * scale; k++) {
        set_failures += smlp_set_num_threads(1 + k % 2) != SMLP_OK;
        sched_yield();
    }
    __atomic_store_n(&trainers_stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < 4; i++) pthread_join(threads[i], NULL);
    CHECK(set_failures == 0, "num_threads: 200 changes while 4 threads train all succeeded");
    CHECK(failures[0] + failures[1] + failures[2] + failures[3] == 0,
          "num_threads: every step and predict of the 4 trainers succeeded meanwhile");
    smlp_set_num_threads(original);
}

int main(int argc, char **argv) {
    const char *s = getenv("STRESS_SCALE");
    const char *only = argc > 1 ? argv[1] : NULL;
    if (s != NULL && atoi(s) > 0) scale = atoi(s);
    make_data();
    if (!only || !strcmp(only, "own_models")) test_own_models();
    if (!only || !strcmp(only, "shared_predict")) test_shared_predict();
    if (!only || !strcmp(only, "racing_train")) race("racing_train", 0);
    if (!only || !strcmp(only, "racing_apply")) race("racing_apply", 1);
    if (!only || !strcmp(only, "not_torn")) test_not_torn();
    if (!only || !strcmp(only, "queries_vs_writes")) test_queries_vs_writes();
    if (!only || !strcmp(only, "last_error")) test_last_error();
    if (!only || !strcmp(only, "num_threads")) test_num_threads();
    return check_summary();
}
