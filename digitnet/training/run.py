"""One training run from start to files: the entry point the CLI, the API and reproduce share.

settings + dataset (+ a checkpoint to resume) --prepare_data--> arrays --fit--> network
    --model_metadata--> header --save--> model file, history, cost curve (or a checkpoint)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from digitnet.artifacts.history import write_training_artifacts
from digitnet.artifacts.model_file import save_model
from digitnet.data.datasets import Dataset
from digitnet.errors import ConfigError
from digitnet.nn.model import Sequential
from digitnet.training.checkpoint import Checkpoint, checkpoint_path_for, save_checkpoint
from digitnet.training.config import ModelConfig, TrainConfig
from digitnet.training.pipeline import (
    PreparedData,
    fit,
    model_metadata,
    prepare_data,
    random_streams,
)
from digitnet.training.trainer import TrainEvent, TrainResult, step_budget


@dataclass(frozen=True)
class RunPlan:
    """What a run is about to do, for a front end to announce before the first step."""

    preset: str | None
    train_config: TrainConfig
    data: PreparedData
    steps_per_epoch: int
    total_steps: int


@dataclass
class RunOutcome:
    """A finished (or interrupted) run: the network, its header, and the files written.

    files: the model file, history and cost curve (none when the run had no `out`);
    checkpoint: where an interrupted run was saved; warnings: lines for the user (a resumed
    checkpoint that could not be removed).
    """

    model: Sequential
    meta: dict
    result: TrainResult
    data: PreparedData
    files: list[Path] = field(default_factory=list)
    checkpoint: Path | None = None
    removed_checkpoint: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def results(self) -> dict:
        return self.meta["results"]


def train_run(
    model_config: ModelConfig,
    train_config: TrainConfig,
    dataset: Dataset,
    *,
    preset: str | None = None,
    resume: Checkpoint | None = None,
    out: str | os.PathLike[str] | None = None,
    plot: bool = True,
    data_options: dict | None = None,
    on_start: Callable[[RunPlan], None] | None = None,
    on_event: Callable[[TrainEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunOutcome:
    """Prepare the data, train (or continue `resume`, refusing other data than it trained
    on), and with `out` write the model file, its history and cost curve, or a checkpoint
    beside `out` when should_stop interrupts the run. data_options: how the data was given,
    recorded in the header so a resumed run can find it again."""
    if resume is not None:
        model_config, train_config = resume.model_config, resume.train_config
        preset = resume.meta.get("preset")
        plot = plot and not resume.meta.get("no_plot", False)
        _refuse_other_data(dataset, resume)
    data = prepare_data(
        dataset, model_config, train_config, random_streams(train_config.seed)["split"]
    )
    if on_start is not None:
        on_start(plan_of(preset, train_config, data))
    fitted = fit(
        model_config,
        train_config,
        data,
        model=resume.model if resume else None,
        state=resume.state if resume else None,
        optimizer_state=resume.optimizer_state if resume else None,
        rng_states=resume.rng_states if resume else None,
        on_event=on_event,
        should_stop=should_stop,
    )
    meta = model_metadata(
        model_config, train_config, preset=preset, source=data.source, results=fitted.results
    )
    if data_options is not None:
        meta["data_options"] = data_options
    outcome = RunOutcome(fitted.model, meta, fitted.result, data)
    if out is None:
        return outcome
    out = Path(out)
    if fitted.result.stop_reason == "interrupted":
        meta["data_fingerprint"] = dataset.fingerprint()
        meta["no_plot"] = not plot
        outcome.checkpoint = save_checkpoint(
            checkpoint_path_for(out), fitted.trainer, fitted.result.state, meta
        )
        return outcome
    save_model(out, fitted.model, meta)
    history = fitted.result.history
    outcome.files = [out, *write_training_artifacts(out, history, plot=plot)]
    if resume is not None and resume.path is not None:
        _remove_resumed(resume.path, outcome)  # only now: the model file is complete
    return outcome


def plan_of(preset: str | None, train_config: TrainConfig, data: PreparedData) -> RunPlan:
    """Steps per epoch and in all for these arrays and settings, as the Trainer counts them."""
    _, steps_per_epoch, total = step_budget(train_config, len(data.x_train))
    return RunPlan(preset, train_config, data, steps_per_epoch, total)


def _refuse_other_data(dataset: Dataset, resume: Checkpoint) -> None:
    """ConfigError if the data differs from what the interrupted run trained on (a checkpoint
    without a fingerprint, from before they were kept, is not checked); the message names the
    data options the interrupted run was given."""
    fingerprint = resume.meta.get("data_fingerprint")
    if fingerprint is None or dataset.fingerprint() == fingerprint:
        return
    saved = " ".join(
        f"--{key.replace('_', '-')} {value}"
        for key, value in resume.meta.get("data_options", {}).items()
        if value
    )
    raise ConfigError(
        f"--resume: the data ({dataset.source}) differs from what the interrupted run trained "
        f"on ({saved or 'the bundled MNIST'}); give the same images and labels (every data "
        "option, if any), or start a new run"
    )


def _remove_resumed(checkpoint: Path, outcome: RunOutcome) -> None:
    """Delete the checkpoint a finished run resumed from; a warning, not an error, when it
    cannot be deleted (the model is written)."""
    try:
        checkpoint.unlink(missing_ok=True)
    except OSError as error:
        reason = error.strerror or error
        outcome.warnings.append(
            f"cannot remove the checkpoint {checkpoint} ({reason}); the run has finished without it"
        )
        return
    outcome.removed_checkpoint = checkpoint
