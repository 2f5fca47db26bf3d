"""How close any NumPy engine can come to the matmul limit on an MLP's training step, measured
beside digitnet's own step, so that a share of the limit splits into two factors:

  share of the limit = (step speed / products' speed) x (products' speed / limit)
                        digitnet's overhead             the BLAS at these shapes

"Products" are only the matrix products the step must make, with the weight gradients
accumulated into a velocity by GEMM's β as digitnet's SGD does, on the same minibatches
gathered from MNIST; "products + update" adds the pass that moves each weight matrix
(AXPY). No engine on NumPy's BLAS can beat either. Each round times the limit (1024x1024
products, scaled to the 2048x2048 product's rate), then the three workloads over the same
minibatches in rotating order, then the limit again; each workload's GFLOP/s (the FLOPs
speed.py counts) is set against the mean of the limit on either side. Medians and
quartiles over the rounds.

    python benchmarks/ceiling.py [--network 784-800-10 ...] [--rounds 30]

Writes benchmarks/results/ceiling.json and ceiling.md. Run it alone: the machine has 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402
from timing import square_product_gflops, timings  # noqa: E402
from workloads import (  # noqa: E402
    BATCH,
    LEARNING_RATE,
    MOMENTUM,
    digitnet_runner,
    mlp_flops_per_sample,
)

from digitnet.atomic import write_text_atomically  # noqa: E402
from digitnet.data.datasets import load_mnist  # noqa: E402
from digitnet.data.preprocess import to_inputs  # noqa: E402
from digitnet.nn.blas import axpy, gemm_tn  # noqa: E402

CHUNK_BATCHES = 64  # minibatches per workload per round
PROBE_PRODUCTS = 4  # 1024x1024 products per limit measurement


class BareProducts:
    """The matrix products of an MLP step and nothing else (optionally with the weights'
    AXPY): forward through every layer, then from the top layer down the weight gradient
    into the velocity (β = momentum) and every input gradient but the first layer's. The
    gradients are fixed random arrays: a product's speed does not depend on its values.
    Each run starts from the same weights, so nothing drifts towards overflow."""

    def __init__(self, x: np.ndarray, sizes: tuple[int, ...], *, update: bool) -> None:
        rng = np.random.default_rng(0)
        self.x, self.update = x, update
        pairs = list(zip(sizes[:-1], sizes[1:]))
        scale = [np.sqrt(2.0 / fan_in) for fan_in, _ in pairs]
        self.initial = [
            (rng.standard_normal(pair) * s).astype(np.float32)
            for pair, s in zip(pairs, scale, strict=True)
        ]
        self.weights = [w.copy() for w in self.initial]
        self.velocity = [np.zeros_like(w) for w in self.initial]
        self.outputs = [np.empty((BATCH, fan_out), np.float32) for _, fan_out in pairs]
        self.grads = [
            (rng.standard_normal((BATCH, fan_out)) * 1e-3).astype(np.float32)
            for _, fan_out in pairs
        ]
        self.input_grads = [np.empty((BATCH, fan_in), np.float32) for fan_in, _ in pairs]

    def train(self, order: np.ndarray) -> None:
        for w, w0, v in zip(self.weights, self.initial, self.velocity, strict=True):
            w[...], v[...] = w0, 0.0
        for start in range(0, len(order), BATCH):
            batch = self.x[order[start : start + BATCH]]
            inputs = [batch, *self.outputs[:-1]]
            for a, w, out in zip(inputs, self.weights, self.outputs, strict=True):
                np.matmul(a, w, out=out)
            for i in reversed(range(len(self.weights))):
                gemm_tn(inputs[i], self.grads[i], self.velocity[i], 1.0, MOMENTUM)
                if i:
                    np.matmul(self.grads[i], self.weights[i].T, out=self.input_grads[i])
                if self.update:
                    axpy(-LEARNING_RATE, self.velocity[i], self.weights[i])


def probe_scale(probe: np.ndarray) -> float:
    """The best 2048x2048 rate over the best 1024x1024 one, at least 1: speed.py's limit is
    the faster of the two sizes, so the short 1024x1024 probe is scaled up to it."""
    big = np.random.default_rng(4).random((2, 2048, 2048), dtype=np.float32)
    best = [max(square_product_gflops(*pair, 5)) for pair in (probe, big)]
    return max(1.0, best[1] / best[0])


def quartiles(values: list[float]) -> dict:
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"q1": round(float(q1), 3), "median": round(float(median), 3), "q3": round(float(q3), 3)}


def measure(x: np.ndarray, labels: np.ndarray, sizes: tuple[int, ...], rounds: int) -> dict:
    """Per round: limit, the three workloads over one chunk of minibatches, limit."""
    workloads = {
        "products": BareProducts(x, sizes, update=False).train,
        "products + update": BareProducts(x, sizes, update=True).train,
        "digitnet step": digitnet_runner(x, labels, sizes).train,
    }
    probe = np.random.default_rng(3).random((2, 1024, 1024), dtype=np.float32)
    scale = probe_scale(probe)

    def limit_now() -> float:
        return scale * statistics.median(square_product_gflops(*probe, PROBE_PRODUCTS))

    rng = np.random.default_rng(1)
    names = list(workloads)
    for train in workloads.values():  # warm-up
        train(rng.permutation(len(x))[: 4 * BATCH])
    gflop = CHUNK_BATCHES * BATCH * mlp_flops_per_sample(sizes) / 1e9
    gflops: dict[str, list[float]] = {name: [] for name in names}
    shares: dict[str, list[float]] = {name: [] for name in names}
    limits = [limit_now()]
    for round_ in range(rounds):
        order = rng.permutation(len(x))[: CHUNK_BATCHES * BATCH]
        turn = names[round_ % 3 :] + names[: round_ % 3]
        seconds = {name: timings(partial(workloads[name], order), 1)[0] for name in turn}
        limits.append(limit_now())
        beside = (limits[-2] + limits[-1]) / 2
        for name, taken in seconds.items():
            gflops[name].append(gflop / taken)
            shares[name].append(gflop / taken / beside)
    step, products = gflops["digitnet step"], gflops["products"]
    return {
        "network": "-".join(map(str, sizes)),
        "rounds": rounds,
        "chunk_batches": CHUNK_BATCHES,
        "probe_scale": round(scale, 3),
        "limit_gflops": quartiles(limits),
        "gflops": {name: quartiles(values) for name, values in gflops.items()},
        "share_of_limit": {name: quartiles(values) for name, values in shares.items()},
        "step_over_products": quartiles([s / p for s, p in zip(step, products, strict=True)]),
    }


def ceiling_markdown(report: dict) -> str:
    machine = report["machine"]
    lines = [
        f"Measured {machine['date']} on {machine['cpu']} ({machine['cores']} cores) by "
        f"`{report['command']}`: NumPy {machine['numpy']}. Each round: the limit (the 1024x1024 "
        f"product's GFLOP/s, median of {PROBE_PRODUCTS}, scaled by the 2048x2048 product's "
        "best rate over its own: speed.py's limit is the faster size), then each workload "
        "over the same "
        f"{CHUNK_BATCHES} minibatches of {BATCH}, then the limit again; a share is the "
        "workload's GFLOP/s over the mean of the two. Median [quartiles] over the rounds.",
        "",
        "| network | limit GFLOP/s | workload | GFLOP/s | share of the limit | "
        "digitnet step / products |",
        "|---|---|---|---|---|---|",
    ]

    def cell(q: dict, percent: bool = False) -> str:
        def show(value: float) -> str:
            return f"{100 * value:.0f}%" if percent else f"{value:.1f}"

        return f"{show(q['median'])} [{show(q['q1'])}-{show(q['q3'])}]"

    for row in report["networks"]:
        for i, name in enumerate(row["gflops"]):
            first = i == 0
            lines.append(
                f"| {row['network'] if first else ''} "
                f"| {cell(row['limit_gflops']) if first else ''} | {name} "
                f"| {cell(row['gflops'][name])} | {cell(row['share_of_limit'][name], True)} "
                f"| {cell(row['step_over_products'], True) if first else ''} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", nargs="+", default=["784-800-10", "784-512-512-10"])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    try:
        networks = [tuple(int(n) for n in name.split("-")) for name in args.network]
    except ValueError:
        parser.error("a network is its layer sizes joined by '-', e.g. 784-800-10")
    if args.rounds < 1 or any(len(s) < 2 or min(s) < 1 or s[0] != 784 for s in networks):
        parser.error("--rounds must be >= 1 and a network must start at 784 with sizes >= 1")
    mnist = load_mnist()
    x = to_inputs(mnist.train_images)
    report = {
        "machine": machine_info(),
        "command": " ".join(["python benchmarks/ceiling.py", *sys.argv[1:]]),
        "networks": [measure(x, mnist.train_labels, sizes, args.rounds) for sizes in networks],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(args.out / "ceiling.json", json.dumps(report, indent=1))
    markdown = ceiling_markdown(report)
    write_text_atomically(args.out / "ceiling.md", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
