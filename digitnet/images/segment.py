"""A picture of a number -> its digits, left to right on one line, each framed the MNIST way.

The ink (find_ink) falls into connected components; specks are dropped, the strokes of one
digit drawn apart (a 5's flag, a 4 or a 7 in two strokes) are joined, a component far wider
than a digit is cut at its thinnest columns into as many digits as its width holds, and each
digit is cut out and framed by frame_digit. Boxes are in the original image's pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from digitnet.errors import ImageError
from digitnet.images.components import BoxSize, label_components
from digitnet.images.lines import SPECK_AREA
from digitnet.images.mnist_frame import InkMap, find_ink, frame_digit

MAX_DIGITS = 40  # more marks than this is a page of text or a texture, not a number
SMALL_HEIGHT = 0.4  # of the line's height: a piece (flag, dot, dash) rather than a digit
JOIN_OVERLAP = 0.5  # of the narrower part's width shared in x: strokes of one digit
JOIN_GAP = 0.15  # of the line's height: a small piece this close belongs to its neighbour
WIDEST_DIGIT = 1.15  # a digit's width over its height; joins may not make a part wider
SPLIT_ASPECT = 1.5  # a part wider than this times the line's height holds touching digits
# (MNIST's widest single digits reach 1.4 times their height; two touching ones about 1.6)
MAYBE_SPLIT = 1.0  # a part wider than this (times the line's height) may be two digits
CUT_FRACTIONS = (0.35, 0.42, 0.5, 0.58, 0.65)  # of its width: where such a part is tried cut
DIGIT_ASPECT = 0.85  # a digit's usual width over the line's height (MNIST's median, ones
# aside), when no lone digit on the picture shows it


@dataclass(frozen=True)
class DigitInk:
    """One digit found on a picture: its (28, 28) float32 MNIST-like input and its box
    (x0, y0, x1, y1) in the original image's pixels, x1 and y1 exclusive. A part wide enough
    to be two touching digits also carries `splits`: ways to cut it in two, (left, right), for
    the reader to choose from by what the network makes of them (to a ruler, a wide 0 and
    two touching digits look alike)."""

    image28: np.ndarray
    box: tuple[int, int, int, int]
    splits: tuple[tuple[DigitInk, DigitInk], ...] = ()


@dataclass
class _Part(BoxSize):
    """A set of ink pixels taken for one digit, on the working-size image."""

    mask: np.ndarray  # (H, W) bool
    box: tuple[int, int, int, int]  # x0, y0, x1, y1, exclusive


def segment_digits(grey: np.ndarray, *, ink: str = "auto") -> list[DigitInk]:
    """The digits on a greyscale picture (H, W) in [0, 1] (1 = white), left to right.

    ink: "dark", "light" or "auto" (as find_ink). Raises ImageError when there is no ink or
    nothing digit-sized ("no digits found: ..."), or more than MAX_DIGITS marks.
    """
    try:
        ink_map = find_ink(grey, ink=ink)
    except ImageError as error:
        raise ImageError(f"no digits found: {str(error).removeprefix('no ink found: ')}") from None
    parts = digit_parts(ink_map.mask)
    line_height = _line_height(parts)
    digits = []
    for part in parts:
        splits = ()
        if part.width > MAYBE_SPLIT * max(line_height, part.height):
            splits = tuple(
                (_framed(left, ink_map, np.shape(grey)), _framed(right, ink_map, np.shape(grey)))
                for left, right in _two_ways(part)
            )
        digits.append(_framed(part, ink_map, np.shape(grey), splits))
    return digits


def _framed(
    part: _Part,
    ink_map: InkMap,
    shape: tuple[int, int],
    splits: tuple[tuple[DigitInk, DigitInk], ...] = (),
) -> DigitInk:
    """The part's ink framed as MNIST, with its box scaled back to the original image."""
    height, width = shape
    scale_x, scale_y = width / ink_map.mask.shape[1], height / ink_map.mask.shape[0]
    x0, y0, x1, y1 = part.box
    box = (
        math.floor(x0 * scale_x),
        math.floor(y0 * scale_y),
        min(width, math.ceil(x1 * scale_x)),
        min(height, math.ceil(y1 * scale_y)),
    )
    strength = np.where(part.mask, ink_map.strength, 0)
    # each digit's own core reaches 1, as in MNIST, also when it is fainter than the others
    strength = np.clip(strength / np.percentile(strength[part.mask], 90), 0, 1)
    return DigitInk(frame_digit(InkMap(strength, part.mask)), box, splits)


def digit_parts(mask: np.ndarray) -> list[_Part]:
    """The ink mask (H, W) bool grouped into one part per digit, left to right; ImageError
    when none is digit-sized or there are too many marks."""
    labels, components = label_components(mask)
    if not components:
        raise ImageError("no digits found: nothing but specks stands out from the paper")
    largest = max(c.area for c in components)
    kept = [c for c in components if c.area >= SPECK_AREA * largest]
    if len(kept) > MAX_DIGITS:
        raise ImageError(
            f"found {len(kept)} separate marks, more than the {MAX_DIGITS} one line of digits "
            "can hold: is this a page of text? Crop the picture to the number"
        )
    parts = [_Part(labels == c.label, c.box) for c in kept]
    parts = _joined(parts, _overlapping_in_x)
    line_height = _line_height(parts)
    parts = _joined(parts, lambda a, b: _small_and_close(a, b, line_height))
    parts = [p for p in parts if p.height >= SMALL_HEIGHT * line_height]  # dots, dashes
    if not parts:
        raise ImageError("no digits found: only small marks stand out from the paper")
    line_height = _line_height(parts)
    digit_width = _digit_width(parts, line_height)
    split = [piece for part in parts for piece in _split(part, line_height, digit_width)]
    if len(split) > MAX_DIGITS:
        raise ImageError(
            f"found {len(split)} digits, more than the {MAX_DIGITS} one line can hold: crop "
            "the picture to the number"
        )
    return sorted(split, key=lambda p: (p.box[0] + p.box[2]) / 2)


