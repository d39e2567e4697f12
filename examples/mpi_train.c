/*
 * mpi_train.c - data-parallel training over MPI: the digits network of digits.c
 * (64-64-10, ReLU then softmax, cross-entropy on integer labels, Adam with a cosine
 * schedule, 30 epochs), with every global batch of 64 rows split over the ranks.
 *
 * Each step, every rank
 *   1. computes the gradient of the SUM of the losses of its shard of the batch
 *      (smlp_gradients on a model made with SMLP_REDUCTION_SUM),
 *   2. adds the sums of all ranks with one MPI_Allreduce (the gradient of a sum over
 *      samples is the sum of the gradients of the shards), and
 *   3. applies the total with scale = 1 / (rows in the global batch), which is the
 *      mean-reduction gradient of the whole batch (smlp_apply_gradients).
 * Every rank starts from rank 0's parameters (MPI_Bcast) and the global scaler, and
 * applies the same update with the same optimizer, so the models stay identical.
 *
 * The shards are deliberately UNEQUAL: rank r gets a share proportional to r + 1
 * (with 2 ranks a batch of 64 splits 21 / 43), as with nodes of different speed.
 * The last batch of an epoch has 1437 mod 64 = 29 rows; with many ranks some shards
 * are empty, and such a rank contributes zeros without calling smlp_gradients.
 *
 *   mpicc -std=c99 -O2 -Iinclude examples/mpi_train.c -Lbuild/lib -lswiftmlp -lm \
 *         -Wl,-rpath,$PWD/build/lib -o mpi_train
 *   OPENBLAS_NUM_THREADS=1 mpirun -np 2 ./mpi_train [data-folder]  (default examples/data)
 *
 * Rank 0 prints the same per-epoch lines as digits.c (the train loss is the mean over
 * all samples of all ranks), then the test accuracy; the exit status is 1 below 96%.
 * See docs/distributed.md.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "digits_data.h"
#include "swiftmlp.h"

#define GLOBAL_BATCH 64
#define EPOCHS 30
#define MODEL_SEED 2024
#define SHUFFLE_SEED 7

/* On any failure: print the library's message and take every rank down, since the
 * other ranks would otherwise wait forever in the next collective call. */
