"""Ctrl-C during a long C call (smlp_train): a flag the epoch callback reads."""

from __future__ import annotations

import signal
import threading
from typing import Any

try:
    # signal.getsignal and signal.signal wrap these in enum conversions that cost
    # about 8 us per smlp_train call (a failed Handlers(function) lookup each time);
    # the handlers compared and swapped here are functions, never enum members.
    from _signal import getsignal as _getsignal, signal as _signal
except ImportError:  # pragma: no cover - a Python without the _signal module
    _getsignal, _signal = signal.getsignal, signal.signal


_SIGINT = int(signal.SIGINT)


class _Interrupts:
    """Turns Ctrl-C during a C call into a flag, when this thread may do so.

    In the main thread with Python's default SIGINT handler, the handler is replaced
    for the duration of the call by one that only records the interrupt; the epoch
    callback sees the flag and asks the library to stop. Elsewhere, a
    KeyboardInterrupt raised inside the callback is caught there instead.
    """

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None

    def __enter__(self) -> "_Interrupts":
        if threading.current_thread() is threading.main_thread():
            try:
                if _getsignal(_SIGINT) is signal.default_int_handler:
                    self._previous = _signal(_SIGINT, self._handler)
            except (ValueError, OSError):  # pragma: no cover - no signals here
                self._previous = None
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        self.interrupted = True

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            _signal(_SIGINT, self._previous)
