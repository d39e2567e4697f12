"""The newcomer examples in examples/python run as documented, from the repository
root, with SWIFTMLP_LIBRARY (they find bindings/python by themselves)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, library_path

EXAMPLES = REPO_ROOT / "examples" / "python"


def run_example(name: str, *args: str, cwd=REPO_ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SWIFTMLP_LIBRARY"] = str(library_path())
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                          cwd=str(cwd), env=env, timeout=300)


def test_xor_example():
    done = run_example("xor.py")
    assert done.returncode == 0, done.stderr
    assert "4 of 4 correct" in done.stdout


def test_digits_example(tmp_path):
    pytest.importorskip("sklearn")
    model = tmp_path / "digits.smlp"
    done = run_example("digits.py", str(model))
    assert done.returncode == 0, done.stdout + done.stderr
    accuracy = float(done.stdout.split("test accuracy ")[1].split("%")[0])
    assert accuracy >= 96.0
    from swiftmlp import Network
    network = Network.load(model)
    assert network.layer_sizes == (64, 128, 10) and network.metadata["dataset"] == "sklearn load_digits"


def test_two_moons_example(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    done = run_example("two_moons.py", cwd=tmp_path)  # default output: ./two_moons.png
    assert done.returncode == 0, done.stderr
    png = tmp_path / "two_moons.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000
    assert float(done.stdout.split("test accuracy ")[1].split("%")[0]) > 90


def test_two_moons_without_matplotlib_skips_gracefully(tmp_path):
    pytest.importorskip("sklearn")
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['matplotlib'] = None\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(SWIFTMLP_LIBRARY=str(library_path()), PYTHONPATH=str(blocker))
    done = subprocess.run([sys.executable, str(EXAMPLES / "two_moons.py"), str(tmp_path / "x.png")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "matplotlib, which is not installed" in done.stdout
    assert not (tmp_path / "x.png").exists()


def test_lbfgs_digits_example():
    pytest.importorskip("sklearn")
    done = run_example("lbfgs_digits.py")
    assert done.returncode == 0, done.stdout + done.stderr
    accuracy = float(done.stdout.split("swiftmlp     test accuracy ")[1].split("%")[0])
    assert accuracy >= 95.0
    assert "stopped on gradient_tolerance" in done.stdout
