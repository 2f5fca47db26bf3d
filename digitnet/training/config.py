"""Settings as frozen dataclasses: the CLI fills them, the trainer reads them, files record them."""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.activations import ACTIVATIONS as ACTIVATION_LAYERS
from digitnet.nn.init import INITIALIZERS
from digitnet.nn.optim import OPTIMIZERS
from digitnet.nn.schedules import SCHEDULES
from digitnet.training.augment import AUGMENTATIONS as DISTORTIONS

# the choices each setting takes, from the modules that implement them (the CLI offers these)
ACTIVATIONS = tuple(ACTIVATION_LAYERS)
OUTPUTS = ("softmax", "sigmoid")
LOSSES = {"softmax": "cross_entropy", "sigmoid": "mse"}  # the cost each output trains with
AUGMENTATIONS = ("none", *DISTORTIONS)
ALIASES = {"lr": "learning_rate", "batch": "batch_size", "hidden_sizes": "hidden"}  # for hints


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_choice(setting: str, value: str, choices: tuple[str, ...]) -> None:
    """ConfigError naming the choices when value is not one of them."""
    if value not in choices:
        raise ConfigError(f"unknown {setting} {value!r}: one of {', '.join(choices)}")


def _is_finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float: 10**400
        return False


def _plain(value: object) -> object:
    """NumPy scalars as the Python numbers they hold, NumPy arrays and lists as tuples of
    those: what the settings (and the JSON they are saved as) hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, np.ndarray)):
        return tuple(_plain(item) for item in value)
    return value


_KINDS = {  # a field's annotation -> (the test its value must pass, how to say it)
    "int": (_is_int, "an integer"),
    "float": (_is_finite_number, "a finite number"),
    "str": (lambda value: isinstance(value, str), "a string"),
    "bool": (lambda value: isinstance(value, bool), "True or False"),
    "tuple[int, ...]": (
        lambda value: isinstance(value, tuple) and all(map(_is_int, value)),
        "a tuple of integers such as (256, 128)",
    ),
}


def check_types(config: ModelConfig | TrainConfig) -> None:
    """ConfigError naming the first field whose value has the wrong type (epochs="3",
    hidden=256, learning_rate=inf). NumPy numbers count as the Python numbers they hold, and
    a list or array of sizes as the tuple it means; the config keeps those plain values."""
    for field in dataclasses.fields(config):
        value = _plain(getattr(config, field.name))
        object.__setattr__(config, field.name, value)  # frozen: set once, while building
        kind = field.type.removesuffix(" | None")
        if value is None and kind != field.type:
            continue
        accepts, description = _KINDS[kind]
        if not accepts(value):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise ConfigError(f"{field.name} must be {description}, got {shown}")


def unknown_settings_message(unknown: set[str], known: set[str]) -> str:
    """The message for settings that do not exist, with a guess for each: "unknown
    setting(s): lr (did you mean learning_rate?)"."""
    parts = []
    for name in sorted(unknown):
        guess = ALIASES.get(name) or next(iter(difflib.get_close_matches(name, known, 1)), None)
        parts.append(f"{name} (did you mean {guess}?)" if guess in known else name)
    return f"unknown setting(s): {', '.join(parts)}"


@dataclass(frozen=True)
class ModelConfig:
    """What network to build.

    kind "mlp": Dense layers of `hidden` sizes with `activation`, then 10 outputs. output
    "softmax" trains with cross-entropy on the logits; "sigmoid" ends in a sigmoid layer and
    trains with the quadratic cost (seed 000). deskew puts a Deskew layer first, which shears
    every image upright (digitnet.nn.deskew). kind "cnn": convolutions of `conv_channels`
    (see digitnet.nn.cnn.build_cnn), then ReLU Dense layers of `hidden` sizes, then 10 logits.
    """

    kind: str = "mlp"
    hidden: tuple[int, ...] = (256,)
    activation: str = "relu"
    output: str = "softmax"
    init: str = "he_normal"
    dropout: float = 0.0
    input_dropout: float = 0.0  # kind "mlp": dropout on the input pixels too
    label_smoothing: float = 0.0
    conv_channels: tuple[int, ...] = ()  # kind "cnn": channels of each convolution
    kernel_size: int = 3  # kind "cnn": odd side of the square kernels
    pool_every: int = 2  # kind "cnn": a 2x2 max-pool after this many convolutions
    padding: str = "same"  # kind "cnn": "same" keeps the side through a conv, "valid" shrinks it
    batch_norm: bool = True  # kind "cnn": BatchNorm after each convolution
    deskew: bool = False  # straighten slanted digits first (a Deskew layer at the input)

    def __post_init__(self) -> None:
        check_types(self)
        if self.kind not in ("mlp", "cnn"):
            raise ConfigError(f"unknown model kind {self.kind!r}: expected 'mlp' or 'cnn'")
        if any(size < 1 for size in self.hidden):
            raise ConfigError(f"hidden layer sizes must be >= 1, got {self.hidden}")
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("output", self.output, OUTPUTS)
        check_choice("initialiser", self.init, INITIALIZERS)
        if not 0.0 <= self.input_dropout < 1.0:
            raise ConfigError(f"input dropout must be in [0, 1), got {self.input_dropout}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.kind == "cnn" and not self.conv_channels:
            raise ConfigError("a cnn needs conv_channels, e.g. (32, 64)")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"label smoothing must be in [0, 1), got {self.label_smoothing}")


