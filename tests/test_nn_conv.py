"""Conv2D: gradient checks in float64 by each way it computes, slow loop references, PyTorch
references, and the kernel-row path the cnn preset takes."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import assert_same_gradients, check_gradients, one_hot, training_pass

from digitnet.nn import Conv2D, build_cnn, conv_rows
from digitnet.nn.conv import BATCH_LAST, CHANNEL_BATCH
from digitnet.training.build import build_model
from digitnet.training.presets import get_preset

CONV_CASES = [  # in, out, kernel, stride, padding, (H, W)
    (2, 3, 3, 1, 0, (5, 6)),
    (2, 3, 3, 2, 1, (7, 7)),
    (1, 2, (3, 2), 1, (1, 0), (5, 6)),
    (2, 2, (2, 3), (2, 1), 1, (6, 5)),
    (1, 2, 3, 1, 3, (4, 4)),  # padding wider than the kernel
    (2, 3, (2, 4), (1, 2), (1, 2), (5, 9)),  # wider than tall, horizontal stride only
    (3, 2, 3, (1, 3), 0, (4, 11)),
]


def conv_reference(x, W, b, stride, padding):
    """Cross-correlation with plain loops over samples, channels and output pixels."""
    (sh, sw), (ph, pw) = stride, padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = W.shape[2:]
    out_h, out_w = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], W.shape[0], out_h, out_w))
    for n in range(x.shape[0]):
        for o in range(W.shape[0]):
            for i in range(out_h):
                for j in range(out_w):
                    window = x[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    out[n, o, i, j] = (window * W[o]).sum() + b[o]
    return out


def random_conv(case, rng):
    in_channels, out_channels, kernel, stride, padding, size = case
    conv = Conv2D(
        in_channels, out_channels, kernel, stride=stride, padding=padding, rng=rng, dtype=np.float64
    )
    conv.params["b"][...] = rng.standard_normal(out_channels)
    return conv, rng.standard_normal((2, in_channels, *size))


CONV_METHODS = {  # name: (internal layout, conv_rows.ROW_PRODUCTS_MIN_DEPTH)
    "channel-batch": (CHANNEL_BATCH, 10**9),
    "batch-last": (BATCH_LAST, 10**9),
    "batch-last-rows": (BATCH_LAST, 1),  # kernel-row products wherever the vertical stride is 1
}


def use_conv_method(name: str, monkeypatch) -> None:
    """Make every Conv2D compute by this method, whatever its sizes would pick."""
    layout, min_depth = CONV_METHODS[name]
    monkeypatch.setattr(Conv2D, "_layout", lambda self, out_w: layout)
    monkeypatch.setattr(conv_rows, "ROW_PRODUCTS_MIN_DEPTH", min_depth)


@pytest.fixture(params=list(CONV_METHODS))
def conv_method(request, monkeypatch):
    """Run the test once with each of Conv2D's ways to compute, whatever the sizes would pick."""
    use_conv_method(request.param, monkeypatch)
    return request.param


def assert_took(conv: Conv2D, method: str) -> None:
    """The last forward went by kernel rows exactly when the method asks it to and can."""
    assert conv._by_rows == (method == "batch-last-rows" and conv.stride[0] == 1)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradients_for_x_W_and_b(case, conv_method):
    rng = np.random.default_rng(0)
    conv, x = random_conv(case, rng)
    check_gradients(conv, x, rng)
    assert_took(conv, conv_method)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_a_loop_reference(case, conv_method):
    rng = np.random.default_rng(1)
    conv, x = random_conv(case, rng)
    expected = conv_reference(x, conv.params["W"], conv.params["b"], conv.stride, conv.padding)
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-12, atol=1e-12)
    assert_took(conv, conv_method)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_torch_outputs_and_gradients(case, conv_method):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    conv, x = random_conv(case, rng)
    out = conv.forward(x, training=True)
    assert_took(conv, conv_method)
    up = rng.standard_normal(out.shape)
    grad_x = conv.backward(up)
    x_t = torch.tensor(x, requires_grad=True)
    W_t = torch.tensor(conv.params["W"], requires_grad=True)
    b_t = torch.tensor(conv.params["b"], requires_grad=True)
    out_t = torch.nn.functional.conv2d(x_t, W_t, b_t, stride=conv.stride, padding=conv.padding)
    (out_t * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_x, x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.grads["W"], W_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.grads["b"], b_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_cnn_computes_the_same_by_every_conv_method(monkeypatch):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 1, 28, 28))
    y = one_hot(rng.integers(0, 10, 3))
    passes, probabilities = [], []
    for method in CONV_METHODS:
        use_conv_method(method, monkeypatch)
        model = build_cnn((2, 3), (5,), rng=np.random.default_rng(0), dtype=np.float64)
        passes.append(training_pass(model, x, y))
        probabilities.append(model.predict_proba(x))
    for other_probabilities, other_pass in zip(probabilities[1:], passes[1:]):
        np.testing.assert_allclose(probabilities[0], other_probabilities, rtol=1e-12)
        assert_same_gradients(passes[0], other_pass, grad_x_atol=1e-15)


def test_the_cnn_preset_second_convolution_uses_kernel_row_products():
    """conv_rows is the path the `cnn` preset's 32 -> 64 convolution takes (its first layer,
    one input channel, keeps im2col): the speed figures in the README rest on it."""
    model = build_model(get_preset("cnn").model, np.random.default_rng(0))
    model.forward(np.zeros((2, 1, 28, 28), np.float32))
    convolutions = [layer for layer in model.layers if isinstance(layer, Conv2D)]
    assert [conv._by_rows for conv in convolutions] == [False, True]
