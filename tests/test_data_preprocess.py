"""Preprocessing: scaling, layouts, one-hot labels, seeded splits, subsets and minibatches."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.data.batches import batch_slices, minibatches
from digitnet.data.preprocess import one_hot, split_validation, take_first, to_inputs
from digitnet.errors import DataError


def test_inputs_are_float32_in_unit_range_in_both_layouts():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    flat = to_inputs(images)
    assert flat.dtype == np.float32 and flat.shape == (1, 4)
    np.testing.assert_allclose(flat, [[0, 1, 0.2, 0.4]], rtol=1e-6)
    assert to_inputs(images, layout="image").shape == (1, 1, 2, 2)
    with pytest.raises(DataError):
        to_inputs(images, layout="volume")


def test_one_hot():
    encoded = one_hot(np.array([3, 0, 9], dtype=np.uint8))
    assert encoded.shape == (3, 10) and encoded.dtype == np.float32
    assert encoded.argmax(axis=1).tolist() == [3, 0, 9]
    assert encoded.sum() == 3


def test_split_is_seeded_disjoint_and_complete():
    images = np.arange(100).reshape(100, 1, 1)
    labels = np.arange(100)
    (train_x, train_y), (val_x, val_y) = split_validation(
        images, labels, 20, np.random.default_rng(7)
    )
    (again_x, _), _ = split_validation(images, labels, 20, np.random.default_rng(7))
    (other_x, _), _ = split_validation(images, labels, 20, np.random.default_rng(8))
    assert len(val_y) == 20 and len(train_y) == 80
    assert sorted(np.concatenate([train_y, val_y]).tolist()) == list(range(100))
    np.testing.assert_array_equal(train_x.ravel(), train_y)
    np.testing.assert_array_equal(again_x, train_x)
    assert not np.array_equal(other_x, train_x)
    with pytest.raises(DataError):
        split_validation(images, labels, 100, np.random.default_rng(0))


def test_take_first_gives_a_reproducible_subset(mnist):
    images, labels = take_first(mnist.train_images, mnist.train_labels, 1000)
    assert images.shape == (1000, 28, 28) and len(labels) == 1000
    np.testing.assert_array_equal(labels, mnist.train_labels[:1000])
    assert take_first(images, labels, None)[0] is images
    with pytest.raises(DataError):
        take_first(images, labels, 0)


def test_minibatches_cover_each_sample_once_in_seeded_order():
    x = np.arange(10)[:, None]
    y = np.arange(10)
    batches = list(minibatches(x, y, 4, np.random.default_rng(3)))
    assert [len(b) for b, _ in batches] == [4, 4, 2]
    seen = np.concatenate([b.ravel() for b, _ in batches])
    assert sorted(seen.tolist()) == list(range(10))
    again = np.concatenate([b.ravel() for b, _ in minibatches(x, y, 4, np.random.default_rng(3))])
    np.testing.assert_array_equal(seen, again)
    assert all(np.array_equal(bx.ravel(), by) for bx, by in batches)


def test_batch_slices_can_resume_mid_epoch():
    assert list(batch_slices(10, 4, start=4)) == [slice(4, 8), slice(8, 10)]
    with pytest.raises(ValueError):
        list(batch_slices(10, 0))
