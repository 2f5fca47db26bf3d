"""Shared helpers for the nn tests: central-difference gradients and relative error."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d x by central differences, nudging x in place one entry at a time."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        orig = x[i]
        x[i] = orig + eps
        up = f()
        x[i] = orig - eps
        down = f()
        x[i] = orig
        g[i] = (up - down) / (2 * eps)
    return g


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max(|a| + |b|), 0 when both are zero."""
    scale = np.max(np.abs(a) + np.abs(b))
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b)) / scale)
