"""The names the Python layer accepts for the C enums, and back.

Every code is an :mod:`swiftmlp._capi` IntEnum member (the header's values, checked
by tests/test_capi.py); this module only adds the names and aliases users type.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _capi
from ._capi import Activation, CacheKind, Init, Loss, Optimizer, Reduction, RpropVariant, Schedule

_ACTIVATION_NAMES = {
    "identity": Activation.IDENTITY, "linear": Activation.IDENTITY,
    "sigmoid": Activation.SIGMOID, "logistic": Activation.SIGMOID,
    "tanh": Activation.TANH, "relu": Activation.RELU,
    "leaky_relu": Activation.LEAKY_RELU, "softmax": Activation.SOFTMAX,
}
_LOSS_NAMES = {
    "mse": Loss.MSE, "squared_error": Loss.MSE,
    "binary_cross_entropy": Loss.BINARY_CROSS_ENTROPY, "bce": Loss.BINARY_CROSS_ENTROPY,
    "softmax_cross_entropy": Loss.SOFTMAX_CROSS_ENTROPY,
    "cross_entropy": Loss.SOFTMAX_CROSS_ENTROPY, "poisson": Loss.POISSON,
    "fann_tanh_error": Loss.FANN_TANH_ERROR,
}
_REDUCTION_NAMES = {"mean": Reduction.REDUCTION_MEAN, "sum": Reduction.REDUCTION_SUM}
_INIT_NAMES = {
    "auto": Init.INIT_AUTO, "glorot_uniform": Init.INIT_GLOROT_UNIFORM,
    "glorot": Init.INIT_GLOROT_UNIFORM, "he_uniform": Init.INIT_HE_UNIFORM, "he": Init.INIT_HE_UNIFORM,
}
_OPTIMIZER_NAMES = {"sgd": Optimizer.SGD, "adam": Optimizer.ADAM, "adamw": Optimizer.ADAMW,
                    "rmsprop": Optimizer.RMSPROP, "rprop": Optimizer.RPROP}
_RPROP_VARIANTS = {"irprop-": RpropVariant.IRPROP_MINUS, "irprop+": RpropVariant.IRPROP_PLUS}
_SCHEDULE_NAMES = {
    "constant": Schedule.SCHEDULE_CONSTANT, "step": Schedule.SCHEDULE_STEP,
    "exponential": Schedule.SCHEDULE_EXPONENTIAL, "cosine": Schedule.SCHEDULE_COSINE,
    "inverse_scaling": Schedule.SCHEDULE_INVERSE_SCALING,
}
_TRAIN_METHODS = {"minibatch": _capi.TrainMethod.TRAIN_MINIBATCH, "lbfgs": _capi.TrainMethod.TRAIN_LBFGS}
_STOP_REASONS = {int(reason): reason.name[len("STOP_"):].lower() for reason in _capi.StopReason}
_CACHE_NAMES = {"z": CacheKind.CACHE_Z, "a": CacheKind.CACHE_A, "dz": CacheKind.CACHE_DZ}
_OUTPUT_FOR_LOSS = {
    Loss.MSE: Activation.IDENTITY,
    Loss.BINARY_CROSS_ENTROPY: Activation.SIGMOID,
    Loss.SOFTMAX_CROSS_ENTROPY: Activation.SOFTMAX,
    Loss.POISSON: Activation.IDENTITY,
    Loss.FANN_TANH_ERROR: Activation.IDENTITY,
}
# The canonical names: the header constant without SMLP_, in lower case.
_LOSS_DISPLAY = {member: member.name.lower() for member in Loss}
_ACTIVATION_DISPLAY = {member: member.name.lower() for member in Activation}


def _code(value: Any, names: dict[str, int], what: str) -> int:
    """An enum value from a name (case-insensitive), an IntEnum member or an int.

    Unknown names raise ValueError listing the choices; unknown integers are passed
    on, so that the library reports them.
    """
    if isinstance(value, str):
        try:
            return int(names[value.lower()])
        except KeyError:
            raise ValueError(f"unknown {what} {value!r}; choose one of "
                             f"{', '.join(sorted(names))}") from None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be a name or an integer code, not {value!r}")
    return int(value)
