"""Calibration of a classifier's probabilities: temperature scaling, ECE, the unsure threshold.

Pure NumPy. Temperature scaling divides the logits by one scalar T > 0 before the softmax: the
argmax (and so the accuracy) is unchanged, only the confidence moves. T is fitted on a hold-out
by minimising the negative log-likelihood over log T (golden-section search, so no derivative
is needed and perfectly separated data, whose optimum lies at T -> 0, stops at the search's edge).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_T_RANGE = (np.log(0.05), np.log(20.0))  # temperatures outside this are a sign of a bug
GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / T) row by row.  logits: (n, classes) -> (n, classes) float64."""
    z = np.asarray(logits, np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)  # subtract the row max so exp() cannot overflow
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of labels (n,) under softmax(logits / T), in nats."""
    z = np.asarray(logits, np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, *, iterations: int = 60) -> float:
    """The T > 0 minimising nll(logits, labels, T), searched on log T in LOG_T_RANGE.

    logits: (n, classes) float; labels: (n,) int in [0, classes). Raises ValueError on
    empty or mismatched input. The NLL is convex in 1/T, hence unimodal in log T.
    """
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim != 2 or len(logits) == 0 or labels.shape != (len(logits),):
        raise ValueError(
            f"need logits (n, classes) and labels (n,), got {logits.shape}, {labels.shape}"
        )
    lo, hi = LOG_T_RANGE
    a, b = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    for _ in range(iterations):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - GOLDEN * (hi - lo)
            fa = nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + GOLDEN * (hi - lo)
            fb = nll(logits, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2.0))


@dataclass(frozen=True)
class ReliabilityBins:
    """Equal-width bins of top-class confidence; empty bins have count 0 and NaN means."""

    edges: np.ndarray  # (bins + 1,) from 0 to 1
    count: np.ndarray  # (bins,) int
    confidence: np.ndarray  # (bins,) mean top-class probability in the bin
    accuracy: np.ndarray  # (bins,) fraction of the bin's predictions that are right


def reliability_bins(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 15
) -> ReliabilityBins:
    """Bin (n, classes) probabilities by their top value; bin i holds (edge i, edge i+1]."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, confidence, bins) / count
        accuracy = np.bincount(index, correct.astype(np.float64), bins) / count
    return ReliabilityBins(edges, count, mean_conf, accuracy)


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 15
) -> float:
    """Standard ECE: sum over equal-width bins of (bin size / n) * |accuracy - confidence|."""
    r = reliability_bins(probabilities, labels, bins)
    filled = r.count > 0
    gaps = np.abs(r.accuracy[filled] - r.confidence[filled])
    return float(np.sum(r.count[filled] * gaps) / r.count.sum())


def choose_min_confidence(
    probabilities: np.ndarray,
    labels: np.ndarray,
    *,
    ratio: float = 10.0,
    max_fraction: float = 0.05,
) -> float:
    """The unsure threshold from validation data: the smallest confidence cut that works.

    Rule: consider cuts at the validation confidences, marking unsure every prediction whose
    top probability is below the cut. Keep the cuts that mark at most max_fraction of the
    digits and under which the error rate of the marked is at least `ratio` times the error
    rate of the rest; among those, pick the one that catches the most errors, and of cuts that
    catch as many, the smallest (marking no digit more than needed).
    Returns 0.0 (unsure disabled) when no cut qualifies, e.g. when validation has no error.
    """
    confidence = np.asarray(probabilities).max(axis=1)
    wrong = np.asarray(probabilities).argmax(axis=1) != np.asarray(labels)
    order = np.argsort(confidence, kind="stable")
    confidence, wrong = confidence[order], wrong[order]
    n = len(confidence)
    best, caught_best = 0.0, 0
    for k in range(1, int(max_fraction * n) + 1):  # the k least confident are marked
        if k < n and confidence[k] == confidence[k - 1]:
            continue  # a cut must fall between two distinct confidences
        marked_error = wrong[:k].mean()
        rest_error = wrong[k:].mean() if k < n else 0.0
        caught = int(wrong[:k].sum())
        if caught > caught_best and marked_error >= ratio * rest_error:
            best, caught_best = (float(confidence[k]) if k < n else 1.0), caught
    return best


def unsure_report(
    probabilities: np.ndarray, labels: np.ndarray, temperature: float, min_confidence: float
) -> dict:
    """ECE before/after temperature and the unsure split, from calibrated (n, classes) probs.

    The uncalibrated probabilities are recovered as softmax(T * log p), since log p equals
    logits / T up to a per-row constant.
    """
    probabilities = np.asarray(probabilities, np.float64)
    log_p = np.log(np.maximum(probabilities, np.finfo(np.float64).tiny))
    raw = softmax(log_p, 1.0 / temperature)
    unsure = probabilities.max(axis=1) < min_confidence
    wrong = probabilities.argmax(axis=1) != labels
    return {
        "temperature": float(temperature),
        "min_confidence": float(min_confidence),
        "ece_before": expected_calibration_error(raw, labels),
        "ece_after": expected_calibration_error(probabilities, labels),
        "unsure_fraction": float(unsure.mean()),
        "unsure_error_rate": float(wrong[unsure].mean()) if unsure.any() else 0.0,
        "rest_error_rate": float(wrong[~unsure].mean()) if (~unsure).any() else 0.0,
    }


@dataclass(frozen=True)
class Calibration:
    """What calibrating found: T, the unsure cut and the validation ECE before/after."""

    temperature: float
    min_confidence: float
    val_ece_before: float
    val_ece_after: float
    n_val: int


def calibrate_on(model, x_val: np.ndarray, labels_val: np.ndarray) -> Calibration:
    """Fit T and the unsure cut on (x_val, labels_val) and store both in the model."""
    logits = np.asarray(model.outputs(x_val), np.float64)
    temperature = fit_temperature(logits, labels_val)
    calibrated = softmax(logits, temperature)
    model.temperature = temperature
    model.min_confidence = choose_min_confidence(calibrated, labels_val)
    return Calibration(
        temperature,
        model.min_confidence,
        expected_calibration_error(softmax(logits), labels_val),
        expected_calibration_error(calibrated, labels_val),
        len(labels_val),
    )
