"""Options shared by several commands: where the data comes from, and JSON output."""

from __future__ import annotations

import argparse

from digitnet.data.datasets import Dataset, load_csv_dataset, load_idx_dir, load_mnist
from digitnet.errors import DataError

DATA_OPTIONS = ("data_dir", "train_csv", "test_csv")  # the dests add_data_options defines


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """--data-dir | --train-csv [--test-csv]: the bundled MNIST when none is given."""
    group = parser.add_argument_group("data (default: the bundled MNIST)")
    group.add_argument("--data-dir", metavar="DIR", help="a folder with the four MNIST IDX files")
    group.add_argument("--train-csv", metavar="FILE", help="a Kaggle train.csv (label,pixel0..783)")
    group.add_argument("--test-csv", metavar="FILE", help="a labelled CSV to use as the test set")


def dataset_from_args(args: argparse.Namespace) -> Dataset:
    """Load the dataset the options name; DataError for contradictory options."""
    data_dir = getattr(args, "data_dir", None)
    train_csv = getattr(args, "train_csv", None)
    test_csv = getattr(args, "test_csv", None)
    if data_dir and (train_csv or test_csv):
        raise DataError("give either --data-dir or --train-csv/--test-csv, not both")
    if data_dir:
        return load_idx_dir(data_dir)
    if train_csv:
        return load_csv_dataset(train_csv, test_csv)
    if test_csv:
        dataset = load_mnist()
        test = load_csv_dataset(test_csv)
        return Dataset(
            f"bundled MNIST train + {test_csv}",
            dataset.train_images,
            dataset.train_labels,
            test.train_images,
            test.train_labels,
            dataset.checks,
        )
    return load_mnist()


def whole_number(text: str) -> int:
    """text as an int, for argparse types; ArgumentTypeError otherwise."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value
