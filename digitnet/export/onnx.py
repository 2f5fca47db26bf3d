"""A digitnet network as an ONNX model: pixels in, the ten calibrated probabilities out.

The graph computes what Sequential.predict_proba does, layer by layer (onnx_layers.py), with
the input's name, shape and expected preprocessing in the model's metadata_props. Built with
the onnx package's own helpers and checked by onnx.checker; running it needs only an ONNX
runtime, never digitnet.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from digitnet import __version__
from digitnet.artifacts.atomic import write_atomically
from digitnet.errors import ExportError
from digitnet.export.graph import Graph
from digitnet.export.onnx_layers import Shape, network_probabilities
from digitnet.nn.activations import ReLU, Sigmoid, Softmax, Tanh
from digitnet.nn.deskew import Deskew
from digitnet.nn.layers import Dense, Dropout
from digitnet.nn.model import Sequential
from digitnet.nn.norm import BatchNorm

DEFAULT_OPSET = 17  # run by ONNX Runtime 1.12 (2022) and later
MIN_OPSET = 9  # Where, and Greater on floats; Deskew needs 11 (onnx_layers.MIN_OPSET)
INPUT_NAME, OUTPUT_NAME = "pixels", "probabilities"
MAX_BYTES = 2**31 - 1  # protobuf's limit for one message: an .onnx file without external data
SHAPE_KEEPING = (Dropout, Deskew, BatchNorm, Sigmoid, Tanh, ReLU, Softmax)  # LeakyReLU is a ReLU
PIXELS = (
    "float32 pixels in 0-1 (0-255 values divided by 255), bright ink on black, each digit "
    "framed as MNIST's: fitted into 20x20 and centred by its mass in 28x28, rows top to bottom"
)


def require_onnx():
    """The onnx package, or ExportError saying how to install it."""
    try:
        import onnx
    except ModuleNotFoundError:
        message = "ONNX export needs the onnx package: pip install digitnet[onnx]"
        raise ExportError(message) from None
    return onnx


def to_onnx(model: Sequential, meta: dict | None = None, *, opset: int = DEFAULT_OPSET):
    """The onnx.ModelProto of a network: input "pixels" (N, 784) or (N, 1, 28, 28) float32 as
    the network takes them, output "probabilities" (N, classes) as model.predict_proba gives
    them (softmax and calibration temperature included). meta: the model file's header, for
    the class labels and provenance recorded in metadata_props. ExportError for a layer or
    loss without an ONNX form, an opset out of range, or weights over 2 GB."""
    onnx = require_onnx()
    highest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= highest:
        raise ExportError(
            f"opset {opset} is out of range: digitnet exports opsets {MIN_OPSET} to {highest}"
        )
    weight_bytes = 4 * model.n_params
    if weight_bytes > MAX_BYTES:
        raise ExportError(
            f"the weights take {weight_bytes / 2**30:.1f} GiB, over the 2 GiB one ONNX file holds"
        )
    graph = Graph(onnx, opset)
    shape = input_shape(model)
    pixels = graph.name(INPUT_NAME)
    graph.name(OUTPUT_NAME)  # reserved for the output, named last
    probabilities, classes = network_probabilities(graph, model, pixels, shape)
    graph.nodes.append(onnx.helper.make_node("Identity", [probabilities], [OUTPUT_NAME]))
    float32 = onnx.TensorProto.FLOAT
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(
            graph.nodes,
            "digitnet",
            [onnx.helper.make_tensor_value_info(INPUT_NAME, float32, ["N", *shape])],
            [onnx.helper.make_tensor_value_info(OUTPUT_NAME, float32, ["N", classes])],
            graph.initializers,
            doc_string=f"digitnet {model!r}",
        ),
        opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="digitnet",
        producer_version=__version__,
    )
    proto.ir_version = onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    onnx.helper.set_model_props(proto, _metadata(model, meta or {}, shape, classes))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        first = str(error).strip().splitlines()[0]
        raise ExportError(f"the exported graph fails onnx.checker ({first})") from None
    return proto


def export_onnx(
    model: Sequential,
    path: str | os.PathLike[str],
    meta: dict | None = None,
    *,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Write to_onnx(model, meta, opset=opset) to path atomically; returns the path written.
    ExportError as to_onnx, and when the file cannot be written."""
    data = to_onnx(model, meta, opset=opset).SerializeToString()
    path = Path(path)
    try:
        return write_atomically(path, lambda handle: handle.write(data))
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from None


def input_shape(model: Sequential) -> Shape:
    """One sample's input shape: (1, 28, 28) for a convolutional network, else the first
    Dense layer's fan_in (784 for MNIST) when only shape-keeping layers come before it."""
    if model.input_layout == "image":
        return (1, 28, 28)
    for layer in model.layers:
        if isinstance(layer, Dense):
            return (layer.fan_in,)
        if not isinstance(layer, SHAPE_KEEPING):
            break
    return (784,)


def _metadata(model: Sequential, meta: dict, shape: Shape, classes: int) -> dict[str, str]:
    """metadata_props: what a user of the .onnx file needs to feed it and read its output."""
    labels = (meta.get("sklearn") or {}).get("classes", list(range(classes)))
    pixels = int(np.prod(shape)) == 784
    return {
        "input_name": INPUT_NAME,
        "input_shape": json.dumps(["N", *shape]),
        "input_preprocessing": PIXELS if pixels else "float32 features, as the network learnt them",
        "output_name": OUTPUT_NAME,
        "output": f"(N, {classes}) probabilities of the classes, rows summing to 1: softmax "
        "and the calibration temperature included",
        "classes": json.dumps(labels),
        "temperature": repr(float(model.temperature)),
        "min_confidence": repr(float(model.min_confidence)),  # below it digitnet says unsure
        "digitnet_version": __version__,
        "preset": str(meta.get("preset", "")),
    }
