"""digitnet's training step raced against the plainest NumPy loop, on small networks.

The plain loop is the textbook one: forward, backward and update written out for an MLP, in
float32, nothing fused or preallocated. It is the reference for digitnet's fixed cost per step
(checks, dispatch, calls), which dominates where the arrays are small. Both train the same
network from the same weights on the same sample order, and must end at the same cost.

    python benchmarks/plain_loop.py            # median of 3 repeats; writes results/plain_loop.*
    python benchmarks/plain_loop.py --quick    # fewer steps, for a look

Run it alone: on 2 cores anything beside it distorts the times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402

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


WORKLOADS = (
    Workload("seed000: 784-16-16-10 sigmoid, per sample", (784, 16, 16, 10), "sigmoid",
             "sigmoid", "sgd", 0.9, 1, 20_000),
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


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def run_plain(work: Workload, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """The textbook loop on the same initial weights (taken from digitnet's model)."""
    model, _ = digitnet_model(work, seed)
    dense = [layer for layer in model.layers if layer.params]
    W = [layer.params["W"].copy() for layer in dense]
    b = [layer.params["b"].copy() for layer in dense]
    vW = [np.zeros_like(w) for w in W]
    vb = [np.zeros_like(v) for v in b]
    lr, costs = np.float32(work.learning_rate), []
    started = time.perf_counter()
    for step in range(work.steps):
        at = (step * work.batch) % (len(x) - work.batch + 1)
        xb, yb = x[at : at + work.batch], y[at : at + work.batch]
        acts = [xb]
        for i in range(len(W)):
            z = acts[-1] @ W[i] + b[i]
            if i < len(W) - 1:
                a = sigmoid(z) if work.activation == "sigmoid" else np.maximum(z, 0)
            elif work.output == "sigmoid":
                a = sigmoid(z)
            else:
                e = np.exp(z - z.max(axis=1, keepdims=True))
                a = e / e.sum(axis=1, keepdims=True)
            acts.append(a)
        out, n = acts[-1], len(xb)
        if work.output == "sigmoid":  # quadratic cost: mean over samples of ½‖a − y‖²
            costs.append(float(0.5 * np.sum((out - yb) ** 2) / n))
            delta = (out - yb) * out * (1 - out) / n
        else:
            costs.append(float(-np.sum(yb * np.log(out + 1e-12)) / n))
            delta = (out - yb) / n
        for i in range(len(W) - 1, -1, -1):
            gW, gb = acts[i].T @ delta, delta.sum(axis=0)
            if i > 0:
                g = delta @ W[i].T
                a = acts[i]
                delta = g * a * (1 - a) if work.activation == "sigmoid" else g * (a > 0)
            if work.optimizer == "momentum":
                vW[i] = 0.9 * vW[i] - lr * gW
                vb[i] = 0.9 * vb[i] - lr * gb
                W[i] += vW[i]
                b[i] += vb[i]
            else:
                W[i] -= lr * gW
                b[i] -= lr * gb
    return time.perf_counter() - started, float(np.mean(costs[-len(costs) // 10 :]))


def race(work: Workload, x: np.ndarray, y: np.ndarray, repeats: int) -> dict:
    """Alternating repeats of both, so drifts in the machine's speed hit both alike."""
    times: dict[str, list[float]] = {"digitnet": [], "plain": []}
    costs = {}
    for _ in range(repeats):
        for name, runner in (("digitnet", run_digitnet), ("plain", run_plain)):
            seconds, cost = runner(work, x, y, seed=0)
            times[name].append(seconds)
            costs[name] = cost
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "workload": work.name,
        "steps": work.steps,
        "batch": work.batch,
        "digitnet_us_per_step": round(1e6 * medians["digitnet"] / work.steps, 1),
        "plain_us_per_step": round(1e6 * medians["plain"] / work.steps, 1),
        "digitnet_over_plain": round(medians["plain"] / medians["digitnet"], 2),
        "final_cost": {name: round(cost, 5) for name, cost in costs.items()},
        "seconds": {name: [round(t, 3) for t in values] for name, values in times.items()},
    }


def markdown(rows: list[dict], machine: str, date: str) -> str:
    lines = [
        f"digitnet against the plain NumPy loop ({date}, {machine}; "
        "`python benchmarks/plain_loop.py`, median of the repeats)",
        "",
        "| workload | digitnet µs/step | plain loop µs/step | digitnet speed / plain |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['workload']} | {row['digitnet_us_per_step']} | {row['plain_us_per_step']} "
            f"| {row['digitnet_over_plain']:.2f}x |"
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
            work = Workload(**{**work.__dict__, "steps": max(50, work.steps // 10)})
        row = race(work, x, y, 1 if args.quick else args.repeats)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.quick:
        return
    info = machine_info()
    date = info["date"]
    machine = f"{info['cpu']}, {info['cores']} cores, NumPy {info['numpy']}"
    RESULTS.mkdir(exist_ok=True)
    report = {"machine": info, "rows": rows}
    (RESULTS / "plain_loop.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "plain_loop.md").write_text(markdown(rows, machine, date))
    print(markdown(rows, machine, date))


if __name__ == "__main__":
    main()
