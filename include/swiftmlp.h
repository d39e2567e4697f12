/*
 * swiftmlp.h - the C interface of libswiftmlp, a multilayer perceptron.
 *
 * This header is the contract. Everything the shared library exports is declared
 * here, and nothing else is exported.
 *
 * Conventions (they hold for every function below unless its comment says otherwise)
 * -----------------------------------------------------------------------------------
 * Status.     Functions that can fail return an smlp_status. SMLP_OK (0) means
 *             success. On failure, smlp_last_error() returns a message naming the
 *             problem, and the model is left exactly as it was before the call
 *             (parameters, optimizer state, random state, settings). The one
 *             exception is an update that overflows though its gradient was finite
 *             (smlp_step, smlp_apply_gradients; see smlp_step).
 * Handles.    An smlp_model is opaque. smlp_create() makes one, smlp_free() releases
 *             it. Passing a pointer that is not a live model (freed, or garbage) is
 *             undefined behaviour, as with free(); NULL is always detected.
 * Data.       Matrices are row-major ("C order", NumPy's default) and contiguous:
 *             element (i, j) of an n_rows x n_cols matrix is at index i*n_cols + j.
 *             Their element type is the model's dtype: float for SMLP_FLOAT32,
 *             double for SMLP_FLOAT64. Each data argument comes with its dtype and
 *             shape, and the library checks both against the model.
 * Sizes.      A size_t argument or field means its unsigned value, also above
 *             SSIZE_MAX, and messages print it unsigned. A capacity or a limit
 *             larger than needed is fine (capacity SIZE_MAX, batch_size SIZE_MAX);
 *             a size that must equal the model's is SHAPE_MISMATCH otherwise; a
 *             shape or byte size larger than any buffer can be (rows x columns, or
 *             a byte count, above SSIZE_MAX) is SHAPE_MISMATCH or INVALID_ARGUMENT.
 * Ownership.  The library never keeps a pointer the caller passed after the call
 *             returns, and never frees caller memory. Strings it returns are owned by
 *             the library (see each function).
 * Threads.    Different models may be used from different threads at the same time.
 *             On one model, any number of threads may call the read-only functions
 *             (smlp_predict, smlp_get_params, the queries) at once. A call that
 *             changes a model (step, gradients, train, set_*) while any other call on
 *             the same model is running returns SMLP_ERR_BUSY and changes nothing;
 *             it never corrupts the model. A read-only call made while a changing
 *             call runs returns SMLP_ERR_BUSY too, except smlp_param_count and
 *             smlp_layer_info_get, which read only what never changes. Error
 *             messages are per thread. Stack: OpenBLAS 0.3.21's thread-local data
 *             takes 60 KiB of every thread's stack in a process that loads it (a
 *             pthread_create with a 64 KiB stack fails with EINVAL, even for a
 *             thread that never calls the library); calls need about 16 KiB more,
 *             about 28 KiB when OpenBLAS splits a product over its threads.
 * Floating point. Every call but smlp_predict, smlp_step and smlp_gradients
 *             computes in the default environment whatever the caller's: all
 *             exceptions masked (so a caller's feenableexcept traps never raise
 *             SIGFPE inside the library, which meets NaN, infinity, overflow and
 *             underflow on purpose and reports them as statuses), round to nearest,
 *             no flush-to-zero or denormals-are-zero; so their results, seeded
 *             weights and text files read back are the same bits under any caller's
 *             settings. Such a call made in another environment switches to the
 *             default one and restores the caller's on return (rounding, traps,
 *             FTZ/DAZ and the SSE status flags as they were); in the default one it
 *             changes nothing, and exceptions it raises (inexact, underflow) stay in
 *             the status flags. A training callback runs in the library's
 *             environment. The three per-row calls compute in the caller's (reading
 *             it would cost up to a fifth of a small network's call): with traps
 *             on they can raise SIGFPE on non-finite inputs or on overflow, and under
 *             another rounding mode or FTZ/DAZ their results differ by rounding and
 *             an overflow may stop at the largest finite value; a caller that
 *             changes the environment should restore the default around them
 *             (fegetenv/fesetenv). No call leaves the caller's environment changed.
 *             OpenBLAS's worker threads keep the environment they started with.
 * Memory.     After the first call at a given batch size, smlp_predict,
 *             smlp_gradients and smlp_step allocate no heap memory: the model keeps a
 *             workspace sized for the largest batch it has seen (and up to 8
 *             prediction workspaces for concurrent smlp_predict calls; a 9th
 *             simultaneous prediction on one model allocates scratch for its call).
 *             This holds for libswiftmlp's own code, and for OpenBLAS 0.3.21 with
 *             one BLAS thread (smlp_set_num_threads(1)), with one exception: on
 *             AVX-512 CPUs its small-matrix kernels (products of at most 10^6
 *             multiply-adds) malloc a buffer for some shapes (seen in float64;
 *             the float32 kernel has the same code). With more
 *             than one BLAS thread (the default on a multi-core machine), OpenBLAS
 *             runs each product of more than 262144 multiply-adds (m*n*k) on its
 *             threads, and its threaded driver mallocs and frees 512 KiB per
 *             product (MAX_CPU_NUMBER job slots, 64 in Debian's build) and calls
 *             exit(1) if that malloc fails: under memory exhaustion such a call can
 *             end the process. And a BLAS thread started while no memory is left
 *             (OpenBLAS starts them at load and when smlp_set_num_threads raises
 *             the count) retries its buffer mmap for ever, so the process then
 *             hangs at exit. Neither can be changed from libswiftmlp (OpenBLAS's
 *             thread count is one process-wide setting); where the process must
 *             survive memory exhaustion, use one BLAS thread
 *             (OPENBLAS_NUM_THREADS=1, or smlp_set_num_threads(1) early).
 *             Tests/c/test_no_allocation.c counts both, and shows the boundary.
 * CPUs.       On x86-64 the library's own loops (the small layers' products and
 *             activations, the SGD and Adam updates, the finiteness checks) run from a
 *             copy compiled for x86-64-v3 (AVX2) when the CPU has it, and from
 *             baseline x86-64 (SSE2) code otherwise. Both compute the same
 *             operations in the same order: the results are the same bits. Setting
 *             the environment variable SWIFTMLP_AVX2=0 before the first call keeps
 *             the baseline loops. (OpenBLAS chooses its own kernels for the larger
 *             products.)
 *
 * Layout of the parameter vector
 * ------------------------------
 * All parameters live in one contiguous vector, layer by layer. Layer l (0-based)
 * maps n_in = layer_sizes[l] inputs to n_out = layer_sizes[l+1] outputs and holds
 *     W_l : n_in x n_out, row-major   (W_l[i][j] connects input i to output j)
 *     b_l : n_out
 * W_l first, then b_l, then layer l+1. smlp_layer_info_get() returns each offset. The
 * gradient vector returned by smlp_gradients() has exactly the same layout.
 *
 * Forward pass, for a batch X of shape n x layer_sizes[0]:
 *     Z_l = A_{l-1} W_l + 1 b_l        (n x n_out; A_{-1} = X)
 *     A_l = activation_l(Z_l)
 * See docs/backprop.md for the backward pass and every shape.
 */
#ifndef SWIFTMLP_H
#define SWIFTMLP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ---------------------------------------------------------------- */

#define SMLP_VERSION_MAJOR 0
#define SMLP_VERSION_MINOR 1
#define SMLP_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH, comparable with smlp_version(). */
#define SMLP_VERSION_NUMBER \
    (SMLP_VERSION_MAJOR * 10000 + SMLP_VERSION_MINOR * 100 + SMLP_VERSION_PATCH)
/* "MAJOR.MINOR.PATCH", spelled from the three numbers above (the one place the version
 * is written: the Makefile, the Swift library and the Python package all read it). */
#define SMLP_VERSION_QUOTE(text) #text
#define SMLP_VERSION_EXPAND_AND_QUOTE(text) SMLP_VERSION_QUOTE(text)
#define SMLP_VERSION_DOTTED SMLP_VERSION_MAJOR.SMLP_VERSION_MINOR.SMLP_VERSION_PATCH
#define SMLP_VERSION_STRING SMLP_VERSION_EXPAND_AND_QUOTE(SMLP_VERSION_DOTTED)

