"""A 28x28 input shown to a person: written as a PNG, or drawn as text."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from digitnet.artifacts.atomic import write_atomically
from digitnet.errors import ImageError
from digitnet.images.mnist_frame import SIDE

RAMP = " .:-=+*#%@"


def save_mnist_png(image28: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write a (28, 28) image in [0, 1] as an 8-bit greyscale PNG, atomically."""
    pixels = np.asarray(image28, dtype=np.float64)
    if pixels.shape != (SIDE, SIDE):
        raise ValueError(f"expected a (28, 28) image, got shape {pixels.shape}")
    grey = Image.fromarray(np.round(np.clip(np.nan_to_num(pixels), 0, 1) * 255).astype(np.uint8))
    target = Path(path)
    try:
        write_atomically(target, lambda file: grey.save(file, format="PNG"))
    except OSError as error:
        raise ImageError(f"{target}: cannot write ({error.strerror or error})") from error


def ascii_art(image28: np.ndarray) -> str:
    """The digit as 28 lines of text, two characters per pixel so it looks square."""
    pixels = np.clip(np.nan_to_num(np.asarray(image28, dtype=np.float64)), 0, 1)
    if pixels.shape != (SIDE, SIDE):
        raise ValueError(f"expected a (28, 28) image, got shape {pixels.shape}")
    levels = np.round(pixels * (len(RAMP) - 1)).astype(int)
    chars = np.repeat(np.array(list(RAMP))[levels], 2, axis=1)
    return "\n".join("".join(row) for row in chars)
