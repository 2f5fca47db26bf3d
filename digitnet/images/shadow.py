"""Hard shadows across the paper: a step in the paper's level that no smooth surface follows.

The paper's level region by region is a closing (a running maximum, then minimum, of the
paper's side) over a window wider than the strokes: it bridges the strokes while a shadow,
wider than the window, keeps its own level.
"""

from __future__ import annotations

import numpy as np

from digitnet.images.pixels import running_max

SHADE_WINDOW = 4  # widths of the strokes' cores: the closing's window, bridging every stroke
MIN_WINDOW = 2  # widths of the strokes' cores: the window at least, where the picture is small
SHADE_STEP = 0.1  # a shadow's step in the paper's level, at least (1 = white)
SHADE_CONTACT = 0.1  # of the shorter side: a shadow reaches in along this much of the edge
SHADE_AREA = 0.03  # of the picture: a solid area this large is shade, not strokes


def has_shade(smooth_background: np.ndarray, shaded: np.ndarray, strokes: np.ndarray) -> bool:
    """Whether the paper's level region by region (shaded_background) departs from the smooth
    surface over a wide area beside the strokes (H, W) bool, reaching in from the picture's
    edge: a hard shadow's step, which no smooth surface follows (where strokes are thick, the
    closing bridges them instead, within the picture)."""
    departure = smooth_background - shaded
    departure = np.abs(departure - np.median(departure))  # the closing rides on the noise's top
    shade = (departure > SHADE_STEP) & ~strokes
    edge_contact = _edge_pixels(shade)
    return bool(shade.mean() >= SHADE_AREA and edge_contact >= SHADE_CONTACT * min(shade.shape))


def shaded_background(
    grey: np.ndarray, sign: float, stroke_width: float, *, carry_edge: bool = True
) -> np.ndarray | None:
    """The paper's level at every pixel under a hard shadow: a closing (running maximum, then
    minimum, of the paper's side) over a window wider than the strokes (and a sixth of the
    shorter side at least, under half of it), which bridges the strokes while a wide shadow
    keeps its own level; None where the picture cannot hold a window MIN_WINDOW strokes wide
    (a tight crop). sign as estimate_background.

    carry_edge: the edge's pixels are carried outward, so that a shadow meeting the edge at a
    slant keeps windows of its own level beyond it instead of being bridged where it narrows
    (but a stroke lying along the edge is not bridged); else the outside is ignored."""
    side = 2 * round(max(min(grey.shape) / 12, SHADE_WINDOW * stroke_width / 2)) + 1
    side = min(side, 2 * (min(grey.shape) // 4) - 1)  # under half the shorter side
    if side < MIN_WINDOW * stroke_width:
        return None
    paper_up = sign * np.asarray(grey, np.float64)
    if not carry_edge:
        return sign * -running_max(-running_max(paper_up, side), side)
    closed = -running_max(-running_max(np.pad(paper_up, side, mode="edge"), side), side)
    return sign * closed[side:-side, side:-side]


def wide_parts(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool: where mask holds a whole window a sixth of the picture's shorter side wide,
    grown back to those windows (an opening): a thumb, a table or a shadow, never a stroke of a
    digit that leaves paper beside it."""
    side = 2 * (min(mask.shape) // 12) + 1
    inner = running_max(-running_max(-mask.astype(np.float64), side), side) > 0
    return running_max(inner.astype(np.float64), side) > 0


def wide_share(mask: np.ndarray) -> float:
    """The share of the picture where mask holds a whole window a sixth of its side wide."""
    side = 2 * (min(mask.shape) // 12) + 1
    return float((running_max(-running_max(-mask.astype(np.float64), side), side) > 0).mean())


def _edge_pixels(mask: np.ndarray) -> int:
    """How many of the picture's outermost pixels mask holds."""
    return int(mask[0].sum() + mask[-1].sum() + mask[1:-1, 0].sum() + mask[1:-1, -1].sum())
