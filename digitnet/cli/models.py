"""Loading the model a command names, or the bundled default one."""

from __future__ import annotations

from digitnet.io import load_model
from digitnet.nn.model import Sequential
from digitnet.predict import load_default_model


def load_model_or_default(path: str | None) -> Sequential:
    """The network in `path`, or the bundled default model when path is None."""
    return (load_model(path) if path else load_default_model()).model
