"""Sequential and build_mlp: whole-model gradients, PyTorch reference, specs and weights,
seeded determinism, and learning real MNIST digits in a couple of seconds."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import mnist_inputs, numeric_grad, one_hot, rel_error, train_minibatches

from digitnet.errors import ConfigError, ModelFileError
from digitnet.nn import (
    Adam,
    Dense,
    Dropout,
    Flatten,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    build_mlp,
)


@pytest.mark.parametrize(
    ("activation", "output"), [("relu", "softmax"), ("tanh", "softmax"), ("sigmoid", "sigmoid")]
)
def test_whole_mlp_gradients_match_finite_differences(activation, output):
    rng = np.random.default_rng(0)
    model = build_mlp(
        (6, 5, 4, 3),
        activation=activation,
        output=output,
        init="xavier_normal",
        rng=rng,
        dtype=np.float64,
        loss_kwargs={"label_smoothing": 0.1} if output == "softmax" else None,
    )
    for slot in model.named_params():
        slot.param[...] = rng.standard_normal(slot.param.shape)  # non-zero biases too
    x, y = rng.standard_normal((4, 6)), one_hot(rng.integers(0, 3, 4), 3)

    def f() -> float:
        return model.loss.value(model.forward(x), y)

    grad_x = model.backward(model.loss.gradient(model.forward(x), y))
    assert rel_error(grad_x, numeric_grad(f, x)) < 1e-6
    for slot in model.named_params():
        assert rel_error(slot.grad, numeric_grad(f, slot.param)) < 1e-6, slot.name


def test_loss_and_gradients_match_torch_in_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    model = build_mlp((8, 6, 4), activation="relu", rng=rng, dtype=np.float64)
    model.set_weights(
        {name: rng.standard_normal(w.shape) for name, w in model.get_weights().items()}
    )
    x, labels = rng.standard_normal((5, 8)), rng.integers(0, 4, 5)
    loss = model.loss.value(model.forward(x, training=True), one_hot(labels, 4))
    model.backward(model.loss.gradient(model.forward(x, training=True), one_hot(labels, 4)))

    weights = model.get_weights()
    first, second = (
        torch.nn.Linear(8, 6, dtype=torch.float64),
        torch.nn.Linear(6, 4, dtype=torch.float64),
    )
    with torch.no_grad():
        for linear, index in ((first, 0), (second, 2)):
            linear.weight.copy_(torch.tensor(weights[f"{index}.W"].T))  # torch stores (out, in)
            linear.bias.copy_(torch.tensor(weights[f"{index}.b"]))
    logits = second(torch.relu(first(torch.tensor(x))))
    torch_loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
    torch_loss.backward()

    assert loss == pytest.approx(torch_loss.item(), rel=1e-10)
    grads = {slot.name: slot.grad for slot in model.named_params()}
    for linear, index in ((first, 0), (second, 2)):
        np.testing.assert_allclose(grads[f"{index}.W"], linear.weight.grad.numpy().T, rtol=1e-10)
        np.testing.assert_allclose(grads[f"{index}.b"], linear.bias.grad.numpy(), rtol=1e-10)


def test_named_params_are_stable_and_share_the_layer_arrays():
    model = build_mlp((784, 16, 16, 10), dropout=0.2, rng=np.random.default_rng(0))
    names = [slot.name for slot in model.named_params()]
    assert names == ["0.W", "0.b", "3.W", "3.b", "6.W", "6.b"]
    assert names == [slot.name for slot in model.named_params()]
    slot = model.named_params()[0]
    assert slot.param is model.layers[0].params["W"] and slot.grad is model.layers[0].grads["W"]
    assert [s.decay for s in model.named_params()] == [True, False] * 3
    assert model.n_params == 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10


def test_seed_000_network_shape_and_repr():
    model = build_mlp(
        (784, 16, 16, 10),
        activation="sigmoid",
        output="sigmoid",
        init="uniform",
        rng=np.random.default_rng(0),
    )
    assert repr(model) == (
        "Sequential(Dense(784→16), Sigmoid(), Dense(16→16), Sigmoid(), Dense(16→10), Sigmoid(), "
        "loss=mse, params=13,002)"
    )
    probs = model.predict_proba(np.random.default_rng(1).random((5, 784)))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


def test_spec_from_spec_set_weights_round_trip_gives_identical_predictions():
    rng = np.random.default_rng(0)
    model = build_mlp(
        (20, 12, 10),
        activation="leaky_relu",
        dropout=0.3,
        rng=rng,
        loss_kwargs={"label_smoothing": 0.1},
    )
    rebuilt = Sequential.from_spec(model.spec(), rng=np.random.default_rng(99))
    assert rebuilt.spec() == model.spec()
    rebuilt.set_weights(model.get_weights())
    x = rng.standard_normal((50, 20)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))
    assert model.predict(x).dtype == np.int64


def test_set_weights_refuses_missing_unexpected_and_misshaped_keys():
    model = build_mlp((4, 3, 2), rng=np.random.default_rng(0))
    weights = model.get_weights()
    with pytest.raises(ModelFileError, match="missing '2.b'"):
        model.set_weights({k: v for k, v in weights.items() if k != "2.b"})
    with pytest.raises(ModelFileError, match="'0.W': expected shape \\(4, 3\\), found \\(3, 4\\)"):
        model.set_weights({**weights, "0.W": weights["0.W"].T})
    with pytest.raises(ModelFileError, match="unexpected '4.W'"):
        model.set_weights({**weights, "4.W": weights["0.W"]})
    model.set_weights({k: v.astype(np.float64) for k, v in weights.items()})
    assert model.layers[0].params["W"].dtype == np.float32  # cast into the existing arrays


def test_get_weights_returns_copies():
    model = build_mlp((4, 3, 2), rng=np.random.default_rng(0))
    model.get_weights()["0.W"][...] = 7.0
    assert not (model.layers[0].params["W"] == 7.0).any()


def test_same_seed_gives_bit_identical_weights_and_dropout_does_not_change_them():
    plain = build_mlp((30, 20, 10), rng=np.random.default_rng(5))
    again = build_mlp((30, 20, 10), rng=np.random.default_rng(5))
    dropped = build_mlp((30, 20, 10), dropout=0.5, rng=np.random.default_rng(5))
    for name, weight in plain.get_weights().items():
        np.testing.assert_array_equal(weight, again.get_weights()[name])
    dropped_weights = list(dropped.get_weights().values())  # names shift: Dropout is a layer
    for weight, dropped_weight in zip(plain.get_weights().values(), dropped_weights, strict=True):
        np.testing.assert_array_equal(weight, dropped_weight)


def test_dropout_masks_come_from_their_own_stream():
    model = build_mlp((30, 20, 10), dropout=0.5, rng=np.random.default_rng(5))
    dropout = model.layers[2]
    assert isinstance(dropout, Dropout)
    init_stream = np.random.default_rng(5)
    init_stream.standard_normal(30 * 20 + 20 * 10)
    assert dropout.rng is not init_stream
    x = np.ones((1000, 20), np.float32)
    expected = init_stream.random(x.shape, dtype=np.float32) >= 0.5
    assert not np.array_equal(dropout.forward(x, training=True) > 0, expected)


def test_training_twice_from_the_same_seed_is_bit_identical():
    def train() -> dict[str, np.ndarray]:
        rng = np.random.default_rng(3)
        model = build_mlp((12, 8, 4), dropout=0.2, rng=rng)
        data = np.random.default_rng(4)
        x, y = data.standard_normal((64, 12)), one_hot(data.integers(0, 4, 64), 4)
        optimizer = Adam(model.named_params(), learning_rate=0.01)
        for _ in range(5):
            model.train_step(x, y, optimizer, clip_norm=1.0)
        return model.get_weights()

    first, second = train(), train()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_loss_value_is_the_mean_over_all_chunks():
    rng = np.random.default_rng(0)
    model = build_mlp((5, 4, 3), rng=rng, dtype=np.float64)
    x, y = rng.standard_normal((10, 5)), one_hot(rng.integers(0, 3, 10), 3)
    whole = model.loss.value(model.forward(x), y)
    assert model.loss_value(x, y, batch_size=3) == pytest.approx(whole, rel=1e-12)


@pytest.mark.parametrize("preset", ["seed000", "mlp", "cnn"])
def test_no_images_give_no_predictions_of_the_networks_own_width(preset):
    from digitnet.training.build import build_model
    from digitnet.training.presets import get_preset

    config = get_preset(preset).model
    model = build_model(config, rng=np.random.default_rng(0))
    shape = (0, 1, 28, 28) if config.kind == "cnn" else (0, 784)
    assert model.predict_proba(np.zeros(shape, np.float32)).shape == (0, 10)
    assert model.predict(np.zeros(shape, np.float32)).shape == (0,)
    narrow = build_mlp((6, 4, 3), rng=np.random.default_rng(0))  # three classes, not ten
    assert narrow.predict_proba(np.zeros((0, 6), np.float32)).shape == (0, 3)


def test_train_step_keeps_float32_and_returns_the_batch_loss():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(5, 4, rng=rng), ReLU(), Dense(4, 3, rng=rng)], SoftmaxCrossEntropy())
    x, y = rng.standard_normal((8, 5)), one_hot(rng.integers(0, 3, 8), 3)
    before = model.loss_value(x, y)
    loss = model.train_step(x, y, Adam(model.named_params()))
    assert loss == pytest.approx(before, rel=1e-5)
    assert all(slot.param.dtype == np.float32 for slot in model.named_params())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sizes": (784,)},
        {"sizes": (784, 0, 10)},
        {"activation": "swish"},
        {"output": "linear"},
        {"init": "zeros"},
        {"dropout": 1.0},
    ],
)
def test_build_mlp_refuses_bad_settings(kwargs):
    kwargs = {"sizes": (784, 16, 10), **kwargs}
    with pytest.raises(ConfigError):
        build_mlp(kwargs.pop("sizes"), rng=np.random.default_rng(0), **kwargs)


def test_mlp_learns_real_mnist_digits_in_seconds(mnist):
    x_train, labels_train = mnist_inputs(mnist, "train", 3000)
    x_test, labels_test = mnist_inputs(mnist, "test", 1000)
    model = build_mlp((784, 64, 10), rng=np.random.default_rng(0))
    train_minibatches(model, x_train, labels_train, epochs=8, batch_size=100, learning_rate=3e-3)
    accuracy = (model.predict(x_test) == labels_test).mean()
    assert accuracy > 0.87  # 0.897 with these seeds; chance is 0.1


def test_input_dropout_drops_pixels_only_while_training():
    x = np.ones((4, 784), dtype=np.float32)
    with_input_dropout = build_mlp((784, 8, 10), input_dropout=0.5, rng=np.random.default_rng(0))
    plain = build_mlp((784, 8, 10), rng=np.random.default_rng(0))
    assert type(with_input_dropout.layers[0]).__name__ == "Dropout"
    np.testing.assert_array_equal(with_input_dropout.forward(x), plain.forward(x))
    assert not np.array_equal(with_input_dropout.forward(x, training=True), plain.forward(x))


def test_train_step_refuses_an_empty_batch_and_an_optimizer_of_another_model():
    from digitnet.nn import optimizer_from_name

    rng = np.random.default_rng(0)
    model, other = build_mlp((6, 4, 3), rng=rng), build_mlp((6, 4, 3), rng=rng)
    x, y = rng.random((5, 6), dtype=np.float32), one_hot(rng.integers(0, 3, 5), 3)
    optimizer = optimizer_from_name("momentum", model.named_params(), learning_rate=0.1)
    with pytest.raises(ValueError, match="the batch is empty"):
        model.train_step(x[:0], y[:0], optimizer)
    with pytest.raises(ValueError, match="takes float inputs .* got uint8"):
        model.train_step((x * 255).astype(np.uint8), y, optimizer)
    stray = optimizer_from_name("momentum", other.named_params(), learning_rate=0.1)
    with pytest.raises(ConfigError, match="another model's parameters"):
        model.train_step(x, y, stray)
    last_layer_only = optimizer_from_name("sgd", model.named_params()[2:], learning_rate=0.1)
    model.train_step(x, y, last_layer_only)  # a subset of this model's slots is fine


def test_a_nan_batch_leaves_batchnorm_running_statistics_and_weights_as_they_were():
    from digitnet.nn import BatchNorm, optimizer_from_name

    rng = np.random.default_rng(0)
    model = Sequential(
        [Dense(6, 4, rng=rng), BatchNorm(4), ReLU(), Dense(4, 3, rng=rng)], SoftmaxCrossEntropy()
    )
    x, y = rng.random((5, 6), dtype=np.float32), one_hot(rng.integers(0, 3, 5), 3)
    optimizer = optimizer_from_name("momentum", model.named_params(), learning_rate=0.1)
    model.train_step(x, y, optimizer)
    before = model.get_state()
    x[2, 1] = np.nan
    with np.errstate(invalid="ignore"):
        assert np.isnan(model.train_step(x, y, optimizer))
    for name, value in model.get_state().items():
        np.testing.assert_array_equal(value, before[name])


def test_a_nan_loss_leaves_the_weights_as_they_were():
    from digitnet.nn import optimizer_from_name

    rng = np.random.default_rng(0)
    model = build_mlp((6, 4, 3), rng=rng)
    x, y = rng.random((5, 6), dtype=np.float32), one_hot(rng.integers(0, 3, 5), 3)
    x[2, 1] = np.nan
    before = model.get_weights()
    optimizer = optimizer_from_name("adam", model.named_params(), learning_rate=0.1)
    with np.errstate(invalid="ignore"):
        assert np.isnan(model.train_step(x, y, optimizer))
    for name, value in model.get_weights().items():
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize(
    ("layers", "loss", "message"),
    [
        ([], SoftmaxCrossEntropy(), "at least one layer"),
        ([np.tanh], SoftmaxCrossEntropy(), "layers must be digitnet.nn layers"),
        ([ReLU()], "cross_entropy", "loss must be a Loss such as SoftmaxCrossEntropy()"),
        ([ReLU], SoftmaxCrossEntropy(), r"ReLU is a layer class: give a layer, e.g. ReLU\(\)"),
    ],
)
def test_sequential_refuses_what_is_not_a_network(layers, loss, message):
    with pytest.raises(ConfigError, match=message):
        Sequential(layers, loss)


def test_dense_names_the_input_shape_it_takes():
    model = build_mlp((784, 16, 10), rng=np.random.default_rng(0))
    with pytest.raises(
        ValueError, match=r"Dense\(784→16\) takes \(batch, 784\) inputs, got \(3, 28, 28\)"
    ):
        model.predict(np.zeros((3, 28, 28), np.float32))


def test_sequential_backward_without_input_grad_stops_at_the_first_parametric_layer():
    rng = np.random.default_rng(11)
    model = Sequential([Flatten(), Dense(8, 3, rng=rng, dtype=np.float64)], SoftmaxCrossEntropy())
    x, y = rng.standard_normal((4, 2, 2, 2)), one_hot(rng.integers(0, 3, 4), 3)
    grad_out = model.loss.gradient(model.forward(x, training=True), y)
    assert model.backward(grad_out).shape == x.shape
    expected = model.layers[1].grads["W"].copy()
    assert model.backward(grad_out, need_input_grad=False) is None
    np.testing.assert_array_equal(model.layers[1].grads["W"], expected)
    relu_only = Sequential([ReLU()], SoftmaxCrossEntropy())
    relu_only.forward(x[:, :, 0, 0], training=True)
    assert relu_only.backward(np.ones((4, 2)), need_input_grad=False) is None
