"""Network.weights / Network.biases: an assignment that cannot change the model
raises instead of silently doing nothing (issue #18)."""

from __future__ import annotations

import numpy as np
import pytest

from swiftmlp import Network


def test_network_weights_are_read_only_copies():
    network = Network((2, 3, 1), "relu", seed=0)
    with pytest.raises(ValueError, match="read-only"):
        network.weights(0)[...] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        network.biases(1)[0] = 1.0
    flat = network.params  # the documented way: change a view of a copy, assign it back
    network.weights(0, flat)[...] = 1.0
    network.biases(0, flat)[...] = 0.5
    network.params = flat
    assert np.all(network.weights(0) == 1.0) and np.all(network.biases(0) == 0.5)
    # the copies are the model's values at the time of the call
    w = network.weights(0)
    network.params = np.zeros(network.param_count)
    assert np.all(w == 1.0) and np.all(network.weights(0) == 0.0)
