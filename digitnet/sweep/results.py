"""A sweep's results read back from its storage: the study, its kept models, its history and
the importance of each searched setting (for `digitnet ensemble --from-study`, `digitnet plot
--study`)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from digitnet.errors import ConfigError
from digitnet.sweep.study import (
    DEFAULT_STUDY,
    MODEL_ATTR,
    STUDY_FILE,
    TRIALS_FOLDER,
    Sweep,
    finished_trials,
    first_line,
    require_optuna,
    storage_of,
)


def load_existing_study(where: str, name: str | None = None):
    """The study `name` (default sweep) in a sweep's --out folder, a journal file or a
    database URL; ConfigError when optuna is missing, or the storage or study is not there."""
    optuna = require_optuna()
    name = name or DEFAULT_STUDY
    if "://" not in where:
        path = Path(where) / STUDY_FILE if os.path.isdir(where) else Path(where)
        if not path.is_file():
            raise ConfigError(
                f"{where}: no study here (digitnet sweep --out DIR keeps it in DIR/{STUDY_FILE})"
            )
        where = str(path)
    sweep = Sweep("", (), 0, Path("."), storage=where, study_name=name)
    storage = storage_of(optuna, sweep)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise ConfigError(f"{where}: no study named {name!r} (give --study NAME)") from None
    except Exception as error:
        raise ConfigError(f"{where}: cannot open the study ({first_line(error)})") from None


def kept_models(study, top: int, folder: Path | None = None) -> list[tuple[int, float, Path]]:
    """(trial number, validation accuracy, model file) of the `top` best complete trials whose
    model was kept (digitnet sweep --keep-models), best first; ConfigError if fewer exist.
    A model no longer where the sweep wrote it is looked for in `folder`/trials (the study's
    --out folder, moved since)."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    kept = []
    for trial in sorted(complete, key=lambda t: -t.value):
        if MODEL_ATTR not in trial.user_attrs:
            continue
        path = Path(trial.user_attrs[MODEL_ATTR])
        if not path.is_file() and folder is not None:
            path = folder / TRIALS_FOLDER / path.name
        if path.is_file():
            kept.append((trial.number, trial.value, path))
    if len(kept) < top:
        raise ConfigError(
            f"the study {study.study_name!r} has {len(kept)} kept model(s), fewer than --top "
            f"{top}: run digitnet sweep with --keep-models for more trials"
        )
    return kept[:top]


def study_folder(where: str) -> Path | None:
    """The folder of a study given as a --out folder or a journal file; None for a URL."""
    if "://" in where:
        return None
    return Path(where) if os.path.isdir(where) else Path(where).parent


def study_history(study) -> list[tuple[int, str, float]]:
    """(number, state, validation accuracy) of every finished trial; a pruned trial's
    accuracy is the last it reported (NaN if none)."""
    rows = []
    for trial in finished_trials(study):
        if trial.state.name == "COMPLETE":
            rows.append((trial.number, "COMPLETE", float(trial.value)))
        else:
            last = trial.intermediate_values.get(trial.last_step, math.nan)
            rows.append((trial.number, "PRUNED", float(last)))
    return rows


def param_importances(study) -> dict[str, float]:
    """Each searched setting's importance (0..1, summing to 1) by PED-ANOVA, the evaluator
    that needs no scikit-learn; {} with fewer than two complete trials."""
    optuna = require_optuna()
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(complete) < 2:
        return {}
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
