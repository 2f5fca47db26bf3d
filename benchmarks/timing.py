"""The stopwatch every benchmark shares, and the matrix-product rate it times."""

from __future__ import annotations

import time
from collections.abc import Callable


def timings(run: Callable[[], object], repeats: int) -> list[float]:
    """Wall-clock seconds of `repeats` calls of run()."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds


def square_product_gflops(a, b, repeats: int) -> list[float]:
    """GFLOP/s of `repeats` products a @ b of two n x n matrices (2n³ operations each)."""
    return [2 * len(a) ** 3 / 1e9 / s for s in timings(lambda: a @ b, repeats)]
