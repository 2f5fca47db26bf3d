"""Small image operations the preprocessing is built from: resizing, local means, noise levels,
thresholds. Images are float arrays (H, W); nothing here knows about digits."""

from __future__ import annotations

import numpy as np
from PIL import Image


def shrink(grey: np.ndarray, max_side: int) -> np.ndarray:
    """Area-average an image whose longer side exceeds max_side down to max_side."""
    height, width = grey.shape
    size = fitted_size(width, height, max_side)
    return grey if size is None else resize(grey, size)


def fitted_size(width: int, height: int, max_side: int) -> tuple[int, int] | None:
    """(width, height) scaled so the longer side is max_side; None if it already fits."""
    scale = max_side / max(height, width)
    if scale >= 1:
        return None
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float image to size=(width, height): area averaging down, bilinear up."""
    shrinking = size[0] <= values.shape[1] and size[1] <= values.shape[0]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    resized = Image.fromarray(values.astype(np.float32)).resize(size, method)
    return np.asarray(resized, dtype=np.float64)


def border_level(grey: np.ndarray) -> float:
    """The median of a thin ring along the image's edges."""
    ring = max(1, min(grey.shape) // 50)
    edges = [grey[:ring], grey[-ring:], grey[:, :ring], grey[:, -ring:]]
    return float(np.median(np.concatenate([edge.ravel() for edge in edges])))


def robust_std(values: np.ndarray) -> float:
    """Robust standard deviation (scaled median absolute deviation) of the majority."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def pixel_noise(grey: np.ndarray) -> float:
    """The pixel noise's standard deviation, from second differences along rows (a ramp or an
    even area cancels out, so neither ink nor shading counts, however much of the image they
    cover); 0 for images narrower than 3 pixels."""
    if grey.shape[1] < 3:
        return 0.0
    second = grey[:, 2:] - 2 * grey[:, 1:-1] + grey[:, :-2]  # noise variance 6 sigma^2
    return robust_std(second) / np.sqrt(6)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """The level that best splits values into two classes (Otsu's between-class variance)."""
    counts, edges = np.histogram(values, bins=bins)
    centers = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centers)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = sum_low / weight_low
        mean_high = (sum_low[-1] - sum_low) / weight_high
        between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[1:][np.nanargmax(np.nan_to_num(between, nan=-1.0))])


def box_mean3(values: np.ndarray) -> np.ndarray:
    """Sum of each pixel's 3x3 neighbourhood divided by 9 (zero padding at the edges)."""
    padded = np.pad(values.astype(np.float64), 1)
    height, width = values.shape
    total = sum(padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3))
    return total / 9


def box_mean(values: np.ndarray, side: int) -> np.ndarray:
    """The mean of each pixel's side x side neighbourhood (side odd; the image's outside
    counts as 0), by an integral image, so the cost does not grow with side."""
    half = side // 2
    padded = np.pad(values.astype(np.float64), ((half + 1, half), (half + 1, half)))
    integral = padded.cumsum(axis=0).cumsum(axis=1)
    height, width = values.shape
    total = (
        integral[side : side + height, side : side + width]
        - integral[:height, side : side + width]
        - integral[side : side + height, :width]
        + integral[:height, :width]
    )
    return total / (side * side)


def running_max(values: np.ndarray, side: int) -> np.ndarray:
    """The maximum over each pixel's side x side neighbourhood (side odd; the image's outside
    is ignored), by van Herk's block prefix and suffix maxima: cost independent of side."""
    return _running_max_rows(_running_max_rows(values, side).T, side).T


def _running_max_rows(values: np.ndarray, side: int) -> np.ndarray:
    """The maximum over each pixel's window of `side` pixels along its row, centred."""
    height, width = values.shape
    half = side // 2
    blocks = -(-(width + 2 * half) // side)  # enough whole blocks for the padded row
    padded = np.full((height, blocks * side), -np.inf)
    padded[:, half : half + width] = values
    tiled = padded.reshape(height, blocks, side)
    prefix = np.maximum.accumulate(tiled, axis=2).reshape(height, -1)
    suffix = np.maximum.accumulate(tiled[:, :, ::-1], axis=2)[:, :, ::-1].reshape(height, -1)
    # the window [i, i + side) spans the end of one block (suffix) and the start of the next
    return np.maximum(suffix[:, :width], prefix[:, side - 1 : side - 1 + width])


def remove_specks(mask: np.ndarray) -> np.ndarray:
    """Drop ink pixels with fewer than 2 ink neighbours (isolated noise, not strokes)."""
    return mask & (box_mean3(mask) * 9 >= 3 - 1e-9)
