"""Losses: values by hand, gradient checks in float64, extreme logits, probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import numeric_grad, rel_error

from digitnet.errors import ConfigError
from digitnet.nn import MeanSquaredError, SoftmaxCrossEntropy, loss_from_name


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    return np.eye(classes)[labels]


@pytest.mark.parametrize(
    "loss", [SoftmaxCrossEntropy(), SoftmaxCrossEntropy(label_smoothing=0.1), MeanSquaredError()]
)
def test_loss_gradient_matches_finite_differences(loss):
    rng = np.random.default_rng(0)
    output = rng.standard_normal((5, 10)) * 2
    y = one_hot(rng.integers(0, 10, 5))
    numeric = numeric_grad(lambda: loss.value(output, y), output)
    assert rel_error(loss.gradient(output, y), numeric) < 1e-6
    value, grad = loss.value_and_gradient(output, y)
    assert value == pytest.approx(loss.value(output, y), rel=1e-12)
    np.testing.assert_allclose(grad, loss.gradient(output, y), rtol=1e-12)


def test_cross_entropy_values_by_hand():
    loss = SoftmaxCrossEntropy()
    assert loss.value(np.zeros((2, 10)), one_hot(np.array([3, 7]))) == pytest.approx(np.log(10))
    logits = np.array([[np.log(3.0), 0.0]])  # probs (0.75, 0.25)
    assert loss.value(logits, np.array([[0.0, 1.0]])) == pytest.approx(-np.log(0.25))
    np.testing.assert_allclose(loss.gradient(logits, np.array([[0.0, 1.0]])), [[0.75, -0.75]])


def test_label_smoothing_spreads_the_target():
    logits = np.array([[np.log(3.0), 0.0]])
    y = np.array([[1.0, 0.0]])
    loss = SoftmaxCrossEntropy(label_smoothing=0.2)  # target (0.9, 0.1)
    expected = -(0.9 * np.log(0.75) + 0.1 * np.log(0.25))
    assert loss.value(logits, y) == pytest.approx(expected)
    np.testing.assert_allclose(loss.gradient(logits, y), [[0.75 - 0.9, 0.25 - 0.1]])


def test_mse_value_and_gradient_by_hand():
    loss = MeanSquaredError()
    output = np.array([[0.5, 0.5], [1.0, 0.0]])
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert loss.value(output, y) == pytest.approx(0.5 / 4)  # sum of squares 0.5, / (2·2)
    np.testing.assert_allclose(loss.gradient(output, y), [[-0.25, 0.25], [0.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_for_logits_of_1e4(dtype):
    loss = SoftmaxCrossEntropy(label_smoothing=0.1)
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype)
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], np.float64)
    value, grad = loss.value_and_gradient(logits, y)
    # log-probs: row 0 (0, −2e4, −1e4); row 1 (−2e4 − ln 2, −ln 2, −ln 2); targets 0.9·y + 0.1/3
    low, high = 0.1 / 3, 0.9 + 0.1 / 3
    row_0 = high * 2e4 + low * 1e4
    row_1 = high * (2e4 + np.log(2)) + 2 * low * np.log(2)
    assert value == pytest.approx((row_0 + row_1) / 2, rel=1e-6)
    assert np.isfinite(grad).all() and grad.dtype == dtype
    assert np.isfinite(loss.probabilities(logits)).all()


def test_probabilities_are_rows_summing_to_one():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 10)).astype(np.float32)
    probs = SoftmaxCrossEntropy().probabilities(logits)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    output = np.array([[0.2, 0.6, -1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -0.5]])
    probs = MeanSquaredError().probabilities(output)
    np.testing.assert_allclose(probs, [[0.25, 0.75, 0.0], [1 / 3] * 3, [1 / 3] * 3])


def test_loss_from_name_and_spec_round_trip():
    for loss in [SoftmaxCrossEntropy(label_smoothing=0.05), MeanSquaredError()]:
        spec = loss.spec()
        rebuilt = loss_from_name(spec.pop("name"), **spec)
        assert rebuilt.spec() == loss.spec()
    with pytest.raises(ConfigError, match="unknown loss"):
        loss_from_name("hinge")
    with pytest.raises(ConfigError):
        loss_from_name("mse", label_smoothing=0.1)
    with pytest.raises(ConfigError, match="label_smoothing"):
        SoftmaxCrossEntropy(label_smoothing=1.0)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="must be equal"):
        SoftmaxCrossEntropy().value(np.zeros((2, 10)), np.zeros((2, 9)))
