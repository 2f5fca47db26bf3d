"""Seeded renderers that turn a digit's ink map (photo_inks.py) into believable photos and scans.

Each condition in CONDITIONS is a function `(ink_at, rng) -> Photo`: `ink_at(height)` gives the
digit's (or number's) ink map about `height` pixels tall; the condition lays it on paper (lined,
squared, dotted, tinted), with a pen colour, light and shadows, clutter around the sheet, and a
camera's blur, noise and JPEG. Every random choice comes from `rng`, so a seed gives the same
pictures. Pure NumPy and Pillow.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from photo_camera import (
    PAPER,
    Photo,
    blank_sheet,
    camera,
    digit_height,
    lay_ink,
    light_ramp,
    on_paper,
    snapshot,
)
from photo_inks import blur, crop_to_ink, resize, smooth_noise, smoothstep
from PIL import Image

Array = np.ndarray
InkAt = Callable[[int], Array]


# ---------------------------------------------------------------- paper patterns


def _line_cover(distance: Array, width: float) -> Array:
    """Coverage of a printed line `width` pixels wide at `distance` pixels from its centre."""
    return np.clip(width / 2 + 0.5 - np.abs(distance), 0, 1)


def _rules(length: int, spacing: float, rng: np.random.Generator) -> Array:
    """Distance of each of `length` positions to the nearest of lines `spacing` apart."""
    offset = rng.uniform(0, spacing)
    position = (np.arange(length) - offset) % spacing
    return np.minimum(position, spacing - position).astype(np.float32)


def print_pattern(page: Array, cover: Array, colour) -> None:
    """Print a pattern with (H, W) coverage `cover` in `colour` (RGB) onto `page`, in place."""
    page *= 1 - cover[..., None] * (1 - np.asarray(colour, np.float32))


def lined(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """Notebook paper: blue rules about a digit apart, a red margin line left of the digit."""
    ink = ink_at(digit_height(rng))
    page, x, y = blank_sheet(ink.shape, rng)
    h, w = page.shape[:2]
    rules = _line_cover(_rules(h, rng.uniform(0.45, 0.8) * ink.shape[0], rng), rng.uniform(1.5, 3))
    print_pattern(page, np.broadcast_to(rules[:, None], (h, w)), (0.55, 0.68, 0.93))
    margin_x = rng.uniform(0.25, 0.75) * x
    margin = _line_cover(np.arange(w, dtype=np.float32) - margin_x, rng.uniform(1.5, 2.5))
    print_pattern(page, np.broadcast_to(margin[None, :], (h, w)), (0.92, 0.45, 0.45))
    lay_ink(page, ink, x, y)
    return snapshot(page, rng)


def squared(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """Squared (maths) paper: a grey-blue grid, squares a third to a half of the digit."""
    ink = ink_at(digit_height(rng))
    page, x, y = blank_sheet(ink.shape, rng)
    h, w = page.shape[:2]
    spacing, width = rng.uniform(0.3, 0.5) * ink.shape[0], rng.uniform(1.0, 2.0)
    rows, cols = (
        _line_cover(_rules(h, spacing, rng), width),
        _line_cover(_rules(w, spacing, rng), width),
    )
    print_pattern(page, np.maximum(rows[:, None], cols[None, :]), (0.62, 0.72, 0.86))
    lay_ink(page, ink, x, y)
    return snapshot(page, rng)


def dotted(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """Dot-grid paper: grey dots a third of a digit apart."""
    ink = ink_at(digit_height(rng))
    page, x, y = blank_sheet(ink.shape, rng)
    h, w = page.shape[:2]
    spacing = rng.uniform(0.25, 0.4) * ink.shape[0]
    distance = np.hypot(_rules(h, spacing, rng)[:, None], _rules(w, spacing, rng)[None, :])
    print_pattern(page, _line_cover(distance, rng.uniform(2.5, 4.5)), (0.55, 0.55, 0.6))
    lay_ink(page, ink, x, y)
    return snapshot(page, rng)


# ---------------------------------------------------------------- plain sheets, pens, light


def clean(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """A scan: black pen on white paper with a generous margin, no JPEG."""
    page, _, _ = on_paper(ink_at(digit_height(rng)), rng, margin=(0.3, 0.8))
    return camera(page, rng, sharpness=(0.4, 0.8), noise=(0.003, 0.008))


def tight_crop(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """Cropped to the ink's bounding box: the strokes touch all four edges."""
    ink = crop_to_ink(ink_at(digit_height(rng)))
    page, _, _ = on_paper(ink, rng, margin=(0, 0))
    return snapshot(page, rng)


