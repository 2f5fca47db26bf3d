"""Predicting digits: from 28x28 images, image files, or a Kaggle test CSV, with any model.

The bundled default model (digitnet/models/default.npz) lets a new user predict right after
installing; docs/default-model.md gives the command that trained it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from digitnet.artifacts.model_file import ModelFile, load_model
from digitnet.errors import ImageError, ModelFileError
from digitnet.images import prepare_image, to_mnist
from digitnet.nn.activations import ACTIVATIONS
from digitnet.nn.model import Sequential
from digitnet.training.build import layout_of


@dataclass
class Prediction:
    """What the network said about one image, and the 28x28 it actually saw."""

    source: str
    digit: int
    probabilities: np.ndarray  # (10,)
    input28: np.ndarray  # (28, 28) float32, bright ink on black, after any Deskew layer
    unsure: bool = False  # the network's confidence is below the model's threshold

    def __repr__(self) -> str:
        unsure = ", unsure" if self.unsure else ""
        return (
            f"Prediction({self.source!r}: {self.digit} at "
            f"{float(self.probabilities[self.digit]):.1%}{unsure})"
        )

    def to_dict(self) -> dict:
        return {
            "file": self.source,
            "digit": self.digit,
            "probabilities": [round(float(p), 6) for p in self.probabilities],
            "unsure": self.unsure,
        }


def default_model_path() -> Path:
    """The model that ships with the package."""
    return Path(str(resources.files("digitnet") / "models" / "default.npz"))


def load_default_model() -> ModelFile:
    """The bundled default model; ModelFileError if this installation lacks it."""
    path = default_model_path()
    if not path.exists():
        raise ModelFileError(
            "this installation has no bundled default model; pass a model file "
            "(train one with `digitnet train --out model.npz`)"
        )
    return load_model(path)


DARK_ON_LIGHT_RING = 0.5  # mean of a 28x28's 2-pixel outer ring above which it is paper


def unit_images(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) float32 in [0, 1] from (n, 28, 28), (n, 784), (n, 28, 28, 1), (n, 1, 28, 28)
    or one such image, n >= 0: integers are 0-255 pixels (divided by 255), floats and booleans
    already lie in [0, 1] (a rounding error of 0.001 is clipped). ImageError for another
    shape or type, NaN/infinity, values out of range, integer images that only reach 1
    (0/1 images, which as 0-255 pixels would be read as nearly blank), or images that are
    dark on light (a photo resized to 28x28, not MNIST's bright ink on black)."""
    array = np.asarray(images)
    if array.ndim in (3, 4) and array.shape[-3:] == (28, 28, 1):  # a channel last
        array = array[..., 0]
    elif array.ndim == 4 and array.shape[1:] == (1, 28, 28):  # a channel first (PyTorch's)
        array = array[:, 0]
    shaped = (array.ndim in (2, 3) and array.shape[-2:] == (28, 28)) or (
        array.ndim in (1, 2) and array.shape[-1:] == (784,)
    )
    if array.dtype.kind not in "buif" or not shaped:
        raise ImageError(
            "expected 28x28 images as (n, 28, 28), (n, 784), (n, 28, 28, 1) or (n, 1, 28, 28) "
            f"numbers, or one such image; got shape {array.shape} of {array.dtype}"
        )
    if array.size == 0:
        return np.zeros((0, 28, 28), np.float32)
    low, high = array.min(), array.max()
    if array.dtype.kind in "ui":
        if low < 0 or high > 255:
            raise ImageError(f"integer images must lie in 0..255; got values from {low} to {high}")
        if high <= 1 and high > 0:
            raise ImageError(
                "integer images are read as 0-255 pixels, but these only reach 1: pass 0/1 "
                "images as floats or booleans"
            )
        return _refuse_dark_on_light(
            (array.astype(np.float32) / np.float32(255)).reshape(-1, 28, 28)
        )
    if not np.isfinite(low) or not np.isfinite(high):
        raise ImageError("the images hold NaN or infinite values")
    if low < -1e-3 or high > 1 + 1e-3:
        raise ImageError(
            f"float images must lie in 0..1 (divide 0-255 pixels by 255); got values from "
            f"{low} to {high}"
        )
    return _refuse_dark_on_light(np.clip(array.astype(np.float32), 0, 1).reshape(-1, 28, 28))


