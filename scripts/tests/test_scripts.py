"""Tests for the NumPy reference and the comparison scripts in scripts/.

    python3 -m pytest -q scripts/tests          (about 30 s)

The library is build/lib/libswiftmlp.so.0 of this checkout (`make library`) or the file
$SWIFTMLP_LIBRARY names; the tests that need it fail with that message when it is
missing. JAX is optional (compare_numpy.py skips its JAX part without it);
scikit-learn is used by classic_tutorial.py when installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCRIPTS))

import numpy_reference as ref  # noqa: E402


def run_script(name, *args, timeout=120):
    """Runs scripts/<name> with this interpreter; returns the CompletedProcess."""
    done = subprocess.run([sys.executable, str(SCRIPTS / name), *args], capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())
    if done.returncode != 0:
        print(done.stdout[-6000:])
        print(done.stderr[-3000:], file=sys.stderr)
    return done


@pytest.fixture(scope="module")
def compare():
    """The compare_numpy module with the library loaded."""
    import compare_numpy
    try:
        compare_numpy.load_library()
    except (OSError, FileNotFoundError) as error:
        pytest.fail(f"libswiftmlp is needed: {error}")
    return compare_numpy


# ---- numpy_reference.py on its own -----------------------------------------------------

def test_reference_self_checks_pass():
    """PRNG test vectors, every gradient vs central differences, batch identity,
    hand-computed optimizer steps."""
    assert ref.self_check(verbose=False) == []


def test_reference_gradient_check_catches_a_wrong_derivative(monkeypatch):
    """The self-check's finite differences are sharp enough to see a wrong f'."""
    original = ref.activation_backward

    def wrong(name, dA, A, slope=0.01):
        if name == "tanh":
            return dA * (1 - A)                 # should be 1 - A^2
        return original(name, dA, A, slope)

    monkeypatch.setattr(ref, "activation_backward", wrong)
    arch = ref.Architecture((3, 5, 2), ("tanh", "identity"), "mse", "mean")
    assert ref.check_gradients(arch, np.random.default_rng(0)) > 1e-2


def test_reference_as_a_script_exits_zero():
    done = run_script("numpy_reference.py")
    assert done.returncode == 0
    assert "all self-checks passed" in done.stdout


# ---- the reference against the library, directly ------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("init", ["auto", "glorot", "he"])
def test_initial_weights_are_bit_identical(compare, dtype, init):
    for seed in (0, 1, 42, 2**64 - 1, 123456789):
        arch = ref.Architecture((5, 4, 3, 2), ("relu", "tanh", "softmax"), "softmax_ce")
        with compare.LibraryModel(arch, dtype, seed=seed, init=init) as model:
            ours = ref.initial_params(arch.sizes, arch.activations, seed, init, dtype)
            assert model.params.tobytes() == ours.tobytes(), (seed, init)
            assert [model.layer_info(l) for l in range(3)] == ref.layer_offsets(arch.sizes)


def test_layer_caches_match_the_reference(compare):
    """Z, A and dZ of every layer (smlp_get_layer_cache) vs the reference's."""
    rng = np.random.default_rng(5)
    arch = ref.Architecture((4, 6, 5, 3), ("leaky_relu", "sigmoid", "softmax"), "softmax_ce",
                            "mean", leaky_relu_slope=0.1)
    X = rng.normal(size=(7, 4))
    labels = rng.integers(0, 3, size=7).astype(np.int32)
    with compare.LibraryModel(arch, np.float64, seed=3) as model:
        params = model.params
        lib_loss, lib_grad = model.gradients(X, labels=labels)
        loss, grad, layers = ref.loss_and_gradients(params, arch, X, labels=labels)
        assert ref.relative_error(lib_loss, loss) < 1e-13
        assert ref.blockwise_relative_error(lib_grad, grad, arch.sizes) < 1e-12
        for l, layer in enumerate(layers):
            for kind in ("Z", "A", "dZ"):
                assert ref.relative_error(model.layer_cache(l, kind, 7), layer[kind]) < 1e-12


