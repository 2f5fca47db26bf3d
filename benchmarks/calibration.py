"""Calibration of a model file on its own validation hold-out, measured on the test set.

Rebuilds the hold-out from the settings the file records (pipeline.prepare_data with its seed
and validation size), fits the temperature there, chooses the unsure threshold there, and
reports on the test set: ECE before/after, the fraction marked unsure and the error rates of
the unsure and of the rest. Writes benchmarks/results/calibration.json.

    python benchmarks/calibration.py [MODEL]   (default: the bundled model)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from digitnet.artifacts.model_file import load_model
from digitnet.data.datasets import load_mnist
from digitnet.evaluation.calibration import (
    choose_min_confidence,
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from digitnet.predict import default_model_path
from digitnet.training.config import ModelConfig, TrainConfig, from_dict
from digitnet.training.pipeline import prepare_data, random_streams

RESULTS = Path(__file__).parent / "results" / "calibration.json"


def logits_of(model, x: np.ndarray) -> np.ndarray:
    """(n, 10) pre-softmax outputs at inference, in float64."""
    return np.asarray(model.outputs(x), np.float64)


def unsure_figures(probs: np.ndarray, labels: np.ndarray, cut: float) -> dict:
    """Fraction marked unsure (top probability < cut) and the error rates on each side."""
    unsure = probs.max(axis=1) < cut
    wrong = probs.argmax(axis=1) != labels
    rest_error = float(wrong[~unsure].mean()) if (~unsure).any() else 0.0
    unsure_error = float(wrong[unsure].mean()) if unsure.any() else 0.0
    return {
        "unsure_fraction": float(unsure.mean()),
        "unsure_error_rate": unsure_error,
        "rest_error_rate": rest_error,
        "errors_caught": int(wrong[unsure].sum()),
        "errors": int(wrong.sum()),
    }


def main(path: Path) -> dict:
    meta = load_model(path).meta
    model = load_model(path).model
    model_config = from_dict(ModelConfig, meta["model_config"])
    train_config = from_dict(TrainConfig, meta["train_config"])
    data = prepare_data(
        load_mnist(), model_config, train_config, random_streams(train_config.seed)["split"]
    )
    val_logits = logits_of(model, data.x_val)
    temperature = fit_temperature(val_logits, data.labels_val)
    cut = choose_min_confidence(softmax(val_logits, temperature), data.labels_val)
    test_logits = logits_of(model, data.x_test)
    before, after = softmax(test_logits), softmax(test_logits, temperature)
    report = {
        "model": str(path),
        "n_val": len(data.labels_val),
        "n_test": len(data.labels_test),
        "temperature": temperature,
        "min_confidence": cut,
        "val_ece_before": expected_calibration_error(softmax(val_logits), data.labels_val),
        "val_ece_after": expected_calibration_error(
            softmax(val_logits, temperature), data.labels_val
        ),
        "test_accuracy": float((after.argmax(axis=1) == data.labels_test).mean()),
        "test_ece_before": expected_calibration_error(before, data.labels_test),
        "test_ece_after": expected_calibration_error(after, data.labels_test),
        "test": unsure_figures(after, data.labels_test, cut),
    }
    return report


if __name__ == "__main__":
    report = main(Path(sys.argv[1]) if len(sys.argv) > 1 else default_model_path())
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
