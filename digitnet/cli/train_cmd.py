"""`digitnet train`: train a preset (with overrides) and write the model, history and cost curve."""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

from digitnet.cli.options import (
    DATA_OPTIONS,
    absolute_paths,
    add_data_options,
    dataset_from_args,
    positive_int,
)
from digitnet.cli.progress import ProgressPrinter
from digitnet.cli.run_control import StopFlag, check_writable
from digitnet.errors import ConfigError, TrainingDiverged
from digitnet.training.checkpoint import load_checkpoint, model_path_of
from digitnet.training.config import (
    ACTIVATIONS,
    AUGMENTATIONS,
    INITIALIZERS,
    LOSSES,
    OPTIMIZERS,
    OUTPUTS,
    SCHEDULES,
    ModelConfig,
    TrainConfig,
    replace,
)
from digitnet.training.presets import DEFAULT_PRESET, PRESETS, get_preset
from digitnet.training.run import RunOutcome, RunPlan, train_run
from digitnet.training.trainer import History, TrainEvent


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network and save it",
        description="Train a preset network (see `digitnet presets`), optionally changing its "
        "settings, then save the model, its training history and a cost-curve plot.",
    )
    parser.add_argument(
        "--preset",
        choices=list(PRESETS),
        metavar="NAME",
        help=f"starting recipe (default {DEFAULT_PRESET}): {', '.join(PRESETS)}",
    )
    net = parser.add_argument_group("network overrides")
    net.add_argument(
        "--hidden", type=_sizes, metavar="N,N,...", help="hidden layer sizes, e.g. 256,128"
    )
    net.add_argument("--activation", choices=ACTIVATIONS)
    net.add_argument(
        "--output",
        choices=OUTPUTS,
        help="softmax + cross-entropy, or sigmoid + quadratic cost",
    )
    net.add_argument(
        "--loss",
        choices=list(LOSSES.values()),
        help="cross_entropy (softmax output) or mse (sigmoid output)",
    )
    net.add_argument(
        "--init",
        choices=INITIALIZERS,
        metavar="NAME",
        help=f"weight initialiser: {', '.join(INITIALIZERS)}",
    )
    net.add_argument(
        "--conv",
        type=_sizes,
        metavar="C,C,...",
        help="convolution channels for a CNN preset, e.g. 32,64",
    )
    net.add_argument("--kernel-size", type=int, help="CNN kernel side (odd)")
    net.add_argument("--dropout", type=float, help="dropout rate after each hidden layer")
    net.add_argument(
        "--label-smoothing",
        type=float,
        metavar="X",
        help="soften the targets: the true digit gets 1 - X + X/10, every other X/10 (0 <= X < 1; "
        "softmax output only)",
    )
    net.add_argument(
        "--deskew",
        action=argparse.BooleanOptionalAction,
        help="straighten slanted digits before the first layer (saved in the model)",
    )
    opt = parser.add_argument_group("training overrides")
    opt.add_argument("--optimizer", choices=OPTIMIZERS)
    opt.add_argument("--lr", type=float, dest="learning_rate", help="learning rate")
    opt.add_argument("--momentum", type=float)
    opt.add_argument("--weight-decay", type=float)
    opt.add_argument("--batch-size", type=int, help="examples per step; 0 = the whole training set")
    budget = opt.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=positive_int)
    budget.add_argument(
        "--iterations", type=positive_int, help="optimiser steps (instead of epochs)"
    )
    opt.add_argument("--schedule", choices=SCHEDULES)
    opt.add_argument("--warmup", type=int, dest="warmup_steps", help="linear warm-up steps")
    opt.add_argument(
        "--augment",
        choices=AUGMENTATIONS,
        help="distort training images: shifts, + rotation/scale, + elastic",
    )
    opt.add_argument("--clip-norm", type=float, help="clip the gradient's global norm to this")
    opt.add_argument(
        "--validation",
        type=validation_amount,
        metavar="N|F",
        help="held out for validation: a fraction of the training images (default 1/12, as "
        "0.0833) or a number of images; 0 for none",
    )
    opt.add_argument(
        "--patience",
        type=positive_int,
        help="stop after N epochs without a better validation cost; keep the best weights",
    )
    opt.add_argument(
        "--seed", type=int, help="seed for weights, shuffling and the validation split"
    )
    opt.add_argument("--train-limit", type=positive_int, help="train on the first N images only")
    opt.add_argument("--test-limit", type=positive_int, help="test on the first N images only")
    opt.add_argument("--log-every", type=positive_int, help="print the cost every N steps")
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
    # what --resume refuses: every option that would change the run, by its flag
    setting_flags = {"preset": "--preset"} | {
        action.dest: action.option_strings[0]
        for group in (net, opt)
        for action in group._group_actions
    }
    parser.set_defaults(run=run, setting_flags=setting_flags)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:  # also "" and "10,,10"
        raise argparse.ArgumentTypeError(f"expected sizes like 256,128, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got {text!r}")
    return sizes


def validation_amount(text: str) -> float:
    """--validation's value: a fraction in [0, 1) or a whole number of images."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 <= value < 1 or (value >= 1 and value.is_integer())):
        raise argparse.ArgumentTypeError(
            f"expected a fraction in [0, 1) or a whole number of images, got {text!r}"
        )
    return int(value) if value >= 1 else value


def configs_from_args(args: argparse.Namespace) -> tuple[str, ModelConfig, TrainConfig]:
    """The preset's settings with the command line's overrides applied."""
    preset = get_preset(args.preset or DEFAULT_PRESET)
    if preset.model.kind != "cnn" and (args.conv is not None or args.kernel_size is not None):
        raise ConfigError("--conv and --kernel-size need a CNN preset (--preset cnn or cnn-best)")
    output = args.output
    if args.loss is not None:
        implied = next(output for output, loss in LOSSES.items() if loss == args.loss)
        if output is not None and output != implied:
            raise ConfigError(f"--loss {args.loss} needs --output {implied}")
        output = implied
    model = replace(
        preset.model,
        hidden=args.hidden,
        activation=args.activation,
        output=output,
        init=args.init,
        dropout=args.dropout,
        label_smoothing=args.label_smoothing,
        deskew=args.deskew,
        conv_channels=args.conv,
        kernel_size=args.kernel_size,
    )
    train = replace(
        preset.train,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        batch_size=args.batch_size,
        epochs=args.epochs,
        schedule=args.schedule,
        warmup_steps=args.warmup_steps,
        clip_norm=args.clip_norm,
        augment=args.augment,
        validation=args.validation,
        patience=args.patience,
        seed=args.seed,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        log_every=args.log_every,
    )
    if args.momentum is not None and train.optimizer not in ("momentum", "nesterov"):
        raise ConfigError(
            f"--momentum needs --optimizer momentum or nesterov (this run's is {train.optimizer})"
        )
    if args.iterations is not None or args.epochs is not None:
        # an explicit budget replaces the preset's: --epochs clears its iteration count
        train = dataclasses.replace(train, iterations=args.iterations)
    return preset.name, model, train


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