# ---- compare_numpy.py ---------------------------------------------------------------------

def test_compare_quick_passes():
    done = run_script("compare_numpy.py", "--quick")
    assert done.returncode == 0
    assert "36 of 36 combinations within tolerance" in done.stdout


@pytest.mark.parametrize("mutation", ["adam_bias_correction", "bias_decay", "bias_mean",
                                      "clip_without_epsilon"])
def test_compare_detects_a_planted_error(compare, monkeypatch, mutation):
    """The comparison's tolerances tell errors from rounding: a reference with a known
    mistake fails the rows that exercise it."""
    row = {
        "adam_bias_correction": ("tanh", "ce/labels", "mean", "adam", "f64"),
        "bias_decay": ("sigmoid", "mse/identity", "mean", "sgd+nesterov+wd+clip", "f32"),
        "bias_mean": ("relu", "bce", "sum", "sgd", "f64"),
        "clip_without_epsilon": ("tanh", "mse/identity", "mean", "sgd+nesterov+wd+clip", "f64"),
    }[mutation]
    if mutation == "adam_bias_correction":        # step count off by one: corrections
        original_step = ref.Optimizer.step         # use t + 1 from the first step on

        def step(self, params, grad, epoch=0):
            if self.t == 0:
                self.t = 1
            return original_step(self, params, grad, epoch)
        monkeypatch.setattr(ref.Optimizer, "step", step)
    elif mutation == "bias_decay":                # weight decay on the biases too
        original_init = ref.Optimizer.__init__

        def init(self, config, sizes, dtype=np.float64):
            original_init(self, ref.replace(config, decay_biases=True), sizes, dtype)
        monkeypatch.setattr(ref.Optimizer, "__init__", init)
    elif mutation == "bias_mean":                 # db = dZ.mean(axis=0)
        def backward_dense(A_prev, dZ, W, need_dA_prev=True):
            return A_prev.T @ dZ, dZ.mean(axis=0), (dZ @ W.T if need_dA_prev else None)
        monkeypatch.setattr(ref, "backward_dense", backward_dense)
    else:                                         # c / norm instead of c / (norm + 1e-6)
        def clip_scale(grad, clip_norm):
            norm = float(np.sqrt(np.sum(grad.astype(np.float64) ** 2)))
            return min(1.0, clip_norm / norm) if clip_norm > 0 else 1.0
        monkeypatch.setattr(ref, "clip_scale", clip_scale)
    result = compare.run_combination(*row, steps=30, seed=11)
    assert not result["ok"], result


def test_compare_quick_grid_covers_every_level(compare):
    grid = compare.quick_grid()
    for index, levels in enumerate((compare.HIDDEN, compare.LOSS_VARIANTS, compare.REDUCTIONS,
                                    compare.OPTIMIZER_NAMES, compare.DTYPE_NAMES)):
        assert {row[index] for row in grid} == set(levels)


# ---- backprop_mistakes.py -----------------------------------------------------------------

def test_backprop_mistakes_are_all_caught():
    done = run_script("backprop_mistakes.py")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    verdicts = {line.split()[0]: line for line in lines if line[:2].strip() in
                ("1", "1b", "2", "3", "4", "4b")}
    assert set(verdicts) == {"1", "1b", "2", "3", "4", "4b"}
    assert all(("FAILS" in line or "SHAPE ERROR" in line) for line in verdicts.values())
    assert any(line.startswith("correct") and "passes" in line for line in lines)
    assert "every mistake is caught" in done.stdout


# ---- classic_tutorial.py ------------------------------------------------------------------

def test_classic_tutorial_short_run_agrees():
    done = run_script("classic_tutorial.py", "--passes", "2000", "--epochs", "40")
    assert done.returncode == 0
    assert "both parts agree with the library" in done.stdout