/* The version of the library loaded at run time, as SMLP_VERSION_NUMBER computes it.
 * A program built against this header should check that the major versions agree:
 * smlp_version() / 10000 == SMLP_VERSION_MAJOR. Never fails. */
unsigned smlp_version(void);

/* The same as a static string such as "0.1.0". Never fails; never NULL. */
const char *smlp_version_string(void);

/* ---- Status codes and errors -------------------------------------------------- */

typedef enum smlp_status {
    SMLP_OK = 0,
    SMLP_ERR_NULL_ARGUMENT = 1,     /* a required pointer was NULL                 */
    SMLP_ERR_INVALID_ARGUMENT = 2,  /* a value is out of range or not allowed      */
    SMLP_ERR_SHAPE_MISMATCH = 3,    /* a size does not match the model             */
    SMLP_ERR_DTYPE_MISMATCH = 4,    /* data dtype differs from the model's dtype   */
    SMLP_ERR_OUT_OF_MEMORY = 5,     /* a size overflows or memory is exhausted     */
    SMLP_ERR_NON_FINITE = 6,        /* NaN/Inf in data, loss or gradient; nothing
                                       was updated                                 */
    SMLP_ERR_BUSY = 7,              /* another thread is using this model          */
    SMLP_ERR_IO = 8,                /* a file could not be read or written         */
    SMLP_ERR_BAD_FORMAT = 9,        /* not a model file, or a corrupted one; a
                                       malformed data file                         */
    SMLP_ERR_UNSUPPORTED_VERSION = 10 /* a model file from a newer major version   */
} smlp_status;

/* A short, static, English description of a status code, e.g. "shape mismatch".
 * Unknown codes give "unknown status". Never NULL; never fails. */
const char *smlp_status_string(smlp_status status);

/* The message of the most recent failed call made on the calling thread, naming the
 * argument and the values involved, e.g. "smlp_predict: n_inputs is 3 but the model's
 * n_inputs is 2". Successful calls do not change it; "" if no call has failed yet on
 * this thread. The string is owned by the library and stays valid until the next
 * failing call on the same thread. Never NULL. Each thread's message is freed when
 * the thread exits; so that this never runs code that is gone, dlclose does not
 * unload the library (it is linked -z nodelete). */
const char *smlp_last_error(void);

/* ---- Model description ---------------------------------------------------------- */

typedef enum smlp_dtype {
    SMLP_FLOAT32 = 1,               /* data and parameters are C float  */
    SMLP_FLOAT64 = 2                /* data and parameters are C double */
} smlp_dtype;

/* Activation of a layer. Derivatives are taken from the cached outputs where the
 * function allows it (sigmoid: a(1-a); tanh: 1-a^2). */
typedef enum smlp_activation {
    SMLP_IDENTITY = 0,              /* a = z                                         */
    SMLP_SIGMOID = 1,               /* a = 1 / (1 + exp(-z))                         */
    SMLP_TANH = 2,                  /* a = tanh(z)                                   */
    SMLP_RELU = 3,                  /* a = max(z, 0)                                 */
    SMLP_LEAKY_RELU = 4,            /* a = z > 0 ? z : slope * z                     */
    SMLP_SOFTMAX = 5                /* a_j = exp(z_j) / sum_k exp(z_k); last layer only */
} smlp_activation;

/* Loss for one sample with output a and target y (k outputs):
 *   SMLP_MSE                   L = 1/2 * sum_j (a_j - y_j)^2        any last activation
 *   SMLP_BINARY_CROSS_ENTROPY  L = -sum_j [y_j log a_j + (1-y_j) log(1-a_j)]
 *                              last activation must be SMLP_SIGMOID; computed from z
 *                              (log-sum-exp form), dL/dz = a - y. Targets belong in
 *                              [0, 1]; others are not refused (as in PyTorch's
 *                              BCEWithLogitsLoss) but make the loss meaningless.
 *   SMLP_SOFTMAX_CROSS_ENTROPY L = -sum_j y_j log a_j
 *                              last activation must be SMLP_SOFTMAX; computed from z
 *                              with log-sum-exp, dL/dz = a * sum_j y_j - y, which is
 *                              a - y for one-hot rows. Targets may be given as rows
 *                              (one-hot or soft) or as integer class labels.
 *   SMLP_POISSON               L = sum_j [exp(z_j) - y_j z_j + y_j log y_j - y_j]
 *                              last activation must be SMLP_IDENTITY: the output z is
 *                              the log of the predicted mean (smlp_predict returns z;
 *                              the mean is exp(z)), dL/dz = exp(z) - y. Half the
 *                              Poisson deviance (scikit-learn's loss='poisson'), 0
 *                              when exp(z) = y. Counts belong in [0, inf); y log y is
 *                              taken as 0 for y <= 0, and negative targets are not
 *                              refused but make the loss meaningless.
 *   SMLP_FANN_TANH_ERROR       FANN's default error function (FANN_ERRORFUNC_TANH),
 *                              any last activation: with e_j = (a_j - y_j) / s, where
 *                              s = 2 for an SMLP_TANH last layer (FANN halves the
 *                              error of its symmetric units) and 1 otherwise,
 *                              dL/da_j = log((1 + e_j) / (1 - e_j)) = 2 atanh(e_j),
 *                              and +-17 where |e_j| > 0.9999999, as FANN clips it;
 *                              L = s sum_j [e_j log((1+e_j)/(1-e_j)) + log(1-e_j^2)]
 *                              (about (a_j - y_j)^2 / s near 0), continued with slope
 *                              17 beyond the clip. Large errors weigh more than in
 *                              SMLP_MSE up to |e| = 1 and then grow only linearly, so
 *                              an outlier pulls no harder than 17. Its output deltas
 *                              are those of FANN's training with that error function
 *                              (smlp_load_fann gives SMLP_MSE; see there). */
typedef enum smlp_loss {
    SMLP_MSE = 0,
    SMLP_BINARY_CROSS_ENTROPY = 1,
    SMLP_SOFTMAX_CROSS_ENTROPY = 2,
    SMLP_POISSON = 3,
    SMLP_FANN_TANH_ERROR = 4
} smlp_loss;

/* How per-sample losses (and so gradients) combine over a batch of n samples. */
typedef enum smlp_reduction {
    SMLP_REDUCTION_MEAN = 0,        /* (1/n) sum_i L_i   (default)                   */
    SMLP_REDUCTION_SUM = 1          /* sum_i L_i                                     */
} smlp_reduction;

/* Weight initialisation. Biases always start at zero. Uniform draws come from the
 * model's own PRNG (xoshiro256** seeded through SplitMix64 with config.seed; see
 * docs/backprop.md), so the same seed gives bit-identical weights on every run and
 * machine; float32 weights are the float64 draws rounded to float. */
typedef enum smlp_init {
    SMLP_INIT_AUTO = 0,             /* He for relu/leaky relu layers, else Glorot    */
    SMLP_INIT_GLOROT_UNIFORM = 1,   /* U(-r, r), r = sqrt(6 / (n_in + n_out))        */
    SMLP_INIT_HE_UNIFORM = 2        /* U(-r, r), r = sqrt(6 / n_in)                  */
} smlp_init;

/* Everything smlp_create() needs. Always start from smlp_config_init(), then set
 * fields: struct_size lets the struct grow in later versions without breaking
 * programs built against this one. */
typedef struct smlp_config {
    size_t struct_size;             /* sizeof(smlp_config), set by smlp_config_init  */
    smlp_dtype dtype;               /* default SMLP_FLOAT64                          */
    size_t n_layer_sizes;           /* entries in layer_sizes: 2 (input, output) to
                                       1048576 (2^20)                                */
    const size_t *layer_sizes;      /* widths, input first; each in 1..2147483647    */
    const smlp_activation *activations; /* n_layer_sizes - 1 entries, one per layer  */
    smlp_loss loss;                 /* default SMLP_MSE                              */
    smlp_reduction reduction;       /* default SMLP_REDUCTION_MEAN                   */
    smlp_init init;                 /* default SMLP_INIT_AUTO                        */
    uint64_t seed;                  /* default 0                                     */
    double leaky_relu_slope;        /* default 0.01; must be finite and >= 0         */
} smlp_config;

/* Fills *config with the defaults above (no layers: set n_layer_sizes, layer_sizes
 * and activations yourself). Does nothing when config is NULL. */
