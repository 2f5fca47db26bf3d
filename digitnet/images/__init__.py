"""A user's picture (photo, scan, canvas drawing) -> the 28x28 inputs an MNIST network takes.

decode.py       image files and bytes -> greyscale arrays (formats, limits, colour ink)
paper.py        which way the ink goes, and the paper's level under it
pixels.py       resizing, local means, noise levels, thresholds
components.py   connected parts of an ink mask, with their boxes
clutter.py      table, shadows and fingers along the edge told apart from the strokes
lines.py        ruled and squared lines and printed dots told apart from the strokes
shadow.py       hard shadows: the paper's level region by region
mnist_frame.py  a greyscale picture -> one MNIST-like 28x28 digit
output.py       a 28x28 written as a PNG or drawn as text
"""

from __future__ import annotations

from digitnet.images.clutter import clutter_free, remove_clutter
from digitnet.images.decode import (
    FORMATS,
    MAX_FILE_BYTES,
    MAX_IMAGE_PIXELS,
    MIN_CONTRAST,
    WORK_SIDE,
    decode_image_bytes,
    grey_from_memory,
    read_image,
)
from digitnet.images.mnist_frame import (
    BOX,
    SIDE,
    InkMap,
    canvas_to_mnist,
    center_of_mass_shift,
    crop_to_ink,
    find_ink,
    fit_box,
    frame_digit,
    prepare_image,
    to_mnist,
)
from digitnet.images.output import ascii_art, save_mnist_png
from digitnet.images.paper import estimate_background, is_dark_ink, paper_level
from digitnet.images.pixels import otsu_threshold, remove_specks

__all__ = [
    "BOX",
    "FORMATS",
    "MAX_FILE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MIN_CONTRAST",
    "SIDE",
    "WORK_SIDE",
    "InkMap",
    "ascii_art",
    "canvas_to_mnist",
    "center_of_mass_shift",
    "clutter_free",
    "crop_to_ink",
    "decode_image_bytes",
    "estimate_background",
    "find_ink",
    "fit_box",
    "frame_digit",
    "grey_from_memory",
    "is_dark_ink",
    "otsu_threshold",
    "paper_level",
    "prepare_image",
    "read_image",
    "remove_clutter",
    "remove_specks",
    "save_mnist_png",
    "to_mnist",
]
