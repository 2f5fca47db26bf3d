"""A user's image (photo, scan, canvas drawing) -> the 28x28 an MNIST network was trained on.

MNIST recipe: bright ink on black, cropped to the ink, longest side fitted to 20 px with area
resampling, pasted into 28x28 so that the ink's centre of mass (pixel indices) is at (14, 14).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digitnet.atomic import write_atomically
from digitnet.errors import ImageError

MAX_IMAGE_PIXELS: int = 40_000_000  # larger images are refused (decompression bombs), except a
# JPEG, which is decoded at a reduced scale instead (Pillow's draft mode) up to Pillow's own
# limit of about 179 million pixels
MAX_FILE_BYTES: int = 50 * 1024 * 1024

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")  # JPEG includes phones' MPO files
SIDE, BOX = 28, 20  # MNIST frame and the box the digit is fitted into
WORK_SIDE = 1024  # larger images are area-averaged down first, to bound memory and time
MIN_CONTRAST = 0.12  # ink must differ from the paper by this much (0..1) to count as ink
RAMP = " .:-=+*#%@"
GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "F")  # no colour to tell ink from paper by


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """A user image file as greyscale float32 (H, W) in [0, 1], 1 = white.

    PNG, JPEG, BMP, GIF (first frame), WebP, TIFF; EXIF orientation applied; transparency
    composited on white.  Raises ImageError for a missing, empty, oversized or unreadable file.
    """
    file = Path(path)
    if not file.exists():
        raise ImageError(f"{file}: no such file")
    if file.is_dir():
        raise ImageError(f"{file}: is a folder, not an image file")
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageError(f"{file}: the file is {size} bytes, over the {MAX_FILE_BYTES} limit")
        data = file.read_bytes()
    except OSError as error:
        raise ImageError(f"{file}: cannot be read ({error.strerror or error})") from error
    return decode_image_bytes(data, name=str(file))


def decode_image_bytes(data: bytes, *, name: str = "upload") -> np.ndarray:
    """Image file contents as greyscale float32 (H, W) in [0, 1], 1 = white; see read_image."""
    if not data:
        raise ImageError(f"{name}: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{name}: the file is {len(data)} bytes, over the {MAX_FILE_BYTES} limit")
    try:
        with warnings.catch_warnings():
            # odd EXIF etc.: decode anyway, same in tests and use. Pillow's decompression-bomb
            # warning (over 89 million pixels) is ignored too: the size checks below refuse
            # what is too large or decode a JPEG at a reduced scale; its error (twice that)
            # still stops Image.open
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS and image.format in ("JPEG", "MPO"):
                    # a large phone photo (48 MP and up): JPEG decodes at 1/2 to 1/8 scale,
                    # still at least WORK_SIDE on each side, the size it is shrunk to anyway
                    image.draft(image.mode, (WORK_SIDE, WORK_SIDE))
                    width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageError(
                        f"{name}: {width}x{height} pixels is over the {MAX_IMAGE_PIXELS} limit"
                    )
                if width == 0 or height == 0:
                    raise ImageError(f"{name}: the image has no pixels ({width}x{height})")
                image.load()  # truncated files fail here, not at open()
                return _to_grey(ImageOps.exif_transpose(image))
    except ImageError:
        raise
    except UnidentifiedImageError as error:
        raise ImageError(f"{name}: not a PNG, JPEG, BMP, GIF, WebP or TIFF image") from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(f"{name}: too many pixels, refused as a decompression bomb") from error
    except Exception as error:  # Pillow's decoders raise many types on malformed input
        raise ImageError(
            f"{name}: cannot be decoded, it may be damaged or truncated ({error})"
        ) from error


def _to_grey(image: Image.Image) -> np.ndarray:
    """A loaded Pillow image as float32 (H, W) in [0, 1], transparency composited on white."""
    if image.mode.startswith("I") or image.mode == "F":  # 16-bit/float: convert("L") would clip
        values = np.asarray(image, dtype=np.float64)
        brightest = values.max(initial=0)
        if image.mode.startswith("I;16") or (image.mode == "I" and brightest > 255):
            values = values / 65535
        elif image.mode == "I" or brightest > 1:
            values = values / 255
        return np.clip(values, 0, 1).astype(np.float32)
    colour = image.mode not in GREY_MODES
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    grey_image = image.convert("L")
    grey = np.asarray(grey_image, dtype=np.float32) / 255
    if not colour or _brightness_shows_ink(_at_work_size(grey_image)):
        return grey
    return _colour_distance(_at_work_size(image.convert("RGB")), grey)


def _at_work_size(image: Image.Image) -> np.ndarray:
    """A Pillow image area-averaged down to at most WORK_SIDE pixels on its longer side (in
    Pillow, on 8-bit values: far faster than on floats) as float32 in [0, 1]."""
    size = _fitted_size(image.width, image.height, WORK_SIDE)
    if size is not None:
        image = image.resize(size, Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32) / 255


def _brightness_shows_ink(grey: np.ndarray) -> bool:
    """Whether some ink differs from the paper's brightness by MIN_CONTRAST (3x3 means)."""
    return bool(_box3(np.abs(grey - _border_level(grey))).max() >= MIN_CONTRAST)


