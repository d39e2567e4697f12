"""scikit-learn's MLPClassifier / MLPRegressor into a Network (swiftmlp.interop.from_sklearn).

Tolerance: 1e-12 relative to max(1, |a|, |b|), in float64. scikit-learn's forward
pass (``_forward_pass_fast``) is NumPy's matmul on the same coefs_ (OpenBLAS dgemm,
possibly blocked differently), then scipy's expit / np.tanh / np.maximum and a
max-shifted softmax; swiftmlp computes the same functions on the same float64
values, so the two differ by a few ulps (1.1e-16) of terms of size ~1 per layer.
Measured at most 4.4e-16 here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn not installed (scripts/bootstrap.sh python)")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from swiftmlp.interop import InteropError, from_sklearn  # noqa: E402

TOLERANCE = 1e-12


def assert_close(got, expected, tolerance=TOLERANCE):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    worst = float(np.max(np.abs(got - expected) / np.maximum(1, np.maximum(np.abs(got), np.abs(expected)))))
    assert worst <= tolerance, f"largest relative difference {worst:.3g}"


def fitted(estimator, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(x, y)


def data(rng, n=120, d=4):
    x = rng.normal(loc=1.0, scale=2.0, size=(n, d))
    return x, x @ rng.normal(size=d) + 0.5 * np.sin(x[:, 0])


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_multiclass_predict_proba(rng, activation):
    x, score = data(rng)
    y = np.digitize(score, np.quantile(score, [0.33, 0.66]))  # 3 classes
    clf = fitted(MLPClassifier(hidden_layer_sizes=(8, 5), activation=activation, max_iter=60, random_state=0), x, y)
    network = from_sklearn(clf)
    assert network.layer_sizes == (4, 8, 5, 3)
    assert network.loss.name == "SOFTMAX_CROSS_ENTROPY"
    x_test = rng.normal(loc=1.0, scale=2.0, size=(200, 4))
    assert_close(network.predict(x_test), clf.predict_proba(x_test))
    np.testing.assert_array_equal(clf.classes_[network.predict(x_test).argmax(axis=1)], clf.predict(x_test))


@pytest.mark.parametrize("activation", ["logistic", "relu"])
def test_binary_is_one_sigmoid_output(rng, activation):
    x, score = data(rng)
    y = np.where(score > np.median(score), "yes", "no")
    clf = fitted(MLPClassifier(hidden_layer_sizes=(6,), activation=activation, max_iter=60, random_state=1), x, y)
    network = from_sklearn(clf)
    assert network.layer_sizes == (4, 6, 1) and network.loss.name == "BINARY_CROSS_ENTROPY"
    x_test = rng.normal(loc=1.0, scale=2.0, size=(200, 4))
    proba = clf.predict_proba(x_test)
    p = network.predict(x_test)[:, 0]
    assert_close(p, proba[:, 1])
    assert_close(1 - p, proba[:, 0])


def test_multilabel(rng):
    x, score = data(rng)
    y = np.stack([score > 0, score > 1, x[:, 1] > 0], axis=1).astype(int)
    clf = fitted(MLPClassifier(hidden_layer_sizes=(7,), activation="tanh", max_iter=60, random_state=2), x, y)
    network = from_sklearn(clf)
    assert network.activations[-1].name == "SIGMOID" and network.n_outputs == 3
    x_test = rng.normal(size=(100, 4))
    assert_close(network.predict(x_test), clf.predict_proba(x_test))


@pytest.mark.parametrize("n_targets", [1, 2])
def test_regressor(rng, n_targets):
    x, score = data(rng)
    y = score if n_targets == 1 else np.stack([score, -2 * score + 1], axis=1)
    reg = fitted(MLPRegressor(hidden_layer_sizes=(9, 4), activation="relu", max_iter=80, random_state=3), x, y)
    network = from_sklearn(reg)
    assert network.loss.name == "MSE" and network.activations[-1].name == "IDENTITY"
    x_test = rng.normal(loc=1.0, scale=2.0, size=(150, 4))
    expected = reg.predict(x_test).reshape(150, n_targets)
    assert_close(network.predict(x_test), expected)


def test_pipeline_with_standard_scaler_becomes_the_scaler(rng):
    x, score = data(rng)
    y = (score > 0).astype(int) + (score > 2)
    pipe = fitted(make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(6,), max_iter=60,
                                                                   random_state=4)), x, y)
    network = from_sklearn(pipe)
    mean, std = network.scaler
    np.testing.assert_array_equal(mean, pipe[0].mean_)
    np.testing.assert_array_equal(std, pipe[0].scale_)
    x_test = rng.normal(loc=1.0, scale=2.0, size=(100, 4))
    assert_close(network.predict(x_test), pipe.predict_proba(x_test))


def test_float32(rng):
    x, score = data(rng)
    reg = fitted(MLPRegressor(hidden_layer_sizes=(5,), max_iter=30, random_state=5), x, score)
    network = from_sklearn(reg, dtype="float32")
    assert network.dtype == np.float32
    x_test = rng.normal(size=(50, 4))
    # float32 weights and arithmetic: a few float32 ulps (6e-8) per layer.
    assert_close(network.predict(x_test), reg.predict(x_test).reshape(-1, 1), 1e-5)


def test_refusals(rng):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MinMaxScaler
    x, score = data(rng)
    with pytest.raises(InteropError, match="not fitted"):
        from_sklearn(MLPClassifier())
    with pytest.raises(InteropError, match="LogisticRegression"):
        from_sklearn(LogisticRegression().fit(x, score > 0))
    pipe = fitted(make_pipeline(MinMaxScaler(), MLPRegressor(hidden_layer_sizes=(3,), max_iter=5)), x, score)
    with pytest.raises(InteropError, match="MinMaxScaler"):
        from_sklearn(pipe)
    try:  # scikit-learn >= 1.7: a Poisson regressor's output is exp, which swiftmlp lacks
        poisson = fitted(MLPRegressor(loss="poisson", hidden_layer_sizes=(3,), max_iter=5), x, np.abs(score))
    except (TypeError, ValueError):
        return
    with pytest.raises(InteropError, match="'exp'"):
        from_sklearn(poisson)
