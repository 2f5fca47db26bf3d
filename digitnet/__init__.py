"""digitnet: a neural network written from scratch in NumPy that learns handwritten digits."""

from __future__ import annotations

__version__ = "0.1.0"
