"""How close an engine built on NumPy's BLAS can come to the matmul limit on an MLP's training
step, measured beside digitnet's own step, so that a share of the limit splits into two
factors:

  share of the limit = (step speed / products' speed) x (products' speed / limit)
                        digitnet's own overhead         the BLAS at the step's shapes

"Products" gathers each minibatch from MNIST and makes the matrix products the step makes,
in its order: every layer's forward, the input gradient of every layer but the first, then
layer by layer from the first the weight gradient accumulated into a velocity by GEMM's β
(momentum), as digitnet's SGD does. "Products + update" adds the AXPY that moves each
weight matrix after its velocity. "digitnet step" is train_step itself. Each round times
the limit, the three workloads over the same minibatches (the order rotating from round to
round), and the limit again. The limit is speed.py's: the best of two 1024x1024 and two
2048x2048 products; a workload is set against the faster of the limits on its two sides,
as speed.py sets each repeat.

    python benchmarks/ceiling.py [--network 784-800-10 ...] [--rounds 30]

About a minute. Writes benchmarks/results/ceiling.json and ceiling.md. Run it alone: the
machine has 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
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

from digitnet.artifacts.atomic import write_text_atomically  # noqa: E402
from digitnet.data.datasets import load_mnist  # noqa: E402
from digitnet.data.preprocess import to_inputs  # noqa: E402
from digitnet.nn.blas import axpy, gemm_tn  # noqa: E402

CHUNK_BATCHES = 64  # minibatches per workload per round
PROBE_PRODUCTS = 2  # products of each square size per limit measurement
WORKLOADS = ("products", "products + update", "digitnet step")


class BareProducts:
    """The matrix products of an MLP step in train_step's order and nothing else, with the
    weights' AXPY if `update`. The output gradients are fixed random arrays (a product's
    speed does not depend on its values); reset() restores the first weights and zero
    velocities, so that nothing drifts towards overflow from run to run."""

    def __init__(self, x: np.ndarray, sizes: tuple[int, ...], *, update: bool) -> None:
        rng = np.random.default_rng(0)
        self.x, self.update = x, update
        shapes = list(zip(sizes[:-1], sizes[1:]))
        self.initial = [
            (rng.standard_normal(shape) * np.sqrt(2.0 / shape[0])).astype(np.float32)
            for shape in shapes
        ]
        self.weights = [w.copy() for w in self.initial]
        self.velocity = [np.zeros_like(w) for w in self.initial]
        self.z = [np.empty((BATCH, fan_out), np.float32) for _, fan_out in shapes]
        self.grad_z = [
            (rng.standard_normal((BATCH, fan_out)) * 1e-3).astype(np.float32)
            for _, fan_out in shapes
        ]
        self.grad_x = [np.empty((BATCH, fan_in), np.float32) for fan_in, _ in shapes]

    def reset(self) -> None:
        for w, first, v in zip(self.weights, self.initial, self.velocity, strict=True):
            w[...], v[...] = first, 0.0

    def train(self, order: np.ndarray) -> None:
        """One step per BATCH positions of `order`: forward, input gradients from the top
        layer down (the first layer's skipped), then each layer's velocity and weights."""
        for start in range(0, len(order), BATCH):
            inputs = [self.x[order[start : start + BATCH]], *self.z[:-1]]
            for a, w, z in zip(inputs, self.weights, self.z, strict=True):
                np.matmul(a, w, out=z)
            for i in reversed(range(1, len(self.weights))):
                np.matmul(self.grad_z[i], self.weights[i].T, out=self.grad_x[i])
            for i, (a, w, v) in enumerate(zip(inputs, self.weights, self.velocity, strict=True)):
                gemm_tn(a, self.grad_z[i], v, 1.0, MOMENTUM)
                if self.update:
                    axpy(-LEARNING_RATE, v, w)


def limit_probe() -> Callable[[], float]:
    """A function timing the limit now as speed.py does beside each repeat: the best of
    PROBE_PRODUCTS products of each square size, 1024 and 2048."""
    pairs = [np.random.default_rng(n).random((2, n, n), dtype=np.float32) for n in (1024, 2048)]
    return lambda: max(max(square_product_gflops(*pair, PROBE_PRODUCTS)) for pair in pairs)


def quartiles(values: list[float]) -> dict:
    """First quartile, median and third quartile, rounded for the report."""
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"q1": round(float(q1), 3), "median": round(float(median), 3), "q3": round(float(q3), 3)}


def timed_rounds(
    workloads: dict[str, Callable[[np.ndarray], None]],
    resets: dict[str, Callable[[], None]],
    n_images: int,
    rounds: int,
) -> tuple[dict[str, list[float]], list[float]]:
    """Seconds of each workload per round over the same sample order, and the limit probed
    before the first round and after each; resets[name], if any, runs before that
    workload, outside its time."""
    probe = limit_probe()
    rng = np.random.default_rng(1)
    names = list(workloads)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    limits = [probe()]
    for round_ in range(rounds):
        order = rng.permutation(n_images)[: CHUNK_BATCHES * BATCH]
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            if name in resets:
                resets[name]()
            seconds[name].append(timings(partial(workloads[name], order), 1)[0])
        limits.append(probe())
    return seconds, limits


def measure(x: np.ndarray, labels: np.ndarray, sizes: tuple[int, ...], rounds: int) -> dict:
    """The three workloads of an MLP of `sizes` in `rounds` rounds beside the limit: GFLOP/s
    (speed.py's FLOP count), share of the faster neighbouring limit, and the step's speed
    over the bare products' in the same round; per-round lists and their quartiles."""
    bare = [BareProducts(x, sizes, update=update) for update in (False, True)]
    trains = [bare[0].train, bare[1].train, digitnet_runner(x, labels, sizes).train]
    workloads = dict(zip(WORKLOADS, trains, strict=True))
    warm_up = np.random.default_rng(2).permutation(len(x))[: 4 * BATCH]
    for train in trains:
        train(warm_up)
    resets = {name: b.reset for name, b in zip(WORKLOADS, bare)}  # the two bare workloads
    seconds, limits = timed_rounds(workloads, resets, len(x), rounds)
    gflop = CHUNK_BATCHES * BATCH * mlp_flops_per_sample(sizes) / 1e9
    beside = [max(before, after) for before, after in zip(limits, limits[1:])]
    gflops = {name: [gflop / s for s in taken] for name, taken in seconds.items()}
    shares = {
        name: [g / v for g, v in zip(rates, beside, strict=True)] for name, rates in gflops.items()
    }
    step_over_products = [
        s / p for s, p in zip(gflops["digitnet step"], gflops["products"], strict=True)
    ]
    return {
        "network": "-".join(map(str, sizes)),
        "rounds": rounds,
        "chunk_batches": CHUNK_BATCHES,
        "limit_gflops": quartiles(beside),
        "gflops": {name: quartiles(values) for name, values in gflops.items()},
        "share_of_limit": {name: quartiles(values) for name, values in shares.items()},
        "step_over_products": quartiles(step_over_products),
        "per_round": {
            "limit_beside_gflops": [round(v, 1) for v in beside],
            "gflops": {name: [round(v, 1) for v in values] for name, values in gflops.items()},
        },
    }


def ceiling_markdown(report: dict) -> str:
    """The report as a markdown paragraph and table."""
    machine = report["machine"]
    lines = [
        f"Measured {machine['date']} on {machine['cpu']} ({machine['cores']} cores) by "
        f"`{report['command']}`: NumPy {machine['numpy']}. Each round: the limit, each "
        f"workload over the same {CHUNK_BATCHES} minibatches of {BATCH}, the limit again. "
        f"The limit is speed.py's (the best of {PROBE_PRODUCTS} 1024x1024 and "
        f"{PROBE_PRODUCTS} 2048x2048 products); a share is the workload's GFLOP/s over the "
        'faster of the limits on its two sides. "products": the batch gather and the '
        "step's matrix products (forward, every input gradient but the first layer's, each "
        'weight gradient into the velocity by GEMM\'s β); "+ update": and the AXPY on the '
        'weights; "digitnet step": train_step. The last column is the median over rounds of '
        "the step's GFLOP/s over the products' in the same round. Median [quartiles] over "
        "the rounds.",
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
