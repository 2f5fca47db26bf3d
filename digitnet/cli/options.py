"""Options shared by several commands: where the data comes from, and JSON output."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass

from digitnet.data.datasets import Dataset, load_csv_dataset, load_idx_dir, load_mnist
from digitnet.errors import DataError

DATA_OPTIONS = ("data_dir", "train_csv", "test_csv")  # the dests add_data_options defines


def add_data_options(
    parser: argparse.ArgumentParser, title: str = "data (default: the bundled MNIST)"
) -> argparse._ArgumentGroup:
    """--data-dir | --train-csv [--test-csv]: the bundled MNIST when none is given."""
    group = parser.add_argument_group(title)
    group.add_argument("--data-dir", metavar="DIR", help="a folder with the four MNIST IDX files")
    group.add_argument("--train-csv", metavar="FILE", help="a Kaggle train.csv (label,pixel0..783)")
    group.add_argument("--test-csv", metavar="FILE", help="a labelled CSV to use as the test set")
    return group


def add_model_data_options(parser: argparse.ArgumentParser) -> None:
    """The data options of a command that measures a model: by default the data its file
    records (what `digitnet train` was given), else the bundled MNIST; --mnist for MNIST."""
    group = add_data_options(
        parser, "data (default: the data the model was trained on, else the bundled MNIST)"
    )
    group.add_argument(
        "--mnist", action="store_true", help="the bundled MNIST, whatever the model was trained on"
    )


def add_study_options(parser: argparse.ArgumentParser, use: str) -> None:
    """--from-study DIR|URL (a sweep's study, and what the command does with it: use) and
    --study NAME, as `ensemble` and `plot` take them."""
    parser.add_argument(
        "--from-study", metavar="DIR|URL",
        help=f"{use}, of the study in this sweep --out folder, journal file or database URL",
    )  # fmt: skip
    parser.add_argument(
        "--study", metavar="NAME", help="the study's name with --from-study (default sweep)"
    )


def dataset_from_args(args: argparse.Namespace) -> Dataset:
    """Load the dataset the options name; DataError for contradictory options."""
    return dataset_from_options({key: getattr(args, key, None) for key in DATA_OPTIONS})


def dataset_from_options(options: Mapping[str, str | None]) -> Dataset:
    """Load the dataset that data options (DATA_OPTIONS keys) name; DataError for
    contradictory options."""
    data_dir, train_csv, test_csv = (options.get(key) for key in DATA_OPTIONS)
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


@dataclass(frozen=True)
class ModelData:
    """The data a model is measured on, and how to name it to the user (None: bundled MNIST)."""

    dataset: Dataset
    description: str | None


def data_for_model(args: argparse.Namespace, meta: dict, model_name: str) -> ModelData:
    """The data the flags name, else the data the model file records it was trained on, else
    the bundled MNIST; DataError when the recorded data cannot be loaded any more."""
    given = given_data_options(args)
    if getattr(args, "mnist", False):
        if given:
            raise DataError("give either --mnist or --data-dir/--train-csv/--test-csv, not both")
        return ModelData(load_mnist(), None)
    if given:
        dataset = dataset_from_options(given)
        return ModelData(dataset, dataset.source)
    recorded = recorded_data_options(meta)
    if not recorded:
        return ModelData(load_mnist(), None)
    try:
        dataset = dataset_from_options(recorded)
    except DataError as error:
        raise DataError(
            f"{model_name} was trained on {as_flags(recorded)}, which cannot be loaded now "
            f"({error}); give its new place with the same option, other data with --data-dir "
            "or --train-csv/--test-csv, or --mnist for the bundled MNIST"
        ) from None
    return ModelData(dataset, f"{dataset.source} (the data {model_name} was trained on)")


def given_data_options(args: argparse.Namespace) -> dict[str, str]:
    """The data options given on the command line (empty: none)."""
    return {key: getattr(args, key) for key in DATA_OPTIONS if getattr(args, key, None)}


def recorded_data_options(meta: dict) -> dict[str, str]:
    """The data options a model file records its training was given (empty: bundled MNIST)."""
    saved = meta.get("data_options")
    if not isinstance(saved, dict):
        return {}
    return {
        key: saved[key] for key in DATA_OPTIONS if isinstance(saved.get(key), str) and saved[key]
    }


def as_flags(options: Mapping[str, str | None]) -> str:
    """Data options as the user types them: "--data-dir mydata"."""
    return " ".join(f"--{key.replace('_', '-')} {value}" for key, value in options.items() if value)


def absolute_paths(options: Mapping[str, str | None]) -> dict[str, str | None]:
    """The data options with each path made absolute, so that a model file's record of them
    holds wherever the command that reads it runs."""
    return {key: os.path.abspath(value) if value else value for key, value in options.items()}


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
