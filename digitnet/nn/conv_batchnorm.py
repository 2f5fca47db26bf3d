"""Conv2D → BatchNorm trained as one product: the first convolution of a CNN.

In training, BatchNorm normalises each channel o of z = W·x_p + b with the batch's own mean
and variance. For a convolution those follow from the statistics of its im2col columns x_p
(K = in·kh·kw values per output position p, P positions): with μ their mean and S their
covariance, both read off one small Gram product of the columns (w_o: row o of W as (out, K)),

    mean_o = w_o·μ + b_o,      var_o = w_oᵀ S w_o,      r_o = 1 / sqrt(var_o + eps),

so the normalised output is itself a convolution, with folded weights and bias:

    y = γ_o r_o (z − mean_o) + β_o = (γ_o r_o w_o)·x_p + (β_o − γ_o r_o w_o·μ)     (b cancels).

Backward needs only Gᶜ = G·colsᵀ (G: dLoss/dy as (out, P)), the product the convolution's
weight gradient takes anyway; the columns' ones row gives s_o = Σ_p G[o, p] with it. With
q_o = w_o·(Gᶜ_o − s_o μ):

    dβ = s,   dγ = r·q,   dW_o = γ_o r_o (Gᶜ_o − s_o μ − r_o² q_o S w_o),   db = 0.

So neither pass touches the (out, P) activations beyond the product that writes them: for
the `cnn` preset's first layer (1 → 32 channels, 2.4 million values per batch of 128) that
removes BatchNorm's passes over them (docs/math.md). The Gram product costs 2·(K+1)²·P
operations, so the stage pays while K + 1 ≤ 2·out (FUSE_MAX_DEPTH_RATIO); it has no input
gradient, so Sequential uses it for the first layer with parameters only, while training.
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
        # both layers' arrays: what Sequential looks at to find the first learned stage
        self.params = {**conv.params, **norm.params}
        self._saved: tuple[np.ndarray, ...] = ()  # columns and statistics for backward

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if not training:
            raise ValueError("ConvBatchNorm is a training pass; use the layers for inference")
        conv, norm = self.conv, self.norm
        columns = conv.columns(x)  # (K + 1, P), ones last
        count = columns.shape[1]
        gram = (columns @ columns.T).astype(np.float64)  # (K + 1)²: NumPy takes BLAS's syrk
        mean_cols = gram[:-1, -1] / count  # μ: the ones row's products are the column sums
        cov = gram[:-1, :-1] / count - np.outer(mean_cols, mean_cols)  # S
        W = conv.params["W"].reshape(conv.out_channels, -1).astype(np.float64)
        W_cov = W @ cov  # row o: S w_o
        var = np.maximum(np.sum(W_cov * W, axis=1), 0.0)  # rounding can dip below zero
        W_mean = W @ mean_cols  # w_o·μ: the channel means without the bias
        norm.update_running(W_mean + conv.params["b"], var, count)
        inv_std = 1.0 / np.sqrt(var + norm.eps)
        scale = norm.params["gamma"] * inv_std
        folded = np.empty((conv.out_channels, len(gram)), columns.dtype)
        folded[:, :-1] = scale[:, None] * W
        folded[:, -1] = norm.params["beta"] - scale * W_mean
        self._saved = (columns, W, W_cov, mean_cols, inv_std)
        return conv.as_output(folded @ columns)

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> None:
        """Overwrite both layers' grads from dLoss/dy; there is no input gradient."""
        if need_input_grad:
            raise ValueError("ConvBatchNorm has no input gradient: use it as the first stage")
        conv, norm = self.conv, self.norm
        columns, W, W_cov, mean_cols, inv_std = self._saved
        # (K + 1, P) @ (P, out): the orientation Conv2D measured faster; the ones row gives Σ g
        products = (columns @ conv.as_matrix(grad_out).T).T.astype(np.float64)
        grad_sum = products[:, -1]
        centered = products[:, :-1] - np.outer(grad_sum, mean_cols)  # Gᶜ_o − s_o μ
        q = np.sum(W * centered, axis=1)
        gamma = norm.params["gamma"]
        grad_W = (gamma * inv_std)[:, None] * (centered - (inv_std**2 * q)[:, None] * W_cov)
        conv.grads["W"][...] = grad_W.reshape(conv.grads["W"].shape)
        conv.grads["b"][...] = 0  # BatchNorm removes any shift: the loss does not see b
        norm.grads["gamma"][...] = inv_std * q
        norm.grads["beta"][...] = grad_sum

    def __repr__(self) -> str:
        return f"{self.conv!r}+{self.norm!r}"
