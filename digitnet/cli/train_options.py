"""The train command's setting options: the network and training overrides of a preset, and
the ModelConfig and TrainConfig they give."""

from __future__ import annotations

import argparse
import dataclasses

from digitnet.cli.options import positive_int
from digitnet.errors import ConfigError
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


def add_setting_options(parser: argparse.ArgumentParser) -> dict[str, str]:
    """--preset and every override; returns each setting's flag by its dest (what --resume
    refuses)."""
    parser.add_argument(
        "--preset",
        choices=list(PRESETS),
        metavar="NAME",
        help=f"starting recipe (default {DEFAULT_PRESET}): {', '.join(PRESETS)}",
    )
    groups = (_add_network_options(parser), _add_training_options(parser))
    return {"preset": "--preset"} | {
        action.dest: action.option_strings[0] for group in groups for action in group._group_actions
    }


def _add_network_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
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
    return net


def _add_training_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
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
    return opt


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
