"""Image files and bytes -> greyscale float arrays: formats, size limits, EXIF orientation,
transparency, and colour ink that differs from the paper in hue more than in brightness."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digitnet.errors import ImageError
from digitnet.images.paper import paper_level
from digitnet.images.pixels import box_mean3, fitted_size

MAX_IMAGE_PIXELS: int = 40_000_000  # larger images are refused (decompression bombs), except a
# JPEG, which is decoded at a reduced scale instead (Pillow's draft mode) up to Pillow's own
# limit of about 179 million pixels
MAX_FILE_BYTES: int = 50 * 1024 * 1024

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")  # JPEG includes phones' MPO files
WORK_SIDE = 1024  # larger images are area-averaged down first, to bound memory and time
MIN_CONTRAST = 0.12  # ink must differ from the paper by this much (0..1) to count as ink
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
                _check_size(width, height, name)
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


def grey_from_memory(image: Image.Image | np.ndarray, *, name: str = "image") -> np.ndarray:
    """An in-memory picture as greyscale float32 (H, W) in [0, 1], 1 = white, the way a file
    is read: a PIL image (any mode), or an array (H, W), (H, W, 3) RGB or (H, W, 4) RGBA of
    uint8 0-255 or floats 0-1. ImageError, starting with name, for anything else."""
    if isinstance(image, Image.Image):
        width, height = image.size
        _check_size(width, height, name)
        image.load()
        return _to_grey(image)
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(
            f"{name}: expected a PIL image or an array (H, W), (H, W, 3) or (H, W, 4), "
            f"got shape {array.shape}"
        )
    _check_size(array.shape[1], array.shape[0], name)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ImageError(f"{name}: the image contains NaN or infinite values")
        if array.min() < -1e-3 or array.max() > 1 + 1e-3:
            raise ImageError(
                f"{name}: float images must lie in 0..1 (divide 0-255 pixels by 255); got "
                f"values from {array.min():g} to {array.max():g}"
            )
        if array.ndim == 2:
            return np.clip(array, 0, 1).astype(np.float32)
        array = np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)
    elif array.dtype != np.uint8 and array.dtype != np.bool_:
        raise ImageError(f"{name}: expected uint8 or float pixels, got dtype {array.dtype}")
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    return _to_grey(Image.fromarray(array))


def _check_size(width: int, height: int, name: str) -> None:
    """ImageError for an image without pixels or over MAX_IMAGE_PIXELS."""
    if width == 0 or height == 0:
        raise ImageError(f"{name}: the image has no pixels ({width}x{height})")
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(f"{name}: {width}x{height} pixels is over the {MAX_IMAGE_PIXELS} limit")


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
    size = fitted_size(image.width, image.height, WORK_SIDE)
    if size is not None:
        image = image.resize(size, Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32) / 255


def _brightness_shows_ink(grey: np.ndarray) -> bool:
    """Whether some ink differs from the paper's brightness by MIN_CONTRAST (3x3 means)."""
    return bool(box_mean3(np.abs(grey - paper_level(grey))).max() >= MIN_CONTRAST)


def _colour_distance(values: np.ndarray, grey: np.ndarray) -> np.ndarray:
    """For ink that differs from the paper in colour but hardly in brightness (red on a blue
    of the same lightness): 1 − each pixel's distance in `values` (H, W, 3) from the paper's
    colour (each channel's median; 1 = as far as black from white), so the ink reads as dark
    ink on white paper. `grey` itself if colour shows no ink either."""
    paper = np.array([paper_level(values[:, :, channel]) for channel in range(3)], np.float32)
    distance = np.sqrt(np.square(values - paper).sum(axis=2) / 3)
    if box_mean3(distance).max() < MIN_CONTRAST:
        return grey
    return (1 - distance).astype(np.float32)
