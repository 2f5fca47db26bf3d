"""`digitnet data`: what a dataset holds (counts per class, shapes, source, checksums)."""

from __future__ import annotations

import argparse
import json

import numpy as np

from digitnet.cli.options import add_data_options, dataset_from_args
from digitnet.data.datasets import Dataset


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="show what a dataset holds",
        description="Show the images, labels, counts per class and checksums of a dataset.",
    )
    add_data_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def describe(dataset: Dataset) -> dict:
    """A JSON-able summary: per split the shape, counts per digit and pixel range."""
    summary: dict = {"source": dataset.source, "checks": list(dataset.checks), "splits": {}}
    for name, images, labels in (
        ("train", dataset.train_images, dataset.train_labels),
        ("test", dataset.test_images, dataset.test_labels),
    ):
        if images is None or labels is None:
            continue
        counts = np.bincount(labels, minlength=10)
        summary["splits"][name] = {
            "n": int(len(images)),
            "image_shape": list(images.shape[1:]),
            "dtype": str(images.dtype),
            "counts": [int(c) for c in counts],
            "mean_pixel": round(float(images.mean()) / 255.0, 4) if images.size else 0.0,
        }
    return summary


def run(args: argparse.Namespace) -> int:
    summary = describe(dataset_from_args(args))
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"source: {summary['source']}")
    for name, split in summary["splits"].items():
        shape = "x".join(map(str, split["image_shape"]))
        print(
            f"{name}: {split['n']} images of {shape} {split['dtype']}, "
            f"mean pixel {split['mean_pixel']}"
        )
        print("  per digit: " + "  ".join(f"{d}:{c}" for d, c in enumerate(split["counts"])))
    if "test" not in summary["splits"]:
        print("test: none (no labelled test data in this source)")
    for line in summary["checks"]:
        print(f"check: {line}")
    return 0
