"""The C interface of libswiftmlp, declared 1:1 with ctypes.

This module mirrors ``include/swiftmlp.h`` and nothing more: the enums as
:class:`enum.IntEnum`, the structs as :class:`ctypes.Structure` (same field order
and types: ``size_t`` is ``c_size_t``, enums and ``int`` are ``c_int``), the
callback type via :func:`ctypes.CFUNCTYPE`, and the prototype (restype and
argtypes) of every function in :data:`PROTOTYPES`. :func:`declare` applies the
prototypes to a loaded :class:`ctypes.CDLL`.

The Pythonic API is in :mod:`swiftmlp`; nothing here checks or converts data.
"""

from __future__ import annotations

import ctypes
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_int,
                    c_int32, c_size_t, c_uint, c_uint64, c_void_p)
from enum import IntEnum

# ---- Version -------------------------------------------------------------------

# The header's numbers (read from it by _version), not typed here.
from ._version import MAJOR as SMLP_VERSION_MAJOR  # noqa: E402
from ._version import MINOR as SMLP_VERSION_MINOR  # noqa: E402
from ._version import PATCH as SMLP_VERSION_PATCH  # noqa: E402

SMLP_VERSION_NUMBER = SMLP_VERSION_MAJOR * 10000 + SMLP_VERSION_MINOR * 100 + SMLP_VERSION_PATCH
SMLP_VERSION_STRING = f"{SMLP_VERSION_MAJOR}.{SMLP_VERSION_MINOR}.{SMLP_VERSION_PATCH}"

# ---- Enums ---------------------------------------------------------------------


class Status(IntEnum):
    """``smlp_status``."""
    OK = 0
    ERR_NULL_ARGUMENT = 1
    ERR_INVALID_ARGUMENT = 2
    ERR_SHAPE_MISMATCH = 3
    ERR_DTYPE_MISMATCH = 4
    ERR_OUT_OF_MEMORY = 5
    ERR_NON_FINITE = 6
    ERR_BUSY = 7
    ERR_IO = 8
    ERR_BAD_FORMAT = 9
    ERR_UNSUPPORTED_VERSION = 10


class DType(IntEnum):
    """``smlp_dtype``."""
    FLOAT32 = 1
    FLOAT64 = 2


class Activation(IntEnum):
    """``smlp_activation``."""
    IDENTITY = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4
    SOFTMAX = 5


class Loss(IntEnum):
    """``smlp_loss``."""
    MSE = 0
    BINARY_CROSS_ENTROPY = 1
    SOFTMAX_CROSS_ENTROPY = 2
    POISSON = 3
    FANN_TANH_ERROR = 4


class Reduction(IntEnum):
    """``smlp_reduction``."""
    REDUCTION_MEAN = 0
    REDUCTION_SUM = 1


class Init(IntEnum):
    """``smlp_init``."""
    INIT_AUTO = 0
    INIT_GLOROT_UNIFORM = 1
    INIT_HE_UNIFORM = 2


class Schedule(IntEnum):
    """``smlp_schedule``."""
    SCHEDULE_CONSTANT = 0
    SCHEDULE_STEP = 1
    SCHEDULE_EXPONENTIAL = 2
    SCHEDULE_COSINE = 3
    SCHEDULE_INVERSE_SCALING = 4


class Optimizer(IntEnum):
    """``smlp_optimizer``."""
    SGD = 0
    ADAM = 1
    ADAMW = 2
    RMSPROP = 3
    RPROP = 4


class RpropVariant(IntEnum):
    """``smlp_rprop_variant``."""
    IRPROP_MINUS = 0
    IRPROP_PLUS = 1


class CacheKind(IntEnum):
    """``smlp_cache_kind``."""
    CACHE_Z = 0
    CACHE_A = 1
    CACHE_DZ = 2


class TrainMethod(IntEnum):
    """``smlp_train_method``."""
    TRAIN_MINIBATCH = 0
    TRAIN_LBFGS = 1


class StopReason(IntEnum):
    """``smlp_stop_reason``."""
    STOP_MAX_EPOCHS = 0
    STOP_EARLY_STOPPING = 1
    STOP_CALLBACK = 2
    STOP_GRADIENT_TOLERANCE = 3
    STOP_LOSS_CHANGE = 4
    STOP_MAX_FUNCTION_EVALS = 5
    STOP_LINE_SEARCH_FAILED = 6


#: C typedef name -> the IntEnum that mirrors it.
ENUMS = {
    "smlp_status": Status,
    "smlp_dtype": DType,
    "smlp_activation": Activation,
    "smlp_loss": Loss,
    "smlp_reduction": Reduction,
    "smlp_init": Init,
    "smlp_schedule": Schedule,
    "smlp_optimizer": Optimizer,
    "smlp_rprop_variant": RpropVariant,
    "smlp_cache_kind": CacheKind,
    "smlp_train_method": TrainMethod,
    "smlp_stop_reason": StopReason,
}

# ---- Structs -------------------------------------------------------------------

#: ``smlp_model *``: an opaque handle.
smlp_model_p = c_void_p


