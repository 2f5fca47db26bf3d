"""digitnet.images: user images -> MNIST-like 28x28, and every way a user file can be wrong."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from digitnet.errors import ImageError
from digitnet.images import (
    MAX_FILE_BYTES,
    ascii_art,
    canvas_to_mnist,
    decode_image_bytes,
    prepare_image,
    read_image,
    save_mnist_png,
    to_mnist,
)


def draw_digit(digit: str, size: tuple[int, int], box: tuple[int, int, int, int], *,
               ink: int | tuple[int, ...] = 0, paper: int | tuple[int, ...] = 255,
               mode: str = "L") -> Image.Image:  # fmt: skip
    """A '1', '0' or '7' drawn with thick strokes inside box=(left, top, right, bottom)."""
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    width = max(2, (bottom - top) // 8)
    if digit == "1":
        draw.line(
            [((left + right) // 2, top), ((left + right) // 2, bottom)], fill=ink, width=width
        )
    elif digit == "0":
        draw.ellipse(box, outline=ink, width=width)
    else:
        draw.line([(left, top), (right, top), (left + (right - left) // 3, bottom)], fill=ink,
                  width=width, joint="curve")  # fmt: skip
    return image


def grey_of(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32) / 255


def center_of_mass(image28: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image28.shape)
    mass = image28.sum()
    return float((rows * image28).sum() / mass), float((cols * image28).sum() / mass)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def assert_mnist_like(image28: np.ndarray) -> None:
    """Bright ink on black, ink box 20 px on its longer side, centre of mass at (14, 14)."""
    assert image28.shape == (28, 28) and image28.dtype == np.float32
    assert image28.min() >= 0 and image28.max() <= 1
    assert image28.max() > 0.9, "ink should be bright"
    assert (image28 < 0.05).mean() > 0.5, "the background should be black"
    assert image28[:, :2].max() < 0.05 and image28[:, -2:].max() < 0.05
    rows = np.flatnonzero((image28 > 0.01).any(axis=1))
    cols = np.flatnonzero((image28 > 0.01).any(axis=0))
    longest = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    assert 19 <= longest <= 21
    cy, cx = center_of_mass(image28)
    assert abs(cy - 14) < 1 and abs(cx - 14) < 1


def png_bytes(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=options.pop("format", "PNG"), **options)
    return buffer.getvalue()


# --- to_mnist on drawn digits ---------------------------------------------------------------


@pytest.mark.parametrize("digit", ["1", "0", "7"])
@pytest.mark.parametrize(
    ("size", "box"),
    [
        ((200, 200), (50, 30, 150, 170)),
        ((640, 480), (400, 300, 470, 420)),
        ((60, 90), (5, 5, 40, 60)),
    ],
)
def test_dark_digit_on_white_becomes_centred_bright_digit(digit, size, box):
    assert_mnist_like(to_mnist(grey_of(draw_digit(digit, size, box))))


@pytest.mark.parametrize("ink", ["auto", "light"])
def test_white_digit_on_black_becomes_the_same_digit(ink):
    dark = to_mnist(grey_of(draw_digit("7", (300, 300), (60, 50, 240, 250))))
    light = to_mnist(
        grey_of(draw_digit("7", (300, 300), (60, 50, 240, 250), ink=255, paper=0)), ink=ink
    )
    assert_mnist_like(light)
    np.testing.assert_allclose(light, dark, atol=1e-6)


def test_small_off_centre_digit_matches_large_centred_one():
    large = to_mnist(grey_of(draw_digit("7", (400, 400), (100, 60, 300, 340))))
    small = to_mnist(grey_of(draw_digit("7", (400, 400), (10, 300, 60, 370))))
    assert_mnist_like(small)
    assert correlation(small, large) > 0.9


@pytest.mark.parametrize("digit", ["1", "0"])
def test_photo_with_uneven_lighting_and_noise_has_no_background_speckle(digit):
    rng = np.random.default_rng(0)
    drawn = draw_digit(digit, (480, 360), (180, 100, 300, 280))
    is_ink = grey_of(drawn) < 0.5
    ys, xs = np.mgrid[0:360, 0:480]
    paper = 0.55 + 0.3 * xs / 480 + 0.08 * ys / 360  # lit from one side
    photo = np.where(is_ink, 0.2 + 0.1 * xs / 480, paper) + rng.normal(0, 0.04, paper.shape)
    result = to_mnist(np.clip(photo, 0, 1))
    clean = to_mnist(grey_of(drawn))
    assert_mnist_like(result)
    assert correlation(result, clean) > 0.9
    near_ink = np.pad(clean > 0.01, 1)
    near_ink = np.any([near_ink[y : y + 28, x : x + 28] for y in range(3) for x in range(3)], 0)
    assert not (result[~near_ink] > 0.1).any(), "speckle away from the strokes"
    if digit == "1":
        assert (result < 0.1).mean() > 0.9


def test_faint_pencil_on_grey_paper_is_found_and_made_full_strength():
    noise = np.random.default_rng(3).normal(0, 0.02, (300, 300))
    pencil = grey_of(draw_digit("7", (300, 300), (60, 50, 240, 250), ink=170, paper=235)) + noise
    result = to_mnist(np.clip(pencil, 0, 1))
    assert_mnist_like(result)
    assert (
        correlation(result, to_mnist(grey_of(draw_digit("7", (300, 300), (60, 50, 240, 250)))))
        > 0.95
    )


def test_real_mnist_digits_survive_render_and_prepare(mnist, tmp_path):
    for index, digit in enumerate(mnist.test_images[:8]):
        path = tmp_path / f"digit{index}.png"
        Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BILINEAR).save(path)
        assert correlation(prepare_image(path), digit) > 0.85, f"test image {index}"


def test_canvas_with_ink_as_ones_uses_the_same_path():
    canvas = grey_of(draw_digit("1", (280, 280), (40, 40, 120, 200), ink=255, paper=0))
    result = canvas_to_mnist(canvas)
    assert_mnist_like(result)
    np.testing.assert_allclose(result, to_mnist(1 - canvas, ink="dark"), atol=1e-6)


@pytest.mark.parametrize(
    "grey",
    [np.ones((50, 50)), np.zeros((50, 50)), np.full((3, 3), 0.5), np.ones((1, 1))],
    ids=["white", "black", "grey", "one-pixel"],
)
def test_blank_image_is_refused_as_no_ink(grey):
    with pytest.raises(ImageError, match="no ink found"):
        to_mnist(grey)


def test_blank_noisy_paper_is_refused_as_no_ink():
    rng = np.random.default_rng(1)
    with pytest.raises(ImageError, match="no ink found"):
        to_mnist(np.clip(rng.normal(0.8, 0.04, (300, 400)), 0, 1))


@pytest.mark.parametrize(
    "grey",
    [np.full((10, 10), np.nan), np.full((10, 10), np.inf), np.zeros((0, 5)), np.zeros((4, 4, 3))],
    ids=["nan", "inf", "empty", "colour"],
)
def test_unusable_arrays_raise_image_error(grey):
    with pytest.raises(ImageError):
        to_mnist(grey)


def test_unknown_ink_option_is_a_value_error():
    with pytest.raises(ValueError, match="ink"):
        to_mnist(np.ones((5, 5)), ink="blue")


# --- reading files --------------------------------------------------------------------------


def test_colour_jpeg_gif_and_bmp_files_prepare_alike(tmp_path):
    reference = to_mnist(grey_of(draw_digit("0", (240, 240), (60, 40, 180, 200))))
    colour = draw_digit("0", (240, 240), (60, 40, 180, 200), ink=(20, 30, 140),
                        paper=(250, 245, 230), mode="RGB")  # fmt: skip
    for suffix in ("jpg", "gif", "bmp", "webp", "tiff"):
        path = tmp_path / f"zero.{suffix}"
        colour.save(path)
        result = prepare_image(path)
        assert_mnist_like(result)
        assert correlation(result, reference) > 0.95, suffix


@pytest.mark.parametrize(
    "ink, paper",
    [((200, 40, 40), (40, 80, 230)), ((30, 150, 30), (200, 60, 200))],
    ids=["red-on-blue", "green-on-magenta"],
)
def test_ink_that_differs_from_the_paper_only_in_colour_is_found(tmp_path, ink, paper):
    """Ink and paper of (almost) the same brightness: luminance alone shows nothing, so the
    distance from the paper's colour takes its place and the digit reads as in black on white."""
    lightness = [0.299 * r + 0.587 * g + 0.114 * b for r, g, b in (ink, paper)]
    assert abs(lightness[0] - lightness[1]) < 0.12 * 255  # below what brightness alone finds
    reference = to_mnist(grey_of(draw_digit("7", (240, 240), (60, 40, 180, 200))))
    image = draw_digit("7", (240, 240), (60, 40, 180, 200), ink=ink, paper=paper, mode="RGB")
    path = tmp_path / "seven.png"
    image.save(path)
    with pytest.raises(ImageError, match="no ink"):
        to_mnist(grey_of(image))  # what brightness alone gives
    result = prepare_image(path)
    assert_mnist_like(result)
    assert correlation(result, reference) > 0.95


