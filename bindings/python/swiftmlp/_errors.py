"""Exceptions, and the one place where a status code becomes one.

Every failing library call raises an exception whose message is the library's own
(``smlp_last_error()``, e.g. ``"smlp_predict: n_inputs is 3 but the model has 2
inputs"``) and which carries the :class:`~swiftmlp._capi.Status` as ``.status``:

=============================  ==========================================
status                         exception
=============================  ==========================================
NULL_ARGUMENT, INVALID_ARGUMENT,  :class:`ArgumentError` (a ValueError)
SHAPE_MISMATCH, DTYPE_MISMATCH
OUT_OF_MEMORY                  :class:`OutOfMemoryError` (a MemoryError)
NON_FINITE                     :class:`NonFiniteError` (a ValueError)
BUSY                           :class:`BusyError` (a RuntimeError)
IO                             :class:`LibraryOSError` (an OSError)
BAD_FORMAT, UNSUPPORTED_VERSION  :class:`FormatError` (a ValueError)
=============================  ==========================================
"""

from __future__ import annotations

from ._capi import Status


class SwiftMLPError(Exception):
    """Base of every exception raised for a failed library call.

    Attributes: ``status`` (the :class:`Status`), ``message`` (the library's text).
    """

    status: Status = Status.OK

    def __init__(self, message: str, status: Status | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = Status(status)


class ArgumentError(SwiftMLPError, ValueError):
    """A NULL, invalid, wrongly shaped or wrongly typed argument."""


class OutOfMemoryError(SwiftMLPError, MemoryError):
    """A size overflowed or memory ran out."""


class NonFiniteError(SwiftMLPError, ValueError):
    """NaN or infinity in data, loss or gradient; nothing was updated."""


class BusyError(SwiftMLPError, RuntimeError):
    """Another thread is changing this model; nothing was changed."""


class LibraryOSError(SwiftMLPError, OSError):
    """A file could not be read or written (the message has the OS error)."""


class FormatError(SwiftMLPError, ValueError):
    """Not a model file, a corrupted one, or one from a newer major version; a
    malformed data file."""


_CLASSES = {
    Status.ERR_NULL_ARGUMENT: ArgumentError,
    Status.ERR_INVALID_ARGUMENT: ArgumentError,
    Status.ERR_SHAPE_MISMATCH: ArgumentError,
    Status.ERR_DTYPE_MISMATCH: ArgumentError,
    Status.ERR_OUT_OF_MEMORY: OutOfMemoryError,
    Status.ERR_NON_FINITE: NonFiniteError,
    Status.ERR_BUSY: BusyError,
    Status.ERR_IO: LibraryOSError,
    Status.ERR_BAD_FORMAT: FormatError,
    Status.ERR_UNSUPPORTED_VERSION: FormatError,
}


def exception_for(status: int, message: str) -> SwiftMLPError:
    """The exception for a non-OK status code."""
    try:
        code = Status(status)
    except ValueError:
        return SwiftMLPError(f"unknown status {status}: {message}")
    return _CLASSES.get(code, SwiftMLPError)(message, code)
