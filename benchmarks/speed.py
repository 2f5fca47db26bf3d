"""digitnet against PyTorch on the CPU, side by side in one run: the same networks, the same
batches, the same optimiser, timed alternately so both see the same machine state.

    pip install torch==2.13.0          # the CPU build (a plain `pip install torch` pulls CUDA)
    python benchmarks/speed.py [--steps 300] [--repeats 3]

Reports training steps per second (forward + backward + Adam update, batch 128) and inference
images per second, as ratios digitnet / PyTorch (> 1: digitnet is faster). Run it alone.
Writes benchmarks/results/speed.json and speed.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402

from digitnet.data.datasets import load_mnist  # noqa: E402
from digitnet.data.preprocess import one_hot, to_inputs  # noqa: E402
from digitnet.nn.model import build_mlp  # noqa: E402
from digitnet.nn.optim import Adam  # noqa: E402

BATCH = 128


def digitnet_mlp(sizes):
    model = build_mlp(sizes, activation="relu", rng=np.random.default_rng(0))
    optimizer = Adam(model.named_params(), learning_rate=1e-3)

    def step(x, y):
        model.train_step(x, y, optimizer)

    return model, step


def torch_mlp(sizes):
    import torch

    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, labels):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), labels)
        loss.backward()
        optimizer.step()

    return model, step


def digitnet_cnn():
    from digitnet.nn.cnn import build_cnn

    model = build_cnn((32, 32, 64, 64), (128,), rng=np.random.default_rng(0))
    optimizer = Adam(model.named_params(), learning_rate=1e-3)
    return model, lambda x, y: model.train_step(x, y, optimizer)


def torch_cnn():
    import torch
    from torch import nn

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

    model = nn.Sequential(
        *block(1, 32), *block(32, 32), nn.MaxPool2d(2),
        *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, labels):
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), labels).backward()
        optimizer.step()

    return model, step


def time_training(step, batches, steps):
    started = time.perf_counter()
    for i in range(steps):
        step(*batches[i % len(batches)])
    return steps / (time.perf_counter() - started)


def time_inference(predict, x, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        predict(x)
        best = min(best, time.perf_counter() - started)
    return len(x) / best


def compare(name, ours, theirs, x, labels, steps, repeats):
    import torch

    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))[: BATCH * 50]
    ours_batches = [
        (x[order[i : i + BATCH]], one_hot(labels[order[i : i + BATCH]]))
        for i in range(0, len(order), BATCH)
    ]
    theirs_batches = [
        (
            torch.from_numpy(bx),
            torch.from_numpy(labels[order[i * BATCH : (i + 1) * BATCH]].astype(np.int64)),
        )
        for i, (bx, _) in enumerate(ours_batches)
    ]
    our_model, our_step = ours
    their_model, their_step = theirs
    time_training(our_step, ours_batches, 10)  # warm up both
    time_training(their_step, theirs_batches, 10)
    ours_rates, theirs_rates = [], []
    for _ in range(repeats):  # alternate, so both see the same machine state
        ours_rates.append(time_training(our_step, ours_batches, steps))
        theirs_rates.append(time_training(their_step, theirs_batches, steps))
    their_model.eval()
    x_test = x[:10000]
    ours_infer = time_inference(our_model.predict_proba, x_test)
    with torch.inference_mode():
        x_torch = torch.from_numpy(x_test)
        theirs_infer = time_inference(lambda data: torch.softmax(their_model(data), 1), x_torch)
    row = {
        "network": name,
        "digitnet_steps_per_s": round(float(np.median(ours_rates)), 1),
        "torch_steps_per_s": round(float(np.median(theirs_rates)), 1),
        "digitnet_inference_per_s": round(ours_infer),
        "torch_inference_per_s": round(theirs_infer),
    }
    row["training_ratio"] = round(row["digitnet_steps_per_s"] / row["torch_steps_per_s"], 2)
    row["inference_ratio"] = round(ours_infer / theirs_infer, 2)
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps per timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-cnn", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    mnist = load_mnist()
    flat = to_inputs(mnist.train_images)
    labels = mnist.train_labels
    rows = []
    for sizes in [(784, 512, 256, 10), (784, 1024, 1024, 10), (784, 100, 10)]:
        name = "MLP " + "-".join(map(str, sizes))
        rows.append(
            compare(
                name, digitnet_mlp(sizes), torch_mlp(sizes), flat, labels, args.steps, args.repeats
            )
        )
    if not args.skip_cnn:
        images = to_inputs(mnist.train_images, layout="image")
        rows.append(
            compare(
                "CNN 32-32-pool-64-64-pool-128 (BatchNorm)",
                digitnet_cnn(),
                torch_cnn(),
                images,
                labels,
                max(20, args.steps // 10),
                args.repeats,
            )
        )
    machine = {
        **machine_info(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    lines = [
        f"Measured {machine['date']} on {machine['cpu']} ({machine['cores']} cores), NumPy "
        f"{machine['numpy']}, PyTorch {machine['torch']} "
        f"(CPU, {machine['torch_threads']} threads), "
        "by `python benchmarks/speed.py`. Batch 128, Adam; ratio > 1 means digitnet is faster.",
        "",
        "| network | digitnet steps/s | PyTorch steps/s | ratio | digitnet images/s (inference) "
        "| PyTorch images/s | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['network']} | {row['digitnet_steps_per_s']} | {row['torch_steps_per_s']} "
            f"| {row['training_ratio']} | {row['digitnet_inference_per_s']} "
            f"| {row['torch_inference_per_s']} | {row['inference_ratio']} |"
        )
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "speed.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
    (results / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
