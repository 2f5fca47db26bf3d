"""Convolutional networks through the whole pipeline: presets, training with augmentation,
model files with BatchNorm buffers, exact resume, and the commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli

from digitnet.artifacts.model_file import load_model, save_model
from digitnet.training.checkpoint import load_checkpoint, save_checkpoint
from digitnet.training.config import ModelConfig, TrainConfig
from digitnet.training.pipeline import fit, prepare_data, random_streams

SMALL_CNN = ModelConfig(
    kind="cnn", conv_channels=(8, 16), kernel_size=3, pool_every=1, hidden=(32,)
)


def _data(dataset, train_config):
    return prepare_data(
        dataset, SMALL_CNN, train_config, random_streams(train_config.seed)["split"]
    )


@pytest.mark.slow
def test_small_cnn_learns_with_augmentation(small_mnist):
    config = TrainConfig(batch_size=32, epochs=2, validation=0, augment="shift", seed=3)
    data = _data(small_mnist, config)
    assert data.x_train.shape == (3000, 1, 28, 28)
    fitted = fit(SMALL_CNN, config, data)
    assert fitted.results["test_accuracy"] > 0.85


def test_cnn_model_file_keeps_batchnorm_buffers(small_mnist, tmp_path):
    config = TrainConfig(batch_size=64, iterations=20, validation=0, seed=1)
    fitted = fit(SMALL_CNN, config, _data(small_mnist, config))
    buffers = fitted.model.get_buffers()
    assert buffers and any(np.any(b != 0) for b in buffers.values())
    path = save_model(tmp_path / "cnn.npz", fitted.model, {})
    with np.load(path) as archive:
        assert any(key.startswith("buffer/") for key in archive.files)
    loaded = load_model(path).model
    x = small_mnist.test_images[:50].reshape(50, 1, 28, 28).astype(np.float32) / 255
    np.testing.assert_array_equal(loaded.predict_proba(x), fitted.model.predict_proba(x))


def test_cnn_with_augmentation_resumes_bit_for_bit(small_mnist, tmp_path):
    config = TrainConfig(
        batch_size=64, iterations=30, validation=200, seed=4, augment="elastic", log_every=5
    )
    data = _data(small_mnist, config)
    whole = fit(SMALL_CNN, config, data)
    calls = iter(range(10**6))
    first = fit(SMALL_CNN, config, data, should_stop=lambda: next(calls) == 12)
    assert first.result.stop_reason == "interrupted"
    path = save_checkpoint(
        tmp_path / "c.npz",
        first.trainer,
        first.result.state,
        {
            "model_config": {
                "kind": "cnn",
                "conv_channels": [8, 16],
                "pool_every": 1,
                "hidden": [32],
            },
            "train_config": {
                "batch_size": 64,
                "iterations": 30,
                "validation": 200,
                "seed": 4,
                "augment": "elastic",
                "log_every": 5,
            },
        },
    )
    checkpoint = load_checkpoint(path)
    resumed = fit(
        SMALL_CNN,
        config,
        data,
        model=checkpoint.model,
        state=checkpoint.state,
        optimizer_state=checkpoint.optimizer_state,
        rng_states=checkpoint.rng_states,
    )
    for name, value in whole.model.get_state().items():
        np.testing.assert_array_equal(value, resumed.model.get_state()[name])


@pytest.mark.slow
def test_cnn_through_the_commands(tmp_path):
    out = tmp_path / "cnn.npz"
    args = "--preset cnn --conv 16,32 --hidden 64 --train-limit 4000 --test-limit 500 "
    args += "--validation 0 --epochs 2 --augment none --batch-size 32 --no-plot --json"
    result = run_cli("train", *args.split(), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["test_accuracy"] > 0.8
    evaluated = run_cli("evaluate", str(out), "--limit", "300", "--json")
    assert json.loads(evaluated.stdout)["n"] == 300
    shown = run_cli("show", str(out), "--index", "1", "--json", "--no-plot")
    assert json.loads(shown.stdout)["label"] == 2
    plotted = run_cli(
        "plot", str(out), "--kind", "weights", "confusion", "--out-dir", str(tmp_path)
    )
    assert plotted.returncode == 0, plotted.stderr
    assert (tmp_path / "cnn.weights.png").exists()


def test_conv_options_need_a_cnn_preset():
    assert_one_line_error(run_cli("train", "--conv", "8,16"), "need a CNN preset")
