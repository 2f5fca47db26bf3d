"""Datasets: the bundled MNIST (checksum-verified), any folder of IDX files, Kaggle CSV files.

A Dataset holds raw uint8 images (n, 28, 28) and labels (n,) (floats in 0..1 given to it are turned
into such pixels); turning them into float inputs is preprocess.py's job.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from digitnet.data.cache import cached_bytes, default_cache_dir, sha256_hex
from digitnet.data.idx import decompress_if_gzip, parse_idx, read_file_bytes, read_idx
from digitnet.data.kaggle_csv import read_kaggle_csv
from digitnet.errors import DataError

IMAGE_SHAPE = (28, 28)
N_CLASSES = 10

# The four files as they ship in digitnet/datasets/mnist/: SHA-256 of the .gz file, then of
# its decompressed content (the original MNIST files, byte for byte).
BUNDLED_SHA256: dict[str, tuple[str, str]] = {
    "train-images-idx3-ubyte.gz": (
        "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte.gz": (
        "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}
SPLIT_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class Dataset:
    """Raw digits: images (n, 28, 28) uint8 with 0 = background, labels (n,) uint8 in 0..9.

    The test split is None when the source has no labelled test data (a Kaggle train.csv alone).
    """

    source: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    checks: tuple[str, ...] = field(default=())  # what was verified, one line each

    def __post_init__(self) -> None:
        for name in ("train_images", "test_images"):
            images = getattr(self, name)
            if images is not None:
                object.__setattr__(self, name, as_pixels(images, name))

    def fingerprint(self) -> str:
        """SHA-256 (hex) of every image and label, with their shapes: what a resumed training
        checks its data against (the same data moved elsewhere has the same fingerprint)."""
        digest = hashlib.sha256()
        for array in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            if array is None:
                digest.update(b"none")
                continue
            digest.update(repr(array.shape).encode())
            digest.update(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
        return digest.hexdigest()

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of "train" or "test"; DataError when that split is absent."""
        if name == "train":
            return self.train_images, self.train_labels
        if name == "test" and self.test_images is not None and self.test_labels is not None:
            return self.test_images, self.test_labels
        if name == "test":
            raise DataError(f"{self.source} has no labelled test split (give --test-csv)")
        raise DataError(f"unknown split {name!r}: expected 'train' or 'test'")


