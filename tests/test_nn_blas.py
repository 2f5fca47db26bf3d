"""The BLAS calls behind fused updates (nn/blas.py) and the training steps that use them:
the same numbers as NumPy and as PyTorch, by BLAS and by the NumPy fallback."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
from nn_helpers import one_hot

from digitnet.nn import blas
from digitnet.nn.layers import Dense
from digitnet.nn.mlp import build_mlp
from digitnet.nn.optim import SGD, Adam

DTYPES = [np.float32, np.float64]


@pytest.fixture(params=["blas", "numpy"])
def backend(request, monkeypatch):
    """Run a test once through the BLAS library and once through the NumPy fallback."""
    if request.param == "numpy":
        monkeypatch.setattr(blas, "routines", lambda: None)
    elif blas.routines() is None:
        pytest.skip("NumPy's BLAS library was not found: only the NumPy fallback runs here")
    return request.param


def test_numpys_bundled_openblas_is_found_when_numpy_ships_one():
    numpy_dir = os.path.dirname(np.__file__)
    shipped = glob.glob(numpy_dir + ".libs/*openblas*") + glob.glob(f"{numpy_dir}/.dylibs/*")
    if not shipped:
        pytest.skip("this NumPy does not ship OpenBLAS")
    assert blas.routines() is not None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (1.0, 0.9), (-0.01, 1.0), (2.5, -0.5)])
def test_gemm_tn_is_alpha_a_transposed_b_plus_beta_out(backend, dtype, alpha, beta):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((37, 19)).astype(dtype), rng.standard_normal((37, 23)).astype(dtype)
    out = rng.standard_normal((19, 23)).astype(dtype)
    expected = alpha * (a.astype(np.float64).T @ b) + beta * out
    blas.gemm_tn(a, b, out, alpha, beta)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)  # fmt: skip


def test_gemm_tn_with_beta_zero_ignores_what_out_held(backend):
    a, b = np.ones((3, 2), np.float32), np.ones((3, 4), np.float32)
    out = np.full((2, 4), np.nan, np.float32)
    blas.gemm_tn(a, b, out, 1.0, 0.0)
    np.testing.assert_array_equal(out, np.full((2, 4), 3.0))


def test_gemm_tn_takes_strided_and_mixed_arrays_through_numpy():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((10, 12))[:, ::2]  # not contiguous
    b = rng.standard_normal((10, 4)).astype(np.float32)  # another dtype
    out = np.zeros((6, 4))
    blas.gemm_tn(a, b, out, 1.0, 0.0)
    np.testing.assert_allclose(out, a.T @ b, rtol=1e-6)
    with pytest.raises(ValueError, match="do not match"):
        blas.gemm_tn(a, b, np.zeros((4, 6)), 1.0, 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_gemm_reads_and_writes_strided_views_in_place(backend, dtype, beta):
    """A transposed left operand, a column slice on the right, and out a column slice of a
    larger matrix (what the convolution's kernel-row products use): only the slice changes."""
    rng = np.random.default_rng(11)
    left = rng.standard_normal((6, 4)).astype(dtype).T  # (4, 6), columns contiguous
    right = rng.standard_normal((6, 20)).astype(dtype)[:, 3:11]  # (6, 8), rows strided
    canvas = rng.standard_normal((4, 15)).astype(dtype)
    before = canvas.copy()
    expected = left.astype(np.float64) @ right + beta * canvas[:, 5:13]
    blas.gemm(left, right, canvas[:, 5:13], 1.0, beta)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(canvas[:, 5:13], expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(canvas[:, :5], before[:, :5])
    np.testing.assert_array_equal(canvas[:, 13:], before[:, 13:])
    with pytest.raises(ValueError, match="do not match"):
        blas.gemm(left, right.T, canvas[:, 5:13], 1.0, beta)


@pytest.mark.parametrize("dtype", DTYPES)
def test_axpy_adds_alpha_x_in_place(backend, dtype):
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((30, 7)).astype(dtype), rng.standard_normal((30, 7)).astype(dtype)
    expected = y.astype(np.float64) - 0.3 * x
    target = y
    blas.axpy(-0.3, x, y)
    assert y is target and y.dtype == dtype
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="differ"):
        blas.axpy(1.0, x, y[:5])


@pytest.mark.parametrize("dtype", DTYPES)
def test_ger_adds_alpha_times_an_outer_product_in_place(backend, dtype):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(9).astype(dtype), rng.standard_normal(4).astype(dtype)
    a = rng.standard_normal((9, 4)).astype(dtype)
    expected = a.astype(np.float64) - 0.7 * np.outer(x, y)
    target = a
    blas.ger(-0.7, x, y, a)
    assert a is target and a.dtype == dtype
    np.testing.assert_allclose(a, expected, rtol=1e-5, atol=1e-5)
    blas.ger(0.0, np.full(9, np.inf, dtype), y, a)  # alpha = 0 leaves a as it is, as in BLAS
    np.testing.assert_allclose(a, expected, rtol=1e-5, atol=1e-5)
    strided = np.zeros((9, 8), dtype)[:, ::2]  # not contiguous: NumPy does it
    blas.ger(2.0, x, y, strided)
    np.testing.assert_allclose(strided, 2.0 * np.outer(x, y), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="do not match"):
        blas.ger(1.0, x, y, a.T)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_bound_axpy_updates_its_arrays_in_place_every_call(backend, dtype):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((16, 10)).astype(dtype), rng.standard_normal((16, 10)).astype(dtype)
    expected = y.astype(np.float64)
    step = blas.BoundAxpy(x, y)
    for alpha in (-0.5, 0.25, 0.0):
        x *= 1.5  # the values may change between calls: the arrays stay the same
        expected += alpha * x
        step(alpha)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    strided = np.zeros((16, 20), dtype)[:, ::2]  # not contiguous: NumPy does it
    blas.BoundAxpy(x, strided)(2.0)
    np.testing.assert_allclose(strided, 2.0 * x, rtol=1e-6)
    with pytest.raises(ValueError, match="differ"):
        blas.BoundAxpy(x, y[:5])


def test_plain_sgd_per_sample_matches_the_textbook_update(backend):
    rng = np.random.default_rng(5)
    model = build_mlp((12, 5, 3), activation="sigmoid", output="sigmoid", rng=rng)
    weights = model.get_weights()
    optimizer = SGD(model.named_params(), learning_rate=0.5)
    x = rng.random((4, 12), dtype=np.float32)
    y = one_hot(np.array([0, 2, 1, 2]), 3).astype(np.float32)
    for i in range(len(x)):
        model.forward(x[i : i + 1], training=True)
        _, grad = model.loss.value_and_gradient(model.layers[-1]._out, y[i : i + 1])
        model.backward(grad)
        expected = {name: weights[name] - 0.5 * grad_of(model, name) for name in weights}
        model.set_weights(weights)
        model.train_step(x[i : i + 1], y[i : i + 1], optimizer)
        weights = model.get_weights()
        for name in weights:
            np.testing.assert_allclose(weights[name], expected[name], rtol=1e-6, atol=1e-7)


def grad_of(model, name: str) -> np.ndarray:
    index, param = name.split(".")
    return model.layers[int(index)].grads[param].copy()


def test_dense_leaves_its_weight_gradient_as_a_product_only_when_asked():
    rng = np.random.default_rng(3)
    layer = Dense(5, 4, rng=rng, dtype=np.float64)
    x, grad_z = rng.standard_normal((6, 5)), rng.standard_normal((6, 4))
    layer.forward(x)
    products: list[blas.GradientProduct] = []
    layer.backward(grad_z, products=products)
    assert [p.grad is layer.grads["W"] for p in products] == [True]
    np.testing.assert_array_equal(layer.grads["W"], 0.0)  # not written
    np.testing.assert_allclose(layer.grads["b"], grad_z.sum(axis=0))
    products[0].compute()
    np.testing.assert_allclose(layer.grads["W"], x.T @ grad_z, rtol=1e-12)
    single: list[blas.GradientProduct] = []  # one sample: an outer product, GER's to add
    layer.forward(x[:1])
    layer.backward(grad_z[:1], products=single)
    assert len(single) == 1
    single[0].compute()
    np.testing.assert_allclose(layer.grads["W"], np.outer(x[0], grad_z[0]), rtol=1e-12)
    layer.backward(grad_z[:1])  # no list: formed at once
    np.testing.assert_allclose(layer.grads["W"], np.outer(x[0], grad_z[0]), rtol=1e-12)


def torch_mlp_steps(model, batches, **options):
    """The weights after torch.optim.SGD(**options) takes the given batches, starting from
    the model's weights (torch's weight decay goes to the weights only, as digitnet's)."""
    torch = pytest.importorskip("torch")
    weights = model.get_weights()
    linears = [torch.nn.Linear(*layer.params["W"].shape, dtype=torch.float64)
               for layer in model.layers if isinstance(layer, Dense)]  # fmt: skip
    with torch.no_grad():
        for index, linear in zip((0, 2), linears, strict=True):
            linear.weight.copy_(torch.tensor(weights[f"{index}.W"].T))
            linear.bias.copy_(torch.tensor(weights[f"{index}.b"]))
    decay = options.pop("weight_decay", 0.0)
    groups = [{"params": [linear.weight], "weight_decay": decay} for linear in linears]
    groups += [{"params": [linear.bias], "weight_decay": 0.0} for linear in linears]
    optimizer = torch.optim.SGD(groups, **options)
    for x, labels in batches:
        optimizer.zero_grad()
        logits = linears[1](torch.relu(linears[0](torch.tensor(x))))
        torch.nn.functional.cross_entropy(logits, torch.tensor(labels)).backward()
        optimizer.step()
    return {f"{index}.{name}": getattr(linear, attr).detach().numpy().T
            for index, linear in zip((0, 2), linears, strict=True)
            for name, attr in (("W", "weight"), ("b", "bias"))}  # fmt: skip


@pytest.mark.parametrize(
    "options",
    [
        {"momentum": 0.9},
        {"momentum": 0.9, "weight_decay": 0.01},
        {"momentum": 0.0},
        {"momentum": 0.0, "weight_decay": 0.05},
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    ],
    ids=["momentum", "momentum+decay", "plain", "plain+decay", "nesterov"],
)
@pytest.mark.parametrize("batch", [8, 1], ids=["batch", "one-sample"])
def test_train_steps_with_folded_products_match_torch_sgd(backend, options, batch):
    rng = np.random.default_rng(4)
    model = build_mlp([12, 9, 5], activation="relu", rng=rng, dtype=np.float64)
    batches = [(rng.standard_normal((batch, 12)), rng.integers(0, 5, batch)) for _ in range(4)]
    expected = torch_mlp_steps(model, batches, lr=0.1, **options)
    optimizer = SGD(model.named_params(), learning_rate=0.1, **options)
    for x, labels in batches:
        model.train_step(x, one_hot(labels, 5), optimizer)
    for name, weights in model.get_weights().items():
        np.testing.assert_allclose(weights, expected[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_folded_and_formed_gradients_train_float32_alike():
    """The same float32 steps with products folded (train_step) and with every gradient
    formed first (backward, then step): the weights agree to float32 rounding."""
    rng = np.random.default_rng(5)
    folded = build_mlp([784, 64, 10], activation="relu", rng=np.random.default_rng(0))
    formed = build_mlp([784, 64, 10], activation="relu", rng=np.random.default_rng(0))
    optimizers = [SGD(m.named_params(), 0.05, momentum=0.9, weight_decay=1e-3)
                  for m in (folded, formed)]  # fmt: skip
    for _ in range(5):
        x = rng.random((32, 784), dtype=np.float32)
        y = one_hot(rng.integers(0, 10, 32)).astype(np.float32)
        folded.train_step(x, y, optimizers[0])
        _, grad = formed.loss.value_and_gradient(formed.forward(x, training=True), y)
        formed.backward(grad)
        optimizers[1].step()
    for name, weights in folded.get_weights().items():
        assert weights.dtype == np.float32
        np.testing.assert_allclose(weights, formed.get_weights()[name], atol=2e-6, err_msg=name)


def test_optimizers_that_do_not_fold_products_compute_them_first():
    rng = np.random.default_rng(6)
    model = build_mlp([6, 4, 3], activation="relu", rng=rng, dtype=np.float64)
    twin = build_mlp([6, 4, 3], activation="relu", rng=np.random.default_rng(6), dtype=np.float64)
    x, y = rng.standard_normal((5, 6)), one_hot(rng.integers(0, 3, 5), 3)
    adam, twin_adam = Adam(model.named_params(), 0.01), Adam(twin.named_params(), 0.01)
    model.train_step(x, y, adam)
    twin.backward(twin.loss.value_and_gradient(twin.forward(x, training=True), y)[1])
    twin_adam.step()
    for name, weights in model.get_weights().items():
        np.testing.assert_array_equal(weights, twin.get_weights()[name], err_msg=name)
    np.testing.assert_array_equal(model.layers[0].grads["W"], twin.layers[0].grads["W"])


def test_a_frozen_layer_keeps_its_weights_and_gets_its_gradient():
    """An optimizer over the last layer only: the first layer's product matches no slot, so it
    is computed into that layer's grads (as backward would) and its weights stay."""
    rng = np.random.default_rng(7)
    model = build_mlp([6, 5, 3], activation="relu", rng=rng, dtype=np.float64)
    twin = build_mlp([6, 5, 3], activation="relu", rng=np.random.default_rng(7), dtype=np.float64)
    x, y = rng.standard_normal((4, 6)), one_hot(rng.integers(0, 3, 4), 3)
    head = [slot for slot in model.named_params() if slot.name.startswith("2.")]
    optimizer = SGD(head, 0.1, momentum=0.9)
    assert optimizer.folds_products
    before = model.get_weights()
    model.train_step(x, y, optimizer)
    twin.backward(twin.loss.value_and_gradient(twin.forward(x, training=True), y)[1])
    after = model.get_weights()
    np.testing.assert_array_equal(after["0.W"], before["0.W"])
    np.testing.assert_allclose(model.layers[0].grads["W"], twin.layers[0].grads["W"], rtol=1e-12)
    expected = before["2.W"] - 0.1 * twin.layers[2].grads["W"]
    np.testing.assert_allclose(after["2.W"], expected, rtol=1e-12)


def test_arrays_blas_cannot_take_go_through_numpy_with_the_same_results():
    """Big-endian, misaligned and overlapping arrays: NumPy computes what BLAS would."""
    rng = np.random.default_rng(8)
    a = rng.standard_normal((6, 4))
    swapped = a.astype(">f8")
    out = np.zeros((4, 4), ">f8")
    blas.gemm_tn(swapped, swapped, out, 1.0, 0.0)
    np.testing.assert_allclose(out, a.T @ a, rtol=1e-12)
    raw = np.zeros(8 * 12 + 1, np.uint8)
    misaligned = np.frombuffer(raw.data, np.float64, count=12, offset=1).reshape(3, 4)
    assert not misaligned.flags.aligned
    misaligned[...] = np.arange(12.0).reshape(3, 4)
    target = np.ones((3, 4))
    blas.axpy(2.0, misaligned, target)
    np.testing.assert_array_equal(target, 1.0 + 2.0 * np.arange(12.0).reshape(3, 4))
    square = rng.standard_normal((5, 5))
    expected = square.T @ square
    blas.gemm_tn(square, square, square, 1.0, 0.0)  # out is both inputs
    np.testing.assert_allclose(square, expected, rtol=1e-12)


def test_alpha_zero_skips_the_product_alike_in_blas_and_numpy(backend):
    a = np.full((3, 2), np.inf, np.float32)
    out = np.ones((2, 2), np.float32)
    blas.gemm_tn(a, np.ones((3, 2), np.float32), out, 0.0, 0.5)
    np.testing.assert_array_equal(out, 0.5)
    y = np.ones(4, np.float32)
    blas.axpy(0.0, np.full(4, np.inf, np.float32), y)
    np.testing.assert_array_equal(y, 1.0)


def test_only_sgd_with_momentum_folds_products():
    """Plain SGD would add the product into the weights block by block of a large batch,
    each partial sum rounded to the weights' precision; Nesterov and Adam need grad."""
    slots = build_mlp([4, 3, 2], activation="relu", rng=np.random.default_rng(9)).named_params()
    assert SGD(slots, 0.1, momentum=0.9).folds_products
    assert not SGD(slots, 0.1).folds_products
    assert not SGD(slots, 0.1, momentum=0.9, nesterov=True).folds_products
    assert not Adam(slots, 0.1).folds_products


def test_one_samples_gradient_is_the_rounded_outer_product_bit_for_bit(backend):
    """GER into zeros gives NumPy's x_i·g_j exactly: plain SGD's per-sample runs (the
    seed000 preset) stay bit for bit what they were with NumPy's outer product."""
    rng = np.random.default_rng(10)
    layer = Dense(784, 16, rng=rng)
    x, grad_z = rng.random((1, 784), dtype=np.float32), rng.standard_normal((1, 16), np.float32)
    layer.grads["W"][...] = np.nan  # overwritten, not added to
    layer.forward(x)
    layer.backward(grad_z)
    np.testing.assert_array_equal(layer.grads["W"], np.multiply(x.T, grad_z))


def test_one_thread_runs_the_block_on_one_blas_thread_and_restores_the_count():
    found = blas.routines()
    if found is None or found.threads_local is None:
        pytest.skip("this BLAS cannot set a thread's own count: one_thread does nothing")
    before = found.threads_local(3)  # the count now: 3 until set back
    try:
        with blas.one_thread():
            inside = found.threads_local(1)
        after = found.threads_local(3)
        assert (inside, after) == (1, 3)
    finally:
        found.threads_local(before)


def test_inference_on_a_few_images_gives_what_a_large_batch_gives():
    rng = np.random.default_rng(6)
    model = build_mlp((20, 64, 10), rng=rng)
    x = rng.random((40, 20), dtype=np.float32)
    together = model.forward(x)
    one_by_one = np.concatenate([model.forward(x[i : i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(one_by_one, together, rtol=1e-5, atol=1e-6)
