"""libswiftmlp's SMLP_RPROP against scripts/rprop_reference.py, step by step, in float64.

The reference gets its gradients and losses from scripts/numpy_reference.py on its own
copy of the parameters: nothing is shared with the library but the starting weights
and the data.

Tolerance: none. RPROP moves every parameter by exactly +-D or 0, and D changes only
by the factors and the clamps, so the step depends on the gradient only through its
signs and (iRPROP+) on the loss only through E > E_prev. The NumPy and BLAS gradients
differ by rounding (about 1e-16 relative), which could change a sign only for a
component within rounding of zero: each test asserts that the smallest non-zero
|gradient| it met is far above that (> 1e-12), so the two runs must agree bit for bit,
and any difference is a wrong rule, not rounding. The losses are compared to 1e-12
relative (they are sums in different orders).
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
import rprop_reference as rp  # noqa: E402


@pytest.fixture(scope="module")
def swiftmlp():
    try:
        import swiftmlp as module
        module.Network([1, 1])
    except (OSError, ImportError) as error:
        pytest.fail(f"libswiftmlp is needed (make library): {error}")
    return module


def test_reference_self_checks_pass():
    assert rp.self_check(verbose=False)


CASES = {
    "iRPROP- defaults": dict(variant="irprop-"),
    "iRPROP- PyTorch's": dict(variant="irprop-", delta0=0.01),
    "iRPROP- tight bounds": dict(variant="irprop-", increase=1.5, decrease=0.3, delta0=0.05,
                                 delta_min=0.01, delta_max=0.2),
    "iRPROP+ defaults": dict(variant="irprop+"),
    "iRPROP+ large steps": dict(variant="irprop+", delta0=0.5, increase=1.5),
}
NETS = {
    "tanh-sigmoid mse": (ref.Architecture((3, 6, 2), ("tanh", "sigmoid"), "mse"), "dense"),
    "relu-softmax ce": (ref.Architecture((4, 8, 3), ("relu", "softmax"), "softmax_ce"), "labels"),
}


# More rows than parameters, random targets and 30 steps: the loss cannot reach 0 and
# no unit saturates, so no gradient component comes near rounding.
ROWS, STEPS = 64, 30


def _problem(net_name, seed=3):
    arch, targets = NETS[net_name]
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (ROWS, arch.sizes[0]))
    if targets == "dense":
        return arch, x, rng.uniform(0, 1, (ROWS, arch.sizes[-1])), None
    return arch, x, None, rng.integers(0, arch.sizes[-1], ROWS).astype(np.int32)


def _library_net(swiftmlp, arch, start, options):
    net = swiftmlp.Network(arch.sizes, list(arch.activations),
                           loss={"mse": "mse", "softmax_ce": "softmax_cross_entropy"}[arch.loss],
                           dtype="float64")
    net.params = start
    net.set_optimizer("rprop", **options)
    return net


@pytest.mark.parametrize("net_name", list(NETS))
@pytest.mark.parametrize("case", list(CASES))
def test_steps_match_the_reference(swiftmlp, net_name, case):
    arch, x, y, labels = _problem(net_name)
    start = ref.initial_params(arch.sizes, arch.activations, seed=11)
    net = _library_net(swiftmlp, arch, start, CASES[case])
    params = start.copy()
    reference = rp.Rprop(rp.RpropConfig(**CASES[case]), params.size)
    smallest, sign_changes = np.inf, 0
    for step in range(1, STEPS + 1):
        loss, grad, _ = ref.loss_and_gradients(params, arch, x, y, labels)
        nonzero = np.abs(grad[grad != 0])
        smallest = min(smallest, nonzero.min() if nonzero.size else np.inf)
        sign_changes += int(np.count_nonzero(np.sign(grad) * np.sign(reference.g_prev) < 0))
        reference.step(params, grad, loss)
        library_loss = net.step(x, labels if labels is not None else y)
        assert library_loss == pytest.approx(loss, rel=1e-12), f"{case} step {step}: loss"
        got = net.params
        assert np.array_equal(got, params), (
            f"{case}, {net_name}, step {step}: largest difference {np.max(np.abs(got - params)):.3g}")
    assert smallest > 1e-12, f"a gradient component of {smallest:.3g} is too close to 0 for an exact test"
    assert sign_changes > 0, "the run never took the shrinking branch"
    if case == "iRPROP+ large steps":
        assert reference.undone > 0, "the run never undid an update"


@pytest.mark.parametrize("variant", ["irprop-", "irprop+"])
def test_full_batch_train_is_the_same_steps(swiftmlp, variant):
    """Network.train with one batch of all rows and no shuffling: one RPROP step per
    epoch, the same as the reference's steps."""
    arch, x, y, _ = _problem("tanh-sigmoid mse", seed=5)
    start = ref.initial_params(arch.sizes, arch.activations, seed=12)
    net = _library_net(swiftmlp, arch, start, {"variant": variant})
    net.train(x, y, epochs=40, batch_size=len(x), shuffle=False)
    params = start.copy()
    reference = rp.Rprop(rp.RpropConfig(variant=variant), params.size)
    for _ in range(40):
        loss, grad, _ = ref.loss_and_gradients(params, arch, x, y)
        reference.step(params, grad, loss)
    assert np.array_equal(net.params, params)
