"""The BLAS calls NumPy does not expose, for fusing an optimizer's update into a product.

A weight gradient is a product, grad_W = xᵀ·grad_z, and SGD's next use of it is linear:
velocity = momentum·velocity + grad_W. BLAS's GEMM computes C = α·AᵀB + β·C in one pass over
C, so the velocity can take the product directly, with no gradient array written and read
again; AXPY (y += α·x) then moves the weights in one more pass. For one sample the product is
an outer product, which GER (A += α·x·yᵀ) adds in one pass. NumPy has neither α nor β, so
these functions call the BLAS NumPy itself loaded (its bundled OpenBLAS: one library, one
thread pool) through ctypes. Where that library is not found (a NumPy built against another
BLAS, another platform), or for arrays it does not cover, the same results come from NumPy.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS enum values
ILP64_PREFIXES = ("scipy_cblas_", "cblas_")  # NumPy's wheels: scipy_cblas_sgemm64_ and the like


@dataclass(frozen=True)
class Routines:
    """ctypes functions of one ILP64 CBLAS library, by dtype: {float32: sgemm, float64: dgemm}."""

    gemm: dict[type, Callable]
    axpy: dict[type, Callable]
    ger: dict[type, Callable]
    # openblas_set_num_threads_local(n) -> the calling thread's previous count (OpenBLAS 0.3.27+)
    threads_local: Callable[[int], int] | None = None


def _library_paths() -> list[str]:
    """OpenBLAS libraries shipped inside NumPy (its wheels: numpy.libs/ on Linux and Windows,
    numpy/.dylibs/ on macOS), then any other this process has mapped (Linux)."""
    numpy_dir = os.path.dirname(np.__file__)
    paths: list[str] = []
    for folder in (numpy_dir + ".libs", os.path.join(numpy_dir, ".dylibs")):
        paths += sorted(glob.glob(os.path.join(folder, "*openblas*")))
    try:
        with open("/proc/self/maps") as maps:
            # fields: address, perms, offset, device, inode, then the path (spaces allowed)
            fields = (line.split(maxsplit=5) for line in maps if "openblas" in line.lower())
            paths += [entry[5].strip() for entry in fields if len(entry) == 6]
    except OSError:
        pass
    return list(dict.fromkeys(path for path in paths if os.path.isfile(path)))


def _bind(library: ctypes.CDLL, prefix: str) -> Routines | None:
    """The library's ?gemm, ?axpy and ?ger (s: float32, d: float64) with 64-bit integers, or
    None if it lacks one."""
    i64, enum, pointer = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
    gemm, axpy, ger = {}, {}, {}
    kinds = ((np.float32, "s", ctypes.c_float), (np.float64, "d", ctypes.c_double))
    for dtype, letter, real in kinds:
        try:
            gemm_fn = getattr(library, f"{prefix}{letter}gemm64_")
            axpy_fn = getattr(library, f"{prefix}{letter}axpy64_")
            ger_fn = getattr(library, f"{prefix}{letter}ger64_")
        except AttributeError:
            return None
        gemm_fn.restype = axpy_fn.restype = ger_fn.restype = None
        gemm_fn.argtypes = [enum, enum, enum, i64, i64, i64, real, pointer, i64, pointer, i64,
                            real, pointer, i64]  # fmt: skip
        axpy_fn.argtypes = [i64, real, pointer, i64, pointer, i64]
        ger_fn.argtypes = [enum, i64, i64, real, pointer, i64, pointer, i64, pointer, i64]
        gemm[dtype], axpy[dtype], ger[dtype] = gemm_fn, axpy_fn, ger_fn
    threads_local = getattr(library, "openblas_set_num_threads_local", None)
    if threads_local is not None:
        threads_local.argtypes, threads_local.restype = [ctypes.c_int], ctypes.c_int
    return Routines(gemm, axpy, ger, threads_local)


@functools.cache
def routines() -> Routines | None:
    """The BLAS routines to call, found once per process; None means NumPy does the work.

    Only ILP64 symbols (names ending in 64_, 64-bit integers) are bound, and a candidate must
    reproduce NumPy's results on a small product and sum before it is used."""
    for path in _library_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ILP64_PREFIXES:
            found = _bind(library, prefix)
            if found is not None and _agrees_with_numpy(found):
                return found
    return None


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """BLAS on the calling thread alone inside the block (where OpenBLAS can say so): the
    products of one image are too small to share, and waking a second thread on a busy
    machine made a single-image CNN forward several times slower (benchmarks/predict_one.py)."""
    found = routines()
    if found is None or found.threads_local is None:
        yield
        return
    previous = found.threads_local(1)
    try:
        yield
    finally:
        found.threads_local(previous)


