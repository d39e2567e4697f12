"""smlp_train's L-BFGS against scipy.optimize.minimize(method="L-BFGS-B", no bounds)
on the same objective, computed independently by the NumPy reference:

    F(p) = reduced loss(p) + weight_decay/2 * ||W||^2   (numpy_reference.loss_and_gradients)

From the library's initial parameters, both run to convergence on small float64
problems (convex ones - softmax and logistic regression with L2, whose minimum is
unique - and networks with a hidden layer, with enough L2 that both paths reach the
same local minimum from the same start; without it, two quasi-Newton paths may part
ways towards different local minima, a property of the problem, not a defect). The final objectives must agree within 1e-8 relative, scipy's F at the
library's final parameters must equal the F the library reports (so the library
minimises the documented objective), and the parameters must agree.

The library is loaded through bindings/python, from $SWIFTMLP_LIBRARY (make
test-scripts sets it) or build/lib/libswiftmlp.so.0.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parent.parent
REPO = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(REPO / "bindings" / "python"))
os.environ.setdefault("SWIFTMLP_LIBRARY", str(REPO / "build" / "lib" / "libswiftmlp.so.0"))

import numpy_reference as ref  # noqa: E402
import scipy.optimize as scipy_optimize  # noqa: E402  (installed with scikit-learn by scripts/bootstrap.sh)

LOSS_NAMES = {"mse": "mse", "softmax_ce": "softmax_cross_entropy", "bce": "binary_cross_entropy"}


def problem(name):
    rng = np.random.default_rng(20)
    if name in ("softmax_regression", "softmax_hidden"):
        labels = rng.integers(0, 3, 40)
        x = rng.normal(size=(40, 4)) + labels[:, None] * 0.5
        sizes, acts = ((4, 3), ("softmax",)) if name == "softmax_regression" else ((4, 6, 3), ("tanh", "softmax"))
        # weight decay 3e-2: enough curvature that both methods reach the same local
        # minimum from seeds 7-10 (at 1e-2 two of those four starts part ways).
        return ref.Architecture(sizes, acts, "softmax_ce", "mean"), x, None, labels.astype(np.int32), 3e-2
    if name == "regression_hidden":
        x = rng.uniform(-1, 1, (23, 3))
        y = np.stack([np.tanh(1.5 * x[:, 0] + x[:, 1]), x[:, 1] * x[:, 2] - 0.5 * x[:, 0]], 1)
        return ref.Architecture((3, 5, 2), ("tanh", "identity"), "mse", "mean"), x, y, None, 1e-3
    if name == "logistic_sum":
        x = rng.normal(size=(30, 3))
        y = (x[:, :1] - 0.5 * x[:, 1:2] + 0.3 * rng.normal(size=(30, 1)) > 0).astype(np.float64)
        return ref.Architecture((3, 1), ("sigmoid",), "bce", "sum"), x, y, None, 1e-1
    raise ValueError(name)


@pytest.mark.parametrize("name", ["softmax_regression", "softmax_hidden", "regression_hidden", "logistic_sum"])
def test_final_loss_matches_scipy_lbfgsb(name):
    from swiftmlp import Network

    arch, x, y, labels, weight_decay = problem(name)
    net = Network(list(arch.sizes), list(arch.activations), loss=LOSS_NAMES[arch.loss],
                  reduction=arch.reduction, seed=7)
    net.set_optimizer("sgd", weight_decay=weight_decay)
    start = net.params.copy()
    np.testing.assert_array_equal(start, ref.initial_params(arch.sizes, arch.activations, 7))
    mask = ref.weight_mask(arch.sizes)

    def objective(p):
        loss, grad, _ = ref.loss_and_gradients(p, arch, x, y, labels)
        return loss + 0.5 * weight_decay * float(np.sum((p * mask) ** 2)), grad + weight_decay * p * mask

    # Both run until no further progress is possible in float64 (gtol far below
    # reach, ftol 0), so each stops at the minimum to the precision of the arithmetic.
    result = scipy_optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                                     options={"maxiter": 5000, "maxfun": 20000, "gtol": 1e-10, "ftol": 0})
    assert np.max(np.abs(result.jac)) < 1e-7, f"scipy did not converge: {result.message}"

    summary = net.train(x, labels if labels is not None else y, method="lbfgs", epochs=5000, tol=1e-10,
                        tolerance_change=0, max_fun=20000)
    assert summary.converged, summary.stop_reason
    # The library's reported F is the reference's F at the library's final parameters
    # (two float64 evaluations of the same sum in different orders: ~1e-15).
    ours, _ = objective(net.params)
    assert summary.final_objective == pytest.approx(ours, rel=1e-12)
    # The criterion: the same final loss within 1e-8 relative.
    assert abs(summary.final_objective - result.fun) <= 1e-8 * abs(result.fun), (summary.final_objective, result.fun)
    # Same minimum: the same function (with a tanh hidden layer the parameters may
    # differ by a symmetry, e.g. a hidden unit with all its signs flipped). 1e-5: what
    # a gradient of ~1e-8 leaves undetermined along the flattest directions.
    np.testing.assert_allclose(net.predict(x), ref.predict(result.x, arch, x), rtol=0, atol=1e-5)
    if len(arch.sizes) == 2:   # no hidden layer: a strictly convex F, one minimiser
        assert np.max(np.abs(net.params - result.x)) < 1e-5


@pytest.mark.parametrize("name", ["softmax_regression", "softmax_hidden", "regression_hidden", "logistic_sum"])
def test_first_iteration_is_scipy_lbfgsb_first_iteration(name):
    """The first iteration tries L-BFGS-B's first step, a step of length 1 along -g
    (t = 1 / ||g||_2). Where scipy accepts that trial (two evaluations: the start and
    the trial), both take it, so one iteration of each lands on the same point; a
    different first trial step (PyTorch's min(1, 1/||g||_1), for one) lands elsewhere."""
    from swiftmlp import Network

    arch, x, y, labels, weight_decay = problem(name)
    net = Network(list(arch.sizes), list(arch.activations), loss=LOSS_NAMES[arch.loss],
                  reduction=arch.reduction, seed=7)
    net.set_optimizer("sgd", weight_decay=weight_decay)
    start = net.params.copy()
    mask = ref.weight_mask(arch.sizes)
    evaluations = []

    def objective(p):
        evaluations.append(p.copy())
        loss, grad, _ = ref.loss_and_gradients(p, arch, x, y, labels)
        return loss + 0.5 * weight_decay * float(np.sum((p * mask) ** 2)), grad + weight_decay * p * mask

    _, gradient = objective(start)
    evaluations.clear()
    result = scipy_optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                                     options={"maxiter": 1, "gtol": 0, "ftol": 0})
    assert len(evaluations) == 2, f"scipy tried {len(evaluations) - 1} steps; the test needs its first accepted"
    expected = start - gradient / np.linalg.norm(gradient)
    np.testing.assert_allclose(result.x, expected, rtol=0, atol=1e-14)

    net.train(x, labels if labels is not None else y, method="lbfgs", epochs=1, tol=0, tolerance_change=0)
    # x0 + t d, rounded once per parameter on both sides (ours accumulates in Double).
    np.testing.assert_allclose(net.params, result.x, rtol=0, atol=1e-14)
