"""Ensemble: a committee of trained networks whose probabilities are averaged.

It is a layer so that an ensemble is a network like any other: one model file (the members'
architectures in its spec, their weights under `param/0.m<k>.<name>`), and evaluate, predict,
read, show, serve and the API run it unchanged. It outputs the log of the averaged
probabilities, so that the softmax after it gives the average back exactly:
softmax(log p) = p / sum(p) = p. Inference only: train the members, then combine them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.layers import Layer

if TYPE_CHECKING:
    from digitnet.nn.model import Sequential

# the smallest averaged probability kept before the log: softmax(log p) stays p to float32's
# precision, and a digit no member gives any chance has a finite (very negative) output
TINY_PROBABILITY = 1e-30


class Ensemble(Layer):
    """(n, 784) pixels in 0-1 -> (n, classes) log of the members' mean probability.

    Each member sees the input in its own layout (flat vectors or (n, 1, 28, 28) images) and
    its own calibration temperature; weights, one per member, default to equal."""

    def __init__(self, members: Sequence[Sequential], weights: Sequence[float] | None = None):
        super().__init__()
        if len(members) < 2:
            raise ConfigError(f"an ensemble needs at least two members, got {len(members)}")
        self.members = list(members)
        weights = [1.0] * len(self.members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(self.members) or not all(w > 0 for w in weights):
            raise ConfigError(
                f"an ensemble needs one positive weight per member ({len(self.members)}), "
                f"got {weights}"
            )
        self.weights = [w / sum(weights) for w in weights]
        for k, member in enumerate(self.members):
            for slot in member.named_params():
                self.params[f"m{k}.{slot.name}"] = slot.param
                self.grads[f"m{k}.{slot.name}"] = slot.grad
            for name, buffer in member.named_buffers().items():
                self.buffers[f"m{k}.{name}"] = buffer

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if training:
            raise ConfigError("an ensemble is not trained as a whole: train its members")
        total = None
        for member, weight in zip(self.members, self.weights, strict=True):
            probabilities = member.predict_proba(_in_layout(x, member)) * weight
            total = probabilities if total is None else total + probabilities
        return np.log(np.maximum(total, TINY_PROBABILITY)).astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> None:
        raise ConfigError("an ensemble is not trained as a whole: train its members")

    def spec(self) -> dict:
        return {
            "type": "Ensemble",
            "members": [
                {"architecture": member.spec(), "temperature": member.temperature}
                for member in self.members
            ],
            "weights": self.weights,
        }

    @classmethod
    def from_spec(
        cls, fields: dict, *, rng: np.random.Generator, dtype: type[np.floating] = np.float32
    ) -> Ensemble:
        from digitnet.nn.model import Sequential  # model.py builds layers, this one among them

        specs = fields.get("members")
        if not isinstance(specs, list) or not all(
            isinstance(s, dict) and "architecture" in s for s in specs
        ):
            raise ConfigError("an Ensemble spec needs 'members': [{'architecture': ...}, ...]")
        members = []
        for spec in specs:
            member = Sequential.from_spec(spec["architecture"], rng=rng, dtype=dtype)
            member.temperature = float(spec.get("temperature", 1.0))
            members.append(member)
        return cls(members, fields.get("weights"))

    def __repr__(self) -> str:
        return f"Ensemble({len(self.members)} members)"


def _in_layout(x: np.ndarray, member: Sequential) -> np.ndarray:
    """x as the member takes it: (n, 1, 28, 28) or (n, 784), by its input_layout."""
    if member.input_layout == "image":
        return x.reshape(len(x), 1, 28, 28)
    return x.reshape(len(x), -1)
