"""Presets: each seed network carries its seed's own setup; every preset builds and trains."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli

from digitnet.errors import ConfigError
from digitnet.training.build import build_model
from digitnet.training.presets import PRESETS, best_recipe, get_preset


def _sizes(preset):
    model = build_model(preset.model, np.random.default_rng(0))
    return [784] + [layer.params["W"].shape[1] for layer in model.layers if "W" in layer.params]


@pytest.mark.parametrize(
    ("name", "sizes", "activation", "setup"),
    [
        (
            "seed000",
            [784, 16, 16, 10],
            "sigmoid",
            dict(learning_rate=0.9, batch_size=1, iterations=59_999),
        ),
        ("seed001", [784, 10, 10], "relu", dict(learning_rate=0.1, batch_size=0, iterations=500)),
        ("seed002", [784, 1000, 10], "tanh", dict(train_limit=1000, test_limit=350, batch_size=0)),
        ("seed003", [784, 10, 10], "relu", dict(learning_rate=0.1, batch_size=0, iterations=500)),
        ("seed004", [784, 25, 15, 10], "relu", dict(epochs=1500, batch_size=0)),
    ],
)
def test_seed_presets_keep_the_seed_setup(name, sizes, activation, setup):
    preset = get_preset(name)
    assert preset.seed == name.removeprefix("seed")
    assert _sizes(preset) == sizes
    assert preset.model.activation == activation
    for key, value in setup.items():
        assert getattr(preset.train, key) == value, key


def test_seed000_is_all_sigmoid_with_the_quadratic_cost():
    preset = get_preset("seed000")
    model = build_model(preset.model, np.random.default_rng(0))
    assert type(model.layers[-1]).__name__ == "Sigmoid"
    assert model.loss.name == "mse"
    assert preset.train.log_every == 1000


def test_reported_figures_are_recorded_as_targets():
    assert get_preset("seed002").targets == {"train_accuracy": 0.953, "test_accuracy": 0.8457}
    assert get_preset("seed003").targets == {"train_accuracy": 0.83}
    assert get_preset("seed004").targets == {"test_accuracy": 0.91}
    assert get_preset("mlp").targets["test_accuracy"] >= 0.983


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_and_its_best_recipe_build(name):
    preset = get_preset(name)
    for recipe in (preset, best_recipe(preset)):
        model = build_model(recipe.model, np.random.default_rng(0))
        x = np.random.default_rng(1).random(
            (3, 1, 28, 28) if recipe.model.kind == "cnn" else (3, 784)
        )
        assert model.predict_proba(x.astype(np.float32)).shape == (3, 10)


def test_best_recipe_keeps_sizes_and_data_budget():
    recipe = best_recipe(get_preset("seed002"))
    assert _sizes(recipe) == [784, 1000, 10]
    assert (recipe.train.train_limit, recipe.train.test_limit) == (1000, 350)
    assert recipe.train.optimizer == "adam" and recipe.model.output == "softmax"


def test_unknown_preset():
    with pytest.raises(ConfigError, match="choose one of"):
        get_preset("resnet")


def test_presets_command_lists_every_preset_with_its_seed():
    result = run_cli("presets")
    assert result.returncode == 0
    for name in PRESETS:
        assert name in result.stdout
    assert "95.3% train, 84.57% test" in result.stdout
    listing = json.loads(run_cli("presets", "--json").stdout)
    assert listing["seed004"]["seed"] == "004" and listing["mlp"]["seed"] is None


def test_the_modern_mlps_deskew_and_the_others_do_not():
    deskewing = {name for name, preset in PRESETS.items() if preset.model.deskew}
    assert deskewing == {"mlp", "mlp-large"}
    assert get_preset("mlp-large").architecture.endswith(", deskewed")
