/*
 * test_threads.c - the header's Threads section: different models on different
 * threads do not interfere (bit for bit); many threads may predict on one model at
 * once; and changing calls racing on one model get SMLP_OK or SMLP_ERR_BUSY, never
 * a corrupted model - the result is exactly the successful steps, replayed.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_util.h"

enum { N_IN = 6, N_HID = 16, N_OUT = 3, N_PARAMS = 6 * 16 + 16 + 16 * 3 + 3 };
enum { ROWS = 64, BATCH = 16, TRAIN_STEPS = 200, N_TRAINERS = 8, N_PREDICTORS = 4 };

static const size_t sizes[3] = {N_IN, N_HID, N_OUT};
static const smlp_activation activations[2] = {SMLP_TANH, SMLP_SOFTMAX};
static double x[ROWS * N_IN];
static int32_t labels[ROWS];

static void make_data(void) {
    size_t i;
    fill_uniform(x, ROWS * N_IN, 77, -1, 1);
    for (i = 0; i < ROWS; i++) labels[i] = (int32_t)((x[i * N_IN] > 0) + (x[i * N_IN + 1] > 0.5));
}

static smlp_dataset batch_at(size_t step) {
    smlp_dataset d;
    size_t first = (step % (ROWS / BATCH)) * BATCH;
    d.dtype = SMLP_FLOAT64;
    d.n_rows = BATCH;
    d.n_inputs = N_IN;
    d.x = x + first * N_IN;
    d.n_outputs = N_OUT;
    d.y = NULL;
    d.labels = labels + first;
    return d;
}

static smlp_model *new_model(uint64_t seed) {
    smlp_model *model = make_model(SMLP_FLOAT64, 3, sizes, activations, SMLP_SOFTMAX_CROSS_ENTROPY,
                                   SMLP_REDUCTION_MEAN, seed);
    smlp_optimizer_config opt;
    if (model == NULL) return NULL;
    smlp_optimizer_config_init(&opt, SMLP_SGD);
    opt.learning_rate = 0.1;
    opt.momentum = 0.9;
    if (smlp_set_optimizer(model, &opt) != SMLP_OK) {
        smlp_free(model);
        return NULL;
    }
    return model;
}

/* ---- One model per thread ------------------------------------------------------------- */

struct training {
    uint64_t seed;
    int failures;
    double params[N_PARAMS];
};

static void *train(void *arg) {
    struct training *t = arg;
    smlp_model *model = new_model(t->seed);
    size_t s;
    if (model == NULL) {
        t->failures++;
        return NULL;
    }
    for (s = 0; s < TRAIN_STEPS; s++) {
        smlp_dataset b = batch_at(s);
        t->failures += smlp_step(model, &b, NULL) != SMLP_OK;
    }
    t->failures += smlp_get_params(model, SMLP_FLOAT64, t->params, N_PARAMS) != SMLP_OK;
    smlp_free(model);
    return NULL;
}

static void test_models_on_threads(void) {
    static struct training parallel[N_TRAINERS], serial[N_TRAINERS];
    pthread_t threads[N_TRAINERS];
    int i, started[N_TRAINERS];
    for (i = 0; i < N_TRAINERS; i++) {
        serial[i].seed = parallel[i].seed = 1000 + (uint64_t)i;
        train(&serial[i]);
    }
    for (i = 0; i < N_TRAINERS; i++) started[i] = pthread_create(&threads[i], NULL, train, &parallel[i]) == 0;
    for (i = 0; i < N_TRAINERS; i++) if (started[i]) pthread_join(threads[i], NULL);
    for (i = 0; i < N_TRAINERS; i++) {
        CHECK(started[i], "trainer %d: thread started", i);
        CHECK(serial[i].failures == 0 && parallel[i].failures == 0, "trainer %d: every call succeeded", i);
        CHECK(memcmp(serial[i].params, parallel[i].params, sizeof serial[i].params) == 0,
              "trainer %d (seed %d): %d steps on its own thread equal the same run done alone, bit for bit", i,
              1000 + i, TRAIN_STEPS);
    }
    CHECK(memcmp(serial[0].params, serial[1].params, sizeof serial[0].params) != 0,
          "different seeds gave different models (the comparison means something)");
}

/* ---- Many readers on one model --------------------------------------------------------- */

struct reader {
    smlp_model *model;
    const double *expected;
    int calls, not_ok, mismatches;
};

static void *read_loop(void *arg) {
    struct reader *r = arg;
    double out[ROWS * N_OUT];
    int k;
    for (k = 0; k < 2000; k++) {
        r->calls++;
        if (smlp_predict(r->model, SMLP_FLOAT64, x, ROWS, N_IN, out, N_OUT) != SMLP_OK) {
            r->not_ok++;
            continue;
        }
        r->mismatches += memcmp(out, r->expected, sizeof out) != 0;
    }
    return NULL;
}

static void test_shared_readers(void) {
    smlp_model *model = new_model(5);
    static double expected[ROWS * N_OUT];
    static struct reader readers[N_PREDICTORS];
    pthread_t threads[N_PREDICTORS];
    int i;
    if (!CHECK(model != NULL, "readers: create")) return;
    CHECK_STATUS(smlp_predict(model, SMLP_FLOAT64, x, ROWS, N_IN, expected, N_OUT), SMLP_OK,
                 "readers: single-threaded reference");
    for (i = 0; i < N_PREDICTORS; i++) {
        readers[i].model = model;
        readers[i].expected = expected;
        pthread_create(&threads[i], NULL, read_loop, &readers[i]);
    }
    for (i = 0; i < N_PREDICTORS; i++) pthread_join(threads[i], NULL);
    for (i = 0; i < N_PREDICTORS; i++) {
        CHECK(readers[i].not_ok == 0, "reader %d: all %d concurrent predictions returned SMLP_OK (%d did not)", i,
              readers[i].calls, readers[i].not_ok);
        CHECK(readers[i].mismatches == 0, "reader %d: every output equals the single-threaded one (%d differ)", i,
              readers[i].mismatches);
    }
    smlp_free(model);
}

