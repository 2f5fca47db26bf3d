"""A hyperparameter sweep on Optuna: trials of a preset with sampled settings, each judged by
its validation accuracy (reported per epoch, pruned when it falls behind; the test images are
never seen), in a study stored where any number of processes can share it.

Storage: a journal file (Optuna's JournalFileBackend, nothing to install or start) by
default, or a database URL (`sqlite:///x.db`, `postgresql://...`, through SQLAlchemy).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from digitnet.artifacts.model_file import save_model
from digitnet.data.datasets import Dataset
from digitnet.errors import ConfigError, DigitnetError
from digitnet.sweep.space import Dimension, apply, sample, settings_of
from digitnet.training.config import VALIDATION_FRACTION
from digitnet.training.presets import get_preset
from digitnet.training.run import train_run
from digitnet.training.trainer import TrainEvent

STUDY_FILE = "study.journal"
DEFAULT_STUDY = "sweep"  # one --out holds one study unless --study names others
FINISHED = ("COMPLETE", "PRUNED")
TRIALS_FOLDER = "trials"  # --keep-models writes every complete trial's model here
MODEL_ATTR = "model"  # the trial's user attribute naming its kept model file


class SweepInterrupted(DigitnetError):
    """Ctrl-C or SIGTERM stopped the running trial (marked failed); finished trials stay."""


def require_optuna():
    """The optuna package, or ConfigError saying how to install it."""
    try:
        import optuna
    except ModuleNotFoundError:
        raise ConfigError("digitnet sweep needs Optuna: pip install digitnet[sweep]") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # digitnet reports the trials itself
    return optuna


@dataclass(frozen=True)
class Sweep:
    """What to search: a preset, the space, how many finished trials the study should hold."""

    preset: str
    dimensions: tuple[Dimension, ...]
    trials: int
    out: Path
    epochs: int | None = None
    train_limit: int | None = None
    seed: int = 0
    storage: str | None = None
    study_name: str | None = None
    timeout: float | None = None
    keep_models: bool = False

    @property
    def name(self) -> str:
        return self.study_name or DEFAULT_STUDY

    @property
    def best_path(self) -> Path:
        """out/best.npz, or out/<study>.best.npz for a study named with --study."""
        name = "best.npz" if self.name == DEFAULT_STUDY else f"{self.name}.best.npz"
        return self.out / name

    def trial_path(self, number: int) -> Path:
        """out/trials/<study>-<number>.npz: a finished trial's model under --keep-models."""
        return self.out / TRIALS_FOLDER / f"{self.name}-{number}.npz"

    @property
    def space(self) -> dict[str, str]:
        return {dim.name: dim.describe() for dim in self.dimensions}


def open_study(sweep: Sweep):
    """The sweep's Optuna study, created or continued; ConfigError for storage that cannot be
    opened, or for a study made for another preset or space."""
    optuna = require_optuna()
    storage = storage_of(optuna, sweep)
    sampler = optuna.samplers.TPESampler(seed=sweep.seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    try:  # loading first: create_study(load_if_exists=True) writes to the journal even then
        try:
            study = optuna.load_study(
                study_name=sweep.name, storage=storage, sampler=sampler, pruner=pruner
            )
        except KeyError:  # no such study yet
            try:
                study = optuna.create_study(
                    storage=storage, study_name=sweep.name, direction="maximize",
                    sampler=sampler, pruner=pruner,
                )  # fmt: skip
            except optuna.exceptions.DuplicatedStudyError:  # another worker created it first
                study = optuna.load_study(
                    study_name=sweep.name, storage=storage, sampler=sampler, pruner=pruner
                )
    except Exception as error:  # the storage's own errors: a refused connection, a bad URL
        raise ConfigError(
            f"--storage {sweep.storage}: cannot open the study ({first_line(error)})"
        ) from None
    _check_same_search(study, sweep)
    return study


def _database(optuna, url: str):
    """Optuna's RDBStorage; workers starting together on an empty database race to create
    its tables, and the losers' CREATE fails: they retry once the winner's tables exist."""
    for attempt in range(3):
        try:
            return optuna.storages.RDBStorage(url)
        except ImportError:  # SQLAlchemy, or the database's driver
            raise
        except Exception as error:
            if "duplicate key" not in str(error) and "already exists" not in str(error):
                raise
            if attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))


def storage_of(optuna, sweep: Sweep):
    if sweep.storage and "://" in sweep.storage:
        try:
            return _database(optuna, sweep.storage)
        except ImportError:
            needs = (
                "its driver: pip install digitnet[postgres]"
                if sweep.storage.startswith("postgres")
                else "SQLAlchemy and its driver: pip install digitnet[sweep]"
            )
            raise ConfigError(f"--storage {sweep.storage}: the database needs {needs}") from None
        except Exception as error:
            raise ConfigError(
                f"--storage {sweep.storage}: cannot connect ({first_line(error)})"
            ) from None
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = Path(sweep.storage) if sweep.storage else sweep.out / STUDY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    except OSError as error:
        raise ConfigError(f"cannot write the study at {path} ({error.strerror})") from None


