"""Conv2D: 2-D convolution of (batch, channels, height, width) arrays.

Conv2D is im2col + one GEMM. The columns are laid out (in·kh·kw, N), N = batch·H'·W' in the
layer's internal order (see CHANNEL_BATCH, BATCH_LAST), so that the forward product, the
weight gradient and the column gradient are each one large matrix product; im2col and col2im
loop only over the kh·kw kernel offsets, each step copying or adding a whole slab. Deep
batch-last layers with vertical stride 1 go by kernel rows instead (conv_rows.py: a smaller
copy, kh products). Outputs keep the internal memory order (a transposed view's order,
shapes stay (batch, C, H, W)).
"""

from __future__ import annotations

import numpy as np

from digitnet.nn import conv_rows
from digitnet.nn.image_arrays import pair, spec_value
from digitnet.nn.init import initialize
from digitnet.nn.layers import Layer
from digitnet.nn.patches import (
    BATCH_LAST,
    CHANNEL_BATCH,
    col2im,
    embed,
    im2col,
    resized,
    window_index,
)


def _out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


class Conv2D(Layer):
    """2-D cross-correlation z = W ⋆ x + b (what PyTorch's Conv2d computes).

    x: (batch, in_channels, H, W) -> z: (batch, out_channels, H', W') with
    H' = (H + 2·pad_h − kh) // stride_h + 1 (W' likewise); zero padding. kernel_size, stride
    and padding are an int or an (h, w) pair. W: (out, in, kh, kw) from the named initialiser
    (fan_in = in·kh·kw), b: (out,) zeros; weight decay applies to W. Raises ConfigError for
    bad sizes, ValueError for an input of the wrong shape.
    """

    decayed = frozenset({"W"})

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        init: str = "he_normal",
        rng: np.random.Generator,
        dtype: type[np.floating] = np.float32,
    ) -> None:
        super().__init__()
        self.in_channels = pair(in_channels, "Conv2D in_channels", 1)[0]
        self.out_channels = pair(out_channels, "Conv2D out_channels", 1)[0]
        self.kernel_size = pair(kernel_size, "Conv2D kernel_size", 1)
        self.stride = pair(stride, "Conv2D stride", 1)
        self.padding = pair(padding, "Conv2D padding", 0)
        self.init = init
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.params = {
            "W": initialize(init, shape, rng).astype(dtype),
            "b": np.zeros(self.out_channels, dtype),
        }
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        # what backward needs: im2col's columns (in, kh, kw, ...), or conv_rows' U when _by_rows
        self._unfolded: np.ndarray | None = None
        self._cols_matrix: np.ndarray | None = None  # im2col's as (in·kh·kw + 1, N), ones last
        self._x_shape: tuple[int, ...] = ()
        self._layout_used = CHANNEL_BATCH  # the internal layout of the last forward pass
        self._out_size = (0, 0)  # its output's H', W'
        self._by_rows = False  # whether it used conv_rows (then _unfolded holds U, not im2col's)

    def _layout(self, out_w: int) -> tuple[tuple[int, ...], tuple[int, int]]:
        """Batch-last when an output row is short or the kernel large: im2col then copies
        long runs (measured 3x faster for the `cnn` preset's 5x5 convolutions); otherwise the
        transposes in and out of batch-last cost more than they save (3x3 on 28x28)."""
        kh, kw = self.kernel_size
        return BATCH_LAST if out_w < 16 or kh * kw >= 16 else CHANNEL_BATCH

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        padded, out_h, out_w = self._padded_input(x)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        self._by_rows = (
            self._layout_used == BATCH_LAST
            and sh == 1
            and self.in_channels * kw >= conv_rows.ROW_PRODUCTS_MIN_DEPTH
        )
        if self._by_rows:  # measured 1.2x faster than im2col for the `cnn` preset's conv2
            self._unfolded, self._cols_matrix = conv_rows.unfold_width(padded, kw, sw, out_w), None
            views = conv_rows.kernel_row_views(self._unfolded, kh, out_h)
            z = conv_rows.forward_products(self.params["W"], views)  # (out, N)
            z += self.params["b"][:, None]  # in place: z is this pass's own product
        else:
            self._unfold(padded, out_h, out_w)
            W_mat = self.params["W"].reshape(self.out_channels, -1)  # (out, in·kh·kw)
            W_and_b = np.concatenate((W_mat, self.params["b"][:, None]), axis=1)
            z = W_and_b @ self._cols_matrix  # (out, N) in the internal order, bias included
        return self.as_output(z)

    def columns(self, x: np.ndarray) -> np.ndarray:
        """im2col's matrix of x, (in·kh·kw + 1, N), ones as its last row, kept for backward:
        what a stage that computes its own product from the columns (conv_batchnorm.py)
        starts from; as_output shapes that product, as_matrix its gradient."""
        padded, out_h, out_w = self._padded_input(x)
        self._by_rows = False
        return self._unfold(padded, out_h, out_w)

    def _padded_input(self, x: np.ndarray) -> tuple[np.ndarray, int, int]:
        """Check x; choose and record the internal layout; x padded in it, and H', W'."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2D expects (batch, {self.in_channels}, H, W), got {x.shape}")
        height, width = x.shape[2:]
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        out_h, out_w = _out_size(height, kh, sh, ph), _out_size(width, kw, sw, pw)
        if out_h < 1 or out_w < 1:
            raise ValueError(f"Conv2D kernel {self.kernel_size} is larger than the input {x.shape}")
        order, axes = self._layout_used = self._layout(out_w)
        self._x_shape = x.shape
        self._out_size = (out_h, out_w)
        padded = embed(x.transpose(order), (height + 2 * ph, width + 2 * pw), ph, pw, axes)
        return padded, out_h, out_w

    def _unfold(self, padded: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
        """im2col of the padded input into _unfolded and _cols_matrix (ones row last)."""
        axes = self._layout_used[1]
        self._unfolded, self._cols_matrix = im2col(
            padded, self.kernel_size, self.stride, (out_h, out_w), axes, ones_row=True
        )
        return self._cols_matrix

    def as_output(self, z: np.ndarray) -> np.ndarray:
        """A (out, N) product in the last forward's internal order -> (batch, out, H', W'),
        keeping that memory order: NumPy keeps it through the elementwise layers that follow
        (BatchNorm, ReLU, pooling), so the next Conv2D's transpose is free; forcing C order
        here measured 2x slower for the first layer."""
        order, axes = self._layout_used
        transposed_x = tuple(self._x_shape[axis] for axis in order)  # channels first
        internal_shape = resized(transposed_x, axes, self._out_size)[1:]
        return z.reshape(self.out_channels, *internal_shape).transpose(np.argsort(order))

    def as_matrix(self, grad_z: np.ndarray) -> np.ndarray:
        """dLoss/dz (batch, out, H', W') -> (out, N) in the internal order (a view when grad_z
        keeps the memory order as_output gave)."""
        return grad_z.transpose(self._layout_used[0]).reshape(self.out_channels, -1)

    def backward(self, grad_z: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray | None:
        """Overwrite grads["W"], grads["b"]; return dLoss/dx (None if not need_input_grad)."""
        if not self._x_shape:
            raise self._no_forward_yet()
        unfolded = self._unfolded
        batch, _, height, width = self._x_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        out_h, out_w = grad_z.shape[2:]
        order, axes = self._layout_used  # the forward pass's choice, which unfolded follows
        grad_mat = self.as_matrix(grad_z)  # (out, N)
        W = self.params["W"]
        if self._by_rows:
            np.sum(grad_mat, axis=1, out=self.grads["b"])
            views = conv_rows.kernel_row_views(unfolded, kh, out_h)
            conv_rows.weight_gradient(views, grad_mat, self.grads["W"])
            if not need_input_grad:
                return None
            grad_padded = conv_rows.input_gradient(W, grad_mat, unfolded.shape, sw, width + 2 * pw)
            return self._cropped(grad_padded, order, axes)
        # (in·kh·kw + 1, N) @ (N, out): measured faster than (out, N) @ (N, in·kh·kw) in
        # OpenBLAS; the ones row gives the bias gradient, Σ grad_z, as the last row
        grad_W_and_b = self._cols_matrix @ grad_mat.T
        self.grads["W"].reshape(self.out_channels, -1)[...] = grad_W_and_b[:-1].T
        self.grads["b"][...] = grad_W_and_b[-1]
        if not need_input_grad:
            return None
        transposed_cols = self.out_channels * height * width  # per kernel offset and image
        if (sh, sw) == (1, 1) and transposed_cols <= self.in_channels * out_h * out_w:
            # dLoss/dx is the correlation of grad_z, padded by k − 1 − p, with the flipped
            # kernel: one more im2col + GEMM. When its columns are no larger than col2im's
            # (same padding, channels kept) it measured up to 1.6x faster than GEMM + col2im;
            # when they are larger (valid padding, more channels out than in) col2im wins 3x
            size = (height + kh - 1, width + kw - 1)
            grad_internal = grad_z.transpose(order)  # (out, ...) like unfolded's trailing axes
            padded = embed(grad_internal, size, kh - 1 - ph, kw - 1 - pw, axes)
            grad_cols, _ = im2col(padded, self.kernel_size, (1, 1), (height, width), axes)
            W_flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(self.in_channels, -1)
            grad_x = W_flipped @ grad_cols.reshape(W_flipped.shape[1], -1)
            grad_x = grad_x.reshape(self.in_channels, *grad_cols.shape[3:])
            return grad_x.transpose(np.argsort(order))  # in the internal memory order
        grad_cols = (W.reshape(self.out_channels, -1).T @ grad_mat).reshape(unfolded.shape)
        size = (height + 2 * ph, width + 2 * pw)
        grad_padded = col2im(grad_cols, size, self.kernel_size, self.stride, axes)
        return self._cropped(grad_padded, order, axes)

    def _cropped(self, grad_padded: np.ndarray, order, axes) -> np.ndarray:
        """dLoss/dx from dLoss/d(padded x) in the internal layout: the padding cut off, in
        (batch, C, H, W) shape and the internal memory order."""
        (ph, pw), (height, width) = self.padding, self._x_shape[2:]
        if (ph, pw) == (0, 0):
            return grad_padded.transpose(np.argsort(order))  # nothing to cut: no copy
        rows, columns = slice(ph, ph + height), slice(pw, pw + width)
        grad_x = grad_padded[window_index(grad_padded.ndim, axes, rows, columns)]
        return np.copy(grad_x.transpose(np.argsort(order)), order="K")  # compact, same order

    def spec(self) -> dict:
        return {
            "type": "Conv2D",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": spec_value(self.kernel_size),
            "stride": spec_value(self.stride),
            "padding": spec_value(self.padding),
            "init": self.init,
        }

    @classmethod
    def from_spec(
        cls, fields: dict, *, rng: np.random.Generator, dtype: type[np.floating] = np.float32
    ) -> Conv2D:
        return cls(**fields, rng=rng, dtype=dtype)

    def __repr__(self) -> str:
        (kh, kw), extras = self.kernel_size, ""
        if self.stride != (1, 1):
            extras += f", stride={spec_value(self.stride)}"
        if self.padding != (0, 0):
            extras += f", padding={spec_value(self.padding)}"
        return f"Conv2D({self.in_channels}→{self.out_channels}, {kh}x{kw}{extras})"
