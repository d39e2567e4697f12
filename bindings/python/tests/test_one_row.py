"""The one-row fast paths of Network.predict and Network.step (issue 16): the same
bits as the general path, the row handed to C as an aligned copy without any
conversion, and every other kind of input (another dtype or shape, a strided row,
a list, a subclass, labels, a closed network) handled exactly as before."""

from __future__ import annotations

import ctypes
import threading

import numpy as np
import pytest

import swiftmlp
import swiftmlp._arrays as arrays_module
from swiftmlp import Network

DTYPES = [np.float32, np.float64]
MODELS = [  # (layer sizes, activations, loss)
    ((2, 4, 1), "sigmoid", "mse"),
    ((10, 16, 1), "sigmoid", "mse"),
    ((5, 8, 3), "tanh", "softmax_cross_entropy"),
    ((6, 7, 5, 2), "relu", "binary_cross_entropy"),
]


@pytest.fixture
def count_conversions(monkeypatch):
    calls = []
    real = arrays_module._convert

    def counting(x, dtype):
        calls.append(np.dtype(dtype))
        return real(x, dtype)

    monkeypatch.setattr(arrays_module, "_convert", counting)
    return calls


class Subclass(np.ndarray):
    pass


def make(sizes, activation, loss, dtype, seed=3) -> Network:
    network = Network(sizes, activation, loss=loss, dtype=dtype, seed=seed)
    network.set_optimizer("sgd", learning_rate=0.1, momentum=0.4)
    return network


