"""Builds libswiftmlp with the repository's Makefile and bundles it in the package.

`pip install ./bindings/python` (from the repository root) runs the custom build_py
below: `make -C <repository root> library`, then a copy of
build/lib/libswiftmlp.so.0 goes to swiftmlp/_lib/ inside the built package, where
swiftmlp._loader finds it. The version is the header's (include/swiftmlp.h), written
into the package as swiftmlp/_build_version.py. Everything else is in pyproject.toml.

The wheel is tagged py3-none-<platform>: the package is pure Python over ctypes, so one
wheel serves every Python 3 on that platform. `make wheel` builds it and repairs it into
a manylinux wheel with auditwheel (docs/install.md).

pip shows a build's output only with -v; the Swift build takes a minute or more, so its
progress also goes to the terminal (/dev/tty) when there is one.

Environment:
  SWIFTMLP_BUNDLE_LIBRARY=/path/libswiftmlp.so.0  bundle this file instead of running make
  SWIFTMLP_BUNDLE_LICENSES=name=/path:...          licence texts to ship as
                                                  swiftmlp/_licenses/<name>.txt (make wheel:
                                                  those of the libraries auditwheel vendors)
  MAKE=gmake                                      the make program to run
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1: the wheel package's
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
SONAME = "libswiftmlp.so.0"


def no_checkout(what: str) -> SystemExit:
    return SystemExit(
        f"swiftmlp: cannot build libswiftmlp: no {what}. Install from a swiftmlp checkout "
        "(pip install ./bindings/python), install a built wheel (make wheel; docs/install.md), "
        "or set SWIFTMLP_BUNDLE_LIBRARY to a built libswiftmlp.so.0.")


def header_version() -> tuple:
    """(MAJOR, MINOR, PATCH) from include/swiftmlp.h, through swiftmlp/_version.py; outside
    a checkout, from the library SWIFTMLP_BUNDLE_LIBRARY names (smlp_version())."""
    header = REPO_ROOT / "include" / "swiftmlp.h"
    bundled = os.environ.get("SWIFTMLP_BUNDLE_LIBRARY")
    if not header.is_file() and bundled and Path(bundled).is_file():
        import ctypes
        number = ctypes.CDLL(str(Path(bundled).resolve())).smlp_version
        number.restype = ctypes.c_uint
        version = number()
        return version // 10000, version // 100 % 100, version % 100
    if not header.is_file():
        raise no_checkout(f"Makefile at {REPO_ROOT / 'Makefile'} nor header at {header}")
    spec = importlib.util.spec_from_file_location("swiftmlp_version", HERE / "swiftmlp" / "_version.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.read_header(header)


class Progress:
    """Lines for the user while pip hides the build's output: the terminal if any."""

    def __init__(self) -> None:
        self.tty = None
        if not sys.stdout.isatty():  # under pip: write to the terminal directly
            try:
                self.tty = open("/dev/tty", "w")
            except OSError:
                self.tty = None

    def say(self, line: str) -> None:
        print(line, flush=True)
        if self.tty:
            self.tty.write(line + "\n")
            self.tty.flush()


def built_library(progress: Progress) -> Path:
    """Builds the library (unless told which file to bundle) and returns its path."""
    explicit = os.environ.get("SWIFTMLP_BUNDLE_LIBRARY")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SystemExit(f"SWIFTMLP_BUNDLE_LIBRARY={explicit}: no such file")
        return path
    makefile = REPO_ROOT / "Makefile"
    if not makefile.is_file():
        raise no_checkout(f"Makefile at {makefile}")
    make = os.environ.get("MAKE", "make")
    progress.say(f"swiftmlp: building libswiftmlp: {make} -C {REPO_ROOT} library "
                 "(a Swift release build, about a minute the first time)")
    # Each line of make's output goes to pip's log, and the Swift build's progress lines
    # ("[3/7] Compiling ...") to the terminal too.
    process = subprocess.Popen([make, "-C", str(REPO_ROOT), "library"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    for line in process.stdout:
        line = line.rstrip("\n")
        print(line, flush=True)
        if progress.tty and (line.startswith("[") or line.startswith("Build ") or "error" in line):
            progress.tty.write(f"swiftmlp:   {line}\n")
            progress.tty.flush()
    if process.wait() != 0:
        raise SystemExit(f"swiftmlp: {make} -C {REPO_ROOT} library failed (exit {process.returncode}); "
                         "its output is above (pip install -v shows all of it)")
    path = REPO_ROOT / "build" / "lib" / SONAME
    if not path.exists():
        raise SystemExit(f"swiftmlp: make library did not produce {path}")
    return path


def bundled_licenses() -> list:
    """(name, path) of each licence text SWIFTMLP_BUNDLE_LICENSES names."""
    pairs = []
    for item in filter(None, os.environ.get("SWIFTMLP_BUNDLE_LICENSES", "").split(":")):
        name, _, path = item.partition("=")
        if not Path(path).is_file():
            raise SystemExit(f"SWIFTMLP_BUNDLE_LICENSES: {path}: no such file")
        pairs.append((name, path))
    return pairs


class BuildWithLibrary(build_py):
    """build_py that also builds libswiftmlp, copies it into swiftmlp/_lib/ and writes
    swiftmlp/_build_version.py."""

    def run(self) -> None:
        super().run()
        progress = Progress()
        source = built_library(progress).resolve()  # the real file, not the symlink
        targets = [Path(self.build_lib) / "swiftmlp" / "_lib"]
        if getattr(self, "editable_mode", False):  # pip install -e: next to the sources
            targets = [HERE / "swiftmlp" / "_lib"]
        for target in targets:
            target.mkdir(parents=True, exist_ok=True)
            destination = target / SONAME
            shutil.copyfile(source, destination)
            os.chmod(destination, 0o755)
            progress.say(f"swiftmlp: bundled {source} as {destination}")
        for name, text in bundled_licenses():
            target = Path(self.build_lib) / "swiftmlp" / "_licenses"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(text, target / f"{name}.txt")
        if not getattr(self, "editable_mode", False):  # an editable install reads the header
            major, minor, patch = header_version()
            (Path(self.build_lib) / "swiftmlp" / "_build_version.py").write_text(
                '"""Written by setup.py from include/swiftmlp.h (or the bundled library)."""\n'
                f"MAJOR, MINOR, PATCH = {major}, {minor}, {patch}\n")

    def get_outputs(self, include_bytecode: bool = True) -> list:
        outputs = super().get_outputs(include_bytecode)
        package = Path(self.build_lib) / "swiftmlp"
        licenses = [str(package / "_licenses" / f"{name}.txt") for name, _ in bundled_licenses()]
        return outputs + [str(package / "_lib" / SONAME), str(package / "_build_version.py")] + licenses


class PlatformWheel(bdist_wheel):
    """py3-none-<platform>: any Python 3, this platform (the library is native)."""

    def get_tag(self) -> tuple:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class BinaryDistribution(Distribution):
    """The wheel carries a native library, so it is platform-specific."""

    def has_ext_modules(self) -> bool:
        return True


setup(version="%d.%d.%d" % header_version(),
      cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel},
      distclass=BinaryDistribution)
