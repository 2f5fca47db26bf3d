"""Datasets: the bundled MNIST and its checksums, folders of IDX files, CSV datasets, the cache."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import digitnet
from digitnet.data import datasets
from digitnet.data.datasets import load_csv_dataset, load_idx_dir, load_mnist
from digitnet.data.idx import write_idx
from digitnet.errors import DataError


def test_bundled_mnist_has_the_standard_splits(mnist):
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_images.dtype == np.uint8
    assert np.bincount(mnist.train_labels).tolist()[:3] == [5923, 6742, 5958]
    assert np.bincount(mnist.test_labels).tolist()[:3] == [980, 1135, 1032]
    assert all("SHA-256 OK" in line for line in mnist.checks) and len(mnist.checks) == 4


def test_cache_is_used_and_equal_to_a_fresh_decompression(tmp_path):
    first = load_mnist(cache_dir=tmp_path)
    second = load_mnist(cache_dir=tmp_path)
    assert not any("cached" in line for line in first.checks)
    assert all("cached" in line for line in second.checks)
    np.testing.assert_array_equal(first.train_images, second.train_images)
    np.testing.assert_array_equal(first.test_labels, second.test_labels)


def test_damaged_cache_is_ignored_and_rebuilt(tmp_path):
    load_mnist(cache_dir=tmp_path)
    for cached in tmp_path.iterdir():
        cached.write_bytes(cached.read_bytes()[:100])
    again = load_mnist(cache_dir=tmp_path)
    assert not any("cached" in line for line in again.checks)
    assert again.train_images.shape == (60000, 28, 28)


def test_damaged_bundled_file_fails_its_checksum(tmp_path, monkeypatch):
    fake = tmp_path / "mnist"
    shutil.copytree(datasets.bundled_mnist_dir(), fake)
    labels = fake / "t10k-labels-idx1-ubyte.gz"
    damaged = bytearray(labels.read_bytes())
    damaged[-1] ^= 0xFF
    labels.write_bytes(bytes(damaged))
    monkeypatch.setattr(datasets, "bundled_mnist_dir", lambda: fake)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: SHA-256 mismatch"):
        load_mnist(cache_dir=None)


def _write_dataset(folder, n_train=20, n_test=10, compress=True, labels=None):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    train_labels = rng.integers(0, 10, n_train).astype(np.uint8) if labels is None else labels
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "train-labels-idx1-ubyte": train_labels,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for stem, array in parts.items():
        write_idx(folder / f"{stem}{suffix}", array, compress=compress)
    return parts


@pytest.mark.parametrize("compress", [True, False])
def test_any_folder_of_idx_files_is_a_dataset(tmp_path, compress):
    parts = _write_dataset(tmp_path / "digits", compress=compress)
    dataset = load_idx_dir(tmp_path / "digits")
    np.testing.assert_array_equal(dataset.train_images, parts["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(dataset.test_labels, parts["t10k-labels-idx1-ubyte"])


def test_folder_missing_a_file(tmp_path):
    _write_dataset(tmp_path / "d")
    (tmp_path / "d" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-labels-idx1-ubyte"):
        load_idx_dir(tmp_path / "d")


def test_label_count_mismatch(tmp_path):
    _write_dataset(tmp_path / "d", labels=np.zeros(19, np.uint8))
    with pytest.raises(DataError, match="20 images but 19 labels"):
        load_idx_dir(tmp_path / "d")


def test_label_out_of_range(tmp_path):
    bad = np.zeros(20, np.uint8)
    bad[7] = 10
    _write_dataset(tmp_path / "d", labels=bad)
    with pytest.raises(DataError, match="label 10 at index 7 is outside 0-9"):
        load_idx_dir(tmp_path / "d")


def test_images_of_the_wrong_size(tmp_path):
    _write_dataset(tmp_path / "d")
    write_idx(
        tmp_path / "d" / "train-images-idx3-ubyte.gz",
        np.zeros((20, 32, 32), np.uint8),
        compress=True,
    )
    with pytest.raises(DataError, match=r"expected \(n, 28, 28\)"):
        load_idx_dir(tmp_path / "d")


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_idx_dir(tmp_path / "nowhere")


def test_csv_dataset_without_test_split(tmp_path):
    rows = ["label," + ",".join(f"pixel{i}" for i in range(784))]
    rows += [f"{d}," + ",".join(["0"] * 784) for d in range(10)]
    (tmp_path / "train.csv").write_text("\n".join(rows))
    dataset = load_csv_dataset(tmp_path / "train.csv")
    assert dataset.train_labels.tolist() == list(range(10))
    with pytest.raises(DataError, match="no labelled test split"):
        dataset.split("test")


def test_float_images_in_a_dataset_train_as_their_pixels_do(mnist):
    images, labels = mnist.train_images[:3000], mnist.train_labels[:3000]
    test = (mnist.test_images[:2000], mnist.test_labels[:2000])
    accuracy = {}
    for kind, given in (("uint8", images), ("float", images.astype(np.float32) / 255)):
        dataset = datasets.Dataset(kind, given, labels, *test)
        net = digitnet.train("mlp", dataset=dataset, epochs=2, validation=0, seed=0)
        accuracy[kind] = net.evaluate()["accuracy"]
    assert accuracy["float"] >= 0.88  # (0.60 with the floats cast to 0/1 pixels)
    assert abs(accuracy["float"] - accuracy["uint8"]) <= 0.01


@pytest.mark.parametrize(
    ("images", "says"),
    [
        (np.full((2, 28, 28), np.nan), "0..255"),
        (np.full((2, 28, 28), -3.0), "0..255"),
        (np.full((2, 28, 28), 300), "0..255"),
        (np.zeros((2, 27, 28)), "(n, 28, 28)"),
        (np.zeros((2, 28, 28), dtype="U1"), "(n, 28, 28)"),
    ],
)
def test_a_dataset_refuses_images_it_cannot_read_as_pixels(images, says):
    with pytest.raises(DataError, match=re.escape(says)):
        datasets.Dataset("bad", images, np.zeros(2, np.uint8))


def test_dataset_pixels_keep_uint8_and_read_784_wide_rows(mnist):
    rows = mnist.test_images[:5].reshape(5, 784)
    dataset = datasets.Dataset("rows", rows, mnist.test_labels[:5])
    assert dataset.train_images.dtype == np.uint8
    np.testing.assert_array_equal(dataset.train_images, mnist.test_images[:5])
    floats_255 = datasets.Dataset("f", rows.astype(np.float64), mnist.test_labels[:5])
    np.testing.assert_array_equal(floats_255.train_images, mnist.test_images[:5])
