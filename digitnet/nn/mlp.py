"""build_mlp: the fully connected networks of the seeds and the `mlp` presets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.activations import Sigmoid, activation_from_name
from digitnet.nn.layers import Dense, Dropout, Layer
from digitnet.nn.losses import loss_from_name
from digitnet.nn.model import Sequential


def build_mlp(
    sizes: Sequence[int],
    *,
    activation: str = "relu",
    output: str = "softmax",
    init: str = "he_normal",
    dropout: float = 0.0,
    input_dropout: float = 0.0,
    rng: np.random.Generator,
    dtype: type[np.floating] = np.float32,
    loss_kwargs: dict | None = None,
) -> Sequential:
    """A fully connected network, e.g. sizes (784, 16, 16, 10).

    Hidden layers: Dense → activation ("sigmoid", "tanh", "relu", "leaky_relu") → Dropout if
    dropout > 0; input_dropout > 0 also drops input pixels (Srivastava et al. 2014).
    output "softmax": the last Dense gives logits for SoftmaxCrossEntropy;
    output "sigmoid": the last Dense is followed by Sigmoid and the loss is MeanSquaredError.
    Weights come from rng; dropout masks from a child stream of it, so the initial weights do
    not depend on dropout. Raises ConfigError for bad sizes or names.
    """
    if len(sizes) < 2 or any(
        not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1
        for size in sizes
    ):
        raise ConfigError(f"sizes must be at least two positive integers, got {list(sizes)}")
    if output not in ("softmax", "sigmoid"):
        raise ConfigError(f"output must be 'softmax' or 'sigmoid', got {output!r}")
    activation_from_name(activation)  # validate even when there is no hidden layer
    layers: list[Layer] = []
    if input_dropout:
        layers.append(Dropout(input_dropout, rng=rng.spawn(1)[0]))
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Dense(fan_in, fan_out, init=init, rng=rng, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation_from_name(activation))
            if dropout:
                layers.append(Dropout(dropout, rng=rng.spawn(1)[0]))
    if output == "sigmoid":
        layers.append(Sigmoid())
    loss_name = "mse" if output == "sigmoid" else "cross_entropy"
    return Sequential(layers, loss_from_name(loss_name, **(loss_kwargs or {})))
