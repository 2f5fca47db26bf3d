"""Training history files, written and read in one place: `<model>.history.json` (every step's
cost and a record per epoch), `<model>.history.csv` (the epochs) and `<model>.cost.png`, written
beside a trained model; the JSON read back with every value checked against what the trainer
writes, so a damaged or foreign file is one clear error rather than a crash in the plotting code."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

from digitnet.artifacts.atomic import write_text_atomically
from digitnet.errors import DataError, OutputError
from digitnet.training.trainer import EPOCH_COLUMNS, History

LARGEST_COST = 3.4e38  # training runs in float32 and stops at a cost beyond it (infinity)
LARGEST_COUNT = 10**15  # epochs and steps: far beyond any run, small enough that x + 1 > x


def write_training_artifacts(
    model_path: Path, history: History, *, plot: bool = True
) -> list[Path]:
    """Write <stem>.history.json, <stem>.history.csv (per epoch), <stem>.cost.png; their paths."""
    json_path = model_path.with_name(model_path.stem + ".history.json")
    csv_path = model_path.with_name(model_path.stem + ".history.csv")
    try:
        write_text_atomically(json_path, json.dumps(history.to_dict()))
        write_text_atomically(csv_path, epochs_csv(history.epochs))
    except OSError as err:
        raise OutputError(
            f"cannot write the history beside {model_path}: {err.strerror or err}"
        ) from None
    written = [json_path, csv_path]
    if plot:
        from digitnet.plots import plot_history  # matplotlib is imported only when drawing

        written.append(
            plot_history(
                history.to_dict(),
                model_path.with_name(model_path.stem + ".cost.png"),
                title=model_path.stem,
            )
        )
    return written


def epochs_csv(epochs: list[dict]) -> str:
    """Per-epoch records as CSV text, columns in first-seen order (a header alone for none)."""
    columns: list[str] = [] if epochs else list(EPOCH_COLUMNS)  # a run without an epoch
    for record in epochs:
        columns += [key for key in record if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(epochs)
    return buffer.getvalue()


def read_history(path: Path) -> dict:
    """The History JSON that `digitnet train` wrote: {"step_losses": [number per step],
    "epochs": [{"epoch", "step", "train_loss", ...} per epoch]}. DataError naming the file
    and the first problem for anything else."""
    try:
        history = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as error:
        raise DataError(f"{path}: not a readable history file ({error})") from None
    if not isinstance(history, dict) or "step_losses" not in history:
        raise DataError(f"{path}: not a digitnet history file (no step_losses)")
    problem = _step_losses_problem(history["step_losses"]) or _epochs_problem(
        history.get("epochs", [])
    )
    if problem:
        raise DataError(f"{path}: not a valid history file: {problem}")
    return history


def _step_losses_problem(step_losses: object) -> str | None:
    if not isinstance(step_losses, list):
        return f"step_losses is {_shown(step_losses)}, not a list of numbers"
    for i, loss in enumerate(step_losses):
        problem = _cost_problem(loss)
        if problem:
            return f"step_losses[{i}] is {_shown(loss)}, {problem}"
    return None


def _epochs_problem(epochs: object) -> str | None:
    if not isinstance(epochs, list):
        return f"epochs is {_shown(epochs)}, not a list of per-epoch records"
    for i, record in enumerate(epochs):
        if not isinstance(record, dict):
            return f"epochs[{i}] is {_shown(record)}, not an object"
        for key, check in EPOCH_FIELDS.items():
            # every field is optional: a run without validation has no val_loss
            problem = check(record[key]) if key in record else None
            if problem:
                return f"epochs[{i}].{key} is {_shown(record[key])}, {problem}"
    return None


def _number_problem(value: object) -> str | None:
    """None for a JSON number a float can hold (NaN included: Python writes a NaN cost as NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "not a number"
    if isinstance(value, int) and abs(value) > sys.float_info.max:
        return "too large a number"
    return None


def _cost_problem(value: object) -> str | None:
    problem = _number_problem(value)
    if problem or math.isnan(value) or value == math.inf or 0 <= value <= LARGEST_COST:
        return problem
    return f"not a cost (a number from 0 to {LARGEST_COST:g}, NaN or Infinity)"


def _count_problem(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= LARGEST_COUNT:
        return None
    return "not a whole number from 0 to 10^15"


def _fraction_problem(value: object) -> str | None:
    problem = _number_problem(value)
    if problem or math.isnan(value) or 0 <= value <= 1:
        return problem
    return "not a fraction from 0 to 1"


# what each number of an epoch record (digitnet.training.trainer.Trainer._end_epoch) may be
EPOCH_FIELDS = {
    "epoch": _count_problem,
    "step": _count_problem,
    "train_loss": _cost_problem,
    "val_loss": _cost_problem,
    "train_accuracy": _fraction_problem,
    "val_accuracy": _fraction_problem,
    "learning_rate": _number_problem,
    "seconds": _number_problem,
}


def _shown(value: object) -> str:
    """value as JSON, cut to 40 characters so an error stays one short line."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
