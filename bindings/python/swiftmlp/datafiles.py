"""FANN training data files (``rows inputs outputs``, then alternating input and output
lines), read and written by the library (smlp_data_load_fann, smlp_data_save_fann)::

    X, y = swiftmlp.load_fann("xor.data")          # NumPy arrays, float64
    swiftmlp.save_fann("copy.data", X, y)
"""

from __future__ import annotations

import os
from ctypes import POINTER, byref, c_int32, c_void_p, cast
from typing import Any

import numpy as np

from . import _capi
from ._native import c_path, check, lib
from ._arrays import _c_dtype, _np_dtype, as_c_array
from .network import PathLike

__all__ = ["load_fann", "save_fann"]


def load_fann(path: PathLike, dtype: Any = "float64") -> tuple[np.ndarray, np.ndarray]:
    """Reads a FANN data file: ``(X, y)``, arrays of shape (rows, inputs) and (rows,
    outputs) in ``dtype`` (float32 or float64), owned by NumPy.

    A malformed file raises :class:`swiftmlp.FormatError` naming the line, e.g.
    "line 7: expected the 8 input values of row 2, found 7"; a missing file OSError.
    """
    np_dtype = _np_dtype(dtype)
    owned = POINTER(_capi.smlp_owned_dataset)()
    check(lib.smlp_data_load_fann(c_path(path), _c_dtype(np_dtype), byref(owned)))
    try:
        d = owned.contents.data
        rows, n_in, n_out = d.n_rows, d.n_inputs, d.n_outputs
        ctype = np.ctypeslib.as_ctypes_type(np_dtype)
        x = np.ctypeslib.as_array(cast(d.x, POINTER(ctype)), shape=(rows, n_in)).copy()
        y = np.ctypeslib.as_array(cast(d.y, POINTER(ctype)), shape=(rows, n_out)).copy()
    finally:
        lib.smlp_data_free(owned)
    return x, y


def save_fann(path: PathLike, x: Any, y: Any) -> None:
    """Writes ``x`` (rows x inputs) and ``y`` as a FANN data file, atomically. ``y`` is
    (rows, outputs) or (rows,) targets in x's dtype, which is float64 unless x is
    float32; each value is written so that :func:`load_fann` with the same dtype
    returns the same bits."""
    x_array = np.asarray(x)
    dtype = np.float32 if x_array.dtype == np.float32 else np.float64
    x_c = as_c_array(x_array, dtype, "x")
    if x_c.ndim != 2:
        raise ValueError(f"x must be 2-D (rows x inputs), got shape {x_c.shape}")
    y_c = as_c_array(y, dtype, "y")
    if y_c.ndim == 1:
        y_c = y_c.reshape(-1, 1)
    if y_c.ndim != 2 or y_c.shape[0] != x_c.shape[0]:
        raise ValueError(f"y must have {x_c.shape[0]} rows (shape (rows,) or (rows, outputs)), got {y_c.shape}")
    data = _capi.smlp_dataset(
        dtype=_c_dtype(np.dtype(dtype)), n_rows=x_c.shape[0], n_inputs=x_c.shape[1],
        x=x_c.ctypes.data_as(c_void_p), n_outputs=y_c.shape[1], y=y_c.ctypes.data_as(c_void_p),
        labels=POINTER(c_int32)())
    check(lib.smlp_data_save_fann(c_path(path), byref(data)))
