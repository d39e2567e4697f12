"""`Network`: a thin, NumPy-friendly object over one ``smlp_model``.

Data passing
------------
Arrays that are already C-contiguous in the model's dtype go to the library as they
are: the pointer the library sees is ``x.ctypes.data``. One row is the exception:
``predict`` of a ``(n_inputs,)`` or ``(1, n_inputs)`` array and ``step`` on
``(1, n_inputs)`` and ``(1, n_outputs)`` arrays, C-contiguous in the model's dtype,
copy the row into a ctypes array (``from_buffer_copy``, cheaper than any public way
to the array's own address) and make the same call: about 1 us above ctypes' own
cost (docs/performance.md, "Python binding, one row"). Anything else (a list, a
float32 array for a float64 model, a Fortran-order array, a strided view) is
converted exactly once per call with ``np.ascontiguousarray(x, dtype)``; training
on a whole data set (:meth:`Network.train`) converts once and then every epoch and
batch runs on that one copy inside the library. Class labels become ``int32`` once.

Errors
------
Every failing call raises the exception of :mod:`swiftmlp._errors` for its status,
with the library's message (which names the function, the argument and the values).
Checks the library cannot make (x and y with different numbers of rows, a 3-D
array, complex data) raise :class:`ValueError` from Python.
"""

from __future__ import annotations

import ctypes
import os
import weakref
from collections.abc import Callable, Sequence
from ctypes import POINTER, byref, c_double, c_int, c_int32, c_size_t, c_void_p, sizeof
from typing import Any, Union

import numpy as np

from . import _capi
from ._arrays import (_address, _addressof, _aligned_address, _as_labels, _c_dtype, _int32, _ndarray,
                      _np_dtype, _pointer, as_c_array)
from ._capi import Activation, DType, Loss, Reduction, Schedule
from ._interrupt import _Interrupts
from ._names import (_ACTIVATION_DISPLAY, _ACTIVATION_NAMES, _CACHE_NAMES, _INIT_NAMES, _LOSS_DISPLAY,
                     _LOSS_NAMES, _OPTIMIZER_NAMES, _OUTPUT_FOR_LOSS, _REDUCTION_NAMES, _RPROP_VARIANTS,
                     _SCHEDULE_NAMES, _STOP_REASONS, _TRAIN_METHODS, _code)
from ._errors import BusyError
from ._native import c_path, c_text, check, lib
from ._progress import progress_bar
from .metadata import Metadata
from .results import EpochReport, Evaluation, GradCheck, Gradients, LayerInfo, ModelInfo, TrainSummary

__all__ = [
    "Network", "EpochReport", "TrainSummary", "Evaluation", "Gradients", "GradCheck",
    "LayerInfo", "Metadata", "optimizer_defaults",
]

PathLike = Union[str, "os.PathLike[str]"]
ArrayLike = Any


def optimizer_defaults(kind: str | int = "sgd") -> dict[str, Any]:
    """The library's defaults (PyTorch's) for an optimizer, as set_optimizer keywords:
    the ones that optimizer uses."""
    config = _capi.smlp_optimizer_config()
    code = _code(kind, _OPTIMIZER_NAMES, "optimizer")
    lib.smlp_optimizer_config_init_sized(byref(config), code, sizeof(config))
    used = _OPTIMIZER_USES.get(code, set(_OPTIMIZER_FIELDS.values()))
    return {key: value for key, value in {
        "learning_rate": config.learning_rate, "momentum": config.momentum,
        "nesterov": bool(config.nesterov), "beta1": config.beta1, "beta2": config.beta2,
        "epsilon": config.epsilon, "alpha": config.alpha, "weight_decay": config.weight_decay,
        "decay_biases": bool(config.decay_biases), "clip_norm": config.clip_norm,
        "schedule": Schedule(config.schedule).name.removeprefix("SCHEDULE_").lower(),
        "step_size": config.step_size, "gamma": config.gamma, "t_max": config.t_max,
        "min_lr": config.min_lr,
        "variant": {code: name for name, code in _RPROP_VARIANTS.items()}[config.rprop_variant],
        "increase": config.rprop_increase, "decrease": config.rprop_decrease,
        "delta0": config.rprop_delta0, "delta_min": config.rprop_delta_min,
        "delta_max": config.rprop_delta_max,
    }.items() if _OPTIMIZER_FIELDS[key] in used}


_OPTIMIZER_FIELDS = {
    "learning_rate": "learning_rate", "lr": "learning_rate", "momentum": "momentum",
    "nesterov": "nesterov", "beta1": "beta1", "beta2": "beta2", "epsilon": "epsilon",
    "eps": "epsilon", "alpha": "alpha", "weight_decay": "weight_decay",
    "decay_biases": "decay_biases", "clip_norm": "clip_norm", "schedule": "schedule",
    "step_size": "step_size", "gamma": "gamma", "t_max": "t_max", "min_lr": "min_lr",
    "variant": "rprop_variant", "increase": "rprop_increase", "etaplus": "rprop_increase",
    "decrease": "rprop_decrease", "etaminus": "rprop_decrease", "delta0": "rprop_delta0",
    "delta_min": "rprop_delta_min", "delta_max": "rprop_delta_max",
}

# The fields each optimizer uses (the header's update rules): a keyword for another
# one is a TypeError, as PyTorch's optimizers raise for a keyword they do not take.
_SCHEDULE_FIELDS = {"schedule", "step_size", "gamma", "t_max", "min_lr"}
_COMMON_FIELDS = {"learning_rate", "weight_decay", "decay_biases", "clip_norm"} | _SCHEDULE_FIELDS
_OPTIMIZER_USES = {
    _capi.Optimizer.SGD: _COMMON_FIELDS | {"momentum", "nesterov"},
    _capi.Optimizer.ADAM: _COMMON_FIELDS | {"beta1", "beta2", "epsilon"},
    _capi.Optimizer.ADAMW: _COMMON_FIELDS | {"beta1", "beta2", "epsilon"},
    _capi.Optimizer.RMSPROP: _COMMON_FIELDS | {"alpha", "epsilon", "momentum"},
    # RPROP: no learning rate, schedule or momentum; weight_decay only as 0 (the
    # library refuses others with a message)
    _capi.Optimizer.RPROP: {"weight_decay", "clip_norm", "rprop_variant", "rprop_increase", "rprop_decrease",
                            "rprop_delta0", "rprop_delta_min", "rprop_delta_max"},
}
_UNUSED_HINTS = {
    ("alpha", _capi.Optimizer.ADAM): "; scikit-learn's alpha (L2) is weight_decay",
    ("alpha", _capi.Optimizer.ADAMW): "; scikit-learn's alpha (L2) is weight_decay",
    ("alpha", _capi.Optimizer.SGD): "; scikit-learn's alpha (L2) is weight_decay",
    ("learning_rate", _capi.Optimizer.RPROP): "; its first step size is delta0 (PyTorch's lr)",
}


