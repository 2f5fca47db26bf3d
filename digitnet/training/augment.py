"""Random distortions of 28×28 digit batches for training: rotation, scaling, shift, and
optionally elastic distortion (Simard, Steinkraus & Platt 2003), all samples at once.

Every output pixel p is read from the input at T⁻¹(p) + d(p) by bilinear interpolation, where
T = shift ∘ scale ∘ rotation about the image centre and d is the elastic displacement
field; positions outside the image read 0 (background). Inputs are intensities with a 0
background, e.g. [0, 1]: augment before standardising.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from digitnet.errors import ConfigError

SIDE = 28
CENTRE = (SIDE - 1) / 2  # rotation and scaling are about the middle of the pixel grid


def _check_settings(
    max_shift: float, max_rotation: float, max_scale: float, alpha: float, sigma: float
) -> None:
    named = {"max_shift": max_shift, "max_rotation": max_rotation, "elastic_alpha": alpha}
    for name, value in {**named, "max_scale": max_scale, "elastic_sigma": sigma}.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
            raise ConfigError(f"augmentation {name} must be a finite number, got {value!r}")
    for name, value in named.items():
        if value < 0:
            raise ConfigError(f"augmentation {name} must be >= 0, got {value!r}")
    if not 0 <= max_scale < 1:
        raise ConfigError(f"augmentation max_scale must be in [0, 1), got {max_scale!r}")
    if sigma <= 0:
        raise ConfigError(f"augmentation elastic_sigma must be > 0, got {sigma!r}")


def gaussian_matrix(sigma: float, size: int = SIDE) -> np.ndarray:
    """(size, size) float32 matrix M with (field @ M) = the field's rows convolved with a
    Gaussian of `sigma` pixels, truncated at 4σ, zero beyond the border (like scipy's
    gaussian_filter with mode="constant"). Symmetric, so it smooths columns as M @ field."""
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    radius = int(4 * sigma + 0.5)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel_sum = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).sum()
    return np.where(np.abs(offsets) <= radius, weights / kernel_sum, 0.0).astype(np.float32)


def elastic_field(n: int, alpha: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 2, 28, 28) float32 displacements (rows, columns) in pixels: uniform noise in
    [−1, 1] smoothed by a Gaussian of sigma along both axes (M @ noise @ M), times alpha."""
    noise = rng.random((n, 2, SIDE, SIDE), dtype=np.float32)
    noise *= 2
    noise -= 1
    smoothing = gaussian_matrix(sigma)
    field = smoothing @ noise @ smoothing
    field *= alpha
    return field


def augment_batch(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    max_shift: float = 2.0,
    max_rotation: float = 12.0,
    max_scale: float = 0.1,
    elastic_alpha: float = 0.0,
    elastic_sigma: float = 4.0,
) -> np.ndarray:
    """A randomly distorted copy of x: (batch, 784) or (batch, 1, 28, 28) float32 -> same.

    Per sample: rotation uniform in ±max_rotation degrees, scale factor uniform in
    1 ± max_scale, shift uniform in ±max_shift pixels along each axis, all about the image
    centre; with elastic_alpha > 0 also an elastic field (elastic_alpha pixels times noise
    smoothed by a Gaussian of elastic_sigma pixels; Simard et al. use 34 and 4). Random
    numbers come from rng only, in a fixed order, so a seed reproduces the batch. Outputs
    stay within the range of x and 0. Raises ValueError for another shape, ConfigError for
    bad settings.
    """
    _check_settings(max_shift, max_rotation, max_scale, elastic_alpha, elastic_sigma)
    if x.ndim not in (2, 4) or x.shape[1:] not in ((SIDE * SIDE,), (1, SIDE, SIDE)):
        raise ValueError(f"augment_batch expects (batch, 784) or (batch, 1, 28, 28), got {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        raise ValueError(f"augment_batch expects float32 or float64 pixels, got {x.dtype}")
    n = len(x)
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation, n))
    scale = rng.uniform(1 - max_scale, 1 + max_scale, n)
    shift_row, shift_col = rng.uniform(-max_shift, max_shift, (2, n))
    # inverse map q_in = R(−angle)·(q_out − shift) / scale, q relative to the centre
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    offset_row = CENTRE - cos * shift_row - sin * shift_col
    offset_col = CENTRE + sin * shift_row - cos * shift_col
    cos, sin, offset_row, offset_col = (  # per-sample (n, 1, 1) factors in the pixels' dtype
        v.astype(x.dtype)[:, None, None] for v in (cos, sin, offset_row, offset_col)
    )
    q = np.arange(SIDE, dtype=x.dtype) - CENTRE
    rows = cos * q[:, None] + sin * q[None, :]  # (n, 28, 28)
    rows += offset_row
    cols = cos * q[None, :] - sin * q[:, None]
    cols += offset_col
    if elastic_alpha > 0:
        field = elastic_field(n, elastic_alpha, elastic_sigma, rng)
        rows += field[:, 0]
        cols += field[:, 1]
    return _bilinear(x.reshape(n, SIDE, SIDE), rows, cols).reshape(x.shape)


