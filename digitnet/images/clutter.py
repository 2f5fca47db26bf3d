"""Clutter at a photo's edge (a strip of table, a thumb's shadow, the dark table around a sheet)
told apart from the digit's own strokes, which may touch the edge too in a tight crop.

A stroke meets the edge over its width at a few places; clutter lies along the edge over a
long stretch. A part that covers a long stretch of the edge is dropped, but only while some
part away from the edge remains: a tightly cropped digit (every part at the edge) stays whole,
unless a part runs round the whole picture (a table round a sheet that holds a small digit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from digitnet.images.components import label_components

if TYPE_CHECKING:  # mnist_frame calls this module: no import at run time
    from digitnet.images.mnist_frame import InkMap

LONG_CONTACT = 0.4  # a part touching the edge over this share of the shorter side is clutter
EDGE_SIDES = 3  # a strip along one side touches that side and the two beside it
SOLID_FILL = 0.9  # of its box: a part this solid is a block of table or shadow, not strokes
MIN_KEPT_SHARE = 0.02  # parts away from the edge must hold this share of the ink's area
FRAME = 0.5  # of the picture's outer ring: a part along this much of it frames the picture


def remove_clutter(ink: InkMap) -> InkMap:
    """The ink without the parts that lie along the picture's edge; ink itself when too little
    would remain (then the digit is what touches the edge)."""
    keep = clutter_free(ink.mask)
    return ink if keep is ink.mask else type(ink)(np.where(keep, ink.strength, 0), keep)


def clutter_free(mask: np.ndarray) -> np.ndarray:
    """The ink mask (H, W) bool without its clutter; the same array when nothing is dropped."""
    labels, components = label_components(mask)
    if len(components) < 2:
        return mask
    height, width = mask.shape
    contact = _edge_contact(labels, len(components))  # (n,) edge pixels per component
    is_clutter = np.array(
        [c.touches_border and contact[c.label - 1] >= LONG_CONTACT * min(height, width)
         for c in components]
    )  # fmt: skip
    areas = np.array([c.area for c in components])
    inside = np.array([not c.touches_border for c in components])
    if not is_clutter.any():
        return mask
    if areas[inside].sum() < MIN_KEPT_SHARE * areas.sum():
        # every stroke at the edge (a tight crop, kept whole), unless a part runs round the
        # picture: a table framing a sheet that holds a small digit
        is_clutter &= contact >= FRAME * 2 * (height + width)
        if not is_clutter.any():
            return mask
    return np.concatenate([[False], ~is_clutter])[labels]  # label 0 is the paper


def _edge_contact(labels: np.ndarray, count: int) -> np.ndarray:
    """For labels 1..count, how many pixels of the image's outer ring each holds."""
    ring = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
    return np.bincount(ring, minlength=count + 1)[1:]


def only_an_edge(mask: np.ndarray) -> bool:
    """Whether the ink is one solid block along one side of the picture and nothing else: a
    strip of table or a shadow with no digit beside it (a digit's strokes never fill their box;
    a tightly cropped digit reaches all four sides)."""
    labels, components = label_components(mask)
    large = [c for c in components if c.area >= MIN_KEPT_SHARE * mask.sum()]
    if len(large) != 1:
        return False
    part = large[0]
    height, width = mask.shape
    x0, y0, x1, y1 = part.box
    sides = (x0 == 0) + (y0 == 0) + (x1 == width) + (y1 == height)
    box_area = (x1 - x0) * (y1 - y0)
    return sides == EDGE_SIDES and part.area >= SOLID_FILL * box_area
