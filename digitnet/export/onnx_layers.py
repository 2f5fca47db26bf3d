"""Each digitnet layer as ONNX nodes, and a whole network from its input to its probabilities.

A converter takes the graph, the layer, the name of its input and the input's shape without
the batch dimension, and returns the name and shape of its output. Shapes are checked as the
layers go, so that a network which would not run in digitnet is refused rather than exported.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from digitnet.errors import ExportError
from digitnet.export.graph import Graph
from digitnet.export.onnx_deskew import deskew_nodes
from digitnet.nn.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from digitnet.nn.conv import Conv2D
from digitnet.nn.deskew import Deskew
from digitnet.nn.ensemble import TINY_PROBABILITY, Ensemble
from digitnet.nn.layers import Dense, Dropout, Layer
from digitnet.nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from digitnet.nn.model import Sequential
from digitnet.nn.norm import BatchNorm
from digitnet.nn.pooling import Flatten, MaxPool2D

Shape = tuple[int, ...]  # one sample's shape: (features,) or (channels, height, width)
Converter = Callable[[Graph, Layer, str, Shape, str], tuple[str, Shape]]


def _refuse(label: str, layer: Layer, reason: str) -> ExportError:
    return ExportError(f"{label} ({layer!r}) cannot be exported to ONNX: {reason}")


def _dense(graph: Graph, layer: Dense, x: str, shape: Shape, label: str) -> tuple[str, Shape]:
    if shape != (layer.fan_in,):
        raise _refuse(label, layer, f"it takes {layer.fan_in} inputs but gets shape {shape}")
    W = graph.constant(layer.params["W"], f"{label}/W")  # (fan_in, fan_out): Gemm's B as is
    b = graph.constant(layer.params["b"], f"{label}/b")
    return graph.op("Gemm", [x, W, b], label), (layer.fan_out,)


def _conv(graph: Graph, layer: Conv2D, x: str, shape: Shape, label: str) -> tuple[str, Shape]:
    if len(shape) != 3 or shape[0] != layer.in_channels:
        raise _refuse(label, layer, f"it takes {layer.in_channels} channels, gets shape {shape}")
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    out_h, out_w = (shape[1] + 2 * ph - kh) // sh + 1, (shape[2] + 2 * pw - kw) // sw + 1
    if out_h < 1 or out_w < 1:
        raise _refuse(label, layer, f"its kernel exceeds the padded input {shape}")
    W = graph.constant(layer.params["W"], f"{label}/W")  # (out, in, kh, kw), as ONNX's
    b = graph.constant(layer.params["b"], f"{label}/b")
    out = graph.op(
        "Conv", [x, W, b], label, kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw]
    )
    return out, (layer.out_channels, out_h, out_w)


def _max_pool(
    graph: Graph, layer: MaxPool2D, x: str, shape: Shape, label: str
) -> tuple[str, Shape]:
    (ph, pw), (sh, sw) = layer.pool_size, layer.stride
    if len(shape) != 3 or shape[1] < ph or shape[2] < pw:
        raise _refuse(label, layer, f"it takes (channels, height, width) inputs, gets {shape}")
    out_shape = (shape[0], (shape[1] - ph) // sh + 1, (shape[2] - pw) // sw + 1)
    out = graph.op("MaxPool", [x], label, kernel_shape=[ph, pw], strides=[sh, sw])
    return out, out_shape  # ONNX's default floor mode drops partial windows, as digitnet does


def _batch_norm(
    graph: Graph, layer: BatchNorm, x: str, shape: Shape, label: str
) -> tuple[str, Shape]:
    if len(shape) not in (1, 3) or shape[0] != layer.n_features:
        raise _refuse(label, layer, f"it normalises {layer.n_features} features, gets {shape}")
    inputs = [x] + [
        graph.constant(array, f"{label}/{name}")
        for name, array in (
            ("gamma", layer.params["gamma"]),
            ("beta", layer.params["beta"]),
            ("running_mean", layer.buffers["running_mean"]),
            ("running_var", layer.buffers["running_var"]),
        )
    ]  # inference form: the running statistics, never the batch's own
    return graph.op("BatchNormalization", inputs, label, epsilon=layer.eps), shape


def _flatten(graph: Graph, layer: Flatten, x: str, shape: Shape, label: str) -> tuple[str, Shape]:
    return graph.op("Flatten", [x], label, axis=1), (int(np.prod(shape)),)


def _softmax(graph: Graph, layer: Softmax, x: str, shape: Shape, label: str) -> tuple[str, Shape]:
    # digitnet's softmax runs over the last axis; an explicit axis reads alike in every opset
    return graph.op("Softmax", [x], label, axis=len(shape)), shape


def _leaky_relu(
    graph: Graph, layer: LeakyReLU, x: str, shape: Shape, label: str
) -> tuple[str, Shape]:
    return graph.op("LeakyRelu", [x], label, alpha=layer.slope), shape


def _element_wise(op_type: str) -> Converter:
    """A converter to the one-input ONNX operator op_type, shape unchanged."""
    return lambda graph, layer, x, shape, label: (graph.op(op_type, [x], label), shape)


def _dropout(graph: Graph, layer: Dropout, x: str, shape: Shape, label: str) -> tuple[str, Shape]:
    return x, shape  # the identity at inference: no node at all


def _deskew(graph: Graph, layer: Deskew, x: str, shape: Shape, label: str) -> tuple[str, Shape]:
    side = int(round(np.sqrt(np.prod(shape))))
    if shape not in ((side * side,), (1, side, side)) or side == 0:
        raise _refuse(label, layer, f"it needs square one-channel images, gets {shape}")
    return deskew_nodes(graph, x, shape, side, label), shape


def _ensemble(graph: Graph, layer: Ensemble, x: str, shape: Shape, label: str) -> tuple[str, Shape]:
    weighted = []
    for k, (member, weight) in enumerate(zip(layer.members, layer.weights)):
        member_shape = _member_shape(layer, member, shape, label)
        seen = graph.reshape(x, (-1, *member_shape), f"{label}.m{k}/input")
        probabilities, classes = network_probabilities(
            graph, member, seen, member_shape, f"{label}.m{k}"
        )
        share = graph.constant(weight, f"{label}.m{k}/weight")
        weighted.append(graph.op("Mul", [probabilities, share], f"{label}.m{k}/weighted"))
    total = graph.op("Sum", weighted, f"{label}/mean")
    floor = graph.constant(TINY_PROBABILITY, f"{label}/tiny")
    kept = graph.op("Max", [total, floor], f"{label}/kept")
    return graph.op("Log", [kept], label), (classes,)


def _member_shape(layer: Ensemble, member: Sequential, shape: Shape, label: str) -> Shape:
    """One sample's shape as the member takes it (ensemble._in_layout)."""
    size = int(np.prod(shape))
    if member.input_layout != "image":
        return (size,)
    if size != 28 * 28:
        raise _refuse(label, layer, f"a convolutional member takes 28x28 images, gets {shape}")
    return (1, 28, 28)