def _bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """images (n, 28, 28) sampled at fractional (rows, cols) (n, 28, 28); 0 outside.

    Overwrites rows and cols. Positions are first clipped to [−1, 28], where the zero frame
    around the images gives 0 for both neighbours, so no index check is needed afterwards.
    """
    n = len(images)
    width = SIDE + 3  # a zero frame: one row/column before the image, two after
    padded = np.zeros((n, width, width), images.dtype)
    padded[:, 1 : SIDE + 1, 1 : SIDE + 1] = images
    flat = padded.reshape(-1)
    np.clip(rows, -1, SIDE, out=rows)
    np.clip(cols, -1, SIDE, out=cols)
    # few, reused temporaries: fresh pages cost more than the arithmetic on them
    row0, col0 = np.floor(rows), np.floor(cols)
    rows -= row0  # now the fractional parts
    cols -= col0
    row0 *= width
    row0 += col0
    top_left = row0.astype(np.int32)  # flat index of the top-left neighbour, less the frame
    top_left += (np.arange(n, dtype=np.int32) * width * width + width + 1)[:, None, None]
    top = flat.take(top_left, out=row0)
    top_right = flat[1:].take(top_left, out=col0)  # flat[1:] shifts the index by one column
    bottom, bottom_right = flat[width:].take(top_left), flat[width + 1 :].take(top_left)
    top_right -= top
    top_right *= cols
    top += top_right  # the top row interpolated along columns
    bottom_right -= bottom
    bottom_right *= cols
    bottom += bottom_right
    bottom -= top
    bottom *= rows
    top += bottom
    # rounding in the lerps must not leave the input's range (e.g. [0, 1])
    return np.clip(top, images.min(initial=0.0), images.max(initial=0.0), out=top)


@dataclass(frozen=True)
class Augmentation:
    """augment_batch's settings as a value: `Augmentation(max_shift=1.0)(x, rng)`.

    Raises ConfigError on construction for bad settings.
    """

    max_shift: float = 2.0
    max_rotation: float = 12.0
    max_scale: float = 0.1
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0

    def __post_init__(self) -> None:
        _check_settings(
            self.max_shift,
            self.max_rotation,
            self.max_scale,
            self.elastic_alpha,
            self.elastic_sigma,
        )

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return augment_batch(x, rng, **asdict(self))


AUGMENTATIONS: dict[str, Augmentation] = {
    "shift": Augmentation(max_shift=2.0, max_rotation=0.0, max_scale=0.0),
    "affine": Augmentation(max_shift=2.0, max_rotation=12.0, max_scale=0.1),
    # Simard et al. (2003): elastic distortions with sigma 4 and a strength of about 34
    "elastic": Augmentation(max_shift=2.0, max_rotation=10.0, max_scale=0.1, elastic_alpha=34.0),
}
