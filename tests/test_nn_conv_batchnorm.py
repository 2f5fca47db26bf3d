"""ConvBatchNorm, the first Conv2D and its BatchNorm trained as one product: the same outputs,
gradients and running statistics as the two layers, finite differences, and when
Sequential.train_step uses it."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import mnist_inputs, numeric_grad, one_hot, rel_error, training_pass

from digitnet.nn import (
    SGD,
    BatchNorm,
    Conv2D,
    Dense,
    Deskew,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
)
from digitnet.nn import fused as fused_module
from digitnet.nn.conv_batchnorm import ConvBatchNorm, fusable
from digitnet.training.build import build_model
from digitnet.training.presets import get_preset

CASES = [  # in, out, kernel, stride, padding, (H, W): both internal layouts, strides, padding
    (1, 13, 5, 1, 0, (12, 12)),  # batch-last (5x5), like the cnn preset's first layer
    (1, 5, 3, 1, 1, (20, 18)),  # channel-batch (3x3 on a wide image)
    (2, 9, (3, 2), (2, 1), (1, 0), (9, 8)),
]


def conv_and_norm(case, rng, dtype=np.float64):
    """A Conv2D and BatchNorm of `case` with random bias, gamma and beta, and an input."""
    in_channels, out_channels, kernel, stride, padding, size = case
    conv = Conv2D(in_channels, out_channels, kernel, stride=stride, padding=padding, rng=rng,
                  dtype=dtype)  # fmt: skip
    norm = BatchNorm(out_channels, dtype=dtype)
    conv.params["b"][...] = rng.standard_normal(out_channels)
    norm.params["gamma"][...] = rng.uniform(0.5, 1.5, out_channels)
    norm.params["beta"][...] = rng.standard_normal(out_channels)
    x = rng.uniform(0, 1, (4, in_channels, *size)).astype(dtype)
    return conv, norm, x


@pytest.mark.parametrize("case", CASES)
def test_the_stage_computes_what_the_two_layers_compute(case):
    rng = np.random.default_rng(0)
    conv, norm, x = conv_and_norm(case, rng)
    twin_conv, twin_norm, _ = conv_and_norm(case, np.random.default_rng(0))
    stage = ConvBatchNorm(conv, norm)
    out = stage.forward(x, training=True)
    expected = twin_norm.forward(twin_conv.forward(x, training=True), training=True)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    up = rng.standard_normal(out.shape)
    assert stage.backward(up, need_input_grad=False) is None
    twin_conv.backward(twin_norm.backward(up), need_input_grad=False)
    for layer, twin in ((conv, twin_conv), (norm, twin_norm)):
        for name, grad in layer.grads.items():
            np.testing.assert_allclose(grad, twin.grads[name], rtol=1e-9, atol=1e-9, err_msg=name)
        for name, buffer in layer.buffers.items():
            np.testing.assert_allclose(buffer, twin.buffers[name], rtol=1e-12, err_msg=name)
    assert np.all(conv.grads["b"] == 0)  # BatchNorm removes the bias's effect exactly


@pytest.mark.parametrize("case", CASES)
def test_the_stage_gradients_match_finite_differences(case):
    rng = np.random.default_rng(1)
    conv, norm, x = conv_and_norm(case, rng)
    stage = ConvBatchNorm(conv, norm)
    up = rng.standard_normal(stage.forward(x, training=True).shape)

    def f() -> float:
        return float((stage.forward(x, training=True) * up).sum())

    for layer in (conv, norm):
        for name, param in layer.params.items():
            stage.forward(x, training=True)
            stage.backward(up, need_input_grad=False)
            analytic = layer.grads[name].copy()
            numeric = numeric_grad(f, param)
            if name == "b":
                assert np.abs(numeric).max() < 1e-7
            else:
                assert rel_error(analytic, numeric) < 1e-6, name


def test_float32_stage_stays_close_to_the_two_layers_on_real_digits(mnist):
    """The Gram statistics in float32 on MNIST batches: within float32 rounding of the layers."""
    images, _ = mnist_inputs(mnist, "train", 64)
    x = images.reshape(64, 1, 28, 28)
    rng = np.random.default_rng(2)
    conv, norm, _ = conv_and_norm((1, 32, 5, 1, 0, (28, 28)), rng, np.float32)
    twin_conv, twin_norm, _ = conv_and_norm((1, 32, 5, 1, 0, (28, 28)), np.random.default_rng(2),
                                            np.float32)  # fmt: skip
    stage = ConvBatchNorm(conv, norm)
    out = stage.forward(x, training=True)
    expected = twin_norm.forward(twin_conv.forward(x, training=True), training=True)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-3)
    up = rng.standard_normal(out.shape).astype(np.float32)
    stage.backward(up, need_input_grad=False)
    twin_conv.backward(twin_norm.backward(up), need_input_grad=False)
    for layer, twin in ((conv, twin_conv), (norm, twin_norm)):
        for name, grad in layer.grads.items():
            if name != "b":
                assert rel_error(grad, twin.grads[name]) < 1e-4, name


def errors_against_float64(conv, norm, x, up) -> dict[str, float]:
    """Largest error, relative to the float64 result's largest value, of the float32 stage
    (fused: True) and of the float32 layers (fused: False) in the output and each gradient."""

    def run(dtype, fused):
        twin_conv = Conv2D(1, 32, 5, rng=np.random.default_rng(0), dtype=dtype)
        twin_norm = BatchNorm(32, dtype=dtype)
        for twin, layer in ((twin_conv, conv), (twin_norm, norm)):
            for name, param in layer.params.items():
                twin.params[name][...] = param
        inputs, grad = x.astype(dtype), up.astype(dtype)
        if fused:
            stage = ConvBatchNorm(twin_conv, twin_norm)
            out = stage.forward(inputs, training=True)
            stage.backward(grad, need_input_grad=False)
        else:
            out = twin_norm.forward(twin_conv.forward(inputs, training=True), training=True)
            twin_conv.backward(twin_norm.backward(grad), need_input_grad=False)
        return {
            "out": out,
            **{n: g.copy() for t in (twin_conv, twin_norm) for n, g in t.grads.items()},
        }

    exact = run(np.float64, fused=False)
    errors = {}
    for fused in (True, False):
        for name, value in run(np.float32, fused).items():
            if name != "b":
                scale = np.abs(exact[name]).max()
                errors[fused, name] = float(np.abs(value - exact[name]).max() / scale)
    return errors


def test_float32_stage_error_stays_within_a_few_times_the_layers_own_rounding(mnist):
    """A full batch of 128 digits (73,728 positions summed in float32), zero-sum edge filters
    (var = wᵀSw much smaller than the Gram's entries) and gradients with a large mean (Gᶜ − sμ
    cancels): the fused statistics must not lose much more than the layers' own float32."""
    images, _ = mnist_inputs(mnist, "train", 128)
    x = images.reshape(128, 1, 28, 28)
    rng = np.random.default_rng(6)
    conv, norm = Conv2D(1, 32, 5, rng=rng, dtype=np.float64), BatchNorm(32, dtype=np.float64)
    W = conv.params["W"]
    W -= W.mean(axis=(2, 3), keepdims=True)  # edge detectors: blind to flat regions
    conv.params["b"][...] = rng.standard_normal(32)
    norm.params["gamma"][...] = rng.uniform(0.5, 1.5, 32)
    up = 1.0 + 0.1 * rng.standard_normal((128, 32, 24, 24))
    errors = errors_against_float64(conv, norm, x, up)
    for name in ("out", "W", "gamma", "beta"):
        fused, layers = errors[True, name], errors[False, name]
        # measured 2026-11-24: fused 5e-7 (out) to 6e-4 (gamma), the layers 1e-5 to 8e-2
        assert fused < min(max(10 * layers, 1e-5), 5e-3), (name, fused, layers)


