"""Figures of digits: a grid of predictions, the most confident mistakes, one digit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from digitnet.artifacts.formats import percent
from digitnet.plots.common import (
    RIGHT,
    WRONG,
    PathLike,
    as_classes,
    as_digits,
    as_probabilities,
    digit_grid,
    note_figure,
    save,
)


def plot_predictions(
    images: np.ndarray,
    labels: np.ndarray | None,
    predicted: np.ndarray,
    probabilities: np.ndarray,
    path: PathLike,
    *,
    title: str = "",
    columns: int = 8,
) -> Path:
    """A grid of digits, each titled with the prediction, its probability and the truth.

    images: (n, 28, 28) or (n, 784) floats 0..1; labels: (n,) or None when the truth is
    unknown; predicted: (n,); probabilities: (n, 10). Wrong predictions get a red title and frame.
    """
    digits = as_digits(images)
    n = len(digits)
    predicted = as_classes(predicted, n, "predicted")
    labels = None if labels is None else as_classes(labels, n, "labels")
    probabilities = as_probabilities(probabilities, n)
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    if n == 0:
        return save(note_figure("no digits to show", title), path)
    captions, wrong = [], []
    for i in range(n):
        caption = f"pred {predicted[i]} ({percent(probabilities[i, predicted[i]], 0)})"
        if labels is not None:
            caption += f"\ntrue {labels[i]}"
        captions.append(caption)
        wrong.append(labels is not None and labels[i] != predicted[i])
    figure = digit_grid(digits, captions, wrong, columns, title, width=1.1, gap=0.2)
    return save(figure, path)


def plot_confident_mistakes(
    images: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    path: PathLike,
    *,
    count: int = 16,
    title: str = "",
) -> Path:
    """The `count` wrong predictions made with the highest probability, most confident first.

    images: (n, 28, 28) or (n, 784); labels: (n,); probabilities: (n, 10). When nothing is
    wrong the figure says so.
    """
    digits = as_digits(images)
    labels = as_classes(labels, len(digits), "labels")
    probabilities = as_probabilities(probabilities, len(digits))
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    predicted = probabilities.argmax(axis=1)
    mistakes = np.flatnonzero(predicted != labels)
    if len(mistakes) == 0:
        note = f"no mistakes: all {len(digits):,} predictions are correct"
        return save(note_figure(note, title or "most confident mistakes"), path)
    confidence = probabilities[mistakes, predicted[mistakes]]
    chosen = mistakes[np.argsort(-confidence, kind="stable")[:count]]
    captions = [
        f"true {labels[i]}, said {predicted[i]} ({percent(probabilities[i, predicted[i]], 1)})"
        for i in chosen
    ]
    columns = min(8, math.ceil(math.sqrt(len(chosen))))
    heading = title or f"most confident mistakes ({len(chosen)} of {len(mistakes):,} wrong)"
    wrong = [True] * len(chosen)
    figure = digit_grid(digits[chosen], captions, wrong, columns, heading, width=1.4, gap=0.6)
    return save(figure, path)


def plot_digit(
    image: np.ndarray,
    probabilities: np.ndarray,
    path: PathLike,
    *,
    predicted: int,
    label: int | None = None,
    title: str = "",
) -> Path:
    """One digit beside a bar chart of its ten probabilities (predicted bar filled in colour,
    the true label's bar outlined in black when known). image: (28, 28) or (784,)."""
    digit = as_digits(np.asarray(image)[np.newaxis])[0]
    probs = as_probabilities(np.asarray(probabilities)[np.newaxis], 1)[0]
    n_classes = len(probs)
    if not 0 <= predicted < n_classes or (label is not None and not 0 <= label < n_classes):
        raise ValueError(f"predicted={predicted} and label={label} must lie in 0..{n_classes - 1}")
    is_wrong = label is not None and label != predicted
    figure = Figure(figsize=(9, 4), layout="constrained")
    picture, bars_ax = figure.subplots(1, 2, width_ratios=[1, 1.6])
    picture.imshow(digit, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    picture.set_axis_off()
    colours = ["#c7c7c7"] * n_classes
    colours[predicted] = WRONG if is_wrong else RIGHT
    bars = bars_ax.bar(np.arange(n_classes), probs, color=colours)
    legend = [Patch(color=colours[predicted], label=f"predicted {predicted}")]
    if label is not None:
        bars[label].set_edgecolor("black")
        bars[label].set_linewidth(2.5)
        legend.append(Patch(facecolor="none", edgecolor="black", lw=2.5, label=f"true {label}"))
    # in the half away from the predicted bar, the tallest: no other bar can pass 50%
    bars_ax.legend(handles=legend, loc="upper right" if predicted < n_classes / 2 else "upper left")
    share = percent(probs[predicted], 1)
    bars_ax.text(predicted, probs[predicted] + 0.02, share, ha="center", va="bottom", fontsize=11)
    bars_ax.set_xticks(np.arange(n_classes), labels=[str(digit) for digit in range(n_classes)])
    if label is not None:  # a near-zero bar's outline is invisible, so box its digit as well
        bars_ax.get_xticklabels()[label].set(
            fontweight="bold", bbox={"facecolor": "none", "edgecolor": "black", "linewidth": 1.5}
        )
    bars_ax.set_ylim(0, 1.12)
    bars_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    bars_ax.set_xlabel("digit", fontsize=12)
    bars_ax.set_ylabel("probability", fontsize=12)
    bars_ax.tick_params(labelsize=11)
    caption = f"predicted {predicted}" + ("" if label is None else f", true {label}")
    colour = WRONG if is_wrong else "black"
    figure.suptitle(f"{title}\n{caption}" if title else caption, fontsize=14, color=colour)
    return save(figure, path)
