"""FANN .net files in and out: swiftmlp.interop.load_fann (smlp_load_fann) and to_fann.

Where the system's libdoublefann is present (Debian package libfann-dev, which
scripts/bootstrap.sh installs), files go through FANN itself by ctypes:
fann_create_from_file + fann_run against Network.predict, within 1e-12 relative to
max(1, |a|, |b|): both compute f(s * sum w x) in double from the same weights, in
another summation order and with FANN's 2/(1+exp(-2x)) - 1 for tanh, a few ulps
(1.1e-16) per layer. Without libfann those tests skip (Tests/c/test_fann_libfann.sh
is the C-side check, and it fails under CI=true instead of skipping).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import numpy as np
import pytest

from conftest import REPO_ROOT
from swiftmlp import ArgumentError, FormatError, Network, _capi
from swiftmlp.interop import InteropError, load_fann, to_fann


def assert_close(got, expected, tolerance=1e-12):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    worst = float(np.max(np.abs(got - expected) / np.maximum(1, np.maximum(np.abs(got), np.abs(expected)))))
    assert worst <= tolerance, f"largest relative difference {worst:.3g}"


def doublefann():
    name = ctypes.util.find_library("doublefann")
    if name is None:
        pytest.skip("libdoublefann not found (apt-get install libfann-dev); FANN itself not checked")
    lib = ctypes.CDLL(name)
    lib.fann_create_from_file.restype = ctypes.c_void_p
    lib.fann_create_from_file.argtypes = [ctypes.c_char_p]
    lib.fann_run.restype = ctypes.POINTER(ctypes.c_double)
    lib.fann_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)]
    lib.fann_destroy.argtypes = [ctypes.c_void_p]
    return lib


def fann_run_all(lib, path, x: np.ndarray, n_out: int) -> np.ndarray:
    ann = lib.fann_create_from_file(os.fsencode(path))
    assert ann, f"libfann could not read {path}"
    try:
        out = np.empty((x.shape[0], n_out))
        for row in range(x.shape[0]):
            sample = np.ascontiguousarray(x[row], dtype=np.float64)
            result = lib.fann_run(ann, sample.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
            out[row] = result[:n_out]
        return out
    finally:
        lib.fann_destroy(ann)


def test_prototype_matches_the_header():
    from test_capi import expected_ctype, header_prototypes
    restype, params = header_prototypes()["smlp_load_fann"]
    assert restype == "smlp_status"
    assert params == ["const char*", "smlp_dtype", "smlp_model**"]
    declared = _capi.PROTOTYPES["smlp_load_fann"]
    assert declared[0] is ctypes.c_int
    assert list(declared[1]) == [expected_ctype(p) for p in params]


@pytest.mark.parametrize("activations", [["tanh", "sigmoid", "identity"], ["sigmoid", "identity", "tanh"]])
def test_to_fann_runs_in_libfann_and_loads_back(tmp_path, rng, activations):
    """Activations FANN 2.2 (Debian's) knows; relu needs FANN 2.3 (checked below by
    swiftmlp's own reader)."""
    network = Network([4, 6, 5, 2], activations, seed=8)
    network.fit_scaler(rng.normal(loc=1, scale=3, size=(40, 4)))
    path = tmp_path / "model.net"
    to_fann(network, path)
    x = rng.normal(loc=1, scale=3, size=(100, 4))
    back = load_fann(path)
    # The scaler was folded into the first layer: one more rounding per folded weight.
    assert_close(back.predict(x), network.predict(x))
    assert_close(fann_run_all(doublefann(), path, x, 2), network.predict(x))


def test_to_fann_linear_layers_are_not_clamped_below_150_times_2_to_the_20(tmp_path):
    """fann_run clamps steepness * sum to +-150 / steepness: with the steepness to_fann
    gives linear layers, a linear output follows z up to 150 * 2^20 (it was clamped
    at 153,600 = 150 * 2^10)."""
    network = Network([1, 1], ["identity"])
    network.params = np.array([1.0, 0.0])
    to_fann(network, tmp_path / "line.net")
    x = np.array([[2e5], [-1e8], [1.5e8]])
    np.testing.assert_array_equal(fann_run_all(doublefann(), tmp_path / "line.net", x, 1), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_without_scaler_is_exact(tmp_path, rng, dtype):
    network = Network([3, 5, 4, 2], ["relu", "leaky_relu", "tanh"], seed=5, dtype=dtype)
    to_fann(network, tmp_path / "m.net")
    back = load_fann(tmp_path / "m.net", dtype=dtype)
    assert back.dtype == np.dtype(dtype) and back.activations == network.activations
    assert back.leaky_relu_slope == 0.01
    # Every steepness factor is a power of two and %.20e round-trips a double.
    np.testing.assert_array_equal(back.params, network.params)


def test_load_fann_reads_libfanns_xor():
    """examples/data/xor_fann.net: FANN's XOR network as libdoublefann 2.2 trained
    and saved it; the outputs are what its fann_run printed then."""
    network = load_fann(REPO_ROOT / "examples" / "data" / "xor_fann.net")
    assert network.layer_sizes == (2, 3, 1)
    assert [a.name for a in network.activations] == ["TANH", "TANH"]
    out = network.predict(np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]))
    assert_close(out[:, 0], [-0.93815161108049705, 0.96676216098216283, 0.96657989772585218,
                             -0.93481828353016327])


def test_load_fann_errors(tmp_path):
    with pytest.raises(OSError):
        load_fann(tmp_path / "missing.net")
    bad = tmp_path / "bad.net"
    bad.write_text("FANN_FLO_2.1\nnum_layers=2\nnetwork_type=1\n")
    with pytest.raises(ArgumentError, match="line 3: network_type=1"):
        load_fann(bad)
    bad.write_text("hello\n")
    with pytest.raises(FormatError, match="line 1"):
        load_fann(bad)
    with pytest.raises(ValueError, match="dtype"):
        load_fann(bad, dtype="int32")


def test_to_fann_refusals(tmp_path):
    with pytest.raises(InteropError, match="softmax"):
        to_fann(Network([2, 3], ["softmax"], loss="softmax_cross_entropy"), tmp_path / "x.net")
    with pytest.raises(InteropError, match="slope 0.2"):
        to_fann(Network([2, 3, 1], ["leaky_relu", "identity"], leaky_relu_slope=0.2), tmp_path / "x.net")
