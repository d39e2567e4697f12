"""Shared fixtures. The tests import the package from this source tree (not an
installed copy) and load the library named by SWIFTMLP_LIBRARY (make test-python
sets it to build/lib/libswiftmlp.so.0)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BINDING_ROOT = Path(__file__).resolve().parent.parent
REPO_ROOT = BINDING_ROOT.parent.parent
sys.path.insert(0, str(BINDING_ROOT))

if not os.environ.get("SWIFTMLP_LIBRARY"):
    built = REPO_ROOT / "build" / "lib" / "libswiftmlp.so.0"
    if built.exists():
        os.environ["SWIFTMLP_LIBRARY"] = str(built)

import swiftmlp  # noqa: E402  (after the path is set)

HEADER = REPO_ROOT / "include" / "swiftmlp.h"


def library_path() -> str:
    return swiftmlp.library_path


def find_cc() -> str | None:
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")


@pytest.fixture
def cc() -> str:
    compiler = find_cc()
    if compiler is None:
        pytest.skip("no C compiler (cc) on this machine")
    return compiler


def compile_c(cc: str, source: str, out: Path, *, link_library: bool = True, shared: bool = False,
              extra: list[str] | None = None) -> Path:
    """Compiles C source text to `out` against include/ (and the library)."""
    src = out.with_suffix(".c")
    src.write_text(source)
    command = [cc, "-std=c99", "-O1", "-Wall", "-I", str(REPO_ROOT / "include"), str(src), "-o", str(out)]
    if shared:
        command[1:1] = ["-shared", "-fPIC"]
    if link_library:
        lib_dir = str(Path(library_path()).resolve().parent)
        command += [str(Path(library_path()).resolve()), f"-Wl,-rpath,{lib_dir}"]
    command += (extra or []) + ["-lm"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"compiling failed: {' '.join(command)}\n{done.stderr}")
    return out


def run_python(code: str, env: dict | None = None, cwd: str | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (env replaces os.environ when given)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def xor() -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    return x, y


@pytest.fixture
def blobs(rng) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated classes in 4-D: 90 rows, labels 0..2."""
    centers = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], dtype=np.float64)
    labels = np.repeat(np.arange(3), 30)
    x = centers[labels] + rng.normal(scale=0.5, size=(90, 4))
    return x, labels


@pytest.fixture
def record_calls(monkeypatch):
    """Wraps library functions to record their arguments: record('smlp_predict')
    returns the list that fills with each call's argument tuple."""
    lib = swiftmlp._lib

    def record(name: str) -> list:
        calls: list = []
        real = getattr(lib, name)

        def wrapper(*args):
            calls.append(args)
            return real(*args)

        monkeypatch.setattr(lib, name, wrapper)
        return calls

    return record
