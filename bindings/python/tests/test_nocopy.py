"""Arrays reach C without copies when they can, and are converted once otherwise:
checked with the pointers the binding passes to the library."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import swiftmlp
import swiftmlp._arrays as arrays_module
from swiftmlp import Network


@pytest.fixture
def count_conversions(monkeypatch):
    calls = []
    real = arrays_module._convert

    def counting(x, dtype):
        calls.append((getattr(x, "shape", None), np.dtype(dtype)))
        return real(x, dtype)

    monkeypatch.setattr(arrays_module, "_convert", counting)
    return calls


def dataset_of(call) -> swiftmlp._capi.smlp_dataset:
    return call[1]._obj  # byref(dataset)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predict_passes_the_caller_pointer(record_calls, count_conversions, rng, dtype):
    network = Network([5, 3, 2], "tanh", dtype=dtype)
    x = rng.normal(size=(20, 5)).astype(dtype)
    out = np.empty((20, 2), dtype=dtype)
    calls = record_calls("smlp_predict")
    network.predict(x, out=out)
    assert calls[0][2].value == x.ctypes.data
    assert calls[0][5].value == out.ctypes.data
    assert count_conversions == []


def test_other_layouts_are_converted_once(record_calls, count_conversions, rng):
    network = Network([5, 3, 2], "tanh")
    calls = record_calls("smlp_predict")
    for x in (rng.normal(size=(20, 5)).astype(np.float32),      # other dtype
              np.asfortranarray(rng.normal(size=(20, 5))),         # Fortran order
              rng.normal(size=(20, 10))[:, ::2],                    # strided view
              rng.normal(size=(20, 5)).tolist()):                   # a list
        count_conversions.clear()
        calls.clear()
        result = network.predict(x)
        assert len(count_conversions) == 1
        assert calls[0][2].value != getattr(x, "ctypes", None) and result.shape == (20, 2)
    assert np.allclose(network.predict(np.asfortranarray(np.ones((3, 5)))), network.predict(np.ones((3, 5))))


def test_train_converts_once_and_passes_pointers(record_calls, count_conversions, rng):
    network = Network([4, 8, 3], "relu", loss="softmax_cross_entropy")
    x = rng.normal(size=(100, 4))
    labels = rng.integers(0, 3, size=100).astype(np.int32)
    calls = record_calls("smlp_train")
    network.train(x, labels, epochs=5, batch_size=10)
    dataset = dataset_of(calls[0])
    assert dataset.x == x.ctypes.data
    assert ctypes.cast(dataset.labels, ctypes.c_void_p).value == labels.ctypes.data
    assert count_conversions == []
    # float32 Fortran x and int64 labels: one conversion each, for all 5 epochs x 10 batches
    calls.clear()
    x32 = np.asfortranarray(x.astype(np.float32))
    network.train(x32, labels.astype(np.int64), epochs=5, batch_size=10)
    assert len(calls) == 1
    assert sorted(str(dtype) for _, dtype in count_conversions) == ["float64", "int32"]


def test_dense_targets_and_validation_data_are_not_copied(record_calls, count_conversions, rng):
    network = Network([3, 2], ["identity"])
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
    xv, yv = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    calls = record_calls("smlp_train")
    network.train(x, y, epochs=2, validation_data=(xv, yv))
    options = calls[0][2]._obj
    dataset, validation = dataset_of(calls[0]), options.validation.contents
    assert (dataset.x, dataset.y) == (x.ctypes.data, y.ctypes.data)
    assert (validation.x, validation.y) == (xv.ctypes.data, yv.ctypes.data)
    assert count_conversions == []
    # a 1-D target for one output is reshaped as a view, not copied
    one = Network([3, 1], ["identity"])
    y1 = rng.normal(size=30)
    calls = record_calls("smlp_step")
    one.step(x, y1)
    assert dataset_of(calls[0]).y == y1.ctypes.data and count_conversions == []


def test_params_fit_scaler_and_gradients_pointers(record_calls, count_conversions, rng):
    network = Network([3, 4, 1], "tanh")
    flat = network.params
    calls = record_calls("smlp_set_params")
    network.params = flat
    assert calls[0][2].value == flat.ctypes.data
    x = rng.normal(size=(10, 3))
    calls = record_calls("smlp_fit_scaler")
    network.fit_scaler(x)
    assert calls[0][2].value == x.ctypes.data
    grad = network.gradients(x, rng.normal(size=(10, 1))).flat
    calls = record_calls("smlp_apply_gradients")
    network.apply_gradients(grad)
    assert calls[0][2].value == grad.ctypes.data
    assert count_conversions == []


def test_estimator_passes_the_caller_array(record_calls, rng):
    pytest.importorskip("sklearn")
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] > 0).astype(int)
    model = swiftmlp.MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    calls = record_calls("smlp_train")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y)
    assert dataset_of(calls[0]).x == x.ctypes.data
    calls = record_calls("smlp_predict")
    model.predict_proba(x)
    assert calls[0][2].value == x.ctypes.data


def test_address_reads_numpy_data_pointer():
    """`_address` (the buffer protocol, ``ctypes.data`` where ctypes refuses it) must
    agree with NumPy for every kind of array the fast path accepts: fresh, views at
    an offset, slices of rows, read-only, both float dtypes and int32 labels, and
    zero-length arrays."""
    base = np.arange(60, dtype=np.float64).reshape(12, 5)
    readonly = np.ones((3, 2), np.float32)
    readonly.flags.writeable = False
    arrays = [base, base[3:], base[5:7], base.astype(np.float32), readonly,
              np.arange(10, dtype=np.int32)[4:], np.empty((0, 5)), np.frombuffer(bytearray(64), np.float64)]
    for array in arrays:
        assert arrays_module._address(array) == array.ctypes.data, (array.shape, array.dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_step_fast_path_passes_views_and_readonly_arrays(record_calls, count_conversions, rng, dtype):
    """A row slice (a view at an offset) and read-only arrays go straight to C."""
    network = Network([3, 4, 2], "relu", dtype=dtype)
    x_all = rng.normal(size=(10, 3)).astype(dtype)
    y = rng.normal(size=(4, 2)).astype(dtype)
    y.flags.writeable = False
    calls = record_calls("smlp_step")
    network.step(x_all[6:], y)
    dataset = dataset_of(calls[0])
    assert dataset.x == x_all[6:].ctypes.data and dataset.y == y.ctypes.data
    assert dataset.n_rows == 4 and not count_conversions


def test_step_misaligned_array_is_copied_not_passed(record_calls, count_conversions):
    """A C-contiguous but misaligned view (a float64 array starting one byte into a
    buffer) must not reach C as a typed pointer: the slow path converts it."""
    network = Network([2, 3, 1], "relu", dtype=np.float64)
    raw = np.zeros(4 * 2 * 8 + 1, np.uint8)
    x = np.frombuffer(raw.data, dtype=np.float64, count=8, offset=1).reshape(4, 2)
    assert not x.flags.aligned and x.flags.c_contiguous
    y = np.zeros((4, 1))
    calls = record_calls("smlp_step")
    network.step(x, y)
    assert dataset_of(calls[0]).x % 8 == 0
    assert count_conversions, "the misaligned input was converted"


def test_predict_refuses_misaligned_out():
    """``out`` is written by C as a typed array: a misaligned one is refused."""
    network = Network([2, 3, 1], "relu", dtype=np.float64)
    raw = np.zeros(3 * 8 + 1, np.uint8)
    out = np.frombuffer(raw.data, dtype=np.float64, count=3, offset=1).reshape(3, 1)
    assert not out.flags.aligned
    with pytest.raises(ValueError, match="aligned"):
        network.predict(np.zeros((3, 2)), out=out)
