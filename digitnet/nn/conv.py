"""Image layers on (batch, channels, height, width) arrays: Conv2D, MaxPool2D, Flatten.

Conv2D is im2col + one GEMM. The columns are laid out (in·kh·kw, batch·H'·W') so that the
forward product, the weight gradient and the column gradient are each one large matrix
product; im2col and col2im loop only over the kh·kw kernel offsets, each step copying or
adding a whole (in, batch, H', W') slab.
"""

from __future__ import annotations

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.init import initialize
from digitnet.nn.layers import Layer, register_layer


def _pair(value: int | tuple[int, int] | list[int], name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair; ConfigError otherwise."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(
        not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < minimum for v in pair
    ):
        raise ConfigError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _spec_value(pair: tuple[int, int]) -> int | list[int]:
    """A pair for the JSON spec: one int when both sides agree."""
    return pair[0] if pair[0] == pair[1] else list(pair)


def _out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _embed(src: np.ndarray, size: tuple[int, int], top: int, left: int) -> np.ndarray:
    """Zeros of shape (C, batch, *size) with src (C, batch, h, w) placed with its first pixel
    at (top, left): zero padding for positive offsets, cropping where src sticks out."""
    out = np.zeros((*src.shape[:2], *size), src.dtype)
    rows = slice(max(top, 0), min(top + src.shape[2], size[0]))
    cols = slice(max(left, 0), min(left + src.shape[3], size[1]))
    if rows.start < rows.stop and cols.start < cols.stop:
        src_rows = slice(rows.start - top, rows.stop - top)
        out[:, :, rows, cols] = src[:, :, src_rows, cols.start - left : cols.stop - left]
    return out


def _im2col(
    padded: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], out_h: int, out_w: int
) -> np.ndarray:
    """padded (C, batch, Hp, Wp) -> columns (C, kh, kw, batch, out_h, out_w), contiguous, so
    that .reshape(C·kh·kw, batch·out_h·out_w) is the GEMM operand without another copy."""
    (kh, kw), (sh, sw) = kernel, stride
    cols = np.empty((padded.shape[0], kh, kw, padded.shape[1], out_h, out_w), padded.dtype)
    for i in range(kh):
        for j in range(kw):  # one (C, batch, out_h, out_w) slab per kernel offset
            cols[:, i, j] = padded[:, :, i : i + sh * out_h : sh, j : j + sw * out_w : sw]
    return cols


