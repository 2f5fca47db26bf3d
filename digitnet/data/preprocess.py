"""From raw uint8 digits to network inputs: floats in [0, 1], one-hot labels, splits, subsets."""

from __future__ import annotations

import numpy as np

from digitnet.errors import DataError

N_CLASSES = 10


def to_inputs(
    images: np.ndarray, *, layout: str = "flat", dtype: type = np.float32, scale: float = 255.0
) -> np.ndarray:
    """uint8 images (n, 28, 28) (or floats, with scale=1) to floats in [0, 1]: (n, 784) for
    layout "flat", (n, 1, 28, 28) for "image" (convolutional networks)."""
    scaled = images.astype(dtype) * dtype(1.0 / scale)
    if layout == "flat":
        return scaled.reshape(len(images), int(np.prod(images.shape[1:])))
    if layout == "image":
        return scaled.reshape(len(images), 1, *images.shape[1:])
    raise DataError(f"unknown input layout {layout!r}: expected 'flat' or 'image'")


def one_hot(labels: np.ndarray, n_classes: int = N_CLASSES, dtype: type = np.float32) -> np.ndarray:
    """Integer labels (n,) to one-hot rows (n, n_classes)."""
    encoded = np.zeros((len(labels), n_classes), dtype=dtype)
    encoded[np.arange(len(labels)), labels.astype(np.int64)] = 1
    return encoded


def take_first(
    images: np.ndarray, labels: np.ndarray, limit: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """The first `limit` examples (all when None): a reproducible subset, like seed 002 uses."""
    if limit is None:
        return images, labels
    if limit < 1:
        raise DataError(f"a limit must be at least 1, got {limit}")
    return images[:limit], labels[:limit]


def split_validation(
    images: np.ndarray, labels: np.ndarray, n_validation: int, rng: np.random.Generator
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A seeded random hold-out: ((train_images, train_labels), (val_images, val_labels)).

    n_validation = 0 gives an empty validation set. Raises DataError when nothing would be
    left to train on.
    """
    n = len(images)
    if not 0 <= n_validation < n:
        raise DataError(f"validation size {n_validation} must be in 0..{n - 1} for {n} examples")
    order = rng.permutation(n)
    val_idx, train_idx = np.sort(order[:n_validation]), np.sort(order[n_validation:])
    return (images[train_idx], labels[train_idx]), (images[val_idx], labels[val_idx])
