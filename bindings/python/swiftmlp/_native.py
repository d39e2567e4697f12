"""The loaded library and the status check every call goes through."""

from __future__ import annotations

from ._errors import exception_for
from ._loader import lib, path

__all__ = ["lib", "path", "check", "last_error"]


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