@register_layer
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
        self.in_channels = _pair(in_channels, "Conv2D in_channels", 1)[0]
        self.out_channels = _pair(out_channels, "Conv2D out_channels", 1)[0]
        self.kernel_size = _pair(kernel_size, "Conv2D kernel_size", 1)
        self.stride = _pair(stride, "Conv2D stride", 1)
        self.padding = _pair(padding, "Conv2D padding", 0)
        self.init = init
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.params = {
            "W": initialize(init, shape, rng).astype(dtype),
            "b": np.zeros(self.out_channels, dtype),
        }
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cols: np.ndarray | None = None  # (in, kh, kw, batch, H', W'): what backward needs
        self._x_shape: tuple[int, ...] = ()

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2D expects (batch, {self.in_channels}, H, W), got {x.shape}")
        batch, _, height, width = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        out_h, out_w = _out_size(height, kh, sh, ph), _out_size(width, kw, sw, pw)
        if out_h < 1 or out_w < 1:
            raise ValueError(f"Conv2D kernel {self.kernel_size} is larger than the input {x.shape}")
        # channels first, then batch: each kernel offset copies one contiguous slab
        size = (height + 2 * ph, width + 2 * pw)
        padded = _embed(x.transpose(1, 0, 2, 3), size, ph, pw)
        cols = _im2col(padded, self.kernel_size, self.stride, out_h, out_w)
        self._cols, self._x_shape = cols, x.shape
        W_mat = self.params["W"].reshape(self.out_channels, -1)  # (out, in·kh·kw)
        z = W_mat @ cols.reshape(W_mat.shape[1], -1)  # (out, batch·H'·W')
        out = np.empty((batch, self.out_channels, out_h, out_w), x.dtype)
        # add the bias while moving channels back behind the batch axis: one pass, one copy
        z = z.reshape(self.out_channels, batch, out_h, out_w).transpose(1, 0, 2, 3)
        np.add(z, self.params["b"][:, None, None], out=out)
        return out

    def backward(self, grad_z: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray | None:
        """Overwrite grads["W"], grads["b"]; return dLoss/dx (None if not need_input_grad)."""
        cols = self._cols
        grad_mat = grad_z.transpose(1, 0, 2, 3).reshape(self.out_channels, -1)  # (out, N)
        np.sum(grad_mat, axis=1, out=self.grads["b"])
        # (in·kh·kw, N) @ (N, out): measured faster than (out, N) @ (N, in·kh·kw) in OpenBLAS
        grad_W = cols.reshape(-1, grad_mat.shape[1]) @ grad_mat.T
        self.grads["W"].reshape(self.out_channels, -1)[...] = grad_W.T
        if not need_input_grad:
            return None
        batch, _, height, width = self._x_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        W = self.params["W"]
        if (sh, sw) == (1, 1):
            # dLoss/dx is the correlation of grad_z, padded by k − 1 − p, with the flipped
            # kernel: one more im2col + GEMM, measured 1.6x faster than GEMM + col2im
            size = (height + kh - 1, width + kw - 1)
            padded = _embed(grad_z.transpose(1, 0, 2, 3), size, kh - 1 - ph, kw - 1 - pw)
            grad_cols = _im2col(padded, self.kernel_size, (1, 1), height, width)
            W_flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(self.in_channels, -1)
            grad_x = W_flipped @ grad_cols.reshape(W_flipped.shape[1], -1)
            grad_x = grad_x.reshape(self.in_channels, batch, height, width).transpose(1, 0, 2, 3)
            return np.ascontiguousarray(grad_x)
        # col2im: add each kernel offset's slab of column gradients back where it came from
        grad_cols = (W.reshape(self.out_channels, -1).T @ grad_mat).reshape(cols.shape)
        out_h, out_w = cols.shape[4:]
        grad_padded = np.zeros((self.in_channels, batch, height + 2 * ph, width + 2 * pw), W.dtype)
        for i in range(kh):
            for j in range(kw):
                rows, columns = slice(i, i + sh * out_h, sh), slice(j, j + sw * out_w, sw)
                grad_padded[:, :, rows, columns] += grad_cols[:, i, j]
        grad_x = grad_padded[:, :, ph : ph + height, pw : pw + width].transpose(1, 0, 2, 3)
        return np.ascontiguousarray(grad_x)

    def spec(self) -> dict:
        return {
            "type": "Conv2D",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": _spec_value(self.kernel_size),
            "stride": _spec_value(self.stride),
            "padding": _spec_value(self.padding),
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
            extras += f", stride={_spec_value(self.stride)}"
        if self.padding != (0, 0):
            extras += f", padding={_spec_value(self.padding)}"
        return f"Conv2D({self.in_channels}→{self.out_channels}, {kh}x{kw}{extras})"


@register_layer
class MaxPool2D(Layer):
    """Maximum over pool_size windows every stride pixels (stride defaults to pool_size).

    x: (batch, C, H, W) -> (batch, C, (H − ph) // sh + 1, (W − pw) // sw + 1); rows or columns
    that do not fill a window are dropped (PyTorch's floor mode). The gradient goes to one
    maximum per window: the first in row-major order where several tie. Windows may overlap
    (stride < pool_size); the gradients of overlapping windows add up.
    """

    def __init__(
        self,
        pool_size: int | tuple[int, int] = 2,
        stride: int | tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.pool_size = _pair(pool_size, "MaxPool2D pool_size", 1)
        self.stride = self.pool_size if stride is None else _pair(stride, "MaxPool2D stride", 1)
        self._argmax: np.ndarray | None = None  # (batch, C, H', W') offset index in the window
        self._x_shape: tuple[int, ...] = ()

    def _offsets(self, x: np.ndarray, out_h: int, out_w: int):
        """(index, view of x at that window offset), each view (batch, C, H', W')."""
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        for i in range(ph):
            for j in range(pw):
                yield i * pw + j, x[:, :, i : i + sh * out_h : sh, j : j + sw * out_w : sw]

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if x.ndim != 4:
            raise ValueError(f"MaxPool2D expects (batch, C, H, W), got {x.shape}")
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        out_h, out_w = (x.shape[2] - ph) // sh + 1, (x.shape[3] - pw) // sw + 1
        if out_h < 1 or out_w < 1:
            raise ValueError(f"MaxPool2D window {self.pool_size} exceeds the input {x.shape}")
        self._x_shape = x.shape
        # a running maximum over the ph·pw strided views of x: no window copies (a reshape to
        # (batch, C, H', ph, W', pw) and .max(axis=(3, 5)) measured 25x slower)
        offsets = self._offsets(x, out_h, out_w)
        out = next(offsets)[1].copy()
        argmax = np.zeros(out.shape, np.uint8)
        for index, view in offsets:
            larger = np.greater(view, out)  # strictly: a tie keeps the earlier offset
            np.maximum(out, view, out=out)
            argmax = np.where(larger, np.uint8(index), argmax)
        self._argmax = argmax
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Route each output gradient to its window's (first) maximum."""
        grad_x = np.zeros(self._x_shape, grad_out.dtype)
        out_h, out_w = grad_out.shape[2:]
        overlapping = any(s < p for s, p in zip(self.stride, self.pool_size, strict=True))
        for index, view in self._offsets(grad_x, out_h, out_w):
            routed = np.where(self._argmax == index, grad_out, 0)
            if overlapping:
                view += routed
            else:
                view[...] = routed  # each pixel lies in at most one window
        return grad_x

    def spec(self) -> dict:
        return {
            "type": "MaxPool2D",
            "pool_size": _spec_value(self.pool_size),
            "stride": _spec_value(self.stride),
        }

    def __repr__(self) -> str:
        if self.stride == self.pool_size:
            return f"MaxPool2D({_spec_value(self.pool_size)})"
        return f"MaxPool2D({_spec_value(self.pool_size)}, stride={_spec_value(self.stride)})"


@register_layer
class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1·d2·...), a view when x is contiguous."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self._x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(self._x_shape)
