"""The plainest NumPy MLP: the reference for digitnet's fixed cost per step.

The textbook loop, as a learner writes it: forward, backward and update spelled out in NumPy,
float32, nothing fused, nothing preallocated, no BLAS beyond what `@` calls. It starts from a
digitnet model's weights, so both train the same network from the same point. Where the
arrays are small, digitnet's checks and dispatch show against it; where they are large, both
are matrix products.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class PlainMLP:
    """Dense layers with `activation` ("sigmoid" or "relu") between them; output "softmax"
    (cross-entropy) or "sigmoid" (quadratic cost); SGD, with momentum 0.9 when `momentum`."""

    def __init__(self, model, activation: str, output: str, learning_rate: float,
                 momentum: bool) -> None:  # fmt: skip
        dense = [layer for layer in model.layers if layer.params]
        self.W = [layer.params["W"].copy() for layer in dense]
        self.b = [layer.params["b"].copy() for layer in dense]
        self.vW = [np.zeros_like(w) for w in self.W]
        self.vb = [np.zeros_like(v) for v in self.b]
        self.activation, self.output, self.momentum = activation, output, momentum
        self.lr = np.float32(learning_rate)

    def step(self, xb: np.ndarray, yb: np.ndarray) -> float:
        """One step of gradient descent on the batch; returns its cost before the update."""
        W, b, lr = self.W, self.b, self.lr
        acts = [xb]
        for i in range(len(W)):
            z = acts[-1] @ W[i] + b[i]
            if i < len(W) - 1:
                a = sigmoid(z) if self.activation == "sigmoid" else np.maximum(z, 0)
            elif self.output == "sigmoid":
                a = sigmoid(z)
            else:
                e = np.exp(z - z.max(axis=1, keepdims=True))
                a = e / e.sum(axis=1, keepdims=True)
            acts.append(a)
        out, n = acts[-1], len(xb)
        if self.output == "sigmoid":  # quadratic cost: mean over samples of ½‖a − y‖²
            cost = float(0.5 * np.sum((out - yb) ** 2) / n)
            delta = (out - yb) * out * (1 - out) / n
        else:
            cost = float(-np.sum(yb * np.log(out + 1e-12)) / n)
            delta = (out - yb) / n
        for i in range(len(W) - 1, -1, -1):
            gW, gb = acts[i].T @ delta, delta.sum(axis=0)
            if i > 0:
                g = delta @ W[i].T
                a = acts[i]
                delta = g * a * (1 - a) if self.activation == "sigmoid" else g * (a > 0)
            if self.momentum:
                self.vW[i] = 0.9 * self.vW[i] - lr * gW
                self.vb[i] = 0.9 * self.vb[i] - lr * gb
                W[i] += self.vW[i]
                b[i] += self.vb[i]
            else:
                W[i] -= lr * gW
                b[i] -= lr * gb
        return cost
