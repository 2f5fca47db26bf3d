"""Matrices as pictures: the confusion matrix heat map and the first layer's weights."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from digitnet.plots.common import (
    PathLike,
    as_filters,
    grid_figure,
    save,
)


def plot_confusion(confusion: np.ndarray, path: PathLike, *, title: str = "") -> Path:
    """A heat map of a (10, 10) confusion matrix (rows = true digit, columns = predicted).

    Colours are log-scaled counts so that a handful of errors is visible beside thousands of
    correct answers; every non-zero count is written in its cell.
    """
    counts = np.asarray(confusion)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"confusion must be a square matrix, got shape {counts.shape}")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("confusion counts must be finite and >= 0")
    n_classes, total = counts.shape[0], counts.sum()
    accuracy = f"accuracy {np.trace(counts) / total:.2%} on {total:,.0f} digits" if total else ""
    norm = LogNorm(vmin=1, vmax=max(2.0, float(counts.max())))
    figure = Figure(figsize=(7.6, 6.4), layout="constrained")
    ax = figure.subplots()
    shown = np.ma.masked_less(counts.astype(np.float64), 1)  # zeros stay white
    image = ax.imshow(shown, cmap="Blues", norm=norm)
    for row, column in zip(*np.nonzero(counts)):
        value = counts[row, column]
        colour = "white" if norm(value) > 0.55 else "black"
        text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2g}"
        ax.text(column, row, text, ha="center", va="center", color=colour, fontsize=9)
    ticks = np.arange(n_classes)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.tick_params(labelsize=11)
    ax.set_xlabel("predicted digit", fontsize=12)
    ax.set_ylabel("true digit", fontsize=12)
    ax.set_title(accuracy or "no samples", fontsize=12)
    figure.colorbar(image, ax=ax, shrink=0.85).set_label("count (log scale)", fontsize=11)
    if title:
        figure.suptitle(title, fontsize=14)
    return save(figure, path)


def plot_first_layer(
    weights: np.ndarray, path: PathLike, *, count: int = 64, title: str = ""
) -> Path:
    """The first layer's weights as images: what each hidden unit or kernel looks for.

    weights: (784, k) of a Dense layer (each column one unit, shown 28x28) or (out, 1, kh, kw)
    convolution kernels. The first min(k, count) are shown in blue (< 0), white (0), red (> 0),
    each scaled to its own largest |w|.
    """
    filters = as_filters(np.asarray(weights, dtype=np.float64))
    total, n = len(filters), min(len(filters), count)
    if n < 1:
        raise ValueError(f"nothing to show: {total} filters, count={count}")
    heading = title or f"first-layer weights ({n} of {total})"
    heading += "\nblue negative, white zero, red positive; each on its own scale"
    figure, axes = grid_figure(
        n, math.ceil(math.sqrt(n)), width=1.0, gap=0.1, lines=0, title=heading
    )
    for ax, image in zip(axes, filters):
        limit = float(np.abs(image).max()) or 1.0
        ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_axis_off()
    return save(figure, path)
