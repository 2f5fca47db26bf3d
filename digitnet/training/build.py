"""Turn a ModelConfig into a network, with weights from a seeded random stream."""

from __future__ import annotations

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.cnn import build_cnn
from digitnet.nn.deskew import Deskew
from digitnet.nn.mlp import build_mlp
from digitnet.nn.model import Sequential
from digitnet.training.config import ModelConfig

N_INPUTS = 784
N_CLASSES = 10


def build_model(
    config: ModelConfig,
    rng: np.random.Generator,
    *,
    dtype: type = np.float32,
    n_inputs: int = N_INPUTS,
    n_classes: int = N_CLASSES,
) -> Sequential:
    """The network `config` describes, from n_inputs features (an MLP; a CNN always takes
    28x28 images) to n_classes outputs; the same rng state gives bit-identical weights."""
    network = _build_network(config, rng, dtype, n_inputs, n_classes)
    if config.deskew:
        return Sequential([Deskew(), *network.layers], network.loss)
    return network


def _build_network(
    config: ModelConfig, rng: np.random.Generator, dtype: type, n_inputs: int, n_classes: int
) -> Sequential:
    loss_kwargs = {"label_smoothing": config.label_smoothing} if config.label_smoothing else None
    if config.kind == "mlp":
        return build_mlp(
            (n_inputs, *config.hidden, n_classes),
            activation=config.activation,
            output=config.output,
            init=config.init,
            dropout=config.dropout,
            input_dropout=config.input_dropout,
            rng=rng,
            dtype=dtype,
            loss_kwargs=loss_kwargs,
        )
    if config.kind == "cnn":
        return build_cnn(
            config.conv_channels,
            config.hidden,
            kernel_size=config.kernel_size,
            pool_every=config.pool_every,
            padding=config.padding,
            batch_norm=config.batch_norm,
            dropout=config.dropout,
            n_classes=n_classes,
            rng=rng,
            dtype=dtype,
            loss_kwargs=loss_kwargs,
        )
    raise ConfigError(f"unknown model kind {config.kind!r}")


def input_layout(config: ModelConfig) -> str:
    """How the network wants its inputs: "flat" (n, 784) vectors or "image" (n, 1, 28, 28)."""
    return "image" if config.kind == "cnn" else "flat"


def layout_of(model: Sequential) -> str:
    """The input layout a built (or loaded) network expects, from its first layer after any
    fixed preprocessing (Deskew takes either layout)."""
    return model.input_layout
