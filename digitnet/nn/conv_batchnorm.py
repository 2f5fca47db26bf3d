"""Conv2D → BatchNorm trained as one product: the first convolution of a CNN.

In training, BatchNorm normalises each channel of z = W·x + b with the batch's own mean and
variance. For a convolution those follow from the statistics of its im2col columns x_p
(K = in·kh·kw values per output position p, P positions): with m their mean and S their
covariance, both read off one small Gram product of the columns,

    mean_c = w_c·m + b_c,      var_c = w_cᵀ S w_c,      r_c = 1 / sqrt(var_c + eps),

so the normalised output is itself a convolution, with folded weights and bias:

    y = γ·r·(z − mean) + β = (γ_c r_c w_c)·x_p + (β_c − γ_c r_c w_c·m)     (b cancels).

Backward needs only G = g·colsᵀ, the product the convolution's weight gradient takes anyway
(with the columns' ones row it also gives s = Σ_p g): with q_c = w_c·(G_c − s_c m),

    dβ = s,   dγ = r·q,   dW_c = γ_c r_c (G_c − s_c m − r_c² q_c S w_c),   db = 0.

So neither pass touches the (out, P) activations beyond the product that writes them: for
the `cnn` preset's first layer (1 → 32 channels, 2.4 million values per batch of 128) that
removes BatchNorm's passes over them. The Gram product costs 2·(K+1)²·P operations, so the
stage pays while K + 1 ≤ 2·out (FUSE_MAX_DEPTH_RATIO); it has no input gradient, so
Sequential uses it for the first layer with parameters only, while training.
"""

from __future__ import annotations

import numpy as np

from digitnet.nn.conv import Conv2D
from digitnet.nn.layers import Layer
from digitnet.nn.norm import BatchNorm

FUSE_MAX_DEPTH_RATIO = 2  # fuse while in·kh·kw + 1 <= this × out_channels


def fusable(conv: Layer, norm: Layer) -> bool:
    """Whether conv then norm can train as one ConvBatchNorm stage at a saving."""
    if not (isinstance(conv, Conv2D) and isinstance(norm, BatchNorm)):
        return False
    depth = conv.params["W"][0].size + 1  # a column's length, ones row included
    return norm.n_features == conv.out_channels and depth <= FUSE_MAX_DEPTH_RATIO * (
        conv.out_channels
    )


class ConvBatchNorm:
    """The training pass of `conv` followed by `norm` (see the module docstring): forward
    gives what norm.forward(conv.forward(x, training=True), training=True) gives, and moves
    norm's running statistics alike; backward fills both layers' grads. Not a layer of its
    own: it works on the two layers' params, grads and buffers, which stay where they are."""

    def __init__(self, conv: Conv2D, norm: BatchNorm) -> None:
        if not fusable(conv, norm):
            raise ValueError(f"{conv!r} then {norm!r} cannot train as one stage")
        self.conv, self.norm = conv, norm
        self.params = {**conv.params, **norm.params}  # both layers' arrays, as a Layer's
        self._saved: tuple[np.ndarray, ...] = ()  # columns and statistics for backward

    def forward(self, x: np.ndarray, *, training: bool = True) -> np.ndarray:
        if not training:
            raise ValueError("ConvBatchNorm is a training pass; use the layers for inference")
        conv, norm = self.conv, self.norm
        columns = conv.columns(x)  # (K + 1, P), ones last
        count = columns.shape[1]
        gram = (columns @ columns.T).astype(np.float64)  # (K + 1)²: NumPy takes BLAS's syrk
        mean_cols = gram[:-1, -1] / count  # the ones row's products are the column sums
        cov = gram[:-1, :-1] / count - np.outer(mean_cols, mean_cols)
        W = conv.params["W"].reshape(conv.out_channels, -1).astype(np.float64)
        W_cov = W @ cov  # row c: S w_c
        var = np.maximum(np.sum(W_cov * W, axis=1), 0.0)  # rounding can dip below zero
        norm.update_running(W @ mean_cols + conv.params["b"], var, count)
        inv_std = 1.0 / np.sqrt(var + norm.eps)
        scale = norm.params["gamma"] * inv_std
        folded = np.empty((conv.out_channels, len(gram)), columns.dtype)
        folded[:, :-1] = scale[:, None] * W
        folded[:, -1] = norm.params["beta"] - scale * (W @ mean_cols)
        self._saved = (columns, W, W_cov, mean_cols, inv_std)
        return conv.as_output(folded @ columns)

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = False) -> None:
        """Overwrite both layers' grads from dLoss/dy; there is no input gradient."""
        if need_input_grad:
            raise ValueError("ConvBatchNorm has no input gradient: use it as the first stage")
        conv, norm = self.conv, self.norm
        columns, W, W_cov, mean_cols, inv_std = self._saved
        # (K + 1, P) @ (P, out): the orientation Conv2D measured faster; the ones row gives Σ g
        products = (columns @ conv.as_matrix(grad_out).T).T.astype(np.float64)
        grad_sum = products[:, -1]
        centered = products[:, :-1] - np.outer(grad_sum, mean_cols)  # G_c − s_c m
        q = np.sum(W * centered, axis=1)
        gamma = norm.params["gamma"]
        grad_W = (gamma * inv_std)[:, None] * (centered - (inv_std**2 * q)[:, None] * W_cov)
        conv.grads["W"][...] = grad_W.reshape(conv.grads["W"].shape)
        conv.grads["b"][...] = 0  # BatchNorm removes any shift: the loss does not see b
        norm.grads["gamma"][...] = inv_std * q
        norm.grads["beta"][...] = grad_sum

    def __repr__(self) -> str:
        return f"{self.conv!r}+{self.norm!r}"
