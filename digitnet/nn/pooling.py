"""Pooling and flattening for (batch, channels, height, width) arrays: MaxPool2D, Flatten.

MaxPool2D is a running maximum over strided views (2x2: a tournament), with no window copies.
"""

from __future__ import annotations

import math

import numpy as np

from digitnet.nn.image_arrays import array_in_order, memory_order, pair, spec_value
from digitnet.nn.layers import Layer


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
        self.pool_size = pair(pool_size, "MaxPool2D pool_size", 1)
        self.stride = self.pool_size if stride is None else pair(stride, "MaxPool2D stride", 1)
        self._argmax: np.ndarray | None = None  # (batch, C, H', W') offset index in the window
        self._x_shape: tuple[int, ...] = ()
        self._x_order: tuple[int, ...] = ()  # the input's memory order, for its gradient

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
        self._x_shape, self._x_order = x.shape, memory_order(x)
        if self.pool_size == self.stride == (2, 2):
            out, self._argmax = self._max_of_four(x, out_h, out_w)
            return out
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

    def _max_of_four(self, x: np.ndarray, out_h: int, out_w: int):
        """2x2 windows as a tournament: max(max(a, b), max(c, d)) with a b / c d the window in
        row-major order; ties go to the earlier pixel. 1.4x faster than the running maximum."""
        a, b, c, d = (view for _, view in self._offsets(x, out_h, out_w))
        right, top = np.greater(b, a), np.maximum(a, b)
        bottom_right, bottom = np.greater(d, c), np.maximum(c, d)
        lower = np.greater(bottom, top)
        out = np.maximum(top, bottom, out=top)
        # index = 2·lower + (bottom_right if lower else right), in bit operations on uint8
        # (np.where on booleans measured 7x slower than all of these together)
        right, bottom_right, lower = (v.view(np.uint8) for v in (right, bottom_right, lower))
        column = right ^ ((right ^ bottom_right) & lower)
        return out, column | (lower << 1)

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray:
        """Route each output gradient to its window's (first) maximum."""
        if self._argmax is None:
            raise self._no_forward_yet()
        out_h, out_w = grad_out.shape[2:]
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        overlapping = sh < ph or sw < pw
        covered = (sh, sw) == (ph, pw) and self._x_shape[2:] == (out_h * sh, out_w * sw)
        # in x's memory order, so that the layers below combine it with their own arrays fast
        grad_x = array_in_order(self._x_shape, self._x_order, grad_out.dtype, zeros=not covered)
        argmax_order = memory_order(self._argmax)
        if memory_order(grad_out) != argmax_order:  # mixed orders measured 6x slower
            aligned = array_in_order(grad_out.shape, argmax_order, grad_out.dtype, zeros=False)
            aligned[...] = grad_out
            grad_out = aligned
        with np.errstate(over="ignore", invalid="ignore"):
            finite = bool(np.isfinite(grad_out.sum()))  # a sum is inf/NaN if any value is
        for index, view in self._offsets(grad_x, out_h, out_w):
            if overlapping:
                view += np.where(self._argmax == index, grad_out, 0)
            elif finite:  # each pixel lies in at most one window: write, do not add
                np.multiply(grad_out, self._argmax == index, out=view)
            else:  # inf · 0 would put NaN where no gradient goes (5x slower, so only here)
                view[...] = np.where(self._argmax == index, grad_out, 0)
        return grad_x

    def spec(self) -> dict:
        return {
            "type": "MaxPool2D",
            "pool_size": spec_value(self.pool_size),
            "stride": spec_value(self.stride),
        }

    def __repr__(self) -> str:
        if self.stride == self.pool_size:
            return f"MaxPool2D({spec_value(self.pool_size)})"
        return f"MaxPool2D({spec_value(self.pool_size)}, stride={spec_value(self.stride)})"


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1·d2·...), a view when x is contiguous."""

    _x_shape: tuple[int, ...] | None = None  # the last forward's input shape

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self._x_shape = x.shape
        # math.prod, not -1: an empty batch has no size to infer
        return x.reshape(len(x), math.prod(x.shape[1:]))

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray:
        if self._x_shape is None:
            raise self._no_forward_yet()
        return grad_out.reshape(self._x_shape)
