"""digitnet side by side with PyTorch (CPU) and scikit-learn, in one run on one machine.

    make bench                      # or: pip install -e ".[bench]"; python benchmarks/speed.py
    python benchmarks/speed.py --quick     # a smoke run: fewer images, one repeat

Sections, each timed with the frameworks alternating so that all see the same machine state:
  1. the machine's float32 matrix-multiply speed with NumPy (the practical limit);
  2. training throughput (images/s, seconds per epoch of 60,000) for MLP 784-128-10,
     784-800-10, 784-512-512-10 and the `cnn` preset network: ReLU, softmax cross-entropy,
     minibatch 128, SGD with momentum 0.9; with each MLP's share of the matmul limit, and
     digitnet's 784-800-10 against the limit measured alongside it (alongside.py);
  3. time to 98% test accuracy: the default `mlp` preset in digitnet and the same network,
     initial weights, batch order, Adam and learning-rate schedule in PyTorch;
  4. inference: single-image latency with and without the photo preprocessing, and batch
     throughput over the 10,000 test images;
  5. scaling of step time and memory with batch size and hidden width (a PNG);
  6. the small networks, where the fixed cost per step shows: seed000's 784-16-16-10, one
     sample per step, and seed003's 784-10-10 on the full batch (plain_loop.py).
The MLPs and small networks also race the plain NumPy loop (plain_mlp.py), the textbook
forward, backward and update. The ratio table at the top of speed.md sums it all up.
Repeats report the minimum and the median. Run it alone: anything beside it distorts the times.
Writes benchmarks/results/speed.json, speed.md and scaling.png.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from alongside import share_alongside  # noqa: E402
from machine import machine_info  # noqa: E402
from plain_loop import SEED000, SEED003  # noqa: E402
from plain_loop import race as race_small  # noqa: E402
from race import race_to_accuracy  # noqa: E402
from report_speed import speed_markdown  # noqa: E402
from scaling import plot_scaling, scaling_rows  # noqa: E402
from timing import square_product_gflops, timings  # noqa: E402
from workloads import (  # noqa: E402
    BATCH,
    digitnet_runner,
    mlp_flops_per_sample,
    plain_runner,
    sklearn_runner,
    torch_runner,
)

from digitnet.artifacts.atomic import write_text_atomically  # noqa: E402
from digitnet.data.datasets import load_mnist  # noqa: E402
from digitnet.data.preprocess import one_hot, to_inputs  # noqa: E402

RESULTS = HERE / "results"
MLPS = [(784, 128, 10), (784, 800, 10), (784, 512, 512, 10)]
EPOCH = 60_000


def missing_references() -> list[str]:
    """What speed.py needs beyond digitnet (the references PyTorch and scikit-learn, and
    threadpoolctl) that cannot be imported here."""
    import importlib

    missing = []
    for name in ("torch", "sklearn", "threadpoolctl"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def summary(seconds: list[float], work: float) -> dict:
    """Rates (work per second) from the fastest and the median repeat."""
    return {
        "best_per_s": work / min(seconds),
        "median_per_s": work / statistics.median(seconds),
        "seconds": [round(s, 4) for s in seconds],
    }


def blas_threads() -> int | None:
    """The threads NumPy's BLAS uses (threadpoolctl comes with scikit-learn)."""
    from threadpoolctl import threadpool_info

    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else None


