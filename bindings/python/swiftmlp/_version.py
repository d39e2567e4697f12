"""The version, written in one place: include/swiftmlp.h's SMLP_VERSION_MAJOR, _MINOR
and _PATCH.

A built package (pip install, make wheel) carries ``_build_version.py``, which setup.py
writes from the header; run from a source checkout (the tests, PYTHONPATH), the header
itself is read. setup.py loads this file on its own to read the header.
"""

from __future__ import annotations

import re
from pathlib import Path

#: The header, from bindings/python/swiftmlp/ in a checkout.
HEADER = Path(__file__).resolve().parents[3] / "include" / "swiftmlp.h"


def read_header(path: Path | str = HEADER) -> tuple[int, int, int]:
    """(MAJOR, MINOR, PATCH) as the header's #define lines give them."""
    text = Path(path).read_text(encoding="utf-8")
    parts = []
    for name in ("MAJOR", "MINOR", "PATCH"):
        found = re.search(rf"^#define SMLP_VERSION_{name}\s+(\d+)\s*$", text, flags=re.M)
        if found is None:
            raise RuntimeError(f"{path}: no '#define SMLP_VERSION_{name} <number>' line")
        parts.append(int(found.group(1)))
    return parts[0], parts[1], parts[2]


try:
    from ._build_version import MAJOR, MINOR, PATCH
except ImportError:  # a source checkout, or setup.py loading this file alone
    if not HEADER.is_file():
        raise ImportError(
            f"swiftmlp: no version: this copy of the package is neither built (no "
            f"swiftmlp/_build_version.py) nor in a checkout (no {HEADER}). Install it with "
            "pip install ./bindings/python or from a wheel (docs/install.md).") from None
    MAJOR, MINOR, PATCH = read_header()