def _pen(colour: str, strength=(0.9, 1.0)) -> Callable[[InkAt, np.random.Generator], Photo]:
    def render(ink_at: InkAt, rng: np.random.Generator) -> Photo:
        ink = ink_at(digit_height(rng))
        if colour == "pencil":  # graphite leaves grains of the paper's tooth uncovered
            grain = blur(rng.standard_normal(ink.shape).astype(np.float32), 0.7)
            ink = ink * np.clip(0.8 + 0.5 * grain, 0.3, 1)
        page, _, _ = on_paper(ink, rng, colour=colour, strength=rng.uniform(*strength))
        return snapshot(page, rng)

    render.__doc__ = f"Written in {colour} {'' if colour == 'pencil' else 'ink'}, photographed."
    return render


def soft_shadow(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """Uneven light: the far side of the sheet 35-55% darker, plus a soft dim patch."""
    page, _, _ = on_paper(ink_at(digit_height(rng)), rng, margin=(0.4, 0.9))
    page = light_ramp(page, rng, rng.uniform(0.35, 0.55))
    h, w = page.shape[:2]
    patch = np.clip(smooth_noise((h, w), max(h, w) / 2, rng), 0, None)
    page *= (1 - 0.15 * patch / max(float(patch.max()), 1e-6))[..., None]
    return camera(page, rng, jpeg=(84, 93))


def hard_shadow(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """A sharp diagonal shadow (of a phone or a hand) across the digit, 35-55% darker."""
    ink = ink_at(digit_height(rng))
    page, x, y = on_paper(ink, rng)
    h, w = page.shape[:2]
    cx, cy = x + ink.shape[1] * rng.uniform(0.3, 0.7), y + ink.shape[0] * rng.uniform(0.3, 0.7)
    angle = rng.uniform(0.15, 0.85) * np.pi / 2 + rng.integers(0, 4) * np.pi / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    side = np.cos(angle) * (xx - cx) + np.sin(angle) * (yy - cy)  # signed distance, pixels
    shade = smoothstep(side, -rng.uniform(1, 4), rng.uniform(1, 4)) * rng.uniform(0.35, 0.55)
    page *= 1 - shade[..., None] * np.array([0.95, 1.0, 0.9], np.float32)  # shade is bluish
    return snapshot(page, rng)


def low_contrast(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """Faint grey ink on greyish paper in dim light: ink only 20-30% darker than the paper."""
    tint = np.array(PAPER) * rng.uniform(0.7, 0.85)
    page, _, _ = on_paper(
        ink_at(digit_height(rng)), rng, strength=rng.uniform(0.22, 0.32), tint=tint
    )
    return snapshot(page, rng)


def rotated(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """The digit written (or the sheet photographed) turned by 5 to 15 degrees either way."""
    ink = ink_at(digit_height(rng))
    angle = rng.uniform(5, 15) * rng.choice([-1, 1])
    turned = np.asarray(Image.fromarray(ink, "F").rotate(angle, Image.BICUBIC, expand=True))
    page, _, _ = on_paper(np.clip(turned, 0, 1), rng)
    return snapshot(page, rng)


# ---------------------------------------------------------------- sizes and camera faults


def small(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """A thumbnail: the photo shrunk to 20-30 pixels on its longer side, saved as PNG."""
    photo = snapshot(on_paper(ink_at(digit_height(rng)), rng, margin=(0.1, 0.3))[0], rng)
    w, h = photo.image.size
    side = int(rng.integers(20, 31))
    size = (max(1, round(w * side / max(w, h))), max(1, round(h * side / max(w, h))))
    return Photo(photo.image.resize(size, Image.LANCZOS))


def huge(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """A full-resolution phone photo: 3000-4000 pixels on its longer side, JPEG."""
    ink = ink_at(int(rng.integers(500, 800)))
    page, _, _ = on_paper(ink, rng, margin=(0.5, 1.2))
    photo = camera(light_ramp(page, rng, 0.1), rng, sharpness=(0.8, 1.5), jpeg=(88, 93))
    w, h = photo.image.size
    side = int(rng.integers(3000, 4001))
    image = photo.image.resize(
        (round(w * side / max(w, h)), round(h * side / max(w, h))), Image.BICUBIC
    )
    grain = rng.normal(0, 2.5, (image.height, image.width, 1)).astype(np.float32)
    pixels = np.clip(np.asarray(image, np.float32) + grain, 0, 255).astype(np.uint8)
    return Photo(Image.fromarray(pixels, "RGB"), photo.jpeg_quality)


def jpeg(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """Saved at a low JPEG quality (8-20): blocks and ringing around the strokes."""
    page, _, _ = on_paper(ink_at(digit_height(rng)), rng)
    return camera(light_ramp(page, rng, 0.1), rng, jpeg=(8, 20))


def noise(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """A dim photo at high ISO: strong sensor noise (sigma 5-8% of full scale) with colour."""
    page, _, _ = on_paper(ink_at(digit_height(rng)), rng)
    dim = light_ramp(page, rng, 0.1) * rng.uniform(0.6, 0.8)
    return camera(dim, rng, noise=(0.05, 0.08), jpeg=(88, 94))


# ---------------------------------------------------------------- clutter at the border


def _from_left(page: Array, rng: np.random.Generator, draw: Callable[[Array], None]) -> Array:
    """Apply `draw` (which works on the left side / top-left corner) to a random side."""
    turns = int(rng.integers(0, 4))
    turned = np.ascontiguousarray(np.rot90(page, turns))
    draw(turned)
    return np.ascontiguousarray(np.rot90(turned, -turns))


def _wood(shape: tuple[int, int], rng: np.random.Generator) -> Array:
    """(H, W, 3) wood: brown, with grain running down the picture."""
    h, w = shape
    grain = resize(rng.standard_normal((max(2, h // 60), max(2, w // 3))), (w, h))
    tone = rng.uniform(0.6, 1.1) * (1 + 0.12 * grain)[..., None]
    return np.clip(tone * np.array([0.55, 0.37, 0.22], np.float32), 0, 1)


def table_strip(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """The sheet does not fill the frame: a strip of wooden table (10-25%) along one side."""
    page, _, _ = on_paper(ink_at(digit_height(rng)), rng, margin=(0.5, 0.9))

    def strip(scene: Array) -> None:
        h, w = scene.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        edge = rng.uniform(0.1, 0.25) * w + np.tan(np.radians(rng.uniform(-3, 3))) * (yy - h / 2)
        table = smoothstep(edge - xx, -0.7, 0.7)[..., None]  # 1 on the table
        wood = _wood((h, w), rng) * (0.7 + 0.3 * smoothstep(edge - xx, 0, 10))[..., None]
        scene[...] = table * wood + (1 - table) * scene

    return snapshot(_from_left(page, rng, strip), rng)


def thumb(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """A thumb holding the sheet in one corner, with its soft shadow beside it."""
    page, _, _ = on_paper(ink_at(digit_height(rng)), rng, margin=(0.6, 1.0))

    def corner(scene: Array) -> None:
        h, w = scene.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        length, width = rng.uniform(0.35, 0.5) * min(h, w), rng.uniform(0.12, 0.18) * min(h, w)
        along, across = (xx + yy) / np.sqrt(2), (xx - yy) / np.sqrt(2)
        reach = (along / length) ** 2 + (across / width) ** 2  # < 1 inside the thumb
        shadow = smoothstep(-(reach - 1.9), -0.8, 0.4) * rng.uniform(0.35, 0.55)
        scene *= (1 - shadow)[..., None]
        flesh = smoothstep(1 - reach, 0, 0.05)[..., None]
        skin = (
            np.array([0.86, 0.63, 0.52], np.float32) * (1 - 0.3 * np.clip(reach, 0, 1))[..., None]
        )
        scene[...] = flesh * skin * rng.uniform(0.6, 1.0) + (1 - flesh) * scene

    return snapshot(_from_left(page, rng, corner), rng)


def dark_table(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """The sheet lying slightly turned on a dark table, filling about 60% of the frame."""
    ink = ink_at(digit_height(rng))
    sheet, _, _ = on_paper(ink, rng, margin=(0.8, 1.3))
    h, w = sheet.shape[:2]
    frame_h, frame_w = round(h / np.sqrt(0.6)), round(w / np.sqrt(0.6))
    table = _wood((frame_h, frame_w), rng) * rng.uniform(0.25, 0.45)
    angle = rng.uniform(-8, 8)
    sheet_image = Image.fromarray(np.round(sheet * 255).astype(np.uint8), "RGB")
    turned = sheet_image.rotate(angle, Image.BICUBIC, expand=True)
    mask = Image.new("L", sheet_image.size, 255).rotate(angle, Image.BICUBIC, expand=True)
    scene = Image.fromarray(np.round(table * 255).astype(np.uint8), "RGB")
    x = (frame_w - turned.width) // 2 + int(rng.integers(-w // 12, w // 12 + 1))
    y = (frame_h - turned.height) // 2 + int(rng.integers(-h // 12, h // 12 + 1))
    scene.paste(turned, (x, y), mask)
    return snapshot(np.asarray(scene, np.float32) / 255, rng)


def photo(ink_at: InkAt, rng: np.random.Generator) -> Photo:
    """An everyday phone photo of pen on plain paper: mild uneven light, blur, noise, JPEG."""
    return snapshot(on_paper(ink_at(digit_height(rng)), rng)[0], rng)


Render = Callable[[InkAt, np.random.Generator], Photo]
CONDITIONS: dict[str, Render] = {
    "clean": clean,
    "photo": photo,
    "tight_crop": tight_crop,
    "lined": lined,
    "squared": squared,
    "dotted": dotted,
    "blue_ink": _pen("blue"),
    "red_ink": _pen("red"),
    "pencil": _pen("pencil", strength=(0.55, 0.8)),
    "soft_shadow": soft_shadow,
    "hard_shadow": hard_shadow,
    "low_contrast": low_contrast,
    "rotated": rotated,
    "small": small,
    "huge": huge,
    "jpeg": jpeg,
    "noise": noise,
    "table_strip": table_strip,
    "thumb": thumb,
    "dark_table": dark_table,
}
