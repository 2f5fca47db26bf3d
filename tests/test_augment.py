"""augment_batch and Augmentation: shapes, seeding, identity, bounded shifts, pixel range,
elastic distortion keeping the ink, and refusing bad settings."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import mnist_inputs

from digitnet.errors import ConfigError
from digitnet.training.augment import Augmentation, augment_batch, elastic_field, gaussian_matrix

NO_CHANGE = {"max_shift": 0.0, "max_rotation": 0.0, "max_scale": 0.0}


@pytest.fixture(scope="module")
def digits(mnist) -> np.ndarray:
    return mnist_inputs(mnist, "train", 64)[0]


def centre_of_mass(images: np.ndarray) -> np.ndarray:
    """(n, 2) ink-weighted mean (row, column) of (n, 784) images."""
    grid = images.reshape(-1, 28, 28)
    mass = grid.sum(axis=(1, 2))
    rows = (grid.sum(axis=2) * np.arange(28)).sum(axis=1) / mass
    cols = (grid.sum(axis=1) * np.arange(28)).sum(axis=1) / mass
    return np.stack([rows, cols], axis=1)


@pytest.mark.parametrize("shape", [(64, 784), (64, 1, 28, 28)])
def test_output_keeps_the_shape_and_dtype(digits, shape):
    x = digits.reshape(shape)
    out = augment_batch(x, np.random.default_rng(0), elastic_alpha=8.0)
    assert out.shape == shape and out.dtype == np.float32
    assert not np.shares_memory(out, x)


def test_the_same_seed_gives_the_same_batch_and_another_seed_another(digits):
    settings = {"elastic_alpha": 34.0}
    first = augment_batch(digits, np.random.default_rng(5), **settings)
    again = augment_batch(digits, np.random.default_rng(5), **settings)
    other = augment_batch(digits, np.random.default_rng(6), **settings)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_no_rotation_scale_shift_or_elasticity_is_the_identity(digits):
    out = augment_batch(digits, np.random.default_rng(0), **NO_CHANGE)
    np.testing.assert_allclose(out, digits, atol=1e-6)


@pytest.mark.parametrize("max_shift", [1.0, 2.0])
def test_a_shift_moves_the_centre_of_mass_by_at_most_max_shift(digits, max_shift):
    out = augment_batch(digits, np.random.default_rng(1), **{**NO_CHANGE, "max_shift": max_shift})
    moved = np.abs(centre_of_mass(out) - centre_of_mass(digits))
    assert moved.max() <= max_shift + 1e-3
    assert moved.max() > max_shift / 2  # and they do move
    grid = digits.reshape(-1, 28, 28)
    inside = grid[:, 3:-3, 3:-3].sum(axis=(1, 2)) == grid.sum(axis=(1, 2))  # no ink cut off
    assert inside.sum() > 20
    np.testing.assert_allclose(out[inside].sum(axis=1), digits[inside].sum(axis=1), rtol=1e-4)


def test_rotation_and_scale_keep_the_centre_and_change_the_image(digits):
    rng = np.random.default_rng(2)
    out = augment_batch(digits, rng, max_shift=0.0, max_rotation=30.0, max_scale=0.2)
    assert not np.allclose(out, digits, atol=0.1)
    # about the image centre, so a centred digit stays roughly centred
    moved = np.abs(centre_of_mass(out) - centre_of_mass(digits))
    assert moved.max() < 2.5


def test_pixels_stay_in_0_1(digits):
    rng = np.random.default_rng(3)
    for settings in [{}, {"elastic_alpha": 34.0}, {"max_shift": 10.0, "max_rotation": 180.0}]:
        out = augment_batch(digits, rng, **settings)
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_elastic_distortion_changes_the_digit_but_keeps_its_ink(digits):
    out = augment_batch(digits, np.random.default_rng(4), **NO_CHANGE, elastic_alpha=34.0)
    assert np.abs(out - digits).max() > 0.3
    # stretched strokes gain ink and squeezed ones lose it (one digit in 64 by up to 60%),
    # but overall and for the typical digit the ink stays
    assert abs(out.sum() / digits.sum() - 1) < 0.15
    assert np.median(np.abs(out.sum(axis=1) / digits.sum(axis=1) - 1)) < 0.15


def test_elastic_field_is_smooth_and_scaled_by_alpha():
    rng = np.random.default_rng(5)
    field = elastic_field(200, 1.0, 4.0, rng)
    assert field.shape == (200, 2, 28, 28) and field.dtype == np.float32
    neighbour_step = np.abs(np.diff(field, axis=-1)).mean()
    assert neighbour_step < 0.2 * np.abs(field).mean()  # smooth: neighbours nearly agree
    doubled = elastic_field(200, 2.0, 4.0, np.random.default_rng(5))
    np.testing.assert_allclose(doubled, 2 * elastic_field(200, 1.0, 4.0, np.random.default_rng(5)))


def test_gaussian_matrix_smooths_like_a_truncated_normalised_kernel():
    matrix = gaussian_matrix(1.0, size=28)
    np.testing.assert_allclose(matrix, matrix.T)
    np.testing.assert_allclose(matrix[14].sum(), 1.0, rtol=1e-6)  # full kernel in the middle
    assert matrix[14, 14 + 4] > 0 and matrix[14, 14 + 5] == 0  # truncated at 4 sigma
    assert 0.5 < matrix[0].sum() < 0.75  # zero beyond the border: half the kernel is lost


def test_augmentation_value_calls_augment_batch(digits):
    augmentation = Augmentation(max_shift=1.0, elastic_alpha=10.0)
    expected = augment_batch(digits, np.random.default_rng(7), max_shift=1.0, elastic_alpha=10.0)
    np.testing.assert_array_equal(augmentation(digits, np.random.default_rng(7)), expected)
    with pytest.raises(AttributeError):
        augmentation.max_shift = 2.0  # frozen


@pytest.mark.parametrize(
    "settings",
    [
        {"max_shift": -1.0},
        {"max_rotation": float("nan")},
        {"max_scale": 1.0},
        {"elastic_alpha": -2.0},
        {"elastic_sigma": 0.0},
        {"max_shift": "2"},
    ],
)
def test_bad_settings_raise_config_error(digits, settings):
    with pytest.raises(ConfigError):
        Augmentation(**settings)
    with pytest.raises(ConfigError):
        augment_batch(digits, np.random.default_rng(0), **settings)


def test_float64_stays_float64_and_other_shapes_or_dtypes_are_refused(digits):
    out = augment_batch(digits.astype(np.float64), np.random.default_rng(0), elastic_alpha=5.0)
    assert out.dtype == np.float64
    with pytest.raises(ValueError, match="784"):
        augment_batch(np.zeros((2, 28, 28), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError, match="float32"):
        augment_batch(np.zeros((2, 784), np.uint8), np.random.default_rng(0))
