"""Time to a test accuracy: digitnet's default `mlp` preset against the same recipe in PyTorch.

Both start from the same initial weights (digitnet's, copied), see the same 55,000 training
images in the same order, and use Adam with the same warm-up + cosine learning rate per step.
digitnet trains through its own Trainer (what `digitnet train` runs); PyTorch through the
usual zero_grad/backward/step loop. After each epoch the clock stops while the test accuracy
is measured.

The preset's network starts with a Deskew layer, which PyTorch does not have: the race
deskews the training and test images once, before either clock starts, and gives both
frameworks the preset's network without that layer, so that it times the two training
engines on identical inputs and networks (digitnet's own trainer would deskew once too).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from digitnet.data.batches import epoch_order
from digitnet.nn.deskew import Deskew
from digitnet.nn.schedules import make_schedule
from digitnet.training.build import build_model
from digitnet.training.pipeline import prepare_data, random_streams
from digitnet.training.presets import get_preset
from digitnet.training.trainer import Trainer


def _accuracy(predict, x: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predict(x).argmax(axis=1) == labels))


def _digitnet(data, preset, streams, target: float, max_epochs: int) -> tuple[dict, object]:
    model = build_model(preset.model, streams["init"])
    config = preset.train
    trainer = Trainer(model, config, data.x_train, data.labels_train, streams["shuffle"])
    epochs: list[dict] = []
    clock = {"start": time.perf_counter(), "paused": 0.0, "done": False}

    def on_event(event) -> None:
        if event.kind != "epoch":
            return
        paused_at = time.perf_counter()
        accuracy = _accuracy(model.predict_proba, data.x_test, data.labels_test)
        trained = paused_at - clock["start"] - clock["paused"]
        epochs.append({"epoch": event.epoch, "seconds": round(trained, 3), "accuracy": accuracy})
        clock["done"] = accuracy >= target or event.epoch >= max_epochs
        clock["paused"] += time.perf_counter() - paused_at

    trainer.run(on_event=on_event, should_stop=lambda: clock["done"])
    return _result(epochs, target), model.predict_proba


def _torch(data, preset, initial: dict, shuffle, target: float, max_epochs: int):
    import torch

    sizes = [784, *preset.model.hidden, 10]
    layers: list = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = torch.nn.Linear(a, b)
        with torch.no_grad():  # digitnet keeps W as (fan_in, fan_out); torch as (out, in)
            linear.weight.copy_(torch.from_numpy(initial[f"{2 * i}.W"].T.copy()))
            linear.bias.copy_(torch.from_numpy(initial[f"{2 * i}.b"]))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    config = preset.train
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    steps_per_epoch = -(-len(data.x_train) // config.batch_size)
    total = config.epochs * steps_per_epoch
    schedule = make_schedule(
        config.schedule, config.learning_rate, total, warmup_steps=config.warmup_steps
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    x_all = torch.from_numpy(data.x_train)
    labels_all = torch.from_numpy(data.labels_train.astype(np.int64))

    def predict(inputs: np.ndarray) -> np.ndarray:
        model.eval()
        with torch.inference_mode():
            return torch.softmax(model(torch.from_numpy(inputs)), dim=1).numpy()

    epochs: list[dict] = []
    trained, step = 0.0, 0
    for epoch in range(1, min(config.epochs, max_epochs) + 1):
        started = time.perf_counter()
        model.train()
        order = torch.from_numpy(epoch_order(len(data.x_train), shuffle))
        for begin in range(0, len(order), config.batch_size):
            indices = order[begin : begin + config.batch_size]
            for group in optimizer.param_groups:
                group["lr"] = schedule(step)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x_all[indices]), labels_all[indices]).backward()
            optimizer.step()
            step += 1
        trained += time.perf_counter() - started
        accuracy = _accuracy(predict, data.x_test, data.labels_test)
        epochs.append({"epoch": epoch, "seconds": round(trained, 3), "accuracy": accuracy})
        if accuracy >= target:
            break
    return _result(epochs, target), predict


def _result(epochs: list[dict], target: float) -> dict:
    reached = next((e for e in epochs if e["accuracy"] >= target), None)
    return {
        "seconds_to_target": reached["seconds"] if reached else None,
        "epochs_to_target": reached["epoch"] if reached else None,
        "epochs": epochs,
    }


def race_to_accuracy(mnist, *, target: float, max_epochs: int) -> dict:
    """{"target", "digitnet": {...}, "PyTorch": {...}, "predictors": {framework: predict}}."""
    preset = get_preset("mlp")
    streams = random_streams(preset.train.seed)
    data = prepare_data(mnist, preset.model, preset.train, streams["split"])
    if preset.model.deskew:  # the same straightened images for both frameworks
        preset = dataclasses.replace(preset, model=dataclasses.replace(preset.model, deskew=False))
        straighten = Deskew().forward
        data = dataclasses.replace(
            data, x_train=straighten(data.x_train), x_test=straighten(data.x_test)
        )
    initial = build_model(preset.model, random_streams(preset.train.seed)["init"]).get_weights()
    torch_shuffle = random_streams(preset.train.seed)["shuffle"]  # the same orders as digitnet
    ours, ours_predict = _digitnet(data, preset, streams, target, max_epochs)
    theirs, theirs_predict = _torch(data, preset, initial, torch_shuffle, target, max_epochs)
    return {
        "target": target,
        "preset": "mlp",
        "digitnet": ours,
        "PyTorch": theirs,
        "predictors": {"digitnet": ours_predict, "PyTorch": theirs_predict},
    }