def _free(handle: int) -> None:
    lib.smlp_free(handle)


_ONE_ROW = c_size_t(1)

def _train_option_defaults() -> bytes:
    options = _capi.smlp_train_options()
    lib.smlp_train_options_init_sized(byref(options), sizeof(options))
    return bytes(options)


# smlp_train_options_init's defaults, filled once: each train call copies them.
_TRAIN_OPTION_DEFAULTS = _train_option_defaults()


# ---- The network -----------------------------------------------------------------------

class Network:
    """A multilayer perceptron: one ``smlp_model`` of libswiftmlp.

    Parameters
    ----------
    layer_sizes:
        Widths, input first: ``(2, 4, 1)`` is 2 inputs, 4 hidden units, 1 output.
    activations:
        One activation per weight layer (``len(layer_sizes) - 1`` names or
        :class:`~swiftmlp.Activation` codes), or a single name for every hidden
        layer, the output layer then following the loss: identity for ``"mse"``
        (and ``"poisson"``, ``"fann_tanh_error"``),
        sigmoid for ``"binary_cross_entropy"``, softmax for ``"softmax_cross_entropy"``.
        Names: identity (linear), sigmoid (logistic), tanh, relu, leaky_relu, softmax.
    loss:
        ``"mse"``, ``"binary_cross_entropy"`` (sigmoid output),
        ``"softmax_cross_entropy"`` (softmax output; targets may be integer labels),
        ``"poisson"`` (identity output, which is the log of the predicted mean) or
        ``"fann_tanh_error"`` (FANN's default error function, FANN_ERRORFUNC_TANH:
        each output error e, halved for a tanh output, trained on as 2 atanh(e),
        clipped to +-17; the C header's SMLP_FANN_TANH_ERROR says more).
    reduction:
        ``"mean"`` or ``"sum"`` of the per-sample losses of a batch.
    dtype:
        ``"float64"`` or ``"float32"``: of the parameters and of all data passed in.
    seed:
        Seeds the weight initialisation and the shuffling (same seed, same run).
    init:
        ``"auto"`` (He for relu layers, Glorot otherwise), ``"glorot_uniform"``,
        ``"he_uniform"``.
    leaky_relu_slope:
        Slope of leaky_relu for negative inputs.

    The optimizer starts as plain SGD with learning rate 0.01; see
    :meth:`set_optimizer`. Call :meth:`close` (or use ``with``) to free the model
    early; otherwise it is freed when garbage-collected.
    """

    def __init__(self, layer_sizes: Sequence[int], activations: str | int | Sequence[str | int] = "relu",
                 *, loss: str | int = "mse", reduction: str | int = "mean", dtype: Any = "float64",
                 seed: int = 0, init: str | int = "auto", leaky_relu_slope: float = 0.01) -> None:
        sizes = [int(size) for size in layer_sizes]
        if any(not 0 <= size < _SIZE_LIMIT for size in sizes):
            raise ValueError(f"layer_sizes must be non-negative and below 2**{_SIZE_BITS}, got {sizes}")
        loss_code = _code(loss, _LOSS_NAMES, "loss")
        n_layers = max(len(sizes) - 1, 0)
        if isinstance(activations, (str, int, np.integer)):
            hidden = _code(activations, _ACTIVATION_NAMES, "activation")
            output = _OUTPUT_FOR_LOSS.get(loss_code, Activation.IDENTITY)
            codes = [hidden] * max(n_layers - 1, 0) + ([int(output)] if n_layers else [])
        else:
            codes = [_code(a, _ACTIVATION_NAMES, "activation") for a in activations]
            if len(codes) != n_layers:
                raise ValueError(f"activations has {len(codes)} entries but layer_sizes "
                                 f"{tuple(sizes)} has {n_layers} weight layers")
        np_dtype = _np_dtype(dtype)
        c_sizes = (c_size_t * max(len(sizes), 1))(*sizes)
        c_activations = (c_int * max(len(codes), 1))(*codes)
        config = _capi.smlp_config()
        lib.smlp_config_init(byref(config))
        config.dtype = _c_dtype(np_dtype)
        config.n_layer_sizes = len(sizes)
        config.layer_sizes = c_sizes
        config.activations = c_activations
        config.loss = loss_code
        config.reduction = _code(reduction, _REDUCTION_NAMES, "reduction")
        config.init = _code(init, _INIT_NAMES, "init")
        config.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        config.leaky_relu_slope = float(leaky_relu_slope)
        handle = c_void_p()
        check(lib.smlp_create(byref(config), byref(handle)))
        self._adopt(handle.value)

    # -- lifetime -------------------------------------------------------------------

    def _adopt(self, handle: int | None) -> None:
        """Takes ownership of a live handle (freed by close() or garbage collection)
        and reads its fixed description."""
        if not handle:
            raise RuntimeError("the library returned no model")
        # What `close` checks for calls still running (list append and pop are
        # atomic): `_call` adds an entry to _inflight for the length of its call;
        # the fast paths of predict and step take a buffer out of a pool instead (and
        # put it back), one entry in _pooled for every buffer ever made. Either is
        # done before the handle is read.
        self._inflight: list[None] = []
        self._pooled: list[None] = []
        # Reusable per-call buffers, one per call in flight: a call pops one and puts
        # it back when the library has returned (ctypes releases the GIL during the
        # call, so two threads must never share one).
        self._row_outputs: list[tuple[np.ndarray, c_void_p]] = []
        self._batches: list[tuple[Any, Any, c_double, Any]] = []
        self._row_batches: list[tuple[Any, Any, c_double, Any]] = []
        self._label_batches: list[tuple[Any, Any, c_double, Any]] = []
        self._handle: int | None = handle
        # The handle as the fast paths of predict and step pass it; NULL once closed.
        self._handle_arg = c_void_p(handle)
        self._finalizer = weakref.finalize(self, _free, handle)
        try:
            info = self.info()
            self._dtype = np.dtype(np.float32 if info.dtype == DType.FLOAT32 else np.float64)
            self._c_dtype = int(info.dtype)
            self._loss = Loss(info.loss)
            self._reduction = Reduction(info.reduction)
            self._param_count = int(info.param_count)
            self._leaky_relu_slope = float(info.leaky_relu_slope)
            self._layers = [self.layer_info(layer) for layer in range(info.n_layers)]
            self._layer_sizes = tuple([self._layers[0].n_inputs] + [layer.n_outputs for layer in self._layers])
            # What `_fast_batch` compares against, as plain attributes (a property or
            # an enum comparison per call costs ~100 ns each).
            self._accepts_labels = self._loss == Loss.SOFTMAX_CROSS_ENTROPY
            self._n_in = self._layer_sizes[0]
            self._n_out = self._layer_sizes[-1]
            # The one-row fast paths of predict and step pass these ctypes objects as
            # they are (an int or an enum would be converted on every call).
            self._c_dtype_arg = c_int(self._c_dtype)
            self._n_in_arg = c_size_t(self._n_in)
            self._n_out_arg = c_size_t(self._n_out)
            self._row_shape = (self._n_in,)
            self._row_shape_2d = (1, self._n_in)
            self._out_shape_2d = (1, self._n_out)
            self._align_mask = self._dtype.alignment - 1
            c_type = ctypes.c_float if self._dtype == np.float32 else ctypes.c_double
            self._copy_row = (c_type * self._n_in).from_buffer_copy
            self._copy_target = (c_type * self._n_out).from_buffer_copy
        except BaseException:
            self.close()
            raise

    @classmethod
    def _from_handle(cls, handle: int | None) -> "Network":
        network = cls.__new__(cls)
        network._adopt(handle)
        return network

    @property
    def _h(self) -> int:
        handle = self._handle
        if handle is None:
            raise ValueError("this Network has been closed")
        return handle

    def _call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(handle, *args)``, counted while it runs so that `close` does not
        free the model under it. ValueError once closed."""
        inflight = self._inflight
        inflight.append(None)
        try:
            handle = self._handle_arg
            if handle is None:
                raise ValueError("this Network has been closed")
            return function(handle, *args)
        finally:
            inflight.pop()

    def close(self) -> None:
        """Frees the model now. Further calls raise ValueError. Idempotent.

        Raises BusyError, and frees nothing, while another call on this Network is
        running: in another thread, or the ``train`` whose callback calls it (the
        library must not free a model in use).
        """
        handle, handle_arg = getattr(self, "_handle", None), getattr(self, "_handle_arg", None)
        if handle is None:
            return
        if not self._calls_running():
            self._handle = None
            self._handle_arg = None
            if not self._calls_running():
                self._finalizer()
                return
            # A call started between the two checks and may hold the handle.
            self._handle, self._handle_arg = handle, handle_arg
        raise BusyError("close: another call on this Network is running; nothing was freed")

    def _calls_running(self) -> bool:
        available = len(self._row_outputs) + len(self._row_batches) + len(self._batches) + len(self._label_batches)
        return bool(self._inflight) or len(self._pooled) > available

    @property
    def closed(self) -> bool:
        return getattr(self, "_handle", None) is None

    def __enter__(self) -> "Network":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<closed swiftmlp.Network>"
        activations = ", ".join(repr(_ACTIVATION_DISPLAY.get(a, int(a))) for a in self.activations)
        return (f"Network(layer_sizes={self.layer_sizes}, activations=[{activations}], "
                f"loss={_LOSS_DISPLAY.get(self._loss, int(self._loss))!r}, dtype={self._dtype.name!r})")

    # -- pickling and copying (through the library's own file format) ----------------

    def __getstate__(self) -> dict[str, bytes]:
        return {"model": self.to_bytes()}

    def __setstate__(self, state: dict[str, bytes]) -> None:
        self._adopt(_load_buffer(state["model"]))

    def copy(self) -> "Network":
        """An independent copy: parameters, optimizer state, generator, scaler, metadata."""
        return Network.from_bytes(self.to_bytes())

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> "Network":
        return self.copy()

    # -- description ----------------------------------------------------------------------

    @property
    def dtype(self) -> np.dtype:
        """float32 or float64: of the parameters and of all data passed in."""
        return self._dtype

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self._layer_sizes

    @property
    def activations(self) -> tuple[Activation, ...]:
        return tuple(layer.activation for layer in self._layers)

    @property
    def loss(self) -> Loss:
        return self._loss

    @property
    def reduction(self) -> Reduction:
        return self._reduction

    @property
    def leaky_relu_slope(self) -> float:
        return self._leaky_relu_slope

    @property
    def n_layers(self) -> int:
        """Weight layers: ``len(layer_sizes) - 1``."""
        return len(self._layers)

    @property
    def n_inputs(self) -> int:
        return self._layer_sizes[0]

    @property
    def n_outputs(self) -> int:
        return self._layer_sizes[-1]

    @property
    def param_count(self) -> int:
        """Scalars in the parameter vector (smlp_param_count)."""
        count = self._call(lib.smlp_param_count)
        return int(count)

    def info(self) -> ModelInfo:
        """smlp_model_info_get: dtype, layers, widths, loss, epoch, has_scaler..."""
        info = _capi.smlp_model_info()
        check(self._call(lib.smlp_model_info_get, byref(info)))
        return ModelInfo(DType(info.dtype), int(info.n_layers), int(info.n_inputs), int(info.n_outputs),
                         int(info.param_count), Loss(info.loss), Reduction(info.reduction),
                         float(info.leaky_relu_slope), int(info.epoch), bool(info.has_scaler))

    def layer_info(self, layer: int) -> LayerInfo:
        """smlp_layer_info_get for weight layer ``layer`` (0-based)."""
        info = _capi.smlp_layer_info()
        check(self._call(lib.smlp_layer_info_get, _index(layer), byref(info)))
        return LayerInfo(int(info.n_inputs), int(info.n_outputs), Activation(info.activation),
                         int(info.weight_offset), int(info.bias_offset))

    @property
    def epoch(self) -> int:
        """Epochs trained so far; drives the learning-rate schedule (smlp_set_epoch)."""
        return int(self.info().epoch)

    @epoch.setter
    def epoch(self, value: int) -> None:
        check(self._call(lib.smlp_set_epoch, _index(value, "epoch")))

    # -- parameters -------------------------------------------------------------------------

    @property
    def params(self) -> np.ndarray:
        """A copy of the flat parameter vector (W_0, b_0, W_1, b_1, ...).

        Assign an array of ``param_count`` values to replace it (optimizer state is kept).
        """
        out = np.empty(self._param_count, dtype=self._dtype)
        check(self._call(lib.smlp_get_params, self._c_dtype, _pointer(out), out.size))
        return out

    @params.setter
    def params(self, values: ArrayLike) -> None:
        array = as_c_array(values, self._dtype, "params")
        if array.ndim != 1:
            array = array.reshape(-1) if array.flags.c_contiguous else array.ravel()
        check(self._call(lib.smlp_set_params, self._c_dtype, _pointer(array), array.size))

    def weights(self, layer: int, params: np.ndarray | None = None) -> np.ndarray:
        """W of ``layer`` (n_in x n_out).

        Without ``params``: a read-only copy of the model's W, so that
        ``net.weights(0)[...] = W``, which could not change the model, raises
        ValueError instead of silently doing nothing. To change weights, take
        ``p = net.params``, change the writable view ``net.weights(0, p)``, and assign
        ``net.params = p``."""
        flat = self._read_only_params() if params is None else self._check_flat(params)
        info = self._layer(layer)
        return flat[info.weight_offset:info.bias_offset].reshape(info.n_inputs, info.n_outputs)

    def biases(self, layer: int, params: np.ndarray | None = None) -> np.ndarray:
        """b of ``layer`` (n_out): a read-only copy of the model's, or a view into
        ``params`` when given (as :meth:`weights`)."""
        flat = self._read_only_params() if params is None else self._check_flat(params)
        info = self._layer(layer)
        return flat[info.bias_offset:info.bias_offset + info.n_outputs]

    def _read_only_params(self) -> np.ndarray:
        flat = self.params
        flat.flags.writeable = False
        return flat

    def unflatten(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per-layer views ``([W_0, W_1, ...], [b_0, b_1, ...])`` into a flat vector
        with the parameter layout (parameters or gradients)."""
        flat = self._check_flat(flat)
        weights, biases = [], []
        for info in self._layers:
            weights.append(flat[info.weight_offset:info.bias_offset].reshape(info.n_inputs, info.n_outputs))
            biases.append(flat[info.bias_offset:info.bias_offset + info.n_outputs])
        return weights, biases

    def _check_flat(self, flat: np.ndarray) -> np.ndarray:
        if not isinstance(flat, np.ndarray) or flat.ndim != 1 or flat.size != self._param_count:
            raise ValueError(f"expected a 1-D array of {self._param_count} values (param_count)")
        return flat

    def _layer(self, layer: int) -> LayerInfo:
        if not 0 <= int(layer) < len(self._layers):
            # Let the library say it, in its words.
            self.layer_info(layer)
        return self._layers[int(layer)]

    # -- data ------------------------------------------------------------------------------

    def _input(self, x: ArrayLike, name: str = "x") -> np.ndarray:
        array = as_c_array(x, self._dtype, name)
        if array.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, {self.n_inputs}), got shape {array.shape}")
        return array

    def _dataset(self, x: ArrayLike, y: ArrayLike, name: str = "") -> tuple[_capi.smlp_dataset, tuple]:
        """An smlp_dataset over (x, y), and the arrays it points into (keep them alive)."""
        xs = self._input(x, name + "x")
        y_is_labels = (self._loss == Loss.SOFTMAX_CROSS_ENTROPY and np.ndim(y) == 1)
        dataset = _capi.smlp_dataset()
        dataset.dtype = self._c_dtype
        dataset.n_rows = xs.shape[0]
        dataset.n_inputs = xs.shape[1]
        dataset.x = _address(xs)
        dataset.n_outputs = self.n_outputs
        if y_is_labels:
            ys = _as_labels(y, name + "y")
            dataset.labels = ys.ctypes.data_as(POINTER(c_int32))
        else:
            ys = as_c_array(y, self._dtype, name + "y")
            if ys.ndim == 1:
                ys = ys.reshape(-1, 1)
            if ys.ndim != 2:
                raise ValueError(f"{name}y must be 1-D or 2-D, got shape {ys.shape}")
            dataset.n_outputs = ys.shape[1]
            dataset.y = _address(ys)
        if ys.shape[0] != xs.shape[0]:
            raise ValueError(f"{name}x has {xs.shape[0]} rows but {name}y has {ys.shape[0]}")
        return dataset, (xs, ys)

    # -- inference --------------------------------------------------------------------------

    def predict(self, x: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        """Outputs for the rows of ``x`` (n x n_inputs): an n x n_outputs array.

        Softmax outputs are class probabilities per row, sigmoid outputs are
        probabilities. A 1-D ``x`` is one sample and gives a 1-D result. ``out``, if
        given, must be a C-contiguous array of the model's dtype and the right shape.
        Safe to call from many threads at once.
        """
        if out is None and type(x) is _ndarray:
            # One sample (shape (n_inputs,) or (1, n_inputs)) of a C-contiguous array
            # in the model's dtype: the row is copied into a ctypes array (aligned for
            # its type; ``from_buffer_copy`` refuses non-contiguous arrays), cheaper
            # than reaching the array's own data through the buffer protocol, and the
            # call costs little more than ctypes' own (docs/performance.md, "Python
            # binding, one row"). Anything else takes the general path below.
            shape = x.shape
            dtype = x.dtype
            if (shape == self._row_shape or shape == self._row_shape_2d) and \
                    (dtype is self._dtype or dtype == self._dtype):
                try:
                    row = self._copy_row(x)
                except (TypeError, ValueError, BufferError):  # not C-contiguous
                    row = None
                if row is not None:
                    outputs = self._row_outputs
                    try:
                        entry = outputs.pop()
                    except IndexError:
                        self._pooled.append(None)
                        buffer = np.empty(self._n_out, dtype=self._dtype)
                        entry = (buffer, c_void_p(buffer.ctypes.data))
                    try:
                        status = lib.smlp_predict(self._handle_arg, self._c_dtype_arg, _addressof(row), _ONE_ROW,
                                                  self._n_in_arg, entry[1], self._n_out_arg)
                        result = entry[0].copy()
                    finally:
                        outputs.append(entry)
                    if status:
                        self._fail(status)
                    return result if len(shape) == 1 else result.reshape(self._out_shape_2d)
        xs = as_c_array(x, self._dtype, "x")
        single = xs.ndim == 1
        if single:
            xs = xs.reshape(1, -1)
        if xs.ndim != 2:
            raise ValueError(f"x must be 1-D or 2-D, got shape {xs.shape}")
        shape = (xs.shape[0], self.n_outputs)
        if out is None:
            out = np.empty(shape, dtype=self._dtype)
        elif (not isinstance(out, np.ndarray) or out.dtype != self._dtype or not out.flags.c_contiguous
              or not out.flags.aligned or not out.flags.writeable or out.shape != shape):
            raise ValueError(f"out must be a writeable, aligned, C-contiguous {self._dtype} array of shape {shape}")
        check(self._call(lib.smlp_predict, self._c_dtype, _pointer(xs), xs.shape[0], xs.shape[1],
                               _pointer(out), self.n_outputs))
        return out[0] if single else out

    __call__ = predict

    # -- training -----------------------------------------------------------------------------

    def step(self, x: ArrayLike, y: ArrayLike) -> float:
        """One optimizer step on one batch; returns the loss before the update.

        ``y``: n x n_outputs targets in the model's dtype (a 1-D ``y`` is one output),
        or, for softmax cross-entropy, 1-D integer class labels.
        """
        if type(x) is _ndarray and type(y) is _ndarray and x.shape == self._row_shape_2d \
                and y.shape == self._out_shape_2d:
            # One row of dense targets, the case where the binding's own cost shows:
            # inline, on a reusable one-row struct pointing at copies of the two rows
            # (as in predict; docs/performance.md, "Python binding, one row").
            # Non-contiguous arrays take ``_fast_batch`` or the general path.
            dtype = self._dtype
            x_dtype = x.dtype
            y_dtype = y.dtype
            if (x_dtype is dtype or x_dtype == dtype) and (y_dtype is dtype or y_dtype == dtype):
                try:
                    x_row = self._copy_row(x)
                    y_row = self._copy_target(y)
                except (TypeError, ValueError, BufferError):  # not C-contiguous
                    x_row = None
                if x_row is not None:
                    pool = self._row_batches
                    try:
                        batch = pool.pop()
                    except IndexError:
                        batch = self._new_batch(1)
                    dataset = batch[0]
                    dataset.x = _addressof(x_row)
                    dataset.y = _addressof(y_row)
                    # The struct and the loss themselves, not byref(): ctypes applies
                    # byref for a POINTER argument on its fast path (~0.3 us less).
                    loss = batch[2]
                    try:
                        status = lib.smlp_step(self._handle_arg, dataset, loss)
                        value = loss.value
                    finally:
                        pool.append(batch)
                    if status:
                        self._fail(status)
                    return value
        fast = self._fast_batch(x, y)
        if fast is not None:
            batch, pool = fast
            try:
                status = lib.smlp_step(self._handle_arg, batch[1], batch[3])
                value = batch[2].value
            finally:
                pool.append(batch)
            if status:
                check(status)
            return value
        dataset, keep = self._dataset(x, y)
        loss = c_double()
        check(self._call(lib.smlp_step, byref(dataset), byref(loss)))
        del keep
        return loss.value

    def _fail(self, status: int) -> None:
        """Raises for a failed fast-path call: the ValueError of a closed network (whose
        NULL handle the library refused), else the library's error."""
        _ = self._h
        check(status)

    def _new_batch(self, n_rows: int = 0) -> tuple[Any, Any, c_double, Any]:
        self._pooled.append(None)
        dataset = _capi.smlp_dataset()
        dataset.n_rows = n_rows
        dataset.dtype = self._c_dtype
        dataset.n_inputs = self._n_in
        dataset.n_outputs = self._n_out
        loss = c_double()
        return (dataset, byref(dataset), loss, byref(loss))

    def _fast_batch(self, x: Any, y: Any) -> tuple[tuple[Any, Any, c_double, Any], list] | None:
        """``(batch, pool)``: a reusable (smlp_dataset, byref(dataset), loss,
        byref(loss)) taken from ``pool`` and pointing at ``x`` and ``y``, when both
        are already C-contiguous, aligned 2-D arrays in the model's dtype with the
        model's widths (or 1-D int32 labels), else None (the general path converts,
        or lets the library say what is wrong). The caller puts the batch back in
        ``pool`` once the library has returned."""
        if type(x) is not _ndarray or type(y) is not _ndarray or self._handle is None:
            return None
        dtype = self._dtype
        x_shape = x.shape
        x_dtype = x.dtype
        if len(x_shape) != 2 or x_shape[1] != self._n_in or (x_dtype is not dtype and x_dtype != dtype):
            return None
        y_shape = y.shape
        labels = len(y_shape) == 1 and self._accepts_labels
        if labels:
            if y.dtype != _int32:
                return None
            mask = _int32.alignment - 1
        else:
            y_dtype = y.dtype
            if len(y_shape) != 2 or y_shape[1] != self._n_out or (y_dtype is not dtype and y_dtype != dtype):
                return None
            mask = self._align_mask
        if y_shape[0] != x_shape[0]:
            return None
        x_address = _aligned_address(x, self._align_mask)
        if x_address is None:
            return None
        y_address = _aligned_address(y, mask)
        if y_address is None:
            return None
        pool = self._label_batches if labels else self._batches
        try:
            batch = pool.pop()
        except IndexError:
            batch = self._new_batch()
        dataset = batch[0]
        dataset.n_rows = x_shape[0]
        dataset.x = x_address
        if labels:
            dataset.labels = ctypes.cast(y_address, POINTER(c_int32))
        else:
            dataset.y = y_address
        return batch, pool

    def gradients(self, x: ArrayLike, y: ArrayLike) -> Gradients:
        """Loss and gradient of one batch, without changing the parameters.

        Returns ``Gradients(loss, dW, db, flat)``: ``flat`` has the parameter layout
        and ``dW[l]`` (n_in x n_out, row-major) and ``db[l]`` are views into it.
        """
        dataset, keep = self._dataset(x, y)
        flat = np.empty(self._param_count, dtype=self._dtype)
        loss = c_double()
        check(self._call(lib.smlp_gradients, byref(dataset), byref(loss), _pointer(flat), flat.size))
        del keep
        dW, db = self.unflatten(flat)
        return Gradients(loss.value, dW, db, flat)

    def loss_value(self, x: ArrayLike, y: ArrayLike) -> float:
        """The reduced loss of one batch (smlp_gradients with no gradient wanted)."""
        dataset, keep = self._dataset(x, y)
        loss = c_double()
        check(self._call(lib.smlp_gradients, byref(dataset), byref(loss), None, 0))
        del keep
        return loss.value

    def apply_gradients(self, grad: ArrayLike | Gradients, scale: float = 1.0) -> None:
        """Applies the optimizer to ``scale * grad`` (a flat gradient with the
        parameter layout, e.g. a sum of several workers' ``gradients(...).flat``)."""
        if isinstance(grad, Gradients):
            grad = grad.flat
        array = as_c_array(grad, self._dtype, "grad")
        check(self._call(lib.smlp_apply_gradients, self._c_dtype, _pointer(array), array.size, float(scale)))

    def set_optimizer(self, kind: str | int = "sgd", **hyperparameters: Any) -> None:
        """Sets the optimizer (and resets its state).

        ``kind``: "sgd", "adam", "adamw", "rmsprop" or "rprop". Keywords (defaults
        are PyTorch's, see :func:`optimizer_defaults`): learning_rate (lr), momentum,
        nesterov, beta1, beta2, betas=(beta1, beta2), epsilon (eps), alpha,
        weight_decay, decay_biases, clip_norm, schedule ("constant", "step",
        "exponential", "cosine", "inverse_scaling"), step_size, gamma, t_max, min_lr.

        RPROP (the header has the rules): variant ("irprop-", the default and FANN's
        and PyTorch's, or "irprop+"), increase (etaplus, 1.2), decrease (etaminus,
        0.5), delta0 (0.1, FANN's; PyTorch's is its lr, 0.01), delta_min (1e-6),
        delta_max (50); PyTorch's etas=(etaminus, etaplus) and
        step_sizes=(delta_min, delta_max) are accepted too. RPROP has no learning
        rate, schedule or momentum and takes no weight decay. A keyword the optimizer
        does not use (Adam's alpha, SGD's beta1, RPROP's lr) is a TypeError, as in
        PyTorch; :func:`optimizer_defaults` lists the ones it does. It is a full-batch method: train
        with ``batch_size`` >= the number of rows (each step is one RPROP step on the
        batch it is given).
        """
        config = _capi.smlp_optimizer_config()
        code = _code(kind, _OPTIMIZER_NAMES, "optimizer")
        lib.smlp_optimizer_config_init_sized(byref(config), code, sizeof(config))
        if "betas" in hyperparameters:
            hyperparameters["beta1"], hyperparameters["beta2"] = hyperparameters.pop("betas")
        if "etas" in hyperparameters:
            hyperparameters["decrease"], hyperparameters["increase"] = hyperparameters.pop("etas")
        if "step_sizes" in hyperparameters:
            hyperparameters["delta_min"], hyperparameters["delta_max"] = hyperparameters.pop("step_sizes")
        for key, value in hyperparameters.items():
            name = _OPTIMIZER_FIELDS.get(key)
            if name is None:
                raise TypeError(f"set_optimizer() got an unexpected keyword {key!r}; known: "
                                f"{', '.join(sorted(_OPTIMIZER_FIELDS))}, betas, etas, step_sizes")
            if code in _OPTIMIZER_USES and name not in _OPTIMIZER_USES[code]:
                raise TypeError(f"set_optimizer({kind!r}) does not use {key!r}"
                                f"{_UNUSED_HINTS.get((name, code), '')}")
            if name == "schedule":
                value = _code(value, _SCHEDULE_NAMES, "schedule")
            elif name == "rprop_variant":
                value = _code(value, _RPROP_VARIANTS, "variant")
            elif name in ("nesterov", "decay_biases"):
                value = 1 if value else 0
            elif name in ("step_size", "t_max"):
                value = _index(value, name)
            else:
                value = float(value)
            setattr(config, name, value)
        check(self._call(lib.smlp_set_optimizer, byref(config)))

    def train(self, x: ArrayLike, y: ArrayLike, *, epochs: int = 10, batch_size: int = 32,
              shuffle: bool = True, drop_last: bool = False,
              validation_data: tuple[ArrayLike, ArrayLike] | None = None, patience: int = 0,
              min_delta: float = 0.0, restore_best: bool = True,
              callback: Callable[[EpochReport], Any] | None = None,
              progress: bool = False, method: str = "minibatch", history_size: int = 10,
              tol: float = 1e-5, tolerance_change: float = 2.220446049250313e-9,
              max_fun: int = 15000) -> TrainSummary:
        """Trains on a whole data set in memory (smlp_train).

        ``method="minibatch"`` (default) runs epochs of optimizer steps on batches.
        ``method="lbfgs"`` runs L-BFGS on the whole data set (see smlp_train in
        swiftmlp.h): ``epochs`` is then the iteration limit (scikit-learn's
        max_iter), ``max_fun`` the limit on loss-and-gradient evaluations,
        ``tol`` the gradient tolerance (max |gradient entry|; scipy's gtol),
        ``tolerance_change`` the relative decrease below which it stops (scipy's
        ftol), ``history_size`` the number of correction pairs. It minimises the
        loss plus ``weight_decay``/2 * ||W||^2 from :meth:`set_optimizer` (other
        optimizer settings are unused); scikit-learn's ``alpha`` is
        ``weight_decay = alpha / n_samples``. batch_size, shuffle and drop_last are
        ignored; validation, patience and the callback work per iteration. The
        summary's ``n_iter``, ``n_fun``, ``stop_reason`` and ``loss_curve`` say what
        happened.

        The data are converted once; every epoch and batch then runs in the library.
        ``callback(report)`` is called after each epoch with an :class:`EpochReport`;
        a true return value stops training after that epoch. ``validation_data`` is
        ``(x_val, y_val)``; with it, ``patience`` > 0 stops after that many epochs
        without an improvement of more than ``min_delta`` in validation loss, and
        ``restore_best`` ends with the best validation epoch's parameters.
        ``progress=True`` shows a progress bar (tqdm when installed).

        Stopping: Ctrl-C (KeyboardInterrupt), or any exception raised by
        ``callback``, stops training after the current epoch; the model keeps the
        epochs completed so far (smlp_train keeps its state when a callback stops
        it), and the exception is re-raised once the library has returned. A failure
        of the library itself (e.g. a loss that becomes non-finite) leaves the model
        exactly as it was before the call.
        """
        dataset, keep = self._dataset(x, y)
        validation = None
        if validation_data is not None:
            x_val, y_val = validation_data
            validation, keep_val = self._dataset(x_val, y_val, "validation_data ")
        options = _capi.smlp_train_options.from_buffer_copy(_TRAIN_OPTION_DEFAULTS)
        options.epochs = _index(epochs, "epochs")
        options.batch_size = _index(batch_size, "batch_size")
        options.shuffle = 1 if shuffle else 0
        options.drop_last = 1 if drop_last else 0
        options.validation = ctypes.pointer(validation) if validation is not None else None
        options.patience = _index(patience, "patience")
        options.min_delta = float(min_delta)
        options.restore_best = 1 if restore_best else 0
        if method not in _TRAIN_METHODS:
            raise ValueError(f"method must be one of {sorted(_TRAIN_METHODS)}, not {method!r}")
        options.method = _TRAIN_METHODS[method]
        options.lbfgs_history = _index(history_size, "history_size")
        options.tolerance_grad = float(tol)
        options.tolerance_change = float(tolerance_change)
        options.max_function_evals = _index(max_fun, "max_fun")
        details = _capi.smlp_train_details()
        details.struct_size = ctypes.sizeof(details)
        options.details = ctypes.pointer(details)

        history: list[EpochReport] = []
        pending: list[BaseException] = []
        bar = progress_bar(int(epochs), "training", progress)
        interrupts = _Interrupts()

        def on_epoch(report_pointer: Any, user_data: Any) -> int:
            try:
                r = report_pointer.contents
                report = EpochReport(int(r.epoch), r.train_loss, r.validation_loss,
                                     r.validation_accuracy, r.learning_rate)
                history.append(report)
                if bar is not None:
                    bar.update(1, loss=report.train_loss, val_loss=report.validation_loss,
                               val_acc=report.validation_accuracy)
                stop = bool(callback(report)) if callback is not None else False
                if interrupts.interrupted:
                    raise KeyboardInterrupt
                return 1 if stop else 0
            except BaseException as error:  # KeyboardInterrupt included: stop cleanly
                pending.append(error)
                return 1

        c_callback = _capi.smlp_epoch_callback(on_epoch)
        options.callback = c_callback
        summary = _capi.smlp_train_summary()
        try:
            with interrupts:
                status = self._call(lib.smlp_train, byref(dataset), byref(options), byref(summary))
                check(status)
        finally:
            if bar is not None:
                bar.close()
        del keep, c_callback
        if interrupts.interrupted and not pending:
            pending.append(KeyboardInterrupt())
        if pending:
            raise pending[0]
        return TrainSummary(
            epochs_run=int(summary.epochs_run), best_epoch=int(summary.best_epoch),
            best_validation_loss=summary.best_validation_loss,
            final_train_loss=summary.final_train_loss,
            final_validation_loss=summary.final_validation_loss,
            stopped_early=bool(summary.stopped_early),
            stopped_by_callback=bool(summary.stopped_by_callback), history=history,
            n_iter=int(details.iterations), n_fun=int(details.function_evals),
            stop_reason=_STOP_REASONS.get(details.stop_reason, str(details.stop_reason)),
            final_objective=details.final_objective)

    def evaluate(self, x: ArrayLike, y: ArrayLike) -> Evaluation:
        """Mean per-sample loss and accuracy on a data set, without training.

        Accuracy: argmax equals the label (softmax), every output on the right side of
        0.5 (sigmoid), NaN for mean squared error.
        """
        dataset, keep = self._dataset(x, y)
        loss, accuracy = c_double(), c_double()
        check(self._call(lib.smlp_evaluate, byref(dataset), byref(loss), byref(accuracy)))
        del keep
        return Evaluation(loss.value, accuracy.value)

    # -- input scaler -------------------------------------------------------------------------

    def fit_scaler(self, x: ArrayLike) -> None:
        """Stores each feature's mean and standard deviation of ``x`` in the model;
        from then on every call standardises its inputs with them."""
        xs = self._input(x)
        check(self._call(lib.smlp_fit_scaler, self._c_dtype, _pointer(xs), xs.shape[0], xs.shape[1]))

    def set_scaler(self, mean: ArrayLike, std: ArrayLike) -> None:
        """Sets the scaler from given statistics (n_inputs values each, std > 0)."""
        m = as_c_array(mean, np.float64, "mean").reshape(-1)
        s = as_c_array(std, np.float64, "std").reshape(-1)
        if m.size != s.size:
            raise ValueError(f"mean has {m.size} values but std has {s.size}")
        check(self._call(lib.smlp_set_scaler, m.ctypes.data_as(POINTER(c_double)),
                                  s.ctypes.data_as(POINTER(c_double)), m.size))

    @property
    def scaler(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(mean, std)`` of the input scaler (float64 copies), or None."""
        mean = np.empty(self.n_inputs)
        std = np.empty(self.n_inputs)
        has = c_int()
        check(self._call(lib.smlp_get_scaler, mean.ctypes.data_as(POINTER(c_double)),
                                  std.ctypes.data_as(POINTER(c_double)), self.n_inputs, byref(has)))
        return (mean, std) if has.value else None

    def clear_scaler(self) -> None:
        """Removes the scaler: inputs are used as given."""
        check(self._call(lib.smlp_clear_scaler))

    # -- looking inside -------------------------------------------------------------------------

    @property
    def cached_rows(self) -> int:
        """Rows of the batch whose layer cache :meth:`layer_cache` can return (0: none)."""
        rows = c_size_t()
        check(self._call(lib.smlp_cached_rows_get, byref(rows)))
        return int(rows.value)

    def layer_cache(self, layer: int, kind: str | int = "A") -> np.ndarray:
        """Z, A or dZ of weight layer ``layer`` for the batch of the last
        :meth:`gradients` or :meth:`step` call: an array of cached_rows x n_out.
        ``kind`` is "Z", "A" or "dZ" (dZ already scaled by 1/n under mean reduction).
        A call that raised because a value was not finite has run its forward pass,
        so Z and A are that batch's (where a NaN or an infinity first appears); a
        call rejected on its arguments leaves the cache as it was.
        """
        kind_code = _code(kind, _CACHE_NAMES, "cache kind")
        if 0 <= int(layer) < len(self._layers):
            n_cols = self._layers[int(layer)].n_outputs
        else:
            n_cols = 0
        rows = self.cached_rows
        out = np.empty((rows, n_cols), dtype=self._dtype)
        pointer = _pointer(out) if out.size else _pointer(np.empty(1, dtype=self._dtype))
        check(self._call(lib.smlp_get_layer_cache, _index(layer), kind_code, self._c_dtype,
                                       pointer, rows, n_cols))
        return out

    def gradcheck(self, x: ArrayLike, y: ArrayLike, step: float = 1e-6) -> GradCheck:
        """Checks the analytic gradient of one batch against central finite differences
        (in float64). Returns the largest error per layer over W and over b, as
        |analytic - numeric| / max(1, |analytic|, |numeric|): with the default step a
        correct gradient gives about 1e-8 or less, and 1e-5 and above means a wrong
        gradient (or a relu input within ``step`` of 0). Costs two forward passes per
        parameter: use small models and batches."""
        dataset, keep = self._dataset(x, y)
        errors_w = np.zeros(self.n_layers)
        errors_b = np.zeros(self.n_layers)
        check(self._call(lib.smlp_gradcheck, byref(dataset), float(step),
                                 errors_w.ctypes.data_as(POINTER(c_double)),
                                 errors_b.ctypes.data_as(POINTER(c_double)), self.n_layers))
        del keep
        return GradCheck(errors_w, errors_b)

    # -- saving, loading ----------------------------------------------------------------------------

    def save(self, path: PathLike) -> None:
        """Writes the whole model (parameters, optimizer state, epoch, generator,
        scaler, metadata) to ``path``, atomically."""
        check(self._call(lib.smlp_save, c_path(path)))

    @classmethod
    def load(cls, path: PathLike) -> "Network":
        """Reads a model written by :meth:`save` (or by smlp_save from C)."""
        handle = c_void_p()
        check(lib.smlp_load(c_path(path), byref(handle)))
        return cls._from_handle(handle.value)

    def to_bytes(self) -> bytes:
        """The model in the file format, as bytes."""
        size = c_size_t()
        check(self._call(lib.smlp_save_to_buffer, None, 0, byref(size)))
        buffer = ctypes.create_string_buffer(max(size.value, 1))
        check(self._call(lib.smlp_save_to_buffer, buffer, size.value, byref(size)))
        return buffer.raw[:size.value]

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> "Network":
        """A model from bytes made by :meth:`to_bytes` (or read from a model file)."""
        return cls._from_handle(_load_buffer(data))

    @property
    def metadata(self) -> "Metadata":
        """The model's UTF-8 key/value metadata, saved with it, as a mutable mapping."""
        return Metadata(self)

    def export_c(self, path: PathLike, prefix: str | None = None) -> None:
        """Writes a standalone C99 file with the weights and
        ``void <prefix>_predict(const T *x, T *out)``, T being ``float`` for a
        float32 network and ``double`` for a float64 one (default prefix
        "smlp_model"; a C identifier not beginning with "_"). See smlp_export_c
        in swiftmlp.h for how to compile it."""
        check(self._call(lib.smlp_export_c, c_path(path),
                                None if prefix is None else c_text(prefix, "prefix")))


def _load_buffer(data: bytes | bytearray | memoryview) -> int:
    view = np.frombuffer(data, dtype=np.uint8)
    storage = view if view.size else np.zeros(1, dtype=np.uint8)  # a valid pointer for b""
    handle = c_void_p()
    check(lib.smlp_load_from_buffer(_pointer(storage), view.size, byref(handle)))
    return handle.value


def _index(value: Any, name: str = "layer") -> int:
    """A non-negative integer for a size_t argument."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if not 0 <= value < _SIZE_LIMIT:
        raise ValueError(f"{name} is {value}; it must be >= 0 and below 2**{_SIZE_BITS} (a C size_t)")
    return value


_SIZE_BITS = 8 * sizeof(c_size_t)
_SIZE_LIMIT = 1 << _SIZE_BITS


