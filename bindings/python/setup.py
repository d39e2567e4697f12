"""Builds libswiftmlp with the repository's Makefile and bundles it in the package.

`pip install ./bindings/python` (from the repository root) runs the custom build_py
below: `make -C <repository root> library`, then a copy of
build/lib/libswiftmlp.so.0 goes to swiftmlp/_lib/ inside the built package, where
swiftmlp._loader finds it. Everything else is in pyproject.toml.

Environment:
  SWIFTMLP_BUNDLE_LIBRARY=/path/libswiftmlp.so.0  bundle this file instead of running make
  MAKE=gmake                                      the make program to run
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
SONAME = "libswiftmlp.so.0"


def built_library() -> Path:
    """Builds the library (unless told which file to bundle) and returns its path."""
    explicit = os.environ.get("SWIFTMLP_BUNDLE_LIBRARY")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SystemExit(f"SWIFTMLP_BUNDLE_LIBRARY={explicit}: no such file")
        return path
    makefile = REPO_ROOT / "Makefile"
    if not makefile.is_file():
        raise SystemExit(
            f"swiftmlp: cannot build libswiftmlp: no Makefile at {makefile}. Install from a "
            "swiftmlp checkout (pip install ./bindings/python), or set "
            "SWIFTMLP_BUNDLE_LIBRARY to a built libswiftmlp.so.0.")
    make = os.environ.get("MAKE", "make")
    print(f"swiftmlp: running {make} -C {REPO_ROOT} library", flush=True)
    subprocess.run([make, "-C", str(REPO_ROOT), "library"], check=True)
    path = REPO_ROOT / "build" / "lib" / SONAME
    if not path.exists():
        raise SystemExit(f"swiftmlp: make library did not produce {path}")
    return path


class BuildWithLibrary(build_py):
    """build_py that also builds libswiftmlp and copies it into swiftmlp/_lib/."""

    def run(self) -> None:
        super().run()
        source = built_library().resolve()  # the real file, not the symlink
        targets = [Path(self.build_lib) / "swiftmlp" / "_lib"]
        if getattr(self, "editable_mode", False):  # pip install -e: next to the sources
            targets = [HERE / "swiftmlp" / "_lib"]
        for target in targets:
            target.mkdir(parents=True, exist_ok=True)
            destination = target / SONAME
            shutil.copyfile(source, destination)
            os.chmod(destination, 0o755)
            print(f"swiftmlp: bundled {source} as {destination}", flush=True)

    def get_outputs(self, include_bytecode: bool = True) -> list:
        outputs = super().get_outputs(include_bytecode)
        return outputs + [str(Path(self.build_lib) / "swiftmlp" / "_lib" / SONAME)]


class BinaryDistribution(Distribution):
    """The wheel carries a native library, so it is platform-specific."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
