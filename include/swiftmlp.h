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
 *             messages are per thread.
 * Memory.     After the first call at a given batch size, smlp_predict,
 *             smlp_gradients and smlp_step allocate no heap memory: the model keeps a
 *             workspace sized for the largest batch it has seen (and up to 8
 *             prediction workspaces for concurrent smlp_predict calls; a 9th
 *             simultaneous prediction on one model allocates scratch for its call).
 *             This holds for libswiftmlp's own code; OpenBLAS 0.3.21's float64
 *             small-matrix kernels on AVX-512 CPUs allocate internally for some shapes
 *             (Tests/c/test_no_allocation.c counts the two separately).
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
#define SMLP_VERSION_STRING "0.1.0"

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
    SMLP_ERR_BAD_FORMAT = 9,        /* not a model file, or a corrupted one        */
    SMLP_ERR_UNSUPPORTED_VERSION = 10 /* a model file from a newer major version   */
} smlp_status;

/* A short, static, English description of a status code, e.g. "shape mismatch".
 * Unknown codes give "unknown status". Never NULL; never fails. */
const char *smlp_status_string(smlp_status status);

/* The message of the most recent failed call made on the calling thread, naming the
 * argument and the values involved, e.g. "smlp_predict: n_inputs is 3 but the model
 * has 2 inputs". Successful calls do not change it; "" if no call has failed yet on
 * this thread. The string is owned by the library and stays valid until the next
 * failing call on the same thread. Never NULL. */
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
 *                              (one-hot or soft) or as integer class labels. */
typedef enum smlp_loss {
    SMLP_MSE = 0,
    SMLP_BINARY_CROSS_ENTROPY = 1,
    SMLP_SOFTMAX_CROSS_ENTROPY = 2
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
    size_t n_layer_sizes;           /* entries in layer_sizes: >= 2 (input, output)  */
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
 * size, fewer than 2 layer sizes, a width of 0 or above 2147483647 (OpenBLAS's
 * 32-bit dimension limit), unknown enum, softmax before the last
 * layer, loss and last activation that do not go together, bad slope),
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
 * Errors: NULL_ARGUMENT, DTYPE_MISMATCH, SHAPE_MISMATCH (also n_rows == 0),
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
    size_t n_rows;                  /* samples, >= 1                                 */
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
 * state (momentum, Adam, AdamW, RMSprop): when the gradient is finite but the update
 * itself overflows a parameter or an optimizer state value (an extreme learning
 * rate, or values near the type's limit), the step returns SMLP_ERR_NON_FINITE
 * saying so, the parameters hold the overflowed values, and the optimizer state is
 * reset to that of a fresh smlp_set_optimizer (so that restoring the parameters with
 * smlp_set_params makes the model usable again). smlp_train rolls all of this back;
 * see there. smlp_save refuses a model left so. Plain SGD (SMLP_SGD, momentum 0)
 * has no exception: an update that would overflow returns SMLP_ERR_NON_FINITE and
 * changes nothing. (Plain SGD without clip_norm folds the update into the backward
 * pass and never stores the gradient. It writes the parameters in place only when
 * bounds on the norms of the parameters and of this batch prove that no value can
 * overflow, and otherwise computes them aside and keeps them only if all are
 * finite; the two ways give the same bits. See docs/performance.md.)
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
 *                where PyTorch's would follow the cosine back up) */
typedef enum smlp_schedule {
    SMLP_SCHEDULE_CONSTANT = 0,
    SMLP_SCHEDULE_STEP = 1,
    SMLP_SCHEDULE_EXPONENTIAL = 2,
    SMLP_SCHEDULE_COSINE = 3
} smlp_schedule;

typedef enum smlp_optimizer {
    SMLP_SGD = 0,                   /* with optional momentum and Nesterov            */
    SMLP_ADAM = 1,
    SMLP_ADAMW = 2,                 /* Adam with decoupled weight decay              */
    SMLP_RMSPROP = 3
} smlp_optimizer;

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
    size_t step_size;               /* STEP: epochs per decay, >= 1 (default 10)     */
    double gamma;                   /* STEP, EXPONENTIAL: factor, > 0 (default 0.1)  */
    size_t t_max;                   /* COSINE: period in epochs, >= 1 (default 100)  */
    double min_lr;                  /* COSINE: floor, >= 0 (default 0)               */
} smlp_optimizer_config;

