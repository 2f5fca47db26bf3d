"""The reliability diagram: how often the model is right at each level of confidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from digitnet.evaluation.calibration import ReliabilityBins, expected_calibration_error
from digitnet.evaluation.calibration import reliability_bins as bins_of
from digitnet.plots.common import RIGHT, WRONG, PathLike, save


def plot_reliability(
    before: np.ndarray, after: np.ndarray, labels: np.ndarray, path: PathLike, *, title: str = ""
) -> Path:
    """Side-by-side reliability diagrams of (n, classes) probabilities before and after
    temperature scaling: one bar per equal-width confidence bin, its height the bin's accuracy,
    the diagonal where accuracy equals confidence. Empty bins draw no bar."""
    figure = Figure(figsize=(10, 4.8), layout="constrained")
    for ax, probs, name in zip(figure.subplots(1, 2), (before, after), ("before", "after")):
        r: ReliabilityBins = bins_of(probs, labels)
        filled = r.count > 0
        width = np.diff(r.edges)
        ax.bar(r.edges[:-1][filled], r.accuracy[filled], width[filled], align="edge",
               color=RIGHT, edgecolor="white", label="accuracy")  # fmt: skip
        gap = r.confidence[filled] - r.accuracy[filled]
        ax.bar(r.edges[:-1][filled], gap, width[filled], bottom=r.accuracy[filled],
               align="edge", color=WRONG, alpha=0.35, label="gap to confidence")  # fmt: skip
        ax.plot([0, 1], [0, 1], color="black", linewidth=1, linestyle="--")
        ece = expected_calibration_error(probs, labels)
        ax.set_title(f"{name} calibration: ECE {ece:.2%}", fontsize=12)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (top probability)")
        ax.set_ylabel("accuracy")
        ax.legend(loc="upper left")
    if title:
        figure.suptitle(title, fontsize=14)
    return save(figure, path)
