"""The training loop: minibatches, schedules, validation, early stopping, divergence, resuming.

train() never prints: it reports through a callback and returns a TrainResult whose History
holds every step's cost and a record per epoch, so plots and reports read data, not logs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from digitnet.data.batches import batch_slices, epoch_order
from digitnet.data.preprocess import N_CLASSES, one_hot
from digitnet.nn.model import Sequential
from digitnet.nn.optim import Optimizer, optimizer_from_name
from digitnet.nn.schedules import make_schedule
from digitnet.training.config import TrainConfig

# what every epoch's record holds, in order; validation adds val_accuracy and val_loss
EPOCH_COLUMNS = ("epoch", "step", "train_loss", "learning_rate", "seconds")


@dataclass
class History:
    """step_losses[i] is the minibatch cost of step i+1; epochs holds one dict per epoch."""

    step_losses: list[float] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"step_losses": self.step_losses, "epochs": self.epochs}

    @classmethod
    def from_dict(cls, values: dict) -> History:
        return cls(list(values.get("step_losses", [])), list(values.get("epochs", [])))


@dataclass
class TrainState:
    """Where training stands, enough to continue bit for bit after an interruption."""

    step: int = 0
    epoch: int = 0  # epochs completed
    position: int = 0  # samples of the current epoch already visited
    shuffle_state: dict | None = None  # shuffle generator state at the start of this epoch
    best_val_loss: float = math.inf
    best_epoch: int = 0
    epochs_without_improvement: int = 0
    best_weights: dict[str, np.ndarray] | None = None  # weights+buffers of best_epoch
    history: History = field(default_factory=History)


@dataclass
class TrainEvent:
    """Passed to the progress callback: kind is "step", "log" (every log_every steps) or "epoch"."""

    kind: str
    step: int
    total_steps: int
    epoch: int
    loss: float
    record: dict | None = None


@dataclass
class TrainResult:
    """stop_reason: "completed", "early_stopped", "interrupted" or "diverged"."""

    history: History
    state: TrainState
    stop_reason: str
    message: str = ""


def step_budget(config: TrainConfig, n: int) -> tuple[int, int, int]:
    """(batch size, steps per epoch, steps in all) for n training images: batch_size 0 is
    the whole set, and an iteration budget replaces the epochs'."""
    batch_size = n if config.batch_size == 0 else min(config.batch_size, n)
    steps_per_epoch = math.ceil(n / batch_size)
    return batch_size, steps_per_epoch, config.iterations or config.epochs * steps_per_epoch


