"""build_cnn: the convolutional networks of the `cnn` presets, in VGG-style blocks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.activations import ReLU
from digitnet.nn.conv import Conv2D
from digitnet.nn.layers import Dense, Dropout, Layer
from digitnet.nn.losses import loss_from_name
from digitnet.nn.model import Sequential
from digitnet.nn.norm import BatchNorm
from digitnet.nn.pooling import Flatten, MaxPool2D

IMAGE_SIDE = 28


def _positive_ints(values: Sequence[int], name: str) -> list[int]:
    if any(not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1 for v in values):
        raise ConfigError(f"{name} must be positive integers, got {list(values)}")
    return [int(v) for v in values]


def build_cnn(
    conv_channels: Sequence[int],
    dense: Sequence[int],
    *,
    kernel_size: int = 3,
    pool_every: int = 2,
    padding: str = "same",
    batch_norm: bool = True,
    dropout: float = 0.0,
    n_classes: int = 10,
    rng: np.random.Generator,
    dtype: type[np.floating] = np.float32,
    loss_kwargs: dict | None = None,
) -> Sequential:
    """A CNN for (batch, 1, 28, 28) images giving n_classes logits for SoftmaxCrossEntropy.

    Scheme, e.g. conv_channels (32, 32, 64, 64), dense (128,):
        for each c in conv_channels:
            Conv2D(previous, c, kernel_size, padding=kernel_size // 2 for "same", 0 for "valid")
            → BatchNorm(c) (unless batch_norm is False) → ReLU, except that after every
            `pool_every` convs, and after a last unpaired one, MaxPool2D(2) comes before
            the ReLU (the same function: max and ReLU commute; ReLU on 4x fewer values)
        Flatten → for each d in dense: Dense(previous, d) → ReLU → Dropout(dropout) if > 0
        → Dense(previous, n_classes)
    so (32, 32, 64, 64) gives two blocks: 28×28 → 14×14 → 7×7 and Flatten yields 64·7·7.
    An odd kernel_size keeps the side through each conv; pooling floors odd sides. With
    batch_norm the convs keep their bias (harmless, BatchNorm's beta absorbs it).
    Weights are He-normal from rng; dropout masks come from a child stream, so the initial
    weights do not depend on dropout. Raises ConfigError for bad sizes or settings.
    """
    channels = _positive_ints(conv_channels, "conv_channels")
    hidden = _positive_ints(dense, "dense")
    if not channels:
        raise ConfigError("conv_channels must name at least one convolution")
    if not isinstance(kernel_size, (int, np.integer)) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ConfigError(f"kernel_size must be a positive odd integer, got {kernel_size!r}")
    if padding not in ("same", "valid"):
        raise ConfigError(f"padding must be 'same' or 'valid', got {padding!r}")
    if not isinstance(pool_every, (int, np.integer)) or pool_every < 1:
        raise ConfigError(f"pool_every must be a positive integer, got {pool_every!r}")
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout rate must be in [0, 1), got {dropout!r}")
    layers: list[Layer] = []
    previous, side = 1, IMAGE_SIDE
    for i, c in enumerate(channels):
        pad = kernel_size // 2 if padding == "same" else 0
        layers.append(Conv2D(previous, c, kernel_size, padding=pad, rng=rng, dtype=dtype))
        side -= kernel_size - 1 - 2 * pad
        if batch_norm:
            layers.append(BatchNorm(c, dtype=dtype))
        if (i + 1) % pool_every == 0 or i == len(channels) - 1:
            if side < 2:
                raise ConfigError(
                    f"28x28 images shrink to {max(side, 0)}x{max(side, 0)} before pooling block "
                    f"{i + 1} with kernels of {kernel_size}x{kernel_size} and channels "
                    f"{channels}: use smaller kernels or fewer blocks"
                )
            # max(relu(a), relu(b), ...) = relu(max(a, b, ...)): pooling first computes the same
            # function (and gradient) with the ReLU on a quarter of the values
            layers += [MaxPool2D(2), ReLU()]
            side //= 2
        else:
            layers.append(ReLU())
        previous = c
    layers.append(Flatten())
    previous *= side * side
    for d in hidden:
        layers += [Dense(previous, d, rng=rng, dtype=dtype), ReLU()]
        if dropout:
            layers.append(Dropout(dropout, rng=rng.spawn(1)[0]))
        previous = d
    layers.append(Dense(previous, n_classes, rng=rng, dtype=dtype))
    return Sequential(layers, loss_from_name("cross_entropy", **(loss_kwargs or {})))