def general_predict(network: Network, row: np.ndarray) -> np.ndarray:
    """The general path on the same single row: an explicit ``out`` never takes the
    fast path, and the library sees the same call (one row)."""
    out = np.empty((1, network.n_outputs), dtype=network.dtype)
    return network.predict(row.reshape(1, -1), out=out)[0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes, activation, loss", MODELS)
def test_predict_one_row_equals_the_general_path(rng, sizes, activation, loss, dtype, count_conversions):
    network = make(sizes, activation, loss, dtype)
    x = rng.normal(size=(20, sizes[0])).astype(dtype)
    for row in x:
        fast = network.predict(row)
        assert fast.shape == (sizes[-1],) and fast.dtype == dtype
        assert np.array_equal(fast, general_predict(network, row))
        two_d = network.predict(row.reshape(1, -1))
        assert two_d.shape == (1, sizes[-1]) and np.array_equal(two_d[0], fast)
    assert count_conversions == []
    # And the same bits as the row inside a batch through the general path.
    assert np.array_equal(np.stack([network.predict(row) for row in x]),
                          np.stack([general_predict(network, row) for row in x]))


def seen_by_c(monkeypatch, name: str, read) -> list:
    """Wraps library function ``name`` so that each call records ``read(args)``,
    taken while the call's arguments are alive (the one-row paths pass copies)."""
    seen: list = []
    real = getattr(swiftmlp._lib, name)

    def wrapper(*args):
        seen.append(read(args))
        return real(*args)

    monkeypatch.setattr(swiftmlp._lib, name, wrapper)
    return seen


def values_at(address: int, count: int, dtype) -> np.ndarray:
    ctype = ctypes.c_float if np.dtype(dtype) == np.float32 else ctypes.c_double
    return np.array((ctype * count).from_address(address))


@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_one_row_gives_c_the_row_without_conversion(monkeypatch, count_conversions, rng, dtype):
    """The fast path (an int address, one row) hands C an aligned copy of the row,
    also for a read-only or misaligned row, and converts nothing."""
    network = Network([3, 5, 2], "tanh", dtype=dtype)
    x = rng.normal(size=(4, 3)).astype(dtype)
    readonly = x[3].copy()
    readonly.flags.writeable = False
    raw = np.zeros(3 * x.itemsize + 1, np.uint8)
    misaligned = np.frombuffer(raw.data, dtype=dtype, count=3, offset=1)
    misaligned[...] = x[0]
    seen = seen_by_c(monkeypatch, "smlp_predict",
                     lambda args: (args[2], int(args[3].value), values_at(args[2], 3, dtype)))
    rows = [x[2], x[1:2], readonly, misaligned]
    for row in rows:
        network.predict(row)
    for (address, n_rows, values), row in zip(seen, rows):
        assert isinstance(address, int) and address % np.dtype(dtype).alignment == 0
        assert n_rows == 1 and np.array_equal(values, row.reshape(-1))
    assert count_conversions == []


def test_predict_one_row_results_are_independent_arrays(rng):
    network = Network([3, 5, 2], "tanh")
    a, b = rng.normal(size=3), rng.normal(size=3)
    first = network.predict(a)
    kept = first.copy()
    second = network.predict(b)
    assert not np.shares_memory(first, second)
    first[:] = 42.0
    assert np.array_equal(network.predict(a), kept)
    assert np.array_equal(second, network.predict(b))
    assert first.flags.writeable and first.flags.c_contiguous


@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_one_row_other_layouts_as_before(rng, dtype, count_conversions):
    """A strided row, a list, another dtype (the general path, converted once), a
    subclass (the general path, as it is), a read-only or misaligned row (copied by
    the fast path): the same results as a plain row's."""
    network = Network([4, 6, 3], "relu", dtype=dtype)
    base = rng.normal(size=(3, 8)).astype(dtype)
    row = np.ascontiguousarray(base[1, ::2])
    expected = network.predict(row)
    other = dtype is np.float32 and np.float64 or np.float32
    readonly = row.copy()
    readonly.flags.writeable = False
    raw = np.zeros(4 * row.itemsize + 1, np.uint8)
    misaligned = np.frombuffer(raw.data, dtype=dtype, count=4, offset=1)
    misaligned[...] = row
    assert not misaligned.flags.aligned
    cases = {
        "strided": (base[1, ::2], 1),
        "read-only": (readonly, 0),  # the fast path copies the row
        "misaligned": (misaligned, 0),  # the fast path copies the row
        "list": (row.tolist(), 1),
        "subclass": (row.view(Subclass), 0),  # passed as it is, as before
    }
    for name, (x, conversions) in cases.items():
        count_conversions.clear()
        result = network.predict(x)
        assert np.array_equal(np.asarray(result).reshape(-1), expected), name
        assert len(count_conversions) == conversions, name
    # Another dtype is converted once, and rounds like any conversion.
    count_conversions.clear()
    converted = network.predict(row.astype(other))
    assert len(count_conversions) == 1
    assert np.array_equal(converted, network.predict(row.astype(other).astype(dtype)))


def test_predict_one_row_errors_as_before():
    network = Network([2, 3, 1], "relu")
    with pytest.raises(swiftmlp.ArgumentError) as info:
        network.predict(np.zeros(3))
    assert str(info.value) == "smlp_predict: n_inputs is 3 but the model's n_inputs is 2"
    with pytest.raises(swiftmlp.NonFiniteError, match="smlp_predict: input row 0 column 1 is inf"):
        network.predict(np.array([0.0, np.inf]))
    with pytest.raises(ValueError, match="complex"):
        network.predict(np.zeros(2, dtype=complex))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        network.predict(np.zeros((1, 1, 2)))
    network.close()
    for x in (np.zeros(2), np.zeros((1, 2))):
        with pytest.raises(ValueError, match="closed"):
            network.predict(x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes, activation, loss", MODELS[:2] + MODELS[3:])
def test_step_one_row_equals_the_general_path(rng, sizes, activation, loss, dtype, count_conversions):
    """Two identical models, one stepped on writeable one-row arrays (the fast path),
    the other on lists (converted, the general path): same losses, same parameters,
    bit for bit; the fast one converts nothing."""
    fast, general = make(sizes, activation, loss, dtype), make(sizes, activation, loss, dtype)
    x = rng.normal(size=(30, sizes[0])).astype(dtype)
    y = rng.uniform(size=(30, sizes[-1])).astype(dtype)
    for i in range(30):
        count_conversions.clear()
        loss_fast = fast.step(x[i:i + 1], y[i:i + 1])
        assert count_conversions == []
        loss_general = general.step(x[i:i + 1].tolist(), y[i:i + 1].tolist())
        assert loss_fast == loss_general
    assert np.array_equal(fast.params, general.params)


def test_step_one_row_gives_c_the_rows_without_conversion(monkeypatch, count_conversions, rng):
    network = Network([3, 4, 2], "relu", dtype=np.float32)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    y = rng.normal(size=(5, 2)).astype(np.float32)

    def read(args):
        dataset = args[1]  # the reusable struct itself (ctypes applies byref)
        return (dataset.n_rows, dataset.n_inputs, dataset.n_outputs, int(dataset.dtype), bool(dataset.labels),
                values_at(dataset.x, 3, np.float32), values_at(dataset.y, 2, np.float32))

    seen = seen_by_c(monkeypatch, "smlp_step", read)
    for i in (4, 1):
        network.step(x[i:i + 1], y[i:i + 1])
    for (n_rows, n_in, n_out, dtype, labels, xs, ys), i in zip(seen, (4, 1)):
        assert (n_rows, n_in, n_out, dtype, labels) == (1, 3, 2, swiftmlp.DType.FLOAT32, False)
        assert np.array_equal(xs, x[i]) and np.array_equal(ys, y[i])
    assert len(seen) == 2 and count_conversions == []


@pytest.mark.parametrize("dtype", DTYPES)
def test_step_one_row_other_layouts_as_before(rng, dtype, count_conversions):
    """Read-only, misaligned, strided, 1-D-target, other-dtype and label rows give
    the same loss and parameters as the fast path on the same values."""
    x = rng.normal(size=(1, 4)).astype(dtype)
    y = rng.uniform(size=(1, 1)).astype(dtype)
    reference = make((4, 5, 1), "tanh", "mse", dtype)
    expected_loss = reference.step(x, y)
    readonly_x, readonly_y = x.copy(), y.copy()
    readonly_x.flags.writeable = readonly_y.flags.writeable = False
    raw = np.zeros(4 * x.itemsize + 1, np.uint8)
    misaligned = np.frombuffer(raw.data, dtype=dtype, count=4, offset=1).reshape(1, 4)
    misaligned[...] = x
    strided = np.zeros((1, 8), dtype)
    strided[0, ::2] = x[0]
    cases = {
        "read-only": (readonly_x, readonly_y, 0),
        "misaligned": (misaligned, y, 0),  # copied by the fast path
        "strided": (strided[:, ::2], y, 1),
        "1-D target": (x, y.reshape(1), 0),
        "lists": (x.tolist(), y.tolist(), 2),
    }
    for name, (xs, ys, conversions) in cases.items():
        network = make((4, 5, 1), "tanh", "mse", dtype)
        count_conversions.clear()
        assert network.step(xs, ys) == expected_loss, name
        assert np.array_equal(network.params, reference.params), name
        assert len(count_conversions) == conversions, name


def test_step_labels_and_batches_still_take_the_pooled_path(rng, record_calls, count_conversions):
    """Integer labels and several rows reuse pooled structs too (no conversion), and
    give the same bits as the general path."""
    x = rng.normal(size=(6, 3))
    labels = np.array([0, 2, 1, 1, 0, 2], np.int32)
    fast = make((3, 4, 3), "relu", "softmax_cross_entropy", np.float64)
    general = make((3, 4, 3), "relu", "softmax_cross_entropy", np.float64)
    calls = record_calls("smlp_step")
    for rows in (slice(0, 1), slice(1, 4), slice(0, 6)):
        count_conversions.clear()
        loss = fast.step(x[rows], labels[rows])
        assert count_conversions == []
        dataset = calls[-1][1]._obj  # the pooled struct, as the library saw it
        assert dataset.n_rows == rows.stop - rows.start and dataset.x == x[rows].ctypes.data
        assert loss == general.step(x[rows].tolist(), labels[rows].tolist())
    assert np.array_equal(fast.params, general.params)


def test_step_one_row_errors_as_before():
    network = Network([2, 3, 1], "relu")
    before = network.params
    with pytest.raises(swiftmlp.NonFiniteError, match="smlp_step"):
        network.step(np.array([[np.nan, 0.0]]), np.zeros((1, 1)))
    with pytest.raises(swiftmlp.ArgumentError, match="n_outputs"):
        network.step(np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="rows"):
        network.step(np.zeros((1, 2)), np.zeros((2, 1)))
    assert np.array_equal(network.params, before)  # a failed step changes nothing
    network.close()
    with pytest.raises(ValueError, match="closed"):
        network.step(np.zeros((1, 2)), np.zeros((1, 1)))


def test_one_row_calls_from_many_threads():
    """The reusable buffers are per call in flight: threads predicting on one model
    and stepping their own models get the results of running alone."""
    rng = np.random.default_rng(7)
    shared = Network([6, 9, 2], "tanh", dtype=np.float32)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    y = rng.uniform(size=(200, 2)).astype(np.float32)
    expected = np.stack([general_predict(shared, row) for row in x])
    solo = make((6, 9, 2), "tanh", "mse", np.float32)
    solo_losses = [solo.step(x[i:i + 1], y[i:i + 1]) for i in range(200)]
    results: dict[int, object] = {}

    def predict(k: int) -> None:
        results[k] = np.stack([shared.predict(row) for row in x])

    def train(k: int) -> None:
        own = make((6, 9, 2), "tanh", "mse", np.float32)
        results[k] = ([own.step(x[i:i + 1], y[i:i + 1]) for i in range(200)], own.params)

    threads = [threading.Thread(target=predict if k % 2 else train, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in range(8):
        if k % 2:
            assert np.array_equal(results[k], expected)
        else:
            losses, params = results[k]
            assert losses == solo_losses and np.array_equal(params, solo.params)