def test_train_step_fuses_the_cnn_preset_first_layer_and_learns_the_same(mnist):
    """Three SGD steps with and without the stage end at the same weights and statistics."""
    images, labels = mnist_inputs(mnist, "train", 96)
    x, y = images.reshape(96, 1, 28, 28).astype(np.float64), one_hot(labels)

    def trained(fuse: bool, monkeypatch) -> Sequential:
        model = build_model(get_preset("cnn").model, np.random.default_rng(3), dtype=np.float64)
        stages = model.training_stages()
        assert isinstance(stages[0], ConvBatchNorm) and len(stages) == len(model.layers) - 1
        if not fuse:
            monkeypatch.setattr(fused_module, "fusable", lambda conv, norm: False)
            assert model.training_stages() == model.layers
        optimizer = SGD(model.named_params(), learning_rate=0.05, momentum=0.9)
        for start in (0, 32, 64):
            model.train_step(x[start : start + 32], y[start : start + 32], optimizer)
        monkeypatch.undo()
        return model

    with pytest.MonkeyPatch.context() as monkeypatch:
        fused, plain = trained(True, monkeypatch), trained(False, monkeypatch)
    for name, value in plain.get_state().items():
        np.testing.assert_allclose(fused.get_state()[name], value, rtol=1e-8, atol=1e-9,
                                   err_msg=name)  # fmt: skip


