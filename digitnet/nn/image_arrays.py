"""Helpers the image layers share: kernel/stride/padding pairs and arrays' memory orders.

Image layers take (batch, C, H, W) arrays but may keep them in another memory order (Conv2D's
internal layouts); the layers after them allocate their outputs and gradients in that same
order, since NumPy combines arrays of mixed orders several times slower.
"""

from __future__ import annotations

import numpy as np

from digitnet.errors import ConfigError


def pair(value: int | tuple[int, int] | list[int], name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair; ConfigError otherwise."""
    values = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 2 or any(
        not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < minimum for v in values
    ):
        raise ConfigError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(values[0]), int(values[1])


def spec_value(values: tuple[int, int]) -> int | list[int]:
    """A pair for the JSON spec: one int when both sides agree."""
    return values[0] if values[0] == values[1] else list(values)


def memory_order(array: np.ndarray) -> tuple[int, ...]:
    """The axes of array from the largest stride to the smallest."""
    return tuple(np.argsort(array.strides, kind="stable")[::-1])


def array_in_order(shape, order, dtype, *, zeros: bool) -> np.ndarray:
    """An empty (or zero) array of `shape` whose axes lie in memory in `order`."""
    stored = (np.zeros if zeros else np.empty)(tuple(shape[axis] for axis in order), dtype)
    return stored.transpose(np.argsort(order))
