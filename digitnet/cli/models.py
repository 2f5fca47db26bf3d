"""Loading the model a command names, or the bundled default one."""

from __future__ import annotations

from digitnet.io import ModelFile, load_model
from digitnet.nn.model import Sequential
from digitnet.predict import load_default_model


def load_model_file_or_default(path: str | None) -> ModelFile:
    """The model file at `path` (network and header), or the bundled one when path is None."""
    return load_model(path) if path else load_default_model()


def load_model_or_default(path: str | None) -> Sequential:
    """The network in `path`, or the bundled default model when path is None."""
    return load_model_file_or_default(path).model


def model_and_images(model_option: str | None, inputs: list[str]) -> tuple[str | None, list[str]]:
    """`[MODEL] IMAGE...` split: --model's value, or the first input when it is a .npz file,
    and the image paths that remain."""
    images = list(inputs)
    if model_option is None and images and images[0].lower().endswith(".npz"):
        return images[0], images[1:]
    return model_option, images