static void check(smlp_status status, const char *what) {
    if (status != SMLP_OK) {
        int rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        fprintf(stderr, "rank %d: %s failed: %s (%s)\n", rank, what, smlp_status_string(status),
                smlp_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return p;
}

/* SplitMix64: the shuffle generator. Every rank seeds it with the same constant and
 * draws the same numbers, so all ranks agree on every epoch's order without sending
 * it. (Seeding it with the rank, or with the time, would silently break training.) */
static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void shuffle(size_t *order, size_t n, uint64_t *state) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(splitmix64(state) % i); /* bias < 2^-50, harmless here */
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

/* Rows [*lo, *hi) of a batch of `rows` rows belong to `rank`: shares proportional to
 * rank + 1, cut with integer arithmetic so every rank computes the same cuts. */
static void shard_bounds(size_t rows, int rank, int size, size_t *lo, size_t *hi) {
    size_t total = (size_t)size * ((size_t)size + 1) / 2;
    size_t before = (size_t)rank * ((size_t)rank + 1) / 2;
    *lo = rows * before / total;
    *hi = rows * (before + (size_t)rank + 1) / total;
}

/* The learning rate smlp_train would report for this epoch (the cosine schedule of
 * the header), for the printed line only; the library computes its own. */
static double cosine_lr(const smlp_optimizer_config *c, size_t epoch) {
    const double pi = 3.14159265358979323846;
    double e = (double)(epoch < c->t_max ? epoch : c->t_max);
    return c->min_lr + (c->learning_rate - c->min_lr) * (1 + cos(pi * e / (double)c->t_max)) / 2;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    /* Every rank reads the whole (small) data set and keeps only its shard of each
     * batch; with data too big for one node, each rank would read its own part. */
    const char *folder = argc > 1 ? argv[1] : "examples/data";
    char train_path[1024], test_path[1024];
    snprintf(train_path, sizeof train_path, "%s/digits_train.csv", folder);
    snprintf(test_path, sizeof test_path, "%s/digits_test.csv", folder);
    double *train_x = NULL, *test_x = NULL;
    int32_t *train_y = NULL, *test_y = NULL;
    size_t n_train = 0, n_test = 0;
    if (digits_load_csv(train_path, &train_x, &train_y, &n_train) != 0 ||
        digits_load_csv(test_path, &test_x, &test_y, &n_test) != 0) {
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    /* SUM reduction: smlp_gradients returns the sum over the shard's rows, which is
     * what adds up across ranks. The optimizer is the same on every rank. */
    const size_t sizes[] = {DIGITS_N_FEATURES, 64, DIGITS_N_CLASSES};
    const smlp_activation activations[] = {SMLP_RELU, SMLP_SOFTMAX};
    smlp_config config;
    smlp_config_init(&config);
    config.dtype = SMLP_FLOAT64;
    config.n_layer_sizes = 3;
    config.layer_sizes = sizes;
    config.activations = activations;
    config.loss = SMLP_SOFTMAX_CROSS_ENTROPY;
    config.reduction = SMLP_REDUCTION_SUM;
    config.seed = MODEL_SEED;
    smlp_model *model = NULL;
    check(smlp_create(&config, &model), "smlp_create");

    smlp_optimizer_config adam;
    smlp_optimizer_config_init(&adam, SMLP_ADAM);
    adam.learning_rate = 0.003;
    adam.schedule = SMLP_SCHEDULE_COSINE;
    adam.t_max = EPOCHS;
    check(smlp_set_optimizer(model, &adam), "smlp_set_optimizer");

    /* One starting point for all: rank 0's parameters. (Equal seeds would give equal
     * weights too, but the broadcast also covers a seed taken from the clock or a
     * library built differently elsewhere. A checkpoint needs more: broadcast the bytes
     * of smlp_save_to_buffer, so that the optimizer state is the same too.) */
    const size_t n_params = smlp_param_count(model);
    double *params = xmalloc(n_params * sizeof *params);
    check(smlp_get_params(model, SMLP_FLOAT64, params, n_params), "smlp_get_params");
    MPI_Bcast(params, (int)n_params, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    check(smlp_set_params(model, SMLP_FLOAT64, params, n_params), "smlp_set_params");

    /* Global scaler: statistics of the whole training set, computed on rank 0 and
     * broadcast, never per shard (each shard's mean and std would differ, and so would
     * the models). */
    double scaler[2 * DIGITS_N_FEATURES];
    if (rank == 0) {
        int has_scaler = 0;
        check(smlp_fit_scaler(model, SMLP_FLOAT64, train_x, n_train, DIGITS_N_FEATURES), "smlp_fit_scaler");
        check(smlp_get_scaler(model, scaler, scaler + DIGITS_N_FEATURES, DIGITS_N_FEATURES, &has_scaler),
              "smlp_get_scaler");
    }
    MPI_Bcast(scaler, 2 * DIGITS_N_FEATURES, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    check(smlp_set_scaler(model, scaler, scaler + DIGITS_N_FEATURES, DIGITS_N_FEATURES), "smlp_set_scaler");

    /* One message per step: [ gradient sum (n_params) | loss sum | failed ranks ]. */
    double *message = xmalloc((n_params + 2) * sizeof *message);
    double *shard_x = xmalloc((size_t)GLOBAL_BATCH * DIGITS_N_FEATURES * sizeof *shard_x);
    int32_t *shard_y = xmalloc((size_t)GLOBAL_BATCH * sizeof *shard_y);
    size_t *order = xmalloc(n_train * sizeof *order);
    for (size_t i = 0; i < n_train; i++) order[i] = i;
    uint64_t shuffle_state = SHUFFLE_SEED;

    if (rank == 0) {
        size_t lo, hi, last = n_train % GLOBAL_BATCH;
        printf("data-parallel training on %d rank%s, global batch %d rows; shard rows per rank:",
               size, size == 1 ? "" : "s", GLOBAL_BATCH);
        for (int r = 0; r < size; r++) {
            shard_bounds(GLOBAL_BATCH, r, size, &lo, &hi);
            printf(" %zu", hi - lo);
        }
        if (last != 0) {
            printf(" (last batch of %zu:", last);
            for (int r = 0; r < size; r++) {
                shard_bounds(last, r, size, &lo, &hi);
                printf(" %zu", hi - lo);
            }
            printf(")");
        }
        printf("\n");
    }

    const smlp_dataset test = {SMLP_FLOAT64, n_test, DIGITS_N_FEATURES, test_x, DIGITS_N_CLASSES, NULL, test_y};
    double reduce_seconds = 0;
    size_t steps = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    double start_time = MPI_Wtime();

    for (size_t epoch = 0; epoch < EPOCHS; epoch++) {
        /* The schedule reads the model's epoch count; smlp_train would advance it. */
        check(smlp_set_epoch(model, epoch), "smlp_set_epoch");
        shuffle(order, n_train, &shuffle_state);
        double loss_sum = 0;
        for (size_t start = 0; start < n_train; start += GLOBAL_BATCH) {
            size_t rows = n_train - start < GLOBAL_BATCH ? n_train - start : GLOBAL_BATCH;
            size_t lo, hi;
            shard_bounds(rows, rank, size, &lo, &hi);
            for (size_t r = lo; r < hi; r++) {
                size_t src = order[start + r];
                memcpy(shard_x + (r - lo) * DIGITS_N_FEATURES, train_x + src * DIGITS_N_FEATURES,
                       DIGITS_N_FEATURES * sizeof *shard_x);
                shard_y[r - lo] = train_y[src];
            }
            message[n_params] = 0;     /* this rank's loss sum */
            message[n_params + 1] = 0; /* 1 if this rank failed */
            if (hi > lo) {
                const smlp_dataset shard = {SMLP_FLOAT64, hi - lo, DIGITS_N_FEATURES, shard_x,
                                            DIGITS_N_CLASSES, NULL, shard_y};
                smlp_status status = smlp_gradients(model, &shard, &message[n_params], message, n_params);
                if (status != SMLP_OK) {
                    /* Do not abort alone: tell the others through the same reduction. */
                    fprintf(stderr, "rank %d: smlp_gradients failed: %s (%s)\n", rank,
                            smlp_status_string(status), smlp_last_error());
                    memset(message, 0, (n_params + 1) * sizeof *message);
                    message[n_params + 1] = 1;
                }
            } else {
                /* An empty shard (a short last batch, more ranks than rows): nothing to
                 * compute (smlp_gradients needs >= 1 row), zeros to contribute. */
                memset(message, 0, (n_params + 1) * sizeof *message);
            }
            double t0 = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, message, (int)(n_params + 2), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            reduce_seconds += MPI_Wtime() - t0;
            if (message[n_params + 1] != 0) {
                if (rank == 0) fprintf(stderr, "a rank failed to compute its gradient; stopping\n");
                MPI_Finalize();
                return 1;
            }
            /* Sum over the global batch / its rows = the batch's mean gradient. */
            check(smlp_apply_gradients(model, SMLP_FLOAT64, message, n_params, 1.0 / (double)rows),
                  "smlp_apply_gradients");
            loss_sum += message[n_params];
            steps++;
        }
        if (rank == 0) {
            /* All ranks hold the same model, so one evaluates for all. */
            double test_loss = 0, test_accuracy = 0;
            check(smlp_evaluate(model, &test, &test_loss, &test_accuracy), "smlp_evaluate");
            printf("epoch %2zu  lr %.4f  train loss %.4f  validation loss %.4f  validation accuracy %.2f%%\n",
                   epoch + 1, cosine_lr(&adam, epoch), loss_sum / (double)n_train, test_loss,
                   100.0 * test_accuracy);
            fflush(stdout);
        }
    }
    double seconds = MPI_Wtime() - start_time;
    check(smlp_set_epoch(model, EPOCHS), "smlp_set_epoch");

    /* Are the models really identical? Compare every rank's parameters with rank 0's,
     * bit for bit. */
    double *mine = xmalloc(n_params * sizeof *mine);
    check(smlp_get_params(model, SMLP_FLOAT64, mine, n_params), "smlp_get_params");
    memcpy(params, mine, n_params * sizeof *params);
    MPI_Bcast(params, (int)n_params, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    int differs = memcmp(params, mine, n_params * sizeof *params) != 0, ranks_differing = 0;
    MPI_Reduce(&differs, &ranks_differing, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);

    int status = 0;
    if (rank == 0) {
        double test_loss = 0, test_accuracy = 0;
        check(smlp_evaluate(model, &test, &test_loss, &test_accuracy), "smlp_evaluate");
        printf("trained %d epochs (%zu steps) in %.2f s of wall time on %d rank%s; allreduce %.1f%% of it\n",
               EPOCHS, steps, seconds, size, size == 1 ? "" : "s", 100.0 * reduce_seconds / seconds);
        printf("parameters identical on all ranks: %s\n", ranks_differing == 0 ? "yes" : "NO");
        printf("test loss %.4f, test accuracy %.2f%% (%zu images)\n", test_loss, 100.0 * test_accuracy, n_test);
        if (ranks_differing != 0) {
            fprintf(stderr, "%d rank(s) ended with parameters different from rank 0's\n", ranks_differing);
            status = 1;
        }
        if (test_accuracy < 0.96) {
            fprintf(stderr, "test accuracy below the 96%% this example promises\n");
            status = 1;
        }
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);

    smlp_free(model);
    free(mine);
    free(order);
    free(shard_y);
    free(shard_x);
    free(message);
    free(params);
    free(train_x);
    free(train_y);
    free(test_x);
    free(test_y);
    MPI_Finalize();
    return status;
}
