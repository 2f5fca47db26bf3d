"""Element-wise activations and a standalone softmax; all parameter-free, any input shape.

Each caches what its derivative is cheapest from (the output for sigmoid/tanh/softmax; for
the ReLUs the gate dout/dx while training, the input at inference) and never modifies the
arrays it is given.
"""

from __future__ import annotations

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.layers import Layer


def _check_grad_shape(layer: Layer, grad_out: np.ndarray, out: np.ndarray | None) -> None:
    """RuntimeError before any forward; ValueError unless grad_out has the shape of the
    forward's output (element-wise products would broadcast a wrong one into a silently wrong
    gradient)."""
    if out is None:
        raise layer._no_forward_yet()
    if grad_out.shape != out.shape:
        raise ValueError(
            f"{type(layer).__name__}.backward got a gradient of shape {grad_out.shape} for an "
            f"output of shape {out.shape}"
        )


class Sigmoid(Layer):
    """out = 1 / (1 + exp(−x)), computed as 0.5·(1 + tanh(x/2)): no overflow for any finite x."""

    _out: np.ndarray | None = None  # the last forward's output

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        out = np.multiply(x, 0.5)
        np.tanh(out, out=out)
        out += 1.0
        out *= 0.5
        self._out = out
        return out

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray:
        """grad_x = grad_out · out · (1 − out)."""
        out = self._out
        _check_grad_shape(self, grad_out, out)
        grad_x = 1.0 - out
        grad_x *= out
        grad_x *= grad_out
        return grad_x


class Tanh(Layer):
    """out = tanh(x)."""

    _out: np.ndarray | None = None  # the last forward's output

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self._out = np.tanh(x)
        return self._out

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray:
        """grad_x = grad_out · (1 − out²)."""
        _check_grad_shape(self, grad_out, self._out)
        grad_x = np.square(self._out)
        np.subtract(1.0, grad_x, out=grad_x)
        grad_x *= grad_out
        return grad_x


class ReLU(Layer):
    """out = max(x, 0); dout/dx = 1 where x > 0, else 0 (LeakyReLU: its slope instead of 0).

    Training computes x · gate with gate = [x > 0] in x's dtype and keeps the gate for
    backward; inference computes max(x, 0) and keeps x, from which backward forms the gate.
    Both give the same for every finite x and keep NaN; for −inf, which only an overflow
    upstream gives, training gives NaN and inference 0.
    """

    # x · gate while training: np.maximum plus a boolean mask for backward measured twice as
    # slow on a minibatch. At inference no gate: its two extra passes over a 2048-image chunk
    # cost 5% of predicting 10,000 images (75.5 against 71.9 ms).
    slope = 0.0
    _x: np.ndarray | None = None  # the last inference forward's input
    _gate: np.ndarray | None = None  # the last training forward's dout/dx

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if training:
            self._x, self._gate = None, self._gate_of(x)
            return x * self._gate
        self._x, self._gate = x, None
        return np.maximum(x, x * self.slope) if self.slope else np.maximum(x, 0)

    def _gate_of(self, x: np.ndarray) -> np.ndarray:
        """dout/dx in x's dtype: 1 where x > 0, else the slope."""
        gate = (x > 0).astype(x.dtype)
        if self.slope:
            gate *= 1.0 - self.slope
            gate += self.slope
        return gate

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray:
        """grad_x = grad_out where x > 0, else slope · grad_out."""
        trained = self._gate is not None  # else forward kept its input (inference)
        kept = self._gate if trained else self._x
        _check_grad_shape(self, grad_out, kept)
        return grad_out * (kept if trained else self._gate_of(kept))


class LeakyReLU(ReLU):
    """out = x where x > 0, else slope · x: x · gate with gate = slope + (1 − slope)·[x > 0]
    while training, max(x, slope·x) at inference (as ReLU); for slope > 0, −inf stays −inf
    in both."""

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        if not isinstance(slope, (int, float)) or not 0.0 <= slope < 1.0:
            raise ConfigError(f"LeakyReLU slope must be in [0, 1), got {slope!r}")
        self.slope = float(slope)

    def spec(self) -> dict:
        return {"type": "LeakyReLU", "slope": self.slope}


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis: probs = exp(x − max) / sum(exp(x − max))."""
    probs = x - x.max(axis=-1, keepdims=True)  # subtract the row max so exp() cannot overflow
    np.exp(probs, out=probs)
    probs /= probs.sum(axis=-1, keepdims=True)
    return probs


class Softmax(Layer):
    """probs = softmax(x) over the last axis: (batch, k) -> (batch, k), rows summing to 1.

    Only for a standalone softmax; with cross-entropy, use logits and SoftmaxCrossEntropy.
    """

    _probs: np.ndarray | None = None  # the last forward's output

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self._probs = softmax(x)
        return self._probs

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray:
        """Vector-Jacobian product: grad_x = probs · (grad_out − Σ_j grad_out_j · probs_j)."""
        probs = self._probs
        _check_grad_shape(self, grad_out, probs)
        grad_x = grad_out * probs
        dot = grad_x.sum(axis=-1, keepdims=True)
        grad_x -= probs * dot
        return grad_x


ACTIVATIONS: dict[str, type[Layer]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
}


def activation_from_name(name: str) -> Layer:
    """A fresh hidden-layer activation by name (see ACTIVATIONS); ConfigError if unknown."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
