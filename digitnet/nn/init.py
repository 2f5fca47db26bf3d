"""Weight initialisers: name -> float64 array drawn from the given Generator only."""

from __future__ import annotations

import numpy as np

from digitnet.errors import ConfigError

INITIALIZERS = (
    "uniform",
    "scaled_normal",
    "small_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape.

    Dense (fan_in, fan_out): as given. Conv kernel (out_channels, in_channels, kh, kw):
    fan_in = in_channels·kh·kw, fan_out = out_channels·kh·kw. Raises ConfigError otherwise.
    """
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:
        out_channels, in_channels, kh, kw = shape
        return in_channels * kh * kw, out_channels * kh * kw
    raise ConfigError(f"cannot initialise a weight of shape {shape}: expected 2-D or 4-D")


def initialize(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Draw a float64 weight array of `shape` with the named scheme; the caller casts.

    Raises ConfigError for an unknown name or a shape that is neither 2-D nor 4-D.
    """
    if name not in INITIALIZERS:
        raise ConfigError(f"unknown initialiser {name!r}; choose one of {', '.join(INITIALIZERS)}")
    fan_in, fan_out = fans(tuple(shape))
    if name == "uniform":
        return rng.uniform(-0.5, 0.5, size=shape)
    if name == "scaled_normal":
        return rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
    if name == "small_normal":
        return rng.normal(0.0, 0.01, size=shape)
    if name == "xavier_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)
    if name == "xavier_normal":
        return rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))
    if name == "he_uniform":
        limit = np.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)  # he_normal