def _colour_distance(values: np.ndarray, grey: np.ndarray) -> np.ndarray:
    """For ink that differs from the paper in colour but hardly in brightness (red on a blue
    of the same lightness): 1 − each pixel's distance in `values` (H, W, 3) from the paper's
    colour (the border's median; 1 = as far as black from white), so the ink reads as dark
    ink on white paper. `grey` itself if colour shows no ink either."""
    paper = np.array([_border_level(values[:, :, channel]) for channel in range(3)], np.float32)
    distance = np.sqrt(np.square(values - paper).sum(axis=2) / 3)
    if _box3(distance).max() < MIN_CONTRAST:
        return grey
    return (1 - distance).astype(np.float32)


def to_mnist(grey: np.ndarray, *, ink: str = "auto") -> np.ndarray:
    """A greyscale image (H, W) in [0, 1] (1 = white) -> MNIST-like (28, 28) float32, ink = 1.

    ink: "dark" (dark on light: photos, scans), "light" (light on dark) or "auto" (the border
    decides).  Raises ImageError for NaN/inf, a wrong shape, or no ink; ValueError for a bad `ink`.
    """
    if ink not in ("auto", "dark", "light"):
        raise ValueError(f"ink must be 'auto', 'dark' or 'light', got {ink!r}")
    grey = _validated(grey)
    grey = _shrink(grey, WORK_SIDE)
    is_dark = ink == "dark" or (ink == "auto" and is_dark_ink(grey))
    sign = 1.0 if is_dark else -1.0
    signed = sign * (estimate_background(grey, sign) - grey)  # ink > 0, paper noise around 0
    noise = _noise(signed)
    residual = np.maximum(signed, 0)
    contrast = _box3(residual).max()  # 3x3 mean first, so a lone noisy pixel is not ink
    if contrast < MIN_CONTRAST:
        raise ImageError("no ink found: the image is blank")
    threshold = max(otsu_threshold(residual), 5 * noise, 0.25 * contrast)
    mask = remove_specks(residual > threshold)
    if not mask.any():  # contrast, but only in specks: noise, grain, dust
        raise ImageError("no ink found: nothing but specks stands out from the paper")
    level = np.percentile(residual[mask], 90)  # the ink's core reaches 1, like MNIST strokes
    ink_map = np.where(mask, np.clip(residual / level, 0, 1), 0)
    return center_of_mass_shift(fit_box(crop_to_ink(ink_map, mask), BOX))


def prepare_image(path: str | os.PathLike[str]) -> np.ndarray:
    """A user's image file -> the (28, 28) float32 the network sees; ImageError names the file."""
    grey = read_image(path)
    try:
        return to_mnist(grey, ink="auto")
    except ImageError as error:
        raise ImageError(f"{os.fspath(path)}: {error}") from error


def canvas_to_mnist(pixels: np.ndarray, *, ink: str = "light") -> np.ndarray:
    """A drawing canvas (H, W) in [0, 1], 1 = ink by default -> (28, 28) float32, as to_mnist."""
    return to_mnist(pixels, ink=ink)


