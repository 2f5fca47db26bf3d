"""Every layer a model file may name, by its spec's "type", and building one from its spec
(with Layer classes of your own passed as custom_layers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from digitnet.nn.conv import Conv2D
from digitnet.nn.deskew import Deskew
from digitnet.nn.ensemble import Ensemble
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
            Ensemble,
        )
    }
)


def layer_from_spec(
    spec: dict,
    *,
    rng: np.random.Generator,
    dtype: type[np.floating] = np.float32,
    custom_layers: Sequence[type[Layer]] = (),
) -> Layer:
    """Build a layer from `Layer.spec()` output; raises ConfigError for unknown types or fields.

    custom_layers: Layer classes of your own, found by class name as the built-in ones are
    (a name of a built-in layer is refused, so that a file always means the same network)."""
    return _build(spec, known_layer_types(custom_layers), rng, dtype)


def layers_from_specs(
    specs: Sequence[dict],
    *,
    rng: np.random.Generator,
    dtype: type[np.floating] = np.float32,
    custom_layers: Sequence[type[Layer]] = (),
) -> list[Layer]:
    """layer_from_spec for each spec in turn, custom_layers read once."""
    types = known_layer_types(custom_layers)
    return [_build(spec, types, rng, dtype) for spec in specs]


def _build(
    spec: dict, types: Mapping[str, type[Layer]], rng: np.random.Generator, dtype: type
) -> Layer:
    """The layer of spec["type"] among types, built from the spec's other fields."""
    if not isinstance(spec, dict) or "type" not in spec:
        raise ConfigError(f"a layer spec must be a dict with a 'type', got {spec!r}")
    fields = {k: v for k, v in spec.items() if k != "type"}
    cls = types.get(spec["type"])
    if cls is None:
        known = ", ".join(sorted(types))
        raise ConfigError(
            f"unknown layer type {spec['type']!r}; known types: {known} (a layer class of your "
            "own: load the model in Python with custom_layers=[YourLayer])"
        )
    try:
        return cls.from_spec(fields, rng=rng, dtype=dtype)
    except TypeError as error:
        raise ConfigError(f"bad fields for layer {spec['type']}: {fields!r} ({error})") from None


def known_layer_types(custom_layers: Sequence[type[Layer]] = ()) -> Mapping[str, type[Layer]]:
    """LAYER_TYPES plus custom_layers by class name; ConfigError for a class that is not a
    Layer or whose name a built-in layer already has."""
    if isinstance(custom_layers, (type, str)):
        shown = getattr(custom_layers, "__name__", custom_layers)
        raise ConfigError(f"custom_layers is a list of classes, e.g. [{shown}]")
    if not custom_layers:
        return LAYER_TYPES
    types = dict(LAYER_TYPES)
    for cls in custom_layers:
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise ConfigError(f"custom layers must be Layer classes, got {cls!r}")
        if types.get(cls.__name__, cls) is not cls:
            built_in = cls.__name__ in LAYER_TYPES
            raise ConfigError(
                f"custom layer {cls.__name__} has the name of "
                + ("a built-in layer" if built_in else "another of the custom layers")
            )
        types[cls.__name__] = cls
    return types
