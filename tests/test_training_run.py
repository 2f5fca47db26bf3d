"""train_run, the one entry point of a training run: files written, an interrupted run saved
as a checkpoint and resumed bit for bit, and a resume on other data refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from digitnet.artifacts.model_file import load_model
from digitnet.data.datasets import Dataset
from digitnet.errors import ConfigError
from digitnet.training.checkpoint import load_checkpoint
from digitnet.training.config import ModelConfig, TrainConfig
from digitnet.training.run import RunPlan, train_run

MODEL = ModelConfig(hidden=(16,), activation="relu", init="he_normal")
TRAIN = TrainConfig(optimizer="adam", learning_rate=1e-2, batch_size=50, epochs=2, seed=3)


def test_a_run_writes_the_model_its_history_and_announces_its_plan(small_mnist, tmp_path):
    plans: list[RunPlan] = []
    outcome = train_run(
        MODEL, TRAIN, small_mnist, preset="mine", out=tmp_path / "m.npz", on_start=plans.append
    )
    assert [p.name for p in outcome.files] == ["m.npz", "m.history.json", "m.history.csv",
                                               "m.cost.png"]  # fmt: skip
    assert all(path.is_file() for path in outcome.files)
    (plan,) = plans
    assert plan.preset == "mine" and plan.steps_per_epoch == -(-len(plan.data.x_train) // 50)
    assert plan.total_steps == 2 * plan.steps_per_epoch == len(outcome.result.history.step_losses)
    saved = load_model(tmp_path / "m.npz")
    assert saved.meta["preset"] == "mine" and saved.meta["results"] == outcome.results
    assert outcome.results["test_accuracy"] > 0.8


def test_interrupted_run_resumes_to_the_same_weights(small_mnist, tmp_path):
    whole = train_run(MODEL, TRAIN, small_mnist)
    steps = iter(range(10**6))
    outcome = train_run(
        MODEL, TRAIN, small_mnist, out=tmp_path / "m.npz", should_stop=lambda: next(steps) >= 7
    )
    assert outcome.result.stop_reason == "interrupted" and outcome.files == []
    assert outcome.checkpoint == tmp_path / "m.ckpt.npz" and not (tmp_path / "m.npz").exists()
    checkpoint = load_checkpoint(outcome.checkpoint)
    resumed = train_run(MODEL, TRAIN, small_mnist, resume=checkpoint, out=tmp_path / "m.npz")
    assert resumed.removed_checkpoint == outcome.checkpoint and not outcome.checkpoint.exists()
    expected, got = whole.model.get_weights(), resumed.model.get_weights()
    assert expected.keys() == got.keys()
    for name in expected:
        np.testing.assert_array_equal(expected[name], got[name], err_msg=name)


def test_resume_on_other_data_is_refused(small_mnist, tmp_path):
    stop_now = train_run(
        MODEL, TRAIN, small_mnist, out=tmp_path / "m.npz", should_stop=lambda: True
    )
    checkpoint = load_checkpoint(stop_now.checkpoint)
    other = dataclasses.replace(small_mnist, train_images=255 - small_mnist.train_images)
    assert isinstance(other, Dataset)
    with pytest.raises(ConfigError, match="differs from what the interrupted run trained on"):
        train_run(MODEL, TRAIN, other, resume=checkpoint, out=tmp_path / "m.npz")
