"""digitnet: a neural network written from scratch in NumPy that learns handwritten digits.

The Python API: `digitnet.train`, `digitnet.load`, `digitnet.ensemble`, `digitnet.load_mnist`,
`digitnet.Network`, `digitnet.Dataset` (see digitnet/api.py and the README).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Dataset", "Network", "__version__", "ensemble", "load", "load_mnist", "train"]


def __getattr__(name: str) -> object:
    """Import the API lazily, so `digitnet --version` and light imports stay fast."""
    if name in ("Network", "train", "load", "ensemble"):
        from digitnet import api

        return getattr(api, name)
    if name in ("Dataset", "load_mnist"):
        from digitnet.data import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'digitnet' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazy API beside what is loaded, for dir() and tab completion."""
    return sorted(set(globals()) | set(__all__))
