"""The same training workloads in digitnet, PyTorch (CPU) and scikit-learn, for benchmarks.

A workload is a network (an MLP given by its layer sizes, or the `cnn` preset's architecture)
trained with softmax cross-entropy on minibatches. Each framework gets a `Runner` whose
`train(indices)` takes one optimiser step per minibatch of the given sample order, gathering
the batch from the full training set as a real epoch does. PyTorch and scikit-learn are
imported only when their runner is built: they are benchmark dependencies, never digitnet's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from digitnet.data.preprocess import one_hot
from digitnet.nn.optim import SGD
from digitnet.training.build import build_model
from digitnet.training.presets import get_preset

BATCH = 128
LEARNING_RATE = 0.01
MOMENTUM = 0.9


@dataclass
class Runner:
    """train(order) runs one minibatch step per BATCH positions of `order`."""

    framework: str
    train: Callable[[np.ndarray], None]
    predict: Callable[[np.ndarray], np.ndarray]  # float inputs -> (n, 10) probabilities


def mlp_flops_per_sample(sizes: Sequence[int]) -> int:
    """Multiply-adds ×2 of one training sample: forward x·W for every layer, backward
    grad_W = xᵀ·grad_z for every layer and grad_x = grad_z·Wᵀ for all but the first."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * (2 * sum(products) + sum(products[1:]))


def cnn_model(rng: np.random.Generator):
    """The `cnn` preset's network, freshly initialised from rng."""
    return build_model(get_preset("cnn").model, rng)


def digitnet_runner(x: np.ndarray, labels: np.ndarray, sizes: Sequence[int] | None) -> Runner:
    """digitnet: an MLP of `sizes` (ReLU, He init) or, for None, the `cnn` preset network."""
    from digitnet.nn.mlp import build_mlp

    rng = np.random.default_rng(0)
    model = cnn_model(rng) if sizes is None else build_mlp(sizes, activation="relu", rng=rng)
    optimizer = SGD(model.named_params(), learning_rate=LEARNING_RATE, momentum=MOMENTUM)

    def train(order: np.ndarray) -> None:
        for start in range(0, len(order), BATCH):
            indices = order[start : start + BATCH]
            model.train_step(x[indices], one_hot(labels[indices], dtype=x.dtype.type), optimizer)

    return Runner("digitnet", train, model.predict_proba)


def plain_runner(x: np.ndarray, labels: np.ndarray, sizes: Sequence[int] | None) -> Runner:
    """The textbook NumPy loop (plain_mlp.py; plain_cnn.py for the `cnn` network, None) from
    digitnet_runner's initial weights."""
    from plain_cnn import PlainCNN
    from plain_mlp import PlainMLP

    from digitnet.nn.mlp import build_mlp

    rng = np.random.default_rng(0)
    if sizes is None:
        plain = PlainCNN(cnn_model(rng), LEARNING_RATE)
    else:
        start = build_mlp(sizes, activation="relu", rng=rng)
        plain = PlainMLP(start, "relu", "softmax", LEARNING_RATE, momentum=True)

    def train(order: np.ndarray) -> None:
        for begin in range(0, len(order), BATCH):
            indices = order[begin : begin + BATCH]
            plain.step(x[indices], one_hot(labels[indices], dtype=x.dtype.type))

    def predict(inputs: np.ndarray) -> np.ndarray:
        raise NotImplementedError("the plain loop is timed in training only")

    return Runner("plain loop", train, predict)


def torch_network(sizes: Sequence[int] | None):
    """The same architecture in torch.nn (PyTorch's default initialisation)."""
    from torch import nn

    if sizes is None:  # the `cnn` preset: conv 5x5 32 - pool - conv 5x5 64 - pool - 128 - 10.
        # build_cnn pools before the ReLU (the same function); PyTorch gets its usual order,
        # which measured faster for it: 2,300 against 1,540 images/s (2026-11-24 03:15 UTC)
        return nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10),
        )  # fmt: skip
    layers: list = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def torch_runner(x: np.ndarray, labels: np.ndarray, sizes: Sequence[int] | None) -> Runner:
    import torch

    torch.manual_seed(0)
    model = torch_network(sizes)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    x_all = torch.from_numpy(x)
    labels_all = torch.from_numpy(labels.astype(np.int64))

    def train(order: np.ndarray) -> None:
        model.train()
        order_t = torch.from_numpy(order)
        for start in range(0, len(order), BATCH):
            indices = order_t[start : start + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x_all[indices]), labels_all[indices]).backward()
            optimizer.step()

    def predict(inputs: np.ndarray) -> np.ndarray:
        model.eval()
        with torch.inference_mode():
            return torch.softmax(model(torch.from_numpy(inputs)), dim=1).numpy()

    return Runner("PyTorch", train, predict)


def sklearn_runner(x: np.ndarray, labels: np.ndarray, sizes: Sequence[int]) -> Runner:
    """scikit-learn's MLPClassifier, same hidden sizes, SGD with momentum, batch 128, float32.

    One partial_fit call over the epoch's samples is one pass of minibatch updates."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=tuple(sizes[1:-1]),
        activation="relu",
        solver="sgd",
        alpha=0.0,
        batch_size=BATCH,
        learning_rate_init=LEARNING_RATE,
        momentum=MOMENTUM,
        nesterovs_momentum=False,
        shuffle=False,  # the order is given, as for the other frameworks
        random_state=0,
    )
    classes = np.arange(10)

    def train(order: np.ndarray) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(x[order], labels[order], classes=classes)

    return Runner("scikit-learn", train, model.predict_proba)