def first_line(error: Exception) -> str:
    """A storage error's first line (SQLAlchemy adds a line pointing to its docs)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _check_same_search(study, sweep: Sweep) -> None:
    """A new study records its preset and space; a continued one must have the same."""
    attrs = dict(study.user_attrs)
    # the creator writes them one by one: a worker starting beside it may find one of the two
    for key, value in (("preset", sweep.preset), ("space", sweep.space)):
        if key not in attrs:
            study.set_user_attr(key, value)
            attrs[key] = value
    if attrs.get("preset") != sweep.preset:
        raise ConfigError(
            f"the study {sweep.name!r} searches preset {attrs.get('preset')}, not "
            f"{sweep.preset}: give another --study or --out"
        )
    if attrs.get("space") != sweep.space:
        raise ConfigError(
            f"the study {sweep.name!r} searched another space ({_spaces(attrs.get('space'))}); "
            "give the same --space options, or another --study or --out"
        )


def _spaces(space: object) -> str:
    if not isinstance(space, dict):
        return "unknown"
    return " ".join(f"--space {name}={spec}" for name, spec in space.items())


def finished_trials(study) -> list:
    return [t for t in study.get_trials(deepcopy=False) if t.state.name in FINISHED]


def run_sweep(
    sweep: Sweep,
    dataset: Dataset,
    *,
    should_stop: Callable[[], bool] | None = None,
    on_trial: Callable[[object], None] | None = None,
    study=None,
):
    """Run trials until the study holds sweep.trials finished ones (or the timeout); return
    the study (open_study(sweep) unless given). Each trial that beats the study's best so far
    writes its model to out/best.npz. SweepInterrupted when should_stop() stops a trial."""
    optuna = require_optuna()
    study = study or open_study(sweep)
    recipe = get_preset(sweep.preset)
    train_only = Dataset(dataset.source, dataset.train_images, dataset.train_labels)
    dimensions = list(sweep.dimensions)

    def objective(trial) -> float:
        model_config, train_config = apply(recipe.model, recipe.train, sample(trial, dimensions))
        train_config = _for_the_sweep(train_config, sweep)

        def report(event: TrainEvent) -> None:
            if event.kind == "epoch" and event.record and "val_accuracy" in event.record:
                trial.report(event.record["val_accuracy"], event.epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()

        outcome = train_run(
            model_config, train_config, train_only, preset=sweep.preset,
            on_event=report, should_stop=should_stop,
        )  # fmt: skip
        if outcome.result.stop_reason == "interrupted":
            raise SweepInterrupted(f"interrupted during trial {trial.number}")
        value = outcome.results.get("val_accuracy", math.nan)
        meta = {**outcome.meta, "sweep": {"study": sweep.name, "trial": trial.number}}
        if sweep.keep_models and math.isfinite(value):
            path = sweep.trial_path(trial.number)
            path.parent.mkdir(parents=True, exist_ok=True)
            # absolute, so that a study in a database finds it from any folder; kept_models
            # also looks in the study's own folder, should the --out folder have moved
            saved = save_model(path, outcome.model, meta).resolve()
            trial.set_user_attr(MODEL_ATTR, str(saved))
        if math.isfinite(value) and value > _best_value(study):
            save_model(sweep.best_path, outcome.model, meta)
        return value

    remaining = sweep.trials - len(finished_trials(study))
    if sweep.keep_models:  # there from the start, for a user watching it fill
        (sweep.out / TRIALS_FOLDER).mkdir(parents=True, exist_ok=True)
    if remaining > 0:
        stop_at = optuna.study.MaxTrialsCallback(sweep.trials, states=_states(optuna))
        callbacks = [stop_at] + ([lambda _, trial: on_trial(trial)] if on_trial else [])
        study.optimize(objective, timeout=sweep.timeout, callbacks=callbacks)
    return study


def _states(optuna) -> tuple:
    return tuple(getattr(optuna.trial.TrialState, state) for state in FINISHED)


def _for_the_sweep(train_config, sweep: Sweep):
    """Every trial holds out validation images (the preset's, or 1/12 if it has none) and
    takes the sweep's --epochs and --train-limit."""
    if sweep.epochs is not None:
        train_config = train_config.with_epochs(sweep.epochs)
    changes: dict = {"validation": train_config.validation or VALIDATION_FRACTION}
    if sweep.train_limit is not None:
        changes["train_limit"] = sweep.train_limit
    return dataclasses.replace(train_config, **changes)


def _best_value(study) -> float:
    complete = [t.value for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    return max((v for v in complete if v is not None and math.isfinite(v)), default=-math.inf)


def best_settings(study, dimensions: list[Dimension], top: int = 5) -> list[dict]:
    """The best complete trials, best first: number, validation accuracy, settings."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    complete.sort(key=lambda t: -t.value)
    return [
        {"trial": t.number, "val_accuracy": t.value, "settings": settings_of(t.params, dimensions)}
        for t in complete[:top]
    ]


def best_file(sweep: Sweep) -> Path | None:
    """The best trial's model file, if a trial has written one."""
    return sweep.best_path if os.path.isfile(sweep.best_path) else None