/* Fills *config with PyTorch's defaults for kind:
 *   SGD lr 0.01, momentum 0, no Nesterov; Adam lr 0.001, betas (0.9, 0.999),
 *   eps 1e-8; AdamW the same with weight_decay 0.01; RMSprop lr 0.01, alpha 0.99,
 *   eps 1e-8, momentum 0. weight_decay 0 (AdamW: 0.01), weights only, no clipping,
 *   constant learning rate.
 * Does nothing when config is NULL; an unknown kind gives SGD's defaults with that
 * kind kept, so smlp_set_optimizer() reports it. */
void smlp_optimizer_config_init(smlp_optimizer_config *config, smlp_optimizer kind);

/* Sets the optimizer and resets its state (momentum buffers, moments, step count).
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (struct size, unknown kind, a value out of
 * the ranges above or NaN; the message names the field), OUT_OF_MEMORY, BUSY. */
smlp_status smlp_set_optimizer(smlp_model *model, const smlp_optimizer_config *config);

/* Sets the model's epoch count, which drives the learning-rate schedule (smlp_train
 * advances it by one per epoch; smlp_step never does). Errors: NULL_ARGUMENT, BUSY. */
smlp_status smlp_set_epoch(smlp_model *model, size_t epoch);

/* ---- Training on a whole data set ---------------------------------------------- */

/* What the callback receives after each epoch. Losses are the mean per-sample loss
 * over the data, whatever the reduction, so train and validation losses compare. */
typedef struct smlp_epoch_report {
    size_t epoch;                   /* 1-based, within this smlp_train call          */
    double train_loss;              /* mean over the epoch's batches, before updates  */
    double validation_loss;         /* NaN without validation data                    */
    double validation_accuracy;     /* NaN without validation data or for SMLP_MSE    */
    double learning_rate;           /* the rate used during this epoch                */
} smlp_epoch_report;

/* Called once per epoch, on the thread that called smlp_train. Return 0 to go on,
 * non-zero to stop after this epoch. It must not call functions that change the
 * same model (they return SMLP_ERR_BUSY); other models are fine. */
typedef int (*smlp_epoch_callback)(const smlp_epoch_report *report, void *user_data);

typedef struct smlp_train_options {
    size_t struct_size;             /* sizeof(smlp_train_options)                    */
    size_t epochs;                  /* >= 1 (default 10)                             */
    size_t batch_size;              /* >= 1 (default 32); a larger value means one
                                       batch of all rows                             */
    int shuffle;                    /* non-zero: reshuffle rows every epoch with the
                                       model's generator (default 1); same seed, same
                                       run, bit for bit                              */
    int drop_last;                  /* non-zero: skip a last batch smaller than
                                       batch_size (default 0: it is used)            */
    const smlp_dataset *validation; /* NULL: none (default)                          */
    size_t patience;                /* with validation: stop after this many epochs
                                       without improvement; 0 never stops (default) */
    double min_delta;               /* an improvement must exceed this (default 0)  */
    int restore_best;               /* with validation: end with the parameters of the
                                       best validation epoch (default 1)             */
    smlp_epoch_callback callback;   /* NULL: none (default)                          */
    void *user_data;                /* passed to callback unchanged                  */
} smlp_train_options;

/* Fills *options with the defaults above. Does nothing when options is NULL. */
void smlp_train_options_init(smlp_train_options *options);

typedef struct smlp_train_summary {
    size_t epochs_run;
    size_t best_epoch;              /* lowest validation loss (1-based), or the last */
    double best_validation_loss;    /* NaN without validation data                    */
    double final_train_loss;
    double final_validation_loss;   /* NaN without validation data                    */
    int stopped_early;              /* patience ran out (possibly in the last epoch)  */
    int stopped_by_callback;
} smlp_train_summary;