def looks_dark_on_light(images: np.ndarray) -> np.ndarray:
    """(n,) bool for images (n, 28, 28) in [0, 1]: whether each is dark ink on light paper.
    MNIST's frame is black around the digit (the 20x20 box leaves 4 px), so an outer ring
    that is mostly bright means paper, not an MNIST frame."""
    ring = np.ones((28, 28), bool)
    ring[2:-2, 2:-2] = False
    return images[:, ring].mean(axis=1) > DARK_ON_LIGHT_RING


def _refuse_dark_on_light(images: np.ndarray) -> np.ndarray:
    """images (n, 28, 28) in [0, 1] as they are, or ImageError when one looks like a photo
    resized to 28x28 (see looks_dark_on_light)."""
    bright = np.flatnonzero(looks_dark_on_light(images))
    if bright.size:
        raise ImageError(
            f"{bright.size} of these 28x28 images look dark on light (image {bright[0]} first): "
            "MNIST inputs are bright ink on black; invert them (1 - x) or pass the photo to "
            "Network.predict_images"
        )
    return images


def _network_inputs(model: Sequential, images28: np.ndarray) -> np.ndarray:
    """(n, 28, 28) or (28, 28) float images -> the model's input layout."""
    images28 = np.asarray(images28, dtype=np.float32)
    if images28.ndim == 2:
        images28 = images28[None]
    shape = (1, 28, 28) if layout_of(model) == "image" else (784,)
    return images28.reshape(len(images28), *shape)


def probabilities_for(model: Sequential, images28: np.ndarray) -> np.ndarray:
    """(n, 10) class probabilities for (n, 28, 28) float images in [0, 1], bright ink on black."""
    return model.predict_proba(_network_inputs(model, images28))


def predict_image28(model: Sequential, image28: np.ndarray, *, source: str = "array") -> Prediction:
    """The prediction for one preprocessed 28x28 image; input28 is that image as the first
    learning layer sees it (sheared upright when the model starts with Deskew)."""
    seen = model.preprocess(_network_inputs(model, image28))  # deskewed once, if at all
    outputs = model.forward(seen, start=model.fixed_prefix)
    probabilities = model.calibrated_probabilities(outputs)[0]
    unsure = bool(probabilities.max() < model.min_confidence)
    digit = int(probabilities.argmax())
    return Prediction(source, digit, probabilities, seen.reshape(28, 28), unsure)


def hidden_vector(model: Sequential, seen28: np.ndarray) -> np.ndarray | None:
    """The first hidden activation that is a vector (the first fully connected hidden layer,
    also in a CNN) for one 28x28 input already through the model's fixed prefix, as
    Prediction.input28 holds it; None when the model has none."""
    activations = tuple(ACTIVATIONS.values())
    x = _network_inputs(model, seen28).astype(model.dtype, copy=False)
    start = model.fixed_prefix
    for layer in model.layers[start:-1]:
        x = layer.forward(x, training=False)
        if isinstance(layer, activations) and x.ndim == 2:
            return x[0].astype(np.float64)  # a copy: later layers may reuse x
    return None


def predict_grey(
    model: Sequential, grey: np.ndarray, *, ink: str = "auto", source: str = "array"
) -> Prediction:
    """Preprocess a greyscale picture (H, W) the MNIST way, then predict."""
    return predict_image28(model, to_mnist(grey, ink=ink), source=source)


def predict_files(
    model: Sequential, paths: Iterable[str | os.PathLike[str]]
) -> Iterator[Prediction | ImageError]:
    """One Prediction per image file, or the ImageError saying why that file could not be read;
    a bad file never stops the others."""
    for path in paths:
        try:
            image28 = prepare_image(path)
        except ImageError as error:
            yield error
            continue
        yield predict_image28(model, image28, source=str(path))
