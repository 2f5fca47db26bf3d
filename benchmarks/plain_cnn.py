"""The plainest NumPy version of the `cnn` preset's network: the CNN row's plain-loop reference.

conv 5x5 (32) → BatchNorm → max-pool 2 → ReLU → conv 5x5 (64) → BatchNorm → max-pool 2 → ReLU
→ dense 128 → ReLU → dense 10, softmax cross-entropy, SGD with momentum 0.9: the textbook
loop, as a learner writes it from the equations. Convolutions unfold their patches with
sliding_window_view and multiply (im2col), the input gradient folds them back one kernel
offset at a time, pooling routes the gradient to each window's maximum, BatchNorm uses the
batch's statistics and keeps running ones. float32, nothing fused or preallocated. It starts
from a digitnet model's weights.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EPS, KEEP = 1e-5, 0.9  # BatchNorm's eps and running-statistics momentum, as digitnet's
MOMENTUM = 0.9  # SGD's


def unfold(x: np.ndarray, k: int) -> np.ndarray:
    """(n, c, h, w) -> (n·h'·w', c·k·k) patches, h' = h − k + 1."""
    n, c, h, w = x.shape
    patches = sliding_window_view(x, (k, k), axis=(2, 3))  # (n, c, h', w', k, k)
    return patches.transpose(0, 2, 3, 1, 4, 5).reshape(n * (h - k + 1) * (w - k + 1), c * k * k)


def fold(grad_patches: np.ndarray, shape: tuple, k: int) -> np.ndarray:
    """The gradient of unfold: each patch's gradient added back where the patch came from."""
    n, c, h, w = shape
    out_h, out_w = h - k + 1, w - k + 1
    g = grad_patches.reshape(n, out_h, out_w, c, k, k)
    grad = np.zeros(shape, grad_patches.dtype)
    for i in range(k):
        for j in range(k):
            grad[:, :, i : i + out_h, j : j + out_w] += g[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return grad


class PlainCNN:
    """step(x, y) trains on one batch (x: (n, 1, 28, 28), y one-hot) and returns its cost."""

    def __init__(self, model, learning_rate: float) -> None:
        self.p = {slot.name: slot.param.copy() for slot in model.named_params()}
        self.v = {name: np.zeros_like(value) for name, value in self.p.items()}
        self.running = {
            name: buffer.copy() for name, buffer in model.named_buffers().items()
        }  # "1.running_mean" and the like
        self.lr = np.float32(learning_rate)

    def _conv_bn_pool_relu(self, x, conv: str, bn: str, cache: list) -> np.ndarray:
        W, b = self.p[f"{conv}.W"], self.p[f"{conv}.b"]
        out_c, k = W.shape[0], W.shape[2]
        n, _, h, w = x.shape
        out_h, out_w = h - k + 1, w - k + 1
        cols = unfold(x, k)
        z = (cols @ W.reshape(out_c, -1).T + b).reshape(n, out_h, out_w, out_c)
        z = z.transpose(0, 3, 1, 2)
        mean, var = z.mean(axis=(0, 2, 3)), z.var(axis=(0, 2, 3))
        count = n * out_h * out_w
        self.running[f"{bn}.running_mean"] = (
            KEEP * self.running[f"{bn}.running_mean"] + (1 - KEEP) * mean
        )
        self.running[f"{bn}.running_var"] = KEEP * self.running[f"{bn}.running_var"] + (
            1 - KEEP
        ) * var * (count / (count - 1))
        inv_std = 1.0 / np.sqrt(var + EPS)
        xhat = (z - mean[:, None, None]) * inv_std[:, None, None]
        y = self.p[f"{bn}.gamma"][:, None, None] * xhat + self.p[f"{bn}.beta"][:, None, None]
        windows = y.reshape(n, out_c, out_h // 2, 2, out_w // 2, 2)
        pooled = windows.max(axis=(3, 5))
        chosen = windows == pooled[:, :, :, None, :, None]
        out = np.maximum(pooled, 0)
        cache.append((x, cols, xhat, inv_std, chosen, pooled))
        return out

    def _back_conv_bn_pool_relu(self, g, conv: str, bn: str, cached, grads, need_input: bool):
        x, cols, xhat, inv_std, chosen, pooled = cached
        W = self.p[f"{conv}.W"]
        out_c, k = W.shape[0], W.shape[2]
        g = g * (pooled > 0)
        g_y = (chosen * g[:, :, :, None, :, None]).reshape(xhat.shape)
        grads[f"{bn}.gamma"] = (g_y * xhat).sum(axis=(0, 2, 3))
        grads[f"{bn}.beta"] = g_y.sum(axis=(0, 2, 3))
        g_xhat = g_y * self.p[f"{bn}.gamma"][:, None, None]
        m = xhat.shape[0] * xhat.shape[2] * xhat.shape[3]
        g_z = (inv_std[:, None, None] / m) * (
            m * g_xhat
            - g_xhat.sum(axis=(0, 2, 3))[:, None, None]
            - xhat * (g_xhat * xhat).sum(axis=(0, 2, 3))[:, None, None]
        )
        g_rows = g_z.transpose(0, 2, 3, 1).reshape(-1, out_c)
        grads[f"{conv}.W"] = (g_rows.T @ cols).reshape(W.shape)
        grads[f"{conv}.b"] = g_rows.sum(axis=0)
        if need_input:
            return fold(g_rows @ W.reshape(out_c, -1), x.shape, k)
        return None

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        p, cache = self.p, []
        a = self._conv_bn_pool_relu(x, "0", "1", cache)
        a = self._conv_bn_pool_relu(a, "4", "5", cache)
        flat = a.reshape(len(x), -1)
        h = np.maximum(flat @ p["9.W"] + p["9.b"], 0)
        z = h @ p["11.W"] + p["11.b"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
        n = len(x)
        cost = float(-np.sum(y * np.log(probs + 1e-12)) / n)
        delta = (probs - y) / n
        grads = {"11.W": h.T @ delta, "11.b": delta.sum(axis=0)}
        g_h = (delta @ p["11.W"].T) * (h > 0)
        grads["9.W"], grads["9.b"] = flat.T @ g_h, g_h.sum(axis=0)
        g = (g_h @ p["9.W"].T).reshape(a.shape)
        g = self._back_conv_bn_pool_relu(g, "4", "5", cache[1], grads, need_input=True)
        self._back_conv_bn_pool_relu(g, "0", "1", cache[0], grads, need_input=False)
        for name, grad in grads.items():
            self.v[name] = MOMENTUM * self.v[name] - self.lr * grad
            p[name] += self.v[name]
        return cost
