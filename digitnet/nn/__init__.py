"""The neural-network engine: layers (dense, convolutional, normalisation), activations,
losses, initialisers, optimizers, schedules, and the MLP and CNN builders."""

from __future__ import annotations

from digitnet.nn.activations import (
    ACTIVATIONS,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    activation_from_name,
    softmax,
)
from digitnet.nn.cnn import build_cnn
from digitnet.nn.conv import Conv2D
from digitnet.nn.deskew import Deskew, deskew
from digitnet.nn.init import INITIALIZERS, initialize
from digitnet.nn.layer_types import LAYER_TYPES, known_layer_types, layer_from_spec
from digitnet.nn.layers import Dense, Dropout, Layer
from digitnet.nn.losses import LOSSES, Loss, MeanSquaredError, SoftmaxCrossEntropy, loss_from_name
from digitnet.nn.mlp import build_mlp
from digitnet.nn.model import Sequential
from digitnet.nn.norm import BatchNorm
from digitnet.nn.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    Optimizer,
    Slot,
    clip_grad_norm,
    optimizer_from_name,
)
from digitnet.nn.pooling import Flatten, MaxPool2D
from digitnet.nn.schedules import (
    SCHEDULES,
    constant,
    cosine,
    exponential,
    linear_warmup,
    make_schedule,
    step_decay,
)

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LAYER_TYPES",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "AdamW",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Deskew",
    "Dropout",
    "Flatten",
    "Layer",
    "LeakyReLU",
    "Loss",
    "MaxPool2D",
    "MeanSquaredError",
    "Optimizer",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Slot",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Tanh",
    "activation_from_name",
    "build_cnn",
    "build_mlp",
    "clip_grad_norm",
    "constant",
    "cosine",
    "deskew",
    "exponential",
    "initialize",
    "known_layer_types",
    "layer_from_spec",
    "linear_warmup",
    "loss_from_name",
    "make_schedule",
    "optimizer_from_name",
    "softmax",
    "step_decay",
]
