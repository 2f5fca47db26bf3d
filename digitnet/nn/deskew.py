"""Deskew: straighten slanted digits before the first layer sees them.

People slant their digits by different amounts; a fully connected network has to learn each
slant separately. Deskewing measures each image's slant from its second moments and shears the
rows back so that the digit's main axis is vertical (LeCun et al.'s MNIST table: the same
networks make fewer errors on deskewed images). It is a fixed step of the network, saved in the
model file like any layer, so training, evaluation, photos and the web page all see the same
straightened digits.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.layers import Layer, register_layer

MIN_ROW_VARIANCE = 1e-2  # below this (a single row of ink) there is no slant to measure
BLOCK = 512  # images deskewed at a time: larger blocks measured 2x slower (cache misses)


def image_moments(images: np.ndarray) -> tuple[np.ndarray, ...]:
    """(n, h, w) non-negative images -> mass, centre row cy, centre column cx, row variance
    and row-column covariance of each image's ink (pixel values as weights)."""
    _, h, w = images.shape
    rows = np.arange(h, dtype=images.dtype)
    cols = np.arange(w, dtype=images.dtype)
    row_mass = images.sum(axis=2)
    mass = row_mass.sum(axis=1)
    per_mass = 1 / np.where(mass > 0, mass, 1)
    cy = row_mass @ rows * per_mass
    cx = images.sum(axis=1) @ cols * per_mass
    var_y = row_mass @ (rows * rows) * per_mass - cy * cy
    cov_xy = (images @ cols) @ rows * per_mass - cx * cy
    return mass, cy, cx, var_y, cov_xy


def row_shifts(images: np.ndarray) -> np.ndarray:
    """(n, h, w) -> (n, h): how far to the right each output row reads its input row.

    Row y reads from x + slant * (y - cy) + (cx - centre): the shear that makes the ink's
    row-column covariance zero, centred on the ink's centre of mass. Blank images stay put.
    """
    _, h, w = images.shape
    mass, cy, cx, var_y, cov_xy = image_moments(images)
    measurable = (mass > 0) & (var_y > MIN_ROW_VARIANCE)
    slant = np.where(measurable, cov_xy / np.maximum(var_y, MIN_ROW_VARIANCE), 0)
    rows = np.arange(h, dtype=images.dtype)
    shifts = slant[:, None] * (rows - cy[:, None]) + (cx - (w - 1) / 2)[:, None]
    return np.clip(np.where(mass[:, None] > 0, shifts, 0), -w, w)


def deskew(images: np.ndarray) -> np.ndarray:
    """(n, h, w) float images -> the same images sheared upright (linear interpolation).

    Each row moves as a whole by a fractional shift, so every output pixel blends two
    neighbours of its row: (1 - f) * row[x + k] + f * row[x + k + 1], zero outside the image.
    """
    n, h, w = images.shape
    shifts = row_shifts(images)
    whole = np.floor(shifts)
    frac = (shifts - whole)[:, :, None].astype(images.dtype)
    margin = w + 1  # any shift in [-w, w] reads inside the zero margins
    padded = np.zeros((n, h, w + 2 * margin), dtype=images.dtype)
    padded[:, :, margin : margin + w] = images
    row_starts = np.arange(n * h).reshape(n, h) * (w + 2 * margin) + margin
    left = (row_starts + whole.astype(np.intp))[:, :, None] + np.arange(w)
    flat = padded.reshape(-1)
    return (1 - frac) * flat[left] + frac * flat[left + 1]


@register_layer
class Deskew(Layer):
    """The network's first step: each square image in the batch sheared upright.

    Takes (n, side*side) rows or (n, 1, side, side) images and returns the same shape. It has
    nothing to learn and works the same in training and inference (`fixed`), so a trainer
    without augmentation may deskew its training set once instead of every batch.
    """

    fixed: ClassVar[bool] = True

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        pixels = math.prod(x.shape[1:])
        side = math.isqrt(pixels)
        if side * side != pixels or (x.ndim == 4 and x.shape[1] != 1):
            raise ConfigError(
                f"Deskew needs square one-channel images, got inputs of shape {x.shape}"
            )
        images = x.reshape(len(x), side, side)
        out = np.empty_like(images)
        for start in range(0, len(x), BLOCK):
            out[start : start + BLOCK] = deskew(images[start : start + BLOCK])
        return out.reshape(x.shape)

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray | None:
        """No gradient: the shear depends on the image itself, and nothing below it learns.

        Sequential never calls this while training (it stops at the first layer with
        parameters); asking for dLoss/dinput through a deskewing network is an error.
        """
        raise ConfigError(
            "Deskew is fixed preprocessing: gradients with respect to the raw input are not defined"
        )
