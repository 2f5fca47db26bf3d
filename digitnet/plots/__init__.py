"""Every figure digitnet draws, rendered off-screen and written atomically (PNG, JPEG, PDF, SVG).

Figures are built with `matplotlib.figure.Figure` and `FigureCanvasAgg` directly, never `pyplot`,
so no global state is touched: plotting works headless and from several threads at once.

matplotlib is imported when a figure function is first looked up, not with this package, so
`digitnet.plots.formats` (shared with the CLI's text output) stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digitnet.plots.curves import plot_history
    from digitnet.plots.digits import plot_confident_mistakes, plot_digit, plot_predictions
    from digitnet.plots.matrices import plot_confusion, plot_first_layer

_MODULE_OF = {
    "plot_confident_mistakes": "digits",
    "plot_confusion": "matrices",
    "plot_digit": "digits",
    "plot_first_layer": "matrices",
    "plot_history": "curves",
    "plot_predictions": "digits",
}

__all__ = [
    "plot_confident_mistakes",
    "plot_confusion",
    "plot_digit",
    "plot_first_layer",
    "plot_history",
    "plot_predictions",
]


def __getattr__(name: str) -> object:
    """A figure function, importing its module (and matplotlib) on first use."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"digitnet.plots.{_MODULE_OF[name]}"), name)
