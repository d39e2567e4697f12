"""Network: every public method, shapes, dtypes and round trips."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import swiftmlp
from swiftmlp import Activation, DType, Loss, Network, Reduction


def xor_network(dtype="float64", seed=42) -> Network:
    network = Network([2, 4, 1], ["tanh", "sigmoid"], loss="binary_cross_entropy", dtype=dtype, seed=seed)
    network.set_optimizer("sgd", learning_rate=0.5, momentum=0.9)
    return network


def test_module_functions():
    assert swiftmlp.version() == 100 * (swiftmlp.version() // 100) + swiftmlp.version() % 100
    assert swiftmlp.status_string(swiftmlp.Status.ERR_SHAPE_MISMATCH) == "shape mismatch"
    assert swiftmlp.status_string(999) == "unknown status"
    before = swiftmlp.get_num_threads()
    try:
        swiftmlp.set_num_threads(1)
        assert swiftmlp.get_num_threads() == 1
        with pytest.raises(ValueError, match="smlp_set_num_threads"):
            swiftmlp.set_num_threads(0)
        with pytest.raises(ValueError, match="does not fit in a C int"):
            swiftmlp.set_num_threads(2**40)
    finally:
        swiftmlp.set_num_threads(before)


def test_description():
    network = Network([3, 5, 2], ["relu", "softmax"], loss="softmax_cross_entropy", reduction="sum",
                      seed=7, leaky_relu_slope=0.2)
    assert network.layer_sizes == (3, 5, 2)
    assert network.activations == (Activation.RELU, Activation.SOFTMAX)
    assert network.loss == Loss.SOFTMAX_CROSS_ENTROPY
    assert network.reduction == Reduction.REDUCTION_SUM
    assert network.dtype == np.float64
    assert (network.n_layers, network.n_inputs, network.n_outputs) == (2, 3, 2)
    assert network.param_count == 3 * 5 + 5 + 5 * 2 + 2
    assert network.leaky_relu_slope == pytest.approx(0.2)
    info = network.info()
    assert (info.n_layers, info.param_count, info.epoch, info.has_scaler) == (2, 32, 0, False)
    assert (info.dtype, info.loss, info.reduction) == (DType.FLOAT64, Loss.SOFTMAX_CROSS_ENTROPY, Reduction.REDUCTION_SUM)
    assert "ModelInfo(dtype=<DType.FLOAT64" in repr(info)
    layer = network.layer_info(1)
    assert (layer.n_inputs, layer.n_outputs, layer.weight_offset, layer.bias_offset) == (5, 2, 20, 30)
    assert "Network(layer_sizes=(3, 5, 2)" in repr(network)


def test_single_activation_name_sets_hidden_layers_and_output_follows_loss():
    assert Network([2, 3, 3, 1], "tanh", loss="bce").activations == (
        Activation.TANH, Activation.TANH, Activation.SIGMOID)
    assert Network([2, 3, 4], "relu", loss="softmax_cross_entropy").activations[-1] == Activation.SOFTMAX
    assert Network([2, 3, 1], "relu").activations[-1] == Activation.IDENTITY


def test_constructor_errors_carry_library_messages():
    with pytest.raises(ValueError, match="smlp_create: .*softmax"):
        Network([2, 3, 2], ["softmax", "softmax"], loss="softmax_cross_entropy")
    with pytest.raises(ValueError, match="smlp_create"):
        Network([2, 0, 1], ["tanh", "identity"])
    with pytest.raises(ValueError, match="smlp_create"):
        Network([2], [])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        Network([2, 1], ["swish"])
    with pytest.raises(ValueError, match="activations has 1 entries"):
        Network([2, 3, 1], ["tanh"])
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        Network([2, 1], ["identity"], dtype="int32")
    with pytest.raises(swiftmlp.ArgumentError) as info:
        Network([2, 1], [17])
    assert info.value.status == swiftmlp.Status.ERR_INVALID_ARGUMENT


def test_same_seed_same_weights_float32_is_rounded_float64():
    a, b = Network([4, 8, 3], "relu", seed=3), Network([4, 8, 3], "relu", seed=3)
    assert np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, Network([4, 8, 3], "relu", seed=4).params)
    single = Network([4, 8, 3], "relu", seed=3, dtype="float32")
    assert single.dtype == np.float32
    assert np.array_equal(single.params, a.params.astype(np.float32))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_xor_learns_with_step(xor, dtype):
    x, y = xor
    network = xor_network(dtype)
    first = network.step(x, y)
    for _ in range(500):
        loss = network.step(x, y)
    assert loss < first / 10
    prediction = network.predict(x)
    assert prediction.dtype == np.dtype(dtype) and prediction.shape == (4, 1)
    assert np.array_equal(prediction > 0.5, y > 0.5)
    assert network.epoch == 0  # step never advances it


def test_predict_variants(xor):
    x, _ = xor
    network = xor_network()
    full = network.predict(x)
    assert np.array_equal(network(x), full)
    single = network.predict(x[1])
    assert single.shape == (1,) and single[0] == full[1, 0]
    out = np.empty((4, 1))
    assert network.predict(x, out=out) is out and np.array_equal(out, full)
    with pytest.raises(ValueError, match="out must be"):
        network.predict(x, out=np.empty((4, 2)))
    with pytest.raises(ValueError, match="x must be 1-D or 2-D"):
        network.predict(np.zeros((2, 2, 2)))
    assert np.array_equal(network.predict([[0, 0], [0, 1], [1, 0], [1, 1]]), full)


def test_params_and_layer_views():
    network = Network([3, 4, 2], "tanh", seed=1)
    flat = network.params
    assert flat.shape == (network.param_count,)
    w0, b0 = network.weights(0, flat), network.biases(0, flat)
    assert w0.shape == (3, 4) and b0.shape == (4,)
    assert np.shares_memory(w0, flat) and np.shares_memory(b0, flat)
    assert np.all(b0 == 0)  # biases start at zero
    weights, biases = network.unflatten(flat)
    assert [w.shape for w in weights] == [(3, 4), (4, 2)] and [b.shape for b in biases] == [(4,), (2,)]
    # the layout: W_0 then b_0 then W_1 then b_1, W row-major n_in x n_out
    assert np.array_equal(flat[:12].reshape(3, 4), weights[0])
    w0[1, 2] = 5.0
    b0[:] = 0.25
    network.params = flat
    assert network.weights(0)[1, 2] == 5.0
    assert np.all(network.biases(0) == 0.25)
    # W is n_in x n_out: a one-hot input row i selects W[i, :] (+ b)
    linear = Network([3, 2], ["identity"], seed=2)
    out = linear.predict(np.array([[0.0, 1.0, 0.0]]))
    assert np.allclose(out[0], linear.weights(0)[1] + linear.biases(0))
    with pytest.raises(ValueError, match="smlp_set_params: count is 3"):
        network.params = np.zeros(3)
    with pytest.raises(swiftmlp.NonFiniteError, match="smlp_set_params"):
        network.params = np.full(network.param_count, np.nan)
    with pytest.raises(ValueError, match="smlp_layer_info_get"):
        network.weights(2)


def test_gradients_views_and_layout(rng):
    network = Network([3, 5, 4], "tanh", loss="softmax_cross_entropy", seed=1)
    x = rng.normal(size=(10, 3))
    labels = rng.integers(0, 4, size=10)
    before = network.params
    result = network.gradients(x, labels)
    loss, dW, db, flat = result
    assert np.array_equal(network.params, before)  # gradients do not change the model
    assert flat.shape == (network.param_count,)
    assert [w.shape for w in dW] == [(3, 5), (5, 4)] and [b.shape for b in db] == [(5,), (4,)]
    assert all(np.shares_memory(w, flat) for w in dW + db)
    assert loss == pytest.approx(network.loss_value(x, labels))
    # one-hot targets give the same gradient as labels
    onehot = np.eye(4)[labels]
    dense = network.gradients(x, onehot)
    assert dense.loss == pytest.approx(loss) and np.allclose(dense.flat, flat)
    # db is the column sum of dZ; dW = A_prev^T dZ
    dz1 = network.layer_cache(1, "dZ")
    a0 = network.layer_cache(0, "A")
    assert np.allclose(db[1], dz1.sum(axis=0))
    assert np.allclose(dW[1], a0.T @ dz1)


def test_reduction_sum_is_n_times_mean(rng):
    x = rng.normal(size=(6, 2))
    y = rng.normal(size=(6, 1))
    mean = Network([2, 3, 1], "tanh", seed=5)
    total = Network([2, 3, 1], "tanh", seed=5, reduction="sum")
    g_mean, g_sum = mean.gradients(x, y), total.gradients(x, y)
    assert g_sum.loss == pytest.approx(6 * g_mean.loss)
    assert np.allclose(g_sum.flat, 6 * g_mean.flat)


def test_apply_gradients_equals_step_for_sgd(rng):
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    a = Network([3, 4, 2], "tanh", seed=9)
    b = Network([3, 4, 2], "tanh", seed=9)
    for network in (a, b):
        network.set_optimizer("sgd", lr=0.1, momentum=0.5)
    for _ in range(3):
        a.step(x, y)
        b.apply_gradients(b.gradients(x, y))
    assert np.allclose(a.params, b.params)
    # data-parallel: two shards' sums, scaled by 1/global batch
    c = Network([3, 4, 2], "tanh", seed=9, reduction="sum")
    d = Network([3, 4, 2], "tanh", seed=9)
    for network in (c, d):
        network.set_optimizer("sgd", lr=0.1)
    total = c.gradients(x[:5], y[:5]).flat + c.gradients(x[5:], y[5:]).flat
    c.apply_gradients(total, scale=1 / 8)
    d.step(x, y)
    assert np.allclose(c.params, d.params)
    with pytest.raises(ValueError, match="smlp_apply_gradients"):
        c.apply_gradients(np.zeros(3))
    with pytest.raises(swiftmlp.NonFiniteError, match="smlp_apply_gradients"):
        c.apply_gradients(np.full(c.param_count, np.inf))


def test_set_optimizer_and_defaults():
    defaults = swiftmlp.optimizer_defaults("adam")
    assert defaults["learning_rate"] == 0.001 and defaults["beta2"] == 0.999
    assert swiftmlp.optimizer_defaults("adamw")["weight_decay"] == 0.01
    network = Network([2, 2, 1], "tanh")
    for kind in ("sgd", "adam", "adamw", "rmsprop"):
        network.set_optimizer(kind)
    network.set_optimizer("adam", lr=0.01, betas=(0.8, 0.9), eps=1e-7, weight_decay=0.1, clip_norm=1.0,
                          schedule="cosine", t_max=10, min_lr=1e-4, decay_biases=True)
    network.set_optimizer("sgd", momentum=0.9, nesterov=True, schedule="step", step_size=2, gamma=0.5)
    with pytest.raises(ValueError, match="smlp_set_optimizer: .*learning_rate"):
        network.set_optimizer("sgd", learning_rate=-1)
    with pytest.raises(TypeError, match="unexpected keyword 'lrate'"):
        network.set_optimizer("sgd", lrate=1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        network.set_optimizer("lbfgs")
    # A keyword the optimizer does not use is refused, not ignored (PyTorch's rule);
    # each kind's defaults are exactly the keywords it takes.
    for kind, unused, hint in [("adam", "alpha", "weight_decay"), ("sgd", "beta1", ""), ("rprop", "lr", "delta0"),
                               ("rmsprop", "nesterov", ""), ("adamw", "momentum", ""), ("rprop", "schedule", "")]:
        with pytest.raises(TypeError, match=f"set_optimizer\\('{kind}'\\) does not use '{unused}'.*{hint}"):
            network.set_optimizer(kind, **{unused: 0.5})
    for kind in ("sgd", "adam", "adamw", "rmsprop", "rprop"):
        network.set_optimizer(kind, **swiftmlp.optimizer_defaults(kind))
    assert "momentum" not in swiftmlp.optimizer_defaults("adam")
    assert set(swiftmlp.optimizer_defaults("rprop")) >= {"variant", "delta0", "delta_min", "delta_max"}


def test_schedule_drives_learning_rate(xor):
    x, y = xor
    network = xor_network()
    network.set_optimizer("sgd", lr=0.4, schedule="step", step_size=1, gamma=0.5)
    summary = network.train(x, y, epochs=3, batch_size=4)
    assert [r.learning_rate for r in summary.history] == pytest.approx([0.4, 0.2, 0.1])
    assert network.epoch == 3
    network.epoch = 0
    assert network.epoch == 0
    assert network.train(x, y, epochs=1).history[0].learning_rate == pytest.approx(0.4)


def test_train_summary_history_and_callback(xor):
    x, y = xor
    network = xor_network()
    seen = []
    summary = network.train(x, y, epochs=20, batch_size=4, callback=seen.append)
    assert summary.epochs_run == 20 and len(summary.history) == 20 and seen == summary.history
    assert [r.epoch for r in seen] == list(range(1, 21))
    assert np.isnan(seen[0].validation_loss) and np.isnan(seen[0].validation_accuracy)
    assert summary.final_train_loss == seen[-1].train_loss
    assert not summary.stopped_by_callback and not summary.stopped_early
    # a true return value stops after that epoch; the model keeps those epochs
    stopped = network.train(x, y, epochs=50, callback=lambda r: r.epoch == 3)
    assert stopped.epochs_run == 3 and stopped.stopped_by_callback
    assert network.epoch == 23


def test_train_is_deterministic_and_matches_sequential_steps(xor):
    x, y = xor
    a, b = xor_network(), xor_network()
    a.train(x, y, epochs=30, batch_size=4, shuffle=False)
    for _ in range(30):
        b.step(x, y)
    assert np.array_equal(a.params, b.params)
    c, d = xor_network(), xor_network()
    c.train(x, y, epochs=10, batch_size=2)
    d.train(x, y, epochs=10, batch_size=2)
    assert np.array_equal(c.params, d.params)


def test_train_with_validation_early_stopping_and_restore_best(blobs):
    x, labels = blobs
    network = Network([4, 8, 3], "relu", loss="softmax_cross_entropy", seed=0)
    network.set_optimizer("adam", lr=0.05)
    summary = network.train(x[::2], labels[::2], epochs=200, batch_size=16,
                            validation_data=(x[1::2], labels[1::2]), patience=5, min_delta=1e-3)
    assert summary.stopped_early and summary.epochs_run < 200
    assert 1 <= summary.best_epoch <= summary.epochs_run
    assert summary.best_validation_loss == summary.history[summary.best_epoch - 1].validation_loss
    assert summary.best_validation_loss <= min(r.validation_loss for r in summary.history) + 1e-3
    assert summary.history[-1].validation_accuracy > 0.9
    # restore_best: the model ends with the best epoch's parameters
    assert network.evaluate(x[1::2], labels[1::2]).loss == pytest.approx(summary.best_validation_loss)


def test_train_errors_leave_the_model_unchanged(xor):
    x, y = xor
    network = xor_network()
    before = network.params
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(swiftmlp.NonFiniteError, match="smlp_train: .*row 2"):
        network.train(bad, y, epochs=3)
    with pytest.raises(ValueError, match="smlp_train: .*epochs"):
        network.train(x, y, epochs=0)
    with pytest.raises(ValueError, match="x has 4 rows but y has 3"):
        network.train(x, y[:3], epochs=1)
    assert np.array_equal(network.params, before) and network.epoch == 0


def test_callback_exception_stops_and_is_reraised_model_keeps_progress(xor):
    x, y = xor
    network = xor_network()

    def fail(report):
        if report.epoch == 4:
            raise RuntimeError("user callback failed")

    with pytest.raises(RuntimeError, match="user callback failed"):
        network.train(x, y, epochs=50, callback=fail)
    assert network.epoch == 4


def test_keyboard_interrupt_stops_cleanly_and_keeps_the_model(xor):
    x, y = xor
    network = xor_network()
    start = network.params

    def interrupt(report):
        if report.epoch == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        network.train(x, y, epochs=1000, callback=interrupt)
    assert network.epoch == 5
    assert not np.array_equal(network.params, start)
    network.train(x, y, epochs=2)  # still usable, not busy
    assert network.epoch == 7


def test_sigint_during_training_stops_after_the_epoch(xor):
    """A real Ctrl-C: SIGINT delivered while smlp_train runs."""
    import os
    import signal
    x, y = xor
    network = xor_network()

    def send_sigint(report):
        if report.epoch == 3:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        network.train(x, y, epochs=1000, callback=send_sigint)
    assert network.epoch in (3, 4)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_progress_bar(xor, capsys, monkeypatch):
    import swiftmlp._progress as progress
    x, y = xor
    network = xor_network()
    monkeypatch.setattr(progress, "TqdmBar", lambda total, desc: progress.PlainBar(total, desc))
    network.train(x, y, epochs=5, progress=True)
    err = capsys.readouterr().err
    assert "5/5 epochs" in err and "loss" in err
    network.train(x, y, epochs=5)
    assert capsys.readouterr().err == ""


def test_evaluate(blobs):
    x, labels = blobs
    network = Network([4, 8, 3], "relu", loss="softmax_cross_entropy", seed=0)
    network.set_optimizer("adam", lr=0.05)
    network.train(x, labels, epochs=30, batch_size=16)
    loss, accuracy = network.evaluate(x, labels)
    predicted = network.predict(x).argmax(axis=1)
    assert accuracy == pytest.approx(np.mean(predicted == labels))
    assert loss == pytest.approx(-np.mean(np.log(network.predict(x)[np.arange(90), labels])))
    regression = Network([2, 1], ["identity"])
    assert np.isnan(regression.evaluate(np.ones((3, 2)), np.ones(3)).accuracy)


def test_labels_are_checked(blobs):
    x, labels = blobs
    network = Network([4, 3], ["softmax"], loss="softmax_cross_entropy")
    with pytest.raises(ValueError, match="smlp_step: .*label"):
        network.step(x, labels + 1)
    with pytest.raises(ValueError, match="class labels must be integers"):
        network.step(x, labels + 0.5)
    with pytest.raises(ValueError, match="int32 range"):
        network.step(x, labels.astype(np.int64) + 2**40)
    network.step(x, labels.astype(np.float64))  # integral floats are fine


def test_scaler(rng):
    x = rng.normal(loc=5, scale=3, size=(50, 3))
    network = Network([3, 2], ["identity"], seed=0)
    assert network.scaler is None and network.info().has_scaler == 0
    raw = network.predict(x)
    network.fit_scaler(x)
    mean, std = network.scaler
    assert np.allclose(mean, x.mean(axis=0)) and np.allclose(std, x.std(axis=0))
    standardized = (x - mean) / std
    network.clear_scaler()
    expected = network.predict(standardized)
    network.set_scaler(mean, std)
    assert np.allclose(network.predict(x), expected)
    network.clear_scaler()
    assert network.scaler is None and np.allclose(network.predict(x), raw)
    with pytest.raises(ValueError, match="smlp_set_scaler"):
        network.set_scaler([0, 0, 0], [1, 0, 1])
    with pytest.raises(ValueError, match="smlp_set_scaler"):
        network.set_scaler([0, 0], [1, 1])


def test_layer_cache_shapes_and_values(rng):
    network = Network([3, 6, 5, 2], ["relu", "tanh", "identity"], seed=4)
    assert network.cached_rows == 0
    with pytest.raises(ValueError, match="smlp_get_layer_cache"):
        network.layer_cache(0, "A")
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    network.gradients(x, y)
    assert network.cached_rows == 7
    for layer, width in enumerate((6, 5, 2)):
        for kind in ("Z", "A", "dZ"):
            assert network.layer_cache(layer, kind).shape == (7, width)
    w0, b0 = network.weights(0), network.biases(0)
    z0 = network.layer_cache(0, "Z")
    assert np.allclose(z0, x @ w0 + b0)
    assert np.allclose(network.layer_cache(0, "A"), np.maximum(z0, 0))
    assert np.allclose(network.layer_cache(1, "A"), np.tanh(network.layer_cache(1, "Z")))
    # mean reduction, MSE: dZ of the identity output is (a - y) / n
    assert np.allclose(network.layer_cache(2, "dZ"), (network.predict(x) - y) / 7)
    with pytest.raises(ValueError, match="smlp_get_layer_cache"):
        network.layer_cache(3, "A")
    with pytest.raises(ValueError, match="unknown cache kind"):
        network.layer_cache(0, "W")
    network.evaluate(x, y)  # reuses the workspace: the cache is gone
    assert network.cached_rows == 0


@pytest.mark.parametrize("loss, activations, targets", [
    ("mse", ["tanh", "sigmoid", "identity"], "dense"),
    ("binary_cross_entropy", ["relu", "leaky_relu", "sigmoid"], "binary"),
    ("softmax_cross_entropy", ["tanh", "sigmoid", "softmax"], "labels"),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gradcheck_against_finite_differences(rng, loss, activations, targets, dtype):
    network = Network([4, 5, 3, 3], activations, loss=loss, seed=11, dtype=dtype)
    x = rng.normal(size=(6, 4))
    y = {"dense": rng.normal(size=(6, 3)), "binary": rng.integers(0, 2, size=(6, 3)).astype(float),
         "labels": rng.integers(0, 3, size=6)}[targets]
    before = network.params
    result = network.gradcheck(x, y, step=1e-6)
    assert result.weights.shape == (3,) and result.biases.shape == (3,)
    # The measure is relative above 1 and absolute below (header): a correct
    # gradient is ~1e-9 in float64 with h = 1e-6; 1e-7 leaves a 100x margin.
    assert result.max < 1e-7, result
    assert np.array_equal(network.params, before)
    with pytest.raises(ValueError, match="smlp_gradcheck"):
        network.gradcheck(x, y, step=0)


@pytest.mark.parametrize("output", ["tanh", "identity"])
def test_fann_tanh_error_matches_fanns_definition(rng, output):
    """loss="fann_tanh_error" against FANN's own statement of it in NumPy: the error
    y - a, halved for a tanh (symmetric) output, trained on as log((1 + e)/(1 - e)),
    +-17 past 0.9999999; the loss the function with that slope. Float64 sums of a few
    logs: 1e-12 relative."""
    network = Network([3, 4, 2], ["tanh", output], loss="fann_tanh_error", seed=3)
    x, y = rng.normal(size=(6, 3)), rng.uniform(-1, 1, size=(6, 2))
    y[0] = [3.0, -2.5]  # past the clip for the identity output
    a = network.predict(x)
    s = 2.0 if output == "tanh" else 1.0
    e, c = (a - y) / s, 0.9999999
    inside = np.abs(e) <= c
    safe = np.where(inside, e, 0)
    slope = np.where(inside, np.log((1 + safe) / (1 - safe)), 17 * np.sign(e))
    g_c = c * np.log((1 + c) / (1 - c)) + np.log((1 - c) * (1 + c))
    per_output = s * np.where(inside, safe * np.log((1 + safe) / (1 - safe)) + np.log((1 - safe) * (1 + safe)),
                              g_c + 17 * (np.abs(e) - c))
    assert np.isclose(network.loss_value(x, y), per_output.sum() / 6, rtol=1e-12, atol=0)
    derivative = 1 - a * a if output == "tanh" else np.ones_like(a)
    _, biases = network.unflatten(network.gradients(x, y).flat)
    assert np.allclose(biases[1], (slope * derivative).sum(axis=0) / 6, rtol=1e-12, atol=1e-14)
    assert not inside[0].any() and inside[1:].sum() >= 8  # both sides of the clip
    network.set_optimizer("rprop")
    before = network.loss_value(x, y)
    network.train(x, y, epochs=20, batch_size=6)
    assert network.loss_value(x, y) < before


def test_gradients_match_numpy_finite_differences(rng):
    """Independent of smlp_gradcheck: finite differences through set_params."""
    network = Network([3, 4, 2], ["tanh", "identity"], seed=2)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    analytic = network.gradients(x, y).flat
    params = network.params
    numeric = np.empty_like(params)
    h = 1e-6
    for i in range(params.size):
        plus, minus = params.copy(), params.copy()
        plus[i] += h
        minus[i] -= h
        network.params = plus
        loss_plus = network.loss_value(x, y)
        network.params = minus
        loss_minus = network.loss_value(x, y)
        numeric[i] = (loss_plus - loss_minus) / (2 * h)
    assert np.allclose(analytic, numeric, atol=1e-7, rtol=1e-5)


def test_save_load_round_trip(tmp_path, xor):
    x, y = xor
    network = xor_network()
    network.train(x, y, epochs=20)
    network.metadata["note"] = "xor"
    network.fit_scaler(x)
    path = tmp_path / "xor.smlp"
    network.save(path)
    loaded = Network.load(path)
    assert np.array_equal(loaded.predict(x), network.predict(x))
    assert loaded.epoch == 20 and dict(loaded.metadata) == {"note": "xor"}
    assert loaded.scaler is not None
    # training resumes exactly where it stopped
    network.train(x, y, epochs=5)
    loaded.train(x, y, epochs=5)
    assert np.array_equal(loaded.params, network.params)
    Network.load(str(path))  # str paths too
    with pytest.raises(OSError, match="smlp_load"):
        Network.load(tmp_path / "missing.smlp")
    with pytest.raises(OSError, match="smlp_save"):
        network.save(tmp_path / "no" / "such" / "folder" / "m.smlp")
    (tmp_path / "junk.smlp").write_bytes(b"\0" * 100)
    with pytest.raises(swiftmlp.FormatError, match="smlp_load"):
        Network.load(tmp_path / "junk.smlp")


def test_bytes_pickle_and_copy(xor):
    x, y = xor
    network = xor_network("float32")
    network.train(x, y, epochs=10)
    data = network.to_bytes()
    assert isinstance(data, bytes) and len(data) > 28
    for clone in (Network.from_bytes(data), Network.from_bytes(bytearray(data)),
                  Network.from_bytes(memoryview(data)), pickle.loads(pickle.dumps(network)),
                  copy.copy(network), copy.deepcopy(network), network.copy()):
        assert clone.dtype == np.float32
        assert np.array_equal(clone.predict(x), network.predict(x))
        assert clone.to_bytes() == data
    clone = network.copy()
    clone.step(x, y)
    assert not np.array_equal(clone.params, network.params)  # independent
    corrupted = bytearray(data)
    corrupted[len(data) // 2] ^= 0xFF
    with pytest.raises(swiftmlp.FormatError, match="smlp_load_from_buffer"):
        Network.from_bytes(bytes(corrupted))
    with pytest.raises(swiftmlp.FormatError):
        Network.from_bytes(b"")


def test_metadata_mapping():
    network = Network([2, 1], ["identity"])
    metadata = network.metadata
    assert len(metadata) == 0 and dict(metadata) == {}
    metadata["features"] = "a,b"
    metadata["trained"] = "2026-01-01 ✓"
    metadata["features"] = "x,y"  # replaces, keeps its place
    assert list(metadata) == ["features", "trained"]
    assert metadata["trained"] == "2026-01-01 ✓" and metadata.get("missing") is None
    assert "features" in metadata and "missing" not in metadata
    del metadata["features"]
    assert dict(metadata) == {"trained": "2026-01-01 ✓"}
    with pytest.raises(KeyError):
        metadata["features"]
    with pytest.raises(KeyError):
        del metadata["features"]
    with pytest.raises(ValueError, match="smlp_set_metadata"):
        metadata[""] = "empty key"
    with pytest.raises(ValueError, match="smlp_set_metadata"):
        metadata["k" * 256] = "long key"
    metadata["big"] = "v" * 65535
    assert len(metadata["big"]) == 65535
    with pytest.raises(TypeError):
        metadata["n"] = 3
    metadata.update(a="1", b="2")
    assert network.metadata["b"] == "2"
    assert "trained" in repr(metadata)


def test_export_c(tmp_path, xor):
    x, y = xor
    network = xor_network()
    network.train(x, y, epochs=5)
    path = tmp_path / "xor_model.c"
    network.export_c(path, "xor")
    text = path.read_text()
    assert "void xor_predict(const double *x, double *out)" in text
    network.export_c(tmp_path / "default.c")
    assert "smlp_model_predict" in (tmp_path / "default.c").read_text()
    with pytest.raises(ValueError, match="smlp_export_c"):
        network.export_c(tmp_path / "bad.c", "not an identifier")


def test_close_and_context_manager():
    with Network([2, 1], ["identity"]) as network:
        assert not network.closed
    assert network.closed
    network.close()  # idempotent
    assert "closed" in repr(network)
    with pytest.raises(ValueError, match="closed"):
        network.predict(np.zeros((1, 2)))


def test_close_refuses_while_a_call_runs(xor):
    """close() while another call on the network runs (the training call whose
    callback this is, or a call in another thread) raises BusyError and frees
    nothing: the library must not free a model in use (it crashed the process)."""
    import threading

    x, y = xor
    network = xor_network()
    outcomes = []

    def close_here(report):
        try:
            network.close()
        except swiftmlp.BusyError as error:
            outcomes.append(("callback", error))
        # From another thread, while this train call is still running.
        def close_there():
            try:
                network.close()
            except swiftmlp.BusyError as error:
                outcomes.append(("thread", error))
        thread = threading.Thread(target=close_there)
        thread.start()
        thread.join()
        return True

    network.train(x, y, epochs=3, callback=close_here)
    assert [where for where, _ in outcomes] == ["callback", "thread"]
    assert "nothing was freed" in str(outcomes[0][1])
    assert not network.closed
    assert network.predict(x).shape == (4, 1)  # still usable
    network.close()  # nothing running now
    assert network.closed


def test_busy_model_raises_busy_error(xor):
    """A changing call from inside the training callback finds the model busy."""
    x, y = xor
    network = xor_network()
    errors = []

    def meddle(report):
        try:
            network.step(x, y)
        except swiftmlp.BusyError as error:
            errors.append(error)
        return True

    network.train(x, y, epochs=3, callback=meddle)
    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeError) and errors[0].status == swiftmlp.Status.ERR_BUSY
    assert "smlp_step" in str(errors[0])


def test_progress_bar_with_tqdm(xor, capsys):
    pytest.importorskip("tqdm")
    x, y = xor
    network = xor_network()
    network.train(x, y, epochs=6, progress=True)
    err = capsys.readouterr().err
    assert "6/6" in err and "epoch" in err


def test_plain_progress_bar_without_tqdm(monkeypatch):
    import io
    import sys
    import swiftmlp._progress as progress
    monkeypatch.setitem(sys.modules, "tqdm", None)
    bar = progress.progress_bar(3, "fit")
    assert isinstance(bar, progress.PlainBar)
    bar.stream = io.StringIO()
    for epoch in range(3):
        bar.update(1, loss=0.5 / (epoch + 1), val_loss=float("nan"))
    bar.close()
    text = bar.stream.getvalue()
    assert "fit: [" in text and "3/3 epochs" in text and "loss 0.1667" in text and "val_loss" not in text
    assert progress.progress_bar(3, enabled=False) is None
