"""Where a training step's time goes: each layer's forward and backward, the loss and the
optimiser, for an MLP given by its sizes or the `cnn` preset network (batch 128, SGD with
momentum 0.9, as in speed.py), plus the MLP's matrix products timed alone for comparison, and
(when PyTorch is installed) PyTorch's own profile of the same network's step, per operator.

    python benchmarks/profile_step.py [--network 784-800-10 | cnn] [--steps 200]

Writes benchmarks/results/profile_<network>.json. Run it alone: the machine has 2 cores.
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
from timing import timings  # noqa: E402
from workloads import BATCH, LEARNING_RATE, MOMENTUM, cnn_model, torch_network  # noqa: E402

from digitnet.artifacts.atomic import write_text_atomically  # noqa: E402
from digitnet.data.datasets import load_mnist  # noqa: E402
from digitnet.data.preprocess import one_hot, to_inputs  # noqa: E402
from digitnet.nn import SGD, build_mlp  # noqa: E402
from digitnet.nn.fused import backward_options  # noqa: E402


def layer_times(model, x: np.ndarray, labels: np.ndarray, steps: int) -> dict:
    """Mean milliseconds per step of every stage's forward and backward (the layers as
    train_step runs them: Sequential.training_stages), loss, optimiser (which, as in
    train_step, computes the Dense weight gradients folded into its update)."""
    optimizer = SGD(model.named_params(), learning_rate=LEARNING_RATE, momentum=MOMENTUM)
    order = np.random.default_rng(1).permutation(len(x))
    n = len(model.training_stages())
    forward, backward = np.zeros(n), np.zeros(n)
    loss_time = optimizer_time = 0.0
    warmup = 10
    started = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            forward[:], backward[:], loss_time, optimizer_time = 0, 0, 0.0, 0.0
            started = time.perf_counter()
        batch = order[(step * BATCH) % (len(x) - BATCH) :][:BATCH]
        out, y = x[batch], one_hot(labels[batch], dtype=x.dtype.type)
        stages = model.training_stages()
        for i, layer in enumerate(stages):
            tick = time.perf_counter()
            out = layer.forward(out, training=True)
            forward[i] += time.perf_counter() - tick
        tick = time.perf_counter()
        _, grad = model.loss.value_and_gradient(out, y)
        loss_time += time.perf_counter() - tick
        products: list = []  # Dense weight gradients, folded into the update as in train_step
        for i in reversed(range(n)):
            tick = time.perf_counter()
            grad = stages[i].backward(grad, **backward_options(stages[i], i == 0, products))
            backward[i] += time.perf_counter() - tick
        tick = time.perf_counter()
        optimizer.step(products)
        optimizer_time += time.perf_counter() - tick
    per_step = 1000 / steps
    return {
        "step_ms": round((time.perf_counter() - started) * per_step, 3),
        "loss_ms": round(loss_time * per_step, 3),
        "optimizer_ms": round(optimizer_time * per_step, 3),
        "layers": [
            {
                "layer": repr(layer),
                "forward_ms": round(forward[i] * per_step, 3),
                "backward_ms": round(backward[i] * per_step, 3),
            }
            for i, layer in enumerate(model.training_stages())
        ],
    }


def products_alone(sizes: list[int], repeats: int = 20) -> list[dict]:
    """Each Dense layer's forward (batch x in @ in x out) and weight-gradient (in x batch @
    batch x out) product alone on fixed arrays (caches warm): GFLOP/s of the best and the
    median of `repeats` (the layer times above are means, closer to the median)."""
    rng = np.random.default_rng(0)
    rows = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        x = rng.standard_normal((BATCH, fan_in), dtype=np.float32)
        w = rng.standard_normal((fan_in, fan_out), dtype=np.float32)
        g = rng.standard_normal((BATCH, fan_out), dtype=np.float32)
        products = {"forward": lambda x=x, w=w: x @ w, "weight gradient": lambda x=x, g=g: x.T @ g}
        for name, product in products.items():
            product()
            times = sorted(timings(product, repeats))
            flops = 2 * BATCH * fan_in * fan_out
            rows.append(
                {
                    "layer": f"{fan_in}->{fan_out}",
                    "product": name,
                    "gflops_best": round(flops / times[0] / 1e9, 1),
                    "gflops_median": round(flops / times[len(times) // 2] / 1e9, 1),
                }
            )
    return rows


def torch_operator_times(sizes: list[int] | None, steps: int, top: int = 12) -> list[dict]:
    """PyTorch's profiler on the same network's training step (random batch of 128, all
    cores): milliseconds per step of self CPU time for its `top` most expensive operators."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    model = torch_network(sizes)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    shape = (BATCH, 1, 28, 28) if sizes is None else (BATCH, sizes[0])
    x, labels = torch.randn(*shape), torch.randint(0, 10, (BATCH,))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), labels).backward()
        optimizer.step()

    for _ in range(10):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            step()
    events = sorted(profiler.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    return [
        {"operator": e.key, "self_ms_per_step": round(e.self_cpu_time_total / 1000 / steps, 3)}
        for e in events[:top]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="784-800-10", help="MLP sizes or 'cnn'")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    mnist = load_mnist()
    rng = np.random.default_rng(0)
    if args.network == "cnn":
        model, x = cnn_model(rng), to_inputs(mnist.train_images, layout="image")
    else:
        sizes = [int(size) for size in args.network.split("-")]
        model, x = build_mlp(sizes, rng=rng), to_inputs(mnist.train_images)
    result = {"machine": machine_info(), "network": args.network, "batch": BATCH}
    result.update(layer_times(model, x, mnist.train_labels, args.steps))
    if args.network != "cnn":
        result["products_alone"] = products_alone(sizes)
    try:
        import torch  # noqa: F401  (a benchmark dependency: `pip install -e ".[bench]"`)
    except ImportError:
        pass
    else:
        network = None if args.network == "cnn" else sizes
        result["torch_operators"] = torch_operator_times(network, min(args.steps, 50))
    out = HERE / "results" / f"profile_{args.network}.json"
    write_text_atomically(out, json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