def test_colour_that_brightness_already_separates_keeps_the_brightness_image():
    image = draw_digit("1", (120, 90), (40, 20, 80, 70), ink=(20, 30, 140), paper=(250, 245, 230),
                       mode="RGB")  # fmt: skip
    np.testing.assert_array_equal(decode_image_bytes(png_bytes(image)), grey_of(image))
    plain = Image.new("RGB", (64, 48), (90, 160, 60))  # one colour: nothing to find either way
    np.testing.assert_array_equal(decode_image_bytes(png_bytes(plain)), grey_of(plain))


def test_transparent_canvas_export_is_composited_on_white():
    canvas = draw_digit("7", (200, 200), (40, 30, 160, 170), ink=(0, 0, 0, 255),
                        paper=(0, 0, 0, 0), mode="RGBA")  # fmt: skip
    grey = decode_image_bytes(png_bytes(canvas))
    assert grey.dtype == np.float32 and grey.shape == (200, 200)
    assert np.median(grey) == 1.0 and grey.min() == 0.0
    assert_mnist_like(to_mnist(grey))


def test_exif_orientation_is_applied():
    image = Image.new("L", (200, 100), 255)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    grey = decode_image_bytes(png_bytes(image, format="JPEG", exif=exif.tobytes()))
    assert grey.shape == (200, 100)


