"""MaxPool2D and Flatten: gradient checks, loop and PyTorch references, ties and memory order."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import check_gradients

from digitnet.nn import Flatten, MaxPool2D


def pool_reference(x, pool, stride):
    (ph, pw), (sh, sw) = pool, stride
    out_h, out_w = (x.shape[2] - ph) // sh + 1, (x.shape[3] - pw) // sw + 1
    out = np.zeros((*x.shape[:2], out_h, out_w))
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(out_h):
                for j in range(out_w):
                    out[n, c, i, j] = x[n, c, i * sh : i * sh + ph, j * sw : j * sw + pw].max()
    return out


POOL_CASES = [(2, None, (6, 8)), (2, None, (7, 5)), (3, 2, (7, 7)), ((2, 3), (1, 2), (5, 7))]


@pytest.mark.parametrize(("pool", "stride", "size"), POOL_CASES)
def test_maxpool_gradients_and_loop_reference(pool, stride, size):
    rng = np.random.default_rng(3)
    layer = MaxPool2D(pool, stride)
    x = rng.standard_normal((2, 3, *size))  # continuous values: no ties
    check_gradients(layer, x, rng)
    expected = pool_reference(x, layer.pool_size, layer.stride)
    np.testing.assert_array_equal(layer.forward(x), expected)


@pytest.mark.parametrize(("pool", "stride", "size"), POOL_CASES)
def test_maxpool_matches_torch_outputs_and_gradients(pool, stride, size):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    layer = MaxPool2D(pool, stride)
    x = rng.standard_normal((2, 3, *size))
    out = layer.forward(x, training=True)
    up = rng.standard_normal(out.shape)
    x_t = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.max_pool2d(x_t, layer.pool_size, layer.stride)
    (out_t * torch.tensor(up)).sum().backward()
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_allclose(layer.backward(up), x_t.grad.numpy(), rtol=1e-12)


def test_maxpool_sends_a_tied_window_gradient_to_its_first_maximum_only():
    layer = MaxPool2D(2)
    x = np.array([[[[0.0, 0.0, 1.0, 3.0], [0.0, 0.0, 3.0, 2.0]]]])
    np.testing.assert_array_equal(layer.forward(x, training=True), [[[[0.0, 3.0]]]])
    grad_x = layer.backward(np.array([[[[5.0, 7.0]]]]))
    np.testing.assert_array_equal(grad_x, [[[[5.0, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 0.0]]]])


@pytest.mark.parametrize("size", [(6, 8), (7, 5)])
def test_maxpool_results_do_not_depend_on_memory_order(size):
    """Conv2D hands on batch-last arrays; pooling them, and mixing in C-order gradients, must
    give exactly what C-order arrays give."""
    rng = np.random.default_rng(8)
    x = np.maximum(rng.standard_normal((4, 3, *size)), 0)  # ReLU-like: many tied zeros
    batch_last = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    plain, strided = MaxPool2D(2), MaxPool2D(2)
    out = plain.forward(x, training=True)
    np.testing.assert_array_equal(strided.forward(batch_last, training=True), out)
    up = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(strided.backward(up), plain.backward(up))


def test_maxpool_sends_an_infinite_gradient_only_to_the_maximum():
    layer = MaxPool2D(2)
    layer.forward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), training=True)
    grad_x = layer.backward(np.array([[[[np.inf]]]]))
    np.testing.assert_array_equal(grad_x, [[[[0.0, 0.0], [0.0, np.inf]]]])


def test_flatten_gradient_and_shapes():
    rng = np.random.default_rng(5)
    layer = Flatten()
    x = rng.standard_normal((3, 2, 4, 5))
    assert layer.forward(x).shape == (3, 40)
    check_gradients(layer, x, rng)
