"""`digitnet reproduce`: train every seed preset under its seed's setup; print a markdown table."""

from __future__ import annotations

import argparse
import json
import sys

from digitnet.cli.options import add_data_options, dataset_from_args
from digitnet.training.reproduce import SEED_PRESETS, markdown_table, reproduce


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="train every seed network and compare with the seeds' figures",
        description="Train each seed preset under the seed's own setup, and the same "
        "architecture with digitnet's best recipe; print a markdown table of what the seed "
        "reports beside what digitnet reaches, and the training time.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test: 1/20 of the steps, at most 5000 images; not the seeds' figures",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SEED_PRESETS,
        metavar="PRESET",
        help=f"just these presets ({', '.join(SEED_PRESETS)})",
    )
    parser.add_argument("--no-best", action="store_true", help="skip the best-recipe runs")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON lines")
    add_data_options(parser)
    parser.set_defaults(run=run)


QUICK_NOTE = (
    "quick run: a smoke test, 1/20 of each setup's steps on at most 5000 training images; "
    "its figures are not the seeds' results (run without --quick for those)"
)


def run(args: argparse.Namespace) -> int:
    dataset = dataset_from_args(args)
    if args.quick:
        print(QUICK_NOTE, file=sys.stderr, flush=True)

    def report(row: dict) -> None:
        if args.json:
            print(json.dumps({**row, "quick": args.quick}), flush=True)
        else:
            test = row["test_accuracy"]
            print(
                f"{row['preset']}: test {100 * test:.2f}% in {row['seconds']:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    rows = reproduce(
        dataset,
        tuple(args.only or SEED_PRESETS),
        quick=args.quick,
        with_best_recipe=not args.no_best,
        on_row=report,
    )
    if not args.json:
        print(markdown_table(rows))
        if args.quick:
            print(f"\n{QUICK_NOTE}")
    return 0
