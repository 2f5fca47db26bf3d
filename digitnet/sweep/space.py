"""The search space of a sweep, from `--space` texts, and the settings a trial samples from it.

learning_rate=1e-4..1e-2:log     a float range, sampled on a log scale
dropout=0..0.5                   a float range
epochs=2..6                      an integer range (both ends integers, integer setting)
hidden=256,512|512,256|1024      choices, each read as the setting's type
activation=relu|tanh             choices
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from digitnet.errors import ConfigError
from digitnet.training.config import ModelConfig, TrainConfig, unknown_settings_message

MODEL_FIELDS = {f.name: f.type for f in dataclasses.fields(ModelConfig)}
TRAIN_FIELDS = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
NOT_SEARCHED = {"seed", "train_limit", "test_limit", "log_every", "validation", "patience"}


@dataclass(frozen=True)
class Dimension:
    """One setting's range (low, high, log) or its choices."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()

    @property
    def kind(self) -> str:
        return (MODEL_FIELDS | TRAIN_FIELDS)[self.name].removesuffix(" | None")

    def describe(self) -> str:
        if self.choices:
            return "|".join(_shown(choice) for choice in self.choices)
        return f"{self.low:g}..{self.high:g}{':log' if self.log else ''}"


def parse_dimension(text: str) -> Dimension:
    """One --space text -> a Dimension; ConfigError saying what is wrong."""
    name, equals, spec = text.partition("=")
    name = name.strip()
    if not equals or not name or not spec.strip():
        raise ConfigError(f"--space {text!r}: expected SETTING=LOW..HIGH or SETTING=A|B|C")
    known = (set(MODEL_FIELDS) | set(TRAIN_FIELDS)) - NOT_SEARCHED
    if name not in known:
        if name in NOT_SEARCHED:
            raise ConfigError(f"--space {text!r}: {name} is set by the sweep, not searched")
        raise ConfigError(f"--space {text!r}: {unknown_settings_message({name}, known)}")
    kind = (MODEL_FIELDS | TRAIN_FIELDS)[name].removesuffix(" | None")
    spec = spec.strip()
    if ".." in spec and "|" not in spec:
        return _range(text, name, kind, spec)
    choices = tuple(_value(text, kind, part.strip()) for part in spec.split("|"))
    if len(set(choices)) != len(choices):
        raise ConfigError(f"--space {text!r}: a choice is given twice")
    return Dimension(name, choices=choices)


def _range(text: str, name: str, kind: str, spec: str) -> Dimension:
    bounds, _, scale = spec.partition(":")
    if scale not in ("", "log"):
        raise ConfigError(f"--space {text!r}: the only scale is :log, got :{scale}")
    if kind not in ("int", "float"):
        raise ConfigError(f"--space {text!r}: {name} takes choices (A|B|C), not a range")
    low_text, _, high_text = bounds.partition("..")
    low, high = (_value(text, kind, part.strip()) for part in (low_text, high_text))
    if not low < high:
        raise ConfigError(f"--space {text!r}: the range's low end must be below its high end")
    if scale == "log" and low <= 0:
        raise ConfigError(f"--space {text!r}: a log range needs a low end above 0")
    return Dimension(name, float(low), float(high), scale == "log")


def _value(text: str, kind: str, part: str) -> object:
    """One value of a setting of this kind, written as on the command line."""
    try:
        if kind == "int":
            return int(part)
        if kind == "float":
            return float(part)
        if kind == "bool":
            return {"true": True, "false": False}[part.lower()]
        if kind == "tuple[int, ...]":
            return tuple(int(size) for size in part.split(","))
    except (ValueError, KeyError):
        raise ConfigError(f"--space {text!r}: {part!r} is not {_KIND_WORDS[kind]}") from None
    return part


_KIND_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "tuple[int, ...]": "sizes such as 256,128",
}


def _shown(value: object) -> str:
    """A choice as written in --space (sizes as 256,128): how the study stores it."""
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def format_setting(value: object) -> str:
    """A setting's value for a person: numbers to 4 digits, sizes as 256,128."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return str(value)


def sample(trial, dimensions: list[Dimension]) -> dict:
    """The settings an Optuna trial draws from the space (choices stored as their text, so
    the study holds only plain values)."""
    settings = {}
    for dim in dimensions:
        if dim.choices:
            texts = [_shown(choice) for choice in dim.choices]
            picked = trial.suggest_categorical(dim.name, texts)
            settings[dim.name] = dim.choices[texts.index(picked)]
        elif dim.kind == "int":
            settings[dim.name] = trial.suggest_int(
                dim.name, int(dim.low), int(dim.high), log=dim.log
            )
        else:
            settings[dim.name] = trial.suggest_float(dim.name, dim.low, dim.high, log=dim.log)
    return settings


def settings_of(params: dict, dimensions: list[Dimension]) -> dict:
    """A finished trial's stored params -> the settings they stand for (choices decoded)."""
    settings = {}
    for dim in dimensions:
        value = params[dim.name]
        if dim.choices:
            value = dim.choices[[_shown(choice) for choice in dim.choices].index(value)]
        settings[dim.name] = value
    return settings


def apply(
    model: ModelConfig, train: TrainConfig, settings: dict
) -> tuple[ModelConfig, TrainConfig]:
    """The preset's configs with a trial's settings in place (ConfigError if they clash)."""
    model_changes = {k: v for k, v in settings.items() if k in MODEL_FIELDS}
    train_changes = {k: v for k, v in settings.items() if k in TRAIN_FIELDS}
    train = dataclasses.replace(train, **train_changes)
    if "epochs" in train_changes:
        train = train.with_epochs(train.epochs)
    return dataclasses.replace(model, **model_changes), train
