"""`digitnet show [MODEL] --index N`: one dataset image, its prediction, as text art and a PNG."""

from __future__ import annotations

import argparse
import json

import numpy as np

from digitnet.cli.models import load_model_or_default
from digitnet.cli.options import add_data_options, dataset_from_args
from digitnet.errors import DataError
from digitnet.images import ascii_art
from digitnet.predict import probabilities_for


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show",
        help="show one image, what the model predicts and the truth",
        description="Seed 001's test_prediction: print the predicted and the true label and "
        "the ten probabilities for one image of the dataset, draw the digit in the terminal, "
        "and write a PNG of it beside a bar chart of the probabilities.",
    )
    parser.add_argument("model", nargs="?", metavar="MODEL", help="model file (default: bundled)")
    parser.add_argument("--index", type=int, required=True, help="which image (0-based)")
    parser.add_argument("--split", choices=["test", "train"], default="test")
    parser.add_argument("--out", metavar="PNG", help="PNG to write (default show-<split>-<N>.png)")
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_data_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = load_model_or_default(args.model)
    images, labels = dataset_from_args(args).split(args.split)
    if not -len(images) <= args.index < len(images):
        raise DataError(
            f"--index {args.index} is out of range: the {args.split} split has "
            f"{len(images)} images (0 to {len(images) - 1})"
        )
    image = images[args.index].astype(np.float32) / 255.0
    label = int(labels[args.index])
    probabilities = probabilities_for(model, image)[0]
    predicted = int(probabilities.argmax())
    out = None
    if not args.no_plot:
        from digitnet.plots import plot_digit

        out = args.out or f"show-{args.split}-{args.index}.png"
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
    print(f"{args.split} image {args.index}: predicted {predicted}, true {label} ({verdict})")
    print("probabilities: " + "  ".join(f"{d}:{100 * p:.1f}%" for d, p in enumerate(probabilities)))
    if out:
        print(f"wrote {out}")
    return 0
