"""Shared pieces of the figures: input checks, grids of digits, notes, tick labels, saving."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from digitnet.artifacts.atomic import write_bytes_atomically
from digitnet.artifacts.formats import figure_format
from digitnet.errors import OutputError

DPI = 100
MAX_POINTS = 2000  # more points than pixels only slows drawing down
WRONG = "#d62728"
RIGHT = "#1f77b4"
DARK = "#08306b"

PathLike = str | os.PathLike[str]


def grid_figure(
    n: int, columns: int, *, width: float, gap: float, lines: int, title: str
) -> tuple[Figure, list[Axes]]:
    """A figure holding n square axes `width` inches wide, `gap` apart, with room above each
    for `lines` lines of 10-point caption and above all for the title.

    Positions are computed, not solved by a layout engine: with ~100 axes that is 3x faster.
    """
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    caption = 0.08 + 0.19 * lines  # inches
    header = 0.1 + 0.27 * (title.count("\n") + 1) if title else 0.05
    grid_width = columns * width + (columns - 1) * gap
    title_width = 0.11 * max(len(line) for line in title.split("\n"))  # ~13-point characters
    figure_width = max(4.0, title_width, grid_width + 0.3)
    figure_height = header + rows * (caption + width) + 0.15
    figure = Figure(figsize=(figure_width, figure_height))
    left = (figure_width - grid_width) / 2
    axes = []
    for i in range(n):
        row, column = divmod(i, columns)
        x = left + column * (width + gap)
        top = figure_height - header - row * (caption + width) - caption
        box = (x / figure_width, (top - width) / figure_height)
        axes.append(figure.add_axes((*box, width / figure_width, width / figure_height)))
    if title:
        figure.text(0.5, 1 - 0.08 / figure_height, title, ha="center", va="top", fontsize=13)
    return figure, axes


def digit_grid(
    digits: np.ndarray,
    captions: list[str],
    wrong: list[bool],
    columns: int,
    title: str,
    *,
    width: float,
    gap: float,
) -> Figure:
    """Digits in a grid, one caption each; wrong ones framed in red, with a red caption
    unless every one is wrong (a page of red text reads as an alarm, not information)."""
    lines = max(caption.count("\n") + 1 for caption in captions)
    red_captions = not all(wrong)
    figure, axes = grid_figure(len(digits), columns, width=width, gap=gap, lines=lines, title=title)
    for ax, digit, caption, is_wrong in zip(axes, digits, captions, wrong):
        ax.imshow(digit, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color(WRONG if is_wrong else "0.75")
            spine.set_linewidth(3 if is_wrong else 1)
        colour = WRONG if is_wrong and red_captions else "black"
        ax.set_title(caption, fontsize=10, color=colour, pad=3)
    return figure


def note_figure(text: str, title: str) -> Figure:
    """A small figure that only says `text` (nothing to draw)."""
    figure = Figure(figsize=(6, 2.5), layout="constrained")
    ax = figure.subplots()
    note(ax, text)
    if title:
        figure.suptitle(title, fontsize=13)
    return figure


def note(ax: Axes, text: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=12)


def plain_number(value: float, _position: int) -> str:
    """A log-axis tick label as a plain number, only at 1, 2, 3 and 5 times a power of 10."""
    if not value > 0 or not math.isfinite(value):  # matplotlib may ask about 0 or beyond
        return ""
    scale = 10 ** math.floor(math.log10(value) + 1e-9)
    if scale == 0:  # below the smallest float
        return ""
    mantissa = value / scale
    return f"{value:g}" if round(mantissa, 6) in (1, 2, 3, 5) else ""


def nothing(_value: float, _position: int) -> str:
    return ""


def as_digits(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) float images from (n, 28, 28), (n, 784) or (n, 1, 28, 28)."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 2 or math.prod(images.shape[1:]) != 784:
        raise ValueError(f"images must be (n, 28, 28) or (n, 784), got shape {images.shape}")
    return images.reshape(len(images), 28, 28)


def as_classes(values: np.ndarray, n: int, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.shape != (n,) or (n and not np.issubdtype(values.dtype, np.integer)):
        raise ValueError(f"{name} must be {n} integers, got {values.dtype} of shape {values.shape}")
    return values


def as_probabilities(probabilities: np.ndarray, n: int) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] != n or probabilities.shape[1] < 2:
        raise ValueError(f"probabilities must be ({n}, 10), got shape {probabilities.shape}")
    return probabilities


def as_filters(weights: np.ndarray) -> np.ndarray:
    """(count, h, w) images from Dense weights (side*side, k) or kernels (out, 1, kh, kw)."""
    if weights.ndim == 4 and weights.shape[1] == 1:
        return weights[:, 0]
    side = math.isqrt(weights.shape[0]) if weights.ndim == 2 else 0
    if weights.ndim == 2 and side * side == weights.shape[0]:
        return weights.T.reshape(-1, side, side)
    raise ValueError(f"weights must be (784, k) or (out, 1, kh, kw), got shape {weights.shape}")


def save(figure: Figure, path: PathLike) -> Path:
    """Render `figure` in memory in the format `path`'s suffix names (PNG, JPEG, PDF, SVG),
    then replace `path` atomically. OutputError for another suffix or a failed write."""
    file_format = figure_format(path)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=file_format, dpi=DPI)
    try:
        return write_bytes_atomically(path, buffer.getvalue())
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from error
