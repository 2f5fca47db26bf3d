"""The Kaggle CSV reader: both layouts, headerless files, and errors naming the line."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.data.kaggle_csv import read_kaggle_csv
from digitnet.errors import DataError

PIXEL_HEADER = ",".join(f"pixel{i}" for i in range(784))


def _rows(n, rng, labels=True):
    pixels = rng.integers(0, 256, (n, 784))
    digits = rng.integers(0, 10, n)
    lines = [
        (f"{d}," if labels else "") + ",".join(map(str, row)) for d, row in zip(digits, pixels)
    ]
    return lines, pixels, digits


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_layout_with_header(tmp_path):
    lines, pixels, digits = _rows(5, np.random.default_rng(0))
    path = _write(tmp_path / "train.csv", [f"label,{PIXEL_HEADER}", *lines])
    images, labels = read_kaggle_csv(path)
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images.reshape(5, -1), pixels)
    np.testing.assert_array_equal(labels, digits)


def test_test_layout_has_no_labels(tmp_path):
    lines, pixels, _ = _rows(3, np.random.default_rng(1), labels=False)
    path = _write(tmp_path / "test.csv", [PIXEL_HEADER, *lines])
    images, labels = read_kaggle_csv(path)
    assert labels is None
    np.testing.assert_array_equal(images.reshape(3, -1), pixels)


@pytest.mark.parametrize("with_labels", [True, False])
def test_headerless_files(tmp_path, with_labels):
    lines, pixels, digits = _rows(4, np.random.default_rng(2), labels=with_labels)
    images, labels = read_kaggle_csv(_write(tmp_path / "plain.csv", lines))
    np.testing.assert_array_equal(images.reshape(4, -1), pixels)
    if with_labels:
        np.testing.assert_array_equal(labels, digits)
    else:
        assert labels is None


def test_windows_line_endings_and_bom(tmp_path):
    lines, pixels, _ = _rows(2, np.random.default_rng(3))
    path = tmp_path / "win.csv"
    path.write_bytes(("\ufeff" + f"label,{PIXEL_HEADER}\r\n" + "\r\n".join(lines)).encode())
    images, _ = read_kaggle_csv(path)
    np.testing.assert_array_equal(images.reshape(2, -1), pixels)


def _corrupt(tmp_path, line_index, transform):
    lines, _, _ = _rows(6, np.random.default_rng(4))
    lines = [f"label,{PIXEL_HEADER}", *lines]
    lines[line_index] = transform(lines[line_index])
    return _write(tmp_path / "bad.csv", lines)


@pytest.mark.parametrize(
    ("line_index", "transform", "message"),
    [
        (3, lambda line: line + ",7", "line 4: 786 columns"),
        (2, lambda line: line.rsplit(",", 1)[0], "line 3: 784 columns"),
        (5, lambda line: line.replace(",", ",abc,", 1).rsplit(",", 1)[0], "line 6: a value is not"),
        (4, lambda line: "12" + line[1:], "line 5: label 12 is outside 0-9"),
        (2, lambda line: line.rsplit(",", 1)[0] + ",256", "line 3: pixel 256 is outside 0-255"),
        (6, lambda line: line.rsplit(",", 1)[0] + ",-1", "line 7: pixel -1 is outside 0-255"),
        (0, lambda line: "digit," + line[6:], "line 1: header"),
    ],
)
def test_bad_rows_name_the_line(tmp_path, line_index, transform, message):
    with pytest.raises(DataError, match=message):
        read_kaggle_csv(_corrupt(tmp_path, line_index, transform))


def test_labels_required_for_training(tmp_path):
    lines, _, _ = _rows(2, np.random.default_rng(5), labels=False)
    with pytest.raises(DataError, match="no label column"):
        read_kaggle_csv(_write(tmp_path / "t.csv", lines), require_labels=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "no data rows"), (b"label\n", "header"), (b"\xff\xfe\x00junk", "not a text")],
)
def test_unusable_files(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_kaggle_csv(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_kaggle_csv(tmp_path / "absent.csv")
