"""The Python API in one place: pick a preset, train, evaluate, predict, save and load.

import digitnet
net = digitnet.train("mlp", epochs=3, on_event=print_progress)
net.evaluate()["accuracy"]
net.predict_files(["my-digit.jpg"])[0].digit
net.predict_images([pil_image, numpy_photo])[0].digit
net.read_files(["house-number.jpg"])[0].text
net.save("model.npz"); digitnet.load("model.npz")
net.export_onnx("model.onnx")
digitnet.ensemble([net, "other.npz"]).save("committee.npz")
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from digitnet.artifacts.model_file import ModelFile, load_model, save_model
from digitnet.data.datasets import Dataset, load_mnist
from digitnet.data.preprocess import to_inputs
from digitnet.errors import ConfigError, ImageError
from digitnet.export.onnx import DEFAULT_OPSET, export_onnx
from digitnet.images import grey_from_memory, to_mnist
from digitnet.nn.layers import Layer
from digitnet.nn.model import Sequential
from digitnet.predict import (
    Prediction,
    load_default_model,
    predict_files,
    predict_image28,
    probabilities_for,
    unit_images,
)
from digitnet.reading import Reading, read_files, read_grey
from digitnet.training.build import layout_of
from digitnet.training.config import ModelConfig, TrainConfig, unknown_settings_message
from digitnet.training.ensembles import combine
from digitnet.training.pipeline import evaluate
from digitnet.training.presets import get_preset
from digitnet.training.run import train_run
from digitnet.training.trainer import History, TrainEvent


@dataclass
class Network:
    """A trained network with its metadata (settings, dataset, results) and training history."""

    model: Sequential
    meta: dict
    history: History | None = None

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(n, 10) probabilities for (n, 28, 28) or (n, 784) images (or one image): integers
        0-255 or floats 0-1, bright ink on black like MNIST. ImageError for another shape,
        NaN or values out of range."""
        return probabilities_for(self.model, unit_images(images))

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(n,) predicted digits; see predict_proba."""
        return self.predict_proba(images).argmax(axis=1)

    def predict_files(
        self, paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]
    ) -> list[Prediction]:
        """Predictions for image files (photos, scans), or for one file given alone; raises
        ImageError for the first bad one."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        predictions = []
        for outcome in predict_files(self.model, paths):
            if isinstance(outcome, ImageError):
                raise outcome
            predictions.append(outcome)
        return predictions

    def predict_images(
        self, images: Image.Image | np.ndarray | Sequence[Image.Image | np.ndarray]
    ) -> list[Prediction]:
        """Predictions for in-memory photos, preprocessed as files are: each a PIL image or an
        array (H, W), (H, W, 3) or (H, W, 4) of any size, uint8 0-255 or floats 0-1, dark on
        light or light on dark; one alone or a list. ImageError naming the first bad item's
        index (no digit found, wrong shape, NaN, values out of range)."""
        if isinstance(images, Image.Image) or (
            isinstance(images, np.ndarray) and images.dtype != object
        ):
            images = [images]
        predictions = []
        for index, image in enumerate(images):
            name = f"image {index}"
            grey = grey_from_memory(image, name=name)
            try:
                image28 = to_mnist(grey, ink="auto")
            except ImageError as error:
                raise ImageError(f"{name}: {error}") from error
            predictions.append(predict_image28(self.model, image28, source=name))
        return predictions

    def read_files(
        self, paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]
    ) -> list[Reading]:
        """The number on each image file (its `text` and `digits`, left to right), or on one
        file given alone; raises ImageError for the first file without digits or unreadable."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        readings = []
        for outcome in read_files(self.model, paths):
            if isinstance(outcome, ImageError):
                raise outcome
            readings.append(outcome)
        return readings

    def read_images(
        self, images: Iterable[Image.Image | np.ndarray] | Image.Image | np.ndarray
    ) -> list[Reading]:
        """The number on each in-memory picture (PIL images, greyscale (H, W) or colour
        (H, W, 3) arrays of any size, dark ink on light paper or light on dark), preprocessed
        as files are; one picture may be given alone. ImageError for the first one without
        digits, named by its position ("image 2: ...")."""
        one_array = isinstance(images, np.ndarray) and (
            images.ndim == 2 or (images.ndim == 3 and images.shape[2] in (3, 4))
        )  # else a stack (n, H, W) of greyscale pictures
        if isinstance(images, Image.Image) or one_array:
            images = [images]
        readings = []
        for index, picture in enumerate(images):
            name = f"image {index}"
            grey = grey_from_memory(picture, name=name)
            try:
                readings.append(read_grey(self.model, grey, source=name))
            except ImageError as error:
                raise ImageError(f"{name}: {error}") from None
        return readings

    def evaluate(
        self,
        data: Dataset | tuple[np.ndarray, np.ndarray] | None = None,
        *,
        split: str = "test",
    ) -> dict:
        """accuracy, loss, n, confusion, per_class (and predicted/probabilities arrays) on a
        Dataset's split, on an (images, labels) pair (images as predict takes them), or on
        the bundled MNIST's test set. TypeError names what it takes for anything else."""
        if data is None or isinstance(data, Dataset):
            images, labels = (data or load_mnist()).split(split)
            x = to_inputs(images, layout=layout_of(self.model))
        elif isinstance(data, (tuple, list)) and len(data) == 2:
            images, labels = unit_images(data[0]), _digit_labels(data[1])
            if len(labels) != len(images):
                raise ValueError(f"{len(images)} images but {len(labels)} labels")
            x = to_inputs(images, layout=layout_of(self.model), scale=1.0)
        else:
            raise TypeError(
                "evaluate takes a Dataset, an (images, labels) pair or nothing (the bundled "
                f"MNIST test set), got {type(data).__name__}"
            )
        return evaluate(self.model, x, labels)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model file atomically (see docs/model-format.md)."""
        return save_model(path, self.model, self.meta)

    def export_onnx(self, path: str | os.PathLike[str], *, opset: int = DEFAULT_OPSET) -> Path:
        """Write the network as an ONNX model atomically (docs/guide/export.md): input
        "pixels" as the network takes them, output "probabilities". Needs the onnx package
        (pip install digitnet[onnx]); ExportError for what cannot be exported or written."""
        return export_onnx(self.model, path, self.meta, opset=opset)


def _digit_labels(labels: object) -> np.ndarray:
    """labels as an (n,) integer array of digits 0-9; ValueError otherwise."""
    array = np.asarray(labels)
    if (
        array.ndim != 1
        or array.dtype.kind not in "ui"
        or (array.size and not (array.min() >= 0 and array.max() <= 9))
    ):
        raise ValueError(
            f"labels must be digits 0-9 of shape (n,), got {array.dtype} {array.shape}"
        )
    return array.astype(np.int64)


def train(
    preset: str = "mlp",
    *,
    dataset: Dataset | None = None,
    on_event: Callable[[TrainEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    **overrides: object,
) -> Network:
    """Train a preset, with any ModelConfig or TrainConfig field overridden by keyword
    (e.g. hidden=(128,), epochs=3, learning_rate=0.01). on_event receives every step, log
    point and epoch. Raises ConfigError for an unknown setting."""
    recipe = get_preset(preset)
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(overrides) - model_fields - train_fields
    if unknown:
        raise ConfigError(unknown_settings_message(unknown, model_fields | train_fields))
    model_config = dataclasses.replace(
        recipe.model, **{k: v for k, v in overrides.items() if k in model_fields}
    )
    train_config = dataclasses.replace(
        recipe.train, **{k: v for k, v in overrides.items() if k in train_fields}
    )
    outcome = train_run(
        model_config,
        train_config,
        dataset or load_mnist(),
        preset=preset,
        on_event=on_event,
        should_stop=should_stop,
    )
    return Network(outcome.model, outcome.meta, outcome.result.history)


def ensemble(
    members: Sequence[Network | str | os.PathLike[str]], *, weights: Sequence[float] | None = None
) -> Network:
    """A network that averages the members' probabilities (Networks or model files; two or
    more, trained on the same data): save it as any model file. ConfigError when they cannot
    be combined."""
    files = [
        ModelFile(m.model, m.meta) if isinstance(m, Network) else load_model(m) for m in members
    ]
    names = [
        f"network {i}" if isinstance(m, Network) else os.path.basename(m)
        for i, m in enumerate(members)
    ]
    model, meta = combine(files, names, weights)
    return Network(model, meta)


def load(
    path: str | os.PathLike[str] | None = None, *, custom_layers: Sequence[type[Layer]] = ()
) -> Network:
    """A model file, or the bundled default model when path is None. custom_layers: Layer
    classes of your own that the file's network uses."""
    if path is None:
        if custom_layers:
            raise ConfigError("custom_layers need a model file: the bundled model has none")
        loaded = load_default_model()
    else:
        loaded = load_model(path, custom_layers=custom_layers)
    return Network(loaded.model, loaded.meta)
