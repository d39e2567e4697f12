"""Network.train(method="lbfgs"): the summary (n_iter, n_fun, stop_reason,
loss_curve, final_objective), the limits, weight decay as scikit-learn's alpha, and
errors. The comparison with scipy's L-BFGS-B is scripts/tests/test_lbfgs_scipy.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from swiftmlp import Network


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 4)) + labels[:, None] * 0.8
    return x, labels.astype(np.int32)


def network(dtype="float64", alpha=1e-2, n=60):
    net = Network([4, 8, 3], ["tanh", "softmax"], loss="softmax_cross_entropy", dtype=dtype, seed=3)
    net.set_optimizer("sgd", weight_decay=alpha / n)
    return net


def test_runs_to_a_tolerance_and_reports_it():
    x, y = blobs()
    net = network()
    # The iteration limit only has to be out of the way: this run needs about 520
    # iterations (the exact count moves with the last bits of tanh), so 500 was too few.
    summary = net.train(x, y, method="lbfgs", epochs=5000, tol=1e-6)
    assert summary.stop_reason in ("gradient_tolerance", "loss_change")
    assert summary.n_iter < 5000
    assert summary.converged
    assert summary.n_iter == summary.epochs_run == len(summary.loss_curve) == net.epoch
    assert summary.n_fun > summary.n_iter
    # The objective is the mean loss plus alpha/(2n) ||W||^2 (weights only).
    squares = sum(float(np.sum(w.astype(np.float64) ** 2)) for w in (net.weights(0), net.weights(1)))
    assert summary.final_objective - summary.final_train_loss == pytest.approx(0.5 * 1e-2 / 60 * squares, rel=1e-9)
    assert summary.loss_curve[-1] == summary.final_train_loss
    assert net.evaluate(x, y).accuracy > 0.8


def test_limits_and_callback():
    x, y = blobs()
    for budget in (1, 4, 25):
        summary = network().train(x, y, method="lbfgs", epochs=10_000, tol=0, tolerance_change=0, max_fun=budget)
        assert (summary.n_fun, summary.stop_reason) == (budget, "max_function_evals")
        assert not summary.converged
    summary = network().train(x, y, method="lbfgs", epochs=3, tol=0, tolerance_change=0)
    assert (summary.n_iter, summary.stop_reason) == (3, "max_epochs")
    summary = network().train(x, y, method="lbfgs", epochs=100, callback=lambda report: report.epoch >= 2)
    assert (summary.n_iter, summary.stop_reason, summary.stopped_by_callback) == (2, "callback", True)
    # The report's learning_rate is the accepted step length.
    assert all(report.learning_rate > 0 for report in summary.history)


def test_float32_reaches_the_float64_minimum():
    x, y = blobs()
    # alpha 0.1: a minimum float32 can resolve. At 1e-2 the objective has a valley so
    # flat that float32 stopped 4 % above the float64 minimum of its basin (a step along
    # -g lowered F by 7e-9, below float32's resolution of F), and where it stopped, in
    # which basin, moved with the last bits of any sum (2.8 % when the narrow columns'
    # sums went to four parts).
    s64 = network(alpha=0.1).train(x, y, method="lbfgs", epochs=5000, tol=1e-9, tolerance_change=0)
    # float32 runs until its own rounding stops progress (tol 0: a loss change below
    # 2.2e-9 or a line search that can no longer lower F). A gradient tolerance would
    # stop it at a distance from the minimum that depends on the valley's flatness
    # (at tol 1e-4: 6e-4 relative on one path, 4.5e-3 on another).
    s32 = network("float32", alpha=0.1).train(x.astype(np.float32), y, method="lbfgs", epochs=5000, tol=0)
    assert s32.stop_reason in ("loss_change", "line_search_failed")
    # Measured 1.5e-7 and 9.2e-7 relative with the two sum orders: float32's gradients
    # are exact to ~1e-7 relative each, which leaves F about that far from its minimum.
    assert s32.final_objective == pytest.approx(s64.final_objective, rel=1e-4)


def test_minibatch_summary_has_the_new_fields():
    x, y = blobs()
    summary = network().train(x, y, epochs=2, batch_size=16)
    assert summary.n_iter == summary.n_fun == 2 * 4   # ceil(60 / 16) steps an epoch
    assert summary.stop_reason == "max_epochs"
    assert math.isnan(summary.final_objective)
    assert len(summary.loss_curve) == 2


def test_bad_arguments_change_nothing():
    x, y = blobs()
    net = network()
    before = net.params.copy()
    with pytest.raises(ValueError, match="method"):
        net.train(x, y, method="newton")
    for keywords in ({"history_size": 0}, {"tol": -1.0}, {"tolerance_change": float("nan")}, {"max_fun": 0}):
        with pytest.raises(ValueError):
            net.train(x, y, method="lbfgs", **keywords)
    np.testing.assert_array_equal(net.params, before)
    assert net.epoch == 0
