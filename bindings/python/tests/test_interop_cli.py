"""``python -m swiftmlp convert IN OUT``: every input and output extension, and the
errors (exit status 1 with the reason, 2 for usage)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import BINDING_ROOT, REPO_ROOT, library_path
from swiftmlp import Network


def convert(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SWIFTMLP_LIBRARY=str(library_path()), PYTHONPATH=str(BINDING_ROOT))
    return subprocess.run([sys.executable, "-m", "swiftmlp", "convert", *args], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture
def model(tmp_path, rng):
    network = Network([3, 5, 2], ["tanh", "sigmoid"], loss="binary_cross_entropy", seed=6)
    network.fit_scaler(rng.normal(loc=2, size=(20, 3)))
    network.save(tmp_path / "m.smlp")
    return network


def test_smlp_onnx_smlp(tmp_path, rng, model):
    pytest.importorskip("onnx")
    done = convert(str(tmp_path / "m.smlp"), str(tmp_path / "m.onnx"))
    assert done.returncode == 0, done.stderr
    assert "m.smlp -> " in done.stdout
    done = convert(str(tmp_path / "m.onnx"), str(tmp_path / "back.smlp"))
    assert done.returncode == 0, done.stderr
    back = Network.load(tmp_path / "back.smlp")
    np.testing.assert_array_equal(back.params, model.params)
    np.testing.assert_array_equal(back.scaler[0], model.scaler[0])
    assert back.loss == model.loss
    done = convert(str(tmp_path / "m.onnx"), str(tmp_path / "f.smlp"), "--dtype", "float32")
    assert done.returncode == 0, done.stderr
    assert Network.load(tmp_path / "f.smlp").dtype == np.float32


def test_fann_in_and_out(tmp_path, rng, model):
    done = convert(str(REPO_ROOT / "examples" / "data" / "xor_fann.net"), str(tmp_path / "xor.smlp"))
    assert done.returncode == 0, done.stderr
    assert Network.load(tmp_path / "xor.smlp").layer_sizes == (2, 3, 1)
    done = convert(str(tmp_path / "m.smlp"), str(tmp_path / "m.net"))
    assert done.returncode == 0, done.stderr
    done = convert(str(tmp_path / "m.net"), str(tmp_path / "from_net.smlp"), "--dtype", "float32")
    assert done.returncode == 0, done.stderr
    back = Network.load(tmp_path / "from_net.smlp")
    x = rng.normal(loc=2, size=(30, 3))
    # float32 weights (the scaler folded into the first layer): a few float ulps.
    np.testing.assert_allclose(back.predict(x.astype(np.float32)), model.predict(x), atol=1e-5)


def test_c_output(tmp_path, model):
    done = convert(str(tmp_path / "m.smlp"), str(tmp_path / "m.c"), "--prefix", "tiny")
    assert done.returncode == 0, done.stderr
    assert "void tiny_predict(const double *x, double *out)" in (tmp_path / "m.c").read_text()


def test_errors(tmp_path, model):
    done = convert(str(tmp_path / "m.smlp"), str(tmp_path / "m.pt"))
    assert done.returncode == 1 and "extension must be one of" in done.stderr
    done = convert(str(tmp_path / "m.c"), str(tmp_path / "m.smlp"))
    assert done.returncode == 1 and "cannot read" in done.stderr
    done = convert(str(tmp_path / "missing.smlp"), str(tmp_path / "m.onnx"))
    assert done.returncode == 1 and "missing.smlp" in done.stderr
    softmax = Network([2, 3], ["softmax"], loss="softmax_cross_entropy")
    softmax.save(tmp_path / "s.smlp")
    done = convert(str(tmp_path / "s.smlp"), str(tmp_path / "s.net"))
    assert done.returncode == 1 and "softmax, which FANN does not have" in done.stderr
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf at all \xff\xff")
    done = convert(str(tmp_path / "junk.onnx"), str(tmp_path / "j.smlp"))
    assert done.returncode == 1 and "junk.onnx" in done.stderr, done.stderr
    done = convert(str(tmp_path / "m.smlp"))
    assert done.returncode == 2


def run_example(name: str, folder) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SWIFTMLP_LIBRARY"] = str(library_path())
    return subprocess.run([sys.executable, str(REPO_ROOT / "examples" / "python" / name), str(folder)],
                          capture_output=True, text=True, cwd=str(REPO_ROOT), env=env, timeout=300)


def test_import_models_example(tmp_path):
    done = run_example("import_models.py", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    # libfann's tanh is the C library's; swiftmlp's own vectorised tanh is within 4 ulp
    # of it (VectorHyperbolicTangent.swift), which at outputs below 1 is < 5e-16, and
    # the output layer's tanh of a sum of such hidden values at most doubles that.
    difference = float(done.stdout.split("largest difference from libfann's fann_run: ")[1].split()[0])
    assert difference <= 1e-15, done.stdout
    assert Network.load(tmp_path / "xor_fann.smlp").layer_sizes == (2, 3, 1)


def test_export_models_example(tmp_path):
    done = run_example("export_models.py", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "spirals.net").exists() and (tmp_path / "spirals.c").exists()
    if "ONNX: wrote" in done.stdout:
        assert (tmp_path / "spirals.onnx").exists()
