"""Seeded shuffling and minibatch iteration, whole batches at a time (no per-sample loops)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def epoch_order(n_samples: int, rng: np.random.Generator, *, shuffle: bool = True) -> np.ndarray:
    """The order in which one epoch visits the samples: a permutation drawn from rng, or 0..n-1."""
    return rng.permutation(n_samples) if shuffle else np.arange(n_samples)


def batch_slices(n_samples: int, batch_size: int, *, start: int = 0) -> Iterator[slice]:
    """Consecutive slices of at most batch_size positions, from position `start` (for resuming)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    for begin in range(start, n_samples, batch_size):
        yield slice(begin, min(begin + batch_size, n_samples))


def minibatches(
    x: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator, *, shuffle: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of (x_batch, y_batch) pairs in a seeded random order; the last may be smaller."""
    order = epoch_order(len(x), rng, shuffle=shuffle)
    for positions in batch_slices(len(x), batch_size):
        indices = order[positions]
        yield x[indices], y[indices]
