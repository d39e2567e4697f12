"""Models in and out: ONNX, PyTorch, scikit-learn and FANN.

=========================  ==========================  ==============================
format                     into swiftmlp               out of swiftmlp
=========================  ==========================  ==============================
ONNX (``onnx`` package)    :func:`from_onnx`           :func:`to_onnx`
PyTorch ``nn.Sequential``  :func:`from_torch`          :func:`to_torch`
scikit-learn MLP           :func:`from_sklearn`
FANN 2.x ``.net`` file     :func:`load_fann`           :func:`to_fann`
=========================  ==========================  ==============================

Every converter maps the same thing: a chain of fully connected layers, each
``a = f(a_prev @ W + b)`` with ``f`` one of identity, sigmoid, tanh, relu,
leaky relu (one slope per network) and softmax (last layer only), optionally
preceded by the input scaler ``(x - mean) / std``. swiftmlp keeps ``W`` as
``n_in x n_out`` (row-major, input i to output j at ``W[i, j]``): scikit-learn's
``coefs_`` and ONNX ``Gemm`` with ``transB=0`` use that layout as it is; PyTorch's
``Linear.weight`` is ``n_out x n_in`` and is transposed both ways. Anything else is
refused with an error that names the node, module or line. docs/interop.md has the
full tables. ``onnx`` and ``torch`` are imported only by the functions that need them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from ctypes import byref, c_void_p
from typing import Any, Union

import numpy as np

from ._capi import Activation, DType
from ._native import c_path, check, lib
from ._arrays import _np_dtype
from ._names import _ACTIVATION_DISPLAY as _ACTIVATION_NAME
from ._names import _LOSS_DISPLAY as _LOSS_NAME
from .network import Network

__all__ = ["to_onnx", "from_onnx", "to_torch", "from_torch", "from_sklearn", "load_fann", "to_fann",
           "ONNX_OPSET", "InteropError"]

PathLike = Union[str, "os.PathLike[str]"]

#: The ONNX opset :func:`to_onnx` writes (Softmax's axis then means the last axis alone).
ONNX_OPSET = 17


class InteropError(ValueError):
    """A model of another library that has no swiftmlp equivalent (the message says
    which node, module or setting, and why)."""




def _default_loss(activations: Sequence[str]) -> str:
    """The loss that goes with an output activation: softmax -> cross-entropy,
    sigmoid -> binary cross-entropy, anything else -> mean squared error."""
    return {"softmax": "softmax_cross_entropy", "sigmoid": "binary_cross_entropy"}.get(activations[-1], "mse")


def _build(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], activations: Sequence[str], *,
           dtype: Any, loss: str | None = None, leaky_relu_slope: float = 0.01,
           scaler: tuple[np.ndarray, np.ndarray] | None = None, what: str = "the model") -> Network:
    """A Network with these layers (W as n_in x n_out), parameters and scaler."""
    if not weights:
        raise InteropError(f"{what} has no fully connected layer")
    sizes = [int(weights[0].shape[0])]
    for index, (w, b) in enumerate(zip(weights, biases)):
        if w.ndim != 2 or w.shape[0] != sizes[-1] or b.shape != (w.shape[1],):
            raise InteropError(f"{what}: layer {index} has weights {w.shape} and bias {b.shape}, which do not "
                               f"follow a layer of width {sizes[-1]}")
        sizes.append(int(w.shape[1]))
    network = Network(sizes, list(activations), loss=loss or _default_loss(activations), dtype=dtype,
                      leaky_relu_slope=leaky_relu_slope)
    flat = network.params
    layer_weights, layer_biases = network.unflatten(flat)
    for target, source in zip(layer_weights + layer_biases, list(weights) + list(biases)):
        target[...] = source
    network.params = flat
    if scaler is not None:
        network.set_scaler(*scaler)
    return network


def _layers(network: Network) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    weights, biases = network.unflatten(network.params)
    return weights, biases, [_ACTIVATION_NAME[Activation(a)] for a in network.activations]


def _folded_scaler(network: Network, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
    """Folds the scaler into the first layer in place: ((x - m) / s) W + b =
    x (W / s[:, None]) + (b - (m / s) W). Exact in arithmetic; each folded value is
    rounded once (in float64, then to the model's dtype)."""
    scaler = network.scaler
    if scaler is None:
        return
    mean, std = scaler
    w = weights[0].astype(np.float64)
    weights[0] = (w / std[:, None]).astype(weights[0].dtype)
    biases[0] = (biases[0].astype(np.float64) - (mean / std) @ w).astype(biases[0].dtype)


# ---- ONNX ------------------------------------------------------------------------------------------

def to_onnx(network: Network, path: PathLike | None = None, *, opset: int = ONNX_OPSET,
            input_name: str = "input", output_name: str = "output") -> Any:
    """The network as an ONNX model (``onnx.ModelProto``), checked with
    ``onnx.checker.check_model``, and written to ``path`` when given.

    The graph: ``Sub(mean)`` and ``Div(std)`` for the input scaler (when there is
    one), then per layer a ``Gemm`` (A @ W + b, W stored n_in x n_out, transB=0)
    and the activation: ``Sigmoid``, ``Tanh``, ``Relu``, ``LeakyRelu(alpha=slope)``,
    ``Softmax(axis=-1)``, nothing for identity. LeakyRelu's alpha is a 32-bit
    attribute, so a float64 network whose slope is not a float (0.01 is not) gets
    ``Max(z, Mul(z, slope))`` instead (``Min`` for a slope above 1): the same
    function, with the slope as a double. Tensors are float (TensorProto.FLOAT)
    for a float32 network and double for a float64 one; the batch dimension is
    symbolic ("batch"). The loss and the leaky slope go into ``metadata_props``
    (``swiftmlp.loss``, ``swiftmlp.leaky_relu_slope``) so :func:`from_onnx` restores
    them. Opset ``opset`` (default :data:`ONNX_OPSET`, 17; 13 is the lowest whose
    Softmax works on the last axis alone, and the installed onnx's newest the highest).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if opset < 13:
        raise ValueError(f"opset {opset}: at least 13 is needed (Softmax over the last axis alone)")
    if opset > onnx.defs.onnx_opset_version():
        raise ValueError(f"opset {opset}: the installed onnx {onnx.__version__} knows opsets up to "
                         f"{onnx.defs.onnx_opset_version()}")
    weights, biases, activations = _layers(network)
    dtype = network.dtype
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    nodes, initializers = [], []
    current = input_name

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=dtype), name))
        return name

    scaler = network.scaler
    if scaler is not None:
        mean, std = scaler
        nodes.append(helper.make_node("Sub", [current, constant("scaler_mean", mean)], ["centered"],
                                      name="scaler_sub"))
        nodes.append(helper.make_node("Div", ["centered", constant("scaler_std", std)], ["scaled"],
                                      name="scaler_div"))
        current = "scaled"
    last = len(weights) - 1
    for layer, (w, b, activation) in enumerate(zip(weights, biases, activations)):
        z = output_name if layer == last and activation == "identity" else f"z{layer}"
        nodes.append(helper.make_node("Gemm", [current, constant(f"W{layer}", w), constant(f"b{layer}", b)], [z],
                                      name=f"dense{layer}"))
        current = z
        if activation == "identity":
            continue
        a = output_name if layer == last else f"a{layer}"
        attributes: dict[str, Any] = {}
        op = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "leaky_relu": "LeakyRelu",
              "softmax": "Softmax"}[activation]
        slope = float(network.leaky_relu_slope)
        if op == "LeakyRelu" and dtype == np.float64 and float(np.float32(slope)) != slope:
            # LeakyRelu's alpha is a 32-bit attribute: a float64 slope such as 0.01
            # would be rounded. max(z, slope z) (min for a slope above 1) is the same
            # function with the slope as a double tensor.
            scaled = f"z{layer}_scaled"
            nodes.append(helper.make_node("Mul", [current, constant(f"slope{layer}", np.array(slope))], [scaled],
                                          name=f"leaky_relu{layer}_mul"))
            nodes.append(helper.make_node("Max" if slope <= 1 else "Min", [current, scaled], [a],
                                          name=f"leaky_relu{layer}"))
            current = a
            continue
        if op == "LeakyRelu":
            attributes["alpha"] = slope
        if op == "Softmax":
            attributes["axis"] = -1
        nodes.append(helper.make_node(op, [current], [a], name=f"{activation}{layer}", **attributes))
        current = a
    graph = helper.make_graph(
        nodes, "swiftmlp",
        [helper.make_tensor_value_info(input_name, elem, ["batch", network.n_inputs])],
        [helper.make_tensor_value_info(output_name, elem, ["batch", network.n_outputs])],
        initializer=initializers)
    model = helper.make_model(graph, producer_name="swiftmlp", producer_version=_version(),
                              opset_imports=[helper.make_opsetid("", opset)])
    # The IR version of the opset, not the onnx package's newest, so that older
    # runtimes load the file too.
    model.ir_version = min(model.ir_version, _ir_version_for(opset))
    helper.set_model_props(model, {"swiftmlp.loss": _LOSS_NAME[network.loss],
                                   "swiftmlp.leaky_relu_slope": repr(float(network.leaky_relu_slope))})
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model


def _version() -> str:
    from . import __version__
    return __version__


def _ir_version_for(opset: int) -> int:
    from onnx import helper
    for entry in helper.VERSION_TABLE:  # (release, ir_version, ai.onnx opset, ...)
        if entry[2] >= opset:
            return int(entry[1])
    return int(helper.VERSION_TABLE[-1][1])


_ONNX_ACTIVATIONS = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
                     "Softmax": "softmax"}
# Nodes computed on constants only (weights) are folded: what exporters put around
# initializers (torch.onnx's Transpose of a Linear weight, Constant, Cast, Identity).
_FOLDABLE = {"Constant", "Identity", "Transpose", "Cast"}


def from_onnx(model: Any, *, dtype: Any = None, loss: str | None = None) -> Network:
    """A Network from an ONNX model (a path or an ``onnx.ModelProto``) that is a chain
    of fully connected layers: ``Gemm`` (alpha = beta = 1, transA = 0, either transB)
    or ``MatMul`` (followed by the ``Add`` of the bias, or without one: a zero bias),
    each optionally followed by ``Relu``,
    ``LeakyRelu``, ``Sigmoid``, ``Tanh`` or (last) ``Softmax`` over the last axis;
    optionally first ``Sub`` (mean) and ``Div`` (std) or ``Mul`` (1/std), which
    become the input scaler. ``Identity`` nodes are skipped, and ``Constant``,
    ``Transpose``, ``Cast`` or ``Identity`` applied to weights are evaluated. This
    covers :func:`to_onnx`'s graphs and what ``torch.onnx.export`` writes for an
    ``nn.Sequential`` of ``Linear`` and those activations.

    ``dtype`` defaults to the graph input's (float -> float32, double -> float64).
    ``loss`` defaults to the ``swiftmlp.loss`` metadata, else follows the output
    activation (softmax: softmax_cross_entropy, sigmoid: binary_cross_entropy,
    otherwise mse). Raises :class:`InteropError` naming the first node that does not
    fit.
    """
    import onnx
    from onnx import TensorProto, numpy_helper

    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(os.fspath(model))
    try:
        # A malformed graph (a node without outputs, an attribute out of its range)
        # is refused here, in onnx's words, rather than wherever the walk meets it.
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        raise InteropError(f"not a valid ONNX model: {error}") from error
    graph = model.graph
    constants: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise InteropError(f"the graph has {len(inputs)} inputs and {len(graph.output)} outputs; "
                           "a network has one of each")
    input_info = inputs[0]
    elem = input_info.type.tensor_type.elem_type
    if dtype is None:
        if elem not in (TensorProto.FLOAT, TensorProto.DOUBLE):
            raise InteropError(f"input {input_info.name!r} has element type "
                               f"{TensorProto.DataType.Name(elem)}; float or double expected (or pass dtype=)")
        dtype = np.float32 if elem == TensorProto.FLOAT else np.float64
    dtype = _np_dtype(dtype)
    nodes = list(graph.node)

    def describe(index: int) -> str:
        node = nodes[index]
        return f"node {index} {node.name!r} ({node.op_type})" if node.name else f"node {index} ({node.op_type})"

    def attribute(node: Any, name: str, default: Any) -> Any:
        for a in node.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    # Fold constant subgraphs first.
    remaining = []
    for index, node in enumerate(nodes):
        if node.op_type in _FOLDABLE and all(name in constants for name in node.input):
            if node.op_type == "Constant":
                value = attribute(node, "value", None)
                if value is None:
                    raise InteropError(f"{describe(index)}: only a tensor 'value' Constant is supported")
                constants[node.output[0]] = numpy_helper.to_array(value)
            elif node.op_type == "Transpose":
                array = constants[node.input[0]]
                constants[node.output[0]] = np.transpose(array, attribute(node, "perm", None))
            elif node.op_type == "Cast":
                to = attribute(node, "to", TensorProto.FLOAT)
                constants[node.output[0]] = constants[node.input[0]].astype(
                    onnx.helper.tensor_dtype_to_np_dtype(to))
            else:
                constants[node.output[0]] = constants[node.input[0]]
        else:
            remaining.append(index)

    current = input_info.name
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    activations: list[str] = []
    slope: float | None = None
    scaler_mean: np.ndarray | None = None
    scaler_std: np.ndarray | None = None
    pending: tuple[np.ndarray, int] | None = None  # a MatMul's weights, waiting for its Add

    def constant_operand(node: Any, index: int) -> tuple[str, np.ndarray]:
        """(the data input, the constant) of a binary node with one of each."""
        names = list(node.input)
        if len(names) == 2 and names[0] == current and names[1] in constants:
            return names[0], constants[names[1]]
        if len(names) == 2 and names[1] == current and names[0] in constants:
            return names[1], constants[names[0]]
        raise InteropError(f"{describe(index)}: expected the running tensor {current!r} and a constant, "
                           f"got inputs {names}")

    def vector(array: np.ndarray, length: int, what: str, index: int) -> np.ndarray:
        # What broadcasts along a row of the (batch, features) activations: a scalar,
        # (length,) or (1, length). A column (length, 1) would broadcast down the batch.
        flat = np.asarray(array, dtype=np.float64)
        if flat.ndim > 2 or flat.ndim == 2 and flat.shape[0] != 1:
            raise InteropError(f"{describe(index)}: {what} has shape {np.shape(array)}, expected ({length},) "
                               f"or (1, {length}), which broadcast along each row")
        if flat.size == 1:
            flat = np.full(length, float(flat.reshape(())))
        flat = flat.reshape(-1)
        if flat.shape != (length,):
            raise InteropError(f"{describe(index)}: {what} has shape {np.shape(array)}, expected ({length},)")
        return flat

    def close_without_bias() -> None:
        """A MatMul not followed by the Add of a bias: a layer whose bias is 0, as
        torch.onnx writes nn.Linear(bias=False)."""
        nonlocal pending
        assert pending is not None
        w = pending[0]
        pending = None
        _close_layer(activations, weights)
        weights.append(w)
        biases.append(np.zeros(w.shape[1]))

    position = 0
    while position < len(remaining):
        index = remaining[position]
        position += 1
        node = nodes[index]
        op = node.op_type
        if op == "Mul" and weights and len(activations) < len(weights) and position < len(remaining):
            # Leaky relu as max(z, slope z) (slope <= 1) or min(z, slope z) (slope > 1),
            # as to_onnx writes it for float64 slopes LeakyRelu's float alpha cannot hold.
            following = nodes[remaining[position]]
            _, value = constant_operand(node, index)
            if following.op_type in ("Max", "Min") and sorted(following.input) == sorted([current, node.output[0]]) \
                    and np.size(value) == 1:
                alpha = float(np.asarray(value, dtype=np.float64).reshape(()))
                if alpha >= 0 and (following.op_type == "Max") == (alpha <= 1):
                    if slope is not None and alpha != slope:
                        raise InteropError(f"{describe(index)}: leaky relu slope {alpha} differs from an earlier "
                                           f"layer's {slope}; swiftmlp has one slope per network")
                    slope = alpha
                    activations.append("leaky_relu")
                    current = following.output[0]
                    position += 1
                    continue
        if op == "Identity" and list(node.input) == [current]:
            current = node.output[0]
            continue
        if list(node.input).count(current) == 0:
            raise InteropError(f"{describe(index)} does not take the running tensor {current!r}: "
                               "the graph is not a chain of layers")
        if pending is not None and op != "Add":
            close_without_bias()
        if op in ("Sub", "Div", "Mul") and not weights:
            _, value = constant_operand(node, index)
            width = None
            if op == "Sub" and scaler_mean is None and scaler_std is None and list(node.input)[0] == current:
                width = _input_width(input_info, value)
                scaler_mean = vector(value, width, "the mean", index)
            elif op in ("Div", "Mul") and scaler_std is None and list(node.input)[0] == current:
                width = _input_width(input_info, value)
                factor = vector(value, width, "the scale", index)
                scaler_std = factor if op == "Div" else 1.0 / factor
                if not np.all(np.isfinite(scaler_std) & (scaler_std > 0)):
                    raise InteropError(f"{describe(index)}: the input scale must be finite and positive")
            else:
                raise InteropError(f"{describe(index)}: only x - mean then / std (or * 1/std) is supported "
                                   "before the first layer, as the input scaler")
            current = node.output[0]
            continue
        if op == "Gemm":
            if len(node.input) < 2 or node.input[0] != current or node.input[1] not in constants:
                raise InteropError(f"{describe(index)}: Gemm must take the running tensor as A and "
                                   "constant weights as B")
            if attribute(node, "transA", 0) or attribute(node, "alpha", 1.0) != 1.0 \
                    or attribute(node, "beta", 1.0) != 1.0:
                raise InteropError(f"{describe(index)}: Gemm with transA, alpha or beta other than 0, 1, 1")
            w = np.asarray(constants[node.input[1]], dtype=np.float64)
            if w.ndim != 2:
                raise InteropError(f"{describe(index)}: weights of shape {w.shape}; 2-D expected")
            if attribute(node, "transB", 0):
                w = w.T
            if len(node.input) > 2 and node.input[2]:
                if node.input[2] not in constants:
                    raise InteropError(f"{describe(index)}: the bias C must be a constant")
                b = vector(constants[node.input[2]], w.shape[1], "the bias", index)
            else:
                b = np.zeros(w.shape[1])
            _close_layer(activations, weights)
            weights.append(w)
            biases.append(b)
            current = node.output[0]
            continue
        if op == "MatMul":
            _, value = constant_operand(node, index)
            if list(node.input)[0] != current:
                raise InteropError(f"{describe(index)}: MatMul must compute x @ W (x first)")
            w = np.asarray(value, dtype=np.float64)
            if w.ndim != 2:
                raise InteropError(f"{describe(index)}: weights of shape {w.shape}; 2-D expected")
            pending = (w, index)
            current = node.output[0]
            continue
        if op == "Add":
            if pending is None:
                raise InteropError(f"{describe(index)}: an Add that does not follow a MatMul")
            _, value = constant_operand(node, index)
            w = pending[0]
            b = vector(value, w.shape[1], "the bias", index)
            pending = None
            _close_layer(activations, weights)
            weights.append(w)
            biases.append(b)
            current = node.output[0]
            continue
        if op in _ONNX_ACTIVATIONS:
            if not weights or len(activations) == len(weights):
                raise InteropError(f"{describe(index)}: an activation must follow a Gemm or MatMul + Add "
                                   "(two in a row, or one before the first layer, has no swiftmlp equivalent)")
            name = _ONNX_ACTIVATIONS[op]
            if op == "LeakyRelu":
                # The attribute is a 32-bit float, its default 0.01 too.
                alpha = float(np.float32(attribute(node, "alpha", 0.01)))
                if slope is not None and alpha != slope:
                    raise InteropError(f"{describe(index)}: LeakyRelu alpha {alpha} differs from an earlier "
                                       f"layer's {slope}; swiftmlp has one slope per network")
                slope = alpha
            if op == "Softmax":
                axis = attribute(node, "axis", -1 if _opset(model) >= 13 else 1)
                if axis not in (-1, 1):
                    raise InteropError(f"{describe(index)}: Softmax over axis {axis}; only the last axis "
                                       "(-1, or 1 for a batch of rows) is supported")
            activations.append(name)
            current = node.output[0]
            continue
        raise InteropError(f"{describe(index)}: operator {op} has no swiftmlp equivalent (supported: Gemm, "
                           "MatMul + Add, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, and Sub/Div for the "
                           "input scaler)")
    if pending is not None:
        close_without_bias()
    _close_layer(activations, weights)
    if current != graph.output[0].name:
        raise InteropError(f"the chain ends in {current!r}, not in the graph output {graph.output[0].name!r}")
    for index, name in enumerate(activations[:-1]):
        if name == "softmax":
            raise InteropError(f"layer {index} ends in Softmax; swiftmlp allows it on the last layer only")
    props = {p.key: p.value for p in model.metadata_props}
    loss = loss or props.get("swiftmlp.loss")
    if "swiftmlp.leaky_relu_slope" in props:
        recorded = float(props["swiftmlp.leaky_relu_slope"])
        # A LeakyRelu's alpha is the recorded slope rounded to float: take the exact one.
        if slope is None or float(np.float32(recorded)) == slope:
            slope = recorded
    scaler = None
    if scaler_mean is not None or scaler_std is not None:
        width = weights[0].shape[0] if weights else 0

        def widened(values: np.ndarray | None, fill: float) -> np.ndarray:
            # A scalar read before the width was known (a symbolic input shape).
            if values is None:
                return np.full(width, fill)
            return np.full(width, values[0]) if values.shape == (1,) and width != 1 else values
        scaler = (widened(scaler_mean, 0.0), widened(scaler_std, 1.0))
    return _build(weights, biases, activations, dtype=dtype, loss=loss,
                  leaky_relu_slope=0.01 if slope is None else slope, scaler=scaler, what="the ONNX graph")


def _close_layer(activations: list[str], weights: list[np.ndarray]) -> None:
    """Gives the previous layer identity when no activation followed it."""
    if len(activations) < len(weights):
        activations.append("identity")


def _input_width(input_info: Any, value: np.ndarray) -> int:
    dims = input_info.type.tensor_type.shape.dim
    if len(dims) == 2 and dims[1].HasField("dim_value"):
        return int(dims[1].dim_value)
    return int(np.size(value))


def _opset(model: Any) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return 1


# ---- PyTorch ------------------------------------------------------------------------------------

def to_torch(network: Network) -> Any:
    """The network as a ``torch.nn.Sequential`` of ``Linear`` (weight = W.T, n_out x
    n_in; bias = b) and ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU(slope)``,
    ``Softmax(dim=-1)`` (nothing for identity), in the network's dtype (float32 or
    float64). torch has no input-scaler module: a scaler is folded into the first
    Linear (W / std, b - (mean / std) W), the same function up to rounding."""
    import torch
    from torch import nn

    weights, biases, activations = _layers(network)
    _folded_scaler(network, weights, biases)
    torch_dtype = torch.float32 if network.dtype == np.float32 else torch.float64
    modules: list[Any] = []
    for w, b, activation in zip(weights, biases, activations):
        linear = nn.Linear(w.shape[0], w.shape[1], dtype=torch_dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            linear.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
        modules.append(linear)
        if activation == "sigmoid":
            modules.append(nn.Sigmoid())
        elif activation == "tanh":
            modules.append(nn.Tanh())
        elif activation == "relu":
            modules.append(nn.ReLU())
        elif activation == "leaky_relu":
            modules.append(nn.LeakyReLU(negative_slope=float(network.leaky_relu_slope)))
        elif activation == "softmax":
            modules.append(nn.Softmax(dim=-1))
    return nn.Sequential(*modules)


def from_torch(module: Any, *, dtype: Any = None, loss: str | None = None) -> Network:
    """A Network from a ``torch.nn.Sequential`` (nested ones are flattened) of
    ``Linear`` (a missing bias is zero; weight transposed to n_in x n_out) and
    ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``Softmax`` over the last
    dimension (last layer only), ``Identity``, and ``Dropout`` (an identity at
    inference). ``dtype`` defaults to the first Linear's (float64 stays float64,
    anything else becomes float32); ``loss`` follows the output activation unless
    given. Raises :class:`InteropError` naming the first module that does not fit."""
    from torch import nn

    def flatten(seq: Any, prefix: str) -> list[tuple[str, Any]]:
        found = []
        for name, child in seq.named_children():
            path = f"{prefix}{name}"
            if isinstance(child, nn.Sequential):
                found.extend(flatten(child, path + "."))
            else:
                found.append((path, child))
        return found

    if isinstance(module, nn.Sequential):
        children = flatten(module, "")
    elif isinstance(module, nn.Linear):
        children = [("0", module)]
    else:
        raise InteropError(f"expected an nn.Sequential (or one nn.Linear), got {type(module).__name__}")
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    activations: list[str] = []
    slope: float | None = None
    first_dtype = None
    for path, child in children:
        kind = type(child).__name__
        if isinstance(child, nn.Linear):
            w = child.weight.detach().cpu()
            if first_dtype is None:
                first_dtype = w.dtype
            _close_layer(activations, weights)
            weights.append(w.double().numpy().T.copy())
            biases.append(child.bias.detach().cpu().double().numpy().copy() if child.bias is not None
                          else np.zeros(w.shape[0]))
            continue
        if isinstance(child, (nn.Identity, nn.Dropout)):
            continue
        names = {nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh",
                 nn.Softmax: "softmax"}
        name = next((n for cls, n in names.items() if type(child) is cls), None)
        if name is None:
            raise InteropError(f"module {path} ({kind}) has no swiftmlp equivalent (supported: Linear, ReLU, "
                               "LeakyReLU, Sigmoid, Tanh, Softmax, Identity, Dropout)")
        if not weights or len(activations) == len(weights):
            raise InteropError(f"module {path} ({kind}) must follow a Linear (two activations in a row, or one "
                               "before the first Linear, have no swiftmlp equivalent)")
        if name == "leaky_relu":
            if slope is not None and child.negative_slope != slope:
                raise InteropError(f"module {path} (LeakyReLU) has slope {child.negative_slope}, an earlier one "
                                   f"{slope}; swiftmlp has one slope per network")
            slope = float(child.negative_slope)
        # dim None is torch's legacy implicit choice: 1 for a batch of rows.
        if name == "softmax" and child.dim not in (-1, 1, None):
            raise InteropError(f"module {path} (Softmax) is over dim {child.dim}; only the last (-1, or 1 for "
                               "a batch of rows) is supported")
        activations.append(name)
    _close_layer(activations, weights)
    for index, name in enumerate(activations[:-1]):
        if name == "softmax":
            raise InteropError(f"layer {index} ends in Softmax; swiftmlp allows it on the last layer only")
    if dtype is None:
        import torch
        dtype = np.float64 if first_dtype == torch.float64 else np.float32
    return _build(weights, biases, activations, dtype=dtype, loss=loss,
                  leaky_relu_slope=0.01 if slope is None else slope, what="the torch module")


# ---- scikit-learn -----------------------------------------------------------------------------------

_SKLEARN_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                        "softmax": "softmax"}


def from_sklearn(estimator: Any, *, dtype: Any = "float64") -> Network:
    """A Network from a fitted ``sklearn.neural_network.MLPClassifier`` or
    ``MLPRegressor``, or a ``Pipeline`` of a ``StandardScaler`` (which becomes the
    input scaler) and one of them. ``coefs_[i]`` is already n_in x n_out and is
    copied as it is; ``intercepts_[i]`` are the biases; ``activation`` gives the
    hidden layers and ``out_activation_`` the last (identity, logistic -> sigmoid,
    softmax); the loss follows it (mse, binary cross-entropy, softmax
    cross-entropy).

    The network's outputs are ``predict_proba``'s positive column for a binary
    classifier (one sigmoid output; ``predict_proba`` is ``[1 - p, p]``),
    ``predict_proba`` itself for multiclass and multilabel classifiers, and
    ``predict`` (as a column) for a regressor. Class labels stay in
    ``estimator.classes_``."""
    scaler = None
    steps = getattr(estimator, "steps", None)
    if steps is not None:
        *before, (_, last) = steps
        for name, step in before:
            if step is None or step == "passthrough":
                continue
            if type(step).__name__ != "StandardScaler":
                raise InteropError(f"pipeline step {name!r} ({type(step).__name__}) has no swiftmlp equivalent; "
                                   "only a StandardScaler before the MLP")
            if scaler is not None:
                raise InteropError(f"pipeline step {name!r}: a second StandardScaler")
            width = int(step.n_features_in_)
            mean = np.asarray(step.mean_, dtype=np.float64) if step.with_mean else np.zeros(width)
            std = np.asarray(step.scale_, dtype=np.float64) if step.with_std else np.ones(width)
            scaler = (mean, std)
        estimator = last
    kind = type(estimator).__name__
    if kind not in ("MLPClassifier", "MLPRegressor"):
        raise InteropError(f"expected a fitted sklearn MLPClassifier or MLPRegressor, got {kind}")
    if not hasattr(estimator, "coefs_"):
        raise InteropError(f"the {kind} is not fitted (no coefs_)")
    hidden = _SKLEARN_ACTIVATIONS.get(estimator.activation)
    output = _SKLEARN_ACTIVATIONS.get(estimator.out_activation_)
    if hidden is None or hidden == "softmax" or output is None:
        raise InteropError(f"activation {estimator.activation!r} / out_activation_ "
                           f"{estimator.out_activation_!r} has no swiftmlp equivalent")
    weights = [np.asarray(w, dtype=np.float64) for w in estimator.coefs_]
    biases = [np.asarray(b, dtype=np.float64) for b in estimator.intercepts_]
    activations = [hidden] * (len(weights) - 1) + [output]
    return _build(weights, biases, activations, dtype=dtype, scaler=scaler, what=f"the {kind}")


# ---- FANN -------------------------------------------------------------------------------------------

def load_fann(path: PathLike, dtype: Any = "float64") -> Network:
    """A Network from a FANN 2.x ``.net`` file (``fann_save``), through
    ``smlp_load_fann``: it predicts what ``fann_run`` computes. FANN's steepness is
    folded into the weights; shortcut (cascade) networks, sparse layers and
    activations swiftmlp lacks are refused with the line named (an
    :class:`~swiftmlp.ArgumentError` or :class:`~swiftmlp.FormatError`)."""
    np_dtype = _np_dtype(dtype)
    handle = c_void_p()
    check(lib.smlp_load_fann(c_path(path), int(DType.FLOAT32 if np_dtype == np.float32 else DType.FLOAT64),
                             byref(handle)))
    return Network._from_handle(handle.value)


#: swiftmlp activation -> (FANN activation code, steepness, factor the weights are
#: divided by so that FANN's f(steepness * z) is the network's f(z)). The factors
#: are powers of two, so the weights FANN stores are exact. Linear and rectifier
#: layers use steepness 2**-20: fann_run clamps steepness * sum, which is z here, to
#: +-150 / steepness, so |z| <= 150 * 2**20 (about 1.6e8) instead of 150.
_FANN_CODES = {"identity": (0, 2.0 ** -20, 2.0 ** -20), "sigmoid": (3, 0.5, 1.0), "tanh": (5, 1.0, 1.0),
               "relu": (18, 2.0 ** -20, 2.0 ** -20), "leaky_relu": (19, 2.0 ** -20, 2.0 ** -20)}


def to_fann(network: Network, path: PathLike) -> None:
    """Writes the network as a FANN 2.1 ``.net`` file (``FANN_FLO_2.1``, layered, as
    ``fann_save`` writes it) that ``fann_create_from_file`` reads: identity ->
    FANN_LINEAR, sigmoid -> FANN_SIGMOID (steepness 0.5), tanh ->
    FANN_SIGMOID_SYMMETRIC (steepness 1), relu -> FANN_LINEAR_PIECE_RECT and leaky
    relu (slope 0.01 only) -> FANN_LINEAR_PIECE_RECT_LEAKY, the last two only in
    FANN newer than the 2.2.0 release. The scaler is folded into the first layer
    (FANN's own scaling is not applied by fann_run). Softmax and other leaky
    slopes have no FANN counterpart and raise :class:`InteropError`. Weights are
    written with 20 digits, as fann_save does, so they read back exactly."""
    weights, biases, activations = _layers(network)
    for index, activation in enumerate(activations):
        if activation == "softmax":
            raise InteropError(f"layer {index} is softmax, which FANN does not have")
        # FANN's slope is 0.01, compared in the network's type (float32: both rounded).
        cast = network.dtype.type
        if activation == "leaky_relu" and cast(network.leaky_relu_slope) != cast(0.01):
            raise InteropError(f"layer {index} is leaky_relu with slope {network.leaky_relu_slope}; "
                               "FANN's FANN_LINEAR_PIECE_RECT_LEAKY has slope 0.01")
    _folded_scaler(network, weights, biases)
    sizes = network.layer_sizes
    lines = ["FANN_FLO_2.1", f"num_layers={len(sizes)}"]
    # FANN's defaults for the training settings (fann_create_standard).
    lines += ["learning_rate=0.700000", "connection_rate=1.000000", "network_type=0",
              "learning_momentum=0.000000", "training_algorithm=2", "train_error_function=1",
              "train_stop_function=0", "cascade_output_change_fraction=0.010000",
              "quickprop_decay=-0.000100", "quickprop_mu=1.750000", "rprop_increase_factor=1.200000",
              "rprop_decrease_factor=0.500000", "rprop_delta_min=0.000000", "rprop_delta_max=50.000000",
              "rprop_delta_zero=0.100000", "cascade_output_stagnation_epochs=12",
              "cascade_candidate_change_fraction=0.010000", "cascade_candidate_stagnation_epochs=12",
              "cascade_max_out_epochs=150", "cascade_min_out_epochs=50", "cascade_max_cand_epochs=150",
              "cascade_min_cand_epochs=50", "cascade_num_candidate_groups=2",
              "bit_fail_limit=3.49999994039535522461e-01", "cascade_candidate_limit=1.00000000000000000000e+03",
              "cascade_weight_multiplier=4.00000000000000022204e-01",
              "cascade_activation_functions_count=10", "cascade_activation_functions=3 5 7 8 10 11 14 15 16 17 ",
              "cascade_activation_steepnesses_count=4",
              "cascade_activation_steepnesses=2.50000000000000000000e-01 5.00000000000000000000e-01 "
              "7.50000000000000000000e-01 1.00000000000000000000e+00 ",
              "layer_sizes=" + "".join(f"{n + 1} " for n in sizes), "scale_included=0"]
    neurons = ["(0, 0, 0.00000000000000000000e+00) "] * (sizes[0] + 1)
    connections = []
    first = 0  # index of the first neuron of the previous layer
    for layer, (w, b, activation) in enumerate(zip(weights, biases, activations)):
        code, steepness, factor = _FANN_CODES[activation]
        n_in, n_out = w.shape
        neurons += [f"({n_in + 1}, {code}, {steepness:.20e}) "] * n_out + [f"(0, {code}, {steepness:.20e}) "]
        for j in range(n_out):
            for i in range(n_in):
                connections.append(f"({first + i}, {float(w[i, j]) / factor:.20e}) ")
            connections.append(f"({first + n_in}, {float(b[j]) / factor:.20e}) ")
        first += n_in + 1
    lines.append("neurons (num_inputs, activation_function, activation_steepness)=" + "".join(neurons))
    lines.append("connections (connected_to_neuron, weight)=" + "".join(connections))
    with open(os.fspath(path), "w", encoding="ascii") as file:
        file.write("\n".join(lines) + "\n")
