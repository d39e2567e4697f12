"""PyTorch nn.Sequential in and out (swiftmlp.interop.from_torch / to_torch).

torch is optional (its wheel pulls gigabytes of CUDA packages, so the repository does
not install it): without it every test here is skipped with that message.

Tolerances, relative to max(1, |a|, |b|): float64 1e-12 and float32 1e-6, for the
reasons of test_interop_onnx.py (same weights, other summation order and libm: a few
ulps of terms of size ~1 per layer). A network with a scaler goes to torch with the
scaler folded into the first Linear (W / std, b - (mean / std) W), which rounds each
folded weight once more: still a few ulps.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (optional; pip install torch to run these)")
from torch import nn  # noqa: E402

from swiftmlp import Network  # noqa: E402
from swiftmlp.interop import InteropError, from_onnx, from_torch, to_torch  # noqa: E402

TOLERANCE = {torch.float32: 1e-6, torch.float64: 1e-12}


def assert_close(got, expected, tolerance):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    worst = float(np.max(np.abs(got - expected) / np.maximum(1, np.maximum(np.abs(got), np.abs(expected)))))
    assert worst <= tolerance, f"largest relative difference {worst:.3g}"


@pytest.mark.parametrize("torch_dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("hidden,output", [(nn.ReLU, nn.Softmax), (nn.Tanh, nn.Sigmoid), (nn.Sigmoid, None),
                                           (nn.LeakyReLU, nn.Tanh)])
def test_from_torch_predicts_what_torch_does(rng, torch_dtype, hidden, output):
    torch.manual_seed(0)
    layers = [nn.Linear(4, 6), hidden(), nn.Linear(6, 5), hidden(), nn.Linear(5, 3)]
    if output is nn.Softmax:
        layers.append(nn.Softmax(dim=-1))
    elif output is not None:
        layers.append(output())
    model = nn.Sequential(*layers).to(torch_dtype)
    network = from_torch(model)
    assert network.dtype == (np.float32 if torch_dtype == torch.float32 else np.float64)
    assert network.layer_sizes == (4, 6, 5, 3)
    np.testing.assert_array_equal(network.weights(0), model[0].weight.detach().numpy().T)
    x = rng.normal(size=(100, 4))
    with torch.no_grad():
        expected = model(torch.from_numpy(x).to(torch_dtype)).numpy()
    assert_close(network.predict(x.astype(network.dtype)), expected, TOLERANCE[torch_dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_torch_and_back(rng, dtype):
    network = Network([3, 5, 4, 2], ["leaky_relu", "tanh", "softmax"], loss="softmax_cross_entropy",
                      dtype=dtype, seed=4, leaky_relu_slope=0.2)
    network.fit_scaler(rng.normal(loc=3, scale=2, size=(30, 3)))
    module = to_torch(network)
    assert [type(m).__name__ for m in module] == ["Linear", "LeakyReLU", "Linear", "Tanh", "Linear", "Softmax"]
    assert module[1].negative_slope == 0.2
    torch_dtype = torch.float32 if dtype == "float32" else torch.float64
    x = rng.normal(loc=3, scale=2, size=(80, 3))
    with torch.no_grad():
        got = module(torch.from_numpy(x).to(torch_dtype)).numpy()
    assert_close(got, network.predict(x.astype(dtype)), TOLERANCE[torch_dtype])
    network.clear_scaler()
    back = from_torch(to_torch(network), loss="softmax_cross_entropy")
    np.testing.assert_array_equal(back.params, network.params)


def test_nested_sequential_dropout_and_no_bias(rng):
    model = nn.Sequential(nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU()), nn.Dropout(0.5),
                          nn.Linear(4, 2), nn.Identity()).double().eval()
    network = from_torch(model)
    assert network.layer_sizes == (3, 4, 2) and network.loss.name == "MSE"
    np.testing.assert_array_equal(network.biases(0), np.zeros(4))
    x = rng.normal(size=(20, 3))
    with torch.no_grad():
        assert_close(network.predict(x), model(torch.from_numpy(x)).numpy(), 1e-12)


def test_refusals_name_the_module():
    with pytest.raises(InteropError, match=r"module 1 \(ELU\)"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.ELU()))
    with pytest.raises(InteropError, match=r"module 2 \(Tanh\).*two activations"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Tanh()))
    with pytest.raises(InteropError, match=r"module 1 \(Softmax\).*dim 0"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=0)))
    with pytest.raises(InteropError, match="one slope per network"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.1), nn.Linear(2, 2), nn.LeakyReLU(0.2)))
    with pytest.raises(InteropError, match="Conv1d"):
        from_torch(nn.Conv1d(1, 1, 1))


def test_torch_onnx_export_loads(tmp_path, rng):
    """torch's own exporter, for the graphs from_onnx must read."""
    pytest.importorskip("onnx")
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3), nn.Softmax(dim=-1)).eval()
    path = tmp_path / "torch.onnx"
    arguments = dict(input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    try:  # torch >= 2.5 has two exporters; the TorchScript one needs no onnxscript
        torch.onnx.export(model, (torch.zeros(1, 4),), str(path), dynamo=False, **arguments)
    except TypeError:
        torch.onnx.export(model, (torch.zeros(1, 4),), str(path), **arguments)
    network = from_onnx(path)
    x = rng.normal(size=(30, 4)).astype(np.float32)
    with torch.no_grad():
        assert_close(network.predict(x), model(torch.from_numpy(x)).numpy(), 1e-6)
