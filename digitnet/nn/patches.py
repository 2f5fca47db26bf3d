"""The patches a convolution reads: Conv2D's internal layouts, padding, im2col and col2im.

An internal layout keeps channels first so that each kernel offset of im2col copies one slab;
im2col and col2im loop only over the kh·kw kernel offsets. conv_rows.py uses them with a
kernel one row high for its width-only unfolding.
"""

from __future__ import annotations

import numpy as np

# Conv2D works on its input in one of two internal layouts, both with channels first so that
# each kernel offset of im2col copies one slab: (C, batch, H, W), whose rows are image rows,
# or (C, H, W, batch), whose rows are an image row times the batch (longer, faster copies, but
# dearer transposes in and out). Each layout is (permutation from (batch, C, H, W), the axes
# of H and W in the internal array).
CHANNEL_BATCH = ((1, 0, 2, 3), (2, 3))
BATCH_LAST = ((1, 2, 3, 0), (1, 2))


def window_index(ndim: int, axes: tuple[int, int], rows: slice, cols: slice) -> tuple[slice, ...]:
    """An index selecting rows and cols along the two spatial axes, everything elsewhere."""
    index = [slice(None)] * ndim
    index[axes[0]], index[axes[1]] = rows, cols
    return tuple(index)


def resized(shape: tuple[int, ...], axes: tuple[int, int], size: tuple[int, int]):
    """shape with its two spatial axes set to size."""
    shape = list(shape)
    shape[axes[0]], shape[axes[1]] = size
    return tuple(shape)


def embed(
    src: np.ndarray, size: tuple[int, int], top: int, left: int, axes: tuple[int, int]
) -> np.ndarray:
    """Zeros with src's shape but spatial axes of `size`, src placed with its first pixel at
    (top, left): zero padding for positive offsets, cropping where src sticks out."""
    out = np.zeros(resized(src.shape, axes, size), src.dtype)
    height, width = src.shape[axes[0]], src.shape[axes[1]]
    rows = slice(max(top, 0), min(top + height, size[0]))
    cols = slice(max(left, 0), min(left + width, size[1]))
    if rows.start < rows.stop and cols.start < cols.stop:
        src_rows = slice(rows.start - top, rows.stop - top)
        src_cols = slice(cols.start - left, cols.stop - left)
        source = src[window_index(src.ndim, axes, src_rows, src_cols)]
        out[window_index(out.ndim, axes, rows, cols)] = source
    return out


def offset_windows(kernel, stride, out_size, ndim, axes):
    """(i, j, index of the input pixels that kernel offset (i, j) meets) for every offset."""
    (kh, kw), (sh, sw), (out_h, out_w) = kernel, stride, out_size
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + sh * out_h, sh), slice(j, j + sw * out_w, sw)
            yield i, j, window_index(ndim, axes, rows, cols)


def im2col(
    padded, kernel, stride, out_size, axes, *, ones_row: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """padded (C, ...) in an internal layout -> (cols, matrix): cols (C, kh, kw, ...) with the
    spatial axes of size out_size, contiguous, and matrix, the same memory as a
    (C·kh·kw, N) GEMM operand (no other copy). With ones_row, matrix has one more row, of
    ones, after the columns: a weight matrix with the bias as its last column then adds the
    bias within the product (and the product with the gradient sums it), no pass of its own."""
    rest = resized(padded.shape, axes, out_size)[1:]
    shape = (padded.shape[0], *kernel, *rest)
    n_columns, n_patch_rows = int(np.prod(rest)), int(np.prod(shape[:3]))
    extra_rows = 1 if ones_row else 0
    matrix = np.empty((n_patch_rows + extra_rows, n_columns), padded.dtype)
    cols = matrix[:n_patch_rows].reshape(shape)
    for i, j, window in offset_windows(kernel, stride, out_size, padded.ndim, axes):
        cols[:, i, j] = padded[window]  # one slab per kernel offset
    if ones_row:
        matrix[-1] = 1
    return cols, matrix


def col2im(grad_cols, padded_size, kernel, stride, axes) -> np.ndarray:
    """The adjoint of im2col: add each kernel offset's slab of column gradients back where it
    came from; (C, kh, kw, ...) -> (C, ...) with spatial axes of padded_size."""
    slab = grad_cols[:, 0, 0]
    out_size = slab.shape[axes[0]], slab.shape[axes[1]]
    grad = np.zeros(resized(slab.shape, axes, padded_size), grad_cols.dtype)
    for i, j, window in offset_windows(kernel, stride, out_size, grad.ndim, axes):
        grad[window] += grad_cols[:, i, j]
    return grad