/* ---- Two writers on one model ----------------------------------------------------------- */

struct writer {
    smlp_model *model;
    int ok, busy, other, other_status;
    int busy_message_names_step;
};

static void *write_loop(void *arg) {
    struct writer *w = arg;
    smlp_dataset b = batch_at(0);
    int k;
    w->busy_message_names_step = 1;
    for (k = 0; k < 3000; k++) {
        smlp_status status = smlp_step(w->model, &b, NULL);
        if (k % 4 == 0) sched_yield(); /* let the other writer in now and then */
        if (status == SMLP_OK) {
            w->ok++;
        } else if (status == SMLP_ERR_BUSY) {
            w->busy++;
            if (strstr(smlp_last_error(), "smlp_step") == NULL) w->busy_message_names_step = 0;
        } else {
            w->other++;
            w->other_status = (int)status;
        }
    }
    return NULL;
}

static void test_racing_writers(void) {
    smlp_model *model = new_model(6), *replay = new_model(6);
    static struct writer writers[2];
    pthread_t threads[2];
    double params[N_PARAMS];
    smlp_dataset b = batch_at(0);
    int i, finite = 1, total_ok;
    if (!CHECK(model != NULL && replay != NULL, "writers: create")) return;
    for (i = 0; i < 2; i++) {
        writers[i].model = model;
        pthread_create(&threads[i], NULL, write_loop, &writers[i]);
    }
    for (i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    for (i = 0; i < 2; i++) {
        CHECK(writers[i].other == 0, "writer %d: only SMLP_OK or SMLP_ERR_BUSY (%d others, e.g. %d %s)", i,
              writers[i].other, writers[i].other_status, smlp_status_string((smlp_status)writers[i].other_status));
        CHECK(writers[i].busy_message_names_step, "writer %d: SMLP_ERR_BUSY messages name smlp_step", i);
    }
    total_ok = writers[0].ok + writers[1].ok;
    printf("racing writers: %d OK and %d BUSY of 6000 steps\n", total_ok, writers[0].busy + writers[1].busy);
    CHECK(total_ok > 0, "writers: some steps succeeded");
    CHECK_STATUS(smlp_get_params(model, SMLP_FLOAT64, params, N_PARAMS), SMLP_OK, "writers: read params");
    for (i = 0; i < N_PARAMS; i++) if (!isfinite(params[i])) finite = 0;
    CHECK(finite, "writers: parameters are finite");
    /* Every step used the same batch, so the order does not matter: the model must
     * be exactly total_ok steps of a twin, momentum included. */
    for (i = 0; i < total_ok; i++) smlp_step(replay, &b, NULL);
    CHECK(params_equal(replay, params), "writers: the model equals %d successful steps replayed one at a time",
          total_ok);
    smlp_free(model);
    smlp_free(replay);
}

/* ---- A writer racing readers ------------------------------------------------------------- */

struct mixed {
    smlp_model *model;
    int is_writer, ok, busy, other, non_finite_outputs;
};

static void *mixed_loop(void *arg) {
    struct mixed *m = arg;
    double out[BATCH * N_OUT];
    int k, j;
    for (k = 0; k < 3000; k++) {
        smlp_status status;
        if (m->is_writer) {
            smlp_dataset b = batch_at((size_t)k);
            status = smlp_step(m->model, &b, NULL);
        } else {
            status = smlp_predict(m->model, SMLP_FLOAT64, x, BATCH, N_IN, out, N_OUT);
        }
        if (k % 4 == 0) sched_yield(); /* mix the threads up a little more */
        if (status == SMLP_OK) {
            m->ok++;
            if (!m->is_writer) for (j = 0; j < BATCH * N_OUT; j++) m->non_finite_outputs += !isfinite(out[j]);
        } else if (status == SMLP_ERR_BUSY) {
            m->busy++;
        } else {
            m->other++;
        }
    }
    return NULL;
}

static void test_writer_and_readers(void) {
    smlp_model *model = new_model(8);
    static struct mixed threads_data[3];
    pthread_t threads[3];
    int i;
    if (!CHECK(model != NULL, "mixed: create")) return;
    for (i = 0; i < 3; i++) {
        threads_data[i].model = model;
        threads_data[i].is_writer = i == 0;
        pthread_create(&threads[i], NULL, mixed_loop, &threads_data[i]);
    }
    for (i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    for (i = 0; i < 3; i++) {
        CHECK(threads_data[i].other == 0, "mixed %s %d: only SMLP_OK or SMLP_ERR_BUSY (%d others)",
              i == 0 ? "writer" : "reader", i, threads_data[i].other);
        CHECK(threads_data[i].non_finite_outputs == 0, "mixed reader %d: every successful prediction is finite", i);
    }
    printf("writer vs 2 readers: writer %d OK / %d BUSY, readers %d OK / %d BUSY\n", threads_data[0].ok,
           threads_data[0].busy, threads_data[1].ok + threads_data[2].ok, threads_data[1].busy + threads_data[2].busy);
    smlp_free(model);
}

int main(void) {
    make_data();
    test_models_on_threads();
    test_shared_readers();
    test_racing_writers();
    test_writer_and_readers();
    return check_summary();
}
