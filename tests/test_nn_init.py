"""Initialisers: scales, fans, determinism from the Generator alone, validation."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.errors import ConfigError
from digitnet.nn import INITIALIZERS, initialize
from digitnet.nn.init import fans

EXPECTED_STD = {  # for a (400, 200) weight
    "uniform": np.sqrt(1 / 12),
    "scaled_normal": np.sqrt(1 / 400),
    "small_normal": 0.01,
    "xavier_uniform": np.sqrt(2 / 600),
    "xavier_normal": np.sqrt(2 / 600),
    "he_uniform": np.sqrt(2 / 400),
    "he_normal": np.sqrt(2 / 400),
}


@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_has_the_expected_spread_and_dtype(name):
    weights = initialize(name, (400, 200), np.random.default_rng(0))
    assert weights.shape == (400, 200) and weights.dtype == np.float64
    assert abs(weights.mean()) < 0.05 * EXPECTED_STD[name] + 1e-3
    assert weights.std() == pytest.approx(EXPECTED_STD[name], rel=0.02)


def test_uniform_stays_in_half_open_interval():
    weights = initialize("uniform", (100, 100), np.random.default_rng(0))
    assert weights.min() >= -0.5 and weights.max() < 0.5


@pytest.mark.parametrize("name", ["xavier_uniform", "he_uniform"])
def test_uniform_limits(name):
    weights = initialize(name, (50, 30), np.random.default_rng(0))
    limit = np.sqrt(6 / 80) if name == "xavier_uniform" else np.sqrt(6 / 50)
    assert np.abs(weights).max() <= limit


def test_fans_for_dense_and_conv_shapes():
    assert fans((784, 16)) == (784, 16)
    assert fans((8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ConfigError, match="2-D or 4-D"):
        fans((3,))


def test_same_generator_seed_gives_identical_weights():
    a = initialize("he_normal", (8, 3, 3, 3), np.random.default_rng(42))
    b = initialize("he_normal", (8, 3, 3, 3), np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)


def test_global_numpy_random_state_is_not_used():
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checking the legacy global)
    for name in INITIALIZERS:
        initialize(name, (3, 3), np.random.default_rng(0))
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_unknown_initializer_is_refused():
    with pytest.raises(ConfigError, match="unknown initialiser 'glorot'"):
        initialize("glorot", (3, 3), np.random.default_rng(0))