class smlp_config(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("dtype", c_int),
        ("n_layer_sizes", c_size_t),
        ("layer_sizes", POINTER(c_size_t)),
        ("activations", POINTER(c_int)),
        ("loss", c_int),
        ("reduction", c_int),
        ("init", c_int),
        ("seed", c_uint64),
        ("leaky_relu_slope", c_double),
    ]


class smlp_model_info(Structure):
    _fields_ = [
        ("dtype", c_int),
        ("n_layers", c_size_t),
        ("n_inputs", c_size_t),
        ("n_outputs", c_size_t),
        ("param_count", c_size_t),
        ("loss", c_int),
        ("reduction", c_int),
        ("leaky_relu_slope", c_double),
        ("epoch", c_size_t),
        ("has_scaler", c_int),
    ]


class smlp_layer_info(Structure):
    _fields_ = [
        ("n_inputs", c_size_t),
        ("n_outputs", c_size_t),
        ("activation", c_int),
        ("weight_offset", c_size_t),
        ("bias_offset", c_size_t),
    ]


class smlp_dataset(Structure):
    _fields_ = [
        ("dtype", c_int),
        ("n_rows", c_size_t),
        ("n_inputs", c_size_t),
        ("x", c_void_p),
        ("n_outputs", c_size_t),
        ("y", c_void_p),
        ("labels", POINTER(c_int32)),
    ]


class smlp_optimizer_config(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("kind", c_int),
        ("learning_rate", c_double),
        ("momentum", c_double),
        ("nesterov", c_int),
        ("beta1", c_double),
        ("beta2", c_double),
        ("epsilon", c_double),
        ("alpha", c_double),
        ("weight_decay", c_double),
        ("decay_biases", c_int),
        ("clip_norm", c_double),
        ("schedule", c_int),
        ("step_size", c_size_t),
        ("gamma", c_double),
        ("t_max", c_size_t),
        ("min_lr", c_double),
        ("rprop_variant", c_int),
        ("rprop_increase", c_double),
        ("rprop_decrease", c_double),
        ("rprop_delta0", c_double),
        ("rprop_delta_min", c_double),
        ("rprop_delta_max", c_double),
    ]


class smlp_epoch_report(Structure):
    _fields_ = [
        ("epoch", c_size_t),
        ("train_loss", c_double),
        ("validation_loss", c_double),
        ("validation_accuracy", c_double),
        ("learning_rate", c_double),
    ]


#: ``int (*smlp_epoch_callback)(const smlp_epoch_report *report, void *user_data)``
smlp_epoch_callback = CFUNCTYPE(c_int, POINTER(smlp_epoch_report), c_void_p)


class smlp_train_details(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("iterations", c_size_t),
        ("function_evals", c_size_t),
        ("stop_reason", c_int),
        ("final_objective", c_double),
    ]


class smlp_train_options(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("epochs", c_size_t),
        ("batch_size", c_size_t),
        ("shuffle", c_int),
        ("drop_last", c_int),
        ("validation", POINTER(smlp_dataset)),
        ("patience", c_size_t),
        ("min_delta", c_double),
        ("restore_best", c_int),
        ("callback", smlp_epoch_callback),
        ("user_data", c_void_p),
        ("method", c_int),
        ("lbfgs_history", c_size_t),
        ("tolerance_grad", c_double),
        ("tolerance_change", c_double),
        ("max_function_evals", c_size_t),
        ("details", POINTER(smlp_train_details)),
    ]


class smlp_train_summary(Structure):
    _fields_ = [
        ("epochs_run", c_size_t),
        ("best_epoch", c_size_t),
        ("best_validation_loss", c_double),
        ("final_train_loss", c_double),
        ("final_validation_loss", c_double),
        ("stopped_early", c_int),
        ("stopped_by_callback", c_int),
    ]


class smlp_owned_dataset(Structure):
    _fields_ = [
        ("data", smlp_dataset),
    ]


#: C struct name -> its ctypes mirror.
STRUCTS = {
    "smlp_config": smlp_config,
    "smlp_model_info": smlp_model_info,
    "smlp_layer_info": smlp_layer_info,
    "smlp_dataset": smlp_dataset,
    "smlp_optimizer_config": smlp_optimizer_config,
    "smlp_epoch_report": smlp_epoch_report,
    "smlp_train_details": smlp_train_details,
    "smlp_train_options": smlp_train_options,
    "smlp_train_summary": smlp_train_summary,
    "smlp_owned_dataset": smlp_owned_dataset,
}

# ---- Functions -----------------------------------------------------------------

_status = c_int  # smlp_status
_enum = c_int
_model = smlp_model_p

