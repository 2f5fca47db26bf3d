"""`digitnet sweep --preset P --trials N --space S ...`: search a preset's settings on Optuna."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from pathlib import Path

from digitnet.cli.options import add_data_options, dataset_from_args, positive_int
from digitnet.cli.run_control import StopFlag
from digitnet.errors import ConfigError
from digitnet.sweep.space import format_setting
from digitnet.training.presets import DEFAULT_PRESET, PRESETS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="search a preset's settings (Optuna; pip install digitnet[sweep])",
        description="Train a preset many times with settings sampled from --space, judge each "
        "trial by its validation accuracy (reported every epoch; trials that fall behind are "
        "pruned; the test images are never used), and keep the best trial's model. The study "
        "lives in a journal file in --out (or --storage), so the same command continues it "
        "and several processes or machines can run it at once.",
        epilog="example: digitnet sweep --preset mlp --trials 30 --epochs 3 --space "
        '"learning_rate=1e-4..1e-2:log" --space "hidden=256|512,256|1024,1024" '
        '--space "dropout=0..0.5"',
    )
    parser.add_argument(
        "--preset", choices=list(PRESETS), metavar="NAME", default=DEFAULT_PRESET,
        help=f"the recipe whose settings are searched (default {DEFAULT_PRESET})",
    )  # fmt: skip
    parser.add_argument(
        "--space", action="append", required=True, metavar="SETTING=RANGE",
        help="a searched setting: LOW..HIGH (:log for a log scale) or A|B|C; repeat it",
    )  # fmt: skip
    parser.add_argument(
        "--trials", type=positive_int, default=20,
        help="finished trials the study should hold (default 20); a continued study runs "
        "the rest",
    )  # fmt: skip
    parser.add_argument(
        "--epochs", type=positive_int, help="epochs per trial (default: the preset's)"
    )
    parser.add_argument("--train-limit", type=positive_int, help="train on the first N images only")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sampler (default 0)")
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="stop starting trials after S seconds"
    )
    parser.add_argument(
        "--out", default="sweep", metavar="DIR",
        help="the study's journal and the best trial's model, best.npz (default ./sweep)",
    )  # fmt: skip
    parser.add_argument(
        "--storage", metavar="URL|FILE",
        help="where the study lives instead: a journal file, or a database URL "
        "(sqlite:///study.db, postgresql://user@host/db) that many machines share",
    )  # fmt: skip
    parser.add_argument(
        "--study",
        metavar="NAME",
        help="the study's name (default sweep): several studies may share a storage",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="worker processes on this machine, each running trials of the same study (default 1)",
    )
    parser.add_argument(
        "--keep-models", action="store_true",
        help="keep every complete trial's model as DIR/trials/<study>-<trial>.npz "
        "(for digitnet ensemble --from-study)",
    )  # fmt: skip
    add_data_options(parser)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no line per trial on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from digitnet.sweep.space import parse_dimension
    from digitnet.sweep.study import (
        Sweep,
        SweepInterrupted,
        best_file,
        best_settings,
        finished_trials,
        open_study,
        run_sweep,
    )

    dimensions = [parse_dimension(text) for text in args.space]
    names = [dim.name for dim in dimensions]
    if len(set(names)) != len(names):
        raise ConfigError("--space: each setting may be searched once")
    sweep = Sweep(
        args.preset, tuple(dimensions), args.trials, Path(args.out), epochs=args.epochs,
        train_limit=args.train_limit, seed=args.seed, storage=args.storage,
        study_name=args.study, timeout=args.timeout, keep_models=args.keep_models,
    )  # fmt: skip
    dataset = dataset_from_args(args)
    study = open_study(sweep)  # created (and checked) once, before any worker starts
    stop = StopFlag()
    stop.install()
    workers = [_start_worker(args, index) for index in range(1, args.workers)]
    try:
        on_trial = None if args.quiet else _print_trial
        study = run_sweep(sweep, dataset, should_stop=stop, on_trial=on_trial, study=study)
    except SweepInterrupted as error:
        for worker in workers:  # a SIGTERM to this process alone stops them too
            worker.send_signal(stop.signal)
        _wait_for(workers)
        print(
            f"digitnet: {error}; the finished trials are kept: run the same command to "
            "continue the study",
            file=sys.stderr,
        )
        return 128 + stop.signal
    if _wait_for(workers):
        raise ConfigError("a worker process of the sweep failed (its error is above)")
    finished = finished_trials(study)
    best = best_settings(study, dimensions)
    result = {
        "study": sweep.name,
        "storage": args.storage or str(Path(args.out) / "study.journal"),
        "finished_trials": len(finished),
        "pruned_trials": sum(t.state.name == "PRUNED" for t in finished),
        "best": best,
        "model": str(best_file(sweep)) if best_file(sweep) else None,
    }
    _print_result(result, args.json)
    return 0


def _start_worker(args: argparse.Namespace, index: int) -> subprocess.Popen:
    """Another process running the same sweep, its sampler seeded apart (seed + index)."""
    command = [sys.executable, "-m", "digitnet", "sweep", "--preset", args.preset]
    for text in args.space:
        command += ["--space", text]
    options = {
        "--trials": args.trials, "--epochs": args.epochs, "--train-limit": args.train_limit,
        "--seed": args.seed + index, "--timeout": args.timeout, "--out": args.out,
        "--storage": args.storage, "--study": args.study, "--data-dir": args.data_dir,
        "--train-csv": args.train_csv, "--test-csv": args.test_csv,
    }  # fmt: skip
    for flag, value in options.items():
        if value is not None:
            command += [flag, str(value)]
    command += [flag for flag, on in (("--quiet", args.quiet), ("--keep-models", args.keep_models))
                if on]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


def _wait_for(workers: list[subprocess.Popen]) -> bool:
    """Wait for the worker processes; whether any failed."""
    return any(worker.wait() not in (0, 128 + signal.SIGINT) for worker in workers)


def _print_trial(trial) -> None:
    settings = ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                         for name, value in trial.params.items())  # fmt: skip
    if trial.state.name == "COMPLETE":
        outcome = f"validation accuracy {100 * trial.value:.2f}%"
    elif trial.state.name == "PRUNED":
        outcome = f"pruned after epoch {trial.last_step}"
    else:
        outcome = trial.state.name.lower()
    print(f"trial {trial.number}: {outcome} ({settings})", file=sys.stderr)


def _print_result(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, default=list))
        return
    print(
        f"study {result['study']}: {result['finished_trials']} finished trials "
        f"({result['pruned_trials']} pruned), in {result['storage']}"
    )
    if not result["best"]:
        print("no trial has finished without pruning yet")
        return
    print("best trials (validation accuracy):")
    for row in result["best"]:
        settings = ", ".join(f"{k}={format_setting(v)}" for k, v in row["settings"].items())
        print(f"  trial {row['trial']:>3}  {100 * row['val_accuracy']:.2f}%  {settings}")
    if result["model"]:
        print(f"best model: {result['model']} (digitnet evaluate {result['model']})")
