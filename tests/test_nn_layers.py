"""Layers: finite-difference gradient checks in float64, extreme inputs, specs and validation."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import numeric_grad, rel_error

from digitnet.errors import ConfigError
from digitnet.nn import (
    LAYER_TYPES,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    layer_from_spec,
)


def check_layer_gradients(layer, x: np.ndarray, rng: np.random.Generator) -> None:
    """backward(up) equals the numeric gradient of sum(forward(x) * up) for x and every param."""
    up = rng.standard_normal(layer.forward(x, training=True).shape)

    def f() -> float:
        return float((layer.forward(x, training=True) * up).sum())

    layer.forward(x, training=True)
    grad_x = layer.backward(up)
    assert rel_error(grad_x, numeric_grad(f, x)) < 1e-6
    for name, param in layer.params.items():
        layer.forward(x, training=True)
        layer.backward(up)
        analytic = layer.grads[name].copy()
        assert rel_error(analytic, numeric_grad(f, param)) < 1e-6, name


@pytest.mark.parametrize("batch", [4, 1])  # a batch of 1 takes the outer-product path
def test_dense_gradients_for_x_W_and_b(batch):
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, init="xavier_normal", rng=rng, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(3)
    check_layer_gradients(layer, rng.standard_normal((batch, 5)), rng)


@pytest.mark.parametrize("layer", [Sigmoid(), Tanh(), Softmax(), ReLU(), LeakyReLU(0.1)])
def test_activation_gradients(layer):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6)) * 3
    if isinstance(layer, (ReLU, LeakyReLU)):
        x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink, where the derivative jumps
    check_layer_gradients(layer, x, rng)


def test_dropout_gradient_with_a_fixed_mask():
    rng = np.random.default_rng(2)
    layer = Dropout(0.4, rng=np.random.default_rng(3))
    x = rng.standard_normal((4, 6))
    layer.fixed_mask = rng.random(x.shape) >= 0.4
    check_layer_gradients(layer, x, rng)
    np.testing.assert_allclose(layer.forward(x, training=True), x * layer.fixed_mask / 0.6)


def test_dropout_is_identity_at_inference_and_scales_in_training():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    x = np.ones((1000, 100), np.float32)
    assert layer.forward(x) is x
    assert layer.backward(x) is x
    out = layer.forward(x, training=True)
    assert out.dtype == np.float32
    assert set(np.unique(out)) == {0.0, 2.0}
    assert abs(out.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation
    np.testing.assert_array_equal(layer.backward(x), layer.mask)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rate_outside_0_1_is_refused(rate):
    with pytest.raises(ConfigError, match="dropout rate"):
        Dropout(rate, rng=np.random.default_rng(0))


@pytest.mark.parametrize("layer", [Sigmoid(), Tanh(), Softmax(), ReLU(), LeakyReLU()])
def test_extreme_inputs_give_finite_outputs_and_gradients(layer):
    x = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], np.float32)
    out = layer.forward(x)
    grad_x = layer.backward(np.ones_like(x))
    assert np.isfinite(out).all() and np.isfinite(grad_x).all()
    assert out.dtype == grad_x.dtype == np.float32


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("slope", [0.0, 0.1])
def test_relu_gates_equal_the_textbook_definitions(slope, training):
    """x·gate (training) and max(x, slope·x) (inference) give the textbook values for finite x
    (zeros of either sign, tiny values, the largest floats; a negative input may give −0.0,
    equal to 0), the textbook derivative, and NaN for NaN."""
    big = np.finfo(np.float32).max
    x = np.array([[-big, -3.5, -1e-30, -0.0, 0.0, 1e-30, 2.25, big, np.nan]], np.float32)
    layer = ReLU() if slope == 0.0 else LeakyReLU(slope)
    out = layer.forward(x, training=training)
    assert out.dtype == np.float32
    grad_x = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(out[0, :-1], np.where(x > 0, x, np.float32(slope) * x)[0, :-1])
    expected_grad = np.where(x > 0, np.float32(2.0), np.float32(2.0) * np.float32(slope))
    np.testing.assert_array_equal(grad_x[0, :-1], expected_grad[0, :-1])
    assert np.isnan(out[0, -1])


def test_sigmoid_values_at_the_extremes():
    out = Sigmoid().forward(np.array([-1e4, 0.0, 1e4]))
    np.testing.assert_array_equal(out, [0.0, 0.5, 1.0])


def test_layers_keep_float32_and_do_not_modify_their_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    original = x.copy()
    for layer in [Dense(5, 5, rng=rng), Sigmoid(), Tanh(), ReLU(), LeakyReLU(), Softmax()]:
        out = layer.forward(x, training=True)
        grad_x = layer.backward(np.ones_like(out))
        assert out.dtype == grad_x.dtype == np.float32, layer
        np.testing.assert_array_equal(x, original)


def test_dense_backward_overwrites_the_same_grad_arrays():
    rng = np.random.default_rng(0)
    layer = Dense(3, 2, rng=rng)
    grad_W = layer.grads["W"]
    x = np.ones((4, 3), np.float32)
    for _ in range(2):
        layer.forward(x)
        layer.backward(np.ones((4, 2), np.float32))
    assert layer.grads["W"] is grad_W
    np.testing.assert_array_equal(grad_W, np.full((3, 2), 4.0))  # not accumulated over calls


def test_every_registered_layer_round_trips_through_its_spec():
    rng = np.random.default_rng(0)
    layers = [Dense(4, 3, init="xavier_uniform", rng=rng), Dropout(0.25, rng=rng)]
    layers += [Sigmoid(), Tanh(), ReLU(), LeakyReLU(0.2), Softmax()]
    assert {type(layer).__name__ for layer in layers} <= set(LAYER_TYPES)
    for layer in layers:
        rebuilt = layer_from_spec(layer.spec(), rng=rng)
        assert type(rebuilt) is type(layer)
        assert rebuilt.spec() == layer.spec()


def test_every_layer_class_in_the_engine_can_be_named_in_a_model_file():
    import importlib
    import pkgutil

    import digitnet

    for module in pkgutil.walk_packages(digitnet.__path__, "digitnet."):
        # not the web app (it needs its extra) nor `python -m digitnet` (it runs the CLI)
        if not module.name.startswith("digitnet.web") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)

    def subclasses(cls: type) -> set[type]:
        return {sub for child in cls.__subclasses__() for sub in (child, *subclasses(child))}

    engine_layers = {cls for cls in subclasses(Layer) if cls.__module__.startswith("digitnet.")}
    assert engine_layers == set(LAYER_TYPES.values())
    assert all(LAYER_TYPES[cls.__name__] is cls for cls in engine_layers)


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "Dense", "fan_in": 4, "fan_out": 3},
        {"type": "Sigmoid"},
        {"type": "Tanh"},
        {"type": "ReLU"},
        {"type": "LeakyReLU", "slope": 0.1},
        {"type": "Softmax"},
        {"type": "Conv2D", "in_channels": 1, "out_channels": 2, "kernel_size": 3},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Flatten"},
        {"type": "BatchNorm", "n_features": 3},
    ],
)
def test_backward_before_any_forward_says_to_call_forward_first(spec):
    layer = layer_from_spec(spec, rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match=r"backward needs a forward first"):
        layer.backward(np.ones((2, 3) if spec["type"] in ("Dense", "BatchNorm") else (2, 3, 4, 4)))


@pytest.mark.parametrize("layer", [Sigmoid(), Tanh(), ReLU(), LeakyReLU(0.1), Softmax()])
def test_activation_backward_refuses_a_gradient_of_another_shape(layer):
    layer.forward(np.ones((2, 5)), training=True)
    for wrong in [(1, 5), (3, 2, 5), (2, 4)]:
        with pytest.raises(
            ValueError, match=r"gradient of shape .* for an output of shape \(2, 5\)"
        ):
            layer.backward(np.ones(wrong))


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "Conv7D"},
        {"fan_in": 3},
        {"type": "Dense", "fan_in": 3},
        {"type": "Dense", "fan_in": 3, "fan_out": 0},
        {"type": "Dense", "fan_in": 3, "fan_out": 2, "init": "magic"},
        {"type": "ReLU", "slope": 0.1},
        {"type": "LeakyReLU", "slope": -1},
    ],
)
def test_bad_layer_specs_raise_config_error(spec):
    with pytest.raises(ConfigError):
        layer_from_spec(spec, rng=np.random.default_rng(0))


def test_dense_weights_follow_the_dtype():
    rng = np.random.default_rng(0)
    assert Dense(3, 2, rng=rng).params["W"].dtype == np.float32
    layer = Dense(3, 2, rng=rng, dtype=np.float64)
    assert {p.dtype for p in layer.params.values()} == {np.dtype(np.float64)}
    assert layer.params["W"].shape == (3, 2) and layer.params["b"].shape == (2,)


def test_need_input_grad_false_skips_dx_but_not_the_param_grads():
    rng = np.random.default_rng(10)
    for layer, x in [
        (Dense(4, 3, rng=rng, dtype=np.float64), rng.standard_normal((5, 4))),
        (Conv2D(2, 3, 3, padding=1, rng=rng, dtype=np.float64), rng.standard_normal((2, 2, 5, 5))),
        (BatchNorm(2, dtype=np.float64), rng.standard_normal((4, 2, 3, 3))),
    ]:
        up = rng.standard_normal(layer.forward(x, training=True).shape)
        assert layer.backward(up) is not None
        expected = {name: grad.copy() for name, grad in layer.grads.items()}
        assert layer.backward(up, need_input_grad=False) is None
        for name, grad in layer.grads.items():
            np.testing.assert_array_equal(grad, expected[name])


def test_new_layers_round_trip_through_their_specs_and_refuse_bad_fields():
    rng = np.random.default_rng(0)
    for layer in [
        Conv2D(2, 3, (3, 5), stride=(2, 1), padding=1, init="xavier_uniform", rng=rng),
        MaxPool2D(3, 2),
        Flatten(),
        BatchNorm(4, momentum=0.5, eps=1e-3),
    ]:
        rebuilt = layer_from_spec(layer.spec(), rng=rng)
        assert rebuilt.spec() == layer.spec() and type(rebuilt) is type(layer)
    for spec in [
        {"type": "Conv2D", "in_channels": 1, "out_channels": 2, "kernel_size": 0},
        {"type": "Conv2D", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": -1},
        {"type": "MaxPool2D", "pool_size": (2, 2, 2)},
        {"type": "BatchNorm", "n_features": 3, "momentum": 1.0},
    ]:
        with pytest.raises(ConfigError):
            layer_from_spec(spec, rng=rng)


def test_layers_keep_float32_and_refuse_wrong_shapes():
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 8, 8), dtype=np.float32)
    original = x.copy()
    for layer in [Conv2D(3, 4, 3, rng=rng), MaxPool2D(2), BatchNorm(3), Flatten()]:
        out = layer.forward(x, training=True)
        assert out.dtype == layer.backward(np.ones_like(out)).dtype == np.float32, layer
        np.testing.assert_array_equal(x, original)
    with pytest.raises(ValueError, match="Conv2D expects"):
        Conv2D(2, 4, 3, rng=rng).forward(x)
    with pytest.raises(ValueError, match="larger than"):
        Conv2D(3, 4, 9, rng=rng).forward(x)
    with pytest.raises(ValueError, match="BatchNorm expects"):
        BatchNorm(4).forward(x)
