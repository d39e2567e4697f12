"""Where the library is looked for, and the ImportError for a missing or
mismatched one. Each case imports swiftmlp in a fresh interpreter."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import BINDING_ROOT, compile_c, library_path, run_python
import swiftmlp
from swiftmlp import _capi, _loader

IMPORT = "import swiftmlp, sys; print(swiftmlp.library_path); print(swiftmlp.version_string())"


def clean_env(**extra: str) -> dict:
    """The environment without SWIFTMLP_LIBRARY, with the source tree importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("SWIFTMLP_LIBRARY", "PKG_CONFIG_PATH",
                                                          "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(BINDING_ROOT)
    env.update(extra)
    return env


def package_copy(tmp_path: Path, bundle: str | None) -> Path:
    """A copy of the package in tmp_path/pkg, with `bundle` as its bundled library."""
    target = tmp_path / "pkg"
    shutil.copytree(BINDING_ROOT / "swiftmlp", target / "swiftmlp",
                    ignore=shutil.ignore_patterns("__pycache__", "_lib"))
    if bundle:
        (target / "swiftmlp" / "_lib").mkdir()
        shutil.copyfile(bundle, target / "swiftmlp" / "_lib" / "libswiftmlp.so.0")
    return target


def test_explicit_library_is_used():
    assert Path(swiftmlp.library_path).resolve() == Path(os.environ["SWIFTMLP_LIBRARY"]).resolve()
    assert swiftmlp.version() // 10000 == 0
    assert swiftmlp.version() % 10000 // 100 >= 1
    assert swiftmlp.version_string() == "%d.%d.%d" % (swiftmlp.version() // 10000,
                                                      swiftmlp.version() // 100 % 100,
                                                      swiftmlp.version() % 100)


def test_candidate_order():
    only = _loader.candidates({"SWIFTMLP_LIBRARY": "/x/libswiftmlp.so.0"})
    assert only == [("SWIFTMLP_LIBRARY=/x/libswiftmlp.so.0", "/x/libswiftmlp.so.0")]
    origins = [origin for origin, _ in _loader.candidates({})]
    assert origins[0].startswith("bundled copy")
    assert "find_library" in origins[1]
    assert "pkg-config" in origins[2]


def test_missing_explicit_library_raises_import_error(tmp_path):
    missing = tmp_path / "nowhere" / "libswiftmlp.so.0"
    done = run_python(IMPORT, env=clean_env(SWIFTMLP_LIBRARY=str(missing)), cwd=str(tmp_path))
    assert done.returncode != 0
    assert "ImportError" in done.stderr
    assert f"SWIFTMLP_LIBRARY={missing}: no such file" in done.stderr
    assert "make library" in done.stderr and "pip install ./bindings/python" in done.stderr


def test_nothing_found_lists_every_place(tmp_path):
    package = package_copy(tmp_path, bundle=None)
    env = clean_env(PYTHONPATH=str(package), PKG_CONFIG_PATH=str(tmp_path / "empty"))
    done = run_python(IMPORT, env=env, cwd=str(tmp_path))
    if done.returncode == 0:
        pytest.skip(f"a system copy of libswiftmlp is installed: {done.stdout.strip()}")
    message = done.stderr
    assert "ImportError: swiftmlp: no usable libswiftmlp" in message
    assert "bundled copy" in message and "no such file" in message
    assert "find_library('swiftmlp')" in message
    assert "pkg-config" in message


def test_bundled_copy_is_found(tmp_path):
    package = package_copy(tmp_path, bundle=library_path())
    done = run_python(IMPORT, env=clean_env(PYTHONPATH=str(package)), cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == str(package / "swiftmlp" / "_lib" / "libswiftmlp.so.0")


def test_explicit_library_wins_over_the_bundled_copy(tmp_path):
    package = package_copy(tmp_path, bundle=library_path())
    other = tmp_path / "other" / "libswiftmlp.so.0"
    other.parent.mkdir()
    shutil.copyfile(library_path(), other)
    env = clean_env(PYTHONPATH=str(package), SWIFTMLP_LIBRARY=str(other))
    done = run_python(IMPORT, env=env, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == str(other)


def test_system_copy_through_pkg_config(tmp_path):
    if shutil.which("pkg-config") is None:
        pytest.skip("no pkg-config")
    prefix = tmp_path / "prefix"
    (prefix / "lib" / "pkgconfig").mkdir(parents=True)
    shutil.copyfile(library_path(), prefix / "lib" / "libswiftmlp.so.0")
    (prefix / "lib" / "pkgconfig" / "swiftmlp.pc").write_text(
        f"prefix={prefix}\nlibdir=${{prefix}}/lib\nincludedir=${{prefix}}/include\n\n"
        "Name: swiftmlp\nDescription: test\nVersion: 0.1.0\nLibs: -L${libdir} -lswiftmlp\n")
    package = package_copy(tmp_path, bundle=None)
    env = clean_env(PYTHONPATH=str(package), PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    done = run_python(IMPORT, env=env, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    if lines[0] != str(prefix / "lib" / "libswiftmlp.so.0"):
        # the dynamic linker already knows a system copy, which comes first
        assert "libswiftmlp" in lines[0]


FAKE = r"""
unsigned smlp_version(void) { return %d; }
"""


def fake_library(cc: str, tmp_path: Path, version: int, name: str) -> Path:
    return compile_c(cc, FAKE % version, tmp_path / name, link_library=False, shared=True)


@pytest.mark.parametrize("version, expected", [
    (10000, "it is version 1.0.0, but this binding needs major version 0"),
    (0, "it is version 0.0.0, older than the 0.1 this binding needs"),
    # Every prototype but smlp_version, which the fake exports.
    (100, f"does not export {len(_capi.PROTOTYPES) - 1} function(s) of the header: smlp_version_string"),
])
def test_mismatched_library_raises_import_error(cc, tmp_path, version, expected):
    fake = fake_library(cc, tmp_path, version, f"libfake{version}.so")
    done = run_python(IMPORT, env=clean_env(SWIFTMLP_LIBRARY=str(fake)), cwd=str(tmp_path))
    assert done.returncode != 0
    assert "ImportError" in done.stderr
    assert expected in done.stderr, done.stderr


def test_not_a_swiftmlp_library(tmp_path):
    libm = "/lib/x86_64-linux-gnu/libm.so.6"
    if not os.path.exists(libm):
        pytest.skip("no libm at the usual place")
    done = run_python(IMPORT, env=clean_env(SWIFTMLP_LIBRARY=libm), cwd=str(tmp_path))
    assert done.returncode != 0
    assert "it does not export smlp_version: not libswiftmlp" in done.stderr


def test_not_a_shared_library(tmp_path):
    junk = tmp_path / "libswiftmlp.so.0"
    junk.write_text("not an ELF file")
    done = run_python(IMPORT, env=clean_env(SWIFTMLP_LIBRARY=str(junk)), cwd=str(tmp_path))
    assert done.returncode != 0
    assert "cannot be loaded" in done.stderr
