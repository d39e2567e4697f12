"""Finds, loads and checks libswiftmlp.

Where the library is looked for, in this order (the first that loads and passes
the ABI check wins):

1. ``SWIFTMLP_LIBRARY``: when this environment variable is set, the file it names
   is the only candidate (so a wrong path fails loudly instead of silently picking
   up another copy).
2. The copy bundled in the package, ``swiftmlp/_lib/libswiftmlp.so.0``, which
   ``pip install ./bindings/python`` builds and puts there.
3. An installed system copy: what the dynamic linker finds
   (``ctypes.util.find_library("swiftmlp")``: the ldconfig cache, LD_LIBRARY_PATH),
   then ``$(pkg-config --variable=libdir swiftmlp)/libswiftmlp.so.0`` (after
   ``make install PREFIX=...``).

The ABI check: ``smlp_version() // 10000`` must equal :data:`EXPECTED_MAJOR` and
the minor version must be at least :data:`EXPECTED_MINOR`; and every function of
the header must be exported. Otherwise :class:`ImportError` says what was looked
for, why each candidate was refused, and how to fix it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
from pathlib import Path

from . import _capi

ENV_VAR = "SWIFTMLP_LIBRARY"
SONAME = "libswiftmlp.so.0"
EXPECTED_MAJOR = _capi.SMLP_VERSION_MAJOR
EXPECTED_MINOR = _capi.SMLP_VERSION_MINOR
BUNDLED_DIR = Path(__file__).resolve().parent / "_lib"

_FIX = (
    "To fix it, do one of:\n"
    "  * build the library in a swiftmlp checkout with `make library` and point to it:\n"
    "        export SWIFTMLP_LIBRARY=/path/to/swiftmlp/build/lib/libswiftmlp.so.0\n"
    "  * reinstall the package from the checkout, which builds and bundles the library:\n"
    "        pip install ./bindings/python\n"
    "  * or install the wheel, which needs no Swift (make wheel; docs/install.md):\n"
    "        pip install dist/swiftmlp-*-manylinux_*.whl\n"
    "  * install the library system-wide with `make install` (PREFIX=... and\n"
    "    PKG_CONFIG_PATH or LD_LIBRARY_PATH for a custom prefix)."
)


class LibraryRefused(Exception):
    """A candidate that exists but cannot be used (the reason is the message)."""


def candidates(environ: os._Environ | dict | None = None) -> list[tuple[str, str]]:
    """The (origin, path-or-name) pairs to try, in order."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(ENV_VAR)
    if explicit:
        return [(f"{ENV_VAR}={explicit}", explicit)]
    found: list[tuple[str, str]] = []
    bundled = BUNDLED_DIR / SONAME
    found.append((f"bundled copy {bundled}", str(bundled)))
    system = ctypes.util.find_library("swiftmlp")
    found.append(("system library (ctypes.util.find_library('swiftmlp'))", system or ""))
    libdir = _pkg_config_libdir()
    pc_path = str(Path(libdir) / SONAME) if libdir else ""
    found.append(("pkg-config swiftmlp libdir", pc_path))
    return found


def _pkg_config_libdir() -> str:
    if shutil.which("pkg-config") is None:
        return ""
    try:
        done = subprocess.run(["pkg-config", "--variable=libdir", "swiftmlp"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def check_abi(lib: ctypes.CDLL) -> int:
    """Checks version and exported functions of ``lib``; returns smlp_version()."""
    try:
        version_function = lib.smlp_version
    except AttributeError:
        raise LibraryRefused("it does not export smlp_version: not libswiftmlp") from None
    version_function.restype = ctypes.c_uint
    version_function.argtypes = ()
    version = int(version_function())
    major, minor = version // 10000, version // 100 % 100
    text = f"{major}.{minor}.{version % 100}"
    if major != EXPECTED_MAJOR:
        raise LibraryRefused(
            f"it is version {text}, but this binding needs major version {EXPECTED_MAJOR}")
    if minor < EXPECTED_MINOR:
        raise LibraryRefused(
            f"it is version {text}, older than the {EXPECTED_MAJOR}.{EXPECTED_MINOR} "
            f"this binding needs")
    missing = _capi.missing_symbols(lib)
    if missing:
        raise LibraryRefused(
            f"it is version {text} but does not export {len(missing)} function(s) of the "
            f"header: {', '.join(missing)}")
    return version


def load_path(path: str) -> ctypes.CDLL:
    """Loads and checks one candidate; raises LibraryRefused with the reason."""
    if not path:
        raise LibraryRefused("not found")
    if os.sep in path and not os.path.exists(path):
        raise LibraryRefused("no such file")
    try:
        lib = ctypes.CDLL(path)
    except OSError as error:
        raise LibraryRefused(f"cannot be loaded: {error}") from None
    check_abi(lib)
    return _capi.declare(lib)


def load(environ: os._Environ | dict | None = None) -> tuple[ctypes.CDLL, str]:
    """Loads the first usable candidate: (library, where it came from)."""
    reasons = []
    for origin, path in candidates(environ):
        try:
            return load_path(path), (path if path else origin)
        except LibraryRefused as refused:
            reasons.append(f"  * {origin}: {refused}")
    raise ImportError(
        "swiftmlp: no usable libswiftmlp (C ABI version "
        f"{EXPECTED_MAJOR}.{EXPECTED_MINOR} or a later {EXPECTED_MAJOR}.x) was found. "
        "Looked for:\n" + "\n".join(reasons) + "\n" + _FIX)


#: The loaded library with every prototype declared, and where it came from.
lib, path = load()