def _validated(grey: np.ndarray) -> np.ndarray:
    """The input as float64 in [0, 1], or ImageError for shapes and values we cannot use."""
    array = np.asarray(grey)
    if array.ndim != 2 or array.size == 0:
        raise ImageError(f"expected a greyscale image of shape (H, W), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ImageError(f"expected numbers in the image, got dtype {array.dtype}")
    if array.dtype == np.uint8:
        return array / 255.0
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ImageError("the image contains NaN or infinite values")
    return np.clip(array, 0, 1)


def _shrink(grey: np.ndarray, max_side: int) -> np.ndarray:
    """Area-average an image whose longer side exceeds max_side down to max_side."""
    height, width = grey.shape
    size = _fitted_size(width, height, max_side)
    return grey if size is None else _resize(grey, size)


def _fitted_size(width: int, height: int, max_side: int) -> tuple[int, int] | None:
    """(width, height) scaled so the longer side is max_side; None if it already fits."""
    scale = max_side / max(height, width)
    if scale >= 1:
        return None
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float image to size=(width, height): area averaging down, bilinear up."""
    shrinking = size[0] <= values.shape[1] and size[1] <= values.shape[0]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    resized = Image.fromarray(values.astype(np.float32)).resize(size, method)
    return np.asarray(resized, dtype=np.float64)


def is_dark_ink(grey: np.ndarray) -> bool:
    """Whether the ink is darker than the background: the border is mostly background."""
    background = _border_level(grey)
    smooth = _box3(grey)
    return bool(background - smooth.min() >= smooth.max() - background)


def _border_level(grey: np.ndarray) -> float:
    """The median of a thin ring along the image's edges."""
    ring = max(1, min(grey.shape) // 50)
    edges = [grey[:ring], grey[-ring:], grey[:, :ring], grey[:, -ring:]]
    return float(np.median(np.concatenate([edge.ravel() for edge in edges])))


def estimate_background(grey: np.ndarray, sign: float) -> np.ndarray:
    """The paper's level at every pixel: a quadratic surface fitted to the non-ink pixels.

    A surface, not a constant, so a lighting gradient across a photo is not taken for ink;
    sign is +1 for dark ink, -1 for light ink.  Returns float64 (H, W).
    """
    height, width = grey.shape
    stride = max(1, int(np.ceil(np.sqrt(grey.size / 8192))))  # 6 coefficients: ~8k samples do
    ys = np.arange(0, height, stride)[:, None] / max(height - 1, 1)
    xs = np.arange(0, width, stride)[None, :] / max(width - 1, 1)
    terms = np.stack([term.ravel() for term in _quadratic_terms(ys, xs)], axis=1)
    samples = grey[::stride, ::stride].ravel()
    residual = sign * (_border_level(grey) - samples)
    keep = residual <= 0.5 * residual.max()  # start from the border's level, without clear ink
    for _ in range(3):  # refit without the pixels that look like ink
        coefficients = _least_squares(terms[keep], samples[keep])
        residual = sign * (terms @ coefficients - samples)
        paper = residual[keep]
        keep = residual <= np.median(paper) + 3 * _noise(paper) + 0.02
    ys = np.arange(height)[:, None] / max(height - 1, 1)
    xs = np.arange(width)[None, :] / max(width - 1, 1)
    return sum(c * term for c, term in zip(coefficients, _quadratic_terms(ys, xs), strict=True))


def _least_squares(terms: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Coefficients c minimising |terms @ c - values|, by the 6x6 normal equations: far faster
    than an SVD here, and the centred terms keep them well conditioned (a tiny ridge, safe)."""
    gram = terms.T @ terms + 1e-9 * np.eye(terms.shape[1])
    return np.linalg.solve(gram, terms.T @ values)


def _quadratic_terms(ys: np.ndarray, xs: np.ndarray) -> list[np.ndarray]:
    """1, y, x, y^2, xy, x^2 for a column ys and a row xs in [0, 1], each (len(ys), len(xs))."""
    y, x = np.broadcast_arrays(ys - 0.5, xs - 0.5)
    return [np.ones_like(y), y, x, y * y, x * y, x * x]


def _noise(values: np.ndarray) -> float:
    """Robust standard deviation (scaled median absolute deviation) of the majority."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """The level that best splits values into two classes (Otsu's between-class variance)."""
    counts, edges = np.histogram(values, bins=bins)
    centers = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centers)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = sum_low / weight_low
        mean_high = (sum_low[-1] - sum_low) / weight_high
        between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[1:][np.nanargmax(np.nan_to_num(between, nan=-1.0))])


def _box3(values: np.ndarray) -> np.ndarray:
    """Sum of each pixel's 3x3 neighbourhood divided by 9 (zero padding at the edges)."""
    padded = np.pad(values.astype(np.float64), 1)
    height, width = values.shape
    total = sum(padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3))
    return total / 9


def remove_specks(mask: np.ndarray) -> np.ndarray:
    """Drop ink pixels with fewer than 2 ink neighbours (isolated noise, not strokes)."""
    return mask & (_box3(mask) * 9 >= 3 - 1e-9)


def crop_to_ink(ink_map: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The smallest rectangle of ink_map holding every True pixel of mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return ink_map[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit_box(ink_map: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is `box` pixels, keeping the aspect ratio."""
    height, width = ink_map.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.clip(_resize(ink_map, size), 0, 1)


def center_of_mass_shift(digit: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Paste digit into a side x side black frame with its centre of mass at (side/2, side/2).

    The fractional part of the offset is a bilinear sub-pixel shift, so the result changes
    smoothly with the input instead of jumping a whole pixel at a rounding boundary.
    """
    rows, cols = np.indices(digit.shape)
    mass = digit.sum()
    top_exact = side / 2 - (rows * digit).sum() / mass
    left_exact = side / 2 - (cols * digit).sum() / mass
    top, left = int(np.floor(top_exact)), int(np.floor(left_exact))
    shifted = _shift_fraction(digit, top_exact - top, left_exact - left)
    frame = np.zeros((side, side), dtype=np.float32)
    height, width = shifted.shape
    y0, x0 = max(top, 0), max(left, 0)  # clip the digit to the frame
    y1, x1 = min(top + height, side), min(left + width, side)
    frame[y0:y1, x0:x1] = shifted[y0 - top : y1 - top, x0 - left : x1 - left]
    return frame


def _shift_fraction(values: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Move the content down by dy and right by dx (both in [0, 1)); grows by one row and column."""
    padded = np.pad(values, 1)
    down = (1 - dy) * padded[1:, 1:-1] + dy * padded[:-1, 1:-1]  # (h + 1, w)
    padded = np.pad(down, ((0, 0), (1, 1)))
    return (1 - dx) * padded[:, 1:] + dx * padded[:, :-1]  # (h + 1, w + 1)


def save_mnist_png(image28: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write a (28, 28) image in [0, 1] as an 8-bit greyscale PNG, atomically."""
    pixels = np.asarray(image28, dtype=np.float64)
    if pixels.shape != (SIDE, SIDE):
        raise ValueError(f"expected a (28, 28) image, got shape {pixels.shape}")
    grey = Image.fromarray(np.round(np.clip(np.nan_to_num(pixels), 0, 1) * 255).astype(np.uint8))
    target = Path(path)
    try:
        write_atomically(target, lambda file: grey.save(file, format="PNG"))
    except OSError as error:
        raise ImageError(f"{target}: cannot write ({error.strerror or error})") from error


def ascii_art(image28: np.ndarray) -> str:
    """The digit as 28 lines of text, two characters per pixel so it looks square."""
    pixels = np.clip(np.nan_to_num(np.asarray(image28, dtype=np.float64)), 0, 1)
    if pixels.shape != (SIDE, SIDE):
        raise ValueError(f"expected a (28, 28) image, got shape {pixels.shape}")
    levels = np.round(pixels * (len(RAMP) - 1)).astype(int)
    chars = np.repeat(np.array(list(RAMP))[levels], 2, axis=1)
    return "\n".join("".join(row) for row in chars)
