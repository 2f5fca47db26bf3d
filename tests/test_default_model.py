"""The model that ships with the package: it loads, and it is good."""

from __future__ import annotations

import json

from conftest import run_cli

from digitnet.data.preprocess import to_inputs
from digitnet.predict import default_model_path, load_default_model
from digitnet.training.build import layout_of
from digitnet.training.pipeline import evaluate


def test_default_model_ships_loads_and_reaches_99_4_percent(mnist):
    assert default_model_path().exists()
    loaded = load_default_model()
    assert loaded.meta["preset"] == "cnn-best"
    assert layout_of(loaded.model) == "image"
    inputs = to_inputs(mnist.test_images, layout="image")
    report = evaluate(loaded.model, inputs, mnist.test_labels)
    assert report["accuracy"] >= 0.994


def test_commands_use_the_default_model_without_a_model_argument(tmp_path):
    result = run_cli("show", "--index", "0", "--json", "--no-plot")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["digit"] == shown["label"] == 7
