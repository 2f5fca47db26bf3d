"""digitnet.evaluation.metrics: confusion matrix and classification report on cases counted by
hand, classes never predicted or absent from the labels, all correct, all wrong, no samples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitnet.evaluation.metrics import classification_report, confusion_matrix

# Six labels counted on paper: rows are true digits, columns predicted ones.
#   true 0: predicted 0, 1   true 1: predicted 1, 1   true 2: predicted 2, 0
LABELS = np.array([0, 0, 1, 1, 2, 2])
PREDICTED = np.array([0, 1, 1, 1, 2, 0])


def per_class(report: dict, digit: int) -> tuple[float, float, float, int]:
    row = report["per_class"][digit]
    assert row["digit"] == digit
    return row["precision"], row["recall"], row["f1"], row["support"]


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    confusion = confusion_matrix(LABELS, PREDICTED)
    expected = np.zeros((10, 10), np.int64)
    expected[0, 0] = expected[0, 1] = expected[2, 2] = expected[2, 0] = 1
    expected[1, 1] = 2
    np.testing.assert_array_equal(confusion, expected)
    assert confusion.dtype.kind == "i"


def test_confusion_matrix_takes_uint8_labels_and_another_class_count():
    labels = np.array([9, 9, 8], np.uint8)  # the datasets' dtype: 9 * 10 must not wrap
    np.testing.assert_array_equal(confusion_matrix(labels, labels)[8:, 8:], [[1, 0], [0, 2]])
    three = confusion_matrix(np.array([0, 2, 2]), np.array([2, 2, 1]), n_classes=3)
    np.testing.assert_array_equal(three, [[0, 0, 1], [0, 0, 0], [0, 1, 1]])


def test_report_of_six_hand_counted_labels():
    report = classification_report(LABELS, PREDICTED)
    assert report["n"] == 6
    assert report["accuracy"] == 4 / 6
    assert report["confusion"] == confusion_matrix(LABELS, PREDICTED).tolist()
    # digit 0: 1 right of 2 predicted, of 2 true; digit 1: 2 of 3 predicted, 2 of 2 true;
    # digit 2: 1 of 1 predicted, 1 of 2 true
    assert per_class(report, 0) == (0.5, 0.5, 0.5, 2)
    assert per_class(report, 1) == (2 / 3, 1.0, 0.8, 2)
    assert per_class(report, 2) == (1.0, 0.5, 2 / 3, 2)
    for digit in range(3, 10):
        assert per_class(report, digit) == (0.0, 0.0, 0.0, 0)


def test_a_class_never_predicted_has_precision_zero_not_nan():
    report = classification_report(np.array([3, 3, 4]), np.array([4, 4, 4]))
    assert per_class(report, 3) == (0.0, 0.0, 0.0, 2)  # 0 of 0 predicted: defined as 0
    assert per_class(report, 4) == (1 / 3, 1.0, 0.5, 1)
    assert report["accuracy"] == 1 / 3


def test_a_class_predicted_but_absent_from_the_labels_has_recall_zero():
    report = classification_report(np.array([5, 5]), np.array([5, 7]))
    assert per_class(report, 7) == (0.0, 0.0, 0.0, 0)  # 0 of 1 predicted right, no support
    assert per_class(report, 5) == (1.0, 0.5, 2 / 3, 2)
    assert report["accuracy"] == 0.5


def test_all_correct_gives_ones_and_a_diagonal_confusion():
    labels = np.repeat(np.arange(10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    report = classification_report(labels, labels)
    assert report["n"] == 55 and report["accuracy"] == 1.0
    assert report["confusion"] == np.diag(np.arange(1, 11)).tolist()
    for digit in range(10):
        assert per_class(report, digit) == (1.0, 1.0, 1.0, digit + 1)


def test_all_wrong_gives_zeros_and_keeps_the_support():
    labels = np.repeat(np.arange(10), 3)
    report = classification_report(labels, (labels + 1) % 10)
    assert report["accuracy"] == 0.0
    confusion = np.array(report["confusion"])
    assert np.trace(confusion) == 0
    np.testing.assert_array_equal(confusion.sum(axis=1), np.full(10, 3))
    np.testing.assert_array_equal(np.diag(np.roll(confusion, -1, axis=1)), np.full(10, 3))
    for digit in range(10):
        assert per_class(report, digit) == (0.0, 0.0, 0.0, 3)


def test_no_samples_give_nan_accuracy_and_zero_counts():
    report = classification_report(np.array([], np.int64), np.array([], np.int64))
    assert report["n"] == 0 and np.isnan(report["accuracy"])
    assert report["confusion"] == np.zeros((10, 10), int).tolist()
    assert all(per_class(report, digit) == (0.0, 0.0, 0.0, 0) for digit in range(10))


def test_the_report_is_plain_json_types():
    report = classification_report(LABELS, PREDICTED)
    assert json.loads(json.dumps(report)) == report
    row = report["per_class"][1]
    assert type(row["precision"]) is float and type(row["support"]) is int


def test_a_class_outside_the_range_is_refused_not_miscounted():
    with pytest.raises(ValueError, match="predictions must be classes 0 to 9"):
        confusion_matrix(np.array([0]), np.array([12]))  # else counted as true 1, predicted 2
    with pytest.raises(ValueError, match="labels must be classes 0 to 9"):
        confusion_matrix(np.array([-1]), np.array([3]))
