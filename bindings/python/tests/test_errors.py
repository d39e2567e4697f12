"""Every status becomes the documented exception, carrying the library's message."""

from __future__ import annotations

import numpy as np
import pytest

import swiftmlp
from swiftmlp import Network, Status
from swiftmlp._errors import exception_for


@pytest.mark.parametrize("status, kind, bases", [
    (Status.ERR_NULL_ARGUMENT, swiftmlp.ArgumentError, (ValueError,)),
    (Status.ERR_INVALID_ARGUMENT, swiftmlp.ArgumentError, (ValueError,)),
    (Status.ERR_SHAPE_MISMATCH, swiftmlp.ArgumentError, (ValueError,)),
    (Status.ERR_DTYPE_MISMATCH, swiftmlp.ArgumentError, (ValueError,)),
    (Status.ERR_OUT_OF_MEMORY, swiftmlp.OutOfMemoryError, (MemoryError,)),
    (Status.ERR_NON_FINITE, swiftmlp.NonFiniteError, (ValueError,)),
    (Status.ERR_BUSY, swiftmlp.BusyError, (RuntimeError,)),
    (Status.ERR_IO, swiftmlp.LibraryOSError, (OSError,)),
    (Status.ERR_BAD_FORMAT, swiftmlp.FormatError, (ValueError,)),
    (Status.ERR_UNSUPPORTED_VERSION, swiftmlp.FormatError, (ValueError,)),
])
def test_status_mapping(status, kind, bases):
    error = exception_for(status, "smlp_x: message")
    assert type(error) is kind and isinstance(error, bases) and isinstance(error, swiftmlp.SwiftMLPError)
    assert error.status == status and error.message == "smlp_x: message" and str(error) == "smlp_x: message"


def test_unknown_status():
    error = exception_for(99, "odd")
    assert isinstance(error, swiftmlp.SwiftMLPError) and "unknown status 99" in str(error)


def test_shape_error_message_from_the_library():
    network = Network([2, 3, 1], "tanh")
    with pytest.raises(swiftmlp.ArgumentError) as info:
        network.predict(np.zeros((4, 3)))
    assert str(info.value) == "smlp_predict: n_inputs is 3 but the model's n_inputs is 2"
    assert info.value.status == Status.ERR_SHAPE_MISMATCH
    assert str(info.value) == swiftmlp._native.last_error()
    with pytest.raises(ValueError, match=r"smlp_step: n_outputs is 2 but the model's n_outputs is 1"):
        network.step(np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="smlp_predict: n_rows is 0"):
        network.predict(np.zeros((0, 2)))


def test_dtype_mismatch_reaches_the_library_through_the_c_api():
    """The Pythonic layer converts, so call the C function directly to see the check."""
    network = Network([2, 1], ["identity"], dtype="float32")
    x = np.zeros((1, 2))
    out = np.zeros((1, 1))
    status = swiftmlp._lib.smlp_predict(network._h, swiftmlp.DType.FLOAT64, x.ctypes.data, 1, 2,
                                        out.ctypes.data, 1)
    assert status == Status.ERR_DTYPE_MISMATCH
    assert "SMLP_FLOAT64" in swiftmlp._native.last_error()


def test_null_argument_through_the_c_api():
    status = swiftmlp._lib.smlp_predict(None, swiftmlp.DType.FLOAT64, None, 1, 2, None, 1)
    assert status == Status.ERR_NULL_ARGUMENT
    assert swiftmlp._native.last_error() == "smlp_predict: model is NULL"
    assert swiftmlp._lib.smlp_param_count(None) == 0


def test_non_finite_data():
    network = Network([2, 1], ["identity"])
    with pytest.raises(swiftmlp.NonFiniteError, match="smlp_predict: input row 1 column 0 is nan"):
        network.predict(np.array([[0.0, 1.0], [np.nan, 2.0]]))
    with pytest.raises(swiftmlp.NonFiniteError, match="smlp_step"):
        network.step(np.array([[np.inf, 1.0]]), np.array([1.0]))


def test_out_of_memory_for_absurd_sizes():
    with pytest.raises(MemoryError, match="smlp_create") as info:
        Network([2**31 - 1] * 4, "relu")  # the parameter count overflows
    assert info.value.status == Status.ERR_OUT_OF_MEMORY


def test_python_side_checks():
    network = Network([2, 1], ["identity"])
    with pytest.raises(ValueError, match="x must be 2-D"):
        network.step(np.zeros(2), np.zeros(1))
    with pytest.raises(ValueError, match="complex"):
        network.predict(np.zeros((1, 2), dtype=complex))
    with pytest.raises(ValueError, match="cannot be converted"):
        network.predict([["a", "b"]])
    with pytest.raises(ValueError, match="y must be 1-D or 2-D"):
        network.step(np.zeros((1, 2)), np.zeros((1, 1, 1)))


def test_values_c_would_cut_short_are_refused(tmp_path):
    """A size above size_t's range, or text with a NUL character, would reach C cut
    short (ctypes wraps the integer; C ends the string at the NUL): ValueError
    instead, and nothing is done."""
    with pytest.raises(ValueError, match="2\\*\\*64"):
        Network([2**64 + 3, 4, 1])
    network = Network([3, 4, 1])
    x, y = np.zeros((4, 3)), np.zeros((4, 1))
    with pytest.raises(ValueError, match="epochs"):
        network.train(x, y, epochs=2**64 + 2)
    assert network.epoch == 0
    with pytest.raises(ValueError, match="layer"):
        network.layer_info(2**64)
    with pytest.raises(ValueError, match="epoch"):
        network.epoch = 2**64 + 7
    assert network.epoch == 0
    with pytest.raises(ValueError, match="NUL"):
        network.metadata["a\0b"] = "x"
    with pytest.raises(ValueError, match="NUL"):
        network.metadata["a"] = "x\0y"
    assert dict(network.metadata) == {}
    assert 1 not in network.metadata  # a non-str key is simply absent
    with pytest.raises(ValueError, match="NUL"):
        network.save(tmp_path / "model.smlp\0junk")
    with pytest.raises(ValueError, match="NUL"):
        network.export_c(tmp_path / "model.c", "ab\0cd")
    assert list(tmp_path.iterdir()) == []


def test_messages_are_per_thread():
    import threading
    network = Network([2, 1], ["identity"])
    with pytest.raises(ValueError):
        network.predict(np.zeros((1, 5)))
    main_message = swiftmlp._native.last_error()
    seen = []

    def other():
        seen.append(swiftmlp._native.last_error())
        try:
            network.predict(np.zeros((1, 7)))
        except ValueError as error:
            seen.append(str(error))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen[0] == ""
    assert "n_inputs is 7" in seen[1]
    assert swiftmlp._native.last_error() == main_message
