"""Classification metrics: accuracy, the confusion matrix, per-class precision, recall and F1."""

from __future__ import annotations

import numpy as np

N_CLASSES = 10


def confusion_matrix(
    labels: np.ndarray, predicted: np.ndarray, n_classes: int = N_CLASSES
) -> np.ndarray:
    """(n_classes, n_classes) counts; row = true class, column = predicted class. ValueError
    for a label or prediction outside 0..n_classes-1 (it would be counted in another cell)."""
    for name, values in (("labels", labels), ("predictions", predicted)):
        if len(values) and not (values.min() >= 0 and values.max() < n_classes):
            raise ValueError(f"{name} must be classes 0 to {n_classes - 1}")
    flat = labels.astype(np.int64) * n_classes + predicted.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def classification_report(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """accuracy, n, confusion (nested lists), per_class (precision, recall, f1, support)."""
    confusion = confusion_matrix(labels, predicted)
    correct = np.diag(confusion).astype(np.float64)
    predicted_counts = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    precision = np.divide(
        correct, predicted_counts, out=np.zeros(N_CLASSES), where=predicted_counts > 0
    )
    recall = np.divide(correct, support, out=np.zeros(N_CLASSES), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros(N_CLASSES), where=denominator > 0
    )
    n = int(len(labels))
    return {
        "n": n,
        "accuracy": float(correct.sum() / n) if n else float("nan"),
        "confusion": confusion.tolist(),
        "per_class": [
            {
                "digit": digit,
                "precision": float(precision[digit]),
                "recall": float(recall[digit]),
                "f1": float(f1[digit]),
                "support": int(support[digit]),
            }
            for digit in range(N_CLASSES)
        ],
    }
