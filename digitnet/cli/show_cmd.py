"""`digitnet show [MODEL] --index N`: one dataset image, its prediction, as text art and a PNG."""

from __future__ import annotations

import argparse
import json

import numpy as np

from digitnet.artifacts.formats import figure_format, percent
from digitnet.cli.models import add_model_arguments, chosen_model, load_model_file_or_default
from digitnet.cli.options import add_model_data_options, data_for_model
from digitnet.cli.run_control import check_output_path
from digitnet.errors import DataError
from digitnet.images import ascii_art
from digitnet.predict import probabilities_for


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show",
        help="show one image, what the model predicts and the truth",
        description="Look at one digit of a dataset through a model's eyes: print the digit "
        "the model predicts, the true label and the ten probabilities, draw the digit in the "
        "terminal, and write a picture of it beside a bar chart of the probabilities. The "
        "digit is image --index N of the test split (or --split train) of the data the model "
        "was trained on, unless the data options name other data.",
    )
    add_model_arguments(parser, "model file (default: the bundled model)")
    parser.add_argument("--index", type=int, required=True, help="which image (0-based)")
    parser.add_argument("--split", choices=["test", "train"], default="test")
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="picture to write, .png, .jpg, .pdf or .svg (default show-<split>-<N>.png; "
        "with --json none unless --out is given)",
    )
    parser.add_argument("--no-plot", action="store_true", help="do not write the picture")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_model_data_options(parser)
    parser.set_defaults(run=run)


def _default_picture(args: argparse.Namespace) -> str | None:
    """show-<split>-<N>.png, or None with --json: JSON output is for scripts, which name the
    picture they want."""
    return None if args.json else f"show-{args.split}-{args.index}.png"


def run(args: argparse.Namespace) -> int:
    args.model = chosen_model(args.model, args.model_option)
    out = None if args.no_plot else args.out or _default_picture(args)
    if out:
        figure_format(out)  # refuse a .bmp before loading anything
        check_output_path(out, "--out", {"the model file": args.model})
    model_file = load_model_file_or_default(args.model)
    model = model_file.model
    data = data_for_model(args, model_file.meta, args.model or "the bundled model")
    images, labels = data.dataset.split(args.split)
    if not 0 <= args.index < len(images):
        raise DataError(
            f"--index {args.index} is out of range: the {args.split} split has "
            f"{len(images)} images (0 to {len(images) - 1})"
        )
    image = images[args.index].astype(np.float32) / 255.0
    label = int(labels[args.index])
    probabilities = probabilities_for(model, image)[0]
    predicted = int(probabilities.argmax())
    if out:
        from digitnet.plots import plot_digit

        plot_digit(
            image,
            probabilities,
            out,
            predicted=predicted,
            label=label,
            title=f"{args.split} image {args.index}",
        )
    if args.json:
        print(
            json.dumps(
                {
                    "index": args.index,
                    "split": args.split,
                    "data": data.dataset.source,
                    "label": label,
                    "digit": predicted,
                    "probabilities": [round(float(p), 6) for p in probabilities],
                    "png": out,
                }
            )
        )
        return 0
    verdict = "right" if predicted == label else "WRONG"
    print(ascii_art(image))
    of_data = f" of {data.description}" if data.description else ""
    print(
        f"{args.split} image {args.index}{of_data}: predicted {predicted}, true {label} ({verdict})"
    )
    shares = (f"{digit}:{percent(p, 1)}" for digit, p in enumerate(probabilities))
    print("probabilities: " + "  ".join(shares))
    if out:
        print(f"wrote {out}")
    return 0
