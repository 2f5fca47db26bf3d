"""`digitnet plot MODEL`: the figures a person looks at after training, as PNG files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from digitnet.build import layout_of
from digitnet.cli.models import load_model_or_default
from digitnet.cli.options import add_data_options, dataset_from_args, positive_int
from digitnet.data.preprocess import to_inputs
from digitnet.errors import DataError, OutputError
from digitnet.pipeline import evaluate

KINDS = ("history", "predictions", "mistakes", "confusion", "weights")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="draw the cost curve, predictions, mistakes, confusion matrix and weights",
        description="Write PNG figures for a trained model: the cost and accuracy curves "
        "(from the history file beside the model), a grid of test predictions with wrong ones "
        "marked, the most confidently wrong test images, the confusion matrix as a heat map, "
        "and the first layer's weights as 28x28 images.",
    )
    parser.add_argument("model", nargs="?", metavar="MODEL", help="model file (default: bundled)")
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
    parser.add_argument("--out-dir", metavar="DIR", help="where to write (default: beside MODEL)")
    parser.add_argument(
        "--count", type=positive_int, default=64, help="digits in the predictions grid (default 64)"
    )
    add_data_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from digitnet import plots

    kinds = KINDS if "all" in args.kind else tuple(args.kind)
    model_path = Path(args.model) if args.model else Path("default.npz")
    out_dir = (
        Path(args.out_dir) if args.out_dir else (model_path.parent if args.model else Path("."))
    )
    if not out_dir.is_dir():
        raise OutputError(f"--out-dir {out_dir}: no such folder")
    model = load_model_or_default(args.model)
    stem = model_path.stem
    written: list[Path] = []
    if "history" in kinds:
        history_path = (
            Path(args.history) if args.history else model_path.with_name(f"{stem}.history.json")
        )
        if history_path.exists():
            written.append(
                plots.plot_history(
                    _read_history(history_path), out_dir / f"{stem}.cost.png", title=stem
                )
            )
        elif args.history or kinds == ("history",):
            raise DataError(f"{history_path}: no such history file (written by `digitnet train`)")
    if any(kind in kinds for kind in ("predictions", "mistakes", "confusion")):
        images, labels = dataset_from_args(args).split("test")
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


def _read_history(path: Path) -> dict:
    try:
        history = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable history file ({error})") from None
    if not isinstance(history, dict) or "step_losses" not in history:
        raise DataError(f"{path}: not a digitnet history file (no step_losses)")
    return history
