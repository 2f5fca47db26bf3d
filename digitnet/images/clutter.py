"""Clutter at a photo's edge (a strip of table, a thumb's shadow, the dark table around a sheet)
told apart from the digit's own strokes, which may touch the edge too in a tight crop.

A stroke meets the edge over its width at a few places; clutter lies along the edge over a
long stretch. A part that covers a long stretch of the edge is dropped, but only while some
part away from the edge remains: a tightly cropped digit (every part at the edge) stays whole,
unless a part runs round the whole picture (a table round a sheet that holds a small digit).
For one digit, main_digit also drops marks lying apart from its strokes or fainter than them.
"""

from __future__ import annotations

import math
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
STRAY_GAP = 0.12  # of the digit's longer side: a part farther off than this is not its stroke
STRAY_SHARE = 0.25  # of the digit's area: stray parts together under this are specks, not digits
SAME_INK = 0.85  # of the strongest part's strength: a part fainter than this is another ink
MIN_PART_SHARE = 0.1  # of the ink's area: parts this large set the ink's strength


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


def main_digit(ink: InkMap) -> InkMap:
    """One digit's ink without the marks that are not its strokes: parts far fainter than the
    digit's ink (a shadow's rim: one pen draws every stroke about as dark), then small parts
    lying apart from it (a speck of dirt, a fingertip), keeping the largest part and every part
    within STRAY_GAP of it, joined in turn, so a digit's broken strokes stay together. Parts
    apart that hold STRAY_SHARE of the area or more are kept: a second digit is not hidden."""
    labels, components = label_components(ink.mask)
    if len(components) < 2:
        return ink
    strength = _part_strengths(labels, ink.strength, len(components))
    areas = np.array([c.area for c in components])
    reference = strength[areas >= min(MIN_PART_SHARE * areas.sum(), areas.max())].max()
    same_ink = strength >= SAME_INK * reference
    kept = _near_the_largest([c for c, ok in zip(components, same_ink, strict=True) if ok])
    keep = np.zeros(len(components) + 1, bool)
    keep[kept] = True
    mask = keep[labels]
    return type(ink)(np.where(mask, ink.strength, 0), mask)


def _part_strengths(labels: np.ndarray, strength: np.ndarray, count: int) -> np.ndarray:
    """(count,) each part's typical ink strength: the 90th percentile over its pixels."""
    inside = labels > 0
    part, values = labels[inside] - 1, strength[inside]
    order = np.lexsort((values, part))
    sizes = np.bincount(part, minlength=count)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return values[order][starts + (0.9 * (sizes - 1)).astype(int)]


def _near_the_largest(components: list) -> list[int]:
    """The labels of the largest component and those near it; every label where the parts
    apart are too large to be strays."""
    largest = max(components, key=lambda c: c.area)
    group, box = {largest.label}, list(largest.box)
    grown = True
    while grown:
        grown = False
        reach = STRAY_GAP * max(box[2] - box[0], box[3] - box[1])
        for c in components:
            if c.label not in group and _box_gap(box, c.box) <= reach:
                group.add(c.label)
                box = [min(box[0], c.box[0]), min(box[1], c.box[1]),
                       max(box[2], c.box[2]), max(box[3], c.box[3])]  # fmt: skip
                grown = True
    kept_area = sum(c.area for c in components if c.label in group)
    stray_area = sum(c.area for c in components) - kept_area
    return list(group) if stray_area < STRAY_SHARE * kept_area else [c.label for c in components]


def _box_gap(a, b) -> float:
    """The distance between two boxes (x0, y0, x1, y1), 0 where they overlap."""
    dx = max(0, a[0] - b[2], b[0] - a[2])
    dy = max(0, a[1] - b[3], b[1] - a[3])
    return math.hypot(dx, dy)
