"""The Python API: train with a progress callback, evaluate, predict arrays and files, save."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

import digitnet
from digitnet.errors import ConfigError, ImageError
from digitnet.training.config import ModelConfig, TrainConfig, to_dict


@pytest.fixture(scope="module")
def network():
    events = []
    net = digitnet.train(
        "mlp",
        hidden=(64,),
        epochs=2,
        batch_size=32,
        train_limit=4000,
        validation=500,
        schedule="constant",
        on_event=events.append,
    )
    net.events = events
    return net


def test_train_reports_progress_and_records_results(network):
    kinds = {event.kind for event in network.events}
    assert kinds == {"step", "log", "epoch"}
    assert len([e for e in network.events if e.kind == "epoch"]) == 2
    assert network.meta["preset"] == "mlp"
    assert network.meta["model_config"]["hidden"] == [64]
    assert network.meta["results"]["test_accuracy"] > 0.88
    assert len(network.history.epochs) == 2


def test_evaluate_and_predict_arrays(network, mnist):
    report = network.evaluate()
    assert report["n"] == 10000 and report["accuracy"] > 0.88
    predicted = network.predict(mnist.test_images[:200])  # uint8 images
    assert (predicted == mnist.test_labels[:200]).mean() > 0.85
    floats = mnist.test_images[:200].reshape(200, 784).astype(np.float32) / 255
    np.testing.assert_array_equal(network.predict(floats), predicted)
    np.testing.assert_allclose(network.predict_proba(floats).sum(axis=1), 1, rtol=1e-5)


def test_predict_files(network, tmp_path):
    path = tmp_path / "one.png"
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(100, 20), (95, 180)], fill=0, width=16)
    image.save(path)
    assert network.predict_files([path])[0].digit == 1
    with pytest.raises(ImageError):
        network.predict_files([tmp_path / "missing.png"])


def test_save_and_load_round_trip(network, tmp_path, mnist):
    path = network.save(tmp_path / "net.npz")
    loaded = digitnet.load(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(mnist.test_images[:50]), network.predict_proba(mnist.test_images[:50])
    )
    assert loaded.meta["results"] == network.meta["results"]


def test_unknown_setting_is_refused_with_a_guess():
    with pytest.raises(ConfigError, match=r"unknown setting\(s\): hiden \(did you mean hidden\?\)"):
        digitnet.train("mlp", hiden=(3,))
    with pytest.raises(ConfigError, match="lr \\(did you mean learning_rate"):
        digitnet.train("mlp", lr=0.1)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"epochs": "3"}, "epochs must be an integer"),
        ({"hidden": 256}, "hidden must be a tuple of integers"),
        ({"seed": -1}, "seed must be >= 0"),
    ],
)
def test_settings_of_the_wrong_type_are_refused(setting, message):
    with pytest.raises(ConfigError, match=message):
        digitnet.train("mlp", **setting)


def test_numpy_numbers_and_arrays_are_settings_like_python_ones():
    config = ModelConfig(hidden=np.array([64, 32]), dropout=np.float32(0.5), deskew=np.bool_(True))
    assert config.hidden == (64, 32) and type(config.hidden[0]) is int
    assert type(config.dropout) is float and config.deskew is True
    train = TrainConfig(epochs=np.int64(2), learning_rate=np.float32(0.01))
    assert type(train.epochs) is int and type(train.learning_rate) is float
    json.dumps(to_dict(config) | to_dict(train))  # what a model file's header stores
    with pytest.raises(ConfigError, match="learning_rate must be a finite number"):
        TrainConfig(learning_rate=10**400)


def test_predict_takes_integer_or_unit_float_images_in_any_documented_shape(network, mnist):
    images = mnist.test_images[:5]
    expected = network.predict(images)
    for same in (
        images.astype(np.int64),
        images / 255.0,
        images.reshape(5, 784),
        images[..., None],
        images[:, None],  # channel first, as PyTorch's
    ):
        np.testing.assert_array_equal(network.predict(same), expected)
    assert network.predict(images[0]).tolist() == [expected[0]]  # one (28, 28) image
    binary = images > 127  # booleans are 0/1 pixels, like floats
    np.testing.assert_array_equal(network.predict(binary), network.predict(binary.astype(float)))
    assert network.predict_proba(images[:0]).shape == (0, 10)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.full((1, 28, 28), np.nan), "NaN or infinite"),
        (np.full((1, 28, 28), 255.0), "float images must lie in 0..1"),
        (np.full((1, 28, 28), 300), "integer images must lie in 0..255"),
        (np.zeros((27, 27)), "shape \\(27, 27\\)"),
        (np.zeros((2, 392)), "shape \\(2, 392\\)"),
        (np.array(["a"] * 784), "got shape"),
        (np.zeros((2, 3, 28, 28)), "shape \\(2, 3, 28, 28\\)"),  # not to be read as 6 images
        (np.zeros((3, 28, 28, 1, 1)), "shape \\(3, 28, 28, 1, 1\\)"),
        (np.zeros((2, 2, 784)), "shape \\(2, 2, 784\\)"),
        ((np.arange(784) % 2).reshape(1, 28, 28), "only reach 1"),  # 0/1 integers
    ],
)
def test_predict_refuses_images_it_would_misread(network, images, message):
    with pytest.raises(ImageError, match=message):
        network.predict(images)


def test_predict_files_takes_one_path_alone(network, tmp_path):
    path = tmp_path / "one.png"
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(100, 20), (95, 180)], fill=0, width=16)
    image.save(path)
    assert [p.digit for p in network.predict_files(str(path))] == [1]


def test_custom_layers_without_a_model_file_are_refused():
    import digitnet
    from digitnet.errors import ConfigError
    from digitnet.nn import Layer

    with pytest.raises(ConfigError, match="custom_layers need a model file"):
        digitnet.load(custom_layers=[type("Mine", (Layer,), {})])


def test_evaluate_takes_an_images_labels_pair_like_a_dataset(network, mnist):
    images, labels = mnist.test_images[:300], mnist.test_labels[:300]
    on_dataset = network.evaluate(digitnet.Dataset("part", images, labels, images, labels))
    for pair in ((images, labels), (images / 255.0, labels.tolist())):
        report = network.evaluate(pair)
        assert report["accuracy"] == on_dataset["accuracy"] and report["n"] == 300
        assert report["loss"] == pytest.approx(on_dataset["loss"], rel=1e-5)


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (np.zeros((3, 28, 28)), TypeError, "an (images, labels) pair"),
        ((np.zeros((3, 28, 28)), np.arange(2)), ValueError, "3 images but 2 labels"),
        ((np.zeros((3, 28, 28)), np.array([0, 1, 12])), ValueError, "digits 0-9"),
    ],
)
def test_evaluate_names_what_it_takes(network, data, error, message):
    with pytest.raises(error, match=re.escape(message)):
        network.evaluate(data)


def test_dir_shows_the_lazy_api_and_results_print_short(network, mnist):
    assert {"train", "load", "load_mnist", "Network", "Dataset"} <= set(dir(digitnet))
    photo = Image.fromarray(255 - np.kron(mnist.test_images[0], np.ones((8, 8), np.uint8)))
    prediction = network.predict_images([photo])[0]
    assert repr(prediction) == f"Prediction('image 0': {prediction.digit} at " + (
        f"{prediction.probabilities.max():.1%})"
    )
    reading = network.read_images([photo])[0]
    assert len(repr(reading)) < 80 and len(repr(reading.digits)) < 80
