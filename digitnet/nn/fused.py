"""The training step's fused paths, in one place: which layers and optimisers fuse, and how.

Two fusions compute the same step from fewer passes over the activations (docs/math.md,
benchmarks/profile_step.py measures them):
- the first layer with parameters, when it is a Conv2D followed by a BatchNorm that
  conv_batchnorm.fusable accepts, trains as one ConvBatchNorm stage;
- with an optimiser that folds products into its update (SGD with momentum) and no gradient
  clipping, Dense layers leave their weight gradient as a product (x, grad_z) that the
  update consumes instead of forming grads["W"].
Everything else runs layer by layer, through the layers' one backward(grad, *,
need_input_grad=True).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digitnet.nn.blas import GradientProduct
from digitnet.nn.conv_batchnorm import ConvBatchNorm, fusable
from digitnet.nn.layers import Dense, Layer
from digitnet.nn.optim import Optimizer

Stage = Layer | ConvBatchNorm


def first_learned(stages: Sequence[Stage]) -> int | None:
    """The index of the first stage with parameters (None if there is none)."""
    return next((i for i, stage in enumerate(stages) if stage.params), None)


def training_stages(layers: Sequence[Layer]) -> list[Stage]:
    """What a training step runs: the layers, except that the first layer with parameters
    and a BatchNorm after it run as one ConvBatchNorm stage where fusable allows. Built anew
    each step: a stage holds one step's intermediate values."""
    layers = list(layers)
    first = first_learned(layers)
    if first is None or first + 1 == len(layers) or not fusable(*layers[first : first + 2]):
        return layers
    return [*layers[:first], ConvBatchNorm(*layers[first : first + 2]), *layers[first + 2 :]]


def gradient_products(optimizer: Optimizer, clip_norm: float | None) -> list | None:
    """An empty list for Dense layers to leave their weight gradients in, when the optimiser
    folds products into its update and no clipping needs every gradient formed; else None."""
    return [] if optimizer.folds_products and clip_norm is None else None


def backward_options(stage: Stage, first: bool, products: list[GradientProduct] | None) -> dict:
    """Keyword arguments for a training step's stage.backward: the first learned stage skips
    its input gradient; Dense layers take the `products` list (None: form every gradient)."""
    options: dict = {"need_input_grad": False} if first else {}  # custom layers may omit it
    if products is not None and isinstance(stage, Dense):
        options["products"] = products
    return options


def backward_to_first_learned(
    stages: Sequence[Stage],
    grad_out: np.ndarray,
    products: list[GradientProduct] | None = None,
) -> None:
    """Back-propagate through stages down to the first with parameters, filling grads; that
    one is asked not to compute its input gradient (nothing below it reads one). Given a
    `products` list, Dense layers append their weight gradients there instead of forming them."""
    first = first_learned(stages)
    if first is None:
        return
    # called every step: the stages above the first take grad_out alone (or with products)
    for i in range(len(stages) - 1, first, -1):
        stage = stages[i]
        if products is not None and isinstance(stage, Dense):
            grad_out = stage.backward(grad_out, products=products)
        else:
            grad_out = stage.backward(grad_out)
    stages[first].backward(grad_out, **backward_options(stages[first], True, products))