void smlp_config_init(smlp_config *config);

/* ---- Create and free ------------------------------------------------------------ */

typedef struct smlp_model smlp_model;

/* Creates a model from *config and stores it in *out_model. The library copies what
 * it needs from config (the arrays may be freed afterwards). The optimizer starts as
 * plain SGD with learning rate 0.01.
 * Errors: NULL_ARGUMENT (config, out_model, or its arrays), INVALID_ARGUMENT (struct
 * size, fewer than 2 or more than 2^20 layer sizes, a width of 0 or above
 * 2147483647 (OpenBLAS's 32-bit dimension limit), unknown enum, softmax before the
 * last layer, loss and last activation that do not go together, bad slope),
 * OUT_OF_MEMORY (the parameter count overflows or cannot be allocated). On failure
 * *out_model is set to NULL. */
smlp_status smlp_create(const smlp_config *config, smlp_model **out_model);

/* Frees the model and everything it owns. NULL is ignored. The handle must not be
 * used afterwards, and no other call on it may be running. */
void smlp_free(smlp_model *model);

/* ---- Queries (read-only) -------------------------------------------------------- */

/* Number of scalars in the parameter vector (and in the gradient vector).
 * Returns 0 and sets the error message when model is NULL. */
size_t smlp_param_count(const smlp_model *model);

/* A summary of a model, filled by smlp_model_info_get(). */
typedef struct smlp_model_info {
    smlp_dtype dtype;
    size_t n_layers;                /* weight layers = n_layer_sizes - 1             */
    size_t n_inputs;                /* layer_sizes[0]                                */
    size_t n_outputs;               /* layer_sizes[n_layer_sizes - 1]                */
    size_t param_count;
    smlp_loss loss;
    smlp_reduction reduction;
    double leaky_relu_slope;
    size_t epoch;                   /* epochs trained so far (see smlp_set_epoch)    */
    int has_scaler;                 /* 1 when an input scaler is set                 */
} smlp_model_info;

/* Errors: NULL_ARGUMENT, BUSY (a changing call, such as smlp_train, is running: the
 * epoch and the scaler it reports would be changing under it). */
smlp_status smlp_model_info_get(const smlp_model *model, smlp_model_info *out_info);

/* One weight layer, 0-based, and where its parameters sit in the flat vector. */
typedef struct smlp_layer_info {
    size_t n_inputs;                /* rows of W                                     */
    size_t n_outputs;               /* columns of W, length of b                     */
    smlp_activation activation;
    size_t weight_offset;           /* index of W[0][0] in the parameter vector      */
    size_t bias_offset;             /* index of b[0] = weight_offset + n_in * n_out  */
} smlp_layer_info;

/* Errors: NULL_ARGUMENT, INVALID_ARGUMENT (layer >= n_layers). */
smlp_status smlp_layer_info_get(const smlp_model *model, size_t layer,
                                smlp_layer_info *out_info);

/* ---- Parameters ----------------------------------------------------------------- */

/* Copies the parameter vector into out (count scalars of the given dtype).
 * Errors: NULL_ARGUMENT, DTYPE_MISMATCH, SHAPE_MISMATCH (count != param_count). */
smlp_status smlp_get_params(const smlp_model *model, smlp_dtype dtype, void *out,
                            size_t count);

/* Replaces the parameter vector with a copy of params (count scalars). Optimizer
 * state (momentum, Adam moments) is kept; reset it with smlp_set_optimizer().
 * Errors: NULL_ARGUMENT, DTYPE_MISMATCH, SHAPE_MISMATCH, NON_FINITE (a NaN or
 * infinity at the index the message names; nothing is changed), BUSY. */
smlp_status smlp_set_params(smlp_model *model, smlp_dtype dtype, const void *params,
                            size_t count);

/* ---- Inference ------------------------------------------------------------------ */

/* Computes the network's output for n_rows samples.
 *   x:   n_rows x n_inputs   (n_inputs must equal layer_sizes[0])
 *   out: n_rows x n_outputs  (n_outputs must equal the last layer size)
 * For softmax outputs each row of out holds class probabilities; for sigmoid outputs
 * each entry is a probability. x and out must not overlap. Safe to call from many
 * threads at once on one model. The outputs themselves are not checked: a diverged
 * model (finite parameters so large that the forward pass overflows, e.g. after
 * training with an absurd learning rate) returns SMLP_OK with NaN or infinite
 * outputs, as PyTorch, scikit-learn and FANN would; smlp_gradients, smlp_step and
 * smlp_train refuse such a model with SMLP_ERR_NON_FINITE naming the loss.
 * Errors: NULL_ARGUMENT, DTYPE_MISMATCH, SHAPE_MISMATCH (also n_rows outside
 * 1 ... 2^31 - 1, OpenBLAS's dimension limit, as for every batch below),
 * NON_FINITE (a NaN or infinity in x; the message names its row and column; out
 * is not written), OUT_OF_MEMORY, BUSY (a changing call is running
 * on this model). */
smlp_status smlp_predict(smlp_model *model, smlp_dtype dtype, const void *x,
                         size_t n_rows, size_t n_inputs, void *out, size_t n_outputs);

/* ---- Training ------------------------------------------------------------------- */

/* A batch (or a whole data set) of labelled samples. Give the targets either as
 *   y:      n_rows x n_outputs in the model's dtype (labels = NULL), or
 *   labels: n_rows class indices in [0, n_outputs) (y = NULL; softmax cross-entropy
 *           only; equivalent to one-hot rows of y).
 * All pointers are borrowed for the duration of the call only. */
typedef struct smlp_dataset {
    smlp_dtype dtype;               /* element type of x and y                       */
    size_t n_rows;                  /* samples, 1 ... 2^31 - 1                       */
    size_t n_inputs;                /* columns of x: the model's input width         */
    const void *x;                  /* n_rows x n_inputs                             */
    size_t n_outputs;               /* columns of y: the model's output width        */
    const void *y;                  /* n_rows x n_outputs, or NULL                   */
    const int32_t *labels;          /* n_rows, or NULL                               */
} smlp_dataset;

/* Forward and backward pass on one batch, without changing the parameters: writes
 * the reduced loss to *out_loss and the gradient of that loss with respect to every
 * parameter into grad (count == param_count scalars, same layout as the parameters).
 * The bias gradient of each layer is the column sum of its dZ over the batch (times
 * 1/n under mean reduction). grad may be NULL with count 0 when only the loss is
 * wanted. out_loss may be NULL.
 * Errors: NULL_ARGUMENT, DTYPE_MISMATCH, SHAPE_MISMATCH, INVALID_ARGUMENT (a label
 * out of range, both or neither of y and labels), NON_FINITE (the loss or a gradient
 * is NaN/Inf; the message names the first row with non-finite data if there is one),
 * OUT_OF_MEMORY, BUSY. */
smlp_status smlp_gradients(smlp_model *model, const smlp_dataset *batch,
                           double *out_loss, void *grad, size_t count);

/* One optimizer step on one mini-batch: gradients as in smlp_gradients(), then the
 * update rule set by smlp_set_optimizer(). *out_loss (if not NULL) receives the loss
 * before the update. If the loss or any gradient is not finite, returns
 * SMLP_ERR_NON_FINITE and changes neither the parameters nor the optimizer state.
 * One exception to "a failed call changes nothing", for the optimizers that keep
 * state (momentum, Adam, AdamW, RMSprop, RPROP): when the gradient is finite but the
 * update itself overflows a parameter or an optimizer state value (an extreme learning
 * rate, or values near the type's limit), the step returns SMLP_ERR_NON_FINITE
 * saying so, the parameters hold the overflowed values, and the optimizer state is
 * reset to that of a fresh smlp_set_optimizer (so that restoring the parameters with
 * smlp_set_params makes the model usable again). smlp_train rolls all of this back;
 * see there. smlp_save refuses a model left so. Plain SGD (SMLP_SGD, momentum 0)
 * has no exception: an update that would overflow returns SMLP_ERR_NON_FINITE and
 * changes nothing. (Plain SGD without clip_norm folds the update into the backward
 * pass, writes the new parameters aside and keeps them only if all are finite.)
 * Errors: as smlp_gradients(). */
smlp_status smlp_step(smlp_model *model, const smlp_dataset *batch, double *out_loss);

/* ---- Optimizers ----------------------------------------------------------------- */

