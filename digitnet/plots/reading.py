"""A read number drawn on its picture: each digit's box, and above it the digit and its
confidence; the whole number in the title."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from digitnet.artifacts.formats import percent
from digitnet.plots.common import RIGHT, WRONG, PathLike, save
from digitnet.reading import Reading

MAX_INCHES = 9.0  # the longer side of the picture in the figure


def reading_figure(grey: np.ndarray, reading: Reading) -> Figure:
    """The picture grey (H, W) in [0, 1] with reading's boxes and digits; unsure digits in red."""
    height, width = np.shape(grey)
    scale = MAX_INCHES / max(height, width)
    title_inches = 0.55
    figure = Figure(figsize=(max(4.0, width * scale), height * scale + title_inches))
    top = 1 - title_inches / (height * scale + title_inches)
    ax = figure.add_axes((0, 0, 1, top))
    ax.imshow(grey, cmap="gray", vmin=0, vmax=1, interpolation="antialiased")
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_axis_off()
    line = max(1.5, 0.004 * max(height, width) * scale * 72 / 10)  # thicker on big figures
    for digit in reading.digits:
        x0, y0, x1, y1 = digit.box
        colour = WRONG if digit.unsure else RIGHT
        ax.add_patch(
            Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=line, ec=colour)
        )
        ax.text(
            (x0 + x1) / 2,
            y0 - 0.5,
            f"{digit.digit}  {percent(digit.confidence, 0)}",
            ha="center",
            va="bottom",
            fontsize=11,
            color="white",
            bbox={"boxstyle": "round,pad=0.2", "fc": colour, "ec": "none", "alpha": 0.9},
            clip_on=False,
        )
    status = " (unsure)" if reading.unsure else ""
    figure.text(
        0.5, 1 - 0.08 / (height * scale + title_inches), f"read: {reading.text}{status}",
        ha="center", va="top", fontsize=14,
    )  # fmt: skip
    return figure


def plot_reading(grey: np.ndarray, reading: Reading, path: PathLike) -> None:
    """Write reading_figure to path (PNG, JPEG, PDF or SVG by its suffix), atomically;
    OutputError when it cannot be written."""
    save(reading_figure(grey, reading), path)
