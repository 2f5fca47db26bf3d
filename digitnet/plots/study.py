"""A sweep's figures: the optimisation history and the parameters' importances."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from digitnet.plots.common import DARK, RIGHT, WRONG, PathLike, note, save


def plot_study_history(
    trials: Sequence[tuple[int, str, float]], path: PathLike, *, title: str = ""
) -> Path:
    """Each finished trial's validation accuracy by trial number, pruned ones marked, and the
    best so far as a step line.

    trials: (number, state, accuracy 0..1) with state "COMPLETE" or "PRUNED" (a pruned
    trial's accuracy is its last reported one, NaN if none). Raises OutputError if the file
    cannot be written.
    """
    figure = Figure(figsize=(8, 4.8), layout="constrained")
    ax = figure.subplots()
    ax.set_title(title or "optimisation history", fontsize=13)
    ax.set_xlabel("trial", fontsize=11)
    ax.set_ylabel("validation accuracy", fontsize=11)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=1))
    complete = [(n, 100 * v) for n, state, v in trials if state == "COMPLETE"]
    pruned = [(n, 100 * v) for n, state, v in trials if state == "PRUNED" and np.isfinite(v)]
    if not complete and not pruned:
        note(ax, "no finished trial yet")
        return save(figure, path)
    if complete:
        numbers, values = (np.array(column) for column in zip(*complete))
        ax.plot(numbers, values, "o", color=RIGHT, label="complete trial")
        best = np.maximum.accumulate(values)
        ax.step(numbers, best, where="post", color=DARK, lw=2, label="best so far")
        top = int(np.argmax(values))
        ax.annotate(f" {values[top]:.2f}%", (numbers[top], values[top]), va="bottom", color=DARK)
    if pruned:
        numbers, values = zip(*pruned)
        ax.plot(numbers, values, "x", color=WRONG, ms=8, mew=2, label="pruned (last epoch)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)  # below: never on a point
    return save(figure, path)


def plot_param_importances(
    importances: Mapping[str, float], path: PathLike, *, title: str = ""
) -> Path:
    """Horizontal bars, most important at the top: each searched setting's share (0..1) of
    the variation in validation accuracy. Raises OutputError if the file cannot be written."""
    ranked = sorted(importances.items(), key=lambda item: item[1])
    figure = Figure(figsize=(7, 1.2 + 0.45 * max(1, len(ranked))), layout="constrained")
    ax = figure.subplots()
    ax.set_title(title or "parameter importances", fontsize=13)
    if not ranked:
        note(ax, "too few complete trials to weigh the settings")
        return save(figure, path)
    names, shares = zip(*ranked)
    bars = ax.barh(names, [100 * share for share in shares], color=RIGHT)
    ax.bar_label(bars, labels=[f"{100 * share:.1f}%" for share in shares], padding=3)
    ax.set_xlim(0, 115)
    ax.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.set_xlabel(
        "importance (PED-ANOVA: how much the best trials' values differ from all trials')",
        fontsize=11,
    )
    return save(figure, path)
