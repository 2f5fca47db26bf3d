"""Formats shared by the figures and the CLI, without matplotlib: probabilities as text (so a
terminal and a figure say the same thing about one number), and the file types figures are
saved as (so a command can refuse a bad name before any work)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from digitnet.errors import OutputError

FILE_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".pdf": "pdf", ".svg": "svg"}


def percent(p: float, decimals: int) -> str:
    """p as a percentage rounded down, so 0.9996 reads 99.9% rather than a false 100.0%."""
    scale = 10**decimals
    return f"{math.floor(float(p) * 100 * scale + 1e-6) / scale:.{decimals}f}%"


def figure_format(path: str | os.PathLike[str]) -> str:
    """The format a figure file's suffix names ("png" when it has none), for savefig.

    Raises OutputError for a suffix other than .png, .jpg, .jpeg, .pdf or .svg.
    """
    suffix = Path(path).suffix.lower()
    if not suffix:
        return "png"
    if suffix not in FILE_FORMATS:
        raise OutputError(
            f"{path}: cannot write a {suffix} figure; name a .png, .jpg, .pdf or .svg file"
        )
    return FILE_FORMATS[suffix]
