"""The paper under the ink: which way the ink goes (darker or lighter) and the paper's level at
every pixel, so uneven light is not taken for ink."""

from __future__ import annotations

import numpy as np

from digitnet.images.components import label_components
from digitnet.images.pixels import box_mean3, otsu_threshold, robust_std
from digitnet.images.shadow import wide_share

AMBIGUOUS_SHARE = (0.25, 0.75)  # dark pixels' share where the paper level cannot tell
BORDER_MAJORITY = 0.6  # the border's share a class must hold to tell the paper
MIN_CONTACT = 0.02  # the border's share ink cropped to its box holds where strokes touch it
SPAN_MARGIN = 0.1  # of each side: ink cropped to its box reaches this close to every edge
SHEET_FILL = 0.7  # of its box: a sheet turned by up to 10 degrees fills this much of it
SHEET_AREA = 0.2  # of the picture: a sheet on a table covers this much of it at least
WIDE_CHECK_SIDE = 256  # pixels: which extreme fills wide areas is judged this coarsely
EXTREME = 0.08  # of the range: pixels this near the darkest or brightest level
WIDE_AREA = 0.03  # of the picture: wide areas of one extreme this large are paper, not ink


def paper_level(grey: np.ndarray) -> float:
    """The paper's typical level: the median of every pixel, since strokes are thin and cover
    the lesser part of a picture, even one cropped tightly to its ink (a border ring would be
    ink wherever strokes touch the edges, and clutter wherever a table or shadow lies)."""
    return float(np.median(grey))


def is_dark_ink(grey: np.ndarray) -> bool:
    """Whether the ink is darker than the paper.

    Where ink covers about half the picture (a bold digit cropped to its strokes) the paper level is
    no guide: there a class that reaches all four sides and holds a little of the border (where
    its strokes touch it) while the paper holds most of it is ink cropped to its own box.
    A light solid block inside a dark border is a sheet on a table, written on in dark ink.
    Otherwise, where only one of the darkest and brightest levels fills wide areas, that one is
    the paper (whatever holds the median: a dark table round a sheet, a shadow); failing that,
    the darkest and brightest 3x3 means' distance from the median decides.
    """
    smooth = box_mean3(grey)
    if min(grey.shape) > 2:
        smooth = smooth[1:-1, 1:-1]  # the zero padding darkens the outermost ring
    dark = smooth < otsu_threshold(smooth)
    if AMBIGUOUS_SHARE[0] <= dark.mean() <= AMBIGUOUS_SHARE[1]:
        ring_dark = _ring(dark).mean()
        inner_ring_share = min(ring_dark, 1 - ring_dark)  # the border's lesser class
        if MIN_CONTACT <= inner_ring_share <= 1 - BORDER_MAJORITY:
            inner_is_dark = bool(ring_dark < 0.5)
            if spans_the_picture(dark if inner_is_dark else ~dark):
                return inner_is_dark  # ink cropped to its own box, touching the edges
        elif ring_dark > 1 - MIN_CONTACT and _sheet_inside(~dark):
            return True  # a light sheet on a dark table that surrounds it
    darkest, brightest = np.percentile(smooth, [0.5, 99.5])
    extreme = EXTREME * (brightest - darkest)
    step = max(1, int(np.ceil(max(smooth.shape) / WIDE_CHECK_SIDE)))  # widths, coarsely
    coarse = smooth[::step, ::step]
    dark_wide = wide_share(coarse <= darkest + extreme)
    bright_wide = wide_share(coarse >= brightest - extreme)
    if min(dark_wide, bright_wide) == 0 and max(dark_wide, bright_wide) >= WIDE_AREA:
        return bool(bright_wide > 0)  # the paper fills wide areas, strokes do not
    background = paper_level(grey)
    return bool(background - darkest >= brightest - background)


def _sheet_inside(mask: np.ndarray) -> bool:
    """Whether mask's largest part is one solid block (filling SHEET_FILL of its box, as a
    slightly turned sheet does and strokes never do) over SHEET_AREA of the picture."""
    _, components = label_components(mask)
    largest = max(components, key=lambda c: c.area, default=None)
    if largest is None or largest.area < SHEET_AREA * mask.size:
        return False
    x0, y0, x1, y1 = largest.box
    return largest.area >= SHEET_FILL * (x1 - x0) * (y1 - y0)


def _ring(mask: np.ndarray) -> np.ndarray:
    """The outermost pixels of a mask (H, W), as one flat array."""
    return np.concatenate([mask[0], mask[-1], mask[1:-1, 0], mask[1:-1, -1]])


def spans_the_picture(mask: np.ndarray) -> bool:
    """Whether one sizeable component of mask reaches to within SPAN_MARGIN of all four sides
    (a digit's faint outer edge may fall on the paper's side of the split)."""
    height, width = mask.shape
    x_margin, y_margin = SPAN_MARGIN * width, SPAN_MARGIN * height
    _, components = label_components(mask)
    return any(
        c.area >= 0.01 * mask.size
        and max(c.box[0], width - c.box[2]) <= x_margin
        and max(c.box[1], height - c.box[3]) <= y_margin
        for c in components
    )


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