def _union_box(a: _Part, b: _Part) -> tuple[int, int, int, int]:
    return (
        min(a.box[0], b.box[0]),
        min(a.box[1], b.box[1]),
        max(a.box[2], b.box[2]),
        max(a.box[3], b.box[3]),
    )


def _joined(parts: list[_Part], belong_together) -> list[_Part]:
    """Parts merged pairwise while belong_together(a, b) holds for some pair and the merge is
    no wider than a digit can be."""
    parts = list(parts)
    merged = True
    while merged:
        merged = False
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                x0, y0, x1, y1 = _union_box(parts[i], parts[j])
                if x1 - x0 <= WIDEST_DIGIT * (y1 - y0) and belong_together(parts[i], parts[j]):
                    parts[i] = _Part(parts[i].mask | parts[j].mask, (x0, y0, x1, y1))
                    del parts[j]
                    merged = True
                    break
            if merged:
                break
    return parts


def _overlapping_in_x(a: _Part, b: _Part) -> bool:
    """Whether the narrower part lies mostly within the other's columns (one above the other)."""
    shared = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return shared >= JOIN_OVERLAP * min(a.width, b.width)


def _small_and_close(a: _Part, b: _Part, line_height: float) -> bool:
    """Whether one part is a small piece (short) lying close beside or inside the other."""
    small, big = (a, b) if a.height <= b.height else (b, a)
    if small.height >= SMALL_HEIGHT * line_height:
        return False
    gap_x = max(big.box[0] - small.box[2], small.box[0] - big.box[2], 0)
    gap_y = max(big.box[1] - small.box[3], small.box[1] - big.box[3], 0)
    return max(gap_x, gap_y) <= JOIN_GAP * line_height


def _line_height(parts: list[_Part]) -> float:
    """A digit's height on this line: the median height of the parts at least half as tall
    as the tallest (so specks and dots do not pull it down)."""
    tallest = max(p.height for p in parts)
    return float(np.median([p.height for p in parts if p.height >= tallest / 2]))


def _digit_width(parts: list[_Part], line_height: float) -> float:
    """A lone digit's width here: the median width of parts narrow enough to be one digit
    (ones excluded: far narrower than others), else DIGIT_ASPECT times the line's height."""
    lone = [p.width for p in parts if 0.35 * line_height < p.width <= SPLIT_ASPECT * line_height]
    return float(np.median(lone)) if lone else DIGIT_ASPECT * line_height


def _split(part: _Part, line_height: float, digit_width: float) -> list[_Part]:
    """A part wider than SPLIT_ASPECT times the line's height cut into round(width /
    digit_width) pieces (at least 2) at the columns with the least ink near the even cuts."""
    if part.width <= SPLIT_ASPECT * max(line_height, part.height):
        return [part]
    return _cut(part, max(2, round(part.width / max(digit_width, 1))))


def _two_ways(part: _Part) -> list[tuple[_Part, _Part]]:
    """The part cut in two at its thinnest column near the middle, and straight at 35%, 42%,
    58% and 65% of its width (touching digits are seldom of equal width)."""
    x0, x1 = part.box[0], part.box[2]
    cuts = {_cut_columns(part, 2)[1]} | {x0 + round(f * part.width) for f in CUT_FRACTIONS}
    pairs = []
    for cut in sorted(cuts):
        left, right = _pieces(part, [x0, cut, x1])
        if left is not None and right is not None:
            pairs.append((left, right))
    return pairs


def _cut(part: _Part, count: int) -> list[_Part]:
    """The part cut into `count` pieces at the columns with the least ink near the even cuts."""
    return [piece for piece in _pieces(part, _cut_columns(part, count)) if piece is not None]


def _cut_columns(part: _Part, count: int) -> list[int]:
    """Columns x0 < c1 < ... < x1 cutting the part into `count` pieces, each cut at the
    thinnest column within 30% of a piece's width of the even cut."""
    x0, _, x1, _ = part.box
    column_ink = part.mask[:, x0:x1].sum(axis=0)
    cuts = [x0]
    step = part.width / count
    for k in range(1, count):
        centre = k * step
        low, high = round(centre - 0.3 * step), round(centre + 0.3 * step) + 1
        window = column_ink[low:high]
        # the thinnest column; among equals the one nearest the even cut
        best = min(range(len(window)), key=lambda i: (window[i], abs(low + i - centre)))
        cuts.append(x0 + low + best)
    cuts.append(x1)
    return cuts


def _pieces(part: _Part, cuts: list[int]) -> list[_Part | None]:
    """The part's ink between consecutive cut columns; None for a stretch without ink."""
    pieces: list[_Part | None] = []
    for left, right in zip(cuts, cuts[1:]):
        mask = np.zeros_like(part.mask)
        mask[:, left:right] = part.mask[:, left:right]
        pieces.append(_Part(mask, _mask_box(mask)) if mask.any() else None)
    return pieces


def _mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
