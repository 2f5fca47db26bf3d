"""`digitnet plot MODEL`: the figures a person looks at after training, as PNG files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from digitnet.artifacts.history import read_history
from digitnet.cli.models import add_model_arguments, chosen_model, load_model_file_or_default
from digitnet.cli.options import (
    add_model_data_options,
    add_study_options,
    data_for_model,
    whole_number,
)
from digitnet.cli.run_control import output_folder
from digitnet.data.preprocess import to_inputs
from digitnet.errors import ConfigError, DataError
from digitnet.training.build import layout_of
from digitnet.training.pipeline import evaluate

KINDS = ("history", "predictions", "mistakes", "confusion", "weights", "reliability")
MAX_COUNT = 100  # 13 rows of 8: a figure ~2000 pixels tall; more is slow and too big to view


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="draw the cost curve, predictions, mistakes, confusion matrix and weights",
        description="Write PNG figures for a trained model: the cost and accuracy curves "
        "(from the history file beside the model), a grid of test predictions with wrong ones "
        "marked, the most confidently wrong test images, the confusion matrix as a heat map, "
        "and the first layer's weights as 28x28 images.",
    )
    add_model_arguments(parser, "model file (default: the bundled model)")
    parser.add_argument(
        "--kind",
        nargs="+",
        choices=[*KINDS, "all"],
        default=["all"],
        help="which figures (default all)",
    )
    parser.add_argument(
        "--history", metavar="FILE", help="history JSON (default: MODEL's .history.json beside it)"
    )
    parser.add_argument(
        "--out-dir",
        metavar="DIR",
        help="where to write (created if missing; default: beside MODEL)",
    )
    parser.add_argument(
        "--count",
        type=prediction_count,
        default=64,
        help=f"digits in the predictions grid, 1 to {MAX_COUNT} (default 64)",
    )
    add_study_options(
        parser, "draw a sweep's study instead: the optimisation history and the settings' "
        "importances",
    )  # fmt: skip
    add_model_data_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.from_study:
        return _plot_study(args)
    if args.study:
        raise ConfigError("--study names a study of --from-study")
    args.model = chosen_model(args.model, args.model_option)
    from digitnet import plots

    kinds = KINDS if "all" in args.kind else tuple(args.kind)
    model_path = Path(args.model) if args.model else Path("default.npz")
    if args.out_dir:
        out_dir = output_folder(args.out_dir, "--out-dir")
    else:
        out_dir = model_path.parent if args.model else Path(".")
    model_file = load_model_file_or_default(args.model)
    model = model_file.model
    stem = model_path.stem
    written: list[Path] = []
    if "history" in kinds:
        history_path = _history_path(args, model_path)
        if history_path is not None:
            history = read_history(history_path)
            written.append(plots.plot_history(history, out_dir / f"{stem}.cost.png", title=stem))
    if any(kind in kinds for kind in ("predictions", "mistakes", "confusion", "reliability")):
        data = data_for_model(args, model_file.meta, args.model or "the bundled model")
        images, labels = data.dataset.split("test")
        if data.description:
            print(f"test images of {data.description}")
        report = evaluate(model, to_inputs(images, layout=layout_of(model)), labels)
        digits = images.astype(np.float32) / 255.0
        if "predictions" in kinds:
            n = min(args.count, len(images))
            written.append(
                plots.plot_predictions(
                    digits[:n],
                    labels[:n],
                    report["predicted"][:n],
                    report["probabilities"][:n],
                    out_dir / f"{stem}.predictions.png",
                    title=f"{stem}: the first {n} test digits",
                )
            )
        if "mistakes" in kinds:
            written.append(
                plots.plot_confident_mistakes(
                    digits,
                    labels,
                    report["probabilities"],
                    out_dir / f"{stem}.mistakes.png",
                    title=f"{stem}: the most confident mistakes",
                )
            )
        if "confusion" in kinds:
            written.append(
                plots.plot_confusion(
                    np.array(report["confusion"]), out_dir / f"{stem}.confusion.png", title=stem
                )
            )
        if "reliability" in kinds:
            written.append(_reliability(model, report, labels, out_dir / f"{stem}.reliability.png"))
    if "weights" in kinds:
        first = next((layer for layer in model.layers if "W" in layer.params), None)
        if first is not None:
            written.append(
                plots.plot_first_layer(
                    first.params["W"], out_dir / f"{stem}.weights.png", title=f"{stem}: first layer"
                )
            )
    for path in written:
        print(f"wrote {path}")
    return 0


def _study_folder(location: str) -> Path:
    """Where a study's figures go by default: its --out folder, its journal file's folder, or
    here for a database."""
    path = Path(location)
    return path if path.is_dir() else path.parent if path.is_file() else Path(".")


def _plot_study(args: argparse.Namespace) -> int:
    """A sweep's optimisation history and parameter importances as <study>.history.png and
    <study>.importances.png, in --out-dir (default: the study's folder, or here)."""
    from digitnet.plots.study import plot_param_importances, plot_study_history
    from digitnet.sweep.results import load_existing_study, param_importances, study_history

    if args.model or args.model_option or args.kind != ["all"] or args.history:
        raise ConfigError("--from-study draws a study: give no model, --kind or --history with it")
    study = load_existing_study(args.from_study, args.study)
    if args.out_dir:
        out_dir = output_folder(args.out_dir, "--out-dir")
    else:
        out_dir = _study_folder(args.from_study)
    name = study.study_name
    history = study_history(study)
    written = [
        plot_study_history(
            history, out_dir / f"{name}.history.png",
            title=f"study {name}: {len(history)} finished trials "
            f"({sum(state == 'PRUNED' for _, state, _ in history)} pruned)",
        ),
        plot_param_importances(
            param_importances(study), out_dir / f"{name}.importances.png",
            title=f"study {name}: importance of each setting",
        ),
    ]  # fmt: skip
    for path in written:
        print(f"wrote {path}")
    return 0


def _reliability(model, report: dict, labels: np.ndarray, path: Path) -> Path:
    """The reliability diagram of the test set before and after the model's temperature."""
    from digitnet.evaluation.calibration import softmax
    from digitnet.plots.calibration import plot_reliability

    after = np.asarray(report["probabilities"], np.float64)
    log_p = np.log(np.maximum(after, np.finfo(np.float64).tiny))
    before = softmax(log_p, 1.0 / model.temperature)  # log p is logits / T up to a row constant
    title = f"{path.stem.removesuffix('.reliability')}: temperature {model.temperature:.3f}"
    return plot_reliability(before, after, labels, path, title=title)


def prediction_count(text: str) -> int:
    """argparse type for --count: a whole number from 1 to MAX_COUNT."""
    value = whole_number(text)
    if not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to {MAX_COUNT}, got {value}")
    return value


def _history_path(args: argparse.Namespace, model_path: Path) -> Path | None:
    """The history file to draw the cost curve from, or None (with a note on stderr) when the
    model has none; DataError when the cost curve was asked for by name or --history."""
    if args.history:
        path = Path(args.history)
        if not path.exists():
            raise DataError(f"{path}: no such history file (written by `digitnet train`)")
        return path
    path = model_path.with_name(f"{model_path.stem}.history.json")
    if args.model and path.exists():
        return path
    if args.model:
        problem = f"{model_path} has no history file beside it ({path.name})"
        advice = "`digitnet train` writes one, or pass --history FILE"
    else:
        problem = "the bundled default model ships without a history file"
        advice = (
            "train a model with `digitnet train --out model.npz` (it writes "
            "model.history.json) and plot that, or pass --history FILE"
        )
    if "history" in args.kind:
        raise DataError(f"no cost curve to draw: {problem}; {advice}")
    print(f"digitnet: note: skipped the cost curve: {problem}; {advice}", file=sys.stderr)
    return None
