"""Files written beside a trained model: the training history (JSON and CSV) and its cost curve."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from digitnet.artifacts.atomic import write_text_atomically
from digitnet.errors import OutputError
from digitnet.training.trainer import EPOCH_COLUMNS, History


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
