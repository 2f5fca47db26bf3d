"""The model a command names (MODEL or --model), loaded, or the bundled default one."""

from __future__ import annotations

import argparse
import os

from digitnet.artifacts.model_file import ModelFile, load_model
from digitnet.errors import ConfigError
from digitnet.nn.model import Sequential
from digitnet.predict import load_default_model


def add_model_arguments(parser: argparse.ArgumentParser, help: str) -> None:
    """MODEL, as the first argument or as --model FILE: the command accepts either."""
    parser.add_argument("model", nargs="?", metavar="MODEL", help=help)
    parser.add_argument(
        "--model", dest="model_option", metavar="FILE", help="the model file, instead of MODEL"
    )


def chosen_model(positional: str | None, option: str | None) -> str | None:
    """The model file given as MODEL or --model (None: neither); ConfigError when both are
    given and name different files."""
    if positional and option and not _same_file(positional, option):
        raise ConfigError(
            f"two model files given, {positional} and --model {option}; give one of them"
        )
    return positional or option


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist: the same only if spelt alike
        return os.path.abspath(a) == os.path.abspath(b)


def load_model_file_or_default(path: str | None) -> ModelFile:
    """The model file at `path` (network and header), or the bundled one when path is None."""
    return load_model(path) if path else load_default_model()


def load_model_or_default(path: str | None) -> Sequential:
    """The network in `path`, or the bundled default model when path is None."""
    return load_model_file_or_default(path).model


def model_and_images(model_option: str | None, inputs: list[str]) -> tuple[str | None, list[str]]:
    """`[MODEL] IMAGE...` split: the first input when it is a .npz file, or --model's value
    (ConfigError when both are given and differ), and the image paths that remain."""
    images = list(inputs)
    if images and images[0].lower().endswith(".npz"):
        return chosen_model(images[0], model_option), images[1:]
    return model_option, images