/* Trains on a whole data set in memory: for each epoch, (optionally) shuffles the
 * rows, runs smlp_step on consecutive batches of batch_size rows (the last one may
 * be smaller unless drop_last), then evaluates the validation data, calls the
 * callback, and checks early stopping. The data are checked once up front: a NaN or
 * infinity anywhere is SMLP_ERR_NON_FINITE naming its row. The call is all or
 * nothing: on any failure (also a loss that turns non-finite mid-run) the model's
 * parameters, optimizer state, generator and epoch are restored to what they were.
 * out_summary may be NULL. The model's scaler, if any, applies to both data sets.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (options; a label out of range; both or
 * neither of y and labels), DTYPE_MISMATCH, SHAPE_MISMATCH, NON_FINITE,
 * OUT_OF_MEMORY, BUSY. */
smlp_status smlp_train(smlp_model *model, const smlp_dataset *train,
                       const smlp_train_options *options, smlp_train_summary *out_summary);

/* Mean per-sample loss and accuracy on a data set, without training. Accuracy is the
 * fraction of rows whose argmax equals the label (softmax), or whose every output is
 * on the right side of 0.5 (sigmoid); NaN for SMLP_MSE. Either output may be NULL.
 * Like smlp_predict, it does not refuse a diverged model: the loss is then NaN.
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
 * finite and > 0, and every mean and 1/std representable in the model's type).
 * Errors: NULL_ARGUMENT, SHAPE_MISMATCH, INVALID_ARGUMENT, BUSY. */
smlp_status smlp_set_scaler(smlp_model *model, const double *mean, const double *std,
                            size_t n_inputs);

/* Copies the scaler into mean and std (n_inputs doubles each) and sets *out_has_scaler
 * to 1, or sets it to 0 (leaving mean and std untouched) when the model has none.
 * mean and std may be NULL when only out_has_scaler is wanted.
 * Errors: NULL_ARGUMENT, SHAPE_MISMATCH. */
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

/* Rows of the batch whose cache smlp_get_layer_cache() can return; 0 when there is
 * none (and when model is NULL, which also sets the error message). */
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
 * finite), NON_FINITE (a gradient entry: nothing changed; or the update overflowed,
 * as described at smlp_step: nothing changed with plain SGD), BUSY. */
smlp_status smlp_apply_gradients(smlp_model *model, smlp_dtype dtype, const void *grad,
                                 size_t count, double scale);

/* ---- Saving and loading ------------------------------------------------------------ */

/* Writes the whole model - configuration, parameters, optimizer settings and state,
 * epoch, generator, scaler and metadata - to path in the format of docs/format.md,
 * atomically: it writes a temporary file in the same folder, flushes and fsyncs it,
 * then renames it over path, so a crash or a full disk never leaves a half-written
 * file where a good model was. An existing file keeps its permissions (a new one gets
 * 0644); a symbolic link is followed and its target replaced; an existing path that
 * is not a regular file (a folder, a device, a FIFO) is refused. path is a UTF-8
 * string. Errors: NULL_ARGUMENT, INVALID_ARGUMENT (path not UTF-8), IO (the message
 * has the OS error), NON_FINITE (a parameter or optimizer state is not finite, which
 * only an overflowed smlp_step leaves; such a model is never written, so every saved
 * file loads), OUT_OF_MEMORY, BUSY. */
smlp_status smlp_save(smlp_model *model, const char *path);

/* Reads a model saved by smlp_save (any older format version) into *out_model, which
 * the caller frees with smlp_free. Predictions of the loaded model equal the saved
 * one's bit for bit, and training resumes exactly where it stopped.
 * Errors: NULL_ARGUMENT, IO (missing file, a directory, unreadable), BAD_FORMAT
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
 * buffer is only read during the call. Errors: as smlp_load, without IO. */
smlp_status smlp_load_from_buffer(const void *buffer, size_t size, smlp_model **out_model);

/* Caller metadata saved with the model: UTF-8 key/value strings (e.g. feature names,
 * training date). Setting an existing key replaces its value; a NULL value removes
 * the key. Keys are 1 to 255 bytes, values at most 65535 bytes, at most 1024 keys.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (lengths, count), BUSY. */
smlp_status smlp_set_metadata(smlp_model *model, const char *key, const char *value);

