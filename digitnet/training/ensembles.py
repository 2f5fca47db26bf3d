"""Combine trained model files into one ensemble model file (digitnet/nn/ensemble.py).

The members must read the same pixels and give the same classes: the same dtype, the same
number of outputs, and the same training data (an ensemble is evaluated on the data its
members were trained on, as any model file is).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from digitnet import __version__
from digitnet.artifacts.model_file import ModelFile
from digitnet.errors import ConfigError
from digitnet.nn.ensemble import Ensemble
from digitnet.nn.losses import loss_from_name
from digitnet.nn.model import Sequential
from digitnet.training.build import layout_of


def combine(
    members: Sequence[ModelFile], names: Sequence[str], weights: Sequence[float] | None = None
) -> tuple[Sequential, dict]:
    """The ensemble network of the members' networks and its model-file header; names (the
    files' names) label the members in the header. ConfigError when they cannot be combined."""
    if len(members) < 2:
        raise ConfigError(f"an ensemble needs at least two model files, got {len(members)}")
    _check_compatible(members, names)
    ensemble = Ensemble([member.model for member in members], weights)
    model = Sequential([ensemble], loss_from_name("cross_entropy"))
    first = members[0].meta
    meta = {
        "preset": "ensemble",
        "ensemble": {
            "weights": ensemble.weights,
            "members": [_member_record(name, member.meta) for name, member in zip(names, members)],
        },
        "dataset": first.get("dataset", {"source": "bundled MNIST"}),
        "data_options": first.get("data_options", {}),
        "results": {},
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "trained_with": f"digitnet {__version__}",
    }
    return model, meta


def _check_compatible(members: Sequence[ModelFile], names: Sequence[str]) -> None:
    """ConfigError naming the first member that differs from the first one in dtype, number
    of classes or training data."""
    first, first_name = members[0], names[0]
    classes = _classes(first.model)
    data = _data_of(first.meta)
    for member, name in zip(members[1:], names[1:]):
        if member.model.dtype != first.model.dtype:
            raise ConfigError(
                f"{name} holds {member.model.dtype} weights and {first_name} "
                f"{first.model.dtype}: the members of an ensemble share one dtype"
            )
        if _classes(member.model) != classes:
            raise ConfigError(
                f"{name} gives {_classes(member.model)} classes and {first_name} {classes}"
            )
        if _data_of(member.meta) != data:
            raise ConfigError(
                f"{name} was trained on {_describe(_data_of(member.meta))} and {first_name} "
                f"on {_describe(data)}: the members of an ensemble share their data"
            )


def _classes(model: Sequential) -> int:
    """How many outputs the network gives (one forward pass of a blank image)."""
    shape = (1, 1, 28, 28) if layout_of(model) == "image" else (1, 784)
    return int(model.outputs(np.zeros(shape, model.dtype)).shape[1])


def _data_of(meta: dict) -> dict:
    """The data options a header records, without the empty ones (empty: bundled MNIST)."""
    return {k: v for k, v in (meta.get("data_options") or {}).items() if v}


def _describe(options: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items()) or "the bundled MNIST"


def _member_record(name: str, meta: dict) -> dict:
    """What the ensemble's header says of one member: its file, preset and results."""
    results = meta.get("results") or {}
    return {
        "file": name,
        "preset": meta.get("preset"),
        "test_accuracy": results.get("test_accuracy"),
        "created": meta.get("created"),
    }
