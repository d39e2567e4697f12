"""ONNX out and in (swiftmlp.interop.to_onnx / from_onnx), checked with onnxruntime.

Tolerances, relative to max(1, |a|, |b|) per output: 1e-6 in float32 and 1e-12 in
float64. onnxruntime evaluates the same operations on the same stored weights; the
results differ only by rounding: its Gemm (MLAS) sums in another order than OpenBLAS,
its float32 Tanh, Sigmoid and Exp are polynomial approximations good to a few ulps,
and the scaler divides by std where swiftmlp multiplies by 1/std. Each is a few ulps
(float32: 6e-8 at 1, float64: 1.1e-16) of terms up to ~10 (relu layers), over sums
of at most 7 terms and 3 layers. Measured over the 30 networks below, 300 rows each:
at most 5.4e-7 (float32) and 1.2e-15 (float64). Any wrong weight, transpose, bias
or activation moves outputs by far more than 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx not installed (scripts/bootstrap.sh python installs it)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed (scripts/bootstrap.sh python)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from swiftmlp import Network  # noqa: E402
from swiftmlp.interop import ONNX_OPSET, InteropError, from_onnx, to_onnx  # noqa: E402

TOLERANCE = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}
HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
# Each loss with the output activations it allows.
OUTPUTS = [("mse", "identity"), ("mse", "tanh"), ("mse", "relu"), ("mse", "leaky_relu"),
           ("binary_cross_entropy", "sigmoid"), ("softmax_cross_entropy", "softmax")]


def assert_close(got: np.ndarray, expected: np.ndarray, tolerance: float) -> None:
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    scale = np.maximum(1.0, np.maximum(np.abs(got), np.abs(expected)))
    worst = float(np.max(np.abs(got - expected) / scale))
    assert worst <= tolerance, f"largest relative difference {worst:.3g} > {tolerance}"


def run_onnxruntime(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def make_network(hidden: str, loss: str, output: str, dtype: str, scaler: bool, rng) -> Network:
    network = Network([5, 7, 6, 3], [hidden, hidden, output], loss=loss, dtype=dtype, seed=11,
                      leaky_relu_slope=0.1)
    # Non-zero biases, so that a dropped or misplaced bias shows; the weights keep
    # their initialisation (Glorot or He, as after training from scratch).
    params = network.params
    for layer in range(network.n_layers):
        network.biases(layer, params)[:] = rng.normal(scale=0.3, size=network.layer_sizes[layer + 1])
    network.params = params
    if scaler:
        network.fit_scaler(rng.normal(loc=2.0, scale=3.0, size=(40, 5)))
    return network


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss,output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnxruntime_equals_predict(tmp_path, rng, hidden, loss, output, dtype):
    network = make_network(hidden, loss, output, dtype, scaler=hidden != "identity", rng=rng)
    path = tmp_path / "model.onnx"
    model = to_onnx(network, path)
    onnx.checker.check_model(onnx.load(str(path)))
    assert model.opset_import[0].version == ONNX_OPSET
    elem = TensorProto.FLOAT if dtype == "float32" else TensorProto.DOUBLE
    assert model.graph.input[0].type.tensor_type.elem_type == elem
    x = rng.normal(loc=2.0, scale=3.0, size=(300, 5)).astype(dtype)
    expected = network.predict(x)
    got = run_onnxruntime(path, x)
    assert got.dtype == np.dtype(dtype)
    assert_close(got, expected, TOLERANCE[np.dtype(dtype)])
    # And back: the same layers, loss, slope and scaler.
    back = from_onnx(path)
    assert back.dtype == network.dtype
    assert back.layer_sizes == network.layer_sizes
    assert back.activations == network.activations
    assert back.loss == network.loss
    assert_close(back.predict(x), expected, TOLERANCE[np.dtype(dtype)])
    if dtype == "float64":
        np.testing.assert_array_equal(back.params, network.params)
        assert back.leaky_relu_slope == network.leaky_relu_slope


def test_graph_nodes_are_the_documented_ones(rng):
    network = make_network("relu", "softmax_cross_entropy", "softmax", "float32", scaler=True, rng=rng)
    ops = [node.op_type for node in to_onnx(network).graph.node]
    assert ops == ["Sub", "Div", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax"]
    leaky32 = make_network("leaky_relu", "mse", "identity", "float32", scaler=False, rng=rng)
    assert [n.op_type for n in to_onnx(leaky32).graph.node] == ["Gemm", "LeakyRelu", "Gemm", "LeakyRelu", "Gemm"]
    # float64 with a slope that a float attribute cannot hold: Max(z, slope * z).
    leaky64 = Network([2, 3, 1], ["leaky_relu", "identity"], dtype="float64", leaky_relu_slope=0.01)
    assert [n.op_type for n in to_onnx(leaky64).graph.node] == ["Gemm", "Mul", "Max", "Gemm"]
    steep = Network([2, 3, 1], ["leaky_relu", "identity"], dtype="float64", leaky_relu_slope=3.0)
    ops = [n.op_type for n in to_onnx(steep).graph.node]
    assert ops == ["Gemm", "LeakyRelu", "Gemm"]  # 3.0 is a float: LeakyRelu keeps it exactly


def test_leaky_slope_above_one_in_float64(tmp_path, rng):
    network = Network([3, 4, 2], ["leaky_relu", "identity"], dtype="float64", leaky_relu_slope=1.7, seed=2)
    to_onnx(network, tmp_path / "m.onnx")
    assert [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node] == ["Gemm", "Mul", "Min", "Gemm"]
    x = rng.normal(size=(100, 3))
    assert_close(run_onnxruntime(tmp_path / "m.onnx", x), network.predict(x), 1e-12)
    back = from_onnx(tmp_path / "m.onnx")
    assert back.leaky_relu_slope == 1.7
    np.testing.assert_array_equal(back.predict(x), network.predict(x))


def test_leaky_relu_operator_in_float64(tmp_path, rng):
    """A float64 slope that is also a float (0.25) stays a LeakyRelu node, which
    onnxruntime runs with its double kernel."""
    network = Network([3, 6, 2], ["leaky_relu", "identity"], dtype="float64", leaky_relu_slope=0.25, seed=9)
    to_onnx(network, tmp_path / "m.onnx")
    assert "LeakyRelu" in [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    x = rng.normal(size=(200, 3))
    assert_close(run_onnxruntime(tmp_path / "m.onnx", x), network.predict(x), 1e-12)
    assert from_onnx(tmp_path / "m.onnx").leaky_relu_slope == 0.25


def test_opset_choice_and_floor():
    network = Network([2, 2], ["softmax"], loss="softmax_cross_entropy")
    assert to_onnx(network, opset=13).opset_import[0].version == 13
    with pytest.raises(ValueError, match="at least 13"):
        to_onnx(network, opset=12)
    with pytest.raises(ValueError, match="knows opsets up to"):
        to_onnx(network, opset=onnx.defs.onnx_opset_version() + 1)


def test_float32_leaky_relu_round_trip_keeps_the_slope_fann_takes(tmp_path):
    """LeakyRelu's alpha is a float: the recorded slope comes back exactly, and FANN's
    0.01 is compared in the network's type (a float32 slope from torch is 0.01)."""
    from swiftmlp.interop import to_fann
    network = Network([3, 4, 2], ["leaky_relu", "identity"], dtype="float32")
    back = from_onnx(to_onnx(network))
    assert back.leaky_relu_slope == 0.01
    to_fann(back, tmp_path / "back.net")
    torch_like = Network([3, 4, 2], ["leaky_relu", "identity"], dtype="float32",
                         leaky_relu_slope=float(np.float32(0.01)))
    to_fann(torch_like, tmp_path / "torch_like.net")


