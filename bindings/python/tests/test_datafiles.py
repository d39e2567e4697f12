"""swiftmlp.load_fann / save_fann: FANN data files through the library."""

import numpy as np
import pytest

import swiftmlp


def test_round_trip_is_bit_exact(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 3)) * np.array([1e-300, 1.0, 1e300])
    y = rng.uniform(size=(7, 2))
    path = tmp_path / "set.data"
    swiftmlp.save_fann(path, x, y)
    x2, y2 = swiftmlp.load_fann(path)
    assert x2.dtype == np.float64 and x2.shape == (7, 3) and y2.shape == (7, 2)
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y)
    x2.flags.writeable and x2.__setitem__((0, 0), 5.0)  # owned by NumPy, writable


def test_float32_and_one_dimensional_targets(tmp_path):
    x = np.array([[0.1, 0.2], [0.3, 1e-40]], dtype=np.float32)
    y = np.array([1.0, 0.0], dtype=np.float32)
    path = str(tmp_path / "f.data")
    swiftmlp.save_fann(path, x, y)
    with open(path) as f:
        assert f.readline() == "2 2 1\n"
    x2, y2 = swiftmlp.load_fann(path, dtype=np.float32)
    assert x2.dtype == np.float32
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y.reshape(-1, 1))


def test_reads_fanns_layout_and_trains(tmp_path):
    path = tmp_path / "xor.data"
    path.write_text("4 2 1\n-1 -1 \n-1 \n-1 1 \n1 \n1 -1 \n1 \n1 1 \n-1 \n")
    x, y = swiftmlp.load_fann(path)
    assert x.tolist() == [[-1, -1], [-1, 1], [1, -1], [1, 1]] and y.ravel().tolist() == [-1, 1, 1, -1]
    net = swiftmlp.Network([2, 4, 1], ["tanh", "tanh"], seed=1)
    net.set_optimizer("rprop")
    net.train(x, y, epochs=200, batch_size=4)
    assert np.all(np.sign(net.predict(x)) == y)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("2 2\n", "line 1"),
    ("1 2 1\n0 0 0\n1\n", "line 2: expected the 2 input values of row 0, found 3"),
    ("1 2 1\n\n0 zero\n1\n", "line 3"),
    ("1 2 1\n0.000 0.000\n", "line 3: the file ends"),
    ("1 1 1\n0\n1\n2\n", "line 4: more data"),
])
def test_malformed_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "bad.data"
    path.write_text(text)
    with pytest.raises(swiftmlp.FormatError, match=message):
        swiftmlp.load_fann(path)


def test_errors(tmp_path):
    with pytest.raises(OSError, match="No such file"):
        swiftmlp.load_fann(tmp_path / "missing.data")
    with pytest.raises(ValueError, match="dtype"):
        swiftmlp.load_fann(tmp_path / "missing.data", dtype="int32")
    with pytest.raises(swiftmlp.NonFiniteError, match="row 0 column 1"):
        swiftmlp.save_fann(tmp_path / "nan.data", [[1.0, np.nan]], [[0.0]])
    assert not (tmp_path / "nan.data").exists()
    with pytest.raises(ValueError, match="rows"):
        swiftmlp.save_fann(tmp_path / "x.data", np.zeros((3, 2)), np.zeros((2, 1)))