/* How the learning rate changes with the model's epoch count e (0 before the first
 * epoch; smlp_train adds 1 after each epoch; see smlp_set_epoch), as PyTorch's
 * schedulers stepped once per epoch. lr is the configured learning_rate.
 *   CONSTANT     lr
 *   STEP         lr * gamma^floor(e / step_size)                        (StepLR)
 *   EXPONENTIAL  lr * gamma^e                                           (ExponentialLR)
 *   COSINE       min_lr + (lr - min_lr) * (1 + cos(pi * min(e, t_max) / t_max)) / 2
 *                (CosineAnnealingLR up to t_max; after t_max it stays at min_lr,
 *                where PyTorch's would follow the cosine back up)
 *   INVERSE_SCALING  lr / (e + 1)^gamma, gamma >= 0 (scikit-learn's "invscaling",
 *                whose t is the samples seen: its binding sets e to that count
 *                with smlp_set_epoch before each epoch) */
typedef enum smlp_schedule {
    SMLP_SCHEDULE_CONSTANT = 0,
    SMLP_SCHEDULE_STEP = 1,
    SMLP_SCHEDULE_EXPONENTIAL = 2,
    SMLP_SCHEDULE_COSINE = 3,
    SMLP_SCHEDULE_INVERSE_SCALING = 4
} smlp_schedule;

typedef enum smlp_optimizer {
    SMLP_SGD = 0,                   /* with optional momentum and Nesterov            */
    SMLP_ADAM = 1,
    SMLP_ADAMW = 2,                 /* Adam with decoupled weight decay              */
    SMLP_RMSPROP = 3,
    SMLP_RPROP = 4                  /* resilient backpropagation, iRPROP- or iRPROP+  */
} smlp_optimizer;

/* The two RPROP variants of Igel and Huesken (2000). */
typedef enum smlp_rprop_variant {
    SMLP_IRPROP_MINUS = 0,          /* FANN's FANN_TRAIN_RPROP, PyTorch's Rprop      */
    SMLP_IRPROP_PLUS = 1            /* undoes an update after which the loss rose    */
} smlp_rprop_variant;

/* Update rules, per parameter p with gradient g at step t (t = 1, 2, ...), as in
 * PyTorch's torch.optim. "wd" is weight_decay; it applies to weights only unless
 * decay_biases is non-zero.
 *   SGD:     g += wd*p; if momentum: v = momentum*v + g,
 *                                    g = nesterov ? g + momentum*v : v
 *            p -= lr*g
 *   Adam:    g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2
 *            p -= (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *   AdamW:   p *= 1 - lr*wd; then Adam without the g += wd*p term
 *   RMSprop: g += wd*p; s = alpha*s + (1-alpha)*g^2; d = g/(sqrt(s) + eps)
 *            if momentum: v = momentum*v + d, p -= lr*v; else p -= lr*d
 *   RPROP:   a step size D per parameter (D = rprop_delta0 at first), moved by
 *            the sign s of g times the previous step's stored gradient g' (0 at
 *            first), kept in [rprop_delta_min, rprop_delta_max]:
 *            iRPROP-: s > 0: D *= rprop_increase; s < 0: D *= rprop_decrease and
 *                     g = 0; then p -= sign(g)*D; g' = g
 *            iRPROP+: s > 0: D *= rprop_increase; s < 0: D *= rprop_decrease, and
 *                     if the loss rose since the previous step the previous update
 *                     u is undone (p -= u), then u = 0 and g' = 0; s >= 0:
 *                     u = -sign(g)*D, p += u, g' = g
 *            iRPROP- is PyTorch's Rprop exactly (its lr is rprop_delta0) and
 *            FANN's RPROP except that FANN also grows D when s = 0, moves p by +D
 *            when g = 0 and floors D at 0.0001. learning_rate, the schedule and
 *            momentum are not used; weight_decay must be 0. RPROP is a full-batch
 *            method: each step is one RPROP step on the gradient of the batch it
 *            is given (iRPROP+ compares the losses of successive batches), so
 *            train with batch_size >= n_rows for the classic method.
 *            smlp_apply_gradients refuses iRPROP+, which needs each step's loss.
 * Before any of these, if clip_norm > 0, the whole gradient is scaled by
 * min(1, clip_norm / (norm + 1e-6)), where norm is its global L2 norm (as
 * torch.nn.utils.clip_grad_norm_ does). */
typedef struct smlp_optimizer_config {
    size_t struct_size;             /* sizeof(smlp_optimizer_config)                 */
    smlp_optimizer kind;
    double learning_rate;           /* > 0                                           */
    double momentum;                /* SGD, RMSprop: in [0, 1)                       */
    int nesterov;                   /* SGD: non-zero for Nesterov (needs momentum)   */
    double beta1, beta2;            /* Adam(W): in [0, 1)                            */
    double epsilon;                 /* Adam(W), RMSprop: > 0                         */
    double alpha;                   /* RMSprop smoothing: in [0, 1)                  */
    double weight_decay;            /* >= 0                                          */
    int decay_biases;               /* 0: decay weights only (default)               */
    double clip_norm;               /* 0: no clipping; else > 0                      */
    smlp_schedule schedule;         /* default SMLP_SCHEDULE_CONSTANT                */
    size_t step_size;               /* STEP: epochs per decay, 1 ... 2^31 - 1
                                       (default 10)                                  */
    double gamma;                   /* STEP, EXPONENTIAL: factor, > 0 (default 0.1);
                                       INVERSE_SCALING: the power, >= 0              */
    size_t t_max;                   /* COSINE: period in epochs, 1 ... 2^31 - 1
                                       (default 100)                                 */
    double min_lr;                  /* COSINE: floor, >= 0 (default 0)               */
    /* RPROP (fields added after 0.1.0; smlp_set_optimizer also accepts a config of
     * 0.1.0's size, which ends before them, and then uses their defaults). */
    smlp_rprop_variant rprop_variant; /* default SMLP_IRPROP_MINUS                   */
    double rprop_increase;          /* eta+: > 1 (default 1.2)                       */
    double rprop_decrease;          /* eta-: in (0, 1) (default 0.5)                 */
    double rprop_delta0;            /* first step size: > 0, in [rprop_delta_min,
                                       rprop_delta_max] (default 0.1, FANN's)        */
    double rprop_delta_min;         /* >= 0 (default 1e-6, PyTorch's; FANN: 0)       */
    double rprop_delta_max;         /* finite, > 0 (default 50)                      */
} smlp_optimizer_config;

/* Fills *config with PyTorch's defaults for kind:
 *   SGD lr 0.01, momentum 0, no Nesterov; Adam lr 0.001, betas (0.9, 0.999),
 *   eps 1e-8; AdamW the same with weight_decay 0.01; RMSprop lr 0.01, alpha 0.99,
 *   eps 1e-8, momentum 0. weight_decay 0 (AdamW: 0.01), weights only, no clipping,
 *   constant learning rate. The RPROP fields, whatever the kind: iRPROP-,
 *   increase 1.2, decrease 0.5, delta0 0.1, delta_min 1e-6, delta_max 50 (FANN's
 *   values but delta_min, which is PyTorch's; PyTorch's delta0 is its lr, 0.01).
 * Does nothing when config is NULL; an unknown kind gives SGD's defaults with that
 * kind kept, so smlp_set_optimizer() reports it.
 * It is a macro passing sizeof *config to smlp_optimizer_config_init_sized, which
 * writes only that many bytes (and sets struct_size to it), so a program built
 * against an older, shorter struct is never written past. The function of the same
 * name is what programs built against 0.1.0 call: it writes 0.1.0's struct, which
 * ends before the RPROP fields. */
void smlp_optimizer_config_init_sized(smlp_optimizer_config *config, smlp_optimizer kind,
                                      size_t size);
void smlp_optimizer_config_init(smlp_optimizer_config *config, smlp_optimizer kind);
#define smlp_optimizer_config_init(config, kind) \
    smlp_optimizer_config_init_sized((config), (kind), sizeof *(config))

/* Sets the optimizer and resets its state (momentum buffers, moments, step count;
 * RPROP's step sizes back to rprop_delta0).
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (struct size, unknown kind, a value out of
 * the ranges above or NaN; the message names the field), OUT_OF_MEMORY, BUSY. */
