"""Deskew: slanted strokes come out upright and centred, nothing else changes, and a network
that starts with it trains, saves and predicts like any other."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from nn_helpers import mnist_inputs

from digitnet.artifacts.model_file import load_model, save_model
from digitnet.errors import ConfigError
from digitnet.nn import Deskew, Sequential, deskew
from digitnet.nn.deskew import image_moments
from digitnet.predict import predict_image28
from digitnet.training.build import build_model, layout_of
from digitnet.training.config import ModelConfig, TrainConfig
from digitnet.training.trainer import Trainer


def slanted_bar(top_col: int, bottom_col: int, rows: range = range(4, 24)) -> np.ndarray:
    """A 28x28 one-pixel-wide stroke from (rows[0], top_col) to (rows[-1], bottom_col)."""
    image = np.zeros((28, 28), np.float32)
    cols = np.linspace(top_col, bottom_col, len(rows)).round().astype(int)
    image[list(rows), cols] = 1.0
    return image


def slant(images: np.ndarray) -> np.ndarray:
    """covariance(row, column) / variance(row) of each image's ink: 0 for an upright digit."""
    _, _, _, var_y, cov_xy = image_moments(images)
    return cov_xy / var_y


def test_a_slanted_stroke_comes_out_upright_and_centred():
    bar = slanted_bar(top_col=18, bottom_col=9)  # leans right, like a hurried "1"
    assert abs(slant(bar[None])[0]) > 0.4
    out = deskew(bar[None])
    assert abs(slant(out)[0]) < 0.02
    _, _, cx, _, _ = image_moments(out)
    assert cx[0] == pytest.approx(13.5, abs=0.05)
    for row in range(4, 24):  # every row's ink sits within a pixel of the centre column
        ink = out[0, row]
        assert abs(ink @ np.arange(28) / ink.sum() - 13.5) < 1.0
    assert out.sum() == pytest.approx(bar.sum(), rel=1e-5)  # ink is moved, not made or lost


def test_an_upright_centred_digit_is_left_as_it_was():
    image = np.zeros((28, 28), np.float32)
    image[5:23, 13:15] = 0.8  # vertical, centre of mass at column 13.5
    np.testing.assert_allclose(deskew(image[None])[0], image, atol=1e-4)  # float rounding


def test_blank_and_one_row_images_are_safe():
    blank = np.zeros((28, 28), np.float32)
    line = np.zeros((28, 28), np.float32)
    line[14, 2:10] = 1.0  # no height: no slant to measure, only centred
    with np.errstate(all="raise"):
        out = deskew(np.stack([blank, line]))
    np.testing.assert_array_equal(out[0], blank)
    assert np.isfinite(out).all()
    assert out[1, 14] @ np.arange(28) / out[1, 14].sum() == pytest.approx(13.5, abs=0.01)


def test_mnist_digits_lose_their_slant(mnist):
    x, _ = mnist_inputs(mnist, "test", 500)
    images = x.reshape(-1, 28, 28)
    out = deskew(images)
    assert np.mean(np.abs(slant(images))) > 0.15
    assert np.mean(np.abs(slant(out))) < 0.03
    assert out.min() >= 0 and out.max() <= 1 + 1e-6
    assert out.dtype == np.float32
    # an image's result does not depend on the batch it comes in
    one_by_one = np.concatenate([deskew(images[i : i + 1]) for i in range(len(images))])
    np.testing.assert_array_equal(one_by_one, out)
    # integer pixels are deskewed as floats (no overflow in the moments)
    as_bytes = (images * 255).round().astype(np.uint8)
    np.testing.assert_allclose(deskew(as_bytes), deskew(as_bytes.astype(np.float32)))


def test_the_layer_keeps_either_input_layout_and_refuses_other_shapes(mnist):
    x, _ = mnist_inputs(mnist, "test", 8)
    layer = Deskew()
    flat = layer.forward(x)
    image = layer.forward(x.reshape(-1, 1, 28, 28), training=True)
    assert flat.shape == (8, 784) and image.shape == (8, 1, 28, 28)
    np.testing.assert_array_equal(flat, image.reshape(8, 784))
    for shape in [(2, 700), (2, 1, 16, 64), (2, 3, 28, 28), (2, 28, 28)]:
        with pytest.raises(ConfigError, match="square one-channel"):
            layer.forward(np.zeros(shape, np.float32))
    with pytest.raises(ConfigError, match="fixed preprocessing"):
        layer.backward(np.ones_like(flat))


def test_a_deskewing_network_saves_loads_and_reads_its_layout(mnist, tmp_path):
    config = ModelConfig(hidden=(16,), deskew=True)
    model = build_model(config, np.random.default_rng(0))
    assert model.spec()["layers"][0] == {"type": "Deskew"}
    assert model.fixed_prefix == 1 and layout_of(model) == "flat"
    cnn = ModelConfig(kind="cnn", conv_channels=(4,), hidden=(8,), deskew=True)
    assert layout_of(build_model(cnn, np.random.default_rng(0))) == "image"
    x, _ = mnist_inputs(mnist, "test", 50)
    save_model(tmp_path / "m.npz", model)
    loaded = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.model.predict_proba(x), model.predict_proba(x))


def test_the_trainer_deskews_once_and_trains_as_on_deskewed_images(mnist):
    """The trainer runs the Deskew layer once over its inputs and starts every step at the
    next layer: the weights equal those of the same network without Deskew trained on
    images deskewed beforehand, bit for bit, with and without augmentation."""
    x, labels = mnist_inputs(mnist, "train", 600)
    config = TrainConfig(batch_size=50, epochs=2, validation=0, log_every=1000)
    shift_right = lambda batch: np.roll(batch, 1, axis=1)  # noqa: E731 (a stand-in augmentation)
    for augment in (None, shift_right):
        weights = []
        for deskew_layer, inputs in ((True, x), (False, Deskew().forward(x))):
            config_model = ModelConfig(hidden=(32,), deskew=deskew_layer)
            model = build_model(config_model, np.random.default_rng(3))
            trainer = Trainer(model, config, inputs, labels, np.random.default_rng(4))
            trainer.augment = augment
            with mock.patch.object(model, "preprocess", wraps=model.preprocess) as preprocess:
                trainer.run()
            assert preprocess.call_count == (1 if deskew_layer else 0)
            weights.append(list(model.get_weights().values()))
        for with_layer, without in zip(*weights, strict=True):
            np.testing.assert_array_equal(with_layer, without)


def test_fixed_layers_must_come_first_and_start_cannot_skip_learning_layers():
    model = build_model(ModelConfig(hidden=(8,), deskew=True), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="must come first"):
        Sequential([*model.layers, Deskew()], model.loss)
    with pytest.raises(ValueError, match="skip more"):
        model.forward(np.zeros((1, 784), np.float32), start=2)


def test_predictions_show_the_image_as_the_network_saw_it(mnist):
    x, _ = mnist_inputs(mnist, "test", 1)
    model = build_model(ModelConfig(hidden=(8,), deskew=True), np.random.default_rng(0))
    image = x.reshape(28, 28)
    prediction = predict_image28(model, image)
    np.testing.assert_array_equal(prediction.input28, deskew(image[None])[0])
