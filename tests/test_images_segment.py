"""digitnet.images.segment: a photographed number -> its digits, left to right, with boxes."""

from __future__ import annotations

import numpy as np
import pytest
from number_photos import number_photo, photograph, strip
from PIL import Image, ImageDraw, ImageFont

from digitnet.errors import ImageError
from digitnet.images.components import label_components
from digitnet.images.segment import MAX_DIGITS, segment_digits


@pytest.fixture(scope="module")
def test_digits(mnist):
    return mnist.test_images, mnist.test_labels


def box_columns_match(boxes, columns) -> bool:
    """Each box's [x0, x1) covers its own digit's ink columns: intersection over union >= 0.7
    (faint tails and blurred edges may fall either side)."""
    for box, (x0, x1) in zip(boxes, columns, strict=True):
        shared = min(box[2], x1) - max(box[0], x0)
        if shared / (max(box[2], x1) - min(box[0], x0)) < 0.7:
            return False
    return True


def test_numbers_with_small_gaps_give_each_digit_in_order(test_digits):
    images, labels = test_digits
    rng = np.random.default_rng(11)
    right = 0
    for _ in range(30):
        photo = number_photo(rng, images, labels, int(rng.integers(3, 7)), scale=4)
        digits = segment_digits(photo.grey)
        if len(digits) == len(photo.text):
            right += box_columns_match([d.box for d in digits], photo.columns)
        for digit in digits:
            assert digit.image28.shape == (28, 28) and digit.image28.dtype == np.float32
            assert digit.image28.max() > 0.6 and (digit.image28 < 0.05).mean() > 0.5
    assert right >= 29


def test_boxes_are_in_the_pixels_of_a_large_photo(test_digits):
    images, labels = test_digits
    photo = number_photo(np.random.default_rng(3), images, labels, 5, scale=16)
    assert photo.grey.shape[1] > 1024  # segmented at a reduced size, boxes scaled back
    digits = segment_digits(photo.grey)
    assert len(digits) == 5
    assert box_columns_match([d.box for d in digits], photo.columns)
    for digit in digits:
        x0, y0, x1, y1 = digit.box
        assert 0 <= x0 < x1 <= photo.grey.shape[1] and 0 <= y0 < y1 <= photo.grey.shape[0]


def test_a_digit_broken_into_pieces_above_each_other_stays_one(test_digits):
    images, labels = test_digits
    sevens = images[labels == 7][:10].copy()
    rng = np.random.default_rng(0)
    for seven in sevens:
        rows = np.flatnonzero(seven.max(axis=1) > 40)
        cut = rows[0] + (rows[-1] - rows[0]) // 2
        seven[cut - 1 : cut + 1] = 0  # a pen that skipped: the top and the stem apart
        ink, _ = strip(seven[None], [], [0])
        assert len(label_components(ink > 0.15)[1]) >= 2
        assert len(segment_digits(photograph(ink, rng, scale=5))) == 1


def test_a_five_drawn_with_a_separate_flag_and_a_four_in_two_strokes_stay_one():
    image = Image.new("L", (420, 200), 235)
    draw = ImageDraw.Draw(image)
    # a 5: the flag lifted off the body
    draw.line([(70, 40), (120, 40)], fill=20, width=9)
    draw.line([(60, 52), (56, 95)], fill=20, width=9)
    draw.arc([(40, 85), (120, 165)], start=-150, end=140, fill=20, width=9)
    # a 4: the open corner, then the stem drawn on its own
    draw.line([(250, 40), (235, 120), (300, 120)], fill=20, width=9)
    draw.line([(285, 60), (285, 170)], fill=20, width=9)
    grey = np.asarray(image, np.float32) / 255
    digits = segment_digits(grey)
    assert len(digits) == 2
    assert digits[0].box[2] < 140 < 220 < digits[1].box[0]


def test_specks_dots_and_dust_are_not_digits(test_digits):
    images, labels = test_digits
    photo = number_photo(np.random.default_rng(5), images, labels, 4, scale=5)
    grey = photo.grey.copy()
    height, width = grey.shape
    rng = np.random.default_rng(1)
    for y, x in zip(rng.integers(5, height - 5, 12), rng.integers(5, width - 5, 12)):
        grey[y : y + 3, x : x + 3] = 0.1  # dust
    gap = (photo.columns[1][1] + photo.columns[2][0]) // 2
    grey[height // 2 + 40 : height // 2 + 48, gap - 4 : gap + 4] = 0.1  # a full stop
    assert len(segment_digits(grey)) == 4


def test_touching_pairs_wider_than_tall_are_offered_cut_in_two(test_digits):
    images, labels = test_digits
    wide = images[(labels != 1) & (labels != 7)]
    rng = np.random.default_rng(2)
    checked = 0
    for _ in range(30):
        ink, _ = strip(wide[rng.choice(len(wide), 2, replace=False)], [-3], [0, 0])
        if len(label_components(ink > 0.3)[1]) != 1:
            continue  # they do not touch after all
        digits = segment_digits(photograph(ink, rng, scale=4))
        x0, y0, x1, y1 = digits[0].box
        if len(digits) == 1 and x1 - x0 <= y1 - y0:
            continue  # narrow digits: as wide as one
        checked += 1
        if len(digits) == 1:
            assert digits[0].splits  # for the reader to choose by what the network sees
            for left, right in digits[0].splits:
                assert left.box[0] < right.box[0] and left.box[2] <= right.box[2]
        else:
            assert len(digits) == 2
    assert checked >= 10


def test_three_touching_digits_are_cut_into_three(test_digits):
    images, labels = test_digits
    zeros = images[labels == 0]
    ink_box = zeros > 40
    aspect = np.array([np.ptp(np.flatnonzero(m.any(0))) / np.ptp(np.flatnonzero(m.any(1)))
                       for m in ink_box])  # fmt: skip
    ordinary = zeros[(aspect > 0.8) & (aspect < 1.0)][:3]  # as wide as most digits
    ink, _ = strip(ordinary, [-2, -2], [0, 0, 0])
    assert len(label_components(ink > 0.3)[1]) == 1
    assert len(segment_digits(photograph(ink, np.random.default_rng(0), scale=4))) == 3


@pytest.mark.parametrize("level", [0.0, 0.5, 1.0])
def test_a_blank_picture_has_no_digits(level):
    with pytest.raises(ImageError, match="^no digits found"):
        segment_digits(np.full((120, 300), level))


def test_noise_alone_has_no_digits():
    grey = np.clip(np.random.default_rng(0).normal(0.8, 0.02, (200, 400)), 0, 1)
    with pytest.raises(ImageError, match="^no digits found"):
        segment_digits(grey)


def test_a_page_of_text_is_refused_with_the_count_and_the_limit():
    image = Image.new("L", (900, 600), 245)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    for row in range(20):
        draw.text((20, 20 + 28 * row), "The quick brown fox jumps over the lazy dog, 1234.",
                  fill=10, font=font)  # fmt: skip
    with pytest.raises(
        ImageError, match=f"found [0-9]+ separate marks, more than the {MAX_DIGITS}"
    ):
        segment_digits(np.asarray(image, np.float32) / 255)


def test_unusable_arrays_raise_image_error():
    with pytest.raises(ImageError):
        segment_digits(np.full((20, 20), np.nan))
    with pytest.raises(ImageError):
        segment_digits(np.zeros((3, 20, 20)))
