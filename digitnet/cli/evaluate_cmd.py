"""`digitnet evaluate MODEL`: accuracy, mean cost, per-class scores and the confusion matrix."""

from __future__ import annotations

import argparse
import json

import numpy as np

from digitnet.artifacts.formats import figure_format
from digitnet.cli.models import add_model_arguments, chosen_model, load_model_file_or_default
from digitnet.cli.options import (
    add_model_data_options,
    data_for_model,
    given_data_options,
    positive_int,
    recorded_data_options,
)
from digitnet.cli.run_control import check_output_path
from digitnet.data.preprocess import take_first, to_inputs
from digitnet.evaluation.calibration import unsure_report
from digitnet.training.build import layout_of
from digitnet.training.pipeline import evaluate


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a model on the test set",
        description="Accuracy, mean cost, per-class precision/recall/F1 and the confusion "
        "matrix of a model on a dataset's test split (default: the data the model was trained "
        "on, as its file records, else the bundled MNIST).",
    )
    add_model_arguments(
        parser, "a model file written by `digitnet train` (default: the bundled model)"
    )
    add_model_data_options(parser)
    parser.add_argument("--split", choices=["test", "train"], default="test")
    parser.add_argument("--limit", type=positive_int, help="evaluate on the first N images only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw the confusion matrix as a heat map (.png, .jpg, .pdf or .svg)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    args.model = chosen_model(args.model, args.model_option)
    if args.plot:
        figure_format(args.plot)  # refuse a .bmp before evaluating
    model_file = load_model_file_or_default(args.model)
    model = model_file.model
    if args.plot:
        csv_files = {**recorded_data_options(model_file.meta), **given_data_options(args)}
        inputs = {"the model file": args.model, "the --train-csv file": csv_files.get("train_csv"),
                  "the --test-csv file": csv_files.get("test_csv")}  # fmt: skip
        check_output_path(args.plot, "--plot", inputs)
    name = args.model or "the bundled model"
    data = data_for_model(args, model_file.meta, name)
    images, labels = data.dataset.split(args.split)
    images, labels = take_first(images, labels, args.limit)
    report = evaluate(model, to_inputs(images, layout=layout_of(model)), labels)
    report.pop("predicted")
    probabilities = report.pop("probabilities")
    report["calibration"] = unsure_report(
        probabilities, labels, model.temperature, model.min_confidence
    )
    if args.plot:
        from digitnet.plots import plot_confusion

        confusion = np.array(report["confusion"])
        plot_confusion(confusion, args.plot, title=f"{name} ({args.split})")
    if args.json:
        print(
            json.dumps({"model": name, "data": data.dataset.source, "split": args.split, **report})
        )
        return 0
    of_data = f" of {data.description}" if data.description else ""
    print(format_report(report, f"{name} on {report['n']} {args.split} images{of_data}"))
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def format_report(report: dict, heading: str) -> str:
    """The report as text: headline figures, per-class table, confusion matrix."""
    lines = [
        heading,
        f"accuracy {100 * report['accuracy']:.2f}%  mean cost {report['loss']:.4f}",
        *([_calibration_line(report["calibration"])] if "calibration" in report else []),
        "",
        f"{'digit':>5}  {'precision':>9}  {'recall':>7}  {'f1':>7}  {'support':>7}",
    ]
    for row in report["per_class"]:
        lines.append(
            f"{row['digit']:>5}  {_percent(row['precision']):>9}  {_percent(row['recall']):>7}"
            f"  {_percent(row['f1']):>7}  {row['support']:>7}"
        )
    lines += ["", "confusion matrix (rows: true digit, columns: predicted)"]
    lines.append("      " + "".join(f"{d:>6}" for d in range(10)))
    for digit, row in enumerate(report["confusion"]):
        lines.append(f"{digit:>6}" + "".join(f"{count:>6}" for count in row))
    return "\n".join(lines)


def _calibration_line(c: dict) -> str:
    return (
        f"calibration error (ECE) {_percent(c['ece_before'])} before, {_percent(c['ece_after'])}"
        f" after temperature {c['temperature']:.3f}; unsure below {_percent(c['min_confidence'])}:"
        f" {_percent(c['unsure_fraction'])} of digits, error rate"
        f" {_percent(c['unsure_error_rate'])} vs {_percent(c['rest_error_rate'])} for the rest"
    )


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.2f}%"
