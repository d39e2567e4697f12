"""NumPy arrays on their way to C: dtype checks, the one conversion, addresses.

Arrays that are already C-contiguous and aligned in the wanted dtype go to the
library as they are; anything else is converted exactly once (``_convert``). Array
data is reached only through public NumPy and ctypes interfaces.
"""

from __future__ import annotations

import ctypes
from ctypes import c_void_p
from typing import Any

import numpy as np

from ._capi import DType

_ndarray = np.ndarray
_int32 = np.dtype(np.int32)


def _np_dtype(dtype: Any) -> np.dtype:
    resolved = np.dtype(dtype)
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, not {resolved}")
    return resolved


def _c_dtype(dtype: np.dtype) -> int:
    return int(DType.FLOAT32 if dtype == np.float32 else DType.FLOAT64)


# ---- Conversions (the only place data is copied) -----------------------------------

def _convert(x: Any, dtype: Any) -> np.ndarray:
    """The one conversion: a C-contiguous, aligned array of ``dtype`` (tests count
    calls). ``ascontiguousarray`` returns a contiguous but misaligned array as it is
    (e.g. ``np.frombuffer`` at an odd offset), and C must not see a misaligned typed
    pointer, so such an array is copied."""
    try:
        array = np.ascontiguousarray(x, dtype=dtype)
    except TypeError as error:
        raise ValueError(f"cannot convert data to {np.dtype(dtype)}: {error}") from None
    return array if array.flags.aligned else array.copy()


def as_c_array(x: Any, dtype: Any, name: str = "x") -> np.ndarray:
    """``x`` itself when it is a C-contiguous, aligned ndarray of ``dtype``; else one copy."""
    if isinstance(x, np.ndarray):
        if x.dtype == dtype and x.flags.c_contiguous and x.flags.aligned:
            return x
        if np.iscomplexobj(x):
            raise ValueError(f"{name} is complex ({x.dtype}); swiftmlp works on real numbers")
        if x.dtype == object:
            try:
                return _convert(x, dtype)
            except ValueError as error:
                raise ValueError(f"{name} cannot be converted to {np.dtype(dtype)}: {error}") from None
    try:
        return _convert(x, dtype)
    except ValueError as error:
        raise ValueError(f"{name} cannot be converted to {np.dtype(dtype)}: {error}") from None


def _as_labels(y: np.ndarray | Any, name: str = "y") -> np.ndarray:
    """Integer class labels as a C-contiguous int32 array (one conversion at most)."""
    if isinstance(y, np.ndarray) and y.dtype == np.int32 and y.flags.c_contiguous and y.flags.aligned:
        return y
    array = np.asarray(y)
    if array.dtype.kind in "iu":
        if array.size and (array.min() < np.iinfo(np.int32).min or array.max() > np.iinfo(np.int32).max):
            raise ValueError(f"{name} has labels outside the int32 range")
    elif array.dtype.kind in "fb":
        if array.dtype.kind == "f" and array.size and not np.all(np.isfinite(array) & (array == np.round(array))):
            raise ValueError(f"{name}: class labels must be integers")
    else:
        raise ValueError(f"{name}: class labels must be integers, not {array.dtype}")
    return _convert(array, np.int32)


_char_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof


def _address(array: np.ndarray) -> int:
    """The address of a C-contiguous array's first element, through the buffer
    protocol (a third of the cost of ``array.ctypes.data``, docs/performance.md);
    ``array.ctypes.data`` for the arrays ctypes refuses there (read-only or empty)."""
    try:
        return _addressof(_char_from_buffer(array))
    except (TypeError, ValueError):
        return array.ctypes.data


def _pointer(array: np.ndarray) -> c_void_p:
    """The array's address as a ``c_void_p`` argument."""
    return c_void_p(_address(array))


def _aligned_address(array: np.ndarray, mask: int) -> int | None:
    """The address of a non-empty, C-contiguous array when it has no bit of ``mask``
    set (``dtype.alignment - 1``: aligned), else None. The buffer protocol first (it
    refuses non-contiguous, read-only and empty arrays), then ``_address``."""
    try:
        address = _addressof(_char_from_buffer(array))
    except (TypeError, ValueError):
        flags = array.flags
        if not (flags.c_contiguous and flags.aligned) or not array.size:
            return None
        address = _address(array)
    return None if address & mask else address
