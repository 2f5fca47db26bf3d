"""`digitnet predict [MODEL] IMAGE...`: the digit in each image file (or a Kaggle test CSV)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

from digitnet.artifacts.atomic import write_text_atomically
from digitnet.cli.models import load_model_or_default, model_and_images
from digitnet.cli.run_control import check_output_path, output_folder
from digitnet.data.kaggle_csv import read_kaggle_csv
from digitnet.errors import ConfigError, ImageError, NoDigitError, OutputError
from digitnet.images import save_mnist_png
from digitnet.predict import predict_files, probabilities_for


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict the digit in your own images",
        description="Predict the digit in each image file (PNG, JPEG, BMP, GIF, WebP, TIFF, up "
        "to 40 million pixels, larger JPEGs at a reduced scale; dark ink on light paper or "
        "light on dark). Images are preprocessed the way "
        "MNIST was made: cropped to the ink, fitted to 20x20, centred by mass in 28x28. "
        "MODEL (a .npz file) is optional: without it the bundled default model is used.",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="[MODEL] IMAGE",
        help="an optional model file (.npz), then image files",
    )
    parser.add_argument("--model", help="model file (instead of giving it first)")
    parser.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per line: {"file", "digit", "probabilities", "unsure"}, and '
        '"saved_input" with --save-input',
    )
    parser.add_argument(
        "--save-input",
        metavar="DIR",
        help="write the 28x28 image the network saw for each file into DIR (created if "
        "missing) as NAME.28x28.png (NAME-2.28x28.png, ... when names repeat); each result "
        "says which file it wrote",
    )
    parser.add_argument(
        "--min-confidence",
        type=float,
        metavar="X",
        help="mark a prediction unsure below this top probability (0 to 1; default: the "
        "model file's, chosen on its validation hold-out by `digitnet calibrate`; 0 disables)",
    )
    parser.add_argument("--test-csv", metavar="FILE", help="predict every row of a Kaggle test.csv")
    parser.add_argument(
        "--submission",
        metavar="FILE",
        help="with --test-csv: write an ImageId,Label submission file",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model_path, inputs = model_and_images(args.model, args.inputs)
    if args.test_csv:
        if inputs:
            raise ConfigError("give either image files or --test-csv, not both")
        return _predict_csv(args, model_path)
    if args.submission:
        raise ConfigError("--submission needs --test-csv")
    if not inputs:
        raise ConfigError("no image files given (usage: digitnet predict [MODEL] IMAGE ...)")
    save_dir = output_folder(args.save_input, "--save-input") if args.save_input else None
    model = load_model_or_default(model_path)
    if args.min_confidence is not None:
        if not 0.0 <= args.min_confidence <= 1.0:
            raise ConfigError(f"--min-confidence must be in [0, 1], got {args.min_confidence}")
        model.min_confidence = args.min_confidence
    unreadable = without_digit = 0
    saved_names: set[str] = set()
    for outcome in predict_files(model, inputs):
        if isinstance(outcome, ImageError):
            without_digit += isinstance(outcome, NoDigitError)
            unreadable += not isinstance(outcome, NoDigitError)
            print(f"digitnet: error: {outcome}", file=sys.stderr)
            continue
        saved = None
        if save_dir is not None:
            saved = save_dir / _unique_name(Path(outcome.source).stem, saved_names)
            try:
                save_mnist_png(outcome.input28, saved)
            except ImageError as error:
                raise OutputError(str(error)) from None
        if args.json:
            record = outcome.to_dict() | ({"saved_input": str(saved)} if saved else {})
            print(json.dumps(record), flush=True)
        else:
            confidence = 100 * outcome.probabilities[outcome.digit]
            unsure = ", unsure" if outcome.unsure else ""
            where = f"; saved its 28x28 as {saved}" if saved else ""
            print(f"{outcome.source}: {outcome.digit} ({confidence:.1f}%{unsure}){where}",
                  flush=True)  # fmt: skip
    if (unreadable or without_digit) and len(inputs) > 1:
        print(failure_summary(unreadable, without_digit, len(inputs)), file=sys.stderr)
    return 1 if unreadable or without_digit else 0


def failure_summary(unreadable: int, without_digit: int, total: int) -> str:
    """The closing line when some of `total` images gave nothing: those that could not be read
    told apart from those read without a digit found in them (blank, say)."""
    if not without_digit:
        return f"digitnet: {unreadable} of {total} images could not be read"
    were, them = ("was", "it") if without_digit == 1 else ("were", "them")
    parts = [f"{unreadable} could not be read"] if unreadable else []
    parts.append(f"{without_digit} {were} read, but no digit could be taken from {them}")
    failed = unreadable + without_digit
    return f"digitnet: {failed} of {total} images gave no result: {', '.join(parts)}"


def _unique_name(stem: str, taken: set[str]) -> str:
    """ "<stem>.28x28.png", or "<stem>-2.28x28.png", ... when an earlier image of this run
    (same name, another folder or suffix) already took it; the name is added to `taken`."""
    name, count = f"{stem}.28x28.png", 1
    while name in taken:
        count += 1
        name = f"{stem}-{count}.28x28.png"
    taken.add(name)
    return name


def _predict_csv(args: argparse.Namespace, model_path: str | None) -> int:
    if args.submission:
        inputs = {"the --test-csv file": args.test_csv, "the model file": model_path}
        check_output_path(args.submission, "--submission", inputs)
    model = load_model_or_default(model_path)
    images, _ = read_kaggle_csv(args.test_csv)
    probabilities = probabilities_for(model, images.astype(np.float32) / 255.0)
    digits = probabilities.argmax(axis=1)
    if args.submission:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["ImageId", "Label"])
        writer.writerows((i + 1, int(d)) for i, d in enumerate(digits))
        try:
            write_text_atomically(args.submission, buffer.getvalue())
        except OSError as error:
            raise OutputError(
                f"cannot write {args.submission}: {error.strerror or error}"
            ) from None
        print(f"wrote {len(digits)} predictions to {args.submission}")
        return 0
    for i, (digit, row) in enumerate(zip(digits, probabilities)):
        if args.json:
            record = {
                "row": i + 1,
                "digit": int(digit),
                "probabilities": [round(float(p), 6) for p in row],
            }
            print(json.dumps(record))
        else:
            print(f"row {i + 1}: {digit} ({100 * row[digit]:.1f}%)")
    return 0
