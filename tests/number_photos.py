"""Numbers made of MNIST *test* digits, rendered as photos of ink on paper: the digits side by
side with small gaps (or touching), enlarged, dark on a lit sheet with noise and JPEG artefacts.
Used by the segmentation and reading tests and by benchmarks/read_numbers.py."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).resolve().parents[1] / "digitnet/datasets/mnist"


def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits (n, 28, 28) uint8 and their labels (n,)."""
    images = gzip.decompress((DATA / "t10k-images-idx3-ubyte.gz").read_bytes())
    labels = gzip.decompress((DATA / "t10k-labels-idx1-ubyte.gz").read_bytes())
    return (
        np.frombuffer(images, np.uint8, offset=16).reshape(-1, 28, 28),
        np.frombuffer(labels, np.uint8, offset=8),
    )


@dataclass(frozen=True)
class NumberPhoto:
    """A rendered number: grey (H, W) float32 in [0, 1] (1 = white paper), its text, and
    each digit's ink columns [x0, x1) in the photo's pixels."""

    grey: np.ndarray
    text: str
    columns: list[tuple[int, int]]


def strip(images: np.ndarray, gaps: list[int], shifts: list[int]) -> tuple[np.ndarray, list]:
    """Digits (n, 28, 28) cropped to their ink columns and laid side by side, gaps[i] pixels
    between digit i and i+1 (negative: overlapping), each moved down by shifts[i] pixels;
    ink (h, w) float in [0, 1] and each digit's columns. Overlapping ink takes the maximum."""
    pieces = []
    for image in images:
        cols = np.flatnonzero(image.max(axis=0) > 40)
        pieces.append(image[:, cols[0] : cols[-1] + 1].astype(np.float32) / 255)
    height = 28 + max(shifts) - min(shifts)
    width = sum(p.shape[1] for p in pieces) + sum(gaps)
    ink = np.zeros((height, width + 2), np.float32)
    x, columns = 1, []
    for i, piece in enumerate(pieces):
        top = shifts[i] - min(shifts)
        region = ink[top : top + 28, x : x + piece.shape[1]]
        np.maximum(region, piece, out=region)
        columns.append((x, x + piece.shape[1]))
        x += piece.shape[1] + (gaps[i] if i < len(gaps) else 0)
    return ink, columns


def photograph(
    ink: np.ndarray, rng: np.random.Generator, *, scale: int = 6, jpeg: bool = True
) -> np.ndarray:
    """Ink (h, w) in [0, 1] enlarged `scale` times with a margin, as dark ink on paper lit
    unevenly, with sensor noise and (if jpeg) a JPEG round trip: grey (H, W) float32."""
    margin = 8
    padded = np.pad(ink, margin)
    height, width = padded.shape
    big = Image.fromarray(padded).resize((width * scale, height * scale), Image.Resampling.BILINEAR)
    strength = np.clip(np.asarray(big, np.float32), 0, 1)
    ys, xs = np.mgrid[0 : strength.shape[0], 0 : strength.shape[1]]
    angle = rng.uniform(0, 2 * np.pi)
    light = np.cos(angle) * xs / xs.max() + np.sin(angle) * ys / ys.max()
    paper = rng.uniform(0.72, 0.92) + rng.uniform(0.03, 0.1) * (light - light.mean())
    ink_level = rng.uniform(0.08, 0.3)
    grey = paper * (1 - strength) + ink_level * strength
    grey = grey + rng.normal(0, rng.uniform(0.005, 0.025), grey.shape)
    grey = np.clip(grey, 0, 1).astype(np.float32)
    if not jpeg:
        return grey
    buffer = io.BytesIO()
    Image.fromarray(np.round(grey * 255).astype(np.uint8)).save(
        buffer, format="JPEG", quality=int(rng.integers(70, 92))
    )
    return np.asarray(Image.open(buffer), np.float32) / 255


def number_photo(
    rng: np.random.Generator,
    images: np.ndarray,
    labels: np.ndarray,
    n_digits: int,
    *,
    gap: tuple[int, int] = (2, 6),
    scale: int = 6,
) -> NumberPhoto:
    """A photo of n_digits random test digits, gaps drawn from [gap[0], gap[1]] pixels (at
    the 28x28 scale), shifted up or down by up to 2 pixels each."""
    chosen = rng.choice(len(images), n_digits, replace=False)
    gaps = [int(g) for g in rng.integers(gap[0], gap[1] + 1, n_digits - 1)]
    shifts = [int(s) for s in rng.integers(-2, 3, n_digits)]
    ink, columns = strip(images[chosen], gaps, shifts)
    text = "".join(str(int(label)) for label in labels[chosen])
    margin = 8 * scale
    columns = [(margin + scale * a, margin + scale * b) for a, b in columns]
    return NumberPhoto(photograph(ink, rng, scale=scale), text, columns)