#: name -> (restype, argtypes), in header order.
PROTOTYPES: dict[str, tuple[object, tuple[object, ...]]] = {
    # Version
    "smlp_version": (c_uint, ()),
    "smlp_version_string": (c_char_p, ()),
    # Status codes and errors
    "smlp_status_string": (c_char_p, (_enum,)),
    "smlp_last_error": (c_char_p, ()),
    # Model description
    "smlp_config_init": (None, (POINTER(smlp_config),)),
    # Create and free
    "smlp_create": (_status, (POINTER(smlp_config), POINTER(_model))),
    "smlp_free": (None, (_model,)),
    # Queries
    "smlp_param_count": (c_size_t, (_model,)),
    "smlp_model_info_get": (_status, (_model, POINTER(smlp_model_info))),
    "smlp_layer_info_get": (_status, (_model, c_size_t, POINTER(smlp_layer_info))),
    # Parameters
    "smlp_get_params": (_status, (_model, _enum, c_void_p, c_size_t)),
    "smlp_set_params": (_status, (_model, _enum, c_void_p, c_size_t)),
    # Inference
    "smlp_predict": (_status, (_model, _enum, c_void_p, c_size_t, c_size_t, c_void_p, c_size_t)),
    # Training
    "smlp_gradients": (_status, (_model, POINTER(smlp_dataset), POINTER(c_double), c_void_p, c_size_t)),
    "smlp_step": (_status, (_model, POINTER(smlp_dataset), POINTER(c_double))),
    # Optimizers
    "smlp_optimizer_config_init_sized": (None, (POINTER(smlp_optimizer_config), _enum, c_size_t)),
    "smlp_optimizer_config_init": (None, (POINTER(smlp_optimizer_config), _enum)),
    "smlp_set_optimizer": (_status, (_model, POINTER(smlp_optimizer_config))),
    "smlp_set_epoch": (_status, (_model, c_size_t)),
    # Training on a whole data set
    "smlp_train_options_init_sized": (None, (POINTER(smlp_train_options), c_size_t)),
    "smlp_train_options_init": (None, (POINTER(smlp_train_options),)),
    "smlp_train": (_status, (_model, POINTER(smlp_dataset), POINTER(smlp_train_options),
                             POINTER(smlp_train_summary))),
    "smlp_evaluate": (_status, (_model, POINTER(smlp_dataset), POINTER(c_double), POINTER(c_double))),
    # Input scaling kept with the model
    "smlp_fit_scaler": (_status, (_model, _enum, c_void_p, c_size_t, c_size_t)),
    "smlp_set_scaler": (_status, (_model, POINTER(c_double), POINTER(c_double), c_size_t)),
    "smlp_get_scaler": (_status, (_model, POINTER(c_double), POINTER(c_double), c_size_t, POINTER(c_int))),
    "smlp_clear_scaler": (_status, (_model,)),
    # Looking inside a gradient computation
    "smlp_get_layer_cache": (_status, (_model, c_size_t, _enum, _enum, c_void_p, c_size_t, c_size_t)),
    "smlp_cached_rows_get": (_status, (_model, POINTER(c_size_t))),
    "smlp_cached_rows": (c_size_t, (_model,)),
    "smlp_gradcheck": (_status, (_model, POINTER(smlp_dataset), c_double, POINTER(c_double),
                                 POINTER(c_double), c_size_t)),
    # Applying a gradient computed elsewhere
    "smlp_apply_gradients": (_status, (_model, _enum, c_void_p, c_size_t, c_double)),
    # Saving and loading
    "smlp_save": (_status, (_model, c_char_p)),
    "smlp_load": (_status, (c_char_p, POINTER(_model))),
    "smlp_save_to_buffer": (_status, (_model, c_void_p, c_size_t, POINTER(c_size_t))),
    "smlp_load_from_buffer": (_status, (c_void_p, c_size_t, POINTER(_model))),
    "smlp_set_metadata": (_status, (_model, c_char_p, c_char_p)),
    "smlp_get_metadata": (_status, (_model, c_char_p, POINTER(c_char), c_size_t, POINTER(c_size_t))),
    "smlp_metadata_count_get": (_status, (_model, POINTER(c_size_t))),
    "smlp_metadata_count": (c_size_t, (_model,)),
    "smlp_metadata_key": (_status, (_model, c_size_t, POINTER(c_char), c_size_t, POINTER(c_size_t))),
    "smlp_export_c": (_status, (_model, c_char_p, c_char_p)),
    # Data files
    "smlp_data_load_fann": (_status, (c_char_p, _enum, POINTER(POINTER(smlp_owned_dataset)))),
    "smlp_data_save_fann": (_status, (c_char_p, POINTER(smlp_dataset))),
    "smlp_data_free": (None, (POINTER(smlp_owned_dataset),)),
    # Models from other libraries
    "smlp_load_fann": (_status, (c_char_p, _enum, POINTER(_model))),
    # Threads
    "smlp_set_num_threads": (_status, (c_int,)),
    "smlp_get_num_threads": (c_int, ()),
}


def missing_symbols(lib: ctypes.CDLL) -> list[str]:
    """The names in :data:`PROTOTYPES` that ``lib`` does not export."""
    missing = []
    for name in PROTOTYPES:
        try:
            getattr(lib, name)
        except AttributeError:
            missing.append(name)
    return missing


def declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Sets restype and argtypes of every function in :data:`PROTOTYPES` on ``lib``.

    Raises AttributeError naming the first function ``lib`` does not export.
    """
    for name, (restype, argtypes) in PROTOTYPES.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib
