"""CNNs as a whole: build_cnn's scheme and refusals, its layer order, gradients through a small
net, BatchNorm buffers in the model, learning real digits."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import (
    assert_same_gradients,
    mnist_inputs,
    numeric_grad,
    one_hot,
    rel_error,
    train_minibatches,
    training_pass,
)

from digitnet.errors import ConfigError, ModelFileError
from digitnet.nn import (
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    build_cnn,
)


def test_pooling_before_relu_computes_what_relu_before_pooling_does():
    """build_cnn pools before its ReLU (cheaper); the textbook order gives the same outputs
    and the same gradients for every parameter."""
    rng = np.random.default_rng(10)
    model = build_cnn((3,), (4,), rng=np.random.default_rng(0), dtype=np.float64)
    kinds = [type(layer).__name__ for layer in model.layers]
    pool = kinds.index("MaxPool2D")
    assert kinds[pool + 1] == "ReLU"
    swapped = list(model.layers)
    swapped[pool], swapped[pool + 1] = swapped[pool + 1], swapped[pool]
    textbook = Sequential(swapped, SoftmaxCrossEntropy())
    x, y = rng.standard_normal((5, 1, 28, 28)), one_hot(rng.integers(0, 10, 5))
    first = training_pass(model, x, y)  # the same layer objects: compare training passes
    second = training_pass(textbook, x, y)
    np.testing.assert_allclose(first[0], second[0], rtol=1e-12)
    assert_same_gradients(first, second, grad_x_atol=1e-14)


def small_cnn(rng: np.random.Generator, dtype=np.float64) -> Sequential:
    layers = [
        Conv2D(1, 2, 3, padding=1, rng=rng, dtype=dtype),
        BatchNorm(2, dtype=dtype),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(18, 3, rng=rng, dtype=dtype),
    ]
    return Sequential(layers, SoftmaxCrossEntropy())


def test_whole_small_cnn_gradients_match_finite_differences():
    rng = np.random.default_rng(9)
    model = small_cnn(rng)
    for slot in model.named_params():
        slot.param[...] = rng.standard_normal(slot.param.shape)
    x, y = rng.standard_normal((3, 1, 6, 6)), one_hot(rng.integers(0, 3, 3), 3)

    def f() -> float:
        return model.loss.value(model.forward(x, training=True), y)

    grad_x = model.backward(model.loss.gradient(model.forward(x, training=True), y))
    assert rel_error(grad_x, numeric_grad(f, x)) < 1e-6
    for slot in model.named_params():
        model.backward(model.loss.gradient(model.forward(x, training=True), y))
        numeric = numeric_grad(f, slot.param)
        if slot.name == "0.b":  # BatchNorm subtracts any per-channel constant: no gradient
            assert np.abs(slot.grad).max() < 1e-12 and np.abs(numeric).max() < 1e-8
        else:
            assert rel_error(slot.grad.copy(), numeric) < 1e-6, slot.name


def test_buffers_round_trip_and_are_checked_like_weights():
    rng = np.random.default_rng(12)
    model = build_cnn((4, 4), (8,), rng=rng)
    assert list(model.get_buffers()) == [
        "1.running_mean",
        "1.running_var",
        "4.running_mean",
        "4.running_var",
    ]
    model.forward(rng.random((8, 1, 28, 28)), training=True)
    rebuilt = Sequential.from_spec(model.spec(), rng=np.random.default_rng(99))
    rebuilt.set_weights(model.get_weights())
    rebuilt.set_buffers(model.get_buffers())
    x = rng.random((5, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.predict_proba(x), model.predict_proba(x))
    model.get_buffers()["1.running_mean"][...] = 7.0  # copies, not the arrays
    assert not (model.layers[1].buffers["running_mean"] == 7.0).any()
    buffers = model.get_buffers()
    with pytest.raises(ModelFileError, match="buffers: missing '4.running_var'"):
        rebuilt.set_buffers({k: v for k, v in buffers.items() if k != "4.running_var"})
    with pytest.raises(ModelFileError, match="buffers '1.running_mean': expected shape"):
        rebuilt.set_buffers({**buffers, "1.running_mean": np.zeros(5)})
    with pytest.raises(ModelFileError, match="unexpected '0.running_mean'"):
        rebuilt.set_buffers({**buffers, "0.running_mean": np.zeros(4)})
    assert Sequential([ReLU()], SoftmaxCrossEntropy()).get_buffers() == {}


def test_build_cnn_follows_the_documented_scheme():
    model = build_cnn((32, 32, 64, 64), (128,), dropout=0.25, rng=np.random.default_rng(0))
    assert repr(model).startswith(
        "Sequential(Conv2D(1→32, 3x3, padding=1), BatchNorm(32), ReLU(), "
        "Conv2D(32→32, 3x3, padding=1), BatchNorm(32), MaxPool2D(2), ReLU(), "
        "Conv2D(32→64, 3x3, padding=1), BatchNorm(64), ReLU(), "
        "Conv2D(64→64, 3x3, padding=1), BatchNorm(64), MaxPool2D(2), ReLU(), "
        "Flatten(), Dense(3136→128), ReLU(), Dropout(0.25), Dense(128→10)"
    )
    plain = build_cnn(
        (8, 16, 16), (), kernel_size=5, batch_norm=False, rng=np.random.default_rng(0)
    )
    types = [type(layer).__name__ for layer in plain.layers]
    assert types == ["Conv2D", "ReLU", "Conv2D", "MaxPool2D", "ReLU", "Conv2D", "MaxPool2D"] + [
        "ReLU",
        "Flatten",
        "Dense",
    ]
    assert plain.layers[-1].fan_in == 16 * 7 * 7 and plain.layers[0].padding == (2, 2)
    assert plain.forward(np.zeros((2, 1, 28, 28))).shape == (2, 10)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"conv_channels": ()},
        {"conv_channels": (8, 0)},
        {"dense": (-1,)},
        {"kernel_size": 4},
        {"dropout": 1.0},
        {"conv_channels": (2,) * 12},  # more pooling than 28 pixels allow
    ],
)
def test_build_cnn_refuses_bad_settings(kwargs):
    kwargs = {"conv_channels": (8,), "dense": (16,), **kwargs}
    with pytest.raises(ConfigError):
        build_cnn(rng=np.random.default_rng(0), **kwargs)


def test_small_cnn_learns_real_mnist_digits_in_seconds(mnist):
    # 4000 images: with 2000, this net (and the same net in PyTorch) plateaus near 0.88 on
    # the first 1000 test digits
    x_train, labels_train = mnist_inputs(mnist, "train", 4000)
    x_test, labels_test = mnist_inputs(mnist, "test", 1000)
    x_train, x_test = x_train.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    model = build_cnn((8,), (), rng=np.random.default_rng(0))
    train_minibatches(model, x_train, labels_train, epochs=3, batch_size=50, learning_rate=3e-3)
    accuracy = (model.predict(x_test) == labels_test).mean()
    assert accuracy > 0.9  # 0.911 with these seeds; chance is 0.1
