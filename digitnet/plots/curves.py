"""The training history: cost per step, and cost and accuracy per epoch."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from digitnet.plots.common import (
    DARK,
    MAX_POINTS,
    RIGHT,
    PathLike,
    note,
    nothing,
    plain_number,
    save,
)


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
    return save(figure, path)


def _draw_step_costs(ax: Axes, step_losses: np.ndarray, epochs: list[dict]) -> None:
    """Raw per-step costs (thin and light; a percentile band when huge) and a moving average."""
    steps = np.arange(1, len(step_losses) + 1)
    finite = np.isfinite(step_losses)
    steps, losses = steps[finite], step_losses[finite]
    ax.set_title("cost per step", fontsize=12)
    ax.set_xlabel("step", fontsize=11)
    ax.set_ylabel("cost", fontsize=11)
    if len(losses) == 0:
        note(ax, "no steps recorded")
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
        ax.yaxis.set_major_formatter(FuncFormatter(plain_number))  # 0.2 rather than 2x10^-1
        decades = math.log10(losses.max() / losses.min())
        ax.yaxis.set_minor_formatter(FuncFormatter(plain_number if decades < 2 else nothing))
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
        note(ax, "no complete epoch yet")
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
