"""From a dataset and settings to a trained, evaluated model: the steps every front end shares.

dataset --prepare_data--> arrays --build_model--> network --Trainer--> weights --evaluate--> metrics
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from digitnet import __version__
from digitnet.data.datasets import Dataset
from digitnet.data.preprocess import one_hot, split_validation, take_first, to_inputs
from digitnet.errors import DataError
from digitnet.evaluation.calibration import calibrate_on
from digitnet.evaluation.metrics import classification_report
from digitnet.nn.model import Sequential
from digitnet.training.augment import AUGMENTATIONS
from digitnet.training.build import build_model, input_layout
from digitnet.training.config import ModelConfig, TrainConfig, to_dict
from digitnet.training.trainer import Trainer, TrainEvent, TrainResult, TrainState

STREAMS = ("init", "shuffle", "split", "augment")


@dataclass
class PreparedData:
    """Network-ready arrays: x as floats in [0, 1], labels as ints; val/test may be empty."""

    source: str
    x_train: np.ndarray
    labels_train: np.ndarray
    x_val: np.ndarray
    labels_val: np.ndarray
    x_test: np.ndarray | None
    labels_test: np.ndarray | None


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators from one seed, so e.g. the split does not change the weights."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }


def prepare_data(
    dataset: Dataset,
    model_config: ModelConfig,
    train_config: TrainConfig,
    split_rng: np.random.Generator,
) -> PreparedData:
    """Apply --train-limit/--test-limit, hold out the validation set, scale to floats."""
    layout = input_layout(model_config)
    images, labels = take_first(
        dataset.train_images, dataset.train_labels, train_config.train_limit
    )
    n_validation = train_config.held_out(len(images))
    if n_validation >= len(images):
        raise DataError(
            f"holding out {n_validation} images for validation leaves nothing to "
            f"train on ({len(images)} training images); hold out fewer, or 0"
        )
    (train_images, train_labels), (val_images, val_labels) = split_validation(
        images, labels, n_validation, split_rng
    )
    x_test = labels_test = None
    if dataset.test_images is not None and dataset.test_labels is not None:
        test_images, labels_test = take_first(
            dataset.test_images, dataset.test_labels, train_config.test_limit
        )
        x_test = to_inputs(test_images, layout=layout)
    return PreparedData(
        dataset.source,
        to_inputs(train_images, layout=layout),
        train_labels,
        to_inputs(val_images, layout=layout),
        val_labels,
        x_test,
        labels_test,
    )


def evaluate(model: Sequential, x: np.ndarray, labels: np.ndarray) -> dict:
    """accuracy, loss, n, confusion (rows = true digit), per-class precision/recall/F1, and
    the predictions and probabilities themselves (arrays, for plots)."""
    outputs = model.outputs(x)
    probabilities = model.calibrated_probabilities(outputs)
    predicted = probabilities.argmax(axis=1)
    report = classification_report(labels, predicted)
    report["loss"] = model.loss.value(outputs, one_hot(labels, dtype=outputs.dtype.type))
    report["predicted"] = predicted
    report["probabilities"] = probabilities
    return report


@dataclass
class FitResult:
    model: Sequential
    trainer: Trainer
    result: TrainResult
    results: dict  # accuracies and costs after training
    seconds: float


def fit(
    model_config: ModelConfig,
    train_config: TrainConfig,
    data: PreparedData,
    *,
    model: Sequential | None = None,
    state: TrainState | None = None,
    optimizer_state: dict[str, np.ndarray] | None = None,
    rng_states: dict | None = None,
    on_event: Callable[[TrainEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FitResult:
    """Build (or continue) a network and train it; at the end, evaluate on train and test and
    calibrate (temperature scaling, unsure cut) on the validation hold-out when there is one."""
    streams = random_streams(train_config.seed)
    if rng_states:
        for name, generator in streams.items():
            if name in rng_states:
                generator.bit_generator.state = rng_states[name]
    model = model or build_model(model_config, streams["init"])
    trainer = Trainer(
        model,
        train_config,
        data.x_train,
        data.labels_train,
        streams["shuffle"],
        val=(data.x_val, data.labels_val) if len(data.x_val) else None,
        streams=streams,
    )
    if train_config.augment != "none":
        distortion = AUGMENTATIONS[train_config.augment]
        trainer.augment = lambda x_batch: distortion(x_batch, streams["augment"])
    if optimizer_state:
        trainer.optimizer.load_state_dict(optimizer_state)
    started = time.perf_counter()
    result = trainer.run(state, on_event=on_event, should_stop=should_stop)
    seconds = time.perf_counter() - started
    results = {"stop_reason": result.stop_reason, "train_seconds": round(seconds, 3)}
    if result.stop_reason != "interrupted":
        results.update(summarise(model, data))
        if len(data.x_val):  # temperature and unsure cut from the hold-out, kept in the file
            calibration = calibrate_on(model, data.x_val, data.labels_val)
            results["calibration"] = {
                "temperature": round(calibration.temperature, 6),
                "min_confidence": round(calibration.min_confidence, 6),
                "val_ece_before": round(calibration.val_ece_before, 6),
                "val_ece_after": round(calibration.val_ece_after, 6),
            }
    return FitResult(model, trainer, result, results, seconds)


def summarise(model: Sequential, data: PreparedData) -> dict:
    """Final train (and validation, test) accuracy and cost."""
    summary = {}
    splits = [("train", data.x_train, data.labels_train), ("val", data.x_val, data.labels_val)]
    if data.x_test is not None and data.labels_test is not None:
        splits.append(("test", data.x_test, data.labels_test))
    for name, x, labels in splits:
        if len(x) == 0:
            continue
        report = evaluate(model, x, labels)
        summary[f"{name}_accuracy"] = report["accuracy"]
        summary[f"{name}_loss"] = report["loss"]
        summary[f"n_{name}"] = int(len(x))
    return summary


def model_metadata(
    model_config: ModelConfig,
    train_config: TrainConfig,
    *,
    preset: str | None,
    source: str,
    results: dict,
) -> dict:
    """The JSON header a trained model file carries."""
    return {
        "preset": preset,
        "model_config": to_dict(model_config),
        "train_config": to_dict(train_config),
        "dataset": {"source": source},
        "results": results,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "trained_with": f"digitnet {__version__}",
    }
