"""Printed paper patterns told apart from the strokes: ruled and squared lines, printed dots.

A ruled line is far thinner than a pen stroke and runs across the whole picture, from one
edge to the other; where it crosses a stroke, the stroke's pixels stay (they are thick in the
crossing direction). Dots are tiny parts, far smaller than the digit's strokes.
"""

from __future__ import annotations

import numpy as np

from digitnet.images.components import label_components, run_lengths
from digitnet.images.pixels import box_mean

THIN = 0.2  # of the stroke width: a line is at most this thick
SPARSE = 0.15  # ink's share around a pixel, in a stroke-wide square, at most, on a line
MIN_STROKE = 3  # pixels: strokes thinner than this cannot be told from printed lines
EDGE_BAND = 0.1  # of the side: a lone line this close to the edge may be a stroke's fringe
LINE_SHARE = 0.3  # of a row: a printed line covers at least this much of it, edge to edge
FULL_LINE = 0.9  # of a row or column: a printed line with no digit covers this much of it
MIN_FULL_LINES = 2  # lines like that, at least, before a picture is called lines only
THIN_LINE = 0.02  # of the picture's side: a printed line is at most this thick (3 pixels least)
SPECK_AREA = 0.02  # of the largest part's area: printed dots, grain, dust


def remove_paper_pattern(mask: np.ndarray) -> np.ndarray:
    """An ink mask (H, W) bool without printed lines and dots; the same array when it has none."""
    kept = _without_lines(mask)
    kept = without_specks(kept)
    return mask if np.array_equal(kept, mask) else kept


def stroke_width(mask: np.ndarray) -> float:
    """A typical stroke's width in pixels: the 90th percentile of every ink pixel's shorter
    run, along its row or its column (a pattern's thin pixels may outnumber the strokes' in
    the lower part); 0 for an empty mask."""
    return _stroke_width(run_lengths(mask), run_lengths(mask.T).T, mask)


def _stroke_width(across: np.ndarray, along: np.ndarray, mask: np.ndarray) -> float:
    return float(np.percentile(np.minimum(across, along)[mask], 90)) if mask.any() else 0.0


def _without_lines(mask: np.ndarray) -> np.ndarray:
    """The mask without thin lines running along rows or columns from the picture's edge."""
    horizontal = run_lengths(mask)  # each pixel's run along its row
    vertical = run_lengths(mask.T).T  # and along its column
    width = _stroke_width(horizontal, vertical, mask)
    if width < MIN_STROKE:
        return mask
    thin_limit = max(1.0, THIN * width)
    # where lines cross (squared paper) both runs are long, but little ink lies around
    sparse = box_mean(mask, 2 * round(width / 2) + 1) <= SPARSE
    rows = _line_rows(mask & ((vertical <= thin_limit) | sparse))
    cols = _line_rows((mask & ((horizontal <= thin_limit) | sparse)).T)
    across_rows = rows[:, None] & ((vertical <= thin_limit) | sparse)
    across_cols = cols[None, :] & ((horizontal <= thin_limit) | sparse)
    return mask & ~(across_rows | across_cols)


def _line_rows(thin: np.ndarray) -> np.ndarray:
    """(H,) bool: the rows (with their neighbours, for a slight tilt) that printed lines run
    along: thin pixels reach both sides of the picture and cover LINE_SHARE of the row. A
    lone one hugging the edge is a tight crop's stroke fringe (paper has lines at intervals,
    or a margin line well inside)."""
    band = max(3, round(0.01 * thin.shape[1]))  # a 1-pixel line's end is lost to speck removal
    left, right = thin[:, :band].any(axis=1), thin[:, -band:].any(axis=1)
    crosses = _with_neighbours(left) & _with_neighbours(right) & (thin.mean(axis=1) >= LINE_SHARE)
    starts = np.flatnonzero(np.diff(crosses.astype(np.int8), prepend=0) == 1)
    edge = max(1, round(EDGE_BAND * len(crosses)))
    lone_at_edge = len(starts) == 1 and not crosses[edge:-edge].any()
    if lone_at_edge:  # one thin mark along the edge: a tight crop's fringe, not a line
        return np.zeros_like(crosses)
    return _with_neighbours(crosses)


def _with_neighbours(rows: np.ndarray) -> np.ndarray:
    """(H,) bool rows, each True row's neighbours above and below set too."""
    grown = rows.copy()
    grown[1:] |= rows[:-1]
    grown[:-1] |= rows[1:]
    return grown


def without_specks(mask: np.ndarray) -> np.ndarray:
    """The mask without parts smaller than SPECK_AREA of its largest part."""
    labels, components = label_components(mask)
    if len(components) < 2:
        return mask
    areas = np.array([c.area for c in components])
    keep = areas >= SPECK_AREA * areas.max()
    return mask if keep.all() else np.concatenate([[False], keep])[labels]


def only_printed_lines(mask: np.ndarray) -> bool:
    """Whether the ink is nothing but two or more thin lines crossing the whole picture (ruled
    or squared paper with no digit on it): every ink pixel lies on, or next to, a thin band of
    rows or columns that ink covers almost end to end."""
    rows, row_lines = _thin_full_lines(mask)
    cols, col_lines = _thin_full_lines(mask.T)
    if row_lines + col_lines < MIN_FULL_LINES or (rows is None or cols is None):
        return False
    return not (mask & ~_with_neighbours(rows)[:, None] & ~_with_neighbours(cols)[None, :]).any()


def _thin_full_lines(mask: np.ndarray) -> tuple[np.ndarray | None, int]:
    """(rows, count): the rows (H,) bool that ink covers almost end to end and how many bands
    they form; rows None when a band is thicker than a printed line (a stroke, a block)."""
    full = mask.mean(axis=1) >= FULL_LINE
    edges = np.diff(np.concatenate([[0], full.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    thin_limit = max(3, THIN_LINE * mask.shape[0])
    if np.any(ends - starts > thin_limit):
        return None, 0
    return full, len(starts)
