"""The paper under the ink: which way the ink goes (darker or lighter) and the paper's level at
every pixel, so uneven light is not taken for ink."""

from __future__ import annotations

import numpy as np

from digitnet.images.pixels import box_mean3, otsu_threshold, robust_std


def paper_level(grey: np.ndarray) -> float:
    """The paper's typical level: the median of every pixel, since strokes are thin and cover
    the lesser part of a picture, even one cropped tightly to its ink (a border ring would be
    ink wherever strokes touch the edges, and clutter wherever a table or shadow lies)."""
    return float(np.median(grey))


def is_dark_ink(grey: np.ndarray) -> bool:
    """Whether the ink is darker than the paper: the darkest and brightest 3x3 means' distance
    from the paper level decides."""
    background = paper_level(grey)
    smooth = box_mean3(grey)
    if min(grey.shape) > 2:
        smooth = smooth[1:-1, 1:-1]  # the zero padding darkens the outermost ring
    darkest, brightest = np.percentile(smooth, [0.5, 99.5])
    return bool(background - darkest >= brightest - background)


def estimate_background(grey: np.ndarray, sign: float) -> np.ndarray:
    """The paper's level at every pixel: a quadratic surface fitted to the non-ink pixels.

    A surface, not a constant, so a lighting gradient across a photo is not taken for ink;
    sign is +1 for dark ink, -1 for light ink.  Returns float64 (H, W).
    """
    height, width = grey.shape
    stride = max(1, int(np.ceil(np.sqrt(grey.size / 8192))))  # 6 coefficients: ~8k samples do
    ys = np.arange(0, height, stride)[:, None] / max(height - 1, 1)
    xs = np.arange(0, width, stride)[None, :] / max(width - 1, 1)
    terms = np.stack([term.ravel() for term in _quadratic_terms(ys, xs)], axis=1)
    samples = grey[::stride, ::stride].ravel()
    residual = sign * (_paper_side_level(samples, sign) - samples)
    keep = residual <= 0.5 * residual.max()  # start from the paper's level, without clear ink
    for _ in range(3):  # refit without the pixels that look like ink
        coefficients = _least_squares(terms[keep], samples[keep])
        residual = sign * (terms @ coefficients - samples)
        paper = residual[keep]
        keep = residual <= np.median(paper) + 3 * robust_std(paper) + 0.02
    ys = np.arange(height)[:, None] / max(height - 1, 1)
    xs = np.arange(width)[None, :] / max(width - 1, 1)
    return sum(c * term for c, term in zip(coefficients, _quadratic_terms(ys, xs), strict=True))


def _paper_side_level(values: np.ndarray, sign: float) -> float:
    """The median of the values on the paper's side of Otsu's split (the brighter class for
    dark ink): the paper's level even where ink covers half a tight crop."""
    split = otsu_threshold(values)
    paper = values[values >= split] if sign > 0 else values[values <= split]
    return float(np.median(paper)) if paper.size else float(np.median(values))


def _least_squares(terms: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Coefficients c minimising |terms @ c - values|, by the 6x6 normal equations: far faster
    than an SVD here, and the centred terms keep them well conditioned (a tiny ridge, safe)."""
    gram = terms.T @ terms + 1e-9 * np.eye(terms.shape[1])
    return np.linalg.solve(gram, terms.T @ values)


def _quadratic_terms(ys: np.ndarray, xs: np.ndarray) -> list[np.ndarray]:
    """1, y, x, y^2, xy, x^2 for a column ys and a row xs in [0, 1], each (len(ys), len(xs))."""
    y, x = np.broadcast_arrays(ys - 0.5, xs - 0.5)
    return [np.ones_like(y), y, x, y * y, x * y, x * x]