def test_animated_gif_gives_its_first_frame():
    first = draw_digit("1", (100, 100), (20, 10, 80, 90))
    second = draw_digit("0", (100, 100), (20, 10, 80, 90))
    data = png_bytes(first, format="GIF", save_all=True, append_images=[second])
    np.testing.assert_array_equal(decode_image_bytes(data), grey_of(first))


def test_sixteen_bit_png_is_scaled_not_clipped():
    grey16 = np.asarray(draw_digit("1", (60, 60), (10, 10, 50, 50)), np.uint16) * 257
    grey = decode_image_bytes(png_bytes(Image.fromarray(grey16)))
    np.testing.assert_allclose(grey, grey16 / 65535, atol=1e-6)


def test_missing_file_folder_and_empty_file_raise_image_error(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for path, problem in [(tmp_path / "nope.png", "no such file"), (tmp_path, "folder"),
                          (empty, "empty")]:  # fmt: skip
        with pytest.raises(ImageError, match=problem) as caught:
            read_image(path)
        assert str(path) in str(caught.value)


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.png"
    with huge.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(ImageError, match="limit"):
        read_image(huge)


def test_text_file_named_png_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n")
    with pytest.raises(ImageError, match="not a PNG"):
        prepare_image(path)


def test_truncated_png_raises_image_error():
    noise = np.random.default_rng(2).integers(0, 256, (200, 200), dtype=np.uint8)
    data = png_bytes(Image.fromarray(noise))
    with pytest.raises(ImageError, match="truncated"):
        decode_image_bytes(data[: len(data) // 2], name="half.png")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height 1-bit pixels, with no image data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "side", [20_000, 10_000, 7_000], ids=["pillow-error", "pillow-warning", "our-limit"]
)
def test_decompression_bomb_is_refused_from_the_header(side):
    with pytest.raises(ImageError, match="pixels") as caught:
        decode_image_bytes(png_header_only(side, side), name="bomb.png")
    assert "bomb.png" in str(caught.value)


@pytest.mark.parametrize(
    ("mode", "size", "decoded"),
    [("RGB", (8064, 6048), (1512, 2016)), ("L", (12000, 9000), (1125, 1500))],
    ids=["48MP", "108MP-past-pillows-warning"],
)
def test_a_phone_photo_over_the_pixel_limit_is_read_at_a_reduced_scale(mode, size, decoded):
    """A 48 or 108 MP phone JPEG is decoded at 1/4 or 1/8 scale rather than refused; a PNG of
    as many pixels is still refused, having no reduced-scale decoding."""
    photo = Image.new(mode, size, "#ebe6dc")
    x, height = size[0] // 2, size[1]
    ImageDraw.Draw(photo).line([(x, height // 7), (x, height * 6 // 7)], fill="#1e1e28",
                               width=size[0] // 16)  # fmt: skip
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=80)
    grey = decode_image_bytes(buffer.getvalue(), name="phone.jpg")
    assert grey.shape == decoded
    digit = to_mnist(grey)
    assert digit[5:23, 12:16].max(axis=1).min() > 0.9 and digit[:, :8].max() < 0.05  # a "1"
    with pytest.raises(ImageError, match="over the 40000000 limit"):
        decode_image_bytes(png_bytes(photo.convert("1")), name="poster.png")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_decode_to_an_image_or_image_error(data):
    try:
        grey = decode_image_bytes(data)
    except ImageError:
        return
    assert grey.dtype == np.float32 and grey.ndim == 2


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255), st.integers(1, 10_000))
def test_damaged_real_images_decode_or_raise_image_error(position, value, cut):
    original = png_bytes(draw_digit("7", (40, 40), (5, 5, 35, 35)), format="GIF")
    data = bytearray(original[: max(1, len(original) - cut % len(original))])
    data[position % len(data)] = value
    try:
        decode_image_bytes(bytes(data))
    except ImageError:
        pass


# --- outputs --------------------------------------------------------------------------------


def test_save_mnist_png_round_trips_and_leaves_no_temporary_file(tmp_path):
    image28 = to_mnist(grey_of(draw_digit("0", (100, 100), (20, 20, 80, 80))))
    path = tmp_path / "seen.png"
    save_mnist_png(image28, path)
    saved = Image.open(path)
    assert saved.mode == "L" and saved.size == (28, 28)
    np.testing.assert_allclose(np.asarray(saved) / 255, image28, atol=0.5 / 255 + 1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["seen.png"]


def test_save_mnist_png_into_missing_folder_raises_image_error(tmp_path):
    with pytest.raises(ImageError, match="cannot write"):
        save_mnist_png(np.zeros((28, 28)), tmp_path / "missing" / "seen.png")


def test_ascii_art_has_28_lines_with_ink_as_dense_characters():
    image28 = np.zeros((28, 28), dtype=np.float32)
    image28[5:20, 13:15] = 1
    lines = ascii_art(image28).split("\n")
    assert len(lines) == 28 and {len(line) for line in lines} == {56}
    assert lines[0].strip() == "" and lines[10].strip() == "@@@@"
