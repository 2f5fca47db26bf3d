"""digitnet.reading and Network.read_files / read_images: numbers read from photographed MNIST
test digits, the JSON shape, and bad pictures refused one by one."""

from __future__ import annotations

import numpy as np
import pytest
from number_photos import number_photo, photograph, strip
from PIL import Image

import digitnet
from digitnet.errors import ImageError
from digitnet.images import grey_from_memory
from digitnet.images.components import label_components
from digitnet.reading import Reading, read_files, read_grey


@pytest.fixture(scope="module")
def net():
    return digitnet.load()


@pytest.fixture(scope="module")
def test_digits(mnist):
    return mnist.test_images, mnist.test_labels


def save_grey(grey: np.ndarray, path) -> str:
    Image.fromarray(np.round(grey * 255).astype(np.uint8)).save(path)
    return str(path)


@pytest.mark.slow
def test_most_photographed_numbers_are_read_exactly(net, test_digits):
    images, labels = test_digits
    rng = np.random.default_rng(20)
    photos = [
        number_photo(rng, images, labels, int(rng.integers(3, 7)), scale=int(rng.integers(3, 8)))
        for _ in range(40)
    ]
    exact = sum(read_grey(net.model, p.grey).text == p.text for p in photos)
    assert exact >= 36  # 90%; benchmarks/read_numbers.py measures it on 300


def test_touching_pairs_are_often_read_as_two_digits(net, test_digits):
    images, labels = test_digits
    rng = np.random.default_rng(4)
    tried = exact = 0
    while tried < 20:
        chosen = rng.choice(len(images), 2, replace=False)
        ink, _ = strip(images[chosen], [-2], [0, 0])
        if len(label_components(ink > 0.3)[1]) != 1:
            continue
        tried += 1
        text = read_grey(net.model, photograph(ink, rng, scale=4)).text
        exact += text == "".join(str(int(d)) for d in labels[chosen])
    assert exact >= 10  # cut by what the network reads best; ~70% on 100 pairs


def test_reading_to_dict_has_exactly_the_documented_fields(net, test_digits):
    images, labels = test_digits
    photo = number_photo(np.random.default_rng(1), images, labels, 3)
    reading = read_grey(net.model, photo.grey, source="n.png")
    record = reading.to_dict()
    assert set(record) == {"file", "text", "digits", "unsure"}
    assert record["file"] == "n.png" and record["text"] == reading.text
    assert len(record["digits"]) == len(reading.text)
    for digit, char in zip(record["digits"], record["text"]):
        assert set(digit) == {"digit", "probabilities", "box", "unsure"}
        assert str(digit["digit"]) == char and len(digit["probabilities"]) == 10
        assert abs(sum(digit["probabilities"]) - 1) < 1e-4
        assert len(digit["box"]) == 4 and all(isinstance(v, int) for v in digit["box"])
    assert record["unsure"] == any(d["unsure"] for d in record["digits"])
    boxes = [d["box"] for d in record["digits"]]
    assert boxes == sorted(boxes)  # left to right


def test_read_files_goes_on_after_a_bad_file(net, test_digits, tmp_path):
    images, labels = test_digits
    rng = np.random.default_rng(7)
    good = number_photo(rng, images, labels, 4)
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 100), 240).save(blank)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    paths = [blank, save_grey(good.grey, tmp_path / "good.png"), empty, tmp_path / "gone.png"]
    outcomes = list(read_files(net.model, paths))
    assert isinstance(outcomes[1], Reading) and outcomes[1].text == good.text
    assert str(outcomes[0]) == f"{blank}: no digits found: the image is blank"
    assert str(outcomes[2]) == f"{empty}: the file is empty"
    assert str(outcomes[3]) == f"{tmp_path / 'gone.png'}: no such file"


def test_network_read_files_returns_readings_and_raises_the_first_error(net, test_digits, tmp_path):
    images, labels = test_digits
    photo = number_photo(np.random.default_rng(8), images, labels, 5)
    path = save_grey(photo.grey, tmp_path / "number.png")
    [reading] = net.read_files(path)
    assert reading.text == photo.text and reading.source == path
    assert [d.input28.shape for d in reading.digits] == [(28, 28)] * 5
    blank = tmp_path / "blank.png"
    Image.new("L", (60, 60), 255).save(blank)
    with pytest.raises(ImageError, match="blank.png: no digits found"):
        net.read_files([path, blank])


def test_network_read_images_takes_pil_images_and_arrays_of_either_polarity(net, test_digits):
    images, labels = test_digits
    photo = number_photo(np.random.default_rng(9), images, labels, 4)
    grey8 = np.round(photo.grey * 255).astype(np.uint8)
    colour = np.stack([grey8, grey8, np.minimum(grey8.astype(int) + 20, 255)], axis=2)
    pictures = [
        Image.fromarray(grey8),
        Image.fromarray(colour.astype(np.uint8)).convert("RGBA"),
        photo.grey,  # floats, dark on light
        1 - photo.grey,  # light ink on a dark background
        colour.astype(np.uint8),
    ]
    assert [r.text for r in net.read_images(pictures)] == [photo.text] * 5
    assert net.read_images(Image.fromarray(grey8))[0].text == photo.text


def test_network_read_images_names_the_bad_picture(net, test_digits):
    images, labels = test_digits
    photo = number_photo(np.random.default_rng(2), images, labels, 3)
    with pytest.raises(ImageError, match="^image 1: no digits found"):
        net.read_images([photo.grey, np.full((40, 90), 0.9)])
    with pytest.raises(ImageError, match="^image 0: expected a PIL image"):
        net.read_images([np.zeros((5, 5, 7))])
    with pytest.raises(ImageError, match="NaN"):
        grey_from_memory(np.full((9, 9, 3), np.nan))