def test_scalar_scale_with_a_symbolic_input_width(rng):
    w = rng.normal(size=(3, 2))
    nodes = [helper.make_node("Div", ["x", "s"], ["c"]), helper.make_node("Gemm", ["c", "w", "b"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", "F"])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", 2])],
                              initializer=[initializer("s", np.array(255.0)), initializer("w", w),
                                           initializer("b", np.zeros(2))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    network = from_onnx(model)
    np.testing.assert_array_equal(network.scaler[1], np.full(3, 255.0))
    x = rng.normal(size=(5, 3))
    assert_close(network.predict(x), (x / 255.0) @ w, 1e-12)


def initializer(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def graph_model(nodes, initializers, n_in: int, n_out: int, elem=TensorProto.FLOAT, opset: int = 17):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", elem, ["N", n_in])],
                              [helper.make_tensor_value_info("y", elem, ["N", n_out])], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def test_torch_style_export_gemm_transb(tmp_path, rng):
    """What torch.onnx.export writes for nn.Sequential(Linear, Tanh, Linear, Sigmoid):
    Gemm with the Linear weight as stored by torch (n_out x n_in) and transB=1."""
    w0, b0 = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    w1, b1 = rng.normal(size=(2, 4)).astype(np.float32), rng.normal(size=2).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "0.weight", "0.bias"], ["g0"], name="/0/Gemm", transB=1,
                              alpha=1.0, beta=1.0),
             helper.make_node("Tanh", ["g0"], ["t0"], name="/1/Tanh"),
             helper.make_node("Gemm", ["t0", "2.weight", "2.bias"], ["g1"], name="/2/Gemm", transB=1),
             helper.make_node("Sigmoid", ["g1"], ["y"], name="/3/Sigmoid")]
    model = graph_model(nodes, [initializer("0.weight", w0), initializer("0.bias", b0),
                                initializer("2.weight", w1), initializer("2.bias", b1)], 3, 2)
    onnx.save(model, str(tmp_path / "torch.onnx"))
    network = from_onnx(tmp_path / "torch.onnx")
    assert network.dtype == np.float32 and network.layer_sizes == (3, 4, 2)
    assert network.loss.name == "BINARY_CROSS_ENTROPY"  # follows the sigmoid output
    np.testing.assert_array_equal(network.weights(0), w0.T)
    np.testing.assert_array_equal(network.biases(1), b1)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    assert_close(network.predict(x), run_onnxruntime(tmp_path / "torch.onnx", x), 1e-6)
    assert from_onnx(model, loss="mse").loss.name == "MSE"


