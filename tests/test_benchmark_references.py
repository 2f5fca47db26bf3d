"""The plain NumPy loops that benchmarks/ race digitnet against (plain_mlp.py, plain_cnn.py)
compute the same training as digitnet: otherwise their times would compare different work."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from nn_helpers import one_hot

from digitnet.nn import SGD, build_mlp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from plain_mlp import PlainMLP  # noqa: E402


@pytest.mark.parametrize(
    "activation, output, momentum, batch",
    [
        ("sigmoid", "sigmoid", False, 1),
        ("relu", "softmax", True, 8),
        ("relu", "softmax", False, 32),
    ],  # fmt: skip
    ids=["seed000-like", "momentum minibatch", "plain full batch"],
)
def test_the_plain_loop_trains_as_digitnet_does(activation, output, momentum, batch):
    rng = np.random.default_rng(0)
    x = rng.random((64, 30), dtype=np.float32)
    y = one_hot(rng.integers(0, 5, 64), 5).astype(np.float32)
    model = build_mlp((30, 12, 8, 5), activation=activation, output=output,
                      rng=np.random.default_rng(1))  # fmt: skip
    plain = PlainMLP(model, activation, output, learning_rate=0.5, momentum=momentum)
    optimizer = SGD(model.named_params(), learning_rate=0.5, momentum=0.9 if momentum else 0.0)
    for step in range(40):
        at = (step * batch) % (len(x) - batch + 1)
        ours = model.train_step(x[at : at + batch], y[at : at + batch], optimizer)
        theirs = plain.step(x[at : at + batch], y[at : at + batch])
        assert ours == pytest.approx(theirs, rel=1e-4, abs=1e-6)
    dense = [layer for layer in model.layers if layer.params]
    for layer, W, b in zip(dense, plain.W, plain.b, strict=True):
        np.testing.assert_allclose(layer.params["W"], W, rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(layer.params["b"], b, rtol=1e-3, atol=1e-5)


def test_the_plain_cnn_trains_as_digitnet_does():
    """benchmarks/plain_cnn.py, the `cnn` network's textbook loop, against digitnet's step."""
    from plain_cnn import PlainCNN

    from digitnet.training.build import build_model
    from digitnet.training.presets import get_preset

    model = build_model(get_preset("cnn").model, np.random.default_rng(0))
    plain = PlainCNN(model, learning_rate=0.01)
    optimizer = SGD(model.named_params(), learning_rate=0.01, momentum=0.9)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.random((6, 1, 28, 28), dtype=np.float32)
        y = one_hot(rng.integers(0, 10, 6), 10).astype(np.float32)
        ours = model.train_step(x, y, optimizer)
        assert ours == pytest.approx(plain.step(x, y), rel=1e-4)
    for name, weights in model.get_weights().items():
        np.testing.assert_allclose(weights, plain.p[name], rtol=1e-3, atol=1e-5, err_msg=name)
    for name, buffer in model.get_buffers().items():
        np.testing.assert_allclose(buffer, plain.running[name], rtol=1e-4, atol=1e-6)
