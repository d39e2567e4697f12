"""A per-epoch progress bar: tqdm when it is installed, plain text otherwise."""

from __future__ import annotations

import math
import sys
import time
from typing import Any


def _format_postfix(values: dict[str, float]) -> str:
    return "  ".join(f"{key} {value:.4g}" for key, value in values.items()
                     if value is not None and not (isinstance(value, float) and math.isnan(value)))


class PlainBar:
    """``[#####.....] 12/200 epochs  loss 0.1234`` on one line of stderr."""

    width = 30

    def __init__(self, total: int, desc: str = "", stream: Any = None) -> None:
        self.total = max(int(total), 1)
        self.desc = desc
        self.count = 0
        self.stream = stream if stream is not None else sys.stderr
        self._last_draw = 0.0
        self._postfix = ""

    def update(self, n: int = 1, **postfix: float) -> None:
        self.count += n
        self._postfix = _format_postfix(postfix)
        now = time.monotonic()
        if now - self._last_draw >= 0.1 or self.count >= self.total:
            self._draw()
            self._last_draw = now

    def _draw(self) -> None:
        done = min(self.count, self.total)
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        prefix = f"{self.desc}: " if self.desc else ""
        self.stream.write(f"\r{prefix}[{bar}] {done}/{self.total} epochs  {self._postfix}   ")
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()


class TqdmBar:
    """The same interface over tqdm."""

    def __init__(self, total: int, desc: str = "") -> None:
        from tqdm.auto import tqdm
        self._bar = tqdm(total=total, desc=desc or None, unit="epoch", leave=True)

    def update(self, n: int = 1, **postfix: float) -> None:
        text = _format_postfix(postfix)
        if text:
            self._bar.set_postfix_str(text, refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


def progress_bar(total: int, desc: str = "", enabled: bool = True) -> PlainBar | TqdmBar | None:
    """A bar for ``total`` epochs, or None when not enabled."""
    if not enabled:
        return None
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return PlainBar(total, desc)
    return TqdmBar(total, desc)