smlp_status smlp_set_optimizer(smlp_model *model, const smlp_optimizer_config *config);

/* Sets the model's epoch count, which drives the learning-rate schedule (smlp_train
 * advances it by one per epoch; smlp_step never does). The count is kept as the file
 * format stores it, a signed 64-bit integer: a larger epoch is taken as 2^63 - 1, and
 * smlp_train stops advancing it there. Errors: NULL_ARGUMENT, BUSY. */
smlp_status smlp_set_epoch(smlp_model *model, size_t epoch);

/* ---- Training on a whole data set ---------------------------------------------- */

/* What the callback receives after each epoch. Losses are the mean per-sample loss
 * over the data, whatever the reduction, so train and validation losses compare. */
typedef struct smlp_epoch_report {
    size_t epoch;                   /* 1-based, within this smlp_train call          */
    double train_loss;              /* mean over the epoch's batches, before updates
                                       (L-BFGS: at the iteration's new parameters,
                                       without the L2 term)                          */
    double validation_loss;         /* NaN without validation data                    */
    double validation_accuracy;     /* NaN without validation data, for SMLP_MSE,
                                       SMLP_POISSON and SMLP_FANN_TANH_ERROR         */
    double learning_rate;           /* the rate used during this epoch (L-BFGS: the
                                       step length t the line search accepted)       */
} smlp_epoch_report;

/* Called once per epoch (L-BFGS: per iteration), on the thread that called
 * smlp_train. Return 0 to go on, non-zero to stop after this epoch. It must not call
 * functions that change the same model (they return SMLP_ERR_BUSY), and must not
 * smlp_free it (which checks nothing: no other call may be running on the model);
 * other models are fine. */
typedef int (*smlp_epoch_callback)(const smlp_epoch_report *report, void *user_data);

/* How smlp_train updates the parameters. */
typedef enum smlp_train_method {
    SMLP_TRAIN_MINIBATCH = 0,       /* epochs of smlp_step on mini-batches (default) */
    SMLP_TRAIN_LBFGS = 1            /* L-BFGS on the whole data set (see below)      */
} smlp_train_method;

/* Why smlp_train stopped (smlp_train_details.stop_reason). */
typedef enum smlp_stop_reason {
    SMLP_STOP_MAX_EPOCHS = 0,       /* all epochs (L-BFGS: iterations) ran           */
    SMLP_STOP_EARLY_STOPPING = 1,   /* patience ran out                              */
    SMLP_STOP_CALLBACK = 2,         /* the callback returned non-zero                */
    SMLP_STOP_GRADIENT_TOLERANCE = 3, /* L-BFGS: max |g_i| <= tolerance_grad         */
    SMLP_STOP_LOSS_CHANGE = 4,      /* L-BFGS: an iteration lowered F by no more
                                       than tolerance_change * max(|F|, 1)           */
    SMLP_STOP_MAX_FUNCTION_EVALS = 5, /* L-BFGS: max_function_evals evaluations ran  */
    SMLP_STOP_LINE_SEARCH_FAILED = 6 /* L-BFGS: no step, even along -g, lowered F:
                                       a minimum to the precision of the dtype       */
} smlp_stop_reason;

/* What smlp_train reports beyond smlp_train_summary. smlp_train_summary cannot grow
 * (programs built against an older header pass a pointer to its old size), so the
 * new counts live here, reached through options.details; struct_size lets this
 * struct grow in turn: the library writes only the whole fields that fit in
 * struct_size, and sets struct_size to the end of the last one it wrote (less than
 * yours when the library is older than your header). Written on success only.
 * Set up as: smlp_train_details details = {0}; (C++: = {}) and then
 * details.struct_size = sizeof details; */
typedef struct smlp_train_details {
    size_t struct_size;             /* set by the caller: sizeof(smlp_train_details) */
    size_t iterations;              /* L-BFGS iterations (= epochs_run); mini-batch:
                                       optimizer steps taken                         */
    size_t function_evals;          /* loss-and-gradient evaluations: L-BFGS, over the
                                       whole data set, line search included, the
                                       initial one too; mini-batch: one per step     */
    smlp_stop_reason stop_reason;
    double final_objective;         /* L-BFGS: F (see below) at the end of the last
                                       iteration; NaN for mini-batch                 */
} smlp_train_details;

typedef struct smlp_train_options {
    size_t struct_size;             /* sizeof(smlp_train_options)                    */
    size_t epochs;                  /* >= 1 (default 10)                             */
    size_t batch_size;              /* >= 1 (default 32); a larger value means one
                                       batch of all rows                             */
    int shuffle;                    /* non-zero: each epoch a new permutation of the
                                       rows from the model's generator (default 1);
                                       same seed, same run, bit for bit, also when
                                       the epochs are split across calls or a save
                                       and a load                                    */
    int drop_last;                  /* non-zero: skip a last batch smaller than
                                       batch_size that follows a full one (default 0:
                                       it is used). A batch_size above the row count
                                       gives one batch of all rows, which is never
                                       skipped: every epoch trains on all rows      */
    const smlp_dataset *validation; /* NULL: none (default)                          */
    size_t patience;                /* with validation: stop after this many epochs
                                       in a row without improvement; 0 never stops
                                       (default)                                     */
    double min_delta;               /* for patience, an improvement must lower the best
                                       validation loss so far by more than this
                                       (default 0); it does not change which epoch is
                                       the best                                      */
    int restore_best;               /* with validation: end with the parameters of the
                                       best validation epoch, the one with the lowest
                                       validation loss (default 1)                   */
    smlp_epoch_callback callback;   /* NULL: none (default)                          */
    void *user_data;                /* passed to callback unchanged                  */
    /* Fields after user_data were added with L-BFGS: a struct_size that ends at
     * user_data (a program built against the earlier header) is accepted, and
     * they take their defaults. */
    smlp_train_method method;       /* default SMLP_TRAIN_MINIBATCH                  */
    size_t lbfgs_history;           /* L-BFGS: correction pairs m, >= 1 (default 10;
                                       at most param_count are kept)                 */
    double tolerance_grad;          /* L-BFGS: stop when every |dF/dp_i| <= this,
                                       >= 0 (default 1e-5, scipy's gtol)             */
    double tolerance_change;        /* L-BFGS: stop when F_k - F_{k+1} <= this *
                                       max(|F_k|, |F_{k+1}|, 1), >= 0 (default
                                       2.220446049250313e-9, scipy's ftol)           */
    size_t max_function_evals;      /* L-BFGS: evaluations allowed, >= 1 (default
                                       15000, scikit-learn's max_fun)                */
    smlp_train_details *details;    /* NULL (default), or filled on success          */
} smlp_train_options;

/* Fills *options with the defaults above. Does nothing when options is NULL.
 * As smlp_optimizer_config_init, a macro passing sizeof *options to the _sized
 * function, which writes only that many bytes; the plain function (what programs
 * built against 0.1.0 call) writes 0.1.0's struct, which ends at user_data. */
void smlp_train_options_init_sized(smlp_train_options *options, size_t size);
void smlp_train_options_init(smlp_train_options *options);
#define smlp_train_options_init(options) smlp_train_options_init_sized((options), sizeof *(options))

typedef struct smlp_train_summary {
    size_t epochs_run;
    size_t best_epoch;              /* lowest validation loss (1-based), or the last */
    double best_validation_loss;    /* NaN without validation data                    */
    double final_train_loss;
    double final_validation_loss;   /* NaN without validation data                    */
    int stopped_early;              /* patience ran out (possibly in the last epoch,
                                       also when the callback stopped that epoch:
                                       both flags are then set, and the details'
                                       stop_reason is the callback's)                */
    int stopped_by_callback;
} smlp_train_summary;

