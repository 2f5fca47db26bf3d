"""Own photos: tight crops, edge clutter, in-memory photos, and the 28x28 API's paper check."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import digitnet
from digitnet.errors import ImageError
from tests.test_images import assert_mnist_like


@pytest.fixture(scope="module")
def net():
    return digitnet.load()


def photo_of(digit: np.ndarray, *, tight: bool) -> np.ndarray:
    """An MNIST test digit printed dark on light paper at 10x, cropped to its ink if tight."""
    if tight:
        rows, cols = np.flatnonzero(digit.max(1)), np.flatnonzero(digit.max(0))
        digit = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    big = Image.fromarray(255 - digit).resize((digit.shape[1] * 10, digit.shape[0] * 10))
    return np.asarray(big)


def test_tight_crops_read_as_well_as_the_same_digits_with_a_margin(net, mnist):
    digits, labels = mnist.test_images[:60], mnist.test_labels[:60]
    tight = [p.digit for p in net.predict_images([photo_of(d, tight=True) for d in digits])]
    margin = [p.digit for p in net.predict_images([photo_of(d, tight=False) for d in digits])]
    assert np.mean(np.array(tight) == labels) >= np.mean(np.array(margin) == labels) - 0.05


def test_wooden_table_strip_along_one_side_is_not_taken_for_ink(net, mnist):
    photo = np.pad(photo_of(mnist.test_images[0], tight=False), 20, constant_values=235)
    photo[:, :50] = 90  # a dark strip of table along the left edge
    result = digitnet.images.to_mnist(photo / 255)
    assert_mnist_like(result)
    assert net.predict_images(photo)[0].digit == mnist.test_labels[0]


def test_predict_images_takes_pil_and_arrays_and_names_a_bad_item(net, mnist):
    photo = photo_of(mnist.test_images[1], tight=False)
    inputs = [Image.fromarray(photo).convert("RGB"), photo, photo / 255.0, 255 - photo]
    assert [p.digit for p in net.predict_images(inputs)] == [mnist.test_labels[1]] * 4
    with pytest.raises(ImageError, match="image 1: no ink found"):
        net.predict_images([photo, np.full((50, 50), 255, np.uint8)])


def test_every_mnist_test_image_passes_the_28x28_api_and_paper_is_refused(net, mnist):
    assert net.predict(mnist.test_images).shape == (10000,)
    with pytest.raises(ImageError, match="look dark on light.*invert them"):
        net.predict(255 - mnist.test_images[:3])
