"""Conv2D, MaxPool2D, Flatten, BatchNorm and build_cnn: gradient checks in float64, slow
loop references, PyTorch references, running statistics and buffers, learning real digits."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import (
    numeric_grad,
    one_hot,
    read_mnist,
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
    conv_rows,
    layer_from_spec,
)
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


def assert_same_gradients(first, second, *, grad_x_atol):
    """Two training_pass results agree in dLoss/dx and in every parameter's gradient."""
    np.testing.assert_allclose(first[1], second[1], rtol=1e-10, atol=grad_x_atol)
    for name in first[2]:
        np.testing.assert_allclose(
            first[2][name], second[2][name], rtol=1e-10, atol=1e-12, err_msg=name
        )


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


def test_small_cnn_learns_real_mnist_digits_in_seconds():
    # 4000 images: with 2000, this net (and the same net in PyTorch) plateaus near 0.88 on
    # the first 1000 test digits
    x_train, labels_train = read_mnist("train", 4000)
    x_test, labels_test = read_mnist("t10k", 1000)
    x_train, x_test = x_train.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    model = build_cnn((8,), (), rng=np.random.default_rng(0))
    train_minibatches(model, x_train, labels_train, epochs=3, batch_size=50, learning_rate=3e-3)
    accuracy = (model.predict(x_test) == labels_test).mean()
    assert accuracy > 0.9  # 0.911 with these seeds; chance is 0.1