def as_pixels(images: np.ndarray, name: str = "images") -> np.ndarray:
    """Images as MNIST's uint8 pixels (n, 28, 28): uint8 as they are; other integers in 0..255;
    floats in 0..1 (as predict takes them) or in 0..255, rounded; (n, 784) rows reshaped.
    DataError names `name` for another shape or type, NaN/infinity or values out of range."""
    array = np.asarray(images)
    if array.ndim == 2 and array.shape[1] == 784:
        array = array.reshape(-1, *IMAGE_SHAPE)
    if array.ndim != 3 or array.shape[1:] != IMAGE_SHAPE or array.dtype.kind not in "buif":
        raise DataError(
            f"{name} must be numbers of shape (n, 28, 28) or (n, 784); "
            f"got shape {array.shape} of {array.dtype}"
        )
    if array.dtype == np.uint8 or array.size == 0:
        return array.astype(np.uint8, copy=False)
    if array.dtype.kind == "b":
        return array.astype(np.uint8) * np.uint8(255)
    low, high = float(array.min()), float(array.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 255:
        raise DataError(f"{name} must lie in 0..255 (or 0..1 as floats); got {low} to {high}")
    if array.dtype.kind == "f" and high <= 1:
        array = array * 255.0  # floats in 0..1: what predict takes and preprocess makes
    return np.rint(array).astype(np.uint8)


def bundled_mnist_dir() -> Path:
    """The folder inside the installed package that holds the four MNIST .gz files."""
    return Path(str(resources.files("digitnet") / "datasets" / "mnist"))


def load_mnist(*, cache_dir: Path | None | str = "default") -> Dataset:
    """The bundled MNIST (60000 train, 10000 test), every file checked against its SHA-256.

    cache_dir: where decompressed copies are kept for fast loading ("default": the user's
    cache folder; None: no cache). Raises DataError if a bundled file fails its checksum.
    """
    folder = bundled_mnist_dir()
    cache = default_cache_dir() if cache_dir == "default" else cache_dir
    arrays: dict[str, np.ndarray] = {}
    checks: list[str] = []
    for gz_name, (gz_sha, raw_sha) in BUNDLED_SHA256.items():
        stem = gz_name.removesuffix(".gz")

        def gunzip_verified(
            gz_name: str = gz_name, gz_sha: str = gz_sha, raw_sha: str = raw_sha
        ) -> bytes:
            packed = read_file_bytes(folder / gz_name)
            if sha256_hex(packed) != gz_sha:
                raise DataError(f"{gz_name}: SHA-256 mismatch, the bundled file is damaged")
            raw = decompress_if_gzip(packed, gz_name)
            if sha256_hex(raw) != raw_sha:
                raise DataError(f"{gz_name}: SHA-256 mismatch after decompression")
            return raw

        raw, from_cache = cached_bytes(Path(cache) if cache else None, raw_sha, gunzip_verified)
        arrays[stem] = parse_idx(raw, stem)
        checks.append(f"{gz_name}: SHA-256 OK{' (decompressed copy cached)' if from_cache else ''}")
    return _assemble("bundled MNIST", arrays, tuple(checks))


def load_idx_dir(folder: str | os.PathLike[str]) -> Dataset:
    """Any folder holding the four standard IDX files, each raw or gzipped (.gz)."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "a file, expected a folder" if folder.exists() else "no such folder"
        raise DataError(f"{folder}: {what} (of the four MNIST IDX files)")
    arrays: dict[str, np.ndarray] = {}
    checks: list[str] = []
    for stems in SPLIT_STEMS.values():
        for stem in stems:
            path = _find_idx(folder, stem)
            arrays[stem] = read_idx(path)
            checks.append(f"{path.name}: IDX header and length OK")
    return _assemble(str(folder), arrays, tuple(checks))


def load_csv_dataset(
    train_csv: str | os.PathLike[str], test_csv: str | os.PathLike[str] | None = None
) -> Dataset:
    """A Kaggle "Digit Recognizer" train.csv (with labels), optionally a labelled test CSV."""
    train_images, train_labels = read_kaggle_csv(train_csv, require_labels=True)
    test_images = test_labels = None
    if test_csv is not None:
        test_images, test_labels = read_kaggle_csv(test_csv, require_labels=True)
    assert train_labels is not None
    return Dataset(str(train_csv), train_images, train_labels, test_images, test_labels)


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: missing {stem} (or {stem}.gz)")


def _assemble(source: str, arrays: dict[str, np.ndarray], checks: tuple[str, ...]) -> Dataset:
    splits = []
    for split, (images_stem, labels_stem) in SPLIT_STEMS.items():
        images, labels = arrays[images_stem], arrays[labels_stem]
        validate_split(images, labels, f"{source} {split}")
        splits += [images, labels]
    return Dataset(source, *splits, checks=checks)


def validate_split(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    """DataError unless images are (n, 28, 28) uint8 and labels (n,) integers in 0..9."""
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{where}: images have shape {images.shape}, expected (n, 28, 28)")
    if images.dtype != np.uint8:
        raise DataError(f"{where}: images are {images.dtype}, expected unsigned bytes")
    if labels.ndim != 1:
        raise DataError(f"{where}: labels have shape {labels.shape}, expected (n,)")
    if len(labels) != len(images):
        raise DataError(f"{where}: {len(images)} images but {len(labels)} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= N_CLASSES):
        bad = int(np.flatnonzero((labels < 0) | (labels >= N_CLASSES))[0])
        raise DataError(f"{where}: label {int(labels[bad])} at index {bad} is outside 0-9")
