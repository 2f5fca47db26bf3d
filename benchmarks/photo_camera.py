"""Paper, ink, light and a camera: the pieces photo_render.py builds its conditions from.

A page is a float32 (H, W, 3) RGB array in [0, 1]; ink maps (photo_inks.py) darken it where the
pen went; `camera` turns a page into a `Photo` with lens blur, sensor noise and JPEG. Every random
choice comes from the `np.random.Generator` passed in. Pure NumPy and Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from photo_inks import blur, smooth_noise
from PIL import Image

Array = np.ndarray
INKS = {  # RGB of fully inked paper, as a fraction of the paper's own colour
    "pen": (0.10, 0.11, 0.18),
    "blue": (0.13, 0.24, 0.70),
    "red": (0.80, 0.14, 0.16),
    "pencil": (0.36, 0.36, 0.38),
}
PAPER = (0.95, 0.94, 0.90)  # off-white, slightly warm under indoor light


@dataclass(frozen=True)
class Photo:
    """A rendered picture: `image` (RGB) saved as JPEG at `jpeg_quality`, or as PNG if None."""

    image: Image.Image
    jpeg_quality: int | None = None

    @property
    def suffix(self) -> str:
        return ".png" if self.jpeg_quality is None else ".jpg"

    def save(self, path: Path) -> None:
        if self.jpeg_quality is None:
            self.image.save(path, format="PNG")
        else:
            self.image.save(path, format="JPEG", quality=self.jpeg_quality)


def paper(shape: tuple[int, int], rng: np.random.Generator, tint=PAPER) -> Array:
    """An (H, W, 3) sheet in [0, 1]: a tint with slow unevenness and fine fibre grain."""
    h, w = shape
    tone = 1 + 0.015 * smooth_noise(shape, max(h, w) / 3, rng)
    tone += 0.008 * blur(rng.standard_normal(shape).astype(np.float32), 0.8)
    colour = np.asarray(tint, np.float32) * rng.uniform(0.97, 1.02, 3)  # white balance
    return np.clip(tone[..., None] * colour, 0, 1).astype(np.float32)


def lay_ink(page: Array, ink: Array, x: int, y: int, colour: str = "pen", strength=1.0) -> None:
    """Darken `page` in place where `ink` lies, its top-left corner at (x, y): ink absorbs light,
    so it multiplies the paper's colour."""
    h, w = ink.shape
    absorbed = 1 - np.asarray(INKS[colour], np.float32)
    page[y : y + h, x : x + w] *= 1 - (strength * ink)[..., None] * absorbed


def blank_sheet(
    ink_shape: tuple[int, int], rng: np.random.Generator, margin=(0.3, 0.7), tint=PAPER
) -> tuple[Array, int, int]:
    """A fresh sheet for ink of `ink_shape`, with a margin of `margin` (a range, in ink heights)
    on each side; also (x, y), where the ink's top-left corner goes."""
    h, w = ink_shape
    left, right, top, bottom = (int(rng.uniform(*margin) * h) for _ in range(4))
    return paper((top + h + bottom, left + w + right), rng, tint), left, top


def on_paper(
    ink: Array, rng: np.random.Generator, margin=(0.3, 0.7), colour="pen", strength=1.0, tint=PAPER
) -> tuple[Array, int, int]:
    """The ink written on a fresh sheet (see blank_sheet); also where its top-left corner went."""
    page, x, y = blank_sheet(ink.shape, rng, margin, tint)
    lay_ink(page, ink, x, y, colour, strength)
    return page, x, y


def light_ramp(page: Array, rng: np.random.Generator, depth: float) -> Array:
    """Light falling off across the picture in a random direction, by `depth` at the far side."""
    h, w = page.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = np.cos(angle) * xx / w + np.sin(angle) * yy / h
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
    return page * (1 - depth * ramp)[..., None]


def camera(
    page: Array, rng: np.random.Generator, *, sharpness=(0.5, 1.1), noise=(0.005, 0.014), jpeg=None
) -> Photo:
    """Photograph a (H, W, 3) scene: lens blur (sigma in pixels), sensor noise (grey plus a
    little colour), 8 bits, and JPEG at a quality drawn from `jpeg` (None: a PNG, as a scan)."""
    scene = blur(page, rng.uniform(*sharpness))
    sigma = rng.uniform(*noise)
    grain = rng.standard_normal(scene.shape[:2])[..., None] + 0.3 * rng.standard_normal(scene.shape)
    scene = scene + sigma * grain.astype(np.float32)
    image = Image.fromarray(np.round(np.clip(scene, 0, 1) * 255).astype(np.uint8), "RGB")
    quality = None if jpeg is None else int(rng.integers(jpeg[0], jpeg[1] + 1))
    return Photo(image, quality)


def digit_height(rng: np.random.Generator) -> int:
    """An ink map height for an everyday photo of one digit (the digit itself is ~0.7 of it)."""
    return int(rng.integers(140, 241))


def snapshot(page: Array, rng: np.random.Generator) -> Photo:
    """An everyday phone photo: slightly uneven light, mild blur and noise, JPEG."""
    return camera(light_ramp(page, rng, rng.uniform(0.04, 0.15)), rng, jpeg=(84, 93))
