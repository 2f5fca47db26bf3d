"""A sweep's figures: what the optimisation history and the importances draw, read back from
the matplotlib Figure on its way to the file."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from digitnet.plots import study as study_figures
from digitnet.plots.study import plot_param_importances, plot_study_history


@pytest.fixture
def drawn(monkeypatch) -> list[Figure]:
    figures: list[Figure] = []

    def capture(figure, path, original=study_figures.save):
        figures.append(figure)
        return original(figure, path)

    monkeypatch.setattr(study_figures, "save", capture)
    return figures


def lines_of(ax) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        line.get_label(): (np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float))
        for line in ax.get_lines()
    }


def test_the_history_shows_each_trial_the_pruned_ones_and_the_best_so_far(tmp_path, drawn):
    trials = [(0, "COMPLETE", 0.80), (1, "PRUNED", 0.50), (2, "COMPLETE", 0.90),
              (3, "COMPLETE", 0.85), (4, "PRUNED", math.nan)]  # fmt: skip
    path = plot_study_history(trials, tmp_path / "h.png", title="study s")
    with Image.open(path) as image:
        assert image.format == "PNG" and np.asarray(image.convert("L")).std() > 10
    (ax,) = drawn[0].axes
    lines = lines_of(ax)
    assert lines["complete trial"][0].tolist() == [0, 2, 3]
    assert np.allclose(lines["complete trial"][1], [80, 90, 85])
    assert np.allclose(lines["best so far"][1], [80, 90, 90])
    assert lines["pruned (last epoch)"][0].tolist() == [1]  # no value, no point
    assert ax.get_title() == "study s"
    assert [text.get_text() for text in ax.texts] == [" 90.00%"]


def test_a_history_of_no_finished_trial_says_so(tmp_path, drawn):
    plot_study_history([], tmp_path / "h.png")
    assert [t.get_text() for t in drawn[0].axes[0].texts] == ["no finished trial yet"]


def test_the_importances_are_bars_most_important_at_the_top(tmp_path, drawn):
    plot_param_importances(
        {"learning_rate": 0.7, "hidden": 0.1, "dropout": 0.2}, tmp_path / "i.png"
    )
    (ax,) = drawn[0].axes
    widths = [patch.get_width() for patch in ax.patches]
    names = [label.get_text() for label in ax.get_yticklabels()]
    assert names == ["hidden", "dropout", "learning_rate"]  # barh draws bottom-up
    assert np.allclose(widths, [10, 20, 70])
    assert "70.0%" in [text.get_text() for text in ax.texts]


def test_no_importances_say_why(tmp_path, drawn):
    plot_param_importances({}, tmp_path / "i.png")
    assert "too few complete trials" in drawn[0].axes[0].texts[0].get_text()
