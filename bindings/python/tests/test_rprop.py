"""Network.set_optimizer('rprop', ...): settings and their aliases, defaults, the
errors, and full-batch training. The step-by-step check against a NumPy reference is
scripts/tests/test_rprop_reference.py."""

import numpy as np
import pytest

import swiftmlp
from swiftmlp import _capi
from swiftmlp.network import optimizer_defaults


def parity(bits):
    x = np.array([[(i >> b) & 1 for b in range(bits)] for i in range(2 ** bits)], dtype=np.float64)
    return x, (x.sum(axis=1) % 2).reshape(-1, 1)


def test_defaults():
    d = optimizer_defaults("rprop")
    assert (d["variant"], d["increase"], d["decrease"], d["delta0"], d["delta_min"], d["delta_max"]) == \
        ("irprop-", 1.2, 0.5, 0.1, 1e-6, 50.0)
    assert _capi.Optimizer.RPROP == 4 and _capi.RpropVariant.IRPROP_PLUS == 1


def test_first_step_is_minus_sign_times_delta0():
    net = swiftmlp.Network([2, 3, 1], ["tanh", "identity"], seed=1)
    x, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([[1.0], [-1.0]])
    start = net.params
    grad = net.gradients(x, y).flat
    net.set_optimizer("rprop", delta0=0.25)
    net.step(x, y)
    np.testing.assert_array_equal(net.params, start - np.sign(grad) * 0.25)


@pytest.mark.parametrize("keywords", [
    dict(variant="irprop+", increase=1.3, decrease=0.4, delta0=0.05, delta_min=0.001, delta_max=2.0),
    dict(variant="IRPROP+", etaplus=1.3, etaminus=0.4, delta0=0.05, step_sizes=(0.001, 2.0)),
    dict(variant=1, etas=(0.4, 1.3), delta0=0.05, delta_min=0.001, delta_max=2.0),
])
def test_aliases_give_the_same_optimizer(keywords):
    x, y = parity(3)
    reference = swiftmlp.Network([3, 4, 1], ["tanh", "sigmoid"], loss="bce", seed=4)
    reference.set_optimizer("rprop", variant="irprop+", increase=1.3, decrease=0.4, delta0=0.05,
                            delta_min=0.001, delta_max=2.0)
    net = swiftmlp.Network([3, 4, 1], ["tanh", "sigmoid"], loss="bce", seed=4)
    net.set_optimizer("rprop", **keywords)
    for _ in range(15):
        reference.step(x, y)
        net.step(x, y)
    np.testing.assert_array_equal(net.params, reference.params)


@pytest.mark.parametrize("keywords, field", [
    (dict(increase=1.0), "rprop_increase"), (dict(decrease=1.5), "rprop_decrease"),
    (dict(delta0=0.0), "rprop_delta0"), (dict(delta_min=-1.0), "rprop_delta_min"),
    (dict(delta_max=float("inf")), "rprop_delta_max"), (dict(weight_decay=0.01), "weight_decay"),
    (dict(variant=5), "rprop_variant"),
])
def test_bad_settings_raise_naming_the_field(keywords, field):
    net = swiftmlp.Network([2, 1])
    with pytest.raises(ValueError, match=field):
        net.set_optimizer("rprop", **keywords)


def test_unknown_variant_name():
    with pytest.raises(ValueError, match="irprop"):
        swiftmlp.Network([2, 1]).set_optimizer("rprop", variant="rprop++")


def test_irprop_plus_refuses_apply_gradients():
    net = swiftmlp.Network([2, 1])
    net.set_optimizer("rprop", variant="irprop+")
    before = net.params
    with pytest.raises(ValueError, match="iRPROP"):
        net.apply_gradients(np.ones(net.param_count))
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("variant", ["irprop-", "irprop+"])
def test_full_batch_training_learns_parity_5(dtype, variant):
    x, y = parity(5)
    net = swiftmlp.Network([5, 16, 1], ["tanh", "sigmoid"], loss="bce", dtype=dtype, seed=7)
    net.set_optimizer("rprop", variant=variant)
    net.train(x, y, epochs=500, batch_size=len(x))
    assert net.evaluate(x, y).accuracy == 1.0


def test_state_survives_pickling():
    import pickle
    x, y = parity(4)
    net = swiftmlp.Network([4, 6, 1], ["tanh", "sigmoid"], loss="bce", seed=3)
    net.set_optimizer("rprop", variant="irprop+")
    for _ in range(5):
        net.step(x, y)
    twin = pickle.loads(pickle.dumps(net))
    for _ in range(10):
        net.step(x, y)
        twin.step(x, y)
    np.testing.assert_array_equal(net.params, twin.params)
