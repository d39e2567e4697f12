/*
 * test_mpi_data_parallel.c - data-parallel training over MPI gives the same model on
 * every rank, and the same model as one process training on the whole batches.
 *
 * Run under mpirun with any number of ranks (Tests/mpi/run.sh uses 1, 2 and 3). For
 * each case below, every rank trains with the pattern of examples/mpi_train.c:
 *   smlp_gradients (SUM reduction) on its UNEQUAL shard of each global batch (or zeros
 *   for an empty shard) -> MPI_Allreduce(SUM) -> smlp_apply_gradients(1 / batch rows),
 * starting from rank 0's parameters (each rank creates its model with a DIFFERENT seed,
 * so the broadcast is what makes them agree). Rank 0 also trains a reference model
 * in-process: MEAN reduction, smlp_step on each whole global batch, same order.
 *
 * Checked for every case:
 *   - the scaler fitted on every rank from the full data is bitwise the same;
 *   - after the broadcast and after EVERY step, all ranks hold bitwise identical
 *     parameters (rank 0's vector is broadcast and compared with memcmp on each rank);
 *   - the first allreduced gradient / rows equals the reference's mean gradient, and
 *     every step's summed loss / rows equals the reference's batch loss;
 *   - after all steps the parameters equal the reference's, within the case's
 *     tolerance, measured as max_i |p_i - q_i| / max_i |q_i|;
 *   - with 2 or more ranks, some step really had an empty shard (the last batch has one
 *     row), and the naive mistake (averaging per-shard MEAN gradients of unequal shards)
 *     is far outside the tolerance, so the tolerance does discriminate.
 *
 * Why 1e-12 in float64 and not bitwise: the distributed gradient adds the same
 * per-sample terms in a different order (a column sum over each shard inside BLAS,
 * then the allreduce across ranks, then the 1/n scale) than the single process (one
 * column sum over the whole batch of terms already scaled by 1/n). Floating-point
 * addition is not associative, so each entry may differ by a few units of roundoff
 * (u = 2^-53 ~ 1.1e-16) times the sum of the magnitudes of its terms: ~1e-15 relative
 * at worst for a batch of 64, and the optimizer carries that along over 12 steps
 * without amplifying it much. What this test measures is ~1e-16 to 1e-15 (it prints the
 * value), so 1e-12 leaves three orders of magnitude for other CPUs and BLAS kernels,
 * while any real mistake (a missed or double-counted row or shard, the wrong scale,
 * per-shard means averaged) is >= 1e-3, nine orders above. With one rank the
 * two computations coincide (1/64 is a power of two) and the error is exactly 0.
 * float32 (u = 2^-24 ~ 6e-8) measures ~1e-7 and gets 1e-5.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "swiftmlp.h"

static int g_rank = 0, g_size = 1;
static int g_passed = 0, g_failed = 0;

/* A collective check: passes only if it passes on every rank; rank 0 reports it. */
static void expect(int ok, const char *format, ...) {
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (all_ok) g_passed++; else g_failed++;
    if (g_rank == 0) {
        va_list args;
        va_start(args, format);
        printf("%s - ", all_ok ? "ok  " : "FAIL");
        vprintf(format, args);
        printf("\n");
        va_end(args);
        fflush(stdout);
    }
}