def test_only_a_first_learned_conv_with_a_batchnorm_after_it_and_short_columns_fuses():
    rng = np.random.default_rng(4)
    conv = Conv2D(1, 8, 3, rng=rng)  # columns of 10 <= 2·8
    assert fusable(conv, BatchNorm(8))
    assert not fusable(conv, ReLU())
    assert not fusable(Conv2D(4, 8, 3, rng=rng), BatchNorm(8))  # columns of 37 > 16
    assert not fusable(Dense(4, 8, rng=rng), BatchNorm(8))
    head = [MaxPool2D(2), Flatten(), Dense(8 * 3 * 3, 10, rng=rng)]
    first = Sequential([conv, BatchNorm(8), *head], SoftmaxCrossEntropy())
    assert isinstance(first.training_stages()[0], ConvBatchNorm)
    later = Sequential(
        [Conv2D(1, 1, 1, rng=rng), Conv2D(1, 8, 3, rng=rng), BatchNorm(8), *head],
        SoftmaxCrossEntropy(),
    )
    assert later.training_stages() == later.layers  # the second conv needs its input gradient
    with pytest.raises(ValueError, match="cannot train as one stage"):
        ConvBatchNorm(Conv2D(4, 8, 3, rng=rng), BatchNorm(8))


def test_stages_after_fixed_preprocessing_or_a_leading_dropout_still_fuse(mnist):
    """Deskew (fixed, skipped by start=1) and an input Dropout come before the first learned
    layer: the stages keep them and fuse the convolution after them; a training step with
    the Dropout's mask fixed computes what the unfused layers compute."""
    rng = np.random.default_rng(7)
    head = [MaxPool2D(2), Flatten(), Dense(8 * 13 * 13, 10, rng=rng, dtype=np.float64)]
    conv_norm = [Conv2D(1, 8, 3, rng=rng, dtype=np.float64), BatchNorm(8, dtype=np.float64)]
    deskewed = Sequential([Deskew(), *conv_norm, *head], SoftmaxCrossEntropy())
    stages = deskewed.training_stages()
    assert isinstance(stages[0], Deskew) and isinstance(stages[1], ConvBatchNorm)
    assert isinstance(deskewed.training_stages(start=1)[0], ConvBatchNorm)
    dropout = Dropout(0.3, rng=rng)
    dropped = Sequential([dropout, *conv_norm, *head], SoftmaxCrossEntropy())
    assert isinstance(dropped.training_stages()[1], ConvBatchNorm)
    images, labels = mnist_inputs(mnist, "train", 16)
    x, y = images.reshape(16, 1, 28, 28).astype(np.float64), one_hot(labels)
    dropout.fixed_mask = rng.random(x.shape) >= 0.3
    # gradients only; Nesterov does not fold Dense products into its update, so all are written
    optimizer = SGD(dropped.named_params(), learning_rate=0.0, momentum=0.5, nesterov=True)
    dropped.train_step(x, y, optimizer)
    fused = {slot.name: slot.grad.copy() for slot in dropped.named_params()}
    _, _, plain = training_pass(dropped, x, y)
    for name, grad in plain.items():
        np.testing.assert_allclose(fused[name], grad, rtol=1e-8, atol=1e-10, err_msg=name)


def test_the_stage_refuses_inference_and_input_gradients():
    rng = np.random.default_rng(5)
    conv, norm, x = conv_and_norm(CASES[0], rng)
    stage = ConvBatchNorm(conv, norm)
    with pytest.raises(ValueError, match="training pass"):
        stage.forward(x, training=False)
    up = np.ones(stage.forward(x, training=True).shape)
    with pytest.raises(ValueError, match="no input gradient"):
        stage.backward(up)
    assert repr(stage) == "Conv2D(1→13, 5x5)+BatchNorm(13)"
