"""How a digitnet training step's time and memory grow with batch size and hidden width,
with PyTorch's step time on the same networks for reference.

Memory is the peak of NumPy's allocations during one training step, traced by tracemalloc
(NumPy reports its array buffers to it): the activations, gradients and temporaries a step
needs on top of the weights. Used by speed.py; `python benchmarks/scaling.py` runs it alone.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from io import BytesIO
from pathlib import Path

import numpy as np
from timing import timings

from digitnet.nn.optim import FLUSH_EVERY

HERE = Path(__file__).resolve().parent
BATCH_SIZES = [1, 4, 16, 64, 256, 1024, 4096]
BATCH_NETWORK = (784, 512, 256, 10)
WIDTHS = [16, 64, 256, 1024, 4096]
WIDTH_BATCH = 128


def _digitnet_step(sizes, batch: int):
    from digitnet.nn.mlp import build_mlp
    from digitnet.nn.optim import SGD

    rng = np.random.default_rng(0)
    model = build_mlp(sizes, activation="relu", rng=rng)
    optimizer = SGD(model.named_params(), learning_rate=0.01, momentum=0.9)
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    return lambda: model.train_step(x, y, optimizer)


def _torch_step(sizes, batch: int):
    import torch

    torch.manual_seed(0)
    layers: list = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.rand(batch, sizes[0]), torch.randint(0, 10, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    return step


def _median_seconds(step, budget: float = 0.4, at_least: int = 3) -> float:
    """Median time of one step, over as many steps as fit in about `budget` seconds."""
    step()
    started = time.perf_counter()
    step()
    count = max(at_least, int(budget / max(time.perf_counter() - started, 1e-6)))
    return statistics.median(timings(step, count))


def _peak_step_bytes(step) -> int:
    """The most memory one steady step allocates at its peak, over FLUSH_EVERY steps: the
    optimiser flushes subnormal state every FLUSH_EVERY steps (with small temporaries), and a
    single sampled step would count that or not depending on where the count stood."""
    step()  # the first step allocates the optimiser state; measure steady ones
    tracemalloc.start()
    peak = 0
    for _ in range(FLUSH_EVERY):
        tracemalloc.reset_peak()
        held = tracemalloc.get_traced_memory()[0]  # what earlier steps left (their caches)
        step()
        peak = max(peak, tracemalloc.get_traced_memory()[1] - held)
    tracemalloc.stop()
    return peak


def _row(axis: str, value: int, sizes, batch: int, quick: bool) -> dict:
    ours = _digitnet_step(sizes, batch)
    budget = 0.05 if quick else 0.4
    row = {
        "axis": axis,
        "value": value,
        "network": "-".join(map(str, sizes)),
        "batch": batch,
        "digitnet_ms": 1000 * _median_seconds(ours, budget),
        "torch_ms": 1000 * _median_seconds(_torch_step(sizes, batch), budget),
        "digitnet_step_mb": _peak_step_bytes(ours) / 2**20,
    }
    print(f"scaling {axis}={value}: {row}", file=sys.stderr)
    return row


def scaling_rows(quick: bool = False) -> list[dict]:
    batches = BATCH_SIZES[:4] if quick else BATCH_SIZES
    widths = WIDTHS[:3] if quick else WIDTHS
    rows = [_row("batch", b, BATCH_NETWORK, b, quick) for b in batches]
    rows += [_row("width", w, (784, w, 10), WIDTH_BATCH, quick) for w in widths]
    return rows


def plot_scaling(rows: list[dict], path: Path) -> None:
    """Four panels: µs per image and step memory, against batch size and against width."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from digitnet.artifacts.atomic import write_bytes_atomically

    figure, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    panels = [
        ("batch", f"batch size (MLP {'-'.join(map(str, BATCH_NETWORK))})"),
        ("width", f"hidden width (MLP 784-width-10, batch {WIDTH_BATCH})"),
    ]
    for column, (axis, label) in enumerate(panels):
        chosen = [row for row in rows if row["axis"] == axis]
        values = [row["value"] for row in chosen]
        time_axes, memory_axes = axes[0][column], axes[1][column]
        for key, name in (("digitnet_ms", "digitnet"), ("torch_ms", "PyTorch")):
            per_image = [1000 * row[key] / row["batch"] for row in chosen]
            time_axes.plot(values, per_image, marker="o", label=name)
        time_axes.set_ylabel("training time per image (µs)")
        memory_axes.plot(values, [row["digitnet_step_mb"] for row in chosen], marker="o")
        memory_axes.set_ylabel("digitnet: memory a step allocates, peak (MiB)")
        for ax in (time_axes, memory_axes):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel(label)
            ax.grid(True, which="both", alpha=0.3)
        time_axes.legend()
        memory = [row["digitnet_step_mb"] for row in chosen]
        # at least a factor of 3 either side: a flat line reads flat, not as tick-sized steps
        memory_axes.set_ylim(min(memory) / 3, max(memory) * 3)
    figure.suptitle("One training step (SGD with momentum): time and memory as the work grows")
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    write_bytes_atomically(path, buffer.getvalue())


if __name__ == "__main__":
    # python benchmarks/scaling.py [--quick] [--replot]: --replot redraws from speed.json
    sys.path.insert(0, str(HERE.parent))
    if "--replot" in sys.argv:
        import json

        result = json.loads((HERE / "results" / "speed.json").read_text())["scaling"]
    else:
        result = scaling_rows(quick="--quick" in sys.argv)
    plot_scaling(result, HERE / "results" / "scaling.png")
