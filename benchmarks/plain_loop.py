"""digitnet's training step raced against the plainest NumPy loop (and PyTorch), on the
workloads where the fixed cost per step shows: seed000's one sample per step, seed003's full
batch, and small and large minibatch MLPs.

The plain loop is the textbook one (plain_mlp.py): forward, backward and update written out,
float32, nothing fused or preallocated. All train the same network from the same weights on
the same sample order, step for step the same computation (tests/test_benchmark_references.py);
over thousands of float32 steps their roundings let the runs drift apart, so the final costs
they report agree only roughly.

    python benchmarks/plain_loop.py            # median of 3 repeats; writes results/plain_loop.*
    python benchmarks/plain_loop.py --quick    # fewer steps, for a look

speed.py runs the per-sample and full-batch workloads in its own run, beside PyTorch. Run it
alone: on 2 cores anything beside it distorts the times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402
from plain_mlp import PlainMLP  # noqa: E402

from digitnet.data.datasets import load_mnist  # noqa: E402
from digitnet.data.preprocess import one_hot, to_inputs  # noqa: E402
from digitnet.nn import build_mlp, optimizer_from_name  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Workload:
    name: str
    sizes: tuple[int, ...]
    activation: str  # hidden layers
    output: str  # "softmax" (cross-entropy) or "sigmoid" (quadratic cost)
    optimizer: str  # "sgd" or "momentum"
    learning_rate: float
    batch: int
    steps: int


SEED000 = Workload(
    "seed000: 784-16-16-10 sigmoid, per sample",
    (784, 16, 16, 10),
    "sigmoid",
    "sigmoid",
    "sgd",
    0.9,
    1,
    10_000,
)
SEED003 = Workload(
    "seed003: 784-10-10 ReLU, full batch", (784, 10, 10), "relu", "softmax", "sgd", 0.1, 60_000, 20
)
WORKLOADS = (
    SEED000,
    SEED003,
    Workload("784-128-10 ReLU, batch 128, momentum", (784, 128, 10), "relu", "softmax",
             "momentum", 0.01, 128, 469),
    Workload("784-800-10 ReLU, batch 128, momentum", (784, 800, 10), "relu", "softmax",
             "momentum", 0.01, 128, 200),
)  # fmt: skip


def digitnet_model(work: Workload, seed: int):
    model = build_mlp(
        work.sizes,
        activation=work.activation,
        output=work.output,
        init="uniform" if work.output == "sigmoid" else "he_normal",
        rng=np.random.default_rng(seed),
    )
    kwargs = {"momentum": 0.9} if work.optimizer == "momentum" else {}
    optimizer = optimizer_from_name(
        work.optimizer, model.named_params(), learning_rate=work.learning_rate, **kwargs
    )
    return model, optimizer


def run_digitnet(work: Workload, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """Seconds for work.steps train_steps, and the mean cost of the last tenth of them."""
    model, optimizer = digitnet_model(work, seed)
    costs = []
    started = time.perf_counter()
    for step in range(work.steps):
        at = (step * work.batch) % (len(x) - work.batch + 1)
        costs.append(model.train_step(x[at : at + work.batch], y[at : at + work.batch], optimizer))
    return time.perf_counter() - started, float(np.mean(costs[-len(costs) // 10 :]))


def run_plain(work: Workload, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """The textbook loop on the same initial weights (taken from digitnet's model)."""
    model, _ = digitnet_model(work, seed)
    plain = PlainMLP(model, work.activation, work.output, work.learning_rate,
                     momentum=work.optimizer == "momentum")  # fmt: skip
    costs = []
    started = time.perf_counter()
    for step in range(work.steps):
        at = (step * work.batch) % (len(x) - work.batch + 1)
        costs.append(plain.step(x[at : at + work.batch], y[at : at + work.batch]))
    return time.perf_counter() - started, float(np.mean(costs[-len(costs) // 10 :]))


def run_torch(work: Workload, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """PyTorch (CPU) on the same initial weights, one optimiser step per batch."""
    import torch

    model, _ = digitnet_model(work, seed)
    dense = [layer for layer in model.layers if layer.params]
    linears = [torch.nn.Linear(*layer.params["W"].shape) for layer in dense]
    with torch.no_grad():
        for linear, layer in zip(linears, dense, strict=True):
            linear.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.params["b"]))
    hidden = torch.sigmoid if work.activation == "sigmoid" else torch.relu
    momentum = 0.9 if work.optimizer == "momentum" else 0.0
    params = [p for linear in linears for p in linear.parameters()]
    optimizer = torch.optim.SGD(params, lr=work.learning_rate, momentum=momentum)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    labels = y_t.argmax(dim=1)
    costs = []
    started = time.perf_counter()
    for step in range(work.steps):
        at = (step * work.batch) % (len(x) - work.batch + 1)
        out = x_t[at : at + work.batch]
        for linear in linears[:-1]:
            out = hidden(linear(out))
        out = linears[-1](out)
        if work.output == "sigmoid":  # quadratic cost, as digitnet's mse
            cost = 0.5 * ((torch.sigmoid(out) - y_t[at : at + work.batch]) ** 2).sum() / len(out)
        else:
            cost = torch.nn.functional.cross_entropy(out, labels[at : at + work.batch])
        optimizer.zero_grad(set_to_none=True)
        cost.backward()
        optimizer.step()
        costs.append(cost.item())
    return time.perf_counter() - started, float(np.mean(costs[-len(costs) // 10 :]))


RUNNERS = {"digitnet": run_digitnet, "plain": run_plain, "PyTorch": run_torch}


def race(work: Workload, x: np.ndarray, y: np.ndarray, repeats: int,
         frameworks: tuple[str, ...] = ("digitnet", "plain")) -> dict:  # fmt: skip
    """Alternating repeats of each framework (who goes first rotating), so that drifts in the
    machine's speed hit all alike; medians of the repeats."""
    times: dict[str, list[float]] = {name: [] for name in frameworks}
    costs = {}
    for repeat in range(repeats):
        turn = frameworks[repeat % len(frameworks) :] + frameworks[: repeat % len(frameworks)]
        for name in turn:
            seconds, cost = RUNNERS[name](work, x, y, seed=0)
            times[name].append(seconds)
            costs[name] = cost
    medians = {name: statistics.median(values) for name, values in times.items()}
    row = {
        "workload": work.name,
        "steps": work.steps,
        "batch": work.batch,
        "us_per_step": {name: round(1e6 * t / work.steps, 1) for name, t in medians.items()},
        "final_cost": {name: round(cost, 5) for name, cost in costs.items()},
        "seconds": {name: [round(t, 3) for t in values] for name, values in times.items()},
    }
    others = [name for name in frameworks if name != "digitnet"]
    row["digitnet_over"] = {name: round(medians[name] / medians["digitnet"], 2) for name in others}
    return row


def markdown(rows: list[dict], machine: str, date: str) -> str:
    lines = [
        f"digitnet against the plain NumPy loop ({date}, {machine}; "
        "`python benchmarks/plain_loop.py`, median of the repeats)",
        "",
        "| workload | digitnet µs/step | plain loop µs/step | digitnet speed / plain |",
        "|---|---|---|---|",
    ]
    for row in rows:
        steps = row["us_per_step"]
        lines.append(
            f"| {row['workload']} | {steps['digitnet']} | {steps['plain']} "
            f"| {row['digitnet_over']['plain']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps, 1 repeat")
    args = parser.parse_args()
    mnist = load_mnist()
    x = to_inputs(mnist.train_images)
    y = one_hot(mnist.train_labels, dtype=np.float32)
    rows = []
    for work in WORKLOADS:
        if args.quick:
            work = replace(work, steps=max(5, work.steps // 10))
        row = race(work, x, y, 1 if args.quick else args.repeats)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.quick:
        return
    info = machine_info()
    machine = f"{info['cpu']}, {info['cores']} cores, NumPy {info['numpy']}"
    RESULTS.mkdir(exist_ok=True)
    report = {"machine": info, "rows": rows}
    (RESULTS / "plain_loop.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "plain_loop.md").write_text(markdown(rows, machine, info["date"]))
    print(markdown(rows, machine, info["date"]))


if __name__ == "__main__":
    main()
