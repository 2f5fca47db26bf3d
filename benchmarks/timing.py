"""The stopwatch every benchmark shares."""

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