static void die(smlp_status status, const char *what) {
    fprintf(stderr, "rank %d: %s failed: %s (%s)\n", g_rank, what, smlp_status_string(status), smlp_last_error());
    MPI_Abort(MPI_COMM_WORLD, 2);
}
#define CHECK(call) do { smlp_status s_ = (call); if (s_ != SMLP_OK) die(s_, #call); } while (0)

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        fprintf(stderr, "rank %d: out of memory\n", g_rank);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return p;
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *state) { /* [0, 1) */
    return (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Shares proportional to rank + 1, as in examples/mpi_train.c. */
static void shard_bounds(size_t rows, int rank, int size, size_t *lo, size_t *hi) {
    size_t total = (size_t)size * ((size_t)size + 1) / 2;
    size_t before = (size_t)rank * ((size_t)rank + 1) / 2;
    *lo = rows * before / total;
    *hi = rows * (before + (size_t)rank + 1) / total;
}

/* ---- Buffers in the model's dtype -------------------------------------------------- */

static size_t dsize(smlp_dtype dtype) { return dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double); }
static MPI_Datatype mpi_type(smlp_dtype dtype) { return dtype == SMLP_FLOAT32 ? MPI_FLOAT : MPI_DOUBLE; }
static double get(smlp_dtype dtype, const void *p, size_t i) {
    return dtype == SMLP_FLOAT32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static void put(smlp_dtype dtype, void *p, size_t i, double v) {
    if (dtype == SMLP_FLOAT32) ((float *)p)[i] = (float)v; else ((double *)p)[i] = v;
}

/* max_i |a_i - s * b_i| / max_i |s * b_i|: the error relative to the vector's scale. */
static double rel_error(smlp_dtype dtype, const void *a, const void *b, double s, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double x = get(dtype, a, i), y = s * get(dtype, b, i);
        if (fabs(x - y) > worst || x != x || y != y) worst = (x != x || y != y) ? INFINITY : fabs(x - y);
        if (fabs(y) > scale) scale = fabs(y);
    }
    return scale > 0 ? worst / scale : worst;
}

/* 1 on the ranks whose parameters differ (bitwise) from rank 0's. */
static int differs_from_rank0(smlp_model *model, smlp_dtype dtype, size_t n, void *mine, void *theirs) {
    CHECK(smlp_get_params(model, dtype, mine, n));
    memcpy(theirs, mine, n * dsize(dtype));
    MPI_Bcast(theirs, (int)n, mpi_type(dtype), 0, MPI_COMM_WORLD);
    return memcmp(mine, theirs, n * dsize(dtype)) != 0;
}

/* ---- The cases ----------------------------------------------------------------------- */

typedef struct test_case {
    const char *name;
    smlp_dtype dtype;
    size_t n_sizes;
    size_t sizes[5];
    smlp_activation activations[4];
    smlp_loss loss;
    int labels;                     /* integer labels (softmax CE) or dense y         */
    smlp_optimizer kind;
    double learning_rate;
    double tolerance;
} test_case;

#define N_ROWS 193                  /* batches of 64, 64, 64 and 1 (-> empty shards)  */
#define BATCH 64
#define EPOCHS 3

static void run_case(const test_case *tc) {
    const smlp_dtype dt = tc->dtype;
    const size_t n_in = tc->sizes[0], n_out = tc->sizes[tc->n_sizes - 1];
    if (g_rank == 0) printf("# %s (%d rank%s)\n", tc->name, g_size, g_size == 1 ? "" : "s");

    /* The data, generated identically on every rank: features with different offsets
     * and scales (so the scaler matters), targets from a fixed random teacher. */
    uint64_t rng = 12345;
    double *xd = xcalloc(N_ROWS * n_in, sizeof *xd);
    for (size_t j = 0; j < n_in; j++) {
        double offset = 10 * uniform(&rng) - 5, spread = 0.1 + 4 * uniform(&rng);
        for (size_t i = 0; i < N_ROWS; i++) xd[i * n_in + j] = offset + spread * (2 * uniform(&rng) - 1);
    }
    double *teacher = xcalloc(n_in * n_out, sizeof *teacher);
    for (size_t k = 0; k < n_in * n_out; k++) teacher[k] = 2 * uniform(&rng) - 1;
    void *x = xcalloc(N_ROWS * n_in, dsize(dt));
    void *y = xcalloc(N_ROWS * n_out, dsize(dt));
    int32_t *labels = xcalloc(N_ROWS, sizeof *labels);
    for (size_t i = 0; i < N_ROWS; i++) {
        size_t best = 0;
        double best_score = -INFINITY;
        for (size_t k = 0; k < n_out; k++) {
            double score = 0;
            for (size_t j = 0; j < n_in; j++) score += teacher[j * n_out + k] * tanh(xd[i * n_in + j] / 3);
            put(dt, y, i * n_out + k, 1 / (1 + exp(-score)));
            if (score > best_score) { best_score = score; best = k; }
        }
        labels[i] = (int32_t)best;
        for (size_t j = 0; j < n_in; j++) put(dt, x, i * n_in + j, xd[i * n_in + j]);
    }

    /* The distributed model: SUM reduction, and a different seed on every rank. */
    smlp_config config;
    smlp_config_init(&config);
    config.dtype = dt;
    config.n_layer_sizes = tc->n_sizes;
    config.layer_sizes = tc->sizes;
    config.activations = tc->activations;
    config.loss = tc->loss;
    config.reduction = SMLP_REDUCTION_SUM;
    config.seed = 100 + (uint64_t)g_rank;
    smlp_model *model = NULL;
    CHECK(smlp_create(&config, &model));

    smlp_optimizer_config opt;
    smlp_optimizer_config_init(&opt, tc->kind);
    opt.learning_rate = tc->learning_rate;
    if (tc->kind == SMLP_SGD) {
        /* Momentum, Nesterov, weight decay and clipping: clipping must see the norm of
         * the GLOBAL gradient, which only the summed gradient has. */
        opt.momentum = 0.9;
        opt.nesterov = 1;
        opt.weight_decay = 1e-3;
        opt.clip_norm = 0.05;
    } else {
        opt.schedule = SMLP_SCHEDULE_COSINE;
        opt.t_max = EPOCHS;
    }
    CHECK(smlp_set_optimizer(model, &opt));
    CHECK(smlp_fit_scaler(model, dt, x, N_ROWS, n_in));

    const size_t n_params = smlp_param_count(model);
    void *params = xcalloc(n_params, dsize(dt)), *rank0 = xcalloc(n_params, dsize(dt));

    /* Same scaler everywhere (every rank fitted it on the full data). */
    {
        double *stats = xcalloc(2 * n_in, sizeof *stats), *stats0 = xcalloc(2 * n_in, sizeof *stats0);
        int has = 0;
        CHECK(smlp_get_scaler(model, stats, stats + n_in, n_in, &has));
        memcpy(stats0, stats, 2 * n_in * sizeof *stats);
        MPI_Bcast(stats0, (int)(2 * n_in), MPI_DOUBLE, 0, MPI_COMM_WORLD);
        expect(has && memcmp(stats, stats0, 2 * n_in * sizeof *stats) == 0,
               "the scaler fitted on every rank from the full data is bitwise the same");
        free(stats);
        free(stats0);
    }

    /* Broadcast rank 0's initial parameters. */
    CHECK(smlp_get_params(model, dt, params, n_params));
    MPI_Bcast(params, (int)n_params, mpi_type(dt), 0, MPI_COMM_WORLD);
    CHECK(smlp_set_params(model, dt, params, n_params));
    expect(!differs_from_rank0(model, dt, n_params, params, rank0),
           "after MPI_Bcast every rank holds rank 0's initial parameters (%zu values)", n_params);

    /* The single-process reference on rank 0: MEAN reduction, rank 0's seed. */
    smlp_model *reference = NULL;
    if (g_rank == 0) {
        config.reduction = SMLP_REDUCTION_MEAN;
        config.seed = 100;
        CHECK(smlp_create(&config, &reference));
        CHECK(smlp_set_optimizer(reference, &opt));
        CHECK(smlp_fit_scaler(reference, dt, x, N_ROWS, n_in));
        CHECK(smlp_get_params(reference, dt, rank0, n_params));
        if (memcmp(rank0, params, n_params * dsize(dt)) != 0) {
            fprintf(stderr, "the reference does not start from rank 0's parameters\n");
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }

    void *grad = xcalloc(n_params, dsize(dt)), *ref_grad = xcalloc(n_params, dsize(dt));
    void *naive = xcalloc(n_params, dsize(dt));
    void *batch_x = xcalloc(BATCH * n_in, dsize(dt)), *batch_y = xcalloc(BATCH * n_out, dsize(dt));
    int32_t *batch_labels = xcalloc(BATCH, sizeof *batch_labels);
    size_t *order = xcalloc(N_ROWS, sizeof *order);
    for (size_t i = 0; i < N_ROWS; i++) order[i] = i;
    uint64_t shuffle_state = 99; /* the same on every rank */

    size_t steps = 0, steps_differing = 0, empty_shards = 0;
    double worst_loss_error = 0, first_grad_error = -1, naive_error = -1, clip_ratio = 0;
    const size_t es = dsize(dt);

    for (size_t epoch = 0; epoch < EPOCHS; epoch++) {
        CHECK(smlp_set_epoch(model, epoch));
        if (reference) CHECK(smlp_set_epoch(reference, epoch));
        for (size_t i = N_ROWS; i > 1; i--) {
            size_t j = (size_t)(splitmix64(&shuffle_state) % i), t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        for (size_t start = 0; start < N_ROWS; start += BATCH) {
            const size_t rows = N_ROWS - start < BATCH ? N_ROWS - start : BATCH;
            /* Every rank gathers the whole global batch here only so that the test can
             * also build the naive average and the reference; a rank needs its shard. */
            for (size_t r = 0; r < rows; r++) {
                size_t src = order[start + r];
                memcpy((char *)batch_x + r * n_in * es, (const char *)x + src * n_in * es, n_in * es);
                memcpy((char *)batch_y + r * n_out * es, (const char *)y + src * n_out * es, n_out * es);
                batch_labels[r] = labels[src];
            }
            size_t lo, hi;
            shard_bounds(rows, g_rank, g_size, &lo, &hi);
            double stats[2] = {0, hi == lo}; /* loss sum of the shard, empty shards */
            if (hi > lo) {
                const smlp_dataset shard = {dt, hi - lo, n_in, (const char *)batch_x + lo * n_in * es, n_out,
                                            tc->labels ? NULL : (const char *)batch_y + lo * n_out * es,
                                            tc->labels ? batch_labels + lo : NULL};
                CHECK(smlp_gradients(model, &shard, &stats[0], grad, n_params));
            } else {
                memset(grad, 0, n_params * es);
            }
            MPI_Allreduce(MPI_IN_PLACE, grad, (int)n_params, mpi_type(dt), MPI_SUM, MPI_COMM_WORLD);
            MPI_Allreduce(MPI_IN_PLACE, stats, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            empty_shards += (size_t)stats[1];

            const smlp_dataset whole = {dt, rows, n_in, batch_x, n_out, tc->labels ? NULL : batch_y,
                                        tc->labels ? batch_labels : NULL};
            if (steps == 0) {
                /* The naive mistake: every rank takes its shard's MEAN gradient and the
                 * ranks average them, which weights the rows of small shards more. */
                memset(naive, 0, n_params * es);
                if (hi > lo) {
                    const smlp_dataset shard = {dt, hi - lo, n_in, (const char *)batch_x + lo * n_in * es, n_out,
                                                tc->labels ? NULL : (const char *)batch_y + lo * n_out * es,
                                                tc->labels ? batch_labels + lo : NULL};
                    CHECK(smlp_gradients(model, &shard, NULL, naive, n_params));
                    for (size_t k = 0; k < n_params; k++)
                        put(dt, naive, k, get(dt, naive, k) / (double)(hi - lo) / (double)g_size);
                }
                MPI_Allreduce(MPI_IN_PLACE, naive, (int)n_params, mpi_type(dt), MPI_SUM, MPI_COMM_WORLD);
                if (reference) {
                    CHECK(smlp_gradients(reference, &whole, NULL, ref_grad, n_params));
                    /* grad / rows against the mean gradient, i.e. grad against rows * ref. */
                    first_grad_error = rel_error(dt, grad, ref_grad, (double)rows, n_params);
                    naive_error = rel_error(dt, naive, ref_grad, 1.0, n_params);
                    double norm = 0;
                    for (size_t k = 0; k < n_params; k++) norm += get(dt, ref_grad, k) * get(dt, ref_grad, k);
                    clip_ratio = sqrt(norm) / (opt.clip_norm > 0 ? opt.clip_norm : 1);
                }
            }

            CHECK(smlp_apply_gradients(model, dt, grad, n_params, 1.0 / (double)rows));
            if (reference) {
                double ref_loss = 0;
                CHECK(smlp_step(reference, &whole, &ref_loss));
                double loss = stats[0] / (double)rows, e = fabs(loss - ref_loss) / fabs(ref_loss);
                if (!(e <= worst_loss_error)) worst_loss_error = e; /* NaN wins */
            }
            int differs = differs_from_rank0(model, dt, n_params, params, rank0), n_differing = 0;
            MPI_Allreduce(&differs, &n_differing, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
            if (n_differing) steps_differing++;
            steps++;
        }
    }

    expect(steps_differing == 0, "all %d rank%s hold bitwise identical parameters after each of %zu steps%s",
           g_size, g_size == 1 ? "" : "s", steps, steps_differing ? " (NOT after some)" : "");
    if (g_size > 1) {
        expect(empty_shards > 0, "empty shards were exercised (%zu rank-steps with no rows)", empty_shards);
    }
    /* Rank 0 computed the comparisons; share them so that every rank agrees. */
    double errors[4] = {first_grad_error, worst_loss_error, naive_error, 0};
    if (reference) {
        CHECK(smlp_get_params(reference, dt, rank0, n_params));
        CHECK(smlp_get_params(model, dt, params, n_params));
        errors[3] = rel_error(dt, params, rank0, 1.0, n_params);
    }
    MPI_Bcast(errors, 4, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    const double tol = tc->tolerance;
    expect(errors[0] <= tol, "first step: allreduced SUM gradient / %d = single-process MEAN gradient "
           "(rel. error %.2e <= %.0e)", BATCH, errors[0], tol);
    expect(errors[1] <= tol, "every step: allreduced loss sum / rows = single-process batch loss "
           "(worst rel. error %.2e <= %.0e)", errors[1], tol);
    expect(errors[3] <= tol, "after %zu steps the parameters equal the single-process run's "
           "(rel. error %.2e <= %.0e)", steps, errors[3], tol);
    if (g_size > 1) {
        expect(errors[2] > 100 * tol, "the naive average of per-shard means is detected as wrong "
               "(rel. error %.2e > %.0e)", errors[2], 100 * tol);
    }
    if (g_rank == 0 && opt.clip_norm > 0) {
        printf("#   (first step: global gradient norm / clip_norm = %.1f, so clipping was active)\n", clip_ratio);
    }

    smlp_free(reference);
    smlp_free(model);
    free(order);
    free(batch_labels);
    free(batch_y);
    free(batch_x);
    free(naive);
    free(ref_grad);
    free(grad);
    free(rank0);
    free(params);
    free(labels);
    free(y);
    free(x);
    free(teacher);
    free(xd);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);

    const test_case cases[] = {
        {"float64, 6-16-16-5 relu/tanh/softmax, softmax CE on labels, Adam + cosine schedule",
         SMLP_FLOAT64, 4, {6, 16, 16, 5, 0}, {SMLP_RELU, SMLP_TANH, SMLP_SOFTMAX, SMLP_IDENTITY},
         SMLP_SOFTMAX_CROSS_ENTROPY, 1, SMLP_ADAM, 0.01, 1e-12},
        {"float64, 6-12-3 leaky relu/sigmoid, MSE on dense targets, SGD Nesterov + weight decay + clipping",
         SMLP_FLOAT64, 3, {6, 12, 3, 0, 0}, {SMLP_LEAKY_RELU, SMLP_SIGMOID, SMLP_IDENTITY, SMLP_IDENTITY},
         SMLP_MSE, 0, SMLP_SGD, 0.1, 1e-12},
        {"float32, 6-16-16-5 relu/tanh/softmax, softmax CE on labels, Adam + cosine schedule",
         SMLP_FLOAT32, 4, {6, 16, 16, 5, 0}, {SMLP_RELU, SMLP_TANH, SMLP_SOFTMAX, SMLP_IDENTITY},
         SMLP_SOFTMAX_CROSS_ENTROPY, 1, SMLP_ADAM, 0.01, 1e-5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);

    if (g_rank == 0) printf("%d passed, %d failed\n", g_passed, g_failed);
    MPI_Finalize();
    return g_failed == 0 ? 0 : 1;
}
