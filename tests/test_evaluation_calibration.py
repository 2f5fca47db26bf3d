"""Temperature scaling, ECE and the unsure threshold on synthetic and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.evaluation.calibration import (
    choose_min_confidence,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    softmax,
)


def _logits_drawn_at(temperature: float, n: int = 20000, seed: int = 0):
    """Logits whose labels are drawn from softmax(logits / temperature): the true T is known."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, (n, 10))
    probs = softmax(logits, temperature)
    labels = (probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits, labels


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_a_known_temperature(true_t):
    logits, labels = _logits_drawn_at(true_t)
    assert fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.05)


def test_fit_temperature_on_separated_data_stops_small_and_finite():
    logits = np.eye(10)[np.arange(100) % 10] * 5.0
    t = fit_temperature(logits, np.arange(100) % 10)
    assert 0.0 < t < 0.1  # every answer right: sharper is always better, the search's edge stops it


def test_fit_temperature_refuses_mismatched_labels():
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((3, 10)), np.zeros(2, int))


def test_ece_of_a_perfectly_calibrated_hand_made_case_is_zero():
    # four predictions at 0.75 confidence, three right: accuracy equals confidence
    probs = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(probs, np.array([0, 0, 0, 1])) == pytest.approx(0.0)


def test_ece_hand_worked_two_bins():
    # bin (0.9, 0.967]: two at 0.95, one right -> gap 0.45; bin (0.533, 0.6]: two at 0.6, both right
    # -> gap 0.4; ECE = (2 * 0.45 + 2 * 0.4) / 4 = 0.425
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.6, 0.4]])
    assert expected_calibration_error(probs, np.array([0, 1, 0, 0])) == pytest.approx(0.425)


def test_reliability_bins_follow_the_data():
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4]])
    r = reliability_bins(probs, np.array([0, 1, 0]), bins=10)
    assert r.count.tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert r.accuracy[9] == pytest.approx(0.5) and r.confidence[9] == pytest.approx(0.95)


def test_temperature_fitted_on_overconfident_logits_lowers_the_ece():
    logits, labels = _logits_drawn_at(2.0)  # softmax(logits) alone is overconfident
    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits, fit_temperature(logits, labels)), labels)
    assert before > 0.05 and after < 0.02


def test_choose_min_confidence_separates_the_errors():
    rng = np.random.default_rng(1)
    n = 2000
    confidence = np.concatenate([rng.uniform(0.3, 0.6, 40), rng.uniform(0.95, 1.0, n - 40)])
    probs = np.stack([confidence, 1 - confidence], axis=1)
    labels = np.zeros(n, int)
    labels[:30] = 1  # 30 of the 40 unsure ones wrong
    labels[100:105] = 1  # and a few confident errors
    cut = choose_min_confidence(probs, labels)
    unsure = confidence < cut
    assert 0.6 <= cut and 40 <= unsure.sum() <= 100  # all the doubtful ones, at most 5%
    wrong = probs.argmax(axis=1) != labels
    assert wrong[unsure].mean() >= 10 * wrong[~unsure].mean()


def test_choose_min_confidence_is_zero_without_errors():
    probs = np.array([[0.9, 0.1]] * 50)
    assert choose_min_confidence(probs, np.zeros(50, int)) == 0.0
