"""Deskew (digitnet/nn/deskew.py) in ONNX operators: the same moments, the same row shifts,
the same blend of two neighbours per output pixel, step for step.

Each output row y reads its input row from x + shift[y]: with k = floor(shift) and
f = shift − k, out[y, x] = (1 − f)·row[x + k] + f·row[x + k + 1], zero outside the image. The
two reads are GatherElements on the rows padded with zeros (opset 11).
"""

from __future__ import annotations

import numpy as np

from digitnet.export.graph import Graph
from digitnet.nn.deskew import MIN_ROW_VARIANCE


def deskew_nodes(graph: Graph, x: str, shape: tuple[int, ...], side: int, label: str) -> str:
    """x of shape (N, *shape), square images of side `side`, sheared upright; same shape."""
    images = graph.reshape(x, (-1, side, side), f"{label}/images")  # (N, h, w)
    shifts = _row_shifts(graph, images, side, f"{label}/shifts")  # (N, h)
    whole = graph.op("Floor", [shifts], f"{label}/whole")
    frac = graph.reshape(graph.op("Sub", [shifts, whole], f"{label}/frac_rows"), (-1, side, 1),
                         f"{label}/frac")  # fmt: skip
    margin = side + 1  # any shift in [-w, w] reads inside the zero margins
    pads = graph.constant([0, 0, margin, 0, 0, margin], f"{label}/pads", np.int64)
    padded = graph.op("Pad", [images, pads], f"{label}/padded")  # (N, h, w + 2·margin)
    start = graph.op("Add", [whole, graph.constant(margin, f"{label}/margin")], f"{label}/from")
    start = graph.op("Cast", [start], f"{label}/start", to=graph.onnx.TensorProto.INT64)
    start = graph.reshape(start, (-1, side, 1), f"{label}/start_column")
    left_index = graph.op(
        "Add", [start, graph.constant(np.arange(side), f"{label}/columns", np.int64)],
        f"{label}/left_index",
    )  # fmt: skip
    right_index = graph.op(
        "Add", [left_index, graph.constant(1, f"{label}/next", np.int64)], f"{label}/right_index"
    )
    left = graph.op("GatherElements", [padded, left_index], f"{label}/left", axis=2)
    right = graph.op("GatherElements", [padded, right_index], f"{label}/right", axis=2)
    one = graph.constant(1.0, f"{label}/one")
    keep = graph.op("Mul", [graph.op("Sub", [one, frac], f"{label}/1-f"), left], f"{label}/keep")
    moved = graph.op("Mul", [frac, right], f"{label}/moved")
    out = graph.op("Add", [keep, moved], f"{label}/sheared")
    return graph.reshape(out, (-1, *shape), label)


def _row_shifts(graph: Graph, images: str, side: int, label: str) -> str:
    """deskew.row_shifts: (N, h, w) -> (N, h) shift of each row, from the ink's moments."""
    c = graph.constant
    rows = c(np.arange(side), f"{label}/rows")  # (h,), the row (and column) coordinates
    coordinates = c(np.arange(side).reshape(side, 1), f"{label}/coordinates")  # (w, 1)
    zero, one = c(0.0, f"{label}/zero"), c(1.0, f"{label}/one")
    row_mass = graph.reduce_sum(images, [2], f"{label}/row_mass", keepdims=False)  # (N, h)
    column_mass = graph.reduce_sum(images, [1], f"{label}/column_mass", keepdims=False)
    mass = graph.reduce_sum(row_mass, [1], f"{label}/mass")  # (N, 1)
    inked = graph.op("Greater", [mass, zero], f"{label}/inked")
    per_mass = graph.op(
        "Div", [one, graph.op("Where", [inked, mass, one], f"{label}/mass_or_1")],
        f"{label}/per_mass",
    )  # fmt: skip

    def mean(of: str, hint: str) -> str:
        return graph.op("Mul", [of, per_mass], f"{label}/{hint}")

    cy = mean(graph.op("MatMul", [row_mass, coordinates], f"{label}/row_moment"), "cy")
    cx = mean(graph.op("MatMul", [column_mass, coordinates], f"{label}/column_moment"), "cx")
    dy = graph.op("Sub", [rows, cy], f"{label}/dy")  # (N, h)
    spread = graph.op("Mul", [graph.op("Mul", [row_mass, dy], f"{label}/m_dy"), dy],
                      f"{label}/m_dy_dy")  # fmt: skip
    var_y = mean(graph.reduce_sum(spread, [1], f"{label}/spread"), "var_y")
    ink_columns = graph.reshape(
        graph.op("MatMul", [images, coordinates], f"{label}/ink_columns3"),
        (-1, side),
        f"{label}/ink_columns",
    )  # fmt: skip: Σ_x x·image per row, (N, h)
    off_centre = graph.op(
        "Sub", [ink_columns, graph.op("Mul", [cx, row_mass], f"{label}/cx_m")],
        f"{label}/off_centre",
    )  # fmt: skip
    products = graph.op("Mul", [off_centre, dy], f"{label}/products")
    cov_xy = mean(graph.reduce_sum(products, [1], f"{label}/covariance"), "cov_xy")
    least = c(MIN_ROW_VARIANCE, f"{label}/min_variance")
    measurable = graph.op(
        "And", [inked, graph.op("Greater", [var_y, least], f"{label}/tall")], f"{label}/measurable"
    )
    ratio = graph.op("Div", [cov_xy, graph.op("Max", [var_y, least], f"{label}/var")],
                     f"{label}/ratio")  # fmt: skip
    slant = graph.op("Where", [measurable, ratio, zero], f"{label}/slant")
    centre = c((side - 1) / 2, f"{label}/centre")
    shifts = graph.op(
        "Add",
        [graph.op("Mul", [slant, dy], f"{label}/sheared"),
         graph.op("Sub", [cx, centre], f"{label}/centring")],
        f"{label}/raw",
    )  # fmt: skip
    # NaN pixels give NaN outputs, not bad indices (deskew's nan_to_num); blank images stay put
    finite = graph.op("Where", [graph.op("IsNaN", [shifts], f"{label}/nan"), zero, shifts],
                      f"{label}/finite")  # fmt: skip
    placed = graph.op("Where", [inked, finite, zero], f"{label}/placed")
    lowest, highest = c(-float(side), f"{label}/lowest"), c(float(side), f"{label}/highest")
    return graph.op("Min", [graph.op("Max", [placed, lowest], f"{label}/above"), highest], label)
