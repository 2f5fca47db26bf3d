"""BatchNorm: gradient checks in training mode, PyTorch reference, running statistics."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import check_gradients

from digitnet.nn import BatchNorm


@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 4, 3)])
def test_batchnorm_gradients_in_training_mode(shape):
    rng = np.random.default_rng(6)
    layer = BatchNorm(shape[1], dtype=np.float64)
    layer.params["gamma"][...] = rng.standard_normal(shape[1])
    layer.params["beta"][...] = rng.standard_normal(shape[1])
    check_gradients(layer, rng.standard_normal(shape) * 2 + 1, rng)


@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 4, 3)])
def test_batchnorm_matches_torch_in_training_and_inference(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    layer = BatchNorm(shape[1], momentum=0.8, dtype=np.float64)
    layer.params["gamma"][...] = rng.standard_normal(shape[1])
    layer.params["beta"][...] = rng.standard_normal(shape[1])
    module_type = torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d
    module = module_type(shape[1], momentum=0.2, dtype=torch.float64)  # torch's is 1 − ours
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["gamma"]))
        module.bias.copy_(torch.tensor(layer.params["beta"]))
    for _ in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        up = rng.standard_normal(shape)
        out = layer.forward(x, training=True)
        grad_x = layer.backward(up)
        x_t = torch.tensor(x, requires_grad=True)
        out_t = module(x_t)
        (out_t * torch.tensor(up)).sum().backward()
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grad_x, x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.grads["gamma"], module.weight.grad.numpy(), rtol=1e-10)
        module.weight.grad = None
    running = layer.buffers
    np.testing.assert_allclose(running["running_mean"], module.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(running["running_var"], module.running_var.numpy(), rtol=1e-12)
    module.eval()
    x = rng.standard_normal(shape)
    expected = module(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)


def test_batchnorm_running_statistics_converge_and_are_used_at_inference():
    rng = np.random.default_rng(8)
    layer = BatchNorm(3)
    mean, std = np.array([3.0, -1.0, 0.5]), np.array([2.0, 0.5, 1.0])
    for _ in range(100):
        x = rng.standard_normal((64, 3, 4, 4)) * std[:, None, None] + mean[:, None, None]
        layer.forward(x.astype(np.float32), training=True)
    np.testing.assert_allclose(layer.buffers["running_mean"], mean, atol=0.05)
    np.testing.assert_allclose(layer.buffers["running_var"], std**2, rtol=0.05)
    layer.params["gamma"][...] = 2.0
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    running_mean = layer.buffers["running_mean"][:, None, None]
    running_var = layer.buffers["running_var"][:, None, None]
    expected = 2.0 * (x - running_mean) / np.sqrt(running_var + layer.eps)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.forward(x[:1]), expected[:1], rtol=1e-5, atol=1e-5)
