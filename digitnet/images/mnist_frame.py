"""A greyscale picture -> the 28x28 an MNIST network was trained on.

MNIST recipe: bright ink on black, cropped to the ink, longest side fitted to 20 px with area
resampling, pasted into 28x28 so that the ink's centre of mass (pixel indices) is at (14, 14).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from digitnet.errors import ImageError, NoDigitError
from digitnet.images.clutter import clutter_free, main_digit, only_an_edge
from digitnet.images.components import label_components
from digitnet.images.decode import MIN_CONTRAST, WORK_SIDE, read_image
from digitnet.images.lines import only_printed_lines, remove_paper_pattern, stroke_width
from digitnet.images.paper import estimate_background, is_dark_ink, spans_the_picture
from digitnet.images.pixels import (
    box_mean3,
    otsu_threshold,
    pixel_noise,
    remove_specks,
    resize,
    shrink,
)
from digitnet.images.shadow import has_shade, shaded_background, wide_parts

SIDE, BOX = 28, 20  # MNIST frame and the box the digit is fitted into
MIN_WORK_SIDE = 112  # smaller pictures are enlarged (bilinear) before the ink is found
STRONG_INK = 0.8  # of the ink's strength: the strokes' cores, darker than any shadow
STRONG_KEPT = 0.9  # of those cores the shadow-levelled ink must keep
BRIDGED = 0.25  # of the way from the ink's level to the paper's: a shadow's level lies above
FAINT = 0.7  # of the cores' contrast with their paper: levelled ink fainter than this is shade
MIN_PAPER_LEVEL = 0.05  # the paper's level, at least, that contrast is measured against
SHADE_CHECK_SIDE = 256  # pixels: whether a shadow shows is judged this coarsely


@dataclass(frozen=True)
class InkMap:
    """Where the ink lies on a picture: strength (H, W) float in [0, 1] (1 = a stroke's core,
    0 = paper) and mask (H, W) bool (the pixels taken for ink; strength is 0 outside it)."""

    strength: np.ndarray
    mask: np.ndarray


def to_mnist(grey: np.ndarray, *, ink: str = "auto") -> np.ndarray:
    """A greyscale image (H, W) in [0, 1] (1 = white) -> MNIST-like (28, 28) float32, ink = 1.

    ink: "dark" (dark on light: photos, scans), "light" (light on dark) or "auto" (the border
    decides).  Raises ImageError for NaN/inf, a wrong shape, or no ink; ValueError for a bad `ink`.
    """
    return frame_digit(main_digit(find_ink(grey, ink=ink)))


def find_ink(grey: np.ndarray, *, ink: str = "auto") -> InkMap:
    """The ink on a greyscale image (H, W) in [0, 1] (1 = white), worked on at MIN_WORK_SIDE to
    WORK_SIDE pixels on its longer side (larger images area-averaged down, thumbnails enlarged):
    which way the ink goes, the paper's level (region by region under a hard shadow), the
    pixels standing out from it without specks, edge clutter and printed lines. See to_mnist
    for `ink` and what is raised."""
    if ink not in ("auto", "dark", "light"):
        raise ValueError(f"ink must be 'auto', 'dark' or 'light', got {ink!r}")
    grey = _validated(grey)
    grey = shrink(grey, WORK_SIDE)
    if max(grey.shape) < MIN_WORK_SIDE:  # a thumbnail: threshold it on a finer grid
        scale = MIN_WORK_SIDE / max(grey.shape)
        grey = resize(grey, (round(grey.shape[1] * scale), round(grey.shape[0] * scale)))
    is_dark = ink == "dark" or (ink == "auto" and is_dark_ink(grey))
    sign = 1.0 if is_dark else -1.0
    background = estimate_background(grey, sign)
    first = _ink_against(grey, background, sign)
    residual, _, mask = _shadows_levelled(grey, sign, background, first)
    if not mask.any():  # contrast, but only in specks: noise, grain, dust
        raise ImageError("no ink found: nothing but specks stands out from the paper")
    if only_an_edge(mask):
        raise ImageError("no ink found: only a solid block along one edge (a table or shadow)")
    if only_printed_lines(mask):
        raise ImageError("no ink found: nothing but printed lines crosses the paper")
    return _scaled_ink(residual, mask)


def _strong(residual: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """(H, W) bool: the strokes' cores, standing out more than any shadow does."""
    if not candidates.any():
        return candidates
    return candidates & (residual >= STRONG_INK * np.percentile(residual[candidates], 99))


