"""The loaded library, the status check every call goes through, and the
conversion of text to the NUL-terminated strings the library takes."""

from __future__ import annotations

import os
from typing import Any

from ._errors import exception_for
from ._loader import lib, path

__all__ = ["lib", "path", "check", "last_error", "c_text", "c_path"]


def last_error() -> str:
    """``smlp_last_error()`` of the calling thread, decoded."""
    return lib.smlp_last_error().decode("utf-8", "replace")


def check(status: int) -> None:
    """Raises the exception for ``status`` (with the library's message) unless OK.

    Must run on the thread that made the call, right after it: messages are per
    thread and only the most recent failure is kept.
    """
    if status != 0:
        raise exception_for(status, last_error())


def c_text(value: str, what: str) -> bytes:
    """``value`` as UTF-8 for a C string argument. ValueError for an embedded NUL,
    which C would take as the end of the string (the rest silently lost)."""
    if "\0" in value:
        raise ValueError(f"{what} contains a NUL character: {value!r}")
    return value.encode("utf-8")


def c_path(path: Any) -> bytes:
    """``os.fsencode(path)`` for a path argument. ValueError for an embedded NUL, as
    ``open()`` raises."""
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise ValueError(f"path contains a NUL character: {path!r}")
    return encoded
