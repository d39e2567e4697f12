"""`pip install ./bindings/python` bundles the library. The custom build command
(setup.py's build_py) is run here with SWIFTMLP_BUNDLE_LIBRARY pointing at the tested
library instead of running make; the result imports from another folder with no
SWIFTMLP_LIBRARY set."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from conftest import BINDING_ROOT, library_path, run_python

CHECK = ("import swiftmlp, numpy as np\n"
         "print(swiftmlp.library_path)\n"
         "n = swiftmlp.Network([2, 3, 1], 'tanh', seed=1)\n"
         "print(n.predict(np.zeros((1, 2))).shape)\n")


def import_from(folder, cwd) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SWIFTMLP_LIBRARY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(folder)
    done = run_python(CHECK, env=env, cwd=str(cwd))
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_build_command_bundles_the_library(tmp_path):
    pytest.importorskip("setuptools")
    env = dict(os.environ, SWIFTMLP_BUNDLE_LIBRARY=str(library_path()))
    built = tmp_path / "b" / "lib"
    done = subprocess.run([sys.executable, "setup.py", "-q", "build", "--build-base", str(tmp_path / "b"),
                           "--build-lib", str(built)],
                          cwd=str(BINDING_ROOT), capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    bundled = built / "swiftmlp" / "_lib" / "libswiftmlp.so.0"
    assert bundled.read_bytes() == open(library_path(), "rb").read()
    assert (built / "swiftmlp" / "py.typed").exists()
    lines = import_from(built, tmp_path)
    assert lines == [str(bundled), "(1, 1)"]


def test_build_without_a_makefile_explains(tmp_path):
    pytest.importorskip("setuptools")
    import shutil
    copy = tmp_path / "a" / "b" / "python"
    shutil.copytree(BINDING_ROOT, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__",
                                                                      ".pytest_cache", "tests"))
    env = {k: v for k, v in os.environ.items() if k != "SWIFTMLP_BUNDLE_LIBRARY"}
    done = subprocess.run([sys.executable, "setup.py", "-q", "build", "--build-base", str(tmp_path / "b")],
                          cwd=str(copy), capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode != 0
    assert "no Makefile at" in done.stderr + done.stdout
    # With a built library named, the copy builds: the version comes from the library.
    env["SWIFTMLP_BUNDLE_LIBRARY"] = str(library_path())
    built = tmp_path / "c" / "lib"
    done = subprocess.run([sys.executable, "setup.py", "-q", "build", "--build-base", str(tmp_path / "c"),
                           "--build-lib", str(built)],
                          cwd=str(copy), capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    import swiftmlp
    major, minor, patch = swiftmlp.version_string().split(".")[:3]
    assert f"MAJOR, MINOR, PATCH = {major}, {minor}, {patch}" in (built / "swiftmlp" / "_build_version.py").read_text()
    assert import_from(built, tmp_path)[1] == "(1, 1)"


def _can_build_wheel_offline() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    version = tuple(int(part) for part in setuptools.__version__.split(".")[:2])
    if version >= (70, 1):
        return True
    try:
        import wheel  # noqa: F401
    except ImportError:
        return False
    return version >= (64, 0)


def test_wheel_is_a_platform_wheel_with_the_library(tmp_path):
    if not _can_build_wheel_offline():
        pytest.skip("needs setuptools >= 70.1 or the wheel package to build without the network")
    env = dict(os.environ, SWIFTMLP_BUNDLE_LIBRARY=str(library_path()), PIP_NO_INDEX="1")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "wheels"), str(BINDING_ROOT)],
        capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stderr
    wheels = list((tmp_path / "wheels").glob("swiftmlp-*.whl"))
    assert len(wheels) == 1
    assert "none-any" not in wheels[0].name  # it carries a native library
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "swiftmlp/_lib/libswiftmlp.so.0" in names and "swiftmlp/_capi.py" in names
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
         str(tmp_path / "site"), str(wheels[0])], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    lines = import_from(tmp_path / "site", tmp_path)
    assert lines == [str(tmp_path / "site" / "swiftmlp" / "_lib" / "libswiftmlp.so.0"), "(1, 1)"]