/* Trains on a whole data set in memory. The data are checked once up front: a NaN
 * or infinity anywhere is SMLP_ERR_NON_FINITE naming its row. The call is all or
 * nothing: on any failure (also a loss that turns non-finite mid-run) the model's
 * parameters, optimizer state, generator and epoch are restored to what they were,
 * the message says where it failed ("epoch 3, batch at row 64: ...") and that the
 * model was rolled back (whatever smlp_step would say it left behind), and neither
 * *out_summary nor *options->details is written. out_summary may be NULL. The
 * model's scaler, if any, applies to both data sets.
 *
 * SMLP_TRAIN_MINIBATCH: for each epoch, (optionally) shuffles the rows, runs
 * smlp_step on consecutive batches of batch_size rows (the last one may be smaller
 * unless drop_last), then evaluates the validation data, calls the callback, and
 * checks early stopping.
 *
 * SMLP_TRAIN_LBFGS: L-BFGS (Nocedal & Wright alg. 7.4/7.5, as scipy's L-BFGS-B
 * without bounds and PyTorch's LBFGS with line_search_fn="strong_wolfe") minimises
 *     F(p) = L(p) + weight_decay/2 * ||W||^2     (biases too if decay_biases)
 * where L is the loss over all rows reduced as the model's reduction says (mean or
 * sum) and weight_decay, decay_biases come from smlp_set_optimizer; scikit-learn's
 * MLP objective (mean loss + alpha/(2 n) ||W||^2) is weight_decay = alpha / n_rows.
 * The optimizer's other settings and its state are neither used nor changed. Each
 * iteration computes a direction from the last lbfgs_history pairs, then a line
 * search (bracketing and zoom with cubic interpolation, N&W alg. 3.5/3.6) finds a
 * step satisfying the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9), trying first
 * t = 1 (on the first iteration t = 1/||grad F||, a step of length 1, as L-BFGS-B
 * does); if it cannot lower F, the history is dropped and it retries along -grad F
 * once. An iteration
 * counts as an epoch: epochs is the iteration limit, and validation, patience,
 * restore_best, the callback and the model's epoch count advance once per
 * iteration. It stops on the first of: epochs iterations, max_function_evals
 * evaluations (the line search is cut short, never exceeding it), tolerance_grad,
 * tolerance_change, the callback, early stopping, a failed line search; details
 * says which. batch_size, shuffle and drop_last are ignored; the generator is not
 * used. If the starting point already meets tolerance_grad, no iteration runs
 * (epochs_run 0, no callback). Memory: the whole data set is one batch (the
 * workspace holds n_rows rows) and the history 2 * lbfgs_history * param_count
 * scalars, allocated once per call; no iteration after the first allocates. Vectors are in the model's dtype, dot products and norms
 * accumulate in double. A trial step whose loss is not finite is treated as too
 * long, not as an error; a non-finite loss at the starting parameters is
 * SMLP_ERR_NON_FINITE.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (options; a label out of range; both or
 * neither of y and labels), DTYPE_MISMATCH, SHAPE_MISMATCH, NON_FINITE,
 * OUT_OF_MEMORY, BUSY. */
smlp_status smlp_train(smlp_model *model, const smlp_dataset *train,
                       const smlp_train_options *options, smlp_train_summary *out_summary);

/* Mean per-sample loss and accuracy on a data set, without training. Accuracy is the
 * fraction of rows whose argmax equals the label (softmax), or whose every output is
 * on the right side of 0.5 (sigmoid); NaN for the regression losses (SMLP_MSE,
 * SMLP_POISSON, SMLP_FANN_TANH_ERROR). Either
 * output may be NULL. Like smlp_predict, it does not refuse a diverged model: the
 * loss is then NaN or infinite (finite data whose loss overflows the type give
 * SMLP_OK and infinity).
 * Uses the model's workspace, so it counts as a changing call for SMLP_ERR_BUSY.
 * Errors: NULL_ARGUMENT, DTYPE_MISMATCH, SHAPE_MISMATCH, INVALID_ARGUMENT (labels),
 * NON_FINITE (a NaN or infinity in the data; the message names its row),
 * OUT_OF_MEMORY, BUSY. */
smlp_status smlp_evaluate(smlp_model *model, const smlp_dataset *data, double *out_loss,
                          double *out_accuracy);

/* ---- Input scaling kept with the model ------------------------------------------ */

/* Computes each input feature's mean and (population) standard deviation from x
 * (n_rows x n_inputs, the model's dtype) and stores them in the model; from then on
 * predict, gradients, step, train and evaluate use (x - mean) / std. A feature with
 * zero variance (up to rounding, scikit-learn's rule) gets std 1. Statistics stay
 * finite for any finite data, even near the type's limits. Errors: NULL_ARGUMENT,
 * DTYPE_MISMATCH, SHAPE_MISMATCH, NON_FINITE (a NaN or infinity in x, naming its row),
 * OUT_OF_MEMORY, BUSY. */
smlp_status smlp_fit_scaler(smlp_model *model, smlp_dtype dtype, const void *x,
                            size_t n_rows, size_t n_inputs);

/* Sets the scaler from the caller's statistics (n_inputs doubles each; every std
 * finite and > 0, and every mean, 1/std and mean/std representable in the model's
 * type: mean/std is what an input of 0 scales to, so a scaler under which even that
 * overflows, such as mean 1e308 with std 1e-308, is refused rather than left to make
 * every prediction non-finite). Errors: NULL_ARGUMENT, SHAPE_MISMATCH,
 * INVALID_ARGUMENT (the message names the feature), BUSY. */
smlp_status smlp_set_scaler(smlp_model *model, const double *mean, const double *std,
                            size_t n_inputs);

/* Copies the scaler into mean and std (n_inputs doubles each) and sets *out_has_scaler
 * to 1, or sets it to 0 (leaving mean and std untouched) when the model has none.
 * mean and std may be NULL when only out_has_scaler is wanted.
 * Errors: NULL_ARGUMENT, SHAPE_MISMATCH, BUSY (a changing call is running). */
smlp_status smlp_get_scaler(const smlp_model *model, double *mean, double *std,
                            size_t n_inputs, int *out_has_scaler);

/* Removes the scaler: inputs are used as given. Errors: NULL_ARGUMENT, BUSY. */
smlp_status smlp_clear_scaler(smlp_model *model);

/* ---- Looking inside a gradient computation --------------------------------------- */

/* What smlp_get_layer_cache() copies out for weight layer l (0-based), for the batch
 * of the most recent smlp_gradients or smlp_step call on the model:
 *   SMLP_CACHE_Z   Z_l  = A_{l-1} W_l + b_l    (n_rows x n_outputs of layer l)
 *   SMLP_CACHE_A   A_l  = f_l(Z_l)             (n_rows x n_outputs of layer l)
 *   SMLP_CACHE_DZ  dZ_l = dL/dZ_l              (n_rows x n_outputs of layer l),
 *                  already scaled by 1/n under mean reduction, so that
 *                  dW_l = A_{l-1}^T dZ_l and db_l = column sums of dZ_l. */
typedef enum smlp_cache_kind {
    SMLP_CACHE_Z = 0,
    SMLP_CACHE_A = 1,
    SMLP_CACHE_DZ = 2
} smlp_cache_kind;

/* Copies one cached matrix of the last gradient computation into out (n_rows x
 * n_cols of the model's dtype, row-major). n_rows must equal the rows of that batch
 * (smlp_cached_rows) and n_cols the layer's output width. Calls that reuse the
 * workspace (predict does not; evaluate and train do) invalidate the cache.
 * A smlp_gradients or smlp_step call that fails with SMLP_ERR_NON_FINITE has run its
 * forward pass: the cache then holds that batch's Z and A (where a NaN or an
 * infinity first appears), and dZ as far as the backward pass got (the rest of dZ
 * may be an earlier batch's). A call rejected before its forward pass (NULL, shape,
 * dtype or label errors, OUT_OF_MEMORY, BUSY) leaves the cache as it was.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (layer, kind, no cached batch),
 * DTYPE_MISMATCH, SHAPE_MISMATCH, BUSY. */
smlp_status smlp_get_layer_cache(smlp_model *model, size_t layer, smlp_cache_kind kind,
                                 smlp_dtype dtype, void *out, size_t n_rows, size_t n_cols);

/* Rows of the batch whose cache smlp_get_layer_cache() can return, in *out_rows; 0
 * when there is none. Errors: NULL_ARGUMENT, BUSY (a changing call is running). */
smlp_status smlp_cached_rows_get(smlp_model *model, size_t *out_rows);

/* The same as a plain number, kept for programs built against 0.1.0: 0 when there is
 * no cached batch, and also on failure (a NULL model, or BUSY while a changing call
 * runs), which only the error message tells apart, and messages are not cleared on
 * success. Prefer smlp_cached_rows_get. */
size_t smlp_cached_rows(smlp_model *model);

