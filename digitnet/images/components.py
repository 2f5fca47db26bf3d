"""Connected components of an ink mask: which pixels belong together, and where each part lies.

Labelled through the mask's horizontal runs (a digit's mask has a few runs per row, far fewer
than pixels): runs in neighbouring rows that touch (8-connectivity) are joined by union-find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class BoxSize:
    """width and height of a `box` (x0, y0, x1, y1), x1 and y1 exclusive."""

    box: tuple[int, int, int, int]

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Component(BoxSize):
    """One connected part of a mask: its label, pixel count and box [x0, y0, x1, y1) (x1, y1
    exclusive), and whether it reaches the image's edge."""

    label: int
    area: int
    box: tuple[int, int, int, int]
    touches_border: bool


def label_components(mask: np.ndarray) -> tuple[np.ndarray, list[Component]]:
    """The 8-connected components of a boolean mask (H, W).

    Returns labels (H, W) int32 (0 = background, k = the k-th component in raster order of
    its first pixel) and the components, one per label, in that order.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"expected a mask of shape (H, W), got shape {mask.shape}")
    height, width = mask.shape
    rows, starts, ends = _runs(mask)
    roots = _joined_runs(rows, starts, ends, height)
    _, run_labels = np.unique(roots, return_inverse=True)  # roots ascend with the first run
    run_labels = run_labels.astype(np.int32) + 1
    labels = np.zeros((height, width), np.int32)
    for row, start, end, label in zip(rows, starts, ends, run_labels):
        labels[row, start:end] = label
    return labels, _describe(rows, starts, ends, run_labels, height, width)


def run_lengths(mask: np.ndarray) -> np.ndarray:
    """(H, W) int: for each True pixel, the length of the horizontal run it lies in; 0 elsewhere."""
    mask = np.asarray(mask, dtype=bool)
    _, starts, ends = _runs(mask)
    lengths = np.zeros(mask.shape, np.int32)
    lengths[mask] = np.repeat(ends - starts, ends - starts)  # runs and pixels both row-major
    return lengths


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every horizontal run of True pixels: its row, first column and end column (exclusive),
    in raster order."""
    edges = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)  # same row-major order, so each end pairs with its start
    return rows, starts, ends


def _joined_runs(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, height: int) -> np.ndarray:
    """For each run, the index of the first run of its component (union-find over runs that
    touch across neighbouring rows, diagonals included)."""
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving keeps the trees flat
            i = parent[i]
        return i

    first_of_row = np.searchsorted(rows, np.arange(height + 1))
    for row in range(1, height):
        above = slice(first_of_row[row - 1], first_of_row[row])
        here = range(first_of_row[row], first_of_row[row + 1])
        if not len(here) or above.start == above.stop:
            continue
        # a run [s, e) touches a run above [s', e') when s' <= e and e' >= s (8-connectivity);
        # runs of one row are sorted and disjoint, so the touching ones form a contiguous range
        low = np.searchsorted(ends[above], starts[here.start : here.stop], side="left")
        high = np.searchsorted(starts[above], ends[here.start : here.stop], side="right")
        for offset, (first, last) in enumerate(zip(low, high)):
            for other in range(above.start + first, above.start + last):
                a, b = root(here.start + offset), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return np.array([root(i) for i in range(len(rows))], dtype=np.int64)


def _describe(
    rows: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    run_labels: np.ndarray,
    height: int,
    width: int,
) -> list[Component]:
    """Area, box and border contact of each label, computed from its runs."""
    count = int(run_labels.max(initial=0))
    index = run_labels - 1
    area = np.bincount(index, weights=ends - starts, minlength=count).astype(int)
    x0 = np.full(count, width)
    y0 = np.full(count, height)
    x1 = np.zeros(count, int)
    y1 = np.zeros(count, int)
    np.minimum.at(x0, index, starts)
    np.minimum.at(y0, index, rows)
    np.maximum.at(x1, index, ends)
    np.maximum.at(y1, index, rows + 1)
    touches = (x0 == 0) | (y0 == 0) | (x1 == width) | (y1 == height)
    boxes = np.stack([x0, y0, x1, y1], axis=1).tolist()
    return [Component(k + 1, int(area[k]), tuple(boxes[k]), bool(touches[k])) for k in range(count)]
