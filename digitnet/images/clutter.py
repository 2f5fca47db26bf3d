"""Clutter at a photo's edge (a strip of table, a thumb's shadow, the dark table around a sheet)
told apart from the digit's own strokes, which may touch the edge too in a tight crop.

A stroke meets the edge over its width at a few places; clutter lies along the edge over a
long stretch. A part that covers a long stretch of the edge is dropped, but only while some
part away from the edge remains: a tightly cropped digit (every part at the edge) stays whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from digitnet.images.components import label_components

if TYPE_CHECKING:  # mnist_frame calls this module: no import at run time
    from digitnet.images.mnist_frame import InkMap

LONG_CONTACT = 0.4  # a part touching the edge over this share of the shorter side is clutter
MIN_KEPT_SHARE = 0.02  # parts away from the edge must hold this share of the ink's area


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
    if not is_clutter.any() or areas[inside].sum() < MIN_KEPT_SHARE * areas.sum():
        return mask  # every stroke at the edge: a tight crop, kept whole
    return np.concatenate([[False], ~is_clutter])[labels]  # label 0 is the paper


def _edge_contact(labels: np.ndarray, count: int) -> np.ndarray:
    """For labels 1..count, how many pixels of the image's outer ring each holds."""
    ring = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
    return np.bincount(ring, minlength=count + 1)[1:]
