"""`digitnet ensemble MODEL MODEL... --out FILE`: average trained models into one model file."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from digitnet.artifacts.model_file import load_model, save_model
from digitnet.cli.options import (
    add_model_data_options,
    add_study_options,
    data_for_model,
    positive_int,
)
from digitnet.cli.run_control import check_output_path
from digitnet.data.preprocess import take_first, to_inputs
from digitnet.errors import ConfigError
from digitnet.training.build import layout_of
from digitnet.training.ensembles import combine
from digitnet.training.pipeline import evaluate


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ensemble",
        help="average the probabilities of several trained models into one model file",
        description="Combine model files into an ensemble that averages their probabilities "
        "(a committee of networks): a model file like any other, which evaluate, predict, "
        "read, show, serve and the Python API take. Reports each member's and the "
        "ensemble's test accuracy on the data the members were trained on.",
    )
    parser.add_argument("models", nargs="*", metavar="MODEL", help="two or more model files")
    add_study_options(
        parser, "take the members from a sweep instead: the --top best trials' kept models "
        "(digitnet sweep --keep-models)",
    )  # fmt: skip
    parser.add_argument(
        "--top", type=at_least_two, default=5,
        help="how many of the study's best trials become members (2 or more; default 5)",
    )  # fmt: skip
    parser.add_argument("--out", required=True, metavar="FILE", help="the ensemble model file")
    parser.add_argument(
        "--weights", metavar="W,W,...", help="one positive weight per member (default: equal)"
    )
    add_model_data_options(parser)
    parser.add_argument("--limit", type=positive_int, help="test on the first N images only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.from_study:
        if args.models:
            raise ConfigError("give model files or --from-study, not both")
        args.models = _study_members(args.from_study, args.study, args.top)
    elif args.study:
        raise ConfigError("--study names a study of --from-study")
    if len(args.models) < 2:
        raise ConfigError("an ensemble needs at least two model files")
    weights = _weights(args.weights, len(args.models))
    out = check_output_path(args.out, "--out", {f"model {m}": m for m in args.models})
    if os.path.splitext(args.out)[1].lower() != ".npz":
        raise ConfigError(f"--out {args.out}: a model file ends in .npz")
    members = [load_model(path) for path in args.models]
    model, meta = combine(members, [os.path.basename(m) for m in args.models], weights)
    data = data_for_model(args, meta, "the ensemble")
    images, labels = take_first(*data.dataset.split("test"), args.limit)
    accuracies = [
        evaluate(member.model, to_inputs(images, layout=layout_of(member.model)), labels)[
            "accuracy"
        ]
        for member in members
    ]
    report = evaluate(model, to_inputs(images, layout=layout_of(model)), labels)
    meta["results"] = {"test_accuracy": report["accuracy"], "test_loss": report["loss"]}
    for record, accuracy in zip(meta["ensemble"]["members"], accuracies):
        record["test_accuracy"] = accuracy
    save_model(out, model, meta)
    if args.json:
        print(json.dumps({"out": str(out), "n": report["n"], "test_accuracy": report["accuracy"],
                          "members": meta["ensemble"]["members"]}))  # fmt: skip
        return 0
    width = max(len(m) for m in args.models)
    print(f"test accuracy on {report['n']} images of {data.dataset.source}")
    for path, accuracy in zip(args.models, accuracies):
        print(f"  {path:<{width}}  {accuracy:.2%}")
    print(f"  {'ensemble':<{width}}  {report['accuracy']:.2%}")
    print(f"wrote {out}")
    return 0


def _study_members(where: str, name: str | None, top: int) -> list[str]:
    """The kept model files of the study's `top` best trials, best first (progress on stderr)."""
    from digitnet.sweep.results import kept_models, load_existing_study, study_folder

    chosen = kept_models(load_existing_study(where, name), top, study_folder(where))
    for number, value, path in chosen:
        print(f"trial {number}: validation accuracy {value:.2%}: {path}", file=sys.stderr)
    return [str(path) for _, _, path in chosen]


def at_least_two(text: str) -> int:
    """argparse type for --top: an ensemble has two members or more."""
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"an ensemble needs at least two members, got {value}")
    return value


def _weights(text: str | None, n: int) -> list[float] | None:
    """--weights as n positive numbers (None: equal weights); ConfigError otherwise."""
    if text is None:
        return None
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--weights {text}: expected numbers separated by commas") from None
    if len(weights) != n or not all(0 < w < math.inf for w in weights):
        raise ConfigError(f"--weights {text}: expected {n} positive numbers, one per model")
    return weights