def _shadows_levelled(
    grey: np.ndarray, sign: float, background: np.ndarray, first: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (residual, candidates, mask) found against the paper's level region by region where
    a hard shadow's step shows, else `first`, those found against the smooth background. Not on
    a tight crop (strokes reaching every edge), nor where that would bridge over thick strokes
    (it loses their cores)."""
    residual, candidates, _ = first
    strokes = _strong(residual, candidates)
    if spans_the_picture(strokes):
        return first
    width = stroke_width(_without_edge_blocks(strokes, candidates))
    step = max(1, math.ceil(max(grey.shape) / SHADE_CHECK_SIDE))  # look first on a coarse grid
    # judged with the outside ignored, where a stroke along the edge is bridged too
    coarse = shaded_background(grey[::step, ::step], sign, width / step, carry_edge=False)
    if coarse is None or not has_shade(background[::step, ::step], coarse, strokes[::step, ::step]):
        return first
    shaded = shaded_background(grey, sign, width)
    if shaded is None:
        return first
    try:
        levelled = _ink_against(grey, shaded, sign)
    except ImageError:  # nothing left: the strokes were the wide area
        return first
    if not _cores_kept(grey, sign, background, shaded, strokes, levelled[2]):
        return first
    return _without_faint_ink(grey, sign, shaded, strokes, levelled)


def _without_edge_blocks(strokes: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """strokes without the wide solid parts of candidates that reach the picture's edge (a
    thumb's dark skin, a strip of table): no stroke whose width sizes the shadow's window.
    strokes itself where nothing else would remain."""
    labels, components = label_components(wide_parts(candidates))
    edge = np.array([False] + [c.touches_border for c in components])
    thin = strokes & ~edge[labels]
    return thin if thin.any() else strokes


def _without_faint_ink(
    grey: np.ndarray, sign: float, shaded: np.ndarray, strokes: np.ndarray, levelled: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`levelled` with each pixel's ink measured relative to the paper under it (Weber
    contrast), and without the pixels far fainter than the strokes' cores by that measure.
    Relative, because a shadow dims ink and paper alike: strokes under it keep their strength.
    A soft shadow's rim beside a hard shadow (a thumb's, round the thumb) stands out from the
    levelled paper, but by well under the ink's share of its level."""
    residual, candidates, mask = levelled
    cores = strokes & mask
    if not cores.any():
        return levelled
    paper = shaded if sign > 0 else 1 - shaded  # the paper's distance from the ink's extreme
    contrast = residual / np.maximum(paper, MIN_PAPER_LEVEL)
    kept = remove_specks(mask & (contrast >= FAINT * np.median(contrast[cores])))
    return (contrast, candidates, kept) if kept.any() else levelled


def _cores_kept(
    grey: np.ndarray,
    sign: float,
    background: np.ndarray,
    shaded: np.ndarray,
    strokes: np.ndarray,
    mask: np.ndarray,
) -> bool:
    """Whether levelling against `shaded` kept the strokes' cores (STRONG_KEPT of them): a core
    it drops counts as lost only where the shaded level sank to near the ink's own (the closing
    failed to bridge a thick stroke), not where it is a shadow's level, clear of the ink's."""
    ink_level = np.median(grey[strokes])
    clear_of_ink = sign * (shaded - ink_level) >= BRIDGED * sign * (background - ink_level)
    lost = strokes & ~mask & ~clear_of_ink
    return lost.sum() <= (1 - STRONG_KEPT) * strokes.sum()


def _ink_against(
    grey: np.ndarray, background: np.ndarray, sign: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(residual, candidates, mask): how far each pixel lies on the ink's side of the
    background, the pixels standing out from it, and those taken for ink (edge clutter and
    printed lines left out). ImageError when nothing stands out at all."""
    residual = np.maximum(sign * (background - grey), 0)  # ink > 0, paper noise around 0
    contrast = box_mean3(residual).max()  # 3x3 mean first, so a lone noisy pixel is not ink
    if contrast < MIN_CONTRAST:
        raise ImageError("no ink found: the image is blank")
    threshold = max(otsu_threshold(residual), 5 * pixel_noise(grey), 0.25 * contrast)
    candidates = remove_specks(residual > threshold)
    return residual, candidates, remove_paper_pattern(clutter_free(candidates))


def _scaled_ink(residual: np.ndarray, mask: np.ndarray) -> InkMap:
    """The ink map with the ink's core (its 90th percentile) at full strength, like MNIST's."""
    level = np.percentile(residual[mask], 90)
    return InkMap(np.where(mask, np.clip(residual / level, 0, 1), 0), mask)


def frame_digit(ink: InkMap) -> np.ndarray:
    """One digit's ink -> (28, 28) float32 the MNIST way: cropped to the mask, the longer side
    fitted to BOX pixels, the centre of mass moved to the frame's centre."""
    return center_of_mass_shift(fit_box(crop_to_ink(ink.strength, ink.mask), BOX))


def prepare_image(path: str | os.PathLike[str]) -> np.ndarray:
    """A user's image file -> the (28, 28) float32 the network sees; ImageError names the file
    (NoDigitError when the file was read but holds no digit)."""
    grey = read_image(path)
    try:
        return to_mnist(grey, ink="auto")
    except ImageError as error:
        raise NoDigitError(f"{os.fspath(path)}: {error}") from error


def canvas_to_mnist(pixels: np.ndarray, *, ink: str = "light") -> np.ndarray:
    """A drawing canvas (H, W) in [0, 1], 1 = ink by default -> (28, 28) float32, as to_mnist."""
    return to_mnist(pixels, ink=ink)


def _validated(grey: np.ndarray) -> np.ndarray:
    """The input as float64 in [0, 1], or ImageError for shapes and values we cannot use."""
    array = np.asarray(grey)
    if array.ndim != 2 or array.size == 0:
        raise ImageError(f"expected a greyscale image of shape (H, W), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ImageError(f"expected numbers in the image, got dtype {array.dtype}")
    if array.dtype == np.uint8:
        return array / 255.0
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ImageError("the image contains NaN or infinite values")
    return np.clip(array, 0, 1)


def crop_to_ink(ink_map: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The smallest rectangle of ink_map holding every True pixel of mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return ink_map[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit_box(ink_map: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is `box` pixels, keeping the aspect ratio."""
    height, width = ink_map.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.clip(resize(ink_map, size), 0, 1)


def center_of_mass_shift(digit: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Paste digit into a side x side black frame with its centre of mass at (side/2, side/2).

    The fractional part of the offset is a bilinear sub-pixel shift, so the result changes
    smoothly with the input instead of jumping a whole pixel at a rounding boundary.
    """
    rows, cols = np.indices(digit.shape)
    mass = digit.sum()
    top_exact = side / 2 - (rows * digit).sum() / mass
    left_exact = side / 2 - (cols * digit).sum() / mass
    top, left = int(np.floor(top_exact)), int(np.floor(left_exact))
    shifted = _shift_fraction(digit, top_exact - top, left_exact - left)
    frame = np.zeros((side, side), dtype=np.float32)
    height, width = shifted.shape
    y0, x0 = max(top, 0), max(left, 0)  # clip the digit to the frame
    y1, x1 = min(top + height, side), min(left + width, side)
    frame[y0:y1, x0:x1] = shifted[y0 - top : y1 - top, x0 - left : x1 - left]
    return frame


def _shift_fraction(values: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Move the content down by dy and right by dx (both in [0, 1)); grows by one row and column."""
    padded = np.pad(values, 1)
    down = (1 - dy) * padded[1:, 1:-1] + dy * padded[:-1, 1:-1]  # (h + 1, w)
    padded = np.pad(down, ((0, 0), (1, 1)))
    return (1 - dx) * padded[:, 1:] + dx * padded[:, :-1]  # (h + 1, w + 1)