# exact classes only: a subclass of one of these may compute something else
CONVERTERS: dict[type[Layer], Converter] = {
    Dense: _dense,
    Dropout: _dropout,
    Sigmoid: _element_wise("Sigmoid"),
    Tanh: _element_wise("Tanh"),
    ReLU: _element_wise("Relu"),
    LeakyReLU: _leaky_relu,
    Softmax: _softmax,
    Conv2D: _conv,
    MaxPool2D: _max_pool,
    Flatten: _flatten,
    BatchNorm: _batch_norm,
    Deskew: _deskew,
    Ensemble: _ensemble,
}

# the first opset whose operators express a layer; the others need no more than opset 9
MIN_OPSET: dict[type[Layer], tuple[int, str]] = {Deskew: (11, "GatherElements and Pad's inputs")}


def network_outputs(
    graph: Graph, model: Sequential, x: str, shape: Shape, prefix: str = ""
) -> tuple[str, Shape]:
    """The network's outputs (logits for cross-entropy) for input x of shape `shape`."""
    for i, layer in enumerate(model.layers):
        label = f"{prefix}.{i}" if prefix else f"layer {i}"
        converter = CONVERTERS.get(type(layer))
        if converter is None:
            known = ", ".join(cls.__name__ for cls in CONVERTERS)
            raise _refuse(label, layer, f"digitnet exports only its own layers ({known})")
        needed, operators = MIN_OPSET.get(type(layer), (0, ""))
        if graph.opset < needed:
            raise _refuse(
                label, layer, f"it needs ONNX opset {needed} or later ({operators}), "
                f"not {graph.opset}"
            )  # fmt: skip
        x, shape = converter(graph, layer, x, shape, label)
    return x, shape


def network_probabilities(
    graph: Graph, model: Sequential, x: str, shape: Shape, prefix: str = ""
) -> tuple[str, int]:
    """(N, classes) probabilities as model.predict_proba gives them (the loss's probabilities
    of the outputs divided by the calibration temperature), and the number of classes."""
    outputs, out_shape = network_outputs(graph, model, x, shape, prefix)
    where = f"{prefix}/probabilities" if prefix else "probabilities"
    if len(out_shape) != 1:
        raise ExportError(
            f"{prefix or 'the network'} gives outputs of shape {out_shape}, not (classes,): "
            "it cannot be exported"
        )
    if model.temperature != 1.0:
        temperature = graph.constant(model.temperature, f"{where}/temperature")
        outputs = graph.op("Div", [outputs, temperature], f"{where}/calibrated")
    if type(model.loss) is SoftmaxCrossEntropy:
        return graph.op("Softmax", [outputs], where, axis=1), out_shape[0]
    if type(model.loss) is MeanSquaredError:
        return _clipped_shares(graph, outputs, out_shape[0], where), out_shape[0]
    raise ExportError(f"the loss {model.loss!r} has no ONNX form: it cannot be exported")


def _clipped_shares(graph: Graph, outputs: str, classes: int, where: str) -> str:
    """MeanSquaredError.probabilities: outputs clipped at 0 over their row sum, uniform where
    that sum is 0."""
    clipped = graph.op("Relu", [outputs], f"{where}/clipped")
    total = graph.reduce_sum(clipped, [1], f"{where}/sum")
    zero, one = graph.constant(0.0, f"{where}/zero"), graph.constant(1.0, f"{where}/one")
    empty = graph.op("Not", [graph.op("Greater", [total, zero], f"{where}/some")], f"{where}/none")
    divisor = graph.op("Where", [empty, one, total], f"{where}/divisor")
    shares = graph.op("Div", [clipped, divisor], f"{where}/shares")
    uniform = graph.constant(1.0 / classes, f"{where}/uniform")
    return graph.op("Where", [empty, uniform, shares], where)
