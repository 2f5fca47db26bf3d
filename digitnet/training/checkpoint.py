"""Checkpoints: a model file plus everything needed to continue training bit for bit.

A checkpoint is an ordinary model file (digitnet.artifacts.model_file) whose header also
holds a "checkpoint" object (step, epoch, position in the epoch, generator states, history,
data options) and whose optim/ and extra/ arrays hold the optimiser state and the best
weights so far.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitnet.artifacts.model_file import load_model, save_model
from digitnet.errors import ConfigError, ModelFileError
from digitnet.nn.model import Sequential
from digitnet.training.config import ModelConfig, TrainConfig, from_dict
from digitnet.training.trainer import History, Trainer, TrainState

BEST_PREFIX = "best."
CHECKPOINT_SUFFIX = ".ckpt.npz"


@dataclass
class Checkpoint:
    model: Sequential
    meta: dict
    model_config: ModelConfig
    train_config: TrainConfig
    state: TrainState
    optimizer_state: dict[str, np.ndarray]
    rng_states: dict
    path: Path | None = None  # the file it was read from


def generator_states(trainer: Trainer) -> dict:
    """The state of every random generator training draws from, JSON-able."""
    states = {name: g.bit_generator.state for name, g in trainer.streams.items()}
    states["layers"] = [layer.rng.bit_generator.state for layer in _layers_with_rng(trainer.model)]
    return states


def restore_layer_generators(model: Sequential, rng_states: dict) -> None:
    """Put dropout (and other per-layer) generators back where the checkpoint left them."""
    layers = _layers_with_rng(model)
    states = rng_states.get("layers", [])
    if len(states) != len(layers):
        raise ModelFileError("checkpoint: the random-generator states do not match the layers")
    for layer, state in zip(layers, states, strict=True):
        layer.rng.bit_generator.state = state


def _layers_with_rng(model: Sequential) -> list:
    return [
        layer
        for layer in model.layers
        if isinstance(getattr(layer, "rng", None), np.random.Generator)
    ]


def save_checkpoint(
    path: str | os.PathLike[str], trainer: Trainer, state: TrainState, meta: dict
) -> Path:
    """Write model, optimiser state, best weights and training position atomically."""
    header = {
        **meta,
        "checkpoint": {
            "step": state.step,
            "epoch": state.epoch,
            "position": state.position,
            "shuffle_state": state.shuffle_state,
            "best_val_loss": state.best_val_loss,
            "best_epoch": state.best_epoch,
            "epochs_without_improvement": state.epochs_without_improvement,
            "history": state.history.to_dict(),
            "rng_states": generator_states(trainer),
        },
    }
    best = {f"{BEST_PREFIX}{k}": v for k, v in (state.best_weights or {}).items()}
    return save_model(path, trainer.model, header, optim=trainer.optimizer.state_dict(), extra=best)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by save_checkpoint; ModelFileError if it is not one."""
    loaded = load_model(path)
    info = loaded.meta.get("checkpoint")
    if not isinstance(info, dict):
        raise ModelFileError(f"{path}: a finished model, not a checkpoint (nothing to resume)")
    try:
        model_config = from_dict(ModelConfig, loaded.meta["model_config"])
        train_config = from_dict(TrainConfig, loaded.meta["train_config"])
        best = {
            k.removeprefix(BEST_PREFIX): v
            for k, v in loaded.extra.items()
            if k.startswith(BEST_PREFIX)
        }
        state = TrainState(
            step=int(info["step"]),
            epoch=int(info["epoch"]),
            position=int(info["position"]),
            shuffle_state=info["shuffle_state"],
            best_val_loss=float(info["best_val_loss"]),
            best_epoch=int(info["best_epoch"]),
            epochs_without_improvement=int(info["epochs_without_improvement"]),
            best_weights=best or None,
            history=History.from_dict(info["history"]),
        )
        rng_states = dict(info["rng_states"])
    except (KeyError, TypeError, ValueError, ConfigError) as err:
        raise ModelFileError(f"{path}: incomplete checkpoint ({err})") from None
    restore_layer_generators(loaded.model, rng_states)
    return Checkpoint(
        loaded.model,
        loaded.meta,
        model_config,
        train_config,
        state,
        loaded.optim,
        rng_states,
        Path(path),
    )


def checkpoint_path_for(out: Path) -> Path:
    """Where an interrupted run writing `out` saves its checkpoint: model.npz -> model.ckpt.npz."""
    return out.with_name(out.stem + CHECKPOINT_SUFFIX)


def model_path_of(checkpoint: Path) -> Path:
    """The model file a resumed run writes by default, beside its checkpoint: the name the
    interrupted run had (model.ckpt.npz -> model.npz), or model.npz for another name."""
    name = checkpoint.name
    if name.endswith(CHECKPOINT_SUFFIX) and len(name) > len(CHECKPOINT_SUFFIX):
        return checkpoint.with_name(name.removesuffix(CHECKPOINT_SUFFIX) + ".npz")
    return checkpoint.with_name("model.npz")
