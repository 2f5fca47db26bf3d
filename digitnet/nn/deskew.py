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
from digitnet.nn.layers import Layer

MIN_ROW_VARIANCE = 1e-2  # below this (a single row of ink) there is no slant to measure
BLOCK = 512  # images deskewed at a time, so that the temporaries stay in cache


def image_moments(images: np.ndarray) -> tuple[np.ndarray, ...]:
    """(n, h, w) non-negative float images -> mass, centre row cy, centre column cx, row
    variance and row-column covariance of each image's ink (pixel values as weights).

    Sums run along each image's own axes (einsum, not a BLAS product whose blocking depends
    on the batch), so an image's moments do not depend on the other images in its batch.
    """
    _, h, w = images.shape
    rows = np.arange(h, dtype=images.dtype)
    cols = np.arange(w, dtype=images.dtype)
    row_mass = images.sum(axis=2)  # (n, h)
    mass = row_mass.sum(axis=1)
    per_mass = 1 / np.where(mass > 0, mass, 1)
    cy = np.einsum("ny,y->n", row_mass, rows) * per_mass
    cx = np.einsum("nx,x->n", images.sum(axis=1), cols) * per_mass
    dy = rows - cy[:, None]  # (n, h)
    var_y = np.einsum("ny,ny,ny->n", row_mass, dy, dy) * per_mass
    ink_columns = np.einsum("nyx,x->ny", images, cols)  # Σ_x x·image per row
    cov_xy = np.einsum("ny,ny->n", ink_columns - cx[:, None] * row_mass, dy) * per_mass
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
    shifts = np.nan_to_num(shifts, nan=0.0)  # NaN pixels give NaN outputs, not bad indices
    return np.clip(np.where(mass[:, None] > 0, shifts, 0), -w, w)


def deskew(images: np.ndarray) -> np.ndarray:
    """(n, h, w) images -> the same images sheared upright (float32 unless given float64).

    Each row moves as a whole by a fractional shift, so every output pixel blends two
    neighbours of its row: (1 - f) * row[x + k] + f * row[x + k + 1], zero outside the image.
    """
    if not np.issubdtype(images.dtype, np.floating):
        images = images.astype(np.float32)  # integer pixels would overflow the moments
    n, h, w = images.shape
    shifts = row_shifts(images)
    whole = np.floor(shifts)
    frac = (shifts - whole)[:, :, None].astype(images.dtype)
    margin = w + 1  # any shift in [-w, w] reads inside the zero margins
    padded = np.zeros((n, h, w + 2 * margin), dtype=images.dtype)
    padded[:, :, margin : margin + w] = images
    # every run of w + 1 pixels of each padded row, as a view; each row picks the run that
    # starts at its whole shift (fancy indexing copies n·h runs, not n·h·w single pixels)
    runs = np.lib.stride_tricks.sliding_window_view(padded, w + 1, axis=2)
    starts = (margin + whole).astype(np.intp)
    picked = runs[np.arange(n)[:, None], np.arange(h), starts]  # (n, h, w + 1)
    return (1 - frac) * picked[:, :, :-1] + frac * picked[:, :, 1:]


class Deskew(Layer):
    """The network's first step: each square image in the batch sheared upright.

    Takes (n, side*side) rows or (n, 1, side, side) images and returns the same shape (float,
    float32 for integer pixels). It has nothing to learn, works the same in training and
    inference, and deskews each image independently of its batch (`fixed`), so the trainer
    deskews its training set once instead of every batch.
    """

    fixed: ClassVar[bool] = True

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        side = math.isqrt(x.shape[1]) if x.ndim == 2 else x.shape[-1]
        square = side > 0 and x.shape[1:] in ((side * side,), (1, side, side))
        if not square:
            raise ConfigError(
                f"Deskew needs square one-channel images, got inputs of shape {x.shape}"
            )
        images = x.reshape(len(x), side, side)
        out = np.empty(images.shape, np.result_type(images.dtype, np.float32))
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
