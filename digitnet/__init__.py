"""digitnet: a neural network written from scratch in NumPy that learns handwritten digits.

The Python API: `digitnet.train`, `digitnet.load`, `digitnet.load_mnist`, `digitnet.Network`
(see digitnet/api.py and the README).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Network", "__version__", "load", "load_mnist", "train"]


def __getattr__(name: str) -> object:
    """Import the API lazily, so `digitnet --version` and light imports stay fast."""
    if name in ("Network", "train", "load"):
        from digitnet import api

        return getattr(api, name)
    if name == "load_mnist":
        from digitnet.data.datasets import load_mnist

        return load_mnist
    raise AttributeError(f"module 'digitnet' has no attribute {name!r}")
