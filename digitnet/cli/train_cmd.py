"""`digitnet train`: train a preset (with overrides) and write the model, history and cost curve."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from digitnet.cli.options import DATA_OPTIONS, absolute_paths, add_data_options, dataset_from_args
from digitnet.cli.progress import ProgressPrinter
from digitnet.cli.run_control import StopFlag, check_writable
from digitnet.cli.train_options import add_setting_options, configs_from_args
from digitnet.errors import ConfigError, TrainingDiverged
from digitnet.training.checkpoint import load_checkpoint, model_path_of
from digitnet.training.config import TrainConfig
from digitnet.training.run import RunOutcome, RunPlan, train_run
from digitnet.training.trainer import History, TrainEvent


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network and save it",
        description="Train a preset network (see `digitnet presets`), optionally changing its "
        "settings, then save the model, its training history and a cost-curve plot.",
    )
    setting_flags = add_setting_options(parser)
    add_data_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out",
        metavar="FILE",
        help="model file to write (default model.npz, or the interrupted run's file with "
        "--resume); history and plot go beside it",
    )
    out.add_argument("--resume", metavar="CHECKPOINT", help="continue an interrupted training")
    out.add_argument("--no-plot", action="store_true", help="do not draw the cost-curve PNG")
    out.add_argument(
        "--json", action="store_true", help="print the final results as one JSON object"
    )
    out.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(run=run, setting_flags=setting_flags)


def run(args: argparse.Namespace) -> int:
    resume = None
    if args.resume:
        given = [
            flag for dest, flag in args.setting_flags.items() if getattr(args, dest) is not None
        ]
        if given:
            raise ConfigError(
                f"--resume continues the saved run with its own settings; drop {', '.join(given)}"
            )
        resume = load_checkpoint(args.resume)
        preset_name, model_config, train_config = None, resume.model_config, resume.train_config
        if all(getattr(args, key) is None for key in DATA_OPTIONS):  # else: data given now
            for key, value in resume.meta.get("data_options", {}).items():
                setattr(args, key, value)  # (the same data moved, say)
        out = Path(args.out) if args.out else model_path_of(Path(args.resume))
    else:
        preset_name, model_config, train_config = configs_from_args(args)
        out = Path(args.out or "model.npz")
    data_options = absolute_paths({key: getattr(args, key) for key in DATA_OPTIONS})
    check_writable(
        out,
        {
            "the --train-csv file": args.train_csv,
            "the --test-csv file": args.test_csv,
            "the checkpoint being resumed": args.resume,
        },
    )
    dataset = dataset_from_args(args)
    stop = StopFlag()
    stop.install()
    progress = _Progress(quiet=args.quiet)
    try:
        outcome = train_run(
            model_config,
            train_config,
            dataset,
            preset=preset_name,
            resume=resume,
            out=out,
            plot=not args.no_plot,
            data_options=data_options,
            on_start=progress.start,
            on_event=progress,
            should_stop=stop,
        )
    finally:
        progress.close()
    return _report(outcome, out, stop, args)


class _Progress:
    """The run's announcement on stderr, then its progress (ProgressPrinter) step by step."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.printer: ProgressPrinter | None = None

    def start(self, plan: RunPlan) -> None:
        data, train_config = plan.data, plan.train_config
        if not self.quiet:
            print(
                f"training {plan.preset}: {len(data.x_train)} images "
                f"({held_out_summary(len(data.x_val), train_config)}), {plan.total_steps} steps",
                file=sys.stderr,
            )
        self.printer = ProgressPrinter(
            plan.total_steps,
            steps_per_epoch=plan.steps_per_epoch,
            log_every=train_config.log_every,
            quiet=self.quiet,
        )

    def __call__(self, event: TrainEvent) -> None:
        if self.printer is not None:
            self.printer(event)

    def close(self) -> None:
        if self.printer is not None:
            self.printer.close()


def _report(outcome: RunOutcome, out: Path, stop: StopFlag, args: argparse.Namespace) -> int:
    """Print what the run did and give its exit status (128 + the signal when interrupted)."""
    result = outcome.result
    if outcome.checkpoint is not None:
        print(
            f"digitnet: interrupted at step {result.state.step}; checkpoint saved to "
            f"{outcome.checkpoint}\ncontinue with: digitnet train --resume {outcome.checkpoint}",
            file=sys.stderr,
        )
        return 128 + stop.signal
    for warning in outcome.warnings:
        print(f"digitnet: warning: {warning}", file=sys.stderr)
    if outcome.removed_checkpoint is not None and not args.quiet:
        print(
            f"removed the checkpoint {outcome.removed_checkpoint}: the run has finished",
            file=sys.stderr,
        )
    if result.stop_reason == "diverged":
        raise TrainingDiverged(f"{result.message}; saved them to {out}")
    _warn_if_the_cost_rose(result.history)
    _print_results(outcome.results, outcome.files, result.stop_reason, args.json)
    return 0


def _warn_if_the_cost_rose(history: History) -> None:
    """A warning on stderr when the last tenth of the steps cost more on average than the
    first step, the untrained network: finite, so not caught as divergence, but a sign of a
    learning rate too high."""
    losses = history.step_losses
    if len(losses) < 10:
        return
    start, end = losses[0], statistics.fmean(losses[-(len(losses) // 10) :])
    if end > start:
        print(
            f"digitnet: warning: training raised the cost (first step {start:.4g}, last steps "
            f"{end:.4g} on average): the learning rate may be too high (--lr)",
            file=sys.stderr,
        )


def _print_results(results: dict, written: list[Path], stop_reason: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({**results, "files": [str(p) for p in written]}))
        return
    if stop_reason == "early_stopped":
        print("stopped early: the validation cost stopped improving; kept the best weights")
    for split in ("train", "val", "test"):
        if f"{split}_accuracy" in results:
            print(
                f"{split} accuracy {100 * results[f'{split}_accuracy']:.2f}%  "
                f"cost {results[f'{split}_loss']:.4f}  ({results[f'n_{split}']} images)"
            )
    if "calibration" in results:
        c = results["calibration"]
        print(
            f"calibrated on the validation images: temperature {c['temperature']:.3f}, "
            f"unsure below {c['min_confidence']:.1%} confidence, calibration error "
            f"{c['val_ece_before']:.2%} -> {c['val_ece_after']:.2%}"
        )
    print(f"training time {results['train_seconds']:.1f}s")
    print("wrote " + ", ".join(str(p) for p in written))


def held_out_summary(n_validation: int, train_config: TrainConfig) -> str:
    """ "417 held out for validation, 1/12 of them": how many and by which rule."""
    if not n_validation:
        return "none held out for validation"
    if train_config.validation >= 1:
        return f"{n_validation} held out for validation"
    return f"{n_validation} held out for validation, {train_config.validation:.1%} of them"
