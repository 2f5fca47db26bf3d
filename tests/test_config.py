"""The settings' choice lists: one source (the modules that implement them), used by the
settings' validation and by the CLI's choices alike."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from digitnet.cli.main import build_parser
from digitnet.errors import ConfigError
from digitnet.nn.activations import activation_from_name
from digitnet.nn.init import initialize
from digitnet.nn.optim import optimizer_from_name
from digitnet.nn.schedules import make_schedule
from digitnet.training import config
from digitnet.training.augment import AUGMENTATIONS as DISTORTIONS
from digitnet.training.config import ModelConfig, TrainConfig


def train_choices() -> dict[str, tuple]:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    train = subparsers.choices["train"]
    return {a.dest: tuple(a.choices) for a in train._actions if a.choices is not None}


def test_the_cli_offers_exactly_the_settings_choices():
    choices = train_choices()
    assert choices["activation"] == config.ACTIVATIONS
    assert choices["init"] == config.INITIALIZERS
    assert choices["optimizer"] == config.OPTIMIZERS
    assert choices["schedule"] == config.SCHEDULES
    assert choices["augment"] == config.AUGMENTATIONS
    assert choices["output"] == config.OUTPUTS
    assert set(choices["loss"]) == set(config.LOSSES.values())


def test_every_choice_is_one_the_engine_builds():
    for name in config.ACTIVATIONS:
        activation_from_name(name)
    for name in config.OPTIMIZERS:
        optimizer_from_name(name, [], learning_rate=0.1)
    for name in config.SCHEDULES:
        assert make_schedule(name, 0.1, 100)(0) > 0
    for name in config.INITIALIZERS:
        assert initialize(name, (4, 3), np.random.default_rng(0)).shape == (4, 3)
    assert set(config.AUGMENTATIONS) == {"none", *DISTORTIONS}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (lambda: ModelConfig(activation="swish"), "unknown activation 'swish': one of sigmoid"),
        (lambda: ModelConfig(init="zeros"), "unknown initialiser 'zeros': one of uniform"),
        (lambda: TrainConfig(schedule="linear"), "unknown schedule 'linear': one of constant"),
        (lambda: TrainConfig(optimizer="rmsprop"), "unknown optimizer 'rmsprop': one of sgd"),
        (lambda: TrainConfig(augment="mixup"), "unknown augmentation 'mixup': one of none"),
    ],
)
def test_an_unknown_choice_is_refused_with_the_list(settings, message):
    with pytest.raises(ConfigError, match=message):
        settings()
