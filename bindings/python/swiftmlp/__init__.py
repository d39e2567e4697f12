"""swiftmlp: multilayer perceptrons on libswiftmlp (Swift core, OpenBLAS math).

Two layers of API:

* :class:`MLPClassifier` and :class:`MLPRegressor`, scikit-learn estimators
  (Pipeline, cross_val_score, GridSearchCV, clone all work);
* :class:`Network`, one model of the C library with NumPy in and out: step,
  gradients, train, evaluate, save/load, layer caches, gradient checks.

:mod:`swiftmlp._capi` declares the C interface itself, 1:1 with ctypes.

The shared library is found as :mod:`swiftmlp._loader` documents: the file named
by ``SWIFTMLP_LIBRARY``, else the copy bundled by ``pip install``, else a system
copy (``ctypes.util.find_library`` or pkg-config).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._capi import Activation, CacheKind, DType, Init, Loss, Optimizer, Reduction, Schedule, Status
from ._errors import (ArgumentError, BusyError, FormatError, LibraryOSError, NonFiniteError,
                      OutOfMemoryError, SwiftMLPError)
from ._native import lib as _lib
from ._native import check as _check
from ._native import path as library_path
from .metadata import Metadata
from .network import Network, optimizer_defaults
from .results import EpochReport, Evaluation, GradCheck, Gradients, LayerInfo, ModelInfo, TrainSummary
from .datafiles import load_fann, save_fann

from ._capi import SMLP_VERSION_STRING as __version__  # include/swiftmlp.h's version

if TYPE_CHECKING:  # at run time the estimators load on first use (__getattr__ below)
    from .estimators import MLPClassifier, MLPRegressor  # noqa: F401

__all__ = [
    "MLPClassifier", "MLPRegressor", "Network",
    "EpochReport", "Evaluation", "GradCheck", "Gradients", "LayerInfo", "Metadata", "ModelInfo", "TrainSummary",
    "optimizer_defaults", "version", "version_string", "status_string", "set_num_threads",
    "get_num_threads", "library_path", "load_fann", "save_fann",
    "Activation", "CacheKind", "DType", "Init", "Loss", "Optimizer", "Reduction", "Schedule", "Status",
    "SwiftMLPError", "ArgumentError", "OutOfMemoryError", "NonFiniteError", "BusyError",
    "LibraryOSError", "FormatError",
]


def __getattr__(name: str):
    # The estimators import scikit-learn, which takes a while: only on first use.
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import estimators
        return getattr(estimators, name)
    raise AttributeError(f"module 'swiftmlp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"MLPClassifier", "MLPRegressor"})


def version() -> int:
    """The loaded library's version number, MAJOR*10000 + MINOR*100 + PATCH."""
    return int(_lib.smlp_version())


def version_string() -> str:
    """The loaded library's version, "MAJOR.MINOR.PATCH"."""
    return _lib.smlp_version_string().decode("ascii")


def status_string(status: int) -> str:
    """The library's short description of a status code."""
    return _lib.smlp_status_string(int(status)).decode("ascii")


def set_num_threads(n: int) -> None:
    """Threads OpenBLAS uses inside each matrix product, for the whole process."""
    n = int(n)
    if not -2**31 <= n < 2**31:  # ctypes would silently truncate it to a C int
        raise ValueError(f"set_num_threads: {n} does not fit in a C int")
    _check(_lib.smlp_set_num_threads(n))


def get_num_threads() -> int:
    """Threads OpenBLAS currently uses."""
    return int(_lib.smlp_get_num_threads())
