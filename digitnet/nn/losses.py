"""Losses over a batch: value (mean), gradient (already divided by batch), probabilities.

output, y_onehot: (batch, classes). Gradients come back in output's dtype.
"""

from __future__ import annotations

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.activations import softmax


class Loss:
    """Base loss; subclasses define value, gradient and probabilities."""

    name: str = ""

    def value(self, output: np.ndarray, y_onehot: np.ndarray) -> float:
        """Mean loss over the batch."""
        raise NotImplementedError

    def gradient(self, output: np.ndarray, y_onehot: np.ndarray) -> np.ndarray:
        """dLoss/doutput, (batch, classes), already divided by batch."""
        raise NotImplementedError

    def value_and_gradient(
        self, output: np.ndarray, y_onehot: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Both at once; subclasses share the work where they can."""
        return self.value(output, y_onehot), self.gradient(output, y_onehot)

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        """(batch, classes) rows summing to 1."""
        raise NotImplementedError

    def spec(self) -> dict:
        """{"name": ..., plus the keyword arguments of loss_from_name}."""
        return {"name": self.name}

    def __repr__(self) -> str:
        return self.name


def _check_shapes(output: np.ndarray, y_onehot: np.ndarray) -> np.ndarray:
    """y_onehot in output's dtype, so a float64 target never upcasts a float32 network."""
    if output.ndim != 2 or output.shape != y_onehot.shape:
        raise ValueError(
            f"output {output.shape} and y_onehot {y_onehot.shape} must be equal (batch, classes)"
        )
    return np.asarray(y_onehot, dtype=output.dtype)


class SoftmaxCrossEntropy(Loss):
    """Cross-entropy of softmax(output) against the (optionally smoothed) one-hot target.

    output: logits z. target = (1 − label_smoothing)·y_onehot + label_smoothing/classes.
    value = −Σ target·log_softmax(z) / batch via log-sum-exp (finite for logits ±1e4);
    gradient = (probs − target) / batch. Raises ConfigError unless 0 <= label_smoothing < 1.
    """

    name = "cross_entropy"

    def __init__(self, label_smoothing: float = 0.0) -> None:
        if not isinstance(label_smoothing, (int, float)) or not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def _target(self, y: np.ndarray) -> np.ndarray:
        if self.label_smoothing == 0.0:
            return y
        return y * (1.0 - self.label_smoothing) + self.label_smoothing / y.shape[1]

    def value(self, output: np.ndarray, y_onehot: np.ndarray) -> float:
        target = self._target(_check_shapes(output, y_onehot))
        shifted = output - output.max(axis=1, keepdims=True)  # so exp() cannot overflow
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return float(-(target * log_probs).sum() / output.shape[0])

    def gradient(self, output: np.ndarray, y_onehot: np.ndarray) -> np.ndarray:
        target = self._target(_check_shapes(output, y_onehot))
        grad_z = softmax(output)
        grad_z -= target
        grad_z /= output.shape[0]
        return grad_z

    def value_and_gradient(
        self, output: np.ndarray, y_onehot: np.ndarray
    ) -> tuple[float, np.ndarray]:
        target = self._target(_check_shapes(output, y_onehot))
        shifted = output - output.max(axis=1, keepdims=True)
        exp_shifted = np.exp(shifted)
        sum_exp = exp_shifted.sum(axis=1, keepdims=True)
        shifted -= np.log(sum_exp)  # now log_probs
        value = float(-(target * shifted).sum() / output.shape[0])
        grad_z = exp_shifted
        grad_z /= sum_exp  # now probs
        grad_z -= target
        grad_z /= output.shape[0]
        return value, grad_z

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        return softmax(output)

    def spec(self) -> dict:
        return {"name": self.name, "label_smoothing": self.label_smoothing}


class MeanSquaredError(Loss):
    """Squared error of the output itself (e.g. sigmoid units) against the one-hot target.

    value = Σ (output − y_onehot)² / (2·batch); gradient = (output − y_onehot) / batch.
    probabilities: output clipped at 0 and divided by its row sum (uniform where the sum is 0).
    """

    name = "mse"

    def value(self, output: np.ndarray, y_onehot: np.ndarray) -> float:
        diff = output - _check_shapes(output, y_onehot)
        return float(np.vdot(diff, diff) / (2 * output.shape[0]))

    def gradient(self, output: np.ndarray, y_onehot: np.ndarray) -> np.ndarray:
        grad_out = output - _check_shapes(output, y_onehot)
        grad_out /= output.shape[0]
        return grad_out

    def value_and_gradient(
        self, output: np.ndarray, y_onehot: np.ndarray
    ) -> tuple[float, np.ndarray]:
        diff = output - _check_shapes(output, y_onehot)
        value = float(np.vdot(diff, diff) / (2 * output.shape[0]))
        if output.shape[0] > 1:  # one sample per step (seed000): nothing to divide
            diff /= output.shape[0]
        return value, diff

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        probs = np.maximum(output, 0)
        row_sums = probs.sum(axis=1, keepdims=True)
        empty = row_sums[:, 0] == 0
        probs[empty] = 1.0
        row_sums[empty] = probs.shape[1]
        probs /= row_sums
        return probs


LOSSES: dict[str, type[Loss]] = {
    SoftmaxCrossEntropy.name: SoftmaxCrossEntropy,
    MeanSquaredError.name: MeanSquaredError,
}


def loss_from_name(name: str, **kwargs: float) -> Loss:
    """Build a loss by name ("cross_entropy", "mse"); ConfigError for unknown names or options."""
    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    try:
        return LOSSES[name](**kwargs)
    except TypeError:
        raise ConfigError(f"loss {name!r} does not take options {sorted(kwargs)}") from None