/* Copies the value of key, NUL-terminated, into buffer (capacity bytes) and its length
 * (without NUL) into *out_length. With buffer NULL only the length is returned.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (no such key), SHAPE_MISMATCH (capacity
 * too small; *out_length still set). */
smlp_status smlp_get_metadata(smlp_model *model, const char *key, char *buffer,
                              size_t capacity, size_t *out_length);

/* The number of metadata keys (0, with the error message set, for a NULL model), and
 * the key at index (0-based, in insertion order), copied like smlp_get_metadata
 * copies a value. Errors of smlp_metadata_key: NULL_ARGUMENT, INVALID_ARGUMENT
 * (index out of range), SHAPE_MISMATCH (capacity too small; *out_length still set). */
size_t smlp_metadata_count(smlp_model *model);
smlp_status smlp_metadata_key(smlp_model *model, size_t index, char *buffer,
                              size_t capacity, size_t *out_length);

/* Writes a standalone C99 source file with the weights as constant arrays and a
 * function `void <prefix>_predict(const T *x, T *out)`, T being the model's type
 * (float or double); one sample: n_inputs in, n_outputs out, the scaler included.
 * The output is close to smlp_predict's (within rounding: the sums run in a
 * different order than in BLAS). No BLAS, no allocation and
 * no dependency beyond <math.h>, for firmware and other places where no shared
 * library can go. prefix must be a C identifier of at most 64 characters (NULL:
 * "smlp_model"). The file is written atomically, as smlp_save writes.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (prefix, path not UTF-8), IO, BUSY. */
smlp_status smlp_export_c(smlp_model *model, const char *path, const char *prefix);

/* ---- Models from other libraries ------------------------------------------------- */

/* Reads a network saved by FANN 2.x (fann_save: a "FANN_FLO_2.0" or "FANN_FLO_2.1"
 * text .net file) into *out_model, a new model of the given dtype that the caller
 * frees with smlp_free. Its predictions are what fann_run computes: FANN's
 * activations map as FANN_LINEAR -> SMLP_IDENTITY, FANN_SIGMOID -> SMLP_SIGMOID,
 * FANN_SIGMOID_SYMMETRIC -> SMLP_TANH, FANN_LINEAR_PIECE_RECT -> SMLP_RELU and
 * FANN_LINEAR_PIECE_RECT_LEAKY -> SMLP_LEAKY_RELU (slope 0.01), with each neuron's
 * steepness folded into its weights and bias (times 2 for FANN_SIGMOID, which is
 * 1/(1+exp(-2 s z))). The bias neurons become the biases; the loss is SMLP_MSE,
 * the optimizer plain SGD as after smlp_create; FANN's training settings and its
 * input/output scaling parameters (which fann_run does not apply) are not read.
 * FANN also clamps steepness * sum to +-150/steepness, which the model does not;
 * see docs/interop.md. path is a UTF-8 string.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (dtype, path not UTF-8; a network swiftmlp
 * cannot represent: shortcut or cascade-trained, sparse, an activation it lacks, two
 * activations in one layer, named with the line and the neuron or connection; a
 * folded weight that overflows the dtype, named by its parameter index), IO,
 * BAD_FORMAT (not a FANN network file, or a malformed one;
 * the message names the line), UNSUPPORTED_VERSION (fixed-point FANN_FIX_* files and
 * the FANN 1.x format), OUT_OF_MEMORY. On failure *out_model is NULL. */
smlp_status smlp_load_fann(const char *path, smlp_dtype dtype, smlp_model **out_model);

/* ---- Threads ------------------------------------------------------------------------ */

/* Sets how many threads OpenBLAS uses inside each matrix product, for the whole
 * process (OpenBLAS's setting is global). n in 1..1024. The default is OpenBLAS's
 * own (OPENBLAS_NUM_THREADS, else the core count). The same seed gives the same bits
 * at a given thread count; across thread counts, results can differ in the last
 * bits where OpenBLAS splits a product differently (seen with large float64
 * products). Errors: INVALID_ARGUMENT. */
smlp_status smlp_set_num_threads(int n);

/* The number of threads OpenBLAS currently uses. */
int smlp_get_num_threads(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SWIFTMLP_H */