def test_matmul_add_with_transposed_initializer_and_softmax(rng):
    """The other shape exporters use: Transpose of the weight, MatMul, Add (bias first
    or second), Identity nodes, a double graph, LeakyRelu's default alpha."""
    w0 = rng.normal(size=(5, 3))  # torch layout (n_out x n_in)
    b0 = rng.normal(size=5)
    w1 = rng.normal(size=(5, 4))  # already n_in x n_out
    b1 = rng.normal(size=4)
    nodes = [helper.make_node("Transpose", ["w0"], ["w0t"], perm=[1, 0]),
             helper.make_node("Identity", ["x"], ["x1"]),
             helper.make_node("MatMul", ["x1", "w0t"], ["m0"]),
             helper.make_node("Add", ["b0", "m0"], ["z0"]),
             helper.make_node("LeakyRelu", ["z0"], ["a0"]),
             helper.make_node("MatMul", ["a0", "w1"], ["m1"]),
             helper.make_node("Add", ["m1", "b1"], ["z1"]),
             helper.make_node("Softmax", ["z1"], ["y"], axis=1)]
    model = graph_model(nodes, [initializer("w0", w0), initializer("b0", b0), initializer("w1", w1),
                                initializer("b1", b1)], 3, 4, elem=TensorProto.DOUBLE)
    network = from_onnx(model)
    assert network.dtype == np.float64 and network.layer_sizes == (3, 5, 4)
    assert [a.name for a in network.activations] == ["LEAKY_RELU", "SOFTMAX"]
    assert network.leaky_relu_slope == float(np.float32(0.01))  # the attribute's default, a float
    assert network.loss.name == "SOFTMAX_CROSS_ENTROPY"
    x = rng.normal(size=(64, 3))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert_close(network.predict(x), session.run(None, {"x": x})[0], 1e-12)
    assert from_onnx(model, dtype="float32").dtype == np.float32


def test_scaler_as_mul_by_inverse(rng):
    mean, std = rng.normal(size=2), rng.uniform(0.5, 2, size=2)
    w, b = rng.normal(size=(2, 3)), rng.normal(size=3)
    nodes = [helper.make_node("Sub", ["x", "mean"], ["c"]), helper.make_node("Mul", ["c", "inv"], ["s"]),
             helper.make_node("Gemm", ["s", "w", "b"], ["y"])]
    model = graph_model(nodes, [initializer("mean", mean), initializer("inv", 1 / std), initializer("w", w),
                                initializer("b", b)], 2, 3, elem=TensorProto.DOUBLE)
    network = from_onnx(model)
    got_mean, got_std = network.scaler
    np.testing.assert_array_equal(got_mean, mean)
    np.testing.assert_allclose(got_std, std, rtol=1e-15)
    x = rng.normal(size=(10, 2))
    assert_close(network.predict(x), ((x - mean) / std) @ w + b, 1e-12)


