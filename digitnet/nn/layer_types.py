"""Every layer a model file may name, by its spec's "type", and building one from its spec."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from digitnet.nn.conv import Conv2D
from digitnet.nn.deskew import Deskew
from digitnet.nn.layers import Dense, Dropout, Layer
from digitnet.nn.norm import BatchNorm
from digitnet.nn.pooling import Flatten, MaxPool2D

# spec "type" -> class: the class's own name, so that a spec reads like the code that built it
LAYER_TYPES: Mapping[str, type[Layer]] = MappingProxyType(
    {
        cls.__name__: cls
        for cls in (
            Dense,
            Dropout,
            Sigmoid,
            Tanh,
            ReLU,
            LeakyReLU,
            Softmax,
            Conv2D,
            MaxPool2D,
            Flatten,
            BatchNorm,
            Deskew,
        )
    }
)


def layer_from_spec(
    spec: dict, *, rng: np.random.Generator, dtype: type[np.floating] = np.float32
) -> Layer:
    """Build a layer from `Layer.spec()` output; raises ConfigError for unknown types or fields."""
    if not isinstance(spec, dict) or "type" not in spec:
        raise ConfigError(f"a layer spec must be a dict with a 'type', got {spec!r}")
    fields = {k: v for k, v in spec.items() if k != "type"}
    cls = LAYER_TYPES.get(spec["type"])
    if cls is None:
        known = ", ".join(sorted(LAYER_TYPES))
        raise ConfigError(f"unknown layer type {spec['type']!r}; known types: {known}")
    try:
        return cls.from_spec(fields, rng=rng, dtype=dtype)
    except TypeError as error:
        raise ConfigError(f"bad fields for layer {spec['type']}: {fields!r} ({error})") from None
