"""Entry point: build the parser, run the chosen command, turn errors into one line and a status.

Exit statuses: 0 success, 1 a runtime error (bad file, bad image, diverged training), 2 a usage
error (argparse), 130 interrupted by Ctrl-C (143 by SIGTERM: `digitnet train` saves a checkpoint).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from digitnet import __version__
from digitnet.cli import (
    calibrate_cmd,
    data_cmd,
    ensemble_cmd,
    evaluate_cmd,
    export_cmd,
    plot_cmd,
    predict_cmd,
    presets_cmd,
    read_cmd,
    reproduce_cmd,
    serve_cmd,
    show_cmd,
    sweep_cmd,
    train_cmd,
)
from digitnet.errors import DigitnetError

COMMANDS = [
    data_cmd,
    presets_cmd,
    train_cmd,
    evaluate_cmd,
    calibrate_cmd,
    ensemble_cmd,
    export_cmd,
    predict_cmd,
    read_cmd,
    show_cmd,
    plot_cmd,
    reproduce_cmd,
    sweep_cmd,
    serve_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitnet",
        description="A neural network written from scratch in NumPy that learns "
        "handwritten digits.",
        epilog="Run 'digitnet COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"digitnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run digitnet with argv (default sys.argv[1:]) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except DigitnetError as err:
        print(f"digitnet: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digitnet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `digitnet data | head -1`
        sys.stderr.close()
        return 0
    except OSError as err:  # e.g. printing to a full disk: `digitnet predict x.png > /dev/full`
        print(f"digitnet: error: {_describe(err)}", file=sys.stderr)
        return 1
    except MemoryError:
        print("digitnet: error: out of memory (try a smaller --batch-size)", file=sys.stderr)
        return 1


def _describe(err: OSError) -> str:
    """ "<file>: <reason>" when the error names a file, else the reason alone."""
    reason = err.strerror or str(err)
    return f"{err.filename}: {reason}" if err.filename else reason


def run() -> None:
    """The console script: exit with main()'s status. Output still buffered is flushed here, so
    that a full disk or closed pipe is one line (or nothing, after an error already printed)
    rather than a traceback when Python flushes at exit."""
    status = main()
    try:
        sys.stdout.flush()
    except OSError as err:
        if status == 0 and not isinstance(err, BrokenPipeError):  # `| head -1` is no error
            print(f"digitnet: error: cannot write the output: {_describe(err)}", file=sys.stderr)
            status = 1
        devnull = os.open(os.devnull, os.O_WRONLY)  # Python's own flush at exit must not fail
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    sys.exit(status)
