"""`digitnet presets`: every named recipe, the seed it comes from and what that seed reported."""

from __future__ import annotations

import argparse
import json

from digitnet.training.config import to_dict
from digitnet.training.presets import PRESETS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "presets",
        help="list the named networks (seed reproductions and modern ones)",
        description="List every preset with its architecture, training setup, the seed "
        "description it reproduces and the figure that seed reported.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def _budget(preset) -> str:
    train = preset.train
    batch = "full batch" if train.batch_size == 0 else f"batch {train.batch_size}"
    steps = f"{train.iterations} iterations" if train.iterations else f"{train.epochs} epochs"
    data = (
        f", first {train.train_limit} train / {train.test_limit} test" if train.train_limit else ""
    )
    augment = f", {train.augment} augmentation" if train.augment != "none" else ""
    return f"{train.optimizer} lr {train.learning_rate:g}, {batch}, {steps}{data}{augment}"


def run(args: argparse.Namespace) -> int:
    if args.json:
        listing = {
            name: {
                "summary": p.summary,
                "architecture": p.architecture,
                "seed": p.seed,
                "reported": p.reported,
                "targets": p.targets,
                "model": to_dict(p.model),
                "train": to_dict(p.train),
            }
            for name, p in PRESETS.items()
        }
        print(json.dumps(listing))
    else:
        _print_table()
    return 0


def _print_table() -> None:
    """One block per preset: name, origin and architecture, then its budget and target indented
    under the architecture; columns as wide as their longest entry."""
    origins = {
        name: f"seed {preset.seed}" if preset.seed else "modern" for name, preset in PRESETS.items()
    }
    name_width = max(len(name) for name in PRESETS)
    origin_width = max(len(origin) for origin in origins.values())
    indent = " " * (name_width + 1 + origin_width + 1)  # under the architecture column
    for name, preset in PRESETS.items():
        print(f"{name:{name_width}} {origins[name]:{origin_width}} {preset.architecture}")
        print(f"{indent}{_budget(preset)}")
        if preset.reported:
            print(f"{indent}seed reports: {preset.reported}")
        elif preset.targets:
            target = ", ".join(
                f"{k.replace('_', ' ')} >= {100 * v:.1f}%" for k, v in preset.targets.items()
            )
            print(f"{indent}target: {target}")