def refusal(nodes, initializers, n_in=2, n_out=2, **kwargs):
    with pytest.raises(InteropError) as caught:
        from_onnx(graph_model(nodes, initializers, n_in, n_out, **kwargs))
    return str(caught.value)


def test_refusals_name_the_node(rng):
    w = initializer("w", rng.normal(size=(2, 2)).astype(np.float32))
    b = initializer("b", np.zeros(2, dtype=np.float32))
    message = refusal([helper.make_node("Gemm", ["x", "w", "b"], ["z"], name="dense"),
                       helper.make_node("Elu", ["z"], ["y"], name="elu1")], [w, b])
    assert "node 1 'elu1' (Elu)" in message and "no swiftmlp equivalent" in message
    message = refusal([helper.make_node("Gemm", ["x", "w", "b"], ["z"]),
                       helper.make_node("Relu", ["z"], ["r"]), helper.make_node("Tanh", ["r"], ["y"])], [w, b])
    assert "node 2 (Tanh)" in message and "two in a row" in message
    message = refusal([helper.make_node("Gemm", ["x", "w", "b"], ["z"]),
                       helper.make_node("Softmax", ["z"], ["y"], axis=0, name="sm")], [w, b])
    assert "node 1 'sm' (Softmax)" in message and "axis 0" in message
    message = refusal([helper.make_node("Gemm", ["x", "w", "b"], ["y"], alpha=2.0, name="scaled")], [w, b])
    assert "'scaled' (Gemm)" in message
    message = refusal([helper.make_node("Gemm", ["x", "w", "b"], ["z"]),
                       helper.make_node("LeakyRelu", ["z"], ["a"], alpha=0.1),
                       helper.make_node("Gemm", ["a", "w", "b"], ["z2"]),
                       helper.make_node("LeakyRelu", ["z2"], ["y"], alpha=0.2, name="second")], [w, b])
    assert "'second' (LeakyRelu)" in message and "one slope per network" in message
    message = refusal([helper.make_node("Gemm", ["x", "w", "b"], ["z"]),
                       helper.make_node("Softmax", ["z"], ["s"]),
                       helper.make_node("Gemm", ["s", "w", "b"], ["y"])], [w, b])
    assert "layer 0 ends in Softmax" in message
    mean = initializer("mean", np.zeros((2, 1), dtype=np.float32))
    message = refusal([helper.make_node("Sub", ["x", "mean"], ["c"], name="centre"),
                       helper.make_node("Gemm", ["c", "w", "b"], ["y"])], [mean, w, b])
    assert "'centre' (Sub)" in message and "broadcast along each row" in message
    message = refusal([helper.make_node("Gemm", ["x", "w", "b"], ["z"]),
                       helper.make_node("Relu", ["x"], ["y"], name="branch")], [w, b])
    assert "'branch' (Relu)" in message and "not a chain" in message


def test_malformed_graph_is_an_interop_error(rng):
    """A node without its output (a damaged file) is refused in onnx's words."""
    w = initializer("w", rng.normal(size=(2, 2)))
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w"], [])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", 2])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", 2])], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(InteropError, match="not a valid ONNX model"):
        from_onnx(model)


def test_matmul_without_add_is_a_layer_without_bias(rng):
    """torch.onnx.export writes nn.Linear(bias=False) as a bare MatMul."""
    w1, w2 = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["m"]), helper.make_node("Relu", ["m"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["y"])]
    network = from_onnx(graph_model(nodes, [initializer("w1", w1), initializer("w2", w2)], 2, 2,
                                    elem=TensorProto.DOUBLE))
    assert [str(a.name).lower() for a in network.activations] == ["relu", "identity"]
    x = rng.normal(size=(10, 2))
    assert_close(network.predict(x), np.maximum(x @ w1, 0) @ w2, 1e-12)


def test_refuses_two_inputs_and_integer_inputs(rng):
    w = initializer("w", rng.normal(size=(2, 2)).astype(np.float32))
    graph = helper.make_graph([helper.make_node("Add", ["x", "x2"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2]),
                               helper.make_tensor_value_info("x2", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], initializer=[w])
    with pytest.raises(InteropError, match="2 inputs"):
        from_onnx(helper.make_model(graph))
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.INT64, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], initializer=[w])
    with pytest.raises(InteropError, match="INT64"):
        from_onnx(helper.make_model(graph))