def _agrees_with_numpy(found: Routines) -> bool:
    """Whether the bound routines give NumPy's results on small float32 and float64 arrays."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        a, wide = rng.random((5, 3), dtype), rng.random((5, 9), dtype)
        canvas = rng.random((3, 7), dtype)
        b, out = wide[:, 2:6], canvas[:, 1:5]  # strided views: leading dimensions 9 and 7
        expected, untouched = 0.5 * a.T @ b + 2.0 * out, canvas[:, [0, 5, 6]].copy()
        _call_gemm(found, a.T, b, out, 0.5, 2.0, _gemm_layouts(a.T, b, out))
        y, x = rng.random(7, dtype), rng.random(7, dtype)
        expected_y = y + 3.0 * x
        _call_axpy(found, 3.0, x, y)
        grid, column, row = rng.random((7, 5), dtype), rng.random(7, dtype), rng.random(5, dtype)
        expected_grid = grid - 2.0 * np.outer(column, row)
        _call_ger(found, -2.0, column, row, grid)
        results = ((out, expected), (canvas[:, [0, 5, 6]], untouched), (y, expected_y),
                   (grid, expected_grid))  # fmt: skip
        if not all(np.allclose(got, want, rtol=1e-5) for got, want in results):
            return False
    return True


Layout = tuple[int, int]  # (NO_TRANS or TRANS, leading dimension) of a matrix BLAS reads


def _layout(a: np.ndarray) -> Layout | None:
    """How BLAS reads the 2-D array `a` where it lies: rows contiguous (NO_TRANS, row stride)
    or columns contiguous (TRANS, column stride), in elements; None for any other strides."""
    item, (rows, cols), (row_step, col_step) = a.itemsize, a.shape, a.strides
    if (col_step == item or cols == 1) and row_step % item == 0:
        lead = row_step // item if rows > 1 else cols
        if lead >= cols:
            return NO_TRANS, max(lead, 1)
    if (row_step == item or rows == 1) and col_step % item == 0:
        lead = col_step // item if cols > 1 else rows
        if lead >= rows:
            return TRANS, max(lead, 1)
    return None


def _gemm_layouts(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> tuple | None:
    """(layout of a, layout of b, row stride of out) for a GEMM that reads a and b and writes
    out in place, or None where BLAS cannot (see _blas_ready; out's rows must be contiguous)."""
    if not _blas_ready(out, a, b):
        return None
    layouts = _layout(a), _layout(b), _layout(out)
    if None in layouts or layouts[2][0] != NO_TRANS:
        return None
    return layouts[0], layouts[1], layouts[2][1]


def _call_gemm(found: Routines, a, b, out, alpha, beta, layouts: tuple) -> None:
    """out = alpha·a·b + beta·out by BLAS, with the layouts _gemm_layouts found."""
    (trans_a, lead_a), (trans_b, lead_b), lead_out = layouts
    m, n = out.shape
    found.gemm[a.dtype.type](ROW_MAJOR, trans_a, trans_b, m, n, a.shape[1], alpha,
                             _address(a), lead_a, _address(b), lead_b, beta,
                             _address(out), lead_out)  # fmt: skip


def _call_axpy(found: Routines, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    found.axpy[x.dtype.type](x.size, alpha, _address(x), 1, _address(y), 1)


def _call_ger(found: Routines, alpha: float, x: np.ndarray, y: np.ndarray, a: np.ndarray) -> None:
    """a += alpha·outer(x, y) by BLAS; x, y contiguous vectors, a a C-contiguous matrix."""
    rows, cols = a.shape
    found.ger[a.dtype.type](ROW_MAJOR, rows, cols, alpha, _address(x), 1, _address(y), 1,
                            _address(a), cols)  # fmt: skip


NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # native byte order only


def _address(a: np.ndarray) -> int:
    """The address of a's first element. ndarray.ctypes builds a helper object (~2.5 µs, more
    than a small AXPY itself); a writeable contiguous array's buffer gives it in ~1 µs."""
    if a.flags.writeable and a.flags.c_contiguous:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    return a.ctypes.data


def _blas_ready(out: np.ndarray, *inputs: np.ndarray) -> bool:
    """All of one native float dtype, aligned and not empty; out writeable and sharing no
    memory with the inputs. (Strides are the caller's to check: GEMM takes strided views.)
    Checked on every call to gemm, axpy and ger: written as plain loops, as it costs more
    than a small layer's update otherwise."""
    dtype = out.dtype
    if dtype not in NATIVE_FLOATS or not out.size:
        return False
    flags = out.flags
    if not (flags.writeable and flags.aligned):
        return False
    for a in inputs:
        if a.dtype != dtype or not a.size or not a.flags.aligned or np.may_share_memory(out, a):
            return False
    return True


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float, beta: float) -> None:
    """out = alpha·a·b + beta·out, in place.  a: (m, k), b: (k, n), out: (m, n).

    Strided views are read and written in place where each has rows or columns contiguous
    (out: rows), so a product can accumulate into a slice of a larger matrix (beta = 1) with
    no temporary array. As in BLAS, beta = 0 ignores out's old values (NaN included) and
    alpha = 0 skips the product (so 0·inf in it gives no NaN); NumPy does the work for
    arrays BLAS cannot take."""
    if a.ndim != 2 or b.ndim != 2 or out.shape != (len(a), b.shape[1]) or a.shape[1] != len(b):
        raise ValueError(f"gemm shapes {a.shape}·{b.shape} -> {out.shape} do not match")
    found = routines()
    # alpha = 0 stays in NumPy: some OpenBLAS builds' small-matrix kernels multiply 0 by inf
    layouts = None if found is None or alpha == 0.0 else _gemm_layouts(a, b, out)
    if layouts is not None:
        _call_gemm(found, a, b, out, alpha, beta, layouts)
        return
    product = np.matmul(a, b) if alpha else None
    if beta == 0.0:
        out[...] = 0.0
    elif beta != 1.0:
        out *= beta
    if product is not None:
        if alpha != 1.0:
            product *= alpha
        out += product


def gemm_tn(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float, beta: float) -> None:
    """out = alpha·aᵀ·b + beta·out, in place.  a: (k, m), b: (k, n), out: (m, n); as gemm."""
    if a.ndim != 2 or b.ndim != 2 or out.shape != (a.shape[1], b.shape[1]) or len(a) != len(b):
        raise ValueError(f"gemm_tn shapes {a.shape}ᵀ·{b.shape} -> {out.shape} do not match")
    gemm(a.T, b, out, alpha, beta)


def ger(alpha: float, x: np.ndarray, y: np.ndarray, a: np.ndarray) -> None:
    """a += alpha·outer(x, y), in place, in one pass.  x: (m,), y: (n,), a: (m, n).

    The weight gradient of one sample is such an outer product: NumPy's broadcast multiply
    forms a 784x16 one in ~18 µs where GER adds it in ~6 µs (benchmarks/plain_loop.py)."""
    if x.ndim != 1 or y.ndim != 1 or a.shape != (len(x), len(y)):
        raise ValueError(f"ger shapes {x.shape}, {y.shape} -> {a.shape} do not match")
    found = routines()
    contiguous = a.flags.c_contiguous and x.flags.c_contiguous and y.flags.c_contiguous
    if found is not None and alpha and contiguous and _blas_ready(a, x, y):
        _call_ger(found, alpha, x, y, a)
    elif alpha:
        a += np.multiply.outer(alpha * x, y)


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """y += alpha·x, in place, in one pass (NumPy needs a temporary array for alpha·x);
    alpha = 0 leaves y as it is, as in BLAS."""
    if x.shape != y.shape:
        raise ValueError(f"axpy shapes {x.shape} and {y.shape} differ")
    found = routines()
    contiguous = x.flags.c_contiguous and y.flags.c_contiguous  # AXPY walks both with step 1
    if found is not None and contiguous and _blas_ready(y, x):
        _call_axpy(found, alpha, x, y)
    elif alpha:
        y += alpha * x


class BoundAxpy:
    """y += alpha·x for one pair of arrays that live as long as the training (a parameter and
    its gradient or velocity), checked once: axpy's checks cost ~10 µs a call, more than the
    update of a small layer itself (benchmarks/plain_loop.py). Holds both arrays, so the
    addresses it calls BLAS with stay valid; NumPy where BLAS cannot take them."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        if x.shape != y.shape:
            raise ValueError(f"axpy shapes {x.shape} and {y.shape} differ")
        self.x, self.y = x, y
        found = routines()
        contiguous = x.flags.c_contiguous and y.flags.c_contiguous
        self._routine = None
        if found is not None and contiguous and _blas_ready(y, x):
            self._routine = found.axpy[x.dtype.type]
            self._args = (x.size, x.ctypes.data, y.ctypes.data)

    def __call__(self, alpha: float) -> None:
        if self._routine is not None:
            size, x_address, y_address = self._args
            self._routine(size, alpha, x_address, 1, y_address, 1)
        elif alpha:
            self.y += alpha * self.x


@dataclass(frozen=True, eq=False)
class GradientProduct:
    """A weight gradient not yet computed: grad = leftᵀ·right (Dense: xᵀ·grad_z).

    A layer hands it to the optimizer instead of filling `grad`, so that the optimizer can
    fold it into its update with `into`; `compute` fills `grad` for optimizers that need it.
    `grad` is the layer's gradient array, which the optimizer's slot also holds: that array
    is how the optimizer tells which slot a product belongs to."""

    grad: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def into(self, out: np.ndarray, alpha: float = 1.0, beta: float = 0.0) -> None:
        """out = alpha·grad + beta·out, without forming grad."""
        if len(self.left) != 1:
            gemm_tn(self.left, self.right, out, alpha, beta)
            return
        # one sample: an outer product, which OpenBLAS's GEMM with K = 1 ran 4.5x slower than GER
        if beta == 0.0:
            out[...] = 0.0
        elif beta != 1.0:
            out *= beta
        ger(alpha, self.left[0], self.right[0], out)

    def compute(self) -> None:
        """Fill grad itself (what the layer's backward would have written)."""
        if len(self.left) == 1:
            self.into(self.grad)
        else:  # NumPy's own product: no checks to pay for, the same GEMM
            np.matmul(self.left.T, self.right, out=self.grad)
