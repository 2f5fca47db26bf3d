"""Train the seed presets under their seeds' own setups and compare with what the seeds report.

Used by `digitnet reproduce` and by benchmarks/presets.py, so the README's table and the
command print the same thing.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

from digitnet.data.datasets import Dataset
from digitnet.training.presets import PRESETS, Preset, best_recipe
from digitnet.training.run import train_run

SEED_PRESETS = tuple(name for name, preset in PRESETS.items() if preset.seed)
QUICK_FRACTION = 20  # a quick run takes this fraction of the steps and of the warm-up
MIN_QUICK_STEPS = 600  # minibatch steps at least, so the best recipe has time to learn
QUICK_TRAIN, QUICK_TEST = 5000, 1000  # and this many images at most


def shortened(preset: Preset) -> Preset:
    """A quick version for tests: a twentieth of the steps and of the warm-up (minibatch
    recipes MIN_QUICK_STEPS at least), at most 5000/1000 images. A smoke test, not a
    reproduction: it has no targets to meet."""
    train = preset.train
    n_train = min(train.train_limit or QUICK_TRAIN, QUICK_TRAIN)
    changes: dict = {
        "train_limit": n_train,
        "test_limit": min(train.test_limit or QUICK_TEST, QUICK_TEST),
        "validation": 0,
        "warmup_steps": train.warmup_steps // QUICK_FRACTION,
    }
    if train.iterations:
        changes["iterations"] = max(1, train.iterations // QUICK_FRACTION)
    else:
        epochs = max(1, train.epochs // QUICK_FRACTION)
        if train.batch_size:  # minibatches: enough of them to learn on the fewer images
            epochs = max(epochs, math.ceil(MIN_QUICK_STEPS * train.batch_size / n_train))
        changes["epochs"] = min(epochs, train.epochs)
    return dataclasses.replace(preset, train=dataclasses.replace(train, **changes), targets={})


def run_preset(preset: Preset, dataset: Dataset) -> dict:
    """Train one preset and return its figures beside the seed's."""
    started = time.perf_counter()
    results = train_run(preset.model, preset.train, dataset, preset=preset.name).results
    seconds = time.perf_counter() - started
    met = all(results.get(key, 0.0) >= value for key, value in preset.targets.items())
    return {
        "preset": preset.name,
        "seed": preset.seed,
        "architecture": preset.architecture,
        "reported": preset.reported,
        "targets": preset.targets,
        "train_accuracy": results.get("train_accuracy"),
        "test_accuracy": results.get("test_accuracy"),
        "n_train": results.get("n_train"),
        "n_test": results.get("n_test"),
        "seconds": round(seconds, 1),
        "stop_reason": results["stop_reason"],
        "met_targets": met,
    }


def reproduce(
    dataset: Dataset,
    names: tuple[str, ...] = SEED_PRESETS,
    *,
    quick: bool = False,
    with_best_recipe: bool = True,
    on_row: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Rows for each preset (and its best recipe): accuracies, time, whether targets were met."""
    rows = []
    for name in names:
        preset = PRESETS[name]
        recipes = [preset, best_recipe(preset)] if with_best_recipe and preset.seed else [preset]
        for recipe in recipes:
            row = run_preset(shortened(recipe) if quick else recipe, dataset)
            rows.append(row)
            if on_row:
                on_row(row)
    return rows


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _figures(row: dict | None) -> str:
    if row is None:
        return "-"
    return (
        f"{_percent(row['train_accuracy'])} / {_percent(row['test_accuracy'])} "
        f"in {row['seconds']:.0f} s"
    )


def markdown_table(rows: list[dict]) -> str:
    """One line per preset: what its seed reports, what digitnet reaches under the seed's setup
    and with the best recipe for the same architecture (train / test accuracy, time)."""
    by_name = {row["preset"]: row for row in rows}
    lines = [
        "| seed | architecture | seed reports | digitnet, seed's setup (train / test) "
        "| digitnet, best recipe (train / test) |",
        "|---|---|---|---|---|",
    ]
    for name, row in by_name.items():
        if name.endswith("+best"):
            continue
        verdict = "" if not row["targets"] else (" ✓" if row["met_targets"] else " ✗")
        images = f"{row['n_train']} train / {row['n_test']} test images"
        lines.append(
            f"| {row['seed'] or '-'} ({name}) | {row['architecture']}, {images} "
            f"| {row['reported'] or '-'} | {_figures(row)}{verdict} "
            f"| {_figures(by_name.get(name + '+best'))} |"
        )
    return "\n".join(lines)
