/*
 * bench_step.c - where the time of one data-parallel step goes: gradients on the
 * shard, MPI_Allreduce of the gradient, smlp_apply_gradients. Not a test (run.sh does
 * not run it); the numbers in docs/distributed.md come from it.
 *
 *   mpicc -std=c99 -O2 -Iinclude Tests/mpi/bench_step.c -Lbuild/lib -lswiftmlp -lm \
 *         -Wl,-rpath,$PWD/build/lib -o bench_step
 *   OPENBLAS_NUM_THREADS=1 mpirun -np 2 ./bench_step digits      (or: big, big32)
 *
 * Presets (synthetic data, softmax cross-entropy on labels, Adam):
 *   digits  64-64-10 relu/softmax, float64, global batch 64       (4,810 parameters)
 *   big     784-512-512-10 relu/relu/softmax, float64, batch 256  (669,706 parameters)
 *   big32   the same in float32
 * The global batch is split as evenly as possible, so the allreduce time is mostly
 * communication, not waiting for a slower rank. Each rank times every step with
 * MPI_Wtime; rank 0 prints the mean per step, the slowest rank for the whole step,
 * and for the allreduce both the mean over ranks and the smallest (the rank that
 * waited least, the closest to the pure cost of the communication), each the median
 * over the steps. With one rank it also times smlp_step on the whole batch, the
 * single-process baseline.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "swiftmlp.h"

static void check(smlp_status status, const char *what) {
    if (status != SMLP_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, smlp_status_string(status), smlp_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    const char *preset = argc > 1 ? argv[1] : "digits";
    size_t sizes[4];
    smlp_activation activations[3];
    size_t n_sizes, batch, warmup, steps;
    smlp_dtype dtype = SMLP_FLOAT64;
    if (strcmp(preset, "digits") == 0) {
        n_sizes = 3;
        sizes[0] = 64; sizes[1] = 64; sizes[2] = 10;
        activations[0] = SMLP_RELU; activations[1] = SMLP_SOFTMAX;
        batch = 64; warmup = 50; steps = 2000;
    } else if (strcmp(preset, "big") == 0 || strcmp(preset, "big32") == 0) {
        n_sizes = 4;
        sizes[0] = 784; sizes[1] = 512; sizes[2] = 512; sizes[3] = 10;
        activations[0] = SMLP_RELU; activations[1] = SMLP_RELU; activations[2] = SMLP_SOFTMAX;
        batch = 256; warmup = 3; steps = 40;
        if (strcmp(preset, "big32") == 0) dtype = SMLP_FLOAT32;
    } else {
        if (rank == 0) fprintf(stderr, "usage: bench_step digits|big|big32 [steps]\n");
        MPI_Finalize();
        return 2;
    }
    if (argc > 2) steps = (size_t)strtoul(argv[2], NULL, 10);
    const size_t n_in = sizes[0], n_out = sizes[n_sizes - 1];
    const size_t es = dtype == SMLP_FLOAT32 ? sizeof(float) : sizeof(double);
    const MPI_Datatype mt = dtype == SMLP_FLOAT32 ? MPI_FLOAT : MPI_DOUBLE;

    smlp_config config;
    smlp_config_init(&config);
    config.dtype = dtype;
    config.n_layer_sizes = n_sizes;
    config.layer_sizes = sizes;
    config.activations = activations;
    config.loss = SMLP_SOFTMAX_CROSS_ENTROPY;
    config.reduction = SMLP_REDUCTION_SUM;
    config.seed = 1;
    smlp_model *model = NULL;
    check(smlp_create(&config, &model), "smlp_create");
    smlp_optimizer_config adam;
    smlp_optimizer_config_init(&adam, SMLP_ADAM);
    adam.learning_rate = 1e-4;
    check(smlp_set_optimizer(model, &adam), "smlp_set_optimizer");
    const size_t n_params = smlp_param_count(model);

    /* This rank's shard of a synthetic batch: as even as possible. */
    const size_t lo = batch * (size_t)rank / (size_t)size, hi = batch * ((size_t)rank + 1) / (size_t)size;
    const size_t rows = hi - lo;
    uint64_t rng = 42 + (uint64_t)rank;
    void *x = malloc(batch * n_in * es), *grad = malloc(n_params * es);
    int32_t *labels = malloc(batch * sizeof *labels);
    if (x == NULL || grad == NULL || labels == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
    for (size_t i = 0; i < batch * n_in; i++) {
        double v = (double)(splitmix64(&rng) >> 11) * (1.0 / 9007199254740992.0) * 2 - 1;
        if (dtype == SMLP_FLOAT32) ((float *)x)[i] = (float)v; else ((double *)x)[i] = v;
    }
    for (size_t i = 0; i < batch; i++) labels[i] = (int32_t)(splitmix64(&rng) % n_out);
    const smlp_dataset shard = {dtype, rows, n_in, x, n_out, NULL, labels};

    /* Per step: [0] gradients, [1] allreduce, [2] apply, [3] whole step (seconds). */
    double *times = malloc(4 * steps * sizeof *times), *column = malloc(steps * sizeof *column);
    if (times == NULL || column == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
    for (size_t s = 0; s < warmup + steps; s++) {
        if (s == warmup) MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime(), loss = 0;
        if (rows > 0) check(smlp_gradients(model, &shard, &loss, grad, n_params), "smlp_gradients");
        else memset(grad, 0, n_params * es);
        double t1 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, grad, (int)n_params, mt, MPI_SUM, MPI_COMM_WORLD);
        double t2 = MPI_Wtime();
        check(smlp_apply_gradients(model, dtype, grad, n_params, 1.0 / (double)batch), "smlp_apply_gradients");
        double t3 = MPI_Wtime();
        if (s >= warmup) {
            double *row = times + 4 * (s - warmup);
            row[0] = t1 - t0;
            row[1] = t2 - t1;
            row[2] = t3 - t2;
            row[3] = t3 - t0;
        }
    }
    /* Medians, not means: on a shared machine a descheduled rank makes a few steps
     * very slow, and the median ignores them. */
    double t[4];
    for (int k = 0; k < 4; k++) {
        for (size_t s = 0; s < steps; s++) column[s] = times[4 * s + (size_t)k];
        qsort(column, steps, sizeof *column, compare_doubles);
        t[k] = steps % 2 ? column[steps / 2] : (column[steps / 2 - 1] + column[steps / 2]) / 2;
    }
    free(column);
    free(times);
    double mean[4], worst[4], least[4];
    MPI_Reduce(t, mean, 4, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(t, worst, 4, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(t, least, 4, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);

    /* Single-process baseline: smlp_step (MEAN reduction) on the whole batch. */
    double step_ms = -1;
    if (size == 1) {
        smlp_model *single = NULL;
        config.reduction = SMLP_REDUCTION_MEAN;
        check(smlp_create(&config, &single), "smlp_create");
        check(smlp_set_optimizer(single, &adam), "smlp_set_optimizer");
        const smlp_dataset whole = {dtype, batch, n_in, x, n_out, NULL, labels};
        for (size_t s = 0; s < warmup; s++) check(smlp_step(single, &whole, NULL), "smlp_step");
        double *each = malloc(steps * sizeof *each);
        if (each == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
        for (size_t s = 0; s < steps; s++) {
            double t0 = MPI_Wtime();
            check(smlp_step(single, &whole, NULL), "smlp_step");
            each[s] = MPI_Wtime() - t0;
        }
        qsort(each, steps, sizeof *each, compare_doubles);
        step_ms = 1e3 * (steps % 2 ? each[steps / 2] : (each[steps / 2 - 1] + each[steps / 2]) / 2);
        free(each);
        smlp_free(single);
    }

    if (rank == 0) {
        for (int i = 0; i < 4; i++) mean[i] /= size;
        const char *threads = getenv("OPENBLAS_NUM_THREADS");
        printf("%-6s %s  %zu params (%zu bytes/allreduce), batch %zu, %d rank%s x %s BLAS thread(s), %zu steps\n",
               preset, dtype == SMLP_FLOAT32 ? "f32" : "f64", n_params, n_params * es, batch, size,
               size == 1 ? "" : "s", threads ? threads : "default", steps);
        printf("  median step %.3f ms (slowest rank %.3f) = gradients %.3f + allreduce %.3f (least-waiting rank %.3f) "
               "+ apply %.3f; allreduce share %.0f%% (least-waiting %.0f%%)\n",
               1e3 * mean[3], 1e3 * worst[3], 1e3 * mean[0], 1e3 * mean[1], 1e3 * least[1], 1e3 * mean[2],
               100 * mean[1] / mean[3], 100 * least[1] / mean[3]);
        if (step_ms >= 0) printf("  single-process smlp_step on the whole batch: %.3f ms\n", step_ms);
        fflush(stdout);
    }
    smlp_free(model);
    free(labels);
    free(grad);
    free(x);
    MPI_Finalize();
    return 0;
}