@dataclass
class Trainer:
    """Trains `model` on (x, labels) with the settings of `config`.

    x: (n, features) or (n, 1, 28, 28) float inputs; labels: (n,) ints in [0, n_classes),
    n_classes matching the model's outputs. val: an optional
    (x_val, labels_val) for per-epoch accuracy and early stopping. shuffle_rng draws the
    epoch orders; augment(x_batch) -> x_batch, if given, transforms each training batch.
    streams: the run's named generators, saved with a checkpoint to resume bit for bit.
    """

    model: Sequential
    config: TrainConfig
    x: np.ndarray
    labels: np.ndarray
    shuffle_rng: np.random.Generator
    val: tuple[np.ndarray, np.ndarray] | None = None
    augment: Callable[[np.ndarray], np.ndarray] | None = None
    n_classes: int = N_CLASSES
    # every generator the run draws from, by name (pipeline.STREAMS): checkpoints save them
    streams: dict[str, np.random.Generator] = field(default_factory=dict)
    optimizer: Optimizer = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.x)
        self.batch_size, self.steps_per_epoch, self.total_steps = step_budget(self.config, n)
        self.schedule = make_schedule(
            self.config.schedule,
            self.config.learning_rate,
            self.total_steps,
            # a short run (a preset cut down by --epochs) keeps a proportionate warm-up
            warmup_steps=min(self.config.warmup_steps, self.total_steps // 5),
        )
        self.optimizer = optimizer_from_name(
            self.config.optimizer,
            self.model.named_params(),
            **self._optimizer_kwargs(),
        )
        self.full_batch = self.batch_size >= n
        # every target row once (n x 10 floats): a batch gathers its rows, as it does its images
        self.y = one_hot(self.labels, self.n_classes, dtype=self.x.dtype.type)

    def _optimizer_kwargs(self) -> dict:
        kwargs: dict = {"learning_rate": self.config.learning_rate}
        if self.config.weight_decay:
            kwargs["weight_decay"] = self.config.weight_decay
        if self.config.optimizer in ("momentum", "nesterov"):
            kwargs["momentum"] = self.config.momentum
        return kwargs

    def run(
        self,
        state: TrainState | None = None,
        *,
        on_event: Callable[[TrainEvent], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainResult:
        """Train until the budget is spent, early stopping, divergence or should_stop()."""
        state = state or TrainState()
        notify = on_event or (lambda event: None)
        stop_requested = should_stop or (lambda: False)
        good_weights = self.model.get_state()
        good_step = state.step
        x, start = self._inputs()
        val = None if self.val is None else (self.model.preprocess(self.val[0]), self.val[1])
        while state.step < self.total_steps:
            if state.position == 0:
                state.shuffle_state = self.shuffle_rng.bit_generator.state
            else:  # resuming mid-epoch: draw the same order again
                self.shuffle_rng.bit_generator.state = state.shuffle_state
            order = None if self.full_batch else epoch_order(len(self.x), self.shuffle_rng)
            epoch_start = time.perf_counter()
            epoch_losses: list[float] = []
            for positions in batch_slices(len(self.x), self.batch_size, start=state.position):
                if stop_requested():
                    return TrainResult(state.history, state, "interrupted")
                x_batch, y_batch = self._batch(x, order, positions)
                self.optimizer.learning_rate = self.schedule(state.step)
                loss = self._step(x_batch, y_batch, start)
                if not math.isfinite(loss):
                    self.model.set_state(good_weights)
                    message = (
                        f"the cost became {loss} at step {state.step + 1}: training diverged; "
                        f"kept the weights of step {good_step}. Try a lower learning rate "
                        f"(now {self.config.learning_rate:g}) or --clip-norm"
                    )
                    return TrainResult(state.history, state, "diverged", message)
                state.step += 1
                state.position = positions.stop
                state.history.step_losses.append(loss)
                epoch_losses.append(loss)
                notify(TrainEvent("step", state.step, self.total_steps, state.epoch, loss))
                if state.step % self.config.log_every == 0:
                    good_weights, good_step = self.model.get_state(), state.step
                    recent = float(np.mean(state.history.step_losses[-self.config.log_every :]))
                    notify(TrainEvent("log", state.step, self.total_steps, state.epoch, recent))
                if state.step >= self.total_steps:
                    break
            if state.position >= len(self.x):
                state.epoch += 1
                state.position = 0
                seconds = time.perf_counter() - epoch_start
                record = self._end_epoch(state, epoch_losses, seconds, val, start)
                good_weights, good_step = self.model.get_state(), state.step
                loss = record["train_loss"]
                notify(TrainEvent("epoch", state.step, self.total_steps, state.epoch, loss, record))
                if self._patience_exhausted(state):
                    self._restore_best(state)
                    return TrainResult(state.history, state, "early_stopped")
        self._restore_best(state)
        return TrainResult(state.history, state, "completed")

    def _step(self, x_batch: np.ndarray, y_batch: np.ndarray, start: int) -> float:
        """One train_step; overflow is not warned about, as divergence is checked after it."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.model.train_step(
                x_batch, y_batch, self.optimizer, clip_norm=self.config.clip_norm, start=start
            )

    def _restore_best(self, state: TrainState) -> None:
        """With early stopping on, finish with the weights of the best validation epoch."""
        if self.config.patience is not None and state.best_weights is not None:
            self.model.set_state(state.best_weights)

    def _inputs(self) -> tuple[np.ndarray, int]:
        """The training inputs and the layer training starts at: the model's fixed
        preprocessing (Deskew) runs once over the training set, not every batch; any
        augmentation then distorts the preprocessed images."""
        start = self.model.fixed_prefix
        return (self.model.preprocess(self.x) if start else self.x), start

    def _batch(
        self, x: np.ndarray, order: np.ndarray | None, positions: slice
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.full_batch:
            x_batch, y_batch = x, self.y
        else:
            assert order is not None
            indices = order[positions]
            x_batch, y_batch = x[indices], self.y[indices]
        if self.augment is not None:
            x_batch = self.augment(x_batch)
        return x_batch, y_batch

    def _end_epoch(
        self,
        state: TrainState,
        losses: list[float],
        seconds: float,
        val: tuple[np.ndarray, np.ndarray] | None,
        start: int,
    ) -> dict:
        """The epoch's record; val holds the validation inputs already preprocessed up to
        layer `start`, so the network runs over them once."""
        values = (
            state.epoch,
            state.step,
            float(np.mean(losses)) if losses else math.nan,
            float(self.optimizer.learning_rate),
            round(seconds, 4),
        )
        record: dict = dict(zip(EPOCH_COLUMNS, values, strict=True))
        if val is not None and len(val[0]):
            x_val, labels_val = val
            outputs = self.model.outputs(x_val, start=start)
            probs = self.model.loss.probabilities(outputs)
            record["val_accuracy"] = float(np.mean(probs.argmax(axis=1) == labels_val))
            record["val_loss"] = self.model.loss.value(
                outputs, one_hot(labels_val, self.n_classes, dtype=outputs.dtype.type)
            )
        state.history.epochs.append(record)
        return record

    def _patience_exhausted(self, state: TrainState) -> bool:
        """Track the best validation loss; keep its weights; True when patience runs out."""
        val_loss = state.history.epochs[-1].get("val_loss")
        if self.config.patience is None or val_loss is None:
            return False
        if val_loss < state.best_val_loss:
            state.best_val_loss, state.best_epoch = val_loss, state.epoch
            state.epochs_without_improvement = 0
            state.best_weights = self.model.get_state()
            return False
        state.epochs_without_improvement += 1
        return state.epochs_without_improvement >= self.config.patience
