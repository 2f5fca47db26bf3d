"""Entry point: build the parser, run the chosen command, turn errors into one line and a status.

Exit statuses: 0 success, 1 a runtime error (bad file, bad image, diverged training), 2 a usage
error (argparse), 130 interrupted by Ctrl-C (143 by SIGTERM: `digitnet train` saves a checkpoint).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from digitnet import __version__
from digitnet.errors import DigitnetError

# each command lives in digitnet/cli/<name>_cmd.py, in the order `digitnet --help` lists them
COMMAND_NAMES = (
    "data",
    "presets",
    "train",
    "evaluate",
    "calibrate",
    "ensemble",
    "export",
    "predict",
    "read",
    "show",
    "plot",
    "reproduce",
    "sweep",
    "serve",
)


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"digitnet.cli.{name}_cmd")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with only one command's subparser (only: its name).

    One command's modules are all a run needs: importing every command (the trainer, the
    sweep, the exporters...) added 0.08 s to `digitnet predict one.png` with bytecode cached
    (docs/performance.md, Start-up)."""
    parser = argparse.ArgumentParser(
        prog="digitnet",
        description="A neural network written from scratch in NumPy that learns "
        "handwritten digits.",
        epilog="Run 'digitnet COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"digitnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only else COMMAND_NAMES:
        command_module(name).add_parser(subparsers)
    return parser


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The command named first on the line, when it is one (else the whole parser decides)."""
    return argv[0] if argv and argv[0] in COMMAND_NAMES else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run digitnet with argv (default sys.argv[1:]) and return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_chosen_command(argv))
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
