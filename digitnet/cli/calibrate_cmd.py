"""`digitnet calibrate MODEL`: temperature and unsure threshold from the file's own hold-out."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from digitnet.cli.models import add_model_arguments, chosen_model
from digitnet.errors import DigitnetError
from digitnet.evaluation.holdout import calibrate_file


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="fit a model file's temperature and unsure threshold on its validation hold-out",
        description="Rebuild the validation hold-out the model was trained beside (from the "
        "seed and size its file records), fit the softmax temperature there and choose the "
        "unsure threshold, then write the model with both.",
    )
    add_model_arguments(parser, "a model file trained with --validation > 0")
    parser.add_argument("--out", help="where to write the calibrated model")
    parser.add_argument("--in-place", action="store_true", help="overwrite MODEL")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    args.model = chosen_model(args.model, args.model_option)
    if args.model is None:
        raise DigitnetError("no model file given (usage: digitnet calibrate MODEL --out FILE)")
    if bool(args.out) == bool(args.in_place):
        raise DigitnetError("give exactly one of --out FILE or --in-place")
    calibration, written = calibrate_file(args.model, args.out or args.model)
    if args.json:
        print(json.dumps({"out": str(written), **asdict(calibration)}))
    else:
        print(
            f"{written}: temperature {calibration.temperature:.4f}, unsure below "
            f"{calibration.min_confidence:.1%}; validation ECE {calibration.val_ece_before:.2%}"
            f" -> {calibration.val_ece_after:.2%} ({calibration.n_val} digits)"
        )
    return 0