def square_pair(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two random float32 n x n matrices."""
    rng = np.random.default_rng(n)
    return tuple(rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))


def product_gflops(pair: tuple[np.ndarray, np.ndarray], repeats: int) -> list[float]:
    """GFLOP/s of `repeats` products of the pair with NumPy (after one warm-up)."""
    a, b = pair
    a @ b  # warm up the threads
    return square_product_gflops(a, b, repeats)


def matmul_limit(squares: dict[int, tuple], repeats: int) -> dict:
    """float32 GFLOP/s of NumPy's matrix product for square sizes; the limit is the best."""
    rows = {}
    for n, pair in squares.items():
        rates = product_gflops(pair, repeats)
        rows[n] = {"best_gflops": max(rates), "median_gflops": statistics.median(rates)}
        print(f"matmul {n}: {max(rates):.1f} GFLOP/s best", file=sys.stderr)
    limit = max(row["best_gflops"] for row in rows.values())
    return {"sizes": rows, "limit_gflops": limit}


def limit_beside(run, squares: dict[int, tuple]) -> tuple[float, float]:
    """(seconds of run(), the matmul limit measured just before and just after it: the best
    of two products of each square size on each side). The machine's speed drifts over
    seconds; an MLP's share of the limit is its rate over the limit beside it, not over one
    measured minutes apart."""

    def limit_now() -> float:
        return max(max(product_gflops(pair, 2)) for pair in squares.values())

    before = limit_now()
    (seconds,) = timings(run, 1)
    return seconds, max(before, limit_now())


def training(
    x, x_images, labels, repeats: int, images: int, cnn_images: int, squares
) -> list[dict]:
    """Each workload's images/s per framework, with the same sample orders for all."""
    workloads = [("MLP " + "-".join(map(str, s)), s) for s in MLPS] + [("CNN (cnn preset)", None)]
    rows = []
    for name, sizes in workloads:
        inputs, count = (x, images) if sizes else (x_images, cnn_images)
        runners = [digitnet_runner(inputs, labels, sizes), torch_runner(inputs, labels, sizes)]
        if sizes:
            runners.append(sklearn_runner(inputs, labels, sizes))
        runners.append(plain_runner(inputs, labels, sizes))
        rng = np.random.default_rng(1)
        for runner in runners:  # warm-up: caches, thread pools, lazy allocations
            runner.train(rng.permutation(len(inputs))[: 4 * BATCH])
        seconds: dict[str, list[float]] = {runner.framework: [] for runner in runners}
        limits: dict[str, list[float]] = {runner.framework: [] for runner in runners}
        for repeat in range(repeats):
            order = rng.permutation(len(inputs))[:count]
            turn = runners[repeat % len(runners) :] + runners[: repeat % len(runners)]
            for runner in turn:  # who goes first rotates from repeat to repeat
                run = partial(runner.train, order)
                if sizes:
                    taken, limit = limit_beside(run, squares)
                    limits[runner.framework].append(limit)
                else:
                    (taken,) = timings(run, 1)
                seconds[runner.framework].append(taken)
        row: dict = {"workload": name, "images_timed": count, "frameworks": {}}
        for framework, measured in seconds.items():
            rates = summary(measured, count)
            rates["epoch_seconds"] = EPOCH / rates["median_per_s"]
            if sizes:
                gflop = count * mlp_flops_per_sample(sizes) / 1e9
                rates["gflops"] = rates["median_per_s"] * gflop / count
                rates["limit_beside_gflops"] = [round(v, 1) for v in limits[framework]]
                shares = [gflop / s / v for s, v in zip(measured, limits[framework], strict=True)]
                rates["limit_share_median"] = statistics.median(shares)
                rates["limit_share_best"] = max(shares)
            row["frameworks"][framework] = rates
            print(f"{name} {framework}: {rates['median_per_s']:.0f} images/s", file=sys.stderr)
        rows.append(row)
    return rows


def inference(models: dict, x_test: np.ndarray, test_images: np.ndarray, repeats: int) -> dict:
    """Single-image latency (ms) with and without preprocessing, and batch images/s. The
    frameworks take turns within each round, who goes first rotating, as in training():
    the host's speed drifts over seconds, and timing one framework's repeats in a block, then
    the other's, had put that drift into the ratio."""
    from digitnet.images import to_mnist

    # a "photo": a test digit 4x larger, dark ink on light paper, as a user's picture would be
    photo = 1.0 - np.kron(test_images[0].astype(np.float32) / 255, np.ones((4, 4), np.float32))
    one = x_test[:1]
    measures = {  # name -> (what one call does, calls per framework per round)
        "latency": (lambda predict: predict(one), 50),
        "with_preprocessing": (
            lambda predict: predict(to_mnist(photo, ink="dark").reshape(1, -1)),
            20,
        ),
        "batch": (lambda predict: predict(x_test), 3),
    }
    seconds = {framework: {name: [] for name in measures} for framework in models}
    frameworks = list(models)
    for repeat in range(repeats):
        turn = frameworks[repeat % len(frameworks) :] + frameworks[: repeat % len(frameworks)]
        for name, (call, count) in measures.items():
            for framework in turn:
                predict = models[framework]
                seconds[framework][name] += timings(lambda p=predict, c=call: c(p), count)
    rows = {}
    for framework, taken in seconds.items():
        rows[framework] = {
            "latency_ms_min": 1000 * min(taken["latency"]),
            "latency_ms_median": 1000 * statistics.median(taken["latency"]),
            "latency_with_preprocessing_ms_min": 1000 * min(taken["with_preprocessing"]),
            "latency_with_preprocessing_ms_median": (
                1000 * statistics.median(taken["with_preprocessing"])
            ),
            "batch_images_per_s_best": len(x_test) / min(taken["batch"]),
            "batch_images_per_s_median": len(x_test) / statistics.median(taken["batch"]),
        }
        print(f"inference {framework}: {rows[framework]}", file=sys.stderr)
    return rows


def small_networks(x: np.ndarray, labels: np.ndarray, repeats: int, quick: bool) -> list[dict]:
    """seed000's per-sample and seed003's full-batch training in digitnet, the plain loop and
    PyTorch, repeats alternating (plain_loop.race)."""
    y = one_hot(labels, dtype=np.float32)
    rows = []
    for work in (SEED000, SEED003):
        if quick:
            work = replace(work, steps=max(5, work.steps // 20))
        row = race_small(work, x, y, repeats, frameworks=("digitnet", "plain", "PyTorch"))
        print(f"{work.name}: {row['us_per_step']} µs/step", file=sys.stderr)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement")
    parser.add_argument("--quick", action="store_true", help="smoke run: small and fast")
    parser.add_argument("--skip", nargs="*", default=[],
                        help="sections to skip: race, scaling, small")  # fmt: skip
    parser.add_argument("--out", type=Path, help="results folder (default benchmarks/results; "
                        "a temporary folder for --quick)")  # fmt: skip
    args = parser.parse_args()
    missing = missing_references()
    if missing:
        sys.exit(
            f"speed.py: cannot import {', '.join(missing)}. It needs the references PyTorch "
            "(CPU build: pip install torch==2.13.0 --index-url "
            "https://download.pytorch.org/whl/cpu) and scikit-learn (which brings threadpoolctl); "
            "pip install -e '.[bench]' installs both where pip finds the CPU build."
        )
    out = args.out or (Path(tempfile.mkdtemp(prefix="digitnet-speed-")) if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores OpenBLAS uses too
    repeats = 1 if args.quick else args.repeats
    mnist = load_mnist()
    x = to_inputs(mnist.train_images)
    x_images = to_inputs(mnist.train_images, layout="image")
    x_test = to_inputs(mnist.test_images)
    report: dict = {
        "machine": {
            **machine_info(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "sklearn": __import__("sklearn").__version__,
            "blas_threads": blas_threads(),
        },
        "command": "python benchmarks/speed.py" + (" --quick" if args.quick else ""),
        "batch": BATCH,
    }
    squares = {n: square_pair(n) for n in (1024, 2048)}  # the same matrices all run long
    report["matmul"] = matmul_limit(squares, repeats=3 if args.quick else 5)
    images, cnn_images = (2_560, 1_280) if args.quick else (EPOCH, 128 * BATCH)
    report["training"] = training(
        x, x_images, mnist.train_labels, repeats, images, cnn_images, squares
    )
    sizes = report["matmul"]["sizes"]
    scale = max(1.0, sizes[2048]["best_gflops"] / sizes[1024]["best_gflops"])
    report["alongside"] = share_alongside(
        x, mnist.train_labels, MLPS[1], squares[1024], scale, repeats, images
    )
    if "race" not in args.skip:
        report["race"] = race_to_accuracy(mnist, target=0.98, max_epochs=1 if args.quick else 10)
        models = report["race"].pop("predictors")
        report["inference"] = inference(models, x_test, mnist.test_images, repeats)
    if "small" not in args.skip:
        report["small"] = small_networks(x, mnist.train_labels, repeats, args.quick)
    if "scaling" not in args.skip:
        report["scaling"] = scaling_rows(quick=args.quick)
        plot_scaling(report["scaling"], out / "scaling.png")
    write_text_atomically(out / "speed.json", json.dumps(report, indent=1))
    write_text_atomically(out / "speed.md", speed_markdown(report))
    print(speed_markdown(report))
    print(f"results written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