VALIDATION_FRACTION = 1 / 12  # of the training images: 5000 of MNIST's 60,000


@dataclass(frozen=True)
class TrainConfig:
    """How to train. batch_size 0 means the whole training set (full-batch gradient descent).

    The budget is `iterations` optimiser steps when given, else `epochs` passes over the data.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 128
    epochs: int = 10
    iterations: int | None = None
    schedule: str = "constant"
    warmup_steps: int = 0
    clip_norm: float | None = None
    validation: float = VALIDATION_FRACTION  # in (0, 1): a fraction; 0 or more: images
    patience: int | None = None
    seed: int = 0
    train_limit: int | None = None
    test_limit: int | None = None
    log_every: int = 100
    augment: str = "none"  # "none", "affine" (shift, rotation, scale) or "elastic" (and more)

    def __post_init__(self) -> None:
        check_types(self)
        check_choice("augmentation", self.augment, AUGMENTATIONS)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        checks = [
            (self.learning_rate > 0, f"learning rate must be > 0, got {self.learning_rate}"),
            (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (self.weight_decay >= 0, f"weight decay must be >= 0, got {self.weight_decay}"),
            (
                self.batch_size >= 0,
                f"batch size must be >= 1 (or 0 for full batch), got {self.batch_size}",
            ),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (
                self.iterations is None or self.iterations >= 1,
                f"iterations must be >= 1, got {self.iterations}",
            ),
            (self.warmup_steps >= 0, f"warm-up steps must be >= 0, got {self.warmup_steps}"),
            (
                self.clip_norm is None or self.clip_norm > 0,
                f"clip norm must be > 0, got {self.clip_norm}",
            ),
            (
                0 <= self.validation < 1 or float(self.validation).is_integer(),
                f"validation must be a fraction in [0, 1) or a whole number of images, got "
                f"{self.validation}",
            ),
            (
                self.patience is None or self.patience >= 1,
                f"patience must be >= 1, got {self.patience}",
            ),
            (
                self.patience is None or self.validation > 0,
                "patience (early stopping) needs a validation set: validation > 0",
            ),
            (self.seed >= 0, f"seed must be >= 0, got {self.seed}"),
            (
                self.train_limit is None or self.train_limit >= 1,
                f"train limit must be >= 1, got {self.train_limit}",
            ),
            (
                self.test_limit is None or self.test_limit >= 1,
                f"test limit must be >= 1, got {self.test_limit}",
            ),
            (self.log_every >= 1, f"log every must be >= 1, got {self.log_every}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def with_epochs(self, epochs: int) -> TrainConfig:
        """These settings with a budget of `epochs`: it replaces a step budget (iterations)."""
        return dataclasses.replace(self, epochs=epochs, iterations=None)

    def held_out(self, n_images: int) -> int:
        """How many of n_images training images validation holds out: a fraction of them
        (rounded) when validation is below 1, else that many."""
        if self.validation < 1:
            return round(self.validation * n_images)
        return int(self.validation)


def replace(config: ModelConfig | TrainConfig, **changes: object) -> ModelConfig | TrainConfig:
    """A copy with some fields changed; None values mean "not given" and are ignored."""
    given = {k: v for k, v in changes.items() if v is not None}
    names = {f.name for f in dataclasses.fields(config)}
    unknown = set(given) - names
    if unknown:
        raise ConfigError(unknown_settings_message(unknown, names))
    return dataclasses.replace(config, **given)


def to_dict(config: ModelConfig | TrainConfig) -> dict:
    """JSON-able fields (tuples become lists)."""
    return {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()
    }


def from_dict(cls: type, values: dict) -> ModelConfig | TrainConfig:
    """Rebuild a config from to_dict's output, ignoring unknown keys from newer versions."""
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {key: value for key, value in values.items() if key in names}  # lists: tuples
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"bad settings: {err}") from None