/* Checks the analytic gradient of one batch against central finite differences,
 * (L(p + h) - L(p - h)) / 2h for every parameter, computed in float64 on a float64
 * copy of the model (so a float32 model is checked in float64 too). For each weight
 * layer l it writes the largest error |analytic - numeric| /
 * max(1, |analytic|, |numeric|) over W_l into max_rel_error_w[l] and over b_l into
 * max_rel_error_b[l] (n_layers entries each): relative for entries of magnitude 1 and
 * up, absolute below, because the difference quotient's own noise (O(h^2) + O(eps/h))
 * would make a pure relative error large on small entries. step is h (> 0; 1e-6 is
 * typical). With h = 1e-6 a correct gradient gives about 1e-8 or less (typically
 * 1e-9 to 1e-10); 1e-5 and above means a wrong gradient, or a relu input within h of
 * its kink (docs/backprop.md, section 12).
 * Cost: 2 forward passes per parameter, so use it on small models. The model itself
 * is not changed. Errors: NULL_ARGUMENT, SHAPE_MISMATCH (n_layers and the batch),
 * DTYPE_MISMATCH, INVALID_ARGUMENT (step; labels), NON_FINITE, OUT_OF_MEMORY, BUSY. */
smlp_status smlp_gradcheck(smlp_model *model, const smlp_dataset *batch, double step,
                           double *max_rel_error_w, double *max_rel_error_b, size_t n_layers);

/* ---- Applying a gradient computed elsewhere ------------------------------------- */

/* Applies the model's optimizer (clipping, schedule and state included) to
 * scale * grad, where grad has the parameter layout (count == param_count scalars of
 * the model's dtype). For data-parallel training: each worker calls smlp_gradients
 * with SMLP_REDUCTION_SUM on its shard, the sums are added across workers (e.g.
 * MPI_Allreduce), and every worker applies the total with scale = 1 / global batch.
 * Errors: NULL_ARGUMENT, DTYPE_MISMATCH, SHAPE_MISMATCH, INVALID_ARGUMENT (scale not
 * finite, or beyond the model's type; the optimizer is iRPROP+), NON_FINITE (a
 * gradient entry, or one times scale: nothing changed;
 * or the update overflowed, as described at smlp_step: nothing changed with plain
 * SGD), BUSY. */
smlp_status smlp_apply_gradients(smlp_model *model, smlp_dtype dtype, const void *grad,
                                 size_t count, double scale);

/* ---- Saving and loading ------------------------------------------------------------ */

/* Files. smlp_save, smlp_export_c and smlp_load handle paths (UTF-8 strings) alike:
 *   Atomic.      A file is written to a temporary file in the target's folder, which
 *                is fsynced and renamed over the target (then the folder is fsynced),
 *                so a crash or a full disk never leaves a half-written file where a
 *                good one was. On failure the target is untouched.
 *   Links.       A symbolic link is followed, link by link (at most 40), to its
 *                final target, which is replaced, or created when the link dangles
 *                into an existing folder; the link itself stays a link. A link
 *                loop, more than 40 links, or a target folder that does not exist
 *                is SMLP_ERR_IO, and the link is kept as it was.
 *   Kinds.       Only regular files are read or replaced: a folder, FIFO, socket or
 *                device is SMLP_ERR_IO. The check never blocks (smlp_load of a FIFO
 *                with no writer returns at once).
 *   Names.       Every file name up to NAME_MAX bytes works: the temporary file is
 *                named ".smlp-" plus 12 random characters, whatever the target's
 *                name. An interrupted save (a killed process) can leave such a file.
 *   Permissions. A replaced file keeps its mode; a new file gets 0666 & ~umask (and
 *                the folder's default ACL), as files made by cp or an editor do.
 *   Memory.      smlp_save streams the file through a 64 KiB buffer, so saving a
 *                model needs no memory the size of the file (smlp_save_to_buffer
 *                writes into the caller's buffer). */

/* Writes the whole model - configuration, parameters, optimizer settings and state,
 * epoch, generator, scaler and metadata - to path in the format of docs/format.md,
 * by the rules of "Files" above. Errors: NULL_ARGUMENT, INVALID_ARGUMENT (path not
 * UTF-8), IO (the message has the OS error), NON_FINITE (a parameter or optimizer
 * state is not finite, which only an overflowed smlp_step leaves; such a model is
 * never written, so every saved file loads), OUT_OF_MEMORY, BUSY. */
smlp_status smlp_save(smlp_model *model, const char *path);

/* Reads a model saved by smlp_save (any older format version) into *out_model, which
 * the caller frees with smlp_free. Predictions of the loaded model equal the saved
 * one's bit for bit, and training resumes exactly where it stopped.
 * Errors: NULL_ARGUMENT, IO (missing file, not a regular file, unreadable), BAD_FORMAT
 * (wrong magic, truncated, checksum mismatch, inconsistent or absurd sizes),
 * UNSUPPORTED_VERSION (a newer major format version), INVALID_ARGUMENT (path not
 * UTF-8), OUT_OF_MEMORY. On failure *out_model is NULL. */
smlp_status smlp_load(const char *path, smlp_model **out_model);

/* Serialises the model into a caller buffer, in the file format. Call it with
 * buffer NULL (capacity ignored) to learn the size in *out_size, then with a buffer
 * of at least that many bytes. Errors: NULL_ARGUMENT (out_size), SHAPE_MISMATCH
 * (capacity too small; *out_size still receives the size), NON_FINITE (as for
 * smlp_save), OUT_OF_MEMORY, BUSY. */
smlp_status smlp_save_to_buffer(smlp_model *model, void *buffer, size_t capacity,
                                size_t *out_size);

/* Reads a model from size bytes at buffer (as smlp_load does from a file). The
 * buffer is only read during the call. Errors: as smlp_load, without IO; a size
 * above SSIZE_MAX (no buffer is that large) is INVALID_ARGUMENT. */
smlp_status smlp_load_from_buffer(const void *buffer, size_t size, smlp_model **out_model);

/* Caller metadata saved with the model: UTF-8 key/value strings (e.g. feature names,
 * training date). Setting an existing key replaces its value; a NULL value removes
 * the key. Keys are compared byte for byte (no Unicode normalisation: "\xC3\xA9"
 * and "e\xCC\x81", two spellings of an accented e, are two keys), as Python's dict
 * compares them. Keys are 1 to 255 bytes, values at most 65535 bytes, at most 1024 keys.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (lengths, count), BUSY. */
smlp_status smlp_set_metadata(smlp_model *model, const char *key, const char *value);

/* Copies the value of key, NUL-terminated, into buffer (capacity bytes) and its length
 * (without NUL) into *out_length. With buffer NULL only the length is returned.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (no such key), SHAPE_MISMATCH (capacity
 * too small; *out_length still set), BUSY (a changing call is running). */
smlp_status smlp_get_metadata(smlp_model *model, const char *key, char *buffer,
                              size_t capacity, size_t *out_length);

/* The number of metadata keys, in *out_count. Errors: NULL_ARGUMENT, BUSY. */
smlp_status smlp_metadata_count_get(smlp_model *model, size_t *out_count);

/* The same as a plain number, kept for programs built against 0.1.0: 0 on failure
 * too (a NULL model, or BUSY while a changing call runs), which only the error
 * message tells apart from "no keys". Prefer smlp_metadata_count_get. */
size_t smlp_metadata_count(smlp_model *model);

/* The key at index (0-based, in insertion order), copied like smlp_get_metadata
 * copies a value. Errors: NULL_ARGUMENT, INVALID_ARGUMENT (index out of range),
 * SHAPE_MISMATCH (capacity too small; *out_length still set), BUSY. */
smlp_status smlp_metadata_key(smlp_model *model, size_t index, char *buffer,
                              size_t capacity, size_t *out_length);

