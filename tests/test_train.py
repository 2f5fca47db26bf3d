"""The trainer on real MNIST subsets: it learns, is reproducible, stops early, survives
divergence, and resumes bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.training.build import build_model
from digitnet.training.checkpoint import load_checkpoint, save_checkpoint
from digitnet.training.config import ModelConfig, TrainConfig
from digitnet.training.pipeline import fit, prepare_data, random_streams
from digitnet.training.trainer import Trainer


def _fit(dataset, model_config=None, **train_changes):
    model_config = model_config or ModelConfig(hidden=(64,))
    settings = dict(batch_size=32, epochs=3, validation=500, seed=1, log_every=10)
    train_config = TrainConfig(**{**settings, **train_changes})
    data = prepare_data(
        dataset, model_config, train_config, random_streams(train_config.seed)["split"]
    )
    return fit(model_config, train_config, data), data


def test_mlp_learns_mnist_in_seconds(small_mnist):
    fitted, _ = _fit(small_mnist, epochs=5)
    assert fitted.result.stop_reason == "completed"
    assert fitted.results["test_accuracy"] > 0.88
    assert fitted.results["train_accuracy"] > 0.93
    losses = fitted.result.history.step_losses
    assert len(losses) == 5 * 79  # ceil(2500 / 32) steps per epoch
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    epochs = fitted.result.history.epochs
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5]
    assert all(0.8 < e["val_accuracy"] <= 1 for e in epochs[1:])


def test_seed_003_style_full_batch_descent_learns(small_mnist):
    model_config = ModelConfig(hidden=(10,), init="uniform")
    fitted, _ = _fit(
        small_mnist,
        model_config,
        optimizer="sgd",
        learning_rate=0.5,
        batch_size=0,
        iterations=150,
        validation=0,
    )
    assert len(fitted.result.history.step_losses) == 150
    assert fitted.results["train_accuracy"] > 0.75


def test_sigmoid_quadratic_cost_per_sample_descent_learns(small_mnist):
    model_config = ModelConfig(
        hidden=(16, 16), activation="sigmoid", output="sigmoid", init="uniform"
    )
    fitted, _ = _fit(
        small_mnist,
        model_config,
        optimizer="sgd",
        learning_rate=0.9,
        batch_size=1,
        iterations=2500,
        validation=0,
    )
    assert fitted.results["test_accuracy"] > 0.6


def test_same_seed_gives_bit_identical_weights(small_mnist):
    first, _ = _fit(small_mnist, epochs=1)
    second, _ = _fit(small_mnist, epochs=1)
    other, _ = _fit(small_mnist, epochs=1, seed=2)
    for name, value in first.model.get_weights().items():
        np.testing.assert_array_equal(value, second.model.get_weights()[name])
    assert not np.array_equal(first.model.get_weights()["0.W"], other.model.get_weights()["0.W"])


def test_early_stopping_keeps_the_best_weights(small_mnist):
    model_config = ModelConfig(hidden=(256,))
    fitted, data = _fit(
        small_mnist, model_config, learning_rate=3e-3, epochs=40, patience=2, validation=1000
    )
    state = fitted.result.state
    assert fitted.result.stop_reason == "early_stopped"
    assert state.epoch == state.best_epoch + 2 < 40
    best = min(e["val_loss"] for e in fitted.result.history.epochs)
    assert state.best_val_loss == best
    assert fitted.results["val_loss"] == pytest.approx(best, rel=1e-5)


def test_divergence_stops_with_a_message_and_keeps_finite_weights(small_mnist):
    model_config = ModelConfig(hidden=(64,), activation="leaky_relu")
    fitted, _ = _fit(small_mnist, model_config, optimizer="sgd", learning_rate=100.0, epochs=2)
    assert fitted.result.stop_reason == "diverged"
    assert "lower learning rate" in fitted.result.message
    assert all(np.isfinite(w).all() for w in fitted.model.get_weights().values())


def test_interrupted_training_resumes_bit_for_bit(small_mnist, tmp_path):
    model_config = ModelConfig(hidden=(32,), dropout=0.2)
    settings = dict(batch_size=64, epochs=3, validation=300, seed=5, patience=5)
    train_config = TrainConfig(**settings)
    data = prepare_data(small_mnist, model_config, train_config, random_streams(5)["split"])
    uninterrupted = fit(model_config, train_config, data)

    calls = iter(range(10**9))
    first = fit(model_config, train_config, data, should_stop=lambda: next(calls) == 60)
    assert first.result.stop_reason == "interrupted" and first.result.state.step == 60
    path = save_checkpoint(
        tmp_path / "c.npz",
        first.trainer,
        first.result.state,
        {"model_config": {"hidden": [32], "dropout": 0.2}, "train_config": settings},
    )
    checkpoint = load_checkpoint(path)
    resumed = fit(
        model_config,
        train_config,
        data,
        model=checkpoint.model,
        state=checkpoint.state,
        optimizer_state=checkpoint.optimizer_state,
        rng_states=checkpoint.rng_states,
    )
    assert resumed.result.stop_reason == "completed"
    for name, value in uninterrupted.model.get_weights().items():
        np.testing.assert_array_equal(value, resumed.model.get_weights()[name])
    assert resumed.result.history.step_losses == uninterrupted.result.history.step_losses


@pytest.mark.parametrize("model_config", [ModelConfig(hidden=(16,)), ModelConfig(hidden=())])
def test_trainer_learns_any_number_of_features_and_classes(model_config):
    """Not only 784 pixels and 10 digits: 5 features, 3 linearly separable classes."""
    rng = np.random.default_rng(0)
    centres = np.array([[3, 0, 0, 0, 0], [0, 3, 0, 0, 0], [0, 0, 3, 0, 0]], np.float32)
    labels = rng.integers(0, 3, 300)
    x = (centres[labels] + rng.normal(size=(300, 5))).astype(np.float32)
    model = build_model(model_config, rng, n_inputs=5, n_classes=3)
    config = TrainConfig(batch_size=32, epochs=20, learning_rate=1e-2, validation=0)
    trainer = Trainer(model, config, x, labels, rng, val=(x[:50], labels[:50]), n_classes=3)
    result = trainer.run()
    assert result.stop_reason == "completed"
    assert model.predict_proba(x).shape == (300, 3)
    assert np.mean(model.predict(x) == labels) > 0.9
    assert 0.9 < result.history.epochs[-1]["val_accuracy"] <= 1
