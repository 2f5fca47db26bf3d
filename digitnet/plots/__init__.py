"""Every figure digitnet draws, rendered off-screen and written atomically (PNG, JPEG, PDF, SVG).

Figures are built with `matplotlib.figure.Figure` and `FigureCanvasAgg` directly, never `pyplot`,
so no global state is touched: plotting works headless and from several threads at once.
"""

from digitnet.plots.curves import plot_history
from digitnet.plots.digits import plot_confident_mistakes, plot_digit, plot_predictions
from digitnet.plots.matrices import plot_confusion, plot_first_layer

__all__ = [
    "plot_confident_mistakes",
    "plot_confusion",
    "plot_digit",
    "plot_first_layer",
    "plot_history",
    "plot_predictions",
]