/* Writes a standalone C99 source file with the weights as constant arrays and a
 * function `void <prefix>_predict(const T *x, T *out)`, T being the model's type
 * (float or double); one sample: n_inputs in, n_outputs out, the scaler included.
 * The output is close to smlp_predict's (within rounding: the sums run in a
 * different order than in BLAS). No BLAS, no allocation and
 * no library beyond the C library's <math.h> (the file includes <float.h>,
 * <stdint.h> and <string.h> too), for firmware and other places where no shared
 * library can go (with the AVX2 copy below, GCC's and clang's runtime support
 * library answers __builtin_cpu_supports). Sigmoid, tanh and softmax use the
 * library's own branch-free exponential, so a C compiler vectorises their loops
 * (except where float arithmetic is wider than its type, FLT_EVAL_METHOD != 0, as
 * on x87, and under -ffast-math, which would fold its rounding step: there the file
 * calls expf/exp and tanhf/tanh; -fassociative-math without -ffast-math does the
 * same folding undetected, so do not use it alone). Under GCC and clang, where
 * FLT_EVAL_METHOD is 0, the products keep blocks of outputs in the compilers'
 * vector types (16 bytes, 32 with -mavx or a -march that has AVX); define
 * <PREFIX>_PLAIN_C for plain loops, which any C compiler takes. Compiled for x86
 * without AVX, the file also holds a copy of its layers compiled for AVX2 (GCC's
 * target attribute), which <prefix>_predict takes when
 * __builtin_cpu_supports("avx2") says the CPU has it: the same sums in the same
 * order, so the same results, about 1.4x faster; define <PREFIX>_NO_DISPATCH to
 * leave that copy out. It compiles cleanly as C99 (-std=c99 -Wall -Wextra -pedantic) and
 * as C++ (-Wall -Wextra), for every model; its functions have C linkage either way.
 * <prefix>_predict keeps <PREFIX>_SCRATCH_SIZE values of T on the stack (2 x the
 * widest layer, or 1 for a single layer without scaler; the file's first comment
 * gives the bytes, and the macro is defined in the file only); where the stack
 * is small, call `<prefix>_predict_scratch(x, out, scratch)` with that many values
 * of your own. The file has no header of its own: a program that compiles it
 * separately declares what it calls, e.g.
 *     void mynet_predict(const float *x, float *out);
 * (extern "C" from C++). prefix must be a C identifier of at most 64 characters
 * that does not begin with an underscore, which C reserves (NULL: "smlp_model").
 * The file is written by the rules of "Files" above.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (prefix, path not UTF-8, more than 10^7
 * parameters), NON_FINITE (as for smlp_save), IO, BUSY. */
smlp_status smlp_export_c(smlp_model *model, const char *path, const char *prefix);

/* ---- Data files --------------------------------------------------------------------- */

/* A data set whose memory the library owns, made by smlp_data_load_fann and released
 * with smlp_data_free. Its data member is an ordinary smlp_dataset, with dense
 * targets y and labels NULL, that can be passed as it is to smlp_train,
 * smlp_evaluate, smlp_step and the others: &owned->data. Its x and y may be read and written (as float or
 * double, per data.dtype) but not freed or resized. */
typedef struct smlp_owned_dataset {
    smlp_dataset data;
} smlp_owned_dataset;

/* Reads a FANN training data file (the format of FANN's fann_read_train_from_file and
 * fann_save_train) into a new data set of the given dtype, stored in *out_data. The
 * file is text: a first line "rows inputs outputs" (whole numbers, each in
 * 1..2147483647), then for each row a line with its inputs and a line with its
 * outputs, values separated by spaces or tabs, e.g. XOR:
 *     4 2 1
 *     0 0
 *     0
 *     0 1
 *     1
 *     ...
 * Values are decimal numbers as strtod reads them in the "C" locale (whatever the
 * process locale), and must be finite in dtype. Blank lines and "\r\n" line ends are
 * accepted. Stricter than FANN, which reads any whitespace layout: every input and
 * output vector must be on its own line, so that a missing or extra value is reported
 * where it is instead of shifting every later value; nothing but blank lines may
 * follow the last row. path is a UTF-8 string.
 * Errors: NULL_ARGUMENT (path, out_data), INVALID_ARGUMENT (dtype, path not UTF-8),
 * IO (missing, a directory, unreadable: the message has the OS error), BAD_FORMAT
 * (the message names the line, counted from 1, and what is wrong there, e.g. "line 6:
 * expected the 8 input values of row 2, found 7", rows counted from 0 as everywhere in
 * this API; a first line announcing more values than the file could hold is refused
 * before anything is allocated), OUT_OF_MEMORY. On failure *out_data is NULL and
 * nothing stays allocated. */
smlp_status smlp_data_load_fann(const char *path, smlp_dtype dtype, smlp_owned_dataset **out_data);

/* Writes a data set as a FANN data file, atomically as smlp_save writes (a temporary
 * file in the same folder, fsynced, renamed over path). Each value is written in the
 * shortest decimal form that reads back to the same float or double, so
 * smlp_data_load_fann with the same dtype returns the same bits; class labels are
 * written as one-hot rows of n_outputs values. path is a UTF-8 string.
 * Errors: NULL_ARGUMENT (path, data, data->x; neither y nor labels),
 * INVALID_ARGUMENT (dtype; n_rows, n_inputs or n_outputs outside 1..2147483647; both
 * y and labels; a label out of range, naming its row; path not UTF-8), NON_FINITE (a
 * NaN or infinity, naming its row and column), IO, OUT_OF_MEMORY. On failure nothing
 * is written: an existing file at path is left as it was. */
smlp_status smlp_data_save_fann(const char *path, const smlp_dataset *data);

/* Frees a data set made by smlp_data_load_fann, and its arrays. NULL is ignored. */
void smlp_data_free(smlp_owned_dataset *data);

/* ---- Models from other libraries ------------------------------------------------- */

/* Reads a network saved by FANN 2.x (fann_save: a "FANN_FLO_2.0" or "FANN_FLO_2.1"
 * text .net file) into *out_model, a new model of the given dtype that the caller
 * frees with smlp_free. Its predictions are what fann_run computes: FANN's
 * activations map as FANN_LINEAR -> SMLP_IDENTITY, FANN_SIGMOID -> SMLP_SIGMOID,
 * FANN_SIGMOID_SYMMETRIC -> SMLP_TANH, FANN_LINEAR_PIECE_RECT -> SMLP_RELU and
 * FANN_LINEAR_PIECE_RECT_LEAKY -> SMLP_LEAKY_RELU (slope 0.01), with each neuron's
 * steepness folded into its weights and bias (times 2 for FANN_SIGMOID, which is
 * 1/(1+exp(-2 s z))). The bias neurons become the biases; the loss is SMLP_MSE,
 * the optimizer plain SGD as after smlp_create; FANN's training settings (its error
 * function too: to train as FANN's default FANN_ERRORFUNC_TANH does, create a model
 * with SMLP_FANN_TANH_ERROR and copy the parameters with smlp_get_params and
 * smlp_set_params) and its
 * input/output scaling parameters (which fann_run does not apply) are not read.
 * FANN also clamps steepness * sum to +-150/steepness, which the model does not;
 * see docs/interop.md. path is a UTF-8 string.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (dtype, path not UTF-8; a network swiftmlp
 * cannot represent: shortcut or cascade-trained, sparse, an activation it lacks, two
 * activations in one layer, a negative steepness (for which FANN's clamp makes the
 * neuron constant), named with the line and the neuron or connection; a
 * folded weight that overflows the dtype, named by its parameter index), IO,
 * BAD_FORMAT (not a FANN network file, or a malformed one;
 * the message names the line), UNSUPPORTED_VERSION (fixed-point FANN_FIX_* files and
 * the FANN 1.x format), OUT_OF_MEMORY. On failure *out_model is NULL. */
smlp_status smlp_load_fann(const char *path, smlp_dtype dtype, smlp_model **out_model);

/* ---- Threads ------------------------------------------------------------------------ */

/* Sets how many threads OpenBLAS uses inside each matrix product, for the whole
 * process (OpenBLAS's setting is global). n in 1..1024; OpenBLAS uses at most its
 * compiled maximum (64 in Debian's 0.3.21 build), so a larger n sets that maximum,
 * and smlp_get_num_threads reports the number in effect. The default is OpenBLAS's
 * own (OPENBLAS_NUM_THREADS, else the core count). The same seed gives the same bits
 * at a given thread count; across thread counts, results can differ in the last
 * bits where OpenBLAS splits a product differently (seen with large float64
 * products). Errors: INVALID_ARGUMENT. */
smlp_status smlp_set_num_threads(int n);

/* The number of threads OpenBLAS currently uses (what smlp_set_num_threads set,
 * capped at OpenBLAS's compiled maximum). */
int smlp_get_num_threads(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SWIFTMLP_H */
