#!/usr/bin/env python3
"""Trains libswiftmlp and the NumPy reference side by side and compares them.

For every combination of
    hidden activation   identity, sigmoid, tanh, relu, leaky_relu   (both hidden layers)
    loss / output       mse on identity, sigmoid and softmax outputs (the last one is
                        the softmax Jacobian-vector path); bce on sigmoid; softmax
                        cross-entropy with one-hot rows, integer labels, and soft
                        targets whose rows do not sum to 1
    reduction           mean, sum
    optimizer           10 configurations covering SGD (plain, momentum, Nesterov,
                        weight decay on weights only and on all parameters), Adam,
                        AdamW, RMSprop with and without momentum, clipping by global
                        norm, and the step, exponential and cosine schedules
    dtype               float64, float32
a library model (through the C API, with the minimal ctypes layer below) and a
scripts/numpy_reference.py model start from the same parameters - the library's own
initial weights, which the reference reproduces from the seed; the "init" column says
whether they were bit-identical - and run the same mini-batches (8 rows of a 64-row data
set, reshuffled each epoch, the epoch driving the schedule through smlp_set_epoch) for
100 steps each on its own trajectory. The network is 4-7-6-3 (pairwise distinct widths,
none equal to the batch size, so a transposed product cannot pass by accident).

Each row of the table shows the largest relative difference over all steps of
    loss      the reduced loss smlp_gradients returns, |L_lib - L_ref| / |L_ref|
    grad      the gradient vector from smlp_gradients before each step
    param     the parameter vector after each step
    output    smlp_predict on the whole data set after the last step
where vector differences are normwise per block - max |lib - ref| / max |ref| over
each W_l and each b_l separately, the worst block reported - so a near-zero entry
does not inflate the figure, and an error in one small block is not hidden by a
larger block. The steps compare whole trajectories, so optimizer state (momentum,
Adam moments, step count), weight decay, clipping and the schedule are all covered.

Tolerances, and why:
  float64  1e-10. Both sides compute the same equations in IEEE double; they differ
           only in rounding: OpenBLAS's GEMM kernels (the library's) and NumPy's
           matmul sum the n (or n_l) products of each entry in a different order
           (blocking, FMA, threads), and the element-wise passes are ordered
           differently. That is ~1e-16 relative per operation; 100 steps of a
           well-conditioned training run amplify it to ~1e-14..1e-12 at worst.
           1e-10 leaves room for that, while any mistake in a formula (a missing
           1/n, a wrong derivative, a decay on the wrong block, a bias correction off
           by one step) shows up at 1e-3 or more.
  float32  1e-4. float32 has a 24-bit mantissa (epsilon 1.2e-7), so every rounding is
           ~1e-7 relative instead of ~1e-16; the same reordered BLAS sums, cancellation
           in quantities such as sum_r (a_r - y_r), and 100 steps of feedback
           (Adam divides by sqrt(v), which magnifies the relative error of small
           gradients) make 1e-6..1e-5 normal. 1e-4 is still far below what a real
           error produces.
  float32, ill-conditioned runs. A few float32 runs in the full grid cannot be held
           to 1e-4 by ANY two float32 implementations, because the run amplifies
           rounding: e.g. a gradient entry whose true value is ~3e-7 while its block's
           largest is ~1 is pure float32 rounding noise, and RMSprop's first step,
           g / (sqrt(0.01 g^2) + 1e-8) = 10 g / (|g| + 1e-7), turns that noise into a
           ~10% different update; or a bias block that decays through ~1e-4 makes
           float32-resolution differences look like 1e-4 relative to that block. To
           tell these apart from errors, every float32 run is shadowed by the
           reference in float64 from the same (exactly representable) start, and the
           table shows f32-f64 (how far the float32 reference drifts from it: float32's
           own sensitivity on this run) and lib-f64 (the same for the library). A
           float32 row that misses 1e-4 still passes, marked "ok~", when for every
           measure the library is within CONDITIONING_FACTOR = 10 times the float32
           reference's drift of the float64 run. Two float32 runs that differ only in
           rounding land at random distances from the float64 run (in the ok~ rows of
           the full grid the ratio lib-f64 / f32-f64 is 0.4..2), hence 10 rather than
           1. What the float32 rows catch is a float32 path computing another
           formula than the float64 one (at 1e-3 or more); a float32-only rounding
           mistake (a constant rounded to float32, a cast in the wrong place: ~1e-5
           relative, as Adam's bias corrections in float32 measured) is within this
           tolerance and passes. The float64 rows (1e-10) check every formula.
The script exits with status 1 when any row fails (or the initial weights are not
bit-identical, or smlp_step's loss differs from smlp_gradients' on the same batch), 2
when the library cannot be loaded.

JAX: when it is installed, random networks (depth 1-3, mixed hidden activations, every
output/loss/target form, both reductions) also have their gradient checked three ways:
jax.grad of the reference's own loss function (numpy_reference.reference_loss, run on
jax.numpy), the reference's hand-written backward pass, and smlp_gradients. Without
JAX that part is skipped with a message.

Usage:
    python3 scripts/compare_numpy.py            # everything (make compare)
    python3 scripts/compare_numpy.py --quick    # a covering subset, a few seconds
    python3 scripts/compare_numpy.py --only relu --only adam   # rows matching all words
The library is build/lib/libswiftmlp.so.0 of this checkout (`make library`), or the
file $SWIFTMLP_LIBRARY names.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import os
import sys
import time
from ctypes import POINTER, Structure, c_char_p, c_double, c_int, c_int32, c_size_t, c_uint64, c_void_p
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy_reference as ref  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

# =====================================================================================
# A minimal ctypes layer over include/swiftmlp.h (only what these scripts use).
# =====================================================================================

DTYPES = {np.float32: 1, np.float64: 2}                          # smlp_dtype
ACTIVATION_CODES = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4,
                    "softmax": 5}
LOSS_CODES = {"mse": 0, "bce": 1, "softmax_ce": 2}
REDUCTION_CODES = {"mean": 0, "sum": 1}
INIT_CODES = {"auto": 0, "glorot": 1, "he": 2}
OPTIMIZER_CODES = {"sgd": 0, "adam": 1, "adamw": 2, "rmsprop": 3}
SCHEDULE_CODES = {"constant": 0, "step": 1, "exponential": 2, "cosine": 3}
CACHE_CODES = {"Z": 0, "A": 1, "dZ": 2}


class _Config(Structure):
    _fields_ = [("struct_size", c_size_t), ("dtype", c_int), ("n_layer_sizes", c_size_t),
                ("layer_sizes", POINTER(c_size_t)), ("activations", POINTER(c_int)),
                ("loss", c_int), ("reduction", c_int), ("init", c_int), ("seed", c_uint64),
                ("leaky_relu_slope", c_double)]


class _Dataset(Structure):
    _fields_ = [("dtype", c_int), ("n_rows", c_size_t), ("n_inputs", c_size_t),
                ("x", c_void_p), ("n_outputs", c_size_t), ("y", c_void_p),
                ("labels", POINTER(c_int32))]


class _OptimizerConfig(Structure):
    _fields_ = [("struct_size", c_size_t), ("kind", c_int), ("learning_rate", c_double),
                ("momentum", c_double), ("nesterov", c_int), ("beta1", c_double),
                ("beta2", c_double), ("epsilon", c_double), ("alpha", c_double),
                ("weight_decay", c_double), ("decay_biases", c_int), ("clip_norm", c_double),
                ("schedule", c_int), ("step_size", c_size_t), ("gamma", c_double),
                ("t_max", c_size_t), ("min_lr", c_double),
                # RPROP fields (smlp_optimizer_config_init_sized fills them)
                ("rprop_variant", c_int), ("rprop_increase", c_double), ("rprop_decrease", c_double),
                ("rprop_delta0", c_double), ("rprop_delta_min", c_double), ("rprop_delta_max", c_double)]


class _LayerInfo(Structure):
    _fields_ = [("n_inputs", c_size_t), ("n_outputs", c_size_t), ("activation", c_int),
                ("weight_offset", c_size_t), ("bias_offset", c_size_t)]


class LibraryError(RuntimeError):
    """A call returned a status other than SMLP_OK."""

    def __init__(self, function, status, message):
        super().__init__(f"{function}: status {status}: {message}")
        self.status = status


def library_path():
    """$SWIFTMLP_LIBRARY, else build/lib/libswiftmlp.so.0 of this checkout."""
    return os.environ.get("SWIFTMLP_LIBRARY") or str(REPO / "build" / "lib" / "libswiftmlp.so.0")


_LIB = None


def load_library(path=None):
    """Loads libswiftmlp once and declares the prototypes used here."""
    global _LIB
    if _LIB is not None and path is None:
        return _LIB
    path = path or library_path()
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: build it with `make library` or "
                                f"set SWIFTMLP_LIBRARY")
    lib = ctypes.CDLL(path)
    model = c_void_p
    prototypes = {
        "smlp_last_error": (c_char_p, ()),
        "smlp_config_init": (None, (POINTER(_Config),)),
        "smlp_create": (c_int, (POINTER(_Config), POINTER(model))),
        "smlp_free": (None, (model,)),
        "smlp_param_count": (c_size_t, (model,)),
        "smlp_layer_info_get": (c_int, (model, c_size_t, POINTER(_LayerInfo))),
        "smlp_get_params": (c_int, (model, c_int, c_void_p, c_size_t)),
        "smlp_set_params": (c_int, (model, c_int, c_void_p, c_size_t)),
        "smlp_predict": (c_int, (model, c_int, c_void_p, c_size_t, c_size_t, c_void_p, c_size_t)),
        "smlp_gradients": (c_int, (model, POINTER(_Dataset), POINTER(c_double), c_void_p, c_size_t)),
        "smlp_step": (c_int, (model, POINTER(_Dataset), POINTER(c_double))),
        "smlp_optimizer_config_init_sized": (None, (POINTER(_OptimizerConfig), c_int, c_size_t)),
        "smlp_set_optimizer": (c_int, (model, POINTER(_OptimizerConfig))),
        "smlp_set_epoch": (c_int, (model, c_size_t)),
        "smlp_evaluate": (c_int, (model, POINTER(_Dataset), POINTER(c_double), POINTER(c_double))),
        "smlp_get_layer_cache": (c_int, (model, c_size_t, c_int, c_int, c_void_p, c_size_t, c_size_t)),
        "smlp_gradcheck": (c_int, (model, POINTER(_Dataset), c_double, POINTER(c_double),
                                   POINTER(c_double), c_size_t)),
    }
    for name, (restype, argtypes) in prototypes.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    if path == library_path():
        _LIB = lib
    return lib


class LibraryModel:
    """One smlp_model, with NumPy in and out. The counterpart of ref.ReferenceModel."""

    def __init__(self, arch, dtype=np.float64, seed=0, init="auto", lib=None):
        self.lib = lib or load_library()
        self.arch, self.dtype = arch, np.dtype(dtype).type
        self.code = DTYPES[self.dtype]
        config = _Config()
        self.lib.smlp_config_init(ctypes.byref(config))
        sizes = (c_size_t * len(arch.sizes))(*arch.sizes)
        activations = (c_int * arch.n_layers)(*[ACTIVATION_CODES[a] for a in arch.activations])
        config.dtype, config.n_layer_sizes = self.code, len(arch.sizes)
        config.layer_sizes, config.activations = sizes, activations
        config.loss, config.reduction = LOSS_CODES[arch.loss], REDUCTION_CODES[arch.reduction]
        config.init, config.seed = INIT_CODES[init], seed
        config.leaky_relu_slope = arch.leaky_relu_slope
        self.handle = c_void_p()
        self._check("smlp_create", self.lib.smlp_create(ctypes.byref(config), ctypes.byref(self.handle)))
        self.count = self.lib.smlp_param_count(self.handle)

    # -- plumbing --
    def _check(self, function, status):
        if status != 0:
            raise LibraryError(function, status, self.lib.smlp_last_error().decode())

    def _array(self, a):
        return np.ascontiguousarray(a, dtype=self.dtype)

    def _dataset(self, X, Y=None, labels=None):
        """(smlp_dataset, the arrays it points into: keep them alive for the call)."""
        X = self._array(X)
        data = _Dataset(self.code, X.shape[0], X.shape[1], X.ctypes.data, self.arch.sizes[-1],
                        None, None)
        keep = [X]
        if labels is not None:
            labels = np.ascontiguousarray(labels, dtype=np.int32)
            data.labels = labels.ctypes.data_as(POINTER(c_int32))
            keep.append(labels)
        else:
            Y = self._array(Y)
            data.y = Y.ctypes.data
            keep.append(Y)
        return data, keep

    def close(self):
        if self.handle:
            self.lib.smlp_free(self.handle)
            self.handle = c_void_p()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the API --
    @property
    def params(self):
        out = np.empty(self.count, self.dtype)
        self._check("smlp_get_params", self.lib.smlp_get_params(
            self.handle, self.code, out.ctypes.data, self.count))
        return out

    @params.setter
    def params(self, values):
        values = self._array(values)
        self._check("smlp_set_params", self.lib.smlp_set_params(
            self.handle, self.code, values.ctypes.data, values.size))

    def layer_info(self, layer):
        info = _LayerInfo()
        self._check("smlp_layer_info_get", self.lib.smlp_layer_info_get(
            self.handle, layer, ctypes.byref(info)))
        return (info.weight_offset, info.bias_offset, info.n_inputs, info.n_outputs)

    def gradients(self, X, Y=None, labels=None):
        """(loss, gradient vector)."""
        data, _keep = self._dataset(X, Y, labels)
        loss, grad = c_double(), np.empty(self.count, self.dtype)
        self._check("smlp_gradients", self.lib.smlp_gradients(
            self.handle, ctypes.byref(data), ctypes.byref(loss), grad.ctypes.data, self.count))
        return loss.value, grad

    def loss(self, X, Y=None, labels=None):
        """The reduced loss alone (smlp_gradients with grad NULL)."""
        data, _keep = self._dataset(X, Y, labels)
        loss = c_double()
        self._check("smlp_gradients", self.lib.smlp_gradients(
            self.handle, ctypes.byref(data), ctypes.byref(loss), None, 0))
        return loss.value

    def step(self, X, Y=None, labels=None):
        """One optimizer step; the loss before it."""
        data, _keep = self._dataset(X, Y, labels)
        loss = c_double()
        self._check("smlp_step", self.lib.smlp_step(self.handle, ctypes.byref(data), ctypes.byref(loss)))
        return loss.value

    def evaluate(self, X, Y=None, labels=None):
        """(mean per-sample loss, accuracy)."""
        data, _keep = self._dataset(X, Y, labels)
        loss, accuracy = c_double(), c_double()
        self._check("smlp_evaluate", self.lib.smlp_evaluate(
            self.handle, ctypes.byref(data), ctypes.byref(loss), ctypes.byref(accuracy)))
        return loss.value, accuracy.value

    def predict(self, X):
        X = self._array(X)
        out = np.empty((X.shape[0], self.arch.sizes[-1]), self.dtype)
        self._check("smlp_predict", self.lib.smlp_predict(
            self.handle, self.code, X.ctypes.data, X.shape[0], X.shape[1], out.ctypes.data,
            out.shape[1]))
        return out

    def set_optimizer(self, config):
        """From a ref.OptimizerConfig (every field set explicitly)."""
        c = _OptimizerConfig()
        self.lib.smlp_optimizer_config_init_sized(ctypes.byref(c), OPTIMIZER_CODES[config.kind], ctypes.sizeof(c))
        c.learning_rate, c.momentum, c.nesterov = config.learning_rate, config.momentum, int(config.nesterov)
        c.beta1, c.beta2, c.epsilon, c.alpha = config.beta1, config.beta2, config.epsilon, config.alpha
        c.weight_decay, c.decay_biases = config.weight_decay, int(config.decay_biases)
        c.clip_norm, c.schedule = config.clip_norm, SCHEDULE_CODES[config.schedule]
        c.step_size, c.gamma = config.step_size, config.gamma
        c.t_max, c.min_lr = config.t_max, config.min_lr
        self._check("smlp_set_optimizer", self.lib.smlp_set_optimizer(self.handle, ctypes.byref(c)))

    def set_epoch(self, epoch):
        self._check("smlp_set_epoch", self.lib.smlp_set_epoch(self.handle, epoch))

    def layer_cache(self, layer, kind, rows):
        """Z, A or dZ of `layer` for the last gradients/step batch (rows x n_out)."""
        n_out = self.arch.sizes[layer + 1]
        out = np.empty((rows, n_out), self.dtype)
        self._check("smlp_get_layer_cache", self.lib.smlp_get_layer_cache(
            self.handle, layer, CACHE_CODES[kind], self.code, out.ctypes.data, rows, n_out))
        return out

    def gradcheck(self, X, Y=None, labels=None, h=1e-6):
        """smlp_gradcheck: (max rel error per W_l, per b_l)."""
        data, _keep = self._dataset(X, Y, labels)
        n = self.arch.n_layers
        w, b = (c_double * n)(), (c_double * n)()
        self._check("smlp_gradcheck", self.lib.smlp_gradcheck(self.handle, ctypes.byref(data), h, w, b, n))
        return list(w), list(b)


# =====================================================================================
# The comparison grid
# =====================================================================================

SIZES_HIDDEN = (4, 7, 6)      # input, hidden, hidden; the output width is K
K = 3
ROWS, BATCH = 64, 8
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-4}
#: float32 rows that miss TOLERANCE pass when the library is within this factor of the
#: float32 reference's own drift from the float64 run (see the module docstring).
CONDITIONING_FACTOR = 10

HIDDEN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu")
#: name -> (output activation, loss, target variant of ref.random_targets)
LOSS_VARIANTS = {
    "mse/identity": ("identity", "mse", "dense"),
    "mse/sigmoid": ("sigmoid", "mse", "dense"),
    "mse/softmax": ("softmax", "mse", "dense"),
    "bce": ("sigmoid", "bce", "binary"),
    "ce/onehot": ("softmax", "softmax_ce", "onehot"),
    "ce/labels": ("softmax", "softmax_ce", "labels"),
    "ce/soft": ("softmax", "softmax_ce", "soft"),
}
REDUCTIONS = ("mean", "sum")
DTYPE_NAMES = {"f64": np.float64, "f32": np.float32}


def optimizer_variants(reduction):
    """name -> ref.OptimizerConfig. Learning rates are for mean reduction; under sum the
    gradient is BATCH times larger, so SGD's rate and every clip_norm are scaled to
    match (Adam and RMSprop are scale-invariant up to eps)."""
    scale = BATCH if reduction == "sum" else 1
    sgd = lambda lr, **kw: ref.optimizer_defaults("sgd", learning_rate=lr / scale, **kw)  # noqa: E731
    clip = 0.3 * scale
    return {
        "sgd": sgd(0.1),
        "sgd+mom+step": sgd(0.05, momentum=0.9, schedule="step", step_size=4, gamma=0.5),
        "sgd+nesterov+wd+clip": sgd(0.05, momentum=0.9, nesterov=True, weight_decay=0.05,
                                    clip_norm=clip),
        "sgd+mom+wd_all+exp": sgd(0.1, momentum=0.5, weight_decay=0.05, decay_biases=True,
                                  schedule="exponential", gamma=0.9),
        "adam": ref.optimizer_defaults("adam", learning_rate=0.01),
        "adam+wd+clip": ref.optimizer_defaults("adam", learning_rate=0.01, weight_decay=0.01,
                                               clip_norm=clip),
        "adamw+cosine": ref.optimizer_defaults("adamw", learning_rate=0.01, weight_decay=0.1,
                                               schedule="cosine", t_max=10, min_lr=0.001),
        "adamw+wd_all": ref.optimizer_defaults("adamw", learning_rate=0.01, weight_decay=0.1,
                                               decay_biases=True),
        "rmsprop": ref.optimizer_defaults("rmsprop", learning_rate=0.003),
        "rmsprop+mom+wd+clip": ref.optimizer_defaults("rmsprop", learning_rate=0.003,
                                                      momentum=0.9, weight_decay=0.01,
                                                      clip_norm=clip),
    }


OPTIMIZER_NAMES = tuple(optimizer_variants("mean"))


def full_grid():
    return list(itertools.product(HIDDEN, LOSS_VARIANTS, REDUCTIONS, OPTIMIZER_NAMES,
                                  DTYPE_NAMES))


def quick_grid(count=36):
    """A fixed sample of the grid in which every level of every factor occurs."""
    grid = full_grid()
    for seed in itertools.count():
        picks = np.random.default_rng(seed).choice(len(grid), size=count, replace=False)
        rows = [grid[i] for i in sorted(picks)]
        if all(len({row[f] for row in rows}) == len(levels) for f, levels in
               enumerate((HIDDEN, LOSS_VARIANTS, REDUCTIONS, OPTIMIZER_NAMES, DTYPE_NAMES))):
            return rows


METRICS = ("loss", "grad", "param", "output")


def run_combination(hidden, loss_name, reduction, optimizer_name, dtype_name, steps, seed):
    """Trains both sides for `steps` steps; returns a dict of the largest differences.

    For float32 a third model runs alongside: the reference in float64 from the same
    (exactly representable) start, the "exact" run. It measures how far float32
    arithmetic itself drifts on this particular run."""
    dtype = DTYPE_NAMES[dtype_name]
    output, loss, variant = LOSS_VARIANTS[loss_name]
    arch = ref.Architecture(SIZES_HIDDEN + (K,), (hidden, hidden, output), loss, reduction,
                            leaky_relu_slope=0.1)
    optimizer = optimizer_variants(reduction)[optimizer_name]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(ROWS, SIZES_HIDDEN[0])).astype(dtype)
    Y, labels = ref.random_targets(rng, variant, ROWS, K, dtype)

    library = LibraryModel(arch, dtype, seed=seed)
    reference = ref.ReferenceModel(arch, dtype, seed=seed)
    result = {"init": "bit" if np.array_equal(library.params.view(np.uint8),
                                                reference.params.view(np.uint8)) else "DIFF"}
    library.params = reference.params          # the same start, whatever the above says
    exact = None
    if dtype is np.float32:
        exact = ref.ReferenceModel(arch, np.float64, params=reference.params.astype(np.float64))
        X64 = X.astype(np.float64)
        Y64 = None if Y is None else Y.astype(np.float64)
    for model in (library, reference, exact):
        if model is not None:
            model.set_optimizer(optimizer)

    pairs = ("lib-ref", "lib-exact", "ref-exact") if exact is not None else ("lib-ref",)
    worst = {pair: dict.fromkeys(METRICS, 0.0) for pair in pairs}

    def record(pair, metric, value):
        worst[pair][metric] = max(worst[pair][metric], value)

    step_loss_mismatch = 0
    batches = ROWS // BATCH
    order = rng.permutation(ROWS)
    for step in range(steps):
        epoch, b = divmod(step, batches)
        if b == 0:
            order = rng.permutation(ROWS)
            library.set_epoch(epoch)
            reference.epoch = epoch
            if exact is not None:
                exact.epoch = epoch
        rows = order[b * BATCH:(b + 1) * BATCH]
        xb = X[rows]
        yb = None if Y is None else Y[rows]
        lb = None if labels is None else labels[rows]
        lib_loss, lib_grad = library.gradients(xb, yb, lb)
        lib_step_loss = library.step(xb, yb, lb)
        ref_loss, ref_grad = reference.step(xb, yb, lb)
        step_loss_mismatch += lib_step_loss != lib_loss
        sides = {"lib": (lib_loss, lib_grad, library.params),
                 "ref": (ref_loss, ref_grad, reference.params)}
        if exact is not None:
            exact_loss, exact_grad = exact.step(X64[rows], None if Y64 is None else Y64[rows], lb)
            sides["exact"] = (exact_loss, exact_grad, exact.params)
        for pair in pairs:
            a, e = (sides[name] for name in pair.split("-"))
            record(pair, "loss", ref.relative_error(a[0], e[0]))
            record(pair, "grad", ref.blockwise_relative_error(a[1], e[1], arch.sizes))
            record(pair, "param", ref.blockwise_relative_error(a[2], e[2], arch.sizes))
    outputs = {"lib": library.predict(X), "ref": reference.predict(X)}
    if exact is not None:
        outputs["exact"] = exact.predict(X64)
    for pair in pairs:
        a, e = pair.split("-")
        record(pair, "output", ref.relative_error(outputs[a], outputs[e]))
    library.close()

    result.update(worst["lib-ref"])
    result["final_loss"] = ref_loss
    result["step_loss_mismatch"] = step_loss_mismatch
    tolerance = TOLERANCE[dtype]
    direct = all(worst["lib-ref"][m] <= tolerance for m in METRICS)
    conditioned = False
    if not direct and exact is not None:
        # float32 cannot do better on this run than its own drift from the float64 run:
        # accept the library if it stays within CONDITIONING_FACTOR times that drift.
        conditioned = all(worst["lib-ref"][m] <= tolerance or worst["lib-exact"][m] <= max(
            tolerance, CONDITIONING_FACTOR * worst["ref-exact"][m]) for m in METRICS)
    if exact is not None:
        result["f32_drift"] = max(worst["ref-exact"].values())
        result["lib_drift"] = max(worst["lib-exact"].values())
    result["conditioned"] = conditioned
    result["ok"] = (result["init"] == "bit" and step_loss_mismatch == 0
                    and (direct or conditioned))
    return result


# =====================================================================================
# JAX: jax.grad of the reference loss vs the reference backward pass vs the library
# =====================================================================================

#: ref.OUTPUT_CASES, the fused and Jacobian-vector paths first (--quick runs only a few).
JAX_CASES = sorted(ref.OUTPUT_CASES, key=lambda case: (
    [("softmax", "softmax_ce", "soft"), ("softmax", "mse", "dense"), ("sigmoid", "bce", "soft"),
     ("softmax", "softmax_ce", "labels")] + list(ref.OUTPUT_CASES)).index(case))


def check_against_jax(networks, seed=7, verbose=True):
    """Returns a list of failures, or None when JAX is not installed."""
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    failures, worst_ref, worst_lib = [], 0.0, 0.0
    widths = [2, 3, 4, 5, 6, 7]
    for index in range(networks):
        depth = int(rng.integers(1, 4))
        n = 9
        sizes = tuple(int(w) for w in rng.choice(widths, size=depth + 1, replace=False))
        output, loss, variant = JAX_CASES[index % len(JAX_CASES)]
        hidden = tuple(rng.choice(ref.HIDDEN, size=depth - 1))
        reduction = REDUCTIONS[index % 2]
        arch = ref.Architecture(sizes, hidden + (output,), loss, reduction, leaky_relu_slope=0.2)
        for _ in range(100):
            params = rng.normal(scale=0.8, size=ref.param_count(sizes))
            X = rng.normal(size=(n, sizes[0]))
            if ref._away_from_kinks(params, arch, X, margin=1e-6):
                break
        Y, labels = ref.random_targets(rng, variant, n, sizes[-1])
        jax_grad = np.asarray(jax.jit(jax.grad(lambda p: ref.reference_loss(
            p, arch, jnp.asarray(X), None if Y is None else jnp.asarray(Y),
            None if labels is None else jnp.asarray(labels), xp=jnp)))(jnp.asarray(params)))
        ref_loss, ref_grad, _ = ref.loss_and_gradients(params, arch, X, Y, labels)
        with LibraryModel(arch, np.float64) as library:
            library.params = params
            lib_loss, lib_grad = library.gradients(X, Y, labels)
        e_ref = ref.blockwise_relative_error(ref_grad, jax_grad, sizes)
        e_lib = ref.blockwise_relative_error(lib_grad, jax_grad, sizes)
        worst_ref, worst_lib = max(worst_ref, e_ref), max(worst_lib, e_lib)
        if max(e_ref, e_lib) > 1e-10 or ref.relative_error(lib_loss, ref_loss) > 1e-12:
            failures.append(f"network {index}: sizes {sizes} {arch.activations} {loss}/{variant} "
                            f"{reduction}: reference vs jax.grad {e_ref:.1e}, library vs "
                            f"jax.grad {e_lib:.1e}")
    if verbose:
        print(f"JAX {jax.__version__}: {networks} random networks, gradient vs jax.grad of "
              f"numpy_reference.reference_loss (float64, tolerance 1e-10): reference "
              f"{worst_ref:.1e}, library {worst_lib:.1e} at worst")
    return failures


# =====================================================================================
# Main
# =====================================================================================

def format_row(combo, r):
    hidden, loss, reduction, optimizer, dtype = combo
    flag = "FAIL" if not r["ok"] else ("ok~" if r.get("conditioned") else "ok")
    extra = "" if r["step_loss_mismatch"] == 0 else f"  step!=gradients x{r['step_loss_mismatch']}"
    drift = (f"{r['f32_drift']:9.1e} {r['lib_drift']:9.1e}" if "f32_drift" in r
             else f"{'-':>9s} {'-':>9s}")
    return (f"{hidden:10s} {loss:12s} {reduction:4s} {optimizer:22s} {dtype:3s} {r['init']:4s} "
            f"{r['loss']:9.1e} {r['grad']:9.1e} {r['param']:9.1e} {r['output']:9.1e} {drift}  "
            f"{flag}{extra}")


HEADER = (f"{'hidden':10s} {'loss':12s} {'red':4s} {'optimizer':22s} {'dt':3s} {'init':4s} "
          f"{'loss':>9s} {'grad':>9s} {'param':>9s} {'output':>9s} {'f32-f64':>9s} {'lib-f64':>9s}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a covering subset (make test)")
    parser.add_argument("--steps", type=int, default=100, help="steps per combination (100)")
    parser.add_argument("--only", action="append", default=[], metavar="WORD",
                        help="keep rows whose description contains every WORD")
    parser.add_argument("--jax-networks", type=int, default=None,
                        help="random networks for the JAX check (default 50, --quick 4; 0: skip)")
    parser.add_argument("--worst", type=int, default=5, help="rows in the worst-rows summary")
    args = parser.parse_args(argv)

    try:
        load_library()
    except (OSError, FileNotFoundError) as error:
        print(f"compare_numpy.py: cannot load libswiftmlp: {error}", file=sys.stderr)
        return 2

    grid = quick_grid() if args.quick else full_grid()
    grid = [c for c in grid if all(word in " ".join(c) for word in args.only)]
    print(f"libswiftmlp ({library_path()}) vs scripts/numpy_reference.py: network "
          f"{SIZES_HIDDEN + (K,)}, batches of {BATCH} from {ROWS} rows, {args.steps} steps; "
          f"{len(grid)} combinations.")
    print(f"Largest relative difference over all steps; tolerance float64 "
          f"{TOLERANCE[np.float64]:.0e}, float32 {TOLERANCE[np.float32]:.0e}.\n")
    print(HEADER)
    started = time.perf_counter()
    results = []
    for index, combo in enumerate(grid):
        seed = 1000 + full_grid_index(combo)
        try:
            r = run_combination(*combo, steps=args.steps, seed=seed)
        except LibraryError as error:
            r = {"init": "-", "loss": np.inf, "grad": np.inf, "param": np.inf, "output": np.inf,
                 "ok": False, "step_loss_mismatch": 0, "error": str(error)}
        results.append((combo, r))
        print(format_row(combo, r) + (f"  {r['error']}" if "error" in r else ""), flush=True)
    elapsed = time.perf_counter() - started

    failed = [(c, r) for c, r in results if not r["ok"]]
    conditioned = [(c, r) for c, r in results if r.get("conditioned")]
    print(f"\n{len(results) - len(failed)} of {len(results)} combinations within tolerance "
          f"({elapsed:.1f} s); {len(conditioned)} of them (ok~) only by the float32 "
          f"conditioning rule.")
    for dtype in DTYPE_NAMES:
        rows = [(c, r) for c, r in results if c[4] == dtype]
        if not rows:
            continue
        print(f"\nWorst {dtype} rows (by the largest of loss, grad, param, output; "
              f"tolerance {TOLERANCE[DTYPE_NAMES[dtype]]:.0e}):")
        print(HEADER)
        rows.sort(key=lambda cr: -max(cr[1][k] for k in METRICS))
        for c, r in rows[:args.worst]:
            print(format_row(c, r))
    if conditioned:
        print(f"\nok~ rows: float32 arithmetic itself is ill-conditioned on these runs (the "
              f"float32 reference drifts from the float64\nreference by f32-f64); the library "
              f"passes because it stays within {CONDITIONING_FACTOR} times that drift of the "
              f"float64 run (lib-f64):")
        print("  " + HEADER)
        for c, r in conditioned:
            print("  " + format_row(c, r))
    if failed:
        print(f"\n{len(failed)} combination(s) FAILED:")
        for c, r in failed:
            print("  " + format_row(c, r) + (f"  {r['error']}" if "error" in r else ""))

    networks = args.jax_networks if args.jax_networks is not None else (4 if args.quick else 50)
    jax_failures = []
    if networks > 0:
        print()
        jax_failures = check_against_jax(networks)
        if jax_failures is None:
            print("JAX is not installed: skipped the jax.grad check (pip install jax to run it).")
            jax_failures = []
        for failure in jax_failures:
            print("  FAIL " + failure)
    return 1 if failed or jax_failures else 0


def full_grid_index(combo, _cache={}):
    """A stable seed per combination: its index in the full grid."""
    if not _cache:
        _cache.update({c: i for i, c in enumerate(full_grid())})
    return _cache[combo]


if __name__ == "__main__":
    sys.exit(main())
