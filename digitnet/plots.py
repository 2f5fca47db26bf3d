"""Every figure digitnet draws, rendered off-screen and written atomically as PNG files.

Figures are built with `matplotlib.figure.Figure` and `FigureCanvasAgg` directly, never `pyplot`,
so no global state is touched: plotting works headless and from several threads at once.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from digitnet.atomic import write_bytes_atomically
from digitnet.errors import OutputError

DPI = 100
MAX_POINTS = 2000  # more points than pixels only slows drawing down
WRONG = "#d62728"
RIGHT = "#1f77b4"
DARK = "#08306b"

PathLike = str | os.PathLike[str]


def plot_history(history: Mapping, path: PathLike, *, title: str = "") -> Path:
    """Training curves: the cost per step (left) and per-epoch costs and accuracies (right).

    history: {"step_losses": [float per step], "epochs": [{"epoch", "step", "train_loss",
    "val_loss"?, "train_accuracy"?, "val_accuracy"?, ...}]}, accuracies as fractions 0..1.
    Raises OutputError if the file cannot be written.
    """
    step_losses = np.asarray(history.get("step_losses", []), dtype=np.float64)
    epochs = list(history.get("epochs", []))
    if step_losses.ndim != 1:
        raise ValueError(f"step_losses must be a flat list, got shape {step_losses.shape}")
    figure = Figure(figsize=(11, 4.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    _draw_step_costs(left, step_losses, epochs)
    _draw_epoch_curves(right, epochs)
    if title:
        figure.suptitle(title, fontsize=14)
    return _save(figure, path)


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
    digits = _as_digits(images)
    n = len(digits)
    predicted = _as_classes(predicted, n, "predicted")
    labels = None if labels is None else _as_classes(labels, n, "labels")
    probabilities = _as_probabilities(probabilities, n)
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    if n == 0:
        return _save(_note_figure("no digits to show", title), path)
    captions, wrong = [], []
    for i in range(n):
        caption = f"pred {predicted[i]} ({_percent(probabilities[i, predicted[i]], 0)})"
        if labels is not None:
            caption += f"\ntrue {labels[i]}"
        captions.append(caption)
        wrong.append(labels is not None and labels[i] != predicted[i])
    figure = _digit_grid(digits, captions, wrong, columns, title, width=1.1, gap=0.2)
    return _save(figure, path)


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
    digits = _as_digits(images)
    labels = _as_classes(labels, len(digits), "labels")
    probabilities = _as_probabilities(probabilities, len(digits))
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    predicted = probabilities.argmax(axis=1)
    mistakes = np.flatnonzero(predicted != labels)
    if len(mistakes) == 0:
        note = f"no mistakes: all {len(digits):,} predictions are correct"
        return _save(_note_figure(note, title or "most confident mistakes"), path)
    confidence = probabilities[mistakes, predicted[mistakes]]
    chosen = mistakes[np.argsort(-confidence, kind="stable")[:count]]
    captions = [
        f"true {labels[i]}, said {predicted[i]} ({_percent(probabilities[i, predicted[i]], 1)})"
        for i in chosen
    ]
    columns = min(8, math.ceil(math.sqrt(len(chosen))))
    heading = title or f"most confident mistakes ({len(chosen)} of {len(mistakes):,} wrong)"
    wrong = [True] * len(chosen)
    figure = _digit_grid(digits[chosen], captions, wrong, columns, heading, width=1.4, gap=0.6)
    return _save(figure, path)


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
    return _save(figure, path)


def plot_first_layer(
    weights: np.ndarray, path: PathLike, *, count: int = 64, title: str = ""
) -> Path:
    """The first layer's weights as images: what each hidden unit or kernel looks for.

    weights: (784, k) of a Dense layer (each column one unit, shown 28x28) or (out, 1, kh, kw)
    convolution kernels. The first min(k, count) are shown in blue (< 0), white (0), red (> 0),
    each scaled to its own largest |w|.
    """
    filters = _as_filters(np.asarray(weights, dtype=np.float64))
    total, n = len(filters), min(len(filters), count)
    if n < 1:
        raise ValueError(f"nothing to show: {total} filters, count={count}")
    heading = title or f"first-layer weights ({n} of {total})"
    heading += "\nblue negative, white zero, red positive; each on its own scale"
    figure, axes = _grid_figure(
        n, math.ceil(math.sqrt(n)), width=1.0, gap=0.1, lines=0, title=heading
    )
    for ax, image in zip(axes, filters):
        limit = float(np.abs(image).max()) or 1.0
        ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_axis_off()
    return _save(figure, path)


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
    digit = _as_digits(np.asarray(image)[np.newaxis])[0]
    probs = _as_probabilities(np.asarray(probabilities)[np.newaxis], 1)[0]
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
    bars_ax.legend(handles=legend, loc="upper left")
    share = _percent(probs[predicted], 1)
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
    return _save(figure, path)


def _draw_step_costs(ax: Axes, step_losses: np.ndarray, epochs: list[dict]) -> None:
    """Raw per-step costs (thin and light; a percentile band when huge) and a moving average."""
    steps = np.arange(1, len(step_losses) + 1)
    finite = np.isfinite(step_losses)
    steps, losses = steps[finite], step_losses[finite]
    ax.set_title("cost per step", fontsize=12)
    ax.set_xlabel("step", fontsize=11)
    ax.set_ylabel("cost", fontsize=11)
    if len(losses) == 0:
        _note(ax, "no steps recorded")
        return
    if len(losses) > MAX_POINTS:
        # a 10-90% band per bucket of steps: a min-max band would show only the outliers
        bucket = math.ceil(len(losses) / (MAX_POINTS // 2))
        padded = np.full(math.ceil(len(losses) / bucket) * bucket, np.nan)
        padded[: len(losses)] = losses
        low, high = np.nanpercentile(padded.reshape(-1, bucket), [10, 90], axis=1)
        band = f"per step (10-90% of each {bucket})"
        ax.fill_between(steps[::bucket], low, high, color=RIGHT, alpha=0.25, lw=0, label=band)
    else:
        ax.plot(steps, losses, color=RIGHT, alpha=0.35, lw=0.7, label="per step")
    window = max(1, min(len(losses) // 40, 2000))
    if window > 1:
        sums = np.cumsum(np.concatenate([[0.0], losses]))
        average = (sums[window:] - sums[:-window]) / window
        stride = max(1, len(average) // MAX_POINTS)
        label = f"average of {window} steps"
        ax.plot(steps[window - 1 :: stride], average[::stride], color=DARK, lw=2, label=label)
    if losses.min() > 0 and losses.max() / losses.min() > 10:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(_plain_number))  # 0.2 rather than 2x10^-1
        decades = math.log10(losses.max() / losses.min())
        ax.yaxis.set_minor_formatter(FuncFormatter(_plain_number if decades < 2 else _nothing))
    if 1 < len(epochs) <= 50:
        for record in epochs[:-1]:
            if record.get("step") is not None:
                ax.axvline(record["step"], color="0.6", lw=0.8, ls=":", zorder=0)
    ax.set_xlim(0, steps[-1])
    ax.legend(loc="upper right")


def _draw_epoch_curves(ax: Axes, epochs: list[dict]) -> None:
    """Per-epoch costs on the left axis and accuracies (as %) on a twin right axis."""
    ax.set_title("per epoch", fontsize=12)
    ax.set_xlabel("epoch", fontsize=11)
    if not epochs:
        _note(ax, "no complete epoch yet")
        return
    x = [record.get("epoch", i + 1) for i, record in enumerate(epochs)]
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("cost", fontsize=11)
    accuracy_ax = ax.twinx()
    accuracy_ax.set_ylabel("accuracy", fontsize=11)
    accuracy_ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=1))
    curves = [
        (ax, "train_loss", "train cost", RIGHT, "-"),
        (ax, "val_loss", "validation cost", "#ff7f0e", "-"),
        (accuracy_ax, "train_accuracy", "train accuracy", RIGHT, "--"),
        (accuracy_ax, "val_accuracy", "validation accuracy", "#ff7f0e", "--"),
    ]
    handles = []
    for axes, key, name, colour, style in curves:
        if any(key in record for record in epochs):
            scale = 100.0 if axes is accuracy_ax else 1.0
            values = [scale * float(record.get(key, math.nan)) for record in epochs]
            marker = "o" if axes is ax else "s"
            handles += axes.plot(x, values, style, marker=marker, color=colour, label=name)
            if len(epochs) == 1:  # a lone point says little without its value
                axes.text(x[0], values[0], f"  {values[0]:.3g}", va="center", color=colour)
    if len(epochs) == 1:
        ax.set_xlim(x[0] - 1, x[0] + 1)
        ax.set_xticks(x)
    if not any("accuracy" in handle.get_label() for handle in handles):
        accuracy_ax.set_axis_off()
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)


def _digit_grid(
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
    figure, axes = _grid_figure(
        len(digits), columns, width=width, gap=gap, lines=lines, title=title
    )
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


def _grid_figure(
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


def _note_figure(text: str, title: str) -> Figure:
    """A small figure that only says `text` (nothing to draw)."""
    figure = Figure(figsize=(6, 2.5), layout="constrained")
    ax = figure.subplots()
    _note(ax, text)
    if title:
        figure.suptitle(title, fontsize=13)
    return figure


def _note(ax: Axes, text: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=12)


def _plain_number(value: float, _position: int) -> str:
    """A log-axis tick label as a plain number, only at 1, 2, 3 and 5 times a power of 10."""
    mantissa = value / 10 ** math.floor(math.log10(value) + 1e-9)
    return f"{value:g}" if round(mantissa, 6) in (1, 2, 3, 5) else ""


def _nothing(_value: float, _position: int) -> str:
    return ""


def _percent(p: float, decimals: int) -> str:
    """p as a percentage rounded down, so 0.9996 reads 99.9% rather than a false 100.0%."""
    scale = 10**decimals
    return f"{math.floor(float(p) * 100 * scale + 1e-6) / scale:.{decimals}f}%"


def _as_digits(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) float images from (n, 28, 28), (n, 784) or (n, 1, 28, 28)."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 2 or math.prod(images.shape[1:]) != 784:
        raise ValueError(f"images must be (n, 28, 28) or (n, 784), got shape {images.shape}")
    return images.reshape(len(images), 28, 28)


def _as_classes(values: np.ndarray, n: int, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.shape != (n,) or (n and not np.issubdtype(values.dtype, np.integer)):
        raise ValueError(f"{name} must be {n} integers, got {values.dtype} of shape {values.shape}")
    return values


def _as_probabilities(probabilities: np.ndarray, n: int) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] != n or probabilities.shape[1] < 2:
        raise ValueError(f"probabilities must be ({n}, 10), got shape {probabilities.shape}")
    return probabilities


def _as_filters(weights: np.ndarray) -> np.ndarray:
    """(count, h, w) images from Dense weights (side*side, k) or kernels (out, 1, kh, kw)."""
    if weights.ndim == 4 and weights.shape[1] == 1:
        return weights[:, 0]
    side = math.isqrt(weights.shape[0]) if weights.ndim == 2 else 0
    if weights.ndim == 2 and side * side == weights.shape[0]:
        return weights.T.reshape(-1, side, side)
    raise ValueError(f"weights must be (784, k) or (out, 1, kh, kw), got shape {weights.shape}")


def _save(figure: Figure, path: PathLike) -> Path:
    """Render `figure` to PNG in memory, then replace `path` atomically."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    try:
        return write_bytes_atomically(path, buffer.getvalue())
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from error
