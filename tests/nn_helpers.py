"""Shared helpers for the nn tests: central-difference gradients and relative error."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d x by central differences, nudging x in place one entry at a time."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        orig = x[i]
        x[i] = orig + eps
        up = f()
        x[i] = orig - eps
        down = f()
        x[i] = orig
        g[i] = (up - down) / (2 * eps)
    return g


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max(|a| + |b|), 0 when both are zero."""
    scale = np.max(np.abs(a) + np.abs(b))
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b)) / scale)


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    return np.eye(classes)[labels]


def mnist_inputs(mnist, split: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` "train" or "test" digits of the shared `mnist` fixture as network
    inputs: (count, 784) float32 in [0, 1], and their int64 labels."""
    images, labels = (
        (mnist.train_images, mnist.train_labels)
        if split == "train"
        else (mnist.test_images, mnist.test_labels)
    )
    x = images[:count].reshape(count, 784).astype(np.float32) / 255
    return x, labels[:count].astype(np.int64)


def train_minibatches(
    model, x, labels, *, epochs: int, batch_size: int, learning_rate: float
) -> None:
    """Adam on shuffled minibatches (seeded): the plain loop the learning tests share."""
    from digitnet.nn import Adam

    optimizer = Adam(model.named_params(), learning_rate=learning_rate)
    y = one_hot(labels).astype(np.float32)
    shuffle = np.random.default_rng(1)
    for _ in range(epochs):
        order = shuffle.permutation(len(x))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            model.train_step(x[batch], y[batch], optimizer)


def training_pass(network, x, y):
    """(output, dLoss/dx, {param name: gradient}) of one training-mode forward and backward
    through the layers one by one (Sequential.forward/backward: never fused)."""
    out = network.forward(x, training=True)
    _, grad_out = network.loss.value_and_gradient(out, y)
    grad_x = network.backward(grad_out)
    return out, grad_x, {slot.name: slot.grad.copy() for slot in network.named_params()}


def check_gradients(layer, x: np.ndarray, rng: np.random.Generator) -> None:
    """backward(up) equals the numeric gradient of sum(forward(x) * up) for x and every param."""
    up = rng.standard_normal(layer.forward(x, training=True).shape)

    def f() -> float:
        return float((layer.forward(x, training=True) * up).sum())

    layer.forward(x, training=True)
    assert rel_error(layer.backward(up), numeric_grad(f, x)) < 1e-6
    for name, param in layer.params.items():
        layer.forward(x, training=True)
        layer.backward(up)
        assert rel_error(layer.grads[name].copy(), numeric_grad(f, param)) < 1e-6, name


def assert_same_gradients(first, second, *, grad_x_atol):
    """Two training_pass results agree in dLoss/dx and in every parameter's gradient."""
    np.testing.assert_allclose(first[1], second[1], rtol=1e-10, atol=grad_x_atol)
    for name in first[2]:
        np.testing.assert_allclose(
            first[2][name], second[2][name], rtol=1e-10, atol=1e-12, err_msg=name
        )
