"""Ink maps: how much ink covers each pixel of a handwritten digit, before it meets paper.

An ink map is a float32 (H, W) array in [0, 1]. `mnist_ink` makes one from a 28x28 MNIST digit,
`font_ink` from a glyph of a handwriting font, `number_ink` lines several up into a number.
Every random choice comes from the `np.random.Generator` passed in. Pure NumPy and Pillow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

Array = np.ndarray
INK_LEVEL = 0.5  # an ink map's pixel counts as ink from this coverage on


def blur(a: Array, sigma: float) -> Array:
    """Gaussian blur of an (H, W) or (H, W, C) float array, `sigma` in pixels; edges repeated."""
    if sigma < 0.3:
        return a
    radius = int(3 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    for axis in (0, 1):
        pad = [(0, 0)] * a.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(a, pad, mode="edge")
        n = a.shape[axis]
        a = sum(w * np.take(padded, range(i, i + n), axis=axis) for i, w in enumerate(taps))
    return a.astype(np.float32)


def resize(a: Array, size: tuple[int, int], resample=Image.BICUBIC) -> Array:
    """An (H, W) float array resized to `size` = (width, height)."""
    return np.asarray(Image.fromarray(a.astype(np.float32), "F").resize(size, resample))


def smooth_noise(shape: tuple[int, int], cell: float, rng: np.random.Generator) -> Array:
    """(H, W) noise of unit spread that varies over about `cell` pixels (paper, light, pressure)."""
    h, w = shape
    grid = rng.standard_normal((max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)))
    return resize(grid, (w, h)).astype(np.float32)


def smoothstep(a: Array, lo: float, hi: float) -> Array:
    t = np.clip((a - lo) / (hi - lo), 0, 1)
    return t * t * (3 - 2 * t)


def ink_box(ink: Array, level: float = INK_LEVEL) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), exclusive, of the pixels with at least `level` ink."""
    ys, xs = np.nonzero(ink >= level)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def crop_to_ink(ink: Array, level: float = INK_LEVEL) -> Array:
    x0, y0, x1, y1 = ink_box(ink, level)
    return ink[y0:y1, x0:x1]


# ---------------------------------------------------------------- ink maps


def mnist_ink(digit28: Array, height: int, rng: np.random.Generator) -> Array:
    """A (height, height) ink map of a (28, 28) uint8 MNIST digit: upsampled smoothly, then its
    grey levels shaped into the solid-with-soft-edge profile of a pen line, with pressure varying
    along the strokes. MNIST's 4-pixel margin is kept, so the ink fills the middle 20/28."""
    scale = height / 28
    grey = resize(np.asarray(digit28, np.float32) / 255, (height, height))
    grey = blur(grey, 0.4 * scale)  # round off the 28x28 pixel steps
    ink = smoothstep(grey, 0.18, 0.48)
    pressure = 1 - 0.08 * np.abs(smooth_noise(ink.shape, 6 * scale, rng))
    return np.clip(ink * pressure, 0, 1).astype(np.float32)


def font_ink(font: Path, char: str, height: int, rng: np.random.Generator) -> Array:
    """A (height, ~height) ink map of `char` in a font file, drawn 20/28 of the height tall like an
    MNIST digit, slanted and turned a little at random."""
    big = 4 * height  # draw large, then shrink: smooth edges
    face = ImageFont.truetype(str(font), big)
    canvas = Image.new("L", (2 * big, 2 * big), 0)
    ImageDraw.Draw(canvas).text((big // 2, big // 2), char, fill=255, font=face)
    shear = rng.uniform(-0.15, 0.15)
    canvas = canvas.transform(
        canvas.size, Image.AFFINE, (1, shear, -shear * big, 0, 1, 0), resample=Image.BICUBIC
    )
    canvas = canvas.rotate(rng.uniform(-6, 6), resample=Image.BICUBIC)
    glyph = crop_to_ink(np.asarray(canvas, np.float32) / 255, 0.3)
    gh, gw = glyph.shape
    target = height * 20 / 28
    fit = target / max(gh, gw)
    small = resize(glyph, (max(1, round(gw * fit)), max(1, round(gh * fit))), Image.LANCZOS)
    ink = np.zeros((height, max(height, small.shape[1] + height // 4)), np.float32)
    top, left = (height - small.shape[0]) // 2, (ink.shape[1] - small.shape[1]) // 2
    ink[top : top + small.shape[0], left : left + small.shape[1]] = np.clip(small, 0, 1)
    return ink


def number_ink(inks: list[Array], rng: np.random.Generator, *, touching: bool = False) -> Array:
    """Digits' ink maps (same height) side by side on one line: small gaps of 5-30% of the height
    between them, or, when `touching`, each pair pushed together until their strokes meet."""
    height = inks[0].shape[0]
    line = crop_columns(inks[0])
    for ink in inks[1:]:
        ink = np.roll(crop_columns(ink), rng.integers(-height // 20, height // 20 + 1), axis=0)
        if touching:
            overlap = _contact_shift(line, ink) + int(rng.integers(1, max(2, height // 40) + 1))
        else:
            overlap = -int(rng.uniform(0.05, 0.3) * height)
        width = max(line.shape[1], line.shape[1] - overlap + ink.shape[1])
        joined = np.zeros((height, width), np.float32)
        joined[:, : line.shape[1]] = line
        x = line.shape[1] - overlap
        joined[:, x : x + ink.shape[1]] = np.maximum(joined[:, x : x + ink.shape[1]], ink)
        line = joined
    margin = np.zeros((height, height // 4), np.float32)
    return np.concatenate([margin, line, margin], axis=1)


def crop_columns(ink: Array) -> Array:
    x0, _, x1, _ = ink_box(ink, 0.05)
    return ink[:, x0:x1]


def _contact_shift(left: Array, right: Array) -> int:
    """How far `right` must slide over the end of `left` until some row's strokes meet."""
    rows = (left >= INK_LEVEL).any(axis=1) & (right >= INK_LEVEL).any(axis=1)
    if not rows.any():
        return 0
    last = left.shape[1] - 1 - np.argmax((left >= INK_LEVEL)[:, ::-1], axis=1)
    first = np.argmax(right >= INK_LEVEL, axis=1)
    gap = (left.shape[1] - 1 - last) + first  # empty pixels between the strokes, per row
    return int(gap[rows].min())
