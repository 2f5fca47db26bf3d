"""Calibrating an existing model file on the validation hold-out it was trained beside."""

from __future__ import annotations

import os
from pathlib import Path

from digitnet.artifacts.model_file import ModelFile, load_model, save_model
from digitnet.data.datasets import load_mnist
from digitnet.errors import DigitnetError, ModelFileError
from digitnet.evaluation.calibration import Calibration, calibrate_on
from digitnet.training.config import ModelConfig, TrainConfig, from_dict
from digitnet.training.pipeline import PreparedData, prepare_data, random_streams


def holdout_of(model_file: ModelFile, path: Path) -> PreparedData:
    """The train/validation/test split the file's own settings make (bundled MNIST only)."""
    meta = model_file.meta
    if "train_config" not in meta or "model_config" not in meta:
        raise ModelFileError(f"{path}: the file records no training settings to rebuild from")
    train_config = from_dict(TrainConfig, meta["train_config"])
    if train_config.validation <= 0:
        raise ModelFileError(f"{path}: trained without a validation hold-out to calibrate on")
    if any((meta.get("data_options") or {}).values()):
        raise DigitnetError(f"{path}: trained on other data than bundled MNIST: not available")
    model_config = from_dict(ModelConfig, meta["model_config"])
    split = random_streams(train_config.seed)["split"]
    return prepare_data(load_mnist(), model_config, train_config, split)


def calibrate_file(
    path: str | os.PathLike[str], out: str | os.PathLike[str]
) -> tuple[Calibration, Path]:
    """Calibrate the model file at path on its hold-out and write it (atomically) to out."""
    path = Path(path)
    model_file = load_model(path)
    data = holdout_of(model_file, path)
    calibration = calibrate_on(model_file.model, data.x_val, data.labels_val)
    meta = dict(model_file.meta)
    meta["calibration_results"] = {
        "val_ece_before": calibration.val_ece_before,
        "val_ece_after": calibration.val_ece_after,
        "n_val": calibration.n_val,
    }
    written = save_model(
        out, model_file.model, meta, optim=model_file.optim, extra=model_file.extra
    )
    return calibration, written
